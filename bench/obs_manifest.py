"""The real manifest through the real OBS backend: submit every component, wait for its Debian builds.

What a release rehearsal does, timed end to end (needs root, the packages of
`make setup`, and clones of the upstream repositories):

1. `releasetool obs serve --debian-base --base-build-deps` in a temporary
   root: the OBS backend's daemons, and the Debian 12 base with every build
   dependency of the manifest's Debian builds (apt-get downloads them into
   --base-cache, kept between runs);
2. `releasetool obs submit --all --clones DIR`: each component's packaging
   with the tarball `releasetool release` would make, from the clone
   DIR/NAME at the manifest version's tag (a component without a clone is
   refused by the service, listed, and the others go on);
3. the Debian_12 results, polled until the scheduler has nothing left to do:
   OBS builds one package at a time on the one chroot worker, in dependency
   order (a package whose build dependencies another package of the project
   builds is `unresolvable` until that one has succeeded).

Printed: one row per component (version, result, build time from the
backend's job history, when its result came after the submission started),
the time from the submission to the first and to the last finished Debian
build, and the resident memory of the daemons (every process in the process
groups of the OBS backend's daemons, summed: their forks and, while
building, the build the worker runs; the largest seen, and at the end).

By default only the Debian_12 repository builds: the project meta is made
first with building disabled for the other targets' repositories (OBS's
<build><disable repository=.../>, which the service's host builder honours
too), because the rpm targets would be built by the service on this host
with rpmbuild, one after the other beside the OBS worker, and slow the
Debian builds down; --all-targets leaves them on and reports the host rpm
builds' states too.  No other tool is compared.

Usage: bench/obs_manifest.py --clones DIR [--tarballs DIR] [--base-cache DIR] [--all-targets] [--keep DIR]
       (about an hour on 2 cores; downloads about 450 MB once into the cache)
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

from report import emit

ROOT = Path(__file__).resolve().parent.parent
RELEASETOOL = [sys.executable, "-m", "releasetool"]
PROJECT = "home:Admin:bench"
USER, PASSWORD = "Admin", "bench-" + base64.b32encode(os.urandom(10)).decode().lower()
DEBIAN = "Debian_12"
# Codes after which the scheduler does nothing more for a package (until its sources or dependencies change).
FINAL = {"succeeded", "failed", "broken", "unresolvable", "disabled", "excluded", "locked"}
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def results(url: str, repository: str | None = None) -> tuple[dict[tuple[str, str], tuple[str, str]], bool]:
    """(repository, package) -> (code, details) for the host's arch, and whether the scheduler is still at it."""
    query = f"?repository={repository}" if repository else ""
    root = ET.fromstring(call("GET", f"{url}/build/{PROJECT}/_result{query}"))
    found: dict[tuple[str, str], tuple[str, str]] = {}
    busy = False
    for result in root.findall("result"):
        if result.get("arch") != os.uname().machine:
            continue
        busy = busy or result.get("dirty") == "true" or result.get("state") in ("scheduling", "blocked")
        for status in result.findall("status"):
            found[(result.get("repository", ""), status.get("package", ""))] = (
                status.get("code", ""), (status.findtext("details") or "").strip())
    return found, busy


def call(method: str, url: str, data: bytes | None = None) -> bytes:
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())
    with DIRECT.open(request, timeout=120) as answer:
        body: bytes = answer.read()
        return body


def only_debian(url: str, manifest: Path) -> None:
    """Make the project with building disabled for every target but Debian_12 (submit keeps the flags)."""
    sys.path.insert(0, str(ROOT))
    from releasetool import manifest as manifest_mod

    names = [name for name in manifest_mod.load(manifest).targets if name != DEBIAN]
    flags = "".join(f'<disable repository="{name}"/>' for name in names)
    meta = f'<project name="{PROJECT}"><title/><description/><build>{flags}</build></project>'
    call("PUT", f"{url}/source/{PROJECT}/_meta", meta.encode())


def job_history(url: str) -> dict[str, ET.Element]:
    """The last finished job of each package in Debian_12, from the backend's job history."""
    arch = os.uname().machine
    root = ET.fromstring(call("GET", f"{url}/build/{PROJECT}/{DEBIAN}/{arch}/_jobhistory"))
    last: dict[str, ET.Element] = {}
    for job in root.findall("jobhist"):
        last[job.get("package", "")] = job  # oldest first
    return last


def daemons_rss_mib(state: Path) -> float:
    """Resident memory of every process of the backend under ``state`` (the daemons, their forks, builds)."""
    conf = str(state / "backend" / "conf")
    groups = set()
    procs = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")), 0)
        procs.append((int(fields[2]), rss))
        if conf in cmdline:
            groups.add(int(fields[2]))
    return sum(rss for group, rss in procs if group in groups) / 1024


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clones", type=Path, default=os.environ.get("RELEASETOOL_CLONES"),
                        help="clones of the upstream repositories, DIR/NAME (default: $RELEASETOOL_CLONES)")
    parser.add_argument("--tarballs", type=Path,
                        help="release tarballs NAME-VERSION.tar.* to submit as they are (upstream's own, for a "
                             "component without a reachable repository: dlm); a clone is used for the others")
    parser.add_argument("--base-cache", type=Path, help="apt's package cache of the Debian base (default: obs serve's)")
    parser.add_argument("--all-targets", action="store_true", help="keep the rpm targets (built on this host)")
    parser.add_argument("--keep", type=Path, help="keep the service's state in this directory")
    parser.add_argument("--resume", action="store_true",
                        help="with --keep: start the service again on the kept state, submit again (only what "
                             "changed is sent) and wait; times are counted from this submission")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds to wait for the builds")
    args = parser.parse_args()
    if args.clones is None or not args.clones.is_dir():
        print("error: give the clones of the upstream repositories with --clones DIR", file=sys.stderr)
        return 2
    if args.tarballs is not None and not args.tarballs.is_dir():
        print(f"error: --tarballs {args.tarballs}: not a directory (give the directory of NAME-VERSION.tar.* files)",
              file=sys.stderr)
        return 2
    if args.resume and not (args.keep and (args.keep / "submitted").is_file()):
        print("error: --resume needs --keep DIR of an earlier run that submitted", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("error: the OBS backend's worker needs root", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="bench-obs-manifest-"))
    work = args.keep or tmp
    try:
        return run(args, work)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> int:
    global PASSWORD
    work.mkdir(parents=True, exist_ok=True)
    state = work / "state"
    users = work / "users"
    manifest = ROOT / "components.yaml"
    if args.resume:
        PASSWORD = users.read_text().strip().split(":", 1)[1]
    else:
        users.write_text(f"{USER}:{PASSWORD}\n")
        users.chmod(0o600)
    env = dict(os.environ, RELEASETOOL_MANIFEST=str(manifest), PYTHONPATH=str(ROOT))
    serve_argv = [*RELEASETOOL, "obs", "serve", "--port", "0", "--root", str(state), "--users-file", str(users),
                  "--debian-base", "--base-build-deps"]
    if args.base_cache:
        serve_argv += ["--base-cache", str(args.base_cache)]
    started = time.monotonic()
    with open(work / "serve.log", "ab") as serve_log:
        serve = subprocess.Popen(serve_argv, env=env, stdout=subprocess.PIPE, stderr=serve_log, text=True)
    try:
        url = (serve.stdout.readline() if serve.stdout else "").strip()
        if not url.startswith("http://"):
            print(f"error: obs serve did not start; see {work / 'serve.log'}", file=sys.stderr)
            return 1
        emit("obs manifest: obs serve --debian-base --base-build-deps to listening", time.monotonic() - started)
        # the last start's import (serve.log is appended to by --resume)
        base = (re.findall(r"Debian:12/standard has (\d+) packages", (work / "serve.log").read_text()) or ["?"])[-1]
        oscrc = work / "oscrc"
        oscrc.write_text(f"[general]\napiurl = {url}\nhttp_retries = 1\ncookiejar = {work / 'cookiejar'}\n"
                         f"[{url}]\nuser = {USER}\npass = {PASSWORD}\n"
                         "credentials_mgr_class = osc.credentials.PlaintextConfigFileCredentialsManager\n"
                         "allow_http = 1\n")
        oscrc.chmod(0o600)

        if not args.resume and not args.all_targets:
            only_debian(url, manifest)
        started = time.monotonic()
        # with --resume only what changed is sent, and times count from this submission
        # (builds finished before it show as "earlier")
        submit_at = time.time()
        (work / "submitted").write_text(str(submit_at))
        submitted = subprocess.run([*RELEASETOOL, "obs", "submit", "--all", "--apiurl", url, "--config",
                                    str(oscrc), "--project", PROJECT, "--clones", str(args.clones),
                                    *(["--tarballs", str(args.tarballs)] if args.tarballs else [])],
                                   env=env, capture_output=True, text=True, check=False)
        stdout, stderr = submitted.stdout, submitted.stderr
        emit(f"obs manifest: obs submit --all{' (again)' if args.resume else ''} (tarballs made from the clones)",
             time.monotonic() - started, note=f"exit status {submitted.returncode}; "
             f"{sum(1 for line in stderr.splitlines() if line.startswith('error: '))} refused")
        refused = [line for line in stderr.splitlines() if line.startswith("error: ")]
        for line in refused:
            print(f"  {line}", flush=True)
        packages = [line.split()[0] for line in stdout.splitlines()[1:] if line.strip()]
        failed = {line.split()[1].rstrip(":"): line.split(": ", 2)[-1] for line in refused}
        wanted = [p for p in packages if p not in failed]

        peak_rss = 0.0
        deadline = time.monotonic() + args.timeout
        quiet_polls = 0
        while True:
            found, busy = results(url, None if args.all_targets else DEBIAN)
            peak_rss = max(peak_rss, daemons_rss_mib(state))
            pending = busy or any(found.get((DEBIAN, p), ("", ""))[0] not in FINAL for p in wanted)
            # unresolvable is final only once nothing the package waits for is still building:
            # the results must stay final for three polls in a row
            quiet_polls = quiet_polls + 1 if not pending else 0
            if quiet_polls >= 3:
                break
            if time.monotonic() > deadline:
                print("error: timed out waiting for the Debian builds", file=sys.stderr)
                break
            time.sleep(10)
        history = job_history(url)
        found, _ = results(url)
        rows = []
        sys.path.insert(0, str(ROOT))
        from releasetool import manifest as manifest_mod

        loaded = manifest_mod.load(manifest)
        by_package = {c.obs_package: c for c in loaded.components.values() if c.active}
        for package in packages:
            comp = by_package.get(package)
            code, details = ("not submitted", failed[package]) if package in failed else \
                found.get((DEBIAN, package), ("-", ""))
            job = history.get(package)
            build = int(job.get("endtime", 0)) - int(job.get("starttime", 0)) if job is not None else None
            done = int(job.get("endtime", 0)) - submit_at if job is not None else None
            if done is not None and done < 0:
                done = -1.0  # finished before this submission (--resume)
            rpm = ",".join(sorted({found[k][0] for k in found if k[1] == package and k[0] != DEBIAN}))
            rows.append((comp.name if comp else package, comp.version if comp else "-", code, details, build, done,
                         rpm))
        print()
        header = f"{'component':16} {'version':8} {'Debian_12':13} {'build':>6} {'done at':>8}"
        print(header + ("  rpm targets (host builds)" if args.all_targets else ""))
        for name, version, code, details, build, done, rpm in rows:
            line = (f"{name:16} {version:8} {code:13} {minutes(build) if build is not None else '-':>6} "
                    f"{('earlier' if done < 0 else minutes(done)) if done is not None else '-':>8}")
            if args.all_targets:
                line += f"  {rpm or '-'}"
            if code != "succeeded" and details:
                line += f"  ({details[:160]})"
            print(line)
        print()
        ends = sorted(e for e in (int(j.get("endtime", 0)) - submit_at for j in history.values()) if e >= 0)
        succeeded = sum(1 for r in rows if r[2] == "succeeded")
        disabled = sum(1 for r in rows if r[2] == "disabled")
        emit("obs manifest: Debian_12 builds succeeded", succeeded, unit="packages",
             note=f"of {len(rows)} packages: {len(failed)} not submitted, {disabled} disabled for Debian 12 by "
                  f"the manifest; base of {base} Debian packages")
        if ends:
            emit("obs manifest: submission start to the first finished Debian build", ends[0])
            emit("obs manifest: submission start to the last finished Debian build", ends[-1])
        emit("obs manifest: sum of the Debian build times (job history)",
             sum(r[4] for r in rows if r[4] is not None))
        emit("obs manifest: daemons' resident memory, largest seen while building", peak_rss, unit="MiB")
        emit("obs manifest: daemons' resident memory at the end", daemons_rss_mib(state), unit="MiB")
        return 0 if succeeded + disabled == len(wanted) else 1
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(120)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()


if __name__ == "__main__":
    sys.exit(main())
