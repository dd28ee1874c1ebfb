"""A password in a manifest URL never leaves the manifest: every command refuses it, nothing is written."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from releasetool import manifest

SECRET = "S3cretPW-4711"

COMMANDS = [
    ["validate"],
    ["list"],
    ["show", "libqb", "--json"],
    ["render", "--all", "--out", "packaging"],
    ["site", "build", "--out", "site-out"],
    ["site", "discover", "--offline"],
    ["split", "--all", "--dry-run"],
    ["release", "libqb", "2.0.99", "--repo", "libqb", "--dry-run"],
    ["bundle", "--out", "downloads"],
    ["obs", "submit", "--all", "--dry-run"],
]


@pytest.fixture
def tainted(tmp_path: Path, repo_root: Path) -> Path:
    text = (repo_root / "components.yaml").read_text()
    clean = "git: https://github.com/ClusterLabs/libqb.git"
    assert clean in text
    (tmp_path / "components.yaml").write_text(
        text.replace(clean, f"git: https://alice:{SECRET}@github.com/ClusterLabs/libqb.git"))
    return tmp_path / "components.yaml"


def test_validate_refuses_credentials_without_showing_them(tainted: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "releasetool", "--manifest", str(tainted), "validate"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"error: {tainted}:101:10: ")
    assert lines[0].endswith(
        "components[libqb].git: 'https://***@github.com/ClusterLabs/libqb.git' has credentials in it: write "
        "the URL without them and let git find them (a credential helper: `git config credential.helper "
        "store`, or ~/.netrc)")
    assert SECRET not in done.stdout + done.stderr


@pytest.mark.parametrize("url", [
    "https://alice:pw@example.org/x.git",
    "https://ghp_token@example.org/x.git",
    "ssh://git:pw@example.org/x.git",
    "http://u:p@example.org/",
])
def test_credential_forms_refused(url: str) -> None:
    from releasetool.manifest.schema import _url

    problem = _url(url)
    assert problem is not None and "credentials" in problem
    assert "pw@" not in problem and "token" not in problem and ":p@" not in problem


def test_plain_ssh_user_is_fine() -> None:
    from releasetool.manifest.schema import _url

    assert _url("ssh://git@example.org/x.git") is None


@pytest.fixture
def tainted_small(tmp_path: Path) -> Path:
    """The small test manifest with the secret in libqb's URL: each command below parses it in a
    process of its own, and the refusal is the same whatever the manifest's size."""
    text = (Path(__file__).parent / "manifests" / "good.yaml").read_text()
    clean = "git: https://example.org/libqb.git"
    assert clean in text
    (tmp_path / "components.yaml").write_text(text.replace(clean, f"git: https://alice:{SECRET}@example.org/libqb.git"))
    return tmp_path / "components.yaml"


def test_no_command_writes_or_prints_the_secret(tainted_small: Path, tmp_path: Path) -> None:
    tainted = tainted_small
    home = tmp_path / "home"
    env = dict(os.environ, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"),
               RELEASETOOL_CACHE_DIR=str(home / ".cache" / "releasetool"), RELEASETOOL_MANIFEST=str(tainted))
    outputs = []
    for argv in COMMANDS:
        done = subprocess.run([sys.executable, "-m", "releasetool", *argv], cwd=tmp_path, env=env,
                              capture_output=True, text=True, check=False, timeout=120)
        assert done.returncode == 2, (argv, done.stderr)
        assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr, (argv, done.stderr)
        assert "has credentials in it" in done.stderr, (argv, done.stderr)
        outputs.append(done.stdout + done.stderr)
    assert not [out for out in outputs if SECRET in out]
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p != tainted]
    leaked = [p for p in files if SECRET.encode() in p.read_bytes()]
    assert leaked == []


def test_manifest_cache_is_private(tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELEASETOOL_CACHE_DIR", str(tmp_path / "cache"))
    manifest.load(repo_root / "components.yaml")
    pickles = list((tmp_path / "cache" / "manifest").glob("*.pickle"))
    assert len(pickles) == 1
    assert stat.S_IMODE(pickles[0].stat().st_mode) == 0o600
