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
expiration_days = 3650
X
cat > client.info <<'X'
country = GB
organization = "Example Org"
cn = client1
tls_www_client
encryption_key
signing_key
expiration_days = 3650
X
certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile cakey.pem 2>/dev/null
certtool --generate-self-signed --load-privkey cakey.pem --template ca.info --outfile cacert.pem 2>/dev/null
certtool --generate-privkey --key-type rsa --bits 2048 --outfile serverkey.pem 2>/dev/null
certtool --generate-certificate --load-privkey serverkey.pem --load-ca-certificate cacert.pem \
  --load-ca-privkey cakey.pem --template server.info --outfile servercert.pem 2>/dev/null
certtool --generate-privkey --key-type rsa --bits 2048 --outfile clientkey.pem 2>/dev/null
certtool --generate-certificate --load-privkey clientkey.pem --load-ca-certificate cacert.pem \
  --load-ca-privkey cakey.pem --template client.info --outfile clientcert.pem 2>/dev/null
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

# validate: a fixed, valid libvirt pkipath set (the target fuzzes servercert.pem or cacert.pem).
fx="$OLDPWD/fixtures/validate"
mkdir -p "$fx" "$out/validate" "$out/template" "$out/libvirtd_conf"
for f in cacert.pem servercert.pem serverkey.pem clientcert.pem clientkey.pem; do cp "$f" "$fx/$f"; done
{ printf '\000'; cat servercert.pem; } > "$out/validate/server"
{ printf '\001'; cat cacert.pem; } > "$out/validate/ca"
{ printf '\000'; cat servercert.pem cacert.pem; } > "$out/validate/server-chain"
{ printf '\000'; cat clientcert.pem; } > "$out/validate/client-as-server"
{ printf '\001'; cat "$OLDPWD/corpus/load_parse/ed25519.der"; } > "$out/validate/ca-der"
# template: the ones above plus certtool's traps (case, dashes, booleans with values, quoting).
cp ca.info server.info client.info "$out/template/"
cat > "$out/template/traps.info" <<'X'
# comment
CN = "mis-cased"
dns-name = dashed.example.org
ca = no
organization = "quoted # not a comment"
unit = a
ou = b
dns_name = "x.example.org" # trailing
ip_address = 2001:db8::1
ip_address = 300.1.2.3
serial = 0x0123456789abcdef
activation_date = "2026-01-01 00:00:00"
expiration_date = "2036-01-01 00:00:00"
expiration_days = -1
path_len = 0
[section]
cn = after the parse stop
X
printf 'cn = "unterminated\r\ndns_name = a\r\n' > "$out/template/crlf"
# libvirtd.conf: the TLS settings in every value form the reader accepts.
cat > "$out/libvirtd_conf/tls.conf" <<'X'
# libvirtd.conf
listen_tls = 1
listen_tcp = 0
key_file = "/etc/pki/libvirt/private/serverkey.pem"
cert_file = "/etc/pki/libvirt/servercert.pem"
ca_file = "/etc/pki/CA/cacert.pem"
crl_file = "/etc/pki/CA/cacrl.pem"
tls_no_verify_certificate = 0
tls_allowed_dn_list = ["C=GB,ST=London,L=London,O=Example Org,CN=client1", "C=GB,*"]
X
printf 'tls_allowed_dn_list = [\n  "a",\n  # c\n  "b", ]\nmax_clients = 5000\nauth_tls = "none"; x = 1\n' > "$out/libvirtd_conf/lists"
printf 'key_file = 1\ntls_allowed_dn_list = "C=GB"\n' > "$out/libvirtd_conf/types"
