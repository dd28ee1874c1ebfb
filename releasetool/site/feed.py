"""``releases.atom``: an Atom feed (RFC 4287) of the newest releases of every component.

Built with ElementTree, which escapes every string it is given, so tag names
or versions from upstream cannot break out of their element.
"""

from __future__ import annotations

import heapq
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from releasetool.site.view import ComponentView, ReleaseView, SiteView

ATOM = "http://www.w3.org/2005/Atom"
MAX_ENTRIES = 100


def atom(view: SiteView) -> str:
    ET.register_namespace("", ATOM)
    root_url = view.site_url.rstrip("/") + "/" if view.site_url else ""
    host = urlsplit(view.site_url).hostname or "localhost"
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "title", f"{view.title}: releases")
    _text(feed, "id", f"tag:{host},2008:releases")
    entries = _entries(view)
    _text(feed, "updated", _stamp(entries[0][1].date) if entries else view.generated_at)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=f"{root_url}releases.atom")
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=root_url or "index.html")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", view.title)
    for comp, release in entries:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        kind = "pre-release" if release.prerelease else "release"
        _text(entry, "title", f"{comp.name} {release.version}" + (" (pre-release)" if release.prerelease else ""))
        _text(entry, "id", f"tag:{host},2008:releases/{comp.name}/{release.version}")
        _text(entry, "updated", _stamp(release.date))
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html",
                      href=f"{root_url}c/{comp.name}.html")
        if release.links.tarball:
            ET.SubElement(entry, f"{{{ATOM}}}link", rel="enclosure", href=release.links.tarball)
        _text(entry, "summary", f"{comp.name} {release.version}: {kind} of {comp.summary}")
    return ET.tostring(feed, encoding="unicode", xml_declaration=True) + "\n"


def _entries(view: SiteView) -> list[tuple[ComponentView, ReleaseView]]:
    dated = ((c, r) for c in view.components for r in c.history if r.date)
    # the same as sorting all of them and keeping the first MAX_ENTRIES (ties keep their order)
    return heapq.nlargest(MAX_ENTRIES, dated, key=lambda pair: (pair[1].date or "", pair[0].name, pair[1].version))


def _stamp(date: str | None) -> str:
    return f"{date}T00:00:00Z" if date and len(date) == 10 else (date or "1970-01-01T00:00:00Z")


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    child = ET.SubElement(parent, f"{{{ATOM}}}{tag}")
    child.text = text
    return child
