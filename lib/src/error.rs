//! The one error type of the HTTP layer, and the one place that maps it to the contract's
//! status and code.

use crate::store::StoreError;

pub use crate::cause::Cause;
use crate::domain::DomainError;
pub use crate::domain::FieldError;

/// Rate-limit figures echoed in `RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimitInfo {
    pub limit: u64,
    pub remaining: u64,
    pub reset_secs: u64,
}

/// `EnumIter` yields one error of every kind (fields defaulted), so checks that the spec and the
/// contract name every code cannot drift from this enum.
#[derive(Debug, thiserror::Error, strum::EnumIter)]
pub enum AppError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("idempotency key missing")]
    IdempotencyKeyMissing,
    #[error("unauthorized")]
    Unauthorized,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("forbidden")]
    Forbidden,
    /// A deployment that requires verified addresses refused an unverified user.
    #[error("email not verified")]
    EmailNotVerified,
    /// A verification or reset token that is unknown, used, superseded, expired or malformed.
    #[error("invalid token")]
    InvalidToken,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("email taken")]
    EmailTaken,
    #[error("insufficient tickets")]
    InsufficientTickets,
    #[error("event not bookable")]
    EventNotBookable,
    #[error("booking not cancellable")]
    BookingNotCancellable,
    #[error("event has active bookings")]
    EventHasActiveBookings,
    #[error("invalid status change")]
    InvalidStatusChange,
    #[error("idempotency key in use")]
    IdempotencyKeyInUse,
    #[error("ticket limit reached")]
    TicketLimitReached { remaining: u32 },
    /// A ticket code the server did not issue (forged, truncated, altered).
    #[error("invalid ticket")]
    InvalidTicket,
    #[error("wrong event")]
    WrongEvent,
    #[error("ticket not valid")]
    TicketNotValid,
    #[error("already checked in")]
    AlreadyCheckedIn { at: chrono::DateTime<chrono::Utc> },
    /// Confirm of a hold whose payment the provider has not authorised (yet).
    #[error("payment incomplete")]
    PaymentIncomplete,
    /// The hold lapsed and its tickets are gone; the authorisation was voided.
    #[error("hold expired")]
    HoldExpired,
    /// Confirm of a cancelled booking, or of an expired one that was never paid.
    #[error("booking not payable")]
    BookingNotPayable,
    /// A payment webhook whose signature does not verify, or is stale.
    #[error("invalid signature")]
    InvalidSignature,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("uri too long")]
    UriTooLong,
    #[error("headers too large")]
    HeadersTooLarge,
    #[error("idempotency key reused")]
    IdempotencyKeyReused,
    #[error("rate limited")]
    RateLimited(RateLimitInfo),
    /// Too many failed logins for the address: locked for this many more seconds.
    #[error("account locked")]
    AccountLocked { retry_after_secs: u64 },
    /// A dependency is down, slow or throttling; the cause is for logs only.
    #[error("service unavailable")]
    Unavailable(#[source] Cause),
    /// A bug; the cause is for logs only.
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl AppError {
    /// A dependency failed: `cause` is an error (kept with its sources) or a sentence.
    pub fn unavailable(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Unavailable(Cause::new(cause))
    }

    /// A bug: `cause` is an error (kept with its sources) or a sentence.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(Cause::new(cause))
    }

    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// The contract's status code and stable error code.
    pub fn status_and_code(&self) -> (u16, &'static str) {
        match self {
            Self::Validation(_) => (400, "VALIDATION_ERROR"),
            Self::IdempotencyKeyMissing => (400, "IDEMPOTENCY_KEY_MISSING"),
            Self::Unauthorized => (401, "UNAUTHORIZED"),
            Self::InvalidCredentials => (401, "INVALID_CREDENTIALS"),
            Self::Forbidden | Self::EmailNotVerified => (403, "FORBIDDEN"),
            Self::InvalidToken => (400, "INVALID_TOKEN"),
            Self::NotFound => (404, "NOT_FOUND"),
            Self::MethodNotAllowed => (405, "METHOD_NOT_ALLOWED"),
            Self::EmailTaken => (409, "EMAIL_TAKEN"),
            Self::InsufficientTickets => (409, "INSUFFICIENT_TICKETS"),
            Self::EventNotBookable => (409, "EVENT_NOT_BOOKABLE"),
            Self::BookingNotCancellable => (409, "BOOKING_NOT_CANCELLABLE"),
            Self::EventHasActiveBookings => (409, "EVENT_HAS_ACTIVE_BOOKINGS"),
            Self::InvalidStatusChange => (409, "INVALID_STATUS_CHANGE"),
            Self::IdempotencyKeyInUse => (409, "IDEMPOTENCY_KEY_IN_USE"),
            Self::TicketLimitReached { .. } => (409, "TICKET_LIMIT_REACHED"),
            Self::InvalidTicket => (400, "INVALID_TICKET"),
            Self::WrongEvent => (409, "WRONG_EVENT"),
            Self::TicketNotValid => (409, "TICKET_NOT_VALID"),
            Self::AlreadyCheckedIn { .. } => (409, "ALREADY_CHECKED_IN"),
            Self::PaymentIncomplete => (409, "PAYMENT_INCOMPLETE"),
            Self::HoldExpired => (409, "HOLD_EXPIRED"),
            Self::BookingNotPayable => (409, "BOOKING_NOT_PAYABLE"),
            Self::InvalidSignature => (400, "INVALID_SIGNATURE"),
            Self::PayloadTooLarge => (413, "PAYLOAD_TOO_LARGE"),
            Self::UnsupportedMediaType => (415, "UNSUPPORTED_MEDIA_TYPE"),
            Self::UriTooLong => (414, "URI_TOO_LONG"),
            Self::HeadersTooLarge => (431, "HEADERS_TOO_LARGE"),
            Self::IdempotencyKeyReused => (422, "IDEMPOTENCY_KEY_REUSED"),
            Self::RateLimited(_) => (429, "RATE_LIMITED"),
            Self::AccountLocked { .. } => (429, "ACCOUNT_LOCKED"),
            Self::Internal(_) => (500, "INTERNAL_ERROR"),
            Self::Unavailable(_) => (503, "SERVICE_UNAVAILABLE"),
        }
    }

    /// The human message sent to clients: fixed per kind, never internal detail.
    pub fn public_message(&self) -> &'static str {
        match self {
            Self::Validation(_) => "The request is invalid",
            Self::IdempotencyKeyMissing => "The Idempotency-Key header is required",
            Self::Unauthorized => "Authentication is required",
            Self::InvalidCredentials => "Invalid email or password",
            Self::Forbidden => "You are not allowed to do this",
            Self::EmailNotVerified => "Please verify your email address before booking",
            Self::InvalidToken => "This link is invalid or has expired: ask for a new one",
            Self::NotFound => "Resource not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::EmailTaken => "An account with this email already exists",
            Self::InsufficientTickets => "Not enough tickets left",
            Self::EventNotBookable => "This event cannot be booked",
            Self::BookingNotCancellable => "This booking cannot be cancelled",
            Self::EventHasActiveBookings => "The event still has confirmed bookings",
            Self::InvalidStatusChange => {
                "The event cannot move to that status from its current one"
            }
            Self::IdempotencyKeyInUse => "A request with this Idempotency-Key is still in progress",
            Self::TicketLimitReached { .. } => {
                "This would give you more tickets of this event than one person may have"
            }
            Self::InvalidTicket => "This is not a ticket issued by this box office",
            Self::WrongEvent => "This ticket is for another event",
            Self::TicketNotValid => "This ticket's booking is not confirmed",
            Self::AlreadyCheckedIn { .. } => "This ticket was already checked in",
            Self::PaymentIncomplete => {
                "The payment has not been authorised yet: complete it, or try another card"
            }
            Self::HoldExpired => {
                "Your hold expired and the tickets are gone; your card was not charged"
            }
            Self::BookingNotPayable => "This booking can no longer be paid",
            Self::InvalidSignature => "The webhook signature is invalid or too old",
            Self::PayloadTooLarge => "The request body is too large",
            Self::UnsupportedMediaType => "Content-Type must be application/json",
            Self::UriTooLong => "The request URI is too long",
            Self::HeadersTooLarge => "The request headers are too large",
            Self::IdempotencyKeyReused => "This Idempotency-Key was used with a different request",
            Self::RateLimited(_) => "Too many requests",
            Self::AccountLocked { .. } => {
                "Too many failed logins for this address: try again later, or reset your password"
            }
            Self::Internal(_) => "Internal server error",
            Self::Unavailable(_) => "The service is temporarily unavailable",
        }
    }

    /// Seconds a client should wait before retrying, where the contract sets `Retry-After`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Unavailable(_) | Self::IdempotencyKeyInUse => Some(1),
            Self::RateLimited(info) => Some(info.reset_secs.max(1)),
            Self::AccountLocked { retry_after_secs } => Some((*retry_after_secs).max(1)),
            _ => None,
        }
    }
}

impl From<DomainError> for AppError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::Invalid(errors) => Self::Validation(errors),
            DomainError::InvalidStatusChange => Self::InvalidStatusChange,
            DomainError::HasActiveBookings => Self::EventHasActiveBookings,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match &err {
            StoreError::NotFound => Self::NotFound,
            StoreError::EmailTaken => Self::EmailTaken,
            StoreError::InsufficientTickets => Self::InsufficientTickets,
            StoreError::EventNotBookable => Self::EventNotBookable,
            StoreError::NotCancellable => Self::BookingNotCancellable,
            StoreError::HasActiveBookings => Self::EventHasActiveBookings,
            StoreError::IdempotencyKeyReused => Self::IdempotencyKeyReused,
            StoreError::TicketLimitReached { remaining } => Self::TicketLimitReached {
                remaining: *remaining,
            },
            StoreError::AlreadyCheckedIn { at } => Self::AlreadyCheckedIn { at: *at },
            StoreError::TicketNotValid => Self::TicketNotValid,
            StoreError::InvalidToken => Self::InvalidToken,
            StoreError::Contention(_)
            | StoreError::TermsChanged
            | StoreError::StatusChanged
            | StoreError::Unavailable(_) => Self::unavailable(err),
            StoreError::Corrupt(_) | StoreError::Request(_) => Self::internal(err),
        }
    }
}

impl From<crate::cache::CacheError> for AppError {
    fn from(err: crate::cache::CacheError) -> Self {
        Self::unavailable(err)
    }
}
