#!/bin/sh
# CA + server + client: pkitool vs certtool, side by side, durable writes included.
# Uses the shared flow scripts (../shared/bench, or $BENCH_DIR) and release builds.
#   benches/flow.sh                       # ECDSA P-256 and RSA-3072
#   RUNS=60 RSA_RUNS=20 benches/flow.sh   # more runs
# Also measured:
# - the no-op floor: the same script with /bin/true in place of pkitool (what sh, mktemp and rm
#   cost on their own); pkitool's own share is its time minus the floor;
# - a build with AWS_LC_SYS_NO_JITTER_ENTROPY=1: aws-lc then seeds its DRBG from the OS
#   (getrandom + RDRAND) instead of running its CPU-jitter entropy collector, which costs
#   ~20-30 ms of CPU at the first random number in every process.
set -e
here=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-$here/../shared/bench}
[ -f "$BENCH_DIR/pkitool-flow.sh" ] || { echo "flow scripts not found in $BENCH_DIR (set BENCH_DIR)" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine is required" >&2; exit 2; }
(cd "$here" && cargo build --release --quiet)
(cd "$here" && AWS_LC_SYS_NO_JITTER_ENTROPY=1 cargo build --release --quiet --target-dir target/nojitter)
PK="$here/target/release/pkitool"
PKNJ="$here/target/nojitter/release/pkitool"
out=${OUT:-$here/target/bench}
mkdir -p "$out"

hyperfine -N --warmup 5 --min-runs ${RUNS:-40} --export-markdown "$out/ecdsa.md" \
  -n certtool-ecdsa "sh $BENCH_DIR/certtool-flow.sh --key-type=ecdsa" \
  -n pkitool-ecdsa "env PKITOOL=$PK sh $BENCH_DIR/pkitool-flow.sh ecdsa-p256" \
  -n pkitool-nojitter-ecdsa "env PKITOOL=$PKNJ sh $BENCH_DIR/pkitool-flow.sh ecdsa-p256" \
  -n noop-floor "env PKITOOL=/bin/true sh $BENCH_DIR/pkitool-flow.sh ecdsa-p256"

hyperfine -N --warmup 2 --min-runs ${RSA_RUNS:-15} --export-markdown "$out/rsa3072.md" \
  -n certtool-rsa3072 "sh $BENCH_DIR/certtool-flow.sh --key-type=rsa --bits=3072" \
  -n pkitool-rsa3072 "env PKITOOL=$PK sh $BENCH_DIR/pkitool-flow.sh rsa-3072" \
  -n pkitool-nojitter-rsa3072 "env PKITOOL=$PKNJ sh $BENCH_DIR/pkitool-flow.sh rsa-3072"

cat "$out/ecdsa.md" "$out/rsa3072.md"
