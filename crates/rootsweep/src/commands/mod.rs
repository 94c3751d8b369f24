//! The commands: [`dispatch`] runs one parsed command line in an [`App`] (the settings, the
//! terminal, and for the demo an AWS configuration pointing at the emulator). Shared steps live
//! here: loading the AWS configuration, and turning targeting flags into a validated
//! [`TargetSelector`] before any AWS call.

pub(crate) mod demo;
pub(crate) mod doctor;
pub(crate) mod enable;
pub(crate) mod run;
pub(crate) mod targets;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use clap::CommandFactory;
use rootsweep_core::{AccountId, AwsContext, SetupError, TargetSelector, Timeouts};

use crate::cli::{Cli, Command, GlobalArgs, OutputFormat, TargetArgs};
use crate::error::{CliError, CliResult};
use crate::settings::{self, FileSettings};

/// What the terminal is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Terminal {
    pub(crate) stdin: bool,
    pub(crate) stdout: bool,
    pub(crate) stderr: bool,
    pub(crate) ci: bool,
}

impl Terminal {
    pub(crate) fn detect() -> Self {
        Self {
            stdin: std::io::stdin().is_terminal(),
            stdout: std::io::stdout().is_terminal(),
            stderr: std::io::stderr().is_terminal(),
            ci: crate::output::progress::in_ci(),
        }
    }

    /// Whether a person can answer a prompt.
    pub(crate) fn interactive(&self) -> bool {
        self.stdin && self.stderr
    }
}

/// Everything a command needs besides its own flags.
pub(crate) struct App {
    pub(crate) global: GlobalArgs,
    pub(crate) file: FileSettings,
    pub(crate) terminal: Terminal,
    /// An AWS configuration to use instead of the standard chain (the demo's emulator).
    pub(crate) sdk_override: Option<SdkConfig>,
}

impl App {
    /// The stdout format: the flag, the environment, the settings file, else table on a
    /// terminal and JSON Lines otherwise.
    pub(crate) fn output_format(&self) -> OutputFormat {
        self.global
            .output
            .or_else(|| {
                self.file
                    .output
                    .as_deref()
                    .and_then(|text| settings::parse_output(text).ok())
            })
            .unwrap_or(if self.terminal.stdout {
                OutputFormat::Table
            } else {
                OutputFormat::Jsonl
            })
    }

    /// Whether to colour stdout.
    pub(crate) fn color(&self) -> bool {
        self.terminal.stdout && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
    }

    /// The width of stdout when it is a terminal (0: no limit).
    pub(crate) fn width(&self) -> usize {
        if self.terminal.stdout {
            usize::from(console::Term::stdout().size().1)
        } else {
            0
        }
    }

    /// Whether to draw a progress bar.
    pub(crate) fn progress(&self) -> bool {
        crate::output::progress::wanted(
            self.global.no_progress,
            self.terminal.stderr,
            self.terminal.ci,
            self.global.verbose,
        )
    }

    /// Writes a line to stderr (for people: notes, prompts, narration).
    pub(crate) fn note(&self, text: &str) {
        let _ = writeln!(std::io::stderr(), "{text}");
    }

    /// Loads the AWS configuration and checks that credentials can be had, before anything
    /// else talks to AWS.
    pub(crate) async fn aws(&self, timeouts: Timeouts) -> CliResult<Arc<AwsContext>> {
        let config = match &self.sdk_override {
            Some(config) => config.clone(),
            None => {
                let mut loader = aws_config::defaults(BehaviorVersion::latest());
                if let Some(profile) = self.global.profile.as_ref().or(self.file.profile.as_ref()) {
                    loader = loader.profile_name(profile);
                }
                if let Some(region) = self.global.region.as_ref().or(self.file.region.as_ref()) {
                    loader = loader.region(Region::new(region.clone()));
                }
                if let Some(url) = &self.global.endpoint_url {
                    loader = loader.endpoint_url(url);
                }
                loader.load().await
            }
        };
        let context = AwsContext::new(&config, timeouts).map_err(|error| match error {
            SetupError::MissingRegion => CliError::usage(error.to_string())
                .hint("pass --region (for example --region us-east-1), or set AWS_REGION or the profile's region"),
            SetupError::GlobalRegion(_) => CliError::usage(error.to_string()).hint("pass a real region, for example --region us-east-1"),
            SetupError::MissingCredentials => CliError::usage(error.to_string())
                .hint("set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login`"),
        })?;
        if let Some(provider) = config.credentials_provider()
            && let Err(error) = provider.provide_credentials().await
        {
            return Err(CliError::usage(format!(
                "no usable AWS credentials: {}",
                aws_sdk_sts::error::DisplayErrorContext(&error)
            ))
            .hint("set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login`"));
        }
        Ok(Arc::new(context))
    }
}

fn parse_account(flag: &str, text: &str) -> CliResult<AccountId> {
    AccountId::parse(text).map_err(|error| {
        CliError::usage(format!("{flag}: {error}"))
            .hint("account IDs are 12 digits, for example 123456789012")
    })
}

/// Reads `--accounts-file`: one ID a line (blank lines and `#` comments ignored), or CSV with
/// an `account_id` column.
pub(crate) fn read_accounts_file(path: &Path) -> CliResult<Vec<AccountId>> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        CliError::usage(format!(
            "cannot read --accounts-file {}: {error}",
            path.display()
        ))
    })?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'));
    let mut ids = Vec::new();
    let Some((first_number, first)) = lines.next() else {
        return Err(CliError::usage(format!(
            "--accounts-file {} lists no accounts",
            path.display()
        )));
    };
    let columns: Vec<String> = first
        .split(',')
        .map(|field| field.trim().trim_matches('"').to_string())
        .collect();
    let column = columns.iter().position(|name| name == "account_id");
    let field_of = |line: &str, index: usize| {
        line.split(',')
            .nth(index)
            .map(|field| field.trim().trim_matches('"').to_string())
    };
    match column {
        Some(index) => {
            for (number, line) in lines {
                let field = field_of(line, index).unwrap_or_default();
                ids.push(parse_account(
                    &format!("--accounts-file {} line {}", path.display(), number + 1),
                    &field,
                )?);
            }
        }
        None => {
            for (number, line) in std::iter::once((first_number, first)).chain(lines) {
                ids.push(parse_account(
                    &format!("--accounts-file {} line {}", path.display(), number + 1),
                    line.trim(),
                )?);
            }
        }
    }
    Ok(ids)
}

/// Turns targeting flags into a validated selector (no AWS call). Protection from the settings
/// file applies when `protect` is set (commands that change accounts).
pub(crate) fn selector(
    args: &TargetArgs,
    file: &FileSettings,
    protect: bool,
) -> CliResult<TargetSelector> {
    let mut accounts = Vec::new();
    for text in args.accounts.iter().filter(|text| !text.trim().is_empty()) {
        accounts.push(parse_account("--accounts", text)?);
    }
    if let Some(path) = &args.accounts_file {
        accounts.extend(read_accounts_file(path)?);
    }
    let mut exclude_accounts = Vec::new();
    for text in args.exclude.iter().filter(|text| !text.trim().is_empty()) {
        exclude_accounts.push(parse_account("--exclude", text)?);
    }
    let mut tags = Vec::new();
    for text in &args.tag {
        match text.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                tags.push((key.trim().to_string(), value.trim().to_string()))
            }
            _ => {
                return Err(CliError::usage(format!("--tag {text:?} is not KEY=VALUE"))
                    .hint("for example --tag environment=prod"));
            }
        }
    }
    for ou in args.ou.iter().chain(&args.exclude_ou) {
        if !(ou.starts_with("ou-") || ou.starts_with("r-") || ou.starts_with('/')) {
            return Err(CliError::usage(format!("{ou:?} is not an organizational unit"))
                .hint("give an OU ID (ou-ab12-cdef3456), the root ID (r-ab12) or a path of names (/Workloads/Prod)"));
        }
    }
    Ok(TargetSelector {
        accounts,
        organizational_units: args.ou.clone(),
        tags,
        exclude_accounts,
        exclude_organizational_units: args.exclude_ou.clone(),
        protected_accounts: if protect {
            file.protected_account_ids()
        } else {
            Vec::new()
        },
        protected_organizational_units: if protect {
            file.protected_ous.clone()
        } else {
            Vec::new()
        },
    })
}

/// Runs one command line; returns the exit code.
pub(crate) async fn dispatch(
    cli: Cli,
    terminal: Terminal,
    sdk_override: Option<SdkConfig>,
) -> CliResult<u8> {
    let (file, _) = FileSettings::load(cli.global.config.as_deref())?;
    let app = App {
        global: cli.global,
        file,
        terminal,
        sdk_override,
    };
    match cli.command {
        Command::Doctor(args) => doctor::run(&app, &args).await,
        Command::Enable(args) => enable::run(&app, &args).await,
        Command::Targets(args) => targets::run(&app, &args).await,
        Command::Audit(args) => run::audit(&app, args).await,
        Command::DeleteCredentials(args) => run::delete_credentials(&app, args).await,
        Command::AllowPasswordRecovery(args) => run::allow_password_recovery(&app, args).await,
        Command::UnlockS3BucketPolicy(args) => run::unlock_s3(&app, args).await,
        Command::UnlockSqsQueuePolicy(args) => run::unlock_sqs(&app, args).await,
        Command::Apply(args) => run::apply(&app, args).await,
        Command::Resume(args) => run::resume(&app, args).await,
        Command::Demo(args) => demo::run(&app, &args).await,
        Command::Completions(args) => {
            let mut command = Cli::command();
            clap_complete::generate(
                args.shell,
                &mut command,
                "rootsweep",
                &mut std::io::stdout(),
            );
            Ok(crate::exit::SUCCESS)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout())
                .map_err(|error| CliError::usage(format!("cannot write the man page: {error}")))?;
            Ok(crate::exit::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_validate_every_flag() {
        let file = FileSettings {
            protected_accounts: vec!["111111111111".into()],
            ..FileSettings::default()
        };
        let args = TargetArgs {
            accounts: vec!["123456789012".into(), " ".into()],
            tag: vec!["environment=prod".into()],
            ou: vec!["/Workloads".into()],
            ..TargetArgs::default()
        };
        let selector = selector(&args, &file, true).expect("valid");
        assert_eq!(selector.accounts.len(), 1);
        assert_eq!(
            selector.tags,
            vec![("environment".to_string(), "prod".to_string())]
        );
        assert_eq!(selector.protected_accounts.len(), 1);
        assert!(
            super::selector(&args, &file, false)
                .expect("valid")
                .protected_accounts
                .is_empty()
        );

        let bad = |args: TargetArgs| {
            super::selector(&args, &file, true)
                .expect_err("invalid")
                .render()
        };
        assert!(
            bad(TargetArgs {
                accounts: vec!["12345".into()],
                ..TargetArgs::default()
            })
            .contains("--accounts: \"12345\" is not an AWS account ID")
        );
        assert!(
            bad(TargetArgs {
                exclude: vec!["x".into()],
                ..TargetArgs::default()
            })
            .contains("--exclude")
        );
        assert!(
            bad(TargetArgs {
                tag: vec!["novalue".into()],
                ..TargetArgs::default()
            })
            .contains("KEY=VALUE")
        );
        assert!(
            bad(TargetArgs {
                ou: vec!["Workloads".into()],
                ..TargetArgs::default()
            })
            .contains("hint: give an OU ID")
        );
    }

    #[test]
    fn accounts_files_are_lists_or_csv() {
        let directory =
            std::env::temp_dir().join(format!("rootsweep-accounts-{}", std::process::id()));
        std::fs::create_dir_all(&directory).expect("temp dir");
        let list = directory.join("list.txt");
        std::fs::write(&list, "# team A\n123456789012\n\n210987654321\n").expect("writes");
        assert_eq!(read_accounts_file(&list).expect("valid").len(), 2);
        let csv = directory.join("accounts.csv");
        std::fs::write(
            &csv,
            "name,account_id\npayments,123456789012\n\"search\",\"210987654321\"\n",
        )
        .expect("writes");
        assert_eq!(read_accounts_file(&csv).expect("valid").len(), 2);
        let bad = directory.join("bad.txt");
        std::fs::write(&bad, "123456789012\nnot-an-id\n").expect("writes");
        let error = read_accounts_file(&bad).expect_err("invalid").render();
        assert!(error.contains("line 2"), "{error}");
        let empty = directory.join("empty.txt");
        std::fs::write(&empty, "# nothing\n").expect("writes");
        assert!(
            read_accounts_file(&empty)
                .expect_err("empty")
                .render()
                .contains("lists no accounts")
        );
        std::fs::remove_dir_all(&directory).ok();
    }
}
