"""Version schemes (placeholder: replaced by the full implementation)."""

from __future__ import annotations

from releasetool.errors import VersionError

SCHEMES = ("rpm", "debian", "pep440", "semver")


def parse(scheme: str, text: str) -> str:
    if not text or any(c.isspace() for c in text):
        raise VersionError(f"{text!r} is not a {scheme} version")
    return text
