"""Splitting a directory of a monolithic tree into its own history.

Plain function API (the CLI, the release and the demo stages use these)::

    from releasetool.split import split_repository
    result = split_repository("/src/cluster", "fence/agents", "v3.0.0", branch="split/fence-agents")
    result.head          # the split commit of v3.0.0, as `git subtree split` prints it
    result.split_of(c)   # the split counterpart of a source commit, or None

``split_repository(repo, prefix, rev="HEAD", *, branch=None, force=False,
paths=None, annotate="", use_cache=True, dry_run=False) -> SplitResult``
gives, for one prefix, exactly the commit ids of ``git subtree split
--prefix=PREFIX REV`` (git 2.39; see :mod:`releasetool.split.engine` for the
rules).  With ``branch`` it creates or fast-forwards ``refs/heads/BRANCH``; a
branch that is not an ancestor of the new head is refused unless ``force``.

``paths`` (a list of :class:`PathMap`) splits several directories into one
history instead: the split tree of a commit holds each present source
directory under its target directory (``fence/agents -> agents``,
``fence/man -> man``), and the commits follow git subtree's rules applied to
that combined tree.  Same input, same ids, on any machine.  A single path with
an empty target is the plain split.  git-subtree trailers are honoured only for
the plain split, where they mean something.

Work proportional to the new commits: a map kept in the repository's git dir
(:mod:`releasetool.split.cache`) lets a re-split after K new commits read only
those K.  Objects are written before any ref moves, and refs move in one
transaction under a lock on the repository, so an interrupted run leaves refs
untouched and a re-run finishes the job.

The manifest form (component names, clone cache, tags, push) is in
:mod:`releasetool.split.components`.
"""

from __future__ import annotations

import os
import time

from releasetool.errors import SplitError
from releasetool.fsutil import run_lock
from releasetool.log import log
from releasetool.split import cache, recover
from releasetool.split.engine import (
    KIND_PRESET,
    KIND_TREE,
    TRAILER_MARK,
    PathMap,
    SplitState,
    Splitter,
    normalize_prefix,
)
from releasetool.split.gitio import CommitRecord, Git

__all__ = ["LOCK_WAIT", "PathMap", "SplitResult", "check_paths", "split_repository"]

# Two splits of one repository wait for each other (seconds) rather than fail.
LOCK_WAIT = 1800.0



class SplitResult:
    """What a split produced."""

    def __init__(self, *, repo: str, rev: str, head: str, mode: str, commits_read: int,
                 objects_written: int, branch: str | None = None, state: SplitState | None = None) -> None:
        self.repo = repo
        self.rev = rev  # the source commit split
        self.head = head  # its split commit
        self.mode = mode  # "scratch", "incremental" or "cached"
        self.commits_read = commits_read
        self.objects_written = objects_written
        self.branch = branch
        self.branch_action: str | None = None  # "created", "updated", "unchanged", "forced" or None
        self.seconds = 0.0
        self.state = state if state is not None else SplitState()

    def __repr__(self) -> str:
        return (f"SplitResult(head={self.head!r}, mode={self.mode!r}, commits_read={self.commits_read}, "
                f"objects_written={self.objects_written}, branch={self.branch!r})")

    def split_of(self, source: str) -> str | None:
        """The split commit of a source commit, or None when it has none."""
        if self.state.kinds.get(source) in (KIND_TREE, KIND_PRESET):
            return self.state.mapping[source]
        return None


def check_paths(paths: list[PathMap]) -> list[PathMap]:
    """Normalized paths; targets must be distinct and not nested in one another."""
    if not paths:
        raise SplitError("no paths to split", hint="give at least one directory")
    out = [PathMap(normalize_prefix(p.source), normalize_prefix(p.target) if p.target else "")
           for p in paths]
    if len(out) > 1:
        targets = [p.target for p in out]
        for i, a in enumerate(targets):
            for b in targets[i + 1:]:
                if not a or not b or a == b or a.startswith(b + "/") or b.startswith(a + "/"):
                    raise SplitError(
                        f"split targets {a or '.'!r} and {b or '.'!r} overlap",
                        hint="give every path its own target directory (to: agents, to: man)",
                    )
    return out


def split_repository(
    repo: str | os.PathLike[str],
    prefix: str | None = None,
    rev: str = "HEAD",
    *,
    branch: str | None = None,
    force: bool = False,
    paths: list[PathMap] | None = None,
    annotate: str = "",
    use_cache: bool = True,
    dry_run: bool = False,
) -> SplitResult:
    """Split ``prefix`` (or ``paths``) of ``repo`` at ``rev``; see the module docstring."""
    started = time.perf_counter()
    if paths is None:
        if prefix is None:
            raise SplitError("no prefix given", hint="give --prefix DIR")
        paths = [PathMap(prefix)]
    maps = check_paths(paths)
    git = Git(repo, rev)
    rev_oid = git.rev_oid
    try:
        if git.shallow:
            raise SplitError(
                f"{git.repo} is a shallow clone: its split would miss the history before the cut",
                hint=f"fetch the whole history first: git -C {git.repo} fetch --unshallow",
            )
        if branch is not None:
            _check_branch_name(git, branch)
        with run_lock(os.path.join(git.git_dir, "releasetool", "split.lock"), what=f"repository {git.repo}",
                      wait=LOCK_WAIT):
            recover.clear_stale_locks(git.git_dir)
            result = _split_locked(git, maps, rev, rev_oid, annotate.encode(), use_cache=use_cache,
                                   branch=branch, force=force, dry_run=dry_run)
    finally:
        git.close()
    result.seconds = time.perf_counter() - started
    return result


def _check_branch_name(git: Git, branch: str) -> None:
    done = git.run("check-ref-format", "--branch", branch, check=False)
    if not done.strip() or branch.startswith("-"):
        raise SplitError(f"{branch!r} does not look like a branch name",
                         hint="use a name like split/doc (see git check-ref-format)")


def _split_locked(git: Git, maps: list[PathMap], rev: str, rev_oid: str, annotate: bytes, *,
                  use_cache: bool, branch: str | None, force: bool, dry_run: bool) -> SplitResult:
    cpath = cache.cache_path(git.git_dir, maps, annotate)
    splitter: Splitter | None = None
    tips: list[str] = []
    mode = "scratch"
    loaded = cache.load(cpath) if use_cache else None
    if loaded is not None:
        tips = [t for t in loaded.tips if isinstance(t, str)]
        splitter, mode = _incremental(git, maps, rev_oid, loaded.state, tips, annotate)
    if splitter is None:
        splitter, mode, tips, loaded = _from_scratch(git, maps, rev, rev_oid, annotate), "scratch", [], None
    head = splitter.latest_new
    assert head is not None
    result = SplitResult(repo=git.repo, rev=rev_oid, head=head, mode=mode,
                         commits_read=len(splitter.parents), objects_written=len(splitter.objects) + len(splitter.tree_objects),
                         branch=branch, state=splitter.state)
    ref_update: tuple[str, str, str | None] | None = None
    if branch is not None:
        ref = f"refs/heads/{branch}"
        old = git.ref_value(ref)
        if old == head:
            result.branch_action = "unchanged"
        elif old is None:
            result.branch_action = "created"
            ref_update = (ref, head, None)
        elif splitter.is_ancestor(old, head):
            result.branch_action = "updated"
            ref_update = (ref, head, old)
        elif force:
            result.branch_action = "forced"
            ref_update = (ref, head, old)
        else:
            raise SplitError(
                f"branch {branch!r} points at {old[:12]}, which is not an ancestor of the split head "
                f"{head[:12]}",
                hint="pick another --branch, or pass --force to move it (its old commits may be lost)",
            )
    if dry_run:
        return result
    git.write_objects(splitter.tree_objects + splitter.objects)
    if ref_update is not None:
        with recover.git_writes(git.git_dir, f"update-ref {ref_update[0]}"):
            git.update_refs([ref_update], f"releasetool split {maps[0].source}")
    if mode == "cached" and rev_oid in tips:
        return result  # nothing new to remember
    if rev_oid not in tips:
        tips.append(rev_oid)
    cache.save(cpath, splitter.state, tips, loaded)
    return result


def _from_scratch(git: Git, maps: list[PathMap], rev: str, rev_oid: str, annotate: bytes) -> Splitter:
    splitter = Splitter(git, maps, annotate=annotate)
    order, _ = splitter.load([rev_oid])
    # git subtree's own search for earlier splits runs only when some message
    # could match it at all.
    trailers = splitter.single is not None and any(TRAILER_MARK in splitter.records[c].message for c in order)
    excluded = splitter.apply_trailers(splitter.start_trailer_scan(rev_oid)) if trailers else []
    splitter.forget_messages(order)
    if excluded:
        order = _git_order(git, rev_oid, excluded)
    splitter.run_order(order)
    if splitter.state.kinds.get(rev_oid) == KIND_TREE:
        splitter.latest_new = splitter.state.mapping[rev_oid]
    elif not excluded:
        # REV itself has no split commit: the answer is the last commit with
        # the prefix in git subtree's own order, so process again in that order.
        splitter.restart()
        if trailers:
            splitter.apply_trailers(splitter.start_trailer_scan(rev_oid))
        splitter.run_order(_git_order(git, rev_oid, []))
    if splitter.latest_new is None:
        where = ", ".join(p.source for p in maps)
        raise SplitError(
            f"no commit in the history of {rev} has {where}: no new revisions were found",
            hint="check the prefix: it is a directory path from the top of the repository",
        )
    return splitter


def _git_order(git: Git, rev_oid: str, excluded: list[str]) -> list[str]:
    """git subtree's own ``rev-list --topo-order --reverse REV ^EXCLUDED...``."""
    return git.run("rev-list", "--topo-order", "--reverse", rev_oid, *[f"^{x}" for x in excluded]).decode().split()


def _incremental(git: Git, maps: list[PathMap], rev_oid: str, state: SplitState, tips: list[str],
                 annotate: bytes) -> tuple[Splitter | None, str]:
    """Continue from the saved map, or None when it cannot be trusted for this run."""
    splitter = Splitter(git, maps, state, annotate=annotate)
    cached = state.kinds.get(rev_oid) == KIND_TREE
    scan = None
    if splitter.single is not None and state.trailers:
        # The map holds presets from trailers: the history must have exactly those.
        scan = git.start("log", f"--grep=^git-subtree-dir: {splitter.single}/*$", "--format=%H", rev_oid)
    mapping = state.mapping
    # The split commits the saved map points at may have been pruned since
    # (`git gc` prunes split commits no ref keeps): cat-file checks them.
    if cached:
        verified = [mapping[rev_oid]]
        answers = git.batch_check(verified)
        order: list[str] = []
    else:
        verified = []

        def to_verify(records: list[CommitRecord]) -> list[str]:
            verified.extend(sorted({mapping[p] for r in records for p in r.parents if p in mapping}))
            return verified

        order, raw = splitter.load(["--ignore-missing", rev_oid, "--not", *tips], to_verify)
        answers = [None if a.endswith(b" missing") else (a[:40].decode(), "") for a in raw]
    if any(a is None for a in answers):
        log.info("split cache refers to objects that are gone; splitting from scratch")
        return None, "scratch"
    if scan is not None and set(git.finish(scan).decode().split()) != state.trailers:
        return None, "scratch"
    if (splitter.single is not None and not state.trailers
            and any(TRAILER_MARK in splitter.records[c].message for c in order)):
        return None, "scratch"  # a new git subtree add/merge/rejoin: presets change
    if cached:
        splitter.latest_new = mapping[rev_oid]
        return splitter, "cached"
    splitter.forget_messages(order)
    splitter.run_order(order)
    if state.kinds.get(rev_oid) != KIND_TREE:
        return None, "scratch"  # REV lacks the prefix: the answer depends on the whole order
    splitter.latest_new = mapping[rev_oid]
    needed: set[str] = set()
    for oid in splitter.new_oids:
        needed.update(state.created[oid][1])
    needed -= splitter.new_oids | set(verified)
    if needed and any(answer is None for answer in git.batch_check(sorted(needed))):
        log.info("split cache refers to objects that are gone; splitting from scratch")
        return None, "scratch"
    return splitter, "incremental"
