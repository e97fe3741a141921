#!/usr/bin/env bash
# Downloads MovieLens 100k from GroupLens and verifies it. Its licence forbids redistribution,
# so the project never ships the data; every user fetches it from the source with this script.
set -euo pipefail

readonly URL="https://files.grouplens.org/datasets/movielens/ml-100k.zip"

# SHA-256 of the original files (the ml-100k directory of the zip above). The loader verifies
# every file listed here at each load, so all of them are checked before anything is installed.
readonly CHECKSUMS="\
4883b8cf340ed0059971b33f56ad3adc88a40792108ebca3d24aafc4c82e8b52  README
06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490  u.data
9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb  u.genre
5b0a40b2e47a729ee6203063f6dcf8790c2e63f5a18663e6ee318a72c5f3c27b  u.info
553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701  u.item
cd5fbec9afe345d993a62fc7817df1a4a9079c4feb267b3118763b8fd942137d  u.occupation
f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c  u.user"

usage() {
  cat <<USAGE
Usage: $(basename "$0") DEST_DIR

Downloads MovieLens 100k from
  $URL
unpacks it into DEST_DIR (created if needed), verifies the SHA-256 of its files and writes
DEST_DIR/SHA256SUMS, which twotower checks whenever it loads the data. Then point twotower at
it with --data DEST_DIR or TWOTOWER_DATA=DEST_DIR.

Needs curl or wget, unzip or python3, and sha256sum or shasum.
The MovieLens licence forbids redistribution: do not commit DEST_DIR to a repository.
USAGE
}

die() { echo "fetch-movielens: error: $*" >&2; exit 1; }

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d' ' -f1
  else
    die "neither sha256sum nor shasum is installed"
  fi
}

# Prints nothing and succeeds when every listed file in $1 matches; otherwise reports the first
# problem on stderr (when $2 is "loud") and fails.
verify_dir() {
  local dir=$1 loud=${2:-quiet} expected name actual
  while read -r expected name; do
    if [[ ! -f "$dir/$name" ]]; then
      [[ $loud == loud ]] && echo "fetch-movielens: $name is missing from the archive" >&2
      return 1
    fi
    actual=$(sha256_of "$dir/$name")
    if [[ "$actual" != "$expected" ]]; then
      [[ $loud == loud ]] && echo "fetch-movielens: SHA-256 mismatch for $name: expected $expected, got $actual" >&2
      return 1
    fi
  done <<<"$CHECKSUMS"
}

download() {
  if command -v curl >/dev/null 2>&1; then
    curl --fail --location --silent --show-error --retry 3 --output "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget --quiet --tries=3 --output-document="$2" "$1"
  else
    die "neither curl nor wget is installed"
  fi
}

unpack() {
  if command -v unzip >/dev/null 2>&1; then
    unzip -q "$1" -d "$2"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -m zipfile -e "$1" "$2"
  else
    die "neither unzip nor python3 is installed"
  fi
}

main() {
  if [[ $# -eq 1 && ( $1 == -h || $1 == --help ) ]]; then usage; exit 0; fi
  if [[ $# -ne 1 || -z $1 ]]; then usage >&2; exit 2; fi
  local dest=$1

  if [[ -d "$dest" ]] && verify_dir "$dest"; then
    printf '%s\n' "$CHECKSUMS" >"$dest/SHA256SUMS"
    echo "MovieLens 100k is already in $dest and verified."
    exit 0
  fi

  mkdir -p "$dest" || die "cannot create $dest"
  local tmp
  tmp=$(mktemp -d) || die "cannot create a temporary directory"
  # shellcheck disable=SC2064  # expand $tmp now: it is local to main
  trap "rm -rf '$tmp'" EXIT

  echo "Downloading $URL ..."
  download "$URL" "$tmp/ml-100k.zip" || die "download failed"
  unpack "$tmp/ml-100k.zip" "$tmp" || die "cannot unpack the archive"
  [[ -d "$tmp/ml-100k" ]] || die "the archive has no ml-100k directory; has its layout changed?"

  # Verify before copying, so a bad download never lands in DEST_DIR.
  verify_dir "$tmp/ml-100k" loud || die "the download does not match the known MovieLens 100k files"

  cp -p "$tmp/ml-100k"/* "$dest"/ || die "cannot copy the files into $dest"
  printf '%s\n' "$CHECKSUMS" >"$dest/SHA256SUMS"
  verify_dir "$dest" loud || die "files in $dest changed while copying"
  echo "MovieLens 100k is in $dest (SHA-256 verified). Use --data $dest or TWOTOWER_DATA=$dest."
}

main "$@"
