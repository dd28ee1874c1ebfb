#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine for releasetool: the system tools it drives
# (installed with apt-get when missing), a virtualenv in .venv and the project
# with its test extras.  Safe to run again: each step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the stages drive: git for split and release, rpm/rpmlint for
# spec files, dpkg-dev/debhelper/lintian/fakeroot for debian/, chromium for the
# page test, xz-utils and gnupg for release artifacts, build-essential for
# the package builds (dpkg-buildpackage requires it; the C compiler and make);
# groff-base and man-db to check the generated manual page, zsh and tmux to
# drive the generated completions in real shells; the autotools for the release
# tarballs upstream makes with `make dist`, and faketime to make one on another day;
# Debian's Open Build Service backend (servers, scheduler, worker, build script)
# that `releasetool obs serve` fronts, and debootstrap for the throwaway root
# the demo installs the published packages into.
APT_PACKAGES=(git rpm rpmlint dpkg-dev debhelper lintian fakeroot devscripts xz-utils gnupg chromium python3-venv build-essential
              groff-base man-db zsh tmux autoconf automake libtool autopoint pkgconf gettext faketime cpio
              obs-server obs-worker obs-build debootstrap)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.releasetool-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing releasetool and its test extras into .venv" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  # editable_mode=compat puts the source directory on sys.path with a .pth file
  # instead of an import hook, which every start of `releasetool` would pay for
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' --config-settings editable_mode=compat
  touch "$stamp"
fi
# axe-core, the accessibility checker the page's browser test runs inside
# Chromium, from the npm registry (npm comes with Debian's nodejs).
AXE_VERSION=4.14.1
axe_dir=.releasetool-cache/npm
if [ ! -f "$axe_dir/node_modules/axe-core/axe.min.js" ] || ! grep -q "\"version\": \"$AXE_VERSION\"" "$axe_dir/node_modules/axe-core/package.json"; then
  command -v npm >/dev/null || { SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"; $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null; }
  echo "setup: installing axe-core $AXE_VERSION from npm into $axe_dir" >&2
  mkdir -p "$axe_dir"
  npm install --silent --no-save --no-audit --no-fund --prefix "$axe_dir" "axe-core@$AXE_VERSION" >/dev/null
fi

# Byte-compile the package now: with PYTHONDONTWRITEBYTECODE set (as on many
# build machines) Python would otherwise compile every module on every start.
# Up-to-date .pyc files are left alone, so this costs well under a second.
.venv/bin/python -m compileall -q releasetool >/dev/null
