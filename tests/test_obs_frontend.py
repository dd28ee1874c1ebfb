"""The frontend's guard: credentials before bodies, size and framing limits, idle connections, logins."""

from __future__ import annotations

import base64
import http.client
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from releasetool.cli import main
from releasetool.obs.service.server import ObsService, make_service, start_in_thread
from releasetool.obs.service.users import User, hash_password, load_users

PASSWORD = "frontend-Pa55"
AUTH = "Basic " + base64.b64encode(f"Admin:{PASSWORD}".encode()).decode()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ObsService]:
    svc = make_service(tmp_path / "state", {"Admin": PASSWORD}, max_body=4096, idle_seconds=1.0)
    start_in_thread(svc)
    yield svc
    svc.shutdown()
    svc.server_close()


def connect(svc: ObsService) -> socket.socket:
    host, port = svc.server_address[:2]
    return socket.create_connection((str(host), port), timeout=10)


def read_answer(sock: socket.socket) -> tuple[bytes, bool]:
    """Everything the service sends until it closes the connection (or 10 s pass), and whether it closed."""
    data = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return data, False
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def test_unauthenticated_large_body_is_refused_unread(service: ObsService) -> None:
    sock = connect(service)
    # 220 MiB announced, 1 KiB sent: the answer cannot wait for the rest.
    sock.sendall(b"PUT /source/p/k/big HTTP/1.1\r\nHost: x\r\nContent-Length: 230686720\r\n\r\n" + b"x" * 1024)
    data, closed = read_answer(sock)
    assert data.startswith(b"HTTP/1.1 401 ")
    assert b'WWW-Authenticate: basic realm="API login"' in data
    assert closed
    assert service.store.projects() == []


def test_small_unauthenticated_body_is_drained_and_the_connection_kept(service: ObsService) -> None:
    host, port = service.server_address[:2]
    conn = http.client.HTTPConnection(str(host), port, timeout=10)
    conn.request("PUT", "/source/p/_meta", body=b"<project name='p'/>")
    first = conn.getresponse()
    first.read()
    assert first.status == 401
    conn.request("GET", "/about", headers={"Authorization": AUTH})
    second = conn.getresponse()
    assert second.status == 200
    assert b"<about>" in second.read()


@pytest.mark.parametrize(("header", "code"), [
    (b"Content-Length: -1", b"400"),
    (b"Content-Length: 1e9", b"400"),
    (b"Content-Length: 5\r\nContent-Length: 6", b"400"),
    (b"Transfer-Encoding: chunked", b"411"),
])
def test_malformed_framing_is_answered_and_closed(service: ObsService, header: bytes, code: bytes) -> None:
    sock = connect(service)
    sock.sendall(b"PUT /source/p/_meta HTTP/1.1\r\nHost: x\r\nAuthorization: " + AUTH.encode() + b"\r\n"
                 + header + b"\r\n\r\n")
    data, closed = read_answer(sock)
    assert data.startswith(b"HTTP/1.1 " + code + b" ")
    assert closed


def test_body_over_the_limit_is_413_without_reading_it(service: ObsService) -> None:
    sock = connect(service)
    sock.sendall(b"PUT /source/p/k/f HTTP/1.1\r\nHost: x\r\nAuthorization: " + AUTH.encode() + b"\r\n"
                 b"Content-Length: 5000\r\n\r\n")
    data, closed = read_answer(sock)
    assert data.startswith(b"HTTP/1.1 413 ")
    assert b"over the limit of 4096" in data
    assert closed


def test_idle_and_stalled_connections_are_closed(service: ObsService) -> None:
    idle = connect(service)
    started = time.monotonic()
    data, closed = read_answer(idle)
    assert (data, closed) == (b"", True)
    stalled = connect(service)
    stalled.sendall(b"PUT /source/p/_meta HTTP/1.1\r\nHost: x\r\nAuthorization: " + AUTH.encode() + b"\r\n"
                    b"Content-Length: 100\r\n\r\n<project")
    data, closed = read_answer(stalled)
    assert closed
    assert not data.startswith(b"HTTP/1.1 200")
    assert time.monotonic() - started < 10  # within the 1 s idle limit of this service, not held forever


def test_failed_logins_are_slowed_and_a_success_resets(service: ObsService) -> None:
    host, port = service.server_address[:2]
    bad = "Basic " + base64.b64encode(b"Admin:guess").decode()
    waits = []
    for _ in range(3):
        conn = http.client.HTTPConnection(str(host), port, timeout=30)
        started = time.monotonic()
        conn.request("GET", "/about", headers={"Authorization": bad})
        answer = conn.getresponse()
        answer.read()
        waits.append(time.monotonic() - started)
        assert answer.status == 401
    assert service.login_failures["127.0.0.1"] == 3
    assert waits[2] >= 1.0  # 0.25 s, 0.5 s, 1 s: each failure waits twice as long
    conn = http.client.HTTPConnection(str(host), port, timeout=30)
    conn.request("GET", "/about", headers={"Authorization": AUTH})
    assert conn.getresponse().status == 200
    assert "127.0.0.1" not in service.login_failures


def about_with_cookie(root: Path, users: dict[str, str], cookie: str) -> int:
    """The status of GET /about with ``cookie`` from a service started on ``root`` with ``users``."""
    svc = make_service(root, users)
    start_in_thread(svc)
    try:
        conn = http.client.HTTPConnection(str(svc.server_address[0]), svc.server_address[1], timeout=10)
        conn.request("GET", "/about", headers={"Cookie": cookie})
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        svc.shutdown()
        svc.server_close()


def test_a_changed_password_ends_the_sessions(tmp_path: Path) -> None:
    root = tmp_path / "state"
    first = make_service(root, {"Admin": PASSWORD})
    start_in_thread(first)
    host, port = first.server_address[:2]
    conn = http.client.HTTPConnection(str(host), port, timeout=10)
    conn.request("GET", "/about", headers={"Authorization": AUTH})
    answer = conn.getresponse()
    answer.read()
    cookie = (answer.getheader("Set-Cookie") or "").split(";")[0]
    assert cookie.startswith("openSUSE_session=")
    first.shutdown()
    first.server_close()
    # the same password: the session survives a restart
    assert about_with_cookie(root, {"Admin": PASSWORD}, cookie) == 200
    assert about_with_cookie(root, {"Admin": "another-password"}, cookie) == 401
    assert about_with_cookie(root, {"Admin": PASSWORD}, "openSUSE_session=forged") == 401


def test_users_file_with_hashed_and_plain_passwords(tmp_path: Path) -> None:
    hashed = hash_password("hashed-pw", iterations=1000)
    users_file = tmp_path / "users"
    users_file.write_text(f"# users\n\nAdmin:{hashed}\nother:plain-pw\n")
    users = load_users(users_file)
    assert users["Admin"].check("hashed-pw")
    assert not users["Admin"].check("plain-pw")
    assert users["other"].check("plain-pw")
    assert not users["other"].check("plain-pw ")
    assert "hashed-pw" not in users_file.read_text()
    assert User("a", "x").fingerprint != User("a", "y").fingerprint


@pytest.mark.parametrize(("text", "message"), [
    ("", "the users file lists no user"),
    ("Admin:a\nAdmin:b\n", ":2: user Admin is listed twice"),
    ("bad name:pw\n", ":1: 'bad name' is not a valid login"),
    ("Admin:pbkdf2-sha256$1$zz$00\n", ":1: the pbkdf2-sha256 hash of Admin is malformed"),
])
def test_bad_users_files_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                                             message: str) -> None:
    users_file = tmp_path / "users"
    users_file.write_text(text)
    assert main(["obs", "serve", "--port", "0", "--root", str(tmp_path / "s"), "--users-file", str(users_file)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err.splitlines()[0]
    assert "Traceback" not in err


def test_hash_password_reads_stdin_and_never_echoes_it() -> None:
    done = subprocess.run([sys.executable, "-m", "releasetool", "obs", "hash-password"], input="s3cret\n",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    line = done.stdout.strip()
    assert line.startswith("pbkdf2-sha256$") and "s3cret" not in done.stdout + done.stderr
    assert User("Admin", line).check("s3cret")


def test_parallel_single_file_puts_lose_no_file(service: ObsService) -> None:
    from concurrent.futures import ThreadPoolExecutor

    host, port = service.server_address[:2]

    def call(method: str, path: str, body: bytes) -> int:
        conn = http.client.HTTPConnection(str(host), port, timeout=60)
        conn.request(method, path, body=body, headers={"Authorization": AUTH})
        answer = conn.getresponse()
        answer.read()
        return answer.status

    assert call("PUT", "/source/home:Admin:p/_meta", b"<project name='home:Admin:p'><title/><description/></project>") == 200
    assert call("PUT", "/source/home:Admin:p/k/_meta", b"<package name='k'><title/><description/></package>") == 200
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda n: call("PUT", f"/source/home:Admin:p/k/f{n:02d}", b"x%d" % n), range(20)))
    assert statuses == [200] * 20
    latest = service.store.latest("home:Admin:p", "k")
    assert latest is not None and sorted(latest.files) == [f"f{n:02d}" for n in range(20)]
    assert latest.rev == 20


@pytest.mark.parametrize(("repository", "arch"), [("../../../../x", "x86_64"), ("Debian_12", "../../x"),
                                                  (".hidden", "x86_64"), ("a/b", "x86_64")])
def test_repository_names_that_would_become_paths_are_refused(service: ObsService, tmp_path: Path,
                                                              repository: str, arch: str) -> None:
    host, port = service.server_address[:2]
    meta = (f"<project name='home:Admin:esc'><title/><description/><repository name='{repository}'>"
            f"<arch>{arch}</arch></repository></project>").encode()
    conn = http.client.HTTPConnection(str(host), port, timeout=10)
    conn.request("PUT", "/source/home:Admin:esc/_meta", body=meta, headers={"Authorization": AUTH})
    answer = conn.getresponse()
    body = answer.read()
    assert answer.status == 400
    assert b"illegal" in body
    assert not service.store.project_exists("home:Admin:esc")


@pytest.mark.parametrize(("extra", "message"), [
    (["--debian-base", "--stand-in"], "error: --debian-base needs the OBS backend"),
    (["--backend", "--stand-in"], "error: --stand-in and --backend exclude each other"),
    (["--backend", "--build"], "error: --build and --backend exclude each other"),
    (["--max-body", "0"], "error: --max-body must be at least 1 MiB (got 0)"),
])
def test_serve_option_conflicts_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    extra: list[str], message: str) -> None:
    users_file = tmp_path / "users"
    users_file.write_text("Admin:pw\n")
    argv = ["obs", "serve", "--port", "0", "--root", str(tmp_path / "s"), "--users-file", str(users_file), *extra]
    assert main(argv) == 2
    assert capsys.readouterr().err.splitlines()[0].startswith(message)
    assert not (tmp_path / "s").exists()


def test_the_backend_refuses_to_start_without_root(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    users_file = tmp_path / "users"
    users_file.write_text("Admin:pw\n")
    argv = ["obs", "serve", "--port", "0", "--root", str(tmp_path / "s"), "--users-file", str(users_file),
            "--backend"]
    assert main(argv) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "error: the OBS backend needs root: its worker builds in a chroot it mounts"
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(("text", "extra", "message"), [
    ("libxml2-dev\n", [], "error: --base-packages needs --debian-base"),
    ("# build dependencies\nlibxml2-dev\n\nLibFoo\n", ["--debian-base"],
     ":4: 'LibFoo' is not a Debian package name"),
    ("pkgconf # a comment\nx\n", ["--debian-base"], ":2: 'x' is not a Debian package name"),
])
def test_a_bad_base_package_list_is_a_one_line_error_before_anything_starts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, extra: list[str], message: str) -> None:
    users_file = tmp_path / "users"
    users_file.write_text("Admin:pw\n")
    names = tmp_path / "base-packages"
    names.write_text(text)
    argv = ["obs", "serve", "--port", "0", "--root", str(tmp_path / "s"), "--users-file", str(users_file),
            "--base-packages", str(names), *extra]
    assert main(argv) == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("error: ") and message in first
    assert not (tmp_path / "s").exists()


def test_read_package_list_keeps_names_in_order(tmp_path: Path) -> None:
    from releasetool.obs.service.debian_base import read_package_list

    path = tmp_path / "base-packages"
    path.write_text("# comment\npkgconf\n  libxml2-dev  # headers\n\ndh-sequence-python3\n")
    assert read_package_list(str(path)) == ["pkgconf", "libxml2-dev", "dh-sequence-python3"]


def test_relation_names_drop_versions_architectures_and_profiles() -> None:
    from releasetool.obs.service.debian_base import _relation_names

    field = ("debhelper-compat (= 13), libsystemd-dev [linux-any], python3:any, check <!nocheck>,\n "
             "libfoo-dev (>= 1.2) | libbar-dev, ")
    assert _relation_names(field) == [["debhelper-compat"], ["libsystemd-dev"], ["python3"], ["check"],
                                      ["libfoo-dev", "libbar-dev"]]


def test_the_base_gets_the_manifests_build_dependencies_but_not_its_own_packages() -> None:
    from releasetool import manifest
    from releasetool.obs.service.debian_base import manifest_build_dependencies

    loaded = manifest.load(Path(__file__).resolve().parent.parent / "components.yaml")
    needed = manifest_build_dependencies(loaded)
    # every component's build_requires.deb that no component builds, and what the packaging adds
    assert {"libxml2-dev", "libglib2.0-dev", "docbook-xsl", "docbook-xml", "pkgconf", "debhelper-compat",
            "dh-sequence-python3"} <= set(needed)
    active = [c for c in loaded.components.values() if c.active]
    own = {c.packaging.deb_name or c.name for c in active} | \
        {s.deb_name or s.name for c in active for s in c.packaging.subpackages}
    assert {"libqb-dev", "libknet-dev", "libcfg-dev", "pacemaker-dev", "cluster-glue-dev", "booth", "sbd"} <= own
    assert not own & set(needed)
    on_debian_12 = [c for c in active if "Debian_12" in c.targets]
    every = {n.split(" (")[0] for c in on_debian_12 for n in c.packaging.build_requires.deb}  # names, without versions
    assert every - own <= set(needed)
    # pcs (0.12: Python 3.12) is not built for Debian 12: its Debian 13 names stay out of this base
    assert "Debian_12" not in loaded.get("pcs").targets
    assert "systemd-dev" in loaded.get("pcs").packaging.build_requires.deb and "systemd-dev" not in needed
    assert needed == sorted(set(needed))
    # booth build-depends on the manifest's resource-agents, whose run-time dependencies come from the base
    resource_agents = set(loaded.get("resource-agents").packaging.requires.deb)
    assert {"gawk", "iproute2", "psmisc"} <= resource_agents
    assert resource_agents - own <= set(needed)


def test_base_build_deps_needs_the_debian_base(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    users_file = tmp_path / "users"
    users_file.write_text("Admin:pw\n")
    argv = ["obs", "serve", "--port", "0", "--root", str(tmp_path / "s"), "--users-file", str(users_file),
            "--base-build-deps"]
    assert main(argv) == 2
    assert capsys.readouterr().err.splitlines()[0] == \
        "error: --base-build-deps needs --debian-base: the packages are added to that base"
    assert not (tmp_path / "s").exists()


def test_the_backend_is_the_default_and_the_stand_in_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    users_file = tmp_path / "users"
    users_file.write_text("Admin:pw\n")
    argv = ["obs", "serve", "--port", "0", "--root", str(tmp_path / "s"), "--users-file", str(users_file)]
    assert main(argv) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "error: the OBS backend needs root: its worker builds in a chroot it mounts"
    assert "or run the stand-in, which is not OBS: obs serve --stand-in" in err[1]
    assert not (tmp_path / "s").exists()
