//! Mail: the outbox worker, what each mail says, and SES.

pub mod qr;
pub mod render;
pub mod ses;
pub mod worker;

pub use render::{InlineImage, Message, Renderer};
pub use ses::{Mailer, SendError, SesMailer};
pub use worker::{Delivery, MailWorker, Pass};
