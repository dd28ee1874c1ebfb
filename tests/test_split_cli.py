"""`releasetool split --repo/--prefix`: output, refs, the saved map, and every refusal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from split_shapes import SHAPES, Repo

from releasetool.cli import main
from releasetool.split import cache, gitio, split_repository
from releasetool.split.engine import PathMap


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo")
    SHAPES["merge-both-sides"][0](r)
    return r


def _err(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_last_stdout_line_is_the_git_subtree_id(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["split", "-q", "--repo", str(repo.path), "--prefix", "d/"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == repo.subtree_split("d")


def test_branch_created_then_fast_forwarded(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["split", "--repo", str(repo.path), "--prefix", "d", "--branch", "split/d"]) == 0
    err = _err(capsys)
    assert err[-1] == "Created branch 'split/d'"
    first = repo.git("rev-parse", "split/d")
    repo.write("d/more")
    repo.commit("more")
    assert main(["split", "--repo", str(repo.path), "--prefix", "d", "--branch", "split/d"]) == 0
    assert _err(capsys)[-1] == "Updated branch 'split/d'"
    assert repo.git("rev-parse", "split/d^") == first
    assert repo.git("rev-parse", "split/d") == repo.subtree_split("d")


def test_dry_run_writes_nothing(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    objects_before = repo.git("count-objects", "-v")
    assert main(["split", "--repo", str(repo.path), "--prefix", "d", "--branch", "b", "--dry-run", "--json"]) == 0
    assert '"dry_run": true' in capsys.readouterr().out
    assert repo.git("for-each-ref", "refs/heads/b") == ""
    assert repo.git("count-objects", "-v") == objects_before
    assert not (repo.path / ".git" / "releasetool" / "split").exists() or not any(
        (repo.path / ".git" / "releasetool" / "split").iterdir())


def test_not_a_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plain").mkdir()
    assert main(["split", "--repo", str(tmp_path / "plain"), "--prefix", "d"]) == 2
    assert _err(capsys) == [
        f"error: not a git repository: {tmp_path / 'plain'}",
        "hint: give --repo the path of a git checkout or bare repository",
    ]


def test_unknown_rev(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["split", "--repo", str(repo.path), "--prefix", "d", "--rev", "nope"]) == 2
    assert _err(capsys) == [
        f"error: unknown revision 'nope' in {repo.path}",
        "hint: give --rev a branch, tag or commit id that exists there",
    ]


def test_prefix_never_existed(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["split", "--repo", str(repo.path), "--prefix", "nowhere"]) == 2
    assert _err(capsys) == [
        "error: no commit in the history of HEAD has nowhere: no new revisions were found",
        "hint: check the prefix: it is a directory path from the top of the repository",
    ]


@pytest.mark.parametrize("prefix", ["../d", "/d", "d/../e", ""])
def test_invalid_prefix(repo: Repo, prefix: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["split", "--repo", str(repo.path), "--prefix", prefix]) == 2
    err = _err(capsys)
    assert err[0] in (f"error: invalid prefix {prefix!r}", "error: --repo needs --prefix")


def test_prefix_is_a_file(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write("afile")
    head = repo.commit("a file")
    assert main(["split", "--repo", str(repo.path), "--prefix", "afile"]) == 2
    assert _err(capsys) == [
        f"error: afile is a blob, not a directory, in commit {head}",
        "hint: --prefix must name a directory in every commit that has it",
    ]


def test_branch_elsewhere_is_refused_then_forced(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.git("branch", "taken", "HEAD~1")
    before = repo.git("rev-parse", "taken")
    assert main(["split", "--repo", str(repo.path), "--prefix", "d", "--branch", "taken"]) == 2
    err = _err(capsys)
    assert err[0].startswith("error: branch 'taken' points at ")
    assert err[0].endswith("which is not an ancestor of the split head " + repo.subtree_split("d")[:12])
    assert err[1] == "hint: pick another --branch, or pass --force to move it (its old commits may be lost)"
    assert repo.git("rev-parse", "taken") == before
    assert main(["split", "--repo", str(repo.path), "--prefix", "d", "--branch", "taken", "--force"]) == 0
    assert repo.git("rev-parse", "taken") == repo.subtree_split("d")


def test_bad_branch_name(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["split", "--repo", str(repo.path), "--prefix", "d", "--branch", "a..b"]) == 2
    assert _err(capsys)[0] == "error: 'a..b' does not look like a branch name"


@pytest.mark.parametrize(("argv", "message"), [
    (["split"], "error: nothing to split"),
    (["split", "--prefix", "d"], "error: --prefix needs --repo"),
    (["split", "--repo", "."], "error: --repo needs --prefix"),
    (["split", "x", "--repo", ".", "--prefix", "d"], "error: give either --repo/--prefix or component names, not both"),
])
def test_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert _err(capsys)[0] == message


def test_interrupted_before_refs_move_then_rerun(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kill after the objects are written leaves refs as they were; a re-run finishes."""
    def killed(self: gitio.Git, updates: object, message: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(gitio.Git, "update_refs", killed)
    assert main(["split", "--repo", str(repo.path), "--prefix", "d", "--branch", "out"]) == 130
    assert repo.git("for-each-ref", "refs/heads/out") == ""
    monkeypatch.undo()
    assert main(["split", "--repo", str(repo.path), "--prefix", "d", "--branch", "out"]) == 0
    assert repo.git("rev-parse", "out") == repo.subtree_split("d")


def test_damaged_cache_falls_back_to_a_full_split(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    first = split_repository(repo.path, "d")
    path = Path(cache.cache_path(repo.path / ".git", [PathMap("d")], b""))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    repo.write("d/x")
    repo.commit("x")
    again = split_repository(repo.path, "d")
    assert again.mode == "scratch"
    assert again.head == repo.subtree_split("d")
    assert first.head != again.head


def test_rewritten_history_is_split_correctly(repo: Repo) -> None:
    split_repository(repo.path, "d")
    repo.git("reset", "-q", "--hard", "HEAD~2")
    repo.write("d/rewritten")
    repo.commit("another future")
    result = split_repository(repo.path, "d")
    assert result.head == repo.subtree_split("d")


def test_pruned_split_objects_are_detected(repo: Repo) -> None:
    split_repository(repo.path, "d")  # no branch: the split commits are unreferenced
    subprocess.run(["git", "-C", str(repo.path), "gc", "-q", "--prune=now"], check=True)
    repo.write("d/after-gc")
    repo.commit("after gc")
    result = split_repository(repo.path, "d", branch="kept")
    assert result.mode == "scratch"
    assert result.head == repo.subtree_split("d")
    done = subprocess.run(["git", "-C", str(repo.path), "fsck", "--no-dangling"], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr


def test_annotate_prefixes_messages(repo: Repo) -> None:
    result = split_repository(repo.path, "d", annotate="(split) ")
    theirs = repo.subtree("split", "--prefix=d", "--annotate=(split) ", "HEAD")
    assert result.head == theirs


def test_several_paths_are_combined_deterministically(tmp_path: Path) -> None:
    a = Repo(tmp_path / "a")
    for r in (a,):
        r.write("fence/agents/x")
        r.write("fence/man/x.8")
        r.commit("one")
        r.write("other")
        r.commit("outside")
        r.write("fence/man/y.8")
        r.commit("man only")
    paths = [PathMap("fence/agents", "agents"), PathMap("fence/man", "doc/man")]
    first = split_repository(a.path, paths=paths, use_cache=False)
    second = split_repository(a.path, paths=paths)
    assert first.head == second.head
    assert a.git("ls-tree", "-r", "--name-only", first.head).split() == ["agents/x", "doc/man/x.8", "doc/man/y.8"]
    assert a.git("rev-list", "--count", first.head) == "2"  # the commit outside both is skipped


def test_bare_repository_and_work_tree(repo: Repo, tmp_path: Path) -> None:
    expected = repo.subtree_split("d")
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True)
    assert split_repository(bare, "d", "main", branch="split/d").head == expected
    subprocess.run(["git", "-C", str(repo.path), "worktree", "add", "-q", str(tmp_path / "wt"), "HEAD"], check=True)
    result = split_repository(tmp_path / "wt", "d", branch="from-wt")
    assert result.head == expected
    assert repo.git("rev-parse", "from-wt") == expected


def test_map_grows_by_deltas_and_survives_a_torn_one(repo: Repo) -> None:
    split_repository(repo.path, "d")
    for i in range(3):
        repo.write(f"d/step{i}")
        repo.commit(f"step {i}")
        assert split_repository(repo.path, "d").mode == "incremental"
    delta = Path(cache.delta_path(cache.cache_path(repo.path / ".git", [PathMap("d")], b"")))
    data = delta.read_bytes()
    delta.write_bytes(data[:-5])  # the last record torn by a kill
    repo.write("d/step3")
    repo.commit("step 3")
    result = split_repository(repo.path, "d")
    assert result.mode == "incremental"
    assert result.commits_read == 2  # the commit the torn record covered, and the new one
    assert result.head == repo.subtree_split("d")


def test_split_command_imports_only_what_it_uses(repo: Repo) -> None:
    """The split path stays lean: an incremental re-split is mostly Python's start-up."""
    heavy = ("logging", "dataclasses", "typing", "hashlib", "tempfile", "socket", "shutil", "json", "pathlib",
             "ruamel", "jinja2", "requests")
    script = (
        "import sys\n"
        "from releasetool.cli import main\n"
        f"status = main(['split', '-q', '--repo', {str(repo.path)!r}, '--prefix', 'd'])\n"
        f"print(status, *[m for m in {heavy!r} if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "0", done.stdout
    # a message that is shown still goes through logging, loaded then
    script = script.replace("'-q', ", "'--dry-run', ")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert "split d at " in done.stderr
    assert done.stdout.splitlines()[-1].split() == ["0", "logging"]
