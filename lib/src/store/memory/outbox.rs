//! The outbox in memory: the same states and conditions as on DynamoDB.

use super::*;
use crate::domain::mail::{LeasedMail, MailState, OutboxMail};

pub(super) struct MemoryMail {
    mail: OutboxMail,
    state: MailState,
    attempts: u32,
    lease: Option<String>,
}

impl Inner {
    /// Adds a mail written with its cause (an id already there is the same cause: kept).
    pub(super) fn enqueue(&mut self, mail: Option<&OutboxMail>) {
        let Some(mail) = mail else { return };
        self.mails
            .entry(mail.id.clone())
            .or_insert_with(|| MemoryMail {
                mail: mail.clone(),
                state: MailState::Pending {
                    due: mail.created_at,
                },
                attempts: 0,
                lease: None,
            });
    }

    fn leased(&mut self, mail: &LeasedMail) -> StoreResult<&mut MemoryMail> {
        self.mails
            .get_mut(&mail.mail.id)
            .filter(|m| m.lease.as_deref() == Some(mail.lease.as_str()))
            .filter(|m| matches!(m.state, MailState::Leased { .. }))
            .ok_or_else(|| StoreError::Contention("the mail's lease was lost".into()))
    }
}

fn due_at(state: MailState) -> Option<DateTime<Utc>> {
    match state {
        MailState::Pending { due } => Some(due),
        MailState::Leased { until } => Some(until),
        MailState::Done => None,
    }
}

#[async_trait]
impl MailStore for MemoryStore {
    async fn enqueue_mail(&self, mail: &OutboxMail) -> StoreResult<()> {
        self.lock().enqueue(Some(mail));
        Ok(())
    }

    async fn due_mails(&self, now: DateTime<Utc>, limit: usize) -> StoreResult<Vec<String>> {
        let inner = self.lock();
        let mut due: Vec<_> = inner
            .mails
            .values()
            .filter_map(|m| due_at(m.state).filter(|at| *at <= now).map(|at| (at, m)))
            .map(|(at, m)| (at, m.mail.id.clone()))
            .collect();
        due.sort();
        Ok(due.into_iter().take(limit).map(|(_, id)| id).collect())
    }

    async fn lease_mail(
        &self,
        id: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Option<LeasedMail>> {
        let mut inner = self.lock();
        let Some(stored) = inner.mails.get_mut(id) else {
            return Ok(None);
        };
        if due_at(stored.state).is_none_or(|at| at > now) {
            return Ok(None);
        }
        let lease = ulid::Ulid::new().to_string();
        let attempts = stored.attempts;
        stored.state = MailState::Leased { until };
        stored.attempts += 1;
        stored.lease = Some(lease.clone());
        Ok(Some(LeasedMail {
            mail: stored.mail.clone(),
            attempts,
            lease,
        }))
    }

    async fn finish_mail(&self, mail: &LeasedMail, _now: DateTime<Utc>) -> StoreResult<()> {
        let mut inner = self.lock();
        let stored = inner.leased(mail)?;
        stored.state = MailState::Done;
        stored.lease = None;
        Ok(())
    }

    async fn retry_mail(&self, mail: &LeasedMail, due: DateTime<Utc>) -> StoreResult<()> {
        let mut inner = self.lock();
        let stored = inner.leased(mail)?;
        stored.state = MailState::Pending { due };
        stored.lease = None;
        Ok(())
    }
}
