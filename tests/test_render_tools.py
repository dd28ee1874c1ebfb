"""The real manifest's packaging, checked by the distributions' own tools:
rpmspec and rpmlint for the spec files, dpkg-source and lintian for debian/."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from releasetool import manifest
from releasetool.render import packaging as render

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = Path(__file__).resolve().parent.parent
    loaded = manifest.load(root / "components.yaml")
    out = tmp_path_factory.mktemp("real") / "rendered"
    comps = loaded.select([], all_=True)
    render.render_all(loaded, comps, out)
    return out, [c.name for c in comps]


# The conditionals of the spec files, as each target family's rpm sees them.
DISTRIBUTIONS = {"debian-rpm": [], "opensuse": ["suse_version 1600"], "fedora": ["fedora 41"], "rhel": ["rhel 9"]}


@pytest.mark.parametrize("distribution", list(DISTRIBUTIONS))
def test_every_spec_parses(rendered: tuple[Path, list[str]], distribution: str) -> None:
    out, names = rendered
    defines = [arg for value in DISTRIBUTIONS[distribution] for arg in ("--define", value)]
    for name in names:
        done = subprocess.run(["rpmspec", "-P", *defines, str(out / name / f"{name}.spec")],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{name}: {done.stderr}"
        assert f"Name:           {name}" in done.stdout
        assert "error:" not in done.stderr, f"{name}: {done.stderr}"
        if distribution == "opensuse" and "%service_add_post" in done.stdout:
            assert "%systemd_post" not in done.stdout  # the openSUSE branch, not the generic one


def test_rpmlint_reports_no_errors(rendered: tuple[Path, list[str]], repo_root: Path) -> None:
    out, names = rendered
    specs = [str(out / name / f"{name}.spec") for name in names]
    done = subprocess.run(["rpmlint", "-c", str(repo_root / "rpmlint.toml"), *specs],
                          capture_output=True, text=True, check=False)
    assert [line for line in done.stdout.splitlines() if ": E: " in line] == [], done.stdout
    assert done.returncode == 0, done.stdout + done.stderr


def _files_the_patches_touch(patches: Path, tree: Path) -> None:
    """Give the stand-in source tree what each patch expects to find.

    Each hunk's context and removed lines are put at the line numbers its
    ``@@ -START,COUNT`` header names (filler lines between hunks), so the
    patches apply where they say, as on the real sources.
    """
    if not (patches / "series").exists():
        return
    for name in (patches / "series").read_text().split():
        files: dict[Path, dict[int, str]] = {}
        target: Path | None = None
        line_no = 0
        for line in (patches / name).read_text().splitlines():
            if line.startswith("+++ "):
                target = tree / line[4:].split("\t")[0].split("/", 1)[1]
                files.setdefault(target, {})
            elif line.startswith("@@ ") and target is not None:
                line_no = int(line.split()[1][1:].split(",")[0])
            elif target is not None and line[:1] in (" ", "-") and not line.startswith("--- "):
                files[target][line_no] = line[1:]
                line_no += 1
        for path, lines in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            last = max(lines, default=0)
            path.write_text("".join(lines.get(n, f"(line {n} of the stand-in)") + "\n" for n in range(1, last + 1)))


def test_dpkg_source_and_lintian(rendered: tuple[Path, list[str]], tmp_path: Path) -> None:
    out, names = rendered
    dscs = []
    for name in names:
        changelog = (out / name / "debian" / "changelog").read_text(encoding="utf-8")
        version = changelog.split("(", 1)[1].split(")", 1)[0].rsplit("-", 1)[0]
        tree = tmp_path / f"{name}-{version}"
        tree.mkdir()
        (tree / "README").write_text(f"{name} {version}\n")
        _files_the_patches_touch(out / name / "debian" / "patches", tree)
        # The orig tarball dpkg-source wants beside the tree, then debian/ added to the tree.
        with tarfile.open(tmp_path / f"{name}_{version}.orig.tar.gz", "w:gz") as tar:
            tar.add(tree, arcname=tree.name)
        shutil.copytree(out / name / "debian", tree / "debian")
        done = subprocess.run(["dpkg-source", "-b", tree.name], cwd=tmp_path, capture_output=True, text=True,
                              check=False)
        assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
        dscs.append(str(tmp_path / f"{name}_{version}-1.dsc"))
    done = subprocess.run(["lintian", "--fail-on", "error", *dscs], capture_output=True, text=True, check=False)
    assert [line for line in done.stdout.splitlines() if line.startswith("E:")] == [], done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
