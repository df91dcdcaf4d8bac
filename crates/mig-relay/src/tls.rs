//! TLS to the relay (`amqps`): rustls with the ring provider.
//!
//! The relay's certificate is verified against the configured CA only (not the
//! system's roots), with the host name of the URL; the client presents its
//! certificate and key (all MIG agents share one, spec protocol.md §5.1).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::relay::{RelayError, RelayResult};

/// PEM material of an `amqps` connection.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// The CA certificate(s) that sign the relay's certificate, PEM.
    pub ca_cert_pem: Vec<u8>,
    /// The client certificate (chain), PEM; the relay requires one.
    pub client_cert_pem: Option<Vec<u8>>,
    /// The client's private key (PKCS#8, PKCS#1 or SEC1), PEM.
    pub client_key_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field(
                "ca_cert_pem",
                &format_args!("{} bytes", self.ca_cert_pem.len()),
            )
            .field("client_cert", &self.client_cert_pem.is_some())
            .field(
                "client_key",
                &self.client_key_pem.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

fn read(path: &Path, what: &str) -> RelayResult<Vec<u8>> {
    std::fs::read(path).map_err(|error| {
        RelayError::Config(format!("cannot read {what} {}: {error}", path.display()))
    })
}

impl TlsConfig {
    /// Reads the CA certificate, client certificate and client key from PEM files.
    pub fn from_files(ca_cert: &Path, client_cert: &Path, client_key: &Path) -> RelayResult<Self> {
        Ok(Self {
            ca_cert_pem: read(ca_cert, "ca certificate")?,
            client_cert_pem: Some(read(client_cert, "client certificate")?),
            client_key_pem: Some(read(client_key, "client key")?),
        })
    }

    /// Builds the rustls client configuration, checking every piece of PEM.
    pub fn client_config(&self) -> RelayResult<rustls::ClientConfig> {
        let config_error = |message: String| RelayError::Config(message);
        let mut roots = rustls::RootCertStore::empty();
        let ca_certs = CertificateDer::pem_slice_iter(&self.ca_cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| config_error(format!("bad ca certificate pem: {error}")))?;
        if ca_certs.is_empty() {
            return Err(config_error("no certificate in the ca pem".to_string()));
        }
        for cert in ca_certs {
            roots
                .add(cert)
                .map_err(|error| config_error(format!("bad ca certificate: {error}")))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| config_error(format!("tls protocol versions: {error}")))?
            .with_root_certificates(roots);
        match (&self.client_cert_pem, &self.client_key_pem) {
            (Some(cert_pem), Some(key_pem)) => {
                let certs = CertificateDer::pem_slice_iter(cert_pem)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|error| {
                        config_error(format!("bad client certificate pem: {error}"))
                    })?;
                if certs.is_empty() {
                    return Err(config_error(
                        "no certificate in the client certificate pem".to_string(),
                    ));
                }
                let key = PrivateKeyDer::from_pem_slice(key_pem)
                    .map_err(|error| config_error(format!("bad client key pem: {error}")))?;
                builder.with_client_auth_cert(certs, key).map_err(|error| {
                    config_error(format!("client certificate and key do not fit: {error}"))
                })
            }
            (None, None) => Ok(builder.with_no_client_auth()),
            _ => Err(config_error(
                "a client certificate needs its key and a key its certificate".to_string(),
            )),
        }
    }
}
