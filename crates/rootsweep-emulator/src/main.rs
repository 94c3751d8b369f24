//! `rootsweep-emulator`: runs the emulator on 127.0.0.1 and prints the environment that points
//! rootsweep or the AWS CLI at it.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Parser;
use rootsweep_emulator::{
    Emulator, EmulatorConfig, FaultKind, FaultRule, Fidelity, Latency, LoadProfile, Quota,
    Scenario, ScenarioSpec, labels,
};

/// A local emulator of the AWS APIs rootsweep uses (STS AssumeRoot, IAM root credentials,
/// Organizations, S3 bucket policies, SQS queue policies).
///
/// It prints `export` lines for AWS_ENDPOINT_URL and a principal's credentials on stdout, then
/// serves until interrupted. Admin endpoint: GET /_emulator/stats, /_emulator/accounts/ID,
/// /_emulator/scenario, /_emulator/principals, /_emulator/load; PUT /_emulator/load;
/// POST /_emulator/clock/advance?seconds=N, /_emulator/reset.
#[derive(Debug, Parser)]
#[command(name = "rootsweep-emulator", version)]
struct Arguments {
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:4566")]
    listen: SocketAddr,

    /// Number of accounts in the generated organization, management account included
    /// [default: 500, or the --spec file's].
    #[arg(long)]
    accounts: Option<usize>,

    /// Seed of the generated organization and of every fault and latency draw
    /// [default: 7, or the --spec file's].
    #[arg(long)]
    seed: Option<u64>,

    /// Generator settings (JSON or TOML; fields of ScenarioSpec); --accounts and --seed override.
    #[arg(long, value_name = "FILE", conflicts_with = "scenario")]
    spec: Option<PathBuf>,

    /// A complete scenario to load (JSON or TOML) instead of generating one.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,

    /// Write the scenario in use to FILE (JSON or TOML) and continue.
    #[arg(long, value_name = "FILE")]
    dump_scenario: Option<PathBuf>,

    /// Leave trusted access and the IAM root-access features off in the generated org.
    #[arg(long)]
    features_disabled: bool,

    /// Do not register an IAM delegated administrator in the generated org.
    #[arg(long)]
    no_delegated_admin: bool,

    /// Load profile (JSON or TOML: latency, quotas, faults); the flags below override it.
    #[arg(long, value_name = "FILE")]
    load: Option<PathBuf>,

    /// Median latency added to every AWS request, in milliseconds.
    #[arg(long, value_name = "MS")]
    latency_median_ms: Option<f64>,

    /// 99th-percentile latency, in milliseconds (default: 4x the median).
    #[arg(long, value_name = "MS", requires = "latency_median_ms")]
    latency_p99_ms: Option<f64>,

    /// sts:AssumeRoot quota per caller account, requests per second.
    #[arg(long, value_name = "RPS")]
    assume_root_rate: Option<f64>,

    /// IAM quota per member account, requests per second.
    #[arg(long, value_name = "RPS")]
    iam_rate: Option<f64>,

    /// S3 quota per member account, requests per second.
    #[arg(long, value_name = "RPS")]
    s3_rate: Option<f64>,

    /// SQS quota per member account, requests per second.
    #[arg(long, value_name = "RPS")]
    sqs_rate: Option<f64>,

    /// Organizations quota for the whole organization, requests per second.
    #[arg(long, value_name = "RPS")]
    organizations_rate: Option<f64>,

    /// Share of requests answered with the service's throttling error (0 to 1).
    #[arg(long, value_name = "SHARE")]
    throttle_rate: Option<f64>,

    /// Share of requests answered with HTTP 500 (0 to 1).
    #[arg(long, value_name = "SHARE")]
    error_rate: Option<f64>,

    /// Share of requests whose connection is dropped before processing (0 to 1).
    #[arg(long, value_name = "SHARE")]
    drop_rate: Option<f64>,

    /// Organizations list calls return short (even empty) pages with a NextToken.
    #[arg(long)]
    short_pages: bool,

    /// Cap every AssumeRoot session's real lifetime at this many seconds.
    #[arg(long, value_name = "SECONDS")]
    session_lifetime_cap: Option<u64>,

    /// Send IAM organization-feature errors without the `Exception` suffix.
    #[arg(long)]
    unsuffixed_iam_feature_errors: bool,

    /// Let root sessions call iam:DeleteVirtualMFADevice (the task policy's text denies it).
    #[arg(long)]
    allow_virtual_mfa_delete: bool,

    /// Include the retired Status field in Organizations account records.
    #[arg(long)]
    legacy_account_status: bool,

    /// Whose credentials to print: operator, delegated-admin, management-root, member-user.
    #[arg(long, default_value = labels::OPERATOR)]
    principal: String,
}

fn read_data<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read {}", path.display()))?;
    let parsed = if path
        .extension()
        .is_some_and(|extension| extension == "toml")
    {
        toml::from_str(&text).map_err(anyhow::Error::from)
    } else {
        serde_json::from_str(&text).map_err(anyhow::Error::from)
    };
    parsed.with_context(|| format!("failed to parse {}", path.display()))
}

fn write_data<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = if path
        .extension()
        .is_some_and(|extension| extension == "toml")
    {
        toml::to_string_pretty(value)?
    } else {
        serde_json::to_string_pretty(value)?
    };
    std::fs::write(path, text).with_context(|| format!("failed to write {}", path.display()))
}

fn share(name: &str, value: f64) -> Result<f64> {
    if !(0.0..=1.0).contains(&value) {
        bail!("--{name} must be between 0 and 1, got {value}");
    }
    Ok(value)
}

fn rate(name: &str, value: Option<f64>) -> Result<Option<Quota>> {
    match value {
        Some(value) if value <= 0.0 || !value.is_finite() => {
            bail!("--{name} must be a positive number of requests per second, got {value}")
        }
        Some(value) => Ok(Some(Quota::per_second(value))),
        None => Ok(None),
    }
}

fn build_config(arguments: &Arguments) -> Result<EmulatorConfig> {
    if !arguments.listen.ip().is_loopback() {
        bail!(
            "--listen {} is not a loopback address: the emulator only listens on 127.0.0.1 (or ::1)",
            arguments.listen
        );
    }
    let scenario_seed = arguments.seed.unwrap_or(7);
    let scenario: Scenario = match &arguments.scenario {
        Some(path) => {
            let scenario: Scenario = read_data(path)?;
            scenario
                .validate()
                .with_context(|| format!("{} is not a usable scenario", path.display()))?;
            scenario
        }
        None => {
            let mut spec: ScenarioSpec = match &arguments.spec {
                Some(path) => read_data(path)?,
                None => ScenarioSpec {
                    accounts: 500,
                    ..ScenarioSpec::default()
                },
            };
            if let Some(accounts) = arguments.accounts {
                spec.accounts = accounts;
            }
            if let Some(seed) = arguments.seed {
                spec.seed = seed;
            }
            if arguments.features_disabled {
                spec.features_enabled = false;
            }
            if arguments.no_delegated_admin {
                spec.delegated_admin = false;
            }
            spec.generate()?
        }
    };
    let mut load: LoadProfile = match &arguments.load {
        Some(path) => read_data(path)?,
        None => LoadProfile {
            seed: arguments.seed.unwrap_or(scenario_seed),
            ..LoadProfile::default()
        },
    };
    if let Some(median_ms) = arguments.latency_median_ms {
        if median_ms < 0.0 {
            bail!("--latency-median-ms must not be negative");
        }
        load.latency = Some(Latency {
            median_ms,
            p99_ms: arguments.latency_p99_ms.unwrap_or(median_ms * 4.0),
        });
    }
    let quotas = &mut load.quotas;
    for (name, value, slot) in [
        (
            "assume-root-rate",
            arguments.assume_root_rate,
            &mut quotas.assume_root,
        ),
        ("iam-rate", arguments.iam_rate, &mut quotas.iam_per_account),
        ("s3-rate", arguments.s3_rate, &mut quotas.s3_per_account),
        ("sqs-rate", arguments.sqs_rate, &mut quotas.sqs_per_account),
        (
            "organizations-rate",
            arguments.organizations_rate,
            &mut quotas.organizations,
        ),
    ] {
        if let Some(quota) = rate(name, value)? {
            *slot = Some(quota);
        }
    }
    for (name, value, kind) in [
        (
            "throttle-rate",
            arguments.throttle_rate,
            FaultKind::Throttle,
        ),
        ("error-rate", arguments.error_rate, FaultKind::InternalError),
        (
            "drop-rate",
            arguments.drop_rate,
            FaultKind::DropBeforeProcessing,
        ),
    ] {
        if let Some(value) = value {
            load.faults.push(FaultRule {
                kind,
                rate: share(name, value)?,
                services: Vec::new(),
                operations: Vec::new(),
                delay_ms: 0,
            });
        }
    }
    if arguments.short_pages {
        load.short_pages = true;
    }
    if arguments.session_lifetime_cap.is_some() {
        load.session_lifetime_cap_seconds = arguments.session_lifetime_cap;
    }
    let fidelity = Fidelity {
        unsuffixed_iam_feature_errors: arguments.unsuffixed_iam_feature_errors,
        virtual_mfa_delete_allowed: arguments.allow_virtual_mfa_delete,
        legacy_account_status: arguments.legacy_account_status,
    };
    Ok(EmulatorConfig::new(scenario)
        .with_load(load)
        .with_fidelity(fidelity))
}

fn main() -> std::process::ExitCode {
    let arguments = Arguments::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: failed to start the Tokio runtime: {error}"
            );
            return std::process::ExitCode::from(2);
        }
    };
    match runtime.block_on(serve(arguments)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // One line with the whole cause chain; no backtrace for a usage error.
            let _ = writeln!(std::io::stderr(), "error: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn serve(arguments: Arguments) -> Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ROOTSWEEP_EMULATOR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let config = build_config(&arguments)?;
    if let Some(path) = &arguments.dump_scenario {
        write_data(path, &config.scenario)?;
    }
    let scenario = config.scenario.clone();
    let Some(principal) = scenario.principal(&arguments.principal) else {
        let known: Vec<&str> = scenario
            .principals
            .iter()
            .map(|p| p.label.as_str())
            .collect();
        bail!(
            "--principal {:?} is not in the scenario; it has: {}",
            arguments.principal,
            known.join(", ")
        );
    };
    let emulator = Emulator::start_on(config, arguments.listen).await?;
    let members = scenario.accounts.len().saturating_sub(1);
    let endpoint = emulator.endpoint_url();
    let banner = format!(
        "# rootsweep-emulator: organization {} with {members} member accounts; management account {}\n\
         # credentials of {:?} ({})\n\
         export AWS_ENDPOINT_URL={endpoint}\n\
         export AWS_ACCESS_KEY_ID={}\n\
         export AWS_SECRET_ACCESS_KEY={}\n\
         export AWS_REGION=us-east-1\n\
         export AWS_DEFAULT_REGION=us-east-1\n\
         unset AWS_SESSION_TOKEN AWS_PROFILE\n\
         # admin endpoint: {endpoint}/_emulator/stats\n\
         # ready\n",
        scenario.organization_id,
        scenario.management_account_id,
        principal.label,
        principal.arn(),
        principal.access_key_id,
        principal.secret_access_key,
    );
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(banner.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // A reader that stopped reading (`| head`) does not stop the emulator.
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(error).context("failed to print the environment");
        }
        _ => {}
    }
    drop(stdout);
    tokio::signal::ctrl_c()
        .await
        .context("failed to wait for Ctrl-C")?;
    emulator.stop();
    Ok(())
}
