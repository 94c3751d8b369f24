//! The stable per-account record: [`AccountOutcome`], one per target and run, with its
//! [`Status`], task [`Details`] and, when something went wrong, an [`ErrorRecord`]. It is what
//! the JSON output, every report and the journal contain, so its serialized form is versioned
//! ([`SCHEMA_VERSION`]) and documented field by field in `docs/output.md`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::account::AccountId;
use crate::limits::{ErrorClass, FailureDetail};

/// The version of the record's serialized form. Adding optional fields keeps it; renaming,
/// removing or changing the meaning of a field bumps it.
pub const SCHEMA_VERSION: u32 = 1;

/// The five root tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// Read root credentials.
    Audit,
    /// Delete root credentials.
    DeleteCredentials,
    /// Allow root password recovery.
    AllowPasswordRecovery,
    /// Delete an S3 bucket policy that locks everyone out.
    UnlockS3BucketPolicy,
    /// Delete an SQS queue policy that locks everyone out.
    UnlockSqsQueuePolicy,
}

impl TaskKind {
    /// The AWS managed task policy the task's session is scoped to.
    pub fn task_policy(self) -> TaskPolicy {
        match self {
            Self::Audit => TaskPolicy::AuditRootUserCredentials,
            Self::DeleteCredentials => TaskPolicy::DeleteRootUserCredentials,
            Self::AllowPasswordRecovery => TaskPolicy::CreateRootUserPassword,
            Self::UnlockS3BucketPolicy => TaskPolicy::S3UnlockBucketPolicy,
            Self::UnlockSqsQueuePolicy => TaskPolicy::SqsUnlockQueuePolicy,
        }
    }

    /// Whether the task changes anything in the accounts.
    pub fn is_mutating(self) -> bool {
        self != Self::Audit
    }

    /// The command name (`delete-credentials`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Audit => "audit",
            Self::DeleteCredentials => "delete-credentials",
            Self::AllowPasswordRecovery => "allow-password-recovery",
            Self::UnlockS3BucketPolicy => "unlock-s3-bucket-policy",
            Self::UnlockSqsQueuePolicy => "unlock-sqs-queue-policy",
        }
    }
}

impl fmt::Display for TaskKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The AWS managed root-task policies (`arn:aws:iam::aws:policy/root-task/<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TaskPolicy {
    /// `IAMAuditRootUserCredentials`.
    #[serde(rename = "IAMAuditRootUserCredentials")]
    AuditRootUserCredentials,
    /// `IAMCreateRootUserPassword`.
    #[serde(rename = "IAMCreateRootUserPassword")]
    CreateRootUserPassword,
    /// `IAMDeleteRootUserCredentials`.
    #[serde(rename = "IAMDeleteRootUserCredentials")]
    DeleteRootUserCredentials,
    /// `S3UnlockBucketPolicy`.
    #[serde(rename = "S3UnlockBucketPolicy")]
    S3UnlockBucketPolicy,
    /// `SQSUnlockQueuePolicy`.
    #[serde(rename = "SQSUnlockQueuePolicy")]
    SqsUnlockQueuePolicy,
}

impl TaskPolicy {
    /// The policy's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::AuditRootUserCredentials => "IAMAuditRootUserCredentials",
            Self::CreateRootUserPassword => "IAMCreateRootUserPassword",
            Self::DeleteRootUserCredentials => "IAMDeleteRootUserCredentials",
            Self::S3UnlockBucketPolicy => "S3UnlockBucketPolicy",
            Self::SqsUnlockQueuePolicy => "SQSUnlockQueuePolicy",
        }
    }

    /// The policy's ARN.
    pub fn arn(self) -> String {
        format!("arn:aws:iam::aws:policy/root-task/{}", self.name())
    }
}

/// How an account ended. Every target ends with exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Audit: the root user holds no credential.
    Compliant,
    /// Audit: the root user holds at least one credential.
    NonCompliant,
    /// Delete: credentials were deleted and a fresh listing shows none left.
    Remediated,
    /// Delete: there was nothing to delete.
    AlreadyCompliant,
    /// A dry run: the account would be changed as `details` says; nothing was changed.
    Planned,
    /// Recovery: a login profile without a password now allows password recovery.
    RecoveryAllowed,
    /// Recovery: a login profile already existed.
    AlreadyAllowed,
    /// Unlock: at least one policy was deleted (its text is kept in `details`).
    Unlocked,
    /// Unlock: there was no policy to delete.
    NoPolicy,
    /// Not attempted (management account, not ACTIVE, excluded, protected, done earlier).
    Skipped,
    /// AWS refused: an SCP, a missing permission, or the feature not enabled.
    Denied,
    /// Something failed; `error` says what, `details` what was done before.
    Failed,
    /// The run stopped before or while handling the account.
    Cancelled,
}

impl Status {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compliant => "compliant",
            Self::NonCompliant => "non_compliant",
            Self::Remediated => "remediated",
            Self::AlreadyCompliant => "already_compliant",
            Self::Planned => "planned",
            Self::RecoveryAllowed => "recovery_allowed",
            Self::AlreadyAllowed => "already_allowed",
            Self::Unlocked => "unlocked",
            Self::NoPolicy => "no_policy",
            Self::Skipped => "skipped",
            Self::Denied => "denied",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether this is a failure for failure tolerance (`--max-failures`, `--canary`).
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Failed | Self::Denied)
    }

    /// Whether the account was handled as intended (neither a failure, nor skipped, nor
    /// cancelled).
    pub fn is_success(self) -> bool {
        !matches!(
            self,
            Self::Failed | Self::Denied | Self::Skipped | Self::Cancelled
        )
    }

    /// Every status, in display order.
    pub const ALL: [Status; 13] = [
        Self::Compliant,
        Self::NonCompliant,
        Self::Remediated,
        Self::AlreadyCompliant,
        Self::Planned,
        Self::RecoveryAllowed,
        Self::AlreadyAllowed,
        Self::Unlocked,
        Self::NoPolicy,
        Self::Skipped,
        Self::Denied,
        Self::Failed,
        Self::Cancelled,
    ];
}

impl fmt::Display for Status {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Why an account was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SkipReason {
    /// The organization's management account is never a target.
    ManagementAccount,
    /// Not ACTIVE (AssumeRoot reaches only active accounts).
    NotActive {
        /// Its state.
        state: String,
    },
    /// Excluded by `--exclude` or `--exclude-ou`.
    Excluded,
    /// Listed in `protected_accounts` or under a `protected_ous` OU: never changed.
    Protected,
    /// Already has a terminal outcome in the journal being resumed.
    DoneEarlier {
        /// The status it ended with.
        status: Status,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ManagementAccount => {
                formatter.write_str("the management account is never a target")
            }
            Self::NotActive { state } => write!(formatter, "the account is {state}, not ACTIVE"),
            Self::Excluded => formatter.write_str("excluded"),
            Self::Protected => formatter.write_str("protected: never changed"),
            Self::DoneEarlier { status } => write!(formatter, "done in an earlier run ({status})"),
        }
    }
}

/// What went wrong, for `failed` and `denied` outcomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorRecord {
    /// The kind of failure.
    pub class: ErrorClass,
    /// The AWS operation that failed (`iam:DeleteAccessKey`), when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The AWS error code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The AWS message or a description.
    pub message: String,
    /// Attempts made at the failing call.
    pub attempts: u32,
}

impl ErrorRecord {
    /// A record of a failed AWS call.
    pub fn from_failure(operation: &str, failure: &FailureDetail, attempts: u32) -> Self {
        Self {
            class: failure.class,
            operation: Some(operation.to_string()),
            code: failure.code.clone(),
            message: failure.message.clone(),
            attempts,
        }
    }
}

/// The kinds of root credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// The console password (login profile).
    Password,
    /// Access keys.
    AccessKeys,
    /// X.509 signing certificates.
    SigningCertificates,
    /// MFA devices.
    MfaDevices,
}

impl CredentialKind {
    /// All four, in the order records list them.
    pub const ALL: [CredentialKind; 4] = [
        Self::Password,
        Self::AccessKeys,
        Self::SigningCertificates,
        Self::MfaDevices,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::AccessKeys => "access_keys",
            Self::SigningCertificates => "signing_certificates",
            Self::MfaDevices => "mfa_devices",
        }
    }

    /// Parses a name as the CLI accepts it (`password`, `access-keys`, `access_keys`, ...).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().replace('-', "_").as_str() {
            "password" | "login_profile" => Some(Self::Password),
            "access_keys" | "keys" => Some(Self::AccessKeys),
            "signing_certificates" | "certificates" => Some(Self::SigningCertificates),
            "mfa_devices" | "mfa" => Some(Self::MfaDevices),
            _ => None,
        }
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The root password (login profile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordInfo {
    /// When the login profile was created (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

/// A root access key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKeyInfo {
    /// The access key ID (not a secret).
    pub id: String,
    /// `Active`, `Inactive` or `Expired`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// When it was created (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When it was last used (RFC 3339), if ever.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used: Option<String>,
    /// The service it was last used with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_service: Option<String>,
    /// The region it was last used in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_region: Option<String>,
}

/// A root signing certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningCertificateInfo {
    /// The certificate ID.
    pub id: String,
    /// `Active` or `Inactive`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// When it was uploaded (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploaded: Option<String>,
}

/// The kinds of MFA device, told apart by serial number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaKind {
    /// A virtual (authenticator app) device: `arn:aws:iam::ID:mfa/NAME`.
    Virtual,
    /// A FIDO security key or passkey: `arn:aws:iam::ID:u2f/...`.
    SecurityKey,
    /// A hardware TOTP token: a serial number.
    Hardware,
}

impl MfaKind {
    /// Tells the kind from the serial number.
    pub fn from_serial(serial: &str) -> Self {
        if serial.starts_with("arn:") && serial.contains(":mfa/") {
            Self::Virtual
        } else if serial.starts_with("arn:") && serial.contains(":u2f/") {
            Self::SecurityKey
        } else {
            Self::Hardware
        }
    }
}

/// A root MFA device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaDeviceInfo {
    /// The serial number (an ARN for virtual devices and security keys).
    pub serial: String,
    /// The kind of device.
    pub kind: MfaKind,
    /// When it was enabled (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<String>,
}

/// The root user's credentials in one account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// The console password, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordInfo>,
    /// Access keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_keys: Vec<AccessKeyInfo>,
    /// Signing certificates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signing_certificates: Vec<SigningCertificateInfo>,
    /// MFA devices.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mfa_devices: Vec<MfaDeviceInfo>,
}

impl Inventory {
    /// True when no credential of any kind is present.
    pub fn is_empty(&self) -> bool {
        self.password.is_none()
            && self.access_keys.is_empty()
            && self.signing_certificates.is_empty()
            && self.mfa_devices.is_empty()
    }

    /// The kinds present.
    pub fn kinds(&self) -> Vec<CredentialKind> {
        CredentialKind::ALL
            .into_iter()
            .filter(|kind| self.count(*kind) > 0)
            .collect()
    }

    /// How many credentials of `kind` are present.
    pub fn count(&self, kind: CredentialKind) -> usize {
        match kind {
            CredentialKind::Password => usize::from(self.password.is_some()),
            CredentialKind::AccessKeys => self.access_keys.len(),
            CredentialKind::SigningCertificates => self.signing_certificates.len(),
            CredentialKind::MfaDevices => self.mfa_devices.len(),
        }
    }

    /// "password, 2 access keys, 1 MFA device"; "none" when empty.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.password.is_some() {
            parts.push("password".to_string());
        }
        let plural = |count: usize, singular: &str, plural: &str| {
            format!("{count} {}", if count == 1 { singular } else { plural })
        };
        if !self.access_keys.is_empty() {
            parts.push(plural(self.access_keys.len(), "access key", "access keys"));
        }
        if !self.signing_certificates.is_empty() {
            parts.push(plural(
                self.signing_certificates.len(),
                "signing certificate",
                "signing certificates",
            ));
        }
        if !self.mfa_devices.is_empty() {
            parts.push(plural(self.mfa_devices.len(), "MFA device", "MFA devices"));
        }
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// One change a task made or would make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// What: `delete_login_profile`, `delete_access_key`, `delete_signing_certificate`,
    /// `deactivate_mfa_device`, `delete_virtual_mfa_device`, `create_login_profile`,
    /// `delete_bucket_policy`, `remove_queue_policy`.
    pub action: String,
    /// Which: a key ID, certificate ID, MFA serial, bucket name or queue URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// How it went.
    pub result: ActionResult,
    /// Why it did not succeed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord>,
}

/// How one action went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionResult {
    /// Done.
    Done,
    /// It was already gone (`NoSuchEntity`): someone else removed it first.
    AlreadyGone,
    /// A dry run: it would be done.
    Planned,
    /// AWS refused it.
    Denied,
    /// It failed.
    Failed,
    /// Not attempted (an earlier action failed, or it was not in the plan).
    NotAttempted,
}

/// What `delete-credentials` did in one account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteDetails {
    /// The credentials found before deleting (the kinds asked for; a kind whose listing failed
    /// is left out).
    pub before: Inventory,
    /// Every deletion, by kind (in the order of [`CredentialKind::ALL`]) and within a kind in
    /// the order made. The kinds are worked on side by side, so this is not the order across
    /// kinds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    /// The credentials left afterwards (the kinds asked for): each kind something was deleted
    /// from as a fresh listing found it, the others as first listed, since nothing of them was
    /// changed. Empty when remediated without a plan; `None` when a listing failed, first or
    /// verifying (and in a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Inventory>,
    /// Credentials found that the plan did not list, left alone (`apply` only).
    #[serde(default, skip_serializing_if = "Inventory::is_empty")]
    pub unplanned: Inventory,
    /// Things worth knowing that are not failures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What `allow-password-recovery` did in one account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryDetails {
    /// A login profile existed before.
    pub login_profile_existed: bool,
    /// This run created one.
    pub created: bool,
}

/// One bucket or queue an unlock looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyUnlock {
    /// The bucket name or queue URL.
    pub resource: String,
    /// Its region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The policy before anything was removed, whole, so that it can be restored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_policy: Option<String>,
    /// Whether the policy denies every principal (only those are removed in find mode).
    pub denies_everyone: bool,
    /// What happened.
    pub result: UnlockResult,
    /// Why it did not succeed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord>,
}

/// What happened to one bucket or queue policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnlockResult {
    /// The policy was deleted.
    Removed,
    /// A dry run: it would be deleted.
    Planned,
    /// There was no policy.
    NoPolicy,
    /// The policy does not deny everyone, so find mode left it alone.
    LeftAlone,
    /// The policy is not the one the plan saw, so `apply` left it alone.
    ChangedSincePlan,
    /// The bucket or queue does not exist in this account.
    NotFound,
    /// AWS refused.
    Denied,
    /// It failed.
    Failed,
}

/// What an unlock did in one account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockDetails {
    /// Every bucket or queue looked at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<PolicyUnlock>,
    /// Regions that could not be searched (not enabled for the account), for SQS.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions_unavailable: Vec<String>,
}

/// Task-specific details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Details {
    /// `audit`: the inventory.
    Audit(Inventory),
    /// `delete-credentials`.
    DeleteCredentials(Box<DeleteDetails>),
    /// `allow-password-recovery`.
    AllowPasswordRecovery(RecoveryDetails),
    /// `unlock-s3-bucket-policy` and `unlock-sqs-queue-policy`.
    Unlock(UnlockDetails),
}

/// The record of one account in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountOutcome {
    /// [`SCHEMA_VERSION`].
    pub schema: u32,
    /// The run that produced it.
    pub run_id: String,
    /// The task.
    pub task: TaskKind,
    /// The account.
    pub account_id: AccountId,
    /// Its name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    /// Its OU path, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ou_path: Option<String>,
    /// How it ended.
    pub status: Status,
    /// One line for people: what was found or done.
    pub summary: String,
    /// For skipped accounts: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<SkipReason>,
    /// Task-specific details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Details>,
    /// For failed and denied accounts: what went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorRecord>,
    /// AWS calls made for this account, retries included.
    pub calls: u32,
    /// Of those, retries (throttling, transient failures, expired sessions).
    pub retries: u32,
    /// When work on the account started (RFC 3339), absent for accounts never started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
}

/// Counts of outcomes by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StatusCounts(pub BTreeMap<Status, usize>);

impl StatusCounts {
    /// Adds one outcome.
    pub fn add(&mut self, status: Status) {
        *self.0.entry(status).or_default() += 1;
    }

    /// How many ended with `status`.
    pub fn get(&self, status: Status) -> usize {
        self.0.get(&status).copied().unwrap_or(0)
    }

    /// How many in all.
    pub fn total(&self) -> usize {
        self.0.values().sum()
    }

    /// How many failed or were denied.
    pub fn failures(&self) -> usize {
        self.get(Status::Failed) + self.get(Status::Denied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_kinds_use_snake_case() {
        assert_eq!(
            serde_json::to_string(&Status::NonCompliant).expect("json"),
            "\"non_compliant\""
        );
        for status in Status::ALL {
            let json = serde_json::to_string(&status).expect("json");
            assert_eq!(json.trim_matches('"'), status.as_str());
        }
        assert_eq!(
            serde_json::to_string(&TaskKind::DeleteCredentials).expect("json"),
            "\"delete-credentials\""
        );
        assert_eq!(
            CredentialKind::parse("access-keys"),
            Some(CredentialKind::AccessKeys)
        );
        assert_eq!(
            CredentialKind::parse("mfa"),
            Some(CredentialKind::MfaDevices)
        );
        assert_eq!(CredentialKind::parse("passwords!"), None);
    }

    #[test]
    fn mfa_kinds_come_from_serials() {
        assert_eq!(
            MfaKind::from_serial("arn:aws:iam::123456789012:mfa/root-account-mfa-device"),
            MfaKind::Virtual
        );
        assert_eq!(
            MfaKind::from_serial("arn:aws:iam::123456789012:u2f/root/key-1"),
            MfaKind::SecurityKey
        );
        assert_eq!(MfaKind::from_serial("GAHT12345678"), MfaKind::Hardware);
    }

    #[test]
    fn inventories_describe_themselves() {
        let mut inventory = Inventory::default();
        assert_eq!(inventory.describe(), "none");
        inventory.password = Some(PasswordInfo { created: None });
        inventory.access_keys.push(AccessKeyInfo {
            id: "AKIA1".into(),
            status: None,
            created: None,
            last_used: None,
            last_used_service: None,
            last_used_region: None,
        });
        inventory.access_keys.push(inventory.access_keys[0].clone());
        assert_eq!(inventory.describe(), "password, 2 access keys");
        assert_eq!(
            inventory.kinds(),
            vec![CredentialKind::Password, CredentialKind::AccessKeys]
        );
    }

    #[test]
    fn outcomes_round_trip() {
        let outcome = AccountOutcome {
            schema: SCHEMA_VERSION,
            run_id: "run".into(),
            task: TaskKind::Audit,
            account_id: AccountId::parse("123456789012").expect("valid"),
            account_name: Some("payments".into()),
            ou_path: Some("/Workloads".into()),
            status: Status::Skipped,
            summary: "skipped".into(),
            skip_reason: Some(SkipReason::NotActive {
                state: "SUSPENDED".into(),
            }),
            details: Some(Details::Audit(Inventory::default())),
            error: None,
            calls: 0,
            retries: 0,
            started_at: None,
            duration_ms: 0,
        };
        let json = serde_json::to_string(&outcome).expect("json");
        assert!(
            json.contains(r#""skip_reason":{"kind":"not_active","state":"SUSPENDED"}"#),
            "{json}"
        );
        assert_eq!(
            serde_json::from_str::<AccountOutcome>(&json).expect("parses"),
            outcome
        );
    }
}
