"""Discovery against local git repositories and a local HTTP server: sources, caching, faults."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from site_helpers import (
    apache_listing,
    component,
    github_release,
    local_http,
    redirect_git,
    upstream_repo,
    write_manifest,
)
from werkzeug import Request, Response

from releasetool.cli import main
from releasetool.manifest import load
from releasetool.site.discover import DiscoverSettings, discover

__all__ = ["local_http"]

GITHUB_URL = "https://github.com/acme/widget.git"
LISTING = {
    "gadget-2.0.tar.xz": "2023-05-02 11:00",
    "gadget-2.1.tar.xz": "2024-02-20 09:30",
    "gadget-2.1.tar.xz.sha256": "2024-02-20 09:30",
    "gadget-2.1.tar.xz.asc": "2024-02-20 09:31",
    "gadget-latest.tar.xz": "2024-02-20 09:31",
    "gizmo-0.5.tar.gz": "2022-10-10 08:00",
    "README.html": "2020-01-01 00:00",
}


@dataclass
class World:
    """Three components upstream: widget (GitHub), gadget and gizmo (plain git + one tarball directory)."""

    root: Path
    server: HTTPServer
    manifest: Path
    state: Path
    repos: dict[str, Path]
    faults: dict[str, str] = field(default_factory=dict)  # path -> "timeout" | "404" | "500" | "malformed"
    etag: str = '"listing-1"'

    @property
    def api(self) -> str:
        return self.server.url_for("/api").rstrip("/")

    def url(self, path: str) -> str:
        return self.server.url_for(path)

    def requests_to(self, path: str) -> list[Request]:
        return [req for req, _ in self.server.log if req.path == path]

    def discover(self, *names: str, **kwargs: Any) -> Any:
        settings = DiscoverSettings(state_dir=self.state, github_api=self.api, timeout=kwargs.pop("timeout", 5.0),
                                    **kwargs)
        return discover(load(self.manifest), list(names), settings)

    def data(self) -> dict[str, Any]:
        return json.loads((self.state / "site-data.json").read_text())


def _serve(world: World, path: str, body: Any) -> Any:
    def handler(request: Request) -> Response:
        fault = world.faults.get(path)
        if fault == "timeout":
            time.sleep(1.5)
        if fault == "404":
            return Response("not found", status=404)
        if fault == "500":
            return Response("oops", status=500)
        if fault == "malformed":
            return Response("<html>maintenance</html>" if path.endswith("releases") else "garbage\x00\xff",
                            content_type="text/html")
        if path == "/releases/":
            if request.headers.get("If-None-Match") == world.etag:
                return Response(status=304, headers={"ETag": world.etag})
            return Response(apache_listing(LISTING), content_type="text/html", headers={"ETag": world.etag})
        return Response(json.dumps(body), content_type="application/json")

    return handler


@pytest.fixture
def world(tmp_path: Path, local_http: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> World:
    repos = {
        "widget": upstream_repo(tmp_path / "up" / "widget", {
            "v0.8.0": True, "v0.9.0": True, "v1.0.0": True, "v1.1.0": False, "v1.2.0-rc1": True,
            "latest": False, "rolling": True, "v1.0/fixes": False,
        }),
        "gadget": upstream_repo(tmp_path / "up" / "gadget", {"gadget-2.0": True, "gadget-2.1": True,
                                                             "gadget-3.0-beta1": True, "build-42": False}),
        "gizmo": upstream_repo(tmp_path / "up" / "gizmo", {"0.5": False, "stable": True}),
    }
    redirect_git(monkeypatch, {GITHUB_URL: repos["widget"]})
    monkeypatch.setenv("RELEASETOOL_GITHUB_API", local_http.url_for("/api").rstrip("/"))
    listing = local_http.url_for("/releases/")
    manifest = write_manifest(tmp_path / "components.yaml", [
        component("widget", git=GITHUB_URL, version="1.0.0", released="2023-12-01",
                  tarball="https://github.com/acme/widget/releases/download/v{version}/widget-{version}.tar.gz",
                  ignore_tags=["v0.8*"]),
        component("gadget", git=repos["gadget"].as_uri(), version="2.0", released="2023-05-02",
                  tag_pattern="gadget-{version}", tarball=listing + "{name}-{version}.tar.xz"),
        component("gizmo", git=repos["gizmo"].as_uri(), version="0.5", released="2022-10-10",
                  tag_pattern="{version}", tarball=listing + "gizmo-{version}.tar.gz"),
    ])
    w = World(root=tmp_path, server=local_http, manifest=manifest, state=tmp_path / "state", repos=repos)
    releases = [
        github_release("v1.1.0", date="2024-03-01T10:00:00Z",
                       assets=["widget-1.1.0.tar.gz", "widget-1.1.0.tar.gz.sha256", "widget-1.1.0.tar.gz.asc"]),
        github_release("v1.2.0-rc1", date="2024-04-01T10:00:00Z", prerelease=True),
        github_release("v2.0.0", date="2024-05-01T10:00:00Z", draft=True),
        github_release("nightly", date="2024-05-02T10:00:00Z", prerelease=True),
    ]
    for path, body in (("/api/repos/acme/widget/releases", releases), ("/releases/", None)):
        local_http.expect_request(path).respond_with_handler(_serve(w, path, body))
    return w


def test_every_source_is_read_and_only_releases_count(world: World) -> None:
    result = world.discover()
    widget = result.components["widget"]
    assert widget.latest_stable is not None and widget.latest_stable.version == "1.1.0"
    assert widget.latest_stable.date == "2024-03-01"  # from the GitHub release
    assert widget.latest_stable.files == ["widget-1.1.0.tar.gz", "widget-1.1.0.tar.gz.sha256",
                                          "widget-1.1.0.tar.gz.asc"]
    assert widget.latest_prerelease is not None and widget.latest_prerelease.version == "1.2.0-rc1"
    # latest, rolling, v1.0/fixes, the draft, "nightly" and v0.8.0 (ignore_tags) are not releases
    assert [r.version for r in widget.releases] == ["1.2.0-rc1", "1.1.0", "1.0.0", "0.9.0"]
    assert widget.releases[2].date == "2023-12-01"  # only the manifest knows this date
    assert not widget.stale and widget.origin == "upstream"
    assert set(widget.sources) == {"git", "github"}

    gadget = result.components["gadget"]
    assert gadget.latest_stable is not None and gadget.latest_stable.version == "2.1"
    assert gadget.latest_stable.date == "2024-02-20"  # from the directory listing
    assert sorted(gadget.latest_stable.files) == ["gadget-2.1.tar.xz", "gadget-2.1.tar.xz.asc",
                                                  "gadget-2.1.tar.xz.sha256"]
    assert gadget.latest_prerelease is not None and gadget.latest_prerelease.version == "3.0-beta1"
    assert [r.version for r in gadget.releases] == ["3.0-beta1", "2.1", "2.0"]
    assert set(gadget.sources) == {"git", "tarballs"}

    assert result.sources_total == 6 and result.sources_failed == 0
    # gadget and gizmo share one tarball directory: it was asked once
    assert len(world.requests_to("/releases/")) == 1
    assert len(world.requests_to("/api/repos/acme/widget/releases")) == 1
    assert world.data()["components"]["gizmo"]["latest_stable"]["version"] == "0.5"


def test_revalidation_sends_the_etag_and_reuses_the_cached_answer(world: World) -> None:
    world.discover()
    second = world.discover()
    requests = world.requests_to("/releases/")
    assert len(requests) == 2
    assert requests[0].headers.get("If-None-Match") is None
    assert requests[1].headers.get("If-None-Match") == world.etag
    assert second.components["gadget"].latest_stable is not None
    assert second.components["gadget"].latest_stable.version == "2.1"
    assert not second.components["gadget"].stale


@pytest.mark.parametrize(("fault", "error"), [
    ("timeout", "timed out after 0.5 s: {url}"),
    ("404", "HTTP 404 from {url}"),
    ("500", "HTTP 500 from {url}"),
    ("malformed", "malformed answer from {url}: not JSON"),
])
def test_a_failing_source_keeps_the_last_known_data_and_marks_it_stale(
    world: World, fault: str, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = world.discover(clock=lambda: "2024-06-10T08:00:00Z")
    first_success = first.components["widget"].last_success_at
    assert first_success == "2024-06-10T08:00:00Z"
    world.faults["/api/repos/acme/widget/releases"] = fault
    url = world.api + "/repos/acme/widget/releases?per_page=100"
    code = main(["--manifest", str(world.manifest), "site", "discover", "--cache", str(world.state),
                 "--timeout", "0.5"])
    err = capsys.readouterr().err.splitlines()
    message = error.format(url=url)
    assert f"widget: github: {message}" in err
    assert err[-1].startswith("asked 6 sources: 5 answered, 1 failed; data in ")
    assert code == 0
    widget = world.data()["components"]["widget"]
    assert widget["stale"] is True
    assert widget["errors"] == [f"github: {message}"]
    assert widget["last_success_at"] == first_success
    assert widget["checked_at"] > first_success
    # the last good answer of the GitHub source is still there: the date and files of 1.1.0
    assert widget["latest_stable"]["version"] == "1.1.0"
    assert widget["latest_stable"]["date"] == "2024-03-01"
    assert widget["sources"]["github"]["ok"] is False
    assert widget["sources"]["github"]["last_success_at"] == first_success
    assert not world.data()["components"]["gadget"]["stale"]


def test_a_malformed_directory_listing_is_a_failure(world: World) -> None:
    world.discover()
    world.faults["/releases/"] = "malformed"
    shutil.rmtree(world.state / "http")  # no cached listing to revalidate
    result = world.discover()
    gadget = result.components["gadget"]
    assert gadget.stale and gadget.errors == [f"tarballs: malformed directory listing from {world.url('/releases/')}: no links"]
    assert gadget.latest_stable is not None and gadget.latest_stable.date == "2024-02-20"
    assert result.sources_failed == 2  # gadget and gizmo read the same directory


def test_an_unreachable_git_repository_is_a_failure(world: World) -> None:
    world.discover()
    shutil.rmtree(world.repos["gizmo"])
    result = world.discover("gizmo")
    gizmo = result.components["gizmo"]
    assert gizmo.stale
    assert gizmo.errors[0].startswith(f"git: git ls-remote failed for {world.repos['gizmo'].as_uri()}: ")
    assert gizmo.latest_stable is not None and gizmo.latest_stable.version == "0.5"
    # components not asked this time keep their entries
    assert set(result.components) == {"widget", "gadget", "gizmo"}
    assert not result.components["widget"].stale


def test_every_source_failing_falls_back_to_the_manifest(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    for path in ("/api/repos/acme/widget/releases", "/releases/"):
        world.faults[path] = "500"
    for repo in world.repos.values():
        shutil.rmtree(repo)
    code = main(["--manifest", str(world.manifest), "site", "discover", "--cache", str(world.state)])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert err[-3:] == [
        f"asked 6 sources: 0 answered, 6 failed; data in {world.state / 'site-data.json'}",
        "no source answered: the page will show the last known data or the manifest's versions",
        "more than half of the sources failed: `releasetool site build` will refuse to publish",
    ]
    data = world.data()
    assert data["sources_failed"] == 6
    widget = data["components"]["widget"]
    assert widget["origin"] == "manifest" and widget["stale"] is True
    assert widget["latest_stable"]["version"] == "1.0.0" and widget["latest_stable"]["date"] == "2023-12-01"


def test_offline_asks_nothing_and_says_so(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--manifest", str(world.manifest), "site", "discover", "--offline", "--cache", str(world.state)])
    out, err = capsys.readouterr()
    assert code == 0
    assert err.splitlines() == [
        "offline: no source asked; versions come from the manifest (or the last discovery)",
        f"offline: 3 components from the manifest's versions; data in {world.state / 'site-data.json'}",
    ]
    assert out.splitlines()[1].split() == ["widget", "1.0.0", "2023-12-01", "-", "manifest"]
    assert world.server.log == []
    assert world.data()["mode"] == "offline"


def test_dry_run_writes_no_data(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--manifest", str(world.manifest), "site", "discover", "--dry-run", "--json",
                 "--cache", str(world.state)])
    out, err = capsys.readouterr()
    assert code == 0
    assert json.loads(out)["components"]["widget"]["latest_stable"]["version"] == "1.1.0"
    assert "dry run: " in err
    assert not (world.state / "site-data.json").exists()


def test_bad_options_are_refused_with_a_hint(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--manifest", str(world.manifest), "site", "discover", "--jobs", "0"]) == 2
    assert capsys.readouterr().err.splitlines() == ["error: --jobs 0: must be 1 or more", "hint: for example --jobs 8"]
    assert main(["--manifest", str(world.manifest), "site", "discover", "nosuch"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"error: {world.manifest}: no component named 'nosuch'"


def test_a_github_token_is_sent_but_never_printed_or_stored(world: World, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    secret = "ghp_s3cretT0kenValue"
    monkeypatch.setenv("GITHUB_TOKEN", secret)
    code = main(["--manifest", str(world.manifest), "-v", "--debug", "site", "discover", "--json",
                 "--cache", str(world.state)])
    out, err = capsys.readouterr()
    assert code == 0
    [request] = world.requests_to("/api/repos/acme/widget/releases")
    assert request.headers.get("Authorization") == f"Bearer {secret}"
    assert world.requests_to("/releases/")[0].headers.get("Authorization") is None  # only GitHub gets it
    assert secret not in out and secret not in err
    for path in world.state.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
