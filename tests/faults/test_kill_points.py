"""Every writing command, killed with SIGKILL at every step boundary, finishes when run again.

For each command the suite first runs it uninterrupted on a fresh copy of its
input and records the end state.  Then, for k = 1, 2, ... it runs the command
on another fresh copy with ``RELEASETOOL_KILL_AFTER_RECORDS=k`` (the process
kills itself right after its k-th journal record), runs it again normally,
and checks that the end state is exactly the uninterrupted one.  Commands are
also killed at seeded random moments, between step boundaries.  A re-run of a
finished command is a no-op that says so.

The inputs are the demo's generated cluster tree and manifest, so the commands
run on the same shapes a release manager's would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from releasetool import proc
from releasetool.demo import demo_manifest, upstream
from releasetool.fsutil import KILL_ENV

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the helpers in tests/
from kill import kill_while_running, snapshot

pytestmark = pytest.mark.slow  # kills processes

COMPONENTS = [c.name for c in upstream.COMPONENTS]
SEED = int(os.environ.get("RELEASETOOL_KILL_SEED", "2008"))


def releasetool(cwd: Path, *args: str, kill_after: int | None = None, timeout: float = 300,
                ) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop(KILL_ENV, None)
    if kill_after is not None:
        env[KILL_ENV] = str(kill_after)
    return subprocess.run([sys.executable, "-m", "releasetool", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


# --- inputs -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo-shaped working directory after the split: component repositories with tags."""
    root = tmp_path_factory.mktemp("kill-template")
    upstream.create(root / "upstream")
    (root / "components.yaml").write_text(demo_manifest.text(
        upstream_url=(root / "upstream").as_uri(), repos_url=(root / "repos").as_uri(),
        released=dt.date(2008, 9, 1)))
    for name in COMPONENTS:
        repo = root / "repos" / name
        proc.run(["git", "init", "-q", "-b", "master", str(repo)])
        proc.run(["git", "-C", str(repo), "config", "receive.denyCurrentBranch", "updateInstead"])
    done = releasetool(root, "split", "--all", "--tags", "--push", "origin", "--cache", str(root / "cache"))
    assert done.returncode == 0, done.stderr
    for name in COMPONENTS:
        repo = root / "repos" / name
        # the component's own tag for the release the monolithic tree made
        if not proc.git(repo, "tag", "-l", "v3.0.0"):
            proc.run(["git", "-C", str(repo), "tag", "-a", "v3.0.0", "-m", "v3.0.0", "cluster-3.0.0^{commit}"])
    lines = ["releases:", *[f'  {n}: "3.0.1"' for n in COMPONENTS], "repos:",
             *[f"  {n}: repos/{n}" for n in COMPONENTS], "out: dist"]
    (root / "train.yaml").write_text("\n".join(lines) + "\n")
    return root


def fresh(source: Path, tmp_path: Path, name: str) -> Path:
    """A copy of ``source`` (git ids do not depend on where a repository lives)."""
    target = tmp_path / name
    shutil.copytree(source, target, symlinks=True)
    # the manifest names repositories by URL: point it at the copy
    text = (target / "components.yaml").read_text().replace(source.as_uri(), target.as_uri())
    (target / "components.yaml").write_text(text)
    return target


def released(root: Path) -> None:
    done = releasetool(root, "train", "train.yaml", "--packager", demo_manifest.PACKAGER)
    assert done.returncode == 0, done.stderr


def rendered(root: Path) -> None:
    released(root)
    done = releasetool(root, "render", "--all", "--out", "packaging")
    assert done.returncode == 0, done.stderr


def bundled_then_released_again(root: Path) -> None:
    """A download area holding 3.0.1, and 3.0.2 released since: bundling replaces the old files."""
    released(root)
    done = releasetool(root, "bundle", "--from", "dist", "--out", "downloads")
    assert done.returncode == 0, done.stderr
    for name in COMPONENTS:
        repo = root / "repos" / name
        (repo / "NEWS").write_text((repo / "NEWS").read_text() + "3.0.2\n")
        proc.run(["git", "-C", str(repo), "commit", "-q", "-am", "fix: one more thing"])
    text = (root / "train.yaml").read_text().replace('"3.0.1"', '"3.0.2"')
    (root / "train.yaml").write_text(text)
    released(root)


# --- end states -------------------------------------------------------------------------------


def tree_digest(path: Path, *, skip: Callable[[Path], bool] = lambda p: False) -> dict[str, str]:
    """relative path -> sha256 of every file under ``path`` (journals, locks and caches left out).

    The working directory's own URL (in Vcs fields, say) is replaced, so that
    copies of one input in different places compare equal.
    """
    root_uri = path.parent.as_uri().encode()
    out = {}
    if not path.exists():
        return out
    for file in sorted(path.rglob("*")):
        rel = file.relative_to(path)
        if file.is_dir() or skip(rel) or any(part.startswith(".") for part in rel.parts):
            continue
        out[str(rel)] = hashlib.sha256(file.read_bytes().replace(root_uri, b"ROOT")).hexdigest()
    return out


def tags(root: Path) -> dict[str, str]:
    """component/tag -> the commit it points at (tag objects carry their own date, commits do not)."""
    found = {}
    for name in COMPONENTS:
        repo = root / "repos" / name
        for line in proc.git(repo, "for-each-ref", "--format=%(refname:short) %(*objectname)%(objectname)",
                             "refs/tags").splitlines():
            tag, target = line.split()
            found[f"{name}/{tag}"] = proc.git(repo, "rev-parse", f"{tag}^{{commit}}") if len(target) > 40 else target
    return found


def without_dates(value: object) -> object:
    """History and JSON files with release dates and generation times left out."""
    if isinstance(value, dict):
        return {k: without_dates(v) for k, v in value.items() if k not in ("date", "generated_at", "at")}
    if isinstance(value, list):
        return [without_dates(v) for v in value]
    return value


def release_state(root: Path) -> dict[str, object]:
    history = {p.name: without_dates(json.loads(p.read_text())) for p in sorted((root / "history").glob("*.json"))}
    return {
        "tags": tags(root),
        "dist": tree_digest(root / "dist"),
        "manifest": (root / "components.yaml").read_text().replace(root.as_uri(), "ROOT"),
        "history": history,
    }


def render_state(root: Path) -> dict[str, object]:
    return {"packaging": tree_digest(root / "packaging")}


def bundle_state(root: Path) -> dict[str, object]:
    index = root / "downloads" / "index.json"
    return {
        "files": tree_digest(root / "downloads", skip=lambda p: p.name in ("index.json", "index.html")),
        "index": without_dates(json.loads(index.read_text())) if index.exists() else None,
    }


# --- the scenarios ----------------------------------------------------------------------------

# name -> (prepare the input, the command, the end state)
SCENARIOS: dict[str, tuple[Callable[[Path], None], list[str], Callable[[Path], dict[str, object]]]] = {
    "train": (lambda root: None, ["train", "train.yaml", "--packager", demo_manifest.PACKAGER], release_state),
    "release": (lambda root: None,
                ["release", "dlm", "3.0.1", "--repo", "repos/dlm", "--out", "dist", "--packager",
                 demo_manifest.PACKAGER], release_state),
    "render --all": (released, ["render", "--all", "--out", "packaging"], render_state),
    "bundle": (bundled_then_released_again, ["bundle", "--from", "dist", "--out", "downloads"], bundle_state),
}


def prepared(template: Path, tmp_path: Path, name: str) -> tuple[Path, dict[str, object]]:
    """The scenario's input, and the end state an uninterrupted run reaches from it."""
    prepare, argv, state = SCENARIOS[name]
    base = fresh(template, tmp_path, "base")
    prepare(base)
    reference = fresh(base, tmp_path, "reference")
    done = releasetool(reference, *argv)
    assert done.returncode == 0, f"{name}: {done.stderr}"
    end = state(reference)
    again = releasetool(reference, *argv)
    assert again.returncode == 0, again.stderr
    assert state(reference) == end, f"{name}: a second run changed the result"
    return base, end


# the commands that keep a journal (the others are killed at random moments only)
JOURNALED = ["train", "release", "render --all", "bundle"]


@pytest.mark.parametrize("name", JOURNALED)
def test_killed_after_every_step_resumes_to_the_same_end(name: str, template: Path, tmp_path: Path) -> None:
    _, argv, state = SCENARIOS[name]
    base, reference = prepared(template, tmp_path, name)
    kill_points = 0
    for k in range(1, 200):
        root = fresh(base, tmp_path, f"k{k}")
        killed = releasetool(root, *argv, kill_after=k)
        if killed.returncode != -signal.SIGKILL:
            assert killed.returncode == 0, killed.stderr
            break  # the run has fewer than k records: every boundary is covered
        kill_points += 1
        resumed = releasetool(root, *argv)
        assert resumed.returncode == 0, f"{name} killed after record {k}, re-run failed: {resumed.stderr}"
        assert state(root) == reference, f"{name} killed after record {k} ends elsewhere"
        shutil.rmtree(root)
    assert kill_points >= 1, f"{name} records no journal step"
    print(f"{name}: {kill_points} kill points")


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_killed_at_random_moments_resumes_to_the_same_end(name: str, template: Path, tmp_path: Path) -> None:
    _, argv, state = SCENARIOS[name]
    base, reference = prepared(template, tmp_path, name)
    rng = random.Random(f"{SEED}-{name}")
    for attempt in range(3):
        root = fresh(base, tmp_path, f"r{attempt}")

        def start(root: Path = root) -> subprocess.Popen[bytes]:
            return subprocess.Popen([sys.executable, "-m", "releasetool", *argv], cwd=root,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        kill_while_running(start, rng.uniform(0.05, 1.5), restore=snapshot(root))
        resumed = releasetool(root, *argv)
        assert resumed.returncode == 0, resumed.stderr
        assert state(root) == reference


def test_finished_train_run_again_says_so(template: Path, tmp_path: Path) -> None:
    root = fresh(template, tmp_path, "done")
    released(root)
    before = release_state(root)
    again = releasetool(root, "train", "train.yaml", "--packager", demo_manifest.PACKAGER)
    assert again.returncode == 0
    assert "already" in again.stderr.lower() or "nothing to do" in again.stderr.lower(), again.stderr
    assert release_state(root) == before


# --- commands that talk to the Build Service or publish the page --------------------------------


@pytest.fixture(scope="module")
def obs_service(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from obs_helpers import start_service

    service = start_service(tmp_path_factory.mktemp("kill-obs"))
    yield service
    service.service.shutdown()
    service.service.server_close()


def obs_state(service, project: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Per package: its revisions and the files (name, md5) of the last one."""
    import xml.etree.ElementTree as ET

    import requests

    auth = ("Admin", "s3cret-Pa55-xyzzy")
    state: dict[str, object] = {}
    listing = requests.get(f"{service.url}/source/{project}", auth=auth, timeout=30)
    for entry in ET.fromstring(listing.content).iter("entry"):
        package = entry.get("name")
        history = requests.get(f"{service.url}/source/{project}/{package}/_history", auth=auth, timeout=30)
        files = requests.get(f"{service.url}/source/{project}/{package}", auth=auth, timeout=30)
        state[str(package)] = {
            "revisions": len(ET.fromstring(history.content).findall("revision")),
            "files": sorted((e.get("name"), e.get("md5")) for e in ET.fromstring(files.content).iter("entry")),
        }
    return state


def test_obs_submit_killed_after_every_step_makes_one_revision_per_package(
    template: Path, tmp_path: Path, obs_service  # type: ignore[no-untyped-def]
) -> None:
    base = fresh(template, tmp_path, "base")
    rendered(base)
    assert releasetool(base, "bundle", "--from", "dist", "--out", "downloads").returncode == 0
    # what is submitted must not depend on where the copy lives (Vcs-Git names the repository)
    manifest = base / "components.yaml"
    manifest.write_text(manifest.read_text().replace(f"git: {(base / 'repos').as_uri()}/", "git: https://cluster.example/"))

    def submit(root: Path, project: str, kill_after: int | None = None) -> subprocess.CompletedProcess[str]:
        return releasetool(root, "obs", "submit", "--all", "--config", str(obs_service.oscrc), "--apiurl",
                           obs_service.url, "--project", project, "--tarballs", "downloads", "--jobs", "1",
                           kill_after=kill_after)

    reference_root = fresh(base, tmp_path, "reference")
    assert submit(reference_root, "home:Admin:reference").returncode == 0
    reference = obs_state(obs_service, "home:Admin:reference")
    assert {p["revisions"] for p in reference.values()} == {1}
    kill_points = 0
    for k in range(1, 50):
        root = fresh(base, tmp_path, f"k{k}")
        project = f"home:Admin:kill{k}"
        killed = submit(root, project, kill_after=k)
        if killed.returncode != -signal.SIGKILL:
            assert killed.returncode == 0, killed.stderr
            break
        kill_points += 1
        resumed = submit(root, project)
        assert resumed.returncode == 0, resumed.stderr
        assert obs_state(obs_service, project) == reference, f"obs submit killed after record {k}"
        again = submit(root, project)
        assert again.returncode == 0 and obs_state(obs_service, project) == reference
    assert kill_points >= len(COMPONENTS)
    print(f"obs submit --all: {kill_points} kill points")


def test_site_build_killed_after_every_step_publishes_a_whole_site(template: Path, tmp_path: Path) -> None:
    base = fresh(template, tmp_path, "base")
    released(base)
    assert releasetool(base, "site", "discover", "--offline").returncode == 0

    def site_state(root: Path) -> dict[str, str]:
        return tree_digest(root / "_site", skip=lambda p: p.name in ("versions.json", "releases.atom")
                           or p.suffix == ".html")

    reference_root = fresh(base, tmp_path, "reference")
    assert releasetool(reference_root, "site", "build").returncode == 0
    reference = site_state(reference_root)
    assert "style.css" in reference
    kill_points = 0
    for k in range(1, 50):
        root = fresh(base, tmp_path, f"k{k}")
        killed = releasetool(root, "site", "build", kill_after=k)
        if killed.returncode != -signal.SIGKILL:
            assert killed.returncode == 0, killed.stderr
            break
        kill_points += 1
        # whatever the moment of the kill, no half site is ever published
        assert not (root / "_site").exists() or (root / "_site" / "index.html").exists()
        resumed = releasetool(root, "site", "build")
        assert resumed.returncode == 0, resumed.stderr
        assert site_state(root) == reference
        pages = {p.name for p in (root / "_site").rglob("*.html")}
        assert pages == {p.name for p in (reference_root / "_site").rglob("*.html")}
    assert kill_points >= 1
    print(f"site build: {kill_points} kill points")
