//! The engine's single retry layer: [`RetryPolicy`] says how many attempts a call gets and how
//! long to wait between them (exponential backoff with full jitter, capped). The AWS SDK's own
//! retries are turned off, so this is the only place retries happen, and every one is an event.
//!
//! Throttling and other transient failures are counted apart. A throttled call is not failing:
//! AWS asks it to slow down, and the rate budgets do (they cut the rate and queue callers), so a
//! call waits out many throttles, with short backoffs, before the account is given up. Only
//! failures that say something may be wrong (timeouts, 5xx answers, dropped connections) use
//! the smaller `max_attempts`. A call's first few throttles are retried after at most
//! `base_delay` each, and only then does the backoff grow: throttling at random (a share of
//! calls throttled whatever the rate) hits one call several times in a row now and then, and
//! with a backoff doubling from the first throttle on, that one call's account ended seconds
//! after every other and held the whole sweep back.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ErrorClass;

/// How retryable failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Attempts per call, the first included, when it fails transiently (a timeout, a 5xx
    /// answer, a dropped connection).
    pub max_attempts: u32,
    /// Attempts per call, the first included, when AWS throttles it.
    pub throttled_attempts: u32,
    /// The backoff ceiling of the first retry; it doubles with every retry.
    #[serde(with = "crate::serde_duration_ms")]
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    #[serde(with = "crate::serde_duration_ms")]
    pub max_delay: Duration,
    /// The largest backoff ceiling after throttling. Short, because the rate budgets, not the
    /// backoff, pace the calls: the backoff only keeps throttled callers from retrying together.
    #[serde(with = "crate::serde_duration_ms")]
    pub throttled_max_delay: Duration,
    /// Retries after throttling whose backoff ceiling stays at `base_delay`; from the next one
    /// on it doubles, up to `throttled_max_delay`.
    pub throttled_quick_retries: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            throttled_attempts: 30,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(20),
            throttled_max_delay: Duration::from_secs(1),
            throttled_quick_retries: 4,
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 for the first retry): a uniform draw from zero to
    /// `min(max_delay, base_delay * 2^(retry - 1))` ("full jitter"), so that many accounts
    /// throttled together do not retry together.
    pub fn backoff(&self, retry: u32, rng: &mut fastrand::Rng) -> Duration {
        self.backoff_under(retry, self.max_delay, rng)
    }

    /// [`backoff`](Self::backoff) with another largest ceiling. The ceiling is capped before
    /// the draw, so that late retries stay spread over the whole range instead of piling up at
    /// the cap.
    fn backoff_under(&self, retry: u32, max_delay: Duration, rng: &mut fastrand::Rng) -> Duration {
        let exponent = retry.saturating_sub(1).min(30);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(max_delay);
        ceiling.mul_f64(rng.f64())
    }

    /// After a failed attempt of `class`: the wait before the next attempt, or `None` when the
    /// failure is not retryable or the call has used its attempts for that kind of failure.
    pub fn next_delay(
        &self,
        attempts: &mut Attempts,
        class: ErrorClass,
        rng: &mut fastrand::Rng,
    ) -> Option<Duration> {
        attempts.failed += 1;
        match class {
            ErrorClass::Throttled => {
                attempts.throttled += 1;
                // The first quick retries wait under the first retry's ceiling; the one after
                // them under the second's, and so on.
                let growing = attempts
                    .throttled
                    .saturating_sub(self.throttled_quick_retries.saturating_sub(1))
                    .max(1);
                (attempts.throttled < self.throttled_attempts)
                    .then(|| self.backoff_under(growing, self.throttled_max_delay, rng))
            }
            class if class.is_retryable() => {
                attempts.transient += 1;
                (attempts.transient < self.max_attempts)
                    .then(|| self.backoff(attempts.transient, rng))
            }
            _ => None,
        }
    }

    /// Checks the numbers.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_attempts == 0 {
            return Err("retry attempts must be at least 1".to_string());
        }
        if self.throttled_attempts == 0 {
            return Err("attempts after throttling must be at least 1".to_string());
        }
        Ok(())
    }
}

/// The failed attempts of one call so far, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    failed: u32,
    throttled: u32,
    transient: u32,
}

impl Attempts {
    /// Attempts that failed, of every kind.
    pub fn failed(&self) -> u32 {
        self.failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_transient_failures_have_their_own_attempts() {
        let policy = RetryPolicy {
            max_attempts: 3,
            throttled_attempts: 5,
            ..RetryPolicy::default()
        };
        let mut rng = fastrand::Rng::with_seed(3);
        let mut attempts = Attempts::default();
        // Two transient failures leave one attempt; throttles in between do not use it.
        assert!(
            policy
                .next_delay(&mut attempts, ErrorClass::Transient, &mut rng)
                .is_some()
        );
        for _ in 0..4 {
            let delay = policy.next_delay(&mut attempts, ErrorClass::Throttled, &mut rng);
            assert!(delay.is_some_and(|delay| delay <= policy.throttled_max_delay));
        }
        assert!(
            policy
                .next_delay(&mut attempts, ErrorClass::Transient, &mut rng)
                .is_some()
        );
        assert_eq!(attempts.failed(), 6);
        // The fifth throttle and the third transient failure end the call.
        assert!(
            policy
                .next_delay(&mut attempts.clone(), ErrorClass::Throttled, &mut rng)
                .is_none()
        );
        assert!(
            policy
                .next_delay(&mut attempts, ErrorClass::Transient, &mut rng)
                .is_none()
        );
        // Failures that are not retryable end it at once.
        let mut fresh = Attempts::default();
        assert!(
            policy
                .next_delay(&mut fresh, ErrorClass::Denied, &mut rng)
                .is_none()
        );
        assert_eq!(fresh.failed(), 1);
    }

    #[test]
    fn a_calls_first_throttles_are_retried_quickly_and_later_ones_back_off() {
        let policy = RetryPolicy::default();
        let mut rng = fastrand::Rng::with_seed(5);
        // The ceiling of each throttled retry, over many calls: 100 ms for the first four,
        // then 200, 400 and 800 ms, then the 1 s cap.
        let expected_ceilings = [100, 100, 100, 100, 200, 400, 800, 1_000, 1_000, 1_000];
        let mut highest = [Duration::ZERO; 10];
        for _ in 0..300 {
            let mut attempts = Attempts::default();
            for (retry, highest) in highest.iter_mut().enumerate() {
                let delay = policy
                    .next_delay(&mut attempts, ErrorClass::Throttled, &mut rng)
                    .expect("30 attempts after throttling");
                assert!(
                    delay <= Duration::from_millis(expected_ceilings[retry]),
                    "retry {}: {delay:?}",
                    retry + 1
                );
                *highest = (*highest).max(delay);
            }
        }
        // Full jitter reaches near each ceiling.
        for (retry, highest) in highest.iter().enumerate() {
            assert!(
                *highest > Duration::from_millis(expected_ceilings[retry] * 9 / 10),
                "retry {}: at most {highest:?}",
                retry + 1
            );
        }
        // A call throttled throughout is still retried for seconds before it fails: the
        // ceilings of its 29 retries add up to 23.8 s (26.5 s with a backoff doubling from the
        // first throttle), about 12 s of waits on average.
        let total: u32 = (1..30_u32)
            .map(|retry| {
                let growing = retry
                    .saturating_sub(policy.throttled_quick_retries - 1)
                    .max(1);
                (100 * (1u32 << (growing - 1).min(10))).min(1_000)
            })
            .sum();
        assert_eq!(total, 23_800);
    }

    #[test]
    fn backoff_is_jittered_below_a_doubling_ceiling() {
        let policy = RetryPolicy::default();
        let mut rng = fastrand::Rng::with_seed(1);
        for retry in 1..=20 {
            let ceiling = Duration::from_millis(100)
                .saturating_mul(1 << (retry - 1).min(30))
                .min(Duration::from_secs(20));
            let draws: Vec<Duration> = (0..200).map(|_| policy.backoff(retry, &mut rng)).collect();
            assert!(draws.iter().all(|draw| *draw <= ceiling), "retry {retry}");
            // Full jitter spreads retries over the whole range.
            assert!(
                draws.iter().any(|draw| *draw < ceiling / 4),
                "retry {retry}"
            );
            assert!(
                draws.iter().any(|draw| *draw > ceiling * 3 / 4),
                "retry {retry}"
            );
        }
    }
}
