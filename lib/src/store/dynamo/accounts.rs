//! Account tokens (verification, reset) and password changes: each one conditional write on the
//! user item, so a token is spent once and a password changes from the one that was checked.

use super::*;
use crate::account_tokens::{StoredToken, TokenPurpose};
use aws_sdk_dynamodb::types::{Delete, ReturnValue};

/// The user item's attributes of a purpose's token: its hash and expiry.
fn token_attrs(purpose: TokenPurpose) -> (&'static str, &'static str) {
    match purpose {
        TokenPurpose::VerifyEmail => (attr::VERIFY_TOKEN_HASH, attr::VERIFY_TOKEN_EXPIRES),
        TokenPurpose::ResetPassword => (attr::RESET_TOKEN_HASH, attr::RESET_TOKEN_EXPIRES),
    }
}

const SPEND_CONDITION: &str = "attribute_exists(pk) AND #hash = :hash AND #expires > :now";
const NEXT_EPOCH: &str = "#epoch = if_not_exists(#epoch, :zero) + :one";

impl DynamoStore {
    /// The user as an update left it.
    fn updated_user(&self, attributes: Option<Item>) -> StoreResult<User> {
        decode(attributes.unwrap_or_default())
    }
}

impl DynamoStore {
    pub(super) async fn set_token(
        &self,
        user: UserId,
        purpose: TokenPurpose,
        token: &StoredToken,
    ) -> StoreResult<()> {
        let (hash, expires) = token_attrs(purpose);
        let result = self
            .client()
            .await
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::user(user))))
            .update_expression("SET #hash = :hash, #expires = :expires")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#hash", hash)
            .expression_attribute_names("#expires", expires)
            .expression_attribute_values(":hash", s(&token.hash))
            .expression_attribute_values(":expires", n(token.expires_at.timestamp_millis()))
            .send()
            .await;
        conditional(result)?.ok_or(StoreError::NotFound)?;
        Ok(())
    }

    pub(super) async fn spend_verification(
        &self,
        user: UserId,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        let (hash, expires) = token_attrs(TokenPurpose::VerifyEmail);
        let result = self
            .client()
            .await
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::user(user))))
            .update_expression("SET #verified = :true REMOVE #hash, #expires")
            .condition_expression(SPEND_CONDITION)
            .expression_attribute_names("#verified", attr::EMAIL_VERIFIED)
            .expression_attribute_names("#hash", hash)
            .expression_attribute_names("#expires", expires)
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":hash", s(token_hash))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let out = conditional(result)?.ok_or(StoreError::InvalidToken)?;
        self.updated_user(out.attributes)
    }

    pub(super) async fn spend_reset(
        &self,
        user: UserId,
        address: &str,
        token_hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        let (hash, expires) = token_attrs(TokenPurpose::ResetPassword);
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::user(user))))
            .update_expression(format!(
                "SET #password = :password, {NEXT_EPOCH} REMOVE #hash, #expires"
            ))
            .condition_expression(SPEND_CONDITION)
            .set_expression_attribute_names(names(&[
                ("#password", attr::PASSWORD_HASH),
                ("#epoch", attr::SESSION_EPOCH),
                ("#hash", hash),
                ("#expires", expires),
            ]))
            .set_expression_attribute_values(values(vec![
                (":password", s(password_hash)),
                (":zero", n(0)),
                (":one", n(1)),
                (":hash", s(token_hash)),
                (":now", n(now.timestamp_millis())),
            ]))
            .build()
            .map_err(request_error)?;
        // The lock of the address is lifted in the same step.
        let unlock = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::login_failures(address))))
            .build()
            .map_err(request_error)?;
        let result = self
            .client()
            .await
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().delete(unlock).build())
            .send()
            .await;
        if let Err(err) = result {
            let reasons = cancellation_reasons(err)?;
            if reason_code(reasons.first()) == "ConditionalCheckFailed" {
                return Err(StoreError::InvalidToken);
            }
            return Err(unexpected("password reset", &reasons));
        }
        self.user_by_id(user).await?.ok_or(StoreError::NotFound)
    }

    pub(super) async fn replace_password(
        &self,
        user: UserId,
        current_hash: &str,
        password_hash: &str,
    ) -> StoreResult<User> {
        let result = self
            .client()
            .await
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::user(user))))
            .update_expression(format!("SET #password = :password, {NEXT_EPOCH}"))
            .condition_expression("attribute_exists(pk) AND #password = :current")
            .set_expression_attribute_names(names(&[
                ("#password", attr::PASSWORD_HASH),
                ("#epoch", attr::SESSION_EPOCH),
            ]))
            .set_expression_attribute_values(values(vec![
                (":password", s(password_hash)),
                (":current", s(current_hash)),
                (":zero", n(0)),
                (":one", n(1)),
            ]))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => self.updated_user(out.attributes),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::Contention(
                    "the password changed meanwhile".into(),
                ))
            }
            Err(e) => Err(classify(e)),
        }
    }
}
