//! Everything a router needs, built once per process (outside the Lambda handler); which
//! backends it gets is decided in [`crate::startup`].

use crate::cache::Cache;
use crate::config::Config;
use crate::payments::stripe::StripeClient;
use crate::payments::PaymentProvider;
use crate::service::{AuthService, BookingService, CheckoutService, DoorService, EventService};
use crate::store::Store;
use crate::ticket_codes::TicketSigner;
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
    /// Signs and checks ticket codes.
    pub tickets: Arc<TicketSigner>,
    pub door: DoorService,
}

impl AppState {
    /// The state a deployment runs: card payments through Stripe when the configuration has
    /// them, with the keys to call it.
    pub fn new(config: Config, store: Arc<dyn Store>, cache: Arc<dyn Cache>) -> Self {
        let provider = config.payments.as_ref().and_then(|stripe| {
            let secrets = stripe.secrets.as_ref()?;
            Some(
                Arc::new(StripeClient::new(stripe, secrets, &config.currency))
                    as Arc<dyn PaymentProvider>,
            )
        });
        Self::with_provider(config, store, cache, provider)
    }

    /// The state of a function that never calls a payment provider (its code is not linked):
    /// paid events still show as paid, but no checkout runs here.
    pub fn without_payments(config: Config, store: Arc<dyn Store>, cache: Arc<dyn Cache>) -> Self {
        Self::with_provider(config, store, cache, None)
    }

    /// The state with this payment provider (`None`: payments off), e.g. a benchmark's
    /// in-process one that leaves the store's limits as the only bound.
    pub fn with_provider(
        config: Config,
        store: Arc<dyn Store>,
        cache: Arc<dyn Cache>,
        provider: Option<Arc<dyn PaymentProvider>>,
    ) -> Self {
        let tokens = TokenService::new(&config.jwt);
        let events = EventService::new(store.clone(), cache.clone(), config.shard_rule);
        let auth = AuthService::new(store.clone(), tokens, config.lockout);
        let tickets = Arc::new(TicketSigner::new(&config.ticket_signing_key));
        let door = DoorService::new(store.clone(), events.clone(), tickets.clone());
        let checkout = provider.map(|provider| {
            CheckoutService::new(store.clone(), events.clone(), provider, config.hold_seconds)
        });
        let bookings = BookingService::new(store.clone(), events.clone())
            .requiring_verified_email(config.require_verified_email)
            .with_checkout(checkout);
        Self {
            config: Arc::new(config),
            auth,
            tickets,
            door,
            bookings,
            events,
            store,
            cache,
        }
    }
}
