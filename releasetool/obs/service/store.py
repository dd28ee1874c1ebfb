"""State of the local OBS-compatible service, kept on disk.

Layout under the service root::

    blobs/AB/ABCDEF...                 file contents, named by their md5
    projects/PRJ/_meta                 project meta XML as last PUT
    projects/PRJ/packages/PKG/_meta    package meta XML as last PUT
    projects/PRJ/packages/PKG/history.json   revisions, oldest first
    projects/PRJ/packages/PKG/upload.json    the pending ``rev=upload`` file list
    requests/ID.json                   requests
    build/PRJ/PKG.json                 build results per repository/arch
    build/PRJ/PKG/REPO/ARCH.log        build logs

Every file is written atomically, so a killed service restarts with the state
of the last completed request.  OBS identifies a revision's content by its
``srcmd5``: the md5 of ``"<md5>  <name>\\n"`` over the files sorted by name.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NotRequired, TypedDict, cast

from releasetool.fsutil import atomic_write
from releasetool.obs.srcmd5 import srcmd5_of


class RequestState(TypedDict):
    name: str  # new, review, accepted, declined, revoked, superseded
    who: str
    when: str
    comment: str
    superseded_by: NotRequired[str]


class RequestRecord(TypedDict):
    """A request as the store keeps it (requests/ID.json)."""

    id: int
    creator: str
    created: str
    actions: list[str]  # each action's XML, as it came in
    state: RequestState
    description: str

# OBS project names: colon-separated parts of letters, digits, '_', '-', '.', '+'.
PROJECT_RE = re.compile(r"^[A-Za-z0-9_+][A-Za-z0-9_.+-]*(:[A-Za-z0-9_+][A-Za-z0-9_.+-]*)*$")
PACKAGE_RE = re.compile(r"^[A-Za-z0-9_+][A-Za-z0-9_.+:-]*$")
FILE_RE = re.compile(r"^[^/\x00]+$")


def valid_project(name: str) -> bool:
    return bool(PROJECT_RE.match(name)) and ".." not in name


def valid_package(name: str) -> bool:
    return bool(PACKAGE_RE.match(name)) and ".." not in name and not name.startswith(".")


# OBS's own rules (BSVerify): a repository name has no '/', ':' or control
# character and does not start with '_' or '.'; an architecture has no '/',
# ':' or '.' either.
REPOSITORY_RE = re.compile(r"^[^_./:\x00-\x1f][^/:\x00-\x1f]{0,199}$")
ARCH_RE = re.compile(r"^[A-Za-z0-9_+=,%{}@#~-]{1,200}$")


def valid_repository(name: str) -> bool:
    return bool(REPOSITORY_RE.match(name))


def valid_arch(name: str) -> bool:
    return bool(ARCH_RE.match(name))


def valid_file(name: str) -> bool:
    return bool(FILE_RE.match(name)) and name not in (".", "..")


@dataclass
class Revision:
    rev: int
    srcmd5: str
    time: int
    user: str
    comment: str
    files: dict[str, str]  # name -> md5
    requestid: str = ""

    def to_json(self) -> dict[str, object]:
        return {"rev": self.rev, "srcmd5": self.srcmd5, "time": self.time, "user": self.user,
                "comment": self.comment, "files": self.files, "requestid": self.requestid}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Revision:
        # Any: one record of json.loads(), each field converted here
        return cls(int(data["rev"]), str(data["srcmd5"]), int(data["time"]), str(data["user"]),
                   str(data.get("comment", "")), dict(data["files"]), str(data.get("requestid", "")))


@dataclass
class BuildResult:
    code: str
    details: str = ""
    srcmd5: str = ""
    time: int = 0


@dataclass
class BuildState:
    results: dict[str, BuildResult] = field(default_factory=dict)  # "REPO/ARCH" -> result


class Store:
    """All persistent state; one lock serialises writers within the service process."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.lock = threading.RLock()
        for sub in ("blobs", "projects", "requests", "build"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # -- blobs ---------------------------------------------------------------
    def blob_path(self, md5: str) -> Path:
        return self.root / "blobs" / md5[:2] / md5

    def has_blob(self, md5: str) -> bool:
        return bool(re.fullmatch(r"[0-9a-f]{32}", md5)) and self.blob_path(md5).exists()

    def put_blob(self, data: bytes) -> str:
        md5 = hashlib.md5(data).hexdigest()
        path = self.blob_path(md5)
        if not path.exists():
            atomic_write(path, data)
        return md5

    def blob(self, md5: str) -> bytes:
        return self.blob_path(md5).read_bytes()

    # -- projects ------------------------------------------------------------
    def project_dir(self, project: str) -> Path:
        return self.root / "projects" / project

    def projects(self) -> list[str]:
        base = self.root / "projects"
        return sorted(p.name for p in base.iterdir() if (p / "_meta").exists())

    def project_exists(self, project: str) -> bool:
        return valid_project(project) and (self.project_dir(project) / "_meta").exists()

    def project_meta(self, project: str) -> bytes:
        return (self.project_dir(project) / "_meta").read_bytes()

    def set_project_meta(self, project: str, data: bytes) -> None:
        with self.lock:
            atomic_write(self.project_dir(project) / "_meta", data)

    def delete_project(self, project: str) -> None:
        with self.lock:
            shutil.rmtree(self.project_dir(project), ignore_errors=True)
            shutil.rmtree(self.root / "build" / project, ignore_errors=True)

    # -- packages ------------------------------------------------------------
    def package_dir(self, project: str, package: str) -> Path:
        return self.project_dir(project) / "packages" / package

    def packages(self, project: str) -> list[str]:
        base = self.project_dir(project) / "packages"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / "_meta").exists())

    def package_exists(self, project: str, package: str) -> bool:
        return (self.project_exists(project) and valid_package(package)
                and (self.package_dir(project, package) / "_meta").exists())

    def package_meta(self, project: str, package: str) -> bytes:
        return (self.package_dir(project, package) / "_meta").read_bytes()

    def set_package_meta(self, project: str, package: str, data: bytes) -> None:
        with self.lock:
            atomic_write(self.package_dir(project, package) / "_meta", data)

    def delete_package(self, project: str, package: str) -> None:
        with self.lock:
            shutil.rmtree(self.package_dir(project, package), ignore_errors=True)
            build = self.root / "build" / project
            (build / f"{package}.json").unlink(missing_ok=True)
            shutil.rmtree(build / package, ignore_errors=True)

    # -- revisions -----------------------------------------------------------
    def history(self, project: str, package: str) -> list[Revision]:
        path = self.package_dir(project, package) / "history.json"
        try:
            return [Revision.from_json(r) for r in json.loads(path.read_text())]
        except FileNotFoundError:
            return []

    def latest(self, project: str, package: str) -> Revision | None:
        revs = self.history(project, package)
        return revs[-1] if revs else None

    def find_revision(self, project: str, package: str, rev: str | None) -> Revision | None:
        """A revision by number, srcmd5 or ``latest``; None for an empty package."""
        revs = self.history(project, package)
        if not rev or rev == "latest":
            return revs[-1] if revs else None
        if rev.isdigit():
            number = int(rev)
            if number == 0:
                return None
            for r in revs:
                if r.rev == number:
                    return r
            raise KeyError(rev)
        for r in reversed(revs):
            if r.srcmd5 == rev:
                return r
        raise KeyError(rev)

    def commit(self, project: str, package: str, files: dict[str, str], user: str, comment: str,
               requestid: str = "") -> Revision:
        with self.lock:
            revs = self.history(project, package)
            rev = Revision(len(revs) + 1, srcmd5_of(files), int(time.time()), user, comment, dict(files),
                           requestid)
            revs.append(rev)
            atomic_write(self.package_dir(project, package) / "history.json",
                         json.dumps([r.to_json() for r in revs], indent=1))
            (self.package_dir(project, package) / "upload.json").unlink(missing_ok=True)
            return rev

    def upload_files(self, project: str, package: str) -> dict[str, str]:
        """The pending ``rev=upload`` file list (starting from the latest revision)."""
        path = self.package_dir(project, package) / "upload.json"
        try:
            return dict(json.loads(path.read_text()))
        except FileNotFoundError:
            latest = self.latest(project, package)
            return dict(latest.files) if latest else {}

    def set_upload_files(self, project: str, package: str, files: dict[str, str]) -> None:
        with self.lock:
            atomic_write(self.package_dir(project, package) / "upload.json", json.dumps(files))

    # -- requests ------------------------------------------------------------
    def new_request_id(self) -> int:
        with self.lock:
            counter = self.root / "requests" / "next_id"
            try:
                number = int(counter.read_text())
            except (FileNotFoundError, ValueError):
                number = 1
            atomic_write(counter, str(number + 1))
            return number

    def save_request(self, request: RequestRecord) -> None:
        with self.lock:
            atomic_write(self.root / "requests" / f"{request['id']}.json", json.dumps(request, indent=1))

    def request(self, number: str) -> RequestRecord | None:
        if not number.isdigit():
            return None
        try:
            # json.loads() gives Any: the file is one save_request() wrote
            return cast(RequestRecord, dict(json.loads((self.root / "requests" / f"{int(number)}.json").read_text())))
        except FileNotFoundError:
            return None

    def requests(self) -> list[RequestRecord]:
        found: list[RequestRecord] = []
        for path in (self.root / "requests").glob("*.json"):
            found.append(json.loads(path.read_text()))
        return sorted(found, key=lambda r: int(r["id"]))

    # -- builds --------------------------------------------------------------
    def build_state(self, project: str, package: str) -> BuildState:
        path = self.root / "build" / project / f"{package}.json"
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            return BuildState()
        return BuildState({k: BuildResult(**v) for k, v in raw.items()})

    def set_build_results(self, project: str, package: str, updates: dict[str, BuildResult]) -> None:
        with self.lock:
            state = self.build_state(project, package)
            state.results.update(updates)
            path = self.root / "build" / project / f"{package}.json"
            atomic_write(path, json.dumps({k: vars(v) for k, v in state.results.items()}, indent=1))

    def log_path(self, project: str, package: str, repository: str, arch: str) -> Path:
        return self.root / "build" / project / package / repository / f"{arch}.log"

    def write_log(self, project: str, package: str, repository: str, arch: str, data: bytes) -> None:
        atomic_write(self.log_path(project, package, repository, arch), data)

    def read_log(self, project: str, package: str, repository: str, arch: str) -> bytes:
        try:
            return self.log_path(project, package, repository, arch).read_bytes()
        except FileNotFoundError:
            return b""


def file_mtime(path: Path) -> int:
    try:
        return int(os.stat(path).st_mtime)
    except FileNotFoundError:
        return 0


@dataclass(frozen=True)
class Repository:
    """One ``<repository>`` of a project meta: its build paths and architectures."""

    name: str
    paths: tuple[tuple[str, str], ...]  # (project, repository)
    archs: tuple[str, ...]

    @property
    def family(self) -> str:
        """``deb`` when the base distribution is Debian or Ubuntu, else ``rpm``.

        On OBS the build type comes from the base project's prjconf; these are
        the base projects whose prjconf says ``Type: dsc``.
        """
        for project, _ in self.paths:
            base = project.split(":")[0].lower()
            if base in ("debian", "ubuntu", "raspbian") or project.lower().startswith("xubuntu"):
                return "deb"
        return "rpm"


def repositories(meta: bytes) -> list[Repository]:
    """The repositories a project meta declares (nothing for an unreadable meta)."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(meta)
    except ET.ParseError:
        return []
    found = []
    for repo in root.findall("repository"):
        paths = tuple((p.get("project", ""), p.get("repository", "")) for p in repo.findall("path"))
        archs = tuple((a.text or "").strip() for a in repo.findall("arch") if (a.text or "").strip())
        found.append(Repository(repo.get("name", ""), paths, archs))
    return found
