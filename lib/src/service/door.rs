//! The door: a scanned ticket code is checked (signature, event) and its ticket admitted once.

use super::EventService;
use crate::domain::ids::{BookingId, EventId};
use crate::store::{Store, StoreError};
use crate::ticket_codes::TicketSigner;
use crate::AppError;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// A ticket let in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    pub ticket_number: String,
    pub booking_id: BookingId,
    pub holder_name: String,
    pub checked_in_at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct DoorService {
    store: Arc<dyn Store>,
    events: EventService,
    signer: Arc<TicketSigner>,
}

impl DoorService {
    pub fn new(store: Arc<dyn Store>, events: EventService, signer: Arc<TicketSigner>) -> Self {
        Self {
            store,
            events,
            signer,
        }
    }

    /// Admits the ticket `code` names at event `event_id`: 404 for an unknown event, then
    /// `INVALID_TICKET` for a code this server did not sign, `WRONG_EVENT` for another event's
    /// ticket, and the store's one conditional write decides the rest (`ALREADY_CHECKED_IN`,
    /// `TICKET_NOT_VALID`).
    pub async fn check_in(&self, event_id: EventId, code: &str) -> Result<Admission, AppError> {
        // The event must exist: its booking terms say so (cached), without reading its shards,
        // which every scan of a busy door would otherwise do.
        self.events.terms_of(event_id).await?;
        let ticket = self.signer.verify(code).ok_or(AppError::InvalidTicket)?;
        if ticket.event != event_id {
            return Err(AppError::WrongEvent);
        }
        let now = Utc::now();
        let mut tries = 0;
        let booking = loop {
            tries += 1;
            match self
                .store
                .check_in(ticket.booking, ticket.number, now)
                .await
            {
                Ok(booking) => break booking,
                // Signed by us, yet no such booking: nothing that admits anyone.
                Err(StoreError::NotFound) => return Err(AppError::TicketNotValid),
                // Another write on the booking's shard at the same moment (a busy door or box
                // office): the admission is one conditional write, so trying again is safe.
                Err(StoreError::Contention(_)) if tries < super::bookings::MAX_ATTEMPTS => {
                    crate::metric::contention_retry();
                    super::bookings::backoff(tries).await;
                }
                Err(other) => return Err(other.into()),
            }
        };
        let holder_name = self
            .store
            .user_by_id(booking.user_id)
            .await?
            .map(|user| user.name)
            .unwrap_or_default();
        Ok(Admission {
            ticket_number: ticket.ticket_number(),
            booking_id: booking.id,
            holder_name,
            checked_in_at: booking.checked_in_at(ticket.number).unwrap_or(now),
        })
    }
}
