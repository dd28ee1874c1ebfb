"""The typed manifest: frozen dataclasses for the distribution, its targets and its components."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from releasetool.errors import UnknownComponentError

# ---------------------------------------------------------------------------
# Typed model
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """A distribution the community distro builds for, as an OBS repository."""

    name: str
    label: str
    family: str  # "rpm" or "deb"
    project: str
    repository: str
    archs: tuple[str, ...]

@dataclass(frozen=True)
class Distribution:
    name: str
    obs_project: str
    obs_apiurl: str
    download_url: str
    site_url: str
    packager: str

@dataclass(frozen=True)
class PerFamily:
    """A list given separately for rpm and Debian packaging (names differ)."""

    rpm: tuple[str, ...] = ()
    deb: tuple[str, ...] = ()

@dataclass(frozen=True)
class Subpackage:
    name: str  # the rpm name; the Debian name is deb_name
    deb_name: str
    summary: str
    description: str
    requires: PerFamily
    files: tuple[str, ...]
    arch: str  # "any" or "all"
    # The formats that have this package: ("rpm", "deb") by default.  A package of
    # one format only takes its files from the other packages of that format
    # (Debian's libqb-tools holds qb-blackbox, which upstream's rpm keeps in libqb).
    formats: tuple[str, ...] = ("rpm", "deb")

@dataclass(frozen=True)
class Packaging:
    build_system: str = "autotools"
    configure_options: tuple[str, ...] = ()
    build_requires: PerFamily = PerFamily()
    requires: PerFamily = PerFamily()
    units: tuple[str, ...] = ()
    init_scripts: tuple[str, ...] = ()
    docs: tuple[str, ...] = ()
    license_files: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()  # installed paths (files or directories) no package ships, removed after install
    # installed directories whose identical files become hard links (rpmlint's files-duplicated-waste)
    hardlink: tuple[str, ...] = ()
    patches: tuple[str, ...] = ()  # patch files (paths relative to the manifest), applied with -p1 in order
    # Files upstream's spec or Debian's packages ship that these packages do not, each with the reason:
    # (path template, why).  The real-build check counts them as justified.
    unshipped: tuple[tuple[str, str], ...] = ()
    section: str = "admin"
    arch: str = "any"
    deb_name: str = ""  # the Debian name of the main binary package; "" means the component's name
    templates: str = ""  # whose component templates apply ("" means the component's own; "base": none)
    # A Python package in this subdirectory of the source, built and installed after the main
    # build with its own setup.py (pacemaker's python/ since 2.1.x's successor layout)
    python_subdir: str = ""
    # debhelper's build system (dh --buildsystem) when its guess from the files in the tarball is
    # wrong: crmsh's tarball has a setup.py and no configure yet, so dh would pick the Python one
    deb_build_system: str = ""
    subpackages: tuple[Subpackage, ...] = ()
    # The packaging of the versions in a range, where upstream's build changed: the first range
    # that holds a version gives its whole packaging (the fields it names replace these).
    by_version: tuple[VersionedPackaging, ...] = ()
    # The packaging of one format where upstream's build differs by distribution ("rpm" or "deb"
    # -> its complete packaging): pcs's configure picks Fedora's or Debian's layout.
    by_format: tuple[tuple[str, Packaging], ...] = ()

    def for_format(self, fmt: str) -> Packaging:
        """The packaging of format ``fmt`` (``rpm`` or ``deb``): this one with the format's changes."""
        return dict(self.by_format).get(fmt, self)

@dataclass(frozen=True)
class VersionedPackaging:
    versions: str  # a version range: ">= 2.1, < 3.0"
    packaging: Packaging  # the packaging of the versions in the range, complete

@dataclass(frozen=True)
class SplitPath:
    source: str  # directory in the monolithic tree
    target: str  # directory in the component repository ("" for its root)

@dataclass(frozen=True)
class SplitSource:
    repository: str
    paths: tuple[SplitPath, ...]
    branch: str
    tag_pattern: str | None

@dataclass(frozen=True)
class Component:
    name: str
    status: str
    summary: str
    description: str
    homepage: str
    license: str
    git: str
    tag_pattern: str
    version_scheme: str
    version: str
    released: dt.date
    tarball: str | None
    tarball_formats: tuple[str, ...]
    depends: tuple[str, ...]
    obs_package: str
    targets: tuple[str, ...]
    split: SplitSource | None
    packaging: Packaging
    ignore_tags: tuple[str, ...] = ()  # fnmatch patterns of tags that are not releases
    tarball_method: str = "git-archive"  # git-archive | dist: how upstream makes its tarball
    dist_command: str = ""  # the shell command of the dist method ("" = the build system's default)
    dist_timezone: str = "UTC"  # TZ of the dist command: dates it writes (ChangeLog) follow it
    tarball_sha256: str = ""  # SHA-256 of upstream's published tarball of ``version`` (the ``tarball`` URL)
    notes: str = ""
    # target name -> the upstream version the distribution itself ships (e.g. Debian 12's own archive)
    distro_versions: tuple[tuple[str, str], ...] = ()
    line: int = 0

    @property
    def active(self) -> bool:
        return self.status == "active"

    def at_version(self, version: str) -> Component:
        """This component at ``version``, with the packaging of the version range holding it."""
        from dataclasses import replace

        from releasetool import versions

        packaging = next((v.packaging for v in self.packaging.by_version
                          if versions.in_range(self.version_scheme, version, v.versions)), self.packaging)
        return replace(self, version=version, packaging=packaging)

    def for_format(self, fmt: str) -> Component:
        """This component as packaged in format ``fmt`` (``rpm`` or ``deb``), after its version range."""
        from dataclasses import replace

        return replace(self, packaging=self.packaging.for_format(fmt))

    def is_ignored_tag(self, tag: str) -> bool:
        """A tag the manifest says is not a release (a stray or mistaken tag upstream)."""
        import fnmatch

        return any(fnmatch.fnmatchcase(tag, pattern) for pattern in self.ignore_tags)

    def tag_for(self, version: str) -> str:
        return self.tag_pattern.replace("{version}", version).replace("{name}", self.name)

    def tarball_url(self, version: str | None = None, fmt: str | None = None) -> str | None:
        if not self.tarball:
            return None
        url = self.tarball.replace("{version}", version or self.version).replace("{name}", self.name)
        if fmt and url.endswith((".tar.gz", ".tar.xz")):
            url = url[: -len("gz")] + fmt
        return url

@dataclass(frozen=True)
class Manifest:
    path: Path
    distribution: Distribution
    targets: dict[str, Target]
    components: dict[str, Component]  # in dependency order

    def get(self, name: str) -> Component:
        try:
            return self.components[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self.components), n=1)
            raise UnknownComponentError(
                f"{self.path}: no component named {name!r}"
                + (f" (did you mean {close[0]!r}?)" if close else ""),
                hint="`releasetool list` shows every component",
            ) from None

    def select(self, names: Iterable[str], *, all_: bool = False, active_only: bool = True) -> list[Component]:
        """The named components (or all of them) in dependency order."""
        if all_:
            return [c for c in self.components.values() if c.active or not active_only]
        wanted = {self.get(n).name for n in names}
        return [c for c in self.components.values() if c.name in wanted]

    def targets_of(self, component: Component) -> list[Target]:
        return [self.targets[t] for t in component.targets]
