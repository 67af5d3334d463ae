//! Server-chosen ids: ULIDs (time-ordered, so newest-first listings sort by id). A path id that
//! is not a ULID is a validation error, never a 404.

use crate::domain::DomainError;
use std::fmt;
use std::str::FromStr;

/// ULIDs strictly increasing within this process (plain ULIDs made in the same millisecond are
/// in random order), so "newest first" holds even for requests a millisecond apart.
fn next_ulid() -> ulid::Ulid {
    static GENERATOR: std::sync::Mutex<Option<ulid::Generator>> = std::sync::Mutex::new(None);
    let mut generator = GENERATOR.lock().unwrap_or_else(|p| p.into_inner());
    generator
        .get_or_insert_with(ulid::Generator::new)
        .generate()
        .unwrap_or_else(|_| ulid::Ulid::new())
}

macro_rules! ulid_id {
    ($name:ident, $what:literal) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(ulid::Ulid);

        impl $name {
            pub fn new() -> Self {
                Self(next_ulid())
            }
            /// The id's 16 bytes (as in a ticket code).
            pub fn to_bytes(self) -> [u8; 16] {
                self.0.to_bytes()
            }
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(ulid::Ulid::from_bytes(bytes))
            }
            /// Parses a client-supplied id; `field` names it in the 400.
            pub fn parse(raw: &str, field: &str) -> Result<Self, DomainError> {
                raw.parse().map_err(|_| {
                    DomainError::invalid(field, concat!("must be a valid ", $what, " id"))
                })
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl FromStr for $name {
            type Err = ulid::DecodeError;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                // Only the canonical 26-character form: no case games in ids, and a first
                // character of at most '7' (26 base-32 digits hold 130 bits, a ULID 128: a
                // larger one overflows, and decoding would drop the excess bits, giving one
                // id four spellings).
                if raw.len() != ulid::ULID_LEN
                    || raw.bytes().any(|b| b.is_ascii_lowercase())
                    || raw.as_bytes()[0] > b'7'
                {
                    return Err(ulid::DecodeError::InvalidLength);
                }
                ulid::Ulid::from_string(raw).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                raw.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

ulid_id!(UserId, "user");
ulid_id!(EventId, "event");
ulid_id!(BookingId, "booking");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_malformed() {
        let id = EventId::new();
        assert_eq!(EventId::parse(&id.to_string(), "id").unwrap(), id);
        for bad in [
            "",
            "123",
            "not-an-id",
            "01ARZ3NDEKTSV4RRFFQ69G5FA",
            "01arz3ndektsv4rrffq69g5fav",
            "01ARZ3NDEKTSV4RRFFQ69G5FA!",
            // Overflowing spellings: 8… to Z… would decode to another id (or fail).
            "81M8XTDEYJA5S48NEWY6MB53CM",
            "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
            "ZZZZZZZZZZZZZZZZZZZZZZZZZZ",
        ] {
            let err = EventId::parse(bad, "id").unwrap_err();
            assert!(
                matches!(&err, DomainError::Invalid(errors) if errors[0].field.as_deref() == Some("id")),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn the_largest_canonical_id_parses() {
        let max = "7ZZZZZZZZZZZZZZZZZZZZZZZZZ";
        assert_eq!(EventId::parse(max, "id").unwrap().to_string(), max);
    }

    #[test]
    fn ids_are_strictly_ordered_even_within_a_millisecond() {
        let ids: Vec<String> = (0..1000).map(|_| BookingId::new().to_string()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }
}
