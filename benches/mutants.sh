#!/bin/sh
# Mutation testing (cargo-mutants) of the code whose verdicts matter. Not run in CI: a group
# takes 15-45 minutes on 2 cores. Each group mutates its files and runs the unit tests (`--lib`):
# the checks, the DN code, file writing and the consumer model each have unit tests beside them
# (src/check/testkit.rs builds the certificates), so a mutant is judged in seconds. A survivor a
# unit test misses may still be killed by an integration test (the SIGKILL, strace and live
# consumer tests): benches/mutants-survivors.md lists each with the test that kills it (checked
# by applying the mutant's diff from mutants.out/diff/ and running that test) or why it is
# harmless.
#
# Usage: benches/mutants.sh [GROUP...]      (default: every group)
#   consumer  src/consumer/{rules,version}.rs      the model of what libvirt and QEMU accept
#   checks    src/check/{constraints,guard,dn_acl,hostname,keypair,crl,chain,time}.rs
#   dn        src/x509/dn.rs src/quoting/mod.rs src/consumer/allowlist.rs
#   files     src/fsio.rs src/fsio/dirs.rs src/journal.rs   (reads, the atomic writer, the journal)
# Needs: cargo install --locked cargo-mutants (mold, when installed, links faster). cargo-mutants
# copies the tree and mutates the copy, never this checkout. Results:
# target/mutants-GROUP/mutants.out/ (caught.txt, missed.txt, timeout.txt, unviable.txt, diff/).
# Target: at least 90% of viable mutants caught per group; every survivor killed by a new test
# or listed in benches/mutants-survivors.md with the reason it is harmless.
set -eu
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null || { echo "cargo install --locked cargo-mutants" >&2; exit 2; }

group() {
  name=$1; shift
  files=""
  for f in "$@"; do files="$files -f $f"; done
  # No debug info and (when present) mold: each mutant's build links in seconds.
  linker=""
  command -v mold >/dev/null && linker="-C link-arg=-fuse-ld=mold"
  # shellcheck disable=SC2086
  CARGO_PROFILE_DEV_DEBUG=0 RUSTFLAGS="$linker" \
    cargo mutants --no-shuffle --output "target/mutants-$name" $files --cargo-test-arg=--lib || true
  out="target/mutants-$name/mutants.out"
  caught=$(wc -l < "$out/caught.txt"); missed=$(wc -l < "$out/missed.txt")
  timeout=$(wc -l < "$out/timeout.txt"); unviable=$(wc -l < "$out/unviable.txt")
  viable=$((caught + missed + timeout))
  echo "$name: $viable viable mutants: $caught caught, $missed missed, $timeout timeouts ($unviable unviable)"
  [ "$viable" -eq 0 ] ||
    echo "$name: caught $((1000 * caught / viable / 10)).$((1000 * caught / viable % 10))% ($((100 * (caught + timeout) / viable))% counting timeouts, which are hangs or a loaded machine)"
}

groups=${*:-consumer checks dn files}
for g in $groups; do
  case $g in
    consumer) group consumer \
                src/consumer/rules.rs src/consumer/version.rs ;;
    checks)   group checks \
                src/check/constraints.rs src/check/guard.rs src/check/dn_acl.rs src/check/hostname.rs \
                src/check/keypair.rs src/check/crl.rs src/check/chain.rs src/check/time.rs ;;
    dn)       group dn \
                src/x509/dn.rs src/quoting/mod.rs src/consumer/allowlist.rs ;;
    files)    group files src/fsio.rs src/fsio/dirs.rs src/journal.rs ;;
    *) echo "unknown group $g (consumer, checks, dn, files)" >&2; exit 2 ;;
  esac
done
