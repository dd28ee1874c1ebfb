"""OBS's ``srcmd5``: the identity of a package revision's file list, on both sides of the API.

The backend hashes the lines ``MD5  NAME`` (two spaces, a newline after each),
sorted by file name; an empty package has the MD5 of no bytes.  The client
compares it with the server's answer to tell whether a commit already landed;
the local service computes it for every revision it stores.
"""

from __future__ import annotations

import hashlib

EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def srcmd5_of(files: dict[str, str]) -> str:
    """The srcmd5 of a revision whose files are ``{name: md5}``."""
    if not files:
        return EMPTY_MD5
    text = "".join(f"{md5}  {name}\n" for name, md5 in sorted(files.items()))
    return hashlib.md5(text.encode("utf-8")).hexdigest()
