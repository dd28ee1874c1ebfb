#!/usr/bin/env bash
# Downloads the upstream tarballs Debian 12 ships (its source packages carry
# them as NAME_VERSION.orig.tar.*) and installs what building those releases
# needs.  Used by bench/parity.py, which re-cuts the same releases and compares.
#
#   scripts/upstream-sources.sh [DIR]     (default: .releasetool-cache/upstream-src)
#
# Adds a deb-src entry for bookworm main on the machine's own Debian mirror
# (the URI of apt's existing entry) when there is none.  Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-.releasetool-cache/upstream-src}
PACKAGES=(libqb kronosnet corosync pacemaker crmsh cluster-glue)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! grep -rqs '^deb-src .* bookworm main\|^Types:.*deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  uri=$(grep -rhs '^deb \S* bookworm main' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' | head -1)
  if [ -z "$uri" ]; then
    uri=$(grep -rhs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | head -1)
  fi
  [ -n "$uri" ] || { echo "upstream-sources: no Debian mirror found in apt's sources" >&2; exit 2; }
  echo "upstream-sources: adding deb-src $uri bookworm main" >&2
  echo "deb-src $uri bookworm main" | $SUDO tee /etc/apt/sources.list.d/releasetool-bookworm-src.list >/dev/null
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
# configure must run for `make dist`: the build dependencies of the dist components
DEBIAN_FRONTEND=noninteractive $SUDO apt-get build-dep -y -qq libqb kronosnet corosync >/dev/null
ls "$DIR"/*.orig.tar.*
