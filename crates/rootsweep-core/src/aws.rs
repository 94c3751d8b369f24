//! The AWS SDK set-up: [`AwsContext`] holds the caller's configuration (from the standard
//! `aws-config` chain, or anything else the embedding program builds) and makes every client
//! rootsweep uses from it, with the SDK's own retries turned off (the engine owns retries), and
//! with one HTTP connection pool shared by all of them.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_sdk_sts::config::StalledStreamProtectionConfig;
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;

/// Why the AWS configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// No region was configured.
    #[error("no AWS region is configured: STS must be called on a regional endpoint")]
    MissingRegion,
    /// The global STS endpoint was asked for.
    #[error(
        "region {0:?} is not a regional STS endpoint: sts:AssumeRoot must be called on a regional endpoint such as us-east-1"
    )]
    GlobalRegion(String),
    /// No credentials provider was configured.
    #[error("no AWS credentials are configured")]
    MissingCredentials,
}

/// Timeouts for every AWS call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Connecting.
    pub connect: Duration,
    /// One attempt, from sending to the last byte of the answer.
    pub attempt: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            attempt: Duration::from_secs(30),
        }
    }
}

/// One HTTPS client for every SDK client of a run, built as the SDK builds its default (rustls
/// with aws-lc, proxies from the environment). Without it each client made from a configuration
/// that names no HTTP client gets a new one of its own: per member account, its own connection
/// pool, TLS handshakes and copy of the trusted certificates, which cost about 200 KiB and a
/// connection per account in flight. (`build_with_connector_fn` is how the SDK builds its own
/// default; it is hidden from the crate's docs, so an SDK update may move it: the build would
/// break, not behave differently.)
///
/// The SDK also calls the function with no settings each time it builds a client, only to check
/// that a connector can be made (it then drops it). A real one would parse the trusted
/// certificates and build a TLS configuration for every member account's client, which was 6%
/// of a sweep's CPU time; that call gets a plain connector instead. Connectors for requests are
/// always asked for with settings, and the client keeps one per set of settings.
fn shared_https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
        if settings.is_none() && components.is_none() {
            return aws_smithy_http_client::Connector::builder().build_http();
        }
        let mut connector = aws_smithy_http_client::Connector::builder().tls_provider(
            tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc),
        );
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// The SDK configuration and the clients made from it.
#[derive(Debug, Clone)]
pub struct AwsContext {
    config: SdkConfig,
    sts: aws_sdk_sts::Client,
    organizations: aws_sdk_organizations::Client,
    region: String,
    custom_endpoint: bool,
    interceptors: Vec<SharedInterceptor>,
}

impl AwsContext {
    /// Builds the context from the caller's configuration. The region must be a real region
    /// (AssumeRoot needs a regional STS endpoint; `aws-global` is refused).
    pub fn new(config: &SdkConfig, timeouts: Timeouts) -> Result<Self, SetupError> {
        let region = config
            .region()
            .map(|region| region.as_ref().to_string())
            .ok_or(SetupError::MissingRegion)?;
        if region == "aws-global" || region.is_empty() || region == "global" {
            return Err(SetupError::GlobalRegion(region));
        }
        if config.credentials_provider().is_none() {
            return Err(SetupError::MissingCredentials);
        }
        let http_client = config.http_client().unwrap_or_else(shared_https_client);
        let config = config
            .to_builder()
            .http_client(http_client)
            // One retry layer: the engine's. The SDK makes exactly one attempt.
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(timeouts.connect)
                    .operation_attempt_timeout(timeouts.attempt)
                    .build(),
            )
            // Every request and answer is a few KiB, and the attempt timeout bounds a stalled
            // one; the SDK's throughput checks would only arm timers around every call.
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .build();
        let sts = aws_sdk_sts::Client::new(&config);
        let organizations = aws_sdk_organizations::Client::new(&config);
        let custom_endpoint = config.endpoint_url().is_some();
        Ok(Self {
            config,
            sts,
            organizations,
            region,
            custom_endpoint,
            interceptors: Vec::new(),
        })
    }

    /// Adds an SDK interceptor to every client this context makes (for instrumentation, or
    /// for tests with `aws-smithy-mocks`).
    pub fn with_interceptor(mut self, interceptor: SharedInterceptor) -> Self {
        self.interceptors.push(interceptor);
        let mut sts = aws_sdk_sts::config::Builder::from(&self.config);
        let mut organizations = aws_sdk_organizations::config::Builder::from(&self.config);
        for interceptor in &self.interceptors {
            sts.push_interceptor(interceptor.clone());
            organizations.push_interceptor(interceptor.clone());
        }
        self.sts = aws_sdk_sts::Client::from_conf(sts.build());
        self.organizations = aws_sdk_organizations::Client::from_conf(organizations.build());
        self
    }

    /// The caller's region (where STS is called).
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The STS client with the caller's credentials.
    pub fn sts(&self) -> &aws_sdk_sts::Client {
        &self.sts
    }

    /// The Organizations client with the caller's credentials.
    pub fn organizations(&self) -> &aws_sdk_organizations::Client {
        &self.organizations
    }

    /// An IAM client with the caller's credentials (for the organization features).
    pub fn caller_iam(&self) -> aws_sdk_iam::Client {
        let mut builder = aws_sdk_iam::config::Builder::from(&self.config);
        for interceptor in &self.interceptors {
            builder.push_interceptor(interceptor.clone());
        }
        aws_sdk_iam::Client::from_conf(builder.build())
    }

    /// An IAM client acting with a root session.
    ///
    /// Session clients skip the SDK's identity cache (as do the S3 and SQS ones): their
    /// credentials are fixed, and the cache the configuration shares keeps 64 providers, so
    /// with hundreds of accounts in flight it would evict one at random, under a write lock,
    /// on nearly every call, and arm a load timeout each time.
    pub(crate) fn session_iam(&self, credentials: &Credentials) -> aws_sdk_iam::Client {
        let mut builder = aws_sdk_iam::config::Builder::from(&self.config)
            .credentials_provider(credentials.clone())
            .identity_cache(aws_sdk_iam::config::IdentityCache::no_cache());
        for interceptor in &self.interceptors {
            builder.push_interceptor(interceptor.clone());
        }
        aws_sdk_iam::Client::from_conf(builder.build())
    }

    /// An S3 client for `region` acting with a root session. Buckets must be addressed in their
    /// own region; path-style addressing is used with a custom endpoint.
    pub(crate) fn session_s3(&self, credentials: &Credentials, region: &str) -> aws_sdk_s3::Client {
        let mut builder = aws_sdk_s3::config::Builder::from(&self.config)
            .credentials_provider(credentials.clone())
            .identity_cache(aws_sdk_s3::config::IdentityCache::no_cache())
            .region(aws_sdk_s3::config::Region::new(region.to_string()))
            .force_path_style(self.custom_endpoint);
        for interceptor in &self.interceptors {
            builder.push_interceptor(interceptor.clone());
        }
        aws_sdk_s3::Client::from_conf(builder.build())
    }

    /// An SQS client for `region` acting with a root session.
    pub(crate) fn session_sqs(
        &self,
        credentials: &Credentials,
        region: &str,
    ) -> aws_sdk_sqs::Client {
        let mut builder = aws_sdk_sqs::config::Builder::from(&self.config)
            .credentials_provider(credentials.clone())
            .identity_cache(aws_sdk_sqs::config::IdentityCache::no_cache())
            .region(aws_sdk_sqs::config::Region::new(region.to_string()));
        for interceptor in &self.interceptors {
            builder.push_interceptor(interceptor.clone());
        }
        aws_sdk_sqs::Client::from_conf(builder.build())
    }
}
