"""What a route of the local service sees of the request and the service: one interface, no import cycle.

The HTTP handler (:class:`releasetool.obs.service.server.Handler`) satisfies
:class:`Request`; the route modules (``source_routes``, ``build_routes``,
``request_routes``) are written against it and never import the server.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from email.message import Message

    from releasetool.obs.service.builder import Builder
    from releasetool.obs.service.frontend_routes import Backend
    from releasetool.obs.service.host_rpm import HostRpmBuilder
    from releasetool.obs.service.store import Store

XML = "application/xml; charset=utf-8"
# What a route answers: HTTP status, body, Content-Type.
Answer = tuple[int, bytes, str]


class Service(Protocol):
    """The service behind every request: its state on disk, its builder (None when builds are off)
    and the OBS backend it fronts (None when it keeps sources and builds itself)."""

    store: Store
    builder: Builder | None
    backend: Backend | None
    # rpm targets built on this host when fronting a backend (None otherwise)
    host_rpm: HostRpmBuilder | None

    def package_changed(self, project: str, package: str) -> None: ...


class Request(Protocol):
    """One authenticated request being answered."""

    user: str
    dirty: bool
    headers: Message
    multi: dict[str, list[str]]  # every value of each query parameter

    @property
    def server(self) -> Service: ...

    def read_body(self) -> bytes: ...

    def check_project(self, project: str) -> None: ...

    def check_package(self, project: str, package: str) -> None: ...

    def check_file_name(self, name: str) -> None: ...

    def parse_xml(self, data: bytes, tag: str) -> ET.Element: ...
