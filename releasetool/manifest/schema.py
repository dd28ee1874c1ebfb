"""What each mapping of components.yaml may hold: field kinds, checks and allowed values.

The schema is documented in ``docs/manifest.md``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from releasetool import spdx
from releasetool.errors import VersionError

SCHEMA_VERSION = 1

# Debian policy 5.6.1 is the stricter of the two naming rules (rpm also allows
# upper case): lower case letters, digits, '+', '-', '.', at least two
# characters, starting with a letter or digit.  It also keeps a name from
# escaping a directory: no '/', no leading '.', no spaces.
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
# OBS repository names: letters, digits, '_', '.', '-', ':'.
TARGET_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
VERSION_SCHEMES = ("rpm", "debian", "pep440", "semver")
STATUSES = ("active", "retired")
TARBALL_FORMATS = ("gz", "xz")
# How upstream makes the tarball it publishes: git's own archive of the tag (what
# GitHub serves for a tag), or the project's dist target run on the tagged tree.
TARBALL_METHODS = ("git-archive", "dist")
BUILD_SYSTEMS = ("autotools", "make", "python", "cmake", "meson", "none")
# debhelper's build systems (dh --buildsystem=NAME), for deb_build_system.
DEBHELPER_BUILD_SYSTEMS = ("autoconf", "makefile", "cmake", "meson", "pybuild", "python_distutils", "perl_build",
                           "perl_makemaker", "qmake", "ninja")
FAMILIES = ("rpm", "deb")
# OBS architecture names (not Debian's amd64/arm64).
OBS_ARCHS = ("x86_64", "aarch64", "i586", "armv7l", "ppc64le", "s390x", "riscv64")
URL_SCHEMES = ("http", "https", "git", "ssh", "file")
PATH_PLACEHOLDERS = (
    "bindir", "sbindir", "libdir", "libexecdir", "includedir", "datadir", "mandir",
    "docdir", "sysconfdir", "localstatedir", "unitdir", "initddir", "tmpfilesdir",
    "pkgconfigdir", "python3_sitelib", "ocfdir",
)

# ---------------------------------------------------------------------------
# Schema: what each mapping may hold
# ---------------------------------------------------------------------------

# A check of a value whose kind the walk has already checked (a YAML scalar, list or mapping).
Check = Callable[[object], str | None]

@dataclass(frozen=True)
class Field:
    kind: str  # str, int, date, list, map, text
    required: bool = False
    check: Check | None = None
    items: str | dict[str, Field] | None = None  # list items: "str" or a mapping schema
    schema: dict[str, Field] | None = None  # for "map"
    allowed: str = ""  # shown after the message: (what is allowed)

def one_of(values: tuple[str, ...]) -> Check:
    def check(value: object) -> str | None:
        if value in values:
            return None
        close = difflib.get_close_matches(str(value), values, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown value {value!r} (one of: {', '.join(values)}{hint})"

    return check

def _url(value: object) -> str | None:
    parts = urlsplit(str(value))
    if "@" in parts.netloc and (parts.password is not None or parts.scheme in ("http", "https")):
        # The manifest is copied into the site, the packaging and every cache;
        # a password (or a token in the user name) in it would go everywhere.
        masked = parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]).geturl()
        return (f"{masked!r} has credentials in it: write the URL without them and let git find them "
                "(a credential helper: `git config credential.helper store`, or ~/.netrc)")
    if parts.scheme not in URL_SCHEMES:
        return f"{value!r} is not a URL (scheme one of: {', '.join(URL_SCHEMES)})"
    if parts.scheme != "file" and not parts.netloc:
        return f"{value!r} is not a URL (no host)"
    if any(ch.isspace() for ch in str(value)):
        return f"{value!r} is not a URL (contains white space)"
    return None

def _name(value: object) -> str | None:
    if NAME_RE.match(str(value)):
        return None
    return (
        f"{value!r} is not a valid package name "
        "(lower case letters, digits, '+', '-', '.'; at least 2 characters; starting with a letter or digit)"
    )

def _tag_pattern(value: object) -> str | None:
    text = str(value)
    if text.count("{version}") != 1:
        return f"{value!r} must contain {{version}} exactly once (e.g. 'v{{version}}')"
    rest = text.replace("{version}", "").replace("{name}", "")
    if "{" in rest or "}" in rest:
        return f"{value!r} has an unknown placeholder (only {{version}} and {{name}})"
    sample = text.replace("{version}", "1.0").replace("{name}", "name")  # a tag the pattern makes
    if any(ch.isspace() or ch in "~^:?*[\\" for ch in rest) or ".." in sample or sample.startswith("-"):
        return f"{value!r} cannot form a git tag name (see git check-ref-format)"
    return None

def _tarball(value: object) -> str | None:
    if "{version}" not in str(value):
        return f"{value!r} must contain {{version}}"
    return _url(str(value).replace("{version}", "1.0").replace("{name}", "x"))

def _license(value: object) -> str | None:
    found = spdx.problems(str(value))
    return "; ".join(found) if found else None

def _sha256(value: object) -> str | None:
    if not isinstance(value, str) or len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        return "not a SHA-256 (64 lower-case hex digits)"
    return None


def _distro_versions(value: object) -> str | None:
    """target name -> the upstream version that distribution's own repositories ship."""
    if not isinstance(value, Mapping):  # the walk checks the kind first
        return "expected a mapping"
    for key, version in value.items():
        if not isinstance(version, str) or not version.strip() or any(c.isspace() for c in version):
            return f"{key}: {version!r} is not a version (one word, e.g. \"2.0.6\", quoted)"
    return None


def _timezone(value: object) -> str | None:
    """An IANA time zone name the C library knows (the TZ of the dist command)."""
    import zoneinfo

    if not isinstance(value, str) or not value or value.startswith(("/", ".")) or ".." in value:
        return "not a time zone name (e.g. Europe/Prague, UTC)"
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {value!r} (a name from the tz database, e.g. Europe/Prague, UTC)"
    return None


def _one_line(value: object) -> str | None:
    text = str(value)
    if not text.strip():
        return "must not be empty"
    if "\n" in text.strip():
        return "must be a single line"
    return None

def _not_empty(value: object) -> str | None:
    return None if str(value).strip() else "must not be empty"

def _relative_dir(value: object) -> str | None:
    text = str(value)
    if text.startswith("/") or any(part in ("..", ".") for part in text.split("/")) or "\\" in text:
        return f"{value!r} must be a relative path inside the repository (no '/', '..' or '.' parts)"
    return None

def _version_range(value: object) -> str | None:
    """Clauses such as '>= 2.1, < 3.0' (the versions are checked against the component's scheme)."""
    from releasetool import versions

    try:
        versions.parse_range(str(value))
    except VersionError as exc:
        return f"{exc} ({exc.hint})" if getattr(exc, "hint", "") else str(exc)
    return None

def check_path_template(value: object) -> str | None:
    for placeholder in re.findall(r"\{([^}]*)\}", str(value)):
        if placeholder not in PATH_PLACEHOLDERS:
            close = difflib.get_close_matches(placeholder, PATH_PLACEHOLDERS, n=1)
            return f"unknown placeholder {{{placeholder}}}" + (f" (did you mean {{{close[0]}}}?)" if close else "")
    if ".." in str(value).split("/"):
        return f"{value!r} must not contain '..'"
    return None

PER_FAMILY = {"rpm": Field("list", items="str"), "deb": Field("list", items="str")}

SUBPACKAGE = {
    "name": Field("str", required=True, check=_name),
    "deb_name": Field("str", check=_name),
    "summary": Field("str", required=True, check=_one_line),
    "description": Field("text", required=True, check=_not_empty),
    "requires": Field("map", schema=PER_FAMILY),
    "files": Field("list", items="str", check=None),
    "arch": Field("str", check=one_of(("any", "all"))),
    "formats": Field("list", items="str"),
}

UNSHIPPED = {
    "path": Field("str", required=True, check=check_path_template),
    "why": Field("str", required=True, check=_one_line),
}

PACKAGING = {
    "build_system": Field("str", check=one_of(BUILD_SYSTEMS)),
    "configure_options": Field("list", items="str"),
    "build_requires": Field("map", schema=PER_FAMILY),
    "requires": Field("map", schema=PER_FAMILY),
    "units": Field("list", items="str"),
    "init_scripts": Field("list", items="str"),
    "docs": Field("list", items="str"),
    "license_files": Field("list", items="str"),
    "files": Field("list", items="str"),
    "remove": Field("list", items="str"),
    "hardlink": Field("list", items="str"),
    "patches": Field("list", items="str", check=None),
    "unshipped": Field("list", items=UNSHIPPED),
    "section": Field("str"),
    "arch": Field("str", check=one_of(("any", "all"))),
    "deb_name": Field("str", check=_name),
    "templates": Field("str", check=_name),
    "python_subdir": Field("str", check=_relative_dir),
    "deb_build_system": Field("str", check=one_of(DEBHELPER_BUILD_SYSTEMS)),
    "subpackages": Field("list", items=SUBPACKAGE),
}

# A sub-package as a version range changes it: only the name is required (the
# fields given replace the base package's; a new name must be complete, which
# validation checks against the base).
SUBPACKAGE_CHANGE = {**SUBPACKAGE, "summary": Field("str", check=_one_line),
                     "description": Field("text", check=_not_empty),
                     "more_files": Field("list", items="str", check=None),
                     "omit_files": Field("list", items="str", check=None)}

# packaging.by_version: the fields that differ for the versions in a range.
VERSION_RANGE = {
    "versions": Field("str", required=True, check=_version_range),
    **{key: field for key, field in PACKAGING.items() if key != "subpackages"},
    "subpackages": Field("list", items=SUBPACKAGE_CHANGE),
    "omit_subpackages": Field("list", items="str"),
    "more_files": Field("list", items="str", check=None),  # added to the files instead of replacing them
    "omit_files": Field("list", items="str", check=None),  # entries of the files these versions do not have
}
PACKAGING["by_version"] = Field("list", items=VERSION_RANGE)

# packaging.by_format: the fields that differ for one package format (rpm or deb), where
# upstream's build picks its layout by distribution; the same keys as a version range's.
FORMAT_CHANGE = {key: field for key, field in VERSION_RANGE.items() if key != "versions"}
PACKAGING["by_format"] = Field("map", schema={family: Field("map", schema=FORMAT_CHANGE) for family in FAMILIES})
# A version range may have a by_format of its own, which then replaces the packaging's for
# those versions (pcs 0.11 and 0.12 configure each family's layout with other options).
VERSION_RANGE["by_format"] = PACKAGING["by_format"]

SPLIT_PATH = {
    "from": Field("str", required=True, check=_relative_dir),
    "to": Field("str", check=lambda v: None if v == "" else _relative_dir(v)),
}

SPLIT = {
    "repository": Field("str", required=True, check=_url),
    "paths": Field("list", required=True, items=SPLIT_PATH),
    "branch": Field("str"),
    "tag_pattern": Field("str", check=_tag_pattern),
}

COMPONENT = {
    "name": Field("str", required=True, check=_name),
    "status": Field("str", check=one_of(STATUSES)),
    "summary": Field("str", required=True, check=_one_line),
    "description": Field("text", required=True, check=_not_empty),
    "homepage": Field("str", required=True, check=_url),
    "license": Field("str", required=True, check=_license),
    "git": Field("str", required=True, check=_url),
    "tag_pattern": Field("str", required=True, check=_tag_pattern),
    "version_scheme": Field("str", required=True, check=one_of(VERSION_SCHEMES)),
    "version": Field("str", required=True, check=_not_empty),
    "released": Field("date", required=True),
    "tarball": Field("str", check=_tarball),
    "tarball_formats": Field("list", items="str"),
    "tarball_method": Field("str", check=one_of(TARBALL_METHODS)),
    "tarball_sha256": Field("str", check=_sha256),
    "dist_command": Field("str", check=_one_line),
    "dist_timezone": Field("str", check=_timezone),
    "depends": Field("list", items="str"),
    "obs_package": Field("str", check=_name),
    "ignore_tags": Field("list", items="str"),
    "targets": Field("list", items="str"),
    "distro_versions": Field("map", check=_distro_versions),
    "split": Field("map", schema=SPLIT),
    "packaging": Field("map", schema=PACKAGING),
    "notes": Field("text"),
}

TARGET = {
    "name": Field("str", required=True, check=lambda v: None if TARGET_NAME_RE.match(str(v)) else f"{v!r} is not an OBS repository name"),
    "label": Field("str", required=True, check=_one_line),
    "family": Field("str", required=True, check=one_of(FAMILIES)),
    "project": Field("str", required=True, check=_not_empty),
    "repository": Field("str", required=True, check=_not_empty),
    "archs": Field("list", required=True, items="str"),
}

DISTRIBUTION = {
    "name": Field("str", required=True, check=_one_line),
    "obs_project": Field("str", required=True, check=_not_empty),
    "obs_apiurl": Field("str", check=_url),
    "download_url": Field("str", check=_url),
    "site_url": Field("str", check=_url),
    "packager": Field("str", check=_one_line),
}

TOP = {
    "schema": Field("int", required=True),
    "distribution": Field("map", required=True, schema=DISTRIBUTION),
    "targets": Field("list", required=True, items=TARGET),
    "components": Field("list", required=True, items=COMPONENT),
}
