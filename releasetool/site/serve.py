"""Serving a built site on 127.0.0.1 (for a look before publishing, and for tests)."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from releasetool.errors import SiteError
from releasetool.log import log

HOST = "127.0.0.1"


class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 - the base class declares it a plain dict
        **SimpleHTTPRequestHandler.extensions_map,
        ".atom": "application/atom+xml",
        ".json": "application/json",
        ".css": "text/css",
        ".html": "text/html; charset=utf-8",
    }

    def log_message(self, format: str, *args: Any) -> None:
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
