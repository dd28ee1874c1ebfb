"""Release tarballs made the way upstream makes them: git archive with .gitattributes, or make dist.

Generated repositories stand in for the upstream trees: a project whose
version comes from `$Format:%d$` (booth's scheme), an autotools project whose
version comes from `git describe` through a version script and
`.tarball-version` (libqb's scheme), and trees whose configure.ac or spec file
state another version than the one being released (sbd's case).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from test_release_support import HEADER, commit, git

from releasetool.cli import main

MANIFEST = HEADER.replace("{", "{{").replace("}", "}}") + """\
  - name: {name}
    summary: A component
    description: A component.
    homepage: https://example.org/{name}
    license: GPL-2.0-or-later
    git: https://example.org/{name}.git
    tag_pattern: v{{version}}
    version_scheme: rpm
    version: "1.0.0"
    released: 2024-01-02
    tarball_formats: [gz, xz]
{extra}    packaging:
      build_system: autotools
"""

# A version script of the git-version-gen kind: the file named by $1 in a
# tarball, else `git describe` of the nearest annotated v* tag, else UNKNOWN.
VERSION_SCRIPT = """\
#!/bin/sh
if [ -f "$1" ]; then tr -d '\\n' < "$1"; exit 0; fi
v=$(git describe --match 'v*' 2>/dev/null) || { printf UNKNOWN; exit 0; }
printf '%s' "${v#v}"
"""

DESCRIBED_CONFIGURE_AC = """\
AC_INIT([gvg], m4_esyscmd([build-aux/version-from-git .tarball-version]), [dev@example.org])
AM_INIT_AUTOMAKE([foreign dist-xz])
AC_CONFIG_FILES([Makefile])
AC_OUTPUT
"""

DESCRIBED_MAKEFILE_AM = """\
EXTRA_DIST = build-aux/version-from-git
dist-hook:
\techo $(VERSION) > $(distdir)/.tarball-version
"""


def make_repo(root: Path, name: str, files: dict[str, str], executable: tuple[str, ...] = ()) -> Path:
    repo = root / name
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    commit(repo, files, "Initial import", executable=executable, date="2024-01-01T10:00:00+00:00")
    git(repo, "tag", "-a", "v1.0.0", "-m", f"{name} 1.0.0")
    commit(repo, {"NEWS": "1.1.0: better\n"}, "feat: better", date="2024-03-01T10:00:00+00:00")
    return repo


def write_manifest(root: Path, name: str, extra: str = "") -> Path:
    path = root / "components.yaml"
    path.write_text(MANIFEST.format(name=name, extra=extra))
    return path


def release_args(manifest: Path, name: str, repo: Path, out: Path, *extra: str) -> list[str]:
    return ["release", "--manifest", str(manifest), name, "1.1.0", "--repo", str(repo), "--out", str(out), *extra]


def members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def test_export_subst_and_export_ignore_are_applied(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "boo", {
        ".gitattributes": ".gitarchivever export-subst\nprivate/ export-ignore\n.gitattributes export-ignore\n",
        ".gitarchivever": "ref names: $Format:%d$\n",
        "private/notes.txt": "not for the tarball\n",
        "src/boo.c": "int boo;\n",
    })
    manifest = write_manifest(tmp_path, "boo")
    assert main(release_args(manifest, "boo", repo, tmp_path / "dist")) == 0
    ours = members(tmp_path / "dist" / "boo-1.1.0" / "boo-1.1.0.tar.gz")
    # the version a project reads from .gitarchivever: the tag, whatever branches this clone has
    assert ours["boo-1.1.0/.gitarchivever"] == b"ref names:  (tag: v1.1.0)\n"
    assert not any(n.startswith("boo-1.1.0/private") for n in ours)
    # the same files and contents as git's own archive of the tag (its %d also names this clone's branch)
    theirs_raw = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", "--prefix=boo-1.1.0/", "v1.1.0"],
                                check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(theirs_raw)) as tar:
        theirs = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
    assert set(ours) == set(theirs)
    assert {n: d for n, d in ours.items() if not n.endswith(".gitarchivever")} == \
        {n: d for n, d in theirs.items() if not n.endswith(".gitarchivever")}
    assert b"tag: v1.1.0" in theirs["boo-1.1.0/.gitarchivever"]


def test_a_literal_version_that_disagrees_is_refused_with_file_and_line(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path, "lit", {
        "configure.ac": "dnl the version\nAC_INIT([lit], [1.0.0], [dev@example.org])\nAC_OUTPUT\n",
        "lit.spec": "Name: lit\nVersion: 1.0.0\nRelease: 1\n",
    })
    manifest = write_manifest(tmp_path, "lit")
    assert main(release_args(manifest, "lit", repo, tmp_path / "dist")) == 2
    err = capsys.readouterr().err
    assert "lit: configure.ac:2: AC_INIT says 1.0.0, not 1.1.0" in err
    assert "lit: lit.spec:2: Version: says 1.0.0, not 1.1.0" in err
    assert git(repo, "tag", "-l", "v1.1.0") == ""
    assert not (tmp_path / "dist").exists()
    # once the tree says 1.1.0 the release goes through, and its tarball builds as 1.1.0
    commit(repo, {"configure.ac": "dnl the version\nAC_INIT([lit], [1.1.0], [dev@example.org])\nAC_OUTPUT\n",
                  "lit.spec": "Name: lit\nVersion: 1.1.0\nRelease: 1\n"}, "Version 1.1.0")
    assert main(release_args(manifest, "lit", repo, tmp_path / "dist")) == 0
    info = json.loads((tmp_path / "dist" / "lit-1.1.0" / "lit-1.1.0.buildinfo.json").read_text())
    assert info["builds_as"] == "1.1.0"


@pytest.fixture
def described(tmp_path: Path) -> Path:
    """An autotools project whose version comes from git describe (git archive) or .tarball-version (dist)."""
    return make_repo(tmp_path, "gvg", {
        "configure.ac": DESCRIBED_CONFIGURE_AC,
        "Makefile.am": DESCRIBED_MAKEFILE_AM,
        "build-aux/version-from-git": VERSION_SCRIPT,
        "autogen.sh": "#!/bin/sh\nautoreconf -fi\n",
    }, executable=("build-aux/version-from-git", "autogen.sh"))


@pytest.mark.slow  # runs the autotools
def test_git_archive_of_a_described_version_builds_as_unknown_and_is_refused(
        described: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write_manifest(tmp_path, "gvg")
    assert main(release_args(manifest, "gvg", described, tmp_path / "dist")) == 2
    err = capsys.readouterr().err
    assert "error: gvg: the tarball of v1.1.0 builds as version UNKNOWN, not 1.1.0" in err
    assert git(described, "tag", "-l", "v1.1.0") == ""  # refused before the tag
    assert not (tmp_path / "dist").exists()


@pytest.mark.slow  # runs the autotools
def test_dist_tarball_has_the_generated_files_and_builds_as_the_release(described: Path, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, "gvg", extra="    tarball_method: dist\n")
    assert main(release_args(manifest, "gvg", described, tmp_path / "dist")) == 0
    release_dir = tmp_path / "dist" / "gvg-1.1.0"
    files = members(release_dir / "gvg-1.1.0.tar.xz")
    for generated in ("configure", "Makefile.in", "aclocal.m4", "install-sh", "missing"):
        assert f"gvg-1.1.0/{generated}" in files
    assert files["gvg-1.1.0/.tarball-version"] == b"1.1.0\n"
    info = json.loads((release_dir / "gvg-1.1.0.buildinfo.json").read_text())
    assert info["method"] == "dist" and info["command"] == "./autogen.sh && ./configure && make dist"
    assert info["dist_output"] == "gvg-1.1.0.tar.xz" and info["builds_as"] == "1.1.0"
    assert info["toolchain"]["autoconf"].startswith("autoconf (GNU Autoconf)")
    assert info["toolchain"]["automake"].startswith("automake (GNU automake)")
    # the tag was made only after the tarball: one annotated tag on the released commit
    assert git(described, "cat-file", "-t", "v1.1.0") == "tag"


def _release_in_subprocess(tmp_path: Path, described: Path, label: str, *, env: dict[str, str],
                           prefix: list[str]) -> str:
    work = tmp_path / label
    repo_copy = work / "gvg"
    subprocess.run(["git", "clone", "-q", str(described), str(repo_copy)], check=True)
    manifest = write_manifest(work, "gvg", extra="    tarball_method: dist\n")
    code = ("import os, sys\nos.umask(int(sys.argv[1], 8))\nfrom releasetool.cli import main\n"
            "sys.exit(main(sys.argv[2:]))\n")
    done = subprocess.run([*prefix, sys.executable, "-c", code, env.pop("UMASK"),
                           *release_args(manifest, "gvg", repo_copy, work / "dist", "--packager", "R <r@example.org>")],
                          env={**os.environ, **env}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return hashlib.sha256((work / "dist" / "gvg-1.1.0" / "gvg-1.1.0.tar.xz").read_bytes()).hexdigest()


@pytest.mark.slow  # runs the autotools twice
def test_dist_tarball_is_the_same_on_another_day_zone_and_umask(described: Path, tmp_path: Path) -> None:
    today = _release_in_subprocess(tmp_path, described, "today", env={"TZ": "UTC", "UMASK": "022"}, prefix=[])
    # faketime moves the clock every program of the run sees, autotools included
    later = _release_in_subprocess(tmp_path, described, "later", env={"TZ": "Pacific/Auckland", "UMASK": "077"},
                                   prefix=["faketime", "2031-07-04 23:30:00"])
    assert today == later


@pytest.mark.parametrize(("extra", "problem"), [
    ("    dist_timezone: Europe/Prague\n", "components[boo].dist_timezone: only used with tarball_method: dist"),
    ("    tarball_method: dist\n    dist_timezone: Mars/Olympus\n", "unknown time zone 'Mars/Olympus'"),
    ("    tarball_method: tarball\n", "tarball_method: "),
    ("    dist_command: make dist\n", "components[boo].dist_command: only used with tarball_method: dist"),
])
def test_tarball_method_fields_are_validated(tmp_path: Path, extra: str, problem: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write_manifest(tmp_path, "boo", extra=extra)
    assert main(["validate", "--manifest", str(manifest)]) == 2
    assert problem in capsys.readouterr().err


@pytest.mark.slow  # runs the autotools
def test_dist_timezone_dates_the_changelog(tmp_path: Path) -> None:
    """A dist target that writes local dates (as gitlog-to-changelog does) follows dist_timezone."""
    repo = make_repo(tmp_path, "tzd", {
        "configure.ac": "AC_INIT([tzd], [1.1.0])\nAM_INIT_AUTOMAKE([foreign])\nAC_CONFIG_FILES([Makefile])\nAC_OUTPUT\n",
        "Makefile.am": "dist-hook:\n\tgit log -1 --date=local --format=%ad > $(distdir)/ChangeLog\n",
    })
    commit(repo, {"NEWS": "1.1.0: late at night\n"}, "News for 1.1.0", date="2024-03-01T23:30:00+00:00")
    manifest = write_manifest(tmp_path, "tzd", extra="    tarball_method: dist\n    dist_timezone: Europe/Prague\n")
    assert main(release_args(manifest, "tzd", repo, tmp_path / "dist")) == 0
    files = members(tmp_path / "dist" / "tzd-1.1.0" / "tzd-1.1.0.tar.gz")
    assert files["tzd-1.1.0/ChangeLog"] == b"Sat Mar 2 00:30:00 2024\n"  # 23:30 UTC is the next day in Prague
