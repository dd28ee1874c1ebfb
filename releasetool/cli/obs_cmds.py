"""obs serve, obs submit, obs status, obs submitreq: the openSUSE Build Service bridge."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from releasetool.cli import common

if TYPE_CHECKING:  # only for the type checker: nothing heavy is imported when the CLI starts
    from releasetool.manifest import Manifest
    from releasetool.obs.api import Api
    from releasetool.obs.follow import StatusReport

SERVE_DESCRIPTION = """\
Run a local Build Service on 127.0.0.1 to test and rehearse a release
before touching the real one: Debian's OBS backend (obs-server: source and
repository servers, scheduler, dispatcher, publisher, one chroot worker),
started under --root and stopped with the service, behind this service as
its frontend (users, maintainers as the only writers, the branch command,
requests, OBS's error answers).  It needs root.  State lives under --root,
so a restart loses nothing.  docs/obs-service.md lists what is covered.

--debian-base adds the Debian:12/standard project Debian targets build
against (packages apt-get downloads; --base-build-deps adds the build
dependencies of the manifest's components, --base-packages any others).  No rpm base distribution is reachable here: rpm targets are
built on this host with rpmbuild --nodeps, and their results and build logs
say so.  No source service runs: a _service is refused with OBS's error.
What bs_publish writes is served without login under /repositories/.

--stand-in runs, instead, a stand-in that is not OBS (a store of its own,
builds on this host with --build): for machines without root or obs-server.

Users log in with HTTP basic authentication against --users-file: one
NAME:PASSWORD line per user, or NAME:HASH with a hash from `releasetool obs
hash-password`.  Credentials are checked before a request body is read; a
body over --max-body MiB is refused with 413; a connection idle or stalled
for 60 s is closed.
"""

SERVE_EPILOG = """\
examples:
  printf 'Admin:%s\\n' "$(releasetool obs hash-password < secret)" > users; chmod 600 users
  sudo releasetool obs serve --port 3000 --root /tmp/obs --users-file users --debian-base
  sudo releasetool obs serve --port 3000 --root /tmp/obs --users-file users --debian-base --base-build-deps
  releasetool obs serve --port 3000 --root /tmp/obs --users-file users --stand-in --build
  osc -A http://127.0.0.1:3000 meta prj network:ha-clustering:Stable
"""

HASH_DESCRIPTION = """\
Read a password from standard input (the first line; asked for without echo
on a terminal) and print its pbkdf2-sha256 hash, the form a line of
`obs serve --users-file` takes after NAME: so that the file holds no password.
"""


def register(sub: common.Subcommands) -> None:
    p = common.add_command(
        sub, "obs",
        help="submit to the openSUSE Build Service, follow builds, run a local OBS",
        description="Bridge to the openSUSE Build Service through osc.",
    )
    obs_sub = p.add_subparsers(dest="obs_command", metavar="SUBCOMMAND")
    p.set_defaults(run=lambda args: _usage(p))

    s = common.add_command(obs_sub, "serve", help="run the local OBS-compatible service",
                           description=SERVE_DESCRIPTION, epilog=SERVE_EPILOG)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    s.add_argument("--port", type=int, default=3000, help="port to listen on (default: 3000; 0 picks a free one)")
    s.add_argument("--root", default=".obs-service", help="directory holding the service state")
    s.add_argument("--users-file", required=True, metavar="FILE",
                   help="the users who may log in: NAME:PASSWORD or NAME:HASH lines")
    s.add_argument("--max-body", type=int, default=256, metavar="MIB",
                   help="largest request body accepted, in MiB; larger is 413 (default: 256)")
    s.add_argument("--backend", action="store_true",
                   help="front Debian's OBS backend (obs-server), started under --root: sources, links, "
                        "scheduling and builds are the backend's (needs root); the default, named for scripts")
    s.add_argument("--stand-in", action="store_true",
                   help="instead of the OBS backend, keep sources in a store of this service's own and build "
                        "nothing (or, with --build, on this host): a stand-in for machines without root or "
                        "obs-server, not OBS")
    s.add_argument("--build", action="store_true",
                   help="with --stand-in (implied): build committed packages on this host with rpmbuild and "
                        "dpkg-buildpackage")
    s.add_argument("--debian-base", action="store_true",
                   help="with --backend: make the Debian:12/standard base project Debian targets build against, "
                        "from packages apt-get downloads (about 150 MB, once)")
    s.add_argument("--base-cache", metavar="DIR",
                   help="where --debian-base keeps the downloaded packages (default: ~/.cache/releasetool/obs-debian-12)")
    s.add_argument("--base-packages", metavar="FILE",
                   help="with --debian-base: Debian packages (one name a line, # comments) added to the base with "
                        "their closure, e.g. the build dependencies of the packages to build")
    s.add_argument("--base-build-deps", action="store_true",
                   help="with --debian-base: add the build dependencies of the Debian builds of the manifest's active "
                        "components (--manifest): every Build-Depends of their debian/control that no component "
                        "builds, with their closure")
    s.add_argument("--faults", metavar="FILE", help="a fault plan (YAML or JSON) to inject errors")
    s.set_defaults(run=run_serve)

    s = common.add_command(obs_sub, "hash-password", help="hash a password for obs serve --users-file",
                           description=HASH_DESCRIPTION)
    s.set_defaults(run=run_hash_password)

    s = common.add_command(obs_sub, "submit", help="submit rendered packaging to an OBS project",
                           description=SUBMIT_DESCRIPTION, epilog=SUBMIT_EPILOG)
    s.add_argument("names", nargs="*", metavar="NAME", help="components to submit")
    s.add_argument("--all", action="store_true", help="every active component, in dependency order")
    _connection_options(s)
    s.add_argument("--message", "-m", default="", help="the commit message")
    s.add_argument("--tarballs", metavar="DIR",
                   help="directory holding the release tarballs to upload, named as in the manifest's tarball URL "
                        "(the release output, a download area from `releasetool bundle`)")
    s.add_argument("--clones", metavar="DIR",
                   help="for a tarball not in --tarballs: make it from the clone DIR/NAME at the version's tag, as "
                        "`releasetool release` would (kept in .releasetool-cache/obs/tarballs/)")
    s.add_argument("--jobs", "-j", type=int, default=4, help="packages submitted at once (default: 4)")
    s.add_argument("--dry-run", action="store_true", help="show what would change; only reads from the server")
    s.add_argument("--wait", action="store_true", help="then wait for the builds of what was submitted")
    s.add_argument("--timeout", type=float, default=3600, help="seconds --wait waits at most (default: 3600)")
    s.add_argument("--json", action="store_true", help="print the outcome as JSON on stdout")
    s.set_defaults(run=run_submit)

    s = common.add_command(obs_sub, "status", help="build results of submitted packages",
                           description=STATUS_DESCRIPTION, epilog=STATUS_EPILOG)
    s.add_argument("names", nargs="*", metavar="NAME", help="components (default: every active one)")
    _connection_options(s)
    s.add_argument("--wait", action="store_true", help="poll until every result is final")
    s.add_argument("--timeout", type=float, default=3600, help="seconds --wait waits at most (default: 3600)")
    s.add_argument("--interval", type=float, default=5.0, help="seconds between polls (default: 5)")
    s.add_argument("--logs", metavar="DIR", help="save every finished build's log into DIR")
    s.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    s.set_defaults(run=run_status)

    s = common.add_command(obs_sub, "submitreq", help="create a submit request to a distribution project",
                           description=SUBMITREQ_DESCRIPTION)
    s.add_argument("name", metavar="NAME", help="the component")
    s.add_argument("--to", required=True, metavar="PRJ", help="the target project")
    _connection_options(s)
    s.add_argument("--message", "-m", default="", help="the request description")
    s.add_argument("--dry-run", action="store_true", help="show what would be done")
    s.add_argument("--json", action="store_true", help="print the outcome as JSON on stdout")
    s.set_defaults(run=run_submitreq)


SUBMIT_DESCRIPTION = """\
Submit components to the openSUSE Build Service through osc's library: the
project meta gets one repository per distribution target of the manifest
(an unchanged meta is not rewritten), each package gets its meta (title,
description, URL; building disabled for the targets the component's
`targets:` leaves out) and the files `releasetool render` produces: NAME.spec,
debian.tar.xz with a NAME.dsc for OBS's debtransform, and the release tarball
(from --tarballs, else made from the clone in --clones, else a _service with
which OBS fetches it).  Only files whose md5 differs from the server's listing
are uploaded, files no longer produced are deleted, and one commit is made per
changed package; an unchanged package makes none.  An interrupted run is
finished by running it again.

A package the Build Service refuses (e.g. a _service where no source service
runs), or whose tarball cannot be made from its clone, does not stop the
others: every such failure is listed at the end, one line each, and the exit
status is 1; running the command again sends only what is still missing.
A failure of the service itself (unreachable, credentials refused) stops the
run at once.
"""

SUBMIT_EPILOG = """\
Credentials come from oscrc (osc's credentials managers) or --config FILE;
they are never printed.  The project defaults to distribution.obs_project and
the API URL to distribution.obs_apiurl of the manifest.

exit status: 0 submitted (and with --wait, every build succeeded), 1 a package
refused, a service or build failure, 2 bad input, 3 builds still pending when
--wait timed out.
"""

STATUS_DESCRIPTION = """\
Show the build results of components per repository and arch, for the latest
revision of each package: a result that is dirty, or built from older sources,
is pending.  With --wait, poll until every result is final.  For each failed
build the tail of its log is shown.
"""

STATUS_EPILOG = """\
exit status: 0 every build succeeded, 1 a build failed (or is broken or
unresolvable), 3 results still pending (with --wait: the timeout passed).
"""

SUBMITREQ_DESCRIPTION = """\
Create a submit request from the community project to a distribution project
for the latest sources of a component, and print its id.  An open request for
the same sources is reused, not duplicated; one for older sources is
superseded by the new one.
"""


def _connection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", metavar="PRJ", help="the OBS project (default: distribution.obs_project)")
    p.add_argument("--apiurl", "-A", metavar="URL", help="the OBS API (default: distribution.obs_apiurl)")
    p.add_argument("--config", metavar="OSCRC", help="the osc configuration file (default: osc's own lookup)")


def _api_and_manifest(args: argparse.Namespace) -> tuple[Manifest, Api, str]:
    from releasetool import manifest
    from releasetool.obs.api import Api, Settings

    loaded = manifest.load(common.manifest_path(args))
    apiurl = args.apiurl or loaded.distribution.obs_apiurl
    api = Api(Settings(apiurl=apiurl, config=args.config, retries=int(os.environ.get("RELEASETOOL_OBS_RETRIES", 4)),
                       backoff=float(os.environ.get("RELEASETOOL_OBS_BACKOFF", 0.5)),
                       timeout=float(os.environ.get("RELEASETOOL_OBS_TIMEOUT", 120))))
    return loaded, api, args.project or loaded.distribution.obs_project


def run_submit(args: argparse.Namespace) -> int:
    from releasetool.errors import ReleasetoolError, UsageError
    from releasetool.obs import client

    if not args.names and not args.all:
        raise ReleasetoolError("obs submit: name components or use --all", hint="e.g. releasetool obs submit --all")
    for option, value in (("--tarballs", args.tarballs), ("--clones", args.clones)):
        if value is not None and not os.path.isdir(value):
            raise UsageError(f"{option} {value}: not a directory",
                             hint="give the directory holding the tarballs" if option == "--tarballs"
                             else "give the directory holding one clone per component, named as the component")
    loaded, api, project = _api_and_manifest(args)
    report = client.submit(loaded, args.names, all_=args.all, project=project, api=api, message=args.message,
                           dry_run=args.dry_run, tarball_dir=args.tarballs, clones=args.clones, jobs=args.jobs)
    code = 1 if report.failed else 0
    status_report = None
    submitted = [p.package for p in report.packages if p.action != "failed"]
    if args.wait and not args.dry_run and submitted:
        from releasetool.obs import follow

        status_report = follow.status(api, project, submitted, wait=True, timeout=args.timeout)
        code = code or status_report.exit_code  # a package not submitted is a failure, whatever its builds did
    if args.json:
        data = report.to_json()
        if status_report is not None:
            data["status"] = status_report.to_json()
        common.print_json(data)
    else:
        rows = [[p.package, p.action, p.rev or "-", p.srcmd5[:12] or "-", ",".join(p.uploaded) or "-",
                 ",".join(p.deleted) or "-"] for p in report.packages]
        common.print_table(["PACKAGE", "ACTION", "REV", "SRCMD5", "UPLOADED", "DELETED"], rows)
        if status_report is not None:
            _print_status(status_report)
    changed = sum(1 for p in report.packages if p.action not in ("unchanged", "failed"))

    from releasetool.log import log
    if changed == 0 and not report.project_meta_written and not report.failed:
        log.info("obs submit: nothing to do: all %d packages in %s are up to date (%d HTTP requests)",
                 len(report.packages), project, report.requests)
    else:
        log.info("obs submit: %s%d of %d packages %s in %s (%d HTTP requests)", "dry run: " if args.dry_run else "",
                 changed, len(report.packages), "would change" if args.dry_run else "changed", project,
                 report.requests)
    for failed in report.failed:
        print(f"error: {failed.package}: not submitted: {failed.error}", file=sys.stderr)
    if report.failed:
        print(f"hint: {len(report.failed)} of {len(report.packages)} packages not submitted; fix the cause and "
              "run the same command again (what was submitted is not sent again)", file=sys.stderr)
    return code


def _print_status(report: StatusReport) -> None:
    results = report.results
    rows = [[r.package, r.repository, r.arch, r.code + (" (dirty)" if r.dirty else "")
             + ("" if r.current else " (older sources)"), r.state] for r in results]
    common.print_table(["PACKAGE", "REPOSITORY", "ARCH", "CODE", "STATE"], rows)
    for r in results:
        if r.state == "failed":
            print(f"{r.package} {r.repository}/{r.arch}: {r.code}{': ' + r.details if r.details else ''}",
                  file=sys.stderr)
            for line in r.log_tail.splitlines():
                print(f"  | {line}", file=sys.stderr)
    if report.timed_out:
        pending = [f"{r.package} {r.repository}/{r.arch}" for r in results if r.state == "pending"]
        print(f"error: timed out waiting for builds; still pending: {', '.join(pending)}", file=sys.stderr)


def run_status(args: argparse.Namespace) -> int:
    from releasetool.obs import follow

    loaded, api, project = _api_and_manifest(args)
    comps = loaded.select(args.names, all_=not args.names)
    report = follow.status(api, project, [c.obs_package for c in comps], wait=args.wait,
                           timeout=args.timeout, interval=args.interval, logs_dir=args.logs)
    if args.json:
        common.print_json(report.to_json())
    else:
        _print_status(report)
    return report.exit_code


def run_submitreq(args: argparse.Namespace) -> int:
    from releasetool.obs import follow

    loaded, api, project = _api_and_manifest(args)
    comp = loaded.get(args.name)
    outcome = follow.submit_request(api, project, comp.obs_package, args.to, message=args.message,
                                    dry_run=args.dry_run)
    if args.json:
        common.print_json(outcome.to_json())
    elif outcome.id:
        print(outcome.id)

    from releasetool.log import log
    if args.dry_run:
        log.info("obs submitreq: dry run: would create a request %s -> %s%s", outcome.source, outcome.target,
                 f" superseding {', '.join(outcome.superseded)}" if outcome.superseded else "")
    elif outcome.created:
        log.info("obs submitreq: created request %s: %s -> %s%s", outcome.id, outcome.source, outcome.target,
                 f" (superseding {', '.join(outcome.superseded)})" if outcome.superseded else "")
    else:
        log.info("obs submitreq: request %s for these sources is already open", outcome.id)
    return 0


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _check_port_free(host: str, port: int) -> None:
    """Refuse a port that is out of range or taken, before the service starts (a clean exit 2)."""
    import socket

    from releasetool.errors import UsageError

    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: not a TCP port (0 to 65535)", hint="pick another --port, or 0 for a free one")
    if port == 0:
        return
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # as the service's server does: a port left in TIME_WAIT is usable
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                         hint="pick another --port, or 0 for a free one") from None


def run_serve(args: argparse.Namespace) -> int:

    from releasetool.errors import ObsError, ReleasetoolError
    from releasetool.obs.service.server import make_service
    from releasetool.obs.service.users import load_users

    if args.max_body < 1:
        raise ReleasetoolError(f"--max-body must be at least 1 MiB (got {args.max_body})")
    if args.backend and args.build:
        raise ReleasetoolError("--build and --backend exclude each other: with --backend, OBS's scheduler and "
                               "worker build", hint="drop --build")
    if args.backend and args.stand_in:
        raise ReleasetoolError("--stand-in and --backend exclude each other", hint="drop one of them")
    stand_in = args.stand_in or args.build
    if args.debian_base and stand_in:
        raise ReleasetoolError("--debian-base needs the OBS backend: the base project is imported into it",
                               hint="drop --stand-in and --build")
    users = load_users(args.users_file)
    base_packages: list[str] = []
    if args.base_packages:
        if not args.debian_base:
            raise ReleasetoolError("--base-packages needs --debian-base: the packages are added to that base")
        from releasetool.obs.service.debian_base import read_package_list

        base_packages = read_package_list(args.base_packages)
    if args.base_build_deps:
        if not args.debian_base:
            raise ReleasetoolError("--base-build-deps needs --debian-base: the packages are added to that base")
        from releasetool import manifest
        from releasetool.obs.service.debian_base import manifest_build_dependencies

        base_packages += manifest_build_dependencies(manifest.load(common.manifest_path(args)))
    faults = None
    if args.faults:
        from releasetool.errors import FaultPlanError
        from releasetool.fsutil import text_file_problem
        from releasetool.obs.service.faults import load_plan

        problem = text_file_problem(args.faults)
        if problem is not None:
            raise FaultPlanError(f"--faults {args.faults}: {problem}",
                                 hint="write the plan as a list of rules in YAML or JSON, see docs/obs-service.md")
        try:
            faults = load_plan(args.faults)
        except RecursionError:  # the plan's parser recurses per level of nesting
            raise FaultPlanError(f"--faults {args.faults}: nested too deep for a fault plan",
                                 hint="write the plan as a list of rules, see docs/obs-service.md") from None
    _check_port_free(args.host, args.port)
    backend = None
    if not stand_in:
        from releasetool.obs.service.backend import Backend

        backend = Backend(args.root)
        try:
            backend.check()
        except ReleasetoolError as problem:
            raise ObsError(str(problem), hint=(f"{problem.hint}; " if problem.hint else "")
                           + "or run the stand-in, which is not OBS: obs serve --stand-in") from None
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # leave through the finally below, which stops a running build

    signal.signal(signal.SIGTERM, stop)
    try:
        try:
            service = make_service(args.root, users, host=args.host, port=args.port, build=args.build,
                                   faults=faults, max_body=args.max_body * 1024 * 1024)
        except OSError as exc:
            raise ObsError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}",
                           hint="pick another --port, or 0 for a free one") from None
        try:
            if backend is not None:
                from pathlib import Path

                from releasetool.obs.service.server import front_backend

                front_backend(service, backend, debian_base=args.debian_base,
                              base_cache=Path(args.base_cache) if args.base_cache else None,
                              base_packages=base_packages)
            from releasetool.log import log
            log.info("obs serve: listening on %s (state in %s%s)", service.url, args.root,
                     ", building" if args.build else ", fronting the OBS backend" if backend else "")
            print(service.url, flush=True)
            service.serve_forever(poll_interval=0.2)
        finally:
            service.server_close()
            if backend is not None:
                backend.stop()
    except KeyboardInterrupt:
        pass
    return 0


def run_hash_password(args: argparse.Namespace) -> int:
    from releasetool.errors import ReleasetoolError
    from releasetool.obs.service.users import hash_password

    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("password: ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise ReleasetoolError("no password on standard input", hint="e.g. releasetool obs hash-password < FILE")
    print(hash_password(password))
    return 0
