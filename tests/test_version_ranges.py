"""packaging.by_version: the packaging of the versions in a range, where upstream's build changed.

The sample component of the render tests with two ranges; the real manifest's
pacemaker, whose 2.1 releases (Debian 12's) build differently from 3.0.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import render_sample as rs

from releasetool import manifest
from releasetool.cli import main

RANGES = """\
      by_version:
        - versions: ">= 1.2, < 2.0"
          docs: [README, NEWS]
          remove: ["{docdir}/sample-hello"]
          more_files: ["{datadir}/sample-hello/greetings"]
          subpackages:
            - name: sample-hello-tools
              more_files: ["{bindir}/hello-wave"]
            - name: sample-hello-doc
              summary: Documentation of sample-hello
              description: |
                The manual of sample-hello.
              arch: all
              files: ["{datadir}/doc/sample-hello-doc/"]
        - versions: "< 1.2"
          omit_subpackages: [sample-hello-tools]
          configure_options: [LEGACY=1]
"""


def test_each_version_gets_the_packaging_of_its_range(tmp_path: Path) -> None:
    comp = manifest.load(rs.make_project(tmp_path / "p", RANGES)).get(rs.NAME)
    base = comp.packaging
    current = comp.at_version("1.2.3").packaging
    assert current.docs == ("README", "NEWS")
    assert current.remove == ("{docdir}/sample-hello",)
    assert current.files == (*base.files, "{datadir}/sample-hello/greetings")  # more_files adds
    tools = next(s for s in current.subpackages if s.name == "sample-hello-tools")
    assert tools.files == ("{bindir}/hello-greet", "{bindir}/hello-wave")
    assert tools.summary == "Shell tools for sample-hello"  # fields a range does not name stay
    assert [s.name for s in current.subpackages] == ["sample-hello-tools", "sample-hello-doc"]
    old = comp.at_version("1.0").packaging
    assert [s.name for s in old.subpackages] == []
    assert old.configure_options == ("LEGACY=1",) and old.docs == ("README",)
    # outside every range: the component's own packaging
    assert comp.at_version("2.0").packaging == base
    assert comp.at_version("2.0").version == "2.0"


def test_omit_files_takes_an_entry_out_and_more_files_puts_one_in(tmp_path: Path) -> None:
    path = rs.make_project(tmp_path / "p", '      by_version:\n        - versions: "< 1.2"\n'
                           '          omit_files: ["%config(noreplace) {sysconfdir}/sample-hello.conf"]\n'
                           '          more_files: ["{sysconfdir}/default/sample-hello"]\n')
    comp = manifest.load(path).get(rs.NAME)
    assert comp.at_version("1.0").packaging.files == ("{bindir}/sample-hello", "{sysconfdir}/default/sample-hello")
    assert comp.at_version("1.2.3").packaging.files == comp.packaging.files


def test_corosync_installs_its_dbus_policy_where_each_release_does(repo_root: Path) -> None:
    comp = manifest.load(repo_root / "components.yaml").get("corosync")
    old, new = comp.at_version("3.1.7").packaging.files, comp.at_version("3.1.10").packaging.files
    assert "%config(noreplace) {sysconfdir}/dbus-1/system.d/corosync-signals.conf" in old
    assert "{datadir}/dbus-1/system.d/corosync-signals.conf" not in old
    assert "{datadir}/dbus-1/system.d/corosync-signals.conf" in new


def test_the_rendered_packaging_follows_the_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = rs.make_project(tmp_path / "p", RANGES)
    assert main(["render", "--manifest", str(path), rs.NAME, "--out", str(tmp_path / "r")]) == 0
    out = tmp_path / "r" / rs.NAME
    spec = (out / f"{rs.NAME}.spec").read_text()
    assert "%package -n sample-hello-doc" in spec and "%{_bindir}/hello-wave" in spec
    assert "rm -rf %{buildroot}%{_docdir}/sample-hello" in spec
    assert "Package: sample-hello-doc" in (out / "debian" / "control").read_text()
    assert (out / "debian" / "sample-hello.docs").read_text().split() == ["README", "NEWS"]


@pytest.mark.parametrize(("ranges", "expected"), [
    ('      by_version:\n        - versions: "about 2"\n',
     "by_version[0].versions: 'about 2' is not a version clause"),
    ('      by_version:\n        - versions: "< 2.0~~!"\n',
     "by_version[0].versions: '< 2.0~~!': "),
    ('      by_version:\n        - versions: "< 2.0"\n          omit_subpackages: [sample-hello-tool]\n',
     "by_version[0].omit_subpackages[0]: no sub-package 'sample-hello-tool' in the component's packaging to omit"),
    ('      by_version:\n        - versions: "< 2.0"\n          subpackages:\n            - name: sample-new\n'
     '              files: ["{bindir}/x"]\n',
     "by_version[0].subpackages[0].summary: missing required field (sub-package 'sample-new' is new in this range)"),
    ('      by_version:\n        - versions: "< 2.0"\n          more_files: ["{bindr}/x"]\n',
     "by_version[0].more_files[0]: unknown placeholder {bindr} (did you mean {bindir}?)"),
    ('      by_version:\n        - docs: [README]\n', "by_version[0].versions: missing required field"),
    ('      by_version:\n        - versions: "< 2.0"\n          omit_files: ["{bindir}/sample"]\n',
     "by_version[0].omit_files[0]: '{bindir}/sample' is not one of the files of the packaging it changes"),
])
def test_a_wrong_range_is_refused_with_its_place(tmp_path: Path, capsys: pytest.CaptureFixture[str], ranges: str,
                                                  expected: str) -> None:
    path = rs.make_project(tmp_path / "p", ranges)
    assert main(["validate", "--manifest", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"components[{rs.NAME}].packaging.{expected}" in err, err


def test_pacemaker_2_1_and_3_0_are_packaged_as_upstream_builds_them(repo_root: Path, tmp_path: Path) -> None:
    """Debian 12's pacemaker 2.1.5 has no python/ and a ChangeLog; 3.0 has both python/ and ChangeLog.md."""
    loaded = manifest.load(repo_root / "components.yaml")
    comp = loaded.get("pacemaker")
    from releasetool.release import history
    from releasetool.render.packaging import render_component

    def rendered(version: str) -> dict[str, str]:
        at = comp.at_version(version)
        entries = history.for_component(Path("/nonexistent"), at, loaded.distribution.packager)
        return {k: v.decode() for k, v in render_component(loaded, at, history=entries).items()}

    old, new = rendered("2.1.5"), rendered("3.0.2")
    assert "cd python" not in old["pacemaker.spec"] and "cd python" not in old["debian/rules"]
    assert "cd python && %{__python3} setup.py build" in new["pacemaker.spec"]
    assert "cd python && python3 setup.py build" in new["debian/rules"]
    assert "%doc ChangeLog\n" in old["pacemaker.spec"] and "%doc ChangeLog.md\n" in new["pacemaker.spec"]
    assert "%files -n pacemaker-cts" in old["pacemaker.spec"] and "python3-pacemaker" not in old["pacemaker.spec"]
    assert "%{_prefix}/lib/ocf/resource.d/pacemaker/o2cb" in old["pacemaker.spec"] and "o2cb" not in new["pacemaker.spec"]
    # the CTS library: a top-level cts module in 2.1, pacemaker._cts in 3.0
    assert "%{python3_sitelib}/cts/" in old["pacemaker.spec"] and "_cts" not in old["pacemaker.spec"]
    assert "%{python3_sitelib}/pacemaker/_cts/" in new["pacemaker.spec"]
