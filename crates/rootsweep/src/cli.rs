//! The command line, as clap types: [`Cli`] and its [`Command`]s, with the option groups they
//! share ([`TargetArgs`], [`LimitArgs`], [`SafetyArgs`]). Parsing only: nothing here calls AWS.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Audit and remediate AWS Organizations member-account root users in bulk.
///
/// From the management account (or the IAM delegated administrator), rootsweep runs short,
/// task-scoped sts:AssumeRoot sessions across member accounts, within AWS's rate limits, and
/// reports one result per account.
///
/// Start with `rootsweep demo` (an emulated organization, no AWS account needed), then
/// `rootsweep doctor` against your organization.
#[derive(Debug, Parser)]
#[command(
    name = "rootsweep",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,

    #[command(flatten)]
    pub(crate) global: GlobalArgs,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// AWS profile to use (default: the standard AWS configuration chain).
    #[arg(
        long,
        global = true,
        env = "AWS_PROFILE",
        hide_env_values = true,
        value_name = "NAME"
    )]
    pub(crate) profile: Option<String>,

    /// AWS region for STS. AssumeRoot needs a regional endpoint; `aws-global` is refused.
    #[arg(long, global = true, value_name = "REGION")]
    pub(crate) region: Option<String>,

    /// Send every AWS request to this endpoint (an emulator, a proxy). AWS_ENDPOINT_URL works
    /// too.
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) endpoint_url: Option<String>,

    /// Settings file [default: ./rootsweep.toml when it exists].
    #[arg(
        long,
        global = true,
        env = "ROOTSWEEP_CONFIG",
        hide_env_values = true,
        value_name = "FILE"
    )]
    pub(crate) config: Option<PathBuf>,

    /// Output format on stdout [default: table on a terminal, jsonl otherwise].
    #[arg(
        long,
        short = 'o',
        global = true,
        env = "ROOTSWEEP_OUTPUT",
        hide_env_values = true,
        value_enum
    )]
    pub(crate) output: Option<OutputFormat>,

    /// Also write a report to PATH; the format comes from the extension: .json, .jsonl, .csv,
    /// .junit.xml, .sarif, .md. Repeatable.
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) report: Vec<PathBuf>,

    /// Write the run journal (every outcome, synced to disk as it happens) to PATH [default:
    /// the settings file's journal_dir, else $XDG_STATE_HOME/rootsweep/journals/RUN_ID.jsonl].
    #[arg(
        long,
        global = true,
        env = "ROOTSWEEP_JOURNAL",
        hide_env_values = true,
        value_name = "PATH"
    )]
    pub(crate) journal: Option<PathBuf>,

    /// No progress bar (it is also off when stderr is not a terminal, or under CI).
    #[arg(
        long,
        global = true,
        env = "ROOTSWEEP_NO_PROGRESS",
        hide_env_values = true
    )]
    pub(crate) no_progress: bool,

    /// More logs on stderr: -v for each account, -vv for every retry, session and rate change.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned columns for people, streamed, then a summary.
    Table,
    /// One JSON record per account as it finishes, then a summary line.
    Jsonl,
    /// One JSON document: the records, then the summary (streamed as it is written).
    Json,
    /// One CSV row per account.
    Csv,
}

/// Log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check that this caller and organization can run rootsweep, and say how to fix what is
    /// missing.
    Doctor(DoctorArgs),
    /// Turn on what rootsweep needs: trusted access for IAM, root credentials management and
    /// root sessions (idempotent; management account only).
    Enable(EnableArgs),
    /// Print the accounts a run would touch, without assuming anything.
    Targets(TargetsArgs),
    /// Read every target's root credentials (IAMAuditRootUserCredentials).
    Audit(AuditArgs),
    /// Delete root credentials: password, access keys, signing certificates, MFA devices
    /// (IAMDeleteRootUserCredentials).
    DeleteCredentials(DeleteArgs),
    /// Allow root password recovery where the root user has no login profile
    /// (IAMCreateRootUserPassword).
    AllowPasswordRecovery(RecoveryArgs),
    /// Delete S3 bucket policies that lock everyone out, keeping their text in the record
    /// (S3UnlockBucketPolicy).
    UnlockS3BucketPolicy(UnlockS3Args),
    /// Remove SQS queue policies that lock everyone out, keeping their text in the record
    /// (SQSUnlockQueuePolicy).
    UnlockSqsQueuePolicy(UnlockSqsArgs),
    /// Carry out a plan written by --plan-out: exactly the planned changes, nothing that
    /// appeared since (reported as drift).
    Apply(ApplyArgs),
    /// Finish a run from its journal: the same task, options and targets, skipping every
    /// account that already ended.
    Resume(ResumeArgs),
    /// Sweep an emulated organization end to end: doctor, audit, a dry run, delete, audit
    /// again. No AWS account needed.
    Demo(DemoArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    Man,
}

/// Which accounts to target.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Targeting")]
pub(crate) struct TargetArgs {
    /// Only these accounts (12-digit IDs, comma-separated).
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    pub(crate) accounts: Vec<String>,

    /// Only the accounts in FILE: one ID a line, or CSV with an `account_id` column.
    #[arg(long, value_name = "FILE")]
    pub(crate) accounts_file: Option<PathBuf>,

    /// Only accounts in this OU, recursively: an ID (ou-...), the root (r-...) or a path of
    /// names (/Workloads/Prod). Repeatable.
    #[arg(long, value_name = "OU")]
    pub(crate) ou: Vec<String>,

    /// Only accounts with this tag (KEY=VALUE). Repeatable; all must match.
    #[arg(long, value_name = "KEY=VALUE")]
    pub(crate) tag: Vec<String>,

    /// Never these accounts (comma-separated).
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    pub(crate) exclude: Vec<String>,

    /// Never accounts in this OU, recursively. Repeatable.
    #[arg(long, value_name = "OU")]
    pub(crate) exclude_ou: Vec<String>,
}

/// Rates, concurrency and retries.
#[derive(Debug, Clone, Default, PartialEq, Args)]
#[command(next_help_heading = "Limits")]
pub(crate) struct LimitArgs {
    /// The most accounts in flight at once [default: 512].
    #[arg(
        long,
        env = "ROOTSWEEP_CONCURRENCY",
        hide_env_values = true,
        value_name = "N"
    )]
    pub(crate) concurrency: Option<usize>,

    /// Ceiling for sts:AssumeRoot calls per second (adaptive below it) [default: 5000].
    #[arg(
        long,
        env = "ROOTSWEEP_ASSUME_ROOT_RATE",
        hide_env_values = true,
        value_name = "RPS"
    )]
    pub(crate) assume_root_rate: Option<f64>,

    /// Ceiling for IAM calls per second inside each member account [default: 500].
    #[arg(
        long,
        env = "ROOTSWEEP_IAM_RATE",
        hide_env_values = true,
        value_name = "RPS"
    )]
    pub(crate) iam_rate: Option<f64>,

    /// Ceiling for Organizations calls per second [default: 200].
    #[arg(
        long,
        env = "ROOTSWEEP_ORGANIZATIONS_RATE",
        hide_env_values = true,
        value_name = "RPS"
    )]
    pub(crate) organizations_rate: Option<f64>,

    /// Hold every rate at its ceiling instead of adapting to throttling.
    #[arg(long)]
    pub(crate) fixed_rates: bool,

    /// Give up on one attempt of an AWS call after this many seconds (then retry) [default: 30].
    #[arg(
        long,
        env = "ROOTSWEEP_CALL_TIMEOUT",
        hide_env_values = true,
        value_name = "SECONDS"
    )]
    pub(crate) call_timeout: Option<f64>,

    /// Attempts per AWS call that fails transiently (timeout, 5xx, dropped connection), the
    /// first included [default: 10]. Throttled calls get `throttled_attempts` (settings file,
    /// default 30).
    #[arg(
        long,
        env = "ROOTSWEEP_ATTEMPTS",
        hide_env_values = true,
        value_name = "N"
    )]
    pub(crate) attempts: Option<u32>,

    /// Send a read inside a member account once more when it has not answered in time; the
    /// first answer wins. `auto` waits the 95th percentile of the run's own read latencies
    /// (at least 50 ms, and only after 100 reads); a delay such as `150ms` fixes the wait;
    /// `off` never hedges. Nothing is hedged while over 5% of the run's answers are throttled
    /// (a hedge spends quota), and writes are never sent twice [default: auto].
    #[arg(
        long,
        env = "ROOTSWEEP_HEDGE_READS",
        hide_env_values = true,
        value_name = "auto|off|DELAY"
    )]
    pub(crate) hedge_reads: Option<String>,
}

/// Safety rails of the commands that change accounts.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Safety")]
pub(crate) struct SafetyArgs {
    /// Read and report exactly what would change; change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// Write the plan of a dry run to FILE, for `rootsweep apply` (implies --dry-run).
    #[arg(long, value_name = "FILE")]
    pub(crate) plan_out: Option<PathBuf>,

    /// Do not ask for confirmation (required when stdin or stderr is not a terminal).
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,

    /// Work on N accounts first and stop if any of them fails or is denied.
    #[arg(long, value_name = "N")]
    pub(crate) canary: Option<usize>,

    /// Stop scheduling accounts once more than N (or P% of the targets) have failed or been
    /// denied; accounts in flight finish.
    #[arg(long, value_name = "N|P%")]
    pub(crate) max_failures: Option<String>,

    /// Refuse to run when more than N accounts are targeted.
    #[arg(long, value_name = "N")]
    pub(crate) max_accounts: Option<usize>,
}

/// `doctor`.
#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// Probe AssumeRoot in this account [default: the first active member account].
    #[arg(long, value_name = "ID")]
    pub(crate) probe_account: Option<String>,
}

/// `enable`.
#[derive(Debug, Args)]
pub(crate) struct EnableArgs {
    /// Also register this member account as the IAM delegated administrator.
    #[arg(long, value_name = "ID")]
    pub(crate) delegated_admin: Option<String>,

    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
}

/// `targets`.
#[derive(Debug, Args)]
pub(crate) struct TargetsArgs {
    #[command(flatten)]
    pub(crate) targets: TargetArgs,

    #[command(flatten)]
    pub(crate) limits: LimitArgs,
}

/// `audit`.
#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    #[command(flatten)]
    pub(crate) targets: TargetArgs,

    #[command(flatten)]
    pub(crate) limits: LimitArgs,

    /// Work on N accounts first and stop if any of them fails or is denied.
    #[arg(long, value_name = "N", help_heading = "Safety")]
    pub(crate) canary: Option<usize>,

    /// Stop scheduling once more than N (or P%) accounts have failed or been denied.
    #[arg(long, value_name = "N|P%", help_heading = "Safety")]
    pub(crate) max_failures: Option<String>,

    /// Refuse to run when more than N accounts are targeted.
    #[arg(long, value_name = "N", help_heading = "Safety")]
    pub(crate) max_accounts: Option<usize>,
}

/// `delete-credentials`.
#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// Delete only these kinds: password, access-keys, signing-certificates, mfa-devices
    /// (comma-separated) [default: all four].
    #[arg(long, value_name = "KIND,...", value_delimiter = ',')]
    pub(crate) kinds: Vec<String>,

    #[command(flatten)]
    pub(crate) targets: TargetArgs,

    #[command(flatten)]
    pub(crate) safety: SafetyArgs,

    #[command(flatten)]
    pub(crate) limits: LimitArgs,
}

/// `allow-password-recovery`.
#[derive(Debug, Args)]
pub(crate) struct RecoveryArgs {
    #[command(flatten)]
    pub(crate) targets: TargetArgs,

    #[command(flatten)]
    pub(crate) safety: SafetyArgs,

    #[command(flatten)]
    pub(crate) limits: LimitArgs,
}

/// `unlock-s3-bucket-policy`.
#[derive(Debug, Args)]
pub(crate) struct UnlockS3Args {
    /// The bucket whose policy to delete, whatever it says.
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "find_deny_all",
        conflicts_with = "find_deny_all"
    )]
    pub(crate) bucket: Option<String>,

    /// Find every bucket whose policy denies every principal, and delete those policies.
    #[arg(long)]
    pub(crate) find_deny_all: bool,

    #[command(flatten)]
    pub(crate) targets: TargetArgs,

    #[command(flatten)]
    pub(crate) safety: SafetyArgs,

    #[command(flatten)]
    pub(crate) limits: LimitArgs,
}

/// `unlock-sqs-queue-policy`.
#[derive(Debug, Args)]
pub(crate) struct UnlockSqsArgs {
    /// The queue (name or URL) whose policy to remove, whatever it says.
    #[arg(
        long,
        value_name = "NAME|URL",
        required_unless_present = "find_deny_all",
        conflicts_with = "find_deny_all"
    )]
    pub(crate) queue: Option<String>,

    /// Find every queue whose policy denies every principal, and remove those policies.
    #[arg(long)]
    pub(crate) find_deny_all: bool,

    /// Regions to search (comma-separated) [default: the settings file's `regions`, else the
    /// caller's region].
    #[arg(long, value_name = "REGION,...", value_delimiter = ',')]
    pub(crate) regions: Vec<String>,

    #[command(flatten)]
    pub(crate) targets: TargetArgs,

    #[command(flatten)]
    pub(crate) safety: SafetyArgs,

    #[command(flatten)]
    pub(crate) limits: LimitArgs,
}

/// `apply`.
#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// The plan file written by --plan-out.
    #[arg(value_name = "PLAN")]
    pub(crate) plan: PathBuf,

    /// Do not ask for confirmation (required when stdin or stderr is not a terminal).
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,

    /// Work on N accounts first and stop if any of them fails or is denied.
    #[arg(long, value_name = "N", help_heading = "Safety")]
    pub(crate) canary: Option<usize>,

    /// Stop scheduling once more than N (or P%) accounts have failed or been denied.
    #[arg(long, value_name = "N|P%", help_heading = "Safety")]
    pub(crate) max_failures: Option<String>,

    #[command(flatten)]
    pub(crate) limits: LimitArgs,
}

/// `resume`.
#[derive(Debug, Args)]
pub(crate) struct ResumeArgs {
    /// The journal of the run to finish (printed when the run started).
    #[arg(value_name = "JOURNAL")]
    pub(crate) journal_file: PathBuf,

    /// Also work again on accounts that failed or were denied.
    #[arg(long)]
    pub(crate) retry_failed: bool,

    /// Do not ask for confirmation (required when stdin or stderr is not a terminal).
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,

    #[command(flatten)]
    pub(crate) limits: LimitArgs,
}

/// `demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Accounts in the emulated organization.
    #[arg(long, default_value_t = 300, value_name = "N")]
    pub(crate) accounts: usize,

    /// Seed of the emulated organization.
    #[arg(long, default_value_t = 7)]
    pub(crate) seed: u64,

    /// Median latency of every emulated AWS call, in milliseconds.
    #[arg(long, default_value_t = 15.0, value_name = "MS")]
    pub(crate) latency_ms: f64,
}

/// `completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    /// What `rootsweep ARGS --help` prints, at a fixed width.
    fn help(arguments: &[&str]) -> String {
        let mut line = vec!["rootsweep"];
        line.extend_from_slice(arguments);
        line.push("--help");
        let error = Cli::command()
            .term_width(100)
            .try_get_matches_from(line)
            .expect_err("--help exits");
        assert_eq!(error.kind(), clap::error::ErrorKind::DisplayHelp);
        error.render().to_string()
    }

    #[test]
    fn help_of_every_command() {
        insta::assert_snapshot!("help", help(&[]));
        let names: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|sub| sub.get_name().to_string())
            .collect();
        for name in names.iter().filter(|name| *name != "help") {
            insta::assert_snapshot!(format!("help-{name}"), help(&[name]));
        }
    }

    #[test]
    fn conflicting_and_missing_flags_are_usage_errors() {
        let error = Cli::try_parse_from([
            "rootsweep",
            "unlock-s3-bucket-policy",
            "--bucket",
            "b",
            "--find-deny-all",
        ])
        .expect_err("conflict");
        assert_eq!(error.exit_code(), 2);
        let error =
            Cli::try_parse_from(["rootsweep", "unlock-sqs-queue-policy"]).expect_err("missing");
        assert_eq!(error.exit_code(), 2);
    }
}
