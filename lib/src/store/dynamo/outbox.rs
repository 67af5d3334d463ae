//! The outbox on DynamoDB: one item per mail, written in its cause's transaction, queued in the
//! sparse `MAILS_DUE` index until a worker marks it done.

use super::*;
use crate::domain::mail::{LeasedMail, MailKind, OutboxMail, MAIL_QUEUE_SHARDS};

const PENDING: &str = "pending";
const LEASED: &str = "leased";
const DONE: &str = "done";

/// The index sort key of an entry due at `due`: fixed-width epoch ms, so text order is time
/// order.
pub(super) fn due_key(due: DateTime<Utc>, id: &str) -> String {
    format!("{:013}#{id}", due.timestamp_millis().max(0))
}

/// A mail's id can be written once.
const NEW_MAIL: &str = "attribute_not_exists(pk)";

/// A new mail's item: pending, due from its writing, in the waiting-mail index.
fn mail_item(mail: &OutboxMail) -> StoreResult<Item> {
    let kind = serde_json::to_string(&mail.kind).map_err(|e| StoreError::Corrupt(Cause::new(e)))?;
    let mut item = key(keys::mail(&mail.id));
    item.insert(attr::MAIL.into(), s(kind));
    item.insert(attr::STATUS.into(), s(PENDING));
    item.insert(
        attr::CREATED_AT.into(),
        n(mail.created_at.timestamp_millis()),
    );
    item.insert(attr::DUE.into(), n(mail.created_at.timestamp_millis()));
    item.insert(attr::ATTEMPTS.into(), n(0));
    item.insert(
        MAILS_DUE.partition_key.into(),
        s(keys::mails_due(mail.queue_shard())),
    );
    item.insert(
        MAILS_DUE.sort_key.into(),
        s(due_key(mail.created_at, &mail.id)),
    );
    Ok(item)
}

impl DynamoStore {
    /// Ids of up to `limit` entries due at `now` in these partitions of the queue index
    /// (mails, or bookings with payment work), oldest first: one query per partition.
    pub(super) async fn due_in_queue(
        &self,
        partitions: impl Iterator<Item = String>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<String>> {
        let client = self.client().await;
        let upper = format!("{:013}#~", now.timestamp_millis().max(0));
        let per_shard = i32::try_from(limit.max(1)).unwrap_or(i32::MAX);
        let queries = partitions.map(|partition| {
            client
                .query()
                .table_name(&self.table)
                .index_name(MAILS_DUE.name)
                .key_condition_expression("#pk = :pk AND #sk <= :upper")
                .expression_attribute_names("#pk", MAILS_DUE.partition_key)
                .expression_attribute_names("#sk", MAILS_DUE.sort_key)
                .expression_attribute_values(":pk", s(partition))
                .expression_attribute_values(":upper", s(&upper))
                .limit(per_shard)
                .send()
        });
        let mut due = Vec::new();
        for page in futures::future::join_all(queries).await {
            for item in page.map_err(classify)?.items.unwrap_or_default() {
                if let Some(AttributeValue::S(sk)) = item.get(MAILS_DUE.sort_key) {
                    if let Some((at, id)) = sk.split_once('#') {
                        due.push((at.to_owned(), id.to_owned()));
                    }
                }
            }
        }
        due.sort();
        Ok(due.into_iter().take(limit).map(|(_, id)| id).collect())
    }

    /// The put of a new mail, for its cause's transaction (its id can be written once).
    pub(super) fn mail_put(&self, mail: &OutboxMail) -> StoreResult<TransactWriteItem> {
        self.put(mail_item(mail)?, NEW_MAIL)
    }

    /// A leased mail's update, on condition that the lease is still this one.
    async fn leased_update(&self, mail: &LeasedMail) -> UpdateItemFluentBuilder {
        self.client()
            .await
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::mail(&mail.mail.id))))
            .condition_expression("#status = :leased AND #lease = :lease")
            .expression_attribute_names("#status", attr::STATUS)
            .expression_attribute_names("#lease", attr::LEASE)
            .expression_attribute_values(":leased", s(LEASED))
            .expression_attribute_values(":lease", s(&mail.lease))
    }

    async fn send_leased(&self, request: UpdateItemFluentBuilder) -> StoreResult<()> {
        match self.update_or_old(request).await? {
            None => Ok(()),
            Some(_) => Err(StoreError::Contention("the mail's lease was lost".into())),
        }
    }
}

fn decode_mail(item: &Item) -> StoreResult<(OutboxMail, u32)> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("mail item: {what}").into());
    let id = match item.get(PARTITION_KEY) {
        Some(AttributeValue::S(pk)) => pk.strip_prefix("MAIL#").ok_or_else(|| corrupt("key"))?,
        _ => return Err(corrupt("key")),
    };
    let kind: MailKind = match item.get(attr::MAIL) {
        Some(AttributeValue::S(json)) => serde_json::from_str(json).map_err(|_| corrupt("kind"))?,
        _ => return Err(corrupt("kind")),
    };
    let created_at = number(item, attr::CREATED_AT)
        .and_then(|ms| DateTime::from_timestamp_millis(ms as i64))
        .ok_or_else(|| corrupt("createdAt"))?;
    let attempts = number(item, attr::ATTEMPTS).unwrap_or(0) as u32;
    Ok((
        OutboxMail {
            id: id.to_owned(),
            kind,
            created_at,
        },
        attempts,
    ))
}

#[async_trait]
impl MailStore for DynamoStore {
    async fn enqueue_mail(&self, mail: &OutboxMail) -> StoreResult<()> {
        // One conditional put; an id already there is the same cause, left as it is.
        let result = self
            .client()
            .await
            .put_item()
            .table_name(&self.table)
            .set_item(Some(mail_item(mail)?))
            .condition_expression(NEW_MAIL)
            .send()
            .await;
        conditional(result)?;
        Ok(())
    }

    async fn due_mails(&self, now: DateTime<Utc>, limit: usize) -> StoreResult<Vec<String>> {
        self.due_in_queue((0..MAIL_QUEUE_SHARDS).map(keys::mails_due), now, limit)
            .await
    }

    async fn lease_mail(
        &self,
        id: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Option<LeasedMail>> {
        let lease = ulid::Ulid::new().to_string();
        let result = self
            .client()
            .await
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::mail(id))))
            .update_expression(
                "SET #status = :leased, #lease = :lease, #due = :until, #sk = :sk, \
                 #attempts = #attempts + :one",
            )
            .condition_expression("attribute_exists(pk) AND #status <> :done AND #due <= :now")
            .set_expression_attribute_names(names(&[
                ("#status", attr::STATUS),
                ("#lease", attr::LEASE),
                ("#due", attr::DUE),
                ("#sk", MAILS_DUE.sort_key),
                ("#attempts", attr::ATTEMPTS),
            ]))
            .set_expression_attribute_values(values(vec![
                (":leased", s(LEASED)),
                (":lease", s(&lease)),
                (":until", n(until.timestamp_millis())),
                (":sk", s(due_key(until, id))),
                (":one", n(1)),
                (":done", s(DONE)),
                (":now", n(now.timestamp_millis())),
            ]))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await;
        let Some(out) = conditional(result)? else {
            return Ok(None);
        };
        let (mail, attempts) = decode_mail(&out.attributes.unwrap_or_default())?;
        Ok(Some(LeasedMail {
            mail,
            attempts,
            lease,
        }))
    }

    async fn finish_mail(&self, mail: &LeasedMail, now: DateTime<Utc>) -> StoreResult<()> {
        let request = self
            .leased_update(mail)
            .await
            .update_expression("SET #status = :done, #ttl = :expires REMOVE #lease, #pk6, #sk6")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_names("#pk6", MAILS_DUE.partition_key)
            .expression_attribute_names("#sk6", MAILS_DUE.sort_key)
            .expression_attribute_values(":done", s(DONE))
            .expression_attribute_values(":expires", n((now + MAILS_KEPT).timestamp()));
        self.send_leased(request).await
    }

    async fn retry_mail(&self, mail: &LeasedMail, due: DateTime<Utc>) -> StoreResult<()> {
        let request = self
            .leased_update(mail)
            .await
            .update_expression("SET #status = :pending, #due = :due, #sk6 = :sk REMOVE #lease")
            .expression_attribute_names("#due", attr::DUE)
            .expression_attribute_names("#sk6", MAILS_DUE.sort_key)
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":due", n(due.timestamp_millis()))
            .expression_attribute_values(":sk", s(due_key(due, &mail.mail.id)));
        self.send_leased(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::mail::queue_shard;

    #[test]
    fn due_keys_sort_as_times_do() {
        let early = DateTime::from_timestamp_millis(999).unwrap();
        let late = DateTime::from_timestamp_millis(1_700_000_000_000).unwrap();
        assert!(due_key(early, "b") < due_key(late, "a"));
        assert!(due_key(late, "zzz") <= format!("{:013}#~", late.timestamp_millis()));
        assert_eq!(queue_shard("x"), queue_shard("x"));
    }
}
