//! The contract's "Tickets and the door": signed codes on confirmed bookings, each ticket
//! admitted exactly once, and the event's figures, on both backends.

use serde_json::{json, Value};
use std::sync::Arc;
use ticketing::domain::Role;
use ticketing_tests::{on_both_backends, Backend, Reply, TestApp};
use uuid::Uuid;

async fn scan(app: &TestApp, admin: &str, event: &str, code: &str) -> Reply {
    app.call(
        "POST",
        &format!("/api/v1/events/{event}/check-ins"),
        Some(admin),
        Some(json!({ "code": code })),
    )
    .await
}

/// Books `quantity` tickets of `event` for `user`; the 201's booking.
async fn booked(app: &TestApp, user: &str, event: &str, quantity: i64) -> Value {
    let reply = app
        .book(user, &Uuid::new_v4().to_string(), event, quantity)
        .await;
    reply.expect(201, "");
    reply.body["data"].clone()
}

fn codes_of(booking: &Value) -> Vec<String> {
    booking["tickets"]
        .as_array()
        .expect("a confirmed booking carries its tickets")
        .iter()
        .map(|t| t["code"].as_str().unwrap().to_owned())
        .collect()
}

/// Codes name their ticket and are admitted once — also by 20 scanners at once — and every bad
/// case gets its own answer: altered, truncated and forged codes, another event's ticket, a
/// cancelled booking's, an unknown event; a booking with an admitted ticket can't be cancelled.
async fn each_ticket_is_admitted_exactly_once(backend: Backend) {
    let app = Arc::new(TestApp::new(backend).await);
    let admin = app.admin_token().await;
    let (user, _) = app.quick_user(Role::User).await;
    let event = app
        .create_event(&admin, json!({ "totalTickets": 100 }))
        .await;
    let other_event = app.create_event(&admin, json!({})).await;
    let booking = booked(&app, &user, &event, 3).await;
    let tickets = booking["tickets"].as_array().unwrap().clone();
    assert_eq!(tickets.len(), 3);
    for (ticket, number) in tickets
        .iter()
        .zip(booking["ticketNumbers"].as_array().unwrap())
    {
        assert_eq!(&ticket["number"], number);
        assert_eq!(ticket["checkedInAt"], Value::Null);
        let code = ticket["code"].as_str().unwrap();
        assert!(
            code.len() <= 200
                && code
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
    let codes = codes_of(&booking);
    assert_eq!(
        codes.iter().collect::<std::collections::HashSet<_>>().len(),
        3
    );

    // The first scan admits, naming the ticket and its holder; the next says when.
    let first = scan(&app, &admin, &event, &codes[0]).await;
    first.expect(201, "");
    assert_eq!(first.body["data"]["ticketNumber"], tickets[0]["number"]);
    assert_eq!(first.body["data"]["bookingId"], booking["id"]);
    assert_eq!(first.body["data"]["holderName"], "Quick User");
    let at = first.body["data"]["checkedInAt"].clone();
    assert!(at.is_string());
    let again = scan(&app, &admin, &event, &codes[0]).await;
    again.expect(409, "ALREADY_CHECKED_IN");
    assert_eq!(again.body["data"]["checkedInAt"], at);
    // The booking shows it.
    let id = booking["id"].as_str().unwrap();
    let shown = app
        .call("GET", &format!("/api/v1/bookings/{id}"), Some(&user), None)
        .await;
    assert_eq!(shown.body["data"]["tickets"][0]["checkedInAt"], at);
    assert_eq!(shown.body["data"]["tickets"][1]["checkedInAt"], Value::Null);

    // Twenty scanners on one code at once: one admission.
    let scans = (0..20).map(|_| {
        let (app, admin, event, code) =
            (app.clone(), admin.clone(), event.clone(), codes[1].clone());
        async move { scan(&app, &admin, &event, &code).await }
    });
    let replies = futures::future::join_all(scans).await;
    let admitted: Vec<&Reply> = replies.iter().filter(|r| r.status == 201).collect();
    assert_eq!(
        admitted.len(),
        1,
        "{:?}",
        replies.iter().map(|r| &r.raw).collect::<Vec<_>>()
    );
    let when = &admitted[0].body["data"]["checkedInAt"];
    for refused in replies.iter().filter(|r| r.status != 201) {
        refused.expect(409, "ALREADY_CHECKED_IN");
        assert_eq!(&refused.body["data"]["checkedInAt"], when);
    }

    // Codes the server did not issue.
    let code = &codes[2];
    let mut flipped = code.clone().into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let forged = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 98])
    };
    for bad in [
        String::from_utf8(flipped).unwrap(),
        code[..code.len() - 2].to_owned(),
        forged,
        "garbage".to_owned(),
        String::new(),
        "x".repeat(300),
    ] {
        scan(&app, &admin, &event, &bad)
            .await
            .expect(400, "INVALID_TICKET");
    }
    // A genuine ticket at another event's door; an unknown event; not an admin.
    scan(&app, &admin, &other_event, code)
        .await
        .expect(409, "WRONG_EVENT");
    let nowhere = ticketing::ids::EventId::new().to_string();
    scan(&app, &admin, &nowhere, code)
        .await
        .expect(404, "NOT_FOUND");
    scan(&app, &user, &event, code)
        .await
        .expect(403, "FORBIDDEN");
    let missing = app
        .call(
            "POST",
            &format!("/api/v1/events/{event}/check-ins"),
            Some(&admin),
            Some(json!({})),
        )
        .await;
    missing.expect(400, "VALIDATION_ERROR");
    // Still admits: nothing above touched ticket 3.
    scan(&app, &admin, &event, code).await.expect(201, "");

    // A booking with an admitted ticket can't be cancelled.
    let cancel = |id: String| {
        let (app, user) = (app.clone(), user.clone());
        async move {
            app.call(
                "PATCH",
                &format!("/api/v1/bookings/{id}/cancel"),
                Some(&user),
                None,
            )
            .await
        }
    };
    cancel(id.to_owned())
        .await
        .expect(409, "BOOKING_NOT_CANCELLABLE");
    // A cancelled booking's tickets are not valid.
    let later = booked(&app, &user, &event, 1).await;
    let later_code = codes_of(&later).remove(0);
    let cancelled = cancel(later["id"].as_str().unwrap().to_owned()).await;
    cancelled.expect(200, "");
    assert_eq!(
        cancelled.body["data"].get("tickets"),
        None,
        "only confirmed bookings carry tickets"
    );
    scan(&app, &admin, &event, &later_code)
        .await
        .expect(409, "TICKET_NOT_VALID");
}

/// `GET /events/:id/<route>` is refused to a non-admin (403) and is 404 for an unknown event.
async fn admins_only(app: &TestApp, admin: &str, user: &str, event: &str, route: &str) {
    app.call(
        "GET",
        &format!("/api/v1/events/{event}/{route}"),
        Some(user),
        None,
    )
    .await
    .expect(403, "FORBIDDEN");
    let nowhere = ticketing::ids::EventId::new();
    app.call(
        "GET",
        &format!("/api/v1/events/{nowhere}/{route}"),
        Some(admin),
        None,
    )
    .await
    .expect(404, "NOT_FOUND");
}

/// An app whose events of 800 tickets get 8 inventory shards (100 tickets each).
async fn eight_shard_app(backend: Backend) -> Arc<TestApp> {
    let config = ticketing::config::Config {
        shard_rule: ticketing::domain::ShardRule {
            tickets_per_shard: 100,
            max_shards: 8,
        },
        ..ticketing::config::Config::for_tests()
    };
    Arc::new(TestApp::with_config(backend, config).await)
}

/// An event's figures are exact right after a mixed sequence — a concurrent sale on a K = 8
/// event, cancels, admissions — and read from the shards (K items and K day partitions), not
/// from the bookings.
async fn stats_are_exact_after_a_mixed_sequence(backend: Backend) {
    let app = eight_shard_app(backend).await;
    let admin = app.admin_token().await;
    let event = app
        .create_event(&admin, json!({ "totalTickets": 800, "price": 12.5 }))
        .await;
    let (user, _) = app.quick_user(Role::User).await;
    let stats = |app: Arc<TestApp>, admin: String, event: String| async move {
        let reply = app
            .call(
                "GET",
                &format!("/api/v1/events/{event}/stats"),
                Some(&admin),
                None,
            )
            .await;
        reply.expect(200, "");
        reply.body["data"].clone()
    };
    let fresh = stats(app.clone(), admin.clone(), event.clone()).await;
    assert_eq!(fresh["ticketsSold"], 0);
    assert_eq!(fresh["salesByDay"], json!([]));
    assert_eq!(fresh["grossRevenue"].as_f64(), Some(0.0));

    // Forty buyers at once, 1 to 4 tickets each.
    let buyers = (0..40).map(|i| {
        let app = app.clone();
        let event = event.clone();
        async move {
            let (token, _) = app.quick_user(Role::User).await;
            let reply = app
                .book_carefully(&token, &Uuid::new_v4().to_string(), &event, 1 + i % 4)
                .await;
            reply.expect(201, "");
            (token, reply.body["data"].clone())
        }
    });
    let sold: Vec<(String, Value)> = futures::future::join_all(buyers).await;
    let quantity = |b: &Value| b["quantity"].as_i64().unwrap();
    let all_tickets: i64 = sold.iter().map(|(_, b)| quantity(b)).sum();
    // Five cancelled; three tickets admitted (two of one booking).
    let mut cancelled_tickets = 0;
    for (token, booking) in sold.iter().take(5) {
        let id = booking["id"].as_str().unwrap();
        app.call(
            "PATCH",
            &format!("/api/v1/bookings/{id}/cancel"),
            Some(token),
            None,
        )
        .await
        .expect(200, "");
        cancelled_tickets += quantity(booking);
    }
    let admitted: Vec<String> = sold
        .iter()
        .skip(5)
        .filter(|(_, b)| quantity(b) >= 2)
        .take(2)
        .flat_map(|(_, b)| codes_of(b).into_iter().take(2))
        .take(3)
        .collect();
    for code in &admitted {
        scan(&app, &admin, &event, code).await.expect(201, "");
    }
    // One more booking by a known user, then the figures.
    booked(&app, &user, &event, 2).await;
    let all_tickets = all_tickets + 2;
    let figures = stats(app.clone(), admin.clone(), event.clone()).await;
    let gross = all_tickets as f64 * 12.5;
    assert_eq!(figures["ticketsSold"], all_tickets - cancelled_tickets);
    assert_eq!(figures["ticketsHeld"], 0);
    assert_eq!(figures["ticketsCheckedIn"], 3);
    assert_eq!(
        figures["bookings"],
        json!({ "confirmed": 36, "pending": 0, "cancelled": 5, "expired": 0 })
    );
    // Revenue keeps what was cancelled (nothing was refunded: payments are off).
    assert_eq!(figures["grossRevenue"].as_f64(), Some(gross));
    assert_eq!(figures["refunded"].as_f64(), Some(0.0));
    assert_eq!(figures["netRevenue"].as_f64(), Some(gross));
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let days = figures["salesByDay"].as_array().unwrap();
    assert_eq!(days.len(), 1, "{days:?}");
    assert_eq!(days[0]["day"], today);
    assert_eq!(days[0]["tickets"], all_tickets);
    assert_eq!(days[0]["revenue"].as_f64(), Some(gross));
    // The event's own counter agrees.
    assert_eq!(
        app.event(&event).await["availableTickets"],
        800 - (all_tickets - cancelled_tickets)
    );
    // Admins only; an unknown event is 404.
    let (token, _) = &sold[0];
    admins_only(&app, &admin, token, &event, "stats").await;
}

/// The attendee list: a row per ticket of the confirmed bookings (cancelled ones left out) with
/// its holder and admission, paged like events across the K = 8 shards' index partitions, and
/// the whole list as RFC 4180 CSV.
async fn attendees_page_through_every_confirmed_ticket_and_export_as_csv(backend: Backend) {
    let app = eight_shard_app(backend).await;
    let admin = app.admin_token().await;
    let event = app
        .create_event(&admin, json!({ "totalTickets": 800 }))
        .await;
    // A holder whose name needs quoting in CSV.
    let registered = app
        .call(
            "POST",
            "/api/v1/auth/register",
            None,
            Some(json!({ "email": "ada@example.com", "password": ticketing_tests::PASSWORD, "name": "Lovelace, \"Ada\"" })),
        )
        .await;
    registered.expect(201, "");
    let ada = registered.body["data"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let buyers = (0..12).map(|i| {
        let app = app.clone();
        let event = event.clone();
        let ada = ada.clone();
        async move {
            let token = if i == 0 {
                ada
            } else {
                app.quick_user(Role::User).await.0
            };
            let reply = app
                .book_carefully(&token, &Uuid::new_v4().to_string(), &event, 1 + i % 3)
                .await;
            reply.expect(201, "");
            (token, reply.body["data"].clone())
        }
    });
    let sold: Vec<(String, Value)> = futures::future::join_all(buyers).await;
    let (gone_token, gone) = &sold[5];
    let gone_id = gone["id"].as_str().unwrap();
    app.call(
        "PATCH",
        &format!("/api/v1/bookings/{gone_id}/cancel"),
        Some(gone_token),
        None,
    )
    .await
    .expect(200, "");
    let admitted = codes_of(&sold[0].1).remove(0);
    scan(&app, &admin, &event, &admitted).await.expect(201, "");
    // What the list must hold: every ticket of the confirmed bookings, by booking id.
    let mut confirmed: Vec<&Value> = sold
        .iter()
        .map(|(_, b)| b)
        .filter(|b| b["id"] != gone["id"])
        .collect();
    confirmed.sort_by_key(|b| b["id"].as_str().unwrap().to_owned());
    let want: Vec<(String, String)> = confirmed
        .iter()
        .flat_map(|b| {
            b["ticketNumbers"].as_array().unwrap().iter().map(|n| {
                (
                    b["id"].as_str().unwrap().to_owned(),
                    n.as_str().unwrap().to_owned(),
                )
            })
        })
        .collect();

    let mut got = Vec::new();
    for page in 1.. {
        let reply = app
            .call(
                "GET",
                &format!("/api/v1/events/{event}/attendees?limit=5&page={page}"),
                Some(&admin),
                None,
            )
            .await;
        reply.expect(200, "");
        assert_eq!(reply.body["meta"]["total"], want.len());
        let rows = reply.body["data"].as_array().unwrap().clone();
        if rows.is_empty() {
            break;
        }
        for row in rows {
            got.push(row);
        }
    }
    let pairs: Vec<(String, String)> = got
        .iter()
        .map(|r| {
            (
                r["bookingId"].as_str().unwrap().to_owned(),
                r["ticketNumber"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(pairs, want);
    let ada_row = got
        .iter()
        .find(|r| r["holderEmail"] == "ada@example.com")
        .unwrap();
    assert_eq!(ada_row["holderName"], "Lovelace, \"Ada\"");
    assert!(ada_row["checkedInAt"].is_string(), "{ada_row}");
    assert_eq!(
        got.iter().filter(|r| r["checkedInAt"].is_string()).count(),
        1
    );

    // The whole list as CSV.
    let csv = app
        .call_with(
            "GET",
            &format!("/api/v1/events/{event}/attendees"),
            Some(&admin),
            &[("accept", "text/csv")],
            None,
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.raw);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.raw.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "ticketNumber,holderName,holderEmail,bookingId,checkedInAt"
    );
    assert_eq!(lines.len(), want.len() + 1);
    assert!(
        csv.raw
            .contains("\"Lovelace, \"\"Ada\"\"\",ada@example.com,"),
        "{}",
        csv.raw
    );
    // An empty field for a ticket not yet admitted.
    assert!(lines[1..].iter().any(|l| l.ends_with(',')));
    // Admins only; an unknown event is 404; a bad page is 400.
    admins_only(&app, &admin, &ada, &event, "attendees").await;
    app.call(
        "GET",
        &format!("/api/v1/events/{event}/attendees?limit=0"),
        Some(&admin),
        None,
    )
    .await
    .expect(400, "VALIDATION_ERROR");
}

on_both_backends!(
    attendees_page_through_every_confirmed_ticket_and_export_as_csv,
    each_ticket_is_admitted_exactly_once,
    stats_are_exact_after_a_mixed_sequence,
);
