#!/bin/sh
# The Ansible role (contrib/ansible/roles/libvirt_tls) on N local hosts (ansible_connection=local,
# one staging root each): the first run (CA, issue, deploy, allow-list, validate), then the no-op
# run (everything in place: what a periodic run costs, measured with hyperfine).
# As root with a libvirt-qemu group the files get the role's owners; otherwise the current user's,
# with QEMU keys 0600 (validate refuses a 0640 key whose group is not a QEMU service group).
#   benches/ansible-role.sh            # 20 hosts
#   HOSTS=50 RUNS=5 benches/ansible-role.sh
#   PKITOOL=target/debug/pkitool benches/ansible-role.sh   # an existing binary (no release build)
#   KEY_ON_HOST=1 benches/ansible-role.sh   # keys made on the hosts (request, sign)
#   CRL=1 benches/ansible-role.sh           # the CA has a CRL (one revoked certificate) to ship
set -e
here=$(cd "$(dirname "$0")/.." && pwd)
command -v hyperfine >/dev/null || { echo "hyperfine is required (apt-get install hyperfine)" >&2; exit 2; }
command -v ansible-playbook >/dev/null || { echo "ansible-playbook is required (apt-get install ansible)" >&2; exit 2; }
if [ -n "${PKITOOL:-}" ]; then
  PK=$(cd "$(dirname "$PKITOOL")" && pwd)/$(basename "$PKITOOL")
else
  (cd "$here" && cargo build --release --quiet)
  PK="$here/target/release/pkitool"
fi
n=${HOSTS:-20}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
{
  echo "[fleet]"
  i=1
  while [ "$i" -le "$n" ]; do
    echo "host$i libvirt_tls_root=$w/hosts/host$i libvirt_tls_addresses='[\"10.0.$((i / 250)).$((i % 250 + 1))\"]'"
    i=$((i + 1))
  done
  echo "[fleet:vars]"
  echo "ansible_connection=local"
  echo "libvirt_tls_pkitool=$PK"
  echo "libvirt_tls_ca_dir=$w/ca"
  [ -n "${KEY_ON_HOST:-}" ] && echo "libvirt_tls_key_on_host=true"
  if [ "$(id -u)" = 0 ] && getent group libvirt-qemu >/dev/null; then
    echo "libvirt_tls_qemu_group=libvirt-qemu"
  else
    echo "libvirt_tls_qemu_group=$(id -gn)"
    echo "libvirt_tls_qemu_key_mode=0600"
    echo "libvirt_tls_group=$(id -gn)"
    echo "libvirt_tls_owner=$(id -un)"
  fi
} > "$w/inventory.ini"
printf -- '- hosts: fleet\n  gather_facts: false\n  roles: [libvirt_tls]\n' > "$w/site.yml"
cat > "$w/ansible.cfg" <<CFG
[defaults]
roles_path = $here/contrib/ansible/roles
nocolor = True
retry_files_enabled = False
localhost_warning = False
interpreter_python = /usr/bin/python3
forks = ${FORKS:-5}
[connection]
pipelining = True
CFG
export ANSIBLE_CONFIG="$w/ansible.cfg"
if [ -n "${CRL:-}" ]; then
  "$PK" init-ca --dir "$w/ca" --cn "libvirt fleet CA" --key-type ecdsa-p256 --days 3650 >/dev/null
  "$PK" issue client --dir "$w/ca" --out "$w/revoked" --cn revoked >/dev/null
  "$PK" revoke --dir "$w/ca" "$w/revoked/clientcert.pem" >/dev/null
  "$PK" crl --dir "$w/ca" >/dev/null
fi
play="ansible-playbook -i $w/inventory.ini $w/site.yml"
echo "first run, $n hosts:"
/usr/bin/time -f '  %e s wall, %U s user, %S s sys' $play >/dev/null
hyperfine --runs ${RUNS:-3} --export-markdown "$w/noop.md" -n "no-op run, $n hosts" "$play"
cat "$w/noop.md"
