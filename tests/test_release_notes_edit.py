"""Release notes written or edited by hand before tagging: --notes FILE, --edit; train --force."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_release_support import Setup, git, make_setup

from releasetool.cli import main

WRITTEN = """\
libfoo 1.1.0

The IPC release.

New features:
  - bar, a new IPC call (Ann Dev)

Bug fixes:
  - no crash on empty input (Bob Fixer)
# a comment line: dropped
"""


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return make_setup(tmp_path)


def history_changes(setup: Setup) -> list[dict[str, str]]:
    entries = json.loads((setup.root / "history" / "libfoo.json").read_text())
    entries = entries.get("releases", entries) if isinstance(entries, dict) else entries
    return next(e for e in entries if e["version"] == "1.1.0")["changes"]


def test_notes_file_goes_into_tag_notes_file_and_changelog_history(setup: Setup, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text(WRITTEN)
    assert main(setup.args("1.1.0", "--notes", str(notes))) == 0
    message = git(setup.repo, "tag", "-l", "--format=%(contents)", "v1.1.0")
    assert message == WRITTEN.replace("# a comment line: dropped\n", "").rstrip("\n")
    markdown = (setup.out / "libfoo-1.1.0" / "libfoo-1.1.0.notes.md").read_text()
    assert markdown.startswith("# libfoo 1.1.0\n\nThe IPC release.\n\n## New features\n\n- bar, a new IPC call (Ann Dev)\n")
    assert history_changes(setup) == [
        {"subject": "bar, a new IPC call", "author": "Ann Dev", "type": "feat"},
        {"subject": "no crash on empty input", "author": "Bob Fixer", "type": "fix"},
    ]


def test_edit_opens_the_editor_on_the_generated_notes(setup: Setup, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    seen = tmp_path / "seen.txt"
    editor = tmp_path / "editor.sh"
    # the "editor" keeps what it was shown, then replaces one line of it
    editor.write_text(f"#!/bin/sh\ncp \"$1\" {seen}\nsed -i 's/add bar/add bar, the fast way/' \"$1\"\n")
    editor.chmod(0o755)
    monkeypatch.setenv("VISUAL", str(editor))
    assert main(setup.args("1.1.0", "--edit")) == 0
    shown = seen.read_text()
    assert shown.startswith("libfoo 1.1.0\n\nNew features:\n  - add bar (Ann Dev)\n")
    assert "# Lines starting with '#' are removed" in shown
    message = git(setup.repo, "tag", "-l", "--format=%(contents)", "v1.1.0")
    assert "  - add bar, the fast way (Ann Dev)" in message
    assert "#" not in message.split("Changes:")[0]
    assert {"subject": "add bar, the fast way", "author": "Ann Dev", "type": "feat"} in history_changes(setup)


def test_emptied_notes_stop_the_release(setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nprintf '# only a comment\\n' > \"$1\"\n")
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    monkeypatch.delenv("VISUAL", raising=False)
    assert main(setup.args("1.1.0", "--edit")) == 2
    assert "the release notes are empty" in capsys.readouterr().err
    assert git(setup.repo, "tag", "-l", "v1.1.0") == ""
    assert not setup.out.exists()


def test_a_failing_editor_stops_the_release(setup: Setup, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("VISUAL", "false")
    assert main(setup.args("1.1.0", "--edit")) == 2
    assert "the editor 'false' exited with status 1; nothing was written" in capsys.readouterr().err
    assert git(setup.repo, "tag", "-l", "v1.1.0") == ""


def test_train_force_is_accepted_and_recorded(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    # the manifest says 1.0.0 was released, but the tag is gone: only --force goes on, and says so
    git(setup.repo, "tag", "-d", "v1.0.0")
    train = setup.root / "train.yaml"
    train.write_text(f"releases:\n  libfoo: 1.1.0\nrepos:\n  libfoo: {setup.repo}\n")
    base = ["train", "--manifest", str(setup.manifest), str(train), "--out", str(setup.out)]
    assert main(base) == 2
    assert "(--force overrides)" in capsys.readouterr().err
    assert main([*base, "--force"]) == 0
    message = git(setup.repo, "tag", "-l", "--format=%(contents)", "v1.1.0")
    assert "Released with --force, overriding:" in message
