"""SVG badges: a component's latest stable version, and the version each distribution target has.

``c/NAME.svg`` reads "NAME | 2.0.8"; ``c/NAME-TARGET.svg`` reads
"Debian 12 | 2.0.8" coloured by the Repology-like status of that target's
package (green newest, red outdated, ...).  Plain SVG with a ``<title>`` (the
text a screen reader says), no scripts and no external fonts; widths are
worked out from the number of characters, as the badge's font is not known
on the reader's machine.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from releasetool.site.packaged import PackagedCell
from releasetool.site.view import ComponentView

# Background colours (white text on each has a contrast of 4.5:1 or better).
COLOURS = {"newest": "#1a7f37", "devel": "#0a5fb4", "legacy": "#8a5300", "outdated": "#b42318",
           "unknown": "#5c6370", "stable": "#1a7f37", "label": "#444d56"}
CHAR_WIDTH = 7  # px per character of 11 px Verdana/DejaVu Sans, rounded up
PADDING = 12


def svg(label: str, value: str, colour: str, title: str) -> str:
    left = len(label) * CHAR_WIDTH + PADDING
    right = len(value) * CHAR_WIDTH + PADDING
    width = left + right
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label={quoteattr(title)}>'
        f"<title>{escape(title)}</title>"
        f'<rect width="{left}" height="20" fill="{COLOURS["label"]}"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        f'<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle">'
        f'<text x="{left / 2:g}" y="14">{escape(label)}</text>'
        f'<text x="{left + right / 2:g}" y="14">{escape(value)}</text></g></svg>\n'
    )


def latest(comp: ComponentView) -> str:
    version = comp.stable.version if comp.stable else "none yet"
    colour = COLOURS["stable"] if comp.stable else COLOURS["unknown"]
    return svg(comp.name, version, colour, f"{comp.name}: latest stable release {version}")


def packaged(comp: ComponentView, cell: PackagedCell) -> str:
    version = cell.version or "not built"
    return svg(cell.label, version, COLOURS[cell.status],
               f"{comp.name} in {cell.label}: {version} ({cell.status_text})")


def target_file(comp: ComponentView, cell: PackagedCell) -> str:
    return f"c/{comp.name}-{cell.target}.svg"
