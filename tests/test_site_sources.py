"""Parsers of remote data: tag listings, GitHub answers, directory listings, OBS XML; hostile input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from site_helpers import apache_listing, component, local_http, write_manifest

from releasetool.errors import SiteError
from releasetool.manifest import Component, load
from releasetool.site import version_sources as sources
from releasetool.site.discover import DiscoverSettings, discover
from releasetool.site.fetch import Fetcher, shown

__all__ = ["local_http"]

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def comps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Component]:
    path = write_manifest(tmp_path_factory.mktemp("m") / "components.yaml", [
        component("widget", git="https://github.com/acme/widget.git", version="1.0.0",
                  tarball="https://example.org/pub/widget/widget-{version}.tar.gz"),
        component("pacemaker", git="https://git.example.org/pacemaker.git", version="2.1.7",
                  tag_pattern="Pacemaker-{version}", tarball="https://example.org/pub/pacemaker-{version}.tar.gz"),
    ])
    return load(path).components


def test_ls_remote_peeled_tags_name_one_tag() -> None:
    text = (f"{SHA}\trefs/tags/v1.0\n{SHA}\trefs/tags/v1.0^{{}}\n{SHA}\trefs/tags/v1.1\n\n")
    assert sources.parse_ls_remote(text, where="u") == ["v1.0", "v1.1"]


@pytest.mark.parametrize("line", [
    "not a listing", f"{SHA} refs/tags/v1", f"{SHA[:-1]}\trefs/tags/v1", f"{SHA}\trefs/heads/main", "<html>",
])
def test_ls_remote_malformed_lines_name_the_line(line: str) -> None:
    with pytest.raises(SiteError, match=r"^malformed tag listing from u, line 1: "):
        sources.parse_ls_remote(line, where="u")


def test_tags_map_to_releases_through_the_pattern(comps: dict[str, Component]) -> None:
    pacemaker = comps["pacemaker"]
    found = [sources.release_for_tag(pacemaker, t) for t in
             ("Pacemaker-2.1.7", "Pacemaker-2.1.8-rc1", "Pacemaker-latest", "v2.1.7", "Pacemaker-", "Pacemaker-1/x")]
    assert [(r.version, r.prerelease) if r else None for r in found] == [
        ("2.1.7", False), ("2.1.8-rc1", True), None, None, None, None]


def test_github_answers(comps: dict[str, Component]) -> None:
    widget = comps["widget"]
    text = json.dumps([
        {"tag_name": "v1.1.0", "published_at": "2024-03-01T10:00:00Z", "html_url": "javascript:alert(1)",
         "assets": [{"name": "widget-1.1.0.tar.gz"}, {"bad": 1}]},
        {"tag_name": "v1.2.0", "draft": True},
        {"tag_name": "wip"},
    ])
    [release] = sources.parse_github_releases(widget, text, where="api")
    assert (release.version, release.date, release.url, release.files) == (
        "1.1.0", "2024-03-01", None, ["widget-1.1.0.tar.gz"])
    for bad, why in [("{", "not JSON"), ('{"message": "API rate limit exceeded"}', "expected a list of releases "
                                        "(API rate limit exceeded)"), ("[1]", "a release without tag_name")]:
        with pytest.raises(SiteError) as info:
            sources.parse_github_releases(widget, bad, where="api")
        assert info.value.message == f"malformed answer from api: {why}"


def test_github_repositories_are_recognised() -> None:
    assert sources.github_repo("https://github.com/ClusterLabs/libqb.git") == "ClusterLabs/libqb"
    assert sources.github_repo("git@github.com:ClusterLabs/pacemaker.git") == "ClusterLabs/pacemaker"
    assert sources.github_repo("https://gitlab.com/a/b.git") is None
    assert sources.github_repo("https://github.com/only-owner") is None


def test_directory_listings_in_several_server_styles(comps: dict[str, Component]) -> None:
    widget = comps["widget"]
    assert sources.listing_url(widget) == "https://example.org/pub/widget/"
    apache = apache_listing({"widget-1.0.0.tar.gz": "2023-12-01 10:00", "widget-1.0.0.tar.gz.asc": "2023-12-01 10:01",
                             "widget-1.1.0.tar.xz": "2024-03-01 10:00", "widget-latest.tar.gz": "2024-03-01 10:00",
                             "other-9.0.tar.gz": "2024-03-01 10:00"})
    nginx = ('<html><body><pre><a href="../">../</a>\n'
             '<a href="widget-1.1.0.tar.gz">widget-1.1.0.tar.gz</a>      01-Mar-2024 10:00   123\n'
             "<a href='widget-1.0.0.tar.gz'>widget-1.0.0.tar.gz</a>      01-Dec-2023 10:00   123\n</pre></body></html>")
    by_style = {style: {(r.version, r.date, tuple(r.files)) for r in sources.parse_listing(widget, text, where="d")}
                for style, text in (("apache", apache), ("nginx", nginx))}
    assert by_style["apache"] == {("1.0.0", "2023-12-01", ("widget-1.0.0.tar.gz", "widget-1.0.0.tar.gz.asc")),
                                  ("1.1.0", "2024-03-01", ("widget-1.1.0.tar.xz",))}
    assert by_style["nginx"] == {("1.0.0", "2023-12-01", ("widget-1.0.0.tar.gz",)),
                                 ("1.1.0", "2024-03-01", ("widget-1.1.0.tar.gz",))}
    with pytest.raises(SiteError, match=r"^malformed directory listing from d: no links$"):
        sources.parse_listing(widget, "Service Unavailable", where="d")


def test_a_tarball_directory_that_changes_per_version_has_no_listing(comps: dict[str, Component]) -> None:
    widget = comps["widget"]
    per_version = Component(**{**widget.__dict__, "tarball": "https://x.org/v{version}/widget-{version}.tar.gz"})
    assert sources.listing_url(per_version) is None


def test_user_info_never_shows_in_messages() -> None:
    assert shown("https://user:s3cret@example.org/x") == "https://***@example.org/x"
    assert shown("https://example.org/x") == "https://example.org/x"


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_from_upstream_give_releases_or_one_error(comps: dict[str, Component], payload: bytes) -> None:
    text = payload.decode("utf-8", "replace")
    widget = comps["widget"]
    for parse in (lambda: sources.parse_ls_remote(text, where="u"),
                  lambda: sources.parse_github_releases(widget, text, where="u"),
                  lambda: sources.parse_listing(widget, text, where="u"),
                  lambda: sources._xml(text, "http://u/")):
        try:
            parse()
        except SiteError as exc:
            assert exc.message and "\n" not in exc.message.strip()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["widget-", "widget-v", "x", ""]),
                          st.text(alphabet="0123456789.-~abrc<>\"'/ ", max_size=12),
                          st.sampled_from([".tar.gz", ".tar.xz.asc", ".zip", ""])), max_size=8))
def test_mutated_listings_only_yield_valid_versions(comps: dict[str, Component],
                                                    names: list[tuple[str, str, str]]) -> None:
    links = "".join(f'<a href="{a}{b}{c}">{a}{b}{c}</a> 2024-01-01\n' for a, b, c in names)
    page = f'<pre><a href="../">../</a>\n{links}</pre>'
    for release in sources.parse_listing(comps["widget"], page, where="u"):
        assert any(ch.isdigit() for ch in release.version)
        assert "/" not in release.version


def test_obs_versions_and_build_results(tmp_path: Path, local_http: HTTPServer) -> None:
    project = "network:ha-clustering:Stable"
    manifest = write_manifest(tmp_path / "components.yaml", [
        component("gizmo", git=(tmp_path / "missing").as_uri(), version="0.5")])
    local_http.expect_request(f"/source/{project}/gizmo").respond_with_data(
        '<directory name="gizmo"><entry name="gizmo.spec" md5="x"/><entry name="gizmo-0.6.tar.gz"/>'
        '<entry name="gizmo.dsc"/></directory>')
    local_http.expect_request(f"/source/{project}/gizmo/gizmo.spec").respond_with_data(
        "Name: gizmo\nVersion:        0.6\nRelease: 0\n")
    local_http.expect_request(f"/source/{project}/gizmo/gizmo.dsc").respond_with_data(
        "Format: 3.0 (quilt)\nSource: gizmo\nVersion: 1:0.5.9-3\n")
    local_http.expect_request(f"/build/{project}/_result").respond_with_data(
        '<resultlist state="s"><result project="p" repository="openSUSE_Tumbleweed" arch="x86_64" code="published">'
        '<status package="gizmo" code="succeeded"/></result><result repository="Debian_12" arch="x86_64">'
        '<status package="gizmo" code="failed"/></result></resultlist>')
    api = local_http.url_for("/").rstrip("/")
    result = discover(load(manifest), [], DiscoverSettings(state_dir=tmp_path / "state", obs_api=api, timeout=5))
    gizmo = result.components["gizmo"]
    # the deb targets are built from the .dsc: its upstream version, epoch and Debian revision dropped
    assert gizmo.obs == {"version": "0.6", "deb_version": "0.5.9",
                         "results": {"openSUSE_Tumbleweed/x86_64": "succeeded", "Debian_12/x86_64": "failed"}}
    assert gizmo.errors[0].startswith("git: ")  # the git source failed, the OBS one answered
    assert result.sources_total == 2 and result.sources_failed == 1


def test_the_fetcher_asks_each_url_once_even_from_many_threads(local_http: HTTPServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    local_http.expect_request("/once").respond_with_data("body")
    fetcher = Fetcher(None, timeout=5)
    with ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(lambda _: fetcher.get(local_http.url_for("/once")).text, range(32)))
    assert bodies == ["body"] * 32
    assert len(local_http.log) == 1 and fetcher.requests_made == 1


def test_an_obs_lookup_that_fails_marks_only_that_source(tmp_path: Path) -> None:
    from releasetool.errors import ObsError

    manifest = write_manifest(tmp_path / "components.yaml", [
        component("gizmo", git=(tmp_path / "missing").as_uri(), version="0.5")])

    def refusing(comp: Component) -> dict[str, object]:
        raise ObsError(f"https://api.example.org answered HTTP 401 to GET /source/prj/{comp.obs_package}")

    result = discover(load(manifest), [], DiscoverSettings(state_dir=tmp_path / "state", timeout=5),
                      obs_lookup=refusing)
    gizmo = result.components["gizmo"]
    assert gizmo.errors[-1] == "obs: https://api.example.org answered HTTP 401 to GET /source/prj/gizmo"
    assert result.sources_total == 2 and result.sources_failed == 2


def test_a_git_server_that_never_answers_times_out() -> None:
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])  # accept and say nothing
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/silent.git"
    try:
        with pytest.raises(SiteError) as info:
            sources.ls_remote_tags(url, timeout=1.5)
        assert info.value.message.startswith(f"git ls-remote failed for {url}: "), info.value.message
        print(info.value.message)
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def test_last_modified_revalidation_reuses_the_cached_body(tmp_path: Path, local_http: HTTPServer) -> None:
    from werkzeug import Request, Response

    stamp = "Tue, 20 Feb 2024 09:30:00 GMT"

    def handler(request: Request) -> Response:
        if request.headers.get("If-Modified-Since") == stamp:
            return Response(status=304)
        return Response("<a href='x-1.0.tar.gz'>x</a>", headers={"Last-Modified": stamp})

    local_http.expect_request("/dir/").respond_with_handler(handler)
    url = local_http.url_for("/dir/")
    first = Fetcher(tmp_path / "http", timeout=5).get(url)
    second = Fetcher(tmp_path / "http", timeout=5).get(url)  # a new run: same cache directory
    assert (first.status, second.status) == (200, 304)
    assert second.text == first.text
