"""Reproducible source tarballs, and safe reading of tarballs.

The files of a release tarball come from upstream's own method (see
:mod:`releasetool.release.dist` for ``make dist``); :func:`archive_members`
gives git's archive of a commit, ``.gitattributes`` applied.  :func:`pack`
then writes ``PREFIX/...`` entries with Python's tarfile so that the bytes
depend on those files alone, not on the machine, the clock, the umask or the
user:

* entries sorted by path, with a directory entry before its contents;
* every mtime is the commit's committer time; uid/gid 0, uname/gname ``root``;
* modes normalized the way git stores them: executables 0755, every other
  file 0644, directories 0755; symbolic links stay symbolic links; submodules
  have no content in the repository and are left out;
* gzip has no file name, mtime 0 and a fixed level; xz uses one fixed preset,
  the CRC64 check and a single thread (multi-threaded xz splits blocks by
  timing-independent but thread-count-dependent sizes).

The compressed bytes still depend on the zlib/liblzma versions linked into
Python; the uncompressed tar stream depends on nothing but the files.

:func:`check_members` is for the opposite direction: tarballs read back from
disk (the download area, OBS sources) are refused when a member would land
outside the directory they are unpacked into.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import lzma
import os
import posixpath
import tarfile
from dataclasses import dataclass
from pathlib import Path

from releasetool import proc
from releasetool.errors import ReleaseError

FORMATS = ("gz", "xz")
ABBREV = 11  # hex digits of an abbreviated commit id in export-subst placeholders
GZIP_LEVEL = 9
XZ_PRESET = 6


@dataclass(frozen=True)
class Member:
    """One file of a tarball, relative to its top directory."""

    path: str
    data: bytes  # the content; for a symbolic link, its target
    executable: bool = False
    symlink: bool = False


def tarball_name(name: str, version: str, fmt: str) -> str:
    return f"{name}-{version}.tar.{fmt}"


def commit_time(repo: str | os.PathLike[str], commit: str) -> int:
    """The committer time of ``commit`` in seconds since the epoch."""
    # ^{commit}: for an annotated tag, `git show` would print the tag object too
    return int(proc.git(repo, "show", "-s", "--format=%ct", f"{commit}^{{commit}}"))


def archive_members(repo: str | os.PathLike[str], commit: str, tag: str | None = None) -> list[Member]:
    """The files ``git archive`` gives for ``commit``, with .gitattributes' export-ignore and export-subst applied.

    git archive runs in a scratch repository that borrows the objects of
    ``repo`` (an alternate) and has one ref, ``refs/tags/TAG``: so a
    ``$Format:%d$`` placeholder expands to `` (tag: TAG)`` wherever it is
    made, not to whatever branches the clone at hand happens to have (GitHub's
    tag archives, from which upstreams that use it take their version, show
    the tag too).  Submodules have no content here and are left out.
    """
    import tempfile

    commit = proc.git(repo, "rev-parse", "--verify", "-q", f"{commit}^{{commit}}")  # HEAD means the source's
    source_objects = proc.git(repo, "rev-parse", "--path-format=absolute", "--git-path", "objects")
    with tempfile.TemporaryDirectory(prefix="releasetool-archive-") as scratch:
        proc.run(["git", "init", "-q", "--bare", scratch])
        Path(scratch, "objects", "info", "alternates").write_text(source_objects + "\n")
        if tag:
            proc.run(["git", "-C", scratch, "update-ref", f"refs/tags/{tag}", commit])
        # $Format:%h$ abbreviates to a length that grows with the repository's
        # object count; a fixed length keeps the file the same in every clone.
        # 11 is what GitHub's tag archives show (pacemaker's BUILD_VERSION in
        # its 2.1.5 and 3.0.0 tarballs).
        raw = proc.run(["git", "-C", scratch, "-c", "core.quotePath=false", "-c", f"core.abbrev={ABBREV}",
                        "archive", "--format=tar", commit]).stdout
    return members_of_tar(raw, top=None, where=f"git archive of {commit[:12]}")


def members_of_tar(raw: bytes, *, top: str | None, where: str) -> list[Member]:
    """The files and symbolic links of a tar stream (any compression), directories left out.

    With ``top`` every member must lie under ``top/``, which is stripped.
    """
    members: list[Member] = []
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:*") as tar:
            for info in tar:
                name = info.name.rstrip("/")
                if top is not None:
                    if name == top:
                        continue
                    if not name.startswith(top + "/"):
                        raise ReleaseError(f"{where}: member {info.name!r} is not under {top}/",
                                           hint=f"the tarball must unpack into {top}/")
                    name = name[len(top) + 1:]
                if _escapes(name):
                    raise ReleaseError(f"{where}: member {info.name!r} escapes the top directory")
                if info.isdir():
                    continue
                if info.issym():
                    members.append(Member(name, info.linkname.encode("utf-8", "surrogateescape"), symlink=True))
                elif info.isfile():
                    handle = tar.extractfile(info)
                    assert handle is not None
                    members.append(Member(name, handle.read(), executable=bool(info.mode & 0o100)))
                else:
                    raise ReleaseError(f"{where}: member {info.name!r} is neither a file, a directory nor a "
                                       "symbolic link")
    except (tarfile.TarError, EOFError, lzma.LZMAError, gzip.BadGzipFile) as exc:
        raise ReleaseError(f"{where}: not a readable tarball: {exc}") from None
    return members


def _dirs_of(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def pack(members: list[Member], prefix: str, mtime: int) -> bytes:
    """The reproducible uncompressed tar of ``members`` under ``prefix/``.

    Sorted by path (bytes), a directory entry before its contents, every
    mtime ``mtime``, owner root, modes 0755 (directories, executables) and
    0644, PAX format: nothing of the machine, the clock or the umask.
    """
    if not prefix or "/" in prefix or prefix in (".", ".."):
        raise ReleaseError(f"tarball prefix {prefix!r} must be one directory name")
    ordered = sorted(members, key=lambda m: m.path.encode("utf-8", "surrogateescape"))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8") as tar:
        seen_dirs: set[str] = set()

        def add_dir(path: str) -> None:
            info = _info(f"{prefix}/{path}" if path else prefix, mtime)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)

        add_dir("")
        for member in ordered:
            for directory in _dirs_of(member.path):
                if directory not in seen_dirs:
                    seen_dirs.add(directory)
                    add_dir(directory)
            info = _info(f"{prefix}/{member.path}", mtime)
            if member.symlink:
                info.type = tarfile.SYMTYPE
                info.linkname = member.data.decode("utf-8", "surrogateescape")
                info.mode = 0o777
                tar.addfile(info)
                continue
            info.mode = 0o755 if member.executable else 0o644
            info.size = len(member.data)
            tar.addfile(info, io.BytesIO(member.data))
    return buffer.getvalue()


def tar_stream(repo: str | os.PathLike[str], commit: str, prefix: str, *, tag: str | None = None) -> bytes:
    """The uncompressed reproducible tar of ``commit``'s git archive under ``prefix/``."""
    if not prefix or "/" in prefix or prefix in (".", ".."):
        raise ReleaseError(f"tarball prefix {prefix!r} must be one directory name")
    return pack(archive_members(repo, commit, tag), prefix, commit_time(repo, commit))


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


def build_tarball(repo: str | os.PathLike[str], commit: str, prefix: str, fmt: str, *, tag: str | None = None) -> bytes:
    """The reproducible ``.tar.FMT`` of ``commit``'s git archive with every member under ``prefix/``."""
    if fmt not in FORMATS:
        raise ReleaseError(f"unknown tarball format {fmt!r} (one of: {', '.join(FORMATS)})")
    return compress(tar_stream(repo, commit, prefix, tag=tag), fmt)


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


def check_members_of(data: bytes, where: str) -> int:
    """:func:`check_members` for a tarball held in memory."""
    import tempfile

    with tempfile.NamedTemporaryFile(prefix="releasetool-check-", suffix=".tar") as handle:
        handle.write(data)
        handle.flush()
        try:
            return check_members(handle.name)
        except ReleaseError as exc:
            raise ReleaseError(exc.message.replace(handle.name, where), hint=exc.hint) from None


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
