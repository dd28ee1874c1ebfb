"""Version schemes, tag <-> version, stability and the latest release of a set of tags.

Four schemes, each ordered exactly as the tool that owns it orders versions:

``rpm``
    rpm 4.18's ``rpmvercmp`` applied to ``[EPOCH:]VERSION[-RELEASE]`` strings
    the way ``rpm.vercmp`` (``rpmverCmp``) does: epochs compare first (a
    missing epoch is 0), then versions, then releases, where a missing release
    sorts before every release, even an empty one.
``debian``
    dpkg's ``verrevcmp`` on ``[EPOCH:]UPSTREAM[-REVISION]`` (deb-version(7)),
    with dpkg's validity rules.
``pep440``
    :mod:`packaging.version`.
``semver``
    Semantic Versioning 2.0.0 precedence; build metadata is ignored.

Every scheme has a *sort key* (:func:`sort_key`) that orders versions exactly
like :func:`compare`; comparing is done through it, so the two cannot drift.

Tags map to versions through a component's tag pattern (``v{version}``,
``Pacemaker-{version}``, ``{name}-{version}``).  :func:`latest` picks the newest
release among a repository's tags, ignoring tags that do not match the pattern
or whose version does not parse (``rolling``, ``latest``, ``v2.0-test``), and,
unless asked, pre-releases.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, Self

from releasetool.errors import InvalidVersionError, VersionError
from releasetool.log import log

if TYPE_CHECKING:
    from packaging.version import Version

# A key of the rpm, debian and semver schemes: nested tuples of ints and strings
# that Python's tuple order compares as the scheme's own tool does.
TupleKey = tuple[object, ...]


class SortKey(Protocol):
    """A scheme's key of a version: ordered against the keys of the same scheme (a TupleKey, or pep440's Version)."""

    def __lt__(self, other: Self, /) -> bool: ...

    def __gt__(self, other: Self, /) -> bool: ...

SCHEMES = ("rpm", "debian", "pep440", "semver")

FORMS = {
    "rpm": "[EPOCH:]VERSION[-RELEASE], e.g. 2.1.9, 2.1.0~rc1, 1:2.1.9-3",
    "debian": "[EPOCH:]UPSTREAM[-REVISION] starting with a digit, e.g. 2.1.9, 2.1.0~rc1-1, 1:2.1.9-3",
    "pep440": "PEP 440, e.g. 0.11.9, 1.0rc1, 2.0.post1",
    "semver": "MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], e.g. 1.2.3, 2.0.0-rc.1",
}


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise VersionError(f"unknown version scheme {scheme!r}", hint=f"use one of: {', '.join(SCHEMES)}")


def _check_common(scheme: str, text: str) -> None:
    if not isinstance(text, str) or not text:
        raise InvalidVersionError(scheme, str(text), "the version is empty")
    for ch in text:
        if ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F:
            raise InvalidVersionError(scheme, text, "it contains whitespace or a control character")


def _bad_char(text: str, allowed: str) -> str | None:
    """The first character of ``text`` that is neither an ASCII letter or digit nor in ``allowed``."""
    for ch in text:
        if not (ch.isascii() and ch.isalnum()) and ch not in allowed:
            return ch
    return None


# ---------------------------------------------------------------------------
# rpm
# ---------------------------------------------------------------------------

RPM_CHARS = "._+~^"
_RPM_TOKEN = re.compile(r"~|\^|[0-9]+|[A-Za-z]+")
# Token kinds in rpmvercmp order: '~' sorts before the end of the string, '^'
# after the end but before any letter or digit run, and a digit run is newer
# than a letter run.  Separators (anything else) only delimit runs.
_TILDE, _END, _CARET, _ALPHA, _DIGITS = range(5)


@dataclass(frozen=True)
class RpmEVR:
    epoch: int | None
    version: str
    release: str | None


_RPM_EVR = re.compile(r"(?:([0-9]+):)?([A-Za-z0-9._+~^]+)(?:-([A-Za-z0-9._+~^]+))?")


def _parse_rpm(text: str) -> RpmEVR:
    m = _RPM_EVR.fullmatch(text)
    if m:  # the common case; anything else goes through the checks that say what is wrong
        return RpmEVR(int(m.group(1)) if m.group(1) else None, m.group(2), m.group(3))
    _check_common("rpm", text)
    # As rpm's parseEVR: an epoch is a run of digits followed by ':'; the
    # release follows the last '-'.
    epoch: int | None = None
    rest = text
    m = re.match(r"([0-9]*):", text)
    if m:
        if not m.group(1):
            raise InvalidVersionError("rpm", text, "the epoch before ':' is empty")
        epoch, rest = int(m.group(1)), text[m.end():]
    version, sep, release = rest.rpartition("-")
    if not sep:
        version, release_opt = rest, None
    else:
        release_opt = release
    if not version:
        raise InvalidVersionError("rpm", text, "the version is empty")
    if release_opt == "":
        raise InvalidVersionError("rpm", text, "the release after the last '-' is empty")
    bad = _bad_char(version, RPM_CHARS)
    if bad is not None:
        why = "'-' may appear only once, before the release" if bad == "-" else f"allowed: letters, digits, {' '.join(RPM_CHARS)}"
        raise InvalidVersionError("rpm", text, f"invalid character {bad!r} in the version ({why})")
    if release_opt is not None:
        bad = _bad_char(release_opt, RPM_CHARS)
        if bad is not None:
            raise InvalidVersionError("rpm", text, f"invalid character {bad!r} in the release "
                                      f"(allowed: letters, digits, {' '.join(RPM_CHARS)})")
    return RpmEVR(epoch, version, release_opt)


def rpmvercmp_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """A key ordering version (or release) strings as rpm 4.18's ``rpmvercmp``."""
    tokens: list[tuple[int, int | str]] = []
    for tok in _RPM_TOKEN.findall(text):
        if tok == "~":
            tokens.append((_TILDE, 0))
        elif tok == "^":
            tokens.append((_CARET, 0))
        elif tok[0].isdigit():
            tokens.append((_DIGITS, int(tok)))  # leading zeros do not count
        else:
            tokens.append((_ALPHA, tok))  # strcmp: ASCII order, upper case first
    tokens.append((_END, 0))
    return tuple(tokens)


@functools.lru_cache(maxsize=8192)
def _rpm_key(text: str) -> TupleKey:
    evr = _parse_rpm(text)
    # rpmverCmp: a missing release sorts before any release ("1.0" < "1.0-~1").
    release = (0,) if evr.release is None else (1, rpmvercmp_key(evr.release))
    return (evr.epoch or 0, rpmvercmp_key(evr.version), release)


# ---------------------------------------------------------------------------
# debian
# ---------------------------------------------------------------------------

DEB_EPOCH_MAX = 2**31 - 1  # dpkg stores the epoch in an int


@dataclass(frozen=True)
class DebianVersion:
    epoch: int
    upstream: str
    revision: str


_DEB_SIMPLE = re.compile(r"(?:([0-9]{1,9}):)?([0-9][A-Za-z0-9.+~]*)(?:-([A-Za-z0-9.+~]+))?")


def _parse_debian(text: str) -> DebianVersion:
    m = _DEB_SIMPLE.fullmatch(text)
    if m:  # no ':' or '-' inside the upstream version: the common case
        return DebianVersion(int(m.group(1) or 0), m.group(2), m.group(3) or "")
    _check_common("debian", text)
    epoch = 0
    rest = text
    # dpkg: the epoch is everything before the first ':', the revision
    # everything after the last '-'.
    if ":" in text:
        head, rest = text.split(":", 1)
        if not head:
            raise InvalidVersionError("debian", text, "the epoch before ':' is empty")
        if not head.isascii() or not head.isdigit():
            raise InvalidVersionError("debian", text, f"the epoch {head!r} is not a number")
        epoch = int(head)
        if epoch > DEB_EPOCH_MAX:
            raise InvalidVersionError("debian", text, f"the epoch {head} is too big")
        if not rest:
            raise InvalidVersionError("debian", text, "nothing follows the epoch's ':'")
    upstream, sep, revision = rest.rpartition("-")
    if not sep:
        upstream, revision = rest, ""
    elif not revision:
        raise InvalidVersionError("debian", text, "the revision after the last '-' is empty")
    if not upstream:
        raise InvalidVersionError("debian", text, "the upstream version is empty")
    if not ("0" <= upstream[0] <= "9"):
        raise InvalidVersionError("debian", text, "the upstream version must start with a digit")
    bad = _bad_char(upstream, ".+~-:")
    if bad is not None:
        raise InvalidVersionError("debian", text, f"invalid character {bad!r} in the upstream version "
                                  "(allowed: letters, digits, . + ~ - :)")
    bad = _bad_char(revision, ".+~")
    if bad is not None:
        raise InvalidVersionError("debian", text, f"invalid character {bad!r} in the revision "
                                  "(allowed: letters, digits, . + ~)")
    return DebianVersion(epoch, upstream, revision)


def _dpkg_order(ch: str) -> int:
    # dpkg's order(): '~' before the end of a part, the end (or a digit)
    # before letters, letters before every other character.
    if ch == "~":
        return -1
    if ch.isascii() and ch.isalpha():
        return ord(ch)
    return ord(ch) + 256


_DEB_PART = re.compile(r"([^0-9]*)([0-9]*)")
# The pair an exhausted string contributes: an empty non-digit part, number 0.
_DEB_PAD = ((0,), 0)


def verrevcmp_key(text: str) -> TupleKey:
    """A key ordering upstream versions (or revisions) as dpkg's ``verrevcmp``.

    dpkg walks both strings as alternating (non-digit part, number) pairs and
    treats a string that ran out as an endless run of empty pairs.  The first
    pair is kept as is; every later pair has a non-empty non-digit part and so
    is either below an empty pair (it starts with '~') or above it, which is
    recorded as -1/+1 in front of it, and the end is (0,): Python's tuple
    comparison then gives dpkg's answer without padding.
    """
    pairs = [
        ((*(_dpkg_order(c) for c in letters), 0), int(digits or "0"))
        for letters, digits in _DEB_PART.findall(text)
        if letters or digits
    ]
    first = pairs[0] if pairs else _DEB_PAD
    rest = tuple((-1 if pair[0][0] == -1 else 1, pair) for pair in pairs[1:])
    return (first, (*rest, (0,)))


@functools.lru_cache(maxsize=8192)
def _debian_key(text: str) -> TupleKey:
    v = _parse_debian(text)
    return (v.epoch, verrevcmp_key(v.upstream), verrevcmp_key(v.revision))


# ---------------------------------------------------------------------------
# pep440
# ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=8192)
def _pep440(text: str) -> Version:
    _check_common("pep440", text)
    from packaging.version import InvalidVersion, Version

    try:
        return Version(text)
    except InvalidVersion:
        raise InvalidVersionError("pep440", text, "it does not follow PEP 440") from None


# ---------------------------------------------------------------------------
# semver
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SemVer:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: tuple[str, ...] = field(default=(), compare=False)


def _semver_identifiers(text: str, whole: str, what: str, *, numeric_rule: bool) -> tuple[str, ...]:
    parts = tuple(text.split("."))
    for part in parts:
        if not part:
            raise InvalidVersionError("semver", whole, f"empty identifier in the {what}")
        bad = _bad_char(part, "-")
        if bad is not None:
            raise InvalidVersionError("semver", whole, f"invalid character {bad!r} in the {what} "
                                      "(allowed: letters, digits, '-')")
        if numeric_rule and part.isdigit() and len(part) > 1 and part[0] == "0":
            raise InvalidVersionError("semver", whole, f"numeric identifier {part!r} in the {what} has a leading zero")
    return parts


def _parse_semver(text: str) -> SemVer:
    _check_common("semver", text)
    if text[0] in "vV":
        raise InvalidVersionError("semver", text, "a leading 'v' is not part of the version "
                                  "(put it in the tag pattern: 'v{version}')")
    core, plus, build = text.partition("+")
    core, minus, pre = core.partition("-")
    numbers = core.split(".")
    if len(numbers) != 3:
        raise InvalidVersionError("semver", text, "the version needs exactly MAJOR.MINOR.PATCH")
    for num in numbers:
        if not (num.isascii() and num.isdigit()):
            raise InvalidVersionError("semver", text, f"{num!r} is not a non-negative integer")
        if len(num) > 1 and num[0] == "0":
            raise InvalidVersionError("semver", text, f"{num!r} has a leading zero")
    prerelease = _semver_identifiers(pre, text, "pre-release", numeric_rule=True) if minus else ()
    build_ids = _semver_identifiers(build, text, "build metadata", numeric_rule=False) if plus else ()
    return SemVer(int(numbers[0]), int(numbers[1]), int(numbers[2]), prerelease, build_ids)


@functools.lru_cache(maxsize=8192)
def _semver_key(text: str) -> TupleKey:
    v = _parse_semver(text)
    if not v.prerelease:
        pre: TupleKey = (1,)  # a release is above all of its pre-releases
    else:
        # Numeric identifiers compare as numbers and below alphanumeric ones;
        # a longer list wins when all shared identifiers are equal.
        pre = (0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in v.prerelease))
    return (v.major, v.minor, v.patch, pre)


# ---------------------------------------------------------------------------
# The scheme-independent API
# ---------------------------------------------------------------------------

_KEYS: dict[str, Callable[[str], SortKey]] = {
    "rpm": _rpm_key,
    "debian": _debian_key,
    "pep440": _pep440,
    "semver": _semver_key,
}


def parse(scheme: str, text: str) -> str:
    """Check that ``text`` is a valid ``scheme`` version and return it unchanged.

    Raises :class:`InvalidVersionError` (a :class:`VersionError`) naming what is wrong.
    """
    _check_scheme(scheme)
    _KEYS[scheme](text)
    return text


def sort_key(scheme: str) -> Callable[[str], SortKey]:
    """A key function: ``sorted(vs, key=sort_key(s))`` orders as :func:`compare`."""
    _check_scheme(scheme)
    return _KEYS[scheme]


def clear_caches() -> None:
    """Forget the parsed versions kept to make repeated comparisons cheap."""
    for key in _KEYS.values():
        key.cache_clear()  # type: ignore[attr-defined]


def compare(scheme: str, a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` is older than, equal to or newer than ``b``."""
    key = sort_key(scheme)
    ka, kb = key(a), key(b)
    return int(ka > kb) - int(ka < kb)


# A version range: comma-separated clauses, each an operator and a version
# (">= 2.1, < 3.0"); a version is in the range when every clause holds.
_RANGE_CLAUSE = re.compile(r"^\s*(<=|>=|<|>|==|!=)\s*(\S+)\s*$")
_RANGE_HOLDS = {"<": lambda c: c < 0, "<=": lambda c: c <= 0, ">": lambda c: c > 0, ">=": lambda c: c >= 0,
                "==": lambda c: c == 0, "!=": lambda c: c != 0}


def parse_range(spec: str) -> list[tuple[str, str]]:
    """The clauses of a version range as (operator, version); raises VersionError on bad syntax."""
    clauses = []
    for part in spec.split(","):
        match = _RANGE_CLAUSE.match(part)
        if not match:
            raise VersionError(f"{part.strip()!r} is not a version clause",
                               hint="write an operator (<, <=, >, >=, ==, !=) and a version, "
                                    "clauses separated by commas: '>= 2.1, < 3.0'")
        clauses.append((match.group(1), match.group(2)))
    return clauses


def in_range(scheme: str, version: str, spec: str) -> bool:
    """Whether ``version`` satisfies every clause of the range ``spec``, compared as ``scheme``."""
    return all(_RANGE_HOLDS[op](compare(scheme, version, bound)) for op, bound in parse_range(spec))


# A pre-release marker: rc, alpha, beta, pre or dev, ending at a digit, a
# separator or the end; a and b only in the PEP 440 spelling, directly followed
# by a number (1.0a1, 1.0.b2), so that a letter release such as 1.0.2a is not
# taken for one.  Case does not matter.
_MARKER = r"(?:(?:rc|alpha|beta|pre|dev)(?=[0-9]|[-~._+^]|$)|[ab](?=[0-9]))"
# ... right after a digit or after a separator (2.1.0rc1, 2.1.0-rc1, 2.1.0~rc1).
_PRE_RELEASE = re.compile(r"(?:(?<=[0-9])|[-~._+^])" + _MARKER, re.IGNORECASE)


def is_prerelease(scheme: str, version: str) -> bool:
    """Whether ``version`` is a pre-release (rc, alpha, beta, pre, dev, a1, b2...)."""
    _check_scheme(scheme)
    if scheme == "pep440":
        return bool(_pep440(version).is_prerelease)
    if scheme == "semver":
        return bool(_parse_semver(version).prerelease)
    parse(scheme, version)
    return _PRE_RELEASE.search(version) is not None


# ---------------------------------------------------------------------------
# Tags
# ---------------------------------------------------------------------------

def _pattern_parts(pattern: str, name: str | None) -> tuple[str, str]:
    """The literal text before and after ``{version}`` once ``{name}`` is filled in."""
    if pattern.count("{version}") != 1:
        raise VersionError(f"tag pattern {pattern!r} must contain {{version}} exactly once",
                           hint="e.g. 'v{version}', 'Pacemaker-{version}', '{name}-{version}'")
    if "{name}" in pattern:
        if not name:
            raise VersionError(f"tag pattern {pattern!r} uses {{name}} but no component name was given",
                               hint="pass the component name (--name on the command line)")
        pattern = pattern.replace("{name}", name)
    before, _, after = pattern.partition("{version}")
    return before, after


def tag_to_version(pattern: str, tag: str, name: str | None = None) -> str | None:
    """The version a tag names under ``pattern``, or None if the tag does not match.

    The version part must be non-empty and cannot contain '/' (so ``v{version}``
    does not take ``v1.0/fixes``).
    """
    before, after = _pattern_parts(pattern, name)
    if not tag.startswith(before) or not tag.endswith(after) or len(tag) <= len(before) + len(after):
        return None
    version = tag[len(before): len(tag) - len(after)]
    if "/" in version:
        return None
    return version


def check_tag_name(tag: str) -> str | None:
    """Why ``tag`` cannot be a git tag name (git check-ref-format rules), or None."""
    if not tag:
        return "it is empty"
    if tag.startswith("-"):
        return "git tag refuses names starting with '-'"
    for ch in tag:
        if ord(ch) < 0x20 or ord(ch) == 0x7F or ch in " ~^:?*[\\":
            return f"git refuses {ch!r} in ref names"
    if ".." in tag or "@{" in tag or "//" in tag:
        return "git refuses '..', '@{' and '//' in ref names"
    if tag.startswith("/") or tag.endswith("/") or tag.endswith("."):
        return "a ref name cannot start or end with '/' or end with '.'"
    for part in tag.split("/"):
        if part.startswith(".") or part.endswith(".lock"):
            return "no part of a ref name may start with '.' or end with '.lock'"
    return None


def version_to_tag(pattern: str, version: str, name: str | None = None) -> str:
    """The tag for ``version`` under ``pattern``; VersionError if git could not store it."""
    before, after = _pattern_parts(pattern, name)
    if not version or "/" in version:
        raise VersionError(f"{version!r} cannot be the version part of a tag (it must be non-empty, without '/')")
    tag = f"{before}{version}{after}"
    problem = check_tag_name(tag)
    if problem:
        if "~" in version:
            hint = ("rpm and Debian spell a pre-release 2.1.0~rc1, but a git tag cannot contain '~': "
                    "tag 2.1.0-rc1 and write ~rc1 only in the packaging")
        elif "^" in version:
            hint = ("rpm spells a snapshot after a release 2.1.0^git1, but a git tag cannot contain '^': "
                    "leave snapshots untagged or tag them without '^'")
        else:
            hint = "choose a version or tag pattern that forms a valid git tag"
        raise VersionError(f"tag {tag!r} for version {version!r} is not a valid git tag name: {problem}", hint=hint)
    return tag


# A tag names an upstream version, never a packaging release: for rpm and
# Debian a '-' is allowed only in front of a pre-release marker
# (Pacemaker-2.1.0-rc1), and the version must start with a digit.
_TAG_PRE_SEPARATOR = re.compile(r"(?:(?<=[0-9])|[-._])(?=" + _MARKER + ")", re.IGNORECASE)


def upstream_order_form(scheme: str, version: str) -> str:
    """``version`` as it must be ordered when it comes from a tag.

    Upstreams write a release candidate as 2.1.0-rc1, 2.1.0.rc1 or 4.15.0rc1,
    which rpm and dpkg would order *after* 2.1.0; packagers write 2.1.0~rc1.
    For the rpm and debian schemes this returns that spelling (the separator in
    front of a pre-release marker becomes '~') after checking that the tag's
    version is a plain upstream version; other schemes return it unchanged.
    Raises :class:`InvalidVersionError` when it is not one.
    """
    if scheme not in ("rpm", "debian"):
        parse(scheme, version)
        return version
    # A version already spelled with '~' is left alone.
    ordered = version if "~" in version else _TAG_PRE_SEPARATOR.sub("~", version, count=1)
    allowed = RPM_CHARS if scheme == "rpm" else ".+~"
    _check_common(scheme, version)
    bad = _bad_char(ordered, allowed)
    if bad is not None:
        raise InvalidVersionError(scheme, version, f"invalid character {bad!r} in an upstream version taken "
                                  "from a tag ('-' only before a pre-release marker such as -rc1)")
    if not ordered[0].isdigit() or not ordered[0].isascii():
        raise InvalidVersionError(scheme, version, "an upstream version taken from a tag must start with a digit")
    parse(scheme, ordered)
    return ordered


def repository_tags(repo: str) -> list[str]:
    """The tag names of the git repository at ``repo`` (refs/tags/ stripped)."""
    from releasetool import proc
    from releasetool.errors import CommandError, GitError

    try:
        listed = proc.git(repo, "for-each-ref", "--format=%(refname:strip=2)", "refs/tags")
    except CommandError as exc:
        tail = exc.stderr_tail.strip().splitlines()
        raise GitError(f"{repo}: cannot list tags: {tail[-1] if tail else f'git exited with {exc.returncode}'}",
                       hint="give the path of a git repository (a clone of the component)") from None
    return [line for line in listed.splitlines() if line]


@dataclass(frozen=True)
class TagVersion:
    tag: str
    version: str
    prerelease: bool


@dataclass
class TagScan:
    """What :func:`scan_tags` found: the versions (oldest first) and the tags it ignored, with why."""

    versions: list[TagVersion]
    ignored: list[tuple[str, str]]


def scan_tags(scheme: str, pattern: str, tags: Iterable[str], *, name: str | None = None) -> TagScan:
    """Every tag matching ``pattern`` with a valid version, ordered oldest first.

    Equal versions (1.0 and 1.00 under rpm) keep their input order.
    """
    _check_scheme(scheme)
    key = sort_key(scheme)
    found: list[tuple[SortKey, TagVersion]] = []
    ignored: list[tuple[str, str]] = []
    for tag in tags:
        version = tag_to_version(pattern, tag, name)
        if version is None:
            ignored.append((tag, f"does not match {pattern!r}"))
            continue
        try:
            ordered = upstream_order_form(scheme, version)
            pre = is_prerelease(scheme, ordered)
        except VersionError as exc:
            ignored.append((tag, str(exc)))
            continue
        found.append((key(ordered), TagVersion(tag, version, pre)))
    for tag, why in ignored:
        log.debug("ignoring tag %s: %s", tag, why)
    found.sort(key=lambda item: item[0])
    return TagScan([tv for _, tv in found], ignored)


def latest(
    scheme: str, pattern: str, tags: Iterable[str], *, stable: bool = True, name: str | None = None
) -> str | None:
    """The newest version among ``tags`` that match ``pattern`` (None if none does).

    With ``stable`` (the default) pre-releases are left out.  Tags that do not
    match the pattern or whose version does not parse under ``scheme`` are
    always left out.
    """
    chosen = latest_tag(scheme, pattern, tags, stable=stable, name=name)
    return chosen.version if chosen else None


def latest_tag(
    scheme: str, pattern: str, tags: Iterable[str], *, stable: bool = True, name: str | None = None
) -> TagVersion | None:
    """As :func:`latest`, returning the tag along with its version."""
    candidates = [tv for tv in scan_tags(scheme, pattern, tags, name=name).versions
                  if not (stable and tv.prerelease)]
    return candidates[-1] if candidates else None
