//! The contract's wire shapes: one typed envelope and the public views of users, events and
//! bookings (money as decimals, timestamps as RFC 3339 UTC, never a password hash). Field names
//! are checked by the compiler; the OpenAPI test compares the spec against these types' output.

use crate::domain::ids::{BookingId, EventId, UserId};
use crate::domain::payment::{PaymentStatus, RefundStatus};
use crate::domain::{
    Booking, BookingStatus, Email, Event, EventStatus, FieldError, PageMeta, Role, User,
};
use crate::money::Cents;
use crate::ticket_codes::TicketSigner;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

pub fn timestamp(ts: DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn money<S: Serializer>(cents: &Cents, serializer: S) -> Result<S::Ok, S::Error> {
    cents.to_json().serialize(serializer)
}

/// Every response body: `success` and `message` always; `data`/`meta` on success; `code`,
/// `errors` and `requestId` on errors.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<'a, T: Serialize> {
    pub success: bool,
    pub message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<PageMeta>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<&'a [FieldError]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl<'a, T: Serialize> Envelope<'a, T> {
    /// A success carrying `data`.
    pub fn ok(message: &'a str, data: T) -> Self {
        Self {
            success: true,
            message,
            data: Some(data),
            meta: None,
            code: None,
            errors: None,
            request_id: None,
        }
    }

    /// A page of a listing.
    pub fn page(message: &'a str, data: T, meta: PageMeta) -> Self {
        Self {
            meta: Some(meta),
            ..Self::ok(message, data)
        }
    }

    /// An error in the contract's shape; `data` where its code carries some.
    pub fn error(
        message: &'a str,
        code: &'static str,
        errors: Option<&'a [FieldError]>,
        data: Option<T>,
        request_id: Option<String>,
    ) -> Self {
        Self {
            success: false,
            message,
            data,
            meta: None,
            code: Some(code),
            errors,
            request_id,
        }
    }

    /// The body as JSON text (serialising these types cannot fail).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl<'a> Envelope<'a, ()> {
    /// A success with nothing to carry.
    pub fn done(message: &'a str) -> Self {
        Self {
            data: None,
            ..Self::ok(message, ())
        }
    }
}

/// What an error carries beyond its code, where the contract gives it `data`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ErrorData {
    /// `TICKET_LIMIT_REACHED`: how many of the event's tickets the user may still get.
    TicketLimit { remaining: u32 },
    /// `ALREADY_CHECKED_IN`: when the first scan admitted the ticket.
    #[serde(rename_all = "camelCase")]
    CheckedIn { checked_in_at: String },
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView<'a> {
    id: UserId,
    email: &'a Email,
    name: &'a str,
    role: Role,
    email_verified: bool,
    created_at: String,
}

impl<'a> From<&'a User> for UserView<'a> {
    fn from(user: &'a User) -> Self {
        Self {
            id: user.id,
            email: &user.email,
            name: &user.name,
            role: user.role,
            email_verified: user.email_verified,
            created_at: timestamp(user.created_at),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView<'a> {
    id: EventId,
    name: &'a str,
    description: &'a str,
    venue: &'a str,
    date: String,
    #[serde(serialize_with = "money")]
    price: Cents,
    total_tickets: u32,
    available_tickets: u32,
    max_tickets_per_user: Option<u32>,
    status: EventStatus,
    created_at: String,
    updated_at: String,
}

impl<'a> From<&'a Event> for EventView<'a> {
    fn from(event: &'a Event) -> Self {
        Self {
            id: event.id,
            name: &event.name,
            description: &event.description,
            venue: &event.venue,
            date: timestamp(event.date),
            price: event.price,
            total_tickets: event.total_tickets,
            available_tickets: event.available_tickets,
            max_tickets_per_user: event.max_tickets_per_user,
            status: event.status,
            created_at: timestamp(event.created_at),
            updated_at: timestamp(event.updated_at),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BookingView<'a> {
    id: BookingId,
    event_id: EventId,
    user_id: UserId,
    quantity: u32,
    #[serde(serialize_with = "money")]
    unit_price: Cents,
    #[serde(serialize_with = "money")]
    total_price: Cents,
    status: BookingStatus,
    ticket_numbers: &'a [String],
    idempotency_key: &'a str,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancelled_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirmed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment: Option<PaymentView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refund: Option<RefundView<'a>>,
    /// Only on confirmed bookings: each ticket with its signed code.
    #[serde(skip_serializing_if = "Option::is_none")]
    tickets: Option<Vec<TicketView>>,
}

/// A booking's payment; `clientSecret` only for its owner while the hold stands.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView<'a> {
    provider: &'a str,
    intent_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    amount: i64,
    currency: &'a str,
    status: PaymentStatus,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundView<'a> {
    id: Option<&'a str>,
    #[serde(serialize_with = "money")]
    amount: Cents,
    status: RefundStatus,
}

/// One ticket as its holder shows it at the door.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketView {
    number: String,
    code: String,
    checked_in_at: Option<String>,
}

impl<'a> BookingView<'a> {
    /// The booking as its owner sees it; `signer` signs its tickets' codes.
    pub fn new(booking: &'a Booking, signer: &TicketSigner) -> Self {
        let status = booking.status_at(Utc::now());
        let payment = booking.payment.as_ref().map(|p| PaymentView {
            provider: &p.provider,
            intent_id: &p.intent_id,
            client_secret: (status == BookingStatus::Pending).then_some(p.client_secret.as_str()),
            amount: p.amount,
            currency: &p.currency,
            status: p.status,
        });
        let refund = booking.refund.as_ref().map(|r| RefundView {
            id: r.id.as_deref(),
            amount: r.amount,
            status: r.status,
        });
        let tickets = (booking.status == BookingStatus::Confirmed).then(|| {
            booking
                .tickets()
                .map(|ticket| TicketView {
                    number: ticket.ticket_number(),
                    code: signer.code(&ticket),
                    checked_in_at: booking.checked_in_at(ticket.number).map(timestamp),
                })
                .collect()
        });
        Self {
            id: booking.id,
            event_id: booking.event_id,
            user_id: booking.user_id,
            quantity: booking.quantity,
            unit_price: booking.unit_price,
            total_price: booking.total_price,
            status,
            ticket_numbers: &booking.ticket_numbers,
            idempotency_key: &booking.idempotency_key,
            created_at: timestamp(booking.created_at),
            cancelled_at: booking.cancelled_at.map(timestamp),
            expires_at: booking.hold_expires_at.map(timestamp),
            confirmed_at: booking.confirmed_at.map(timestamp),
            payment,
            refund,
            tickets,
        }
    }

    /// The view for someone other than its owner (an admin): no client secret.
    pub fn without_client_secret(mut self) -> Self {
        if let Some(payment) = &mut self.payment {
            payment.client_secret = None;
        }
        self
    }
}

/// An event's figures (`GET /events/:id/stats`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsView {
    tickets_sold: u32,
    tickets_held: u32,
    tickets_checked_in: u32,
    bookings: BookingCountsView,
    #[serde(serialize_with = "money")]
    gross_revenue: Cents,
    #[serde(serialize_with = "money")]
    refunded: Cents,
    #[serde(serialize_with = "money")]
    net_revenue: Cents,
    sales_by_day: Vec<DaySalesView>,
}

#[derive(Debug, Serialize)]
pub struct BookingCountsView {
    confirmed: u32,
    pending: u32,
    cancelled: u32,
    expired: u32,
}

#[derive(Debug, Serialize)]
pub struct DaySalesView {
    day: String,
    tickets: u32,
    #[serde(serialize_with = "money")]
    revenue: Cents,
}

impl From<&crate::domain::stats::EventStats> for StatsView {
    fn from(stats: &crate::domain::stats::EventStats) -> Self {
        Self {
            tickets_sold: stats.tickets_sold,
            tickets_held: stats.tickets_held,
            tickets_checked_in: stats.tickets_checked_in,
            bookings: BookingCountsView {
                confirmed: stats.confirmed_bookings,
                pending: stats.pending_bookings,
                cancelled: stats.cancelled_bookings,
                expired: stats.expired_bookings,
            },
            gross_revenue: stats.gross_revenue,
            refunded: stats.refunded,
            net_revenue: stats.net_revenue(),
            sales_by_day: stats
                .sales_by_day
                .iter()
                .map(|sale| DaySalesView {
                    day: sale.day.format("%Y-%m-%d").to_string(),
                    tickets: sale.tickets,
                    revenue: sale.revenue,
                })
                .collect(),
        }
    }
}

/// One row of the attendee list.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttendeeView<'a> {
    booking_id: BookingId,
    ticket_number: &'a str,
    holder_name: &'a str,
    holder_email: &'a str,
    checked_in_at: Option<String>,
}

impl<'a> From<&'a crate::domain::stats::Attendee> for AttendeeView<'a> {
    fn from(row: &'a crate::domain::stats::Attendee) -> Self {
        Self {
            booking_id: row.booking_id,
            ticket_number: &row.ticket_number,
            holder_name: &row.holder_name,
            holder_email: &row.holder_email,
            checked_in_at: row.checked_in_at.map(timestamp),
        }
    }
}

/// The attendee list as CSV (RFC 4180), header row first; an empty field for a null.
pub fn attendees_csv(rows: &[crate::domain::stats::Attendee]) -> String {
    use crate::domain::stats::csv_field;
    let mut out = String::from("ticketNumber,holderName,holderEmail,bookingId,checkedInAt\r\n");
    for row in rows {
        let checked_in = row.checked_in_at.map(timestamp).unwrap_or_default();
        let booking = row.booking_id.to_string();
        let fields = [
            csv_field(&row.ticket_number),
            csv_field(&row.holder_name),
            csv_field(&row.holder_email),
            csv_field(&booking),
            csv_field(&checked_in),
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

/// A ticket let in at the door.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionView<'a> {
    ticket_number: &'a str,
    booking_id: BookingId,
    holder_name: &'a str,
    checked_in_at: String,
}

impl<'a> From<&'a crate::service::Admission> for AdmissionView<'a> {
    fn from(admission: &'a crate::service::Admission) -> Self {
        Self {
            ticket_number: &admission.ticket_number,
            booking_id: admission.booking_id,
            holder_name: &admission.holder_name,
            checked_in_at: timestamp(admission.checked_in_at),
        }
    }
}

/// What login, register and refresh answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView<'a> {
    pub user: UserView<'a>,
    pub access_token: &'a str,
    pub refresh_token: &'a str,
    pub expires_in: i64,
}

/// What `/auth/me` answers.
#[derive(Debug, Serialize)]
pub struct MeView<'a> {
    pub user: UserView<'a>,
}
