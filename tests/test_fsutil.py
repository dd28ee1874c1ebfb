"""Atomic writes, run locks and journals: the pieces every writing command stands on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from releasetool.errors import LockError
from releasetool.fsutil import Journal, atomic_write, run_lock, write_if_changed


def test_atomic_write_replaces_whole_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "file.txt"
    atomic_write(target, "one\n")
    atomic_write(target, b"two\n", mode=0o755)
    assert target.read_bytes() == b"two\n"
    assert os.stat(target).st_mode & 0o777 == 0o755
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


def test_write_if_changed_keeps_mtime_of_identical_content(tmp_path: Path) -> None:
    target = tmp_path / "f"
    assert write_if_changed(target, "x")
    os.utime(target, (1, 1))
    assert not write_if_changed(target, "x")
    assert os.stat(target).st_mtime == 1
    assert write_if_changed(target, "y")


def test_second_holder_is_refused_naming_the_first(tmp_path: Path) -> None:
    lock = tmp_path / "run.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom releasetool.fsutil import run_lock\n"
         f"with run_lock({str(lock)!r}, what='x'):\n    print('held', flush=True)\n    time.sleep(30)\n"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockError) as caught, run_lock(lock, what="the repository /r", wait=0.3):
            pass
        assert caught.value.message.startswith(f"the repository /r is locked by pid {holder.pid} on ")
    finally:
        holder.kill()
        holder.wait()
    # the killed holder's lock vanished with it
    with run_lock(lock, what="x", wait=0.3):
        assert lock.read_text().startswith(f"pid {os.getpid()} on ")


def test_lock_waits_briefly_for_a_holder_that_finishes(tmp_path: Path) -> None:
    lock = tmp_path / "run.lock"
    released = tmp_path / "released"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import time\nfrom releasetool.fsutil import run_lock\n"
         f"with run_lock({str(lock)!r}, what='x'):\n    print('held', flush=True)\n    time.sleep(0.5)\n"
         f"    open({str(released)!r}, 'w').close()\n"],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with run_lock(lock, what="x", wait=10):
        # the lock is ours only once the holder is past its last line inside the lock
        assert released.exists()
    holder.wait()


def test_journal_ignores_torn_lines_and_other_plans(tmp_path: Path) -> None:
    path = tmp_path / "j"
    journal = Journal(path, "plan-a")
    journal.record("tag", commit="abc")
    Journal(path, "plan-b").record("tarball")
    with open(path, "a") as handle:
        handle.write('{"plan": "plan-a", "step": "tarb')  # a kill in the middle of a write
    again = Journal(path, "plan-a")
    assert "tag" in again and "tarball" not in again
    assert again.done["tag"]["commit"] == "abc"
    again.record("finished")
    assert Journal(path, "plan-a").finished
