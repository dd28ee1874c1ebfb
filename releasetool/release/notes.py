"""Release notes from the history between two releases.

Commits come from ``git log --no-merges PREV..COMMIT`` (all of history for a
first release).  A commit's type is taken from a ``Type:`` or ``Changelog:``
trailer when it has one, else from a conventional subject prefix
(``fix: ...``, ``feat(ipc)!: ...``, ``doc: ...``).  When no commit in the range
is typed, the notes are one plain list; otherwise they are grouped by type,
untyped commits under "Other changes".
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from releasetool import proc
from releasetool.release.history import Change

# Prefix -> canonical type.  GitLab's changelog trailer values are mapped too.
TYPE_ALIASES = {
    "feat": "feat", "feature": "feat", "added": "feat", "add": "feat",
    "fix": "fix", "fixed": "fix", "bugfix": "fix", "security": "fix",
    "doc": "doc", "docs": "doc",
    "build": "build", "ci": "build", "packaging": "build",
    "perf": "perf", "performance": "perf",
    "refactor": "refactor", "changed": "refactor", "change": "refactor",
    "test": "test", "tests": "test",
    "removed": "remove", "remove": "remove", "deprecated": "remove",
    "chore": "chore", "style": "chore", "other": "chore",
}
SECTIONS = (
    ("feat", "New features"),
    ("fix", "Bug fixes"),
    ("perf", "Performance"),
    ("remove", "Removals and deprecations"),
    ("refactor", "Changes"),
    ("doc", "Documentation"),
    ("build", "Build and packaging"),
    ("test", "Tests"),
    ("chore", "Maintenance"),
    ("", "Other changes"),
)
_PREFIX = re.compile(r"^(?P<type>[A-Za-z]+)(?:\([^)]*\))?!?:\s+(?P<rest>\S.*)$")
_FIELD = "\x1f"
_RECORD = "\x1e"


@dataclass(frozen=True)
class Notes:
    previous_tag: str  # "" for a first release
    tag: str
    commit: str
    changes: tuple[Change, ...]
    authors: tuple[str, ...]
    compare_url: str = ""
    edited: str = ""  # the text a release manager wrote (--notes, --edit): used as it is

    @property
    def range(self) -> str:
        return f"{self.previous_tag}..{self.tag}" if self.previous_tag else self.tag

    @property
    def typed(self) -> bool:
        return any(c.type for c in self.changes)

    def text(self, name: str, version: str) -> str:
        """Plain text (for the tag message): no markup, so git keeps every line."""
        if self.edited:
            return self.edited
        lines = [f"{name} {version}", ""]
        if not self.changes:
            lines += ["No changes since the previous release.", ""]
        elif self.typed:
            for key, title in SECTIONS:
                group = [c for c in self.changes if c.type == key]
                if group:
                    lines += [f"{title}:", *[f"  - {c.subject} ({c.author})" for c in group], ""]
        else:
            lines += [*[f"  - {c.subject} ({c.author})" for c in self.changes], ""]
        if self.authors:
            lines += [f"Contributors: {', '.join(self.authors)}"]
        lines.append(f"Changes: {self.compare_url or self.range}")
        return "\n".join(lines) + "\n"

    def markdown(self, name: str, version: str) -> str:
        if self.edited:
            return _markdown_of(self.edited)
        lines = [f"# {name} {version}", ""]
        if not self.changes:
            lines += ["No changes since the previous release.", ""]
        elif self.typed:
            for key, title in SECTIONS:
                group = [c for c in self.changes if c.type == key]
                if group:
                    lines += [f"## {title}", "", *[f"- {c.subject} ({c.author})" for c in group], ""]
        else:
            lines += [*[f"- {c.subject} ({c.author})" for c in self.changes], ""]
        if self.authors:
            lines += [f"Contributors: {', '.join(self.authors)}", ""]
        lines.append(f"Changes: {self.compare_url or self.range}")
        return "\n".join(lines) + "\n"


COMMENT_HELP = (
    "# The release notes: the tag message, the changelog entries (one per '  - ' line,\n"
    "# grouped by the 'Section:' lines above them) and NAME-VERSION.notes.md.\n"
    "# Lines starting with '#' are removed; an empty text stops the release.\n"
)
_TITLE_TYPES = {f"{title}:": key for key, title in SECTIONS}
_ITEM = re.compile(r"^\s*[-*]\s+(?P<subject>.*?)(?:\s+\((?P<author>[^()]*)\))?\s*$")


def with_text(notes: Notes, text: str) -> Notes:
    """``notes`` with the text a release manager wrote; its list items become the changes.

    Lines starting with ``#`` are dropped (as git does for a commit message).
    An item's type is that of the section title above it (``Bug fixes:``), its
    author the trailing ``(Name)`` when there is one.
    """
    from dataclasses import replace

    kept = [line.rstrip() for line in text.splitlines() if not line.startswith("#")]
    while kept and not kept[-1]:
        kept.pop()
    while kept and not kept[0]:
        kept.pop(0)
    body = "\n".join(kept)
    if not body.strip():
        return replace(notes, edited="")
    changes: list[Change] = []
    section = ""
    for line in kept:
        if line.strip() in _TITLE_TYPES:
            section = _TITLE_TYPES[line.strip()]
            continue
        match = _ITEM.match(line)
        if match and match.group("subject"):
            changes.append(Change(subject=match.group("subject"), author=match.group("author") or "", type=section))
    return replace(notes, edited=body + "\n", changes=tuple(changes))


def _markdown_of(text: str) -> str:
    """Edited plain-text notes as Markdown: the title and section lines become headings."""
    lines = text.rstrip("\n").split("\n")
    out = [f"# {lines[0]}"] if lines else []
    for line in lines[1:]:
        if line.strip() in _TITLE_TYPES:
            out += [f"## {line.strip()[:-1]}", ""]
        else:
            match = _ITEM.match(line)
            out.append(f"- {line.strip()[2:]}" if match and line.lstrip().startswith(("- ", "* ")) else line)
    return "\n".join(out) + "\n"


def classify(subject: str, trailers: str) -> tuple[str, str]:
    """(type, subject without its prefix) of one commit."""
    for line in trailers.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("type", "changelog"):
            kind = TYPE_ALIASES.get(value.strip().lower())
            if kind:
                match = _PREFIX.match(subject)
                if match and match.group("type").lower() in TYPE_ALIASES:
                    subject = match.group("rest")
                return kind, subject
    match = _PREFIX.match(subject)
    if match:
        kind = TYPE_ALIASES.get(match.group("type").lower())
        if kind:
            return kind, match.group("rest")
    return "", subject


def collect(
    repo: str | os.PathLike[str], commit: str, previous_tag: str, tag: str, homepage: str = ""
) -> Notes:
    """The notes of the commits reachable from ``commit`` but not from ``previous_tag``."""
    fmt = _FIELD.join(["%H", "%an", "%s", "%(trailers:only,unfold)"]) + _RECORD
    revs = f"{previous_tag}..{commit}" if previous_tag else commit
    raw = proc.git(repo, "log", "--no-merges", "--topo-order", f"--format={fmt}", revs)
    changes: list[Change] = []
    authors: list[str] = []
    for record in raw.split(_RECORD):
        record = record.strip("\n")
        if not record:
            continue
        _sha, author, subject, trailers = [*record.split(_FIELD), "", "", "", ""][:4]
        kind, text = classify(subject, trailers)
        changes.append(Change(subject=text, author=author, type=kind))
        if author not in authors:
            authors.append(author)
    return Notes(
        previous_tag=previous_tag,
        tag=tag,
        commit=commit,
        changes=tuple(changes),
        authors=tuple(sorted(authors, key=str.lower)),
        compare_url=compare_url(homepage, previous_tag, tag),
    )


def compare_url(homepage: str, previous_tag: str, tag: str) -> str:
    """The web page comparing two tags, for the forges whose URL form is known."""
    base = homepage.rstrip("/")
    if not previous_tag or not re.match(r"^https://(github\.com|gitlab\.com|codeberg\.org)/[^/]+/[^/]+$", base):
        return ""
    return f"{base}/compare/{previous_tag}...{tag}"
