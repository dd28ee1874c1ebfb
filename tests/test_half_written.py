"""Nothing half-written: every check before the first write, clean errors for bad inputs, no kill leftovers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from test_release_support import Setup, git, make_setup

from releasetool.cli import main

BINARY = bytes(range(0x80, 0x100)) * 4


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return make_setup(tmp_path)


def _written(s: Setup) -> dict[str, object]:
    return {"tags": git(s.repo, "tag", "-l"), "out": s.out.exists() and sorted(map(str, s.out.rglob("*"))),
            "manifest": s.manifest.read_bytes()}


@pytest.mark.parametrize("history", [b"{not json", BINARY, b"[" * 100_000, b'{"releases": [{"version": 1}]}',
                                     b"[1, 2]"])
def test_release_with_a_corrupt_history_writes_nothing(setup: Setup, history: bytes,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = setup.root / "history" / "libfoo.json"
    path.parent.mkdir()
    path.write_bytes(history)
    before = _written(setup)
    assert main(setup.args("1.1.0")) == 2
    err = capsys.readouterr().err
    assert f"libfoo: {path}: " in err and "restore it from git" in err
    assert "internal error" not in err
    assert _written(setup) == before  # no tag, no tarball, no manifest change


@pytest.mark.parametrize("where", ["out", "parent"])
def test_release_out_on_a_regular_file_writes_nothing(setup: Setup, where: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    blocker = setup.out if where == "out" else setup.out.parent / "file"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file, not a directory\n")
    args = setup.args("1.1.0")
    if where == "parent":
        args[args.index("--out") + 1] = str(blocker / "dist")
    tags = git(setup.repo, "tag", "-l")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"libfoo: cannot write the release files: {blocker} is a regular file" in err
    assert git(setup.repo, "tag", "-l") == tags
    assert blocker.read_text() == "a file, not a directory\n"


def _cli(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "releasetool", *argv], capture_output=True, text=True, cwd=cwd,
                          timeout=60, check=False)


def test_bad_input_files_are_clean_errors(tmp_path: Path, repo_root: Path) -> None:
    manifest = str(repo_root / "components.yaml")
    binary = tmp_path / "binary"
    binary.write_bytes(BINARY)
    directory = tmp_path / "dir"
    directory.mkdir()
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    not_ini = tmp_path / "oscrc"
    not_ini.write_text("user: alice\n")
    users = tmp_path / "users"
    users.write_text("Admin:a-password\n")
    serve = ["obs", "serve", "--users-file", str(users), "--root", str(tmp_path / "obs")]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cases = {
            "obs submit --config binary": ["obs", "submit", "libqb", "--config", str(binary), "--dry-run"],
            "obs submit --config dir": ["obs", "submit", "libqb", "--config", str(directory), "--dry-run"],
            "site discover --obs-config binary": ["site", "discover", "libqb", "--obs-config", str(binary),
                                                  "--obs-api", "http://127.0.0.1:9", "--cache", str(tmp_path / "c")],
            "obs serve --faults binary": [*serve, "--port", "0", "--faults", str(binary)],
            "obs serve on a port in use": [*serve, "--port", str(port)],
            "obs serve --port 99999": [*serve, "--port", "99999"],
            "render --out a file": ["render", "libqb", "--out", str(binary)],
            "site build --out a file": ["site", "build", "--out", str(binary)],
            "bundle --out a file": ["bundle", "--out", str(binary)],
            "site build --data binary": ["site", "build", "--data", str(binary), "--out", str(tmp_path / "s")],
            "--manifest binary": ["--manifest", str(binary), "validate"],
            "obs submit --config not INI": ["obs", "submit", "libqb", "--config", str(not_ini), "--dry-run"],
            "obs serve --faults deep": [*serve, "--port", "0", "--faults", str(deep)],
            "train deep": ["train", str(deep), "--dry-run"],
            "site discover --cache a file": ["site", "discover", "--offline", "--cache", str(binary)],
            "site discover --timeout nan": ["site", "discover", "--offline", "--timeout", "nan"],
            "site discover --timeout inf": ["site", "discover", "--offline", "--timeout", "inf"],
        }
        refused = {}
        for what, argv in cases.items():
            done = _cli("--manifest", manifest, *argv, cwd=tmp_path) if argv[0] != "--manifest" else _cli(*argv)
            lines = done.stderr.splitlines()
            refused[what] = (done.returncode, lines[0] if lines else "")
            assert done.returncode == 2, (what, done.stderr)
            assert lines[0].startswith("error: ") and "internal error" not in done.stderr, (what, done.stderr)
            assert len(lines) <= 3 and "Traceback" not in done.stderr, (what, done.stderr)
    assert refused["obs serve on a port in use"][1] == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use")
    assert refused["obs serve --faults binary"][1] == f"error: --faults {binary}: not UTF-8 text (byte 0x80 at offset 0)"
    assert not (tmp_path / "obs").exists() or not any((tmp_path / "obs").iterdir())


@pytest.mark.slow  # kills a process
def test_render_rerun_removes_the_temporaries_of_a_killed_run(tmp_path: Path, repo_root: Path) -> None:
    """Killed between writing a temporary file and renaming it into place: the rerun cleans up."""
    out = tmp_path / "out"
    script = f"""
import os, signal, sys
real = os.replace
calls = []
def dying(src, dst):
    if str(dst).startswith({str(out)!r}):
        calls.append(dst)
    if len(calls) == 5:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst)
os.replace = dying
from releasetool.cli import main
sys.exit(main(["--manifest", {str(repo_root / "components.yaml")!r}, "render", "--all", "--out", {str(out)!r}]))
"""
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert killed.returncode == -9, killed.stderr
    strays = [p for p in out.rglob(".*.tmp")]
    assert len(strays) == 1  # the file being renamed when the kill came
    done = _cli("--manifest", str(repo_root / "components.yaml"), "render", "--all", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "left by an interrupted run" in done.stderr
    assert list(out.rglob("*.tmp")) == []
    reference = tmp_path / "reference"
    assert _cli("--manifest", str(repo_root / "components.yaml"), "render", "--all", "--out",
                str(reference)).returncode == 0
    assert _tree(out) == _tree(reference)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".render.")}


@pytest.mark.parametrize("command", ["render", "site", "bundle", "release"])
def test_out_symlink_is_followed_by_every_command(setup: Setup, command: str, repo_root: Path) -> None:
    """The files land in the directory the link points at; the link stays (twice: a re-run too)."""
    target = setup.root / "real"
    target.mkdir()
    link = setup.root / "link"
    link.symlink_to(target)
    if command == "bundle":
        assert main(setup.args("1.1.0")) == 0
    argv = {"render": ["--manifest", str(repo_root / "components.yaml"), "render", "libqb", "--out", str(link)],
            "site": ["site", "build", "--out", str(link), "--data", str(setup.root / "none.json")],
            "bundle": ["bundle", "--out", str(link), "--from", str(setup.out), "--allow-missing"],
            "release": [*setup.args("1.1.0")[:-1], str(link)]}[command]
    for _ in range(2):
        done = _cli("--manifest", str(setup.manifest), *argv, cwd=setup.root)
        assert done.returncode == 0, done.stderr
        assert link.is_symlink() and os.readlink(link) == str(target)
        assert any(target.iterdir())


def test_out_dangling_symlink_is_refused(tmp_path: Path, repo_root: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "gone")
    for argv in (["render", "libqb"], ["site", "build"], ["bundle"]):
        done = _cli("--manifest", str(repo_root / "components.yaml"), *argv, "--out", str(link), cwd=tmp_path)
        assert done.returncode == 2, (argv, done.stderr)
        assert f"is a symbolic link to {tmp_path / 'gone'}, which does not exist" in done.stderr
    assert not (tmp_path / "gone").exists()
