"""Upstream's own dist target: ``make dist`` (or the project's command) on a clean clone of the tagged commit.

Projects that publish ``make dist`` output (libqb, kronosnet, corosync) ship
files that are in no git tree: ``configure``, ``Makefile.in``, ``aclocal.m4``,
the ``build-aux`` helpers, ``.tarball-version`` and ``.version`` written by
``git-version-gen``, a ``ChangeLog`` generated from the history.  The only
faithful way to make that tarball is to run their dist target, so this module:

1. clones the component's repository with ``--shared`` (no object is copied,
   the tags come along so ``git describe`` and ``git-version-gen`` see the
   release tag) into a temporary directory and checks out the tagged commit;
2. runs the dist command there with ``SOURCE_DATE_EPOCH`` set to the commit
   time, ``TZ`` the manifest's ``dist_timezone`` (UTC unless upstream's zone
   is known: ``gitlog-to-changelog`` dates the ChangeLog in local time),
   ``LC_ALL=C`` and umask 022;
3. reads the ``NAME-VERSION.tar.*`` it made: every member under
   ``NAME-VERSION/``.

The files are then repacked by :func:`releasetool.release.tarball.pack`, so the
bytes depend on the files only; the files themselves depend on the autotools
that generated them, whose versions :func:`toolchain` records.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from releasetool import proc
from releasetool.errors import CommandError, ReleaseError
from releasetool.log import log
from releasetool.release.tarball import Member, archive_members, commit_time, members_of_tar

if TYPE_CHECKING:
    from releasetool.manifest import Component

AUTOTOOLS_DEFAULT = "./autogen.sh && ./configure && make dist"
AUTOTOOLS_NO_AUTOGEN = "autoreconf -fi && ./configure && make dist"
# The programs whose versions decide the bytes of generated files, and how to ask.
TOOLS = ("autoconf", "automake", "libtool", "m4", "make", "gettext", "pkg-config")
DIST_TIMEOUT = 1800.0


def default_command(tree_files: set[str]) -> str:
    """The autotools dist command for a tree with these top-level files."""
    return AUTOTOOLS_DEFAULT if "autogen.sh" in tree_files else AUTOTOOLS_NO_AUTOGEN


def command_for(comp: Component, repo: str | os.PathLike[str], commit: str) -> str:
    """The component's dist command: the manifest's, else the default for the tree of ``commit``."""
    return comp.dist_command or default_command(set(proc.git(repo, "ls-tree", "--name-only", commit).splitlines()))


def upstream_members(repo: str | os.PathLike[str], commit: str, name: str, version: str, tag: str, *,
                     method: str, command: str = "", timezone: str = "UTC") -> tuple[list[Member], dict[str, object]]:
    """The files of the release tarball made with ``method`` (git-archive or dist), and how they were made."""
    if method == "dist":
        members, made = dist_members(repo, commit, name, version, command, tag=tag, timezone=timezone)
        return members, {"command": command, "timezone": timezone, "dist_output": made, "toolchain": toolchain()}
    return archive_members(repo, commit, tag), {"git": proc.output(["git", "--version"])}


def toolchain() -> dict[str, str]:
    """The first line of ``TOOL --version`` for each tool installed (absent ones are left out)."""
    found: dict[str, str] = {}
    for tool in TOOLS:
        if shutil.which(tool) is None:
            continue
        done = proc.run([tool, "--version"], check=False)
        first = (done.stdout or done.stderr).decode("utf-8", "replace").strip().splitlines()
        if done.returncode == 0 and first:
            found[tool] = first[0].strip()
    return found


def dist_members(repo: str | os.PathLike[str], commit: str, name: str, version: str, command: str,
                 *, tag: str, timezone: str = "UTC", keep: Path | None = None) -> tuple[list[Member], str]:
    """The files of the dist tarball made by ``command`` at ``commit``, and the tarball's file name.

    The clone gets the release tag ``tag`` (annotated, as ``git describe``
    without ``--tags`` wants it) when the repository does not have it yet: the
    tarball is made before the real tag, and a version taken from ``git
    describe`` must already be the release's.

    ``keep`` (a directory) keeps the clone there instead of a temporary one,
    for looking into a failed dist.
    """
    scratch = Path(tempfile.mkdtemp(prefix=f"releasetool-dist-{name}-")) if keep is None else keep
    tree = scratch / "tree"
    try:
        shutil.rmtree(tree, ignore_errors=True)
        proc.run(["git", "clone", "-q", "--shared", "--no-checkout", os.fspath(repo), str(tree)])
        proc.run(["git", "-C", str(tree), "-c", "advice.detachedHead=false", "checkout", "-q", "--detach", commit])
        epoch = commit_time(repo, commit)
        if proc.run(["git", "-C", str(tree), "rev-parse", "-q", "--verify", f"refs/tags/{tag}"],
                    check=False).returncode != 0:
            stamp = f"@{epoch} +0000"
            identity = {"GIT_COMMITTER_NAME": "releasetool", "GIT_COMMITTER_EMAIL": "releasetool@localhost",
                        "GIT_COMMITTER_DATE": stamp}
            proc.run(["git", "-C", str(tree), "tag", "-a", "-m", f"{name} {version}", tag, commit],
                     env=proc.environment(identity))
        env = proc.environment({"SOURCE_DATE_EPOCH": str(epoch), "TZ": timezone, "LC_ALL": "C"},
                               drop=("MAKEFLAGS", "CFLAGS", "CPPFLAGS", "LDFLAGS"))
        log.info("%s %s: running `%s` in a clean clone of %s", name, version, command, commit[:12])
        done = proc.run(["sh", "-c", f"umask 022 && {command}"], cwd=tree, env=env, check=False,
                        timeout=DIST_TIMEOUT)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout or b"").decode("utf-8", "replace").strip().splitlines()[-15:]
            raise ReleaseError(
                f"{name}: the dist command `{command}` failed with status {done.returncode} at {commit[:12]}:\n"
                + "\n".join(f"  {line}" for line in tail),
                hint="run it by hand in a clean clone of the tag; a missing tool is installed by `make setup`",
            )
        made = sorted(glob.glob(str(tree / f"{glob.escape(name)}-{glob.escape(version)}.tar.*")))
        if not made:
            others = sorted(p.name for p in tree.glob("*.tar.*"))
            raise ReleaseError(
                f"{name}: `{command}` made no {name}-{version}.tar.* at the top of the tree"
                + (f" (it made {', '.join(others)})" if others else ""),
                hint=f"the tarball's version comes from the tree: check that the tree says {version} "
                     "(configure.ac, .tarball-version, git describe)",
            )
        chosen = _preferred(made)
        members = members_of_tar(Path(chosen).read_bytes(), top=f"{name}-{version}", where=chosen)
        return members, Path(chosen).name
    except CommandError as exc:
        raise ReleaseError(f"{name}: cannot prepare the clean clone for the dist: {exc.message}") from None
    finally:
        if keep is None:
            shutil.rmtree(scratch, ignore_errors=True)


def _preferred(paths: list[str]) -> str:
    """xz over bz2 over gz when the dist target made several (the files inside are the same)."""
    rank = {".xz": 0, ".bz2": 1, ".gz": 2}
    return min(paths, key=lambda p: (rank.get(Path(p).suffix, 9), p))
