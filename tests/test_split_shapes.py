"""Split ids are git subtree's, shape by shape (git subtree split runs in each test)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from split_shapes import SHAPES, Repo

from releasetool.split import split_repository


def _fsck(path: Path) -> None:
    done = subprocess.run(["git", "-C", str(path), "fsck", "--no-dangling", "--no-progress"],
                          capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_same_ids_as_git_subtree(tmp_path: Path, shape: str) -> None:
    build, prefix = SHAPES[shape]
    repo = Repo(tmp_path / "repo")
    build(repo)
    revs = ["HEAD", "HEAD~1"] if repo.git("rev-list", "--count", "HEAD") != "1" else ["HEAD"]
    for rev in revs:
        ours = split_repository(repo.path, prefix, rev, use_cache=False)
        theirs = repo.subtree_split(prefix, rev)
        assert ours.head == theirs, f"{shape} at {rev}"
        assert ours.mode == "scratch"
    # Our objects are valid and complete: check the split history we wrote.
    _fsck(repo.path)
    fresh = split_repository(repo.path, prefix, "HEAD", branch="split/check")
    assert fresh.head == repo.subtree_split(prefix, "HEAD")
    assert repo.git("rev-parse", "split/check") == fresh.head
    again = split_repository(repo.path, prefix, "HEAD")
    assert again.mode == "cached"
    assert again.head == fresh.head


@pytest.mark.parametrize("shape", ["linear", "merge-both-sides", "deleted-and-readded", "split-rejoin"])
def test_incremental_after_new_commits(tmp_path: Path, shape: str) -> None:
    build, prefix = SHAPES[shape]
    repo = Repo(tmp_path / "repo")
    build(repo)
    first = split_repository(repo.path, prefix)
    assert first.mode == "scratch"
    for i in range(3):
        repo.write(f"{prefix}/new{i}")
        repo.commit(f"new {i}")
        repo.write(f"outside{i}")
        repo.commit(f"outside {i}")
    later = split_repository(repo.path, prefix)
    assert later.mode == "incremental"
    assert later.commits_read == 6
    assert later.head == repo.subtree_split(prefix)


def test_subtree_add_keeps_existing_split_history(tmp_path: Path) -> None:
    """After `git subtree add` (no squash) the split continues the library's own commits."""
    repo = Repo(tmp_path / "repo")
    SHAPES["subtree-add"][0](repo)
    lib_head = subprocess.run(["git", "-C", str(tmp_path / "add-lib"), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    result = split_repository(repo.path, "vendor/lib")
    history = repo.git("rev-list", result.head).split()
    assert lib_head in history


@pytest.mark.parametrize("rev", ["HEAD~2", "HEAD~3"])
def test_rev_without_the_prefix(tmp_path: Path, rev: str) -> None:
    """Splitting a commit that lacks the prefix gives git subtree's answer (its last split commit)."""
    repo = Repo(tmp_path / "repo")
    SHAPES["deleted-and-readded"][0](repo)
    assert repo.git("ls-tree", rev, "d") == ""
    assert split_repository(repo.path, "d", rev, use_cache=False).head == repo.subtree_split("d", rev)
    assert split_repository(repo.path, "d", "HEAD").head == repo.subtree_split("d", "HEAD")
    assert split_repository(repo.path, "d", rev).head == repo.subtree_split("d", rev)
