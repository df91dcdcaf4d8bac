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
}
