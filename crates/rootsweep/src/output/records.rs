//! Machine-readable record writers: JSON Lines ([`JsonlSink`]), one streamed JSON document
//! ([`JsonSink`]) and CSV ([`CsvSink`]). Each writes one record per account as it finishes.

use std::io::{self, Write};

use rootsweep_core::{AccountOutcome, RunSummary};
use serde_json::Value;

use crate::output::{RecordSink, RunHeader};

/// A record as a JSON object with a leading `"type"` field (`account` or `summary`).
pub(crate) fn typed(kind: &str, record: &impl serde::Serialize) -> io::Result<String> {
    let value = serde_json::to_value(record).map_err(io::Error::other)?;
    let mut object = serde_json::Map::new();
    object.insert("type".to_string(), Value::String(kind.to_string()));
    if let Value::Object(fields) = value {
        object.extend(fields);
    }
    serde_json::to_string(&Value::Object(object)).map_err(io::Error::other)
}

/// One JSON object per line: `{"type":"account",...}` per account, then `{"type":"summary",...}`.
pub(crate) struct JsonlSink<W: Write> {
    out: W,
}

impl<W: Write> JsonlSink<W> {
    pub(crate) fn new(out: W) -> Self {
        Self { out }
    }
}

impl<W: Write> RecordSink for JsonlSink<W> {
    fn begin(&mut self, _header: &RunHeader) -> io::Result<()> {
        Ok(())
    }

    fn record(&mut self, outcome: &AccountOutcome) -> io::Result<()> {
        let line = typed("account", outcome)?;
        writeln!(self.out, "{line}")?;
        self.out.flush()
    }

    fn end(&mut self, summary: &RunSummary) -> io::Result<()> {
        let line = typed("summary", summary)?;
        writeln!(self.out, "{line}")?;
        self.out.flush()
    }
}

/// One JSON document, written as the run goes: `{"schema":1,"records":[...],"summary":{...}}`.
pub(crate) struct JsonSink<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> JsonSink<W> {
    pub(crate) fn new(out: W) -> Self {
        Self { out, first: true }
    }
}

impl<W: Write> RecordSink for JsonSink<W> {
    fn begin(&mut self, header: &RunHeader) -> io::Result<()> {
        write!(
            self.out,
            "{{\"schema\":{},\"run_id\":{},\"task\":{},\"records\":[",
            rootsweep_core::SCHEMA_VERSION,
            serde_json::to_string(&header.run_id).map_err(io::Error::other)?,
            serde_json::to_string(&header.task).map_err(io::Error::other)?
        )
    }

    fn record(&mut self, outcome: &AccountOutcome) -> io::Result<()> {
        if !self.first {
            self.out.write_all(b",")?;
        }
        self.first = false;
        self.out.write_all(b"\n")?;
        serde_json::to_writer(&mut self.out, outcome).map_err(io::Error::other)
    }

    fn end(&mut self, summary: &RunSummary) -> io::Result<()> {
        write!(self.out, "\n],\"summary\":")?;
        serde_json::to_writer(&mut self.out, summary).map_err(io::Error::other)?;
        writeln!(self.out, "}}")?;
        self.out.flush()
    }
}

/// The CSV columns.
pub(crate) const CSV_COLUMNS: [&str; 15] = [
    "account_id",
    "account_name",
    "ou_path",
    "task",
    "status",
    "summary",
    "skip_reason",
    "error_class",
    "error_code",
    "error_operation",
    "error_message",
    "calls",
    "retries",
    "started_at",
    "duration_ms",
];

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// One CSV row per account, with a header row.
pub(crate) struct CsvSink<W: Write> {
    out: W,
}

impl<W: Write> CsvSink<W> {
    pub(crate) fn new(out: W) -> Self {
        Self { out }
    }
}

impl<W: Write> RecordSink for CsvSink<W> {
    fn begin(&mut self, _header: &RunHeader) -> io::Result<()> {
        writeln!(self.out, "{}", CSV_COLUMNS.join(","))?;
        self.out.flush()
    }

    fn record(&mut self, outcome: &AccountOutcome) -> io::Result<()> {
        let error = outcome.error.as_ref();
        let fields = [
            outcome.account_id.to_string(),
            outcome.account_name.clone().unwrap_or_default(),
            outcome.ou_path.clone().unwrap_or_default(),
            outcome.task.to_string(),
            outcome.status.to_string(),
            outcome.summary.clone(),
            outcome
                .skip_reason
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            error.map(|e| e.class.to_string()).unwrap_or_default(),
            error.and_then(|e| e.code.clone()).unwrap_or_default(),
            error.and_then(|e| e.operation.clone()).unwrap_or_default(),
            error.map(|e| e.message.clone()).unwrap_or_default(),
            outcome.calls.to_string(),
            outcome.retries.to_string(),
            outcome.started_at.clone().unwrap_or_default(),
            outcome.duration_ms.to_string(),
        ];
        let row: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
        writeln!(self.out, "{}", row.join(","))?;
        self.out.flush()
    }

    fn end(&mut self, _summary: &RunSummary) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }
}
