"""XML documents as the OBS API shapes them (element and attribute names from OBS's schemas)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

from releasetool.obs.service.store import RequestRecord, Revision
from releasetool.obs.srcmd5 import EMPTY_MD5


def to_bytes(element: ET.Element) -> bytes:
    ET.indent(element, space="  ")
    return bytes(ET.tostring(element, encoding="utf-8", xml_declaration=False)) + b"\n"


def status(code: str = "ok", summary: str = "Ok", data: dict[str, str] | None = None) -> bytes:
    root = ET.Element("status", code=code)
    ET.SubElement(root, "summary").text = summary
    for name, value in (data or {}).items():
        ET.SubElement(root, "data", name=name).text = value
    return to_bytes(root)


def directory_of_names(names: list[str]) -> bytes:
    root = ET.Element("directory", count=str(len(names)))
    for name in names:
        ET.SubElement(root, "entry", name=name)
    return to_bytes(root)


def file_directory(package: str, revision: Revision | None, files: dict[str, str],
                   sizes: dict[str, int], *, rev: str | None = None, error: str | None = None) -> bytes:
    """A package's directory listing; ``rev``/``vrev`` absent for a package without revisions."""
    root = ET.Element("directory", name=package)
    if error:
        root.set("error", error)
    elif revision is not None:
        root.set("rev", rev or str(revision.rev))
        root.set("vrev", str(revision.rev))
        root.set("srcmd5", revision.srcmd5)
    else:
        if rev:
            root.set("rev", rev)
        root.set("srcmd5", EMPTY_MD5)
    mtime = str(revision.time if revision else int(time.time()))
    for name in sorted(files):
        entry = ET.SubElement(root, "entry", name=name, md5=files[name])
        if not error:
            entry.set("size", str(sizes.get(name, 0)))
            entry.set("mtime", mtime)
    return to_bytes(root)


def revision(rev: Revision | None, *, rev_attr: str | None = None) -> bytes:
    if rev is None:
        root = ET.Element("revision", rev=rev_attr or "upload")
        ET.SubElement(root, "srcmd5").text = EMPTY_MD5
        return to_bytes(root)
    root = ET.Element("revision", rev=rev_attr or str(rev.rev), vrev=str(rev.rev))
    _revision_children(root, rev)
    return to_bytes(root)


def _revision_children(root: ET.Element, rev: Revision) -> None:
    ET.SubElement(root, "srcmd5").text = rev.srcmd5
    ET.SubElement(root, "version").text = "unknown"
    ET.SubElement(root, "time").text = str(rev.time)
    ET.SubElement(root, "user").text = rev.user
    ET.SubElement(root, "comment").text = rev.comment
    ET.SubElement(root, "requestid").text = rev.requestid or None


def revision_list(revs: list[Revision]) -> bytes:
    root = ET.Element("revisionlist")
    for rev in revs:
        item = ET.SubElement(root, "revision", rev=str(rev.rev), vrev=str(rev.rev))
        _revision_children(item, rev)
    return to_bytes(root)


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts))


def request(req: RequestRecord) -> ET.Element:
    """A request as stored by the service, as OBS renders it."""
    root = ET.Element("request", id=str(req["id"]), creator=req["creator"])
    for action in req["actions"]:
        root.append(ET.fromstring(action))
    state = ET.SubElement(root, "state", name=req["state"]["name"], who=req["state"]["who"],
                          when=req["state"]["when"], created=req["created"])
    if req["state"].get("superseded_by"):
        state.set("superseded_by", str(req["state"]["superseded_by"]))
    ET.SubElement(state, "comment").text = req["state"].get("comment") or None
    ET.SubElement(root, "description").text = req.get("description") or None
    return root


def branch_project_meta(target_project: str, project: str, package: str, user: str,
                        source_meta: ET.Element) -> bytes:
    """The meta of a branch project, as OBS makes it: the user maintains it, and each of
    the source project's repositories becomes one that builds against it."""
    meta = ET.Element("project", name=target_project)
    ET.SubElement(meta, "title").text = f"Branch project for package {package}"
    ET.SubElement(meta, "description").text = f"This project was created for package {package} via branch."
    ET.SubElement(meta, "person", userid=user, role="maintainer")
    for repo in source_meta.findall("repository"):
        new = ET.SubElement(meta, "repository", name=repo.get("name", ""))
        ET.SubElement(new, "path", project=project, repository=repo.get("name", ""))
        for arch in repo.findall("arch"):
            ET.SubElement(new, "arch").text = arch.text
    return to_bytes(meta)
