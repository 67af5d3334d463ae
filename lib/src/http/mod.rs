//! HTTP adapters: thin axum routers over the services, and the layers every function shares.

pub mod auth;
pub mod bookings;
pub mod events;
mod extract;
pub mod health;
mod layers;
mod rate_limit;
mod response;

pub use extract::{client_ip, Admin, Caller, JsonBody, MaybeCaller, OptionalJsonBody, QueryMap};
pub use response::{json, REQUEST_ID_HEADER};

use crate::AppState;
use axum::Router;

/// The endpoint groups, one Lambda function each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Auth,
    Events,
    Bookings,
    Health,
}

impl Function {
    pub const ALL: [Self; 4] = [Self::Auth, Self::Events, Self::Bookings, Self::Health];

    pub fn routes(self, state: &AppState) -> Router<AppState> {
        match self {
            Self::Auth => auth::routes(state),
            Self::Events => events::routes(),
            Self::Bookings => bookings::routes(),
            Self::Health => health::routes(),
        }
    }
}

/// One function's full router: its routes plus the shared layers, 404 and 405.
pub fn router(state: AppState, function: Function) -> Router {
    app(state.clone(), function.routes(&state))
}

/// All functions on one router, as the local server serves them.
pub fn combined_router(state: AppState) -> Router {
    let routes = Function::ALL
        .into_iter()
        .fold(Router::new(), |acc, f| acc.merge(f.routes(&state)));
    app(state, routes)
}

fn app(state: AppState, routes: Router<AppState>) -> Router {
    layers::apply(routes.fallback(response::not_found), state)
}
