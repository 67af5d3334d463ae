//! The mailer function's life: configuration, the store and SES clients (built on first use),
//! and a handler that delivers what the stream names, then whatever else is due. With payments
//! on it is also the checkout's sweep: each scheduled invocation (every minute) sweeps the
//! payment queue every `SWEEP_EVERY` for most of that minute, so a lapsed hold is released
//! within ~5 s of its `expiresAt`, well inside the contract's 30 s.

use crate::mail::{MailWorker, SesMailer};
use crate::store::table::keys;
use crate::telemetry;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::{json, Value};
use std::sync::Arc;

/// The mail ids of a DynamoDB stream batch's new outbox items (the event source mapping's filter
/// passes only those; anything else is ignored). A scheduled event has no records: none.
pub fn new_mail_ids(event: &Value) -> Vec<String> {
    let prefix = keys::mail("").0;
    event["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|record| record["eventName"] == "INSERT")
        .filter_map(|record| record["dynamodb"]["Keys"]["pk"]["S"].as_str())
        .filter_map(|pk| pk.strip_prefix(&prefix))
        .map(str::to_owned)
        .collect()
}

pub async fn serve_mailer() -> Result<(), lambda_runtime::Error> {
    // The checkout's sweep voids, captures and refunds: it needs the keys.
    let config = super::lambda_config(true)?;
    telemetry::init();
    let mailer = Arc::new(SesMailer::new(
        config.mail.ses_endpoint.clone(),
        config.aws_region.clone(),
    ));
    let (state, _) = super::state(config, true);
    let worker = MailWorker::new(&state, mailer);
    let checkout = state.bookings.checkout().cloned();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (worker, checkout) = (worker.clone(), checkout.clone());
        async move {
            let mut answer = handle(&worker, &event.payload).await?;
            if let (Some(checkout), true) = (checkout, is_scheduled(&event.payload)) {
                answer["payments"] = json!(sweep_for_a_minute(&checkout).await?);
            }
            Ok::<_, lambda_runtime::Error>(answer)
        }
    }))
    .await
}

/// How often a scheduled invocation sweeps the payment queue, and for how long in all (the
/// function's timeout is 60 s; the next schedule starts the next run).
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
const SWEEP_FOR: std::time::Duration = std::time::Duration::from_secs(50);
const SWEEP_BATCH: usize = 100;

/// A scheduled event (not a stream batch): EventBridge Scheduler's payload has no records.
fn is_scheduled(event: &Value) -> bool {
    event.get("Records").is_none()
}

/// Sweeps the payment queue until `SWEEP_FOR` has passed; how many bookings it looked at. A
/// store that can't be read fails the invocation (the alarm on errors sees it).
async fn sweep_for_a_minute(
    checkout: &crate::service::CheckoutService,
) -> Result<usize, lambda_runtime::Error> {
    let started = tokio::time::Instant::now();
    let mut seen = 0;
    while started.elapsed() < SWEEP_FOR {
        let n = checkout.sweep(SWEEP_BATCH).await?;
        seen += n;
        if n < SWEEP_BATCH {
            tokio::time::sleep(SWEEP_EVERY).await;
        }
    }
    Ok(seen)
}

/// Delivers the batch's new mails, then one pass over everything due. A store that can't be
/// read fails the invocation, so the stream retries the batch (and, past its retries, sends it
/// to the dead-letter queue); a mail SES refused is due again and the schedule picks it up.
async fn handle(worker: &MailWorker, event: &Value) -> Result<Value, lambda_runtime::Error> {
    let ids = new_mail_ids(event);
    for id in &ids {
        worker.deliver(id).await?;
    }
    let pass = worker.drain().await?;
    Ok(json!({
        "streamed": ids.len(),
        "sent": pass.sent,
        "skipped": pass.skipped,
        "failed": pass.failed,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_new_outbox_items_are_delivered_from_a_stream_batch() {
        let record = |name: &str, pk: &str| json!({ "eventName": name, "dynamodb": { "Keys": { "pk": { "S": pk }, "sk": { "S": "MAIL" } } } });
        let batch = json!({ "Records": [
            record("INSERT", "MAIL#verify.01ABC"),
            record("MODIFY", "MAIL#verify.01ABC"),
            record("INSERT", "BOOKING#01XYZ"),
            record("INSERT", "MAIL#confirmed.01XYZ"),
        ]});
        assert_eq!(new_mail_ids(&batch), ["verify.01ABC", "confirmed.01XYZ"]);
        assert!(new_mail_ids(&json!({ "source": "aws.scheduler" })).is_empty());
        assert!(is_scheduled(&json!({ "source": "aws.scheduler" })));
        assert!(!is_scheduled(&batch));
    }
}
