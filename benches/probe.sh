#!/usr/bin/env bash
# Benchmarks for `pkitool probe` (release build, hyperfine), every server on 127.0.0.1:
#  1. one probe of a local qemu-nbd (NBD STARTTLS, client certificate, NBD_OPT_ABORT);
#  2. one probe of a local libvirtd (TLS, client certificate, confirmation byte) against
#     `openssl s_client` doing the TLS part alone on the same port;
#  3. 50 targets probed concurrently against one probe (target: no more than about twice one
#     probe): the same libvirtd or the same qemu-nbd listed 50 times (one server does all 50
#     handshakes), and 50 distinct qemu-nbd servers;
#  4. the 50 distinct qemu-nbd servers at a network distance (benches/delay-proxy.py delivers
#     every byte DELAY_MS late each way, default 25: a 50 ms round trip, as servers on other
#     hosts are), 50 targets against one: here the servers' CPU no longer hides the concurrency
#     (on 2 cores, 50 local handshakes cost the servers 50 x their CPU time whatever the prober
#     does).
# libvirtd is started under the same machine-wide lock as the test harness (tests/it/peers.rs):
# only one libvirtd runs at a time. Needs certtool, qemu-nbd, qemu-img, libvirtd, openssl,
# hyperfine.
# Usage: benches/probe.sh
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
# From the repository: .cargo/config.toml (aws-lc without its jitter entropy collector, 70 ms
# per process otherwise) applies only to builds started below it.
(cd "$REPO" && cargo build --release --quiet)
P=$REPO/target/release/pkitool
W=$(mktemp -d)
NBD_PID=
LV_PID=
MORE_PIDS=
cleanup() {
  for p in $MORE_PIDS; do kill "$p" 2>/dev/null || true; done
  [ -n "$NBD_PID" ] && kill "$NBD_PID" 2>/dev/null || true
  [ -n "$LV_PID" ] && kill "$LV_PID" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    shuf -i 20000-60000 -n 1
}
wait_port() {
  i=0
  while ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 300 ] && { echo "port $1 never opened" >&2; exit 1; }
    sleep 0.1
  done
}

# A certtool PKI (the libvirt guide's templates), libvirt and QEMU names.
cd "$W"
printf 'cn = Bench CA\nca\ncert_signing_key\nexpiration_days = 30\n' >ca.info
printf 'cn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 30\n' >server.info
printf 'country = GB\norganization = Bench\ncn = client1\ntls_www_client\nencryption_key\nsigning_key\nexpiration_days = 30\n' >client.info
certtool --generate-privkey --key-type rsa --bits 2048 --outfile cakey.pem 2>/dev/null
certtool --generate-self-signed --load-privkey cakey.pem --template ca.info --outfile cacert.pem 2>/dev/null
for r in server client; do
  certtool --generate-privkey --key-type rsa --bits 2048 --outfile ${r}key.pem 2>/dev/null
  certtool --generate-certificate --load-privkey ${r}key.pem --load-ca-certificate cacert.pem \
    --load-ca-privkey cakey.pem --template $r.info --outfile ${r}cert.pem 2>/dev/null
done
mkdir qs client
cp cacert.pem qs/ca-cert.pem; cp servercert.pem qs/server-cert.pem; cp serverkey.pem qs/server-key.pem
cp cacert.pem clientcert.pem clientkey.pem client/

# qemu-nbd with verify-peer=yes.
qemu-img create -q -f raw disk.raw 1M
NBD=$(free_port)
qemu-nbd --object "tls-creds-x509,id=tls0,dir=$W/qs,endpoint=server,verify-peer=yes" --tls-creds tls0 \
  -b 127.0.0.1 -p "$NBD" --persistent --shared 64 -f raw disk.raw 2>"$W/nbd.log" &
NBD_PID=$!
wait_port "$NBD"

# libvirtd (test driver, as the interop harness runs it), under the harness's lock.
exec 9>/tmp/pkitool-tests-libvirtd.lock
flock 9
LV=$(free_port)
mkdir run drivers
cat >libvirtd.conf <<EOF
listen_tls = 1
listen_tcp = 0
listen_addr = "127.0.0.1"
tls_port = "$LV"
auth_tls = "none"
mdns_adv = 0
max_clients = 200
max_anonymous_clients = 200
key_file = "$W/serverkey.pem"
cert_file = "$W/servercert.pem"
ca_file = "$W/cacert.pem"
unix_sock_dir = "$W/run"
log_outputs = "3:file:$W/libvirtd.log"
EOF
LIBVIRT_DRIVER_DIR=$W/drivers libvirtd --listen --timeout 300 -f "$W/libvirtd.conf" -p "$W/run/libvirtd.pid" &
LV_PID=$!
wait_port "$LV"

NBD_ARGS="--service nbd 127.0.0.1:$NBD --ca cacert.pem --client-cert clientcert.pem --client-key clientkey.pem"
LV_ARGS="--service libvirt 127.0.0.1:$LV --pkipath client"
echo "== one probe each (what they print)"
"$P" probe $NBD_ARGS | tail -1
"$P" probe $LV_ARGS | tail -1

# 50 targets: the same server listed 50 times (--service applies to every target, so one run
# per service).
LV50=""
NBD50=""
i=0
while [ $i -lt 50 ]; do
  LV50="$LV50 127.0.0.1:$LV"
  NBD50="$NBD50 127.0.0.1:$NBD"
  i=$((i + 1))
done
"$P" probe --service libvirt $LV50 --pkipath client | tail -1
"$P" probe --service nbd $NBD50 --ca cacert.pem --client-cert clientcert.pem --client-key clientkey.pem | tail -1

# 50 distinct qemu-nbd servers (read-only, the same image).
DISTINCT=""
i=0
while [ $i -lt 50 ]; do
  p=$(free_port)
  qemu-nbd --object "tls-creds-x509,id=tls0,dir=$W/qs,endpoint=server,verify-peer=yes" --tls-creds tls0 \
    -b 127.0.0.1 -p "$p" --persistent -r -f raw disk.raw 2>>"$W/nbd-more.log" &
  MORE_PIDS="$MORE_PIDS $!"
  DISTINCT="$DISTINCT 127.0.0.1:$p"
  i=$((i + 1))
done
for t in $DISTINCT; do wait_port "${t##*:}"; done
"$P" probe --service nbd $DISTINCT --ca cacert.pem --client-cert clientcert.pem --client-key clientkey.pem | tail -1

echo "== one probe vs openssl s_client (TLS only), and 50 targets at once"
hyperfine -N -w 3 -r 30 \
  "$P probe $NBD_ARGS" \
  "$P probe $LV_ARGS" \
  "openssl s_client -connect 127.0.0.1:$LV -CAfile cacert.pem -cert clientcert.pem -key clientkey.pem -verify_return_error -brief" \
  "$P probe --service libvirt $LV50 --pkipath client" \
  "$P probe --service nbd $NBD50 --ca cacert.pem --client-cert clientcert.pem --client-key clientkey.pem" \
  "$P probe --service nbd $DISTINCT --ca cacert.pem --client-cert clientcert.pem --client-key clientkey.pem" \
  </dev/null

echo "== 50 distinct qemu-nbd servers at a ${DELAY_MS:-25} ms one-way distance, against one"
MAP=""
FAR=""
for t in $DISTINCT; do
  p=$(free_port)
  MAP="$MAP $p:${t##*:}"
  FAR="$FAR 127.0.0.1:$p"
done
python3 "$REPO/benches/delay-proxy.py" "${DELAY_MS:-25}" $MAP >"$W/proxy.out" &
MORE_PIDS="$MORE_PIDS $!"
i=0
until grep -q ready "$W/proxy.out" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 300 ] && { echo "the delay proxy did not start" >&2; exit 1; }
  sleep 0.1
done
FAR1=${FAR# }
FAR1=${FAR1%% *}
"$P" probe --service nbd $FAR --ca cacert.pem --client-cert clientcert.pem --client-key clientkey.pem | tail -1
hyperfine -N -w 2 -r 20 \
  "$P probe --service nbd $FAR1 --ca cacert.pem --client-cert clientcert.pem --client-key clientkey.pem" \
  "$P probe --service nbd $FAR --ca cacert.pem --client-cert clientcert.pem --client-key clientkey.pem" \
  </dev/null
