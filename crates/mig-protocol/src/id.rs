//! MIG identifiers (spec protocol.md §2.11).
//!
//! The original stores every ID in a Go `float64` holding an integer and prints it
//! without a decimal point. [`Id`] is that integer; it serialises as a plain JSON
//! integer and accepts any integral JSON number.

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The epoch of MIG IDs: 2013-04-29T18:00:00Z.
pub const ID_EPOCH_UNIX: u64 = 1_367_258_400;

/// Largest ID value: IDs are doubles and must stay exact.
pub const ID_MAX: u64 = (1 << 53) - 1;

/// An action, command, agent, investigator or operation ID.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(pub u64);

impl Id {
    /// Whether the ID is unset (Go's `0`, omitted by `omitempty`).
    pub fn is_zero(&self) -> bool {
        self.0 == 0
    }

    /// The value as the database's `NUMERIC`/`BIGINT` columns hold it.
    pub fn as_i64(&self) -> i64 {
        // IDs are below 2^53 by construction and by decoding.
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<u64> for Id {
    fn from(value: u64) -> Self {
        Self(value)
    }
}

impl std::str::FromStr for Id {
    type Err = String;

    /// Parses a decimal ID as found in URLs and command lines (`%.0f` form).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if let Ok(value) = trimmed.parse::<u64>() {
            return id_in_range(value);
        }
        match trimmed.parse::<f64>() {
            Ok(value) => id_from_f64(value),
            Err(_) => Err(format!("invalid id {text:?}: not a number")),
        }
    }
}

fn id_in_range(value: u64) -> Result<Id, String> {
    if value > ID_MAX {
        return Err(format!("invalid id {value}: above 2^53"));
    }
    Ok(Id(value))
}

fn id_from_f64(value: f64) -> Result<Id, String> {
    if !value.is_finite() || value < 0.0 || value.fract() != 0.0 || value > ID_MAX as f64 {
        return Err(format!(
            "invalid id {value}: ids are whole numbers between 0 and 2^53"
        ));
    }
    Ok(Id(value as u64))
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl serde::de::Visitor<'_> for IdVisitor {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number id")
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Id, E> {
                id_in_range(value).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Id, E> {
                let value = u64::try_from(value)
                    .map_err(|_| E::custom(format!("invalid id {value}: negative")))?;
                id_in_range(value).map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Id, E> {
                id_from_f64(value).map_err(E::custom)
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Id, E> {
                Ok(Id(0))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// Generates IDs the way `GenID` does: the first is
/// `(seconds since the ID epoch + 1) << 16`, each later one is the previous plus one.
///
/// Unlike the original, the low 15 bits of the first ID are random, so two
/// processes started in the same second are unlikely to collide.
#[derive(Debug)]
pub struct IdGenerator {
    next: AtomicU64,
}

impl IdGenerator {
    /// A generator whose first ID derives from `unix_seconds` and `entropy`
    /// (only the low 15 bits of `entropy` are used).
    pub fn starting_at(unix_seconds: u64, entropy: u16) -> Self {
        let seconds = unix_seconds.saturating_sub(ID_EPOCH_UNIX) + 1;
        let first = (seconds << 16) | u64::from(entropy & 0x7FFF);
        Self {
            next: AtomicU64::new(first),
        }
    }

    /// A generator seeded from the clock and the OS random source.
    pub fn from_clock() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(ID_EPOCH_UNIX);
        Self::starting_at(now, rand::random::<u16>())
    }

    /// The next ID.
    pub fn next_id(&self) -> Id {
        Id(self.next.fetch_add(1, Ordering::Relaxed))
    }
}

/// The next ID of this process (the original's `mig.GenID()`).
pub fn gen_id() -> Id {
    static GENERATOR: OnceLock<IdGenerator> = OnceLock::new();
    GENERATOR.get_or_init(IdGenerator::from_clock).next_id()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_genid_formula() {
        // The reference capture's first IDs of a process started at 2026-11-28T17:11:xx
        // lie in this range: (secs since epoch + 1) << 16.
        let generator = IdGenerator::starting_at(1_795_885_887, 0);
        let id = generator.next_id();
        assert_eq!(id.0, (1_795_885_887 - ID_EPOCH_UNIX + 1) << 16);
        assert_eq!(generator.next_id().0, id.0 + 1);
        assert!(id.0 < ID_MAX);
    }

    #[test]
    fn ids_serialise_without_fraction() {
        assert_eq!(
            serde_json::to_string(&Id(28090522927693)).unwrap(),
            "28090522927693"
        );
        let id: Id = serde_json::from_str("2.8090522927693e13").unwrap();
        assert_eq!(id, Id(28090522927693));
        assert!(serde_json::from_str::<Id>("1.5").is_err());
        assert!(serde_json::from_str::<Id>("-1").is_err());
        assert_eq!("28090522927693".parse::<Id>().unwrap(), Id(28090522927693));
    }

    #[test]
    fn global_generator_is_increasing() {
        let a = gen_id();
        let b = gen_id();
        assert!(b > a);
    }
}
