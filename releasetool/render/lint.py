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
_RPMLINT_LINE = re.compile(r"^\S+?:(?:\d+:)? ([EW]): (.+)$")
_LINTIAN_LINE = re.compile(r"^([EW]): (.+)$")


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


def rpmlint_spec(spec: Path) -> LintReport:
    """rpmlint on one spec file."""
    argv = [proc.require("rpmlint"), str(spec)]
    if RPMLINT_CONFIG.exists():
        argv[1:1] = ["-c", str(RPMLINT_CONFIG)]
    done = proc.run(argv, check=False)
    return _parse("rpmlint", done.stdout.decode("utf-8", "replace"), _RPMLINT_LINE)


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
        done = proc.run([lintian, "--no-tag-display-limit", *map(str, dscs)], check=False)
    return _parse("lintian", done.stdout.decode("utf-8", "replace"), _LINTIAN_LINE)


def _parse(tool: str, output: str, pattern: re.Pattern[str]) -> LintReport:
    report = LintReport(tool)
    for line in output.splitlines():
        match = pattern.match(line.strip())
        if not match:
            continue
        (report.errors if match.group(1) == "E" else report.warnings).append(match.group(2))
    return report
