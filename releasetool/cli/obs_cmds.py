"""obs serve, obs submit, obs status, obs submitreq: the openSUSE Build Service bridge."""

from __future__ import annotations

import argparse
import sys

from releasetool.cli import common

SERVE_DESCRIPTION = """\
Run a local HTTP service speaking the subset of the OBS API that osc and
releasetool use: project and package meta, file listings with md5, commits
through commitfilelist, revision history, build results and logs, rebuilds,
branches and submit requests.  State lives under --root, so a restart loses
nothing.  Use it to test and to rehearse a release before touching the real
Build Service.  docs/obs-service.md lists what is covered.
"""

SERVE_EPILOG = """\
examples:
  releasetool obs serve --port 3000 --root /tmp/obs --user Admin:opensuse --build
  osc -A http://127.0.0.1:3000 meta prj network:ha-clustering:Stable

Without --user, the one user is Admin with password opensuse.
"""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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
    s.add_argument("--user", action="append", default=[], metavar="NAME:PASSWORD",
                   help="a user allowed to log in (repeatable)")
    s.add_argument("--build", action="store_true", help="build committed packages with rpmbuild and dpkg-buildpackage")
    s.add_argument("--faults", metavar="FILE", help="a fault plan (YAML or JSON) to inject errors")
    s.set_defaults(run=run_serve)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_serve(args: argparse.Namespace) -> int:
    import logging

    from releasetool.errors import ObsError
    from releasetool.obs.server import make_service

    users: dict[str, str] = {}
    for item in args.user:
        name, sep, password = item.partition(":")
        if not sep or not name or not password:
            raise ObsError("--user takes NAME:PASSWORD (the value given has no ':' or an empty part)",
                           hint="e.g. --user Admin:opensuse")
        users[name] = password
    if not users:
        users = {"Admin": "opensuse"}
    faults = None
    if args.faults:
        from releasetool.obs.faults import load_plan

        faults = load_plan(args.faults)
    try:
        service = make_service(args.root, users, host=args.host, port=args.port, build=args.build, faults=faults)
    except OSError as exc:
        raise ObsError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}",
                       hint="pick another --port, or 0 for a free one") from None
    log = logging.getLogger("releasetool")
    log.info("obs serve: listening on %s (state in %s%s)", service.url, args.root,
             ", building" if args.build else "")
    print(service.url, flush=True)
    try:
        service.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        service.server_close()
    return 0
