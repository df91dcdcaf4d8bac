//! Go's `time.Duration.String()`, used by every module's `exectime`
//! (spec modules.md §2.3): `0s`, `999ns`, `1.5µs`, `17.731324ms`, `3.2s`,
//! `2m0s`, `1h2m3.5s`.

use std::time::Duration;

/// Formats a duration as Go's `Duration.String()`.
pub fn go_duration(duration: Duration) -> String {
    format_nanos(i128::try_from(duration.as_nanos()).unwrap_or(i128::MAX))
}

/// Formats a signed number of nanoseconds as Go's `Duration.String()`.
pub fn format_nanos(nanos: i128) -> String {
    if nanos == 0 {
        return "0s".to_owned();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let value = nanos.unsigned_abs();
    if value < 1_000_000_000 {
        let (unit, scale) = if value < 1_000 {
            ("ns", 1)
        } else if value < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{sign}{}{unit}", fraction(value, scale));
    }
    let hours = value / 3_600_000_000_000;
    let rest = value % 3_600_000_000_000;
    let minutes = rest / 60_000_000_000;
    let seconds_nanos = rest % 60_000_000_000;
    let mut out = String::from(sign);
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&fraction(seconds_nanos, 1_000_000_000));
    out.push('s');
    out
}

/// `value / scale` with the fraction's trailing zeros removed.
fn fraction(value: u128, scale: u128) -> String {
    let whole = value / scale;
    let rest = value % scale;
    if rest == 0 {
        return whole.to_string();
    }
    let digits = scale.to_string().len() - 1;
    let fraction = format!("{rest:0digits$}");
    format!("{whole}.{}", fraction.trim_end_matches('0'))
}

/// Parses a duration as Go's `time.ParseDuration` (`300ms`, `-1.5h`,
/// `1m30s`; units ns, us, µs, μs, ms, s, m, h) into signed nanoseconds,
/// with Go's error texts.
pub fn parse_go_duration(text: &str) -> Result<i128, String> {
    let invalid = || format!("time: invalid duration \"{text}\"");
    let mut rest = text;
    let negative = rest.starts_with('-');
    if let Some(stripped) = rest.strip_prefix(['-', '+']) {
        rest = stripped;
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (whole, after) = rest.split_at(digits);
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => {
                let count = after.bytes().take_while(u8::is_ascii_digit).count();
                after.split_at(count)
            }
            None => ("", after),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(invalid());
        }
        let unit_length = after
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(after.len(), |(index, _)| index);
        let (unit, after) = after.split_at(unit_length);
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration \"{text}\""));
        }
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit \"{unit}\" in duration \"{text}\""
                ));
            }
        };
        let whole: i128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| invalid())?
        };
        let mut value = whole.checked_mul(scale).ok_or_else(invalid)?;
        let mut divisor: i128 = 1;
        let mut numerator: i128 = 0;
        for digit in fraction.bytes().take(30) {
            numerator = numerator * 10 + i128::from(digit - b'0');
            divisor *= 10;
        }
        value += numerator * scale / divisor;
        total = total.checked_add(value).ok_or_else(invalid)?;
        if total > i128::from(i64::MAX) + i128::from(negative) {
            return Err(invalid());
        }
        rest = after;
    }
    Ok(if negative { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_forms() {
        let cases: &[(i128, &str)] = &[
            (0, "0s"),
            (999, "999ns"),
            (1_500, "1.5µs"),
            (17_731_324, "17.731324ms"),
            (3_200_000_000, "3.2s"),
            (120_000_000_000, "2m0s"),
            (3_600_000_000_000, "1h0m0s"),
            (3_723_500_000_000, "1h2m3.5s"),
            (-1_500_000, "-1.5ms"),
            (1_000_000_000, "1s"),
        ];
        for (nanos, expected) in cases {
            assert_eq!(format_nanos(*nanos), *expected);
        }
    }

    #[test]
    fn go_parse() {
        let cases: &[(&str, Result<i128, &str>)] = &[
            ("0", Ok(0)),
            ("5s", Ok(5_000_000_000)),
            ("300ms", Ok(300_000_000)),
            ("1m30s", Ok(90_000_000_000)),
            ("-1.5h", Ok(-5_400_000_000_000)),
            ("+2µs", Ok(2_000)),
            (".5s", Ok(500_000_000)),
            ("", Err("time: invalid duration \"\"")),
            ("abc", Err("time: invalid duration \"abc\"")),
            ("5", Err("time: missing unit in duration \"5\"")),
            ("5x", Err("time: unknown unit \"x\" in duration \"5x\"")),
            ("-", Err("time: invalid duration \"-\"")),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse_go_duration(text),
                expected.map_err(str::to_owned),
                "{text}"
            );
        }
    }
}
