"""site build: valid HTML, versions.json against its schema, the feed, escaping, refusal and the atomic swap."""

from __future__ import annotations

import hashlib
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import html5lib
import jsonschema
import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from site_helpers import component, site_data_file, write_manifest

from releasetool.cli import main
from releasetool.errors import SiteError
from releasetool.manifest import Component, load
from releasetool.site import build as site_build
from releasetool.site import data as site_data
from releasetool.site.data import Release, SiteData
from releasetool.site.serve import make_server, serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "site" / "versions.schema.json").read_text())
HOSTILE = "<script>alert(\"x\")</script> & 'quoted'"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return write_manifest(tmp_path / "components.yaml", [
        component("widget", git="https://github.com/acme/widget.git", version="1.0.0", released="2023-12-01",
                  tarball="https://example.org/dl/widget-{version}.tar.gz", summary="Widgets for clusters",
                  packaging={"build_system": "autotools", "deb_name": "widget-tools"}),
        component("gadget", git="https://git.example.org/gadget.git", version="2.0", released="2023-05-02"),
        component("gizmo", git="https://git.example.org/gizmo.git", version="0.5", released="2022-10-10",
                  tarball="https://example.org/dl/gizmo-{version}.tar.xz"),
    ])


def validate_site(out: Path) -> dict[str, Any]:
    """Every page parses without a single HTML error; versions.json follows its schema; the feed is XML."""
    pages = sorted(out.rglob("*.html"))
    assert pages
    for page in pages:
        parser = html5lib.HTMLParser(strict=True)
        parser.parse(page.read_bytes())  # raises on the first parse error
    versions = json.loads((out / "versions.json").read_text())
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(versions)
    ET.fromstring((out / "releases.atom").read_bytes())
    for page in pages:  # no external assets: every src/href to a stylesheet is local
        text = page.read_text()
        assert "<script" not in text
        assert 'rel="stylesheet" href="http' not in text
    return versions


def build(manifest: Path, out: Path, data: Path | None, *extra: str) -> int:
    argv = ["--manifest", str(manifest), "site", "build", "--out", str(out)]
    if data is not None:
        argv += ["--data", str(data)]
    return main([*argv, *extra])


def test_without_data_the_page_shows_the_manifest_versions(manifest: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "_site"
    assert build(manifest, out, tmp_path / "none.json") == 0
    assert capsys.readouterr().err.splitlines() == [
        f"no discovery data at {tmp_path / 'none.json'}: the page shows the manifest's versions",
        f"published 29 files to {out}",
    ]
    versions = validate_site(out)
    assert versions["from_manifest_only"] is True
    assert [c["latest_stable"]["version"] for c in versions["components"]] == ["1.0.0", "2.0", "0.5"]
    index = (out / "index.html").read_text()
    assert "<strong>Offline data.</strong>" in index
    assert sorted(p.name for p in (out / "c").glob("*.html")) == ["gadget.html", "gizmo.html", "widget.html"]
    # each component: its page, JSON, feed, a badge of its own and one for each of the 4 targets
    assert len(list((out / "c").iterdir())) == 3 * (4 + 4)


def test_the_page_shows_discovered_data(manifest: Path, tmp_path: Path) -> None:
    data = site_data_file(tmp_path / "site-data.json")
    out = tmp_path / "_site"
    assert build(manifest, out, data) == 0
    versions = validate_site(out)
    widget = versions["components"][0]
    assert widget["latest_stable"]["version"] == "1.1.0"
    assert widget["latest_stable"]["checksum"] == "https://example.org/dl/widget-1.1.0.tar.gz.sha256"
    assert widget["latest_stable"]["signature"] is None  # the release's files are known and have none
    assert widget["latest_prerelease"]["version"] == "1.2.0-rc1"
    index = (out / "index.html").read_text()
    assert '<span class="badge pre">pre-release</span> <span class="v">1.2.0-rc1</span>' in index
    # gizmo failed 3 days after its last success: stale, with its age
    assert "stale: 3 days old" in index
    assert "Offline data." not in index
    # a component missing from the data comes from the manifest
    assert versions["components"][1]["origin"] == "manifest"
    repos = {r["name"]: r["states"] for r in versions["repositories"]}
    assert repos["openSUSE_Tumbleweed"] == {"failed": 1} and repos["Debian_12"] == {"succeeded": 1}
    assert repos["Fedora_41"] == {"building": 1}
    page = (out / "c" / "widget.html").read_text()
    assert "sudo zypper addrepo https://download.opensuse.org/repositories/network:/ha-clustering:/Stable/" \
           "openSUSE_Tumbleweed/network:ha-clustering:Stable.repo" in page
    assert "sudo apt install widget-tools" in page  # the Debian name of the main package
    assert '<span class="cmd">sudo dnf install widget</span><span class="nl">\n</span>' in page
    assert 'id="history"' in page
    feed = ET.fromstring((out / "releases.atom").read_bytes())
    titles = [e.findtext(f"{ATOM}title") for e in feed.iter(f"{ATOM}entry")]
    assert titles[:3] == ["widget 1.2.0-rc1 (pre-release)", "widget 1.1.0", "widget 1.0.0"]


def test_a_prerelease_older_than_the_stable_is_not_shown(manifest: Path, tmp_path: Path) -> None:
    path = site_data_file(tmp_path / "site-data.json")
    data = site_data.load(path)
    assert data is not None
    data.components["widget"].latest_prerelease = None  # discovery drops a pre-release older than the stable
    site_data.save(path, data)
    out = tmp_path / "_site"
    assert build(manifest, out, path) == 0
    assert "badge pre" not in (out / "index.html").read_text()


def test_hostile_upstream_strings_are_escaped_everywhere(manifest: Path, tmp_path: Path) -> None:
    path = site_data_file(tmp_path / "site-data.json")
    data = site_data.load(path)
    assert data is not None
    widget = data.components["widget"]
    hostile = Release(f"9.9{HOSTILE}", "v9.9\"><img src=x onerror=alert(1)>\x01", "2024-06-01",
                      url="javascript:alert(1)")
    widget.releases.insert(0, hostile)
    widget.latest_stable = hostile
    data.components["gizmo"].errors = [f"github: {HOSTILE}"]
    site_data.save(path, data)
    out = tmp_path / "_site"
    assert build(manifest, out, path) == 0
    versions = validate_site(out)
    for page in [out / "index.html", out / "c" / "widget.html", out / "c" / "gizmo.html"]:
        text = page.read_text()
        assert "<img" not in text and "javascript:" not in text
    assert "9.9&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;quoted&#39;" in (out / "index.html").read_text()
    raw = (out / "versions.json").read_text()
    assert "<" not in raw and ">" not in raw
    assert versions["components"][0]["latest_stable"]["version"] == f"9.9{HOSTILE}"
    assert versions["components"][0]["latest_stable"]["tag"] == "v9.9\"><img src=x onerror=alert(1)>\N{REPLACEMENT CHARACTER}"
    assert versions["components"][2]["errors"] == [f"github: {HOSTILE}"]
    # the version is quoted inside the tarball URL
    assert versions["components"][0]["latest_stable"]["tarball"].startswith("https://example.org/dl/widget-9.9%3Cscript%3E")
    feed = ET.fromstring((out / "releases.atom").read_bytes())
    assert feed.find(f"{ATOM}entry/{ATOM}title").text == f"widget 9.9{HOSTILE}"  # type: ignore[union-attr]


def test_more_than_half_failing_keeps_the_published_site(manifest: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "_site"
    good = site_data_file(tmp_path / "good.json")
    assert build(manifest, out, good) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    bad = site_data_file(tmp_path / "bad.json", sources_failed=3)
    capsys.readouterr()
    assert build(manifest, out, bad) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: refusing to publish: 3 of 5 sources failed in the discovery of 2024-06-10T12:00:05Z; {out} "
        "is left as it was",
        "hint: re-run `releasetool site discover` when the sources answer; --allow-failures publishes anyway",
    ]
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert build(manifest, out, bad, "--allow-failures") == 0


def test_a_rebuild_is_a_no_op_and_a_change_is_swapped_in(manifest: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "_site"
    data = site_data_file(tmp_path / "site-data.json")
    assert build(manifest, out, data) == 0
    capsys.readouterr()
    assert build(manifest, out, data) == 0
    assert capsys.readouterr().err.splitlines() == [f"{out} is up to date (29 files)"]
    old_inode = out.stat().st_ino
    site_data_file(data, generated_at="2024-06-11T12:00:05Z")
    assert build(manifest, out, data, "--dry-run") == 0
    assert capsys.readouterr().err.splitlines() == [f"dry run: would publish 29 files to {out}"]
    assert out.stat().st_ino == old_inode
    assert build(manifest, out, data) == 0
    assert out.stat().st_ino != old_inode  # a new directory took the old one's place
    assert "2024-06-11T12:00:05Z" in (out / "index.html").read_text()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("._site")) == [
        "._site.lock"]  # nothing left beside it but the lock file


class Killed(BaseException):
    """Stands for SIGKILL: nothing after the raise runs."""


@pytest.mark.slow  # kills processes
def test_a_killed_build_leaves_the_old_site_and_a_rerun_finishes(manifest: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "_site"
    data = site_data_file(tmp_path / "site-data.json")
    assert build(manifest, out, data) == 0
    old = (out / "index.html").read_bytes()
    site_data_file(data, generated_at="2024-06-12T00:00:00Z")
    real_write = site_build._write_tree

    def half_written(root: Path, files: dict[str, bytes], links: dict[str, str] | None = None) -> None:
        real_write(root, dict(list(files.items())[:3]), links)
        raise Killed

    monkeypatch.setattr(site_build, "_write_tree", half_written)
    with pytest.raises(Killed):
        site_build.build_site(load(manifest), site_build.BuildSettings(out=out, data_path=data))
    assert (out / "index.html").read_bytes() == old  # still the whole old site
    monkeypatch.setattr(site_build, "_write_tree", real_write)

    real_swap = site_build._swap_in

    def swapped_then_killed(new: Path, target: Path) -> None:
        real_swap(new, target)
        raise Killed

    monkeypatch.setattr(site_build, "_swap_in", swapped_then_killed)
    with pytest.raises(Killed):
        site_build.build_site(load(manifest), site_build.BuildSettings(out=out, data_path=data))
    monkeypatch.setattr(site_build, "_swap_in", real_swap)
    assert "2024-06-12T00:00:00Z" in (out / "index.html").read_text()
    report = site_build.build_site(load(manifest), site_build.BuildSettings(out=out, data_path=data))
    assert not report.changed
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("._site.new")] == []
    validate_site(out)


def test_malformed_data_is_one_clear_error(manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "site-data.json"
    bad.write_text('{"schema": 7}')
    assert build(manifest, tmp_path / "_site", bad) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {bad}: not a schema 1 site data file (found 7)",
        "hint: run `releasetool site discover` to write it again",
    ]
    assert not (tmp_path / "_site").exists()


def test_serve_answers_on_localhost(manifest: Path, tmp_path: Path) -> None:
    out = tmp_path / "_site"
    assert build(manifest, out, None) == 0
    server, base = serve_in_thread(out)
    try:
        assert base.startswith("http://127.0.0.1:")
        page = requests.get(base, timeout=5)
        assert page.status_code == 200 and "Latest releases" in page.text
        feed = requests.get(base + "releases.atom", timeout=5)
        assert feed.headers["Content-Type"] == "application/atom+xml"
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(SiteError, match="no built site here"):
        make_server(tmp_path / "nothing")


def test_pages_rendered_by_child_processes_are_the_same(manifest: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from releasetool.site.view import site_view

    data, _ = site_build.load_data(load(manifest), site_data_file(tmp_path / "site-data.json"))
    view = site_view(load(manifest), data)
    serial = site_build.render(view)
    monkeypatch.setattr(site_build, "PARALLEL_FROM", 2)
    monkeypatch.setattr(site_build.os, "sched_getaffinity", lambda _pid: {0, 1, 2})
    assert site_build._page_shares(3) == [(0, 0), (0, 2), (2, 3)]  # this process: the index, JSON and feed
    assert site_build.render(view) == serial
    assert list(site_build.render(view)) == list(serial)  # the same files in the same order


def test_a_failure_in_a_child_process_is_raised_here(manifest: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from releasetool.site.view import site_view

    data, _ = site_build.load_data(load(manifest), site_data_file(tmp_path / "site-data.json"))
    view = site_view(load(manifest), data)
    view.components[-1].install = None  # type: ignore[assignment]  # the last page, rendered by a child, fails
    monkeypatch.setattr(site_build, "PARALLEL_FROM", 2)
    monkeypatch.setattr(site_build.os, "sched_getaffinity", lambda _pid: {0, 1})
    forked: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(site_build.os, "fork", fork)
    with pytest.raises(TypeError, match="not iterable"):
        site_build.render(view)
    assert len(forked) == 1
    with pytest.raises(ChildProcessError):  # the child was waited for: nothing is left of it
        os.waitpid(forked[0], os.WNOHANG)


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_colours_meet_wcag_aa_contrast() -> None:
    import re

    css = (ROOT / "site" / "static" / "style.css").read_text()
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6});", css))
    pairs = [("text", "bg"), ("muted", "bg"), ("link", "bg"), ("text", "band"), ("muted", "band"), ("link", "band"),
             ("stale-fg", "stale-bg"), ("pre-fg", "pre-bg"), ("good-fg", "good-bg"), ("bad-fg", "bad-bg")]
    for fg, bg in pairs:
        light, dark = sorted((_luminance(colours[fg]), _luminance(colours[bg])), reverse=True)
        ratio = (light + 0.05) / (dark + 0.05)
        assert ratio >= 4.5, f"{fg} on {bg}: {ratio:.2f}"


@pytest.mark.slow  # waits out a lock
def test_a_second_build_at_once_is_refused_naming_the_holder(manifest: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from releasetool.fsutil import run_lock

    out = tmp_path / "_site"
    with run_lock(tmp_path / "._site.lock", what="test"):
        assert build(manifest, out, None) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-2].startswith(f"error: the site in {out} is locked by pid {os.getpid()} on ")
    assert err[-1] == f"hint: wait for that run to finish; the lock is {tmp_path / '._site.lock'}"
    assert not out.exists()


def test_checksum_signature_and_notes_links_only_for_files_that_exist(manifest: Path) -> None:
    from releasetool.site.view import _links

    comps = load(manifest).components
    widget, gizmo = comps["widget"], comps["gizmo"]
    unknown, _, _ = _links(widget, Release("2.0", "v2.0"))
    assert (unknown.tarball, unknown.checksum, unknown.signature, unknown.changelog) == (
        "https://example.org/dl/widget-2.0.tar.gz", None, None, None)  # nothing listed: nothing guessed
    listed, _, _ = _links(widget, Release("2.0", "v2.0", files=["widget-2.0.tar.gz", "SHA256SUMS",
                                                               "widget-2.0.tar.gz.asc", "widget-2.0.notes.md"]))
    assert (listed.checksum, listed.signature, listed.changelog) == (
        "https://example.org/dl/SHA256SUMS", "https://example.org/dl/widget-2.0.tar.gz.asc",
        "https://example.org/dl/widget-2.0.notes.md")
    page, _, _ = _links(widget, Release("2.0", "v2.0", url="https://github.com/acme/widget/releases/tag/v2.0"))
    assert page.changelog == "https://github.com/acme/widget/releases/tag/v2.0"
    # the manifest records the digest of upstream's tarball of its own version (bundle checks it)
    recorded = Component(**{**widget.__dict__, "tarball_sha256": "0f" * 32})
    assert _links(recorded, Release(widget.version, "v1.0.0"))[1] == "0f" * 32
    assert _links(recorded, Release("2.0", "v2.0"))[1] is None
    archive = Component(**{**gizmo.__dict__, "tarball": "https://github.com/a/gizmo/archive/v{version}/gizmo-{version}.tar.gz"})
    generated, _, _ = _links(archive, Release("0.5", "v0.5"))
    assert (generated.tarball, generated.checksum, generated.signature, generated.changelog) == (
        "https://github.com/a/gizmo/archive/v0.5/gizmo-0.5.tar.gz", None, None, None)


def test_a_local_download_area_is_linked_into_the_site_never_as_file_urls(tmp_path: Path) -> None:
    from releasetool.site.data import ComponentData

    area = tmp_path / "download area"  # a space: the URL has it percent-encoded
    area.mkdir()
    manifest = write_manifest(tmp_path / "components.yaml", [
        component("widget", git="https://github.com/acme/widget.git", version="1.1.0", released="2024-03-01",
                  tarball=f"{area.as_uri()}/widget-{{version}}.tar.gz")])
    for version in ("1.0.0", "1.1.0"):
        (area / f"widget-{version}.tar.gz").write_bytes(f"tarball {version}".encode())
    (area / "widget-1.0.0.tar.gz.asc").write_text("signature")  # 1.1.0 was released without signing
    (area / "widget-1.1.0.notes.md").write_text("# widget 1.1.0\n")
    (area / "SHA256SUMS").write_text("")
    # the area's index.json (as bundle writes it) is read rather than hashing the file again
    (area / "index.json").write_text(json.dumps({"components": [{"name": "widget", "version": "1.0.0", "files": [
        {"name": "widget-1.0.0.tar.gz", "size": 99, "sha256": "e3" * 32, "signature": "widget-1.0.0.tar.gz.asc"}]}]}))
    releases = [Release("1.2.0", "v1.2.0", "2024-05-01"), Release("1.1.0", "v1.1.0", "2024-03-01"),
                Release("1.0.0", "v1.0.0", "2023-12-01")]
    data = SiteData(generated_at="2024-06-10T12:00:05Z", sources_total=1, components={"widget": ComponentData(
        name="widget", origin="upstream", checked_at="2024-06-10T12:00:00Z", last_success_at="2024-06-10T12:00:00Z",
        releases=releases, latest_stable=releases[0])})
    site_data.save(tmp_path / "site-data.json", data)
    out = tmp_path / "_site"
    assert build(manifest, out, tmp_path / "site-data.json") == 0
    versions = validate_site(out)
    rows = {r["version"]: r for r in versions["components"][0]["releases"]}
    assert (rows["1.2.0"]["tarball"], rows["1.2.0"]["sha256"]) == (None, None)  # not in the area: no link
    assert rows["1.1.0"] | {"date": None} == {
        "version": "1.1.0", "tag": "v1.1.0", "date": None, "prerelease": False,
        "tarball": "downloads/widget-1.1.0.tar.gz", "checksum": "downloads/SHA256SUMS", "signature": None,
        "changelog": "downloads/widget-1.1.0.notes.md", "commit": None,
        "sha256": hashlib.sha256(b"tarball 1.1.0").hexdigest(), "size": len(b"tarball 1.1.0")}
    assert rows["1.0.0"]["signature"] == "downloads/widget-1.0.0.tar.gz.asc"
    assert (rows["1.0.0"]["sha256"], rows["1.0.0"]["size"]) == ("e3" * 32, 99)
    assert rows["1.0.0"]["changelog"] is None  # no notes file, no GitHub release page known
    assert (out / "downloads").is_symlink() and (out / "downloads").resolve() == area
    for page in out.rglob("*.html"):
        assert "file:" not in page.read_text(), page
    assert "file:" not in (out / "versions.json").read_text()
    assert 'href="../downloads/widget-1.0.0.tar.gz.asc"' in (out / "c" / "widget.html").read_text()
    server, base = serve_in_thread(out)
    try:  # the site serves the area's files relative to itself
        answer = requests.get(base + "downloads/widget-1.1.0.tar.gz", timeout=5)
        assert answer.content == b"tarball 1.1.0"
    finally:
        server.shutdown()
        server.server_close()


def test_cli_json_report_and_serve_errors(manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "_site"
    data = site_data_file(tmp_path / "site-data.json")
    assert build(manifest, out, data, "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["changed"], report["files"], report["mode"], report["stale"]) == (True, 29, "online", ["gizmo"])
    assert main(["--manifest", str(manifest), "site", "serve", "--dir", str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {tmp_path / 'nothing'}: no built site here (no index.html)",
        "hint: run `releasetool site build` first, or pass --dir",
    ]
    assert main(["--manifest", str(manifest), "site"]) == 2
    assert "SUBCOMMAND" in capsys.readouterr().err


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                     max_leaves=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["origin", "checked_at", "last_success_at", "stale", "errors", "latest_stable", "releases",
                        "sources", "obs", "obs.results", "obs.version", "obs.deb_version", "generated_at",
                        "sources_total", "components", "release.sha256", "release.size", "release.commit",
                        "release.files"]), _JSON)
@example("sources_total", -1)
@example("sources_failed", -1)
def test_a_mutated_data_file_builds_or_gives_one_error(manifest: Path, tmp_path: Path, field: str, value: Any) -> None:
    path = tmp_path / "mutated.json"
    site_data_file(path)
    raw = json.loads(path.read_text())
    if field in ("generated_at", "sources_total", "components"):
        raw[field] = value
    elif field.startswith("obs."):
        raw["components"]["widget"]["obs"][field[4:]] = value
    elif field.startswith("release."):
        raw["components"]["widget"]["releases"][1][field[8:]] = value
    else:
        raw["components"]["widget"][field] = value
    path.write_text(json.dumps(raw))
    try:
        data, _ = site_build.load_data(load(manifest), path)
        from releasetool.site.view import site_view

        files = site_build.render(site_view(load(manifest), data))
    except SiteError as exc:
        assert exc.message.startswith(f"{path}: ")
        return
    # whatever the data file holds, what is published follows the schema
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(files["versions.json"]))


def test_every_source_failing_says_the_versions_come_from_the_manifest(manifest: Path, tmp_path: Path) -> None:
    from releasetool.site.discover import from_manifest

    comps = load(manifest).components
    data = SiteData(generated_at="2024-06-10T12:00:05Z", sources_total=3, sources_failed=3)
    for comp in comps.values():
        entry = from_manifest(comp)
        entry.stale, entry.errors, entry.checked_at = True, ["git: cannot connect"], data.generated_at
        data.components[comp.name] = entry
    path = tmp_path / "site-data.json"
    site_data.save(path, data)
    out = tmp_path / "_site"
    assert build(manifest, out, path) == 1  # refused: every source failed
    assert build(manifest, out, path, "--allow-failures") == 0
    index = (out / "index.html").read_text()
    assert "<strong>No upstream source answered.</strong>" in index
    assert index.count("stale: never refreshed") == 3
    validate_site(out)
