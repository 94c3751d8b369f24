//! Every output of a run, fed by the one stream of engine events: [`Outputs`] hands each event
//! to the journal, stdout (table, JSON Lines, JSON or CSV), the reports, the plan being
//! written, the progress bar and the logs. None of them knows about the others.

pub(crate) mod log;
pub(crate) mod progress;
pub(crate) mod records;
pub(crate) mod reports;
pub(crate) mod table;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use rootsweep_core::{AccountOutcome, Event, EventKind, RunSummary, TaskKind};

use crate::cli::OutputFormat;
use crate::error::{CliError, CliResult};
use crate::plan::{Plan, PlannedAccount};
use records::{CsvSink, JsonSink, JsonlSink};
use reports::{EndReport, ReportKind};
use table::TableSink;

/// What every sink learns when a run starts.
#[derive(Debug, Clone)]
pub(crate) struct RunHeader {
    pub(crate) run_id: String,
    pub(crate) task: TaskKind,
    pub(crate) organization_id: Option<String>,
}

/// A consumer of account records.
pub(crate) trait RecordSink {
    fn begin(&mut self, header: &RunHeader) -> io::Result<()>;
    fn record(&mut self, outcome: &AccountOutcome) -> io::Result<()>;
    fn end(&mut self, summary: &RunSummary) -> io::Result<()>;
    /// Makes the records so far durable (the journal's `fsync`); most sinks need nothing.
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A report's format, from its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportFormat {
    Json,
    Jsonl,
    Csv,
    Junit,
    Sarif,
    Markdown,
}

impl ReportFormat {
    /// The format a path's extension names.
    pub(crate) fn from_path(path: &Path) -> CliResult<Self> {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let format = if name.ends_with(".junit.xml") {
            Self::Junit
        } else if name.ends_with(".sarif") || name.ends_with(".sarif.json") {
            Self::Sarif
        } else if name.ends_with(".jsonl") {
            Self::Jsonl
        } else if name.ends_with(".json") {
            Self::Json
        } else if name.ends_with(".csv") {
            Self::Csv
        } else if name.ends_with(".md") {
            Self::Markdown
        } else {
            return Err(CliError::usage(format!(
                "cannot tell the format of the report {}",
                path.display()
            ))
            .hint("end its name with .json, .jsonl, .csv, .junit.xml, .sarif or .md"));
        };
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            && !parent.is_dir()
        {
            return Err(CliError::usage(format!(
                "the report {} cannot be written: {} is not a directory",
                path.display(),
                parent.display()
            )));
        }
        Ok(format)
    }
}

/// Writes to stdout, above the progress bar when there is one.
pub(crate) struct StdoutWriter {
    bar: Option<ProgressBar>,
    buffer: Vec<u8>,
}

impl StdoutWriter {
    pub(crate) fn new(bar: Option<ProgressBar>) -> Self {
        Self {
            bar,
            buffer: Vec::new(),
        }
    }
}

impl Write for StdoutWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let bytes = std::mem::take(&mut self.buffer);
        let write = || {
            let mut stdout = io::stdout().lock();
            stdout.write_all(&bytes)?;
            stdout.flush()
        };
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }
}

/// The sink for a stdout format.
pub(crate) fn stdout_sink(
    format: OutputFormat,
    bar: Option<ProgressBar>,
    width: usize,
    color: bool,
) -> Box<dyn RecordSink> {
    let out = StdoutWriter::new(bar);
    match format {
        OutputFormat::Table => Box::new(TableSink::new(out, width, color)),
        OutputFormat::Jsonl => Box::new(JsonlSink::new(out)),
        OutputFormat::Json => Box::new(JsonSink::new(out)),
        OutputFormat::Csv => Box::new(CsvSink::new(out)),
    }
}

/// Opens a report file's sink.
pub(crate) fn report_sink(path: &Path) -> CliResult<Box<dyn RecordSink>> {
    let format = ReportFormat::from_path(path)?;
    let open = || {
        std::fs::File::create(path)
            .map(io::BufWriter::new)
            .map_err(|error| {
                CliError::usage(format!(
                    "cannot write the report {}: {error}",
                    path.display()
                ))
            })
    };
    Ok(match format {
        ReportFormat::Json => Box::new(JsonSink::new(open()?)),
        ReportFormat::Jsonl => Box::new(JsonlSink::new(open()?)),
        ReportFormat::Csv => Box::new(CsvSink::new(open()?)),
        ReportFormat::Junit => Box::new(EndReport::new(ReportKind::Junit, path.to_path_buf())),
        ReportFormat::Sarif => Box::new(EndReport::new(ReportKind::Sarif, path.to_path_buf())),
        ReportFormat::Markdown => {
            Box::new(EndReport::new(ReportKind::Markdown, path.to_path_buf()))
        }
    })
}

struct NamedSink {
    name: String,
    sink: Box<dyn RecordSink>,
    broken: bool,
}

impl NamedSink {
    /// Writes to the sink unless an earlier write failed; a failure breaks it for the rest of
    /// the run and says what went wrong.
    fn write(
        &mut self,
        write: impl FnOnce(&mut dyn RecordSink) -> io::Result<()>,
    ) -> Result<(), String> {
        if self.broken {
            return Ok(());
        }
        write(self.sink.as_mut()).map_err(|error| {
            self.broken = true;
            if error.kind() == io::ErrorKind::BrokenPipe {
                format!("{} was closed", self.name)
            } else {
                format!("cannot write {}: {error}", self.name)
            }
        })
    }
}

impl rootsweep_core::EventSink for Outputs {
    type Error = String;

    fn event(&mut self, event: &Event) -> Result<(), String> {
        self.handle(event)
    }

    fn idle(&mut self) -> Result<(), String> {
        self.release()
    }
}

/// Collects a dry run's planned changes into a plan file.
pub(crate) struct PlanWriter {
    pub(crate) path: PathBuf,
    pub(crate) plan: Plan,
}

/// Events held back until the journal is synced: at most this many, so that a run whose
/// events never pause still syncs (and reports) regularly.
const MOST_HELD: usize = 256;

/// Every output of one run.
pub(crate) struct Outputs {
    /// The journal: it sees each outcome first, and no other output sees an outcome before the
    /// journal has synced it. Outcomes that end together share one sync: the journal writes
    /// each as it comes, the events wait in `held`, and the journal is synced and the events
    /// handed on when the run pauses ([`rootsweep_core::EventSink::idle`]), when `held` is
    /// full, or at the end.
    journal: Option<NamedSink>,
    held: Vec<Event>,
    sinks: Vec<NamedSink>,
    progress: Option<progress::ProgressDisplay>,
    plan: Option<PlanWriter>,
    organization_id: Option<String>,
}

impl Outputs {
    pub(crate) fn new(organization_id: Option<String>) -> Self {
        Self {
            journal: None,
            held: Vec::new(),
            sinks: Vec::new(),
            progress: None,
            plan: None,
            organization_id,
        }
    }

    /// Sets the journal, which sees each outcome before every other output (see `journal`).
    /// It is handed records and asked to sync; its `begin` and `end` are not called.
    pub(crate) fn set_journal(&mut self, name: impl Into<String>, sink: Box<dyn RecordSink>) {
        self.journal = Some(NamedSink {
            name: name.into(),
            sink,
            broken: false,
        });
    }

    /// Adds a sink; sinks see each record in the order they were added, after the journal.
    pub(crate) fn add(&mut self, name: impl Into<String>, sink: Box<dyn RecordSink>) {
        self.sinks.push(NamedSink {
            name: name.into(),
            sink,
            broken: false,
        });
    }

    pub(crate) fn set_progress(&mut self, progress: progress::ProgressDisplay) {
        self.progress = Some(progress);
    }

    pub(crate) fn progress_bar(&self) -> Option<ProgressBar> {
        self.progress.as_ref().map(progress::ProgressDisplay::bar)
    }

    pub(crate) fn set_plan(&mut self, plan: PlanWriter) {
        self.plan = Some(plan);
    }

    fn each(
        &mut self,
        mut write: impl FnMut(&mut dyn RecordSink) -> io::Result<()>,
    ) -> Result<(), String> {
        let mut failure = None;
        for named in self.sinks.iter_mut() {
            if let Err(message) = named.write(&mut write) {
                failure.get_or_insert(message);
            }
        }
        failure.map_or(Ok(()), Err)
    }

    /// Hands one event to every output. An error stops the run from starting more accounts.
    /// The journal sees an outcome first; the other sinks and the logs see it, and every
    /// event after it, once the journal has synced it.
    pub(crate) fn handle(&mut self, event: &Event) -> Result<(), String> {
        let journaling = self.journal.as_ref().is_some_and(|journal| !journal.broken);
        let outcome = match &event.kind {
            EventKind::AccountFinished { outcome, .. } => Some(outcome),
            _ => None,
        };
        if !journaling {
            // No journal, or it failed: nothing more to wait for, but what it held goes first.
            let released = self.release();
            return released.and(self.deliver(event));
        }
        if outcome.is_none() && self.held.is_empty() {
            return self.deliver(event);
        }
        let written = match (outcome, &mut self.journal) {
            (Some(outcome), Some(journal)) => journal.write(|sink| sink.record(outcome)),
            _ => Ok(()),
        };
        self.held.push(event.clone());
        if self.held.len() >= MOST_HELD || matches!(event.kind, EventKind::RunFinished { .. }) {
            return written.and(self.release());
        }
        written
    }

    /// Syncs the journal and hands the events held for it to the other outputs.
    fn release(&mut self) -> Result<(), String> {
        if self.held.is_empty() {
            return Ok(());
        }
        let mut result = match &mut self.journal {
            Some(journal) => journal.write(|sink| sink.sync()),
            None => Ok(()),
        };
        for event in std::mem::take(&mut self.held) {
            result = result.and(self.deliver(&event));
        }
        result
    }

    /// Hands one event to every output but the journal.
    fn deliver(&mut self, event: &Event) -> Result<(), String> {
        let result = self.dispatch(event);
        log::log_event(event);
        result
    }

    fn dispatch(&mut self, event: &Event) -> Result<(), String> {
        match &event.kind {
            EventKind::RunStarted { run_id, task, .. } => {
                let header = RunHeader {
                    run_id: run_id.clone(),
                    task: *task,
                    organization_id: self.organization_id.clone(),
                };
                if let Some(plan) = &mut self.plan {
                    plan.plan.run_id = run_id.clone();
                }
                self.each(|sink| sink.begin(&header))
            }
            EventKind::AccountFinished { outcome, progress } => {
                let written = self.each(|sink| sink.record(outcome));
                if let Some(plan) = &mut self.plan
                    && let Some(planned) = PlannedAccount::from_outcome(outcome)
                {
                    plan.plan.accounts.push(planned);
                }
                if let Some(display) = &mut self.progress {
                    display.update(progress);
                }
                written
            }
            EventKind::RateChanged { budget, rate } => {
                if *budget == "sts:AssumeRoot"
                    && let Some(display) = &mut self.progress
                {
                    display.rate(*rate);
                }
                Ok(())
            }
            EventKind::RunCancelling { reason } => {
                if let Some(display) = &self.progress {
                    display.note(&format!("stopping: {reason}"));
                }
                Ok(())
            }
            EventKind::RunFinished { summary } => {
                if let Some(display) = &self.progress {
                    display.finish();
                }
                let mut result = self.each(|sink| sink.end(summary));
                if let Some(plan) = &self.plan
                    && let Err(error) = plan.plan.write(&plan.path)
                {
                    result = result.and(Err(format!(
                        "cannot write the plan {}: {error}",
                        plan.path.display()
                    )));
                }
                result
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
pub(crate) mod test_records {
    //! Records covering every status, for snapshot tests of the outputs.

    use std::time::Duration;

    use rootsweep_core::outcome::{ErrorRecord, SkipReason, StatusCounts};
    use rootsweep_core::{
        AccountId, AccountOutcome, ErrorClass, RunSummary, SCHEMA_VERSION, Status, TaskKind,
    };

    fn outcome(id: &str, name: &str, status: Status, summary: &str) -> AccountOutcome {
        AccountOutcome {
            schema: SCHEMA_VERSION,
            run_id: "20261124T000000Z-000001".into(),
            task: TaskKind::Audit,
            account_id: AccountId::parse(id).expect("valid"),
            account_name: Some(name.into()),
            ou_path: Some("/Workloads/Team01/Prod".into()),
            status,
            summary: summary.into(),
            skip_reason: None,
            details: None,
            error: None,
            calls: 2,
            retries: 0,
            started_at: Some("2026-11-24T00:00:01Z".into()),
            duration_ms: 120,
        }
    }

    pub(crate) fn outcomes() -> Vec<AccountOutcome> {
        let mut skipped = outcome(
            "100000000001",
            "management",
            Status::Skipped,
            "skipped: the management account is never a target",
        );
        skipped.skip_reason = Some(SkipReason::ManagementAccount);
        skipped.ou_path = Some("/".into());
        let mut denied = outcome(
            "100000000004",
            "legacy-billing-with-a-very-long-account-name",
            Status::Denied,
            "iam:GetAccountSummary failed: AccessDenied: User: arn:aws:iam::100000000004:root is not authorized to perform: iam:GetAccountSummary on resource: * with an explicit deny in a service control policy",
        );
        denied.error = Some(ErrorRecord {
            class: ErrorClass::DeniedByScp,
            operation: Some("iam:GetAccountSummary".into()),
            code: Some("AccessDenied".into()),
            message: "User: arn:aws:iam::100000000004:root is not authorized to perform: iam:GetAccountSummary on resource: * with an explicit deny in a service control policy".into(),
            attempts: 1,
        });
        let mut failed = outcome(
            "100000000005",
            "data-00005",
            Status::Failed,
            "iam:ListAccessKeys failed: Throttling: Rate exceeded",
        );
        failed.error = Some(ErrorRecord {
            class: ErrorClass::Throttled,
            operation: Some("iam:ListAccessKeys".into()),
            code: Some("Throttling".into()),
            message: "Rate exceeded".into(),
            attempts: 10,
        });
        vec![
            skipped,
            outcome(
                "100000000002",
                "payments-00002",
                Status::NonCompliant,
                "root credentials present: password, 2 access keys, 1 signing certificate, 1 MFA device",
            ),
            outcome(
                "100000000003",
                "search-00003",
                Status::Compliant,
                "no root credentials",
            ),
            denied,
            failed,
            outcome(
                "100000000006",
                "web-00006",
                Status::Cancelled,
                "not started: interrupted",
            ),
        ]
    }

    pub(crate) fn summary() -> RunSummary {
        let mut counts = StatusCounts::default();
        for outcome in outcomes() {
            counts.add(outcome.status);
        }
        RunSummary {
            schema: SCHEMA_VERSION,
            run_id: "20261124T000000Z-000001".into(),
            task: TaskKind::Audit,
            targets: 6,
            counts,
            stopped: Some(rootsweep_core::StopReason::Interrupted),
            started_at: "2026-11-24T00:00:00Z".into(),
            duration: Duration::from_millis(4_250),
            calls: 31,
            retries: 9,
            throttled: 9,
            hedged: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;

    use rootsweep_core::outcome::StatusCounts;
    use rootsweep_core::{EventSink, Progress};

    use super::*;

    /// A sink that logs what it is asked to do, as "<name> <call> <account>".
    struct Logged {
        name: &'static str,
        log: Rc<RefCell<Vec<String>>>,
        fail_records: bool,
    }

    impl RecordSink for Logged {
        fn begin(&mut self, _header: &RunHeader) -> io::Result<()> {
            Ok(())
        }
        fn record(&mut self, outcome: &AccountOutcome) -> io::Result<()> {
            if self.fail_records {
                return Err(io::Error::other("disk full"));
            }
            let line = format!("{} record {}", self.name, outcome.account_id);
            self.log.borrow_mut().push(line);
            Ok(())
        }
        fn end(&mut self, _summary: &RunSummary) -> io::Result<()> {
            self.log.borrow_mut().push(format!("{} end", self.name));
            Ok(())
        }
        fn sync(&mut self) -> io::Result<()> {
            self.log.borrow_mut().push(format!("{} sync", self.name));
            Ok(())
        }
    }

    fn outputs(fail_journal: bool) -> (Outputs, Rc<RefCell<Vec<String>>>) {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut outputs = Outputs::new(None);
        let sink = |name, fail_records| {
            Box::new(Logged {
                name,
                log: Rc::clone(&log),
                fail_records,
            })
        };
        outputs.set_journal("the journal", sink("journal", fail_journal));
        outputs.add("stdout", sink("stdout", false));
        (outputs, log)
    }

    fn finished(index: usize) -> Event {
        let outcome = test_records::outcomes()[index].clone();
        Event {
            elapsed: Duration::ZERO,
            kind: EventKind::AccountFinished {
                outcome: Box::new(outcome),
                progress: Progress {
                    finished: index + 1,
                    total: 10,
                    running: 0,
                    counts: StatusCounts::default(),
                    throttled: 0,
                },
            },
        }
    }

    fn account(index: usize) -> String {
        test_records::outcomes()[index].account_id.to_string()
    }

    fn taken(log: &Rc<RefCell<Vec<String>>>) -> Vec<String> {
        std::mem::take(&mut *log.borrow_mut())
    }

    #[test]
    fn outcomes_that_end_together_share_one_sync_before_any_other_output_sees_them() {
        let (mut outputs, log) = outputs(false);
        outputs.handle(&finished(0)).expect("handled");
        outputs.handle(&finished(1)).expect("handled");
        assert_eq!(
            taken(&log),
            [
                format!("journal record {}", account(0)),
                format!("journal record {}", account(1)),
            ]
        );
        // The run is about to wait: one sync, then the other outputs, in order.
        outputs.idle().expect("released");
        assert_eq!(
            taken(&log),
            [
                "journal sync".to_string(),
                format!("stdout record {}", account(0)),
                format!("stdout record {}", account(1)),
            ]
        );
        // Nothing held: no sync without a new outcome.
        outputs.idle().expect("nothing to release");
        assert!(taken(&log).is_empty());
    }

    #[test]
    fn the_last_event_and_a_full_batch_release_what_is_held() {
        let (mut outputs, log) = outputs(false);
        for _ in 0..MOST_HELD {
            outputs.handle(&finished(0)).expect("handled");
        }
        let log_now = taken(&log);
        assert_eq!(log_now.len(), 2 * MOST_HELD + 1, "{log_now:?}");
        assert_eq!(log_now[MOST_HELD], "journal sync");
        outputs.handle(&finished(1)).expect("handled");
        let summary = Event {
            elapsed: Duration::ZERO,
            kind: EventKind::RunFinished {
                summary: test_records::summary(),
            },
        };
        outputs.handle(&summary).expect("handled");
        assert_eq!(
            taken(&log),
            [
                format!("journal record {}", account(1)),
                "journal sync".to_string(),
                format!("stdout record {}", account(1)),
                "stdout end".to_string(),
            ]
        );
    }

    #[test]
    fn a_journal_that_fails_stops_the_run_and_holds_nothing_back() {
        let (mut outputs, log) = outputs(true);
        let error = outputs
            .handle(&finished(0))
            .expect_err("the journal failed");
        assert_eq!(error, "cannot write the journal: disk full");
        // The outcome still reaches the other outputs, in order, and the next ones at once.
        outputs.handle(&finished(1)).expect("handled");
        assert_eq!(
            taken(&log),
            [
                format!("stdout record {}", account(0)),
                format!("stdout record {}", account(1)),
            ]
        );
    }
}
