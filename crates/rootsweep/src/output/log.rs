//! Events as `tracing` logs on stderr: with `-v` one line per account, with `-vv` every retry,
//! session and rate change. Events carry no secrets, so neither do these logs.

use rootsweep_core::{Event, EventKind};

/// Logs one event.
pub(crate) fn log_event(event: &Event) {
    let elapsed_ms = u64::try_from(event.elapsed.as_millis()).unwrap_or(u64::MAX);
    match &event.kind {
        EventKind::TargetsResolved {
            targets,
            skipped,
            calls,
        } => {
            tracing::info!(elapsed_ms, targets, skipped, calls, "targets resolved");
        }
        EventKind::RunStarted {
            run_id,
            task,
            targets,
            skipped,
            max_concurrency,
        } => {
            tracing::info!(elapsed_ms, %run_id, %task, targets, skipped, max_concurrency, "run started");
        }
        EventKind::AccountStarted { account_id } => {
            tracing::debug!(elapsed_ms, %account_id, "account started")
        }
        EventKind::SessionAssumed {
            account_id,
            task_policy,
            expires_in,
            refreshed,
            permit_wait,
            took,
        } => tracing::debug!(
            elapsed_ms,
            %account_id,
            task_policy = task_policy.name(),
            expires_in_s = expires_in.as_secs(),
            refreshed,
            permit_wait_ms = u64::try_from(permit_wait.as_millis()).unwrap_or(u64::MAX),
            took_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            "root session assumed"
        ),
        EventKind::CallRetrying {
            account_id,
            operation,
            attempt,
            delay,
            failure,
        } => tracing::debug!(
            elapsed_ms,
            account_id = account_id.as_ref().map(ToString::to_string),
            %operation,
            attempt,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            class = %failure.class,
            code = failure.code.as_deref(),
            "retrying"
        ),
        EventKind::RateChanged { budget, rate } => {
            tracing::debug!(elapsed_ms, budget, rate, "rate changed")
        }
        EventKind::AccountFinished { outcome, .. } => {
            let error = outcome.error.as_ref().map(|error| error.message.as_str());
            if outcome.status.is_failure() {
                tracing::info!(elapsed_ms, account_id = %outcome.account_id, status = %outcome.status, error, "{}", outcome.summary);
            } else {
                tracing::info!(elapsed_ms, account_id = %outcome.account_id, status = %outcome.status, "{}", outcome.summary);
            }
        }
        EventKind::RunCancelling { reason } => tracing::warn!(elapsed_ms, "{reason}"),
        EventKind::RunFinished { summary } => tracing::info!(
            elapsed_ms,
            calls = summary.calls,
            retries = summary.retries,
            throttled = summary.throttled,
            hedged = summary.hedged,
            "run finished"
        ),
        _ => {}
    }
}
