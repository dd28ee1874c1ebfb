"""Discovery: ask every source of every component, concurrently, and merge what they say.

The sources of a component are its git repository (tags, always), the GitHub
releases API (when the git URL is on github.com), the directory its tarballs
are published in (when that directory does not change per version) and,
when a reader is given, its package in the OBS project.  The manifest's own
version is always known and never fails.

Each source is one task in a bounded thread pool; each URL is asked at most
once per run.  A source that fails keeps the releases of its last success
(read from the previous ``site-data.json``) and marks the component stale with
the error; the run always finishes.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypedDict, Unpack

from releasetool import versions
from releasetool.errors import ReleasetoolError, ToolMissingError, VersionError
from releasetool.log import log
from releasetool.manifest import Component, Manifest
from releasetool.site import data as site_data
from releasetool.site import version_sources as sources
from releasetool.site.data import ComponentData, JsonObject, Release, SiteData, SourceResult
from releasetool.site.fetch import DEFAULT_TIMEOUT, Fetcher, Once

ObsLookup = Callable[[Component], JsonObject]

SOURCE_KINDS = ("git", "github", "tarballs", "obs")


class DiscoverOptions(TypedDict, total=False):
    """The fields of DiscoverSettings a caller gives to :meth:`DiscoverSettings.from_environment`."""

    offline: bool
    timeout: float
    jobs: int
    obs_api: str | None
    obs_config: str | None
    dry_run: bool
    clock: Callable[[], str]


@dataclass(frozen=True, kw_only=True)
class DiscoverSettings:
    """How one discovery run is made (built from flags and environment by the CLI)."""

    state_dir: Path
    offline: bool = False
    timeout: float = DEFAULT_TIMEOUT
    jobs: int = 8
    github_api: str = sources.GITHUB_API
    github_token: str | None = field(default=None, repr=False)  # never shown
    obs_api: str | None = None  # read package versions and build results from this OBS API
    obs_config: str | None = None  # log in to it with this osc configuration (else read anonymously)
    dry_run: bool = False
    # The time stamp of the run (UTC, to the second): every source asked and every
    # component merged in one run carries the same time.
    clock: Callable[[], str] = site_data.utc_now

    @property
    def data_path(self) -> Path:
        return self.state_dir / site_data.DATA_FILE

    @classmethod
    def from_environment(cls, state_dir: Path, **kwargs: Unpack[DiscoverOptions]) -> DiscoverSettings:
        api = os.environ.get("RELEASETOOL_GITHUB_API") or sources.GITHUB_API
        return cls(state_dir=state_dir, github_api=api, github_token=os.environ.get("GITHUB_TOKEN") or None, **kwargs)


@dataclass(frozen=True)
class _Check:
    component: str
    kind: str
    url: str
    run: Callable[[], tuple[list[Release], JsonObject]]


def default_state_dir(manifest: Manifest) -> Path:
    return manifest.path.resolve().parent / ".releasetool-cache" / "site"


def discover(manifest: Manifest, names: list[str], settings: DiscoverSettings,
             *, obs_lookup: ObsLookup | None = None) -> SiteData:
    """Discover the releases of the named components (all active ones when none) and save the data file."""
    from releasetool.fsutil import run_lock

    comps = manifest.select(names, all_=not names)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(settings.state_dir / "discover.lock", what=f"site data in {settings.state_dir}"):
        previous = site_data.load(settings.data_path)
        if settings.offline:
            result = _offline(comps, previous)
        else:
            result = _online(manifest, comps, previous, settings, obs_lookup)
        if previous:  # components not asked this time keep what was known
            for name, known in previous.components.items():
                if name in manifest.components and name not in result.components:
                    result.components[name] = known
        result.components = {n: result.components[n] for n in manifest.components if n in result.components}
        if settings.dry_run:
            log.info("dry run: %s not written", settings.data_path)
        else:
            site_data.save(settings.data_path, result)
    return result


def from_manifest(comp: Component) -> ComponentData:
    """What is known with no network: the manifest's version and date."""
    entry = ComponentData(name=comp.name, origin="manifest")
    release = _manifest_release(comp)
    entry.releases = [release]
    entry.latest_stable = None if release.prerelease else release
    entry.latest_prerelease = release if release.prerelease else None
    return entry


def _manifest_release(comp: Component) -> Release:
    try:
        prerelease = bool(versions.is_prerelease(comp.version_scheme, comp.version))
    except VersionError:
        prerelease = False
    return Release(version=comp.version, tag=comp.tag_for(comp.version), date=comp.released.isoformat(),
                   prerelease=prerelease)


def _offline(comps: list[Component], previous: SiteData | None) -> SiteData:
    log.info("offline: no source asked; versions come from the manifest (or the last discovery)")
    result = SiteData(generated_at=site_data.utc_now(), mode="offline")
    for comp in comps:
        known = previous.components.get(comp.name) if previous else None
        result.components[comp.name] = known if known and known.origin == "upstream" else from_manifest(comp)
    return result


def _online(manifest: Manifest, comps: list[Component], previous: SiteData | None,
            settings: DiscoverSettings, obs_lookup: ObsLookup | None) -> SiteData:
    fetcher = Fetcher(settings.state_dir / "http", timeout=settings.timeout)
    lister: Once[dict[str, str]] = Once()
    if obs_lookup is None and (settings.obs_api or settings.obs_config):
        api = None
        if settings.obs_config:
            from releasetool.obs.api import Api, Settings

            api = Api(Settings(apiurl=settings.obs_api, config=settings.obs_config, retries=1))
        obs_lookup = sources.ObsReader(fetcher, settings.obs_api or (api.apiurl if api else ""),
                                       manifest.distribution.obs_project, api=api)
    checks = [check for comp in comps for check in _checks(comp, settings, fetcher, lister, obs_lookup)]
    log.info("discovering %d component%s from %d source%s (%d at a time)", len(comps), "s"[: len(comps) != 1],
             len(checks), "s"[: len(checks) != 1], settings.jobs)

    now = settings.clock()

    def run(check: _Check) -> tuple[_Check, SourceResult]:
        try:
            releases, extra = check.run()
        except ToolMissingError:
            raise  # git itself missing: no source can be read, say so once
        except ReleasetoolError as exc:  # SiteError, or ObsError from an OBS reader that logs in
            return check, SourceResult(url=check.url, ok=False, checked_at=now, error=exc.message)
        return check, SourceResult(url=check.url, ok=True, checked_at=now, last_success_at=now,
                                   releases=releases, extra=extra)

    with ThreadPoolExecutor(max_workers=max(1, settings.jobs), thread_name_prefix="discover") as pool:
        outcomes = list(pool.map(run, checks))
    by_component: dict[str, dict[str, SourceResult]] = {c.name: {} for c in comps}
    for check, outcome in outcomes:
        by_component[check.component][check.kind] = outcome

    result = SiteData(generated_at=site_data.utc_now(), mode="online", sources_total=len(checks))
    for comp in comps:
        known = previous.components.get(comp.name) if previous else None
        entry = _merge(comp, by_component[comp.name], known, now)
        result.components[comp.name] = entry
        for kind, outcome in by_component[comp.name].items():
            if not outcome.ok:
                result.sources_failed += 1
                result.failures.append({"component": comp.name, "source": kind, "error": outcome.error or ""})
                log.warning("%s: %s: %s", comp.name, kind, outcome.error)
    from releasetool.site import artifacts  # the tarballs' SHA-256, once the releases are known

    artifacts.annotate(comps, result.components, state_dir=settings.state_dir, fetcher=fetcher,
                       timeout=settings.timeout, jobs=settings.jobs)
    return result


def _checks(comp: Component, settings: DiscoverSettings, fetcher: Fetcher, lister: Once[dict[str, str]],
            obs_lookup: ObsLookup | None) -> list[_Check]:
    def plain(read: Callable[[], list[Release]]) -> Callable[[], tuple[list[Release], JsonObject]]:
        return lambda: (read(), {})

    checks = [_Check(comp.name, "git", comp.git,
                     plain(lambda: sources.git_releases(comp, lister, timeout=max(settings.timeout, 1.0))))]
    repo = sources.github_repo(comp.git)
    if repo:
        url = sources.github_releases_url(repo, settings.github_api)
        checks.append(_Check(comp.name, "github", url,
                             plain(lambda: sources.github_releases(comp, fetcher, settings.github_api,
                                                                   settings.github_token))))
    listing = sources.listing_url(comp)
    if listing:
        checks.append(_Check(comp.name, "tarballs", listing, plain(lambda: sources.tarball_releases(comp, fetcher))))
    if obs_lookup is not None:
        lookup = obs_lookup

        def obs() -> tuple[list[Release], JsonObject]:
            info = lookup(comp)
            return [], info

        checks.append(_Check(comp.name, "obs", f"obs:{comp.obs_package}", obs))
    return checks


def _merge(comp: Component, found: dict[str, SourceResult], known: ComponentData | None, now: str) -> ComponentData:
    """One component's entry from this run's source results (asked at ``now``) and its last known entry."""
    entry = ComponentData(name=comp.name, checked_at=now)
    for kind, outcome in found.items():
        if not outcome.ok:
            before = known.sources.get(kind) if known else None
            if before:  # keep the last good answer of this source
                outcome.releases = before.releases
                outcome.extra = before.extra
                outcome.last_success_at = before.last_success_at
            entry.errors.append(f"{kind}: {outcome.error}")
        entry.sources[kind] = outcome
    entry.stale = bool(entry.errors)
    if not entry.stale:
        entry.last_success_at = entry.checked_at
    elif known:
        entry.last_success_at = known.last_success_at
    answered = any(s.ok or s.last_success_at for s in entry.sources.values())
    entry.origin = "upstream" if answered else "manifest"
    obs = entry.sources.get("obs")
    entry.obs = dict(obs.extra) if obs and obs.extra else (known.obs if known else None)
    entry.releases = _combine(comp, [s.releases for s in entry.sources.values()])
    stable = [r for r in entry.releases if not r.prerelease]
    pre = [r for r in entry.releases if r.prerelease]
    entry.latest_stable = stable[0] if stable else None
    newest_pre = pre[0] if pre else None
    if newest_pre and (entry.latest_stable is None or _compare(comp, newest_pre.version, entry.latest_stable.version) > 0):
        entry.latest_prerelease = newest_pre
    return entry


def _compare(comp: Component, a: str, b: str) -> int:
    return int(versions.compare(comp.version_scheme, a, b))


def _combine(comp: Component, lists: list[list[Release]]) -> list[Release]:
    """Releases from every source (and the manifest), one per version, newest first.

    A date comes from the GitHub release, else from the tarball listing, else
    from the manifest; a version is a pre-release when its scheme says so or
    GitHub marks it so.
    """
    merged: dict[str, Release] = {}
    manifest_release = _manifest_release(comp)
    for release in [r for group in lists for r in group] + [manifest_release]:
        have = merged.get(release.version)
        if have is None:
            merged[release.version] = replace(release, files=list(release.files))  # a copy to merge into
            continue
        have.tag = have.tag or release.tag
        have.date = have.date or release.date
        have.prerelease = have.prerelease or release.prerelease
        have.url = have.url or release.url
        have.files = have.files + [f for f in release.files if f not in have.files]
        have.commit = have.commit or release.commit
        have.sha256, have.size = (have.sha256, have.size) if have.sha256 else (release.sha256, release.size)
    ordered = list(merged.values())
    ordered.sort(key=functools.cmp_to_key(lambda a, b: _compare(comp, a.version, b.version)), reverse=True)
    return ordered
