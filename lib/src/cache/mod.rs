//! The cache behind a small trait: idempotency records, rate-limit counters and
//! cached reads. A `fred` (Redis) implementation and an in-memory one pass the same suite.

pub mod keys;
mod memory;
mod redis;

pub use memory::MemoryCache;
pub use redis::RedisCache;

use async_trait::async_trait;
use std::time::Duration;

/// The cache could not do what was asked; the client's own error is kept as the source.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cache unavailable: {0}")]
pub struct CacheError(#[source] std::sync::Arc<dyn std::error::Error + Send + Sync>);

impl CacheError {
    pub fn new(cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(std::sync::Arc::new(cause))
    }

    /// For a cause that is a sentence of ours rather than a client's error.
    pub fn because(reason: &'static str) -> Self {
        Self::new(std::io::Error::other(reason))
    }
}

pub type CacheResult<T> = Result<T, CacheError>;

/// A tally as the cache stores it: integers joined by `:`.
pub fn tally_text(values: &[i64]) -> String {
    values
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(":")
}

/// The integers of a stored tally; `None` for anything else.
pub fn parse_tally(text: &str) -> Option<Vec<i64>> {
    text.split(':').map(|part| part.parse().ok()).collect()
}

/// Key-value operations with expiry. Keys are given without the deployment prefix; each
/// implementation adds it.
#[async_trait]
pub trait Cache: Send + Sync {
    async fn get(&self, key: &str) -> CacheResult<Option<String>>;
    async fn set(&self, key: &str, value: &str, ttl: Duration) -> CacheResult<()>;
    /// Sets only if absent; `true` when this call set it.
    async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> CacheResult<bool>;
    /// Gets and deletes atomically: of two concurrent takers only one sees the value.
    async fn take(&self, key: &str) -> CacheResult<Option<String>>;
    async fn delete(&self, key: &str) -> CacheResult<()>;
    /// Increments a counter that expires `window` after its first increment. Returns the new
    /// count and the seconds until it resets.
    async fn incr_window(&self, key: &str, window: Duration) -> CacheResult<(u64, u64)>;
    async fn ping(&self) -> CacheResult<()>;
    /// Several values in one round trip, `None` for each missing key.
    async fn get_many(&self, keys: &[String]) -> CacheResult<Vec<Option<String>>>;
    /// A change to the tally at a key is about to be made: counts it in `pending` (kept
    /// `ttl`), so no tally computed meanwhile is written (see [`Cache::set_tally_if_unchanged`]).
    async fn begin_tally_change(&self, pending: &str, ttl: Duration) -> CacheResult<()>;
    /// The change begun with [`Cache::begin_tally_change`] is over, in one atomic step: with
    /// `deltas` (it happened), adds them to the tally at `key` if one is there (integers joined
    /// by `:`), keeping its expiry; either way uncounts it from `pending` and bumps the change
    /// counter `changes` (kept `ttl`). Returns whether a tally was adjusted.
    async fn end_tally_change(
        &self,
        key: &str,
        pending: &str,
        changes: &str,
        deltas: Option<&[i64]>,
        ttl: Duration,
    ) -> CacheResult<bool>;
    /// Writes the tally `values` at `key` for `ttl`, only if no change is pending and the
    /// change counter `changes` still holds `seen` (as read before the values were): a change
    /// before or during the read leaves the tally unwritten rather than wrong. Returns whether
    /// it was written.
    async fn set_tally_if_unchanged(
        &self,
        key: &str,
        pending: &str,
        changes: &str,
        seen: Option<&str>,
        values: &[i64],
        ttl: Duration,
    ) -> CacheResult<bool>;
    /// What backs this cache, as readiness reports it (`redis`, `memory`).
    fn backend(&self) -> &'static str;
}
