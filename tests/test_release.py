"""release: every step, every refusal, dry-run, signing and pushing, on real repositories."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_release_support import MANIFEST, Setup, commit, copy_setup, git, make_setup

from releasetool.cli import main
from releasetool.release import history


@pytest.fixture(scope="module")
def _made_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_setup(tmp_path_factory.mktemp("made")).root


@pytest.fixture
def setup(_made_once: Path, tmp_path: Path) -> Setup:
    return copy_setup(_made_once, tmp_path)


def snapshot(s: Setup) -> dict[str, object]:
    """Everything a release may change."""
    return {
        "manifest": s.manifest.read_bytes(),
        "refs": git(s.repo, "for-each-ref", "--format=%(refname) %(objectname)"),
        "out": sorted(p.name for p in s.out.rglob("*")) if s.out.exists() else None,
        "history": (s.root / "history").exists(),
    }


def test_dry_run_prints_the_plan_and_writes_nothing(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(setup)
    head = git(setup.repo, "rev-parse", "HEAD")

    assert main(setup.args("1.1.0", "--dry-run")) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "release libfoo 1.1.0 (rpm scheme)"
    assert out[1] == "  previous    1.0.0 (tag v1.0.0)"
    assert out[2] == f"  repository  {setup.repo} (branch main)"
    assert out[3] == f"  commit      {head} chore: add a link"
    assert out[4] == f"  tag         v1.1.0 -> {head[:12]} (annotated; new)"
    release_dir = setup.out / "libfoo-1.1.0"
    assert f"  files       {release_dir}/libfoo-1.1.0.tar.gz" in out
    assert f"              {release_dir}/libfoo-1.1.0.tar.xz" in out
    assert f"              {release_dir}/SHA256SUMS" in out
    assert any(line.startswith(f"  manifest    {setup.manifest}: libfoo version 1.0.0 -> 1.1.0, released 2024-01-02 -> ")
               for line in out)
    assert "  push        none (nothing leaves this machine; --push REMOTE publishes)" in out
    assert "  init lint   passed: init/libfoo" in out
    assert "      - crash on empty input (Bob Fixer)" in out
    assert snapshot(setup) == before


def test_dry_run_json(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(setup.args("1.1.0", "--dry-run", "--json")) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["tag"] == "v1.1.0" and plan["previous_tag"] == "v1.0.0" and plan["push"] is None
    assert plan["manifest"]["version"] == ["1.0.0", "1.1.0"]
    assert [c["type"] for c in plan["changes"]] == ["chore", "doc", "feat", "fix"]


def test_release_makes_every_artifact(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    head = git(setup.repo, "rev-parse", "HEAD")

    assert main(setup.args("1.1.0")) == 0

    release_dir = setup.out / "libfoo-1.1.0"
    assert capsys.readouterr().err.splitlines() == [
        f"tagged {head[:12]} as v1.1.0",
        f"wrote {release_dir}/libfoo-1.1.0.tar.gz",
        f"wrote {release_dir}/libfoo-1.1.0.tar.xz",
        f"released libfoo 1.1.0: tag v1.1.0, files in {release_dir}",
    ]
    # The tag: annotated, on HEAD, carrying the notes.
    assert git(setup.repo, "cat-file", "-t", "v1.1.0") == "tag"
    assert git(setup.repo, "rev-parse", "v1.1.0^{commit}") == head
    message = git(setup.repo, "tag", "-l", "--format=%(contents)", "v1.1.0")
    assert message.startswith("libfoo 1.1.0\n\nNew features:\n  - add bar (Ann Dev)\n\nBug fixes:\n")
    assert "Changes: https://github.com/example/libfoo/compare/v1.0.0...v1.1.0" in message
    # Files and checksums.
    assert sorted(p.name for p in release_dir.iterdir()) == [
        "SHA256SUMS", "libfoo-1.1.0.buildinfo.json", "libfoo-1.1.0.notes.md", "libfoo-1.1.0.tar.gz",
        "libfoo-1.1.0.tar.xz"]
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=release_dir, check=True)
    # How the tarballs were made, for explaining a byte difference on another machine.
    info = json.loads((release_dir / "libfoo-1.1.0.buildinfo.json").read_text())
    assert (info["method"], info["commit"], info["tag"]) == ("git-archive", head, "v1.1.0")
    assert info["git"].startswith("git version ")
    assert info["sha256"] == dict(line.split("  ")[::-1] for line in (release_dir / "SHA256SUMS").read_text().splitlines())
    notes = (release_dir / "libfoo-1.1.0.notes.md").read_text()
    assert notes.startswith("# libfoo 1.1.0\n\n## New features\n\n- add bar (Ann Dev)\n")
    # The manifest: only the two values changed, comment kept.
    tag_date = git(setup.repo, "for-each-ref", "--format=%(taggerdate:short)", "refs/tags/v1.1.0")
    assert setup.manifest.read_text() == MANIFEST.replace(
        'version: "1.0.0"   # keep this comment\n    released: 2024-01-02',
        f'version: "1.1.0"   # keep this comment\n    released: {tag_date}',
    )
    # The history the renderer reads.
    entries = history.load(setup.root, "libfoo")
    assert [e.version for e in entries] == ["1.1.0"]
    entry = entries[0]
    assert entry.tag == "v1.1.0" and entry.commit == head and entry.previous_tag == "v1.0.0"
    assert entry.packager == "Test Author <author@example.org>"
    assert entry.date.tzinfo is not None
    assert int(entry.date.timestamp()) == int(git(setup.repo, "for-each-ref", "--format=%(taggerdate:unix)",
                                                  "refs/tags/v1.1.0"))
    assert [(c.type, c.subject, c.author) for c in entry.changes] == [
        ("chore", "add a link", "Ann Dev"), ("doc", "Update documentation", "Ann Dev"),
        ("feat", "add bar", "Ann Dev"), ("fix", "crash on empty input", "Bob Fixer")]
    # Nothing left the machine, the work tree is untouched.
    assert git(setup.repo, "status", "--porcelain") == ""


def test_finished_release_again_is_a_no_op(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(setup.args("1.1.0")) == 0
    capsys.readouterr()
    stamps = {p: p.stat().st_mtime_ns for p in setup.out.rglob("*")}
    before = snapshot(setup)

    assert main(setup.args("1.1.0")) == 0

    assert capsys.readouterr().err == "libfoo 1.1.0 is already released (tag v1.1.0); nothing to do\n"
    assert snapshot(setup) == before
    assert {p: p.stat().st_mtime_ns for p in setup.out.rglob("*")} == stamps


def test_tags_carried_over_from_a_split_count_as_releases(setup: Setup) -> None:
    setup.manifest.write_text(MANIFEST.replace(
        "    packaging:\n      init_scripts: [libfoo]\n",
        "    packaging:\n      init_scripts: [libfoo]\n"
        "    split:\n      repository: file:///srv/cluster.git\n      paths: [{from: libfoo}]\n"
        "      tag_pattern: cluster-{version}\n"))
    git(setup.repo, "tag", "cluster-1.0.0", "v1.0.0")
    git(setup.repo, "tag", "-d", "v1.0.0")
    assert main(setup.args("1.1.0")) == 0
    entry = history.load(setup.root, "libfoo")[0]
    assert entry.previous_tag == "cluster-1.0.0" and len(entry.changes) == 4
    assert main(setup.args("1.0.1")) == 2  # cluster-1.0.0 and v1.1.0 are both older releases now


def test_packager_option_and_first_release_notes(setup: Setup) -> None:
    git(setup.repo, "tag", "-d", "v1.0.0")
    assert main([*setup.args("1.1.0", "--packager", "Pat Packager <pat@example.org>"), "--force"]) == 0
    entry = history.load(setup.root, "libfoo")[0]
    assert entry.packager == "Pat Packager <pat@example.org>"
    assert entry.previous_tag == ""
    assert len(entry.changes) == 5  # the whole history for a first release
    assert "Released with --force, overriding:" in git(setup.repo, "tag", "-l", "--format=%(contents)", "v1.1.0")


# ---------------------------------------------------------------------------
# Refusals: every failed check at once, nothing written
# ---------------------------------------------------------------------------

def test_every_failed_check_is_listed_and_nothing_written(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    init = setup.repo / "init" / "libfoo"
    commit(setup.repo, {"init/libfoo": init.read_text().replace("# Default-Stop:      0 1 6\n", "")}, "drop stop levels")
    (setup.repo / "src" / "foo.c").write_text("dirty\n")
    before = snapshot(setup)

    assert main(setup.args("0.9.0", "--push", "nowhere", "--packager", "nobody")) == 2

    err = capsys.readouterr().err.splitlines()
    assert err == [
        "error: cannot release libfoo 0.9.0: 5 checks failed",
        "  libfoo: version 0.9.0 is not greater than the latest release 1.0.0 (tag v1.0.0) (--force overrides)",
        f"  libfoo: {setup.repo} has uncommitted changes: src/foo.c (commit or stash them)",
        "  libfoo: init/libfoo:2: LSB header has no Default-Stop (--no-lint skips the init-script check)",
        f"  libfoo: {setup.repo} has no remote named 'nowhere' (see `git remote -v`)",
        "  libfoo: packager 'nobody' is not 'Name <mail@host>' (set --packager or git user.name/email)",
        "hint: fix the problems above and run the command again (nothing was written)",
    ]
    assert snapshot(setup) == before


def test_no_lint_lets_a_bad_init_script_through(setup: Setup) -> None:
    commit(setup.repo, {"init/libfoo": "#!/bin/sh\necho no header\n"}, "break the init script")
    assert main(setup.args("1.1.0")) == 2
    assert main(setup.args("1.1.0", "--no-lint")) == 0


def test_init_scripts_found_by_their_header_are_checked_outside_tests(setup: Setup,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    broken = "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: x\n### END INIT INFO\n"
    commit(setup.repo, {"tests/fixtures/bad-init": broken, "contrib/x-daemon": broken}, "add scripts")
    assert main(setup.args("1.1.0")) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "error: cannot release libfoo 1.1.0: 6 checks failed"
    assert all(line.startswith("  libfoo: contrib/x-daemon:") for line in err[1:-1])


def test_listed_init_script_without_a_source_is_a_warning(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    setup.manifest.write_text(MANIFEST.replace("init_scripts: [libfoo]", "init_scripts: [libfoo, libfoo-helper]"))
    assert main(setup.args("1.1.0")) == 0
    assert capsys.readouterr().err.splitlines()[0] == (
        f"cannot find the source of init script libfoo-helper (packaging.init_scripts) in {setup.repo} to check it")


def test_manifest_and_tags_must_agree(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    git(setup.repo, "tag", "-a", "v1.0.5", "-m", "1.0.5", "HEAD~1")
    assert main(setup.args("1.1.0")) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[1] == (f"  libfoo: {setup.manifest} says libfoo 1.0.0 but the latest release tag in {setup.repo} "
                      "is v1.0.5 (1.0.5) (--force overrides)")


def test_manifest_ahead_of_the_tags(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    setup.manifest.write_text(MANIFEST.replace('"1.0.0"', '"1.1.0"'))
    assert main(setup.args("1.1.0")) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[1] == (f"  libfoo: {setup.manifest} already says libfoo 1.1.0 but the repository has no tag v1.1.0 "
                      "(--force overrides)")


def test_nothing_new_since_the_previous_release(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    git(setup.repo, "reset", "-q", "--hard", "v1.0.0")
    head = git(setup.repo, "rev-parse", "HEAD")
    assert main(setup.args("1.1.0")) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[1] == (f"  libfoo: HEAD {head[:12]} is the commit of the previous release v1.0.0; there is nothing new "
                      "to release (--force overrides)")


def test_tag_on_another_commit_is_refused(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    git(setup.repo, "tag", "-a", "v1.1.0", "-m", "early", "HEAD~1")
    other = git(setup.repo, "rev-parse", "HEAD~1")
    head = git(setup.repo, "rev-parse", "HEAD")
    assert main(setup.args("1.1.0")) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[1] == (f"  libfoo: tag v1.1.0 already exists on {other[:12]}, not on HEAD {head[:12]} (check out "
                      f"{other[:12]} to finish that release, or delete the tag if it was never published)")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["release", "libfo", "1.1.0"], "error: {manifest}: no component named 'libfo' (did you mean 'libfoo'?)"),
        (["release", "libfoo", "1.1 0"], "  libfoo: '1.1 0' is not a rpm version: "),
        (["release", "libfoo", "1.1.0", "--repo", "{root}"], "  libfoo: {root} is not a git repository"),
    ],
    ids=["unknown-component", "bad-version", "not-a-repository"],
)
def test_bad_input_is_one_clear_error(setup: Setup, capsys: pytest.CaptureFixture[str], argv: list[str],
                                      expected: str) -> None:
    fill = {"manifest": str(setup.manifest), "root": str(setup.root)}
    args = [a.format(**fill) for a in argv]
    if "--repo" not in args:
        args += ["--repo", str(setup.repo)]
    assert main(["--manifest", str(setup.manifest), *args]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert any(line.startswith(expected.format(**fill)) for line in err.splitlines()), err


def test_pre_release_leaves_the_manifest_alone(setup: Setup) -> None:
    before = setup.manifest.read_bytes()
    assert main(setup.args("1.1.0-rc1")) == 0
    assert setup.manifest.read_bytes() == before
    assert (setup.out / "libfoo-1.1.0-rc1" / "libfoo-1.1.0-rc1.tar.gz").exists()
    assert history.load(setup.root, "libfoo")[0].version == "1.1.0-rc1"
    # The final release follows its candidate and lists only what came after it.
    commit(setup.repo, {"NEWS": "1.1.0\n"}, "doc: news for 1.1.0")
    assert main(setup.args("1.1.0")) == 0
    entries = history.load(setup.root, "libfoo")
    assert [e.version for e in entries] == ["1.1.0", "1.1.0-rc1"]
    assert entries[0].previous_tag == "v1.1.0-rc1"
    assert [c.subject for c in entries[0].changes] == ["news for 1.1.0"]
    assert b'version: "1.1.0"' in setup.manifest.read_bytes()
    # An older version than the candidate is refused.
    assert main(setup.args("1.0.9")) == 2


# ---------------------------------------------------------------------------
# Signing and pushing
# ---------------------------------------------------------------------------

@pytest.fixture
def gnupg(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A throwaway signing key in a temporary GNUPGHOME."""
    home = tmp_path_factory.mktemp("gpg")
    home.chmod(0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "Release Key <release@example.org>",
                    "ed25519", "sign", "never"], check=True, capture_output=True)
    yield "release@example.org"
    subprocess.run(["gpgconf", "--kill", "all"], check=False, capture_output=True, env={**os.environ})


def test_signed_release(setup: Setup, gnupg: str) -> None:
    assert main(setup.args("1.1.0", "--sign", "--key", gnupg)) == 0

    verified = subprocess.run(["git", "-C", str(setup.repo), "tag", "-v", "v1.1.0"], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr
    assert 'Good signature from "Release Key <release@example.org>"' in verified.stderr
    release_dir = setup.out / "libfoo-1.1.0"
    for fmt in ("gz", "xz"):
        tarball = release_dir / f"libfoo-1.1.0.tar.{fmt}"
        signature = Path(f"{tarball}.asc")
        assert signature.read_text().startswith("-----BEGIN PGP SIGNATURE-----")
        subprocess.run(["gpg", "--batch", "--verify", str(signature), str(tarball)], check=True, capture_output=True)
    stamps = {p.name: p.stat().st_mtime_ns for p in release_dir.iterdir()}
    # Again: the signatures (which carry a time) are kept, not remade.
    assert main(setup.args("1.1.0", "--sign", "--key", gnupg)) == 0
    assert {p.name: p.stat().st_mtime_ns for p in release_dir.iterdir()} == stamps


def test_sign_cannot_sign_an_existing_unsigned_tag(setup: Setup, gnupg: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(setup.args("1.1.0")) == 0
    capsys.readouterr()
    assert main(setup.args("1.1.0", "--sign", "--key", gnupg)) == 2
    assert capsys.readouterr().err.splitlines()[1] == (
        "  libfoo: tag v1.1.0 exists without a GPG signature; --sign cannot sign it afterwards "
        "(delete the tag if it was never published, or release without --sign)")


def test_sign_without_a_key_is_refused(setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "emptygpg"
    empty.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(empty))
    assert main(setup.args("1.1.0", "--sign", "--key", "nobody@example.org")) == 2
    err = capsys.readouterr().err.splitlines()
    # gpg's own words, and nothing written
    assert err[1].startswith("  libfoo: cannot sign with 'nobody@example.org' (from --key): ")
    assert "No secret key" in err[1]
    assert git(setup.repo, "tag", "-l", "v1.1.0") == ""
    subprocess.run(["gpgconf", "--kill", "all"], check=False, capture_output=True)


def test_sign_without_key_uses_the_key_git_would_use(setup: Setup, gnupg: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # git tag -s signs as the committer (Test Committer <committer@example.org>), who has no key here
    assert main(setup.args("1.1.0", "--sign")) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[1].startswith("  libfoo: cannot sign with 'Test Committer <committer@example.org>' "
                             "(from the committer identity (git's user.name and user.email)): ")
    assert "No secret key" in err[1]
    assert git(setup.repo, "tag", "-l", "v1.1.0") == ""
    # git's user.signingKey is what git would use: the release signs with it, tag and tarballs
    git(setup.repo, "config", "user.signingKey", gnupg)
    assert main(setup.args("1.1.0", "--sign")) == 0
    verified = subprocess.run(["git", "-C", str(setup.repo), "tag", "-v", "v1.1.0"], capture_output=True, text=True)
    assert 'Good signature from "Release Key <release@example.org>"' in verified.stderr
    tarball = setup.out / "libfoo-1.1.0" / "libfoo-1.1.0.tar.gz"
    subprocess.run(["gpg", "--batch", "--verify", f"{tarball}.asc", str(tarball)], check=True, capture_output=True)


def make_remote(setup: Setup) -> Path:
    remote = setup.root / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    git(setup.repo, "remote", "add", "origin", str(remote))
    git(setup.repo, "push", "-q", "origin", "HEAD~1:refs/heads/main")
    return remote


def test_push_sends_tag_and_branch_together(setup: Setup) -> None:
    remote = make_remote(setup)
    assert main(setup.args("1.1.0", "--push", "origin")) == 0
    head = git(setup.repo, "rev-parse", "HEAD")
    assert git(remote, "rev-parse", "refs/heads/main") == head
    assert git(remote, "rev-parse", "refs/tags/v1.1.0^{commit}") == head


def test_diverged_remote_is_refused_before_any_write(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    remote = make_remote(setup)
    other = setup.root / "other"
    subprocess.run(["git", "clone", "-q", str(remote), str(other)], check=True)
    commit(other, {"OTHER": "x\n"}, "elsewhere")
    git(other, "push", "-q", "origin", "main")
    git(remote, "tag", "v1.1.0", "main")
    moved = git(remote, "rev-parse", "main")
    before = snapshot(setup)

    assert main(setup.args("1.1.0", "--push", "origin")) == 2

    err = capsys.readouterr().err.splitlines()
    head = git(setup.repo, "rev-parse", "HEAD")
    assert err[1:3] == [
        f"  libfoo: remote origin already has tag v1.1.0 on {moved[:12]}, not on HEAD {head[:12]}",
        f"  libfoo: main on origin ({moved[:12]}) is not an ancestor of HEAD; the push would be rejected "
        "(`git pull` first)",
    ]
    assert snapshot(setup) == before


def test_unreachable_remote_is_refused(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    git(setup.repo, "remote", "add", "origin", str(setup.root / "gone.git"))
    assert main(setup.args("1.1.0", "--push", "origin")) == 2
    assert "  libfoo: remote origin cannot be read: " in capsys.readouterr().err


def test_rejected_push_sends_nothing_and_can_be_finished(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    remote = make_remote(setup)
    # The remote refuses the branch update at push time (after every check
    # passed): with --atomic the tag must not be published either.
    hook = remote / "hooks" / "update"
    hook.write_text('#!/bin/sh\n[ "$1" = refs/heads/main ] && { echo "main is frozen" >&2; exit 1; }\nexit 0\n')
    hook.chmod(0o755)

    assert main(setup.args("1.1.0", "--push", "origin")) == 1

    assert "error: `git -C" in capsys.readouterr().err
    assert subprocess.run(["git", "-C", str(remote), "rev-parse", "-q", "--verify", "refs/tags/v1.1.0"],
                          capture_output=True).returncode != 0
    assert git(remote, "rev-parse", "main") == git(setup.repo, "rev-parse", "HEAD~1")
    assert git(setup.repo, "rev-parse", "v1.1.0^{commit}") == git(setup.repo, "rev-parse", "HEAD")  # kept locally
    assert b'version: "1.1.0"' in setup.manifest.read_bytes()  # local steps are done
    # Once the remote accepts it, the same command finishes the release.
    hook.unlink()
    assert main(setup.args("1.1.0", "--push", "origin")) == 0
    assert git(remote, "rev-parse", "refs/tags/v1.1.0^{commit}") == git(setup.repo, "rev-parse", "HEAD")
    assert git(remote, "rev-parse", "main") == git(setup.repo, "rev-parse", "HEAD")


def test_push_needs_a_branch(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    make_remote(setup)
    git(setup.repo, "checkout", "-q", "--detach")
    assert main(setup.args("1.1.0", "--push", "origin")) == 2
    assert f"  libfoo: HEAD is detached in {setup.repo}; --push needs a branch to push" in capsys.readouterr().err


def test_manifest_inside_the_component_repository(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    """The manifest and history the release edits do not count as uncommitted work on a re-run."""
    inside = setup.repo / "components.yaml"
    inside.write_text(MANIFEST)
    commit(setup.repo, {}, "chore: add the manifest")
    args = ["release", "--manifest", str(inside), "libfoo", "1.1.0", "--repo", str(setup.repo)]
    assert main(args) == 0
    assert git(setup.repo, "status", "--porcelain", "--untracked-files=no") == "M components.yaml"
    git(setup.repo, "add", "history")
    capsys.readouterr()
    assert main(args) == 0
    assert capsys.readouterr().err == "libfoo 1.1.0 is already released (tag v1.1.0); nothing to do\n"
    assert (setup.repo / "dist" / "libfoo-1.1.0" / "SHA256SUMS").exists()
