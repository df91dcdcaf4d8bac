//! Text helpers shared by every mode: columns, Go's time and duration forms,
//! Go's JSON indentation, `log.Println` lines and permission names.

use std::time::Duration;

use mig_protocol::{GoTime, Permissions};

/// A column of `width` characters: right-padded with spaces, or cut to
/// `width − 3` characters followed by `...` when longer.
pub fn column(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count > width {
        let kept: String = text.chars().take(width.saturating_sub(3)).collect();
        format!("{kept}...")
    } else {
        format!("{text}{}", " ".repeat(width - count))
    }
}

/// Go's `Time.UTC().String()`: `2026-11-28 18:09:40.844605 +0000 UTC`.
pub fn go_time(time: &GoTime) -> String {
    let utc = time.to_utc();
    let mut out = utc.format("%Y-%m-%d %H:%M:%S").to_string();
    let nanos = utc.timestamp_subsec_nanos();
    if nanos != 0 {
        let digits = format!("{nanos:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    out
}

/// `time.Format(time.RFC3339)` of a UTC time: `2026-11-28T18:11:40Z`.
pub fn rfc3339(time: &GoTime) -> String {
    time.to_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Go's `Duration.String()` of `to − from` (negative durations keep their sign).
pub fn go_duration_between(from: &GoTime, to: &GoTime) -> String {
    let delta = to.to_utc() - from.to_utc();
    let nanos = delta.num_nanoseconds().unwrap_or(i64::MAX);
    if nanos < 0 {
        let positive = Duration::from_nanos(nanos.unsigned_abs());
        return format!("-{}", mig_modules::duration::go_duration(positive));
    }
    mig_modules::duration::go_duration(Duration::from_nanos(nanos.unsigned_abs()))
}

/// Go's `json.Indent(compact, "", unit)`: empty objects and arrays stay `{}` / `[]`.
pub fn indent_json(compact: &str, unit: &str) -> String {
    mig_protocol::gojson::indent(compact, unit)
}

/// A line as Go's `log.Println` writes it: `YYYY/MM/DD HH:MM:SS <message>`.
pub fn log_line(message: &str) -> String {
    format!(
        "{} {message}",
        chrono::Local::now().format("%Y/%m/%d %H:%M:%S")
    )
}

/// The permission sets, in the order they are described.
pub const PERMISSION_SETS: [(&str, Permissions); 4] = [
    ("Default", Permissions::DEFAULT),
    ("PermAdmin", Permissions::ADMIN),
    ("PermLoader", Permissions::LOADER),
    ("PermManifest", Permissions::MANIFEST),
];

/// `Default,PermAdmin(partial),…`: a set in full by its name, in part with
/// `(partial)`, not at all omitted.
pub fn describe_permissions(permissions: Permissions) -> String {
    let mut names = Vec::new();
    for (name, set) in PERMISSION_SETS {
        let held = permissions.0 & set.0;
        if held == set.0 {
            names.push(name.to_owned());
        } else if held != 0 {
            names.push(format!("{name}(partial)"));
        }
    }
    names.join(",")
}

/// Investigator names joined by `; `.
pub fn investigator_names(investigators: &[mig_protocol::Investigator]) -> String {
    investigators
        .iter()
        .map(|inv| inv.name.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_pad_and_cut() {
        assert_eq!(column("vm", 5), "vm   ");
        assert_eq!(
            column("file -t allonline -path /tmp -name x", 30),
            "file -t allonline -path /tm..."
        );
    }

    #[test]
    fn go_times() {
        let time = GoTime::utc(2026, 11, 28, 18, 9, 40, 844_605_000);
        assert_eq!(go_time(&time), "2026-11-28 18:09:40.844605 +0000 UTC");
        assert_eq!(rfc3339(&time), "2026-11-28T18:09:40Z");
        let later = GoTime::utc(2026, 11, 28, 18, 9, 44, 850_485_000);
        assert_eq!(go_duration_between(&time, &later), "4.00588s");
    }

    #[test]
    fn json_indent() {
        assert_eq!(
            indent_json(r#"{"a":[1,{"b":"x,{y}"}],"c":{}}"#, "  "),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"x,{y}\"\n    }\n  ],\n  \"c\": {}\n}"
        );
    }

    #[test]
    fn permissions() {
        assert_eq!(
            describe_permissions(Permissions::ALL),
            "Default,PermAdmin,PermLoader,PermManifest"
        );
        assert_eq!(
            describe_permissions(Permissions(Permissions::DEFAULT.0 | 1 << 6)),
            "Default,PermLoader(partial)"
        );
    }
}
