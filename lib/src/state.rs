//! Everything a router needs, built once per process (outside the Lambda handler).

use crate::cache::{Cache, MemoryCache, RedisCache};
use crate::config::Config;
use crate::service::{AuthService, BookingService, EventService};
use crate::store::{DynamoStore, MemoryStore, Store};
use crate::tokens::TokenService;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub cache: Arc<dyn Cache>,
    pub auth: AuthService,
    pub events: EventService,
    pub bookings: BookingService,
}

/// Which backends a process runs on, for the start-up log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backends {
    pub dynamodb: bool,
    pub redis: bool,
}

impl AppState {
    pub fn new(config: Config, store: Arc<dyn Store>, cache: Arc<dyn Cache>) -> Self {
        let tokens = TokenService::new(&config);
        let events = EventService::new(store.clone(), cache.clone(), config.shard_rule);
        Self {
            config: Arc::new(config),
            auth: AuthService::new(store.clone(), tokens),
            bookings: BookingService::new(store.clone(), cache.clone(), events.clone()),
            events,
            store,
            cache,
        }
    }

    /// Real DynamoDB when running in Lambda or when `DYNAMODB_ENDPOINT` is set, else the memory
    /// store; Redis when `REDIS_URL` is set, else the memory cache. Nothing connects here: the
    /// clients connect on first use, keeping cold starts short.
    pub fn from_config(config: Config, in_lambda: bool) -> (Self, Backends) {
        let use_dynamo = in_lambda || config.dynamodb_endpoint.is_some();
        let store: Arc<dyn Store> = if use_dynamo {
            Arc::new(DynamoStore::new(
                &config.table_name,
                config.dynamodb_endpoint.clone(),
                config.aws_region.clone(),
            ))
        } else {
            Arc::new(MemoryStore::new())
        };
        let cache: Arc<dyn Cache> = match &config.redis_url {
            Some(url) => {
                Arc::new(RedisCache::new(url, &config.redis_key_prefix).traced(config.traces))
            }
            None => Arc::new(MemoryCache::new()),
        };
        let backends = Backends {
            dynamodb: use_dynamo,
            redis: config.redis_url.is_some(),
        };
        (Self::new(config, store, cache), backends)
    }
}
