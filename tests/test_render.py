"""render: escaping filters, missing values, writing, check mode and the CLI (fast tests)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import render_sample as rs
from debian.changelog import Changelog
from debian.deb822 import Deb822

from releasetool import manifest
from releasetool.cli import main
from releasetool.errors import RenderError
from releasetool.fsutil import Journal
from releasetool.render import filters as rf
from releasetool.render import packaging as render

# ---------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------


def test_spec_text_doubles_percent() -> None:
    assert rf.spec_text("100% %{name} %(id)") == "100%% %%{name} %%(id)"


def test_spec_description_protects_comment_lines_and_wraps() -> None:
    text = "# not a comment\n  # indented\n\n\n" + "word " * 30
    lines = rf.spec_description(text).splitlines()
    assert lines[0] == rf.WORD_JOINER + "# not a comment"
    assert lines[1] == rf.WORD_JOINER + "  # indented"
    assert lines[2] == ""  # blank lines collapse to one
    assert all(len(line) <= 79 for line in lines)
    assert " ".join(lines[3:]).split() == ["word"] * 30


def test_deb_description_folds() -> None:
    text = "First line.\n\n.dotted\n\tindented by a tab\nHome is ${HOME}, cost $5\nGrüße ☃\n"
    assert rf.deb_description(text).splitlines() == [
        " First line.",
        " .",
        "  .dotted",
        "          indented by a tab",
        f" Home is ${rf.WORD_JOINER}{{HOME}}, cost $5",
        " Grüße ☃",
    ]


def test_one_line_fields() -> None:
    assert rf.one_line("  A summary\n  on two lines. ") == "A summary on two lines"
    assert rf.deb_field("uses ${misc:Depends}") == f"uses ${rf.WORD_JOINER}{{misc:Depends}}"


def test_changelog_dates() -> None:
    when = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
    assert rf.rpm_date(when) == "Wed Nov 25 2026"
    assert rf.deb_date(when) == "Wed, 25 Nov 2026 12:00:00 +0000"
    assert rf.rpm_date(dt.date(2026, 3, 2)) == "Mon Mar 02 2026"


@pytest.mark.parametrize(("upstream", "packaged"), [
    ("2.0.8", "2.0.8"), ("1.0rc1", "1.0~rc1"), ("1.0.0-rc.1", "1.0.0~rc.1"), ("3.0.2", "3.0.2"),
])
def test_package_version(upstream: str, packaged: str) -> None:
    assert rf.package_version(upstream) == packaged


def test_paths() -> None:
    assert rf.rpm_path("{libdir}/libqb.so.*") == "%{_libdir}/libqb.so.*"
    assert rf.rpm_path("%config(noreplace) {sysconfdir}/x") == "%config(noreplace) %{_sysconfdir}/x"
    assert rf.rpm_path("%dir %attr(750, root, haclient) {localstatedir}/lib/x") == \
        "%dir %attr(750, root, haclient) %{_localstatedir}/lib/x"
    assert rf.rpm_path("{datadir}/100%") == "%{_datadir}/100%%"
    assert rf.deb_path("{libdir}/libqb.so.*") == "usr/lib/${DEB_HOST_MULTIARCH}/libqb.so.*"
    assert rf.deb_path("%dir %attr(750, root, haclient) {localstatedir}/lib/x/") == "var/lib/x"
    assert rf.deb_path("{unitdir}/a.service") == "${env:DEB_SYSTEMD_UNITDIR}/a.service"
    assert rf.deb_option("--with-initdir={initddir}") == "--with-initdir=/etc/init.d"
    assert rf.deb_option("--with-x=$HOME") == "--with-x=$$HOME"
    with pytest.raises(RenderError, match=r"unknown placeholder \{bogus\}"):
        rf.rpm_path("{bogus}/x")


def test_dep5_license() -> None:
    assert rf.dep5_license("GPL-2.0-or-later AND LGPL-2.1-or-later") == (
        "GPL-2+ and LGPL-2.1+", [("GPL-2+", "GPL-2"), ("LGPL-2.1+", "LGPL-2.1")])
    assert rf.dep5_license("GPL-2.0-or-later WITH Autoconf-exception-2.0")[0] == "GPL-2+ with Autoconf exception"
    assert rf.dep5_license("MIT")[1] == [("Expat", "")]


# ---------------------------------------------------------------------------
# render_component
# ---------------------------------------------------------------------------


@pytest.fixture
def sample(tmp_path: Path) -> manifest.Manifest:
    return manifest.load(rs.make_project(tmp_path / "project"))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_render_component_paths_and_purity(sample: manifest.Manifest, tmp_path: Path) -> None:
    comp = sample.get(rs.NAME)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    files = render.render_component(sample, comp)
    assert sorted(files) == [
        "debian/changelog", "debian/control", "debian/copyright", "debian/rules", "debian/sample-hello-tools.install",
        "debian/sample-hello.docs", "debian/sample-hello.install", "debian/sample-hello.sysusers",
        "debian/source/format", "debian/upstream/metadata",
        "debian/watch", "sample-hello.changes", "sample-hello.spec",
    ]
    assert all(isinstance(v, bytes) for v in files.values())
    assert render.render_component(sample, comp) == files  # deterministic
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # wrote nothing
    assert sorted(render.render_component(sample, comp, formats=("spec",))) == ["sample-hello.changes",
                                                                                 "sample-hello.spec"]


def test_opensuse_changes_from_the_release_history(sample: manifest.Manifest) -> None:
    import re

    text = render.render_component(sample, sample.get(rs.NAME), formats=("spec",))["sample-hello.changes"].decode()
    entries = text.split("-" * 67 + "\n")[1:]
    assert [e.splitlines()[2] for e in entries] == [f"- Update to version {rs.VERSION}:", "- Update to version 1.2.2:"]
    # the header osc vc writes: date in UTC, then the packager
    assert entries[0].splitlines()[0] == f"Wed Nov 25 12:00:00 UTC 2026 - {rs.PACKAGER}"
    assert entries[1].splitlines()[0] == "Mon Mar  2 08:30:00 UTC 2026 - Jörg Müller <joerg@example.org>"
    assert "  * Greet 100% of users, even with %{macros} and *stars*" in entries[0]
    assert all(re.fullmatch(r"(  \* |    ).{1,63}", line) for e in entries for line in e.splitlines()[3:] if line)


def test_control_and_changelog_parse(sample: manifest.Manifest) -> None:
    files = render.render_component(sample, sample.get(rs.NAME), formats=("debian",))
    stanzas = list(Deb822.iter_paragraphs(files["debian/control"].decode("utf-8")))
    assert [s.get("Source") or s["Package"] for s in stanzas] == ["sample-hello", "sample-hello", "sample-hello-tools"]
    assert stanzas[0]["Build-Depends"].split(",")[0].strip() == "debhelper-compat (= 13)"
    assert stanzas[0]["Rules-Requires-Root"] == "no"
    assert stanzas[1]["Description"].splitlines()[0] == "Greets the world 100% of the time"
    changelog = Changelog(files["debian/changelog"].decode("utf-8"), strict=True)
    assert [str(block.version) for block in changelog] == ["1.2.3-1", "1.2.2-1"]
    assert changelog[1].author == "Jörg Müller <joerg@example.org>"
    assert files["debian/source/format"] == b"3.0 (quilt)\n"
    assert files["debian/sample-hello.install"].decode().splitlines() == [
        "debian/tmp/usr/bin/sample-hello", "debian/tmp/etc/sample-hello.conf",
        "debian/tmp/${env:DEB_SYSTEMD_UNITDIR}/sample-hello.service", "debian/tmp/etc/init.d/sample-hello"]


def test_a_dir_entry_is_the_directory_alone_on_debian(sample: manifest.Manifest) -> None:
    """dh_install copies a directory with its contents: %dir goes to debian/PACKAGE.dirs."""
    _edit(sample.path, '        - "{bindir}/sample-hello"\n',
          '        - "{bindir}/sample-hello"\n        - "%dir {datadir}/sample-hello"\n'
          '        - "%dir %attr(750, root, root) {localstatedir}/lib/sample-hello"\n')
    loaded = manifest.load(sample.path)
    files = render.render_component(loaded, loaded.get(rs.NAME))
    assert files["debian/sample-hello.dirs"].decode().splitlines() == ["usr/share/sample-hello", "var/lib/sample-hello"]
    install = files["debian/sample-hello.install"].decode().splitlines()
    assert not [line for line in install if "usr/share/sample-hello" in line or "var/lib" in line], install
    assert "%dir %{_datadir}/sample-hello" in files[f"{rs.NAME}.spec"].decode()
    assert "debian/sample-hello-tools.dirs" not in files


def test_main_debian_package_takes_packaging_deb_name(sample: manifest.Manifest) -> None:
    _edit(sample.path, "    packaging:\n      build_system: make\n",
          "    packaging:\n      build_system: make\n      deb_name: hello-daemon\n")
    loaded = manifest.load(sample.path)
    files = render.render_component(loaded, loaded.get(rs.NAME), formats=("debian",))
    stanzas = list(Deb822.iter_paragraphs(files["debian/control"].decode("utf-8")))
    # the source package keeps the component's name; the main binary package is renamed
    assert [s.get("Source") or s["Package"] for s in stanzas] == ["sample-hello", "hello-daemon", "sample-hello-tools"]
    assert "debian/hello-daemon.install" in files and "debian/sample-hello.install" not in files
    assert "dh_installinit -phello-daemon" in files["debian/rules"].decode()


def test_changelog_is_checked_by_dpkg(sample: manifest.Manifest, tmp_path: Path) -> None:
    files = render.render_component(sample, sample.get(rs.NAME), formats=("debian",))
    (tmp_path / "changelog").write_bytes(files["debian/changelog"])
    done = subprocess.run(["dpkg-parsechangelog", "-l", str(tmp_path / "changelog"), "-S", "Version"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "1.2.3-1" and done.stderr == ""


def test_watch_follows_tarball_and_tags(sample: manifest.Manifest, repo_root: Path) -> None:
    watch = render.render_component(sample, sample.get(rs.NAME), formats=("debian",))["debian/watch"].decode()
    assert watch == "version=4\nhttps://example.org/releases/ sample-hello-(\\d[\\d.]*)\\.tar\\.gz\n"
    real = manifest.load(repo_root / "components.yaml")
    pacemaker = render.render_component(real, real.get("pacemaker"), formats=("debian",))["debian/watch"].decode()
    assert "https://github.com/ClusterLabs/pacemaker/tags .*/archive/refs/tags/Pacemaker-(\\d[\\d.]*)\\.tar\\.gz" \
        in pacemaker


def test_github_archive_directory(repo_root: Path) -> None:
    real = manifest.load(repo_root / "components.yaml")
    spec = render.render_component(real, real.get("pacemaker"), formats=("spec",))["pacemaker.spec"].decode()
    assert "%autosetup -p1 -n pacemaker-Pacemaker-%{version}\n" in spec


def test_missing_tarball_names_component_and_field(sample: manifest.Manifest, tmp_path: Path) -> None:
    _edit(sample.path, "    tarball: https://example.org/releases/{name}-{version}.tar.gz\n", "")
    loaded = manifest.load(sample.path)
    with pytest.raises(RenderError) as info:
        render.render_component(loaded, loaded.get(rs.NAME))
    assert info.value.message.startswith("sample-hello: templates/spec/base.spec.j2:")
    assert info.value.message.endswith(": no value for components[sample-hello].tarball")


def test_missing_packager_names_the_history_entry(sample: manifest.Manifest) -> None:
    history_file = sample.path.parent / "history" / f"{rs.NAME}.json"
    data = json.loads(history_file.read_text())
    data["releases"][1]["packager"] = ""
    history_file.write_text(json.dumps(data))
    _edit(sample.path, f"  packager: {rs.PACKAGER}\n", "")
    loaded = manifest.load(sample.path)
    with pytest.raises(RenderError, match=r"no value for history/sample-hello.json\[1\.2\.2\]\.packager"):
        render.render_component(loaded, loaded.get(rs.NAME))


def test_component_template_beside_the_manifest(sample: manifest.Manifest) -> None:
    spec_dir = sample.path.parent / "templates" / "spec"
    spec_dir.mkdir(parents=True)
    (spec_dir / f"{rs.NAME}.spec.j2").write_text(
        '{% extends "spec/base.spec.j2" %}\n{% block check %}\n\n%check\n# {{ c.summary }}\n{% endblock %}\n')
    spec = render.render_component(sample, sample.get(rs.NAME), formats=("spec",))[f"{rs.NAME}.spec"].decode()
    assert "\n%check\n# Greets the world 100%% of the time\n" in spec
    assert "make -n check" not in spec


def test_component_rules_template_adds_configure_options(sample: manifest.Manifest) -> None:
    # A Debian-only configure option (sbd's --with-configdir=/etc/default) beside the manifest's own.
    _edit(sample.path, "build_system: make", "build_system: autotools\n      configure_options: [--enable-a, --enable-b]")
    rules_dir = sample.path.parent / "templates" / "debian" / rs.NAME
    rules_dir.mkdir(parents=True, exist_ok=True)
    (rules_dir / "rules.j2").write_text('{% extends "debian/rules.j2" %}\n'
                                        '{% block configure_options %}{{ super() }} \\\n\t\t--with-x=/etc/default'
                                        '{% endblock %}\n')
    loaded = manifest.load(sample.path)
    rules = render.render_component(loaded, loaded.get(rs.NAME), formats=("debian",))["debian/rules"].decode()
    recipe = rules.split("override_dh_auto_configure:\n", 1)[1].split("\n\n", 1)[0]
    options = [line.strip().rstrip(" \\") for line in recipe.splitlines()]
    assert options == ["dh_auto_configure --", "--enable-a", "--enable-b", "--with-x=/etc/default"]


def test_template_syntax_error(sample: manifest.Manifest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken"
    (broken / "spec").mkdir(parents=True)
    (broken / "spec" / "base.spec.j2").write_text("Name: {{ c.name }\n")
    monkeypatch.setenv("RELEASETOOL_TEMPLATES", str(broken))
    with pytest.raises(RenderError, match=r"base.spec.j2:1: template syntax error"):
        render.render_component(sample, sample.get(rs.NAME), formats=("spec",))


def test_unknown_format(sample: manifest.Manifest) -> None:
    with pytest.raises(RenderError, match="unknown packaging format 'arch'"):
        render.render_component(sample, sample.get(rs.NAME), formats=("arch",))


# ---------------------------------------------------------------------------
# write_rendered
# ---------------------------------------------------------------------------


def test_write_rendered_writes_keeps_and_removes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    files = {"x.spec": b"spec\n", "debian/rules": b"#!/usr/bin/make -f\n", "debian/a.install": b"usr/bin/a\n"}
    first = render.write_rendered(out, "x", files)
    assert sorted(first.written) == sorted(files) and first.unchanged == []
    assert (out / "x" / "debian" / "rules").stat().st_mode & 0o777 == 0o755
    assert (out / "x" / "x.spec").stat().st_mode & 0o777 == 0o644
    keep = out / "x" / "debian" / "patches" / "local.patch"  # not ours: never touched
    keep.parent.mkdir()
    keep.write_text("patch\n")
    inode = (out / "x" / "x.spec").stat().st_ino

    second = render.write_rendered(out, "x", {"x.spec": b"spec\n", "debian/rules": b"#!/usr/bin/make -f\n"})
    assert second.written == [] and second.removed == ["debian/a.install"]
    assert (out / "x" / "x.spec").stat().st_ino == inode  # unchanged file not rewritten
    assert not (out / "x" / "debian" / "a.install").exists()
    assert keep.read_text() == "patch\n"

    # Rendering only the spec leaves the debian/ files alone.
    third = render.write_rendered(out, "x", {"x.spec": b"new spec\n"})
    assert third.written == ["x.spec"] and third.removed == []
    assert (out / "x" / "debian" / "rules").exists()


def test_write_rendered_check_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    render.write_rendered(out, "x", {"x.spec": b"spec\n", "debian/a.install": b"a\n"})
    snapshot = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    outcome = render.write_rendered(out, "x", {"x.spec": b"changed\n", "debian/b.install": b"b\n"}, check=True)
    assert outcome.differing == ["debian/a.install", "debian/b.install", "x.spec"]
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == snapshot


def test_write_rendered_refuses_escaping_paths(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="refusing to write"):
        render.write_rendered(tmp_path, "x", {"../evil": b""})


def test_render_all_resumes_from_journal(sample: manifest.Manifest, tmp_path: Path) -> None:
    out = tmp_path / "out"
    comps = [sample.get(rs.NAME)]
    outcomes = render.render_all(sample, comps, out)
    assert outcomes[0].written and not (out / ".render-journal").exists()
    # A run killed after writing: its journal says the component is done, for the same inputs.
    (out / rs.NAME / f"{rs.NAME}.spec").write_text("edited by hand\n")
    files = render.render_component(sample, comps[0])
    Journal(out / render.JOURNAL, render.plan_id([(rs.NAME, files)])).record(rs.NAME)
    resumed = render.render_all(sample, comps, out)
    assert resumed[0].written == []  # skipped: recorded as done by the interrupted run
    assert not (out / ".render-journal").exists()
    again = render.render_all(sample, comps, out)
    assert again[0].written == [f"{rs.NAME}.spec"]  # a fresh run restores the file


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------


def test_cli_render_check_and_dry_run(sample: manifest.Manifest, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rendered"
    args = ["--manifest", str(sample.path), "render", rs.NAME, "--out", str(out)]
    assert main([*args, "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert not out.exists()
    assert f"{out / rs.NAME / (rs.NAME + '.spec')}" in captured.out.splitlines()
    assert captured.err == f"render {rs.NAME}: would write 13, unchanged 0 ({out / rs.NAME})\n"

    assert main(args) == 0
    assert capsys.readouterr().err == f"render {rs.NAME}: wrote 13, unchanged 0 ({out / rs.NAME})\n"
    assert main([*args, "--check"]) == 0
    assert capsys.readouterr().err == f"render: 1 component up to date in {out}\n"

    (out / rs.NAME / "debian" / "watch").write_text("stale\n")
    assert main([*args, "--check"]) == 1
    captured = capsys.readouterr()
    assert captured.out == f"{out / rs.NAME / 'debian' / 'watch'}\n"
    assert captured.err == f"render: 1 file differs from the templates; run `releasetool render {rs.NAME}` to update\n"


def test_cli_json(sample: manifest.Manifest, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rendered"
    assert main(["--manifest", str(sample.path), "render", "--all", "--out", str(out), "--format", "spec",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == [{"name": rs.NAME, "directory": str(out / rs.NAME),
                     "written": [f"{rs.NAME}.changes", f"{rs.NAME}.spec"],
                     "unchanged": [], "removed": [], "check": False}]
    assert sorted(os.listdir(out / rs.NAME)) == [".rendered.json", f"{rs.NAME}.changes", f"{rs.NAME}.spec"]


def test_cli_bad_input(sample: manifest.Manifest, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--manifest", str(sample.path), "render"]) == 2
    assert capsys.readouterr().err == (
        "error: render needs component names or --all (not both)\n"
        "hint: e.g. `releasetool render libqb` or `releasetool render --all`\n")
    assert main(["--manifest", str(sample.path), "render", "sample-helo"]) == 2
    assert capsys.readouterr().err == (
        f"error: {sample.path}: no component named 'sample-helo' (did you mean 'sample-hello'?)\n"
        "hint: `releasetool list` shows every component\n")
    _edit(sample.path, "    tarball: https://example.org/releases/{name}-{version}.tar.gz\n", "")
    out = tmp_path / "rendered"
    assert main(["--manifest", str(sample.path), "render", rs.NAME, "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: sample-hello: templates/spec/base.spec.j2:")
    assert err[0].endswith(": no value for components[sample-hello].tarball")
    assert err[1] == "hint: add the field to component 'sample-hello' in the manifest (or guard it in the template)"
    assert not out.exists()  # nothing half-written


# ---------------------------------------------------------------------------
# Steps done by hand (templates/by-hand/NAME.j2)
# ---------------------------------------------------------------------------


def test_by_hand_steps_in_both_formats(sample: manifest.Manifest) -> None:
    (sample.path.parent / "templates" / "by-hand" / f"{rs.NAME}.j2").write_text(
        '{% set steps = [("a.conf", "{sysconfdir}/a.conf", "0640"), ("{bindir}/x", "{sbindir}/x", "move"),'
        ' ("{bindir}/y", "", "delete")] %}\n')
    files = render.render_component(sample, sample.get(rs.NAME))
    spec = files[f"{rs.NAME}.spec"].decode()
    assert ("install -D -m 0640 a.conf %{buildroot}%{_sysconfdir}/a.conf\n"
            "install -d %{buildroot}%{_sbindir}\n"
            "mv %{buildroot}%{_bindir}/x %{buildroot}%{_sbindir}/x\n"
            "rm -rf %{buildroot}%{_bindir}/y\n") in spec
    rules = files["debian/rules"].decode()
    assert ("\tinstall -D -m 0640 a.conf debian/tmp/etc/a.conf\n"
            "\tinstall -d debian/tmp/usr/sbin\n"
            "\tmv debian/tmp/usr/bin/x debian/tmp/usr/sbin/x\n"
            "\trm -rf debian/tmp/usr/bin/y\n") in rules


def test_by_hand_mode_and_interpreter_of_installed_files_and_steps_by_version(sample: manifest.Manifest) -> None:
    (sample.path.parent / "templates" / "by-hand" / f"{rs.NAME}.j2").write_text(
        '{% set steps = [("{bindir}/x", "", "chmod 0755")] %}\n'
        '{% if at_least("1.2") %}{% set steps = steps + [("{datadir}/t/agent.py", "", "interpreter /usr/bin/python3")]'
        ' %}{% endif %}\n'
        '{% if at_least("1.10") %}{% set steps = steps + [("{bindir}/never", "", "delete")] %}{% endif %}\n')
    files = render.render_component(sample, sample.get(rs.NAME))  # 1.2.3: 1.2 <= 1.2.3 < 1.10
    spec, rules = files[f"{rs.NAME}.spec"].decode(), files["debian/rules"].decode()
    assert ("chmod 0755 %{buildroot}%{_bindir}/x\n"
            "sed -i -e '1s|^#!.*|#!/usr/bin/python3|' %{buildroot}%{_datadir}/t/agent.py\n") in spec
    assert ("\tchmod 0755 debian/tmp/usr/bin/x\n"
            "\tsed -i -e '1s|^#!.*|#!/usr/bin/python3|' debian/tmp/usr/share/t/agent.py\n") in rules
    assert "never" not in spec and "never" not in rules


@pytest.mark.parametrize(("steps", "message"), [
    ('[("a", "b")]', r"steps\[0\] must be \(source, destination, mode or action\)"),
    ('[("a", "{datadir}/a", "rwx")]', r"steps\[0\]: 'rwx' is neither a file mode nor one of install, move, delete, chmod MODE, interpreter PATH"),
    ('[("a", "{nodir}/a", "0644")]', r"steps\[0\]: unknown placeholder \{nodir\}"),
    ('[("{bindir}/a", "", "chmod 9999")]', r"steps\[0\]: 'chmod 9999' is neither a file mode nor one of"),
    ('[("{bindir}/a", "", "interpreter python3")]', r"steps\[0\]: 'interpreter python3' is neither"),
])
def test_by_hand_steps_bad(sample: manifest.Manifest, steps: str, message: str) -> None:
    (sample.path.parent / "templates" / "by-hand" / f"{rs.NAME}.j2").write_text("{% set steps = " + steps + " %}\n")
    with pytest.raises(RenderError, match=message):
        render.render_component(sample, sample.get(rs.NAME))


@pytest.mark.parametrize("build_system", ["autotools", "make", "python", "cmake", "meson", "none"])
def test_every_build_system_renders_a_valid_spec(sample: manifest.Manifest, tmp_path: Path, repo_root: Path,
                                                  build_system: str) -> None:
    _edit(sample.path, "build_system: make", f"build_system: {build_system}")
    loaded = manifest.load(sample.path)
    files = render.render_component(loaded, loaded.get(rs.NAME))
    spec = tmp_path / f"{rs.NAME}.spec"
    spec.write_bytes(files[f"{rs.NAME}.spec"])
    parsed = subprocess.run(["rpmspec", "-P", str(spec)], capture_output=True, text=True, check=False)
    assert parsed.returncode == 0, parsed.stderr
    lint = subprocess.run(["rpmlint", "-c", str(repo_root / "rpmlint.toml"), str(spec)],
                          capture_output=True, text=True, check=False)
    assert lint.returncode == 0 and ": E: " not in lint.stdout, lint.stdout
    rules = files["debian/rules"].decode()
    expected_dh = {"python": "dh $@ --buildsystem=pybuild", "cmake": "dh $@ --buildsystem=cmake",
                   "meson": "dh $@ --buildsystem=meson"}.get(build_system, "dh $@")
    assert f"\t{expected_dh}\n" in rules


def test_deb_build_system_overrides_debhelpers_guess(sample: manifest.Manifest, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(sample.path, "build_system: make", "build_system: make\n      deb_build_system: autoconf")
    loaded = manifest.load(sample.path)
    rules = render.render_component(loaded, loaded.get(rs.NAME))["debian/rules"].decode()
    assert "\tdh $@ --buildsystem=autoconf\n" in rules
    _edit(sample.path, "deb_build_system: autoconf", "deb_build_system: autotools")
    assert main(["validate", "--manifest", str(sample.path)]) == 2
    assert f"components[{rs.NAME}].packaging.deb_build_system: " in capsys.readouterr().err


def test_relations_between_all_and_any_packages_are_binnmu_safe(sample: manifest.Manifest) -> None:
    _edit(sample.path, "      subpackages:\n",
          '      requires:\n        deb: ["sample-hello-tools (= ${binary:Version})", "other (= ${binary:Version})"]\n'
          "      subpackages:\n")
    loaded = manifest.load(sample.path)
    control = render.render_component(loaded, loaded.get(rs.NAME), formats=("debian",))["debian/control"].decode()
    stanzas = list(Deb822.iter_paragraphs(control))
    assert [d.strip() for d in stanzas[1]["Depends"].split(",") if d.strip()] == [
        "${shlibs:Depends}", "${misc:Depends}", "sample-hello-tools (= ${source:Version})", "other (= ${binary:Version})"]
    assert [d.strip() for d in stanzas[2]["Depends"].split(",") if d.strip()] == [
        "${misc:Depends}", "sample-hello (>= ${source:Version})", "sample-hello (<< ${source:Version}.1~)"]


def test_control_relations_have_no_trailing_comma() -> None:
    control = "Source: x\nBuild-Depends:\n a,\n b,\nStandards-Version: 4.6.2\n\nPackage: x\nDepends:\n c,\n" \
              "Description: s\n ends with a comma,\n"
    assert render._without_trailing_commas(control) == (
        "Source: x\nBuild-Depends:\n a,\n b\nStandards-Version: 4.6.2\n\nPackage: x\nDepends:\n c\n"
        "Description: s\n ends with a comma,\n")


def test_template_syntax_in_values_stays_literal(sample: manifest.Manifest) -> None:
    _edit(sample.path, "summary: Greets the world 100% of the time", "summary: 'Uses {{ c.name }} and {% raw %}.'")
    loaded = manifest.load(sample.path)
    files = render.render_component(loaded, loaded.get(rs.NAME))
    assert "Summary:        Uses {{ c.name }} and {%% raw %%}\n" in files[f"{rs.NAME}.spec"].decode()
    assert "Description: Uses {{ c.name }} and {% raw %}\n" in files["debian/control"].decode()


@pytest.mark.slow  # kills processes
def test_render_all_finishes_after_sigkill(repo_root: Path, tmp_path: Path) -> None:
    """A run killed (SIGKILL) while writing the second component is finished by running again."""
    out = tmp_path / "out"
    script = f"""
import os, signal
from releasetool import manifest
from releasetool.render import packaging as render
real = render.write_rendered
calls = []
def dying(*args, **kwargs):
    calls.append(args[1])
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args, **kwargs)
render.write_rendered = dying
loaded = manifest.load({str(repo_root / "components.yaml")!r})
render.render_all(loaded, loaded.select([], all_=True), {str(out)!r})
"""
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert killed.returncode == -9, killed.stderr
    loaded = manifest.load(repo_root / "components.yaml")
    comps = loaded.select([], all_=True)
    assert (out / render.JOURNAL).exists()
    assert (out / comps[0].name).is_dir() and not (out / comps[1].name).exists()

    outcomes = render.render_all(loaded, comps, out)
    assert outcomes[0].written == [] and outcomes[1].written  # the first was done before the kill
    assert not (out / render.JOURNAL).exists()
    assert all(not o.differing for o in render.render_all(loaded, comps, out, check=True))


def test_libraries_split_by_soname_on_deb_and_as_upstream_on_rpm(repo_root: Path) -> None:
    real = manifest.load(repo_root / "components.yaml")

    def deb_packages(comp: manifest.Component) -> list[str]:
        control = render.render_component(real, comp, formats=("debian",))["debian/control"].decode()
        return [s["Package"] for s in Deb822.iter_paragraphs(control) if "Package" in s]

    pacemaker = real.get("pacemaker")
    assert {"libcrmcommon68", "libcib54", "libpe-rules51"} <= set(deb_packages(pacemaker.at_version("3.0.2")))
    older = deb_packages(pacemaker.at_version("2.1.5"))  # Debian 12's names for 2.1.5's sonames
    assert {"libcrmcommon34", "libcib27", "libpe-rules26", "libpacemaker1"} <= set(older)
    assert "pacemaker-libs" not in older and "libcrmcommon68" not in older
    spec = render.render_component(real, pacemaker, formats=("spec",))["pacemaker.spec"].decode()
    assert "%package -n pacemaker-libs\n" in spec and "libcrmcommon68" not in spec

    # a file the main package lists and an rpm-only package lists too: in that package
    # on rpm, in the main package on deb (cluster-glue's test programs)
    glue = render.render_component(real, real.get("cluster-glue"))
    spec_files = glue["cluster-glue.spec"].decode().split("%files")
    main_rpm = next(part for part in spec_files if part.startswith("\n"))
    devel_rpm = next(part for part in spec_files if part.startswith(" -n cluster-glue-libs-devel"))
    assert "heartbeat/ipctest" not in main_rpm and "heartbeat/ipctest" in devel_rpm
    assert any(line.endswith("heartbeat/ipctest") for line in glue["debian/cluster-glue.install"].decode().splitlines())
    assert "debian/libplumb2.install" in glue and "debian/cluster-glue-libs.install" not in glue
