"""Finishing after a split run that was killed while git held its locks.

git takes a ref lock by creating ``REF.lock`` next to the ref (and
``packed-refs.lock``, ``HEAD.lock``, ``config.lock``, ``shallow.lock``) and
removes it when it exits, even on an error or a catchable signal.  Only a
process killed with SIGKILL leaves one behind, and from then on every git
command that needs that ref refuses ("Unable to create ... .lock: File
exists ... remove the file manually").

A split run therefore marks a repository before each git command that takes
such locks there (fetch, update-ref, push) and removes the mark once git has
exited.  A mark still present when the next run starts, under the same run
lock, proves that a run of ours died inside that command.  The lock files it
may have left are then removed, and only those: created after the mark, in
that repository, with no process of the dead run still alive.  A lock file
older than the mark belongs to somebody else and is left alone (git's own
message then says what to do).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

from releasetool.errors import LockError
from releasetool.fsutil import atomic_write
from releasetool.log import log

MARK = os.path.join("releasetool", "split-writing.json")
# The lock files git creates in a git dir besides those of single refs.
TOP_LOCKS = ("packed-refs.lock", "HEAD.lock", "config.lock", "shallow.lock", "FETCH_HEAD.lock", "index.lock")
# Mtimes and our clock may disagree by a file system's granularity.
CLOCK_SLACK = 2.0


@contextlib.contextmanager
def git_writes(git_dir: str, what: str, *, also: str | None = None) -> Iterator[None]:
    """Mark ``git_dir`` (and ``also``, the git dir of a local push target) as written by this run.

    The mark lives in ``git_dir``; it is removed when the block ends in any
    way short of a kill (git removes its own locks then).
    """
    import json

    mark = os.path.join(git_dir, MARK)
    atomic_write(mark, json.dumps({"pid": os.getpid(), "pgid": os.getpgrp(), "started": time.time(),
                                   "what": what, "also": also}))
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(mark)


def clear_stale_locks(git_dir: str) -> list[str]:
    """Remove the git locks a killed run of ours left in ``git_dir`` (and its push target).

    The caller holds the run lock of ``git_dir``: no other split run is alive
    there.  Returns the paths removed.
    """
    mark = os.path.join(git_dir, MARK)
    try:
        with open(mark, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return []  # the common case: the last run ended normally
    import json

    try:
        record = json.loads(text)
        pid, pgid, started = int(record["pid"]), int(record["pgid"]), float(record["started"])
    except (ValueError, KeyError, TypeError):
        os.unlink(mark)  # torn by a kill while it was written: the command had not started
        return []
    survivor = _live_git_of(pgid)
    if survivor is not None:
        raise LockError(
            f"git (pid {survivor}) of an interrupted split run (pid {pid}) still runs in {git_dir}",
            hint="wait for it to exit, then run the split again",
        )
    removed: list[str] = []
    for directory in filter(None, [git_dir, record.get("also")]):
        removed += _remove_locks(str(directory), started - CLOCK_SLACK)
    if removed:
        log.warning("removed %d git lock file%s left by a killed split run (pid %d, during %s): %s",
                    len(removed), "" if len(removed) == 1 else "s", pid, record.get("what", "?"),
                    ", ".join(removed))
    os.unlink(mark)
    return removed


def _remove_locks(git_dir: str, since: float) -> list[str]:
    candidates = [os.path.join(git_dir, name) for name in TOP_LOCKS]
    for root, _dirs, files in os.walk(os.path.join(git_dir, "refs")):
        candidates += [os.path.join(root, f) for f in files if f.endswith(".lock")]
    removed = []
    for path in candidates:
        try:
            if os.lstat(path).st_mtime < since:
                continue  # older than the dead run's command: not its lock
            os.unlink(path)
        except FileNotFoundError:
            continue
        removed.append(path)
    return removed


def _live_git_of(pgid: int) -> int | None:
    """A git process of the dead run still alive (in its process group), or None.

    The run itself is dead: the caller holds the run lock it held.  But a
    SIGKILL of the run alone leaves its git children running to their normal
    end, which removes their locks: those must be waited for, not robbed.
    Linux /proc; elsewhere nothing is found.
    """
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        # "PID (COMM) STATE PPID PGRP ...": COMM may hold spaces and parentheses
        comm = stat[stat.find("(") + 1:stat.rfind(")")]
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 2 and int(fields[2]) == pgid and comm.startswith("git") and fields[0] != "Z":
            return int(entry)
    return None

