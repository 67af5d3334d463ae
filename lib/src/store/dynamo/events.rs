//! Events: the catalog items, the inventory shards they are created with, edits and deletes.

use super::*;

/// A shard's counters; a missing or malformed one is a corrupt item, never a silent 0 (which
/// would read as sold out).
pub(super) fn shard_counts(item: &Item) -> StoreResult<ShardCounts> {
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

/// A shard's copy of the per-user limit: a number, 0 for none (a condition compares numbers).
pub(super) fn shard_ticket_limit(limit: Option<u32>) -> u32 {
    limit.unwrap_or(0)
}

/// One entry of the catalog-by-write index: a deletion record, or an event's catalog item (a
/// deleted one only if written before deleted events left the index).
fn catalog_change(item: Item) -> StoreResult<CatalogChange> {
    let is_record =
        matches!(item.get(SORT_KEY), Some(AttributeValue::S(sk)) if sk == keys::DELETION);
    if !is_record {
        let event: Event = decode(item)?;
        return Ok(match event.deleted_at {
            Some(at) => CatalogChange::Deleted { id: event.id, at },
            None => CatalogChange::Written(event),
        });
    }
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(text)) => Ok(text.as_str()),
        _ => Err(StoreError::Corrupt(
            format!("deletion record without {name}").into(),
        )),
    };
    let id = text(attr::EVENT_ID)?
        .parse()
        .map_err(|_| StoreError::Corrupt("deletion record with a malformed event id".into()))?;
    let at = DateTime::parse_from_rfc3339(text(DELETED_AT)?)
        .map_err(|_| StoreError::Corrupt("deletion record with a malformed time".into()))?
        .with_timezone(&Utc);
    Ok(CatalogChange::Deleted { id, at })
}

impl DynamoStore {
    /// The catalog item: what listings show and index, without the counters (the shards hold
    /// them), so no booking ever rewrites it.
    pub(super) fn catalog_item(&self, event: &Event) -> StoreResult<Item> {
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
        item.insert(CATALOG_BY_DATE.partition_key.into(), s(keys::CATALOG));
        item.insert(
            CATALOG_BY_DATE.sort_key.into(),
            s(date_sort_key(event.date, event.id)),
        );
        Ok(item)
    }

    /// One inventory shard: its counters and a copy of what a booking's condition checks.
    pub(super) fn shard_item(&self, event: &Event, shard: u16, available: u32) -> Item {
        let mut item = key(keys::inventory_shard(event.id, shard));
        item.insert(AVAILABLE_TICKETS.into(), n(available));
        item.insert(CONFIRMED_BOOKINGS.into(), n(0));
        item.insert(attr::STATUS.into(), s(event.status.as_str()));
        item.insert(DATE_MS.into(), n(event.date.timestamp_millis()));
        item.insert(PRICE.into(), n(event.price.0));
        item.insert(
            attr::MAX_TICKETS_PER_USER.into(),
            n(shard_ticket_limit(event.max_tickets_per_user)),
        );
        item
    }

    /// Sends a catalog write (`items`, the version bump and the live events' per-status counts
    /// moved by `counts`) as one transaction: `None` when it was written, else the per-item
    /// reasons it was cancelled for (contention already mapped).
    pub(super) async fn write_catalog(
        &self,
        items: Vec<TransactWriteItem>,
        counts: &[(EventStatus, i64)],
    ) -> StoreResult<Option<Vec<CancellationReason>>> {
        let mut items = items;
        items.push(self.version_bump(counts)?);
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

    /// Part of every catalog write's transaction: projections revalidate against it, and a
    /// cold listing's total is read off its per-status counts. (It is written at an
    /// organiser's pace, never by a booking.)
    pub(super) fn version_bump(
        &self,
        counts: &[(EventStatus, i64)],
    ) -> StoreResult<TransactWriteItem> {
        let count_names: Vec<String> = counts.iter().map(|(s, _)| attr::status_count(*s)).collect();
        let placeholders: Vec<(String, String)> = (0..counts.len())
            .map(|i| (format!("#count{i}"), format!(":count{i}")))
            .collect();
        let mut expression = "ADD #version :one".to_owned();
        for (name, value) in &placeholders {
            expression.push_str(&format!(", {name} {value}"));
        }
        let mut attr_names = vec![("#version", attr::VERSION)];
        let mut attr_values = vec![(":one", n(1))];
        for (((name, value), count), (_, delta)) in
            placeholders.iter().zip(&count_names).zip(counts)
        {
            attr_names.push((name, count));
            attr_values.push((value, n(delta)));
        }
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::catalog_version())))
            .update_expression(expression)
            .set_expression_attribute_names(names(&attr_names))
            .set_expression_attribute_values(values(attr_values))
            .build()
            .map_err(request_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The catalog entry of a live event (counters not filled).
    pub(super) async fn catalog_entry(&self, id: EventId) -> StoreResult<Option<Event>> {
        let event: Option<Event> = self.get(keys::event(id)).await?.map(decode).transpose()?;
        Ok(event.filter(|e| e.deleted_at.is_none()))
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
        match self.write_catalog(items, &[(event.status, 1)]).await? {
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

    async fn catalog_changes(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<CatalogChange>> {
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
        let items = self
            .query_all(
                CATALOG_BY_WRITE.name,
                condition,
                names(&pairs),
                values(vals),
                false,
            )
            .await?;
        // TTL removes an expired record some time after it expires: it is not read meanwhile.
        let kept_from = Utc::now() - DELETIONS_KEPT;
        let mut changes = Vec::with_capacity(items.len());
        for item in items {
            let change = catalog_change(item)?;
            if matches!(change, CatalogChange::Deleted { at, .. } if at < kept_from) {
                continue;
            }
            changes.push(change);
        }
        Ok(changes)
    }

    async fn catalog_by_date(
        &self,
        statuses: StatusFilter,
        order: SortOrder,
        count: usize,
    ) -> StoreResult<Vec<Event>> {
        let status = |status: EventStatus| vec![(":status", s(status.as_str()))];
        let filter = match statuses {
            StatusFilter::Nothing => return Ok(Vec::new()),
            StatusFilter::Any => None,
            StatusFilter::NotDraft => Some(("#status <> :status", status(EventStatus::Draft))),
            StatusFilter::Only(wanted) => Some(("#status = :status", status(wanted))),
        }
        .map(|(expression, values)| (expression, vec![("#status", attr::STATUS)], values));
        self.query_first(
            CATALOG_BY_DATE,
            keys::CATALOG.into(),
            order == SortOrder::Asc,
            filter,
            count,
        )
        .await?
        .into_iter()
        .map(decode)
        .collect()
    }

    async fn catalog_status_counts(&self) -> StoreResult<HashMap<EventStatus, u64>> {
        let item = self.get(keys::catalog_version()).await?.unwrap_or_default();
        Ok(EventStatus::ALL
            .into_iter()
            .filter_map(|status| Some((status, number(&item, &attr::status_count(status))?)))
            .collect())
    }

    async fn inventories(
        &self,
        events: &[(EventId, u16)],
    ) -> StoreResult<HashMap<EventId, Inventory>> {
        let found = self.shard_items(events).await?;
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
                 #sk = :sk, #dateSk = :dateSk, #limit = :limit"
            ))
            .condition_expression(format!(
                "attribute_exists(pk) AND attribute_not_exists({DELETED_AT}) AND #status = :was"
            ))
            .set_expression_attribute_names(names(&[
                ("#name", attr::NAME),
                ("#date", attr::DATE),
                ("#status", attr::STATUS),
                ("#sk", CATALOG_BY_WRITE.sort_key),
                ("#dateSk", CATALOG_BY_DATE.sort_key),
                ("#limit", attr::MAX_TICKETS_PER_USER),
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
                (":dateSk", s(date_sort_key(event.date, event.id))),
                (
                    ":limit",
                    event
                        .max_tickets_per_user
                        .map_or(AttributeValue::Null(true), n),
                ),
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
                (":limit", n(shard_ticket_limit(event.max_tickets_per_user))),
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
                    "SET #status = :status, {DATE_MS} = :dateTs, {PRICE} = :price, #limit = :limit"
                ))
                .condition_expression(condition)
                .set_expression_attribute_names(names(&[
                    ("#status", attr::STATUS),
                    ("#limit", attr::MAX_TICKETS_PER_USER),
                ]))
                .set_expression_attribute_values(values(vals))
                .build()
                .map_err(request_error)?;
            items.push(TransactWriteItem::builder().update(shard).build());
        }
        let counts = if was == event.status {
            vec![]
        } else {
            vec![(was, -1), (event.status, 1)]
        };
        let Some(reasons) = self.write_catalog(items, &counts).await? else {
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
        let deleted_at = at;
        let at = at.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        // The event leaves both catalog indexes (conditioned on the status its count is taken
        // from); a record of the deletion takes its place in the by-write index, so
        // projections learn of it, until it expires.
        let catalog = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::event(id))))
            .update_expression(format!(
                "SET {DELETED_AT} = :at, {DELETED_BY} = :by, {UPDATED_AT} = :at \
                 REMOVE #writePk, #writeSk, #datePk, #dateSk"
            ))
            .condition_expression(format!(
                "attribute_exists(pk) AND attribute_not_exists({DELETED_AT}) AND #status = :status"
            ))
            .set_expression_attribute_names(names(&[
                ("#writePk", CATALOG_BY_WRITE.partition_key),
                ("#writeSk", CATALOG_BY_WRITE.sort_key),
                ("#datePk", CATALOG_BY_DATE.partition_key),
                ("#dateSk", CATALOG_BY_DATE.sort_key),
                ("#status", attr::STATUS),
            ]))
            .set_expression_attribute_values(values(vec![
                (":at", s(&at)),
                (":by", s(by.to_string())),
                (":status", s(event.status.as_str())),
            ]))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(request_error)?;
        let mut record = key(keys::catalog_deletion(id));
        record.insert(attr::EVENT_ID.into(), s(id.to_string()));
        record.insert(DELETED_AT.into(), s(&at));
        record.insert(CATALOG_BY_WRITE.partition_key.into(), s(keys::CATALOG));
        record.insert(
            CATALOG_BY_WRITE.sort_key.into(),
            s(catalog_sort_key(deleted_at, id)),
        );
        record.insert(
            TTL_ATTRIBUTE.into(),
            n((deleted_at + DELETIONS_KEPT).timestamp()),
        );
        let record = Put::builder()
            .table_name(&self.table)
            .set_item(Some(record))
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
        items.push(TransactWriteItem::builder().put(record).build());
        let Some(reasons) = self.write_catalog(items, &[(event.status, -1)]).await? else {
            return Ok(());
        };
        if reason_code(reasons.first()) == "ConditionalCheckFailed" {
            let old = reasons.first().and_then(|r| r.item());
            return match old {
                Some(old) if !old.is_empty() && !old.contains_key(DELETED_AT) => Err(
                    StoreError::Contention("the event's status changed meanwhile".into()),
                ),
                _ => Err(StoreError::NotFound),
            };
        }
        if failed_shard(&reasons) {
            return Err(StoreError::HasActiveBookings);
        }
        Err(unexpected("deleting an event", &reasons))
    }
}
