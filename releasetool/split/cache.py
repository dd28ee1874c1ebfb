"""The persistent split map: source commit -> split commit, per repository and prefix set.

Stored under the repository's common git dir, ``releasetool/split/<key>``,
where the key is a hash of the prefix set and the annotation:

* ``<key>.map``: a magic line, the CRC-32 of the rest, and the map as sorted
  tables (:mod:`releasetool.split.maptable`) that a re-split reads entry by
  entry: its cost follows the number of new commits, not the history's size;
* ``<key>.delta``: what each later (incremental) split added, appended as
  records of ``<length> <crc32> <payload>`` (:mod:`marshal` of plain dicts),
  read whole; folded into a new ``.map`` once it reaches 64 KiB.

A file or record that is cut short or altered fails its checksum: a damaged
``.map`` is ignored (the next split starts from scratch and rewrites it), a
damaged ``.delta`` record and those after it are dropped (the commits they
covered are read again).  The map is only a shortcut: the splitter checks that
the objects it builds on still exist, and that the ``git-subtree-dir``
trailers in the history are the ones the map was made with, before trusting it.
"""

from __future__ import annotations

import marshal
import os
import struct
import zlib

from releasetool.log import log
from releasetool.split import maptable
from releasetool.split.engine import PathMap, SplitState
from releasetool.split.gitio import sha1  # the split path's SHA-1 (see gitio)

TYPE_CHECKING = False  # as in gitio: typing stays unimported on the split path
if TYPE_CHECKING:
    from typing import Any

MAGIC = b"releasetool-split-cache 5\n"
MAX_TIPS = 16
COMPACT_AT = 1 << 16  # a delta this large is folded into a new map
DICT_FIELDS = ("mapping", "kinds", "created", "toptrees", "levels")
RECORD_HEAD = struct.Struct(">I4s")  # payload length, CRC-32


def cache_key(paths: list[PathMap], annotate: bytes) -> str:
    # NUL cannot occur in a path, so the fields cannot run into one another.
    spec = b"".join(f"{p.source}\0{p.target}\0".encode() for p in paths) + b"\0" + annotate
    return sha1(spec).hexdigest()[:16]


def cache_path(git_dir: str | os.PathLike[str], paths: list[PathMap], annotate: bytes) -> str:
    """Where the map of ``paths`` lives (a plain string: the quick commands do not import pathlib)."""
    return os.path.join(git_dir, "releasetool", "split", f"{cache_key(paths, annotate)}.map")


def delta_path(map_path: str) -> str:
    return map_path.removesuffix(".map") + ".delta"


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


class Loaded:
    """A state read from disk, with what is needed to append to it later."""

    def __init__(self, state: SplitState, tips: list[str], delta_bytes: int) -> None:
        self.state = state  # its dicts are maptable.LazyDicts: what a split adds is in .added
        self.tips = tips
        self.delta_bytes = delta_bytes  # the length of the delta's intact records


def _checksum(payload: bytes) -> bytes:
    """CRC-32: catches a torn or altered file (the map is a shortcut, not a security boundary)."""
    return struct.pack(">I", zlib.crc32(payload))


def load(path: str) -> Loaded | None:
    """The saved state, or None when missing or damaged."""
    try:
        data = _read(path)
    except OSError:
        return None
    head = len(MAGIC) + 4
    if not data.startswith(MAGIC):
        log.debug("split cache %s has another format; splitting from scratch", path)
        return None
    body = data[head:]
    try:
        if _checksum(body) != data[len(MAGIC):head]:
            raise ValueError("checksum mismatch")
        state, tips = maptable.decode(body)
    except ValueError:
        log.warning("split cache %s is damaged; splitting from scratch", path)
        return None
    delta_bytes = 0
    try:
        delta = _read(delta_path(path))
    except OSError:
        delta = b""
    pos = 0
    while pos + RECORD_HEAD.size <= len(delta):
        size, digest = RECORD_HEAD.unpack_from(delta, pos)
        payload = delta[pos + RECORD_HEAD.size:pos + RECORD_HEAD.size + size]
        if len(payload) != size or _checksum(payload) != digest:
            break  # a record torn by a kill: it and anything after are ignored
        try:
            tips = _apply(state, marshal.loads(payload))
        except (ValueError, EOFError, TypeError, KeyError):
            break
        pos += RECORD_HEAD.size + size
        delta_bytes = pos
    return Loaded(state, tips, delta_bytes)


def _apply(state: SplitState, payload: dict[str, Any]) -> list[str]:
    """Add a delta record's entries to ``state`` (as read, not as added); the tips it saved."""
    # Any: marshal.loads() of a record this module wrote (checksummed); a wrong shape raises, and the caller stops there
    for name in DICT_FIELDS:
        value = payload[name]
        if not isinstance(value, dict):
            raise TypeError(name)
        dict.update(getattr(state, name), value)
    dict.update(state.notree, dict.fromkeys(payload["notree"]))
    state.trailers.update(payload["trailers"])
    return list(payload["tips"])


def _added(table: object) -> dict[str, object]:
    """What this split added to one of the state's maps (each is a maptable.LazyDict once loaded)."""
    assert isinstance(table, maptable.LazyDict)
    return table.added


def _delta_record(state: SplitState, tips: list[str]) -> bytes:
    payload: dict[str, object] = {name: dict(_added(getattr(state, name))) for name in DICT_FIELDS}
    payload["notree"] = list(_added(state.notree))
    payload["tips"] = tips[-MAX_TIPS:]
    payload["trailers"] = sorted(state.trailers)
    raw = marshal.dumps(payload)
    return RECORD_HEAD.pack(len(raw), _checksum(raw)) + raw


def save(path: str, state: SplitState, tips: list[str], loaded: Loaded | None = None) -> None:
    """Append what is new since ``loaded`` to the delta, or write the whole map.

    Temporary file and rename for the map, append for the delta; no fsync:
    a lost map only costs time.
    """
    os.makedirs(os.path.dirname(path), exist_ok=True)
    delta = delta_path(path)
    if loaded is not None:
        record = _delta_record(state, tips)
        if loaded.delta_bytes + len(record) < COMPACT_AT:
            with open(delta, "r+b" if os.path.exists(delta) else "wb") as handle:
                handle.seek(loaded.delta_bytes)  # drop a torn record, if any
                handle.write(record)
                handle.truncate()
            return
        state = maptable.materialize(state)
    body = maptable.encode(state, tips[-MAX_TIPS:])
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(MAGIC + _checksum(body) + body)
    os.replace(tmp, path)
    try:
        os.unlink(delta)
    except FileNotFoundError:
        pass
