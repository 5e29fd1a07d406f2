#!/bin/sh
# Mutation testing (cargo-mutants) of the code whose verdicts matter. Not run in CI: a full run
# takes hours on 2 cores. Each group mutates its files and runs the unit tests plus the
# integration modules that judge that code against real peers.
#
# Usage: benches/mutants.sh [GROUP...]      (default: every group)
#   consumer  src/consumer/{rules,version}.rs      the model of what libvirt and QEMU accept
#   checks    src/check/{constraints,guard,dn_acl,hostname,keypair,crl,chain,time}.rs
#   dn        src/x509/dn.rs src/quoting/mod.rs src/consumer/allowlist.rs
#   files     src/fsio.rs src/fsio/dirs.rs src/journal.rs   (reads, the atomic writer, the journal)
# Needs: cargo install --locked cargo-mutants. Results: target/mutants-GROUP/mutants.out/
# (caught.txt, missed.txt, timeout.txt, unviable.txt). Target: at least 90% of viable mutants
# caught per group; every survivor killed by a new test or listed in benches/mutants-survivors.md
# with the reason it is harmless.
set -eu
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null || { echo "cargo install --locked cargo-mutants" >&2; exit 2; }

group() {
  name=$1; tests=$2; shift 2
  files=""
  for f in "$@"; do files="$files -f $f"; done
  # shellcheck disable=SC2086
  cargo mutants --no-shuffle --output "target/mutants-$name" $files \
    --cargo-test-arg=--lib --cargo-test-arg=--test --cargo-test-arg=integration \
    -- -- $tests || true
  out="target/mutants-$name/mutants.out"
  caught=$(wc -l < "$out/caught.txt"); missed=$(wc -l < "$out/missed.txt")
  timeout=$(wc -l < "$out/timeout.txt"); unviable=$(wc -l < "$out/unviable.txt")
  viable=$((caught + missed + timeout))
  echo "$name: $viable viable mutants: $caught caught, $missed missed, $timeout timeouts ($unviable unviable)"
  [ "$viable" -eq 0 ] || echo "$name: caught $((100 * (caught + timeout) / viable))%"
}

groups=${*:-consumer checks dn files}
for g in $groups; do
  case $g in
    consumer) group consumer "consumer consumer_model verdicts dn_forms validate::corpus" \
                src/consumer/rules.rs src/consumer/version.rs ;;
    checks)   group checks "check verdicts validate differential consumer_model" \
                src/check/constraints.rs src/check/guard.rs src/check/dn_acl.rs src/check/hostname.rs \
                src/check/keypair.rs src/check/crl.rs src/check/chain.rs src/check/time.rs ;;
    dn)       group dn "dn allowlist quoting inspect dn_forms verdicts" \
                src/x509/dn.rs src/quoting/mod.rs src/consumer/allowlist.rs ;;
    files)    group files "fsio journal robust provision provisioning verdicts" src/fsio.rs src/fsio/dirs.rs src/journal.rs ;;
    *) echo "unknown group $g (consumer, checks, dn, files)" >&2; exit 2 ;;
  esac
done
