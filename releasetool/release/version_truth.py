"""Does the tree say the version being released, and does the tarball build as it?

Two checks, each against what the projects themselves read:

* :func:`claims` finds the literal versions a tagged tree states: ``AC_INIT``
  in configure.ac (a literal, not a ``m4_esyscmd`` of git-version-gen),
  pacemaker's ``m4/version.m4``, ``Version:`` of spec files at the top of the
  tree, ``version=`` of setup.py, ``version =`` of pyproject.toml's
  ``[project]``.  A release whose tree says another version is refused before
  anything is written, with the file and the line.
* :func:`built_version` unpacks a finished tarball and asks it: ``./configure
  --version`` (after the project's own bootstrap when the tarball has no
  configure), ``python3 setup.py --version``, or pyproject's version.  That is
  the version users get; it must equal the release's.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from releasetool import proc
from releasetool.errors import ReleaseError
from releasetool.release.tarball import Member

BOOTSTRAP_TIMEOUT = 900.0

# AC_INIT([name], [1.2.3], ...) or AC_INIT(name, 1.2.3, ...): the second argument, when it is a literal.
_AC_INIT = re.compile(r"^\s*AC_INIT\(\s*\[?[^],]*\]?\s*,\s*\[?([0-9][0-9A-Za-z.~+_-]*)\]?\s*[,)]", re.M)
_M4_VERSION = re.compile(r"^\s*m4_define\(\s*\[?VERSION_NUMBER\]?\s*,\s*\[?([0-9][0-9A-Za-z.~+_-]*)\]?\s*\)", re.M)
_SPEC_VERSION = re.compile(r"^Version:\s*([0-9][0-9A-Za-z.~+_-]*)\s*$", re.M)
_SETUP_VERSION = re.compile(r"""^\s*version\s*=\s*["']([0-9][^"']*)["']""", re.M)


@dataclass(frozen=True)
class Claim:
    """A version stated by a file of the tree."""

    path: str
    line: int
    version: str
    what: str  # "AC_INIT", "Version:", ...

    def where(self) -> str:
        return f"{self.path}:{self.line}"


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _show(repo: str | os.PathLike[str], commit: str, path: str) -> str | None:
    done = proc.run(["git", "-C", os.fspath(repo), "show", f"{commit}:{path}"], check=False)
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None


def claims(repo: str | os.PathLike[str], commit: str) -> list[Claim]:
    """Every literal version the tree of ``commit`` states, in the files the projects read it from."""
    top = set(proc.git(repo, "ls-tree", "--name-only", commit).splitlines())
    found: list[Claim] = []

    def scan(path: str, pattern: re.Pattern[str], what: str) -> None:
        text = _show(repo, commit, path)
        if text is None:
            return
        for match in pattern.finditer(text):
            found.append(Claim(path, _line_of(text, match.start(1)), match.group(1), what))

    for configure in ("configure.ac", "configure.in"):
        if configure in top:
            scan(configure, _AC_INIT, "AC_INIT")
    if "m4" in top:
        scan("m4/version.m4", _M4_VERSION, "VERSION_NUMBER")
    for spec in sorted(p for p in top if p.endswith(".spec")):
        scan(spec, _SPEC_VERSION, "Version:")
    if "setup.py" in top:
        scan("setup.py", _SETUP_VERSION, "version=")
    if "pyproject.toml" in top:
        text = _show(repo, commit, "pyproject.toml") or ""
        section = re.search(r"^\[project\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
        if section:
            match = _SETUP_VERSION.search(section.group(1))
            if match:
                found.append(Claim("pyproject.toml", _line_of(text, section.start(1) + match.start(1)),
                                   match.group(1), "[project] version"))
    return found


def disagreements(repo: str | os.PathLike[str], commit: str, version: str,
                  same: Callable[[str, str], bool]) -> list[str]:
    """One line per file of the tree that states a version other than ``version``.

    ``same(a, b)`` tells whether two spellings are the same version (2.1.0-rc1 and 2.1.0~rc1).
    """
    problems = []
    for claim in claims(repo, commit):
        if claim.version != version and not same(claim.version, version):
            problems.append(f"{claim.where()}: {claim.what} says {claim.version}, not {version} "
                            f"(commit the version change first, or release {claim.version})")
    return problems


def built_version(members: list[Member], *, name: str) -> str | None:
    """The version the tarball's files build as, or None when the tree has no way to tell.

    Unpacks ``members`` into a temporary directory and asks the tree the way
    a user's build would.
    """
    files = {m.path for m in members}
    autotools = bool(files & {"configure", "configure.ac", "configure.in"})
    if not autotools and "setup.py" not in files and "pyproject.toml" not in files:
        return None
    with tempfile.TemporaryDirectory(prefix=f"releasetool-probe-{name}-") as scratch:
        root = Path(scratch) / "tree"
        _unpack(members, root)
        if autotools:
            return _configure_version(root, files, name)
        if "setup.py" in files:
            done = proc.run(["python3", "setup.py", "--version"], cwd=root, check=False, timeout=300)
            lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
            return lines[-1].strip() if done.returncode == 0 and lines else None
        text = (root / "pyproject.toml").read_text(encoding="utf-8", errors="replace")
        section = re.search(r"^\[project\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
        match = _SETUP_VERSION.search(section.group(1)) if section else None
        return match.group(1) if match else None


def _configure_version(root: Path, files: set[str], name: str) -> str:
    env = proc.environment({"LC_ALL": "C"})
    if "configure" not in files:
        # the project's own bootstrap, as its build instructions say
        bootstrap = ["./autogen.sh"] if "autogen.sh" in files else ["autoreconf", "-fi"]
        done = proc.run(bootstrap, cwd=root, env=env, check=False, timeout=BOOTSTRAP_TIMEOUT)
        if done.returncode != 0 or not (root / "configure").exists():
            tail = (done.stderr or done.stdout or b"").decode("utf-8", "replace").strip().splitlines()[-5:]
            raise ReleaseError(f"{name}: `{' '.join(bootstrap)}` fails in the tarball, so its version is unknown:\n"
                               + "\n".join(f"  {line}" for line in tail),
                               hint="autoconf, automake and libtool come with `make setup`")
    done = proc.run(["sh", "./configure", "--version"], cwd=root, env=env, check=False, timeout=120)
    first = done.stdout.decode("utf-8", "replace").strip().splitlines()
    # "libqb configure 2.0.8" (autoconf's --version)
    if done.returncode != 0 or not first or " configure " not in f" {first[0]} ":
        raise ReleaseError(f"{name}: `./configure --version` in the tarball says nothing usable")
    return first[0].split()[-1]


def _unpack(members: list[Member], root: Path) -> None:
    for member in members:
        target = root / member.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if member.symlink:
            os.symlink(member.data.decode("utf-8", "surrogateescape"), target)
            continue
        target.write_bytes(member.data)
        target.chmod(0o755 if member.executable else 0o644)


def has_tool(program: str) -> bool:
    return shutil.which(program) is not None
