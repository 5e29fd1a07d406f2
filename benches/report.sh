#!/bin/sh
# What the CI report formats cost (release build, hyperfine): `pkitool validate` on a fleet of N
# leaf certificates under one CA (../shared/bench/mkcorpus.sh, or $MKCORPUS), with every
# --format. SARIF re-reads each file a finding names to find the certificate's BEGIN line.
# Usage: benches/report.sh [N]
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-2000}
MKCORPUS=${MKCORPUS:-$REPO/../shared/bench/mkcorpus.sh}
# From the repository: .cargo/config.toml (aws-lc without its jitter entropy collector, 70 ms
# per process otherwise) applies only to builds started below it.
(cd "$REPO" && cargo build --release --quiet)
P=$REPO/target/release/pkitool
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

echo "== fleet: $N leaves under one CA, every format"
sh "$MKCORPUS" "$W/corpus" "$N"
"$P" validate "$W/corpus/certs" --ca "$W/corpus/cacert.pem" --quiet | tail -1
for f in json sarif junit; do
  printf '%s: %s bytes\n' "$f" "$(cd "$W/corpus" && "$P" validate certs --ca cacert.pem --format "$f" | wc -c)"
done
(cd "$W/corpus" && hyperfine -N -w 2 -r 10 \
  "$P validate certs --ca cacert.pem --format text" \
  "$P validate certs --ca cacert.pem --quiet" \
  "$P validate certs --ca cacert.pem --format json" \
  "$P validate certs --ca cacert.pem --format sarif" \
  "$P validate certs --ca cacert.pem --format junit")
