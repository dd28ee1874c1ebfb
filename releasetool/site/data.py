"""``site-data.json``: what discovery found, the one input of ``site build``.

The file lives in the state directory (``.releasetool-cache/site/`` beside the
manifest unless ``--cache DIR`` is given) and is replaced atomically by each
discovery run.  Layout (schema 1)::

    {
      "schema": 1,
      "generated_at": "2026-11-25T09:30:00Z",     # when the discovery run ended (UTC)
      "mode": "online" | "offline",               # offline: no source was asked
      "sources_total": 12, "sources_failed": 1,   # checks made by the run that wrote the file
      "failures": [{"component": "libqb", "source": "github", "error": "HTTP 500 from https://..."}],
      "components": {
        "libqb": {
          "origin": "upstream" | "manifest",      # manifest: nothing known beyond components.yaml
          "checked_at": "...Z" | null,            # last time a source of it was asked
          "last_success_at": "...Z" | null,       # last time every source of it answered
          "stale": false,                         # a source failed: the data is the last known
          "errors": ["github: HTTP 500 from https://..."],
          "latest_stable": RELEASE | null,
          "latest_prerelease": RELEASE | null,    # only when newer than latest_stable
          "releases": [RELEASE, ...],             # newest first
          "sources": {"git": SOURCE, "github": SOURCE, "tarballs": SOURCE, "obs": SOURCE},
          "obs": {"version": "2.0.8", "deb_version": "2.0.8",  # the spec's and the .dsc's (upstream part)
                  "results": {"openSUSE_Tumbleweed/x86_64": "succeeded"}} | null
        }
      }
    }

    RELEASE = {"version": "2.0.8", "tag": "v2.0.8", "date": "2023-07-24" | null,
               "prerelease": false, "url": "https://..." | null,
               "files": ["libqb-2.0.8.tar.gz", "libqb-2.0.8.tar.gz.sha256", ...],
               "commit": "40 hex digits" | null,          # the commit the tag points at
               "sha256": "64 hex digits" | null,          # of the tarball the page links
               "size": 123456 | null}                     # its size in bytes
    SOURCE  = {"url": "...", "ok": true, "checked_at": "...Z", "last_success_at": "...Z" | null,
               "error": null | "what failed", "releases": [RELEASE, ...]}

A failed source keeps the releases of its last success, so the page shows the
last known data marked stale rather than nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from releasetool.errors import SiteError

SCHEMA = 1
DATA_FILE = "site-data.json"
# Bounds on JSON read from upstream or from the data file: site-data.json
# nests 6 levels, a GitHub answer fewer; a document beyond them is hostile or broken.
MAX_JSON_DEPTH = 64
MAX_DATA_BYTES = 64 * 1024 * 1024

# A value json.loads() decoded, its shape not yet checked.  json's API returns
# Any; the from_json readers below take it as it comes and SiteData.from_json
# turns a wrong shape (KeyError, TypeError, AttributeError) into one SiteError.
Json = Any
JsonObject = dict[str, Json]


def parse_json(text: str, *, where: str, max_depth: int = MAX_JSON_DEPTH) -> Json:
    """``json.loads(text)``, or a SiteError naming ``where`` when it is not JSON or nests too deep.

    The decoder itself stops at the interpreter's recursion limit; the
    explicit bound keeps whatever is accepted shallow enough for every later
    step (merging, writing, rendering) to handle without recursion trouble.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise SiteError(f"{where}: JSON nested deeper than {max_depth} levels") from None
    except ValueError:
        raise SiteError(f"{where}: not JSON") from None
    level = [value] if isinstance(value, (dict, list)) else []
    depth = 0
    while level:  # breadth first, one level of containers at a time: no recursion
        depth += 1
        if depth > max_depth:
            break
        level = [v for item in level for v in (item.values() if isinstance(item, dict) else item)
                 if isinstance(v, (dict, list))]
    else:
        return value
    raise SiteError(f"{where}: JSON nested deeper than {max_depth} levels")


def _count(raw: JsonObject, key: str) -> int:
    """A count of the data file (0 when absent); a negative one is malformed."""
    value = int(raw.get(key, 0))
    if value < 0:
        raise ValueError(f"{key} is {value}, not a count")
    return value


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> dt.datetime | None:
    """An ISO 8601 time or date as an aware UTC datetime (None when absent or unreadable)."""
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass
class Release:
    version: str
    tag: str = ""
    date: str | None = None  # YYYY-MM-DD
    prerelease: bool = False
    url: str | None = None  # a release page (http/https only)
    files: list[str] = field(default_factory=list)  # file names published with it, when known
    commit: str | None = None  # the commit the tag points at (an annotated tag peeled)
    sha256: str | None = None  # of the tarball (site.artifacts), when known
    size: int | None = None  # of the tarball, in bytes

    def to_json(self) -> dict[str, object]:
        return {"version": self.version, "tag": self.tag, "date": self.date, "prerelease": self.prerelease,
                "url": self.url, "files": list(self.files), "commit": self.commit, "sha256": self.sha256,
                "size": self.size}

    @classmethod
    def from_json(cls, raw: JsonObject) -> Release:
        # Called for every release of every component: written out rather than
        # through _opt_str (and "version" read first, so bad input fails as before).
        version = str(raw["version"])
        get = raw.get
        date, url, files = get("date"), get("url"), get("files")
        commit, sha256, size = get("commit"), get("sha256"), get("size")
        return cls(version, str(get("tag") or ""), None if date is None else str(date), bool(get("prerelease")),
                   None if url is None else str(url), [str(f) for f in files] if files else [],
                   None if commit is None else str(commit), None if sha256 is None else str(sha256),
                   size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None)


@dataclass
class SourceResult:
    url: str
    ok: bool
    checked_at: str | None
    last_success_at: str | None = None
    error: str | None = None
    releases: list[Release] = field(default_factory=list)
    extra: JsonObject = field(default_factory=dict)  # obs: {"version": ..., "results": {...}}

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"url": self.url, "ok": self.ok, "checked_at": self.checked_at,
                                "last_success_at": self.last_success_at, "error": self.error,
                                "releases": [r.to_json() for r in self.releases]}
        if self.extra:
            data["extra"] = self.extra
        return data

    @classmethod
    def from_json(cls, raw: JsonObject) -> SourceResult:
        return cls(url=str(raw.get("url", "")), ok=bool(raw.get("ok")), checked_at=_opt_str(raw.get("checked_at")),
                   last_success_at=_opt_str(raw.get("last_success_at")), error=_opt_str(raw.get("error")),
                   releases=[Release.from_json(r) for r in raw.get("releases") or []],
                   extra=dict(raw.get("extra") or {}))


@dataclass
class ComponentData:
    name: str
    origin: str = "manifest"  # "upstream" or "manifest"
    checked_at: str | None = None
    last_success_at: str | None = None
    stale: bool = False
    errors: list[str] = field(default_factory=list)
    latest_stable: Release | None = None
    latest_prerelease: Release | None = None
    releases: list[Release] = field(default_factory=list)
    sources: dict[str, SourceResult] = field(default_factory=dict)
    obs: JsonObject | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "origin": self.origin, "checked_at": self.checked_at, "last_success_at": self.last_success_at,
            "stale": self.stale, "errors": list(self.errors),
            "latest_stable": self.latest_stable.to_json() if self.latest_stable else None,
            "latest_prerelease": self.latest_prerelease.to_json() if self.latest_prerelease else None,
            "releases": [r.to_json() for r in self.releases],
            "sources": {k: s.to_json() for k, s in self.sources.items()},
            "obs": self.obs,
        }

    @classmethod
    def from_json(cls, name: str, raw: JsonObject) -> ComponentData:
        def release(value: Json) -> Release | None:
            return Release.from_json(value) if value else None

        return cls(
            name=name, origin=str(raw.get("origin", "manifest")), checked_at=_opt_str(raw.get("checked_at")),
            last_success_at=_opt_str(raw.get("last_success_at")), stale=bool(raw.get("stale")),
            errors=[str(e) for e in raw.get("errors") or []],
            latest_stable=release(raw.get("latest_stable")), latest_prerelease=release(raw.get("latest_prerelease")),
            releases=[Release.from_json(r) for r in raw.get("releases") or []],
            sources={str(k): SourceResult.from_json(v) for k, v in (raw.get("sources") or {}).items()},
            obs=raw.get("obs") if isinstance(raw.get("obs"), dict) else None,
        )


@dataclass
class SiteData:
    generated_at: str
    mode: str = "online"  # "online" or "offline"
    sources_total: int = 0
    sources_failed: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    components: dict[str, ComponentData] = field(default_factory=dict)

    @property
    def mostly_failed(self) -> bool:
        """More than half of the sources asked by the run failed (the page must not be published)."""
        return self.sources_total > 0 and self.sources_failed * 2 > self.sources_total

    def to_json(self) -> dict[str, object]:
        return {
            "schema": SCHEMA, "generated_at": self.generated_at, "mode": self.mode,
            "sources_total": self.sources_total, "sources_failed": self.sources_failed,
            "failures": list(self.failures),
            "components": {name: c.to_json() for name, c in self.components.items()},
        }

    @classmethod
    def from_json(cls, raw: Json, *, where: str = DATA_FILE) -> SiteData:
        if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
            found = raw.get("schema") if isinstance(raw, dict) else type(raw).__name__
            raise SiteError(f"{where}: not a schema {SCHEMA} site data file (found {found!r})",
                            hint="run `releasetool site discover` to write it again")
        try:
            return cls(
                generated_at=str(raw["generated_at"]), mode=str(raw.get("mode", "online")),
                sources_total=_count(raw, "sources_total"), sources_failed=_count(raw, "sources_failed"),
                failures=[dict(f) for f in raw.get("failures") or []],
                components={str(n): ComponentData.from_json(str(n), c) for n, c in (raw.get("components") or {}).items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SiteError(f"{where}: malformed site data ({type(exc).__name__}: {exc})",
                            hint="run `releasetool site discover` to write it again") from None


def load(path: str | Path) -> SiteData | None:
    """The data file at ``path``, or None when there is none yet."""
    data_path = Path(path)
    hint = "delete it and run `releasetool site discover`"
    try:
        with data_path.open("rb") as handle:
            body = handle.read(MAX_DATA_BYTES + 1)
        if len(body) > MAX_DATA_BYTES:
            raise SiteError(f"{data_path}: larger than {MAX_DATA_BYTES // (1024 * 1024)} MiB: not site data",
                            hint=hint)
        text = body.decode("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SiteError(f"{data_path}: cannot read site data: {exc}", hint=hint) from None
    try:
        raw = parse_json(text, where=f"{data_path}: cannot read site data")
    except SiteError as exc:
        raise SiteError(exc.message, hint=hint) from None
    return SiteData.from_json(raw, where=str(data_path))


def dumps(data: SiteData) -> str:
    return json.dumps(data.to_json(), indent=1, ensure_ascii=False, sort_keys=False) + "\n"


def save(path: str | Path, data: SiteData) -> Path:
    from releasetool.fsutil import atomic_write

    return atomic_write(path, dumps(data))
