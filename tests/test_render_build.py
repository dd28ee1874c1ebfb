"""End to end: a sample component released as a tarball, rendered, built with
rpmbuild and dpkg-buildpackage, and the packages opened to check what is in them."""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import render_sample as rs

from releasetool import manifest
from releasetool.render import packaging as render
from releasetool.render.filters import WORD_JOINER

pytestmark = pytest.mark.slow


def _run(argv: list[str], cwd: Path | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("sample")
    loaded = manifest.load(rs.make_project(root / "project"))
    comp = loaded.get(rs.NAME)
    tarball = rs.make_tarball(root / "release" / f"{rs.NAME}-{rs.VERSION}.tar.gz")
    return {"root": root, "manifest": loaded, "component": comp, "tarball": tarball,
            "files": render.render_component(loaded, comp)}


def _expected_description_lines() -> list[str]:
    return [line for line in rs.DESCRIPTION.splitlines()]


# ---------------------------------------------------------------------------
# rpm
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rpms(project: dict[str, object]) -> dict[str, Path]:
    root = Path(str(project["root"])) / "rpm"
    render.write_rendered(root / "rendered", rs.NAME, project["files"])  # type: ignore[arg-type]
    spec = root / "rendered" / rs.NAME / f"{rs.NAME}.spec"
    (root / "top" / "SOURCES").mkdir(parents=True)
    shutil.copy(Path(str(project["tarball"])), root / "top" / "SOURCES")
    _run(["rpmbuild", "-ba", "--nodeps", "--define", f"_topdir {root / 'top'}", str(spec)])
    arch = _run(["rpm", "--eval", "%{_arch}"]).strip()
    return {
        "main": root / "top" / "RPMS" / arch / f"{rs.NAME}-{rs.VERSION}-1.{arch}.rpm",
        "tools": root / "top" / "RPMS" / "noarch" / f"{rs.NAME}-tools-{rs.VERSION}-1.noarch.rpm",
        "source": root / "top" / "SRPMS" / f"{rs.NAME}-{rs.VERSION}-1.src.rpm",
    }


def test_rpm_files(rpms: dict[str, Path]) -> None:
    initddir = _run(["rpm", "--eval", "%{_initddir}"]).strip()
    files = _run(["rpm", "-qlp", str(rpms["main"])]).split()
    assert _run(["rpm", "-qp", "--configfiles", str(rpms["main"])]).split() == ["/etc/sample-hello.conf"]
    for path in ("/usr/bin/sample-hello", "/usr/lib/systemd/system/sample-hello.service",
                 f"{initddir}/sample-hello", f"/usr/share/doc/{rs.NAME}-{rs.VERSION}/README",
                 f"/usr/share/licenses/{rs.NAME}-{rs.VERSION}/COPYING"):
        assert path in files
    assert "/usr/bin/hello-greet" not in files
    assert _run(["rpm", "-qlp", str(rpms["tools"])]).split() == ["/usr/bin/hello-greet"]


def test_rpm_version_and_dependencies(rpms: dict[str, Path]) -> None:
    fields = _run(["rpm", "-qp", "--qf", "%{NAME}|%{VERSION}|%{RELEASE}|%{LICENSE}|%{SUMMARY}", str(rpms["main"])])
    assert fields == f"{rs.NAME}|{rs.VERSION}|1|GPL-2.0-or-later|Greets the world 100% of the time"
    assert f"{rs.NAME} = {rs.VERSION}-1" in _run(["rpm", "-qp", "--requires", str(rpms["tools"])]).splitlines()
    assert _run(["rpm", "-qp", "--qf", "%{ARCH}", str(rpms["tools"])]) == "noarch"
    build_requires = _run(["rpm", "-qp", "--requires", str(rpms["source"])]).splitlines()
    assert "gcc" in build_requires and "make" in build_requires


def test_rpm_description_is_literal(rpms: dict[str, Path]) -> None:
    description = _run(["rpm", "-qp", "--qf", "%{DESCRIPTION}", str(rpms["main"])])
    expected = [WORD_JOINER + line if line.startswith("#") else line for line in _expected_description_lines()]
    assert description.splitlines() == expected


def test_rpm_changelog(rpms: dict[str, Path]) -> None:
    assert _run(["rpm", "-qp", "--changelog", str(rpms["main"])]).splitlines() == [
        "* Wed Nov 25 2026 Test Packager <packager@example.org> - 1.2.3-1",
        "- Greet 100% of users, even with %{macros} and *stars*",
        "- Add an LSB init script",
        "",
        "* Mon Mar 02 2026 Jörg Müller <joerg@example.org> - 1.2.2-1",
        "- First release",
        "",
    ]


def test_rpm_scriptlets_have_no_macro_left(rpms: dict[str, Path]) -> None:
    scripts = _run(["rpm", "-qp", "--scripts", str(rpms["main"])])
    assert "%" not in scripts
    assert "systemctl preset sample-hello.service" in scripts
    assert "systemctl --no-reload disable --now sample-hello.service" in scripts
    assert "systemctl try-restart sample-hello.service" in scripts


def test_rpmlint_on_built_packages(rpms: dict[str, Path], repo_root: Path) -> None:
    done = subprocess.run(["rpmlint", "-c", str(repo_root / "rpmlint.toml"), str(rpms["main"]), str(rpms["tools"])],
                          capture_output=True, text=True, check=False)
    # Warnings remain (no man pages; the description's literal %{name} is
    # reported as unexpanded-macro, which is the point); errors must not.
    assert [line for line in done.stdout.splitlines() if ": E: " in line] == [], done.stdout
    assert done.returncode == 0, done.stdout


# ---------------------------------------------------------------------------
# Debian
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def debs(project: dict[str, object]) -> dict[str, Path]:
    root = Path(str(project["root"])) / "deb"
    root.mkdir()
    tarball = Path(str(project["tarball"]))
    with tarfile.open(tarball) as tar:
        tar.extractall(root, filter="data")
    shutil.copy(tarball, root / f"{rs.NAME}_{rs.VERSION}.orig.tar.gz")
    tree = root / f"{rs.NAME}-{rs.VERSION}"
    files = {k: v for k, v in project["files"].items() if k.startswith("debian/")}  # type: ignore[attr-defined]
    outcome = render.write_rendered(root / "rendered", rs.NAME, files)
    shutil.copytree(outcome.directory / "debian", tree / "debian")
    _run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=tree)
    return {
        "main": root / f"{rs.NAME}_{rs.VERSION}-1_amd64.deb",
        "tools": root / f"{rs.NAME}-tools_{rs.VERSION}-1_all.deb",
    }


def test_deb_files(debs: dict[str, Path]) -> None:
    listing = _run(["dpkg-deb", "-c", str(debs["main"])])
    paths = {line.split()[-1] for line in listing.splitlines()}
    for path in ("./usr/bin/sample-hello", "./lib/systemd/system/sample-hello.service", "./etc/sample-hello.conf",
                 "./etc/init.d/sample-hello", "./usr/share/doc/sample-hello/README",
                 "./usr/share/doc/sample-hello/changelog.Debian.gz", "./usr/share/doc/sample-hello/copyright"):
        assert path in paths, listing
    assert "./usr/bin/hello-greet" not in paths
    tools = {line.split()[-1] for line in _run(["dpkg-deb", "-c", str(debs["tools"])]).splitlines()}
    assert "./usr/bin/hello-greet" in tools


def test_deb_fields(debs: dict[str, Path]) -> None:
    assert _run(["dpkg-deb", "-f", str(debs["main"]), "Version"]).strip() == f"{rs.VERSION}-1"
    assert _run(["dpkg-deb", "-f", str(debs["main"]), "Architecture"]).strip() == "amd64"
    assert _run(["dpkg-deb", "-f", str(debs["tools"]), "Architecture"]).strip() == "all"
    depends = _run(["dpkg-deb", "-f", str(debs["tools"]), "Depends"]).strip()
    # The manifest's "(= ${binary:Version})" from an arch:all package to an
    # arch:any one becomes the binNMU-safe range.
    assert f"{rs.NAME} (>= {rs.VERSION}-1), {rs.NAME} (<< {rs.VERSION}-1.1~)" in depends
    assert "libc6" in _run(["dpkg-deb", "-f", str(debs["main"]), "Depends"])


def test_deb_description_is_literal(debs: dict[str, Path]) -> None:
    text = _run(["dpkg-deb", "-f", str(debs["main"]), "Description"])
    synopsis, *body = text.splitlines()
    assert synopsis == "Greets the world 100% of the time"
    unfolded = ["" if line == " ." else line[2:] if line.startswith("  ") else line[1:] for line in body]
    expected = [line.replace("${", "$" + WORD_JOINER + "{") for line in _expected_description_lines()]
    assert unfolded == expected


def test_deb_changelog(debs: dict[str, Path]) -> None:
    data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(debs["main"])], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.extractfile("./usr/share/doc/sample-hello/changelog.Debian.gz")
        assert member is not None
        changelog = gzip.decompress(member.read()).decode("utf-8")
    assert changelog.splitlines()[:6] == [
        "sample-hello (1.2.3-1) unstable; urgency=medium",
        "",
        "  * Greet 100% of users, even with %{macros} and *stars*",
        "  * Add an LSB init script",
        "",
        " -- Test Packager <packager@example.org>  Wed, 25 Nov 2026 12:00:00 +0000",
    ]
    assert " -- Jörg Müller <joerg@example.org>  Mon, 02 Mar 2026 08:30:00 +0000" in changelog


def test_lintian_on_built_packages(debs: dict[str, Path]) -> None:
    done = subprocess.run(["lintian", "--fail-on", "error", str(debs["main"]), str(debs["tools"])],
                          capture_output=True, text=True, check=False)
    # Warnings remain (no manual pages; the sample's init script does not use
    # /lib/lsb/init-functions); errors must not.
    assert done.returncode == 0 and "\nE: " not in "\n" + done.stdout, done.stdout
    assert "init-system-helpers" in _run(["dpkg-deb", "-f", str(debs["main"]), "Pre-Depends"])


def test_deb_maintainer_scripts(debs: dict[str, Path], tmp_path: Path) -> None:
    _run(["dpkg-deb", "-e", str(debs["main"]), str(tmp_path / "control")])
    postinst = (tmp_path / "control" / "postinst").read_text()
    assert "update-rc.d sample-hello defaults" in postinst
    assert "deb-systemd-helper enable 'sample-hello.service'" in postinst
    assert "systemd-sysusers ${DPKG_ROOT:+--root=\"$DPKG_ROOT\"} sample-hello.conf" in postinst  # own template


def test_deb_component_files(debs: dict[str, Path]) -> None:
    paths = {line.split()[-1] for line in _run(["dpkg-deb", "-c", str(debs["main"])]).splitlines()}
    assert "./usr/lib/sysusers.d/sample-hello.conf" in paths


def test_sample_source_package_passes_lintian(project: dict[str, object], tmp_path: Path) -> None:
    """The hostile description and changelog still make a source package lintian accepts."""
    tarball = Path(str(project["tarball"]))
    with tarfile.open(tarball) as tar:
        tar.extractall(tmp_path, filter="data")
    shutil.copy(tarball, tmp_path / f"{rs.NAME}_{rs.VERSION}.orig.tar.gz")
    files = {k: v for k, v in project["files"].items() if k.startswith("debian/")}  # type: ignore[attr-defined]
    outcome = render.write_rendered(tmp_path / "rendered", rs.NAME, files)
    shutil.copytree(outcome.directory / "debian", tmp_path / f"{rs.NAME}-{rs.VERSION}" / "debian")
    _run(["dpkg-source", "-b", f"{rs.NAME}-{rs.VERSION}"], cwd=tmp_path)
    done = subprocess.run(["lintian", "--fail-on", "error", str(tmp_path / f"{rs.NAME}_{rs.VERSION}-1.dsc")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "\nE: " not in "\n" + done.stdout, done.stdout
