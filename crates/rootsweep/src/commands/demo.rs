//! `rootsweep demo`: an emulated organization swept end to end with the real commands (doctor,
//! audit, a dry run with a plan, delete-credentials, a second audit, an S3 unlock), their real
//! output and progress, and at the end what a run against a real organization needs. The
//! emulator runs in this process on 127.0.0.1; nothing leaves the machine.

use std::io::Write;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use clap::Parser;
use rootsweep_emulator::{
    Emulator, EmulatorConfig, Latency, LoadProfile, Quota, Quotas, ScenarioSpec, labels,
};

use crate::cli::{Cli, DemoArgs, OutputFormat};
use crate::commands::{App, dispatch};
use crate::error::{CliError, CliResult};
use crate::exit;

fn meaning(code: u8) -> &'static str {
    match code {
        exit::SUCCESS => "all good",
        exit::NON_COMPLIANT => "non-compliant accounts found",
        exit::USAGE => "a setup problem",
        exit::ACCOUNTS_FAILED => "some accounts failed or were denied",
        exit::STOPPED => "stopped by --canary or --max-failures",
        _ => "interrupted",
    }
}

pub(crate) async fn run(app: &App, args: &DemoArgs) -> CliResult<u8> {
    if !(10..=20_000).contains(&args.accounts) {
        return Err(
            CliError::usage(format!("--accounts {} is out of range", args.accounts))
                .hint("the demo takes 10 to 20000 accounts"),
        );
    }
    if !(args.latency_ms.is_finite() && args.latency_ms >= 0.0) {
        return Err(CliError::usage(
            "--latency-ms must be a number of milliseconds",
        ));
    }
    let scenario = ScenarioSpec {
        accounts: args.accounts,
        seed: args.seed,
        bucket_share: 0.25,
        locked_bucket_share: 0.25,
        ..ScenarioSpec::default()
    }
    .generate()
    .map_err(|error| CliError::usage(error.to_string()))?;
    // Quotas the engine is not told, so the demo shows the rates adapting.
    let load = LoadProfile {
        seed: args.seed,
        latency: Some(Latency {
            median_ms: args.latency_ms,
            p99_ms: args.latency_ms * 6.0,
        }),
        quotas: Quotas {
            assume_root: Some(Quota::per_second(150.0)),
            iam_per_account: Some(Quota::per_second(20.0)),
            organizations: Some(Quota::per_second(20.0)),
            ..Quotas::default()
        },
        ..LoadProfile::default()
    };
    let emulator = Emulator::start(EmulatorConfig::new(scenario.clone()).with_load(load))
        .await
        .map_err(|error| CliError::usage(format!("cannot start the emulator: {error}")))?;
    let operator = scenario
        .principal(labels::OPERATOR)
        .ok_or_else(|| CliError::usage("the emulated organization has no operator"))?;
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(emulator.endpoint_url())
        .credentials_provider(Credentials::new(
            &operator.access_key_id,
            &operator.secret_access_key,
            None,
            None,
            "demo",
        ))
        .load()
        .await;
    let directory = std::env::temp_dir().join(format!("rootsweep-demo-{}", std::process::id()));
    std::fs::create_dir_all(&directory).map_err(|error| {
        CliError::usage(format!("cannot create {}: {error}", directory.display()))
    })?;
    let plan = directory.join("plan.json");
    let plan = plan.to_string_lossy().to_string();

    let heading = |text: &str| {
        if app.terminal.stderr {
            console::style(text).bold().cyan().to_string()
        } else {
            text.to_string()
        }
    };
    app.note(&heading(&format!(
        "rootsweep demo: an emulated organization {} with {} member accounts (management account {}), served by an AWS emulator on {}",
        scenario.organization_id,
        scenario.accounts.len() - 1,
        scenario.management_account_id,
        emulator.endpoint_url()
    )));
    app.note("It has root passwords, access keys, certificates and MFA devices here and there, suspended accounts, an OU whose SCP blocks root sessions, and buckets locked by deny-all policies. AWS quotas are emulated and not told to rootsweep.");

    let steps: Vec<(&str, Vec<String>)> = vec![
        (
            "Check that the caller and the organization are ready",
            vec!["doctor".into()],
        ),
        (
            "Audit every member account's root user",
            vec!["audit".into()],
        ),
        (
            "See exactly what deleting root credentials would change, and save it as a plan",
            vec![
                "delete-credentials".into(),
                "--dry-run".into(),
                "--plan-out".into(),
                plan.clone(),
            ],
        ),
        (
            "Delete root credentials (--yes stands in for the typed confirmation; `rootsweep apply PLAN` would carry out exactly the saved plan instead)",
            vec!["delete-credentials".into(), "--yes".into()],
        ),
        ("Audit again", vec!["audit".into()]),
        (
            "Delete bucket policies that lock everyone out, keeping their text in the records",
            vec![
                "unlock-s3-bucket-policy".into(),
                "--find-deny-all".into(),
                "--yes".into(),
            ],
        ),
    ];
    for (number, (title, arguments)) in steps.iter().enumerate() {
        let mut line = vec!["rootsweep".to_string()];
        line.extend(arguments.iter().cloned());
        app.note(&format!(
            "\n{}\n$ {}",
            heading(&format!("{}. {title}", number + 1)),
            line.join(" ")
        ));
        // The demo's own output options carry over to each step.
        if let Some(format) = app.global.output {
            line.push("--output".into());
            line.push(
                match format {
                    OutputFormat::Table => "table",
                    OutputFormat::Jsonl => "jsonl",
                    OutputFormat::Json => "json",
                    OutputFormat::Csv => "csv",
                }
                .into(),
            );
        }
        if app.global.no_progress {
            line.push("--no-progress".into());
        }
        for _ in 0..app.global.verbose {
            line.push("-v".into());
        }
        let cli = Cli::try_parse_from(&line)
            .map_err(|error| CliError::usage(format!("demo step {line:?}: {error}")))?;
        let code = match Box::pin(dispatch(cli, app.terminal, Some(config.clone()))).await {
            Ok(code) => code,
            Err(error) => {
                app.note(&error.render());
                error.code()
            }
        };
        let _ = std::io::stdout().flush();
        app.note(&format!("(exit code {code}: {})", meaning(code)));
        if code == exit::USAGE {
            return Err(CliError::usage(format!(
                "the demo step `{}` failed",
                line.join(" ")
            )));
        }
    }
    let stats = emulator.stats();
    let throttling = match stats.throttled() {
        0 => "none throttled".to_string(),
        count => format!("{count} throttled by quotas rootsweep was not told, and adapted to"),
    };
    app.note(&format!(
        "\n{}\nThe emulator answered {} requests ({throttling}) and recorded {} changes.",
        heading("Done."),
        stats.requests,
        stats.mutations.len()
    ));
    app.note(&format!(
        "Against a real organization you need:\n\
         - credentials of an IAM role or user in the management account (or the IAM delegated administrator), never root credentials;\n\
         - permission for sts:AssumeRoot on arn:aws:iam::*:root, limited with sts:TaskPolicyArn to the task policies you use, and read access to Organizations (docs/guide.md has a least-privilege policy);\n\
         - centralized root access enabled: `rootsweep enable` (trusted access for IAM, RootCredentialsManagement, RootSessions);\n\
         - a regional STS endpoint: --region us-east-1 (or AWS_REGION);\n\
         - SCPs that exempt AssumeRoot sessions (`rootsweep doctor` probes one account).\n\
         Start with `rootsweep doctor`, then `rootsweep audit`. The plan this demo wrote is {plan}."
    ));
    Ok(exit::SUCCESS)
}
