"""components.yaml: reading, validation, typed components and round-trip edits.

This is the one place that reads the manifest.  :func:`load` parses it with
ruamel.yaml (which keeps line and column of every node), checks everything
against the schema (:mod:`.schema`), reports *all* problems at once as
``FILE:LINE:COL: field.path: what is wrong (what is allowed)``
(:mod:`.validate`), and returns a :class:`Manifest` of frozen dataclasses
(:mod:`.model`) with components in dependency order (:mod:`.load`).

:func:`set_release` changes one component's ``version`` and ``released`` by
editing the scalar tokens in the file's text, so that every other byte
(comments, order, quoting, blank lines) stays as it was (:mod:`.edit`).

The schema is documented in ``docs/manifest.md``.
"""

from releasetool.manifest.edit import set_release
from releasetool.manifest.load import cache_dir, load, read_raw
from releasetool.manifest.model import (
    Component,
    Distribution,
    Manifest,
    Packaging,
    PerFamily,
    SplitPath,
    SplitSource,
    Subpackage,
    Target,
    VersionedPackaging,
)
from releasetool.manifest.schema import NAME_RE, SCHEMA_VERSION
from releasetool.manifest.views import all_fields, component_details, component_summary

__all__ = [
    "NAME_RE",
    "SCHEMA_VERSION",
    "Component",
    "Distribution",
    "Manifest",
    "Packaging",
    "PerFamily",
    "SplitPath",
    "SplitSource",
    "Subpackage",
    "Target",
    "VersionedPackaging",
    "all_fields",
    "cache_dir",
    "component_details",
    "component_summary",
    "load",
    "read_raw",
    "set_release",
]
