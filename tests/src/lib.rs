//! Test harness: each test gets its own app on its own backend — the memory store and cache, or
//! DynamoDB Local (a fresh table) and Redis (a fresh key prefix) — so tests never see each
//! other's data, and a reused machine can't pollute them.

use async_trait::async_trait;
use axum::body::Body;
use axum::Router;
use chrono::{DateTime, Utc};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use ticketing::cache::{Cache, MemoryCache, RedisCache};
use ticketing::config::Config;
use ticketing::domain::stats::{DaySales, ShardFigures};
use ticketing::domain::{
    Booking, BookingStatus, Email, Event, EventStatus, Inventory, PageParams, Role, SortOrder,
    StatusFilter, User,
};
use ticketing::ids::{BookingId, EventId, UserId};
use ticketing::store::{
    table, BookOutcome, BookingAttempt, BookingPage, BookingStore, CatalogChange, DynamoStore,
    EventStore, MemoryStore, Store, StoreError, StoreResult, StoredGuard,
};
use ticketing::tokens::TokenService;
use ticketing::AppState;
use tower::ServiceExt;

pub mod delegate;
pub mod emulator;
pub mod in_process_provider;
pub mod mail;
pub mod partition_model;
pub mod samples;
pub mod stripe;

/// Collects what a `tracing` subscriber writes, for tests of what gets logged.
#[derive(Clone, Default)]
pub struct LogCapture(pub Arc<std::sync::Mutex<Vec<u8>>>);

impl LogCapture {
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("capture lock")).into_owned()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The in-memory store and cache.
    Memory,
    /// DynamoDB Local and redis-server, as started by `scripts/services`.
    Real,
}

pub fn dynamodb_endpoint() -> String {
    std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8000".into())
}

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// A DynamoDB store on a brand-new table of DynamoDB Local.
pub async fn dynamo_store() -> Arc<DynamoStore> {
    let name = unique("test");
    let store = DynamoStore::new(&name, Some(dynamodb_endpoint()), Some("us-east-1".into()));
    table::ensure_table(store.client().await, &name)
        .await
        .unwrap_or_else(|e| panic!("DynamoDB Local must be running (scripts/test starts it): {e}"));
    Arc::new(store)
}

pub async fn redis_cache() -> Arc<RedisCache> {
    let cache = RedisCache::new(redis_url(), format!("{}:", unique("test")));
    cache
        .ping()
        .await
        .unwrap_or_else(|e| panic!("redis-server must be running (scripts/test starts it): {e}"));
    Arc::new(cache)
}

pub async fn store_for(backend: Backend) -> Arc<dyn Store> {
    match backend {
        Backend::Memory => Arc::new(MemoryStore::new()),
        Backend::Real => dynamo_store().await,
    }
}

pub async fn cache_for(backend: Backend) -> Arc<dyn Cache> {
    match backend {
        Backend::Memory => Arc::new(MemoryCache::new()),
        Backend::Real => redis_cache().await,
    }
}

/// Runs one async test body against both backends, as two tests per name.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
               async fn $name() { super::$name($crate::Backend::Memory).await } )*
        }
        mod real {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
               async fn $name() { super::$name($crate::Backend::Real).await } )*
        }
    };
}

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub raw: String,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Asserts status and error code together, with the body in the message.
    pub fn expect(&self, status: u16, code: &str) -> &Self {
        assert_eq!(
            (self.status.as_u16(), self.code()),
            (status, code),
            "body: {}",
            self.raw
        );
        self
    }
    pub fn field_errors(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Words that would mean an internal error leaked to a client. Checked on every error body of
/// every API test.
pub const INTERNAL_WORDS: &[&str] = &[
    "DynamoDB",
    "Exception",
    "SdkError",
    "dispatch",
    "serde",
    "invalid type",
    "expected ",
    "Redis",
    "panicked",
    "backtrace",
    "at line",
    "$2b$",
    "TransactionCanceled",
    "ConditionalCheck",
];

pub fn assert_no_internal_text(body: &str) {
    for word in INTERNAL_WORDS {
        assert!(!body.contains(word), "an error body leaks {word:?}: {body}");
    }
}

/// How many times a careful client asks again before it gives up.
const CAREFUL_ATTEMPTS: u32 = 60;

/// Repeats a request the way the contract's careful client does: a 503, or a 409
/// `IDEMPOTENCY_KEY_IN_USE`, means "not decided yet", so the same request is sent again after its
/// `Retry-After` (which must be present). A loaded machine makes dependencies slow and answers
/// 503 more often; concurrency tests then still assert exact invariants, never timings.
pub async fn until_definitive<F, Fut>(mut send: F) -> Reply
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    for _ in 0..CAREFUL_ATTEMPTS {
        let reply = send().await;
        let undecided = reply.status == StatusCode::SERVICE_UNAVAILABLE
            || (reply.status == StatusCode::CONFLICT && reply.code() == "IDEMPOTENCY_KEY_IN_USE");
        if !undecided {
            return reply;
        }
        let wait: u64 = reply
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "{} without a usable Retry-After: {}",
                    reply.status, reply.raw
                )
            });
        // Jitter so retries of a crowd do not arrive together; capped so a test stays short.
        let jitter = rand::random::<u64>() % 250;
        tokio::time::sleep(std::time::Duration::from_millis(
            wait.min(2) * 1000 + jitter,
        ))
        .await;
    }
    panic!("still undecided after {CAREFUL_ATTEMPTS} attempts")
}

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub backend: Backend,
    counter: AtomicU32,
}

pub const PASSWORD: &str = "Correct1Horse";

impl TestApp {
    pub async fn new(backend: Backend) -> Self {
        Self::with_config(backend, Config::for_tests()).await
    }

    pub async fn with_config(backend: Backend, config: Config) -> Self {
        let store = store_for(backend).await;
        let cache = cache_for(backend).await;
        Self::with_parts(backend, config, store, cache)
    }

    /// An app on `store` with a fresh, empty cache of the backend: another instance of the same
    /// deployment, or this one after Redis lost everything.
    pub async fn with_store(backend: Backend, store: Arc<dyn Store>) -> Self {
        Self::with_parts(
            backend,
            Config::for_tests(),
            store,
            cache_for(backend).await,
        )
    }

    pub fn with_parts(
        backend: Backend,
        config: Config,
        store: Arc<dyn Store>,
        cache: Arc<dyn Cache>,
    ) -> Self {
        Self::with_state(backend, AppState::new(config, store, cache))
    }

    /// An app on a state built by the caller (e.g. with its own payment provider).
    pub fn with_state(backend: Backend, state: AppState) -> Self {
        let router = ticketing::http::combined_router(state.clone());
        Self {
            state,
            router,
            backend,
            counter: AtomicU32::new(0),
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let raw = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
        if status.as_u16() >= 400 {
            assert_no_internal_text(&raw);
        }
        Reply {
            status,
            headers,
            raw,
            body,
        }
    }

    /// A JSON request; `token` becomes a Bearer header.
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        self.call_with(method, uri, token, &[], body).await
    }

    pub async fn call_with(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let body = match body {
            Some(value) => {
                builder = builder.header("content-type", "application/json");
                Body::from(value.to_string())
            }
            None => Body::empty(),
        };
        self.send(builder.body(body).expect("request")).await
    }

    /// `POST /api/v1/auth/refresh` or `/logout` with `token` in the body.
    pub async fn with_refresh_token(&self, route: &str, token: &str) -> Reply {
        let uri = format!("/api/v1/auth/{route}");
        self.call("POST", &uri, None, Some(json!({ "refreshToken": token })))
            .await
    }

    /// Polls `/health/ready` until it answers 200, failing after `seconds`.
    pub async fn wait_until_ready(&self, seconds: u64) {
        let started = std::time::Instant::now();
        while self.call("GET", "/health/ready", None, None).await.status != StatusCode::OK {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(seconds),
                "never recovered"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    pub fn next_email(&self) -> String {
        format!(
            "user{}-{}@example.com",
            self.counter.fetch_add(1, Ordering::Relaxed),
            ulid::Ulid::new().to_string().to_lowercase()
        )
    }

    /// Registers through the API (real bcrypt); returns (access token, refresh token, user id).
    pub async fn register(&self) -> (String, String, String) {
        let reply = self
            .call("POST", "/api/v1/auth/register", None, Some(json!({ "email": self.next_email(), "password": PASSWORD, "name": "Test User" })))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.raw);
        let data = &reply.body["data"];
        (
            data["accessToken"].as_str().unwrap().to_owned(),
            data["refreshToken"].as_str().unwrap().to_owned(),
            data["user"]["id"].as_str().unwrap().to_owned(),
        )
    }

    /// A user written straight to the store with a token minted for it: no bcrypt, for tests
    /// that need hundreds of users.
    pub async fn quick_user(&self, role: Role) -> (String, UserId) {
        let user = User {
            id: UserId::new(),
            email: Email::parse(&self.next_email()).unwrap(),
            name: "Quick User".into(),
            role,
            password_hash: "$2b$10$not-a-real-hash-not-a-real-hash-not-a-real-hash-xx".into(),
            created_at: Utc::now(),
            email_verified: false,
            session_epoch: 0,
        };
        self.state
            .store
            .create_user(&user, None)
            .await
            .expect("create user");
        let token = TokenService::new(&self.state.config.jwt)
            .issue_access(&user)
            .expect("token");
        (token, user.id)
    }

    pub async fn admin_token(&self) -> String {
        self.quick_user(Role::Admin).await.0
    }

    /// Creates a published event through the API; returns its id.
    pub async fn create_event(&self, admin: &str, overrides: Value) -> String {
        let mut body = json!({
            "name": "Concert",
            "description": "A fine evening",
            "venue": "Main Hall",
            "date": (Utc::now() + chrono::Duration::days(30)).to_rfc3339(),
            "price": 25.5,
            "totalTickets": 100,
        });
        if let (Some(target), Some(extra)) = (body.as_object_mut(), overrides.as_object()) {
            for (k, v) in extra {
                target.insert(k.clone(), v.clone());
            }
        }
        let reply = self
            .call("POST", "/api/v1/events", Some(admin), Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.raw);
        reply.body["data"]["id"].as_str().unwrap().to_owned()
    }

    pub async fn book(&self, token: &str, key: &str, event_id: &str, quantity: i64) -> Reply {
        self.call_with(
            "POST",
            "/api/v1/bookings",
            Some(token),
            &[("idempotency-key", key)],
            Some(json!({ "eventId": event_id, "quantity": quantity })),
        )
        .await
    }

    /// `book` as the contract's careful client: retried with the same key and body while the
    /// answer says "try again" (see [`until_definitive`]).
    pub async fn book_carefully(
        &self,
        token: &str,
        key: &str,
        event_id: &str,
        quantity: i64,
    ) -> Reply {
        until_definitive(|| self.book(token, key, event_id, quantity)).await
    }

    /// `call` as the contract's careful client (see [`until_definitive`]).
    pub async fn call_carefully(&self, method: &str, uri: &str, token: Option<&str>) -> Reply {
        until_definitive(|| self.call(method, uri, token, None)).await
    }

    pub async fn event(&self, id: &str) -> Value {
        let reply = self
            .call("GET", &format!("/api/v1/events/{id}"), None, None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.raw);
        reply.body["data"].clone()
    }
}

/// An event straight into a store (bypassing the API), for store-level tests.
pub fn sample_event(tickets: u32, status: EventStatus, date: DateTime<Utc>) -> Event {
    let now = Utc::now();
    Event {
        id: EventId::new(),
        name: "Sample".into(),
        description: "Sample event".into(),
        venue: "Hall".into(),
        date,
        price: ticketing::money::Cents(1250),
        total_tickets: tickets,
        available_tickets: tickets,
        confirmed_bookings: 0,
        status,
        created_at: now,
        updated_at: now,
        deleted_at: None,
        deleted_by: None,
        inventory_shards: 1,
        max_tickets_per_user: None,
    }
}

/// A confirmed booking `id` of `quantity` tickets of `event` by `user`, made now under `key`.
pub fn sample_booking(
    event: &Event,
    user: UserId,
    id: BookingId,
    quantity: u32,
    key: &str,
) -> Booking {
    Booking {
        id,
        event_id: event.id,
        user_id: user,
        quantity,
        unit_price: event.price,
        total_price: event.price.times(quantity),
        status: ticketing::domain::BookingStatus::Confirmed,
        ticket_numbers: Booking::ticket_numbers(id, quantity),
        idempotency_key: key.into(),
        created_at: Utc::now(),
        cancelled_at: None,
        allocation: vec![],
        checked_in: Default::default(),
        hold_expires_at: None,
        confirmed_at: None,
        payment: None,
        refund: None,
    }
}

/// A store that answers the first `failures` bookings/cancels with contention, to exercise the
/// retry path (DynamoDB Local never reports `TransactionConflict` by itself).
pub struct ContendedStore {
    pub inner: Arc<dyn Store>,
    pub failures: AtomicU32,
    pub book_calls: AtomicU32,
}

impl ContendedStore {
    pub fn new(inner: Arc<dyn Store>, failures: u32) -> Self {
        Self {
            inner,
            failures: AtomicU32::new(failures),
            book_calls: AtomicU32::new(0),
        }
    }

    fn contended(&self) -> bool {
        self.failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

#[async_trait]
impl EventStore for ContendedStore {
    async fn create_event(&self, event: &Event) -> StoreResult<()> {
        self.inner.create_event(event).await
    }
    async fn event_by_id(&self, id: EventId) -> StoreResult<Option<Event>> {
        self.inner.event_by_id(id).await
    }
    async fn catalog_version(&self) -> StoreResult<u64> {
        self.inner.catalog_version().await
    }
    async fn catalog_changes(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<CatalogChange>> {
        self.inner.catalog_changes(since).await
    }
    async fn catalog_by_date(
        &self,
        statuses: StatusFilter,
        order: SortOrder,
        count: usize,
    ) -> StoreResult<Vec<Event>> {
        self.inner.catalog_by_date(statuses, order, count).await
    }
    async fn catalog_status_counts(&self) -> StoreResult<HashMap<EventStatus, u64>> {
        self.inner.catalog_status_counts().await
    }
    async fn inventories(
        &self,
        events: &[(EventId, u16)],
    ) -> StoreResult<HashMap<EventId, Inventory>> {
        self.inner.inventories(events).await
    }
    async fn inventory_snapshot(&self, id: EventId, shards: u16) -> StoreResult<Inventory> {
        self.inner.inventory_snapshot(id, shards).await
    }
    async fn update_event_details(&self, event: &Event, was: EventStatus) -> StoreResult<()> {
        self.inner.update_event_details(event, was).await
    }
    async fn delete_event(&self, id: EventId, by: UserId, at: DateTime<Utc>) -> StoreResult<()> {
        self.inner.delete_event(id, by, at).await
    }
}

#[async_trait]
impl BookingStore for ContendedStore {
    async fn book(&self, attempt: &BookingAttempt) -> StoreResult<BookOutcome> {
        self.book_calls.fetch_add(1, Ordering::SeqCst);
        if self.contended() {
            return Err(StoreError::Contention(
                "TransactionConflict (injected)".into(),
            ));
        }
        self.inner.book(attempt).await
    }
    async fn booking_by_id(&self, id: BookingId) -> StoreResult<Option<Booking>> {
        self.inner.booking_by_id(id).await
    }
    async fn idempotency_guard(
        &self,
        user: UserId,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<StoredGuard>> {
        self.inner.idempotency_guard(user, key, now).await
    }
    async fn bookings_by_user(
        &self,
        user: UserId,
        status: Option<BookingStatus>,
        page: PageParams,
    ) -> StoreResult<BookingPage> {
        self.inner.bookings_by_user(user, status, page).await
    }
    async fn cancel_booking(
        &self,
        booking: &Booking,
        now: DateTime<Utc>,
        mail: Option<&ticketing::domain::mail::OutboxMail>,
        refund: Option<&ticketing::domain::payment::Refund>,
    ) -> StoreResult<Booking> {
        if self.contended() {
            return Err(StoreError::Contention(
                "TransactionConflict (injected)".into(),
            ));
        }
        self.inner.cancel_booking(booking, now, mail, refund).await
    }
    async fn check_in(
        &self,
        id: BookingId,
        number: u8,
        now: DateTime<Utc>,
    ) -> StoreResult<Booking> {
        self.inner.check_in(id, number, now).await
    }
    async fn confirmed_bookings(
        &self,
        event: EventId,
        shards: u16,
        after: Option<BookingId>,
        count: usize,
    ) -> StoreResult<Vec<Booking>> {
        self.inner
            .confirmed_bookings(event, shards, after, count)
            .await
    }
    async fn event_figures(
        &self,
        id: EventId,
        shards: u16,
    ) -> StoreResult<(Vec<ShardFigures>, Vec<DaySales>)> {
        self.inner.event_figures(id, shards).await
    }
}

crate::delegate_accounts_and_mail!(ContendedStore);

#[async_trait]
impl Store for ContendedStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
}

/// A cache that records every key written or deleted, so a test can see which cached reads a
/// request invalidated (or filled).
pub struct RecordingCache {
    pub inner: Arc<dyn Cache>,
    pub writes: std::sync::Mutex<Vec<String>>,
    pub deletes: std::sync::Mutex<Vec<String>>,
    /// While set, `set` and `delete` fail as in a Redis blip (reads and `set_nx` still work):
    /// what a request sees when Redis stalls between its first and its last cache call.
    pub blip: std::sync::atomic::AtomicBool,
}

impl RecordingCache {
    pub fn new(inner: Arc<dyn Cache>) -> Self {
        Self {
            inner,
            writes: Default::default(),
            deletes: Default::default(),
            blip: Default::default(),
        }
    }
    fn blipped(&self) -> ticketing::cache::CacheResult<()> {
        if self.blip.load(Ordering::SeqCst) {
            return Err(ticketing::cache::CacheError::because(
                "redis blip (injected)",
            ));
        }
        Ok(())
    }
    /// What was written and deleted since the last call, and forgets it.
    pub fn drain(&self) -> (Vec<String>, Vec<String>) {
        let take = |m: &std::sync::Mutex<Vec<String>>| std::mem::take(&mut *m.lock().unwrap());
        (take(&self.writes), take(&self.deletes))
    }
    fn wrote(&self, key: &str) {
        self.writes.lock().unwrap().push(key.to_owned());
    }
}

#[async_trait]
impl Cache for RecordingCache {
    async fn get(&self, key: &str) -> ticketing::cache::CacheResult<Option<String>> {
        self.inner.get(key).await
    }
    async fn set(
        &self,
        key: &str,
        value: &str,
        ttl: std::time::Duration,
    ) -> ticketing::cache::CacheResult<()> {
        self.wrote(key);
        self.blipped()?;
        self.inner.set(key, value, ttl).await
    }
    async fn set_nx(
        &self,
        key: &str,
        value: &str,
        ttl: std::time::Duration,
    ) -> ticketing::cache::CacheResult<bool> {
        self.wrote(key);
        self.inner.set_nx(key, value, ttl).await
    }
    async fn take(&self, key: &str) -> ticketing::cache::CacheResult<Option<String>> {
        self.deletes.lock().unwrap().push(key.to_owned());
        self.inner.take(key).await
    }
    async fn delete(&self, key: &str) -> ticketing::cache::CacheResult<()> {
        self.deletes.lock().unwrap().push(key.to_owned());
        self.blipped()?;
        self.inner.delete(key).await
    }
    async fn incr_window(
        &self,
        key: &str,
        window: std::time::Duration,
    ) -> ticketing::cache::CacheResult<(u64, u64)> {
        self.wrote(key);
        self.inner.incr_window(key, window).await
    }
    async fn ping(&self) -> ticketing::cache::CacheResult<()> {
        self.inner.ping().await
    }
    async fn get_many(
        &self,
        keys: &[String],
    ) -> ticketing::cache::CacheResult<Vec<Option<String>>> {
        self.inner.get_many(keys).await
    }
    async fn begin_tally_change(
        &self,
        pending: &str,
        ttl: std::time::Duration,
    ) -> ticketing::cache::CacheResult<()> {
        self.wrote(pending);
        self.blipped()?;
        self.inner.begin_tally_change(pending, ttl).await
    }
    async fn end_tally_change(
        &self,
        key: &str,
        pending: &str,
        changes: &str,
        deltas: Option<&[i64]>,
        ttl: std::time::Duration,
    ) -> ticketing::cache::CacheResult<bool> {
        self.wrote(key);
        self.blipped()?;
        self.inner
            .end_tally_change(key, pending, changes, deltas, ttl)
            .await
    }
    async fn set_tally_if_unchanged(
        &self,
        key: &str,
        pending: &str,
        changes: &str,
        seen: Option<&str>,
        values: &[i64],
        ttl: std::time::Duration,
    ) -> ticketing::cache::CacheResult<bool> {
        self.wrote(key);
        self.inner
            .set_tally_if_unchanged(key, pending, changes, seen, values, ttl)
            .await
    }
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
}
