"""The persistent split map: source commit -> split commit, per repository and prefix set.

Stored under the repository's git dir, ``releasetool/split/<key>.map``, where
the key is a hash of the prefix set and the annotation.  A text file, one
record a line, ending with the SHA-1 of everything before it; a file cut short
or edited fails that check and is ignored (the next split starts from scratch
and rewrites it).  The map is only a shortcut: the splitter checks that the
objects it builds on still exist, and that the ``git-subtree-dir`` trailers in
the history are the ones the map was made with, before trusting it.

After a JSON header line, one line per kind of record, its fields separated
by spaces (so that reading is a few ``split`` calls, not a loop a record)::

    m SOURCE SPLIT KIND ...     map entries (KIND: t tree, s self, p preset)
    n SOURCE ...                commits without the prefix and no mapped parent
    c SPLIT TREE P1,P2|- ...    commits the splitter created, their tree and parents
    t COMMIT TREE ...           top trees of original commits used as split parents
    l COMMIT LEVEL ...          ancestry levels (see Splitter.level)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from releasetool.split.engine import PathMap, SplitState

log = logging.getLogger("releasetool")

MAGIC = b"releasetool-split-cache 2\n"
MAX_TIPS = 16


def cache_key(paths: list[PathMap], annotate: bytes) -> str:
    spec = json.dumps({"paths": [[p.source, p.target] for p in paths],
                       "annotate": annotate.decode("utf-8", "surrogateescape")}, sort_keys=True)
    return hashlib.sha1(spec.encode()).hexdigest()[:16]


def cache_path(git_dir: Path, paths: list[PathMap], annotate: bytes) -> Path:
    return git_dir / "releasetool" / "split" / f"{cache_key(paths, annotate)}.map"


def load(path: Path) -> tuple[SplitState, dict[str, Any]] | None:
    """The saved state and header, or None when missing or damaged."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not data.startswith(MAGIC):
        return None
    body, sep, tail = data.rpartition(b"end ")
    if not sep or hashlib.sha1(body).hexdigest().encode() != tail.strip():
        log.warning("split cache %s is damaged; splitting from scratch", path)
        return None
    try:
        lines = body[len(MAGIC):].decode().split("\n")
        header = json.loads(lines[0])
        sections = {}
        for line in lines[1:]:
            if line:
                tag, _, rest = line.partition(" ")
                sections[tag] = rest.split(" ") if rest else []
        state = SplitState(trailers=set(header.get("trailers", [])))
        m, n, c, t, lv = (sections[k] for k in ("m", "n", "c", "t", "l"))
        state.mapping = dict(zip(m[0::3], m[1::3], strict=True))
        state.kinds = dict(zip(m[0::3], m[2::3], strict=True))
        state.notree = set(n)
        state.created = {oid: (tree, tuple(ps.split(",")) if ps != "-" else ())
                         for oid, tree, ps in zip(c[0::3], c[1::3], c[2::3], strict=True)}
        state.toptrees = dict(zip(t[0::2], t[1::2], strict=True))
        state.levels = dict(zip(lv[0::2], map(int, lv[1::2]), strict=True))
    except (ValueError, KeyError, UnicodeDecodeError):
        log.warning("split cache %s is damaged; splitting from scratch", path)
        return None
    return state, header


def save(path: Path, state: SplitState, tips: list[str]) -> None:
    """Write the state (temporary file and rename; no fsync: a lost map only costs time)."""
    kinds = state.kinds
    out = [
        json.dumps({"tips": tips[-MAX_TIPS:], "trailers": sorted(state.trailers)}),
        " ".join(["m", *(f"{s} {n} {kinds.get(s, 't')}" for s, n in state.mapping.items())]),
        " ".join(["n", *state.notree]),
        " ".join(["c", *(f"{c} {tree} {','.join(ps) or '-'}" for c, (tree, ps) in state.created.items())]),
        " ".join(["t", *(f"{c} {tree}" for c, tree in state.toptrees.items())]),
        " ".join(["l", *(f"{c} {lvl}" for c, lvl in state.levels.items())]),
    ]
    body = MAGIC + ("\n".join(out) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(body + b"end " + hashlib.sha1(body).hexdigest().encode() + b"\n")
    os.replace(tmp, path)
