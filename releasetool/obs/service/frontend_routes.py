"""The frontend's work over Debian's OBS backend (``obs serve --backend``).

OBS is two programs: the Rails frontend (users, roles, requests, the
frontend's ``branch``) and the perl backend (sources, revisions, ``_link``
expansion, history, scheduling, builds, binaries, publishing).  Debian
packages only the backend; this module is the frontend's part, as OBS's
frontend does it:

- the user is the logged-in one: ``user=`` on a write is set here, whatever
  the client sent (the backend records whoever ``user=`` names);
- only maintainers write: a project's maintainers (``<person role="maintainer">``
  in its meta) may change it and its packages, a package's maintainers that
  package; a new project may be made under ``home:USER``, or under a project
  the user maintains; the ``Admin`` user may do everything (OBS's default
  administrator login);
- the creator of a project without a maintainer becomes its maintainer;
- ``cmd=branch``: a branch project whose repositories build against the
  source project's, the package meta, then the backend's own branch command,
  which commits the ``_link``;
- submit requests, kept by the frontend; accepting one copies the sources
  into the target with the backend's ``cmd=copy``;
- names are checked against OBS's rules before they reach a path.

Everything else under ``/source``, ``/build`` and ``/search`` goes to the
backend's source server as it came (the source server forwards ``/build``
to the repository server itself).
"""

from __future__ import annotations

import hashlib
import http.client
import re
import threading
import time
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from releasetool.errors import ApiError
from releasetool.obs.service import build_routes, request_routes
from releasetool.obs.service import xmlshapes as shapes
from releasetool.obs.service.context import XML, Answer, Request
from releasetool.obs.service.store import RequestRecord, valid_file, valid_package, valid_project

if TYPE_CHECKING:
    from releasetool.obs.service.host_rpm import HostRpmBuilder

ADMIN = "Admin"
BACKEND_TIMEOUT = 600.0  # a result long-poll or a large binary can take a while
# POST commands on sources that change nothing (the others are writes).
READ_COMMANDS = {"diff", "linkdiff", "servicediff", "showlinked", "getprojectservices", "branch"}
# Project-level files of the backend.
PROJECT_FILES = {"_meta", "_config", "_attribute", "_pubkey", "_project", "_keyinfo", "_pattern", "_history"}


class Backend:
    """HTTP calls to the backend's source server (on 127.0.0.1; no proxy, no pooling)."""

    def __init__(self, srcserver: str) -> None:
        parts = urlsplit(srcserver)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80

    def call(self, method: str, path: str, query: list[tuple[str, str]] | None = None, body: bytes | None = None,
             content_type: str | None = None) -> tuple[int, bytes, str]:
        target = path + ("?" + urlencode(query) if query else "")
        conn = http.client.HTTPConnection(self.host, self.port, timeout=BACKEND_TIMEOUT)
        try:
            headers = {"Content-Type": content_type} if content_type and body is not None else {}
            conn.request(method, target, body=body, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
            return answer.status, data, answer.getheader("Content-Type") or "application/octet-stream"
        except OSError as exc:
            raise ApiError(502, "backend_unreachable", f"the OBS backend did not answer: {exc}") from None
        finally:
            conn.close()

    def xml(self, path: str, query: list[tuple[str, str]] | None = None) -> ET.Element | None:
        """The backend's XML at ``path``, or None when it answers 404."""
        status, data, _ = self.call("GET", path, query)
        if status == 404:
            return None
        if status != 200:
            raise _backend_error(status, data)
        try:
            return ET.fromstring(data)
        except ET.ParseError:
            raise ApiError(502, "backend_error", f"the OBS backend answered malformed XML for {path}") from None


def _backend_error(status: int, data: bytes) -> ApiError:
    """The backend's ``<status code=..><summary>`` as the frontend's error."""
    summary = data.decode("utf-8", "replace").strip()
    try:
        summary = ET.fromstring(data).findtext("summary") or summary
    except ET.ParseError:
        pass
    return ApiError(status if 400 <= status < 600 else 502, "backend_error", summary[:500])


def _backend(h: Request) -> Backend:
    backend = h.server.backend
    assert backend is not None  # only routed here when serving with a backend
    return backend


def _query(h: Request, *, user: bool) -> list[tuple[str, str]]:
    """The request's query as it came, every value of each key; with ``user``, ``user=`` is the logged-in one."""
    pairs = [(key, value) for key, values in h.multi.items() for value in values if not (user and key == "user")]
    if user:
        pairs.append(("user", h.user))
    return pairs


def _check_names(segs: list[str]) -> None:
    """OBS's rules for the names that become paths in the backend and in the frontend's store."""
    if segs and not valid_project(segs[0]):
        raise ApiError(400, "invalid_project_name", f"invalid project name '{segs[0]}'")
    if len(segs) >= 2 and segs[1] not in PROJECT_FILES and not valid_package(segs[1]):
        raise ApiError(400, "invalid_package_name", f"invalid package name '{segs[1]}'")
    if len(segs) >= 3 and not valid_file(segs[2]):
        raise ApiError(400, "invalid_file_name_error", f"Filename '{segs[2]}' is illegal")


def maintainers(meta: ET.Element | None) -> set[str]:
    if meta is None:
        return set()
    return {p.get("userid", "") for p in meta.findall("person") if p.get("role") == "maintainer"}


def may_write(h: Request, project: str, package: str | None = None) -> bool:
    """Whether the logged-in user may change ``project`` (or ``package`` in it), as OBS's roles decide."""
    if h.user == ADMIN:
        return True
    backend = _backend(h)
    meta = backend.xml(f"/source/{project}/_meta")
    if meta is None:
        # A new project: under the user's home, or under a project the user maintains.
        if project == f"home:{h.user}" or project.startswith(f"home:{h.user}:"):
            return True
        parent = project.rpartition(":")[0]
        while parent:
            parent_meta = backend.xml(f"/source/{parent}/_meta")
            if parent_meta is not None:
                return h.user in maintainers(parent_meta)
            parent = parent.rpartition(":")[0]
        return False
    if h.user in maintainers(meta):
        return True
    if package is not None:
        return h.user in maintainers(backend.xml(f"/source/{project}/{package}/_meta"))
    return False


def _require_write(h: Request, project: str, package: str | None = None) -> None:
    if not may_write(h, project, package):
        what = f"package {project}/{package}" if package else f"project {project}"
        code = "modify_package_no_permission" if package else "modify_project_no_permission"
        raise ApiError(403, code, f"no permission to modify {what}: {h.user} is not one of its maintainers")


def route(h: Request, method: str, segs: list[str], query: dict[str, str]) -> Answer:
    """``segs`` is the whole path: ``source``, ``build``, ``search`` or ``request`` first."""
    area, rest = segs[0], segs[1:]
    if area == "request":
        return request_routes.route(h, method, rest, query, SOURCES)
    if area == "search" and rest == ["request"]:
        return request_routes.search(h, query)
    if area == "search":
        return _search(h, segs)
    if area == "source":
        return _source(h, method, rest, query)
    if area == "build":
        _check_names(rest[:1])
        if method != "GET":
            if not rest:
                raise ApiError(400, "illegal_request", f"unsupported {method} on /build")
            packages: list[str | None] = [*h.multi.get("package", [])] or [None]
            for package in packages:
                _require_write(h, rest[0], package)
        host = h.server.host_rpm
        if host is not None and rest:
            return _build_with_host_rpm(h, host, method, segs, query)
    # The repository server takes no user= on its commands.
    return _pass(h, method, segs, user=False)


def _build_with_host_rpm(h: Request, host: HostRpmBuilder, method: str, segs: list[str],
                         query: dict[str, str]) -> Answer:
    """``/build`` when rpm targets are built on the host: their part of the answer is the host builder's."""
    project, rest = segs[1], segs[2:]
    if method == "POST":
        answer = _pass(h, method, segs, user=False)
        if query.get("cmd") in ("rebuild", "restartbuild"):
            wanted_repos = set(h.multi.get("repository", []))
            if any(not wanted_repos or r.name in wanted_repos for r in host.host_repositories(project)):
                for package in h.multi.get("package", []) or host.packages(project):
                    host.schedule(project, package, force=True)
        return answer
    if rest == ["_result"]:
        return _results_with_host_rpm(h, host, project, query)
    if len(rest) >= 3 and rest[1] == host.arch and rest[0] in {r.name for r in host.host_repositories(project)}:
        repository = rest[0]
        if rest[2:] == ["_jobhistory"]:
            return 200, host.jobhistory(project, repository, h.multi.get("package", [])), XML
        if len(rest) == 4 and rest[3] in ("_log", "_status"):
            package = rest[2]
            _check_names([project, package])
            if package not in host.packages(project):
                raise ApiError(404, "unknown_package", f"Package not found: {project}/{package}")
            if rest[3] == "_log":
                return build_routes.log_answer(h.server.store.read_log(project, package, repository, host.arch),
                                               query)
            found = host.result(project, package, repository)
            status = ET.Element("status", package=package, code=found.code)
            ET.SubElement(status, "details").text = found.details
            return 200, shapes.to_bytes(status), XML
    return _pass(h, method, segs, user=False)


def _results_with_host_rpm(h: Request, host: HostRpmBuilder, project: str, query: dict[str, str]) -> Answer:
    # The backend long-polls on its own state only; with a part of the answer
    # made here, the frontend compares the whole answer with ``oldstate``.
    backend_query = [(k, v) for k, v in _query(h, user=False) if k != "oldstate"]

    def render() -> tuple[bytes, str]:
        answer = _pass(h, "GET", ["build", project, "_result"], user=False, query=backend_query)[1]
        root = ET.fromstring(answer)
        host.overlay_results(project, root, h.multi.get("package", []), set(h.multi.get("repository", [])),
                             set(h.multi.get("arch", [])))
        root.attrib.pop("state", None)
        body = shapes.to_bytes(root)
        return body, hashlib.md5(body).hexdigest()

    body, digest = render()
    oldstate = query.get("oldstate")
    deadline = time.monotonic() + build_routes.RESULT_WAIT_SECONDS
    while oldstate == digest and time.monotonic() < deadline:
        time.sleep(1.0)
        body, digest = render()
    root = ET.fromstring(body)
    root.set("state", digest)
    return 200, shapes.to_bytes(root), XML


def _pass(h: Request, method: str, segs: list[str], *, user: bool, body: bytes | None = None,
          query: list[tuple[str, str]] | None = None) -> Answer:
    data = body if body is not None else (h.read_body() if method in ("PUT", "POST") else None)
    status, answer, ctype = _backend(h).call(method, "/" + "/".join(segs),
                                             query if query is not None else _query(h, user=user), data,
                                             h.headers.get("Content-Type") if data is not None else None)
    if status >= 400:
        raise _backend_error(status, answer)
    if method == "PUT" and segs[-1] == "_meta":
        # The backend echoes the meta it stored; OBS's frontend answers a
        # status, and osc (linkpac, meta -F) reads one.
        return 200, shapes.status(), XML
    return status, answer, ctype


# osc's searches are in the frontend's XPath dialect: ``([devel[@project='P' and
# @package='K']])``.  The backend's own search takes ``devel/@project='P' and
# devel/@package='K'``: an element's predicate is spelt out on each attribute.
_PREDICATE = re.compile(r"([A-Za-z_][\w-]*)\[(@[^\[\]]*)\]")


def backend_xpath(match: str) -> str:
    text = match.strip()
    if text.startswith("([") and text.endswith("])"):
        text = "(" + text[2:-2] + ")"

    def spell_out(found: re.Match[str]) -> str:
        element, condition = found.group(1), found.group(2)
        return "(" + re.sub(r"@([\w-]+)", lambda a: f"{element}/@{a.group(1)}", condition) + ")"

    previous = None
    while previous != text:
        previous, text = text, _PREDICATE.sub(spell_out, text)
    return text


def _search(h: Request, segs: list[str]) -> Answer:
    query = [(key, backend_xpath(value) if key == "match" else value) for key, value in _query(h, user=False)]
    return _pass(h, "GET", segs, user=False, query=query)


def _source(h: Request, method: str, segs: list[str], query: dict[str, str]) -> Answer:
    _check_names(segs)
    path = ["source", *segs]
    cmd = query.get("cmd", "")
    if method == "GET" or not segs:
        return _pass(h, method, path, user=False)
    project = segs[0]
    if len(segs) == 2 and segs[1] == "_meta" and method == "PUT":
        return _put_project_meta(h, project)
    if method == "POST" and cmd == "branch" and len(segs) == 2:
        return _branch(h, project, segs[1], query)
    if method == "POST" and cmd in READ_COMMANDS:
        return _pass(h, method, path, user=False)
    package = segs[1] if len(segs) >= 2 and segs[1] not in PROJECT_FILES else None
    _require_write(h, project, package)
    if package is not None:
        _refuse_source_services(h, method, segs, cmd)
    # The backend makes a revision of a single-file PUT or DELETE from the
    # latest one, with nothing that stops two of them from reading the same
    # latest: parallel writes would each drop the others' files.  Writes to
    # one package go one at a time.
    with _package_lock(project, package or ""):
        answer = _pass(h, method, path, user=True)
    if package is not None and query.get("rev") != "repository":
        _sources_changed(h, project, package)
    return answer


# The commands that run a package's source services (osc's runservice and
# remoterun send ``runservice``).
SERVICE_COMMANDS = {"runservice", "waitservice", "mergeservice"}
NO_SERVICE_SERVER = ("no source service server runs here, so a _service cannot be run: commit the files it "
                     "would make (e.g. the release tarball) instead of the _service file")


def _refuse_source_services(h: Request, method: str, segs: list[str], cmd: str) -> None:
    """The frontend's error for anything that would need a source service run.

    OBS commits a ``_service`` and then has its service server run it; the
    backend here has no service server, so such a revision would wait for a
    run that never comes (its listing says "service running" for ever).
    """
    if method == "POST" and cmd in SERVICE_COMMANDS:
        raise ApiError(400, "service_unavailable", NO_SERVICE_SERVER)
    if method == "PUT" and segs[2:] == ["_service"] and h.multi.get("rev", [""])[-1] != "repository":
        raise ApiError(400, "service_unavailable", NO_SERVICE_SERVER)
    if method == "POST" and cmd == "commitfilelist":
        try:
            names = {e.get("name") for e in ET.fromstring(h.read_body()).findall("entry")}
        except ET.ParseError:
            return  # the backend answers malformed lists itself
        if "_service" in names:
            raise ApiError(400, "service_unavailable", NO_SERVICE_SERVER)


def _sources_changed(h: Request, project: str, package: str | None) -> None:
    """New sources for the host's rpm builds (the backend schedules its own)."""
    host = h.server.host_rpm
    if host is None:
        return
    if package is not None:
        host.schedule(project, package)
        return
    for name in host.packages(project):
        host.schedule(project, name)


_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _package_lock(project: str, package: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault((project, package), threading.Lock())


def _put_project_meta(h: Request, project: str) -> Answer:
    body = h.read_body()
    root = h.parse_xml(body, "project")
    if root.get("name") != project:
        raise ApiError(400, "project_name_mismatch",
                       f"project name in XML ({root.get('name')}) does not match the URL ({project})")
    _require_write(h, project)
    if root.find("person[@role='maintainer']") is None and _backend(h).xml(f"/source/{project}/_meta") is None:
        # OBS makes the creator of a project its maintainer.
        person = ET.Element("person", userid=h.user, role="maintainer")
        position = 2 if root.find("description") is not None else len(root)
        root.insert(min(position, len(root)), person)
        body = shapes.to_bytes(root)
    answer = _pass(h, "PUT", ["source", project, "_meta"], user=True, body=body)
    _sources_changed(h, project, None)  # a repository may have been added
    return answer


def _latest_srcmd5(h: Request, project: str, package: str, rev: str | None = None) -> str:
    """The srcmd5 of a package's sources (links expanded), at ``rev`` or the latest."""
    query = [("expand", "1")] + ([("rev", rev)] if rev else [])
    listing = _backend(h).xml(f"/source/{project}/{package}", query)
    if listing is None:
        raise ApiError(404, "unknown_package", f"Package not found: {project}/{package}")
    srcmd5 = listing.get("srcmd5", "")
    if not srcmd5:
        raise ApiError(400, "no_such_revision", f"{project}/{package} has no revision {rev or 'latest'}")
    return srcmd5


def _branch(h: Request, project: str, package: str, query: dict[str, str]) -> Answer:
    """OBS frontend's branch: a branch project building against the source's repositories, and a _link."""
    backend = _backend(h)
    source_meta = backend.xml(f"/source/{project}/_meta")
    if source_meta is None:
        raise ApiError(404, "unknown_project", f"Project not found: {project}")
    package_meta = backend.xml(f"/source/{project}/{package}/_meta")
    if package_meta is None:
        raise ApiError(404, "unknown_package", f"Package not found: {project}/{package}")
    target_project = query.get("target_project") or f"home:{h.user}:branches:{project}"
    target_package = query.get("target_package") or package
    if not valid_project(target_project) or not valid_package(target_package):
        raise ApiError(400, "invalid_project_name", f"invalid branch target {target_project}/{target_package}")
    if backend.xml(f"/source/{target_project}/{target_package}/_meta") is not None:
        raise ApiError(400, "double_branch_package",
                       f"branch target package already exists: {target_project}/{target_package}")
    _require_write(h, target_project, target_package)
    comment = f"branched from {project}/{package}"
    if backend.xml(f"/source/{target_project}/_meta") is None:
        _write(h, f"/source/{target_project}/_meta",
               shapes.branch_project_meta(target_project, project, package, h.user, source_meta), comment)
    new_meta = ET.Element("package", name=target_package, project=target_project)
    for tag in ("title", "description"):
        ET.SubElement(new_meta, tag).text = package_meta.findtext(tag) or ""
    _write(h, f"/source/{target_project}/{target_package}/_meta", shapes.to_bytes(new_meta), comment)
    # The backend's branch command commits the _link (with the base revision)
    # into the package named by the URL.
    status, data, _ = backend.call("POST", f"/source/{target_project}/{target_package}",
                                   [("cmd", "branch"), ("oproject", project), ("opackage", package),
                                    ("user", h.user), ("comment", comment)])
    if status != 200:
        raise _backend_error(status, data)
    _sources_changed(h, target_project, target_package)
    return 200, shapes.status(data={"targetproject": target_project, "targetpackage": target_package,
                                    "sourceproject": project, "sourcepackage": package}), XML


def _write(h: Request, path: str, body: bytes, comment: str) -> None:
    status, data, _ = _backend(h).call("PUT", path, [("user", h.user), ("comment", comment)], body, XML)
    if status != 200:
        raise _backend_error(status, data)


# -- requests -------------------------------------------------------------------
def _diff(h: Request, f: dict[str, str]) -> bytes:
    status, data, _ = _backend(h).call("POST", f"/source/{f['sproject']}/{f['spackage']}", [
        ("cmd", "diff"), ("rev", f["srev"]), ("oproject", f["tproject"]), ("opackage", f["tpackage"]),
        ("expand", "1"), ("missingok", "1")])
    if status != 200:
        raise _backend_error(status, data)
    return data


def _pin(h: Request, source: ET.Element | None, target: ET.Element) -> None:
    """Check an action against the backend; pin a submit's source to the srcmd5 of the sources (links expanded)."""
    if source is None:  # a delete request: the target must exist
        tproject, tpackage = target.get("project", ""), target.get("package", "")
        _check_names([tproject, tpackage] if tpackage else [tproject])
        if tpackage and _backend(h).xml(f"/source/{tproject}/{tpackage}/_meta") is None:
            raise ApiError(404, "unknown_package", f"Package not found: {tproject}/{tpackage}")
        if not tpackage:
            raise ApiError(400, "unsupported_action", "delete requests for a whole project are not supported here")
        return
    sproject, spackage = source.get("project", ""), source.get("package", "")
    tproject = target.get("project", "")
    _check_names([sproject, spackage])
    _check_names([tproject, target.get("package") or spackage])
    if _backend(h).xml(f"/source/{tproject}/_meta") is None:
        raise ApiError(404, "unknown_project", f"Project not found: {tproject}")
    if not target.get("package"):
        target.set("package", spackage)
    rev = source.get("rev")
    source.set("rev", _latest_srcmd5(h, sproject, spackage, None if not rev or rev == "latest" else rev))


def _changestate(h: Request, req: RequestRecord, query: dict[str, str]) -> Answer:
    new = request_routes.new_state(req, query, reopen=True)
    fields = request_routes.action_fields(req)
    if new in ("accepted", "declined"):
        # The target's maintainers decide.
        for f in fields:
            _require_write(h, f["tproject"], f["tpackage"])
    elif (new in ("revoked", "superseded", "new") and h.user not in (req["creator"], ADMIN)
          and (new != "new" or not all(may_write(h, f["tproject"], f["tpackage"]) for f in fields))):
        # The creator withdraws, replaces or reopens a request; a reopen is
        # also the target maintainers' (they declined it).
        raise ApiError(403, "post_request_no_permission", f"{h.user} may not make request {req['id']} {new}")
    if new == "accepted":
        backend = _backend(h)
        for f in fields:
            if f["type"] == "delete":
                status, data, _ = backend.call("DELETE", f"/source/{f['tproject']}/{f['tpackage']}", [
                    ("user", h.user), ("comment", req.get("description", "")), ("requestid", str(req["id"]))])
                if status != 200:
                    raise _backend_error(status, data)
                continue
            if backend.xml(f"/source/{f['tproject']}/{f['tpackage']}/_meta") is None:
                meta = backend.xml(f"/source/{f['sproject']}/{f['spackage']}/_meta")
                new_meta = ET.Element("package", name=f["tpackage"], project=f["tproject"])
                for tag in ("title", "description"):
                    ET.SubElement(new_meta, tag).text = (meta.findtext(tag) if meta is not None else "") or ""
                _write(h, f"/source/{f['tproject']}/{f['tpackage']}/_meta", shapes.to_bytes(new_meta),
                       f"created by request {req['id']}")
            status, data, _ = backend.call("POST", f"/source/{f['tproject']}/{f['tpackage']}", [
                ("cmd", "copy"), ("oproject", f["sproject"]), ("opackage", f["spackage"]), ("orev", f["srev"]),
                ("expand", "1"), ("withacceptinfo", "1"), ("requestid", str(req["id"])), ("user", h.user),
                ("comment", req.get("description", ""))])
            if status != 200:
                raise _backend_error(status, data)
            _sources_changed(h, f["tproject"], f["tpackage"])
    return request_routes.record_state(h, req, new, query)


SOURCES = request_routes.Sources(_pin, _diff, _changestate)
