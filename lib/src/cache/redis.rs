use super::{Cache, CacheError, CacheResult};
use async_trait::async_trait;
use fred::prelude::*;
use fred::types::{Expiration, ExpireOptions, SetOptions};
use std::time::Duration;
use tokio::sync::OnceCell;

/// Redis through `fred`. The connection is made on first use (never at cold start) and retried
/// on the next call if Redis was down; once up, fred reconnects by itself after an outage.
pub struct RedisCache {
    url: String,
    prefix: String,
    client: OnceCell<Client>,
}

fn unavailable(err: impl std::fmt::Display) -> CacheError {
    CacheError(format!("redis: {err}"))
}

const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

impl RedisCache {
    pub fn new(url: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: prefix.into(),
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> CacheResult<&Client> {
        self.client
            .get_or_try_init(|| async {
                let config = Config::from_url(&self.url).map_err(unavailable)?;
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
                        Err(unavailable("connect timeout"))
                    }
                }
            })
            .await
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

fn ttl_ms(ttl: Duration) -> i64 {
    ttl.as_millis().max(1) as i64
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> CacheResult<Option<String>> {
        self.client()
            .await?
            .get(self.key(key))
            .await
            .map_err(unavailable)
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> CacheResult<()> {
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
    }

    async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> CacheResult<bool> {
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
    }

    async fn take(&self, key: &str) -> CacheResult<Option<String>> {
        self.client()
            .await?
            .getdel(self.key(key))
            .await
            .map_err(unavailable)
    }

    async fn delete(&self, key: &str) -> CacheResult<()> {
        self.client()
            .await?
            .del::<(), _>(self.key(key))
            .await
            .map_err(unavailable)
    }

    async fn incr_window(&self, key: &str, window: Duration) -> CacheResult<(u64, u64)> {
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
    }

    async fn ping(&self) -> CacheResult<()> {
        self.client()
            .await?
            .ping::<()>(None)
            .await
            .map_err(unavailable)
    }
}
