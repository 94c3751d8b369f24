//! The table for people: one aligned line per account as it finishes ([`TableSink`]), then a
//! summary with hints for what went wrong ([`render_summary`]). Colour only on a terminal and
//! never with `NO_COLOR`; the output makes sense without it.

use std::collections::BTreeMap;
use std::io::{self, Write};

use rootsweep_core::{AccountOutcome, ErrorClass, RunSummary, Status, StopReason};

use crate::output::{RecordSink, RunHeader};

const ACCOUNT: usize = 12;
const NAME: usize = 22;
const STATUS: usize = 17;

/// Truncates `text` to `width` characters, marking the cut with `…`.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn paint(status: Status, text: &str, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let styled = console::style(text);
    match status {
        Status::Failed | Status::Denied => styled.red().bold().to_string(),
        Status::NonCompliant | Status::Planned | Status::Cancelled => styled.yellow().to_string(),
        Status::Skipped => styled.dim().to_string(),
        _ => styled.green().to_string(),
    }
}

/// The header line.
pub(crate) fn render_header() -> String {
    format!(
        "{:<ACCOUNT$}  {:<NAME$}  {:<STATUS$}  SUMMARY",
        "ACCOUNT", "NAME", "STATUS"
    )
}

/// One account's line, at most `width` characters (0: no limit).
pub(crate) fn render_row(outcome: &AccountOutcome, width: usize, color: bool) -> String {
    let name = fit(outcome.account_name.as_deref().unwrap_or(""), NAME);
    let status = format!("{:<STATUS$}", outcome.status.as_str());
    let fixed = ACCOUNT + NAME + STATUS + 6;
    let summary = if width > fixed + 10 {
        fit(&outcome.summary, width - fixed)
    } else {
        outcome.summary.clone()
    };
    format!(
        "{:<ACCOUNT$}  {:<NAME$}  {}  {summary}",
        outcome.account_id.as_str(),
        name,
        paint(outcome.status, &status, color)
    )
}

/// What the summary's hints are drawn from: failures by class and code.
#[derive(Debug, Default, Clone)]
pub(crate) struct FailureTally {
    by_class: BTreeMap<&'static str, usize>,
    by_code: BTreeMap<String, usize>,
}

impl FailureTally {
    pub(crate) fn add(&mut self, outcome: &AccountOutcome) {
        if let Some(error) = &outcome.error {
            *self.by_class.entry(error.class.as_str()).or_default() += 1;
            if let Some(code) = &error.code {
                *self.by_code.entry(code.clone()).or_default() += 1;
            }
        }
    }

    fn count(&self, class: ErrorClass) -> usize {
        self.by_class.get(class.as_str()).copied().unwrap_or(0)
    }
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// The end-of-run summary (plain text; several lines).
pub(crate) fn render_summary(summary: &RunSummary, tally: &FailureTally) -> String {
    let mut lines = Vec::new();
    lines.push(format!(
        "{}: {} in {:.1} s (run {})",
        summary.task,
        plural(summary.targets, "account", "accounts"),
        summary.duration.as_secs_f64(),
        summary.run_id
    ));
    let counts: Vec<String> = Status::ALL
        .iter()
        .filter_map(|status| {
            let count = summary.counts.get(*status);
            (count > 0).then(|| format!("{count} {status}"))
        })
        .collect();
    lines.push(format!(
        "  {}",
        if counts.is_empty() {
            "no accounts".to_string()
        } else {
            counts.join(", ")
        }
    ));
    // Hedged reads are among the calls; named only when there were some.
    let hedged = if summary.hedged > 0 {
        format!(" ({} of them hedged reads)", summary.hedged)
    } else {
        String::new()
    };
    lines.push(format!(
        "  {} AWS calls{hedged}, {} retries, {} throttled",
        summary.calls, summary.retries, summary.throttled
    ));
    if let Some(reason) = &summary.stopped {
        lines.push(format!("  stopped: {reason}"));
    }
    let scp = tally.count(ErrorClass::DeniedByScp);
    if scp > 0 {
        lines.push(format!(
            "  hint: {} denied by an SCP: exempt AssumeRoot sessions (a `\"Null\": {{\"aws:AssumedRoot\": \"true\"}}` condition, or Control Tower's ExemptAssumeRoot parameter); see docs/guide.md",
            plural(scp, "account was", "accounts were")
        ));
    }
    if tally.count(ErrorClass::FeatureNotEnabled) > 0 {
        lines.push("  hint: centralized root access is not fully enabled: run `rootsweep doctor`, then `rootsweep enable`".to_string());
    }
    if tally.count(ErrorClass::Denied) > 0 {
        lines.push("  hint: some calls were not authorized: check the caller's sts:AssumeRoot permission and its sts:TaskPolicyArn condition (docs/guide.md)".to_string());
    }
    if tally.count(ErrorClass::Throttled) > 0 {
        lines.push("  hint: some accounts ran out of retries while throttled: lower --assume-root-rate or --iam-rate, or raise --attempts".to_string());
    }
    if matches!(
        summary.stopped,
        Some(StopReason::Interrupted | StopReason::Aborted)
    ) || summary.counts.get(Status::Failed) > 0
    {
        lines.push("  hint: `rootsweep resume JOURNAL` finishes the accounts left (add --retry-failed to redo failures)".to_string());
    }
    lines.join("\n")
}

/// Streams table lines, then the summary.
pub(crate) struct TableSink<W: Write> {
    out: W,
    width: usize,
    color: bool,
    tally: FailureTally,
}

impl<W: Write> TableSink<W> {
    /// A table `width` characters wide (0: no limit).
    pub(crate) fn new(out: W, width: usize, color: bool) -> Self {
        Self {
            out,
            width,
            color,
            tally: FailureTally::default(),
        }
    }
}

impl<W: Write> RecordSink for TableSink<W> {
    fn begin(&mut self, _header: &RunHeader) -> io::Result<()> {
        writeln!(self.out, "{}", render_header())?;
        self.out.flush()
    }

    fn record(&mut self, outcome: &AccountOutcome) -> io::Result<()> {
        self.tally.add(outcome);
        writeln!(self.out, "{}", render_row(outcome, self.width, self.color))?;
        self.out.flush()
    }

    fn end(&mut self, summary: &RunSummary) -> io::Result<()> {
        writeln!(self.out, "\n{}", render_summary(summary, &self.tally))?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::test_records::{outcomes, summary};

    #[test]
    fn the_table_renders_every_status() {
        let mut text = render_header();
        for outcome in outcomes() {
            text.push('\n');
            text.push_str(&render_row(&outcome, 120, false));
        }
        insta::assert_snapshot!(text);
    }

    #[test]
    fn long_summaries_are_cut_to_the_terminal() {
        let outcome = &outcomes()[1];
        let row = render_row(outcome, 70, false);
        assert_eq!(row.chars().count(), 70);
        assert!(row.ends_with('…'));
    }

    #[test]
    fn the_summary_counts_and_hints() {
        let mut tally = FailureTally::default();
        for outcome in outcomes() {
            tally.add(&outcome);
        }
        insta::assert_snapshot!(render_summary(&summary(), &tally));
    }

    #[test]
    fn hedged_reads_are_named_only_when_there_were_some() {
        let tally = FailureTally::default();
        let none = render_summary(&summary(), &tally);
        assert!(!none.contains("hedged"), "{none}");
        let hedged = RunSummary {
            hedged: 4,
            ..summary()
        };
        let text = render_summary(&hedged, &tally);
        assert!(
            text.contains("31 AWS calls (4 of them hedged reads), 9 retries"),
            "{text}"
        );
    }
}
