//! `POST /bookings` exactly once per (user, `Idempotency-Key`), answered byte for byte the same.
//!
//! Two layers, as zero-to-production's `idempotency/` does: a fast path in the cache (an
//! in-flight marker while the first request runs, then the finished 201 for quick replays), which
//! fails open; and the durable guard the booking transaction writes (see
//! [`BookingService::book`]), which decides whenever the cache cannot. A lost cache entry can
//! never create a second booking.

use crate::cache::{keys, Cache, CacheError};
use crate::domain::{Booking, Identity, NewBookingRequest};
use crate::metric;
use crate::service::{BookingReply, BookingService};
use crate::ticket_codes::TicketSigner;
use crate::views::{BookingView, Envelope};
use crate::AppError;
use serde::{Deserialize, Serialize};
use std::time::Duration;

const CACHE_DOWN: &str = "idempotency cache unavailable; relying on the durable guard";

/// How long a finished booking's replay stays in the cache (the durable guard keeps it as long).
pub const REPLAY_TTL: Duration = crate::service::bookings::IDEMPOTENCY_TTL;
/// How long an in-flight marker claims its key (`IDEMPOTENCY_KEY_IN_USE`): longer than a booking
/// takes, short enough that a marker its request could not clear (a Redis blip as it finished)
/// or a crashed attempt frees the key soon. The marker is a courtesy, not the safety: a second
/// request that gets past it meets the durable guard, which books the key once.
pub const IN_FLIGHT_TTL: Duration = Duration::from_secs(5);

/// The fast-path record in the cache, per (user, key).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
enum IdempotencyRecord {
    InFlight { fingerprint: String },
    Done { fingerprint: String, body: String },
}

/// The 201 body of a booking: what the guard stores and every replay answers.
fn created_body(booking: &Booking, signer: &TicketSigner) -> String {
    Envelope::ok("Booking created", BookingView::new(booking, signer)).to_json()
}

/// Books once per key, answering a repeat with the first answer.
pub async fn book(
    cache: &dyn Cache,
    bookings: &BookingService,
    signer: &TicketSigner,
    who: Identity,
    request: NewBookingRequest,
) -> Result<BookingReply, AppError> {
    let fingerprint = request.fingerprint();
    let cache_key = keys::idempotency(who.user_id, &request.idempotency_key.to_string());
    let in_flight = serde_json::to_string(&IdempotencyRecord::InFlight {
        fingerprint: fingerprint.clone(),
    })
    .map_err(AppError::internal)?;

    let owns_cache_entry = match cache.set_nx(&cache_key, &in_flight, IN_FLIGHT_TTL).await {
        Ok(true) => true,
        Ok(false) => match cache.get(&cache_key).await {
            Ok(Some(raw)) => match serde_json::from_str::<IdempotencyRecord>(&raw) {
                // The marker may outlive its request (it finished while Redis could not be
                // told): the durable guard decides before the marker is believed.
                Ok(IdempotencyRecord::InFlight { fingerprint: seen }) => {
                    if let Some(reply) = bookings
                        .replay_from_guard(who, &request, &fingerprint)
                        .await?
                    {
                        remember(cache, &cache_key, &fingerprint, &reply).await;
                        return Ok(reply);
                    }
                    return Err(if seen == fingerprint {
                        AppError::IdempotencyKeyInUse
                    } else {
                        AppError::IdempotencyKeyReused
                    });
                }
                Ok(IdempotencyRecord::Done {
                    fingerprint: seen,
                    body,
                }) => {
                    return if seen == fingerprint {
                        Ok(BookingReply {
                            body,
                            replayed: true,
                        })
                    } else {
                        Err(AppError::IdempotencyKeyReused)
                    };
                }
                Err(_) => false,
            },
            // Expired or deleted between the two calls: the durable guard decides.
            Ok(None) => false,
            Err(e) => {
                metric::cache_fail_open(&e, CACHE_DOWN);
                false
            }
        },
        Err(e) => {
            metric::cache_fail_open(&e, CACHE_DOWN);
            false
        }
    };

    // Bookings write inventory only: no cached read (catalog entries, listings) to drop.
    let result = bookings
        .book(who, &request, &fingerprint, &|booking| {
            created_body(booking, signer)
        })
        .await;
    if owns_cache_entry {
        match &result {
            Ok(reply) => remember(cache, &cache_key, &fingerprint, reply).await,
            // A failed request does not consume its key.
            Err(_) => {
                if let Err(e) = cache.delete(&cache_key).await {
                    metric::cache_fail_open(
                        &e,
                        "could not clear the idempotency marker (it lapses by itself)",
                    );
                }
            }
        }
    }
    result
}

/// Records a 201 in the cache for fast replays; the durable guard already holds it.
async fn remember(cache: &dyn Cache, cache_key: &str, fingerprint: &str, reply: &BookingReply) {
    let done = IdempotencyRecord::Done {
        fingerprint: fingerprint.to_owned(),
        body: reply.body.clone(),
    };
    let recorded = match serde_json::to_string(&done) {
        Ok(raw) => cache.set(cache_key, &raw, REPLAY_TTL).await,
        Err(e) => Err(CacheError::new(e)),
    };
    if let Err(e) = recorded {
        metric::cache_fail_open(&e, "could not record the idempotency outcome in the cache");
    }
}
