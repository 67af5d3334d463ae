//! Sending through Amazon SES (API v2): one client, built on first use like the store's.

use super::render::Message;
use async_trait::async_trait;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{
    Attachment, AttachmentContentDisposition, AttachmentContentTransferEncoding, Body, Content,
    Destination, EmailContent,
};
use aws_sdk_sesv2::Client;
use tokio::sync::OnceCell;

/// Why a mail did not go out; the worker tries again later either way.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("building the SES request")]
    Request(#[source] aws_sdk_sesv2::error::BuildError),
    #[error("SES did not accept the mail")]
    Rejected(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Whatever delivers mail: SES, or a test's stand-in.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, from: &str, message: &Message) -> Result<(), SendError>;
}

pub struct SesMailer {
    endpoint: Option<String>,
    region: Option<String>,
    client: OnceCell<Client>,
}

impl SesMailer {
    pub fn new(endpoint: Option<String>, region: Option<String>) -> Self {
        Self {
            endpoint,
            region,
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                use aws_config::timeout::TimeoutConfig;
                use aws_config::{BehaviorVersion, Region};
                use std::time::Duration;
                let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(Duration::from_millis(500))
                        .operation_timeout(Duration::from_secs(10))
                        .build(),
                );
                let region = self
                    .region
                    .clone()
                    .or_else(|| self.endpoint.as_ref().map(|_| "us-east-1".to_owned()));
                if let Some(region) = region {
                    loader = loader.region(Region::new(region));
                }
                if let Some(endpoint) = &self.endpoint {
                    loader = loader.endpoint_url(endpoint);
                    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
                        loader =
                            loader.credentials_provider(aws_sdk_sesv2::config::Credentials::new(
                                "local", "local", None, None, "static",
                            ));
                    }
                }
                Client::new(&loader.load().await)
            })
            .await
    }
}

fn utf8(text: &str) -> Result<Content, SendError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(SendError::Request)
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, from: &str, message: &Message) -> Result<(), SendError> {
        let mut simple = aws_sdk_sesv2::types::Message::builder()
            .subject(utf8(&message.subject)?)
            .body(
                Body::builder()
                    .text(utf8(&message.text)?)
                    .html(utf8(&message.html)?)
                    .build(),
            );
        for image in &message.images {
            simple = simple.attachments(
                Attachment::builder()
                    .raw_content(Blob::new(image.png.clone()))
                    .file_name(&image.file_name)
                    .content_type("image/png")
                    .content_disposition(AttachmentContentDisposition::Inline)
                    .content_id(&image.content_id)
                    .content_transfer_encoding(AttachmentContentTransferEncoding::Base64)
                    .build()
                    .map_err(SendError::Request)?,
            );
        }
        let simple = simple.build();
        self.client()
            .await
            .send_email()
            .from_email_address(from)
            .destination(Destination::builder().to_addresses(&message.to).build())
            .content(EmailContent::builder().simple(simple).build())
            .send()
            .await
            .map_err(|e| SendError::Rejected(Box::new(e)))?;
        Ok(())
    }
}
