"""What makes a download verifiable: the tarball's SHA-256 and size, its checksum, signature and notes files.

Three places say what a release's tarball is:

* a **local download area** (the manifest's ``tarball`` URL is ``file://``,
  as ``releasetool bundle`` fills it): its ``index.json`` lists every file
  with size, sha256 and signature, and ``NAME-VERSION.notes.md`` holds the
  notes.  Read by ``site build`` itself (no network), and linked relative to
  the site instead of as ``file://`` URLs, which browsers refuse to follow
  from an http page;
* a **checksum file published upstream** beside the tarball (``.sha256``,
  ``.sha256sum`` or ``SHA256SUMS``, when the release's files list one):
  fetched during discovery and the tarball's line read;
* otherwise the **tarball itself**, fetched and hashed during discovery.  The
  digest is kept in ``sha256.json`` in the state directory by URL with the
  answer's ``ETag`` and ``Last-Modified``: the next run asks with
  ``If-None-Match`` / ``If-Modified-Since`` and a ``304`` costs no download.

A digest that cannot be had (the server fails, the file is too large) is
logged and left unknown: it never marks a component stale, and the page says
"sha256 not known" rather than showing a guess.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from releasetool.errors import SiteError
from releasetool.log import log
from releasetool.manifest import Component
from releasetool.site.data import ComponentData, JsonObject, Release
from releasetool.site.fetch import USER_AGENT, Fetcher, shown, within_deadline

CACHE_FILE = "sha256.json"
MAX_TARBALL = 1 << 30  # a "tarball" larger than 1 GiB is not one we hash
CHECKSUM_SUFFIXES = (".sha256", ".sha256sum")
CHECKSUM_FILES = ("SHA256SUMS", "sha256sums.txt")
SIGNATURE_SUFFIXES = (".asc", ".sig")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_URL_SAFE = re.compile(r"^[A-Za-z0-9._+~-]*$")  # a version that needs no percent-encoding in a URL
# Media types of the tarball formats (for feed enclosures).
MEDIA_TYPES = ((".tar.gz", "application/gzip"), (".tgz", "application/gzip"), (".tar.xz", "application/x-xz"),
               (".tar.bz2", "application/x-bzip2"), (".tar.zst", "application/zstd"), (".zip", "application/zip"))


def media_type(name: str) -> str:
    return next((kind for suffix, kind in MEDIA_TYPES if name.endswith(suffix)), "application/octet-stream")


def tarball_url(comp: Component, version: str) -> str | None:
    """The manifest's tarball URL of one version (the version percent-encoded)."""
    if not comp.tarball:
        return None
    plain = version if _URL_SAFE.match(version) else quote(version, safe="~+.-_")
    return comp.tarball.replace("{version}", plain).replace("{name}", comp.name)


# -- a local download area ------------------------------------------------------------

def local_directory(url: str) -> Path | None:
    """The directory of a ``file://`` URL on this machine (None for any other URL)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        return None
    return Path(unquote(parts.path)).parent


@dataclass
class AreaFile:
    size: int | None
    sha256: str | None
    signature: str | None  # the signature's file name, when there is one


@dataclass
class DownloadArea:
    """A directory of release files on this machine, as the site links it (``mount``, relative to the site)."""

    directory: Path
    mount: str
    files: dict[str, AreaFile] = field(default_factory=dict)  # from index.json, else from the directory
    names: frozenset[str] = frozenset()  # every file name in the directory

    @classmethod
    def read(cls, directory: Path, mount: str) -> DownloadArea:
        try:
            names = frozenset(entry.name for entry in os.scandir(directory) if entry.is_file())
        except OSError:
            names = frozenset()
        area = cls(directory=directory, mount=mount, names=names)
        with contextlib.suppress(OSError, ValueError):
            index = json.loads((directory / "index.json").read_text(encoding="utf-8"))
            for comp in index.get("components", []) if isinstance(index, dict) else []:
                for item in comp.get("files", []) if isinstance(comp, dict) else []:
                    if isinstance(item, dict) and isinstance(item.get("name"), str):
                        size, digest, signature = item.get("size"), item.get("sha256"), item.get("signature")
                        area.files[item["name"]] = AreaFile(
                            size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
                            sha256=digest if isinstance(digest, str) and _DIGEST.match(digest) else None,
                            signature=signature if isinstance(signature, str) and signature in names else None)
        return area

    def link(self, name: str) -> str:
        """The file's link relative to the site root."""
        return f"{self.mount}/{quote(name)}"

    def facts(self, name: str) -> AreaFile | None:
        """Size, digest and signature of a file that is there (hashed when the index does not list it)."""
        if name not in self.names:
            return None
        known = self.files.get(name)
        if known is not None and known.sha256:
            return known
        path = self.directory / name
        try:
            digest, size = _hash_file(path)
        except OSError:
            return None
        signature = next((name + s for s in SIGNATURE_SUFFIXES if name + s in self.names), None)
        found = AreaFile(size=size, sha256=digest, signature=signature)
        self.files[name] = found
        return found


def download_areas(comps: Iterable[Component]) -> dict[Path, DownloadArea]:
    """The local download areas the components' tarball URLs name, each with the name the site links it by."""
    directories: list[Path] = []
    for comp in comps:
        directory = local_directory(comp.tarball or "")
        if directory is not None and directory not in directories and "{" not in str(directory):
            directories.append(directory)
    return {d: DownloadArea.read(d, "downloads" if i == 0 else f"downloads-{i + 1}")
            for i, d in enumerate(directories)}


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# -- upstream's files, during discovery ----------------------------------------------------

def checksum_from_text(text: str, filename: str) -> str | None:
    """The SHA-256 of ``filename`` in a ``sha256sum`` style file (or a file holding only the digest)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        digest, _, name = line.partition(" ")
        name = name.strip().lstrip("*")
        if _DIGEST.match(digest.lower()) and (name == filename or name.endswith("/" + filename)):
            return digest.lower()
        found = re.match(r"^SHA256 \((.+)\) = ([0-9a-fA-F]{64})$", line)  # BSD style
        if found and found.group(1) == filename:
            return found.group(2).lower()
    if len(lines) == 1 and _DIGEST.match(lines[0].lower()):
        return lines[0].lower()
    return None


class DigestCache:
    """``sha256.json``: URL -> {"etag", "last_modified", "sha256", "size"} of fetched tarballs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raw = {}
        self.entries: dict[str, JsonObject] = {
            str(k): v for k, v in raw.items() if isinstance(v, dict) and _DIGEST.match(str(v.get("sha256", "")))
        } if isinstance(raw, dict) else {}
        self.changed = False

    def get(self, url: str) -> JsonObject | None:
        with self._lock:
            return self.entries.get(url)

    def put(self, url: str, entry: JsonObject) -> None:
        with self._lock:
            self.entries[url] = entry
            self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        from releasetool.fsutil import atomic_write

        with self._lock:
            atomic_write(self.path, json.dumps(self.entries, indent=1, sort_keys=True) + "\n")


def hash_remote(url: str, cache: DigestCache, *, timeout: float) -> tuple[str, int]:
    """The SHA-256 and size of the file at ``url``, streamed (revalidated against the cache first).

    The whole download has the total deadline ``timeout``, as every upstream read.
    """
    return within_deadline(timeout, url, lambda abandoned: _hash_remote(url, cache, timeout, abandoned))


def _hash_remote(url: str, cache: DigestCache, timeout: float, abandoned: threading.Event) -> tuple[str, int]:
    import requests

    known = cache.get(url)
    headers = {"User-Agent": USER_AGENT}
    if known and known.get("etag"):
        headers["If-None-Match"] = str(known["etag"])
    if known and known.get("last_modified"):
        headers["If-Modified-Since"] = str(known["last_modified"])
    try:
        with requests.get(url, headers=headers, timeout=timeout, stream=True, allow_redirects=True) as response:
            if response.status_code == 304 and known:
                return str(known["sha256"]), int(known.get("size") or 0)
            if response.status_code != 200:
                raise SiteError(f"HTTP {response.status_code} from {shown(url)}")
            digest = hashlib.sha256()
            size = 0
            for chunk in response.iter_content(1 << 20):
                if abandoned.is_set():
                    raise SiteError(f"abandoned past its deadline: {shown(url)}")
                digest.update(chunk)
                size += len(chunk)
                if size > MAX_TARBALL:
                    raise SiteError(f"larger than {MAX_TARBALL >> 30} GiB: {shown(url)}")
            etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
    except requests.Timeout:
        raise SiteError(f"timed out after {timeout:g} s: {shown(url)}") from None
    except requests.RequestException as exc:
        raise SiteError(f"request failed: {shown(url)} ({type(exc).__name__})") from None
    if (etag or modified) and not abandoned.is_set():  # without a validator a change is not seen: not cached
        cache.put(url, {"etag": etag, "last_modified": modified, "sha256": digest.hexdigest(), "size": size})
    return digest.hexdigest(), size


def _published_checksum(comp: Component, release: Release, tarball: str, fetcher: Fetcher) -> str | None:
    """The digest upstream published beside the tarball, when the release's files list a checksum file."""
    directory, filename = tarball.rsplit("/", 1)
    for name in [filename + s for s in CHECKSUM_SUFFIXES] + list(CHECKSUM_FILES):
        if name in release.files:
            answer = fetcher.get(f"{directory}/{name}", accept="text/plain")
            return checksum_from_text(answer.text, filename)
    return None


def annotate(comps: list[Component], entries: dict[str, ComponentData], *, state_dir: Path, fetcher: Fetcher,
             timeout: float, jobs: int = 4) -> int:
    """Give every release of ``entries`` with an http(s) tarball its SHA-256 (and size when hashed here).

    Returns the number of tarballs whose digest is known afterwards.  Local
    download areas are left to ``site build`` (it reads them directly).
    """
    cache = DigestCache(state_dir / CACHE_FILE)
    work: list[tuple[Component, Release, str]] = []
    for comp in comps:
        entry = entries.get(comp.name)
        if entry is None:
            continue
        for release in entry.releases:
            if release.version == comp.version and comp.tarball_sha256 and not release.sha256:
                release.sha256 = comp.tarball_sha256  # recorded in the manifest: nothing to fetch
            url = tarball_url(comp, release.version)
            if url and urlsplit(url).scheme in ("http", "https") and not release.sha256:
                work.append((comp, release, url))

    def one(item: tuple[Component, Release, str]) -> None:
        comp, release, url = item
        try:
            published = _published_checksum(comp, release, url, fetcher)
            if published:
                release.sha256 = published
                cached = cache.get(url)
                release.size = int(cached["size"]) if cached and cached.get("sha256") == published else None
                return
            release.sha256, release.size = hash_remote(url, cache, timeout=timeout)
        except SiteError as exc:
            log.info("%s %s: no sha256 for the tarball: %s", comp.name, release.version, exc.message)

    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="sha256") as pool:
        list(pool.map(one, work))
    for entry in entries.values():  # latest_* are copies made before the digests were known
        by_version = {r.version: r for r in entry.releases}
        for latest in (entry.latest_stable, entry.latest_prerelease):
            if latest is not None and latest.version in by_version:
                found = by_version[latest.version]
                latest.sha256, latest.size = found.sha256, found.size
    cache.save()
    return sum(1 for _, release, _ in work if release.sha256)
