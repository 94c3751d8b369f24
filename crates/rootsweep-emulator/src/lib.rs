//! rootsweep-emulator: a local stand-in for exactly the AWS APIs rootsweep uses, speaking their
//! real wire protocols so that the unmodified AWS SDK for Rust and the AWS CLI talk to it.
//!
//! - STS (`GetCallerIdentity`, `AssumeRoot`) and IAM (organization features, root credentials)
//!   over AWS Query; Organizations over JSON 1.1; S3 bucket policies over REST-XML (path-style);
//!   SQS queue attributes over JSON 1.0.
//! - Requests are routed by the service named in their SigV4 credential scope, and their
//!   signatures are verified against the scenario's keys and the sessions issued.
//! - AWS's rules are enforced: who may call AssumeRoot and into which accounts, what each
//!   root-task policy allows, SCPs that deny root sessions, session expiry, page sizes, error
//!   codes and HTTP statuses.
//! - Load and faults are seeded and reproducible: latency distributions, token-bucket quotas per
//!   API family, injected throttling, 5xx, slow answers and dropped connections.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use rootsweep_emulator::{Emulator, EmulatorConfig, ScenarioSpec};
//!
//! let scenario = ScenarioSpec { accounts: 200, seed: 7, ..ScenarioSpec::default() }.generate()?;
//! let emulator = Emulator::start(EmulatorConfig::new(scenario)).await?;
//! println!("AWS_ENDPOINT_URL={}", emulator.endpoint_url());
//! # Ok(()) }
//! ```
//!
//! See `docs/emulator.md` for what is emulated, how faithfully, and what is not.

mod auth;
mod config;
mod load;
mod policy;
mod protocol;
mod scenario;
mod server;
mod services;
mod world;

pub use config::{EmulatorConfig, Fidelity};
pub use load::{FaultKind, FaultRule, Latency, LoadProfile, Quota, Quotas, Service};
pub use scenario::{
    AccessKeySpec, AccountSpec, BucketSpec, IAM_SERVICE_PRINCIPAL, LoginProfileSpec, MfaDeviceSpec,
    MfaKind, OrganizationalUnitSpec, PrincipalKind, PrincipalSpec, QueueSpec, RootCredentialsSpec,
    Scenario, ScenarioError, ScenarioSpec, SigningCertificateSpec, TASK_POLICY_NAMES,
    deny_all_bucket_policy, deny_all_queue_policy, labels, ordinary_bucket_policy,
    ordinary_queue_policy,
};
pub use server::{Emulator, StartError};
pub use world::{Mutation, OperationStats, Stats};
