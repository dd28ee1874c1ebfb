"""Reading each kind of upstream source into releases.

Every reader returns :class:`~releasetool.site.data.Release` objects for the
tags or files that are releases of the component (mapped through its tag
pattern and version scheme; anything else is ignored) and raises
:class:`SiteError` with one line naming the source when the source fails or
answers something that is not what it should be.  Every parser accepts any
bytes without a traceback.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit

from releasetool import proc, versions
from releasetool.errors import CommandError, SiteError, ToolMissingError, VersionError
from releasetool.manifest import Component
from releasetool.site.data import JsonObject, Release, parse_json
from releasetool.site.fetch import Fetcher, Once, shown

if TYPE_CHECKING:
    from releasetool.obs.api import Api

GITHUB_API = "https://api.github.com"
GIT_TIMEOUT = 30.0
_SHA1 = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")  # sha1 or sha256 object names
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b|\b(\d{2})-([A-Z][a-z]{2})-(\d{4})\b")
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}
_HREF = re.compile(r"""<a\s[^>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>""", re.IGNORECASE)
# Files published beside a tarball: compressed variants, checksums, signatures.
_COMPANIONS = re.compile(r"\.tar\.(gz|xz|bz2|zst)(\.(sha256|sha512|sha256sum|asc|sig|md5))?$")


def release_for_tag(comp: Component, tag: str) -> Release | None:
    """The release a tag stands for, or None when the tag is not a release of ``comp``."""
    if comp.is_ignored_tag(tag):  # the manifest's ignore_tags: stray tags upstream
        return None
    try:
        version = versions.tag_to_version(comp.tag_pattern, tag, name=comp.name)
    except VersionError:
        return None
    if not version:
        return None
    return release_for_version(comp, version, tag=tag)


def release_for_version(comp: Component, version: str, *, tag: str = "") -> Release | None:
    # A "version" with no digit (latest, rolling, stable, master) names a
    # moving target, not a release, even where the scheme would accept it.
    if not any(ch.isdigit() for ch in version):
        return None
    tag = tag or comp.tag_for(version)
    if comp.is_ignored_tag(tag):
        return None
    try:
        versions.parse(comp.version_scheme, version)
        prerelease = versions.is_prerelease(comp.version_scheme, version)
    except VersionError:
        return None
    return Release(version=version, tag=tag, prerelease=bool(prerelease))


# -- git tags ------------------------------------------------------------------

def ls_remote_tags(url: str, *, timeout: float = GIT_TIMEOUT) -> dict[str, str]:
    """The tags of the repository at ``url`` and the commit each points at, asked with ``git ls-remote`` (no clone)."""
    env = proc.environment({"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "SSH_ASKPASS": "true"})
    argv = ["git", "-c", "http.lowSpeedLimit=1", "-c", f"http.lowSpeedTime={max(1, int(timeout))}",
            "ls-remote", "--tags", url]
    try:
        out = proc.output(argv, env=env, timeout=timeout)
    except CommandError as exc:
        detail = exc.stderr_tail.strip().splitlines()[-1] if exc.stderr_tail.strip() else f"status {exc.returncode}"
        raise SiteError(f"git ls-remote failed for {shown(url)}: {detail.replace(url, shown(url))}") from None
    except ToolMissingError:
        raise
    return parse_tag_commits(out, where=shown(url))


def parse_ls_remote(text: str, *, where: str) -> list[str]:
    """Tag names from ``git ls-remote --tags`` output."""
    return list(parse_tag_commits(text, where=where))


def parse_tag_commits(text: str, *, where: str) -> dict[str, str]:
    """Tag name -> the commit it points at, from ``git ls-remote --tags`` output.

    An annotated tag is listed twice: ``refs/tags/v1`` (the tag object) and
    ``refs/tags/v1^{}`` (the commit it peels to); both name one tag, and the
    peeled line gives its commit.  A lightweight tag is listed once, with the
    commit itself.
    """
    tags: dict[str, str] = {}
    peeled: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        sha, sep, ref = line.partition("\t")
        if not sep or not _SHA1.match(sha) or not ref.startswith("refs/tags/"):
            raise SiteError(f"malformed tag listing from {where}, line {number}: {line[:80]!r}")
        name = ref[len("refs/tags/"):]
        if name.endswith("^{}"):
            name = name[:-3]
            if name:
                peeled[name] = sha
                tags.setdefault(name, sha)
        elif name:
            tags.setdefault(name, sha)
    return {name: peeled.get(name, sha) for name, sha in tags.items()}


def git_releases(comp: Component, lister: Once[dict[str, str]], *, timeout: float = GIT_TIMEOUT) -> list[Release]:
    tags = lister(comp.git, lambda: ls_remote_tags(comp.git, timeout=timeout))
    found: list[Release] = []
    for tag, commit in tags.items():
        release = release_for_tag(comp, tag)
        if release is not None:
            release.commit = commit
            found.append(release)
    return found


# -- GitHub releases -------------------------------------------------------------

def github_repo(git_url: str) -> str | None:
    """``owner/name`` when the git URL is a github.com repository."""
    parts = urlsplit(git_url)
    host = parts.hostname or ""
    path = parts.path
    if not host and git_url.startswith("git@github.com:"):
        host, path = "github.com", git_url.split(":", 1)[1]
    if host.lower() not in ("github.com", "www.github.com"):
        return None
    segments = [s for s in path.strip("/").split("/") if s]
    if len(segments) != 2:
        return None
    owner, name = segments[0], segments[1].removesuffix(".git")
    return f"{owner}/{name}" if owner and name else None


def github_releases_url(repo: str, api: str = GITHUB_API) -> str:
    return f"{api.rstrip('/')}/repos/{quote(repo)}/releases?per_page=100"


def github_releases(comp: Component, fetcher: Fetcher, api: str = GITHUB_API, token: str | None = None) -> list[Release]:
    """Releases from the GitHub API; ``token`` (e.g. $GITHUB_TOKEN) raises the rate limit of 60 an hour."""
    repo = github_repo(comp.git)
    if repo is None:
        return []
    url = github_releases_url(repo, api)
    auth = {"Authorization": f"Bearer {token}"} if token else None
    answer = fetcher.get(url, accept="application/vnd.github+json", headers=auth)
    return parse_github_releases(comp, answer.text, where=shown(url))


def parse_github_releases(comp: Component, text: str, *, where: str) -> list[Release]:
    """Releases from a GitHub ``/repos/O/R/releases`` answer (drafts skipped)."""
    items = parse_json(text, where=f"malformed answer from {where}")
    if not isinstance(items, list):
        message = items.get("message") if isinstance(items, dict) else None
        raise SiteError(f"malformed answer from {where}: expected a list of releases"
                        + (f" ({str(message)[:80]})" if message else ""))
    found: list[Release] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("tag_name"), str):
            raise SiteError(f"malformed answer from {where}: a release without tag_name")
        if item.get("draft"):
            continue
        release = release_for_tag(comp, item["tag_name"])
        if release is None:
            continue
        release.prerelease = release.prerelease or bool(item.get("prerelease"))
        release.date = _date_of(item.get("published_at") or item.get("created_at"))
        release.url = _web_url(item.get("html_url"))
        assets = item.get("assets")
        if isinstance(assets, list):
            release.files = [str(a["name"]) for a in assets if isinstance(a, dict) and isinstance(a.get("name"), str)]
        found.append(release)
    return found


# -- tarball directory listings ----------------------------------------------------

def listing_url(comp: Component) -> str | None:
    """The directory holding the component's tarballs, when it does not change per version."""
    if not comp.tarball:
        return None
    directory = comp.tarball.replace("{name}", comp.name).rsplit("/", 1)[0] + "/"
    if "{version}" in directory or urlsplit(directory).scheme not in ("http", "https"):
        return None
    return directory


def tarball_releases(comp: Component, fetcher: Fetcher) -> list[Release]:
    url = listing_url(comp)
    if url is None:
        return []
    answer = fetcher.get(url, accept="text/html")
    return parse_listing(comp, answer.text, where=shown(url))


def parse_listing(comp: Component, text: str, *, where: str) -> list[Release]:
    """Releases from an HTML directory listing (Apache, nginx, lighttpd, python -m http.server)."""
    assert comp.tarball is not None
    if "<a" not in text.lower() and "<A" not in text:
        raise SiteError(f"malformed directory listing from {where}: no links")
    base = comp.tarball.replace("{name}", comp.name).rsplit("/", 1)[1]
    stem = base.split("{version}")
    prefix, suffix = stem[0], stem[1] if len(stem) > 1 else ""
    suffix = _COMPANIONS.sub("", suffix)  # ".tar.gz" -> "" so every format and companion matches
    pattern = re.compile(re.escape(prefix) + r"(?P<version>[^/]+?)" + re.escape(suffix) + _COMPANIONS.pattern)
    by_version: dict[str, Release] = {}
    for match in _HREF.finditer(text):
        href = next(g for g in match.groups() if g is not None)
        name = unquote(href.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1])
        found = pattern.fullmatch(name)
        if not found:
            continue
        version = found.group("version")
        release = by_version.get(version)
        if release is None:
            release = release_for_version(comp, version)
            if release is None:
                continue
            by_version[version] = release
        release.files.append(name)
        if match.group(0) and not release.date:
            line_end = text.find("\n", match.end())
            release.date = _listing_date(text[match.end(): line_end if line_end != -1 else match.end() + 200])
    return list(by_version.values())


def _listing_date(text: str) -> str | None:
    found = _DATE.search(text)
    if not found:
        return None
    if found.group(1):
        return found.group(1)
    month = _MONTHS.get(found.group(3))
    return f"{found.group(4)}-{month:02d}-{found.group(2)}" if month else None


# -- the Build Service ------------------------------------------------------------

class ObsReader:
    """The version of a package in an OBS project and its build results, read over the API.

    Reads ``/source/PRJ/PKG``, the spec file and ``/build/PRJ/_result`` with
    plain GETs: anonymously through the fetcher, or, given ``api`` (a
    :class:`releasetool.obs.api.Api`, which logs in with the osc
    configuration), through the Build Service client.
    """

    def __init__(self, fetcher: Fetcher, apiurl: str, project: str, *, api: Api | None = None) -> None:
        self.fetcher = fetcher
        self.apiurl = apiurl.rstrip("/")
        self.project = project
        self.api = api

    def url(self, package: str) -> str:
        return f"{self.apiurl}/source/{quote(self.project)}/{quote(package)}"

    def _get(self, segments: list[str], query: dict[str, str] | None = None) -> tuple[str, str]:
        """The text at ``/SEGMENTS?QUERY`` and the URL it came from."""
        if self.api is not None:
            return self.api.call("GET", segments, query).decode("utf-8", "replace"), self.api.url(segments, query)
        url = f"{self.apiurl}/{'/'.join(quote(s) for s in segments)}"
        if query:
            url += "?" + "&".join(f"{k}={quote(v)}" for k, v in query.items())
        answer = self.fetcher.get(url, accept="application/xml")
        return answer.text, answer.url

    def __call__(self, comp: Component) -> JsonObject:
        package = comp.obs_package
        text, url = self._get(["source", self.project, package])
        names = [e.get("name", "") for e in _xml(text, url).iter("entry")]
        specs = [n for n in names if n.endswith(".spec")]
        spec = f"{package}.spec" if f"{package}.spec" in specs else (specs[0] if specs else None)
        version = None
        if spec:
            spec_text, _ = self._get(["source", self.project, package, spec])
            found = re.search(r"^Version:\s*(\S+)\s*$", spec_text, re.MULTILINE)
            version = found.group(1) if found and "%" not in found.group(1) else None
        # The Debian packaging's version (debtransform builds the deb targets from NAME.dsc).
        deb_version = None
        dsc = f"{package}.dsc" if f"{package}.dsc" in names else next((n for n in names if n.endswith(".dsc")), None)
        if dsc:
            dsc_text, _ = self._get(["source", self.project, package, dsc])
            found = re.search(r"^Version:\s*(\S+)\s*$", dsc_text, re.MULTILINE)
            deb_version = upstream_of_debian_version(found.group(1)) if found else None
        results: dict[str, str] = {}
        text, url = self._get(["build", self.project, "_result"], {"package": package})
        for result in _xml(text, url).iter("result"):
            for status in result.iter("status"):
                if status.get("package") in (None, package):
                    key = f"{result.get('repository', '?')}/{result.get('arch', '?')}"
                    results[key] = str(status.get("code", "unknown"))
        return {"version": version, "deb_version": deb_version, "results": results}


def upstream_of_debian_version(version: str) -> str | None:
    """The upstream part of a Debian version: ``1:4.12.0-2`` -> ``4.12.0`` (epoch and revision dropped)."""
    upstream = version.split(":", 1)[1] if ":" in version.split("-", 1)[0] else version
    if "-" in upstream:
        upstream = upstream.rsplit("-", 1)[0]
    return upstream or None


def _xml(text: str, url: str) -> ET.Element:
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise SiteError(f"malformed XML from {shown(url)}: {exc}") from None


# -- small helpers ---------------------------------------------------------------

def _date_of(value: object) -> str | None:
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}", value):
        return value[:10]
    return None


def _web_url(value: object) -> str | None:
    """Only http(s) links from upstream reach the page (no ``javascript:`` or ``data:``)."""
    if isinstance(value, str) and urlsplit(value).scheme in ("http", "https") and not any(c.isspace() for c in value):
        return value
    return None
