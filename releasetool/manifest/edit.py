"""Round-trip edits of components.yaml that keep every other byte of the file."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path

from releasetool.errors import ManifestError, Problem, UnknownComponentError
from releasetool.manifest.load import read_raw, yaml_parser
from releasetool.manifest.validate import node_pos

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
    from ruamel.yaml.comments import CommentedMap

    from releasetool.fsutil import atomic_write

    manifest_path = Path(path)
    text, data = read_raw(manifest_path)
    components = data.get("components") if isinstance(data, Mapping) else None
    comp = next((c for c in (components if isinstance(components, list) else [])
                 if isinstance(c, CommentedMap) and c.get("name") == name), None)
    if comp is None:
        raise UnknownComponentError(f"{manifest_path}: no component named {name!r}")
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []  # line, start col, end col, replacement
    if "version" not in comp:
        raise ManifestError([Problem(str(manifest_path), node_pos(comp)[0] + 1, 1, f"components[{name}].version", "missing required field")])
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
    check = yaml_parser().load(new_text)
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
    loaded = yaml_parser().load(f"k: {value}\n")["k"]
    return isinstance(loaded, str) and loaded == value
