#!/bin/sh
# Fleet mode at scale (issue 10): N leaves under one CA, `pkitool validate DIR --ca CA` against
# `openssl verify -CAfile CA DIR/*/*.pem` on the same files (target: >= 10x faster), and the
# maximum RSS at N against N/10 (target: at most 2x).
#
# The corpus is COPIES copies of a BASE-leaf corpus made by ../shared/bench/mkcorpus.sh (openssl,
# ECDSA P-256), 2000 x 10 = 20,000 leaves by default.
# Usage: benches/fleet.sh [BASE] [COPIES]
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
BASE=${1:-2000}
COPIES=${2:-10}
MKCORPUS=${MKCORPUS:-$REPO/../shared/bench/mkcorpus.sh}
# From the repository: .cargo/config.toml (aws-lc without its jitter entropy collector, 70 ms
# per process otherwise) applies only to builds started below it.
(cd "$REPO" && cargo build --release --quiet)
P=$REPO/target/release/pkitool
W=${FLEET_BENCH_DIR:-$(mktemp -d)}
[ -n "${FLEET_BENCH_DIR:-}" ] || trap 'rm -rf "$W"' EXIT

if [ ! -f "$W/corpus/cacert.pem" ]; then
  sh "$MKCORPUS" "$W/corpus" "$BASE"
fi
rm -rf "$W/small" "$W/big"
mkdir -p "$W/small" "$W/big"
cp -r "$W/corpus/certs" "$W/small/c0"
i=0
while [ $i -lt "$COPIES" ]; do
  cp -r "$W/corpus/certs" "$W/big/c$i"
  i=$((i+1))
done
cd "$W"
echo "== $BASE and $((BASE * COPIES)) leaves"
"$P" validate small --ca corpus/cacert.pem | tail -1
"$P" validate big --ca corpus/cacert.pem | tail -1
hyperfine -w 1 -r 5 \
  "$P validate big --ca corpus/cacert.pem" \
  "openssl verify -CAfile corpus/cacert.pem big/*/*.pem"
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
small=$(rss "$P" validate small --ca corpus/cacert.pem)
big=$(rss "$P" validate big --ca corpus/cacert.pem)
echo "max RSS: $small KiB at $BASE leaves, $big KiB at $((BASE * COPIES)) leaves"
