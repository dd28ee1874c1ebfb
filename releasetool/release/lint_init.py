"""LSB init-script checks: the release gate for distribution-independent init scripts.

The checks follow the LSB Core specification, "Comment Conventions for Init
Scripts" and "Init Script Actions":

* a block from ``### BEGIN INIT INFO`` to ``### END INIT INFO`` whose lines are
  ``# Keyword: value`` (a line starting with ``#`` and a tab or at least two
  spaces continues the previous keyword, which only ``Description`` uses);
* the keywords Provides, Required-Start, Required-Stop, Default-Start,
  Default-Stop and Short-Description present, each once; other keywords are
  Should-Start, Should-Stop, Description or an ``X-`` extension;
* Default-Start/Default-Stop list run levels 0-6 or S;
* the actions start, stop, restart, force-reload and status handled by the
  script's ``case`` statement.

Each finding names the file and line: ``FILE:LINE: message``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REQUIRED_KEYWORDS = (
    "Provides", "Required-Start", "Required-Stop", "Default-Start", "Default-Stop", "Short-Description",
)
OPTIONAL_KEYWORDS = ("Should-Start", "Should-Stop", "Description")
REQUIRED_ACTIONS = ("start", "stop", "restart", "force-reload", "status")
RUNLEVELS = frozenset("0123456S") | {"s"}
BEGIN = "### BEGIN INIT INFO"
END = "### END INIT INFO"

_KEYWORD_LINE = re.compile(r"^#\s?([A-Za-z][A-Za-z0-9-]*):(.*)$")
_CONTINUATION = re.compile(r"^#(\t|  )")
_CASE = re.compile(r"^\s*case\s+\S.*?\s+in(?=\s|$)")
_ESAC = re.compile(r"^\s*esac\b")
_ESAC_ANYWHERE = re.compile(r"(^|[;\s])esac\b")
# One case arm's pattern list: ``start)``, ``restart|force-reload)``, ``"status")``.
_ARM = re.compile(r"^\s*\(?\s*([^()#;]+?)\s*\)")


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def lint_text(text: str, file: str) -> list[Finding]:
    """Every problem of one init script, in line order."""
    lines = text.splitlines()
    findings = _check_block(lines, file) + _check_actions(lines, file)
    return sorted(findings, key=lambda f: f.line)


def lint_paths(paths: list[str | Path]) -> list[Finding]:
    """Lint each file (a directory: each regular file in it, sorted)."""
    findings: list[Finding] = []
    for path in _expand(paths):
        try:
            text = Path(path).read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            findings.append(Finding(str(path), 0, "no such file"))
            continue
        except OSError as exc:
            findings.append(Finding(str(path), 0, f"cannot read: {exc.strerror}"))
            continue
        findings.extend(lint_text(text, str(path)))
    return findings


def init_script_sources(paths: list[str], names: tuple[str, ...] | list[str]) -> tuple[list[str], list[str]]:
    """Where in a source tree the init scripts ``names`` (as installed) come from.

    A source is a file named NAME or NAME.in (autoconf's template) in a
    directory whose name mentions ``init`` or ``rc.d`` (init/, init.d/,
    initscripts/, rc.d/), or a file named NAME.init, NAME.initd or NAME.sysv
    (optionally .in) anywhere.  Returns the sources found and the names with
    none.
    """
    suffixes = ("", ".in")
    found: list[str] = []
    unfound: list[str] = []
    for name in names:
        base_names = {name + s for s in suffixes}
        tagged = {f"{name}.{kind}{s}" for kind in ("init", "initd", "sysv") for s in suffixes}
        matches = []
        for path in paths:
            *dirs, base = path.split("/")
            in_init_dir = any("init" in d.lower() or d.lower() == "rc.d" for d in dirs)
            if (base in base_names and in_init_dir) or base in tagged:
                matches.append(path)
        if matches:
            found.extend(m for m in matches if m not in found)
        else:
            unfound.append(name)
    return found, unfound


def _expand(paths: list[str | Path]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.is_file()))
        else:
            out.append(path)
    return out


def _check_block(lines: list[str], file: str) -> list[Finding]:
    begin = next((i for i, line in enumerate(lines) if line.rstrip() == BEGIN), None)
    if begin is None:
        return [Finding(file, 1, f"no LSB header (a '{BEGIN}' ... '{END}' comment block)")]
    end = next((i for i in range(begin + 1, len(lines)) if lines[i].rstrip() == END), None)
    findings: list[Finding] = []
    if end is None:
        findings.append(Finding(file, begin + 1, f"LSB header is not closed by '{END}'"))
        # Without its end marker the header ends where the comment lines do.
        end = next((i for i in range(begin + 1, len(lines)) if not lines[i].startswith("#")), len(lines))
    seen: dict[str, int] = {}
    values: dict[str, str] = {}
    previous: str | None = None
    for index in range(begin + 1, end):
        line = lines[index]
        number = index + 1
        if line.startswith("###"):
            findings.append(Finding(file, number, f"unexpected line inside the LSB header: {line.strip()!r}"))
            continue
        if not line.startswith("#"):
            findings.append(Finding(file, number, "line inside the LSB header does not start with '#'"))
            continue
        if _CONTINUATION.match(line) and previous is not None:
            if previous != "Description":
                findings.append(Finding(file, number, f"continuation line after {previous} (only Description may span lines)"))
            continue
        match = _KEYWORD_LINE.match(line)
        if not match:
            if line.strip() != "#":
                findings.append(Finding(file, number, f"not a '# Keyword: value' line: {line.strip()!r}"))
            continue
        keyword, value = match.group(1), match.group(2).strip()
        previous = keyword
        if keyword in seen:
            findings.append(Finding(file, number, f"{keyword} given twice (first on line {seen[keyword]})"))
            continue
        seen[keyword] = number
        values[keyword] = value
        if keyword not in REQUIRED_KEYWORDS + OPTIONAL_KEYWORDS and not keyword.startswith("X-"):
            known = REQUIRED_KEYWORDS + OPTIONAL_KEYWORDS
            close = [k for k in known if k.lower() == keyword.lower()]
            hint = f" (did you mean {close[0]}?)" if close else " (extensions start with 'X-')"
            findings.append(Finding(file, number, f"unknown keyword {keyword}{hint}"))
            continue
        findings.extend(_check_value(keyword, value, file, number))
    for keyword in REQUIRED_KEYWORDS:
        if keyword not in seen:
            findings.append(Finding(file, begin + 1, f"LSB header has no {keyword}"))
    return findings


def _check_value(keyword: str, value: str, file: str, number: int) -> list[Finding]:
    if keyword in ("Provides", "Short-Description") and not value:
        return [Finding(file, number, f"{keyword} is empty")]
    if keyword in ("Default-Start", "Default-Stop"):
        bad = [level for level in value.split() if level not in RUNLEVELS]
        if bad:
            return [Finding(file, number, f"{keyword} has unknown run levels {' '.join(bad)} (0-6 or S)")]
    return []


def _check_actions(lines: list[str], file: str) -> list[Finding]:
    case_line: int | None = None
    handled: set[str] = set()
    depth = 0
    for index, line in enumerate(lines):
        if line.lstrip().startswith("#"):
            continue
        rest = line.split(" #", 1)[0]
        opening = _CASE.match(rest)
        if opening:
            depth += 1
            if depth == 1 and case_line is None:
                case_line = index + 1
            rest = rest[opening.end():]
        # Arms of the outermost case only (a nested case belongs to one action);
        # several arms may share a line: ``start) a ;; stop) b ;;``.
        if depth == 1:
            for piece in rest.split(";;"):
                arm = _ARM.match(piece)
                if arm and not _ESAC.match(piece):
                    handled.update(p.strip().strip("\"'") for p in arm.group(1).split("|"))
        if _ESAC_ANYWHERE.search(rest):
            depth = max(depth - 1, 0)
    if case_line is None:
        return [Finding(file, 1, "no case statement handling the actions " + ", ".join(REQUIRED_ACTIONS))]
    if not handled - {"*"}:
        return [Finding(file, case_line, "the case statement handles no named action")]
    missing = [action for action in REQUIRED_ACTIONS if action not in handled]
    return [Finding(file, case_line, f"action {a} is not handled by the case statement") for a in missing]
