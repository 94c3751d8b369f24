//! Settings: `rootsweep.toml` ([`FileSettings`]) and how it combines with flags and the
//! environment. Precedence, highest first: flags, `ROOTSWEEP_*` environment variables (clap
//! reads those into the flags), the settings file, built-in defaults.

use std::path::{Path, PathBuf};

use rootsweep_core::{
    AccountId, FailureLimit, HedgedReads, LimitSettings, RateSettings, RetryPolicy, RunSettings,
};
use serde::Deserialize;

use crate::cli::{LimitArgs, OutputFormat};
use crate::error::{CliError, CliResult};

/// The file's name in the working directory.
pub(crate) const DEFAULT_FILE: &str = "rootsweep.toml";

/// `rootsweep.toml`. Every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct FileSettings {
    /// Accounts never changed, whatever the flags say.
    pub(crate) protected_accounts: Vec<String>,
    /// OUs (IDs or name paths) whose accounts are never changed.
    pub(crate) protected_ous: Vec<String>,
    /// AWS profile.
    pub(crate) profile: Option<String>,
    /// AWS region for STS.
    pub(crate) region: Option<String>,
    /// Output format: table, jsonl, json or csv.
    pub(crate) output: Option<String>,
    /// Most accounts in flight.
    pub(crate) concurrency: Option<usize>,
    /// AssumeRoot ceiling, calls per second.
    pub(crate) assume_root_rate: Option<f64>,
    /// IAM ceiling per member account, calls per second.
    pub(crate) iam_rate: Option<f64>,
    /// Organizations ceiling, calls per second.
    pub(crate) organizations_rate: Option<f64>,
    /// Hold rates at their ceilings instead of adapting.
    pub(crate) fixed_rates: Option<bool>,
    /// Attempts per AWS call that fails transiently.
    pub(crate) attempts: Option<u32>,
    /// Attempts per AWS call that AWS throttles.
    pub(crate) throttled_attempts: Option<u32>,
    /// Seconds before one attempt of an AWS call gives up.
    pub(crate) call_timeout: Option<f64>,
    /// Hedged reads: auto, off, or a delay such as "150ms".
    pub(crate) hedge_reads: Option<String>,
    /// Regions for SQS searches.
    pub(crate) regions: Vec<String>,
    /// Default --max-failures.
    pub(crate) max_failures: Option<String>,
    /// Default --canary.
    pub(crate) canary: Option<usize>,
    /// Default --max-accounts.
    pub(crate) max_accounts: Option<usize>,
    /// Where journals go [default: the user's state directory].
    pub(crate) journal_dir: Option<PathBuf>,
}

impl FileSettings {
    /// Reads `path` if given (it must exist), else `./rootsweep.toml` if it exists.
    pub(crate) fn load(path: Option<&Path>) -> CliResult<(Self, Option<PathBuf>)> {
        let (path, required) = match path {
            Some(path) => (path.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_FILE), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok((Self::default(), None));
            }
            Err(error) => {
                return Err(CliError::usage(format!(
                    "cannot read the settings file {}: {error}",
                    path.display()
                ))
                .hint("check the path given to --config or ROOTSWEEP_CONFIG"));
            }
        };
        let settings = Self::parse(&text).map_err(|message| {
            CliError::usage(format!(
                "{} is not a valid settings file: {message}",
                path.display()
            ))
        })?;
        Ok((settings, Some(path)))
    }

    /// Parses and checks settings text.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let settings: Self = toml::from_str(text)
            .map_err(|error| error.message().to_string() + &location(text, &error))?;
        for id in &settings.protected_accounts {
            AccountId::parse(id).map_err(|error| format!("protected_accounts: {error}"))?;
        }
        if let Some(output) = &settings.output {
            parse_output(output)?;
        }
        if let Some(hedge) = &settings.hedge_reads {
            hedge
                .parse::<HedgedReads>()
                .map_err(|error| format!("hedge_reads: {error}"))?;
        }
        if let Some(limit) = &settings.max_failures {
            limit
                .parse::<FailureLimit>()
                .map_err(|error| format!("max_failures: {error}"))?;
        }
        Ok(settings)
    }

    /// The protected accounts, validated by [`parse`](Self::parse).
    pub(crate) fn protected_account_ids(&self) -> Vec<AccountId> {
        self.protected_accounts
            .iter()
            .filter_map(|id| AccountId::parse(id).ok())
            .collect()
    }
}

fn location(text: &str, error: &toml::de::Error) -> String {
    let Some(span) = error.span() else {
        return String::new();
    };
    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
    format!(" (line {line})")
}

/// Parses an output format name.
pub(crate) fn parse_output(text: &str) -> Result<OutputFormat, String> {
    match text {
        "table" => Ok(OutputFormat::Table),
        "jsonl" => Ok(OutputFormat::Jsonl),
        "json" => Ok(OutputFormat::Json),
        "csv" => Ok(OutputFormat::Csv),
        other => Err(format!(
            "output {other:?} is not one of table, jsonl, json, csv"
        )),
    }
}

/// Combines a ceiling with the adaptive default of a budget.
fn budget(
    default: RateSettings,
    ceiling: Option<f64>,
    fixed: bool,
    flag: &str,
) -> CliResult<RateSettings> {
    let settings = match (ceiling, fixed) {
        (Some(rate), _) if !(rate.is_finite() && rate > 0.0) => {
            return Err(CliError::usage(format!(
                "--{flag} {rate} is not a positive number of calls per second"
            )));
        }
        (Some(rate), true) => RateSettings::fixed(rate),
        (Some(rate), false) => RateSettings {
            initial: default.initial.min(rate),
            min: default.min.min(rate),
            max: rate,
            adaptive: true,
        },
        (None, true) => RateSettings::fixed(default.max),
        (None, false) => default,
    };
    Ok(settings)
}

/// The limit settings from flags and file.
pub(crate) fn limit_settings(flags: &LimitArgs, file: &FileSettings) -> CliResult<LimitSettings> {
    let defaults = LimitSettings::default();
    let fixed = flags.fixed_rates || file.fixed_rates.unwrap_or(false);
    let attempts = flags
        .attempts
        .or(file.attempts)
        .unwrap_or(defaults.retry.max_attempts);
    if attempts == 0 {
        return Err(CliError::usage("--attempts must be at least 1"));
    }
    let throttled_attempts = file
        .throttled_attempts
        .unwrap_or(defaults.retry.throttled_attempts);
    if throttled_attempts == 0 {
        return Err(CliError::usage(
            "throttled_attempts in the settings file must be at least 1",
        ));
    }
    let iam = budget(
        defaults.iam_per_account,
        flags.iam_rate.or(file.iam_rate),
        fixed,
        "iam-rate",
    )?;
    let hedged_reads = match flags.hedge_reads.as_deref().or(file.hedge_reads.as_deref()) {
        None => defaults.hedged_reads,
        Some(text) => text
            .parse::<HedgedReads>()
            .map_err(|error| CliError::usage(format!("--hedge-reads: {error}")))?,
    };
    Ok(LimitSettings {
        assume_root: budget(
            defaults.assume_root,
            flags.assume_root_rate.or(file.assume_root_rate),
            fixed,
            "assume-root-rate",
        )?,
        organizations: budget(
            defaults.organizations,
            flags.organizations_rate.or(file.organizations_rate),
            fixed,
            "organizations-rate",
        )?,
        // S3 and SQS calls inside an account share IAM's ceiling: one knob per account.
        iam_per_account: iam,
        s3_per_account: iam,
        sqs_per_account: iam,
        retry: RetryPolicy {
            max_attempts: attempts,
            throttled_attempts,
            ..defaults.retry
        },
        hedged_reads,
    })
}

/// The per-call timeouts from flags and file.
pub(crate) fn timeouts(
    flags: &LimitArgs,
    file: &FileSettings,
) -> CliResult<rootsweep_core::Timeouts> {
    let defaults = rootsweep_core::Timeouts::default();
    match flags.call_timeout.or(file.call_timeout) {
        None => Ok(defaults),
        Some(seconds) if seconds.is_finite() && seconds > 0.0 && seconds <= 3_600.0 => {
            Ok(rootsweep_core::Timeouts {
                attempt: std::time::Duration::from_secs_f64(seconds),
                ..defaults
            })
        }
        Some(seconds) => Err(CliError::usage(format!(
            "--call-timeout {seconds} is not a number of seconds between 0 and 3600"
        ))),
    }
}

/// The run settings from flags and file.
pub(crate) fn run_settings(
    flags: &LimitArgs,
    canary: Option<usize>,
    max_failures: Option<&str>,
    file: &FileSettings,
) -> CliResult<RunSettings> {
    let defaults = RunSettings::default();
    let concurrency = flags
        .concurrency
        .or(file.concurrency)
        .unwrap_or(defaults.max_concurrency);
    if concurrency == 0 {
        return Err(CliError::usage("--concurrency must be at least 1"));
    }
    let max_failures = match max_failures.or(file.max_failures.as_deref()) {
        Some(text) => Some(text.parse::<FailureLimit>().map_err(|error| {
            CliError::usage(format!("--max-failures: {error}"))
                .hint("for example --max-failures 5 or --max-failures 2%")
        })?),
        None => None,
    };
    let canary = canary.or(file.canary);
    if canary == Some(0) {
        return Err(CliError::usage("--canary must be at least 1"));
    }
    Ok(RunSettings {
        max_concurrency: concurrency,
        initial_concurrency: defaults.initial_concurrency.min(concurrency),
        canary,
        max_failures,
        run_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_files_parse_and_reject_unknown_keys() {
        let settings = FileSettings::parse(
            r#"
protected_accounts = ["111111111111"]
protected_ous = ["/Security", "ou-abcd-12345678"]
concurrency = 64
assume_root_rate = 40.0
regions = ["us-east-1", "eu-west-1"]
max_failures = "2%"
"#,
        )
        .expect("valid");
        assert_eq!(settings.protected_account_ids().len(), 1);
        assert_eq!(settings.concurrency, Some(64));
        let error = FileSettings::parse("concurency = 4\n").expect_err("typo");
        assert!(error.contains("unknown field `concurency`"), "{error}");
        assert!(error.contains("line 1"), "{error}");
        let error = FileSettings::parse("protected_accounts = [\"12\"]").expect_err("bad id");
        assert!(error.contains("12 digits"), "{error}");
        let error = FileSettings::parse("max_failures = \"lots\"").expect_err("bad limit");
        assert!(error.contains("max_failures"), "{error}");
        let error = FileSettings::parse("output = \"yaml\"").expect_err("bad output");
        assert!(error.contains("table, jsonl, json, csv"), "{error}");
    }

    #[test]
    fn hedged_reads_come_from_flag_then_file_then_default() {
        let file = FileSettings::parse("hedge_reads = \"off\"\n").expect("valid");
        let limits = limit_settings(&LimitArgs::default(), &file).expect("valid");
        assert_eq!(limits.hedged_reads, HedgedReads::Off);
        let flags = LimitArgs {
            hedge_reads: Some("250ms".into()),
            ..LimitArgs::default()
        };
        let limits = limit_settings(&flags, &file).expect("valid");
        assert_eq!(limits.hedged_reads, HedgedReads::AfterMillis(250));
        let limits =
            limit_settings(&LimitArgs::default(), &FileSettings::default()).expect("valid");
        assert_eq!(limits.hedged_reads, HedgedReads::Auto);
        let error = FileSettings::parse("hedge_reads = \"sometimes\"\n").expect_err("bad value");
        assert!(
            error.contains("hedge_reads") && error.contains("sometimes"),
            "{error}"
        );
        let flags = LimitArgs {
            hedge_reads: Some("0ms".into()),
            ..LimitArgs::default()
        };
        let error = limit_settings(&flags, &FileSettings::default()).expect_err("zero delay");
        assert!(error.to_string().contains("--hedge-reads"), "{error}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Whatever the text, parsing settings returns settings or a reason.
        #[test]
        fn parsing_any_text_never_panics(text in "(.|\n){0,300}") {
            if let Err(message) = FileSettings::parse(&text) {
                proptest::prop_assert!(!message.is_empty());
            }
        }

        /// Key-value lines with arbitrary keys and values never panic either.
        #[test]
        fn arbitrary_assignments_never_panic(key in "[a-z_]{1,20}", value in "[-\\[\\]\"0-9a-z.,%/ ]{0,30}") {
            if let Err(message) = FileSettings::parse(&format!("{key} = {value}\n")) {
                proptest::prop_assert!(!message.is_empty());
            }
        }
    }

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        let file = FileSettings {
            concurrency: Some(64),
            assume_root_rate: Some(40.0),
            attempts: Some(4),
            throttled_attempts: Some(50),
            ..FileSettings::default()
        };
        let flags = LimitArgs {
            concurrency: Some(8),
            ..LimitArgs::default()
        };
        let run = run_settings(&flags, None, None, &file).expect("valid");
        assert_eq!(run.max_concurrency, 8);
        assert_eq!(run.initial_concurrency, 8);
        let limits = limit_settings(&flags, &file).expect("valid");
        assert_eq!(limits.assume_root.max, 40.0);
        assert!(limits.assume_root.initial <= 40.0);
        assert_eq!(limits.retry.max_attempts, 4);
        assert_eq!(limits.retry.throttled_attempts, 50);
        let zero = FileSettings {
            throttled_attempts: Some(0),
            ..FileSettings::default()
        };
        let error = limit_settings(&LimitArgs::default(), &zero).expect_err("zero refused");
        assert!(error.to_string().contains("throttled_attempts"), "{error}");
        let defaults =
            limit_settings(&LimitArgs::default(), &FileSettings::default()).expect("valid");
        assert_eq!(defaults, LimitSettings::default());
        let fixed = limit_settings(
            &LimitArgs {
                fixed_rates: true,
                iam_rate: Some(7.0),
                ..LimitArgs::default()
            },
            &file,
        )
        .expect("valid");
        assert_eq!(fixed.iam_per_account, RateSettings::fixed(7.0));
        assert!(
            limit_settings(
                &LimitArgs {
                    iam_rate: Some(-1.0),
                    ..LimitArgs::default()
                },
                &file
            )
            .is_err()
        );
        assert!(run_settings(&LimitArgs::default(), Some(0), None, &file).is_err());
        assert!(run_settings(&LimitArgs::default(), None, Some("x%"), &file).is_err());
    }
}
