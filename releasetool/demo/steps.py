"""The six steps of the demo, each one the releasetool commands a release manager would run.

Every step runs the same commands a person would type (shown in the output as
``$ releasetool ...``), in process, against the demo's own manifest.  Each
step is idempotent: run again after an interruption it finishes what is left.
The local OBS-compatible service is started once, on a free port on
127.0.0.1, for the steps that need it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from releasetool import proc
from releasetool.demo import demo_manifest, upstream
from releasetool.demo.run import OBS_PROJECT, OBS_USER, Demo, Step
from releasetool.errors import DemoStepError
from releasetool.fsutil import atomic_write
from releasetool.log import DEBUG, INFO, log

SPLIT_CACHE = "split-cache"


def releasetool(demo: Demo, *args: str, capture: bool = False) -> str:
    """Run one releasetool command, as a user would, against the demo's manifest; its stdout when captured."""
    argv = [*args, "--manifest", str(demo.manifest)]
    if log.is_enabled_for(DEBUG):
        argv.append("--verbose")
    elif not log.is_enabled_for(INFO):
        argv.append("--quiet")
    log.info("$ releasetool %s", shlex.join(args))
    # the demo's own stdout is for its summary: what the commands print for people goes to stderr
    done = proc.run([sys.executable, "-m", "releasetool", *argv], cwd=demo.root, check=False,
                    capture=capture, stdout_to_stderr=True)
    if capture and done.stderr:
        sys.stderr.write(done.stderr.decode("utf-8", "replace"))
    if done.returncode != 0:
        raise DemoStepError(f"`releasetool {shlex.join(args)}` exited with status {done.returncode}",
                            hint=f"the output above names the component; run the command in {demo.root} to see it again")
    return done.stdout.decode("utf-8", "replace") if capture else ""


# --- 1. the monolithic tree -------------------------------------------------------------------


def make_upstream(demo: Demo) -> None:
    """The monolithic tree, the demo manifest, and an empty repository per component."""
    if not (demo.upstream / ".git").exists():
        demo.upstream.parent.mkdir(parents=True, exist_ok=True)
        upstream.create(demo.upstream)
    released = dt.datetime.fromtimestamp(
        int(proc.git(demo.upstream, "log", "-1", "--format=%ct", "cluster-3.0.0^{commit}")), tz=dt.UTC
    ).date()
    if not demo.manifest.exists():
        atomic_write(demo.manifest, demo_manifest.text(
            upstream_url=demo.upstream.as_uri(), repos_url=demo.repos.as_uri(), released=released,
            obs_project=OBS_PROJECT, downloads_url=demo.downloads.as_uri()))
    for comp in upstream.COMPONENTS:
        repo = demo.repos / comp.name
        if not (repo / ".git").exists():
            proc.run(["git", "init", "-q", "-b", "master", str(repo)])
            # pushes from the splitter update the checked-out tree too
            proc.run(["git", "-C", str(repo), "config", "receive.denyCurrentBranch", "updateInstead"])
    log.info("monolithic tree %s: %s commits, tags %s", demo.upstream,
             proc.git(demo.upstream, "rev-list", "--count", "HEAD"),
             ", ".join(proc.git(demo.upstream, "tag").split()))


# --- 2. split ---------------------------------------------------------------------------------


def split(demo: Demo) -> None:
    releasetool(demo, "split", "--all", "--tags", "--push", "origin", "--cache", str(demo.state / SPLIT_CACHE))


# --- 3. release train and download area -------------------------------------------------------


def train(demo: Demo) -> None:
    lines = ["# The demo's coordinated release.", "releases:"]
    lines += [f'  {c.name}: "{c.version}"' for c in upstream.COMPONENTS]
    lines += ["repos:"] + [f"  {c.name}: repos/{c.name}" for c in upstream.COMPONENTS]
    lines += ["out: dist"]
    train_file = demo.root / "train.yaml"
    atomic_write(train_file, "\n".join(lines) + "\n")
    releasetool(demo, "train", str(train_file), "--packager", demo_manifest.PACKAGER)
    releasetool(demo, "bundle", "--from", str(demo.root / "dist"), "--out", str(demo.downloads))


# --- 4. packaging -----------------------------------------------------------------------------


def render(demo: Demo) -> None:
    from releasetool.render import lint as pkglint

    releasetool(demo, "render", "--all", "--out", str(demo.packaging))
    problems = []
    for comp in upstream.COMPONENTS:
        pkg = demo.packaging / comp.name
        tarball = demo.downloads / f"{comp.name}-{comp.version}.tar.gz"
        for report in (pkglint.rpmlint_spec(pkg / f"{comp.name}.spec"),
                       pkglint.lintian_source(comp.name, comp.version, tarball, pkg / "debian")):
            log.info("%s: %s", comp.name, report.summary())
            problems += [f"{comp.name}: {report.tool}: {e}" for e in report.errors]
    if problems:
        raise DemoStepError(f"packaging has lint errors: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))


# --- 5. the Build Service ---------------------------------------------------------------------


def why_no_backend() -> str | None:
    """Why this machine cannot run the real OBS backend for the demo, or None when it can."""
    import os
    import shutil

    from releasetool.errors import ObsError
    from releasetool.obs.service.backend import Backend

    try:
        Backend(Path("/nonexistent")).check()  # only looks: installed programs and root
    except ObsError as problem:
        return str(problem)
    if not shutil.which("debootstrap") or os.geteuid() != 0:
        return "debootstrap (the throwaway root apt installs into) is not installed"
    return None


@contextlib.contextmanager
def obs_service(demo: Demo) -> Iterator[str]:
    """The local OBS service for the length of the block; yields its URL.

    Where the machine can (root, the OBS backend installed by ``make setup``)
    it fronts Debian's real OBS backend with the Debian 12 base: Debian builds
    are scheduled and built by OBS and published, rpm targets are built on this
    host (their results say so).  Elsewhere the stand-in builds both on this
    host, and nothing is published.
    """
    from releasetool.obs.service.server import front_backend, make_service, start_in_thread

    reason = why_no_backend()
    service = make_service(demo.obs_root, {OBS_USER[0]: OBS_USER[1]}, port=0, build=reason is not None)
    backend = None
    serving = False
    try:
        if reason is None:
            from releasetool.obs.service.backend import Backend

            backend = Backend(demo.obs_root)
            front_backend(service, backend, debian_base=True)
            demo.notes["backend"] = True
        else:
            log.info("the OBS step uses the stand-in builder, not the OBS backend: %s", reason)
            demo.notes["backend"] = False
        start_in_thread(service)
        serving = True
        yield service.url
    finally:
        if serving:  # shutdown() waits for serve_forever, which must have started
            service.shutdown()
        service.server_close()
        if backend is not None:
            backend.stop()


def write_oscrc(demo: Demo, apiurl: str) -> Path:
    oscrc = demo.state / "oscrc"
    atomic_write(oscrc, "\n".join([
        "[general]", f"apiurl = {apiurl}", "http_retries = 1", f"cookiejar = {demo.state / 'osc-cookiejar'}",
        "check_for_request_on_action = 0", f"[{apiurl}]", f"user = {OBS_USER[0]}", f"pass = {OBS_USER[1]}",
        "credentials_mgr_class = osc.credentials.PlaintextConfigFileCredentialsManager", "allow_http = 1", "",
    ]), mode=0o600)
    return oscrc


def obs(demo: Demo) -> None:
    apiurl = str(demo.notes["apiurl"])  # set by run_demo's services
    oscrc = write_oscrc(demo, apiurl)
    common = ["--config", str(oscrc), "--apiurl", apiurl, "--project", OBS_PROJECT]
    releasetool(demo, "obs", "submit", "--all", *common, "--tarballs", str(demo.downloads), "-m",
                "Release train of the demo")
    results = json.loads(releasetool(demo, "obs", "status", *common, "--wait", "--timeout", "1800", "--json",
                                     capture=True))
    atomic_write(demo.state / "obs-results.json", json.dumps(results, indent=2) + "\n")


# --- 6. apt installs from the published repository -------------------------------------------

INSTALL_PACKAGE = "dlm"
INSTALL_PROGRAM = ["/usr/sbin/dlm_tool", "--version"]


def install(demo: Demo) -> None:
    """apt installs a built package from the rehearsal's published Debian repository and runs a program of it."""
    if not demo.notes.get("backend"):
        log.info("no apt install: the stand-in builder publishes no repository")
        return
    from releasetool.demo import apt_install

    project_path = OBS_PROJECT.replace(":", ":/")
    url = f"{demo.notes['apiurl']}/repositories/{project_path}/Debian_12/"
    version = next(c.version for c in upstream.COMPONENTS if c.name == INSTALL_PACKAGE)
    log.info("$ chroot ROOT apt-get install %s  (ROOT: a throwaway Debian 12 root; source: %s)",
             INSTALL_PACKAGE, url)
    apt_install.prove(demo.state, demo.root / "apt-root", url, INSTALL_PACKAGE, version, INSTALL_PROGRAM,
                      "dlm_tool ")


# --- 7. the page ------------------------------------------------------------------------------


def site(demo: Demo) -> None:
    apiurl = str(demo.notes["apiurl"])
    releasetool(demo, "site", "discover", "--obs-api", apiurl, "--obs-config", str(write_oscrc(demo, apiurl)))
    releasetool(demo, "site", "build", "--out", str(demo.site))
    log.info("open the page with: releasetool site serve --dir %s", demo.site)


STEPS: list[tuple[str, Step]] = [
    ("upstream", make_upstream),
    ("split", split),
    ("train", train),
    ("render", render),
    ("obs", obs),
    ("install", install),
    ("site", site),
]


# --- the summary ------------------------------------------------------------------------------


def summary_rows(demo: Demo) -> list[dict[str, str]]:
    """The summary table, read from what the steps left on disk."""
    sums: dict[str, str] = {}
    sums_file = demo.downloads / "SHA256SUMS"
    if sums_file.exists():
        for line in sums_file.read_text().splitlines():
            digest, _, name = line.partition("  ")
            sums[name.strip()] = digest
    results = _read_json(demo.state / "obs-results.json")
    page = _read_json(demo.site / "versions.json")
    page_versions = {c.get("name"): c for c in (page or {}).get("components", [])}
    rows = []
    for comp in upstream.COMPONENTS:
        repo = demo.repos / comp.name
        tag = ""
        with contextlib.suppress(Exception):
            tag = proc.git(repo, "describe", "--tags", "--exact-match", f"v{comp.version}") if repo.exists() else ""
        rows.append({
            "component": comp.name,
            "version": comp.version,
            "tag": tag or "-",
            "sha256": sums.get(f"{comp.name}-{comp.version}.tar.gz", "-"),
            "rpm": _build_state(results, comp.name, "rpm"),
            "deb": _build_state(results, comp.name, "deb"),
            "page": _page_state(page_versions.get(comp.name), comp.version, demo.site),
        })
    return rows


def _read_json(path: Path) -> Any:
    # Any: json.loads(); the readers below take the files the demo's own steps wrote
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _build_state(results: Any, package: str, family: str) -> str:
    """The combined state of one package's builds of one family (rpm: not Debian/Ubuntu)."""
    # results: what _read_json() read of `obs status --json` (json's Any)
    if not results:
        return "-"
    states = []
    for result in results.get("results", []):
        if result.get("package") != package:
            continue
        is_deb = result.get("repository", "").startswith(("Debian", "xUbuntu", "Ubuntu"))
        if is_deb == (family == "deb"):
            states.append(result.get("state") or result.get("code", "unknown"))
    if not states:
        return "-"
    return "succeeded" if all(s == "succeeded" for s in states) else ",".join(sorted(set(states)))


def _page_state(entry: dict[str, object] | None, version: str, site_dir: Path) -> str:
    if not entry:
        return "-"
    latest = entry.get("latest_stable") or {}
    shown = latest.get("version") if isinstance(latest, dict) else latest
    return "ok" if shown == version else f"shows {shown}"


def all_green(rows: list[dict[str, str]]) -> bool:
    return all(r["tag"] != "-" and r["sha256"] != "-" and r["rpm"] == "succeeded" and r["deb"] == "succeeded"
               and r["page"] == "ok" for r in rows)



def run_demo(root: Path) -> tuple[Demo, list[dict[str, str]]]:
    """Run or resume the whole demo in ``root``; return it and its summary rows."""
    from releasetool.demo import run

    @contextlib.contextmanager
    def services(demo: Demo) -> Iterator[None]:
        with obs_service(demo) as url:
            demo.notes["apiurl"] = url
            yield

    demo = run.run(root, STEPS, setup=services)
    return demo, summary_rows(demo)
