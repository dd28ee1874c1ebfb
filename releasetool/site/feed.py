"""Atom feeds (RFC 4287): ``releases.atom`` of every component, ``c/NAME.atom`` of one.

The XML is written out directly (a feed per component makes ElementTree's
serializer the larger part of a big site's build), every string escaped by
``_esc`` as ElementTree would: ``&``, ``<``, ``>`` and, in attributes, ``"``;
the view has already replaced the characters XML does not allow.  Links are
absolute when the manifest gives the site's URL (``distribution.site_url``),
as feed readers resolve them against the feed's own address otherwise; a feed
without it has no ``rel="self"`` link rather than a relative one.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from releasetool.site.view import ComponentView, ReleaseView, SiteView

ATOM = "http://www.w3.org/2005/Atom"
MAX_ENTRIES = 100
_SPECIAL = re.compile('[&<>"]')
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def _esc(text: str) -> str:
    return _SPECIAL.sub(lambda m: _ESCAPES[m.group(0)], text) if _SPECIAL.search(text) else text


def atom(view: SiteView) -> str:
    """The feed of the newest releases of every component (``releases.atom``)."""
    dated = ((c, r) for c in view.components for r in c.history if r.date)
    return _feed(view, title=f"{view.title}: releases", key="releases", path="releases.atom",
                 page="" if view.root_url else "index.html", entries=_newest(dated))


def component_atom(view: SiteView, comp: ComponentView) -> str:
    """The feed of one component's releases (``c/NAME.atom``)."""
    return _feed(view, title=f"{comp.name} releases · {view.title}", key=f"releases/{comp.name}",
                 path=f"c/{comp.name}.atom", page=f"c/{comp.name}.html",
                 entries=_newest((comp, r) for r in comp.history if r.date))


def _newest(dated: Iterable[tuple[ComponentView, ReleaseView]]) -> list[tuple[ComponentView, ReleaseView]]:
    # the same as sorting all of them and keeping the first MAX_ENTRIES (ties keep their order)
    return heapq.nlargest(MAX_ENTRIES, dated, key=lambda pair: (pair[1].date or "", pair[0].name, pair[1].version))


def _feed(view: SiteView, *, title: str, key: str, path: str, page: str,
          entries: list[tuple[ComponentView, ReleaseView]]) -> str:
    root_url = view.root_url
    # relative links resolve against the feed's own directory when there is no site URL
    here = root_url or "../" * path.count("/")
    host = _esc(urlsplit(view.site_url).hostname or "localhost")
    updated = _stamp(entries[0][1].date) if entries else view.generated_at
    out = ["<?xml version='1.0' encoding='utf-8'?>\n", f'<feed xmlns="{ATOM}">',
           f"<title>{_esc(title)}</title>", f"<id>tag:{host},2008:{_esc(key)}</id>", f"<updated>{_esc(updated)}</updated>"]
    if root_url:
        out.append(f'<link rel="self" type="application/atom+xml" href="{_esc(root_url + path)}" />')
    out.append(f'<link rel="alternate" type="text/html" href="{_esc(here + page)}" />')
    out.append(f"<author><name>{_esc(view.title)}</name></author>")
    for comp, release in entries:
        name, version = _esc(comp.name), _esc(release.version)
        pre = " (pre-release)" if release.prerelease else ""
        out.append(f"<entry><title>{name} {version}{pre}</title>"
                   f"<id>tag:{host},2008:releases/{name}/{version}</id>"
                   f"<updated>{_esc(_stamp(release.date))}</updated>"
                   f'<link rel="alternate" type="text/html" href="{_esc(here)}c/{name}.html" />')
        tarball = release.links.tarball
        if tarball:
            href = tarball if "://" in tarball else here + tarball
            length = f' length="{release.size}"' if release.size is not None else ""
            out.append(f'<link rel="enclosure" type="{release.tarball_type}" href="{_esc(href)}"{length} />')
        summary = f"{comp.name} {release.version}: {'pre-release' if release.prerelease else 'release'} of {comp.summary}"
        if release.sha256:
            summary += f". SHA-256 of the tarball: {release.sha256}"
        if release.commit:
            summary += f". Tag {release.tag} is commit {release.commit}"
        if release.sha256 or release.commit:
            summary += "."
        out.append(f"<summary>{_esc(summary)}</summary></entry>")
    out.append("</feed>\n")
    return "".join(out)


def _stamp(date: str | None) -> str:
    return f"{date}T00:00:00Z" if date and len(date) == 10 else (date or "1970-01-01T00:00:00Z")
