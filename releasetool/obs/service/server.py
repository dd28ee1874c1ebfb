"""A local service speaking the subset of the OBS API that osc and releasetool use.

Standard library only (http.server, xml.etree), so it starts fast.  State lives
on disk (see :mod:`releasetool.obs.service.store`); builds are made by
:mod:`releasetool.obs.service.builder` when started with ``build=True``; faults are
injected from a plan (:mod:`releasetool.obs.service.faults`).  ``docs/obs-service.md``
lists what is covered.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import struct
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from releasetool.errors import ApiError
from releasetool.log import log
from releasetool.obs.service import build_routes, frontend_routes, request_routes, source_routes
from releasetool.obs.service import xmlshapes as shapes
from releasetool.obs.service.faults import Faults
from releasetool.obs.service.store import (
    BuildResult,
    Store,
    repositories,
    valid_file,
    valid_package,
    valid_project,
)
from releasetool.obs.service.users import User

if TYPE_CHECKING:
    from releasetool.obs.service.backend import Backend as OBSBackend
    from releasetool.obs.service.builder import Builder
    from releasetool.obs.service.host_rpm import HostRpmBuilder

COOKIE = "openSUSE_session"
SESSION_SECONDS = 86400
MAX_SESSIONS = 1000
# The largest request body accepted (a source tarball of the cluster stack is
# a few MiB); a larger one is answered 413 without being read.
MAX_BODY_BYTES = 256 * 1024 * 1024
# A request refused for its credentials has its body drained (so that the
# client's keep-alive connection stays usable and osc can send it again with
# credentials) only up to this size; beyond it the connection is closed unread.
UNAUTHENTICATED_DRAIN_BYTES = 64 * 1024
# A connection that sends nothing (or stalls inside a request) this long is closed.
IDLE_SECONDS = 60.0
# Failed logins from one address wait this long, doubled at each failure, up to the cap.
LOGIN_DELAY_SECONDS, LOGIN_DELAY_CAP = 0.25, 8.0


class ObsService(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # connections waiting to be accepted (socketserver's default is 5)

    def __init__(self, address: tuple[str, int], root: Path, users: Mapping[str, str | User], *,
                 build: bool = False, faults: Faults | None = None, max_body: int = MAX_BODY_BYTES,
                 idle_seconds: float = IDLE_SECONDS, backend: str | None = None) -> None:
        super().__init__(address, Handler)
        self.store = Store(root)
        # With the URL of an OBS backend's source server, sources and builds are
        # the backend's and this service is its frontend (frontend_routes).
        self.backend = frontend_routes.Backend(backend) if backend else None
        # What bs_publish writes (``$bsdir/repos``), served read-only without
        # login under /repositories/, as OBS's download server serves it.
        self.published: Path | None = None
        # With a backend: rpm targets are built on this host (host_rpm); set once the backend is up.
        self.host_rpm: HostRpmBuilder | None = None
        self.users = {name: u if isinstance(u, User) else User(name, u) for name, u in users.items()}
        self.max_body = max_body
        self.idle_seconds = idle_seconds
        self.login_failures: dict[str, int] = {}
        # Session cookies survive a restart (state on disk, like the rest); only
        # a digest of each token is kept, never a password, with the fingerprint
        # of the user's secret then: a changed password ends older sessions.
        self.sessions_path = Path(root) / "sessions.json"
        self.sessions: dict[str, dict[str, str]] = _load_sessions(self.sessions_path, self.users)
        self.faults = faults or Faults()
        self.stats: Counter[str] = Counter()
        self.stats_lock = threading.Lock()
        self.builder: Builder | None = None
        if build:
            from releasetool.obs.service.builder import Builder

            self.builder = Builder(self.store)
            self.builder.start()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def new_session(self, user: str) -> str:
        token = secrets.token_hex(16)
        with self.stats_lock:
            self.sessions[_digest(token)] = {"user": user, "key": self.users[user].fingerprint}
            while len(self.sessions) > MAX_SESSIONS:  # the oldest logins go first
                del self.sessions[next(iter(self.sessions))]
            from releasetool.fsutil import atomic_write

            atomic_write(self.sessions_path, json.dumps(self.sessions), mode=0o600)
        return token

    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            # A client that drops its connection is not an error of the service.
            log.debug("obs serve: connection from %s closed abruptly", client_address)
        else:
            log.exception("obs serve: error serving %s", client_address)

    def count(self, key: str) -> None:
        with self.stats_lock:
            self.stats[key] += 1
            self.stats["total"] += 1

    def server_close(self) -> None:
        if self.builder is not None:
            self.builder.stop()
        if self.host_rpm is not None:
            self.host_rpm.stop()
        super().server_close()

    # -- called on commit ----------------------------------------------------
    def package_changed(self, project: str, package: str) -> None:
        """Schedule builds of the new revision in every repository/arch of the project."""
        rev = self.store.latest(project, package)
        if rev is None:
            return
        updates: dict[str, BuildResult] = {}
        for repo in repositories(self.store.project_meta(project)):
            for arch in repo.archs:
                if self.builder is None:
                    updates[f"{repo.name}/{arch}"] = BuildResult(
                        "disabled", "building is off in this service (start it with --build)", rev.srcmd5,
                        int(time.time()))
                else:
                    updates[f"{repo.name}/{arch}"] = BuildResult("scheduled", "", rev.srcmd5, int(time.time()))
        self.store.set_build_results(project, package, updates)
        if self.builder is not None:
            self.builder.schedule(project, package)


class Handler(BaseHTTPRequestHandler):
    server: ObsService
    _body: bytes | None = None  # the request body, once read
    _length: int | None = 0  # its declared length
    protocol_version = "HTTP/1.1"
    server_version = "releasetool-obs"
    sys_version = ""

    # -- plumbing ------------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        # Idle and stalled connections end: every read waits at most this long.
        self.connection.settimeout(self.server.idle_seconds)
        # Headers and body leave in two writes; without TCP_NODELAY the body
        # waits for the client's delayed ACK (about 40 ms a request).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("obs serve: %s", format % args)

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_PUT(self) -> None:
        self.dispatch("PUT")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    def read_body(self) -> bytes:
        """The request body; only called once the request is authenticated and its length checked."""
        if self._body is not None:
            return self._body
        length = self._length or 0
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            self.close_connection = True
            raise ConnectionResetError("the client closed the connection inside the body")
        self._body = body
        return body

    def body_length(self) -> int | None:
        """The declared body length, or None after answering a request whose framing is unusable.

        Only ``Content-Length`` framing is accepted (osc never sends chunked
        bodies); a missing length on a request with a body is 411, a length
        that is not a decimal number (``-1``, ``1e9``, two different values) 400.
        Such a connection is closed: its next bytes cannot be found.
        """
        values = self.headers.get_all("Content-Length") or []
        if self.headers.get("Transfer-Encoding"):
            self._refuse(411, "length_required", "chunked request bodies are not accepted: send Content-Length")
            return None
        if not values:
            return 0
        if len(set(values)) != 1 or not values[0].strip().isdigit():
            self._refuse(400, "bad_request", "Content-Length is not one decimal number")
            return None
        return int(values[0].strip())

    def _refuse(self, code: int, errorcode: str, summary: str, headers: dict[str, str] | None = None) -> None:
        """Answer without reading the body, and close the connection (its framing is lost)."""
        self.close_connection = True
        self.send(code, shapes.status(errorcode, summary),
                  headers={"X-Opensuse-Errorcode": errorcode, "Connection": "close", **(headers or {})})

    def send(self, code: int, body: bytes, content_type: str = "application/xml; charset=utf-8",
             headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        for name, value in self._extra_headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error_status(self, err: ApiError) -> None:
        self.send(err.http, shapes.status(err.code, err.summary), headers={"X-Opensuse-Errorcode": err.code})

    def reset_connection(self) -> None:
        """Close the socket with a TCP reset, as a dropped proxy connection looks to a client."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def dispatch(self, method: str) -> None:
        self._body = None
        self._extra_headers: dict[str, str] = {}
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.multi = parse_qs(parts.query, keep_blank_values=True)
        self.server.count(f"{method} {_kind(path, query)}")
        if method == "GET" and path.startswith("/repositories/") and self.server.published is not None:
            self.close_connection = self.close_connection or bool(self.headers.get("Content-Length"))
            self.serve_published(path[len("/repositories/"):])
            return
        try:
            self._length = self.body_length()
            if self._length is None:
                return
            # Credentials first: nobody makes the service read (or hold) a body
            # without logging in.
            user = self.authenticate()
            if user is None:
                return
            if self._length > self.server.max_body:
                self._refuse(413, "request_too_large",
                             f"request body of {self._length} bytes is over the limit of {self.server.max_body}")
                return
            # Always consume the body: a keep-alive connection would otherwise
            # read its bytes as the next request line.
            self.read_body()
        except (TimeoutError, ConnectionError):
            self.close_connection = True
            return
        effects = self.server.faults.effects_for(method, path, query)
        for rule in effects:
            if rule.effect == "delay":
                time.sleep(rule.seconds)
        self.dirty = any(r.effect == "dirty" for r in effects)
        before = next((r for r in effects if r.effect in ("error", "reset")), None)
        after = next((r for r in effects if r.effect in ("error-after", "reset-after")), None)
        try:
            self.user = user
            if before is not None:
                self.read_body()
                if before.effect == "reset":
                    self.reset_connection()
                    return
                raise ApiError(before.status, "fault_injected", f"injected fault: HTTP {before.status}")
            code, body, ctype = self.route(method, path, query)
            if after is not None:
                if after.effect == "reset-after":
                    self.reset_connection()
                    return
                raise ApiError(after.status, "fault_injected", f"injected fault: HTTP {after.status}")
            self.send(code, body, ctype)
        except ApiError as err:
            self.read_body()
            self.send_error_status(err)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
        except Exception as exc:  # an answer, not a dropped connection, for any bug
            log.exception("obs serve: internal error on %s %s", method, path)
            self.send_error_status(ApiError(500, "internal_error", f"{type(exc).__name__}"))

    def serve_published(self, relative: str) -> None:
        """A file (or a directory's listing) of the published repositories.

        The layout is bs_publish's, which is the download server's: a project
        name's ``:`` is followed by ``/`` (``home:/Admin:/dist/Debian_12/``).
        Only paths inside the published directory are served: no ``..``, no
        symbolic link leading out.
        """
        import html
        import shutil

        base = self.server.published
        assert base is not None
        # Flat Debian repositories name their files "./all/x.deb": "." is dropped.
        parts = [p for p in relative.split("/") if p and p != "."]
        if any(p == ".." or "\x00" in p for p in parts):
            self.send(400, shapes.status("invalid_path", "invalid path"))
            return
        target = base.joinpath(*parts)
        try:
            resolved = target.resolve(strict=True)
            inside = resolved == base.resolve() or resolved.is_relative_to(base.resolve())
        except (FileNotFoundError, RuntimeError, OSError):
            inside = False
        if not inside:
            self.send(404, shapes.status("not_found", f"/repositories/{relative}: not published"))
            return
        if resolved.is_dir():
            if not relative.endswith("/") and relative:
                self.send(301, b"", headers={"Location": f"/repositories/{relative}/"})
                return
            names = sorted(e.name + ("/" if e.is_dir() else "") for e in resolved.iterdir())
            body = "".join(f'<a href="{html.escape(n)}">{html.escape(n)}</a>\n' for n in names)
            self.send(200, f"<html><body><pre>\n{body}</pre></body></html>\n".encode(), "text/html; charset=utf-8")
            return
        size = resolved.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        with open(resolved, "rb") as data:
            shutil.copyfileobj(data, self.wfile, 1024 * 1024)

    def authenticate(self) -> str | None:
        """The user of this request, or None after answering 401 (osc then retries with basic auth).

        Runs before the body is read.  A refused request's body is drained when
        it is small (osc's retry then reuses the connection) and left unread,
        with the connection closed, when it is larger.
        """
        server = self.server
        cookies = self.headers.get("Cookie", "")
        for item in cookies.split(";"):
            name, _, value = item.strip().partition("=")
            session = server.sessions.get(_digest(value)) if name == COOKIE else None
            if session is not None:
                known = server.users.get(session["user"])
                if known is not None and known.fingerprint == session["key"]:
                    return known.name
        auth = self.headers.get("Authorization", "")
        client = self.client_address[0]
        if auth.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                user, password = "", ""
            expected = server.users.get(user)
            if expected is not None and expected.check(password):
                with server.stats_lock:
                    server.login_failures.pop(client, None)
                token = server.new_session(user)
                self._extra_headers["Set-Cookie"] = f"{COOKIE}={token}; Max-Age={SESSION_SECONDS}; path=/; HttpOnly"
                return user
            # Password guessing is slowed: each failure from this address waits
            # twice as long as the one before (up to the cap).
            with server.stats_lock:
                failures = server.login_failures[client] = server.login_failures.get(client, 0) + 1
            time.sleep(min(LOGIN_DELAY_SECONDS * 2 ** (failures - 1), LOGIN_DELAY_CAP))
        length = self._length or 0
        if length > UNAUTHENTICATED_DRAIN_BYTES:
            self._refuse(401, "authentication_required", "Authentication required",
                         headers={"WWW-Authenticate": 'basic realm="API login"'})
            return None
        self.read_body()
        self.send(401, shapes.status("authentication_required", "Authentication required"),
                  headers={"WWW-Authenticate": 'basic realm="API login"',
                           "X-Opensuse-Errorcode": "authentication_required"})
        return None

    # -- routing -------------------------------------------------------------
    def route(self, method: str, path: str, query: dict[str, str]) -> tuple[int, bytes, str]:
        segs = [s for s in path.split("/") if s]
        xml = "application/xml; charset=utf-8"
        if segs == ["about"] and method == "GET":
            root = ET.Element("about")
            ET.SubElement(root, "title").text = "Open Build Service API"
            ET.SubElement(root, "description").text = "local OBS-compatible service of releasetool"
            ET.SubElement(root, "revision").text = "2.10"
            return 200, shapes.to_bytes(root), xml
        if len(segs) == 2 and segs[0] == "person" and method == "GET":
            if segs[1] not in self.server.users:
                raise ApiError(404, "not_found", f"Couldn't find User with login = {segs[1]}")
            root = ET.Element("person")
            ET.SubElement(root, "login").text = segs[1]
            ET.SubElement(root, "email").text = f"{segs[1]}@localhost"
            ET.SubElement(root, "realname").text = segs[1]
            ET.SubElement(root, "state").text = "confirmed"
            return 200, shapes.to_bytes(root), xml
        if self.server.backend is not None and segs and segs[0] in ("source", "build", "request", "search"):
            return frontend_routes.route(self, method, segs, query)
        if segs and segs[0] == "source":
            return source_routes.route(self, method, segs[1:], query)
        if segs and segs[0] == "build":
            return build_routes.route(self, method, segs[1:], query)
        if len(segs) == 3 and segs[0] == "comments" and method == "GET":
            # Comments are not kept: every object has none.
            return 200, shapes.to_bytes(ET.Element("comments", {segs[1]: segs[2]})), xml
        if segs == ["search", "request"] and method == "GET":
            return request_routes.search(self, query)
        if len(segs) == 2 and segs[0] == "search" and method == "GET":
            # Package and project searches (devel projects, maintainers): nothing is found.
            return 200, shapes.to_bytes(ET.Element("collection", matches="0")), xml
        if segs and segs[0] == "request":
            return request_routes.route(self, method, segs[1:], query)
        raise ApiError(404, "not_found", f"no such route: {method} {path}")

    def check_project(self, project: str) -> None:
        if not valid_project(project) or not self.server.store.project_exists(project):
            raise ApiError(404, "unknown_project", f"Project not found: {project}")

    def check_package(self, project: str, package: str) -> None:
        self.check_project(project)
        if not valid_package(package) or not self.server.store.package_exists(project, package):
            raise ApiError(404, "unknown_package", f"Package not found: {project}/{package}")

    def check_file_name(self, name: str) -> None:
        if not valid_file(name):
            raise ApiError(400, "invalid_file_name_error", f"Filename '{name}' is illegal")

    def parse_xml(self, data: bytes, tag: str) -> ET.Element:
        try:
            root = ET.fromstring(data)
        except ET.ParseError as exc:
            raise ApiError(400, "validation_failed", f"XML is not well-formed: {exc}") from None
        if root.tag != tag:
            raise ApiError(400, "validation_failed", f"expected a <{tag}> document, got <{root.tag}>")
        return root


def _kind(path: str, query: dict[str, str]) -> str:
    """A coarse request class for the statistics (path shape plus cmd)."""
    segs = [s for s in path.split("/") if s]
    shape = "/".join(segs[:1] + ["*"] * (len(segs) - 1))
    if segs and segs[-1] in ("_meta", "_history", "_result", "_log", "_jobhistory"):
        shape = "/".join(segs[:1] + ["*"] * (len(segs) - 2) + [segs[-1]])
    cmd = query.get("cmd")
    return f"/{shape}" + (f"?cmd={cmd}" if cmd else "") + ("?rev=repository" if query.get("rev") == "repository" else "")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _load_sessions(path: Path, users: dict[str, User]) -> dict[str, dict[str, str]]:
    try:
        saved = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    if not isinstance(saved, dict):
        return {}
    # Sessions of users no longer configured, or made under another password, are dropped.
    return {token: s for token, s in saved.items()
            if isinstance(s, dict) and s.get("user") in users and users[s["user"]].fingerprint == s.get("key")}


def make_service(root: str | Path, users: Mapping[str, str | User], *, host: str = "127.0.0.1", port: int = 0,
                 build: bool = False, faults: Faults | None = None, max_body: int = MAX_BODY_BYTES,
                 idle_seconds: float = IDLE_SECONDS, backend: str | None = None) -> ObsService:
    """A bound, not yet serving service (call ``serve_forever`` or :func:`start_in_thread`).

    ``users`` maps a login to its password or to a :class:`User` (from a users file).
    ``backend`` is the source server URL of an OBS backend to front
    (:mod:`releasetool.obs.service.backend` starts one).
    """
    return ObsService((host, port), Path(root), users, build=build, faults=faults, max_body=max_body,
                      idle_seconds=idle_seconds, backend=backend)


def front_backend(service: ObsService, backend: OBSBackend, *, debian_base: bool = False,
                  base_cache: Path | None = None, base_packages: list[str] | tuple[str, ...] = ()) -> None:
    """Start ``backend`` (the OBS daemons) and make ``service`` its frontend.

    Sources and Debian builds are then the backend's; rpm targets are built on
    this host by :class:`~releasetool.obs.service.host_rpm.HostRpmBuilder`;
    what ``bs_publish`` writes is served under ``/repositories/``.  With
    ``debian_base`` the ``Debian:12`` base project is made (``base_packages``
    are added to it with their closure) before this returns.
    """
    from releasetool.obs.service.host_rpm import HostRpmBuilder

    backend.start()
    service.backend = frontend_routes.Backend(backend.srcserver)
    service.published = backend.bsdir / "repos"
    service.host_rpm = HostRpmBuilder(service.store, service.backend, backend.arch)
    service.host_rpm.start()
    if debian_base:
        from releasetool.obs.service import debian_base as base

        packages = base.download(base_cache or base.default_cache(), base_packages)
        base.import_base(backend.srcserver, backend.reposerver, packages, backend.arch)


def start_in_thread(service: ObsService) -> threading.Thread:
    thread = threading.Thread(target=service.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                              name="obs-serve")
    thread.start()
    return thread
