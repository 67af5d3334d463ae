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
    /// What backs this cache, as readiness reports it (`redis`, `memory`).
    fn backend(&self) -> &'static str;
}
