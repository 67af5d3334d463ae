use super::{parse_tally, tally_text, Cache, CacheResult};
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

impl Entries {
    /// The integer under `key` (0 when missing or not a number).
    fn number(&mut self, key: &str, now: Instant) -> i64 {
        self.live(key, now)
            .and_then(|(v, _)| v.parse().ok())
            .unwrap_or(0)
    }

    /// Adds `by` to the integer under `key`, which then expires at `expires`.
    fn add(&mut self, key: &str, by: i64, expires: Instant, now: Instant) {
        let value = self.number(key, now) + by;
        self.map
            .insert(key.to_owned(), (value.to_string(), expires));
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

    async fn get_many(&self, keys: &[String]) -> CacheResult<Vec<Option<String>>> {
        Ok(self.with(|e, now| {
            keys.iter()
                .map(|key| e.live(key, now).map(|(v, _)| v.clone()))
                .collect()
        }))
    }

    async fn begin_tally_change(&self, pending: &str, ttl: Duration) -> CacheResult<()> {
        self.with(|e, now| e.add(pending, 1, now + ttl, now));
        Ok(())
    }

    async fn end_tally_change(
        &self,
        key: &str,
        pending: &str,
        changes: &str,
        deltas: Option<&[i64]>,
        ttl: Duration,
    ) -> CacheResult<bool> {
        Ok(self.with(|e, now| {
            if e.number(pending, now) > 0 {
                let expires = e.live(pending, now).map(|(_, t)| *t).unwrap_or(now);
                e.add(pending, -1, expires, now);
            }
            e.add(changes, 1, now + ttl, now);
            let (Some(deltas), Some((text, _))) = (deltas, e.live(key, now)) else {
                return false;
            };
            let values = parse_tally(text).unwrap_or_default();
            let added: Vec<i64> = values
                .iter()
                .enumerate()
                .map(|(i, v)| v + deltas.get(i).copied().unwrap_or(0))
                .collect();
            *text = tally_text(&added);
            true
        }))
    }

    async fn set_tally_if_unchanged(
        &self,
        key: &str,
        pending: &str,
        changes: &str,
        seen: Option<&str>,
        values: &[i64],
        ttl: Duration,
    ) -> CacheResult<bool> {
        Ok(self.with(|e, now| {
            let current = e.live(changes, now).map(|(v, _)| v.clone());
            if e.number(pending, now) > 0 || current.as_deref() != seen {
                return false;
            }
            e.map
                .insert(key.to_owned(), (tally_text(values), now + ttl));
            true
        }))
    }

    async fn ping(&self) -> CacheResult<()> {
        Ok(())
    }
}
