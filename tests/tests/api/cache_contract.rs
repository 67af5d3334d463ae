//! One behavioural suite for the cache trait, against the memory cache and redis-server.

use std::time::Duration;
use ticketing::cache::{Cache, RedisCache};
use ticketing_tests::{cache_for, on_both_backends, Backend};

async fn get_set_delete(backend: Backend) {
    let cache = cache_for(backend).await;
    assert_eq!(cache.get("a").await.unwrap(), None);
    cache.set("a", "1", Duration::from_secs(60)).await.unwrap();
    assert_eq!(cache.get("a").await.unwrap().as_deref(), Some("1"));
    cache.set("a", "2", Duration::from_secs(60)).await.unwrap();
    assert_eq!(cache.get("a").await.unwrap().as_deref(), Some("2"));
    cache.delete("a").await.unwrap();
    assert_eq!(cache.get("a").await.unwrap(), None);
    cache.delete("never-set").await.unwrap();
}

async fn set_nx_only_once(backend: Backend) {
    let cache = cache_for(backend).await;
    assert!(cache
        .set_nx("k", "first", Duration::from_secs(60))
        .await
        .unwrap());
    assert!(!cache
        .set_nx("k", "second", Duration::from_secs(60))
        .await
        .unwrap());
    assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("first"));
}

async fn take_is_atomic(backend: Backend) {
    let cache = cache_for(backend).await;
    cache.set("t", "v", Duration::from_secs(60)).await.unwrap();
    let takers = (0..10).map(|_| {
        let cache = cache.clone();
        tokio::spawn(async move { cache.take("t").await.unwrap() })
    });
    let got: Vec<_> = futures::future::join_all(takers)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got.iter().filter(|v| v.is_some()).count(), 1);
    assert_eq!(cache.get("t").await.unwrap(), None);
}

async fn entries_expire(backend: Backend) {
    let cache = cache_for(backend).await;
    cache
        .set("short", "v", Duration::from_millis(100))
        .await
        .unwrap();
    assert!(cache
        .set_nx("short-nx", "v", Duration::from_millis(100))
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(cache.get("short").await.unwrap(), None);
    assert!(cache
        .set_nx("short-nx", "again", Duration::from_secs(5))
        .await
        .unwrap());
}

async fn windows_count_and_reset(backend: Backend) {
    let cache = cache_for(backend).await;
    let (one, ttl) = cache
        .incr_window("w", Duration::from_secs(60))
        .await
        .unwrap();
    let (two, _) = cache
        .incr_window("w", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!((one, two), (1, 2));
    assert!((59..=60).contains(&ttl), "ttl {ttl}");
    let (other, _) = cache
        .incr_window("w2", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(other, 1);
    cache
        .incr_window("w3", Duration::from_secs(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(
        cache
            .incr_window("w3", Duration::from_secs(1))
            .await
            .unwrap()
            .0,
        1
    );
}

async fn keys_are_isolated_by_prefix(backend: Backend) {
    let a = cache_for(backend).await;
    let b = cache_for(backend).await;
    a.set("shared", "a", Duration::from_secs(60)).await.unwrap();
    assert_eq!(b.get("shared").await.unwrap(), None);
}

async fn tallies_add_and_refuse_fills_that_could_be_wrong(backend: Backend) {
    let cache = cache_for(backend).await;
    let ttl = Duration::from_secs(60);
    let (key, pending, changes) = ("tally", "tally-pending", "tally-changes");
    let read = || async {
        let values = cache
            .get_many(&[key.to_owned(), changes.to_owned(), "nothing".to_owned()])
            .await
            .unwrap();
        assert_eq!(values[2], None);
        (values[0].clone(), values[1].clone())
    };
    assert!(cache.get_many(&[]).await.unwrap().is_empty());
    // Ending a change with no tally there creates none, but counts the change.
    cache.begin_tally_change(pending, ttl).await.unwrap();
    assert!(!cache
        .end_tally_change(key, pending, changes, Some(&[-1, 1]), ttl)
        .await
        .unwrap());
    let (tally, seen) = read().await;
    assert_eq!(tally, None);
    assert!(seen.is_some());

    // A fill with a stale view of the counter is refused; with the current one it is written.
    assert!(!cache
        .set_tally_if_unchanged(key, pending, changes, None, &[10, 0], ttl)
        .await
        .unwrap());
    assert!(cache
        .set_tally_if_unchanged(key, pending, changes, seen.as_deref(), &[10, 0], ttl)
        .await
        .unwrap());
    assert_eq!(read().await.0.as_deref(), Some("10:0"));

    // A change adds its deltas; one that did not happen adds nothing.
    cache.begin_tally_change(pending, ttl).await.unwrap();
    assert!(cache
        .end_tally_change(key, pending, changes, Some(&[-3, 1]), ttl)
        .await
        .unwrap());
    cache.begin_tally_change(pending, ttl).await.unwrap();
    assert!(!cache
        .end_tally_change(key, pending, changes, None, ttl)
        .await
        .unwrap());
    assert_eq!(read().await.0.as_deref(), Some("7:1"));

    // While a change is pending, no fill is written, even with the current counter.
    cache.delete(key).await.unwrap();
    let (_, seen) = read().await;
    cache.begin_tally_change(pending, ttl).await.unwrap();
    assert!(!cache
        .set_tally_if_unchanged(key, pending, changes, seen.as_deref(), &[9, 9], ttl)
        .await
        .unwrap());
    cache
        .end_tally_change(key, pending, changes, None, ttl)
        .await
        .unwrap();
    // Ended: the counter moved, so the view taken before is stale too.
    assert!(!cache
        .set_tally_if_unchanged(key, pending, changes, seen.as_deref(), &[9, 9], ttl)
        .await
        .unwrap());
    let (_, seen) = read().await;
    assert!(cache
        .set_tally_if_unchanged(key, pending, changes, seen.as_deref(), &[7, 1], ttl)
        .await
        .unwrap());
    // More ends than begins (a pending count that lapsed) never block fills for good.
    cache
        .end_tally_change(key, pending, changes, None, ttl)
        .await
        .unwrap();
    let (_, seen) = read().await;
    assert!(cache
        .set_tally_if_unchanged(key, pending, changes, seen.as_deref(), &[7, 1], ttl)
        .await
        .unwrap());
}

on_both_backends!(
    tallies_add_and_refuse_fills_that_could_be_wrong,
    get_set_delete,
    set_nx_only_once,
    take_is_atomic,
    entries_expire,
    windows_count_and_reset,
    keys_are_isolated_by_prefix
);

#[tokio::test]
async fn unreachable_redis_is_an_error_not_a_hang() {
    // Port 1 on loopback: nothing listens there.
    let cache = RedisCache::new("redis://127.0.0.1:1", "x:");
    let started = std::time::Instant::now();
    assert!(cache.ping().await.is_err());
    assert!(cache.get("k").await.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn one_failure_makes_the_following_calls_fail_fast() {
    let cache = RedisCache::new("redis://127.0.0.1:1", "x:");
    assert!(!cache.is_circuit_open());
    assert!(cache.get("k").await.is_err());
    assert!(cache.is_circuit_open(), "a failure opens the circuit");
    // The next calls do not try Redis again: they say so at once.
    let err = cache
        .set("k", "v", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("failing fast"), "{err}");
    assert!(cache
        .incr_window("w", Duration::from_secs(60))
        .await
        .is_err());
    // A reachable Redis keeps it closed.
    let live = ticketing_tests::redis_cache().await;
    live.set("k", "v", Duration::from_secs(5)).await.unwrap();
    assert!(!live.is_circuit_open());
}
