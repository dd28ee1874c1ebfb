"""train: a coordinated release of several components, all checks first, resumable."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_release_support import Setup, commit, git, make_setup

from releasetool.cli import main
from releasetool.errors import ReleasetoolError
from releasetool.release import history, train

TRAIN = """\
# barfoo is listed first; libfoo, which it depends on, is released first.
releases:
  barfoo: 2.1.0
  libfoo: 1.1.0
out: dist
"""


def make_barfoo(root: Path) -> Path:
    repo = root / "barfoo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, {"main.c": "int main;\n"}, "Initial import")
    git(repo, "tag", "-a", "barfoo-2.0.0", "-m", "barfoo 2.0.0")
    commit(repo, {"main.c": "int main(void);\n"}, "fix: declare main properly")
    return repo


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    s = make_setup(tmp_path)
    make_barfoo(s.root)
    (s.root / "train.yaml").write_text(TRAIN)
    return s


def train_args(s: Setup, *extra: str) -> list[str]:
    return ["train", "--manifest", str(s.manifest), str(s.root / "train.yaml"), *extra]


def test_dry_run_plans_in_dependency_order(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    before = setup.manifest.read_bytes()
    assert main(train_args(setup, "--dry-run")) == 0
    out = capsys.readouterr().out
    starts = [line for line in out.splitlines() if line.startswith("release ")]
    assert starts == ["release libfoo 1.1.0 (rpm scheme)", "release barfoo 2.1.0 (semver scheme)"]
    assert "  tag         barfoo-2.1.0 -> " in out
    assert setup.manifest.read_bytes() == before
    assert not setup.out.exists()


def test_train_releases_every_component(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(train_args(setup)) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "[1/2] libfoo 1.1.0"
    assert "[2/2] barfoo 2.1.0" in err
    text = setup.manifest.read_text()
    assert 'version: "1.1.0"' in text and "version: 2.1.0\n" in text
    assert (setup.out / "barfoo-2.1.0" / "barfoo-2.1.0.tar.gz").exists()
    assert (setup.out / "libfoo-1.1.0" / "libfoo-1.1.0.tar.xz").exists()
    assert history.load(setup.root, "barfoo")[0].changes[0].subject == "declare main properly"
    # Again: nothing to do for either.
    assert main(train_args(setup)) == 0
    assert capsys.readouterr().err.splitlines()[-2:] == [
        "libfoo 1.1.0 is already released (tag v1.1.0); nothing to do",
        "barfoo 2.1.0 is already released (tag barfoo-2.1.0); nothing to do",
    ]


def test_one_failing_component_stops_the_whole_train(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    (setup.root / "barfoo" / "main.c").write_text("dirty\n")
    (setup.root / "train.yaml").write_text(TRAIN.replace("libfoo: 1.1.0", "libfoo: 0.1.0"))
    before = setup.manifest.read_bytes()

    assert main(train_args(setup)) == 2

    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"error: train {setup.root / 'train.yaml'}: 2 checks failed; nothing was released",
        "  libfoo: version 0.1.0 is not greater than the latest release 1.0.0 (tag v1.0.0) (--force overrides)",
        f"  barfoo: {setup.root / 'barfoo'} has uncommitted changes: main.c (commit or stash them)",
        "hint: fix the problems above and run the train again",
    ]
    assert setup.manifest.read_bytes() == before
    assert git(setup.repo, "tag", "-l", "v0.1.0") == ""
    assert not setup.out.exists()


@pytest.mark.slow  # kills processes
def test_sigkill_in_the_second_component_then_rerun(setup: Setup, tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "git").write_text(
        "#!/bin/sh\n"
        'case "$*" in *"archive --format=tar"*)\n'
        '  n=$(cat "$COUNT" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$COUNT"\n'
        '  [ "$n" -eq 2 ] && { kill -9 "$PPID"; exit 1; } ;;\n'
        "esac\n"
        f'exec {shutil.which("git")} "$@"\n'
    )
    (bindir / "git").chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "COUNT": str(tmp_path / "count")}
    done = subprocess.run([sys.executable, "-m", "releasetool", *train_args(setup)], env=env, capture_output=True)
    assert done.returncode == -signal.SIGKILL
    # killed while making barfoo's archive: libfoo is done, barfoo not even tagged
    assert git(setup.root / "libfoo", "tag", "-l", "v1.1.0") == "v1.1.0"
    assert (setup.out / "libfoo-1.1.0" / "libfoo-1.1.0.tar.gz").exists()
    assert git(setup.root / "barfoo", "tag", "-l", "barfoo-2.1.0") == ""
    assert not (setup.out / "barfoo-2.1.0" / "barfoo-2.1.0.tar.gz").exists()

    assert main(train_args(setup)) == 0
    assert (setup.out / "barfoo-2.1.0" / "barfoo-2.1.0.tar.gz").exists()
    assert "version: 2.1.0\n" in setup.manifest.read_text()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("releases:\n  libfoo: 1.1.0\nrepo:\n  libfoo: x\n",
         "  {train}: unknown key 'repo' (did you mean 'repos'?) (allowed: releases, repos, out)"),
        ("releases: {}\n", "  {train}: releases: must map at least one component name to a version"),
        ("releases:\n  libfoo: {a: 1}\n", "  {train}: releases.libfoo: the version must be a string"),
        ("releases:\n  libfoo: 1.1.0\nrepos:\n  barfoo: x\n", "  {train}: repos.barfoo: barfoo is not in releases"),
        ("- just a list\n", "error: {train}: expected a mapping with 'releases: {{name: version}}'"),
        ("releases: [\n", "error: {train}:2: YAML syntax error: "),
        ("releases:\n  libfo: 1.1.0\n", "  {train}: releases.libfo: no such component in {manifest} (did you mean 'libfoo'?)"),
    ],
    ids=["unknown-key", "empty", "not-a-string", "repo-not-released", "not-a-mapping", "syntax", "unknown-component"],
)
def test_bad_train_files(setup: Setup, capsys: pytest.CaptureFixture[str], text: str, expected: str) -> None:
    train = setup.root / "train.yaml"
    train.write_text(text)
    assert main(train_args(setup)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    wanted = expected.format(train=train, manifest=setup.manifest)
    assert any(line.startswith(wanted) for line in err.splitlines()), err


def test_versions_stay_text(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    (setup.root / "train.yaml").write_text("releases:\n  libfoo: 1.10\nrepos:\n  libfoo: libfoo\n")
    assert main(train_args(setup, "--dry-run")) == 0
    assert capsys.readouterr().out.startswith("release libfoo 1.10 (rpm scheme)")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(
    st.text(max_size=200),
    st.builds(lambda k, v: f"releases:\n  {k}: {v}\n", st.text(max_size=20), st.text(max_size=20)),
    st.sampled_from(["releases:\n  libfoo: 1.0\n", "out: [1]\n", "releases: !!binary AAAA\n", "&a [*a]\n"]),
))
def test_train_loader_never_crashes(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("hostile") / "train.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        train.load_train(path)
    except ReleasetoolError as exc:
        assert exc.message.startswith(str(path))
