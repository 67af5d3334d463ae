//! A small typed Stripe client over the HTTPS stack the AWS SDK already links (hyper with rustls
//! on aws-lc-rs): only the calls the checkout makes, form-encoded as Stripe's API wants, each
//! money-moving one with an `Idempotency-Key`. Chosen over `async-stripe` for size and cold
//! start (BENCHMARKS.md).

use super::{NewIntent, PaymentError, PaymentProvider};
use crate::cause::Cause;
use crate::config::{Secret, StripeSecrets, StripeSettings};
use crate::domain::ids::BookingId;
use crate::domain::payment::IntentState;
use async_trait::async_trait;
use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use serde::Deserialize;
use std::time::Duration;
use tokio::sync::OnceCell;

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// How long one call to the provider may take in all.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

pub struct StripeClient {
    /// Built on first use: loading the system's roots is no work for a cold start.
    http: OnceCell<Client<Https, Full<bytes::Bytes>>>,
    api_base: String,
    authorization: Secret,
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
    pub fn new(settings: &StripeSettings, secrets: &StripeSecrets, currency: &str) -> Self {
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:", secrets.secret_key.expose()));
        Self {
            http: OnceCell::new(),
            api_base: settings.api_base.trim_end_matches('/').to_owned(),
            authorization: Secret::new(format!("Basic {basic}")),
            currency: currency.to_owned(),
        }
    }

    async fn http(&self) -> Result<&Client<Https, Full<bytes::Bytes>>, PaymentError> {
        self.http
            .get_or_try_init(|| async {
                let mut connector = HttpConnector::new();
                connector.set_connect_timeout(Some(Duration::from_secs(2)));
                connector.enforce_http(false);
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
                    .map_err(|e| PaymentError::Unavailable(Cause::new(e)))?
                    .https_or_http()
                    .enable_http1()
                    .wrap_connector(connector);
                Ok(Client::builder(hyper_util::rt::TokioExecutor::new()).build(https))
            })
            .await
    }

    /// One call: `form` (if any) as the body, or as the query of a GET. Transport failures,
    /// timeouts, 5xx and 429 are `Unavailable`; other 4xx `Refused` with Stripe's message.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: http::Method,
        path: &str,
        idempotency_key: Option<String>,
        form: &[(&str, String)],
    ) -> Result<T, PaymentError> {
        let unavailable = |e: Cause| PaymentError::Unavailable(e);
        let encoded = serde_urlencoded::to_string(form).map_err(|e| unavailable(Cause::new(e)))?;
        let mut uri = format!("{}{path}", self.api_base);
        let body = if method == http::Method::GET {
            if !encoded.is_empty() {
                uri.push('?');
                uri.push_str(&encoded);
            }
            String::new()
        } else {
            encoded
        };
        let mut request = http::Request::builder()
            .method(method)
            .uri(uri)
            .header(http::header::AUTHORIZATION, self.authorization.expose())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let request = request
            .body(Full::new(bytes::Bytes::from(body)))
            .map_err(|e| unavailable(Cause::new(e)))?;
        let http = self.http().await?;
        let exchange = async {
            let response = http
                .request(request)
                .await
                .map_err(|e| unavailable(Cause::new(e)))?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| unavailable(Cause::new(e)))?
                .to_bytes();
            Ok::<_, PaymentError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .map_err(|_| unavailable(Cause::new("Stripe did not answer in time")))??;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| unavailable(Cause::new(e)));
        }
        let message = serde_json::from_slice::<ErrorBody>(&bytes)
            .ok()
            .and_then(|b| b.error.message)
            .unwrap_or_else(|| format!("HTTP {status}"));
        if status.is_server_error() || status.as_u16() == 429 {
            Err(unavailable(Cause::new(format!(
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
        self.call(http::Method::POST, path, Some(key), form).await
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
            .call(
                http::Method::GET,
                &format!("/v1/payment_intents/{}", path_segment(intent)),
                None,
                &[],
            )
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
            .call(
                http::Method::GET,
                "/v1/refunds",
                None,
                &[("payment_intent", intent.to_owned())],
            )
            .await?;
        if let Some(refund) = existing.data.into_iter().next() {
            return Ok(refund.id);
        }
        let refund: RefundObject = self
            .call(
                http::Method::POST,
                "/v1/refunds",
                Some(booking.to_string()),
                &[
                    ("payment_intent", intent.to_owned()),
                    ("amount", amount.to_string()),
                    ("metadata[bookingId]", booking.to_string()),
                ],
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
