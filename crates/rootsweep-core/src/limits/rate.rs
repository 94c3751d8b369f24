//! Adaptive rate budgets. AWS does not publish its AssumeRoot, IAM or Organizations quotas, so
//! every budget starts at a modest rate and follows what the service says:
//!
//! - [`RateController`] is the policy, pure and clock-driven. Calls are counted in windows
//!   (half a second and 30 calls at least; a tenth of a second and 10 calls during slow start,
//!   while nothing has been throttled, and a tenth of a second and 30 calls for the slow-start
//!   window in which throttling begins). While no window throttles more than usual and the
//!   limiter made callers wait (the rate is the bottleneck), the rate grows: doubling per window
//!   until the first cut ("slow start"; twice what the service confirmed in the window, if that
//!   is less, as answers trail calls), then by 5% and after that 10% per window until the next
//!   cut. (Steps of 20% or 25% overshoot a token bucket's quota far enough that the sawtooth
//!   throttles about 5% of calls; 10% keeps it near 3.5%, see the simulation tests.) After
//!   three windows in a row without a throttle, a window longer than half a second (a low
//!   rate's: 30 answers take that long) grows by 10% per half second of it, so that a rate
//!   held low by another caller wins the quota back in seconds once it leaves. A window
//!   that throttles significantly more than usual cuts the rate to what the service accepted
//!   in it, its goodput `rate * (1 - throttled)` (or, where the callers sent less than the rate,
//!   what they sent instead of the rate), allowing for the usual level: one step to just under
//!   the quota instead of many small ones.
//! - Cuts that took the rate below half of where they began (another caller of the same quota
//!   took most of it for a while, say) are climbed back from by doubling, once throttling is
//!   back to usual, up to that half (or half of what the service accepted just before, if
//!   less); probing goes on from there. Not after the first slow start's cuts, whose starting
//!   rate was an overshoot. A climb that is throttled on the way (the other caller is still
//!   there) is tried again after 2, 4, 8, then every 16 windows, so that a long share costs a
//!   few percent of throttled calls, not a sawtooth.
//! - Random throttling that does not depend on our rate (a noisy service) must not drive the
//!   rate down forever. After a cut, exceeding the quota predicts that throttling falls to the
//!   usual level; noise predicts it stays. Two cuts in a row that do not lower it mean noise:
//!   its level is learned as usual and the rate from before the cuts is restored, growing
//!   again by doubling if a cut that seemed to lower throttling keeps it below where the cuts
//!   began (noise lowers it by chance too). (One cut is not enough evidence: the first window
//!   over the quota may have been softened by the service's burst allowance.) One window at
//!   the usual level after a cut made before any window had shown the usual level does not end
//!   the cuts: under noise it is as likely luck, and ending there let that one window set the
//!   usual level and noise ratchet the rate down
//!   (`random_throttling_rarely_holds_a_run_far_below_the_quota` simulates 200 runs). The
//!   usual level is the lower quartile of the throttle fractions of recent windows that did
//!   not cut, and of the noise learned, but never above a quarter of calls: more is other
//!   callers flooding the same quota, not noise, and taking it as usual let the rate creep far
//!   above the quota.
//! - Where throttling at random is usual (at least 5% of calls, `NOISY_USUAL`), one window that
//!   throttles significantly more does not cut: a second in a row must, unless it throttled
//!   overwhelmingly more. A window picked for throttling high is followed by a lower one by
//!   chance alone, so a cut it made seemed to help and stood, and chance cuts, one after
//!   another, held the rate at a fraction of the quota for seconds; two such windows in a row
//!   come by chance far more rarely. Where nothing is throttled but for the quota, one window
//!   still cuts.
//! - An adaptive budget first hands out half a second of its initial rate at once, unpaced
//!   (`opening_credit`); a per-account budget does so in every account.
//! - [`AdaptiveLimiter`] is one shared budget (AssumeRoot, Organizations): a `governor` limiter
//!   rebuilt whenever the controller changes the rate.
//! - [`AccountBudgets`] is one budget per member account (IAM, S3 and SQS calls made inside it):
//!   each account gets its own `governor` limiter, and all share one controller, so what one
//!   account learns about the per-account quota applies to the next.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::DefaultClock;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// Settings of one budget.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateSettings {
    /// Requests per second at the start.
    pub initial: f64,
    /// The rate never goes below this.
    pub min: f64,
    /// The rate never goes above this.
    pub max: f64,
    /// Follow throttling (true) or hold `initial` (false).
    pub adaptive: bool,
}

impl Default for RateSettings {
    fn default() -> Self {
        Self::adaptive(10.0, 1_000.0)
    }
}

impl RateSettings {
    /// An adaptive budget starting at `initial`, capped at `max`.
    pub fn adaptive(initial: f64, max: f64) -> Self {
        Self {
            initial,
            min: 0.5,
            max,
            adaptive: true,
        }
    }

    /// A fixed rate.
    pub fn fixed(rate: f64) -> Self {
        Self {
            initial: rate,
            min: rate,
            max: rate,
            adaptive: false,
        }
    }

    /// Checks that the numbers make sense.
    pub fn validate(&self, name: &str) -> Result<(), String> {
        let valid = |value: f64| value.is_finite() && value > 0.0;
        if !valid(self.initial) || !valid(self.min) || !valid(self.max) {
            return Err(format!(
                "{name}: rates must be positive numbers of requests per second"
            ));
        }
        if self.min > self.initial || self.initial > self.max {
            return Err(format!(
                "{name}: expected min ({}) <= initial ({}) <= max ({})",
                self.min, self.initial, self.max
            ));
        }
        Ok(())
    }
}

/// Shortest window over which throttling is judged.
const WINDOW: Duration = Duration::from_millis(500);
/// During slow start (no throttling seen yet) windows are shorter, so that short phases such
/// as discovery, or a sweep of a thousand accounts, reach the quota in a fraction of a second:
/// from 100/s, 1,600/s is four windows away when the answers keep up.
const SLOW_START_WINDOW: Duration = Duration::from_millis(100);
const SLOW_START_MIN_SAMPLES: u32 = 10;
/// Longest window: judged even with few calls.
const LONGEST_WINDOW: Duration = Duration::from_secs(5);
/// Calls a window needs before it is judged (fewer say too little about the throttle fraction).
const MIN_SAMPLES: u32 = 30;
/// How many past windows form the usual throttle level.
const HISTORY: usize = 9;
/// The most throttling taken as usual, however much of it cutting failed to lower. More is
/// not the random throttling of a noisy service but contention: other callers sending into the
/// same quota whatever is throttled, so that our share of throttled calls hardly depends on our
/// rate. Taken as usual, it let the rate creep up window by window (each a little more
/// throttled, within the margin) to several times the quota, starving the other caller.
const MOST_USUAL_THROTTLING: f64 = 0.25;
/// The usual throttle fraction from which a window throttled significantly more than usual cuts
/// only if the next one is too (see [`RateController::record`]). Below it, a service throttles
/// nothing but what exceeds its quota (the common case), and one window cuts, so that probing
/// past a quota costs one window of throttled calls.
const NOISY_USUAL: f64 = 0.05;
/// A window throttled more than usual by this many times the margin of significance cuts at
/// once, noise or not: that much is not chance.
const OVERWHELMING_MARGINS: f64 = 3.0;
/// A cut lands this far under the estimated quota, for headroom.
const CUT_HEADROOM: f64 = 0.95;
/// A cut removes at least this share of the rate.
const SMALLEST_CUT: f64 = 0.9;
const FIRST_PROBE_STEP: f64 = 0.05;
const LAST_PROBE_STEP: f64 = 0.10;
/// Probing windows in a row without a single throttle after which probing speeds up: each step
/// then grows with the window's length, as if the window had been cut into half-second ones
/// (see [`RateController::increase`]). Fewer than three let a lone caller under a quota of
/// 20/s overshoot it by a third each time (more than 5% of its calls throttled).
const ACCELERATE_AFTER: u32 = 3;
/// Cuts that took the rate below this share of where they began, once throttling is back to
/// usual, are climbed back from by doubling up to this share (see [`RateController::record`]).
const RECOVERY_SHARE: f64 = 0.5;
/// The most windows to wait, after climbs back were throttled, before the next try.
const LONGEST_CLIMB_WAIT: u32 = 16;
/// An adaptive budget may spend this much of its initial rate at once before pacing starts
/// (see [`opening_credit`]).
const OPENING_BURST: Duration = Duration::from_millis(500);

/// The permits an adaptive budget hands out at once, unpaced, before its first wait: half a
/// second's worth of its initial rate. AWS meters with token buckets; if a bucket starts full
/// and holds at least a second of its refill rate (an assumption: AWS publishes neither), a
/// service that sustains the initial rate also takes this burst from a caller it has not seen
/// yet; if not, throttling says so and the calls are retried. Unpaced, the first accounts'
/// calls (the four listings an account makes at once, discovery's first pages, the first
/// AssumeRoot calls) are not spread over tens of milliseconds each. A fixed rate gets none:
/// it is a promise never to exceed it.
fn opening_credit(settings: &RateSettings) -> u32 {
    if settings.adaptive {
        burst_at(settings.initial)
    } else {
        0
    }
}

/// [`OPENING_BURST`]'s worth of permits at `rate` per second.
fn burst_at(rate: f64) -> u32 {
    // Saturating: rates are validated finite and positive, and at most a few thousand.
    (rate * OPENING_BURST.as_secs_f64()).floor() as u32
}

/// Takes one permit from `credit` if any is left.
fn take_credit(credit: &std::sync::atomic::AtomicU32) -> bool {
    use std::sync::atomic::Ordering;
    credit.load(Ordering::Relaxed) > 0
        && credit
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(1)
            })
            .is_ok()
}

/// The rate policy of one budget (see the module documentation).
#[derive(Debug, Clone)]
pub struct RateController {
    settings: RateSettings,
    rate: f64,
    slow_start: bool,
    /// The next increase after the first cut: 5%, then 10%.
    probe_step: f64,
    /// Probing increases in a row whose windows had no throttling at all.
    calm_probes: u32,
    window_start: Instant,
    /// Whether any call has been answered yet.
    answered: bool,
    requests: u32,
    throttles: u32,
    limited: bool,
    /// Throttle fractions of recent windows that did not cut, and of learned noise.
    history: VecDeque<f64>,
    /// Set while cuts are being judged.
    cuts: Option<CutsUnderReview>,
    /// Set after cuts that went deep: the way back up.
    climb_back: Option<ClimbBack>,
    /// Calls per second the service accepted in the last window that did not cut.
    accepted_last: f64,
    /// Whether the rate was ever cut (slow start's first cut is the end of an overshoot).
    ever_cut: bool,
    /// Whether the last window throttled significantly more than a noisy usual level and was
    /// let pass without a cut, to be confirmed by the next (see [`NOISY_USUAL`]).
    awaiting_confirmation: bool,
}

/// A climb back after cuts that went deep (see [`RECOVERY_SHARE`]).
#[derive(Debug, Clone, Copy)]
struct ClimbBack {
    /// The rate to climb back to by doubling, as in slow start.
    target: f64,
    /// Whether the rate is climbing now; otherwise it waits for a window to try again in.
    climbing: bool,
    /// Climbs that were throttled before they got there.
    failed: u32,
    /// Windows since the last climb was throttled.
    windows_since_failure: u32,
}

impl ClimbBack {
    /// The windows to wait before climbing: none at first, then 2, 4, 8 and 16 after each
    /// throttled climb, as every try throttles about a window's worth of calls.
    fn wait(&self) -> u32 {
        match self.failed {
            0 => 0,
            failed => (1_u32 << failed.min(LONGEST_CLIMB_WAIT.ilog2())).min(LONGEST_CLIMB_WAIT),
        }
    }
}

/// The cuts made since the last window that did not cut.
#[derive(Debug, Clone, Copy)]
struct CutsUnderReview {
    /// The throttle fraction of the window that made the latest cut.
    fraction: f64,
    /// Cuts in a row after which throttling did not fall.
    fruitless: u32,
    /// Whether the first cut was made before any window had shown the usual level.
    blind: bool,
    /// Whether a window at the usual level has followed a blind cut (the next ends the review).
    calm_once: bool,
    /// The rate and phase to come back to if these cuts turn out to chase noise: before the
    /// first of them, or after the latest cut that lowered throttling.
    rate_before: f64,
    slow_start_before: bool,
    /// The rate before the first of these cuts.
    rate_at_first_cut: f64,
    /// Where to climb back to once these cuts are over (see [`RECOVERY_SHARE`]): half of the
    /// rate they began at, or of what the service accepted just before if less; `None` when
    /// they began in the first slow start (which overshoots, so the rate it began at says
    /// nothing of the quota) or in a climb back (whose rate was a guess).
    climb_back_to: Option<f64>,
}

/// What a controller decided at the end of a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateChange {
    /// The rate went up.
    Increased(f64),
    /// The rate went down.
    Decreased(f64),
}

impl RateController {
    /// A controller starting at `settings.initial`, its first window starting `now`.
    pub fn new(settings: RateSettings, now: Instant) -> Self {
        Self {
            settings,
            rate: settings.initial,
            slow_start: true,
            probe_step: FIRST_PROBE_STEP,
            calm_probes: 0,
            window_start: now,
            answered: false,
            requests: 0,
            throttles: 0,
            limited: false,
            history: VecDeque::with_capacity(HISTORY),
            cuts: None,
            climb_back: None,
            accepted_last: 0.0,
            ever_cut: false,
            awaiting_confirmation: false,
        }
    }

    /// The current rate, requests per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Notes that the limiter made a caller wait (the rate is the bottleneck).
    pub fn note_limited(&mut self) {
        self.limited = true;
    }

    /// Counts a call's result and, at the end of a window, decides on the rate.
    pub fn record(&mut self, now: Instant, throttled: bool) -> Option<RateChange> {
        if !self.answered {
            // The first window starts with the first answer, not when the budget was made
            // (AssumeRoot's is made before discovery): idle time says nothing of the rate.
            self.answered = true;
            self.window_start = now;
        }
        self.requests += 1;
        self.throttles += u32::from(throttled);
        let elapsed = now.saturating_duration_since(self.window_start);
        let doubling = self.slow_start || self.climbing();
        let quick = doubling
            && self.throttles == 0
            && elapsed >= SLOW_START_WINDOW
            && self.requests >= SLOW_START_MIN_SAMPLES;
        // Slow start keeps doubling while a service's burst allowance (a full token bucket)
        // answers everything, so when that runs dry the rate can be far above the quota, and
        // most calls are throttled until the first cut. That window is judged on as many
        // answers as any other, but as soon as they are in rather than after half a second
        // (at 200/s, a third of a second sooner).
        let overshot = doubling
            && self.throttles > 0
            && elapsed >= SLOW_START_WINDOW
            && self.requests >= MIN_SAMPLES;
        let enough = quick
            || overshot
            || (elapsed >= WINDOW && self.requests >= MIN_SAMPLES)
            || elapsed >= LONGEST_WINDOW;
        if !enough {
            return None;
        }
        let (requests, throttles, limited) = (self.requests, self.throttles, self.limited);
        // What the service confirmed in this window, per second: answers lag the calls by
        // their latency, so while the rate climbs this trails it.
        let seconds = elapsed.as_secs_f64().max(0.001);
        let confirmed = f64::from(requests - throttles) / seconds;
        self.reset_window(now);
        if !self.settings.adaptive {
            return None;
        }
        if let Some(climb) = &mut self.climb_back {
            climb.windows_since_failure = climb.windows_since_failure.saturating_add(1);
        }
        let fraction = f64::from(throttles) / f64::from(requests);
        let usual = self.usual();
        // Significantly above usual: by three standard errors of the usual level and at least
        // 2 points, with at least two throttles (one could be anybody's bad luck).
        let margin = (3.0 * (usual * (1.0 - usual) / f64::from(requests)).sqrt()).max(0.02);
        let significant = throttles >= 2 && fraction > usual + margin;
        if significant
            && usual >= NOISY_USUAL
            && !doubling
            && self.cuts.is_none()
            && !self.awaiting_confirmation
            && fraction <= usual + OVERWHELMING_MARGINS * margin
        {
            // Where throttling at random is usual, one window above it by three standard
            // errors comes by chance now and then (at 20% noise, 11 or more of 30 calls
            // throttled about once in 40 windows). Cut there, and the next window, back at the
            // usual level by chance alone, says the cut helped: it stands, and the rate probes
            // back up by 5 to 10% a window. One such cut after another held runs at a fifth of
            // the quota for seconds (`random_throttling_rarely_holds_a_run_far_below_the_quota`).
            // Two in a row are far rarer by chance, while throttling owed to the quota goes on:
            // wait for the next window. The rate does not grow meanwhile. (Not while cuts are
            // under review, whose windows are judged against each other, nor while doubling,
            // whose overshoot must come down at once.)
            self.awaiting_confirmation = true;
            return None;
        }
        self.awaiting_confirmation = false;

        if !significant {
            if let Some(review) = &mut self.cuts
                && review.blind
                && !review.calm_once
            {
                // One window at the usual level does not end cuts made before any window had
                // shown what usual is: under noise it is as likely luck (a fifth of 30 calls
                // throttled at random leaves 3 or fewer throttled one time in eight), and taken
                // for the end of them, the cuts stood and that lucky window alone became the
                // usual level, so that noise went on cutting from there: under 20% random
                // throttling the rate sank to a fifth of the quota for seconds. Over the quota,
                // the cut rate stays under it for the next window too, and a second calm window
                // ends the review as before. (After later cuts too, it would spare noise more
                // cuts, but a sweep that meets another one on the same quota then took the
                // contention for noise now and then, and ran far above its share.)
                review.calm_once = true;
            } else if let Some(review) = self.cuts.take() {
                // Throttling is back to usual after cuts that took the rate far below where they
                // began. The service accepted that rate before; what made it throttle (most
                // likely another caller of the same quota) may be gone. Climbing back by 5 or 10%
                // a window would take a minute from a tenth of it, and at low rates a window of
                // 30 answers lasts seconds: double instead, up to half of it, as TCP climbs back
                // to half its window after a loss.
                self.aim_climb_back(review.climb_back_to);
            }
            if let Some(climb) = &mut self.climb_back {
                if self.rate >= climb.target {
                    // Probing (or a restore after noise) got there first.
                    self.climb_back = None;
                } else if !climb.climbing && climb.windows_since_failure >= climb.wait() {
                    climb.climbing = true;
                }
            }
            self.accepted_last = confirmed;
            self.remember(fraction);
            if throttles > 0 {
                self.calm_probes = 0;
            }
            return if limited {
                self.increase(confirmed, seconds, throttles == 0)
            } else {
                None
            };
        }
        let mut review = match self.cuts.take() {
            Some(mut review) => {
                // Did the last cut lower throttling? Judged against the sampling error of two
                // windows' fractions (two standard errors of their difference), so that chance
                // alone rarely passes for either answer. (Not also "halfway down to the usual
                // level", against regression to the mean: the cuts that bring slow start's
                // overshoot down lower throttling step by step, each less than halfway, so that
                // rule counts them fruitless and the noise verdict restores the overshoot; see
                // docs/benchmarks.md, next step 8.)
                let error = (2.0 * fraction * (1.0 - fraction) / f64::from(requests)).sqrt();
                if fraction >= review.fraction - (2.0 * error).max(0.02) {
                    review.fruitless += 1;
                } else {
                    // It did: that cut was owed to the quota, so the rate to come back to, should
                    // the next cuts turn out to be chasing noise, is the one it led to.
                    review.rate_before = self.rate;
                    review.slow_start_before = false;
                }
                review
            }
            None => CutsUnderReview {
                fraction,
                fruitless: 0,
                blind: self.history.is_empty(),
                calm_once: false,
                rate_before: self.rate,
                slow_start_before: self.slow_start,
                rate_at_first_cut: self.rate,
                // Half of the rate, or of what the service accepted just before if that was
                // less: a slow start that doubled past the quota (after noise, say) began its
                // cuts at twice what was accepted, and climbing back to that would only
                // overshoot again.
                climb_back_to: ((self.ever_cut || !self.slow_start) && !self.climbing())
                    .then(|| self.rate.min(self.accepted_last) * RECOVERY_SHARE),
            },
        };
        if let Some(climb) = &mut self.climb_back
            && climb.climbing
        {
            // Throttled while climbing back: what was accepted before is not on offer yet
            // (the other caller is still there). Try again later, waiting longer each time.
            climb.climbing = false;
            climb.failed = climb.failed.saturating_add(1);
            climb.windows_since_failure = 0;
        }
        if review.fruitless >= 2 {
            // Cutting did not lower throttling: it does not depend on our rate. Learn its
            // level and take back the cuts it caused.
            self.remember(review.fraction);
            self.remember(fraction);
            let rate = review.rate_before.max(self.rate);
            // Coming back to less than the rate these cuts began at means one of them seemed to
            // lower throttling, which noise does by chance too: grow fast again (doubling), as
            // throttling above the level now learned will tell where the quota is. Probing up
            // by 5% would take seconds to win back what the cuts took.
            self.slow_start = review.slow_start_before || rate < review.rate_at_first_cut;
            let change = (rate > self.rate).then(|| {
                self.rate = rate;
                RateChange::Increased(rate)
            });
            // Whatever seemed to be noise may be another caller that comes and goes (two
            // cuts that hardly lower throttling are what a flood of its calls looks like):
            // the way back to where these cuts began stands.
            self.aim_climb_back(review.climb_back_to);
            return change;
        }
        review.fraction = fraction;
        review.calm_once = false;
        self.cuts = Some(review);
        self.slow_start = false;
        self.ever_cut = true;
        self.probe_step = FIRST_PROBE_STEP;
        self.calm_probes = 0;
        // What the service accepted, allowing for the throttling that happens anyway. The
        // callers may have sent less than the rate (it grows while any of them waits, not only
        // while all of them do, and late in slow start it can be far above what they send): then
        // the calls answered per second say more than the rate does, given enough of them. (A
        // per-account budget counts the answers of every account against one account's rate,
        // so there the rate is the smaller.)
        let sent = if requests >= MIN_SAMPLES {
            f64::from(requests) / seconds
        } else {
            self.rate
        };
        let accepted = self.rate.min(sent) * (1.0 - fraction) / (1.0 - usual).max(0.05);
        let rate = (accepted * CUT_HEADROOM)
            .min(self.rate * SMALLEST_CUT)
            .max(self.settings.min);
        (rate < self.rate).then(|| {
            self.rate = rate;
            RateChange::Decreased(rate)
        })
    }

    /// Grows the rate, `confirmed` being the calls per second the service just accepted over
    /// the window's `seconds`, `calm` whether none of its calls was throttled.
    fn increase(&mut self, confirmed: f64, seconds: f64, calm: bool) -> Option<RateChange> {
        let climb_to = self
            .climb_back
            .filter(|climb| climb.climbing && !self.slow_start)
            .map(|climb| climb.target);
        let target = if let Some(climb_to) = climb_to {
            // Climbing back after deep cuts: doubling, as slow start does, but only up to where
            // the cuts are known to have come from; probing resumes from there.
            let target = (self.rate * 2.0).min(2.0 * confirmed).min(climb_to);
            if target >= climb_to {
                self.climb_back = None;
                self.probe_step = FIRST_PROBE_STEP;
            }
            target
        } else if self.slow_start {
            // Double what the service confirmed, not the rate: windows are short next to the
            // latency, and doubling the rate again before the answers to the last doubling
            // are in would overshoot the quota by four or eight times (TCP's slow start grows
            // per acknowledgement for the same reason). Per-account budgets count the answers
            // of every account against one account's rate, so there this binds only with very
            // few accounts in flight, when an account's calls, made one after another, could
            // not go faster anyway.
            (self.rate * 2.0).min(2.0 * confirmed)
        } else {
            let mut target = (self.rate * (1.0 + self.probe_step)).max(self.rate + 0.5);
            if calm {
                self.calm_probes = self.calm_probes.saturating_add(1);
            }
            if calm && self.calm_probes > ACCELERATE_AFTER {
                // A window lasts until 30 answers are in, so at 8/s it lasts four seconds and
                // 10% a window is 2.5% a second: after another caller of the same quota held
                // the rate down, winning the quota back took a minute. Past a few windows in a
                // row without a throttle, grow by the step per half second instead, as a rate
                // with half-second windows does (at most doubling, and never past twice what
                // the service confirmed).
                let step = (self.probe_step * seconds / WINDOW.as_secs_f64()).min(1.0);
                target = target.max((self.rate * (1.0 + step)).min(2.0 * confirmed));
            }
            self.probe_step = (self.probe_step * 2.0).min(LAST_PROBE_STEP);
            target
        };
        let rate = target.min(self.settings.max);
        (rate > self.rate).then(|| {
            self.rate = rate;
            RateChange::Increased(rate)
        })
    }

    /// Sets the way back up after cuts to `target`, unless the rate is there already or a
    /// higher target is set.
    fn aim_climb_back(&mut self, target: Option<f64>) {
        if let Some(target) = target
            && self.rate < target
            && self.climb_back.is_none_or(|climb| target > climb.target)
        {
            self.climb_back = Some(ClimbBack {
                target,
                climbing: false,
                failed: 0,
                windows_since_failure: 0,
            });
        }
    }

    /// Whether the rate is climbing back after deep cuts (see [`RECOVERY_SHARE`]).
    fn climbing(&self) -> bool {
        self.climb_back.is_some_and(|climb| climb.climbing)
    }

    fn remember(&mut self, fraction: f64) {
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(fraction);
    }

    /// The usual throttle fraction: the lower quartile of the history (0 before there is any).
    /// Not the median: windows that throttled a little more than usual, without being judged
    /// significant, enter the history too, and with the median they would raise the usual
    /// level step by step until the rate sat far above the quota.
    fn usual(&self) -> f64 {
        if self.history.is_empty() {
            return 0.0;
        }
        let mut sorted: Vec<f64> = self.history.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 4].min(MOST_USUAL_THROTTLING)
    }

    fn reset_window(&mut self, now: Instant) {
        self.window_start = now;
        self.requests = 0;
        self.throttles = 0;
        self.limited = false;
    }
}

fn governor_limiter(rate: f64) -> DefaultDirectRateLimiter {
    // One permit per period and no burst: a steady pace, never a spike above the rate.
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::MIN);
    RateLimiter::direct_with_clock(quota, shared_clock())
}

/// One clock for every limiter. `RateLimiter::direct` makes a new `quanta` clock each time,
/// which calibrates itself with `cpuid` (a trap to the hypervisor on a virtual machine); a
/// sweep makes a limiter per account, and again whenever the per-account rate changes.
fn shared_clock() -> DefaultClock {
    static CLOCK: std::sync::OnceLock<DefaultClock> = std::sync::OnceLock::new();
    CLOCK.get_or_init(DefaultClock::default).clone()
}

/// The paced limiter and the generation of the rate it was built for.
#[derive(Debug)]
struct Pacer {
    limiter: Arc<DefaultDirectRateLimiter>,
    generation: u64,
}

#[derive(Debug)]
struct Shared {
    controller: RateController,
    generation: u64,
}

/// A shared adaptive budget (see the module documentation).
#[derive(Debug)]
pub struct AdaptiveLimiter {
    name: &'static str,
    state: Mutex<Shared>,
    pacer: Mutex<Pacer>,
    /// First attempts queue here (tokio's mutex is fair, so in order), so a busy budget does not
    /// wake every waiter at every permit.
    queue: tokio::sync::Mutex<()>,
    /// The head of `queue` and every retry take turns here. Retries skip `queue`: an account
    /// retrying a throttled call would otherwise wait behind every account started since it
    /// first tried, and end long after the rest.
    turn: tokio::sync::Mutex<()>,
    /// Callers waiting for a permit right now.
    waiting: std::sync::atomic::AtomicUsize,
    /// Permits left of the opening burst ([`opening_credit`]).
    credit: std::sync::atomic::AtomicU32,
}

impl AdaptiveLimiter {
    /// A budget named `name` (used in events and logs).
    pub fn new(name: &'static str, settings: RateSettings) -> Self {
        let controller = RateController::new(settings, Instant::now());
        let limiter = Arc::new(governor_limiter(controller.rate()));
        Self {
            name,
            state: Mutex::new(Shared {
                controller,
                generation: 0,
            }),
            pacer: Mutex::new(Pacer {
                limiter,
                generation: 0,
            }),
            queue: tokio::sync::Mutex::new(()),
            turn: tokio::sync::Mutex::new(()),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            credit: std::sync::atomic::AtomicU32::new(opening_credit(&settings)),
        }
    }

    /// How many callers are waiting for a permit right now: when some always are, the budget,
    /// not the number of callers, is what limits the pace.
    pub fn waiting(&self) -> usize {
        self.waiting.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The budget's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The current rate.
    pub fn rate(&self) -> f64 {
        lock(&self.state).controller.rate()
    }

    fn current_pacer(&self) -> Arc<DefaultDirectRateLimiter> {
        let (rate, generation) = {
            let state = lock(&self.state);
            (state.controller.rate(), state.generation)
        };
        let mut pacer = lock(&self.pacer);
        if pacer.generation != generation {
            pacer.limiter = Arc::new(governor_limiter(rate));
            pacer.generation = generation;
        }
        Arc::clone(&pacer.limiter)
    }

    /// Waits for a permit for a call's first attempt.
    pub async fn acquire(&self) {
        self.wait_for_permit(false).await;
    }

    /// Waits for a permit for a retry, ahead of the first attempts waiting.
    pub async fn acquire_retry(&self) {
        self.wait_for_permit(true).await;
    }

    async fn wait_for_permit(&self, retry: bool) {
        use std::sync::atomic::Ordering;
        /// Decrements the waiting count even if the caller's future is dropped mid-wait.
        struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        if take_credit(&self.credit) {
            return;
        }
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let _waiting = Waiting(&self.waiting);
        let _place = if retry {
            None
        } else {
            Some(self.queue.lock().await)
        };
        let _turn = self.turn.lock().await;
        let pacer = self.current_pacer();
        if pacer.check().is_err() {
            lock(&self.state).controller.note_limited();
            pacer.until_ready().await;
        }
    }

    /// Reports a call's result; returns the new rate if it changed.
    pub fn record(&self, throttled: bool) -> Option<RateChange> {
        let mut state = lock(&self.state);
        let change = state.controller.record(Instant::now(), throttled);
        if change.is_some() {
            state.generation += 1;
        }
        change
    }
}

/// One budget per member account, sharing one controller (see the module documentation).
#[derive(Debug)]
pub struct AccountBudgets {
    name: &'static str,
    state: Mutex<Shared>,
    /// Each account's opening burst ([`opening_credit`]): every account is new to the service.
    credit: u32,
}

/// One account's budget, handed out by [`AccountBudgets::for_account`]. An account's few calls
/// made at once (its listings) wait on the same limiter; they need no queue of their own.
#[derive(Debug)]
pub struct AccountBudget {
    budgets: Arc<AccountBudgets>,
    pacer: Mutex<Pacer>,
    credit: std::sync::atomic::AtomicU32,
    /// Calls of this account waiting for a permit (a hedge never takes one while any do).
    waiting: std::sync::atomic::AtomicU32,
}

impl AccountBudgets {
    /// Per-account budgets named `name`.
    pub fn new(name: &'static str, settings: RateSettings) -> Arc<Self> {
        Arc::new(Self {
            name,
            state: Mutex::new(Shared {
                controller: RateController::new(settings, Instant::now()),
                generation: 0,
            }),
            credit: opening_credit(&settings),
        })
    }

    /// The budgets' name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The current per-account rate.
    pub fn rate(&self) -> f64 {
        lock(&self.state).controller.rate()
    }

    /// A fresh budget for one account at the current rate.
    pub fn for_account(self: &Arc<Self>) -> AccountBudget {
        let (rate, generation) = {
            let state = lock(&self.state);
            (state.controller.rate(), state.generation)
        };
        AccountBudget {
            budgets: Arc::clone(self),
            pacer: Mutex::new(Pacer {
                limiter: Arc::new(governor_limiter(rate)),
                generation,
            }),
            // Half a second at the current rate, if that is less: once throttling has cut the
            // per-account rate below the initial one, a new account's burst would only be
            // throttled too.
            credit: std::sync::atomic::AtomicU32::new(self.credit.min(burst_at(rate))),
            waiting: std::sync::atomic::AtomicU32::new(0),
        }
    }

    fn record(&self, throttled: bool) -> Option<RateChange> {
        let mut state = lock(&self.state);
        let change = state.controller.record(Instant::now(), throttled);
        if change.is_some() {
            state.generation += 1;
        }
        change
    }
}

/// Counts a call as waiting for a permit for as long as it lives (dropped with a cancelled
/// wait too, so the count never leaks).
struct Waiting<'count>(&'count std::sync::atomic::AtomicU32);

impl<'count> Waiting<'count> {
    fn new(count: &'count std::sync::atomic::AtomicU32) -> Self {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl AccountBudget {
    /// Waits for a permit in this account.
    pub async fn acquire(&self) {
        if take_credit(&self.credit) {
            return;
        }
        let (rate, generation) = {
            let state = lock(&self.budgets.state);
            (state.controller.rate(), state.generation)
        };
        let limiter = {
            let mut pacer = lock(&self.pacer);
            if generation != pacer.generation {
                *pacer = Pacer {
                    limiter: Arc::new(governor_limiter(rate)),
                    generation,
                };
            }
            Arc::clone(&pacer.limiter)
        };
        if limiter.check().is_err() {
            lock(&self.budgets.state).controller.note_limited();
            let _waiting = Waiting::new(&self.waiting);
            limiter.until_ready().await;
        }
    }

    /// Takes a permit only if one is free at once and no call of the account is waiting for
    /// one (for a hedged read, which must never wait nor take a permit from a call that does).
    pub fn try_acquire(&self) -> bool {
        if self.waiting.load(std::sync::atomic::Ordering::Relaxed) > 0 {
            return false;
        }
        if take_credit(&self.credit) {
            return true;
        }
        let limiter = Arc::clone(&lock(&self.pacer).limiter);
        limiter.check().is_ok()
    }

    /// Reports a call's result; returns the new shared rate if it changed.
    pub fn record(&self, throttled: bool) -> Option<RateChange> {
        self.budgets.record(throttled)
    }

    /// The budgets' name.
    pub fn name(&self) -> &'static str {
        self.budgets.name
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Simulates a controller against a token-bucket service with quota `quota` per second,
    /// `noise` of calls throttled at random, and demand always above the rate. Returns the
    /// rates at the end of each simulated second and the throttle fraction after `settle` s.
    fn simulate(
        initial: f64,
        quota: f64,
        noise: f64,
        seconds: u32,
        settle: u32,
    ) -> (Vec<f64>, f64) {
        simulate_changing(initial, quota, noise, seconds, settle, |_| {
            Moment::default()
        })
    }

    /// What the world is like at one moment of a simulation.
    #[derive(Default)]
    struct Moment {
        /// Calls per second our callers send if that is below the rate; `None` when they
        /// always want more than the rate (the limiter is the bottleneck).
        demand: Option<f64>,
        /// Calls per second of the quota that another caller takes.
        others: f64,
        /// Calls per second that another caller sends whatever is throttled, competing with
        /// ours call for call: the quota is shared in proportion to the calls sent.
        flood: f64,
        /// The median seconds from a call to its answer (log-normal, the 99th percentile ten
        /// times the median, as in the benchmarks' profiles); 0 answers every call at once.
        /// With a latency, answers trail the calls, so a window's answers are to calls sent at
        /// the rate before the last change, as with a real service.
        latency: f64,
    }

    /// [`simulate`] in a world that changes with the simulated time in seconds.
    fn simulate_changing(
        initial: f64,
        quota: f64,
        noise: f64,
        seconds: u32,
        settle: u32,
        world: impl Fn(f64) -> Moment,
    ) -> (Vec<f64>, f64) {
        let run = simulate_seeded(initial, quota, noise, seconds, settle, world, 5);
        (run.rates, run.throttled)
    }

    /// What one run of [`simulate_seeded`] saw.
    struct Run {
        /// The rate at the end of each simulated second.
        rates: Vec<f64>,
        /// The share of calls throttled after the settling time.
        throttled: f64,
        /// Calls the service accepted in each simulated second.
        accepted: Vec<u32>,
    }

    /// [`simulate_changing`] with its random numbers drawn from `seed`.
    fn simulate_seeded(
        initial: f64,
        quota: f64,
        noise: f64,
        seconds: u32,
        settle: u32,
        world: impl Fn(f64) -> Moment,
        seed: u64,
    ) -> Run {
        let start = Instant::now();
        let mut controller = RateController::new(RateSettings::adaptive(initial, 5_000.0), start);
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut accepted = vec![0; seconds as usize + 1];
        let mut tokens = quota;
        let mut time = 0.0_f64;
        let mut rates = Vec::new();
        let (mut late_calls, mut late_throttles) = (0u32, 0u32);
        let mut next_second = 1.0;
        // Answers not in yet: when each comes (in nanoseconds, to order them) and whether it
        // is a throttle.
        let mut pending: std::collections::BinaryHeap<std::cmp::Reverse<(u64, bool)>> =
            std::collections::BinaryHeap::new();
        let nanos = |seconds: f64| (seconds * 1e9) as u64;
        while time < f64::from(seconds) {
            let moment = world(time);
            let rate = controller.rate();
            let sent = moment.demand.map_or(rate, |demand| demand.min(rate));
            let step = 1.0 / sent;
            time += step;
            tokens = (tokens + step * (quota - moment.others)).clamp(0.0, quota);
            if moment.demand.is_none_or(|demand| demand >= rate) {
                controller.note_limited();
            }
            let throttled = if rng.f64() < noise {
                true
            } else if moment.flood > 0.0 {
                rng.f64() >= quota / (moment.flood + sent)
            } else {
                !take_token(&mut tokens)
            };
            if time > f64::from(settle) {
                late_calls += 1;
                late_throttles += u32::from(throttled);
            }
            if !throttled && let Some(second) = accepted.get_mut(time as usize) {
                *second += 1;
            }
            while let Some(std::cmp::Reverse((answered, throttled))) = pending
                .peek()
                .copied()
                .filter(|std::cmp::Reverse((answered, _))| *answered <= nanos(time))
            {
                pending.pop();
                controller.record(start + Duration::from_nanos(answered), throttled);
            }
            if moment.latency > 0.0 {
                // Log-normal by Box-Muller; sigma such that the 99th percentile is ten times
                // the median.
                let normal = (-2.0 * (1.0 - rng.f64()).ln()).sqrt()
                    * (std::f64::consts::TAU * rng.f64()).cos();
                let latency = moment.latency * (10f64.ln() / 2.326 * normal).exp();
                pending.push(std::cmp::Reverse((nanos(time + latency), throttled)));
            } else {
                controller.record(start + Duration::from_secs_f64(time), throttled);
            }
            if time >= next_second {
                rates.push(controller.rate());
                next_second += 1.0;
            }
        }
        accepted.truncate(seconds as usize);
        Run {
            rates,
            throttled: f64::from(late_throttles) / f64::from(late_calls.max(1)),
            accepted,
        }
    }

    /// Takes a token from a simulated bucket holding `tokens`, if it holds a whole one.
    fn take_token(tokens: &mut f64) -> bool {
        let taken = *tokens >= 1.0;
        if taken {
            *tokens -= 1.0;
        }
        taken
    }

    /// Starting rates and quotas to simulate: the dynamics are chaotic (where the sawtooth
    /// lands depends on the start), so a grid, not one lucky pair, plus a start far below the
    /// quota and one far above it.
    fn grid() -> impl Iterator<Item = (f64, f64)> {
        let quotas = [20.0, 37.0, 100.0, 230.0, 500.0];
        let starts = (0..12).map(|step| 10.0 + f64::from(step) * 17.0);
        starts
            .flat_map(move |initial| quotas.map(|quota| (initial, quota)))
            .chain([(20.0, 500.0), (200.0, 20.0)])
    }

    fn average(rates: &[f64]) -> f64 {
        rates.iter().sum::<f64>() / rates.len() as f64
    }

    #[test]
    fn the_rate_finds_an_unknown_quota_quickly_and_stays_near_it() {
        // Every pair of the grid must hold the bounds.
        for (initial, quota) in grid() {
            let (rates, throttled) = simulate(initial, quota, 0.0, 60, 10);
            let late = average(&rates[10..]);
            assert!(
                (0.85 * quota..=1.15 * quota).contains(&late),
                "start {initial}, quota {quota}: average rate {late}, rates {rates:?}"
            );
            assert!(
                throttled < 0.05,
                "start {initial}, quota {quota}: {throttled} throttled, rates {rates:?}"
            );
        }
    }

    #[test]
    fn the_overshoot_of_slow_start_costs_under_a_quarter_of_the_first_ten_seconds_calls() {
        // Slow start doubles until the service's bucket runs dry, so it overshoots; what it
        // costs is how long the first cut takes. Judged after half a second, as it was before
        // the overshooting window was judged on its first 30 answers, the worst pair of this
        // grid had 47% of its first ten seconds' calls throttled; now 23%.
        for (initial, quota) in grid() {
            let (rates, throttled) = simulate(initial, quota, 0.0, 10, 0);
            assert!(
                throttled < 0.25,
                "start {initial}, quota {quota}: {throttled} of all calls throttled, rates {rates:?}"
            );
        }
    }

    /// A quota of 100/s that another caller takes 85 of from 20 s to `until` s, while ours
    /// send at most 30 calls a second; before and after, ours want more than the rate.
    fn shared_quota(until: f64) -> impl Fn(f64) -> Moment {
        move |time| {
            if (20.0..until).contains(&time) {
                Moment {
                    demand: Some(30.0),
                    others: 85.0,
                    ..Moment::default()
                }
            } else {
                Moment::default()
            }
        }
    }

    #[test]
    fn after_another_caller_took_most_of_the_quota_the_rate_climbs_back_within_seconds() {
        // While the quota is shared, about half of our calls are throttled and the rate is cut
        // to what was accepted, about 15/s. A climb back tried while the other caller is still
        // there is throttled and cut again; the next one, after it stopped, gets through.
        // Probing up by 10% a window instead, in windows of 30 answers (2 s each at 15/s), the
        // rate took 17 s to get back to half the quota; climbing back by doubling to half of
        // where the cuts began, it is there within 5 s, and then settles near the quota
        // without the sawtooth throttling more than it does anyway.
        let quota = 100.0;
        let (rates, throttled) = simulate_changing(100.0, quota, 0.0, 65, 40, shared_quota(30.0));
        // `rates[n]` is the rate at n + 1 seconds.
        assert!(
            rates[21] < 20.0,
            "the cuts while the quota was shared: rates {rates:?}"
        );
        assert!(
            rates[34] >= 0.5 * quota,
            "five seconds after the other caller stopped: rates {rates:?}"
        );
        let settled = average(&rates[45..]);
        assert!(
            (0.85 * quota..=1.15 * quota).contains(&settled),
            "average rate {settled} from 45 s: rates {rates:?}"
        );
        assert!(
            throttled < 0.05,
            "{throttled} throttled after 40 s: rates {rates:?}"
        );
    }

    #[test]
    fn climbs_back_while_the_quota_stays_shared_throttle_few_calls() {
        // The other caller stays for good. Every climb back is throttled; as each waits twice
        // as many windows as the last (up to 16), they cost a few percent of the calls on top
        // of what probing near the share costs anyway (6.7% of calls throttled after 30 s,
        // against 3.6% with no climbs at all; 21% when every calm window tried again).
        let quota = 100.0;
        let (rates, throttled) =
            simulate_changing(100.0, quota, 0.0, 120, 30, shared_quota(f64::INFINITY));
        assert!(
            throttled < 0.10,
            "{throttled} throttled after 30 s: rates {rates:?}"
        );
        let settled = average(&rates[30..]);
        assert!(
            (0.8 * 15.0..=1.3 * 15.0).contains(&settled),
            "average rate {settled} from 30 s with 15/s left: rates {rates:?}"
        );
    }

    #[test]
    fn a_caller_flooding_the_same_quota_is_not_taken_for_noise_and_outrun() {
        // Another caller sends 300 calls a second from 20 s to 80 s whatever is throttled (a
        // fixed-rate script, or a tool whose retries pile up). Cutting our rate barely lowers
        // the share of our calls throttled (75% at 100/s, 70% at 30/s), so it looks like
        // noise; but throttling at that level is not noise to run above the quota through: the
        // rate must not grow while it lasts (taking it as noise, the rate crept up to 635/s,
        // each window a little more throttled than the last), and once it ends it must win
        // the quota back.
        let quota = 100.0;
        let (rates, _) = simulate_changing(100.0, quota, 0.0, 110, 20, |time| Moment {
            flood: if (20.0..80.0).contains(&time) {
                300.0
            } else {
                0.0
            },
            ..Moment::default()
        });
        let highest = rates[25..80].iter().copied().fold(0.0, f64::max);
        assert!(
            highest <= 1.3 * quota,
            "the rate rose to {highest} while another caller flooded the quota: rates {rates:?}"
        );
        let settled = average(&rates[95..]);
        assert!(
            (0.85 * quota..=1.15 * quota).contains(&settled),
            "average rate {settled} from 95 s: rates {rates:?}"
        );
    }

    #[test]
    fn random_throttling_rarely_holds_a_run_far_below_the_quota() {
        // `random_throttling_is_not_mistaken_for_the_quota` averages one run; whether noise is
        // told from the quota depends on which windows happen to throttle more, so 200 runs
        // are simulated here, each from 100/s for 30 s, and what counts is the share of the
        // quota's calls accepted from the third second on (the first two are the start, where
        // noise and quota cannot be told apart yet), in the worst twentieth of the runs: a few
        // runs in a hundred at a fraction of the quota is what made an ar100-noisy benchmark
        // run slow now and then. Before blind cuts were kept under review, the worst 10 runs
        // averaged 75%, 75%, 59% and 42% of the quota in the first four worlds; with that, 83%,
        // 93%, 59% and 51%, and the worst single runs still sank, to 18% at 100/s, as one chance
        // cut after another stood. Since a window above a noisy usual level must be followed by
        // a second before it cuts, 92%, 94%, 70% and 62%, and the worst run at 100/s gets 71%.
        // The last two worlds answer 30 ms after each call, as the benchmarks' emulator does
        // (see `answers_that_trail_the_calls_by_a_latency_still_find_the_quota`): 87% and 57%
        // (83% and 54% before).
        for (quota, noise, latency, tail, worst) in [
            (100.0, 0.2, 0.0, 0.88, 0.60),
            (100.0, 0.1, 0.0, 0.91, 0.85),
            (20.0, 0.2, 0.0, 0.67, 0.50),
            (500.0, 0.2, 0.0, 0.58, 0.20),
            (100.0, 0.2, 0.03, 0.84, 0.60),
            (500.0, 0.2, 0.03, 0.54, 0.30),
        ] {
            let world = |_| Moment {
                latency,
                ..Moment::default()
            };
            let mut shares: Vec<f64> = (1..=200)
                .map(|seed| {
                    let run = simulate_seeded(100.0, quota, noise, 30, 2, world, seed);
                    let accepted: u32 = run.accepted[2..].iter().sum();
                    f64::from(accepted) / (quota * 28.0)
                })
                .collect();
            shares.sort_by(f64::total_cmp);
            let worst_twentieth = average(&shares[..10]);
            assert!(
                worst_twentieth >= tail,
                "quota {quota}, noise {noise}, latency {latency}: the worst twentieth of the \
                 runs got {worst_twentieth} of the quota's calls accepted; all of them: \
                 {shares:?}"
            );
            assert!(
                shares[0] >= worst,
                "quota {quota}, noise {noise}, latency {latency}: the worst run got {} of the \
                 quota's calls accepted",
                shares[0]
            );
            assert!(
                average(&shares) >= 0.93,
                "quota {quota}, noise {noise}, latency {latency}: {} of the quota's calls \
                 accepted on average",
                average(&shares)
            );
        }
    }

    #[test]
    fn answers_that_trail_the_calls_by_a_latency_still_find_the_quota() {
        // The other simulations answer every call at once. A real service answers after tens
        // of milliseconds, and the emulator after a log-normal draw (a median of 30 ms, the
        // 99th percentile 300 ms in most profiles): a window's first answers are then to calls
        // sent at the rate before its last change, and slow start doubles on answers that
        // trail its calls. Over the grid, with a median of 30 ms and of 100 ms, every pair must
        // still average within 15% of the quota after 10 s, but the sawtooth throttles more
        // than with answers at once: when this was written, at most 6.0% (30 ms) and 6.6%
        // (100 ms) of the calls after 10 s, against 4.5%, and at most 30% and 36% of the first
        // ten seconds' calls, against 23%. (Leaving out answers to calls sent before the last
        // cut brought 30 ms under 5% and 25%, but held runs under random throttling far lower:
        // docs/benchmarks.md, "Answers that trail the calls".)
        for latency in [0.03, 0.1] {
            let world = |_| Moment {
                latency,
                ..Moment::default()
            };
            for (initial, quota) in grid() {
                let run = simulate_seeded(initial, quota, 0.0, 60, 10, world, 5);
                let late = average(&run.rates[10..]);
                assert!(
                    (0.85 * quota..=1.15 * quota).contains(&late),
                    "latency {latency}, start {initial}, quota {quota}: average rate {late}, \
                     rates {:?}",
                    run.rates
                );
                assert!(
                    run.throttled < 0.07,
                    "latency {latency}, start {initial}, quota {quota}: {} throttled after \
                     10 s, rates {:?}",
                    run.throttled,
                    run.rates
                );
                let opening = simulate_seeded(initial, quota, 0.0, 10, 0, world, 5);
                assert!(
                    opening.throttled < 0.40,
                    "latency {latency}, start {initial}, quota {quota}: {} of the first ten \
                     seconds' calls throttled, rates {:?}",
                    opening.throttled,
                    opening.rates
                );
            }
        }
    }

    #[test]
    fn random_throttling_is_not_mistaken_for_the_quota() {
        // 20% of calls throttled whatever the rate, under a quota of 100/s. Throttled calls use
        // no quota, so the best rate is 100 / 0.8 = 125/s. Erring above it costs throttles, not
        // throughput; erring below costs throughput, so below is what must not happen.
        for initial in (0..12)
            .map(|step| 10.0 + f64::from(step) * 17.0)
            .chain([300.0])
        {
            let (rates, _) = simulate(initial, 100.0, 0.2, 60, 10);
            let late = average(&rates[10..]);
            assert!(
                (0.9 * 125.0..=1.5 * 125.0).contains(&late),
                "start {initial}: average {late}, rates {rates:?}"
            );
        }
    }

    /// One caller of [`simulate_callers`]: it sends from `starts` to `ends` (simulated seconds).
    #[derive(Clone, Copy)]
    struct Caller {
        starts: f64,
        ends: f64,
    }

    /// Simulates callers that each run their own controller, all starting at `initial` and
    /// wanting more than their rate while they run, against one token-bucket quota of `quota`
    /// a second holding a second's worth. Returns each caller's rate at the end of each
    /// simulated second (0 while it does not run) and the share of all calls throttled after
    /// `settle` s.
    fn simulate_callers(
        initial: f64,
        quota: f64,
        callers: &[Caller],
        seconds: u32,
        settle: u32,
        seed: u64,
    ) -> (Vec<Vec<f64>>, f64) {
        let start = Instant::now();
        let at = |time: f64| start + Duration::from_secs_f64(time);
        let mut controllers: Vec<RateController> = callers
            .iter()
            .map(|caller| {
                RateController::new(RateSettings::adaptive(initial, 5_000.0), at(caller.starts))
            })
            .collect();
        let mut next_call: Vec<f64> = callers.iter().map(|caller| caller.starts).collect();
        let mut rates = vec![Vec::new(); callers.len()];
        let (mut tokens, mut time, mut next_second) = (quota, 0.0_f64, 1.0);
        let (mut late_calls, mut late_throttles) = (0u32, 0u32);
        let mut rng = fastrand::Rng::with_seed(seed);
        while time < f64::from(seconds) {
            let (index, &when) = next_call
                .iter()
                .enumerate()
                .min_by(|left, right| left.1.total_cmp(right.1))
                .expect("at least one caller");
            while when >= next_second {
                for ((caller_rates, controller), caller) in
                    rates.iter_mut().zip(&controllers).zip(callers)
                {
                    let running = (caller.starts..caller.ends).contains(&next_second);
                    caller_rates.push(if running { controller.rate() } else { 0.0 });
                }
                next_second += 1.0;
            }
            tokens = (tokens + (when - time) * quota).min(quota);
            time = when;
            if time >= callers[index].ends {
                next_call[index] = f64::INFINITY;
                continue;
            }
            let throttled = !take_token(&mut tokens);
            if time > f64::from(settle) {
                late_calls += 1;
                late_throttles += u32::from(throttled);
            }
            let controller = &mut controllers[index];
            controller.note_limited();
            controller.record(at(time), throttled);
            // Jittered, so that no caller's calls stay in step with the bucket's refill.
            next_call[index] = time + (0.5 + rng.f64()) / controller.rate();
        }
        (
            rates,
            f64::from(late_throttles) / f64::from(late_calls.max(1)),
        )
    }

    #[test]
    fn a_rate_held_low_by_another_caller_wins_the_quota_back_soon_after_it_leaves() {
        // Another caller takes 90 of a 100/s quota for our first minute, so our first slow
        // start is cut to about 10/s (no climb back: its rate was a guess, not a quota seen).
        // At 10/s a window of 30 answers lasts three seconds, and probing by 10% a window
        // took 27 s to get back to half the quota once the other caller left. After three
        // windows without a throttle, probing grows per half second instead: 15 s.
        let (rates, throttled) = simulate_changing(100.0, 100.0, 0.0, 120, 0, |time| Moment {
            others: if time < 60.0 { 90.0 } else { 0.0 },
            ..Moment::default()
        });
        let held = average(&rates[20..60]);
        assert!(
            (8.0..=13.0).contains(&held),
            "average rate {held} while 10/s was left: rates {rates:?}"
        );
        // `rates[n]` is the rate at n + 1 seconds.
        let half = rates[60..].iter().position(|&rate| rate >= 50.0);
        assert!(
            half.is_some_and(|seconds| seconds <= 20),
            "half the quota {half:?} s after the other caller left: rates {rates:?}"
        );
        let settled = average(&rates[90..]);
        assert!(
            (85.0..=115.0).contains(&settled),
            "average rate {settled} from 90 s: rates {rates:?}"
        );
        assert!(throttled < 0.08, "{throttled} throttled: rates {rates:?}");
    }

    #[test]
    fn two_sweeps_on_one_quota_keep_it_busy_and_the_one_left_takes_it_back() {
        // Sweep A runs alone for 40 s, then B starts, then A ends at 100 s. The two are not
        // fair to each other: B meets a quota A already fills, its first slow start is cut to
        // what it got, and a low rate, with its long windows, grows slower than a high one
        // (the shares after 20 s vary from seed to seed, B's from a tenth to most of the
        // quota). What must hold: together they use the quota and no more, and once A ends,
        // B takes the quota back within seconds (half of it in 26 s at most over these eight
        // seeds, against 61 s before probing sped up after calm windows).
        for quota in [100.0, 500.0] {
            for seed in 1..=8 {
                let callers = [
                    Caller {
                        starts: 0.0,
                        ends: 100.0,
                    },
                    Caller {
                        starts: 40.0,
                        ends: f64::INFINITY,
                    },
                ];
                let (rates, throttled) = simulate_callers(100.0, quota, &callers, 160, 40, seed);
                let together = average(&rates[0][60..100]) + average(&rates[1][60..100]);
                assert!(
                    (0.9 * quota..=1.15 * quota).contains(&together),
                    "quota {quota}, seed {seed}: {together}/s together from 60 s to 100 s"
                );
                assert!(
                    throttled < 0.06,
                    "quota {quota}, seed {seed}: {throttled} of the calls throttled after 40 s"
                );
                let half = rates[1][100..].iter().position(|&rate| rate >= 0.5 * quota);
                assert!(
                    half.is_some_and(|seconds| seconds <= 30),
                    "quota {quota}, seed {seed}: B at half the quota {half:?} s after A \
                     ended, rates {:?}",
                    &rates[1][100..]
                );
            }
        }
    }

    /// Feeds one window of `calls` calls, `throttled` of them throttled, spread over `length`
    /// from `*at`, with the limiter the bottleneck; returns the decision.
    fn window(
        controller: &mut RateController,
        at: &mut Instant,
        length: Duration,
        calls: u32,
        throttled: u32,
    ) -> Option<RateChange> {
        let step = length / calls;
        let mut change = None;
        for call in 0..calls {
            *at += step;
            controller.note_limited();
            change = controller.record(*at, call < throttled).or(change);
        }
        change
    }

    #[test]
    fn slow_start_doubles_what_the_service_confirmed_from_the_first_answer_on() {
        let created = Instant::now();
        let mut controller = RateController::new(RateSettings::adaptive(100.0, 5_000.0), created);
        // Two idle seconds (discovery) before the first answer do not count...
        let mut at = created + Duration::from_secs(2);
        controller.record(at, false);
        // ...so ten answers in a tenth of a second (110/s with the first), keeping up with the
        // rate, double it.
        let tenth = Duration::from_millis(100);
        let change = window(&mut controller, &mut at, tenth, 10, 0);
        assert_eq!(change, Some(RateChange::Increased(200.0)));
        // 16 answers in the next tenth confirm 160/s, trailing the new rate: it grows to twice
        // what they confirm (320/s), not to twice itself (400/s).
        let change = window(&mut controller, &mut at, tenth, 16, 0);
        assert!(
            matches!(change, Some(RateChange::Increased(rate)) if (rate - 320.0).abs() < 0.1),
            "{change:?}"
        );
        // Answers confirming less than half the rate leave it where it is (growth never cuts).
        let change = window(&mut controller, &mut at, tenth, 10, 0);
        assert_eq!(change, None);
        assert!((controller.rate() - 320.0).abs() < 0.1);
    }

    /// A controller starting at `initial` whose first answer (unthrottled) has just come, and
    /// the time of it.
    fn answered_once_at(initial: f64) -> (RateController, Instant) {
        let at = Instant::now();
        let mut controller = RateController::new(RateSettings::adaptive(initial, 5_000.0), at);
        controller.record(at, false);
        (controller, at)
    }

    #[test]
    fn an_overshoot_in_slow_start_is_cut_as_soon_as_thirty_answers_are_in() {
        let (mut controller, mut at) = answered_once_at(200.0);
        // 29 answers in 145 ms (the first one above, which starts the window, and 28 more),
        // most of them throttled: not enough to judge yet...
        let change = window(&mut controller, &mut at, Duration::from_millis(145), 28, 20);
        assert_eq!(change, None);
        // ...the 30th is, a third of a second before a regular window would end.
        at += Duration::from_millis(5);
        let change = controller.record(at, true);
        assert!(
            matches!(change, Some(RateChange::Decreased(rate)) if rate < 100.0),
            "{change:?}"
        );
    }

    #[test]
    fn a_cut_follows_what_the_callers_sent_when_they_sent_less_than_the_rate() {
        let (mut controller, mut at) = answered_once_at(200.0);
        // The rate is 200/s, but the callers sent 60/s, and half of that was throttled: the
        // service accepted about 30/s, not the 100/s that half the rate would say.
        let change = window(&mut controller, &mut at, Duration::from_millis(500), 30, 15);
        assert!(
            matches!(change, Some(RateChange::Decreased(rate)) if (25.0..=32.0).contains(&rate)),
            "{change:?}"
        );
        // With few answers (a long quiet window) the rate is the better guide.
        let (mut controller, mut at) = answered_once_at(200.0);
        let change = window(&mut controller, &mut at, Duration::from_millis(5_400), 6, 3);
        assert!(
            matches!(change, Some(RateChange::Decreased(rate)) if rate > 90.0),
            "{change:?}"
        );
    }

    #[test]
    fn noise_learned_after_a_cut_that_seemed_to_help_grows_back_fast() {
        let mut at = Instant::now();
        let mut controller = RateController::new(RateSettings::adaptive(100.0, 5_000.0), at);
        let half = Duration::from_millis(500);
        // The first answer starts the first window.
        controller.record(at, false);
        // Half the calls throttled in slow start: judged once 30 are in, cut to what was
        // accepted.
        let first = window(&mut controller, &mut at, Duration::from_millis(300), 30, 15);
        assert!(matches!(first, Some(RateChange::Decreased(_))), "{first:?}");
        // Throttling fell (by chance, as it turns out), yet still well above usual: cut again,
        // and this rate is the one to come back to.
        let lowered_to = controller.rate();
        window(&mut controller, &mut at, half, 40, 4);
        assert!(controller.rate() < lowered_to);
        // Twice more it stays where it was: that is noise. Its level is learned, and the rate
        // comes back to where the cut that seemed to help left it...
        window(&mut controller, &mut at, half, 40, 4);
        window(&mut controller, &mut at, half, 40, 4);
        assert_eq!(controller.rate(), lowered_to);
        // ...and grows from there by doubling, not by 5% steps: the cuts took half the rate.
        // (Back in slow start, a window with throttles in it is judged once 30 answers are in.)
        window(&mut controller, &mut at, Duration::from_millis(375), 30, 3);
        assert_eq!(controller.rate(), 2.0 * lowered_to);
    }

    #[test]
    fn a_lucky_window_between_cuts_does_not_let_noise_pass_for_the_quota() {
        let (mut controller, mut at) = answered_once_at(100.0);
        // A little over half a second, so that each window ends with its 30th call.
        let half = Duration::from_millis(510);
        // A fifth of the calls throttled at random from the start: the first window cuts, as
        // nothing tells noise from the quota yet...
        let first = window(&mut controller, &mut at, Duration::from_millis(290), 29, 6);
        assert!(matches!(first, Some(RateChange::Decreased(_))), "{first:?}");
        // ...then one of 30 calls throttled, by luck. That does not end the cuts: the first
        // was made before the usual level was known...
        window(&mut controller, &mut at, half, 30, 1);
        // ...so when throttling is back at a fifth, that cut did not lower it. Cut again...
        let second = window(&mut controller, &mut at, half, 30, 7);
        assert!(
            matches!(second, Some(RateChange::Decreased(_))),
            "{second:?}"
        );
        // ...and again throttling stays where it was: noise. Both cuts are taken back. (Had
        // the lucky window ended the first cut's review, it would have stood, and the rate
        // would now be half of where it began.)
        let restored = window(&mut controller, &mut at, half, 30, 6);
        assert_eq!(restored, Some(RateChange::Increased(100.0)));
    }

    /// A controller from 100/s, past slow start, with `usual` of calls throttled as usual.
    fn past_slow_start_with_usual(usual: f64) -> (RateController, Instant) {
        let (mut controller, at) = answered_once_at(100.0);
        controller.slow_start = false;
        controller.ever_cut = true;
        controller.history.extend([usual; HISTORY]);
        (controller, at)
    }

    #[test]
    fn where_noise_is_usual_a_cut_waits_for_a_second_window_above_it() {
        // Past slow start, a fifth of the calls throttled at random learned as usual.
        let (mut controller, mut at) = past_slow_start_with_usual(0.2);
        let half = Duration::from_millis(510);
        let rate = controller.rate();
        // 14 of 30 throttled is significantly more than a fifth (by three standard errors),
        // but one such window comes by chance now and then: no cut, and no growth either.
        assert_eq!(window(&mut controller, &mut at, half, 30, 14), None);
        assert_eq!(controller.rate(), rate);
        // Back at the usual level: it was chance.
        window(&mut controller, &mut at, half, 30, 6);
        let rate = controller.rate();
        assert_eq!(window(&mut controller, &mut at, half, 30, 14), None);
        // Two such windows in a row are not chance: the second cuts.
        let cut = window(&mut controller, &mut at, half, 30, 14);
        assert!(matches!(cut, Some(RateChange::Decreased(_))), "{cut:?}");
        assert!(controller.rate() < rate);
        // Nor is a window throttled overwhelmingly more: it cuts at once.
        let (mut controller, mut at) = past_slow_start_with_usual(0.2);
        let cut = window(&mut controller, &mut at, half, 30, 27);
        assert!(matches!(cut, Some(RateChange::Decreased(_))), "{cut:?}");
        // Where nothing is throttled but for the quota, one window cuts, as before.
        let (mut controller, mut at) = past_slow_start_with_usual(0.0);
        let cut = window(&mut controller, &mut at, half, 30, 3);
        assert!(matches!(cut, Some(RateChange::Decreased(_))), "{cut:?}");
    }

    #[test]
    fn the_rate_does_not_grow_without_demand() {
        let start = Instant::now();
        let mut controller = RateController::new(RateSettings::adaptive(10.0, 1_000.0), start);
        for second in 1..=30 {
            for call in 0..5 {
                let at = start + Duration::from_secs(second) + Duration::from_millis(call * 100);
                controller.record(at, false);
            }
        }
        assert_eq!(controller.rate(), 10.0);
    }

    #[test]
    fn fixed_rates_never_change_and_settings_are_checked() {
        let start = Instant::now();
        let mut controller = RateController::new(RateSettings::fixed(7.0), start);
        for n in 0..1_000u64 {
            controller.note_limited();
            controller.record(start + Duration::from_millis(n * 10), n % 2 == 0);
        }
        assert_eq!(controller.rate(), 7.0);
        assert!(RateSettings::adaptive(10.0, 5.0).validate("x").is_err());
        assert!(
            RateSettings {
                initial: f64::NAN,
                ..RateSettings::default()
            }
            .validate("x")
            .is_err()
        );
        assert!(RateSettings::default().validate("x").is_ok());
    }

    #[tokio::test]
    async fn an_adaptive_budget_spends_half_a_second_of_its_initial_rate_at_once() {
        let limiter = AdaptiveLimiter::new("test", RateSettings::adaptive(20.0, 1_000.0));
        // Ten permits (half a second at 20/s) without waiting, so the rate was not the limit...
        for _ in 0..10 {
            limiter.acquire().await;
        }
        assert!(!lock(&limiter.state).controller.limited);
        // ...then the pace: the limiter's one permit, and the next caller waits.
        limiter.acquire().await;
        assert!(!lock(&limiter.state).controller.limited);
        limiter.acquire().await;
        assert!(lock(&limiter.state).controller.limited);
    }

    #[tokio::test]
    async fn every_account_gets_its_own_opening_burst() {
        let budgets = AccountBudgets::new("test", RateSettings::adaptive(20.0, 1_000.0));
        for _ in 0..2 {
            let budget = budgets.for_account();
            for _ in 0..11 {
                budget.acquire().await;
            }
            // Ten from the opening burst and one from the pacer: nobody waited.
            assert!(!lock(&budgets.state).controller.limited);
        }
        let budget = budgets.for_account();
        for _ in 0..12 {
            budget.acquire().await;
        }
        assert!(lock(&budgets.state).controller.limited);
        // Once throttling has cut the per-account rate to 4/s, a new account's burst is two.
        lock(&budgets.state).controller.rate = 4.0;
        assert_eq!(
            budgets
                .for_account()
                .credit
                .load(std::sync::atomic::Ordering::Relaxed),
            2
        );
        // A fixed rate never goes over itself, not even at first.
        assert_eq!(opening_credit(&RateSettings::fixed(1_000.0)), 0);
    }

    #[tokio::test]
    async fn a_hedge_takes_only_a_free_permit_nobody_waits_for() {
        use std::sync::atomic::Ordering;
        // A fixed 2/s: no opening burst, one permit at once, then one every 500 ms.
        let budgets = AccountBudgets::new("test", RateSettings::fixed(2.0));
        let budget = Arc::new(budgets.for_account());
        assert!(budget.try_acquire(), "the pacer's first permit is free");
        assert!(
            !budget.try_acquire(),
            "the next is 500 ms away, and a hedge never waits"
        );
        // A call of the account waits for that permit, and is counted while it does.
        let waiter = tokio::spawn({
            let budget = Arc::clone(&budget);
            async move { budget.acquire().await }
        });
        while budget.waiting.load(Ordering::Relaxed) == 0 && !waiter.is_finished() {
            tokio::task::yield_now().await;
        }
        assert_eq!(budget.waiting.load(Ordering::Relaxed), 1);
        waiter.await.expect("the waiting call gets its permit");
        assert_eq!(budget.waiting.load(Ordering::Relaxed), 0, "no count leaks");
        // While a call waits, even a permit that is free is left to it.
        let budget =
            AccountBudgets::new("test", RateSettings::adaptive(20.0, 1_000.0)).for_account();
        budget.waiting.store(1, Ordering::Relaxed);
        assert!(!budget.try_acquire());
        budget.waiting.store(0, Ordering::Relaxed);
        assert!(budget.try_acquire(), "the opening burst is free at once");
    }

    #[tokio::test]
    async fn the_shared_limiter_has_no_burst_and_notes_waits() {
        let limiter = AdaptiveLimiter::new("test", RateSettings::fixed(50.0));
        limiter.acquire().await;
        // No burst at a fixed rate: a second permit is not available at once...
        assert!(limiter.current_pacer().check().is_err());
        // ...so the next caller waits, which the controller notes as the rate being the limit.
        limiter.acquire().await;
        assert!(lock(&limiter.state).controller.limited);
    }

    #[tokio::test]
    async fn retries_go_ahead_of_first_attempts() {
        let limiter = Arc::new(AdaptiveLimiter::new("test", RateSettings::fixed(20.0)));
        limiter.acquire().await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let spawn = |name: &'static str, retry: bool| {
            let (limiter, order) = (Arc::clone(&limiter), Arc::clone(&order));
            tokio::spawn(async move {
                if retry {
                    limiter.acquire_retry().await;
                } else {
                    limiter.acquire().await;
                }
                lock(&order).push(name);
            })
        };
        let mut waiters: Vec<_> = ["first 1", "first 2", "first 3", "first 4"]
            .into_iter()
            .map(|name| spawn(name, false))
            .collect();
        while limiter.waiting() < 4 {
            tokio::task::yield_now().await;
        }
        waiters.push(spawn("retry", true));
        for waiter in waiters {
            waiter.await.expect("waiter");
        }
        let order = lock(&order).clone();
        // At most the first attempt already at the head of the queue goes before the retry.
        let position = order.iter().position(|name| *name == "retry");
        assert!(position.is_some_and(|position| position <= 1), "{order:?}");
    }

    #[tokio::test]
    async fn waiting_callers_are_counted_until_served_or_dropped() {
        let limiter = Arc::new(AdaptiveLimiter::new("test", RateSettings::fixed(0.5)));
        limiter.acquire().await;
        assert_eq!(limiter.waiting(), 0);
        let waiter = tokio::spawn({
            let limiter = Arc::clone(&limiter);
            async move { limiter.acquire().await }
        });
        while limiter.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(limiter.waiting(), 1);
        // A caller that gives up (its account cancelled) no longer counts.
        waiter.abort();
        let _ = waiter.await;
        assert_eq!(limiter.waiting(), 0);
    }
}
