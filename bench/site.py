"""The go-to page at scale.

- Building the site of the project's own manifest (13 components).
- Building the site for 2,000 components from cached discovery data (target:
  under 2 s): the library call, and ``releasetool site build`` as a process
  (manifest loading included).  The other figure is ``cp -r`` of the finished
  site: the cost of only writing those files, a floor no generator can beat.
- Discovery of 200 components from local sources (a git repository each, a
  GitHub-style releases API and tarball directory listings served on
  127.0.0.1 with 20 ms of latency a request): ``site discover`` with 8 sources
  at a time against a shell loop asking the same sources one after the other
  with ``git ls-remote`` and ``curl``.  The number of requests the server saw
  is printed: each URL once.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from report import emit, timed

from releasetool.manifest import load
from releasetool.site import data as site_data
from releasetool.site.build import BuildSettings, build_site
from releasetool.site.data import ComponentData, Release, SiteData
from releasetool.site.discover import DiscoverSettings, discover

RELEASETOOL = str(Path(sys.executable).parent / "releasetool")
TARGETS = [
    {"name": "openSUSE_Tumbleweed", "label": "openSUSE Tumbleweed", "family": "rpm", "project": "openSUSE:Factory",
     "repository": "snapshot", "archs": ["x86_64"]},
    {"name": "Fedora_41", "label": "Fedora 41", "family": "rpm", "project": "Fedora:41", "repository": "standard",
     "archs": ["x86_64"]},
    {"name": "Debian_12", "label": "Debian 12", "family": "deb", "project": "Debian:12", "repository": "standard",
     "archs": ["x86_64"]},
]
LATENCY = 0.02


def manifest_text(components: list[dict[str, Any]]) -> str:
    return json.dumps({
        "schema": 1,
        "distribution": {"name": "Bench distribution", "obs_project": "network:ha-clustering:Stable",
                         "site_url": "https://www.example.org"},
        "targets": TARGETS, "components": components,
    })


def comp(name: str, git: str, tarball: str) -> dict[str, Any]:
    return {"name": name, "summary": f"Component {name}", "description": f"{name} for the bench.",
            "homepage": f"https://example.org/{name}", "license": "GPL-2.0-or-later", "git": git,
            "tag_pattern": "v{version}", "version_scheme": "rpm", "version": "1.0.0", "released": "2024-01-01",
            "tarball": tarball, "packaging": {"build_system": "autotools"}}


def bench_build(tmp: Path) -> None:
    count = 2000
    comps = [comp(f"c{i:04d}", f"https://git.example.org/c{i:04d}.git",
                  f"https://example.org/dl/c{i:04d}-{{version}}.tar.gz") for i in range(count)]
    manifest_path = tmp / "components.yaml"
    manifest_path.write_text(manifest_text(comps))
    data = SiteData(generated_at="2024-06-10T12:00:00Z", mode="online", sources_total=count * 2,
                    sources_failed=count // 10)
    for i in range(count):
        # every release with its tag's commit and its tarball's SHA-256 and size, as discovery finds them
        releases = [Release(f"1.{minor}.0", f"v1.{minor}.0", f"2024-{1 + minor % 12:02d}-01",
                            commit=f"{i:04x}{minor:04x}" * 5, sha256=f"{i:08x}{minor:08x}" * 4, size=1000 + minor)
                    for minor in range(9, -1, -1)]
        entry = ComponentData(name=f"c{i:04d}", origin="upstream", checked_at=data.generated_at,
                              last_success_at=data.generated_at if i % 10 else "2024-06-01T00:00:00Z",
                              stale=i % 10 == 0, errors=["git: timed out"] if i % 10 == 0 else [],
                              releases=releases, latest_stable=releases[0],
                              obs={"version": "1.9.0", "deb_version": "1.8.0",
                                   "results": {"openSUSE_Tumbleweed/x86_64": "succeeded",
                                               "Debian_12/x86_64": "succeeded", "Fedora_41/x86_64": "failed"}})
        data.components[entry.name] = entry
    data_path = tmp / "site-data.json"
    site_data.save(data_path, data)
    manifest = load(manifest_path)
    counter = iter(range(1000))

    def library_build() -> None:
        # a new output directory each time: a full build and swap, never "up to date"
        build_site(manifest, BuildSettings(out=tmp / f"out-{next(counter)}", data_path=data_path))

    ours = timed(library_build, repeat=3)
    before = resource.getrusage(resource.RUSAGE_SELF)
    library_build()
    after = resource.getrusage(resource.RUSAGE_SELF)
    # CPU seconds (what the build costs on an idle machine): user for rendering, system for the file writes
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    built = tmp / "out-0"
    files = sum(1 for p in built.rglob("*") if p.is_file())
    copies = iter(range(1000))
    floor = timed(lambda: subprocess.run(["cp", "-r", str(built), str(tmp / f"copy-{next(copies)}")], check=True),
                  repeat=3)
    emit(f"site: build {count} components ({files} files)", ours, "cp -r of the built site", floor,
         note=f"target < 2 s; CPU {user:.2f} s user + {system:.2f} s system; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    cli = timed(lambda: subprocess.run([RELEASETOOL, "-q", "--manifest", str(manifest_path), "site", "build",
                                        "--out", str(tmp / f"cli-{next(counter)}"), "--data", str(data_path)],
                                       check=True), repeat=2)
    emit(f"site: `releasetool site build` process, {count} components incl. manifest load", cli,
         note=f"load average {os.getloadavg()[0]:.1f}")


class _Upstream(BaseHTTPRequestHandler):
    requests: list[str] = []  # noqa: RUF012 - shared across handler instances on purpose
    lock = threading.Lock()

    def do_GET(self) -> None:
        time.sleep(LATENCY)
        with self.lock:
            self.requests.append(self.path)
        if self.path.startswith("/api/repos/acme/"):
            name = self.path.split("/")[4]
            body = json.dumps([{"tag_name": f"v1.{m}.0", "published_at": f"2024-0{1 + m}-01T00:00:00Z",
                                "html_url": f"https://example.org/{name}/v1.{m}.0", "assets": []} for m in range(5)])
            ctype = "application/json"
        elif self.path.startswith("/dl/"):
            group = self.path.split("/")[2]
            links = "".join(f'<a href="c{i:03d}-1.{m}.0.tar.gz">x</a> 2024-0{1 + m}-01 10:00\n'
                            for i in range(int(group) * 2, int(group) * 2 + 2) for m in range(5))
            body, ctype = f"<html><body><pre>{links}</pre></body></html>", "text/html"
        else:
            self.send_error(404)
            return
        payload = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def bench_real_manifest(tmp: Path) -> None:
    """The site of the project's own components.yaml (no discovery data: the manifest's versions)."""
    manifest_path = Path(__file__).resolve().parent.parent / "components.yaml"
    manifest = load(manifest_path)
    counter = iter(range(1000))

    def library_build() -> None:
        build_site(manifest, BuildSettings(out=tmp / f"real-{next(counter)}", data_path=tmp / "no-data.json"))

    ours = timed(library_build, repeat=3)
    files = sum(1 for p in (tmp / "real-0").rglob("*") if p.is_file())
    active = sum(1 for c in manifest.components.values() if c.active)
    emit(f"site: build the real manifest ({active} components, {files} files)", ours,
         note=f"load average {os.getloadavg()[0]:.1f}")


def bench_discover(tmp: Path) -> None:
    count = 200
    seed = tmp / "seed.git"
    subprocess.run(["git", "init", "-q", "--bare", str(seed)], check=True)
    work = tmp / "work"
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    env_git = ["-c", "user.name=Bench", "-c", "user.email=bench@example.org"]
    for minor in range(5):
        (work / "NEWS").write_text(f"{minor}\n")
        subprocess.run(["git", "-C", str(work), "add", "NEWS"], check=True)
        subprocess.run(["git", "-C", str(work), *env_git, "commit", "-q", "-m", f"r{minor}"], check=True)
        subprocess.run(["git", "-C", str(work), *env_git, "tag", "-a", "-m", "r", f"v1.{minor}.0"], check=True)
    subprocess.run(["git", "-C", str(work), "push", "-q", "--tags", str(seed), "main"], check=True)
    repos = tmp / "repos"
    repos.mkdir()
    for i in range(count):
        shutil.copytree(seed, repos / f"c{i:03d}.git")

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    # Two components share each tarball directory: 100 listings for 200 components.
    comps = [comp(f"c{i:03d}", f"https://github.com/acme/c{i:03d}.git",
                  f"{base}/dl/{i // 2}/c{i:03d}-{{version}}.tar.gz") for i in range(count)]
    manifest_path = tmp / "discover.yaml"
    manifest_path.write_text(manifest_text(comps))
    manifest = load(manifest_path)
    # git fetches every github.com/acme/ repository from the local copies (url.<base>.insteadOf)
    os.environ.update({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.{repos.as_uri()}/.insteadOf",
                       "GIT_CONFIG_VALUE_0": "https://github.com/acme/"})
    runs = iter(range(100))

    def ours() -> None:
        _Upstream.requests.clear()
        state = tmp / f"state-{next(runs)}"
        result = discover(manifest, [], DiscoverSettings(state_dir=state, github_api=f"{base}/api", jobs=8))
        assert result.sources_failed == 0, result.failures

    concurrent = timed(ours, repeat=2)
    asked = len(_Upstream.requests)
    unique = len(set(_Upstream.requests))
    script = tmp / "loop.sh"
    lines = ["set -e"]
    for i in range(count):
        lines.append(f"git ls-remote --tags https://github.com/acme/c{i:03d}.git >/dev/null")
        lines.append(f"curl -fsS {base}/api/repos/acme/c{i:03d}/releases?per_page=100 >/dev/null")
        lines.append(f"curl -fsS {base}/dl/{i // 2}/ >/dev/null")
    script.write_text("\n".join(lines) + "\n")
    loop = timed(lambda: subprocess.run(["sh", str(script)], check=True))
    emit(f"site: discover {count} components, {count * 3} sources, 8 at a time", concurrent,
         "sequential git ls-remote + curl loop", loop,
         note=f"{asked} HTTP requests for {unique} URLs, {count} ls-remote")
    server.shutdown()


def main(argv: list[str]) -> int:
    """``bench/site.py [build] [real] [discover]`` (all when none is named)."""
    for name, bench in (("build", bench_build), ("real", bench_real_manifest), ("discover", bench_discover)):
        if argv and name not in argv:
            continue
        with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
            bench(Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
