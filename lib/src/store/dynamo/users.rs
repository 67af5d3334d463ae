//! Users: one item per account plus an e-mail uniqueness item, written together.

use super::*;
use crate::account_tokens::{StoredToken, TokenPurpose};
use crate::domain::lockout::LoginFailures;

#[async_trait]
impl UserStore for DynamoStore {
    async fn create_user(&self, user: &User, mail: Option<&OutboxMail>) -> StoreResult<()> {
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
        let mut request = self
            .client()
            .await
            .transact_write_items()
            .transact_items(put(email_item)?)
            .transact_items(put(user_item)?);
        if let Some(mail) = mail {
            request = request.transact_items(self.mail_put(mail)?);
        }
        let result = request.send().await;
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

    async fn login_failures(&self, address: &str) -> StoreResult<(LoginFailures, u64)> {
        let Some(item) = self.get(keys::login_failures(address)).await? else {
            return Ok((LoginFailures::default(), 0));
        };
        let at = |ms: i64| {
            DateTime::<Utc>::from_timestamp_millis(ms)
                .ok_or_else(|| StoreError::Corrupt("login failures with a bad time".into()))
        };
        let recent = match item.get(attr::RECENT_FAILURES) {
            Some(AttributeValue::L(list)) => list
                .iter()
                .map(|v| match v {
                    AttributeValue::N(ms) => ms
                        .parse()
                        .map_err(|_| StoreError::Corrupt("login failure time".into()))
                        .and_then(at),
                    _ => Err(StoreError::Corrupt("login failure time".into())),
                })
                .collect::<StoreResult<Vec<_>>>()?,
            _ => Vec::new(),
        };
        let locked_until = number(&item, attr::LOCKED_UNTIL)
            .map(|ms| at(ms as i64))
            .transpose()?;
        let version = number(&item, attr::VERSION)
            .ok_or_else(|| StoreError::Corrupt("login failures without a version".into()))?;
        Ok((
            LoginFailures {
                recent,
                locked_until,
            },
            version,
        ))
    }

    async fn put_login_failures(
        &self,
        address: &str,
        failures: &LoginFailures,
        version: u64,
        mail: Option<&OutboxMail>,
    ) -> StoreResult<()> {
        let mut item = key(keys::login_failures(address));
        let recent = failures
            .recent
            .iter()
            .map(|at| n(at.timestamp_millis()))
            .collect();
        item.insert(attr::RECENT_FAILURES.into(), AttributeValue::L(recent));
        if let Some(until) = failures.locked_until {
            item.insert(attr::LOCKED_UNTIL.into(), n(until.timestamp_millis()));
        }
        item.insert(attr::VERSION.into(), n(version + 1));
        if let Some(expires) = failures.expires_at() {
            item.insert(TTL_ATTRIBUTE.into(), n(expires.timestamp()));
        }
        let (condition, attr_names, attr_values) = if version == 0 {
            ("attribute_not_exists(pk)", None, None)
        } else {
            (
                "#version = :version",
                names(&[("#version", attr::VERSION)]),
                values(vec![(":version", n(version))]),
            )
        };
        let contention =
            || StoreError::Contention("another login failure was recorded meanwhile".into());
        // A failure that does not lock is one conditional put; the one that locks writes its
        // notice in the same transaction, so the notice exists if and only if the lock does.
        let Some(mail) = mail else {
            let result = self
                .client()
                .await
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(condition)
                .set_expression_attribute_names(attr_names)
                .set_expression_attribute_values(attr_values)
                .send()
                .await;
            return conditional(result)?.map(|_| ()).ok_or_else(contention);
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(attr_names)
            .set_expression_attribute_values(attr_values)
            .build()
            .map_err(request_error)?;
        let result = self
            .client()
            .await
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(self.mail_put(mail)?)
            .send()
            .await;
        let Err(err) = result else {
            return Ok(());
        };
        let reasons = cancellation_reasons(err)?;
        if reason_code(reasons.first()) == "ConditionalCheckFailed" {
            return Err(contention());
        }
        Err(unexpected("login failures", &reasons))
    }

    async fn clear_login_failures(&self, address: &str) -> StoreResult<()> {
        self.client()
            .await
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::login_failures(address))))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn set_account_token(
        &self,
        user: UserId,
        purpose: TokenPurpose,
        token: &StoredToken,
    ) -> StoreResult<()> {
        self.set_token(user, purpose, token).await
    }

    async fn verify_email(
        &self,
        user: UserId,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        self.spend_verification(user, hash, now).await
    }

    async fn reset_password(
        &self,
        user: UserId,
        address: &str,
        hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        self.spend_reset(user, address, hash, password_hash, now)
            .await
    }

    async fn change_password(
        &self,
        user: UserId,
        current_hash: &str,
        password_hash: &str,
    ) -> StoreResult<User> {
        self.replace_password(user, current_hash, password_hash)
            .await
    }
}
