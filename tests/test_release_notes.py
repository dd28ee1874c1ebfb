"""Release notes: commit types from prefixes and trailers, grouping, plain lists, compare links."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_release_support import commit, git

from releasetool.release import notes


@pytest.mark.parametrize(
    ("subject", "trailers", "expected"),
    [
        ("fix: crash on empty input", "", ("fix", "crash on empty input")),
        ("feat(ipc)!: new wire format", "", ("feat", "new wire format")),
        ("Docs: spelling", "", ("doc", "spelling")),
        ("ipc: validate sizes", "", ("", "ipc: validate sizes")),  # a subsystem, not a type
        ("Add a thing", "Changelog: added\n", ("feat", "Add a thing")),
        ("fix: a leak", "Type: security\n", ("fix", "a leak")),
        ("Plain subject", "Signed-off-by: A <a@b>\n", ("", "Plain subject")),
        ("fix:no space after the colon", "", ("", "fix:no space after the colon")),
    ],
)
def test_classify(subject: str, trailers: str, expected: tuple[str, str]) -> None:
    assert notes.classify(subject, trailers) == expected


def test_untyped_history_is_one_plain_list(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, {"a": "1\n"}, "Initial import")
    git(repo, "tag", "v1")
    commit(repo, {"a": "2\n"}, "Make it faster", author="Zoë Ü <z@example.org>")
    git(repo, "checkout", "-q", "-b", "topic")
    commit(repo, {"b": "1\n"}, "Side work")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge branch 'topic'", "topic")

    found = notes.collect(repo, "HEAD", "v1", "v2", "https://gitlab.com/group/r")

    assert [c.subject for c in found.changes] == ["Side work", "Make it faster"]  # merges left out
    assert found.compare_url == "https://gitlab.com/group/r/compare/v1...v2"
    assert found.markdown("r", "2") == (
        "# r 2\n\n- Side work (Ann Dev)\n- Make it faster (Zoë Ü)\n\n"
        "Contributors: Ann Dev, Zoë Ü\n\nChanges: https://gitlab.com/group/r/compare/v1...v2\n"
    )
    assert found.text("r", "2").splitlines()[2] == "  - Side work (Ann Dev)"


def test_compare_url_only_for_known_forges() -> None:
    assert notes.compare_url("https://example.org/r", "v1", "v2") == ""
    assert notes.compare_url("https://github.com/o/r/", "v1", "v2") == "https://github.com/o/r/compare/v1...v2"
    assert notes.compare_url("https://github.com/o/r", "", "v2") == ""


def test_no_changes() -> None:
    empty = notes.Notes(previous_tag="v1", tag="v2", commit="0" * 40, changes=(), authors=())
    assert empty.text("r", "2") == "r 2\n\nNo changes since the previous release.\n\nChanges: v1..v2\n"
