"""packaging.by_format: what differs between the rpm and the Debian packaging of one release.

The sample component of the render tests with a layout per format, as pcs's
configure installs Fedora's or Debian's; the real manifest's pcs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import render_sample as rs

from releasetool import manifest
from releasetool.cli import main

FORMATS = """\
      by_format:
        rpm:
          configure_options: [LAYOUT=fedora]
          more_files: ["{libdir}/sample-hello/", "%config(noreplace) {sysconfdir}/sysconfig/sample-hello"]
          subpackages:
            - name: sample-hello-tools
              more_files: ["{libdir}/sample-hello-tools/helper"]
        deb:
          configure_options: [LAYOUT=debian]
          more_files: ["{datadir}/sample-hello/", "{sysconfdir}/default/sample-hello"]
          omit_files: ["%config(noreplace) {sysconfdir}/sample-hello.conf"]
          subpackages:
            - name: sample-hello-tools
              more_files: ["{datadir}/sample-hello-tools/helper"]
"""


def test_each_format_gets_its_changes_and_the_rest_stays_shared(tmp_path: Path) -> None:
    comp = manifest.load(rs.make_project(tmp_path / "p", FORMATS)).get(rs.NAME)
    base = comp.packaging
    rpm, deb = comp.for_format("rpm").packaging, comp.for_format("deb").packaging
    assert rpm.configure_options == ("LAYOUT=fedora",) and deb.configure_options == ("LAYOUT=debian",)
    assert rpm.files == (*base.files, "{libdir}/sample-hello/", "%config(noreplace) {sysconfdir}/sysconfig/sample-hello")
    assert deb.files == ("{bindir}/sample-hello", "{datadir}/sample-hello/", "{sysconfdir}/default/sample-hello")
    rpm_tools, deb_tools = rpm.subpackages[0], deb.subpackages[0]
    assert rpm_tools.files == ("{bindir}/hello-greet", "{libdir}/sample-hello-tools/helper")
    assert deb_tools.files == ("{bindir}/hello-greet", "{datadir}/sample-hello-tools/helper")
    assert rpm_tools.summary == deb_tools.summary == "Shell tools for sample-hello"  # not named: shared
    assert rpm.units == deb.units == base.units and rpm.docs == deb.docs == base.docs
    assert base.configure_options == ()  # the packaging itself is unchanged


def test_a_version_range_applies_first_then_the_format(tmp_path: Path) -> None:
    path = rs.make_project(tmp_path / "p", FORMATS + '      by_version:\n        - versions: "< 1.2"\n'
                           '          more_files: ["{datadir}/sample-hello/old-greetings"]\n')
    comp = manifest.load(path).get(rs.NAME)
    old_deb = comp.at_version("1.0").for_format("deb").packaging
    assert old_deb.files == ("{bindir}/sample-hello", "{datadir}/sample-hello/old-greetings",
                             "{datadir}/sample-hello/", "{sysconfdir}/default/sample-hello")
    assert old_deb.configure_options == ("LAYOUT=debian",)
    assert "{datadir}/sample-hello/old-greetings" not in comp.at_version("1.2.3").for_format("deb").packaging.files
    # a format without changes is the packaging itself
    plain = manifest.load(rs.make_project(tmp_path / "q")).get(rs.NAME)
    assert plain.for_format("deb").packaging == plain.packaging


def test_the_spec_and_debian_are_rendered_from_their_format(tmp_path: Path) -> None:
    path = rs.make_project(tmp_path / "p", FORMATS)
    assert main(["render", "--manifest", str(path), rs.NAME, "--out", str(tmp_path / "r")]) == 0
    out = tmp_path / "r" / rs.NAME
    spec, rules = (out / f"{rs.NAME}.spec").read_text(), (out / "debian" / "rules").read_text()
    assert "LAYOUT=fedora" in spec and "LAYOUT=debian" not in spec
    assert "LAYOUT=debian" in rules and "LAYOUT=fedora" not in rules
    assert "%{_libdir}/sample-hello/\n" in spec and "%config(noreplace) %{_sysconfdir}/sysconfig/sample-hello\n" in spec
    assert "%{_libdir}/sample-hello-tools/helper\n" in spec and "/default/" not in spec
    main_install = (out / "debian" / f"{rs.NAME}.install").read_text().split()
    assert "debian/tmp/usr/share/sample-hello" in main_install and "debian/tmp/etc/default/sample-hello" in main_install
    assert not any("sysconfig" in line or line.endswith("sample-hello.conf") for line in main_install)
    tools_install = (out / "debian" / "sample-hello-tools.install").read_text().split()
    assert tools_install == ["debian/tmp/usr/bin/hello-greet", "debian/tmp/usr/share/sample-hello-tools/helper"]


def test_a_ghost_file_is_owned_by_the_rpm_and_left_out_on_debian(tmp_path: Path) -> None:
    path = rs.make_project(tmp_path / "p", '      by_version:\n        - versions: ">= 1.0"\n          more_files:\n'
                           '            - "%ghost %attr(0600,root,root) {localstatedir}/lib/sample-hello/state"\n')
    assert main(["render", "--manifest", str(path), rs.NAME, "--out", str(tmp_path / "r")]) == 0
    out = tmp_path / "r" / rs.NAME
    assert "%ghost %attr(0600,root,root) %{_localstatedir}/lib/sample-hello/state\n" in (out / f"{rs.NAME}.spec").read_text()
    assert "state" not in (out / "debian" / f"{rs.NAME}.install").read_text()


@pytest.mark.parametrize(("extra", "expected"), [
    ("      by_format:\n        debian:\n          configure_options: [X=1]\n",
     "by_format.debian: unknown key"),
    ('      by_format:\n        deb:\n          versions: "< 2.0"\n',
     "by_format.deb.versions: unknown key"),
    ('      by_format:\n        rpm:\n          omit_files: ["{bindir}/sample"]\n',
     "by_format.rpm.omit_files[0]: '{bindir}/sample' is not one of the files of the packaging it changes"),
    ('      by_format:\n        rpm:\n          more_files: ["{libdri}/x"]\n',
     "by_format.rpm.more_files[0]: unknown placeholder {libdri} (did you mean {libdir}?)"),
    ('      by_format:\n        deb:\n          subpackages:\n            - name: sample-new\n'
     '              files: ["{bindir}/x"]\n',
     "by_format.deb.subpackages[0].summary: missing required field (sub-package 'sample-new' is new in this format)"),
    ('      by_format:\n        deb:\n          omit_subpackages: [sample-hello-tool]\n',
     "by_format.deb.omit_subpackages[0]: no sub-package 'sample-hello-tool' in the component's packaging to omit"),
])
def test_a_wrong_format_change_is_refused_with_its_place(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         extra: str, expected: str) -> None:
    assert main(["validate", "--manifest", str(rs.make_project(tmp_path / "p", extra))]) == 2
    err = capsys.readouterr().err
    assert f"components[{rs.NAME}].packaging.{expected}" in err, err


def test_pcs_gets_fedoras_layout_in_the_rpm_and_debians_in_the_debs(repo_root: Path) -> None:
    """pcs's configure would otherwise follow the build host's /etc/os-release."""
    loaded = manifest.load(repo_root / "components.yaml")
    comp = loaded.get("pcs")
    from releasetool.render.packaging import render_component

    files = {k: v.decode() for k, v in render_component(loaded, comp).items()}
    spec, rules = files["pcs.spec"], files["debian/rules"]
    assert "--with-distro=fedora" in spec and "--with-distro=debian" not in spec
    assert "--with-distro=debian" in rules and "--with-distro=fedora" not in rules
    assert "%{_libdir}/pcsd/\n" in spec and "%config(noreplace) %{_sysconfdir}/sysconfig/pcsd\n" in spec
    assert "%{_libdir}/pcs/pcs_snmp_agent\n" in spec.split("%files -n pcs-snmp")[1]
    assert "debian/tmp/usr/share/pcsd\n" in files["debian/pcs.install"]
    assert "debian/tmp/etc/default/pcsd\n" in files["debian/pcs.install"]
    assert "debian/tmp/usr/share/pcs/pcs_snmp_agent\n" in files["debian/pcs-snmp.install"]
    assert "sysconfig" not in files["debian/pcs.install"] + files["debian/pcs-snmp.install"]
    # only the rpms have files under {libdir}
    assert files["debian/control"].count("Architecture: all") == 2 and "BuildArch" not in spec


RANGE_WITH_FORMATS = FORMATS + """\
      by_version:
        - versions: "< 1.2"
          more_files: ["{datadir}/sample-hello/old-greetings"]
          by_format:
            rpm:
              configure_options: [LAYOUT=fedora, OLD=1]
            deb:
              configure_options: [LAYOUT=debian, OLD=1]
              more_files: ["{datadir}/sample-hello/"]
"""


def test_a_version_range_with_its_own_formats_replaces_the_packagings(tmp_path: Path) -> None:
    comp = manifest.load(rs.make_project(tmp_path / "p", RANGE_WITH_FORMATS)).get(rs.NAME)
    old_rpm, old_deb = (comp.at_version("1.0").for_format(f).packaging for f in ("rpm", "deb"))
    assert old_rpm.configure_options == ("LAYOUT=fedora", "OLD=1")
    assert old_deb.configure_options == ("LAYOUT=debian", "OLD=1")
    # the range's by_format replaces the packaging's whole: its rpm names no more files, its deb
    # adds one directory and keeps the configuration file the packaging's deb omits
    assert old_rpm.files == (*comp.packaging.files, "{datadir}/sample-hello/old-greetings")
    assert old_deb.files == (*comp.packaging.files, "{datadir}/sample-hello/old-greetings", "{datadir}/sample-hello/")
    assert "{libdir}/sample-hello-tools/helper" not in old_rpm.subpackages[0].files
    # versions outside the range keep the packaging's formats
    new_rpm = comp.at_version("1.2.3").for_format("rpm").packaging
    assert new_rpm.configure_options == ("LAYOUT=fedora",)
    assert new_rpm.subpackages[0].files[-1] == "{libdir}/sample-hello-tools/helper"


def test_a_wrong_change_in_a_ranges_format_is_refused_with_its_place(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    extra = FORMATS + ('      by_version:\n        - versions: "< 1.2"\n          by_format:\n            deb:\n'
                       '              omit_subpackages: [sample-hello-tool]\n')
    assert main(["validate", "--manifest", str(rs.make_project(tmp_path / "p", extra))]) == 2
    err = capsys.readouterr().err
    assert (f"components[{rs.NAME}].packaging.by_version[0].by_format.deb.omit_subpackages[0]: "
            "no sub-package 'sample-hello-tool'") in err, err


def test_pcs_0_12_and_the_0_11_range_configure_differently(repo_root: Path) -> None:
    """0.12 has the web UI option and installs with pip; 0.11 ran setup.py into automake's pythondir."""
    comp = manifest.load(repo_root / "components.yaml").get("pcs")
    assert comp.targets == ("openSUSE_Tumbleweed", "Fedora_41", "xUbuntu_24.04")  # python3 >= 3.12
    for fmt, distro in (("rpm", "--with-distro=fedora"), ("deb", "--with-distro=debian")):
        new = comp.at_version(comp.version).for_format(fmt).packaging
        old = comp.at_version("0.11.12.1").for_format(fmt).packaging
        assert "--enable-webui" in new.configure_options and distro in new.configure_options
        assert "--enable-webui" not in old.configure_options and distro in old.configure_options
        assert not any("pythondir" in o for o in new.configure_options)
        assert "am_cv_python_pythondir={python3_sitelib}" in old.configure_options
        assert new.files == old.files  # the layout of each family is the same in both lines
        assert "{python3_sitelib}/pcs/deinstall.txt" in old.remove and "{python3_sitelib}/pcs/deinstall.txt" \
            not in new.remove
    new_deb = comp.at_version(comp.version).for_format("deb").packaging
    old_deb = comp.at_version("0.11.12.1").for_format("deb").packaging
    assert "pacemaker (>= 3.0)" in new_deb.requires.deb and "pacemaker (<< 3.0)" in old_deb.requires.deb
    assert "ruby-rackup" in new_deb.build_requires.deb and "ruby-rackup" not in old_deb.build_requires.deb
