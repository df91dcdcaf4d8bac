//! Authentication material of the API (spec protocol.md §4.7).
//!
//! - `X-PGPAUTHORIZATION: 1;<UTC time>;<nonce>;<signature>`, where the signature
//!   covers `1;<UTC time>;<nonce>\n` (the newline is signed but not sent);
//! - API keys (`X-MIGAPIKEY`) and loader keys (`X-LOADERKEY`), stored as
//!   PBKDF2-HMAC-SHA256 (4096 rounds, 32-byte hash, 16-byte salt).

use chrono::{DateTime, NaiveDateTime, Utc};
use rand::Rng;

use crate::pgp::{Keyring, PgpError, Signer};

/// The only token version.
pub const TOKEN_VERSION: &str = "1";

/// PBKDF2 rounds of API and loader key hashes.
pub const API_KEY_ROUNDS: u32 = 4096;

/// Length of generated API keys.
pub const API_KEY_LEN: usize = 32;

/// Length of the loader key's prefix that selects the loader row.
pub const LOADER_PREFIX_LEN: usize = 8;

/// Why a token or key is refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("malformed authorization token: {0}")]
    Malformed(&'static str),
    #[error("unsupported authorization token version {0:?}")]
    Version(String),
    #[error("authorization token timestamp {0:?} is not of the form YYYY-MM-DDTHH:MM:SSZ")]
    Timestamp(String),
    #[error(
        "authorization token is outside the {window_seconds}s window (timestamp {timestamp}, server time {now})"
    )]
    OutsideWindow {
        timestamp: String,
        now: String,
        window_seconds: i64,
    },
    #[error("authorization token signature: {0}")]
    Signature(#[from] PgpError),
    #[error("malformed loader key: expected {expected} alphanumeric characters")]
    LoaderKey { expected: usize },
}

/// A parsed `X-PGPAUTHORIZATION` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'a> {
    pub version: &'a str,
    pub timestamp: &'a str,
    pub nonce: &'a str,
    pub signature: &'a str,
}

impl<'a> Token<'a> {
    /// Splits a header value into its four fields.
    pub fn parse(header: &'a str) -> Result<Self, AuthError> {
        let mut parts = header.trim().splitn(4, ';');
        let version = parts.next().ok_or(AuthError::Malformed("empty"))?;
        let timestamp = parts.next().ok_or(AuthError::Malformed("no timestamp"))?;
        let nonce = parts.next().ok_or(AuthError::Malformed("no nonce"))?;
        let signature = parts.next().ok_or(AuthError::Malformed("no signature"))?;
        if signature.is_empty() {
            return Err(AuthError::Malformed("empty signature"));
        }
        Ok(Self {
            version,
            timestamp,
            nonce,
            signature,
        })
    }

    /// The signed bytes: `<version>;<timestamp>;<nonce>\n`.
    pub fn signed_data(&self) -> String {
        token_signed_data(self.version, self.timestamp, self.nonce)
    }
}

fn token_signed_data(version: &str, timestamp: &str, nonce: &str) -> String {
    format!("{version};{timestamp};{nonce}\n")
}

/// Parses the token's time: RFC 3339 in UTC with a literal `Z`; a fraction is tolerated.
pub fn parse_token_time(timestamp: &str) -> Result<DateTime<Utc>, AuthError> {
    let bad = || AuthError::Timestamp(timestamp.to_owned());
    let without_zone = timestamp.strip_suffix('Z').ok_or_else(bad)?;
    let naive =
        NaiveDateTime::parse_from_str(without_zone, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| bad())?;
    Ok(naive.and_utc())
}

/// Builds a token for `now` and `nonce`, signed by `signer`.
pub fn make_token(
    signer: &dyn Signer,
    now: DateTime<Utc>,
    nonce: &str,
) -> Result<String, PgpError> {
    let timestamp = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let signature = signer.sign(token_signed_data(TOKEN_VERSION, &timestamp, nonce).as_bytes())?;
    Ok(format!("{TOKEN_VERSION};{timestamp};{nonce};{signature}"))
}

/// Verifies a token: version 1, `|now - timestamp| <= window` (inclusive), and a
/// signature by a key of `keyring`. Returns the signer's primary fingerprint.
pub fn verify_token(
    header: &str,
    keyring: &Keyring,
    now: DateTime<Utc>,
    window: chrono::Duration,
) -> Result<String, AuthError> {
    let token = Token::parse(header)?;
    if token.version != TOKEN_VERSION {
        return Err(AuthError::Version(token.version.to_owned()));
    }
    let time = parse_token_time(token.timestamp)?;
    let drift = (now - time).abs();
    if drift > window {
        return Err(AuthError::OutsideWindow {
            timestamp: token.timestamp.to_owned(),
            now: now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            window_seconds: window.num_seconds(),
        });
    }
    Ok(keyring.verify(token.signed_data().as_bytes(), token.signature)?)
}

const KEY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A random alphanumeric key of `len` characters (the original's alphabet lacked `G`; fixed).
pub fn generate_key(len: usize) -> String {
    let mut rng = rand::rngs::OsRng;
    (0..len)
        .map(|_| char::from(KEY_ALPHABET[rng.gen_range(0..KEY_ALPHABET.len())]))
        .collect()
}

/// A new API key.
pub fn generate_api_key() -> String {
    generate_key(API_KEY_LEN)
}

/// A new random 16-byte salt.
pub fn generate_salt() -> [u8; 16] {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill(&mut salt);
    salt
}

/// PBKDF2-HMAC-SHA256(key, salt, 4096 rounds) → 32 bytes, as stored in the database.
pub fn hash_key(key: &str, salt: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(key.as_bytes(), salt, API_KEY_ROUNDS, &mut out);
    out
}

/// Whether `key` hashes to `stored_hash` with `salt` (constant-time comparison).
pub fn verify_key(key: &str, salt: &[u8], stored_hash: &[u8]) -> bool {
    let computed = hash_key(key, salt);
    if stored_hash.len() != computed.len() {
        return false;
    }
    computed
        .iter()
        .zip(stored_hash)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// Splits an `X-LOADERKEY` value into its 8-character prefix and 32-character key.
pub fn split_loader_key(value: &str) -> Result<(&str, &str), AuthError> {
    let expected = LOADER_PREFIX_LEN + API_KEY_LEN;
    if value.len() != expected || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(AuthError::LoaderKey { expected });
    }
    Ok(value.split_at(LOADER_PREFIX_LEN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_fields() {
        let token = Token::parse("1;2026-11-28T17:13:08Z;28090537672705;abc==XYZW").unwrap();
        assert_eq!(
            token.signed_data(),
            "1;2026-11-28T17:13:08Z;28090537672705\n"
        );
        assert_eq!(token.signature, "abc==XYZW");
        assert!(Token::parse("1;2026-11-28T17:13:08Z;n").is_err());
        assert!(Token::parse("1;2026-11-28T17:13:08Z;n;").is_err());
    }

    #[test]
    fn token_time_requires_z() {
        assert!(parse_token_time("2026-11-28T17:13:08Z").is_ok());
        assert!(parse_token_time("2026-11-28T17:13:08.123Z").is_ok());
        assert!(parse_token_time("2026-11-28T17:13:08+00:00").is_err());
        assert!(parse_token_time("2026-11-28 17:13:08Z").is_err());
        assert!(parse_token_time("yesterday").is_err());
    }

    #[test]
    fn api_key_hashing() {
        // PBKDF2-HMAC-SHA256, 4096 rounds, from RFC 7914 style test data.
        let hash = hash_key("password", b"salt");
        assert_eq!(
            hash.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"
        );
        let salt = generate_salt();
        let key = generate_api_key();
        assert_eq!(key.len(), 32);
        assert!(key.bytes().all(|b| b.is_ascii_alphanumeric()));
        let stored = hash_key(&key, &salt);
        assert!(verify_key(&key, &salt, &stored));
        assert!(!verify_key("wrong", &salt, &stored));
        assert!(!verify_key(&key, &salt, &stored[..31]));
    }

    #[test]
    fn generated_keys_use_the_whole_alphabet() {
        let many: String = (0..200).map(|_| generate_api_key()).collect();
        assert!(
            many.contains('G'),
            "the original's generator never produced 'G'"
        );
    }

    #[test]
    fn loader_keys() {
        let (prefix, key) = split_loader_key("abcdefgh0123456789abcdefghijklmnopqrstuv").unwrap();
        assert_eq!(prefix, "abcdefgh");
        assert_eq!(key.len(), 32);
        assert!(split_loader_key("short").is_err());
        assert!(split_loader_key("abcdefgh0123456789abcdefghijklmnopqrst;v").is_err());
    }
}
