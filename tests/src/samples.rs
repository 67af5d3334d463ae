//! The API Gateway payloads of `events/*.json`, and what they need to succeed: the events,
//! booking and users their ids point at, and real tokens in place of their placeholders. Used by
//! the bundle test (in-process router), the emulator test and `scripts/invoke` (Lambda's own
//! Runtime Interface Emulator).

use chrono::{Duration, Utc};
use serde_json::Value;
use std::path::{Path, PathBuf};
use ticketing::account_tokens::{AccountToken, StoredToken, TokenKeys, TokenPurpose};
use ticketing::domain::{Booking, Email, EventStatus, NewUser, Role, TicketRef, User};
use ticketing::ids::{BookingId, EventId, UserId};
use ticketing::store::{BookingAttempt, Store};
use ticketing::tokens::TokenService;
use ticketing::AppState;

/// The ids baked into `events/*.json`.
pub const EVENT_ID: &str = "01JD5Z8Q4T3X9V6B2N7M1K0C8E";
pub const OTHER_EVENT_ID: &str = "01JD5Z8Q4T3X9V6B2N7M1K0C9F";
pub const BOOKING_ID: &str = "01JD5Z9R7W2Y4H8F3G6P1Q0S5T";
/// A booking of the other event, whose first ticket the check-in sample scans.
pub const SCANNED_BOOKING_ID: &str = "01JD5Z9R7W2Y4H8F3G6P1Q0S6V";

/// Each sample in the order a session would send them, with the status it must get once the
/// placeholders are replaced by real tokens.
pub const SAMPLES: &[(&str, u16)] = &[
    ("health", 200),
    ("health-ready", 200),
    ("health-config", 200),
    ("auth-register", 201),
    ("auth-login", 200),
    ("auth-me", 200),
    ("auth-verify-email", 200),
    ("auth-resend-verification", 202),
    ("auth-forgot-password", 202),
    ("auth-refresh", 200),
    ("auth-change-password", 200),
    ("auth-logout", 200),
    ("auth-reset-password", 200),
    ("events-list", 200),
    ("events-create", 201),
    ("events-show", 200),
    ("events-update", 200),
    ("events-check-in", 201),
    ("events-stats", 200),
    ("events-attendees", 200),
    ("bookings-create", 201),
    ("bookings-list", 200),
    ("bookings-show", 200),
    ("bookings-confirm", 200),
    // Payments are off in the samples' deployment: no signature can verify.
    ("bookings-stripe-webhook", 400),
    ("bookings-cancel", 200),
    ("events-delete", 200),
];

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// The function a sample belongs to: its name's first word (`bookings-create` → `bookings`).
pub fn function_of(sample: &str) -> &str {
    sample.split('-').next().unwrap_or(sample)
}

/// A sample payload as shipped.
pub fn load(name: &str) -> Value {
    let path = root().join("events").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Tokens of the seeded users, and the refresh token the session has reached so far.
pub struct SampleSession {
    user_token: String,
    admin_token: String,
    refresh_token: String,
    ticket_code: String,
    verify_token: String,
    reset_token: String,
}

/// Seeds what the samples point at — two published events, their owner with one confirmed
/// booking, an admin — and issues their tokens with `state`'s configuration.
pub async fn seed(state: &AppState) -> SampleSession {
    let store: &dyn Store = &*state.store;
    let mut event =
        crate::sample_event(100, EventStatus::Published, Utc::now() + Duration::days(30));
    event.id = EVENT_ID.parse::<EventId>().expect("sample id");
    store.create_event(&event).await.expect("seed event");
    let mut other = event.clone();
    other.id = OTHER_EVENT_ID.parse().expect("sample id");
    store.create_event(&other).await.expect("seed event");
    let now = Utc::now();
    // Registered through the service, so the owner has a real session (refresh token) too.
    let owner = NewUser::parse(
        &format!("{}@example.com", crate::unique("owner")),
        "Owner-password-1",
        "Owner",
    )
    .expect("valid owner");
    let owned = state.auth.register(owner).await.expect("seed owner");
    let user = owned.user.clone();
    let admin = User {
        id: UserId::new(),
        email: Email::parse(&format!("{}@example.com", crate::unique("root"))).expect("email"),
        name: "Root".into(),
        role: Role::Admin,
        password_hash: "x".into(),
        created_at: now,
        email_verified: false,
        session_epoch: 0,
    };
    store.create_user(&admin, None).await.expect("seed admin");
    let booking_id: BookingId = BOOKING_ID.parse().expect("sample id");
    let booking = Booking {
        created_at: now,
        ..crate::sample_booking(&event, user.id, booking_id, 1, "seed")
    };
    let scanned_id: BookingId = SCANNED_BOOKING_ID.parse().expect("sample id");
    let scanned = Booking {
        id: scanned_id,
        event_id: other.id,
        ticket_numbers: Booking::ticket_numbers(scanned_id, 1),
        idempotency_key: "seed-scanned".into(),
        ..booking.clone()
    };
    for booking in [booking, scanned] {
        let attempt = BookingAttempt {
            booking,
            fingerprint: "seed".into(),
            response_body: "{}".into(),
            now,
            guard_expires_at: now + Duration::hours(24),
            max_tickets_per_user: None,
            mail: None,
        };
        store.book(&attempt).await.expect("seed booking");
    }
    let ticket_code = state.tickets.code(&TicketRef {
        event: other.id,
        booking: scanned_id,
        number: 1,
    });
    // The owner's current verification and reset tokens, as their mails would carry them.
    let keys = TokenKeys::new(&state.config.jwt.refresh_secret);
    let account_token = |purpose, mail: &str| {
        let token = AccountToken::derive(&keys, purpose, user.id, mail);
        (token.clone(), StoredToken::of(&token, purpose, now))
    };
    let (verify, verify_stored) = account_token(TokenPurpose::VerifyEmail, "sample-verify");
    let (reset, reset_stored) = account_token(TokenPurpose::ResetPassword, "sample-reset");
    for (purpose, stored) in [
        (TokenPurpose::VerifyEmail, verify_stored),
        (TokenPurpose::ResetPassword, reset_stored),
    ] {
        store
            .set_account_token(user.id, purpose, &stored)
            .await
            .expect("seed token");
    }
    let tokens = TokenService::new(&state.config.jwt);
    SampleSession {
        verify_token: verify.encode(),
        reset_token: reset.encode(),
        user_token: owned.access_token,
        admin_token: tokens.issue_access(&admin).expect("token"),
        refresh_token: owned.refresh_token,
        ticket_code,
    }
}

impl SampleSession {
    /// The sample with real tokens in place of its placeholders: an admin's for events, the
    /// owner's elsewhere, and the latest refresh token in a body that asks for one.
    pub fn prepare(&self, name: &str) -> Value {
        let mut payload = load(name);
        if payload["headers"]["authorization"].is_string() {
            let token = if function_of(name) == "events" {
                &self.admin_token
            } else {
                &self.user_token
            };
            payload["headers"]["authorization"] = Value::String(format!("Bearer {token}"));
        }
        if let Some(body) = payload["body"].as_str() {
            let placeholders = [
                ("PLACEHOLDER_REFRESH_TOKEN", &self.refresh_token),
                ("PLACEHOLDER_TICKET_CODE", &self.ticket_code),
                ("PLACEHOLDER_VERIFY_TOKEN", &self.verify_token),
                ("PLACEHOLDER_RESET_TOKEN", &self.reset_token),
            ];
            if let Some((placeholder, value)) = placeholders
                .into_iter()
                .find(|(placeholder, _)| body.contains(placeholder))
            {
                let body = body.replace(placeholder, value);
                payload["headers"]["content-length"] = Value::String(body.len().to_string());
                payload["body"] = Value::String(body);
            }
        }
        payload
    }

    /// Keeps the refresh token a reply hands out, for the next sample that needs one.
    pub fn observe(&mut self, reply_body: &Value) {
        if let Some(token) = reply_body["data"]["refreshToken"].as_str() {
            self.refresh_token = token.to_owned();
        }
    }
}
