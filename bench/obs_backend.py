"""The real OBS backend under releasetool's supervisor: start-up, base import, first build, memory, disk.

Measured (needs root, and the packages of `make setup`):

- start-up of the six daemons on an empty state directory, and again on a
  state that holds the base and a build (a restart);
- making ``Debian:12/standard``: apt-get's download into an empty cache, then
  with the cache already filled, and the import into the backend;
- the first build of a small .dsc (the test fixture ``hello``) from an empty
  build root: from the commit to ``succeeded``, as the scheduler, dispatcher
  and chroot worker do it; then a rebuild in the kept build root;
- resident memory of every process of the daemons (summed; pages shared
  between a daemon and its forks are counted in each), at rest and after the
  build; disk of the state directory and of the package cache.

No other tool is compared: the figures are for docs/obs-service.md.
Usage: bench/obs_backend.py   (about 3 minutes; downloads about 150 MB once per run)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from report import emit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from obs_helpers import FIXTURES, hello_tarball  # noqa: E402

from releasetool.obs.service import debian_base  # noqa: E402
from releasetool.obs.service.backend import Backend  # noqa: E402

DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
PROJECT = "bench:deb"


def call(method: str, url: str, data: bytes | None = None) -> bytes:
    with DIRECT.open(urllib.request.Request(url, data=data, method=method), timeout=120) as answer:
        body: bytes = answer.read()
        return body


def rss_mib(backend: Backend) -> float:
    groups = set(backend.running().values())
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) in groups:
            total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")), 0)
    return total / 1024


def disk_mib(path: Path) -> float:
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0]) / 1024


def wait_built(backend: Backend, since: float) -> float:
    while True:
        result = call("GET", f"{backend.srcserver}/build/{PROJECT}/_result?package=hello").decode()
        if 'dirty="true"' not in result and 'code="succeeded"' in result:
            return time.monotonic() - since
        if 'dirty="true"' not in result and any(f'code="{c}"' in result for c in ("failed", "unresolvable", "broken")):
            raise SystemExit(f"the build did not succeed:\n{result}")
        if time.monotonic() - since > 1200:
            raise SystemExit("no result after 20 minutes")
        time.sleep(1)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-obs-backend-") as tmp:
        base = Path(tmp)
        cache = base / "cache"
        started = time.monotonic()
        packages = debian_base.download(cache)
        emit("obs backend: download the Debian 12 base (empty cache)", time.monotonic() - started,
             note=f"{len(packages.debs)} packages")
        started = time.monotonic()
        packages = debian_base.download(cache)
        emit("obs backend: resolve the Debian 12 base (filled cache)", time.monotonic() - started)

        backend = Backend(base / "state")
        started = time.monotonic()
        backend.start()
        emit("obs backend: start the six daemons (empty state)", time.monotonic() - started)
        try:
            emit("obs backend: daemons' resident memory at rest", rss_mib(backend), unit="MiB")
            started = time.monotonic()
            debian_base.import_base(backend.srcserver, backend.reposerver, packages, backend.arch)
            emit("obs backend: import the base", time.monotonic() - started)

            meta = (f'<project name="{PROJECT}"><title/><description/><repository name="Debian_12">'
                    '<path project="Debian:12" repository="standard"/>'
                    f"<arch>{backend.arch}</arch></repository></project>").encode()
            call("PUT", f"{backend.srcserver}/source/{PROJECT}/_meta?user=bench", meta)
            call("PUT", f"{backend.srcserver}/source/{PROJECT}/hello/_meta?user=bench",
                 f'<package name="hello" project="{PROJECT}"><title/><description/></package>'.encode())
            files = {p.name: p.read_bytes() for p in (FIXTURES / "hello").iterdir() if not p.name.endswith(".spec")}
            files["hello-1.0.tar.gz"] = hello_tarball(base).read_bytes()
            for name, data in files.items():
                call("PUT", f"{backend.srcserver}/source/{PROJECT}/hello/{name}?rev=upload&user=bench", data)
            started = time.monotonic()
            call("POST", f"{backend.srcserver}/source/{PROJECT}/hello?cmd=commit&user=bench")
            emit("obs backend: first build from an empty build root (commit to succeeded)",
                 wait_built(backend, started))
            emit("obs backend: daemons' resident memory after a build", rss_mib(backend), unit="MiB")
            started = time.monotonic()
            call("POST", f"{backend.srcserver}/build/{PROJECT}?cmd=rebuild&package=hello")
            time.sleep(2)  # the result turns to scheduled, then back to succeeded
            emit("obs backend: rebuild (build root kept)", wait_built(backend, started))
        finally:
            backend.stop()
        emit("obs backend: disk of the state directory after one build", disk_mib(base / "state"), unit="MiB")
        emit("obs backend: disk of the package cache", disk_mib(cache), unit="MiB")
        restarted = Backend(base / "state")
        started = time.monotonic()
        restarted.start()
        emit("obs backend: start again on that state", time.monotonic() - started)
        restarted.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
