//! The investigator's signer: their own `gpg` (default: works with
//! gpg-agent, smartcards, ed25519 and RSA keys alike) or, with the mig-rs
//! extension `gpg.secretkeyfile`, an armored secret key read in-process
//! (passphrase from `MIGPGPPASSPHRASE`).

use std::sync::Arc;

use mig_protocol::pgp::{GpgSigner, PgpError, SecretKeySigner, Signer};

use crate::migrc::Migrc;

/// Why no signer could be made.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("no gpg.keyid in the configuration: cannot sign")]
    NoKeyId,
    #[error("cannot read the secret key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("secret key file {path}: {source}")]
    Key { path: String, source: Box<PgpError> },
}

/// The signer `.migrc` describes.
pub fn signer_from_migrc(migrc: &Migrc) -> Result<Arc<dyn Signer + Send + Sync>, SignerError> {
    if let Some(path) = &migrc.secret_key_file {
        let text = std::fs::read_to_string(path).map_err(|source| SignerError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let passphrase = std::env::var("MIGPGPPASSPHRASE").ok();
        let signer =
            SecretKeySigner::from_armored(&text, passphrase.as_deref()).map_err(|source| {
                SignerError::Key {
                    path: path.display().to_string(),
                    source: Box::new(source),
                }
            })?;
        return Ok(Arc::new(signer));
    }
    if migrc.gpg_keyid.is_empty() {
        return Err(SignerError::NoKeyId);
    }
    let mut signer = GpgSigner::new(&migrc.gpg_keyid);
    if let Some(home) = &migrc.gpg_home {
        signer = signer.with_homedir(home);
    }
    Ok(Arc::new(signer))
}
