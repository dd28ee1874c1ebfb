"""``releasetool build``: render and build one component's packages locally, and lint them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from releasetool.cli import common

DESCRIPTION = """\
Build one component's packages on this machine, as a packager does after `render`:
render the .spec and debian/ at the tarball's version, build them with
`rpmbuild -ba --nodeps` and `dpkg-buildpackage -b`, and lint the built packages
(rpmlint with the project's rpmlint.toml, lintian on the .changes).

The tarball is --tarball FILE (upstream's published one, or a Debian
NAME_VERSION.orig.tar.*), else the release in dist/NAME-VERSION/ beside the
manifest, else one made from --repo CLONE at the version's tag with the
component's tarball method.  Upstream's test suite is skipped unless --check.
Built packages and build logs go to OUT/NAME/.
"""

EPILOG = """\
examples:
  releasetool build libqb --tarball libqb_2.0.6.orig.tar.xz
  releasetool build booth --repo ~/src/booth --version 1.2 --format deb
  releasetool build corosync --install-deps --json

exit status: 0 every build succeeded with no lint error, 1 a build failed or lint found
an error, 2 bad input.
"""


def register(sub: common.Subcommands) -> None:
    p = common.add_command(sub, "build", help="build a component's rpm and deb packages locally and lint them",
                           description=DESCRIPTION, epilog=EPILOG)
    p.add_argument("name", metavar="NAME", help="component name")
    p.add_argument("--format", choices=("rpm", "deb", "both"), default="both", help="what to build (default: both)")
    p.add_argument("--tarball", metavar="FILE", type=Path, help="the source tarball to build")
    p.add_argument("--repo", metavar="PATH", type=Path, help="make the tarball from this clone at the version's tag")
    p.add_argument("--version", dest="at_version", metavar="VERSION",
                   help="the version to build (default: the tarball's, else the manifest's)")
    p.add_argument("--out", metavar="DIR", type=Path, default=Path("built"),
                   help="where packages and logs go, in DIR/NAME/ (default: built)")
    p.add_argument("--check", action="store_true", help="run upstream's test suite during the build")
    p.add_argument("--install-deps", action="store_true",
                   help="install the rendered debian/control's Build-Depends with apt-get build-dep first")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON on stdout")
    p.set_defaults(run=run_build)


def run_build(args: argparse.Namespace) -> int:
    from releasetool.build import BuildSettings, build_component
    from releasetool.log import log

    formats = ("rpm", "deb") if args.format == "both" else (args.format,)
    settings = BuildSettings(formats=formats, version=args.at_version, tarball=args.tarball, repo=args.repo,
                             out=common.output_dir(args.out), check=args.check, install_deps=args.install_deps)
    outcomes = build_component(common.manifest_path(args), args.name, settings)
    if args.json:
        common.print_json([o.to_json() for o in outcomes])
    else:
        rows = []
        for o in outcomes:
            result = "ok" if o.ok else "FAILED" if o.error else "lint errors"
            rows.append([o.format, result, str(len(o.packages)),
                         str(sum(p.files for p in o.packages)), str(len(o.lint_errors)),
                         str(len(o.lint_warnings)), f"{o.seconds:.0f}s", str(o.log or "")])
        common.print_table(["FORMAT", "RESULT", "PACKAGES", "FILES", "LINT E", "LINT W", "TIME", "LOG"], rows)
        for o in outcomes:
            for package in o.packages:
                print(f"  {package.path}")
            if o.error:
                log.error("%s: %s", o.format, o.error)
            for problem in o.lint_errors:
                log.error("%s lint: %s", o.format, problem)
    sys.stdout.flush()
    return 0 if all(o.ok for o in outcomes) else 1
