#!/usr/bin/env python3
"""New releases cut at HEAD of real upstream clones: do they build as the version released?

For each case this clones the given upstream clone (its default branch), runs
``releasetool release NAME VERSION`` against a copy of the manifest that
records the component's latest release, and reports whether the release was
made, the version its tarball builds as (from NAME-VERSION.buildinfo.json),
or the refusal.  Nothing is pushed; every file is written under a temporary
directory.

    bench/real_releases.py --clones DIR [NAME ...]

``--clones DIR`` holds a git clone of each upstream repository (DIR/libqb, ...).
When HEAD is the previous release's commit an empty commit is added first, so
that there is something new to release.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from releasetool import manifest  # noqa: E402

# component: (version to release at HEAD, the latest release before it, expected: "release" or "refuse")
CASES = {
    "libqb": ("2.0.11", "2.0.10", "release"),
    "booth": ("1.3", "1.2", "release"),
    "kronosnet": ("1.36", "1.35", "release"),
    "sbd": ("1.5.3", "1.5.2", "refuse"),  # HEAD's configure.ac and sbd.spec still say 1.5.2
    "corosync": ("3.1.11", "3.1.10", "release"),
}
# The cases run by default (corosync is in the train).
DEFAULT = ("libqb", "booth", "kronosnet", "sbd")
# The train of the --train run: the three components upstream releases with make dist.
TRAIN = ("libqb", "kronosnet", "corosync")
IDENTITY = {"GIT_AUTHOR_NAME": "Release Rehearsal", "GIT_AUTHOR_EMAIL": "rehearsal@example.org",
            "GIT_COMMITTER_NAME": "Release Rehearsal", "GIT_COMMITTER_EMAIL": "rehearsal@example.org"}


def git(repo: Path, *args: str) -> str:
    import os

    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env={**os.environ, **IDENTITY}).stdout.strip()


def run_case(name: str, clones: Path, work: Path) -> dict[str, object]:
    version, previous, expected = CASES[name]
    loaded = manifest.load(ROOT / "components.yaml")
    comp = loaded.get(name)
    clone = work / name
    subprocess.run(["git", "clone", "-q", "--no-local", str(clones / name), str(clone)], check=True)
    default = git(clone, "symbolic-ref", "--short", "HEAD")
    previous_tag = comp.tag_for(previous)
    if git(clone, "rev-parse", "HEAD") == git(clone, "rev-parse", f"{previous_tag}^{{commit}}"):
        git(clone, "commit", "-q", "--allow-empty", "-m", "Prepare the next release")
    manifest_copy = work / "components.yaml"
    shutil.copy(ROOT / "components.yaml", manifest_copy)
    released = git(clone, "log", "-1", "--format=%cs", previous_tag)
    import datetime as dt

    manifest.set_release(manifest_copy, name, previous, dt.date.fromisoformat(released))
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "releasetool", "release", "--manifest", str(manifest_copy), name,
                           version, "--repo", str(clone), "--out", str(work / "dist"),
                           "--packager", "Release Rehearsal <rehearsal@example.org>"],
                          capture_output=True, text=True, cwd=work)
    took = time.monotonic() - started
    row: dict[str, object] = {"name": name, "version": version, "branch": default,
                              "head": git(clone, "rev-parse", "--short=12", "HEAD"), "expected": expected,
                              "exit": done.returncode, "seconds": round(took, 1)}
    info_path = work / "dist" / f"{name}-{version}" / f"{name}-{version}.buildinfo.json"
    if info_path.exists():
        info = json.loads(info_path.read_text())
        row.update(method=info["method"], builds_as=info.get("builds_as"))
    else:
        row["refusal"] = [line for line in done.stderr.splitlines() if line.strip()][:6]
    row["as_expected"] = (done.returncode == 0 and row.get("builds_as") == version) if expected == "release" \
        else (done.returncode == 2 and not info_path.exists())
    return row


def run_train(clones: Path, work: Path) -> dict[str, object]:
    """One coordinated release of TRAIN at the clones' HEADs: every tarball made by make dist."""
    import datetime as dt
    import os

    manifest_copy = work / "components.yaml"
    shutil.copy(ROOT / "components.yaml", manifest_copy)
    lines = ["releases:"]
    repos = ["repos:"]
    for name in TRAIN:
        version, previous, _ = CASES[name]
        comp = manifest.load(manifest_copy).get(name)
        clone = work / name
        subprocess.run(["git", "clone", "-q", "--no-local", str(clones / name), str(clone)], check=True)
        previous_tag = comp.tag_for(previous)
        if git(clone, "rev-parse", "HEAD") == git(clone, "rev-parse", f"{previous_tag}^{{commit}}"):
            git(clone, "commit", "-q", "--allow-empty", "-m", "Prepare the next release")
        released = git(clone, "log", "-1", "--format=%cs", previous_tag)
        manifest.set_release(manifest_copy, name, previous, dt.date.fromisoformat(released))
        lines.append(f"  {name}: {version}")
        repos.append(f"  {name}: {clone}")
    (work / "train.yaml").write_text("\n".join([*lines, *repos]) + "\n")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "releasetool", "train", "--manifest", str(manifest_copy),
                           str(work / "train.yaml"), "--out", str(work / "dist"),
                           "--packager", "Release Rehearsal <rehearsal@example.org>"],
                          capture_output=True, text=True, cwd=work, env={**os.environ, **IDENTITY})
    took = time.monotonic() - started
    built = {}
    for name in TRAIN:
        version = CASES[name][0]
        info = work / "dist" / f"{name}-{version}" / f"{name}-{version}.buildinfo.json"
        built[name] = json.loads(info.read_text()).get("builds_as") if info.exists() else None
    return {"exit": done.returncode, "seconds": round(took, 1), "builds_as": built,
            "stderr": done.stderr.splitlines()[-5:] if done.returncode else []}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"cases (default: {', '.join(DEFAULT)})")
    parser.add_argument("--clones", type=Path, required=True, help="directory of upstream clones, one per component")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--train", action="store_true",
                        help=f"instead, one train of {', '.join(TRAIN)} (every tarball by make dist)")
    args = parser.parse_args()
    if args.train:
        with tempfile.TemporaryDirectory(prefix="real-train-") as work:
            row = run_train(args.clones, Path(work))
        print(json.dumps(row, indent=2))
        expected = {n: CASES[n][0] for n in TRAIN}
        return 0 if row["exit"] == 0 and row["builds_as"] == expected else 1
    rows = []
    for name in args.names or DEFAULT:
        with tempfile.TemporaryDirectory(prefix=f"real-release-{name}-") as work:
            print(f"{name}: releasing {CASES[name][0]} at HEAD ...", file=sys.stderr, flush=True)
            rows.append(run_case(name, args.clones, Path(work)))
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
    else:
        print(f"{'component':10} {'version':8} {'head':12} {'method':11} {'exit':>4} {'builds as':10} "
              f"{'time':>7}  as expected")
        for row in rows:
            print(f"{row['name']:10} {row['version']:8} {row['head']:12} {row.get('method', '-'):11} "
                  f"{row['exit']:>4} {row.get('builds_as') or '-':10} {row['seconds']:6.1f}s  "
                  f"{'yes' if row['as_expected'] else 'NO'}")
            for line in row.get("refusal", []):  # type: ignore[union-attr]
                print(f"    {line}")
    return 0 if all(r["as_expected"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
