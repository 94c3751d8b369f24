//! Runs the built binary against an emulator started by the test, with a clean environment.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};

use rootsweep_emulator::{Emulator, EmulatorConfig, LoadProfile, Scenario, ScenarioSpec, labels};
use serde_json::Value;

pub(crate) struct Harness {
    pub(crate) emulator: Emulator,
    pub(crate) scenario: Scenario,
    pub(crate) directory: PathBuf,
}

/// What a run of the binary left.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// The JSON Lines records of type `account`.
    pub(crate) fn accounts(&self) -> Vec<Value> {
        self.records("account")
    }

    pub(crate) fn records(&self, kind: &str) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| {
                serde_json::from_str::<Value>(line)
                    .unwrap_or_else(|error| panic!("not JSON: {line}: {error}"))
            })
            .filter(|record| record["type"] == kind)
            .collect()
    }

    pub(crate) fn summary(&self) -> Value {
        self.records("summary").pop().expect("a summary line")
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl Harness {
    pub(crate) async fn new(spec: ScenarioSpec) -> Self {
        Self::with_load(spec, LoadProfile::default()).await
    }

    pub(crate) async fn with_load(spec: ScenarioSpec, load: LoadProfile) -> Self {
        let scenario = spec.generate().expect("scenario generates");
        let emulator = Emulator::start(EmulatorConfig::new(scenario.clone()).with_load(load))
            .await
            .expect("starts");
        let directory = std::env::temp_dir().join(format!(
            "rootsweep-cli-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&directory).expect("temp dir");
        Self {
            emulator,
            scenario,
            directory,
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.directory.join(name)
    }

    pub(crate) fn command(&self, arguments: &[&str]) -> tokio::process::Command {
        let operator = self.scenario.principal(labels::OPERATOR).expect("operator");
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_rootsweep"));
        command
            .args(arguments)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.directory)
            .env("AWS_ENDPOINT_URL", self.emulator.endpoint_url())
            .env("AWS_ACCESS_KEY_ID", &operator.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &operator.secret_access_key)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", self.directory.join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.directory.join("no-aws-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .current_dir(&self.directory)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    pub(crate) async fn run(&self, arguments: &[&str]) -> Run {
        let output = self
            .command(arguments)
            .output()
            .await
            .expect("the binary runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).to_string(),
        }
    }

    /// Active members, management excluded.
    pub(crate) fn members(&self) -> Vec<&rootsweep_emulator::AccountSpec> {
        self.scenario
            .accounts
            .iter()
            .filter(|a| a.state == "ACTIVE" && a.id != self.scenario.management_account_id)
            .collect()
    }

    /// The OU whose SCP denies root sessions, as a name path.
    pub(crate) fn scp_ou_path(&self) -> String {
        let ou = self
            .scenario
            .organizational_units
            .iter()
            .find(|ou| ou.scp_denies_root)
            .expect("an SCP OU");
        let mut names = vec![ou.name.clone()];
        let mut parent = ou.parent_id.clone();
        while let Some(up) = self
            .scenario
            .organizational_units
            .iter()
            .find(|o| o.id == parent)
        {
            names.push(up.name.clone());
            parent = up.parent_id.clone();
        }
        names.reverse();
        format!("/{}", names.join("/"))
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.directory).ok();
    }
}

pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

pub(crate) fn org(accounts: usize) -> ScenarioSpec {
    ScenarioSpec {
        accounts,
        seed: 17,
        ..ScenarioSpec::default()
    }
}

/// The outcome lines of a journal, all runs together.
pub(crate) fn journal_outcomes(path: &Path) -> Vec<Value> {
    read(path)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["type"] == "outcome")
        .collect()
}

impl Harness {
    /// Checks what every run must guarantee: one record per target on stdout, the journal and
    /// a JSON Lines report agreeing with it, and no account reported remediated while the
    /// emulator still holds a root credential for it.
    pub(crate) fn check_run(&self, run: &Run, journal: &Path, report: &Path) {
        let records = run.accounts();
        let ids: std::collections::HashSet<&str> = records
            .iter()
            .filter_map(|r| r["account_id"].as_str())
            .collect();
        assert_eq!(ids.len(), records.len(), "one record per target");
        assert_eq!(
            records.len(),
            self.scenario.accounts.len(),
            "every account of the org"
        );
        let status_of = |records: &[Value]| -> std::collections::BTreeMap<String, String> {
            records
                .iter()
                .map(|r| {
                    (
                        r["account_id"].as_str().unwrap_or_default().to_string(),
                        r["status"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        };
        let stdout = status_of(&records);
        let journaled = status_of(&journal_outcomes(journal));
        assert_eq!(journaled, stdout, "the journal agrees with the output");
        let reported: Vec<Value> = read(report)
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line["type"] == "account")
            .collect();
        assert_eq!(
            status_of(&reported),
            stdout,
            "the report agrees with the output"
        );
        for (account, status) in &stdout {
            if status == "remediated" {
                let state = self.emulator.account(account).expect("account");
                assert!(
                    state.root.is_empty(),
                    "{account} reported remediated but holds {:?}",
                    state.root
                );
            }
        }
    }
}
