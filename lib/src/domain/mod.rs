//! Domain types and rules. Nothing here knows about HTTP or DynamoDB.

pub mod booking;
pub mod event;
pub mod ids;
pub mod inventory;
pub mod listing;
pub mod lockout;
pub mod mail;
pub mod page;
pub mod payment;
pub mod search;
pub mod stats;
pub mod text;
pub mod user;

pub use booking::{Booking, BookingStatus, NewBookingRequest, TicketRef};
pub use event::{Event, EventPatch, EventStatus, NewEvent};
pub use inventory::{Inventory, ShardCounts, ShardRule, ShardTake};
pub use listing::{EventQuery, SortBy, SortOrder, StatusFilter};
pub use page::{PageMeta, PageParams};
pub use user::{Email, Identity, NewUser, Role, User};

/// A per-field validation problem, reported in the envelope's `errors`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

/// A rule of the domain refused an input or a change. The HTTP layer maps it to the contract in
/// one `From` (`error.rs`); nothing here knows about statuses or codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Fields that break their rules, all of them at once.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// A status change the event lifecycle forbids.
    #[error("invalid status change")]
    InvalidStatusChange,
    /// Back to draft while confirmed bookings stand.
    #[error("event has active bookings")]
    HasActiveBookings,
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }
}

/// Collects field problems so a client hears about all of them at once.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<FieldError>);

impl Problems {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }
    pub fn into_result<T>(self, value: T) -> Result<T, DomainError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(DomainError::Invalid(self.0))
        }
    }

    /// The parsed value when every part of it parsed and nothing was found wrong; else the
    /// problems (a part missing with no problem named would be this code's bug: it still
    /// answers a 400, never a panic).
    pub fn finish<T>(mut self, value: Option<T>) -> Result<T, DomainError> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => {
                if self.0.is_empty() {
                    self.add("body", "is invalid");
                }
                Err(DomainError::Invalid(self.0))
            }
        }
    }
}

/// Trims and checks a free-text field's length in characters.
pub(crate) fn text(
    problems: &mut Problems,
    field: &str,
    raw: &str,
    min: usize,
    max: usize,
) -> String {
    let value = raw.trim().to_owned();
    let len = value.chars().count();
    if len < min || len > max {
        if min > 0 && len == 0 {
            problems.add(field, "is required");
        } else {
            problems.add(field, format!("must be {min}-{max} characters"));
        }
    }
    value
}

#[cfg(test)]
mod problems_tests {
    use super::*;

    #[test]
    fn finish_gives_the_value_only_when_nothing_is_wrong() {
        assert_eq!(Problems::default().finish(Some(3)).unwrap(), 3);
        let mut named = Problems::default();
        named.add("price", "is required");
        assert!(matches!(named.finish(Some(3)), Err(DomainError::Invalid(e)) if e.len() == 1));
        // A part missing with no problem named is still a 400, never a panic.
        assert!(
            matches!(Problems::default().finish(None::<u8>), Err(DomainError::Invalid(e)) if e[0].field.as_deref() == Some("body"))
        );
    }
}
