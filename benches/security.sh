#!/bin/sh
# Benchmarks for issue 15's bounded-work fixes (release build, hyperfine):
#  1. validate on a CA file of 2 names cross-signing each other (N certificates, default 16);
#     before the fix 12 certificates took over 120 s (exponential chain-depth recursion);
#  2. validate in fleet mode on M certificate files with findings (default 20000), text vs JSON;
#     before the fix the text report grouped findings with a linear search per finding.
# Usage: benches/security.sh [N] [M]
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-16}
M=${2:-20000}
# From the repository: .cargo/config.toml (aws-lc without its jitter entropy collector, 70 ms
# per process otherwise) applies only to builds started below it.
(cd "$REPO" && cargo build --release --quiet)
P=$REPO/target/release/pkitool
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"

echo "== cross-signed CA file: $N certificates"
printf '[ca]\nbasicConstraints = critical,CA:TRUE,pathlen:0\nkeyUsage = critical,keyCertSign,cRLSign\n' > ext.cnf
for n in A B; do
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $n.key 2>/dev/null
  openssl req -new -key $n.key -subj "/CN=Loop $n" -out $n.csr
  openssl x509 -req -in $n.csr -signkey $n.key -days 30 -extfile ext.cnf -extensions ca -out $n.pem 2>/dev/null
done
mkdir pki; cat A.pem B.pem > pki/cacert.pem
i=2
while [ $i -lt "$N" ]; do
  openssl x509 -req -in A.csr -CA B.pem -CAkey B.key -days 30 -set_serial 1$i -extfile ext.cnf -extensions ca 2>/dev/null >> pki/cacert.pem
  openssl x509 -req -in B.csr -CA A.pem -CAkey A.key -days 30 -set_serial 2$i -extfile ext.cnf -extensions ca 2>/dev/null >> pki/cacert.pem
  i=$((i+2))
done
grep -c 'BEGIN CERTIFICATE' pki/cacert.pem
hyperfine -N -w 2 -r 10 -i "$P validate pki"

echo "== fleet: $M files with findings, text vs JSON"
"$P" init-ca --dir ca --cn "Bench CA" >/dev/null
"$P" issue client --dir ca --cn c --out leaf >/dev/null
mkdir certs
j=0
while [ $j -lt "$M" ]; do cp leaf/clientcert.pem certs/c$j.pem; j=$((j+1)); done
chmod 0666 certs/*.pem   # PKI-F15 on every file: one finding per file at least
hyperfine -w 1 -r 5 -i \
  "$P validate certs --ca ca/cacert.pem > /dev/null" \
  "$P validate certs --ca ca/cacert.pem --format json > /dev/null"
