//! Refresh-token families: open, rotate (one conditional write), revoke.

use super::*;

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
        conditional(result)?;
        Ok(())
    }
}
