"""The manifest: the real components.yaml, a corpus of broken ones, typed access, round-trip edits."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from releasetool import manifest
from releasetool.cli import main
from releasetool.errors import ManifestError, UnknownComponentError

HERE = Path(__file__).parent
GOOD = HERE / "manifests" / "good.yaml"
BAD = sorted((HERE / "manifests" / "bad").glob("*.yaml"))


def expected_lines(path: Path) -> list[str]:
    """The ``# expect:`` lines a corpus file ends with (positions are 1-based LINE:COL)."""
    text = path.read_bytes().decode("utf-8", "replace")
    return [line[len("# expect: "):] for line in text.splitlines() if line.startswith("# expect: ")]


def test_corpus_is_large_enough() -> None:
    assert len(BAD) >= 25


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_manifest_is_refused_with_every_problem(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = expected_lines(path)
    assert expected, f"{path.name} has no '# expect:' lines"
    before = path.read_bytes()

    assert main(["validate", "--manifest", str(path)]) == 2

    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines[0].startswith(f"error: {path}:")
    problems = [line.removeprefix("error: ").removeprefix(f"{path}:") for line in lines if not line.startswith("hint:")]
    assert problems == expected
    assert path.read_bytes() == before  # validate writes nothing


def test_bad_manifest_json_lists_problems(capsys: pytest.CaptureFixture[str]) -> None:
    path = HERE / "manifests" / "bad" / "many-problems.yaml"
    assert main(["validate", "--manifest", str(path), "--json"]) == 2
    data = json.loads(capsys.readouterr().out)
    assert data["valid"] is False
    assert [p["path"] for p in data["problems"]] == [
        "components[corosync].homepage",
        "components[corosync].license",
        "components[corosync].version_scheme",
    ]


def test_good_manifest_validates(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--manifest", str(GOOD)]) == 0
    assert "valid (2 components" in capsys.readouterr().err


def test_real_manifest_validates(repo_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--manifest", str(repo_root / "components.yaml")]) == 0


def test_real_manifest_is_in_dependency_order(repo_root: Path) -> None:
    loaded = manifest.load(repo_root / "components.yaml")
    order = list(loaded.components)
    for comp in loaded.components.values():
        for dep in comp.depends:
            assert order.index(dep) < order.index(comp.name), f"{dep} must come before {comp.name}"
        assert comp.tag_for(comp.version).count(comp.version) == 1


def test_manifest_env_variable(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RELEASETOOL_MANIFEST", str(GOOD))
    assert main(["list", "--json"]) == 0
    names = [c["name"] for c in json.loads(capsys.readouterr().out)]
    assert names == ["libqb", "corosync"]


def test_list_orders_dependencies_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # corosync written first, depending on libqb written second: list still puts libqb first
    text = GOOD.read_text()
    libqb, corosync = text.split("  - name: libqb\n")[1].split("  - name: corosync\n")
    head = text.split("  - name: libqb\n")[0]
    path = tmp_path / "m.yaml"
    path.write_text(head + "  - name: corosync\n" + corosync + "  - name: libqb\n" + libqb)
    assert main(["list", "--manifest", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["NAME", "VERSION", "RELEASED", "TAG", "STATUS", "DEPENDS"]
    assert [line.split()[0] for line in out[1:]] == ["libqb", "corosync"]


def test_show_json_and_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "corosync", "--manifest", str(GOOD), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tag"] == "v3.1.9"
    assert data["depends"] == ["libqb"]
    assert main(["show", "corosynk", "--manifest", str(GOOD)]) == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        f"error: {GOOD}: no component named 'corosynk' (did you mean 'corosync'?)"
    )


def test_missing_manifest_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["list", "--manifest", str(missing)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"error: {missing}:1:1: no such file", "hint: pass --manifest FILE or set RELEASETOOL_MANIFEST"]


def test_get_raises_with_suggestion() -> None:
    loaded = manifest.load(GOOD)
    with pytest.raises(UnknownComponentError, match="did you mean 'libqb'"):
        loaded.get("libq")


# --- round-trip edits -------------------------------------------------------------------------


def _only_changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


def test_set_release_changes_two_tokens_only(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    shutil.copy(GOOD, path)
    before = path.read_text()
    manifest.set_release(path, "corosync", "3.1.10", dt.date(2025, 11, 25))
    after = path.read_text()
    assert _only_changed_lines(before, after) == [
        ('    version: "3.1.9"\n', '    version: "3.1.10"\n'),
        ("    released: 2024-11-15\n", "    released: 2025-11-25\n"),
    ]
    comp = manifest.load(path).get("corosync")
    assert (comp.version, comp.released) == ("3.1.10", dt.date(2025, 11, 25))


@pytest.mark.parametrize(
    ("line", "version", "expected"),
    [
        ('    version: "3.1.9"  # latest\n', "3.2.0", '    version: "3.2.0"  # latest\n'),
        ("    version: '3.1.9'\n", "3.2.0", "    version: '3.2.0'\n"),
        ("    version: 3.1.9\n", "3.2.0", "    version: 3.2.0\n"),
        # a plain 3.1.9 may become "3.2": unquoted YAML would read 3.2 as a number
        ("    version: 3.1.9\n", "3.2", '    version: "3.2"\n'),
        ("    version: 3.1.9 # keep\n", "3.2~rc1", "    version: 3.2~rc1 # keep\n"),
    ],
)
def test_set_release_keeps_quoting_and_comments(tmp_path: Path, line: str, version: str, expected: str) -> None:
    path = tmp_path / "m.yaml"
    text = GOOD.read_text().replace('    version: "3.1.9"\n', line)
    path.write_text(text)
    manifest.set_release(path, "corosync", version, dt.date(2024, 11, 15))
    assert _only_changed_lines(text, path.read_text()) == [(line, expected)]
    assert manifest.load(path).get("corosync").version == version


def test_set_release_adds_missing_date_line(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(GOOD.read_text().replace("    released: 2024-11-15\n", ""))
    manifest.set_release(path, "corosync", "3.2.0", dt.date(2026, 1, 2))
    assert '    version: "3.2.0"\n    released: 2026-01-02\n' in path.read_text()


def test_set_release_keeps_crlf(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_bytes(GOOD.read_bytes().replace(b"\n", b"\r\n"))
    manifest.set_release(path, "libqb", "2.0.9", dt.date(2026, 1, 2))
    data = path.read_bytes()
    assert b'version: "2.0.9"\r\n' in data
    assert data.count(b"\r\n") == GOOD.read_bytes().count(b"\n")


@pytest.mark.slow  # every component of the real manifest: two YAML parses of the whole file per edit
def test_set_release_on_real_manifest_changes_nothing_else(repo_root: Path, tmp_path: Path) -> None:
    path = tmp_path / "components.yaml"
    shutil.copy(repo_root / "components.yaml", path)
    before = path.read_text()
    loaded = manifest.load(path)
    for comp in loaded.components.values():
        manifest.set_release(path, comp.name, comp.version + ".1", dt.date(2030, 1, 1))
    changed = _only_changed_lines(before, path.read_text())
    assert len(changed) == 2 * len(loaded.components)
    for old, new in changed:
        assert old.split(":")[0] == new.split(":")[0]
        assert old.strip().startswith(("version:", "released:"))


def test_set_release_unknown_component(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    shutil.copy(GOOD, path)
    with pytest.raises(UnknownComponentError):
        manifest.set_release(path, "pacemaker", "3.0.0", dt.date(2026, 1, 1))
    assert path.read_bytes() == GOOD.read_bytes()


# --- hostile input ----------------------------------------------------------------------------

_yaml_text = st.text(alphabet=st.sampled_from(list("abc: -[]{}\"'#\n\t.&*!|>%@`0129")), max_size=200)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_yaml_text)
def test_random_text_never_raises_anything_but_manifest_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text)
    try:
        manifest.load(path)
    except ManifestError as exc:
        assert exc.problems and all(p.line >= 1 and p.col >= 1 for p in exc.problems)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_manifest_never_raises_anything_but_manifest_error(tmp_path: Path, data: st.DataObject) -> None:
    lines = GOOD.read_text().splitlines(keepends=True)
    index = data.draw(st.integers(0, len(lines) - 1))
    mutation = data.draw(st.sampled_from(["drop", "dup", "garble", "indent", "null"]))
    line = lines[index]
    if mutation == "drop":
        del lines[index]
    elif mutation == "dup":
        lines.insert(index, line)
    elif mutation == "garble":
        lines[index] = data.draw(_yaml_text) + "\n"
    elif mutation == "indent":
        lines[index] = "  " + line
    else:
        lines[index] = line.split(":")[0] + ": ~\n" if ":" in line else line
    path = tmp_path / "mutated.yaml"
    path.write_text("".join(lines))
    try:
        manifest.load(path)
    except ManifestError as exc:
        assert exc.problems
