#!/bin/sh
# bench/chroot_build.sh: bench/real_builds.py run inside a chroot of another
# Debian release, for components whose manifest version this machine cannot
# configure (pcs 0.12 needs Python 3.12; Debian 12's python3 is 3.11).
#
# Usage: bench/chroot_build.sh [options] --clones DIR NAME... [-- REAL_BUILDS_OPTIONS]
#
#   --root DIR     the chroot (default /var/tmp/chroot-SUITE); made with
#                  `debootstrap --variant=buildd` when it holds no system yet,
#                  reused as it is otherwise
#   --suite NAME   the Debian release of a new chroot (default trixie)
#   --mirror URL   its mirror (default http://deb.debian.org/debian)
#   --clones DIR   the clones DIR/NAME of the components (copied into the chroot
#                  with `git clone`; the clones here are only read)
#   --help         this text
#
# What it does, each step repeatable (a second run reuses the chroot):
#   1. debootstrap the chroot if needed; add deb-src for SUITE (for
#      `apt-cache showsrc`, which real_builds.py reads to name the Debian
#      packages of the same source); mount /proc, /sys and /dev/pts
#      (unmounted again on exit);
#   2. install the build and lint tools in it (rpm, rpmlint, dpkg-dev,
#      debhelper, lintian, git, python3-venv), and this machine's local
#      certificate authorities (/usr/local/share/ca-certificates) for pip;
#   3. copy this tree's files (tracked and new, not ignored) to /root/releasetool
#      and the clones to /root/clones/NAME; a virtualenv /root/venv with
#      releasetool installed from the copy (`pip install -e`, from PyPI);
#   4. run `bench/real_builds.py --clones /root/clones --verbose NAME...` there:
#      `releasetool build` (rpmbuild, dpkg-buildpackage, rpmlint, lintian) at
#      the manifest's version, the build dependencies of the rendered
#      debian/control installed from SUITE by apt-get build-dep, and the files
#      compared with upstream's spec and with SUITE's own binary packages.
#
# The packages and build logs stay in ROOT/root/out/NAME/.  Needs root
# (debootstrap, chroot, mount).  Not part of the test run.  Measured on 2 busy
# cores: debootstrap 68 s, the tools a few minutes, then pcs 0.12.3 in 100 s
# (both formats 74-84 s of it) each run.
#
# Example: the pcs 0.12 line on Debian 13 (python3 3.13):
#   bench/chroot_build.sh --clones /srv/clones pcs
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
suite=trixie
mirror=http://deb.debian.org/debian
root=
clones=
names=

usage() { sed -n '2,/^set -eu/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
die() { echo "error: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case $1 in
        --root) [ $# -ge 2 ] || die "--root needs a directory"; root=$2; shift 2 ;;
        --suite) [ $# -ge 2 ] || die "--suite needs a Debian release name"; suite=$2; shift 2 ;;
        --mirror) [ $# -ge 2 ] || die "--mirror needs a URL"; mirror=$2; shift 2 ;;
        --clones) [ $# -ge 2 ] || die "--clones needs a directory"; clones=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; break ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) names="$names $1"; shift ;;
    esac
done
[ -n "$names" ] || die "no component named (e.g. bench/chroot_build.sh --clones DIR pcs)"
[ -n "$clones" ] || die "--clones DIR is needed: the clones DIR/NAME of the components"
for name in $names; do
    [ -e "$clones/$name/.git" ] || [ -e "$clones/$name/HEAD" ] || die "$name: no clone $clones/$name"
done
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mount)"
for tool in debootstrap chroot mount git; do
    command -v $tool >/dev/null || die "$tool not found (apt-get install debootstrap)"
done
root=${root:-/var/tmp/chroot-$suite}

# 1. the chroot
if [ ! -e "$root/etc/debian_version" ]; then
    echo "== debootstrap $suite into $root" >&2
    debootstrap --variant=buildd "$suite" "$root" "$mirror"
fi
sources="$root/etc/apt/sources.list"
grep -q "^deb-src " "$sources" 2>/dev/null || echo "deb-src $mirror $suite main" >>"$sources"

mounted=
cleanup() {
    for point in $mounted; do umount "$root/$point" 2>/dev/null || umount -l "$root/$point" || :; done
}
trap cleanup EXIT INT TERM
for point in proc sys dev/pts; do
    if ! mountpoint -q "$root/$point"; then
        case $point in
            proc) mount -t proc proc "$root/proc" ;;
            sys) mount -t sysfs sys "$root/sys" ;;
            dev/pts) mkdir -p "$root/dev/pts"; mount -t devpts devpts "$root/dev/pts" ;;
        esac
        mounted="$point $mounted"
    fi
done
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || :

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"; }

# 2. the tools
echo "== tools in $root ($suite)" >&2
in_root apt-get update -q >/dev/null
in_root apt-cache show rpmlint >/dev/null 2>&1 || die "$suite has no rpmlint package: use a suite that has it"
in_root apt-get install -y -q --no-install-recommends rpm rpmlint dpkg-dev debhelper lintian devscripts \
    fakeroot git python3-venv python3-pip ca-certificates >/dev/null

# the local certificate authorities of this machine (a proxy's) for pip in the chroot
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    in_root update-ca-certificates >/dev/null
fi

# 3. this tree, the clones, the virtualenv
echo "== releasetool and the clones into $root/root" >&2
rm -rf "$root/root/releasetool"
mkdir -p "$root/root/releasetool" "$root/root/clones"
(cd "$here" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - --) \
    | tar -xf - -C "$root/root/releasetool"
for name in $names; do
    rm -rf "$root/root/clones/$name"
    git clone -q --no-local "$clones/$name" "$root/root/clones/$name"
done
[ -x "$root/root/venv/bin/python" ] || in_root python3 -m venv /root/venv
in_root /root/venv/bin/pip install -q -e /root/releasetool

# 4. the builds
echo "== bench/real_builds.py$names in $root" >&2
# shellcheck disable=SC2086
in_root sh -c "cd /root/releasetool && /root/venv/bin/python bench/real_builds.py --clones /root/clones \
    --out /root/out --verbose $* $names"
