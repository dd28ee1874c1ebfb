"""Cutting one release: checks, plan, and resumable execution.

``plan_release`` runs every check before anything is written and reports all
failures at once (:class:`ReleaseCheckError`); it returns a
:class:`ReleasePlan` that says exactly what ``execute`` will do.  ``execute``
performs the steps in this order, each one idempotent and recorded in a
journal (``GIT_DIR/releasetool/release-NAME.journal``) once its effect is
durable:

1. ``tag``        annotated (``--sign``: GPG-signed) tag on the planned commit
2. ``tarball-*``  reproducible ``NAME-VERSION.tar.gz``/``.tar.xz`` from that commit
3. ``notes``      ``NAME-VERSION.notes.md``
4. ``sign-*``     detached armored ``.asc`` signatures (``--sign``)
5. ``sums``       ``SHA256SUMS`` of the tarballs
6. ``history``    the entry the renderer turns into changelogs (history/NAME.json)
7. ``manifest``   components.yaml ``version``/``released`` (stable releases only)
8. ``push``       one ``git push --atomic REMOTE TAG BRANCH`` (``--push`` only)

A run killed anywhere is finished by running the same command again: the tag
is the anchor (it exists on the right commit, so it is kept, and its date is
the release date), files are rebuilt byte for byte and written only when they
differ, signatures already made are kept.  A finished release run again does
nothing and says so.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from releasetool import fsutil, manifest, proc
from releasetool.errors import CommandError, ReleaseCheckError, ReleaseError, ReleasetoolError, VersionError
from releasetool.log import log
from releasetool.release import dist, history, lint_init, notes, tarball, version_truth
from releasetool.release.plan import DIST_DIR, ManifestChange, ReleaseOptions, ReleasePlan, ReleaseResult

if TYPE_CHECKING:
    from releasetool.versions import TagVersion

__all__ = [
    "DIST_DIR",
    "ManifestChange",
    "ReleaseOptions",
    "ReleasePlan",
    "ReleaseResult",
    "check_release",
    "cut_release",
    "execute",
    "locks",
    "plan_release",
    "publish_release",
    "remove_temporaries",
]


TEST_DIRS = frozenset({"test", "tests", "testing", "testsuite", "t", "regression"})
_PACKAGER = re.compile(r"^[^<>]+ <[^<>@\s]+@[^<>\s]+>$")
_IDENT = re.compile(r"^(?P<who>.+ <[^>]*>) \d+ [+-]\d{4}$")


# ---------------------------------------------------------------------------
# Checks and planning
# ---------------------------------------------------------------------------

def plan_release(
    manifest_path: str | Path,
    name: str,
    version: str,
    options: ReleaseOptions,
    *,
    loaded: manifest.Manifest | None = None,
    now: dt.datetime | None = None,
) -> ReleasePlan:
    """Run every check; return the plan, or raise ReleaseCheckError listing all failures."""
    plan, problems = check_release(manifest_path, name, version, options, loaded=loaded, now=now)
    if problems or plan is None:
        raise ReleaseCheckError(
            f"cannot release {name} {version}: {len(problems)} check{'s' if len(problems) != 1 else ''} failed",
            problems,
            hint="fix the problems above and run the command again (nothing was written)",
        )
    return plan


def check_release(
    manifest_path: str | Path,
    name: str,
    version: str,
    options: ReleaseOptions,
    *,
    loaded: manifest.Manifest | None = None,
    now: dt.datetime | None = None,
) -> tuple[ReleasePlan | None, list[str]]:
    """The plan and every failed check (a plan is returned only when no check failed)."""
    from releasetool import versions

    manifest_path = Path(manifest_path)
    loaded = loaded or manifest.load(manifest_path)
    comp = loaded.get(name)
    problems: list[str] = []
    forced: list[str] = []

    def refuse(message: str, *, forceable: bool = False) -> None:
        if forceable and options.force:
            forced.append(message)
            log.warning("%s: %s (overridden by --force)", name, message)
        else:
            problems.append(f"{name}: {message}" + (" (--force overrides)" if forceable else ""))

    if not comp.active:
        refuse(f"the component is {comp.status} in {manifest_path}")
    scheme, pattern = comp.version_scheme, comp.tag_pattern
    # VERSION is spelled as upstream tags it (2.1.0-rc1); it is ordered in the
    # scheme's own spelling (2.1.0~rc1 for rpm and Debian).
    ordered: str | None = None
    try:
        ordered = versions.upstream_order_form(scheme, version)
    except VersionError as exc:
        refuse(f"{version!r} is not a {scheme} version: {exc.message}")

    repo_arg = Path(options.repo)
    try:
        top = Path(proc.git(repo_arg, "rev-parse", "--show-toplevel"))
        git_dir = Path(proc.git(repo_arg, "rev-parse", "--absolute-git-dir"))
    except CommandError:
        problems.append(f"{name}: {repo_arg} is not a git repository (pass --repo PATH of {name}'s clone)")
        return None, problems
    try:
        commit = proc.git(top, "rev-parse", "--verify", "-q", "HEAD^{commit}")
    except CommandError:
        problems.append(f"{name}: {top} has no commits")
        return None, problems
    subject = proc.git(top, "show", "-s", "--format=%s", commit)
    branch = proc.git(top, "symbolic-ref", "--short", "-q", "HEAD", check=False)

    try:
        tag = versions.version_to_tag(pattern, version, name=name)
    except VersionError as exc:
        problems.append(f"{name}: {exc.message}")
        return None, problems

    # Release tags already in the repository; the tag being made is left out so
    # that a resumed run compares against the previous release.
    all_tags = [t for t in proc.git(top, "tag", "--list").splitlines() if t]
    found = _release_tags(comp, [t for t in all_tags if t != tag])
    latest_any = found[-1] if found else None
    latest_stable = next((tv for tv in reversed(found) if not tv.prerelease), None)
    previous_tag = latest_any.tag if latest_any else ""

    def newer(a: str, b: str) -> int:
        return versions.compare(scheme, versions.upstream_order_form(scheme, a),
                                versions.upstream_order_form(scheme, b))

    if ordered and latest_any and newer(version, latest_any.version) <= 0:
        refuse(f"version {version} is not greater than the latest release {latest_any.version} "
               f"(tag {latest_any.tag})", forceable=True)

    if latest_any and tag not in all_tags:
        previous_commit = proc.git(top, "rev-parse", "--verify", "-q", f"refs/tags/{latest_any.tag}^{{commit}}",
                                   check=False)
        if previous_commit == commit:
            refuse(f"HEAD {commit[:12]} is the commit of the previous release {latest_any.tag}; "
                   "there is nothing new to release", forceable=True)

    tag_exists = tag in all_tags
    if tag_exists:
        tagged = proc.git(top, "rev-parse", "--verify", "-q", f"refs/tags/{tag}^{{commit}}", check=False)
        if tagged != commit:
            problems.append(
                f"{name}: tag {tag} already exists on {tagged[:12]}, not on HEAD {commit[:12]} "
                f"(check out {tagged[:12]} to finish that release, or delete the tag if it was never published)"
            )

    if tag_exists and options.sign and "-----BEGIN PGP SIGNATURE-----" not in proc.git(
            top, "cat-file", "-p", f"refs/tags/{tag}", check=False):
        problems.append(f"{name}: tag {tag} exists without a GPG signature; --sign cannot sign it afterwards "
                        "(delete the tag if it was never published, or release without --sign)")

    # The manifest records the latest stable release; it must agree with the tags.
    if comp.version == version:
        if not tag_exists:
            refuse(f"{manifest_path} already says {name} {version} but the repository has no tag {tag}",
                   forceable=True)
    elif latest_stable is None:
        split_pattern = comp.split.tag_pattern if comp.split and comp.split.tag_pattern else pattern
        spelled = " or ".join(repr(p) for p in dict.fromkeys([pattern, split_pattern]))
        refuse(f"{manifest_path} says {name} {comp.version} was released but {top} has no tag "
               f"matching {spelled}", forceable=True)
    elif not _same_version(newer, comp.version, latest_stable.version):
        refuse(f"{manifest_path} says {name} {comp.version} but the latest release tag in {top} is "
               f"{latest_stable.tag} ({latest_stable.version})", forceable=True)

    dirty = _dirty_paths(top, [manifest_path, history.history_path(manifest_path.parent, name)])
    if dirty:
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        problems.append(f"{name}: {top} has uncommitted changes: {shown} (commit or stash them)")

    scripts: list[str] = []
    if options.lint:
        scripts, lint_problems = _lint_commit(top, commit, comp.packaging.init_scripts)
        problems.extend(f"{name}: {p}" for p in lint_problems)
        if lint_problems:
            problems[-1] += " (--no-lint skips the init-script check)"

    key = options.key
    if options.sign:
        key, source = signing_key(top, options.key)
        problems.extend(f"{name}: {p}" for p in _check_signing(key, source))
    if options.push:
        if proc.run(["git", "-C", str(top), "remote", "get-url", options.push], check=False).returncode != 0:
            problems.append(f"{name}: {top} has no remote named {options.push!r} (see `git remote -v`)")
        elif not branch:
            problems.append(f"{name}: HEAD is detached in {top}; --push needs a branch to push")
        else:
            problems.extend(f"{name}: {p}" for p in _check_remote(top, options.push, tag, branch, commit))

    packager = options.packager or _packager_from_git(top) or loaded.distribution.packager
    if not packager or not _PACKAGER.match(packager):
        problems.append(f"{name}: packager {packager!r} is not 'Name <mail@host>' (set --packager or git user.name/email)")

    formats = tuple(comp.tarball_formats)
    for fmt in formats:
        if fmt not in tarball.FORMATS:
            problems.append(f"{name}: tarball format {fmt!r} is unknown (one of: {', '.join(tarball.FORMATS)})")

    # What the tree says its version is, in the files the project reads it from.
    for problem in version_truth.disagreements(top, commit, version, lambda a, b: _same_version(newer, a, b)):
        refuse(problem, forceable=True)
    dist_command = comp.dist_command
    if comp.tarball_method == "dist":
        dist_command = dist.command_for(comp, top, commit)
        needed = ["autoreconf", "automake", "libtoolize", "make"] if comp.packaging.build_system == "autotools" else []
        for program in needed:
            if not version_truth.has_tool(program):
                problems.append(f"{name}: the dist tarball needs {program}, which is not installed "
                                "(`make setup` installs the autotools)")

    # Everything the run will write must be writable before the tag is made.
    out_base = Path(options.out) if options.out else manifest_path.parent / DIST_DIR
    out_problem = fsutil.output_dir_problem(out_base.resolve() / f"{name}-{version}")
    if out_problem is not None:
        problems.append(f"{name}: cannot write the release files: {out_problem} (give --out a directory)")
    try:
        history.load(manifest_path.parent, name)
    except ReleaseError as exc:
        problems.append(f"{name}: {exc.message} ({exc.hint})" if exc.hint else f"{name}: {exc.message}")

    if problems:
        return None, problems

    date = _tag_date(top, tag) if tag_exists else (now or dt.datetime.now(dt.UTC)).astimezone().replace(microsecond=0)
    prerelease = versions.is_prerelease(scheme, ordered or version)
    change = None
    if not prerelease:
        change = ManifestChange(manifest_path, name, comp.version, version, comp.released, date.date())
    release_notes = notes.collect(top, commit, previous_tag, tag, comp.homepage)
    if options.notes_text is not None:
        release_notes = notes.with_text(release_notes, options.notes_text)
        if not release_notes.edited:
            return None, [f"{name}: the release notes are empty (lines starting with '#' do not count); "
                          "nothing was written"]
    return ReleasePlan(
        name=name, version=version, scheme=scheme, manifest_path=manifest_path, repo=top, git_dir=git_dir,
        branch=branch, commit=commit, subject=subject, tag=tag, tag_exists=tag_exists,
        previous_version=latest_any.version if latest_any else None, previous_tag=previous_tag, date=date, packager=packager,
        out_dir=out_base.resolve() / f"{name}-{version}", formats=formats, sign=options.sign, key=key,
        push=options.push, prerelease=prerelease, forced=tuple(forced), notes=release_notes,
        manifest_change=change, init_scripts=tuple(scripts), tarball_method=comp.tarball_method,
        dist_command=dist_command, dist_timezone=comp.dist_timezone, build_system=comp.packaging.build_system,
    ), []


def _release_tags(comp: manifest.Component, tags: list[str]) -> list[TagVersion]:
    """The release tags among ``tags``, oldest first.

    A component split from a monolithic tree carries that tree's release tags
    (split.tag_pattern, e.g. ``cluster-3.0.0``) from before the split; they are
    its earlier releases too.  On equal versions its own pattern sorts last,
    so it wins as "latest".
    """
    from releasetool import versions

    patterns = [comp.tag_pattern]
    if comp.split and comp.split.tag_pattern and comp.split.tag_pattern != comp.tag_pattern:
        patterns.insert(0, comp.split.tag_pattern)
    tags = [t for t in tags if not comp.is_ignored_tag(t)]  # the manifest's ignore_tags are no releases
    found = [tv for p in patterns for tv in versions.scan_tags(comp.version_scheme, p, tags, name=comp.name).versions]
    key = versions.sort_key(comp.version_scheme)
    found.sort(key=lambda tv: key(versions.upstream_order_form(comp.version_scheme, tv.version)))
    return found


def _same_version(newer: Callable[[str, str], int], a: str, b: str) -> bool:
    try:
        return a == b or newer(a, b) == 0
    except VersionError:
        return False


def _dirty_paths(top: Path, ignored: list[Path]) -> list[str]:
    """Tracked files with uncommitted changes (the manifest and history, when inside the repo, excepted)."""
    raw = proc.run(["git", "-C", str(top), "status", "--porcelain=v1", "-z", "--untracked-files=no"]).stdout
    skip: set[str] = set()
    for path in ignored:
        with contextlib.suppress(ValueError):
            skip.add(Path(path).resolve().relative_to(top.resolve()).as_posix())
    dirty: list[str] = []
    for record in raw.decode("utf-8", "replace").split("\0"):
        if len(record) > 3 and record[2] == " ":
            changed = record[3:]
            if changed not in skip:
                dirty.append(changed)
    return dirty


def _lint_commit(top: Path, commit: str, listed: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Lint the init scripts of ``commit``: the sources of those the manifest lists, and any file with an LSB header.

    ``packaging.init_scripts`` names scripts as installed (``ldirectord``);
    their sources in the tree are found by :func:`lint_init.init_script_sources`.
    """
    raw = proc.run(["git", "-C", str(top), "ls-tree", "-r", "-z", "--name-only", "--full-tree", commit]).stdout
    paths = [p for p in raw.decode("utf-8", "surrogateescape").split("\0") if p]
    sources, unfound = lint_init.init_script_sources(paths, listed)
    for script in unfound:
        log.warning("cannot find the source of init script %s (packaging.init_scripts) in %s to check it",
                    script, top)
    # -z: names as they are (no core.quotePath quoting), each "COMMIT:PATH".
    headed = proc.run(["git", "-C", str(top), "grep", "-z", "-l", "-E", "^### BEGIN INIT INFO", commit, "--"],
                      check=False).stdout.decode("utf-8", "surrogateescape")
    found = [item.split(":", 1)[1] for item in headed.split("\0") if ":" in item]
    # Scripts under a test directory are fixtures (often broken on purpose), not shipped.
    found = [path for path in found if not set(path.split("/")[:-1]) & TEST_DIRS]
    problems: list[str] = []
    checked: list[str] = []
    for path in dict.fromkeys([*sources, *found]):
        blob = proc.run(["git", "-C", str(top), "cat-file", "blob", f"{commit}:{path}"], check=False)
        if blob.returncode != 0:
            continue  # a submodule or a name git grep quoted
        text = blob.stdout.decode("utf-8", "replace")
        if not text.startswith("#!"):
            continue  # documentation quoting a header, not a script
        checked.append(path)
        problems.extend(str(f) for f in lint_init.lint_text(text, path))
    return checked, problems


def _check_remote(top: Path, remote: str, tag: str, branch: str, commit: str) -> list[str]:
    """Whether the atomic push can succeed: remote reachable, tag free there, branch a fast-forward."""
    listing = proc.run(["git", "-C", str(top), "ls-remote", remote, f"refs/tags/{tag}", f"refs/tags/{tag}^{{}}",
                        f"refs/heads/{branch}"], check=False)
    if listing.returncode != 0:
        tail = listing.stderr.decode("utf-8", "replace").strip().splitlines()
        return [f"remote {remote} cannot be read: {tail[-1] if tail else 'git ls-remote failed'}"]
    refs: dict[str, str] = {}
    for line in listing.stdout.decode().splitlines():
        oid, tab, ref = line.partition("\t")
        if tab:
            refs[ref] = oid
    problems = []
    remote_tag = refs.get(f"refs/tags/{tag}^{{}}") or refs.get(f"refs/tags/{tag}")
    if remote_tag and remote_tag != commit:
        problems.append(f"remote {remote} already has tag {tag} on {remote_tag[:12]}, not on HEAD {commit[:12]}")
    remote_branch = refs.get(f"refs/heads/{branch}")
    if remote_branch and remote_branch != commit:
        known = proc.run(["git", "-C", str(top), "merge-base", "--is-ancestor", remote_branch, commit], check=False)
        if known.returncode != 0:
            problems.append(f"{branch} on {remote} ({remote_branch[:12]}) is not an ancestor of HEAD; "
                            f"the push would be rejected (`git pull` first)")
    return problems


def signing_key(top: Path, key: str | None) -> tuple[str, str]:
    """The key a signed release uses and where that choice comes from.

    ``--key`` when given; else what ``git tag -s`` uses: the repository's
    ``user.signingKey``, else the committer identity ``Name <email>`` (gpg
    finds the key by that user id, not gpg's default key).
    """
    if key:
        return key, "--key"
    configured = proc.git(top, "config", "--get", "user.signingKey", check=False)
    if configured:
        return configured, "git's user.signingKey"
    ident = proc.run(["git", "-C", str(top), "var", "GIT_COMMITTER_IDENT"], check=False)
    match = _IDENT.match(ident.stdout.decode("utf-8", "replace").strip()) if ident.returncode == 0 else None
    return (match.group(1) if match else ""), "the committer identity (git's user.name and user.email)"


def _check_signing(key: str, source: str) -> list[str]:
    """A trial signature with ``key``: gpg's own words when it cannot sign (nothing is written)."""
    try:
        proc.require("gpg", package="gnupg")
    except ReleasetoolError as exc:
        return [exc.message]
    if not key:
        return ["--sign: no key to sign with (pass --key ID, or set git's user.signingKey or user.email)"]
    trial = proc.run(["gpg", "--batch", "--armor", "--detach-sign", "--local-user", key, "--output", "-"],
                     input=b"releasetool signing check\n", check=False, timeout=60)
    if trial.returncode == 0:
        return []
    said = [line.strip() for line in trial.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return [f"cannot sign with {key!r} (from {source}): {'; '.join(said[-3:]) or 'gpg failed'} "
            "(see `gpg --list-secret-keys`; --key ID picks another key)"]


def _packager_from_git(top: Path) -> str:
    ident = proc.run(["git", "-C", str(top), "var", "GIT_AUTHOR_IDENT"], check=False)
    match = _IDENT.match(ident.stdout.decode("utf-8", "replace").strip()) if ident.returncode == 0 else None
    return match.group("who") if match else ""


def _tag_date(top: Path, tag: str) -> dt.datetime:
    """The date of an existing tag (its tagger date; a lightweight tag: its commit's date)."""
    text = proc.git(top, "for-each-ref", "--format=%(taggerdate:iso-strict)|%(*committerdate:iso-strict)"
                    "|%(committerdate:iso-strict)", f"refs/tags/{tag}")
    for value in text.split("|"):
        if value:
            return dt.datetime.fromisoformat(value)
    raise ReleaseError(f"{top}: cannot read the date of tag {tag}")


# ---------------------------------------------------------------------------
# Execution
# ---------------------------------------------------------------------------

def manifest_lock_path(manifest_path: Path) -> Path:
    return Path(fsutil.manifest_lock_path(manifest_path))


@contextlib.contextmanager
def locks(manifest_path: str | Path, repos: list[Path]) -> Iterator[None]:
    """The manifest's lock and each repository's release lock, in a fixed order."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(fsutil.run_lock(manifest_lock_path(Path(manifest_path)), what=f"manifest {manifest_path}"))
        # A path that is not a repository takes no lock here; the checks report it.
        for repo in sorted({d for d in map(_git_dir, repos) if d is not None}):
            stack.enter_context(fsutil.run_lock(repo / "releasetool" / "release.lock", what=f"repository {repo}"))
        yield


def _git_dir(repo: Path) -> Path | None:
    found = proc.run(["git", "-C", str(repo), "rev-parse", "--absolute-git-dir"], check=False)
    return Path(found.stdout.decode().strip()) if found.returncode == 0 else None


def execute(plan: ReleasePlan, *, publish: bool = True) -> ReleaseResult:
    """Carry out ``plan`` (the caller holds :func:`locks`); safe to call again after a kill.

    ``publish=False`` does every local step and leaves the push to
    :func:`publish_release` (a train pushes only once every component is done).
    """
    journal = fsutil.Journal(plan.journal_path, plan.plan_id)
    result = ReleaseResult(plan)
    if journal.finished and all(p.exists() for p in plan.files):
        result.kept.append("finished")
        result.sums = dict(journal.done["finished"].get("sha256", {}))
        return result

    def step(name: str, done: bool) -> None:
        (result.done if done else result.kept).append(name)

    # A run killed inside an atomic write leaves its temporary file; under the
    # lock no other writer can own one, so they are removed.
    remove_temporaries([*plan.files, plan.history_file, plan.manifest_path])

    def mark(name: str, **details: object) -> None:
        if journal.done.get(name, {}).get("sha256") != details.get("sha256") or name not in journal:
            journal.record(name, **details)

    # 0. The tarball's files, made the way upstream makes them, and the version
    #    they build as: checked before the tag, so a wrong version writes nothing.
    members, buildinfo = release_files(plan)

    # 1. The tag: made once, on the planned commit, dated with the plan's date.
    if _tag_commit(plan) is None:
        # git takes refs/tags/TAG.lock while it writes the ref; a git killed
        # in that moment leaves it behind.  Under the repository's release
        # lock nothing else is making this tag, so the lock file is stale.
        stale = plan.git_dir / "refs" / "tags" / f"{plan.tag}.lock"
        if stale.exists():
            log.warning("removing %s, left by an interrupted git", stale)
            stale.unlink()
        _make_tag(plan)
        step("tag", True)
        log.info("tagged %s as %s", plan.commit[:12], plan.tag)
    elif _tag_commit(plan) != plan.commit:
        raise ReleaseError(f"{plan.repo}: tag {plan.tag} moved to another commit during the release",
                           hint="check the tag by hand; nothing else was changed")
    else:
        step("tag", False)
    mark("tag", commit=plan.commit)

    # 2-3. Tarballs and notes: rebuilt byte for byte, written only when different.
    epoch = buildinfo["source_date_epoch"]
    assert isinstance(epoch, int)  # release_files records tarball.commit_time()
    stream = tarball.pack(members, plan.prefix, epoch)
    for path, fmt in zip(plan.tarballs, plan.formats, strict=True):
        data = tarball.compress(stream, fmt)
        changed = fsutil.write_if_changed(path, data)
        result.sums[path.name] = tarball.sha256_hex(data)
        step(f"tarball-{fmt}", changed)
        if changed:
            log.info("wrote %s", path)
        mark(f"tarball-{fmt}", sha256=result.sums[path.name])
    step("notes", fsutil.write_if_changed(plan.notes_file, plan.notes.markdown(plan.name, plan.version)))
    buildinfo["sha256"] = dict(sorted(result.sums.items()))
    step("buildinfo", fsutil.write_if_changed(plan.buildinfo_file, json.dumps(buildinfo, indent=2) + "\n"))

    # 4. Signatures are not reproducible (they carry a time), so one made is kept.
    if plan.sign:
        for path in plan.tarballs:
            signature = Path(f"{path}.asc")
            key = f"sign-{path.name}"
            if key in journal and signature.exists() and journal.done[key].get("sha256") == result.sums[path.name]:
                step(key, False)
                continue
            _sign_file(path, signature, plan.key)
            journal.record(key, sha256=result.sums[path.name])
            step(key, True)
            log.info("signed %s", path.name)

    # 5. Checksums of the tarballs.
    sums_text = tarball.sha256sums(result.sums)
    step("sums", fsutil.write_if_changed(plan.out_dir / "SHA256SUMS", sums_text))

    # 6. History for the changelogs (one entry per version, so no duplicate).
    entry = history.ReleaseEntry(
        version=plan.version, date=plan.date, packager=plan.packager, tag=plan.tag, commit=plan.commit,
        previous_tag=plan.previous_tag, changes=plan.notes.changes,
    )
    recorded = history.load(plan.manifest_path.parent, plan.name)
    if entry in recorded:
        step("history", False)
    else:
        history.add(plan.manifest_path.parent, plan.name, entry)
        step("history", True)

    # 7. The manifest, with every other byte unchanged.
    change = plan.manifest_change
    if change is not None:
        before = Path(change.path).read_text(encoding="utf-8")
        after = manifest.set_release(change.path, plan.name, plan.version, change.new_date)
        step("manifest", before != after)
    mark("local", sha256=result.sums)

    # 8. Publishing, only when asked: tag and branch together or not at all.
    if plan.push and publish:
        publish_release(plan, result, journal)
    elif not plan.push:
        journal.record("finished", sha256=result.sums)
    return result


def release_files(plan: ReleasePlan) -> tuple[list[tarball.Member], dict[str, object]]:
    """The files of the release tarball and the record of how they were made; refuses a wrong built version."""
    import platform
    import zlib

    info: dict[str, object] = {"name": plan.name, "version": plan.version, "tag": plan.tag, "commit": plan.commit,
                            "method": plan.tarball_method,
                            "source_date_epoch": tarball.commit_time(plan.repo, plan.commit)}
    members, how = dist.upstream_members(plan.repo, plan.commit, plan.name, plan.version, plan.tag,
                                         method=plan.tarball_method, command=plan.dist_command,
                                         timezone=plan.dist_timezone)
    info.update(how)
    info.update(python=platform.python_version(), zlib=zlib.ZLIB_RUNTIME_VERSION, xz_preset=tarball.XZ_PRESET,
                gzip_level=tarball.GZIP_LEVEL)
    built = version_truth.built_version(members, name=plan.name)
    info["builds_as"] = built
    if built is not None and built != plan.version:
        raise ReleaseError(
            f"{plan.name}: the tarball of {plan.tag} builds as version {built}, not {plan.version}",
            hint="the version comes from the tree (configure.ac, .tarball-version, git-version-gen, "
                 ".gitarchivever): fix it there, commit, and release again; nothing was written",
        )
    if built is None:
        log.debug("%s: the tarball has no configure, setup.py or pyproject.toml to ask; built version not checked",
                 plan.name)
    return members, info


def publish_release(plan: ReleasePlan, result: ReleaseResult | None = None, journal: fsutil.Journal | None = None) -> bool:
    """Push the tag and the branch in one atomic push (once per plan); True when pushed now."""
    journal = journal or fsutil.Journal(plan.journal_path, plan.plan_id)
    if not plan.push:
        return False
    pushed = "push" not in journal
    if pushed:
        proc.run(plan.push_argv)
        journal.record("push", remote=plan.push)
        log.info("pushed %s and %s to %s", plan.tag, plan.branch, plan.push)
    if result is not None:
        (result.done if pushed else result.kept).append("push")
    if "finished" not in journal:
        journal.record("finished", sha256=dict(journal.done.get("local", {}).get("sha256", {})))
    return pushed


def remove_temporaries(paths: list[Path]) -> list[Path]:
    """Remove the temporary files ``fsutil.atomic_write`` leaves beside ``paths`` when killed."""
    removed = []
    for path in paths:
        for stray in Path(path).parent.glob(f".{glob.escape(Path(path).name)}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                stray.unlink()
                removed.append(stray)
                log.debug("removed %s, left by an interrupted run", stray)
    return removed


def _tag_commit(plan: ReleasePlan) -> str | None:
    found = proc.run(["git", "-C", str(plan.repo), "rev-parse", "--verify", "-q", f"refs/tags/{plan.tag}^{{commit}}"],
                     check=False)
    return found.stdout.decode().strip() if found.returncode == 0 else None


def _make_tag(plan: ReleasePlan) -> None:
    argv = ["git", "-C", str(plan.repo), "tag", "--cleanup=verbatim", "-F", "-"]
    if plan.sign:
        argv += ["-u", plan.key] if plan.key else ["-s"]  # the key is resolved by the checks: -u
    else:
        argv.append("-a")
    argv += [plan.tag, plan.commit]
    # The tagger date is the plan's date, so a resumed run finds the same date in the tag.
    env = proc.environment({"GIT_COMMITTER_DATE": plan.date.isoformat()})
    proc.run(argv, input=plan.tag_message().encode("utf-8"), env=env)


def _sign_file(path: Path, signature: Path, key: str | None) -> None:
    tmp = signature.with_name(f".{signature.name}.sign.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    argv = ["gpg", "--batch", "--yes", "--armor", "--detach-sign", "--output", str(tmp)]
    if key:
        argv += ["--local-user", key]
    proc.run([*argv, str(path)])
    os.replace(tmp, signature)


def cut_release(manifest_path: str | Path, name: str, version: str, options: ReleaseOptions) -> ReleaseResult:
    """Check, plan and execute one release under its locks (:func:`plan_release` alone for a dry run)."""
    with locks(manifest_path, [Path(options.repo)]):
        plan = plan_release(manifest_path, name, version, options)
        return execute(plan)
