//! The run journal: a JSON Lines file that makes a run resumable after any crash.
//!
//! - [`JournalWriter`] writes a [`JournalHeader`] (the run, the task's options, the resolved
//!   targets and their hash), then one line per terminal outcome, each written and synced to
//!   disk (`fsync`) before the outcome is reported anywhere else. Outcomes that end together
//!   may share one sync ([`JournalWriter::write`], then [`JournalWriter::sync`]): a sweep
//!   ends hundreds of accounts a second, and where a sync takes milliseconds (a laptop's full
//!   sync, a network disk) one per outcome would set the sweep's pace. A resume appends a
//!   [`ResumeMarker`] and its own outcomes to the same file.
//! - [`Journal::read`] reads one back: a last line cut short by a crash is tolerated (and
//!   reported), any other damage is an error naming the line, and a journal of another format
//!   version is refused. [`Journal::latest`] says how each account last ended, which is what a
//!   resume works from.
//!
//! A `cancelled` outcome is not terminal: the account was never finished, and a resume works
//! on it again.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::account::{Account, AccountId};
use crate::discovery::{Organization, Target, Targets};
use crate::outcome::{AccountOutcome, SkipReason, Status, TaskKind};

/// The journal format's version.
pub const JOURNAL_FORMAT: u32 = 1;

/// The first line of a journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalHeader {
    /// [`JOURNAL_FORMAT`].
    pub journal: u32,
    /// The rootsweep version that started the run.
    pub rootsweep_version: String,
    /// The run's ID.
    pub run_id: String,
    /// When it started (RFC 3339).
    pub created_at: String,
    /// The task.
    pub task: TaskKind,
    /// The task's options and run settings, as the program that wrote the journal records them
    /// (the CLI rebuilds the task from them on resume).
    pub options: Value,
    /// The organization.
    pub organization: Organization,
    /// Every target of the run, skipped ones included.
    pub targets: Vec<Target>,
    /// A hash of the targets, to catch a header edited or damaged.
    pub targets_hash: String,
}

/// A line written when a journal is resumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeMarker {
    /// The resuming run's ID.
    pub run_id: String,
    /// When it started (RFC 3339).
    pub created_at: String,
    /// The rootsweep version that resumed.
    pub rootsweep_version: String,
    /// Whether failed and denied accounts are worked on again.
    pub retry_failed: bool,
}

/// One line of a journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line {
    Header(Box<JournalHeader>),
    Resume(ResumeMarker),
    Outcome(Box<AccountOutcome>),
}

/// Why a journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The journal.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A line is damaged.
    #[error("{path} line {line} is not a journal line: {message}")]
    Corrupt {
        /// The journal.
        path: PathBuf,
        /// The line number (1-based).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The file does not start with a journal header.
    #[error("{path} is not a rootsweep journal: {message}")]
    NotAJournal {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The journal is of another format version.
    #[error("{path} is journal format {found}, and this rootsweep reads format {JOURNAL_FORMAT}")]
    Version {
        /// The journal.
        path: PathBuf,
        /// Its format.
        found: u32,
    },
}

/// FNV-1a, 64 bits: a stable, dependency-free hash for the targets (not for security).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The hash recorded in a header for `targets`.
pub fn targets_hash(targets: &[Target]) -> String {
    let mut text = String::new();
    for target in targets {
        text.push_str(target.account.id.as_str());
        text.push(':');
        if let Some(skip) = &target.skip {
            text.push_str(&serde_json::to_string(skip).unwrap_or_default());
        }
        text.push('\n');
    }
    format!("fnv1a64:{:016x}", fnv1a(text.as_bytes()))
}

impl JournalHeader {
    /// A header for a run over `targets`.
    pub fn new(run_id: &str, task: TaskKind, options: Value, targets: &Targets) -> Self {
        Self {
            journal: JOURNAL_FORMAT,
            rootsweep_version: env!("CARGO_PKG_VERSION").to_string(),
            run_id: run_id.to_string(),
            created_at: crate::clock::rfc3339(crate::clock::now()),
            task,
            options,
            organization: targets.organization.clone(),
            targets: targets.accounts.clone(),
            targets_hash: targets_hash(&targets.accounts),
        }
    }
}

/// Appends to a journal, syncing every line to disk.
#[derive(Debug)]
pub struct JournalWriter {
    path: PathBuf,
    file: File,
}

impl JournalWriter {
    fn io(&self, source: io::Error) -> JournalError {
        JournalError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Creates a new journal at `path` (which must not exist) and writes its header.
    pub fn create(path: &Path, header: &JournalHeader) -> Result<Self, JournalError> {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|source| JournalError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|source| JournalError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        let mut writer = Self {
            path: path.to_path_buf(),
            file,
        };
        writer.append(&Line::Header(Box::new(header.clone())))?;
        Ok(writer)
    }

    /// Opens an existing journal to append a resume to it. A last line cut short by a crash is
    /// finished with a newline first, so that it stays one (ignored) line.
    pub fn resume(path: &Path, marker: &ResumeMarker) -> Result<Self, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        let text = std::fs::read(path).map_err(io)?;
        let mut file = OpenOptions::new().append(true).open(path).map_err(io)?;
        if !text.is_empty() && !text.ends_with(b"\n") {
            file.write_all(b"\n").map_err(io)?;
        }
        let mut writer = Self {
            path: path.to_path_buf(),
            file,
        };
        writer.append(&Line::Resume(marker.clone()))?;
        Ok(writer)
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends an outcome and syncs it to disk before returning.
    pub fn record(&mut self, outcome: &AccountOutcome) -> Result<(), JournalError> {
        self.write(outcome)?;
        self.sync()
    }

    /// Appends an outcome without syncing it: it is durable only after [`sync`](Self::sync),
    /// and must not be reported anywhere else before.
    pub fn write(&mut self, outcome: &AccountOutcome) -> Result<(), JournalError> {
        self.write_line(&Line::Outcome(Box::new(outcome.clone())))
    }

    /// Syncs everything written so far to disk.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        self.file.sync_data().map_err(|error| self.io(error))
    }

    fn append(&mut self, line: &Line) -> Result<(), JournalError> {
        self.write_line(line)?;
        self.sync()
    }

    fn write_line(&mut self, line: &Line) -> Result<(), JournalError> {
        let mut bytes =
            serde_json::to_vec(line).map_err(|error| self.io(io::Error::other(error)))?;
        bytes.push(b'\n');
        // One write per line: after a crash a line is whole, or it is the last line and cut
        // short, which the reader tolerates.
        self.file.write_all(&bytes).map_err(|error| self.io(error))
    }
}

/// How an account last ended in a journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastOutcome {
    /// The status.
    pub status: Status,
    /// The run that recorded it.
    pub run_id: String,
}

/// A journal read back.
#[derive(Debug, Clone)]
pub struct Journal {
    /// The header.
    pub header: JournalHeader,
    /// Every resume so far.
    pub resumes: Vec<ResumeMarker>,
    /// How each account last ended (accounts never recorded are absent).
    pub latest: HashMap<AccountId, LastOutcome>,
    /// Outcome lines read, all runs together.
    pub outcome_lines: usize,
    /// Whether the last line was cut short by a crash (and ignored).
    pub truncated_tail: bool,
}

impl Journal {
    /// Reads a journal (see the module documentation).
    pub fn read(path: &Path) -> Result<Self, JournalError> {
        let bytes = std::fs::read(path).map_err(|source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let ends_with_newline = bytes.last() == Some(&b'\n');
        let lines: Vec<(usize, String)> = bytes
            .split(|byte| *byte == b'\n')
            .enumerate()
            .filter(|(_, line)| !line.is_empty())
            .map(|(index, line)| (index + 1, String::from_utf8_lossy(line).into_owned()))
            .collect();
        if lines.is_empty() {
            return Err(JournalError::NotAJournal {
                path: path.to_path_buf(),
                message: "the file is empty".to_string(),
            });
        }
        let last_number = lines.last().map_or(0, |(number, _)| *number);
        let mut header: Option<JournalHeader> = None;
        let mut resumes = Vec::new();
        let mut latest = HashMap::new();
        let mut outcome_lines = 0;
        let mut truncated_tail = false;
        for (position, (number, text)) in lines.iter().enumerate() {
            let number = *number;
            if text.trim().is_empty() {
                continue;
            }
            // A resume finishes a line cut short by a crash with a newline and then writes its
            // marker, so a broken line is legitimate mid-file only right before a marker.
            let followed_by_resume = lines.get(position + 1).is_some_and(|(_, next)| {
                matches!(serde_json::from_str::<Line>(next), Ok(Line::Resume(_)))
            });
            let parsed: Result<Line, _> = serde_json::from_str(text);
            let line = match parsed {
                Ok(line) => line,
                // The last line, without its newline: a crash while writing it.
                Err(_) if number == last_number && !ends_with_newline && header.is_some() => {
                    truncated_tail = true;
                    continue;
                }
                // A line finished with a newline by a later resume, after a crash cut it short.
                Err(_) if header.is_some() && followed_by_resume && looks_cut_short(text) => {
                    continue;
                }
                Err(error) if number == 1 => {
                    // Tell a journal of another version from a file that is not a journal.
                    let version = serde_json::from_str::<Value>(text)
                        .ok()
                        .and_then(|value| value.get("journal").and_then(Value::as_u64));
                    return Err(match version {
                        Some(found) if found != u64::from(JOURNAL_FORMAT) => {
                            JournalError::Version {
                                path: path.to_path_buf(),
                                found: u32::try_from(found).unwrap_or(u32::MAX),
                            }
                        }
                        _ => JournalError::NotAJournal {
                            path: path.to_path_buf(),
                            message: format!("its first line is not a journal header ({error})"),
                        },
                    });
                }
                Err(error) => {
                    return Err(JournalError::Corrupt {
                        path: path.to_path_buf(),
                        line: number,
                        message: error.to_string(),
                    });
                }
            };
            match (line, &header) {
                (Line::Header(found), None) => {
                    if found.journal != JOURNAL_FORMAT {
                        return Err(JournalError::Version {
                            path: path.to_path_buf(),
                            found: found.journal,
                        });
                    }
                    if targets_hash(&found.targets) != found.targets_hash {
                        return Err(JournalError::Corrupt {
                            path: path.to_path_buf(),
                            line: number,
                            message: "the targets do not match their hash: the header was edited or damaged".to_string(),
                        });
                    }
                    header = Some(*found);
                }
                (_, None) => {
                    return Err(JournalError::NotAJournal {
                        path: path.to_path_buf(),
                        message: "its first line is not a journal header".to_string(),
                    });
                }
                (Line::Header(_), Some(_)) => {
                    return Err(JournalError::Corrupt {
                        path: path.to_path_buf(),
                        line: number,
                        message: "a second header".to_string(),
                    });
                }
                (Line::Resume(marker), Some(_)) => resumes.push(marker),
                (Line::Outcome(outcome), Some(found)) => {
                    if outcome.task != found.task {
                        return Err(JournalError::Corrupt {
                            path: path.to_path_buf(),
                            line: number,
                            message: format!(
                                "an outcome of a {} run in a {} journal",
                                outcome.task, found.task
                            ),
                        });
                    }
                    outcome_lines += 1;
                    latest.insert(
                        outcome.account_id.clone(),
                        LastOutcome {
                            status: outcome.status,
                            run_id: outcome.run_id.clone(),
                        },
                    );
                }
            }
        }
        let header = header.ok_or_else(|| JournalError::NotAJournal {
            path: path.to_path_buf(),
            message: "it has no header".to_string(),
        })?;
        Ok(Self {
            header,
            resumes,
            latest,
            outcome_lines,
            truncated_tail,
        })
    }

    /// The targets a resume works with: the journal's own, where every account that already
    /// ended (not `cancelled`) is skipped as done earlier, except failed and denied ones when
    /// `retry_failed` is set. Accounts skipped in the original run stay skipped.
    pub fn remaining(&self, retry_failed: bool) -> Targets {
        let accounts = self
            .header
            .targets
            .iter()
            .map(|target| {
                let done = self.latest.get(&target.account.id).filter(|last| {
                    last.status != Status::Cancelled
                        && last.status != Status::Skipped
                        && !(retry_failed && last.status.is_failure())
                });
                let skip = match (&target.skip, done) {
                    (Some(skip), _) => Some(skip.clone()),
                    (None, Some(last)) => Some(SkipReason::DoneEarlier {
                        status: last.status,
                    }),
                    (None, None) => None,
                };
                Target {
                    account: target.account.clone(),
                    skip,
                }
            })
            .collect();
        Targets {
            organization: self.header.organization.clone(),
            accounts,
        }
    }

    /// The accounts of the run.
    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.header.targets.iter().map(|target| &target.account)
    }
}

/// A line a crash cut short and a resume finished: JSON that stops mid-way.
fn looks_cut_short(text: &str) -> bool {
    let trimmed = text.trim_end();
    trimmed.starts_with('{') && !trimmed.ends_with('}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::AccountState;
    use crate::outcome::SCHEMA_VERSION;

    fn targets() -> Targets {
        let account = |id: &str, skip: Option<SkipReason>| Target {
            account: Account {
                id: AccountId::parse(id).expect("valid"),
                name: format!("account-{id}"),
                state: AccountState::Active,
                ou_path: "/Workloads".into(),
                parent_id: "ou-ab12-cdef3456".into(),
            },
            skip,
        };
        Targets {
            organization: Organization {
                id: "o-example".into(),
                management_account_id: AccountId::parse("100000000000").expect("valid"),
                feature_set: "ALL".into(),
            },
            accounts: vec![
                account("100000000000", Some(SkipReason::ManagementAccount)),
                account("100000000001", None),
                account("100000000002", None),
                account("100000000003", None),
            ],
        }
    }

    fn outcome(id: &str, status: Status) -> AccountOutcome {
        AccountOutcome {
            schema: SCHEMA_VERSION,
            run_id: "run-1".into(),
            task: TaskKind::DeleteCredentials,
            account_id: AccountId::parse(id).expect("valid"),
            account_name: None,
            ou_path: None,
            status,
            summary: String::new(),
            skip_reason: None,
            details: None,
            error: None,
            calls: 1,
            retries: 0,
            started_at: None,
            duration_ms: 1,
        }
    }

    fn temp(name: &str) -> PathBuf {
        let directory =
            std::env::temp_dir().join(format!("rootsweep-journal-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&directory).expect("temp dir");
        let path = directory.join("journal.jsonl");
        std::fs::remove_file(&path).ok();
        path
    }

    fn header() -> JournalHeader {
        JournalHeader::new(
            "run-1",
            TaskKind::DeleteCredentials,
            serde_json::json!({"kinds": []}),
            &targets(),
        )
    }

    #[test]
    fn a_journal_round_trips_and_says_what_remains() {
        let path = temp("round-trip");
        let header = header();
        let mut writer = JournalWriter::create(&path, &header).expect("creates");
        writer
            .record(&outcome("100000000001", Status::Remediated))
            .expect("writes");
        writer
            .record(&outcome("100000000002", Status::Failed))
            .expect("writes");
        writer
            .record(&outcome("100000000003", Status::Cancelled))
            .expect("writes");
        drop(writer);
        let journal = Journal::read(&path).expect("reads");
        assert_eq!(journal.header, header);
        assert_eq!(journal.outcome_lines, 3);
        assert!(!journal.truncated_tail);

        let remaining = journal.remaining(false);
        let skip = |id: &str| {
            remaining
                .accounts
                .iter()
                .find(|t| t.account.id.as_str() == id)
                .and_then(|t| t.skip.clone())
        };
        assert_eq!(skip("100000000000"), Some(SkipReason::ManagementAccount));
        assert_eq!(
            skip("100000000001"),
            Some(SkipReason::DoneEarlier {
                status: Status::Remediated
            })
        );
        assert_eq!(
            skip("100000000002"),
            Some(SkipReason::DoneEarlier {
                status: Status::Failed
            })
        );
        assert_eq!(
            skip("100000000003"),
            None,
            "cancelled accounts are worked on again"
        );
        let retried = journal.remaining(true);
        assert!(
            retried
                .accounts
                .iter()
                .any(|t| t.account.id.as_str() == "100000000002" && t.skip.is_none())
        );

        // A resume appends to the same file.
        let marker = ResumeMarker {
            run_id: "run-2".into(),
            created_at: String::new(),
            rootsweep_version: String::new(),
            retry_failed: false,
        };
        let mut writer = JournalWriter::resume(&path, &marker).expect("opens");
        let mut finished = outcome("100000000003", Status::Remediated);
        finished.run_id = "run-2".into();
        writer.record(&finished).expect("writes");
        let journal = Journal::read(&path).expect("reads");
        assert_eq!(journal.resumes.len(), 1);
        assert_eq!(
            journal.latest[&AccountId::parse("100000000003").expect("valid")].status,
            Status::Remediated
        );
        assert_eq!(journal.remaining(false).active_count(), 0);
    }

    #[test]
    fn a_line_cut_short_by_a_crash_is_tolerated_and_then_finished() {
        let path = temp("truncated");
        let mut writer = JournalWriter::create(&path, &header()).expect("creates");
        writer
            .record(&outcome("100000000001", Status::Remediated))
            .expect("writes");
        drop(writer);
        let line = serde_json::to_string(&Line::Outcome(Box::new(outcome(
            "100000000002",
            Status::Remediated,
        ))))
        .expect("json");
        let mut file = OpenOptions::new().append(true).open(&path).expect("opens");
        file.write_all(&line.as_bytes()[..line.len() / 2])
            .expect("writes");
        drop(file);
        let journal = Journal::read(&path).expect("tolerated");
        assert!(journal.truncated_tail);
        assert_eq!(journal.outcome_lines, 1);
        // Resuming finishes the cut line with a newline; the journal stays readable.
        let marker = ResumeMarker {
            run_id: "run-2".into(),
            created_at: String::new(),
            rootsweep_version: String::new(),
            retry_failed: false,
        };
        let mut writer = JournalWriter::resume(&path, &marker).expect("opens");
        writer
            .record(&outcome("100000000002", Status::Remediated))
            .expect("writes");
        let journal = Journal::read(&path).expect("reads after resume");
        assert_eq!(journal.outcome_lines, 2);
    }

    #[test]
    fn damage_elsewhere_other_versions_and_strangers_are_refused() {
        let path = temp("damaged");
        let mut writer = JournalWriter::create(&path, &header()).expect("creates");
        writer
            .record(&outcome("100000000001", Status::Remediated))
            .expect("writes");
        drop(writer);
        let text = std::fs::read_to_string(&path).expect("reads");
        std::fs::write(&path, format!("{text}not json at all\n{text}")).expect("writes");
        let error = Journal::read(&path).expect_err("corrupt");
        assert!(
            error.to_string().contains("line 3 is not a journal line"),
            "{error}"
        );

        let versioned = text.replacen("\"journal\":1", "\"journal\":7", 1);
        std::fs::write(&path, versioned).expect("writes");
        let error = Journal::read(&path).expect_err("version");
        assert!(
            matches!(error, JournalError::Version { found: 7, .. }),
            "{error}"
        );

        std::fs::write(&path, "{\"hello\": \"world\"}\n").expect("writes");
        assert!(matches!(
            Journal::read(&path),
            Err(JournalError::NotAJournal { .. })
        ));
        std::fs::write(&path, "").expect("writes");
        assert!(matches!(
            Journal::read(&path),
            Err(JournalError::NotAJournal { .. })
        ));

        let tampered = text.replacen("100000000002", "100000000009", 1);
        std::fs::write(&path, tampered).expect("writes");
        let error = Journal::read(&path).expect_err("hash");
        assert!(
            error.to_string().contains("do not match their hash"),
            "{error}"
        );

        // A new journal never overwrites an existing file.
        assert!(JournalWriter::create(&path, &header()).is_err());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn sample() -> String {
        let path = std::env::temp_dir().join(format!(
            "rootsweep-journal-sample-{}.jsonl",
            std::process::id()
        ));
        std::fs::remove_file(&path).ok();
        let header = JournalHeader::new(
            "run",
            TaskKind::Audit,
            Value::Null,
            &tests_support::targets(),
        );
        let mut writer = JournalWriter::create(&path, &header).expect("creates");
        writer
            .record(&tests_support::outcome("100000000001"))
            .expect("writes");
        drop(writer);
        let text = std::fs::read_to_string(&path).expect("reads");
        std::fs::remove_file(&path).ok();
        text
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever the bytes, reading a journal returns a journal or an error with a message.
        #[test]
        fn reading_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let path = std::env::temp_dir().join(format!("rootsweep-journal-prop-{}-{}.jsonl", std::process::id(), fastrand::u64(..)));
            std::fs::write(&path, &bytes).expect("writes");
            if let Err(error) = Journal::read(&path) {
                prop_assert!(!error.to_string().is_empty());
            }
            std::fs::remove_file(&path).ok();
        }

        /// Cutting or corrupting a real journal anywhere gives a journal or a clear error.
        #[test]
        fn damaged_journals_never_panic(cut in 0usize..4096, flip in 0usize..4096, byte in any::<u8>()) {
            let mut bytes = sample().into_bytes();
            let cut = cut % (bytes.len() + 1);
            bytes.truncate(cut);
            if !bytes.is_empty() {
                let index = flip % bytes.len();
                bytes[index] = byte;
            }
            let path = std::env::temp_dir().join(format!("rootsweep-journal-damage-{}-{}.jsonl", std::process::id(), fastrand::u64(..)));
            std::fs::write(&path, &bytes).expect("writes");
            if let Err(error) = Journal::read(&path) {
                prop_assert!(!error.to_string().is_empty());
            }
            std::fs::remove_file(&path).ok();
        }
    }
}

#[cfg(test)]
mod tests_support {
    use super::*;
    use crate::account::AccountState;
    use crate::outcome::SCHEMA_VERSION;

    pub(super) fn targets() -> Targets {
        Targets {
            organization: Organization {
                id: "o-example".into(),
                management_account_id: AccountId::parse("100000000000").expect("valid"),
                feature_set: "ALL".into(),
            },
            accounts: vec![Target {
                account: Account {
                    id: AccountId::parse("100000000001").expect("valid"),
                    name: "a".into(),
                    state: AccountState::Active,
                    ou_path: "/".into(),
                    parent_id: "r-ab12".into(),
                },
                skip: None,
            }],
        }
    }

    pub(super) fn outcome(id: &str) -> AccountOutcome {
        AccountOutcome {
            schema: SCHEMA_VERSION,
            run_id: "run".into(),
            task: TaskKind::Audit,
            account_id: AccountId::parse(id).expect("valid"),
            account_name: None,
            ou_path: None,
            status: Status::Compliant,
            summary: "no root credentials".into(),
            skip_reason: None,
            details: None,
            error: None,
            calls: 2,
            retries: 0,
            started_at: None,
            duration_ms: 3,
        }
    }
}
