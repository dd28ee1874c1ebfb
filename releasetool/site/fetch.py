"""HTTP for discovery: total deadlines, revalidation, an on-disk cache, one request per URL a run.

Each answer with an ``ETag`` or ``Last-Modified`` is kept in the cache
directory; the next run sends ``If-None-Match`` / ``If-Modified-Since`` and a
``304 Not Modified`` reuses the kept body.  Within one run a URL is asked at
most once, even when several components or threads want it: the first caller
fetches, the others wait for its result (or its error).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

from releasetool.errors import SiteError
from releasetool.log import log
from releasetool.site.data import JsonObject

if TYPE_CHECKING:
    import requests

DEFAULT_TIMEOUT = 10.0
MAX_BODY = 16 * 1024 * 1024  # a listing or API page larger than this is not what we asked for
USER_AGENT = "releasetool-site (+https://www.clusterlabs.org)"

T = TypeVar("T")


class Once(Generic[T]):
    """Calls made at most once per key in a run; later callers get the first result or error."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._done: dict[str, T | SiteError] = {}
        self.calls = 0

    def __call__(self, key: str, compute: Callable[[], T]) -> T:
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            if key not in self._done:
                with self._lock:
                    self.calls += 1
                try:
                    self._done[key] = compute()
                except SiteError as exc:
                    self._done[key] = exc
            result = self._done[key]
        if isinstance(result, SiteError):
            raise result
        return result


def shown(url: str) -> str:
    """``url`` with any user name and password masked, for messages and logs."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class Answer:
    url: str
    text: str
    status: int  # 200, or 304 when the cached body was revalidated
    content_type: str = ""


class Fetcher:
    """GETs URLs for one discovery run; thread-safe."""

    def __init__(self, cache_dir: Path | None, *, timeout: float = DEFAULT_TIMEOUT,
                 headers: dict[str, str] | None = None) -> None:
        self.cache_dir = cache_dir
        self.timeout = timeout
        self.headers = {"User-Agent": USER_AGENT, **(headers or {})}
        self._once: Once[Answer] = Once()
        self._local = threading.local()

    @property
    def requests_made(self) -> int:
        return self._once.calls

    def get(self, url: str, *, accept: str | None = None, headers: dict[str, str] | None = None) -> Answer:
        """The body of ``url`` (raises SiteError naming the URL on any failure).

        ``headers`` may carry credentials: they are sent, never logged or cached.
        """
        return self._once(url, lambda: self._fetch(url, accept, headers or {}))

    # -- one request -------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = requests.Session()
            session.trust_env = True
            self._local.session = session
        return session

    def _fetch(self, url: str, accept: str | None, extra: dict[str, str]) -> Answer:
        """One request with a total deadline: connect, headers and the whole body within ``timeout``."""
        session = self._session()
        try:
            return within_deadline(self.timeout, url,
                                   lambda abandoned: self._request(session, url, accept, extra, abandoned))
        except SiteError:
            self._local.session = None  # an abandoned request may still use it
            raise

    def _request(self, session: requests.Session, url: str, accept: str | None, extra: dict[str, str],
                 abandoned: threading.Event) -> Answer:
        import requests

        cached = self._cache_read(url)
        headers = {**self.headers, **extra}
        if accept:
            headers["Accept"] = accept
        if cached:
            if cached.get("etag"):
                headers["If-None-Match"] = cached["etag"]
            if cached.get("last_modified"):
                headers["If-Modified-Since"] = cached["last_modified"]
        log.debug("GET %s", shown(url))
        try:
            with session.get(url, headers=headers, timeout=self.timeout, stream=True,
                                     allow_redirects=True) as response:
                if response.status_code == 304 and cached:
                    return Answer(url, str(cached["body"]), 304, str(cached.get("content_type", "")))
                if response.status_code != 200:
                    raise SiteError(f"HTTP {response.status_code} from {shown(url)}")
                body = b""
                for chunk in response.iter_content(65536):
                    if abandoned.is_set():
                        raise SiteError(f"abandoned past its deadline: {shown(url)}")
                    body += chunk
                    if len(body) > MAX_BODY:
                        raise SiteError(f"answer larger than {MAX_BODY // (1024 * 1024)} MiB from {shown(url)}")
                text = body.decode(response.encoding or "utf-8", "replace")
                content_type = response.headers.get("Content-Type", "")
                etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
        except requests.Timeout:
            raise SiteError(f"timed out after {self.timeout:g} s: {shown(url)}") from None
        except requests.ConnectionError as exc:
            raise SiteError(f"cannot connect: {shown(url)} ({_reason(exc)})") from None
        except requests.RequestException as exc:
            raise SiteError(f"request failed: {shown(url)} ({type(exc).__name__})") from None
        if (etag or modified) and not abandoned.is_set():
            self._cache_write(url, {"url": shown(url), "etag": etag, "last_modified": modified,
                                    "content_type": content_type, "body": text})
        return Answer(url, text, 200, content_type)

    # -- the cache ---------------------------------------------------------

    def _cache_path(self, url: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".json")

    def _cache_read(self, url: str) -> JsonObject | None:
        path = self._cache_path(url)
        if path is None:
            return None
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return entry if isinstance(entry, dict) and isinstance(entry.get("body"), str) else None

    def _cache_write(self, url: str, entry: dict[str, object]) -> None:
        path = self._cache_path(url)
        if path is None:
            return
        # The cache is disposable: a rename keeps a reader from seeing half an
        # entry, but it is not worth an fsync per answer.
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".entry.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entry, handle)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def within_deadline(timeout: float, url: str, request: Callable[[threading.Event], T]) -> T:
    """``request(abandoned)`` finished within ``timeout`` seconds, or a SiteError.

    The socket timeout only bounds each read, and a server that trickles a
    byte now and then never trips it; so the request runs in a thread of its
    own and the caller waits at most ``timeout``.  A request past its deadline
    is abandoned: ``abandoned`` is set, the request stops at its next read
    (the thread is a daemon and never keeps the process alive) and its answer
    is dropped.
    """
    outcome: list[T | BaseException] = []
    finished = threading.Event()
    abandoned = threading.Event()

    def work() -> None:
        try:
            outcome.append(request(abandoned))
        except BaseException as exc:  # handed to the waiting caller
            outcome.append(exc)
        finally:
            finished.set()

    threading.Thread(target=work, name="fetch", daemon=True).start()
    if not finished.wait(timeout):
        abandoned.set()
        raise SiteError(f"timed out after {timeout:g} s: {shown(url)}")
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "Temporary failure in name resolution",
                   "No route to host", "Network is unreachable", "Connection reset"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__
