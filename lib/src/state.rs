//! Everything a router needs, built once per process (outside the Lambda handler); which
//! backends it gets is decided in [`crate::startup`].

use crate::cache::Cache;
use crate::config::Config;
use crate::service::{AuthService, BookingService, EventService};
use crate::store::Store;
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

impl AppState {
    pub fn new(config: Config, store: Arc<dyn Store>, cache: Arc<dyn Cache>) -> Self {
        let tokens = TokenService::new(&config.jwt);
        let events = EventService::new(store.clone(), cache.clone(), config.shard_rule);
        let auth = AuthService::new(store.clone(), tokens, config.lockout);
        Self {
            config: Arc::new(config),
            auth,
            bookings: BookingService::new(store.clone(), events.clone()),
            events,
            store,
            cache,
        }
    }
}
