"""Reproducible source tarballs from a git commit, and safe reading of tarballs.

:func:`build_tarball` writes the tree of one commit as ``PREFIX/...`` entries
with Python's tarfile, so the bytes depend on the commit alone, not on the
machine, the clock, the umask, the user or the checkout:

* entries come from ``git ls-tree -r`` (the commit's tree, never the work
  tree), sorted by path, with a directory entry before its contents;
* every mtime is the commit's committer time; uid/gid 0, uname/gname ``root``;
* modes are normalized the way git itself stores them: ``100755`` -> 0755,
  every other blob 0644, directories 0755; symlinks (``120000``) stay symlinks
  whose target is the blob's content; submodules (``160000``) have no content in
  this repository and are left out;
* gzip has no file name, mtime 0 and a fixed level; xz uses one fixed preset,
  the CRC64 check and a single thread (multi-threaded xz splits blocks by
  timing-independent but thread-count-dependent sizes).

The compressed bytes still depend on the zlib/liblzma versions linked into
Python; the uncompressed tar stream depends on nothing but the commit.

:func:`check_members` is for the opposite direction: tarballs read back from
disk (the download area, OBS sources) are refused when a member would land
outside the directory they are unpacked into.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import itertools
import lzma
import os
import posixpath
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from releasetool import proc
from releasetool.errors import GitError, ReleaseError

FORMATS = ("gz", "xz")
GZIP_LEVEL = 9
XZ_PRESET = 6


@dataclass(frozen=True)
class TreeEntry:
    mode: str  # git's octal mode string: 100644, 100755, 120000, 160000
    kind: str  # blob, commit (submodule)
    sha: str
    path: str


def tarball_name(name: str, version: str, fmt: str) -> str:
    return f"{name}-{version}.tar.{fmt}"


def tree_entries(repo: str | os.PathLike[str], commit: str) -> list[TreeEntry]:
    """Every file of ``commit`` (recursively), sorted by path."""
    raw = proc.run(["git", "-C", os.fspath(repo), "ls-tree", "-r", "-z", "--full-tree", commit]).stdout
    entries = []
    for record in raw.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, kind, sha = meta.decode("ascii").split(" ")
        entries.append(TreeEntry(mode, kind, sha, path.decode("utf-8", "surrogateescape")))
    entries.sort(key=lambda e: e.path.encode("utf-8", "surrogateescape"))
    return entries


def commit_time(repo: str | os.PathLike[str], commit: str) -> int:
    """The committer time of ``commit`` in seconds since the epoch."""
    return int(proc.git(repo, "show", "-s", "--format=%ct", commit))


def _read_blobs(repo: str | os.PathLike[str], shas: list[str]) -> Iterator[bytes]:
    """The contents of ``shas`` in order, through one ``git cat-file --batch``.

    A long-lived streaming process, so this uses subprocess directly rather
    than proc.run (which runs a command to completion).  The object names are
    written by a thread while this one reads: writing them all first could
    fill both pipes and deadlock, one at a time costs a round trip each.
    """
    if not shas:
        return
    argv = ["git", "-C", os.fspath(repo), "cat-file", "--batch"]
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          bufsize=1 << 20) as child:
        assert child.stdin is not None and child.stdout is not None
        stdin = child.stdin

        def feed() -> None:
            try:
                stdin.write("".join(f"{sha}\n" for sha in shas).encode("ascii"))
            except BrokenPipeError:
                pass
            finally:
                with contextlib.suppress(BrokenPipeError):
                    stdin.close()

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        try:
            for sha in shas:
                header = child.stdout.readline().split()
                if len(header) != 3:
                    raise GitError(f"{repo}: object {sha} is missing", hint="run `git fsck` in the repository")
                size = int(header[2])
                data = child.stdout.read(size)
                child.stdout.read(1)  # the newline after each object
                yield data
        finally:
            child.stdout.close()
            child.kill()
            writer.join()


def _dirs_of(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def tar_stream(repo: str | os.PathLike[str], commit: str, prefix: str) -> bytes:
    """The uncompressed tar of ``commit`` under ``prefix/``."""
    if not prefix or "/" in prefix or prefix in (".", ".."):
        raise ReleaseError(f"tarball prefix {prefix!r} must be one directory name")
    mtime = commit_time(repo, commit)
    entries = [e for e in tree_entries(repo, commit) if e.kind == "blob"]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8") as tar:
        seen_dirs: set[str] = set()

        def add_dir(path: str) -> None:
            info = _info(f"{prefix}/{path}" if path else prefix, mtime)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)

        add_dir("")
        blobs = _read_blobs(repo, [e.sha for e in entries])
        for entry, data in zip(entries, blobs, strict=True):
            for directory in _dirs_of(entry.path):
                if directory not in seen_dirs:
                    seen_dirs.add(directory)
                    add_dir(directory)
            info = _info(f"{prefix}/{entry.path}", mtime)
            if entry.mode == "120000":
                info.type = tarfile.SYMTYPE
                info.linkname = data.decode("utf-8", "surrogateescape")
                info.mode = 0o777
                tar.addfile(info)
                continue
            info.mode = 0o755 if entry.mode == "100755" else 0o644
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _info(name: str, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def compress(data: bytes, fmt: str) -> bytes:
    if fmt == "gz":
        out = io.BytesIO()
        # filename="" and mtime=0 keep the name and the clock out of the header.
        with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=GZIP_LEVEL, mtime=0) as gz:
            gz.write(data)
        return out.getvalue()
    if fmt == "xz":
        return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=XZ_PRESET)
    raise ReleaseError(f"unknown tarball format {fmt!r} (one of: {', '.join(FORMATS)})")


def build_tarball(repo: str | os.PathLike[str], commit: str, prefix: str, fmt: str) -> bytes:
    """The reproducible ``.tar.FMT`` of ``commit`` with every member under ``prefix/``."""
    return compress(tar_stream(repo, commit, prefix), fmt)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256sums(files: dict[str, str]) -> str:
    """``SHA256SUMS`` text (the format ``sha256sum -c`` reads) for name -> digest, sorted by name."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(files.items()))


def parse_sha256sums(text: str, where: str) -> dict[str, str]:
    sums: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ReleaseError(f"{where}:{number}: not a SHA256SUMS line: {line[:80]!r}")
        sums[name.lstrip("*")] = digest
    return sums


def check_members(path: str | os.PathLike[str]) -> int:
    """Refuse a tarball whose members could escape the directory it is unpacked into.

    Refused: absolute names, ``..`` components, links (symbolic or hard)
    whose target resolves outside the top directory, and device or fifo
    members.  Returns the number of members checked.
    """
    where = os.fspath(path)
    try:
        with tarfile.open(where, mode="r:*") as tar:
            count = 0
            for member in tar:
                count += 1
                problem = _member_problem(member)
                if problem:
                    raise ReleaseError(
                        f"{where}: member {member.name!r} {problem}",
                        hint="this tarball is unsafe to unpack; rebuild it with `releasetool release`",
                    )
            return count
    except (tarfile.TarError, EOFError, OSError, lzma.LZMAError, gzip.BadGzipFile) as exc:
        raise ReleaseError(f"{where}: not a readable tarball: {exc}") from None


def _escapes(name: str) -> bool:
    normal = posixpath.normpath(name)
    return name.startswith("/") or normal == ".." or normal.startswith("../") or ".." in name.split("/")


def _member_problem(member: tarfile.TarInfo) -> str | None:
    if _escapes(member.name):
        return "escapes the unpack directory (absolute or '..')"
    if member.isdev() or member.isfifo():
        return "is a device or fifo"
    if member.issym():
        if member.linkname.startswith("/"):
            return f"is a symlink to an absolute path ({member.linkname!r})"
        parts = [p for p in member.linkname.split("/") if p not in ("", ".")]
        # ``..`` after a real component could climb out through another symlink
        # (a -> ., b -> a/..), which a textual normpath would not see.
        leading = len(parts) - len(list(itertools.dropwhile(lambda p: p == "..", parts)))
        if ".." in parts[leading:]:
            return f"is a symlink with '..' inside its target ({member.linkname!r})"
        top = member.name.split("/")[0]
        target = posixpath.normpath(posixpath.join(posixpath.dirname(member.name), member.linkname))
        if target != top and not target.startswith(top + "/"):
            return f"is a symlink pointing outside ({member.linkname!r})"
    if member.islnk() and _escapes(member.linkname):
        return f"is a hard link pointing outside ({member.linkname!r})"
    return None


def write_verified(path: Path, data: bytes) -> str:
    """Atomically write ``data`` to ``path`` unless it already holds it; return its sha256."""
    from releasetool.fsutil import write_if_changed

    write_if_changed(path, data)
    return sha256_hex(data)
