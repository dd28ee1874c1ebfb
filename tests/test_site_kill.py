"""site build killed with SIGKILL at random moments: the site is always whole, a re-run finishes it."""

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
from site_helpers import component, site_data_file, write_manifest

pytestmark = pytest.mark.slow  # kills processes

COMPONENTS = 120


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def build(manifest: Path, out: Path, data: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "releasetool", "-q", "--manifest", str(manifest), "site", "build",
            "--out", str(out), "--data", str(data)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_kill_at_random_moments_then_rerun(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "components.yaml", [
        component("widget", git="https://github.com/acme/widget.git", version="1.0.0",
                  tarball="https://example.org/dl/widget-{version}.tar.gz"),
        component("gizmo", git="https://git.example.org/gizmo.git", version="0.5"),
        *(component(f"c{i:03d}", git=f"https://git.example.org/c{i:03d}.git", version="1.0")
          for i in range(COMPONENTS)),
    ])
    old_data = site_data_file(tmp_path / "old.json")
    new_data = site_data_file(tmp_path / "new.json", generated_at="2024-06-11T08:00:00Z")
    reference = tmp_path / "reference" / "_site"
    old = tmp_path / "old" / "_site"
    durations = []
    for out, data in ((reference, new_data), (old, old_data)):
        started = time.monotonic()
        done = build(manifest, out, data)
        assert done.wait(timeout=120) == 0, done.stderr.read() if done.stderr else ""
        durations.append(time.monotonic() - started)
    whole = min(durations)  # kill points spread over the length of a whole run
    expected, previous = tree(reference), tree(old)
    assert expected != previous

    rng = random.Random(20081001)  # the points differ from run to run of the machine, not of the seed
    landed = 0
    for attempt in range(30):
        if landed == 5:
            break
        work = tmp_path / f"run{attempt}"
        shutil.copytree(old.parent, work)
        out = work / "_site"
        running = build(manifest, out, new_data)
        # kill points spread over the length of a whole run (a run is slower while a kill test runs beside it)
        time.sleep(rng.uniform(0.05, 0.95) * whole)
        if running.poll() is None:
            os.kill(running.pid, signal.SIGKILL)
        if running.wait(timeout=60) != -signal.SIGKILL:  # finished first: proves nothing, try another point
            shutil.rmtree(work)
            whole *= 0.8
            continue
        landed += 1
        print(f"attempt {attempt}: killed; site was {'new' if tree(out) == expected else 'old'}")
        # whatever the moment: the published site is the whole old one or the whole new one
        assert tree(out) in (previous, expected)
        again = build(manifest, out, new_data)
        assert again.wait(timeout=120) == 0, again.stderr.read() if again.stderr else ""
        assert tree(out) == expected
        leftovers = sorted(p.name for p in work.iterdir() if p.name != "_site")
        assert leftovers == ["._site.lock"]
    assert landed == 5, f"only {landed} of 5 kills landed while the build ran"


def test_a_run_killed_between_its_swap_and_its_last_step_is_finished_by_the_rerun(tmp_path: Path) -> None:
    """The kill point the random kills found: the new site is in place, the journal still there."""
    manifest = write_manifest(tmp_path / "components.yaml", [
        component("widget", git="https://github.com/acme/widget.git", version="1.0.0")])
    data = site_data_file(tmp_path / "data.json")
    out = tmp_path / "www" / "_site"
    assert build(manifest, out, data).wait(timeout=120) == 0
    journal = out.parent / "._site.journal"
    journal.write_text('{"plan": "any", "step": "staged", "at": 0}\n')  # what the killed run left
    again = build(manifest, out, data)
    assert again.wait(timeout=120) == 0, again.stderr.read() if again.stderr else ""
    assert sorted(p.name for p in out.parent.iterdir() if p.name != "_site") == ["._site.lock"]
