"""A generated 3,000-commit history with several prefixes: ids equal git subtree's, also incrementally."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from split_shapes.generate import extend, generate

from releasetool.split import split_repository

pytestmark = pytest.mark.slow


def _subtree(repo: Path, prefix: str) -> str:
    (repo / prefix).mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["git", "-C", str(repo), "subtree", "split", "-q", f"--prefix={prefix}", "HEAD"],
                          capture_output=True, text=True, check=True)
    return done.stdout.split()[-1]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("large") / "repo"
    generate(repo, 3000)
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "main"], check=True)
    return repo


# `doc` is a plain directory; `tools` is deleted and added again half way, so its
# split history takes original commits as parents (git subtree's self-mapping).
@pytest.mark.parametrize("prefix", ["doc", "tools"])
def test_large_history_same_ids(history: Path, prefix: str) -> None:
    ours = split_repository(history, prefix, use_cache=False)
    assert ours.commits_read == 3000
    assert ours.head == _subtree(history, prefix)


def test_large_history_incremental(history: Path) -> None:
    """After 10 new commits only those are read, and the result is the from-scratch one."""
    for prefix in ("agents", "lib/common"):
        first = split_repository(history, prefix)
        extend(history, 10, prefix=prefix, seed=len(prefix))
        later = split_repository(history, prefix)
        assert later.mode == "incremental"
        assert later.commits_read == 10
        assert later.head != first.head
        assert later.head == split_repository(history, prefix, use_cache=False, dry_run=True).head
