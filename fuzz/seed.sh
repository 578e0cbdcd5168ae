#!/bin/sh
# Seeds the fuzz corpus with every hand-written differential case, once for
# the werf function set (mode byte 0) and once for Helm's (mode byte 1).
set -eu
cd "$(dirname "$0")"
mkdir -p corpus/render
n=0
for f in ../crates/gotmpl/tests/cases/*.cases; do
  grep -v -e '^#' -e '^@' -e '^$' "$f" | while IFS= read -r line; do
    n=$((n + 1))
    text=$(printf '%s' "$line" | sed 's/⏎/\n/g')
    printf '\000%s' "$text" > "corpus/render/seed-$(basename "$f" .cases)-$n-werf"
    printf '\001%s' "$text" > "corpus/render/seed-$(basename "$f" .cases)-$n-helm"
  done
done
ls corpus/render | wc -l
