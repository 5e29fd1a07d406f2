# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_pkitool_global_optspecs
    string join \n h/help V/version
end

function __fish_pkitool_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_pkitool_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_pkitool_using_subcommand
    set -l cmd (__fish_pkitool_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c pkitool -n "__fish_pkitool_needs_command" -s h -l help -d 'Print help'
complete -c pkitool -n "__fish_pkitool_needs_command" -s V -l version -d 'Print version'
complete -c pkitool -n "__fish_pkitool_needs_command" -f -a "init-ca" -d 'Create a certificate authority (cacert.pem, cakey.pem) in --dir'
complete -c pkitool -n "__fish_pkitool_needs_command" -f -a "issue" -d 'Issue a server or client certificate signed by the CA'
complete -c pkitool -n "__fish_pkitool_needs_command" -f -a "request" -d 'On a host: make a private key (it never leaves the host) and a certificate request'
complete -c pkitool -n "__fish_pkitool_needs_command" -f -a "sign" -d 'On the CA machine: sign a certificate request with pkitool\'s server or client profile'
complete -c pkitool -n "__fish_pkitool_needs_command" -f -a "template" -d 'Work with certtool .info templates'
complete -c pkitool -n "__fish_pkitool_needs_command" -f -a "validate" -d 'Validate a libvirt/QEMU PKI layout: the verdict QEMU and libvirt would give, and the fix'
complete -c pkitool -n "__fish_pkitool_needs_command" -f -a "dn" -d 'Print a certificate\'s subject DN exactly as libvirt and QEMU compare it'
complete -c pkitool -n "__fish_pkitool_needs_command" -f -a "show" -d 'Summarise the certificates, keys and CRLs in files'
complete -c pkitool -n "__fish_pkitool_needs_command" -f -a "match-dn" -d 'Check whether a libvirt tls_allowed_dn_list pattern matches a certificate'
complete -c pkitool -n "__fish_pkitool_needs_command" -f -a "list" -d 'List the certificates the CA issued (its ledger), with their status'
complete -c pkitool -n "__fish_pkitool_needs_command" -f -a "renew" -d 'Re-issue certificates in place: same subject, SANs, usages and key, new serial'
complete -c pkitool -n "__fish_pkitool_needs_command" -f -a "revoke" -d 'Mark certificates revoked in the CA\'s ledger (then write the CRL with `crl`)'
complete -c pkitool -n "__fish_pkitool_needs_command" -f -a "crl" -d 'Write the CA\'s CRL of every revoked, unexpired certificate'
complete -c pkitool -n "__fish_pkitool_needs_command" -f -a "probe" -d 'Probe a running libvirtd, QEMU NBD or VNC server, or any TLS port: judge the chain it presents and whether it admits the client certificate'
complete -c pkitool -n "__fish_pkitool_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh or fish)'
complete -c pkitool -n "__fish_pkitool_needs_command" -f -a "man" -d 'Write the man pages (pkitool.1 and one page per subcommand) into a directory'
complete -c pkitool -n "__fish_pkitool_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pkitool -n "__fish_pkitool_using_subcommand init-ca" -l dir -d 'Directory that receives cacert.pem (0644) and cakey.pem (0600)' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand init-ca" -l cn -d 'Common name of the CA. Asked for on a terminal when missing and not in the template' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand init-ca" -l org -d 'Organization (O) of the CA' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand init-ca" -l template -d 'certtool .info template; command-line flags override its values' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand init-ca" -l key-type -d 'Key algorithm' -r -f -a "ecdsa-p256\t'ECDSA on NIST P-256 (default)'
ecdsa-p384\t'ECDSA on NIST P-384'
ed25519\t'Ed25519'
rsa-2048\t'RSA, 2048 bits'
rsa-3072\t'RSA, 3072 bits'
rsa-4096\t'RSA, 4096 bits'"
complete -c pkitool -n "__fish_pkitool_using_subcommand init-ca" -l days -d 'Validity in days (default 3650)' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand init-ca" -l password-file -d 'File whose first line is the key password (never pass passwords on the command line)' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand init-ca" -l parent -d 'Make an intermediate CA (pathLen 0) signed by the CA in this directory (its cacert.pem and cakey.pem); --dir then receives the intermediate\'s key and a cacert.pem holding the intermediate followed by the root' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand init-ca" -l path-len -d 'The CA\'s pathLenConstraint: how many intermediate CAs may follow it. New CAs get 0 (they sign leaves only) unless this or the template\'s path_len says otherwise; a root that will be the --parent of an intermediate needs --path-len 1 (or more)' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand init-ca" -l parent-password-file -d 'File whose first line is the password of the parent CA\'s key, when it is encrypted' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand init-ca" -l encrypt-key -d 'Encrypt cakey.pem (PKCS#8, PBKDF2-SHA256 + AES-256-CBC). The password is prompted for on a terminal, or read from --password-file'
complete -c pkitool -n "__fish_pkitool_using_subcommand init-ca" -l force -d 'Replace existing files (atomically)'
complete -c pkitool -n "__fish_pkitool_using_subcommand init-ca" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pkitool -n "__fish_pkitool_using_subcommand init-ca" -s V -l version -d 'Print version'
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l dir -d 'The CA\'s directory (holds cacert.pem and cakey.pem)' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l ca-cert -d 'CA certificate to sign with (instead of DIR/cacert.pem)' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l ca-key -d 'CA private key to sign with (instead of DIR/cakey.pem): PKCS#1, SEC1 or PKCS#8, PEM or DER, encrypted or not' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l out -d 'Output directory for --layout flat (default: --dir) or --layout qemu (default: PREFIX/etc/pki/qemu). Refused with --layout libvirt and --service, which write the system tree under --root' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l layout -d 'File naming scheme (default flat; qemu with --service)' -r -f -a "flat\t'libvirt pkipath names in --out (servercert.pem, serverkey.pem, ...)'
qemu\t'QEMU names (ca-cert.pem, server-cert.pem, server-key.pem, ...) in --out, or in PREFIX/etc/pki/qemu (the key then gets QEMU\'s group)'
libvirt\t'The system tree under --root (etc/pki/CA, etc/pki/libvirt, etc/pki/libvirt/private)'"
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l root -d 'System tree prefix (default /) for --layout libvirt, --layout qemu (PREFIX/etc/pki/qemu) and --service (PREFIX/etc/pki/libvirt-SERVICE). Refused with --layout flat' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l service -d 'Write QEMU names into the per-service directory libvirt\'s qemu.conf uses for this service, PREFIX/etc/pki/libvirt-SERVICE (implies --layout qemu)' -r -f -a "vnc\t'VNC (vnc_tls_x509_cert_dir)'
spice\t'SPICE (spice_tls_x509_cert_dir)'
chardev\t'Character devices (chardev_tls_x509_cert_dir)'
migrate\t'Migration (migrate_tls_x509_cert_dir)'
backup\t'Backup (backup_tls_x509_cert_dir)'
nbd\t'NBD (nbd_tls_x509_cert_dir)'"
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l group -d 'Make the private key root:GROUP 0640 (certificates stay 0644), so QEMU running as an unprivileged user can read it. Default for QEMU layouts under a system tree: the group in PREFIX/etc/libvirt/qemu.conf, else the distribution\'s QEMU group' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l cn -d 'Common name. For a server, the host name clients use; it is also added as a DNS SAN' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l san -d 'Subject alternative name: a DNS name or an IPv4/IPv6 address (repeatable)' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l dn -d 'Whole subject DN in libvirt\'s order, e.g. "C=GB,ST=London,L=London,O=Example Org,CN=client1"' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l org -d 'Organization (O)' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l template -d 'certtool .info template; command-line flags override its values' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l key-type -d 'Key algorithm' -r -f -a "ecdsa-p256\t'ECDSA on NIST P-256 (default)'
ecdsa-p384\t'ECDSA on NIST P-384'
ed25519\t'Ed25519'
rsa-2048\t'RSA, 2048 bits'
rsa-3072\t'RSA, 3072 bits'
rsa-4096\t'RSA, 4096 bits'"
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l days -d 'Validity in days (default 365)' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l password-file -d 'File whose first line is the CA key\'s password, when the CA key is encrypted' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l key-password-file -d 'File whose first line is the new key\'s password for --encrypt-key (`-`: standard input; default: asked on the terminal). Not the CA\'s: QEMU\'s secret must not open the CA key' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l add-ca -d 'Append this CA to an existing CA certificate file that does not hold it (a trust bundle) instead of refusing; the file\'s other certificates are kept'
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l clamp-to-ca -d 'Shorten the validity to end with the CA\'s instead of failing when it would outlive the CA'
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l encrypt-key -d 'Encrypt the new key (PKCS#8, PBKDF2-SHA256 + AES-256-CBC) for QEMU, which decrypts it with a secret object (tls-creds-x509 passwordid; libvirt: qemu.conf *_tls_x509_secret_uuid), and print those steps. QEMU layouts only: libvirtd and virsh cannot load encrypted keys'
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -l force -d 'Replace existing files (atomically)'
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pkitool -n "__fish_pkitool_using_subcommand issue" -s V -l version -d 'Print version'
complete -c pkitool -n "__fish_pkitool_using_subcommand request" -l out -d 'Directory receiving the key and the request (flat layout: default the current directory; qemu layout: default PREFIX/etc/pki/qemu)' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand request" -l layout -d 'File naming scheme (the names `issue` writes; flat by default)' -r -f -a "flat\t'libvirt pkipath names in --out (servercert.pem, serverkey.pem, ...)'
qemu\t'QEMU names (ca-cert.pem, server-cert.pem, server-key.pem, ...) in --out, or in PREFIX/etc/pki/qemu (the key then gets QEMU\'s group)'
libvirt\t'The system tree under --root (etc/pki/CA, etc/pki/libvirt, etc/pki/libvirt/private)'"
complete -c pkitool -n "__fish_pkitool_using_subcommand request" -l root -d 'Prefix of the system tree for --layout libvirt and --layout qemu (default /)' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand request" -l csr -d 'Where the request goes (default: the certificate\'s future path with .csr instead of .pem)' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand request" -l cn -d 'Common name. For a server, the host name clients use; it is also added as a DNS SAN' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand request" -l san -d 'Subject alternative name: a DNS name or an IPv4/IPv6 address (repeatable)' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand request" -l dn -d 'Whole subject DN in libvirt\'s order, e.g. "C=GB,ST=London,L=London,O=Example Org,CN=client1"' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand request" -l org -d 'Organization (O)' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand request" -l template -d 'certtool .info template (subject and SANs); command-line flags override its values' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand request" -l key-type -d 'Key algorithm' -r -f -a "ecdsa-p256\t'ECDSA on NIST P-256 (default)'
ecdsa-p384\t'ECDSA on NIST P-384'
ed25519\t'Ed25519'
rsa-2048\t'RSA, 2048 bits'
rsa-3072\t'RSA, 3072 bits'
rsa-4096\t'RSA, 4096 bits'"
complete -c pkitool -n "__fish_pkitool_using_subcommand request" -l group -d 'Make the key 0640 and owned by this group (e.g. the QEMU user\'s group) instead of 0600' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand request" -l force -d 'Replace existing files (atomically)'
complete -c pkitool -n "__fish_pkitool_using_subcommand request" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pkitool -n "__fish_pkitool_using_subcommand request" -s V -l version -d 'Print version'
complete -c pkitool -n "__fish_pkitool_using_subcommand sign" -l dir -d 'The CA\'s directory (holds cacert.pem and cakey.pem)' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand sign" -l ca-cert -d 'CA certificate to sign with (instead of DIR/cacert.pem)' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand sign" -l ca-key -d 'CA private key to sign with (instead of DIR/cakey.pem)' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand sign" -l out -d 'Where the certificate goes' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand sign" -l san -d 'Another subject alternative name, added to the request\'s (repeatable)' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand sign" -l days -d 'Validity in days (default 365)' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand sign" -l template -d 'certtool .info template: validity, serial, extra SANs, both TLS purposes. Its subject fields are not used (the subject is the request\'s)' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand sign" -l password-file -d 'File whose first line is the CA key\'s password, when the CA key is encrypted' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand sign" -l clamp-to-ca -d 'Shorten the validity to end with the CA\'s instead of failing when it would outlive the CA'
complete -c pkitool -n "__fish_pkitool_using_subcommand sign" -l force -d 'Replace an existing --out file (atomically)'
complete -c pkitool -n "__fish_pkitool_using_subcommand sign" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pkitool -n "__fish_pkitool_using_subcommand sign" -s V -l version -d 'Print version'
complete -c pkitool -n "__fish_pkitool_using_subcommand template; and not __fish_seen_subcommand_from show help" -s h -l help -d 'Print help'
complete -c pkitool -n "__fish_pkitool_using_subcommand template; and not __fish_seen_subcommand_from show help" -s V -l version -d 'Print version'
complete -c pkitool -n "__fish_pkitool_using_subcommand template; and not __fish_seen_subcommand_from show help" -f -a "show" -d 'Print a shipped template (certtool .info format)'
complete -c pkitool -n "__fish_pkitool_using_subcommand template; and not __fish_seen_subcommand_from show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pkitool -n "__fish_pkitool_using_subcommand template; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pkitool -n "__fish_pkitool_using_subcommand template; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c pkitool -n "__fish_pkitool_using_subcommand template; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print a shipped template (certtool .info format)'
complete -c pkitool -n "__fish_pkitool_using_subcommand template; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pkitool -n "__fish_pkitool_using_subcommand validate" -l root -d 'Apply the system layout to a staged tree (an image, a chroot)' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand validate" -l libvirtd-conf -d 'Read key_file, cert_file, ca_file, crl_file and tls_allowed_dn_list from this libvirtd.conf' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand validate" -l qemu-conf -d 'Read the QEMU certificate directories (default_tls_x509_cert_dir, vnc_/spice_/chardev_/ migrate_/backup_/nbd_tls_x509_cert_dir), their secrets and QEMU\'s user from this qemu.conf' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand validate" -l ca -d 'CA certificate to check loose certificates against (fleet mode only)' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand validate" -l ca-dir -d 'The directory holding the CA\'s cacert.pem and cakey.pem: re-issue fixes then name it' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand validate" -l hostname -d 'A DNS name or IP clients use to reach the server (repeatable)' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand validate" -l allowed-dn -d 'A libvirt tls_allowed_dn_list pattern the client certificates must match (repeatable)' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand validate" -l at -d 'Evaluate at this time (RFC 3339, e.g. 2027-01-31T00:00:00Z) instead of now' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand validate" -l warn-within -d 'Warn about certificates expiring within this many days' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand validate" -l consumers -d 'Judge against these libvirt and QEMU versions instead of the strictest widely deployed ones (libvirt 9.0.0, QEMU 10.0.2), e.g. qemu=10.2,libvirt=11.0' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand validate" -l format -d 'Output format' -r -f -a "text\t'Human-readable text (colour on a terminal)'
json\t'Machine-readable JSON (a versioned contract, see the README)'
sarif\t'SARIF 2.1.0, for GitHub code scanning and other SARIF consumers'
junit\t'JUnit XML, for GitLab and Jenkins test reports'"
complete -c pkitool -n "__fish_pkitool_using_subcommand validate" -l user -d 'Check the per-user layout ($HOME/.pki/libvirt)'
complete -c pkitool -n "__fish_pkitool_using_subcommand validate" -l strict -d 'Exit 1 on warnings too (and, with --format junit, report warnings as failures)'
complete -c pkitool -n "__fish_pkitool_using_subcommand validate" -s q -l quiet -d 'Print only errors, warnings and the summary line (--format text only)'
complete -c pkitool -n "__fish_pkitool_using_subcommand validate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pkitool -n "__fish_pkitool_using_subcommand validate" -s V -l version -d 'Print version'
complete -c pkitool -n "__fish_pkitool_using_subcommand dn" -l libvirtd -d 'Print a ready libvirtd.conf `tls_allowed_dn_list = [...]` line (every FILE\'s DN, in order, each once)'
complete -c pkitool -n "__fish_pkitool_using_subcommand dn" -l qemu -d 'Print a ready QEMU `--object authz-simple,...` argument and its QMP object-add JSON'
complete -c pkitool -n "__fish_pkitool_using_subcommand dn" -s h -l help -d 'Print help'
complete -c pkitool -n "__fish_pkitool_using_subcommand dn" -s V -l version -d 'Print version'
complete -c pkitool -n "__fish_pkitool_using_subcommand show" -l consumers -d 'Judge against these libvirt and QEMU versions instead of the strictest widely deployed ones (libvirt 9.0.0, QEMU 10.0.2), e.g. qemu=10.2,libvirt=11.0' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand show" -l format -d 'Output format' -r -f -a "text\t'Human-readable text (colour on a terminal)'
json\t'Machine-readable JSON (a versioned contract, see the README)'"
complete -c pkitool -n "__fish_pkitool_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pkitool -n "__fish_pkitool_using_subcommand show" -s V -l version -d 'Print version'
complete -c pkitool -n "__fish_pkitool_using_subcommand match-dn" -s h -l help -d 'Print help'
complete -c pkitool -n "__fish_pkitool_using_subcommand match-dn" -s V -l version -d 'Print version'
complete -c pkitool -n "__fish_pkitool_using_subcommand list" -l dir -d 'The CA\'s directory (holds the ledger, pkitool-ledger.jsonl)' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand list" -l expiring-within -d 'Only certificates (not revoked or superseded) expiring within DAYS, expired ones included; also the window of the `expiring` status (default 30)' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand list" -l status -d 'Only certificates with this status' -r -f -a "valid\t'Valid and not expiring within the window'
expiring\t'Valid but expiring within the window'
expired\t'Expired'
revoked\t'Revoked'
superseded\t'Renewed (a newer certificate supersedes it)'"
complete -c pkitool -n "__fish_pkitool_using_subcommand list" -l format -d 'Output format' -r -f -a "text\t'Human-readable text (colour on a terminal)'
json\t'Machine-readable JSON (a versioned contract, see the README)'"
complete -c pkitool -n "__fish_pkitool_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pkitool -n "__fish_pkitool_using_subcommand list" -s V -l version -d 'Print version'
complete -c pkitool -n "__fish_pkitool_using_subcommand renew" -l dir -d 'The CA\'s directory (holds cacert.pem, cakey.pem and the ledger)' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand renew" -l ca-cert -d 'CA certificate (instead of DIR/cacert.pem); its directory holds the ledger' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand renew" -l ca-key -d 'CA private key (instead of DIR/cakey.pem)' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand renew" -l within -d 'Renew only certificates expiring within DAYS; others are left byte-identical' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand renew" -l days -d 'Validity in days (default: the old certificate\'s lifetime)' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand renew" -l add-san -d 'Add a SAN (DNS name or IP address; repeatable)' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand renew" -l remove-san -d 'Remove a SAN (repeatable)' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand renew" -l password-file -d 'File whose first line is the CA key\'s password, when the CA key is encrypted' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand renew" -l format -d 'Output format (json: the summary documented in the README)' -r -f -a "text\t'Human-readable text (colour on a terminal)'
json\t'Machine-readable JSON (a versioned contract, see the README)'"
complete -c pkitool -n "__fish_pkitool_using_subcommand renew" -l rekey -d 'Generate a new key too (same type); key and certificate are replaced as one set'
complete -c pkitool -n "__fish_pkitool_using_subcommand renew" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pkitool -n "__fish_pkitool_using_subcommand renew" -s V -l version -d 'Print version'
complete -c pkitool -n "__fish_pkitool_using_subcommand revoke" -l dir -d 'The CA\'s directory' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand revoke" -l reason -d 'Why' -r -f -a "unspecified\t'0 (written without a reasonCode extension)'
keyCompromise\t'1'
cACompromise\t'2'
affiliationChanged\t'3'
superseded\t'4'
cessationOfOperation\t'5'"
complete -c pkitool -n "__fish_pkitool_using_subcommand revoke" -l unlisted -d 'Accept serials the ledger does not know (certificates this CA issued before the ledger existed); they stay in every CRL'
complete -c pkitool -n "__fish_pkitool_using_subcommand revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pkitool -n "__fish_pkitool_using_subcommand revoke" -s V -l version -d 'Print version'
complete -c pkitool -n "__fish_pkitool_using_subcommand crl" -l dir -d 'The CA\'s directory' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand crl" -l days -d 'nextUpdate = now + N days' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand crl" -l out -d 'Write the CRL here (repeatable). Default, without --layout: DIR/cacrl.pem' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand crl" -l layout -d 'Write it where libvirt or QEMU read it' -r -f -a "libvirt\t'PREFIX/etc/pki/CA/cacrl.pem (libvirtd\'s default crl_file)'
qemu\t'PREFIX/etc/pki/qemu/ca-crl.pem (QEMU server endpoints)'"
complete -c pkitool -n "__fish_pkitool_using_subcommand crl" -l root -d 'Prefix for --layout (a staged tree)' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand crl" -l password-file -d 'File whose first line is the CA key\'s password, when the CA key is encrypted' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand crl" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pkitool -n "__fish_pkitool_using_subcommand crl" -s V -l version -d 'Print version'
complete -c pkitool -n "__fish_pkitool_using_subcommand probe" -l service -d 'What the endpoints speak (and the default port)' -r -f -a "libvirt\t'libvirtd\'s TLS port (default 16514): TLS from the first byte'
nbd\t'QEMU NBD (default 10809): NBD_OPT_STARTTLS'
vnc\t'QEMU VNC (default 5900): RFB VeNCrypt with an X.509 subtype'
tls\t'Any service that starts TLS at once (QEMU migration and chardev ports, websocket VNC)'"
complete -c pkitool -n "__fish_pkitool_using_subcommand probe" -l ca -d 'CA certificate to judge the presented chain against (default: the --pkipath or local layout\'s CA)' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand probe" -l hostname -d 'The name clients use to reach the server (default: the HOST probed)' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand probe" -l client-cert -d 'Client certificate to offer' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand probe" -l client-key -d 'The client certificate\'s private key (unencrypted, as libvirt and QEMU load it)' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand probe" -l pkipath -d 'libvirt client directory: clientcert.pem, clientkey.pem (or private/clientkey.pem) and cacert.pem' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand probe" -l timeout -d 'Bound for each step (connect, protocol, handshake, answer), in seconds' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand probe" -l at -d 'Evaluate at this time (RFC 3339, e.g. 2027-01-31T00:00:00Z) instead of now' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand probe" -l warn-within -d 'Warn about certificates expiring within this many days' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand probe" -l consumers -d 'Judge for these libvirt/QEMU versions (e.g. qemu=10.2,libvirt=11.0)' -r
complete -c pkitool -n "__fish_pkitool_using_subcommand probe" -l format -d 'Output format' -r -f -a "text\t'Human-readable text (colour on a terminal)'
json\t'Machine-readable JSON (a versioned contract, see the README)'
sarif\t'SARIF 2.1.0, for GitHub code scanning and other SARIF consumers'
junit\t'JUnit XML, for GitLab and Jenkins test reports'"
complete -c pkitool -n "__fish_pkitool_using_subcommand probe" -l strict -d 'Exit 1 on warnings too'
complete -c pkitool -n "__fish_pkitool_using_subcommand probe" -s q -l quiet -d 'Print only errors, warnings and the summary line (--format text only)'
complete -c pkitool -n "__fish_pkitool_using_subcommand probe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pkitool -n "__fish_pkitool_using_subcommand probe" -s V -l version -d 'Print version'
complete -c pkitool -n "__fish_pkitool_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pkitool -n "__fish_pkitool_using_subcommand completions" -s V -l version -d 'Print version'
complete -c pkitool -n "__fish_pkitool_using_subcommand man" -l out -d 'Directory that receives the pages (created when missing), e.g. ~/.local/share/man/man1' -r -F
complete -c pkitool -n "__fish_pkitool_using_subcommand man" -l force -d 'Replace pages that exist with different content (identical pages are left alone)'
complete -c pkitool -n "__fish_pkitool_using_subcommand man" -s h -l help -d 'Print help'
complete -c pkitool -n "__fish_pkitool_using_subcommand man" -s V -l version -d 'Print version'
complete -c pkitool -n "__fish_pkitool_using_subcommand help; and not __fish_seen_subcommand_from init-ca issue request sign template validate dn show match-dn list renew revoke crl probe completions man help" -f -a "init-ca" -d 'Create a certificate authority (cacert.pem, cakey.pem) in --dir'
complete -c pkitool -n "__fish_pkitool_using_subcommand help; and not __fish_seen_subcommand_from init-ca issue request sign template validate dn show match-dn list renew revoke crl probe completions man help" -f -a "issue" -d 'Issue a server or client certificate signed by the CA'
complete -c pkitool -n "__fish_pkitool_using_subcommand help; and not __fish_seen_subcommand_from init-ca issue request sign template validate dn show match-dn list renew revoke crl probe completions man help" -f -a "request" -d 'On a host: make a private key (it never leaves the host) and a certificate request'
complete -c pkitool -n "__fish_pkitool_using_subcommand help; and not __fish_seen_subcommand_from init-ca issue request sign template validate dn show match-dn list renew revoke crl probe completions man help" -f -a "sign" -d 'On the CA machine: sign a certificate request with pkitool\'s server or client profile'
complete -c pkitool -n "__fish_pkitool_using_subcommand help; and not __fish_seen_subcommand_from init-ca issue request sign template validate dn show match-dn list renew revoke crl probe completions man help" -f -a "template" -d 'Work with certtool .info templates'
complete -c pkitool -n "__fish_pkitool_using_subcommand help; and not __fish_seen_subcommand_from init-ca issue request sign template validate dn show match-dn list renew revoke crl probe completions man help" -f -a "validate" -d 'Validate a libvirt/QEMU PKI layout: the verdict QEMU and libvirt would give, and the fix'
complete -c pkitool -n "__fish_pkitool_using_subcommand help; and not __fish_seen_subcommand_from init-ca issue request sign template validate dn show match-dn list renew revoke crl probe completions man help" -f -a "dn" -d 'Print a certificate\'s subject DN exactly as libvirt and QEMU compare it'
complete -c pkitool -n "__fish_pkitool_using_subcommand help; and not __fish_seen_subcommand_from init-ca issue request sign template validate dn show match-dn list renew revoke crl probe completions man help" -f -a "show" -d 'Summarise the certificates, keys and CRLs in files'
complete -c pkitool -n "__fish_pkitool_using_subcommand help; and not __fish_seen_subcommand_from init-ca issue request sign template validate dn show match-dn list renew revoke crl probe completions man help" -f -a "match-dn" -d 'Check whether a libvirt tls_allowed_dn_list pattern matches a certificate'
complete -c pkitool -n "__fish_pkitool_using_subcommand help; and not __fish_seen_subcommand_from init-ca issue request sign template validate dn show match-dn list renew revoke crl probe completions man help" -f -a "list" -d 'List the certificates the CA issued (its ledger), with their status'
complete -c pkitool -n "__fish_pkitool_using_subcommand help; and not __fish_seen_subcommand_from init-ca issue request sign template validate dn show match-dn list renew revoke crl probe completions man help" -f -a "renew" -d 'Re-issue certificates in place: same subject, SANs, usages and key, new serial'
complete -c pkitool -n "__fish_pkitool_using_subcommand help; and not __fish_seen_subcommand_from init-ca issue request sign template validate dn show match-dn list renew revoke crl probe completions man help" -f -a "revoke" -d 'Mark certificates revoked in the CA\'s ledger (then write the CRL with `crl`)'
complete -c pkitool -n "__fish_pkitool_using_subcommand help; and not __fish_seen_subcommand_from init-ca issue request sign template validate dn show match-dn list renew revoke crl probe completions man help" -f -a "crl" -d 'Write the CA\'s CRL of every revoked, unexpired certificate'
complete -c pkitool -n "__fish_pkitool_using_subcommand help; and not __fish_seen_subcommand_from init-ca issue request sign template validate dn show match-dn list renew revoke crl probe completions man help" -f -a "probe" -d 'Probe a running libvirtd, QEMU NBD or VNC server, or any TLS port: judge the chain it presents and whether it admits the client certificate'
complete -c pkitool -n "__fish_pkitool_using_subcommand help; and not __fish_seen_subcommand_from init-ca issue request sign template validate dn show match-dn list renew revoke crl probe completions man help" -f -a "completions" -d 'Print a shell completion script (bash, zsh or fish)'
complete -c pkitool -n "__fish_pkitool_using_subcommand help; and not __fish_seen_subcommand_from init-ca issue request sign template validate dn show match-dn list renew revoke crl probe completions man help" -f -a "man" -d 'Write the man pages (pkitool.1 and one page per subcommand) into a directory'
complete -c pkitool -n "__fish_pkitool_using_subcommand help; and not __fish_seen_subcommand_from init-ca issue request sign template validate dn show match-dn list renew revoke crl probe completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c pkitool -n "__fish_pkitool_using_subcommand help; and __fish_seen_subcommand_from template" -f -a "show" -d 'Print a shipped template (certtool .info format)'
