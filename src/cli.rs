//! Command-line definitions (clap derive). This is a contract: scripts and CI depend on it.
//!
//! The definitions live in the library so that tests can render the man pages from the exact
//! same structures (`tests/it/man.rs`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::consumer::Consumers;

/// `--consumers qemu=10.2,libvirt=11.0`.
fn parse_consumers(s: &str) -> Result<Consumers, String> {
    Consumers::parse(s)
}

/// Provision and validate the TLS certificates libvirt and QEMU use.
#[derive(Debug, Parser)]
#[command(name = "pkitool", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a certificate authority (cacert.pem, cakey.pem) in --dir.
    InitCa(InitCaArgs),
    /// Issue a server or client certificate signed by the CA.
    Issue(IssueArgs),
    /// On a host: make a private key (it never leaves the host) and a certificate request.
    Request(RequestArgs),
    /// On the CA machine: sign a certificate request with pkitool's server or client profile.
    Sign(SignArgs),
    /// Work with certtool .info templates.
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Validate a libvirt/QEMU PKI layout: the verdict QEMU and libvirt would give, and the fix.
    Validate(ValidateArgs),
    /// Print a certificate's subject DN exactly as libvirt and QEMU compare it.
    Dn(DnArgs),
    /// Summarise the certificates, keys and CRLs in files.
    Show(ShowArgs),
    /// Check whether a libvirt tls_allowed_dn_list pattern matches a certificate.
    MatchDn(MatchDnArgs),
    /// List the certificates the CA issued (its ledger), with their status.
    List(ListArgs),
    /// Re-issue certificates in place: same subject, SANs, usages and key, new serial.
    Renew(RenewArgs),
    /// Mark certificates revoked in the CA's ledger (then write the CRL with `crl`).
    Revoke(RevokeArgs),
    /// Write the CA's CRL of every revoked, unexpired certificate.
    Crl(CrlArgs),
    /// Probe a running libvirtd, QEMU NBD or VNC server, or any TLS port: judge the chain it
    /// presents and whether it admits the client certificate.
    Probe(ProbeArgs),
    /// Print a shell completion script (bash, zsh or fish).
    Completions(CompletionsArgs),
    /// Write the man pages (pkitool.1 and one page per subcommand) into a directory.
    Man(ManArgs),
}

/// Key algorithms pkitool can generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyTypeArg {
    /// ECDSA on NIST P-256 (default).
    #[value(name = "ecdsa-p256")]
    EcdsaP256,
    /// ECDSA on NIST P-384.
    #[value(name = "ecdsa-p384")]
    EcdsaP384,
    /// Ed25519.
    #[value(name = "ed25519")]
    Ed25519,
    /// RSA, 2048 bits.
    #[value(name = "rsa-2048")]
    Rsa2048,
    /// RSA, 3072 bits.
    #[value(name = "rsa-3072")]
    Rsa3072,
    /// RSA, 4096 bits.
    #[value(name = "rsa-4096")]
    Rsa4096,
}

/// `pkitool init-ca`.
#[derive(Debug, Args)]
pub struct InitCaArgs {
    /// Directory that receives cacert.pem (0644) and cakey.pem (0600).
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// Common name of the CA. Asked for on a terminal when missing and not in the template.
    #[arg(long, value_name = "CN")]
    pub cn: Option<String>,
    /// Organization (O) of the CA.
    #[arg(long, value_name = "ORG")]
    pub org: Option<String>,
    /// certtool .info template; command-line flags override its values.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// Key algorithm.
    #[arg(long, value_enum, value_name = "TYPE")]
    pub key_type: Option<KeyTypeArg>,
    /// Validity in days (default 3650).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub days: Option<i64>,
    /// Encrypt cakey.pem (PKCS#8, PBKDF2-SHA256 + AES-256-CBC). The password is prompted for on a
    /// terminal, or read from --password-file.
    #[arg(long)]
    pub encrypt_key: bool,
    /// File whose first line is the key password (never pass passwords on the command line).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Make an intermediate CA (pathLen 0) signed by the CA in this directory (its cacert.pem and
    /// cakey.pem); --dir then receives the intermediate's key and a cacert.pem holding the
    /// intermediate followed by the root.
    #[arg(long, value_name = "ROOTDIR")]
    pub parent: Option<PathBuf>,
    /// The CA's pathLenConstraint: how many intermediate CAs may follow it. New CAs get 0 (they
    /// sign leaves only) unless this or the template's path_len says otherwise; a root that
    /// will be the --parent of an intermediate needs --path-len 1 (or more).
    #[arg(long, value_name = "N")]
    pub path_len: Option<u32>,
    /// File whose first line is the password of the parent CA's key, when it is encrypted.
    #[arg(long, value_name = "FILE", requires = "parent")]
    pub parent_password_file: Option<PathBuf>,
    /// Replace existing files (atomically).
    #[arg(long)]
    pub force: bool,
}

/// Which kind of leaf certificate to issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LeafKind {
    /// A TLS server certificate (EKU serverAuth).
    Server,
    /// A TLS client certificate (EKU clientAuth).
    Client,
}

/// Where issued files are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LayoutArg {
    /// libvirt pkipath names in --out (servercert.pem, serverkey.pem, ...).
    #[default]
    Flat,
    /// QEMU names (ca-cert.pem, server-cert.pem, server-key.pem, ...) in --out, or in
    /// PREFIX/etc/pki/qemu (the key then gets QEMU's group).
    Qemu,
    /// The system tree under --root (etc/pki/CA, etc/pki/libvirt, etc/pki/libvirt/private).
    Libvirt,
}

/// The QEMU services with their own certificate directory (`/etc/pki/libvirt-SERVICE`, qemu.conf
/// `SERVICE_tls_x509_cert_dir`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QemuServiceArg {
    /// VNC (vnc_tls_x509_cert_dir).
    Vnc,
    /// SPICE (spice_tls_x509_cert_dir).
    Spice,
    /// Character devices (chardev_tls_x509_cert_dir).
    Chardev,
    /// Migration (migrate_tls_x509_cert_dir).
    Migrate,
    /// Backup (backup_tls_x509_cert_dir).
    Backup,
    /// NBD (nbd_tls_x509_cert_dir).
    Nbd,
}

/// `pkitool issue`.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// server or client.
    #[arg(value_enum)]
    pub kind: LeafKind,
    /// The CA's directory (holds cacert.pem and cakey.pem).
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// CA certificate to sign with (instead of DIR/cacert.pem).
    #[arg(long, value_name = "FILE", requires = "ca_key")]
    pub ca_cert: Option<PathBuf>,
    /// CA private key to sign with (instead of DIR/cakey.pem): PKCS#1, SEC1 or PKCS#8, PEM or DER, encrypted or not.
    #[arg(long, value_name = "FILE", requires = "ca_cert")]
    pub ca_key: Option<PathBuf>,
    /// Output directory for --layout flat (default: --dir) or --layout qemu (default:
    /// PREFIX/etc/pki/qemu). Refused with --layout libvirt and --service, which write the system
    /// tree under --root.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// File naming scheme (default flat; qemu with --service).
    #[arg(long, value_enum, value_name = "LAYOUT")]
    pub layout: Option<LayoutArg>,
    /// System tree prefix (default /) for --layout libvirt, --layout qemu (PREFIX/etc/pki/qemu)
    /// and --service (PREFIX/etc/pki/libvirt-SERVICE). Refused with --layout flat.
    #[arg(long, value_name = "PREFIX")]
    pub root: Option<PathBuf>,
    /// Write QEMU names into the per-service directory libvirt's qemu.conf uses for this service,
    /// PREFIX/etc/pki/libvirt-SERVICE (implies --layout qemu).
    #[arg(long, value_enum, value_name = "SERVICE")]
    pub service: Option<QemuServiceArg>,
    /// Make the private key root:GROUP 0640 (certificates stay 0644), so QEMU running as an
    /// unprivileged user can read it. Default for QEMU layouts under a system tree: the group in
    /// PREFIX/etc/libvirt/qemu.conf, else the distribution's QEMU group.
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Append this CA to an existing CA certificate file that does not hold it (a trust bundle)
    /// instead of refusing; the file's other certificates are kept.
    #[arg(long)]
    pub add_ca: bool,
    /// Common name. For a server, the host name clients use; it is also added as a DNS SAN.
    #[arg(long, value_name = "CN")]
    pub cn: Option<String>,
    /// Subject alternative name: a DNS name or an IPv4/IPv6 address (repeatable).
    #[arg(long = "san", value_name = "NAME_OR_IP")]
    pub sans: Vec<String>,
    /// Whole subject DN in libvirt's order, e.g. "C=GB,ST=London,L=London,O=Example Org,CN=client1".
    #[arg(long, value_name = "DN")]
    pub dn: Option<String>,
    /// Organization (O).
    #[arg(long, value_name = "ORG")]
    pub org: Option<String>,
    /// certtool .info template; command-line flags override its values.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// Key algorithm.
    #[arg(long, value_enum, value_name = "TYPE")]
    pub key_type: Option<KeyTypeArg>,
    /// Validity in days (default 365).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub days: Option<i64>,
    /// Shorten the validity to end with the CA's instead of failing when it would outlive the CA.
    #[arg(long)]
    pub clamp_to_ca: bool,
    /// File whose first line is the CA key's password, when the CA key is encrypted.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Encrypt the new key (PKCS#8, PBKDF2-SHA256 + AES-256-CBC) for QEMU, which decrypts it with
    /// a secret object (tls-creds-x509 passwordid; libvirt: qemu.conf *_tls_x509_secret_uuid), and
    /// print those steps. QEMU layouts only: libvirtd and virsh cannot load encrypted keys.
    #[arg(long)]
    pub encrypt_key: bool,
    /// File whose first line is the new key's password for --encrypt-key (`-`: standard input;
    /// default: asked on the terminal). Not the CA's: QEMU's secret must not open the CA key.
    #[arg(long, value_name = "FILE", requires = "encrypt_key")]
    pub key_password_file: Option<PathBuf>,
    /// Replace existing files (atomically).
    #[arg(long)]
    pub force: bool,
}

/// `pkitool request`.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// server or client.
    #[arg(value_enum)]
    pub kind: LeafKind,
    /// Directory receiving the key and the request (flat layout: default the current directory;
    /// qemu layout: default PREFIX/etc/pki/qemu).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// File naming scheme (the names `issue` writes; flat by default).
    #[arg(long, value_enum, value_name = "L")]
    pub layout: Option<LayoutArg>,
    /// Prefix of the system tree for --layout libvirt and --layout qemu (default /).
    #[arg(long, value_name = "PREFIX")]
    pub root: Option<PathBuf>,
    /// Where the request goes (default: the certificate's future path with .csr instead of .pem).
    #[arg(long, value_name = "FILE")]
    pub csr: Option<PathBuf>,
    /// Common name. For a server, the host name clients use; it is also added as a DNS SAN.
    #[arg(long, value_name = "CN")]
    pub cn: Option<String>,
    /// Subject alternative name: a DNS name or an IPv4/IPv6 address (repeatable).
    #[arg(long = "san", value_name = "NAME_OR_IP")]
    pub sans: Vec<String>,
    /// Whole subject DN in libvirt's order, e.g. "C=GB,ST=London,L=London,O=Example Org,CN=client1".
    #[arg(long, value_name = "DN")]
    pub dn: Option<String>,
    /// Organization (O).
    #[arg(long, value_name = "ORG")]
    pub org: Option<String>,
    /// certtool .info template (subject and SANs); command-line flags override its values.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// Key algorithm.
    #[arg(long, value_enum, value_name = "TYPE")]
    pub key_type: Option<KeyTypeArg>,
    /// Make the key 0640 and owned by this group (e.g. the QEMU user's group) instead of 0600.
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Replace existing files (atomically).
    #[arg(long)]
    pub force: bool,
}

/// `pkitool sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// server or client: the profile applied, whatever the request asks for.
    #[arg(value_enum)]
    pub kind: LeafKind,
    /// The certificate request (PEM or DER), from pkitool request, certtool or openssl.
    #[arg(value_name = "CSR")]
    pub csr: PathBuf,
    /// The CA's directory (holds cacert.pem and cakey.pem).
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// CA certificate to sign with (instead of DIR/cacert.pem).
    #[arg(long, value_name = "FILE", requires = "ca_key")]
    pub ca_cert: Option<PathBuf>,
    /// CA private key to sign with (instead of DIR/cakey.pem).
    #[arg(long, value_name = "FILE", requires = "ca_cert")]
    pub ca_key: Option<PathBuf>,
    /// Where the certificate goes.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Another subject alternative name, added to the request's (repeatable).
    #[arg(long = "san", value_name = "NAME_OR_IP")]
    pub sans: Vec<String>,
    /// Validity in days (default 365).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub days: Option<i64>,
    /// Shorten the validity to end with the CA's instead of failing when it would outlive the CA.
    #[arg(long)]
    pub clamp_to_ca: bool,
    /// certtool .info template: validity, serial, extra SANs, both TLS purposes. Its subject
    /// fields are not used (the subject is the request's).
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// File whose first line is the CA key's password, when the CA key is encrypted.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Replace an existing --out file (atomically).
    #[arg(long)]
    pub force: bool,
}

/// `pkitool template ...`.
#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Print a shipped template (certtool .info format).
    Show {
        /// Which template.
        #[arg(value_enum)]
        which: TemplateName,
    },
}

/// The shipped templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TemplateName {
    /// templates/ca.info
    Ca,
    /// templates/server.info
    Server,
    /// templates/client.info
    Client,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Human-readable text (colour on a terminal).
    #[default]
    Text,
    /// Machine-readable JSON (a versioned contract, see the README).
    Json,
}

/// Report formats of `validate` (and of the other commands that report findings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ReportFormat {
    /// Human-readable text (colour on a terminal).
    #[default]
    Text,
    /// Machine-readable JSON (a versioned contract, see the README).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF consumers.
    Sarif,
    /// JUnit XML, for GitLab and Jenkins test reports.
    Junit,
}

/// `pkitool validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Directories or certificate files. Without any, the system layout (/etc/pki/...) is checked.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Check the per-user layout ($HOME/.pki/libvirt).
    #[arg(long)]
    pub user: bool,
    /// Apply the system layout to a staged tree (an image, a chroot).
    #[arg(long, value_name = "PREFIX")]
    pub root: Option<PathBuf>,
    /// Read key_file, cert_file, ca_file, crl_file and tls_allowed_dn_list from this libvirtd.conf.
    #[arg(long, value_name = "FILE")]
    pub libvirtd_conf: Option<PathBuf>,
    /// Read the QEMU certificate directories (default_tls_x509_cert_dir, vnc_/spice_/chardev_/
    /// migrate_/backup_/nbd_tls_x509_cert_dir), their secrets and QEMU's user from this qemu.conf.
    #[arg(long, value_name = "FILE")]
    pub qemu_conf: Option<PathBuf>,
    /// CA certificate to check loose certificates against (fleet mode only).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// The directory holding the CA's cacert.pem and cakey.pem: re-issue fixes then name it.
    #[arg(long, value_name = "DIR")]
    pub ca_dir: Option<PathBuf>,
    /// A DNS name or IP clients use to reach the server (repeatable).
    #[arg(long = "hostname", value_name = "NAME")]
    pub hostnames: Vec<String>,
    /// A libvirt tls_allowed_dn_list pattern the client certificates must match (repeatable).
    #[arg(long = "allowed-dn", value_name = "PATTERN")]
    pub allowed_dns: Vec<String>,
    /// Evaluate at this time (RFC 3339, e.g. 2027-01-31T00:00:00Z) instead of now.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Warn about certificates expiring within this many days.
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    pub warn_within: u32,
    /// Exit 1 on warnings too (and, with --format junit, report warnings as failures).
    #[arg(long)]
    pub strict: bool,
    /// Judge against these libvirt and QEMU versions instead of the strictest widely deployed
    /// ones (libvirt 9.0.0, QEMU 10.0.2), e.g. qemu=10.2,libvirt=11.0.
    #[arg(long, value_name = "NAME=VERSION,...", value_parser = parse_consumers, default_value = "libvirt=9.0.0,qemu=10.0.2")]
    pub consumers: Consumers,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Print only errors, warnings and the summary line (--format text only).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `pkitool dn`.
#[derive(Debug, Args)]
pub struct DnArgs {
    /// PEM certificate files (the first certificate of each is used). Several files print one
    /// DN per line, or with --libvirtd one `tls_allowed_dn_list` line holding every DN.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Print a ready libvirtd.conf `tls_allowed_dn_list = [...]` line (every FILE's DN, in
    /// order, each once).
    #[arg(long, conflicts_with = "qemu")]
    pub libvirtd: bool,
    /// Print a ready QEMU `--object authz-simple,...` argument and its QMP object-add JSON.
    #[arg(long)]
    pub qemu: bool,
}

/// `pkitool show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Files holding certificates, keys or CRLs (PEM or DER).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Judge against these libvirt and QEMU versions instead of the strictest widely deployed
    /// ones (libvirt 9.0.0, QEMU 10.0.2), e.g. qemu=10.2,libvirt=11.0.
    #[arg(long, value_name = "NAME=VERSION,...", value_parser = parse_consumers, default_value = "libvirt=9.0.0,qemu=10.0.2")]
    pub consumers: Consumers,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `pkitool match-dn`.
#[derive(Debug, Args)]
pub struct MatchDnArgs {
    /// A tls_allowed_dn_list pattern (GLib glob: `*` and `?`).
    #[arg(value_name = "PATTERN")]
    pub pattern: String,
    /// The client certificate.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `--status` values of `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    /// Valid and not expiring within the window.
    Valid,
    /// Valid but expiring within the window.
    Expiring,
    /// Expired.
    Expired,
    /// Revoked.
    Revoked,
    /// Renewed (a newer certificate supersedes it).
    Superseded,
}

/// `pkitool list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The CA's directory (holds the ledger, pkitool-ledger.jsonl).
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// Only certificates (not revoked or superseded) expiring within DAYS, expired ones
    /// included; also the window of the `expiring` status (default 30).
    #[arg(long, value_name = "DAYS")]
    pub expiring_within: Option<u32>,
    /// Only certificates with this status.
    #[arg(long, value_enum, value_name = "STATUS")]
    pub status: Option<StatusArg>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `pkitool renew`.
#[derive(Debug, Args)]
pub struct RenewArgs {
    /// Certificate files to renew in place (as deployed). Without any, every current ledger
    /// entry due within --within DAYS is renewed at the paths the ledger recorded.
    #[arg(value_name = "CERT")]
    pub certs: Vec<PathBuf>,
    /// The CA's directory (holds cacert.pem, cakey.pem and the ledger).
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// CA certificate (instead of DIR/cacert.pem); its directory holds the ledger.
    #[arg(long, value_name = "FILE", requires = "ca_key")]
    pub ca_cert: Option<PathBuf>,
    /// CA private key (instead of DIR/cakey.pem).
    #[arg(long, value_name = "FILE", requires = "ca_cert")]
    pub ca_key: Option<PathBuf>,
    /// Renew only certificates expiring within DAYS; others are left byte-identical.
    #[arg(long, value_name = "DAYS")]
    pub within: Option<i64>,
    /// Generate a new key too (same type); key and certificate are replaced as one set.
    #[arg(long)]
    pub rekey: bool,
    /// Validity in days (default: the old certificate's lifetime).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub days: Option<i64>,
    /// Add a SAN (DNS name or IP address; repeatable).
    #[arg(long = "add-san", value_name = "NAME")]
    pub add_sans: Vec<String>,
    /// Remove a SAN (repeatable).
    #[arg(long = "remove-san", value_name = "NAME")]
    pub remove_sans: Vec<String>,
    /// File whose first line is the CA key's password, when the CA key is encrypted.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Output format (json: the summary documented in the README).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Revocation reasons (RFC 5280 CRLReason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReasonArg {
    /// 0 (written without a reasonCode extension).
    #[value(name = "unspecified")]
    Unspecified,
    /// 1
    #[value(name = "keyCompromise")]
    KeyCompromise,
    /// 2
    #[value(name = "cACompromise")]
    CaCompromise,
    /// 3
    #[value(name = "affiliationChanged")]
    AffiliationChanged,
    /// 4
    #[value(name = "superseded")]
    Superseded,
    /// 5
    #[value(name = "cessationOfOperation")]
    CessationOfOperation,
}

/// `pkitool revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Certificate files or serial numbers (hex, colons allowed) to revoke.
    #[arg(value_name = "CERT_OR_SERIAL", required = true)]
    pub targets: Vec<String>,
    /// The CA's directory.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// Why.
    #[arg(long, value_enum, default_value_t = ReasonArg::Unspecified)]
    pub reason: ReasonArg,
    /// Accept serials the ledger does not know (certificates this CA issued before the ledger
    /// existed); they stay in every CRL.
    #[arg(long)]
    pub unlisted: bool,
}

/// Where `crl --layout` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CrlLayoutArg {
    /// PREFIX/etc/pki/CA/cacrl.pem (libvirtd's default crl_file).
    Libvirt,
    /// PREFIX/etc/pki/qemu/ca-crl.pem (QEMU server endpoints).
    Qemu,
}

/// `pkitool crl`.
#[derive(Debug, Args)]
pub struct CrlArgs {
    /// The CA's directory.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// nextUpdate = now + N days.
    #[arg(
        long,
        default_value_t = 30,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub days: i64,
    /// Write the CRL here (repeatable). Default, without --layout: DIR/cacrl.pem.
    #[arg(long, value_name = "FILE")]
    pub out: Vec<PathBuf>,
    /// Write it where libvirt or QEMU read it.
    #[arg(long, value_enum, value_name = "L")]
    pub layout: Option<CrlLayoutArg>,
    /// Prefix for --layout (a staged tree).
    #[arg(long, value_name = "PREFIX", requires = "layout")]
    pub root: Option<PathBuf>,
    /// File whose first line is the CA key's password, when the CA key is encrypted.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

/// The services `probe` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServiceArg {
    /// libvirtd's TLS port (default 16514): TLS from the first byte.
    Libvirt,
    /// QEMU NBD (default 10809): NBD_OPT_STARTTLS.
    Nbd,
    /// QEMU VNC (default 5900): RFB VeNCrypt with an X.509 subtype.
    Vnc,
    /// Any service that starts TLS at once (QEMU migration and chardev ports, websocket VNC).
    Tls,
}

/// `pkitool probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Endpoints: HOST, HOST:PORT or [IPV6]:PORT. Without --service the port decides (16514
    /// libvirt, 10809 nbd, 5900-5999 vnc).
    #[arg(value_name = "HOST[:PORT]", required = true)]
    pub targets: Vec<String>,
    /// What the endpoints speak (and the default port).
    #[arg(long, value_enum, value_name = "SERVICE")]
    pub service: Option<ServiceArg>,
    /// CA certificate to judge the presented chain against (default: the --pkipath or local
    /// layout's CA).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// The name clients use to reach the server (default: the HOST probed).
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Client certificate to offer.
    #[arg(
        long,
        value_name = "FILE",
        requires = "client_key",
        conflicts_with = "pkipath"
    )]
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (unencrypted, as libvirt and QEMU load it).
    #[arg(
        long,
        value_name = "FILE",
        requires = "client_cert",
        conflicts_with = "pkipath"
    )]
    pub client_key: Option<PathBuf>,
    /// libvirt client directory: clientcert.pem, clientkey.pem (or private/clientkey.pem) and
    /// cacert.pem.
    #[arg(long, value_name = "DIR")]
    pub pkipath: Option<PathBuf>,
    /// Bound for each step (connect, protocol, handshake, answer), in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub timeout: f64,
    /// Evaluate at this time (RFC 3339, e.g. 2027-01-31T00:00:00Z) instead of now.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Warn about certificates expiring within this many days.
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    pub warn_within: u32,
    /// Judge for these libvirt/QEMU versions (e.g. qemu=10.2,libvirt=11.0).
    #[arg(long, value_name = "NAME=VERSION,...", value_parser = parse_consumers, default_value = "libvirt=9.0.0,qemu=10.0.2")]
    pub consumers: Consumers,
    /// Exit 1 on warnings too.
    #[arg(long)]
    pub strict: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Print only errors, warnings and the summary line (--format text only).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Shells `pkitool completions` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    /// GNU bash (bash-completion).
    Bash,
    /// zsh (compsys).
    Zsh,
    /// fish.
    Fish,
}

/// `pkitool completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh or fish.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: CompletionShell,
}

/// `pkitool man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory that receives the pages (created when missing), e.g. ~/.local/share/man/man1.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub out: PathBuf,
    /// Replace pages that exist with different content (identical pages are left alone).
    #[arg(long)]
    pub force: bool,
}
