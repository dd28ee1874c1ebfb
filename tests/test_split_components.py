"""`releasetool split NAME|--all`: clone cache, split/NAME, tags, push and dry-run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from split_shapes import Repo

from releasetool.cli import main

MANIFEST = """\
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
  - name: fence-agents
    summary: Fence agents
    description: Agents.
    homepage: https://example.org/fence-agents
    license: GPL-2.0-or-later
    git: {push_url}
    tag_pattern: v{{version}}
    version_scheme: rpm
    version: "1.1"
    released: 2009-01-20
    packaging: {{}}
    split:
      repository: {source}
      branch: main
      paths:
        - from: fence/agents
          to: ""
  - name: cluster-docs
    summary: Agents and manuals
    description: Two directories in one.
    homepage: https://example.org/docs
    license: GPL-2.0-or-later
    git: https://example.org/docs.git
    tag_pattern: docs-{{version}}
    version_scheme: rpm
    version: "1.0"
    released: 2009-01-20
    packaging: {{}}
    split:
      repository: {source}
      branch: main
      paths:
        - from: fence/agents
          to: agents
        - from: fence/man
          to: man
  - name: libqb
    summary: IPC library
    description: No split source.
    homepage: https://example.org/libqb
    license: LGPL-2.1-or-later
    git: https://example.org/libqb.git
    tag_pattern: v{{version}}
    version_scheme: rpm
    version: "2.0.8"
    released: 2023-07-24
    packaging: {{}}
"""


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Repo, Path, Path, Path]:
    src = Repo(tmp_path / "cluster")
    src.write("README")
    src.commit("start without agents")
    src.git("tag", "v0.9")  # before fence/agents existed: no counterpart
    src.write("fence/agents/fence_a")
    src.write("fence/man/fence_a.8")
    src.commit("agents and manuals")
    src.git("tag", "-a", "-m", "Release 1.0\n\nwith notes", "v1.0",
            env={"GIT_COMMITTER_DATE": "1232400000 +0100", "GIT_COMMITTER_NAME": "Release Manager"})
    src.write("fence/agents/fence_b")
    src.write("gfs2/x")
    src.commit("agent b")
    src.git("tag", "v1.1")
    src.git("tag", "docs-1.0")
    src.git("tag", "unrelated-tag")
    push = tmp_path / "fence-agents.git"
    subprocess.run(["git", "init", "-q", "--bare", str(push)], check=True)
    manifest = tmp_path / "components.yaml"
    manifest.write_text(MANIFEST.format(source=f"file://{src.path}", push_url=f"file://{push}"))
    return src, manifest, tmp_path / "cache", push


def test_split_name_with_tags_and_push(setup: tuple[Repo, Path, Path, Path],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    src, manifest, cache, push = setup
    argv = ["split", "--manifest", str(manifest), "--cache", str(cache), "fence-agents", "--tags",
            "--push", "origin"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    head = src.subtree_split("fence/agents", "main")
    assert out.splitlines() == [f"fence-agents {head}"]
    assert ("fence-agents: tag v0.9 has no split counterpart (its commit lacks fence/agents -> . or is not in "
            "the split history); not re-created") in err
    pushed = subprocess.run(["git", "-C", str(push), "for-each-ref", "--format=%(refname) %(objectname)"],
                            capture_output=True, text=True, check=True).stdout.splitlines()
    refs = dict(line.split() for line in pushed)
    assert refs["refs/heads/main"] == head
    assert set(refs) == {"refs/heads/main", "refs/tags/v1.0", "refs/tags/v1.1"}
    # the lightweight tag points at the split commit; the annotated one keeps tagger, date and message
    assert refs["refs/tags/v1.1"] == head
    tag = subprocess.run(["git", "-C", str(push), "cat-file", "-p", "v1.0"], capture_output=True, text=True,
                         check=True).stdout
    source_tag = src.git("cat-file", "-p", "v1.0")
    assert tag.split("\n", 2)[2].rstrip("\n") == source_tag.split("\n", 2)[2]
    assert "tagger Release Manager <committer@example.org> 1232400000 +0100" in tag
    assert tag.startswith(f"object {src.subtree_split('fence/agents', 'v1.0^{commit}')}\ntype commit\n")
    # a second run with nothing new changes nothing and says so
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines() == [f"fence-agents {head}"]


def test_all_dry_run_explains_without_network(setup: tuple[Repo, Path, Path, Path],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    _, manifest, cache, push = setup
    assert main(["split", "-q", "--manifest", str(manifest), "--cache", str(cache), "--all", "--dry-run",
                 "--json", "--tags", "--push", "origin"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in reports] == ["fence-agents", "cluster-docs"]
    first = reports[0]["actions"]
    assert first[0].startswith(f"would clone file://{manifest.parent / 'cluster'} into {cache}/cluster-")
    assert first[1] == "would split fence/agents -> . at refs/source/heads/main into split/fence-agents"
    assert first[2] == "would re-create source tags matching 'v{version}' on the split commits"
    assert first[3] == f"would push split/fence-agents to file://{push} as main with its tags"
    assert not cache.exists()


def test_dry_run_with_a_clone_tells_the_head(setup: tuple[Repo, Path, Path, Path],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    src, manifest, cache, _ = setup
    assert main(["split", "-q", "--manifest", str(manifest), "--cache", str(cache), "cluster-docs"]) == 0
    first = capsys.readouterr().out.split()[-1]
    src.write("fence/man/new.8")
    src.commit("new manual")
    assert main(["split", "--manifest", str(manifest), "--cache", str(cache), "cluster-docs", "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "cluster-docs: would fetch" in err
    assert f"with the clone as it is now: split/cluster-docs would be {first[:12]} (unchanged)" in err


def test_several_paths_land_under_their_targets(setup: tuple[Repo, Path, Path, Path],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    _, manifest, cache, _ = setup
    assert main(["split", "-q", "--manifest", str(manifest), "--cache", str(cache), "cluster-docs", "--tags"]) == 0
    head = capsys.readouterr().out.split()[-1]
    clone = next(cache.glob("cluster-*.git"))
    files = subprocess.run(["git", "-C", str(clone), "ls-tree", "-r", "--name-only", head], capture_output=True,
                           text=True, check=True).stdout.split()
    assert files == ["agents/fence_a", "agents/fence_b", "man/fence_a.8"]
    tags = subprocess.run(["git", "-C", str(clone), "for-each-ref", "--format=%(refname)", "refs/split-tags/"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert tags == ["refs/split-tags/cluster-docs/docs-1.0"]


def test_component_without_split_source(setup: tuple[Repo, Path, Path, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    _, manifest, cache, _ = setup
    assert main(["split", "--manifest", str(manifest), "--cache", str(cache), "libqb"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {manifest}: libqb has no split source",
        "hint: add a `split:` section (repository, paths) to the component, or use --repo PATH --prefix DIR",
    ]


def test_unreachable_source(setup: tuple[Repo, Path, Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, manifest, cache, _ = setup
    text = manifest.read_text().replace(str(manifest.parent / "cluster"), str(manifest.parent / "gone"))
    manifest.write_text(text)
    assert main(["split", "--manifest", str(manifest), "--cache", str(cache), "fence-agents"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"error: cannot fetch file://{manifest.parent / 'gone'}: ")
    assert err[1] == "hint: check the component's split.repository in the manifest"


def test_real_manifest_dry_run(repo_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`split --all --dry-run` on components.yaml explains each component, offline."""
    assert main(["split", "--manifest", str(repo_root / "components.yaml"), "--cache", str(tmp_path / "c"),
                 "--all", "--dry-run", "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert reports
    for report in reports:
        assert report["actions"][0].startswith("would clone ")
        assert report["actions"][1].startswith("would split ")


def test_all_shows_progress_and_fetches_once(setup: tuple[Repo, Path, Path, Path],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    src, manifest, cache, _ = setup
    assert main(["split", "--manifest", str(manifest), "--cache", str(cache), "--all"]) == 0
    out, err = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()] == ["fence-agents", "cluster-docs"]
    lines = err.splitlines()
    assert lines[0] == "[1/2] fence-agents"
    assert "[2/2] cluster-docs" in lines
    assert sum("fetched" in line for line in lines) == 1
    assert out.splitlines()[0] == f"fence-agents {src.subtree_split('fence/agents', 'main')}"
