//! The task commands (`audit`, `delete-credentials`, `allow-password-recovery`,
//! `unlock-s3-bucket-policy`, `unlock-sqs-queue-policy`, `apply`) share one flow, [`execute`]:
//!
//! 1. check every flag and file without calling AWS;
//! 2. refuse a run that changes accounts without a way to confirm it (no terminal and no
//!    `--yes`): exit 2 before any AWS call;
//! 3. load the AWS configuration, discover the targets (unknown accounts or OUs: exit 2);
//! 4. enforce `--max-accounts`, then ask for a typed confirmation on a terminal;
//! 5. start the journal (every outcome synced to disk before any other output sees it), then
//!    run, with every output fed by the engine's events, Ctrl-C to stop (twice to abort);
//! 6. exit with the code the outcomes call for.
//!
//! `resume` reads a journal instead of discovering, and goes through the same [`launch`].

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use rootsweep_core::outcome::SkipReason;
use rootsweep_core::{
    AccountOutcome, AwsContext, CancelHandle, CredentialKind, DeleteOptions, DiscoveryError,
    Journal, JournalHeader, JournalWriter, LimitSettings, Limits, ResumeMarker, RunSettings,
    RunSummary, Runner, Status, StopReason, TargetSelector, Targets, Task, TaskKind,
    UnlockS3Options, UnlockSqsOptions, discover, new_run_id,
};
use serde::{Deserialize, Serialize};

use crate::cli::{
    ApplyArgs, AuditArgs, DeleteArgs, LimitArgs, RecoveryArgs, ResumeArgs, SafetyArgs,
    UnlockS3Args, UnlockSqsArgs,
};
use crate::commands::{App, selector};
use crate::error::{CliError, CliResult};
use crate::exit;
use crate::output::{self, Outputs, PlanWriter, RecordSink, RunHeader};
use crate::plan::{PLAN_KIND, PLAN_SCHEMA, Plan};
use crate::settings;

/// Everything one task run needs.
pub(crate) struct RunRequest {
    pub(crate) task: Task,
    pub(crate) selector: TargetSelector,
    pub(crate) limits: LimitArgs,
    pub(crate) yes: bool,
    pub(crate) plan_out: Option<PathBuf>,
    pub(crate) canary: Option<usize>,
    pub(crate) max_failures: Option<String>,
    pub(crate) max_accounts: Option<usize>,
    /// For `apply`: the plan being carried out.
    pub(crate) plan: Option<Plan>,
}

impl RunRequest {
    fn new(task: Task, selector: TargetSelector, limits: LimitArgs) -> Self {
        Self {
            task,
            selector,
            limits,
            yes: false,
            plan_out: None,
            canary: None,
            max_failures: None,
            max_accounts: None,
            plan: None,
        }
    }

    fn with_safety(mut self, safety: SafetyArgs) -> Self {
        self.yes = safety.yes;
        self.plan_out = safety.plan_out;
        self.canary = safety.canary;
        self.max_failures = safety.max_failures;
        self.max_accounts = safety.max_accounts;
        self
    }
}

fn dry_run(safety: &SafetyArgs) -> bool {
    safety.dry_run || safety.plan_out.is_some()
}

pub(crate) async fn audit(app: &App, args: AuditArgs) -> CliResult<u8> {
    let selector = selector(&args.targets, &app.file, false)?;
    let mut request = RunRequest::new(Task::Audit, selector, args.limits);
    request.canary = args.canary;
    request.max_failures = args.max_failures;
    request.max_accounts = args.max_accounts;
    execute(app, request).await
}

pub(crate) async fn delete_credentials(app: &App, args: DeleteArgs) -> CliResult<u8> {
    let mut kinds = BTreeSet::new();
    for text in args.kinds.iter().filter(|text| !text.trim().is_empty()) {
        let kind = CredentialKind::parse(text).ok_or_else(|| {
            CliError::usage(format!(
                "--kinds: {text:?} is not a kind of root credential"
            ))
            .hint("use password, access-keys, signing-certificates or mfa-devices")
        })?;
        kinds.insert(kind);
    }
    if kinds.is_empty() {
        kinds = CredentialKind::ALL.into_iter().collect();
    }
    let options = DeleteOptions {
        kinds,
        dry_run: dry_run(&args.safety),
        plan: None,
    };
    let selector = selector(&args.targets, &app.file, true)?;
    execute(
        app,
        RunRequest::new(Task::DeleteCredentials(options), selector, args.limits)
            .with_safety(args.safety),
    )
    .await
}

pub(crate) async fn allow_password_recovery(app: &App, args: RecoveryArgs) -> CliResult<u8> {
    let task = Task::AllowPasswordRecovery {
        dry_run: dry_run(&args.safety),
    };
    let selector = selector(&args.targets, &app.file, true)?;
    execute(
        app,
        RunRequest::new(task, selector, args.limits).with_safety(args.safety),
    )
    .await
}

pub(crate) async fn unlock_s3(app: &App, args: UnlockS3Args) -> CliResult<u8> {
    let options = UnlockS3Options {
        bucket: args.bucket,
        dry_run: dry_run(&args.safety),
        plan: None,
    };
    let selector = selector(&args.targets, &app.file, true)?;
    execute(
        app,
        RunRequest::new(Task::UnlockS3BucketPolicy(options), selector, args.limits)
            .with_safety(args.safety),
    )
    .await
}

pub(crate) async fn unlock_sqs(app: &App, args: UnlockSqsArgs) -> CliResult<u8> {
    let regions = if args.regions.is_empty() {
        app.file.regions.clone()
    } else {
        args.regions
    };
    let options = UnlockSqsOptions {
        queue: args.queue,
        regions,
        dry_run: dry_run(&args.safety),
        plan: None,
    };
    let selector = selector(&args.targets, &app.file, true)?;
    execute(
        app,
        RunRequest::new(Task::UnlockSqsQueuePolicy(options), selector, args.limits)
            .with_safety(args.safety),
    )
    .await
}

pub(crate) async fn apply(app: &App, args: ApplyArgs) -> CliResult<u8> {
    let plan = Plan::load(&args.plan)?;
    if plan.accounts.is_empty() {
        app.note(&format!(
            "the plan {} changes nothing: there is nothing to apply",
            args.plan.display()
        ));
        return Ok(exit::SUCCESS);
    }
    let selector = TargetSelector {
        accounts: plan.account_ids(),
        protected_accounts: app.file.protected_account_ids(),
        protected_organizational_units: app.file.protected_ous.clone(),
        ..TargetSelector::default()
    };
    let mut request = RunRequest::new(plan.task(), selector, args.limits);
    request.yes = args.yes;
    request.canary = args.canary;
    request.max_failures = args.max_failures;
    request.plan = Some(plan);
    execute(app, request).await
}

/// The exit code a run's outcomes call for. `earlier` holds the statuses of accounts that
/// ended in an earlier run of a resumed journal: they count as if they had ended now.
pub(crate) fn exit_code(task: TaskKind, summary: &RunSummary, earlier: &[Status]) -> u8 {
    let failures =
        summary.counts.failures() + earlier.iter().filter(|status| status.is_failure()).count();
    let non_compliant = summary.counts.get(Status::NonCompliant)
        + earlier
            .iter()
            .filter(|status| **status == Status::NonCompliant)
            .count();
    match &summary.stopped {
        Some(StopReason::Interrupted | StopReason::Aborted) => exit::INTERRUPTED,
        Some(StopReason::Canary { .. } | StopReason::MaxFailures { .. }) => exit::STOPPED,
        Some(StopReason::OutputFailed { .. }) => exit::ACCOUNTS_FAILED,
        None if failures > 0 => exit::ACCOUNTS_FAILED,
        None if task == TaskKind::Audit && non_compliant > 0 => exit::NON_COMPLIANT,
        None => exit::SUCCESS,
    }
}

/// What a journal header records of a run, so that `resume` can rebuild it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordedRun {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    kinds: Vec<CredentialKind>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bucket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    queue: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    regions: Vec<String>,
    /// For `apply`: the whole plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plan: Option<Plan>,
    limits: LimitSettings,
    run: RunSettings,
}

impl RecordedRun {
    fn new(task: &Task, plan: Option<&Plan>, limits: LimitSettings, run: RunSettings) -> Self {
        let mut recorded = Self {
            kinds: Vec::new(),
            dry_run: !task.changes_accounts() && task.kind() != TaskKind::Audit,
            bucket: None,
            queue: None,
            regions: Vec::new(),
            plan: plan.cloned(),
            limits,
            run,
        };
        match task {
            Task::DeleteCredentials(options) => {
                recorded.kinds = options.kinds.iter().copied().collect()
            }
            Task::UnlockS3BucketPolicy(options) => recorded.bucket.clone_from(&options.bucket),
            Task::UnlockSqsQueuePolicy(options) => {
                recorded.queue.clone_from(&options.queue);
                recorded.regions.clone_from(&options.regions);
            }
            Task::Audit | Task::AllowPasswordRecovery { .. } => {}
        }
        recorded
    }

    /// The task the journal's run did.
    fn task(&self, kind: TaskKind) -> Task {
        if let Some(plan) = &self.plan {
            return plan.task();
        }
        match kind {
            TaskKind::Audit => Task::Audit,
            TaskKind::DeleteCredentials => Task::DeleteCredentials(DeleteOptions {
                kinds: if self.kinds.is_empty() {
                    CredentialKind::ALL.into_iter().collect()
                } else {
                    self.kinds.iter().copied().collect()
                },
                dry_run: self.dry_run,
                plan: None,
            }),
            TaskKind::AllowPasswordRecovery => Task::AllowPasswordRecovery {
                dry_run: self.dry_run,
            },
            TaskKind::UnlockS3BucketPolicy => Task::UnlockS3BucketPolicy(UnlockS3Options {
                bucket: self.bucket.clone(),
                dry_run: self.dry_run,
                plan: None,
            }),
            TaskKind::UnlockSqsQueuePolicy => Task::UnlockSqsQueuePolicy(UnlockSqsOptions {
                queue: self.queue.clone(),
                regions: self.regions.clone(),
                dry_run: self.dry_run,
                plan: None,
            }),
        }
    }
}

/// Where journals go when --journal is not given.
fn default_journal_directory(app: &App) -> PathBuf {
    if let Some(directory) = &app.file.journal_dir {
        return directory.clone();
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|value| !value.is_empty())
                .map(|home| PathBuf::from(home).join(".local/state"))
        });
    match state {
        Some(state) => state.join("rootsweep").join("journals"),
        None => PathBuf::from("rootsweep-journals"),
    }
}

/// The journal as an output: writes each new outcome first, synced, before any other output.
struct JournalSink {
    writer: JournalWriter,
    /// Accounts that already have a terminal outcome in the journal (a resume): they are
    /// reported, not recorded again, so that each has exactly one terminal line.
    recorded: std::collections::HashSet<rootsweep_core::AccountId>,
}

impl RecordSink for JournalSink {
    fn begin(&mut self, _header: &RunHeader) -> std::io::Result<()> {
        Ok(())
    }

    fn record(&mut self, outcome: &AccountOutcome) -> std::io::Result<()> {
        // Accounts that ended in an earlier run are reported, not recorded again.
        if matches!(outcome.skip_reason, Some(SkipReason::DoneEarlier { .. }))
            || self.recorded.contains(&outcome.account_id)
        {
            return Ok(());
        }
        // Synced by `sync`, before any other output sees the outcome (see `Outputs`).
        self.writer.write(outcome).map_err(std::io::Error::other)
    }

    fn sync(&mut self) -> std::io::Result<()> {
        self.writer.sync().map_err(std::io::Error::other)
    }

    fn end(&mut self, _summary: &RunSummary) -> std::io::Result<()> {
        Ok(())
    }
}

/// How a launch records its outcomes.
enum JournalMode {
    /// A new journal at this path.
    New(PathBuf),
    /// Appending to a journal being resumed, whose terminal accounts are these.
    Resume(
        PathBuf,
        ResumeMarker,
        std::collections::HashSet<rootsweep_core::AccountId>,
    ),
}

fn discovery_error(error: DiscoveryError) -> CliError {
    let hint = match &error {
        DiscoveryError::UnknownAccounts(_) => {
            "check the IDs; `rootsweep targets` lists the organization's accounts"
        }
        DiscoveryError::UnknownOrganizationalUnits(_) => {
            "give OU IDs (ou-...), the root (r-...) or paths of OU names (/Workloads/Prod); `aws organizations list-organizational-units-for-parent` lists them"
        }
        DiscoveryError::NoOrganization => {
            "rootsweep works on an AWS Organization from its management account"
        }
        DiscoveryError::NotAuthorized(_) => {
            "`rootsweep doctor` checks the caller and the organization's settings"
        }
        DiscoveryError::Aws { .. } => {
            "Organizations kept failing; try again later, or lower --organizations-rate"
        }
    };
    CliError::usage(error.to_string()).hint(hint)
}

/// The typed confirmation of a run that changes accounts.
fn confirm(app: &App, task: TaskKind, targets: &Targets, plan: Option<&Plan>) -> CliResult<()> {
    let count = targets.active_count();
    let mut text = format!(
        "rootsweep {task} will change up to {count} account{} of organization {}",
        if count == 1 { "" } else { "s" },
        targets.organization.id
    );
    let mut by_path: BTreeMap<&str, usize> = BTreeMap::new();
    for target in targets.active() {
        *by_path.entry(target.account.ou_path.as_str()).or_default() += 1;
    }
    let mut paths: Vec<(&str, usize)> = by_path.into_iter().collect();
    paths.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (path, accounts) in paths.iter().take(6) {
        text.push_str(&format!("\n  {accounts:>6}  {path}"));
    }
    if paths.len() > 6 {
        text.push_str(&format!("\n  and {} more OUs", paths.len() - 6));
    }
    if let Some(plan) = plan {
        text.push_str(&format!(
            "\nplanned on {} (run {}); for example:",
            plan.created_at, plan.run_id
        ));
        for account in plan.accounts.iter().take(3) {
            text.push_str(&format!(
                "\n  {}: {}",
                account.account_id,
                account.describe()
            ));
        }
    }
    if targets.skipped_count() > 0 {
        text.push_str(&format!(
            "\n{} selected accounts will be skipped (see the output)",
            targets.skipped_count()
        ));
    }
    app.note(&text);
    let _ = write!(
        std::io::stderr(),
        "Type {count} to continue, anything else to stop: "
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|error| CliError::usage(format!("cannot read the confirmation: {error}")))?;
    if answer.trim() == count.to_string() {
        Ok(())
    } else {
        Err(CliError::usage("not confirmed: nothing was changed")
            .hint("run with --dry-run first to see what would change"))
    }
}

/// Runs one task end to end (see the module documentation).
pub(crate) async fn execute(app: &App, request: RunRequest) -> CliResult<u8> {
    let kind = request.task.kind();
    let changes = request.task.changes_accounts();
    // Everything that can be checked without AWS, first.
    let limit_settings = settings::limit_settings(&request.limits, &app.file)?;
    let timeouts = settings::timeouts(&request.limits, &app.file)?;
    let run_settings = settings::run_settings(
        &request.limits,
        request.canary,
        request.max_failures.as_deref(),
        &app.file,
    )?;
    let max_accounts = request.max_accounts.or(app.file.max_accounts);
    for path in &app.global.report {
        output::ReportFormat::from_path(path)?;
    }
    if let Some(path) = &request.plan_out
        && let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(CliError::usage(format!(
            "--plan-out {}: {} is not a directory",
            path.display(),
            parent.display()
        )));
    }
    if let Some(path) = &app.global.journal
        && path.exists()
    {
        let task = Journal::read(path).map_or_else(
            |_| "another".to_string(),
            |journal| journal.header.task.to_string(),
        );
        return Err(CliError::usage(format!(
            "{} already holds the journal of {} run: nothing was changed",
            path.display(),
            if task == "another" {
                "another".to_string()
            } else {
                format!("a {task}")
            }
        ))
        .hint(format!(
            "resume it with `rootsweep resume {}`, or choose another --journal",
            path.display()
        )));
    }
    if changes && !request.yes && !app.terminal.interactive() {
        return Err(CliError::usage(format!(
            "{kind} changes accounts and needs a confirmation, but stdin or stderr is not a terminal: nothing was changed"
        ))
        .hint("review a --dry-run first, then pass --yes to confirm without a prompt"));
    }

    // Ctrl-C is handled from here on: before the run starts it ends the command, changing
    // nothing; during the run it stops scheduling (twice: abandons accounts in flight).
    let cancel = CancelHandle::new();
    let interrupts = watch_interrupts(cancel.clone(), None);
    let interrupted = || {
        CliError::usage("interrupted before any account was started: nothing was changed")
            .with_code(exit::INTERRUPTED)
    };
    let aws = app.aws(timeouts).await?;
    let limits = Limits::new(limit_settings).map_err(CliError::usage)?;
    let targets = tokio::select! {
        found = discover(&aws, &limits, &request.selector, |event| crate::output::log::log_event(&event)) => {
            found.map_err(discovery_error)?
        }
        () = cancel.stopped() => return Err(interrupted()),
    };
    if let Some(plan) = &request.plan
        && plan.organization_id != targets.organization.id
    {
        return Err(CliError::usage(format!(
            "the plan was made for organization {}, and these credentials reach {}: nothing was changed",
            plan.organization_id, targets.organization.id
        ))
        .hint("run apply with the credentials (profile) the plan was made with"));
    }
    if let Some(limit) = max_accounts
        && targets.active_count() > limit
    {
        return Err(CliError::usage(format!(
            "{} accounts are targeted, more than --max-accounts {limit}: nothing was changed",
            targets.active_count()
        ))
        .hint("narrow the selection with --accounts, --ou, --tag or --exclude, or raise --max-accounts"));
    }
    if targets.active_count() == 0 {
        app.note("no account to work on: every selected account is skipped");
    }
    let run_id = new_run_id();
    let journal_path = app
        .global
        .journal
        .clone()
        .unwrap_or_else(|| default_journal_directory(app).join(format!("{run_id}.jsonl")));
    let recorded = RecordedRun::new(
        &request.task,
        request.plan.as_ref(),
        limit_settings,
        run_settings.clone(),
    );
    let launch_request = Launch {
        task: request.task,
        targets,
        limits,
        run_settings: RunSettings {
            run_id: Some(run_id),
            ..run_settings
        },
        yes: request.yes,
        plan_out: request.plan_out,
        plan: request.plan,
        journal: JournalMode::New(journal_path),
        recorded,
        earlier: Vec::new(),
    };
    launch(app, aws, launch_request, cancel, interrupts).await
}

/// A run ready to start: its targets are resolved.
struct Launch {
    task: Task,
    targets: Targets,
    limits: Arc<Limits>,
    run_settings: RunSettings,
    yes: bool,
    plan_out: Option<PathBuf>,
    plan: Option<Plan>,
    journal: JournalMode,
    recorded: RecordedRun,
    /// Statuses of accounts that ended in earlier runs (a resume).
    earlier: Vec<Status>,
}

/// Confirms, opens the outputs and the journal, runs, and maps the exit code.
async fn launch(
    app: &App,
    aws: Arc<AwsContext>,
    launch: Launch,
    cancel: CancelHandle,
    interrupts: tokio::task::JoinHandle<()>,
) -> CliResult<u8> {
    let kind = launch.task.kind();
    let targets = &launch.targets;
    if launch.task.changes_accounts() && !launch.yes && targets.active_count() > 0 {
        confirm(app, kind, targets, launch.plan.as_ref())?;
    }
    if cancel.is_stopping() {
        return Err(CliError::usage(
            "interrupted before any account was started: nothing was changed",
        )
        .with_code(exit::INTERRUPTED));
    }
    let run_id = launch.run_settings.run_id.clone().unwrap_or_default();
    let already = match &launch.journal {
        JournalMode::Resume(_, _, recorded) => recorded.clone(),
        JournalMode::New(_) => std::collections::HashSet::new(),
    };
    let journal = match &launch.journal {
        JournalMode::New(path) => {
            let options = serde_json::to_value(&launch.recorded)
                .map_err(|error| CliError::usage(error.to_string()))?;
            let header = JournalHeader::new(&run_id, kind, options, targets);
            JournalWriter::create(path, &header)
        }
        JournalMode::Resume(path, marker, _) => JournalWriter::resume(path, marker),
    }
    .map_err(|error| {
        CliError::usage(format!(
            "cannot write the journal: {error}: nothing was changed"
        ))
        .hint("choose another --journal")
    })?;
    app.note(&format!("journal: {}", journal.path().display()));
    let journal_path = journal.path().to_path_buf();

    let mut outputs = Outputs::new(Some(targets.organization.id.clone()));
    if app.progress() && targets.accounts.len() > 1 {
        outputs.set_progress(output::progress::ProgressDisplay::new(
            targets.accounts.len() as u64,
        ));
    }
    // An outcome is on disk before any other output sees it.
    outputs.set_journal(
        format!("the journal {}", journal_path.display()),
        Box::new(JournalSink {
            writer: journal,
            recorded: already,
        }),
    );
    outputs.add(
        "stdout",
        output::stdout_sink(
            app.output_format(),
            outputs.progress_bar(),
            app.width(),
            app.color(),
        ),
    );
    for path in &app.global.report {
        outputs.add(
            format!("the report {}", path.display()),
            output::report_sink(path)?,
        );
    }
    if let Some(path) = &launch.plan_out {
        outputs.set_plan(PlanWriter {
            path: path.clone(),
            plan: Plan {
                kind: PLAN_KIND.to_string(),
                schema: PLAN_SCHEMA,
                created_at: rootsweep_now(),
                rootsweep_version: env!("CARGO_PKG_VERSION").to_string(),
                run_id: String::new(),
                organization_id: targets.organization.id.clone(),
                task: kind,
                kinds: launch.recorded.kinds.clone(),
                regions: launch.recorded.regions.clone(),
                accounts: Vec::new(),
            },
        });
    }

    let runner = Runner::new(aws, Arc::clone(&launch.limits), launch.run_settings.clone());
    let summary = runner
        .run_into(launch.task, targets, &cancel, &mut outputs)
        .await;
    interrupts.abort();
    if let Some(StopReason::OutputFailed { message }) = &summary.stopped {
        app.note(&format!(
            "error: {message}: the run stopped starting accounts"
        ));
    }
    if let Some(path) = &launch.plan_out {
        let planned = summary.counts.get(Status::Planned);
        app.note(&format!(
            "wrote the plan for {planned} account{} to {}; carry it out with `rootsweep apply {}`",
            if planned == 1 { "" } else { "s" },
            path.display(),
            path.display()
        ));
    }
    let code = exit_code(kind, &summary, &launch.earlier);
    if summary.stopped.is_some() || summary.counts.get(Status::Failed) > 0 {
        app.note(&format!(
            "to finish the accounts left: rootsweep resume {}{}",
            journal_path.display(),
            if summary.counts.get(Status::Failed) > 0 {
                " (add --retry-failed to work on failed ones again)"
            } else {
                ""
            }
        ));
    }
    Ok(code)
}

/// `rootsweep resume JOURNAL`.
pub(crate) async fn resume(app: &App, args: ResumeArgs) -> CliResult<u8> {
    let path = args.journal_file;
    let journal = Journal::read(&path).map_err(|error| {
        CliError::usage(format!("cannot resume: {error}"))
            .hint("give the journal path printed when the run started")
    })?;
    if journal.truncated_tail {
        app.note(&format!(
            "warning: the last line of {} was cut short (the run was killed while writing it); that account will be worked on again",
            path.display()
        ));
    }
    let recorded: RecordedRun =
        serde_json::from_value(journal.header.options.clone()).map_err(|error| {
            CliError::usage(format!(
                "cannot resume: {} records options this rootsweep does not understand: {error}",
                path.display()
            ))
        })?;
    let task = recorded.task(journal.header.task);
    let targets = journal.remaining(args.retry_failed);
    // With --retry-failed, a redone account gets a new line that supersedes its failure.
    let terminal: std::collections::HashSet<rootsweep_core::AccountId> = journal
        .latest
        .iter()
        .filter(|(_, last)| {
            last.status != Status::Cancelled && !(args.retry_failed && last.status.is_failure())
        })
        .map(|(id, _)| id.clone())
        .collect();
    let earlier: Vec<Status> = targets
        .accounts
        .iter()
        .filter_map(|target| match &target.skip {
            Some(SkipReason::DoneEarlier { status }) => Some(*status),
            _ => None,
        })
        .collect();
    // Flags given now override what the journal recorded.
    let limit_settings = if args.limits == LimitArgs::default() {
        recorded.limits
    } else {
        settings::limit_settings(&args.limits, &app.file)?
    };
    let mut run_settings = recorded.run.clone();
    if let Some(concurrency) = args.limits.concurrency {
        run_settings.max_concurrency = concurrency;
        run_settings.initial_concurrency = run_settings.initial_concurrency.min(concurrency);
    }
    for report in &app.global.report {
        output::ReportFormat::from_path(report)?;
    }
    if task.changes_accounts() && !args.yes && !app.terminal.interactive() {
        return Err(CliError::usage(format!(
            "resuming {} changes accounts and needs a confirmation, but stdin or stderr is not a terminal: nothing was changed",
            journal.header.task
        ))
        .hint("pass --yes to confirm without a prompt"));
    }
    let timeouts = settings::timeouts(&args.limits, &app.file)?;
    let cancel = CancelHandle::new();
    let interrupts = watch_interrupts(cancel.clone(), None);
    let aws = app.aws(timeouts).await?;
    // The same organization, or the journal's accounts mean nothing here.
    let organization = aws
        .organizations()
        .describe_organization()
        .send()
        .await
        .map_err(|error| {
            CliError::usage(format!(
                "cannot read the organization: {}",
                rootsweep_core::limits::classify(&error)
            ))
        })?;
    let organization_id = organization
        .organization()
        .and_then(|o| o.id())
        .unwrap_or_default();
    if organization_id != journal.header.organization.id {
        return Err(CliError::usage(format!(
            "the journal is of organization {}, and these credentials reach {organization_id}: nothing was changed",
            journal.header.organization.id
        ))
        .hint("resume with the credentials (profile) the run used"));
    }
    let done = earlier.len();
    app.note(&format!(
        "resuming run {} ({}): {} accounts left, {done} already done",
        journal.header.run_id,
        journal.header.task,
        targets.active_count()
    ));
    let limits = Limits::new(limit_settings).map_err(CliError::usage)?;
    let run_id = new_run_id();
    let marker = ResumeMarker {
        run_id: run_id.clone(),
        created_at: rootsweep_now(),
        rootsweep_version: env!("CARGO_PKG_VERSION").to_string(),
        retry_failed: args.retry_failed,
    };
    let launch_request = Launch {
        task,
        targets,
        limits,
        run_settings: RunSettings {
            run_id: Some(run_id),
            ..run_settings
        },
        yes: args.yes,
        plan_out: None,
        plan: recorded.plan.clone(),
        journal: JournalMode::Resume(path, marker, terminal),
        recorded,
        earlier,
    };
    launch(app, aws, launch_request, cancel, interrupts).await
}

/// Now, RFC 3339.
fn rootsweep_now() -> String {
    aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// First Ctrl-C: stop starting accounts; second: abandon those in flight.
fn watch_interrupts(
    cancel: CancelHandle,
    bar: Option<indicatif::ProgressBar>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        let message = "interrupted: finishing the accounts in flight (their outcomes are recorded); press Ctrl-C again to abandon them";
        match &bar {
            Some(bar) => bar.println(message),
            None => {
                let _ = writeln!(std::io::stderr(), "{message}");
            }
        }
        cancel.stop();
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.abort();
        }
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rootsweep_core::outcome::StatusCounts;

    use super::*;

    fn summary(statuses: &[Status], stopped: Option<StopReason>) -> RunSummary {
        let mut counts = StatusCounts::default();
        for status in statuses {
            counts.add(*status);
        }
        RunSummary {
            schema: 1,
            run_id: "r".into(),
            task: TaskKind::Audit,
            targets: statuses.len(),
            counts,
            stopped,
            started_at: String::new(),
            duration: Duration::ZERO,
            calls: 0,
            retries: 0,
            throttled: 0,
            hedged: 0,
        }
    }

    #[test]
    fn a_resume_counts_what_ended_earlier() {
        use Status::*;
        assert_eq!(
            exit_code(
                TaskKind::DeleteCredentials,
                &summary(&[Remediated], None),
                &[Failed]
            ),
            3
        );
        assert_eq!(
            exit_code(
                TaskKind::Audit,
                &summary(&[Compliant], None),
                &[NonCompliant]
            ),
            1
        );
        assert_eq!(
            exit_code(
                TaskKind::DeleteCredentials,
                &summary(&[Remediated], None),
                &[Remediated]
            ),
            0
        );
    }

    #[test]
    fn exit_codes_follow_the_outcomes() {
        use Status::*;
        let code =
            |task, statuses: &[Status], stopped| exit_code(task, &summary(statuses, stopped), &[]);
        assert_eq!(code(TaskKind::Audit, &[Compliant, Skipped], None), 0);
        assert_eq!(code(TaskKind::Audit, &[Compliant, NonCompliant], None), 1);
        assert_eq!(code(TaskKind::Audit, &[NonCompliant, Denied], None), 3);
        assert_eq!(
            code(TaskKind::DeleteCredentials, &[Remediated, Failed], None),
            3
        );
        assert_eq!(code(TaskKind::DeleteCredentials, &[Planned], None), 0);
        let canary = Some(StopReason::Canary {
            canary: 1,
            failures: 1,
        });
        assert_eq!(code(TaskKind::DeleteCredentials, &[Failed], canary), 4);
        assert_eq!(
            code(TaskKind::Audit, &[Cancelled], Some(StopReason::Interrupted)),
            130
        );
        let output = Some(StopReason::OutputFailed {
            message: "x".into(),
        });
        assert_eq!(code(TaskKind::Audit, &[Cancelled], output), 3);
    }
}
