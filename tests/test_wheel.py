"""The built wheel carries its data: installed outside the checkout, it renders, builds the page and runs."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH would put a source tree (and the egg-info a build leaves there) before the install
    env = {k: v for k, v in (os.environ if env is None else env).items() if k != "PYTHONPATH"}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv outside the checkout with the wheel of this tree installed (not editable)."""
    work = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "-w", str(work / "dist"), str(ROOT)], cwd=work)
    assert built.returncode == 0, built.stderr
    (wheel,) = (work / "dist").glob("releasetool-*.whl")
    venv = work / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=work)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                     cwd=work).stdout.strip())
    # The dependencies come from the test environment's site-packages, added as
    # a plain path: its .pth files (the editable install of this checkout among
    # them) are not processed there, so only the wheel provides releasetool.
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    done = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                 str(wheel)], cwd=work)
    assert done.returncode == 0, done.stderr
    return venv


def test_wheel_holds_every_data_file(tmp_path: Path) -> None:
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "-w", str(tmp_path), str(ROOT)], cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("releasetool-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"releasetool/render/templates/{p.relative_to(ROOT / 'templates')}"
                for p in (ROOT / "templates").rglob("*") if p.is_file()}
    expected |= {f"releasetool/site/page/{p.relative_to(ROOT / 'site')}" for p in (ROOT / "site").rglob("*") if p.is_file()}
    expected.add("releasetool/render/rpmlint.toml")
    assert expected - names == set()
    assert "releasetool/render/templates/spec/base.spec.j2" in names


def test_installed_wheel_works_from_another_directory(installed: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RELEASETOOL_TEMPLATES")}
    env["PATH"] = f"{installed / 'bin'}{os.pathsep}{env['PATH']}"
    tool = str(installed / "bin" / "releasetool")
    where = _run([str(installed / "bin" / "python"), "-c", "import releasetool; print(releasetool.__file__)"],
                 cwd=tmp_path, env=env)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed), where.stdout
    manifest = tmp_path / "components.yaml"
    manifest.write_bytes((ROOT / "components.yaml").read_bytes())

    rendered = _run([tool, "render", "libqb", "--out", str(tmp_path / "out")], cwd=tmp_path, env=env)
    assert rendered.returncode == 0, rendered.stderr
    spec = (tmp_path / "out" / "libqb" / "libqb.spec").read_text()
    assert "Name:" in spec and "libqb" in spec
    assert (tmp_path / "out" / "libqb" / "debian" / "control").is_file()

    # no discovery data: the page shows the manifest's versions
    site = _run([tool, "site", "build", "--out", str(tmp_path / "_site")], cwd=tmp_path, env=env)
    assert site.returncode == 0, site.stderr
    assert (tmp_path / "_site" / "index.html").is_file()
    assert (tmp_path / "_site" / "versions.json").is_file()

    demo = _run([tool, "demo", "--help"], cwd=tmp_path, env=env)
    assert demo.returncode == 0, demo.stderr
    assert "demo" in demo.stdout


def test_wheel_installs_the_manual_page_and_completions(installed: Path, tmp_path: Path) -> None:
    share = installed / "share"
    page = share / "man" / "man1" / "releasetool.1"
    assert (share / "bash-completion" / "completions" / "releasetool").is_file()
    assert (share / "zsh" / "site-functions" / "_releasetool").is_file()
    # groff's warnings (-ww) are what a broken page shows first
    checked = _run(["groff", "-man", "-Tutf8", "-ww", "-z", str(page)], cwd=tmp_path)
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr
    shown = _run(["man", "-l", str(page)], cwd=tmp_path, env={**os.environ, "MANWIDTH": "100", "MANPAGER": "cat"})
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    for command in ("obs submit", "site build", "release", "render", "split"):
        assert f"releasetool {command}" in text
    assert "--dry-run" in text and "RELEASETOOL_MANIFEST" in text
