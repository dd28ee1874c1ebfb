"""The page as a user sees it: Debian's chromium, headless, driven by Playwright, on a local server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from site_helpers import component, site_data_file, write_manifest

from releasetool.cli import main
from releasetool.site.serve import serve_in_thread

pytestmark = pytest.mark.slow  # starts the browser

CHROMIUM = "/usr/bin/chromium"
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
                  tarball="https://example.org/dl/widget-{version}.tar.gz", summary="Widgets for clusters"),
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
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside: list[str] = []
    _only_localhost(page, outside)
    page.goto(site)
    assert page.title() == "Test cluster distribution"
    assert page.locator("html").get_attribute("lang") == "en"
    for landmark in ("header", "nav", "main", "footer"):
        assert page.locator(landmark).count() >= 1
    assert page.locator("table.components thead th").evaluate_all(
        "cells => cells.map(c => c.getAttribute('scope'))") == ["col"] * 5
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
    shot = tmp_path / "site-index.png"
    page.screenshot(path=str(shot), full_page=True)
    _keep(shot)

    page.locator("#row-widget th a").click()
    page.wait_for_url("**/c/widget.html")
    assert page.locator("h1").inner_text() == "widget 1.1.0"
    history = page.locator("table.history tbody tr th")
    assert history.all_inner_texts() == ["1.2.0-rc1", "1.1.0", "1.0.0"]
    install = page.locator("#install pre").first.inner_text()
    assert "sudo zypper install widget" in install
    shot = tmp_path / "site-component.png"
    page.screenshot(path=str(shot), full_page=True)
    _keep(shot)
    page.locator("nav.crumbs a").click()
    page.wait_for_url("**/index.html")
    assert outside == []
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
