"""Reproducible tarballs from a commit, and refusal of tarballs whose members escape."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_release_support import commit, git, make_libfoo

from releasetool.errors import ReleaseError
from releasetool.release import tarball

BUILD = """\
import sys
from releasetool.release.tarball import build_tarball
sys.stdout.buffer.write(build_tarball(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]))
"""


def build_elsewhere(repo: Path, rev: str, fmt: str, cwd: Path, tz: str, umask: int) -> bytes:
    """Build in a fresh process with its own cwd, time zone and umask."""
    cwd.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TZ": tz, "LC_ALL": "C"}
    script = f"import os; os.umask({umask:#o})\n" + BUILD
    done = subprocess.run([sys.executable, "-c", script, str(repo), rev, "libfoo-1.1.0", fmt], cwd=cwd, env=env,
                          check=True, capture_output=True)
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_libfoo(tmp_path / "a")


@pytest.mark.parametrize("fmt", ["gz", "xz"])
def test_bytes_equal_across_directories_zones_umasks_and_clones(repo: Path, tmp_path: Path, fmt: str) -> None:
    first = build_elsewhere(repo, "HEAD", fmt, tmp_path / "one", "UTC", 0o022)
    # A second clone in another place, checked out with a different umask (the
    # work tree's modes differ; the tarball comes from the commit, not the files).
    clone = tmp_path / "elsewhere" / "clone"
    old = os.umask(0o077)
    try:
        subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    finally:
        os.umask(old)
    (clone / "README").touch()  # a newer mtime on disk changes nothing
    second = build_elsewhere(clone, "HEAD", fmt, tmp_path / "two" / "deeper", "Pacific/Kiritimati", 0o077)
    assert first == second
    assert tarball.build_tarball(repo, "HEAD", "libfoo-1.1.0", fmt) == first


def test_members_are_sorted_normalized_and_dated_by_the_commit(repo: Path) -> None:
    data = tarball.build_tarball(repo, "HEAD", "libfoo-1.1.0", "gz")
    committed = int(git(repo, "show", "-s", "--format=%ct", "HEAD"))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == [
        "libfoo-1.1.0", "libfoo-1.1.0/README", "libfoo-1.1.0/docs", "libfoo-1.1.0/docs/x.md",
        "libfoo-1.1.0/init", "libfoo-1.1.0/init/libfoo", "libfoo-1.1.0/link", "libfoo-1.1.0/src",
        "libfoo-1.1.0/src/bar.c", "libfoo-1.1.0/src/foo.c",
    ]
    by_name = {m.name: m for m in members}
    assert all(m.mtime == committed and m.uid == 0 and m.gid == 0 for m in members)
    assert all(m.uname == "root" and m.gname == "root" for m in members)
    assert by_name["libfoo-1.1.0/init/libfoo"].mode == 0o755
    assert by_name["libfoo-1.1.0/README"].mode == 0o644
    assert by_name["libfoo-1.1.0/src"].isdir() and by_name["libfoo-1.1.0/src"].mode == 0o755
    link = by_name["libfoo-1.1.0/link"]
    assert link.issym() and link.linkname == "src/foo.c"


def test_gzip_header_has_no_name_and_no_time(repo: Path) -> None:
    data = tarball.build_tarball(repo, "HEAD", "p", "gz")
    assert data[:3] == b"\x1f\x8b\x08"
    flags, mtime = data[3], data[4:8]
    assert flags & 0x08 == 0  # FNAME not set
    assert mtime == b"\0\0\0\0"
    assert gzip.decompress(data)[:2]  # a valid stream


def test_same_tree_as_git_archive(repo: Path) -> None:
    """The files and their contents are exactly those git archive would ship."""
    ours = tarball.build_tarball(repo, "HEAD", "p", "gz")
    theirs = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", "--prefix=p/", "HEAD"],
                            check=True, capture_output=True).stdout

    def contents(tar: tarfile.TarFile) -> dict[str, tuple[bool, bytes | str]]:
        out: dict[str, tuple[bool, bytes | str]] = {}
        for m in tar.getmembers():
            if m.isfile():
                handle = tar.extractfile(m)
                assert handle is not None
                out[m.name.rstrip("/")] = (bool(m.mode & 0o100), handle.read())
            elif m.issym():
                out[m.name] = (False, m.linkname)
        return out

    with tarfile.open(fileobj=io.BytesIO(ours), mode="r:gz") as a, tarfile.open(fileobj=io.BytesIO(theirs)) as b:
        assert contents(a) == contents(b)


def test_long_and_non_ascii_names_and_submodules(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    long_name = "d/" + "x" * 150 + ".txt"
    commit(repo, {long_name: "long\n", "é/ü.txt": "utf8\n"}, "files")
    sub = make_libfoo(tmp_path / "sub")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "-q", "add", str(sub), "vendored")
    git(repo, "commit", "-q", "-m", "submodule")
    data = tarball.build_tarball(repo, "HEAD", "r-1", "xz")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:xz") as tar:
        names = tar.getnames()
    assert f"r-1/{long_name}" in names
    assert "r-1/é/ü.txt" in names
    assert "r-1/.gitmodules" in names
    assert not any(n.startswith("r-1/vendored") for n in names)  # a submodule has no content here
    assert data == tarball.build_tarball(repo, "HEAD", "r-1", "xz")


def test_bad_prefix_is_refused(repo: Path) -> None:
    with pytest.raises(ReleaseError, match="one directory name"):
        tarball.build_tarball(repo, "HEAD", "a/b", "gz")
    with pytest.raises(ReleaseError, match="unknown tarball format"):
        tarball.build_tarball(repo, "HEAD", "p", "bz2")


# ---------------------------------------------------------------------------
# Reading tarballs back
# ---------------------------------------------------------------------------

def make_tar(path: Path, members: list[tarfile.TarInfo]) -> Path:
    with tarfile.open(path, mode="w:gz") as tar:
        for info in members:
            if info.isfile():
                tar.addfile(info, io.BytesIO(b"x" * info.size))
            else:
                tar.addfile(info)
    return path


def member(name: str, *, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = 1 if kind == tarfile.REGTYPE else 0
    return info


ESCAPES = {
    "absolute": [member("/etc/passwd")],
    "dotdot": [member("p/../../evil")],
    "leading-dotdot": [member("../evil")],
    "symlink-absolute": [member("p/l", kind=tarfile.SYMTYPE, link="/etc")],
    "symlink-out": [member("p/l", kind=tarfile.SYMTYPE, link="../../x")],
    "symlink-to-parent-of-top": [member("p/l", kind=tarfile.SYMTYPE, link="..")],
    "symlink-chain": [member("p/a", kind=tarfile.SYMTYPE, link="."), member("p/b", kind=tarfile.SYMTYPE, link="a/..")],
    "hardlink-out": [member("p/h", kind=tarfile.LNKTYPE, link="../x")],
    "device": [member("p/dev", kind=tarfile.CHRTYPE)],
    "fifo": [member("p/fifo", kind=tarfile.FIFOTYPE)],
}


@pytest.mark.parametrize("case", sorted(ESCAPES))
def test_escaping_members_are_refused(tmp_path: Path, case: str) -> None:
    path = make_tar(tmp_path / f"{case}.tar.gz", ESCAPES[case])
    with pytest.raises(ReleaseError) as caught:
        tarball.check_members(path)
    assert caught.value.message.startswith(f"{path}: member ")


def test_safe_members_pass(tmp_path: Path, repo: Path) -> None:
    path = tmp_path / "ok.tar.gz"
    path.write_bytes(tarball.build_tarball(repo, "HEAD", "libfoo-1.1.0", "gz"))
    assert tarball.check_members(path) == 10
    inner = make_tar(tmp_path / "inner.tar.gz", [member("p/d/f"), member("p/d/l", kind=tarfile.SYMTYPE, link="../f")])
    assert tarball.check_members(inner) == 2


def test_unreadable_tarball_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.tar.gz"
    path.write_bytes(b"\x1f\x8b\x08junk")
    with pytest.raises(ReleaseError, match="not a readable tarball"):
        tarball.check_members(path)


def test_sha256sums_round_trip() -> None:
    text = tarball.sha256sums({"b.tar.gz": "b" * 64, "a.tar.gz": "a" * 64})
    assert text == f"{'a' * 64}  a.tar.gz\n{'b' * 64}  b.tar.gz\n"
    assert tarball.parse_sha256sums(text, "SUMS") == {"a.tar.gz": "a" * 64, "b.tar.gz": "b" * 64}
    with pytest.raises(ReleaseError, match="SUMS:1: not a SHA256SUMS line"):
        tarball.parse_sha256sums("nonsense\n", "SUMS")


def test_sha256sum_tool_agrees(tmp_path: Path, repo: Path) -> None:
    data = tarball.build_tarball(repo, "HEAD", "p", "gz")
    (tmp_path / "p.tar.gz").write_bytes(data)
    (tmp_path / "SHA256SUMS").write_text(tarball.sha256sums({"p.tar.gz": tarball.sha256_hex(data)}))
    assert shutil.which("sha256sum")
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=tmp_path, check=True)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=2048),
    st.builds(lambda raw, cut: gzip.compress(raw)[:cut], st.binary(max_size=1024), st.integers(0, 600)),
))
def test_random_bytes_are_refused_cleanly(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("hostile") / "x.tar.gz"
    path.write_bytes(data)
    try:
        tarball.check_members(path)
    except ReleaseError as exc:
        assert exc.message.startswith(str(path))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.text(alphabet="ab./", min_size=1, max_size=12), min_size=1, max_size=4),
       links=st.lists(st.text(alphabet="ab./", max_size=12), max_size=3))
def test_accepted_members_stay_inside(tmp_path_factory: pytest.TempPathFactory, names: list[str],
                                      links: list[str]) -> None:
    """Whatever check_members accepts unpacks inside the directory (checked by resolving each path)."""
    base = tmp_path_factory.mktemp("unpack")
    members = [member(f"p/{n}") for n in names]
    members += [member(f"p/l{i}", kind=tarfile.SYMTYPE, link=target) for i, target in enumerate(links)]
    path = make_tar(base / "t.tar.gz", members)
    try:
        tarball.check_members(path)
    except ReleaseError:
        return
    root = base / "root"
    root.mkdir()
    with tarfile.open(path) as tar:
        for info in tar.getmembers():
            try:  # as a careless unpacker would: follow whatever links are there
                tar.extract(info, root, filter="fully_trusted")
            except OSError:
                pass  # the same name as a file and as a directory: not an escape
    for found in base.rglob("*"):
        assert found in (root, path) or root in found.parents, found
    for found in root.rglob("*"):
        if found.is_symlink():
            real = found.resolve()
            assert real == root.resolve() / "p" or (root.resolve() / "p") in real.parents, (found, real)
