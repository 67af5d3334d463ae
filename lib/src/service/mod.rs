//! Use cases: each service owns one endpoint group's rules, on top of the store and cache traits.

pub mod auth;
pub mod availability;
pub mod bookings;
pub mod catalog;
pub mod checkout;
pub mod door;
pub mod events;

pub use auth::{AuthService, Session};
pub use bookings::{BookingReply, BookingService};
pub use checkout::CheckoutService;
pub use door::{Admission, DoorService};
pub use events::{BookingTerms, EventService};
