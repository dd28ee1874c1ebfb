"""``/source``: projects, packages, files, revisions, commits and branches."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from releasetool.errors import ApiError
from releasetool.obs.service import xmlshapes as shapes
from releasetool.obs.service.context import XML, Answer, Request
from releasetool.obs.service.store import Revision, valid_arch, valid_package, valid_project, valid_repository
from releasetool.obs.srcmd5 import srcmd5_of


def route(h: Request, method: str, segs: list[str], query: dict[str, str]) -> Answer:
    store = h.server.store
    if not segs:
        if method == "GET":
            return 200, shapes.directory_of_names(store.projects()), XML
        raise ApiError(400, "invalid_operation", "only GET on /source")
    project = segs[0]
    if len(segs) == 1:
        return _project(h, method, project, query)
    if len(segs) == 2 and segs[1] in ("_meta", "_config", "_attribute", "_pubkey"):
        return _project_file(h, method, project, segs[1], query)
    package = segs[1]
    if len(segs) == 2:
        return _package(h, method, project, package, query)
    if len(segs) == 3:
        return _file(h, method, project, package, segs[2], query)
    raise ApiError(404, "not_found", "no such source path")


def _project(h: Request, method: str, project: str, query: dict[str, str]) -> Answer:
    store = h.server.store
    h.check_project(project)
    if method == "GET":
        return 200, shapes.directory_of_names(store.packages(project)), XML
    if method == "DELETE":
        store.delete_project(project)
        return 200, shapes.status(), XML
    if method == "POST" and query.get("cmd") == "showlinked":
        return 200, shapes.to_bytes(ET.Element("collection")), XML
    raise ApiError(400, "illegal_request", f"unsupported {method} on a project")


def _project_file(h: Request, method: str, project: str, name: str, query: dict[str, str]) -> Answer:
    store = h.server.store
    if name == "_meta" and method == "PUT":
        root = h.parse_xml(h.read_body(), "project")
        if root.get("name") != project:
            raise ApiError(400, "project_name_mismatch",
                           f"project name in XML ({root.get('name')}) does not match the URL ({project})")
        if not project or not valid_project(project):
            raise ApiError(400, "invalid_project_name", f"invalid project name '{project}'")
        for repo in root.findall("repository"):
            # Repository and architecture names become paths (build logs).
            name = repo.get("name", "")
            if not valid_repository(name):
                raise ApiError(400, "validation_failed", f"repository name '{name}' is illegal")
            for path in repo.findall("path"):
                if not valid_project(path.get("project", "")) or not valid_repository(path.get("repository", "")):
                    raise ApiError(400, "validation_failed", f"repository {name}: illegal path")
            for arch in repo.findall("arch"):
                if not valid_arch((arch.text or "").strip()):
                    raise ApiError(400, "validation_failed", f"repository {name}: arch '{arch.text}' is illegal")
        body = h.read_body()
        if not store.project_exists(project) and root.find("person[@role='maintainer']") is None:
            # OBS makes the creator of a project its maintainer.
            person = ET.Element("person", userid=h.user, role="maintainer")
            position = 2 if root.find("description") is not None else len(root)
            root.insert(min(position, len(root)), person)
            body = shapes.to_bytes(root)
        store.set_project_meta(project, body)
        return 200, shapes.status(), XML
    h.check_project(project)
    if method != "GET":
        raise ApiError(400, "illegal_request", f"unsupported {method} on {name}")
    if name == "_meta":
        return 200, store.project_meta(project), XML
    if name == "_config":
        return 200, b"", "text/plain"
    if name == "_attribute":
        return 200, shapes.to_bytes(ET.Element("attributes")), XML
    raise ApiError(404, "not_found", f"{name} not found")


def _listing(h: Request, project: str, package: str, rev: str | None) -> Answer:
    store = h.server.store
    if rev == "upload":
        files = store.upload_files(project, package)
        latest = store.latest(project, package)
        return 200, shapes.file_directory(package, latest, files, _sizes(h, files), rev="upload"), XML
    try:
        found = store.find_revision(project, package, rev)
    except KeyError:
        raise ApiError(400, "no_such_revision", f"no such revision: {rev}") from None
    files = found.files if found else {}
    return 200, shapes.file_directory(package, found, files, _sizes(h, files)), XML


def _sizes(h: Request, files: dict[str, str]) -> dict[str, int]:
    store = h.server.store
    sizes = {}
    for name, md5 in files.items():
        try:
            sizes[name] = store.blob_path(md5).stat().st_size
        except FileNotFoundError:
            sizes[name] = 0
    return sizes


def _package(h: Request, method: str, project: str, package: str, query: dict[str, str]) -> Answer:
    store = h.server.store
    h.check_project(project)
    cmd = query.get("cmd")
    if method == "POST" and cmd == "branch":
        return _branch(h, project, package, query)
    h.check_package(project, package)
    if method == "GET":
        if query.get("view") == "info":
            latest = store.latest(project, package)
            root = ET.Element("sourceinfo", package=package, rev=str(latest.rev if latest else 0),
                              srcmd5=latest.srcmd5 if latest else srcmd5_of({}))
            for name in sorted(latest.files if latest else {}):
                if name.endswith((".spec", ".dsc")):
                    ET.SubElement(root, "filename").text = name
            return 200, shapes.to_bytes(root), XML
        return _listing(h, project, package, query.get("rev"))
    if method == "DELETE":
        store.delete_package(project, package)
        return 200, shapes.status(), XML
    if method != "POST":
        raise ApiError(400, "illegal_request", f"unsupported {method} on a package")
    if cmd == "commitfilelist":
        return _commitfilelist(h, project, package, query)
    if cmd == "commit":
        files = store.upload_files(project, package)
        rev = _commit(h, project, package, files, query)
        return 200, shapes.revision(rev), XML
    if cmd == "deleteuploadrev":
        (store.package_dir(project, package) / "upload.json").unlink(missing_ok=True)
        return 200, shapes.status(), XML
    if cmd == "diff":
        return 200, source_diff(h, query.get("oproject") or project, query.get("opackage") or package,
                                query.get("orev"), project, package, query.get("rev")), "text/plain"
    if cmd == "getprojectservices":
        return 200, shapes.to_bytes(ET.Element("services")), XML
    if cmd in ("runservice", "waitservice", "mergeservice"):
        return 200, shapes.status(), XML
    raise ApiError(400, "illegal_request", f"unsupported command {cmd!r}")


def _commit(h: Request, project: str, package: str, files: dict[str, str], query: dict[str, str]) -> Revision:
    store = h.server.store
    rev = store.commit(project, package, files, h.user, query.get("comment", ""))
    h.server.package_changed(project, package)
    return rev


def _commitfilelist(h: Request, project: str, package: str, query: dict[str, str]) -> Answer:
    store = h.server.store
    root = h.parse_xml(h.read_body(), "directory")
    files: dict[str, str] = {}
    for entry in root.findall("entry"):
        name, md5 = entry.get("name", ""), entry.get("md5", "")
        h.check_file_name(name)
        if len(md5) != 32:
            raise ApiError(400, "validation_failed", f"entry {name!r} has no md5")
        files[name] = md5
    missing = {name: md5 for name, md5 in files.items() if not store.has_blob(md5)}
    if missing:
        # OBS answers 200 with the entries it lacks; the client uploads them
        # with rev=repository and sends the list again.
        return 200, shapes.file_directory(package, None, missing, {}, error="missing"), XML
    rev = _commit(h, project, package, files, query)
    return 200, shapes.file_directory(package, rev, rev.files, _sizes(h, rev.files)), XML


def _file(h: Request, method: str, project: str, package: str, name: str, query: dict[str, str]) -> Answer:
    store = h.server.store
    if name == "_meta":
        return _package_meta(h, method, project, package)
    h.check_package(project, package)
    if name == "_history" and method == "GET":
        return 200, shapes.revision_list(store.history(project, package)), XML
    h.check_file_name(name)
    rev_arg = query.get("rev")
    if method == "GET":
        if rev_arg == "upload":
            files = store.upload_files(project, package)
        else:
            try:
                found = store.find_revision(project, package, rev_arg)
            except KeyError:
                raise ApiError(400, "no_such_revision", f"no such revision: {rev_arg}") from None
            files = found.files if found else {}
        if name not in files:
            raise ApiError(404, "no_such_file", f"{project}/{package}/{name}: no such file")
        return 200, store.blob(files[name]), "application/octet-stream"
    if method == "PUT":
        md5 = store.put_blob(h.read_body())
        if rev_arg == "repository":
            # Stored as a blob only, for a following commitfilelist.
            root = ET.Element("revision", rev="repository")
            ET.SubElement(root, "srcmd5").text = srcmd5_of({})
            return 200, shapes.to_bytes(root), XML
        if rev_arg == "upload":
            files = store.upload_files(project, package)
            files[name] = md5
            store.set_upload_files(project, package, files)
            return 200, shapes.revision(None, rev_attr="upload"), XML
        # Read the latest revision and commit the next one under the store's
        # lock: parallel single-file PUTs must not each drop the others' files.
        with store.lock:
            latest = store.latest(project, package)
            files = dict(latest.files) if latest else {}
            files[name] = md5
            rev = _commit(h, project, package, files, query)
        return 200, shapes.revision(rev), XML
    if method == "DELETE":
        with store.lock:
            latest = store.latest(project, package)
            files = dict(latest.files) if latest else {}
            if name not in files:
                raise ApiError(404, "no_such_file", f"{project}/{package}/{name}: no such file")
            del files[name]
            _commit(h, project, package, files, query)
        return 200, shapes.status(), XML
    raise ApiError(400, "illegal_request", f"unsupported {method} on a file")


def _package_meta(h: Request, method: str, project: str, package: str) -> Answer:
    store = h.server.store
    h.check_project(project)
    if method == "PUT":
        root = h.parse_xml(h.read_body(), "package")
        if root.get("name") != package:
            raise ApiError(400, "package_name_mismatch",
                           f"package name in XML ({root.get('name')}) does not match the URL ({package})")
        if root.get("project") not in (None, project):
            raise ApiError(400, "project_name_mismatch", "project attribute does not match the URL")
        if not valid_package(package):
            raise ApiError(400, "invalid_package_name", f"invalid package name '{package}'")
        root.attrib.pop("project", None)
        store.set_package_meta(project, package, shapes.to_bytes(root))
        return 200, shapes.status(), XML
    h.check_package(project, package)
    if method != "GET":
        raise ApiError(400, "illegal_request", f"unsupported {method} on _meta")
    root = ET.fromstring(store.package_meta(project, package))
    root.set("project", project)
    return 200, shapes.to_bytes(root), XML


def _branch(h: Request, project: str, package: str, query: dict[str, str]) -> Answer:
    """Branch as a copy: the target gets the source files as its first revision (no _link)."""
    store = h.server.store
    h.check_package(project, package)
    target_project = query.get("target_project") or f"home:{h.user}:branches:{project}"
    target_package = query.get("target_package") or package
    if not valid_project(target_project) or not valid_package(target_package):
        raise ApiError(400, "invalid_project_name", f"invalid branch target {target_project}/{target_package}")
    if store.package_exists(target_project, target_package):
        raise ApiError(400, "double_branch_package",
                       f"branch target package already exists: {target_project}/{target_package}")
    if not store.project_exists(target_project):
        store.set_project_meta(target_project, shapes.branch_project_meta(
            target_project, project, package, h.user, ET.fromstring(store.project_meta(project))))
    pkg_meta = ET.fromstring(store.package_meta(project, package))
    pkg_meta.set("name", target_package)
    store.set_package_meta(target_project, target_package, shapes.to_bytes(pkg_meta))
    latest = store.latest(project, package)
    if latest is not None:
        store.commit(target_project, target_package, latest.files, h.user,
                     f"branched from {project}/{package} r{latest.rev}")
        h.server.package_changed(target_project, target_package)
    return 200, shapes.status(data={"targetproject": target_project, "targetpackage": target_package,
                                    "sourceproject": project, "sourcepackage": package}), XML


def source_diff(h: Request, old_project: str, old_package: str, old_rev: str | None, project: str, package: str,
                rev: str | None) -> bytes:
    """A unified diff between two revisions, file by file, laid out as OBS lays it out."""
    import difflib

    store = h.server.store

    def revision(prj: str, pkg: str, number: str | None) -> Revision | None:
        if not store.package_exists(prj, pkg):
            return None
        try:
            if number is None and (prj, pkg) == (project, package):
                latest = store.latest(prj, pkg)
                before = [r for r in store.history(prj, pkg) if latest and r.rev == latest.rev - 1]
                return before[0] if before else None
            return store.find_revision(prj, pkg, number)
        except KeyError:
            raise ApiError(400, "no_such_revision", f"no such revision: {number}") from None

    new = revision(project, package, rev) if rev else store.latest(project, package)
    old = revision(old_project, old_package, old_rev)
    old_files, new_files = (old.files if old else {}), (new.files if new else {})
    out: list[str] = []
    for name in sorted(set(old_files) | set(new_files)):
        if old_files.get(name) == new_files.get(name):
            continue
        before = store.blob(old_files[name]).decode("utf-8", "replace").splitlines(True) if name in old_files else []
        after = store.blob(new_files[name]).decode("utf-8", "replace").splitlines(True) if name in new_files else []
        out.append(f"Index: {name}\n" + "=" * 67 + "\n")
        label_old = f"{name}\t(revision {old.rev})" if old and name in old_files else f"{name}\t(added)"
        label_new = f"{name}\t(revision {new.rev})" if new and name in new_files else f"{name}\t(deleted)"
        out.extend(difflib.unified_diff(before, after, label_old, label_new))
    return "".join(out).encode("utf-8")
