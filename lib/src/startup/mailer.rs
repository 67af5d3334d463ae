//! The mailer function's life: configuration, the store and SES clients (built on first use),
//! and a handler that delivers what the stream names, then whatever else is due.

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
    let config = super::lambda_config()?;
    telemetry::init();
    let mailer = Arc::new(SesMailer::new(
        config.mail.ses_endpoint.clone(),
        config.aws_region.clone(),
    ));
    let (state, _) = super::state(config, true);
    let worker = MailWorker::new(&state, mailer);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let worker = worker.clone();
        async move { handle(&worker, &event.payload).await }
    }))
    .await
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
    }
}
