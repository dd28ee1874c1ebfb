"""release, train, bundle, lint-init: cutting releases and the download area."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from releasetool.cli import common
from releasetool.log import log

if TYPE_CHECKING:
    from releasetool.release.plan import ReleaseOptions, ReleaseResult

RELEASE_DESCRIPTION = """\
Cut a release of one component from the clone at --repo (default: the current
directory), in this order, after every check has passed:

  1. annotated tag by the component's tag_pattern (GPG-signed with --sign)
  2. reproducible NAME-VERSION.tar.gz (and .tar.xz when tarball_formats asks)
     from the tagged commit, release notes, SHA256SUMS, .asc signatures (--sign)
  3. the release history (history/NAME.json, read by `render` for changelogs)
  4. components.yaml: version and released date (every other byte unchanged)
  5. with --push REMOTE only: one `git push --atomic REMOTE TAG BRANCH`

Checks, all reported at once before anything is written: VERSION parses and
is greater than the latest release tag; the manifest agrees with the tags; the
tag is free or already on HEAD; tracked files have no uncommitted changes; the
init scripts pass `lint-init`; with --sign a secret key exists; with --push
the remote exists and HEAD is on a branch.
"""

RELEASE_EPILOG = """\
Files go to OUT/NAME-VERSION/ (OUT: --out, default dist/ beside the manifest).
An interrupted release is finished by running the same command again; a
release already complete is left as it is (exit 0). The journal is
GIT_DIR/releasetool/release-NAME.journal.

exit status: 0 released (or nothing to do), 1 a tool failed, 2 a check failed.
"""

TRAIN_EPILOG = """\
TRAIN.yaml:
  releases:            # required: component -> version
    libqb: 2.0.9
    corosync: 3.1.9
  repos:               # optional: component -> clone path, relative to the
    libqb: ../libqb    #   train file (default: NAME beside the train file)
  out: dist            # optional: base of the NAME-VERSION/ directories

Every check of every component runs first; nothing is written unless all
pass. Components are released in dependency order; with --push, the pushes
happen once every component's local steps are done. Run the same command
again to finish an interrupted train.

exit status: 0 released (or nothing to do), 1 a tool failed, 2 a check failed.
"""


def register(sub: common.Subcommands) -> None:
    p = common.add_command(sub, "release", help="cut a release: tag, tarballs, checksums, history, manifest",
                           description=RELEASE_DESCRIPTION, epilog=RELEASE_EPILOG)
    p.add_argument("name", metavar="NAME", help="component name")
    p.add_argument("version", metavar="VERSION", help="the version to release")
    _release_options(p)
    p.add_argument("--notes", metavar="FILE",
                   help="the release notes as written in FILE ('-': standard input) instead of the generated "
                        "ones; its '  - ' lines become the changelog entries")
    p.add_argument("--edit", action="store_true",
                   help="open $VISUAL or $EDITOR on the notes (generated, or from --notes) before tagging")
    p.set_defaults(run=run_release)

    p = common.add_command(sub, "train", help="release several components together, in dependency order",
                           description="A coordinated release of the components named in TRAIN.yaml.",
                           epilog=TRAIN_EPILOG)
    p.add_argument("train", metavar="TRAIN.yaml", help="the train file")
    _release_options(p, repo=False)
    p.set_defaults(run=run_train)

    p = common.add_command(
        sub, "bundle", help="fill the download area with every component's latest release",
        description="Copy every active component's latest release (the manifest's version) from the\n"
        "release directories into one download area, with a combined SHA256SUMS, index.json\n"
        "and index.html, and each release's notes. Tarballs whose checksum does not match, or\n"
        "with a member that would escape the unpack directory, are refused. Unchanged files are\n"
        "not rewritten.\n\n"
        "A component released upstream (not with `releasetool release`) comes from upstream's\n"
        "published tarball: the manifest's tarball URL of its version, from --upstream-dir DIR\n"
        "or downloaded with --fetch, accepted only when it matches the manifest's tarball_sha256.\n"
        "A component with no release at all is an error unless --allow-missing.",
        epilog="exit status: 0 done, 1 a tool failed, 2 refused input.",
    )
    p.add_argument("--from", dest="source", metavar="DIR", type=Path,
                   help="where the NAME-VERSION/ release directories are (default: dist/ beside the manifest)")
    p.add_argument("--out", metavar="DIR", type=Path, help="the download area (default: downloads/ beside the manifest); a symlink is followed)")
    p.add_argument("--upstream-dir", metavar="DIR", type=Path,
                   help="upstream's published tarballs, named as in the manifest's tarball URL: used for the "
                        "components with no release in --from, when they match the manifest's tarball_sha256")
    p.add_argument("--fetch", action="store_true",
                   help="download those upstream tarballs from the manifest's tarball URL (checked the same way)")
    p.add_argument("--allow-missing", action="store_true",
                   help="make the area even when some components have no release (they are listed in the index)")
    p.add_argument("--dry-run", action="store_true", help="say what would be written; write nothing")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.set_defaults(run=run_bundle)

    p = common.add_command(
        sub, "lint-init", help="check init scripts for LSB headers and actions",
        description="Check init scripts: an LSB '### BEGIN INIT INFO' block with Provides, Required-Start,\n"
        "Required-Stop, Default-Start, Default-Stop and Short-Description, and a case statement\n"
        "handling start, stop, restart, force-reload and status. Findings are printed as\n"
        "FILE:LINE: message. A directory means every file in it.",
        epilog="exit status: 0 clean, 2 findings.",
    )
    p.add_argument("paths", metavar="PATH", nargs="+", help="init scripts or directories of them")
    p.add_argument("--json", action="store_true", help="print the findings as JSON on stdout")
    p.set_defaults(run=run_lint_init)


def _release_options(p: argparse.ArgumentParser, *, repo: bool = True) -> None:
    if repo:
        p.add_argument("--repo", metavar="PATH", type=Path, default=Path("."),
                       help="the component's git clone (default: the current directory)")
    p.add_argument("--sign", action="store_true", help="GPG-sign the tag and the tarballs")
    p.add_argument("--key", metavar="ID",
                   help="the GPG key to sign the tag and the tarballs with (default: what `git tag -s` uses: "
                        "git's user.signingKey, else the committer identity 'NAME <EMAIL>'; never gpg's default key)")
    p.add_argument("--push", metavar="REMOTE", help="push the tag and the branch to REMOTE in one atomic push")
    p.add_argument("--packager", metavar="'NAME <MAIL>'",
                   help="the changelog identity (default: git's user.name and user.email)")
    default_out = "dist/ beside the manifest" if repo else "the train file's out, else dist/ beside the manifest"
    p.add_argument("--out", metavar="DIR", type=Path, help=f"base directory of NAME-VERSION/ (default: {default_out}; a symlink is followed)")
    p.add_argument("--no-lint", action="store_true", help="do not stop on init-script findings")
    p.add_argument("--force", action="store_true",
                   help="release even when VERSION is not greater than the latest release, the manifest "
                   "disagrees with the tags or the tree states another version (each override is recorded "
                   "in that component's tag message)")
    p.add_argument("--dry-run", action="store_true", help="print exactly the plan; write nothing")
    p.add_argument("--json", action="store_true", help="print the plan or the result as JSON on stdout")


def _options(args: argparse.Namespace) -> ReleaseOptions:
    from releasetool.release.cut import ReleaseOptions

    return ReleaseOptions(
        repo=getattr(args, "repo", Path(".")),
        sign=args.sign or bool(args.key),
        key=args.key,
        push=args.push,
        force=getattr(args, "force", False),
        packager=args.packager,
        out=args.out,
        lint=not args.no_lint,
    )


def run_release(args: argparse.Namespace) -> int:
    import dataclasses

    from releasetool.release import cut

    options = _options(args)
    manifest_path = common.manifest_path(args)
    if args.notes is not None:
        options = dataclasses.replace(options, notes_text=_read_notes(args.notes))
    if args.edit:
        generated = cut.plan_release(manifest_path, args.name, args.version, options)
        written = _edit(generated.notes.text(args.name, args.version))
        options = dataclasses.replace(options, notes_text=written)
    if args.dry_run:
        plan = cut.plan_release(manifest_path, args.name, args.version, options)
        if args.json:
            common.print_json(plan.to_json())
        else:
            sys.stdout.write(plan.describe())
        return 0
    _report(cut.cut_release(manifest_path, args.name, args.version, options), args.json)
    return 0


def _read_notes(path: str) -> str:
    from releasetool.errors import ReleaseError

    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReleaseError(f"--notes {path}: cannot read: {exc}", hint="pass a UTF-8 text file") from None


def _edit(text: str) -> str:
    """The notes after the release manager's editor ($VISUAL, $EDITOR, else vi) saved them."""
    import os
    import shlex
    import subprocess
    import tempfile

    from releasetool.errors import ReleaseError
    from releasetool.release.notes import COMMENT_HELP

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory(prefix="releasetool-notes-") as scratch:
        path = Path(scratch) / "RELEASE_NOTES"
        path.write_text(text + "\n" + COMMENT_HELP, encoding="utf-8")
        try:
            # the editor is the user's own program with the terminal: not a tool run for output
            done = subprocess.run([*shlex.split(editor), str(path)], check=False)
        except FileNotFoundError:
            raise ReleaseError(f"editor {editor!r} not found", hint="set VISUAL or EDITOR") from None
        if done.returncode != 0:
            raise ReleaseError(f"the editor {editor!r} exited with status {done.returncode}; nothing was written")
        return path.read_text(encoding="utf-8")


def _report(result: ReleaseResult, as_json: bool) -> None:
    plan = result.plan
    if as_json:
        common.print_json(result.to_json())
    elif result.nothing_to_do:
        log.info("%s %s is already released (tag %s); nothing to do", plan.name, plan.version, plan.tag)
    else:
        log.info("released %s %s: tag %s, files in %s", plan.name, plan.version, plan.tag, plan.out_dir)


def run_train(args: argparse.Namespace) -> int:
    from releasetool.release import train

    loaded = train.load_train(args.train)
    manifest_path = common.manifest_path(args)
    if args.dry_run:
        plans = train.plan_train(manifest_path, loaded, _options(args))
        if args.json:
            common.print_json([p.to_json() for p in plans])
        else:
            sys.stdout.write("\n".join(p.describe() for p in plans))
        return 0
    results = train.release_train(manifest_path, loaded, _options(args))
    if args.json:
        common.print_json(train.summary(results))
        return 0
    for result in results:
        _report(result, False)
    return 0


def run_bundle(args: argparse.Namespace) -> int:
    from releasetool.release import bundle

    out = common.output_dir(args.out) if args.out else None
    result = bundle.build_bundle(common.manifest_path(args), source=args.source, out=out, dry_run=args.dry_run,
                                 upstream_dir=args.upstream_dir, fetch=args.fetch, allow_missing=args.allow_missing)
    if args.json:
        common.print_json(result.to_json())
        return 0
    verb = "would write" if args.dry_run else "wrote"
    log.info("%s: %d components, %s %d files, %d unchanged, %d removed", result.out, len(result.entries), verb,
             len(result.written), len(result.unchanged), len(result.removed))
    if not result.written and not result.removed:
        log.info("download area is up to date; nothing to do")
    return 0


def run_lint_init(args: argparse.Namespace) -> int:
    from releasetool.errors import LintError
    from releasetool.release import lint_init

    findings = lint_init.lint_paths(args.paths)
    if args.json:
        common.print_json([{"file": f.file, "line": f.line, "message": f.message} for f in findings])
    else:
        for finding in findings:
            print(finding)
    if findings:
        files = len({f.file for f in findings})
        raise LintError(f"{len(findings)} finding{'s' if len(findings) != 1 else ''} in {files} "
                        f"init script{'s' if files != 1 else ''}",
                        hint="LSB init scripts need the INIT INFO header and the five actions; see `lint-init --help`")
    return 0
