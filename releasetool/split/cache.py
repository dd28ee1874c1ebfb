"""The persistent split map: source commit -> split commit, per repository and prefix set.

Stored under the repository's git dir, ``releasetool/split/<key>.map``, where
the key is a hash of the prefix set and the annotation.  A text file, one
record a line, ending with the SHA-1 of everything before it; a file cut short
or edited fails that check and is ignored (the next split starts from scratch
and rewrites it).  The map is only a shortcut: the splitter checks that the
objects it builds on still exist, and that the ``git-subtree-dir`` trailers in
the history are the ones the map was made with, before trusting it.

Records::

    m SOURCE SPLIT KIND      a map entry (KIND: t tree, s self, p preset)
    n SOURCE                 a commit without the prefix and no mapped parent
    c SPLIT TREE P1,P2|-     a commit the splitter created, its tree and parents
    t COMMIT TREE            top tree of an original commit used as split parent
    l COMMIT LEVEL           ancestry level (see Splitter.level)
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from releasetool.fsutil import atomic_write
from releasetool.split.engine import PathMap, SplitState

log = logging.getLogger("releasetool")

MAGIC = b"releasetool-split-cache 1\n"
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
        state = SplitState(trailers=set(header.get("trailers", [])))
        mapping, kinds, notree = state.mapping, state.kinds, state.notree
        created, toptrees, levels = state.created, state.toptrees, state.levels
        for line in lines[1:]:
            if not line:
                continue
            f = line.split(" ")
            tag = f[0]
            if tag == "m":
                mapping[f[1]] = f[2]
                kinds[f[1]] = f[3]
            elif tag == "n":
                notree.add(f[1])
            elif tag == "l":
                levels[f[1]] = int(f[2])
            elif tag == "c":
                created[f[1]] = (f[2], tuple(f[3].split(",")) if f[3] != "-" else ())
            elif tag == "t":
                toptrees[f[1]] = f[2]
            else:
                raise ValueError(tag)
    except (ValueError, IndexError, UnicodeDecodeError):
        log.warning("split cache %s is damaged; splitting from scratch", path)
        return None
    return state, header


def save(path: Path, state: SplitState, tips: list[str]) -> None:
    out: list[str] = [json.dumps({"tips": tips[-MAX_TIPS:], "trailers": sorted(state.trailers)})]
    kinds = state.kinds
    out += [f"m {s} {n} {kinds.get(s, 't')}" for s, n in state.mapping.items()]
    out += [f"n {s}" for s in state.notree]
    out += [f"c {c} {tree} {','.join(parents) or '-'}" for c, (tree, parents) in state.created.items()]
    out += [f"t {c} {tree}" for c, tree in state.toptrees.items()]
    out += [f"l {c} {lvl}" for c, lvl in state.levels.items()]
    body = MAGIC + ("\n".join(out) + "\n").encode()
    atomic_write(path, body + b"end " + hashlib.sha1(body).hexdigest().encode() + b"\n")
