"""The CLI's contract: help, exit statuses, one-line errors, tracebacks only with --debug."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from releasetool.cli import build_parser, main

GOOD = Path(__file__).parent / "manifests" / "good.yaml"


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"validate", "list", "show"} <= set(commands)
    for name, sub in commands.items():
        text = sub.format_help()
        assert sub.description, f"{name} has no description"
        assert "--manifest" in text


def test_command_table_names_every_command() -> None:
    from releasetool.cli import COMMANDS

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(commands) == set(COMMANDS) | {"help"}
    for name in COMMANDS:
        one = build_parser(name)._subparsers._group_actions[0].choices  # type: ignore[union-attr]
        assert name in one


def test_unknown_command_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["splitt"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'splitt'" in err
    assert "hint: did you mean 'split'?" in err


@pytest.mark.parametrize(("argv", "meant"), [
    (["relase"], "release"),
    (["obs", "sbmit"], "submit"),
    (["site", "biuld"], "build"),
    (["versions", "compre", "1", "2"], "compare"),
    (["render", "--dyr-run", "libqb"], "--dry-run"),
    (["obs", "submit", "--waitt"], "--wait"),
    (["validate", "--jsno"], "--json"),
])
def test_misspelled_command_or_option_gets_a_suggestion(
        argv: list[str], meant: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert f"hint: did you mean '{meant}'?" in capsys.readouterr().err


def test_option_suggestion_comes_from_the_command_run(capsys: pytest.CaptureFixture[str]) -> None:
    # --tarballs belongs to obs submit, not to validate: no suggestion from another command
    with pytest.raises(SystemExit):
        main(["validate", "--tarball"])
    assert "did you mean" not in capsys.readouterr().err


def test_help_command_prints_the_help_of_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["help", "obs", "submit"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: releasetool obs submit")
    assert "--tarballs" in out
    assert main(["help"]) == 0
    assert "COMMAND" in capsys.readouterr().out


def test_help_for_an_unknown_command_suggests_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["help", "obs", "sumbit"]) == 2
    err = capsys.readouterr().err
    assert "error: no command 'obs sumbit'" in err
    assert "hint: did you mean 'submit'?" in err


def test_no_command_prints_usage_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: releasetool" in capsys.readouterr().err


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from releasetool.cli import build_parser\n"
        "build_parser().format_help()\n"
        "heavy = [m for m in ('git', 'jinja2', 'requests', 'osc', 'ruamel.yaml', 'yaml') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_internal_error_is_one_line_without_debug(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from releasetool import manifest

    def broken(path: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(manifest, "load", broken)
    assert main(["list", "--manifest", str(GOOD)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "error: internal error: RuntimeError: disk on fire",
        "hint: re-run with --debug for the traceback and report it",
    ]
    with pytest.raises(RuntimeError):
        main(["list", "--manifest", str(GOOD), "--debug"])


def test_user_error_with_debug_shows_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.yaml"
    assert main(["--debug", "validate", "--manifest", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert f"error: {missing}:1:1: no such file" in err


def test_global_options_before_and_after_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--manifest", str(GOOD), "list"]) == 0
    before = capsys.readouterr().out
    assert main(["list", "--manifest", str(GOOD)]) == 0
    assert capsys.readouterr().out == before
