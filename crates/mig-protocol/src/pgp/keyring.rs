//! Public keys and the keyring that verifies MIG signatures.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use pgp::composed::{ArmorOptions, Deserializable, DetachedSignature, SignedPublicKey};
use pgp::packet::{self, SignatureType};
use pgp::types::KeyDetails;

use super::armor::decode_single_line;
use super::{PgpError, hex_upper};

const BEGIN_PUBLIC_KEY: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
const END_PUBLIC_KEY: &str = "-----END PGP PUBLIC KEY BLOCK-----";

/// One OpenPGP public key (a "certificate"): a primary key with its user ids and subkeys.
#[derive(Debug, Clone)]
pub struct PublicKey {
    key: SignedPublicKey,
    fingerprint: String,
}

impl PublicKey {
    /// Parse an armored public key block holding exactly one key.
    pub fn from_armored(text: &str) -> Result<Self, PgpError> {
        let mut keys = parse_armored_keys(text)?;
        if keys.len() != 1 {
            return Err(PgpError::KeyCount(keys.len()));
        }
        keys.pop().ok_or(PgpError::KeyCount(0))
    }

    pub(crate) fn from_signed(key: SignedPublicKey) -> Self {
        let fingerprint = hex_upper(key.primary_key.fingerprint().as_bytes());
        Self { key, fingerprint }
    }

    /// The primary key fingerprint, 40 uppercase hex digits for a v4 key, as gpg prints it.
    pub fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    /// The key as an armored public key block.
    pub fn to_armored(&self) -> Result<String, PgpError> {
        self.key
            .to_armored_string(ArmorOptions::default())
            .map_err(PgpError::Serialize)
    }

    /// The first user id, e.g. `Bob <bob@example.com>`.
    pub fn user_id(&self) -> Option<String> {
        self.key
            .details
            .users
            .first()
            .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
    }

    /// The component keys that may have made a data signature: the primary key, and
    /// every subkey bound with the signing flag and a valid back-signature (as GnuPG
    /// requires). Binding signatures are checked here, once, not per verification.
    fn signing_components(&self) -> Vec<Component> {
        let primary = &self.key.primary_key;
        let mut out = vec![Component::Primary(primary.clone())];
        for sub in &self.key.public_subkeys {
            let usable = sub.signatures.iter().any(|sig| {
                sig.typ() == Some(SignatureType::SubkeyBinding)
                    && sig.key_flags().sign()
                    && sig.verify_subkey_binding(primary, &sub.key).is_ok()
                    && sig.embedded_signature().is_some_and(|back| {
                        back.verify_primary_key_binding(&sub.key, primary).is_ok()
                    })
            });
            if usable {
                out.push(Component::Subkey(sub.key.clone()));
            }
        }
        out
    }
}

/// A key that can check a signature: the primary key or a signing subkey.
#[derive(Debug, Clone)]
enum Component {
    Primary(packet::PublicKey),
    Subkey(packet::PublicSubkey),
}

impl Component {
    fn verify(&self, sig: &packet::Signature, data: &[u8]) -> pgp::errors::Result<()> {
        match self {
            Component::Primary(k) => sig.verify(k, data),
            Component::Subkey(k) => sig.verify(k, data),
        }
    }

    fn fingerprint_bytes(&self) -> Vec<u8> {
        match self {
            Component::Primary(k) => k.fingerprint().as_bytes().to_vec(),
            Component::Subkey(k) => k.fingerprint().as_bytes().to_vec(),
        }
    }

    fn key_id(&self) -> Vec<u8> {
        let id = match self {
            Component::Primary(k) => k.legacy_key_id(),
            Component::Subkey(k) => k.legacy_key_id(),
        };
        id.as_ref().to_vec()
    }
}

#[derive(Debug, Clone)]
struct Verifier {
    component: Component,
    /// Fingerprint of the primary key this component belongs to.
    primary: Arc<str>,
}

/// The set of public keys a party trusts, indexed for fast signature verification.
#[derive(Debug, Default, Clone)]
pub struct Keyring {
    keys: Vec<PublicKey>,
    verifiers: Vec<Verifier>,
    /// Issuer key id (8 bytes) and issuer fingerprint (20 or 32 bytes) → `verifiers` indexes.
    by_issuer: HashMap<Vec<u8>, Vec<usize>>,
}

impl Keyring {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a key. Adding the same key twice keeps both copies; verification still
    /// names the one primary fingerprint.
    pub fn add(&mut self, key: PublicKey) {
        let primary: Arc<str> = Arc::from(key.fingerprint.as_str());
        for component in key.signing_components() {
            let index = self.verifiers.len();
            self.by_issuer
                .entry(component.key_id())
                .or_default()
                .push(index);
            self.by_issuer
                .entry(component.fingerprint_bytes())
                .or_default()
                .push(index);
            self.verifiers.push(Verifier {
                component,
                primary: Arc::clone(&primary),
            });
        }
        self.keys.push(key);
    }

    /// Parse a text holding one or more concatenated armored public keys.
    pub fn from_armored_keys(text: &str) -> Result<Self, PgpError> {
        let mut ring = Self::new();
        for key in parse_armored_keys(text)? {
            ring.add(key);
        }
        Ok(ring)
    }

    /// Load the agent's `agentkeys` directory: every regular file is one armored
    /// public key. Files are read in name order; a file that does not hold exactly
    /// one key is an error naming the file.
    pub fn load_dir(dir: &Path) -> Result<Self, PgpError> {
        let read_dir_err = |source| PgpError::ReadDir {
            path: dir.to_path_buf(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_dir_err)? {
            let entry = entry.map_err(read_dir_err)?;
            let path = entry.path();
            // Follows symlinks, so a link to a key file counts as a regular file.
            if path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        let mut ring = Self::new();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|source| PgpError::ReadFile {
                path: path.clone(),
                source,
            })?;
            let key = PublicKey::from_armored(&text).map_err(|e| PgpError::KeyFile {
                path: path.clone(),
                source: Box::new(e),
            })?;
            ring.add(key);
        }
        Ok(ring)
    }

    /// Number of keys (primary keys, not subkeys).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The primary fingerprints of the keys, in insertion order.
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys.iter().map(PublicKey::fingerprint).collect()
    }

    /// The keys, in insertion order.
    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// Verify one MIG single-line detached signature over `data`; returns the
    /// PRIMARY key fingerprint (40 uppercase hex) of the signer. A signature made by
    /// a signing subkey resolves to its primary key.
    ///
    /// Any hash algorithm rPGP supports is accepted (MIG's Go verifier did the same).
    /// Unknown key, bad signature, bad armor, bad CRC: `Err`.
    pub fn verify(&self, data: &[u8], single_line_signature: &str) -> Result<String, PgpError> {
        let bytes = decode_single_line(single_line_signature)?;
        let sig = DetachedSignature::from_bytes(&bytes[..])
            .map_err(PgpError::ParseSignature)?
            .signature;
        match sig.typ() {
            Some(SignatureType::Binary | SignatureType::Text) => {}
            other => return Err(PgpError::SignatureType(format!("{other:?}"))),
        }

        let fingerprints = sig.issuer_fingerprint();
        let key_ids = sig.issuer_key_id();
        let mut candidates: Vec<usize> = Vec::new();
        let issuers = fingerprints
            .iter()
            .map(|fp| fp.as_bytes())
            .chain(key_ids.iter().map(|id| id.as_ref()));
        for issuer in issuers {
            if let Some(found) = self.by_issuer.get(issuer) {
                for &i in found {
                    if !candidates.contains(&i) {
                        candidates.push(i);
                    }
                }
            }
        }
        if candidates.is_empty() {
            let named = fingerprints
                .first()
                .map(|fp| hex_upper(fp.as_bytes()))
                .or_else(|| key_ids.first().map(|id| hex_upper(id.as_ref())));
            return Err(match named {
                Some(issuer) => PgpError::UnknownKey(issuer),
                None => PgpError::NoIssuer,
            });
        }

        let mut failure = None;
        for i in candidates {
            let Some(verifier) = self.verifiers.get(i) else {
                continue;
            };
            match verifier.component.verify(&sig, data) {
                Ok(()) => return Ok(verifier.primary.to_string()),
                Err(source) => {
                    failure.get_or_insert((verifier.primary.to_string(), source));
                }
            }
        }
        match failure {
            Some((key, source)) => Err(PgpError::BadSignature { key, source }),
            None => Err(PgpError::NoIssuer),
        }
    }
}

/// Parse every public key in a text of one or more armored key blocks.
fn parse_armored_keys(text: &str) -> Result<Vec<PublicKey>, PgpError> {
    let mut keys = Vec::new();
    let mut rest = text;
    while let Some(begin) = rest.find(BEGIN_PUBLIC_KEY) {
        let block_and_more = &rest[begin..];
        let end = block_and_more
            .find(END_PUBLIC_KEY)
            .map(|e| e + END_PUBLIC_KEY.len())
            .ok_or(PgpError::KeyArmorEnd)?;
        let block = &block_and_more[..end];
        let (parsed, _headers) =
            SignedPublicKey::from_string_many(block).map_err(PgpError::ParsePublicKey)?;
        for key in parsed {
            keys.push(PublicKey::from_signed(
                key.map_err(PgpError::ParsePublicKey)?,
            ));
        }
        rest = &block_and_more[end..];
    }
    if keys.is_empty() {
        return Err(PgpError::NoKeyBlock);
    }
    Ok(keys)
}
