"""The users of the local OBS frontend, read from a file, and how a password is checked.

The file named by ``releasetool obs serve --users-file FILE`` has one user a
line, ``NAME:SECRET``, where SECRET is either the password itself or the
hashed form ``pbkdf2-sha256$ITERATIONS$SALT$HASH`` (salt and hash in hex)
that ``releasetool obs hash-password`` prints.  Blank lines and lines starting
with ``#`` are ignored.  Passwords never travel on a command line, where any
user of the machine can read them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from releasetool.errors import ReleasetoolError

HASH_SCHEME = "pbkdf2-sha256"
HASH_ITERATIONS = 200_000
# OBS logins: letters, digits and a few punctuation marks, no colon (the separator).
LOGIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")


@dataclass(frozen=True)
class User:
    name: str
    secret: str  # the password, or its pbkdf2-sha256 hash

    def check(self, password: str) -> bool:
        """Whether ``password`` is this user's, in time that does not depend on where they differ."""
        if self.secret.startswith(HASH_SCHEME + "$"):
            _, iterations, salt, expected = self.secret.split("$")
            got = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations)).hex()
            return hmac.compare_digest(got, expected)
        return hmac.compare_digest(self.secret.encode(), password.encode())

    @property
    def fingerprint(self) -> str:
        """Changes whenever the secret changes: a session made under an old password is not valid."""
        return hashlib.sha256(f"{self.name}:{self.secret}".encode()).hexdigest()[:32]


def hash_password(password: str, *, iterations: int = HASH_ITERATIONS) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations).hex()
    return f"{HASH_SCHEME}${iterations}${salt.hex()}${digest}"


def _valid_hash(secret: str) -> bool:
    return bool(re.fullmatch(HASH_SCHEME + r"\$[1-9][0-9]{0,7}\$[0-9a-f]{8,128}\$[0-9a-f]{64}", secret))


def load_users(path: str | os.PathLike[str]) -> dict[str, User]:
    """The users of ``path``; a ReleasetoolError naming the file and line for anything wrong."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReleasetoolError(f"{file}: no such users file",
                               hint="write one NAME:PASSWORD line per user, e.g. `Admin:...`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReleasetoolError(f"{file}: cannot read the users file ({exc})") from None
    users: dict[str, User] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, secret = line.partition(":")
        where = f"{file}:{number}"
        if not sep or not secret:
            raise ReleasetoolError(f"{where}: a user line is NAME:PASSWORD (this one has no ':' or no password)",
                                   hint="one user a line; the hashed form comes from `releasetool obs hash-password`")
        if not LOGIN_RE.match(name):
            raise ReleasetoolError(f"{where}: {name!r} is not a valid login (letters, digits, '_.@+-')")
        if secret.startswith(HASH_SCHEME + "$") and not _valid_hash(secret):
            raise ReleasetoolError(f"{where}: the {HASH_SCHEME} hash of {name} is malformed",
                                   hint="make it again with `releasetool obs hash-password`")
        if name in users:
            raise ReleasetoolError(f"{where}: user {name} is listed twice")
        users[name] = User(name, secret)
    if not users:
        raise ReleasetoolError(f"{file}: the users file lists no user", hint="add a NAME:PASSWORD line")
    return users
