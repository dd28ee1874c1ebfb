"""split: a directory of a monolithic tree as a history of its own."""

from __future__ import annotations

import argparse
import sys

from releasetool.cli import common
from releasetool.log import log

DESCRIPTION = """\
Split a directory out of a repository into a history of its own.

With --repo and --prefix, split one directory: the commit ids are those of
`git subtree split --prefix=DIR REV`, and the last line on stdout is the split
head, as git subtree prints it.  --branch writes it to a branch (fast-forward
only unless --force).

With component names (or --all), use each component's `split:` source from the
manifest: the monolithic repository is cloned or fetched into a cache
directory, its path(s) are split into branch split/NAME there, --tags re-creates
the component's release tags on the split commits, and --push REMOTE pushes the
branch (and tags) to the component's repository.  Several paths into one
component are combined under their target directories.

A map of split commits is kept in the repository's git dir, so re-splitting
after new commits only reads those.

Two runs on the same manifest, cache clone or repository wait for each other
(up to half an hour).  A run killed at any moment is finished by running the
same command again: the git lock files it left behind are removed (only
those: the run marks a repository before each git command that locks refs),
and a half-made cache clone is made again.  A shallow clone is refused: its
split would be another, shorter history.
"""

EPILOG = """\
examples:
  releasetool split --repo ~/src/cluster --prefix fence/agents --branch split/fence-agents
  releasetool split fence-agents --tags --dry-run
  releasetool split --all --tags --push origin

exit status: 0 done, 1 git failed, 2 bad input or a refused ref update.
"""


def register(sub: common.Subcommands) -> None:
    p = common.add_command(sub, "split", help="split directories of a tree into their own history",
                           description=DESCRIPTION, epilog=EPILOG)
    p.add_argument("names", nargs="*", metavar="NAME", help="components whose split source to use")
    p.add_argument("--all", action="store_true", help="every active component with a split source")
    p.add_argument("--repo", metavar="PATH", help="split this repository instead of a component's source")
    p.add_argument("--prefix", metavar="DIR", help="the directory to split (with --repo)")
    p.add_argument("--rev", metavar="REV", default=None,
                   help="the commit to split (default: HEAD, or the split source's branch)")
    p.add_argument("--branch", metavar="NAME", help="create or fast-forward this branch (default for "
                   "components: split/NAME)")
    p.add_argument("--force", action="store_true", help="move --branch even when it is not an ancestor")
    p.add_argument("--annotate", metavar="TEXT", default="", help="prefix every split commit message "
                   "with TEXT (as git subtree --annotate)")
    p.add_argument("--no-cache", action="store_true", help="ignore the saved split map; split from scratch")
    p.add_argument("--tags", action="store_true", help="re-create the component's release tags on the "
                   "split commits")
    p.add_argument("--push", metavar="REMOTE", help="push split/NAME (and tags with --tags) to REMOTE "
                   "(a remote name, URL or path; 'origin' means the component's git URL)")
    p.add_argument("--cache", metavar="DIR", help="where clones of split sources live (default: "
                   "$XDG_CACHE_HOME/releasetool/split or ~/.cache/releasetool/split)")
    p.add_argument("--dry-run", action="store_true", help="say what would be written; write nothing")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.set_defaults(run=run_split)


def run_split(args: argparse.Namespace) -> int:
    from releasetool.errors import SplitError

    if args.repo is not None:
        if args.names or args.all:
            raise SplitError("give either --repo/--prefix or component names, not both",
                             hint="`releasetool split --repo PATH --prefix DIR` or `releasetool split NAME`")
        if not args.prefix:
            raise SplitError("--repo needs --prefix", hint="give the directory to split: --prefix DIR")
        return _split_repo(args)
    if args.prefix:
        raise SplitError("--prefix needs --repo", hint="give the repository: --repo PATH")
    if not args.names and not args.all:
        raise SplitError("nothing to split", hint="give component names, --all, or --repo PATH --prefix DIR")
    return _split_components(args)


def _split_repo(args: argparse.Namespace) -> int:
    from releasetool.split import split_repository

    result = split_repository(args.repo, args.prefix, args.rev or "HEAD", branch=args.branch,
                              force=args.force, annotate=args.annotate, use_cache=not args.no_cache,
                              dry_run=args.dry_run)
    verb = "would write" if args.dry_run else "wrote"
    log.info("split %s at %s: %d commits read, %s %d objects (%s, %.2f s)", args.prefix, result.rev[:12],
             result.commits_read, verb, result.objects_written, result.mode, result.seconds)
    if result.branch_action and result.branch_action != "unchanged":
        action = result.branch_action.capitalize()
        log.info("%s%s branch '%s'", "would be: " if args.dry_run else "", action, result.branch)
    if args.json:
        common.print_json({"rev": result.rev, "head": result.head, "mode": result.mode,
                           "commits_read": result.commits_read, "objects_written": result.objects_written,
                           "branch": result.branch, "branch_action": result.branch_action,
                           "dry_run": args.dry_run})
    else:
        sys.stdout.write(result.head + "\n")
    return 0


def _split_components(args: argparse.Namespace) -> int:
    from releasetool import manifest
    from releasetool.split import components

    loaded = manifest.load(common.manifest_path(args))
    options = components.Options(
        cache_dir=args.cache, push=args.push, tags=args.tags, dry_run=args.dry_run, force=args.force,
        rev=args.rev, use_cache=not args.no_cache, branch=args.branch,
    )
    reports = components.split_components(loaded, args.names, all_=args.all, options=options)
    if args.json:
        common.print_json([r.as_dict() for r in reports])
    else:
        for report in reports:
            if report.head:
                print(f"{report.name} {report.head}")
    return 2 if any(r.problems for r in reports) else 0
