"""The split map as sorted tables on disk, read by key instead of all at once.

A re-split after K new commits looks up a handful of entries (the parents of
those K commits and the split commits they map to), so the map is kept in a
form that answers one key without building the whole dict first:

* a *table* holds N entries of a binary object id (the key) and a value of a
  fixed width, keys sorted, after a 256-entry fan-out of the keys' first byte
  (as git's pack index does): a lookup is a binary search over N/256 keys;
* :class:`LazyDict` is a ``dict`` that reads an entry from its table the first
  time it is asked for (and remembers a miss), and keeps what the split adds
  in ``added`` so that only the new entries are appended to the map's delta.

File layout (all integers big-endian)::

    u32 header length, header (marshal: offsets from its end, oid width, tips, trailers)
    table "commits"   source -> split commit + kind byte   (mapping, kinds)
    table "notree"    source -> nothing                    (commits without the prefix)
    table "created"   split commit -> tree, parent count, offset into "parents"
    table "toptrees"  commit -> top tree
    table "levels"    split commit -> u32 generation level
    "parents"         the parent ids of the created commits, back to back

:mod:`releasetool.split.cache` adds the magic line and the checksum.
"""

from __future__ import annotations

import marshal
import struct
from collections.abc import Callable, Iterator

from releasetool.split.engine import SplitState
from releasetool.split.gitio import fanout_table

FANOUT = struct.Struct(">256I")
HEADER_SIZE = struct.Struct(">I")
CREATED_TAIL = struct.Struct(">HI")  # parent count, offset of the first parent in "parents"
LEVEL = struct.Struct(">I")
TABLES = ("commits", "notree", "created", "toptrees", "levels")
_ABSENT = object()


class Table:
    """Sorted fixed-width entries in ``buf`` from ``offset``: fan-out, keys, values."""

    __slots__ = ("buf", "count", "fanout", "key_width", "keys_at", "values_at", "width")

    def __init__(self, buf: bytes, offset: int, key_width: int, width: int) -> None:
        self.buf = buf
        self.fanout = FANOUT.unpack_from(buf, offset)
        self.count = self.fanout[255]
        self.key_width = key_width
        self.width = width
        self.keys_at = offset + FANOUT.size
        self.values_at = self.keys_at + key_width * self.count
        if self.values_at + width * self.count > len(buf):
            raise ValueError("table runs past the end of the map")

    def value(self, key: bytes) -> bytes | None:
        """The value stored for ``key`` (``b""`` for a zero-width table), or None."""
        buf, kw, at = self.buf, self.key_width, self.keys_at
        first = key[0]
        lo = self.fanout[first - 1] if first else 0
        hi = self.fanout[first]
        while lo < hi:
            mid = (lo + hi) // 2
            probe = buf[at + mid * kw:at + mid * kw + kw]
            if probe < key:
                lo = mid + 1
            elif probe > key:
                hi = mid
            else:
                start = self.values_at + mid * self.width
                return buf[start:start + self.width]
        return None

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        buf, kw, w = self.buf, self.key_width, self.width
        for i in range(self.count):
            yield (buf[self.keys_at + i * kw:self.keys_at + (i + 1) * kw],
                   buf[self.values_at + i * w:self.values_at + (i + 1) * w])


def encode_table(entries: dict[bytes, bytes], width: int) -> bytes:
    keys = sorted(entries)
    values = b"".join(entries[k] for k in keys)
    if len(values) != width * len(keys):
        raise ValueError("table values of unequal width")
    return FANOUT.pack(*fanout_table(keys)) + b"".join(keys) + values


# Unparameterised on purpose: one class stands in for each of SplitState's typed dicts.
class LazyDict(dict):  # type: ignore[type-arg]
    """A dict whose entries are read from a :class:`Table` on first use.

    ``in``, ``get`` and ``[]`` consult the table for a key not in memory;
    assignments are also kept in ``added`` (what a delta must save).  Entries
    put in with ``dict.update`` (the map's deltas) are not "added".
    """

    def __init__(self, table: Table | None, decode: Callable[[bytes], object]) -> None:
        super().__init__()
        self.table = table
        self.decode = decode
        self.absent: set[str] = set()
        self.added: dict[str, object] = {}

    def _read(self, key: str) -> object:
        if self.table is None or key in self.absent:
            return _ABSENT
        try:
            raw = bytes.fromhex(key)
        except (TypeError, ValueError):
            raw = b""
        found = self.table.value(raw) if len(raw) == self.table.key_width else None
        if found is None:
            self.absent.add(key)
            return _ABSENT
        value = self.decode(found)
        dict.__setitem__(self, key, value)
        return value

    def __missing__(self, key: str) -> object:
        value = self._read(key)
        if value is _ABSENT:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or (isinstance(key, str) and self._read(key) is not _ABSENT)

    def get(self, key: str, default: object = None) -> object:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        value = self._read(key)
        return default if value is _ABSENT else value

    def __setitem__(self, key: str, value: object) -> None:
        dict.__setitem__(self, key, value)
        self.added[key] = value
        self.absent.discard(key)

    def everything(self) -> dict[str, object]:
        """Every entry, from the table and from memory (for rewriting the map)."""
        out: dict[str, object] = {}
        if self.table is not None:
            out.update((key.hex(), self.decode(raw)) for key, raw in self.table.items())
        out.update(dict.items(self))
        return out


def encode(state: SplitState, tips: list[str]) -> bytes:
    """The whole map of ``state`` (plain dicts) in the layout above."""
    # 20 bytes for SHA-1 repositories, 32 for SHA-256 ones
    oid_width = len(next(iter(state.mapping), "0" * 40)) // 2

    def oid(hex_id: str) -> bytes:
        raw = bytes.fromhex(hex_id)
        if len(raw) != oid_width:
            raise ValueError(f"object id {hex_id!r} is not {oid_width} bytes")
        return raw

    kinds = state.kinds
    commits = {oid(k): oid(v) + kinds[k].encode() for k, v in state.mapping.items()}
    notree = {oid(k): b"" for k in state.notree}
    parents_blob = bytearray()
    created = {}
    for k, (tree, parents) in state.created.items():
        created[oid(k)] = oid(tree) + CREATED_TAIL.pack(len(parents), len(parents_blob))
        parents_blob += b"".join(oid(p) for p in parents)
    toptrees = {oid(k): oid(v) for k, v in state.toptrees.items()}
    levels = {oid(k): LEVEL.pack(v) for k, v in state.levels.items()}
    bodies = {
        "commits": encode_table(commits, oid_width + 1),
        "notree": encode_table(notree, 0),
        "created": encode_table(created, oid_width + CREATED_TAIL.size),
        "toptrees": encode_table(toptrees, oid_width),
        "levels": encode_table(levels, LEVEL.size),
    }
    offsets = {}  # from the end of the header
    start = 0
    for name in TABLES:
        offsets[name] = start
        start += len(bodies[name])
    offsets["parents"] = start
    header = marshal.dumps({"oid_width": oid_width, "tips": list(tips), "trailers": sorted(state.trailers),
                            "offsets": offsets})
    return HEADER_SIZE.pack(len(header)) + header + b"".join(bodies[n] for n in TABLES) + bytes(parents_blob)


def decode(buf: bytes) -> tuple[SplitState, list[str]]:
    """A state whose dicts read ``buf`` lazily, and the saved tips; ValueError when malformed."""
    (size,) = HEADER_SIZE.unpack_from(buf, 0)
    try:
        header = marshal.loads(buf[HEADER_SIZE.size:HEADER_SIZE.size + size])
        width = int(header["oid_width"])
        base = HEADER_SIZE.size + size
        offsets = {name: base + int(at) for name, at in header["offsets"].items()}
        tips = [str(t) for t in header["tips"]]
        trailers = {str(t) for t in header["trailers"]}
        tables = {
            "commits": Table(buf, offsets["commits"], width, width + 1),
            "notree": Table(buf, offsets["notree"], width, 0),
            "created": Table(buf, offsets["created"], width, width + CREATED_TAIL.size),
            "toptrees": Table(buf, offsets["toptrees"], width, width),
            "levels": Table(buf, offsets["levels"], width, LEVEL.size),
        }
        parents_at = offsets["parents"]
    except (EOFError, KeyError, TypeError, struct.error) as exc:
        raise ValueError(f"malformed split map: {exc}") from None

    def created(raw: bytes) -> tuple[str, tuple[str, ...]]:
        count, at = CREATED_TAIL.unpack_from(raw, width)
        at += parents_at
        return raw[:width].hex(), tuple(buf[at + i * width:at + (i + 1) * width].hex() for i in range(count))

    state = SplitState()
    state.mapping = LazyDict(tables["commits"], lambda raw: raw[:width].hex())
    state.kinds = LazyDict(tables["commits"], lambda raw: chr(raw[width]))
    state.notree = LazyDict(tables["notree"], lambda raw: None)
    state.created = LazyDict(tables["created"], created)
    state.toptrees = LazyDict(tables["toptrees"], lambda raw: raw.hex())
    state.levels = LazyDict(tables["levels"], lambda raw: LEVEL.unpack(raw)[0])
    state.trailers = trailers
    return state, tips


def materialize(state: SplitState) -> SplitState:
    """A state of plain dicts with every entry of a lazily read one (to rewrite the map)."""
    plain = SplitState()
    for name in ("mapping", "kinds", "notree", "created", "toptrees", "levels"):
        value = getattr(state, name)
        setattr(plain, name, value.everything() if isinstance(value, LazyDict) else dict(value))
    plain.trailers = set(state.trailers)
    return plain
