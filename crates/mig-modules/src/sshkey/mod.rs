//! `sshkey`: SSH private and public keys and authorized_keys entries under
//! paths, with MD5 and SHA256 fingerprints (spec modules.md §4.6).
//!
//! Candidates come from the file module run in-process (§2.7) with a content
//! regex, the depth limit and a size below 1 MiB. Improvements over the
//! original: OpenSSH-format private keys (`BEGIN OPENSSH PRIVATE KEY`, with
//! their public key read even when the private part is encrypted), EC PEM
//! keys, and Ed25519, ECDSA and security-key public keys are recognised
//! instead of silently skipped.

pub mod client;
pub mod keys;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::result::{Module, ModuleContext, TypedResult};

/// The content regex selecting candidate files. The original's was
/// `^(-----BEGIN (RSA|DSA) PRIVATE KEY|ssh-(rsa|dss) )`.
pub const CANDIDATE_CONTENT: &str = "^(-----BEGIN (RSA|DSA|EC|OPENSSH) PRIVATE KEY|(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\\.com) )";

/// Parameters: `{"paths":["/root","/home"],"maxdepth":8}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Parameters {
    /// Roots to search (empty ⇒ `/root` and `/home`).
    pub paths: Option<Vec<String>>,
    /// Depth limit 0–1000 (0 ⇒ 8).
    pub maxdepth: f64,
}

/// One key found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Key {
    /// MD5 fingerprint (`""` when unknown).
    pub fingerprint_md5: String,
    /// SHA256 fingerprint (`""` when unknown).
    pub fingerprint_sha256: String,
    /// The file.
    pub path: String,
    /// Whether a private key is encrypted.
    pub encrypted: bool,
    /// `private`, `public` or `authorizedkeys`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `elements`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Elements {
    /// The keys (`null` when none).
    pub keys: Option<Vec<Key>>,
}

/// The module.
pub struct Sshkey;

/// The sshkey module's result type.
pub type SshkeyResult = TypedResult<Elements, serde_json::Value>;

/// The candidate files under the roots, through the file module.
pub fn candidates(paths: &[String], maxdepth: u32) -> Result<Vec<String>, String> {
    let parameters = serde_json::json!({"searches": {"s1": {
        "paths": paths,
        "contents": [CANDIDATE_CONTENT],
        "sizes": ["<1m"],
        "options": {"matchall": true, "maxdepth": maxdepth, "maxerrors": 30, "matchlimit": 1000},
    }}});
    let parameters: crate::file::Parameters =
        mig_protocol::gojson::from_value(&parameters).map_err(|err| err.to_string())?;
    let result = crate::file::run_parameters(&parameters);
    if !result.success {
        return Err(result.errors.unwrap_or_default().join("; "));
    }
    Ok(result
        .elements
        .unwrap_or_default()
        .remove("s1")
        .unwrap_or_default()
        .into_iter()
        .map(|hit| hit.file)
        .filter(|file| !file.is_empty())
        .collect())
}

fn key(path: &str, kind: &str, public: Option<&[u8]>, encrypted: bool) -> Key {
    Key {
        fingerprint_md5: public.map(keys::fingerprint_md5).unwrap_or_default(),
        fingerprint_sha256: public.map(keys::fingerprint_sha256).unwrap_or_default(),
        path: path.to_owned(),
        encrypted,
        kind: kind.to_owned(),
    }
}

/// The keys of one candidate file, and a soft error if it has unparsable lines.
pub fn keys_of(path: &str, data: &[u8]) -> (Vec<Key>, Option<String>) {
    if let keys::Private::Key { public, encrypted } = keys::parse_private(data) {
        return (
            vec![key(path, "private", public.as_deref(), encrypted)],
            None,
        );
    }
    let text = String::from_utf8_lossy(data);
    let base = path.rsplit('/').next().unwrap_or(path);
    if base == "authorized_keys" || base == "authorized_keys2" {
        let mut found = Vec::new();
        let mut error = None;
        for line in text.split('\n').filter(|line| !line.is_empty()) {
            match keys::authorized_key_line(line) {
                Some(blob) => found.push(key(path, "authorizedkeys", Some(&blob), false)),
                None if error.is_none() => {
                    error = Some(format!("{path} contained unparsable data"))
                }
                None => {}
            }
        }
        return (found, error);
    }
    match keys::first_authorized_key(&text) {
        Some(blob) => (vec![key(path, "public", Some(&blob), false)], None),
        None => (Vec::new(), None),
    }
}

/// Runs the module on decoded parameters.
pub fn run_parameters(parameters: &Parameters) -> SshkeyResult {
    if !(0.0..=1000.0).contains(&parameters.maxdepth) {
        return TypedResult::failure("maxdepth should be specified from 0-1000");
    }
    let maxdepth = if parameters.maxdepth == 0.0 {
        8
    } else {
        parameters.maxdepth as u32
    };
    let mut paths = parameters.paths.clone().unwrap_or_default();
    if paths.is_empty() {
        paths = vec!["/root".to_owned(), "/home".to_owned()];
    }
    let files = match candidates(&paths, maxdepth) {
        Ok(files) => files,
        Err(message) => return TypedResult::failure(message),
    };
    let mut found: Vec<Key> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    for file in files {
        let Ok(data) = std::fs::read(&file) else {
            continue;
        };
        let (keys, error) = keys_of(&file, &data);
        found.extend(keys);
        errors.extend(error);
    }
    TypedResult {
        foundanything: !found.is_empty(),
        success: true,
        elements: Some(Elements {
            keys: (!found.is_empty()).then_some(found),
        }),
        statistics: None,
        errors: (!errors.is_empty()).then_some(errors),
    }
}

/// The printed lines of a result.
pub fn print(result: &SshkeyResult, found_only: bool) -> Vec<String> {
    let or_unknown = |text: &str| {
        if text.is_empty() {
            "unknown".to_owned()
        } else {
            text.to_owned()
        }
    };
    let mut lines: Vec<String> = result
        .elements
        .iter()
        .flat_map(|elements| elements.keys.iter().flatten())
        .map(|key| {
            let encrypted = if key.kind == "private" {
                format!(" encrypted={}", key.encrypted)
            } else {
                String::new()
            };
            format!(
                "{} [{}]{encrypted} md5fp={} sha256fp={}",
                key.path,
                key.kind,
                or_unknown(&key.fingerprint_md5),
                or_unknown(&key.fingerprint_sha256)
            )
        })
        .collect();
    if !found_only {
        lines.extend(result.errors.iter().flatten().cloned());
    }
    lines
}

impl Module for Sshkey {
    const NAME: &'static str = "sshkey";
    type Elements = Elements;
    type Statistics = serde_json::Value;

    fn run(parameters: &serde_json::Value, _context: &ModuleContext) -> SshkeyResult {
        match mig_protocol::gojson::from_value::<Parameters>(parameters) {
            Ok(parameters) => run_parameters(&parameters),
            Err(err) => TypedResult::failure(err.to_string()),
        }
    }

    fn print(result: &SshkeyResult, found_only: bool) -> Vec<String> {
        print(result, found_only)
    }
}
