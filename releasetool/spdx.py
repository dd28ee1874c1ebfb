"""SPDX license expressions as the manifest uses them.

Only the identifiers a cluster-stack component can plausibly carry are known;
an unknown identifier is reported with the closest known one.
"""

from __future__ import annotations

import re

KNOWN_LICENSES = frozenset(
    {
        "Apache-2.0",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "CC-BY-SA-4.0",
        "CC0-1.0",
        "GFDL-1.2-or-later",
        "GPL-1.0-or-later",
        "GPL-2.0-only",
        "GPL-2.0-or-later",
        "GPL-3.0-only",
        "GPL-3.0-or-later",
        "ISC",
        "LGPL-2.0-or-later",
        "LGPL-2.1-only",
        "LGPL-2.1-or-later",
        "LGPL-3.0-or-later",
        "MIT",
        "MPL-2.0",
        "Python-2.0",
        "Ruby",
        "curl",
        "Zlib",
    }
)
KNOWN_EXCEPTIONS = frozenset({"Autoconf-exception-2.0", "Bison-exception-2.2", "Linux-syscall-note"})

_TOKEN = re.compile(r"\s*(\(|\)|AND\b|OR\b|WITH\b|[A-Za-z0-9.+-]+)")


def identifiers(expression: str) -> list[str]:
    """The license identifiers of an expression, in order."""
    return [t for t in tokens(expression) if t not in ("(", ")", "AND", "OR", "WITH")]


def tokens(expression: str) -> list[str]:
    found: list[str] = []
    pos = 0
    text = expression.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ValueError(f"unexpected {text[pos:].strip()[:10]!r} in license expression")
        found.append(match.group(1))
        pos = match.end()
    return found


def problems(expression: str) -> list[str]:
    """What is wrong with ``expression`` (empty when it is a valid expression of known ids)."""
    import difflib

    try:
        toks = tokens(expression)
    except ValueError as exc:
        return [str(exc)]
    if not toks:
        return ["empty license expression"]
    found: list[str] = []
    depth = 0
    expect_operand = True
    after_with = False
    for tok in toks:
        if tok == "(":
            if not expect_operand:
                found.append("'(' after an operand")
            depth += 1
        elif tok == ")":
            depth -= 1
            if depth < 0 or expect_operand:
                found.append("unbalanced ')'")
                depth = max(depth, 0)
        elif tok in ("AND", "OR", "WITH"):
            if expect_operand:
                found.append(f"{tok} without a left operand")
            expect_operand = True
            after_with = tok == "WITH"
        else:
            if not expect_operand:
                found.append(f"missing AND/OR before {tok}")
            known = KNOWN_EXCEPTIONS if after_with else KNOWN_LICENSES
            if tok not in known:
                close = [k for k in sorted(known) if _loose(k) == _loose(tok)]
                close = close or difflib.get_close_matches(tok, sorted(known), n=1)
                what = "license exception" if after_with else "SPDX license identifier"
                found.append(f"unknown {what} {tok!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            expect_operand = False
            after_with = False
    if depth != 0:
        found.append("unbalanced '('")
    if expect_operand and toks:
        found.append("expression ends with an operator")
    return found


def _loose(identifier: str) -> str:
    """An identifier without case and punctuation: 'BSD3' and 'bsd-3-clause' meet."""
    text = identifier.lower().replace("-clause", "")
    return re.sub(r"[^a-z0-9+]", "", text)
