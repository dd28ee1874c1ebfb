"""libqb's real upstream release builds in both formats with the rendered packaging.

The tarball is the one upstream published, as Debian 12 carries it
(libqb_2.0.6.orig.tar.xz); `make test` downloads it and libqb's build
dependencies first (scripts/upstream-sources.sh).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from releasetool.cli import main

pytestmark = pytest.mark.slow  # builds packages

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = ROOT / ".releasetool-cache" / "upstream-src"


def test_libqb_upstream_release_builds_as_rpm_and_deb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = sorted(UPSTREAM.glob("libqb_*.orig.tar.*"))
    assert found, f"no libqb .orig tarball in {UPSTREAM}: `make test` runs scripts/upstream-sources.sh first"
    tarball = found[-1]
    version = tarball.name.split("_", 1)[1].split(".orig", 1)[0]
    status = main(["build", "--manifest", str(ROOT / "components.yaml"), "libqb", "--tarball", str(tarball),
                   "--out", str(tmp_path / "built"), "--json"])
    outcomes = {o["format"]: o for o in json.loads(capsys.readouterr().out)}
    for fmt in ("rpm", "deb"):
        assert outcomes[fmt]["error"] == "", outcomes[fmt]["error"]
    debs = {Path(p["path"]).name for p in outcomes["deb"]["packages"]}
    # Debian's split: the library by its soname, the tools apart
    assert {f"libqb100_{version}-1_amd64.deb", f"libqb-dev_{version}-1_amd64.deb",
            f"libqb-tools_{version}-1_amd64.deb", f"doxygen2man_{version}-1_amd64.deb"} <= debs
    rpms = {Path(p["path"]).name for p in outcomes["rpm"]["packages"]}
    assert {f"libqb-{version}-1.x86_64.rpm", f"libqb-devel-{version}-1.x86_64.rpm"} <= rpms
    # the library really is in the package, by its soname
    main_deb = tmp_path / "built" / "libqb" / f"libqb100_{version}-1_amd64.deb"
    contents = subprocess.run(["dpkg-deb", "-c", str(main_deb)], capture_output=True, text=True, check=True).stdout
    assert "libqb.so.100" in contents
    assert outcomes["deb"]["lint_errors"] == []  # lintian: no error on the built packages
    # rpm follows upstream's spec (libqb with qb-blackbox): rpmlint's openSUSE shared-library policy
    # findings are reported, not yet met
    assert status == (0 if not outcomes["rpm"]["lint_errors"] else 1)
