use super::{Cache, CacheResult};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// In-process cache: the local server's embedded default and the fast test backend.
#[derive(Default)]
pub struct MemoryCache {
    entries: Mutex<HashMap<String, (String, Instant)>>,
}

impl MemoryCache {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, (String, Instant)>) -> T) -> T {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        entries.retain(|_, (_, expires)| *expires > now);
        f(&mut entries)
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> CacheResult<Option<String>> {
        Ok(self.with(|m| m.get(key).map(|(v, _)| v.clone())))
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> CacheResult<()> {
        self.with(|m| m.insert(key.to_owned(), (value.to_owned(), Instant::now() + ttl)));
        Ok(())
    }

    async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> CacheResult<bool> {
        Ok(self.with(|m| {
            if m.contains_key(key) {
                false
            } else {
                m.insert(key.to_owned(), (value.to_owned(), Instant::now() + ttl));
                true
            }
        }))
    }

    async fn take(&self, key: &str) -> CacheResult<Option<String>> {
        Ok(self.with(|m| m.remove(key).map(|(v, _)| v)))
    }

    async fn delete(&self, key: &str) -> CacheResult<()> {
        self.with(|m| m.remove(key));
        Ok(())
    }

    async fn incr_window(&self, key: &str, window: Duration) -> CacheResult<(u64, u64)> {
        Ok(self.with(|m| {
            let now = Instant::now();
            let entry = m
                .entry(key.to_owned())
                .or_insert_with(|| ("0".into(), now + window));
            let count = entry.0.parse::<u64>().unwrap_or(0) + 1;
            entry.0 = count.to_string();
            (
                count,
                entry.1.saturating_duration_since(now).as_secs_f64().ceil() as u64,
            )
        }))
    }

    async fn ping(&self) -> CacheResult<()> {
        Ok(())
    }
}
