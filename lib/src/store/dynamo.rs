//! DynamoDB implementation: one table (see `table`), conditional writes and transactions.

use super::table::attr::{
    self, AVAILABLE_TICKETS, CANCELLED_AT, CONFIRMED_BOOKINGS, DATE_MS, DELETED_AT, DELETED_BY,
    DESCRIPTION, PRICE, UPDATED_AT, VENUE,
};
use super::table::{
    keys, BOOKINGS_BY_USER, EVENTS_BY_STATUS, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE,
};
use super::*;
use crate::domain::BookingStatus;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
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
    fn event_item(&self, event: &Event) -> StoreResult<Item> {
        let mut item = encode(event)?;
        item.extend(key(keys::event(event.id)));
        item.insert(attr::DATE_MS.into(), n(event.date.timestamp_millis()));
        if event.deleted_at.is_none() {
            item.insert(
                EVENTS_BY_STATUS.partition_key.into(),
                s(keys::events_by_status(event.status)),
            );
            item.insert(
                EVENTS_BY_STATUS.sort_key.into(),
                s(format!("{}#{}", sortable(event.date), event.id)),
            );
        }
        Ok(item)
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

    /// Reads an existing idempotency guard and turns it into a replay or a reuse error.
    fn guard_outcome(item: &Item, attempt: &BookingAttempt) -> StoreResult<Option<BookOutcome>> {
        let text = |name: &str| match item.get(name) {
            Some(AttributeValue::S(v)) => Some(v.clone()),
            _ => None,
        };
        let expires = match item.get(TTL_ATTRIBUTE) {
            Some(AttributeValue::N(v)) => v.parse::<i64>().unwrap_or(0),
            _ => 0,
        };
        if expires <= attempt.now.timestamp() {
            return Ok(None);
        }
        if text(attr::FINGERPRINT).as_deref() != Some(attempt.fingerprint.as_str()) {
            return Err(StoreError::IdempotencyKeyReused);
        }
        let booking_id = text(attr::BOOKING_ID)
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| StoreError::Corrupt("guard without bookingId".into()))?;
        let response_body = text(attr::RESPONSE_BODY).unwrap_or_default();
        Ok(Some(BookOutcome::Replayed {
            booking_id,
            response_body,
        }))
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
        self.client()
            .await
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.event_item(event)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn event_by_id(&self, id: EventId) -> StoreResult<Option<Event>> {
        let event: Option<Event> = self.get(keys::event(id)).await?.map(decode).transpose()?;
        Ok(event.filter(|e| e.deleted_at.is_none()))
    }

    async fn events_by_status(
        &self,
        statuses: &[EventStatus],
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<Event>> {
        let mut events = Vec::new();
        for status in statuses {
            let mut vals = vec![(":pk", s(keys::events_by_status(*status)))];
            let condition = if from.is_some() || to.is_some() {
                // "~" sorts after every "<timestamp>#<id>" of the bound's instant.
                let lo = from.map(sortable).unwrap_or_else(|| "0".into());
                let hi = to
                    .map(|t| format!("{}~", sortable(t)))
                    .unwrap_or_else(|| "~".into());
                vals.push((":lo", s(lo)));
                vals.push((":hi", s(hi)));
                "#pk = :pk AND #sk BETWEEN :lo AND :hi"
            } else {
                "#pk = :pk"
            };
            let mut page: Vec<Event> = self
                .query_all(
                    EVENTS_BY_STATUS.name,
                    condition,
                    names(&[
                        ("#pk", EVENTS_BY_STATUS.partition_key),
                        ("#sk", EVENTS_BY_STATUS.sort_key),
                    ])
                    .map(|mut m| {
                        if !condition.contains("#sk") {
                            m.remove("#sk");
                        }
                        m
                    }),
                    values(vals),
                    false,
                )
                .await?;
            events.append(&mut page);
        }
        Ok(events)
    }

    async fn update_event_details(&self, event: &Event, was: EventStatus) -> StoreResult<()> {
        // A return to draft also needs no confirmed booking: a booking landing first makes the
        // update fail, one landing after finds a draft and is refused.
        let to_draft = event.status == EventStatus::Draft && was != EventStatus::Draft;
        let condition = if to_draft {
            &format!("attribute_exists(pk) AND attribute_not_exists({DELETED_AT}) AND #status = :was AND {CONFIRMED_BOOKINGS} = :zero")
        } else {
            &format!(
                "attribute_exists(pk) AND attribute_not_exists({DELETED_AT}) AND #status = :was"
            )
        };
        let mut vals = vec![
            (":name", s(&event.name)),
            (":description", s(&event.description)),
            (":venue", s(&event.venue)),
            (
                ":date",
                s(event.date.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            ),
            (":dateTs", n(event.date.timestamp_millis())),
            (":price", n(event.price.0)),
            (":status", s(event.status.as_str())),
            (
                ":updatedAt",
                s(event
                    .updated_at
                    .to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            ),
            (":gsi1pk", s(keys::events_by_status(event.status))),
            (
                ":gsi1sk",
                s(format!("{}#{}", sortable(event.date), event.id)),
            ),
            (":was", s(was.as_str())),
        ];
        if to_draft {
            vals.push((":zero", n(0)));
        }
        let request = self
            .client()
            .await
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::event(event.id))))
            .update_expression(
                format!(
                "SET #name = :name, {DESCRIPTION} = :description, {VENUE} = :venue, #date = :date, \
                 {DATE_MS} = :dateTs, {PRICE} = :price, #status = :status, {UPDATED_AT} = :updatedAt, \
                 {} = :gsi1pk, {} = :gsi1sk",
                EVENTS_BY_STATUS.partition_key, EVENTS_BY_STATUS.sort_key
            ),
            )
            .condition_expression(condition)
            .set_expression_attribute_names(names(&[("#name", attr::NAME), ("#date", attr::DATE), ("#status", attr::STATUS)]))
            .set_expression_attribute_values(values(vals));
        match self.update_or_old(request).await? {
            None => Ok(()),
            Some(old) if !old.is_empty() && !old.contains_key(attr::DELETED_AT) => {
                let status_now = old.get(attr::STATUS).and_then(|v| v.as_s().ok());
                if status_now.map(String::as_str) != Some(was.as_str()) {
                    Err(StoreError::Contention(
                        "the event's status changed meanwhile".into(),
                    ))
                } else {
                    Err(StoreError::HasActiveBookings)
                }
            }
            Some(_) => Err(StoreError::NotFound),
        }
    }

    async fn delete_event(&self, id: EventId, by: UserId, at: DateTime<Utc>) -> StoreResult<()> {
        let at = at.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        let request = self
            .client()
            .await
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::event(id))))
            // Leaving the status index makes the event vanish from listings.
            .update_expression(format!(
                "SET {DELETED_AT} = :at, {DELETED_BY} = :by, {UPDATED_AT} = :at REMOVE {}, {}",
                EVENTS_BY_STATUS.partition_key, EVENTS_BY_STATUS.sort_key
            ))
            .condition_expression(
                format!("attribute_exists(pk) AND attribute_not_exists({DELETED_AT}) AND {CONFIRMED_BOOKINGS} = :zero"),
            )
            .set_expression_attribute_values(values(vec![(":at", s(at)), (":by", s(by.to_string())), (":zero", n(0))]));
        match self.update_or_old(request).await? {
            None => Ok(()),
            Some(old) if !old.is_empty() && !old.contains_key(attr::DELETED_AT) => {
                Err(StoreError::HasActiveBookings)
            }
            Some(_) => Err(StoreError::NotFound),
        }
    }
}

#[async_trait]
impl BookingStore for DynamoStore {
    async fn book(&self, attempt: &BookingAttempt) -> StoreResult<BookOutcome> {
        let booking = &attempt.booking;
        let event_update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::event(booking.event_id))))
            .update_expression(format!(
                "SET {AVAILABLE_TICKETS} = {AVAILABLE_TICKETS} - :q, {CONFIRMED_BOOKINGS} = {CONFIRMED_BOOKINGS} + :one"
            ))
            .condition_expression(
                format!(
                    "attribute_exists(pk) AND attribute_not_exists({DELETED_AT}) AND #status = :published \
                     AND {DATE_MS} > :now AND {PRICE} = :price AND {AVAILABLE_TICKETS} >= :q"
                ),
            )
            .set_expression_attribute_names(names(&[("#status", attr::STATUS)]))
            .set_expression_attribute_values(values(vec![
                (":q", n(booking.quantity)),
                (":one", n(1)),
                (":published", s("published")),
                (":now", n(attempt.now.timestamp_millis())),
                (":price", n(booking.unit_price.0)),
            ]))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StoreError::Request(Cause::new(e)))?;

        let mut booking_item = encode(booking)?;
        booking_item.extend(key(keys::booking(booking.id)));
        booking_item.insert(
            BOOKINGS_BY_USER.partition_key.into(),
            s(keys::bookings_by_user(booking.user_id)),
        );
        booking_item.insert(BOOKINGS_BY_USER.sort_key.into(), s(booking.id.to_string()));
        let booking_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(booking_item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::Request(Cause::new(e)))?;

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
            .map_err(|e| StoreError::Request(Cause::new(e)))?;

        let result = self
            .client()
            .await
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(event_update).build())
            .transact_items(TransactWriteItem::builder().put(booking_put).build())
            .transact_items(TransactWriteItem::builder().put(guard_put).build())
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(BookOutcome::Created),
            Err(err) => err,
        };
        let reasons = cancellation_reasons(err)?;
        // A used key wins over every other failure: the retry of a successful booking replays it.
        if reason_code(reasons.get(2)) == "ConditionalCheckFailed" {
            if let Some(outcome) = reasons
                .get(2)
                .and_then(|r| r.item())
                .map(|i| Self::guard_outcome(i, attempt))
            {
                if let Some(outcome) = outcome? {
                    return Ok(outcome);
                }
            }
            return Err(StoreError::Contention("guard expired between reads".into()));
        }
        if reason_code(reasons.first()) == "ConditionalCheckFailed" {
            // DynamoDB may stop at the first failed condition: look at the guard explicitly.
            if let Some(guard) = self.get(guard_key).await? {
                if let Some(outcome) = Self::guard_outcome(&guard, attempt)? {
                    return Ok(outcome);
                }
            }
            return Err(Self::event_failure(
                reasons.first().and_then(|r| r.item()),
                attempt,
            ));
        }
        Err(StoreError::Corrupt(
            format!(
                "transaction cancelled: {:?}",
                reasons
                    .iter()
                    .map(|r| reason_code(Some(r)).to_owned())
                    .collect::<Vec<_>>()
            )
            .into(),
        ))
    }

    async fn booking_by_id(&self, id: BookingId) -> StoreResult<Option<Booking>> {
        self.get(keys::booking(id)).await?.map(decode).transpose()
    }

    async fn bookings_by_user(&self, user: UserId) -> StoreResult<Vec<Booking>> {
        self.query_all(
            BOOKINGS_BY_USER.name,
            "#pk = :pk",
            names(&[("#pk", BOOKINGS_BY_USER.partition_key)]),
            values(vec![(":pk", s(keys::bookings_by_user(user)))]),
            true,
        )
        .await
    }

    async fn cancel_booking(&self, booking: &Booking, now: DateTime<Utc>) -> StoreResult<Booking> {
        let booking_update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::booking(booking.id))))
            .update_expression(format!("SET #status = :cancelled, {CANCELLED_AT} = :now"))
            .condition_expression("#status = :confirmed")
            .set_expression_attribute_names(names(&[("#status", attr::STATUS)]))
            .set_expression_attribute_values(values(vec![
                (":cancelled", s("cancelled")),
                (":confirmed", s("confirmed")),
                (":now", s(now.to_rfc3339_opts(SecondsFormat::AutoSi, true))),
            ]))
            .build()
            .map_err(|e| StoreError::Request(Cause::new(e)))?;
        let event_update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::event(booking.event_id))))
            .update_expression(format!(
                "SET {AVAILABLE_TICKETS} = {AVAILABLE_TICKETS} + :q, {CONFIRMED_BOOKINGS} = {CONFIRMED_BOOKINGS} - :one"
            ))
            .condition_expression(format!("attribute_exists(pk) AND {DATE_MS} > :now"))
            .set_expression_attribute_values(values(vec![
                (":q", n(booking.quantity)),
                (":one", n(1)),
                (":now", n(now.timestamp_millis())),
            ]))
            .build()
            .map_err(|e| StoreError::Request(Cause::new(e)))?;
        let result = self
            .client()
            .await
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(booking_update).build())
            .transact_items(TransactWriteItem::builder().update(event_update).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Booking {
                status: BookingStatus::Cancelled,
                cancelled_at: Some(now),
                ..booking.clone()
            }),
            // Either condition failing (not confirmed any more, or the event started) is the same
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
                (":now", n(Utc::now().timestamp())),
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
            .is_none_or(|ttl| ttl <= Utc::now().timestamp());
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
