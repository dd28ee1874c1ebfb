"""The local OBS-compatible service, driven by the unmodified osc command line."""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from obs_helpers import FIXTURES, OSC, PASSWORD, PROJECT_META, Service, hello_tarball, start_service, write_oscrc

pytestmark = pytest.mark.slow  # starts the OBS builder


@pytest.fixture(scope="module")
def obs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    svc = start_service(tmp_path_factory.mktemp("obs"), build=True)
    yield svc
    svc.service.shutdown()
    svc.service.server_close()


@pytest.fixture(autouse=True)
def _builds_finish_within_the_test(obs: Service) -> Iterator[None]:
    yield
    obs.wait_builds()


def make_project(obs: Service, tmp: Path, name: str) -> None:
    meta = tmp / f"{name}.xml"
    meta.write_text(PROJECT_META.format(name=name))
    obs.osc("meta", "prj", name, "-F", str(meta))


def make_package(obs: Service, project: str, package: str) -> None:
    obs.osc("meta", "pkg", project, package, "-F", "-",
            input=f'<package name="{package}" project="{project}"><title>{package}</title>'
                  "<description>test</description></package>")


def checkout_hello(obs: Service, tmp: Path, project: str) -> Path:
    make_package(obs, project, "hello")
    obs.osc("co", project, "hello", cwd=tmp)
    wc = tmp / project / "hello"
    for item in (FIXTURES / "hello").iterdir():
        shutil.copy(item, wc / item.name)
    hello_tarball(wc)
    obs.osc("add", *sorted(p.name for p in wc.iterdir() if not p.name.startswith(".")), cwd=wc)
    return wc


def test_project_meta_round_trip(obs: Service, tmp_path: Path) -> None:
    make_project(obs, tmp_path, "home:Admin:meta")
    shown = obs.osc("-A", obs.url, "meta", "prj", "home:Admin:meta").stdout
    assert shown == PROJECT_META.format(name="home:Admin:meta")
    assert "home:Admin:meta" in obs.osc("ls").stdout.split()


def test_meta_with_wrong_name_is_refused(obs: Service, tmp_path: Path) -> None:
    meta = tmp_path / "bad.xml"
    meta.write_text(PROJECT_META.format(name="other:name"))
    done = obs.osc("meta", "prj", "home:Admin:bad", "-F", str(meta), check=False)
    assert done.returncode != 0
    assert "does not match" in done.stderr + done.stdout


def test_checkout_commit_edit_and_history(obs: Service, tmp_path: Path) -> None:
    make_project(obs, tmp_path, "home:Admin:co")
    wc = checkout_hello(obs, tmp_path, "home:Admin:co")
    assert "Committed revision 1." in obs.osc("ci", "-m", "first upload", cwd=wc).stdout
    listing = obs.osc("ls", "-v", "home:Admin:co", "hello").stdout
    assert "hello.spec" in listing and "hello-1.0.tar.gz" in listing
    spec = wc / "hello.spec"
    spec.write_text(spec.read_text().replace("Release:        0", "Release:        1"))
    (wc / "debian.changelog").unlink()
    obs.osc("rm", "debian.changelog", cwd=wc, check=False)
    assert "Committed revision 2." in obs.osc("ci", "-m", "second", cwd=wc).stdout
    log = obs.osc("log", "home:Admin:co", "hello").stdout
    assert "r2 | Admin" in log and "second" in log and "first upload" in log
    again = tmp_path / "again"
    again.mkdir()
    obs.osc("co", "home:Admin:co", "hello", cwd=again)
    copy = again / "home:Admin:co" / "hello"
    assert (copy / "hello.spec").read_text() == spec.read_text()
    assert not (copy / "debian.changelog").exists()
    first = obs.osc("cat", "home:Admin:co", "hello", "hello.spec", "-r", "1").stdout
    diff = obs.osc("rdiff", "home:Admin:co", "hello", "-r", "1:2").stdout
    assert "-Release:        0\n+Release:        1" in diff and "--- debian.changelog\t(revision 1)" in diff
    assert "Release:        0" in first


def test_results_buildlog_and_rebuild(obs: Service, tmp_path: Path) -> None:
    make_project(obs, tmp_path, "home:Admin:build")
    wc = checkout_hello(obs, tmp_path, "home:Admin:build")
    obs.osc("ci", "-m", "build me", cwd=wc)
    done = obs.osc("results", "-w", "home:Admin:build", "hello")
    final = done.stdout.strip().split("\n\n")[-1].splitlines()
    assert sorted(line.split()[:2] + line.split()[-1:] for line in final) == [
        ["Debian_12", "x86_64", "succeeded"],
        ["openSUSE_Tumbleweed", "aarch64", "succeeded"],
        ["openSUSE_Tumbleweed", "x86_64", "succeeded"],
    ]
    deb_log = obs.osc("buildlog", "Debian_12", "x86_64", cwd=wc).stdout
    assert "dpkg-buildpackage" in deb_log and "exit status 0" in deb_log
    rpm_log = obs.osc("remotebuildlog", "home:Admin:build", "hello", "openSUSE_Tumbleweed", "aarch64").stdout
    assert "rpmbuild" in rpm_log and "hello-1.0-0.noarch.rpm" in rpm_log
    builds_before = obs.service.builder.builds_run
    obs.osc("rebuild", "home:Admin:build", "hello", "Debian_12", "x86_64")
    obs.osc("results", "-w", "home:Admin:build", "hello")
    obs.wait_builds()
    assert obs.service.builder.builds_run == builds_before + 1


def test_one_build_per_family_and_srcmd5(obs: Service, tmp_path: Path) -> None:
    make_project(obs, tmp_path, "home:Admin:shared")
    wc = checkout_hello(obs, tmp_path, "home:Admin:shared")
    before = obs.service.builder.builds_run
    obs.osc("ci", "-m", "same sources as another project", cwd=wc)
    obs.osc("results", "-w", "home:Admin:shared", "hello")
    obs.wait_builds()
    # Same package, same srcmd5 as in other tests (fixed tarball bytes): the
    # earlier builds are reused, three results reported.
    assert obs.service.builder.builds_run - before <= 2


def test_failed_build_and_service_file(obs: Service, tmp_path: Path) -> None:
    make_project(obs, tmp_path, "home:Admin:fail")
    wc = checkout_hello(obs, tmp_path, "home:Admin:fail")
    spec = wc / "hello.spec"
    spec.write_text(spec.read_text().replace("%build\n", "%build\necho broken on purpose; exit 3\n"))
    obs.osc("ci", "-m", "fails", cwd=wc)
    obs.osc("results", "-w", "home:Admin:fail", "hello", check=False)
    obs.wait_builds()
    lines = obs.osc("results", "home:Admin:fail", "hello").stdout.splitlines()
    assert any("openSUSE_Tumbleweed" in line and line.rstrip().endswith("failed") for line in lines)
    assert "broken on purpose" in obs.osc("remotebuildlog", "home:Admin:fail", "hello", "openSUSE_Tumbleweed",
                                          "x86_64").stdout
    (wc / "hello-1.0.tar.gz").unlink()
    obs.osc("rm", "hello-1.0.tar.gz", cwd=wc, check=False)
    (wc / "_service").write_text(
        '<services><service name="download_url"><param name="protocol">https</param>'
        '<param name="host">example.org</param><param name="path">/hello-1.0.tar.gz</param>'
        "</service></services>\n")
    obs.osc("add", "_service", cwd=wc)
    obs.osc("ci", "-m", "fetch by service", cwd=wc)
    obs.osc("results", "-w", "home:Admin:fail", "hello", check=False)
    obs.wait_builds()
    shown = obs.osc("results", "-v", "home:Admin:fail", "hello").stdout
    assert "broken" in shown and "download_url needs network access" in shown


def test_submit_request_and_accept(obs: Service, tmp_path: Path) -> None:
    make_project(obs, tmp_path, "home:Admin:src")
    make_project(obs, tmp_path, "Target:Dist")
    wc = checkout_hello(obs, tmp_path, "home:Admin:src")
    obs.osc("ci", "-m", "for submission", cwd=wc)
    out = obs.osc("sr", "home:Admin:src", "hello", "Target:Dist", "-m", "please take it").stdout
    request_id = out.strip().split()[-1]
    assert request_id.isdigit()
    listed = obs.osc("rq", "list", "Target:Dist").stdout
    assert f"{request_id}  State:new" in listed and "please take it" in listed
    diff = obs.osc("rq", "show", "-d", request_id).stdout
    assert "+++ hello.spec\t(revision 1)" in diff and "+Name:           hello" in diff
    obs.osc("rq", "accept", request_id, "-m", "ok")
    assert "hello.spec" in obs.osc("ls", "Target:Dist", "hello").stdout
    assert f"rq{request_id}" in obs.osc("log", "Target:Dist", "hello").stdout


def test_branch(obs: Service, tmp_path: Path) -> None:
    make_project(obs, tmp_path, "home:Admin:orig")
    wc = checkout_hello(obs, tmp_path, "home:Admin:orig")
    obs.osc("ci", "-m", "to branch", cwd=wc)
    obs.osc("branch", "home:Admin:orig", "hello")
    assert "hello.spec" in obs.osc("ls", "home:Admin:branches:home:Admin:orig", "hello").stdout
    again = obs.osc("branch", "home:Admin:orig", "hello", check=False)
    assert again.returncode != 0


def test_authentication(obs: Service, tmp_path: Path) -> None:
    host, port = obs.service.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", "/about")
    answer = conn.getresponse()
    answer.read()
    assert answer.status == 401
    assert answer.getheader("WWW-Authenticate") == 'basic realm="API login"'
    rc = write_oscrc(tmp_path / "bad-oscrc", obs.url, password="wrong", cookiejar=tmp_path / "jar")
    done = subprocess.run([OSC, "--config", str(rc), "ls"], env=obs.env(),
                          capture_output=True, text=True, input="")
    assert done.returncode != 0
    assert "401" in done.stderr + done.stdout


def test_state_survives_a_restart(tmp_path: Path) -> None:
    root = tmp_path / "state"
    users = tmp_path / "users"
    users.write_text(f"Admin:{PASSWORD}\n")
    argv = [sys.executable, "-m", "releasetool", "obs", "serve", "--stand-in", "--port", "0", "--root", str(root),
            "--users-file", str(users)]

    def start() -> tuple[subprocess.Popen[str], str]:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        return proc, proc.stdout.readline().strip()

    proc, url = start()
    home = tmp_path / "home"
    home.mkdir()
    svc = Service(None, url, root, write_oscrc(tmp_path / "oscrc", url, cookiejar=home / "jar"), home)  # type: ignore[arg-type]
    try:
        make_project(svc, tmp_path, "home:Admin:persist")
        make_package(svc, "home:Admin:persist", "kept")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc, url2 = start()
    try:
        rc = write_oscrc(tmp_path / "oscrc", url2, cookiejar=home / "jar")
        svc = Service(None, url2, root, rc, home)  # type: ignore[arg-type]
        assert svc.osc("ls", "home:Admin:persist").stdout.split() == ["kept"]
        stderr_seen = ""
    finally:
        proc.terminate()
        _, stderr_seen = proc.communicate(timeout=10)
    assert PASSWORD not in stderr_seen
    assert PASSWORD not in json.dumps([p.read_text(errors="replace") for p in root.rglob("*") if p.is_file()])
    assert PASSWORD not in " ".join(argv)


def test_request_without_project_is_answered_in_obs_shape(obs: Service) -> None:
    done = obs.osc("api", "/source/no:such:project", check=False)
    assert done.returncode != 0
    assert "Project not found: no:such:project" in done.stderr + done.stdout


def test_serve_applies_a_fault_plan_file(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("faults:\n  - request: POST /request\n    query: {cmd: create}\n    effect: error\n"
                    "    status: 401\n")
    users = tmp_path / "users"
    users.write_text(f"Admin:{PASSWORD}\n")
    argv = [sys.executable, "-m", "releasetool", "obs", "serve", "--stand-in", "--port", "0", "--root", str(tmp_path / "state"),
            "--users-file", str(users), "--faults", str(plan)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        home = tmp_path / "home"
        home.mkdir()
        svc = Service(None, url, tmp_path / "state", write_oscrc(tmp_path / "oscrc", url, cookiejar=home / "jar"),  # type: ignore[arg-type]
                      home)
        make_project(svc, tmp_path, "home:Admin:src")
        make_project(svc, tmp_path, "Target:Dist")
        make_package(svc, "home:Admin:src", "pkg")
        svc.osc("api", "-X", "PUT", "/source/home:Admin:src/pkg/file", "-d", "content")
        done = svc.osc("sr", "home:Admin:src", "pkg", "Target:Dist", "-m", "x", check=False)
        assert done.returncode != 0
        assert "401" in done.stdout + done.stderr
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
