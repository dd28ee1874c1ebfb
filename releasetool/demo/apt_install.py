"""The demo's last proof: apt installs a built package from the rehearsal's published repository.

What ``bs_publish`` wrote for the Debian target is served by ``obs serve``
under ``/repositories/``.  A throwaway Debian 12 root is made with
``debootstrap --variant=minbase`` (from a tarball of its packages kept in the
user's cache, so that the mirror is read once), its apt sources are replaced
by the published repository alone, and ``apt-get install`` runs inside it
with ``chroot``: the packages come from the rehearsal, their dependencies
from what the root already holds, and the machine's own dpkg state is never
touched.  Then one of the package's programs runs in the root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from releasetool.errors import DemoStepError
from releasetool.fsutil import atomic_write
from releasetool.log import log

SUITE = "bookworm"
PUBLISH_TIMEOUT = 600.0


@dataclass
class Installed:
    package: str
    version: str  # as dpkg in the throwaway root records it
    repository: str
    program: str
    output: str
    seconds: float

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def cache_tarball() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "releasetool" / f"debootstrap-{SUITE}-minbase.tgz"


def debian_mirror() -> str:
    """The machine's Debian 12 mirror, as apt knows it."""
    done = subprocess.run(["apt-get", "indextargets", "--format", "$(REPO_URI) $(RELEASE) $(CREATED_BY)"],
                          capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] == SUITE and fields[2] == "Packages":
            return fields[0]
    raise DemoStepError(f"apt knows no Debian {SUITE} mirror on this machine", hint="check /etc/apt/sources.list.d")


def _run(argv: list[str], what: str, timeout: float = 900) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout,
                          stdin=subprocess.DEVNULL, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive",
                                                         "LC_ALL": "C.UTF-8"})
    if done.returncode != 0:
        tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
        raise DemoStepError(f"{what} failed (exit status {done.returncode}): {' | '.join(tail)}")
    return done.stdout


def make_root(root: Path) -> None:
    """A minimal Debian 12 root at ``root`` (made again from the cached package tarball)."""
    tarball = cache_tarball()
    if not tarball.exists():
        tarball.parent.mkdir(parents=True, exist_ok=True)
        partial = tarball.with_name(tarball.name + ".partial")
        scratch = root.with_name(root.name + ".download")
        shutil.rmtree(scratch, ignore_errors=True)
        _run(["debootstrap", "--variant=minbase", f"--make-tarball={partial}", SUITE, str(scratch),
              debian_mirror()], "debootstrap --make-tarball")
        shutil.rmtree(scratch, ignore_errors=True)
        partial.rename(tarball)
    shutil.rmtree(root, ignore_errors=True)
    _run(["debootstrap", "--variant=minbase", f"--unpack-tarball={tarball}", SUITE, str(root)], "debootstrap")


def wait_published(repository_url: str, package: str, timeout: float = PUBLISH_TIMEOUT) -> None:
    """Until the published ``Packages`` index lists ``package`` (bs_publish runs after the builds)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(repository_url + "Packages", timeout=30) as answer:
                if f"Package: {package}\n".encode() in answer.read():
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise DemoStepError(f"{repository_url} did not publish {package} within {timeout:.0f} s")
        time.sleep(2)


def install_and_run(root: Path, repository_url: str, package: str, program: list[str]) -> Installed:
    """apt-get install ``package`` from ``repository_url`` into a fresh root and run ``program`` there."""
    started = time.monotonic()
    wait_published(repository_url, package)
    make_root(root)
    # The rehearsal's repository is the root's only apt source.
    (root / "etc/apt/sources.list").write_text("")
    for leftover in (root / "etc/apt/sources.list.d").glob("*"):
        leftover.unlink()
    (root / "etc/apt/sources.list.d/rehearsal.list").write_text(f"deb [trusted=yes] {repository_url} ./\n")
    _run(["chroot", str(root), "apt-get", "-q", "update"], "apt-get update in the throwaway root")
    _run(["chroot", str(root), "apt-get", "-q", "-y", "--no-install-recommends", "install", package],
         f"apt-get install {package} in the throwaway root")
    version = _run(["chroot", str(root), "dpkg-query", "-W", "-f", "${Version}", package],
                   f"dpkg-query {package} in the throwaway root").strip()
    output = _run(["chroot", str(root), *program], f"{' '.join(program)} in the throwaway root").strip()
    return Installed(package, version, repository_url, " ".join(program), output,
                     round(time.monotonic() - started, 1))


def prove(state: Path, root: Path, repository_url: str, package: str, version: str, program: list[str],
          prints: str) -> None:
    """Install, check the version installed and what the program prints; record it in ``state/apt-install.json``."""
    try:
        installed = install_and_run(root, repository_url, package, program)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if not installed.version.startswith(f"{version}-"):
        raise DemoStepError(f"apt installed {package} {installed.version}, not the release's {version}")
    if not installed.output.startswith(prints):
        raise DemoStepError(f"{installed.program} printed {installed.output!r}, not {prints}...")
    import json

    atomic_write(state / "apt-install.json", json.dumps(installed.to_json(), indent=2) + "\n")
    log.info("apt installed %s %s from %s into a throwaway root; %s printed %r (%.1f s)", package,
             installed.version, repository_url, installed.program, installed.output, installed.seconds)
