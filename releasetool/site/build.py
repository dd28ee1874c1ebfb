"""Building the static site from the manifest and ``site-data.json``.

Output (``--out DIR``, default ``_site`` beside the manifest)::

    index.html          one table of every component, the download repositories
    c/NAME.html         a page per component: release history, install instructions
    c/NAME.json         that component's entry of versions.json, alone
    c/NAME.atom         an Atom feed of its releases
    c/NAME.svg          a badge of its latest stable version
    c/NAME-TARGET.svg   a badge of the version packaged for one distribution target
    versions.json       the same data for tools (schema: site/versions.schema.json)
    releases.atom       an Atom feed of releases
    style.css           the only asset (no external ones)
    downloads           a symbolic link to the local download area, when the
                        manifest's tarball URLs are file:// ones (publish with
                        ``cp -rL`` or ``rsync -L`` to copy the files themselves)

The new site is written to a directory beside the old one and swapped in with
one ``renameat2(RENAME_EXCHANGE)`` (a single rename when there is no old
site), so a reader sees either the old or the new site, never a mix, and a
kill at any point leaves a site that is whole.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import gc
import hashlib
import json
import os
import pickle
import shutil
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from releasetool import __version__
from releasetool.errors import PublishRefusedError, SiteError
from releasetool.log import log
from releasetool.manifest import Manifest
from releasetool.resources import data_path
from releasetool.site import data as site_data
from releasetool.site.data import SiteData
from releasetool.site.view import ComponentView, SiteView, history_rows, site_view, url_part

if TYPE_CHECKING:
    import jinja2

# Pages of the site as (relative path, bytes), as a forked child hands them back.
Pages = list[tuple[str, bytes]]

SITE_DIR = data_path("releasetool.site", "page")
STAMP = ".releasetool-build"  # inside the output: the plan the site was built from


@dataclass(frozen=True, kw_only=True)
class BuildSettings:
    out: Path
    data_path: Path
    site_dir: Path = SITE_DIR
    allow_failures: bool = False
    dry_run: bool = False


@dataclass
class BuildReport:
    out: Path
    plan: str
    changed: bool
    files: int
    mode: str
    stale: list[str] = field(default_factory=list)
    fallback: bool = False  # no discovery data: the manifest's versions


def load_data(manifest: Manifest, data_path: Path) -> tuple[SiteData, bool]:
    """The discovery data, or the manifest's versions when there is none (second item True)."""
    from releasetool.site.discover import from_manifest

    found = site_data.load(data_path)
    if found is not None:
        return found, False
    log.info("no discovery data at %s: the page shows the manifest's versions", data_path)
    fallback = SiteData(generated_at=site_data.utc_now(), mode="offline")
    fallback.components = {c.name: from_manifest(c) for c in manifest.components.values() if c.active}
    return fallback, True


def build_site(manifest: Manifest, settings: BuildSettings) -> BuildReport:
    """Render the site and swap it in (or say it is up to date)."""
    with _collector_paused():
        return _build_site(manifest, settings)


def _build_site(manifest: Manifest, settings: BuildSettings) -> BuildReport:
    from releasetool.fsutil import Journal, run_lock

    data, fallback = load_data(manifest, settings.data_path)
    if data.mostly_failed and not settings.allow_failures:
        raise PublishRefusedError(
            f"refusing to publish: {data.sources_failed} of {data.sources_total} sources failed "
            f"in the discovery of {data.generated_at}; {settings.out} is left as it was",
            hint="re-run `releasetool site discover` when the sources answer; --allow-failures publishes anyway",
        )
    out = settings.out.absolute()
    view = site_view(manifest, data, fallback=fallback)
    files = render(view, settings.site_dir)
    plan = files[STAMP].decode().strip()
    report = BuildReport(out=out, plan=plan, changed=False, files=len(files), mode=data.mode,
                         stale=[c.name for c in view.components if c.stale], fallback=fallback)
    if settings.dry_run:
        report.changed = _stamp(out) != plan
        log.info("dry run: %s", f"would publish {len(files)} files to {out}" if report.changed
                 else f"{out} is up to date")
        return report
    out.parent.mkdir(parents=True, exist_ok=True)
    with run_lock(out.parent / f".{out.name}.lock", what=f"the site in {out}"):
        staging = _staging(out, plan)
        journal = Journal(out.parent / f".{out.name}.journal", plan)
        if _stamp(out) == plan:
            _remove_leftovers(out, keep=None)
            journal.clear()  # a run killed after its swap, before its last step, published this already
            log.info("%s is up to date (%d files)", out, len(files))
            return report
        report.changed = True
        _remove_leftovers(out, keep=staging)
        if "staged" not in journal or not staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
            _write_tree(staging, files, view.downloads)
            journal.record("staged", dir=staging.name)
        _swap_in(staging, out)
        shutil.rmtree(staging, ignore_errors=True)  # now the previous site
        journal.clear()
    log.info("published %d files to %s", len(files), out)
    return report


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside (it runs again afterwards, if it ran before).

    A build of a large site allocates a few hundred thousand objects that
    all stay alive until the files are written: the collector would walk
    them again and again and find nothing (a quarter of the build time with
    2,000 components).  It runs again once they are freed (so it does not
    walk them then either); cycles made meanwhile are collected then.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


PARALLEL_FROM = 400  # components; below this a second process costs more than it saves


def render(view: SiteView, site_dir: Path = SITE_DIR) -> dict[str, bytes]:
    """Every file of the site, by relative path.

    With many components and more than one CPU, forked child processes render
    most of the component pages while this process renders the rest, the
    index, the JSON and the feed.  The children only hand back bytes: every
    file is still written by the caller, into the staging directory.
    """
    from releasetool.site import feed

    env = _environment(site_dir)
    page = env.get_template("component.html.j2")  # compiled before any fork: the children inherit it
    comps = view.components
    # Each component's JSON once: its own file and versions.json both hold it.
    comp_json = [_json_text(comp.to_json())[:-1] for comp in comps]
    head = _json_text(view.head_json())[:-2]  # without the closing "}\n"

    def pages(start: int, end: int) -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = []
        for comp, text in zip(comps[start:end], comp_json[start:end], strict=True):
            out += _component_files(view, comp, page, f'{head},"component":{text}}}\n')
        return out

    own, *others = _page_shares(len(comps))
    children: list[_Child] = []
    try:
        for start, end in others:
            children.append(_Child(functools.partial(pages, start, end)))
        index = env.get_template("index.html.j2").render(site=view, root="").encode()
        rendered = pages(*own)
        versions = versions_json(view, comp_json).encode()
        atom = feed.atom(view).encode()
        for child in children:
            rendered += child.result()
    finally:
        for child in children:
            child.close()
    files = {"index.html": index}
    files.update(rendered)
    files["versions.json"] = versions
    files["releases.atom"] = atom
    files["style.css"] = (site_dir / "static" / "style.css").read_bytes()
    files[STAMP] = (_plan_id(files, view.downloads) + "\n").encode()
    return files


def _component_files(view: SiteView, comp: ComponentView, page: jinja2.Template, json_text: str) -> Pages:
    """A component's page, JSON (the head of versions.json and its entry), feed and badges."""
    from releasetool.site import badge, feed

    out = [(f"c/{comp.name}.html", page.render(site=view, c=comp, root="../").encode()),
           (f"c/{comp.name}.json", json_text.encode()),
           (f"c/{comp.name}.atom", feed.component_atom(view, comp).encode()),
           (f"c/{comp.name}.svg", badge.latest(comp).encode())]
    out += [(badge.target_file(comp, cell), badge.packaged(comp, cell).encode()) for cell in comp.packaged]
    return out


def _page_shares(count: int) -> list[tuple[int, int]]:
    """The ranges of component pages to render: this process's first, then one for each child."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    children = min(cpus, 8) - 1 if count >= PARALLEL_FROM and hasattr(os, "fork") else 0
    if children <= 0:
        return [(0, count)]
    # The index, the JSON and the feed cost about as much as half the pages:
    # this process takes a smaller share of the pages than each child.
    own = count // (2 * (children + 1))
    step = -(-(count - own) // children)
    return [(0, own), *((start, min(start + step, count)) for start in range(own, count, step))]


class _Child:
    """``job()`` run in a forked child process; ``result()`` is what it returned (or raises what it raised).

    Plain ``fork`` and a pipe rather than a process pool: the child inherits
    the view and the compiled templates instead of receiving them pickled,
    sends its result once and exits.  It never waits for this process, so
    nothing is left running for long if this one is killed.
    """

    def __init__(self, job: Callable[[], Pages]) -> None:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller's code
            try:
                os.close(read_end)
                _run_and_send(job, write_end)
            finally:
                os._exit(0)
        os.close(write_end)
        self._pid: int | None = pid
        self._pipe = os.fdopen(read_end, "rb")

    def result(self) -> Pages:
        try:
            ok, value = pickle.load(self._pipe)
        except EOFError:
            ok, value = False, SiteError("a process rendering pages of the site ended without a result")
        finally:
            self._reap()
        if not ok:
            raise value
        pages: Pages = value  # pickle.load() gives Any: what the child's job() returned
        return pages

    def close(self) -> None:
        """Stop the child if it is still running (after an error here) and release it."""
        if self._pid is not None:
            os.kill(self._pid, signal.SIGKILL)
            self._reap()
        self._pipe.close()

    def _reap(self) -> None:
        if self._pid is not None:
            os.waitpid(self._pid, 0)
            self._pid = None


def _run_and_send(job: Callable[[], object], fd: int) -> None:
    try:
        outcome = (True, job())
    except BaseException as exc:  # sent to the parent, which raises it
        outcome = (False, exc)
    try:
        payload = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # an exception that cannot be pickled: its text, then
        payload = pickle.dumps((False, SiteError(f"rendering pages of the site failed: {outcome[1]!r}")))
    with os.fdopen(fd, "wb") as pipe:
        pipe.write(payload)


def versions_json(view: SiteView, components: list[str] | None = None) -> str:
    """versions.json; ``<``, ``>`` and ``&`` are written as \\u escapes so the file is inert if served as HTML.

    ``components`` are the components' entries as JSON text, when already made.
    """
    if components is None:
        return _json_text(view.to_json())
    text = _json_text(view.to_json(components=False))
    assert text.endswith('"components":[]}\n')  # the last field: the entries go in its brackets
    return f"{text[:-3]}{','.join(components)}]}}\n"


def _json_text(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))  # compact: the C encoder
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"


def _environment(site_dir: Path) -> jinja2.Environment:
    import jinja2

    templates = site_dir / "templates"
    if not templates.is_dir():
        raise SiteError(f"{templates}: no site templates",
                        hint="pass a complete page directory (templates/, static/) or reinstall releasetool")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=True,  # every string that came from upstream is escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # one build: no need to stat each template again for every page
    )
    env.globals["history_rows"] = history_rows
    env.filters["urlpart"] = url_part
    return env


def _plan_id(files: dict[str, bytes], links: dict[str, str]) -> str:
    digest = hashlib.sha256(__version__.encode())
    for name in sorted(links):
        digest.update(b"link\0" + name.encode() + b"\0" + links[name].encode() + b"\0")
    for name in sorted(files):
        if name != STAMP:
            digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()[:16]


def _stamp(out: Path) -> str | None:
    try:
        return (out / STAMP).read_text().strip()
    except OSError:
        return None


def _staging(out: Path, plan: str) -> Path:
    return out.parent / f".{out.name}.new-{plan}"


def _remove_leftovers(out: Path, *, keep: Path | None) -> None:
    """Directories left by a killed run (a half-written new site, or an old one not yet removed)."""
    for path in out.parent.glob(f".{out.name}.new-*"):
        if path != keep and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def _write_tree(root: Path, files: dict[str, bytes], links: dict[str, str] | None = None) -> None:
    # The tree is invisible until the swap, and a kill before the journal
    # records "staged" makes the next run write it again.  No fsync per file:
    # the site is derived data (a re-run rebuilds it), and 2,000 fsyncs would
    # cost more than the whole rendering.
    made: set[str] = set()
    for name, payload in files.items():
        directory = os.path.dirname(name)
        if directory not in made:
            (root / directory).mkdir(parents=True, exist_ok=True)
            made.add(directory)
        fd = os.open(root / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    for name, target in (links or {}).items():
        # A local download area is linked in, not copied: the site serves it
        # relative to itself (never as file:// links a browser refuses).
        os.symlink(target, root / name, target_is_directory=True)


def _swap_in(new: Path, out: Path) -> None:
    """Make ``new`` the site at ``out`` with one rename; afterwards ``new`` holds the old site (if any)."""
    if not out.exists():
        os.rename(new, out)
        return
    if _exchange(new, out):
        return
    # Without RENAME_EXCHANGE (old kernels, some file systems) the old site is
    # moved aside first: a reader may see no site for an instant.
    aside = out.parent / f".{out.name}.old"
    shutil.rmtree(aside, ignore_errors=True)
    os.rename(out, aside)
    os.rename(new, out)
    os.rename(aside, new)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with Linux renameat2(RENAME_EXCHANGE); False when unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise SiteError(f"cannot swap {a} into {b}: {os.strerror(err)}")

