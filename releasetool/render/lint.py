"""Checking rendered packaging with the distributions' own tools.

* ``rpmlint`` on the spec file, with the project's ``rpmlint.toml`` (which
  supplies what an openSUSE or Fedora profile would on a Debian machine);
* ``dpkg-source -b`` on the release tarball with the rendered ``debian/``
  added, then ``lintian`` on the resulting ``.dsc``.

Findings are parsed into ``(severity, text)`` pairs; severity ``E`` is an
error, ``W`` a warning.  Nothing here changes the rendered files.
"""

from __future__ import annotations

import re
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from releasetool import proc
from releasetool.resources import data_path

RPMLINT_CONFIG = data_path("releasetool.render", "rpmlint.toml")
RPMLINT_LINE = re.compile(r"^\S+?:(?:\d+:)? ([EW]): (.+)$")
LINTIAN_LINE = re.compile(r"^([EW]): (.+)$")
# lintian's own exit status 2 means both "found errors" and "could not read a
# package": with --fail-on none, findings exit 0 and anything else is a failure.
LINTIAN = ["lintian", "--fail-on", "none", "--tag-display-limit", "0"]
# Exit statuses that mean "checked" (with or without findings): rpmlint says 64 or 66
# when it found errors.  Anything else means the tool could not check.
LINT_CHECKED = {"rpmlint": (0, 64, 66), "lintian": (0,)}


@dataclass
class LintReport:
    tool: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        return f"{self.tool}: {len(self.errors)} errors, {len(self.warnings)} warnings"


def rpmlint_config() -> list[str]:
    """rpmlint's options for the project's configuration."""
    return ["-c", str(RPMLINT_CONFIG)] if RPMLINT_CONFIG.exists() else []


def run_linter(argv: list[str], pattern: re.Pattern[str], *, what: str = "the packages") -> LintReport:
    """Run rpmlint or lintian; a run that could not check is an error of the report, not a clean one."""
    tool = Path(argv[0]).name
    done = proc.run(argv, check=False, timeout=1800)
    report = LintReport(tool)
    if done.returncode not in LINT_CHECKED.get(tool, (0,)):
        said = (done.stderr or done.stdout).decode("utf-8", "replace").strip().splitlines()[-3:]
        report.errors.append(f"{tool} could not check {what} (status {done.returncode}): " + " / ".join(said))
        return report
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        match = pattern.match(line.strip())
        if match:
            (report.errors if match.group(1) == "E" else report.warnings).append(match.group(2))
    return report


def rpmlint_spec(spec: Path) -> LintReport:
    """rpmlint on one spec file."""
    return run_linter([proc.require("rpmlint"), *rpmlint_config(), str(spec)], RPMLINT_LINE, what=spec.name)


def lintian_source(name: str, version: str, tarball: Path, debian_dir: Path) -> LintReport:
    """Build a Debian source package from ``tarball`` and ``debian_dir`` and run lintian on it."""
    proc.require("dpkg-source", package="dpkg-dev")
    lintian = proc.require("lintian")
    with tempfile.TemporaryDirectory(prefix="releasetool-lintian-") as tmp:
        work = Path(tmp)
        orig = work / f"{name}_{version}.orig.tar{''.join(tarball.suffixes[-1:])}"
        shutil.copyfile(tarball, orig)
        with tarfile.open(tarball) as archive:
            top = {m.name.split("/", 1)[0] for m in archive.getmembers()}
            archive.extractall(work, filter="data")
        tree = work / (top.pop() if len(top) == 1 else f"{name}-{version}")
        shutil.copytree(debian_dir, tree / "debian", dirs_exist_ok=True)
        proc.run(["dpkg-source", "-b", tree.name], cwd=work)
        dscs = sorted(work.glob("*.dsc"))
        return run_linter([lintian, *LINTIAN[1:], *map(str, dscs)], LINTIAN_LINE, what=dscs[0].name)
