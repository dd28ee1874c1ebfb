"""The page as a user sees it: Debian's chromium, headless, driven by Playwright, on a local server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from site_helpers import WIDGET_COMMITS, WIDGET_SHA256, component, site_data_file, write_manifest

from releasetool.cli import main
from releasetool.site.serve import serve_in_thread

pytestmark = pytest.mark.slow  # starts the browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# axe-core from the npm registry, installed by scripts/setup.sh (make setup)
AXE = ROOT / ".releasetool-cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    manifest = write_manifest(tmp_path / "components.yaml", [
        component("widget", git="https://github.com/acme/widget.git", version="1.0.0", released="2023-12-01",
                  tarball="https://example.org/dl/widget-{version}.tar.gz", summary="Widgets for clusters",
                  distro_versions={"Debian_12": "0.9.2", "Fedora_41": "1.1.0"}),
        component("gadget", git="https://git.example.org/gadget.git", version="2.0", released="2023-05-02"),
        component("gizmo", git="https://git.example.org/gizmo.git", version="0.5", released="2022-10-10",
                  tarball="https://example.org/dl/gizmo-{version}.tar.xz"),
    ])
    data = site_data_file(tmp_path / "site-data.json")
    out = tmp_path / "_site"
    assert main(["--manifest", str(manifest), "site", "build", "--out", str(out), "--data", str(data)]) == 0
    server, base = serve_in_thread(out)
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


def _only_localhost(page: Page, outside: list[str]) -> None:
    """Record and refuse every request that would leave 127.0.0.1 (the page has no external assets)."""
    def route(r: object) -> None:
        request = r.request  # type: ignore[attr-defined]
        if request.url.startswith("http://127.0.0.1:"):
            r.continue_()  # type: ignore[attr-defined]
        else:
            outside.append(request.url)
            r.abort()  # type: ignore[attr-defined]

    page.route("**/*", route)


def _keep(screenshot: Path) -> None:
    print(f"screenshot: {screenshot}")
    artifacts = os.environ.get("RELEASETOOL_TEST_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy2(screenshot, Path(artifacts) / screenshot.name)


def test_a_visitor_reads_the_table_and_follows_a_component(browser: Browser, site: str, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    outside: list[str] = []
    _only_localhost(page, outside)
    page.goto(site)
    assert page.title() == "Test cluster distribution"
    assert page.locator("html").get_attribute("lang") == "en"
    for landmark in ("header", "nav", "main", "footer"):
        assert page.locator(landmark).count() >= 1
    assert page.locator("table.components thead th").evaluate_all(
        "cells => cells.map(c => c.getAttribute('scope'))") == ["col"] * 6
    rows = page.locator("table.components tbody tr")
    assert rows.count() == 3
    assert rows.locator("th").all_inner_texts() == ["widget", "gadget", "gizmo"]
    widget = page.locator("#row-widget")
    assert widget.locator("td.version .v").first.inner_text() == "1.1.0"
    assert widget.locator(".badge.pre").inner_text() == "pre-release"
    links = {" ".join((a.text_content() or "").split()): a.get_attribute("href")
             for a in widget.locator("td ul.links a").all()}
    assert links == {
        "tarball of 1.1.0": "https://example.org/dl/widget-1.1.0.tar.gz",
        "checksum": "https://example.org/dl/widget-1.1.0.tar.gz.sha256",
        "changelog": "https://github.com/acme/widget/releases/tag/v1.1.0",
        "upstream": "https://github.com/acme/widget",
    }
    assert page.locator("#row-gizmo .badge.stale").inner_text() == "stale: 3 days old"
    assert page.locator("table.repositories tbody tr").count() == 4
    # the matrix: the community package (built from 1.1.0 on Tumbleweed, 1.0.0 on Debian) and Debian's own
    tumbleweed = page.locator("table.matrix tbody tr").first.locator("td").first
    assert " ".join(tumbleweed.inner_text().split()) == "1.1.0 newest"
    debian = page.locator("table.matrix tbody tr").first.locator("td").nth(3)
    assert " ".join(debian.inner_text().split()) == "1.0.0 outdated Debian 12 (bookworm) itself: 0.9.2 outdated"
    assert page.locator("#row-widget td[data-label='Packages']").inner_text() == "outdated on 1 of 4"
    shot = tmp_path / "site-index.png"
    page.screenshot(path=str(shot), full_page=True)
    _keep(shot)

    page.locator("#row-widget th a").click()
    page.wait_for_url("**/c/widget.html")
    assert page.locator("h1").inner_text() == "widget 1.1.0"
    history = page.locator("table.history tbody tr th")
    assert history.all_inner_texts() == ["1.2.0-rc1", "1.1.0", "1.0.0"]
    install = page.locator("#install pre").first.inner_text()
    assert install.splitlines()[-1] == "sudo zypper install widget"
    # what a reader copies: one command a line, none broken by the wrapping, no blank lines
    assert install.splitlines() == [
        "sudo zypper addrepo https://download.opensuse.org/repositories/network:/ha-clustering:/Stable/"
        "openSUSE_Tumbleweed/network:ha-clustering:Stable.repo", "sudo zypper refresh", "sudo zypper install widget"]
    assert page.locator("pre[aria-label]").count() == 0
    # every install line is shown whole: the block does not scroll sideways
    assert page.locator("#install pre").evaluate_all("ps => ps.every(p => p.scrollWidth <= p.clientWidth)")
    verify = " ".join(page.locator("dd.verify").inner_text().split())
    assert verify == f"sha256 {WIDGET_SHA256} commit {WIDGET_COMMITS[1]}"
    follow = page.locator("dt:text('Follow') + dd a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert follow == ["widget.atom", "widget.json", "widget.svg"]
    for href in follow:  # each is there
        assert page.request.get(page.url.rsplit("/", 1)[0] + "/" + href).status == 200
    shot = tmp_path / "site-component.png"
    page.screenshot(path=str(shot), full_page=True)
    _keep(shot)
    page.locator("nav.crumbs a").click()
    page.wait_for_url("**/index.html")
    assert outside == []
    page.close()


SHOTS = [("index", ""), ("component", "c/widget.html")]
_LABELS_FIT = """() => {
    const short = [];
    for (const cell of document.querySelectorAll('tbody [data-label]')) {
        const label = getComputedStyle(cell, '::before');
        if (label.content === 'none' || getComputedStyle(cell).display === 'table-cell') continue;  // not a card
        const probe = document.createElement('div');
        probe.textContent = cell.dataset.label;
        Object.assign(probe.style, {position: 'absolute', visibility: 'hidden', width: label.width,
                                    font: label.font, lineHeight: label.lineHeight});
        document.body.appendChild(probe);
        const cellBox = cell.getBoundingClientRect();
        const needed = probe.getBoundingClientRect().height + parseFloat(getComputedStyle(cell).paddingTop);
        if (cellBox.height + 0.5 < needed) short.push(cell.dataset.label + ': ' + cellBox.height + ' < ' + needed);
        probe.remove();
    }
    return short;
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_fits_every_width_and_axe_finds_nothing(browser: Browser, site: str, tmp_path: Path,
                                                           scheme: str) -> None:
    assert AXE.is_file(), f"{AXE}: axe-core is not installed; run `make setup`"
    pages = ["", "c/widget.html", "c/gizmo.html", "c/gadget.html"]
    for width, height, mobile in ((1366, 900, False), (390, 844, True), (320, 640, True)):
        page = browser.new_page(viewport={"width": width, "height": height}, is_mobile=mobile,
                                device_scale_factor=2 if mobile else 1, color_scheme=scheme)  # type: ignore[arg-type]
        for path in pages:
            page.goto(site + path)
            assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
            # nothing wider than the screen: tables turn into cards, long words wrap
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (path, width)
            # on a phone every cell is at least as tall as its column's name beside it (no label runs
            # into the next row): the name set in the label's own width and font, measured
            assert page.evaluate(_LABELS_FIT) == [], (path, width)
            page.add_script_tag(path=str(AXE))
            found = page.evaluate("""async () => {
                const r = await axe.run(document, {resultTypes: ['violations']});
                return {violations: r.violations.map(v => v.id + ': ' + v.nodes.length + ' nodes'),
                        passes: r.passes.length};
            }""")
            assert found["violations"] == [], (path, width, scheme)
            assert found["passes"] > 10  # axe did check the page (colour contrast among them)
            shot = dict((p, n) for n, p in SHOTS).get(path)
            if shot and width in (1366, 390):
                target = tmp_path / f"site-{shot}-{width}-{scheme}.png"
                page.screenshot(path=str(target), full_page=True)
                _keep(target)
        page.close()


def test_the_page_fits_a_phone(browser: Browser, site: str, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
    page.goto(site)
    # nothing wider than the screen: the table turns into one card a component
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    label = page.locator("#row-widget td[data-label='Latest stable']").evaluate(
        "cell => getComputedStyle(cell, '::before').content")
    assert label == '"Latest stable"'
    shot = tmp_path / "site-phone.png"
    page.screenshot(path=str(shot), full_page=True)
    _keep(shot)
    page.close()
