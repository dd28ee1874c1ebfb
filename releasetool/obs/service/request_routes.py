"""``/request``: submit requests (create, show, list, change state)."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from releasetool.errors import ApiError
from releasetool.obs.service import xmlshapes as shapes
from releasetool.obs.service.context import XML, Answer, Request

if TYPE_CHECKING:
    from releasetool.obs.service.store import RequestRecord

STATES = ("new", "review", "accepted", "declined", "revoked", "superseded")


@dataclass(frozen=True)
class Sources:
    """What requests need of wherever the sources are (this service's store, or the OBS backend)."""

    # check an action's source (None for a delete) and target; set a submit's source rev to
    # the srcmd5 submitted
    pin: Callable[[Request, ET.Element | None, ET.Element], None]
    # the diff of one action's sources against its target
    diff: Callable[[Request, dict[str, str]], bytes]
    # answer a changestate (checking who may, and copying the sources on accept)
    changestate: Callable[[Request, RequestRecord, dict[str, str]], Answer]


def route(h: Request, method: str, segs: list[str], query: dict[str, str], sources: Sources | None = None) -> Answer:
    sources = sources or LOCAL
    store = h.server.store
    if not segs:
        if method == "POST" and query.get("cmd") == "create":
            return create(h, sources.pin)
        if method == "GET":
            return collection(h, query)
        raise ApiError(400, "illegal_request", "unsupported request operation")
    req = store.request(segs[0]) if segs[0].isdigit() else None
    if req is None:
        raise ApiError(404, "not_found", f"Couldn't find request with id '{segs[0]}'")
    if method == "GET":
        return 200, shapes.to_bytes(shapes.request(req)), XML
    if method == "POST" and query.get("cmd") == "diff":
        return 200, b"".join(sources.diff(h, f) for f in action_fields(req)), "text/plain"
    if method == "POST" and query.get("cmd") == "changestate":
        return sources.changestate(h, req, query)
    raise ApiError(400, "illegal_request", "unsupported request operation")


def _diff_local(h: Request, f: dict[str, str]) -> bytes:
    from releasetool.obs.service.source_routes import source_diff

    latest = "latest" if h.server.store.package_exists(f["tproject"], f["tpackage"]) else None
    return source_diff(h, f["tproject"], f["tpackage"], latest, f["sproject"], f["spackage"], f["srev"])


def create(h: Request, pin: Callable[[Request, ET.Element | None, ET.Element], None]) -> Answer:
    """A new request from the body; ``pin`` checks each action's source and target and sets a
    submit's source ``rev`` to the srcmd5 submitted (the request keeps those sources, whatever
    comes later).  Actions: ``submit``, and ``delete`` (of a target package) where ``pin`` takes it."""
    store = h.server.store
    root = h.parse_xml(h.read_body(), "request")
    actions = root.findall("action")
    if not actions:
        raise ApiError(400, "invalid_record", "a request needs at least one action")
    for action in actions:
        kind = action.get("type")
        if kind not in ("submit", "delete"):
            raise ApiError(400, "unsupported_action", f"action type {kind!r} is not supported here")
        source, target = action.find("source"), action.find("target")
        if target is None or (kind == "submit" and source is None):
            raise ApiError(400, "invalid_record", f"a {kind} action needs {'<source> and ' * (kind == 'submit')}"
                                                  "<target>")
        pin(h, source if kind == "submit" else None, target)
    now = shapes.iso(time.time())
    req: RequestRecord = {
        "id": store.new_request_id(),
        "creator": h.user,
        "created": now,
        "actions": [ET.tostring(a, encoding="unicode") for a in actions],
        "state": {"name": "new", "who": h.user, "when": now, "comment": ""},
        "description": (root.findtext("description") or "").strip(),
    }
    store.save_request(req)
    return 200, shapes.to_bytes(shapes.request(req)), XML


def _pin_local(h: Request, source: ET.Element | None, target: ET.Element) -> None:
    store = h.server.store
    if source is None:
        raise ApiError(400, "unsupported_action", "delete requests need `obs serve --backend`")
    sproject, spackage = source.get("project", ""), source.get("package", "")
    h.check_package(sproject, spackage)
    h.check_project(target.get("project", ""))
    if not target.get("package"):
        target.set("package", spackage)
    latest = store.latest(sproject, spackage)
    if latest is None:
        raise ApiError(400, "missing_action", f"{sproject}/{spackage} has no sources to submit")
    rev = source.get("rev")
    if not rev or rev == "latest":
        source.set("rev", latest.srcmd5)
    else:
        try:
            found = store.find_revision(sproject, spackage, rev)
        except KeyError:
            raise ApiError(400, "no_such_revision", f"no such revision: {rev}") from None
        if found is not None:
            source.set("rev", found.srcmd5)


def action_fields(req: RequestRecord) -> list[dict[str, str]]:
    found = []
    for raw in req["actions"]:
        action = ET.fromstring(raw)
        source, target = action.find("source"), action.find("target")
        found.append({
            "type": action.get("type", "submit"),
            "sproject": source.get("project", "") if source is not None else "",
            "spackage": source.get("package", "") if source is not None else "",
            "srev": source.get("rev", "") if source is not None else "",
            "tproject": target.get("project", "") if target is not None else "",
            "tpackage": target.get("package", "") if target is not None else "",
        })
    return found


def search(h: Request, query: dict[str, str]) -> Answer:
    """``/search/request?match=XPATH`` for the XPath forms osc writes.

    Supported: alternatives of ``state/@name='X'`` and conditions
    ``source/@project``, ``source/@package``, ``target/@project``,
    ``target/@package`` and ``action/@type`` compared with ``=``; they are
    combined with *and*.  Anything else in the expression is ignored.
    """
    xpath = query.get("match", "")
    states = re.findall(r"state/@name\s*=\s*'([^']*)'", xpath)
    conditions = {key: value for key, value in re.findall(r"((?:source|target)/@(?:project|package))\s*=\s*'([^']*)'",
                                                            xpath)}
    fields_of = {"source/@project": "sproject", "source/@package": "spackage",
                 "target/@project": "tproject", "target/@package": "tpackage"}

    def keep(req: RequestRecord) -> bool:
        if states and req["state"]["name"] not in states:
            return False
        return any(all(f[fields_of[k]] == v for k, v in conditions.items()) for f in action_fields(req))

    return _render_collection([r for r in h.server.store.requests() if keep(r)])


def _render_collection(found: list[RequestRecord]) -> Answer:
    root = ET.Element("collection", matches=str(len(found)))
    for req in found:
        root.append(shapes.request(req))
    return 200, shapes.to_bytes(root), XML


def collection(h: Request, query: dict[str, str]) -> Answer:
    store = h.server.store
    states = [s for s in (query.get("states") or "").split(",") if s]
    project, package = query.get("project"), query.get("package")
    user = query.get("user")
    ids = {i for i in (query.get("ids") or "").split(",") if i}
    roles = [r for r in (query.get("roles") or "").split(",") if r]
    found = []
    for req in store.requests():
        if states and req["state"]["name"] not in states:
            continue
        if ids and str(req["id"]) not in ids:
            continue
        if user and req["creator"] != user:
            continue
        fields = action_fields(req)
        if project:
            sides = []
            for f in fields:
                if not roles or "source" in roles:
                    sides.append((f["sproject"], f["spackage"]))
                if not roles or "target" in roles:
                    sides.append((f["tproject"], f["tpackage"]))
            if not any(p == project and (not package or k == package) for p, k in sides):
                continue
        found.append(req)
    return _render_collection(found)


def new_state(req: RequestRecord, query: dict[str, str], *, reopen: bool = False) -> str:
    """The state ``changestate`` asks for, if the request may move to it.

    An open request (new, review) may be accepted, declined, revoked or
    superseded; with ``reopen``, a declined one may also become new again or
    be superseded, as on OBS.
    """
    new = query.get("newstate", "")
    if new not in STATES:
        raise ApiError(400, "invalid_state", f"unknown state {new!r}")
    current = req["state"]["name"]
    if current in ("new", "review") and new != current:
        return new
    if reopen and current == "declined" and new in ("new", "superseded", "revoked"):
        return new
    raise ApiError(403, "post_request_no_permission", f"request {req['id']} is {current}: it cannot become {new}")


def record_state(h: Request, req: RequestRecord, new: str, query: dict[str, str]) -> Answer:
    """Store the request's new state (who, when, the comment, what superseded it)."""
    req["state"] = {"name": new, "who": h.user, "when": shapes.iso(time.time()),
                    "comment": query.get("comment", "")}
    if new == "superseded" and query.get("superseded_by"):
        req["state"]["superseded_by"] = query["superseded_by"]
    h.server.store.save_request(req)
    return 200, shapes.status(), XML


def _changestate(h: Request, req: RequestRecord, query: dict[str, str]) -> Answer:
    store = h.server.store
    new = new_state(req, query)
    if new == "accepted":
        for f in action_fields(req):
            found = store.find_revision(f["sproject"], f["spackage"], f["srev"])
            if not store.package_exists(f["tproject"], f["tpackage"]):
                meta = ET.fromstring(store.package_meta(f["sproject"], f["spackage"]))
                meta.set("name", f["tpackage"])
                meta.attrib.pop("project", None)
                store.set_package_meta(f["tproject"], f["tpackage"], shapes.to_bytes(meta))
            store.commit(f["tproject"], f["tpackage"], found.files if found else {}, h.user,
                         req.get("description", ""), requestid=str(req["id"]))
            h.server.package_changed(f["tproject"], f["tpackage"])
    return record_state(h, req, new, query)


LOCAL = Sources(_pin_local, _diff_local, _changestate)
