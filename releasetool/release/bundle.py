"""The neutral download area: every component's latest release in one directory.

For each active component the manifest's version (its latest stable release)
is looked up in the release output (``dist/NAME-VERSION/``, as written by
``release``); its tarballs, their signatures and the checksums are checked and
copied into the area, with:

* ``SHA256SUMS``  every tarball of the area (``sha256sum -c`` reads it);
* ``index.json``  what is in it, per component (name, version, release date,
  files with size, sha256 and signature);
* ``index.html``  the same for people;
* ``NAME-VERSION.notes.md``  each release's notes, when the release has them.

A component not released with ``release`` can come from upstream's own
published tarball: the manifest's ``tarball`` URL of its version, taken from
``upstream_dir`` (a file of the URL's name) or downloaded with ``fetch``, and
accepted only when it matches the manifest's ``tarball_sha256``.  A component
with neither is an error unless ``allow_missing``, so an area is either whole
or knowingly partial.

A tarball is refused when its checksum does not match its release's
``SHA256SUMS`` or when a member would escape the directory it is unpacked into.
Files whose bytes are already right are not rewritten; files of versions no
longer current (listed in the previous ``index.json``) are removed.  Everything
is idempotent, so a run killed at any point is finished by running it again.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from releasetool import fsutil, manifest
from releasetool.errors import ReleaseError
from releasetool.log import log
from releasetool.release import tarball
from releasetool.release.cut import DIST_DIR, remove_temporaries

DOWNLOADS_DIR = "downloads"
INDEX_JSON = "index.json"
INDEX_HTML = "index.html"
SUMS = "SHA256SUMS"


@dataclass
class BundleFile:
    name: str
    size: int
    sha256: str
    signature: str | None


@dataclass
class BundleEntry:
    name: str
    version: str
    released: str
    files: list[BundleFile]
    origin: str = "release"  # release (cut here) or upstream (upstream's published tarball)
    notes: str | None = None  # the notes file in the area


@dataclass(frozen=True)
class BundleSources:
    """Where releases come from: the release directories, and upstream's published tarballs."""

    source: Path
    upstream_dir: Path | None = None  # upstream tarballs already downloaded, named as in their URL
    fetch: bool = False  # download upstream tarballs from the manifest's tarball URL
    allow_missing: bool = False  # an area without some components is acceptable
    timeout: float = 60.0


MAX_UPSTREAM_BYTES = 1 << 30


@dataclass
class BundleResult:
    out: Path
    entries: list[BundleEntry]
    missing: list[str]
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"out": str(self.out), "components": [_entry_json(e) for e in self.entries], "missing": self.missing,
                "written": self.written, "unchanged": self.unchanged, "removed": self.removed}


def _entry_json(entry: BundleEntry) -> dict[str, object]:
    return {"name": entry.name, "version": entry.version, "released": entry.released, "origin": entry.origin,
            "notes": entry.notes, "files": [vars(f) for f in entry.files]}


def build_bundle(
    manifest_path: str | Path, *, source: Path | None = None, out: Path | None = None, dry_run: bool = False,
    upstream_dir: Path | None = None, fetch: bool = False, allow_missing: bool = False,
) -> BundleResult:
    """Fill the download area ``out`` from the release directories under ``source`` (and upstream's tarballs)."""
    manifest_path = Path(manifest_path)
    loaded = manifest.load(manifest_path)
    sources = BundleSources(Path(source) if source else manifest_path.parent / DIST_DIR,
                            upstream_dir=upstream_dir, fetch=fetch, allow_missing=allow_missing)
    out = Path(out) if out else manifest_path.parent / DOWNLOADS_DIR
    problem = fsutil.output_dir_problem(out)
    if problem is not None:
        raise ReleaseError(f"download area {out}: {problem}", hint="give --out a directory")
    if dry_run:
        return _collect(loaded, sources, out, write=False)
    with fsutil.run_lock(out.parent / f".{out.name}.lock", what=f"download area {out}"):
        return _collect(loaded, sources, out, write=True)


def _upstream_tarball(comp: manifest.Component, sources: BundleSources) -> tuple[str, bytes] | None:
    """Upstream's published tarball of the manifest's version, verified, or None when not asked for."""
    url = comp.tarball_url()
    if not url or not (sources.upstream_dir or sources.fetch):
        return None
    name = url.rstrip("/").rsplit("/", 1)[-1]
    if not comp.tarball_sha256:
        raise ReleaseError(f"{comp.name} {comp.version}: upstream's tarball {name} has no tarball_sha256 in the "
                           "manifest to check it against",
                           hint="add the SHA-256 upstream publishes (its checksum file) as tarball_sha256")
    local = sources.upstream_dir / name if sources.upstream_dir else None
    if local is not None and local.is_file():
        data = local.read_bytes()
        where = str(local)
    elif sources.fetch:
        data = _download(url, sources.timeout)
        where = url
    else:
        return None
    digest = tarball.sha256_hex(data)
    if digest != comp.tarball_sha256:
        raise ReleaseError(f"{where}: sha256 {digest} is not the manifest's tarball_sha256 {comp.tarball_sha256} "
                           f"for {comp.name} {comp.version}",
                           hint="the file is not upstream's published tarball: download it again, or fix the "
                                "manifest from upstream's checksum file")
    tarball.check_members_of(data, where)
    return name, data


def _download(url: str, timeout: float) -> bytes:
    import urllib.error
    import urllib.request

    log.info("downloading %s", url)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            data = bytes(answer.read(MAX_UPSTREAM_BYTES + 1))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ReleaseError(f"{url}: cannot download: {getattr(exc, 'reason', exc)}",
                           hint="download it by hand and pass --upstream-dir DIR") from None
    if len(data) > MAX_UPSTREAM_BYTES:
        raise ReleaseError(f"{url}: larger than {MAX_UPSTREAM_BYTES >> 20} MiB; refused")
    return data


def _collect(loaded: manifest.Manifest, sources: BundleSources, out: Path, *, write: bool) -> BundleResult:
    result = BundleResult(out=out, entries=[], missing=[])
    payloads: dict[str, bytes] = {}
    source = sources.source
    for comp in loaded.components.values():
        if not comp.active:
            continue
        release_dir = source / f"{comp.name}-{comp.version}"
        tarballs = [release_dir / tarball.tarball_name(comp.name, comp.version, fmt) for fmt in comp.tarball_formats]
        present = [t for t in tarballs if t.is_file()]
        if not present:
            published = _upstream_tarball(comp, sources)
            if published is None:
                result.missing.append(comp.name)
                continue
            name, data = published
            payloads[name] = data
            result.entries.append(BundleEntry(comp.name, comp.version, comp.released.isoformat(),
                                              [BundleFile(name, len(data), tarball.sha256_hex(data), None)],
                                              origin="upstream"))
            continue
        sums = _release_sums(release_dir)
        files = []
        for path in present:
            data = path.read_bytes()
            digest = tarball.sha256_hex(data)
            if path.name in sums and sums[path.name] != digest:
                raise ReleaseError(f"{path}: sha256 {digest} does not match {release_dir / SUMS}",
                                   hint=f"rebuild it with `releasetool release {comp.name} {comp.version}`")
            tarball.check_members(path)
            payloads[path.name] = data
            signature = Path(f"{path}.asc")
            if signature.is_file():
                payloads[signature.name] = signature.read_bytes()
            files.append(BundleFile(path.name, len(data), digest, signature.name if signature.is_file() else None))
        notes_file = release_dir / f"{comp.name}-{comp.version}.notes.md"
        notes_name = notes_file.name if notes_file.is_file() else None
        if notes_name:
            payloads[notes_name] = notes_file.read_bytes()
        result.entries.append(BundleEntry(comp.name, comp.version, comp.released.isoformat(), files,
                                          notes=notes_name))
    if not result.entries:
        raise ReleaseError(f"{source}: no release of any component to bundle",
                           hint="cut releases first (`releasetool release NAME VERSION`) or pass --from DIR")
    if result.missing and not sources.allow_missing:
        shown = ", ".join(f"{n} {loaded.get(n).version}" for n in result.missing)
        raise ReleaseError(
            f"{len(result.missing)} of {len(result.missing) + len(result.entries)} components have no release in "
            f"{source}: {shown}",
            hint="release them, give upstream's published tarballs (tarball_sha256 in the manifest, "
                 "--upstream-dir DIR or --fetch), or pass --allow-missing for a partial area; nothing was written",
        )
    for name in result.missing:
        log.warning("%s: not in the download area (--allow-missing)", name)

    all_sums = {f.name: f.sha256 for e in result.entries for f in e.files}
    index = {
        "distribution": loaded.distribution.name,
        "components": [_entry_json(e) for e in result.entries],
        "missing": result.missing,
    }
    payloads[SUMS] = tarball.sha256sums(all_sums).encode()
    payloads[INDEX_JSON] = (json.dumps(index, indent=2, ensure_ascii=False) + "\n").encode()
    payloads[INDEX_HTML] = _index_html(loaded.distribution.name, result).encode()

    previous = _previous_files(out)
    journal = None
    if write:
        remove_temporaries([out / name for name in payloads])
        # The files to remove are known from the index of the previous run; once
        # the new index is written that knowledge is gone, so it is journaled
        # first: a run killed between the index and the removals finishes them.
        plan = tarball.sha256_hex(b"".join(n.encode() + tarball.sha256_hex(d).encode() for n, d in sorted(payloads.items())))
        journal = fsutil.Journal(out.parent / f".{out.name}.journal", plan[:16])
        if "stale" in journal:
            previous |= set(journal.done["stale"].get("files", []))
        else:
            journal.record("stale", files=sorted(previous - set(payloads)))
    # Data files first, the index last: a reader never sees an index naming a file not there yet.
    for name in sorted(payloads, key=lambda n: (n in (SUMS, INDEX_JSON, INDEX_HTML), n)):
        target = out / name
        if _same(target, payloads[name]):
            result.unchanged.append(name)
            continue
        result.written.append(name)
        if write:
            fsutil.atomic_write(target, payloads[name])
            log.debug("wrote %s", target)
            if journal is not None and name == INDEX_JSON:
                journal.record("index")
    for name in sorted(previous - set(payloads)):
        if not (out / name).exists():
            continue
        result.removed.append(name)
        if write:
            try:
                os.unlink(out / name)
            except FileNotFoundError:
                pass
    if journal is not None:
        journal.clear()  # the area is complete: nothing to resume
    return result


def _same(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return tarball.file_sha256(path) == tarball.sha256_hex(data)
    except FileNotFoundError:
        return False


def _release_sums(release_dir: Path) -> dict[str, str]:
    path = release_dir / SUMS
    try:
        return tarball.parse_sha256sums(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError:
        return {}


def _previous_files(out: Path) -> set[str]:
    """Files a previous run put in the area (from its index), so stale versions can be removed."""
    try:
        index = json.loads((out / INDEX_JSON).read_text(encoding="utf-8"))
        names = set()
        for entry in index.get("components", []):
            for item in entry.get("files", []):
                names.add(str(item["name"]))
                if item.get("signature"):
                    names.add(str(item["signature"]))
            if entry.get("notes"):
                names.add(str(entry["notes"]))
    except (FileNotFoundError, ValueError, TypeError, KeyError, AttributeError):
        return set()
    # Only plain names inside the area: an edited index cannot make us delete elsewhere.
    return {n for n in names if n and "/" not in n and n not in (".", "..")}


def _index_html(title: str, result: BundleResult) -> str:
    esc = html.escape
    rows = []
    for entry in result.entries:
        for item in entry.files:
            sig = f' (<a href="{esc(item.signature)}">signature</a>)' if item.signature else ""
            notes = f' (<a href="{esc(entry.notes)}">notes</a>)' if entry.notes else ""
            origin = " (upstream's tarball)" if entry.origin == "upstream" else ""
            rows.append(
                f"<tr><td>{esc(entry.name)}</td><td>{esc(entry.version)}{notes}</td><td>{esc(entry.released)}</td>"
                f'<td><a href="{esc(item.name)}">{esc(item.name)}</a>{sig}{origin}</td>'
                f"<td>{item.size}</td><td><code>{esc(item.sha256)}</code></td></tr>"
            )
    missing = ""
    if result.missing:
        missing = f"<p>Not yet in this area: {esc(', '.join(result.missing))}.</p>\n"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{esc(title)}: downloads</title>\n</head>\n<body>\n"
        f"<h1>{esc(title)}: downloads</h1>\n"
        "<p>The latest release of every component, in one place. "
        f'Check them with <code>sha256sum -c <a href="{SUMS}">{SUMS}</a></code>.</p>\n'
        "<table>\n<thead><tr><th>Component</th><th>Version</th><th>Released</th><th>File</th>"
        "<th>Size</th><th>SHA-256</th></tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>\n"
        + missing
        + "</body>\n</html>\n"
    )
