use super::{Cache, CacheError, CacheResult};
use async_trait::async_trait;
use fred::prelude::*;
use fred::types::{Expiration, ExpireOptions, SetOptions};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// Redis through `fred`. The connection is made on first use (never at cold start) and retried
/// on the next call if Redis was down; once up, fred reconnects by itself after an outage.
pub struct RedisCache {
    url: String,
    prefix: String,
    client: OnceCell<Client>,
    breaker: Breaker,
    traced: bool,
}

/// After a failure, Redis counts as down for `DOWN_FOR`: every call in that window fails at once
/// instead of waiting out its own timeout, so a request that touches the cache several times
/// pays for an outage once, not once per call. The first call after the window tries again.
const DOWN_FOR: Duration = Duration::from_secs(2);

#[derive(Default)]
struct Breaker {
    /// Milliseconds since `origin` until which Redis counts as down (0: up).
    down_until_ms: AtomicU64,
    origin: std::sync::OnceLock<Instant>,
}

impl Breaker {
    fn now_ms(&self) -> u64 {
        self.origin.get_or_init(Instant::now).elapsed().as_millis() as u64
    }

    fn is_open(&self) -> bool {
        self.now_ms() < self.down_until_ms.load(Ordering::Relaxed)
    }

    fn trip(&self) {
        let until = self.now_ms() + DOWN_FOR.as_millis() as u64;
        self.down_until_ms.store(until.max(1), Ordering::Relaxed);
    }
}

fn unavailable(err: fred::error::Error) -> CacheError {
    CacheError::new(err)
}

const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

impl RedisCache {
    pub fn new(url: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: prefix.into(),
            client: OnceCell::new(),
            breaker: Breaker::default(),
            traced: false,
        }
    }

    /// Gives every command a span (fred's `partial-tracing`), for the trace exporter.
    pub fn traced(self, traced: bool) -> Self {
        Self { traced, ..self }
    }

    /// True while a recent failure makes every call fail fast.
    pub fn is_circuit_open(&self) -> bool {
        self.breaker.is_open()
    }

    /// Runs one cache operation through the breaker.
    async fn guarded<T>(
        &self,
        op: impl std::future::Future<Output = CacheResult<T>>,
    ) -> CacheResult<T> {
        if self.breaker.is_open() {
            return Err(CacheError::because(
                "redis is down (failing fast after a recent failure)",
            ));
        }
        let result = op.await;
        if result.is_err() {
            self.breaker.trip();
        }
        result
    }

    async fn client(&self) -> CacheResult<&Client> {
        self.client
            .get_or_try_init(|| async {
                let mut config = Config::from_url(&self.url).map_err(unavailable)?;
                config.tracing = fred::types::config::TracingConfig::new(self.traced);
                let client = Builder::from_config(config)
                    .with_connection_config(|c| {
                        c.connection_timeout = COMMAND_TIMEOUT;
                        c.internal_command_timeout = COMMAND_TIMEOUT;
                        c.max_command_attempts = 1;
                    })
                    .with_performance_config(|p| p.default_command_timeout = COMMAND_TIMEOUT)
                    .set_policy(ReconnectPolicy::new_exponential(0, 50, 1_000, 2))
                    .build()
                    .map_err(unavailable)?;
                match tokio::time::timeout(Duration::from_secs(1), client.init()).await {
                    Ok(Ok(_)) => Ok(client),
                    Ok(Err(e)) => {
                        let _ = client.quit().await;
                        Err(unavailable(e))
                    }
                    Err(_) => {
                        let _ = client.quit().await;
                        Err(CacheError::because("redis: connect timeout"))
                    }
                }
            })
            .await
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

/// KEYS: tally, pending count, change counter; ARGV: the counter's expiry (ms), whether the
/// change happened ("1"), then one delta per value.
const END_TALLY_CHANGE: &str = r#"
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[1])
if ARGV[2] ~= '1' then return 0 end
local text = redis.call('GET', KEYS[1])
if not text then return 0 end
local out = {}
local i = 3
for part in string.gmatch(text, '[^:]+') do
  out[#out + 1] = string.format('%d', tonumber(part) + tonumber(ARGV[i] or '0'))
  i = i + 1
end
redis.call('SET', KEYS[1], table.concat(out, ':'), 'KEEPTTL')
return 1
"#;

/// KEYS: tally, pending count, change counter; ARGV: the counter as seen ('' for none), the
/// tally, its expiry (ms).
const SET_TALLY_IF_UNCHANGED: &str = r#"
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then return 0 end
if (redis.call('GET', KEYS[3]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"#;

fn ttl_ms(ttl: Duration) -> i64 {
    ttl.as_millis().max(1) as i64
}

#[async_trait]
impl Cache for RedisCache {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, key: &str) -> CacheResult<Option<String>> {
        self.guarded(async {
            self.client()
                .await?
                .get(self.key(key))
                .await
                .map_err(unavailable)
        })
        .await
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> CacheResult<()> {
        self.guarded(async {
            self.client()
                .await?
                .set::<(), _, _>(
                    self.key(key),
                    value,
                    Some(Expiration::PX(ttl_ms(ttl))),
                    None,
                    false,
                )
                .await
                .map_err(unavailable)
        })
        .await
    }

    async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> CacheResult<bool> {
        self.guarded(async {
            let reply: Option<String> = self
                .client()
                .await?
                .set(
                    self.key(key),
                    value,
                    Some(Expiration::PX(ttl_ms(ttl))),
                    Some(SetOptions::NX),
                    false,
                )
                .await
                .map_err(unavailable)?;
            Ok(reply.is_some())
        })
        .await
    }

    async fn take(&self, key: &str) -> CacheResult<Option<String>> {
        self.guarded(async {
            self.client()
                .await?
                .getdel(self.key(key))
                .await
                .map_err(unavailable)
        })
        .await
    }

    async fn delete(&self, key: &str) -> CacheResult<()> {
        self.guarded(async {
            self.client()
                .await?
                .del::<(), _>(self.key(key))
                .await
                .map_err(unavailable)
        })
        .await
    }

    async fn incr_window(&self, key: &str, window: Duration) -> CacheResult<(u64, u64)> {
        self.guarded(async {
            let key = self.key(key);
            let pipeline = self.client().await?.pipeline();
            let _: () = pipeline.incr(&key).await.map_err(unavailable)?;
            // NX: only the first increment of a window sets its expiry.
            let _: () = pipeline
                .expire(
                    &key,
                    window.as_secs().max(1) as i64,
                    Some(ExpireOptions::NX),
                )
                .await
                .map_err(unavailable)?;
            let _: () = pipeline.ttl(&key).await.map_err(unavailable)?;
            let (count, _, ttl): (u64, i64, i64) = pipeline.all().await.map_err(unavailable)?;
            Ok((count, ttl.max(0) as u64))
        })
        .await
    }

    async fn get_many(&self, keys: &[String]) -> CacheResult<Vec<Option<String>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.guarded(async {
            let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
            self.client().await?.mget(keys).await.map_err(unavailable)
        })
        .await
    }

    async fn begin_tally_change(&self, pending: &str, ttl: Duration) -> CacheResult<()> {
        self.guarded(async {
            let pending = self.key(pending);
            let pipeline = self.client().await?.pipeline();
            let _: () = pipeline.incr(&pending).await.map_err(unavailable)?;
            let _: () = pipeline
                .pexpire(&pending, ttl_ms(ttl), None)
                .await
                .map_err(unavailable)?;
            let _: (i64, i64) = pipeline.all().await.map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn end_tally_change(
        &self,
        key: &str,
        pending: &str,
        changes: &str,
        deltas: Option<&[i64]>,
        ttl: Duration,
    ) -> CacheResult<bool> {
        self.guarded(async {
            let mut args = vec![
                ttl_ms(ttl).to_string(),
                if deltas.is_some() { "1" } else { "0" }.to_owned(),
            ];
            args.extend(deltas.unwrap_or_default().iter().map(i64::to_string));
            let keys = vec![self.key(key), self.key(pending), self.key(changes)];
            let added: i64 = self
                .client()
                .await?
                .eval(END_TALLY_CHANGE, keys, args)
                .await
                .map_err(unavailable)?;
            Ok(added == 1)
        })
        .await
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
        self.guarded(async {
            let args = vec![
                seen.unwrap_or_default().to_owned(),
                super::tally_text(values),
                ttl_ms(ttl).to_string(),
            ];
            let written: i64 = self
                .client()
                .await?
                .eval(
                    SET_TALLY_IF_UNCHANGED,
                    vec![self.key(key), self.key(pending), self.key(changes)],
                    args,
                )
                .await
                .map_err(unavailable)?;
            Ok(written == 1)
        })
        .await
    }

    async fn ping(&self) -> CacheResult<()> {
        self.guarded(async {
            self.client()
                .await?
                .ping::<()>(None)
                .await
                .map_err(unavailable)
        })
        .await
    }
}
