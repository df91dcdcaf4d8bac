//! Interval and timestamp literals, parsed in Rust so that neither reaches the database as text.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, SubsecRound, Utc};

/// The largest interval accepted, in microseconds (about 100 years).
const MAX_INTERVAL_MICROS: f64 = 100.0 * 366.0 * 86_400.0 * 1_000_000.0;

/// Parses a PostgreSQL interval string of fixed-length units into microseconds.
///
/// Accepted: one or more `<number> <unit>` parts (`'10 minutes'`, `'1 hour 30 minutes'`,
/// `'5m'`, `'1.5 days'`, `'-2 hours'`), `hh:mm[:ss[.ffffff]]`, a bare number (seconds), an
/// optional leading `@` and a trailing `ago` that negates the whole. Months, years and larger
/// units are refused because their length depends on the calendar; a day is 86 400 seconds.
pub(crate) fn parse_interval(text: &str) -> Result<i64, String> {
    let mut rest = text.trim();
    if let Some(stripped) = rest.strip_prefix('@') {
        rest = stripped.trim_start();
    }
    let mut negate = false;
    let lower = rest.to_ascii_lowercase();
    if let Some(stripped) = lower.strip_suffix("ago")
        && (stripped.is_empty() || stripped.ends_with(char::is_whitespace))
    {
        negate = true;
        rest = rest[..stripped.len()].trim_end();
    }
    if rest.is_empty() {
        return Err("empty interval".to_string());
    }
    let mut total = 0.0_f64;
    let mut chars = rest.char_indices().peekable();
    let mut parts = 0;
    while let Some(&(start, _)) = chars.peek() {
        // A part: sign, digits, optional fraction or clock form, optional unit.
        let part_rest = &rest[start..];
        let number_length = part_rest
            .char_indices()
            .take_while(|(index, c)| {
                c.is_ascii_digit()
                    || *c == '.'
                    || *c == ':'
                    || (*index == 0 && (*c == '-' || *c == '+'))
            })
            .count();
        if number_length == 0 {
            return Err(format!("expected a number at {:?}", part_rest));
        }
        let number = &part_rest[..number_length];
        let after_number = &part_rest[number_length..];
        let unit_start = after_number.len() - after_number.trim_start().len();
        let unit_length = after_number[unit_start..]
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .count();
        let unit = after_number[unit_start..unit_start + unit_length].to_ascii_lowercase();
        let micros = if number.contains(':') {
            if !unit.is_empty() {
                return Err(format!("unexpected unit {unit:?} after a clock time"));
            }
            parse_clock(number)?
        } else {
            let value: f64 = number
                .parse()
                .map_err(|_| format!("{number:?} is not a number"))?;
            value * unit_micros(&unit)?
        };
        total += micros;
        parts += 1;
        let consumed = number_length
            + if unit.is_empty() {
                0
            } else {
                unit_start + unit_length
            };
        let next = &part_rest[consumed..];
        if !next.is_empty() && !next.starts_with(char::is_whitespace) {
            return Err(format!("unexpected {:?}", next));
        }
        let skip = consumed + (next.len() - next.trim_start().len());
        while chars.peek().is_some_and(|(index, _)| *index < start + skip) {
            chars.next();
        }
        if parts > 16 {
            return Err("too many parts".to_string());
        }
    }
    if negate {
        total = -total;
    }
    if !total.is_finite() || total.abs() > MAX_INTERVAL_MICROS {
        return Err("interval out of range (at most 100 years)".to_string());
    }
    // The bound above keeps the value well inside i64.
    #[allow(clippy::cast_possible_truncation)]
    Ok(total.round() as i64)
}

/// Microseconds in one of a fixed-length unit; an empty unit means seconds.
fn unit_micros(unit: &str) -> Result<f64, String> {
    Ok(match unit {
        "us" | "usec" | "usecs" | "microsecond" | "microseconds" => 1.0,
        "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => 1_000.0,
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1_000_000.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000_000.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600_000_000.0,
        "d" | "day" | "days" => 86_400_000_000.0,
        "w" | "week" | "weeks" => 604_800_000_000.0,
        "mon" | "mons" | "month" | "months" | "y" | "yr" | "yrs" | "year" | "years" | "decade"
        | "decades" | "century" | "centuries" | "millennium" | "millennia" => {
            return Err(format!(
                "unit {unit:?} has no fixed length; use days, hours, minutes or seconds"
            ));
        }
        _ => return Err(format!("unknown interval unit {unit:?}")),
    })
}

/// Parses `[+-]hh:mm[:ss[.ffffff]]` into microseconds.
fn parse_clock(text: &str) -> Result<f64, String> {
    let (sign, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (-1.0, &text[1..]),
        Some(b'+') => (1.0, &text[1..]),
        _ => (1.0, text),
    };
    let fields: Vec<&str> = unsigned.split(':').collect();
    if !(2..=3).contains(&fields.len()) {
        return Err(format!("{text:?} is not a clock time"));
    }
    let mut micros = 0.0;
    for (field, scale) in fields
        .iter()
        .zip([3_600_000_000.0, 60_000_000.0, 1_000_000.0])
    {
        let is_seconds = scale == 1_000_000.0;
        let valid = !field.is_empty()
            && field
                .chars()
                .all(|c| c.is_ascii_digit() || (is_seconds && c == '.'));
        if !valid {
            return Err(format!("{text:?} is not a clock time"));
        }
        let value: f64 = field
            .parse()
            .map_err(|_| format!("{text:?} is not a clock time"))?;
        micros += value * scale;
    }
    Ok(sign * micros)
}

/// Parses a timestamp literal: RFC 3339, `YYYY-MM-DD HH:MM[:SS[.f]][±zone]`, or `YYYY-MM-DD`.
///
/// A literal without a zone is read as UTC (PostgreSQL would use the session time zone, which
/// MIG deployments set to UTC). Sub-microsecond digits are truncated, as the database keeps
/// microseconds; years must lie in 1..=9999 so that the SQLite text form keeps its width.
pub(crate) fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    let zoned = DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z"))
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%#z"))
        .map(|value| value.with_timezone(&Utc));
    let parsed = match zoned {
        Ok(value) => value,
        Err(_) => {
            let without_utc = text
                .strip_suffix(" UTC")
                .or_else(|| text.strip_suffix('Z'))
                .unwrap_or(text);
            let naive = [
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M",
                "%Y-%m-%dT%H:%M",
            ]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(without_utc, format).ok())
            .or_else(|| {
                NaiveDate::parse_from_str(without_utc, "%Y-%m-%d")
                    .ok()
                    .and_then(|date| date.and_hms_opt(0, 0, 0))
            });
            match naive {
                Some(value) => value.and_utc(),
                None => {
                    return Err(
                        "not a timestamp (use RFC 3339, e.g. '2024-01-31T12:00:00Z')".to_string(),
                    );
                }
            }
        }
    };
    if !(1..=9999).contains(&parsed.year()) {
        return Err("timestamp year out of range 1..=9999".to_string());
    }
    Ok(parsed.trunc_subsecs(6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        let minute = 60_000_000;
        for (text, micros) in [
            ("10 minutes", 10 * minute),
            ("10 MINUTES", 10 * minute),
            ("1 minute", minute),
            ("5m", 5 * minute),
            ("1 hour 30 minutes", 90 * minute),
            ("1h30m", -1),
            ("30 seconds", 30_000_000),
            ("2 days", 2 * 1440 * minute),
            ("1 week", 7 * 1440 * minute),
            ("1.5 hours", 90 * minute),
            ("-2 hours", -120 * minute),
            ("@ 3 hours ago", -180 * minute),
            ("00:10:00", 10 * minute),
            ("01:30", 90 * minute),
            ("90", 90_000_000),
            ("250 ms", 250_000),
        ] {
            let parsed = parse_interval(text);
            if micros == -1 {
                assert!(parsed.is_err(), "{text}: {parsed:?}");
            } else {
                assert_eq!(parsed, Ok(micros), "{text}");
            }
        }
        for text in [
            "",
            "1 month",
            "2 years",
            "ten minutes",
            "1 fortnight",
            "1e3 s",
            "1:2:3:4",
        ] {
            assert!(parse_interval(text).is_err(), "{text}");
        }
    }

    #[test]
    fn timestamps() {
        let expected = DateTime::parse_from_rfc3339("2024-01-31T12:00:00Z")
            .map(|value| value.with_timezone(&Utc))
            .ok();
        for text in [
            "2024-01-31T12:00:00Z",
            "2024-01-31T13:00:00+01:00",
            "2024-01-31 12:00:00",
            "2024-01-31 12:00:00+00",
            "2024-01-31 12:00",
            "2024-01-31 12:00:00 UTC",
        ] {
            assert_eq!(parse_timestamp(text).ok(), expected, "{text}");
        }
        assert!(parse_timestamp("2024-01-31").is_ok());
        assert!(parse_timestamp("yesterday").is_err());
        assert!(parse_timestamp("10000-01-01T00:00:00Z").is_err());
    }
}
