#!/bin/sh
# Lifecycle at fleet size, with a release build and hyperfine:
#   1. `renew --within 30` over a ledger of N=10,000 certificates of which DUE=100 expire in 5
#      days (the ledger-driven cron run: no files named; 100 renewals, each fsynced, plus 100
#      ledger appends);
#   2. the same run when nothing is due (what cron costs on the other 364 days);
#   3. `crl` with the N=10,000 certificates revoked;
#   4. `list --format json` of the N entries.
# Every certificate is a real one issued by `pkitool issue` (one process each, built once and
# kept in $OUT/pristine; the renew runs start from a fresh copy of it, made outside the timing).
#   benches/lifecycle.sh                 # N=10000 DUE=100
#   N=2000 DUE=20 RUNS=5 benches/lifecycle.sh
set -e
here=$(cd "$(dirname "$0")/.." && pwd)
command -v hyperfine >/dev/null || { echo "hyperfine is required (apt-get install hyperfine)" >&2; exit 2; }
(cd "$here" && cargo build --release --quiet)
PK="$here/target/release/pkitool"
N=${N:-10000}
DUE=${DUE:-100}
RUNS=${RUNS:-10}
out=${OUT:-$here/target/bench/lifecycle}
run="$out/run"
pristine="$out/pristine-$N-$DUE"
mkdir -p "$out"

if [ ! -f "$pristine/.complete" ]; then
  echo "bench: issuing $N certificates ($DUE due in 5 days) once; kept in $pristine" >&2
  rm -rf "$run" "$pristine"
  mkdir -p "$run"
  "$PK" init-ca --dir "$run/ca" --cn "Bench CA" >/dev/null
  printf 'cn = due\nactivation_date = "%s"\nexpiration_date = "%s"\n' \
    "$(date -u -d '-360 days' '+%Y-%m-%d %H:%M:%S')" "$(date -u -d '+5 days' '+%Y-%m-%d %H:%M:%S')" \
    > "$run/due.info"
  start=$(date +%s)
  i=0
  while [ "$i" -lt "$N" ]; do
    if [ "$i" -lt "$DUE" ]; then
      "$PK" issue client --dir "$run/ca" --template "$run/due.info" --cn "due$i" --out "$run/certs/$i" >/dev/null
    else
      "$PK" issue client --dir "$run/ca" --cn "host$i" --out "$run/certs/$i" >/dev/null
    fi
    i=$((i + 1))
  done
  echo "bench: $N issues took $(( $(date +%s) - start )) s" >&2
  cp -a "$run" "$pristine"
  touch "$pristine/.complete"
fi
lines=$(wc -l < "$pristine/ca/pkitool-ledger.jsonl")
bytes=$(wc -c < "$pristine/ca/pkitool-ledger.jsonl")
echo "bench: ledger of $lines lines, $bytes bytes" >&2

reset="rm -rf $run && cp -a $pristine $run"
# Sanity (outside the timing): the run renews exactly DUE certificates, the second none.
sh -c "$reset"
renewed=$("$PK" renew --dir "$run/ca" --within 30 --format json | grep -c '"old_serial"' || true)
again=$("$PK" renew --dir "$run/ca" --within 30 --format json | grep -c '"old_serial"' || true)
[ "$renewed" = "$DUE" ] && [ "$again" = 0 ] || { echo "bench: expected $DUE then 0 renewals, got $renewed then $again" >&2; exit 1; }

hyperfine -N --runs "$RUNS" --export-markdown "$out/renew.md" \
  --prepare "sh -c '$reset'" \
  -n "renew --within 30 ($N in ledger, $DUE due)" "$PK renew --dir $run/ca --within 30"

sh -c "$reset"
"$PK" renew --dir "$run/ca" --within 30 >/dev/null
hyperfine -N --warmup 2 --runs "$RUNS" --export-markdown "$out/renew-noop.md" \
  -n "renew --within 30 ($N in ledger, none due)" "$PK renew --dir $run/ca --within 30"

# Revoke every certificate once (by path, one process), then time the CRL.
sh -c "$reset"
find "$run/certs" -name clientcert.pem | xargs "$PK" revoke --dir "$run/ca" >/dev/null
revoked=$("$PK" list --dir "$run/ca" --status revoked --format json | grep -c '"revocation": {' || true)
echo "bench: $revoked revoked" >&2
hyperfine -N --warmup 2 --runs "$RUNS" --export-markdown "$out/crl.md" \
  -n "crl ($revoked revoked serials)" "$PK crl --dir $run/ca --out $out/crl.pem"
echo "bench: CRL $(wc -c < "$out/crl.pem") bytes; openssl: $(openssl crl -in "$out/crl.pem" -noout -text | grep -c 'Serial Number') serials" >&2

hyperfine -N --warmup 2 --runs "$RUNS" --export-markdown "$out/list.md" \
  -n "list --format json ($N entries)" "$PK list --dir $run/ca --format json"

cat "$out/renew.md" "$out/renew-noop.md" "$out/crl.md" "$out/list.md"
