//! The contract's "Checkout and payments" through a real localstripe, on both backends: holds,
//! pay-and-confirm, declines, expiry (sweep and on demand) released once, late authorisations
//! with and without tickets left, cancels with one refund under concurrent cancels, webhooks'
//! signatures and duplicates, the per-user limit under concurrent holds.

use axum::body::Body;
use http::Request;
use serde_json::{json, Value};
use std::sync::Arc;
use ticketing::domain::payment::PaymentStatus;
use ticketing::domain::Role;
use ticketing::ids::BookingId;
use ticketing::store::HoldStep;
use ticketing_tests::stripe::{self, CARD_DECLINED, CARD_OK};
use ticketing_tests::{on_both_backends, Backend, Reply, TestApp};
use uuid::Uuid;

async fn app(backend: Backend, hold_seconds: u64) -> TestApp {
    TestApp::with_config(backend, stripe::checkout_config(hold_seconds)).await
}

/// A published paid event with `tickets` tickets (and `extra` fields); its id.
async fn paid_event(app: &TestApp, tickets: u32, extra: Value) -> String {
    let admin = app.admin_token().await;
    let mut body = json!({ "price": 12.5, "totalTickets": tickets, "status": "published" });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.create_event(&admin, body).await
}

async fn hold(app: &TestApp, user: &str, event: &str, quantity: i64) -> Value {
    let reply = app
        .book_carefully(user, &Uuid::new_v4().to_string(), event, quantity)
        .await;
    reply.expect(201, "");
    reply.body["data"].clone()
}

fn intent_of(booking: &Value) -> String {
    booking["payment"]["intentId"].as_str().unwrap().to_owned()
}

async fn confirm(app: &TestApp, user: &str, booking: &Value) -> Reply {
    let id = booking["id"].as_str().unwrap();
    app.call(
        "POST",
        &format!("/api/v1/bookings/{id}/confirm"),
        Some(user),
        None,
    )
    .await
}

async fn show(app: &TestApp, user: &str, booking: &Value) -> Value {
    let id = booking["id"].as_str().unwrap();
    let reply = app
        .call("GET", &format!("/api/v1/bookings/{id}"), Some(user), None)
        .await;
    reply.expect(200, "");
    reply.body["data"].clone()
}

async fn available(app: &TestApp, event: &str) -> u64 {
    app.event(event).await["availableTickets"].as_u64().unwrap()
}

/// Σ quantity of holding and confirmed bookings = total − available, by the organiser's figures.
async fn assert_tickets_add_up(app: &TestApp, event: &str, total: u64) {
    let admin = app.admin_token().await;
    let stats = app
        .call(
            "GET",
            &format!("/api/v1/events/{event}/stats"),
            Some(&admin),
            None,
        )
        .await;
    stats.expect(200, "");
    let data = &stats.body["data"];
    let taken = data["ticketsSold"].as_u64().unwrap() + data["ticketsHeld"].as_u64().unwrap();
    assert_eq!(taken, total - available(app, event).await, "{data}");
}

/// Book → hold (tickets taken, intent made) → confirm before paying (409) → pay → confirm
/// (captured, tickets) → confirm again (same booking, still one capture) → figures.
async fn pay_and_confirm(backend: Backend) {
    let app = app(backend, 600).await;
    let config = app.call("GET", "/api/v1/config", None, None).await;
    assert_eq!(config.body["data"]["payments"]["provider"], "stripe");
    assert_eq!(config.body["data"]["payments"]["currency"], "usd");
    let event = paid_event(&app, 10, json!({})).await;
    let (user, _) = app.quick_user(Role::User).await;
    let booking = hold(&app, &user, &event, 2).await;
    assert_eq!(booking["status"], "pending");
    assert_eq!(booking["payment"]["status"], "requires_payment");
    assert_eq!(booking["payment"]["amount"], 2500);
    assert!(booking["payment"]["clientSecret"]
        .as_str()
        .unwrap()
        .contains("_secret_"));
    assert!(booking["expiresAt"].is_string());
    assert!(booking.get("tickets").is_none());
    assert_eq!(available(&app, &event).await, 8);

    confirm(&app, &user, &booking)
        .await
        .expect(409, "PAYMENT_INCOMPLETE");
    // Another user learns nothing of it.
    let (stranger, _) = app.quick_user(Role::User).await;
    confirm(&app, &stranger, &booking)
        .await
        .expect(404, "NOT_FOUND");

    let intent = intent_of(&booking);
    assert_eq!(
        stripe::pay(&intent, CARD_OK).await.unwrap(),
        "requires_capture"
    );
    let confirmed = confirm(&app, &user, &booking).await;
    confirmed.expect(200, "");
    let data = &confirmed.body["data"];
    assert_eq!(data["status"], "confirmed");
    assert_eq!(data["payment"]["status"], "captured");
    assert!(data["payment"].get("clientSecret").is_none());
    assert!(data["confirmedAt"].is_string());
    assert_eq!(data["tickets"].as_array().unwrap().len(), 2);
    assert_eq!(stripe::intent_status(&intent).await, "succeeded");

    let again = confirm(&app, &user, &booking).await;
    again.expect(200, "");
    assert_eq!(again.body["data"]["payment"]["status"], "captured");
    assert_eq!(available(&app, &event).await, 8);
    assert_tickets_add_up(&app, &event, 10).await;

    // A free event is still booked at once, with no payment.
    let admin = app.admin_token().await;
    let free = app
        .create_event(&admin, json!({ "price": 0, "status": "published" }))
        .await;
    let booked = hold(&app, &user, &free, 1).await;
    assert_eq!(booked["status"], "confirmed");
    assert!(booked.get("payment").is_none());
}

/// A declined card leaves the hold standing and the provider's refusal is reported.
async fn declined_card_leaves_the_hold(backend: Backend) {
    let app = app(backend, 600).await;
    let event = paid_event(&app, 5, json!({})).await;
    let (user, _) = app.quick_user(Role::User).await;
    let booking = hold(&app, &user, &event, 1).await;
    let declined = stripe::pay(&intent_of(&booking), CARD_DECLINED).await;
    assert!(declined.unwrap_err().contains("declined"));
    confirm(&app, &user, &booking)
        .await
        .expect(409, "PAYMENT_INCOMPLETE");
    assert_eq!(show(&app, &user, &booking).await["status"], "pending");
    assert_eq!(available(&app, &event).await, 4);
}

/// A lapsed hold reads `expired` at once, is released exactly once (by a booking that would
/// otherwise be refused, then by the sweep finding nothing left to do), its intent cancelled;
/// it can't be confirmed or cancelled any more.
async fn expiry_releases_exactly_once(backend: Backend) {
    let app = app(backend, 5).await;
    let event = paid_event(&app, 3, json!({})).await;
    let (first, _) = app.quick_user(Role::User).await;
    let (second, _) = app.quick_user(Role::User).await;
    let lapsing = hold(&app, &first, &event, 3).await;
    app.book(&second, &Uuid::new_v4().to_string(), &event, 1)
        .await
        .expect(409, "INSUFFICIENT_TICKETS");
    tokio::time::sleep(std::time::Duration::from_millis(5_300)).await;
    assert_eq!(show(&app, &first, &lapsing).await["status"], "expired");

    // On demand: the refused booking releases the lapsed hold first, and gets its ticket.
    let taken = hold(&app, &second, &event, 1).await;
    assert_eq!(taken["status"], "pending");
    assert_eq!(available(&app, &event).await, 2);
    let checkout = app.state.bookings.checkout().unwrap().clone();
    // Nothing left to release twice, by any number of concurrent sweeps.
    let sweeps = (0..4).map(|_| {
        let checkout = checkout.clone();
        tokio::spawn(async move { checkout.sweep(50).await.unwrap() })
    });
    futures::future::join_all(sweeps).await;
    assert_eq!(available(&app, &event).await, 2);
    assert_tickets_add_up(&app, &event, 3).await;
    let released = show(&app, &first, &lapsing).await;
    assert_eq!(released["status"], "expired");
    assert_eq!(released["payment"]["status"], "voided");
    assert!(released["payment"].get("clientSecret").is_none());
    assert_eq!(
        stripe::intent_status(&intent_of(&lapsing)).await,
        "canceled"
    );
    confirm(&app, &first, &lapsing)
        .await
        .expect(409, "BOOKING_NOT_PAYABLE");
    let id = lapsing["id"].as_str().unwrap();
    app.call(
        "PATCH",
        &format!("/api/v1/bookings/{id}/cancel"),
        Some(&first),
        None,
    )
    .await
    .expect(409, "BOOKING_NOT_CANCELLABLE");
}

/// The sweep releases a lapsed hold by itself, and settles one that was paid but never
/// confirmed (it keeps its tickets and is captured).
async fn the_sweep_releases_and_settles(backend: Backend) {
    let app = app(backend, 5).await;
    let event = paid_event(&app, 4, json!({})).await;
    let (user, _) = app.quick_user(Role::User).await;
    let unpaid = hold(&app, &user, &event, 1).await;
    let paid = hold(&app, &user, &event, 2).await;
    stripe::pay(&intent_of(&paid), CARD_OK).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5_300)).await;
    let checkout = app.state.bookings.checkout().unwrap();
    checkout.sweep(50).await.unwrap();
    assert_eq!(show(&app, &user, &unpaid).await["status"], "expired");
    let settled = show(&app, &user, &paid).await;
    assert_eq!(settled["status"], "confirmed");
    assert_eq!(settled["payment"]["status"], "captured");
    assert_eq!(stripe::intent_status(&intent_of(&paid)).await, "succeeded");
    assert_eq!(available(&app, &event).await, 2);
    assert_tickets_add_up(&app, &event, 4).await;
}

/// A payment authorised after the hold was released: the tickets are taken again if they are
/// still there; if not, the authorisation is voided (never captured) and the answer is
/// HOLD_EXPIRED.
async fn late_authorisation_with_and_without_tickets(backend: Backend) {
    let app = app(backend, 5).await;
    let event = paid_event(&app, 2, json!({})).await;
    let (user, _) = app.quick_user(Role::User).await;
    let lucky = hold(&app, &user, &event, 1).await;
    let unlucky = hold(&app, &user, &event, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(5_300)).await;
    // Released without its void reaching the provider (as if Stripe had been down then).
    for booking in [&lucky, &unlucky] {
        let id: BookingId = booking["id"].as_str().unwrap().parse().unwrap();
        let stored = app.state.store.booking_by_id(id).await.unwrap().unwrap();
        let payment = stored.payment.clone().unwrap();
        assert_eq!(payment.status, PaymentStatus::RequiresPayment);
        app.state
            .store
            .move_hold(
                &stored,
                HoldStep::Expire,
                &payment,
                chrono::Utc::now(),
                None,
            )
            .await
            .unwrap();
    }
    assert_eq!(available(&app, &event).await, 2);
    // Someone else takes one of the two tickets meanwhile.
    let (other, _) = app.quick_user(Role::User).await;
    let admin = app.admin_token().await;
    let _ = admin;
    let taken = hold(&app, &other, &event, 1).await;
    assert_eq!(taken["status"], "pending");

    stripe::pay(&intent_of(&lucky), CARD_OK).await.unwrap();
    let retaken = confirm(&app, &user, &lucky).await;
    retaken.expect(200, "");
    assert_eq!(retaken.body["data"]["status"], "confirmed");
    assert_eq!(stripe::intent_status(&intent_of(&lucky)).await, "succeeded");

    stripe::pay(&intent_of(&unlucky), CARD_OK).await.unwrap();
    confirm(&app, &user, &unlucky)
        .await
        .expect(409, "HOLD_EXPIRED");
    assert_eq!(
        stripe::intent_status(&intent_of(&unlucky)).await,
        "canceled"
    );
    let voided = show(&app, &user, &unlucky).await;
    assert_eq!(voided["status"], "expired");
    assert_eq!(voided["payment"]["status"], "voided");
    assert_eq!(available(&app, &event).await, 0);
    assert_tickets_add_up(&app, &event, 2).await;
}

/// Cancelling a hold gives its tickets back and cancels its intent; cancelling a paid
/// booking — 5 times at once — refunds it exactly once.
async fn cancels_release_and_refund_once(backend: Backend) {
    let app = Arc::new(app(backend, 600).await);
    let event = paid_event(&app, 6, json!({})).await;
    let (user, _) = app.quick_user(Role::User).await;
    let pending = hold(&app, &user, &event, 2).await;
    let id = pending["id"].as_str().unwrap();
    let cancelled = app
        .call(
            "PATCH",
            &format!("/api/v1/bookings/{id}/cancel"),
            Some(&user),
            None,
        )
        .await;
    cancelled.expect(200, "");
    assert_eq!(cancelled.body["data"]["status"], "cancelled");
    assert_eq!(cancelled.body["data"]["payment"]["status"], "voided");
    assert_eq!(
        stripe::intent_status(&intent_of(&pending)).await,
        "canceled"
    );
    assert_eq!(available(&app, &event).await, 6);

    let paid = hold(&app, &user, &event, 3).await;
    stripe::pay(&intent_of(&paid), CARD_OK).await.unwrap();
    confirm(&app, &user, &paid).await.expect(200, "");
    let id = paid["id"].as_str().unwrap().to_owned();
    let cancels = (0..5).map(|_| {
        let (app, user, id) = (app.clone(), user.clone(), id.clone());
        tokio::spawn(async move {
            app.call_carefully(
                "PATCH",
                &format!("/api/v1/bookings/{id}/cancel"),
                Some(&user),
            )
            .await
        })
    });
    let replies: Vec<Reply> = futures::future::join_all(cancels)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let ok: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(ok.len(), 1, "{replies:?}");
    for refused in replies.iter().filter(|r| r.status != 200) {
        refused.expect(409, "BOOKING_NOT_CANCELLABLE");
    }
    let refund = &ok[0].body["data"]["refund"];
    assert_eq!(refund["status"], "succeeded", "{refund}");
    assert_eq!(refund["amount"], json!(37.5));
    assert!(refund["id"].is_string());
    // Any number of sweeps later: still one refund.
    let checkout = app.state.bookings.checkout().unwrap();
    checkout.sweep(50).await.unwrap();
    assert_eq!(stripe::refunds_of(&intent_of(&paid)).await, 1);
    let shown = show(&app, &user, &paid).await;
    assert_eq!(shown["payment"]["status"], "refunded");
    assert_eq!(available(&app, &event).await, 6);
    let admin = app.admin_token().await;
    let stats = app
        .call(
            "GET",
            &format!("/api/v1/events/{event}/stats"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(stats.body["data"]["refunded"], json!(37.5), "{}", stats.raw);
    assert_eq!(stats.body["data"]["grossRevenue"], json!(37.5));
    assert_eq!(stats.body["data"]["netRevenue"].as_f64(), Some(0.0));
}

async fn webhook(app: &TestApp, body: &str, signature: Option<&str>) -> Reply {
    let mut request = Request::builder()
        .method("POST")
        .uri("/api/v1/payments/stripe/webhook")
        .header("content-type", "application/json; charset=utf-8");
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    app.send(request.body(Body::from(body.to_owned())).unwrap())
        .await
}

/// Bad, missing and stale signatures are refused; a good one settles the booking it names,
/// and the same event three times (and events out of order) change nothing more.
async fn webhooks_verify_and_apply_once(backend: Backend) {
    let app = app(backend, 600).await;
    let event = paid_event(&app, 5, json!({})).await;
    let (user, _) = app.quick_user(Role::User).await;
    let booking = hold(&app, &user, &event, 1).await;
    let intent = intent_of(&booking);
    let id = booking["id"].as_str().unwrap();
    let now = chrono::Utc::now().timestamp();
    let evt = format!("evt_{}", Uuid::new_v4().simple());
    let body = stripe::event(
        &evt,
        "payment_intent.amount_capturable_updated",
        &intent,
        id,
    );

    webhook(&app, &body, None)
        .await
        .expect(400, "INVALID_SIGNATURE");
    let forged = ticketing::payments::webhook::sign("whsec_someone_else", body.as_bytes(), now);
    webhook(&app, &body, Some(&forged))
        .await
        .expect(400, "INVALID_SIGNATURE");
    webhook(&app, &body, Some(&stripe::signature(&body, now - 301)))
        .await
        .expect(400, "INVALID_SIGNATURE");
    let tampered = body.replace(id, &BookingId::new().to_string());
    webhook(&app, &tampered, Some(&stripe::signature(&body, now)))
        .await
        .expect(400, "INVALID_SIGNATURE");

    // Signed, but the intent is not paid: the hold stands (the payload is never trusted).
    let early = webhook(&app, &body, Some(&stripe::signature(&body, now))).await;
    early.expect(200, "");
    assert_eq!(show(&app, &user, &booking).await["status"], "pending");

    stripe::pay(&intent, CARD_OK).await.unwrap();
    let evt2 = format!("evt_{}", Uuid::new_v4().simple());
    let paid = stripe::event(
        &evt2,
        "payment_intent.amount_capturable_updated",
        &intent,
        id,
    );
    for _ in 0..3 {
        webhook(&app, &paid, Some(&stripe::signature(&paid, now)))
            .await
            .expect(200, "");
    }
    let settled = show(&app, &user, &booking).await;
    assert_eq!(settled["status"], "confirmed");
    assert_eq!(settled["payment"]["status"], "captured");
    // Out of order: a stale `canceled` after the confirmation changes nothing.
    let evt3 = format!("evt_{}", Uuid::new_v4().simple());
    let stale = stripe::event(&evt3, "payment_intent.canceled", &intent, id);
    webhook(&app, &stale, Some(&stripe::signature(&stale, now)))
        .await
        .expect(200, "");
    assert_eq!(show(&app, &user, &booking).await["status"], "confirmed");
    // Other types are acknowledged.
    let other = stripe::event("evt_other", "customer.created", &intent, id);
    webhook(&app, &other, Some(&stripe::signature(&other, now)))
        .await
        .expect(200, "");
    assert_eq!(available(&app, &event).await, 4);
    assert_eq!(stripe::intent_status(&intent).await, "succeeded");
}

/// `maxTicketsPerUser` holds across holds: 10 concurrent bookings of one ticket by one user
/// under a limit of 4 give exactly 4 holds.
async fn per_user_limit_under_concurrent_holds(backend: Backend) {
    let app = Arc::new(app(backend, 600).await);
    let event = paid_event(&app, 50, json!({ "maxTicketsPerUser": 4 })).await;
    let (user, _) = app.quick_user(Role::User).await;
    let tries = (0..10).map(|_| {
        let (app, user, event) = (app.clone(), user.clone(), event.clone());
        tokio::spawn(async move {
            app.book_carefully(&user, &Uuid::new_v4().to_string(), &event, 1)
                .await
        })
    });
    let replies: Vec<Reply> = futures::future::join_all(tries)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let held = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(held, 4, "{replies:?}");
    for refused in replies.iter().filter(|r| r.status != 201) {
        refused.expect(409, "TICKET_LIMIT_REACHED");
        assert_eq!(refused.body["data"]["remaining"], 0);
    }
    assert_eq!(available(&app, &event).await, 46);
}

on_both_backends!(
    pay_and_confirm,
    declined_card_leaves_the_hold,
    expiry_releases_exactly_once,
    the_sweep_releases_and_settles,
    late_authorisation_with_and_without_tickets,
    cancels_release_and_refund_once,
    webhooks_verify_and_apply_once,
    per_user_limit_under_concurrent_holds,
);
