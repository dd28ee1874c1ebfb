"""releasetool obs submit / status / submitreq against the local OBS-compatible service."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from obs_helpers import (
    FIXTURES,
    PASSWORD,
    PROJECT_META,
    Service,
    hello_tarball,
    start_service,
    write_manifest,
    write_oscrc,
)

from releasetool.cli import main
from releasetool.obs.service.faults import Faults, Rule


@pytest.fixture(scope="module")
def obs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    svc = start_service(tmp_path_factory.mktemp("obs"), build=True)
    yield svc
    svc.service.shutdown()
    svc.service.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, obs: Service,
              capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("RELEASETOOL_OBS_BACKOFF", "0.01")
    yield
    # Builds a test started finish (and log) within that test, while its
    # captured stderr (where the CLI pointed the logger) is still open.
    obs.wait_builds()
    # main() pointed the logger at this test's captured stderr; the services'
    # threads must not write there once it is closed.
    logging.getLogger("releasetool").handlers.clear()


def submit(obs: Service, manifest: Path, *args: str) -> int:
    return main(["--manifest", str(manifest), "obs", "submit", "--apiurl", obs.url, "--config", str(obs.oscrc),
                 *args])


def revisions(obs: Service, project: str, package: str) -> int:
    return len(obs.service.store.history(project, package))


@pytest.mark.slow  # the OBS builder
def test_submit_all_then_nothing_to_do(obs: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write_manifest(tmp_path / "m", 3, project="home:Admin:first")
    assert submit(obs, manifest, "--all", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert [p["action"] for p in out["packages"]] == ["created"] * 3
    assert out["project_meta_written"] is True
    store = obs.service.store
    assert sorted(store.packages("home:Admin:first")) == ["comp00", "comp01", "comp02"]
    files = store.latest("home:Admin:first", "comp01").files
    assert sorted(files) == ["_service", "comp01.changes", "comp01.dsc", "comp01.spec", "debian.tar.xz"]
    dsc = store.blob(files["comp01.dsc"]).decode()
    assert "DEBTRANSFORM-TAR: comp01-1.0.tar.gz" in dsc
    meta = store.project_meta("home:Admin:first").decode()
    assert '<path project="Debian:12" repository="standard"' in meta
    pkg_meta = store.package_meta("home:Admin:first", "comp01").decode()
    assert "<url>https://example.org/comp01</url>" in pkg_meta

    puts_before = obs.service.stats["PUT /source/*/_meta"]
    assert submit(obs, manifest, "--all", "--json") == 0
    second = capsys.readouterr()
    again = json.loads(second.out)
    assert [p["action"] for p in again["packages"]] == ["unchanged"] * 3
    assert again["project_meta_written"] is False
    assert obs.service.stats["PUT /source/*/_meta"] == puts_before
    assert all(revisions(obs, "home:Admin:first", f"comp0{i}") == 1 for i in range(3))


@pytest.mark.slow  # the OBS builder
def test_only_changed_files_are_sent(obs: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write_manifest(tmp_path / "m", 1, project="home:Admin:delta")
    assert submit(obs, manifest, "comp00") == 0
    tarballs = tmp_path / "tarballs"
    tarballs.mkdir()
    (tarballs / "comp00-1.0.tar.gz").write_bytes(b"not really a tarball")
    capsys.readouterr()
    uploads_before = obs.service.stats["PUT /source/*/*/*?rev=repository"]
    assert submit(obs, manifest, "comp00", "--tarballs", str(tarballs), "--json") == 0
    out = json.loads(capsys.readouterr().out)["packages"][0]
    assert out["action"] == "committed"
    assert out["uploaded"] == ["comp00-1.0.tar.gz"]
    assert out["deleted"] == ["_service"]
    assert obs.service.stats["PUT /source/*/*/*?rev=repository"] == uploads_before + 1
    assert revisions(obs, "home:Admin:delta", "comp00") == 2


@pytest.mark.slow  # the OBS builder
def test_dry_run_writes_nothing(obs: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write_manifest(tmp_path / "m", 2, project="home:Admin:dry")
    assert submit(obs, manifest, "--all", "--dry-run", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert [p["action"] for p in out["packages"]] == ["would-commit"] * 2
    assert not obs.service.store.project_exists("home:Admin:dry")


@pytest.mark.slow  # the OBS builder
def test_wrong_credentials_one_line_and_no_secret(obs: Service, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write_manifest(tmp_path / "m", 1, project="home:Admin:auth")
    rc = write_oscrc(tmp_path / "oscrc", obs.url, password="wrong-" + PASSWORD, cookiejar=tmp_path / "jar")
    code = main(["--manifest", str(manifest), "obs", "submit", "--all", "--apiurl", obs.url, "--config", str(rc)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.splitlines() == [
        f"error: {obs.url} refused the credentials (HTTP 401 on GET /source/home:Admin:auth/_meta)",
        "hint: check user and password for this apiurl in your oscrc (or --config FILE)",
    ]
    assert PASSWORD not in err


def test_connection_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    manifest = write_manifest(tmp_path / "m", 1)
    rc = write_oscrc(tmp_path / "oscrc", url, cookiejar=tmp_path / "jar")
    code = main(["--manifest", str(manifest), "obs", "submit", "--all", "--apiurl", url, "--config", str(rc)])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert err[-2] == f"error: {url}: GET /source/home:Admin:dist/_meta: connection refused (gave up after 5 attempts)"


def test_faults_make_no_duplicates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    faults = Faults([
        Rule("POST", "/source/*/*", {"cmd": "commitfilelist"}, "error-after", status=504, every=2),
        Rule("PUT", "/source/*/*/*", {"rev": "repository"}, "reset", every=5),
        Rule("PUT", "/source/*/*/*", {"rev": "repository"}, "reset-after", nth=3),
        Rule("POST", "/request", {"cmd": "create"}, "error-after", status=504, nth=1),
    ])
    svc = start_service(tmp_path / "svc", faults=faults)
    try:
        manifest = write_manifest(tmp_path / "m", 4, project="home:Admin:faults")
        # One package at a time: with parallel packages the "every 2nd" fault
        # can hit one package's every retry, and the run rightly gives up.
        assert submit(svc, manifest, "--all", "--jobs", "1") == 0
        for i in range(4):
            assert revisions(svc, "home:Admin:faults", f"comp{i:02d}") == 1
        assert svc.service.stats["POST /source/*/*?cmd=commitfilelist"] > 4  # faults did fire
        make_target(svc, "Dist:Target")
        args = ["--manifest", str(manifest), "obs", "submitreq", "comp01", "--to", "Dist:Target",
                "--apiurl", svc.url, "--config", str(svc.oscrc)]
        capsys.readouterr()
        assert main(args) == 0
        first = capsys.readouterr().out.strip()
        assert main(args) == 0
        assert capsys.readouterr().out.strip() == first
        assert len(svc.service.store.requests()) == 1
    finally:
        svc.service.shutdown()
        svc.service.server_close()


def make_target(svc: Service, name: str) -> None:
    svc.service.store.set_project_meta(name, f'<project name="{name}"><title/><description/></project>'.encode())


@pytest.mark.slow  # the OBS builder
def test_submitreq_reuses_and_supersedes(obs: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write_manifest(tmp_path / "m", 1, project="home:Admin:req")
    assert submit(obs, manifest, "--all") == 0
    make_target(obs, "Dist:Req")
    args = ["--manifest", str(manifest), "obs", "submitreq", "comp00", "--to", "Dist:Req", "--apiurl", obs.url,
            "--config", str(obs.oscrc)]
    capsys.readouterr()
    assert main(args) == 0
    first = capsys.readouterr().out.strip()
    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == first
    assert f"obs submitreq: request {first} for these sources is already open" in captured.err
    tarballs = tmp_path / "t"
    tarballs.mkdir()
    (tarballs / "comp00-1.0.tar.gz").write_bytes(b"new sources")
    assert submit(obs, manifest, "--all", "--tarballs", str(tarballs)) == 0
    capsys.readouterr()
    assert main(args) == 0
    second = capsys.readouterr().out.strip()
    assert second != first
    old = obs.service.store.request(first)
    assert old is not None and old["state"]["name"] == "superseded"


def commit_hello(obs: Service, project: str, *, spec_patch: str = "") -> None:
    from releasetool.obs.api import Api, Settings
    from releasetool.obs.client import commit_files

    obs.service.store.set_project_meta(project, PROJECT_META.format(name=project).encode())
    obs.service.store.set_package_meta(project, "hello", b'<package name="hello"><title/><description/></package>')
    files = {p.name: p.read_bytes() for p in (FIXTURES / "hello").iterdir()}
    tar_dir = Path(obs.root).parent / "tar"
    tar_dir.mkdir(exist_ok=True)
    files["hello-1.0.tar.gz"] = hello_tarball(tar_dir).read_bytes()
    if spec_patch:
        files["hello.spec"] = files["hello.spec"].replace(b"%build\n", f"%build\n{spec_patch}\n".encode())
    api = Api(Settings(apiurl=obs.url, config=str(obs.oscrc), backoff=0.01))
    commit_files(api, project, "hello", files, {n: hashlib.md5(d).hexdigest() for n, d in files.items()},
                 message="hello")


def status_args(obs: Service, manifest: Path, project: str, *extra: str) -> list[str]:
    return ["--manifest", str(manifest), "obs", "status", "--project", project, "--apiurl", obs.url,
            "--config", str(obs.oscrc), "--interval", "0.2", *extra]


def hello_manifest(tmp_path: Path) -> Path:
    path = write_manifest(tmp_path / "m", 1)
    path.write_text(path.read_text().replace("name: comp00", "name: hello"))
    return path


@pytest.mark.slow  # the OBS builder
def test_status_wait_succeeded(obs: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commit_hello(obs, "home:Admin:ok")
    manifest = hello_manifest(tmp_path)
    logs = tmp_path / "logs"
    assert main(status_args(obs, manifest, "home:Admin:ok", "--wait", "--json", "--logs", str(logs))) == 0
    out = json.loads(capsys.readouterr().out)
    assert {r["state"] for r in out["results"]} == {"succeeded"}
    assert len(out["results"]) == 3
    assert "dpkg-buildpackage" in (logs / "hello-Debian_12-x86_64.log").read_text()


@pytest.mark.slow  # the OBS builder
def test_status_wait_failed_shows_log_tail(obs: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commit_hello(obs, "home:Admin:bad", spec_patch="echo this build fails on purpose; exit 7")
    manifest = hello_manifest(tmp_path)
    assert main(status_args(obs, manifest, "home:Admin:bad", "--wait")) == 1
    err = capsys.readouterr().err
    assert "hello openSUSE_Tumbleweed/x86_64: failed: exit status 1" in err
    assert "this build fails on purpose" in err


@pytest.mark.slow  # the OBS builder
def test_status_dirty_results_time_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    svc = start_service(tmp_path / "svc", build=True,
                        faults=Faults([Rule("GET", "/build/*/_result", {}, "dirty")]))
    try:
        commit_hello(svc, "home:Admin:dirty")
        svc.wait_builds()
        manifest = hello_manifest(tmp_path)
        assert main(status_args(svc, manifest, "home:Admin:dirty", "--wait", "--timeout", "1")) == 3
        err = capsys.readouterr().err
        assert "error: timed out waiting for builds; still pending: hello Debian_12/x86_64" in err
    finally:
        svc.service.shutdown()
        svc.service.server_close()


@pytest.mark.slow  # the OBS builder
def test_resubmission_of_50_unchanged_packages_request_count(obs: Service, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write_manifest(tmp_path / "m", 50, project="home:Admin:fifty")
    assert submit(obs, manifest, "--all", "--jobs", "4") == 0
    before = obs.service.stats["total"]
    capsys.readouterr()
    assert submit(obs, manifest, "--all", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    # one GET of the project meta, then a GET of the package meta and of the
    # file listing per package
    assert out["http_requests"] == 1 + 2 * 50
    assert obs.service.stats["total"] - before == 1 + 2 * 50
    assert {p["action"] for p in out["packages"]} == {"unchanged"}


@pytest.mark.slow  # kills processes
def test_killed_submission_resumes(tmp_path: Path) -> None:
    faults = Faults([Rule("PUT", "/source/*/*/*", {"rev": "repository"}, "delay", seconds=0.4)])
    svc = start_service(tmp_path / "svc", faults=faults)
    try:
        manifest = write_manifest(tmp_path / "m", 4, project="home:Admin:kill")
        argv = [sys.executable, "-m", "releasetool", "--manifest", str(manifest), "obs", "submit", "--all",
                "--jobs", "1", "--apiurl", svc.url, "--config", str(svc.oscrc)]
        env = dict(os.environ, NO_PROXY="127.0.0.1,localhost", HOME=str(tmp_path), RELEASETOOL_OBS_BACKOFF="0.01")
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        store = svc.service.store
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not store.latest("home:Admin:kill", "comp00"):
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
        committed = [p for p in store.packages("home:Admin:kill") if store.latest("home:Admin:kill", p)]
        assert 1 <= len(committed) < 4
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        for i in range(4):
            assert revisions(svc, "home:Admin:kill", f"comp{i:02d}") == 1
            assert len(store.latest("home:Admin:kill", f"comp{i:02d}").files) == 5
        assert not list((manifest.parent / ".releasetool-cache" / "obs").glob("*.journal"))
        for blob in (out, err, done.stdout.encode(), done.stderr.encode()):
            assert PASSWORD.encode() not in blob
    finally:
        svc.service.shutdown()
        svc.service.server_close()


@pytest.mark.slow  # the OBS builder
def test_no_password_in_anything_written(obs: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write_manifest(tmp_path / "m", 2, project="home:Admin:secret")
    codes = [
        submit(obs, manifest, "--all", "--json", "--debug", "-v"),
        main(["--manifest", str(manifest), "--debug", "-v", "obs", "status", "--apiurl", obs.url,
              "--config", str(obs.oscrc), "--json"]),
        main(["--manifest", str(manifest), "--debug", "obs", "submitreq", "comp00", "--to", "no:such:project",
              "--apiurl", obs.url, "--config", str(obs.oscrc)]),
    ]
    captured = capsys.readouterr()
    assert codes[0] == 0 and codes[2] == 1
    written = captured.out + captured.err
    for path in (manifest.parent / ".releasetool-cache" / "obs").rglob("*"):
        if path.is_file():
            written += path.read_text(errors="replace")
    assert PASSWORD not in written
    assert "target project no:such:project does not exist" in captured.err


def test_latency_timeout_and_refused_project(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELEASETOOL_OBS_TIMEOUT", "0.5")
    faults = Faults([
        Rule("GET", "/source/*/*/_meta", {}, "delay", seconds=1.5, nth=1),
        Rule("PUT", "/source/home:Admin:locked/_meta", {}, "error", status=403),
    ])
    svc = start_service(tmp_path / "svc", faults=faults)
    try:
        manifest = write_manifest(tmp_path / "m", 1, project="home:Admin:slow")
        assert submit(svc, manifest, "--all") == 0
        err = capsys.readouterr().err
        assert "GET /source/home:Admin:slow/comp00/_meta: timed out; retrying" in err
        assert revisions(svc, "home:Admin:slow", "comp00") == 1
        locked = write_manifest(tmp_path / "m2", 1, project="home:Admin:locked")
        assert submit(svc, locked, "--all") == 1
        assert capsys.readouterr().err.splitlines()[-2:] == [
            f"error: {svc.url} does not allow PUT /source/home:Admin:locked/_meta: injected fault: HTTP 403",
            "hint: ask the project maintainers for write access, or use --project with a project you own "
            "(e.g. home:USER)",
        ]
    finally:
        svc.service.shutdown()
        svc.service.server_close()


@pytest.mark.slow  # the OBS builder
def test_second_run_at_once_is_refused(obs: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib as _hashlib

    from releasetool.fsutil import run_lock

    manifest = write_manifest(tmp_path / "m", 1, project="home:Admin:lock")
    name = _hashlib.sha256(f"{obs.url} home:Admin:lock".encode()).hexdigest()[:12]
    lock = manifest.parent / ".releasetool-cache" / "obs" / f"obs-submit-{name}.lock"
    import releasetool.fsutil as fsutil

    # The second run does not wait the usual few seconds for the holder.
    monkeypatch.setattr(fsutil, "run_lock", lambda path, *, what, wait=5.0: run_lock(path, what=what, wait=0))
    with run_lock(lock, what="test holder"):
        assert submit(obs, manifest, "--all") == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: submission to home:Admin:lock is locked by pid ")
    assert not obs.service.store.project_exists("home:Admin:lock")


def _calls_of_a_submission(svc: Service, manifest: Path) -> int:
    before = svc.service.stats["total"]
    assert submit(svc, manifest, "--all") == 0
    return svc.service.stats["total"] - before


@pytest.mark.parametrize("effect", ["error-after", "reset", "reset-after", "error"])
def test_each_fault_at_each_call_of_a_submission(tmp_path: Path, effect: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A fault at any one call still ends in one complete revision per package."""
    svc = start_service(tmp_path / "svc")
    try:
        calls = _calls_of_a_submission(svc, write_manifest(tmp_path / "probe", 2, project="home:Admin:probe"))
        assert calls > 10
        reference = svc.service.store.latest("home:Admin:probe", "comp01").files
        for n in range(1, calls + 1):
            project = f"home:Admin:f{n}"
            svc.service.faults = Faults([Rule("*", "/*", {}, effect, status=504 if "error" in effect else 0, nth=n)])
            assert submit(svc, write_manifest(tmp_path / f"m{n}", 2, project=project), "--all") == 0, n
            for package in ("comp00", "comp01"):
                assert revisions(svc, project, package) == 1, (n, package)
            assert svc.service.store.latest(project, "comp01").files == reference
        capsys.readouterr()
    finally:
        svc.service.shutdown()
        svc.service.server_close()


@pytest.mark.slow  # the OBS builder
def test_submit_wait_reports_broken_builds(obs: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write_manifest(tmp_path / "m", 1, project="home:Admin:wait")
    assert submit(obs, manifest, "--all", "--wait", "--timeout", "120") == 1
    err = capsys.readouterr().err
    assert ("comp00 Debian_12/x86_64: broken: source service download_url needs network access, which this "
            "local service does not have: upload the release tarball with the package instead") in err


def test_serve_refuses_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    users = tmp_path / "users"
    users.write_text("# who may log in\nAdmin:pw\nnopassword\n")
    assert main(["obs", "serve", "--port", "0", "--root", str(tmp_path), "--users-file", str(users)]) == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        f"error: {users}:3: a user line is NAME:PASSWORD (this one has no ':' or no password)")
    users.write_text("Admin:pw\n")
    plan = tmp_path / "plan.yaml"
    plan.write_text("- request: GET /about\n  effect: explode\n")
    assert main(["obs", "serve", "--port", "0", "--root", str(tmp_path), "--users-file", str(users),
                 "--faults", str(plan)]) == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        f"error: {plan}: rule 1: effect 'explode' is not one of error, error-after, reset, reset-after, delay, dirty")


@pytest.mark.slow  # the OBS builder
def test_credentials_from_the_environment(obs: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = write_manifest(tmp_path / "m", 1, project="home:Admin:env")
    base = ["--manifest", str(manifest), "obs", "submit", "--all", "--apiurl", obs.url, "--config", "/dev/null"]
    assert main(base) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: no user or password for {obs.url} in the osc configuration (/dev/null)",
        "hint: add user and pass to its section of the oscrc (or a credentials manager), "
        "or set OSC_USERNAME and OSC_PASSWORD",
    ]
    monkeypatch.setenv("OSC_USERNAME", "Admin")
    monkeypatch.setenv("OSC_PASSWORD", PASSWORD)
    assert main([*base, "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["packages"][0]["action"] == "created"
    assert PASSWORD not in captured.out + captured.err


def test_persistent_server_errors_give_up_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    svc = start_service(tmp_path / "svc", faults=Faults([Rule("GET", "/source/*/_meta", {}, "error", status=503)]))
    try:
        manifest = write_manifest(tmp_path / "m", 1, project="home:Admin:down")
        assert submit(svc, manifest, "--all") == 1
        err = capsys.readouterr().err.splitlines()
        assert err[-2] == (f"error: {svc.url}: GET /source/home:Admin:down/_meta: HTTP 503 (injected fault: HTTP 503)"
                           " (gave up after 5 attempts)")
        assert err[-1].startswith("hint: the Build Service is unreachable or failing; re-run the same command later")
        assert svc.service.stats["GET /source/*/_meta"] == 1 + 5  # the login challenge, then 5 attempts
    finally:
        svc.service.shutdown()
        svc.service.server_close()


def test_success_of_older_sources_is_still_pending(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A result still showing the previous revision's success (the scheduler not caught up) is not success."""
    from releasetool.obs.service.store import BuildResult

    svc = start_service(tmp_path / "svc")
    try:
        store = svc.service.store
        store.set_project_meta("home:Admin:stale", PROJECT_META.format(name="home:Admin:stale").encode())
        store.set_package_meta("home:Admin:stale", "hello", b'<package name="hello"><title/><description/></package>')
        old = store.commit("home:Admin:stale", "hello", {"a": store.put_blob(b"old")}, "Admin", "old")
        store.commit("home:Admin:stale", "hello", {"a": store.put_blob(b"new")}, "Admin", "new")
        store.set_build_results("home:Admin:stale", "hello", {
            key: BuildResult("succeeded", "", old.srcmd5, 0)
            for key in ("openSUSE_Tumbleweed/x86_64", "openSUSE_Tumbleweed/aarch64", "Debian_12/x86_64")})
        manifest = hello_manifest(tmp_path)
        assert main(status_args(svc, manifest, "home:Admin:stale", "--wait", "--timeout", "0.5")) == 3
        captured = capsys.readouterr()
        assert "hello    openSUSE_Tumbleweed  x86_64   succeeded (older sources)  pending" in captured.out
        assert captured.err.splitlines()[-1] == (
            "error: timed out waiting for builds; still pending: hello Debian_12/x86_64, "
            "hello openSUSE_Tumbleweed/aarch64, hello openSUSE_Tumbleweed/x86_64")
        assert "hello Debian_12/x86_64: succeeded of older sources" in captured.err
    finally:
        svc.service.shutdown()
        svc.service.server_close()


@pytest.mark.slow  # the OBS builder
def test_preflight_checks_without_writing(obs: Service, tmp_path: Path) -> None:
    from releasetool.obs.api import Api, Settings
    from releasetool.obs.client import preflight

    api = Api(Settings(apiurl=obs.url, config=str(obs.oscrc)))
    assert preflight(api, "home:Admin:new") == []
    assert preflight(api, "openSUSE:Factory") == [
        f"project openSUSE:Factory does not exist on {obs.url} and only home:Admin projects can be created "
        "without an administrator"]
    manifest = write_manifest(tmp_path / "m", 1, project="home:Admin:pre")
    assert submit(obs, manifest, "--all") == 0
    assert preflight(api, "home:Admin:pre") == []  # the creator became maintainer
    obs.service.store.set_project_meta("Dist:Other", b'<project name="Dist:Other"><title/><description/>'
                                                     b'<person userid="other" role="maintainer"/></project>')
    assert preflight(api, "Dist:Other") == [
        f"Admin is not a maintainer of Dist:Other on {obs.url} (maintainers: other)"]
    bad = Api(Settings(apiurl=obs.url, config=str(write_oscrc(tmp_path / "rc", obs.url, password="nope",
                                                                   cookiejar=tmp_path / "jar")), retries=0))
    assert preflight(bad, "home:Admin:new") == [
        f"{obs.url} refused the credentials (HTTP 401 on GET /about)"]


def test_osc_keeps_its_connection_pools_where_the_timeout_is_set(obs: Service) -> None:
    """releasetool reaches into osc.connection.CONNECTION_POOLS (osc has no public call for it):
    if a newer osc keeps its pools elsewhere, this fails before a submission hangs on a dead server."""
    import osc.connection
    import urllib3

    from releasetool.obs.api import Api, Settings, osc_connection_pools

    assert osc_connection_pools() is osc.connection.CONNECTION_POOLS
    api = Api(Settings(apiurl=obs.url, config=str(obs.oscrc), timeout=7.5))
    assert api.apiurl not in osc_connection_pools()  # configuring dropped the pool of an older configuration
    api.call("GET", ["about"])
    pool = osc_connection_pools()[api.apiurl]
    assert isinstance(pool, urllib3.HTTPConnectionPool)
    assert (pool.timeout.connect_timeout, pool.timeout.read_timeout) == (7.5, 7.5)
    assert pool.port == int(obs.url.rsplit(":", 1)[1])  # osc's pool for this apiurl, not another
    Api(Settings(apiurl=obs.url, config=str(obs.oscrc)))
    assert api.apiurl not in osc_connection_pools()


def tagged_clone(path: Path, name: str, tag: str) -> Path:
    """A git repository at ``path`` with two files committed and ``tag`` on that commit (then one more commit)."""
    path.mkdir(parents=True)

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True,
                       env={**os.environ, "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
                            "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z"})

    git("init", "-q", "-b", "main")
    git("config", "user.email", "dev@example.org")
    git("config", "user.name", "Dev")
    (path / "README").write_text(f"{name} at {tag}\n")
    (path / "src").mkdir()
    (path / "src" / "main.c").write_text("int main(void) { return 0; }\n")
    git("add", "-A")
    git("commit", "-q", "-m", "release")
    git("tag", tag)
    (path / "README").write_text("after the release\n")
    git("commit", "-q", "-am", "after")
    return path


@pytest.mark.slow  # the OBS builder
def test_tarballs_made_from_clones(obs: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import tarfile

    manifest = write_manifest(tmp_path / "m", 3, project="home:Admin:clones")
    clones = tmp_path / "clones"
    tagged_clone(clones / "comp00", "comp00", "v1.0")
    tagged_clone(clones / "comp01", "comp01", "v1.0")
    tarballs = tmp_path / "tarballs"
    tarballs.mkdir()
    (tarballs / "comp01-1.0.tar.gz").write_bytes(b"the release output wins over the clone")

    assert submit(obs, manifest, "--all", "--clones", str(clones), "--tarballs", str(tarballs), "--json") == 0
    out = {p["package"]: p for p in json.loads(capsys.readouterr().out)["packages"]}
    assert out["comp00"]["tarball"].startswith(f"made from {clones / 'comp00'} at v1.0")
    assert out["comp01"]["tarball"] == f"from {tarballs}"
    # no clone, no tarball: the stand-in takes the _service (only the OBS backend's frontend refuses it)
    assert out["comp02"]["tarball"] == f"no comp02-1.0.tar.gz in {tarballs}; no clone {clones / 'comp02'}"
    store = obs.service.store
    files = store.latest("home:Admin:clones", "comp00").files
    assert "_service" not in files
    with tarfile.open(fileobj=io.BytesIO(store.blob(files["comp00-1.0.tar.gz"]))) as tar:
        members = {m.name: tar.extractfile(m).read() if m.isfile() else None for m in tar}  # type: ignore[union-attr]
    # the tagged tree, not the later commit, under NAME-VERSION/
    assert members["comp00-1.0/README"] == b"comp00 at v1.0\n"
    assert members["comp00-1.0/src/main.c"] == b"int main(void) { return 0; }\n"
    assert store.blob(store.latest("home:Admin:clones", "comp01").files["comp01-1.0.tar.gz"]) == \
        b"the release output wins over the clone"
    kept = list((tmp_path / "m" / ".releasetool-cache" / "obs" / "tarballs").glob("comp00-1.0-*/comp00-1.0.tar.gz"))
    assert len(kept) == 1

    # again: the kept tarball, the same bytes, nothing committed
    assert submit(obs, manifest, "--all", "--clones", str(clones), "--tarballs", str(tarballs), "--json") == 0
    again = json.loads(capsys.readouterr().out)
    assert [p["action"] for p in again["packages"]] == ["unchanged"] * 3
    assert revisions(obs, "home:Admin:clones", "comp00") == 1


@pytest.mark.slow  # the OBS builder
def test_clone_without_the_tag_fails_that_package_only(obs: Service, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write_manifest(tmp_path / "m", 2, project="home:Admin:untagged")
    clones = tmp_path / "clones"
    tagged_clone(clones / "comp00", "comp00", "v0.9")
    tagged_clone(clones / "comp01", "comp01", "v1.0")
    assert submit(obs, manifest, "--all", "--clones", str(clones)) == 1
    err = capsys.readouterr().err
    failures = [line for line in err.splitlines() if line.startswith("error: ")]
    assert failures == [f"error: comp00: not submitted: no release tarball: {clones / 'comp00'}: no tag v1.0 for "
                        "comp00 1.0"]
    assert "hint: 1 of 2 packages not submitted" in err
    assert not obs.service.store.package_exists("home:Admin:untagged", "comp00")
    assert revisions(obs, "home:Admin:untagged", "comp01") == 1


@pytest.mark.slow  # the OBS builder
def test_tarball_options_must_be_directories(obs: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write_manifest(tmp_path / "m", 1, project="home:Admin:baddir")
    (tmp_path / "file").write_text("")
    for option in ("--clones", "--tarballs"):
        assert submit(obs, manifest, "--all", option, str(tmp_path / "file")) == 2
        err = capsys.readouterr().err
        assert err.splitlines()[0] == f"error: {option} {tmp_path / 'file'}: not a directory"
    assert not obs.service.store.project_exists("home:Admin:baddir")


@pytest.mark.slow  # the OBS builder
def test_targets_a_component_is_restricted_to_leave_the_others_disabled(
        obs: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import xml.etree.ElementTree as ET

    manifest = write_manifest(tmp_path / "m", 2, project="home:Admin:restricted")
    text = manifest.read_text()
    manifest.write_text(text.replace("    packaging: {}", "    targets: [openSUSE_Tumbleweed]\n    packaging: {}", 1))
    assert submit(obs, manifest, "--all") == 0
    store = obs.service.store
    restricted = ET.fromstring(store.package_meta("home:Admin:restricted", "comp00"))
    assert [(d.get("repository"), d.get("arch")) for d in restricted.findall("build/disable")] == [("Debian_12", None)]
    assert ET.fromstring(store.package_meta("home:Admin:restricted", "comp01")).find("build") is None
    # the project still has both repositories: comp01 builds for both
    assert 'repository name="Debian_12"' in store.project_meta("home:Admin:restricted").decode()
    capsys.readouterr()
    puts_before = obs.service.stats["PUT /source/*/*/_meta"]
    assert puts_before >= 2
    assert submit(obs, manifest, "--all", "--json") == 0
    assert [p["meta_updated"] for p in json.loads(capsys.readouterr().out)["packages"]] == [False, False]
    assert obs.service.stats["PUT /source/*/*/_meta"] == puts_before
