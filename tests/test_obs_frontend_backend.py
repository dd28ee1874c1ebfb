"""`obs serve --backend`: releasetool's frontend over Debian's OBS backend, driven by unmodified osc."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from obs_helpers import Service, write_oscrc
from test_obs_backend import process_groups

pytestmark = pytest.mark.slow  # starts the OBS backend

ADMIN_PW = "admin-Pa55-backend"
OTHER_PW = "other-Pa55-backend"
PROJECT = "home:Admin:day"
PROJECT_META = f"""\
<project name="{PROJECT}">
  <title>a packager's day</title>
  <description>osc against the real backend</description>
  <repository name="Debian_12">
    <arch>x86_64</arch>
  </repository>
</project>
"""


class Serve:
    def __init__(self, base: Path, extra: list[str] | None = None) -> None:
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        users = base / "users"
        users.write_text(f"Admin:{ADMIN_PW}\nother:{OTHER_PW}\n")
        users.chmod(0o600)
        self.argv = [sys.executable, "-m", "releasetool", "obs", "serve", "--port", "0", "--root",
                     str(base / "state"), "--users-file", str(users), "--backend", *(extra or [])]
        self.errfile = base / "serve.err"
        with open(self.errfile, "ab") as err:
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=err, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        assert self.url.startswith("http://127.0.0.1:"), self.errfile.read_text()
        home = base / "home"
        home.mkdir(exist_ok=True)
        self.admin = Service(None, self.url, base / "state",  # type: ignore[arg-type]
                             write_oscrc(base / "oscrc", self.url, password=ADMIN_PW, cookiejar=home / "jar"), home)
        self.other = Service(None, self.url, base / "state",  # type: ignore[arg-type]
                             write_oscrc(base / "oscrc-other", self.url, user="other", password=OTHER_PW,
                                         cookiejar=home / "jar-other"), home)

    def daemon_groups(self) -> set[int]:
        """The process groups of the backend daemons (children of the serve process)."""
        groups = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                fields = stat[stat.rindex(")") + 2:].split()
                if int(fields[1]) == self.proc.pid:
                    groups.add(int(fields[2]))
        return groups

    @property
    def early_stderr(self) -> str:
        return self.errfile.read_text()

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.communicate(timeout=60)
        return self.errfile.read_text()


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    started = Serve(tmp_path_factory.mktemp("obs-backend"))
    yield started
    started.stop()


def checkout_new_hello(serve: Serve, tmp: Path, project: str, project_meta: str) -> Path:
    """``project`` made from ``project_meta`` with an empty package hello, checked out with osc; its working copy."""
    meta = tmp / "prj.xml"
    meta.write_text(project_meta)
    serve.admin.osc("meta", "prj", project, "-F", str(meta))
    pkg = tmp / "pkg.xml"
    pkg.write_text(f'<package name="hello" project="{project}"><title>hello</title><description/></package>')
    serve.admin.osc("meta", "pkg", project, "hello", "-F", str(pkg))
    serve.admin.osc("co", project, "hello", cwd=tmp)
    return tmp / project / "hello"


def project_with_hello(serve: Serve, tmp: Path, project: str, content: str = "hello\n") -> Path:
    """``project`` (Admin maintains it) with a package hello holding a.txt, committed with osc; its working copy."""
    wc = checkout_new_hello(serve, tmp, project, PROJECT_META.replace(PROJECT, project))
    (wc / "a.txt").write_text(content)
    serve.admin.osc("add", "a.txt", cwd=wc)
    serve.admin.osc("ci", "-m", "first", cwd=wc)
    return wc


def branch_and_edit(serve: Serve, tmp: Path, project: str) -> Path:
    """``other`` branches project/hello and commits a change in the branch; the branch's working copy."""
    serve.other.osc("branch", project, "hello")
    branch = f"home:other:branches:{project}"
    serve.other.osc("co", branch, "hello", cwd=tmp)
    wc = tmp / branch / "hello"
    (wc / "a.txt").write_text("hello\nfrom the branch\n")
    serve.other.osc("ci", "-m", "edit in the branch", cwd=wc)
    return wc


def test_project_and_package_meta_go_to_the_backend(serve: Serve, tmp_path: Path) -> None:
    meta = tmp_path / "prj.xml"
    meta.write_text(PROJECT_META)
    serve.admin.osc("meta", "prj", PROJECT, "-F", str(meta))
    back = serve.admin.osc("meta", "prj", PROJECT).stdout
    # the creator became the maintainer, as on OBS
    assert '<person userid="Admin" role="maintainer"/>' in back.replace(" />", "/>")
    pkg = tmp_path / "pkg.xml"
    pkg.write_text(f'<package name="hello" project="{PROJECT}"><title>hello</title><description/></package>')
    serve.admin.osc("meta", "pkg", PROJECT, "hello", "-F", str(pkg))
    assert 'name="hello"' in serve.admin.osc("meta", "pkg", PROJECT, "hello").stdout
    # the backend's own store holds it
    assert (serve.base / "state" / "backend" / "srv" / "projects" / f"{PROJECT}.xml").exists()


def test_checkout_add_commit_log(serve: Serve, tmp_path: Path) -> None:
    project = "home:Admin:commit"
    project_with_hello(serve, tmp_path, project)
    assert serve.admin.osc("ls", project, "hello").stdout.split() == ["a.txt"]
    log = serve.admin.osc("log", project, "hello").stdout
    assert "r1 | Admin |" in log and "first" in log
    assert serve.admin.osc("cat", project, "hello", "a.txt").stdout == "hello\n"


def test_a_second_user_cannot_write_what_he_does_not_maintain(serve: Serve, tmp_path: Path) -> None:
    project = "home:Admin:guarded"
    project_with_hello(serve, tmp_path, project)
    done = serve.other.osc("api", "-X", "PUT", f"/source/{project}/hello/b.txt", "-d", "intruder", check=False)
    assert done.returncode != 0
    assert "other is not one of its maintainers" in done.stdout + done.stderr
    meta = tmp_path / "prj.xml"
    meta.write_text(PROJECT_META.replace(PROJECT, project).replace("a packager's day", "taken over"))
    done = serve.other.osc("meta", "prj", project, "-F", str(meta), check=False)
    assert done.returncode != 0
    assert "taken over" not in serve.admin.osc("meta", "prj", project).stdout
    done = serve.other.osc("api", "-X", "PUT", "/source/Top:Level/_meta", "-d",
                           "<project name='Top:Level'><title/><description/></project>", check=False)
    assert done.returncode != 0
    assert serve.admin.osc("ls", project, "hello").stdout.split() == ["a.txt"]


def test_branch_edit_and_submit_without_arguments(serve: Serve, tmp_path: Path) -> None:
    project = "home:Admin:branched"
    project_with_hello(serve, tmp_path, project)
    wc = branch_and_edit(serve, tmp_path, project)
    branch = f"home:other:branches:{project}"
    assert "_link" in serve.other.osc("ls", branch, "hello").stdout.split()
    assert f'project="{project}"' in serve.other.osc("api", f"/source/{branch}/hello/_link").stdout
    created = serve.other.osc("sr", "-m", "please take", "--yes", cwd=wc).stdout
    assert "created request id" in created
    request_id = created.split()[-1]
    shown = serve.admin.osc("rq", "show", "-d", request_id).stdout
    assert "+from the branch" in shown
    refused = serve.other.osc("rq", "accept", request_id, "-m", "self-service", check=False)
    assert refused.returncode != 0
    serve.admin.osc("rq", "accept", request_id, "-m", "ok")
    assert "accepted" in serve.admin.osc("rq", "show", request_id).stdout
    assert serve.admin.osc("cat", project, "hello", "a.txt").stdout == "hello\nfrom the branch\n"
    assert f"rq{request_id}" in serve.admin.osc("log", project, "hello").stdout


def test_linkpac_and_copypac(serve: Serve, tmp_path: Path) -> None:
    project = "home:Admin:links"
    project_with_hello(serve, tmp_path, project, "linked\n")
    serve.admin.osc("linkpac", project, "hello", project, "hello-link")
    assert "_link" in serve.admin.osc("ls", project, "hello-link").stdout.split()
    expanded = serve.admin.osc("api", f"/source/{project}/hello-link?expand=1").stdout
    assert 'name="a.txt"' in expanded
    serve.admin.osc("copypac", project, "hello", project, "hello-copy")
    assert serve.admin.osc("cat", project, "hello-copy", "a.txt").stdout == "linked\n"


def test_requests_declined_and_revoked(serve: Serve, tmp_path: Path) -> None:
    project = "home:Admin:refusing"
    project_with_hello(serve, tmp_path, project)
    branch_and_edit(serve, tmp_path, project)
    branch = f"home:other:branches:{project}"
    first = serve.other.osc("sr", branch, "hello", project, "hello", "-m", "again", "--yes").stdout.split()[-1]
    serve.admin.osc("rq", "decline", first, "-m", "no")
    assert "declined" in serve.admin.osc("rq", "show", first).stdout
    second = serve.other.osc("sr", branch, "hello", project, "hello", "-m", "once more", "--yes").stdout.split()[-1]
    serve.other.osc("rq", "revoke", second, "-m", "changed my mind")
    assert "revoked" in serve.admin.osc("rq", "show", second).stdout
    assert serve.admin.osc("cat", project, "hello", "a.txt").stdout == "hello\n"


def test_rebuild_goes_to_the_scheduler(serve: Serve, tmp_path: Path) -> None:
    project = "home:Admin:rebuilt"
    project_with_hello(serve, tmp_path, project)
    serve.admin.osc("rebuild", project, "hello")
    refused = serve.other.osc("rebuild", project, "hello", check=False)
    assert refused.returncode != 0
    assert "other is not one of its maintainers" in refused.stdout + refused.stderr


def test_reopen_and_supersede(serve: Serve, tmp_path: Path) -> None:
    project = "home:Admin:reopened"
    project_with_hello(serve, tmp_path, project)
    wc = branch_and_edit(serve, tmp_path, project)
    first = serve.other.osc("sr", "-m", "take one", "--yes", cwd=wc).stdout.split()[-1]
    serve.admin.osc("rq", "decline", first, "-m", "not yet")
    serve.other.osc("rq", "reopen", first, "-m", "please look again")
    assert "State:\n  new" in serve.admin.osc("rq", "show", first).stdout.replace("    ", "  ")
    (wc / "a.txt").write_text("hello\nfrom the branch, better\n")
    serve.other.osc("ci", "-m", "better", cwd=wc)
    # osc supersedes the open request from the same source by itself
    second = serve.other.osc("sr", "-m", "take two", "--yes", cwd=wc).stdout.split()[-1]
    assert f'superseded_by="{second}"' in serve.admin.osc("api", f"/request/{first}").stdout
    # `rq supersede`: a request from another source replaces a declined one
    serve.admin.osc("rq", "decline", second, "-m", "still not")
    serve.admin.osc("branch", project, "hello")
    third = serve.admin.osc("sr", f"home:Admin:branches:{project}", "hello", project, "hello", "-m", "take three",
                            "--yes").stdout.split()[-1]
    assert "declined" in serve.admin.osc("rq", "show", second).stdout
    serve.other.osc("rq", "supersede", second, third, "-m", "replaced")
    assert f'superseded_by="{third}"' in serve.admin.osc("api", f"/request/{second}").stdout
    serve.admin.osc("rq", "accept", third, "-m", "ok")
    assert serve.admin.osc("cat", project, "hello", "a.txt").stdout == "hello\n"  # the admin's branch, unchanged


def test_deletereq_rdelete_and_undelete(serve: Serve, tmp_path: Path) -> None:
    project = "home:Admin:deleting"
    project_with_hello(serve, tmp_path, project)
    pkg = tmp_path / "spare.xml"
    pkg.write_text(f'<package name="spare" project="{project}"><title>spare</title><description/></package>')
    serve.admin.osc("meta", "pkg", project, "spare", "-F", str(pkg))
    serve.admin.osc("api", "-X", "PUT", f"/source/{project}/spare/file", "-d", "content")
    created = serve.other.osc("deletereq", project, "hello", "-m", "obsolete").stdout
    request_id = created.split()[-1]
    assert "delete" in serve.admin.osc("rq", "show", request_id).stdout
    assert serve.admin.osc("ls", project).stdout.split() == ["hello", "spare"]
    serve.admin.osc("rq", "accept", request_id, "-m", "gone")
    assert serve.admin.osc("ls", project).stdout.split() == ["spare"]
    refused = serve.other.osc("rdelete", project, "spare", "-m", "mine now", check=False)
    assert refused.returncode != 0
    serve.admin.osc("rdelete", project, "spare", "-m", "not needed")
    assert serve.admin.osc("ls", project).stdout.split() == []
    serve.admin.osc("undelete", project, "hello", "-m", "back")
    assert serve.admin.osc("ls", project).stdout.split() == ["hello"]
    assert serve.admin.osc("cat", project, "hello", "a.txt").stdout == "hello\n"


def test_update_status_and_diff_in_checkouts(serve: Serve, tmp_path: Path) -> None:
    project = "home:Admin:working"
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    wc = project_with_hello(serve, tmp_path / "one", project)
    serve.admin.osc("co", project, cwd=tmp_path / "two")  # a project checkout
    other_wc = tmp_path / "two" / project / "hello"
    (wc / "a.txt").write_text("hello\nchanged\n")
    assert serve.admin.osc("st", cwd=wc).stdout.split() == ["M", "a.txt"]
    assert "+changed" in serve.admin.osc("diff", cwd=wc).stdout
    serve.admin.osc("ci", "-m", "changed", cwd=wc)
    serve.admin.osc("up", cwd=other_wc)
    assert (other_wc / "a.txt").read_text() == "hello\nchanged\n"
    (wc / "b.txt").write_text("new file\n")
    serve.admin.osc("add", "b.txt", cwd=wc)
    serve.admin.osc("ci", "-m", "b", cwd=wc)
    serve.admin.osc("up", cwd=tmp_path / "two" / project)
    assert (other_wc / "b.txt").read_text() == "new file\n"


def test_abortbuild_goes_to_the_backend(serve: Serve, tmp_path: Path) -> None:
    project = "home:Admin:aborting"
    project_with_hello(serve, tmp_path, project)
    serve.admin.osc("abortbuild", project, "hello")
    refused = serve.other.osc("abortbuild", project, "hello", check=False)
    assert refused.returncode != 0


def test_names_that_would_escape_are_refused(serve: Serve) -> None:
    for path in ("/source/..%2F..%2Fx/_meta", "/source/home:Admin:day/..%2F..%2Fx/_meta"):
        done = serve.admin.osc("api", "-X", "PUT", path, "-d", "<project name='x'/>", check=False)
        assert done.returncode != 0
        assert "invalid" in (done.stdout + done.stderr).lower()
    assert not list((serve.base / "state").parent.glob("x*"))


def test_sigterm_stops_every_backend_process_and_a_restart_keeps_the_state(tmp_path: Path) -> None:
    own = Serve(tmp_path)
    project_with_hello(own, tmp_path, "home:Admin:kept")
    groups = own.daemon_groups()
    assert len(groups) == 6
    started = time.monotonic()
    own.stop()
    assert own.proc.returncode == 0
    assert [pid for pid, group in process_groups().items() if group in groups] == []
    assert time.monotonic() - started < 30
    assert ADMIN_PW not in " ".join(own.argv)
    again = Serve(tmp_path)
    try:
        assert again.daemon_groups().isdisjoint(groups)
        assert again.admin.osc("ls", "home:Admin:kept", "hello").stdout.split() == ["a.txt"]
        assert "r1 | Admin |" in again.admin.osc("log", "home:Admin:kept", "hello").stdout
    finally:
        again.stop()


FAULT_PLAN = ("- request: POST /source/*/*\n  query: {cmd: commitfilelist}\n  nth: 2\n  effect: error-after\n"
              "  status: 504\n"
              "- request: PUT /source/*/*/*\n  every: 3\n  effect: reset\n")


def faulted_submission(tmp_path: Path, project: str, with_tarball: tuple[int, ...]) -> tuple[Serve, list[str], Path]:
    """A service with FAULT_PLAN, a manifest of three packages for ``project``, tarballs of those in
    ``with_tarball``: the service, the `obs submit --all` command line and the tarball directory."""
    from obs_helpers import write_manifest

    plan = tmp_path / "plan.yaml"
    plan.write_text(FAULT_PLAN)
    own = Serve(tmp_path / "svc", extra=["--faults", str(plan)])
    try:
        manifest = write_manifest(tmp_path / "m", 3, project=project)
        tarballs = tmp_path / "tarballs"
        tarballs.mkdir()
        for i in with_tarball:
            (tarballs / f"comp{i:02d}-1.0.tar.gz").write_bytes(f"tarball {i}".encode())
    except BaseException:
        own.stop()
        raise
    argv = [sys.executable, "-m", "releasetool", "--manifest", str(manifest), "obs", "submit", "--all",
            "--apiurl", own.url, "--config", str(own.admin.oscrc), "--tarballs", str(tarballs), "--jobs", "1"]
    return own, argv, tarballs


def test_obs_submit_through_faults_makes_one_revision_per_package(tmp_path: Path) -> None:
    # The second commitfilelist of FAULT_PLAN is the first package's commit (the
    # first one only validated and was answered with the files to upload).
    own, argv, _tarballs = faulted_submission(tmp_path, "home:Admin:faults", (0, 1, 2))
    try:
        env = own.admin.env()
        first = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
        assert first.returncode == 0, first.stderr
        # the fault hit the commit itself: the backend stored it, the client saw a 504
        assert "HTTP 504 (injected fault: HTTP 504)" in first.stderr
        assert "connection reset" in first.stderr
        for i in range(3):
            history = own.admin.osc("api", f"/source/home:Admin:faults/comp{i:02d}/_history").stdout
            assert history.count("<revision ") == 1, history
        again = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
        assert again.returncode == 0, again.stderr
        assert "nothing to do" in again.stderr
        log = (tmp_path / "svc" / "state" / "backend" / "log" / "bs_srcserver.log").read_text()
        # per package a validating list and the commit; the faulted commit (the
        # second list the service saw) was checked, not sent again
        assert log.count("cmd=commitfilelist") == 6
    finally:
        own.stop()


def test_obs_submit_goes_on_past_a_refused_package_through_faults(tmp_path: Path) -> None:
    # comp01 has no tarball: it gets a _service, which the frontend refuses (no source service runs here)
    own, argv, tarballs = faulted_submission(tmp_path, "home:Admin:refused", (0, 2))
    try:
        env = own.admin.env()

        def revisions(package: str) -> int:
            done = own.admin.osc("api", f"/source/home:Admin:refused/{package}/_history", check=False)
            return done.stdout.count("<revision ")

        first = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
        assert first.returncode == 1, first.stderr
        failures = [line for line in first.stderr.splitlines() if line.startswith("error: ")]
        assert len(failures) == 1, first.stderr
        assert failures[0].startswith("error: comp01: not submitted: ")
        assert "no source service server runs here" in failures[0]
        assert failures[0].endswith(f"(a _service was sent: no comp01-1.0.tar.gz in {tarballs})")
        assert "hint: 1 of 3 packages not submitted" in first.stderr
        # the packages after the refused one were submitted, once each, through the faults
        assert "HTTP 504 (injected fault: HTTP 504)" in first.stderr
        assert [revisions(f"comp{i:02d}") for i in range(3)] == [1, 0, 1]

        (tarballs / "comp01-1.0.tar.gz").write_bytes(b"tarball 1")
        again = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
        assert again.returncode == 0, again.stderr
        assert "error:" not in again.stderr
        assert [revisions(f"comp{i:02d}") for i in range(3)] == [1, 1, 1]
        last = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
        assert last.returncode == 0 and "nothing to do" in last.stderr, last.stderr
    finally:
        own.stop()


def test_parallel_single_file_puts_lose_no_file(serve: Serve, tmp_path: Path) -> None:
    import base64
    import http.client
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlsplit

    project = "home:Admin:parallel"
    project_with_hello(serve, tmp_path, project)
    parts = urlsplit(serve.url)
    auth = "Basic " + base64.b64encode(f"Admin:{ADMIN_PW}".encode()).decode()

    def put(number: int) -> int:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
        conn.request("PUT", f"/source/{project}/hello/file{number:02d}", body=f"content {number}\n".encode(),
                     headers={"Authorization": auth})
        answer = conn.getresponse()
        answer.read()
        return answer.status

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(put, range(20)))
    assert statuses == [200] * 20
    listed = serve.admin.osc("ls", project, "hello").stdout.split()
    assert sorted(listed) == sorted(["a.txt", *(f"file{n:02d}" for n in range(20))])


RPM_AND_DEBIAN_META = """\
<project name="{name}">
  <title>rpm on the host, Debian without a base</title>
  <description/>
  <repository name="openSUSE_Tumbleweed">
    <path project="openSUSE:Factory" repository="snapshot"/>
    <arch>x86_64</arch>
  </repository>
  <repository name="Debian_12">
    <path project="Debian:12" repository="standard"/>
    <arch>x86_64</arch>
  </repository>
</project>
"""


def commit_hello_package(serve: Serve, tmp: Path, project: str) -> Path:
    """``project`` with the rpm and Debian repositories and the hello package (spec, dsc, tarball); its checkout."""
    from obs_helpers import FIXTURES, hello_tarball

    wc = checkout_new_hello(serve, tmp, project, RPM_AND_DEBIAN_META.format(name=project))
    for source in (FIXTURES / "hello").iterdir():
        (wc / source.name).write_bytes(source.read_bytes())
    hello_tarball(wc)
    serve.admin.osc("addremove", cwd=wc)
    serve.admin.osc("ci", "-m", "hello", cwd=wc)
    return wc


def obs_status(serve: Serve, tmp: Path, project: str, *extra: str) -> subprocess.CompletedProcess[str]:
    from obs_helpers import write_manifest

    manifest = write_manifest(tmp / "m", 1, project=project)
    manifest.write_text(manifest.read_text().replace("name: comp00", "name: hello"))
    return subprocess.run([sys.executable, "-m", "releasetool", "--manifest", str(manifest), "obs", "status",
                           "--apiurl", serve.url, "--config", str(serve.admin.oscrc), "--interval", "1", *extra],
                          capture_output=True, text=True, env=serve.admin.env(), timeout=900)


def test_rpm_targets_are_built_on_the_host_and_say_so(serve: Serve, tmp_path: Path) -> None:
    import json

    project = "home:Admin:rpmhost"
    commit_hello_package(serve, tmp_path, project)
    done = obs_status(serve, tmp_path, project, "--wait", "--json", "--logs", str(tmp_path / "logs"))
    # Debian:12 is not in this backend (no --debian-base): the scheduler's "no build type", a failure
    assert done.returncode == 1, done.stderr
    results = {(r["repository"], r["arch"]): r for r in json.loads(done.stdout)["results"]}
    rpm = results[("openSUSE_Tumbleweed", "x86_64")]
    assert rpm["code"] == "succeeded"
    assert "not scheduled by OBS" in rpm["details"] and "build dependencies not resolved" in rpm["details"]
    debian = results[("Debian_12", "x86_64")]
    assert (debian["code"], debian["state"]) == ("broken", "failed")
    assert "no build type (Debian:12)" in debian["details"]
    first_line = serve.admin.osc("buildlog", project, "hello", "openSUSE_Tumbleweed", "x86_64").stdout.splitlines()[0]
    assert first_line.startswith("[releasetool obs] NOT AN OBS BUILD: hello for openSUSE_Tumbleweed/x86_64")
    saved = (tmp_path / "logs" / "hello-openSUSE_Tumbleweed-x86_64.log").read_text()
    assert saved.splitlines()[0] == first_line and "Wrote: " in saved  # rpmbuild really ran
    srcmd5 = serve.admin.osc("api", f"/source/{project}/hello").stdout.split('srcmd5="')[1][:32]
    history = serve.admin.osc("api", f"/build/{project}/openSUSE_Tumbleweed/x86_64/_jobhistory").stdout
    assert f'srcmd5="{srcmd5}"' in history and 'workerid="build-host:rpmbuild"' in history
    status = serve.admin.osc("api", f"/build/{project}/openSUSE_Tumbleweed/x86_64/hello/_status").stdout
    assert 'code="succeeded"' in status and "not scheduled by OBS" in status
    # a rebuild goes to the host builder too: the job history's time moves on
    time.sleep(1.1)
    serve.admin.osc("rebuild", project, "hello", "openSUSE_Tumbleweed", "x86_64")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        again = serve.admin.osc("api", f"/build/{project}/openSUSE_Tumbleweed/x86_64/_jobhistory").stdout
        if again != history and 'code="succeeded"' in again:
            break
        time.sleep(1)
    assert again != history


def test_an_rpm_repository_disabled_in_the_meta_is_not_built_on_the_host(serve: Serve, tmp_path: Path) -> None:
    project = "home:Admin:rpmoff"
    wc = checkout_new_hello(serve, tmp_path, project, RPM_AND_DEBIAN_META.format(name=project))
    pkg = tmp_path / "pkg-off.xml"
    pkg.write_text(f'<package name="hello" project="{project}"><title>hello</title><description/>'
                   '<build><disable repository="openSUSE_Tumbleweed"/></build></package>')
    serve.admin.osc("meta", "pkg", project, "hello", "-F", str(pkg))
    from obs_helpers import FIXTURES, hello_tarball

    for source in (FIXTURES / "hello").iterdir():
        (wc / source.name).write_bytes(source.read_bytes())
    hello_tarball(wc)
    serve.admin.osc("addremove", cwd=wc)
    serve.admin.osc("ci", "-m", "hello", cwd=wc)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        results = serve.admin.osc("results", project, "hello", "-r", "openSUSE_Tumbleweed", "-a", "x86_64").stdout
        if "disabled" in results:
            break
        time.sleep(1)
    assert "disabled" in results, results
    history = serve.admin.osc("api", f"/build/{project}/openSUSE_Tumbleweed/x86_64/_jobhistory").stdout
    assert "<jobhist " not in history  # nothing was built on the host
    # enabled again (the flag removed): the host builds it
    pkg.write_text(f'<package name="hello" project="{project}"><title>hello</title><description/></package>')
    serve.admin.osc("meta", "pkg", project, "hello", "-F", str(pkg))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        results = serve.admin.osc("results", project, "hello", "-r", "openSUSE_Tumbleweed", "-a", "x86_64").stdout
        if "succeeded" in results or "failed" in results:
            break
        time.sleep(1)
    assert "succeeded" in results, results


def test_source_services_get_the_frontends_error(serve: Serve, tmp_path: Path) -> None:
    wc = project_with_hello(serve, tmp_path, "home:Admin:services")
    (wc / "_service").write_text('<services><service name="download_url"/></services>\n')
    serve.admin.osc("add", "_service", cwd=wc)
    done = serve.admin.osc("ci", "-m", "a service", cwd=wc, check=False)
    assert done.returncode != 0
    assert "no source service server runs here" in done.stdout + done.stderr
    listing = serve.admin.osc("api", "/source/home:Admin:services/hello").stdout
    assert "_service" not in listing and "serviceinfo" not in listing
    for command in (["api", "-X", "POST", "/source/home:Admin:services/hello?cmd=runservice"],
                    ["api", "-X", "PUT", "/source/home:Admin:services/hello/_service", "-d", "<services/>"]):
        refused = serve.admin.osc(*command, check=False)
        assert refused.returncode != 0
        assert "no source service server runs here" in refused.stdout + refused.stderr, command
    assert serve.admin.osc("ls", "home:Admin:services", "hello").stdout.split() == ["a.txt"]


def test_status_of_a_project_without_repositories_is_an_error(serve: Serve, tmp_path: Path) -> None:
    project_with_hello(serve, tmp_path, "home:Admin:norepo")
    meta = tmp_path / "bare.xml"
    meta.write_text('<project name="home:Admin:norepo"><title/><description/></project>')
    serve.admin.osc("meta", "prj", "home:Admin:norepo", "-F", str(meta))
    done = obs_status(serve, tmp_path, "home:Admin:norepo")
    assert done.returncode == 1
    assert "error: home:Admin:norepo on" in done.stderr and "has no repository" in done.stderr
    assert "Traceback" not in done.stderr


def test_status_and_submitreq_through_faults(tmp_path: Path) -> None:
    from obs_helpers import write_manifest

    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "- request: GET /build/*/_result\n  nth: 1\n  effect: error\n  status: 502\n"
        "- request: POST /request\n  query: {cmd: create}\n  nth: 1\n  effect: error-after\n  status: 504\n")
    own = Serve(tmp_path / "svc", extra=["--faults", str(plan)])
    try:
        project = "home:Admin:reqfaults"
        manifest = write_manifest(tmp_path / "m", 1, project=project)
        tarballs = tmp_path / "tarballs"
        tarballs.mkdir()
        (tarballs / "comp00-1.0.tar.gz").write_bytes(b"not a tarball")
        base = [sys.executable, "-m", "releasetool", "--manifest", str(manifest), "obs"]
        connection = ["--apiurl", own.url, "--config", str(own.admin.oscrc)]
        env = own.admin.env()
        submitted = subprocess.run([*base, "submit", "--all", *connection, "--tarballs", str(tarballs)],
                                   capture_output=True, text=True, env=env, timeout=300)
        assert submitted.returncode == 0, submitted.stderr
        status = subprocess.run([*base, "status", *connection, "--json"], capture_output=True, text=True,
                                env=env, timeout=300)
        assert "HTTP 502 (injected fault: HTTP 502)" in status.stderr  # the fault landed; the GET was retried
        assert status.returncode in (1, 3), status.stderr
        assert {r["package"] for r in __import__("json").loads(status.stdout)["results"]} == {"comp00"}
        target = tmp_path / "target.xml"
        target.write_text('<project name="Dist:Faults"><title/><description/></project>')
        own.admin.osc("meta", "prj", "Dist:Faults", "-F", str(target))
        request = [*base, "submitreq", "comp00", "--to", "Dist:Faults", *connection]
        first = subprocess.run(request, capture_output=True, text=True, env=env, timeout=300)
        assert first.returncode == 0, first.stderr
        assert "HTTP 504 (injected fault: HTTP 504)" in first.stderr  # the create was stored, then failed
        again = subprocess.run(request, capture_output=True, text=True, env=env, timeout=300)
        assert again.returncode == 0 and again.stdout == first.stdout
        assert "already open" in again.stderr
        collection = own.admin.osc("api", "/request?view=collection&project=Dist:Faults").stdout
        assert collection.count("<request ") == 1, collection
    finally:
        own.stop()


def test_a_restart_after_sigkill_stops_the_daemons_the_killed_service_left(tmp_path: Path) -> None:
    killed = Serve(tmp_path)
    project_with_hello(killed, tmp_path, "home:Admin:killed")
    groups = killed.daemon_groups()
    assert len(groups) == 6
    killed.proc.send_signal(signal.SIGKILL)
    killed.proc.communicate(timeout=30)
    assert killed.proc.returncode == -signal.SIGKILL
    # each daemon is in a session of its own: the kill did not reach them
    assert {group for group in process_groups().values() if group in groups} == groups
    again = Serve(tmp_path)
    try:
        assert [pid for pid, group in process_groups().items() if group in groups] == []
        assert "stopped 6 daemons a killed run" in _stderr_so_far(again)
        assert again.admin.osc("ls", "home:Admin:killed", "hello").stdout.split() == ["a.txt"]
    finally:
        again.stop()


def _stderr_so_far(serve: Serve) -> str:
    """What the service logged so far (its standard error goes to a file)."""
    return serve.early_stderr
