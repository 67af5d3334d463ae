use super::{Cache, CacheResult};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// In-process cache: the local server's embedded default and the fast test backend.
#[derive(Default)]
pub struct MemoryCache {
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, (String, Instant)>,
    operations: u64,
}

/// Expired entries are ignored on access and swept every this many operations, so no single
/// operation pays for the whole map.
const SWEEP_EVERY: u64 = 4096;

impl Entries {
    /// The live entry under `key`, dropping it if it expired.
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut (String, Instant)> {
        if self
            .map
            .get(key)
            .is_some_and(|(_, expires)| *expires <= now)
        {
            self.map.remove(key);
        }
        self.map.get_mut(key)
    }
}

impl MemoryCache {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Entries, Instant) -> T) -> T {
        let mut entries = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        entries.operations += 1;
        if entries.operations.is_multiple_of(SWEEP_EVERY) {
            entries.map.retain(|_, (_, expires)| *expires > now);
        }
        f(&mut entries, now)
    }
}

#[async_trait]
impl Cache for MemoryCache {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, key: &str) -> CacheResult<Option<String>> {
        Ok(self.with(|e, now| e.live(key, now).map(|(v, _)| v.clone())))
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> CacheResult<()> {
        self.with(|e, now| e.map.insert(key.to_owned(), (value.to_owned(), now + ttl)));
        Ok(())
    }

    async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> CacheResult<bool> {
        Ok(self.with(|e, now| {
            if e.live(key, now).is_some() {
                return false;
            }
            e.map.insert(key.to_owned(), (value.to_owned(), now + ttl));
            true
        }))
    }

    async fn take(&self, key: &str) -> CacheResult<Option<String>> {
        Ok(self.with(|e, now| {
            e.live(key, now)?;
            e.map.remove(key).map(|(v, _)| v)
        }))
    }

    async fn delete(&self, key: &str) -> CacheResult<()> {
        self.with(|e, _| e.map.remove(key));
        Ok(())
    }

    async fn incr_window(&self, key: &str, window: Duration) -> CacheResult<(u64, u64)> {
        Ok(self.with(|e, now| {
            if e.live(key, now).is_none() {
                e.map.insert(key.to_owned(), ("0".into(), now + window));
            }
            let entry = e.map.get_mut(key).expect("inserted above");
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
