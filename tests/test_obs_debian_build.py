"""A real OBS build: Debian 12 base imported from apt, scheduled, built in the worker's chroot, published, served."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from obs_helpers import FIXTURES, OSC, Service, hello_tarball
from test_obs_frontend_backend import Serve

from releasetool.obs.service import debian_base

pytestmark = pytest.mark.slow  # downloads the base once, builds in a chroot

ROOT = Path(__file__).resolve().parent.parent
BASE_CACHE = ROOT / ".releasetool-cache" / "obs-debian-12"
PROJECT = "home:Admin:deb"
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def project_meta(name: str) -> str:
    return f"""\
<project name="{name}">
  <title>Debian builds</title>
  <description>built by the OBS backend</description>
  <repository name="Debian_12">
    <path project="Debian:12" repository="standard"/>
    <arch>x86_64</arch>
  </repository>
</project>
"""


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    started = Serve(tmp_path_factory.mktemp("obs-deb"), extra=["--debian-base", "--base-cache", str(BASE_CACHE)])
    yield started
    started.stop()


def results(obs: Service, package: str) -> str:
    """The package's code in Debian_12/x86_64, once the repository is no longer dirty."""
    out = obs.osc("results", "--xml", PROJECT, package).stdout
    if 'dirty="true"' in out:
        return "dirty"
    start = out.find(f'package="{package}" code="')
    return out[start:].split('code="')[1].split('"')[0] if start >= 0 else "none"


def wait_for(obs: Service, package: str, final: set[str], timeout: float = 900) -> str:
    deadline = time.monotonic() + timeout
    while True:
        code = results(obs, package)
        if code in final:
            return code
        assert time.monotonic() < deadline, f"{package} still {code}"
        time.sleep(2)


def upload(obs: Service, tmp: Path, package: str, files: dict[str, bytes]) -> None:
    pkg = tmp / "pkg.xml"
    pkg.write_text(f'<package name="{package}" project="{PROJECT}"><title>{package}</title><description/></package>')
    obs.osc("meta", "pkg", PROJECT, package, "-F", str(pkg))
    obs.osc("co", PROJECT, package, cwd=tmp)
    wc = tmp / PROJECT / package
    for name, data in files.items():
        (wc / name).write_bytes(data)
        obs.osc("add", name, cwd=wc)
    obs.osc("ci", "-m", "sources", cwd=wc)


def hello_files(tmp: Path) -> dict[str, bytes]:
    files = {p.name: p.read_bytes() for p in (FIXTURES / "hello").iterdir() if not p.name.endswith(".spec")}
    files["hello-1.0.tar.gz"] = hello_tarball(tmp).read_bytes()
    return files


def test_the_base_project_is_debian_12(serve: Serve) -> None:
    config = serve.admin.osc("meta", "prjconf", "Debian:12").stdout
    assert "Type: dsc" in config and "Repotype: debian" in config
    preinstall = config.split("Preinstall:")[1].splitlines()[0].split()
    assert {"base-files", "dpkg", "libc6", "bash"} <= set(preinstall)
    assert "usrmerge" not in preinstall and "usr-is-merged" not in preinstall
    names = serve.admin.osc("api", "/build/Debian:12/standard/x86_64/_repository?view=names").stdout
    assert 'name="debhelper' in names and 'name="build-essential' in names
    assert len(list((BASE_CACHE / "archives").glob("*.deb"))) >= 150


def make_project(serve: Serve, tmp: Path) -> None:
    meta = tmp / "prj.xml"
    meta.write_text(project_meta(PROJECT))
    serve.admin.osc("meta", "prj", PROJECT, "-F", str(meta))


def test_a_dsc_is_scheduled_built_published_and_served(serve: Serve, tmp_path: Path) -> None:
    make_project(serve, tmp_path)
    started = time.monotonic()
    upload(serve.admin, tmp_path, "hello", hello_files(tmp_path))
    wc = tmp_path / PROJECT / "hello"
    # the log followed while the package builds, as a packager does
    while results(serve.admin, "hello") not in ("building", "succeeded", "failed"):
        assert time.monotonic() - started < 600, "never building"
        time.sleep(1)
    following = subprocess.Popen([OSC, "--config", str(serve.admin.oscrc), "buildlog", "Debian_12", "x86_64"],
                                 cwd=wc, env=serve.admin.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
    # `results -w` returns once every result is final
    watched = serve.admin.osc("results", "-w", PROJECT, "hello", timeout=900).stdout
    assert "succeeded" in watched.splitlines()[-1]
    assert results(serve.admin, "hello") == "succeeded"
    built_in = time.monotonic() - started
    followed, _ = following.communicate(timeout=300)
    assert "dpkg-buildpackage" in followed and "finished \"build hello.dsc\"" in followed
    log = serve.admin.osc("buildlog", "Debian_12", "x86_64", cwd=wc).stdout
    assert "dpkg-buildpackage" in log and "installing debhelper" in log
    binaries = serve.admin.osc("ls", "-b", PROJECT, "hello", "-r", "Debian_12", "-a", "x86_64").stdout
    assert "hello_1.0-1_all.deb" in binaries
    dest = tmp_path / "binaries"
    serve.admin.osc("getbinaries", PROJECT, "hello", "Debian_12", "x86_64", "--destdir", str(dest))
    assert (dest / "hello_1.0-1_all.deb").exists()
    history = serve.admin.osc("api", f"/build/{PROJECT}/Debian_12/x86_64/_jobhistory?package=hello").stdout
    assert 'code="succeeded"' in history and 'workerid="releasetool:x86_64:1"' in history

    # bs_publish's repository, at the download server's URL, read without login
    base = f"{serve.url}/repositories/home:/Admin:/deb/Debian_12"
    deadline = time.monotonic() + 120
    while True:
        try:
            with DIRECT.open(f"{base}/Packages", timeout=30) as answer:
                packages = answer.read().decode()
            if "Package: hello" in packages:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "nothing published"
        time.sleep(2)
    filename = next(line.split(": ", 1)[1] for line in packages.splitlines() if line.startswith("Filename: "))
    with DIRECT.open(f"{base}/{filename}", timeout=30) as answer:
        deb = tmp_path / "published.deb"
        deb.write_bytes(answer.read())
    unpacked = tmp_path / "unpacked"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
    ran = subprocess.run([str(unpacked / "usr" / "bin" / "hello-obs")], capture_output=True, text=True, check=True)
    assert "hello" in ran.stdout.lower()
    with pytest.raises(urllib.error.HTTPError) as refused:
        DIRECT.open(f"{serve.url}/repositories/..%2F..%2Fconf/BSConfig.pm", timeout=30)
    assert refused.value.code in (400, 404)
    print(f"first build from an empty build root: {built_in:.0f} s")


def test_an_impossible_build_dependency_is_unresolvable(serve: Serve, tmp_path: Path) -> None:
    make_project(serve, tmp_path)
    files = hello_files(tmp_path)
    files["hello.dsc"] = files["hello.dsc"].replace(b"debhelper-compat (= 13)",
                                                    b"debhelper-compat (= 13), no-such-package-anywhere")
    upload(serve.admin, tmp_path, "impossible", files)
    assert wait_for(serve.admin, "impossible", {"succeeded", "failed", "unresolvable", "broken"}) == "unresolvable"
    details = serve.admin.osc("results", "--xml", PROJECT, "impossible").stdout
    assert "nothing provides no-such-package-anywhere" in details


def test_a_disabled_repository_is_disabled(serve: Serve, tmp_path: Path) -> None:
    make_project(serve, tmp_path)
    pkg = tmp_path / "pkg.xml"
    pkg.write_text(f'<package name="off" project="{PROJECT}"><title>off</title><description/>'
                   '<build><disable repository="Debian_12"/></build></package>')
    serve.admin.osc("meta", "pkg", PROJECT, "off", "-F", str(pkg))
    serve.admin.osc("co", PROJECT, "off", cwd=tmp_path)
    wc = tmp_path / PROJECT / "off"
    for name, data in hello_files(tmp_path).items():
        (wc / name).write_bytes(data)
        serve.admin.osc("add", name, cwd=wc)
    serve.admin.osc("ci", "-m", "sources", cwd=wc)
    assert wait_for(serve.admin, "off", {"succeeded", "failed", "disabled", "broken"}, timeout=120) == "disabled"


def test_the_base_cache_is_reused(tmp_path: Path) -> None:
    before = {p.name: p.stat().st_mtime for p in (BASE_CACHE / "archives").glob("*.deb")}
    again = debian_base.download(BASE_CACHE)
    assert {p.name for p in again.debs} <= set(before)
    assert all(p.stat().st_mtime == before[p.name] for p in again.debs)
    assert shutil.which("apt-get")


def test_status_waits_for_each_packages_own_last_job(serve: Serve, tmp_path: Path) -> None:
    """Two packages built by OBS: `obs status --wait` ends with both current (OBS's job history limit is global)."""
    import json
    import sys

    from obs_helpers import write_manifest

    project = "home:Admin:debtwo"
    meta = tmp_path / "prj.xml"
    meta.write_text(project_meta(project))
    serve.admin.osc("meta", "prj", project, "-F", str(meta))
    for package in ("hello", "hellotwo"):
        files = hello_files(tmp_path)
        if package == "hellotwo":
            files = {name: data if name.endswith(".tar.gz") else
                     data.replace(b"hello", b"hellotwo").replace(b"hellotwo-1.0.tar.gz", b"hello-1.0.tar.gz")
                     .replace(b"hellotwo-obs", b"hello-obs") for name, data in files.items()}
        pkg = tmp_path / f"{package}.xml"
        pkg.write_text(f'<package name="{package}" project="{project}"><title/><description/></package>')
        serve.admin.osc("meta", "pkg", project, package, "-F", str(pkg))
        serve.admin.osc("co", project, package, cwd=tmp_path)
        wc = tmp_path / project / package
        for name, data in files.items():
            (wc / name).write_bytes(data)
        serve.admin.osc("addremove", cwd=wc)
        serve.admin.osc("ci", "-m", "sources", cwd=wc)
    manifest = write_manifest(tmp_path / "m", 2, project=project)
    manifest.write_text(manifest.read_text().replace("comp00", "hello").replace("comp01", "hellotwo"))
    done = subprocess.run([sys.executable, "-m", "releasetool", "--manifest", str(manifest), "obs", "status",
                           "hello", "hellotwo", "--apiurl", serve.url, "--config", str(serve.admin.oscrc), "--wait",
                           "--timeout", "1200", "--interval", "2", "--json"],
                          capture_output=True, text=True, env=serve.admin.env(), timeout=1500)
    assert done.stdout, done.stderr
    results = {(r["package"], r["repository"]): r for r in json.loads(done.stdout)["results"]}
    debian = {package: results[(package, "Debian_12")] for package in ("hello", "hellotwo")}
    assert {(r["code"], r["current"]) for r in debian.values()} == {("succeeded", True)}, done.stderr
    history = serve.admin.osc("api", f"/build/{project}/Debian_12/x86_64/_jobhistory?limit=1"
                                     "&package=hello&package=hellotwo").stdout
    assert history.count("<jobhist ") == 1  # what made a limit per request wrong
