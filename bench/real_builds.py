#!/usr/bin/env python3
"""Real upstream releases built with the rendered packaging, compared with what the distributions ship.

For each component and tarball this runs ``releasetool build`` (rpmbuild and
dpkg-buildpackage, lint of the built packages) and compares:

* on deb, the files of our packages with those of Debian 12's binary packages
  of the same source (``apt-get download``; documentation directories aside):
  files Debian ships that ours lack, and files in two of our packages;
* on rpm, the ``%files`` of upstream's own spec (``NAME.spec.in`` in the
  tarball, its ``@VARIABLES@`` filled in, expanded by ``rpmspec -P``) with the
  files of our rpms: upstream's entries that match none of ours.

Usage::

    scripts/upstream-sources.sh                  # Debian 12's .orig tarballs and build dependencies
    bench/real_builds.py [NAME ...] [--origs DIR] [--json]
    bench/real_builds.py --clones DIR [NAME ...] # the manifest's versions, released from clones DIR/NAME

With ``--clones``, each component's tarball is the one ``releasetool release``
makes at the tag of the manifest's version, and Debian 12's packages (where
Debian has the source) are compared although their version may be older.

Takes minutes per component; prints one table.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from releasetool.build import BuildSettings, build_component  # noqa: E402

DEFAULT = ("libqb", "kronosnet", "corosync", "pacemaker", "crmsh", "cluster-glue")


def debian_files(source: str, work: Path) -> dict[str, set[str]]:
    """Files of Debian 12's binary packages built from ``source`` (dbgsym and doc directories aside)."""
    shown = subprocess.run(["apt-cache", "showsrc", source], capture_output=True, text=True, check=True).stdout
    binaries = [b.strip() for b in re.search(r"^Binary: (.*)$", shown, re.M).group(1).split(",")]  # type: ignore[union-attr]
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", "-q", *binaries], cwd=work, capture_output=True, check=False)
    found: dict[str, set[str]] = {}
    for deb in sorted(work.glob("*.deb")):
        package = deb.name.split("_", 1)[0]
        found[package] = _deb_files(deb)
    return found


def _deb_files(deb: Path) -> set[str]:
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    files = set()
    for line in listing.splitlines():
        if line.startswith("d"):
            continue
        path = line.split()[5].removeprefix(".")
        if path.startswith("/usr/share/doc/") or path.startswith("/usr/lib/debug/"):
            continue
        files.add(re.sub(r"\.gz$", "", path))
    return files


def upstream_spec_entries(tarball: Path, name: str, version: str) -> list[str]:
    """The path entries of the %files sections of upstream's own spec in the tarball, expanded."""
    with tarfile.open(tarball) as tar:
        # NAME.spec.in or NAME.spec; cluster-glue has one spec per family (the rpms follow Fedora's)
        # gfs2-utils keeps its spec (a test build's, installing what the distributions ship) in tests/,
        # pacemaker in rpm/
        candidates = sorted((m for m in tar.getmembers() if m.isfile() and (
                                (m.name.count("/") == 1
                                 and m.name.endswith((f"/{name}.spec.in", f"/{name}.spec", f"/{name}-fedora.spec")))
                                or (m.name.endswith((f"/tests/{name}.spec.in", f"/rpm/{name}.spec.in"))
                                    and m.name.count("/") == 2))),
                            key=lambda m: (m.name.count("/"), m.name.endswith("-fedora.spec")))
        if not candidates:
            return []
        text = tar.extractfile(candidates[0]).read().decode("utf-8", "replace")  # type: ignore[union-attr]
    text = text.replace("@version@", version).replace("@VERSION@", version)
    # pacemaker's rpm/Makefile.am fills its spec in with sed: the version, and the commit
    # (DIST: built from a release tarball; a tag would need bash's ${c:10} in %(...),
    # which rpm runs with /bin/sh)
    if re.search(r"^%global pcmkversion ", text, flags=re.M):
        text = re.sub(r"^(%global pcmkversion ).*$", lambda m: m.group(1) + version, text, flags=re.M)
        text = re.sub(r"^(%global commit ).*$", r"\1DIST", text, flags=re.M)
    # configure writes "bcond_with" or "bcond_without" for each feature (kronosnet's %@nss@ nss):
    # upstream's release builds have them all, as the packages here do
    text = re.sub(r"^%@\w+@ (\w+)", r"%bcond_without \1", text, flags=re.M)
    text = re.sub(r"^%bcond_@[\w-]+@ (\w+)", r"%bcond_without \1", text, flags=re.M)  # resource-agents' %bcond_@linux-ha@ linuxha
    text = re.sub(r"^@\w+@$", "", text, flags=re.M)  # corosync's @ALPHATAG@ lines: a %global or nothing
    text = re.sub(r"@\w+@", "1", text)  # digits too: fence-agents' @boto3_br@
    with tempfile.NamedTemporaryFile("w", suffix=".spec", delete=False) as handle:
        handle.write(text)
    # Debian's rpm keeps autoconf's old default /usr/com for %_sharedstatedir; the targets' rpm
    # (and the manifest's {localstatedir}/lib) have /var/lib (pcs's %ghost files of pcsd)
    # rpm_targets: the macros of the targets' rpm that Debian's lacks; the unit directory of
    # systemd-rpm-macros (pacemaker's spec ships its LSB scripts without it), and the Python
    # directory the rendered spec's own fallback finds with the system python3 (upstream's
    # fallback would ask whichever python3 comes first in PATH)
    sitelib = subprocess.run(["/usr/bin/python3", "-Ic", "import sysconfig as s; print(s.get_path('purelib', "
                              "'deb_system' if 'deb_system' in s.get_scheme_names() else s.get_default_scheme(), "
                              "{'base': '/usr'}))"], capture_output=True, text=True, check=True).stdout.strip()
    rpm_targets = ["--define", "_sharedstatedir %{_localstatedir}/lib", "--define", "_unitdir /usr/lib/systemd/system",
                   "--define", "__python3 /usr/bin/python3",
                   "--define", f"python3_sitelib {sitelib}"]
    parsed = subprocess.run(["rpmspec", "-P", *rpm_targets, handle.name], capture_output=True, text=True,
                            check=False).stdout
    if not parsed:  # resource-agents' spec stops in %prep unless it knows the distribution: read it as Fedora's
        parsed = subprocess.run(["rpmspec", "-P", *rpm_targets, "--define", "fedora 41", handle.name],
                                capture_output=True, text=True, check=False).stdout
    entries, in_files = [], False
    for line in parsed.splitlines():
        if line.startswith("%files"):
            in_files = True
            continue
        if line.startswith(("%defattr", "%exclude")):  # neither a file of the package nor the end of the list
            continue
        if line.startswith("%") and not line.startswith(("%dir", "%config", "%attr", "%ghost", "%verify")):
            in_files = line.startswith(("%doc", "%license")) and in_files
            if not line.startswith(("%doc", "%license")):
                in_files = False
            continue
        if in_files and line.strip() and not line.startswith("#"):
            path = re.sub(r"^(%\w+(\([^)]*\))?\s+)+", "", line.strip())
            if path.startswith("/"):
                entries.append(path)
    return entries


def rpm_files(rpms: list[Path]) -> set[str]:
    files: set[str] = set()
    for rpm in rpms:
        if rpm.name.endswith(".src.rpm"):
            continue
        listing = subprocess.run(["rpm", "-qlp", str(rpm)], capture_output=True, text=True, check=True).stdout
        files |= {line for line in listing.splitlines() if line.startswith("/")}
    return files


def covered(entry: str, files: set[str]) -> bool:
    """An upstream %files entry matched by one of our files (manual pages compressed or not)."""
    patterns = {entry.rstrip("/"), re.sub(r"\.gz$", "", entry.rstrip("/"))}
    return any(fnmatch.fnmatchcase(f, p) or fnmatch.fnmatchcase(f, p + "/*") or fnmatch.fnmatchcase(f, p + ".gz")
               for f in files for p in patterns)


def unshipped_patterns(name: str, version: str) -> tuple[list[str], list[str]]:
    """The manifest's justified omissions (at ``version``, of each format) as rpm paths and Debian paths."""
    from releasetool import manifest
    from releasetool.render import filters

    comp = manifest.load(ROOT / "components.yaml").get(name).at_version(version)
    multiarch = subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], capture_output=True, text=True,
                               check=True).stdout.strip()
    rpm = [subprocess.run(["rpm", "--eval", filters.rpm_path(p)], capture_output=True, text=True,
                          check=True).stdout.strip() for p, _ in comp.for_format("rpm").packaging.unshipped]
    deb = ["/" + filters.deb_path(p).replace("${DEB_HOST_MULTIARCH}", multiarch)
           for p, _ in comp.for_format("deb").packaging.unshipped]
    return rpm, deb


def run(name: str, tarball: Path, version: str, work: Path, out: Path) -> dict[str, object]:
    outcomes = {o.format: o for o in build_component(ROOT / "components.yaml", name,
                                                       BuildSettings(tarball=tarball, out=out,
                                                                     install_deps=True))}
    row: dict[str, object] = {"name": name, "version": version}
    for fmt, outcome in outcomes.items():
        row[f"{fmt}_built"] = not outcome.error
        row[f"{fmt}_lint_errors"] = len(outcome.lint_errors)
        row[f"{fmt}_lint_warnings"] = len(outcome.lint_warnings)
        row[f"{fmt}_seconds"] = round(outcome.seconds)
        row[f"{fmt}_error"] = outcome.error.splitlines()[-3:] if outcome.error else []
    deb_outcome = outcomes["deb"]
    ours = {p.path.name.split("_", 1)[0]: _deb_files(p.path) for p in deb_outcome.packages
            if "-dbgsym_" not in p.path.name}
    theirs = debian_files(name, work / "debian") if _debian_has(name) else {}
    all_ours = set().union(*ours.values()) if ours else set()
    justified_rpm, justified_deb = unshipped_patterns(name, version)
    missing = sorted(f for f in (set().union(*theirs.values()) - all_ours if theirs else set())
                     if not any(fnmatch.fnmatchcase(f, p) for p in justified_deb) and not _same_soname(f, all_ours))
    seen: dict[str, str] = {}
    twice = sorted({f for pkg, files in ours.items() for f in files if seen.setdefault(f, pkg) != pkg})
    row.update(debian_missing=missing, debian_packages=sorted(theirs), our_debs=sorted(ours), in_two_debs=twice)
    entries = upstream_spec_entries(tarball, name, version)
    rpms = [p.path for p in outcomes["rpm"].packages]
    files = rpm_files(rpms)
    row["upstream_spec_missing"] = [e for e in entries if not covered(e, files)
                                    and not _justified(e, justified_rpm)] if entries else None
    return row


def _same_soname(path: str, ours: set[str]) -> bool:
    """A library file of another release with the soname of one of ours.

    Debian's package of an older release has libqb.so.100.3.0 where the manifest's
    release installs libqb.so.100.4.0: the numbers after the soname are the
    release's own, the library is the same one (a new soname is still a difference)."""
    match = re.match(r"^(.*\.so\.\d+)\.[\d.]+$", path)
    return bool(match) and any(f.startswith(match.group(1) + ".") for f in ours if f != path)


def _justified(entry: str, patterns: list[str]) -> bool:
    """An upstream %files entry the manifest's ``unshipped`` names.

    A directory macro upstream's spec asks pkg-config for is empty where the tool's
    development files are not installed (kronosnet's %{wireshark_plugindir}, for the
    plugin the packages here do not build): the entry then starts below the directory
    it names, and it is justified by a pattern that ends with it."""
    if any(fnmatch.fnmatchcase(entry, p) for p in patterns):
        return True
    roots = ("/usr/", "/etc/", "/var/", "/lib", "/opt/", "/run/", "/bin/", "/sbin/", "/boot/", "/srv/")
    return not entry.startswith(roots) and any(fnmatch.fnmatchcase(p, "*" + entry) for p in patterns)


def _debian_has(source: str) -> bool:
    return bool(subprocess.run(["apt-cache", "showsrc", source], capture_output=True, text=True).stdout.strip())


def _sources(args: argparse.Namespace) -> list[tuple[str, Path, str]] | str:
    """(name, tarball, version) to build, or what is missing."""
    from releasetool import manifest
    from releasetool.build import tarball_from_clone, version_of_tarball

    loaded = manifest.load(ROOT / "components.yaml")
    if args.clones:
        names = args.names or [c.name for c in loaded.components.values() if c.active]
        found = []
        scratch = Path(tempfile.mkdtemp(prefix="real-build-tarballs-"))
        for name in names:
            comp = loaded.get(name)
            clone = args.clones / name
            if not (clone / ".git").exists() and not (clone / "HEAD").exists():
                return f"{name}: no clone {clone}"
            print(f"{name}: making the {comp.version} tarball from {clone} ...", file=sys.stderr, flush=True)
            fmt = comp.tarball_formats[0] if comp.tarball_formats else "gz"
            found.append((name, tarball_from_clone(comp, comp.version, clone, scratch, fmt), comp.version))
        return found
    found = []
    for name in args.names or DEFAULT:
        origs = sorted(args.origs.glob(f"{name}_*.orig.tar.*"))
        if not origs:
            return f"{name}: no .orig tarball in {args.origs} (run scripts/upstream-sources.sh)"
        found.append((name, origs[-1], version_of_tarball(name, origs[-1]) or ""))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"components (default: {', '.join(DEFAULT)})")
    parser.add_argument("--origs", type=Path, default=ROOT / ".releasetool-cache" / "upstream-src")
    parser.add_argument("--clones", type=Path, help="build the manifest's versions from the clones DIR/NAME")
    parser.add_argument("--out", type=Path, default=ROOT / ".releasetool-cache" / "real-builds",
                        help="where the packages and build logs stay (OUT/NAME/)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="list the missing files")
    args = parser.parse_args()
    sources = _sources(args)
    if isinstance(sources, str):
        print(f"error: {sources}", file=sys.stderr)
        return 2
    rows = []
    for name, tarball, version in sources:
        with tempfile.TemporaryDirectory(prefix=f"real-build-{name}-") as work:
            print(f"{name}: building {tarball.name} ...", file=sys.stderr, flush=True)
            rows.append(run(name, tarball, version, Path(work), args.out))
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
        return 0
    print(f"{'component':13} {'version':8} {'rpm':6} {'deb':6} {'!spec':>5} {'!debian':>7} {'twice':>5} "
          f"{'rpmlint E/W':>11} {'lintian E/W':>11} {'time':>6}")
    for r in rows:
        spec_missing = r["upstream_spec_missing"]
        print(f"{r['name']:13} {r['version']:8} {'ok' if r['rpm_built'] else 'FAIL':6} "
              f"{'ok' if r['deb_built'] else 'FAIL':6} {'-' if spec_missing is None else len(spec_missing):>5} "  # type: ignore[arg-type]
              f"{len(r['debian_missing']):>7} {len(r['in_two_debs']):>5} "  # type: ignore[arg-type]
              f"{r['rpm_lint_errors']:>5}/{r['rpm_lint_warnings']:<5} {r['deb_lint_errors']:>5}/{r['deb_lint_warnings']:<5} "
              f"{r['rpm_seconds'] + r['deb_seconds']:>5}s")  # type: ignore[operator]
        if args.verbose:
            for key in ("rpm_error", "deb_error", "upstream_spec_missing", "debian_missing", "in_two_debs"):
                for item in r.get(key) or []:  # type: ignore[union-attr]
                    print(f"    {key}: {item}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
