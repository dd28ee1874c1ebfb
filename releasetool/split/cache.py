"""The persistent split map: source commit -> split commit, per repository and prefix set.

Stored under the repository's common git dir, ``releasetool/split/<key>``,
where the key is a hash of the prefix set and the annotation:

* ``<key>.map``, the state as of a split from scratch: a magic line, the
  CRC-32 of the payload, and the payload (:mod:`marshal` of plain dicts and lists:
  the fastest form Python reads back);
* ``<key>.delta``, what each later (incremental) split added, appended as
  records of ``<length> <crc32> <payload>``; folded into the ``.map`` once it
  grows past half of it (and 64 KiB).

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
from itertools import islice
from pathlib import Path

from releasetool.log import log
from releasetool.split.engine import PathMap, SplitState
from releasetool.split.gitio import sha1

MAGIC = b"releasetool-split-cache 4\n"
MAX_TIPS = 16
COMPACT_MIN = 1 << 16  # a delta smaller than this is never folded into the map
FIELDS = ("mapping", "kinds", "notree", "created", "toptrees", "levels")


def cache_key(paths: list[PathMap], annotate: bytes) -> str:
    # NUL cannot occur in a path, so the fields cannot run into one another.
    spec = b"".join(f"{p.source}\0{p.target}\0".encode() for p in paths) + b"\0" + annotate
    return sha1(spec).hexdigest()[:16]


def cache_path(git_dir: Path, paths: list[PathMap], annotate: bytes) -> Path:
    return git_dir / "releasetool" / "split" / f"{cache_key(paths, annotate)}.map"


class Loaded:
    """A state read from disk, with what is needed to append to it later."""

    def __init__(self, state: SplitState, tips: list[str], sizes: dict[str, int], base_bytes: int,
                 delta_bytes: int) -> None:
        self.state = state
        self.tips = tips
        self.sizes = sizes  # length of each field when read: later entries are new
        self.base_bytes = base_bytes
        self.delta_bytes = delta_bytes


def _apply(state: SplitState, payload: dict[str, object]) -> list[str]:
    state.mapping.update(payload["mapping"])
    state.kinds.update(payload["kinds"])
    state.notree.update(dict.fromkeys(payload["notree"]))
    state.created.update(payload["created"])
    state.toptrees.update(payload["toptrees"])
    state.levels.update(payload["levels"])
    state.trailers.update(payload["trailers"])
    return list(payload["tips"])


def load(path: Path) -> Loaded | None:
    """The saved state, or None when missing or damaged."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(MAGIC) + 4
    if not data.startswith(MAGIC):
        log.debug("split cache %s has another format; splitting from scratch", path)
        return None
    if _checksum(data[head:]) != data[len(MAGIC):head]:
        log.warning("split cache %s is damaged; splitting from scratch", path)
        return None
    state = SplitState()
    try:
        tips = _apply(state, marshal.loads(data[head:]))
    except (ValueError, EOFError, TypeError, KeyError):
        log.warning("split cache %s is damaged; splitting from scratch", path)
        return None
    delta_bytes = 0
    try:
        delta = path.with_suffix(".delta").read_bytes()
    except OSError:
        delta = b""
    pos = 0
    while pos + 8 <= len(delta):
        (size,) = struct.unpack(">I", delta[pos:pos + 4])
        digest, payload = delta[pos + 4:pos + 8], delta[pos + 8:pos + 8 + size]
        if len(payload) != size or _checksum(payload) != digest:
            break  # a record torn by a kill: it and anything after are ignored
        try:
            tips = _apply(state, marshal.loads(payload))
        except (ValueError, EOFError, TypeError, KeyError):
            break
        pos += 8 + size
        delta_bytes = pos
    sizes = {name: len(getattr(state, name)) for name in FIELDS}
    return Loaded(state, tips, sizes, len(data), delta_bytes)


def _checksum(payload: bytes) -> bytes:
    """CRC-32: catches a torn or altered file (the map is a shortcut, not a security boundary)."""
    return struct.pack(">I", zlib.crc32(payload))


def _payload(state: SplitState, tips: list[str], sizes: dict[str, int] | None) -> bytes:
    def part(name: str) -> object:
        value = getattr(state, name)
        start = sizes[name] if sizes else 0
        if name == "notree":
            return list(islice(value, start, None))
        return dict(islice(value.items(), start, None))

    payload = {name: part(name) for name in FIELDS}
    payload["tips"] = tips[-MAX_TIPS:]
    payload["trailers"] = sorted(state.trailers)
    return marshal.dumps(payload)


def save(path: Path, state: SplitState, tips: list[str], loaded: Loaded | None = None) -> None:
    """Append what is new since ``loaded`` to the delta, or write the whole map.

    Temporary file and rename for the map, append for the delta; no fsync:
    a lost map only costs time.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    delta_path = path.with_suffix(".delta")
    if loaded is not None and (loaded.delta_bytes < COMPACT_MIN or loaded.delta_bytes * 2 < loaded.base_bytes):
        payload = _payload(state, tips, loaded.sizes)
        with open(delta_path, "r+b" if delta_path.exists() else "wb") as handle:
            handle.seek(loaded.delta_bytes)  # drop a torn record, if any
            handle.write(struct.pack(">I", len(payload)) + _checksum(payload) + payload)
            handle.truncate()
        return
    payload = _payload(state, tips, None)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(MAGIC + _checksum(payload) + payload)
    os.replace(tmp, path)
    try:
        delta_path.unlink()
    except FileNotFoundError:
        pass
