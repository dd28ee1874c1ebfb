"""Helpers for the site tests: manifests, upstream git repositories, a local HTTP server."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from releasetool.site import data as site_data
from releasetool.site.data import ComponentData, Release, SiteData, SourceResult

TARGETS = [
    {"name": "openSUSE_Tumbleweed", "label": "openSUSE Tumbleweed", "family": "rpm",
     "project": "openSUSE:Factory", "repository": "snapshot", "archs": ["x86_64", "aarch64"]},
    {"name": "Fedora_41", "label": "Fedora 41", "family": "rpm", "project": "Fedora:41",
     "repository": "standard", "archs": ["x86_64"]},
    {"name": "AlmaLinux_9", "label": "RHEL 9 / AlmaLinux 9", "family": "rpm", "project": "AlmaLinux:9",
     "repository": "standard", "archs": ["x86_64"]},
    {"name": "Debian_12", "label": "Debian 12 (bookworm)", "family": "deb", "project": "Debian:12",
     "repository": "standard", "archs": ["x86_64"]},
]


def component(name: str, *, git: str, version: str = "1.0.0", released: str = "2024-01-15",
              tarball: str | None = None, tag_pattern: str = "v{version}", scheme: str = "rpm",
              summary: str | None = None, **extra: Any) -> dict[str, Any]:
    comp: dict[str, Any] = {
        "name": name,
        "summary": summary or f"The {name} component",
        "description": f"{name} does one thing well.\n\nIt is part of the cluster stack.",
        "homepage": f"https://example.org/{name}",
        "license": "GPL-2.0-or-later",
        "git": git,
        "tag_pattern": tag_pattern,
        "version_scheme": scheme,
        "version": version,
        "released": released,
        "packaging": {"build_system": "autotools"},
    }
    if tarball:
        comp["tarball"] = tarball
    comp.update(extra)
    return comp


def write_manifest(path: Path, components: list[dict[str, Any]]) -> Path:
    """A manifest (JSON is YAML) with the test targets and ``components``."""
    data = {
        "schema": 1,
        "distribution": {"name": "Test cluster distribution", "obs_project": "network:ha-clustering:Stable",
                         "site_url": "https://www.example.org", "packager": "Release Team <rt@example.org>"},
        "targets": TARGETS,
        "components": components,
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def upstream_repo(path: Path, tags: dict[str, bool]) -> Path:
    """A repository with one commit a tag; ``tags`` maps names to annotated (True) or lightweight."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for number, (tag, annotated) in enumerate(tags.items()):
        (path / "NEWS").write_text(f"change {number}\n")
        git(path, "add", "NEWS")
        git(path, "commit", "-q", "-m", f"change {number}")
        if annotated:
            git(path, "tag", "-a", "-m", f"release {tag}", tag)
        else:
            git(path, "tag", tag)
    return path


def redirect_git(monkeypatch: pytest.MonkeyPatch, mapping: dict[str, Path]) -> None:
    """Make git fetch ``url`` from a local repository (git's url.<base>.insteadOf, set through the environment)."""
    monkeypatch.setenv("GIT_CONFIG_COUNT", str(len(mapping)))
    for index, (url, repo) in enumerate(mapping.items()):
        monkeypatch.setenv(f"GIT_CONFIG_KEY_{index}", f"url.{repo.as_uri()}.insteadOf")
        monkeypatch.setenv(f"GIT_CONFIG_VALUE_{index}", url)


def github_release(tag: str, *, date: str = "2024-03-01T10:00:00Z", prerelease: bool = False,
                   draft: bool = False, assets: list[str] | None = None, url: str | None = None) -> dict[str, Any]:
    return {"tag_name": tag, "name": tag, "draft": draft, "prerelease": prerelease, "published_at": date,
            "html_url": url or f"https://github.com/acme/widget/releases/tag/{tag}",
            "assets": [{"name": a} for a in assets or []]}


def apache_listing(files: dict[str, str]) -> str:
    """An Apache-style directory listing of ``files`` (name -> 'YYYY-MM-DD HH:MM')."""
    rows = "\n".join(f'<tr><td><a href="{n}">{n}</a></td><td align="right">{d}  </td><td>1.2M</td></tr>'
                     for n, d in files.items())
    return ("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<html><head><title>Index of /releases"
            f"</title></head><body><h1>Index of /releases</h1><table>\n<tr><td><a href=\"../\">Parent</a></td></tr>\n"
            f"{rows}\n</table></body></html>\n")


@pytest.fixture
def local_http() -> Iterator[HTTPServer]:
    """A threaded HTTP server on 127.0.0.1 (never the internet)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


WIDGET_COMMITS = ("3f1c0a9e" * 5, "9b2e77d1" * 5, "c0ffee12" * 5)
WIDGET_SHA256 = "5d41402abc4b2a76b9719d911017c592" * 2


def site_data_file(path: Path, **overrides: Any) -> Path:
    """Discovery data as a run would write it: widget fresh with a newer pre-release, gizmo stale."""
    widget = ComponentData(
        name="widget", origin="upstream", checked_at="2024-06-10T12:00:00Z", last_success_at="2024-06-10T12:00:00Z",
        releases=[
            Release("1.2.0-rc1", "v1.2.0-rc1", "2024-04-01", prerelease=True, commit=WIDGET_COMMITS[0]),
            Release("1.1.0", "v1.1.0", "2024-03-01", url="https://github.com/acme/widget/releases/tag/v1.1.0",
                    files=["widget-1.1.0.tar.gz", "widget-1.1.0.tar.gz.sha256"], commit=WIDGET_COMMITS[1],
                    sha256=WIDGET_SHA256, size=123456),
            Release("1.0.0", "v1.0.0", "2023-12-01", commit=WIDGET_COMMITS[2]),
        ],
        obs={"version": "1.1.0", "deb_version": "1.0.0",
             "results": {"openSUSE_Tumbleweed/x86_64": "succeeded", "openSUSE_Tumbleweed/aarch64": "failed",
                         "Fedora_41/x86_64": "building", "Debian_12/x86_64": "succeeded"}},
    )
    widget.latest_stable, widget.latest_prerelease = widget.releases[1], widget.releases[0]
    gizmo = ComponentData(
        name="gizmo", origin="upstream", checked_at="2024-06-10T12:00:00Z", last_success_at="2024-06-07T11:00:00Z",
        stale=True, errors=["git: git ls-remote failed for https://git.example.org/gizmo.git: fatal: unable to access "
                            "'https://git.example.org/gizmo.git/': Could_not_resolve_host:git.example.org_(after_3_tries)"],
        releases=[Release("0.5", "v0.5", "2022-10-10")],
        sources={"git": SourceResult(url="https://git.example.org/gizmo.git", ok=False,
                                     checked_at="2024-06-10T12:00:00Z", error="not found")},
    )
    gizmo.latest_stable = gizmo.releases[0]
    data = SiteData(generated_at="2024-06-10T12:00:05Z", mode="online", sources_total=5, sources_failed=1,
                    components={"widget": widget, "gizmo": gizmo})
    for key, value in overrides.items():
        setattr(data, key, value)
    site_data.save(path, data)
    return path
