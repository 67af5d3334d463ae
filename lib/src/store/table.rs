//! The table design, defined once: keys, indexes, TTL attribute and item key layout.
//! `template.yaml` and the local bootstrap (`ensure_table`) are checked against it.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use std::time::Duration;

pub const PARTITION_KEY: &str = "pk";
pub const SORT_KEY: &str = "sk";
/// Expiry (epoch seconds) of idempotency guards and sessions; DynamoDB's TTL removes them.
pub const TTL_ATTRIBUTE: &str = "expiresAt";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexDesign {
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: &'static str,
}

/// The catalog by time of its last write: each instance keeps a projection of the catalog and
/// reads only what changed since it last looked (never a scan). Only catalog writes (create,
/// update, delete: an organiser's pace) touch it; a booking writes no item it projects.
pub const CATALOG_BY_WRITE: IndexDesign = IndexDesign {
    name: "gsi1",
    partition_key: "gsi1pk",
    sort_key: "gsi1sk",
};
/// Live events by date (then id): a cold instance's first listings read their page here, in
/// O(page), while its projection loads. Deleted events leave it; only catalog writes touch it.
pub const CATALOG_BY_DATE: IndexDesign = IndexDesign {
    name: "gsi4",
    partition_key: "gsi4pk",
    sort_key: "gsi4sk",
};
/// Bookings by user, sorted by (time-ordered) booking id.
pub const BOOKINGS_BY_USER: IndexDesign = IndexDesign {
    name: "gsi2",
    partition_key: "gsi2pk",
    sort_key: "gsi2sk",
};
/// Bookings by user and status, sorted by booking id: a `status` filter reads its own page, not
/// the user's history of other statuses. A status change moves the booking's key here.
pub const BOOKINGS_BY_USER_STATUS: IndexDesign = IndexDesign {
    name: "gsi3",
    partition_key: "gsi3pk",
    sort_key: "gsi3sk",
};
/// An event's confirmed bookings, by id, one partition per inventory shard (the booking's first
/// shard): the attendee list. Sparse — a cancel removes the booking from it — and spread like the
/// bookings themselves, so a hot event's sale writes no single index partition.
pub const ATTENDEES_BY_EVENT: IndexDesign = IndexDesign {
    name: "gsi5",
    partition_key: "gsi5pk",
    sort_key: "gsi5sk",
};
/// Mails waiting for delivery, by when they are due (then id), over `MAIL_QUEUE_SHARDS`
/// partitions. Sparse: a delivered mail leaves it. A lease moves the mail's key to the lease's
/// end, so the mail of a worker that crashed is due again then. Its `PAYQ#` partitions are
/// the payment queue: bookings with payment work due (by time, then id).
pub const MAILS_DUE: IndexDesign = IndexDesign {
    name: "gsi6",
    partition_key: "gsi6pk",
    sort_key: "gsi6sk",
};
pub const INDEXES: [IndexDesign; 6] = [
    CATALOG_BY_WRITE,
    BOOKINGS_BY_USER,
    BOOKINGS_BY_USER_STATUS,
    CATALOG_BY_DATE,
    ATTENDEES_BY_EVENT,
    MAILS_DUE,
];

/// Attribute names that the store's expressions and readers name, defined once. Events and
/// bookings are mapped by serde (camelCase); a test checks these constants against that mapping.
pub mod attr {
    pub const NAME: &str = "name";
    pub const DESCRIPTION: &str = "description";
    pub const VENUE: &str = "venue";
    pub const DATE: &str = "date";
    /// The event's date in epoch milliseconds: conditions compare numbers, not text.
    pub const DATE_MS: &str = "dateTs";
    pub const PRICE: &str = "price";
    /// On the catalog item (null: no limit) and, as a number (0: no limit), on each inventory
    /// shard, where bookings are conditioned on it.
    pub const MAX_TICKETS_PER_USER: &str = "maxTicketsPerUser";
    /// On an inventory shard, towards the event's figures (bookings whose first take is from
    /// the shard): cancelled bookings, admitted tickets, Σ totalPrice ever confirmed (cents).
    pub const CANCELLED_BOOKINGS: &str = "cancelledBookings";
    pub const CHECKED_IN_TICKETS: &str = "checkedInTickets";
    pub const GROSS_CENTS: &str = "grossCents";
    /// On an inventory shard, towards the figures of checkout: tickets of standing holds, those
    /// holds, lapsed holds, Σ refunds (cents).
    pub const HELD_TICKETS: &str = "heldTickets";
    pub const PENDING_BOOKINGS: &str = "pendingBookings";
    pub const EXPIRED_BOOKINGS: &str = "expiredBookings";
    pub const REFUNDED_CENTS: &str = "refundedCents";
    /// On a booking (as serde writes them): its payment, refund, confirmation time, hold end.
    pub const PAYMENT: &str = "payment";
    pub const REFUND: &str = "refund";
    pub const CONFIRMED_AT: &str = "confirmedAt";
    pub const HOLD_EXPIRES_AT: &str = "holdExpiresAt";
    /// On a day's sales of one shard: tickets and revenue (cents) confirmed that day.
    pub const SOLD_TICKETS: &str = "soldTickets";
    pub const REVENUE_CENTS: &str = "revenueCents";
    /// On a booking: when each of its tickets was admitted (a map by ticket number).
    pub const CHECKED_IN: &str = "checkedIn";
    /// On a user's ticket count for one event: their pending and confirmed tickets.
    pub const TICKETS: &str = "tickets";
    pub const STATUS: &str = "status";
    /// On an inventory shard: its counters.
    pub const AVAILABLE_TICKETS: &str = "availableTickets";
    pub const CONFIRMED_BOOKINGS: &str = "confirmedBookings";
    pub const INVENTORY_SHARDS: &str = "inventoryShards";
    /// On the catalog version item: bumped by every catalog write.
    pub const VERSION: &str = "version";
    /// On the catalog version item: live events of one status, kept by every catalog write.
    pub fn status_count(status: crate::domain::EventStatus) -> String {
        format!("{}Count", status.as_str())
    }
    /// On a login-failures item: the recent failures (epoch ms), the lock's end, its version.
    pub const RECENT_FAILURES: &str = "recentFailures";
    pub const LOCKED_UNTIL: &str = "lockedUntil";
    /// On a deletion record: the deleted event.
    pub const EVENT_ID: &str = "eventId";
    pub const UPDATED_AT: &str = "updatedAt";
    pub const DELETED_AT: &str = "deletedAt";
    pub const DELETED_BY: &str = "deletedBy";
    pub const CANCELLED_AT: &str = "cancelledAt";
    pub const ROLE: &str = "role";
    /// On an email item: the user it belongs to. On a session: its user.
    pub const USER_ID: &str = "userId";
    /// Idempotency guard: the booking, the request's fingerprint and the exact 201 body.
    pub const BOOKING_ID: &str = "bookingId";
    pub const FINGERPRINT: &str = "fingerprint";
    pub const RESPONSE_BODY: &str = "responseBody";
    /// Session: the spendable refresh token id, rotations so far, revoked flag.
    pub const CURRENT_TOKEN: &str = "currentToken";
    pub const ROTATIONS: &str = "rotations";
    pub const REVOKED: &str = "revoked";
    /// On a user (as serde writes them): the password's hash, the verified flag, the epoch of
    /// its sessions.
    pub const PASSWORD_HASH: &str = "passwordHash";
    pub const EMAIL_VERIFIED: &str = "emailVerified";
    pub const SESSION_EPOCH: &str = "sessionEpoch";
    /// On a user: the hash and expiry (epoch ms) of its current verification and reset token.
    pub const VERIFY_TOKEN_HASH: &str = "verifyTokenHash";
    pub const VERIFY_TOKEN_EXPIRES: &str = "verifyTokenExpires";
    pub const RESET_TOKEN_HASH: &str = "resetTokenHash";
    pub const RESET_TOKEN_EXPIRES: &str = "resetTokenExpires";
    /// On an outbox mail: its cause (JSON), when it is next due (epoch ms; the lease's end while
    /// leased), the lease's id, deliveries tried, and `status` (pending, leased, done).
    pub const MAIL: &str = "mail";
    pub const CREATED_AT: &str = "createdAt";
    pub const DUE: &str = "due";
    pub const LEASE: &str = "lease";
    pub const ATTEMPTS: &str = "attempts";
}

/// Item keys. Every entity lives in one table, keyed by a typed prefix.
pub mod keys {
    use crate::domain::ids::{BookingId, EventId, UserId};
    use crate::domain::{BookingStatus, Email};

    pub fn user(id: UserId) -> (String, String) {
        (format!("USER#{id}"), "USER".into())
    }
    pub fn email(email: &Email) -> (String, String) {
        (format!("EMAIL#{email}"), "EMAIL".into())
    }
    pub fn event(id: EventId) -> (String, String) {
        (format!("EVENT#{id}"), "EVENT".into())
    }
    /// One inventory shard of an event: a partition of its own, so shards spread the writes.
    /// It holds the counters and a copy of the conditions a booking checks (status, date,
    /// price, deleted), which catalog writes keep in step in the same transaction.
    pub fn inventory_shard(id: EventId, shard: u16) -> (String, String) {
        (format!("INVENTORY#{id}#{shard}"), "INVENTORY".into())
    }
    /// The catalog index's one partition key (catalog writes only).
    pub const CATALOG: &str = "CATALOG";
    /// The catalog version item.
    pub fn catalog_version() -> (String, String) {
        (CATALOG.into(), "VERSION".into())
    }
    /// The record of an event's deletion, in the catalog index until it expires (the event
    /// itself leaves the index when deleted).
    pub fn catalog_deletion(id: EventId) -> (String, String) {
        (format!("EVENT#{id}"), DELETION.into())
    }
    pub const DELETION: &str = "DELETION";
    pub fn booking(id: BookingId) -> (String, String) {
        (format!("BOOKING#{id}"), "BOOKING".into())
    }
    pub fn bookings_by_user(user: UserId) -> String {
        format!("BOOKINGS#{user}")
    }
    pub fn bookings_by_user_status(user: UserId, status: BookingStatus) -> String {
        format!("BOOKINGS#{user}#{}", status.as_str())
    }
    /// A user's booking counts per status (the totals of `GET /bookings`), beside the user item.
    /// Only that user's bookings write it, so it is no hot item.
    pub fn booking_counts(user: UserId) -> (String, String) {
        (format!("USER#{user}"), "BOOKINGCOUNTS".into())
    }
    /// One user's tickets of one event (pending and confirmed), beside the user item: what a
    /// booking's `maxTicketsPerUser` condition reads. Only that user's bookings write it.
    pub fn user_event_tickets(user: UserId, event: EventId) -> (String, String) {
        (format!("USER#{user}"), format!("TICKETS#{event}"))
    }
    pub fn idempotency_guard(user: UserId, key: &str) -> (String, String) {
        (format!("IDEMPOTENCY#{user}#{key}"), "IDEMPOTENCY".into())
    }
    /// One shard's sales of one day (`YYYY-MM-DD`, UTC): a partition per shard, so a hot event's
    /// bookings spread over K of them like their tickets; a day is one item of it.
    pub fn shard_sales(event: EventId, shard: u16) -> String {
        format!("SALES#{event}#{shard}")
    }
    /// One shard's part of an event's attendee index.
    pub fn attendees(event: EventId, shard: u16) -> String {
        format!("ATTENDEES#{event}#{shard}")
    }
    /// One e-mail address's recent login failures and lock (whether an account holds it or not).
    pub fn login_failures(address: &str) -> (String, String) {
        (format!("LOGIN#{address}"), "FAILURES".into())
    }
    /// One outbox mail.
    pub fn mail(id: &str) -> (String, String) {
        (format!("MAIL#{id}"), "MAIL".into())
    }
    /// One shard's part of an event's pending holds (in the attendee index's key space: a
    /// hold moves to `attendees` when it is confirmed).
    pub fn holds(event: EventId, shard: u16) -> String {
        format!("HOLDS#{event}#{shard}")
    }
    /// One partition of the payment queue (in the mail queue's index): bookings whose
    /// payment work (a lapse, capture, void or refund) is due.
    pub fn payments_due(shard: u16) -> String {
        format!("PAYQ#{shard}")
    }
    /// A webhook event applied, remembered for `WEBHOOKS_KEPT`.
    pub fn webhook(event_id: &str) -> (String, String) {
        (format!("WEBHOOK#{event_id}"), "WEBHOOK".into())
    }
    /// One partition of the index of mails waiting for delivery.
    pub fn mails_due(shard: u16) -> String {
        format!("MAILQ#{shard}")
    }
    /// One login's refresh-token family: its current token id, rotation count, revoked flag.
    pub fn session(family: &str) -> (String, String) {
        (format!("SESSION#{family}"), "SESSION".into())
    }
}

/// Why the table could not be made ready; each keeps the SDK's error as its source.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("describing table {table}")]
    Describe {
        table: String,
        #[source]
        source: aws_sdk_dynamodb::Error,
    },
    #[error("creating table {table}")]
    Create {
        table: String,
        #[source]
        source: aws_sdk_dynamodb::Error,
    },
    #[error("building the table definition")]
    Definition(#[from] aws_sdk_dynamodb::error::BuildError),
    #[error("table {0} did not become active")]
    NotActive(String),
}

/// Creates the table and its indexes if missing and waits until it is active. Idempotent.
/// Returns whether it created the table.
pub async fn ensure_table(client: &Client, table_name: &str) -> Result<bool, TableError> {
    if let Ok(existing) = client.describe_table().table_name(table_name).send().await {
        if existing.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(false);
        }
    } else {
        let key = |name: &str, key_type: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
        };
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let mut request = client
            .create_table()
            .table_name(table_name)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(PARTITION_KEY, KeyType::Hash)?)
            .key_schema(key(SORT_KEY, KeyType::Range)?)
            .attribute_definitions(attr(PARTITION_KEY)?)
            .attribute_definitions(attr(SORT_KEY)?);
        for index in INDEXES {
            request = request
                .attribute_definitions(attr(index.partition_key)?)
                .attribute_definitions(attr(index.sort_key)?)
                .global_secondary_indexes(
                    GlobalSecondaryIndex::builder()
                        .index_name(index.name)
                        .key_schema(key(index.partition_key, KeyType::Hash)?)
                        .key_schema(key(index.sort_key, KeyType::Range)?)
                        .projection(
                            Projection::builder()
                                .projection_type(ProjectionType::All)
                                .build(),
                        )
                        .build()?,
                );
        }
        match request.send().await {
            Ok(_) => {}
            // Another process created it meanwhile: fine, wait below.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_resource_in_use_exception()) => {}
            Err(e) => {
                return Err(TableError::Create {
                    table: table_name.into(),
                    source: e.into(),
                })
            }
        }
    }
    for _ in 0..120 {
        let status = client
            .describe_table()
            .table_name(table_name)
            .send()
            .await
            .map_err(|e| TableError::Describe {
                table: table_name.into(),
                source: e.into(),
            })?;
        if status.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            let ttl = TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()?;
            // Enabling TTL twice is an error on AWS; the table is usable either way.
            let _ = client
                .update_time_to_live()
                .table_name(table_name)
                .time_to_live_specification(ttl)
                .send()
                .await;
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(TableError::NotActive(table_name.into()))
}
