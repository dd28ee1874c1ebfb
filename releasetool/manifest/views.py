"""The manifest as plain data for the CLI (``list --json``, ``show --json``)."""

from __future__ import annotations

from releasetool.manifest.model import Component
from releasetool.manifest.schema import COMPONENT

# ---------------------------------------------------------------------------
# Views for the CLI
# ---------------------------------------------------------------------------

def component_summary(comp: Component) -> dict[str, object]:
    return {
        "name": comp.name,
        "status": comp.status,
        "version": comp.version,
        "released": comp.released.isoformat(),
        "tag": comp.tag_for(comp.version),
        "summary": comp.summary,
        "license": comp.license,
        "depends": list(comp.depends),
    }

def component_details(comp: Component) -> dict[str, object]:
    from dataclasses import asdict

    data = asdict(comp)
    data["released"] = comp.released.isoformat()
    data["tag"] = comp.tag_for(comp.version)
    data["tarball_url"] = comp.tarball_url()
    data.pop("line", None)
    return data

def all_fields() -> list[str]:
    """Every key the schema knows, for documentation checks."""
    return list(COMPONENT)
