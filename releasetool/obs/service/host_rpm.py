"""rpm targets under ``obs serve --backend``: built on this host, and saying so.

The OBS backend builds a repository in a chroot made from its base project's
packages.  For the rpm distributions (openSUSE, Fedora, AlmaLinux) no such
base is reachable from here, so the backend can only answer "no build type"
for them.  Rather than show that for every rpm target, the frontend builds
the package's sources (links expanded, as the backend gives them) with the
host's ``rpmbuild --nodeps`` and reports that build in the repository's
results, log, status and job history.  The result's details and the first
line of the log say where it was built: it was not scheduled by OBS, its
build dependencies were not resolved, and only the host's architecture is
built (the other architectures keep the backend's answer).

A repository is built here when its build family is rpm (the path project's
name, as :attr:`Repository.family` decides) and none of its path projects
exists in the backend: once a base project is imported, the scheduler takes
the repository over.  Building follows OBS's build flags (``<build>`` in
the package and project metas): a disabled repository answers ``disabled``.
"""

from __future__ import annotations

import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

from releasetool.errors import ApiError, BuildProblem
from releasetool.log import log
from releasetool.obs.service import xmlshapes as shapes
from releasetool.obs.service.builder import Builder, Outcome, prepare_rpm
from releasetool.obs.service.store import BuildResult, Repository, Store, repositories

if TYPE_CHECKING:
    from releasetool.obs.service.frontend_routes import Backend

HOST_DETAILS = ("built on the build host with rpmbuild --nodeps, not scheduled by OBS "
                "(no rpm base distribution here; build dependencies not resolved)")
LOG_FIRST_LINE = ("[releasetool obs] NOT AN OBS BUILD: {package} for {repository}/{arch} is built on the build "
                  "host with its own rpmbuild --nodeps; no rpm base distribution is reachable by the OBS backend "
                  "here, so this build was not scheduled by OBS and its build dependencies were not resolved\n")


DISABLED_DETAILS = "building is disabled for this repository in the project or package meta"


def build_enabled(project_meta: ET.Element | None, package_meta: ET.Element | None, repository: str,
                  arch: str) -> bool:
    """OBS's build flag of ``repository``/``arch``: ``<build>``'s ``<enable>``/``<disable>`` elements.

    The package meta's flags come before the project meta's; within one
    meta the flag naming both the repository and the arch wins over one
    naming the repository, then the arch, then neither; without any
    matching flag building is on.
    """
    for meta in (package_meta, project_meta):
        if meta is None:
            continue
        best, rank = None, -1
        for flag in meta.findall("build/*"):
            named_repo, named_arch = flag.get("repository"), flag.get("arch")
            if flag.tag not in ("enable", "disable") or named_repo not in (None, repository) \
                    or named_arch not in (None, arch):
                continue
            specific = 2 * (named_repo is not None) + (named_arch is not None)
            if specific >= rank:
                best, rank = flag.tag, specific
        if best is not None:
            return best == "enable"
    return True


class HostRpmBuilder(Builder):
    """A worker thread building rpm targets on the host for the projects of an OBS backend."""

    def __init__(self, store: Store, backend: Backend, arch: str) -> None:
        super().__init__(store)
        self.backend = backend
        self.arch = arch
        self.lock = threading.Lock()

    def start(self) -> None:
        self.thread.start()
        # After a restart: what was building when the service stopped, and
        # what was committed while it was down, is built now (a package whose
        # sources were built already is skipped by build()).
        threading.Thread(target=self._schedule_everything, name="obs-host-rpm-rescan", daemon=True).start()

    def _schedule_everything(self) -> None:
        try:
            listing = self.backend.xml("/source")
            for entry in [] if listing is None else listing.findall("entry"):
                project = entry.get("name", "")
                if self.host_repositories(project):
                    for package in self.packages(project):
                        self.schedule(project, package)
        except ApiError as err:
            log.warning("obs serve: rpm builds on this host not scheduled after the start: %s", err.summary)

    # -- which repositories ----------------------------------------------------
    def host_repositories(self, project: str) -> list[Repository]:
        """The project's rpm repositories that no base project of the backend serves, for the host's arch."""
        meta = self.backend.xml(f"/source/{project}/_meta")
        if meta is None:
            return []
        found = []
        for repo in repositories(ET.tostring(meta)):
            if repo.family != "rpm" or self.arch not in repo.archs:
                continue
            if any(self.backend.xml(f"/source/{path_project}/_meta") is not None for path_project, _ in repo.paths):
                continue
            found.append(repo)
        return found

    def packages(self, project: str) -> list[str]:
        listing = self.backend.xml(f"/source/{project}")
        return [] if listing is None else [e.get("name", "") for e in listing.findall("entry")]

    # -- builds ----------------------------------------------------------------
    def build(self, project: str, package: str, force: bool = False) -> None:
        repos = self.host_repositories(project)
        if not repos:
            return
        project_meta = self.backend.xml(f"/source/{project}/_meta")
        package_meta = self.backend.xml(f"/source/{project}/{package}/_meta")
        off = [r for r in repos if not build_enabled(project_meta, package_meta, r.name, self.arch)]
        now = int(time.time())
        if off:
            self.store.set_build_results(project, package, {
                f"{r.name}/{self.arch}": BuildResult("disabled", DISABLED_DETAILS, "", now) for r in off})
        repos = [r for r in repos if r not in off]
        if not repos:
            return
        keys = [f"{repo.name}/{self.arch}" for repo in repos]
        listing = self.backend.xml(f"/source/{project}/{package}", [("expand", "1")])
        if listing is None:
            return  # deleted meanwhile
        if listing.find("entry") is None:
            self.store.set_build_results(project, package, {k: BuildResult("broken", "no source uploaded", "", now)
                                                            for k in keys})
            return
        srcmd5 = listing.get("srcmd5", "")
        state = self.store.build_state(project, package)
        if not force and all(state.results.get(k) is not None and state.results[k].srcmd5 == srcmd5
                             and state.results[k].code not in ("scheduled", "building") for k in keys):
            return
        self.store.set_build_results(project, package, {k: BuildResult("building", HOST_DETAILS, srcmd5, now)
                                                        for k in keys})
        first = repos[0].name
        outcome = self._build_here(project, package, srcmd5, [e.get("name", "") for e in listing.findall("entry")],
                                   self.store.log_path(project, package, first, self.arch), first)
        for repo in repos:
            self.store.write_log(project, package, repo.name, self.arch, outcome.log)
        details = HOST_DETAILS + (f": {outcome.details}" if outcome.details else "")
        self.store.set_build_results(project, package, {
            k: BuildResult(outcome.code, details, srcmd5, int(time.time())) for k in keys})
        log.info("obs serve: %s/%s rpm build on this host: %s", project, package, outcome.code)

    def _build_here(self, project: str, package: str, srcmd5: str, names: list[str], log_path: Path,
                    repository: str) -> Outcome:
        self.builds_run += 1
        header = LOG_FIRST_LINE.format(package=package, repository=repository, arch=self.arch)
        with tempfile.TemporaryDirectory(prefix=f"obs-host-rpm-{package}-") as tmp:
            work = Path(tmp)

            def fetch(name: str, dest: Path) -> None:
                status, data, _ = self.backend.call("GET", f"/source/{project}/{package}/{name}", [("rev", srcmd5)])
                if status != 200:
                    raise BuildProblem(f"the OBS backend did not give {name} of revision {srcmd5} (HTTP {status})")
                dest.write_bytes(data)

            try:
                if "_service" in names:
                    raise BuildProblem("the sources have a _service and no source service runs here")
                argv, cwd = prepare_rpm(package, names, work, fetch)
            except BuildProblem as problem:
                text = f"{header}build of {package} not started: {problem}\n".encode()
                return Outcome("broken", str(problem), text)
            except ApiError as err:
                text = f"{header}build of {package} not started: {err.summary}\n".encode()
                return Outcome("broken", err.summary, text)
            return self._run(argv, cwd, log_path, package, "rpm",
                             header_text=header + f"[releasetool obs] {' '.join(argv)}\n")

    # -- what the frontend answers -----------------------------------------------
    def result(self, project: str, package: str, repository: str) -> BuildResult:
        found = self.store.build_state(project, package).results.get(f"{repository}/{self.arch}")
        return found or BuildResult("scheduled", HOST_DETAILS)

    def overlay_results(self, project: str, answer: ET.Element, packages: list[str], repos_wanted: set[str],
                        archs_wanted: set[str]) -> bool:
        """Replace the backend's answer for the host-built repositories in a ``resultlist``; whether any was."""
        host = [r for r in self.host_repositories(project)
                if (not repos_wanted or r.name in repos_wanted) and (not archs_wanted or self.arch in archs_wanted)]
        if not host:
            return False
        names = packages or self.packages(project)
        existing = set(self.packages(project))
        for repo in host:
            position = len(answer)
            for index, old in enumerate(answer.findall("result")):
                if old.get("repository") == repo.name and old.get("arch") == self.arch:
                    position = min(position, index)
                    answer.remove(old)
            result = ET.Element("result", project=project, repository=repo.name, arch=self.arch)
            answer.insert(position, result)
            codes = []
            for package in names:
                if package not in existing:
                    continue
                found = self.result(project, package, repo.name)
                codes.append(found.code)
                status = ET.SubElement(result, "status", package=package, code=found.code)
                ET.SubElement(status, "details").text = found.details or HOST_DETAILS
            busy = any(c in ("scheduled", "building") for c in codes)
            result.set("code", "building" if busy else "published")
            result.set("state", "building" if busy else "published")
        return True

    def jobhistory(self, project: str, repository: str, packages: list[str]) -> bytes:
        """The last finished host build per package (``srcmd5`` tells which sources it built)."""
        root = ET.Element("jobhistlist")
        for package in packages or self.packages(project):
            result = self.store.build_state(project, package).results.get(f"{repository}/{self.arch}")
            if result is None or result.code not in ("succeeded", "failed"):
                continue
            ET.SubElement(root, "jobhist", package=package, srcmd5=result.srcmd5, readytime=str(result.time),
                          starttime=str(result.time), endtime=str(result.time), code=result.code,
                          workerid="build-host:rpmbuild", hostarch=self.arch, reason="built on the build host")
        return shapes.to_bytes(root)
