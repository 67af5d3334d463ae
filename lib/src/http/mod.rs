//! HTTP adapters: thin axum routers over the services, and the layers every function shares.

pub mod auth;
pub mod bookings;
pub mod events;
mod extract;
pub mod health;
pub mod idempotency;
mod layers;
mod panic;
mod payments;
mod rate_limit;
mod response;
pub mod site;

pub use extract::{
    client_ip, Admin, Caller, CurrentCaller, JsonBody, MaybeCaller, OptionalJsonBody, QueryMap,
    BODY_DEADLINE,
};
pub use layers::SECURITY_HEADERS;
pub use panic::panic_answer;
pub use response::{envelope, json, REQUEST_ID_HEADER};

use crate::AppState;
use axum::http::{HeaderValue, Method};
use axum::routing::MethodRouter;
use axum::Router;

/// One route of a function. Routers are built from these lists, so the list is exactly what is
/// served; `template.yaml` and `events/` are checked against it.
pub struct Endpoint {
    pub method: Method,
    pub path: &'static str,
    pub handler: MethodRouter<AppState>,
}

impl Endpoint {
    pub fn new(method: Method, path: &'static str, handler: MethodRouter<AppState>) -> Self {
        Self {
            method,
            path,
            handler,
        }
    }
}

fn build(endpoints: Vec<Endpoint>) -> Router<AppState> {
    let paths: std::collections::BTreeSet<&'static str> =
        endpoints.iter().map(|e| e.path).collect();
    // Same-path method routers merge, so a path may appear once per method.
    let router = endpoints
        .into_iter()
        .fold(Router::new(), |router, e| router.route(e.path, e.handler));
    // Every path answers OPTIONS (the layers answer it: a preflight, or 204 with `Allow`), so a
    // 405's `Allow` lists it too.
    paths.into_iter().fold(router, |router, path| {
        router.route(
            path,
            axum::routing::options(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
    })
}

/// Each route's path and the methods it answers, as `Allow` lists them, matched as the router
/// matches (its own matcher).
pub(crate) type AllowByPath = matchit::Router<HeaderValue>;

/// The `Allow` table of the routes a router serves (only those: a function's binary then links
/// no other group's handlers).
pub(crate) fn allow_by_path(routes: &[(Method, &'static str)]) -> AllowByPath {
    let mut methods: std::collections::BTreeMap<&'static str, Vec<Method>> = Default::default();
    for (method, path) in routes {
        let listed = methods.entry(path).or_default();
        if *method == Method::GET {
            listed.push(Method::HEAD);
        }
        listed.push(method.clone());
    }
    let mut table = matchit::Router::new();
    for (path, mut listed) in methods {
        listed.push(Method::OPTIONS);
        let names: Vec<&str> = listed.iter().map(Method::as_str).collect();
        let allow = HeaderValue::from_str(&names.join(",")).expect("method names are header-safe");
        // The router took the same paths, so the matcher takes them too.
        table
            .insert(path, allow)
            .unwrap_or_else(|e| panic!("route {path}: {e}"));
    }
    table
}

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

    pub fn name(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Events => "events",
            Self::Bookings => "bookings",
            Self::Health => "health",
        }
    }

    /// [`EndpointGroup::CALLS_PAYMENTS`] of this function's group.
    pub fn calls_payments(self) -> bool {
        match self {
            Self::Auth => AuthRoutes::CALLS_PAYMENTS,
            Self::Events => EventsRoutes::CALLS_PAYMENTS,
            Self::Bookings => BookingsRoutes::CALLS_PAYMENTS,
            Self::Health => HealthRoutes::CALLS_PAYMENTS,
        }
    }

    pub fn endpoints(self, state: &AppState) -> Vec<Endpoint> {
        match self {
            Self::Auth => AuthRoutes::endpoints(state),
            Self::Events => EventsRoutes::endpoints(state),
            Self::Bookings => BookingsRoutes::endpoints(state),
            Self::Health => HealthRoutes::endpoints(state),
        }
    }

    /// (method, path) of every route this function serves.
    pub fn route_list(self, state: &AppState) -> Vec<(Method, &'static str)> {
        route_list_of(self.endpoints(state))
    }

    pub fn routes(self, state: &AppState) -> Router<AppState> {
        match self {
            Self::Auth => routes_of::<AuthRoutes>(state),
            Self::Events => routes_of::<EventsRoutes>(state),
            Self::Bookings => routes_of::<BookingsRoutes>(state),
            Self::Health => routes_of::<HealthRoutes>(state),
        }
    }
}

/// One endpoint group, as a type: a function's binary names its group at compile time, so it
/// links that group's handlers only (a `Function` value chosen at run time keeps every group's
/// code, and what only they use, in every binary).
pub trait EndpointGroup {
    const FUNCTION: Function;
    /// Whether this group calls the payment provider or takes its webhooks: only then is the
    /// function given Stripe's secrets, and only then is the provider's client linked.
    const CALLS_PAYMENTS: bool = false;
    fn endpoints(state: &AppState) -> Vec<Endpoint>;
    /// Layers of this group alone.
    fn layer(router: Router<AppState>) -> Router<AppState> {
        router
    }
}

pub struct AuthRoutes;
pub struct EventsRoutes;
pub struct BookingsRoutes;
pub struct HealthRoutes;

impl EndpointGroup for AuthRoutes {
    const FUNCTION: Function = Function::Auth;
    fn endpoints(state: &AppState) -> Vec<Endpoint> {
        auth::endpoints(state)
    }
    fn layer(router: Router<AppState>) -> Router<AppState> {
        auth::layer(router)
    }
}

impl EndpointGroup for EventsRoutes {
    const FUNCTION: Function = Function::Events;
    fn endpoints(_: &AppState) -> Vec<Endpoint> {
        events::endpoints()
    }
}

impl EndpointGroup for BookingsRoutes {
    const FUNCTION: Function = Function::Bookings;
    const CALLS_PAYMENTS: bool = true;
    fn endpoints(_: &AppState) -> Vec<Endpoint> {
        bookings::endpoints()
    }
}

impl EndpointGroup for HealthRoutes {
    const FUNCTION: Function = Function::Health;
    fn endpoints(_: &AppState) -> Vec<Endpoint> {
        health::endpoints()
    }
}

/// A group's routes with its own layers.
pub fn routes_of<G: EndpointGroup>(state: &AppState) -> Router<AppState> {
    G::layer(build(G::endpoints(state)))
}

/// One group's full router, as its Lambda function serves it.
pub fn router_of<G: EndpointGroup>(state: AppState) -> Router {
    let served = route_list_of(G::endpoints(&state));
    app(state.clone(), routes_of::<G>(&state), &served)
}

fn route_list_of(endpoints: Vec<Endpoint>) -> Vec<(Method, &'static str)> {
    endpoints.into_iter().map(|e| (e.method, e.path)).collect()
}

/// One function's full router: its routes plus the shared layers, 404 and 405.
pub fn router(state: AppState, function: Function) -> Router {
    let served = function.route_list(&state);
    app(state.clone(), function.routes(&state), &served)
}

/// All functions on one router, as the local server serves them.
pub fn combined_router(state: AppState) -> Router {
    combined_router_with(state, Router::new(), None)
}

/// All functions plus `extra` routes (the local server adds its OpenAPI document), and the web
/// app when one is built: it answers what no route matches, under the same layers.
pub fn combined_router_with(
    state: AppState,
    extra: Router<AppState>,
    site: Option<site::Site>,
) -> Router {
    let routes = Function::ALL
        .into_iter()
        .fold(extra, |acc, f| acc.merge(f.routes(&state)));
    let served: Vec<_> = Function::ALL
        .into_iter()
        .flat_map(|f| f.route_list(&state))
        .collect();
    let routes = match site {
        Some(site) => routes.fallback(move |req: axum::extract::Request| {
            let site = site.clone();
            async move { site.serve(req).await }
        }),
        None => routes.fallback(response::not_found),
    };
    layers::apply(routes, state, &served)
}

fn app(state: AppState, routes: Router<AppState>, served: &[(Method, &'static str)]) -> Router {
    layers::apply(routes.fallback(response::not_found), state, served)
}
