#!/bin/sh
# Benchmarks for `pkitool validate` (release build, hyperfine):
#  1. fleet mode: N leaf certificates under one CA (../shared/bench/mkcorpus.sh, or $MKCORPUS)
#     `pkitool validate DIR/certs --ca DIR/cacert.pem` vs `openssl verify -CAfile DIR/cacert.pem
#     DIR/certs/*.pem` (target: >= 4x faster);
#  2. a standard libvirt layout in /etc/pki: `pkitool validate` vs `virt-pki-validate` (target:
#     >= 10x faster). virt-pki-validate only reads the real /etc/pki, so this part runs as root in
#     a private mount namespace with an overlay on /etc: nothing changes for other processes.
# Usage: benches/validate.sh [N]
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

echo "== fleet: $N leaves under one CA"
sh "$MKCORPUS" "$W/corpus" "$N"
"$P" validate "$W/corpus/certs" --ca "$W/corpus/cacert.pem" | tail -1
(cd "$W/corpus" && hyperfine -w 2 -r 10 \
  "$P validate certs --ca cacert.pem" \
  "openssl verify -CAfile cacert.pem certs/*.pem")

echo "== libvirt system layout: pkitool validate vs virt-pki-validate"
if [ "$(id -u)" != 0 ] || ! command -v virt-pki-validate >/dev/null || ! command -v unshare >/dev/null; then
  echo "skipped: needs root, unshare and virt-pki-validate"
  exit 0
fi
sh "$REPO/tests/fixtures/mkbroken.sh" "$W/c" >/dev/null
G="$W/c/good-certtool"
U="$W/ovl/upper/pki"
mkdir -p "$U/CA" "$U/libvirt/private" "$W/ovl/work"
cp "$G/cacert.pem" "$U/CA/"; cp "$G/servercert.pem" "$G/clientcert.pem" "$U/libvirt/"
cp -p "$G/serverkey.pem" "$G/clientkey.pem" "$U/libvirt/private/"
unshare -m sh -ec "
  mount -t overlay overlay -o lowerdir=/etc,upperdir=$W/ovl/upper,workdir=$W/ovl/work /etc
  $P validate | tail -1
  hyperfine -N -w 3 -r 20 '$P validate' 'virt-pki-validate'
"
