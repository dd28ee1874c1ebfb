"""The command line: parse arguments, call one library function, print.

Only argparse and the command modules (which import nothing heavy at module
level) are loaded to build the parser, so ``--help`` and the fast commands start
quickly.  Every :class:`ReleasetoolError` becomes ``error: ...`` (and
``hint: ...``) on stderr with its exit status; a traceback is shown only with
``--debug``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from releasetool import __version__
from releasetool.cli import common
from releasetool.errors import ReleasetoolError

COMMAND_MODULES = (
    "manifest_cmds",
    "versions_cmd",
    "split_cmd",
    "release_cmds",
    "render_cmd",
    "obs_cmds",
    "site_cmds",
    "demo_cmd",
)

DESCRIPTION = """\
Build and release toolkit of the ClusterLabs community distribution.

One manifest, components.yaml, drives every stage: split monolithic trees into
component repositories, cut releases with reproducible tarballs, render .spec and
debian/ packaging, submit to the openSUSE Build Service, and publish the page of
latest versions.
"""

EPILOG = """\
exit status: 0 success, 1 a tool or service failed, 2 bad input or a refused operation.
Run `releasetool COMMAND --help` for the options of one command.
"""


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="releasetool",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common.global_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"releasetool {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"releasetool.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"releasetool.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    common.setup_logging(args.verbose, args.quiet)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args) or 0)
    except ReleasetoolError as exc:
        if args.debug:
            logging.getLogger("releasetool").exception("debug traceback")
        for i, line in enumerate(exc.lines()):
            print(f"error: {line}" if i == 0 or len(exc.lines()) == 1 else line, file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted; re-run the same command to finish the work", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:
        if args.debug:
            raise
        print(f"error: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("hint: re-run with --debug for the traceback and report it", file=sys.stderr)
        return 1
