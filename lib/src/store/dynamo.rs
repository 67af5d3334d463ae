//! DynamoDB implementation: one table (see `table`), conditional writes and transactions.

use super::table::attr::{
    self, AVAILABLE_TICKETS, CANCELLED_AT, CONFIRMED_BOOKINGS, DATE_MS, DELETED_AT, DELETED_BY,
    DESCRIPTION, PRICE, UPDATED_AT, VENUE,
};
use super::table::{
    keys, IndexDesign, BOOKINGS_BY_USER, BOOKINGS_BY_USER_STATUS, CATALOG_BY_WRITE, PARTITION_KEY,
    SORT_KEY, TTL_ATTRIBUTE,
};
use super::*;
use crate::domain::inventory::split;
use crate::domain::{BookingStatus, ShardCounts, ShardTake};
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

    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https)
        .timeout_config(
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

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}
fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
fn key((pk, sk): (String, String)) -> Item {
    HashMap::from([
        (PARTITION_KEY.to_owned(), s(pk)),
        (SORT_KEY.to_owned(), s(sk)),
    ])
}
fn names(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}
fn values(pairs: Vec<(&str, AttributeValue)>) -> Option<Item> {
    Some(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}
/// Fixed-width sortable timestamp for index sort keys.
fn sortable(ts: DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Millis, true)
}
/// The catalog index's sort key: when the entry was last written, then which event.
fn catalog_sort_key(at: DateTime<Utc>, id: EventId) -> String {
    format!("{}#{id}", sortable(at))
}
/// A numeric attribute, if present and a whole number.
fn number(item: &Item, name: &str) -> Option<u64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}
/// A shard's counters; a missing or malformed one is a corrupt item, never a silent 0 (which
/// would read as sold out).
fn shard_counts(item: &Item) -> StoreResult<ShardCounts> {
    let counter = |name: &str| {
        number(item, name)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| StoreError::Corrupt(format!("shard without a valid {name}").into()))
    };
    Ok(ShardCounts {
        available: counter(AVAILABLE_TICKETS)?,
        confirmed: counter(CONFIRMED_BOOKINGS)?,
    })
}
fn request_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Request(Cause::new(e))
}
/// Whether an inventory shard's condition failed (every item after the catalog's is a shard or
/// the version bump, which has no condition).
fn failed_shard(reasons: &[CancellationReason]) -> bool {
    reasons
        .iter()
        .skip(1)
        .any(|r| reason_code(Some(r)) == "ConditionalCheckFailed")
}
/// Which way a take's tickets move.
#[derive(Clone, Copy)]
enum Taking {
    Out,
    Back,
}

/// A cancelled transaction whose reasons this code does not expect: a bug or a manual edit.
fn unexpected(what: &str, reasons: &[CancellationReason]) -> StoreError {
    let codes: Vec<&str> = reasons.iter().map(|r| reason_code(Some(r))).collect();
    StoreError::Corrupt(format!("{what}: transaction cancelled: {codes:?}").into())
}

impl DynamoStore {
    /// Sends a conditional `UpdateItem`: `None` when it was written, else the item as it was
    /// when the condition failed (empty when there is no such item), so the caller can say why.
    async fn update_or_old(&self, request: UpdateItemFluentBuilder) -> StoreResult<Option<Item>> {
        let result = request
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(ccf)) => {
                    Ok(Some(ccf.item().cloned().unwrap_or_default()))
                }
                _ => Err(classify(e)),
            },
        }
    }
}

fn encode<T: serde::Serialize>(value: &T) -> StoreResult<Item> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(Cause::new(e)))
}
fn decode<T: serde::de::DeserializeOwned>(item: Item) -> StoreResult<T> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(Cause::new(e)))
}

/// Maps an SDK failure: throttling and conflicts are contention (retryable), anything that
/// did not get an answer is unavailability.
fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let contention = err
        .as_service_error()
        .and_then(|service| service.code())
        .is_some_and(|code| {
            matches!(
                code,
                "TransactionConflictException"
                    | "TransactionInProgressException"
                    | "ThrottlingException"
                    | "ProvisionedThroughputExceededException"
                    | "RequestLimitExceeded"
            )
        });
    // The SDK's error, kept whole: its sources say what DynamoDB answered (or that it did not).
    let cause = Cause::new(err);
    if contention {
        StoreError::Contention(cause)
    } else {
        StoreError::Unavailable(cause)
    }
}

fn reason_code(reason: Option<&CancellationReason>) -> &str {
    reason.and_then(|r| r.code()).unwrap_or("None")
}

/// The per-item reasons of a cancelled transaction, in request order. Any other failure, and
/// contention on any item, is already mapped to its `StoreError`.
fn cancellation_reasons<R: std::fmt::Debug + Send + Sync + 'static>(
    err: SdkError<TransactWriteItemsError, R>,
) -> StoreResult<Vec<CancellationReason>> {
    let reasons = match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
            Some(c.cancellation_reasons().to_vec())
        }
        _ => None,
    };
    match reasons {
        Some(reasons) if reasons.iter().any(|r| is_contention(reason_code(Some(r)))) => {
            Err(StoreError::Contention(Cause::new(err)))
        }
        Some(reasons) => Ok(reasons),
        None => Err(classify(err)),
    }
}

fn is_contention(code: &str) -> bool {
    matches!(
        code,
        "TransactionConflict"
            | "ThrottlingError"
            | "ProvisionedThroughputExceeded"
            | "RequestLimitExceeded"
    )
}

impl DynamoStore {
    /// The catalog item: what listings show and index, without the counters (the shards hold
    /// them), so no booking ever rewrites it.
    fn catalog_item(&self, event: &Event) -> StoreResult<Item> {
        let mut item = encode(event)?;
        item.remove(AVAILABLE_TICKETS);
        item.remove(CONFIRMED_BOOKINGS);
        item.extend(key(keys::event(event.id)));
        item.insert(attr::DATE_MS.into(), n(event.date.timestamp_millis()));
        item.insert(CATALOG_BY_WRITE.partition_key.into(), s(keys::CATALOG));
        item.insert(
            CATALOG_BY_WRITE.sort_key.into(),
            s(catalog_sort_key(event.updated_at, event.id)),
        );
        Ok(item)
    }

    /// One inventory shard: its counters and a copy of what a booking's condition checks.
    fn shard_item(&self, event: &Event, shard: u16, available: u32) -> Item {
        let mut item = key(keys::inventory_shard(event.id, shard));
        item.insert(AVAILABLE_TICKETS.into(), n(available));
        item.insert(CONFIRMED_BOOKINGS.into(), n(0));
        item.insert(attr::STATUS.into(), s(event.status.as_str()));
        item.insert(DATE_MS.into(), n(event.date.timestamp_millis()));
        item.insert(PRICE.into(), n(event.price.0));
        item
    }

    fn put(&self, item: Item, condition: &str) -> StoreResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .build()
            .map_err(request_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// One take's counter change on its shard: tickets out (a booking) or back (a cancel);
    /// the first take of a booking also counts it, so Σ confirmed is the event's bookings.
    fn shard_counter(
        &self,
        event: EventId,
        take: ShardTake,
        first: bool,
        taking: Taking,
    ) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        let (tickets, count) = match taking {
            Taking::Out => ('-', '+'),
            Taking::Back => ('+', '-'),
        };
        let counted = if first {
            format!(", {CONFIRMED_BOOKINGS} = {CONFIRMED_BOOKINGS} {count} :one")
        } else {
            String::new()
        };
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::inventory_shard(event, take.shard))))
            .update_expression(format!(
                "SET {AVAILABLE_TICKETS} = {AVAILABLE_TICKETS} {tickets} :q{counted}"
            ))
            .expression_attribute_values(":q", n(take.quantity));
        if first {
            update.expression_attribute_values(":one", n(1))
        } else {
            update
        }
    }

    /// Sends a catalog write (`items` and the version bump) as one transaction: `None` when it
    /// was written, else the per-item reasons it was cancelled for (contention already mapped).
    async fn write_catalog(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> StoreResult<Option<Vec<CancellationReason>>> {
        let mut items = items;
        items.push(self.version_bump()?);
        match self
            .client()
            .await
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(None),
            Err(err) => cancellation_reasons(err).map(Some),
        }
    }

    /// Part of every catalog write's transaction: projections revalidate against it.
    fn version_bump(&self) -> StoreResult<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::catalog_version())))
            .update_expression("ADD #version :one")
            .set_expression_attribute_names(names(&[("#version", attr::VERSION)]))
            .set_expression_attribute_values(values(vec![(":one", n(1))]))
            .build()
            .map_err(request_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The catalog entry of a live event (counters not filled).
    async fn catalog_entry(&self, id: EventId) -> StoreResult<Option<Event>> {
        let event: Option<Event> = self.get(keys::event(id)).await?.map(decode).transpose()?;
        Ok(event.filter(|e| e.deleted_at.is_none()))
    }

    /// One consistent `BatchGetItem` (≤ 100 keys), following unprocessed keys a few times.
    async fn batch_get(&self, keys: Vec<Item>) -> StoreResult<Vec<Item>> {
        let client = self.client().await;
        let mut request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()
            .map_err(request_error)?;
        let mut items = Vec::new();
        for tries in 1.. {
            let out = client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(classify)?;
            items.extend(
                out.responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default(),
            );
            match out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                Some(rest) if !rest.keys().is_empty() => {
                    // Unprocessed keys are DynamoDB's throttling of a batch: back off, then
                    // give up as contention (retryable) rather than loop.
                    if tries >= 4 {
                        return Err(StoreError::Contention("batch read throttled".into()));
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(10 << tries)).await;
                    request = rest;
                }
                _ => break,
            }
        }
        Ok(items)
    }

    async fn get(&self, key_pair: (String, String)) -> StoreResult<Option<Item>> {
        let out = self
            .client()
            .await
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(key_pair)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.item)
    }

    /// Runs a query to the end (following every page), decoding each item.
    async fn query_all<T: serde::de::DeserializeOwned>(
        &self,
        index: &str,
        condition: &str,
        attr_names: Option<HashMap<String, String>>,
        attr_values: Option<Item>,
        newest_first: bool,
    ) -> StoreResult<Vec<T>> {
        let client = self.client().await;
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(condition)
                .set_expression_attribute_names(attr_names.clone())
                .set_expression_attribute_values(attr_values.clone())
                .scan_index_forward(!newest_first)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            for item in page.items.unwrap_or_default() {
                out.push(decode(item)?);
            }
            match page.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(out),
            }
        }
    }

    /// Which contract error a failed event condition means, judged from the old item.
    fn event_failure(old: Option<&Item>, attempt: &BookingAttempt) -> StoreError {
        let now = attempt.now;
        let Some(old) = old.filter(|i| !i.is_empty()) else {
            return StoreError::NotFound;
        };
        if old.contains_key(attr::DELETED_AT) {
            return StoreError::NotFound;
        }
        let status_ok =
            matches!(old.get(attr::STATUS), Some(AttributeValue::S(s)) if s == "published");
        let future = matches!(old.get(attr::DATE_MS), Some(AttributeValue::N(ms)) if ms.parse::<i64>().is_ok_and(|ms| ms > now.timestamp_millis()));
        let same_price = matches!(old.get(attr::PRICE), Some(AttributeValue::N(p)) if p.parse::<i64>() == Ok(attempt.booking.unit_price.0));
        if !status_ok || !future {
            StoreError::EventNotBookable
        } else if !same_price {
            StoreError::PriceChanged
        } else {
            StoreError::InsufficientTickets
        }
    }

    /// A guard item as the store keeps it; `None` once expired (TTL deletion lags).
    fn stored_guard(item: &Item, now: DateTime<Utc>) -> StoreResult<Option<StoredGuard>> {
        let text = |name: &str| match item.get(name) {
            Some(AttributeValue::S(v)) => Some(v.clone()),
            _ => None,
        };
        let expires = number(item, TTL_ATTRIBUTE).unwrap_or(0);
        if expires <= now.timestamp().max(0) as u64 {
            return Ok(None);
        }
        let booking_id = text(attr::BOOKING_ID)
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| StoreError::Corrupt("guard without bookingId".into()))?;
        Ok(Some(StoredGuard {
            booking_id,
            fingerprint: text(attr::FINGERPRINT).unwrap_or_default(),
            response_body: text(attr::RESPONSE_BODY).unwrap_or_default(),
        }))
    }

    /// Reads an existing idempotency guard and turns it into a replay or a reuse error.
    fn guard_outcome(item: &Item, attempt: &BookingAttempt) -> StoreResult<Option<BookOutcome>> {
        Self::stored_guard(item, attempt.now)?
            .map(|guard| guard.outcome(&attempt.fingerprint))
            .transpose()
    }

    /// A user's booking counts per status change: `+1` for `to`, `-1` for `from`.
    fn booking_count_change(
        &self,
        user: UserId,
        from: Option<BookingStatus>,
        to: BookingStatus,
    ) -> StoreResult<TransactWriteItem> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::booking_counts(user))))
            .expression_attribute_names("#to", to.as_str())
            .expression_attribute_values(":plus", n(1));
        update = match from {
            Some(from) => update
                .update_expression("ADD #to :plus, #from :minus")
                .expression_attribute_names("#from", from.as_str())
                .expression_attribute_values(":minus", n(-1)),
            None => update.update_expression("ADD #to :plus"),
        };
        let update = update.build().map_err(request_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The first `count` items of one index partition, newest first (page by page, each asking
    /// only for what is still missing).
    async fn query_newest(
        &self,
        index: IndexDesign,
        partition: String,
        count: usize,
    ) -> StoreResult<Vec<Item>> {
        let client = self.client().await;
        // `count` comes from a client's page number: never allocate by it.
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        while out.len() < count {
            let page = client
                .query()
                .table_name(&self.table)
                .index_name(index.name)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", index.partition_key)
                .expression_attribute_values(":pk", s(&partition))
                .scan_index_forward(false)
                .limit(i32::try_from(count - out.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => break,
            }
        }
        out.truncate(count);
        Ok(out)
    }
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let mut user_item = encode(user)?;
        user_item.extend(key(keys::user(user.id)));
        let mut email_item = key(keys::email(&user.email));
        email_item.insert(attr::USER_ID.into(), s(user.id.to_string()));
        let put = |item: Item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map(|p| TransactWriteItem::builder().put(p).build())
                .map_err(|e| StoreError::Request(Cause::new(e)))
        };
        // The email item makes uniqueness a condition of the same transaction as the user.
        let result = self
            .client()
            .await
            .transact_write_items()
            .transact_items(put(email_item)?)
            .transact_items(put(user_item)?)
            .send()
            .await;
        let Err(err) = result else { return Ok(()) };
        let reasons = cancellation_reasons(err)?;
        if reason_code(reasons.first()) == "ConditionalCheckFailed" {
            return Err(StoreError::EmailTaken);
        }
        Err(StoreError::Corrupt(
            format!("user {} already exists", user.id).into(),
        ))
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        self.get(keys::user(id)).await?.map(decode).transpose()
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let Some(item) = self.get(keys::email(email)).await? else {
            return Ok(None);
        };
        let Some(AttributeValue::S(id)) = item.get(attr::USER_ID) else {
            return Err(StoreError::Corrupt("email item without userId".into()));
        };
        let id = id
            .parse()
            .map_err(|_| StoreError::Corrupt("bad userId".into()))?;
        self.user_by_id(id).await
    }

    async fn set_role(&self, id: UserId, role: Role) -> StoreResult<()> {
        let role = serde_json::to_value(role)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        self.client()
            .await
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::user(id))))
            .update_expression("SET #role = :role")
            .condition_expression("attribute_exists(pk)")
            .set_expression_attribute_names(names(&[("#role", attr::ROLE)]))
            .set_expression_attribute_values(values(vec![(":role", s(role))]))
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(se) if se.is_conditional_check_failed_exception() => StoreError::NotFound,
                _ => classify(e),
            })?;
        Ok(())
    }
}

#[async_trait]
impl EventStore for DynamoStore {
    async fn create_event(&self, event: &Event) -> StoreResult<()> {
        let mut items = vec![self.put(self.catalog_item(event)?, "attribute_not_exists(pk)")?];
        for (shard, tickets) in split(event.total_tickets, event.inventory_shards)
            .into_iter()
            .enumerate()
        {
            let item = self.shard_item(event, shard as u16, tickets);
            items.push(self.put(item, "attribute_not_exists(pk)")?);
        }
        match self.write_catalog(items).await? {
            None => Ok(()),
            Some(reasons) => Err(unexpected("creating an event", &reasons)),
        }
    }

    async fn event_by_id(&self, id: EventId) -> StoreResult<Option<Event>> {
        let Some(event) = self.catalog_entry(id).await? else {
            return Ok(None);
        };
        let inventories = self.inventories(&[(id, event.inventory_shards)]).await?;
        let inventory = inventories
            .get(&id)
            .ok_or_else(|| StoreError::Corrupt("event without inventory".into()))?;
        Ok(Some(event.with_inventory(inventory)))
    }

    async fn catalog_version(&self) -> StoreResult<u64> {
        let item = self.get(keys::catalog_version()).await?.unwrap_or_default();
        Ok(number(&item, attr::VERSION).unwrap_or(0))
    }

    async fn catalog_changes(&self, since: Option<DateTime<Utc>>) -> StoreResult<Vec<Event>> {
        let mut vals = vec![(":pk", s(keys::CATALOG))];
        let condition = match since {
            Some(since) => {
                vals.push((":since", s(sortable(since))));
                "#pk = :pk AND #sk >= :since"
            }
            None => "#pk = :pk",
        };
        let mut pairs = vec![("#pk", CATALOG_BY_WRITE.partition_key)];
        if since.is_some() {
            pairs.push(("#sk", CATALOG_BY_WRITE.sort_key));
        }
        self.query_all(
            CATALOG_BY_WRITE.name,
            condition,
            names(&pairs),
            values(vals),
            false,
        )
        .await
    }

    async fn inventories(
        &self,
        events: &[(EventId, u16)],
    ) -> StoreResult<HashMap<EventId, Inventory>> {
        let wanted: Vec<Item> = events
            .iter()
            .flat_map(|&(id, shards)| (0..shards).map(move |k| key(keys::inventory_shard(id, k))))
            .collect();
        let mut found: HashMap<String, Item> = HashMap::new();
        // BatchGetItem takes at most 100 keys per call.
        for chunk in wanted.chunks(100) {
            for item in self.batch_get(chunk.to_vec()).await? {
                if let Some(AttributeValue::S(pk)) = item.get(PARTITION_KEY) {
                    found.insert(pk.clone(), item);
                }
            }
        }
        let mut out = HashMap::new();
        for &(id, shards) in events {
            let mut inventory = Inventory::default();
            for k in 0..shards {
                let (pk, _) = keys::inventory_shard(id, k);
                let item = found
                    .get(&pk)
                    .ok_or_else(|| StoreError::Corrupt(format!("missing shard {pk}").into()))?;
                inventory.shards.push(shard_counts(item)?);
            }
            out.insert(id, inventory);
        }
        Ok(out)
    }

    async fn inventory_snapshot(&self, id: EventId, shards: u16) -> StoreResult<Inventory> {
        let gets = (0..shards)
            .map(|k| {
                let get = Get::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(keys::inventory_shard(id, k))))
                    .build()
                    .map_err(request_error)?;
                Ok(TransactGetItem::builder().get(get).build())
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let out = self
            .client()
            .await
            .transact_get_items()
            .set_transact_items(Some(gets))
            .send()
            .await
            .map_err(|err| {
                // Cancelled only by a write in flight on one of the shards: retryable.
                let conflict = matches!(
                    err.as_service_error(),
                    Some(TransactGetItemsError::TransactionCanceledException(_))
                );
                if conflict {
                    StoreError::Contention(Cause::new(err))
                } else {
                    classify(err)
                }
            })?;
        let mut inventory = Inventory::default();
        for (k, response) in (0..shards).zip(out.responses()) {
            let item = response.item().ok_or_else(|| {
                StoreError::Corrupt(format!("missing shard {k} of event {id}").into())
            })?;
            inventory.shards.push(shard_counts(item)?);
        }
        if inventory.shards.len() != usize::from(shards) {
            return Err(StoreError::Corrupt(
                format!(
                    "{} of {shards} shards of event {id} read",
                    inventory.shards.len()
                )
                .into(),
            ));
        }
        Ok(inventory)
    }

    async fn update_event_details(&self, event: &Event, was: EventStatus) -> StoreResult<()> {
        // A return to draft also needs no confirmed booking on any shard: a booking landing
        // first makes the update fail, one landing after finds a draft and is refused.
        let to_draft = event.status == EventStatus::Draft && was != EventStatus::Draft;
        let catalog = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::event(event.id))))
            .update_expression(format!(
                "SET #name = :name, {DESCRIPTION} = :description, {VENUE} = :venue, #date = :date, \
                 {DATE_MS} = :dateTs, {PRICE} = :price, #status = :status, {UPDATED_AT} = :updatedAt, \
                 #sk = :sk"
            ))
            .condition_expression(format!(
                "attribute_exists(pk) AND attribute_not_exists({DELETED_AT}) AND #status = :was"
            ))
            .set_expression_attribute_names(names(&[
                ("#name", attr::NAME),
                ("#date", attr::DATE),
                ("#status", attr::STATUS),
                ("#sk", CATALOG_BY_WRITE.sort_key),
            ]))
            .set_expression_attribute_values(values(vec![
                (":name", s(&event.name)),
                (":description", s(&event.description)),
                (":venue", s(&event.venue)),
                (":date", s(event.date.to_rfc3339_opts(SecondsFormat::AutoSi, true))),
                (":dateTs", n(event.date.timestamp_millis())),
                (":price", n(event.price.0)),
                (":status", s(event.status.as_str())),
                (
                    ":updatedAt",
                    s(event.updated_at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
                ),
                (":sk", s(catalog_sort_key(event.updated_at, event.id))),
                (":was", s(was.as_str())),
            ]))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(request_error)?;
        let mut items = vec![TransactWriteItem::builder().update(catalog).build()];
        for k in 0..event.inventory_shards {
            let mut vals = vec![
                (":dateTs", n(event.date.timestamp_millis())),
                (":price", n(event.price.0)),
                (":status", s(event.status.as_str())),
            ];
            let condition = if to_draft {
                vals.push((":zero", n(0)));
                format!("attribute_exists(pk) AND {CONFIRMED_BOOKINGS} = :zero")
            } else {
                "attribute_exists(pk)".to_owned()
            };
            let shard = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::inventory_shard(event.id, k))))
                .update_expression(format!(
                    "SET #status = :status, {DATE_MS} = :dateTs, {PRICE} = :price"
                ))
                .condition_expression(condition)
                .set_expression_attribute_names(names(&[("#status", attr::STATUS)]))
                .set_expression_attribute_values(values(vals))
                .build()
                .map_err(request_error)?;
            items.push(TransactWriteItem::builder().update(shard).build());
        }
        let Some(reasons) = self.write_catalog(items).await? else {
            return Ok(());
        };
        if reason_code(reasons.first()) == "ConditionalCheckFailed" {
            let old = reasons.first().and_then(|r| r.item());
            return match old {
                Some(old) if !old.is_empty() && !old.contains_key(attr::DELETED_AT) => Err(
                    StoreError::Contention("the event's status changed meanwhile".into()),
                ),
                _ => Err(StoreError::NotFound),
            };
        }
        if to_draft && failed_shard(&reasons) {
            return Err(StoreError::HasActiveBookings);
        }
        Err(unexpected("updating an event", &reasons))
    }

    async fn delete_event(&self, id: EventId, by: UserId, at: DateTime<Utc>) -> StoreResult<()> {
        let Some(event) = self.catalog_entry(id).await? else {
            return Err(StoreError::NotFound);
        };
        let sort_key = catalog_sort_key(at, id);
        let at = at.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        // Still in the catalog index (with a new write time), so projections learn of it.
        let catalog = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::event(id))))
            .update_expression(format!(
                "SET {DELETED_AT} = :at, {DELETED_BY} = :by, {UPDATED_AT} = :at, #sk = :sk"
            ))
            .condition_expression(format!(
                "attribute_exists(pk) AND attribute_not_exists({DELETED_AT})"
            ))
            .set_expression_attribute_names(names(&[("#sk", CATALOG_BY_WRITE.sort_key)]))
            .set_expression_attribute_values(values(vec![
                (":at", s(&at)),
                (":by", s(by.to_string())),
                (":sk", s(sort_key)),
            ]))
            .build()
            .map_err(request_error)?;
        let mut items = vec![TransactWriteItem::builder().update(catalog).build()];
        for k in 0..event.inventory_shards {
            let shard = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::inventory_shard(id, k))))
                .update_expression(format!("SET {DELETED_AT} = :at"))
                .condition_expression(format!("{CONFIRMED_BOOKINGS} = :zero"))
                .set_expression_attribute_values(values(vec![(":at", s(&at)), (":zero", n(0))]))
                .build()
                .map_err(request_error)?;
            items.push(TransactWriteItem::builder().update(shard).build());
        }
        let Some(reasons) = self.write_catalog(items).await? else {
            return Ok(());
        };
        if reason_code(reasons.first()) == "ConditionalCheckFailed" {
            return Err(StoreError::NotFound);
        }
        if failed_shard(&reasons) {
            return Err(StoreError::HasActiveBookings);
        }
        Err(unexpected("deleting an event", &reasons))
    }
}

#[async_trait]
impl BookingStore for DynamoStore {
    async fn book(&self, attempt: &BookingAttempt) -> StoreResult<BookOutcome> {
        let booking = &attempt.booking;
        let guard_key = keys::idempotency_guard(booking.user_id, &booking.idempotency_key);
        let mut guard_item = key(guard_key.clone());
        guard_item.insert(attr::BOOKING_ID.into(), s(booking.id.to_string()));
        guard_item.insert(attr::FINGERPRINT.into(), s(&attempt.fingerprint));
        guard_item.insert(attr::RESPONSE_BODY.into(), s(&attempt.response_body));
        guard_item.insert(
            TTL_ATTRIBUTE.into(),
            n(attempt.guard_expires_at.timestamp()),
        );
        // TTL deletion lags, so an expired guard is treated as absent.
        let guard_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(guard_item))
            .condition_expression("attribute_not_exists(pk) OR #exp <= :nowSecs")
            .set_expression_attribute_names(names(&[("#exp", TTL_ATTRIBUTE)]))
            .set_expression_attribute_values(values(vec![(":nowSecs", n(attempt.now.timestamp()))]))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(request_error)?;

        let mut booking_item = encode(booking)?;
        booking_item.extend(key(keys::booking(booking.id)));
        booking_item.insert(
            BOOKINGS_BY_USER.partition_key.into(),
            s(keys::bookings_by_user(booking.user_id)),
        );
        booking_item.insert(BOOKINGS_BY_USER.sort_key.into(), s(booking.id.to_string()));
        booking_item.insert(
            BOOKINGS_BY_USER_STATUS.partition_key.into(),
            s(keys::bookings_by_user_status(
                booking.user_id,
                booking.status,
            )),
        );
        booking_item.insert(
            BOOKINGS_BY_USER_STATUS.sort_key.into(),
            s(booking.id.to_string()),
        );

        let mut request = self
            .client()
            .await
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(guard_put).build())
            .transact_items(self.put(booking_item, "attribute_not_exists(pk)")?);
        for (i, take) in booking.takes().into_iter().enumerate() {
            let shard = self
                .shard_counter(booking.event_id, take, i == 0, Taking::Out)
                .condition_expression(format!(
                    "attribute_exists(pk) AND attribute_not_exists({DELETED_AT}) AND #status = :published \
                     AND {DATE_MS} > :now AND {PRICE} = :price AND {AVAILABLE_TICKETS} >= :q"
                ))
                .set_expression_attribute_names(names(&[("#status", attr::STATUS)]))
                .expression_attribute_values(":published", s("published"))
                .expression_attribute_values(":now", n(attempt.now.timestamp_millis()))
                .expression_attribute_values(":price", n(booking.unit_price.0))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .map_err(request_error)?;
            request = request.transact_items(TransactWriteItem::builder().update(shard).build());
        }
        // Last, so the reasons keep their places (guard, booking, shards); it has no condition.
        request = request.transact_items(self.booking_count_change(
            booking.user_id,
            None,
            booking.status,
        )?);
        let err = match request.send().await {
            Ok(_) => return Ok(BookOutcome::Created),
            Err(err) => err,
        };
        let reasons = cancellation_reasons(err)?;
        // A used key wins over every other failure: the retry of a successful booking replays it.
        if reason_code(reasons.first()) == "ConditionalCheckFailed" {
            if let Some(outcome) = reasons
                .first()
                .and_then(|r| r.item())
                .map(|i| Self::guard_outcome(i, attempt))
            {
                if let Some(outcome) = outcome? {
                    return Ok(outcome);
                }
            }
            return Err(StoreError::Contention("guard expired between reads".into()));
        }
        let failed_shard = reasons
            .iter()
            .skip(2)
            .find(|r| reason_code(Some(r)) == "ConditionalCheckFailed");
        if let Some(failed) = failed_shard {
            // DynamoDB may stop at the first failed condition: look at the guard explicitly.
            if let Some(guard) = self.get(guard_key).await? {
                if let Some(outcome) = Self::guard_outcome(&guard, attempt)? {
                    return Ok(outcome);
                }
            }
            return Err(Self::event_failure(failed.item(), attempt));
        }
        Err(unexpected("booking", &reasons))
    }

    async fn booking_by_id(&self, id: BookingId) -> StoreResult<Option<Booking>> {
        self.get(keys::booking(id)).await?.map(decode).transpose()
    }

    async fn idempotency_guard(
        &self,
        user: UserId,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<StoredGuard>> {
        match self.get(keys::idempotency_guard(user, key)).await? {
            Some(item) => Self::stored_guard(&item, now),
            None => Ok(None),
        }
    }

    async fn bookings_by_user(
        &self,
        user: UserId,
        status: Option<BookingStatus>,
        page: PageParams,
    ) -> StoreResult<BookingPage> {
        let (index, partition) = match status {
            Some(status) => (
                BOOKINGS_BY_USER_STATUS,
                keys::bookings_by_user_status(user, status),
            ),
            None => (BOOKINGS_BY_USER, keys::bookings_by_user(user)),
        };
        let statuses = status.map_or(BookingStatus::ALL.to_vec(), |one| vec![one]);
        let total_of = |counts: Option<Item>| -> u64 {
            let counts = counts.unwrap_or_default();
            statuses
                .iter()
                .map(|s| number(&counts, s.as_str()).unwrap_or(0))
                .sum()
        };
        let offset = page.offset();
        let wanted =
            usize::try_from(offset.saturating_add(u64::from(page.limit))).unwrap_or(usize::MAX);
        // The first page reads its items and the total side by side; a later one asks the total
        // first, so a page past the end reads no items at all.
        let (total, items) = if offset == 0 {
            let (counts, items) = tokio::join!(
                self.get(keys::booking_counts(user)),
                self.query_newest(index, partition, wanted)
            );
            (total_of(counts?), items?)
        } else {
            let total = total_of(self.get(keys::booking_counts(user)).await?);
            if offset >= total {
                return Ok(BookingPage {
                    bookings: Vec::new(),
                    total,
                });
            }
            (total, self.query_newest(index, partition, wanted).await?)
        };
        let bookings = items
            .into_iter()
            .skip(offset as usize)
            .map(decode)
            .collect::<StoreResult<Vec<Booking>>>()?;
        Ok(BookingPage { bookings, total })
    }

    async fn cancel_booking(&self, booking: &Booking, now: DateTime<Utc>) -> StoreResult<Booking> {
        let booking_update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::booking(booking.id))))
            .update_expression(format!(
                "SET #status = :cancelled, {CANCELLED_AT} = :now, #byStatus = :byStatus"
            ))
            .condition_expression("#status = :confirmed")
            .set_expression_attribute_names(names(&[
                ("#status", attr::STATUS),
                ("#byStatus", BOOKINGS_BY_USER_STATUS.partition_key),
            ]))
            .set_expression_attribute_values(values(vec![
                (":cancelled", s(BookingStatus::Cancelled.as_str())),
                (":confirmed", s(BookingStatus::Confirmed.as_str())),
                (":now", s(now.to_rfc3339_opts(SecondsFormat::AutoSi, true))),
                (
                    ":byStatus",
                    s(keys::bookings_by_user_status(
                        booking.user_id,
                        BookingStatus::Cancelled,
                    )),
                ),
            ]))
            .build()
            .map_err(request_error)?;
        let mut request = self
            .client()
            .await
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(booking_update).build());
        for (i, take) in booking.takes().into_iter().enumerate() {
            let shard = self
                .shard_counter(booking.event_id, take, i == 0, Taking::Back)
                .condition_expression(format!("attribute_exists(pk) AND {DATE_MS} > :now"))
                .expression_attribute_values(":now", n(now.timestamp_millis()))
                .build()
                .map_err(request_error)?;
            request = request.transact_items(TransactWriteItem::builder().update(shard).build());
        }
        request = request.transact_items(self.booking_count_change(
            booking.user_id,
            Some(BookingStatus::Confirmed),
            BookingStatus::Cancelled,
        )?);
        match request.send().await {
            Ok(_) => Ok(Booking {
                status: BookingStatus::Cancelled,
                cancelled_at: Some(now),
                ..booking.clone()
            }),
            // Any condition failing (not confirmed any more, or the event started) is the same
            // answer for the client.
            Err(err) => cancellation_reasons(err).and(Err(StoreError::NotCancellable)),
        }
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn open_session(&self, session: &SessionRecord) -> StoreResult<()> {
        let mut item = key(keys::session(&session.family));
        item.insert(attr::USER_ID.into(), s(session.user.to_string()));
        item.insert(attr::CURRENT_TOKEN.into(), s(&session.current_token));
        item.insert(attr::ROTATIONS.into(), n(0));
        item.insert(attr::REVOKED.into(), AttributeValue::Bool(false));
        item.insert(TTL_ATTRIBUTE.into(), n(session.expires_at.timestamp()));
        self.client()
            .await
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn rotate_session(
        &self,
        family: &str,
        presented: &str,
        next: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Rotation> {
        let request = self
            .client()
            .await
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::session(family))))
            .update_expression("SET #current = :next, #rotations = #rotations + :one, #ttl = :expires")
            // TTL deletion is lazy: an expired family must not rotate while it still exists.
            .condition_expression(
                "attribute_exists(pk) AND #current = :presented AND #revoked = :false AND #ttl > :now",
            )
            .set_expression_attribute_names(names(&[
                ("#current", attr::CURRENT_TOKEN),
                ("#rotations", attr::ROTATIONS),
                ("#revoked", attr::REVOKED),
                ("#ttl", TTL_ATTRIBUTE),
            ]))
            .set_expression_attribute_values(values(vec![
                (":next", s(next)),
                (":presented", s(presented)),
                (":one", n(1)),
                (":false", AttributeValue::Bool(false)),
                (":expires", n(expires_at.timestamp())),
                (":now", n(now.timestamp())),
            ]))
;
        let Some(old) = self.update_or_old(request).await? else {
            return Ok(Rotation::Rotated);
        };
        if old.is_empty() {
            return Ok(Rotation::Unknown);
        }
        let expired = old
            .get(TTL_ATTRIBUTE)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .is_none_or(|ttl| ttl <= now.timestamp());
        let revoked = old.get(attr::REVOKED).and_then(|v| v.as_bool().ok()) == Some(&true);
        Ok(if expired {
            Rotation::Unknown
        } else if revoked {
            Rotation::Revoked
        } else {
            Rotation::Spent
        })
    }

    async fn revoke_session(&self, family: &str) -> StoreResult<()> {
        let result = self
            .client()
            .await
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::session(family))))
            .update_expression("SET #revoked = :true")
            .condition_expression("attribute_exists(pk)")
            .set_expression_attribute_names(names(&[("#revoked", attr::REVOKED)]))
            .set_expression_attribute_values(values(vec![(":true", AttributeValue::Bool(true))]))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(classify(e)),
        }
    }
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
        ] {
            assert!(item.contains_key(name), "an event has no {name}: {item:?}");
        }
        let booking = Booking {
            id: BookingId::new(),
            event_id: event.id,
            user_id: UserId::new(),
            quantity: 1,
            unit_price: crate::money::Cents(100),
            total_price: crate::money::Cents(100),
            status: crate::domain::BookingStatus::Cancelled,
            ticket_numbers: vec!["t".into()],
            idempotency_key: "k".into(),
            created_at: now,
            cancelled_at: Some(now),
            allocation: vec![],
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
        };
        assert!(encode(&user).unwrap().contains_key(attr::ROLE));
    }
}
