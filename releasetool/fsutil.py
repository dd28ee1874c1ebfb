"""Atomic file writes, run locks and per-run journals.

Every writing command uses these three so that a kill at any moment leaves
either the old or the new state, never a mix, and a re-run can finish the job.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sys
import time
from collections.abc import Iterator

from releasetool.errors import LockError

# typing and pathlib cost ~4 ms each to import; the quick commands (a re-split)
# take locks but write no files, so those imports wait until a write needs them.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any


def atomic_write(path: str | os.PathLike[str], data: bytes | str, *, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename."""
    import tempfile  # here: the fast paths that never write should not pay for it
    from pathlib import Path

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target


def remove_temporaries_under(directory: str | os.PathLike[str]) -> list[str]:
    """Remove the temporary files :func:`atomic_write` leaves when killed (``.NAME.XXXXXXXX.tmp``) under ``directory``.

    Only for a caller that holds the lock of every writer of ``directory``:
    a temporary file found then belongs to a run that died.
    """
    import re

    shape = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")  # tempfile.mkstemp(prefix=".NAME.", suffix=".tmp")
    removed = []
    for root, _dirs, files in os.walk(directory):
        for name in files:
            if shape.fullmatch(name):
                path = os.path.join(root, name)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                    removed.append(path)
    return removed


def write_if_changed(path: str | os.PathLike[str], data: bytes | str, *, mode: int = 0o644) -> bool:
    """Atomically write ``data`` unless the file already holds exactly these bytes."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with open(path, "rb") as handle:
            if handle.read() == payload:
                return False
    except FileNotFoundError:
        pass
    atomic_write(path, payload, mode=mode)
    return True


def holder_description() -> str:
    """Who holds a lock, as a refused run names it: pid, host, command and since when."""
    command = " ".join(["releasetool", *sys.argv[1:]])[:200].replace("\n", " ")
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    # os.uname().nodename is gethostname(), without importing socket
    return f"pid {os.getpid()} on {os.uname().nodename} ({command}) since {since}"


def manifest_lock_path(manifest_path: str | os.PathLike[str]) -> Path:
    """The project's lock: every command that writes for a manifest's components holds it."""
    from pathlib import Path

    manifest = Path(manifest_path)
    return manifest.parent / f".{manifest.name}.lock"


def output_dir_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be an output directory, or None when it can (it may not exist yet).

    Every command that writes a directory (render, bundle, release, train,
    site build) asks this before its first write.  A symlink to a directory
    is followed: the files land where it points and the link stays.
    """
    text = os.fspath(path)
    if os.path.islink(text) and not os.path.exists(text):
        return f"{text} is a symbolic link to {os.readlink(text)}, which does not exist"
    probe = os.path.abspath(text)
    while not os.path.lexists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        kind = "a regular file" if os.path.isfile(probe) else "not a directory"
        return f"{probe} is {kind}" + ("" if probe == os.path.abspath(text) else f" (in the path {text})")
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{probe} is not writable"
    return None


def text_file_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` is not a readable UTF-8 text file, or None when it is one."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return f"cannot read it ({exc.strerror})"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
    if b"\0" in data:
        return "not text (it holds NUL bytes)"
    return None


WAIT_NOTICE_AFTER = 5.0  # a run that may wait longer than this says what it waits for


@contextlib.contextmanager
def run_lock(path: str | os.PathLike[str], *, what: str, wait: float = 5.0) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for the duration of the block.

    The lock is an ``flock`` on the file, so it disappears with the process
    (a killed run never leaves a stale lock).  The holder writes its pid, host
    and command into the file so that a refused run can name it.
    """
    lock_path = os.fspath(path)
    os.makedirs(os.path.dirname(lock_path) or ".", exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    announced = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if wait > WAIT_NOTICE_AFTER and not announced:
                    announced = True
                    from releasetool.log import log

                    log.info("waiting for %s, locked by %s", what, _describe_holder(lock_path))
                if time.monotonic() >= deadline:
                    raise LockError(
                        f"{what} is locked by {_describe_holder(lock_path)}",
                        hint=f"wait for that run to finish; the lock is {lock_path}",
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, (holder_description() + "\n").encode(), 0)
        yield
    finally:
        os.close(fd)


def _describe_holder(lock_path: str) -> str:
    try:
        with open(lock_path, encoding="utf-8", errors="replace") as handle:
            described = handle.read().strip()
    except OSError:
        described = ""
    return described or "another run"


KILL_ENV = "RELEASETOOL_KILL_AFTER_RECORDS"
_records_in_this_process = 0


def _kill_point() -> None:
    """Fault injection for the kill tests: SIGKILL this process after its Nth journal record.

    With ``RELEASETOOL_KILL_AFTER_RECORDS=N`` in the environment a run dies the
    hard way right after recording its Nth step, which is exactly the moment a
    re-run must pick up from.  Unset, this does nothing.
    """
    global _records_in_this_process
    limit = os.environ.get(KILL_ENV)
    if not limit:
        return
    _records_in_this_process += 1
    if str(_records_in_this_process) == limit.strip():
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


class Journal:
    """An append-only record of the steps a run has completed.

    One JSON object a line; a line cut short by a kill is ignored on reading.
    A run records ``{"step": NAME, ...}`` after each step's effect is durable,
    and on restart skips the steps already recorded for the same plan.
    """

    def __init__(self, path: str | os.PathLike[str], plan_id: str) -> None:
        from pathlib import Path

        self.path = Path(path)
        self.plan_id = plan_id
        # Each step's record as json.loads() read it back (Any: json's API): the
        # callers read the fields they recorded themselves.
        self.done: dict[str, dict[str, Any]] = {}
        self._load()

    def _load(self) -> None:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        import json

        for line in raw.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line torn by a kill
            if isinstance(entry, dict) and entry.get("plan") == self.plan_id and "step" in entry:
                self.done[str(entry["step"])] = entry

    def __contains__(self, step: str) -> bool:
        return step in self.done

    def record(self, step: str, **details: object) -> None:
        import json

        entry = {"plan": self.plan_id, "step": step, "at": int(time.time()), **details}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, sort_keys=True) + "\n"
        with open(self.path, "a+b") as handle:
            # after a kill in the middle of a write the file ends without a newline:
            # start on a fresh line so the torn fragment stays on its own
            if handle.tell() > 0:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    line = "\n" + line
            handle.write(line.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        self.done[step] = entry
        _kill_point()

    @property
    def finished(self) -> bool:
        return "finished" in self.done

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.done.clear()
