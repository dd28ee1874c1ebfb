"""Serving a built site on 127.0.0.1 (for a look before publishing, and for tests)."""

from __future__ import annotations

import functools
import io
import os
import stat
import threading
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO

from releasetool.errors import SiteError
from releasetool.log import log

HOST = "127.0.0.1"


# Files other sites' pages may read with fetch(): the data, the feeds and the badges.
SHARED_SUFFIXES = (".json", ".atom", ".svg")


class _Handler(SimpleHTTPRequestHandler):
    """Files of the site, with validators (``ETag``, ``Last-Modified``) and CORS on the data files.

    The base class answers ``If-Modified-Since``; this one adds an ``ETag``
    made of the file's size and modification time (a rebuilt file has a new
    one) and answers ``If-None-Match`` with ``304 Not Modified``.
    """

    extensions_map = {  # noqa: RUF012 - the base class declares it a plain dict
        **SimpleHTTPRequestHandler.extensions_map,
        ".atom": "application/atom+xml",
        ".json": "application/json",
        ".css": "text/css",
        ".html": "text/html; charset=utf-8",
        ".svg": "image/svg+xml",
        ".md": "text/markdown; charset=utf-8",
        ".asc": "application/pgp-signature",
    }
    _etag: str | None = None
    _shared = False

    def send_head(self) -> io.BytesIO | BinaryIO | None:
        path = self.translate_path(self.path)
        self._etag, self._shared = None, path.endswith(SHARED_SUFFIXES)
        try:
            info = os.stat(path)
        except OSError:
            return super().send_head()
        if stat.S_ISREG(info.st_mode):
            self._etag = f'"{info.st_size:x}-{info.st_mtime_ns:x}"'
            wanted = self.headers.get("If-None-Match")
            if wanted and (wanted.strip() == "*" or self._etag in [t.strip() for t in wanted.split(",")]):
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.end_headers()
                return None
        return super().send_head()

    def end_headers(self) -> None:
        if self._etag:
            self.send_header("ETag", self._etag)
        if self._shared:
            self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        log.debug("serve: %s %s", self.address_string(), format % args)


def make_server(directory: Path, port: int = 8000) -> ThreadingHTTPServer:
    """A server for ``directory`` bound to 127.0.0.1 (port 0 picks a free one)."""
    if not (directory / "index.html").is_file():
        raise SiteError(f"{directory}: no built site here (no index.html)",
                        hint="run `releasetool site build` first, or pass --dir")
    # The directory is looked up by name on every request, so a site swapped in
    # by `site build` while serving is picked up at once.
    handler = functools.partial(_Handler, directory=str(directory))
    try:
        return ThreadingHTTPServer((HOST, port), handler)
    except OSError as exc:
        raise SiteError(f"cannot listen on {HOST}:{port}: {exc.strerror}",
                        hint="choose another port with --port") from None


def serve_in_thread(directory: Path, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start serving in a daemon thread; returns the server and its base URL."""
    server = make_server(directory, port)
    thread = threading.Thread(target=server.serve_forever, name="site-serve", daemon=True)
    thread.start()
    return server, f"http://{HOST}:{server.server_address[1]}/"
