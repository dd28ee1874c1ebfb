"""Interrupted releases: a journal left mid-run, real SIGKILLs at several steps, locks."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kill import kill_while_running, snapshot
from test_release_support import Setup, git, make_setup

from releasetool import fsutil
from releasetool.cli import main
from releasetool.release import cut as release

REAL_GIT = shutil.which("git") or "/usr/bin/git"
REAL_GPG = shutil.which("gpg") or "/usr/bin/gpg"

# Killing the releasetool process (its parent) from inside the Nth matching
# subprocess it starts: a real SIGKILL at a precise step, no hook in the tool.
WRAPPER = """#!/bin/sh
case "$*" in
  *"$KILL_MATCH"*)
    n=$(cat "$KILL_COUNT" 2>/dev/null || echo 0)
    n=$((n + 1))
    echo "$n" > "$KILL_COUNT"
    if [ "$n" -eq "$KILL_AT" ]; then
      kill -9 "$PPID"
      exit 1
    fi
    ;;
esac
exec {real} "$@"
"""


def end_state(s: Setup) -> dict[str, object]:
    """What a finished release leaves, with the release date (the run's clock) taken out."""
    manifest = re.sub(r"released: 20\d\d-\d\d-\d\d\n(\s+tarball_formats)", r"released: DATE\n\1",
                      s.manifest.read_text())
    files = {str(p.relative_to(s.out)): p.read_bytes() for p in sorted(s.out.rglob("*")) if p.is_file()}
    hist = json.loads((s.root / "history" / "libfoo.json").read_text())
    for entry in hist["releases"]:
        entry.pop("date")
    tags = git(s.repo, "for-each-ref", "--format=%(refname) %(*objectname)", "refs/tags")
    return {"manifest": manifest, "files": files, "history": hist, "tags": tags,
            "stray": sorted(p.name for p in s.root.rglob(".*.tmp"))}


@pytest.fixture
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    s = make_setup(tmp_path_factory.mktemp("reference"))
    assert main(s.args("1.1.0")) == 0
    return end_state(s)


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return make_setup(tmp_path)


def test_resume_from_a_journal_left_after_the_tag(setup: Setup, reference: dict[str, object],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    plan = release.plan_release(setup.manifest, "libfoo", "1.1.0",
                                release.ReleaseOptions(repo=setup.repo, out=setup.out))
    release._make_tag(plan)
    fsutil.Journal(plan.journal_path, plan.plan_id).record("tag", commit=plan.commit)
    # A kill in the middle of an atomic write leaves only a temporary file.
    plan.out_dir.mkdir(parents=True)
    (plan.out_dir / ".libfoo-1.1.0.tar.gz.abc123.tmp").write_bytes(b"half a tarb")
    capsys.readouterr()

    assert main(setup.args("1.1.0")) == 0

    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"wrote {plan.out_dir}/libfoo-1.1.0.tar.gz"  # the tag was found, not made again
    assert end_state(setup) == reference


@pytest.mark.slow  # kills processes
def test_ref_lock_left_by_a_killed_git_is_removed(setup: Setup, reference: dict[str, object],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    lock = setup.repo / ".git" / "refs" / "tags" / "v1.1.0.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("0" * 40 + "\n")
    assert main(setup.args("1.1.0")) == 0
    assert capsys.readouterr().err.splitlines()[0] == f"removing {lock}, left by an interrupted git"
    assert end_state(setup) == reference


def test_a_journal_of_another_plan_is_ignored(setup: Setup, reference: dict[str, object]) -> None:
    journal = setup.repo / ".git" / "releasetool" / "release-libfoo.journal"
    journal.parent.mkdir(parents=True)
    journal.write_text(json.dumps({"plan": "someotherplan", "step": "finished"}) + "\n{\"torn")
    assert main(setup.args("1.1.0")) == 0
    assert end_state(setup) == reference


def run_killed(setup: Setup, tmp_path: Path, program: str, match: str, at: int, *extra: str) -> int:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    wrapper = bindir / program
    wrapper.write_text(WRAPPER.format(real=REAL_GIT if program == "git" else REAL_GPG))
    wrapper.chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "KILL_MATCH": match, "KILL_AT": str(at),
           "KILL_COUNT": str(tmp_path / f"count-{program}")}
    done = subprocess.run([sys.executable, "-m", "releasetool", *setup.args("1.1.0", *extra)], env=env,
                          capture_output=True, text=True)
    wrapper.unlink()
    (tmp_path / f"count-{program}").unlink(missing_ok=True)
    return done.returncode


KILL_POINTS = {
    # name: (program, argv substring, which call)
    "before-the-tag": ("git", "tag --cleanup=verbatim", 1),
    "making-the-archive": ("git", "archive --format=tar", 1),
}


@pytest.mark.slow  # kills processes
@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_sigkill_then_rerun_finishes_the_release(setup: Setup, tmp_path: Path, reference: dict[str, object],
                                                 point: str) -> None:
    program, match, at = KILL_POINTS[point]
    assert run_killed(setup, tmp_path, program, match, at) == -signal.SIGKILL
    assert setup.manifest.read_text() != reference["manifest"]

    assert main(setup.args("1.1.0")) == 0
    assert end_state(setup) == reference
    assert main(setup.args("1.1.0")) == 0  # and then nothing is left to do


@pytest.mark.slow  # kills processes
def test_sigkill_before_the_push_then_rerun_pushes_once(setup: Setup, tmp_path: Path) -> None:
    remote = setup.root / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    git(setup.repo, "remote", "add", "origin", str(remote))

    assert run_killed(setup, tmp_path, "git", "push --atomic", 1, "--push", "origin") == -signal.SIGKILL
    assert git(remote, "for-each-ref") == ""  # nothing left the machine
    assert b'version: "1.1.0"' in setup.manifest.read_bytes()  # every local step was done

    assert main(setup.args("1.1.0", "--push", "origin")) == 0
    head = git(setup.repo, "rev-parse", "HEAD")
    assert git(remote, "rev-parse", "refs/tags/v1.1.0^{commit}") == head
    assert git(remote, "rev-parse", "refs/heads/main") == head


@pytest.mark.slow  # kills processes
def test_sigkill_while_signing(setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "Release Key <release@example.org>",
                    "ed25519", "sign", "never"], check=True, capture_output=True)
    try:
        # gpg --detach-sign runs for the trial signature of the checks, then once per tarball (the tag is
        # signed through git with -bsau): kill at the second tarball.
        code = run_killed(setup, tmp_path, "gpg", "--detach-sign", 3, "--sign", "--key", "release@example.org")
        assert code == -signal.SIGKILL
        release_dir = setup.out / "libfoo-1.1.0"
        assert (release_dir / "libfoo-1.1.0.tar.gz.asc").exists()
        assert not (release_dir / "libfoo-1.1.0.tar.xz.asc").exists()
        first_signature = (release_dir / "libfoo-1.1.0.tar.gz.asc").read_bytes()

        assert main(setup.args("1.1.0", "--sign", "--key", "release@example.org")) == 0

        assert (release_dir / "libfoo-1.1.0.tar.gz.asc").read_bytes() == first_signature  # kept
        for fmt in ("gz", "xz"):
            tarball = release_dir / f"libfoo-1.1.0.tar.{fmt}"
            subprocess.run(["gpg", "--batch", "--verify", f"{tarball}.asc", str(tarball)], check=True,
                           capture_output=True)
        assert subprocess.run(["git", "-C", str(setup.repo), "tag", "-v", "v1.1.0"],
                              capture_output=True).returncode == 0
    finally:
        subprocess.run(["gpgconf", "--kill", "all"], check=False, capture_output=True)


@pytest.mark.slow  # waits out a lock
def test_second_run_waits_then_names_the_holder(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    lock = release.manifest_lock_path(setup.manifest)
    with fsutil.run_lock(lock, what="test"):
        assert main(setup.args("1.1.0")) == 2
    err = capsys.readouterr().err.splitlines()
    assert re.fullmatch(rf"error: manifest {re.escape(str(setup.manifest))} is locked by pid {os.getpid()} on \S+ "
                        r"\(releasetool( [^)]*)?\) since [0-9: -]+", err[0]), err
    assert git(setup.repo, "tag", "-l", "v1.1.0") == ""


@pytest.mark.slow  # kills processes
@pytest.mark.parametrize(("seed", "whole_group"), [(1, False), (2, False), (3, True), (4, True)])
def test_sigkill_at_a_random_moment_then_rerun(setup: Setup, reference: dict[str, object], seed: int,
                                               whole_group: bool) -> None:
    """A kill anywhere (seeded delay, possibly before start-up ends or after the run is over).

    ``whole_group`` kills the git processes it runs too, as a power cut would.
    """
    started: list[int] = []

    def start() -> subprocess.Popen[bytes]:
        child = subprocess.Popen([sys.executable, "-m", "releasetool", *setup.args("1.1.0")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        started.append(child.pid)
        return child

    kill_while_running(start, random.Random(seed).uniform(0.1, 1.5), restore=snapshot(setup.root),
                       group=whole_group)
    wait_for_orphans(started[-1])

    assert main(setup.args("1.1.0")) == 0
    assert end_state(setup) == reference


def wait_for_orphans(group: int) -> None:
    """Let the git processes the killed run had started finish (they are not part of the kill)."""
    for _ in range(600):
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
