"""Shared fixtures: the repository root and a git identity for test repositories."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def _cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session", autouse=True)
def _private_caches(_cache_root: Path) -> Iterator[None]:
    """Caches (the validated-manifest cache among them) stay inside the test session's temporary directory.

    Session-scoped, so that module- and session-scoped fixtures (which pytest
    sets up before any function-scoped one) load manifests into it too.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RELEASETOOL_CACHE_DIR", str(_cache_root / "releasetool"))
        patch.setenv("XDG_CACHE_HOME", str(_cache_root / "xdg"))
        yield


@pytest.fixture(scope="session", autouse=True)
def _git_identity() -> Iterator[None]:
    """Commits made by tests get a fixed identity and never read the user's config.

    Session-scoped like the caches: repositories that module fixtures make are covered too.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIT_AUTHOR_NAME", "Test Author")
        patch.setenv("GIT_AUTHOR_EMAIL", "author@example.org")
        patch.setenv("GIT_COMMITTER_NAME", "Test Committer")
        patch.setenv("GIT_COMMITTER_EMAIL", "committer@example.org")
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        patch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
        yield
