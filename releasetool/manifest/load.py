"""Reading components.yaml: YAML with positions, validation, a cache of validated manifests, the typed model."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from releasetool.errors import ManifestError, Problem
from releasetool.manifest.model import (
    Component,
    Distribution,
    Manifest,
    Packaging,
    PerFamily,
    SplitPath,
    SplitSource,
    Subpackage,
    Target,
    VersionedPackaging,
)
from releasetool.manifest.validate import Collector, Node, node_pos, parse_date, validate_tree

if TYPE_CHECKING:
    from ruamel.yaml import YAML

# The round-trip tree once validate_tree found no problem.  ruamel.yaml's
# load() returns Any and the schema, not the type system, guarantees the shape:
# the builders below read its fields as validated and convert each one with
# str() / _strs(), so the tree stays Any in this one alias.
ValidTree = Any


def yaml_parser() -> YAML:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml

def read_raw(path: Path) -> tuple[str, Node]:
    """The text of the manifest and its parsed round-trip tree, or a ManifestError."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    file = str(path)
    try:
        text = path.read_bytes().decode("utf-8")  # bytes first: keep CRLF line ends as they are
    except FileNotFoundError:
        raise ManifestError(
            [Problem(file, 1, 1, "", "no such file")],
            hint="pass --manifest FILE or set RELEASETOOL_MANIFEST",
        ) from None
    except UnicodeDecodeError as exc:
        before = path.read_bytes()[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise ManifestError(
            [Problem(file, line, col, "", f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x})")],
            hint="save the file as UTF-8",
        ) from None
    except OSError as exc:
        raise ManifestError([Problem(file, 1, 1, "", f"cannot read: {exc.strerror}")]) from None
    try:
        data = yaml_parser().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "YAML syntax error"
        if "duplicate key" in f"{exc.problem} {exc.context}":
            what = "duplicate key (each key may appear once in a mapping)"
        raise ManifestError(
            [Problem(file, line, col, "", f"YAML syntax error: {what}")],
            hint="fix the YAML at that line (indent with spaces; quote values with ':' or '#')",
        ) from None
    except YAMLError as exc:
        raise ManifestError([Problem(file, 1, 1, "", f"YAML syntax error: {exc}")]) from None
    except ValueError as exc:
        # ruamel builds dates while loading; an impossible one (2024-13-45)
        # raises without a position, so find the offending token ourselves.
        line, col, token = _find_bad_date(text)
        raise ManifestError(
            [Problem(file, line, col, "", f"{token!r} is not a valid date: {exc}")],
            hint="write dates as YYYY-MM-DD",
        ) from None
    except RecursionError:
        raise ManifestError([Problem(file, 1, 1, "", "YAML nesting too deep")]) from None
    return text, data

def _find_bad_date(text: str) -> tuple[int, int, str]:
    for number, line in enumerate(text.splitlines(), start=1):
        for match in re.finditer(r"\b\d{4}-\d{1,2}-\d{1,2}\b", line):
            if parse_date(match.group()) is None:
                return number, match.start() + 1, match.group()
    return 1, 1, "?"


def load(path: str | Path) -> Manifest:
    """Read and validate the manifest; raise ManifestError listing every problem.

    A manifest that validated before is read from a cache keyed by its bytes
    and by the code that validates it (parsing YAML with positions is the
    slow part of every command); a changed file or a changed releasetool
    misses the cache and is validated again.
    """
    manifest_path = Path(path)
    key = _cache_key(manifest_path)
    cached = _cache_read(key) if key else None
    if cached is not None:
        return replace(cached, path=manifest_path)
    loaded = _load_uncached(manifest_path)
    if key:
        _cache_write(key, loaded)
    return loaded


def cache_dir() -> Path:
    import os

    base = os.environ.get("RELEASETOOL_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "releasetool")
    return Path(base) / "manifest"


def _cache_key(path: Path) -> str | None:
    import hashlib

    try:
        digest = hashlib.sha256(path.read_bytes())
    except OSError:
        return None
    # The code that validates and builds the model is part of the key: the
    # modules of this package and the two shared ones it calls.
    package = Path(__file__).parent
    modules = [*sorted(package.glob("*.py")), package.parent / "versions.py", package.parent / "spdx.py"]
    for module in modules:
        try:
            st = module.stat()
        except OSError:
            return None
        digest.update(f"{module.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()


def _cache_read(key: str) -> Manifest | None:
    import pickle

    try:
        with open(cache_dir() / f"{key}.pickle", "rb") as handle:
            loaded = pickle.load(handle)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, ValueError):
        return None
    return loaded if isinstance(loaded, Manifest) else None


def _cache_write(key: str, loaded: Manifest) -> None:
    import pickle

    from releasetool.fsutil import atomic_write

    try:
        # private: the manifest may hold what only its owner should read
        atomic_write(cache_dir() / f"{key}.pickle", pickle.dumps(loaded, protocol=pickle.HIGHEST_PROTOCOL),
                     mode=0o600)
    except OSError:
        pass  # a read-only cache only costs speed


def _load_uncached(manifest_path: Path) -> Manifest:
    _, data = read_raw(manifest_path)
    out = Collector(str(manifest_path))
    if data is None:
        out.add((0, 0), "", "the manifest is empty (expected schema, distribution, targets, components)")
    else:
        validate_tree(data, out)
    if out.problems:
        out.problems.sort(key=lambda p: (p.line, p.col))
        raise ManifestError(out.problems, hint="fix the lines above; `releasetool validate` checks again")
    return _build(manifest_path, data)

# ---------------------------------------------------------------------------
# Building the typed model
# ---------------------------------------------------------------------------

def _strs(value: ValidTree) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if value else ()

def _per_family(node: ValidTree) -> PerFamily:
    if not node:
        return PerFamily()
    return PerFamily(rpm=_strs(node.get("rpm")), deb=_strs(node.get("deb")))

def _text(value: object) -> str:
    return str(value).strip("\n") if value is not None else ""

def _build(path: Path, data: ValidTree) -> Manifest:
    dist = data["distribution"]
    distribution = Distribution(
        name=str(dist["name"]),
        obs_project=str(dist["obs_project"]),
        obs_apiurl=str(dist.get("obs_apiurl", "https://api.opensuse.org")),
        download_url=str(dist.get("download_url", "")),
        site_url=str(dist.get("site_url", "")),
        packager=str(dist.get("packager", "")),
    )
    targets = {
        str(t["name"]): Target(
            name=str(t["name"]),
            label=str(t["label"]),
            family=str(t["family"]),
            project=str(t["project"]),
            repository=str(t["repository"]),
            archs=_strs(t["archs"]),
        )
        for t in data["targets"]
    }
    components = [_component(c, targets) for c in data["components"]]
    return Manifest(path=path, distribution=distribution, targets=targets, components=_dependency_order(components))

def _component(c: ValidTree, targets: dict[str, Target]) -> Component:
    name = str(c["name"])
    released = c["released"]
    if isinstance(released, str):
        released = dt.date.fromisoformat(released)
    elif isinstance(released, dt.datetime):
        released = released.date()
    split = None
    if c.get("split"):
        s = c["split"]
        split = SplitSource(
            repository=str(s["repository"]),
            paths=tuple(SplitPath(str(p["from"]), str(p.get("to", ""))) for p in s["paths"]),
            branch=str(s.get("branch", "master")),
            tag_pattern=str(s["tag_pattern"]) if s.get("tag_pattern") else None,
        )
    packaging = _packaging(c.get("packaging") or {}, name)
    return Component(
        name=name,
        status=str(c.get("status", "active")),
        summary=str(c["summary"]).strip(),
        description=_text(c["description"]),
        homepage=str(c["homepage"]),
        license=str(c["license"]),
        git=str(c["git"]),
        tag_pattern=str(c["tag_pattern"]),
        version_scheme=str(c["version_scheme"]),
        version=str(c["version"]),
        released=released,
        tarball=str(c["tarball"]) if c.get("tarball") else None,
        tarball_formats=_strs(c.get("tarball_formats")) or ("gz",),
        tarball_method=str(c.get("tarball_method") or "git-archive"),
        dist_command=str(c.get("dist_command") or ""),
        dist_timezone=str(c.get("dist_timezone") or "UTC"),
        tarball_sha256=str(c.get("tarball_sha256") or ""),
        depends=_strs(c.get("depends")),
        obs_package=str(c.get("obs_package", name)),
        targets=_strs(c.get("targets")) or tuple(targets),
        split=split,
        packaging=packaging,
        ignore_tags=_strs(c.get("ignore_tags")),
        notes=_text(c.get("notes")),
        distro_versions=tuple((str(k), str(v)) for k, v in (c.get("distro_versions") or {}).items()),
        line=node_pos(c)[0] + 1,
    )


def _packaging(pk: ValidTree, name: str) -> Packaging:
    """The packaging mapping of a component as the model, its version ranges each made complete."""
    return Packaging(
        build_system=str(pk.get("build_system", "autotools")),
        configure_options=_strs(pk.get("configure_options")),
        build_requires=_per_family(pk.get("build_requires")),
        requires=_per_family(pk.get("requires")),
        units=_strs(pk.get("units")),
        init_scripts=_strs(pk.get("init_scripts")),
        docs=_strs(pk.get("docs")),
        license_files=_strs(pk.get("license_files")),
        files=_strs(pk.get("files")),
        remove=_strs(pk.get("remove")),
        hardlink=_strs(pk.get("hardlink")),
        patches=_strs(pk.get("patches")),
        unshipped=tuple((str(u["path"]), _text(u["why"])) for u in pk.get("unshipped") or ()),
        section=str(pk.get("section", "admin")),
        arch=str(pk.get("arch", "any")),
        deb_name=str(pk.get("deb_name", name)),
        templates=str(pk.get("templates", "")),
        python_subdir=str(pk.get("python_subdir", "")),
        deb_build_system=str(pk.get("deb_build_system", "")),
        subpackages=tuple(
            Subpackage(
                name=str(s["name"]),
                deb_name=str(s.get("deb_name", s["name"])),
                summary=str(s["summary"]),
                description=_text(s["description"]),
                requires=_per_family(s.get("requires")),
                files=_strs(s.get("files")),
                arch=str(s.get("arch", pk.get("arch", "any"))),
                formats=_strs(s.get("formats")) or ("rpm", "deb"),
            )
            for s in pk.get("subpackages") or ()
        ),
        by_version=tuple(VersionedPackaging(str(v["versions"]), _packaging(_within_range(pk, v), name))
                         for v in pk.get("by_version") or ()),
        # each format's packaging, made complete from this one (a version range's included)
        by_format=tuple((str(fmt), _packaging(_within_range({k: v for k, v in pk.items() if k != "by_format"},
                                                            changes or {}), name))
                        for fmt, changes in (pk.get("by_format") or {}).items()),
    )


def _within_range(base: ValidTree, changes: ValidTree) -> dict[str, ValidTree]:
    """The packaging mapping of a version range (or of one format): ``base`` with the fields ``changes`` names replaced.

    ``more_files`` adds files to the list instead of replacing it, ``omit_files``
    takes entries out of it.  Sub-packages
    are matched by name: the fields a range gives for one replace those of the
    package of that name; a name the base lacks adds a package;
    ``omit_subpackages`` names the base's packages these versions do not have.
    """
    merged = _with_changed_files({k: v for k, v in base.items() if k != "by_version"}, changes)
    omitted = set(changes.get("omit_subpackages") or ())
    if "subpackages" in changes or omitted:
        subs = [dict(s) for s in base.get("subpackages") or () if s["name"] not in omitted]
        for change in changes.get("subpackages") or ():
            same = next((s for s in subs if s["name"] == change["name"]), None)
            if same is None:
                subs.append(_with_changed_files({}, change))
            else:
                same.update(_with_changed_files(same, change))
        merged["subpackages"] = subs
    return merged


def _with_changed_files(base: ValidTree, changes: ValidTree) -> dict[str, ValidTree]:
    """``base`` with the fields of ``changes``; its ``omit_files`` taken from the files, ``more_files`` added."""
    merged = dict(base)
    merged.update({k: v for k, v in changes.items()
                   if k not in ("versions", "subpackages", "omit_subpackages", "more_files", "omit_files")})
    if changes.get("more_files") or changes.get("omit_files"):
        omitted = set(changes.get("omit_files") or ())
        merged["files"] = [*(f for f in merged.get("files") or () if f not in omitted), *(changes.get("more_files") or ())]
    return merged


def _dependency_order(components: list[Component]) -> dict[str, Component]:
    """Topological order by ``depends``; ties keep manifest order (deterministic)."""
    by_name = {c.name: c for c in components}
    ordered: dict[str, Component] = {}

    def place(comp: Component) -> None:
        if comp.name in ordered:
            return
        for dep in comp.depends:
            place(by_name[dep])
        ordered[comp.name] = comp

    for comp in components:
        place(comp)
    return ordered
