//! Account tokens and password changes in memory, with the conditions of the DynamoDB writes.

use super::*;
use crate::account_tokens::{StoredToken, TokenPurpose};

/// `TokenPurpose` as a map key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Purpose {
    Verify,
    Reset,
}

impl From<TokenPurpose> for Purpose {
    fn from(purpose: TokenPurpose) -> Self {
        match purpose {
            TokenPurpose::VerifyEmail => Purpose::Verify,
            TokenPurpose::ResetPassword => Purpose::Reset,
        }
    }
}

impl Inner {
    pub(super) fn set_account_token(
        &mut self,
        user: UserId,
        purpose: TokenPurpose,
        token: &StoredToken,
    ) -> StoreResult<()> {
        if !self.users.contains_key(&user) {
            return Err(StoreError::NotFound);
        }
        self.account_tokens
            .insert((user, purpose.into()), token.clone());
        Ok(())
    }

    /// Spends the user's current token for `purpose` if its hash is `hash` and it is unexpired.
    fn spend_token(
        &mut self,
        user: UserId,
        purpose: Purpose,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let current = self
            .account_tokens
            .get(&(user, purpose))
            .filter(|t| t.hash == hash && t.expires_at > now);
        if current.is_none() || !self.users.contains_key(&user) {
            return Err(StoreError::InvalidToken);
        }
        self.account_tokens.remove(&(user, purpose));
        Ok(())
    }

    pub(super) fn verify_email(
        &mut self,
        user: UserId,
        hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        self.spend_token(user, Purpose::Verify, hash, now)?;
        let stored = self.users.get_mut(&user).ok_or(StoreError::InvalidToken)?;
        stored.email_verified = true;
        Ok(stored.clone())
    }

    pub(super) fn reset_password(
        &mut self,
        user: UserId,
        address: &str,
        hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        self.spend_token(user, Purpose::Reset, hash, now)?;
        self.login_failures.remove(address);
        let stored = self.users.get_mut(&user).ok_or(StoreError::InvalidToken)?;
        stored.password_hash = password_hash.to_owned();
        stored.session_epoch += 1;
        Ok(stored.clone())
    }

    pub(super) fn change_password(
        &mut self,
        user: UserId,
        current_hash: &str,
        password_hash: &str,
    ) -> StoreResult<User> {
        let stored = self.users.get_mut(&user).ok_or(StoreError::NotFound)?;
        if stored.password_hash != current_hash {
            return Err(StoreError::Contention(
                "the password changed meanwhile".into(),
            ));
        }
        stored.password_hash = password_hash.to_owned();
        stored.session_epoch += 1;
        Ok(stored.clone())
    }
}
