//! Loader entries and manifests (spec api.md §4.13–4.15, §7): the JSON the API,
//! the console and the loader exchange, the reading of a manifest's content
//! (base64 of a gzip-compressed tar) and the form investigators sign.

use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Agent, GoTime, Id};

/// The statuses a manifest can have.
pub const MANIFEST_STATUSES: [&str; 3] = ["staged", "active", "disabled"];

/// The largest decompressed manifest content accepted (the API's body limit is 20 MiB).
pub const MAX_CONTENT_BYTES: u64 = 256 * 1024 * 1024;

/// One loader entry (`mig.LoaderEntry`); every key is always present.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoaderEntry {
    pub id: Id,
    /// The entry's unique name (DB `loadername`).
    pub name: String,
    /// The 8-character key prefix.
    pub prefix: String,
    /// The plaintext key: only in the answer that created it.
    pub key: String,
    /// The host name the loader last reported (DB `name`).
    pub agentname: String,
    pub lastseen: GoTime,
    pub enabled: bool,
    /// The expected-environment expression, `""` when none.
    pub expectenv: String,
}

/// One manifest (`mig.ManifestRecord`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManifestRecord {
    pub id: Id,
    pub name: String,
    /// Base64 (standard, padded) of a gzip-compressed tar archive.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub content: String,
    pub timestamp: GoTime,
    pub status: String,
    /// The loader target: an expression over `loaders` (id, loadername, queueloc, env, tags).
    pub target: String,
    /// The investigators' signatures (one-line detached PGP), `null` when none.
    pub signatures: Option<Vec<String>>,
}

/// One file of a manifest, as the loader checks it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManifestEntry {
    /// The basename of the file in the archive.
    pub name: String,
    /// Lowercase hex SHA-256 of its content.
    pub sha256: String,
}

/// What `POST /manifest/agent/` answers (`mig.ManifestResponse`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManifestResponse {
    pub loader_name: String,
    pub entries: Option<Vec<ManifestEntry>>,
    pub signatures: Option<Vec<String>>,
}

impl ManifestResponse {
    /// The text investigators sign and loaders verify (§7.2): Go JSON with
    /// `loader_name` empty and `signatures` an empty array.
    pub fn signing_form(&self) -> String {
        crate::gojson::to_string(&ManifestResponse {
            loader_name: String::new(),
            entries: self.entries.clone(),
            signatures: Some(Vec::new()),
        })
    }
}

/// What a loader posts in the form field `parameters` (`mig.ManifestParameters`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManifestParameters {
    pub agent: Agent,
    pub object: String,
}

/// What `POST /manifest/fetch/` answers: base64 of the gzip-compressed file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManifestObject {
    pub data: String,
}

/// Why a manifest's content could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("manifest record has no content")]
    NoContent,
    #[error("manifest content is not base64: {0}")]
    Base64(String),
    #[error("manifest content is not gzip: {0}")]
    Gzip(String),
    #[error("manifest content is not a tar archive: {0}")]
    Tar(String),
    #[error("object {0} not found in manifest")]
    ObjectNotFound(String),
}

/// A regular file of a manifest's archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFile {
    /// The path in the archive.
    pub path: String,
    pub data: Vec<u8>,
}

impl ManifestFile {
    /// The last component of the path (what the loader matches objects by).
    pub fn basename(&self) -> &str {
        let trimmed = self.path.trim_end_matches('/');
        trimmed.rsplit('/').next().unwrap_or(trimmed)
    }
}

impl ManifestRecord {
    /// Decodes the content into its regular files, in archive order.
    pub fn files(&self) -> Result<Vec<ManifestFile>, ManifestError> {
        if self.content.is_empty() {
            return Err(ManifestError::NoContent);
        }
        let compressed = STANDARD
            .decode(self.content.trim())
            .map_err(|error| ManifestError::Base64(error.to_string()))?;
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(compressed.as_slice())
            .take(MAX_CONTENT_BYTES)
            .read_to_end(&mut tar)
            .map_err(|error| ManifestError::Gzip(error.to_string()))?;
        read_tar(&tar)
    }

    /// The response served to a loader (entries in archive order, `null` when none).
    pub fn response(&self, loader_name: &str) -> Result<ManifestResponse, ManifestError> {
        let files = self.files()?;
        let entries: Vec<ManifestEntry> = files
            .iter()
            .map(|file| ManifestEntry {
                name: file.basename().to_owned(),
                sha256: hex(&Sha256::digest(&file.data)),
            })
            .collect();
        Ok(ManifestResponse {
            loader_name: loader_name.to_owned(),
            entries: (!entries.is_empty()).then_some(entries),
            signatures: self.signatures.clone(),
        })
    }

    /// The first file whose basename is `object`, gzip-compressed and base64-encoded.
    pub fn object(&self, object: &str) -> Result<ManifestObject, ManifestError> {
        let file = self
            .files()?
            .into_iter()
            .find(|file| file.basename() == object)
            .ok_or_else(|| ManifestError::ObjectNotFound(object.to_owned()))?;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut encoder, &file.data)
            .map_err(|error| ManifestError::Gzip(error.to_string()))?;
        let compressed = encoder
            .finish()
            .map_err(|error| ManifestError::Gzip(error.to_string()))?;
        Ok(ManifestObject {
            data: STANDARD.encode(compressed),
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A NUL-terminated header field.
fn field(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

fn octal(bytes: &[u8], what: &str) -> Result<u64, ManifestError> {
    let text = String::from_utf8_lossy(field(bytes));
    let text = text.trim_matches(|c: char| c == ' ' || c == '\0');
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(text, 8)
        .map_err(|_| ManifestError::Tar(format!("bad {what} field {text:?}")))
}

/// The `path` record of a PAX extended header, if any.
fn pax_path(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    text.lines().find_map(|line| {
        let (_, record) = line.split_once(' ')?;
        record.strip_prefix("path=").map(str::to_owned)
    })
}

/// Reads the regular files of a tar archive (ustar, GNU long names, PAX paths).
pub fn read_tar(tar: &[u8]) -> Result<Vec<ManifestFile>, ManifestError> {
    let mut files = Vec::new();
    let mut offset = 0usize;
    let mut long_name: Option<String> = None;
    while offset + 512 <= tar.len() {
        let header = &tar[offset..offset + 512];
        if header.iter().all(|&b| b == 0) {
            break;
        }
        let stored: u64 = header[148..156].iter().map(|&b| u64::from(b)).sum();
        let computed: u64 = header
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u64::from(b)
                }
            })
            .sum();
        if octal(&header[148..156], "checksum")? != computed && stored != 0 {
            return Err(ManifestError::Tar(format!(
                "header checksum mismatch at byte {offset}"
            )));
        }
        let size = usize::try_from(octal(&header[124..136], "size")?)
            .map_err(|_| ManifestError::Tar("entry too large".to_owned()))?;
        let start = offset + 512;
        let end = start
            .checked_add(size)
            .filter(|end| *end <= tar.len())
            .ok_or_else(|| ManifestError::Tar(format!("truncated entry at byte {offset}")))?;
        let data = &tar[start..end];
        let mut name = String::from_utf8_lossy(field(&header[0..100])).into_owned();
        if &header[257..262] == b"ustar" {
            let prefix = String::from_utf8_lossy(field(&header[345..500])).into_owned();
            if !prefix.is_empty() {
                name = format!("{prefix}/{name}");
            }
        }
        match header[156] {
            b'L' => long_name = Some(String::from_utf8_lossy(field(data)).into_owned()),
            b'x' => long_name = pax_path(data).or(long_name),
            b'0' | 0 | b'7' => {
                files.push(ManifestFile {
                    path: long_name.take().unwrap_or(name),
                    data: data.to_vec(),
                });
            }
            _ => long_name = None,
        }
        offset = start + size.div_ceil(512) * 512;
    }
    Ok(files)
}

/// Builds a gzip-compressed ustar archive of `files` and returns it in base64, as
/// an administrator's `.tar.gz` posted as a manifest's content (for tests and tools).
pub fn build_content(files: &[(&str, &[u8])]) -> String {
    let mut tar = Vec::new();
    for (path, data) in files {
        let mut header = [0u8; 512];
        let name = path.as_bytes();
        let len = name.len().min(100);
        header[..len].copy_from_slice(&name[..len]);
        header[100..108].copy_from_slice(b"0000644\0");
        header[108..116].copy_from_slice(b"0000000\0");
        header[116..124].copy_from_slice(b"0000000\0");
        header[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
        header[136..148].copy_from_slice(b"00000000000\0");
        header[156] = b'0';
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        header[148..156].copy_from_slice(b"        ");
        let sum: u64 = header.iter().map(|&b| u64::from(b)).sum();
        header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        tar.extend_from_slice(&header);
        tar.extend_from_slice(data);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    tar.resize(tar.len() + 1024, 0);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = std::io::Write::write_all(&mut encoder, &tar);
    STANDARD.encode(encoder.finish().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(files: &[(&str, &[u8])]) -> ManifestRecord {
        ManifestRecord {
            content: build_content(files),
            ..ManifestRecord::default()
        }
    }

    #[test]
    fn entries_in_archive_order_by_basename() {
        let manifest = record(&[("bundle/mig-agent", b"agent"), ("cacert", b"ca")]);
        let response = manifest.response("loader1").unwrap();
        let entries = response.entries.clone().unwrap();
        assert_eq!(entries[0].name, "mig-agent");
        assert_eq!(
            entries[0].sha256,
            hex(&Sha256::digest(b"agent")),
            "sha256 of the content"
        );
        assert_eq!(entries[1].name, "cacert");
        assert_eq!(
            response.signing_form(),
            format!(
                "{{\"loader_name\":\"\",\"entries\":[{{\"name\":\"mig-agent\",\"sha256\":\"{}\"}},{{\"name\":\"cacert\",\"sha256\":\"{}\"}}],\"signatures\":[]}}",
                entries[0].sha256, entries[1].sha256
            )
        );
    }

    #[test]
    fn fetch_returns_gzip_of_the_file() {
        let manifest = record(&[("a/configuration", b"cfg text")]);
        let object = manifest.object("configuration").unwrap();
        let compressed = STANDARD.decode(object.data).unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(compressed.as_slice())
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "cfg text");
        assert_eq!(
            manifest.object("mig-agent"),
            Err(ManifestError::ObjectNotFound("mig-agent".to_owned()))
        );
    }

    #[test]
    fn bad_content_is_refused() {
        let empty = ManifestRecord::default();
        assert_eq!(empty.files(), Err(ManifestError::NoContent));
        let not_base64 = ManifestRecord {
            content: "%%%".to_owned(),
            ..ManifestRecord::default()
        };
        assert!(matches!(not_base64.files(), Err(ManifestError::Base64(_))));
        let not_gzip = ManifestRecord {
            content: STANDARD.encode(b"plain"),
            ..ManifestRecord::default()
        };
        assert!(matches!(not_gzip.files(), Err(ManifestError::Gzip(_))));
    }

    #[test]
    fn empty_archive_has_null_entries() {
        let manifest = record(&[]);
        let response = manifest.response("").unwrap();
        assert_eq!(response.entries, None);
        assert_eq!(
            response.signing_form(),
            r#"{"loader_name":"","entries":null,"signatures":[]}"#
        );
    }

    #[test]
    fn loader_entry_keys_in_order() {
        let text = crate::gojson::to_string(&LoaderEntry::default());
        assert_eq!(
            text,
            r#"{"id":0,"name":"","prefix":"","key":"","agentname":"","lastseen":"0001-01-01T00:00:00Z","enabled":false,"expectenv":""}"#
        );
    }
}
