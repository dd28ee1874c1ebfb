"""demo: the whole release, rehearsed offline."""

from __future__ import annotations

import argparse
import sys

from releasetool.cli import common

DESCRIPTION = """\
Rehearse a whole community release offline, in a directory of its own:

  1. generate a monolithic cluster tree (components in subdirectories, topic
     branches merged back, 300 commits, release tags);
  2. split each component into its own repository with its tags (split);
  3. cut a coordinated release train with reproducible tarballs and fill the
     one-shot download area (train, bundle);
  4. render .spec and debian/ packaging and check it with rpmlint and lintian;
  5. start the local Build Service, submit every package through osc and wait
     for the builds: where the machine can (root, the packages `make setup`
     installs), Debian's real OBS backend schedules and builds the Debian
     packages against a Debian 12 base and publishes them, and the rpm
     targets are built on this host (their results say so); elsewhere the
     stand-in builds both on this host;
  6. with the OBS backend: install a built package from the published Debian
     repository with apt, into a throwaway Debian 12 root made with
     debootstrap, and run one of its programs there;
  7. build the latest-versions page (site discover, site build).

Each step shows the releasetool commands it runs.  A summary table ends the
run; the exit status is 0 only when every row is green.  Running the demo
again replaces a finished demo; a demo that was interrupted resumes at the
step it was in.  The OBS service listens on 127.0.0.1 only and needs no
account; the only downloads are Debian packages from the machine's apt
mirror (the base and the throwaway root, once: they are kept in
~/.cache/releasetool).
"""


def register(sub: common.Subcommands) -> None:
    p = common.add_command(
        sub, "demo",
        help="rehearse a whole community release offline",
        description=DESCRIPTION,
        epilog="example:\n  releasetool demo --dir /tmp/rehearsal\n\n"
        "exit status: 0 every row green, 1 a step failed (it is named), 2 bad input.",
    )
    p.add_argument("--dir", default="demo-release", metavar="DIR",
                   help="working directory of the demo (default: ./demo-release)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from releasetool.demo import steps

    demo, rows = steps.run_demo(Path(args.dir))
    if args.json:
        common.print_json({"dir": str(demo.root), "rows": rows, "ok": steps.all_green(rows)})
    else:
        headers = ["COMPONENT", "VERSION", "TAG", "TARBALL SHA256", "RPM BUILD", "DEB BUILD", "PAGE"]
        table = [[r["component"], r["version"], r["tag"], r["sha256"][:16], r["rpm"], r["deb"], r["page"]]
                 for r in rows]
        print(file=sys.stderr)
        common.print_table(headers, table)
        print(f"\nthe page: releasetool site serve --dir {demo.site}", file=sys.stderr)
    return 0 if steps.all_green(rows) else 1
