//! The relay's PKI, made in one non-interactive step.
//!
//! The original's `create_mig_ca.sh` asked for each subject at an openssl
//! prompt and issued certificates without subject alternative names, which
//! current TLS stacks refuse to match against a host name. [`ensure`] makes,
//! in one directory:
//!
//! | file | what |
//! |---|---|
//! | `ca/ca.crt`, `ca/ca.key` | the CA (10 years, may only sign leaf certificates) |
//! | `rabbitmq.crt`, `rabbitmq.key` | the relay's server certificate, SANs = the relay's host names and addresses |
//! | `scheduler.*`, `worker.*`, `agent.*` | client certificates for the relay's TLS listener (`verify_peer`, `fail_if_no_peer_cert`) |
//!
//! Keys are ECDSA P-256 (accepted by RabbitMQ, Go's crypto/tls and rustls),
//! written with mode 0600. What exists is kept: a second run changes nothing
//! unless `force` is set, and a missing CA makes every leaf certificate anew
//! (they would not chain to the new CA).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

/// The client roles that get a certificate, in the original's order.
pub const CLIENT_ROLES: [&str; 3] = ["scheduler", "worker", "agent"];

/// What to make.
#[derive(Debug, Clone)]
pub struct Options {
    /// The output directory (created when missing).
    pub dir: PathBuf,
    /// The relay's DNS names and IP addresses, as agents reach it; the first
    /// one is also the certificate's common name.
    pub relay_hosts: Vec<String>,
    /// Validity of the leaf certificates, in days.
    pub days: u32,
    /// Make everything anew, CA included.
    pub force: bool,
}

/// A PKI error, naming the file or the parameter at fault.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a private key mig-pki can use: {source}")]
    Key { path: PathBuf, source: rcgen::Error },
    #[error("relay host {host:?}: {source}")]
    Host { host: String, source: rcgen::Error },
    #[error("relay host {0:?}: not a DNS name or an IP address")]
    BadHost(String),
    #[error("no relay host given (-relayhost)")]
    NoRelayHost,
    #[error("-days must be between 1 and 36500, not {0}")]
    Days(u32),
    #[error("cannot make {what}: {source}")]
    Generate {
        what: &'static str,
        source: rcgen::Error,
    },
}

/// What [`ensure`] did with each file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub created: Vec<PathBuf>,
    pub kept: Vec<PathBuf>,
}

/// The certificate and key paths of `name` (`ca` lives in `ca/`).
pub fn paths(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let base = if name == "ca" {
        dir.join("ca")
    } else {
        dir.to_path_buf()
    };
    (
        base.join(format!("{name}.crt")),
        base.join(format!("{name}.key")),
    )
}

/// Makes what is missing of the PKI in `options.dir` (everything with `force`).
pub fn ensure(options: &Options) -> Result<Outcome, PkiError> {
    if options.relay_hosts.is_empty() {
        return Err(PkiError::NoRelayHost);
    }
    if let Some(bad) = options.relay_hosts.iter().find(|host| !valid_host(host)) {
        return Err(PkiError::BadHost(bad.clone()));
    }
    if options.days == 0 || options.days > 36_500 {
        return Err(PkiError::Days(options.days));
    }
    let mut outcome = Outcome::default();
    let dir = &options.dir;
    create_dir(&dir.join("ca"))?;

    let (ca_cert, ca_key) = paths(dir, "ca");
    let make_ca = options.force || !ca_cert.exists() || !ca_key.exists();
    let ca_key_pair = if make_ca {
        let key = generate("the CA key")?;
        let mut params = ca_params();
        let (not_before, not_after) = validity(3650);
        params.not_before = not_before;
        params.not_after = not_after;
        let certificate = params
            .self_signed(&key)
            .map_err(|source| PkiError::Generate {
                what: "the CA certificate",
                source,
            })?;
        write_private(&ca_key, &key.serialize_pem())?;
        write_public(&ca_cert, &certificate.pem())?;
        outcome.created.extend([ca_cert.clone(), ca_key.clone()]);
        key
    } else {
        outcome.kept.extend([ca_cert.clone(), ca_key.clone()]);
        let pem = read(&ca_key)?;
        KeyPair::from_pem(&pem).map_err(|source| PkiError::Key {
            path: ca_key.clone(),
            source,
        })?
    };
    let issuer = Issuer::new(ca_params(), &ca_key_pair);

    let relay = Leaf {
        name: "rabbitmq",
        common_name: options.relay_hosts[0].clone(),
        sans: options.relay_hosts.clone(),
        usages: vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
    };
    let clients = CLIENT_ROLES.iter().map(|role| Leaf {
        name: role,
        common_name: (*role).to_owned(),
        sans: vec![(*role).to_owned()],
        usages: vec![ExtendedKeyUsagePurpose::ClientAuth],
    });
    for leaf in std::iter::once(relay).chain(clients) {
        let (cert_path, key_path) = paths(dir, leaf.name);
        if !make_ca && !options.force && cert_path.exists() && key_path.exists() {
            outcome.kept.extend([cert_path, key_path]);
            continue;
        }
        let key = generate("a leaf key")?;
        let certificate = leaf
            .params(options.days)?
            .signed_by(&key, &issuer)
            .map_err(|source| PkiError::Generate {
                what: "a leaf certificate",
                source,
            })?;
        write_private(&key_path, &key.serialize_pem())?;
        write_public(&cert_path, &certificate.pem())?;
        outcome.created.extend([cert_path, key_path]);
    }
    Ok(outcome)
}

/// An IP address, or a DNS name of letters, digits and hyphens between dots
/// (with an optional leading `*.` wildcard label).
fn valid_host(host: &str) -> bool {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let name = host.strip_prefix("*.").unwrap_or(host);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// One leaf certificate to issue.
struct Leaf {
    name: &'static str,
    common_name: String,
    sans: Vec<String>,
    usages: Vec<ExtendedKeyUsagePurpose>,
}

impl Leaf {
    fn params(&self, days: u32) -> Result<CertificateParams, PkiError> {
        // rcgen reads each name as an IP address when it parses as one.
        let mut params =
            CertificateParams::new(self.sans.clone()).map_err(|source| PkiError::Host {
                host: self.sans.join(","),
                source,
            })?;
        params.distinguished_name = name(&self.common_name);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = self.usages.clone();
        params.use_authority_key_identifier_extension = true;
        let (not_before, not_after) = validity(days);
        params.not_before = not_before;
        params.not_after = not_after;
        Ok(params)
    }
}

/// The CA's parameters: the same on every run, so an existing CA key issues
/// certificates whose issuer name matches its certificate.
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = name("MIG CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "mig-rs");
    name.push(DnType::OrganizationalUnitName, "MIG");
    name.push(DnType::CommonName, common_name);
    name
}

/// From an hour ago (clocks drift) to `days` from now.
fn validity(days: u32) -> (time::OffsetDateTime, time::OffsetDateTime) {
    let now = time::OffsetDateTime::now_utc();
    (
        now - time::Duration::hours(1),
        now + time::Duration::days(i64::from(days)),
    )
}

fn generate(what: &'static str) -> Result<KeyPair, PkiError> {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|source| PkiError::Generate { what, source })
}

fn create_dir(path: &Path) -> Result<(), PkiError> {
    std::fs::create_dir_all(path).map_err(|source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read(path: &Path) -> Result<String, PkiError> {
    std::fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn write_public(path: &Path, content: &str) -> Result<(), PkiError> {
    write(path, content, 0o644)
}

fn write_private(path: &Path, content: &str) -> Result<(), PkiError> {
    write(path, content, 0o600)
}

/// Writes `content` to a temporary file beside `path`, then renames it, so
/// an interrupted run never leaves half a key.
fn write(path: &Path, content: &str, mode: u32) -> Result<(), PkiError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let io_error = |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    };
    let temporary = path.with_extension("tmp");
    let _ = std::fs::remove_file(&temporary);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temporary)
        .map_err(io_error)?;
    file.write_all(content.as_bytes()).map_err(io_error)?;
    file.sync_all().map_err(io_error)?;
    std::fs::rename(&temporary, path).map_err(io_error)
}
