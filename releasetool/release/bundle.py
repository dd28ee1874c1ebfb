"""The neutral download area: every component's latest release in one directory.

For each active component the manifest's version (its latest stable release)
is looked up in the release output (``dist/NAME-VERSION/``, as written by
``release``); its tarballs, their signatures and the checksums are checked and
copied into the area, with:

* ``SHA256SUMS``  every tarball of the area (``sha256sum -c`` reads it);
* ``index.json``  what is in it, per component (name, version, release date,
  files with size, sha256 and signature);
* ``index.html``  the same for people.

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
from typing import Any

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


@dataclass
class BundleResult:
    out: Path
    entries: list[BundleEntry]
    missing: list[str]
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"out": str(self.out), "components": [_entry_json(e) for e in self.entries], "missing": self.missing,
                "written": self.written, "unchanged": self.unchanged, "removed": self.removed}


def _entry_json(entry: BundleEntry) -> dict[str, Any]:
    return {"name": entry.name, "version": entry.version, "released": entry.released,
            "files": [vars(f) for f in entry.files]}


def build_bundle(
    manifest_path: str | Path, *, source: Path | None = None, out: Path | None = None, dry_run: bool = False
) -> BundleResult:
    """Fill the download area ``out`` from the release directories under ``source``."""
    manifest_path = Path(manifest_path)
    loaded = manifest.load(manifest_path)
    source = Path(source) if source else manifest_path.parent / DIST_DIR
    out = Path(out) if out else manifest_path.parent / DOWNLOADS_DIR
    if dry_run:
        return _collect(loaded, source, out, write=False)
    with fsutil.run_lock(out.parent / f".{out.name}.lock", what=f"download area {out}"):
        return _collect(loaded, source, out, write=True)


def _collect(loaded: manifest.Manifest, source: Path, out: Path, *, write: bool) -> BundleResult:
    result = BundleResult(out=out, entries=[], missing=[])
    payloads: dict[str, bytes] = {}
    for comp in loaded.components.values():
        if not comp.active:
            continue
        release_dir = source / f"{comp.name}-{comp.version}"
        tarballs = [release_dir / tarball.tarball_name(comp.name, comp.version, fmt) for fmt in comp.tarball_formats]
        present = [t for t in tarballs if t.is_file()]
        if not present:
            result.missing.append(comp.name)
            log.warning("%s %s: no release in %s (run `releasetool release %s %s`)",
                        comp.name, comp.version, release_dir, comp.name, comp.version)
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
        result.entries.append(BundleEntry(comp.name, comp.version, comp.released.isoformat(), files))
    if not result.entries:
        raise ReleaseError(f"{source}: no release of any component to bundle",
                           hint="cut releases first (`releasetool release NAME VERSION`) or pass --from DIR")

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
            rows.append(
                f"<tr><td>{esc(entry.name)}</td><td>{esc(entry.version)}</td><td>{esc(entry.released)}</td>"
                f'<td><a href="{esc(item.name)}">{esc(item.name)}</a>{sig}</td>'
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
