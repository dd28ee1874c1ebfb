"""Real builds for the local OBS-compatible service.

One worker thread takes committed packages off a queue and builds the latest
revision for every repository/arch of the project: rpm-family repositories with
``rpmbuild -ba --nodeps`` from the spec, deb-family repositories with
``dpkg-buildpackage -us -uc -b -d`` from the Debian packaging in the form OBS's
debtransform reads (a ``.dsc`` naming ``DEBTRANSFORM-TAR``, the tarball, and
``debian.tar.*`` or ``debian.<file>`` files).  A build runs once per
(package, srcmd5, family) on this machine; every repository/arch of that family
gets the same result and log, as if each had its own worker.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import NoReturn

from releasetool.errors import BuildProblem
from releasetool.log import log
from releasetool.obs.service.store import BuildResult, Repository, Store, repositories

BUILD_TIMEOUT = 1800
PENDING = ("scheduled", "building", "dispatching")
# Source services that fetch from the network; OBS runs them on its servers.
FETCHING_SERVICES = ("download_url", "obs_scm", "tar_scm", "download_files", "git_scm")
OFFLINE_MODES = ("buildtime", "disabled", "manual", "localonly")


@dataclass
class Outcome:
    code: str
    details: str
    log: bytes


def family_of(store: Store, repo: Repository, depth: int = 0) -> str:
    """The build family of a repository, following paths into projects of this service."""
    for project, name in repo.paths:
        if depth < 5 and store.project_exists(project):
            for inner in repositories(store.project_meta(project)):
                if inner.name == name:
                    return family_of(store, inner, depth + 1)
    return repo.family


class Builder:
    def __init__(self, store: Store, *, timeout: int = BUILD_TIMEOUT) -> None:
        self.store = store
        self.timeout = timeout
        self.queue: queue.Queue[tuple[str, str, bool] | None] = queue.Queue()
        self.cache: dict[tuple[str, str, str], Outcome] = {}
        self.builds_run = 0
        self.thread = threading.Thread(target=self._loop, name="obs-builder", daemon=True)
        self.current: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.thread.start()
        # Builds interrupted by a restart are scheduled again.
        for project in self.store.projects():
            for package in self.store.packages(project):
                state = self.store.build_state(project, package)
                if any(r.code in PENDING for r in state.results.values()):
                    self.schedule(project, package)

    def stop(self) -> None:
        self.queue.put(None)
        if self.current is not None and self.current.poll() is None:
            self.current.kill()

    def schedule(self, project: str, package: str, force: bool = False) -> None:
        self.queue.put((project, package, force))

    def idle(self) -> bool:
        return self.queue.unfinished_tasks == 0

    def _loop(self) -> None:
        while True:
            item = self.queue.get()
            try:
                if item is None:
                    return
                self.build(*item)
            except Exception:
                log.exception("obs serve: build of %s/%s crashed", item[0] if item else "?", item[1] if item else "?")
            finally:
                self.queue.task_done()

    def build(self, project: str, package: str, force: bool = False) -> None:
        store = self.store
        if not store.package_exists(project, package):
            return
        latest = store.latest(project, package)
        if latest is None:
            return
        state = store.build_state(project, package)
        by_family: dict[str, list[tuple[str, str]]] = {}
        for repo in repositories(store.project_meta(project)):
            for arch in repo.archs:
                current = state.results.get(f"{repo.name}/{arch}")
                if current is None or current.srcmd5 != latest.srcmd5 or current.code in PENDING:
                    by_family.setdefault(family_of(store, repo), []).append((repo.name, arch))
        for family, targets in sorted(by_family.items()):
            key = (package, latest.srcmd5, family)
            outcome = None if force else self.cache.get(key)
            if outcome is None:
                store.set_build_results(project, package, {
                    f"{r}/{a}": BuildResult("building", "", latest.srcmd5, int(time.time())) for r, a in targets})
                first = store.log_path(project, package, *targets[0])
                outcome = self._build_family(family, package, latest.files, first)
                self.cache[key] = outcome
            for repo_name, arch in targets:
                store.write_log(project, package, repo_name, arch, outcome.log)
            store.set_build_results(project, package, {
                f"{r}/{a}": BuildResult(outcome.code, outcome.details, latest.srcmd5, int(time.time()))
                for r, a in targets})
            log.info("obs serve: %s/%s %s build: %s", project, package, family, outcome.code)

    # -- one build -----------------------------------------------------------
    def _build_family(self, family: str, package: str, files: dict[str, str], log_path: Path) -> Outcome:
        self.builds_run += 1
        with tempfile.TemporaryDirectory(prefix=f"obs-build-{package}-") as tmp:
            work = Path(tmp)
            try:
                _refuse_fetching_services(self.store, files)
                if family == "deb":
                    argv, cwd = self._prepare_deb(package, files, work)
                else:
                    argv, cwd = self._prepare_rpm(package, files, work)
            except BuildProblem as problem:
                text = f"build of {package} not started: {problem}\n".encode()
                return Outcome("broken", str(problem), text)
            return self._run(argv, cwd, log_path, package, family)

    def _run(self, argv: list[str], cwd: Path, log_path: Path, package: str, family: str,
             header_text: str = "") -> Outcome:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        header = (header_text or f"[releasetool obs] {family} build of {package}: {' '.join(argv)}\n").encode()
        env = dict(os.environ, LC_ALL="C.UTF-8", DEB_BUILD_OPTIONS="nocheck")
        started = time.monotonic()
        # A long-running build whose output is streamed into the log as it comes
        # (osc buildlog follows it), hence Popen rather than proc.run.
        with open(log_path, "wb") as out:
            out.write(header)
            out.flush()
            try:
                self.current = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                                stdin=subprocess.DEVNULL)
            except FileNotFoundError:
                return Outcome("broken", f"{argv[0]} is not installed on the build host", header)
            try:
                code = self.current.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                self.current.kill()
                self.current.wait()
                code = -1
            self.current = None
            elapsed = time.monotonic() - started
            out.write(f"\n[releasetool obs] finished after {elapsed:.1f}s with exit status {code}\n".encode())
        data = log_path.read_bytes()
        if code == 0:
            return Outcome("succeeded", "", data)
        return Outcome("failed", "build timed out" if code == -1 else f"exit status {code}", data)

    def _prepare_rpm(self, package: str, files: dict[str, str], work: Path) -> tuple[list[str], Path]:
        return prepare_rpm(package, list(files), work,
                           lambda name, dest: shutil.copyfile(self.store.blob_path(files[name]), dest))

    def _prepare_deb(self, package: str, files: dict[str, str], work: Path) -> tuple[list[str], Path]:
        dscs = [n for n in files if n.endswith(".dsc")]
        dsc = f"{package}.dsc" if f"{package}.dsc" in dscs else (dscs[0] if len(dscs) == 1 else None)
        if dsc is None:
            raise BuildProblem("no .dsc file in the sources" if not dscs
                               else f"several .dsc files and none named {package}.dsc")
        fields = _dsc_fields(self.store.blob(files[dsc]))
        tar_name = fields.get("debtransform-tar", "")
        if not tar_name:
            raise BuildProblem(f"{dsc} has no DEBTRANSFORM-TAR field naming the upstream tarball")
        if tar_name not in files:
            raise BuildProblem(f"{dsc} names {tar_name} as DEBTRANSFORM-TAR but it is not in the sources")
        src = work / "src"
        src.mkdir()
        _extract(self.store.blob_path(files[tar_name]), src, strip=1, label=tar_name)
        debian = src / "debian"
        archives = [n for n in files if n.startswith("debian.tar.")]
        singles = [n for n in files if n.startswith("debian.") and n not in archives]
        if archives and singles:
            raise BuildProblem("both debian.tar.* and debian.<file> files: use one form")
        if debian.exists():
            shutil.rmtree(debian)
        debian.mkdir()
        if archives:
            _extract(self.store.blob_path(files[archives[0]]), debian, strip=1, top="debian", label=archives[0])
        for name in singles:
            target = debian / name[len("debian."):]
            shutil.copyfile(self.store.blob_path(files[name]), target)
            if name == "debian.rules":
                target.chmod(0o755)
        if not (debian / "changelog").exists() or not (debian / "control").exists():
            raise BuildProblem("the Debian packaging has no changelog or no control file")
        (debian / "rules").chmod(0o755)
        shutil.which("dpkg-buildpackage") or _missing("dpkg-buildpackage")
        return ["dpkg-buildpackage", "-us", "-uc", "-b", "-d"], src


def prepare_rpm(package: str, names: list[str], work: Path,
                copy: Callable[[str, Path], object]) -> tuple[list[str], Path]:
    """A ``_topdir`` under ``work`` holding every source file; the rpmbuild command line for the spec."""
    specs = [n for n in names if n.endswith(".spec")]
    spec = f"{package}.spec" if f"{package}.spec" in specs else (specs[0] if len(specs) == 1 else None)
    if spec is None:
        raise BuildProblem("no .spec file in the sources" if not specs
                           else f"several spec files and none named {package}.spec")
    for sub in ("SOURCES", "SPECS", "BUILD", "RPMS", "SRPMS", "BUILDROOT"):
        (work / sub).mkdir()
    for name in names:
        copy(name, work / "SOURCES" / name)
    shutil.copyfile(work / "SOURCES" / spec, work / "SPECS" / spec)
    shutil.which("rpmbuild") or _missing("rpmbuild")
    return ["rpmbuild", "-ba", "--nodeps", "--define", f"_topdir {work}", f"SPECS/{spec}"], work


def _missing(program: str) -> NoReturn:
    raise BuildProblem(f"{program} is not installed on the build host")


def _dsc_fields(data: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        if line[:1] in (" ", "\t") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        fields[key.strip().lower()] = value.strip()
    return fields


def _refuse_fetching_services(store: Store, files: dict[str, str]) -> None:
    if "_service" not in files:
        return
    try:
        root = ET.fromstring(store.blob(files["_service"]))
    except ET.ParseError:
        raise BuildProblem("_service is not well-formed XML") from None
    for service in root.findall("service"):
        name, mode = service.get("name", ""), service.get("mode", "")
        if name in FETCHING_SERVICES and mode not in OFFLINE_MODES:
            raise BuildProblem(
                f"source service {name} needs network access, which this local service does not have: "
                "upload the release tarball with the package instead")


def _extract(archive: Path, dest: Path, *, strip: int, label: str, top: str | None = None) -> None:
    """Unpack a tarball, dropping ``strip`` leading directories; members escaping ``dest`` are refused."""
    try:
        with tarfile.open(archive) as tar:
            members = []
            for member in tar.getmembers():
                parts = PurePosixPath(member.name).parts
                if member.name.startswith("/") or ".." in parts:
                    raise BuildProblem(f"{label}: member {member.name!r} escapes the source directory")
                if top is not None and parts and parts[0] != top:
                    continue
                if len(parts) <= strip:
                    continue
                if member.issym() or member.islnk():
                    target = PurePosixPath(member.linkname)
                    if target.is_absolute() or ".." in target.parts:
                        raise BuildProblem(f"{label}: link {member.name!r} points outside the sources")
                member.name = str(PurePosixPath(*parts[strip:]))
                members.append(member)
            tar.extractall(dest, members=members, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise BuildProblem(f"{label}: cannot unpack ({exc})") from None
