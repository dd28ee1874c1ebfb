"""Release tarballs against ``git archive``, on a generated repository.

The repository (1500 files, about 6 MB of code-like text, some executables and
symlinks) is written with one ``git fast-import`` stream.  Compared:

- ``.tar.gz``: releasetool.release.tarball.build_tarball against
  ``git archive --format=tar | gzip -9 -n`` (what release scripts pipe);
- ``.tar.xz``: against ``git archive --format=tar | xz -6 -T1``;
- the uncompressed stream alone: against ``git archive --format=tar``.

Also printed: whether each side gave the same bytes on a second run.
"""

from __future__ import annotations

import random
import subprocess
import tempfile
from pathlib import Path

from report import emit, timed

from releasetool.release import tarball

FILES = 1500


def make_repo(path: Path) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz_"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 10))) for _ in range(5000)]
    words += ["{", "}", "(", ");", "if", "return", "int", "static", "\n\t", "\n", "=", "->", "/*", "*/"] * 40
    stream = bytearray(b"commit refs/heads/main\n"
                       b"committer Bench <bench@example.org> 1700000000 +0000\ndata 5\nbench\n")
    for index in range(FILES):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(100, 1200))).encode() + b"\n"
        mode = b"100755" if index % 17 == 0 else b"100644"
        name = f"dir{index % 40}/sub{index % 7}/file{index}.c".encode()
        stream += b"M " + mode + b" inline " + name + b"\ndata " + str(len(text)).encode() + b"\n" + text + b"\n"
        if index % 101 == 0:
            target = f"file{index}.c".encode()
            link = f"dir{index % 40}/sub{index % 7}/link{index}".encode()
            stream += b"M 120000 inline " + link + b"\ndata " + str(len(target)).encode() + b"\n" + target + b"\n"
    stream += b"\n"
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input=bytes(stream), check=True)


def pipe(repo: Path, compressor: list[str]) -> bytes:
    archive = subprocess.Popen(["git", "-C", str(repo), "archive", "--format=tar", "--prefix=bench-1.0/", "main"],
                               stdout=subprocess.PIPE)
    done = subprocess.run(compressor, stdin=archive.stdout, capture_output=True, check=True)
    archive.wait()
    return done.stdout


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        make_repo(repo)
        results: dict[str, bytes] = {}

        def ours(fmt: str) -> None:
            results[fmt] = tarball.build_tarball(repo, "main", "bench-1.0", fmt)

        def ours_tar() -> None:
            results["tar"] = tarball.tar_stream(repo, "main", "bench-1.0")

        t_tar = timed(ours_tar, repeat=2)
        t_git_tar = timed(lambda: subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", "main"],
                                                 capture_output=True, check=True), repeat=2)
        emit(f"tarball: tar stream, {FILES} files", t_tar, "git archive --format=tar", t_git_tar)

        t_gz = timed(lambda: ours("gz"), repeat=2)
        first_gz = results["gz"]
        t_git_gz = timed(lambda: results.__setitem__("git-gz", pipe(repo, ["gzip", "-9", "-n"])), repeat=2)
        git_gz = results["git-gz"]
        same_gz = tarball.build_tarball(repo, "main", "bench-1.0", "gz") == first_gz
        emit(f"tarball: .tar.gz, {FILES} files", t_gz, "git archive | gzip -9 -n", t_git_gz,
             note=f"{len(first_gz)} vs {len(git_gz)} bytes; ours identical on rerun: {same_gz}")

        t_xz = timed(lambda: ours("xz"), repeat=1)
        t_git_xz = timed(lambda: results.__setitem__("git-xz", pipe(repo, ["xz", "-6", "-T1", "-c"])), repeat=1)
        emit(f"tarball: .tar.xz, {FILES} files", t_xz, "git archive | xz -6 -T1", t_git_xz,
             note=f"{len(results['xz'])} vs {len(results['git-xz'])} bytes")


if __name__ == "__main__":
    main()
