//! What a failed DynamoDB call means: contention, throttling, a failed condition, or a fault.

use super::*;

/// Whether an inventory shard's condition failed (every item after the catalog's is a shard or
/// the version bump, which has no condition).
pub(super) fn failed_shard(reasons: &[CancellationReason]) -> bool {
    reasons
        .iter()
        .skip(1)
        .any(|r| reason_code(Some(r)) == "ConditionalCheckFailed")
}

/// Which way a take's tickets move.
#[derive(Clone, Copy)]
pub(super) enum Taking {
    Out,
    Back,
}

/// A cancelled transaction whose reasons this code does not expect: a bug or a manual edit.
pub(super) fn unexpected(what: &str, reasons: &[CancellationReason]) -> StoreError {
    let codes: Vec<&str> = reasons.iter().map(|r| reason_code(Some(r))).collect();
    StoreError::Corrupt(format!("{what}: transaction cancelled: {codes:?}").into())
}

/// Maps an SDK failure: throttling and conflicts are contention (retryable), anything that
/// did not get an answer is unavailability.
pub(super) fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let contention = err
        .as_service_error()
        .and_then(|service| service.code())
        .is_some_and(|code| {
            matches!(
                code,
                "TransactionConflictException"
                    | "TransactionInProgressException"
                    | "ThrottlingException"
                    | "ProvisionedThroughputExceededException"
                    | "RequestLimitExceeded"
            )
        });
    // The SDK's error, kept whole: its sources say what DynamoDB answered (or that it did not).
    let cause = Cause::new(err);
    if contention {
        StoreError::Contention(cause)
    } else {
        StoreError::Unavailable(cause)
    }
}

/// A single-item conditional write's answer: `None` when its condition failed (the caller says
/// what that means), any other failure mapped by `classify`.
pub(super) fn conditional<T, E, R>(result: Result<T, SdkError<E, R>>) -> StoreResult<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e)
            if e.as_service_error().and_then(|se| se.code())
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(None)
        }
        Err(e) => Err(classify(e)),
    }
}

pub(super) fn reason_code(reason: Option<&CancellationReason>) -> &str {
    reason.and_then(|r| r.code()).unwrap_or("None")
}

/// The per-item reasons of a cancelled transaction, in request order. Any other failure, and
/// contention on any item, is already mapped to its `StoreError`.
pub(super) fn cancellation_reasons<R: std::fmt::Debug + Send + Sync + 'static>(
    err: SdkError<TransactWriteItemsError, R>,
) -> StoreResult<Vec<CancellationReason>> {
    let reasons = match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
            Some(c.cancellation_reasons().to_vec())
        }
        _ => None,
    };
    match reasons {
        Some(reasons) if reasons.iter().any(|r| is_contention(reason_code(Some(r)))) => {
            Err(StoreError::Contention(Cause::new(err)))
        }
        Some(reasons) => Ok(reasons),
        None => Err(classify(err)),
    }
}

pub(super) fn is_contention(code: &str) -> bool {
    matches!(
        code,
        "TransactionConflict"
            | "ThrottlingError"
            | "ProvisionedThroughputExceeded"
            | "RequestLimitExceeded"
    )
}
