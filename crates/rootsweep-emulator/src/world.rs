//! The live state of an emulated organization: [`World`] holds the [`Scenario`] being mutated,
//! lookup indexes over it, the AssumeRoot sessions issued so far, and the counters the admin
//! endpoint reports ([`Stats`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::scenario::{AccountSpec, IAM_SERVICE_PRINCIPAL, PrincipalKind, PrincipalSpec, Scenario};

/// An AssumeRoot session the emulator issued.
#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) secret_access_key: String,
    pub(crate) session_token: String,
    pub(crate) account_id: String,
    pub(crate) task_policy: &'static str,
    /// Seconds since the Unix epoch (emulator clock).
    pub(crate) expires_at: f64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Session")
            .field("account_id", &self.account_id)
            .field("task_policy", &self.task_policy)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Who is calling, once their credentials are resolved.
#[derive(Debug, Clone)]
pub(crate) enum Caller {
    /// Long-term credentials of an IAM user or a root user.
    Principal(PrincipalSpec),
    /// An AssumeRoot session: acts as the member account's root, limited to one task policy.
    RootSession {
        account_id: String,
        task_policy: &'static str,
    },
}

impl Caller {
    /// The account the caller acts in.
    pub(crate) fn account_id(&self) -> &str {
        match self {
            Caller::Principal(principal) => &principal.account_id,
            Caller::RootSession { account_id, .. } => account_id,
        }
    }

    /// The ARN AWS names in its messages.
    pub(crate) fn arn(&self) -> String {
        match self {
            Caller::Principal(principal) => principal.arn(),
            Caller::RootSession { account_id, .. } => format!("arn:aws:iam::{account_id}:root"),
        }
    }

    pub(crate) fn is_root_session(&self) -> bool {
        matches!(self, Caller::RootSession { .. })
    }
}

/// Per-operation counters.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct OperationStats {
    /// Requests received.
    pub calls: u64,
    /// Requests answered successfully.
    pub ok: u64,
    /// Requests answered with the service's throttling error (quota or injected).
    pub throttled: u64,
    /// Requests hit by an injected fault other than throttling (5xx, drops).
    pub injected_faults: u64,
    /// Error answers by AWS error code (throttling included).
    pub errors: BTreeMap<String, u64>,
}

/// A state change the emulator applied.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Mutation {
    /// The account changed.
    pub account_id: String,
    /// `service:Operation`.
    pub operation: String,
    /// What was changed (a key ID, a bucket name, ...).
    pub target: String,
}

/// Everything the admin endpoint counts.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Stats {
    /// TCP connections accepted (clients that share a connection pool open few).
    pub connections: u64,
    /// Requests received, all services.
    pub requests: u64,
    /// Counters keyed `service:Operation`.
    pub operations: BTreeMap<String, OperationStats>,
    /// Requests to mutating operations, by the account they act in, whether they succeeded or
    /// not.
    pub mutating_requests_by_account: BTreeMap<String, u64>,
    /// Every change applied, in order.
    pub mutations: Vec<Mutation>,
    /// The most requests acting in one account that were waiting out their injected latency at
    /// the same time, by account (the caller's account: the member for calls made with a root
    /// session, the management account for AssumeRoot and Organizations). Shows whether a
    /// client makes an account's calls at once or one after another.
    pub peak_in_flight_by_account: BTreeMap<String, u64>,
    /// The same for requests to mutating operations only. AWS may answer changes to one IAM
    /// user made at once with `ConcurrentModification` (which the emulator does not produce),
    /// so a client should never have more than one in flight per account.
    pub peak_mutating_in_flight_by_account: BTreeMap<String, u64>,
    /// Requests waiting out their latency right now, by account: all, and mutating ones.
    #[serde(skip)]
    pub(crate) in_flight_by_account: BTreeMap<String, u64>,
    #[serde(skip)]
    pub(crate) mutating_in_flight_by_account: BTreeMap<String, u64>,
}

impl Stats {
    /// Total throttled answers.
    pub fn throttled(&self) -> u64 {
        self.operations.values().map(|op| op.throttled).sum()
    }

    /// Calls of one `service:Operation`.
    pub fn calls(&self, operation: &str) -> u64 {
        self.operations.get(operation).map_or(0, |op| op.calls)
    }

    /// Total requests to mutating operations.
    pub fn mutating_requests(&self) -> u64 {
        self.mutating_requests_by_account.values().sum()
    }
}

/// The emulated world.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) scenario: Scenario,
    account_index: HashMap<String, usize>,
    /// OU or root ID → parent ID (the root maps to itself).
    parent_of: HashMap<String, String>,
    /// Bucket name → (account index, bucket index).
    bucket_index: HashMap<String, (usize, usize)>,
    principals_by_key: HashMap<String, PrincipalSpec>,
    /// Long-term IAM user keys deleted by a call (the user called DeleteAccessKey on its own key).
    deleted_user_keys: HashSet<String>,
    pub(crate) sessions: HashMap<String, Session>,
    pub(crate) stats: Stats,
    /// Every secret key and token handed out, for tests that scan output for leaks.
    pub(crate) issued_secrets: Vec<String>,
    /// For tests: when trusted access, features or delegation were first enabled.
    pub(crate) enabled_dates: BTreeMap<String, f64>,
}

impl World {
    pub(crate) fn new(scenario: Scenario) -> Self {
        let mut world = World {
            scenario,
            account_index: HashMap::new(),
            parent_of: HashMap::new(),
            bucket_index: HashMap::new(),
            principals_by_key: HashMap::new(),
            deleted_user_keys: HashSet::new(),
            sessions: HashMap::new(),
            stats: Stats::default(),
            issued_secrets: Vec::new(),
            enabled_dates: BTreeMap::new(),
        };
        world.reindex();
        world
    }

    fn reindex(&mut self) {
        let scenario = &self.scenario;
        self.account_index = scenario
            .accounts
            .iter()
            .enumerate()
            .map(|(index, account)| (account.id.clone(), index))
            .collect();
        self.parent_of = scenario
            .organizational_units
            .iter()
            .map(|ou| (ou.id.clone(), ou.parent_id.clone()))
            .collect();
        self.parent_of
            .insert(scenario.root_id.clone(), scenario.root_id.clone());
        self.bucket_index.clear();
        for (account_position, account) in scenario.accounts.iter().enumerate() {
            for (bucket_position, bucket) in account.buckets.iter().enumerate() {
                self.bucket_index
                    .insert(bucket.name.clone(), (account_position, bucket_position));
            }
        }
        self.principals_by_key = scenario
            .principals
            .iter()
            .map(|principal| (principal.access_key_id.clone(), principal.clone()))
            .collect();
    }

    pub(crate) fn account(&self, id: &str) -> Option<&AccountSpec> {
        self.account_index
            .get(id)
            .map(|&index| &self.scenario.accounts[index])
    }

    pub(crate) fn account_mut(&mut self, id: &str) -> Option<&mut AccountSpec> {
        self.account_index
            .get(id)
            .map(|&index| &mut self.scenario.accounts[index])
    }

    /// The bucket's owner account ID and the bucket.
    pub(crate) fn bucket_mut(
        &mut self,
        name: &str,
    ) -> Option<(String, &mut crate::scenario::BucketSpec)> {
        let (account_position, bucket_position) = *self.bucket_index.get(name)?;
        let account = &mut self.scenario.accounts[account_position];
        Some((account.id.clone(), &mut account.buckets[bucket_position]))
    }

    pub(crate) fn is_known_parent(&self, id: &str) -> bool {
        self.parent_of.contains_key(id)
    }

    pub(crate) fn parent_of(&self, id: &str) -> Option<&str> {
        if let Some(account) = self.account(id) {
            return Some(&account.parent_id);
        }
        self.parent_of
            .get(id)
            .filter(|parent| *parent != id)
            .map(String::as_str)
    }

    /// True when an SCP on the account or any OU above it denies root sessions.
    pub(crate) fn scp_denies_root(&self, account_id: &str) -> bool {
        let Some(account) = self.account(account_id) else {
            return false;
        };
        if account_id == self.scenario.management_account_id {
            // SCPs never apply to the management account.
            return false;
        }
        if account.scp_denies_root {
            return true;
        }
        let mut current = account.parent_id.as_str();
        loop {
            if let Some(ou) = self
                .scenario
                .organizational_units
                .iter()
                .find(|ou| ou.id == current)
            {
                if ou.scp_denies_root {
                    return true;
                }
                current = &ou.parent_id;
            } else {
                return false;
            }
        }
    }

    pub(crate) fn is_delegated_admin(&self, service_principal: &str, account_id: &str) -> bool {
        self.scenario
            .delegated_administrators
            .get(service_principal)
            .is_some_and(|admins| admins.iter().any(|admin| admin == account_id))
    }

    pub(crate) fn is_any_delegated_admin(&self, account_id: &str) -> bool {
        self.scenario
            .delegated_administrators
            .values()
            .any(|admins| admins.iter().any(|admin| admin == account_id))
    }

    pub(crate) fn is_management(&self, account_id: &str) -> bool {
        account_id == self.scenario.management_account_id
    }

    pub(crate) fn iam_trusted_access(&self) -> bool {
        self.scenario
            .trusted_services
            .iter()
            .any(|service| service == IAM_SERVICE_PRINCIPAL)
    }

    pub(crate) fn iam_feature_enabled(&self, feature: &str) -> bool {
        self.scenario.iam_features.iter().any(|f| f == feature)
    }

    /// Resolves an access key to a caller. `Err` carries the reason the key is refused.
    pub(crate) fn resolve_caller(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
        now: f64,
    ) -> Result<Caller, CredentialProblem> {
        if let Some(session) = self.sessions.get(access_key_id) {
            if session_token != Some(session.session_token.as_str()) {
                return Err(CredentialProblem::InvalidToken);
            }
            if now >= session.expires_at {
                return Err(CredentialProblem::Expired);
            }
            return Ok(Caller::RootSession {
                account_id: session.account_id.clone(),
                task_policy: session.task_policy,
            });
        }
        let Some(principal) = self.principals_by_key.get(access_key_id) else {
            return Err(CredentialProblem::UnknownKey);
        };
        if session_token.is_some() {
            return Err(CredentialProblem::InvalidToken);
        }
        let key_alive = match principal.kind {
            PrincipalKind::User => !self.deleted_user_keys.contains(access_key_id),
            PrincipalKind::Root => self.account(&principal.account_id).is_some_and(|account| {
                account
                    .root
                    .access_keys
                    .iter()
                    .any(|key| key.id == access_key_id && key.status == "Active")
            }),
        };
        if !key_alive {
            return Err(CredentialProblem::UnknownKey);
        }
        Ok(Caller::Principal(principal.clone()))
    }

    /// Deletes an IAM user's own long-term key (the user called DeleteAccessKey on itself).
    pub(crate) fn delete_user_key(&mut self, access_key_id: &str) {
        self.deleted_user_keys.insert(access_key_id.to_string());
    }

    pub(crate) fn user_key_exists(&self, access_key_id: &str) -> bool {
        !self.deleted_user_keys.contains(access_key_id)
    }

    pub(crate) fn record_mutation(&mut self, account_id: &str, operation: &str, target: &str) {
        self.stats.mutations.push(Mutation {
            account_id: account_id.to_string(),
            operation: operation.to_string(),
            target: target.to_string(),
        });
    }
}

/// Why credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredentialProblem {
    UnknownKey,
    InvalidToken,
    Expired,
}
