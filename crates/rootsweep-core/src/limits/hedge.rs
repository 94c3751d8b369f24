//! Hedged reads: a read inside a member account that has not answered well past the latency
//! the run has seen is sent once more, and the first answer wins ("The Tail at Scale", Dean and
//! Barroso, 2013). A sweep ends with its slowest account, and an account's chain of calls is
//! as slow as its slowest call; one slow answer in a listing round holds the account back by
//! that answer's whole tail. A read changes nothing, so a second one is safe; writes are never
//! hedged.
//!
//! - [`HedgedReads`] is the setting: off, after a fixed delay, or `auto` (the default): after
//!   the 95th percentile of the run's own read latencies, once [`MIN_SAMPLES`] reads have
//!   answered, and never sooner than [`MIN_DELAY`]. Before that no read is hedged: the run does
//!   not yet know what slow is.
//! - [`ReadLatencies`] is the run-wide record those percentiles come from: a log-scale
//!   histogram of atomic counters, so recording costs one atomic add and the hot path takes no
//!   lock. A hedged read is recorded at its first send's full wait (at least the delay), so
//!   the hedges themselves do not drag the percentile down.
//! - Hedges are capped at [`MAX_HEDGED_SHARE`] of the reads so far: when a whole service slows
//!   down, every read is slow and a second copy of each would only double the load. Each hedge
//!   also needs a permit that the account's budget has free at once, with no call of the
//!   account waiting for one (see `AccountBudget::try_acquire`): a hedge never waits, and
//!   never takes a permit from a call that does. And no read is hedged while more than
//!   [`MAX_THROTTLED_SHARE`] of the run's answers were throttled: AWS is then saying that
//!   quota is short, and a hedge would spend it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Reads that must have answered before `auto` hedges any.
pub const MIN_SAMPLES: u64 = 100;
/// `auto` never hedges sooner than this: below it a second call costs more than it can save.
pub const MIN_DELAY: Duration = Duration::from_millis(50);
/// The percentile of read latencies after which `auto` hedges.
const PERCENTILE: f64 = 0.95;
/// Hedges may be at most this share of the reads made so far (plus [`HEDGE_ALLOWANCE`]).
pub const MAX_HEDGED_SHARE: f64 = 0.10;
/// No read is hedged while more than this share of the run's answers so far were throttled: a
/// hedge spends quota, and then quota, not latency, is what the run is short of.
pub const MAX_THROTTLED_SHARE: f64 = 0.05;
/// Hedges allowed beyond the share, so that the first slow reads of a run may be hedged.
pub const HEDGE_ALLOWANCE: u64 = 10;
/// How often (in recorded reads) `auto` recomputes its delay from the histogram.
const REFRESH_EVERY: u64 = 32;

/// When a read that has not answered is sent once more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HedgedReads {
    /// Never.
    Off,
    /// After the 95th percentile of the run's read latencies (see the module documentation).
    #[default]
    Auto,
    /// After this many milliseconds (at least 1).
    AfterMillis(u64),
}

impl HedgedReads {
    /// Checks the setting.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Self::AfterMillis(0) => Err("hedged reads: the delay must be at least 1 ms".into()),
            _ => Ok(()),
        }
    }
}

impl std::fmt::Display for HedgedReads {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Off => formatter.write_str("off"),
            Self::Auto => formatter.write_str("auto"),
            Self::AfterMillis(millis) => write!(formatter, "{millis}ms"),
        }
    }
}

impl std::str::FromStr for HedgedReads {
    type Err = String;

    /// `off`, `auto`, or a delay such as `150ms` or `0.2s`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let invalid = || {
            format!(
                "{text:?} is not a hedged-reads setting: use auto, off, or a delay such as 150ms or 0.5s"
            )
        };
        match text {
            "off" => return Ok(Self::Off),
            "auto" => return Ok(Self::Auto),
            _ => {}
        }
        let millis = if let Some(number) = text.strip_suffix("ms") {
            number.trim().parse::<f64>().map_err(|_| invalid())?
        } else if let Some(number) = text.strip_suffix('s') {
            number.trim().parse::<f64>().map_err(|_| invalid())? * 1_000.0
        } else {
            return Err(invalid());
        };
        if !(1.0..=3_600_000.0).contains(&millis) {
            return Err(format!(
                "{text:?}: the hedging delay must be between 1 ms and one hour"
            ));
        }
        // Rounded to whole milliseconds: finer would mean nothing at the timer's granularity.
        Ok(Self::AfterMillis(millis.round() as u64))
    }
}

/// Sub-buckets per power of two: latencies are told apart to within about 9%.
const SUB_BUCKETS: u32 = 8;
/// Powers of two of microseconds covered: up to about 2^37 µs (38 hours); longer is clamped.
const OCTAVES: u32 = 37;
const BUCKETS: usize = (SUB_BUCKETS * (OCTAVES + 1)) as usize;

/// The run-wide record of read latencies and hedges (see the module documentation).
#[derive(Debug)]
pub struct ReadLatencies {
    setting: HedgedReads,
    buckets: Box<[AtomicU64]>,
    samples: AtomicU64,
    reads: AtomicU64,
    hedged: AtomicU64,
    /// `auto`'s current delay in microseconds; 0 while there are too few samples.
    delay_micros: AtomicU64,
}

impl ReadLatencies {
    /// An empty record for `setting`.
    pub fn new(setting: HedgedReads) -> Self {
        Self {
            setting,
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            samples: AtomicU64::new(0),
            reads: AtomicU64::new(0),
            hedged: AtomicU64::new(0),
            delay_micros: AtomicU64::new(0),
        }
    }

    /// Reads sent a second time so far.
    pub fn hedged(&self) -> u64 {
        self.hedged.load(Ordering::Relaxed)
    }

    /// How long to wait for a read before hedging it, or `None` for not hedging it at all
    /// (hedging is off, or `auto` has too few samples yet). Counts the read.
    pub fn delay_for_read(&self) -> Option<Duration> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        match self.setting {
            HedgedReads::Off => None,
            HedgedReads::AfterMillis(millis) => Some(Duration::from_millis(millis)),
            HedgedReads::Auto => match self.delay_micros.load(Ordering::Relaxed) {
                0 => None,
                micros => Some(Duration::from_micros(micros)),
            },
        }
    }

    /// Whether one more hedge stays within the share of reads allowed. (Reads made at once may
    /// each see room for one more; the cap may be passed by as many, which is harmless.)
    pub fn hedge_allowed(&self) -> bool {
        let allowed =
            (self.reads.load(Ordering::Relaxed) as f64 * MAX_HEDGED_SHARE) as u64 + HEDGE_ALLOWANCE;
        self.hedged.load(Ordering::Relaxed) < allowed
    }

    /// Counts a hedge sent.
    pub fn note_hedge(&self) {
        self.hedged.fetch_add(1, Ordering::Relaxed);
    }

    /// Records that a read answered after `latency` (for a hedged read: since its first send).
    pub fn record(&self, latency: Duration) {
        if self.setting != HedgedReads::Auto {
            return;
        }
        self.buckets[bucket_of(latency)].fetch_add(1, Ordering::Relaxed);
        let samples = self.samples.fetch_add(1, Ordering::Relaxed) + 1;
        if samples >= MIN_SAMPLES && samples.is_multiple_of(REFRESH_EVERY) {
            let delay = self.percentile(PERCENTILE).max(MIN_DELAY);
            let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX).max(1);
            self.delay_micros.store(micros, Ordering::Relaxed);
        }
    }

    /// The latency below which `fraction` of the recorded reads answered (the upper edge of
    /// its bucket, so never an underestimate by more than the bucket's width).
    fn percentile(&self, fraction: f64) -> Duration {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        let wanted = ((total as f64) * fraction).ceil() as u64;
        let mut seen = 0;
        for (index, count) in counts.iter().enumerate() {
            seen += count;
            if seen >= wanted.max(1) {
                return upper_edge(index);
            }
        }
        upper_edge(BUCKETS - 1)
    }
}

/// The bucket of a latency: 8 per power of two of microseconds.
fn bucket_of(latency: Duration) -> usize {
    let micros = u64::try_from(latency.as_micros())
        .unwrap_or(u64::MAX)
        .max(1);
    let octave = 63 - micros.leading_zeros();
    if octave >= OCTAVES {
        return BUCKETS - 1;
    }
    // The three bits below the leading one pick the sub-bucket.
    let sub = if octave >= 3 {
        (micros >> (octave - 3)) & 0b111
    } else {
        (micros << (3 - octave)) & 0b111
    };
    (octave * SUB_BUCKETS) as usize + sub as usize
}

/// The smallest latency above every latency in bucket `index`.
fn upper_edge(index: usize) -> Duration {
    let octave = index as u32 / SUB_BUCKETS;
    let sub = u64::from(index as u32 % SUB_BUCKETS);
    let micros = if octave >= 3 {
        (8 + sub + 1) << (octave - 3)
    } else {
        // Below 8 µs the sub-buckets are coarser than a microsecond: the next power of two.
        1 << (octave + 1)
    };
    Duration::from_micros(micros)
}

/// Whether a run that has had `throttled` of its `calls` answered with throttling may hedge
/// (see [`MAX_THROTTLED_SHARE`]).
pub fn quota_allows_hedging(calls: u64, throttled: u64) -> bool {
    throttled as f64 <= calls as f64 * MAX_THROTTLED_SHARE
}

/// Whether `operation` (`service:Action`) only reads, and may be hedged.
pub fn is_read(operation: &str) -> bool {
    let action = operation
        .split_once(':')
        .map_or(operation, |(_, action)| action);
    action.starts_with("Get") || action.starts_with("List")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_print() {
        assert_eq!("auto".parse::<HedgedReads>(), Ok(HedgedReads::Auto));
        assert_eq!("off".parse::<HedgedReads>(), Ok(HedgedReads::Off));
        assert_eq!(
            "150ms".parse::<HedgedReads>(),
            Ok(HedgedReads::AfterMillis(150))
        );
        assert_eq!(
            "0.5s".parse::<HedgedReads>(),
            Ok(HedgedReads::AfterMillis(500))
        );
        for bad in ["", "150", "fast", "0ms", "-5ms", "nanms", "2h", "99999999s"] {
            let error = bad.parse::<HedgedReads>().expect_err(bad);
            assert!(error.contains(bad.trim()), "{bad}: {error}");
        }
        for setting in [
            HedgedReads::Off,
            HedgedReads::Auto,
            HedgedReads::AfterMillis(75),
        ] {
            assert_eq!(setting.to_string().parse::<HedgedReads>(), Ok(setting));
        }
        assert!(HedgedReads::AfterMillis(0).validate().is_err());
        assert!(HedgedReads::Auto.validate().is_ok());
    }

    #[test]
    fn reads_are_gets_and_lists_only() {
        for read in [
            "iam:GetAccountSummary",
            "iam:ListAccessKeys",
            "s3:GetBucketPolicy",
            "sqs:ListQueues",
            "sqs:GetQueueAttributes",
        ] {
            assert!(is_read(read), "{read}");
        }
        for write in [
            "iam:DeleteLoginProfile",
            "iam:DeactivateMFADevice",
            "s3:DeleteBucketPolicy",
            "sqs:SetQueueAttributes",
            "sts:AssumeRoot",
            "iam:CreateLoginProfile",
        ] {
            assert!(!is_read(write), "{write}");
        }
    }

    #[test]
    fn buckets_cover_latencies_in_order_and_edges_bound_them() {
        let mut previous = 0;
        for micros in (8..2_000_000u64).step_by(997) {
            let latency = Duration::from_micros(micros);
            let bucket = bucket_of(latency);
            assert!(bucket >= previous, "{micros} µs");
            assert!(upper_edge(bucket) > latency, "{micros} µs");
            // Within 13% above: one sub-bucket of eight per power of two, plus rounding.
            assert!(
                upper_edge(bucket).as_secs_f64() <= latency.as_secs_f64() * 1.13 + 2e-6,
                "{micros} µs"
            );
            previous = bucket;
        }
        assert_eq!(bucket_of(Duration::from_secs(1_000_000)), BUCKETS - 1);
        assert_eq!(
            bucket_of(Duration::ZERO),
            bucket_of(Duration::from_micros(1))
        );
    }

    #[test]
    fn auto_waits_for_samples_then_hedges_after_the_95th_percentile() {
        let latencies = ReadLatencies::new(HedgedReads::Auto);
        // 90 fast reads and 9 slow ones: too few samples yet.
        for _ in 0..90 {
            latencies.record(Duration::from_millis(30));
        }
        for _ in 0..9 {
            latencies.record(Duration::from_millis(400));
        }
        assert_eq!(latencies.delay_for_read(), None);
        // 1,000 samples in all, 4% of them at 400 ms: the 95th percentile is the fast ones'.
        for _ in 0..861 {
            latencies.record(Duration::from_millis(120));
        }
        for _ in 0..31 {
            latencies.record(Duration::from_millis(400));
        }
        for _ in 0..9 {
            latencies.record(Duration::from_millis(30));
        }
        let delay = latencies.delay_for_read().expect("enough samples");
        assert!(
            delay >= Duration::from_millis(120) && delay < Duration::from_millis(136),
            "{delay:?}"
        );
    }

    #[test]
    fn auto_never_hedges_sooner_than_the_floor() {
        let latencies = ReadLatencies::new(HedgedReads::Auto);
        for _ in 0..256 {
            latencies.record(Duration::from_millis(2));
        }
        assert_eq!(latencies.delay_for_read(), Some(MIN_DELAY));
    }

    #[test]
    fn fixed_and_off_ignore_samples() {
        let fixed = ReadLatencies::new(HedgedReads::AfterMillis(80));
        assert_eq!(fixed.delay_for_read(), Some(Duration::from_millis(80)));
        let off = ReadLatencies::new(HedgedReads::Off);
        for _ in 0..512 {
            off.record(Duration::from_millis(2));
        }
        assert_eq!(off.delay_for_read(), None);
    }

    #[test]
    fn no_hedges_while_aws_throttles_much() {
        assert!(quota_allows_hedging(0, 0));
        assert!(quota_allows_hedging(1_000, 50));
        assert!(!quota_allows_hedging(1_000, 51));
        assert!(!quota_allows_hedging(10, 9));
    }

    #[test]
    fn hedges_stay_within_a_tenth_of_the_reads() {
        let latencies = ReadLatencies::new(HedgedReads::AfterMillis(10));
        for _ in 0..1_000 {
            latencies.delay_for_read();
        }
        let granted = (0..1_000)
            .filter(|_| {
                let allowed = latencies.hedge_allowed();
                if allowed {
                    latencies.note_hedge();
                }
                allowed
            })
            .count();
        assert_eq!(granted as u64, 100 + HEDGE_ALLOWANCE);
        assert_eq!(latencies.hedged(), 100 + HEDGE_ALLOWANCE);
    }
}
