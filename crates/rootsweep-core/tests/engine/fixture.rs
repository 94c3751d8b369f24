//! The shared fixture: an emulated organization, an engine pointed at it, and a recorder of
//! everything a run reports.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use rootsweep_core::{
    AccountOutcome, AwsContext, CancelHandle, Event, EventKind, HedgedReads, LimitSettings, Limits,
    RetryPolicy, RunSettings, RunSummary, Runner, Status, TargetSelector, Targets, Task, Timeouts,
    discover,
};
use rootsweep_emulator::{Emulator, EmulatorConfig, LoadProfile, Scenario, ScenarioSpec, labels};

pub(crate) struct Fixture {
    pub(crate) emulator: Emulator,
    pub(crate) scenario: Scenario,
    pub(crate) aws: Arc<AwsContext>,
}

/// Everything one run reported.
#[derive(Debug, Default)]
pub(crate) struct Recording {
    pub(crate) events: Vec<Event>,
    pub(crate) outcomes: BTreeMap<String, AccountOutcome>,
    pub(crate) duplicate_outcomes: usize,
}

impl Recording {
    pub(crate) fn record(&mut self, event: &Event) {
        if let EventKind::AccountFinished { outcome, .. } = &event.kind {
            let previous = self
                .outcomes
                .insert(outcome.account_id.to_string(), (**outcome).clone());
            self.duplicate_outcomes += usize::from(previous.is_some());
        }
        self.events.push(event.clone());
    }

    pub(crate) fn with_status(&self, status: Status) -> Vec<&AccountOutcome> {
        self.outcomes
            .values()
            .filter(|outcome| outcome.status == status)
            .collect()
    }

    pub(crate) fn retries(&self) -> usize {
        self.events
            .iter()
            .filter(|event| matches!(event.kind, EventKind::CallRetrying { .. }))
            .count()
    }
}

/// Retries fast enough for tests (the policy's shape is unit-tested; here only counts matter),
/// and no hedged reads: a hedge is one call more than the task needs, and these tests count
/// calls exactly (`hedged_reads_*` in calls.rs turns them on).
pub(crate) fn fast_limits() -> LimitSettings {
    LimitSettings {
        hedged_reads: HedgedReads::Off,
        retry: RetryPolicy {
            max_attempts: 10,
            throttled_attempts: 30,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(100),
            throttled_max_delay: Duration::from_millis(20),
            throttled_quick_retries: 4,
        },
        ..LimitSettings::default()
    }
}

impl Fixture {
    pub(crate) async fn new(spec: ScenarioSpec) -> Self {
        Self::with_load(spec, LoadProfile::default()).await
    }

    pub(crate) async fn with_load(spec: ScenarioSpec, load: LoadProfile) -> Self {
        let scenario = spec.generate().expect("scenario generates");
        Self::with_config(EmulatorConfig::new(scenario).with_load(load)).await
    }

    pub(crate) async fn with_config(config: EmulatorConfig) -> Self {
        let scenario = config.scenario.clone();
        let emulator = Emulator::start(config).await.expect("emulator starts");
        let operator = scenario.principal(labels::OPERATOR).expect("operator");
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(emulator.endpoint_url())
            .credentials_provider(Credentials::new(
                &operator.access_key_id,
                &operator.secret_access_key,
                None,
                None,
                "test",
            ))
            .load()
            .await;
        let aws =
            Arc::new(AwsContext::new(&sdk, Timeouts::default()).expect("valid configuration"));
        Self {
            emulator,
            scenario,
            aws,
        }
    }

    pub(crate) async fn targets(&self, limits: &Arc<Limits>, selector: &TargetSelector) -> Targets {
        discover(&self.aws, limits, selector, |_| {})
            .await
            .expect("discovery succeeds")
    }

    /// Discovers every account and runs `task` with fast retries.
    pub(crate) async fn run(&self, task: Task) -> (RunSummary, Recording) {
        self.run_with_limits(task, fast_limits()).await
    }

    /// [`run`](Self::run) with other limits: every target, default run settings.
    pub(crate) async fn run_with_limits(
        &self,
        task: Task,
        limits: LimitSettings,
    ) -> (RunSummary, Recording) {
        self.run_with(
            task,
            &TargetSelector::default(),
            RunSettings::default(),
            limits,
            &CancelHandle::new(),
        )
        .await
    }

    pub(crate) async fn run_with(
        &self,
        task: Task,
        selector: &TargetSelector,
        settings: RunSettings,
        limit_settings: LimitSettings,
        cancel: &CancelHandle,
    ) -> (RunSummary, Recording) {
        let limits = Limits::new(limit_settings).expect("valid limits");
        let targets = self.targets(&limits, selector).await;
        let runner = Runner::new(Arc::clone(&self.aws), limits, settings);
        let mut recording = Recording::default();
        let summary = runner
            .run(task, &targets, cancel, |event| {
                recording.record(event);
                Ok::<(), std::convert::Infallible>(())
            })
            .await;
        assert_eq!(recording.duplicate_outcomes, 0, "an account ended twice");
        assert_eq!(
            recording.outcomes.len(),
            targets.accounts.len(),
            "every target ends exactly once"
        );
        assert_eq!(summary.counts.total(), targets.accounts.len());
        (summary, recording)
    }

    /// Member accounts whose root sessions an SCP denies.
    pub(crate) fn scp_denied_accounts(&self) -> Vec<String> {
        let restricted: Vec<&str> = self
            .scenario
            .organizational_units
            .iter()
            .filter(|ou| ou.scp_denies_root)
            .map(|ou| ou.id.as_str())
            .collect();
        let mut denied = Vec::new();
        for account in &self.scenario.accounts {
            let mut parent = account.parent_id.as_str();
            let mut blocked = account.scp_denies_root;
            while !blocked {
                if restricted.contains(&parent) {
                    blocked = true;
                }
                match self
                    .scenario
                    .organizational_units
                    .iter()
                    .find(|ou| ou.id == parent)
                {
                    Some(ou) => parent = &ou.parent_id,
                    None => break,
                }
            }
            if blocked
                && account.state == "ACTIVE"
                && account.id != self.scenario.management_account_id
            {
                denied.push(account.id.clone());
            }
        }
        denied
    }
}
