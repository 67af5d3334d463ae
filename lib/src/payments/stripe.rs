//! A small typed Stripe client over `reqwest` (already linked for trace export, so this adds
//! no HTTP stack): only the five calls the checkout makes, form-encoded as Stripe's API wants,
//! each money-moving one with an `Idempotency-Key`.

use super::{NewIntent, PaymentError, PaymentProvider};
use crate::cause::Cause;
use crate::config::{Secret, StripeSettings};
use crate::domain::ids::BookingId;
use crate::domain::payment::IntentState;
use async_trait::async_trait;
use serde::Deserialize;
use std::time::Duration;

pub struct StripeClient {
    http: reqwest::Client,
    api_base: String,
    secret_key: Secret,
    publishable_key: String,
    js_url: String,
    currency: String,
}

#[derive(Deserialize)]
struct Intent {
    id: String,
    #[serde(default)]
    client_secret: Option<String>,
    status: String,
}

#[derive(Deserialize)]
struct RefundObject {
    id: String,
}

#[derive(Deserialize)]
struct RefundList {
    data: Vec<RefundObject>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: Option<String>,
}

impl StripeClient {
    pub fn new(settings: &StripeSettings, currency: &str) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            http,
            api_base: settings.api_base.trim_end_matches('/').to_owned(),
            secret_key: settings.secret_key.clone(),
            publishable_key: settings.publishable_key.clone(),
            js_url: settings.js_url.clone(),
            currency: currency.to_owned(),
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.api_base))
            .basic_auth(self.secret_key.expose(), None::<&str>)
    }

    /// Sends a request and decodes its answer; 5xx, 429 and transport failures are
    /// `Unavailable`, other 4xx `Refused` with Stripe's message.
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, PaymentError> {
        let response = request
            .send()
            .await
            .map_err(|e| PaymentError::Unavailable(Cause::new(e)))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| PaymentError::Unavailable(Cause::new(e)))?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| PaymentError::Unavailable(Cause::new(e)));
        }
        let message = serde_json::from_slice::<ErrorBody>(&body)
            .ok()
            .and_then(|b| b.error.message)
            .unwrap_or_else(|| format!("HTTP {status}"));
        if status.is_server_error() || status.as_u16() == 429 {
            Err(PaymentError::Unavailable(Cause::new(format!(
                "Stripe answered {status}: {message}"
            ))))
        } else {
            Err(PaymentError::Refused(message))
        }
    }

    async fn post_intent(
        &self,
        path: &str,
        key: String,
        form: &[(&str, String)],
    ) -> Result<Intent, PaymentError> {
        self.send(
            self.request(reqwest::Method::POST, path)
                .header("Idempotency-Key", key)
                .form(form),
        )
        .await
    }
}

#[async_trait]
impl PaymentProvider for StripeClient {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn currency(&self) -> &str {
        &self.currency
    }

    fn publishable_key(&self) -> &str {
        &self.publishable_key
    }

    fn js_url(&self) -> &str {
        &self.js_url
    }

    async fn create_intent(
        &self,
        booking: BookingId,
        amount: i64,
    ) -> Result<NewIntent, PaymentError> {
        let intent = self
            .post_intent(
                "/v1/payment_intents",
                format!("intent-{booking}"),
                &[
                    ("amount", amount.to_string()),
                    ("currency", self.currency.clone()),
                    ("capture_method", "manual".into()),
                    ("payment_method_types[]", "card".into()),
                    ("metadata[bookingId]", booking.to_string()),
                ],
            )
            .await?;
        let client_secret = intent.client_secret.ok_or_else(|| {
            PaymentError::Unavailable(Cause::new("a new PaymentIntent without client_secret"))
        })?;
        Ok(NewIntent {
            id: intent.id,
            client_secret,
        })
    }

    async fn intent_state(&self, intent: &str) -> Result<IntentState, PaymentError> {
        let intent: Intent = self
            .send(self.request(
                reqwest::Method::GET,
                &format!("/v1/payment_intents/{}", path_segment(intent)),
            ))
            .await?;
        Ok(IntentState::from_stripe(&intent.status))
    }

    async fn capture(&self, intent: &str, booking: BookingId) -> Result<(), PaymentError> {
        self.post_intent(
            &format!("/v1/payment_intents/{}/capture", path_segment(intent)),
            format!("capture-{booking}"),
            &[],
        )
        .await
        .map(|_| ())
    }

    async fn void(&self, intent: &str, booking: BookingId) -> Result<(), PaymentError> {
        self.post_intent(
            &format!("/v1/payment_intents/{}/cancel", path_segment(intent)),
            format!("void-{booking}"),
            &[],
        )
        .await
        .map(|_| ())
    }

    async fn refund(
        &self,
        intent: &str,
        booking: BookingId,
        amount: i64,
    ) -> Result<String, PaymentError> {
        // An earlier attempt whose answer was lost may have refunded already: adopt it (test
        // servers ignore idempotency keys; Stripe itself would answer the key's first refund).
        let existing: RefundList = self
            .send(
                self.request(reqwest::Method::GET, "/v1/refunds")
                    .query(&[("payment_intent", intent)]),
            )
            .await?;
        if let Some(refund) = existing.data.into_iter().next() {
            return Ok(refund.id);
        }
        let refund: RefundObject = self
            .send(
                self.request(reqwest::Method::POST, "/v1/refunds")
                    .header("Idempotency-Key", booking.to_string())
                    .form(&[
                        ("payment_intent", intent.to_owned()),
                        ("amount", amount.to_string()),
                        ("metadata[bookingId]", booking.to_string()),
                    ]),
            )
            .await?;
        Ok(refund.id)
    }
}

/// An intent id as a path segment: Stripe's ids are `[A-Za-z0-9_]`; anything else is dropped
/// rather than sent (they come from our own records, never from a client).
fn path_segment(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}
