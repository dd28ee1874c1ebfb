"""A large generated history, written with one ``git fast-import`` stream.

Deterministic for a given seed: a main line with several top-level
directories, topic branches merged back (some touching a directory on both
sides), commits outside every directory, and one directory (``tools``) deleted
and added again half way.  Used by the split tests and by ``bench/split.py``.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

PREFIXES = ("agents", "doc", "lib/common", "tools")
OUTSIDE = ("Makefile.am", "configure.ac", "README", "m4/ax.m4")


class _Stream:
    def __init__(self, seed: int, start: int) -> None:
        self.rng = random.Random(seed)
        self.parts: list[bytes] = []
        self.mark = 0
        self.clock = start

    def data(self, payload: bytes) -> None:
        self.parts.append(b"data %d\n" % len(payload) + payload + b"\n")

    def commit(self, ref: str, message: str, parents: list[int], changes: dict[str, bytes | None]) -> int:
        self.mark += 1
        self.clock += self.rng.randint(30, 4000)
        who = self.rng.choice(["Ada <ada@example.org>", "Ken <ken@example.org>", "Zo\xeb <zoe@example.org>"])
        tz = self.rng.choice(["+0000", "+0200", "-0500", "+0530"])
        self.parts.append(f"commit {ref}\nmark :{self.mark}\n".encode())
        self.parts.append(f"author {who} {self.clock} {tz}\ncommitter {who} {self.clock} {tz}\n".encode())
        self.data(message.encode())
        if parents:
            self.parts.append(f"from :{parents[0]}\n".encode())
        for extra in parents[1:]:
            self.parts.append(f"merge :{extra}\n".encode())
        for path, content in sorted(changes.items()):
            if content is None:
                self.parts.append(f"D {path}\n".encode())
            else:
                self.parts.append(f"M 100644 inline {path}\n".encode())
                self.data(content)
        return self.mark


def generate(path: Path, commits: int, *, seed: int = 2008, start: int = 1_200_000_000) -> dict[str, int]:
    """Create a repository at ``path`` with about ``commits`` commits on ``main``."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    s = _Stream(seed, start)
    rng = s.rng
    tree: dict[str, bytes] = {}
    counter = 0

    def change(prefixes: tuple[str, ...]) -> dict[str, bytes | None]:
        nonlocal counter
        out: dict[str, bytes | None] = {}
        for _ in range(rng.randint(1, 3)):
            counter += 1
            base = rng.choice(prefixes) if prefixes else None
            name = f"{base}/f{rng.randint(0, 40)}.txt" if base else rng.choice(OUTSIDE)
            out[name] = f"{name} revision {counter}\n".encode()
        return out

    tools_deleted = False
    head = s.commit("refs/heads/main", "initial import\n", [], {f"{p}/README": b"start\n" for p in PREFIXES})
    made = 1
    while made < commits:
        roll = rng.random()
        if roll < 0.04 and made + 8 < commits:
            # a topic branch of a few commits, merged back with --no-ff
            topic_changes: dict[str, bytes | None] = {}
            tip = head
            for i in range(rng.randint(2, 5)):
                ch = change(PREFIXES if rng.random() < 0.7 else ())
                ch = {k: v for k, v in ch.items() if not (tools_deleted and k.startswith("tools/"))}
                tip = s.commit("refs/heads/topic", f"topic work {made} {i}\n", [tip], ch)
                topic_changes.update(ch)
                made += 1
            main_ch = change(PREFIXES) if rng.random() < 0.5 else {}
            main_ch = {k: v for k, v in main_ch.items() if not (tools_deleted and k.startswith("tools/"))}
            if main_ch:
                head = s.commit("refs/heads/main", f"main meanwhile {made}\n", [head], main_ch)
                made += 1
                tree.update({k: v for k, v in main_ch.items() if v is not None})
            head = s.commit("refs/heads/main", f"Merge topic at {made}\n", [head, tip], topic_changes)
            tree.update({k: v for k, v in topic_changes.items() if v is not None})
            made += 1
            continue
        if not tools_deleted and made > commits * 0.4 and made < commits * 0.45:
            gone = {k: None for k in list(tree) if k.startswith("tools/")}
            gone["tools/README"] = None
            head = s.commit("refs/heads/main", "remove tools\n", [head], gone)
            for k in gone:
                tree.pop(k, None)
            tools_deleted = True
            made += 1
            continue
        if tools_deleted and made > commits * 0.6:
            head = s.commit("refs/heads/main", "bring tools back\n", [head], {"tools/README": b"back\n"})
            tools_deleted = False
            made += 1
            continue
        pool = tuple(p for p in PREFIXES if not (tools_deleted and p == "tools"))
        ch = change(pool if roll < 0.8 else ())
        head = s.commit("refs/heads/main", f"change {made}\n\nbody of change {made}\n", [head], ch)
        tree.update({k: v for k, v in ch.items() if v is not None})
        made += 1
    s.parts.append(b"reset refs/heads/topic\nfrom 0000000000000000000000000000000000000000\n")
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input=b"".join(s.parts), check=True)
    subprocess.run(["git", "-C", str(path), "update-ref", "-d", "refs/heads/topic"], check=False)
    return {"commits": made}


def extend(path: Path, commits: int, *, seed: int = 7, prefix: str = "doc") -> None:
    """Add ``commits`` commits on top of ``main`` (half of them inside ``prefix``)."""
    head = subprocess.run(["git", "-C", str(path), "rev-parse", "main"], capture_output=True, text=True,
                          check=True).stdout.strip()
    clock = int(subprocess.run(["git", "-C", str(path), "log", "-1", "--format=%ct", "main"],
                               capture_output=True, text=True, check=True).stdout)
    parts = [f"reset refs/heads/main\nfrom {head}\n".encode()]
    for i in range(commits):
        clock += 60
        name = f"{prefix}/extra-{seed}-{i}.txt" if i % 2 == 0 else f"outside-{seed}-{i}.txt"
        msg = f"extra {seed} {i}\n".encode()
        content = f"{i}\n".encode()
        parts.append(b"commit refs/heads/main\n")
        parts.append(f"author X <x@example.org> {clock} +0000\ncommitter X <x@example.org> {clock} +0000\n".encode())
        parts.append(b"data %d\n" % len(msg) + msg + b"\n")
        parts.append(f"M 100644 inline {name}\n".encode())
        parts.append(b"data %d\n" % len(content) + content + b"\n")
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input=b"".join(parts), check=True)
