"""What the pages show: the manifest and the discovery data joined into plain objects.

The templates, ``versions.json`` and the feed all read these objects, so the
three never disagree.  Links are built here; strings from upstream stay
strings (escaping is the templates' and serializers' job).
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from markupsafe import Markup

from releasetool.manifest import Component, Manifest, Target
from releasetool.site import artifacts, packaged
from releasetool.site import version_sources as sources
from releasetool.site.artifacts import DownloadArea
from releasetool.site.data import ComponentData, Release, SiteData, SourceResult, parse_time
from releasetool.site.packaged import PackagedCell

VERSIONS_SCHEMA = 1
# Increases with every addition to versions.json (VERSIONS_SCHEMA changes only when
# a field is removed or changes meaning); site/versions.schema.json lists what each added.
VERSIONS_REVISION = 2
DOWNLOAD_BASE = "https://download.opensuse.org/repositories"
# OBS result codes, grouped for the page: what a user can install, what is on the way, what is broken.
GOOD_STATES = ("succeeded",)
PENDING_STATES = ("scheduled", "dispatching", "building", "signing", "finished", "blocked")
BAD_STATES = ("failed", "unresolvable", "broken")
KNOWN_STATES = (*GOOD_STATES, *PENDING_STATES, *BAD_STATES, "disabled", "excluded")


# Characters that are not allowed in XML or HTML text (C0 controls but tab and
# newlines, and the non-characters): replaced so the pages and the feed stay valid.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff]")


_URL_SAFE = re.compile(r"^[A-Za-z0-9._+~-]*$")
# The characters html.escape replaces: a string without any of them is its own escape.
_HTML_SPECIAL = re.compile("[&<>\"']")


def url_part(text: str) -> str:
    """``text`` percent-encoded for a URL path segment (the common plain version needs no work)."""
    return text if _URL_SAFE.match(text) else quote(text, safe="~+.-_")


def clean(text: str) -> str:
    """An upstream string made safe to place in a document (escaping is still the template's job)."""
    if text.isprintable():  # the usual case; control and non-characters are never "printable"
        return text
    return _NOT_TEXT.sub("\ufffd", text)


@dataclass
class Links:
    tarball: str | None = None
    checksum: str | None = None
    signature: str | None = None
    changelog: str | None = None
    # (label, URL) of the links there are, in the order the pages show them.
    # Worked out once, when the links are made: the latest release's links
    # appear on the index, in the component page's facts and in its history.
    listed: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        found = (("tarball", self.tarball), ("checksum", self.checksum), ("signature", self.signature),
                 ("changelog", self.changelog))
        self.listed = tuple([(label, url) for label, url in found if url])


@dataclass
class ReleaseView:
    version: str
    tag: str
    date: str | None
    prerelease: bool
    links: Links
    commit: str | None = None
    sha256: str | None = None
    size: int | None = None

    @property
    def tarball_type(self) -> str:
        return artifacts.media_type(self.links.tarball or "")

    def to_json(self) -> dict[str, object]:
        return {"version": self.version, "tag": self.tag, "date": self.date, "prerelease": self.prerelease,
                "tarball": self.links.tarball, "checksum": self.links.checksum,
                "signature": self.links.signature, "changelog": self.links.changelog,
                "commit": self.commit, "sha256": self.sha256, "size": self.size}


@dataclass
class InstallView:
    target: str
    label: str
    tool: str  # zypper, dnf, apt
    repository: str
    state: str | None  # OBS result of this package for this target (worst arch), when known
    lines: list[str]
    html: str = ""  # the lines, HTML-escaped, one a line (for the page)

    @property
    def state_class(self) -> str:
        """The CSS class suffix of the state (a fixed set: upstream text never reaches a class name)."""
        if self.state is None:
            return "unknown"
        return self.state if self.state in KNOWN_STATES else "other"


@dataclass
class ComponentView:
    name: str
    summary: str
    description: str
    homepage: str
    upstream: str
    license: str
    origin: str
    stable: ReleaseView | None
    prerelease: ReleaseView | None
    history: list[ReleaseView]
    stale: bool
    stale_age: str | None
    errors: list[str]
    checked_at: str | None
    last_success_at: str | None
    obs_version: str | None
    obs_results: dict[str, str]
    install: list[InstallView] = field(default_factory=list)
    packaged: list[PackagedCell] = field(default_factory=list)
    sources: dict[str, SourceResult] = field(default_factory=dict)

    @functools.cached_property
    def packaged_by_target(self) -> dict[str, PackagedCell]:
        return {cell.target: cell for cell in self.packaged}

    @property
    def packaged_worst(self) -> str:
        """The status of the index's summary: the worst of the targets' (unknown only when all are)."""
        found = {cell.status for cell in self.packaged}
        return next((s for s in ("outdated", "legacy", "devel", "newest") if s in found), "unknown")

    @property
    def packaged_summary(self) -> str:
        """E.g. "newest on 4 of 6", "outdated on 2 of 6", "none built"."""
        total = len(self.packaged)
        worst = self.packaged_worst
        if worst == "unknown":
            return "none built" if total else "no targets"
        count = sum(1 for cell in self.packaged if cell.status == worst)
        return f"{packaged.STATUS_TEXT[worst]} on {count} of {total}"

    def sources_json(self) -> dict[str, dict[str, object]]:
        return {kind: {"url": src.url, "ok": src.ok, "checked_at": src.checked_at,
                       "last_success_at": src.last_success_at, "error": clean(src.error) if src.error else None}
                for kind, src in self.sources.items()}

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name, "summary": self.summary, "homepage": self.homepage, "upstream": self.upstream,
            "license": self.license, "origin": self.origin,
            "latest_stable": self.stable.to_json() if self.stable else None,
            "latest_prerelease": self.prerelease.to_json() if self.prerelease else None,
            "stale": self.stale, "errors": list(self.errors),
            "checked_at": self.checked_at, "last_success_at": self.last_success_at,
            "releases": [r.to_json() for r in self.history],
            "obs": {"version": self.obs_version, "results": dict(self.obs_results)},
            "page": f"c/{self.name}.html",
            "sources": self.sources_json(),
            "packaged": [cell.to_json() for cell in self.packaged],
            "feed": f"c/{self.name}.atom", "json": f"c/{self.name}.json", "badge": f"c/{self.name}.svg",
        }


@dataclass
class RepositoryView:
    name: str
    label: str
    family: str
    url: str
    states: dict[str, int]  # OBS result code -> number of packages, where known


@dataclass
class SiteView:
    title: str
    site_url: str
    obs_project: str
    generated_at: str
    mode: str
    fallback: bool
    sources_total: int
    sources_failed: int
    components: list[ComponentView]
    repositories: list[RepositoryView]
    downloads: dict[str, str] = field(default_factory=dict)  # local download areas: link name -> directory

    # Both are read by every page: counted once, not once a page.
    @functools.cached_property
    def all_from_manifest(self) -> bool:
        return all(c.origin == "manifest" for c in self.components)

    @functools.cached_property
    def stale_count(self) -> int:
        return sum(1 for c in self.components if c.stale)

    @property
    def root_url(self) -> str:
        """The site's absolute URL with a final slash ("" when the manifest gives none)."""
        return self.site_url.rstrip("/") + "/" if self.site_url else ""

    def head_json(self) -> dict[str, object]:
        """The fields versions.json and every c/NAME.json begin with."""
        return {
            "schema_version": VERSIONS_SCHEMA,
            "schema_revision": VERSIONS_REVISION,
            "generated_at": self.generated_at,
            "mode": self.mode,
            "from_manifest_only": self.fallback or self.mode == "offline",
            "distribution": {"name": self.title, "site_url": self.site_url, "obs_project": self.obs_project},
        }

    def to_json(self, *, components: bool = True) -> dict[str, object]:
        """versions.json (its "components" list empty when ``components`` is false)."""
        return {
            **self.head_json(),
            "sources": {"total": self.sources_total, "failed": self.sources_failed},
            "repositories": [{"name": r.name, "label": r.label, "family": r.family, "url": r.url,
                              "states": dict(r.states)} for r in self.repositories],
            "components": [c.to_json() for c in self.components] if components else [],
        }


def site_view(manifest: Manifest, data: SiteData, *, fallback: bool = False) -> SiteView:
    from releasetool.site.discover import from_manifest

    now = parse_time(data.generated_at) or dt.datetime.now(dt.UTC)
    dist = manifest.distribution
    base = os.environ.get("RELEASETOOL_OBS_DOWNLOAD", DOWNLOAD_BASE).rstrip("/")
    active = [comp for comp in manifest.components.values() if comp.active]
    areas = artifacts.download_areas(active)
    comps = []
    for comp in active:
        entry = data.components.get(comp.name) or from_manifest(comp)
        comps.append(_component(comp, entry, manifest, now, base, areas))
    repositories = [_repository(t, dist.obs_project, base, comps) for t in manifest.targets.values()]
    return SiteView(title=dist.name, site_url=dist.site_url, obs_project=dist.obs_project,
                    generated_at=data.generated_at, mode=data.mode, fallback=fallback,
                    sources_total=data.sources_total, sources_failed=data.sources_failed,
                    components=comps, repositories=repositories,
                    downloads={area.mount: str(area.directory) for area in areas.values()})


def repository_url(base: str, project: str, target: str) -> str:
    """The download repository OBS publishes a project's builds for one target in."""
    return f"{base}/{project.replace(':', ':/')}/{target}/"


def _component(comp: Component, entry: ComponentData, manifest: Manifest, now: dt.datetime, base: str,
               areas: dict[Path, DownloadArea] | None = None) -> ComponentView:
    repo = sources.github_repo(comp.git)
    directory = artifacts.local_directory(comp.tarball or "")
    area = areas.get(directory) if areas and directory is not None else None
    history = [_release(comp, r, area) for r in entry.releases]
    stable = _release_from_history(comp, entry.latest_stable, entry.releases, history, area)
    pre = _release_from_history(comp, entry.latest_prerelease, entry.releases, history, area)
    obs = entry.obs if isinstance(entry.obs, dict) else {}
    found = obs.get("results")
    results: dict[object, object] = found if isinstance(found, dict) else {}
    obs_version = obs.get("version")
    view = ComponentView(
        name=comp.name, summary=comp.summary, description=comp.description, homepage=comp.homepage,
        upstream=_upstream(comp, repo), license=comp.license,
        origin=entry.origin if entry.origin == "upstream" else "manifest", stable=stable, prerelease=pre,
        history=history, stale=entry.stale, stale_age=_age(entry.last_success_at, now) if entry.stale else None,
        errors=[clean(e) for e in entry.errors], checked_at=entry.checked_at, last_success_at=entry.last_success_at,
        obs_version=clean(str(obs_version)) if obs_version else None,
        obs_results={clean(str(k)): clean(str(v)) for k, v in results.items()},
        sources=entry.sources,
    )
    targets = manifest.targets_of(comp)
    view.install = [_install(comp, t, manifest.distribution.obs_project, base, view.obs_results) for t in targets]
    view.packaged = packaged.cells(comp, targets, {**obs, "results": view.obs_results},
                                   {i.target: i.state for i in view.install}, stable, history)
    return view


def history_rows(history: list[ReleaseView], root: str = "../") -> Markup:
    """The rows of a component's release-history table.

    Built here rather than in the template because a large site renders tens
    of thousands of them; every value from the data is escaped once, by
    ``html.escape``, as the template's autoescaping would do.
    """
    rows = []
    for r in history:
        listed = r.links.listed
        # One search over every string of the row rather than an html.escape
        # call for each: most rows have nothing to escape, and str() returns
        # a string as it is.
        texts = [root, r.version, r.date or ""]
        texts.extend(url for _, url in listed)
        esc = html.escape if _HTML_SPECIAL.search("".join(texts)) else str
        date = (f'<time datetime="{esc(r.date)}">{esc(r.date)}</time>' if r.date
                else '<span class="none">unknown</span>')
        kind = '<span class="badge pre">pre-release</span>' if r.prerelease else "stable"
        links = "".join([f'<li><a href="{esc(url if "://" in url else root + url)}">{label}</a></li>'
                         for label, url in listed])
        # the digest and the commit are hex digits (checked when the view was made): nothing to escape
        verify = (f'<span class="hash-label">sha256</span> <code class="hash">{r.sha256}</code>' if r.sha256
                  else '<span class="none">sha256 not known</span>' if r.links.tarball else "")
        if r.commit:
            verify += f'{"<br>" if verify else ""}<span class="hash-label">commit</span> <code class="hash">{r.commit}</code>'
        rows.append(f'<tr>\n<th scope="row" data-label="Version" class="v">{esc(r.version)}</th>\n'
                    f'<td data-label="Date">{date}</td>\n<td data-label="Type">{kind}</td>\n'
                    f'<td data-label="Verify" class="verify">{verify}</td>\n'
                    f'<td data-label="Links"><ul class="links">{links}</ul></td>\n</tr>\n')
    return Markup("".join(rows))


def _release_from_history(comp: Component, release: Release | None, releases: list[Release],
                          views: list[ReleaseView], area: DownloadArea | None = None) -> ReleaseView | None:
    """The view of ``release``: the history's own when the release is in it (the usual case), else a new one."""
    if release is None:
        return None
    for known, view in zip(releases, views, strict=True):
        if known == release:
            return view
    return _release(comp, release, area)


_COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def _release(comp: Component, release: Release, area: DownloadArea | None = None) -> ReleaseView:
    links, sha256, size = _links(comp, release, area)
    return ReleaseView(version=clean(release.version), tag=clean(release.tag),
                       date=clean(release.date) if release.date else None, prerelease=release.prerelease,
                       links=links, commit=release.commit if release.commit and _COMMIT.match(release.commit) else None,
                       sha256=sha256, size=size)


CHECKSUM_SUFFIXES = (".sha256", ".sha256sum", ".sha512")
CHECKSUM_FILES = ("SHA256SUMS", "SHA512SUMS", "sha256sums.txt")
SIGNATURE_SUFFIXES = artifacts.SIGNATURE_SUFFIXES


def _links(comp: Component, release: Release,
           area: DownloadArea | None = None) -> tuple[Links, str | None, int | None]:
    """The release's links (only to files known to exist), and its tarball's SHA-256 and size when known.

    A tarball in a local download area is linked relative to the site (the
    build links the area in), with the area's own checksum, signature and
    notes files; elsewhere the checksum, signature and notes links are those
    the source listed among the release's files, and none when it listed none.
    """
    tarball = checksum = signature = changelog = None
    sha256 = release.sha256 if release.sha256 and _DIGEST.match(release.sha256) else None
    if sha256 is None and release.version == comp.version and comp.tarball_sha256:
        sha256 = comp.tarball_sha256  # the manifest's record of upstream's published tarball of its version
    size = release.size
    url = artifacts.tarball_url(comp, release.version)
    if url:
        directory, filename = url.rsplit("/", 1)
        if area is not None:
            name = unquote(filename)  # the file's name on disk
            facts = area.facts(name)
            if facts is not None:  # a version not in the area has nothing to download there
                tarball, sha256, size = area.link(name), facts.sha256, facts.size
                checksum = next((area.link(n) for n in (name + ".sha256", "SHA256SUMS") if n in area.names), None)
                signature = area.link(facts.signature) if facts.signature else None
                notes = f"{comp.name}-{release.version}.notes.md"
                changelog = area.link(notes) if notes in area.names else None
        elif url[:8].lower().startswith(("http://", "https://", "ftp://")):
            tarball = url
            known = release.files
            checksum = next((url + s for s in CHECKSUM_SUFFIXES if filename + s in known), None) or next(
                (f"{directory}/{n}" for n in CHECKSUM_FILES if n in known), None)
            signature = next((url + s for s in SIGNATURE_SUFFIXES if filename + s in known), None)
            notes = f"{comp.name}-{release.version}.notes.md"
            changelog = f"{directory}/{notes}" if notes in known else None
    if changelog is None and release.url and release.url.startswith(("http://", "https://")):
        changelog = clean(release.url)  # the release's page upstream (GitHub's has its notes)
    return Links(tarball=tarball, checksum=checksum, signature=signature, changelog=changelog), sha256, size


def _upstream(comp: Component, repo: str | None) -> str:
    """The upstream repository's page; ``repo`` is ``owner/name`` when it is on GitHub."""
    if repo:
        return f"https://github.com/{repo}"
    return comp.git if urlsplit(comp.git).scheme in ("http", "https") else comp.homepage


def _age(since: str | None, now: dt.datetime) -> str:
    when = parse_time(since)
    if when is None:
        return "never refreshed"
    seconds = max(0, int((now - when).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} old"
    return "less than a minute old"


def _worst(states: list[str]) -> str | None:
    if not states:
        return None
    for group in (BAD_STATES, PENDING_STATES):
        for state in states:
            if state in group:
                return state
    return states[0]


_PACKAGE = "\0package\0"


@functools.lru_cache(maxsize=256)
def _install_lines(family: str, label: str, name: str, project: str, base: str) -> tuple[str, tuple[str, ...], str]:
    """The tool, the command lines with a package placeholder, and those lines escaped (once per target)."""
    url = repository_url(base, project, name)
    repo_file = f"{url}{project}.repo"
    slug = project.replace(":", "-").lower()
    lines: tuple[str, ...]
    pkg = _PACKAGE
    if family == "deb":
        tool = "apt"
        lines = (
            f"curl -fsSL {url}Release.key | gpg --dearmor | sudo tee /etc/apt/keyrings/{slug}.gpg > /dev/null",
            f"echo 'deb [signed-by=/etc/apt/keyrings/{slug}.gpg] {url} /' | sudo tee /etc/apt/sources.list.d/{slug}.list",
            "sudo apt update",
            f"sudo apt install {pkg}",
        )
    elif label.startswith(("openSUSE", "SUSE", "SLE")):
        tool = "zypper"
        lines = (f"sudo zypper addrepo {repo_file}", "sudo zypper refresh", f"sudo zypper install {pkg}")
    elif name.startswith("Fedora"):
        tool = "dnf"  # Fedora 41 ships dnf5, whose config-manager takes sub-commands
        lines = (f"sudo dnf config-manager addrepo --from-repofile={repo_file}", f"sudo dnf install {pkg}")
    else:
        tool = "dnf"
        lines = (f"sudo dnf config-manager --add-repo {repo_file}", f"sudo dnf install {pkg}")
    # One block a command: a command longer than the block wraps with a hanging indent (style.css).
    # The line ends stay in the text, for readers without the style sheet, but are not displayed:
    # the blocks already end the lines, and a copy gets each command on one line, no blank ones.
    return tool, lines, "".join(f'<span class="cmd">{html.escape(line)}</span><span class="nl">\n</span>'
                                for line in lines)


def _install(comp: Component, target: Target, project: str, base: str, results: dict[str, str]) -> InstallView:
    tool, lines, escaped = _install_lines(target.family, target.label, target.name, project, base)
    # a manifest name: letters, digits, '+', '-', '.'; Debian may name the main package differently
    pkg = (comp.packaging.deb_name or comp.name) if target.family == "deb" else comp.name
    states = [code for key, code in results.items() if key.split("/", 1)[0] == target.name]
    return InstallView(target=target.name, label=target.label, tool=tool,
                       repository=repository_url(base, project, target.name), state=_worst(states),
                       lines=[line.replace(_PACKAGE, pkg) for line in lines],
                       html=escaped.replace(_PACKAGE, html.escape(pkg)))


def _repository(target: Target, project: str, base: str, comps: list[ComponentView]) -> RepositoryView:
    states: dict[str, int] = {}
    for comp in comps:
        for install in comp.install:
            if install.target == target.name and install.state:
                states[install.state] = states.get(install.state, 0) + 1
    return RepositoryView(name=target.name, label=target.label, family=target.family,
                          url=repository_url(base, project, target.name), states=dict(sorted(states.items())))
