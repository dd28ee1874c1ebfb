#!/usr/bin/env python3
"""Parity with what upstream published: re-cut real releases and compare file by file.

For each release Debian 12 carries as an upstream tarball (its
``NAME_VERSION.orig.tar.*``), this makes the release tarball from a real clone
at the release tag exactly as ``releasetool release`` would (the manifest's
``tarball_method``: git's archive with .gitattributes, or the project's dist
target in a clean clone) and compares its files with upstream's:

    equal      same path, same bytes
    differing  same path, other bytes (listed with --verbose, and counted
               by cause: files the autotools generate differ with their version)
    missing    in upstream's tarball, not in ours
    extra      in ours, not in upstream's

Usage::

    scripts/upstream-sources.sh                      # the .orig tarballs and build dependencies
    bench/parity.py --clones DIR [--origs DIR] [NAME ...] [--verbose] [--json]

``--clones DIR`` holds a git clone of each upstream repository, named after
the component (DIR/libqb, DIR/pacemaker, ...).  Takes minutes: the dist
components run autogen, configure and make dist.
"""

from __future__ import annotations

import argparse
import fnmatch
import io
import json
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from releasetool import manifest, proc  # noqa: E402
from releasetool.release import dist, tarball  # noqa: E402

# The releases Debian 12 (bookworm) ships, and the tag each was cut from.
RELEASES = {
    "libqb": ("2.0.6", "v2.0.6"),
    "kronosnet": ("1.25", "v1.25"),
    "corosync": ("3.1.7", "v3.1.7"),
    "pacemaker": ("2.1.5", "Pacemaker-2.1.5"),
    "crmsh": ("4.4.1", "4.4.1"),
    "cluster-glue": ("1.0.12", "glue-1.0.12"),
}

# Files whose bytes come from the autotools (and their version) rather than
# from the tree: a difference there is explained by the toolchain.
GENERATED = ("configure", "aclocal.m4", "*Makefile.in", "build-aux/*", "m4/libtool.m4", "m4/lt*.m4",
             "config.h.in", "*/config.h.in", "compile", "config.guess", "config.sub", "depcomp", "install-sh",
             "ltmain.sh", "missing", "test-driver", "ar-lib", "py-compile")


def upstream_members(path: Path) -> dict[str, bytes]:
    """Files of an upstream tarball, relative to its (single) top directory."""
    raw = path.read_bytes()
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:*") as tar:
        names = [m.name for m in tar.getmembers()]
    top = names[0].split("/")[0] if names else ""
    return {m.path: m.data for m in tarball.members_of_tar(raw, top=top, where=str(path)) if not m.symlink} | {
        m.path: b"-> " + m.data for m in tarball.members_of_tar(raw, top=top, where=str(path)) if m.symlink}


def our_members(comp: manifest.Component, clone: Path, version: str, tag: str) -> tuple[dict[str, bytes], float]:
    commit = proc.git(clone, "rev-parse", f"{tag}^{{commit}}")
    started = time.monotonic()
    command = dist.command_for(comp, clone, commit) if comp.tarball_method == "dist" else ""
    members, _ = dist.upstream_members(clone, commit, comp.name, version, tag, method=comp.tarball_method,
                                       command=command, timezone=comp.dist_timezone)
    took = time.monotonic() - started
    return {m.path: (b"-> " + m.data if m.symlink else m.data) for m in members}, took


def generated(path: str) -> bool:
    return any(fnmatch.fnmatchcase(path, pattern) for pattern in GENERATED)


def compare(ours: dict[str, bytes], theirs: dict[str, bytes]) -> dict[str, list[str]]:
    common = ours.keys() & theirs.keys()
    return {
        "equal": sorted(p for p in common if ours[p] == theirs[p]),
        "differing": sorted(p for p in common if ours[p] != theirs[p]),
        "missing": sorted(theirs.keys() - ours.keys()),
        "extra": sorted(ours.keys() - theirs.keys()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"components (default: {', '.join(RELEASES)})")
    parser.add_argument("--clones", type=Path, required=True, help="directory of upstream clones, one per component")
    parser.add_argument("--origs", type=Path, default=ROOT / ".releasetool-cache" / "upstream-src",
                        help="directory of the .orig tarballs (scripts/upstream-sources.sh fills it)")
    parser.add_argument("--manifest", type=Path, default=ROOT / "components.yaml")
    parser.add_argument("--verbose", action="store_true", help="list every differing, missing and extra file")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    args = parser.parse_args()
    loaded = manifest.load(args.manifest)
    report = {}
    for name in args.names or list(RELEASES):
        version, tag = RELEASES[name]
        origs = sorted(args.origs.glob(f"{name}_{version}.orig.tar.*"))
        if not origs:
            print(f"{name}: no {name}_{version}.orig.tar.* in {args.origs} (run scripts/upstream-sources.sh)",
                  file=sys.stderr)
            return 2
        comp = loaded.get(name)
        print(f"{name} {version}: {comp.tarball_method} of {tag} ...", file=sys.stderr, flush=True)
        ours, took = our_members(comp, args.clones / name, version, tag)
        result = compare(ours, upstream_members(origs[0]))
        result["differing_generated"] = [p for p in result["differing"] if generated(p)]
        report[name] = {"version": version, "method": comp.tarball_method, "seconds": round(took, 1),
                        "upstream": origs[0].name, **result}
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
        return 0
    print(f"{'component':13} {'version':8} {'method':11} {'equal':>6} {'differing':>9} {'(autotools)':>11} "
          f"{'missing':>7} {'extra':>5} {'time':>7}")
    for name, row in report.items():
        print(f"{name:13} {row['version']:8} {row['method']:11} {len(row['equal']):6} {len(row['differing']):9} "
              f"{len(row['differing_generated']):11} {len(row['missing']):7} {len(row['extra']):5} "
              f"{row['seconds']:6.1f}s")
    if args.verbose:
        for name, row in report.items():
            for kind in ("differing", "missing", "extra"):
                for path in row[kind]:
                    mark = " (autotools)" if kind == "differing" and path in row["differing_generated"] else ""
                    print(f"{name}: {kind}: {path}{mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
