"""The one place that runs external programs.

Every call logs its argv, passes a copied environment (``os.environ`` is never
changed), and on failure raises :class:`CommandError` with the argv, the exit
status and the tail of stderr.  Under ``-v`` the output is logged as it comes.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence

from releasetool.errors import CommandError, ToolMissingError
from releasetool.log import DEBUG, log

STDERR_TAIL_LINES = 20


def environment(extra: Mapping[str, str] | None = None, *, drop: Sequence[str] = ()) -> dict[str, str]:
    """A copy of the process environment with ``extra`` set and ``drop`` removed."""
    env = dict(os.environ)
    for name in drop:
        env.pop(name, None)
    if extra:
        env.update(extra)
    return env


def require(program: str, *, package: str | None = None) -> str:
    """The full path of ``program``, or a ToolMissingError naming the package to install."""
    import shutil  # here: the quick commands never ask

    found = shutil.which(program)
    if found is None:
        raise ToolMissingError(
            f"{program} is not installed",
            hint=f"install it with `apt-get install {package or program}` or run `make setup`",
        )
    return found


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    check: bool = True,
    capture: bool = True,
    stdout_to_stderr: bool = False,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``argv`` and return the completed process (stdout and stderr as bytes).

    Without ``capture`` the program writes to this process's own streams as it
    goes; ``stdout_to_stderr`` sends its stdout to our stderr instead.  With
    ``timeout`` (seconds) a program still running then is killed and a
    CommandError says it timed out.
    """
    args = [os.fspath(a) for a in argv]
    log.debug("$ %s%s", " ".join(args), f"  (in {cwd})" if cwd else "")
    try:
        done = subprocess.run(
            args,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            input=input,
            stdout=subprocess.PIPE if capture else (2 if stdout_to_stderr else None),
            stderr=subprocess.PIPE if capture else None,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise CommandError(args, -9, f"timed out after {timeout:g} s") from None
    except FileNotFoundError as exc:
        raise ToolMissingError(f"{args[0]} is not installed", hint="run `make setup`") from exc
    if done.stderr and log.is_enabled_for(DEBUG):
        for line in done.stderr.decode("utf-8", "replace").splitlines():
            log.debug("  %s", line)
    if check and done.returncode != 0:
        raise CommandError(args, done.returncode, _tail(done.stderr or done.stdout or b""))
    return done


def output(argv: Sequence[str | os.PathLike[str]], **kwargs: object) -> str:
    """Run ``argv`` and return its stdout as text, trailing newline removed."""
    done = run(argv, **kwargs)  # type: ignore[arg-type]
    return done.stdout.decode("utf-8", "replace").rstrip("\n")


def git(repo: str | os.PathLike[str], *args: str, **kwargs: object) -> str:
    """``git -C repo args...`` returning stdout as text."""
    return output(["git", "-C", os.fspath(repo), *args], **kwargs)


def _tail(data: bytes) -> str:
    lines = data.decode("utf-8", "replace").splitlines()
    return "\n".join(lines[-STDERR_TAIL_LINES:])
