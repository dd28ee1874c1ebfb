"""Options and output helpers shared by every command."""

from __future__ import annotations

import argparse
import functools
import os
import sys

# typing costs ~4 ms to import; the fast commands need it only for annotations.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO, TypeAlias

    # what argparse's add_subparsers() returns; only annotations name it
    Subcommands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

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


@functools.cache
def global_options(*, suppress: bool = True) -> argparse.ArgumentParser:
    """Options accepted before and after the command name (one parent parser, shared)."""
    default = argparse.SUPPRESS if suppress else None
    parent = argparse.ArgumentParser(add_help=False, formatter_class=HelpFormatter)
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


def manifest_path(args: argparse.Namespace) -> str:
    return args.manifest or os.environ.get("RELEASETOOL_MANIFEST") or DEFAULT_MANIFEST


def setup_logging(verbose: int, quiet: bool) -> None:
    from releasetool.log import log

    log.configure(verbose, quiet)


def print_json(data: Any) -> None:
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
