//! The engine's single retry layer: [`RetryPolicy`] says how many attempts a call gets and how
//! long to wait between them (exponential backoff with full jitter, capped). The AWS SDK's own
//! retries are turned off, so this is the only place retries happen, and every one is an event.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How retryable failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Attempts per call, the first included. Throttling and transient failures use them.
    pub max_attempts: u32,
    /// The backoff ceiling of the first retry; it doubles with every retry.
    #[serde(with = "crate::serde_duration_ms")]
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    #[serde(with = "crate::serde_duration_ms")]
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 for the first retry): a uniform draw from zero to
    /// `min(max_delay, base_delay * 2^(retry - 1))` ("full jitter"), so that many accounts
    /// throttled together do not retry together.
    pub fn backoff(&self, retry: u32, rng: &mut fastrand::Rng) -> Duration {
        let exponent = retry.saturating_sub(1).min(30);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        ceiling.mul_f64(rng.f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
