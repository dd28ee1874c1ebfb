"""``releasetool split NAME|--all``: the manifest's split sources, tags and pushes.

For each component with a ``split:`` source the monolithic repository is kept
as a bare clone in a cache directory (one clone per repository, shared by the
components split from it), with its refs kept apart from ours::

    refs/source/heads/*          the source's branches (fetched, pruned)
    refs/source/tags/*           the source's tags
    refs/heads/split/NAME        the component's split history
    refs/split-tags/NAME/TAG     its release tags, re-created on split commits

``--tags`` re-creates every source tag matching the split's ``tag_pattern``
(or the component's) on the split counterpart of the tagged commit: a
lightweight tag stays lightweight, an annotated tag keeps its tagger line
(name, e-mail, date, zone) and message; a PGP signature is dropped, since it
signed another object.  A tag whose commit has no split counterpart is
reported, never moved to a guessed commit.

``--push REMOTE`` pushes the branch (to the source branch's name) and the tags
in one ``git push --atomic``; ``origin`` means the component's ``git`` URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from releasetool import proc
from releasetool.errors import CommandError, GitError, SplitError
from releasetool.fsutil import manifest_lock_path, run_lock
from releasetool.log import log
from releasetool.manifest import Component, Manifest
from releasetool.split import LOCK_WAIT, PathMap, SplitResult, recover, split_repository
from releasetool.split.gitio import Git, write_loose

OBJ_TAG = 4
SIGNATURE_START = b"-----BEGIN PGP SIGNATURE-----"


@dataclass
class Options:
    """Settings of one ``releasetool split NAME|--all`` run."""

    cache_dir: str | None = None
    push: str | None = None
    tags: bool = False
    dry_run: bool = False
    force: bool = False
    rev: str | None = None
    use_cache: bool = True
    branch: str | None = None


@dataclass
class ComponentReport:
    """What was done (or, with --dry-run, would be done) for one component."""

    name: str
    repository: str
    clone: str
    paths: list[str]
    branch: str
    head: str | None = None
    mode: str | None = None
    actions: list[str] = field(default_factory=list)
    tags_created: list[str] = field(default_factory=list)
    tags_without_counterpart: list[str] = field(default_factory=list)
    pushed_to: str | None = None
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "releasetool" / "split"


def clone_dir(cache_dir: Path, repository: str) -> Path:
    """Where the bare clone of ``repository`` lives: a readable name plus a hash of the URL."""
    tail = re.sub(r"[^A-Za-z0-9._-]+", "-", repository.rstrip("/").rsplit("/", 1)[-1]).strip("-.") or "repo"
    digest = hashlib.sha1(repository.encode()).hexdigest()[:10]
    return cache_dir / f"{tail.removesuffix('.git')}-{digest}.git"


def split_components(manifest: Manifest, names: list[str], *, all_: bool, options: Options) -> list[ComponentReport]:
    """Split each named component (or every one with a split source) as ``options`` say."""
    if all_:
        chosen = [c for c in manifest.select([], all_=True) if c.split is not None]
    else:
        chosen = manifest.select(names)
        lacking = [c.name for c in chosen if c.split is None]
        if lacking:
            raise SplitError(f"{manifest.path}: {', '.join(lacking)} has no split source",
                             hint="add a `split:` section (repository, paths) to the component, "
                             "or use --repo PATH --prefix DIR")
    if options.branch and len(chosen) > 1:
        raise SplitError("--branch names one branch but several components were given",
                         hint="leave --branch out: each component gets split/NAME")
    cache_dir = Path(options.cache_dir).expanduser() if options.cache_dir else default_cache_dir()
    reports = []
    fetched: set[Path] = set()  # components split from one repository share one fetch
    with contextlib.ExitStack() as stack:
        if not options.dry_run:
            # The project's lock, as release and train take it: two split runs of
            # one manifest (which push to the same repositories) wait for each other.
            stack.enter_context(run_lock(manifest_lock_path(manifest.path), what=f"manifest {manifest.path}",
                                         wait=LOCK_WAIT))
        for i, comp in enumerate(chosen, 1):
            if len(chosen) > 1:
                log.info("[%d/%d] %s", i, len(chosen), comp.name)
            reports.append(split_component(manifest, comp, cache_dir, options, fetched=fetched))
    return reports


def split_component(manifest: Manifest, comp: Component, cache_dir: Path, options: Options, *,
                    fetched: set[Path] | None = None) -> ComponentReport:
    assert comp.split is not None
    source = _source_url(manifest, comp.split.repository)
    clone = clone_dir(cache_dir, source)
    paths = [PathMap(p.source, p.target) for p in comp.split.paths]
    branch = options.branch or f"split/{comp.name}"
    report = ComponentReport(name=comp.name, repository=source, clone=str(clone),
                             paths=[f"{p.source} -> {p.target or '.'}" for p in paths], branch=branch)
    rev = options.rev or f"refs/source/heads/{comp.split.branch}"
    pattern = comp.split.tag_pattern or comp.tag_pattern
    if options.dry_run:
        _explain(report, comp, clone, source, rev, pattern, options)
        if (clone / "HEAD").exists():
            _dry_split(report, clone, paths, rev, branch, options)
        _log_actions(report)
        return report
    # One lock on the clone for the whole fetch, split, tags and push: runs from
    # other manifests that share this cache wait too.
    with run_lock(clone.parent / f"{clone.name}.lock", what=f"split cache {clone}", wait=LOCK_WAIT):
        _split_in_clone(report, comp, clone, source, rev, paths, pattern, options, fetched)
    _log_actions(report)
    return report


def _split_in_clone(report: ComponentReport, comp: Component, clone: Path, source: str, rev: str,
                    paths: list[PathMap], pattern: str, options: Options, fetched: set[Path] | None) -> None:
    assert comp.split is not None
    branch = report.branch
    _prepare_clone(clone)
    if fetched is None or clone not in fetched:
        _fetch(clone, source)
        report.actions.append(f"fetched {source} into {clone}")
        if fetched is not None:
            fetched.add(clone)
    result = split_repository(clone, rev=rev, paths=paths, branch=branch, force=options.force,
                              use_cache=options.use_cache)
    report.head, report.mode = result.head, result.mode
    report.actions.append(f"{result.branch_action or 'kept'} {branch} at {result.head[:12]} "
                          f"({result.commits_read} commits read, {result.mode})")
    tag_refs: list[str] = []
    if options.tags:
        tag_refs = _recreate_tags(report, comp, clone, result, pattern)
    if options.push:
        remote = comp.git if options.push == "origin" else options.push
        refspecs = [f"+refs/heads/{branch}:refs/heads/{comp.split.branch}" if options.force
                    else f"refs/heads/{branch}:refs/heads/{comp.split.branch}"]
        refspecs += [f"{ref}:refs/tags/{ref.rsplit('/', 1)[-1]}" for ref in tag_refs]
        with recover.git_writes(str(clone), f"push to {remote}", also=_local_git_dir(remote)):
            proc.run(["git", "-C", str(clone), "push", "--atomic", "--quiet", remote, *refspecs])
        report.pushed_to = remote
        report.actions.append(f"pushed {branch} and {len(tag_refs)} tags to {remote}")


def _source_url(manifest: Manifest, repository: str) -> str:
    """A URL git can fetch: relative local paths are taken from the manifest's directory."""
    scheme = urlsplit(repository).scheme
    if scheme or repository.startswith("/") or re.match(r"^[\w.-]+@[\w.-]+:", repository):
        return repository
    return str((manifest.path.parent / repository).resolve())


def _explain(report: ComponentReport, comp: Component, clone: Path, source: str, rev: str, pattern: str,
             options: Options) -> None:
    verb = "fetch" if (clone / "HEAD").exists() else "clone"
    report.actions.append(f"would {verb} {source} into {clone}")
    report.actions.append(f"would split {', '.join(report.paths)} at {rev} into {report.branch}")
    if options.tags:
        report.actions.append(f"would re-create source tags matching {pattern!r} on the split commits")
    if options.push:
        remote = comp.git if options.push == "origin" else options.push
        assert comp.split is not None
        report.actions.append(f"would push {report.branch} to {remote} as {comp.split.branch}"
                              + (" with its tags" if options.tags else ""))


def _dry_split(report: ComponentReport, clone: Path, paths: list[PathMap], rev: str, branch: str,
               options: Options) -> None:
    """With a clone at hand, say what the split of its current state gives (nothing written)."""
    try:
        result = split_repository(clone, rev=rev, paths=paths, branch=branch, force=options.force,
                                  use_cache=options.use_cache, dry_run=True)
    except (GitError, SplitError) as exc:
        report.actions.append(f"with the clone as it is now: {exc.message}")
        return
    report.head, report.mode = result.head, result.mode
    report.actions.append(f"with the clone as it is now: {branch} would be {result.head[:12]} "
                          f"({result.branch_action or 'unchanged'})")


def _log_actions(report: ComponentReport) -> None:
    for action in report.actions:
        log.info("%s: %s", report.name, action)
    for tag in report.tags_without_counterpart:
        log.warning("%s: tag %s has no split counterpart (its commit lacks %s or is not in the split "
                    "history); not re-created", report.name, tag, ", ".join(report.paths))


def _prepare_clone(clone: Path) -> None:
    """A whole bare clone at ``clone`` (the caller holds its lock), free of a killed run's git locks.

    The clone is made under a temporary name and renamed into place once git
    has initialised it, so a kill never leaves a half-made clone at ``clone``;
    one left by an older releasetool, or damaged since, is made again (the
    cache holds nothing the source does not).
    """
    if clone.exists() and not _is_bare_repository(clone):
        log.warning("split cache %s is not a whole git repository (a run was killed while making it); "
                    "making it again", clone)
        shutil.rmtree(clone)
    if not clone.exists():
        partial = clone.with_name(f".{clone.name}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        clone.parent.mkdir(parents=True, exist_ok=True)
        proc.run(["git", "init", "-q", "--bare", str(partial)])
        # git's automatic gc would go on in the background after we return, holding locks
        proc.run(["git", "-C", str(partial), "config", "gc.autoDetach", "false"])
        os.rename(partial, clone)
    recover.clear_stale_locks(str(clone))


def _is_bare_repository(path: Path) -> bool:
    done = proc.run(["git", "-C", str(path), "rev-parse", "--is-bare-repository"], check=False)
    return done.returncode == 0 and done.stdout.strip() == b"true" and (path / "objects").is_dir()


def _local_git_dir(remote: str) -> str | None:
    """The git dir of a push target on this machine (a path or file:// URL), else None."""
    path = remote.removeprefix("file://") if remote.startswith("file://") else remote
    if urlsplit(path).scheme or re.match(r"^[\w.-]+@[\w.-]+:", path) or not os.path.isdir(path):
        return None
    done = proc.run(["git", "-C", path, "rev-parse", "--absolute-git-dir"], check=False)
    return done.stdout.decode().strip() if done.returncode == 0 else None


def _fetch(clone: Path, source: str) -> None:
    try:
        with recover.git_writes(str(clone), f"fetch {source}"):
            proc.run(["git", "-C", str(clone), "fetch", "--quiet", "--prune", "--no-tags", source,
                      "+refs/heads/*:refs/source/heads/*", "+refs/tags/*:refs/source/tags/*"])
    except CommandError as exc:
        raise GitError(f"cannot fetch {source}: {exc.message}",
                       hint="check the component's split.repository in the manifest") from exc


def _recreate_tags(report: ComponentReport, comp: Component, clone: Path, result: SplitResult,
                   pattern: str) -> list[str]:
    from releasetool import versions

    git = Git(clone)
    try:
        listing = git.run("for-each-ref", "--format=%(refname) %(objecttype) %(objectname) %(*objectname)",
                          "refs/source/tags/").decode()
        existing = dict(line.split(" ", 1) for line in git.run(
            "for-each-ref", "--format=%(refname) %(objectname)", f"refs/split-tags/{comp.name}/")
            .decode().splitlines() if line)
        updates: list[tuple[str, str, str | None]] = []
        refs: list[str] = []
        for line in listing.splitlines():
            ref, kind, oid, peeled = ([*line.split(" "), ""])[:4]
            name = ref.removeprefix("refs/source/tags/")
            if versions.tag_to_version(pattern, name, name=comp.name) is None:
                continue
            target_commit = peeled if kind == "tag" else oid
            split = result.split_of(target_commit)
            if split is None:
                report.tags_without_counterpart.append(name)
                continue
            new = split if kind != "tag" else _retag(git, oid, split)
            dest = f"refs/split-tags/{comp.name}/{name}"
            refs.append(dest)
            if existing.get(dest) != new:
                updates.append((dest, new, existing.get(dest)))
                report.tags_created.append(name)
        if updates:
            with recover.git_writes(git.git_dir, f"update-ref refs/split-tags/{comp.name}/"):
                git.update_refs(updates, f"releasetool split --tags {comp.name}")
    finally:
        git.close()
    if report.tags_created:
        report.actions.append(f"re-created {len(report.tags_created)} tags on split commits")
    return refs


def _retag(git: Git, tag_oid: str, split_commit: str) -> str:
    """A copy of an annotated tag object pointing at ``split_commit``."""
    found = git.read_object(tag_oid)
    if found is None or found[0] != "tag":
        raise GitError(f"tag object {tag_oid} is missing from {git.repo}")
    headers, _, message = found[1].partition(b"\n\n")
    kept = [line for line in headers.split(b"\n") if not line.startswith((b"object ", b"type "))]
    cut = message.find(SIGNATURE_START)
    if cut >= 0:
        message = message[:cut]
    body = b"object " + split_commit.encode() + b"\ntype commit\n" + b"\n".join(kept) + b"\n\n" + message
    write_loose(git.objects_dir(), OBJ_TAG, body)
    return hashlib.sha1(b"tag %d\0" % len(body) + body).hexdigest()
