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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use crate::domain::ids::{EventId, UserId};
    use crate::domain::{BookingStatus, Email, EventStatus, Role};
    use crate::money::Cents;

    fn user() -> User {
        User {
            id: UserId::new(),
            email: Email::parse("ada@example.com").unwrap(),
            name: "Ada <script>".into(),
            role: Role::User,
            password_hash: "x".into(),
            created_at: Utc::now(),
            email_verified: false,
            session_epoch: 0,
        }
    }

    fn booking_of(event: &Event, quantity: u32) -> Booking {
        Booking::sample(event.id, quantity, event.price, BookingStatus::Confirmed)
    }

    fn event() -> Event {
        let now = Utc::now();
        Event {
            id: EventId::new(),
            name: "Jazz & Blues".into(),
            description: "d".into(),
            venue: "Blue Note".into(),
            date: now,
            price: Cents(1250),
            total_tickets: 10,
            available_tickets: 10,
            confirmed_bookings: 0,
            status: EventStatus::Published,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            deleted_by: None,
            inventory_shards: 1,
            max_tickets_per_user: None,
        }
    }

    #[test]
    fn a_confirmation_lists_each_ticket_and_shows_each_qr_code() {
        let signer = TicketSigner::new(&Secret::new("a-ticket-signing-key-0123456789abcdef"));
        let event = event();
        let booking = booking_of(&event, 3);
        let render = Renderer {
            site_url: "https://tickets.example",
        };
        let mail = render
            .booking_confirmed(&user(), &booking, &event, &signer)
            .unwrap();
        assert_eq!(mail.subject, "Booking confirmed: Jazz & Blues");
        for number in &booking.ticket_numbers {
            assert!(
                mail.text.contains(&format!("- {number}\n")),
                "{}",
                mail.text
            );
        }
        assert!(mail.text.contains("Total: 37.50"), "{}", mail.text);
        assert!(mail.text.contains("https://tickets.example/bookings"));
        assert_eq!(mail.images.len(), 3);
        for image in &mail.images {
            assert!(mail.html.contains(&format!("cid:{}", image.content_id)));
            assert_eq!(&image.png[..4], b"\x89PNG");
        }
        // Text is text; HTML is escaped.
        assert!(mail.text.contains("Ada <script>"));
        assert!(mail.html.contains("Ada &lt;script&gt;") && !mail.html.contains("<script>"));
        assert!(mail.html.contains("Jazz &amp; Blues"));
    }

    #[test]
    fn every_template_renders() {
        let render = Renderer {
            site_url: "https://tickets.example",
        };
        let event = event();
        let booking = booking_of(&event, 1);
        let mails = [
            render.verification(&user(), "T0KEN").unwrap(),
            render.password_reset(&user(), "T0KEN").unwrap(),
            render.account_locked(&user(), Utc::now()).unwrap(),
            render
                .booking_cancelled(&user(), &booking, &event, Some(Cents(1250)))
                .unwrap(),
            render
                .booking_cancelled(&user(), &booking, &event, None)
                .unwrap(),
        ];
        assert!(mails[0]
            .text
            .contains("https://tickets.example/verify-email?token=T0KEN"));
        assert!(mails[1]
            .text
            .contains("https://tickets.example/reset-password?token=T0KEN"));
        assert!(mails[2].subject.contains("locked"));
        assert!(
            mails[3].subject.contains("cancelled")
                && mails[3].text.contains("12.50 will be refunded")
        );
        assert!(mails[4].text.contains("nothing is refunded"));
        for mail in &mails {
            assert!(
                !mail.text.is_empty() && !mail.html.is_empty(),
                "{}",
                mail.subject
            );
        }
    }
}
