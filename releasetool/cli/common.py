"""Options and output helpers shared by every command."""

from __future__ import annotations

import argparse
import functools
import os
import sys

# typing costs ~4 ms to import; the fast commands need it only for annotations.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import NoReturn, TextIO, TypeAlias

    # what argparse's add_subparsers() returns; only annotations name it
    Subcommands: TypeAlias = "argparse._SubParsersAction[Parser] | argparse._SubParsersAction[argparse.ArgumentParser]"

DEFAULT_MANIFEST = "components.yaml"


@functools.cache
def terminal_width() -> int:
    """The columns argparse would use (``shutil.get_terminal_size()`` less 2).

    Computed here because argparse makes a help formatter for every option it
    adds, and each one imports shutil (with bz2 and lzma) to ask.
    """
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return (columns or 80) - 2


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs kept as written, at the terminal's width."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, terminal_width() if width is None else width)


class Parser(argparse.ArgumentParser):
    """argparse's parser, with the project's error format and a did-you-mean hint.

    ``argv`` (set by :func:`releasetool.cli.main`) lets a hint for a misspelled
    option look only at the options of the command being run.
    """

    argv: list[str] | None = None

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        hint = suggestion(self, message)
        if hint:
            print(f"hint: {hint}", file=sys.stderr)
        sys.exit(2)


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommand parsers of ``parser`` by name (empty when it has none)."""
    for action in parser._actions:  # argparse keeps its actions only in this attribute
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def command_path(parser: argparse.ArgumentParser, argv: list[str]) -> list[tuple[str, argparse.ArgumentParser]]:
    """The chain of (name, parser) that the words of ``argv`` select, from the top parser down."""
    chain = [(parser.prog, parser)]
    for word in argv:
        if word.startswith("-"):
            continue
        inner = subcommands(chain[-1][1]).get(word)
        if inner is not None:
            chain.append((word, inner))
    return chain


def closest(word: str, candidates: list[str]) -> str | None:
    """The candidate ``word`` most likely meant: a unique prefix, else the nearest spelling."""
    import difflib

    starting = [c for c in candidates if c.startswith(word)]
    if len(starting) == 1:
        return starting[0]
    found = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return found[0] if found else None


def suggestion(parser: argparse.ArgumentParser, message: str) -> str | None:
    """A did-you-mean hint for an argparse error message, or None."""
    import re

    choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if choice:
        meant = closest(choice.group(1), re.findall(r"'([^']*)'", choice.group(2)))
        return f"did you mean '{meant}'?" if meant else None
    unknown = re.search(r"unrecognized arguments: (.*)", message)
    if unknown:
        top = getattr(parser, "argv", None)
        deepest = command_path(parser, top)[-1][1] if top is not None else parser
        options = [s for a in deepest._actions for s in a.option_strings]
        for word in unknown.group(1).split():
            if word.startswith("--"):
                meant = closest(word.split("=", 1)[0], options)
                if meant:
                    return f"did you mean '{meant}'?"
    return None


@functools.cache
def global_options(*, suppress: bool = True) -> Parser:
    """Options accepted before and after the command name (one parent parser, shared)."""
    default = argparse.SUPPRESS if suppress else None
    parent = Parser(add_help=False, formatter_class=HelpFormatter)
    group = parent.add_argument_group("global options")
    group.add_argument(
        "--manifest",
        metavar="FILE",
        default=default,
        help="the manifest to read (default: $RELEASETOOL_MANIFEST or ./components.yaml)",
    )
    group.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS if suppress else 0,
        help="show each step and every command run",
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS if suppress else False,
        help="print only warnings and errors",
    )
    group.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS if suppress else False,
        help="show a traceback for every error",
    )
    return parent


def add_command(
    sub: Subcommands,
    name: str,
    *,
    help: str,
    description: str,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand parser carrying the global options and man-page style help."""
    return sub.add_parser(
        name,
        help=help,
        description=description,
        epilog=epilog,
        formatter_class=HelpFormatter,
        parents=[global_options()],
    )


def output_dir(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """The directory a command writes to, checked before anything is written (a UsageError if unusable).

    A symlink is followed (the files land in the directory it points at and
    the link stays), the same for every command.
    """
    from pathlib import Path

    from releasetool.errors import UsageError
    from releasetool.fsutil import output_dir_problem

    problem = output_dir_problem(path)
    if problem is not None:
        raise UsageError(f"{option} {os.fspath(path)}: {problem}",
                         hint="give a directory, or a path where one can be made")
    return Path(path).resolve() if os.path.islink(path) else Path(path)


def manifest_path(args: argparse.Namespace) -> str:
    return args.manifest or os.environ.get("RELEASETOOL_MANIFEST") or DEFAULT_MANIFEST


def setup_logging(verbose: int, quiet: bool) -> None:
    from releasetool.log import log

    log.configure(verbose, quiet)


def print_json(data: object) -> None:
    import json

    json.dump(data, sys.stdout, indent=2, sort_keys=False, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def print_table(headers: list[str], rows: list[list[str]], *, file: TextIO | None = None) -> None:
    """A plain aligned table, for people (stdout unless ``file`` is given)."""
    out = file or sys.stdout
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(str(c))) for w, c in zip(widths, row, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    print(fmt.format(*headers).rstrip(), file=out)
    for row in rows:
        print(fmt.format(*[str(c) for c in row]).rstrip(), file=out)
