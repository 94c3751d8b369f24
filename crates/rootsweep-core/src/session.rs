//! Calling AWS: [`Limits`] (every rate budget plus the retry policy, shared by a whole run),
//! the one retry loop (`call_shared` for calls made with the caller's credentials, such as
//! AssumeRoot and Organizations), and `AccountContext`, through which a task makes its calls
//! inside one member account: it assumes root for the task's policy when first needed, keeps
//! the session in memory only, refreshes it shortly before it expires or when AWS says it has
//! expired, and paces calls with the account's own budget. Its calls may be made at once (a
//! task's independent listings): they share the one session and the account's budgets.

use std::collections::HashMap;
use std::error::Error;
use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

use crate::account::AccountId;
use crate::aws::AwsContext;
use crate::event::EventKind;
use crate::limits::rate::{AccountBudget, RateChange};
use crate::limits::{
    AccountBudgets, AdaptiveLimiter, Attempts, ErrorClass, FailureDetail, HedgedReads,
    RateSettings, ReadLatencies, RetryPolicy, classify, hedge,
};
use crate::outcome::{ErrorRecord, TaskPolicy};

/// A session is replaced when less than this is left of it, so that no call starts on a
/// session about to expire.
const SESSION_MARGIN: Duration = Duration::from_secs(60);
/// How often one call may replace an expired session before giving up.
const MAX_SESSION_REFRESHES: u32 = 2;
/// A queue for AssumeRoot permits this short (at the current rate) is pacing, not a backlog.
const SHORT_QUEUE: Duration = Duration::from_millis(20);

/// Whether `waiting` callers would all have a permit within [`SHORT_QUEUE`] at `rate` per second.
fn queue_is_short(waiting: usize, rate: f64) -> bool {
    waiting as f64 <= rate * SHORT_QUEUE.as_secs_f64()
}

/// Settings of every budget and of retries.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// `sts:AssumeRoot`: one budget for the whole run (every call is charged to the caller's
    /// account).
    pub assume_root: RateSettings,
    /// Organizations calls: one budget for the whole run.
    pub organizations: RateSettings,
    /// IAM calls inside a member account: one budget per account.
    pub iam_per_account: RateSettings,
    /// S3 calls inside a member account: one budget per account.
    pub s3_per_account: RateSettings,
    /// SQS calls inside a member account: one budget per account.
    pub sqs_per_account: RateSettings,
    /// Retries.
    pub retry: RetryPolicy,
    /// When a read inside a member account that has not answered is sent once more.
    pub hedged_reads: HedgedReads,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            assume_root: RateSettings::adaptive(100.0, 5_000.0),
            organizations: RateSettings::adaptive(40.0, 200.0),
            iam_per_account: RateSettings::adaptive(20.0, 500.0),
            s3_per_account: RateSettings::adaptive(20.0, 500.0),
            sqs_per_account: RateSettings::adaptive(20.0, 500.0),
            retry: RetryPolicy::default(),
            hedged_reads: HedgedReads::Auto,
        }
    }
}

impl LimitSettings {
    /// Checks every budget's numbers.
    pub fn validate(&self) -> Result<(), String> {
        self.assume_root.validate("AssumeRoot rate")?;
        self.organizations.validate("Organizations rate")?;
        self.iam_per_account.validate("IAM rate per account")?;
        self.s3_per_account.validate("S3 rate per account")?;
        self.sqs_per_account.validate("SQS rate per account")?;
        self.retry.validate()?;
        self.hedged_reads.validate()
    }
}

/// Every rate budget of a run, the retry policy, and run-wide call counters.
#[derive(Debug)]
pub struct Limits {
    pub(crate) assume_root: AdaptiveLimiter,
    pub(crate) organizations: AdaptiveLimiter,
    pub(crate) iam: Arc<AccountBudgets>,
    pub(crate) s3: Arc<AccountBudgets>,
    pub(crate) sqs: Arc<AccountBudgets>,
    pub(crate) retry: RetryPolicy,
    /// Read latencies and hedges, run-wide.
    pub(crate) reads: ReadLatencies,
    calls: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
}

impl Limits {
    /// Budgets with these settings.
    pub fn new(settings: LimitSettings) -> Result<Arc<Self>, String> {
        settings.validate()?;
        Ok(Arc::new(Self {
            assume_root: AdaptiveLimiter::new("sts:AssumeRoot", settings.assume_root),
            organizations: AdaptiveLimiter::new("organizations", settings.organizations),
            iam: AccountBudgets::new("iam per account", settings.iam_per_account),
            s3: AccountBudgets::new("s3 per account", settings.s3_per_account),
            sqs: AccountBudgets::new("sqs per account", settings.sqs_per_account),
            retry: settings.retry,
            reads: ReadLatencies::new(settings.hedged_reads),
            calls: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        }))
    }

    /// AWS calls made so far, retries included.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Reads sent a second time so far (hedged reads; counted in [`calls`](Self::calls) too).
    pub fn hedged(&self) -> u64 {
        self.reads.hedged()
    }

    /// Retries so far.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Throttled answers so far.
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }

    /// The current AssumeRoot rate.
    pub fn assume_root_rate(&self) -> f64 {
        self.assume_root.rate()
    }

    /// Accounts waiting for an AssumeRoot permit right now.
    pub fn assume_root_waiting(&self) -> usize {
        self.assume_root.waiting()
    }

    /// Whether the accounts waiting for an AssumeRoot permit would all have one within
    /// 20 ms at the current rate.
    ///
    /// (The runner grows concurrency only then: a longer queue means AssumeRoot's budget sets
    /// the pace, and more accounts in flight would only hold more memory. Not "nobody waits":
    /// the budget paces its permits one by one, so at hundreds a second a few accounts always
    /// wait a moment, even while the budget could serve many more.)
    pub fn assume_root_queue_is_short(&self) -> bool {
        queue_is_short(self.assume_root.waiting(), self.assume_root.rate())
    }

    fn count(&self, class: Option<ErrorClass>) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if class == Some(ErrorClass::Throttled) {
            self.throttled.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A call that failed for good.
#[derive(Debug, Clone)]
pub(crate) struct CallFailure {
    pub(crate) operation: String,
    pub(crate) detail: FailureDetail,
    pub(crate) attempts: u32,
}

impl CallFailure {
    pub(crate) fn record(&self) -> ErrorRecord {
        ErrorRecord::from_failure(&self.operation, &self.detail, self.attempts)
    }

    pub(crate) fn class(&self) -> ErrorClass {
        self.detail.class
    }
}

/// The page tokens one listing has been given so far. Every listing loop asks it for the next
/// token: a service that hands back a token it already gave (a bug, or a proxy replaying
/// answers) would otherwise have the same pages asked for forever, spending the quota of every
/// other account; instead the listing fails, and so does its account or the discovery.
#[derive(Debug, Default)]
pub(crate) struct PageTokens {
    seen: std::collections::HashSet<String>,
}

impl PageTokens {
    /// The token to send for the next page (`None`: the listing is complete), or a failure
    /// when the service repeats a token.
    pub(crate) fn next(
        &mut self,
        operation: &str,
        token: Option<&str>,
    ) -> Result<Option<String>, CallFailure> {
        let Some(token) = token else {
            return Ok(None);
        };
        if self.seen.insert(token.to_string()) {
            return Ok(Some(token.to_string()));
        }
        Err(CallFailure {
            operation: operation.to_string(),
            detail: FailureDetail {
                class: ErrorClass::Fatal,
                code: None,
                message: format!(
                    "the service returned a page token it had already returned, after {} pages; \
                     the listing was stopped rather than read in a loop",
                    self.seen.len() + 1
                ),
                http_status: None,
            },
            attempts: 1,
        })
    }
}

/// Calls and retries made by one call site, and how long it waited for permits.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CallCount {
    pub(crate) calls: u32,
    pub(crate) retries: u32,
    pub(crate) permit_wait: Duration,
}

impl CallCount {
    /// Adds what another call site counted (calls made side by side, counted apart).
    pub(crate) fn add(&mut self, other: CallCount) {
        self.calls += other.calls;
        self.retries += other.retries;
        self.permit_wait += other.permit_wait;
    }
}

fn emit_rate_change(
    events: &UnboundedSender<EventKind>,
    budget: &'static str,
    change: Option<RateChange>,
) {
    if let Some(RateChange::Increased(rate) | RateChange::Decreased(rate)) = change {
        let _ = events.send(EventKind::RateChanged { budget, rate });
    }
}

/// Makes one call with the caller's credentials under a shared budget, retrying throttling and
/// transient failures. Returns the value and how many attempts it took.
pub(crate) async fn call_shared<T, E, F, Fut>(
    limits: &Limits,
    limiter: &AdaptiveLimiter,
    events: &UnboundedSender<EventKind>,
    account: Option<&AccountId>,
    operation: &str,
    count: &mut CallCount,
    request: F,
) -> Result<T, CallFailure>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + Error + 'static,
{
    let mut rng = fastrand::Rng::new();
    let mut attempts = Attempts::default();
    loop {
        let waiting = Instant::now();
        if attempts.failed() == 0 {
            limiter.acquire().await;
        } else {
            limiter.acquire_retry().await;
        }
        count.permit_wait += waiting.elapsed();
        count.calls += 1;
        // Boxed: an SDK call's future is several KiB, and inline it would be reserved in
        // every account's task for as long as the account is in flight (see `call`).
        let result = Box::pin(request()).await;
        let error = match result {
            Ok(value) => {
                limits.count(None);
                emit_rate_change(events, limiter.name(), limiter.record(false));
                return Ok(value);
            }
            Err(error) => error,
        };
        let detail = classify(&error);
        limits.count(Some(detail.class));
        emit_rate_change(
            events,
            limiter.name(),
            limiter.record(detail.class == ErrorClass::Throttled),
        );
        let Some(delay) = limits
            .retry
            .next_delay(&mut attempts, detail.class, &mut rng)
        else {
            return Err(CallFailure {
                operation: operation.to_string(),
                detail,
                attempts: attempts.failed(),
            });
        };
        count.retries += 1;
        limits.retries.fetch_add(1, Ordering::Relaxed);
        let _ = events.send(EventKind::CallRetrying {
            account_id: account.cloned(),
            operation: operation.to_string(),
            attempt: attempts.failed(),
            delay,
            failure: detail,
        });
        tokio::time::sleep(delay).await;
    }
}

/// The AWS services called inside member accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InAccountService {
    Iam,
    S3,
    Sqs,
}

/// Clients made from the current session, by region.
#[derive(Default)]
pub(crate) struct ClientCache {
    iam: HashMap<String, aws_sdk_iam::Client>,
    s3: HashMap<String, aws_sdk_s3::Client>,
    sqs: HashMap<String, aws_sdk_sqs::Client>,
}

impl ClientCache {
    fn clear(&mut self) {
        self.iam.clear();
        self.s3.clear();
        self.sqs.clear();
    }
}

/// An SDK client that acts with a root session.
pub(crate) trait SessionClient: Clone {
    const SERVICE: InAccountService;
    fn build(aws: &AwsContext, credentials: &Credentials, region: &str) -> Self;
    fn cache(clients: &mut ClientCache) -> &mut HashMap<String, Self>;
}

impl SessionClient for aws_sdk_iam::Client {
    const SERVICE: InAccountService = InAccountService::Iam;
    fn build(aws: &AwsContext, credentials: &Credentials, _region: &str) -> Self {
        aws.session_iam(credentials)
    }
    fn cache(clients: &mut ClientCache) -> &mut HashMap<String, Self> {
        &mut clients.iam
    }
}

impl SessionClient for aws_sdk_s3::Client {
    const SERVICE: InAccountService = InAccountService::S3;
    fn build(aws: &AwsContext, credentials: &Credentials, region: &str) -> Self {
        aws.session_s3(credentials, region)
    }
    fn cache(clients: &mut ClientCache) -> &mut HashMap<String, Self> {
        &mut clients.s3
    }
}

impl SessionClient for aws_sdk_sqs::Client {
    const SERVICE: InAccountService = InAccountService::Sqs;
    fn build(aws: &AwsContext, credentials: &Credentials, region: &str) -> Self {
        aws.session_sqs(credentials, region)
    }
    fn cache(clients: &mut ClientCache) -> &mut HashMap<String, Self> {
        &mut clients.sqs
    }
}

/// Root session credentials: in memory only, never printed.
struct Session {
    credentials: Credentials,
    expires_at: Instant,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Session")
            .field("credentials", &"** redacted **")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The account's root session and the clients made from it.
#[derive(Default)]
struct SessionState {
    current: Option<Session>,
    /// How many sessions have been assumed: also the generation of `current`, so that a call
    /// told its session expired drops that session and not a newer one another call made.
    assumed: u32,
    clients: ClientCache,
    /// Set once AssumeRoot has failed for good: the account's other calls, waiting for the
    /// same session, fail with it instead of each assuming root again.
    failure: Option<CallFailure>,
}

/// Everything a task needs to work inside one member account (see the module documentation).
/// Its calls take `&self`, so a task can make independent calls at once (an inventory's four
/// listings): they share one session, assumed by whichever asks first while the others wait,
/// and the account's budgets.
pub(crate) struct AccountContext {
    pub(crate) account_id: AccountId,
    aws: Arc<AwsContext>,
    limits: Arc<Limits>,
    events: UnboundedSender<EventKind>,
    task_policy: TaskPolicy,
    /// An async mutex, held while AssumeRoot is called: calls made at once wait for one
    /// session rather than each assuming its own.
    session: tokio::sync::Mutex<SessionState>,
    iam_budget: OnceLock<AccountBudget>,
    s3_budget: OnceLock<AccountBudget>,
    sqs_budget: OnceLock<AccountBudget>,
    calls: AtomicU32,
    retries: AtomicU32,
}

impl AccountContext {
    pub(crate) fn new(
        account_id: AccountId,
        aws: Arc<AwsContext>,
        limits: Arc<Limits>,
        events: UnboundedSender<EventKind>,
        task_policy: TaskPolicy,
    ) -> Self {
        Self {
            account_id,
            aws,
            limits,
            events,
            task_policy,
            session: tokio::sync::Mutex::new(SessionState::default()),
            iam_budget: OnceLock::new(),
            s3_budget: OnceLock::new(),
            sqs_budget: OnceLock::new(),
            calls: AtomicU32::new(0),
            retries: AtomicU32::new(0),
        }
    }

    /// The calls (attempts) and retries made in this account so far, AssumeRoot included.
    pub(crate) fn calls_and_retries(&self) -> (u32, u32) {
        (
            self.calls.load(Ordering::Relaxed),
            self.retries.load(Ordering::Relaxed),
        )
    }

    /// The caller's region (IAM is global; it is signed for the caller's region).
    pub(crate) fn home_region(&self) -> String {
        self.aws.region().to_string()
    }

    /// Assumes root for the task's policy unless a session with time left is at hand.
    async fn ensure_session(&self, state: &mut SessionState) -> Result<(), CallFailure> {
        if let Some(failure) = &state.failure {
            return Err(failure.clone());
        }
        if let Some(session) = &state.current
            && session.expires_at.saturating_duration_since(Instant::now()) > SESSION_MARGIN
        {
            return Ok(());
        }
        let refreshed = state.assumed > 0;
        state.current = None;
        state.clients.clear();
        let sts = self.aws.sts().clone();
        let target = self.account_id.to_string();
        let policy_arn = self.task_policy.arn();
        let mut count = CallCount::default();
        let started = Instant::now();
        let output = call_shared(
            &self.limits,
            &self.limits.assume_root,
            &self.events,
            Some(&self.account_id),
            "sts:AssumeRoot",
            &mut count,
            || {
                sts.assume_root()
                    .target_principal(&target)
                    .task_policy_arn(
                        aws_sdk_sts::types::PolicyDescriptorType::builder()
                            .arn(&policy_arn)
                            .build(),
                    )
                    .duration_seconds(900)
                    .send()
            },
        )
        .await;
        self.calls.fetch_add(count.calls, Ordering::Relaxed);
        self.retries.fetch_add(count.retries, Ordering::Relaxed);
        let output = output.inspect_err(|failure| state.failure = Some(failure.clone()))?;
        let Some(credentials) = output.credentials() else {
            let failure = CallFailure {
                operation: "sts:AssumeRoot".to_string(),
                detail: FailureDetail {
                    class: ErrorClass::Fatal,
                    code: None,
                    message: "AssumeRoot answered without credentials".to_string(),
                    http_status: None,
                },
                attempts: 1,
            };
            state.failure = Some(failure.clone());
            return Err(failure);
        };
        let lifetime = crate::clock::until(credentials.expiration());
        state.current = Some(Session {
            credentials: Credentials::new(
                credentials.access_key_id(),
                credentials.secret_access_key(),
                Some(credentials.session_token().to_string()),
                None,
                "rootsweep-assume-root",
            ),
            expires_at: Instant::now() + lifetime,
        });
        state.assumed += 1;
        let _ = self.events.send(EventKind::SessionAssumed {
            account_id: self.account_id.clone(),
            task_policy: self.task_policy,
            expires_in: lifetime,
            refreshed,
            permit_wait: count.permit_wait,
            took: started.elapsed(),
        });
        Ok(())
    }

    /// A client for `region` acting with the current session (assumed first if need be), and
    /// the generation of that session.
    async fn client<C: SessionClient>(&self, region: &str) -> Result<(C, u32), CallFailure> {
        let mut state = self.session.lock().await;
        // Boxed for the reason `call` boxes its request: AssumeRoot's retry loop is large, and
        // every call of the account's task (several at once) would otherwise reserve room for it.
        Box::pin(self.ensure_session(&mut state)).await?;
        let generation = state.assumed;
        if let Some(client) = C::cache(&mut state.clients).get(region) {
            return Ok((client.clone(), generation));
        }
        let Some(session) = &state.current else {
            unreachable!("ensure_session leaves a session in place");
        };
        let client = C::build(&self.aws, &session.credentials, region);
        C::cache(&mut state.clients).insert(region.to_string(), client.clone());
        Ok((client, generation))
    }

    /// Drops the session of `generation`, which AWS said has expired, unless another call
    /// has replaced it already.
    async fn expire_session(&self, generation: u32) {
        let mut state = self.session.lock().await;
        if state.assumed == generation {
            state.current = None;
            state.clients.clear();
        }
    }

    fn budget(&self, service: InAccountService) -> &AccountBudget {
        let (slot, budgets) = match service {
            InAccountService::Iam => (&self.iam_budget, &self.limits.iam),
            InAccountService::S3 => (&self.s3_budget, &self.limits.s3),
            InAccountService::Sqs => (&self.sqs_budget, &self.limits.sqs),
        };
        slot.get_or_init(|| budgets.for_account())
    }

    /// Makes one call inside the account with the task's root session, retrying throttling
    /// and transient failures and replacing an expired session.
    pub(crate) async fn call<C, T, E, F, Fut>(
        &self,
        region: &str,
        operation: &str,
        request: F,
    ) -> Result<T, CallFailure>
    where
        C: SessionClient,
        F: Fn(C) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + Error + 'static,
    {
        let mut attempts = Attempts::default();
        let mut refreshes = 0;
        let mut rng = fastrand::Rng::new();
        let budget = self.budget(C::SERVICE);
        loop {
            let (client, generation) = self.client::<C>(region).await?;
            budget.acquire().await;
            self.calls.fetch_add(1, Ordering::Relaxed);
            // Boxed: an SDK call's future is several KiB. Inline, the largest call a task might
            // make, times the calls it makes at once, would be reserved in every account's task
            // for as long as the account is in flight, most of which it spends waiting for
            // AssumeRoot; on the heap it costs memory only while the call is made.
            let answer = if hedge::is_read(operation) {
                self.read(budget, &request, client).await
            } else {
                Box::pin(request(client)).await
            };
            let error = match answer {
                Ok(value) => {
                    self.limits.count(None);
                    emit_rate_change(&self.events, budget.name(), budget.record(false));
                    return Ok(value);
                }
                Err(error) => error,
            };
            let detail = classify(&error);
            self.limits.count(Some(detail.class));
            let change = budget.record(detail.class == ErrorClass::Throttled);
            emit_rate_change(&self.events, budget.name(), change);
            let delay = match detail.class {
                ErrorClass::ExpiredSession if refreshes < MAX_SESSION_REFRESHES => {
                    refreshes += 1;
                    self.expire_session(generation).await;
                    Duration::ZERO
                }
                class => match self.limits.retry.next_delay(&mut attempts, class, &mut rng) {
                    Some(delay) => delay,
                    None => {
                        return Err(CallFailure {
                            operation: operation.to_string(),
                            detail,
                            attempts: attempts.failed() + refreshes,
                        });
                    }
                },
            };
            self.retries.fetch_add(1, Ordering::Relaxed);
            self.limits.retries.fetch_add(1, Ordering::Relaxed);
            let _ = self.events.send(EventKind::CallRetrying {
                account_id: Some(self.account_id.clone()),
                operation: operation.to_string(),
                attempt: attempts.failed() + refreshes,
                delay,
                failure: detail,
            });
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
    }

    /// Sends a read; once more if it has not answered within the run's hedging delay (see
    /// [`crate::limits::hedge`]), hedges are within their share of the reads, the run is not
    /// being throttled much, and the account's budget has a permit free at once. The first success wins; a failure waits for
    /// the other copy, which may still succeed (a throttle among them still counts and slows
    /// the budget; if both fail, the later failure is the answer, and `call` counts it). The
    /// copy that loses is dropped unanswered.
    async fn read<C, T, E, F, Fut>(
        &self,
        budget: &AccountBudget,
        request: &F,
        client: C,
    ) -> Result<T, SdkError<E, HttpResponse>>
    where
        C: SessionClient,
        F: Fn(C) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + Error + 'static,
    {
        use futures::future::{Either, select};
        let reads = &self.limits.reads;
        let started = Instant::now();
        let answered = |answer: &Result<T, SdkError<E, HttpResponse>>| {
            if answer.is_ok() {
                reads.record(started.elapsed());
            }
        };
        let Some(delay) = reads.delay_for_read() else {
            let answer = Box::pin(request(client)).await;
            answered(&answer);
            return answer;
        };
        let first = Box::pin(request(client.clone()));
        let first = match select(first, std::pin::pin!(tokio::time::sleep(delay))).await {
            Either::Left((answer, _)) => {
                answered(&answer);
                return answer;
            }
            Either::Right(((), first)) => first,
        };
        let quota_allows =
            hedge::quota_allows_hedging(self.limits.calls(), self.limits.throttled());
        if !(quota_allows && reads.hedge_allowed() && budget.try_acquire()) {
            let answer = first.await;
            answered(&answer);
            return answer;
        }
        reads.note_hedge();
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.limits.calls.fetch_add(1, Ordering::Relaxed);
        let second = Box::pin(request(client));
        let answer = match select(first, second).await {
            Either::Left((Ok(value), _)) | Either::Right((Ok(value), _)) => Ok(value),
            Either::Left((Err(error), other)) | Either::Right((Err(error), other)) => {
                if classify(&error).class == ErrorClass::Throttled {
                    self.limits.throttled.fetch_add(1, Ordering::Relaxed);
                    emit_rate_change(&self.events, budget.name(), budget.record(true));
                }
                other.await
            }
        };
        answered(&answer);
        answer
    }

    /// [`call`](Self::call) for IAM.
    pub(crate) async fn iam<T, E, F, Fut>(
        &self,
        operation: &str,
        request: F,
    ) -> Result<T, CallFailure>
    where
        F: Fn(aws_sdk_iam::Client) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + Error + 'static,
    {
        let region = self.home_region();
        self.call::<aws_sdk_iam::Client, _, _, _, _>(&region, operation, request)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_is_short_while_the_rate_serves_it_within_20_ms() {
        assert!(queue_is_short(0, 0.5));
        assert!(!queue_is_short(1, 0.5));
        assert!(queue_is_short(2, 100.0));
        assert!(!queue_is_short(3, 100.0));
        assert!(queue_is_short(20, 1_000.0));
        assert!(!queue_is_short(21, 1_000.0));
    }

    #[tokio::test]
    async fn one_account_waiting_seconds_for_assume_root_is_a_backlog() {
        let limits = Limits::new(LimitSettings {
            assume_root: crate::RateSettings::fixed(0.5),
            ..LimitSettings::default()
        })
        .expect("limits");
        limits.assume_root.acquire().await;
        assert!(limits.assume_root_queue_is_short());
        let waiter = tokio::spawn({
            let limits = std::sync::Arc::clone(&limits);
            async move { limits.assume_root.acquire().await }
        });
        while limits.assume_root_waiting() == 0 {
            tokio::task::yield_now().await;
        }
        assert!(!limits.assume_root_queue_is_short());
        waiter.abort();
    }

    #[test]
    fn a_repeated_page_token_ends_the_listing_with_a_failure() {
        let mut tokens = PageTokens::default();
        assert_eq!(tokens.next("op", None).expect("complete"), None);
        assert_eq!(
            tokens.next("op", Some("a")).expect("new").as_deref(),
            Some("a")
        );
        assert_eq!(
            tokens.next("op", Some("b")).expect("new").as_deref(),
            Some("b")
        );
        // A cycle longer than one page is caught too.
        let failure = tokens.next("op", Some("a")).expect_err("repeated");
        assert_eq!(failure.class(), ErrorClass::Fatal);
        assert_eq!(failure.operation, "op");
        assert!(failure.detail.message.contains("after 3 pages"));
    }

    #[test]
    fn session_credentials_never_show_in_debug_output() {
        let session = Session {
            credentials: Credentials::new(
                "ASIAEXAMPLE",
                "the-secret-key",
                Some("the-session-token".into()),
                None,
                "test",
            ),
            expires_at: Instant::now(),
        };
        let text = format!("{session:?}");
        assert!(
            !text.contains("the-secret-key") && !text.contains("the-session-token"),
            "{text}"
        );
        assert!(text.contains("redacted"));
    }

    #[tokio::test]
    async fn the_aws_context_never_shows_the_callers_secret() {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                "AKIAEXAMPLE",
                "the-callers-secret",
                Some("the-callers-token".into()),
                None,
                "test",
            ))
            .load()
            .await;
        let context = AwsContext::new(&config, crate::aws::Timeouts::default()).expect("valid");
        let text = format!("{context:?}");
        assert!(
            !text.contains("the-callers-secret") && !text.contains("the-callers-token"),
            "{text}"
        );
    }
}
