"""releasetool build: render, build with rpmbuild and dpkg-buildpackage, lint the packages.

The sample component of the render tests, with an upstream install target that
also copies README and COPYING into the documentation directory (as libqb's
does): without `packaging.remove` both formats stop on files no package ships;
with it, both build.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest
import render_sample as rs

from releasetool.cli import main

pytestmark = pytest.mark.slow  # builds packages

EXTRA_INSTALL = ("\tinstall -D -m 0644 README $(DESTDIR)$(prefix)/share/doc/sample-hello/README\n"
                 "\tinstall -D -m 0644 COPYING $(DESTDIR)$(prefix)/share/doc/sample-hello/COPYING\n")


# A file of the source tree at the path the packaging installs another one to:
# the packages must hold the installed one (dh_install looks in the source tree first).
SHADOW = ("etc/sample-hello.conf", b"# the source tree's copy, not the installed one\n")


def _tarball(path: Path) -> Path:
    """The sample's release tarball, its install target also writing {docdir}/sample-hello."""
    rs.make_tarball(path)
    with tarfile.open(path) as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else b"") for m in tar.getmembers()]  # type: ignore[union-attr]
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if info.name.endswith("/Makefile"):
                data = data.decode().replace("\nclean:", EXTRA_INSTALL + "\nclean:").encode()
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        shadow = tarfile.TarInfo(f"{rs.NAME}-{rs.VERSION}/{SHADOW[0]}")
        shadow.size, shadow.mtime = len(SHADOW[1]), members[0][0].mtime
        tar.addfile(shadow, io.BytesIO(SHADOW[1]))
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("build")
    manifest = rs.make_project(root / "project")
    return manifest, _tarball(root / f"{rs.NAME}-{rs.VERSION}.tar.gz")


def _build(manifest: Path, tarball: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict]]:
    capsys.readouterr()
    status = main(["build", "--manifest", str(manifest), rs.NAME, "--tarball", str(tarball), "--out", str(out),
                   "--json"])
    return status, json.loads(capsys.readouterr().out)


def test_unshipped_installed_files_fail_both_builds(project: tuple[Path, Path], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    manifest, tarball = project
    status, outcomes = _build(manifest, tarball, tmp_path / "built", capsys)
    assert status == 1
    by_format = {o["format"]: o for o in outcomes}
    assert not by_format["rpm"]["ok"] and "Installed (but unpackaged) file(s) found" in by_format["rpm"]["error"]
    assert not by_format["deb"]["ok"] and "dh_missing" in by_format["deb"]["error"]
    assert Path(by_format["rpm"]["log"]).is_file() and Path(by_format["deb"]["log"]).is_file()


def test_remove_lets_both_formats_build_and_the_packages_are_listed(project: tuple[Path, Path], tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    manifest, tarball = project
    edited = tmp_path / "project"
    subprocess.run(["cp", "-r", str(manifest.parent), str(edited)], check=True)
    text = (edited / "components.yaml").read_text()
    text = text.replace("      license_files: [COPYING]\n",
                        "      license_files: [COPYING]\n      remove: [\"{docdir}/sample-hello\"]\n")
    (edited / "components.yaml").write_text(text)
    status, outcomes = _build(edited / "components.yaml", tarball, tmp_path / "built", capsys)
    by_format = {o["format"]: o for o in outcomes}
    assert by_format["rpm"]["error"] == "" and by_format["deb"]["error"] == "", outcomes
    rpms = [Path(p["path"]) for p in by_format["rpm"]["packages"]]
    debs = [Path(p["path"]) for p in by_format["deb"]["packages"]]
    assert {p.name for p in rpms} >= {f"{rs.NAME}-{rs.VERSION}-1.src.rpm", f"{rs.NAME}-tools-{rs.VERSION}-1.noarch.rpm"}
    assert {p.name for p in debs} >= {f"{rs.NAME}_{rs.VERSION}-1_amd64.deb", f"{rs.NAME}-tools_{rs.VERSION}-1_all.deb"}
    # the doc directory make install wrote is in no package; the packaging's own doc files are
    main_rpm = next(p for p in rpms if p.name.startswith(f"{rs.NAME}-{rs.VERSION}-1.") and "src" not in p.name)
    listing = subprocess.run(["rpm", "-qlp", str(main_rpm)], capture_output=True, text=True, check=True).stdout
    docs = [line for line in listing.splitlines() if line.startswith("/usr/share/doc/")]
    assert any(line.endswith("/README") for line in docs)  # %doc README, from the source tree
    assert f"/usr/share/doc/{rs.NAME}/COPYING" not in listing  # make install's copy, removed
    main_deb = next(p for p in debs if p.name.startswith(f"{rs.NAME}_"))
    contents = subprocess.run(["dpkg-deb", "-c", str(main_deb)], capture_output=True, text=True, check=True).stdout
    assert "./usr/bin/sample-hello" in contents
    unpacked = tmp_path / "unpacked"
    subprocess.run(["dpkg-deb", "-x", str(main_deb), str(unpacked)], check=True)
    assert (unpacked / SHADOW[0]).read_text() == rs.SOURCES["hello.conf"]  # what the packaging installed
    assert status == (0 if not by_format["rpm"]["lint_errors"] and not by_format["deb"]["lint_errors"] else 1)


BY_FORMAT = """\
      remove: ["{docdir}/sample-hello"]
      by_format:
        rpm:
          configure_options: ["bindir={libexecdir}/sample-hello"]
          omit_files: ["{bindir}/sample-hello"]
          more_files: ["{libexecdir}/sample-hello/sample-hello"]
          subpackages:
            - name: sample-hello-tools
              files: ["{libexecdir}/sample-hello/hello-greet"]
"""


def test_each_format_builds_with_its_own_options_and_files(project: tuple[Path, Path], tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """packaging.by_format: the rpm installs into another directory than the debs, and both build."""
    _, tarball = project
    edited = rs.make_project(tmp_path / "project", BY_FORMAT)
    status, outcomes = _build(edited, tarball, tmp_path / "built", capsys)
    by_format = {o["format"]: o for o in outcomes}
    assert by_format["rpm"]["error"] == "" and by_format["deb"]["error"] == "", outcomes
    listing = subprocess.run(["rpm", "-qlp", *(p["path"] for p in by_format["rpm"]["packages"]
                                               if not p["path"].endswith(".src.rpm"))],
                             capture_output=True, text=True, check=True).stdout.split()
    assert "/usr/libexec/sample-hello/sample-hello" in listing and "/usr/libexec/sample-hello/hello-greet" in listing
    assert "/usr/bin/sample-hello" not in listing
    contents = "".join(subprocess.run(["dpkg-deb", "-c", p["path"]], capture_output=True, text=True, check=True).stdout
                       for p in by_format["deb"]["packages"])
    assert "./usr/bin/sample-hello\n" in contents and "./usr/bin/hello-greet\n" in contents
    assert "libexec" not in contents
    assert status == (0 if not by_format["rpm"]["lint_errors"] and not by_format["deb"]["lint_errors"] else 1)


def test_a_lint_tool_that_cannot_check_is_an_error(tmp_path: Path) -> None:
    import re

    from releasetool.build import BuildOutcome, _lint

    broken = tmp_path / "rpmlint.toml"
    broken.write_text("Filters = [\n")  # not TOML: rpmlint stops before checking anything
    outcome = BuildOutcome("rpm", True, 0.0)
    _lint(outcome, ["rpmlint", "-c", str(broken), str(tmp_path)], re.compile(r"^\S+?:(?:\d+:)? ([EW]): (.+)$"))
    assert len(outcome.lint_errors) == 1
    assert outcome.lint_errors[0].startswith("rpmlint could not check the packages (status ")


def _deb(tmp_path: Path, depends: str) -> Path:
    """A one-file binary package with the given Depends."""
    root = tmp_path / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "usr" / "share" / "sample").mkdir(parents=True)
    (root / "usr" / "share" / "sample" / "data").write_text("data\n")
    (root / "DEBIAN" / "control").write_text(
        "Package: sample-data\nVersion: 1.0-1\nArchitecture: all\nMaintainer: A <a@example.org>\n"
        f"Depends: {depends}\nDescription: sample data\n sample data for a lint test\n")
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", str(root), str(tmp_path / "sample-data_1.0-1_all.deb")],
                   check=True, capture_output=True)
    return tmp_path / "sample-data_1.0-1_all.deb"


def test_lintian_errors_are_findings_and_a_failed_run_is_not(tmp_path: Path) -> None:
    import re

    from releasetool.build import BuildOutcome, _lint
    from releasetool.render.lint import LINTIAN

    pattern = re.compile(r"^([EW]): (.+)$")
    found = BuildOutcome("deb", True, 0.0)
    # an Essential package without a version: lintian's error
    _lint(found, [*LINTIAN, str(_deb(tmp_path, "debianutils"))], pattern)
    assert any("depends-on-essential-package-without-using-version" in e for e in found.lint_errors), found.lint_errors
    assert not any("could not check" in e for e in found.lint_errors)
    broken = BuildOutcome("deb", True, 0.0)
    _lint(broken, [*LINTIAN, str(tmp_path / "missing_1.0_all.deb")], pattern)
    assert len(broken.lint_errors) == 1 and broken.lint_errors[0].startswith("lintian could not check the packages")


# A unified diff; its blank context line is a single space.
HELLO_PATCH = "\n".join([
    "Description: greet in the packaged build",
    "--- a/hello.c",
    "+++ b/hello.c",
    "@@ -2,6 +2,6 @@",
    " ",
    " int main(void)",
    " {",
    '-    puts("hello from sample-hello");',
    '+    puts("hello from the patched sample-hello");',
    "     return 0;",
    " }",
]) + "\n"


def _run_packaged_binary(package: Path, tmp_path: Path) -> str:
    """Unpack a built package and run its /usr/bin/sample-hello."""
    root = tmp_path / package.name
    root.mkdir()
    if package.suffix == ".deb":
        subprocess.run(["dpkg-deb", "-x", str(package), str(root)], check=True)
    else:
        cpio = subprocess.run(["rpm2cpio", str(package)], capture_output=True, check=True).stdout
        subprocess.run(["cpio", "-idm", "--quiet"], input=cpio, cwd=root, check=True)
    return subprocess.run([str(root / "usr" / "bin" / "sample-hello")], capture_output=True, text=True,
                          check=True).stdout


def test_patches_apply_in_both_formats(project: tuple[Path, Path], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    manifest, tarball = project
    edited = tmp_path / "project"
    subprocess.run(["cp", "-r", str(manifest.parent), str(edited)], check=True)
    (edited / "patches" / rs.NAME).mkdir(parents=True)
    (edited / "patches" / rs.NAME / "greet.patch").write_text(HELLO_PATCH)
    text = (edited / "components.yaml").read_text().replace(
        "      license_files: [COPYING]\n",
        "      license_files: [COPYING]\n      remove: [\"{docdir}/sample-hello\"]\n"
        f"      patches: [patches/{rs.NAME}/greet.patch]\n")
    (edited / "components.yaml").write_text(text)
    _, outcomes = _build(edited / "components.yaml", tarball, tmp_path / "built", capsys)
    by_format = {o["format"]: o for o in outcomes}
    assert by_format["rpm"]["error"] == "" and by_format["deb"]["error"] == "", outcomes
    rpm = next(Path(p["path"]) for p in by_format["rpm"]["packages"]
               if Path(p["path"]).name.startswith(f"{rs.NAME}-{rs.VERSION}-1.x86_64"))
    deb = next(Path(p["path"]) for p in by_format["deb"]["packages"]
               if Path(p["path"]).name.startswith(f"{rs.NAME}_{rs.VERSION}-1_"))
    assert _run_packaged_binary(rpm, tmp_path) == "hello from the patched sample-hello\n"
    assert _run_packaged_binary(deb, tmp_path) == "hello from the patched sample-hello\n"
    # the patch travels with the packaging: beside the spec and in debian/patches with its series
    srpm = next(Path(p["path"]) for p in by_format["rpm"]["packages"] if p["path"].endswith(".src.rpm"))
    listing = subprocess.run(["rpm", "-qlp", str(srpm)], capture_output=True, text=True, check=True).stdout
    assert "greet.patch" in listing.split()


def test_a_missing_patch_is_one_clear_error(project: tuple[Path, Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    manifest, _ = project
    edited = tmp_path / "project"
    subprocess.run(["cp", "-r", str(manifest.parent), str(edited)], check=True)
    text = (edited / "components.yaml").read_text().replace(
        "      license_files: [COPYING]\n", "      license_files: [COPYING]\n      patches: [patches/none.patch]\n")
    (edited / "components.yaml").write_text(text)
    assert main(["render", "--manifest", str(edited / "components.yaml"), rs.NAME, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"error: components[{rs.NAME}].packaging.patches[0]: cannot read {edited / 'patches/none.patch'}" in err
    assert not (tmp_path / "r").exists()


def test_the_version_range_holding_the_release_is_what_builds(project: tuple[Path, Path], tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The base packaging cannot build the sample (its doc directory is in no package, see above);
    the range holding 1.2.3 removes it and links the identical files it installs; the range of
    older versions names a patch that does not exist, which would stop the render if it applied."""
    manifest, tarball = project
    edited = tmp_path / "project"
    subprocess.run(["cp", "-r", str(manifest.parent), str(edited)], check=True)
    path = edited / "components.yaml"
    path.write_text(path.read_text() + (
        "      by_version:\n"
        "        - versions: \"< 1.0\"\n"
        "          patches: [patches/never-applied.patch]\n"
        "        - versions: \">= 1.2, < 2\"\n"
        "          remove: [\"{docdir}/sample-hello/README\"]\n"
        "          hardlink: [\"{docdir}/sample-hello\"]\n"
        "          more_files: [\"{docdir}/sample-hello/COPYING\"]\n"))
    _, outcomes = _build(path, tarball, tmp_path / "built", capsys)
    by_format = {o["format"]: o for o in outcomes}
    assert by_format["rpm"]["error"] == "" and by_format["deb"]["error"] == "", outcomes
    rpm = next(Path(p["path"]) for p in by_format["rpm"]["packages"]
               if Path(p["path"]).name.startswith(f"{rs.NAME}-{rs.VERSION}-1.x86_64"))
    listing = subprocess.run(["rpm", "-qlp", str(rpm)], capture_output=True, text=True, check=True).stdout.split()
    assert "/usr/share/doc/sample-hello/COPYING" in listing and "/usr/share/doc/sample-hello/README" not in listing
    # (on Debian, dh_missing passing is the proof: without the range, README is in no package)
