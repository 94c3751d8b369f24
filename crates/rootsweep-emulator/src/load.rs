//! Load and faults: the [`LoadProfile`] (latency, token-bucket quotas, injected faults) and the
//! [`LoadShaper`] that applies it to every request.
//!
//! Reproducibility: every random draw for a request comes from a generator seeded with
//! `(seed, service, operation, account, n)`, where `n` counts earlier requests with the same
//! service, operation and account. Concurrency changes the order requests arrive in, but not what
//! the n-th `iam:ListAccessKeys` in account X experiences, so a seeded run is repeatable.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The AWS services the emulator speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// AWS STS (Query protocol).
    Sts,
    /// AWS IAM (Query protocol).
    Iam,
    /// AWS Organizations (JSON 1.1).
    Organizations,
    /// Amazon S3 (REST-XML, path-style).
    S3,
    /// Amazon SQS (JSON 1.0).
    Sqs,
}

impl Service {
    /// The name used in SigV4 credential scopes and IAM action prefixes.
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::Sts => "sts",
            Service::Iam => "iam",
            Service::Organizations => "organizations",
            Service::S3 => "s3",
            Service::Sqs => "sqs",
        }
    }

    /// Parses a SigV4 signing name.
    pub fn from_signing_name(name: &str) -> Option<Self> {
        Some(match name {
            "sts" => Service::Sts,
            "iam" => Service::Iam,
            "organizations" => Service::Organizations,
            "s3" => Service::S3,
            "sqs" => Service::Sqs,
            _ => return None,
        })
    }
}

/// A request-latency distribution: log-normal with the given median and 99th percentile.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    /// Median latency in milliseconds.
    pub median_ms: f64,
    /// 99th-percentile latency in milliseconds (at least the median).
    pub p99_ms: f64,
}

impl Latency {
    /// Draws one latency from two uniform samples in (0, 1].
    fn sample(&self, uniform_a: f64, uniform_b: f64) -> Duration {
        // Box-Muller: a standard normal from two uniforms; 2.326 is the normal's 99th percentile.
        let normal =
            (-2.0 * uniform_a.ln()).sqrt() * (2.0 * std::f64::consts::PI * uniform_b).cos();
        let sigma = (self.p99_ms.max(self.median_ms) / self.median_ms.max(0.001)).ln() / 2.326;
        let milliseconds = self.median_ms * (sigma * normal).exp();
        Duration::from_secs_f64((milliseconds / 1000.0).clamp(0.0, 60.0))
    }

    /// The latency injected into the `nth` call (counting from 1, retries included) of
    /// `operation` on `service` made in `account` (for AssumeRoot, the target account; for
    /// Organizations, the caller's) under `seed`. Draws depend on these alone, not on timing or
    /// on other calls, so a benchmark can work out the latency a run met from the calls it
    /// made. Slow faults add to it.
    pub fn injected(
        &self,
        seed: u64,
        service: Service,
        operation: &str,
        account: &str,
        nth: u64,
    ) -> Duration {
        let mut draws = Draws::for_call(seed, service, operation, account, nth);
        self.sample(draws.uniform(), draws.uniform())
    }
}

/// A token bucket quota: a refill rate and a burst capacity.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Tokens added per second.
    pub per_second: f64,
    /// Bucket capacity (the largest burst). Defaults to one second's worth.
    #[serde(default)]
    pub burst: Option<f64>,
}

impl Quota {
    /// A quota of `per_second` with a burst of one second's worth.
    pub fn per_second(per_second: f64) -> Self {
        Self {
            per_second,
            burst: None,
        }
    }

    fn capacity(&self) -> f64 {
        self.burst.unwrap_or(self.per_second).max(1.0)
    }
}

/// Quotas per API family. `None` means unlimited.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Quotas {
    /// `sts:AssumeRoot`, charged to the caller's account.
    pub assume_root: Option<Quota>,
    /// Other STS calls, per caller account.
    pub sts_other: Option<Quota>,
    /// IAM calls, per account the caller acts in (a root session's member account).
    pub iam_per_account: Option<Quota>,
    /// S3 calls, per account.
    pub s3_per_account: Option<Quota>,
    /// SQS calls, per account.
    pub sqs_per_account: Option<Quota>,
    /// Organizations calls, for the whole organization.
    pub organizations: Option<Quota>,
}

/// What an injected fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with the service's own throttling error, whatever the quotas say.
    Throttle,
    /// Answer HTTP 500 with the service's internal-error code.
    InternalError,
    /// Answer HTTP 503 with the service's unavailable code.
    ServiceUnavailable,
    /// Wait `delay_ms` before answering normally (to trip client timeouts).
    Slow,
    /// Close the connection before the request has any effect.
    DropBeforeProcessing,
    /// Apply the request, then close the connection without answering (a lost response).
    DropAfterProcessing,
}

/// One fault-injection rule: with probability `rate`, matching requests get `kind`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// The fault.
    pub kind: FaultKind,
    /// Probability in [0, 1] that a matching request is hit.
    pub rate: f64,
    /// Services it applies to; empty means all.
    #[serde(default)]
    pub services: Vec<Service>,
    /// Operations it applies to (`AssumeRoot`, `ListAccessKeys`, ...); empty means all.
    #[serde(default)]
    pub operations: Vec<String>,
    /// For [`FaultKind::Slow`]: how long to wait.
    #[serde(default)]
    pub delay_ms: u64,
}

impl FaultRule {
    fn matches(&self, service: Service, operation: &str) -> bool {
        (self.services.is_empty() || self.services.contains(&service))
            && (self.operations.is_empty() || self.operations.iter().any(|op| op == operation))
    }
}

/// Everything about load and faults for one emulator run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LoadProfile {
    /// The seed of every fault and latency draw.
    pub seed: u64,
    /// Latency added to every AWS request, if any.
    pub latency: Option<Latency>,
    /// Token-bucket quotas.
    pub quotas: Quotas,
    /// Injected faults, checked in order; the first that fires wins.
    pub faults: Vec<FaultRule>,
    /// Organizations list calls return a random number of items per page (even zero) with a
    /// `NextToken`, as the API allows; callers must follow `NextToken`, not count items.
    pub short_pages: bool,
    /// Caps every AssumeRoot session's lifetime (seconds) below what was asked for, to exercise
    /// sessions expiring mid-task.
    pub session_lifetime_cap_seconds: Option<u64>,
}

impl Default for LoadProfile {
    fn default() -> Self {
        Self {
            seed: 7,
            latency: None,
            quotas: Quotas::default(),
            faults: Vec::new(),
            short_pages: false,
            session_lifetime_cap_seconds: None,
        }
    }
}

/// What the shaper decided for one request before it is processed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// Process it (after `delay`).
    Proceed {
        /// Latency (and slow-fault delay) to wait first.
        delay: Duration,
        /// Drop the connection after processing.
        drop_after: bool,
    },
    /// Answer with the service's throttling error.
    Throttle {
        /// True when an injected fault (not a quota) caused it.
        injected: bool,
    },
    /// Answer with an injected 500 or 503.
    Error {
        /// 500 or 503.
        status: u16,
    },
    /// Close the connection without processing.
    Drop,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Applies a [`LoadProfile`]: keeps the token buckets and the per-key draw counters.
#[derive(Debug)]
pub(crate) struct LoadShaper {
    profile: Mutex<LoadProfile>,
    buckets: Mutex<HashMap<(&'static str, String), Bucket>>,
    counters: Mutex<HashMap<(Service, String, String), u64>>,
}

/// The random draws for one request.
struct Draws(fastrand::Rng);

impl Draws {
    /// The draws of the `nth` call of `operation` in `account`.
    fn for_call(seed: u64, service: Service, operation: &str, account: &str, nth: u64) -> Self {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (seed, service, operation, account, nth).hash(&mut hasher);
        Self(fastrand::Rng::with_seed(hasher.finish()))
    }

    fn uniform(&mut self) -> f64 {
        // In (0, 1], so logarithms stay finite.
        1.0 - self.0.f64()
    }
}

impl LoadShaper {
    /// A shaper for `profile`.
    pub(crate) fn new(profile: LoadProfile) -> Self {
        Self {
            profile: Mutex::new(profile),
            buckets: Mutex::new(HashMap::new()),
            counters: Mutex::new(HashMap::new()),
        }
    }

    /// The current profile.
    pub(crate) fn profile(&self) -> LoadProfile {
        lock(&self.profile).clone()
    }

    /// Replaces the profile (buckets restart full; draw counters keep counting).
    pub(crate) fn set_profile(&self, profile: LoadProfile) {
        *lock(&self.profile) = profile;
        lock(&self.buckets).clear();
    }

    /// Forgets buckets and draw counters (a reset to the starting point).
    pub(crate) fn reset(&self) {
        lock(&self.buckets).clear();
        lock(&self.counters).clear();
    }

    fn draws(&self, seed: u64, service: Service, operation: &str, account: &str) -> Draws {
        let mut counters = lock(&self.counters);
        let counter = counters
            .entry((service, operation.to_string(), account.to_string()))
            .or_insert(0);
        *counter += 1;
        Draws::for_call(seed, service, operation, account, *counter)
    }

    /// Decides the fate of a request before it is processed. `quota_key` names the bucket the
    /// call is charged to (for example the caller's account for AssumeRoot).
    pub(crate) fn admit(
        &self,
        service: Service,
        operation: &str,
        account: &str,
        quota_key: Option<(&'static str, &str)>,
    ) -> Verdict {
        let profile = lock(&self.profile).clone();
        let mut draws = self.draws(profile.seed, service, operation, account);
        let mut delay = profile
            .latency
            .map(|latency| latency.sample(draws.uniform(), draws.uniform()))
            .unwrap_or_default();
        let mut drop_after = false;
        for rule in &profile.faults {
            // Draw for every rule, matching or not, so adding a rule does not shift the others.
            let fires = draws.uniform() <= rule.rate && rule.matches(service, operation);
            if !fires {
                continue;
            }
            match rule.kind {
                FaultKind::Throttle => return Verdict::Throttle { injected: true },
                FaultKind::InternalError => return Verdict::Error { status: 500 },
                FaultKind::ServiceUnavailable => return Verdict::Error { status: 503 },
                FaultKind::DropBeforeProcessing => return Verdict::Drop,
                FaultKind::DropAfterProcessing => {
                    drop_after = true;
                    break;
                }
                FaultKind::Slow => {
                    delay += Duration::from_millis(rule.delay_ms);
                    break;
                }
            }
        }
        if let Some((family, key)) = quota_key {
            let quota = match family {
                "assume_root" => profile.quotas.assume_root,
                "sts_other" => profile.quotas.sts_other,
                "iam" => profile.quotas.iam_per_account,
                "s3" => profile.quotas.s3_per_account,
                "sqs" => profile.quotas.sqs_per_account,
                "organizations" => profile.quotas.organizations,
                _ => None,
            };
            if let Some(quota) = quota
                && !self.take_token(family, key, quota)
            {
                return Verdict::Throttle { injected: false };
            }
        }
        Verdict::Proceed { delay, drop_after }
    }

    /// Takes one token from the bucket `(family, key)`; false when it is empty.
    fn take_token(&self, family: &'static str, key: &str, quota: Quota) -> bool {
        let now = Instant::now();
        let mut buckets = lock(&self.buckets);
        let bucket = buckets
            .entry((family, key.to_string()))
            .or_insert_with(|| Bucket {
                tokens: quota.capacity(),
                updated: now,
            });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * quota.per_second).min(quota.capacity());
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether Organizations list pages should be shortened, and a draw to shorten them with.
    pub(crate) fn short_page_length(&self, operation: &str, requested: usize) -> usize {
        let profile = lock(&self.profile).clone();
        if !profile.short_pages || requested == 0 {
            return requested;
        }
        let mut draws = self.draws(
            profile.seed ^ 0x5eed,
            Service::Organizations,
            operation,
            "page",
        );
        draws.0.usize(0..=requested)
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (the emulator's state
/// stays usable for the test that is reporting the panic).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latency_a_call_meets_can_be_worked_out_from_the_call_alone() {
        let latency = Latency {
            median_ms: 30.0,
            p99_ms: 300.0,
        };
        let shaper = LoadShaper::new(LoadProfile {
            seed: 11,
            latency: Some(latency),
            ..LoadProfile::default()
        });
        let delay = |verdict| match verdict {
            Verdict::Proceed { delay, .. } => delay,
            _ => panic!("no quota or fault here"),
        };
        // Calls elsewhere do not shift an account's draws; its own calls count from 1.
        let first = delay(shaper.admit(Service::Iam, "ListMFADevices", "a", None));
        let elsewhere = delay(shaper.admit(Service::Iam, "ListMFADevices", "b", None));
        let second = delay(shaper.admit(Service::Iam, "ListMFADevices", "a", None));
        let injected =
            |account, nth| latency.injected(11, Service::Iam, "ListMFADevices", account, nth);
        assert_eq!(first, injected("a", 1));
        assert_eq!(elsewhere, injected("b", 1));
        assert_eq!(second, injected("a", 2));
        assert_ne!(first, second);
    }

    #[test]
    fn latency_has_the_requested_median_and_tail() {
        let latency = Latency {
            median_ms: 40.0,
            p99_ms: 400.0,
        };
        let mut rng = fastrand::Rng::with_seed(1);
        let mut samples: Vec<f64> = (0..20_000)
            .map(|_| {
                latency
                    .sample(1.0 - rng.f64(), 1.0 - rng.f64())
                    .as_secs_f64()
                    * 1000.0
            })
            .collect();
        samples.sort_by(f64::total_cmp);
        let median = samples[samples.len() / 2];
        let p99 = samples[samples.len() * 99 / 100];
        assert!((35.0..45.0).contains(&median), "median {median}");
        assert!((300.0..520.0).contains(&p99), "p99 {p99}");
    }

    #[test]
    fn fault_draws_are_reproducible_and_near_the_rate() {
        let profile = LoadProfile {
            seed: 3,
            faults: vec![FaultRule {
                kind: FaultKind::Throttle,
                rate: 0.3,
                services: vec![Service::Iam],
                operations: Vec::new(),
                delay_ms: 0,
            }],
            ..LoadProfile::default()
        };
        let run = || {
            let shaper = LoadShaper::new(profile.clone());
            (0..2_000)
                .map(|n| {
                    shaper.admit(
                        Service::Iam,
                        "ListAccessKeys",
                        &format!("{:012}", n % 50),
                        None,
                    )
                })
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let throttled = first
            .iter()
            .filter(|verdict| matches!(verdict, Verdict::Throttle { injected: true }))
            .count();
        assert!((500..700).contains(&throttled), "{throttled}");
        let shaper = LoadShaper::new(profile);
        assert!(matches!(
            shaper.admit(Service::Sts, "AssumeRoot", "x", None),
            Verdict::Proceed { .. }
        ));
    }

    #[test]
    fn token_bucket_allows_the_burst_then_throttles() {
        let shaper = LoadShaper::new(LoadProfile {
            quotas: Quotas {
                assume_root: Some(Quota {
                    per_second: 0.001,
                    burst: Some(5.0),
                }),
                ..Quotas::default()
            },
            ..LoadProfile::default()
        });
        let verdicts: Vec<_> = (0..7)
            .map(|_| shaper.admit(Service::Sts, "AssumeRoot", "a", Some(("assume_root", "a"))))
            .collect();
        assert!(
            verdicts[..5]
                .iter()
                .all(|v| matches!(v, Verdict::Proceed { .. }))
        );
        assert!(
            verdicts[5..]
                .iter()
                .all(|v| matches!(v, Verdict::Throttle { injected: false }))
        );
        // Another caller account has its own bucket.
        assert!(matches!(
            shaper.admit(Service::Sts, "AssumeRoot", "b", Some(("assume_root", "b"))),
            Verdict::Proceed { .. }
        ));
    }
}
