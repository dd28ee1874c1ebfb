"""Git plumbing for the splitter: bulk reads, object writing and ref moves.

Everything here talks to git through a handful of processes per run instead of
one per commit:

* one ``git rev-list --format=...`` gives every commit of a range with its
  parents, top tree, author, committer and raw message (re-encoded to UTF-8 by
  git itself, exactly as ``git log`` shows it to ``git subtree``);
* one ``git cat-file --batch-check``, fed as the listing streams, answers
  ``TREE:PREFIX`` for every distinct top tree;
* new commit and tree objects are hashed in Python (an object id is the SHA-1
  of ``"<type> <size>\\0" + body``) and written as one pack with its index, or
  as loose objects when there are only a few;
* refs move last, in one ``git update-ref --stdin`` transaction with old-value
  checks.

These streaming processes, and ``cat-file --batch`` for the rare lazy
lookups, are driven with :class:`subprocess.Popen` directly (proc.run is for
one-shot commands).
"""

from __future__ import annotations

import os
import struct
import subprocess
import threading
import zlib
from collections.abc import Callable, Iterable, Sequence

from releasetool import proc
from releasetool.errors import CommandError, GitError
from releasetool.log import log

# mypy reads any name TYPE_CHECKING as true; a constant spares importing typing
TYPE_CHECKING = False
if TYPE_CHECKING:
    from hashlib import sha1 as sha1  # re-exported for the split cache
else:
    try:
        # CPython's own SHA-1 loads in well under a millisecond; hashlib's loads
        # OpenSSL (about 4 ms, a large share of an incremental split).  Same digests.
        from _sha1 import sha1
    except ImportError:  # pragma: no cover - another Python implementation
        from hashlib import sha1

ZERO_OID = "0" * 40

# Field separator inside --format output: %B cannot contain NUL (git stops the
# message at the first NUL when formatting, as it does for git subtree).
COMMIT_FORMAT = "%T%x00%an%x00%ae%x00%ad%x00%cn%x00%ce%x00%cd%x00%B%x00"
LISTING_FORMAT = "%T %H %P%x00%an%x00%ae%x00%ad%x00%cn%x00%ce%x00%cd%x00%B%x00"
FORMAT_FIELDS = 8

OBJ_COMMIT = 1
OBJ_TREE = 2
TYPE_NAMES = {OBJ_COMMIT: b"commit", OBJ_TREE: b"tree", 4: b"tag"}
LOOSE_LIMIT = 64  # fewer new objects than this are written loose, not packed


class CommitRecord:
    """One source commit as git formats it (dates as ``<seconds> <+hhmm>``)."""

    __slots__ = (
        "author_date",
        "author_email",
        "author_name",
        "committer_date",
        "committer_email",
        "committer_name",
        "message",
        "oid",
        "parents",
        "toptree",
    )

    oid: str
    parents: tuple[str, ...]
    toptree: str
    author_name: bytes
    author_email: bytes
    author_date: bytes
    committer_name: bytes
    committer_email: bytes
    committer_date: bytes
    message: bytes

    def __init__(self, oid: str, parents: tuple[str, ...], toptree: str, author_name: bytes,
                 author_email: bytes, author_date: bytes, committer_name: bytes, committer_email: bytes,
                 committer_date: bytes, message: bytes) -> None:
        self.oid, self.parents, self.toptree = oid, parents, toptree
        self.author_name, self.author_email, self.author_date = author_name, author_email, author_date
        self.committer_name, self.committer_email = committer_name, committer_email
        self.committer_date, self.message = committer_date, message


class Git:
    """One repository: its git dir and the processes the splitter runs in it."""

    def __init__(self, repo: str | os.PathLike[str], rev: str | None = None) -> None:
        """Open ``repo``; with ``rev``, also resolve it to a commit (``self.rev_oid``), in one call."""
        self.repo = os.fspath(repo)
        self._batch: subprocess.Popen[bytes] | None = None
        # The common dir is shared by all work trees of a repository; --git-path
        # objects follows GIT_OBJECT_DIRECTORY.  Both may come relative to repo.
        args = ["git", "-C", self.repo, "rev-parse", "--absolute-git-dir", "--git-common-dir",
                "--git-path", "objects", "--is-shallow-repository"]
        if rev is not None:
            args += ["--verify", "-q", f"{rev}^{{commit}}"]
        done = proc.run(args, check=False)
        lines = done.stdout.decode().splitlines()
        if len(lines) < 4:
            raise GitError(
                f"not a git repository: {self.repo}",
                hint="give --repo the path of a git checkout or bare repository",
            )
        # plain strings, not pathlib: the quick commands do not import it
        self.git_dir = os.path.realpath(os.path.join(self.repo, lines[1]))
        self.objects_path = os.path.realpath(os.path.join(self.repo, lines[2]))
        # A shallow clone lacks the history before its cut: its split would be
        # a different, shorter history with other commit ids.
        self.shallow = lines[3] == "true"
        self.rev_oid = ""
        if rev is not None:
            if done.returncode != 0 or len(lines) < 5:
                raise GitError(f"unknown revision {rev!r} in {self.repo}",
                               hint="give --rev a branch, tag or commit id that exists there")
            self.rev_oid = lines[4]

    # -- one-shot commands -------------------------------------------------
    def run(self, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
        return proc.run(["git", "-C", self.repo, *args], input=input, check=check).stdout

    def resolve_commit(self, rev: str) -> str:
        out = proc.run(["git", "-C", self.repo, "rev-parse", "--verify", "-q", f"{rev}^{{commit}}"],
                       check=False)
        if out.returncode != 0:
            raise GitError(f"unknown revision {rev!r} in {self.repo}",
                           hint="give --rev a branch, tag or commit id that exists there")
        return out.stdout.decode().strip()

    def ref_value(self, ref: str) -> str | None:
        out = proc.run(["git", "-C", self.repo, "rev-parse", "--verify", "-q", ref], check=False)
        return out.stdout.decode().strip() if out.returncode == 0 else None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        done = proc.run(["git", "-C", self.repo, "merge-base", "--is-ancestor", ancestor, descendant],
                        check=False)
        return done.returncode == 0

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """Start ``git ARGS`` in the background (read it with ``finish``)."""
        argv = ["git", "-C", self.repo, *args]
        log.debug("$ %s", " ".join(argv))
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=proc.environment())

    @staticmethod
    def finish(started: subprocess.Popen[bytes]) -> bytes:
        out, err = started.communicate()
        if started.returncode != 0:
            raise CommandError([str(a) for a in started.args], started.returncode,  # type: ignore[union-attr]
                               err.decode("utf-8", "replace"))
        return out

    def list_range(self, args: Sequence[str], paths: Sequence[str],
                   extra: Callable[[list[CommitRecord]], list[str]] | None = None,
                   ) -> tuple[list[CommitRecord], dict[bytes, list[bytes]], list[bytes]]:
        """The commits of ``rev-list ARGS`` (newest first), cat-file's answer for
        each ``TREE:PATH``, and its answers for the names ``extra(commits)`` gives.

        One formatted rev-list gives every commit with parents, top tree,
        author, committer and message; it streams into ``cat-file
        --batch-check`` as it comes, so the two processes work side by side.
        Asking ``TREE:PATH`` rather than ``COMMIT:PATH`` spares cat-file
        reading every commit a second time, and a top tree shared by several
        commits is asked once.  An answer is ``b"<oid> <type>"`` or ends in
        ``missing``.
        """
        env = proc.environment()
        base = ["git", "-C", self.repo]
        listing = subprocess.Popen([*base, "rev-list", "--no-commit-header", f"--format={LISTING_FORMAT}",
                                    "--date=raw", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        check = subprocess.Popen([*base, "cat-file", "--batch-check=%(objectname) %(objecttype)", "--buffer"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        answers: list[bytes] = []

        def drain() -> None:
            assert check.stdout is not None
            answers.extend(check.stdout.read().split(b"\n"))

        reader = threading.Thread(target=drain)
        reader.start()
        suffixes = [b":" + p.encode("utf-8", "surrogateescape") + b"\n" for p in paths]
        records: list[CommitRecord] = []
        asked: dict[bytes, int] = {}
        assert listing.stdout is not None and check.stdin is not None
        rest = b""
        n = FORMAT_FIELDS
        while True:
            # Popen's pipe is a BufferedReader; typeshed only says IO[bytes]
            chunk = listing.stdout.read1(1 << 16)  # type: ignore[attr-defined]
            if not chunk:
                break
            parts = (rest + chunk).split(b"\0")
            complete = (len(parts) - 1) // n * n
            rest = b"\0".join(parts[complete:])
            fresh = []
            for i in range(0, complete, n):
                head = parts[i].lstrip(b"\n")
                tree = head[:40]
                ids = head[41:].decode().split(" ")
                records.append(CommitRecord(ids[0], tuple(ids[1:]) if ids[1] else (), tree.decode(),
                                            *parts[i + 1:i + n]))
                if tree not in asked:
                    asked[tree] = len(asked)
                    fresh.append(tree)
            if fresh:
                check.stdin.write(b"".join(t + suffix for t in fresh for suffix in suffixes))
                check.stdin.flush()
        err = listing.stderr.read() if listing.stderr else b""
        listing.wait()
        names = extra(records) if extra is not None and listing.returncode == 0 else []
        if names:
            check.stdin.write(("\n".join(names) + "\n").encode())
        check.stdin.close()
        reader.join()
        check.wait()
        if listing.returncode != 0:
            raise CommandError([str(a) for a in listing.args], listing.returncode,  # type: ignore[union-attr]
                               err.decode("utf-8", "replace"))
        per = len(paths)
        found = {tree: answers[i * per:(i + 1) * per] for tree, i in asked.items()}
        return records, found, answers[len(asked) * per:len(asked) * per + len(names)]

    def format_commits(self, oids: Sequence[str]) -> list[CommitRecord]:
        """The formatted records of the given commits (one ``rev-list --no-walk --stdin``)."""
        if not oids:
            return []
        data = self.run("rev-list", "--no-walk=unsorted", "--stdin", f"--format={COMMIT_FORMAT}", "--date=raw",
                        input=("\n".join(oids) + "\n").encode())
        return parse_commit_stream(data)

    def batch_check(self, names: Iterable[str]) -> list[tuple[str, str] | None]:
        """``(oid, type)`` or None per object name, via one ``cat-file --batch-check``."""
        items = list(names)
        if not items:
            return []
        data = ("\n".join(items) + "\n").encode("utf-8", "surrogateescape")
        out = self.run("cat-file", "--batch-check=%(objectname) %(objecttype)", "--buffer", input=data)
        answers: list[tuple[str, str] | None] = []
        for line in out.decode("utf-8", "surrogateescape").splitlines():
            if line.endswith((" missing", " ambiguous")):
                answers.append(None)
            else:
                oid, _, kind = line.partition(" ")
                answers.append((oid, kind))
        if len(answers) != len(items):
            raise GitError(f"git cat-file answered {len(answers)} of {len(items)} questions in {self.repo}")
        return answers

    # -- long-lived reader for rare lazy lookups -----------------------------
    def read_object(self, name: str) -> tuple[str, bytes] | None:
        """``(type, content)`` of one object, through a persistent ``cat-file --batch``."""
        if self._batch is None:
            # Long-lived streaming process: one request a line, answers in order.
            self._batch = subprocess.Popen(
                ["git", "-C", self.repo, "cat-file", "--batch"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=proc.environment(),
            )
        assert self._batch.stdin is not None and self._batch.stdout is not None
        self._batch.stdin.write(name.encode() + b"\n")
        self._batch.stdin.flush()
        header = self._batch.stdout.readline().decode().split()
        if len(header) < 3:
            return None
        size = int(header[2])
        body = self._batch.stdout.read(size + 1)[:-1]
        return header[1], body

    def commit_header(self, oid: str) -> tuple[str, tuple[str, ...]]:
        """The tree and parents of a commit, read through the long-lived ``cat-file --batch``."""
        found = self.read_object(oid)
        if found is None or found[0] != "commit":
            raise GitError(f"commit {oid} is missing from {self.repo}",
                           hint="the repository is incomplete; fetch its full history (not shallow)")
        tree = ""
        parents = []
        for line in found[1].split(b"\n"):
            if not line:
                break
            if line.startswith(b"parent "):
                parents.append(line[7:47].decode())
            elif line.startswith(b"tree "):
                tree = line[5:45].decode()
        return tree, tuple(parents)

    def close(self) -> None:
        if self._batch is not None:
            assert self._batch.stdin is not None
            self._batch.stdin.close()
            self._batch.wait()
            self._batch = None

    # -- writing --------------------------------------------------------------
    def write_objects(self, objects: Sequence[tuple[int, bytes]]) -> None:
        """Store ``(type, body)`` objects: loose when few, else one pack and its index."""
        if not objects:
            return
        objdir = self.objects_dir()
        if len(objects) < LOOSE_LIMIT:
            for kind, body in objects:
                write_loose(objdir, kind, body)
        else:
            write_pack(os.path.join(objdir, "pack"), objects)

    def objects_dir(self) -> str:
        return self.objects_path

    def update_refs(self, updates: Sequence[tuple[str, str, str | None]], message: str) -> None:
        """Move refs in one transaction; ``old`` None means "must not exist yet"."""
        if not updates:
            return
        lines = ["start"]
        for ref, new, old in updates:
            lines.append(f"update {ref} {new} {old or ZERO_OID}")
        lines += ["prepare", "commit"]
        self.run("update-ref", "-m", message, "--stdin", input=("\n".join(lines) + "\n").encode())


def parse_commit_stream(data: bytes) -> list[CommitRecord]:
    """Parse ``rev-list --parents --format=COMMIT_FORMAT`` output.

    A record is ``commit ID PARENTS\n`` followed by the NUL-terminated fields
    and a newline; splitting the whole stream on NUL once (in C) is much
    faster than walking it field by field.
    """
    parts = data.split(b"\0")
    records: list[CommitRecord] = []
    append = records.append
    for i in range(0, len(parts) - FORMAT_FIELDS, FORMAT_FIELDS):
        header, _, toptree = parts[i].lstrip(b"\n").partition(b"\n")
        ids = header.decode().split(" ")
        if ids[0] != "commit":
            raise GitError("unexpected output from git rev-list")
        append(CommitRecord(ids[1], tuple(ids[2:]), toptree.decode(), *parts[i + 1:i + FORMAT_FIELDS]))
    return records


def object_id(kind: int, body: bytes) -> str:
    return sha1(TYPE_NAMES[kind] + b" %d\0" % len(body) + body).hexdigest()


def write_loose(objdir: str, kind: int, body: bytes) -> None:
    oid = object_id(kind, body)
    fanout = os.path.join(objdir, oid[:2])
    target = os.path.join(fanout, oid[2:])
    if os.path.exists(target):
        return
    if not os.path.isdir(fanout):  # git creates the 256 fan-out directories as needed
        os.makedirs(fanout, exist_ok=True)
    raw = zlib.compress(TYPE_NAMES[kind] + b" %d\0" % len(body) + body, 1)
    _write_read_only(target, raw)


def _write_read_only(target: str, data: bytes) -> None:
    """Write ``target`` (mode 0444, as git's objects are) through a temporary file and a rename.

    The temporary name starts with ``tmp_obj_`` like git's own, so that ``git
    prune`` removes one left behind by a killed run.
    """
    directory, name = os.path.split(target)
    tmp = os.path.join(directory, f"tmp_obj_{os.getpid()}_{name}")
    _unlink(tmp)  # left by a killed run that had this pid
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o444)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _pack_entry_header(kind: int, size: int) -> bytes:
    byte = (kind << 4) | (size & 0x0F)
    size >>= 4
    out = bytearray()
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


def fanout_table(sorted_ids: Sequence[bytes]) -> list[int]:
    """Entry i: how many ids start with a byte <= i (the fan-out of a pack index)."""
    counts = [0] * 256
    for oid in sorted_ids:
        counts[oid[0]] += 1
    total = 0
    for i in range(256):
        total += counts[i]
        counts[i] = total
    return counts


def write_pack(packdir: str, objects: Sequence[tuple[int, bytes]]) -> str:
    """Write undeltified objects as ``pack-<sha>.pack`` with a version-2 ``.idx``.

    The pack is renamed into place before its index, as git does: a pack
    without an index is ignored, so readers never see a half-written pack.
    """
    os.makedirs(packdir, exist_ok=True)
    seen: dict[bytes, tuple[int, int]] = {}  # binary oid -> (offset, crc32)
    chunks: list[bytes] = []
    offset = 12
    for kind, body in objects:
        oid = sha1(TYPE_NAMES[kind] + b" %d\0" % len(body) + body).digest()
        if oid in seen:
            continue
        # Stored, not deflated: commits are small and `git gc` recompresses.
        entry = _pack_entry_header(kind, len(body)) + zlib.compress(body, 0)
        seen[oid] = (offset, zlib.crc32(entry))
        chunks.append(entry)
        offset += len(entry)
    pack = b"PACK" + struct.pack(">II", 2, len(seen)) + b"".join(chunks)
    pack_sha = sha1(pack).digest()
    pack += pack_sha
    if offset >= 2**31:
        raise GitError("split produced a pack over 2 GiB; this writer does not support it")
    names = sorted(seen)
    fanout = fanout_table(names)
    idx = bytearray(b"\xfftOc" + struct.pack(">I", 2))
    idx += struct.pack(">256I", *fanout)
    idx += b"".join(names)
    idx += struct.pack(f">{len(names)}I", *(seen[o][1] for o in names))
    idx += struct.pack(f">{len(names)}I", *(seen[o][0] for o in names))
    idx += pack_sha
    idx += sha1(idx).digest()
    hexname = pack_sha.hex()
    for suffix, payload in ((".pack", pack), (".idx", bytes(idx))):
        target = os.path.join(packdir, f"pack-{hexname}{suffix}")
        if os.path.exists(target):
            continue
        _write_read_only(target, payload)
    return hexname
