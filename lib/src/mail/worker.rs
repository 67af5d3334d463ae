//! The outbox worker: leases due mails, works out what each says, hands it to SES and marks it
//! done — or due again a little later when SES (or the store) failed. Locally a background task
//! of `ticketing-local`; in AWS the mailer function, woken by the table's stream and a schedule.

use super::render::{Message, RenderError, Renderer};
use super::ses::{Mailer, SendError};
use crate::account_tokens::{AccountToken, StoredToken, TokenKeys, TokenPurpose};
use crate::domain::mail::{retry_delay, LeasedMail, MailKind, OutboxMail};
use crate::domain::Email;
use crate::store::{Store, StoreError};
use crate::ticket_codes::TicketSigner;
use chrono::Utc;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;

/// How long a worker holds a mail: another takes it over only after this (a crash).
pub const LEASE: chrono::Duration = chrono::Duration::seconds(20);
/// Mails one pass takes at most, and how many are sent at once.
const BATCH: usize = 50;
const IN_FLIGHT: usize = 4;

/// What became of one mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Its cause names nobody to write to (no account has the address): done without a mail.
    NobodyToWrite,
    /// Done already, or another worker holds it.
    NotDue,
    /// SES or the store failed: due again after a back-off.
    Failed,
}

#[derive(Debug, thiserror::Error)]
enum ComposeError {
    #[error("reading the mail's cause")]
    Store(#[from] StoreError),
    #[error("rendering the mail")]
    Render(#[from] RenderError),
}

#[derive(Debug, thiserror::Error)]
enum DeliveryError {
    #[error(transparent)]
    Compose(#[from] ComposeError),
    #[error(transparent)]
    Send(#[from] SendError),
}

/// Counts of one pass over the due mails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub skipped: usize,
    pub failed: usize,
}

#[derive(Clone)]
pub struct MailWorker {
    store: Arc<dyn Store>,
    mailer: Arc<dyn Mailer>,
    from: String,
    site_url: String,
    keys: TokenKeys,
    signer: Arc<TicketSigner>,
}

impl MailWorker {
    pub fn new(state: &crate::AppState, mailer: Arc<dyn Mailer>) -> Self {
        Self {
            store: state.store.clone(),
            mailer,
            from: state.config.mail.from.clone(),
            site_url: state.config.mail.site_url.clone(),
            keys: TokenKeys::new(&state.config.jwt.refresh_secret),
            signer: state.tickets.clone(),
        }
    }

    /// Delivers mail `id` if it is due: at most one worker at a time holds it.
    pub async fn deliver(&self, id: &str) -> Result<Delivery, StoreError> {
        let now = Utc::now();
        let Some(leased) = self.store.lease_mail(id, now, now + LEASE).await? else {
            return Ok(Delivery::NotDue);
        };
        let kind = kind_name(&leased.mail.kind);
        match self.send(&leased).await {
            Ok(sent) => {
                if let Err(e) = self.store.finish_mail(&leased, Utc::now()).await {
                    // SES has it: the next worker will send it again. The one repeat the
                    // contract allows, logged so it can be told apart.
                    tracing::warn!(mail_id = %id, kind, error = %crate::cause::Chain(&e),
                        "a delivered mail could not be marked done: it may go out twice");
                    return Err(e);
                }
                if sent {
                    tracing::info!(mail_id = %id, kind, "mail delivered");
                    Ok(Delivery::Sent)
                } else {
                    tracing::info!(mail_id = %id, kind, "mail has nobody to write to");
                    Ok(Delivery::NobodyToWrite)
                }
            }
            Err(e) => {
                let due = Utc::now() + retry_delay(leased.attempts);
                tracing::warn!(mail_id = %id, kind, attempts = leased.attempts + 1, %due,
                    error = %crate::cause::Chain(&e), "mail not delivered: will try again");
                self.store.retry_mail(&leased, due).await?;
                Ok(Delivery::Failed)
            }
        }
    }

    /// Composes and sends a leased mail; `false` when there is nobody to send it to.
    async fn send(&self, leased: &LeasedMail) -> Result<bool, DeliveryError> {
        let Some(message) = self.compose(&leased.mail).await? else {
            return Ok(false);
        };
        self.mailer.send(&self.from, &message).await?;
        Ok(true)
    }

    /// What the mail says, worked out now: tokens are derived from the mail's id (the same on
    /// every delivery of it) and made the user's current ones before the mail goes out.
    async fn compose(&self, mail: &OutboxMail) -> Result<Option<Message>, ComposeError> {
        let render = Renderer {
            site_url: &self.site_url,
        };
        let now = Utc::now();
        Ok(match &mail.kind {
            MailKind::Verification { user_id } => {
                let Some(user) = self.store.user_by_id(*user_id).await? else {
                    return Ok(None);
                };
                if user.email_verified {
                    return Ok(None);
                }
                let token = self
                    .issue(TokenPurpose::VerifyEmail, user.id, mail, now)
                    .await?;
                Some(render.verification(&user, &token)?)
            }
            MailKind::PasswordReset { address } => {
                let Some(user) = self.account_of(address).await? else {
                    return Ok(None);
                };
                let token = self
                    .issue(TokenPurpose::ResetPassword, user.id, mail, now)
                    .await?;
                Some(render.password_reset(&user, &token)?)
            }
            MailKind::AccountLocked { address, until } => {
                let Some(user) = self.account_of(address).await? else {
                    return Ok(None);
                };
                Some(render.account_locked(&user, *until)?)
            }
            MailKind::BookingConfirmed { booking_id }
            | MailKind::BookingCancelled { booking_id } => {
                let Some(booking) = self.store.booking_by_id(*booking_id).await? else {
                    return Ok(None);
                };
                let (Some(user), Some(event)) = (
                    self.store.user_by_id(booking.user_id).await?,
                    self.store.event_by_id(booking.event_id).await?,
                ) else {
                    return Ok(None);
                };
                if matches!(mail.kind, MailKind::BookingConfirmed { .. }) {
                    Some(render.booking_confirmed(&user, &booking, &event, &self.signer)?)
                } else {
                    // A paid booking's refund is recorded by the cancel that sends this.
                    let refund = booking.refund.as_ref().map(|r| r.amount);
                    Some(render.booking_cancelled(&user, &booking, &event, refund)?)
                }
            }
        })
    }

    async fn account_of(&self, address: &str) -> Result<Option<crate::domain::User>, StoreError> {
        match Email::parse(address) {
            Ok(email) => self.store.user_by_email(&email).await,
            Err(_) => Ok(None),
        }
    }

    /// The mail's token, made the user's current one for `purpose` (from now on).
    async fn issue(
        &self,
        purpose: TokenPurpose,
        user: crate::domain::ids::UserId,
        mail: &OutboxMail,
        now: chrono::DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let token = AccountToken::derive(&self.keys, purpose, user, &mail.id);
        self.store
            .set_account_token(user, purpose, &StoredToken::of(&token, purpose, now))
            .await?;
        Ok(token.encode())
    }

    /// One pass over the mails due now.
    pub async fn drain(&self) -> Result<Pass, StoreError> {
        let due = self.store.due_mails(Utc::now(), BATCH).await?;
        let outcomes: Vec<_> = futures::stream::iter(due)
            .map(|id| async move { self.deliver(&id).await })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        let mut pass = Pass::default();
        for outcome in outcomes {
            match outcome {
                Ok(Delivery::Sent) => pass.sent += 1,
                Ok(Delivery::NobodyToWrite | Delivery::NotDue) => pass.skipped += 1,
                Ok(Delivery::Failed) | Err(_) => pass.failed += 1,
            }
        }
        Ok(pass)
    }

    /// Passes forever: at once again after a full batch, else after `idle`.
    pub async fn run(self, idle: Duration) {
        loop {
            let busy = match self.drain().await {
                Ok(pass) => pass.sent + pass.skipped + pass.failed >= BATCH,
                Err(e) => {
                    tracing::warn!(error = %crate::cause::Chain(&e), "the mail worker could not read the outbox");
                    false
                }
            };
            if !busy {
                tokio::time::sleep(idle).await;
            }
        }
    }
}

fn kind_name(kind: &MailKind) -> &'static str {
    match kind {
        MailKind::Verification { .. } => "verification",
        MailKind::PasswordReset { .. } => "password_reset",
        MailKind::AccountLocked { .. } => "account_locked",
        MailKind::BookingConfirmed { .. } => "booking_confirmed",
        MailKind::BookingCancelled { .. } => "booking_cancelled",
    }
}
