"""lint-init: the corpus of good and bad init scripts, the CLI, and the release gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from releasetool.cli import main
from releasetool.release import lint_init

CORPUS = Path(__file__).parent / "data" / "init"
GOOD = sorted(CORPUS.glob("good-*.sh"))
BAD = sorted(CORPUS.glob("bad-*.sh"))


def test_corpus_is_there() -> None:
    assert len(GOOD) >= 3 and len(BAD) >= 12
    assert all(p.with_suffix(".expected").exists() for p in BAD)


@pytest.mark.parametrize("path", GOOD, ids=[p.stem for p in GOOD])
def test_good_scripts_pass(path: Path) -> None:
    assert lint_init.lint_paths([path]) == []


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_scripts_report_file_and_line(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = path.with_suffix(".expected").read_text().splitlines()
    assert expected

    assert main(["lint-init", str(path)]) == 2

    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"{path}:{line}" for line in expected]
    count = len(expected)
    assert captured.err.splitlines()[0] == f"error: {count} finding{'s' if count != 1 else ''} in 1 init script"
    assert captured.err.splitlines()[1].startswith("hint: ")


def test_directory_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for path in (GOOD[0], BAD[0], BAD[1]):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    assert main(["lint-init", "--json", str(tmp_path)]) == 2
    found = json.loads(capsys.readouterr().out)
    assert sorted({Path(f["file"]).name for f in found}) == [BAD[0].name, BAD[1].name]
    first = BAD[0].with_suffix(".expected").read_text().splitlines()[0]
    assert f"{found[0]['line']}: {found[0]['message']}" == first


def test_clean_scripts_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint-init", *map(str, GOOD)]) == 0
    assert capsys.readouterr().out == ""


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope"
    assert main(["lint-init", str(missing)]) == 2
    assert capsys.readouterr().out == f"{missing}:0: no such file\n"


def test_one_line_arms_and_continuations() -> None:
    text = (GOOD[0].read_text().split("case", 1)[0]
            + 'case "$1" in start) a ;; stop) b ;; restart|force-reload) c ;; status) d ;; esac\n')
    assert lint_init.lint_text(text, "x") == []


def test_init_script_sources_are_found_by_installed_name() -> None:
    tree = [
        "ldirectord/ldirectord.in",  # the daemon itself, not its init script
        "ldirectord/init.d/ldirectord.in",
        "ldirectord/init.d/ldirectord.debian.in",
        "init/corosync",
        "init/corosync.service.in",
        "contrib/pcsd.init",
        "src/sbd.c",
    ]
    found, unfound = lint_init.init_script_sources(tree, ["ldirectord", "corosync", "pcsd", "sbd"])
    assert found == ["ldirectord/init.d/ldirectord.in", "init/corosync", "contrib/pcsd.init"]
    assert unfound == ["sbd"]
