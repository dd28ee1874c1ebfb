"""versions compare | latest | sort | tag: version logic from the command line."""

from __future__ import annotations

import argparse
import sys

from releasetool.cli import common

SCHEMES = ("rpm", "debian", "pep440", "semver")  # as releasetool.versions.SCHEMES, without importing it

SCHEME_HELP = """\
schemes:
  rpm      rpm 4.18 rpmvercmp on [EPOCH:]VERSION[-RELEASE]; '~' sorts before
           everything (2.1.0~rc1 < 2.1.0), '^' after the end (2.1.0^git1 > 2.1.0)
  debian   dpkg on [EPOCH:]UPSTREAM[-REVISION] (deb-version(7)); '~' sorts first
  pep440   Python packaging (PEP 440): 1.0rc1 < 1.0 < 1.0.post1
  semver   Semantic Versioning 2.0.0; build metadata (+...) is ignored
"""

DESCRIPTION = """\
Compare, sort and select versions the way rpm, dpkg, Python packaging or
Semantic Versioning order them, and map tags to versions through a tag pattern.
"""

EPILOG = SCHEME_HELP + """
examples:
  releasetool versions compare --scheme rpm 2.1.0~rc1 2.1.0          # prints <
  releasetool versions latest --scheme rpm --pattern 'Pacemaker-{version}' \\
      Pacemaker-2.1.9 Pacemaker-3.0.0 Pacemaker-3.0.1-rc1              # prints 3.0.0
  git tag | releasetool versions latest --scheme rpm --pattern 'v{version}' -
  releasetool versions sort --scheme debian 1.0 1.0~rc1 1:0.9          # oldest first
  releasetool versions tag --pattern '{name}-{version}' --name booth 1.2
"""


def register(sub: common.Subcommands) -> None:
    parent = common.add_command(
        sub, "versions",
        help="compare, sort and select versions; map tags to versions",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parent.set_defaults(run=lambda args: _usage(parent))
    actions = parent.add_subparsers(dest="versions_action", metavar="ACTION")

    p = common.add_command(
        actions, "compare",
        help="compare two versions: prints <, = or >",
        description="Compare version A with version B under a scheme and print exactly one of\n"
        "'<' (A is older), '=' (equal in precedence) or '>' (A is newer).",
        epilog=SCHEME_HELP + """
examples:
  releasetool versions compare --scheme rpm 2.1.0~rc1 2.1.0        # <
  releasetool versions compare --scheme debian 1:1.0 2.0           # >
  releasetool versions compare --scheme semver 1.0.0+a 1.0.0+b     # =
  [ "$(releasetool versions compare --scheme rpm "$A" "$B")" = '<' ] && echo upgrade

exit status: 0 compared, 2 a version is not valid under the scheme.
""",
    )
    _scheme_option(p)
    p.add_argument("a", metavar="A", help="first version")
    p.add_argument("b", metavar="B", help="second version")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.set_defaults(run=run_compare)

    p = common.add_command(
        actions, "latest",
        help="the latest stable version among tags",
        description="Print the version of the latest release among TAGs: tags that do not match\n"
        "the pattern, whose version does not parse under the scheme (rolling, latest,\n"
        "v2.0-test) and, without --pre, pre-releases (rc, alpha, beta, pre, dev, a1,\n"
        "b2; ~rc1, -rc1, .rc1, _rc1) are left out.  For rpm and debian an upstream\n"
        "pre-release spelled 2.1.0-rc1 or 4.15.0rc1 is ordered as 2.1.0~rc1.",
        epilog=SCHEME_HELP + """
examples:
  releasetool versions latest --scheme rpm --pattern 'Pacemaker-{version}' \\
      Pacemaker-2.1.9 Pacemaker-3.0.0 Pacemaker-3.0.1-rc1            # 3.0.0
  releasetool versions latest --pre --scheme rpm --pattern 'Pacemaker-{version}' \\
      Pacemaker-2.1.9 Pacemaker-3.0.0 Pacemaker-3.0.1-rc1            # 3.0.1-rc1
  git -C corosync tag | releasetool versions latest --scheme rpm --pattern 'v{version}' -
  releasetool versions latest --component corosync --repo ../corosync   # scheme and pattern from the manifest
  git ls-remote --tags --refs URL | sed 's,.*refs/tags/,,' | releasetool versions latest ... -

exit status: 0 found, 1 no tag matched, 2 bad pattern, scheme, component or repository.
""",
    )
    _scheme_option(p, required=False)
    _pattern_options(p, required=False)
    p.add_argument("-c", "--component", metavar="NAME",
                   help="take the scheme, tag pattern and name from this component of the manifest")
    p.add_argument("--repo", metavar="PATH", help="also read the tags of this git repository")
    p.add_argument("--pre", action="store_true", help="include pre-releases")
    p.add_argument("--tag", action="store_true", help="print the tag instead of its version")
    p.add_argument("--json", action="store_true",
                   help="print the choice, every candidate and every ignored tag with the reason as JSON")
    p.add_argument("tags", metavar="TAG", nargs="*", help="tag names; '-' reads more, one a line, from stdin")
    p.set_defaults(run=run_latest)

    p = common.add_command(
        actions, "sort",
        help="sort versions, oldest first",
        description="Print the VERSIONs one a line, oldest first (newest first with --reverse).\n"
        "Equal versions keep their order.",
        epilog=SCHEME_HELP + """
examples:
  releasetool versions sort --scheme rpm 2.1.0 2.1.0~rc1 2.1.0^git1 1:1.0
  releasetool versions sort --scheme pep440 --reverse 0.12.0 0.11.9 0.12.0a1

exit status: 0 sorted, 2 a version is not valid under the scheme.
""",
    )
    _scheme_option(p)
    p.add_argument("-r", "--reverse", action="store_true", help="newest first")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument("versions", metavar="VERSION", nargs="+", help="versions; '-' reads more from stdin")
    p.set_defaults(run=run_sort)

    p = common.add_command(
        actions, "tag",
        help="the tag name of a version under a tag pattern",
        description="Print the git tag a VERSION gets under a tag pattern, refusing names git\n"
        "cannot store (a '~' from 2.1.0~rc1, '..', a trailing '.').",
        epilog="""examples:
  releasetool versions tag --pattern 'Pacemaker-{version}' 3.0.0     # Pacemaker-3.0.0
  releasetool versions tag --pattern '{name}-{version}' --name booth 1.2

exit status: 0 printed, 2 the version cannot form a tag.
""",
    )
    _pattern_options(p)
    p.add_argument("version", metavar="VERSION", help="the version")
    p.set_defaults(run=run_tag)


def _scheme_option(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    p.add_argument("-s", "--scheme", required=required, choices=SCHEMES, metavar="SCHEME",
                   help="version scheme: rpm, debian, pep440 or semver (see below)")


def _pattern_options(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    p.add_argument("-p", "--pattern", required=required,
                   help="tag pattern with {version} once and optionally {name}, e.g. 'v{version}'")
    p.add_argument("--name", help="component name, for patterns using {name}")


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _with_stdin(items: list[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item == "-":
            out.extend(line.strip() for line in sys.stdin if line.strip())
        else:
            out.append(item)
    return out


def run_compare(args: argparse.Namespace) -> int:
    from releasetool import versions

    order = versions.compare(args.scheme, args.a, args.b)
    symbol = "<=>"[order + 1]
    if args.json:
        common.print_json({"scheme": args.scheme, "a": args.a, "b": args.b, "result": symbol, "order": order})
    else:
        print(symbol)
    return 0


def run_latest(args: argparse.Namespace) -> int:
    from releasetool import versions
    from releasetool.errors import VersionError

    scheme, pattern, name = args.scheme, args.pattern, args.name
    if args.component:
        from releasetool import manifest

        comp = manifest.load(common.manifest_path(args)).get(args.component)
        scheme, pattern, name = scheme or comp.version_scheme, pattern or comp.tag_pattern, name or comp.name
    if not scheme or not pattern:
        raise VersionError("versions latest needs --scheme and --pattern, or --component",
                           hint="e.g. --scheme rpm --pattern 'v{version}', or --component corosync")
    tags = _with_stdin(args.tags)
    if args.repo:
        tags += versions.repository_tags(args.repo)
    elif not args.tags:
        raise VersionError("versions latest needs tags: TAG arguments, '-' to read them from stdin, or --repo PATH",
                           hint="e.g. git tag | releasetool versions latest ... -")
    scan = versions.scan_tags(scheme, pattern, tags, name=name)
    candidates = [tv for tv in scan.versions if args.pre or not tv.prerelease]
    chosen = candidates[-1] if candidates else None
    if args.json:
        common.print_json({
            "scheme": scheme,
            "pattern": pattern,
            "stable_only": not args.pre,
            "latest": chosen.__dict__ if chosen else None,
            "candidates": [tv.__dict__ for tv in scan.versions],
            "ignored": [{"tag": tag, "reason": why} for tag, why in scan.ignored],
        })
    if chosen is None:
        kind = "version" if args.pre else "stable version"
        count = len(tags)
        print(f"error: no {kind} among {count} tag{'s' if count != 1 else ''} matching {pattern!r}"
              f" under the {scheme} scheme", file=sys.stderr)
        pres = len(scan.versions)
        hint = (f"{pres} pre-release{'s' if pres != 1 else ''} matched: pass --pre to include them" if pres
                else "check the pattern against `git tag` (-v lists every ignored tag with the reason)")
        print(f"hint: {hint}", file=sys.stderr)
        return 1
    if not args.json:
        print(chosen.tag if args.tag else chosen.version)
    return 0


def run_sort(args: argparse.Namespace) -> int:
    from releasetool import versions

    items = _with_stdin(args.versions)
    ordered = sorted(items, key=versions.sort_key(args.scheme), reverse=args.reverse)
    if args.json:
        common.print_json(ordered)
    else:
        for item in ordered:
            print(item)
    return 0


def run_tag(args: argparse.Namespace) -> int:
    from releasetool import versions

    print(versions.version_to_tag(args.pattern, args.version, args.name))
    return 0
