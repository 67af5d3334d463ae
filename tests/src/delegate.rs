//! The store traits a test wrapper passes straight through to its `inner` store, written once.

/// Implements `UserStore`, `SessionStore`, `MailStore` and `CheckoutStore` for `$wrapper` by calling
/// `self.inner` (an `Arc<dyn Store>`): the wrappers change bookings and events only.
#[macro_export]
macro_rules! delegate_accounts_and_mail {
    ($wrapper:ty) => {
        const _: () = {
            use ::chrono::{DateTime, Utc};
            use ::ticketing::account_tokens::{StoredToken, TokenPurpose};
            use ::ticketing::domain::lockout::LoginFailures;
            use ::ticketing::domain::mail::{LeasedMail, OutboxMail};
            use ::ticketing::domain::{Email, Role, User};
            use ::ticketing::ids::UserId;
            use ::ticketing::store::{
                MailStore, Rotation, SessionRecord, SessionStore, StoreResult, UserStore,
            };

            #[::async_trait::async_trait]
            impl UserStore for $wrapper {
                async fn create_user(
                    &self,
                    user: &User,
                    mail: Option<&OutboxMail>,
                ) -> StoreResult<()> {
                    self.inner.create_user(user, mail).await
                }
                async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
                    self.inner.user_by_id(id).await
                }
                async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
                    self.inner.user_by_email(email).await
                }
                async fn set_role(&self, id: UserId, role: Role) -> StoreResult<()> {
                    self.inner.set_role(id, role).await
                }
                async fn login_failures(&self, address: &str) -> StoreResult<(LoginFailures, u64)> {
                    self.inner.login_failures(address).await
                }
                async fn put_login_failures(
                    &self,
                    address: &str,
                    failures: &LoginFailures,
                    version: u64,
                    mail: Option<&OutboxMail>,
                ) -> StoreResult<()> {
                    self.inner
                        .put_login_failures(address, failures, version, mail)
                        .await
                }
                async fn clear_login_failures(&self, address: &str) -> StoreResult<()> {
                    self.inner.clear_login_failures(address).await
                }
                async fn set_account_token(
                    &self,
                    user: UserId,
                    purpose: TokenPurpose,
                    token: &StoredToken,
                ) -> StoreResult<()> {
                    self.inner.set_account_token(user, purpose, token).await
                }
                async fn verify_email(
                    &self,
                    user: UserId,
                    hash: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<User> {
                    self.inner.verify_email(user, hash, now).await
                }
                async fn reset_password(
                    &self,
                    user: UserId,
                    address: &str,
                    hash: &str,
                    password_hash: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<User> {
                    self.inner
                        .reset_password(user, address, hash, password_hash, now)
                        .await
                }
                async fn change_password(
                    &self,
                    user: UserId,
                    current_hash: &str,
                    password_hash: &str,
                ) -> StoreResult<User> {
                    self.inner
                        .change_password(user, current_hash, password_hash)
                        .await
                }
            }

            #[::async_trait::async_trait]
            impl SessionStore for $wrapper {
                async fn open_session(&self, session: &SessionRecord) -> StoreResult<()> {
                    self.inner.open_session(session).await
                }
                async fn rotate_session(
                    &self,
                    family: &str,
                    presented: &str,
                    next: &str,
                    expires_at: DateTime<Utc>,
                    now: DateTime<Utc>,
                ) -> StoreResult<Rotation> {
                    self.inner
                        .rotate_session(family, presented, next, expires_at, now)
                        .await
                }
                async fn revoke_session(&self, family: &str) -> StoreResult<()> {
                    self.inner.revoke_session(family).await
                }
            }

            #[::async_trait::async_trait]
            impl MailStore for $wrapper {
                async fn enqueue_mail(&self, mail: &OutboxMail) -> StoreResult<()> {
                    self.inner.enqueue_mail(mail).await
                }
                async fn due_mails(
                    &self,
                    now: DateTime<Utc>,
                    limit: usize,
                ) -> StoreResult<Vec<String>> {
                    self.inner.due_mails(now, limit).await
                }
                async fn lease_mail(
                    &self,
                    id: &str,
                    now: DateTime<Utc>,
                    until: DateTime<Utc>,
                ) -> StoreResult<Option<LeasedMail>> {
                    self.inner.lease_mail(id, now, until).await
                }
                async fn finish_mail(
                    &self,
                    mail: &LeasedMail,
                    now: DateTime<Utc>,
                ) -> StoreResult<()> {
                    self.inner.finish_mail(mail, now).await
                }
                async fn retry_mail(
                    &self,
                    mail: &LeasedMail,
                    due: DateTime<Utc>,
                ) -> StoreResult<()> {
                    self.inner.retry_mail(mail, due).await
                }
            }

            #[::async_trait::async_trait]
            impl ::ticketing::store::CheckoutStore for $wrapper {
                async fn move_hold(
                    &self,
                    booking: &::ticketing::domain::Booking,
                    step: ::ticketing::store::HoldStep,
                    payment: &::ticketing::domain::payment::Payment,
                    now: DateTime<Utc>,
                    mail: Option<&OutboxMail>,
                ) -> StoreResult<::ticketing::domain::Booking> {
                    self.inner
                        .move_hold(booking, step, payment, now, mail)
                        .await
                }
                async fn record_payment(
                    &self,
                    booking: &::ticketing::domain::Booking,
                    payment: &::ticketing::domain::payment::Payment,
                    refund: Option<&::ticketing::domain::payment::Refund>,
                    next_due: Option<DateTime<Utc>>,
                ) -> StoreResult<::ticketing::domain::Booking> {
                    self.inner
                        .record_payment(booking, payment, refund, next_due)
                        .await
                }
                async fn payment_work_due(
                    &self,
                    now: DateTime<Utc>,
                    limit: usize,
                ) -> StoreResult<Vec<::ticketing::ids::BookingId>> {
                    self.inner.payment_work_due(now, limit).await
                }
                async fn event_holds(
                    &self,
                    event: ::ticketing::ids::EventId,
                    shards: u16,
                    limit: usize,
                ) -> StoreResult<Vec<::ticketing::domain::Booking>> {
                    self.inner.event_holds(event, shards, limit).await
                }
                async fn remember_webhook(
                    &self,
                    event_id: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    self.inner.remember_webhook(event_id, now).await
                }
            }
        };
    };
}
