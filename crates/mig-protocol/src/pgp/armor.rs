//! MIG's single-line signature form (§4.3 of the protocol spec).
//!
//! MIG stores a detached signature as the armor body with its newlines removed,
//! immediately followed by `=` and the 4-character CRC-24 (`…aVJQgw==Jaj/`).
//! The body may itself end with base64 `=` padding, so the checksum starts at the
//! LAST `=`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::PgpError;

const BEGIN_SIGNATURE: &str = "-----BEGIN PGP SIGNATURE-----";
const END_SIGNATURE: &str = "-----END PGP SIGNATURE-----";
const LINE_LEN: usize = 64;

/// Convert an ASCII-armored signature into MIG's single-line form.
///
/// The armor headers are skipped, the body lines are joined. If the armor carries
/// a checksum it must be right; if it carries none (allowed by RFC 9580) one is
/// computed, because MIG's form always ends with `=CRC`.
pub fn dearmor_signature(armored: &str) -> Result<String, PgpError> {
    let begin = armored
        .find(BEGIN_SIGNATURE)
        .ok_or_else(|| PgpError::Armor("no BEGIN PGP SIGNATURE line".into()))?;
    let mut lines = armored[begin + BEGIN_SIGNATURE.len()..]
        .lines()
        .map(|l| l.trim_end_matches('\r'));
    // The rest of the BEGIN line, then headers up to the first blank line.
    lines.next();
    let mut in_headers = true;
    let mut body = String::new();
    let mut checksum: Option<&str> = None;
    let mut ended = false;
    for line in lines {
        if in_headers {
            if line.trim().is_empty() {
                in_headers = false;
            } else if !line.contains(": ") {
                // No header block at all (tolerated): this is already body.
                in_headers = false;
                body.push_str(line.trim());
            }
            continue;
        }
        if line.starts_with("-----END") {
            if !line.starts_with(END_SIGNATURE) {
                return Err(PgpError::Armor(format!("unexpected end line {line:?}")));
            }
            ended = true;
            break;
        }
        let line = line.trim();
        if let Some(crc) = line.strip_prefix('=') {
            checksum = Some(crc);
        } else if checksum.is_some() {
            return Err(PgpError::Armor("data after the armor checksum".into()));
        } else {
            body.push_str(line);
        }
    }
    if !ended {
        return Err(PgpError::Armor("no END PGP SIGNATURE line".into()));
    }
    let bytes = decode_body(&body)?;
    let computed = crc24_base64(&bytes);
    if let Some(found) = checksum
        && found != computed
    {
        return Err(PgpError::Checksum {
            found: found.to_string(),
            computed,
        });
    }
    Ok(format!("{body}={computed}"))
}

/// Rebuild the ASCII-armored text of a single-line signature and check its CRC-24.
///
/// The output is exactly what MIG's Go code produced (no armor headers, 64-character
/// lines, no trailing newline).
pub fn rearmor_signature(single_line: &str) -> Result<String, PgpError> {
    let (body, checksum) = split_single_line(single_line)?;
    decode_checked(body, checksum)?;
    let mut out = String::with_capacity(body.len() + body.len() / LINE_LEN + 80);
    out.push_str(BEGIN_SIGNATURE);
    out.push_str("\n\n");
    // The body was validated as base64, so it is ASCII and byte chunks are chars.
    for chunk in body.as_bytes().chunks(LINE_LEN) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push('=');
    out.push_str(checksum);
    out.push('\n');
    out.push_str(END_SIGNATURE);
    Ok(out)
}

/// Decode a single-line signature to the binary OpenPGP packets, checking the CRC-24.
pub(crate) fn decode_single_line(single_line: &str) -> Result<Vec<u8>, PgpError> {
    let (body, checksum) = split_single_line(single_line)?;
    decode_checked(body, checksum)
}

/// Encode binary OpenPGP packets in MIG's single-line form.
pub(crate) fn encode_single_line(bytes: &[u8]) -> String {
    format!("{}={}", STANDARD.encode(bytes), crc24_base64(bytes))
}

fn split_single_line(single_line: &str) -> Result<(&str, &str), PgpError> {
    let single_line = single_line.trim();
    let (body, checksum) = single_line
        .rsplit_once('=')
        .ok_or_else(|| PgpError::Armor("no '=' before the armor checksum".into()))?;
    if checksum.len() != 4 {
        return Err(PgpError::Armor(format!(
            "armor checksum {checksum:?} is not 4 characters"
        )));
    }
    if body.is_empty() {
        return Err(PgpError::Armor("empty signature body".into()));
    }
    Ok((body, checksum))
}

fn decode_checked(body: &str, checksum: &str) -> Result<Vec<u8>, PgpError> {
    let bytes = decode_body(body)?;
    let computed = crc24_base64(&bytes);
    if computed != checksum {
        return Err(PgpError::Checksum {
            found: checksum.to_string(),
            computed,
        });
    }
    Ok(bytes)
}

fn decode_body(body: &str) -> Result<Vec<u8>, PgpError> {
    STANDARD
        .decode(body)
        .map_err(|e| PgpError::Armor(format!("signature body is not base64: {e}")))
}

fn crc24_base64(data: &[u8]) -> String {
    let crc = crc24(data);
    STANDARD.encode([(crc >> 16) as u8, (crc >> 8) as u8, crc as u8])
}

/// The OpenPGP armor checksum (RFC 4880 §6.1).
fn crc24(data: &[u8]) -> u32 {
    const INIT: u32 = 0x00B7_04CE;
    const POLY: u32 = 0x0186_4CFB;
    let mut crc = INIT;
    for &byte in data {
        crc ^= u32::from(byte) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= POLY;
            }
        }
    }
    crc & 0x00FF_FFFF
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn crc24_of_known_input() {
        // Checksum of the empty input is the initial value.
        assert_eq!(crc24(b""), 0x00B7_04CE);
        assert_eq!(crc24(b"123456789"), 0x0021_CF02);
    }

    #[test]
    fn split_keeps_body_padding() {
        let (body, crc) = split_single_line("AAAAAA==Jaj/").unwrap();
        assert_eq!(body, "AAAAAA=");
        assert_eq!(crc, "Jaj/");
    }

    #[test]
    fn round_trip_encode_decode() {
        for len in 0u8..10 {
            let data: Vec<u8> = (0..len).map(|i: u8| i.wrapping_mul(37)).collect();
            if data.is_empty() {
                continue;
            }
            let line = encode_single_line(&data);
            assert_eq!(decode_single_line(&line).unwrap(), data);
            let armored = rearmor_signature(&line).unwrap();
            assert_eq!(dearmor_signature(&armored).unwrap(), line);
        }
    }
}
