"""Building the rendered packaging for real, on this machine: rpmbuild and dpkg-buildpackage.

:func:`build_component` is what a packager runs after ``render``: it renders
the component at the version of the tarball, puts the tarball where each
format wants it (``SOURCES/`` under the spec's Source0 name; unpacked with
``debian/`` added, the ``NAME_VERSION.orig.tar.*`` beside it), builds, and
lints the built packages (rpmlint with the project's configuration, lintian
on the ``.changes``).  A build fails when the tool fails or the lint finds an
error.

The tarball is, in order: ``tarball`` (a file, such as upstream's published
one or a Debian ``.orig``), the release output of ``releasetool release``
(``dist/NAME-VERSION/``), or one made from ``repo`` at the version's tag with
the component's tarball method (nothing is tagged).  A tarball whose top
directory is not ``NAME-VERSION`` (GitHub's ``pacemaker-Pacemaker-2.1.5``) is
repacked under that name, files unchanged.
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from releasetool import manifest, proc
from releasetool.errors import BuildError
from releasetool.log import log
from releasetool.release import tarball as tarballs
from releasetool.render import lint

FORMATS = ("rpm", "deb")
BUILD_TIMEOUT = 6 * 3600.0
# Builds see the distribution's programs only, as on a build host (sbuild, mock,
# OBS): a virtualenv or a pyenv earlier on the user's PATH would otherwise run
# the build's Python tools (asciidoc's a2x...) with the wrong interpreter.
BUILD_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class BuildSettings:
    formats: tuple[str, ...] = FORMATS
    version: str | None = None  # default: the tarball's, else the manifest's
    tarball: Path | None = None
    repo: Path | None = None  # make the tarball from this clone at the version's tag
    out: Path = Path("built")
    check: bool = False  # run upstream's test suite during the build
    install_deps: bool = False  # apt-get build-dep for the rendered debian/control first


@dataclass
class BuiltPackage:
    path: Path
    files: int


@dataclass
class BuildOutcome:
    format: str
    ok: bool
    seconds: float
    packages: list[BuiltPackage] = field(default_factory=list)
    lint_errors: list[str] = field(default_factory=list)
    lint_warnings: list[str] = field(default_factory=list)
    log: Path | None = None
    error: str = ""

    def to_json(self) -> dict[str, object]:
        return {"format": self.format, "ok": self.ok, "seconds": round(self.seconds, 1),
                "packages": [{"path": str(p.path), "files": p.files} for p in self.packages],
                "lint_errors": self.lint_errors, "lint_warnings": len(self.lint_warnings),
                "log": str(self.log) if self.log else None, "error": self.error}


_VERSIONED = re.compile(r"^(?P<name>.+?)[-_](?P<version>\d[^/]*?)(?:\.orig)?\.tar\.(?:gz|xz|bz2)$")


def version_of_tarball(name: str, path: Path) -> str | None:
    """The version in a tarball's file name: NAME-VERSION.tar.*, NAME_VERSION.orig.tar.*."""
    match = _VERSIONED.match(path.name)
    return match.group("version") if match and match.group("name") == name else None


def build_component(manifest_path: str | Path, name: str, settings: BuildSettings) -> list[BuildOutcome]:
    """Render, find or make the tarball, build each format, lint the packages."""
    import tempfile

    loaded = manifest.load(manifest_path)
    comp = loaded.get(name)
    version = settings.version or (version_of_tarball(name, settings.tarball) if settings.tarball else None) \
        or comp.version
    unknown = [f for f in settings.formats if f not in FORMATS]
    if unknown:
        raise BuildError(f"unknown package format {unknown[0]!r}", hint=f"use one of: {', '.join(FORMATS)}")
    _require_tools(settings.formats)
    out = settings.out.resolve() / name
    with tempfile.TemporaryDirectory(prefix=f"releasetool-build-{name}-") as scratch:
        work = Path(scratch)
        source = _tarball(loaded, comp, version, settings, work)
        rendered = _render(loaded, comp, version, work / "rendered")
        if settings.install_deps:
            # Debian's packages for the rendered Build-Depends; the rpm build (--nodeps)
            # compiles against the same libraries of this machine, so this comes first.
            # (another apt run holding dpkg's lock is waited for, not an error)
            proc.run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "build-dep", "-y", "-q", f"./{rendered.name}"],
                     cwd=rendered.parent, env=proc.environment({"DEBIAN_FRONTEND": "noninteractive"}), timeout=3600)
        outcomes = []
        for fmt in settings.formats:
            log.info("%s %s: building %s packages", name, version, fmt)
            build = _build_rpm if fmt == "rpm" else _build_deb
            outcomes.append(build(comp, version, source, rendered, work / fmt, out, settings))
    return outcomes


def _require_tools(formats: tuple[str, ...]) -> None:
    if "rpm" in formats:
        proc.require("rpmbuild", package="rpm")
        proc.require("rpmlint")
    if "deb" in formats:
        proc.require("dpkg-buildpackage", package="dpkg-dev")
        proc.require("lintian")


def _tarball(loaded: manifest.Manifest, comp: manifest.Component, version: str, settings: BuildSettings,
             work: Path) -> Path:
    """A tarball of ``version`` whose top directory is NAME-VERSION."""
    prefix = f"{comp.name}-{version}"
    fmt = comp.tarball_formats[0]
    if settings.tarball is not None:
        given = settings.tarball
        if not given.is_file():
            raise BuildError(f"--tarball {given}: no such file")
    else:
        from releasetool.release.cut import DIST_DIR

        released = Path(loaded.path).parent / DIST_DIR / prefix / tarballs.tarball_name(comp.name, version, fmt)
        if released.is_file():
            given = released
        elif settings.repo is not None:
            return tarball_from_clone(comp, version, settings.repo, work, fmt)
        else:
            raise BuildError(f"{comp.name} {version}: no tarball (looked for {released})",
                             hint="pass --tarball FILE (upstream's or Debian's .orig), --repo CLONE to make it "
                                  f"from the tag, or run `releasetool release {comp.name} {version}`")
    tarballs.check_members(given)
    return with_top_directory(given, prefix, work)


def with_top_directory(tarball: Path, top: str, work: Path) -> Path:
    """``tarball``, or a copy repacked so that its one top directory is ``top`` (files unchanged)."""
    with tarfile.open(tarball) as tar:
        tops = {m.name.split("/", 1)[0] for m in tar.getmembers() if m.name not in ("", ".")}
    if tops == {top}:
        return tarball
    if len(tops) != 1:
        raise BuildError(f"{tarball}: not one top directory ({', '.join(sorted(tops)[:3])}...)")
    log.info("%s: repacking under %s/ (its top directory is %s/)", tarball.name, top, next(iter(tops)))
    members = tarballs.members_of_tar(tarball.read_bytes(), top=next(iter(tops)), where=str(tarball))
    fmt = "xz" if tarball.name.endswith(".xz") else "gz"
    target = work / top / f"{top}.tar.{fmt}"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(tarballs.compress(tarballs.pack(members, top, int(tarball.stat().st_mtime)), fmt))
    return target


def tarball_from_clone(comp: manifest.Component, version: str, repo: Path, work: Path, fmt: str) -> Path:
    """The tarball ``releasetool release`` would make of ``version``, from a clone that has its tag."""
    from releasetool.release import dist

    tag = comp.tag_for(version)
    commit = proc.git(repo, "rev-parse", "--verify", "-q", f"refs/tags/{tag}^{{commit}}", check=False)
    if not commit:
        raise BuildError(f"{repo}: no tag {tag} for {comp.name} {version}")
    command = dist.command_for(comp, repo, commit) if comp.tarball_method == "dist" else ""
    members, _ = dist.upstream_members(repo, commit, comp.name, version, tag, method=comp.tarball_method,
                                       command=command, timezone=comp.dist_timezone)
    target = work / tarballs.tarball_name(comp.name, version, fmt)
    target.write_bytes(tarballs.compress(tarballs.pack(members, f"{comp.name}-{version}",
                                                        tarballs.commit_time(repo, commit)), fmt))
    return target


def _render(loaded: manifest.Manifest, comp: manifest.Component, version: str, out: Path) -> Path:
    """The packaging of ``comp`` at ``version`` (the history's entries up to it, else one entry)."""
    from releasetool.release import history as history_mod
    from releasetool.render.packaging import render_component

    at_version = comp.at_version(version)
    recorded = history_mod.load(Path(loaded.path).parent, comp.name)
    index = next((i for i, e in enumerate(recorded) if e.version == version), None)
    entries = recorded[index:] if index is not None else \
        history_mod.for_component(Path("/nonexistent"), at_version, loaded.distribution.packager)
    for path, data in render_component(loaded, at_version, history=entries).items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if path.endswith("debian/rules"):
            target.chmod(0o755)
    return out


def _tail(path: Path, lines: int = 25) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


def _run_logged(argv: list[str], cwd: Path, env: dict[str, str], log_path: Path) -> int:
    """Run a build with its whole output in ``log_path`` (builds print thousands of lines)."""
    import subprocess

    log.debug("$ %s  (in %s; log %s)", " ".join(argv), cwd, log_path)
    with open(log_path, "wb") as handle:
        try:
            return subprocess.run(argv, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                  timeout=BUILD_TIMEOUT, check=False).returncode
        except subprocess.TimeoutExpired:
            handle.write(f"\nreleasetool: build timed out after {BUILD_TIMEOUT:g} s\n".encode())
            return 124


def _keep_log(log_path: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    kept = out / log_path.name
    shutil.copyfile(log_path, kept)
    return kept


def _build_rpm(comp: manifest.Component, version: str, source: Path, rendered: Path, work: Path, out: Path,
               settings: BuildSettings) -> BuildOutcome:
    started = time.monotonic()
    for sub in ("SOURCES", "SPECS", "BUILD", "RPMS", "SRPMS", "BUILDROOT"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    url = comp.tarball_url(version)
    source_name = url.rstrip("/").rsplit("/", 1)[-1] if url else source.name
    spec = work / "SPECS" / f"{comp.name}.spec"
    shutil.copyfile(rendered / f"{comp.name}.spec", spec)
    for extra in rendered.iterdir():  # the patches the spec names, rendered beside it
        if extra.is_file() and extra.name != spec.name:
            shutil.copyfile(extra, work / "SOURCES" / extra.name)
    # the directory the spec's %setup/%autosetup -n expects (GitHub's REPO-TAG for a tag archive)
    parsed = proc.run(["rpmspec", "-P", str(spec)], check=False).stdout.decode("utf-8", "replace")
    # rpmspec -P expands %autosetup into its shell: `rm -rf 'DIR'` before unpacking, `cd 'DIR'` after
    setup = re.search(r"^rm -rf '([^'/]+)'\n.*?rpmuncompress", parsed, re.M | re.S)
    if setup:
        source = with_top_directory(source, setup.group(1), work / "repacked")
    shutil.copyfile(source, work / "SOURCES" / source_name)
    log_path = work / f"{comp.name}-{version}.rpmbuild.log"
    argv = ["rpmbuild", "-ba", "--nodeps", "--define", f"_topdir {work}"]
    if not settings.check:
        argv += ["--without", "check"]
    status = _run_logged([*argv, str(spec)], work, proc.environment({"LC_ALL": "C.UTF-8", "PATH": BUILD_PATH}),
                         log_path)
    outcome = BuildOutcome("rpm", status == 0, 0.0, log=_keep_log(log_path, out))
    if status != 0:
        outcome.error = f"rpmbuild exited with status {status}:\n{_tail(log_path)}"
    else:
        rpms = sorted((work / "RPMS").rglob("*.rpm")) + sorted((work / "SRPMS").glob("*.rpm"))
        out.mkdir(parents=True, exist_ok=True)
        for rpm in rpms:
            shutil.copyfile(rpm, out / rpm.name)
            listing = proc.output(["rpm", "-qlp", str(rpm)])
            files = 0 if listing.strip() == "(contains no files)" else len(listing.splitlines())
            outcome.packages.append(BuiltPackage(out / rpm.name, files))
        _lint(outcome, ["rpmlint", *lint.rpmlint_config(), *[str(p.path) for p in outcome.packages]],
              lint.RPMLINT_LINE)
    outcome.seconds = time.monotonic() - started
    outcome.ok = outcome.ok and not outcome.lint_errors
    return outcome


def _build_deb(comp: manifest.Component, version: str, source: Path, rendered: Path, work: Path, out: Path,
               settings: BuildSettings) -> BuildOutcome:
    started = time.monotonic()
    work.mkdir(parents=True, exist_ok=True)
    compression = source.name.rsplit(".", 1)[-1]
    shutil.copyfile(source, work / f"{comp.name}_{version}.orig.tar.{compression}")
    with tarfile.open(source) as tar:
        tar.extractall(work, filter="data")
    tree = work / f"{comp.name}-{version}"
    shutil.copytree(rendered / "debian", tree / "debian", dirs_exist_ok=True)
    log_path = work / f"{comp.name}-{version}.dpkg-buildpackage.log"
    options = os.environ.get("DEB_BUILD_OPTIONS", "")
    if not settings.check:
        options = f"{options} nocheck".strip()
    env = proc.environment({"DEB_BUILD_OPTIONS": options, "LC_ALL": "C.UTF-8", "PATH": BUILD_PATH})
    status = _run_logged(["dpkg-buildpackage", "-us", "-uc", "-b"], tree, env, log_path)
    outcome = BuildOutcome("deb", status == 0, 0.0, log=_keep_log(log_path, out))
    if status != 0:
        outcome.error = f"dpkg-buildpackage exited with status {status}:\n{_tail(log_path)}"
    else:
        out.mkdir(parents=True, exist_ok=True)
        for deb in sorted(work.glob("*.deb")):
            shutil.copyfile(deb, out / deb.name)
            contents = proc.output(["dpkg-deb", "-c", str(deb)])
            files = sum(1 for line in contents.splitlines() if not line.startswith("d"))
            outcome.packages.append(BuiltPackage(out / deb.name, files))
        changes = sorted(work.glob("*.changes"))
        _lint(outcome, [*lint.LINTIAN, *map(str, changes)], lint.LINTIAN_LINE)
    outcome.seconds = time.monotonic() - started
    outcome.ok = outcome.ok and not outcome.lint_errors
    return outcome


def _lint(outcome: BuildOutcome, argv: list[str], pattern: re.Pattern[str]) -> None:
    report = lint.run_linter(argv, pattern)
    outcome.lint_errors.extend(report.errors)
    outcome.lint_warnings.extend(report.warnings)
