//! Attribute values, item keys and the plain reads and writes every part of the store shares.

use super::*;

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn key((pk, sk): (String, String)) -> Item {
    HashMap::from([
        (PARTITION_KEY.to_owned(), s(pk)),
        (SORT_KEY.to_owned(), s(sk)),
    ])
}

pub(super) fn names(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

pub(super) fn values(pairs: Vec<(&str, AttributeValue)>) -> Option<Item> {
    Some(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// Fixed-width sortable timestamp for index sort keys.
pub(super) fn sortable(ts: DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The catalog index's sort key: when the entry was last written, then which event.
pub(super) fn catalog_sort_key(at: DateTime<Utc>, id: EventId) -> String {
    format!("{}#{id}", sortable(at))
}

/// The catalog-by-date index's sort key: the event's date to the nanosecond (fixed width, so
/// text order is time order), then which event — the projection's date order exactly.
pub(super) fn date_sort_key(date: DateTime<Utc>, id: EventId) -> String {
    format!("{}#{id}", date.to_rfc3339_opts(SecondsFormat::Nanos, true))
}

/// A query's filter expression, with the names and values it uses.
pub(super) type Filter<'a> = (
    &'a str,
    Vec<(&'a str, &'a str)>,
    Vec<(&'a str, AttributeValue)>,
);

/// A numeric attribute, if present and a whole number.
pub(super) fn number(item: &Item, name: &str) -> Option<u64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

pub(super) fn request_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Request(Cause::new(e))
}

impl DynamoStore {
    /// Sends a conditional `UpdateItem`: `None` when it was written, else the item as it was
    /// when the condition failed (empty when there is no such item), so the caller can say why.
    pub(super) async fn update_or_old(
        &self,
        request: UpdateItemFluentBuilder,
    ) -> StoreResult<Option<Item>> {
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

pub(super) fn encode<T: serde::Serialize>(value: &T) -> StoreResult<Item> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(Cause::new(e)))
}

/// One value as an attribute (a map for a struct), as `encode` writes it inside an item.
pub(super) fn to_attribute<T: serde::Serialize>(value: &T) -> StoreResult<AttributeValue> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Corrupt(Cause::new(e)))
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(item: Item) -> StoreResult<T> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(Cause::new(e)))
}

impl DynamoStore {
    pub(super) fn put(&self, item: Item, condition: &str) -> StoreResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .build()
            .map_err(request_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// One consistent `BatchGetItem` (≤ 100 keys), following unprocessed keys a few times.
    pub(super) async fn batch_get(&self, keys: Vec<Item>) -> StoreResult<Vec<Item>> {
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

    pub(super) async fn get(&self, key_pair: (String, String)) -> StoreResult<Option<Item>> {
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

    /// Runs a query to the end (following every page).
    pub(super) async fn query_all(
        &self,
        index: &str,
        condition: &str,
        attr_names: Option<HashMap<String, String>>,
        attr_values: Option<Item>,
        newest_first: bool,
    ) -> StoreResult<Vec<Item>> {
        let client = self.client().await;
        self.every_page(|| {
            client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(condition)
                .set_expression_attribute_names(attr_names.clone())
                .set_expression_attribute_values(attr_values.clone())
                .scan_index_forward(!newest_first)
        })
        .await
    }

    /// Every item of one partition of the table itself (read consistently).
    pub(super) async fn partition(&self, pk: String) -> StoreResult<Vec<Item>> {
        let client = self.client().await;
        self.every_page(|| {
            client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", PARTITION_KEY)
                .expression_attribute_values(":pk", s(&pk))
                .consistent_read(true)
        })
        .await
    }

    /// The items of every page of the query `build` makes, following `LastEvaluatedKey`.
    async fn every_page(
        &self,
        build: impl Fn() -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> StoreResult<Vec<Item>> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = build()
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(out),
            }
        }
    }

    /// The inventory shard items of these events (id, shard count), read consistently in
    /// `BatchGetItem`s of at most 100 keys, by partition key.
    pub(super) async fn shard_items(
        &self,
        events: &[(EventId, u16)],
    ) -> StoreResult<HashMap<String, Item>> {
        let wanted: Vec<Item> = events
            .iter()
            .flat_map(|&(id, shards)| (0..shards).map(move |k| key(keys::inventory_shard(id, k))))
            .collect();
        let mut found = HashMap::new();
        for chunk in wanted.chunks(100) {
            for item in self.batch_get(chunk.to_vec()).await? {
                if let Some(AttributeValue::S(pk)) = item.get(PARTITION_KEY) {
                    found.insert(pk.clone(), item);
                }
            }
        }
        Ok(found)
    }

    /// The first `count` items of one index partition, newest first (page by page, each asking
    /// only for what is still missing).
    pub(super) async fn query_newest(
        &self,
        index: IndexDesign,
        partition: String,
        count: usize,
    ) -> StoreResult<Vec<Item>> {
        self.query_first(index, partition, false, None, count).await
    }

    /// The first `count` items of one index partition in key order (`forward`) or against it,
    /// of those passing `filter` (an expression, its names and values) if any: page by page,
    /// each asking only for what is still missing.
    pub(super) async fn query_first(
        &self,
        index: IndexDesign,
        partition: String,
        forward: bool,
        filter: Option<Filter<'_>>,
        count: usize,
    ) -> StoreResult<Vec<Item>> {
        let client = self.client().await;
        let mut attr_names = vec![("#pk", index.partition_key)];
        let mut attr_values = vec![(":pk", s(&partition))];
        let expression = filter.map(|(expression, names, values)| {
            attr_names.extend(names);
            attr_values.extend(values);
            expression
        });
        let (attr_names, attr_values) = (names(&attr_names), values(attr_values));
        // `count` comes from a client's page number: never allocate by it.
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        while out.len() < count {
            let page = client
                .query()
                .table_name(&self.table)
                .index_name(index.name)
                .key_condition_expression("#pk = :pk")
                .set_filter_expression(expression.map(str::to_owned))
                .set_expression_attribute_names(attr_names.clone())
                .set_expression_attribute_values(attr_values.clone())
                .scan_index_forward(forward)
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
