//! The shared test fixture: an emulator with a generated org, and SDK clients for its
//! principals and for AssumeRoot sessions.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::types::PolicyDescriptorType;
use rootsweep_emulator::{
    AccountSpec, Emulator, EmulatorConfig, LoadProfile, Scenario, ScenarioSpec, labels,
};

pub(crate) struct Fixture {
    pub(crate) emulator: Emulator,
    pub(crate) scenario: Scenario,
}

pub(crate) fn task_policy(name: &str) -> PolicyDescriptorType {
    PolicyDescriptorType::builder()
        .arn(format!("arn:aws:iam::aws:policy/root-task/{name}"))
        .build()
}

impl Fixture {
    /// 60 accounts, seed 11, default mix.
    pub(crate) async fn new() -> Self {
        Self::with_spec(ScenarioSpec {
            accounts: 60,
            seed: 11,
            ..ScenarioSpec::default()
        })
        .await
    }

    pub(crate) async fn with_spec(spec: ScenarioSpec) -> Self {
        Self::with_config(EmulatorConfig::new(
            spec.generate().expect("scenario generates"),
        ))
        .await
    }

    pub(crate) async fn with_config(config: EmulatorConfig) -> Self {
        let scenario = config.scenario.clone();
        let emulator = Emulator::start(config).await.expect("emulator starts");
        Self { emulator, scenario }
    }

    pub(crate) async fn with_load(load: LoadProfile) -> Self {
        let scenario = ScenarioSpec {
            accounts: 60,
            seed: 11,
            ..ScenarioSpec::default()
        }
        .generate()
        .expect("scenario generates");
        Self::with_config(EmulatorConfig::new(scenario).with_load(load)).await
    }

    /// SDK config with a principal's long-term keys, retries off.
    pub(crate) async fn config_for(&self, label: &str) -> SdkConfig {
        let principal = self.scenario.principal(label).expect("principal exists");
        let credentials = Credentials::new(
            &principal.access_key_id,
            &principal.secret_access_key,
            None,
            None,
            "test",
        );
        self.config_with(credentials, RetryConfig::disabled()).await
    }

    pub(crate) async fn config_with(
        &self,
        credentials: Credentials,
        retry: RetryConfig,
    ) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.emulator.endpoint_url())
            .credentials_provider(credentials)
            .retry_config(retry)
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_secs(10))
                    .build(),
            )
            .load()
            .await
    }

    pub(crate) async fn operator(&self) -> SdkConfig {
        self.config_for(labels::OPERATOR).await
    }

    /// The first member account matching `predicate`.
    pub(crate) fn member(&self, predicate: impl Fn(&AccountSpec) -> bool) -> AccountSpec {
        self.scenario
            .accounts
            .iter()
            .skip(1)
            .find(|account| account.state == "ACTIVE" && predicate(account))
            .cloned()
            .expect("the scenario has such a member account")
    }

    /// An AssumeRoot session into `account` for `task`, as the operator.
    pub(crate) async fn root_session(&self, account: &str, task: &str) -> Credentials {
        let sts = aws_sdk_sts::Client::new(&self.operator().await);
        let output = sts
            .assume_root()
            .target_principal(account)
            .task_policy_arn(task_policy(task))
            .send()
            .await
            .expect("AssumeRoot succeeds");
        let credentials = output.credentials().expect("credentials returned");
        Credentials::new(
            credentials.access_key_id(),
            credentials.secret_access_key(),
            Some(credentials.session_token().to_string()),
            None,
            "assume-root",
        )
    }

    pub(crate) async fn session_config(&self, account: &str, task: &str) -> SdkConfig {
        let credentials = self.root_session(account, task).await;
        self.config_with(credentials, RetryConfig::disabled()).await
    }

    pub(crate) async fn iam_session(&self, account: &str, task: &str) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.session_config(account, task).await)
    }

    pub(crate) async fn s3_session(&self, account: &str, region: &str) -> aws_sdk_s3::Client {
        let config = self.session_config(account, "S3UnlockBucketPolicy").await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .region(Region::new(region.to_string()))
                .force_path_style(true)
                .build(),
        )
    }

    pub(crate) async fn sqs_session(&self, account: &str, region: &str) -> aws_sdk_sqs::Client {
        let config = self.session_config(account, "SQSUnlockQueuePolicy").await;
        aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&config)
                .region(Region::new(region.to_string()))
                .build(),
        )
    }
}

/// The AWS error code of an SDK error.
pub(crate) fn code<E, R>(error: &aws_sdk_sts::error::SdkError<E, R>) -> Option<String>
where
    E: aws_sdk_sts::error::ProvideErrorMetadata,
{
    use aws_sdk_sts::error::ProvideErrorMetadata;
    error.code().map(str::to_string)
}

pub(crate) fn message<E, R>(error: &aws_sdk_sts::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sts::error::ProvideErrorMetadata,
{
    use aws_sdk_sts::error::ProvideErrorMetadata;
    error.message().unwrap_or_default().to_string()
}
