//! Signing with an armored OpenPGP secret key held in memory.

use pgp::composed::{
    ArmorOptions, Deserializable, DetachedSignature, KeyType, SecretKeyParamsBuilder,
    SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::ser::Serialize as _;
use pgp::types::{KeyDetails, Password, SigningKey};

use super::armor::encode_single_line;
use super::keyring::PublicKey;
use super::{PgpError, Signer, hex_upper};

/// The algorithm of a key made by [`SecretKeySigner::generate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgo {
    /// RSA with this many bits: 2048, 3072 or 4096.
    Rsa(u32),
    /// Ed25519 in the legacy EdDSA encoding (algorithm 22), the form GnuPG 2.2 makes
    /// and understands.
    Ed25519,
}

/// Which component of the secret key makes signatures.
#[derive(Debug, Clone, Copy)]
enum SigningComponent {
    Primary,
    Subkey(usize),
}

/// Signs with an armored secret key (tests, the quickstart, the scheduler's own key).
///
/// A key with signing subkeys signs with the last one (GnuPG's choice for a key
/// whose subkeys are listed oldest first); otherwise the primary key signs.
#[derive(Debug, Clone)]
pub struct SecretKeySigner {
    key: SignedSecretKey,
    passphrase: Option<String>,
    component: SigningComponent,
    fingerprint: String,
}

impl SecretKeySigner {
    /// Parse an armored secret key (e.g. `gpg --armor --export-secret-keys`). A
    /// passphrase-protected key needs its passphrase; it is checked here.
    pub fn from_armored(text: &str, passphrase: Option<&str>) -> Result<Self, PgpError> {
        let (key, _headers) =
            SignedSecretKey::from_string(text).map_err(PgpError::ParseSecretKey)?;
        let signer = Self::from_key(key, passphrase.map(str::to_string));
        signer.check_passphrase()?;
        Ok(signer)
    }

    fn from_key(key: SignedSecretKey, passphrase: Option<String>) -> Self {
        let component = key
            .secret_subkeys
            .iter()
            .enumerate()
            .rev()
            .find(|(_, sub)| sub.signatures.iter().any(|s| s.key_flags().sign()))
            .map_or(SigningComponent::Primary, |(i, _)| {
                SigningComponent::Subkey(i)
            });
        let fingerprint = hex_upper(key.primary_key.fingerprint().as_bytes());
        Self {
            key,
            passphrase,
            component,
            fingerprint,
        }
    }

    fn password(&self) -> Password {
        match &self.passphrase {
            Some(p) => Password::from(p.as_str()),
            None => Password::empty(),
        }
    }

    fn check_passphrase(&self) -> Result<(), PgpError> {
        let pw = self.password();
        let unlocked = match self.component {
            SigningComponent::Primary => self.key.primary_key.unlock(&pw, |_, _| Ok(())),
            SigningComponent::Subkey(i) => match self.key.secret_subkeys.get(i) {
                Some(sub) => sub.key.unlock(&pw, |_, _| Ok(())),
                None => Ok(Ok(())),
            },
        };
        match unlocked {
            Ok(Ok(())) => Ok(()),
            _ => Err(PgpError::Passphrase(self.fingerprint.clone())),
        }
    }

    /// The public half, with all subkeys.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_signed(self.key.to_public_key())
    }

    /// Generate a new key with one user id (`Name <email>`). The primary key
    /// certifies and signs; there are no subkeys.
    pub fn generate(algo: KeyAlgo, user_id: &str) -> Result<Self, PgpError> {
        let key_type = match algo {
            KeyAlgo::Rsa(bits @ (2048 | 3072 | 4096)) => KeyType::Rsa(bits),
            KeyAlgo::Rsa(bits) => {
                return Err(PgpError::UnsupportedAlgo(format!(
                    "RSA {bits} (use 2048, 3072 or 4096)"
                )));
            }
            KeyAlgo::Ed25519 => KeyType::Ed25519Legacy,
        };
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(key_type)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id(user_id.to_string())
            .preferred_hash_algorithms(
                vec![
                    HashAlgorithm::Sha256,
                    HashAlgorithm::Sha512,
                    HashAlgorithm::Sha384,
                ]
                .into(),
            )
            .preferred_symmetric_algorithms(
                vec![SymmetricKeyAlgorithm::AES256, SymmetricKeyAlgorithm::AES128].into(),
            );
        let params = params
            .build()
            .map_err(|e| PgpError::Generate(e.to_string()))?;
        let key = params
            .generate(rand::thread_rng())
            .map_err(|e| PgpError::Generate(e.to_string()))?;
        Ok(Self::from_key(key, None))
    }

    /// The secret key as an armored block (unprotected if it was generated here).
    pub fn to_armored_secret(&self) -> Result<String, PgpError> {
        self.key
            .to_armored_string(ArmorOptions::default())
            .map_err(PgpError::Serialize)
    }

    fn sign_with(&self, key: &impl SigningKey, data: &[u8]) -> Result<String, PgpError> {
        // rPGP picks SHA-256 for RSA and EdDSA, more for larger curves.
        let hash = match key.hash_alg() {
            HashAlgorithm::None
            | HashAlgorithm::Md5
            | HashAlgorithm::Sha1
            | HashAlgorithm::Ripemd160 => HashAlgorithm::Sha256,
            h => h,
        };
        let sig = DetachedSignature::sign_binary_data(
            rand::thread_rng(),
            key,
            &self.password(),
            hash,
            data,
        )
        .map_err(|source| PgpError::Sign {
            key: self.fingerprint.clone(),
            source,
        })?;
        let bytes = sig.to_bytes().map_err(PgpError::Serialize)?;
        Ok(encode_single_line(&bytes))
    }
}

impl Signer for SecretKeySigner {
    fn sign(&self, data: &[u8]) -> Result<String, PgpError> {
        match self.component {
            SigningComponent::Subkey(i) => match self.key.secret_subkeys.get(i) {
                Some(sub) => self.sign_with(&sub.key, data),
                None => self.sign_with(&self.key.primary_key, data),
            },
            SigningComponent::Primary => self.sign_with(&self.key.primary_key, data),
        }
    }

    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
}
