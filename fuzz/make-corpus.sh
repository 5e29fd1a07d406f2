#!/bin/sh
# Regenerates the committed seed corpus with certtool and openssl (run from fuzz/).
# Seeds are small on purpose: libFuzzer grows the corpus itself.
set -eu
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
cd "$t"
cat > ca.info <<'X'
cn = "Test CA"
organization = "Example Org"
ca
cert_signing_key
expiration_days = 3650
X
cat > server.info <<'X'
country = GB
state = London
locality = London
organization = "Example, Org"
cn = host1.example.org
dns_name = host1.example.org
ip_address = 192.0.2.1
tls_www_server
encryption_key
signing_key
X
certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile cakey.pem 2>/dev/null
certtool --generate-self-signed --load-privkey cakey.pem --template ca.info --outfile cacert.pem 2>/dev/null
certtool --generate-privkey --key-type rsa --bits 1024 --outfile serverkey.pem 2>/dev/null
certtool --generate-certificate --load-privkey serverkey.pem --load-ca-certificate cacert.pem \
  --load-ca-privkey cakey.pem --template server.info --outfile servercert.pem 2>/dev/null
openssl req -x509 -newkey ed25519 -nodes -keyout ed.key -out ed.crt -days 30 \
  -subj "/C=GB/ST=London/O=Example Org/OU=a+UID=u1/CN=client #1/emailAddress=a@b.example" 2>/dev/null
openssl x509 -in ed.crt -outform DER -out ed.der
openssl pkcs8 -topk8 -in ed.key -outform DER -nocrypt -out ed.key.der
openssl pkcs8 -topk8 -in ed.key -v2 aes-256-cbc -passout pass:x -out ed.enc.pem
openssl genrsa -aes128 -passout pass:x -traditional -out legacy.pem 1024 2>/dev/null
openssl req -new -key ed.key -subj "/CN=req" -out req.csr
openssl ca -gencrl -keyfile cakey.pem -cert cacert.pem -out crl.pem -config /dev/null \
  -md sha256 -crldays 30 2>/dev/null || \
  certtool --generate-crl --load-ca-privkey cakey.pem --load-ca-certificate cacert.pem \
  --template ca.info --outfile crl.pem 2>/dev/null
out="$OLDPWD/corpus"
mkdir -p "$out/load_parse" "$out/dn"
cp cacert.pem "$out/load_parse/certtool-ca.pem"
cat servercert.pem cacert.pem > "$out/load_parse/chain.pem"
sed 's/$/\r/' serverkey.pem > "$out/load_parse/rsa-key-crlf.pem"
cp ed.der "$out/load_parse/ed25519.der"
cp ed.key.der "$out/load_parse/pkcs8.der"
cp ed.enc.pem "$out/load_parse/pkcs8-encrypted.pem"
cp legacy.pem "$out/load_parse/legacy-encrypted.pem"
cp req.csr "$out/load_parse/csr.pem"
cp crl.pem "$out/load_parse/crl.pem"
cat ed.crt ed.key > "$out/load_parse/cert-and-key.pem"
head -c 300 ed.crt > "$out/load_parse/truncated.pem"
printf '' > "$out/load_parse/empty"
for f in cacert.pem servercert.pem ed.crt; do
  certtool -i --infile "$f" 2>/dev/null | sed -n 's/^\tSubject: //p;s/^\tIssuer: //p'
done | sort -u | awk -v d="$out/dn" '{ printf "%s", $0 > (d "/seed" NR) }'
printf 'C=GB,ST=London,L=London,O=Example Org,CN=client1\000C=GB,ST=London,L=London,O=Example Org,CN=*' > "$out/dn/pattern-star"
printf 'O=Example\\, Inc.,OU=R&D \\+ Ops,CN=\\#x+UID=u1\000*,CN=?#x*' > "$out/dn/escapes"
printf 'CN=#0c03616263,2.5.4.99=#130161,DC=example,EMAIL=a@b' > "$out/dn/hex-and-oid"
printf 'CN=\\c3\\a9t\\c3\\a9 \\ ,C=GB' > "$out/dn/hex-escapes"
