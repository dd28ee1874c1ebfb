"""``releasetool demo``: rehearse a whole community release offline.

In a directory of its own the demo

1. generates a monolithic cluster tree (:mod:`releasetool.demo.upstream`);
2. splits each component out of it into its own repository, with its tags;
3. cuts a coordinated release train of all of them, with the download area;
4. renders .spec and debian/ packaging and checks it with rpmlint and lintian;
5. starts the local OBS-compatible service, submits every package through
   osc and waits until it has really built them;
6. builds the latest-versions page from what was just released and built.

Every step is recorded in a journal when it has finished, so a demo that was
killed resumes at the step it was in; a demo that finished is replaced by a
fresh one.  A failing step names itself and the component; the results of the
steps before it stay in place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from releasetool.errors import DemoStepError, ReleasetoolError
from releasetool.fsutil import Journal, atomic_write, run_lock
from releasetool.log import log

MARKER = ".releasetool-demo"
OBS_USER = ("demo", "demo-password")
OBS_PROJECT = "home:demo:cluster"


@dataclass
class Row:
    """One line of the summary table."""

    component: str
    version: str = "-"
    tag: str = "-"
    sha256: str = "-"
    rpm: str = "-"
    deb: str = "-"
    page: str = "-"


@dataclass
class Demo:
    """Where everything of one demo run lives, and what it found."""

    root: Path
    rows: dict[str, Row] = field(default_factory=dict)
    notes: dict[str, str | bool] = field(default_factory=dict)

    @property
    def upstream(self) -> Path:
        return self.root / "upstream" / "cluster"

    @property
    def repos(self) -> Path:
        return self.root / "repos"

    @property
    def manifest(self) -> Path:
        return self.root / "components.yaml"

    @property
    def downloads(self) -> Path:
        return self.root / "downloads"

    @property
    def packaging(self) -> Path:
        return self.root / "packaging"

    @property
    def obs_root(self) -> Path:
        return self.root / "obs"

    @property
    def site(self) -> Path:
        return self.root / "site"

    @property
    def state(self) -> Path:
        return self.root / ".releasetool"

    def row(self, name: str) -> Row:
        return self.rows.setdefault(name, Row(name))


Step = Callable[[Demo], None]


@contextlib.contextmanager
def step_failure(step: str, component: str | None = None) -> Iterator[None]:
    """Turn any failure inside the block into a DemoStepError naming the step."""
    try:
        yield
    except ReleasetoolError as exc:
        where = f"{step} of {component}" if component else step
        raise DemoStepError(f"demo step '{where}' failed: {exc.message}", hint=exc.hint) from exc


def prepare_directory(root: Path, journal_name: str = "demo.journal") -> bool:
    """Make ``root`` ready; True when an interrupted demo is resumed there.

    A directory that holds a finished demo is replaced; one that holds
    anything else is refused (the demo never deletes what it did not make).
    """
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).exists():
            raise ReleasetoolError(
                f"{root} exists and is not a demo directory",
                hint="choose another directory with --dir, or empty this one",
            )
        journal = Journal(root / ".releasetool" / journal_name, plan_id="demo")
        if not journal.finished:
            return True
        log.info("replacing the finished demo in %s", root)
        for child in root.iterdir():
            if child.name == MARKER:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    root.mkdir(parents=True, exist_ok=True)
    atomic_write(root / MARKER, "This directory is written by `releasetool demo`.\n")
    return False


def run(
    root: Path,
    steps: list[tuple[str, Step]],
    *,
    setup: Callable[[Demo], contextlib.AbstractContextManager[None]] | None = None,
    reporter: Callable[[str], None] | None = None,
) -> Demo:
    """Run (or resume) the demo in ``root``; return what it found.

    ``setup`` gives a context (services the steps need) held around all steps.
    """
    root = root.resolve()
    resumed = prepare_directory(root)
    demo = Demo(root)
    with run_lock(demo.state / "demo.lock", what=f"the demo in {root}"), \
            (setup(demo) if setup else contextlib.nullcontext()):
        journal = Journal(demo.state / "demo.journal", plan_id="demo")
        if resumed:
            log.info("resuming the demo in %s after step %s", root, _last_done(journal, steps) or "(none)")
        for index, (name, step) in enumerate(steps, start=1):
            label = f"[{index}/{len(steps)}] {name}"
            if name in journal:
                (reporter or log.info)(f"{label}: done in an earlier run")
                continue
            (reporter or log.info)(f"{label} ...")
            started = time.monotonic()
            with step_failure(name):
                step(demo)
            journal.record(name, seconds=round(time.monotonic() - started, 2))
            (reporter or log.info)(f"{label}: done in {time.monotonic() - started:.1f} s")
        journal.record("finished")
    return demo


def _last_done(journal: Journal, steps: list[tuple[str, Step]]) -> str | None:
    done = [name for name, _ in steps if name in journal]
    return done[-1] if done else None


def today() -> dt.date:
    return dt.datetime.now(tz=dt.UTC).date()
