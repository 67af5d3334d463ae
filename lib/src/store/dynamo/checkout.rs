//! Checkout on DynamoDB: each step of a hold is one transaction conditioned on the booking's
//! status; payment records are one conditional write; the sweep's queue is the `PAYQ#`
//! partitions of the queue index, and an event's holds its `HOLDS#` partitions of the
//! attendee index.

use super::outbox::due_key;
use super::*;
use crate::domain::mail::{queue_shard, MAIL_QUEUE_SHARDS};
use crate::domain::payment::{Payment, Refund};
use crate::store::table::MAILS_DUE;
use crate::store::{CheckoutStore, HoldStep};

use crate::store::FOLLOW_UP_AFTER;

/// The queue index attributes of a booking due at `due`.
pub(super) fn queue_keys(id: BookingId, due: DateTime<Utc>) -> [(String, AttributeValue); 2] {
    let id = id.to_string();
    [
        (
            MAILS_DUE.partition_key.into(),
            s(keys::payments_due(queue_shard(&id))),
        ),
        (MAILS_DUE.sort_key.into(), s(due_key(due, &id))),
    ]
}

fn timestamp(at: DateTime<Utc>) -> AttributeValue {
    s(at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

impl DynamoStore {
    /// The booking's own update for `step`: its new status, payment, time, index keys and
    /// queue due time, on condition of the status it leaves.
    fn hold_update(
        &self,
        booking: &Booking,
        step: HoldStep,
        payment: &Payment,
        now: DateTime<Utc>,
    ) -> StoreResult<(Update, BookingStatus, BookingStatus)> {
        let (from, to) = match step {
            HoldStep::Confirm => (BookingStatus::Pending, BookingStatus::Confirmed),
            HoldStep::Retake => (BookingStatus::Expired, BookingStatus::Confirmed),
            HoldStep::Expire => (BookingStatus::Pending, BookingStatus::Expired),
            HoldStep::Cancel => (BookingStatus::Pending, BookingStatus::Cancelled),
        };
        let [(_, queue_pk), (_, queue_sk)] = queue_keys(booking.id, now + FOLLOW_UP_AFTER);
        let first_shard = booking.takes()[0].shard;
        let mut set = vec![
            "#status = :to",
            "#byStatus = :byStatus",
            "#payment = :payment",
            "#queuePk = :queuePk",
            "#queueSk = :queueSk",
        ];
        let mut value_pairs = vec![
            (":to", s(to.as_str())),
            (":from", s(from.as_str())),
            (
                ":byStatus",
                s(keys::bookings_by_user_status(booking.user_id, to)),
            ),
            (":payment", to_attribute(payment)?),
            (":queuePk", queue_pk),
            (":queueSk", queue_sk),
        ];
        if to != BookingStatus::Expired {
            value_pairs.push((":at", timestamp(now)));
        }
        let remove = if to == BookingStatus::Confirmed {
            set.push("#confirmedAt = :at");
            set.push("#eventPk = :attendees");
            set.push("#eventSk = :id");
            value_pairs.push((
                ":attendees",
                s(keys::attendees(booking.event_id, first_shard)),
            ));
            value_pairs.push((":id", s(booking.id.to_string())));
            ""
        } else {
            if to == BookingStatus::Cancelled {
                set.push("#cancelledAt = :at");
            }
            " REMOVE #eventPk, #eventSk"
        };
        let mut name_pairs = vec![
            ("#status", attr::STATUS),
            ("#byStatus", BOOKINGS_BY_USER_STATUS.partition_key),
            ("#payment", attr::PAYMENT),
            ("#queuePk", MAILS_DUE.partition_key),
            ("#queueSk", MAILS_DUE.sort_key),
            ("#eventPk", ATTENDEES_BY_EVENT.partition_key),
            ("#eventSk", ATTENDEES_BY_EVENT.sort_key),
        ];
        if to == BookingStatus::Confirmed {
            name_pairs.push(("#confirmedAt", attr::CONFIRMED_AT));
        }
        if to == BookingStatus::Cancelled {
            name_pairs.push(("#cancelledAt", CANCELLED_AT));
        }
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::booking(booking.id))))
            .update_expression(format!("SET {}{remove}", set.join(", ")))
            .condition_expression("#status = :from")
            .set_expression_attribute_names(names(&name_pairs))
            .set_expression_attribute_values(values(value_pairs))
            .build()
            .map_err(request_error)?;
        Ok((update, from, to))
    }
}

#[async_trait]
impl CheckoutStore for DynamoStore {
    async fn move_hold(
        &self,
        booking: &Booking,
        step: HoldStep,
        payment: &Payment,
        now: DateTime<Utc>,
        mail: Option<&OutboxMail>,
    ) -> StoreResult<Booking> {
        if step == HoldStep::Expire
            && !crate::domain::payment::hold_lapsed(booking.hold_expires_at, now)
        {
            return Err(StoreError::StatusChanged);
        }
        let (update, from, to) = self.hold_update(booking, step, payment, now)?;
        let quantity = i64::from(booking.quantity);
        let total = booking.total_price.0;
        // What the first take's shard counts: the hold's figures move to what it became.
        let first_figures: Vec<(&'static str, i64)> = match step {
            HoldStep::Confirm => vec![
                (attr::HELD_TICKETS, -quantity),
                (attr::PENDING_BOOKINGS, -1),
                (CONFIRMED_BOOKINGS, 1),
                (attr::GROSS_CENTS, total),
            ],
            HoldStep::Retake => vec![
                (attr::EXPIRED_BOOKINGS, -1),
                (CONFIRMED_BOOKINGS, 1),
                (attr::GROSS_CENTS, total),
            ],
            HoldStep::Expire => vec![
                (attr::HELD_TICKETS, -quantity),
                (attr::PENDING_BOOKINGS, -1),
                (attr::EXPIRED_BOOKINGS, 1),
            ],
            HoldStep::Cancel => vec![
                (attr::HELD_TICKETS, -quantity),
                (attr::PENDING_BOOKINGS, -1),
                (attr::CANCELLED_BOOKINGS, 1),
            ],
        };
        let mut request = self
            .client()
            .await
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build());
        let takes = booking.takes();
        let shards = takes.len();
        for (i, take) in takes.into_iter().enumerate() {
            let figures: &[_] = if i == 0 { &first_figures } else { &[] };
            let shard = match step {
                // The tickets stay where the hold took them: only the first shard's counts move.
                HoldStep::Confirm if i > 0 => continue,
                HoldStep::Confirm => self.shard_counter(
                    booking.event_id,
                    ShardTake::new(usize::from(take.shard), 0),
                    Taking::Out,
                    figures,
                ),
                HoldStep::Retake => self
                    .shard_counter(booking.event_id, take, Taking::Out, figures)
                    .condition_expression(format!(
                        "attribute_exists(pk) AND attribute_not_exists({DELETED_AT}) \
                         AND {DATE_MS} > :now AND {AVAILABLE_TICKETS} >= :q"
                    ))
                    .expression_attribute_values(":now", n(now.timestamp_millis()))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    ),
                HoldStep::Expire | HoldStep::Cancel => {
                    self.shard_counter(booking.event_id, take, Taking::Back, figures)
                }
            };
            let shard = shard.build().map_err(request_error)?;
            request = request.transact_items(TransactWriteItem::builder().update(shard).build());
        }
        let tickets_change = match step {
            HoldStep::Confirm => None,
            HoldStep::Retake => Some(quantity),
            HoldStep::Expire | HoldStep::Cancel => Some(-quantity),
        };
        if let Some(change) = tickets_change {
            request = request.transact_items(self.user_tickets_change(
                booking.user_id,
                booking.event_id,
                change,
                None,
            )?);
        }
        request =
            request.transact_items(self.booking_count_change(booking.user_id, Some(from), to)?);
        if to == BookingStatus::Confirmed {
            request = request.transact_items(self.day_sales(booking, now)?);
        }
        if let Some(mail) = mail {
            request = request.transact_items(self.mail_put(mail)?);
        }
        if let Err(err) = request.send().await {
            let reasons = cancellation_reasons(err)?;
            let failed =
                |r: Option<&CancellationReason>| reason_code(r) == "ConditionalCheckFailed";
            if failed(reasons.first()) {
                return Err(StoreError::StatusChanged);
            }
            if let Some(shard) = reasons
                .iter()
                .skip(1)
                .take(shards)
                .find(|r| failed(Some(r)))
            {
                let old = shard.item().filter(|i| !i.is_empty());
                let bookable = old.is_some_and(|item| {
                    !item.contains_key(DELETED_AT)
                        && number(item, DATE_MS)
                            .is_some_and(|ms| ms as i64 > now.timestamp_millis())
                });
                return Err(if bookable {
                    StoreError::InsufficientTickets
                } else {
                    StoreError::EventNotBookable
                });
            }
            return Err(unexpected("moving a hold", &reasons));
        }
        let mut moved = booking.clone();
        moved.status = to;
        moved.payment = Some(payment.clone());
        match to {
            BookingStatus::Confirmed => moved.confirmed_at = Some(now),
            BookingStatus::Cancelled => moved.cancelled_at = Some(now),
            BookingStatus::Pending | BookingStatus::Expired => {}
        }
        Ok(moved)
    }

    async fn record_payment(
        &self,
        booking: &Booking,
        payment: &Payment,
        refund: Option<&Refund>,
        next_due: Option<DateTime<Utc>>,
    ) -> StoreResult<Booking> {
        let mut set = vec!["#payment = :payment"];
        let mut remove = Vec::new();
        let mut update = self
            .client()
            .await
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::booking(booking.id))))
            .expression_attribute_names("#payment", attr::PAYMENT)
            .expression_attribute_names("#refund", attr::REFUND)
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_names("#queuePk", MAILS_DUE.partition_key)
            .expression_attribute_names("#queueSk", MAILS_DUE.sort_key)
            .expression_attribute_values(":payment", to_attribute(payment)?);
        // Conditioned on what was read: the payment's status and the refund's (or none).
        let mut conditions = Vec::new();
        match &booking.payment {
            Some(was) => {
                conditions.push("#payment.#status = :wasPayment");
                update =
                    update.expression_attribute_values(":wasPayment", to_attribute(&was.status)?);
            }
            None => conditions.push("attribute_not_exists(#payment)"),
        }
        match &booking.refund {
            Some(was) => {
                conditions.push("#refund.#status = :wasRefund");
                update =
                    update.expression_attribute_values(":wasRefund", to_attribute(&was.status)?);
            }
            None => conditions.push("attribute_not_exists(#refund)"),
        }
        match refund {
            Some(refund) => {
                set.push("#refund = :refund");
                update = update.expression_attribute_values(":refund", to_attribute(refund)?);
            }
            None => remove.push("#refund"),
        }
        match next_due {
            Some(due) => {
                set.push("#queuePk = :queuePk");
                set.push("#queueSk = :queueSk");
                let [(_, pk), (_, sk)] = queue_keys(booking.id, due);
                update = update
                    .expression_attribute_values(":queuePk", pk)
                    .expression_attribute_values(":queueSk", sk);
            }
            None => {
                remove.push("#queuePk");
                remove.push("#queueSk");
            }
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let update = update
            .update_expression(expression)
            .condition_expression(conditions.join(" AND "));
        match self.update_or_old(update).await? {
            None => Ok(Booking {
                payment: Some(payment.clone()),
                refund: refund.cloned(),
                ..booking.clone()
            }),
            Some(_) => Err(StoreError::StatusChanged),
        }
    }

    async fn payment_work_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<BookingId>> {
        let ids = self
            .due_in_queue((0..MAIL_QUEUE_SHARDS).map(keys::payments_due), now, limit)
            .await?;
        ids.iter()
            .map(|id| {
                id.parse().map_err(|_| {
                    StoreError::Corrupt("a malformed booking id in the payment queue".into())
                })
            })
            .collect()
    }

    async fn event_holds(
        &self,
        event: EventId,
        shards: u16,
        limit: usize,
    ) -> StoreResult<Vec<Booking>> {
        let client = self.client().await;
        let per_shard = i32::try_from(limit.max(1)).unwrap_or(i32::MAX);
        let queries = (0..shards).map(|k| {
            client
                .query()
                .table_name(&self.table)
                .index_name(ATTENDEES_BY_EVENT.name)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", ATTENDEES_BY_EVENT.partition_key)
                .expression_attribute_values(":pk", s(keys::holds(event, k)))
                .limit(per_shard)
                .send()
        });
        let mut holds = Vec::new();
        for page in futures::future::join_all(queries).await {
            for item in page.map_err(classify)?.items.unwrap_or_default() {
                holds.push(decode::<Booking>(item)?);
            }
        }
        holds.sort_by_key(|b| b.id);
        holds.truncate(limit);
        Ok(holds)
    }

    async fn remember_webhook(&self, event_id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut item = key(keys::webhook(event_id));
        item.insert(TTL_ATTRIBUTE.into(), n((now + WEBHOOKS_KEPT).timestamp()));
        let result = self
            .client()
            .await
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        Ok(conditional(result)?.is_some())
    }
}
