"""SIGKILL at a random moment that is sure to land while the program runs.

A seeded delay can outlast a run on a fast machine, and a test that then
"kills" a finished process proves nothing.  :func:`kill_while_running` starts
the program, waits, and checks that the process was still running when the
signal went out (its exit status says it died of SIGKILL); when the run
finished first it puts the work back as it was and tries again with half the
delay.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ATTEMPTS = 8


def snapshot(directory: Path) -> Callable[[], None]:
    """Copy ``directory`` aside; the function returned puts it back exactly (git ids do not depend on paths)."""
    backup = directory.with_name(directory.name + ".before-kill")
    shutil.rmtree(backup, ignore_errors=True)
    shutil.copytree(directory, backup, symlinks=True)

    def restore() -> None:
        shutil.rmtree(directory)
        shutil.copytree(backup, directory, symlinks=True)

    return restore


def kill_while_running(start: Callable[[], subprocess.Popen[bytes]], delay: float, *,
                       restore: Callable[[], None], group: bool = False) -> float:
    """Start a run, SIGKILL it after ``delay`` s (its process group with ``group``); the delay that landed.

    ``start`` must start the process in a new session when ``group`` is set.
    A run that ends before the kill is undone with ``restore`` and started
    again with half the delay; the test fails if no kill lands.
    """
    for _ in range(ATTEMPTS):
        child = start()
        time.sleep(delay)
        if child.poll() is None:
            if group:
                os.killpg(child.pid, signal.SIGKILL)
            else:
                child.send_signal(signal.SIGKILL)
        status = child.wait()
        if status == -signal.SIGKILL:
            return delay
        assert status == 0, f"the run failed on its own (status {status})"
        restore()
        delay /= 2
    pytest.fail(f"the run always finished before the kill (last delay {delay * 2:.3f} s)")
