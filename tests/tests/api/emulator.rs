//! Every `events/*.json` through Lambda's own Runtime Interface Emulator (as `sam local invoke`
//! would run it), each function built and started with the template's environment on DynamoDB
//! Local + Redis, real tokens injected where a route needs one; checks the status, the envelope
//! and the EMF metric lines each invocation prints.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use ticketing::http::Function;
use ticketing::metric::name;
use ticketing_tests::emulator::{build_functions, Emulator, Invocation, LocalStack};
use ticketing_tests::samples::{self, SAMPLES};

fn assert_envelope(sample: &str, call: &Invocation) {
    let body = &call.body;
    assert_eq!(
        body["success"].as_bool(),
        Some(call.status < 400),
        "{sample}: {body}"
    );
    assert!(body["message"].is_string(), "{sample}: {body}");
    assert_eq!(
        call.headers["content-type"], "application/json; charset=utf-8",
        "{sample}"
    );
    assert!(call.headers["x-request-id"].is_string(), "{sample}");
}

/// Every EMF document is well formed: our namespace, the one `Function` dimension, and only
/// metrics this crate declares, each with its value on the document.
fn assert_emf(sample: &str, call: &Invocation, namespace: &str) {
    for doc in call.emf() {
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], namespace, "{sample}: {doc}");
        let dimensions = directive["Dimensions"][0].as_array().expect("dimensions");
        assert_eq!(dimensions[0], name::FUNCTION, "{sample}: {doc}");
        assert!(doc["_aws"]["Timestamp"].is_u64(), "{sample}: {doc}");
        for metric in directive["Metrics"].as_array().expect("metrics") {
            let metric = metric["Name"].as_str().expect("a name");
            assert!(name::ALL.contains(&metric), "{sample}: undeclared {metric}");
            assert!(doc[metric].is_number(), "{sample}: {doc}");
        }
        assert!(doc["RequestId"].is_string(), "{sample}: {doc}");
    }
}

#[tokio::test]
async fn every_sample_event_answers_through_lambdas_emulator() {
    let bin_dir = build_functions();
    let stack = LocalStack::new().await;
    let state = stack.state();
    let mut session = samples::seed(&state).await;
    let emulators: BTreeMap<&str, Emulator> = Function::ALL
        .into_iter()
        .map(|f| (f.name(), Emulator::start(&bin_dir, f, &stack.env)))
        .collect();
    let mut cold = BTreeMap::new();
    for (sample, expected) in SAMPLES {
        let function = samples::function_of(sample);
        let call = emulators[function].invoke(&session.prepare(sample)).await;
        assert_eq!(call.status, *expected, "{sample}: {}", call.body);
        assert_envelope(sample, &call);
        assert_emf(sample, &call, &stack.namespace);
        // One cold start per function instance: on its first invocation only.
        let first = cold.insert(function, ()).is_none();
        let cold_start = call.metric(name::COLD_STARTS);
        assert_eq!(cold_start, first.then_some(1.0), "{sample}");
        // The function's log lines are JSON with the request id and the payload's trace id.
        let logs: Vec<Value> = call
            .output
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v.get("_aws").is_none())
            .collect();
        assert!(!logs.is_empty(), "{sample}: {:?}", call.output);
        for line in &logs {
            assert_eq!(
                line["span"]["trace_id"], "Root=1-6742f0a0-3f1e2d4c5b6a79801a2b3c4d",
                "{sample}: {line}"
            );
        }
        if *sample == "bookings-create" {
            assert_eq!(call.metric(name::BOOKINGS_CREATED), Some(1.0));
            assert_eq!(call.metric(name::TICKETS_BOOKED), Some(2.0));
            // The same request again is a replay, counted as one and not as a booking.
            let again = emulators[function].invoke(&session.prepare(sample)).await;
            assert_eq!(again.status, 201, "{}", again.body);
            assert_eq!(again.headers["idempotent-replayed"], "true");
            assert_eq!(again.metric(name::IDEMPOTENT_REPLAYS), Some(1.0));
            assert_eq!(again.metric(name::BOOKINGS_CREATED), None);
            assert_emf(sample, &again, &stack.namespace);
        }
        if *sample == "auth-login" {
            let mut wrong = session.prepare(sample);
            let mut body: Value =
                serde_json::from_str(wrong["body"].as_str().expect("a body")).expect("JSON");
            body["password"] = json!("Not-the-password-1");
            let text = body.to_string();
            wrong["headers"]["content-length"] = json!(text.len().to_string());
            wrong["body"] = json!(text);
            let refused = emulators[function].invoke(&wrong).await;
            assert_eq!(refused.status, 401, "{}", refused.body);
            assert_eq!(refused.body["code"], "INVALID_CREDENTIALS");
            assert_eq!(refused.metric(name::LOGINS_FAILED), Some(1.0));
        }
        session.observe(&call.body);
    }
}

/// Payments on, with the template's split of Stripe's keys: health (given the publishable key
/// alone) starts and shows it; bookings refuses to start without the secret keys, and serves
/// once it has them.
#[tokio::test]
async fn only_the_functions_that_call_stripe_need_its_secret_keys() {
    let bin_dir = build_functions();
    let stack = LocalStack::new().await;
    let session = samples::seed(&stack.state()).await;
    let mut public = stack.env.clone();
    for (key, value) in [
        ("PAYMENT_PROVIDER", "stripe"),
        ("STRIPE_PUBLISHABLE_KEY", "pk_test_emulator"),
        ("STRIPE_SECRET_KEY", ""),
        ("STRIPE_WEBHOOK_SECRET", ""),
    ] {
        public.insert(key.into(), value.into());
    }

    let health = Emulator::start(&bin_dir, Function::Health, &public);
    let config = health.invoke(&session.prepare("health-config")).await;
    assert_eq!(config.status, 200, "{}", config.body);
    let payments = &config.body["data"]["payments"];
    assert_eq!(payments["publishableKey"], "pk_test_emulator", "{payments}");
    assert_eq!(payments["provider"], "stripe", "{payments}");

    let bookings = Emulator::start(&bin_dir, Function::Bookings, &public);
    let refused = bookings
        .invoke_until(&session.prepare("bookings-list"), |lines| {
            lines.iter().any(|l| l.contains("refusing to start"))
        })
        .await;
    assert_ne!(refused.status, 200, "{}", refused.response);
    let why = refused
        .output
        .iter()
        .find(|l| l.contains("refusing to start"))
        .expect("the refusal is logged");
    assert!(
        why.contains("STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET"),
        "{why}"
    );

    let mut full = public.clone();
    full.insert("STRIPE_SECRET_KEY".into(), "sk_test_emulator".into());
    full.insert("STRIPE_WEBHOOK_SECRET".into(), "whsec_emulator".into());
    let bookings = Emulator::start(&bin_dir, Function::Bookings, &full);
    let listed = bookings.invoke(&session.prepare("bookings-list")).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    // The keys never reach the logs.
    assert!(
        !listed.output.iter().any(|l| l.contains("sk_test_emulator")),
        "{:?}",
        listed.output
    );
}

/// The mailer as Lambda runs it: a stream record naming a new outbox mail is delivered through
/// the SES stand-in, and a scheduled pass after it sends nothing twice.
#[tokio::test]
async fn the_mailer_delivers_a_streamed_mail_under_lambdas_emulator() {
    let bin_dir = ticketing_tests::emulator::cargo_build("dev", &["mailer"]);
    let stack = LocalStack::new().await;
    let ses = ticketing_tests::mail::shared_ses().await;
    let mut env = stack.env.clone();
    env.insert("SES_ENDPOINT".into(), ses.endpoint());
    let state = stack.state();
    let email = format!(
        "mailer-{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let user = ticketing::domain::NewUser::parse(&email, "Mailer-password-1", "Mae").unwrap();
    state.auth.register(user).await.unwrap();
    let due = state.store.due_mails(chrono::Utc::now(), 10).await.unwrap();
    let id = due
        .iter()
        .find(|id| id.starts_with("verify."))
        .expect("the verification");

    let mailer = Emulator::start_binary(&bin_dir.join("mailer"), &env);
    let pk = ticketing::store::table::keys::mail(id).0;
    let record = serde_json::json!({ "Records": [{ "eventName": "INSERT",
        "dynamodb": { "Keys": { "pk": { "S": pk }, "sk": { "S": "MAIL" } } } }] });
    let call = mailer.invoke(&record).await;
    assert_eq!(call.response["streamed"], 1, "{:?}", call.output);
    let mails = ses.mails_to(&email).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].text.contains("/verify-email?token="));

    let scheduled = serde_json::json!({ "source": "aws.scheduler", "detail": {} });
    let pass = mailer.invoke(&scheduled).await;
    assert_eq!(pass.response["streamed"], 0, "{:?}", pass.output);
    assert_eq!(ses.mails_to(&email).await.len(), 1);
}
