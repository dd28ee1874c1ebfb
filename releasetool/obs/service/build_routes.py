"""``/build``: results, logs, job history and rebuilds."""

from __future__ import annotations

import hashlib
import time
import xml.etree.ElementTree as ET

from releasetool.errors import ApiError
from releasetool.obs.service import xmlshapes as shapes
from releasetool.obs.service.context import XML, Answer, Request
from releasetool.obs.service.store import BuildResult, repositories

# Package codes after which OBS considers a repository finished.
# How long a results request with an unchanged ``oldstate`` is held (OBS long-polls too).
RESULT_WAIT_SECONDS = 20.0
FINAL = ("succeeded", "failed", "unresolvable", "broken", "disabled", "excluded")


def route(h: Request, method: str, segs: list[str], query: dict[str, str]) -> Answer:
    if not segs:
        raise ApiError(404, "not_found", "no project given")
    project = segs[0]
    h.check_project(project)
    if len(segs) == 1 and method == "POST":
        return _command(h, project, query)
    if len(segs) == 2 and segs[1] == "_result" and method == "GET":
        return _results(h, project, query)
    if len(segs) == 4 and segs[3] == "_jobhistory" and method == "GET":
        return _jobhistory(h, project, segs[1], segs[2], query)
    if len(segs) == 5 and method == "GET":
        repo, arch, package, what = segs[1:]
        h.check_package(project, package)
        _check_repository(h, project, repo, arch)
        if what == "_log":
            return _log(h, project, package, repo, arch, query)
        if what == "_status":
            result = _result_for(h, project, package, repo, arch)
            root = ET.Element("status", package=package, code=result.code)
            if result.details:
                ET.SubElement(root, "details").text = result.details
            return 200, shapes.to_bytes(root), XML
    if len(segs) == 3 and method == "GET":
        # /build/P/R/A: the packages of a repository
        return 200, shapes.directory_of_names(h.server.store.packages(project)), XML
    raise ApiError(404, "not_found", "no such build path")


def _check_repository(h: Request, project: str, repo: str, arch: str) -> None:
    known = {(r.name, a) for r in repositories(h.server.store.project_meta(project)) for a in r.archs}
    if (repo, arch) not in known:
        raise ApiError(404, "unknown_repository", f"{project} has no repository {repo} for {arch}")


def _result_for(h: Request, project: str, package: str, repo: str, arch: str) -> BuildResult:
    store = h.server.store
    latest = store.latest(project, package)
    if latest is None:
        return BuildResult("broken", "no source uploaded")
    state = store.build_state(project, package)
    return state.results.get(f"{repo}/{arch}") or BuildResult("scheduled", "", latest.srcmd5)


def _render_results(h: Request, project: str, query: dict[str, str]) -> tuple[bytes, str]:
    store = h.server.store
    wanted_packages = h.multi.get("package") or store.packages(project)
    wanted_repos = set(h.multi.get("repository") or [])
    wanted_archs = set(h.multi.get("arch") or [])
    root = ET.Element("resultlist")
    for repo in repositories(store.project_meta(project)):
        if wanted_repos and repo.name not in wanted_repos:
            continue
        for arch in repo.archs:
            if wanted_archs and arch not in wanted_archs:
                continue
            result = ET.SubElement(root, "result", project=project, repository=repo.name, arch=arch)
            codes = []
            for package in wanted_packages:
                if not store.package_exists(project, package):
                    continue
                found = _result_for(h, project, package, repo.name, arch)
                codes.append(found.code)
                status = ET.SubElement(result, "status", package=package, code=found.code)
                if found.details:
                    ET.SubElement(status, "details").text = found.details
            building = any(c not in FINAL for c in codes)
            result.set("code", "building" if building else "published")
            result.set("state", "building" if building else "published")
            if h.dirty:
                result.set("dirty", "true")
    body = shapes.to_bytes(root)
    return body, hashlib.md5(body).hexdigest()


def _results(h: Request, project: str, query: dict[str, str]) -> Answer:
    body, digest = _render_results(h, project, query)
    oldstate = query.get("oldstate")
    if oldstate and oldstate == digest:
        # Long poll: answer when the results change (or after a while), as OBS does.
        deadline = time.monotonic() + RESULT_WAIT_SECONDS
        while time.monotonic() < deadline and digest == oldstate:
            time.sleep(0.2)
            body, digest = _render_results(h, project, query)
    root = ET.fromstring(body)
    root.set("state", digest)
    return 200, shapes.to_bytes(root), XML


def _log(h: Request, project: str, package: str, repo: str, arch: str, query: dict[str, str]) -> Answer:
    return log_answer(h.server.store.read_log(project, package, repo, arch), query)


def log_answer(data: bytes, query: dict[str, str]) -> Answer:
    """A build log as ``/build/.../_log`` answers it: ``view=entry``, or the bytes from ``start`` to ``end``."""
    if query.get("view") == "entry":
        root = ET.Element("directory")
        ET.SubElement(root, "entry", name="_log", size=str(len(data)), mtime=str(int(time.time())))
        return 200, shapes.to_bytes(root), XML
    try:
        start = int(query.get("start") or 0)
        end = int(query["end"]) if query.get("end") else len(data)
    except ValueError:
        raise ApiError(400, "invalid_parameter", "start and end must be numbers") from None
    return 200, data[max(0, start):max(0, end)], "text/plain"


def _jobhistory(h: Request, project: str, repo: str, arch: str, query: dict[str, str]) -> Answer:
    """The last finished job per package; ``srcmd5`` tells which revision was built."""
    store = h.server.store
    root = ET.Element("jobhistlist")
    packages = h.multi.get("package") or store.packages(project)
    for package in packages:
        if not store.package_exists(project, package):
            continue
        result = store.build_state(project, package).results.get(f"{repo}/{arch}")
        if result is None or result.code not in ("succeeded", "failed"):
            continue
        rev = next((r for r in store.history(project, package) if r.srcmd5 == result.srcmd5), None)
        ET.SubElement(root, "jobhist", package=package, rev=str(rev.rev if rev else 0), srcmd5=result.srcmd5,
                      versrel="", bcnt="1", readytime=str(result.time), starttime=str(result.time),
                      endtime=str(result.time), code=result.code, uri="", workerid="local:1", hostarch=arch,
                      reason="new build")
    return 200, shapes.to_bytes(root), XML


def _command(h: Request, project: str, query: dict[str, str]) -> Answer:
    cmd = query.get("cmd")
    if cmd not in ("rebuild", "abortbuild", "restartbuild"):
        raise ApiError(400, "illegal_request", f"unsupported build command {cmd!r}")
    store = h.server.store
    packages = h.multi.get("package") or store.packages(project)
    repos = set(h.multi.get("repository") or [])
    archs = set(h.multi.get("arch") or [])
    for package in packages:
        h.check_package(project, package)
        latest = store.latest(project, package)
        if latest is None or cmd == "abortbuild":
            continue
        targets = [(r.name, a) for r in repositories(store.project_meta(project)) for a in r.archs
                   if (not repos or r.name in repos) and (not archs or a in archs)]
        if h.server.builder is None:
            continue
        store.set_build_results(project, package, {
            f"{r}/{a}": BuildResult("scheduled", "", latest.srcmd5, int(time.time())) for r, a in targets})
        h.server.builder.schedule(project, package, force=True)
    return 200, shapes.status(), XML
