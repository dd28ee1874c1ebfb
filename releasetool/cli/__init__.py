"""The command line: parse arguments, call one library function, print.

Only argparse and the command modules (which import nothing heavy at module
level) are loaded to build the parser, so ``--help`` and the fast commands start
quickly.  Every :class:`ReleasetoolError` becomes ``error: ...`` (and
``hint: ...``) on stderr with its exit status; a traceback is shown only with
``--debug``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from releasetool import __version__
from releasetool.cli import common
from releasetool.errors import ReleasetoolError
from releasetool.log import log

# Each top-level command and the module that registers it.  ``main`` builds
# only the parser of the command it is given (a split or a validate should not
# pay for building every other command's options); ``--help`` builds them all.
COMMANDS = {
    "validate": "manifest_cmds",
    "list": "manifest_cmds",
    "show": "manifest_cmds",
    "versions": "versions_cmd",
    "split": "split_cmd",
    "release": "release_cmds",
    "train": "release_cmds",
    "bundle": "release_cmds",
    "lint-init": "release_cmds",
    "render": "render_cmd",
    "build": "build_cmd",
    "obs": "obs_cmds",
    "site": "site_cmds",
    "demo": "demo_cmd",
}
# ``help [COMMAND...]`` is registered here: it needs every parser.
COMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))
# global options that take a value (to find the command name after them)
_VALUED_GLOBALS = ("--manifest",)

DESCRIPTION = """\
Build and release toolkit of the ClusterLabs community distribution.

One manifest, components.yaml, drives every stage: split monolithic trees into
component repositories, cut releases with reproducible tarballs, render .spec and
debian/ packaging, submit to the openSUSE Build Service, and publish the page of
latest versions.
"""

EPILOG = """\
exit status: 0 success, 1 a tool or service failed, 2 bad input or a refused operation.
Run `releasetool help COMMAND` (or `releasetool COMMAND --help`) for the options of one command;
`man releasetool` has them all.
"""


def build_parser(command: str | None = None) -> common.Parser:
    """The parser of every command, or only of ``command`` (and its siblings in one module)."""
    import importlib

    parser = common.Parser(
        prog="releasetool",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=common.HelpFormatter,
        parents=[common.global_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"releasetool {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = (COMMANDS[command],) if command in COMMANDS else COMMAND_MODULES
    for name in modules:
        try:
            module = importlib.import_module(f"releasetool.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"releasetool.cli.{name}":
                continue
            raise
        module.register(sub)
    helper = common.add_command(sub, "help", help="show the help of a command",
                                description="Show the help of releasetool or of one of its commands, as `--help` would.",
                                epilog="examples:\n  releasetool help\n  releasetool help obs submit\n")
    helper.add_argument("topic", nargs="*", metavar="COMMAND", help="a command and its subcommands")
    helper.set_defaults(run=run_help)
    return parser


def run_help(args: argparse.Namespace) -> int:
    """``releasetool help [COMMAND [SUBCOMMAND]]``: that command's --help, on stdout."""
    topic = list(args.topic)
    parser = build_parser(topic[0] if topic else None)
    chain = common.command_path(parser, topic)
    named = [name for name, _ in chain[1:]]
    if len(named) < len(topic):
        known = sorted(common.subcommands(chain[-1][1]))
        wrong = topic[len(named)]
        meant = common.closest(wrong, known)
        from releasetool.errors import UsageError

        raise UsageError(f"no command {' '.join([*named, wrong])!r}",
                         hint=f"did you mean '{meant}'?" if meant else f"commands: {', '.join(known)}")
    chain[-1][1].print_help(sys.stdout)
    return 0


def _command_of(argv: list[str]) -> str | None:
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _VALUED_GLOBALS:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_of(arguments))
    parser.argv = arguments
    args = parser.parse_args(arguments)
    common.setup_logging(args.verbose, args.quiet)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args) or 0)
    except ReleasetoolError as exc:
        if args.debug:
            log.exception("debug traceback")
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
