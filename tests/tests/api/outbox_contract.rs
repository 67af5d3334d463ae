//! The outbox and account-token parts of the store traits, on the memory store and DynamoDB
//! Local alike: leases are exclusive, a lost lease marks nothing, a mail is written with its
//! cause or not at all, and a token is spent once.

use super::store_contract::{attempt, user};
use chrono::{Duration, Utc};
use ticketing::account_tokens::{AccountToken, StoredToken, TokenKeys, TokenPurpose};
use ticketing::config::Secret;
use ticketing::domain::lockout::LoginFailures;
use ticketing::domain::mail::OutboxMail;
use ticketing::domain::EventStatus;
use ticketing::ids::UserId;
use ticketing::store::{BookOutcome, BookingAttempt, Store, StoreError};
use ticketing_tests::{on_both_backends, sample_event, store_for, Backend};

async fn ids_due(store: &dyn Store, at: chrono::DateTime<Utc>) -> Vec<String> {
    store.due_mails(at, 100).await.unwrap()
}

async fn a_lease_is_exclusive_and_only_its_holder_finishes(backend: Backend) {
    let store = store_for(backend).await;
    let now = Utc::now();
    let mail = OutboxMail::password_reset("ada@example.com", now);
    store.enqueue_mail(&mail).await.unwrap();
    store.enqueue_mail(&mail).await.unwrap();
    assert_eq!(ids_due(&*store, now).await, [mail.id.as_str()]);
    // Not due before it was written.
    assert!(ids_due(&*store, now - Duration::seconds(5))
        .await
        .is_empty());

    // Ten workers at once: one lease.
    let tries = (0..10).map(|_| {
        let store = store.clone();
        let id = mail.id.clone();
        tokio::spawn(async move {
            store
                .lease_mail(&id, now, now + Duration::seconds(20))
                .await
        })
    });
    let leases: Vec<_> = futures::future::join_all(tries)
        .await
        .into_iter()
        .filter_map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(leases.len(), 1);
    let held = &leases[0];
    assert_eq!((held.mail.clone(), held.attempts), (mail.clone(), 0));
    assert!(
        ids_due(&*store, now + Duration::seconds(10))
            .await
            .is_empty(),
        "held"
    );

    // Its lease ends (a crash): due again, and a second worker takes it over.
    let later = now + Duration::seconds(21);
    assert_eq!(ids_due(&*store, later).await, [mail.id.as_str()]);
    let second = store
        .lease_mail(&mail.id, later, later + Duration::seconds(20))
        .await
        .unwrap()
        .expect("due again");
    assert_eq!(second.attempts, 1);
    // The first worker, back from the dead, marks nothing.
    assert!(matches!(
        store.finish_mail(held, later).await,
        Err(StoreError::Contention(_))
    ));
    assert!(matches!(
        store.retry_mail(held, later).await,
        Err(StoreError::Contention(_))
    ));
    store.finish_mail(&second, later).await.unwrap();
    let much_later = later + Duration::days(1);
    assert!(ids_due(&*store, much_later).await.is_empty());
    assert_eq!(
        store
            .lease_mail(&mail.id, much_later, much_later + Duration::seconds(20))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.lease_mail("no-such-mail", now, later).await.unwrap(),
        None
    );
}

async fn a_failed_delivery_is_due_again_at_its_time(backend: Backend) {
    let store = store_for(backend).await;
    let now = Utc::now();
    let mail = OutboxMail::verification(UserId::new(), now);
    store.enqueue_mail(&mail).await.unwrap();
    let lease = store
        .lease_mail(&mail.id, now, now + Duration::seconds(20))
        .await
        .unwrap()
        .unwrap();
    let retry_at = now + Duration::minutes(5);
    store.retry_mail(&lease, retry_at).await.unwrap();
    assert!(ids_due(&*store, now + Duration::minutes(4))
        .await
        .is_empty());
    assert_eq!(ids_due(&*store, retry_at).await, [mail.id.as_str()]);
    assert_eq!(
        store
            .lease_mail(&mail.id, now, now + Duration::seconds(20))
            .await
            .unwrap(),
        None,
        "not before its time"
    );
    let again = store
        .lease_mail(&mail.id, retry_at, retry_at + Duration::seconds(20))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.attempts, 1);
}

async fn mails_are_written_with_their_causes_or_not_at_all(backend: Backend) {
    let store = store_for(backend).await;
    let now = Utc::now();
    let ada = user("ada@example.com");
    let welcome = OutboxMail::verification(ada.id, now);
    store.create_user(&ada, Some(&welcome)).await.unwrap();
    // A refused registration writes no mail.
    let twin = user("ada@example.com");
    let twin_mail = OutboxMail::verification(twin.id, now);
    assert_eq!(
        store.create_user(&twin, Some(&twin_mail)).await,
        Err(StoreError::EmailTaken)
    );
    assert_eq!(ids_due(&*store, now).await, [welcome.id.as_str()]);

    let event = sample_event(2, EventStatus::Published, now + Duration::days(3));
    store.create_event(&event).await.unwrap();
    let with_mail = |a: BookingAttempt| {
        let mail = OutboxMail::booking_confirmed(a.booking.id, now);
        BookingAttempt {
            mail: Some(mail),
            ..a
        }
    };
    let first = with_mail(attempt(&event, ada.id, "k1", 2));
    assert_eq!(store.book(&first).await, Ok(BookOutcome::Created));
    // Sold out: refused, and no confirmation for it.
    let refused = with_mail(attempt(&event, ada.id, "k2", 1));
    assert_eq!(
        store.book(&refused).await,
        Err(StoreError::InsufficientTickets)
    );
    // The replay answers as before and writes nothing more.
    assert!(matches!(
        store.book(&first).await,
        Ok(BookOutcome::Replayed { .. })
    ));
    let confirmed = OutboxMail::booking_confirmed(first.booking.id, now).id;
    let mut due = ids_due(&*store, now).await;
    due.sort();
    let mut expected = vec![welcome.id.clone(), confirmed];
    expected.sort();
    assert_eq!(due, expected);

    let notice = OutboxMail::booking_cancelled(first.booking.id, now);
    store
        .cancel_booking(&first.booking, now, Some(&notice), None)
        .await
        .unwrap();
    let again = OutboxMail::booking_cancelled(first.booking.id, now + Duration::seconds(1));
    assert_eq!(
        store
            .cancel_booking(&first.booking, now, Some(&again), None)
            .await,
        Err(StoreError::NotCancellable)
    );
    assert_eq!(ids_due(&*store, now + Duration::seconds(2)).await.len(), 3);

    // A lock's notice goes with the lock's write: a write that loses the race writes none.
    let address = "ada@example.com";
    let failures = LoginFailures {
        recent: vec![],
        locked_until: Some(now + Duration::minutes(15)),
    };
    let lock = OutboxMail::account_locked(address, now + Duration::minutes(15), now);
    store
        .put_login_failures(address, &failures, 0, Some(&lock))
        .await
        .unwrap();
    let stale = OutboxMail::account_locked(address, now + Duration::minutes(16), now);
    assert!(matches!(
        store
            .put_login_failures(address, &failures, 0, Some(&stale))
            .await,
        Err(StoreError::Contention(_))
    ));
    let due = ids_due(&*store, now + Duration::seconds(2)).await;
    assert!(
        due.contains(&lock.id) && !due.contains(&stale.id),
        "{due:?}"
    );
}

async fn account_tokens_are_spent_once_and_end_sessions(backend: Backend) {
    let store = store_for(backend).await;
    let now = Utc::now();
    let ada = user("ada@example.com");
    store.create_user(&ada, None).await.unwrap();
    let keys = TokenKeys::new(&Secret::new("a-secret-of-some-length-0123456789"));
    let token = |purpose, mail: &str| AccountToken::derive(&keys, purpose, ada.id, mail);
    let verify = token(TokenPurpose::VerifyEmail, "m1");
    let stored = StoredToken::of(&verify, TokenPurpose::VerifyEmail, now);
    assert_eq!(
        store
            .set_account_token(UserId::new(), TokenPurpose::VerifyEmail, &stored)
            .await,
        Err(StoreError::NotFound)
    );
    store
        .set_account_token(ada.id, TokenPurpose::VerifyEmail, &stored)
        .await
        .unwrap();
    // A reset token is another purpose's: it does not verify.
    let reset = token(TokenPurpose::ResetPassword, "m2");
    assert_eq!(
        store.verify_email(ada.id, &reset.hash(), now).await,
        Err(StoreError::InvalidToken)
    );
    // Past its lifetime it is refused, though it is the current one.
    let expired_at = now + Duration::hours(25);
    assert_eq!(
        store.verify_email(ada.id, &verify.hash(), expired_at).await,
        Err(StoreError::InvalidToken)
    );
    let verified = store
        .verify_email(ada.id, &verify.hash(), now)
        .await
        .unwrap();
    assert!(verified.email_verified);
    assert_eq!(
        store.verify_email(ada.id, &verify.hash(), now).await,
        Err(StoreError::InvalidToken),
        "spent"
    );

    let address = ada.email.as_str();
    let locked = LoginFailures {
        recent: vec![],
        locked_until: Some(now + Duration::minutes(15)),
    };
    store
        .put_login_failures(address, &locked, 0, None)
        .await
        .unwrap();
    let older = token(TokenPurpose::ResetPassword, "m3");
    for t in [&older, &reset] {
        let stored = StoredToken::of(t, TokenPurpose::ResetPassword, now);
        store
            .set_account_token(ada.id, TokenPurpose::ResetPassword, &stored)
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .reset_password(ada.id, address, &older.hash(), "$2b$10$new", now)
            .await,
        Err(StoreError::InvalidToken),
        "superseded"
    );
    let after = store
        .reset_password(ada.id, address, &reset.hash(), "$2b$10$new", now)
        .await
        .unwrap();
    assert_eq!(
        (after.password_hash.as_str(), after.session_epoch),
        ("$2b$10$new", 1)
    );
    assert_eq!(
        store.login_failures(address).await.unwrap().0,
        LoginFailures::default()
    );
    assert_eq!(
        store
            .reset_password(ada.id, address, &reset.hash(), "$2b$10$other", now)
            .await,
        Err(StoreError::InvalidToken)
    );

    // A change is conditioned on the hash that was checked.
    assert!(matches!(
        store
            .change_password(ada.id, "$2b$10$hash", "$2b$10$x")
            .await,
        Err(StoreError::Contention(_))
    ));
    let changed = store
        .change_password(ada.id, "$2b$10$new", "$2b$10$newer")
        .await
        .unwrap();
    assert_eq!(
        (changed.password_hash.as_str(), changed.session_epoch),
        ("$2b$10$newer", 2)
    );
    assert_eq!(store.user_by_id(ada.id).await.unwrap(), Some(changed));
}

on_both_backends!(
    a_lease_is_exclusive_and_only_its_holder_finishes,
    a_failed_delivery_is_due_again_at_its_time,
    mails_are_written_with_their_causes_or_not_at_all,
    account_tokens_are_spent_once_and_end_sessions,
);
