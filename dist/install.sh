#!/bin/sh
# Installs a davit release: downloads the static binary for this machine and
# SHA256SUMS, verifies the checksum, and moves the binary into place only
# when it matches (never a half-written binary).
#
#   curl -fsSL https://…/install.sh | sh -s -- [VERSION] [DIR]
#
# VERSION defaults to $DAVIT_VERSION or v0.1.0; DIR to $DAVIT_INSTALL_DIR or
# /usr/local/bin. DAVIT_DOWNLOAD_BASE_URL overrides where releases come from.
set -eu

version=${1:-${DAVIT_VERSION:-v0.1.0}}
dir=${2:-${DAVIT_INSTALL_DIR:-/usr/local/bin}}
base=${DAVIT_DOWNLOAD_BASE_URL:-https://github.com/davit-ci/davit/releases/download}
base=${base%/}/$version

fail() { echo "davit install: $*" >&2; exit 1; }

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) target=x86_64-unknown-linux-musl ;;
  Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-musl ;;
  *) fail "no release for $(uname -s)/$(uname -m); build from source: cargo install --path ." ;;
esac
name=davit-$version-$target

fetch() { # url file
  if command -v curl >/dev/null 2>&1; then curl -fsSL --retry 3 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then wget -q -O "$2" "$1"
  else fail "neither curl nor wget is installed"; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fetch "$base/$name" "$tmp/$name" || fail "downloading $base/$name failed (is $version a release?)"
fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS" || fail "downloading $base/SHA256SUMS failed"
want=$(awk -v n="$name" '$2 == n || $2 == "*"n {print $1}' "$tmp/SHA256SUMS")
[ -n "$want" ] || fail "SHA256SUMS lists no $name"
got=$(sha256sum "$tmp/$name" 2>/dev/null || shasum -a 256 "$tmp/$name")
got=${got%% *}
[ "$got" = "$want" ] || fail "checksum mismatch for $name: got $got, expected $want; nothing installed"
chmod 0755 "$tmp/$name"
mkdir -p "$dir"
# Same file system as the target, then an atomic rename.
cp "$tmp/$name" "$dir/.davit.new.$$"
mv -f "$dir/.davit.new.$$" "$dir/davit"
echo "davit $version installed to $dir/davit"
