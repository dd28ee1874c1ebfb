"""Version schemes: agreement with rpm and dpkg, properties, tags, stability, CLI."""

from __future__ import annotations

import io
import itertools
import json
import random
import re
import string
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from releasetool import versions
from releasetool.cli import main
from releasetool.errors import InvalidVersionError, VersionError

TAGS_FILE = Path(__file__).parent / "data" / "clusterlabs_tags.txt"
SYMBOL = {-1: "<", 0: "=", 1: ">"}


# ---------------------------------------------------------------------------
# Corpus: real tags, tricky versions, seeded random pairs
# ---------------------------------------------------------------------------

def clusterlabs_tags() -> list[tuple[str, str, list[str]]]:
    rows = []
    for line in TAGS_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, pattern, *tags = line.split()
            rows.append((name, pattern, tags))
    return rows


def real_versions() -> list[str]:
    """Versions of the real tags, as tagged (2.1.0-rc1) and as packaged (2.1.0~rc1)."""
    out: list[str] = []
    for name, pattern, tags in clusterlabs_tags():
        for tag in tags:
            version = versions.tag_to_version(pattern, tag, name)
            assert version is not None, (pattern, tag)
            out.append(version)
            packaged = versions.upstream_order_form("debian", version)
            if packaged != version:
                out.append(packaged)
    return sorted(set(out))


RPM_TRICKY = [
    "1.0~rc1", "1.0~rc2", "1.0~~", "1.0~", "1.0~^", "1.0^", "1.0^^", "1.0^git1", "1.0^1", "1.0.1",
    "1:1.0", "0:1.0", "2:0.1", "10:0", "01.002", "1.2", "1.02", "1.0a", "1.0A", "1.0.a", "1..0",
    "1.0.", "1_0", "1.0+1", "1.0-1", "1.0-2", "1.0-10", "1.0-0.1.rc1", "1.0-1~", "1.0-1^1", "1.0-1.el9",
    "1.0-1.fc40", "1:1.0-1", "1.0~rc1-1", "10", "9", "1", "1.00", "001", "a", "abc", "Z", "1.0-a", "1.0-A",
    "2.1.0-rc1", "2.1.0", "2.1.0~rc1", "2.1.0^20240101git1", "2.1.0.rc1", "2.1.0rc1", "4.16.0rc1",
]

DEB_TRICKY = [
    "1.0~rc1", "1.0~rc2", "1.0~~", "1.0~", "1.0", "1.0.1", "1.0+1", "1.0+dfsg-1", "1.0+b1", "1.0.a",
    "1.0a", "1.0A", "1.0-1", "1.0-0", "1.0-10", "1.0-1~bpo12+1", "1.0-1+deb12u1", "1.0-1.1", "1.0-a",
    "1.0-A", "1.0-~", "1:1.0", "0:1.0", "2:0.1", "1:1.0-1", "1:1.0:1", "1.0-1-1", "1.0-1-2", "0", "00",
    "1.0..1", "1.0.", "1.02", "1.2", "01.002", "10", "9", "1", "2.1.0-rc1", "2.1.0~rc1", "2.1.0.rc1",
    "2.1.0rc1", "4.16.0rc1", "1.0~rc1-1", "1.0+git20240101", "1.0~git20240101",
]


def _random_version(rng: random.Random, scheme: str) -> str:
    letters = "aAbz"
    if scheme == "rpm":
        body = "".join(rng.choice("0123456789" * 3 + letters + ".~^_+") for _ in range(rng.randint(1, 7)))
        epoch = f"{rng.randint(0, 2)}:" if rng.random() < 0.25 else ""
        release = "-" + "".join(rng.choice("0123456789" + letters + ".~^") for _ in range(rng.randint(1, 4))) \
            if rng.random() < 0.4 else ""
        return epoch + body + release
    revision = "-" + "".join(rng.choice("0123456789" + letters + ".+~") for _ in range(rng.randint(1, 4))) \
        if rng.random() < 0.4 else ""
    epoch = f"{rng.randint(0, 2)}:" if rng.random() < 0.25 else ""
    extra = ("-" if revision else "") + (":" if epoch else "")
    body = rng.choice("0123456789") + "".join(
        rng.choice("0123456789" * 3 + letters + ".+~" + extra) for _ in range(rng.randint(0, 6)))
    return epoch + body + revision


def _mutate(rng: random.Random, text: str, scheme: str) -> str:
    pos = rng.randint(1, len(text))
    choice = rng.random()
    if choice < 0.3:
        return text[:pos] + rng.choice("~^" if scheme == "rpm" else "~+") + text[pos:]
    if choice < 0.6:
        return text[:pos] + rng.choice("0a.") + text[pos:]
    if choice < 0.8 and len(text) > 1:
        return text[:pos - 1] + text[pos:]
    return text + rng.choice(["", "0", ".0", "~rc1", "a"])


def random_pairs(scheme: str, count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pairs: list[tuple[str, str]] = []
    while len(pairs) < count:
        a = _random_version(rng, scheme)
        b = _mutate(rng, a, scheme) if rng.random() < 0.5 else _random_version(rng, scheme)
        try:
            versions.parse(scheme, a)
            versions.parse(scheme, b)
        except VersionError:
            continue
        pairs.append((a, b))
    return pairs


def corpus_pairs(scheme: str) -> list[tuple[str, str]]:
    real = [v for v in real_versions() if _valid(scheme, v)]
    tricky = RPM_TRICKY if scheme == "rpm" else DEB_TRICKY
    pool = sorted(set(real) | set(tricky))
    pairs = list(itertools.combinations(pool, 2))
    if scheme == "debian":
        # dpkg takes a process a comparison: a fixed sample of about 900 pairs
        pairs = random.Random(7).sample(pairs, min(len(pairs), 900))
    # some the other way round, and every tricky version against itself
    pairs += [(b, a) for a, b in pairs[::7]] + [(v, v) for v in tricky]
    return pairs + random_pairs(scheme, 300, seed=440 if scheme == "rpm" else 1021)


def _valid(scheme: str, text: str) -> bool:
    try:
        versions.parse(scheme, text)
    except VersionError:
        return False
    return True


def rpm_vercmp_all(pairs: list[tuple[str, str]], tmp_path: Path) -> list[int]:
    """rpm's own comparison (rpm.vercmp, i.e. rpmverCmp on EVR strings), one rpm run for all pairs."""
    data = tmp_path / "pairs.txt"
    data.write_text("".join(f"{a} {b}\n" for a, b in pairs))
    script = (
        "%{lua: for line in io.lines('" + str(data) + "') do "
        "local a, b = line:match('^(%S+) (%S+)$'); print(rpm.vercmp(a, b) .. '\\n') end }"
    )
    done = subprocess.run(["rpm", "--eval", script], capture_output=True, text=True, check=True)
    return [int(x) for x in done.stdout.split()]


def dpkg_compare_all(pairs: list[tuple[str, str]]) -> list[int]:
    """dpkg --compare-versions for every pair, in one shell loop."""
    loop = (
        'while read -r a b; do '
        'if dpkg --compare-versions "$a" lt "$b"; then echo -1; '
        'elif dpkg --compare-versions "$a" eq "$b"; then echo 0; else echo 1; fi; done'
    )
    done = subprocess.run(["sh", "-c", loop], input="".join(f"{a} {b}\n" for a, b in pairs),
                          capture_output=True, text=True, check=True)
    assert "warning" not in done.stderr, done.stderr
    return [int(x) for x in done.stdout.split()]


def test_real_tags_all_convert() -> None:
    found = real_versions()
    assert {"1.1.9", "2.1.0-rc1", "2.1.0~rc1", "3.0.0", "3.1.9", "0.12.0", "1.30", "5.0.0"} <= set(found)


def test_rpm_agrees_with_rpm_vercmp(tmp_path: Path) -> None:
    pairs = corpus_pairs("rpm")
    assert len(pairs) >= 1000
    expected = rpm_vercmp_all(pairs, tmp_path)
    assert len(expected) == len(pairs)
    wrong = [(a, b, SYMBOL[e], SYMBOL[versions.compare("rpm", a, b)])
             for (a, b), e in zip(pairs, expected, strict=True) if versions.compare("rpm", a, b) != e]
    assert wrong == []


def test_debian_agrees_with_dpkg() -> None:
    pairs = corpus_pairs("debian")
    assert len(pairs) >= 1000
    expected = dpkg_compare_all(pairs)
    assert len(expected) == len(pairs)
    wrong = [(a, b, SYMBOL[e], SYMBOL[versions.compare("debian", a, b)])
             for (a, b), e in zip(pairs, expected, strict=True) if versions.compare("debian", a, b) != e]
    assert wrong == []


def test_dpkg_rejects_what_we_reject() -> None:
    """Versions dpkg refuses outright (an error, not a warning) are invalid here too."""
    for bad in ["1:", ":1.0", "a:1.0", "1.0-", "1:-1", "1 0", "99999999999:1"]:
        done = subprocess.run(["dpkg", "--compare-versions", bad, "eq", "1"], capture_output=True, text=True)
        assert done.returncode == 2 and "bad syntax" in done.stderr, bad
        assert not _valid("debian", bad), bad


# ---------------------------------------------------------------------------
# Straight ports of the two C algorithms, to check the sort keys against
# ---------------------------------------------------------------------------

def ref_rpmvercmp(a: str, b: str) -> int:
    if a == b:
        return 0
    digits, alpha = set(string.digits), set(string.ascii_letters)
    i = j = 0
    while i < len(a) or j < len(b):
        while i < len(a) and a[i] not in digits | alpha and a[i] not in "~^":
            i += 1
        while j < len(b) and b[j] not in digits | alpha and b[j] not in "~^":
            j += 1
        ca, cb = a[i:i + 1], b[j:j + 1]
        if "~" in (ca, cb):
            if ca != "~":
                return 1
            if cb != "~":
                return -1
            i, j = i + 1, j + 1
            continue
        if "^" in (ca, cb):
            if not ca:
                return -1
            if not cb:
                return 1
            if ca != "^":
                return 1
            if cb != "^":
                return -1
            i, j = i + 1, j + 1
            continue
        if not (ca and cb):
            break
        kind = digits if ca in digits else alpha
        si, sj = i, j
        while i < len(a) and a[i] in kind:
            i += 1
        while j < len(b) and b[j] in kind:
            j += 1
        sa, sb = a[si:i], b[sj:j]
        if not sb:
            return 1 if kind is digits else -1
        if kind is digits:
            sa, sb = sa.lstrip("0"), sb.lstrip("0")
            if len(sa) != len(sb):
                return 1 if len(sa) > len(sb) else -1
        if sa != sb:
            return 1 if sa > sb else -1
    if i >= len(a) and j >= len(b):
        return 0
    return -1 if i >= len(a) else 1


def ref_rpm_evr(a: str, b: str) -> int:
    def split(s: str) -> tuple[str, str, str | None]:
        k = 0
        while k < len(s) and s[k].isdigit():
            k += 1
        epoch, rest = (s[:k] or "0", s[k + 1:]) if s[k:k + 1] == ":" else ("0", s)
        version, sep, release = rest.rpartition("-")
        return (epoch, version, release) if sep else (epoch, rest, None)

    (ea, va, ra), (eb, vb, rb) = split(a), split(b)
    rc = ref_rpmvercmp(ea, eb) or ref_rpmvercmp(va, vb)
    if rc or ra == rb:
        return rc
    if ra is None or rb is None:
        return -1 if ra is None else 1
    return ref_rpmvercmp(ra, rb)


def ref_verrevcmp(a: str, b: str) -> int:
    def order(c: str) -> int:
        if not c or c.isdigit():
            return 0
        if c in string.ascii_letters:
            return ord(c)
        return -1 if c == "~" else ord(c) + 256

    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac, bc = order(a[i:i + 1]), order(b[j:j + 1])
            if ac != bc:
                return -1 if ac < bc else 1
            i, j = i + 1, j + 1
        while a[i:i + 1] == "0":
            i += 1
        while b[j:j + 1] == "0":
            j += 1
        while a[i:i + 1].isdigit() and b[j:j + 1].isdigit():
            first_diff = first_diff or (ord(a[i]) - ord(b[j]))
            i, j = i + 1, j + 1
        if a[i:i + 1].isdigit():
            return 1
        if b[j:j + 1].isdigit():
            return -1
        if first_diff:
            return -1 if first_diff < 0 else 1
    return 0


def ref_dpkg(a: str, b: str) -> int:
    def split(s: str) -> tuple[int, str, str]:
        epoch, rest = s.split(":", 1) if ":" in s else ("0", s)
        upstream, sep, revision = rest.rpartition("-")
        return (int(epoch), upstream, revision) if sep else (int(epoch), rest, "")

    (ea, ua, ra), (eb, ub, rb) = split(a), split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return ref_verrevcmp(ua, ub) or ref_verrevcmp(ra, rb)


# ---------------------------------------------------------------------------
# Hypothesis strategies, one a scheme
# ---------------------------------------------------------------------------

_ALNUM_FEW = "0123456789" * 2 + "aAbzZ"


def _text(alphabet: str, min_size: int = 1, max_size: int = 8) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=min_size, max_size=max_size)


@st.composite
def rpm_versions(draw: st.DrawFn) -> str:
    epoch = draw(st.sampled_from(["", "", "0:", "1:", "10:", "01:"]))
    version = draw(_text(_ALNUM_FEW + "._+~^"))
    release = draw(st.one_of(st.just(""), _text(_ALNUM_FEW + ".~^", max_size=4).map(lambda r: "-" + r)))
    return epoch + version + release


@st.composite
def debian_versions(draw: st.DrawFn) -> str:
    epoch = draw(st.sampled_from(["", "", "0:", "1:", "10:"]))
    revision = draw(st.one_of(st.just(""), _text(_ALNUM_FEW + ".+~", max_size=4).map(lambda r: "-" + r)))
    extra = ("-" if revision else "") + (":" if epoch else "")
    upstream = draw(st.sampled_from(string.digits)) + draw(_text(_ALNUM_FEW + ".+~" + extra, min_size=0))
    return epoch + upstream + revision


@st.composite
def pep440_versions(draw: st.DrawFn) -> str:
    text = ".".join(str(n) for n in draw(st.lists(st.integers(0, 12), min_size=1, max_size=4)))
    if draw(st.booleans()):
        text = f"{draw(st.integers(0, 2))}!{text}"
    if draw(st.booleans()):
        text += draw(st.sampled_from(["a", "b", "rc", "-alpha", ".beta", "c", "pre"])) + str(draw(st.integers(0, 3)))
    if draw(st.booleans()):
        text += f".post{draw(st.integers(0, 3))}"
    if draw(st.booleans()):
        text += f".dev{draw(st.integers(0, 3))}"
    if draw(st.booleans()):
        text += "+" + draw(st.sampled_from(["local", "1", "abc.5", "ubuntu.1"]))
    return text


@st.composite
def semver_versions(draw: st.DrawFn) -> str:
    core = ".".join(str(draw(st.integers(0, 12))) for _ in range(3))
    ident = st.one_of(st.integers(0, 20).map(str), st.sampled_from(["alpha", "beta", "rc", "x-y", "0a", "A"]))
    pre = draw(st.lists(ident, max_size=3))
    build = draw(st.lists(st.sampled_from(["001", "sha", "exp-1", "20240101"]), max_size=2))
    return core + ("-" + ".".join(pre) if pre else "") + ("+" + ".".join(build) if build else "")


STRATEGIES: dict[str, st.SearchStrategy[str]] = {
    "rpm": rpm_versions(),
    "debian": debian_versions(),
    "pep440": pep440_versions(),
    "semver": semver_versions(),
}


def _schemes(fn: Callable[..., None]) -> Callable[..., None]:
    return pytest.mark.parametrize("scheme", versions.SCHEMES)(fn)


@given(data=st.data())
@settings(max_examples=200, deadline=None)
@pytest.mark.parametrize("scheme", ["rpm", "debian"])
def test_sort_key_matches_the_c_algorithm(scheme: str, data: st.DataObject) -> None:
    a = data.draw(STRATEGIES[scheme])
    b = data.draw(st.one_of(STRATEGIES[scheme], st.just(a + "~"), st.just(a + ".0"), st.just(a + "^")))
    if not _valid(scheme, b):
        b = a
    reference = ref_rpm_evr if scheme == "rpm" else ref_dpkg
    assert versions.compare(scheme, a, b) == reference(a, b)


@_schemes
@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_reflexive_and_antisymmetric(scheme: str, data: st.DataObject) -> None:
    a = data.draw(STRATEGIES[scheme])
    b = data.draw(STRATEGIES[scheme])
    assert versions.compare(scheme, a, a) == 0
    assert versions.compare(scheme, a, b) == -versions.compare(scheme, b, a)


@_schemes
@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_transitive(scheme: str, data: st.DataObject) -> None:
    a, b, c = (data.draw(STRATEGIES[scheme]) for _ in range(3))
    for x, y, z in itertools.permutations((a, b, c)):
        if versions.compare(scheme, x, y) <= 0 and versions.compare(scheme, y, z) <= 0:
            assert versions.compare(scheme, x, z) <= 0
        if versions.compare(scheme, x, y) == 0 and versions.compare(scheme, y, z) == 0:
            assert versions.compare(scheme, x, z) == 0


@_schemes
@given(data=st.data())
@settings(max_examples=100, deadline=None)
def test_sort_key_consistent_with_compare(scheme: str, data: st.DataObject) -> None:
    items = data.draw(st.lists(STRATEGIES[scheme], min_size=2, max_size=8))
    ordered = sorted(items, key=versions.sort_key(scheme))
    for x, y in itertools.pairwise(ordered):
        assert versions.compare(scheme, x, y) <= 0
    key = versions.sort_key(scheme)
    for x, y in itertools.combinations(items, 2):
        assert (key(x) == key(y)) == (versions.compare(scheme, x, y) == 0)


# ---------------------------------------------------------------------------
# Scheme specifics
# ---------------------------------------------------------------------------

def test_semver_precedence_chain() -> None:
    chain = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
             "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0"]
    for x, y in itertools.pairwise(chain):
        assert versions.compare("semver", x, y) == -1, (x, y)
    assert versions.compare("semver", "1.0.0+build.1", "1.0.0+build.2") == 0
    assert versions.compare("semver", "1.0.0-rc.1+a", "1.0.0-rc.1") == 0


def test_pep440_order() -> None:
    chain = ["1.0.dev1", "1.0a1", "1.0b2", "1.0rc1", "1.0", "1.0.post1", "1.1", "1!0.1"]
    for x, y in itertools.pairwise(chain):
        assert versions.compare("pep440", x, y) == -1, (x, y)
    assert versions.compare("pep440", "1.0", "1.0.0") == 0


@pytest.mark.parametrize(("scheme", "text", "reason"), [
    ("rpm", "", "the version is empty"),
    ("rpm", "1.0 1", "it contains whitespace or a control character"),
    ("rpm", ":1.0", "the epoch before ':' is empty"),
    ("rpm", "1:", "the version is empty"),
    ("rpm", "1.0-", "the release after the last '-' is empty"),
    ("rpm", "-1", "the version is empty"),
    ("rpm", "1.0-1-2", "invalid character '-' in the version ('-' may appear only once, before the release)"),
    ("rpm", "a:1.0", "invalid character ':' in the version (allowed: letters, digits, . _ + ~ ^)"),
    ("rpm", "1.0/2", "invalid character '/' in the version (allowed: letters, digits, . _ + ~ ^)"),
    ("rpm", "1.0-1/2", "invalid character '/' in the release (allowed: letters, digits, . _ + ~ ^)"),
    ("rpm", "1.0é", "invalid character 'é' in the version (allowed: letters, digits, . _ + ~ ^)"),
    ("debian", "", "the version is empty"),
    ("debian", "abc", "the upstream version must start with a digit"),
    ("debian", "1:", "nothing follows the epoch's ':'"),
    ("debian", ":1.0", "the epoch before ':' is empty"),
    ("debian", "a:1.0", "the epoch 'a' is not a number"),
    ("debian", "-1:1.0", "the epoch '-1' is not a number"),
    ("debian", "99999999999:1", "the epoch 99999999999 is too big"),
    ("debian", "1.0-", "the revision after the last '-' is empty"),
    ("debian", "-1", "the upstream version is empty"),
    ("debian", "1.0_1", "invalid character '_' in the upstream version (allowed: letters, digits, . + ~ - :)"),
    ("debian", "1.0-1_1", "invalid character '_' in the revision (allowed: letters, digits, . + ~)"),
    ("debian", "1.0-1:1", "the epoch '1.0-1' is not a number"),
    ("debian", "1.0^1", "invalid character '^' in the upstream version (allowed: letters, digits, . + ~ - :)"),
    ("pep440", "1.0-foo", "it does not follow PEP 440"),
    ("pep440", " 1.0", "it contains whitespace or a control character"),
    ("semver", "v1.2.3", "a leading 'v' is not part of the version (put it in the tag pattern: 'v{version}')"),
    ("semver", "1.2", "the version needs exactly MAJOR.MINOR.PATCH"),
    ("semver", "1.02.3", "'02' has a leading zero"),
    ("semver", "1.x.3", "'x' is not a non-negative integer"),
    ("semver", "1.2.3-01", "numeric identifier '01' in the pre-release has a leading zero"),
    ("semver", "1.2.3-rc..1", "empty identifier in the pre-release"),
    ("semver", "1.2.3+", "empty identifier in the build metadata"),
    ("semver", "1.2.3-rc_1", "invalid character '_' in the pre-release (allowed: letters, digits, '-')"),
])
def test_invalid_versions(scheme: str, text: str, reason: str) -> None:
    with pytest.raises(InvalidVersionError) as info:
        versions.parse(scheme, text)
    assert str(info.value) == reason
    assert info.value.message == f"{text!r} is not a valid {scheme} version: {reason}"
    assert info.value.hint and info.value.hint.startswith(f"{scheme} versions look like ")
    assert info.value.exit_code == 2


def test_semver_build_metadata_may_have_leading_zeros() -> None:
    assert versions.parse("semver", "1.2.3+001") == "1.2.3+001"


def test_unknown_scheme() -> None:
    with pytest.raises(VersionError, match="unknown version scheme 'calver'"):
        versions.compare("calver", "1", "2")


@pytest.mark.parametrize(("scheme", "version", "pre"), [
    ("rpm", "2.1.0-rc1", True), ("rpm", "2.1.0~rc1", True), ("rpm", "2.1.0.rc1", True),
    ("rpm", "2.1.0_RC1", True), ("rpm", "4.16.0rc1", True), ("rpm", "1.0~beta", True),
    ("rpm", "1.0-alpha.2", True), ("rpm", "1.0pre3", True), ("rpm", "1.0.dev2", True),
    ("rpm", "1.0a1", True), ("rpm", "1.0b2", True), ("rpm", "1.0-0.1.rc1", True),
    ("rpm", "2.1.9", False), ("rpm", "1.0.2a", False), ("rpm", "1.0-preview", False),
    ("rpm", "1.0^git20240101", False), ("rpm", "1.0.bugfix", False), ("rpm", "1.0-1.el9", False),
    ("debian", "2.1.0~rc1-1", True), ("debian", "1.0+dfsg-1", False), ("debian", "1.0-1~bpo12+1", False),
    ("pep440", "1.0rc1", True), ("pep440", "1.0.dev1", True), ("pep440", "1.0a1", True),
    ("pep440", "1.0", False), ("pep440", "1.0.post1", False),
    ("semver", "1.0.0-rc.1", True), ("semver", "1.0.0-anything", True), ("semver", "1.0.0+rc1", False),
])
def test_is_prerelease(scheme: str, version: str, pre: bool) -> None:
    assert versions.is_prerelease(scheme, version) is pre


# ---------------------------------------------------------------------------
# Tags
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "tag", "name", "version"), [
    ("v{version}", "v3.1.9", None, "3.1.9"),
    ("Pacemaker-{version}", "Pacemaker-2.1.0-rc1", None, "2.1.0-rc1"),
    ("{name}-{version}", "fence-agents-4.16.0", "fence-agents", "4.16.0"),
    ("{version}", "5.0.0", None, "5.0.0"),
    ("release/{version}/final", "release/1.2/final", None, "1.2"),
    ("v{version}", "v", None, None),
    ("v{version}", "rolling", None, None),
    ("v{version}", "latest", None, None),
    ("v{version}", "v1.0/fixes", None, None),
    ("Pacemaker-{version}", "pacemaker-2.1.9", None, None),
    ("{name}-{version}", "booth-1.2", "sbd", None),
])
def test_tag_to_version(pattern: str, tag: str, name: str | None, version: str | None) -> None:
    assert versions.tag_to_version(pattern, tag, name) == version


def test_version_to_tag_round_trip() -> None:
    for name, pattern, tags in clusterlabs_tags():
        for tag in tags:
            version = versions.tag_to_version(pattern, tag, name)
            assert version is not None
            assert versions.version_to_tag(pattern, version, name) == tag


@pytest.mark.parametrize(("pattern", "version", "message"), [
    ("v{version}", "2.1.0~rc1", "tag 'v2.1.0~rc1' for version '2.1.0~rc1' is not a valid git tag name: "
     "git refuses '~' in ref names"),
    ("v{version}", "1.0^git1", "tag 'v1.0^git1' for version '1.0^git1' is not a valid git tag name: "
     "git refuses '^' in ref names"),
    ("v{version}", "1.0.", "tag 'v1.0.' for version '1.0.' is not a valid git tag name: "
     "a ref name cannot start or end with '/' or end with '.'"),
    ("v{version}", "1..0", "tag 'v1..0' for version '1..0' is not a valid git tag name: "
     "git refuses '..', '@{' and '//' in ref names"),
    ("{version}", "1.0.lock", "tag '1.0.lock' for version '1.0.lock' is not a valid git tag name: "
     "no part of a ref name may start with '.' or end with '.lock'"),
    ("v{version}", "1/0", "'1/0' cannot be the version part of a tag (it must be non-empty, without '/')"),
    ("v{version}", "", "'' cannot be the version part of a tag (it must be non-empty, without '/')"),
    ("{name}-{version}", "1.0", "tag pattern '{name}-{version}' uses {name} but no component name was given"),
    ("v{version}-{version}", "1.0", "tag pattern 'v{version}-{version}' must contain {version} exactly once"),
    ("release", "1.0", "tag pattern 'release' must contain {version} exactly once"),
])
def test_version_to_tag_refuses(pattern: str, version: str, message: str) -> None:
    with pytest.raises(VersionError) as info:
        versions.version_to_tag(pattern, version)
    assert info.value.message == message


def test_tag_names_agree_with_git(tmp_path: Path) -> None:
    _repo_with_tags(tmp_path, [])
    for tag in ["v1.0", "v1.0~rc1", "v1.0^", "v1..0", "v1.0.", "v1.0.lock", "a/.b", "v1@{0", "@", "@{", "v1:0",
                "v1 0", "v1*", "v1?", "v1[", "v1\\0", "a//b", "Pacemaker-2.1.0-rc1", "v1.0+git", "x/y",
                "a./b", "v1@", "a/b.lock/c", "a/.lock", "v1.lock", ".v1", "v1.", "é1"]:
        ok = subprocess.run(["git", "check-ref-format", f"refs/tags/{tag}"], cwd=tmp_path).returncode == 0
        assert (versions.check_tag_name(tag) is None) == ok, tag
    # check-ref-format takes it, `git tag` does not
    refused = subprocess.run(["git", "tag", "--", "-v1"], cwd=tmp_path, capture_output=True, text=True)
    assert refused.returncode != 0 and "not a valid tag name" in refused.stderr
    assert versions.check_tag_name("-v1") == "git tag refuses names starting with '-'"


PACEMAKER = ["Pacemaker-1.1.9", "Pacemaker-2.1.0-rc1", "Pacemaker-2.1.9", "Pacemaker-3.0.0",
             "Pacemaker-3.0.1-rc1", "rolling", "latest", "Pacemaker-3.0.1-test", "pacemaker-9.0"]


@pytest.mark.parametrize("scheme", ["rpm", "debian"])
def test_latest_pacemaker(scheme: str) -> None:
    assert versions.latest(scheme, "Pacemaker-{version}", PACEMAKER) == "3.0.0"
    assert versions.latest(scheme, "Pacemaker-{version}", PACEMAKER, stable=False) == "3.0.1-rc1"
    assert versions.latest(scheme, "Pacemaker-{version}", PACEMAKER[:2] + PACEMAKER[5:]) == "1.1.9"
    assert versions.latest(scheme, "Pacemaker-{version}", ["rolling", "latest"]) is None


@pytest.mark.parametrize("scheme", ["rpm", "debian"])
def test_release_candidate_sorts_before_its_release(scheme: str) -> None:
    for rc in ["v2.1.0-rc1", "v2.1.0.rc1", "v2.1.0_rc1", "v2.1.0rc1", "v2.1.0-RC1", "v2.1.0-beta.2"]:
        tags = ["v2.0.9", "v2.1.0", rc]
        assert versions.latest(scheme, "v{version}", tags, stable=False) == "2.1.0", rc
        assert versions.latest(scheme, "v{version}", ["v2.0.9", rc], stable=False) == rc[1:], rc


def test_latest_ignores_unparsable_tags() -> None:
    tags = ["v2.0-test", "rolling", "latest", "v1.9", "v1.10", "vnext", "v1.8/fix"]
    assert versions.latest("rpm", "v{version}", tags) == "1.10"
    assert versions.latest("debian", "v{version}", tags) == "1.10"
    assert versions.latest("pep440", "v{version}", tags) == "1.10"
    assert versions.latest("semver", "v{version}", [*tags, "v1.2.3", "v2.0.0-test"]) == "1.2.3"
    assert versions.latest("semver", "v{version}", [*tags, "v1.2.3", "v2.0.0-test"], stable=False) == "2.0.0-test"
    scan = versions.scan_tags("rpm", "v{version}", tags)
    assert [tv.tag for tv in scan.versions] == ["v1.9", "v1.10"]
    assert dict(scan.ignored) == {
        "v2.0-test": "invalid character '-' in an upstream version taken from a tag "
                     "('-' only before a pre-release marker such as -rc1)",
        "rolling": "does not match 'v{version}'",
        "latest": "does not match 'v{version}'",
        "vnext": "an upstream version taken from a tag must start with a digit",
        "v1.8/fix": "does not match 'v{version}'",
    }


def test_latest_with_name_pattern() -> None:
    tags = ["fence-agents-4.15.0", "fence-agents-4.16.0", "fence-agents-4.16.0rc1", "sbd-9.0"]
    assert versions.latest("rpm", "{name}-{version}", tags, name="fence-agents") == "4.16.0"
    chosen = versions.latest_tag("rpm", "{name}-{version}", tags, name="fence-agents", stable=False)
    assert chosen == versions.TagVersion("fence-agents-4.16.0", "4.16.0", False)


def test_latest_of_every_real_component() -> None:
    for name, pattern, tags in clusterlabs_tags():
        newest = versions.latest("rpm", pattern, list(reversed(tags)), name=name)
        stable = [versions.tag_to_version(pattern, t, name) for t in tags
                  if not versions.is_prerelease("rpm", versions.tag_to_version(pattern, t, name) or "")]
        assert newest == stable[-1], name  # the data file lists tags oldest first


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(("scheme", "a", "b", "out"), [
    ("rpm", "2.1.0~rc1", "2.1.0", "<"),
    ("rpm", "1:1.0", "2.0", ">"),
    ("debian", "1.0-0", "1.0", "="),
    ("semver", "1.0.0+a", "1.0.0+b", "="),
    ("pep440", "0.12.0", "0.11.9", ">"),
])
def test_cli_compare(scheme: str, a: str, b: str, out: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["versions", "compare", "--scheme", scheme, a, b]) == 0
    captured = capsys.readouterr()
    assert captured.out == out + "\n"
    assert captured.err == ""


def test_cli_compare_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["versions", "compare", "--json", "-s", "rpm", "1.0", "1.0^1"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "scheme": "rpm", "a": "1.0", "b": "1.0^1", "result": "<", "order": -1}


def test_cli_compare_invalid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["versions", "compare", "--scheme", "debian", "abc", "1.0"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "error: 'abc' is not a valid debian version: the upstream version must start with a digit",
        "hint: debian versions look like [EPOCH:]UPSTREAM[-REVISION] starting with a digit, "
        "e.g. 2.1.9, 2.1.0~rc1-1, 1:2.1.9-3",
    ]


def test_cli_compare_unknown_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["versions", "compare", "--scheme", "calver", "1", "2"])
    assert info.value.code == 2
    assert "invalid choice: 'calver'" in capsys.readouterr().err


def test_cli_latest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["versions", "latest", "--scheme", "rpm", "--pattern", "Pacemaker-{version}", *PACEMAKER]) == 0
    assert capsys.readouterr().out == "3.0.0\n"
    assert main(["versions", "latest", "--pre", "--tag", "-s", "rpm", "-p", "Pacemaker-{version}", *PACEMAKER]) == 0
    assert capsys.readouterr().out == "Pacemaker-3.0.1-rc1\n"


def test_cli_latest_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("v3.1.9\nv2.4.6\n\nv3.1.10-rc1\n"))
    assert main(["versions", "latest", "-s", "rpm", "-p", "v{version}", "v3.0.0", "-"]) == 0
    assert capsys.readouterr().out == "3.1.9\n"


def test_cli_latest_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["versions", "latest", "--json", "-s", "rpm", "-p", "v{version}", "v1.0", "v1.1-rc1", "rolling"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "scheme": "rpm",
        "pattern": "v{version}",
        "stable_only": True,
        "latest": {"tag": "v1.0", "version": "1.0", "prerelease": False},
        "candidates": [{"tag": "v1.0", "version": "1.0", "prerelease": False},
                       {"tag": "v1.1-rc1", "version": "1.1-rc1", "prerelease": True}],
        "ignored": [{"tag": "rolling", "reason": "does not match 'v{version}'"}],
    }


def test_cli_latest_none(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["versions", "latest", "-s", "rpm", "-p", "v{version}", "v2.0-rc1", "rolling"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "error: no stable version among 2 tags matching 'v{version}' under the rpm scheme",
        "hint: 1 pre-release matched: pass --pre to include them",
    ]
    assert main(["versions", "latest", "-s", "semver", "-p", "v{version}", "rolling"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: no stable version among 1 tag matching 'v{version}' under the semver scheme",
        "hint: check the pattern against `git tag` (-v lists every ignored tag with the reason)",
    ]


def test_cli_latest_verbose_lists_ignored(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["versions", "latest", "-v", "-s", "rpm", "-p", "v{version}", "v1.0", "latest"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "1.0\n"
    assert captured.err.splitlines() == ["ignoring tag latest: does not match 'v{version}'"]


def test_cli_latest_name_missing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["versions", "latest", "-s", "rpm", "-p", "{name}-{version}", "booth-1.2"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: tag pattern '{name}-{version}' uses {name} but no component name was given",
        "hint: pass the component name (--name on the command line)",
    ]


def test_cli_sort(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["versions", "sort", "-s", "rpm", "2.1.0", "2.1.0~rc1", "2.1.0^git1", "1:1.0", "2.1"]) == 0
    assert capsys.readouterr().out.splitlines() == ["2.1", "2.1.0~rc1", "2.1.0", "2.1.0^git1", "1:1.0"]
    assert main(["versions", "sort", "-r", "--json", "-s", "pep440", "0.11.9", "0.12.0", "0.12.0a1"]) == 0
    assert json.loads(capsys.readouterr().out) == ["0.12.0", "0.12.0a1", "0.11.9"]


def test_cli_tag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["versions", "tag", "-p", "{name}-{version}", "--name", "booth", "1.2"]) == 0
    assert capsys.readouterr().out == "booth-1.2\n"
    assert main(["versions", "tag", "-p", "v{version}", "2.1.0~rc1"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: tag 'v2.1.0~rc1' for version '2.1.0~rc1' is not a valid git tag name: git refuses '~' in ref names",
        "hint: rpm and Debian spell a pre-release 2.1.0~rc1, but a git tag cannot contain '~': "
        "tag 2.1.0-rc1 and write ~rc1 only in the packaging",
    ]


def test_cli_versions_without_action(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["versions"]) == 2
    assert "compare" in capsys.readouterr().err


def test_help_has_examples() -> None:
    from releasetool.cli import build_parser

    parser = build_parser()
    versions_parser = parser._subparsers._group_actions[0].choices["versions"]  # type: ignore[union-attr]
    actions = versions_parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(actions) == {"compare", "latest", "sort", "tag"}
    for name, sub in actions.items():
        text = sub.format_help()
        assert "examples:" in text and "exit status:" in text, name


def _repo_with_tags(path: Path, tags: list[str]) -> Path:
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "first"], cwd=path, check=True)
    for tag in tags:
        subprocess.run(["git", "tag", tag], cwd=path, check=True)
    return path


def test_cli_latest_from_component_and_repo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = _repo_with_tags(tmp_path / "corosync", ["v3.1.8", "v3.1.9", "v3.1.10-rc1", "rolling", "needle-1.0"])
    manifest = str(Path(__file__).parent / "manifests" / "good.yaml")
    assert main(["versions", "latest", "--manifest", manifest, "-c", "corosync", "--repo", str(repo)]) == 0
    assert capsys.readouterr().out == "3.1.9\n"
    assert main(["versions", "latest", "--manifest", manifest, "-c", "corosync", "--repo", str(repo), "--pre",
                 "v3.2.0-rc1"]) == 0
    assert capsys.readouterr().out == "3.2.0-rc1\n"
    assert versions.repository_tags(str(repo)) == ["needle-1.0", "rolling", "v3.1.10-rc1", "v3.1.8", "v3.1.9"]


def test_cli_latest_argument_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["versions", "latest", "-s", "rpm", "v1.0"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: versions latest needs --scheme and --pattern, or --component",
        "hint: e.g. --scheme rpm --pattern 'v{version}', or --component corosync",
    ]
    assert main(["versions", "latest", "-s", "rpm", "-p", "v{version}"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: versions latest needs tags: TAG arguments, '-' to read them from stdin, or --repo PATH",
        "hint: e.g. git tag | releasetool versions latest ... -",
    ]
    missing = tmp_path / "nothing"
    missing.mkdir()
    assert main(["versions", "latest", "-s", "rpm", "-p", "v{version}", "--repo", str(missing)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {missing}: cannot list tags: fatal: not a git repository (or any of the parent directories): .git",
        "hint: give the path of a git repository (a clone of the component)",
    ]


@given(text=st.text(alphabet="0123456789aZ.:-~^_+/ é", max_size=10))
@settings(max_examples=300, deadline=None)
def test_fast_paths_accept_what_the_checks_accept(text: str) -> None:
    """The regular expressions that take common versions quickly agree with the full checks."""
    never = re.compile(r"(?!)")
    for scheme, parser, attr in (("rpm", versions._parse_rpm, "_RPM_EVR"), ("debian", versions._parse_debian, "_DEB_SIMPLE")):
        try:
            fast: object = parser(text)
        except VersionError as exc:
            fast = str(exc)
        saved = getattr(versions, attr)
        setattr(versions, attr, never)
        try:
            slow: object = parser(text)
        except VersionError as exc:
            slow = str(exc)
        finally:
            setattr(versions, attr, saved)
        assert fast == slow, (scheme, text)
