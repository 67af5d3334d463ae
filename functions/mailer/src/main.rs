//! The `mailer` Lambda function: delivers the outbox, woken by the table's stream (a new mail)
//! and by a schedule (mails due again after a failed try). See `ticketing::startup::serve_mailer`.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    ticketing::startup::serve_mailer().await
}
