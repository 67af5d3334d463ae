//! Bookings: the booking transaction (guard + booking + shard take), its replay, lists, cancels.

use super::*;

impl DynamoStore {
    /// One take's counter change on its shard: tickets out (a booking) or back (a cancel),
    /// and `figures` added there (the counts and figures a booking's first take carries: Σ
    /// confirmed over the shards is the event's confirmed bookings).
    pub(super) fn shard_counter(
        &self,
        event: EventId,
        take: ShardTake,
        taking: Taking,
        figures: &[(&'static str, i64)],
    ) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        let tickets = match taking {
            Taking::Out => '-',
            Taking::Back => '+',
        };
        let mut counted = String::new();
        if !figures.is_empty() {
            let adds: Vec<String> = figures
                .iter()
                .map(|(name, _)| format!("{name} :{name}"))
                .collect();
            counted.push_str(&format!(" ADD {}", adds.join(", ")));
        }
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::inventory_shard(event, take.shard))))
            .update_expression(format!(
                "SET {AVAILABLE_TICKETS} = {AVAILABLE_TICKETS} {tickets} :q{counted}"
            ))
            .expression_attribute_values(":q", n(take.quantity));
        for (name, value) in figures {
            update = update.expression_attribute_values(format!(":{name}"), n(value));
        }
        update
    }

    /// What a booking's first take adds to its shard's counts and figures as it is made: a
    /// confirmed one counts and earns; a hold only holds.
    fn first_take_figures(booking: &Booking) -> Vec<(&'static str, i64)> {
        if booking.status == BookingStatus::Pending {
            vec![
                (attr::HELD_TICKETS, i64::from(booking.quantity)),
                (attr::PENDING_BOOKINGS, 1),
            ]
        } else {
            vec![
                (CONFIRMED_BOOKINGS, 1),
                (attr::GROSS_CENTS, booking.total_price.0),
            ]
        }
    }

    /// A booking's tickets and revenue added to its first shard's sales of the day it was
    /// confirmed (`at`).
    pub(super) fn day_sales(
        &self,
        booking: &Booking,
        at: DateTime<Utc>,
    ) -> StoreResult<TransactWriteItem> {
        let shard = booking.takes()[0].shard;
        let day = at.date_naive().format("%Y-%m-%d").to_string();
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key((keys::shard_sales(booking.event_id, shard), day))))
            .update_expression("ADD #tickets :tickets, #revenue :revenue")
            .expression_attribute_names("#tickets", attr::SOLD_TICKETS)
            .expression_attribute_names("#revenue", attr::REVENUE_CENTS)
            .expression_attribute_values(":tickets", n(booking.quantity))
            .expression_attribute_values(":revenue", n(booking.total_price.0))
            .build()
            .map_err(request_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Which contract error a failed event condition means, judged from the old item.
    pub(super) fn event_failure(old: Option<&Item>, attempt: &BookingAttempt) -> StoreError {
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
        let limit = super::events::shard_ticket_limit(attempt.max_tickets_per_user);
        let same_limit = matches!(old.get(attr::MAX_TICKETS_PER_USER), Some(AttributeValue::N(l)) if l.parse::<u32>() == Ok(limit));
        if !status_ok || !future {
            StoreError::EventNotBookable
        } else if !same_price || !same_limit {
            StoreError::TermsChanged
        } else {
            StoreError::InsufficientTickets
        }
    }

    /// A guard item as the store keeps it; `None` once expired (TTL deletion lags).
    pub(super) fn stored_guard(
        item: &Item,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<StoredGuard>> {
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
    pub(super) fn guard_outcome(
        item: &Item,
        attempt: &BookingAttempt,
    ) -> StoreResult<Option<BookOutcome>> {
        Self::stored_guard(item, attempt.now)?
            .map(|guard| guard.outcome(&attempt.fingerprint))
            .transpose()
    }

    /// A user's tickets of an event, as their count item holds them.
    pub(super) async fn user_event_tickets(
        &self,
        user: UserId,
        event: EventId,
    ) -> StoreResult<u32> {
        let item = self.get(keys::user_event_tickets(user, event)).await?;
        Ok(item
            .and_then(|item| number(&item, attr::TICKETS))
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0))
    }

    /// The change of a user's ticket count for an event; a booking under a limit is conditioned
    /// on the count staying within it.
    pub(super) fn user_tickets_change(
        &self,
        user: UserId,
        event: EventId,
        change: i64,
        limit: Option<u32>,
    ) -> StoreResult<TransactWriteItem> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::user_event_tickets(user, event))))
            .update_expression("ADD #tickets :change")
            .expression_attribute_names("#tickets", attr::TICKETS)
            .expression_attribute_values(":change", n(change));
        if let Some(limit) = limit {
            let room = i64::from(limit) - change;
            update = update
                .condition_expression("attribute_not_exists(#tickets) OR #tickets <= :room")
                .expression_attribute_values(":room", n(room))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
        }
        let update = update.build().map_err(request_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A user's booking counts per status change: `+1` for `to`, `-1` for `from`.
    pub(super) fn booking_count_change(
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
}

#[async_trait]
impl BookingStore for DynamoStore {
    async fn book(&self, attempt: &BookingAttempt) -> StoreResult<BookOutcome> {
        let booking = &attempt.booking;
        let limit = attempt.max_tickets_per_user;
        if let Some(limit) = limit.filter(|&limit| booking.quantity > limit) {
            // More than the limit in one order: no count could let it through — unless this is
            // the replay of a key used before the limit was lowered.
            let guard_key = keys::idempotency_guard(booking.user_id, &booking.idempotency_key);
            if let Some(guard) = self.get(guard_key).await? {
                if let Some(outcome) = Self::guard_outcome(&guard, attempt)? {
                    return Ok(outcome);
                }
            }
            let held = self
                .user_event_tickets(booking.user_id, booking.event_id)
                .await?;
            return Err(StoreError::TicketLimitReached {
                remaining: limit.saturating_sub(held),
            });
        }
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
        // A confirmed booking is an attendee; a hold sits in its event's hold partition and
        // in the payment queue, due when it lapses.
        let first_shard = booking.takes()[0].shard;
        let by_event = match booking.status {
            BookingStatus::Pending => Some(keys::holds(booking.event_id, first_shard)),
            BookingStatus::Confirmed => Some(keys::attendees(booking.event_id, first_shard)),
            BookingStatus::Cancelled | BookingStatus::Expired => None,
        };
        if let Some(partition) = by_event {
            booking_item.insert(ATTENDEES_BY_EVENT.partition_key.into(), s(partition));
            booking_item.insert(
                ATTENDEES_BY_EVENT.sort_key.into(),
                s(booking.id.to_string()),
            );
        }
        if let (BookingStatus::Pending, Some(expires)) = (booking.status, booking.hold_expires_at) {
            booking_item.extend(super::checkout::queue_keys(booking.id, expires));
        }

        let mut request = self
            .client()
            .await
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(guard_put).build())
            .transact_items(self.put(booking_item, "attribute_not_exists(pk)")?);
        let first_figures = Self::first_take_figures(booking);
        for (i, take) in booking.takes().into_iter().enumerate() {
            let figures: &[_] = if i == 0 { &first_figures } else { &[] };
            let shard = self
                .shard_counter(booking.event_id, take, Taking::Out, figures)
                .condition_expression(format!(
                    "attribute_exists(pk) AND attribute_not_exists({DELETED_AT}) AND #status = :published \
                     AND {DATE_MS} > :now AND {PRICE} = :price AND #limit = :limit \
                     AND {AVAILABLE_TICKETS} >= :q"
                ))
                .set_expression_attribute_names(names(&[
                    ("#status", attr::STATUS),
                    ("#limit", attr::MAX_TICKETS_PER_USER),
                ]))
                .expression_attribute_values(
                    ":limit",
                    n(super::events::shard_ticket_limit(limit)),
                )
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
        let shards = booking.takes().len();
        // Then the user's count of the event's tickets (conditioned on the limit), the day's
        // sales and last the booking counts, so the reasons keep their places (guard, booking,
        // shards, count).
        request = request
            .transact_items(self.user_tickets_change(
                booking.user_id,
                booking.event_id,
                i64::from(booking.quantity),
                limit,
            )?)
            .transact_items(self.booking_count_change(booking.user_id, None, booking.status)?);
        if booking.status == BookingStatus::Confirmed {
            request = request.transact_items(self.day_sales(booking, booking.created_at)?);
        }
        if let Some(mail) = &attempt.mail {
            request = request.transact_items(self.mail_put(mail)?);
        }
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
        let failed = |r: &&CancellationReason| reason_code(Some(r)) == "ConditionalCheckFailed";
        let failed_shard = reasons.iter().skip(2).take(shards).find(failed);
        let failed_count = reasons.get(2 + shards).filter(failed);
        if failed_shard.is_some() || failed_count.is_some() {
            // DynamoDB may stop at the first failed condition: look at the guard explicitly.
            if let Some(guard) = self.get(guard_key).await? {
                if let Some(outcome) = Self::guard_outcome(&guard, attempt)? {
                    return Ok(outcome);
                }
            }
        }
        if let Some(failed) = failed_shard {
            return Err(Self::event_failure(failed.item(), attempt));
        }
        if let (Some(failed), Some(limit)) = (failed_count, limit) {
            let held = failed
                .item()
                .and_then(|item| number(item, attr::TICKETS))
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(limit);
            return Err(StoreError::TicketLimitReached {
                remaining: limit.saturating_sub(held),
            });
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

    async fn cancel_booking(
        &self,
        booking: &Booking,
        now: DateTime<Utc>,
        mail: Option<&OutboxMail>,
        refund: Option<&Refund>,
    ) -> StoreResult<Booking> {
        // A refund is recorded with the cancel and queued for the sweep, which retries it
        // until the provider accepts it.
        let mut refund_set = String::new();
        let mut refund_values = Vec::new();
        if let Some(refund) = refund {
            refund_set = ", #refund = :refund, #queuePk = :queuePk, #queueSk = :queueSk".into();
            let queue = super::checkout::queue_keys(booking.id, now + FOLLOW_UP_AFTER);
            refund_values.push((":refund", to_attribute(refund)?));
            for (name, value) in queue {
                let placeholder = if name == MAILS_DUE.partition_key {
                    ":queuePk"
                } else {
                    ":queueSk"
                };
                refund_values.push((placeholder, value));
            }
        }
        let mut booking_update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::booking(booking.id))))
            .update_expression(format!(
                "SET #status = :cancelled, {CANCELLED_AT} = :now, #byStatus = :byStatus{refund_set} \
                 REMOVE #attendeesPk, #attendeesSk"
            ))
            .condition_expression(
                "#status = :confirmed AND (attribute_not_exists(#checkedIn) OR size(#checkedIn) = :none)",
            )
            .set_expression_attribute_names(names(&[
                ("#status", attr::STATUS),
                ("#byStatus", BOOKINGS_BY_USER_STATUS.partition_key),
                ("#checkedIn", attr::CHECKED_IN),
                ("#attendeesPk", ATTENDEES_BY_EVENT.partition_key),
                ("#attendeesSk", ATTENDEES_BY_EVENT.sort_key),
            ]))
            .set_expression_attribute_values(values(vec![
                (":cancelled", s(BookingStatus::Cancelled.as_str())),
                (":confirmed", s(BookingStatus::Confirmed.as_str())),
                (":none", n(0)),
                (":now", s(now.to_rfc3339_opts(SecondsFormat::AutoSi, true))),
                (
                    ":byStatus",
                    s(keys::bookings_by_user_status(
                        booking.user_id,
                        BookingStatus::Cancelled,
                    )),
                ),
            ]));
        if refund.is_some() {
            booking_update = booking_update
                .expression_attribute_names("#refund", attr::REFUND)
                .expression_attribute_names("#queuePk", MAILS_DUE.partition_key)
                .expression_attribute_names("#queueSk", MAILS_DUE.sort_key);
            for (placeholder, value) in refund_values {
                booking_update = booking_update.expression_attribute_values(placeholder, value);
            }
        }
        let booking_update = booking_update.build().map_err(request_error)?;
        let mut request = self
            .client()
            .await
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(booking_update).build());
        let mut first_figures = vec![(CONFIRMED_BOOKINGS, -1), (attr::CANCELLED_BOOKINGS, 1)];
        if let Some(refund) = refund {
            first_figures.push((attr::REFUNDED_CENTS, refund.amount.0));
        }
        for (i, take) in booking.takes().into_iter().enumerate() {
            let figures: &[_] = if i == 0 { &first_figures } else { &[] };
            let shard = self
                .shard_counter(booking.event_id, take, Taking::Back, figures)
                .condition_expression(format!("attribute_exists(pk) AND {DATE_MS} > :now"))
                .expression_attribute_values(":now", n(now.timestamp_millis()))
                .build()
                .map_err(request_error)?;
            request = request.transact_items(TransactWriteItem::builder().update(shard).build());
        }
        request = request
            .transact_items(self.user_tickets_change(
                booking.user_id,
                booking.event_id,
                -i64::from(booking.quantity),
                None,
            )?)
            .transact_items(self.booking_count_change(
                booking.user_id,
                Some(BookingStatus::Confirmed),
                BookingStatus::Cancelled,
            )?);
        if let Some(mail) = mail {
            request = request.transact_items(self.mail_put(mail)?);
        }
        match request.send().await {
            Ok(_) => Ok(Booking {
                status: BookingStatus::Cancelled,
                cancelled_at: Some(now),
                refund: refund.cloned().or_else(|| booking.refund.clone()),
                ..booking.clone()
            }),
            // Any condition failing (not confirmed any more, or the event started) is the same
            // answer for the client.
            Err(err) => cancellation_reasons(err).and(Err(StoreError::NotCancellable)),
        }
    }

    async fn check_in(
        &self,
        id: BookingId,
        number: u8,
        now: DateTime<Utc>,
    ) -> StoreResult<Booking> {
        // Where the booking counts (its first shard): the admission is counted there too.
        let Some(booking) = self.booking_by_id(id).await? else {
            return Err(StoreError::NotFound);
        };
        let at = now.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        let admit = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::booking(id))))
            .update_expression("SET #checkedIn.#number = :at")
            .condition_expression(
                "attribute_exists(pk) AND #status = :confirmed AND attribute_not_exists(#checkedIn.#number)",
            )
            .set_expression_attribute_names(names(&[
                ("#checkedIn", attr::CHECKED_IN),
                ("#number", &number.to_string()),
                ("#status", attr::STATUS),
            ]))
            .set_expression_attribute_values(values(vec![
                (":at", s(&at)),
                (":confirmed", s(BookingStatus::Confirmed.as_str())),
            ]))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(request_error)?;
        let counted = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::inventory_shard(
                booking.event_id,
                booking.takes()[0].shard,
            ))))
            .update_expression("ADD #checkedIn :one")
            .expression_attribute_names("#checkedIn", attr::CHECKED_IN_TICKETS)
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(request_error)?;
        let result = self
            .client()
            .await
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(admit).build())
            .transact_items(TransactWriteItem::builder().update(counted).build())
            .send()
            .await;
        let err = match result {
            Ok(_) => {
                let mut admitted = booking;
                admitted.checked_in.insert(number.to_string(), now);
                return Ok(admitted);
            }
            Err(err) => err,
        };
        let reasons = cancellation_reasons(err)?;
        if reason_code(reasons.first()) != "ConditionalCheckFailed" {
            return Err(unexpected("checking a ticket in", &reasons));
        }
        let Some(old) = reasons
            .first()
            .and_then(|r| r.item())
            .filter(|i| !i.is_empty())
        else {
            return Err(StoreError::NotFound);
        };
        let stored: Booking = decode(old.clone())?;
        if let Some(at) = stored.checked_in_at(number) {
            return Err(StoreError::AlreadyCheckedIn { at });
        }
        Err(StoreError::TicketNotValid)
    }

    async fn event_figures(
        &self,
        id: EventId,
        shards: u16,
    ) -> StoreResult<(Vec<ShardFigures>, Vec<DaySales>)> {
        let found = self.shard_items(&[(id, shards)]).await?;
        let count = |item: &Item, name: &str| number(item, name).unwrap_or(0);
        let mut figures = Vec::with_capacity(usize::from(shards));
        for k in 0..shards {
            let (pk, _) = keys::inventory_shard(id, k);
            let item = found
                .get(&pk)
                .ok_or_else(|| StoreError::Corrupt(format!("missing shard {pk}").into()))?;
            let counts = super::events::shard_counts(item)?;
            figures.push(ShardFigures {
                available: counts.available,
                confirmed: counts.confirmed,
                cancelled: count(item, attr::CANCELLED_BOOKINGS) as u32,
                checked_in: count(item, attr::CHECKED_IN_TICKETS) as u32,
                gross: Cents(count(item, attr::GROSS_CENTS) as i64),
                held: count(item, attr::HELD_TICKETS) as u32,
                pending: count(item, attr::PENDING_BOOKINGS) as u32,
                expired: count(item, attr::EXPIRED_BOOKINGS) as u32,
                refunded: Cents(count(item, attr::REFUNDED_CENTS) as i64),
            });
        }
        let days = futures::future::try_join_all(
            (0..shards).map(|k| self.partition(keys::shard_sales(id, k))),
        )
        .await?;
        let mut sales = Vec::new();
        for item in days.into_iter().flatten() {
            let Some(AttributeValue::S(day)) = item.get(SORT_KEY) else {
                continue;
            };
            let day = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map_err(|_| StoreError::Corrupt("a day's sales under a malformed day".into()))?;
            sales.push(DaySales {
                day,
                tickets: count(&item, attr::SOLD_TICKETS) as u32,
                revenue: Cents(count(&item, attr::REVENUE_CENTS) as i64),
            });
        }
        Ok((figures, sales))
    }

    async fn confirmed_bookings(
        &self,
        event: EventId,
        shards: u16,
        after: Option<BookingId>,
        count: usize,
    ) -> StoreResult<Vec<Booking>> {
        // A lazy K-way merge by booking id: each partition is read a little at a time, and
        // only while its next booking could be the next one out.
        struct Partition {
            key: String,
            buffer: std::collections::VecDeque<Booking>,
            start: Option<Item>,
            done: bool,
        }
        let mut partitions: Vec<Partition> = (0..shards)
            .map(|k| Partition {
                key: keys::attendees(event, k),
                buffer: Default::default(),
                start: None,
                done: false,
            })
            .collect();
        let client = self.client().await;
        let step = (count / usize::from(shards.max(1))).clamp(2, 100);
        let mut out = Vec::new();
        while out.len() < count {
            for partition in partitions
                .iter_mut()
                .filter(|p| p.buffer.is_empty() && !p.done)
            {
                let mut query = client
                    .query()
                    .table_name(&self.table)
                    .index_name(ATTENDEES_BY_EVENT.name)
                    .expression_attribute_names("#pk", ATTENDEES_BY_EVENT.partition_key)
                    .expression_attribute_values(":pk", s(&partition.key))
                    .limit(step as i32)
                    .set_exclusive_start_key(partition.start.take());
                query = match after {
                    Some(after) => query
                        .key_condition_expression("#pk = :pk AND #sk > :after")
                        .expression_attribute_names("#sk", ATTENDEES_BY_EVENT.sort_key)
                        .expression_attribute_values(":after", s(after.to_string())),
                    None => query.key_condition_expression("#pk = :pk"),
                };
                let page = query.send().await.map_err(classify)?;
                for item in page.items.unwrap_or_default() {
                    partition.buffer.push_back(decode(item)?);
                }
                match page.last_evaluated_key {
                    Some(next) if !next.is_empty() => partition.start = Some(next),
                    _ => partition.done = true,
                }
            }
            let next = partitions
                .iter_mut()
                .filter(|p| !p.buffer.is_empty())
                .min_by_key(|p| p.buffer.front().map(|b| b.id));
            match next.and_then(|p| p.buffer.pop_front()) {
                Some(booking) => out.push(booking),
                None => break,
            }
        }
        Ok(out)
    }
}
