"""Helpers for the OBS tests: a service on 127.0.0.1, an oscrc for it, the osc command line."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from releasetool.obs.service.server import ObsService, make_service, start_in_thread

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "obs"
OSC = str(Path(sys.executable).with_name("osc"))
USER = "Admin"
PASSWORD = "s3cret-Pa55-xyzzy"

PROJECT_META = """\
<project name="{name}">
  <title>{name}</title>
  <description>test project</description>
  <person userid="Admin" role="maintainer"/>
  <repository name="openSUSE_Tumbleweed">
    <path project="openSUSE:Factory" repository="snapshot"/>
    <arch>x86_64</arch>
    <arch>aarch64</arch>
  </repository>
  <repository name="Debian_12">
    <path project="Debian:12" repository="standard"/>
    <arch>x86_64</arch>
  </repository>
</project>
"""


@dataclass
class Service:
    service: ObsService
    url: str
    root: Path
    oscrc: Path
    home: Path

    def env(self) -> dict[str, str]:
        return dict(os.environ, HOME=str(self.home), NO_PROXY="127.0.0.1,localhost", XDG_STATE_HOME=str(self.home),
                    XDG_CONFIG_HOME=str(self.home), XDG_CACHE_HOME=str(self.home))

    def osc(self, *args: str, cwd: Path | None = None, check: bool = True,
            input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([OSC, "--config", str(self.oscrc), *args], cwd=cwd, env=self.env(), text=True,
                              capture_output=True, input=input if input is not None else "", timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"osc {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def wait_builds(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        builder = self.service.builder
        while builder is not None and not builder.idle():
            if time.monotonic() > deadline:
                raise AssertionError("builds did not finish")
            time.sleep(0.1)


def write_oscrc(path: Path, url: str, *, user: str = USER, password: str = PASSWORD, cookiejar: Path) -> Path:
    path.write_text(
        "[general]\n"
        f"apiurl = {url}\n"
        "http_retries = 1\n"
        f"cookiejar = {cookiejar}\n"
        "check_for_request_on_action = 0\n"
        f"[{url}]\n"
        f"user = {user}\n"
        f"pass = {password}\n"
        "credentials_mgr_class = osc.credentials.PlaintextConfigFileCredentialsManager\n"
        "allow_http = 1\n"
    )
    path.chmod(0o600)
    return path


def start_service(base: Path, *, build: bool = False, faults=None) -> Service:  # type: ignore[no-untyped-def]
    root = base / "state"
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True)
    service = make_service(root, {USER: PASSWORD, "other": "other-pass"}, build=build, faults=faults)
    start_in_thread(service)
    url = service.url
    oscrc = write_oscrc(base / "oscrc", url, cookiejar=home / "cookiejar")
    return Service(service, url, root, oscrc, home)


def hello_tarball(dest: Path) -> Path:
    """hello-1.0.tar.gz with fixed metadata, so its md5 is the same in every run."""
    target = dest / "hello-1.0.tar.gz"
    src = FIXTURES / "hello-1.0"

    def clean(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
        return info

    with open(target, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.GNU_FORMAT) as tar:
        tar.add(src, arcname="hello-1.0", filter=clean)
    return target


def write_manifest(directory: Path, count: int = 3, *, project: str = "home:Admin:dist") -> Path:
    """A manifest of ``count`` small components, one rpm and one deb target."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [
        "schema: 1",
        "distribution:",
        "  name: Test distribution",
        f"  obs_project: {project}",
        "  site_url: https://example.org",
        "  packager: Release Team <release@example.org>",
        "targets:",
        "  - {name: openSUSE_Tumbleweed, label: Tumbleweed, family: rpm, project: 'openSUSE:Factory',"
        " repository: snapshot, archs: [x86_64]}",
        "  - {name: Debian_12, label: Debian 12, family: deb, project: 'Debian:12', repository: standard,"
        " archs: [x86_64]}",
        "components:",
    ]
    for i in range(count):
        name = f"comp{i:02d}"
        lines += [
            f"  - name: {name}",
            f"    summary: Component number {i}",
            f"    description: The component numbered {i}.",
            f"    homepage: https://example.org/{name}",
            "    license: GPL-2.0-or-later",
            f"    git: https://example.org/{name}.git",
            "    tag_pattern: v{version}",
            "    version_scheme: rpm",
            '    version: "1.0"',
            "    released: 2024-01-01",
            "    tarball: https://example.org/{name}-{version}.tar.gz",
            *([f"    depends: [comp{i - 1:02d}]"] if i else []),
            "    packaging: {}",
        ]
    path = directory / "components.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path
