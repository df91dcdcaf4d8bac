//! Go's `time.Time` on the wire (spec protocol.md §1.5–1.6).
//!
//! Go writes RFC 3339 with up to nine fractional digits, trailing zeros removed
//! (no fraction at all when it is zero), `Z` for a zero offset and `±hh:mm`
//! otherwise. The zero value is `0001-01-01T00:00:00Z`, and MIG uses a few
//! sentinel times. [`GoTime`] keeps the offset it was read with, so a time read
//! from a peer is written back identically.

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time with the UTC offset it was written with.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GoTime(pub DateTime<FixedOffset>);

impl GoTime {
    /// Go's zero time, `0001-01-01T00:00:00Z`.
    pub fn zero() -> Self {
        Self::utc(1, 1, 1, 0, 0, 0, 0)
    }

    /// The current time in UTC, with nanoseconds.
    pub fn now() -> Self {
        Self(Utc::now().fixed_offset())
    }

    /// MIG's "not finished / not destroyed" sentinel, `9998-01-11T11:11:11.000000011Z`.
    pub fn sentinel_unfinished() -> Self {
        Self::utc(9998, 1, 11, 11, 11, 11, 11)
    }

    /// MIG's "not started" sentinel set by the API on new actions,
    /// `0009-01-11T11:11:11.000000011Z` (the original wrote the year as octal `0011`).
    pub fn sentinel_unstarted() -> Self {
        Self::utc(9, 1, 11, 11, 11, 11, 11)
    }

    /// Builds a UTC time; out-of-range parts give the zero time.
    #[allow(clippy::too_many_arguments)]
    pub fn utc(
        year: i32,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        nano: u32,
    ) -> Self {
        let naive = NaiveDate::from_ymd_opt(year, month, day)
            .and_then(|date| date.and_hms_nano_opt(hour, minute, second, nano))
            .unwrap_or_default();
        Self(Utc.from_utc_datetime(&naive).fixed_offset())
    }

    /// Whether this is Go's zero time.
    pub fn is_zero(&self) -> bool {
        *self == Self::zero()
    }

    /// Unix seconds, rounded toward negative infinity (Go's `Time.Unix`).
    pub fn unix(&self) -> i64 {
        self.0.timestamp()
    }

    /// The same instant in UTC.
    pub fn to_utc(&self) -> DateTime<Utc> {
        self.0.with_timezone(&Utc)
    }

    /// The same instant truncated to whole seconds (what clients should sign, §4.2).
    pub fn trunc_seconds(&self) -> Self {
        Self(self.0.with_nanosecond(0).unwrap_or(self.0))
    }

    /// Parses Go's RFC 3339 form (0–9 fractional digits, `Z` or `±hh:mm`).
    pub fn parse(text: &str) -> Result<Self, chrono::ParseError> {
        DateTime::parse_from_rfc3339(text).map(Self)
    }
}

impl Default for GoTime {
    fn default() -> Self {
        Self::zero()
    }
}

impl From<DateTime<Utc>> for GoTime {
    fn from(time: DateTime<Utc>) -> Self {
        Self(time.fixed_offset())
    }
}

impl From<DateTime<FixedOffset>> for GoTime {
    fn from(time: DateTime<FixedOffset>) -> Self {
        Self(time)
    }
}

impl fmt::Display for GoTime {
    /// Go's `time.RFC3339Nano` layout, as `encoding/json` writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.0;
        write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%S"))?;
        let nanos = t.nanosecond() % 1_000_000_000;
        if nanos != 0 {
            let digits = format!("{nanos:09}");
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        let offset = t.offset().local_minus_utc();
        if offset == 0 {
            f.write_str("Z")
        } else {
            let sign = if offset < 0 { '-' } else { '+' };
            let offset = offset.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", offset / 3600, (offset % 3600) / 60)
        }
    }
}

impl fmt::Debug for GoTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for GoTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GoTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text)
            .map_err(|err| serde::de::Error::custom(format!("invalid time {text:?}: {err}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_go_forms() {
        for text in [
            "2017-10-25T15:50:05.220759533Z",
            "2019-09-13T16:40:10.5-07:00",
            "0001-01-01T00:00:00Z",
            "9998-01-11T11:11:11.000000011Z",
            "9998-01-11T11:11:11Z",
            "0009-01-11T11:11:11.000000011Z",
            "2026-11-28T17:10:42.763805Z",
            "2019-09-13T10:43:30.871448608-04:00",
            "2019-09-13T10:43:30+05:30",
        ] {
            assert_eq!(GoTime::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn sentinels() {
        assert_eq!(GoTime::zero().to_string(), "0001-01-01T00:00:00Z");
        assert_eq!(
            GoTime::sentinel_unfinished().to_string(),
            "9998-01-11T11:11:11.000000011Z"
        );
        assert_eq!(
            GoTime::sentinel_unstarted().to_string(),
            "0009-01-11T11:11:11.000000011Z"
        );
    }

    #[test]
    fn unix_seconds_floor() {
        assert_eq!(
            GoTime::parse("2024-01-02T03:04:05.999Z").unwrap().unix(),
            1704164645
        );
        assert_eq!(GoTime::parse("1969-12-31T23:59:59.5Z").unwrap().unix(), -1);
    }
}
