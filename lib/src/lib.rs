//! Shared crate of the ticketing functions: domain rules, storage and cache behind small traits,
//! and the HTTP plumbing (envelope, errors, extractors, layers, routers) every function serves.
//!
//! Layering: `domain` knows nothing of HTTP or DynamoDB; `store`/`cache` implement persistence
//! for real services and in memory; `service` holds the use cases; `http` adapts them to axum.

pub mod account_tokens;
pub mod cache;
pub mod cause;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod mail;
pub mod metric;
pub mod money;
pub mod payments;
pub mod service;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod ticket_codes;
pub mod tokens;
pub mod views;

pub use config::Config;
/// Ids are domain types; `ticketing::ids` stays their short path.
pub use domain::ids;
pub use error::AppError;
pub use state::AppState;

/// The deployed version, reported by `/health`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
