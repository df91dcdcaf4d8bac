//! OpenPGP as MIG uses it (§4.3–§4.7 of the protocol spec): detached signatures over
//! the signing string, stored on one line, verified against a keyring of armored
//! public keys.
//!
//! - [`dearmor_signature`] / [`rearmor_signature`]: MIG's single-line form;
//! - [`PublicKey`], [`Keyring`]: the keys an agent or the API trusts, and
//!   [`Keyring::verify`], which names the signer by its primary fingerprint;
//! - [`Signer`]: [`GpgSigner`] runs the investigator's GnuPG, [`SecretKeySigner`]
//!   signs with an armored secret key (tests, quickstart, the scheduler's own key).
//!
//! Built on rPGP. Keys are v4; ed25519 keys made by GnuPG 2.2 use the legacy
//! EdDSA algorithm (id 22), which rPGP calls `EdDSALegacy`.

mod armor;
mod gpg;
mod keyring;
mod signer;

use std::path::PathBuf;

pub use armor::{dearmor_signature, rearmor_signature};
pub use gpg::GpgSigner;
pub use keyring::{Keyring, PublicKey};
pub use signer::{KeyAlgo, SecretKeySigner};

/// Something that makes MIG single-line detached signatures
/// (binary document, signature type 0x00, SHA-256 or better).
pub trait Signer {
    /// Sign `data`; returns the signature in MIG's single-line form.
    fn sign(&self, data: &[u8]) -> Result<String, PgpError>;
    /// The signer's primary key fingerprint (40 uppercase hex digits), when known.
    fn fingerprint(&self) -> String;
}

/// Everything that can go wrong with keys and signatures.
#[derive(Debug, thiserror::Error)]
pub enum PgpError {
    #[error("malformed signature armor: {0}")]
    Armor(String),
    #[error("signature armor checksum mismatch: found {found}, computed {computed}")]
    Checksum { found: String, computed: String },
    #[error("cannot parse signature packet")]
    ParseSignature(#[source] pgp::errors::Error),
    #[error("signature type {0} is not a document signature")]
    SignatureType(String),
    #[error("signature names no issuer key")]
    NoIssuer,
    #[error("signature issuer {0} is not in the keyring")]
    UnknownKey(String),
    #[error("bad signature by key {key}")]
    BadSignature {
        key: String,
        #[source]
        source: pgp::errors::Error,
    },
    #[error("cannot parse public key")]
    ParsePublicKey(#[source] pgp::errors::Error),
    #[error("expected exactly one public key, found {0}")]
    KeyCount(usize),
    #[error("public key armor has no END PGP PUBLIC KEY BLOCK line")]
    KeyArmorEnd,
    #[error("no armored public key block found")]
    NoKeyBlock,
    #[error("cannot read key directory {path}")]
    ReadDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read key file {path}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid key file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        #[source]
        source: Box<PgpError>,
    },
    #[error("cannot parse secret key")]
    ParseSecretKey(#[source] pgp::errors::Error),
    #[error("cannot unlock secret key {0}: wrong or missing passphrase")]
    Passphrase(String),
    #[error("cannot sign with key {key}")]
    Sign {
        key: String,
        #[source]
        source: pgp::errors::Error,
    },
    #[error("unsupported key algorithm: {0}")]
    UnsupportedAlgo(String),
    #[error("key generation failed: {0}")]
    Generate(String),
    #[error("cannot serialize key")]
    Serialize(#[source] pgp::errors::Error),
    #[error("cannot run {program}")]
    GpgSpawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{program} failed ({status}): {stderr}")]
    Gpg {
        program: PathBuf,
        status: String,
        stderr: String,
    },
}

/// 40 (v4) or 64 (v6) uppercase hex digits, as gpg prints a fingerprint.
fn hex_upper(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02X}");
    }
    s
}
