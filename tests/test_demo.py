"""The main job end to end: `releasetool demo` rehearses a whole release offline."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from kill import kill_while_running

from releasetool.cli import main

pytestmark = pytest.mark.slow  # runs the demo


def run_demo_json(directory: Path) -> tuple[int, dict]:
    done = subprocess.run(
        [sys.executable, "-m", "releasetool", "demo", "--dir", str(directory), "--json"],
        capture_output=True, text=True, check=False, timeout=1500,
    )
    data = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, data | {"stderr": done.stderr}


@pytest.fixture(scope="module")
def finished_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    directory = tmp_path_factory.mktemp("demo") / "release"
    status, data = run_demo_json(directory)
    assert status == 0, data["stderr"][-3000:]
    return directory, data


def test_demo_ends_with_every_row_green(finished_demo: tuple[Path, dict]) -> None:
    directory, data = finished_demo
    assert data["ok"] is True
    rows = {r["component"]: r for r in data["rows"]}
    assert sorted(rows) == ["dlm", "fence-agents", "gfs2-utils"]
    for name, row in rows.items():
        assert row["tag"] == f"v{row['version']}"
        assert (row["rpm"], row["deb"], row["page"]) == ("succeeded", "succeeded", "ok")
        tarball = directory / "downloads" / f"{name}-{row['version']}.tar.gz"
        import hashlib

        assert hashlib.sha256(tarball.read_bytes()).hexdigest() == row["sha256"]
    # the commands the steps ran are shown to the user
    assert "$ releasetool split --all --tags" in data["stderr"]
    assert (directory / "site" / "index.html").exists()


def test_demo_again_replaces_the_finished_one(finished_demo: tuple[Path, dict]) -> None:
    directory, first = finished_demo
    status, second = run_demo_json(directory)
    assert status == 0, second["stderr"][-3000:]
    assert "replacing the finished demo" in second["stderr"]
    # the same input gives the same split history and tarball bytes
    assert [r["sha256"] for r in second["rows"]] == [r["sha256"] for r in first["rows"]]


def test_demo_killed_at_a_random_moment_resumes_all_green(tmp_path: Path) -> None:
    directory = tmp_path / "killed"
    seed = int(os.environ.get("RELEASETOOL_KILL_SEED", "2008"))
    delay = random.Random(seed).uniform(2.0, 12.0)

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "releasetool", "demo", "--dir", str(directory)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    kill_while_running(start, delay, restore=lambda: shutil.rmtree(directory, ignore_errors=True), group=True)
    status, data = run_demo_json(directory)
    assert status == 0, data["stderr"][-3000:]
    assert data["ok"] is True


def test_demo_refuses_a_directory_it_did_not_make(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    assert main(["demo", "--dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines()[0] == f"error: {tmp_path} exists and is not a demo directory"
    assert (tmp_path / "precious.txt").read_text() == "keep me"
