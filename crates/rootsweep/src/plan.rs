//! Plan files: what a dry run would change, written by `--plan-out` and carried out exactly by
//! `rootsweep apply`. A plan names every credential (key IDs, certificate IDs, MFA serials),
//! every policy (with its text) and every account; it may be edited (remove what should not
//! happen), and it is checked strictly when loaded.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use rootsweep_core::outcome::{Details, UnlockResult};
use rootsweep_core::{
    AccountId, AccountOutcome, CredentialKind, DeleteOptions, DeletionPlan, Inventory,
    PlannedPolicy, PolicyPlan, Status, Task, TaskKind, UnlockS3Options, UnlockSqsOptions,
};
use serde::{Deserialize, Serialize};

use crate::error::{CliError, CliResult};

/// The `kind` every plan file carries.
pub(crate) const PLAN_KIND: &str = "rootsweep-plan";
/// The plan format's version.
pub(crate) const PLAN_SCHEMA: u32 = 1;

/// A plan file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Plan {
    /// Always `rootsweep-plan`.
    pub(crate) kind: String,
    /// [`PLAN_SCHEMA`].
    pub(crate) schema: u32,
    /// When the dry run ran (RFC 3339).
    pub(crate) created_at: String,
    /// The rootsweep version that wrote it.
    pub(crate) rootsweep_version: String,
    /// The dry run's ID.
    pub(crate) run_id: String,
    /// The organization it was made for; `apply` refuses any other.
    pub(crate) organization_id: String,
    /// The task.
    pub(crate) task: TaskKind,
    /// For delete-credentials: the kinds the dry run looked at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) kinds: Vec<CredentialKind>,
    /// For SQS: the regions searched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) regions: Vec<String>,
    /// The accounts to change.
    pub(crate) accounts: Vec<PlannedAccount>,
}

/// The changes planned in one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlannedAccount {
    /// The account.
    pub(crate) account_id: AccountId,
    /// Its name, for people reading the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) account_name: Option<String>,
    /// delete-credentials: exactly these credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) delete: Option<Inventory>,
    /// allow-password-recovery: create the login profile.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) create_login_profile: bool,
    /// unlock-*: these policies, each only if its text is unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) policies: Vec<PlannedPolicy>,
}

impl PlannedAccount {
    /// Builds the planned changes of one dry-run outcome, if it planned any.
    pub(crate) fn from_outcome(outcome: &AccountOutcome) -> Option<Self> {
        if outcome.status != Status::Planned {
            return None;
        }
        let mut planned = Self {
            account_id: outcome.account_id.clone(),
            account_name: outcome.account_name.clone(),
            delete: None,
            create_login_profile: false,
            policies: Vec::new(),
        };
        match outcome.details.as_ref()? {
            Details::DeleteCredentials(details) => planned.delete = Some(details.before.clone()),
            Details::AllowPasswordRecovery(_) => planned.create_login_profile = true,
            Details::Unlock(details) => {
                planned.policies = details
                    .resources
                    .iter()
                    .filter(|resource| resource.result == UnlockResult::Planned)
                    .filter_map(|resource| {
                        Some(PlannedPolicy {
                            resource: resource.resource.clone(),
                            region: resource.region.clone(),
                            policy: resource.previous_policy.clone()?,
                        })
                    })
                    .collect();
            }
            Details::Audit(_) => return None,
        }
        Some(planned)
    }

    /// A one-line description for the confirmation prompt.
    pub(crate) fn describe(&self) -> String {
        if let Some(delete) = &self.delete {
            return delete.describe();
        }
        if self.create_login_profile {
            return "create a login profile".to_string();
        }
        format!(
            "{} polic{}",
            self.policies.len(),
            if self.policies.len() == 1 { "y" } else { "ies" }
        )
    }
}

impl Plan {
    /// Reads and checks a plan file.
    pub(crate) fn load(path: &Path) -> CliResult<Self> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            CliError::usage(format!("cannot read the plan {}: {error}", path.display()))
                .hint("give the file written by --plan-out")
        })?;
        Self::parse(&text).map_err(|message| {
            CliError::usage(format!(
                "{} is not a usable plan: {message}",
                path.display()
            ))
            .hint("write a new plan with --dry-run --plan-out FILE")
        })
    }

    /// Parses and checks plan text.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let plan: Self = serde_json::from_str(text).map_err(|error| error.to_string())?;
        if plan.kind != PLAN_KIND {
            return Err(format!("its kind is {:?}, not {PLAN_KIND:?}", plan.kind));
        }
        if plan.schema != PLAN_SCHEMA {
            return Err(format!(
                "it is plan format {}, and this rootsweep reads format {PLAN_SCHEMA}",
                plan.schema
            ));
        }
        if plan.task == TaskKind::Audit {
            return Err("an audit changes nothing and has no plan".to_string());
        }
        let mut seen = BTreeSet::new();
        for account in &plan.accounts {
            if !seen.insert(account.account_id.clone()) {
                return Err(format!("account {} is listed twice", account.account_id));
            }
            let fits = match plan.task {
                TaskKind::DeleteCredentials => {
                    account.delete.is_some()
                        && account.policies.is_empty()
                        && !account.create_login_profile
                }
                TaskKind::AllowPasswordRecovery => {
                    account.create_login_profile
                        && account.delete.is_none()
                        && account.policies.is_empty()
                }
                TaskKind::UnlockS3BucketPolicy | TaskKind::UnlockSqsQueuePolicy => {
                    account.delete.is_none() && !account.create_login_profile
                }
                TaskKind::Audit => false,
            };
            if !fits {
                return Err(format!(
                    "account {} does not hold a {} change",
                    account.account_id, plan.task
                ));
            }
        }
        Ok(plan)
    }

    /// Writes the plan atomically (a temporary file, then a rename).
    pub(crate) fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        let temporary = path.with_extension("tmp-rootsweep");
        std::fs::write(&temporary, text + "\n")?;
        std::fs::rename(&temporary, path)
    }

    /// The accounts the plan touches.
    pub(crate) fn account_ids(&self) -> Vec<AccountId> {
        self.accounts
            .iter()
            .map(|account| account.account_id.clone())
            .collect()
    }

    /// The engine task that carries out exactly this plan.
    pub(crate) fn task(&self) -> Task {
        let policies = || -> Arc<PolicyPlan> {
            Arc::new(
                self.accounts
                    .iter()
                    .map(|account| (account.account_id.clone(), account.policies.clone()))
                    .collect::<HashMap<_, _>>(),
            )
        };
        match self.task {
            TaskKind::DeleteCredentials => {
                let plan: DeletionPlan = self
                    .accounts
                    .iter()
                    .map(|account| {
                        (
                            account.account_id.clone(),
                            account.delete.clone().unwrap_or_default(),
                        )
                    })
                    .collect();
                let kinds = if self.kinds.is_empty() {
                    CredentialKind::ALL.into_iter().collect()
                } else {
                    self.kinds.iter().copied().collect()
                };
                Task::DeleteCredentials(DeleteOptions {
                    kinds,
                    dry_run: false,
                    plan: Some(Arc::new(plan)),
                })
            }
            TaskKind::AllowPasswordRecovery => Task::AllowPasswordRecovery { dry_run: false },
            TaskKind::UnlockS3BucketPolicy => Task::UnlockS3BucketPolicy(UnlockS3Options {
                plan: Some(policies()),
                ..UnlockS3Options::default()
            }),
            TaskKind::UnlockSqsQueuePolicy => Task::UnlockSqsQueuePolicy(UnlockSqsOptions {
                regions: self.regions.clone(),
                plan: Some(policies()),
                ..UnlockSqsOptions::default()
            }),
            TaskKind::Audit => Task::Audit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_text(task: &str, accounts: &str) -> String {
        format!(
            r#"{{"kind":"rootsweep-plan","schema":1,"created_at":"2026-11-24T00:00:00Z","rootsweep_version":"0.1.0","run_id":"r","organization_id":"o-abc","task":"{task}","accounts":{accounts}}}"#
        )
    }

    #[test]
    fn plans_round_trip_and_become_exact_tasks() {
        let text = plan_text(
            "delete-credentials",
            r#"[{"account_id":"123456789012","delete":{"access_keys":[{"id":"AKIA1"}]}}]"#,
        );
        let plan = Plan::parse(&text).expect("valid");
        let Task::DeleteCredentials(options) = plan.task() else {
            panic!("task")
        };
        let planned = options.plan.expect("a plan");
        assert_eq!(planned.len(), 1);
        assert_eq!(options.kinds.len(), 4);
        let again = Plan::parse(&serde_json::to_string(&plan).expect("json")).expect("valid");
        assert_eq!(again, plan);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Whatever the text, parsing a plan returns a plan or a reason.
        #[test]
        fn parsing_any_text_never_panics(text in ".{0,400}") {
            if let Err(message) = Plan::parse(&text) {
                proptest::prop_assert!(!message.is_empty());
            }
        }

        /// Cutting or corrupting a real plan anywhere gives a plan or a reason.
        #[test]
        fn damaged_plans_never_panic(cut in 0usize..600, flip in 0usize..600, byte in 32u8..127) {
            let mut text = plan_text(
                "delete-credentials",
                r#"[{"account_id":"123456789012","delete":{"password":{},"access_keys":[{"id":"AKIA1"}],"mfa_devices":[{"serial":"GAHT1","kind":"hardware"}]}}]"#,
            )
            .into_bytes();
            text.truncate(cut % (text.len() + 1));
            if !text.is_empty() {
                let index = flip % text.len();
                text[index] = byte;
            }
            if let Err(message) = Plan::parse(&String::from_utf8_lossy(&text)) {
                proptest::prop_assert!(!message.is_empty());
            }
        }
    }

    #[test]
    fn bad_plans_are_refused_with_the_reason() {
        let cases = [
            ("{}", "missing field"),
            ("not json", "expected"),
            (&plan_text("audit", "[]"), "an audit changes nothing"),
            (
                &plan_text("delete-credentials", r#"[{"account_id":"12"}]"#),
                "12 digits",
            ),
            (
                &plan_text(
                    "delete-credentials",
                    r#"[{"account_id":"123456789012","delete":{}},{"account_id":"123456789012","delete":{}}]"#,
                ),
                "listed twice",
            ),
            (
                &plan_text(
                    "delete-credentials",
                    r#"[{"account_id":"123456789012","create_login_profile":true}]"#,
                ),
                "does not hold",
            ),
            (
                &plan_text("delete-credentials", "[]").replace("\"schema\":1", "\"schema\":9"),
                "format 9",
            ),
            (
                &plan_text("delete-credentials", "[]").replace("rootsweep-plan", "something"),
                "kind",
            ),
            (
                &plan_text("delete-credentials", "[]")
                    .replace("\"run_id\"", "\"surprise\":1,\"run_id\""),
                "unknown field",
            ),
        ];
        for (text, expected) in cases {
            let error = Plan::parse(text).expect_err("refused");
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
