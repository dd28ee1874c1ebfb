"""The split algorithm of ``git subtree split`` (git 2.39, contrib/subtree/git-subtree.sh).

The rules below are git subtree's, case by case, so that the commit ids come
out identical; only the machinery differs (no process per commit).

* Every commit of ``rev-list --topo-order --reverse --parents REV ^EXCLUDED...``
  is processed in that order (``process_split_commit``).  A parent that is
  neither mapped nor known to lack the prefix is processed first, recursively,
  with its parents read from the repository (``check_parents``).
* A commit without the prefix (absent, or a submodule) gets no split commit.
  If any of its parents had one, it maps to *itself*: a commit of the original
  history then becomes a parent in the split history.  This is how git subtree
  behaves when the prefix is deleted and added again later.
* A commit with the prefix goes through ``copy_or_skip``: with the mapped
  parents (duplicates removed, order kept), it reuses a parent whose tree is
  identical to the prefix tree, unless two such parents are unrelated, or a
  parent with a different tree has commits the identical one lacks; otherwise
  it is copied with the author, committer, dates and message git formats for
  ``git log`` (so a commit in another ``encoding`` is re-encoded to UTF-8 and
  loses the header, as with ``git commit-tree``).
* ``find_existing_splits``: commits whose message has a line
  ``git-subtree-dir: PREFIX`` (``git subtree add``, ``merge``, ``split
  --rejoin``) preset the map: a squash commit maps to its ``git-subtree-split``
  commit; an add/rejoin maps its ``git-subtree-mainline`` commit and the split
  commit to the split commit, and excludes both their parents from rev-list.
* The result is the split commit of the *last commit processed that has the
  prefix*, which is REV's own unless REV lacks the prefix or is preset.

The state (map, commits without the prefix, created commits, levels) is kept
between runs by :mod:`releasetool.split.cache`.
"""

from __future__ import annotations

import re
import subprocess
from collections import namedtuple
from collections.abc import Callable, Iterable, Sequence

from releasetool.errors import SplitError
from releasetool.split.gitio import OBJ_COMMIT, OBJ_TREE, CommitRecord, Git, object_id

TRAILER_MARK = b"git-subtree-dir:"
# Kinds of map entries: the commit had the prefix (copied or reused), it maps
# to itself (no prefix but mapped parents), or the map was preset from trailers.
KIND_TREE, KIND_SELF, KIND_PRESET = "t", "s", "p"


class PathMap(namedtuple("PathMap", ("source", "target"), defaults=("",))):
    """One directory of the source tree (str) and where it goes in the split tree (str, "" for the top)."""

    __slots__ = ()


class SplitState:
    """Everything a split knows about a repository for one prefix set."""

    def __init__(self) -> None:
        self.mapping: dict[str, str] = {}
        self.kinds: dict[str, str] = {}
        self.notree: dict[str, None] = {}  # a set that keeps insertion order
        self.created: dict[str, tuple[str, tuple[str, ...]]] = {}  # oid -> (tree, parents)
        self.toptrees: dict[str, str] = {}  # existing commits used as split parents
        self.levels: dict[str, int] = {}
        self.trailers: set[str] = set()  # commits with a git-subtree-dir line


def normalize_prefix(prefix: str) -> str:
    """The directory as git subtree uses it (``--prefix=doc/`` is ``doc``)."""
    cleaned = prefix.strip()
    while cleaned.endswith("/") and len(cleaned) > 1:
        cleaned = cleaned[:-1]
    while cleaned.startswith("./"):
        cleaned = cleaned[2:]
    if not cleaned or cleaned.startswith("/") or any(p in ("", ".", "..") for p in cleaned.split("/")):
        raise SplitError(f"invalid prefix {prefix!r}",
                         hint="give a directory relative to the top of the repository, e.g. --prefix doc")
    return cleaned


_CRUD = frozenset(b" \t\n\r.,:;<>\"\\'") | frozenset(range(33))


_IDENT_CACHE: dict[bytes, bytes] = {}


def ident_part(raw: bytes) -> bytes:
    """:func:`clean_ident`, remembered (the same few names come back again and again)."""
    cleaned = _IDENT_CACHE.get(raw)
    if cleaned is None:
        cleaned = _IDENT_CACHE[raw] = clean_ident(raw)
    return cleaned


def clean_ident(raw: bytes) -> bytes:
    """A name or e-mail as git subtree passes it through ``read`` and git's ident code.

    ``read`` (without -r) drops backslashes before characters and trims
    whitespace; ``fmt_ident`` then strips "crud" (control characters, space and
    ``.,:;<>"\\'``) from both ends and removes ``<``, ``>`` and newlines.
    """
    value = raw
    if b"\\" in value:
        value = re.sub(rb"\\(.?)", rb"\1", value, flags=re.DOTALL)
    start, end = 0, len(value)
    while start < end and value[start] in _CRUD:
        start += 1
    while end > start and value[end - 1] in _CRUD:
        end -= 1
    value = value[start:end]
    return value.replace(b"<", b"").replace(b">", b"").replace(b"\n", b"")


_MAX_CODEPOINT = (0x7F, 0x7FF, 0xFFFF, 0x10FFFF)
_NONCHARACTER = re.compile("[\ufdd0-\ufdef" + "".join(chr(p << 16 | 0xFFFE) + chr(p << 16 | 0xFFFF)
                                                     for p in range(17)) + "]")


def _find_invalid_utf8(buf: bytes, start: int) -> int:
    """Offset of the first byte git's ``find_invalid_utf8`` (commit.c) rejects, or -1."""
    pos, end = start, len(buf)
    while pos < end:
        c = buf[pos]
        pos += 1
        if c < 0x80:
            continue
        bad = pos - 1
        more = 0
        while c & 0x40:
            c = (c << 1) & 0xFF
            more += 1
        if more < 1 or more > 3 or end - pos < more:
            return bad
        codepoint = (c & 0x7F) >> more
        for byte in buf[pos:pos + more]:
            if byte & 0xC0 != 0x80:
                return bad
            codepoint = (codepoint << 6) | (byte & 0x3F)
        pos += more
        if not _MAX_CODEPOINT[more - 1] < codepoint <= _MAX_CODEPOINT[more]:
            return bad
        if (codepoint & 0x1FF800) == 0xD800 or (codepoint & 0xFFFE) == 0xFFFE or 0xFDD0 <= codepoint <= 0xFDEF:
            return bad
    return -1


def fix_utf8(body: bytes) -> bytes:
    """What ``git commit-tree`` stores for ``body`` (commit.c ``verify_utf8``).

    With the default UTF-8 commit encoding, every byte that is not part of
    valid UTF-8 is taken as Latin-1 and rewritten as its UTF-8 form.
    """
    if body.isascii():
        return body
    try:
        text = body.decode("utf-8")  # rejects what git rejects, except noncharacters
    except UnicodeDecodeError:
        pass
    else:
        if not _NONCHARACTER.search(text):
            return body
    pos = _find_invalid_utf8(body, 0)
    if pos < 0:
        return body
    out = bytearray(body)
    while pos >= 0:
        c = out[pos]
        out[pos:pos + 1] = bytes((0xC0 + (c >> 6), 0x80 + (c & 0x3F)))
        pos = _find_invalid_utf8(bytes(out), pos + 2)
    return bytes(out)


class Splitter:
    """Maps the commits of one repository onto the split history of a prefix set."""

    def __init__(self, git: Git, paths: Sequence[PathMap], state: SplitState | None = None,
                 annotate: bytes = b"") -> None:
        self.git = git
        self.paths = list(paths)
        self.state = state or SplitState()
        self.annotate = annotate
        self.records: dict[str, CommitRecord] = {}  # formatted, for the commits that may be copied
        self.parents: dict[str, tuple[str, ...]] = {}
        self.toptree_of: dict[str, str] = {}
        self.subtrees: dict[str, str | None] = {}
        self.objects: list[tuple[int, bytes]] = []  # new commits
        self.tree_objects: list[tuple[int, bytes]] = []  # combined trees (several paths)
        self.tree_oids: set[str] = set()
        self.new_oids: set[str] = set()
        self.latest_new: str | None = None
        self.latest_old: str | None = None
        self.processed = 0
        self._single = paths[0].source if len(paths) == 1 and not paths[0].target else None

    @property
    def single(self) -> str | None:
        """The prefix when this is a plain ``git subtree split``, else None."""
        return self._single

    # -- loading ---------------------------------------------------------------
    def load(self, args: Sequence[str],
             extra: Callable[[list[CommitRecord]], list[str]] | None = None) -> tuple[list[str], list[bytes]]:
        """Read ``rev-list ARGS``: parents, top trees, split trees, authors and messages.

        Returns the commits oldest first (rev-list's order reversed: not
        necessarily parents first; :meth:`process` takes care of that), and
        cat-file's answers for the names ``extra`` asks about.
        """
        records, answers, extra_answers = self.git.list_range(args, [p.source for p in self.paths], extra)
        parents, subtrees, toptree_of, formatted = self.parents, self.subtrees, self.toptree_of, self.records
        single = self._single is not None
        order = []
        for rec in reversed(records):
            oid = rec.oid
            order.append(oid)
            parents[oid] = rec.parents
            toptree_of[oid] = rec.toptree
            formatted[oid] = rec
            if oid in subtrees:
                continue
            row = answers[rec.toptree.encode()]
            first = row[0]
            if single and first.endswith(b" tree"):
                subtrees[oid] = first[:40].decode()
            elif single and first.endswith(b" missing"):
                subtrees[oid] = None
            else:
                subtrees[oid] = self._tree_from(oid, row)
        return order, extra_answers

    def forget_messages(self, order: Sequence[str]) -> None:
        """Drop the messages of commits that cannot be copied, to keep memory to the output's size.

        A commit with one parent whose split tree is the same (and not preset)
        always reuses that parent's split commit; one without the prefix is
        never copied.  (A message needed after all is read again.)
        """
        kinds, subtrees, parents, records = self.state.kinds, self.subtrees, self.parents, self.records
        for oid in order:
            tree = subtrees.get(oid)
            ps = parents[oid]
            if tree is None or (len(ps) == 1 and subtrees.get(ps[0], "?") == tree
                                and kinds.get(ps[0]) != KIND_PRESET):
                records.pop(oid, None)

    def _lookup_trees(self, oids: list[str]) -> None:
        if not oids:
            return
        sources = [p.source for p in self.paths]
        answers = self.git.batch_check(f"{oid}:{src}" for oid in oids for src in sources)
        per = len(sources)
        for i, oid in enumerate(oids):
            row = [b"missing" if a is None else f"{a[0]} {a[1]}".encode() for a in answers[i * per:(i + 1) * per]]
            self.subtrees[oid] = self._tree_from(oid, row)

    def _tree_from(self, oid: str, answers: Sequence[bytes]) -> str | None:
        """The split tree of a commit from what cat-file said about each source path."""
        found: list[tuple[str, str]] = []
        for path, answer in zip(self.paths, answers, strict=True):
            obj, _, kind = answer.decode().partition(" ")
            if kind in ("missing", "commit", "") or obj == "missing" or answer.endswith(b" missing"):
                continue  # absent, or a submodule: git subtree ignores those
            if kind != "tree":
                raise SplitError(
                    f"{path.source} is a {kind}, not a directory, in commit {oid}",
                    hint="--prefix must name a directory in every commit that has it",
                )
            found.append((path.target, obj))
        if not found:
            return None
        if self._single is not None:
            return found[0][1]
        return self._build_tree(found)

    def _build_tree(self, entries: list[tuple[str, str]]) -> str:
        """A tree holding each (target dir, tree id); nested targets get nested trees."""
        direct: dict[str, str] = {}
        nested: dict[str, list[tuple[str, str]]] = {}
        for target, tree in entries:
            head, _, rest = target.partition("/")
            if rest:
                nested.setdefault(head, []).append((rest, tree))
            else:
                direct[head] = tree
        for head, sub in nested.items():
            direct[head] = self._build_tree(sub)
        # git orders tree entries by name, a directory's name compared as "name/".
        body = b"".join(b"40000 " + name.encode() + b"\0" + bytes.fromhex(oid)
                        for name, oid in sorted(direct.items(), key=lambda kv: kv[0].encode() + b"/"))
        oid = object_id(OBJ_TREE, body)
        if oid not in self.tree_oids:
            self.tree_oids.add(oid)
            self.tree_objects.append((OBJ_TREE, body))
        return oid

    def _ensure_loaded(self, oid: str) -> None:
        """Load a commit met outside the range, with its whole history (rare)."""
        if oid in self.parents:
            return
        self.load([oid])
        if oid not in self.parents:
            raise SplitError(f"commit {oid} is missing from {self.git.repo}",
                             hint="the repository is incomplete; fetch its full history (not shallow)")

    # -- find_existing_splits ----------------------------------------------------
    def start_trailer_scan(self, rev: str) -> subprocess.Popen[bytes]:
        """Start git subtree's own search for earlier splits (``find_existing_splits``).

        The directory goes into git's regex as git subtree puts it there.
        """
        return self.git.start("log", f"--grep=^git-subtree-dir: {self._single}/*$", "--no-show-signature",
                              "--pretty=format:START %H%n%s%n%n%b%nEND%n", rev)

    def apply_trailers(self, scan: subprocess.Popen[bytes]) -> list[str]:
        """Preset the map from git-subtree trailers; returns the commits to exclude."""
        log = self.git.finish(scan).decode("utf-8", "surrogateescape")
        if not log:
            return []
        # `read a b junk` splits on the shell's IFS (space, tab), nothing else.
        rows = [re.split(r"[ \t]+", line.strip(" \t"), maxsplit=2) for line in log.split("\n")]
        wanted = sorted({r[1] for r in rows if len(r) >= 2 and r[0] == "git-subtree-split:"}
                        | {r[1] for r in rows if len(r) >= 2 and r[0] == "git-subtree-mainline:"})
        checks = self.git.batch_check([f"{w}^{{commit}}" for w in wanted] + [f"{w}^" for w in wanted])
        commit_of = {w: (a[0] if a else None) for w, a in zip(wanted, checks[: len(wanted)], strict=True)}
        parent_of = {w: (a[0] if a else None) for w, a in zip(wanted, checks[len(wanted):], strict=True)}
        excluded: list[str] = []
        sq = main = sub = ""
        for row in rows:
            word = row[0] if row else ""
            arg = row[1] if len(row) > 1 else ""
            if word == "START":
                sq = arg
                self.state.trailers.add(arg)
            elif word == "git-subtree-mainline:":
                main = arg
            elif word == "git-subtree-split:":
                resolved = commit_of.get(arg)
                if resolved is None:
                    raise SplitError(
                        f"could not rev-parse split hash {arg} from commit {sq}",
                        hint=f"hash might be a tag, try fetching it from the subtree repository: "
                        f"git fetch <subtree-repository> {arg}",
                    )
                sub = resolved
            elif word == "END":
                if not main and sub:
                    self._preset(sq, sub)
                if main and sub:
                    self._preset(main, sub)
                    self._preset(sub, sub)
                    excluded += [p for p in (parent_of.get(main), parent_of.get(sub)) if p]
                main = sub = ""
        return excluded

    def _preset(self, old: str, new: str) -> None:
        if old in self.state.mapping:
            raise SplitError(f"cache for {old} already exists!",
                             hint="two git-subtree trailers name the same commit; git subtree refuses this too")
        self.state.mapping[old] = new
        self.state.kinds[old] = KIND_PRESET

    # -- process_split_commit ----------------------------------------------------
    def restart(self, state: SplitState | None = None) -> None:
        """Forget the results (not what was read) to process again in another order."""
        self.state = state or SplitState()
        self.objects, self.new_oids = [], set()
        self.latest_new = self.latest_old = None
        self.processed = 0

    def process(self, rev: str, parents: tuple[str, ...]) -> None:
        mapping, notree = self.state.mapping, self.state.notree
        if rev in mapping:
            return
        if all(p in mapping or p in notree for p in parents):
            self._finish(rev, parents)  # the common case: parents already processed
            return
        stack: list[tuple[str, tuple[str, ...], int]] = [(rev, parents, 0)]
        while stack:
            current, cparents, i = stack[-1]
            descended = False
            while i < len(cparents):
                parent = cparents[i]
                i += 1
                if parent not in mapping and parent not in notree:
                    # check_parents: a parent outside the range, processed first.
                    self._ensure_loaded(parent)
                    stack[-1] = (current, cparents, i)
                    if parent not in mapping:
                        stack.append((parent, self.parents[parent], 0))
                    descended = True
                    break
            if descended:
                continue
            stack.pop()
            if current not in mapping:
                self._finish(current, cparents)

    def _finish(self, rev: str, parents: tuple[str, ...]) -> None:
        state = self.state
        self.processed += 1
        newparents = [state.mapping[p] for p in parents if p in state.mapping]
        if rev not in self.subtrees:
            self._ensure_loaded(rev)
            if rev not in self.subtrees:
                self._lookup_trees([rev])
        tree = self.subtrees[rev]
        if tree is None:
            state.notree[rev] = None
            if newparents:
                state.mapping[rev] = rev
                state.kinds[rev] = KIND_SELF
            return
        newrev = self._copy_or_skip(rev, tree, newparents)
        state.mapping[rev] = newrev
        state.kinds[rev] = KIND_TREE
        self.latest_new = newrev
        self.latest_old = rev

    def _copy_or_skip(self, rev: str, tree: str, newparents: list[str]) -> str:
        identical: str | None = None
        nonidentical: str | None = None
        copy = False
        kept: list[str] = []
        for parent in newparents:
            if self.node_tree(parent) == tree:
                if identical is not None:
                    # `git merge-base identical parent` compared with each side.
                    if self.is_ancestor(identical, parent):
                        identical = parent
                    elif not self.is_ancestor(parent, identical):
                        copy = True  # no common history
                else:
                    identical = parent
            else:
                nonidentical = parent
            if parent not in kept:
                kept.append(parent)
        # `git rev-list --count identical..nonidentical` != 0: keep the other side's history.
        if identical is not None and nonidentical is not None and not self.is_ancestor(nonidentical, identical):
            copy = True
        if identical is not None and not copy:
            return identical
        return self._copy_commit(rev, tree, tuple(kept))

    def _copy_commit(self, rev: str, tree: str, parents: tuple[str, ...]) -> str:
        rec = self.records.get(rev)
        if rec is None:  # not expected to be copied; read it now
            self.records.update((r.oid, r) for r in self.git.format_commits([rev]))
            rec = self.records[rev]
        author_name = ident_part(rec.author_name)
        committer_name = ident_part(rec.committer_name)
        if not author_name or not committer_name:
            raise SplitError(f"can't copy commit {rev}: empty ident name",
                             hint="git commit-tree refuses an empty author or committer name too")
        body = fix_utf8(b"".join((
            b"tree ", tree.encode(), b"\n",
            b"".join(b"parent " + p.encode() + b"\n" for p in parents),
            b"author ", author_name, b" <", ident_part(rec.author_email), b"> ", rec.author_date, b"\n",
            b"committer ", committer_name, b" <", ident_part(rec.committer_email), b"> ",
            rec.committer_date, b"\n\n",
            self.annotate, rec.message,
        )))
        oid = object_id(OBJ_COMMIT, body)
        if oid not in self.state.created:
            self.state.created[oid] = (tree, parents)
        if oid not in self.new_oids:
            self.new_oids.add(oid)
            self.objects.append((OBJ_COMMIT, body))
        return oid

    # -- the split history as a graph ------------------------------------------
    def node_tree(self, node: str) -> str:
        created = self.state.created.get(node)
        if created is not None:
            return created[0]
        known = self.state.toptrees.get(node)
        if known is None:
            known = self.toptree_of.get(node)
            if known is None:
                known = self.git.commit_header(node)[0]
            self.state.toptrees[node] = known
        return known

    def node_parents(self, node: str) -> tuple[str, ...]:
        created = self.state.created.get(node)
        if created is not None:
            return created[1]
        known = self.parents.get(node)
        if known is None:
            known = self.parents[node] = self.git.commit_header(node)[1]
        return known

    def level(self, node: str) -> int:
        """1 + the highest level of the parents: an ancestor always has a lower level."""
        levels = self.state.levels
        if node in levels:
            return levels[node]
        stack = [node]
        while stack:
            top = stack[-1]
            if top in levels:
                stack.pop()
                continue
            parents = self.node_parents(top)
            missing = [p for p in parents if p not in levels]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            levels[top] = 1 + max((levels[p] for p in parents), default=0)
        return levels[node]

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        if ancestor == descendant:
            return True
        floor = self.level(ancestor)
        if self.level(descendant) <= floor:
            return False
        seen = {descendant}
        stack = [descendant]
        while stack:
            for parent in self.node_parents(stack.pop()):
                if parent == ancestor:
                    return True
                if parent not in seen and self.level(parent) > floor:
                    seen.add(parent)
                    stack.append(parent)
        return False

    # -- drivers -------------------------------------------------------------------
    def run_order(self, order: Iterable[str]) -> None:
        for oid in order:
            self.process(oid, self.parents[oid])
