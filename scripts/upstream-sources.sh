#!/usr/bin/env bash
# Downloads the upstream tarballs Debian 12 ships (its source packages carry
# them as NAME_VERSION.orig.tar.*) and installs what building those releases
# needs.  Used by bench/parity.py, which re-cuts the same releases and compares.
#
#   scripts/upstream-sources.sh [DIR [NAME...]]
#
# DIR defaults to .releasetool-cache/upstream-src; NAME to the six source
# packages below.  `make test` runs it for libqb, whose real release the tests
# build in both formats.
#
# Adds a deb-src entry for bookworm main on the machine's own Debian mirror
# (the URI of apt's existing entry) when there is none.  Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-.releasetool-cache/upstream-src}
shift || true
PACKAGES=(libqb kronosnet corosync pacemaker crmsh cluster-glue)
[ $# -eq 0 ] || PACKAGES=("$@")

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! grep -rqs '^deb-src .* bookworm main\|^Types:.*deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # Copy apt's own bookworm main entry (one-line style or deb822), keyring
  # included: apt refuses two entries for one mirror with different Signed-By.
  line=$( (grep -hs '^deb \(\[[^]]*\] \)\?\S* bookworm main' /etc/apt/sources.list /etc/apt/sources.list.d/*.list || true) | head -1)
  if [ -n "$line" ]; then
    echo "upstream-sources: adding ${line/#deb /deb-src }" >&2
    echo "${line/#deb /deb-src }" | $SUDO tee /etc/apt/sources.list.d/releasetool-bookworm-src.list >/dev/null
  else
    stanza=$(awk -v RS= '/(^|\n)Types:[^\n]*deb/ && /Suites:[^\n]*bookworm( |$|\n)/ && /Components:[^\n]*main/ {print; exit}' \
      /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    uri=$(printf '%s\n' "$stanza" | awk '/^URIs:/ {print $2; exit}')
    keyring=$(printf '%s\n' "$stanza" | awk '/^Signed-By:/ {print $2; exit}')
    [ -n "$uri" ] || { echo "upstream-sources: no Debian bookworm mirror in apt's sources" >&2; exit 2; }
    echo "upstream-sources: adding deb-src $uri bookworm main" >&2
    { echo "Types: deb-src"; echo "URIs: $uri"; echo "Suites: bookworm"; echo "Components: main"
      [ -z "$keyring" ] || echo "Signed-By: $keyring"; } | $SUDO tee /etc/apt/sources.list.d/releasetool-bookworm-src.sources >/dev/null
  fi
  $SUDO apt-get update -qq
fi
mkdir -p "$DIR"
for pkg in "${PACKAGES[@]}"; do
  if ! ls "$DIR/${pkg}"_*.orig.tar.* >/dev/null 2>&1; then
    # the mirror may lack a source package's other files (signatures, debian.tar): only the orig counts
    (cd "$DIR" && apt-get source -qq --download-only "$pkg" 2>&1 | grep -v '^W: ' || true)
    ls "$DIR/${pkg}"_*.orig.tar.* >/dev/null 2>&1 || { echo "upstream-sources: no upstream tarball of $pkg" >&2; exit 1; }
  fi
done
# configure must run for `make dist`, and the packages are built: the build
# dependencies of the components asked for that Debian knows how to build.
build_deps=()
for pkg in "${PACKAGES[@]}"; do
  case "$pkg" in libqb|kronosnet|corosync) build_deps+=("$pkg") ;; esac
done
if [ ${#build_deps[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 build-dep -y -qq "${build_deps[@]}" >/dev/null
fi
for pkg in "${PACKAGES[@]}"; do ls "$DIR/${pkg}"_*.orig.tar.*; done
