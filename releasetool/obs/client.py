"""Submitting components to the Build Service: project meta, package meta, files, one commit.

What goes into an OBS package is what :mod:`releasetool.render.packaging` produces: the
spec as ``NAME.spec``, the Debian packaging as ``debian.tar.xz`` plus a
``NAME.dsc`` in the form OBS's debtransform reads, and the release tarball when
it is at hand (else a ``_service`` with which OBS fetches it).  A submission
uploads only the files whose md5 differs from the server's listing and commits
through ``commitfilelist``; an unchanged package makes no commit.
"""

from __future__ import annotations

import hashlib
import io
import lzma
import tarfile
import threading
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from releasetool.errors import ObsError, ObsNotFound, ObsRefused
from releasetool.log import log
from releasetool.obs.api import Api, parse_xml
from releasetool.obs.srcmd5 import srcmd5_of

if TYPE_CHECKING:
    from releasetool.manifest import Component, Manifest, Target

# ---------------------------------------------------------------------------
# What a package holds
# ---------------------------------------------------------------------------

def tarball_file_name(component: Component) -> str:
    url = component.tarball_url()
    if url:
        return str(url.rsplit("/", 1)[-1])
    fmt = (component.tarball_formats or ("gz",))[0]
    return f"{component.name}-{component.version}.tar.{fmt}"


def files_for_package(manifest: Manifest, component: Component, tarball_dir: str | Path | None = None, *,
                      tarball: Path | None = None) -> dict[str, bytes]:
    """The files of the component's OBS package, by name.

    The release tarball is ``tarball``, else the one of its name in
    ``tarball_dir``; without either the package gets a ``_service`` with which
    OBS fetches it.
    """
    from releasetool.render import packaging as render

    rendered = render.render_component(manifest, component)
    files: dict[str, bytes] = {}
    debian: dict[str, bytes] = {}
    for path, data in rendered.items():
        if path.startswith("debian/"):
            debian[path] = data
        else:
            files[Path(path).name] = data
    tar_name = tarball_file_name(component)
    if debian:
        files["debian.tar.xz"] = debian_archive(debian)
        files[f"{component.name}.dsc"] = debtransform_dsc(component, debian, tar_name)
    if tarball is None and tarball_dir:
        tarball = Path(tarball_dir) / tar_name
    if tarball is not None and tarball.is_file():
        files[tar_name] = tarball.read_bytes()
    else:
        files["_service"] = service_file(component)
    return files


@dataclass(frozen=True)
class TarballSources:
    """Where ``submit`` takes release tarballs from, in this order."""

    directory: Path | None = None  # files named as the manifest's tarball URL (release output, a download area)
    clones: Path | None = None  # clones CLONES/NAME the tarball is made from at the version's tag
    cache: Path | None = None  # where tarballs made from clones are kept (default: beside the journal)


def release_tarball(component: Component, sources: TarballSources, cache: Path) -> tuple[Path | None, str]:
    """The release tarball to upload for ``component`` and where it comes from; (None, why) without one.

    From a clone it is the tarball ``releasetool release`` makes (``make
    dist`` or ``git archive`` at the version's tag, packed reproducibly),
    with the top directory the spec's ``%autosetup`` expects (GitHub's
    REPO-TAG for a tag archive); it is kept in ``cache`` under the tag's
    commit, so that a resubmission sends the same bytes without making it
    again.  A clone without the tag raises :class:`BuildError`.
    """
    name = tarball_file_name(component)
    looked = []
    if sources.directory is not None:
        given = sources.directory / name
        if given.is_file():
            return given, f"from {sources.directory}"
        looked.append(f"no {name} in {sources.directory}")
    if sources.clones is not None:
        clone = sources.clones / component.name
        if clone.is_dir():
            return clone_tarball(component, clone, cache), f"made from {clone} at {component.tag_for(component.version)}"
        looked.append(f"no clone {clone}")
    return None, "; ".join(looked) or "no --tarballs or --clones given"


def clone_tarball(component: Component, clone: Path, cache: Path) -> Path:
    import tempfile

    from releasetool import proc
    from releasetool.build import tarball_from_clone, with_top_directory
    from releasetool.errors import BuildError
    from releasetool.fsutil import atomic_write
    from releasetool.render.context import github_archive_top

    version = component.version
    tag = component.tag_for(version)
    commit = proc.git(clone, "rev-parse", "--verify", "-q", f"refs/tags/{tag}^{{commit}}", check=False)
    if not commit:
        raise BuildError(f"{clone}: no tag {tag} for {component.name} {version}",
                         hint="fetch the tags of the clone (git fetch --tags)")
    name = tarball_file_name(component)
    kept = cache / f"{component.name}-{version}-{commit[:12]}" / name
    if kept.is_file():
        return kept
    fmt = next((f for f in ("xz", "bz2", "gz") if name.endswith(f".tar.{f}")),
               (component.tarball_formats or ("gz",))[0])
    log.info("obs: making the %s %s tarball from %s at %s", component.name, version, clone, tag)
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{component.name}-", dir=cache) as scratch:
        made = tarball_from_clone(component, version, clone, Path(scratch), fmt)
        top = github_archive_top(component, version)
        if top:
            made = with_top_directory(made, top, Path(scratch) / "top")
        atomic_write(kept, made.read_bytes())
    return kept


def debian_archive(debian: dict[str, bytes]) -> bytes:
    """``debian.tar.xz`` with fixed metadata, so the same files give the same md5 (no needless upload)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        directories = sorted({str(Path(p).parent) for p in debian} - {"."})
        for directory in directories:
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for path in sorted(debian):
            info = tarfile.TarInfo(path)
            info.size = len(debian[path])
            info.mode = 0o755 if path == "debian/rules" else 0o644
            tar.addfile(info, io.BytesIO(debian[path]))
    return lzma.compress(raw.getvalue(), preset=6)


def control_paragraphs(text: str) -> list[dict[str, str]]:
    """The paragraphs of a Debian control file, field names in lower case (continuation lines kept)."""
    paragraphs: list[dict[str, str]] = [{}]
    key = ""
    for line in text.splitlines():
        if not line.strip():
            if paragraphs[-1]:
                paragraphs.append({})
            continue
        if line[0] in " \t" and key:
            paragraphs[-1][key] += "\n" + line
            continue
        key, _, value = line.partition(":")
        key = key.strip().lower()
        paragraphs[-1][key] = value.strip()
    return [p for p in paragraphs if p]


def debtransform_dsc(component: Component, debian: dict[str, bytes], tar_name: str) -> bytes:
    """A ``.dsc`` without Files, naming the upstream tarball for OBS's debtransform."""
    control = control_paragraphs(debian.get("debian/control", b"").decode("utf-8"))
    source = control[0] if control else {}
    binaries = [p["package"] for p in control[1:] if "package" in p]
    archs = sorted({p.get("architecture", "any") for p in control[1:]}) or ["any"]
    changelog = debian.get("debian/changelog", b"").decode("utf-8").splitlines()
    version = component.version
    if changelog and "(" in changelog[0]:
        version = changelog[0].split("(", 1)[1].split(")", 1)[0]
    build_depends = " ".join(source.get("build-depends", "").split())
    # debtransform makes the source package in the format the .dsc names; it
    # must agree with debian/source/format or dpkg-source refuses to unpack it.
    format_lines = debian.get("debian/source/format", b"").decode("utf-8", "replace").split()
    source_format = " ".join(format_lines[:2]) or "1.0"
    lines = [
        f"Format: {source_format}",
        f"Source: {source.get('source', component.name)}",
        f"Binary: {', '.join(binaries) or component.name}",
        f"Architecture: {' '.join(archs)}",
        f"Version: {version}",
        f"Maintainer: {source.get('maintainer', '')}",
        f"Homepage: {component.homepage}",
        f"Build-Depends: {build_depends.rstrip(',')}",
        f"DEBTRANSFORM-TAR: {tar_name}",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def service_file(component: Component) -> bytes:
    """A ``_service`` fetching the tagged upstream release on the Build Service."""
    root = ET.Element("services")
    url = component.tarball_url()
    if url:
        parts = urlsplit(url)
        service = ET.SubElement(root, "service", name="download_url")
        for name, value in (("protocol", parts.scheme), ("host", parts.netloc), ("path", parts.path)):
            ET.SubElement(service, "param", name=name).text = value
    else:
        service = ET.SubElement(root, "service", name="obs_scm")
        for name, value in (("url", component.git), ("scm", "git"), ("revision", component.tag_for(component.version)),
                            ("versionformat", "@PARENT_TAG@")):
            ET.SubElement(service, "param", name=name).text = value
        ET.SubElement(root, "service", name="tar", mode="buildtime")
        recompress = ET.SubElement(root, "service", name="recompress", mode="buildtime")
        ET.SubElement(recompress, "param", name="file").text = "*.tar"
        ET.SubElement(recompress, "param", name="compression").text = "xz"
        ET.SubElement(root, "service", name="set_version", mode="buildtime")
    ET.indent(root, space="  ")
    return bytes(ET.tostring(root, encoding="utf-8")) + b"\n"


# ---------------------------------------------------------------------------
# Metas
# ---------------------------------------------------------------------------

def project_meta(manifest: Manifest, project: str, components: list[Component]) -> ET.Element:
    root = ET.Element("project", name=project)
    ET.SubElement(root, "title").text = manifest.distribution.name
    ET.SubElement(root, "description").text = (
        f"{manifest.distribution.name}: packages built from upstream packaging ({manifest.distribution.site_url})")
    for target in _targets(manifest, components):
        repo = ET.SubElement(root, "repository", name=target.name)
        ET.SubElement(repo, "path", project=target.project, repository=target.repository)
        for arch in target.archs:
            ET.SubElement(repo, "arch").text = arch
    return root


def _targets(manifest: Manifest, components: list[Component]) -> list[Target]:
    wanted = {t for c in components for t in c.targets}
    return [t for name, t in manifest.targets.items() if name in wanted] or list(manifest.targets.values())


def _repos_of(root: ET.Element) -> list[tuple[str, tuple[tuple[str, str], ...], tuple[str, ...]]]:
    found = []
    for repo in root.findall("repository"):
        paths = tuple((p.get("project", ""), p.get("repository", "")) for p in repo.findall("path"))
        archs = tuple((a.text or "").strip() for a in repo.findall("arch"))
        found.append((repo.get("name", ""), paths, archs))
    return found


def merged_project_meta(current: ET.Element | None, wanted: ET.Element) -> ET.Element | None:
    """The meta to PUT, or None when the repositories the manifest asks for are already there.

    Everything else in an existing meta (people, flags, other repositories'
    settings) is kept; only the manifest's repositories are added or replaced.
    """
    if current is None:
        return wanted
    have = {r[0]: r for r in _repos_of(current)}
    need = _repos_of(wanted)
    if all(have.get(r[0]) == r for r in need):
        return None
    names = {r[0] for r in need}
    merged = ET.fromstring(ET.tostring(current))
    for repo in merged.findall("repository"):
        if repo.get("name") in names:
            merged.remove(repo)
    for repo in wanted.findall("repository"):
        merged.append(repo)
    return merged


def package_meta(project: str, component: Component, repositories: list[str] | tuple[str, ...] = ()) -> ET.Element:
    """The package meta; of the project's ``repositories``, those not among the component's targets are disabled.

    A component the manifest restricts to some targets (``targets:``, e.g.
    one whose release needs a newer Python than a distribution has) is not
    built for the others: OBS answers ``disabled`` for them.
    """
    root = ET.Element("package", name=component.obs_package, project=project)
    ET.SubElement(root, "title").text = component.summary
    ET.SubElement(root, "description").text = component.description.strip()
    ET.SubElement(root, "url").text = component.homepage
    excluded = [name for name in repositories if name not in component.targets]
    if excluded:
        build = ET.SubElement(root, "build")
        for name in excluded:
            ET.SubElement(build, "disable", repository=name)
    return root


def _disabled_builds(meta: ET.Element) -> set[tuple[str, str]]:
    return {(flag.get("repository", ""), flag.get("arch", "")) for flag in meta.findall("build/disable")}


def _same_package_meta(current: ET.Element, wanted: ET.Element) -> bool:
    return all((current.findtext(tag) or "").strip() == (wanted.findtext(tag) or "").strip()
               for tag in ("title", "description", "url")) and _disabled_builds(current) == _disabled_builds(wanted)


# ---------------------------------------------------------------------------
# Submitting
# ---------------------------------------------------------------------------

@dataclass
class PackageOutcome:
    component: str
    package: str
    action: str  # created, committed, unchanged, would-commit (dry run)
    rev: str = ""
    srcmd5: str = ""
    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    meta_updated: bool = False
    tarball: str = ""  # where the release tarball came from, or why there is none
    error: str = ""  # why the package was not submitted (action "failed")

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def listing(api: Api, project: str, package: str) -> tuple[dict[str, str], str, str]:
    """(files name -> md5, rev, srcmd5) of the latest revision; empty for a missing package."""
    try:
        root = api.get_xml(["source", project, package])
    except ObsNotFound:
        return {}, "", srcmd5_of({})
    files = {e.get("name", ""): e.get("md5", "") for e in root.findall("entry")}
    return files, root.get("rev", ""), root.get("srcmd5", srcmd5_of(files))


def ensure_project(api: Api, manifest: Manifest, project: str, components: list[Component], *, dry_run: bool) -> bool:
    """Create or update the project meta; True when it was (or would be) written."""
    current = api.exists(["source", project, "_meta"])
    wanted = project_meta(manifest, project, components)
    merged = merged_project_meta(current, wanted)
    if merged is None:
        return False
    log.info("obs: %s project %s meta (%d repositories)", "would write" if dry_run else "writing", project,
             len(wanted.findall("repository")))
    if not dry_run:
        api.call("PUT", ["source", project, "_meta"], data=ET.tostring(merged, encoding="utf-8"))
    return True


def submit_package(api: Api, manifest: Manifest, component: Component, project: str, files: dict[str, bytes], *,
                   message: str, dry_run: bool) -> PackageOutcome:
    package = component.obs_package
    outcome = PackageOutcome(component.name, package, "unchanged")
    wanted_meta = package_meta(project, component, list(manifest.targets))
    current_meta = api.exists(["source", project, package, "_meta"])
    if current_meta is None or not _same_package_meta(current_meta, wanted_meta):
        outcome.meta_updated = True
        if not dry_run:
            api.call("PUT", ["source", project, package, "_meta"], data=ET.tostring(wanted_meta, encoding="utf-8"))
    md5s = {name: hashlib.md5(data).hexdigest() for name, data in files.items()}
    target_srcmd5 = srcmd5_of(md5s)
    have, rev, srcmd5 = listing(api, project, package) if current_meta is not None else ({}, "", srcmd5_of({}))
    outcome.srcmd5, outcome.rev = srcmd5, rev
    if have == md5s:
        return outcome
    outcome.uploaded = sorted(n for n, m in md5s.items() if have.get(n) != m)
    outcome.deleted = sorted(n for n in have if n not in md5s)
    if dry_run:
        outcome.action = "would-commit"
        outcome.srcmd5 = target_srcmd5
        return outcome
    new_rev = commit_files(api, project, package, files, md5s, message=message)
    outcome.action = "created" if not have else "committed"
    outcome.rev, outcome.srcmd5 = new_rev, target_srcmd5
    return outcome


def commit_files(api: Api, project: str, package: str, files: dict[str, bytes], md5s: dict[str, str], *,
                 message: str) -> str:
    """Commit exactly ``files`` as one new revision; returns its number.

    As osc does it: send the file list; the server names the blobs it lacks;
    upload those with ``rev=repository``; send the list again.  A commit that
    fails in transit is checked against the latest revision before any retry,
    so a 504 after the server stored it does not make a second revision.
    """
    target = srcmd5_of(md5s)
    body = ET.Element("directory")
    for name in sorted(md5s):
        ET.SubElement(body, "entry", name=name, md5=md5s[name])
    payload = ET.tostring(body, encoding="utf-8")
    query = {"cmd": "commitfilelist", "comment": message}

    def committed() -> bytes | None:
        _, rev, srcmd5 = listing(api, project, package)
        if srcmd5 == target:
            return f'<directory name="{package}" rev="{rev}" srcmd5="{srcmd5}"/>'.encode()
        return None

    for round_ in range(4):
        # Only the first round validates, as osc does: OBS's backend answers a
        # validating list with every file the last revision lacks as missing,
        # even once its blob has been uploaded.
        validate = {"withvalidate": "1"} if round_ == 0 else {}
        answer = parse_xml(api.call("POST", ["source", project, package], {**query, **validate}, payload,
                                    idempotent=False, took_effect=committed), "commitfilelist")
        if answer.get("error") != "missing":
            return answer.get("rev", "")
        for entry in answer.findall("entry"):
            name = entry.get("name", "")
            if name not in files:
                raise ObsError(f"{project}/{package}: the server asks for {name!r}, which was not sent")
            api.call("PUT", ["source", project, package, name], {"rev": "repository"}, files[name])
    raise ObsError(f"{project}/{package}: the server kept reporting missing files after uploads",
                   hint="re-run the same command; only what is still missing is sent")


@dataclass
class SubmitReport:
    project: str
    apiurl: str
    project_meta_written: bool
    packages: list[PackageOutcome]
    requests: int

    @property
    def failed(self) -> list[PackageOutcome]:
        return [p for p in self.packages if p.action == "failed"]

    def to_json(self) -> dict[str, object]:
        return {"project": self.project, "apiurl": self.apiurl, "project_meta_written": self.project_meta_written,
                "packages": [p.to_json() for p in self.packages], "http_requests": self.requests}


def submit(manifest: Manifest, names: list[str], *, all_: bool = False, project: str | None = None, api: Api,
           message: str = "", dry_run: bool = False, tarball_dir: str | Path | None = None,
           clones: str | Path | None = None, jobs: int = 4, journal_dir: str | Path | None = None) -> SubmitReport:
    """Submit components (in dependency order, ``jobs`` at a time) to ``project``.

    A package the Build Service refuses (:class:`ObsRefused`), or whose
    tarball cannot be made from its clone, does not stop the others: it is
    reported with action ``failed`` and its error, the journal is kept, and a
    second run sends only what is still missing.  A failure of the service
    itself (unreachable, credentials refused) stops the run as before.
    """
    from releasetool.errors import BuildError
    from releasetool.fsutil import Journal, run_lock

    components = manifest.select(names, all_=all_)
    if not components:
        raise ObsError("no component to submit", hint="name components or use --all")
    project = project or manifest.distribution.obs_project
    state_dir = Path(journal_dir or Path(manifest.path).parent / ".releasetool-cache" / "obs")
    sources = TarballSources(Path(tarball_dir) if tarball_dir else None, Path(clones) if clones else None)
    rendered: dict[str, dict[str, bytes]] = {}
    origin: dict[str, str] = {}
    unprepared: dict[str, str] = {}
    for comp in components:
        try:
            tarball, origin[comp.name] = release_tarball(comp, sources, sources.cache or state_dir / "tarballs")
        except BuildError as problem:
            unprepared[comp.name] = f"no release tarball: {problem.message}"
            continue
        rendered[comp.name] = files_for_package(manifest, comp, tarball=tarball)
    message = message or "submitted by releasetool"
    plan = hashlib.sha256(repr((api.shown_url, project, sorted(
        (n, sorted((f, hashlib.md5(d).hexdigest()) for f, d in fs.items())) for n, fs in rendered.items()))).encode()
    ).hexdigest()[:16]
    lock_name = hashlib.sha256(f"{api.shown_url} {project}".encode()).hexdigest()[:12]
    before = api.counts["total"]
    with run_lock(state_dir / f"obs-submit-{lock_name}.lock", what=f"submission to {project}"):
        journal = Journal(state_dir / f"obs-submit-{lock_name}.journal", plan)
        if dry_run:
            journal.done.clear()
        meta_written = ensure_project(api, manifest, project, components, dry_run=dry_run)
        total = len(components)
        done_count = 0
        count_lock = threading.Lock()

        def one(comp: Component) -> PackageOutcome:
            nonlocal done_count
            step = f"package:{comp.name}"
            if comp.name in unprepared:
                result = PackageOutcome(comp.name, comp.obs_package, "failed", error=unprepared[comp.name])
            elif step in journal and not dry_run:
                entry = journal.done[step]
                result = PackageOutcome(comp.name, comp.obs_package, "unchanged", entry.get("rev", ""),
                                        entry.get("srcmd5", ""))
                result.action = entry.get("action", "unchanged")
            else:
                try:
                    result = submit_package(api, manifest, comp, project, rendered[comp.name], message=message,
                                            dry_run=dry_run)
                except ObsRefused as refused:
                    result = PackageOutcome(comp.name, comp.obs_package, "failed", error=refused.message)
                    if "_service" in rendered[comp.name]:
                        result.error += f" (a _service was sent: {origin[comp.name]})"
                else:
                    if not dry_run:
                        journal.record(step, action=result.action, rev=result.rev, srcmd5=result.srcmd5)
            result.tarball = origin.get(comp.name, "")
            with count_lock:
                done_count += 1
                position = done_count
            log.info("[%d/%d] %s: %s%s", position, total, comp.obs_package, result.action,
                     f" r{result.rev}" if result.rev and result.action in ("created", "committed") else "")
            return result

        with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="obs-submit") as pool:
            outcomes = list(pool.map(one, components))
        if not dry_run and not any(o.action == "failed" for o in outcomes):
            # kept after a failure: the next run skips what was submitted
            journal.clear()
    return SubmitReport(project, api.shown_url, meta_written, outcomes, api.counts["total"] - before)


def preflight(api: Api, project: str) -> list[str]:
    """Every reason a submission to ``project`` would fail, found without writing anything.

    Checks that the Build Service answers, accepts the credentials, and that
    the project exists with the configured user among its maintainers (or,
    for a project that does not exist yet, that it is under the user's home).
    Meant for release checks that run before the first write.
    """
    problems: list[str] = []
    try:
        api.call("GET", ["about"])
    except ObsError as exc:
        return [exc.message]
    user = api.user
    try:
        meta = api.exists(["source", project, "_meta"])
    except ObsError as exc:
        return [exc.message]
    if meta is None:
        if not project.startswith(f"home:{user}"):
            problems.append(f"project {project} does not exist on {api.shown_url} and only home:{user} "
                            "projects can be created without an administrator")
        return problems
    maintainers = {p.get("userid") for p in meta.findall("person") if p.get("role") in ("maintainer", "bugowner")}
    if user not in maintainers:
        problems.append(f"{user} is not a maintainer of {project} on {api.shown_url} "
                        f"(maintainers: {', '.join(sorted(m for m in maintainers if m)) or 'none listed'})")
    return problems
