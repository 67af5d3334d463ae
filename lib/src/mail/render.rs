//! What each mail says: subject, text and HTML parts (from templates, HTML auto-escaped) and
//! the confirmation's QR codes as inline images.

use super::qr;
use crate::domain::{Booking, Event, User};
use crate::ticket_codes::TicketSigner;
use chrono::{DateTime, Utc};
use minijinja::{context, Environment};
use std::sync::OnceLock;

/// A mail ready for SES.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub images: Vec<InlineImage>,
}

// Links carry tokens: never print a message.
impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// An image the HTML shows by `cid:` (attached inline, as Gmail, Outlook and Apple Mail show).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineImage {
    pub content_id: String,
    pub file_name: String,
    pub png: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("rendering template {0}")]
    Template(String, #[source] minijinja::Error),
    #[error("drawing a ticket's QR code")]
    Qr(#[from] qr::QrError),
}

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in [
            ("verify.txt", include_str!("templates/verify.txt")),
            ("verify.html", include_str!("templates/verify.html")),
            ("reset.txt", include_str!("templates/reset.txt")),
            ("reset.html", include_str!("templates/reset.html")),
            ("locked.txt", include_str!("templates/locked.txt")),
            ("locked.html", include_str!("templates/locked.html")),
            ("confirmed.txt", include_str!("templates/confirmed.txt")),
            ("confirmed.html", include_str!("templates/confirmed.html")),
            ("cancelled.txt", include_str!("templates/cancelled.txt")),
            ("cancelled.html", include_str!("templates/cancelled.html")),
        ] {
            // The templates ship in the binary and a test renders each: a bad one fails there.
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "a mail template does not parse");
            }
        }
        env
    })
}

fn render(name: &str, ctx: &minijinja::Value) -> Result<String, RenderError> {
    templates()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| RenderError::Template(name.to_owned(), e))
}

/// Text and HTML of template `name`.
fn parts(name: &str, ctx: minijinja::Value) -> Result<(String, String), RenderError> {
    Ok((
        render(&format!("{name}.txt"), &ctx)?,
        render(&format!("{name}.html"), &ctx)?,
    ))
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%A %-d %B %Y, %H:%M").to_string()
}

/// Renders the mails of the contract; links start at `site_url`.
pub struct Renderer<'a> {
    pub site_url: &'a str,
}

impl Renderer<'_> {
    pub fn verification(&self, user: &User, token: &str) -> Result<Message, RenderError> {
        let link = format!("{}/verify-email?token={token}", self.site_url);
        let (text, html) = parts(
            "verify",
            context! { name => &user.name, email => user.email.as_str(), link },
        )?;
        Ok(Message {
            to: user.email.to_string(),
            subject: "Please verify your email address".into(),
            text,
            html,
            images: Vec::new(),
        })
    }

    pub fn password_reset(&self, user: &User, token: &str) -> Result<Message, RenderError> {
        let link = format!("{}/reset-password?token={token}", self.site_url);
        let (text, html) = parts("reset", context! { name => &user.name, link })?;
        Ok(Message {
            to: user.email.to_string(),
            subject: "Reset your password".into(),
            text,
            html,
            images: Vec::new(),
        })
    }

    pub fn account_locked(
        &self,
        user: &User,
        until: DateTime<Utc>,
    ) -> Result<Message, RenderError> {
        let link = format!("{}/forgot-password", self.site_url);
        let (text, html) = parts(
            "locked",
            context! { name => &user.name, until => when(until), link },
        )?;
        Ok(Message {
            to: user.email.to_string(),
            subject: "Your account was locked after failed logins".into(),
            text,
            html,
            images: Vec::new(),
        })
    }

    pub fn booking_confirmed(
        &self,
        user: &User,
        booking: &Booking,
        event: &Event,
        signer: &TicketSigner,
    ) -> Result<Message, RenderError> {
        let mut images = Vec::new();
        let mut tickets = Vec::new();
        for ticket in booking.tickets() {
            let number = ticket.ticket_number();
            let content_id = format!("ticket-{}", ticket.number);
            images.push(InlineImage {
                content_id: content_id.clone(),
                file_name: format!("{number}.png"),
                png: qr::png(&signer.code(&ticket))?,
            });
            tickets.push(context! { number, content_id });
        }
        let (text, html) = parts(
            "confirmed",
            context! {
                name => &user.name,
                event => &event.name,
                date => when(event.date),
                venue => &event.venue,
                total => booking.total_price.to_text(),
                tickets,
                link => format!("{}/bookings", self.site_url),
            },
        )?;
        Ok(Message {
            to: user.email.to_string(),
            subject: format!("Booking confirmed: {}", event.name),
            text,
            html,
            images,
        })
    }

    pub fn booking_cancelled(
        &self,
        user: &User,
        booking: &Booking,
        event: &Event,
        refunded: Option<crate::money::Cents>,
    ) -> Result<Message, RenderError> {
        let (text, html) = parts(
            "cancelled",
            context! {
                name => &user.name,
                event => &event.name,
                date => when(event.date),
                refund => refunded.map(|c| c.to_text()),
                tickets => &booking.ticket_numbers,
            },
        )?;
        Ok(Message {
            to: user.email.to_string(),
            subject: format!("Booking cancelled: {}", event.name),
            text,
            html,
            images: Vec::new(),
        })
    }
}
