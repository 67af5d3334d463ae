//! DynamoDB implementation: one table (see `table`), conditional writes and transactions; one
//! file per concern (attribute helpers, error classification, users, events, bookings, sessions).

mod accounts;
mod attrs;
mod bookings;
mod checkout;
mod errors;
mod events;
mod outbox;
mod sessions;
mod users;

use super::table::attr::{
    self, AVAILABLE_TICKETS, CANCELLED_AT, CONFIRMED_BOOKINGS, DATE_MS, DELETED_AT, DELETED_BY,
    DESCRIPTION, PRICE, UPDATED_AT, VENUE,
};
use super::table::{
    keys, IndexDesign, ATTENDEES_BY_EVENT, BOOKINGS_BY_USER, BOOKINGS_BY_USER_STATUS,
    CATALOG_BY_DATE, CATALOG_BY_WRITE, MAILS_DUE, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE,
};
use super::*;
use crate::domain::inventory::split;
use crate::domain::stats::{DaySales, ShardFigures};
use crate::domain::{BookingStatus, ShardCounts, ShardTake};
use crate::money::Cents;
use attrs::*;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Get, KeysAndAttributes, Put,
    ReturnValuesOnConditionCheckFailure, TransactGetItem, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use chrono::SecondsFormat;
use errors::*;
use std::collections::HashMap;
use tokio::sync::OnceCell;

type Item = HashMap<String, AttributeValue>;

/// Builds the SDK client on first use, so a cold start does no config loading or TLS set-up.
pub struct DynamoStore {
    table: String,
    endpoint: Option<String>,
    region: Option<String>,
    client: OnceCell<Client>,
}

impl DynamoStore {
    pub fn new(table: impl Into<String>, endpoint: Option<String>, region: Option<String>) -> Self {
        Self {
            table: table.into(),
            endpoint,
            region,
            client: OnceCell::new(),
        }
    }

    pub fn with_client(table: impl Into<String>, client: Client) -> Self {
        Self {
            table: table.into(),
            endpoint: None,
            region: None,
            client: OnceCell::from(client),
        }
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    pub async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| build_client(self.endpoint.clone(), self.region.clone()))
            .await
    }
}

/// The SDK client: short timeouts so a dead dependency is a quick 503, not a hang; static
/// dummy credentials against a local endpoint so the SDK never probes instance metadata.
pub async fn build_client(endpoint: Option<String>, region: Option<String>) -> Client {
    use aws_config::timeout::TimeoutConfig;
    use aws_config::{BehaviorVersion, Region};
    use std::time::Duration;

    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_millis(500))
            .operation_attempt_timeout(Duration::from_secs(2))
            .operation_timeout(Duration::from_secs(4))
            .build(),
    );
    let region = region.or_else(|| endpoint.as_ref().map(|_| "us-east-1".to_owned()));
    if let Some(region) = region {
        loader = loader.region(Region::new(region));
    }
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "local", "local", None, None, "static",
            ));
        }
    }
    Client::new(&loader.load().await)
}

#[async_trait]
impl Store for DynamoStore {
    fn backend(&self) -> &'static str {
        "dynamodb"
    }
    async fn ping(&self) -> StoreResult<()> {
        self.get(("HEALTH".into(), "HEALTH".into()))
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::events::shard_counts;
    use super::*;

    #[test]
    fn a_shard_missing_a_counter_is_corrupt_not_sold_out() {
        let whole: Item = HashMap::from([
            (AVAILABLE_TICKETS.to_owned(), n(7)),
            (CONFIRMED_BOOKINGS.to_owned(), n(2)),
        ]);
        let counts = shard_counts(&whole).unwrap();
        assert_eq!((counts.available, counts.confirmed), (7, 2));
        for missing in [AVAILABLE_TICKETS, CONFIRMED_BOOKINGS] {
            let mut item = whole.clone();
            item.remove(missing);
            assert!(
                matches!(shard_counts(&item), Err(StoreError::Corrupt(_))),
                "{missing}"
            );
        }
        let mut garbled = whole.clone();
        garbled.insert(AVAILABLE_TICKETS.to_owned(), s("seven"));
        assert!(matches!(
            shard_counts(&garbled),
            Err(StoreError::Corrupt(_))
        ));
    }

    /// The attribute names the expressions use are the ones serde writes: a renamed field would
    /// fail here, not silently in a condition on DynamoDB.
    #[test]
    fn expressions_name_the_attributes_serde_writes() {
        let now = Utc::now();
        let event = Event {
            id: EventId::new(),
            name: "n".into(),
            description: "d".into(),
            venue: "v".into(),
            date: now,
            price: crate::money::Cents(100),
            total_tickets: 5,
            available_tickets: 5,
            confirmed_bookings: 0,
            status: EventStatus::Published,
            created_at: now,
            updated_at: now,
            deleted_at: Some(now),
            deleted_by: Some(UserId::new()),
            inventory_shards: 1,
            max_tickets_per_user: Some(4),
        };
        let item = encode(&event).unwrap();
        for name in [
            attr::NAME,
            attr::DESCRIPTION,
            attr::VENUE,
            attr::DATE,
            attr::PRICE,
            attr::STATUS,
            attr::AVAILABLE_TICKETS,
            attr::CONFIRMED_BOOKINGS,
            attr::UPDATED_AT,
            attr::DELETED_AT,
            attr::DELETED_BY,
            attr::MAX_TICKETS_PER_USER,
        ] {
            assert!(item.contains_key(name), "an event has no {name}: {item:?}");
        }
        let booking = Booking {
            cancelled_at: Some(now),
            ..Booking::sample(
                event.id,
                1,
                crate::money::Cents(100),
                crate::domain::BookingStatus::Cancelled,
            )
        };
        let item = encode(&booking).unwrap();
        assert!(item.contains_key(attr::STATUS) && item.contains_key(attr::CANCELLED_AT));
        let user = User {
            id: UserId::new(),
            email: crate::domain::Email::parse("a@b.co").unwrap(),
            name: "n".into(),
            role: Role::Admin,
            password_hash: "h".into(),
            created_at: now,
            email_verified: true,
            session_epoch: 3,
        };
        let item = encode(&user).unwrap();
        for name in [
            attr::ROLE,
            attr::PASSWORD_HASH,
            attr::EMAIL_VERIFIED,
            attr::SESSION_EPOCH,
        ] {
            assert!(item.contains_key(name), "a user has no {name}");
        }
    }
}
