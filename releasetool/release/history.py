"""The release history of each component: what the changelogs are made from.

``release`` appends an entry when it cuts a release; ``render`` turns the
entries into the rpm ``%changelog`` and ``debian/changelog`` (one source, so the
two never disagree).  The history lives beside the manifest as
``history/NAME.json``, newest release first::

    {"component": "libqb", "releases": [
      {"version": "2.0.8", "date": "2023-07-24T12:00:00+00:00",
       "packager": "Jane Doe <jane@example.org>", "tag": "v2.0.8",
       "commit": "<sha1>", "previous_tag": "v2.0.7",
       "changes": [{"subject": "...", "author": "...", "type": "fix"}]}]}

Without a history file the component's manifest version alone forms the
history (:func:`for_component`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from releasetool.errors import ReleaseError

if TYPE_CHECKING:
    from releasetool.manifest import Component

HISTORY_DIR = "history"


@dataclass(frozen=True)
class Change:
    subject: str
    author: str = ""
    type: str = ""  # "feat", "fix", ... when the project uses prefixes; "" otherwise


@dataclass(frozen=True)
class ReleaseEntry:
    version: str
    date: dt.datetime  # timezone-aware
    packager: str  # "Name <mail>"
    tag: str = ""
    commit: str = ""
    previous_tag: str = ""
    changes: tuple[Change, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["date"] = self.date.isoformat()
        data["changes"] = [asdict(c) for c in self.changes]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReleaseEntry:
        # Any: one record of json.loads(), read field by field and converted with str() here.
        date = dt.datetime.fromisoformat(str(data["date"]))
        if date.tzinfo is None:
            date = date.replace(tzinfo=dt.UTC)
        return cls(
            version=str(data["version"]),
            date=date,
            packager=str(data.get("packager", "")),
            tag=str(data.get("tag", "")),
            commit=str(data.get("commit", "")),
            previous_tag=str(data.get("previous_tag", "")),
            changes=tuple(
                Change(str(c.get("subject", "")), str(c.get("author", "")), str(c.get("type", "")))
                for c in data.get("changes", [])
            ),
        )


def history_path(manifest_dir: Path, name: str) -> Path:
    return Path(manifest_dir) / HISTORY_DIR / f"{name}.json"


def load(manifest_dir: Path, name: str) -> list[ReleaseEntry]:
    """The recorded releases of ``name``, newest first (empty when none are recorded)."""
    path = history_path(manifest_dir, name)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError, RecursionError) as exc:
        raise ReleaseError(f"{path}: cannot read release history: {exc}", hint="restore it from git") from None
    try:
        entries = [ReleaseEntry.from_json(e) for e in raw.get("releases", [])]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReleaseError(f"{path}: malformed release history entry: {exc}", hint="restore it from git") from None
    return entries


def save(manifest_dir: Path, name: str, entries: list[ReleaseEntry]) -> Path:
    """Write the history atomically, newest first."""
    from releasetool.fsutil import atomic_write

    path = history_path(manifest_dir, name)
    payload = {"component": name, "releases": [e.to_json() for e in entries]}
    atomic_write(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return path


def add(manifest_dir: Path, name: str, entry: ReleaseEntry) -> list[ReleaseEntry]:
    """Record ``entry`` (replacing an entry of the same version, so a re-run adds no duplicate)."""
    entries = [e for e in load(manifest_dir, name) if e.version != entry.version]
    entries.insert(0, entry)
    save(manifest_dir, name, entries)
    return entries


def for_component(manifest_dir: Path, component: Component, packager: str) -> list[ReleaseEntry]:
    """The history to render: the recorded one, or one entry from the manifest's version."""
    entries = load(manifest_dir, component.name)
    if entries:
        return entries
    date = dt.datetime.combine(component.released, dt.time(12, 0), tzinfo=dt.UTC)
    return [
        ReleaseEntry(
            version=component.version,
            date=date,
            packager=packager,
            tag=component.tag_for(component.version),
            changes=(Change(f"Update to upstream release {component.version}"),),
        )
    ]
