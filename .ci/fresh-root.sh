#!/usr/bin/env bash
# Runs a command in a pristine Debian 12 root (mmdebstrap --variant=minbase), on a clone of this
# repository's HEAD, to prove that the README's commands install everything they need: a machine
# set up by hand can hide a missing install step. Needs root and Debian's package registry; the
# base root is cached in $FRESH_ROOT_CACHE (default /var/tmp/fresh-debian-base.tar).
#
#   .ci/fresh-root.sh [COMMAND]   (default: the README's install and build)
#
# The clone is at $FRESH_ROOT_SRC inside the root (default /src/project; CI passes the host's own
# path, so that compile commands are identical and the shared compiler cache hits). MovieLens
# 100k ($TWOTOWER_DATA, else ../shared/data/ml-100k) is mounted read-only at
# <clone>/../shared/data/ml-100k, so ../shared/data/ml-100k resolves as on a developer machine.
# The same check as ../shared/tools/fresh-debian-check.sh, kept here so that CI does not depend
# on a file outside the repository. Exit status: the command's.
set -euo pipefail
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
data=${TWOTOWER_DATA:-$repo/../shared/data/ml-100k}
[ -f "$data/u.data" ] || { echo "fresh-root: MovieLens 100k not found at $data (set TWOTOWER_DATA)" >&2; exit 1; }
data=$(cd "$data" && pwd)
cache=${FRESH_ROOT_CACHE:-/var/tmp/fresh-debian-base.tar}
src=${FRESH_ROOT_SRC:-/src/project}
shared_data="$(dirname "$src")/shared/data/ml-100k"
cmd=${1:-"tools/install-deps.sh && cmake --preset release && cmake --build --preset release"}

if ! command -v mmdebstrap >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
fi
if [ ! -s "$cache" ]; then
  echo "== building a minimal Debian 12 root (once; cached at $cache)"
  mmdebstrap --quiet --variant=minbase --include=ca-certificates,git bookworm "$cache.part"
  mv "$cache.part" "$cache"
fi
work=$(mktemp -d /var/tmp/fresh-root.XXXXXX)
root="$work/root"
cleanup() {
  for m in "$root/ccache" "$root$shared_data" "$root/dev" "$root/sys" "$root/proc"; do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$root"
tar -C "$root" -xf "$cache"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root$shared_data"
git clone -q "$repo" "$root$src"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount --bind "$data" "$root$shared_data"
mount -o remount,bind,ro "$root$shared_data"
# FRESH_ROOT_CCACHE=DIR: share the host's compiler cache (mounted at /ccache; ccache is
# installed in the root first, outside the command under test).
env_ccache=()
if [ -n "${FRESH_ROOT_CCACHE:-}" ]; then
  mkdir -p "$FRESH_ROOT_CCACHE" "$root/ccache"
  mount --bind "$FRESH_ROOT_CCACHE" "$root/ccache"
  chroot "$root" bash -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ccache >/dev/null"
  env_ccache=(CCACHE_DIR=/ccache CCACHE_BASEDIR="$src" CCACHE_COMPILERCHECK=content
              CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
echo "== in a fresh Debian 12 root, at $(git -C "$repo" rev-parse --short HEAD): $cmd"
chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  LANG=C.UTF-8 CI=true "${env_ccache[@]}" bash -c "cd '$src' && $cmd"
