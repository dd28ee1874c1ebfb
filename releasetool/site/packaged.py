"""Which version each distribution target has of a component, and whether it is behind.

Two versions per target, each with a status in the spirit of Repology:

* **ours**: the version in the community distribution's OBS repository for
  that target.  It is the version of the package's source revision (the
  spec's ``Version:`` for rpm targets, the upstream part of the ``.dsc``'s
  ``Version:`` for deb targets, which debtransform builds from), counted as
  packaged only when the build of that revision succeeded on the target (on
  at least one architecture): a failed or pending build has no packages to
  install, whatever its source says;
* **distribution**: the version the distribution's own archive ships, where
  the manifest names it (``distro_versions``).

A status compares that version with the component's latest stable release
by the component's version scheme:

``newest``    the latest stable release;
``devel``     newer than it (a pre-release, or a release not seen upstream yet);
``legacy``    older, but the newest release of a release series upstream
              still maintained after a newer series began (pacemaker 2.1.x
              while 3.0 is out): behind, by design;
``outdated``  older, and not that;
``unknown``   no version (nothing built, not named) or none to compare with.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from markupsafe import Markup

from releasetool import versions
from releasetool.errors import VersionError
from releasetool.manifest import Component, Target

if TYPE_CHECKING:
    from releasetool.site.data import JsonObject

STATUSES = ("newest", "devel", "legacy", "outdated", "unknown")
STATUS_TEXT = {"newest": "newest", "devel": "newer than stable", "legacy": "legacy branch",
               "outdated": "outdated", "unknown": "unknown"}


class _Release(Protocol):
    version: str
    date: str | None
    prerelease: bool


@dataclass
class PackagedCell:
    target: str
    label: str
    family: str
    version: str | None  # ours: in the OBS repository; None when nothing is built
    status: str
    build_state: str | None  # the OBS result of the target (worst architecture)
    distro_version: str | None  # what the distribution itself ships, where the manifest says
    distro_status: str

    @property
    def status_text(self) -> str:
        return STATUS_TEXT[self.status]

    @property
    def distro_status_text(self) -> str:
        return STATUS_TEXT[self.distro_status]

    @functools.cached_property
    def html(self) -> Markup:
        """The cell as the index's matrix and the component page show it (made once for both)."""
        esc = html.escape
        if self.version:
            text = (f'<span class="v">{esc(self.version)}</span> '
                    f'<span class="pkg pkg-{self.status}">{self.status_text}</span>')
        else:
            text = '<span class="none">not built</span>'
            if self.build_state:
                text += f' <span class="kind">(build {esc(self.build_state)})</span>'
        if self.distro_version:
            text += (f'<br><span class="kind">{esc(self.label)} itself:</span> '
                     f'<span class="v">{esc(self.distro_version)}</span> '
                     f'<span class="pkg pkg-{self.distro_status}">{self.distro_status_text}</span>')
        return Markup(text)

    def to_json(self) -> dict[str, object]:
        return {"target": self.target, "label": self.label, "family": self.family,
                "version": self.version, "status": self.status, "build_state": self.build_state,
                "distribution_version": self.distro_version, "distribution_status": self.distro_status}


def cells(comp: Component, targets: list[Target], obs: JsonObject, build_states: dict[str, str | None],
          stable: _Release | None, history: Sequence[_Release]) -> list[PackagedCell]:
    """One cell per target of the component, in the manifest's order of targets."""
    shipped = dict(comp.distro_versions)
    rpm_version, deb_version = _text(obs.get("version")), _text(obs.get("deb_version"))
    found_results = obs.get("results")
    results: dict[object, object] = found_results if isinstance(found_results, dict) else {}
    found = []
    known: dict[str | None, str] = {}  # version -> status: most targets share one or two versions

    def status_of(version: str | None) -> str:
        if version not in known:
            known[version] = status(comp, version, stable, history)
        return known[version]

    for target in targets:
        built = any(str(code) == "succeeded" for key, code in results.items()
                    if str(key).split("/", 1)[0] == target.name)
        version = (deb_version if target.family == "deb" else rpm_version) if built else None
        distro = shipped.get(target.name)
        found.append(PackagedCell(target=target.name, label=target.label, family=target.family, version=version,
                                  status=status_of(version), build_state=build_states.get(target.name),
                                  distro_version=distro, distro_status=status_of(distro)))
    return found


def _text(value: object) -> str | None:
    return str(value) if isinstance(value, str) and value else None


def status(comp: Component, version: str | None, stable: _Release | None, history: Sequence[_Release]) -> str:
    if version is None or stable is None:
        return "unknown"
    try:
        order = versions.compare(comp.version_scheme, version, stable.version)
    except VersionError:
        return "unknown"
    if order == 0:
        return "newest"
    if order > 0:
        return "devel"
    return "legacy" if _maintained_series_head(comp, version, history) else "outdated"


_SERIES = re.compile(r"^(?:\d+:)?(\d+)\.(\d+)")


@functools.lru_cache(maxsize=4096)
def series(version: str) -> str | None:
    """The release series of a version: its first two numbers (``2.1.9`` -> ``2.1``)."""
    found = _SERIES.match(version)
    return f"{found.group(1)}.{found.group(2)}" if found else None


def _maintained_series_head(comp: Component, version: str, history: Sequence[_Release]) -> bool:
    """``version`` is the newest stable release of its series, and that series had a release after a newer one began."""
    own = series(version)
    if own is None:
        return False
    stable = [r for r in history if not r.prerelease]
    same = [r for r in stable if series(r.version) == own]
    if not same or same[0].version != version:  # history is newest first
        return False
    try:
        newer = [r for r in stable if versions.compare(comp.version_scheme, r.version, version) > 0
                 and series(r.version) != own]
    except VersionError:
        return False
    newer_dates = [r.date for r in newer if r.date]
    own_date = same[0].date
    # dates are YYYY-MM-DD, so text order is time order
    return bool(own_date and newer_dates and own_date > min(newer_dates))
