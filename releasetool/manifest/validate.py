"""Checking a parsed manifest against the schema: every problem with its line and column."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping

from releasetool.errors import Problem, VersionError
from releasetool.manifest.schema import (
    FAMILIES,
    OBS_ARCHS,
    SCHEMA_VERSION,
    TARBALL_FORMATS,
    TOP,
    VERSION_SCHEMES,
    Field,
    check_path_template,
    one_of,
)

# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

class Collector:
    """Gathers problems with the position of the node they are about."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, pos: tuple[int | None, int | None], path: str, message: str) -> None:
        line, col = pos
        self.problems.append(Problem(self.file, (line or 0) + 1, (col or 0) + 1, path, message))

# A node of the round-trip YAML tree before validation: a CommentedMap, a
# CommentedSeq or a scalar; the checks narrow it before they look inside.
Node = object
# A mapping of that tree (CommentedMap): keys are scalars of any YAML type.
NodeMap = Mapping[object, object]


def _key_pos(node: Node, key: object) -> tuple[int, int]:
    if not hasattr(node, "lc"):  # only ruamel's containers (CommentedBase) know their positions
        return node_pos(node)
    try:
        line, col = node.lc.key(key)
        return line, col
    except (AttributeError, KeyError, TypeError):
        return node_pos(node)

def _value_pos(node: Node, key: object) -> tuple[int, int]:
    if not hasattr(node, "lc"):
        return node_pos(node)
    try:
        pos = node.lc.value(key) if hasattr(node, "keys") else node.lc.item(key)
        return pos[0], pos[1]
    except (AttributeError, KeyError, TypeError, IndexError):
        return node_pos(node)

def node_pos(node: Node) -> tuple[int, int]:
    if hasattr(node, "lc"):
        return node.lc.line or 0, node.lc.col or 0
    return 0, 0

def _type_name(value: object) -> str:
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

def _check_type(kind: str, value: object) -> str | None:
    ok = {
        "str": isinstance(value, str),
        "text": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "date": isinstance(value, dt.date) or (isinstance(value, str) and parse_date(value) is not None),
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

def parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None

def _walk(node: NodeMap, schema: dict[str, Field], path: str, out: Collector) -> None:
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
        if spec.kind == "map" and spec.schema is not None and isinstance(value, Mapping):
            _walk(value, spec.schema, here, out)
        elif spec.kind == "list" and isinstance(value, list):
            _walk_list(value, spec, here, out)
    for key, spec in schema.items():
        if spec.required and key not in node:
            out.add(node_pos(node), f"{path}.{key}" if path else key, "missing required field")

def _walk_list(value: list[object], spec: Field, path: str, out: Collector) -> None:
    for index, item in enumerate(value):
        here = f"{path}[{index}]"
        pos = _value_pos(value, index)
        if spec.items == "str":
            if not isinstance(item, str):
                out.add(pos, here, _check_type("str", item) or "expected a string")
        elif isinstance(spec.items, dict):
            here = f"{path}{_item_name(item, index)}"
            if not isinstance(item, Mapping):
                out.add(pos, here, f"expected a mapping, found {_type_name(item)}")
            else:
                _walk(item, spec.items, here, out)

def _item_name(node: Node, index: int) -> str:
    name = node.get("name") if isinstance(node, Mapping) else None
    return f"[{name}]" if isinstance(name, str) else f"[{index}]"

def validate_tree(data: Node, out: Collector) -> None:
    if not isinstance(data, Mapping):
        out.add(node_pos(data), "", f"the manifest must be a mapping with schema, distribution, targets, components; found {_type_name(data)}")
        return
    _walk(data, TOP, "", out)
    schema = data.get("schema")
    if isinstance(schema, int) and schema != SCHEMA_VERSION:
        out.add(_value_pos(data, "schema"), "schema", f"unsupported schema version {schema} (this releasetool reads {SCHEMA_VERSION})")

    targets = _list(data.get("targets"))
    target_names = _check_unique(targets, "targets", out)
    for index, target in enumerate(targets):
        archs = target.get("archs") if isinstance(target, Mapping) else None
        if isinstance(archs, list):
            for a_index, arch in enumerate(archs):
                if isinstance(arch, str) and arch not in OBS_ARCHS:
                    problem = one_of(OBS_ARCHS)(arch)
                    out.add(_value_pos(archs, a_index), f"targets[{index}].archs[{a_index}]", f"{problem} (OBS arch names, not Debian's)")

    components = _list(data.get("components"))
    names = _check_unique(components, "components", out)
    for index, comp in enumerate(components):
        if not isinstance(comp, Mapping):
            continue
        here = f"components{_item_name(comp, index)}"
        _check_component(comp, here, names, target_names, out)
    _check_cycles(components, out)

def _list(value: object) -> list[object]:
    """``value`` if it is a YAML sequence, else nothing (the walk reported its type)."""
    return value if isinstance(value, list) else []


def _check_unique(items: list[object], path: str, out: Collector) -> set[str]:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            out.add(_value_pos(item, "name"), f"{path}[{index}].name", f"duplicate name {name!r} (first defined at item {seen[name]})")
        else:
            seen[name] = index
    return set(seen)

def _check_component(comp: NodeMap, here: str, names: set[str], targets: set[str], out: Collector) -> None:
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
    shipped = comp.get("distro_versions")
    if isinstance(shipped, Mapping):
        for ref in shipped:
            if ref not in targets:
                close = difflib.get_close_matches(str(ref), sorted(targets), n=1)
                out.add(_key_pos(shipped, ref), f"{here}.distro_versions.{ref}", f"unknown target {ref!r}"
                        + (f" (did you mean {close[0]!r}?)" if close else ""))
    formats = comp.get("tarball_formats")
    if isinstance(formats, list):
        for index, fmt in enumerate(formats):
            problem = one_of(TARBALL_FORMATS)(fmt)
            if problem:
                out.add(_value_pos(formats, index), f"{here}.tarball_formats[{index}]", problem)
    method = comp.get("tarball_method", "git-archive")
    packaging = comp.get("packaging")
    packaging_map: NodeMap = packaging if isinstance(packaging, Mapping) else {}
    for dist_only in ("dist_command", "dist_timezone"):
        if method == "git-archive" and dist_only in comp:
            out.add(_value_pos(comp, dist_only), f"{here}.{dist_only}",
                    "only used with tarball_method: dist (remove it, or set tarball_method: dist)")
    if method == "dist" and "dist_command" not in comp and packaging_map.get("build_system") != "autotools":
        out.add(_value_pos(comp, "tarball_method"), f"{here}.tarball_method",
                "dist needs dist_command unless packaging.build_system is autotools (whose default is "
                "`./autogen.sh && ./configure && make dist`)")
    scheme, version = comp.get("version_scheme"), comp.get("version")
    if isinstance(version, str) and isinstance(scheme, str) and scheme in VERSION_SCHEMES:
        from releasetool import versions

        try:
            versions.parse(scheme, version)
        except Exception as exc:
            out.add(_value_pos(comp, "version"), f"{here}.version", f"{version!r} is not a {scheme} version: {exc}")
    if isinstance(packaging, Mapping):
        _check_packaging(packaging, f"{here}.packaging", out)
        ranges = packaging.get("by_version")
        for r_index, change in enumerate(_list(ranges)):
            if isinstance(change, Mapping):
                _check_version_range(comp, packaging, change, f"{here}.packaging.by_version[{r_index}]", out)
        _check_formats(packaging, packaging, f"{here}.packaging", out)
    if comp.get("status", "active") == "active" and "packaging" not in comp:
        out.add(node_pos(comp), f"{here}.packaging", "missing required field (an active component is packaged)")


def _check_formats(packaging: NodeMap, holder: NodeMap, where: str, out: Collector) -> None:
    """The by_format of ``holder`` (the packaging or one of its version ranges), each format's changes."""
    formats = holder.get("by_format")
    for fmt, change in formats.items() if isinstance(formats, Mapping) else ():
        if isinstance(change, Mapping):
            _check_packaging(change, f"{where}.by_format.{fmt}", out)
            _check_changes(packaging, change, f"{where}.by_format.{fmt}", out, what="format")


def _check_packaging(packaging: NodeMap, where: str, out: Collector) -> None:
    """Checks of a packaging mapping (or a version range's) that the schema cannot express."""
    patches = packaging.get("patches")
    for index, item in enumerate(patches if isinstance(patches, list) else []):
        if isinstance(item, str) and (item.startswith("/") or ".." in item.split("/") or not item.endswith((".patch", ".diff"))):
            out.add(_value_pos(patches, index), f"{where}.patches[{index}]",
                    "a patch is a .patch or .diff file under the manifest's directory (e.g. patches/NAME/fix.patch)")
    for list_key in ("files", "remove", "more_files", "hardlink"):
        files = packaging.get(list_key)
        if isinstance(files, list):
            for index, item in enumerate(files):
                problem = check_path_template(item) if isinstance(item, str) else None
                if problem:
                    out.add(_value_pos(files, index), f"{where}.{list_key}[{index}]", problem)
    subs = packaging.get("subpackages")
    if isinstance(subs, list):
        for s_index, sub in enumerate(subs):
            formats = sub.get("formats") if isinstance(sub, Mapping) else None
            for f_index, fmt in enumerate(formats if isinstance(formats, list) else []):
                problem = one_of(FAMILIES)(fmt)
                if problem:
                    out.add(_value_pos(formats, f_index),
                            f"{where}.subpackages[{s_index}].formats[{f_index}]", problem)
            for list_key in ("files", "more_files"):
                files = sub.get(list_key) if isinstance(sub, Mapping) else None
                for index, item in enumerate(files if isinstance(files, list) else []):
                    problem = check_path_template(item) if isinstance(item, str) else None
                    if problem:
                        out.add(_value_pos(files, index), f"{where}.subpackages[{s_index}].{list_key}[{index}]",
                                problem)


def _check_omitted_files(base: NodeMap, change: NodeMap, where: str, out: Collector) -> None:
    """Each ``omit_files`` entry is one of the base's ``files``, spelt the same."""
    omitted, files = change.get("omit_files"), base.get("files")
    listed = set(files) if isinstance(files, list) else set()
    for index, entry in enumerate(omitted if isinstance(omitted, list) else []):
        if entry not in listed:
            out.add(_value_pos(omitted, index), f"{where}.omit_files[{index}]",
                    f"{entry!r} is not one of the files of the packaging it changes (write it as the files list does)")


def _check_version_range(comp: NodeMap, packaging: NodeMap, change: NodeMap, where: str, out: Collector) -> None:
    """A by_version entry: its versions under the component's scheme, the packages it names."""
    _check_packaging(change, where, out)
    scheme, spec = comp.get("version_scheme"), change.get("versions")
    if isinstance(scheme, str) and scheme in VERSION_SCHEMES and isinstance(spec, str):
        from releasetool import versions

        try:
            for _op, bound in versions.parse_range(spec):
                versions.parse(scheme, bound)
        except VersionError as exc:
            out.add(_value_pos(change, "versions"), f"{where}.versions", f"{spec!r}: {exc}")
    _check_changes(packaging, change, where, out)
    _check_formats(packaging, change, where, out)


def _check_changes(packaging: NodeMap, change: NodeMap, where: str, out: Collector, what: str = "range") -> None:
    """The packages and files a version range or a format's changes name exist in the packaging they change."""
    base_subs = packaging.get("subpackages")
    known = {s.get("name") for s in _list(base_subs) if isinstance(s, Mapping)}
    omitted = change.get("omit_subpackages")
    for index, name in enumerate(omitted if isinstance(omitted, list) else []):
        if name not in known:
            out.add(_value_pos(omitted, index), f"{where}.omit_subpackages[{index}]",
                    f"no sub-package {name!r} in the component's packaging to omit")
    _check_omitted_files(packaging, change, where, out)
    subs = change.get("subpackages")
    for index, sub in enumerate(_list(subs)):
        if not isinstance(sub, Mapping):
            continue
        same = next((s for s in _list(base_subs) if isinstance(s, Mapping) and s.get("name") == sub.get("name")), None)
        if same is not None:
            _check_omitted_files(same, sub, f"{where}.subpackages[{index}]", out)
        if sub.get("name") not in known:
            for key in ("summary", "description"):
                if key not in sub:
                    out.add(node_pos(sub), f"{where}.subpackages[{index}].{key}",
                            f"missing required field (sub-package {sub.get('name')!r} is new in this {what})")


def _check_cycles(components: list[object], out: Collector) -> None:
    graph: dict[str, list[str]] = {}
    where: dict[str, NodeMap] = {}
    for comp in components:
        name = comp.get("name") if isinstance(comp, Mapping) else None
        if isinstance(comp, Mapping) and isinstance(name, str):
            graph[name] = [d for d in _list(comp.get("depends")) if isinstance(d, str)]
            where[name] = comp
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
                    out.add(_value_pos(comp, "depends") if "depends" in comp else node_pos(comp),
                            f"components[{dep}].depends", "dependency cycle: " + " -> ".join(cycle))
            elif state.get(dep) is None:
                visit(dep, stack)
        stack.pop()
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [])
