#!/bin/sh
# pkitool's own share of the CA + server + client flow over the no-op floor, against certtool's
# share over the same floor (the issue 9 target: at most a third). Durable writes included:
# pkitool fsyncs every file, its journal and the directories; certtool fsyncs nothing.
#   benches/share.sh                 # 60 runs each
#   RUNS=200 benches/share.sh
# Prints the mean and median of each, both shares (median - floor median) and their ratio.
set -e
here=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-$here/../shared/bench}
[ -f "$BENCH_DIR/pkitool-flow.sh" ] || { echo "flow scripts not found in $BENCH_DIR (set BENCH_DIR)" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine is required (apt-get install hyperfine)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 2; }
(cd "$here" && cargo build --release --quiet)
PK="$here/target/release/pkitool"
out=${OUT:-$here/target/bench}
mkdir -p "$out"
hyperfine -N --warmup 5 --min-runs ${RUNS:-60} --export-json "$out/share.json" \
  -n floor "env PKITOOL=/bin/true sh $BENCH_DIR/pkitool-flow.sh ecdsa-p256" \
  -n certtool "sh $BENCH_DIR/certtool-flow.sh --key-type=ecdsa" \
  -n pkitool "env PKITOOL=$PK sh $BENCH_DIR/pkitool-flow.sh ecdsa-p256" >/dev/null
python3 - "$out/share.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
ms = lambda k, f: r[k][f] * 1000
for k in ("floor", "certtool", "pkitool"):
    print(f"{k:9} mean {ms(k,'mean'):7.2f} ms  median {ms(k,'median'):7.2f} ms  min {ms(k,'min'):7.2f} ms  user {ms(k,'user'):6.2f} ms  system {ms(k,'system'):6.2f} ms")
for f in ("median", "min"):
    c = ms("certtool", f) - ms("floor", f)
    p = ms("pkitool", f) - ms("floor", f)
    print(f"share over the floor ({f}): certtool {c:.2f} ms, pkitool {p:.2f} ms, ratio {p / c:.2f} (target <= 0.33)")
c = ms("certtool", "user") + ms("certtool", "system") - ms("floor", "user") - ms("floor", "system")
p = ms("pkitool", "user") + ms("pkitool", "system") - ms("floor", "user") - ms("floor", "system")
print(f"CPU share over the floor (user+system): certtool {c:.2f} ms, pkitool {p:.2f} ms, ratio {p / c:.2f}")
PY
