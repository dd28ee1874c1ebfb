"""The second edition of the page: packaged versions per target, verifiable downloads, feeds, badges, JSON, serving."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import requests
from pytest_httpserver import HTTPServer
from site_helpers import (
    WIDGET_COMMITS,
    WIDGET_SHA256,
    component,
    git,
    local_http,
    site_data_file,
    upstream_repo,
    write_manifest,
)
from werkzeug.wrappers import Request, Response

from releasetool.cli import main
from releasetool.manifest import load
from releasetool.site import artifacts, packaged
from releasetool.site import version_sources as sources
from releasetool.site.data import ComponentData, Release
from releasetool.site.fetch import Fetcher
from releasetool.site.serve import serve_in_thread

__all__ = ["local_http"]  # a fixture from site_helpers

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "site" / "versions.schema.json").read_text())
ATOM = "{http://www.w3.org/2005/Atom}"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def built(tmp_path: Path) -> Path:
    manifest = write_manifest(tmp_path / "components.yaml", [
        component("widget", git="https://github.com/acme/widget.git", version="1.0.0", released="2023-12-01",
                  tarball="https://example.org/dl/widget-{version}.tar.gz",
                  distro_versions={"Debian_12": "0.9.2", "Fedora_41": "1.1.0"}),
        component("gizmo", git="https://git.example.org/gizmo.git", version="0.5", released="2022-10-10"),
    ])
    out = tmp_path / "_site"
    data = site_data_file(tmp_path / "site-data.json")
    assert main(["--manifest", str(manifest), "site", "build", "--out", str(out), "--data", str(data)]) == 0
    return out


def test_tags_carry_the_commit_they_point_at(tmp_path: Path) -> None:
    repo = upstream_repo(tmp_path / "up", {"v1.0": True, "v1.1": False})
    found = sources.ls_remote_tags(repo.as_uri())
    assert found == {"v1.0": git(repo, "rev-parse", "v1.0^{commit}").strip(),
                     "v1.1": git(repo, "rev-parse", "v1.1").strip()}
    # the annotated tag's own object is not its commit: the peeled line wins
    assert git(repo, "rev-parse", "v1.0").strip() != found["v1.0"]


def test_the_manifest_names_distribution_versions_of_known_targets_only(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write_manifest(tmp_path / "components.yaml", [
        component("widget", git="https://github.com/acme/widget.git", distro_versions={"Debian_21": "1.0"})])
    assert main(["--manifest", str(manifest), "validate"]) == 2
    err = capsys.readouterr().err
    assert "components[widget].distro_versions.Debian_21: unknown target 'Debian_21' (did you mean 'Debian_12'?)" in err


def test_status_of_a_packaged_version(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "components.yaml", [component("pm", git="https://github.com/a/pm.git")])
    comp = load(manifest).components["pm"]
    # 2.1 kept getting releases after 3.0 began: its newest release is a legacy branch, not outdated
    history = [Release("3.1.0", date="2025-06-01"), Release("2.1.9", date="2025-03-01"),
               Release("3.0.0", date="2025-01-10"), Release("2.1.8", date="2024-08-01"),
               Release("2.0.5", date="2021-01-01"), Release("2.0.6", date="2020-11-01")]
    history.sort(key=lambda r: r.date or "", reverse=True)
    stable = history[0]
    got = {v: packaged.status(comp, v, stable, history)
           for v in ("3.1.0", "3.2.0-rc1", "2.1.9", "2.1.8", "2.0.6", "3.0.0", None)}
    assert got == {"3.1.0": "newest", "3.2.0-rc1": "devel", "2.1.9": "legacy", "2.1.8": "outdated",
                   "2.0.6": "outdated", "3.0.0": "outdated", None: "unknown"}
    assert packaged.status(comp, "1.0", None, []) == "unknown"


def test_versions_json_has_packaged_versions_digests_commits_and_source_state(built: Path) -> None:
    versions = json.loads((built / "versions.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(versions)
    assert (versions["schema_version"], versions["schema_revision"]) == (1, 2)
    widget, gizmo = versions["components"]
    cells = {c["target"]: (c["version"], c["status"], c["build_state"], c["distribution_version"],
                           c["distribution_status"]) for c in widget["packaged"]}
    assert cells == {
        "openSUSE_Tumbleweed": ("1.1.0", "newest", "failed", None, "unknown"),  # built on x86_64, not aarch64
        "Fedora_41": (None, "unknown", "building", "1.1.0", "newest"),
        "AlmaLinux_9": (None, "unknown", None, None, "unknown"),
        "Debian_12": ("1.0.0", "outdated", "succeeded", "0.9.2", "outdated"),
    }
    stable = widget["latest_stable"]
    assert (stable["sha256"], stable["size"], stable["commit"]) == (WIDGET_SHA256, 123456, WIDGET_COMMITS[1])
    assert [r["commit"] for r in widget["releases"]] == list(WIDGET_COMMITS)
    assert gizmo["sources"] == {"git": {"url": "https://git.example.org/gizmo.git", "ok": False,
                                        "checked_at": "2024-06-10T12:00:00Z", "last_success_at": None,
                                        "error": "not found"}}
    assert (widget["feed"], widget["json"], widget["badge"]) == ("c/widget.atom", "c/widget.json", "c/widget.svg")
    # the schema holds the new fields to their form
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for path, bad in ((("latest_stable", "sha256"), "not hex"), (("latest_stable", "commit"), "abc"),
                      (("packaged", 0, "status"), "stale"), (("sources", "git", "ok"), "yes")):
        broken = json.loads(json.dumps(versions))
        node = broken["components"][0] if path[0] != "sources" else broken["components"][1]
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = bad
        assert not validator.is_valid(broken), path


def test_each_component_has_its_json_feed_and_badges(built: Path) -> None:
    own = json.loads((built / "c" / "widget.json").read_text())
    # the component file's definition, its references resolved in the same schema document
    component_schema = {"$defs": SCHEMA["$defs"], "properties": SCHEMA["properties"], "$ref": "#/$defs/componentFile"}
    jsonschema.Draft202012Validator(component_schema).validate(own)
    whole = json.loads((built / "versions.json").read_text())
    assert own["component"] == whole["components"][0]
    assert own["generated_at"] == whole["generated_at"]

    feed = ET.fromstring((built / "c" / "widget.atom").read_bytes())
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None, required
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links == {"self": "https://www.example.org/c/widget.atom",
                     "alternate": "https://www.example.org/c/widget.html"}
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["widget 1.2.0-rc1 (pre-release)", "widget 1.1.0",
                                                            "widget 1.0.0"]
    for entry in entries:
        for required in ("id", "title", "updated"):
            assert entry.find(f"{ATOM}{required}") is not None
    enclosure = entries[1].find(f"{ATOM}link[@rel='enclosure']")
    assert enclosure is not None and enclosure.attrib == {
        "rel": "enclosure", "type": "application/gzip", "href": "https://example.org/dl/widget-1.1.0.tar.gz",
        "length": "123456"}
    assert WIDGET_SHA256 in (entries[1].findtext(f"{ATOM}summary") or "")
    no_size = entries[2].find(f"{ATOM}link[@rel='enclosure']")
    assert no_size is not None and "length" not in no_size.attrib and no_size.get("type") == "application/gzip"
    site_feed = ET.fromstring((built / "releases.atom").read_bytes())
    self_link = site_feed.find(f"{ATOM}link[@rel='self']")
    assert self_link is not None and self_link.get("href") == "https://www.example.org/releases.atom"

    badge = ET.fromstring((built / "c" / "widget.svg").read_bytes())
    assert badge.findtext(f"{SVG}title") == "widget: latest stable release 1.1.0"
    assert [t.text for t in badge.iter(f"{SVG}text")] == ["widget", "1.1.0"]
    debian = ET.fromstring((built / "c" / "widget-Debian_12.svg").read_bytes())
    assert debian.findtext(f"{SVG}title") == "widget in Debian 12 (bookworm): 1.0.0 (outdated)"
    assert debian.findall(f"{SVG}rect")[1].get("fill") == "#b42318"
    page = (built / "c" / "widget.html").read_text()
    for href in ("widget.atom", "widget.json", "widget.svg", "widget-Debian_12.svg"):
        assert f'href="{href}"' in page


def test_a_feed_without_a_site_url_has_no_relative_self_link(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "components.yaml", [component("gizmo", git="https://git.example.org/g.git")])
    raw = json.loads(manifest.read_text())
    del raw["distribution"]["site_url"]
    manifest.write_text(json.dumps(raw))
    out = tmp_path / "_site"
    assert main(["--manifest", str(manifest), "site", "build", "--out", str(out)]) == 0
    feed = ET.fromstring((out / "c" / "gizmo.atom").read_bytes())
    assert feed.find(f"{ATOM}link[@rel='self']") is None
    assert feed.find(f"{ATOM}link[@rel='alternate']").get("href") == "../c/gizmo.html"  # type: ignore[union-attr]


def test_serve_sends_validators_and_cors_for_data(built: Path) -> None:
    server, base = serve_in_thread(built)
    try:
        for name in ("versions.json", "releases.atom", "c/widget.json", "c/widget.atom", "c/widget.svg"):
            answer = requests.get(base + name, timeout=5)
            assert answer.status_code == 200
            assert answer.headers["Access-Control-Allow-Origin"] == "*", name
            assert answer.headers["ETag"] and answer.headers["Last-Modified"]
            again = requests.get(base + name, headers={"If-None-Match": answer.headers["ETag"]}, timeout=5)
            assert (again.status_code, again.content, again.headers["ETag"]) == (304, b"", answer.headers["ETag"])
            since = requests.get(base + name, headers={"If-Modified-Since": answer.headers["Last-Modified"]},
                                 timeout=5)
            assert since.status_code == 304
        page = requests.get(base + "index.html", timeout=5)
        assert "Access-Control-Allow-Origin" not in page.headers and page.headers["ETag"]
        assert requests.get(base + "c/widget.svg", timeout=5).headers["Content-Type"] == "image/svg+xml"
        assert requests.get(base + "versions.json", headers={"If-None-Match": '"other"'}, timeout=5).status_code == 200
    finally:
        server.shutdown()
        server.server_close()


def _entries(tmp_path: Path, tarball: str) -> tuple[list, dict[str, ComponentData]]:  # type: ignore[type-arg]
    manifest = write_manifest(tmp_path / "components.yaml", [
        component("widget", git="https://github.com/acme/widget.git", tarball=tarball)])
    comp = load(manifest).components["widget"]
    releases = [Release("1.1.0", "v1.1.0", files=["widget-1.1.0.tar.gz", "widget-1.1.0.tar.gz.sha256"]),
                Release("1.0.0", "v1.0.0")]
    entry = ComponentData(name="widget", origin="upstream", releases=releases, latest_stable=Release("1.1.0"))
    return [comp], {"widget": entry}


def test_discovery_hashes_tarballs_once_and_revalidates_by_etag(tmp_path: Path, local_http: HTTPServer) -> None:
    body = b"the 1.0.0 tarball" * 1000
    digest = hashlib.sha256(body).hexdigest()
    published = "ab" * 32
    seen: list[str | None] = []

    def tarball(request: Request) -> Response:
        seen.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == '"t1"':
            return Response(status=304, headers={"ETag": '"t1"'})
        return Response(body, headers={"ETag": '"t1"'})

    local_http.expect_request("/dl/widget-1.0.0.tar.gz").respond_with_handler(tarball)
    local_http.expect_request("/dl/widget-1.1.0.tar.gz.sha256").respond_with_data(
        f"{published}  widget-1.1.0.tar.gz\n")
    comps, entries = _entries(tmp_path, local_http.url_for("/dl/widget-{version}.tar.gz"))
    state = tmp_path / "state"
    state.mkdir()
    known = artifacts.annotate(comps, entries, state_dir=state, fetcher=Fetcher(None), timeout=5)
    new, old = entries["widget"].releases
    assert (known, new.sha256, old.sha256, old.size) == (2, published, digest, len(body))
    assert entries["widget"].latest_stable.sha256 == published  # type: ignore[union-attr]
    cache = json.loads((state / artifacts.CACHE_FILE).read_text())
    assert cache[local_http.url_for("/dl/widget-1.0.0.tar.gz")]["sha256"] == digest
    # the next run asks with the ETag and gets 304: no download, the same digest
    comps, entries = _entries(tmp_path, local_http.url_for("/dl/widget-{version}.tar.gz"))
    artifacts.annotate(comps, entries, state_dir=state, fetcher=Fetcher(None), timeout=5)
    assert seen == [None, '"t1"']
    assert entries["widget"].releases[1].sha256 == digest


def test_a_tarball_that_cannot_be_fetched_has_no_digest_and_no_error(tmp_path: Path, local_http: HTTPServer) -> None:
    local_http.expect_request("/dl/widget-1.0.0.tar.gz").respond_with_data("gone", status=404)
    local_http.expect_request("/dl/widget-1.1.0.tar.gz.sha256").respond_with_data("not a checksum\n")
    comps, entries = _entries(tmp_path, local_http.url_for("/dl/widget-{version}.tar.gz"))
    assert artifacts.annotate(comps, entries, state_dir=tmp_path, fetcher=Fetcher(None), timeout=5) == 0
    assert [r.sha256 for r in entries["widget"].releases] == [None, None]
    assert not entries["widget"].stale


@pytest.mark.parametrize(("text", "expected"), [
    ("ab" * 32 + "  widget-1.0.tar.gz\n" + "cd" * 32 + "  other.tar.gz\n", "ab" * 32),
    ("ef" * 32 + " *widget-1.0.tar.gz\n", "ef" * 32),
    ("SHA256 (widget-1.0.tar.gz) = " + "12" * 32 + "\n", "12" * 32),
    ("34" * 32 + "\n", "34" * 32),
    ("cd" * 32 + "  other.tar.gz\n", None),
    ("<html>not found</html>", None),
])
def test_checksum_files_of_every_usual_shape(text: str, expected: str | None) -> None:
    assert artifacts.checksum_from_text(text, "widget-1.0.tar.gz") == expected
