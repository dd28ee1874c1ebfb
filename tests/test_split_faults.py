"""`releasetool split NAME|--all` under faults: SIGKILL at any moment, two runs at once, a shallow clone.

A kill at an exact point is made by git itself: a ``reference-transaction``
hook (git runs it with ``prepared`` while it holds the ref locks of a
transaction) records the lock files present and kills its whole process
group, the releasetool run with it.  Every transaction of a run is hit in
turn: the fetch into the cache clone, the split branch, the tags, and the
push's ``receive-pack`` in the component repository.  Random kills hit the
run at seeded moments.  After each kill one plain re-run must finish with
exactly the end state of an uninterrupted run.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from split_shapes import Repo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kill import kill_while_running

from releasetool.split.components import clone_dir

COMPONENT = """\
  - name: {name}
    summary: Split component {name}
    description: Split from the cluster tree.
    homepage: https://example.org/{name}
    license: GPL-2.0-or-later
    git: file://{push}
    tag_pattern: {tag}
    version_scheme: rpm
    version: "1.1"
    released: 2009-01-20
    packaging: {{}}
    split:
      repository: file://{source}
      branch: main
      paths:
{paths}
"""

HEAD = """\
schema: 1
distribution:
  name: Test distribution
  obs_project: home:test
targets:
  - name: Debian_12
    label: Debian 12
    family: deb
    project: Debian:12
    repository: standard
    archs: [x86_64]
components:
"""

KILLS = 20  # random kills of the split run

HOOK = """\
#!/bin/sh
# reference-transaction hook of the split kill tests: kill the run while git holds its ref locks
[ "$1" = prepared ] || exit 0
cat > /dev/null
n=$(( $(cat "$SPLIT_KILL_COUNTER" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$SPLIT_KILL_COUNTER"
if [ "$n" = "$SPLIT_KILL_AT" ]; then
    find "$PWD" -name '*.lock' -newer "$SPLIT_KILL_COUNTER.start" > "$SPLIT_KILL_LOCKS"
    kill -KILL 0
fi
"""


class Case:
    """A source tree, two component repositories to push to, a manifest and a cache."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True)
        self.root = root
        src = Repo(root / "cluster")
        src.write("README")
        src.commit("start")
        src.write("fence/agents/fence_a")
        src.write("fence/man/fence_a.8")
        src.commit("agents and manuals")
        src.git("tag", "-a", "-m", "Release 1.0", "v1.0", env={"GIT_COMMITTER_DATE": "1232400000 +0100"})
        src.git("tag", "docs-1.0")
        for i in range(3):
            src.write(f"fence/agents/fence_{i}")
            src.commit(f"agent {i}")
        src.git("tag", "v1.1")
        self.source = src
        self.pushes = {name: root / f"{name}.git" for name in ("fence-agents", "cluster-docs")}
        for push in self.pushes.values():
            subprocess.run(["git", "init", "-q", "--bare", str(push)], check=True)
        paths = {"fence-agents": "        - from: fence/agents\n          to: \"\"",
                 "cluster-docs": "        - from: fence/agents\n          to: agents\n"
                                 "        - from: fence/man\n          to: man"}
        tags = {"fence-agents": "v{version}", "cluster-docs": "docs-{version}"}
        self.manifest = root / "components.yaml"
        self.manifest.write_text(HEAD + "".join(
            COMPONENT.format(name=name, push=push, source=src.path, tag=tags[name], paths=paths[name])
            for name, push in self.pushes.items()))
        self.cache = root / "cache"

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "releasetool", "split", "-q", "--manifest", str(self.manifest),
                "--cache", str(self.cache), "--all", "--tags", "--push", "origin"]

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(extra)
        return env

    def run(self, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(), env=self.env(**extra), capture_output=True, text=True, timeout=120,
                              check=False, start_new_session=True)

    def start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.argv(), env=self.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)

    def state(self) -> dict[str, str]:
        """Every ref of the component repositories and of the cache clone that the split writes."""
        refs: dict[str, str] = {}
        places = dict(self.pushes)
        clones = list(self.cache.glob("*.git"))
        assert len(clones) == 1  # both components are split from one clone
        places["clone"] = clones[0]
        for where, path in places.items():
            out = subprocess.run(["git", "-C", str(path), "for-each-ref", "--format=%(refname) %(objectname)"],
                                 capture_output=True, text=True, check=True).stdout
            for line in out.splitlines():
                ref, oid = line.split()
                refs[f"{where}:{ref}"] = oid
        return refs

    def lock_files(self) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*.lock")
                      if p.parent.name != "releasetool" and not p.name.endswith(".git.lock")
                      and not p.name.startswith("."))

    def arm(self) -> dict[str, str]:
        """Environment and hooks that make git kill the run at the SPLIT_KILL_AT-th ref transaction."""
        hooks = self.root / "hooks"
        hooks.mkdir(exist_ok=True)
        hook = hooks / "reference-transaction"
        hook.write_text(HOOK)
        hook.chmod(0o755)
        for push in self.pushes.values():  # receive-pack does not take config from our environment
            subprocess.run(["git", "-C", str(push), "config", "core.hooksPath", str(hooks)], check=True)
        counter = self.root / "transactions"
        counter.unlink(missing_ok=True)
        Path(f"{counter}.start").write_text("")
        return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.hooksPath", "GIT_CONFIG_VALUE_0": str(hooks),
                "SPLIT_KILL_COUNTER": str(counter), "SPLIT_KILL_LOCKS": str(self.root / "locks-at-kill")}

    def disarm(self) -> None:
        for push in self.pushes.values():
            subprocess.run(["git", "-C", str(push), "config", "--unset", "core.hooksPath"], check=True)


@pytest.fixture
def expected(tmp_path: Path) -> dict[str, str]:
    """The end state of one uninterrupted run."""
    case = Case(tmp_path / "uninterrupted")
    done = case.run()
    assert done.returncode == 0, done.stderr
    state = case.state()
    assert "fence-agents:refs/heads/main" in state and "cluster-docs:refs/tags/docs-1.0" in state
    return state


def count_transactions(tmp_path: Path) -> int:
    case = Case(tmp_path / "count")
    env = case.arm()
    done = case.run(**env, SPLIT_KILL_AT="0")
    assert done.returncode == 0, done.stderr
    return int((tmp_path / "count" / "transactions").read_text())


@pytest.mark.slow
def test_kill_at_every_ref_transaction_is_finished_by_one_rerun(tmp_path: Path, expected: dict[str, str]) -> None:
    total = count_transactions(tmp_path)
    assert total >= 6  # fetch, split branches, tags and two pushes at least
    left_behind: dict[int, list[str]] = {}
    for k in range(1, total + 1):
        case = Case(tmp_path / f"kill-{k}")
        env = case.arm()
        killed = case.run(**env, SPLIT_KILL_AT=str(k))
        assert killed.returncode == -signal.SIGKILL, (k, killed.returncode, killed.stderr)
        held = (case.root / "locks-at-kill").read_text().split()
        assert held, f"transaction {k}: git held no lock when it was killed"
        left_behind[k] = case.lock_files()
        assert left_behind[k], f"transaction {k}: the kill left no lock file to recover from"
        case.disarm()
        rerun = case.run()
        assert rerun.returncode == 0, (k, left_behind[k], rerun.stderr)
        assert "left by a killed split run" in rerun.stderr
        assert case.state() == expected, k
        assert case.lock_files() == []
    print(f"ref transactions killed: {total}, lock files left behind and recovered: "
          f"{sum(map(len, left_behind.values()))}")
    # the locks in the component repositories (receive-pack) were among those recovered
    assert any(any(f.startswith(("fence-agents.git/", "cluster-docs.git/")) for f in files)
               for files in left_behind.values())


@pytest.mark.slow
def test_kill_at_random_moments_is_finished_by_one_rerun(tmp_path: Path, expected: dict[str, str]) -> None:
    probe = Case(tmp_path / "probe")
    started = time.monotonic()
    assert probe.run().returncode == 0
    duration = time.monotonic() - started
    rng = random.Random(int(os.environ.get("RELEASETOOL_KILL_SEED", "2008")))
    landed = 0
    with_locks = 0
    for i in range(KILLS):
        case = Case(tmp_path / f"random-{i}")
        pristine = tmp_path / f"random-{i}.pristine"
        shutil.copytree(case.root, pristine, symlinks=True)

        def restore(case: Case = case, pristine: Path = pristine) -> None:
            shutil.rmtree(case.root)
            shutil.copytree(pristine, case.root, symlinks=True)

        kill_while_running(case.start, rng.uniform(0.05, duration), restore=restore, group=True)
        landed += 1
        with_locks += bool(case.lock_files())
        rerun = case.run()
        assert rerun.returncode == 0, (i, rerun.stderr)
        assert case.state() == expected, i
    assert landed == KILLS
    print(f"random kills landed: {landed}, left git lock files: {with_locks}")


def test_half_made_clone_is_made_again(tmp_path: Path, expected: dict[str, str]) -> None:
    case = Case(tmp_path / "half")
    case.cache.mkdir()
    # what `git init` killed early leaves: a directory with a HEAD and nothing else
    half = clone_dir(case.cache, f"file://{case.source.path}")
    half.mkdir()
    (half / "HEAD").write_text("ref: refs/heads/main\n")
    done = case.run()
    assert done.returncode == 0, done.stderr
    assert "is not a whole git repository" in done.stderr
    assert case.state() == expected


def test_lock_files_of_somebody_else_are_left_alone(tmp_path: Path) -> None:
    """No mark of a killed run of ours: a lock file is git's business and stays."""
    case = Case(tmp_path / "foreign")
    assert case.run().returncode == 0
    foreign = case.pushes["fence-agents"] / "refs" / "heads" / "main.lock"
    foreign.write_text("")
    case.source.write("fence/agents/fence_new")
    case.source.commit("new agent")
    done = case.run()
    assert done.returncode != 0
    assert foreign.exists()
    assert "left by a killed split run" not in done.stderr


def test_two_runs_at_once_wait_for_each_other(tmp_path: Path, expected: dict[str, str]) -> None:
    for round_ in range(3):
        case = Case(tmp_path / f"pair-{round_}")
        first = case.start()
        time.sleep(0.1)
        second = case.start()
        errors = [p.communicate(timeout=120)[1].decode() for p in (first, second)]
        assert (first.returncode, second.returncode) == (0, 0), errors
        assert case.state() == expected


@pytest.mark.slow
def test_a_run_waiting_for_a_killed_one_recovers_and_finishes(tmp_path: Path, expected: dict[str, str]) -> None:
    """B waits for A's lock; A dies holding git locks; B, now holding the lock, clears them and finishes."""
    total = count_transactions(tmp_path)
    for k in (1, total - 1):
        case = Case(tmp_path / f"waiting-{k}")
        env = case.arm()
        first = subprocess.Popen(case.argv(), env=case.env(**env, SPLIT_KILL_AT=str(k)), stderr=subprocess.PIPE,
                                 start_new_session=True)
        time.sleep(0.1)
        second = subprocess.Popen(case.argv(), env=case.env(**env, SPLIT_KILL_AT="0"), stderr=subprocess.PIPE,
                                  start_new_session=True)
        assert first.wait(timeout=120) == -signal.SIGKILL
        assert (case.root / "locks-at-kill").read_text().split(), k
        err = second.communicate(timeout=120)[1].decode()
        assert second.returncode == 0, (k, err)
        assert "left by a killed split run" in err
        assert case.state() == expected


def test_shallow_clone_is_refused(tmp_path: Path) -> None:
    case = Case(tmp_path / "deep")
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{case.source.path}", str(shallow)], check=True)
    done = subprocess.run([sys.executable, "-m", "releasetool", "split", "--repo", str(shallow), "--prefix",
                           "fence/agents", "--branch", "split/x"], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: {shallow} is a shallow clone: its split would miss the history before the cut",
        f"hint: fetch the whole history first: git -C {shallow} fetch --unshallow",
    ]
    assert subprocess.run(["git", "-C", str(shallow), "rev-parse", "-q", "--verify", "split/x"],
                          check=False).returncode != 0
    # a shallow split source: the manifest form refuses too
    text = case.manifest.read_text().replace(f"file://{case.source.path}", f"file://{shallow}")
    case.manifest.write_text(text)
    done = case.run()
    assert done.returncode == 2, done.stderr
    assert "shallow" in done.stderr and "Traceback" not in done.stderr
