"""Hostile upstreams over real local sockets: a server that trickles, a server that nests JSON without end.

Each breaks one source, and that source alone fails with its own error; the
run ends within its deadline and writes the data of every other source.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from site_helpers import apache_listing, component, local_http, upstream_repo, write_manifest

__all__ = ["local_http"]

TRICKLE_EVERY = 0.25  # seconds between two bytes: well under any per-read timeout
DEEP = 200_000


class Trickler:
    """An HTTP server that answers one byte at a time, forever: in its headers or in its body."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.sent = 0
        self.connections = 0
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            if self.where == "headers":
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000000\r\n\r\n")
            while not self.stop.is_set():
                try:
                    conn.sendall(b"a")
                except OSError:
                    return
                self.sent += 1
                time.sleep(TRICKLE_EVERY)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture(params=["headers", "body"])
def trickler(request: pytest.FixtureRequest) -> Iterator[Trickler]:
    server = Trickler(request.param)
    yield server
    server.close()


def _manifest(tmp_path: Path, slow_listing: str, good_listing: str) -> Path:
    up = tmp_path / "up"
    return write_manifest(tmp_path / "components.yaml", [
        component("slowpoke", git=upstream_repo(up / "slowpoke", {"v1.0.0": True}).as_uri(),
                  tarball=slow_listing + "slowpoke-{version}.tar.xz"),
        component("gadget", git=upstream_repo(up / "gadget", {"v1.0.0": True, "v1.1.0": True}).as_uri(),
                  tarball=good_listing + "gadget-{version}.tar.xz"),
    ])


def _discover(manifest: Path, state: Path, *extra: str, env: dict[str, str] | None = None,
              ) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "releasetool", "--manifest", str(manifest), "site", "discover",
                           "--cache", str(state), *extra], capture_output=True, text=True, timeout=120,
                          env=env, check=False)
    return done, time.monotonic() - started


def test_a_trickling_server_is_cut_at_the_total_deadline(tmp_path: Path, trickler: Trickler,
                                                         local_http: HTTPServer) -> None:
    local_http.expect_request("/releases/").respond_with_data(
        apache_listing({"gadget-1.1.0.tar.xz": "2024-02-20 09:30"}), content_type="text/html")
    slow = trickler.url("/releases/")
    manifest = _manifest(tmp_path, slow, local_http.url_for("/releases/"))
    done, took = _discover(manifest, tmp_path / "state", "--timeout", "2")
    assert done.returncode == 0, done.stderr
    assert f"slowpoke: tarballs: timed out after 2 s: {slow}" in done.stderr
    # the server kept the connection alive with bytes well inside any per-read timeout
    # (the listing; the SHA-256 of a tarball there is one more read, with its own deadline)
    assert trickler.connections in (1, 2) and trickler.sent >= 4
    # ... and the run ended at the deadline, not when the server stops (it never does)
    assert took < 30, took
    data = json.loads((tmp_path / "state" / "site-data.json").read_text())
    assert data["components"]["slowpoke"]["errors"] == [f"tarballs: timed out after 2 s: {slow}"]
    assert data["components"]["gadget"]["errors"] == []
    assert data["components"]["gadget"]["latest_stable"]["version"] == "1.1.0"
    # the discover lock went with the run: the next one starts at once
    again, _ = _discover(manifest, tmp_path / "state", "--offline")
    assert again.returncode == 0, again.stderr


def test_deep_json_from_one_source_fails_that_source_alone(tmp_path: Path, local_http: HTTPServer) -> None:
    local_http.expect_request("/api/repos/acme/deep/releases").respond_with_data(
        "[" * DEEP + "]" * DEEP, content_type="application/json")
    local_http.expect_request("/releases/").respond_with_data(
        apache_listing({"gadget-1.1.0.tar.xz": "2024-02-20 09:30"}), content_type="text/html")
    up = tmp_path / "up"
    deep_repo = upstream_repo(up / "deep", {"v2.0.0": True})
    manifest = write_manifest(tmp_path / "components.yaml", [
        component("deep", git="https://github.com/acme/deep.git"),
        component("gadget", git=upstream_repo(up / "gadget", {"v1.1.0": True}).as_uri(),
                  tarball=local_http.url_for("/releases/") + "gadget-{version}.tar.xz"),
    ])
    env = dict(os.environ, RELEASETOOL_GITHUB_API=local_http.url_for("/api").rstrip("/"),
               GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0=f"url.{deep_repo.as_uri()}.insteadOf",
               GIT_CONFIG_VALUE_0="https://github.com/acme/deep.git")
    done, _ = _discover(manifest, tmp_path / "state", env=env)
    assert done.returncode == 0, done.stderr
    url = local_http.url_for("/api/repos/acme/deep/releases?per_page=100")
    message = f"malformed answer from {url}: JSON nested deeper than 64 levels"
    assert f"deep: github: {message}" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    data = json.loads((tmp_path / "state" / "site-data.json").read_text())
    assert data["components"]["deep"]["errors"] == [f"github: {message}"]
    # its git tags were read all the same
    assert data["components"]["deep"]["latest_stable"]["version"] == "2.0.0"
    assert data["components"]["gadget"]["errors"] == []


@pytest.mark.parametrize("depth", [65, 100_000])
def test_site_build_on_too_deep_data_is_a_clean_error(tmp_path: Path, depth: int, repo_root: Path) -> None:
    data = tmp_path / "site-data.json"
    data.write_text('{"schema": 1, "generated_at": "x", "components": {"a": ' + "[" * depth + "]" * depth + "}}")
    done = subprocess.run([sys.executable, "-m", "releasetool", "--manifest", str(repo_root / "components.yaml"),
                           "site", "build", "--data", str(data), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: {data}: cannot read site data: JSON nested deeper than 64 levels",
        "hint: delete it and run `releasetool site discover`",
    ]
    assert not (tmp_path / "out").exists()


def test_json_bound_keeps_the_shapes_we_write(tmp_path: Path) -> None:
    from releasetool.site.data import parse_json

    assert parse_json('{"a": [[{"b": 1}]]}', where="x") == {"a": [[{"b": 1}]]}
    assert parse_json("[" * 64 + "]" * 64, where="x") is not None
    with pytest.raises(Exception, match="nested deeper than 64"):
        parse_json("[" * 65 + "]" * 65, where="x")
