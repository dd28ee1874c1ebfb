"""Context-aware escaping and path mapping for the packaging templates.

Every manifest value that reaches a spec file or a debian/ file goes through
one of these filters, chosen by where it lands:

- spec text (``Summary:``, ``%description``, ``%changelog``): rpm expands
  macros everywhere, so ``%`` becomes ``%%`` and a description cannot run a
  macro;
- Debian control fields: the extended description is folded (each line starts
  with one space, a blank line is `` .``); ``${name}`` would be replaced by
  dpkg-gencontrol, which has no escape, so the pattern is broken with an
  invisible WORD JOINER;
- changelogs: the exact date and trailer formats of rpm and Debian;
- file lists: ``{libdir}`` style placeholders become rpm macros or Debian paths.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import textwrap

from releasetool.errors import RenderError

# rpm macro for each manifest placeholder.  Macros missing from some rpm
# installations (Debian's rpm has no systemd or python macros) get a fallback
# definition at the top of the spec (see templates/spec/base.spec.j2).
RPM_DIRS = {
    "bindir": "%{_bindir}",
    "sbindir": "%{_sbindir}",
    "libdir": "%{_libdir}",
    "libexecdir": "%{_libexecdir}",
    "includedir": "%{_includedir}",
    "datadir": "%{_datadir}",
    "mandir": "%{_mandir}",
    "docdir": "%{_docdir}",
    "sysconfdir": "%{_sysconfdir}",
    "localstatedir": "%{_localstatedir}",
    "unitdir": "%{_unitdir}",
    "initddir": "%{_initddir}",
    "tmpfilesdir": "%{_tmpfilesdir}",
    "pkgconfigdir": "%{_libdir}/pkgconfig",
    "python3_sitelib": "%{python3_sitelib}",
    "ocfdir": "%{_prefix}/lib/ocf",
}

# Debian paths relative to the install tree (debian/tmp), as dh_install wants
# them.  debhelper 13 substitutes ${DEB_HOST_MULTIARCH} and ${env:NAME} in
# .install files; DEB_SYSTEMD_UNITDIR is exported by debian/rules because the
# unit directory moved from /lib to /usr/lib between Debian releases.
DEB_DIRS = {
    "bindir": "usr/bin",
    "sbindir": "usr/sbin",
    "libdir": "usr/lib/${DEB_HOST_MULTIARCH}",
    "libexecdir": "usr/libexec",
    "includedir": "usr/include",
    "datadir": "usr/share",
    "mandir": "usr/share/man",
    "docdir": "usr/share/doc",
    "sysconfdir": "etc",
    "localstatedir": "var",
    "unitdir": "${env:DEB_SYSTEMD_UNITDIR}",
    "initddir": "etc/init.d",
    "tmpfilesdir": "usr/lib/tmpfiles.d",
    "pkgconfigdir": "usr/lib/${DEB_HOST_MULTIARCH}/pkgconfig",
    "python3_sitelib": "usr/lib/python3/dist-packages",
    "ocfdir": "usr/lib/ocf",
}

# The same directories as absolute paths for debian/rules (make variables).
DEB_RULES_DIRS = {
    **{key: "/" + value for key, value in DEB_DIRS.items()},
    "libdir": "/usr/lib/$(DEB_HOST_MULTIARCH)",
    "pkgconfigdir": "/usr/lib/$(DEB_HOST_MULTIARCH)/pkgconfig",
    "unitdir": "/$(DEB_SYSTEMD_UNITDIR)",
}

class Verbatim(str):
    """A string that is already valid syntax for the file being rendered (not escaped again)."""


_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]*)\}")
# rpm %files directives that may precede a path in the manifest's file lists.
_RPM_DIRECTIVE = re.compile(r"^((?:%(?:config|dir|ghost|attr|verify|doc|license|defattr)(?:\([^)]*\))?\s+)+)")

RPM_LINE_WIDTH = 79  # rpmlint: description-line-too-long above 79
DEB_LINE_WIDTH = 79  # lintian: extended-description-line-too-long at 80


def _substitute(path: str, table: dict[str, str], where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in table:
            raise RenderError(
                f"{where}: unknown placeholder {{{key}}} in {path!r}",
                hint=f"use one of {', '.join('{' + k + '}' for k in table)}",
            )
        return table[key]

    return _PLACEHOLDER.sub(replace, path)


def split_directive(entry: str) -> tuple[str, str]:
    """``("%config(noreplace) ", "{sysconfdir}/x")`` from a manifest file entry."""
    match = _RPM_DIRECTIVE.match(entry)
    if not match:
        return "", entry
    return match.group(1), entry[match.end():]


def rpm_path(entry: str, where: str = "files") -> str:
    """A manifest file entry as an rpm ``%files`` line (placeholders as macros)."""
    directive, path = split_directive(entry.strip())
    return directive + _substitute(path.replace("%", "%%"), RPM_DIRS, where)


def is_dir_entry(entry: str) -> bool:
    """A ``%dir`` entry: the directory alone, without what is in it."""
    return "%dir" in split_directive(entry.strip())[0].split()


def is_ghost_entry(entry: str) -> bool:
    """A ``%ghost`` entry: a path the package owns but does not contain (written at run time)."""
    return "%ghost" in split_directive(entry.strip())[0].split()


def deb_path(entry: str, where: str = "files") -> str:
    """A manifest file entry as a dh_install source path (relative to debian/tmp)."""
    _directive, path = split_directive(entry.strip())
    return _substitute(path, DEB_DIRS, where).lstrip("/").rstrip("/")


def rpm_option(option: str, where: str = "configure_options") -> str:
    """A configure option for the spec: placeholders become rpm macros."""
    return _substitute(option, RPM_DIRS, where)


def deb_option(option: str, where: str = "configure_options") -> str:
    """A configure option for debian/rules: placeholders become Debian paths.

    rpm macros are not meaningful to make; a ``$`` is doubled so make passes it on.
    """
    return _substitute(option.replace("$", "$$"), DEB_RULES_DIRS, where)


def deb_rules_path(path: str, where: str = "path") -> str:
    """An installed path for debian/rules (absolute, make variables for Debian's directories)."""
    return _substitute(path.replace("$", "$$"), DEB_RULES_DIRS, where)


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------

def one_line(text: str) -> str:
    """A summary on one line, without the trailing full stop both linters flag."""
    line = " ".join(str(text).split())
    return line[:-1].rstrip() if line.endswith(".") and not line.endswith("..") else line


def _paragraph_lines(text: str, width: int) -> list[str]:
    """The description's lines: long lines wrapped, indented (verbatim) lines kept, tabs expanded."""
    lines: list[str] = []
    for raw in str(text).expandtabs(8).splitlines():
        line = raw.rstrip()
        if not line.strip():
            lines.append("")
        elif line[0] == " " or len(line) <= width:
            lines.append(line)
        else:
            lines.extend(textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False))
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    collapsed: list[str] = []
    for line in lines:  # one blank line between paragraphs
        if line or (collapsed and collapsed[-1]):
            collapsed.append(line)
    return collapsed


def spec_text(text: str) -> str:
    """Text for a spec file: rpm would expand ``%``, so it is doubled."""
    return str(text).replace("%", "%%")


_SUBSTVAR = re.compile(r"\$(?=\{[-:0-9A-Za-z]+\})")
# An invisible character that breaks a pattern a tool would otherwise act on.
WORD_JOINER = "\u2060"


def spec_description(text: str) -> str:
    """A ``%description`` body: wrapped at 79 columns, ``%`` doubled.

    rpm empties every line whose first non-blank character is ``#`` (a comment,
    even inside %description, after macro expansion), so such a line starts with
    an invisible WORD JOINER.
    """
    lines = []
    for line in _paragraph_lines(text, RPM_LINE_WIDTH):
        if line.lstrip().startswith("#"):
            line = WORD_JOINER + line
        lines.append(spec_text(line))
    return "\n".join(lines)


def deb_field(text: str) -> str:
    """A one-line control field value; ``${name}`` kept literal (see module doc)."""
    return _SUBSTVAR.sub("$" + WORD_JOINER, one_line(text))


def deb_description(text: str) -> str:
    """The extended description of a control stanza, folded as Debian policy 5.6.13 says.

    Each line starts with one space; a blank line is `` .``; a line that would
    start with a full stop (reserved by policy) or with white space is shown
    verbatim by indenting it with two spaces.
    """
    folded = []
    for line in _paragraph_lines(text, DEB_LINE_WIDTH):
        line = _SUBSTVAR.sub("$" + WORD_JOINER, line)
        if not line:
            folded.append(" .")
        elif line.startswith((".", " ")):
            folded.append("  " + line)
        else:
            folded.append(" " + line)
    return "\n".join(folded) if folded else " ."


# ---------------------------------------------------------------------------
# Changelogs
# ---------------------------------------------------------------------------

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rpm_date(when: dt.datetime | dt.date) -> str:
    """``Wed Nov 25 2026``: the date of an rpm %changelog entry (English names, not the locale's)."""
    day = when.date() if isinstance(when, dt.datetime) else when
    return f"{_DAYS[day.weekday()]} {_MONTHS[day.month - 1]} {day.day:02d} {day.year}"


def changes_date(when: dt.datetime) -> str:
    """``Wed Nov 25 12:00:00 UTC 2026``: the header date of an openSUSE ``.changes`` entry, in UTC."""
    utc = when.astimezone(dt.UTC) if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return (f"{_DAYS[utc.weekday()]} {_MONTHS[utc.month - 1]} {utc.day:2d} "
            f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d} UTC {utc.year}")


def deb_date(when: dt.datetime) -> str:
    """``Wed, 25 Nov 2026 12:00:00 +0000``: RFC 5322 as debian/changelog wants it."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return email.utils.format_datetime(when)


def changelog_items(subjects: list[str], width: int, first: str, rest: str) -> list[str]:
    """Change subjects as bulleted, wrapped lines (``first`` before the first line of each)."""
    out: list[str] = []
    for subject in subjects:
        text = " ".join(str(subject).split()) or "Update"
        out.extend(textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest,
                                 break_long_words=False, break_on_hyphens=False))
    return out


# ---------------------------------------------------------------------------
# Versions and licenses
# ---------------------------------------------------------------------------

def package_version(version: str) -> str:
    """The upstream version as rpm ``Version:`` and Debian upstream version.

    Neither allows ``-`` there (it separates the release/revision); a
    pre-release separator becomes ``~``, which both sort before the release.
    """
    text = str(version)
    text = re.sub(r"-(?=(rc|alpha|beta|pre|dev)\.?\d*)", "~", text)
    text = re.sub(r"(?<=\d)(rc|alpha|beta|a|b)(\d+)$", r"~\1\2", text) if "~" not in text else text
    return text.replace("-", ".")


# SPDX identifier -> (Debian copyright-format short name, file under /usr/share/common-licenses or "").
DEP5_LICENSES = {
    "Apache-2.0": ("Apache-2.0", "Apache-2.0"),
    "BSD-2-Clause": ("BSD-2-clause", ""),
    "BSD-3-Clause": ("BSD-3-clause", ""),
    "CC-BY-SA-4.0": ("CC-BY-SA-4.0", "CC-BY-SA-4.0"),
    "CC0-1.0": ("CC0-1.0", "CC0-1.0"),
    "GFDL-1.2-or-later": ("GFDL-1.2+", "GFDL-1.2"),
    "GPL-1.0-or-later": ("GPL-1+", "GPL-1"),
    "GPL-2.0-only": ("GPL-2", "GPL-2"),
    "GPL-2.0-or-later": ("GPL-2+", "GPL-2"),
    "GPL-3.0-only": ("GPL-3", "GPL-3"),
    "GPL-3.0-or-later": ("GPL-3+", "GPL-3"),
    "ISC": ("ISC", ""),
    "LGPL-2.0-or-later": ("LGPL-2+", "LGPL-2"),
    "LGPL-2.1-only": ("LGPL-2.1", "LGPL-2.1"),
    "LGPL-2.1-or-later": ("LGPL-2.1+", "LGPL-2.1"),
    "LGPL-3.0-or-later": ("LGPL-3+", "LGPL-3"),
    "MIT": ("Expat", ""),
    "MPL-2.0": ("MPL-2.0", "MPL-2.0"),
    "Python-2.0": ("Python-2.0", ""),
    "Zlib": ("Zlib", ""),
}


def dep5_license(expression: str) -> tuple[str, list[tuple[str, str]]]:
    """The Debian form of an SPDX expression and its (short name, common-licenses file) parts."""
    from releasetool import spdx

    words: list[str] = []
    parts: list[tuple[str, str]] = []
    for token in spdx.tokens(expression):
        if token in ("AND", "OR"):
            words.append(token.lower())
        elif token == "WITH":
            words.append("with")
        elif token in ("(", ")"):
            words.append(token)
        else:
            short, common = DEP5_LICENSES.get(token, (token, ""))
            words.append(short)
            if token in DEP5_LICENSES and (short, common) not in parts:
                parts.append((short, common))
    text = " ".join(words).replace("( ", "(").replace(" )", ")")
    # DEP-5 writes an exception as "GPL-2+ with Autoconf exception".
    text = re.sub(r" with (\S+?)-exception(?:-[0-9.]+)?", r" with \1 exception", text)
    return text, parts
