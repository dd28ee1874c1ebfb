"""The manual page and the bash and zsh completions, generated from the argparse definitions.

The build runs :func:`write_all` (see ``setup.py``), so the installed
``releasetool.1``, bash completion and zsh completion always describe the
commands of the code they were built with.  Everything here reads the parser
tree that :func:`releasetool.cli.build_parser` makes: commands, subcommands,
options, their metavars and help texts.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field
from pathlib import Path

from releasetool import __version__
from releasetool.cli import common

# Options whose value is a path: the completions offer files (or directories) for them.
FILE_METAVARS = ("FILE", "OSCRC", "PATH", "TRAIN", "PLAN")
DIR_METAVARS = ("DIR",)

ENVIRONMENT = (
    ("RELEASETOOL_MANIFEST", "the manifest to read when --manifest is not given (default: ./components.yaml)."),
    ("RELEASETOOL_TEMPLATES", "a template directory searched before the built-in packaging templates."),
    ("RELEASETOOL_CACHE_DIR", "where validated manifests are cached (default: $XDG_CACHE_HOME/releasetool)."),
    ("SOURCE_DATE_EPOCH", "the time stamp of release tarballs and generated files, for reproducible builds."),
)


@dataclass
class Option:
    flags: list[str]
    metavar: str | None
    help: str
    choices: list[str] = field(default_factory=list)


@dataclass
class Command:
    """One command of the tree: its words (``["obs", "submit"]``), texts, options and subcommands."""

    words: list[str]
    summary: str
    usage: str
    description: str
    epilog: str
    options: list[Option]
    positionals: list[Option]
    subcommands: list[Command]


def _options(parser: argparse.ArgumentParser) -> tuple[list[Option], list[Option]]:
    options: list[Option] = []
    positionals: list[Option] = []
    for action in parser._actions:  # argparse keeps its actions only in this attribute
        if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
            continue
        metavar = action.metavar if isinstance(action.metavar, str) else None
        if metavar is None and action.nargs != 0 and action.option_strings:
            metavar = action.dest.upper()
        choices = [str(c) for c in action.choices] if action.choices else []
        entry = Option(list(action.option_strings), metavar if action.nargs != 0 else None,
                       action.help or "", choices)
        (options if action.option_strings else positionals).append(entry)
    return options, positionals


def command_tree(parser: argparse.ArgumentParser, words: list[str] | None = None, summary: str = "") -> Command:
    """The command tree under ``parser``."""
    words = words or []
    options, positionals = _options(parser)
    summaries: dict[str, str] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            summaries = {choice.dest: choice.help or "" for choice in action._choices_actions}
    subs = [command_tree(sub, [*words, name], summaries.get(name, ""))
            for name, sub in common.subcommands(parser).items()]
    usage = parser.format_usage().removeprefix("usage: ").strip()
    return Command(words, summary, re.sub(r"\s+", " ", usage), parser.description or "", parser.epilog or "",
                   options, positionals, subs)


def walk(command: Command) -> list[Command]:
    """The command and every command under it, depth first."""
    return [command, *(c for sub in command.subcommands for c in walk(sub))]


# --- the manual page ----------------------------------------------------------------------------


def _roff(text: str) -> str:
    """Text safe in a roff line: backslashes escaped, hyphens literal, no line starting with a control character."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(f"\\&{line}" if line.startswith((".", "'")) else line for line in text.split("\n"))


def _paragraphs(text: str) -> str:
    """A description as written (it is laid out for a terminal): kept verbatim in a no-fill block."""
    text = text.strip("\n")
    if not text:
        return ""
    return ".nf\n" + _roff(text) + "\n.fi\n"


def _option_item(option: Option) -> str:
    flags = ", ".join(f"\\fB{_roff(f)}\\fR" for f in option.flags) or f"\\fI{_roff(option.metavar or '')}\\fR"
    if option.flags and option.metavar:
        flags += f" \\fI{_roff(option.metavar)}\\fR"
    text = option.help.replace("%(default)s", "").replace("%%", "%")
    return f".TP\n{flags}\n{_roff(text)}\n"


def man_page(parser: argparse.ArgumentParser, *, date: str) -> str:
    """``releasetool.1`` in the man(7) macros."""
    tree = command_tree(parser)
    out = [
        f'.TH RELEASETOOL 1 "{date}" "releasetool {__version__}" "User Commands"\n',
        ".SH NAME\nreleasetool \\- build and release toolkit of the ClusterLabs community distribution\n",
        ".SH SYNOPSIS\n.B releasetool\n[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGUMENTS\\fR]\n",
        ".SH DESCRIPTION\n", _paragraphs(tree.description),
        ".SH GLOBAL OPTIONS\nAccepted before and after the command name.\n",
        *(_option_item(o) for o in tree.options),
        ".SH COMMANDS\n",
    ]
    # the global options and --help come with every command: described once above
    shared = {tuple(o.flags) for o in tree.options}
    for command in walk(tree)[1:]:
        name = " ".join(command.words)
        out.append(f".SS {_roff(name)}\n")
        if command.summary:
            out.append(f"{_roff(command.summary[:1].upper() + command.summary[1:])}.\n.PP\n")
        out.append(f".nf\n\\fBusage:\\fR {_roff(command.usage)}\n.fi\n.PP\n")
        out.append(_paragraphs(command.description))
        if command.subcommands:
            out.append(".PP\nSubcommands: " + ", ".join(f"\\fB{_roff(s.words[-1])}\\fR"
                                                       for s in command.subcommands) + ".\n")
        own = [o for o in command.options if tuple(o.flags) not in shared]
        for option in [*command.positionals, *own]:
            out.append(_option_item(option))
        if command.epilog:
            out.append(".PP\n" + _paragraphs(command.epilog))
    out.append(".SH EXIT STATUS\n0 on success; 1 when a tool or a service failed; 2 for bad input or a refused"
               " operation (one line `error:' with what and where, usually a line `hint:' with how to fix it).\n")
    out.append(".SH ENVIRONMENT\n")
    for name, text in ENVIRONMENT:
        out.append(f".TP\n\\fB{name}\\fR\n{_roff(text)}\n")
    out.append(".SH FILES\n.TP\n\\fBcomponents.yaml\\fR\nThe manifest of components; every command reads it.\n"
               ".TP\n\\fBhistory/\\fINAME\\fB.json\\fR\nThe release history of a component, beside the manifest.\n")
    out.append(".SH SEE ALSO\n\\fBgit\\fR(1), \\fBrpmbuild\\fR(8), \\fBdpkg\\-buildpackage\\fR(1), \\fBosc\\fR(1)\n")
    return "".join(out)


# --- completions ---------------------------------------------------------------------------------


def _value_kind(option: Option) -> str:
    """What an option's value is completed with: choices, files, directories, or nothing."""
    if option.choices:
        return "choices"
    if option.metavar in DIR_METAVARS:
        return "dirs"
    if option.metavar and any(m in option.metavar for m in FILE_METAVARS):
        return "files"
    return "none" if option.metavar is None else "any"


def option_values(tree: Command) -> list[tuple[str, list[str], str]]:
    """(command path, option flags, value description) for every option that takes a value.

    The description is what both completion scripts print for it: ``choices A B``,
    ``files``, ``dirs`` or ``any`` (each followed by a space, as the scripts match prefixes).
    """
    found = []
    for command in walk(tree):
        for option in command.options:
            kind = _value_kind(option)
            if kind != "none":
                what = " ".join(option.choices) if kind == "choices" else ""
                found.append((" ".join(command.words), option.flags, f"{kind} {what}"))
    return found


def bash_completion(parser: argparse.ArgumentParser) -> str:
    """A bash completion script (``complete -F``) for every command, subcommand and option."""
    tree = command_tree(parser)
    words_cases = []
    for command in walk(tree):
        key = " ".join(command.words)
        words = [s.words[-1] for s in command.subcommands]
        words += [f for o in command.options for f in o.flags]
        for positional in command.positionals:
            words += positional.choices
        words_cases.append(f'        "{key}") echo "{" ".join(words)}" ;;')
    value_cases = []
    for key, flags, value in option_values(tree):
        pattern = "|".join(f'"{key}:{flag}"' for flag in flags)
        value_cases.append(f'        {pattern}) echo "{value}" ;;')
    return f"""# bash completion for releasetool {__version__} (generated from its argparse definitions)

# The words offered after the command path $1 ("" for the top level, "obs submit"...).
_releasetool_words() {{
    case "$1" in
{chr(10).join(words_cases)}
    esac
}}

# What the value of option $2 of command path $1 is: "choices A B", "files", "dirs", "any"; nothing for a flag.
_releasetool_value() {{
    case "$1:$2" in
{chr(10).join(value_cases)}
    esac
}}

# The command path named by words 1..$1-1 of COMP_WORDS.
_releasetool_path() {{
    local path="" i w next
    for ((i = 1; i < $1; i++)); do
        w="${{COMP_WORDS[i]}}"
        case "$w" in -*) continue ;; esac
        next="${{path:+$path }}$w"
        if _releasetool_is_command "$next"; then
            path="$next"
        fi
    done
    echo "$path"
}}

_releasetool_is_command() {{
    case "$1" in
{chr(10).join(f'        "{" ".join(c.words)}") return 0 ;;' for c in walk(tree)[1:])}
    esac
    return 1
}}

_releasetool() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}" path value
    path="$(_releasetool_path "$COMP_CWORD")"
    if [ "$COMP_CWORD" -gt 1 ] && [[ "$prev" == -* ]]; then
        value="$(_releasetool_value "$path" "$prev")"
        [ -n "$value" ] || value="$(_releasetool_value "" "$prev")"
        case "$value" in
            choices*) COMPREPLY=($(compgen -W "${{value#choices }}" -- "$cur")); return ;;
            files*) COMPREPLY=($(compgen -f -- "$cur")); return ;;
            dirs*) COMPREPLY=($(compgen -d -- "$cur")); return ;;
            any*) COMPREPLY=(); return ;;
        esac
    fi
    COMPREPLY=($(compgen -W "$(_releasetool_words "$path")" -- "$cur"))
}}

complete -o default -F _releasetool releasetool
"""


def _zsh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def zsh_completion(parser: argparse.ArgumentParser) -> str:
    """A zsh completion function (``#compdef releasetool``), with a description for each command."""
    tree = command_tree(parser)
    cases = []
    for command in walk(tree):
        key = " ".join(command.words)
        described = [f"{s.words[-1]}:{s.summary}" for s in command.subcommands]
        flags = [f for o in command.options for f in o.flags]
        cases.append(f"        {_zsh_quote(key)}) reply=({' '.join(_zsh_quote(d) for d in described)});"
                     f" flags=({' '.join(flags)}) ;;")
    value_cases = [f"        {_zsh_quote(key + ':' + flag)}) print -r -- {_zsh_quote(value)} ;;"
                   for key, flags, value in option_values(tree) for flag in flags]
    leaves = " ".join(_zsh_quote(" ".join(c.words)) for c in walk(tree)[1:])
    return f"""#compdef releasetool
# zsh completion for releasetool {__version__} (generated from its argparse definitions)

# Sets reply (subcommands as NAME:DESCRIPTION) and flags (its options) for the command path $1.
_releasetool_words() {{
    reply=(); flags=()
    case "$1" in
{chr(10).join(cases)}
    esac
}}

# Prints what the value of option $2 of command path $1 is: "choices A B", "files ", "dirs ", "any ".
_releasetool_value() {{
    case "$1:$2" in
{chr(10).join(value_cases)}
    esac
}}

# The command path named by the words before the cursor.
_releasetool_path() {{
    local path="" w next
    local -a known=({leaves})
    for w in "${{(@)words[2,CURRENT-1]}}"; do
        [[ "$w" == -* ]] && continue
        next="${{path:+$path }}$w"
        (( ${{known[(Ie)$next]}} )) && path="$next"
    done
    print -r -- "$path"
}}

_releasetool() {{
    local path value prev="${{words[CURRENT-1]}}"
    local -a reply flags  # not 'options': zsh keeps its own settings in that name
    path="$(_releasetool_path)"
    if (( CURRENT > 2 )) && [[ "$prev" == -* ]]; then
        value="$(_releasetool_value "$path" "$prev")"
        [[ -n "$value" ]] || value="$(_releasetool_value "" "$prev")"
        case "$value" in
            choices*) compadd -- ${{=value#choices }}; return ;;
            files*) _files; return ;;
            dirs*) _files -/; return ;;
            any*) return ;;
        esac
    fi
    _releasetool_words "$path"
    if [[ "$PREFIX" == -* ]]; then
        compadd -- $flags
    else
        (( ${{#reply}} )) && _describe -t commands command reply
        compadd -- $flags
    fi
}}

if [[ "$funcstack[1]" == _releasetool ]]; then
    _releasetool "$@"
else
    compdef _releasetool releasetool
fi
"""


def write_all(directory: Path, *, date: str) -> list[Path]:
    """Write ``releasetool.1``, ``releasetool`` (bash) and ``_releasetool`` (zsh) into ``directory``."""
    from releasetool.cli import build_parser
    from releasetool.fsutil import atomic_write

    parser = build_parser()
    files = {
        "releasetool.1": man_page(parser, date=date),
        "releasetool": bash_completion(parser),
        "_releasetool": zsh_completion(parser),
    }
    written = []
    for name, text in files.items():
        path = directory / name
        atomic_write(path, text.encode("utf-8"))
        written.append(path)
    return written
