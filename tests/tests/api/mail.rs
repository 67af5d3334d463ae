//! The contract's Mail section and the account rules that mail carries (verification, reset,
//! change, the lock's notice), on both backends, through the real SES stand-in
//! (aws-ses-v2-local): each mail arrives once, with its link or its tickets.

use base64::Engine;
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use ticketing::account_tokens::{AccountToken, StoredToken, TokenKeys, TokenPurpose};
use ticketing::config::Config;
use ticketing::ids::UserId;
use ticketing::mail::MailWorker;
use ticketing_tests::mail::{deliver_until, shared_ses, token_in, SentMail, SesLocal};
use ticketing_tests::{on_both_backends, Backend, TestApp, PASSWORD};

const NEW_PASSWORD: &str = "Another9Horse";

/// Registers a user through the API: (email, access token, refresh token, user id).
async fn register(app: &TestApp) -> (String, String, String, String) {
    let email = app.next_email();
    let reply = app
        .call(
            "POST",
            "/api/v1/auth/register",
            None,
            Some(json!({ "email": email, "password": PASSWORD, "name": "Mae <Jemison>" })),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.raw);
    let data = &reply.body["data"];
    assert_eq!(data["user"]["emailVerified"], false);
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    (
        email,
        text(&data["accessToken"]),
        text(&data["refreshToken"]),
        text(&data["user"]["id"]),
    )
}

async fn login(app: &TestApp, email: &str, password: &str) -> ticketing_tests::Reply {
    app.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({ "email": email, "password": password })),
    )
    .await
}

async fn post(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> ticketing_tests::Reply {
    app.call("POST", &format!("/api/v1/auth/{path}"), token, Some(body))
        .await
}

/// Passes until a pass finds nothing due: every mail written so far has been dealt with.
async fn drain_all(worker: &MailWorker) {
    for _ in 0..50 {
        let pass = worker.drain().await.unwrap();
        if pass.sent + pass.skipped + pass.failed == 0 {
            return;
        }
    }
    panic!("the outbox never emptied");
}

async fn mail_app(backend: Backend) -> (TestApp, MailWorker, &'static SesLocal) {
    let app = TestApp::new(backend).await;
    let ses = shared_ses().await;
    let worker = ses.worker(&app.state);
    (app, worker, ses)
}

async fn registering_sends_one_verification_that_verifies_once(backend: Backend) {
    let (app, worker, ses) = mail_app(backend).await;
    let (email, access, _, _) = register(&app).await;
    let mails = deliver_until(ses, &worker, &email, 1).await;
    let mail = &mails[0];
    assert!(
        mail.subject.to_lowercase().contains("verify"),
        "{}",
        mail.subject
    );
    let site = &app.state.config.mail.site_url;
    assert!(
        mail.text.contains(&format!("{site}/verify-email?token=")),
        "{}",
        mail.text
    );
    // The name is escaped in the HTML part, as it is: text in the text part.
    assert!(mail.html.contains("Mae &lt;Jemison&gt;"), "{}", mail.html);
    assert!(mail.text.contains("Mae <Jemison>"));
    let token = token_in(mail);

    let verified = post(&app, "email/verify", None, json!({ "token": token })).await;
    assert_eq!(verified.status, 200, "{}", verified.raw);
    assert_eq!(verified.body["data"]["user"]["emailVerified"], true);
    let me = app
        .call("GET", "/api/v1/auth/me", Some(&access), None)
        .await;
    assert_eq!(me.body["data"]["user"]["emailVerified"], true);
    // Single use.
    post(&app, "email/verify", None, json!({ "token": token }))
        .await
        .expect(400, "INVALID_TOKEN");
    // Sent once, however often the worker passes.
    drain_all(&worker).await;
    drain_all(&worker).await;
    assert_eq!(ses.mails_to(&email).await.len(), 1);
}

async fn verification_tokens_refuse_garbage_older_and_expired(backend: Backend) {
    let (app, worker, ses) = mail_app(backend).await;
    let (email, access, _, user_id) = register(&app).await;
    let first = token_in(&deliver_until(ses, &worker, &email, 1).await[0]);
    post(&app, "email/verify/resend", None, json!({}))
        .await
        .expect(401, "UNAUTHORIZED");
    let resent = post(&app, "email/verify/resend", Some(&access), json!({})).await;
    assert_eq!(resent.status, 202, "{}", resent.raw);
    assert_eq!(resent.body["data"], Value::Null);
    let second = token_in(&deliver_until(ses, &worker, &email, 2).await[1]);
    assert_ne!(first, second);

    let (user, secret) = second.split_once('.').unwrap();
    let flipped = format!(
        "{user}.{}{}",
        if secret.starts_with('A') { 'B' } else { 'A' },
        &secret[1..]
    );
    let other_user = format!("{}.{secret}", UserId::new());
    for garbage in [
        first.as_str(),
        "",
        "not-a-token",
        user,
        &flipped,
        &other_user,
        &second[..second.len() - 1],
    ] {
        post(&app, "email/verify", None, json!({ "token": garbage }))
            .await
            .expect(400, "INVALID_TOKEN");
    }
    post(&app, "email/verify", None, json!({}))
        .await
        .expect(400, "VALIDATION_ERROR");

    // An expired token (its hash current, its time past) is refused too.
    let keys = TokenKeys::new(&app.state.config.jwt.refresh_secret);
    let id: UserId = user_id.parse().unwrap();
    let stale = AccountToken::derive(&keys, TokenPurpose::VerifyEmail, id, "stale-mail");
    let past = Utc::now() - Duration::hours(25);
    app.state
        .store
        .set_account_token(
            id,
            TokenPurpose::VerifyEmail,
            &StoredToken::of(&stale, TokenPurpose::VerifyEmail, past),
        )
        .await
        .unwrap();
    post(
        &app,
        "email/verify",
        None,
        json!({ "token": stale.encode() }),
    )
    .await
    .expect(400, "INVALID_TOKEN");
    // Setting it superseded the mailed one as well: a resend's link is the only live one.
    post(&app, "email/verify", None, json!({ "token": second }))
        .await
        .expect(400, "INVALID_TOKEN");
}

async fn forgot_answers_alike_and_mails_only_an_account(backend: Backend) {
    let (app, worker, ses) = mail_app(backend).await;
    let (email, _, _, _) = register(&app).await;
    deliver_until(ses, &worker, &email, 1).await;
    let nobody = app.next_email();
    let known = post(&app, "password/forgot", None, json!({ "email": email })).await;
    let unknown = post(&app, "password/forgot", None, json!({ "email": nobody })).await;
    assert_eq!(known.status, 202, "{}", known.raw);
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    assert_eq!(known.body["data"], Value::Null);
    post(
        &app,
        "password/forgot",
        None,
        json!({ "email": "not an address" }),
    )
    .await
    .expect(400, "VALIDATION_ERROR");
    let mails = deliver_until(ses, &worker, &email, 2).await;
    assert_eq!(mails[1].subject, "Reset your password");
    let site = &app.state.config.mail.site_url;
    assert!(mails[1]
        .text
        .contains(&format!("{site}/reset-password?token=")));
    drain_all(&worker).await;
    assert!(ses.mails_to(&nobody).await.is_empty());
}

/// Five wrong passwords lock the address: (its refresh tokens so far).
async fn lock(app: &TestApp, email: &str) {
    for _ in 0..5 {
        login(app, email, "Wrong1Password")
            .await
            .expect(401, "INVALID_CREDENTIALS");
    }
    login(app, email, PASSWORD)
        .await
        .expect(429, "ACCOUNT_LOCKED");
}

async fn a_reset_ends_every_session_lifts_the_lock_and_works_once(backend: Backend) {
    let (app, worker, ses) = mail_app(backend).await;
    let (email, _, first_refresh, user_id) = register(&app).await;
    deliver_until(ses, &worker, &email, 1).await;
    let second_refresh = login(&app, &email, PASSWORD).await.body["data"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    lock(&app, &email).await;
    // More failures while locked send no second notice.
    login(&app, &email, "Wrong1Password")
        .await
        .expect(429, "ACCOUNT_LOCKED");
    let mails = deliver_until(ses, &worker, &email, 2).await;
    assert!(mails[1].subject.contains("locked"), "{}", mails[1].subject);

    post(&app, "password/forgot", None, json!({ "email": email })).await;
    let older = token_in(&deliver_until(ses, &worker, &email, 3).await[2]);
    post(&app, "password/forgot", None, json!({ "email": email })).await;
    let token = token_in(&deliver_until(ses, &worker, &email, 4).await[3]);
    // A newer request made the older link invalid.
    post(
        &app,
        "password/reset",
        None,
        json!({ "token": older, "password": NEW_PASSWORD }),
    )
    .await
    .expect(400, "INVALID_TOKEN");
    let weak = post(
        &app,
        "password/reset",
        None,
        json!({ "token": token, "password": "weak" }),
    )
    .await;
    weak.expect(400, "VALIDATION_ERROR");
    assert_eq!(weak.field_errors(), ["password"]);

    let reset = post(
        &app,
        "password/reset",
        None,
        json!({ "token": token, "password": NEW_PASSWORD }),
    )
    .await;
    assert_eq!(reset.status, 200, "{}", reset.raw);
    assert_eq!(reset.body["data"]["user"]["id"], user_id.as_str());
    post(
        &app,
        "password/reset",
        None,
        json!({ "token": token, "password": "Third3Password" }),
    )
    .await
    .expect(400, "INVALID_TOKEN");
    // Every session ended; the lock is lifted; the new password is the one.
    for refresh in [&first_refresh, &second_refresh] {
        app.with_refresh_token("refresh", refresh)
            .await
            .expect(401, "UNAUTHORIZED");
    }
    login(&app, &email, PASSWORD)
        .await
        .expect(401, "INVALID_CREDENTIALS");
    let fresh = login(&app, &email, NEW_PASSWORD).await;
    assert_eq!(fresh.status, 200, "{}", fresh.raw);
    let refresh = fresh.body["data"]["refreshToken"].as_str().unwrap();
    assert_eq!(app.with_refresh_token("refresh", refresh).await.status, 200);

    // An expired reset token is refused.
    let keys = TokenKeys::new(&app.state.config.jwt.refresh_secret);
    let id: UserId = user_id.parse().unwrap();
    let stale = AccountToken::derive(&keys, TokenPurpose::ResetPassword, id, "stale");
    let past = Utc::now() - Duration::minutes(31);
    let stored = StoredToken::of(&stale, TokenPurpose::ResetPassword, past);
    app.state
        .store
        .set_account_token(id, TokenPurpose::ResetPassword, &stored)
        .await
        .unwrap();
    post(
        &app,
        "password/reset",
        None,
        json!({ "token": stale.encode(), "password": NEW_PASSWORD }),
    )
    .await
    .expect(400, "INVALID_TOKEN");
    drain_all(&worker).await;
    assert_eq!(
        ses.mails_to(&email).await.len(),
        4,
        "one notice per lock, one mail per request"
    );
}

async fn an_unknown_address_is_locked_alike_and_mailed_nothing(backend: Backend) {
    let (app, worker, ses) = mail_app(backend).await;
    let nobody = app.next_email();
    lock(&app, &nobody).await;
    drain_all(&worker).await;
    assert!(ses.mails_to(&nobody).await.is_empty());
}

async fn changing_the_password_ends_the_other_sessions(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (email, _, first_refresh, _) = register(&app).await;
    let second = login(&app, &email, PASSWORD).await;
    let access = second.body["data"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let second_refresh = second.body["data"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let change =
        |current: &str, new: &str| json!({ "currentPassword": current, "newPassword": new });
    post(
        &app,
        "password/change",
        None,
        change(PASSWORD, NEW_PASSWORD),
    )
    .await
    .expect(401, "UNAUTHORIZED");
    post(
        &app,
        "password/change",
        Some(&access),
        change("Wrong1Password", NEW_PASSWORD),
    )
    .await
    .expect(401, "INVALID_CREDENTIALS");
    let weak = post(
        &app,
        "password/change",
        Some(&access),
        change(PASSWORD, "weak"),
    )
    .await;
    weak.expect(400, "VALIDATION_ERROR");
    assert_eq!(weak.field_errors(), ["newPassword"]);

    let changed = post(
        &app,
        "password/change",
        Some(&access),
        change(PASSWORD, NEW_PASSWORD),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.raw);
    assert!(changed
        .header("set-cookie")
        .is_some_and(|c| c.starts_with("refreshToken=")));
    let new_refresh = changed.body["data"]["refreshToken"].as_str().unwrap();
    for old in [&first_refresh, &second_refresh] {
        app.with_refresh_token("refresh", old)
            .await
            .expect(401, "UNAUTHORIZED");
    }
    assert_eq!(
        app.with_refresh_token("refresh", new_refresh).await.status,
        200
    );
    login(&app, &email, PASSWORD)
        .await
        .expect(401, "INVALID_CREDENTIALS");
    assert_eq!(login(&app, &email, NEW_PASSWORD).await.status, 200);
}

fn png_attachments(mail: &SentMail) -> Vec<String> {
    mail.attachments
        .iter()
        .filter(|a| {
            a["contentType"]
                .as_str()
                .unwrap_or_default()
                .contains("image/png")
        })
        .filter_map(|a| {
            a["cid"]
                .as_str()
                .or(a["contentId"].as_str())
                .map(str::to_owned)
        })
        .collect()
}

async fn a_booking_mails_its_tickets_and_a_cancel_says_so(backend: Backend) {
    let (app, worker, ses) = mail_app(backend).await;
    let admin = app.admin_token().await;
    let event = app
        .create_event(
            &admin,
            json!({ "name": "Harbour Lights Gala", "totalTickets": 10 }),
        )
        .await;
    let (email, access, _, _) = register(&app).await;
    let key = uuid::Uuid::new_v4().to_string();
    let booked = app.book(&access, &key, &event, 2).await;
    assert_eq!(booked.status, 201, "{}", booked.raw);
    let numbers: Vec<String> = booked.body["data"]["ticketNumbers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    let mails = deliver_until(ses, &worker, &email, 2).await;
    let confirmation = mails
        .iter()
        .find(|m| m.subject.contains("confirmed"))
        .expect("a confirmation");
    assert!(
        confirmation.subject.contains("Harbour Lights Gala"),
        "{}",
        confirmation.subject
    );
    for number in &numbers {
        assert!(
            confirmation.text.contains(number.as_str()),
            "{}",
            confirmation.text
        );
    }
    let images = png_attachments(confirmation);
    assert_eq!(images.len(), 2, "{:?}", confirmation.attachments);
    // Each image is the QR code of one of the booking's signed ticket codes.
    let codes: Vec<String> = booked.body["data"]["tickets"]
        .as_array()
        .expect("a confirmed booking's tickets")
        .iter()
        .map(|t| t["code"].as_str().unwrap().to_owned())
        .collect();
    let sent: Vec<&str> = confirmation
        .attachments
        .iter()
        .filter_map(|a| a["content"].as_str())
        .collect();
    for code in &codes {
        let png = ticketing::mail::qr::png(code).unwrap();
        let encoded = base64::engine::general_purpose::STANDARD.encode(png);
        assert!(
            sent.contains(&encoded.as_str()),
            "no image of ticket code {code}"
        );
    }
    for cid in &images {
        let cid = cid.trim_matches(['<', '>']);
        assert!(
            confirmation.html.contains(&format!("cid:{cid}")),
            "{cid}: {}",
            confirmation.html
        );
    }
    // A replay of the booking mails nothing more.
    app.book(&access, &key, &event, 2).await;
    let id = booked.body["data"]["id"].as_str().unwrap();
    let cancelled = app
        .call(
            "PATCH",
            &format!("/api/v1/bookings/{id}/cancel"),
            Some(&access),
            None,
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.raw);
    let mails = deliver_until(ses, &worker, &email, 3).await;
    let notice = &mails[2];
    assert!(
        notice.subject.contains("Harbour Lights Gala")
            && notice.subject.to_lowercase().contains("cancelled")
    );
    assert!(notice.text.contains(&numbers[0]));
    drain_all(&worker).await;
    assert_eq!(ses.mails_to(&email).await.len(), 3);
}

async fn a_deployment_can_require_verified_addresses_to_book(backend: Backend) {
    let mut config = Config::for_tests();
    config.require_verified_email = true;
    let app = TestApp::with_config(backend, config).await;
    let ses = shared_ses().await;
    let worker = ses.worker(&app.state);
    let admin = app.admin_token().await;
    let event = app.create_event(&admin, json!({ "totalTickets": 5 })).await;
    let (email, access, _, _) = register(&app).await;
    let refused = app
        .book(&access, &uuid::Uuid::new_v4().to_string(), &event, 1)
        .await;
    refused.expect(403, "FORBIDDEN");
    assert!(
        refused.body["message"].as_str().unwrap().contains("verify"),
        "{}",
        refused.raw
    );
    let token = token_in(&deliver_until(ses, &worker, &email, 1).await[0]);
    assert_eq!(
        post(&app, "email/verify", None, json!({ "token": token }))
            .await
            .status,
        200
    );
    assert_eq!(
        app.book(&access, &uuid::Uuid::new_v4().to_string(), &event, 1)
            .await
            .status,
        201
    );
}

on_both_backends!(
    registering_sends_one_verification_that_verifies_once,
    verification_tokens_refuse_garbage_older_and_expired,
    forgot_answers_alike_and_mails_only_an_account,
    a_reset_ends_every_session_lifts_the_lock_and_works_once,
    an_unknown_address_is_locked_alike_and_mailed_nothing,
    changing_the_password_ends_the_other_sessions,
    a_booking_mails_its_tickets_and_a_cancel_says_so,
    a_deployment_can_require_verified_addresses_to_book,
);

/// SES down: every request still answers, nothing is lost, and once SES is back each mail goes
/// out once — also with two workers passing at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mail_waits_out_an_ses_outage_and_goes_out_once() {
    let app = TestApp::new(Backend::Real).await;
    let mut ses = SesLocal::start().await;
    let worker = ses.worker(&app.state);
    let other = ses.worker(&app.state);
    ses.stop();
    let mut addresses = Vec::new();
    for _ in 0..6 {
        addresses.push(register(&app).await.0);
    }
    let pass = worker.drain().await.unwrap();
    assert!(pass.failed >= 6 && pass.sent == 0, "{pass:?}");
    ses.resume().await;
    let started = std::time::Instant::now();
    loop {
        let (a, b) = tokio::join!(worker.drain(), other.drain());
        a.unwrap();
        b.unwrap();
        let mut all = true;
        for address in &addresses {
            all &= ses.mails_to(address).await.len() == 1;
        }
        if all {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 30,
            "mail did not go out within 30 s of SES returning"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    drain_all(&worker).await;
    for address in &addresses {
        assert_eq!(ses.mails_to(address).await.len(), 1, "{address}");
    }
}

/// A worker that dies holding mails (leased, not sent) loses none: they are due again when its
/// lease ends, and the next worker sends each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_crash_mid_batch_loses_nothing() {
    let app = TestApp::new(Backend::Real).await;
    let ses = shared_ses().await;
    let mut addresses = Vec::new();
    for _ in 0..4 {
        addresses.push(register(&app).await.0);
    }
    let store = &app.state.store;
    let now = Utc::now();
    let due = store.due_mails(now, 100).await.unwrap();
    // The crashed worker: it leased these for 2 s, then died.
    let mut held = 0;
    for id in &due {
        if store
            .lease_mail(id, now, now + Duration::seconds(2))
            .await
            .unwrap()
            .is_some()
        {
            held += 1;
        }
    }
    assert!(held >= 4, "{held} of {}", due.len());
    // Held, they are not due for another worker (nor leasable a second time).
    assert!(store
        .lease_mail(&due[0], Utc::now(), Utc::now() + Duration::seconds(20))
        .await
        .unwrap()
        .is_none());
    let worker = ses.worker(&app.state);
    for address in &addresses {
        deliver_until(ses, &worker, address, 1).await;
    }
    drain_all(&worker).await;
    for address in &addresses {
        assert_eq!(ses.mails_to(address).await.len(), 1, "{address}");
    }
}
