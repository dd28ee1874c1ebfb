"""Helpers for the release tests: a manifest and real component repositories in tmp_path."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

HEADER = """\
schema: 1
distribution:
  name: Test distribution
  obs_project: home:test
  packager: Release Team <release@example.org>
targets:
  - name: Debian_12
    label: Debian 12
    family: deb
    project: Debian:12
    repository: standard
    archs: [x86_64]
components:
"""

MANIFEST = "# Test manifest for releases.\n" + HEADER + """\
  - name: libfoo
    summary: A library
    description: A library.
    homepage: https://github.com/example/libfoo
    license: LGPL-2.1-or-later
    git: https://example.org/libfoo.git
    tag_pattern: v{version}
    version_scheme: rpm
    version: "1.0.0"   # keep this comment
    released: 2024-01-02
    tarball_formats: [gz, xz]
    packaging:
      init_scripts: [libfoo]
  - name: barfoo
    summary: A daemon
    description: A daemon.
    homepage: https://example.org/barfoo
    license: GPL-2.0-or-later
    git: https://example.org/barfoo.git
    tag_pattern: barfoo-{version}
    version_scheme: semver
    version: 2.0.0
    released: 2024-02-03
    depends: [libfoo]
    packaging: {}
"""

GOOD_INIT = """\
#!/bin/sh
### BEGIN INIT INFO
# Provides:          libfoo
# Required-Start:    $remote_fs $syslog
# Required-Stop:     $remote_fs $syslog
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: libfoo helper daemon
# Description:       Starts the libfoo helper
#                    daemon.
### END INIT INFO

case "$1" in
  start) echo start ;;
  stop) echo stop ;;
  restart|force-reload) echo restart ;;
  status) echo status ;;
  *) echo "Usage: $0 {start|stop|restart|force-reload|status}" >&2; exit 3 ;;
esac
"""


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    return done.stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str, *, author: str = "Ann Dev <ann@example.org>",
           date: str = "2024-05-01T10:00:00+00:00", executable: tuple[str, ...] = ()) -> str:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if name in executable:
            path.chmod(0o755)
    git(repo, "add", "-A")
    who, mail = author.split(" <")
    env = {"GIT_AUTHOR_NAME": who, "GIT_AUTHOR_EMAIL": mail.rstrip(">"), "GIT_AUTHOR_DATE": date,
           "GIT_COMMITTER_DATE": date}
    git(repo, "commit", "-q", "-m", message, env=env)
    return git(repo, "rev-parse", "HEAD")


@dataclass
class Setup:
    root: Path
    manifest: Path
    repo: Path  # libfoo
    out: Path

    def args(self, *extra: str) -> list[str]:
        return ["release", "--manifest", str(self.manifest), "libfoo", *extra, "--repo", str(self.repo),
                "--out", str(self.out)]


def make_libfoo(root: Path) -> Path:
    repo = root / "libfoo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    commit(repo, {"README": "libfoo\n", "src/foo.c": "int foo;\n", "init/libfoo": GOOD_INIT},
           "Initial import", executable=("init/libfoo",), date="2024-01-01T10:00:00+00:00")
    git(repo, "tag", "-a", "v1.0.0", "-m", "libfoo 1.0.0")
    commit(repo, {"src/foo.c": "int foo = 1;\n"}, "fix: crash on empty input", author="Bob Fixer <bob@example.org>",
           date="2024-03-01T10:00:00+00:00")
    commit(repo, {"src/bar.c": "int bar;\n"}, "feat(ipc): add bar", date="2024-03-02T10:00:00+00:00")
    commit(repo, {"docs/x.md": "x\n"}, "Update documentation\n\nType: doc\n", date="2024-03-03T10:00:00+00:00")
    (repo / "link").symlink_to("src/foo.c")
    commit(repo, {}, "chore: add a link", date="2024-03-04T10:00:00+00:00")
    return repo


def make_setup(tmp_path: Path) -> Setup:
    root = tmp_path / "work"
    root.mkdir()
    manifest = root / "components.yaml"
    manifest.write_text(MANIFEST)
    repo = make_libfoo(root)
    return Setup(root=root, manifest=manifest, repo=repo, out=root / "dist")


def copy_setup(made: Path, tmp_path: Path) -> Setup:
    """A copy of a tree ``make_setup`` made (and a module fixture may have released from), for one test.

    Making the repositories once per module and copying them is much cheaper than
    one git run per commit per test; nothing in the tree names its directory.
    """
    root = tmp_path / "work"
    shutil.copytree(made, root, symlinks=True)
    return Setup(root=root, manifest=root / "components.yaml", repo=root / "libfoo", out=root / "dist")
