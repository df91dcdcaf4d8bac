//! Checks: one per filter value, compiled once per run (spec modules.md §3.3).

use std::time::{SystemTime, UNIX_EPOCH};

use regex::bytes::{Regex, RegexBuilder};

use super::params::{Search, strip_inverse};

/// The hash algorithms, in the order the original evaluates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HashAlgo {
    Md5,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
    Sha3_224,
    Sha3_256,
    Sha3_384,
    Sha3_512,
}

impl HashAlgo {
    /// Every algorithm in evaluation order.
    pub const ALL: [HashAlgo; 9] = [
        HashAlgo::Md5,
        HashAlgo::Sha1,
        HashAlgo::Sha256,
        HashAlgo::Sha384,
        HashAlgo::Sha512,
        HashAlgo::Sha3_224,
        HashAlgo::Sha3_256,
        HashAlgo::Sha3_384,
        HashAlgo::Sha3_512,
    ];

    /// The bit of this algorithm in a set of algorithms.
    pub fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// What a check looks at.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A regex searched in each line.
    Content {
        /// The pattern as given (one line at a time).
        line: Regex,
        /// The same pattern in multi-line mode, used to find candidate lines in
        /// a whole buffer; `None` when the pattern cannot be used that way.
        buffer: Option<Regex>,
    },
    /// A regex on the base name.
    Name(Regex),
    /// Inclusive size bounds.
    Size { min: u64, max: u64 },
    /// A regex on the Go `FileMode` string.
    Mode(Regex),
    /// Open bounds on the mtime, in nanoseconds since the epoch.
    Mtime { after: i128, before: i128 },
    /// A digest to compare (upper-case hex).
    Hash(HashAlgo),
}

/// The category of a check, for result rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Content,
    Name,
    Size,
    Mode,
    Mtime,
    Md5,
    Sha1,
    Sha2,
    Sha3,
}

/// One compiled filter value.
#[derive(Debug, Clone)]
pub struct Check {
    /// What to test.
    pub kind: Kind,
    /// The filter it came from.
    pub filter: Filter,
    /// The value as echoed in results (hashes upper-cased, `!` kept).
    pub value: String,
    /// `!` prefix (names, contents, modes).
    pub inverse: bool,
    /// The filter is named in `options.mismatch`.
    pub mismatch: bool,
}

impl Check {
    /// The match rule: a file is recorded iff `raw XOR inverse XOR mismatch`.
    pub fn wants(&self, raw: bool) -> bool {
        raw ^ self.inverse ^ self.mismatch
    }
}

/// Compiles a pattern as the original's Go `regexp` would accept it, wording
/// failures as the original does.
pub fn compile_regex(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .size_limit(64 << 20)
        .build()
        .map_err(|_| {
            format!(
                "Invalid regexp '{pattern}'. Must be a regexp. Compilation failed with '{}'",
                go_regex_error(pattern)
            )
        })
}

/// Go's `regexp/syntax` error text for a pattern Rust refused.
pub(crate) fn go_regex_error(pattern: &str) -> String {
    use regex_syntax::ast::ErrorKind;
    let parsed = regex_syntax::ast::parse::Parser::new().parse(pattern);
    let Err(err) = parsed else {
        return format!("error parsing regexp: invalid character class: `{pattern}`");
    };
    let span = err.span();
    let fragment = pattern
        .get(span.start.offset..span.end.offset)
        .unwrap_or(pattern);
    let from_start = pattern.get(span.start.offset..).unwrap_or(pattern);
    let (code, fragment) = match err.kind() {
        ErrorKind::GroupUnclosed => ("missing closing )", pattern),
        ErrorKind::GroupUnopened => ("unexpected )", pattern),
        ErrorKind::ClassUnclosed => ("missing closing ]", from_start),
        ErrorKind::RepetitionMissing => ("missing argument to repetition operator", fragment),
        ErrorKind::EscapeUnexpectedEof => ("trailing backslash at end of expression", ""),
        ErrorKind::ClassRangeInvalid | ErrorKind::ClassRangeLiteral => {
            ("invalid character class range", fragment)
        }
        ErrorKind::RepetitionCountInvalid
        | ErrorKind::RepetitionCountDecimalEmpty
        | ErrorKind::RepetitionCountUnclosed
        | ErrorKind::DecimalEmpty
        | ErrorKind::DecimalInvalid => ("invalid repeat count", fragment),
        ErrorKind::GroupNameDuplicate { .. }
        | ErrorKind::GroupNameEmpty
        | ErrorKind::GroupNameInvalid
        | ErrorKind::GroupNameUnexpectedEof => ("invalid named capture", fragment),
        ErrorKind::NestLimitExceeded(_) => ("expression nests too deeply", pattern),
        ErrorKind::UnsupportedLookAround
        | ErrorKind::FlagDanglingNegation
        | ErrorKind::FlagDuplicate { .. }
        | ErrorKind::FlagRepeatedNegation { .. }
        | ErrorKind::FlagUnexpectedEof
        | ErrorKind::FlagUnrecognized => ("invalid or unsupported Perl syntax", fragment),
        _ => ("invalid escape sequence", fragment),
    };
    format!("error parsing regexp: {code}: `{fragment}`")
}

/// Whether a content pattern may be searched over a whole buffer of lines
/// (in multi-line mode) to find candidate lines: patterns that anchor on the
/// text rather than the line, or change flags, are evaluated line by line.
fn buffer_regex(pattern: &str) -> Option<Regex> {
    let clears_a_flag = pattern.match_indices("(?").any(|(at, _)| {
        pattern[at + 2..]
            .chars()
            .take_while(|c| *c != ')' && *c != ':')
            .any(|c| c == '-')
    });
    if pattern.contains("\\A") || pattern.contains("\\z") || clears_a_flag {
        return None;
    }
    RegexBuilder::new(pattern)
        .multi_line(true)
        .crlf(true)
        .size_limit(64 << 20)
        .build()
        .ok()
}

/// Go's `strconv.ParseUint` error wording.
fn parse_uint(digits: &str) -> Result<u64, String> {
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!(
            "strconv.ParseUint: parsing \"{digits}\": invalid syntax"
        ));
    }
    digits
        .parse()
        .map_err(|_| format!("strconv.ParseUint: parsing \"{digits}\": value out of range"))
}

/// Parses a validated size filter into inclusive bounds.
pub fn parse_size(size: &str) -> Result<(u64, u64), String> {
    let (body, multiplier) = match size.as_bytes().last() {
        Some(b'k') => (&size[..size.len() - 1], 1u64 << 10),
        Some(b'm') => (&size[..size.len() - 1], 1 << 20),
        Some(b'g') => (&size[..size.len() - 1], 1 << 30),
        Some(b't') => (&size[..size.len() - 1], 1 << 40),
        _ => (size, 1),
    };
    let max_size = u64::MAX >> 1;
    if let Some(digits) = body.strip_prefix('<') {
        Ok((0, parse_uint(digits)?.wrapping_mul(multiplier)))
    } else if let Some(digits) = body.strip_prefix('>') {
        Ok((parse_uint(digits)?.wrapping_mul(multiplier), max_size))
    } else {
        let exact = parse_uint(body)?.wrapping_mul(multiplier);
        Ok((exact, exact))
    }
}

/// Nanoseconds since the epoch of a system time (negative before 1970).
pub fn unix_nanos(time: SystemTime) -> i128 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_nanos() as i128,
        Err(before) => -(before.duration().as_nanos() as i128),
    }
}

/// Parses a validated mtime filter into open bounds relative to `now`.
pub fn parse_mtime(mtime: &str, now: i128) -> Result<(i128, i128), String> {
    let digits = mtime.get(1..mtime.len().saturating_sub(1)).unwrap_or("");
    let count = i128::from(parse_uint(digits)?);
    let unit: i128 = match mtime.as_bytes().last() {
        Some(b'd') => 24 * 3_600_000_000_000,
        Some(b'h') => 3_600_000_000_000,
        _ => 60_000_000_000,
    };
    let span = count
        .checked_mul(unit)
        .filter(|span| *span <= i128::from(i64::MAX))
        .ok_or_else(|| format!("time: invalid duration \"{mtime}\""))?;
    // The original's sentinels: 1111-01-11 and 9998-01-11.
    const YEAR_1111: i128 = -27_080_945_329_000_000_000;
    const YEAR_9998: i128 = 253_348_456_271_000_000_000;
    if mtime.starts_with('<') {
        Ok((now - span, YEAR_9998))
    } else {
        Ok((YEAR_1111, now - span))
    }
}

/// Compiles every check of a search in the original's creation order.
pub fn make_checks(search: &Search, now: i128) -> Result<Vec<Check>, String> {
    let options = &search.options;
    let mut checks = Vec::new();
    let mut push = |kind, filter, value: String, inverse, name: &str| {
        checks.push(Check {
            kind,
            filter,
            value,
            inverse,
            mismatch: options.has_mismatch(name),
        });
    };
    for value in &search.contents {
        let (inverse, pattern) = strip_inverse(value);
        let line = compile_regex(pattern)?;
        let buffer = buffer_regex(pattern);
        push(
            Kind::Content { line, buffer },
            Filter::Content,
            value.clone(),
            inverse,
            "content",
        );
    }
    for value in &search.names {
        let (inverse, pattern) = strip_inverse(value);
        push(
            Kind::Name(compile_regex(pattern)?),
            Filter::Name,
            value.clone(),
            inverse,
            "name",
        );
    }
    for value in &search.sizes {
        let (min, max) = parse_size(value)?;
        push(
            Kind::Size { min, max },
            Filter::Size,
            value.clone(),
            false,
            "size",
        );
    }
    for value in &search.modes {
        // The original compiles modes without stripping `!` (so `!x` never
        // matches); we treat the prefix as for names.
        let (inverse, pattern) = strip_inverse(value);
        push(
            Kind::Mode(compile_regex(pattern)?),
            Filter::Mode,
            value.clone(),
            inverse,
            "mode",
        );
    }
    for value in &search.mtimes {
        let (after, before) = parse_mtime(value, now)?;
        push(
            Kind::Mtime { after, before },
            Filter::Mtime,
            value.clone(),
            false,
            "mtime",
        );
    }
    let hash_lists: [(&Vec<String>, Filter, &str); 4] = [
        (&search.md5, Filter::Md5, "md5"),
        (&search.sha1, Filter::Sha1, "sha1"),
        (&search.sha2, Filter::Sha2, "sha2"),
        (&search.sha3, Filter::Sha3, "sha3"),
    ];
    for (values, filter, name) in hash_lists {
        for value in values {
            let algo = match (filter, value.len()) {
                (Filter::Md5, _) => HashAlgo::Md5,
                (Filter::Sha1, _) => HashAlgo::Sha1,
                (Filter::Sha2, 64) => HashAlgo::Sha256,
                (Filter::Sha2, 96) => HashAlgo::Sha384,
                (Filter::Sha2, _) => HashAlgo::Sha512,
                (_, 56) => HashAlgo::Sha3_224,
                (_, 64) => HashAlgo::Sha3_256,
                (_, 96) => HashAlgo::Sha3_384,
                _ => HashAlgo::Sha3_512,
            };
            push(Kind::Hash(algo), filter, value.to_uppercase(), false, name);
        }
    }
    Ok(checks)
}

/// Go's `os.FileMode.String()` for a Unix `st_mode`.
pub fn go_mode_string(st_mode: u32) -> String {
    let mut out = String::with_capacity(12);
    let file_type = st_mode & 0o170000;
    if file_type == 0o040000 {
        out.push('d');
    }
    if file_type == 0o120000 {
        out.push('L');
    }
    if file_type == 0o060000 || file_type == 0o020000 {
        out.push('D');
    }
    if file_type == 0o010000 {
        out.push('p');
    }
    if file_type == 0o140000 {
        out.push('S');
    }
    if st_mode & 0o4000 != 0 {
        out.push('u');
    }
    if st_mode & 0o2000 != 0 {
        out.push('g');
    }
    if file_type == 0o020000 {
        out.push('c');
    }
    if st_mode & 0o1000 != 0 {
        out.push('t');
    }
    if out.is_empty() {
        out.push('-');
    }
    const RWX: &[u8; 9] = b"rwxrwxrwx";
    for (bit, letter) in RWX.iter().enumerate() {
        if st_mode & (1 << (8 - bit)) != 0 {
            out.push(char::from(*letter));
        } else {
            out.push('-');
        }
    }
    out
}

/// Go's `Time.UTC().String()`: `2024-01-02 03:04:05.5 +0000 UTC`.
pub fn go_time_string(nanos: i128) -> String {
    let seconds = nanos.div_euclid(1_000_000_000);
    let fraction = nanos.rem_euclid(1_000_000_000);
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    );
    if fraction != 0 {
        let digits = format!("{fraction:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    out
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i128) -> (i128, i128, i128) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_texts() {
        assert_eq!(go_mode_string(0o100644), "-rw-r--r--");
        assert_eq!(go_mode_string(0o040755), "drwxr-xr-x");
        assert_eq!(go_mode_string(0o104755), "urwxr-xr-x");
        assert_eq!(go_mode_string(0o020666), "Dcrw-rw-rw-");
        assert_eq!(go_mode_string(0o103777), "gtrwxrwxrwx");
        assert_eq!(
            go_time_string(1_704_164_645_000_000_000),
            "2024-01-02 03:04:05 +0000 UTC"
        );
        assert_eq!(
            go_time_string(1_568_418_010_500_000_000),
            "2019-09-13 23:40:10.5 +0000 UTC"
        );
        assert_eq!(
            compile_regex("(unclosed").unwrap_err(),
            "Invalid regexp '(unclosed'. Must be a regexp. Compilation failed with 'error parsing regexp: missing closing ): `(unclosed`'"
        );
        assert_eq!(parse_size(">10k"), Ok((10240, u64::MAX >> 1)));
        assert_eq!(parse_size("<1m"), Ok((0, 1 << 20)));
        assert_eq!(parse_size("274"), Ok((274, 274)));
        assert!(parse_size("<").unwrap_err().contains("invalid syntax"));
    }
}
