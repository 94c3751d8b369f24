//! Reports written when the run ends: JUnit XML ([`ReportKind::Junit`], one test case per
//! account, so CI dashboards show failures), SARIF ([`ReportKind::Sarif`], for code-scanning
//! UIs) and Markdown ([`ReportKind::Markdown`], a summary fit for a ticket or a chat). They keep
//! a compact entry per account (not the whole record), and are written atomically.

use std::io::{self, Write};
use std::path::PathBuf;

use rootsweep_core::{AccountOutcome, RunSummary, Status, TaskKind};
use serde_json::json;

use crate::output::{RecordSink, RunHeader};

/// The report kinds written at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportKind {
    Junit,
    Sarif,
    Markdown,
}

/// What a report keeps of each account.
#[derive(Debug, Clone)]
struct Entry {
    account_id: String,
    account_name: String,
    ou_path: String,
    status: Status,
    summary: String,
    error_code: Option<String>,
    duration_ms: u64,
}

impl Entry {
    fn needs_attention(&self, task: TaskKind) -> bool {
        self.status.is_failure() || (task == TaskKind::Audit && self.status == Status::NonCompliant)
    }
}

/// Collects entries and writes one report at the end.
pub(crate) struct EndReport {
    kind: ReportKind,
    path: PathBuf,
    header: Option<RunHeader>,
    entries: Vec<Entry>,
}

impl EndReport {
    pub(crate) fn new(kind: ReportKind, path: PathBuf) -> Self {
        Self {
            kind,
            path,
            header: None,
            entries: Vec::new(),
        }
    }
}

fn xml_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            // XML 1.0 forbids most control characters.
            control if control.is_control() && !matches!(control, '\n' | '\t' | '\r') => {
                escaped.push(' ')
            }
            other => escaped.push(other),
        }
    }
    escaped
}

fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

impl RecordSink for EndReport {
    fn begin(&mut self, header: &RunHeader) -> io::Result<()> {
        self.header = Some(header.clone());
        Ok(())
    }

    fn record(&mut self, outcome: &AccountOutcome) -> io::Result<()> {
        self.entries.push(Entry {
            account_id: outcome.account_id.to_string(),
            account_name: outcome.account_name.clone().unwrap_or_default(),
            ou_path: outcome.ou_path.clone().unwrap_or_default(),
            status: outcome.status,
            summary: outcome.summary.clone(),
            error_code: outcome.error.as_ref().and_then(|error| error.code.clone()),
            duration_ms: outcome.duration_ms,
        });
        Ok(())
    }

    fn end(&mut self, summary: &RunSummary) -> io::Result<()> {
        let text = match self.kind {
            ReportKind::Junit => junit(summary, &self.entries),
            ReportKind::Sarif => sarif(summary, self.header.as_ref(), &self.entries)?,
            ReportKind::Markdown => markdown(summary, &self.entries),
        };
        write_atomically(&self.path, text.as_bytes())
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
pub(crate) fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> io::Result<()> {
    let temporary = path.with_file_name(format!(
        ".{}.tmp-rootsweep",
        path.file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("report")
    ));
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)
}

fn junit(summary: &RunSummary, entries: &[Entry]) -> String {
    let task = summary.task;
    let failures = entries
        .iter()
        .filter(|entry| entry.needs_attention(task))
        .count();
    let skipped = entries
        .iter()
        .filter(|entry| matches!(entry.status, Status::Skipped | Status::Cancelled))
        .count();
    let seconds = summary.duration.as_secs_f64();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str(&format!(
        "<testsuites name=\"rootsweep\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{seconds:.3}\">\n",
        entries.len()
    ));
    xml.push_str(&format!(
        "  <testsuite name=\"rootsweep {task}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{seconds:.3}\" timestamp=\"{}\">\n",
        entries.len(),
        xml_escape(&summary.started_at)
    ));
    xml.push_str(&format!(
        "    <properties>\n      <property name=\"run_id\" value=\"{}\"/>\n    </properties>\n",
        xml_escape(&summary.run_id)
    ));
    for entry in entries {
        let name = if entry.account_name.is_empty() {
            entry.account_id.clone()
        } else {
            format!("{} ({})", entry.account_id, entry.account_name)
        };
        let classname = format!("rootsweep.{task}{}", entry.ou_path.replace('/', "."));
        xml.push_str(&format!(
            "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
            xml_escape(&name),
            xml_escape(classname.trim_end_matches('.')),
            entry.duration_ms as f64 / 1000.0
        ));
        if entry.needs_attention(task) {
            xml.push_str(&format!(
                ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>\n",
                entry.status,
                xml_escape(&format!("{}: {}", entry.status, entry.summary)),
                xml_escape(&entry.summary)
            ));
        } else if matches!(entry.status, Status::Skipped | Status::Cancelled) {
            xml.push_str(&format!(
                ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                xml_escape(&entry.summary)
            ));
        } else {
            xml.push_str("/>\n");
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

fn rule_of(entry: &Entry) -> Option<(&'static str, &'static str)> {
    match entry.status {
        Status::NonCompliant => Some(("root-credentials-present", "error")),
        Status::Denied => Some(("account-denied", "warning")),
        Status::Failed => Some(("account-failed", "error")),
        _ => None,
    }
}

fn sarif(
    summary: &RunSummary,
    header: Option<&RunHeader>,
    entries: &[Entry],
) -> io::Result<String> {
    let organization = header
        .and_then(|header| header.organization_id.clone())
        .unwrap_or_default();
    let results: Vec<serde_json::Value> = entries
        .iter()
        .filter_map(|entry| {
            let (rule, level) = rule_of(entry)?;
            let path = format!("aws-organizations/{organization}{}/{}", entry.ou_path.trim_end_matches('/'), entry.account_id);
            Some(json!({
                "ruleId": rule,
                "level": level,
                "message": { "text": format!("Account {} ({}): {}", entry.account_id, entry.account_name, entry.summary) },
                "locations": [{
                    "physicalLocation": { "artifactLocation": { "uri": path } },
                    "logicalLocations": [{ "name": entry.account_id, "fullyQualifiedName": path, "kind": "account" }],
                }],
                "partialFingerprints": { "accountId/v1": format!("{}:{rule}", entry.account_id) },
                "properties": { "status": entry.status, "ouPath": entry.ou_path, "errorCode": entry.error_code },
            }))
        })
        .collect();
    let document = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "rootsweep",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/rootsweep/rootsweep",
                "rules": [
                    {
                        "id": "root-credentials-present",
                        "shortDescription": { "text": "A member account's root user holds credentials" },
                        "fullDescription": { "text": "With centralized root access, member accounts should hold no root password, access keys, signing certificates or MFA devices. Remove them with `rootsweep delete-credentials`." },
                        "defaultConfiguration": { "level": "error" },
                    },
                    {
                        "id": "account-denied",
                        "shortDescription": { "text": "rootsweep was denied in a member account" },
                        "fullDescription": { "text": "An SCP, a missing permission or a disabled feature kept rootsweep from handling the account. See the record's error." },
                        "defaultConfiguration": { "level": "warning" },
                    },
                    {
                        "id": "account-failed",
                        "shortDescription": { "text": "rootsweep failed in a member account" },
                        "fullDescription": { "text": "An AWS call failed for good. See the record's error; `rootsweep resume JOURNAL --retry-failed` runs it again." },
                        "defaultConfiguration": { "level": "error" },
                    },
                ],
            }},
            "automationDetails": { "id": format!("rootsweep/{}/{}", summary.task, summary.run_id) },
            "invocations": [{
                "executionSuccessful": summary.stopped.is_none(),
                "startTimeUtc": summary.started_at,
            }],
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&document).map_err(io::Error::other)
}

/// At most this many accounts are listed in a Markdown report.
const MARKDOWN_ROWS: usize = 200;

fn markdown(summary: &RunSummary, entries: &[Entry]) -> String {
    let task = summary.task;
    let attention: Vec<&Entry> = entries
        .iter()
        .filter(|entry| entry.needs_attention(task))
        .collect();
    let worked = entries
        .iter()
        .filter(|entry| !matches!(entry.status, Status::Skipped | Status::Cancelled))
        .count();
    let headline = match task {
        TaskKind::Audit => format!(
            "{} of {worked} accounts non-compliant",
            summary.counts.get(Status::NonCompliant)
        ),
        _ => {
            let done = summary.counts.get(Status::Remediated)
                + summary.counts.get(Status::RecoveryAllowed)
                + summary.counts.get(Status::Unlocked);
            format!(
                "{done} of {worked} accounts changed, {} need attention",
                summary.counts.failures()
            )
        }
    };
    let mut text = format!("# rootsweep {task}: {headline}\n\n");
    text.push_str(&format!(
        "Run `{}`, started {}, took {:.1} s; {} AWS calls, {} retries, {} throttled.\n\n",
        summary.run_id,
        summary.started_at,
        summary.duration.as_secs_f64(),
        summary.calls,
        summary.retries,
        summary.throttled
    ));
    if let Some(reason) = &summary.stopped {
        text.push_str(&format!("**Stopped early:** {reason}.\n\n"));
    }
    text.push_str("| status | accounts |\n|---|---:|\n");
    for status in Status::ALL {
        let count = summary.counts.get(status);
        if count > 0 {
            text.push_str(&format!("| {status} | {count} |\n"));
        }
    }
    if !attention.is_empty() {
        text.push_str("\n## Accounts needing attention\n\n| account | name | OU | status | summary |\n|---|---|---|---|---|\n");
        for entry in attention.iter().take(MARKDOWN_ROWS) {
            text.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                entry.account_id,
                markdown_cell(&entry.account_name),
                markdown_cell(&entry.ou_path),
                entry.status,
                markdown_cell(&entry.summary)
            ));
        }
        if attention.len() > MARKDOWN_ROWS {
            text.push_str(&format!(
                "\nAnd {} more: see the JSON, JSON Lines or CSV report.\n",
                attention.len() - MARKDOWN_ROWS
            ));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::test_records::{outcomes, summary};

    fn entries() -> Vec<Entry> {
        let mut report = EndReport::new(ReportKind::Markdown, PathBuf::from("unused"));
        for outcome in outcomes() {
            report.record(&outcome).expect("records");
        }
        report.entries
    }

    #[test]
    fn junit_has_one_test_case_per_account_and_fails_the_right_ones() {
        let xml = junit(&summary(), &entries());
        assert_eq!(xml.matches("<testcase ").count(), outcomes().len());
        insta::assert_snapshot!(xml);
    }

    #[test]
    fn sarif_reports_non_compliant_failed_and_denied_accounts() {
        let header = RunHeader {
            run_id: "run".into(),
            task: TaskKind::Audit,
            organization_id: Some("o-example".into()),
        };
        let text = sarif(&summary(), Some(&header), &entries()).expect("serializes");
        let document: serde_json::Value = serde_json::from_str(&text).expect("json");
        let results = document["runs"][0]["results"].as_array().expect("results");
        let rules: Vec<&str> = results
            .iter()
            .filter_map(|r| r["ruleId"].as_str())
            .collect();
        assert_eq!(
            rules,
            [
                "root-credentials-present",
                "account-denied",
                "account-failed"
            ]
        );
        assert_eq!(document["version"], "2.1.0");
    }

    #[test]
    fn markdown_summarizes_for_a_ticket() {
        insta::assert_snapshot!(markdown(&summary(), &entries()));
    }

    #[test]
    fn xml_escaping_covers_markup_and_control_characters() {
        assert_eq!(xml_escape("a<b&\"c'\u{1}"), "a&lt;b&amp;&quot;c&apos; ");
    }
}
