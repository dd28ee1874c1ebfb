"""What a release will do: its options, its plan and the result of running it.

:class:`ReleasePlan` is made by :func:`releasetool.release.cut.plan_release` once
every check has passed; it names the tag, the commit, the files, the history
entry and the manifest change, and prints itself for ``--dry-run``
(:meth:`ReleasePlan.describe`).  ``execute`` turns it into a
:class:`ReleaseResult`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from releasetool.release import history, notes, tarball

DIST_DIR = "dist"


@dataclass(frozen=True)
class ReleaseOptions:
    """How to release, from the command line flags (all keyword-only)."""

    repo: Path = Path(".")
    sign: bool = False
    key: str | None = None
    push: str | None = None
    force: bool = False
    packager: str | None = None
    out: Path | None = None  # the base; files go to OUT/NAME-VERSION/
    lint: bool = True
    notes_text: str | None = None  # release notes written by hand (--notes, --edit) instead of the generated ones


@dataclass(frozen=True)
class ManifestChange:
    path: Path
    name: str
    old_version: str
    new_version: str
    old_date: dt.date
    new_date: dt.date

    @property
    def pending(self) -> bool:
        return (self.old_version, self.old_date) != (self.new_version, self.new_date)

    def describe(self) -> str:
        if not self.pending:
            return f"{self.path}: {self.name} already at {self.new_version}, released {self.new_date} (unchanged)"
        return (
            f"{self.path}: {self.name} version {self.old_version} -> {self.new_version}, "
            f"released {self.old_date} -> {self.new_date}"
        )


@dataclass(frozen=True)
class ReleasePlan:
    name: str
    version: str
    scheme: str
    manifest_path: Path
    repo: Path
    git_dir: Path
    branch: str  # "" when HEAD is detached
    commit: str
    subject: str
    tag: str
    tag_exists: bool
    previous_version: str | None
    previous_tag: str
    date: dt.datetime  # timezone-aware, whole seconds
    packager: str
    out_dir: Path
    formats: tuple[str, ...]
    sign: bool
    key: str | None
    push: str | None
    prerelease: bool
    forced: tuple[str, ...]
    notes: notes.Notes
    manifest_change: ManifestChange | None
    init_scripts: tuple[str, ...] = ()
    tarball_method: str = "git-archive"  # git-archive | dist (the manifest's tarball_method)
    dist_command: str = ""  # the command of the dist method
    dist_timezone: str = "UTC"  # its TZ
    build_system: str = "none"  # how the built version of the tarball is asked (version_truth)

    @property
    def plan_id(self) -> str:
        """Identifies this release across runs (the date is not part of it: a resumed run reuses the tag's)."""
        key = [self.name, self.version, self.commit, self.tag, list(self.formats), str(self.out_dir),
               self.sign, self.key, self.push, str(self.manifest_path), self.tarball_method, self.dist_command]
        return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]

    @property
    def prefix(self) -> str:
        return f"{self.name}-{self.version}"

    @property
    def tarballs(self) -> list[Path]:
        return [self.out_dir / tarball.tarball_name(self.name, self.version, fmt) for fmt in self.formats]

    @property
    def notes_file(self) -> Path:
        return self.out_dir / f"{self.prefix}.notes.md"

    @property
    def files(self) -> list[Path]:
        signatures = [Path(f"{t}.asc") for t in self.tarballs] if self.sign else []
        return [*self.tarballs, *signatures, self.notes_file, self.out_dir / "SHA256SUMS", self.buildinfo_file]

    @property
    def buildinfo_file(self) -> Path:
        """How the tarballs were made: method, command, toolchain (explains a byte difference between machines)."""
        return self.out_dir / f"{self.prefix}.buildinfo.json"

    def tarball_how(self) -> str:
        if self.tarball_method == "dist":
            return f"dist: `{self.dist_command}` in a clean clone of {self.tag}, repacked reproducibly"
        return f"git archive of {self.tag} (.gitattributes applied), repacked reproducibly"

    @property
    def history_file(self) -> Path:
        return history.history_path(self.manifest_path.parent, self.name)

    @property
    def journal_path(self) -> Path:
        return self.git_dir / "releasetool" / f"release-{self.name}.journal"

    @property
    def push_argv(self) -> list[str]:
        if not self.push:
            return []
        return ["git", "-C", str(self.repo), "push", "--atomic", self.push,
                f"refs/tags/{self.tag}", f"refs/heads/{self.branch}"]

    def tag_message(self) -> str:
        text = self.notes.text(self.name, self.version)
        if self.forced:
            text += "\nReleased with --force, overriding:\n" + "".join(f"  - {f}\n" for f in self.forced)
        return text

    def describe(self) -> str:
        """The plan as a release manager reads it (what --dry-run prints)."""
        previous = f"{self.previous_version} (tag {self.previous_tag})" if self.previous_tag else "none (first release)"
        signing = f", GPG-signed{' with ' + self.key if self.key else ''}" if self.sign else ""
        tag_state = "exists on this commit, kept" if self.tag_exists else "new"
        lines = [
            f"release {self.name} {self.version} ({self.scheme} scheme{', pre-release' if self.prerelease else ''})",
            f"  previous    {previous}",
            f"  repository  {self.repo} (branch {self.branch or '(detached HEAD)'})",
            f"  commit      {self.commit} {self.subject}",
            f"  tag         {self.tag} -> {self.commit[:12]} (annotated{signing}; {tag_state})",
            f"  date        {self.date.isoformat()}",
            f"  packager    {self.packager}",
            f"  tarballs    {self.tarball_how()}",
        ]
        for index, path in enumerate(self.files):
            lines.append(f"  {'files' if index == 0 else '':10}  {path}")
        lines.append(f"  history     {self.history_file}: add {self.version} ({len(self.notes.changes)} changes)")
        if self.manifest_change:
            lines.append(f"  manifest    {self.manifest_change.describe()}")
        else:
            lines.append(f"  manifest    unchanged ({self.version} is a pre-release)")
        if self.push:
            lines.append(f"  push        {' '.join(self.push_argv[3:])}")
        else:
            lines.append("  push        none (nothing leaves this machine; --push REMOTE publishes)")
        if self.init_scripts:
            lines.append(f"  init lint   passed: {', '.join(self.init_scripts)}")
        for forced in self.forced:
            lines.append(f"  forced      {forced}")
        lines.append("  notes")
        lines += [f"    {line}" if line else "" for line in self.notes.text(self.name, self.version).splitlines()[2:]]
        return "\n".join(lines).rstrip() + "\n"

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "scheme": self.scheme,
            "prerelease": self.prerelease,
            "repository": str(self.repo),
            "branch": self.branch,
            "commit": self.commit,
            "tag": self.tag,
            "tag_exists": self.tag_exists,
            "signed": self.sign,
            "previous_version": self.previous_version,
            "previous_tag": self.previous_tag,
            "date": self.date.isoformat(),
            "packager": self.packager,
            "files": [str(p) for p in self.files],
            "tarball_method": self.tarball_method,
            "dist_command": self.dist_command or None,
            "history": str(self.history_file),
            "manifest": None if not self.manifest_change else {
                "path": str(self.manifest_change.path),
                "version": [self.manifest_change.old_version, self.manifest_change.new_version],
                "released": [self.manifest_change.old_date.isoformat(), self.manifest_change.new_date.isoformat()],
            },
            "push": self.push_argv[3:] if self.push else None,
            "forced": list(self.forced),
            "range": self.notes.range,
            "changes": [{"type": c.type, "subject": c.subject, "author": c.author} for c in self.notes.changes],
        }


@dataclass
class ReleaseResult:
    plan: ReleasePlan
    done: list[str] = field(default_factory=list)  # steps performed by this run
    kept: list[str] = field(default_factory=list)  # steps found already complete
    sums: dict[str, str] = field(default_factory=dict)

    @property
    def nothing_to_do(self) -> bool:
        return not self.done

    def to_json(self) -> dict[str, object]:
        return {"name": self.plan.name, "version": self.plan.version, "tag": self.plan.tag,
                "commit": self.plan.commit, "done": self.done, "already_done": self.kept,
                "sha256": self.sums, "nothing_to_do": self.nothing_to_do}
