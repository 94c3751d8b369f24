//! `rootsweep targets`: the resolved target set (what a run would touch), without assuming
//! anything: one line (or record) per selected account, with why it would be skipped.

use std::io::Write;

use rootsweep_core::{Limits, discover};
use serde::Serialize;

use crate::cli::{OutputFormat, TargetsArgs};
use crate::commands::{App, selector};
use crate::error::{CliError, CliResult};
use crate::exit;
use crate::settings;

#[derive(Serialize)]
struct Row<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    account_id: &'a str,
    account_name: &'a str,
    ou_path: &'a str,
    state: &'a str,
    target: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    skip_reason: Option<String>,
}

pub(crate) async fn run(app: &App, args: &TargetsArgs) -> CliResult<u8> {
    // Protected accounts show as skipped: what a run that changes accounts would do.
    let selector = selector(&args.targets, &app.file, true)?;
    let limit_settings = settings::limit_settings(&args.limits, &app.file)?;
    let aws = app
        .aws(settings::timeouts(&args.limits, &app.file)?)
        .await?;
    let limits = Limits::new(limit_settings).map_err(CliError::usage)?;
    let targets = discover(&aws, &limits, &selector, |event| {
        crate::output::log::log_event(&event)
    })
    .await
    .map_err(|error| {
        CliError::usage(error.to_string())
            .hint("`rootsweep doctor` checks the caller and the organization")
    })?;
    let rows: Vec<Row<'_>> = targets
        .accounts
        .iter()
        .map(|target| Row {
            kind: "target",
            account_id: target.account.id.as_str(),
            account_name: &target.account.name,
            ou_path: &target.account.ou_path,
            state: target.account.state.as_str(),
            target: target.skip.is_none(),
            skip_reason: target.skip.as_ref().map(ToString::to_string),
        })
        .collect();
    let mut text = String::new();
    match app.output_format() {
        OutputFormat::Table => {
            text.push_str(&format!(
                "{:<12}  {:<24}  {:<34}  {:<16}  {}\n",
                "ACCOUNT", "NAME", "OU", "STATE", "TARGET"
            ));
            for row in &rows {
                let target = match &row.skip_reason {
                    Some(reason) => format!("skip: {reason}"),
                    None => "yes".to_string(),
                };
                text.push_str(&format!(
                    "{:<12}  {:<24}  {:<34}  {:<16}  {target}\n",
                    row.account_id, row.account_name, row.ou_path, row.state
                ));
            }
            text.push_str(&format!(
                "\n{} accounts would be worked on, {} skipped, in organization {} (management account {})\n",
                targets.active_count(),
                targets.skipped_count(),
                targets.organization.id,
                targets.organization.management_account_id
            ));
        }
        OutputFormat::Jsonl => {
            for row in &rows {
                text.push_str(&serde_json::to_string(row).unwrap_or_default());
                text.push('\n');
            }
        }
        OutputFormat::Json => {
            let document = serde_json::json!({
                "organization": targets.organization,
                "targets": targets.active_count(),
                "skipped": targets.skipped_count(),
                "accounts": rows,
            });
            text.push_str(&serde_json::to_string_pretty(&document).unwrap_or_default());
            text.push('\n');
        }
        OutputFormat::Csv => {
            text.push_str("account_id,account_name,ou_path,state,target,skip_reason\n");
            for row in &rows {
                text.push_str(&format!(
                    "{},{},{},{},{},{}\n",
                    row.account_id,
                    row.account_name.replace(',', " "),
                    row.ou_path,
                    row.state,
                    row.target,
                    row.skip_reason
                        .clone()
                        .unwrap_or_default()
                        .replace(',', ";")
                ));
            }
        }
    }
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        // `rootsweep targets | head` is fine.
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::usage(format!("cannot write to stdout: {error}")))
        }
        _ => Ok(exit::SUCCESS),
    }
}
