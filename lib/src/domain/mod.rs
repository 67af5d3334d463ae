//! Domain types and rules. Nothing here knows about HTTP or DynamoDB.

pub mod booking;
pub mod event;
pub mod page;
pub mod user;

pub use booking::{Booking, BookingStatus, NewBookingRequest};
pub use event::{Event, EventPatch, EventQuery, EventStatus, NewEvent, SortBy, SortOrder};
pub use page::{PageMeta, PageParams};
pub use user::{Email, Identity, NewUser, Role, User};

use crate::error::FieldError;

/// Collects field problems so a client hears about all of them at once.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<FieldError>);

impl Problems {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }
    pub fn into_result<T>(self, value: T) -> Result<T, crate::AppError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(crate::AppError::Validation(self.0))
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
