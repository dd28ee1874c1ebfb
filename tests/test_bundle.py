"""bundle: the download area with every component's latest release."""

from __future__ import annotations

import html.parser
import io
import json
import os
import random
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from kill import kill_while_running, snapshot
from test_release_support import Setup, commit, copy_setup, make_setup
from test_train import make_barfoo

from releasetool.cli import main
from releasetool.release import tarball


@pytest.fixture(scope="module")
def _released_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two components released by a train, made once per module (no file in it names its directory)."""
    s = make_setup(tmp_path_factory.mktemp("released"))
    make_barfoo(s.root)
    (s.root / "train.yaml").write_text("releases:\n  libfoo: 1.1.0\n  barfoo: 2.1.0\n")
    assert main(["train", "--manifest", str(s.manifest), str(s.root / "train.yaml")]) == 0
    return s.root


@pytest.fixture
def released(_released_once: Path, tmp_path: Path) -> Setup:
    """A copy of the released tree of its own for each test (repositories, manifest, history, dist)."""
    return copy_setup(_released_once, tmp_path)


def bundle_args(s: Setup, *extra: str) -> list[str]:
    return ["bundle", "--manifest", str(s.manifest), "--from", str(s.out), "--out", str(s.root / "downloads"), *extra]


def test_bundle_collects_latest_releases(released: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(bundle_args(released)) == 0
    area = released.root / "downloads"
    assert sorted(p.name for p in area.iterdir()) == [
        "SHA256SUMS", "barfoo-2.1.0.notes.md", "barfoo-2.1.0.tar.gz", "index.html", "index.json",
        "libfoo-1.1.0.notes.md", "libfoo-1.1.0.tar.gz", "libfoo-1.1.0.tar.xz"]
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=area, check=True)
    # each release's notes come along, the same bytes
    assert (area / "libfoo-1.1.0.notes.md").read_bytes() == \
        (released.out / "libfoo-1.1.0" / "libfoo-1.1.0.notes.md").read_bytes()
    index = json.loads((area / "index.json").read_text())
    assert [(c["name"], c["version"]) for c in index["components"]] == [("libfoo", "1.1.0"), ("barfoo", "2.1.0")]
    first = index["components"][0]["files"][0]
    assert first["name"] == "libfoo-1.1.0.tar.gz"
    assert first["sha256"] == tarball.file_sha256(area / "libfoo-1.1.0.tar.gz")
    assert first["size"] == (area / "libfoo-1.1.0.tar.gz").stat().st_size
    assert first["signature"] is None
    assert index["components"][0]["notes"] == "libfoo-1.1.0.notes.md"
    assert index["components"][0]["origin"] == "release"
    assert index["missing"] == []
    # The page is well-formed enough for a parser and links every file.
    links: list[str] = []

    class Links(html.parser.HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            links.extend(v or "" for k, v in attrs if tag == "a" and k == "href")

    Links().feed((area / "index.html").read_text())
    assert sorted(set(links)) == ["SHA256SUMS", "barfoo-2.1.0.notes.md", "barfoo-2.1.0.tar.gz",
                                  "libfoo-1.1.0.notes.md", "libfoo-1.1.0.tar.gz", "libfoo-1.1.0.tar.xz"]
    assert capsys.readouterr().err == f"{area}: 2 components, wrote 8 files, 0 unchanged, 0 removed\n"


def test_unchanged_files_are_not_rewritten(released: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(bundle_args(released)) == 0
    area = released.root / "downloads"
    stamps = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in area.iterdir()}
    capsys.readouterr()

    assert main(bundle_args(released)) == 0

    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in area.iterdir()} == stamps
    assert capsys.readouterr().err.splitlines() == [
        f"{area}: 2 components, wrote 0 files, 8 unchanged, 0 removed",
        "download area is up to date; nothing to do",
    ]


def test_a_new_release_replaces_the_old_files(released: Setup) -> None:
    assert main(bundle_args(released)) == 0
    commit(released.repo, {"NEWS": "1.2.0\n"}, "feat: more")
    assert main(released.args("1.2.0")) == 0
    assert main(bundle_args(released, "--json")) == 0
    area = released.root / "downloads"
    names = sorted(p.name for p in area.iterdir())
    assert "libfoo-1.2.0.tar.gz" in names and "libfoo-1.1.0.tar.gz" not in names


def test_dry_run_writes_nothing(released: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(bundle_args(released, "--dry-run", "--json")) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["written"]) == 8
    assert not (released.root / "downloads").exists()


def test_missing_release_is_an_error_unless_allowed(released: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    for path in (released.out / "barfoo-2.1.0").iterdir():
        path.unlink()
    capsys.readouterr()
    assert main(bundle_args(released)) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"error: 1 of 2 components have no release in {released.out}: barfoo 2.1.0"
    assert "--allow-missing" in err[1]
    assert not (released.root / "downloads").exists()
    assert main(bundle_args(released, "--allow-missing")) == 0
    assert capsys.readouterr().err.splitlines()[0] == "barfoo: not in the download area (--allow-missing)"
    index = json.loads((released.root / "downloads" / "index.json").read_text())
    assert index["missing"] == ["barfoo"]


def _upstream_barfoo(released: Setup, tmp_path: Path, sha256: str | None) -> tuple[Path, bytes]:
    """barfoo released upstream only: its published tarball in a directory, the manifest pointing at it."""
    for path in (released.out / "barfoo-2.1.0").iterdir():
        path.unlink()
    published = tarball.build_tarball(released.root / "barfoo", "barfoo-2.1.0", "barfoo-2.1.0", "gz")
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    (upstream / "barfoo-2.1.0.tar.gz").write_bytes(published)
    text = released.manifest.read_text().replace(
        "    depends: [libfoo]\n",
        "    depends: [libfoo]\n    tarball: https://example.org/dl/barfoo-{version}.tar.gz\n"
        + (f"    tarball_sha256: {sha256}\n" if sha256 else ""))
    released.manifest.write_text(text)
    return upstream, published


def test_upstream_published_tarball_is_taken_in_when_its_checksum_matches(released: Setup, tmp_path: Path) -> None:
    upstream, published = _upstream_barfoo(released, tmp_path, None)
    text = released.manifest.read_text().replace(
        "barfoo-{version}.tar.gz\n", f"barfoo-{{version}}.tar.gz\n    tarball_sha256: {tarball.sha256_hex(published)}\n")
    released.manifest.write_text(text)
    assert main(bundle_args(released, "--upstream-dir", str(upstream))) == 0
    area = released.root / "downloads"
    assert (area / "barfoo-2.1.0.tar.gz").read_bytes() == published
    index = json.loads((area / "index.json").read_text())
    barfoo = next(c for c in index["components"] if c["name"] == "barfoo")
    assert barfoo["origin"] == "upstream" and index["missing"] == []
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=area, check=True)


def test_upstream_tarball_with_a_wrong_or_no_checksum_is_refused(released: Setup, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    upstream, _ = _upstream_barfoo(released, tmp_path, "a" * 64)
    capsys.readouterr()
    assert main(bundle_args(released, "--upstream-dir", str(upstream))) == 2
    err = capsys.readouterr().err
    assert f"error: {upstream / 'barfoo-2.1.0.tar.gz'}: sha256 " in err
    assert "is not the manifest's tarball_sha256 " + "a" * 64 in err
    assert not (released.root / "downloads").exists()
    released.manifest.write_text(released.manifest.read_text().replace(f"    tarball_sha256: {'a' * 64}\n", ""))
    assert main(bundle_args(released, "--upstream-dir", str(upstream))) == 2
    assert "has no tarball_sha256 in the manifest" in capsys.readouterr().err


def test_upstream_tarball_is_fetched_only_with_fetch(released: Setup, tmp_path: Path, httpserver) -> None:  # type: ignore[no-untyped-def]
    _, published = _upstream_barfoo(released, tmp_path, None)
    httpserver.expect_request("/dl/barfoo-2.1.0.tar.gz").respond_with_data(published)
    text = released.manifest.read_text().replace(
        "https://example.org/dl/barfoo-{version}.tar.gz\n",
        f"{httpserver.url_for('/dl/')}barfoo-{{version}}.tar.gz\n    tarball_sha256: {tarball.sha256_hex(published)}\n")
    released.manifest.write_text(text)
    assert main(bundle_args(released)) == 2  # no --fetch: nothing downloaded, barfoo missing
    assert len(httpserver.log) == 0
    assert main(bundle_args(released, "--fetch")) == 0
    assert len(httpserver.log) == 1
    assert (released.root / "downloads" / "barfoo-2.1.0.tar.gz").read_bytes() == published


def test_nothing_to_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = make_setup(tmp_path)
    assert main(bundle_args(s)) == 2
    assert capsys.readouterr().err.splitlines()[-2] == f"error: {s.out}: no release of any component to bundle"


def test_checksum_mismatch_is_refused(released: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    path = released.out / "libfoo-1.1.0" / "libfoo-1.1.0.tar.gz"
    path.write_bytes(path.read_bytes() + b"\0")
    assert main(bundle_args(released)) == 2
    assert f"error: {path}: sha256 " in capsys.readouterr().err
    assert not (released.root / "downloads").exists()


def test_escaping_tarball_is_refused(released: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    release_dir = released.out / "libfoo-1.1.0"
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w:gz") as tar:
        info = tarfile.TarInfo("libfoo-1.1.0/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../../etc/passwd"
        tar.addfile(info)
    path = release_dir / "libfoo-1.1.0.tar.gz"
    path.write_bytes(evil.getvalue())
    (release_dir / "SHA256SUMS").unlink()  # no checksum to catch it: the member check must

    assert main(bundle_args(released)) == 2

    err = capsys.readouterr().err.splitlines()
    assert err[-2] == (f"error: {path}: member 'libfoo-1.1.0/link' is a symlink pointing outside "
                       "('../../../etc/passwd')")
    assert not (released.root / "downloads").exists()


@pytest.mark.slow  # kills processes
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_at_a_random_moment_then_rerun(released: Setup, tmp_path: Path, seed: int) -> None:
    reference = tmp_path / "reference"
    assert main(["bundle", "--manifest", str(released.manifest), "--from", str(released.out),
                 "--out", str(reference)]) == 0
    started: list[int] = []

    def start() -> subprocess.Popen[bytes]:
        child = subprocess.Popen([sys.executable, "-m", "releasetool", *bundle_args(released)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        started.append(child.pid)
        return child

    kill_while_running(start, random.Random(seed).uniform(0.1, 1.0), restore=snapshot(released.root))
    wait_for_orphans(started[-1])

    assert main(bundle_args(released)) == 0

    area = released.root / "downloads"
    assert {p.name: p.read_bytes() for p in area.iterdir()} == {p.name: p.read_bytes() for p in reference.iterdir()}


def test_signatures_travel_with_their_tarballs(released: Setup) -> None:
    release_dir = released.out / "libfoo-1.1.0"
    (release_dir / "libfoo-1.1.0.tar.gz.asc").write_text("-----BEGIN PGP SIGNATURE-----\nfake\n")
    assert main(bundle_args(released)) == 0
    area = released.root / "downloads"
    assert (area / "libfoo-1.1.0.tar.gz.asc").read_bytes() == (release_dir / "libfoo-1.1.0.tar.gz.asc").read_bytes()
    index = json.loads((area / "index.json").read_text())
    files = {f["name"]: f["signature"] for c in index["components"] for f in c["files"]}
    assert files == {"libfoo-1.1.0.tar.gz": "libfoo-1.1.0.tar.gz.asc", "libfoo-1.1.0.tar.xz": None,
                     "barfoo-2.1.0.tar.gz": None}
    assert 'href="libfoo-1.1.0.tar.gz.asc"' in (area / "index.html").read_text()
    # A signature gone from the release goes from the area too.
    (release_dir / "libfoo-1.1.0.tar.gz.asc").unlink()
    assert main(bundle_args(released)) == 0
    assert not (area / "libfoo-1.1.0.tar.gz.asc").exists()


def wait_for_orphans(group: int) -> None:
    """Let the git processes the killed run had started finish (they are not part of the kill)."""
    for _ in range(600):
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
