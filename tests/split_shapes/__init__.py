"""Builders of git histories with the shapes git subtree split handles, for the split tests.

Every builder takes an empty :class:`Repo` and makes commits with fixed dates,
so that the histories (and their split ids) are the same on every run.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


class Repo:
    """A throw-away git repository driven with plain git commands."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.clock = 1_600_000_000
        subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str, env: dict[str, str] | None = None, input: bytes | None = None) -> str:
        full_env = dict(os.environ)
        full_env.update(env or {})
        done = subprocess.run(["git", "-C", str(self.path), *args], env=full_env, input=input,
                              capture_output=True, check=False)
        if done.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {done.stderr.decode()}")
        return done.stdout.decode("utf-8", "replace").strip()

    def write(self, rel: str, text: str = "") -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text or f"{rel} at {self.clock}\n")

    def remove(self, rel: str) -> None:
        self.git("rm", "-rq", rel)

    def tick(self, tz: str = "+0000") -> str:
        self.clock += 97
        return f"{self.clock} {tz}"

    def commit(self, message: str, *, tz: str = "+0000", env: dict[str, str] | None = None,
               allow_empty: bool = False) -> str:
        self.git("add", "-A")
        date = self.tick(tz)
        extra = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, **(env or {})}
        args = ["commit", "-q", "--no-verify", "-m", message]
        if allow_empty:
            args.append("--allow-empty")
        self.git(*args, env=extra)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def checkout(self, *args: str) -> None:
        self.git("checkout", "-q", *args)

    def merge(self, *args: str, message: str = "merge") -> str:
        date = self.tick()
        self.git("merge", "-q", "--no-ff", "-m", message, *args,
                 env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
        return self.head()

    def subtree(self, *args: str) -> str:
        """``git subtree ARGS`` (run from the top of the work tree); its last stdout line."""
        date = self.tick()
        env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
        out = self.git("subtree", "-q", *args, env=env)
        return out.splitlines()[-1] if out else ""

    def subtree_split(self, prefix: str, rev: str = "HEAD") -> str:
        # git subtree insists that the prefix exists in the work tree.
        (self.path / prefix).mkdir(parents=True, exist_ok=True)
        return self.subtree("split", f"--prefix={prefix}", rev)


def linear(r: Repo) -> None:
    r.write("d/a")
    r.write("top")
    r.commit("root with the prefix")
    r.write("top", "changed\n")
    r.commit("outside the prefix only")
    r.write("d/b")
    r.commit("inside the prefix")
    r.write("d/sub/deep")
    r.write("other")
    r.commit("both inside and outside\n\nwith a body\nof two lines")


def root_without_prefix(r: Repo) -> None:
    r.write("top")
    r.commit("root without the prefix")
    r.write("top", "again\n")
    r.commit("still no prefix")
    r.write("d/a")
    r.commit("prefix appears")
    r.write("d/a", "edited\n")
    r.commit("edit")


def merge_one_side(r: Repo) -> None:
    r.write("d/a")
    r.commit("base")
    r.checkout("-b", "topic")
    r.write("d/topic")
    r.commit("topic touches the prefix")
    r.checkout("main")
    r.write("outside")
    r.commit("main does not")
    r.merge("topic")
    r.write("d/after")
    r.commit("after the merge")
    # and the other way round: only the first parent touches it
    r.checkout("-b", "topic2")
    r.write("outside2")
    r.commit("topic2 outside")
    r.checkout("main")
    r.write("d/main-only")
    r.commit("main inside")
    r.merge("topic2")


def merge_both_sides(r: Repo) -> None:
    r.write("d/a")
    r.commit("base")
    r.checkout("-b", "topic")
    r.write("d/t1")
    r.commit("topic 1")
    r.write("d/t2")
    r.commit("topic 2")
    r.checkout("main")
    r.write("d/m1")
    r.commit("main 1")
    r.merge("topic")
    r.write("d/a", "after\n")
    r.commit("after")


def merge_identical_trees(r: Repo) -> None:
    r.write("d/a")
    r.commit("base")
    r.checkout("-b", "topic")
    r.write("d/same", "same\n")
    r.write("t-only")
    r.commit("topic: same change")
    r.checkout("main")
    r.write("d/same", "same\n")
    r.write("m-only")
    r.commit("main: same change")
    r.merge("topic")
    # a merge where neither side changed the prefix since the fork
    r.checkout("-b", "noop")
    r.write("noop-file")
    r.commit("outside")
    r.checkout("main")
    r.write("main-file")
    r.commit("outside too")
    r.merge("noop")
    r.write("d/end")
    r.commit("end")


def unrelated_histories(r: Repo) -> None:
    r.write("d/a")
    r.commit("main root")
    r.git("checkout", "-q", "--orphan", "other")
    r.git("rm", "-rqf", ".")
    r.write("d/o")
    r.write("elsewhere")
    r.commit("other root, also with the prefix")
    r.write("d/o2")
    r.commit("other 2")
    r.git("checkout", "-q", "--orphan", "third")
    r.git("rm", "-rqf", ".")
    r.write("no-prefix-here")
    r.commit("third root without the prefix")
    r.checkout("main")
    r.merge("--allow-unrelated-histories", "other", message="merge unrelated with prefix")
    r.merge("--allow-unrelated-histories", "third", message="merge unrelated without prefix")
    r.write("d/z")
    r.commit("last")


def deleted_and_readded(r: Repo) -> None:
    r.write("d/a")
    r.commit("add")
    r.write("d/b")
    r.commit("more")
    r.remove("d")
    r.commit("delete the prefix")
    r.write("x")
    r.commit("without the prefix")
    r.write("d/c")
    r.commit("add it again")
    r.write("d/c", "again\n")
    r.commit("and edit")


def renamed_into(r: Repo) -> None:
    r.write("src/one")
    r.write("src/two")
    r.write("d/keep")
    r.commit("start")
    r.git("mv", "src", "d/src")
    r.commit("move src into the prefix")
    r.git("mv", "d/keep", "kept-outside")
    r.commit("move a file out")
    r.git("mv", "d", "e")
    r.commit("rename the prefix away")
    r.git("mv", "e", "d")
    r.commit("and back")


def empty_commits(r: Repo) -> None:
    r.write("d/a")
    r.commit("first")
    r.commit("empty commit", allow_empty=True)
    r.commit("another empty one", allow_empty=True)
    r.write("d/b")
    r.commit("real change")


def identities_and_dates(r: Repo) -> None:
    people = [
        ("Ada Lovelace", "ada@example.org", "+0000"),
        (" .Dr. Grace Hopper, Jr. ", " grace@navy.example. ", "-0500"),
        ("Ken \\Thompson", "ken@bell.example", "+0530"),
        ("Linus 'L' Torvalds", "<linus@example.org>", "+1400"),
        ("Zoë Ünïcode", "zoe@example.org", "-1200"),
        ("Tab\tName", "tab@example.org", "+0545"),
    ]
    for i, (name, email, tz) in enumerate(people):
        r.write(f"d/f{i}")
        r.commit(f"by {name.strip()}", tz=tz, env={
            "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": f"Committer {i}", "GIT_COMMITTER_EMAIL": f"c{i}@example.org",
        })
    # an author date far from the commit date, in another zone
    r.write("d/late")
    r.commit("late", env={"GIT_AUTHOR_DATE": "946684800 +0100"})


def encodings_and_messages(r: Repo) -> None:
    r.write("d/a")
    r.commit("plain")
    # A commit recorded in ISO-8859-1 with an `encoding` header.
    r.git("config", "i18n.commitEncoding", "ISO-8859-1")
    r.write("d/latin")
    r.git("add", "-A")
    date = r.tick("+0200")
    r.git("commit", "-q", "-F", "-", env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date,
                                          "GIT_AUTHOR_NAME": "Jos\xe9"},
          input="Caf\xe9 cr\xe8me\n\nd\xe9j\xe0 vu\n".encode("latin-1"))
    r.git("config", "--unset", "i18n.commitEncoding")
    # Messages git commit would clean up, written with commit-tree to keep every byte.
    parent = r.head()
    for message in (b"no trailing newline", b"trailing spaces   \n\n\n", b"crlf line\r\nsecond\r\n",
                    b"\n\nleading blank lines\n", b"# not a comment\n", b""):
        r.write(f"d/m{len(message)}")
        r.git("add", "-A")
        tree = r.git("write-tree")
        date = r.tick("-0700")
        parent = r.git("commit-tree", tree, "-p", parent,
                       env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}, input=message)
        r.git("reset", "-q", "--soft", parent)
    r.write("d/utf8")
    r.commit("UTF-8: \u65e5\u672c\u8a9e \u2713")


def raw_commits(r: Repo) -> None:
    """Commits git commit would not write: bytes that are not UTF-8, odd zones, unknown encodings."""
    r.write("d/a")
    parent = r.commit("start")
    bodies = [
        b"author Odd <o@example.org> 1234567890 -0000\ncommitter Odd <o@example.org> 1234567899 +1300\n"
        b"encoding bogus-enc\n\nodd zones \xff\n",
        b"author J\xf6rg <j@example.org> 1234567900 +0100\ncommitter J\xf6rg <j@example.org> 1234567900 +0100\n"
        b"\nLatin-1 bytes without an encoding header: \xe9t\xe9\n",
        b"author Nc <n@example.org> 1234567910 +0000\ncommitter Nc <n@example.org> 1234567910 +0000\n"
        b"\nnoncharacter \xef\xbf\xbe, surrogate \xed\xa0\x80, overlong \xe0\x80\x80, cut \xc3",
        b"author Ok <ok@example.org> 1234567920 +0000\ncommitter Ok <ok@example.org> 1234567920 +0000\n"
        b"mergetag object 0000000000000000000000000000000000000000\n \n"
        b"\nan extra header is dropped\n",
    ]
    for i, body in enumerate(bodies):
        r.write(f"d/raw{i}")
        r.git("add", "-A")
        tree = r.git("write-tree")
        data = f"tree {tree}\nparent {parent}\n".encode() + body
        parent = r.git("hash-object", "-t", "commit", "-w", "--stdin", "--literally", input=data)
        r.git("reset", "-q", "--soft", parent)


def submodule_at_prefix(r: Repo) -> None:
    """The prefix is a submodule (a gitlink) for a while: git subtree treats it as absent."""
    r.write("d/a")
    first = r.commit("a directory")
    r.remove("d")
    r.git("update-index", "--add", "--cacheinfo", f"160000,{first},d")
    r.git("commit", "-q", "-m", "now a submodule", env={"GIT_AUTHOR_DATE": r.tick(), "GIT_COMMITTER_DATE": r.tick()})
    r.write("other")
    r.git("add", "other")
    r.git("commit", "-q", "-m", "outside", env={"GIT_AUTHOR_DATE": r.tick(), "GIT_COMMITTER_DATE": r.tick()})
    r.git("rm", "-q", "--cached", "d")
    r.write("d/b")
    r.commit("a directory again")


def octopus_and_criss_cross(r: Repo) -> None:
    r.write("d/a")
    r.commit("base")
    for name in ("o1", "o2", "o3"):
        r.checkout("-b", name, "main")
        r.write(f"d/{name}" if name != "o2" else "outside-o2")
        r.commit(name)
    r.checkout("main")
    date = r.tick()
    r.git("merge", "-q", "-m", "octopus", "o1", "o2", "o3",
          env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
    r.checkout("-b", "x", "main")
    r.write("d/x")
    r.commit("x")
    r.checkout("-b", "y", "main")
    r.write("d/y")
    r.commit("y")
    r.checkout("x")
    r.merge("y", message="x takes y")
    r.checkout("y")
    r.merge("x~1", message="y takes x~1")
    r.write("d/y2")
    r.commit("y2")
    r.checkout("main")
    r.merge("x", message="main takes x")
    r.merge("y", message="main takes y")


def _library(r: Repo, name: str) -> Path:
    lib = Repo(r.path.parent / f"{name}-lib")
    lib.clock = r.clock
    lib.write("lib.c")
    lib.commit("lib 1")
    lib.write("lib.h")
    lib.commit("lib 2")
    r.clock = lib.clock
    return lib.path


def subtree_add(r: Repo) -> None:
    r.write("main.c")
    r.commit("app")
    lib = _library(r, "add")
    r.subtree("add", "--prefix=vendor/lib", str(lib), "main")
    r.write("vendor/lib/patch")
    r.commit("patch the library in place")
    r.write("main.c", "uses lib\n")
    r.commit("outside")


def subtree_add_squash(r: Repo) -> None:
    r.write("main.c")
    r.commit("app")
    lib = _library(r, "squash")
    r.subtree("add", "--squash", "--prefix=vendor/lib", str(lib), "main")
    r.write("vendor/lib/local")
    r.commit("local change")
    libr = Repo.__new__(Repo)
    libr.path, libr.clock = lib, r.clock
    libr.write("lib.c", "v2\n")
    libr.commit("lib 3")
    r.clock = libr.clock
    r.subtree("pull", "--squash", "--prefix=vendor/lib", str(lib), "main", "-m", "pull lib 3")
    r.write("vendor/lib/after")
    r.commit("after the pull")


def split_rejoin(r: Repo) -> None:
    r.write("d/a")
    r.commit("one")
    r.write("d/b")
    r.write("x")
    r.commit("two")
    (r.path / "d").mkdir(exist_ok=True)
    r.subtree("split", "--prefix=d", "--rejoin", "HEAD")
    r.write("d/c")
    r.commit("three")
    r.write("y")
    r.commit("four, outside")
    r.write("d/c", "changed\n")
    r.commit("five")


SHAPES = {
    "linear": (linear, "d"),
    "root-without-prefix": (root_without_prefix, "d"),
    "merge-one-side": (merge_one_side, "d"),
    "merge-both-sides": (merge_both_sides, "d"),
    "merge-identical-trees": (merge_identical_trees, "d"),
    "unrelated-histories": (unrelated_histories, "d"),
    "deleted-and-readded": (deleted_and_readded, "d"),
    "renamed-into": (renamed_into, "d"),
    "empty-commits": (empty_commits, "d"),
    "identities-and-dates": (identities_and_dates, "d"),
    "encodings-and-messages": (encodings_and_messages, "d"),
    "octopus-and-criss-cross": (octopus_and_criss_cross, "d"),
    "raw-commits": (raw_commits, "d"),
    "submodule-at-prefix": (submodule_at_prefix, "d"),
    "subtree-add": (subtree_add, "vendor/lib"),
    "subtree-add-squash": (subtree_add_squash, "vendor/lib"),
    "split-rejoin": (split_rejoin, "d"),
}
