//! localstripe, as the checkout tests use it: a configuration that points the app at it, and
//! what a buyer's Stripe.js and Stripe's own dashboard would do (pay with a card, look at an
//! intent and its refunds), plus webhooks signed as Stripe signs them.

use serde_json::Value;
use ticketing::config::{Config, Secret, StripeSecrets, StripeSettings};

/// The webhook secret the tests' apps are configured with.
pub const WEBHOOK_SECRET: &str = "whsec_ticketing_tests";
/// Any `sk_` key works with localstripe.
pub const SECRET_KEY: &str = "sk_test_ticketing";

pub const CARD_OK: &str = "4242424242424242";
pub const CARD_DECLINED: &str = "4000000000000341";

pub fn api_base() -> String {
    std::env::var("STRIPE_API_BASE").unwrap_or_else(|_| "http://127.0.0.1:8420".into())
}

/// The tests' configuration with Stripe (through localstripe) on, holds lasting `hold_seconds`.
pub fn checkout_config(hold_seconds: u64) -> Config {
    let mut config = Config::for_tests();
    config.hold_seconds = hold_seconds;
    config.payments = Some(StripeSettings {
        secrets: Some(StripeSecrets {
            secret_key: Secret::new(SECRET_KEY),
            webhook_secret: Secret::new(WEBHOOK_SECRET),
        }),
        publishable_key: "pk_test_ticketing".into(),
        api_base: api_base(),
        js_url: format!("{}/js.stripe.com/v3/", api_base()),
    });
    config
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn post(path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = client()
        .post(format!("{}{path}", api_base()))
        .basic_auth(SECRET_KEY, None::<&str>)
        .form(form)
        .send()
        .await
        .expect("localstripe answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(path: &str) -> Value {
    client()
        .get(format!("{}{path}", api_base()))
        .basic_auth(SECRET_KEY, None::<&str>)
        .send()
        .await
        .expect("localstripe answers")
        .json()
        .await
        .expect("JSON")
}

/// Pays intent `intent` with `card` as Stripe.js would (a payment method, attached, then the
/// confirmation); the intent's status after it, or the decline's message.
pub async fn pay(intent: &str, card: &str) -> Result<String, String> {
    let (_, method) = post(
        "/v1/payment_methods",
        &[
            ("type", "card"),
            ("card[number]", card),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2031"),
            ("card[cvc]", "123"),
        ],
    )
    .await;
    let method = method["id"].as_str().expect("a payment method").to_owned();
    post(
        &format!("/v1/payment_intents/{intent}"),
        &[("payment_method", &method)],
    )
    .await;
    let (status, body) = post(&format!("/v1/payment_intents/{intent}/confirm"), &[]).await;
    if status >= 400 {
        return Err(body["error"]["message"].as_str().unwrap_or("").to_owned());
    }
    Ok(body["status"].as_str().unwrap_or("").to_owned())
}

/// The intent's status at the provider.
pub async fn intent_status(intent: &str) -> String {
    get(&format!("/v1/payment_intents/{intent}")).await["status"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// How many refunds the provider holds for the intent (none without a charge: localstripe's
/// refund listing fails with a 500 for an intent that has no charge).
pub async fn refunds_of(intent: &str) -> usize {
    if get(&format!("/v1/payment_intents/{intent}")).await["latest_charge"].is_null() {
        return 0;
    }
    get(&format!("/v1/refunds?payment_intent={intent}")).await["data"]
        .as_array()
        .map_or(0, Vec::len)
}

/// A Stripe event of `kind` for an intent whose metadata names `booking`.
pub fn event(id: &str, kind: &str, intent: &str, booking: &str) -> String {
    serde_json::json!({
        "id": id,
        "object": "event",
        "type": kind,
        "data": { "object": { "id": intent, "object": "payment_intent", "metadata": { "bookingId": booking } } },
    })
    .to_string()
}

/// The `Stripe-Signature` of `body` at `at` (unix seconds) under the tests' secret.
pub fn signature(body: &str, at: i64) -> String {
    ticketing::payments::webhook::sign(WEBHOOK_SECRET, body.as_bytes(), at)
}
