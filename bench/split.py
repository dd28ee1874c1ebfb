"""Split speed: releasetool against git subtree split, git filter-repo and splitsh-lite.

Builds generated histories (one ``git fast-import`` stream each), then times,
side by side in one run, for each prefix:

* ``git subtree split --prefix=P`` (the reference; skipped on the large history
  unless ``--subtree-large``: it takes minutes there);
* ``git filter-repo --subdirectory-filter P`` on a fresh clone (ids differ);
* ``splitsh-lite --prefix P`` when one is on PATH;
* ``releasetool split`` from scratch (``--no-cache``), and again after 10 new
  commits (incremental, using the saved map), as whole commands including
  Python's start-up.

Wall time and CPU time (user+sys of the command and its children) are shown;
on a busy machine the CPU column is the steadier one.  The ratios are
"other tool / releasetool".  Usage::

    .venv/bin/python bench/split.py [--sizes 3000,20000] [--prefixes doc,agents] [--subtree-large]
        [--real CLONE [--real-prefixes doc,agents]]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from report import emit  # noqa: E402
from split_shapes.generate import extend, generate  # noqa: E402

# The installed command, as a user runs it (not `python -m`, which adds runpy).
RELEASETOOL = [str(Path(sys.executable).parent / "releasetool")]
INCREMENTAL_ROUNDS = 5
SPLITSH = shutil.which("splitsh-lite")
BENCH_REF = "refs/releasetool-bench/base"
# PyPI's git-filter-repo installs its script next to this Python.
FILTER_REPO = shutil.which("git-filter-repo", path=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}") \
    or "git-filter-repo"


def timed(argv: list[str], cwd: Path | None = None) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (with children) and the last stdout line of a command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()[-400:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = done.stdout.decode().split()
    return wall, cpu, lines[-1] if lines else ""


def bench_history(workdir: Path, size: int, prefixes: list[str], run_subtree: bool) -> list[list[str]]:
    repo = workdir / f"history-{size}"
    start = time.perf_counter()
    generate(repo, size)
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "main"], check=True)
    print(f"# generated {size} commits in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    rows = []
    for prefix in prefixes:
        # releasetool from scratch: the best of three runs (the first one reads a cold history).
        ours_wall, ours_cpu, ours_id = min(timed([*RELEASETOOL, "split", "-q", "--repo", str(repo),
                                                  "--prefix", prefix, "--no-cache"]) for _ in range(3))
        row = [f"{size}", prefix, f"{ours_wall:.3f} / {ours_cpu:.3f}"]
        name = f"split {size} commits, {prefix}"
        if run_subtree:
            wall, cpu, their_id = timed(["git", "subtree", "split", "-q", f"--prefix={prefix}", "HEAD"], cwd=repo)
            same = "same ids" if their_id == ours_id else f"DIFFERENT ({their_id[:12]} vs {ours_id[:12]})"
            row.append(f"{wall:.2f} / {cpu:.2f} ({wall / ours_wall:.0f}x / {cpu / ours_cpu:.0f}x, {same})")
            emit(f"{name}, from scratch", ours_wall, "git subtree split", wall, note=same)
        else:
            row.append("skipped (minutes; --subtree-large runs it)")
        clone = workdir / f"fr-{size}-{prefix.replace('/', '_')}"
        subprocess.run(["git", "clone", "-q", "--no-local", str(repo), str(clone)], check=True)
        wall, cpu, _ = timed([FILTER_REPO, "--quiet", "--force", "--subdirectory-filter", prefix], cwd=clone)
        row.append(f"{wall:.2f} / {cpu:.2f} ({wall / ours_wall:.1f}x / {cpu / ours_cpu:.1f}x)")
        emit(f"{name}, from scratch", ours_wall, "git filter-repo --subdirectory-filter", wall, note="ids differ")
        shutil.rmtree(clone)
        splitsh = [SPLITSH, f"--prefix={prefix}", f"--path={repo}"] if SPLITSH else None
        if splitsh:
            # --scratch drops its cache: the best of three, as for releasetool
            wall, cpu, their_id = min(timed([*splitsh, "--scratch"]) for _ in range(3))
            same = "same ids" if their_id == ours_id else f"DIFFERENT ({their_id[:12]} vs {ours_id[:12]})"
            row.append(f"{wall:.3f} / {cpu:.3f} ({wall / ours_wall:.2f}x, {same})")
            emit(f"{name}, from scratch", ours_wall, "splitsh-lite", wall, note=same)
        else:
            row.append("not installed")
        # Incremental: a first cached split, then rounds of 10 new commits and a
        # timed re-split each (the median of the rounds is the figure).
        timed([*RELEASETOOL, "split", "-q", "--repo", str(repo), "--prefix", prefix])
        if splitsh:
            timed(splitsh)
        rounds, their_rounds = [], []
        for round_ in range(INCREMENTAL_ROUNDS):
            extend(repo, 10, seed=len(rows) * 100 + round_ + size, prefix=prefix)
            rounds.append(timed([*RELEASETOOL, "split", "-q", "--repo", str(repo), "--prefix", prefix]))
            if splitsh:
                their_rounds.append(timed(splitsh))
        rounds.sort()
        their_rounds.sort()
        wall, cpu, _ = rounds[len(rounds) // 2]
        check = ""
        if run_subtree:
            _, _, their_id = timed(["git", "subtree", "split", "-q", f"--prefix={prefix}", "HEAD"], cwd=repo)
            ours_last = timed([*RELEASETOOL, "split", "-q", "--repo", str(repo), "--prefix", prefix])[2]
            check = ", same ids" if their_id == ours_last else ", DIFFERENT"
        spread = f"{rounds[0][0]:.3f}-{rounds[-1][0]:.3f}"
        row.append(f"{wall:.3f} / {cpu:.3f} (range {spread}){check}")
        if their_rounds:
            their_wall = their_rounds[len(their_rounds) // 2][0]
            row[-1] += f"; splitsh-lite {their_wall:.3f}"
            emit(f"{name}, +10 commits (incremental, median of {INCREMENTAL_ROUNDS})", wall, "splitsh-lite",
                 their_wall, note=f"range {spread} s{check}")
        else:
            emit(f"{name}, +10 commits (incremental, median of {INCREMENTAL_ROUNDS})", wall,
                 note=f"range {spread} s, cpu {cpu:.3f} s{check}")
        rows.append(row)
        print("  ".join(row), file=sys.stderr)
    return rows


def _rev_before(repo: Path, count: int) -> str:
    """The first-parent ancestor of HEAD with about ``count`` commits between it and HEAD."""
    for back in range(1, 200):
        rev = f"HEAD~{back}"
        listed = subprocess.run(["git", "-C", str(repo), "rev-list", "--count", f"{rev}..HEAD"],
                                capture_output=True, text=True, check=True)
        if int(listed.stdout) >= count:
            return rev
    raise SystemExit(f"{repo}: fewer than {count} commits in the first 200 first-parent steps")


def bench_real(repo: Path, prefixes: list[str]) -> list[list[str]]:
    """An existing repository (a clone of ClusterLabs/fence-agents, say), left as it is.

    From scratch as for the generated histories; incremental as a split of
    HEAD after a fresh map at the ancestor ~10 commits back (for both tools).
    """
    commits = subprocess.run(["git", "-C", str(repo), "rev-list", "--count", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
    base = _rev_before(repo, 10)
    rows = []
    for prefix in prefixes:
        name = f"split {repo.name} ({commits} commits), {prefix}"
        split = [*RELEASETOOL, "split", "-q", "--repo", str(repo), "--prefix", prefix]
        ours_wall, ours_cpu, ours_id = min(timed([*split, "--no-cache"]) for _ in range(3))
        row = [f"{repo.name} {commits}", prefix, f"{ours_wall:.3f} / {ours_cpu:.3f}"]
        wall, _, their_id = timed(["git", "subtree", "split", "-q", f"--prefix={prefix}", "HEAD"], cwd=repo)
        same = "same ids" if their_id == ours_id else "DIFFERENT"
        row.append(f"{wall:.2f} ({wall / ours_wall:.0f}x, {same})")
        emit(f"{name}, from scratch", ours_wall, "git subtree split", wall, note=f"{same}, {ours_id[:12]}")
        row.append("-")
        splitsh = [SPLITSH, f"--prefix={prefix}", f"--path={repo}"] if SPLITSH else None
        if splitsh:
            their_wall, _, their_id = min(timed([*splitsh, "--scratch"]) for _ in range(3))
            row.append(f"{their_wall:.3f} ({their_wall / ours_wall:.2f}x)")
            emit(f"{name}, from scratch", ours_wall, "splitsh-lite", their_wall,
                 note="same ids" if their_id == ours_id else "DIFFERENT")
        else:
            row.append("not installed")
        rounds, their_rounds = [], []
        for _ in range(INCREMENTAL_ROUNDS):
            timed([*split, "--no-cache", "--rev", base])
            rounds.append(timed(split))
            if splitsh:
                # splitsh-lite takes a ref as its origin (and keys its cache by it):
                # the same ref at the base, then at HEAD.
                subprocess.run(["git", "-C", str(repo), "update-ref", BENCH_REF, base], check=True)
                timed([*splitsh, "--scratch", f"--origin={BENCH_REF}"])
                subprocess.run(["git", "-C", str(repo), "update-ref", BENCH_REF, "HEAD"], check=True)
                their_rounds.append(timed([*splitsh, f"--origin={BENCH_REF}"]))
        subprocess.run(["git", "-C", str(repo), "update-ref", "-d", BENCH_REF], check=False)
        rounds.sort()
        wall = rounds[len(rounds) // 2][0]
        check = "same ids" if rounds[0][2] == ours_id else "DIFFERENT"
        if their_rounds:
            their_rounds.sort()
            emit(f"{name}, {base}..HEAD (incremental, median of {INCREMENTAL_ROUNDS})", wall, "splitsh-lite",
                 their_rounds[len(their_rounds) // 2][0], note=check)
        else:
            emit(f"{name}, {base}..HEAD (incremental, median of {INCREMENTAL_ROUNDS})", wall, note=check)
        row.append(f"{wall:.3f} ({check})")
        rows.append(row)
        print("  ".join(row), file=sys.stderr)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="3000,20000")
    parser.add_argument("--prefixes", default="doc,agents")
    parser.add_argument("--subtree-large", action="store_true", help="also run git subtree on histories over 5,000")
    parser.add_argument("--keep", action="store_true", help="keep the generated repositories")
    parser.add_argument("--real", metavar="REPO", type=Path,
                        help="also an existing repository (e.g. a clone of ClusterLabs/fence-agents), "
                             "with --real-prefixes")
    parser.add_argument("--real-prefixes", default="doc,agents")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="split-bench-"))
    env_note = os.getloadavg()
    print(f"# load average at start: {env_note[0]:.2f}; {os.cpu_count()} cores", file=sys.stderr)
    rows: list[list[str]] = []
    try:
        for size in (int(s) for s in args.sizes.split(",") if s):
            rows += bench_history(workdir, size, args.prefixes.split(","), size <= 5000 or args.subtree_large)
        if args.real:
            rows += bench_real(args.real.resolve(), args.real_prefixes.split(","))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"# repositories kept in {workdir}", file=sys.stderr)
    headers = ["commits", "prefix", "releasetool scratch (wall / cpu s)", "git subtree split (ratio)",
               "git filter-repo (ratio)", "splitsh-lite", "releasetool +10 commits"]
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
