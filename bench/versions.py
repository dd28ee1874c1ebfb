"""Version logic against the tools a user would otherwise call.

- 1000 Debian comparisons: releasetool.versions.compare in one process against
  ``dpkg --compare-versions`` (one process a comparison, as shell scripts do).
- 1000 rpm comparisons: against one ``rpm --eval`` running ``rpm.vercmp`` on
  every pair in Lua (rpm's cheapest way).
- the latest release among 3000 tags: ``releasetool versions latest`` as a
  process against ``git tag --sort=-v:refname | head -1``.  git orders
  ``v9.9.0-rc1`` after ``v9.9.0`` unless versionsort.suffix is configured, so
  the two need not pick the same tag; the figure printed says which each picked.
  The library call alone is reported too.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
from pathlib import Path

from report import emit, timed

from releasetool import versions

RELEASETOOL = str(Path(sys.executable).parent / "releasetool")


def _pairs(count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)

    def one() -> str:
        parts = ".".join(str(rng.randint(0, 30)) for _ in range(rng.randint(1, 4)))
        if rng.random() < 0.3:
            parts += rng.choice(["~rc1", "~beta2", "+dfsg", "a", "~~"])
        if rng.random() < 0.3:
            parts += f"-{rng.randint(0, 5)}"
        if rng.random() < 0.2:
            parts = f"{rng.randint(0, 2)}:{parts}"
        return parts

    return [(one(), one()) for _ in range(count)]


def bench_debian() -> None:
    pairs = _pairs(1000, 1)
    ours = timed(lambda: (versions.clear_caches(), [versions.compare("debian", a, b) for a, b in pairs]), repeat=3)
    loop = 'while read -r a b; do dpkg --compare-versions "$a" lt "$b"; done'
    text = "".join(f"{a} {b}\n" for a, b in pairs)
    theirs = timed(lambda: subprocess.run(["sh", "-c", loop], input=text, text=True, check=True))
    emit("versions: 1000 debian comparisons", ours, "dpkg --compare-versions", theirs)


def bench_rpm() -> None:
    pairs = _pairs(1000, 2)
    ours = timed(lambda: (versions.clear_caches(), [versions.compare("rpm", a, b) for a, b in pairs]), repeat=3)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "pairs.txt"
        data.write_text("".join(f"{a} {b}\n" for a, b in pairs))
        script = ("%{lua: for line in io.lines('" + str(data) + "') do "
                  "local a, b = line:match('^(%S+) (%S+)$'); rpm.vercmp(a, b) end }")
        theirs = timed(lambda: subprocess.run(["rpm", "--eval", script], capture_output=True, check=True), repeat=3)
    emit("versions: 1000 rpm comparisons", ours, "rpm --eval (lua rpm.vercmp)", theirs)


def bench_latest() -> None:
    rng = random.Random(3)
    tags = sorted({f"v{rng.randint(0, 8)}.{rng.randint(0, 30)}.{rng.randint(0, 30)}" for _ in range(6000)})[:2990]
    tags += [f"v9.9.0-rc{i}" for i in range(1, 6)] + ["v9.9.0", "rolling", "latest", "v2.0-test", "vnext"]
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        env = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.org", "GIT_COMMITTER_NAME": "b",
               "GIT_COMMITTER_EMAIL": "b@example.org", "GIT_CONFIG_GLOBAL": "/dev/null", "PATH": "/usr/bin:/bin"}
        subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
        subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "x"], cwd=repo, check=True, env=env)
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, env=env,
                              capture_output=True, text=True).stdout.strip()
        refs = "".join(f"{head} refs/tags/{t}\n" for t in sorted(tags))
        (repo / ".git" / "packed-refs").write_text("# pack-refs with: peeled fully-peeled sorted \n" + refs)
        text = "\n".join(tags) + "\n"
        picked: dict[str, str] = {}

        def ours() -> None:
            done = subprocess.run([RELEASETOOL, "versions", "latest", "-s", "rpm", "-p", "v{version}", "-"],
                                  input=text, capture_output=True, text=True, check=True)
            picked["releasetool"] = "v" + done.stdout.strip()

        def theirs() -> None:
            done = subprocess.run(["sh", "-c", "git tag -l --sort=-v:refname 'v*' | head -1"], cwd=repo,
                                  capture_output=True, text=True, check=True, env=env)
            picked["git"] = done.stdout.strip()

        ours_s = timed(ours, repeat=3)
        theirs_s = timed(theirs, repeat=3)
        library = timed(lambda: (versions.clear_caches(), versions.latest("rpm", "v{version}", tags)), repeat=3)
    emit("versions: latest of 3000 tags", ours_s, "git tag --sort=-v:refname", theirs_s,
         note=f"releasetool picked {picked['releasetool']}, git picked {picked['git']}; includes process start")
    emit("versions: latest of 3000 tags, library call", library, note="versions.latest, no process start")


if __name__ == "__main__":
    bench_debian()
    bench_rpm()
    bench_latest()
