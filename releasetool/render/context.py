"""What the packaging templates see: a component of the manifest as template values.

:func:`component_context` turns a component, its release history and the
distribution into plain attributes (``c``, ``packaging``, ``packages``,
``changelog``...), already mapped to each format where the two differ (rpm
macros and Debian paths for the manifest's placeholders, binNMU-safe Debian
relations).  A value the manifest does not have is left out, so that a
template using it fails with the manifest path of the missing field.
:func:`by_hand_steps` reads ``templates/by-hand/NAME.j2``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING

from releasetool.errors import RenderError
from releasetool.render import filters as rf
from releasetool.render.filters import Verbatim

if TYPE_CHECKING:
    import jinja2

    from releasetool.manifest import Component, Manifest
    from releasetool.release.history import ReleaseEntry

DEBHELPER_COMPAT = 13
STANDARDS_VERSION = "4.6.2"  # the newest lintian 2.116 (Debian 12) knows

# ---------------------------------------------------------------------------
# The context: manifest values as the templates see them
# ---------------------------------------------------------------------------

class Fields(SimpleNamespace):
    """Attributes for a template; ``_where`` names the manifest path for error messages.

    A value that is None is left out, so that using it in a template is an
    error naming the field instead of the text "None".
    """

    def __init__(self, where: str, **values: object) -> None:
        super().__init__(**{k: v for k, v in values.items() if v is not None and v != ""})
        self._where = where


def _macros(values: Iterable[str]) -> list[Verbatim]:
    """Requirement lines meant as rpm/Debian syntax (``%{version}``, ``${binary:Version}``)."""
    return [Verbatim(v) for v in values]


def github_archive_top(comp: Component, version: str) -> str | None:
    """The top directory of GitHub's archive of the tag of ``version``, or None for a tarball not from there.

    GitHub's archive of a tag unpacks to REPO-TAG, without a "v" before a
    digit (pacemaker-Pacemaker-3.0.2, cluster-glue-glue-1.0.12); the spec's
    ``%autosetup -n`` names that directory.
    """
    github_archive = re.match(r"https://github\.com/[^/]+/([^/]+)/archive/", comp.tarball or "")
    if not github_archive:
        return None
    tag = re.sub(r"^v(?=\{version\})", "", comp.tag_pattern).replace("{name}", comp.name)
    return f"{github_archive.group(1)}-{tag.replace('{version}', version)}"


def component_context(manifest: Manifest, comp: Component, entries: Sequence[ReleaseEntry]) -> dict[str, object]:
    where = f"components[{comp.name}]"
    pk = comp.packaging
    pkg_version = rf.package_version(comp.version)
    source_url = None
    if comp.tarball:
        url = comp.tarball.replace("%", "%%").replace("{name}", "%{name}")
        # Source0 follows Version: through the macro when they are the same text.
        url = url.replace("{version}", "%{version}" if pkg_version == comp.version else comp.version)
        source_url = Verbatim(url)
    dep5, license_parts = rf.dep5_license(comp.license)
    source_dir = Verbatim("%{name}-%{version}" if pkg_version == comp.version else f"%{{name}}-{comp.version}")
    archive_top = github_archive_top(comp, "{version}")
    if archive_top:
        source_dir = Verbatim(archive_top.replace("%", "%%").replace(
            "{version}", "%{version}" if pkg_version == comp.version else comp.version))

    def uses_python(entries_: Iterable[str]) -> bool:
        return pk.build_system == "python" or any("{python3_sitelib}" in e for e in entries_)

    def shared_library(entries_: Iterable[str]) -> bool:
        """Ships a run-time shared library ({libdir}/libX.so.N): rpm needs ldconfig after (un)installing it."""
        return any(re.match(r"^\{libdir\}/[^/]*\.so\.", e.split()[-1]) for e in entries_ if e.strip())

    # A package of one format only takes its files from the other packages of that format.
    only = {fmt: {e for s in pk.subpackages if tuple(s.formats) == (fmt,) for e in s.files} for fmt in ("rpm", "deb")}

    def files(entries_: Iterable[str], at: str, *, own: tuple[str, ...] = ("rpm", "deb")) -> Fields:
        listed = tuple(entries_)
        single = len(own) == 1
        # a %ghost file is rpm's record of what the software writes at run time: a Debian
        # package has no such entry (dh_install would look for the file in the build)
        deb = [e for e in listed if (single or e not in only["deb"]) and not rf.is_ghost_entry(e)]
        return Fields(
            at,
            rpm=[Verbatim(rf.rpm_path(e, f"{at}.files")) for e in listed if single or e not in only["rpm"]],
            # dh_install copies a directory with everything in it: a %dir entry (the
            # directory alone) goes to debian/PACKAGE.dirs instead
            deb=[Verbatim(rf.deb_path(e, f"{at}.files")) for e in deb if not rf.is_dir_entry(e)],
            deb_dirs=[Verbatim(rf.deb_path(e, f"{at}.files")) for e in deb if rf.is_dir_entry(e)],
        )

    main_files = files(pk.files, f"{where}.packaging")
    main = Fields(
        f"{where}",
        name=comp.name,
        deb_name=pk.deb_name or comp.name,
        summary=rf.one_line(comp.summary),
        description=comp.description,
        rpm_requires=_macros(pk.requires.rpm),
        deb_depends=_macros(pk.requires.deb),
        files=main_files,
        units=list(pk.units),
        init_scripts=list(pk.init_scripts),
        docs=list(pk.docs),
        license_files=list(pk.license_files),
        arch=pk.arch,
        python=uses_python(pk.files),
        shared_library=shared_library(pk.files),
        main=True,
    )
    subpackages = []
    for index, sub in enumerate(pk.subpackages):
        at = f"{where}.packaging.subpackages[{index}]"
        subpackages.append(Fields(
            at,
            name=sub.name,
            deb_name=sub.deb_name,
            summary=rf.one_line(sub.summary),
            description=sub.description,
            rpm_requires=_macros(sub.requires.rpm),
            deb_depends=_macros(sub.requires.deb),
            files=files(sub.files, at, own=tuple(sub.formats)),
            formats=tuple(sub.formats),
            units=[],
            init_scripts=[],
            docs=[],
            license_files=[],
            arch=sub.arch,
            python=uses_python(sub.files),
            shared_library=shared_library(sub.files),
            main=False,
        ))
    # A main package with nothing of its own is not built when subpackages carry everything.
    has_main = bool(pk.files or pk.units or pk.init_scripts or pk.docs or not subpackages)
    packages = ([main] if has_main else []) + [s for s in subpackages if "deb" in s.formats]
    subpackages = [s for s in subpackages if "rpm" in s.formats]  # what the spec file has
    _binnmu_safe(packages)
    all_files = [*pk.files, *(f for sub in pk.subpackages for f in sub.files)]
    packaging = Fields(
        f"{where}.packaging",
        build_system=pk.build_system,
        uses_python=pk.build_system == "python" or bool(pk.python_subdir)
        or any("{python3_sitelib}" in f for f in all_files),
        python_subdir=pk.python_subdir,
        deb_build_system=pk.deb_build_system,
        rpm_configure_options=[Verbatim(rf.rpm_option(o, f"{where}.packaging.configure_options")) for o in pk.configure_options],
        deb_configure_options=[Verbatim(rf.deb_option(o, f"{where}.packaging.configure_options")) for o in pk.configure_options],
        rpm_build_requires=_macros(pk.build_requires.rpm),
        deb_build_depends=_macros(pk.build_requires.deb),
        units=list(pk.units),
        init_scripts=list(pk.init_scripts),
        docs=list(pk.docs),
        license_files=list(pk.license_files),
        section=pk.section,
        arch=pk.arch,
    )
    changelog = [
        Fields(
            f"history/{comp.name}.json[{entry.version}]",
            version=entry.version,
            pkg_version=rf.package_version(entry.version),
            date=entry.date,
            packager=entry.packager or manifest.distribution.packager,
            changes=[c.subject for c in entry.changes] or [f"Update to upstream release {entry.version}"],
            rpm_lines=[Verbatim(rf.spec_text(line)) for line in rf.changelog_items(
                [c.subject for c in entry.changes] or [f"Update to upstream release {entry.version}"], 79, "- ", "  ")],
            deb_lines=rf.changelog_items(
                [c.subject for c in entry.changes] or [f"New upstream release {entry.version}"], 78, "  * ", "    "),
            changes_lines=[Verbatim(line) for line in rf.changelog_items(
                [c.subject for c in entry.changes], 67, "  * ", "    ")],
        )
        for entry in entries
    ]
    return {
        "c": Fields(
            where,
            name=comp.name,
            version=comp.version,
            pkg_version=pkg_version,
            summary=rf.one_line(comp.summary),
            description=comp.description,
            homepage=comp.homepage,
            license=comp.license,
            dep5_license=dep5,
            dep5_parts=license_parts,
            git=comp.git,
            tag_pattern=comp.tag_pattern,
            tarball=source_url,  # Source0: the tarball URL with rpm macros
            source_dir=source_dir,
            watch=_watch(comp),
            version_scheme=comp.version_scheme,
        ),
        "packaging": packaging,
        "packages": packages,
        "main": main,
        "has_main": has_main,
        "subpackages": subpackages,
        "changelog": changelog,
        "dist": Fields(
            "distribution",
            name=manifest.distribution.name,
            packager=manifest.distribution.packager,
        ),
        "debhelper_compat": DEBHELPER_COMPAT,
        "standards_version": STANDARDS_VERSION,
    }


BY_HAND_ACTIONS = ("install", "move", "delete", "chmod MODE", "interpreter PATH")
_CHMOD = re.compile(r"^chmod (0?[0-7]{3})$")
_INTERPRETER = re.compile(r"^interpreter (/[A-Za-z0-9_./+-]+)$")


def by_hand_steps(env: jinja2.Environment, comp: Component) -> list[Fields]:
    """What upstream's own packaging does by hand after ``make install``, for both formats.

    ``templates/by-hand/NAME.j2`` sets ``steps``, a list of
    ``(source, destination, mode_or_action)``: copy a file of the source tree
    (``mode`` like ``"0644"``), ``"move"`` a file within the installed tree,
    or ``"delete"`` one (destination empty); for an installed file (destination
    empty) ``"chmod 0755"`` sets its mode without touching its time (byte code
    records the time of its source) and ``"interpreter /usr/bin/python3"``
    names its interpreter on the #! line instead of ``env`` (Fedora's build
    does it by itself, openSUSE's and Debian's packaging by hand).  The
    template sees ``version`` and ``at_least(VERSION)`` for steps that only
    some releases need.  Installed
    paths use the manifest's placeholders, so the spec and debian/rules say
    the same thing.
    """
    import jinja2

    from releasetool import versions

    try:
        template = env.get_template(f"by-hand/{comp.packaging.templates or comp.name}.j2")
    except jinja2.TemplateNotFound:
        return []
    # at_least("5.0"): whether the packaged version is that one or newer (steps that only
    # some releases need)
    module = template.make_module({
        "version": comp.version,
        "at_least": lambda bound: versions.compare(comp.version_scheme, comp.version, bound) >= 0,
    })
    where = f"templates/by-hand/{comp.packaging.templates or comp.name}.j2"
    steps = []
    for index, item in enumerate(getattr(module, "steps", [])):
        if not (isinstance(item, (list, tuple)) and len(item) == 3 and all(isinstance(v, str) for v in item)):
            raise RenderError(f"{where}: steps[{index}] must be (source, destination, mode or action)",
                              hint='e.g. ("src/x.service", "{unitdir}/x.service", "0644")')
        source, dest, mode = item
        chmod, interpreter = _CHMOD.match(mode), _INTERPRETER.match(mode)
        action = mode if mode in ("move", "delete") else "chmod" if chmod else "interpreter" if interpreter \
            else "install"
        if action == "install" and not re.fullmatch(r"0?[0-7]{3}", mode):
            raise RenderError(f"{where}: steps[{index}]: {mode!r} is neither a file mode nor one of {', '.join(BY_HAND_ACTIONS)}")
        at = f"{where}: steps[{index}]"
        installed_source = action != "install"
        steps.append(Fields(
            at,
            action=action,
            mode=chmod.group(1) if chmod else mode,
            interpreter=interpreter.group(1) if interpreter else None,
            source=Verbatim(source) if not installed_source else None,
            rpm_source=Verbatim(rf.rpm_option(source, at)) if installed_source else None,
            deb_source=Verbatim(rf.deb_rules_path(source, at)) if installed_source else None,
            rpm_dest=Verbatim(rf.rpm_option(dest, at)) if dest else None,
            deb_dest=Verbatim(rf.deb_rules_path(dest, at)) if dest else None,
            rpm_dest_dir=Verbatim(rf.rpm_option(dest, at).rsplit("/", 1)[0]) if dest else None,
            deb_dest_dir=Verbatim(rf.deb_rules_path(dest, at).rsplit("/", 1)[0]) if dest else None,
        ))
    return steps


def removal_steps(comp: Component) -> list[Fields]:
    """The manifest's ``packaging.remove``: installed paths no package ships, deleted (``rm -rf``) after install.

    For what ``make install`` writes that neither format packages, e.g. the
    copies of README and COPYING some projects install into their doc
    directory while the packages install their own.
    """
    steps = []
    for index, path in enumerate(comp.packaging.remove):
        at = f"components[{comp.name}].packaging.remove[{index}]"
        steps.append(Fields(at, action="delete", mode="delete", source=None,
                            rpm_source=Verbatim(rf.rpm_option(path, at)), deb_source=Verbatim(rf.deb_rules_path(path, at)),
                            rpm_dest=None, deb_dest=None, rpm_dest_dir=None, deb_dest_dir=None))
    for index, path in enumerate(comp.packaging.hardlink):
        at = f"components[{comp.name}].packaging.hardlink[{index}]"
        # util-linux's hardlink, by content alone (-c): install times and modes may differ
        steps.append(Fields(at, action="hardlink", mode="hardlink", source=None,
                            rpm_source=Verbatim(rf.rpm_option(path, at)), deb_source=Verbatim(rf.deb_rules_path(path, at)),
                            rpm_dest=None, deb_dest=None, rpm_dest_dir=None, deb_dest_dir=None))
    return steps


_EXACT_BINARY = re.compile(r"^(?P<name>[a-z0-9][a-z0-9+.-]*)(?P<arch>:\S+)?\s*\(\s*=\s*\$\{binary:Version\}\s*\)$")


def _binnmu_safe(packages: list[Fields]) -> None:
    """Exact relations between ``Architecture: all`` and ``any`` packages of this source, made binNMU-safe.

    A binNMU rebuilds only the ``any`` packages, with a new ${binary:Version}
    (the source version plus ``+bN``), so an exact ${binary:Version} relation
    across the two kinds could never be satisfied.  As lintian's
    not-binnmuable-any-depends-all and not-binnmuable-all-depends-any say: an
    ``any`` package depends on an ``all`` one with ``= ${source:Version}``, an
    ``all`` package on an ``any`` one with a range from ${source:Version} to
    just below the next upload.
    """
    arch_of = {p.deb_name: p.arch for p in packages}
    for package in packages:
        fixed: list[Verbatim] = []
        for dep in package.deb_depends:
            match = _EXACT_BINARY.match(dep.strip())
            target = match["name"] + (match["arch"] or "") if match else ""
            if not match or arch_of.get(match["name"], package.arch) == package.arch:
                fixed.append(dep)
            elif package.arch == "all":
                fixed.append(Verbatim(f"{target} (>= ${{source:Version}})"))
                fixed.append(Verbatim(f"{target} (<< ${{source:Version}}.1~)"))
            else:
                fixed.append(Verbatim(f"{target} (= ${{source:Version}})"))
        package.deb_depends = fixed


def _regex_escape(text: str) -> str:
    return "".join("\\" + ch if ch in ".+*?()[]{}|^$\\" else ch for ch in text)


def _watch(comp: Component) -> Fields | None:
    """Where uscan looks for new releases: the tags page on GitHub, else the tarball's directory."""
    if not comp.tarball:
        return None
    tag_re = _regex_escape(comp.tag_pattern.replace("{name}", comp.name)).replace(r"\{version\}", r"(\d[\d.]*)")
    tag_re = tag_re.replace("{version}", r"(\d[\d.]*)")
    git = comp.git.removesuffix(".git")
    if git.startswith("https://github.com/"):
        return Fields(
            "watch",
            filenamemangle=Verbatim(f"s%.*/{tag_re}\\.tar\\.gz%@PACKAGE@-$1.tar.gz%"),
            url=Verbatim(f"{git}/tags"),
            pattern=Verbatim(f".*/archive/refs/tags/{tag_re}\\.tar\\.gz"),
        )
    directory, _, filename = comp.tarball.rpartition("/")
    file_re = _regex_escape(filename.replace("{name}", comp.name)).replace(r"\{version\}", r"(\d[\d.]*)")
    file_re = file_re.replace("{version}", r"(\d[\d.]*)")
    directory = directory.replace("{name}", comp.name).replace("{version}", r"(\d[\d.]*)")
    return Fields("watch", filenamemangle=None, url=Verbatim(directory + "/"), pattern=Verbatim(file_re))
