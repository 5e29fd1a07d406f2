#!/bin/sh
# Signing one CSR (ECDSA P-256 from certtool, RSA-2048 from openssl): pkitool sign vs certtool
# --generate-certificate --load-request vs openssl x509 -req, durable writes included for pkitool
# (it fsyncs; the others do not). Also pkitool request (key + CSR) vs certtool and openssl making
# a key and a request. A release build; figures in the README's Performance section and the
# issue 11 note.
#   benches/sign.sh             # default runs
#   RUNS=100 benches/sign.sh    # more runs
set -e
here=$(cd "$(dirname "$0")/.." && pwd)
command -v hyperfine >/dev/null || { echo "hyperfine is required (apt-get install hyperfine)" >&2; exit 2; }
(cd "$here" && cargo build --release --quiet)
PK="$here/target/release/pkitool"
out=${OUT:-$here/target/bench}
mkdir -p "$out"
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
cd "$w"
"$PK" init-ca --dir ca --cn "Bench CA" >/dev/null
certtool --generate-privkey --key-type ecdsa --outfile ec.key 2>/dev/null
printf 'cn = localhost\ndns_name = localhost\ntls_www_server\nsigning_key\nencryption_key\n' > server.info
certtool --generate-request --load-privkey ec.key --template server.info --outfile ec.csr 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -keyout rsa.key -subj /CN=localhost -out rsa.csr 2>/dev/null
printf 'cn = localhost\ndns_name = localhost\ntls_www_server\nsigning_key\nencryption_key\nexpiration_days = 365\n' > sign.info
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost\n' > ext.cnf

hyperfine -N --warmup 5 --min-runs ${RUNS:-40} --export-markdown "$out/sign.md" \
  -n pkitool-sign-ecdsa-csr "$PK sign server ec.csr --dir ca --out s.pem --force" \
  -n certtool-sign-ecdsa-csr "certtool --generate-certificate --load-request ec.csr --load-ca-certificate ca/cacert.pem --load-ca-privkey ca/cakey.pem --template sign.info --outfile c.pem" \
  -n openssl-sign-ecdsa-csr "openssl x509 -req -in ec.csr -CA ca/cacert.pem -CAkey ca/cakey.pem -CAcreateserial -days 365 -extfile ext.cnf -out o.pem" \
  -n pkitool-sign-rsa-csr "$PK sign server rsa.csr --dir ca --out s.pem --force"

hyperfine -N --warmup 3 --min-runs ${RUNS:-40} --export-markdown "$out/request.md" \
  -n pkitool-request-ecdsa "sh -c 'rm -f r/servercert.csr r/serverkey.pem; $PK request server --out r --cn localhost >/dev/null'" \
  -n certtool-request-ecdsa "sh -c 'certtool --generate-privkey --key-type ecdsa --outfile k.pem 2>/dev/null && certtool --generate-request --load-privkey k.pem --template server.info --outfile r.csr 2>/dev/null'" \
  -n openssl-request-ecdsa "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k2.pem -subj /CN=localhost -addext subjectAltName=DNS:localhost -out r2.csr"

cat "$out/sign.md" "$out/request.md"
