"""validate, list, show: reading the manifest."""

from __future__ import annotations

import argparse
import sys

from releasetool.cli import common


def register(sub: common.Subcommands) -> None:
    p = common.add_command(
        sub, "validate",
        help="check components.yaml and report every problem",
        description="Check the manifest against its schema and report every problem at once, each as\n"
        "FILE:LINE:COL: field.path: what is wrong (what is allowed). Writes nothing.",
        epilog="exit status: 0 valid, 2 problems found.",
    )
    p.add_argument("--json", action="store_true", help="print the problems as JSON on stdout")
    p.set_defaults(run=run_validate)

    p = common.add_command(
        sub, "list",
        help="list the components in dependency order",
        description="List every component of the manifest, dependencies first\n"
        "(libqb before corosync before pacemaker).",
    )
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.add_argument("--all", action="store_true", help="include retired components")
    p.set_defaults(run=run_list)

    p = common.add_command(
        sub, "show",
        help="show everything the manifest says about one component",
        description="Show one component: versions, tag, sources, packaging, split source.",
    )
    p.add_argument("name", metavar="NAME", help="component name")
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.set_defaults(run=run_show)


def run_validate(args: argparse.Namespace) -> int:
    from releasetool import manifest
    from releasetool.errors import ManifestError

    path = common.manifest_path(args)
    try:
        loaded = manifest.load(path)
    except ManifestError as exc:
        if args.json:
            common.print_json({"valid": False, "problems": [p._asdict() for p in exc.problems]})
        raise
    if args.json:
        common.print_json({"valid": True, "problems": [], "components": len(loaded.components)})
    else:
        active = sum(1 for c in loaded.components.values() if c.active)
        print(f"{path}: valid ({len(loaded.components)} components, {active} active, "
              f"{len(loaded.targets)} targets)", file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from releasetool import manifest

    loaded = manifest.load(common.manifest_path(args))
    comps = [c for c in loaded.components.values() if c.active or args.all]
    if args.json:
        common.print_json([manifest.component_summary(c) for c in comps])
        return 0
    rows = [[c.name, c.version, c.released.isoformat(), c.tag_for(c.version), c.status,
             ",".join(c.depends) or "-"] for c in comps]
    common.print_table(["NAME", "VERSION", "RELEASED", "TAG", "STATUS", "DEPENDS"], rows)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from releasetool import manifest

    loaded = manifest.load(common.manifest_path(args))
    comp = loaded.get(args.name)
    details = manifest.component_details(comp)
    if args.json:
        common.print_json(details)
        return 0
    for key in ("name", "status", "summary", "version", "released", "tag", "version_scheme", "license",
                "homepage", "git", "tarball_url", "obs_package"):
        print(f"{key + ':':16}{details[key]}")
    print(f"{'depends:':16}{', '.join(comp.depends) or '-'}")
    print(f"{'targets:':16}{', '.join(comp.targets)}")
    if comp.split:
        paths = ", ".join(f"{p.source} -> {p.target or '.'}" for p in comp.split.paths)
        print(f"{'split:':16}{comp.split.repository} ({paths})")
    pk = comp.packaging
    print(f"{'subpackages:':16}{', '.join(s.name for s in pk.subpackages) or '-'}")
    print(f"{'units:':16}{', '.join(pk.units) or '-'}")
    print("description:")
    for line in comp.description.splitlines():
        print(f"  {line}")
    return 0
