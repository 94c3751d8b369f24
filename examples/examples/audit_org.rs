//! Audits every member account's root user and prints one line per account, then a summary.
//!
//! It uses the standard AWS configuration chain (environment, profiles, SSO, instance roles),
//! so it runs against a real organization from its management account, or against the
//! emulator:
//!
//! ```sh
//! cargo run --release -p rootsweep-emulator -- --accounts 200 > /tmp/emulator.env &
//! source <(grep '^export\|^unset' /tmp/emulator.env)
//! cargo run -p rootsweep-examples --example audit_org
//! ```

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example program prints its results"
)]

use std::sync::Arc;

use rootsweep_core::{
    AwsContext, CancelHandle, EventKind, LimitSettings, Limits, RunSettings, Runner, Status,
    TargetSelector, Task, Timeouts, discover,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let aws = Arc::new(AwsContext::new(&config, Timeouts::default())?);
    let limits = Limits::new(LimitSettings::default())?;
    let targets = discover(&aws, &limits, &TargetSelector::default(), |_| {}).await?;
    eprintln!(
        "organization {}: {} accounts to audit, {} skipped",
        targets.organization.id,
        targets.active_count(),
        targets.skipped_count()
    );

    let cancel = CancelHandle::new();
    let on_interrupt = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_interrupt.stop();
        }
    });
    let runner = Runner::new(aws, limits, RunSettings::default());
    let summary = runner
        .run(Task::Audit, &targets, &cancel, |event| {
            if let EventKind::AccountFinished { outcome, .. } = &event.kind {
                println!(
                    "{}  {:<14} {}",
                    outcome.account_id,
                    outcome.status.as_str(),
                    outcome.summary
                );
            }
            Ok::<(), std::io::Error>(())
        })
        .await;
    eprintln!(
        "{} compliant, {} non-compliant, {} skipped, {} denied, {} failed in {:.1} s ({} AWS calls, {} throttled)",
        summary.counts.get(Status::Compliant),
        summary.counts.get(Status::NonCompliant),
        summary.counts.get(Status::Skipped),
        summary.counts.get(Status::Denied),
        summary.counts.get(Status::Failed),
        summary.duration.as_secs_f64(),
        summary.calls,
        summary.throttled,
    );
    Ok(())
}
