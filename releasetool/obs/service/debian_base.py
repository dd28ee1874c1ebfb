"""A Debian 12 base project for the OBS backend, made from packages apt downloads.

On build.opensuse.org a Debian target builds against ``Debian:12/standard``,
a project holding Debian's binary packages and a project config (``prjconf``)
that tells the scheduler and the build script how Debian is set up.  Here the
packages come from this machine's apt sources (Debian 12), downloaded into a
cache with an empty dpkg status, so that apt resolves the whole closure as for
an empty root, and nothing on the machine is installed or changed:

- the *preinstall* set: every ``Essential: yes`` and ``Priority: required``
  package and its closure without recommends.  ``init-system-helpers``
  depends on ``usrmerge | usr-is-merged``: apt is given ``usr-is-merged`` so
  that it does not pull usrmerge and perl, and neither is imported: the build
  root obs-build 20210120 makes has no merged ``/usr`` (usr-is-merged's
  preinst refuses it, usrmerge would convert it), and the prjconf's
  ``Ignore`` drops that dependency;
- the *build* set: ``build-essential`` and the tools every Debian build runs
  (``debhelper``, ``fakeroot``, ``dpkg-dev``, ...), and the build dependencies
  the caller adds, with their closure.

The prjconf is written for bookworm: the ``bookworm.conf`` obs-build 20210120
ships is a link to its Debian unstable config, which names packages bookworm
does not have (``libgcc1``, ``libmpfr4``, ...).  The packages are imported with
one ``PUT /build/PRJ/REPO/ARCH/_repository/FILE`` per file on the repository
server (OBS 2.9.4 refuses them as one cpio archive).
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from releasetool.errors import ObsError
from releasetool.fsutil import atomic_write
from releasetool.log import log

PROJECT = "Debian:12"
REPOSITORY = "standard"
# What every Debian build needs besides the preinstalled system.
BUILD_PACKAGES = ("build-essential", "apt", "mount", "fakeroot", "dpkg-dev", "ncurses-base", "hostname",
                  "debhelper", "libnss-myhostname")
# Given to apt for init-system-helpers' "usrmerge | usr-is-merged", never imported.
MERGED_USR = "usr-is-merged"

PROJECT_META = f"""\
<project name="{PROJECT}">
  <title>Debian 12 (bookworm)</title>
  <description>Debian 12 binary packages downloaded with apt-get, as the base of Debian builds.</description>
  <build><disable/></build>
  <publish><disable/></publish>
  <repository name="{REPOSITORY}">
    <arch>{{arch}}</arch>
  </repository>
</project>
"""


def prjconf(preinstall: list[str]) -> str:
    """The project config of the base: how OBS builds for Debian 12 (bookworm)."""
    return f"""\
# Debian 12 (bookworm), written by releasetool.
Repotype: debian
Type: dsc
# dpkg must see base-passwd's users before base-files is unpacked.
Order: base-passwd:base-files
# The Essential and Priority: required packages with their closure, as
# debootstrap installs them (without usrmerge).
Preinstall: {" ".join(sorted(preinstall))}
Required: build-essential apt mount fakeroot dpkg-dev ncurses-base hostname
Support: libnss-myhostname
# init-system-helpers depends on usrmerge | usr-is-merged; neither fits the
# build root obs-build makes (no merged /usr), and neither is in the base.
Ignore: init-system-helpers:usrmerge
Prefer: mawk
"""


@dataclass
class BasePackages:
    """The downloaded .deb files of the base and the names of the preinstall set."""

    debs: list[Path]
    preinstall: list[str]


def essential_and_required() -> list[str]:
    """Names of the Essential and Priority: required packages in the machine's apt sources."""
    dump = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, check=True).stdout.decode("utf-8",
                                                                                                      "replace")
    names = set()
    for stanza in dump.split("\n\n"):
        fields = {}
        for line in stanza.splitlines():
            if line and not line[0].isspace() and ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields.get("Essential") == "yes" or fields.get("Priority") == "required":
            names.add(fields["Package"])
    if not names:
        raise ObsError("apt knows no Essential or required package: are the package lists there?",
                       hint="run `apt-get update`")
    return sorted(names)


def _download(names: list[str], archives: Path) -> set[str]:
    """Download ``names`` and their closure (no recommends) into ``archives``; the names of the files there."""
    (archives / "partial").mkdir(parents=True, exist_ok=True)
    status = archives.parent / "empty-dpkg-status"
    if not status.exists():
        status.write_text("")
    argv = ["apt-get", "-q", "-y", "--no-install-recommends", "--download-only",
            # An empty dpkg status: apt resolves as for an empty root and
            # downloads the whole closure; nothing is installed.
            "-o", f"Dir::State::status={status}", "-o", f"Dir::Cache::archives={archives}",
            "-o", "Debug::NoLocking=1", "-o", "APT::Get::AllowUnauthenticated=false", "install", *names]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise ObsError(f"apt-get could not download the Debian 12 base: {tail}",
                       hint="check the apt sources and run `apt-get update`")
    return {p.name for p in archives.glob("*.deb")}


def download(cache: Path, extra: list[str] | tuple[str, ...] = ()) -> BasePackages:
    """The base packages in ``cache`` (downloaded when missing; apt skips files already there)."""
    cache = cache.absolute()
    pre_dir, full_dir = cache / "preinstall", cache / "archives"
    required = essential_and_required()
    pre_files = _download([n for n in required if n != "usrmerge"] + [MERGED_USR], pre_dir)
    preinstall = sorted({name.split("_")[0] for name in pre_files} - {MERGED_USR})
    _download([n for n in required if n != "usrmerge"] + [MERGED_USR, *BUILD_PACKAGES, *extra], full_dir)
    debs = sorted(p for p in full_dir.glob("*.deb") if p.name.split("_")[0] != MERGED_USR)
    atomic_write(cache / "preinstall.txt", "\n".join(preinstall) + "\n")
    return BasePackages(debs, preinstall)


def _relation_names(field: str) -> list[list[str]]:
    """The package names of a Debian relation field, one list of alternatives per relation.

    Versions ``(>= 1)``, architecture lists ``[amd64]``, build profiles
    ``<!nocheck>`` and ``:any`` qualifiers are dropped: apt resolves the
    closure of the names, and the scheduler checks the versions at build time.
    """
    relations = []
    for relation in field.split(","):
        names = []
        for alternative in relation.split("|"):
            bare = re.sub(r"\([^)]*\)|\[[^]]*\]|<[^>]*>", " ", alternative).split()
            if bare:
                names.append(bare[0].split(":", 1)[0])
        if names:
            relations.append(names)
    return relations


def manifest_build_dependencies(loaded: Any) -> list[str]:
    """The Debian packages the Debian builds of the manifest's active components need from the base.

    Read from the rendered ``debian/control`` of each component with a target on this base (its
    ``build_requires.deb`` and what the packaging adds: ``debhelper-compat``,
    ``dh-sequence-*``): every ``Build-Depends``, ``-Arch`` and ``-Indep``
    relation that no binary package of the manifest satisfies, the first of
    its alternatives (as apt and the build tools pick).  A relation on a
    package of the manifest is left to the project, where the component
    builds it: importing Debian's own would let a build use it instead; the
    run-time dependencies (``Pre-Depends``, ``Depends``) of such a package
    are needed in the base as well, the scheduler installs them with it.
    """
    from releasetool.obs.client import control_paragraphs
    from releasetool.render.packaging import render_component

    # the components built against this base: those with a target on it (pcs 0.12 needs a
    # newer Python than Debian 12 has and leaves Debian_12 out; its build dependencies
    # are Debian 13's names, which this base cannot have)
    active = [c for c in loaded.components.values()
              if c.active and any(t.project == PROJECT and t.repository == REPOSITORY for t in loaded.targets_of(c))]
    controls = {}
    for comp in active:
        rendered = render_component(loaded, comp)
        if "debian/control" in rendered:
            controls[comp.name] = control_paragraphs(rendered["debian/control"].decode("utf-8"))
    binaries = {p["package"]: p for paragraphs in controls.values() for p in paragraphs[1:] if "package" in p}
    needed: set[str] = set()
    # the manifest's own packages a build installs, whose run-time dependencies come from the base too
    installed: list[str] = []

    def require(field: str) -> None:
        for alternatives in _relation_names(field):
            own = [name for name in alternatives if name in binaries]
            if own:
                installed.extend(own[:1])
            elif not alternatives[0].startswith("${"):
                needed.add(alternatives[0])

    for paragraphs in controls.values():
        source = paragraphs[0] if paragraphs else {}
        for key in ("build-depends", "build-depends-arch", "build-depends-indep"):
            require(source.get(key, ""))
    seen: set[str] = set()
    while installed:
        name = installed.pop()
        if name not in seen:
            seen.add(name)
            for key in ("pre-depends", "depends"):
                require(binaries[name].get(key, ""))
    return sorted(needed)


# Debian policy 5.6.1: lower case letters, digits, + - . ; at least two, starting alphanumeric.
_DEBIAN_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")


def read_package_list(path: str) -> list[str]:
    """Debian package names from ``path``: one a line, blank lines and ``#`` comments ignored.

    Every line is checked before anything is downloaded; a bad one is an error
    naming the file and the line.
    """
    from releasetool.errors import UsageError
    from releasetool.fsutil import text_file_problem

    problem = text_file_problem(path)
    if problem is not None:
        raise UsageError(f"--base-packages {path}: {problem}", hint="give a text file of Debian package names")
    names = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        if not _DEBIAN_NAME.fullmatch(name):
            raise UsageError(f"--base-packages {path}:{number}: {name!r} is not a Debian package name",
                             hint="one name a line (lower case letters, digits, + - .), # starts a comment")
        names.append(name)
    return names


def _call(url: str, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=300)
    try:
        conn.request(method, path, body=body)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def import_base(srcserver: str, reposerver: str, packages: BasePackages, arch: str) -> int:
    """Make ``Debian:12`` with its prjconf and import the packages; the number of files imported.

    Files the repository already has (same name) are not sent again, so an
    interrupted import is finished by running it again.
    """
    user = "?user=Admin&comment=" + quote("Debian 12 base")
    for path, body in ((f"/source/{PROJECT}/_meta", PROJECT_META.format(arch=arch).encode()),
                       (f"/source/{PROJECT}/_config", prjconf(packages.preinstall).encode())):
        status, answer = _call(srcserver, "PUT", path + user, body)
        if status != 200:
            raise ObsError(f"OBS backend refused {path}: {answer.decode('utf-8', 'replace')[:200]}")
    listing_path = f"/build/{PROJECT}/{REPOSITORY}/{arch}/_repository?view=names"
    status, listing = _call(reposerver, "GET", listing_path)
    have = listing.decode("utf-8", "replace") if status == 200 else ""
    sent = 0
    for deb in packages.debs:
        name = deb.name.split("_")[0]
        if f'"{name}.deb"' in have or f'"{deb.name}"' in have:
            continue
        path = f"/build/{PROJECT}/{REPOSITORY}/{arch}/_repository/{quote(deb.name)}"
        status, answer = _call(reposerver, "PUT", path, deb.read_bytes())
        if status != 200:
            raise ObsError(f"OBS backend refused {deb.name}: {answer.decode('utf-8', 'replace')[:200]}")
        sent += 1
    log.info("obs backend: %s/%s has %d packages (%d sent now)", PROJECT, REPOSITORY, len(packages.debs), sent)
    return sent


def default_cache() -> Path:
    """Where the downloaded base lives: shared by every state directory of this user."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "releasetool" / "obs-debian-12"
