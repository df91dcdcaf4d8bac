//! EVR (`[epoch:]version[-release]`) comparison (spec modules.md §4.3).
//!
//! Two orderings:
//! - [`Scheme::Rpm`], the original's rpmvercmp variant, used for every
//!   criterion that does not come from a dpkg package (rpm packages, file
//!   contents, raw values). Every character outside `[A-Za-z0-9]` is a pure
//!   separator, so `~` and `^` carry no meaning.
//! - [`Scheme::Dpkg`], Debian's ordering (`dpkg --compare-versions`), used for
//!   criteria of dpkg packages. The original applied the rpm variant to dpkg
//!   versions too, which orders `1.0~rc1` after `1.0` and so reported patched
//!   Ubuntu/Debian packages (`…~deb12u1`, `…~esm1`) as vulnerable or the
//!   reverse. [MAY IMPROVE, fixed]

use std::cmp::Ordering;

/// Which version ordering applies to a criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheme {
    /// The original's rpmvercmp variant.
    #[default]
    Rpm,
    /// Debian's version ordering.
    Dpkg,
}

/// An EVR test operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `<`: the installed version is older than the reference.
    Less,
    /// `>`: the installed version is newer.
    Greater,
    /// `=`: the versions are equal.
    Equal,
}

impl Operation {
    /// The operation written `op`, or the original's error.
    pub fn parse(op: &str) -> Result<Self, String> {
        match op {
            "<" => Ok(Self::Less),
            ">" => Ok(Self::Greater),
            "=" => Ok(Self::Equal),
            other => Err(format!("invalid evr operation {other}")),
        }
    }
}

/// Whether `installed <op> reference` holds under `scheme`.
pub fn compare(
    scheme: Scheme,
    op: Operation,
    installed: &str,
    reference: &str,
) -> Result<bool, String> {
    let ordering = order(scheme, installed, reference)?;
    Ok(match op {
        Operation::Less => ordering == Ordering::Less,
        Operation::Greater => ordering == Ordering::Greater,
        Operation::Equal => ordering == Ordering::Equal,
    })
}

/// How `installed` orders against `reference` under `scheme`.
pub fn order(scheme: Scheme, installed: &str, reference: &str) -> Result<Ordering, String> {
    match scheme {
        Scheme::Rpm => rpm_order(installed, reference),
        Scheme::Dpkg => dpkg_order(installed, reference),
    }
}

/// The three parts of a version.
#[derive(Debug, PartialEq, Eq)]
pub struct Evr<'a> {
    pub epoch: &'a str,
    pub version: &'a str,
    pub release: &'a str,
}

/// Splits a version as the original did: leading digits followed by `:` are
/// the epoch (default `0`), the release follows the last `-`; an all-digit
/// string is a bare version.
pub fn extract(s: &str) -> Result<Evr<'_>, String> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == s.len() {
        return Ok(Evr {
            epoch: "0",
            version: s,
            release: "",
        });
    }
    let (epoch, rest) = if s.as_bytes()[digits] == b':' {
        (&s[..digits], &s[digits + 1..])
    } else {
        ("0", s)
    };
    if rest.is_empty() {
        return Err("evrExtract: only epoch".to_owned());
    }
    match rest.rfind('-') {
        Some(dash) if dash + 1 == rest.len() => Err("evrExtract: ends in dash".to_owned()),
        Some(dash) => Ok(Evr {
            epoch,
            version: &rest[..dash],
            release: &rest[dash + 1..],
        }),
        None => Ok(Evr {
            epoch,
            version: rest,
            release: "",
        }),
    }
}

fn parse_epoch(epoch: &str, side: &str) -> Result<i64, String> {
    epoch
        .parse::<i64>()
        .map_err(|_| format!("evrRpmCompare: bad {side} epoch"))
}

fn rpm_order(installed: &str, reference: &str) -> Result<Ordering, String> {
    let actual = extract(installed)?;
    let check = extract(reference)?;
    let epochs = parse_epoch(actual.epoch, "actual")?.cmp(&parse_epoch(check.epoch, "check")?);
    Ok(epochs
        .then_with(|| rpm_vercmp(actual.version, check.version))
        .then_with(|| rpm_vercmp(actual.release, check.release)))
}

/// The tokens of the rpm variant: maximal `[A-Za-z0-9]` runs, split again at
/// every digit/letter boundary.
fn rpm_tokens(s: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let bytes = s.as_bytes();
    let mut start = None::<usize>;
    for (index, &byte) in bytes.iter().enumerate() {
        let class = if byte.is_ascii_digit() {
            1
        } else if byte.is_ascii_alphabetic() {
            2
        } else {
            0
        };
        if let Some(begin) = start {
            let previous = if bytes[index - 1].is_ascii_digit() {
                1
            } else {
                2
            };
            if class != previous {
                tokens.push(&s[begin..index]);
                start = None;
            }
        }
        if class != 0 && start.is_none() {
            start = Some(index);
        }
    }
    if let Some(begin) = start {
        tokens.push(&s[begin..]);
    }
    tokens
}

/// A numeric token without its leading zeros (`0` stays `0`).
fn trim_zeros(token: &str) -> &str {
    let trimmed = token.trim_start_matches('0');
    if trimmed.is_empty() {
        &token[token.len() - 1..]
    } else {
        trimmed
    }
}

/// Digit strings compared as integers of any size.
fn numeric_order(a: &str, b: &str) -> Ordering {
    let (a, b) = (trim_zeros(a), trim_zeros(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The rpmvercmp variant: `Greater` when `actual` is newer.
fn rpm_vercmp(actual: &str, check: &str) -> Ordering {
    if actual == check {
        return Ordering::Equal;
    }
    let actual_tokens = rpm_tokens(actual);
    let check_tokens = rpm_tokens(check);
    for (index, check_token) in check_tokens.iter().enumerate() {
        let Some(actual_token) = actual_tokens.get(index) else {
            return Ordering::Less;
        };
        let actual_numeric = actual_token.as_bytes()[0].is_ascii_digit();
        let check_numeric = check_token.as_bytes()[0].is_ascii_digit();
        let ordering = match (actual_numeric, check_numeric) {
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (true, true) => numeric_order(actual_token, check_token),
            (false, false) => actual_token.cmp(check_token),
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    if actual_tokens.len() > check_tokens.len() {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

/// A Debian version: epoch (digits before the first `:`), upstream version,
/// revision (after the last `-`).
fn dpkg_split(s: &str) -> Result<(u64, &str, &str), String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("evrExtract: empty version".to_owned());
    }
    let (epoch, rest) = match s.split_once(':') {
        Some((epoch, rest)) => {
            let epoch = epoch
                .parse::<u64>()
                .map_err(|_| format!("evrExtract: bad epoch in {s:?}"))?;
            (epoch, rest)
        }
        None => (0, s),
    };
    if rest.is_empty() {
        return Err("evrExtract: only epoch".to_owned());
    }
    Ok(match rest.rsplit_once('-') {
        Some((upstream, revision)) => (epoch, upstream, revision),
        None => (epoch, rest, ""),
    })
}

fn dpkg_order(installed: &str, reference: &str) -> Result<Ordering, String> {
    let (a_epoch, a_upstream, a_revision) = dpkg_split(installed)?;
    let (b_epoch, b_upstream, b_revision) = dpkg_split(reference)?;
    Ok(a_epoch
        .cmp(&b_epoch)
        .then_with(|| dpkg_verrevcmp(a_upstream, b_upstream))
        .then_with(|| dpkg_verrevcmp(a_revision, b_revision)))
}

/// The weight of a character in a non-digit run: `~` before the end of the
/// string, the end before letters, letters before everything else.
fn dpkg_weight(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`.
fn dpkg_verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (wa, wb) = (
                dpkg_weight(a.get(i).copied()),
                dpkg_weight(b.get(j).copied()),
            );
            if wa != wb {
                return wa.cmp(&wb);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(a, i) && digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(a, i) {
            return Ordering::Greater;
        }
        if digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}
