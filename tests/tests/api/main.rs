//! One test binary for every suite that drives the library (as zero-to-production does): the
//! SDK, fred and the routers are linked once, not once per suite. `logs.rs` stays apart: it
//! installs the process's global tracing subscriber.

mod auth;
mod bookings;
mod bundle;
mod cache_contract;
mod checkout;
mod checkout_model;
mod common;
mod door;
mod emulator;
mod events;
mod faults;
mod layering;
mod mail;
mod outbox_contract;
mod panic;
mod store_contract;
