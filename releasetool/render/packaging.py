"""Packaging from upstream: spec files and debian/ directories rendered from templates.

:func:`render_component` is pure: it turns one component of the manifest and
its release history into ``{relative path: bytes}`` (``NAME.spec``,
``debian/control``, ...).  :func:`write_rendered` puts such a mapping under
``DIR/NAME/`` atomically, leaves identical files alone and deletes files it
rendered before that are no longer rendered; in check mode it only compares.
:func:`render_all` does both for many components under a lock and a journal.

Templates live in ``templates/spec`` and ``templates/debian`` of the project;
a ``templates/`` directory beside the manifest is searched first, so a
component or a distribution can override a template without forking the tool.
``templates/spec/NAME.spec.j2`` (extending ``base.spec.j2``) is used for a
component when it exists, and ``templates/debian/NAME/FILE.j2`` likewise.

Escaping is chosen by the file being rendered, not left to each template: every
``{{ value }}`` that is a plain manifest string passes the file's escaper
(``%`` doubled in a spec, folded and substitution-safe in debian/control, ``$``
doubled in debian/rules); the filters that build syntax on purpose (macros,
paths) return :class:`Verbatim` strings, which pass unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from releasetool.errors import RenderError
from releasetool.log import log
from releasetool.render import filters as rf
from releasetool.render.context import by_hand_steps, component_context, removal_steps
from releasetool.render.filters import Verbatim
from releasetool.resources import data_path

if TYPE_CHECKING:
    import jinja2

    from releasetool.manifest import Component, Manifest
    from releasetool.release.history import ReleaseEntry

__all__ = [
    "FORMATS", "RenderOutcome", "Verbatim", "environment", "plan_id", "render_all", "render_component",
    "write_rendered",
]


FORMATS = ("spec", "debian")
DEFAULT_OUT = "rendered"
BUILTIN_TEMPLATES = data_path("releasetool.render", "templates")
RECORD = ".rendered.json"  # what the last render wrote in DIR/NAME (for deleting stale files)
EXECUTABLE = frozenset({"debian/rules"})
DEBIAN_STATIC = ("control", "changelog", "rules", "copyright", "source/format", "watch", "upstream/metadata")


# ---------------------------------------------------------------------------
# The template environment
# ---------------------------------------------------------------------------

def _escaper_for(template_name: str) -> Callable[[str], str]:
    """The escaping of plain values, by the kind of file a template renders."""
    name = template_name.rsplit("/", 1)[-1]
    if name.endswith(".spec.j2"):
        return rf.spec_text
    if name == "control.j2":
        return rf.deb_field
    if name == "rules.j2":
        return lambda text: text.replace("$", "$$")
    return lambda text: text


def _environment(search_path: Sequence[Path]) -> jinja2.Environment:
    import jinja2

    class Missing(jinja2.StrictUndefined):
        """A missing value names the manifest field it stands for."""

        @property
        def _undefined_message(self) -> str:
            where = getattr(self._undefined_obj, "_where", None)
            if where and self._undefined_name is not None:
                return f"no value for {where}.{self._undefined_name}"
            return str(super()._undefined_message)

    @jinja2.pass_context
    def finalize(context: jinja2.runtime.Context, value: object) -> object:
        if isinstance(value, Verbatim) or not isinstance(value, str):
            return value
        return _escaper_for(context.name or "")(value)

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in search_path]),
        bytecode_cache=_bytecode_cache(),
        undefined=Missing,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=finalize,
    )

    def verbatim(fn: Callable[..., str]) -> Callable[..., Verbatim]:
        return lambda *args, **kwargs: Verbatim(fn(*args, **kwargs))

    env.filters.update(
        spec_text=verbatim(rf.spec_text),
        spec_description=verbatim(rf.spec_description),
        deb_field=verbatim(rf.deb_field),
        deb_description=verbatim(rf.deb_description),
        rpm_date=verbatim(rf.rpm_date),
        deb_date=verbatim(rf.deb_date),
        changes_date=verbatim(rf.changes_date),
        verbatim=Verbatim,
    )
    return env


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept between runs (most of a cold render is compiling them).

    Jinja2 checks each cached entry against a checksum of the template's
    source, and replaces files atomically, so an edited template is recompiled
    and concurrent runs are safe.  Without a writable cache directory the
    templates are simply compiled each time.
    """
    import jinja2

    base = os.environ.get("RELEASETOOL_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "releasetool")
    directory = Path(base) / "templates"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(directory)) if os.access(directory, os.W_OK) else None


_ENV_CACHE: dict[tuple[str, ...], jinja2.Environment] = {}


def template_search_path(manifest_dir: Path | None) -> list[Path]:
    paths = []
    if manifest_dir is not None:
        local = Path(manifest_dir) / "templates"
        if local.is_dir() and local.resolve() != BUILTIN_TEMPLATES:
            paths.append(local)
    override = os.environ.get("RELEASETOOL_TEMPLATES")
    if override:
        paths.insert(0, Path(override))
    paths.append(BUILTIN_TEMPLATES)
    return paths


def environment(manifest_dir: Path | None = None) -> jinja2.Environment:
    key = tuple(str(p) for p in template_search_path(manifest_dir))
    if key not in _ENV_CACHE:
        _ENV_CACHE[key] = _environment([Path(p) for p in key])
    return _ENV_CACHE[key]


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------

def _render_template(env: jinja2.Environment, names: Sequence[str], context: dict[str, object], comp_name: str) -> tuple[str, str]:
    import jinja2

    try:
        template = env.select_template(list(names))
    except jinja2.TemplatesNotFound:
        searched = env.loader.searchpath if isinstance(env.loader, jinja2.FileSystemLoader) else []
        raise RenderError(
            f"{comp_name}: no template {names[-1]} (searched {', '.join(searched)})",
            hint="restore the template or set RELEASETOOL_TEMPLATES to a complete template directory",
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(
            f"{exc.filename or exc.name}:{exc.lineno}: template syntax error: {exc.message}",
            hint="fix the template",
        ) from None
    try:
        return template.name or names[-1], template.render(context)  # a loaded template has its name
    except jinja2.UndefinedError as exc:
        where = _template_line(exc)
        raise RenderError(
            f"{comp_name}: {where or template.name}: {exc.message}",
            hint=f"add the field to component {comp_name!r} in the manifest (or guard it in the template)",
        ) from None
    except jinja2.TemplateError as exc:
        where = _template_line(exc)
        raise RenderError(f"{comp_name}: {where or template.name}: {exc}", hint="fix the template") from None


def _read_patches(manifest_dir: Path, component: Component) -> dict[str, bytes]:
    """The manifest's patches of ``component`` by file name, in the order they apply."""
    found: dict[str, bytes] = {}
    for index, relative in enumerate(component.packaging.patches):
        path = manifest_dir / relative
        where = f"components[{component.name}].packaging.patches[{index}]"
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise RenderError(f"{where}: cannot read {path}: {exc.strerror}",
                              hint="patch paths are relative to the manifest's directory") from None
        if path.name in found or path.name == "series":
            raise RenderError(f"{where}: two patches named {path.name}", hint="give each patch its own file name")
        found[path.name] = data
    return found


def _template_line(exc: BaseException) -> str | None:
    """``TEMPLATE:LINE`` of the innermost template frame of a rendering error."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith(".j2"):
            found = f"{Path(frame.filename).relative_to(BUILTIN_TEMPLATES.parent) if _under(frame.filename, BUILTIN_TEMPLATES) else frame.filename}:{frame.lineno}"
    return found


def _under(path: str, root: Path) -> bool:
    try:
        Path(path).resolve().relative_to(root)
        return True
    except ValueError:
        return False


def render_component(
    manifest: Manifest,
    component: Component,
    *,
    formats: Sequence[str] = FORMATS,
    history: Sequence[ReleaseEntry] | None = None,
) -> dict[str, bytes]:
    """The packaging files of one component: ``{relative path: content}``. Writes nothing.

    ``history`` is the release history, newest first; by default the recorded
    one beside the manifest (or the manifest's version alone).
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise RenderError(f"unknown packaging format {unknown[0]!r}", hint=f"use one of: {', '.join(FORMATS)}")
    component = component.at_version(component.version)  # the packaging of the version range holding it
    manifest_dir = Path(manifest.path).parent
    if history is None:
        from releasetool.release import history as history_mod

        history = history_mod.for_component(manifest_dir, component, manifest.distribution.packager)
    if not history:
        raise RenderError(f"{component.name}: the release history is empty", hint="record a release first")
    env = environment(manifest_dir)

    def format_context(family: str) -> tuple[dict[str, object], dict[str, bytes]]:
        """The template values and the patches of one format (its by_format changes applied)."""
        packaged = component.for_format(family)
        values = component_context(manifest, packaged, history)
        values["by_hand"] = by_hand_steps(env, packaged) + removal_steps(packaged)
        found = _read_patches(manifest_dir, packaged)
        values["patches"] = list(found)
        return values, found

    name = component.name
    own_templates = component.packaging.templates or name  # whose component templates apply
    out: dict[str, bytes] = {}
    if "spec" in formats:
        context, patches = format_context("rpm")
        _used, text = _render_template(env, [f"spec/{own_templates}.spec.j2", "spec/base.spec.j2"], context, name)
        out[f"{name}.spec"] = text.encode("utf-8")
        out.update(patches)  # beside the spec: rpmbuild's SOURCES, OBS's package files
        # openSUSE keeps the changelog in NAME.changes beside the spec (OBS adds it as %changelog)
        _used, text = _render_template(env, [f"spec/{own_templates}.changes.j2", "spec/changes.j2"], context, name)
        out[f"{name}.changes"] = text.encode("utf-8")
    if "debian" in formats:
        context, patches = format_context("deb")
        for base in DEBIAN_STATIC:
            _used, text = _render_template(env, [f"debian/{own_templates}/{base}.j2", f"debian/{base}.j2"], context, name)
            if base == "control":
                text = _without_trailing_commas(text)
            out[f"debian/{base}"] = text.encode("utf-8")
        if patches:
            for patch_name, data in patches.items():
                out[f"debian/patches/{patch_name}"] = data
            out["debian/patches/series"] = "".join(f"{n}\n" for n in patches).encode()
        packages = context["packages"]  # component_context's list of Fields
        for package in packages if isinstance(packages, list) else []:
            pkg_context = {**context, "package": package}
            _used, text = _render_template(env, [f"debian/{own_templates}/install.j2", "debian/install.j2"], pkg_context,
                                           name)
            if text.strip():
                out[f"debian/{package.deb_name}.install"] = text.encode("utf-8")
            if package.files.deb_dirs:
                out[f"debian/{package.deb_name}.dirs"] = "".join(f"{d}\n" for d in package.files.deb_dirs).encode()
            if getattr(package, "docs", None):
                _used, text = _render_template(env, [f"debian/{own_templates}/docs.j2", "debian/docs.j2"], pkg_context,
                                               name)
                out[f"debian/{package.deb_name}.docs"] = text.encode("utf-8")
        # More files of one component: templates/debian/NAME/FILE.j2 -> debian/FILE.
        own = f"debian/{own_templates}/"
        for template_name in sorted(env.list_templates(filter_func=lambda t: t.startswith(own) and t.endswith(".j2"))):
            rel = template_name[len(own):-len(".j2")]
            if rel in DEBIAN_STATIC or rel in ("install", "docs"):
                continue
            _used, text = _render_template(env, [template_name], context, name)
            out[f"debian/{rel}"] = text.encode("utf-8")
    return out


RELATION_FIELDS = frozenset({
    "build-depends", "build-depends-indep", "build-depends-arch", "build-conflicts", "pre-depends", "depends",
    "recommends", "suggests", "breaks", "conflicts", "provides", "replaces", "enhances",
})


def _without_trailing_commas(control: str) -> str:
    """Relationship fields without the comma the templates leave after the last item.

    dpkg accepts it, but other readers of the .dsc (the Build Service's
    parser among them) need not; the last item of a field is found by the
    next field or blank line.
    """
    lines = control.split("\n")
    field_name = ""
    for index, line in enumerate(lines):
        if line and not line[0].isspace():
            field_name = line.split(":", 1)[0].strip().lower()
        ends_field = index + 1 >= len(lines) or not lines[index + 1][:1].isspace() or not lines[index + 1].strip()
        if field_name in RELATION_FIELDS and ends_field and line.rstrip().endswith(","):
            lines[index] = line.rstrip()[:-1]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

@dataclass
class RenderOutcome:
    """What rendering one component did (or, in check/dry-run mode, would do) under ``directory``."""

    name: str
    directory: Path
    written: list[str] = field(default_factory=list)  # new or changed files
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # rendered before, no longer rendered
    check: bool = False

    @property
    def differing(self) -> list[str]:
        return sorted(self.written + self.removed)

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "directory": str(self.directory),
            "written": self.written,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "check": self.check,
        }


def _format_of(path: str) -> str:
    return "debian" if path.startswith("debian/") else "spec"


def _safe_relative(path: str) -> bool:
    parts = Path(path).parts
    return bool(parts) and not Path(path).is_absolute() and ".." not in parts and parts[0] != RECORD


def _read_record(directory: Path) -> list[str]:
    try:
        data = json.loads((directory / RECORD).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError, OSError):
        return []
    files = data.get("files") if isinstance(data, dict) else None
    return [f for f in files if isinstance(f, str) and _safe_relative(f)] if isinstance(files, list) else []


def write_rendered(
    out_dir: str | os.PathLike[str],
    name: str,
    files: dict[str, bytes],
    *,
    check: bool = False,
    dry_run: bool = False,
) -> RenderOutcome:
    """Write ``files`` under ``out_dir/name/``: atomically, unchanged files untouched.

    Files this function wrote on an earlier run (for the formats present in
    ``files``) that are no longer rendered are deleted.  With ``check`` or
    ``dry_run`` nothing is written; the outcome lists what differs.
    """
    from releasetool.fsutil import atomic_write

    directory = Path(out_dir) / name
    outcome = RenderOutcome(name=name, directory=directory, check=check)
    for rel in files:
        if not _safe_relative(rel):
            raise RenderError(f"{name}: refusing to write {rel!r} outside {directory}")
    formats = {_format_of(rel) for rel in files}
    previous = _read_record(directory)
    stale = sorted(rel for rel in previous if rel not in files and _format_of(rel) in formats)
    for rel, data in sorted(files.items()):
        target = directory / rel
        mode = 0o755 if rel in EXECUTABLE else 0o644
        try:
            same = target.read_bytes() == data and (target.stat().st_mode & 0o777) == mode
        except (FileNotFoundError, NotADirectoryError):
            same = False
        if same:
            outcome.unchanged.append(rel)
            continue
        outcome.written.append(rel)
        if not (check or dry_run):
            atomic_write(target, data, mode=mode)
    for rel in stale:
        target = directory / rel
        if target.exists():
            outcome.removed.append(rel)
            if not (check or dry_run):
                target.unlink()
                _prune_empty(target.parent, directory)
    if not (check or dry_run):
        kept = sorted(set(files) | {rel for rel in previous if _format_of(rel) not in formats})
        record = json.dumps({"files": kept}, indent=1) + "\n"
        try:
            current = (directory / RECORD).read_text(encoding="utf-8")
        except FileNotFoundError:
            current = ""
        if current != record:
            atomic_write(directory / RECORD, record)
    return outcome


def _prune_empty(directory: Path, stop: Path) -> None:
    while directory != stop and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent


# ---------------------------------------------------------------------------
# Many components
# ---------------------------------------------------------------------------

JOURNAL = ".render-journal"


def plan_id(rendered: Sequence[tuple[str, dict[str, bytes]]]) -> str:
    """Identifies one render run's inputs: the same files for the same components."""
    digest = hashlib.sha256()
    for name, files in rendered:
        digest.update(name.encode() + b"\0")
        for rel, data in sorted(files.items()):
            digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()[:16]


def render_all(
    manifest: Manifest,
    components: Sequence[Component],
    out_dir: str | os.PathLike[str],
    *,
    formats: Sequence[str] = FORMATS,
    check: bool = False,
    dry_run: bool = False,
) -> list[RenderOutcome]:
    """Render and write ``components`` under ``out_dir``.

    Everything is rendered first (so a bad component stops the run before any
    file changes), then written under a lock on ``out_dir``.  A journal in
    ``out_dir`` records each component written; a run killed part way and run
    again with the same inputs skips what was already written, and the journal
    is removed when the run completes.
    """
    from releasetool.fsutil import Journal, remove_temporaries_under, run_lock

    rendered = [(comp.name, render_component(manifest, comp, formats=formats)) for comp in components]
    if check or dry_run:
        return [write_rendered(out_dir, name, files, check=check, dry_run=dry_run) for name, files in rendered]
    out = Path(out_dir)
    outcomes = []
    with run_lock(out / ".render.lock", what=f"rendering into {out}"):
        journal = Journal(out / JOURNAL, plan_id(rendered))
        for name, _ in rendered:  # what a killed run was writing when it died
            for stray in remove_temporaries_under(out / name):
                log.info("render %s: removed %s, left by an interrupted run", name, stray)
        for name, files in rendered:
            if name in journal:
                log.info("render %s: already written by the interrupted run", name)
                outcomes.append(RenderOutcome(name=name, directory=out / name, unchanged=sorted(files)))
                continue
            outcome = write_rendered(out, name, files)
            journal.record(name, written=len(outcome.written), removed=len(outcome.removed))
            outcomes.append(outcome)
        journal.clear()
    return outcomes
