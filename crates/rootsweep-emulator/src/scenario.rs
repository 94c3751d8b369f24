//! The emulated organization as data: [`Scenario`] (what exists when the emulator starts) and
//! [`ScenarioSpec`] (the knobs of the seeded generator that builds one).
//!
//! A scenario is plain serde data, so the generator's output can be written to a file, edited,
//! and loaded again (`rootsweep-emulator --scenario org.json`). Every random choice of the
//! generator comes from one seed: the same spec always yields the same organization.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

/// The five AWS managed root-task policies (`arn:aws:iam::aws:policy/root-task/<name>`).
pub const TASK_POLICY_NAMES: [&str; 5] = [
    "IAMAuditRootUserCredentials",
    "IAMCreateRootUserPassword",
    "IAMDeleteRootUserCredentials",
    "S3UnlockBucketPolicy",
    "SQSUnlockQueuePolicy",
];

/// The service principal that trusted access and delegated administration use for IAM.
pub const IAM_SERVICE_PRINCIPAL: &str = "iam.amazonaws.com";

/// A whole emulated world: one organization, its accounts and the principals that may call in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The organization ID, `o-` followed by 10 lowercase letters or digits.
    pub organization_id: String,
    /// `ALL` or `CONSOLIDATED_BILLING`.
    #[serde(default = "default_feature_set")]
    pub feature_set: String,
    /// The management account's ID.
    pub management_account_id: String,
    /// The root of the OU tree, `r-` followed by 4 characters.
    pub root_id: String,
    /// Organizational units, parents before children.
    #[serde(default)]
    pub organizational_units: Vec<OrganizationalUnitSpec>,
    /// Every account, the management account included.
    pub accounts: Vec<AccountSpec>,
    /// Service principals with trusted access (`iam.amazonaws.com` turns centralized root
    /// access on).
    #[serde(default)]
    pub trusted_services: Vec<String>,
    /// Delegated administrators: service principal to account IDs.
    #[serde(default)]
    pub delegated_administrators: BTreeMap<String, Vec<String>>,
    /// IAM organization features enabled: `RootCredentialsManagement`, `RootSessions`.
    #[serde(default)]
    pub iam_features: Vec<String>,
    /// The long-term credentials that may call the emulator.
    pub principals: Vec<PrincipalSpec>,
}

fn default_feature_set() -> String {
    "ALL".to_string()
}

/// An organizational unit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OrganizationalUnitSpec {
    /// `ou-xxxx-xxxxxxxx`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The parent: the root ID or another OU's ID.
    pub parent_id: String,
    /// Tags on the OU.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// An SCP attached here denies every call made by a root session in the accounts below.
    #[serde(default)]
    pub scp_denies_root: bool,
}

/// An account of the organization.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// 12 digits.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The root user's email address.
    pub email: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, `PENDING_ACTIVATION` or `CLOSED`.
    #[serde(default = "default_state")]
    pub state: String,
    /// The root ID or an OU ID.
    pub parent_id: String,
    /// Tags on the account.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// An SCP attached to the account itself that denies root sessions.
    #[serde(default)]
    pub scp_denies_root: bool,
    /// The root user's credentials.
    #[serde(default)]
    pub root: RootCredentialsSpec,
    /// S3 buckets owned by the account.
    #[serde(default)]
    pub buckets: Vec<BucketSpec>,
    /// SQS queues owned by the account.
    #[serde(default)]
    pub queues: Vec<QueueSpec>,
}

fn default_state() -> String {
    "ACTIVE".to_string()
}

/// The root user's credentials in one account.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RootCredentialsSpec {
    /// The console login profile, if any.
    #[serde(default)]
    pub login_profile: Option<LoginProfileSpec>,
    /// Root access keys (AWS allows two).
    #[serde(default)]
    pub access_keys: Vec<AccessKeySpec>,
    /// Root X.509 signing certificates (AWS allows two).
    #[serde(default)]
    pub signing_certificates: Vec<SigningCertificateSpec>,
    /// MFA devices assigned to the root user.
    #[serde(default)]
    pub mfa_devices: Vec<MfaDeviceSpec>,
    /// Virtual MFA devices that exist in the account but are assigned to nobody (what
    /// `DeactivateMFADevice` leaves behind until `DeleteVirtualMFADevice`).
    #[serde(default)]
    pub unassigned_virtual_mfa_devices: Vec<String>,
}

impl RootCredentialsSpec {
    /// True when the root user holds no credential of any kind.
    pub fn is_empty(&self) -> bool {
        self.login_profile.is_none()
            && self.access_keys.is_empty()
            && self.signing_certificates.is_empty()
            && self.mfa_devices.is_empty()
    }
}

/// A console login profile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LoginProfileSpec {
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
    /// False for a profile made by `CreateLoginProfile` from an AssumeRoot session: password
    /// recovery is allowed but no password is set yet.
    #[serde(default = "yes")]
    pub password_set: bool,
}

fn yes() -> bool {
    true
}

/// An access key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccessKeySpec {
    /// `AKIA...`.
    pub id: String,
    /// `Active` or `Inactive`.
    #[serde(default = "active")]
    pub status: String,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
    /// When the key was last used, if ever (seconds since the Unix epoch).
    #[serde(default)]
    pub last_used: Option<i64>,
    /// The service it was last used with.
    #[serde(default)]
    pub last_used_service: Option<String>,
    /// The region it was last used in.
    #[serde(default)]
    pub last_used_region: Option<String>,
}

fn active() -> String {
    "Active".to_string()
}

/// An X.509 signing certificate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SigningCertificateSpec {
    /// 24 to 128 characters.
    pub id: String,
    /// `Active` or `Inactive`.
    #[serde(default = "active")]
    pub status: String,
    /// Upload time, seconds since the Unix epoch.
    pub uploaded: i64,
}

/// The kinds of MFA device a root user can hold.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MfaKind {
    /// A virtual (TOTP app) device; its serial is an ARN and it must be deleted separately.
    Virtual,
    /// A hardware TOTP token; its serial is the token's serial number.
    Hardware,
    /// A FIDO security key or passkey.
    SecurityKey,
}

/// An MFA device assigned to the root user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MfaDeviceSpec {
    /// The serial number (an ARN for virtual devices and security keys).
    pub serial: String,
    /// The kind of device.
    pub kind: MfaKind,
    /// When it was enabled, seconds since the Unix epoch.
    pub enabled: i64,
}

/// An S3 bucket.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BucketSpec {
    /// The globally unique bucket name.
    pub name: String,
    /// Its region.
    pub region: String,
    /// Creation time, seconds since the Unix epoch.
    #[serde(default)]
    pub created: i64,
    /// The bucket policy JSON, if any.
    #[serde(default)]
    pub policy: Option<String>,
}

/// An SQS queue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    /// The queue name.
    pub name: String,
    /// Its region.
    pub region: String,
    /// The queue policy JSON, if any.
    #[serde(default)]
    pub policy: Option<String>,
}

/// What kind of identity a long-term credential belongs to.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// An IAM user.
    User,
    /// The account's root user (long-term root access keys).
    Root,
}

/// Long-term credentials that may call the emulator.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PrincipalSpec {
    /// A short label used by the emulator binary and tests (`operator`, `delegated-admin`, ...).
    pub label: String,
    /// The account the principal lives in.
    pub account_id: String,
    /// User or root.
    pub kind: PrincipalKind,
    /// The IAM user name (users only).
    #[serde(default)]
    pub user_name: Option<String>,
    /// `AKIA...`.
    pub access_key_id: String,
    /// The secret key.
    pub secret_access_key: String,
}

impl PrincipalSpec {
    /// The principal's ARN.
    pub fn arn(&self) -> String {
        match self.kind {
            PrincipalKind::Root => format!("arn:aws:iam::{}:root", self.account_id),
            PrincipalKind::User => format!(
                "arn:aws:iam::{}:user/{}",
                self.account_id,
                self.user_name.as_deref().unwrap_or("user")
            ),
        }
    }
}

/// Knobs of the scenario generator. Shares are fractions between 0 and 1.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScenarioSpec {
    /// Number of accounts, the management account included.
    pub accounts: usize,
    /// The seed of every random choice.
    pub seed: u64,
    /// Share of member accounts that are `SUSPENDED`.
    pub suspended_share: f64,
    /// Share of member accounts that are `PENDING_CLOSURE`.
    pub pending_closure_share: f64,
    /// Share of member accounts whose root user has a console password.
    pub password_share: f64,
    /// Share of member accounts whose root user has access keys.
    pub access_key_share: f64,
    /// Share of member accounts whose root user has signing certificates.
    pub signing_certificate_share: f64,
    /// Share of member accounts whose root user has a virtual MFA device.
    pub virtual_mfa_share: f64,
    /// Share of member accounts whose root user has a hardware MFA device or security key.
    pub hardware_mfa_share: f64,
    /// How many OUs carry an SCP that denies root sessions (Control Tower's
    /// `AWS-GR_RESTRICT_ROOT_USER` without the AssumeRoot exemption).
    pub scp_restricted_ous: usize,
    /// Share of member accounts with at least one bucket.
    pub bucket_share: f64,
    /// Share of buckets whose policy denies every principal.
    pub locked_bucket_share: f64,
    /// Share of member accounts with at least one queue.
    pub queue_share: f64,
    /// Share of queues whose policy denies every principal.
    pub locked_queue_share: f64,
    /// Regions buckets and queues live in.
    pub regions: Vec<String>,
    /// Register one member account as the IAM delegated administrator.
    pub delegated_admin: bool,
    /// Trusted access for IAM plus `RootCredentialsManagement` and `RootSessions` enabled.
    pub features_enabled: bool,
}

impl Default for ScenarioSpec {
    fn default() -> Self {
        Self {
            accounts: 50,
            seed: 7,
            suspended_share: 0.03,
            pending_closure_share: 0.01,
            password_share: 0.35,
            access_key_share: 0.12,
            signing_certificate_share: 0.03,
            virtual_mfa_share: 0.25,
            hardware_mfa_share: 0.05,
            scp_restricted_ous: 1,
            bucket_share: 0.3,
            locked_bucket_share: 0.1,
            queue_share: 0.15,
            locked_queue_share: 0.1,
            regions: vec![
                "us-east-1".to_string(),
                "eu-west-1".to_string(),
                "ap-southeast-2".to_string(),
            ],
            delegated_admin: true,
            features_enabled: true,
        }
    }
}

/// Why a scenario cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The scenario breaks one of the emulator's invariants.
    #[error("invalid scenario: {0}")]
    Invalid(String),
}

/// Labels of the principals the generator creates.
pub mod labels {
    /// An IAM user in the management account with full rights (the normal operator).
    pub const OPERATOR: &str = "operator";
    /// The management account's root user (may not call AssumeRoot).
    pub const MANAGEMENT_ROOT: &str = "management-root";
    /// An IAM user in the IAM delegated administrator account.
    pub const DELEGATED_ADMIN: &str = "delegated-admin";
    /// An IAM user in an ordinary member account (not allowed to do anything org-wide).
    pub const MEMBER_USER: &str = "member-user";
}

/// A deny-all bucket policy like the ones a misconfigured automation leaves behind.
pub fn deny_all_bucket_policy(bucket: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"DenyEveryone","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/*"]}}]}}"#
    )
}

/// An ordinary bucket policy (TLS only), which must be left alone.
pub fn ordinary_bucket_policy(bucket: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/*"],"Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}]}}"#
    )
}

/// A deny-all queue policy.
pub fn deny_all_queue_policy(region: &str, account: &str, queue: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"DenyEveryone","Effect":"Deny","Principal":{{"AWS":"*"}},"Action":"sqs:*","Resource":"arn:aws:sqs:{region}:{account}:{queue}"}}]}}"#
    )
}

/// An ordinary queue policy (lets one role send), which must be left alone.
pub fn ordinary_queue_policy(region: &str, account: &str, queue: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"AllowProducer","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:role/producer"}},"Action":"sqs:SendMessage","Resource":"arn:aws:sqs:{region}:{account}:{queue}"}}]}}"#
    )
}

const BASE_TIME: i64 = 1_600_000_000; // 2020-09-13, a plausible "long ago" for creation dates.
const ALPHANUMERIC_UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALPHANUMERIC_LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn random_string(rng: &mut fastrand::Rng, alphabet: &[u8], length: usize) -> String {
    (0..length)
        .map(|_| char::from(alphabet[rng.usize(..alphabet.len())]))
        .collect()
}

impl ScenarioSpec {
    /// Builds the organization this spec describes.
    pub fn generate(&self) -> Result<Scenario, ScenarioError> {
        if self.accounts < 2 {
            return Err(ScenarioError::Invalid(
                "an organization needs at least 2 accounts (the management account and one member)"
                    .to_string(),
            ));
        }
        if self.accounts > 100_000 {
            return Err(ScenarioError::Invalid(format!(
                "{} accounts is more than the emulator supports (100000)",
                self.accounts
            )));
        }
        if self.regions.is_empty() {
            return Err(ScenarioError::Invalid(
                "at least one region is needed".to_string(),
            ));
        }
        let mut rng = fastrand::Rng::with_seed(self.seed);
        let organization_id = format!("o-{}", random_string(&mut rng, ALPHANUMERIC_LOWER, 10));
        let root_suffix = random_string(&mut rng, ALPHANUMERIC_LOWER, 4);
        let root_id = format!("r-{root_suffix}");

        let mut ou_counter = 0usize;
        let mut new_ou = |rng: &mut fastrand::Rng, name: &str, parent: &str| {
            ou_counter += 1;
            OrganizationalUnitSpec {
                id: format!(
                    "ou-{root_suffix}-{}",
                    random_string(rng, ALPHANUMERIC_LOWER, 8)
                ),
                name: name.to_string(),
                parent_id: parent.to_string(),
                tags: BTreeMap::new(),
                scp_denies_root: false,
            }
        };
        // A landing-zone shaped tree: Security, Infrastructure, Workloads/{Prod,NonProd,...},
        // Sandbox, Suspended; large orgs get more workload OUs.
        let mut ous = Vec::new();
        let security = new_ou(&mut rng, "Security", &root_id);
        let infrastructure = new_ou(&mut rng, "Infrastructure", &root_id);
        let workloads = new_ou(&mut rng, "Workloads", &root_id);
        let sandbox = new_ou(&mut rng, "Sandbox", &root_id);
        let suspended_ou = new_ou(&mut rng, "Suspended", &root_id);
        let workload_groups = (self.accounts / 400).clamp(1, 20);
        let mut leaf_ous = Vec::new();
        let workloads_id = workloads.id.clone();
        ous.extend([
            security.clone(),
            infrastructure.clone(),
            workloads,
            sandbox.clone(),
        ]);
        for group in 0..workload_groups {
            let team = new_ou(&mut rng, &format!("Team{:02}", group + 1), &workloads_id);
            let prod = new_ou(&mut rng, "Prod", &team.id);
            let non_prod = new_ou(&mut rng, "NonProd", &team.id);
            leaf_ous.push(prod.id.clone());
            leaf_ous.push(non_prod.id.clone());
            ous.extend([team, prod, non_prod]);
        }
        let legacy = new_ou(&mut rng, "Legacy", &workloads_id);
        leaf_ous.push(legacy.id.clone());
        ous.push(legacy.clone());
        ous.push(suspended_ou.clone());
        // The SCP-restricted OUs: Legacy first, then workload leaves.
        let mut restricted = 0;
        for ou in ous.iter_mut() {
            if restricted >= self.scp_restricted_ous {
                break;
            }
            if ou.id == legacy.id {
                ou.scp_denies_root = true;
                restricted += 1;
            }
        }
        for ou in ous.iter_mut().rev() {
            if restricted >= self.scp_restricted_ous {
                break;
            }
            if !ou.scp_denies_root && ou.name == "NonProd" {
                ou.scp_denies_root = true;
                restricted += 1;
            }
        }
        for ou in ous.iter_mut() {
            if ou.name == "Prod" {
                ou.tags
                    .insert("environment".to_string(), "prod".to_string());
            } else if ou.name == "NonProd" {
                ou.tags
                    .insert("environment".to_string(), "nonprod".to_string());
            }
        }

        let mut used_ids = HashSet::new();
        let mut next_account_id = |rng: &mut fastrand::Rng| loop {
            let id = format!("{:012}", rng.u64(100_000_000_000..1_000_000_000_000));
            if used_ids.insert(id.clone()) {
                return id;
            }
        };
        let management_account_id = next_account_id(&mut rng);
        let mut accounts = Vec::with_capacity(self.accounts);
        accounts.push(AccountSpec {
            id: management_account_id.clone(),
            name: "management".to_string(),
            email: "aws-management@example.com".to_string(),
            state: "ACTIVE".to_string(),
            parent_id: root_id.clone(),
            tags: BTreeMap::from([("role".to_string(), "management".to_string())]),
            scp_denies_root: false,
            // The management account's root keeps a password and MFA: it is never a target.
            root: RootCredentialsSpec {
                login_profile: Some(LoginProfileSpec {
                    created: BASE_TIME,
                    password_set: true,
                }),
                mfa_devices: vec![MfaDeviceSpec {
                    serial: format!(
                        "arn:aws:iam::{management_account_id}:mfa/root-account-mfa-device"
                    ),
                    kind: MfaKind::Virtual,
                    enabled: BASE_TIME,
                }],
                ..RootCredentialsSpec::default()
            },
            buckets: Vec::new(),
            queues: Vec::new(),
        });

        let teams = [
            "payments", "search", "identity", "data", "platform", "mobile", "web", "ml",
        ];
        let mut bucket_counter = 0usize;
        for index in 1..self.accounts {
            let id = next_account_id(&mut rng);
            let draw = rng.f64();
            let state = if draw < self.suspended_share {
                "SUSPENDED"
            } else if draw < self.suspended_share + self.pending_closure_share {
                "PENDING_CLOSURE"
            } else {
                "ACTIVE"
            };
            let team = teams[rng.usize(..teams.len())];
            let (parent_id, name, environment) = match index {
                1 => (security.id.clone(), "security-tooling".to_string(), None),
                2 => (security.id.clone(), "log-archive".to_string(), None),
                3 => (infrastructure.id.clone(), "network".to_string(), None),
                4 => (
                    infrastructure.id.clone(),
                    "shared-services".to_string(),
                    None,
                ),
                _ if state == "SUSPENDED" && rng.bool() => {
                    (suspended_ou.id.clone(), format!("closed-{index:05}"), None)
                }
                _ if rng.f64() < 0.1 => (
                    sandbox.id.clone(),
                    format!("sandbox-{team}-{index:05}"),
                    None,
                ),
                _ => {
                    let leaf = leaf_ous[rng.usize(..leaf_ous.len())].clone();
                    let environment = ous
                        .iter()
                        .find(|ou| ou.id == leaf)
                        .and_then(|ou| ou.tags.get("environment").cloned());
                    (leaf, format!("{team}-{index:05}"), environment)
                }
            };
            let mut tags = BTreeMap::new();
            tags.insert("team".to_string(), team.to_string());
            if let Some(environment) = environment {
                tags.insert("environment".to_string(), environment);
            }
            if rng.f64() < 0.2 {
                tags.insert(
                    "cost-center".to_string(),
                    format!("cc-{}", rng.u32(100..999)),
                );
            }

            let mut root = RootCredentialsSpec::default();
            let created = BASE_TIME + rng.i64(0..100_000_000);
            if rng.f64() < self.password_share {
                root.login_profile = Some(LoginProfileSpec {
                    created,
                    password_set: true,
                });
            }
            if rng.f64() < self.access_key_share {
                let count = if rng.f64() < 0.3 { 2 } else { 1 };
                for key in 0..count {
                    let used = rng.bool();
                    root.access_keys.push(AccessKeySpec {
                        id: format!("AKIA{}", random_string(&mut rng, ALPHANUMERIC_UPPER, 16)),
                        status: if key == 1 && rng.bool() {
                            "Inactive"
                        } else {
                            "Active"
                        }
                        .to_string(),
                        created: created + 3600,
                        last_used: used.then(|| created + rng.i64(3_600..50_000_000)),
                        last_used_service: used.then(|| "s3".to_string()),
                        last_used_region: used.then(|| "us-east-1".to_string()),
                    });
                }
            }
            if rng.f64() < self.signing_certificate_share {
                root.signing_certificates.push(SigningCertificateSpec {
                    id: random_string(&mut rng, ALPHANUMERIC_UPPER, 32),
                    status: "Active".to_string(),
                    uploaded: created + 7200,
                });
            }
            if rng.f64() < self.virtual_mfa_share {
                root.mfa_devices.push(MfaDeviceSpec {
                    serial: format!("arn:aws:iam::{id}:mfa/root-account-mfa-device"),
                    kind: MfaKind::Virtual,
                    enabled: created + 60,
                });
            }
            if rng.f64() < self.hardware_mfa_share {
                let device = if rng.bool() {
                    MfaDeviceSpec {
                        serial: format!("GAHT{}", rng.u64(10_000_000..99_999_999)),
                        kind: MfaKind::Hardware,
                        enabled: created + 120,
                    }
                } else {
                    MfaDeviceSpec {
                        serial: format!(
                            "arn:aws:iam::{id}:u2f/root/root-key-{}",
                            random_string(&mut rng, ALPHANUMERIC_UPPER, 26)
                        ),
                        kind: MfaKind::SecurityKey,
                        enabled: created + 120,
                    }
                };
                root.mfa_devices.push(device);
            }

            let mut buckets = Vec::new();
            if rng.f64() < self.bucket_share {
                for _ in 0..rng.usize(1..=3) {
                    bucket_counter += 1;
                    let name = format!("{team}-{id}-{bucket_counter}");
                    let region = self.regions[rng.usize(..self.regions.len())].clone();
                    let policy = if rng.f64() < self.locked_bucket_share {
                        Some(deny_all_bucket_policy(&name))
                    } else if rng.bool() {
                        Some(ordinary_bucket_policy(&name))
                    } else {
                        None
                    };
                    buckets.push(BucketSpec {
                        name,
                        region,
                        created: created + 86_400,
                        policy,
                    });
                }
            }
            let mut queues = Vec::new();
            if rng.f64() < self.queue_share {
                for queue_index in 0..rng.usize(1..=2) {
                    let name = format!("{team}-events-{queue_index}");
                    let region = self.regions[rng.usize(..self.regions.len())].clone();
                    if queues
                        .iter()
                        .any(|queue: &QueueSpec| queue.name == name && queue.region == region)
                    {
                        continue;
                    }
                    let policy = if rng.f64() < self.locked_queue_share {
                        Some(deny_all_queue_policy(&region, &id, &name))
                    } else if rng.bool() {
                        Some(ordinary_queue_policy(&region, &id, &name))
                    } else {
                        None
                    };
                    queues.push(QueueSpec {
                        name,
                        region,
                        policy,
                    });
                }
            }
            accounts.push(AccountSpec {
                email: format!("aws+{name}@example.com"),
                id,
                name,
                state: state.to_string(),
                parent_id,
                tags,
                scp_denies_root: false,
                root,
                buckets,
                queues,
            });
        }

        let delegated_admin_account = accounts[1].id.clone();
        let member_account = accounts
            .iter()
            .skip(2)
            .find(|account| account.state == "ACTIVE")
            .map(|account| account.id.clone())
            .unwrap_or_else(|| accounts[1].id.clone());
        let mut principal = |label: &str,
                             account_id: &str,
                             kind: PrincipalKind,
                             user: Option<&str>| {
            PrincipalSpec {
                label: label.to_string(),
                account_id: account_id.to_string(),
                kind,
                user_name: user.map(str::to_string),
                access_key_id: format!("AKIA{}", random_string(&mut rng, ALPHANUMERIC_UPPER, 16)),
                secret_access_key: random_string(
                    &mut rng,
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                    40,
                ),
            }
        };
        let principals = vec![
            principal(
                labels::OPERATOR,
                &management_account_id,
                PrincipalKind::User,
                Some("rootsweep-operator"),
            ),
            principal(
                labels::MANAGEMENT_ROOT,
                &management_account_id,
                PrincipalKind::Root,
                None,
            ),
            principal(
                labels::DELEGATED_ADMIN,
                &delegated_admin_account,
                PrincipalKind::User,
                Some("security-automation"),
            ),
            principal(
                labels::MEMBER_USER,
                &member_account,
                PrincipalKind::User,
                Some("developer"),
            ),
        ];

        // The management root's long-term key is a root access key of the management account.
        let management_root_key = principals[1].access_key_id.clone();
        accounts[0].root.access_keys.push(AccessKeySpec {
            id: management_root_key,
            status: "Active".to_string(),
            created: BASE_TIME,
            last_used: None,
            last_used_service: None,
            last_used_region: None,
        });

        let mut delegated_administrators = BTreeMap::new();
        if self.delegated_admin {
            delegated_administrators.insert(
                IAM_SERVICE_PRINCIPAL.to_string(),
                vec![delegated_admin_account],
            );
        }
        let scenario = Scenario {
            organization_id,
            feature_set: "ALL".to_string(),
            management_account_id,
            root_id,
            organizational_units: ous,
            accounts,
            trusted_services: if self.features_enabled || self.delegated_admin {
                vec![IAM_SERVICE_PRINCIPAL.to_string()]
            } else {
                Vec::new()
            },
            delegated_administrators,
            iam_features: if self.features_enabled {
                vec![
                    "RootCredentialsManagement".to_string(),
                    "RootSessions".to_string(),
                ]
            } else {
                Vec::new()
            },
            principals,
        };
        scenario.validate()?;
        Ok(scenario)
    }
}

impl Scenario {
    /// Checks the invariants the emulator relies on: unique IDs, known parents, a management
    /// account that exists, well-formed account IDs.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let invalid = |message: String| Err(ScenarioError::Invalid(message));
        if !self.organization_id.starts_with("o-") {
            return invalid(format!(
                "organization_id {:?} must start with o-",
                self.organization_id
            ));
        }
        if !self.root_id.starts_with("r-") {
            return invalid(format!("root_id {:?} must start with r-", self.root_id));
        }
        if self.feature_set != "ALL" && self.feature_set != "CONSOLIDATED_BILLING" {
            return invalid(format!(
                "feature_set {:?} must be ALL or CONSOLIDATED_BILLING",
                self.feature_set
            ));
        }
        let mut parents: HashSet<&str> = HashSet::from([self.root_id.as_str()]);
        for ou in &self.organizational_units {
            if !parents.contains(ou.parent_id.as_str()) {
                return invalid(format!(
                    "OU {} names parent {} which is not defined before it",
                    ou.id, ou.parent_id
                ));
            }
            if !parents.insert(&ou.id) {
                return invalid(format!("OU {} is defined twice", ou.id));
            }
        }
        let mut account_ids = HashSet::new();
        let mut bucket_names = HashSet::new();
        for account in &self.accounts {
            if account.id.len() != 12 || !account.id.bytes().all(|b| b.is_ascii_digit()) {
                return invalid(format!("account ID {:?} is not 12 digits", account.id));
            }
            if !account_ids.insert(account.id.as_str()) {
                return invalid(format!("account {} is defined twice", account.id));
            }
            if !parents.contains(account.parent_id.as_str()) {
                return invalid(format!(
                    "account {} names unknown parent {}",
                    account.id, account.parent_id
                ));
            }
            if !matches!(
                account.state.as_str(),
                "ACTIVE" | "SUSPENDED" | "PENDING_CLOSURE" | "PENDING_ACTIVATION" | "CLOSED"
            ) {
                return invalid(format!(
                    "account {} has unknown state {:?}",
                    account.id, account.state
                ));
            }
            for bucket in &account.buckets {
                if !bucket_names.insert(bucket.name.as_str()) {
                    return invalid(format!("bucket {} is defined twice", bucket.name));
                }
            }
        }
        if !account_ids.contains(self.management_account_id.as_str()) {
            return invalid(format!(
                "management account {} is not among the accounts",
                self.management_account_id
            ));
        }
        let mut keys = HashSet::new();
        for principal in &self.principals {
            if !account_ids.contains(principal.account_id.as_str()) {
                return invalid(format!(
                    "principal {} lives in unknown account {}",
                    principal.label, principal.account_id
                ));
            }
            if !keys.insert(principal.access_key_id.as_str()) {
                return invalid(format!(
                    "access key {} is used by two principals",
                    principal.access_key_id
                ));
            }
        }
        for (service, admins) in &self.delegated_administrators {
            for admin in admins {
                if !account_ids.contains(admin.as_str()) {
                    return invalid(format!(
                        "delegated administrator {admin} for {service} is not an account"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The principal with this label, if the scenario has one.
    pub fn principal(&self, label: &str) -> Option<&PrincipalSpec> {
        self.principals
            .iter()
            .find(|principal| principal.label == label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_valid() {
        let spec = ScenarioSpec {
            accounts: 500,
            seed: 42,
            ..ScenarioSpec::default()
        };
        let first = spec.generate().expect("generates");
        let second = spec.generate().expect("generates");
        assert_eq!(first, second);
        assert_eq!(first.accounts.len(), 500);
        first.validate().expect("valid");
        let other = ScenarioSpec { seed: 43, ..spec }
            .generate()
            .expect("generates");
        assert_ne!(first.accounts[1].id, other.accounts[1].id);
    }

    #[test]
    fn generation_yields_a_realistic_mix() {
        let scenario = ScenarioSpec {
            accounts: 2_000,
            ..ScenarioSpec::default()
        }
        .generate()
        .expect("generates");
        let members = &scenario.accounts[1..];
        let with = |predicate: &dyn Fn(&AccountSpec) -> bool| {
            members.iter().filter(|account| predicate(account)).count()
        };
        assert!(with(&|a| a.state == "SUSPENDED") > 20);
        assert!(with(&|a| a.root.login_profile.is_some()) > 500);
        assert!(with(&|a| !a.root.access_keys.is_empty()) > 100);
        assert!(with(&|a| a.root.is_empty()) > 500);
        assert!(
            with(&|a| a.buckets.iter().any(|b| b
                .policy
                .as_deref()
                .is_some_and(|p| p.contains("DenyEveryone"))))
                > 10
        );
        assert!(
            scenario
                .organizational_units
                .iter()
                .any(|ou| ou.scp_denies_root)
        );
        assert!(with(&|a| a.tags.get("environment").is_some_and(|e| e == "prod")) > 100);
    }

    #[test]
    fn scenarios_round_trip_through_json_and_toml() {
        let scenario = ScenarioSpec {
            accounts: 40,
            ..ScenarioSpec::default()
        }
        .generate()
        .expect("generates");
        let json = serde_json::to_string(&scenario).expect("serializes");
        assert_eq!(
            serde_json::from_str::<Scenario>(&json).expect("parses"),
            scenario
        );
        let toml_text = toml::to_string(&scenario).expect("serializes");
        assert_eq!(
            toml::from_str::<Scenario>(&toml_text).expect("parses"),
            scenario
        );
        let error =
            serde_json::from_str::<Scenario>(r#"{"organization_id": "o-1", "surprise": 1}"#)
                .expect_err("unknown field");
        assert!(error.to_string().contains("unknown field"), "{error}");
    }

    #[test]
    fn validation_rejects_bad_account_ids_and_unknown_parents() {
        let mut scenario = ScenarioSpec::default().generate().expect("generates");
        scenario.accounts[3].id = "12345".to_string();
        assert!(
            scenario
                .validate()
                .expect_err("invalid")
                .to_string()
                .contains("not 12 digits")
        );
        let mut scenario = ScenarioSpec::default().generate().expect("generates");
        scenario.accounts[3].parent_id = "ou-none-00000000".to_string();
        assert!(
            scenario
                .validate()
                .expect_err("invalid")
                .to_string()
                .contains("unknown parent")
        );
        assert!(
            ScenarioSpec {
                accounts: 1,
                ..ScenarioSpec::default()
            }
            .generate()
            .is_err()
        );
    }
}
