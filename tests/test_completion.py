"""The generated bash and zsh completions, driven in real shells."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from releasetool.cli import build_parser, docgen


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    docgen.write_all(out, date="2026-01-01")
    return out


def bash_complete(script: Path, words: list[str], cwd: Path | None = None) -> list[str]:
    """What bash's completion function offers for the command line ``words`` (the last word is being typed)."""
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    program = (f"source '{script}'\nCOMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}\n"
               "_releasetool; printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, text=True,
                          check=True, cwd=cwd)
    return [line for line in done.stdout.splitlines() if line]


def test_bash_completes_commands_subcommands_and_options(generated: Path) -> None:
    script = generated / "releasetool"
    assert bash_complete(script, ["releasetool", "rel"]) == ["release"]
    assert sorted(bash_complete(script, ["releasetool", "obs", "su"])) == ["submit", "submitreq"]
    assert "--tarballs" in bash_complete(script, ["releasetool", "obs", "submit", "--"])
    assert "--tarballs" not in bash_complete(script, ["releasetool", "validate", "--"])
    assert bash_complete(script, ["releasetool", "render", "--format", ""]) == ["spec", "debian", "both"]
    assert bash_complete(script, ["releasetool", "versions", "compare", "--scheme", "p"]) == ["pep440"]


def test_bash_offers_files_for_a_file_option(generated: Path, tmp_path: Path) -> None:
    (tmp_path / "components.yaml").write_text("")
    (tmp_path / "other.txt").write_text("")
    found = bash_complete(generated / "releasetool", ["releasetool", "--manifest", "comp"], cwd=tmp_path)
    assert found == ["components.yaml"]


def test_every_command_of_the_parser_is_completed(generated: Path) -> None:
    script = generated / "releasetool"
    commands = set(bash_complete(script, ["releasetool", ""]))
    assert {name for name in docgen.command_tree(build_parser()).subcommands
            for name in [name.words[0]]} <= commands


_TMUX_SERVERS = itertools.count()


def _tmux_zsh(home: Path, keys: str) -> str:
    """Type ``keys`` and TAB into an interactive zsh with the completion loaded; the screen after.

    The tmux server is the test's own (its socket in ``home``): never the user's, and never
    one that another test's last session is shutting down.
    """
    tmux = ["tmux", "-S", str(home / f"tmux{next(_TMUX_SERVERS)}")]  # a new server each time (short: a socket path)
    session = f"rt-zsh-{os.getpid()}-{time.monotonic_ns()}"
    env = f"env -i HOME={home} ZDOTDIR={home} PATH={home / 'bin'}:/usr/bin:/bin TERM=xterm zsh -i"
    subprocess.run([*tmux, "new-session", "-d", "-s", session, "-x", "160", "-y", "20", env], check=True)
    try:
        screen = ""
        for _ in range(50):  # wait for the prompt
            screen = subprocess.run([*tmux, "capture-pane", "-t", session, "-p"], capture_output=True,
                                    text=True, check=True).stdout
            if screen.strip().startswith(">"):
                break
            time.sleep(0.1)
        subprocess.run([*tmux, "send-keys", "-t", session, keys, "Tab"], check=True)
        wanted = screen
        for _ in range(50):  # wait for the completion to be drawn
            time.sleep(0.1)
            wanted = subprocess.run([*tmux, "capture-pane", "-t", session, "-p"], capture_output=True,
                                    text=True, check=True).stdout
            if wanted.splitlines() and wanted.splitlines()[0].strip() != f"> {keys}".strip():
                break
        return wanted
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


@pytest.fixture
def zsh_home(tmp_path: Path, generated: Path) -> Path:
    assert shutil.which("zsh") and shutil.which("tmux"), "make setup installs zsh and tmux"
    (tmp_path / "bin").mkdir()
    stub = tmp_path / "bin" / "releasetool"  # completion needs the command to exist on PATH
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    (tmp_path / ".zshrc").write_text(f"PS1='> '\nfpath=({generated} $fpath)\nautoload -Uz compinit && compinit -u -D\n")
    return tmp_path


def test_zsh_completes_a_subcommand(zsh_home: Path) -> None:
    screen = _tmux_zsh(zsh_home, "releasetool site bui")
    assert screen.splitlines()[0].rstrip() == "> releasetool site build"


def test_zsh_completes_an_option_and_its_choices(zsh_home: Path) -> None:
    screen = _tmux_zsh(zsh_home, "releasetool render --form")
    assert screen.splitlines()[0].rstrip() == "> releasetool render --format"
    screen = _tmux_zsh(zsh_home, "releasetool render --format deb")
    assert screen.splitlines()[0].rstrip() == "> releasetool render --format debian"


def test_manual_page_describes_every_command(generated: Path) -> None:
    page = (generated / "releasetool.1").read_text()
    for command in docgen.walk(docgen.command_tree(build_parser()))[1:]:
        assert f".SS {' '.join(command.words)}".replace("-", "\\-") in page
    checked = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(generated / "releasetool.1")],
                             capture_output=True, text=True)
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr
