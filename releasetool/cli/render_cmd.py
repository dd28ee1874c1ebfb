"""render: .spec and debian/ packaging from the templates."""

from __future__ import annotations

import argparse

from releasetool.cli import common
from releasetool.log import log

DESCRIPTION = """\
Render the packaging of one component (or all of them) from the templates in
templates/spec and templates/debian: DIR/NAME/NAME.spec and DIR/NAME/debian/
(control, changelog, rules, copyright, source/format, watch, upstream/metadata,
PACKAGE.install).

The changelogs come from the release history (history/NAME.json beside the
manifest; the manifest's version alone when there is none).  Files are written
atomically; identical files are left untouched; files rendered before and no
longer rendered are deleted (other files in DIR/NAME are never touched).

A templates/ directory beside the manifest (or $RELEASETOOL_TEMPLATES) is
searched before the built-in templates; templates/spec/NAME.spec.j2 and
templates/debian/NAME/FILE.j2 override the base templates for one component,
and templates/by-hand/NAME.j2 lists what upstream's own packaging installs by
hand after `make install`.  See docs/render.md.
"""

EPILOG = """\
examples:
  releasetool render libqb                  write rendered/libqb/libqb.spec and rendered/libqb/debian/
  releasetool render --all --out packaging  every active component under packaging/
  releasetool render pacemaker --check      exit 1 listing the files that differ (CI)

exit status: 0 rendered (or up to date with --check), 1 files differ (--check),
2 bad input (unknown component, missing manifest value, template error).
"""


def register(sub: common.Subcommands) -> None:
    p = common.add_command(
        sub, "render",
        help="render .spec and debian/ packaging from the templates",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="components to render")
    p.add_argument("--all", action="store_true", help="render every active component")
    p.add_argument("--out", metavar="DIR", default="rendered", help="output directory (default: rendered); a symlink is followed)")
    p.add_argument("--format", choices=("spec", "debian", "both"), default="both",
                   help="what to render (default: both)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; list the files that differ and exit 1 if any do")
    p.add_argument("--dry-run", action="store_true", help="write nothing; list the files that would change")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON on stdout")
    p.set_defaults(run=run_render)


def run_render(args: argparse.Namespace) -> int:
    from releasetool import manifest
    from releasetool.errors import RenderError
    from releasetool.render import packaging as render

    if bool(args.names) == bool(args.all):
        raise RenderError("render needs component names or --all (not both)",
                          hint="e.g. `releasetool render libqb` or `releasetool render --all`")
    loaded = manifest.load(common.manifest_path(args))
    components = loaded.select(args.names, all_=args.all)
    formats = render.FORMATS if args.format == "both" else (args.format,)
    outcomes = render.render_all(loaded, components, common.output_dir(args.out), formats=formats,
                                 check=args.check, dry_run=args.dry_run)
    if args.json:
        common.print_json([o.to_json() for o in outcomes])
    differing = [f"{o.directory / rel}" for o in outcomes for rel in o.differing]
    if args.check:
        if not args.json:
            for path in differing:
                print(path)
        if differing:
            log.warning("render: %d file%s differ%s from the templates; run `releasetool render%s` to update",
                        len(differing), "s" if len(differing) != 1 else "", "" if len(differing) != 1 else "s",
                        " --all" if args.all else " " + " ".join(args.names))
            return 1
        log.info("render: %d component%s up to date in %s", len(outcomes),
                 "s" if len(outcomes) != 1 else "", args.out)
        return 0
    verb = "would write" if args.dry_run else "wrote"
    for o in outcomes:
        removed = f", {'would remove' if args.dry_run else 'removed'} {len(o.removed)}" if o.removed else ""
        log.info("render %s: %s %d, unchanged %d%s (%s)", o.name, verb, len(o.written), len(o.unchanged),
                 removed, o.directory)
        if args.dry_run and not args.json:
            for rel in o.differing:
                print(o.directory / rel)
    return 0
