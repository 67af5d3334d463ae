//! A randomised model test of the checkout: many clients interleave holds, payments (good and
//! declined cards), confirms, cancels, sweeps, expiries and duplicated webhooks against one
//! event, through a real localstripe. After every round Σ quantity of holding and confirmed
//! bookings = total − available; every tenth round also at the provider: no intent is captured
//! unless its booking is (or was, before a refunded cancel) confirmed; no refund but for a
//! cancelled paid booking, and at most one each. At the end, after the sweep has settled what
//! was due: every confirmed paid booking captured once, every cancelled paid booking refunded
//! exactly once, nothing charged that expired.

use axum::body::Body;
use http::Request;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use ticketing::domain::payment::PaymentStatus;
use ticketing::domain::{Booking, BookingStatus, Role};
use ticketing::ids::{BookingId, EventId};
use ticketing_tests::stripe::{self, CARD_DECLINED, CARD_OK};
use ticketing_tests::{on_both_backends, Backend, TestApp};
use uuid::Uuid;

const TOTAL: u32 = 12;
const CLIENTS: usize = 6;

fn rounds(backend: Backend) -> usize {
    let default = match backend {
        Backend::Memory => 300,
        Backend::Real => 120,
    };
    std::env::var("CHECKOUT_MODEL_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(default)
}

/// One client's move, chosen at random.
async fn act(app: &TestApp, user: &str, event: &str, known: &[Value], seed: u64) -> Option<Value> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let pick = |rng: &mut rand::rngs::StdRng| {
        (!known.is_empty()).then(|| known[rng.random_range(0..known.len())].clone())
    };
    match rng.random_range(0..10) {
        0..=2 => {
            let quantity = rng.random_range(1..=3);
            let reply = app
                .book_carefully(user, &Uuid::new_v4().to_string(), event, quantity)
                .await;
            assert!(
                reply.status == 201 || reply.code() == "INSUFFICIENT_TICKETS",
                "{}",
                reply.raw
            );
            (reply.status == 201).then(|| reply.body["data"].clone())
        }
        3 | 4 => {
            let booking = pick(&mut rng)?;
            let card = if rng.random_bool(0.8) {
                CARD_OK
            } else {
                CARD_DECLINED
            };
            let _ = stripe::pay(booking["payment"]["intentId"].as_str()?, card).await;
            None
        }
        5 | 6 => {
            let booking = pick(&mut rng)?;
            let id = booking["id"].as_str()?;
            let reply = app
                .call_carefully(
                    "POST",
                    &format!("/api/v1/bookings/{id}/confirm"),
                    Some(user),
                )
                .await;
            assert!(
                [200, 404, 409].contains(&reply.status.as_u16()),
                "{}",
                reply.raw
            );
            None
        }
        7 => {
            let booking = pick(&mut rng)?;
            let id = booking["id"].as_str()?;
            let reply = app
                .call_carefully(
                    "PATCH",
                    &format!("/api/v1/bookings/{id}/cancel"),
                    Some(user),
                )
                .await;
            assert!(
                [200, 404, 409].contains(&reply.status.as_u16()),
                "{}",
                reply.raw
            );
            None
        }
        8 => {
            // A webhook, sometimes a duplicate of an earlier event id, of a random type.
            let booking = pick(&mut rng)?;
            let kinds = [
                "payment_intent.amount_capturable_updated",
                "payment_intent.succeeded",
                "payment_intent.payment_failed",
            ];
            let kind = kinds[rng.random_range(0..kinds.len())];
            let evt = format!("evt_model_{}", rng.random_range(0..20));
            let body = stripe::event(
                &evt,
                kind,
                booking["payment"]["intentId"].as_str()?,
                booking["id"].as_str()?,
            );
            let signature = stripe::signature(&body, chrono::Utc::now().timestamp());
            for _ in 0..rng.random_range(1..=3) {
                let request = Request::builder()
                    .method("POST")
                    .uri("/api/v1/payments/stripe/webhook")
                    .header("content-type", "application/json")
                    .header("stripe-signature", &signature)
                    .body(Body::from(body.clone()))
                    .unwrap();
                let reply = app.send(request).await;
                assert!(reply.status == 200 || reply.status == 503, "{}", reply.raw);
            }
            None
        }
        _ => {
            let checkout = app.state.bookings.checkout().unwrap();
            let _ = checkout.sweep(50).await;
            None
        }
    }
}

async fn stored(app: &TestApp, ids: &[BookingId]) -> Vec<Booking> {
    let mut out = Vec::new();
    for id in ids {
        out.push(app.state.store.booking_by_id(*id).await.unwrap().unwrap());
    }
    out
}

/// The invariants that hold after every round, whatever is still in flight at the provider;
/// the provider's side (a few calls per booking) every `with_provider`th round.
async fn check(
    app: &TestApp,
    event: EventId,
    ids: &[BookingId],
    round: usize,
    with_provider: bool,
) {
    let bookings = stored(app, ids).await;
    let available = app
        .state
        .store
        .event_by_id(event)
        .await
        .unwrap()
        .unwrap()
        .available_tickets;
    let taken: u32 = bookings
        .iter()
        .filter(|b| matches!(b.status, BookingStatus::Pending | BookingStatus::Confirmed))
        .map(|b| b.quantity)
        .sum();
    assert_eq!(
        taken,
        TOTAL - available,
        "round {round}: Σ held + confirmed"
    );
    if !with_provider {
        return;
    }
    for booking in &bookings {
        let payment = booking.payment.as_ref().unwrap();
        let intent = stripe::intent_status(&payment.intent_id).await;
        let refunds = stripe::refunds_of(&payment.intent_id).await;
        assert!(
            refunds <= 1,
            "round {round}: {} refunded {refunds} times",
            booking.id
        );
        if intent == "succeeded" {
            assert!(
                booking.status == BookingStatus::Confirmed
                    || (booking.status == BookingStatus::Cancelled && booking.refund.is_some()),
                "round {round}: {} charged while {:?}",
                booking.id,
                booking.status
            );
        }
        if refunds == 1 {
            assert_eq!(booking.status, BookingStatus::Cancelled, "round {round}");
        }
        if booking.status == BookingStatus::Expired {
            assert_ne!(
                intent, "succeeded",
                "round {round}: an expired booking was charged"
            );
        }
    }
}

async fn interleaved_checkouts_keep_every_invariant(backend: Backend) {
    let app = Arc::new(TestApp::with_config(backend, stripe::checkout_config(5)).await);
    let admin = app.admin_token().await;
    let event = app
        .create_event(
            &admin,
            serde_json::json!({ "price": 10, "totalTickets": TOTAL, "status": "published" }),
        )
        .await;
    let event_id: EventId = event.parse().unwrap();
    let mut users = Vec::new();
    for _ in 0..CLIENTS {
        users.push(app.quick_user(Role::User).await.0);
    }
    let mut known: HashMap<usize, Vec<Value>> = HashMap::new();
    let mut ids = Vec::new();
    let seed: u64 = rand::rng().random();
    eprintln!("checkout model seed {seed}");
    for round in 0..rounds(backend) {
        let moves = (0..CLIENTS).map(|client| {
            let (app, user, event) = (app.clone(), users[client].clone(), event.clone());
            let mine = known.get(&client).cloned().unwrap_or_default();
            let seed = seed ^ ((round * CLIENTS + client) as u64).wrapping_mul(0x9E37_79B9);
            tokio::spawn(async move { (client, act(&app, &user, &event, &mine, seed).await) })
        });
        for done in futures::future::join_all(moves).await {
            let (client, booking) = done.unwrap();
            if let Some(booking) = booking {
                ids.push(booking["id"].as_str().unwrap().parse().unwrap());
                known.entry(client).or_default().push(booking);
            }
        }
        check(&app, event_id, &ids, round, round % 10 == 9).await;
        if round % 20 == 19 {
            // Let some holds lapse.
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        }
    }
    // Everything due settles: holds lapse, captures, voids and refunds finish.
    tokio::time::sleep(std::time::Duration::from_millis(5_500)).await;
    let checkout = app.state.bookings.checkout().unwrap();
    for _ in 0..3 {
        checkout.sweep(500).await.unwrap();
    }
    check(&app, event_id, &ids, usize::MAX, true).await;
    let bookings = stored(&app, &ids).await;
    for booking in &bookings {
        let payment = booking.payment.as_ref().unwrap();
        let intent = stripe::intent_status(&payment.intent_id).await;
        let refunds = stripe::refunds_of(&payment.intent_id).await;
        match booking.status {
            BookingStatus::Pending => panic!("{} still pending after its hold lapsed", booking.id),
            BookingStatus::Confirmed => {
                assert_eq!(payment.status, PaymentStatus::Captured);
                assert_eq!(intent, "succeeded");
                assert_eq!(refunds, 0);
            }
            BookingStatus::Cancelled if booking.refund.is_some() => {
                assert_eq!(payment.status, PaymentStatus::Refunded, "{}", booking.id);
                assert_eq!(refunds, 1, "{}", booking.id);
            }
            BookingStatus::Cancelled | BookingStatus::Expired => {
                assert_eq!(payment.status, PaymentStatus::Voided, "{}", booking.id);
                assert_eq!(intent, "canceled", "{}", booking.id);
                assert_eq!(refunds, 0);
            }
        }
    }
    let statuses: HashMap<String, usize> = bookings.iter().fold(HashMap::new(), |mut counts, b| {
        *counts.entry(b.status.as_str().to_owned()).or_default() += 1;
        counts
    });
    eprintln!("checkout model: {} bookings, {statuses:?}", bookings.len());
    assert!(bookings.len() >= 10, "too few bookings to mean anything");
}

on_both_backends!(interleaved_checkouts_keep_every_invariant);
