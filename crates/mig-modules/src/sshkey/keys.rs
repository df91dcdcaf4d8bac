//! SSH key parsing: PEM (PKCS#1 RSA, DSA, SEC1 EC) and OpenSSH private keys,
//! authorized_keys lines, wire-format public keys and their fingerprints.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use md5::Digest;

/// What a private key file yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Private {
    /// A key and its public key in wire format (`None` when encrypted PEM).
    Key {
        /// The public key blob, when known.
        public: Option<Vec<u8>>,
        /// Whether the private part is encrypted.
        encrypted: bool,
    },
    /// Not a private key.
    NotAKey,
}

/// The MD5 fingerprint: lower-case hex pairs joined by `:`.
pub fn fingerprint_md5(blob: &[u8]) -> String {
    md5::Md5::digest(blob)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The SHA256 fingerprint: `SHA256:` and unpadded base64.
pub fn fingerprint_sha256(blob: &[u8]) -> String {
    format!(
        "SHA256:{}",
        STANDARD_NO_PAD.encode(sha2::Sha256::digest(blob))
    )
}

fn ssh_string(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
}

/// An SSH `mpint` from a DER INTEGER's unsigned magnitude.
fn ssh_mpint(out: &mut Vec<u8>, integer: &[u8]) {
    let start = integer
        .iter()
        .position(|byte| *byte != 0)
        .unwrap_or(integer.len());
    let magnitude = &integer[start..];
    if magnitude.first().is_some_and(|byte| byte & 0x80 != 0) {
        let mut padded = vec![0u8];
        padded.extend_from_slice(magnitude);
        ssh_string(out, &padded);
    } else {
        ssh_string(out, magnitude);
    }
}

/// One DER element: (tag, contents, rest).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first & 0x80 == 0 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let length = rest[..count]
            .iter()
            .fold(0usize, |acc, byte| (acc << 8) | usize::from(*byte));
        (length, &rest[count..])
    };
    (rest.len() >= length).then(|| (tag, &rest[..length], &rest[length..]))
}

/// The contents of a DER SEQUENCE's INTEGERs (stops at the first other tag).
fn der_integers(sequence: &[u8]) -> Option<Vec<&[u8]>> {
    let (tag, mut body, _) = der(sequence)?;
    if tag != 0x30 {
        return None;
    }
    let mut integers = Vec::new();
    while let Some((tag, contents, rest)) = der(body) {
        if tag != 0x02 {
            break;
        }
        integers.push(contents);
        body = rest;
    }
    Some(integers)
}

/// A PEM block: (label, headers, decoded body), the first in the text.
fn pem_block(text: &[u8]) -> Option<(String, Vec<String>, Vec<u8>)> {
    let text = String::from_utf8_lossy(text);
    let start = text.find("-----BEGIN ")?;
    let after = &text[start + 11..];
    let label_end = after.find("-----")?;
    let label = after[..label_end].to_owned();
    let body = &after[label_end + 5..];
    let end = body.find(&format!("-----END {label}-----"))?;
    let mut headers = Vec::new();
    let mut encoded = String::new();
    for line in body[..end].lines() {
        let line = line.trim();
        if line.contains(':') {
            headers.push(line.to_owned());
        } else {
            encoded.push_str(line);
        }
    }
    let decoded = STANDARD.decode(encoded.as_bytes()).ok()?;
    Some((label, headers, decoded))
}

/// The curve name and SSH algorithm of an EC named-curve OID.
fn curve_of(oid: &[u8]) -> Option<(&'static str, &'static str)> {
    match oid {
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07] => {
            Some(("nistp256", "ecdsa-sha2-nistp256"))
        }
        [0x2b, 0x81, 0x04, 0x00, 0x22] => Some(("nistp384", "ecdsa-sha2-nistp384")),
        [0x2b, 0x81, 0x04, 0x00, 0x23] => Some(("nistp521", "ecdsa-sha2-nistp521")),
        _ => None,
    }
}

fn ec_public(der_key: &[u8]) -> Option<Vec<u8>> {
    let (tag, mut body, _) = der(der_key)?;
    if tag != 0x30 {
        return None;
    }
    let (mut curve, mut point) = (None, None);
    while let Some((tag, contents, rest)) = der(body) {
        match tag {
            0xa0 => curve = der(contents).and_then(|(_, oid, _)| curve_of(oid)),
            0xa1 => {
                point = der(contents)
                    .and_then(|(tag, bits, _)| (tag == 0x03).then(|| bits.get(1..)).flatten())
            }
            _ => {}
        }
        body = rest;
    }
    let ((name, algorithm), point) = (curve?, point?);
    let mut blob = Vec::new();
    ssh_string(&mut blob, algorithm.as_bytes());
    ssh_string(&mut blob, name.as_bytes());
    ssh_string(&mut blob, point);
    Some(blob)
}

/// A reader of SSH wire strings.
struct Wire<'a>(&'a [u8]);

impl<'a> Wire<'a> {
    fn string(&mut self) -> Option<&'a [u8]> {
        let length = u32::from_be_bytes(self.0.get(..4)?.try_into().ok()?) as usize;
        let value = self.0.get(4..4 + length)?;
        self.0 = &self.0[4 + length..];
        Some(value)
    }

    fn u32(&mut self) -> Option<u32> {
        let value = u32::from_be_bytes(self.0.get(..4)?.try_into().ok()?);
        self.0 = &self.0[4..];
        Some(value)
    }
}

fn openssh_private(data: &[u8]) -> Option<Private> {
    let rest = data.strip_prefix(b"openssh-key-v1\0")?;
    let mut wire = Wire(rest);
    let cipher = wire.string()?;
    let _kdf = wire.string()?;
    let _kdf_options = wire.string()?;
    if wire.u32()? < 1 {
        return None;
    }
    let public = wire.string()?;
    parse_public_blob(public)?;
    Some(Private::Key {
        public: Some(public.to_vec()),
        encrypted: cipher != b"none",
    })
}

/// Parses a private key file as the original's `ssh.ParsePrivateKey`, plus
/// OpenSSH-format keys (whose public part is readable even when encrypted).
pub fn parse_private(data: &[u8]) -> Private {
    let Some((label, headers, body)) = pem_block(data) else {
        return Private::NotAKey;
    };
    if headers
        .iter()
        .any(|header| header.starts_with("Proc-Type:") && header.contains("ENCRYPTED"))
    {
        return if matches!(
            label.as_str(),
            "RSA PRIVATE KEY" | "DSA PRIVATE KEY" | "EC PRIVATE KEY"
        ) {
            Private::Key {
                public: None,
                encrypted: true,
            }
        } else {
            Private::NotAKey
        };
    }
    let public = match label.as_str() {
        "RSA PRIVATE KEY" => der_integers(&body).and_then(|ints| {
            let (n, e) = (ints.get(1)?, ints.get(2)?);
            let mut blob = Vec::new();
            ssh_string(&mut blob, b"ssh-rsa");
            ssh_mpint(&mut blob, e);
            ssh_mpint(&mut blob, n);
            Some(blob)
        }),
        "DSA PRIVATE KEY" => der_integers(&body).and_then(|ints| {
            let mut blob = Vec::new();
            ssh_string(&mut blob, b"ssh-dss");
            for index in 1..=4 {
                ssh_mpint(&mut blob, ints.get(index)?);
            }
            Some(blob)
        }),
        "EC PRIVATE KEY" => ec_public(&body),
        "OPENSSH PRIVATE KEY" => return openssh_private(&body).unwrap_or(Private::NotAKey),
        _ => None,
    };
    match public {
        Some(public) => Private::Key {
            public: Some(public),
            encrypted: false,
        },
        None => Private::NotAKey,
    }
}

/// Validates a wire-format public key; returns its algorithm.
pub fn parse_public_blob(blob: &[u8]) -> Option<String> {
    let mut wire = Wire(blob);
    let algorithm = String::from_utf8(wire.string()?.to_vec()).ok()?;
    let fields = match algorithm.as_str() {
        "ssh-rsa" => 2,
        "ssh-dss" => 4,
        "ssh-ed25519" => 1,
        "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384" | "ecdsa-sha2-nistp521" => 2,
        "sk-ssh-ed25519@openssh.com" => 2,
        "sk-ecdsa-sha2-nistp256@openssh.com" => 3,
        _ => return None,
    };
    for _ in 0..fields {
        wire.string()?;
    }
    if algorithm == "ssh-ed25519" && blob.len() != 4 + 11 + 4 + 32 {
        return None;
    }
    wire.0.is_empty().then_some(algorithm)
}

/// Skips authorized_keys options (comma-separated, quotes may hold spaces).
fn skip_options(line: &str) -> &str {
    let mut in_quotes = false;
    let mut escaped = false;
    for (index, c) in line.char_indices() {
        match c {
            '\\' if in_quotes => escaped = !escaped,
            '"' if !escaped => in_quotes = !in_quotes,
            ' ' | '\t' if !in_quotes => return line[index..].trim_start(),
            _ => escaped = false,
        }
    }
    ""
}

fn key_of(line: &str) -> Option<Vec<u8>> {
    let mut fields = line.split_whitespace();
    let _algorithm = fields.next()?;
    let blob = STANDARD.decode(fields.next()?.as_bytes()).ok()?;
    parse_public_blob(&blob)?;
    Some(blob)
}

/// The key of one authorized_keys line (options allowed), as Go's
/// `ssh.ParseAuthorizedKey` on that line alone.
pub fn authorized_key_line(line: &str) -> Option<Vec<u8>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    key_of(line).or_else(|| key_of(skip_options(line)))
}

/// The first parsable key line of a text (Go's `ssh.ParseAuthorizedKey`).
pub fn first_authorized_key(text: &str) -> Option<Vec<u8>> {
    text.lines().find_map(authorized_key_line)
}
