"""Build results of submitted packages, waiting that means it, and submit requests.

A result counts only for the revision just committed: a ``dirty`` result (the
scheduler has not looked at the new sources yet) is pending, and so is a
finished one whose job was built from an older srcmd5 (checked in the job
history), which is how ``osc results -w`` could return before the build of the
new sources had even started.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

from releasetool.errors import ObsError, ObsNotFound
from releasetool.log import log
from releasetool.obs.api import Api, parse_xml
from releasetool.obs.client import listing

PENDING_CODES = ("scheduled", "dispatching", "building", "signing", "finished", "blocked", "unknown")
# A package the results do not mention at all (pending: the scheduler has not looked at it yet).
NO_RESULT = "no result"
FAILED_CODES = ("failed", "broken", "unresolvable")
IGNORED_CODES = ("disabled", "excluded", "locked")
EXIT_TIMEOUT = 3
LOG_TAIL_LINES = 15


@dataclass
class Result:
    package: str
    repository: str
    arch: str
    code: str
    details: str = ""
    dirty: bool = False
    current: bool = True  # built from the latest srcmd5
    log_tail: str = ""

    @property
    def state(self) -> str:
        if self.code in IGNORED_CODES:
            return "ignored"
        if self.dirty or self.code in (*PENDING_CODES, NO_RESULT) or not self.current:
            return "pending"
        if self.code == "succeeded":
            return "succeeded"
        if self.code in FAILED_CODES:
            return "failed"
        return "pending"

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "state": self.state}


@dataclass
class StatusReport:
    project: str
    results: list[Result]
    timed_out: bool = False

    @property
    def exit_code(self) -> int:
        states = {r.state for r in self.results}
        if "failed" in states:
            return 1
        if "pending" in states:
            return EXIT_TIMEOUT
        return 0

    def to_json(self) -> dict[str, object]:
        return {"project": self.project, "exit_code": self.exit_code, "timed_out": self.timed_out,
                "results": [r.to_json() for r in self.results]}


def read_results(api: Api, project: str, packages: list[str]) -> list[Result]:
    """One result per package, repository and architecture.

    A repository the scheduler cannot build at all (``broken``: "no build
    type" when its base project is missing; ``unknown`` when no scheduler runs
    for the architecture) lists no package: each package gets the
    repository's code and details, so that it is neither lost nor counted as
    a success.  A package without any result (the scheduler has not seen it
    yet) is pending, with the code ``no result``.
    """
    root = api.get_xml(["build", project, "_result"], {"package": packages, "multibuild": 1, "locallink": 1})
    found = []
    for result in root.findall("result"):
        dirty = result.get("dirty") == "true"
        repository, arch = result.get("repository", ""), result.get("arch", "")
        statuses = result.findall("status")
        for status in statuses:
            found.append(Result(status.get("package", ""), repository, arch, status.get("code", "unknown"),
                                (status.findtext("details") or "").strip(), dirty))
        if not statuses and result.get("code") in (*FAILED_CODES, *PENDING_CODES):
            found.extend(Result(package, repository, arch, result.get("code", "unknown"),
                                f"repository {repository}/{arch}: {result.get('details') or result.get('code')}",
                                dirty) for package in packages)
    for package in sorted(set(packages) - {r.package for r in found}):
        found.append(Result(package, "-", "-", NO_RESULT, "the scheduler has not given a result for it yet"))
    return sorted(found, key=lambda r: (packages.index(r.package) if r.package in packages else 0,
                                        r.repository, r.arch))


def _check_current(api: Api, project: str, results: list[Result], srcmd5s: dict[str, str]) -> None:
    """Mark finished builds whose last job used older sources as not current."""
    finished = [r for r in results if r.code in ("succeeded", "failed") and not r.dirty]
    for repo, arch in sorted({(r.repository, r.arch) for r in finished}):
        packages = sorted({r.package for r in finished if (r.repository, r.arch) == (repo, arch)})
        last = _last_jobs(api, project, repo, arch, packages)
        for r in finished:
            if (r.repository, r.arch) == (repo, arch):
                r.current = last.get(r.package) == srcmd5s.get(r.package)


# Job history entries asked for at once, per package of the request.
JOBS_PER_PACKAGE = 10


def _last_jobs(api: Api, project: str, repo: str, arch: str, packages: list[str]) -> dict[str, str]:
    """The srcmd5 of each package's last finished job in one repository/arch.

    OBS's ``limit`` counts entries of the whole answer, not per package
    (``limit=1`` with three packages gives one entry), and the answer is the
    newest entries, oldest first.  One request takes a few entries per
    package; a package that many rebuilds of the others pushed out of it is
    asked for alone.
    """
    root = api.get_xml(["build", project, repo, arch, "_jobhistory"],
                       {"package": packages, "limit": JOBS_PER_PACKAGE * len(packages)})
    last = {j.get("package", ""): j.get("srcmd5", "") for j in root.findall("jobhist")}  # the newest wins
    for package in packages:
        if package not in last:
            alone = api.get_xml(["build", project, repo, arch, "_jobhistory"], {"package": package, "limit": 1})
            for job in alone.findall("jobhist"):
                last[package] = job.get("srcmd5", "")
    return last


def fetch_log(api: Api, project: str, result: Result) -> bytes:
    return api.call("GET", ["build", project, result.repository, result.arch, result.package, "_log"],
                    {"nostream": 1, "start": 0})


def status(api: Api, project: str, packages: list[str], *, wait: bool = False, timeout: float = 3600,
           interval: float = 5.0, logs_dir: str | Path | None = None) -> StatusReport:
    srcmd5s: dict[str, str] = {}
    missing = []
    for package in packages:
        files, _, srcmd5s[package] = listing(api, project, package)
        if not files:
            missing.append(package)
    if missing:
        raise ObsError(f"{project} on {api.shown_url} has no sources for {', '.join(missing)}",
                       hint="submit them first: releasetool obs submit " + " ".join(missing))
    meta = api.get_xml(["source", project, "_meta"])
    if not any(repo.find("arch") is not None for repo in meta.findall("repository")):
        # Nothing is ever built in such a project: there is no result to wait for.
        raise ObsError(f"{project} on {api.shown_url} has no repository with an architecture, so nothing in it "
                       "is built and there are no results",
                       hint="add the distribution targets' repositories: releasetool obs submit writes them "
                            "from the manifest's targets")
    deadline = time.monotonic() + timeout
    while True:
        results = read_results(api, project, packages)
        _check_current(api, project, results, srcmd5s)
        pending = [r for r in results if r.state == "pending"]
        if not wait or not pending:
            break
        if time.monotonic() >= deadline:
            report = StatusReport(project, results, timed_out=True)
            _finish(api, project, report, logs_dir)
            return report
        log.info("obs: %d of %d results pending (%s)", len(pending), len(results),
                 ", ".join(sorted({f"{r.package} {r.repository}/{r.arch}: {r.code}{' dirty' if r.dirty else ''}"
                                   f"{'' if r.current else ' of older sources'}" for r in pending}))[:300])
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
    report = StatusReport(project, results)
    _finish(api, project, report, logs_dir)
    return report


def _finish(api: Api, project: str, report: StatusReport, logs_dir: str | Path | None) -> None:
    from releasetool.fsutil import atomic_write

    for r in report.results:
        wants_log = r.state == "failed" and r.code == "failed"
        if not (wants_log or (logs_dir and r.code in ("succeeded", "failed"))):
            continue
        try:
            data = fetch_log(api, project, r)
        except ObsNotFound:
            continue
        if logs_dir:
            atomic_write(Path(logs_dir) / f"{r.package}-{r.repository}-{r.arch}.log", data)
        if wants_log:
            r.log_tail = "\n".join(data.decode("utf-8", "replace").splitlines()[-LOG_TAIL_LINES:])


# ---------------------------------------------------------------------------
# Submit requests
# ---------------------------------------------------------------------------

@dataclass
class RequestOutcome:
    id: str
    created: bool
    superseded: list[str]
    source: str
    target: str
    srcmd5: str

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _open_requests(api: Api, project: str, package: str, target: str) -> list[tuple[str, str]]:
    """(id, source srcmd5) of open submit requests from project/package to target."""
    root = api.get_xml(["request"], {"view": "collection", "project": target, "states": "new,review"})
    found = []
    for req in root.findall("request"):
        for action in req.findall("action"):
            source, dest = action.find("source"), action.find("target")
            if (action.get("type") == "submit" and source is not None and dest is not None
                    and source.get("project") == project and source.get("package") == package
                    and dest.get("project") == target):
                found.append((req.get("id", ""), source.get("rev", "")))
    return found


def submit_request(api: Api, project: str, package: str, target: str, *, message: str = "",
                   dry_run: bool = False) -> RequestOutcome:
    """One open request from project/package to target for the latest sources.

    An open request for the same srcmd5 is reused; one for older sources is
    superseded by the new one.  A create that fails in transit is checked
    against the open requests before any retry, so there is never a duplicate.
    """
    files, _, srcmd5 = listing(api, project, package)
    if not files:
        raise ObsError(f"{project}/{package} has no sources to submit",
                       hint=f"run `releasetool obs submit` for it first (project {project})")
    if api.exists(["source", target, "_meta"]) is None:
        raise ObsError(f"target project {target} does not exist on {api.shown_url}",
                       hint="check the name given to --to")
    existing = _open_requests(api, project, package, target)
    same = [rid for rid, rev in existing if rev == srcmd5]
    older = [rid for rid, rev in existing if rev != srcmd5]
    if same:
        return RequestOutcome(same[0], False, [], f"{project}/{package}", target, srcmd5)
    if dry_run:
        return RequestOutcome("", False, older, f"{project}/{package}", target, srcmd5)
    body = ET.Element("request")
    action = ET.SubElement(body, "action", type="submit")
    ET.SubElement(action, "source", project=project, package=package, rev=srcmd5)
    ET.SubElement(action, "target", project=target, package=package)
    ET.SubElement(body, "description").text = message or f"submit {package} ({srcmd5[:8]})"

    def created() -> bytes | None:
        for rid, rev in _open_requests(api, project, package, target):
            if rev == srcmd5:
                return f'<request id="{rid}"/>'.encode()
        return None

    answer = parse_xml(api.call("POST", ["request"], {"cmd": "create"}, ET.tostring(body, encoding="utf-8"),
                                idempotent=False, took_effect=created), "request create")
    new_id = answer.get("id", "")
    for rid in older:
        def superseded(rid: str = rid) -> bytes | None:
            state = api.get_xml(["request", rid]).find("state")
            return b"<status/>" if state is not None and state.get("name") == "superseded" else None

        api.call("POST", ["request", rid], {"cmd": "changestate", "newstate": "superseded",
                                             "superseded_by": new_id, "comment": f"superseded by request {new_id}"},
                 idempotent=False, took_effect=superseded)
    return RequestOutcome(new_id, True, older, f"{project}/{package}", target, srcmd5)
