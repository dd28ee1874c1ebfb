"""components.yaml: reading, validation, typed components and round-trip edits.

This is the one place that reads the manifest.  :func:`load` parses it with
ruamel.yaml (which keeps line and column of every node), checks everything
against :data:`SCHEMA`, reports *all* problems at once as
``FILE:LINE:COL: field.path: what is wrong (what is allowed)``, and returns a
:class:`Manifest` of frozen dataclasses with components in dependency order.

:func:`set_release` changes one component's ``version`` and ``released`` by
editing the scalar tokens in the file's text, so that every other byte
(comments, order, quoting, blank lines) stays as it was.

The schema is documented in ``docs/manifest.md``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from releasetool import spdx
from releasetool.errors import ManifestError, Problem, UnknownComponentError

SCHEMA_VERSION = 1

# Debian policy 5.6.1 is the stricter of the two naming rules (rpm also allows
# upper case): lower case letters, digits, '+', '-', '.', at least two
# characters, starting with a letter or digit.  It also keeps a name from
# escaping a directory: no '/', no leading '.', no spaces.
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
# OBS repository names: letters, digits, '_', '.', '-', ':'.
TARGET_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
VERSION_SCHEMES = ("rpm", "debian", "pep440", "semver")
STATUSES = ("active", "retired")
TARBALL_FORMATS = ("gz", "xz")
BUILD_SYSTEMS = ("autotools", "make", "python", "cmake", "meson", "none")
FAMILIES = ("rpm", "deb")
# OBS architecture names (not Debian's amd64/arm64).
OBS_ARCHS = ("x86_64", "aarch64", "i586", "armv7l", "ppc64le", "s390x", "riscv64")
URL_SCHEMES = ("http", "https", "git", "ssh", "file")
PATH_PLACEHOLDERS = (
    "bindir", "sbindir", "libdir", "libexecdir", "includedir", "datadir", "mandir",
    "docdir", "sysconfdir", "localstatedir", "unitdir", "initddir", "tmpfilesdir",
    "pkgconfigdir", "python3_sitelib", "ocfdir",
)

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
    section: str = "admin"
    arch: str = "any"
    deb_name: str = ""  # the Debian name of the main binary package; "" means the component's name
    templates: str = ""  # whose component templates apply ("" means the component's own; "base": none)
    subpackages: tuple[Subpackage, ...] = ()

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
    notes: str = ""
    line: int = 0

    @property
    def active(self) -> bool:
        return self.status == "active"

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

# ---------------------------------------------------------------------------
# Schema: what each mapping may hold
# ---------------------------------------------------------------------------

Check = Callable[[Any], str | None]

@dataclass(frozen=True)
class Field:
    kind: str  # str, int, date, list, map, text
    required: bool = False
    check: Check | None = None
    items: str | dict[str, Field] | None = None  # list items: "str" or a mapping schema
    schema: dict[str, Field] | None = None  # for "map"
    allowed: str = ""  # shown after the message: (what is allowed)

def _one_of(values: tuple[str, ...]) -> Check:
    def check(value: Any) -> str | None:
        if value in values:
            return None
        close = difflib.get_close_matches(str(value), values, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown value {value!r} (one of: {', '.join(values)}{hint})"

    return check

def _url(value: Any) -> str | None:
    parts = urlsplit(str(value))
    if parts.scheme not in URL_SCHEMES:
        return f"{value!r} is not a URL (scheme one of: {', '.join(URL_SCHEMES)})"
    if parts.scheme != "file" and not parts.netloc:
        return f"{value!r} is not a URL (no host)"
    if any(ch.isspace() for ch in str(value)):
        return f"{value!r} is not a URL (contains white space)"
    return None

def _name(value: Any) -> str | None:
    if NAME_RE.match(str(value)):
        return None
    return (
        f"{value!r} is not a valid package name "
        "(lower case letters, digits, '+', '-', '.'; at least 2 characters; starting with a letter or digit)"
    )

def _tag_pattern(value: Any) -> str | None:
    text = str(value)
    if text.count("{version}") != 1:
        return f"{value!r} must contain {{version}} exactly once (e.g. 'v{{version}}')"
    rest = text.replace("{version}", "").replace("{name}", "")
    if "{" in rest or "}" in rest:
        return f"{value!r} has an unknown placeholder (only {{version}} and {{name}})"
    sample = text.replace("{version}", "1.0").replace("{name}", "name")  # a tag the pattern makes
    if any(ch.isspace() or ch in "~^:?*[\\" for ch in rest) or ".." in sample or sample.startswith("-"):
        return f"{value!r} cannot form a git tag name (see git check-ref-format)"
    return None

def _tarball(value: Any) -> str | None:
    if "{version}" not in str(value):
        return f"{value!r} must contain {{version}}"
    return _url(str(value).replace("{version}", "1.0").replace("{name}", "x"))

def _license(value: Any) -> str | None:
    found = spdx.problems(str(value))
    return "; ".join(found) if found else None

def _one_line(value: Any) -> str | None:
    text = str(value)
    if not text.strip():
        return "must not be empty"
    if "\n" in text.strip():
        return "must be a single line"
    return None

def _not_empty(value: Any) -> str | None:
    return None if str(value).strip() else "must not be empty"

def _relative_dir(value: Any) -> str | None:
    text = str(value)
    if text.startswith("/") or any(part in ("..", ".") for part in text.split("/")) or "\\" in text:
        return f"{value!r} must be a relative path inside the repository (no '/', '..' or '.' parts)"
    return None

def _path_template(value: Any) -> str | None:
    for placeholder in re.findall(r"\{([^}]*)\}", str(value)):
        if placeholder not in PATH_PLACEHOLDERS:
            close = difflib.get_close_matches(placeholder, PATH_PLACEHOLDERS, n=1)
            return f"unknown placeholder {{{placeholder}}}" + (f" (did you mean {{{close[0]}}}?)" if close else "")
    if ".." in str(value).split("/"):
        return f"{value!r} must not contain '..'"
    return None

PER_FAMILY = {"rpm": Field("list", items="str"), "deb": Field("list", items="str")}

SUBPACKAGE = {
    "name": Field("str", required=True, check=_name),
    "deb_name": Field("str", check=_name),
    "summary": Field("str", required=True, check=_one_line),
    "description": Field("text", required=True, check=_not_empty),
    "requires": Field("map", schema=PER_FAMILY),
    "files": Field("list", items="str", check=None),
    "arch": Field("str", check=_one_of(("any", "all"))),
}

PACKAGING = {
    "build_system": Field("str", check=_one_of(BUILD_SYSTEMS)),
    "configure_options": Field("list", items="str"),
    "build_requires": Field("map", schema=PER_FAMILY),
    "requires": Field("map", schema=PER_FAMILY),
    "units": Field("list", items="str"),
    "init_scripts": Field("list", items="str"),
    "docs": Field("list", items="str"),
    "license_files": Field("list", items="str"),
    "files": Field("list", items="str"),
    "section": Field("str"),
    "arch": Field("str", check=_one_of(("any", "all"))),
    "deb_name": Field("str", check=_name),
    "templates": Field("str", check=_name),
    "subpackages": Field("list", items=SUBPACKAGE),
}

SPLIT_PATH = {
    "from": Field("str", required=True, check=_relative_dir),
    "to": Field("str", check=lambda v: None if v == "" else _relative_dir(v)),
}

SPLIT = {
    "repository": Field("str", required=True, check=_url),
    "paths": Field("list", required=True, items=SPLIT_PATH),
    "branch": Field("str"),
    "tag_pattern": Field("str", check=_tag_pattern),
}

COMPONENT = {
    "name": Field("str", required=True, check=_name),
    "status": Field("str", check=_one_of(STATUSES)),
    "summary": Field("str", required=True, check=_one_line),
    "description": Field("text", required=True, check=_not_empty),
    "homepage": Field("str", required=True, check=_url),
    "license": Field("str", required=True, check=_license),
    "git": Field("str", required=True, check=_url),
    "tag_pattern": Field("str", required=True, check=_tag_pattern),
    "version_scheme": Field("str", required=True, check=_one_of(VERSION_SCHEMES)),
    "version": Field("str", required=True, check=_not_empty),
    "released": Field("date", required=True),
    "tarball": Field("str", check=_tarball),
    "tarball_formats": Field("list", items="str"),
    "depends": Field("list", items="str"),
    "obs_package": Field("str", check=_name),
    "ignore_tags": Field("list", items="str"),
    "targets": Field("list", items="str"),
    "split": Field("map", schema=SPLIT),
    "packaging": Field("map", schema=PACKAGING),
    "notes": Field("text"),
}

TARGET = {
    "name": Field("str", required=True, check=lambda v: None if TARGET_NAME_RE.match(str(v)) else f"{v!r} is not an OBS repository name"),
    "label": Field("str", required=True, check=_one_line),
    "family": Field("str", required=True, check=_one_of(FAMILIES)),
    "project": Field("str", required=True, check=_not_empty),
    "repository": Field("str", required=True, check=_not_empty),
    "archs": Field("list", required=True, items="str"),
}

DISTRIBUTION = {
    "name": Field("str", required=True, check=_one_line),
    "obs_project": Field("str", required=True, check=_not_empty),
    "obs_apiurl": Field("str", check=_url),
    "download_url": Field("str", check=_url),
    "site_url": Field("str", check=_url),
    "packager": Field("str", check=_one_line),
}

TOP = {
    "schema": Field("int", required=True),
    "distribution": Field("map", required=True, schema=DISTRIBUTION),
    "targets": Field("list", required=True, items=TARGET),
    "components": Field("list", required=True, items=COMPONENT),
}

# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

class _Collector:
    """Gathers problems with the position of the node they are about."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, pos: tuple[int | None, int | None], path: str, message: str) -> None:
        line, col = pos
        self.problems.append(Problem(self.file, (line or 0) + 1, (col or 0) + 1, path, message))

def _key_pos(node: Any, key: Any) -> tuple[int, int]:
    try:
        line, col = node.lc.key(key)
        return line, col
    except (AttributeError, KeyError, TypeError):
        return _node_pos(node)

def _value_pos(node: Any, key: Any) -> tuple[int, int]:
    try:
        pos = node.lc.value(key) if hasattr(node, "keys") else node.lc.item(key)
        return pos[0], pos[1]
    except (AttributeError, KeyError, TypeError, IndexError):
        return _node_pos(node)

def _node_pos(node: Any) -> tuple[int, int]:
    try:
        return node.lc.line or 0, node.lc.col or 0
    except AttributeError:
        return 0, 0

def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, (dt.date, dt.datetime)):
        return "a date"
    if isinstance(value, str):
        return "a string"
    if hasattr(value, "keys"):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__

def _check_type(kind: str, value: Any) -> str | None:
    ok = {
        "str": isinstance(value, str),
        "text": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "date": isinstance(value, dt.date) or (isinstance(value, str) and _parse_date(value) is not None),
        "list": isinstance(value, list),
        "map": hasattr(value, "keys"),
    }[kind]
    if ok:
        return None
    want = {
        "str": "a string",
        "text": "a string",
        "int": "an integer",
        "date": "a date YYYY-MM-DD",
        "list": "a list",
        "map": "a mapping",
    }[kind]
    extra = ""
    if kind == "str" and isinstance(value, (int, float)) and not isinstance(value, bool):
        extra = f"; quote it: \"{value}\""
    return f"expected {want}, found {_type_name(value)}{extra}"

def _parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None

def _walk(node: Any, schema: dict[str, Field], path: str, out: _Collector) -> None:
    """Check a mapping against ``schema``: unknown keys, missing keys, types, values."""
    for key in node:
        here = f"{path}.{key}" if path else str(key)
        if key not in schema:
            close = difflib.get_close_matches(str(key), list(schema), n=1)
            suggestion = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(schema)}"
            out.add(_key_pos(node, key), here, f"unknown key ({suggestion})")
            continue
        spec = schema[key]
        value = node[key]
        pos = _value_pos(node, key)
        problem = _check_type(spec.kind, value)
        if problem:
            out.add(pos, here, problem)
            continue
        if spec.check is not None:
            problem = spec.check(value)
            if problem:
                out.add(pos, here, problem)
        if spec.kind == "map" and spec.schema is not None:
            _walk(value, spec.schema, here, out)
        elif spec.kind == "list":
            _walk_list(value, spec, here, out)
    for key, spec in schema.items():
        if spec.required and key not in node:
            out.add(_node_pos(node), f"{path}.{key}" if path else key, "missing required field")

def _walk_list(value: list[Any], spec: Field, path: str, out: _Collector) -> None:
    for index, item in enumerate(value):
        here = f"{path}[{index}]"
        pos = _value_pos(value, index)
        if spec.items == "str":
            if not isinstance(item, str):
                out.add(pos, here, _check_type("str", item) or "expected a string")
        elif isinstance(spec.items, dict):
            here = f"{path}{_item_name(item, index)}"
            if not hasattr(item, "keys"):
                out.add(pos, here, f"expected a mapping, found {_type_name(item)}")
            else:
                _walk(item, spec.items, here, out)

def _item_name(node: Any, index: int) -> str:
    name = node.get("name") if hasattr(node, "get") else None
    return f"[{name}]" if isinstance(name, str) else f"[{index}]"

def _validate(data: Any, out: _Collector) -> None:
    if not hasattr(data, "keys"):
        out.add(_node_pos(data), "", f"the manifest must be a mapping with schema, distribution, targets, components; found {_type_name(data)}")
        return
    _walk(data, TOP, "", out)
    if isinstance(data.get("schema"), int) and data["schema"] != SCHEMA_VERSION:
        out.add(_value_pos(data, "schema"), "schema", f"unsupported schema version {data['schema']} (this releasetool reads {SCHEMA_VERSION})")

    targets = data.get("targets") if isinstance(data.get("targets"), list) else []
    target_names = _check_unique(targets, "targets", out)
    for index, target in enumerate(targets):
        if hasattr(target, "get") and isinstance(target.get("archs"), list):
            for a_index, arch in enumerate(target["archs"]):
                if isinstance(arch, str) and arch not in OBS_ARCHS:
                    problem = _one_of(OBS_ARCHS)(arch)
                    out.add(_value_pos(target["archs"], a_index), f"targets[{index}].archs[{a_index}]", f"{problem} (OBS arch names, not Debian's)")

    components = data.get("components") if isinstance(data.get("components"), list) else []
    names = _check_unique(components, "components", out)
    for index, comp in enumerate(components):
        if not hasattr(comp, "get"):
            continue
        here = f"components{_item_name(comp, index)}"
        _check_component(comp, here, names, target_names, out)
    _check_cycles(components, out)

def _check_unique(items: list[Any], path: str, out: _Collector) -> set[str]:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if not hasattr(item, "get") or not isinstance(item.get("name"), str):
            continue
        name = item["name"]
        if name in seen:
            out.add(_value_pos(item, "name"), f"{path}[{index}].name", f"duplicate name {name!r} (first defined at item {seen[name]})")
        else:
            seen[name] = index
    return set(seen)

def _check_component(comp: Any, here: str, names: set[str], targets: set[str], out: _Collector) -> None:
    for key, valid in (("depends", names), ("targets", targets)):
        value = comp.get(key)
        if not isinstance(value, list):
            continue
        for index, ref in enumerate(value):
            if isinstance(ref, str) and ref not in valid:
                close = difflib.get_close_matches(ref, sorted(valid), n=1)
                kind = "component" if key == "depends" else "target"
                out.add(_value_pos(value, index), f"{here}.{key}[{index}]", f"unknown {kind} {ref!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        if key == "depends" and comp.get("name") in value:
            out.add(_value_pos(comp, key), f"{here}.{key}", "a component cannot depend on itself")
    formats = comp.get("tarball_formats")
    if isinstance(formats, list):
        for index, fmt in enumerate(formats):
            problem = _one_of(TARBALL_FORMATS)(fmt)
            if problem:
                out.add(_value_pos(formats, index), f"{here}.tarball_formats[{index}]", problem)
    scheme, version = comp.get("version_scheme"), comp.get("version")
    if isinstance(version, str) and scheme in VERSION_SCHEMES:
        from releasetool import versions

        try:
            versions.parse(scheme, version)
        except Exception as exc:
            out.add(_value_pos(comp, "version"), f"{here}.version", f"{version!r} is not a {scheme} version: {exc}")
    packaging = comp.get("packaging")
    if hasattr(packaging, "get"):
        for list_key in ("files",):
            files = packaging.get(list_key)
            if isinstance(files, list):
                for index, item in enumerate(files):
                    problem = isinstance(item, str) and _path_template(item)
                    if problem:
                        out.add(_value_pos(files, index), f"{here}.packaging.{list_key}[{index}]", problem)
        subs = packaging.get("subpackages")
        if isinstance(subs, list):
            for s_index, sub in enumerate(subs):
                files = sub.get("files") if hasattr(sub, "get") else None
                for index, item in enumerate(files if isinstance(files, list) else []):
                    problem = isinstance(item, str) and _path_template(item)
                    if problem:
                        out.add(_value_pos(files, index), f"{here}.packaging.subpackages[{s_index}].files[{index}]", problem)
    if comp.get("status", "active") == "active" and "packaging" not in comp:
        out.add(_node_pos(comp), f"{here}.packaging", "missing required field (an active component is packaged)")

def _check_cycles(components: list[Any], out: _Collector) -> None:
    graph: dict[str, list[str]] = {}
    where: dict[str, Any] = {}
    for comp in components:
        if hasattr(comp, "get") and isinstance(comp.get("name"), str):
            deps = comp.get("depends")
            graph[comp["name"]] = [d for d in deps if isinstance(d, str)] if isinstance(deps, list) else []
            where[comp["name"]] = comp
    state: dict[str, int] = {}
    reported: set[frozenset[str]] = set()

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, []):
            if dep not in graph or dep == node:
                continue
            if state.get(dep) == 1:
                cycle = [*stack[stack.index(dep):], dep]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    comp = where[dep]
                    out.add(_value_pos(comp, "depends") if "depends" in comp else _node_pos(comp),
                            f"components[{dep}].depends", "dependency cycle: " + " -> ".join(cycle))
            elif state.get(dep) is None:
                visit(dep, stack)
        stack.pop()
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [])

def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml

def read_raw(path: Path) -> tuple[str, Any]:
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
        data = _yaml().load(text)
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
            if _parse_date(match.group()) is None:
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
    here = Path(__file__).parent
    for module in ("manifest.py", "versions.py", "spdx.py"):
        try:
            st = (here / module).stat()
        except OSError:
            return None
        digest.update(f"{module}:{st.st_size}:{st.st_mtime_ns}".encode())
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
        atomic_write(cache_dir() / f"{key}.pickle", pickle.dumps(loaded, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:
        pass  # a read-only cache only costs speed


def _load_uncached(manifest_path: Path) -> Manifest:
    _, data = read_raw(manifest_path)
    out = _Collector(str(manifest_path))
    if data is None:
        out.add((0, 0), "", "the manifest is empty (expected schema, distribution, targets, components)")
    else:
        _validate(data, out)
    if out.problems:
        out.problems.sort(key=lambda p: (p.line, p.col))
        raise ManifestError(out.problems, hint="fix the lines above; `releasetool validate` checks again")
    return _build(manifest_path, data)

# ---------------------------------------------------------------------------
# Building the typed model
# ---------------------------------------------------------------------------

def _strs(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if value else ()

def _per_family(node: Any) -> PerFamily:
    if not node:
        return PerFamily()
    return PerFamily(rpm=_strs(node.get("rpm")), deb=_strs(node.get("deb")))

def _text(value: Any) -> str:
    return str(value).strip("\n") if value is not None else ""

def _build(path: Path, data: Any) -> Manifest:
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

def _component(c: Any, targets: dict[str, Target]) -> Component:
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
    pk = c.get("packaging") or {}
    packaging = Packaging(
        build_system=str(pk.get("build_system", "autotools")),
        configure_options=_strs(pk.get("configure_options")),
        build_requires=_per_family(pk.get("build_requires")),
        requires=_per_family(pk.get("requires")),
        units=_strs(pk.get("units")),
        init_scripts=_strs(pk.get("init_scripts")),
        docs=_strs(pk.get("docs")),
        license_files=_strs(pk.get("license_files")),
        files=_strs(pk.get("files")),
        section=str(pk.get("section", "admin")),
        arch=str(pk.get("arch", "any")),
        deb_name=str(pk.get("deb_name", name)),
        templates=str(pk.get("templates", "")),
        subpackages=tuple(
            Subpackage(
                name=str(s["name"]),
                deb_name=str(s.get("deb_name", s["name"])),
                summary=str(s["summary"]),
                description=_text(s["description"]),
                requires=_per_family(s.get("requires")),
                files=_strs(s.get("files")),
                arch=str(s.get("arch", pk.get("arch", "any"))),
            )
            for s in pk.get("subpackages") or ()
        ),
    )
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
        depends=_strs(c.get("depends")),
        obs_package=str(c.get("obs_package", name)),
        targets=_strs(c.get("targets")) or tuple(targets),
        split=split,
        packaging=packaging,
        ignore_tags=_strs(c.get("ignore_tags")),
        notes=_text(c.get("notes")),
        line=_node_pos(c)[0] + 1,
    )

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

# ---------------------------------------------------------------------------
# Round-trip edits
# ---------------------------------------------------------------------------

_PLAIN_SAFE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+~^-]*$")

def set_release(path: str | Path, name: str, version: str, released: dt.date, *, write: bool = True) -> str:
    """Set ``version`` and ``released`` of component ``name``; return the new text.

    Only the two scalar tokens change; when ``released`` is absent a line is
    added after ``version`` with the same indentation.  The result is parsed
    again and checked before it replaces the file (atomically).
    """
    from releasetool.fsutil import atomic_write

    manifest_path = Path(path)
    text, data = read_raw(manifest_path)
    comp = next((c for c in data.get("components") or [] if hasattr(c, "get") and c.get("name") == name), None)
    if comp is None:
        raise UnknownComponentError(f"{manifest_path}: no component named {name!r}")
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []  # line, start col, end col, replacement
    if "version" not in comp:
        raise ManifestError([Problem(str(manifest_path), _node_pos(comp)[0] + 1, 1, f"components[{name}].version", "missing required field")])
    v_line, v_col = comp.lc.value("version")
    edits.append((v_line, v_col, _scalar_end(lines[v_line], v_col), _format_scalar(lines[v_line], v_col, version)))
    date_text = released.isoformat()
    if "released" in comp:
        d_line, d_col = comp.lc.value("released")
        edits.append((d_line, d_col, _scalar_end(lines[d_line], d_col), _format_scalar(lines[d_line], d_col, date_text)))
    else:
        _k_line, k_col = comp.lc.key("version")
        newline = "\r\n" if lines[v_line].endswith("\r\n") else "\n"
        lines.insert(v_line + 1, " " * k_col + f"released: {date_text}{newline}")
    for line_no, start, end, replacement in sorted(edits, reverse=True):
        line = lines[line_no]
        lines[line_no] = line[:start] + replacement + line[end:]
    new_text = "".join(lines)
    check = _yaml().load(new_text)
    new_comp = next(c for c in check["components"] if hasattr(c, "get") and c.get("name") == name)
    got_date = new_comp.get("released")
    if str(new_comp.get("version")) != version or str(got_date) != date_text:
        raise ManifestError([Problem(str(manifest_path), v_line + 1, v_col + 1, f"components[{name}].version", "cannot be edited in place (unusual YAML form); edit it by hand")])
    if write and new_text != text:
        atomic_write(manifest_path, new_text)
    return new_text

def _scalar_end(line: str, start: int) -> int:
    """The column just after the scalar token starting at ``start`` on ``line``."""
    quote = line[start] if start < len(line) else ""
    if quote in ("'", '"'):
        pos = start + 1
        while pos < len(line):
            if line[pos] == quote:
                if quote == "'" and line[pos + 1 : pos + 2] == "'":
                    pos += 2
                    continue
                return pos + 1
            if quote == '"' and line[pos] == "\\":
                pos += 1
            pos += 1
        return len(line.rstrip("\r\n"))
    end = len(line.rstrip("\r\n"))
    comment = line.find(" #", start)
    if comment != -1:
        end = comment
    return len(line[:end].rstrip()) if line[:end].rstrip() else end

def _format_scalar(line: str, start: int, value: str) -> str:
    quote = line[start] if start < len(line) else ""
    if quote == '"':
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if quote == "'":
        return "'" + value.replace("'", "''") + "'"
    # A plain scalar stays plain only when YAML reads it back as the same string
    # (``2.0`` would become a float, ``2023-01-01`` a date on a version field).
    if _PLAIN_SAFE.match(value) and _plain_reads_as_string(value):
        return value
    return '"' + value + '"'

def _plain_reads_as_string(value: str) -> bool:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return True  # a date field wants exactly this plain form
    loaded = _yaml().load(f"k: {value}\n")["k"]
    return isinstance(loaded, str) and loaded == value

# ---------------------------------------------------------------------------
# Views for the CLI
# ---------------------------------------------------------------------------

def component_summary(comp: Component) -> dict[str, Any]:
    return {
        "name": comp.name,
        "status": comp.status,
        "version": comp.version,
        "released": comp.released.isoformat(),
        "tag": comp.tag_for(comp.version),
        "summary": comp.summary,
        "license": comp.license,
        "depends": list(comp.depends),
    }

def component_details(comp: Component) -> dict[str, Any]:
    from dataclasses import asdict

    data = asdict(comp)
    data["released"] = comp.released.isoformat()
    data["tag"] = comp.tag_for(comp.version)
    data["tarball_url"] = comp.tarball_url()
    data.pop("line", None)
    return data

def all_fields() -> list[str]:
    """Every key the schema knows, for documentation checks."""
    return list(COMPONENT)
