//! The lower bound of the org-scale benchmark: how soon the quotas and latency of a profile let
//! a run end, for the calls the run had to make (docs/benchmarks.md, "Org-scale sweeps against
//! the quota bound", says what it counts and why). The harness
//! (`benches/benches/org_scale.rs`) feeds it the emulator's call counts, the org's tree and
//! each account's record; everything here is arithmetic on those, so it is tested without an
//! emulator.

use std::collections::BTreeMap;

use rootsweep_core::limits::hedge;
use rootsweep_emulator::Service;
use serde_json::Value;

use crate::profile::Profile;

/// Monte Carlo samples behind the lower bound (its mean is taken over them).
const SAMPLES: usize = 200;

/// The emulator's latency: log-normal, from the profile's median and 99th percentile, drawn by
/// a seeded generator so that the bound is the same on every run of the same calls.
struct Latency {
    median: f64,
    sigma: f64,
    state: u64,
}

impl Latency {
    fn new(profile: &Profile) -> Self {
        Self {
            median: profile.median_ms / 1000.0,
            sigma: (profile.p99_ms / profile.median_ms).ln() / 2.326,
            state: 7,
        }
    }

    /// A uniform number in (0, 1) (SplitMix64).
    fn uniform(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// One call's latency in seconds, drawn as the emulator draws it (Box-Muller).
    fn draw(&mut self) -> f64 {
        let normal = (-2.0 * self.uniform().ln()).sqrt()
            * (2.0 * std::f64::consts::PI * self.uniform()).cos();
        self.median * (self.sigma * normal).exp()
    }

    /// When rootsweep's default (`--hedge-reads auto`) sends a read once more: the 95th
    /// percentile of the latency (the standard normal's 95th percentile is 1.645 sigmas), and
    /// never sooner than [`hedge::MIN_DELAY`].
    fn hedge_delay(&self) -> f64 {
        (self.median * (self.sigma * 1.645).exp()).max(hedge::MIN_DELAY.as_secs_f64())
    }

    /// One call's latency as rootsweep meets it: a read (see [`hedge::is_read`]) that has not
    /// answered after [`hedge_delay`](Self::hedge_delay) is sent once more, and the first
    /// answer wins. (rootsweep also stops hedging while over 5% of a run's answers are
    /// throttled; the bound hedges regardless, which keeps it a bound.)
    fn draw_hedged(&mut self, operation: &str) -> f64 {
        let first = self.draw();
        let delay = self.hedge_delay();
        if hedge::is_read(operation) && first > delay {
            first.min(delay + self.draw())
        } else {
            first
        }
    }
}

/// The organization's tree as discovery walks it: for every parent (the root and each OU), its
/// child OUs and how many accounts it holds.
pub struct Tree {
    root: String,
    children: BTreeMap<String, Vec<String>>,
    members: BTreeMap<String, usize>,
}

impl Tree {
    /// The tree from the emulator's `/_emulator/scenario`.
    pub fn from_scenario(scenario: &Value) -> Self {
        let empty = Vec::new();
        let mut children: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut members: BTreeMap<String, usize> = BTreeMap::new();
        for unit in scenario["organizational_units"]
            .as_array()
            .unwrap_or(&empty)
        {
            children
                .entry(unit["parent_id"].as_str().unwrap_or_default().to_string())
                .or_default()
                .push(unit["id"].as_str().unwrap_or_default().to_string());
        }
        for account in scenario["accounts"].as_array().unwrap_or(&empty) {
            *members
                .entry(
                    account["parent_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
                .or_default() += 1;
        }
        Self {
            root: scenario["root_id"].as_str().unwrap_or_default().to_string(),
            children,
            members,
        }
    }

    /// One draw of how long the walk takes with every independent listing made at once:
    /// DescribeOrganization and ListRoots side by side, then for each parent, once its ID is
    /// known (the root's from ListRoots), its
    /// child OUs and its accounts listed side by side, each page (20 to a page) after the one
    /// before. A child's listings start when its parent's OU listing ends.
    fn critical_path(&self, latency: &mut Latency) -> f64 {
        let pages = |count: usize| count.div_ceil(20).max(1);
        let mut end: f64 = 0.0;
        // Both answers are needed before the walk goes on (the organization's, to know it
        // exists and whose it is).
        let mut ready = vec![(self.root.clone(), latency.draw().max(latency.draw()))];
        while let Some((parent, known)) = ready.pop() {
            let units = self.children.get(&parent).map_or(&[][..], Vec::as_slice);
            let units_listed = known + (0..pages(units.len())).map(|_| latency.draw()).sum::<f64>();
            let accounts = self.members.get(&parent).copied().unwrap_or(0);
            let accounts_listed = known + (0..pages(accounts)).map(|_| latency.draw()).sum::<f64>();
            end = end.max(units_listed).max(accounts_listed);
            ready.extend(units.iter().map(|unit| (unit.clone(), units_listed)));
        }
        end
    }
}

/// One IAM call: the operation and which call of it in the account this is (from 1), which
/// fixes the latency the emulator injects.
type Call = (&'static str, u64);
/// Calls made at once.
type Step = Vec<Call>;
/// Steps made one after another.
type Branch = Vec<Step>;
/// Branches made side by side: a round lasts as long as its slowest branch.
type Round = Vec<Branch>;

/// The calls one account needed after its AssumeRoot, read from the account's outcome.
///
/// An audit's calls are rounds that depend on the round before: reads that do not depend on
/// each other are one round; a read that depends on another (an access key's last use on the
/// key listing) follows it within the round.
///
/// A delete's calls are its kinds, side by side: each kind's listing, then its deletions, then
/// (if it had any) its verifying listing. Deletions are never made at once, not even of
/// different kinds: changes to one IAM user made at once risk `ConcurrentModification` (AWS
/// lists it for each of these deletions), so no scheduler should make them at once.
pub struct Chain {
    account_id: String,
    rounds: Vec<Round>,
    kinds: Vec<KindChain>,
    calls: f64,
    /// When rootsweep started the account (RFC 3339, UTC, fixed width: sorts as text).
    pub started_at: String,
    /// How long rootsweep took over the account, from its start to its outcome.
    pub took: f64,
    /// Whether any of its calls was retried (a retry meets another draw of the latency).
    retried: bool,
    /// Whether it made more calls than its rounds hold without a retry: a read was hedged (sent
    /// once more), and the copy met another draw of the latency.
    hedged: bool,
}

/// One kind of credential in a delete.
struct KindChain {
    listing: Call,
    /// One after another, and none at the same time as another kind's.
    deletions: Vec<Call>,
    /// After the last deletion, if there was one.
    verifying: Option<Call>,
}

impl Chain {
    /// How long the calls take when each call takes `latency(call)` seconds.
    fn duration(&self, mut latency: impl FnMut(&Call) -> f64) -> f64 {
        let mut total = 0.0;
        for round in &self.rounds {
            let mut slowest: f64 = 0.0;
            for branch in round {
                let mut elapsed = 0.0;
                for step in branch {
                    elapsed += step.iter().map(&mut latency).fold(0.0, f64::max);
                }
                slowest = slowest.max(elapsed);
            }
            total += slowest;
        }
        let kinds: Vec<KindTimes> = self
            .kinds
            .iter()
            .map(|kind| KindTimes {
                listed: latency(&kind.listing),
                deleting: kind.deletions.iter().map(&mut latency).sum(),
                verifying: kind.verifying.as_ref().map_or(0.0, &mut latency),
            })
            .collect();
        total + kinds_end(kinds)
    }

    /// Steps one after another, then calls: the longer chain by the first, then the second. A
    /// delete with deletions takes a listing, every deletion in turn and a verifying listing.
    fn length(&self) -> (usize, usize) {
        let deletions: usize = self.kinds.iter().map(|kind| kind.deletions.len()).sum();
        let kind_steps = match (self.kinds.is_empty(), deletions) {
            (true, _) => 0,
            (false, 0) => 1,
            (false, deletions) => deletions + 2,
        };
        let calls = self
            .rounds
            .iter()
            .flatten()
            .flatten()
            .map(Vec::len)
            .sum::<usize>()
            + self
                .kinds
                .iter()
                .map(|kind| 1 + kind.deletions.len() + usize::from(kind.verifying.is_some()))
                .sum::<usize>();
        (self.rounds.len() + kind_steps, calls)
    }
}

/// One kind's calls in one draw of the latency, in seconds.
struct KindTimes {
    /// Its listing (when its deletions may start).
    listed: f64,
    /// Its deletions, one after another.
    deleting: f64,
    /// Its verifying listing (after its last deletion).
    verifying: f64,
}

/// When the last of a delete's kinds ends, with the deletions scheduled as well as any
/// scheduler could: even split at any instant, at each moment the kind listed whose verifying
/// listing takes longest goes on deleting (Jackson's preemptive rule, which is optimal for one
/// machine with release and delivery times). rootsweep deletes each kind's credentials in one
/// turn, the kinds in the order their listings answered: no schedule ends sooner than this one.
fn kinds_end(mut kinds: Vec<KindTimes>) -> f64 {
    let mut end = kinds.iter().map(|kind| kind.listed).fold(0.0, f64::max);
    kinds.retain(|kind| kind.deleting > 0.0);
    let mut now: f64 = 0.0;
    while !kinds.is_empty() {
        let ready = (0..kinds.len())
            .filter(|index| kinds[*index].listed <= now)
            .max_by(|a, b| kinds[*a].verifying.total_cmp(&kinds[*b].verifying));
        let next_listed = kinds
            .iter()
            .map(|kind| kind.listed)
            .filter(|listed| *listed > now)
            .fold(f64::INFINITY, f64::min);
        let Some(index) = ready else {
            now = next_listed;
            continue;
        };
        let run = kinds[index].deleting.min(next_listed - now);
        now += run;
        kinds[index].deleting -= run;
        if kinds[index].deleting <= 0.0 {
            end = end.max(now + kinds[index].verifying);
            kinds.swap_remove(index);
        }
    }
    end
}

/// The operation a delete-credentials action calls.
fn deletion_operation(action: &str) -> &'static str {
    match action {
        "delete_login_profile" => "DeleteLoginProfile",
        "delete_access_key" => "DeleteAccessKey",
        "delete_signing_certificate" => "DeleteSigningCertificate",
        "deactivate_mfa_device" => "DeactivateMFADevice",
        "delete_virtual_mfa_device" => "DeleteVirtualMFADevice",
        other => panic!("an action the harness does not know: {other}"),
    }
}

impl Chain {
    /// The calls `task` needed in one account, from the account's JSON Lines record.
    pub fn from_record(task: &str, record: &Value) -> Chain {
        // One call on its own, and a round of it.
        let alone = |call: Call| -> Round { vec![vec![vec![call]]] };
        let mut rounds: Vec<Round> = Vec::new();
        let mut kinds: Vec<KindChain> = Vec::new();
        if task == "audit" {
            // GetAccountSummary, then the listings of the kinds it reports side by side, each
            // access key's last use as soon as the keys are listed.
            rounds.push(alone(("GetAccountSummary", 1)));
            let inventory = &record["details"]["audit"];
            let present = |field: &str| {
                inventory[field]
                    .as_array()
                    .is_some_and(|list| !list.is_empty())
            };
            let keys = inventory["access_keys"].as_array().map_or(0, Vec::len) as u64;
            let mut branches: Round = Vec::new();
            if !inventory["password"].is_null() {
                branches.push(vec![vec![("GetLoginProfile", 1)]]);
            }
            if keys > 0 {
                let lookups = (1..=keys)
                    .map(|nth| ("GetAccessKeyLastUsed", nth))
                    .collect();
                branches.push(vec![vec![("ListAccessKeys", 1)], lookups]);
            }
            if present("signing_certificates") {
                branches.push(vec![vec![("ListSigningCertificates", 1)]]);
            }
            if present("mfa_devices") {
                branches.push(vec![vec![("ListMFADevices", 1)]]);
            }
            if !branches.is_empty() {
                rounds.push(branches);
            }
        } else {
            // Each kind's listing, its deletions and its verifying listing; the deletions from the
            // record, in the order they were made within each kind.
            let listings = [
                "GetLoginProfile",
                "ListAccessKeys",
                "ListSigningCertificates",
                "ListMFADevices",
            ];
            kinds = listings
                .iter()
                .map(|listing| KindChain {
                    listing: (listing, 1),
                    deletions: Vec::new(),
                    verifying: None,
                })
                .collect();
            let actions = record["details"]["delete_credentials"]["actions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut made: BTreeMap<&'static str, u64> = BTreeMap::new();
            for action in &actions {
                let operation = deletion_operation(action["action"].as_str().unwrap_or_default());
                let nth = made.entry(operation).or_default();
                *nth += 1;
                let kind = match operation {
                    "DeleteLoginProfile" => 0,
                    "DeleteAccessKey" => 1,
                    "DeleteSigningCertificate" => 2,
                    _ => 3,
                };
                kinds[kind].deletions.push((operation, *nth));
            }
            for (kind, listing) in kinds.iter_mut().zip(listings) {
                if !kind.deletions.is_empty() {
                    kind.verifying = Some((listing, 2));
                }
            }
        }
        // Every call but the AssumeRoot.
        let calls = record["calls"].as_f64().unwrap_or(1.0) - 1.0;
        let retried = record["retries"].as_u64().unwrap_or(0) > 0;
        let started_at = record["started_at"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut chain = Chain {
            account_id: record["account_id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            rounds,
            kinds,
            calls,
            started_at,
            took: record["duration_ms"].as_f64().unwrap_or(0.0) / 1000.0,
            retried,
            hedged: false,
        };
        chain.hedged = !retried && calls > chain.length().1 as f64;
        chain
    }
}

/// The order in which the bound starts the accounts.
#[derive(Clone, Copy)]
pub enum Order {
    /// The longest chains first: what a scheduler that knew every account's credentials before
    /// listing them would do. This is the lower bound the targets are measured against.
    LongestFirst,
    /// The order rootsweep started them in (by account ID): what a scheduler that knows nothing
    /// of an account before working on it can do, with everything else ideal.
    AsStarted,
}

/// How long `calls` take at `per_second` beyond the bucket's one-second burst.
fn quota_wait(calls: f64, per_second: f64) -> f64 {
    (calls - per_second).max(0.0) / per_second
}

/// One draw of discovery: its tree walk's critical path, or its calls at the Organizations
/// quota, whichever is longer.
fn discovery(
    profile: &Profile,
    tree: &Tree,
    organizations_calls: f64,
    latency: &mut Latency,
) -> f64 {
    tree.critical_path(latency)
        .max(quota_wait(organizations_calls, profile.organizations))
}

/// The mean of `discovery` over the bound's draws of the latency.
pub fn expected_discovery(profile: &Profile, tree: &Tree, tokens: Tokens) -> f64 {
    let mut latency = Latency::new(profile);
    (0..SAMPLES)
        .map(|_| discovery(profile, tree, tokens.organizations, &mut latency))
        .sum::<f64>()
        / SAMPLES as f64
}

/// When the last account ends if discovery ends at `discovery`: the i-th AssumeRoot no earlier
/// than the AssumeRoot quota allows (`assume_roots` calls took a token, less the bucket's
/// one-second burst) nor than `pace` accounts a second allow (infinite for no such limit),
/// each account in the order of `chains` then taking its session and its rounds, as `timing`
/// gives them (or its calls at its IAM quota, if longer).
fn accounts_end(
    profile: &Profile,
    discovery: f64,
    assume_roots: f64,
    pace: f64,
    chains: &[Chain],
    mut timing: impl FnMut(&Chain) -> (f64, f64),
) -> f64 {
    let tokens_per_account = assume_roots / chains.len().max(1) as f64;
    let mut end = discovery;
    for (index, chain) in chains.iter().enumerate() {
        let position = (index + 1) as f64;
        let started = discovery
            + quota_wait(position * tokens_per_account, profile.assume_root).max(position / pace);
        let (session, rounds) = timing(chain);
        let paced = quota_wait(chain.calls, profile.iam_per_account);
        end = end.max(started + session + rounds.max(paced));
    }
    end
}

/// Puts `chains` in `order`.
fn arrange(chains: &mut [Chain], order: Order) {
    match order {
        Order::LongestFirst => chains.sort_by_key(|chain| std::cmp::Reverse(chain.length())),
        Order::AsStarted => chains.sort_by(|a, b| a.started_at.cmp(&b.started_at)),
    }
}

/// Calls that took a token of a shared quota (the emulator's counts, less the throttled and
/// those failed by an injected fault).
#[derive(Clone, Copy)]
pub struct Tokens {
    /// Organizations calls (discovery).
    pub organizations: f64,
    /// AssumeRoot calls.
    pub assume_root: f64,
}

/// The expected lower bound the quotas and latency imply for the calls a run made (see
/// docs/benchmarks.md): the mean over seeded draws of the emulator's latency of `discovery`
/// (every independent listing made at once) and then `accounts_end`, the accounts in `order`
/// and started no faster than `pace` a second (infinite: as fast as the quota allows), reads
/// hedged as rootsweep hedges them by default (`Latency::draw_hedged`) if `hedge_reads`.
pub fn lower_bound(
    profile: &Profile,
    tree: &Tree,
    tokens: Tokens,
    pace: f64,
    chains: &mut [Chain],
    order: Order,
    hedge_reads: bool,
) -> f64 {
    let mut latency = Latency::new(profile);
    arrange(chains, order);
    let mut total = 0.0;
    for _ in 0..SAMPLES {
        let discovered = discovery(profile, tree, tokens.organizations, &mut latency);
        total += accounts_end(
            profile,
            discovered,
            tokens.assume_root,
            pace,
            chains,
            |chain| {
                (
                    latency.draw(),
                    chain.duration(|(operation, _)| {
                        if hedge_reads {
                            latency.draw_hedged(operation)
                        } else {
                            latency.draw()
                        }
                    }),
                )
            },
        );
    }
    total / SAMPLES as f64
}

/// The bound for the latency this run met rather than for fresh draws: each account's
/// AssumeRoot and calls take the latency the emulator injected into them (it depends only on
/// the seed, the account, the operation and which call of it this is; first attempts only),
/// and the accounts start in the order rootsweep started them. A read slower than the hedging
/// delay takes that delay plus the next call's draw, if less (approximate: a hedge in the
/// emulator is the operation's next call in the account, so the reads after it meet the draws
/// one further on). Discovery is `discovered`, its expectation ([`expected_discovery`]): which
/// of its calls met which draw depends on the timing of the walk.
///
/// Also returns how many accounts ended sooner than their own AssumeRoot and chain allow (by
/// over 5 ms, not counting accounts with retries or hedges, which met other draws): any at all
/// means the chain's model claims calls the task does not need, and the bounds are not bounds.
pub fn bound_with_latency_met(
    profile: &Profile,
    discovered: f64,
    tokens: Tokens,
    chains: &mut [Chain],
    seed: u64,
) -> (f64, usize) {
    let latency = Latency::new(profile);
    let hedge_delay = latency.hedge_delay();
    let met = rootsweep_emulator::Latency {
        median_ms: profile.median_ms,
        p99_ms: profile.p99_ms,
    };
    let injected = |service, operation: &str, account: &str, nth| {
        met.injected(seed, service, operation, account, nth)
            .as_secs_f64()
    };
    arrange(chains, Order::AsStarted);
    let mut faster_than_met = 0;
    let end = accounts_end(
        profile,
        discovered,
        tokens.assume_root,
        f64::INFINITY,
        chains,
        |chain| {
            let session = injected(Service::Sts, "AssumeRoot", &chain.account_id, 1);
            let rounds = chain.duration(|(operation, nth)| {
                let first = injected(Service::Iam, operation, &chain.account_id, *nth);
                if hedge::is_read(operation) && first > hedge_delay {
                    first.min(
                        hedge_delay + injected(Service::Iam, operation, &chain.account_id, nth + 1),
                    )
                } else {
                    first
                }
            });
            if !chain.retried && !chain.hedged && chain.took < session + rounds - 0.005 {
                faster_than_met += 1;
            }
            (session, rounds)
        },
    );
    (end, faster_than_met)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Every call takes exactly `MEDIAN` seconds: a log-normal whose 99th percentile is its
    /// median has no spread.
    const MEDIAN: f64 = 0.03;

    fn profile(median_ms: f64, p99_ms: f64) -> Profile {
        Profile {
            name: "test",
            assume_root: 500.0,
            iam_per_account: 20.0,
            organizations: 50.0,
            median_ms,
            p99_ms,
            noise: 0.0,
            sizes: &[],
        }
    }

    fn fixed() -> Profile {
        profile(MEDIAN * 1000.0, MEDIAN * 1000.0)
    }

    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() < 1e-9
    }

    /// A seeded generator of uniform numbers in (0, 1) ([`Latency::uniform`]), for random cases.
    fn uniform_generator(seed: u64) -> Latency {
        Latency {
            median: 1.0,
            sigma: 0.0,
            state: seed,
        }
    }

    fn percentile(sorted: &[f64], share: f64) -> f64 {
        sorted[((sorted.len() as f64 * share) as usize).min(sorted.len() - 1)]
    }

    #[test]
    fn latency_draws_have_the_profiles_median_and_99th_percentile() {
        let mut latency = Latency::new(&profile(30.0, 300.0));
        let mut draws: Vec<f64> = (0..200_000).map(|_| latency.draw()).collect();
        draws.sort_by(f64::total_cmp);
        let (median, p99) = (percentile(&draws, 0.5), percentile(&draws, 0.99));
        assert!((median / 0.030 - 1.0).abs() < 0.02, "median {median}");
        assert!((p99 / 0.300 - 1.0).abs() < 0.05, "99th percentile {p99}");
        // The emulator draws the same distribution (its own generator, the same formula).
        let emulator = rootsweep_emulator::Latency {
            median_ms: 30.0,
            p99_ms: 300.0,
        };
        let mut injected: Vec<f64> = (1..=20_000)
            .map(|nth| {
                emulator
                    .injected(7, Service::Iam, "ListAccessKeys", "111111111111", nth)
                    .as_secs_f64()
            })
            .collect();
        injected.sort_by(f64::total_cmp);
        for share in [0.5, 0.9, 0.99] {
            let (ours, theirs) = (percentile(&draws, share), percentile(&injected, share));
            assert!(
                (ours / theirs - 1.0).abs() < 0.06,
                "percentile {share}: the bound draws {ours}, the emulator injects {theirs}"
            );
        }
    }

    #[test]
    fn reads_are_hedged_after_the_95th_percentile_and_never_sooner_than_the_minimum() {
        let latency = Latency::new(&profile(30.0, 300.0));
        // 30 ms median and 300 ms p99: the delay docs/benchmarks.md gives, 153 ms.
        assert!((latency.hedge_delay() - 0.153).abs() < 0.001);
        assert!(close(
            Latency::new(&fixed()).hedge_delay(),
            hedge::MIN_DELAY.as_secs_f64()
        ));
        let mut above = 0;
        for seed in 0..20_000 {
            let fresh = || Latency {
                state: seed,
                ..Latency::new(&profile(30.0, 300.0))
            };
            let first = fresh().draw();
            let read = fresh().draw_hedged("GetLoginProfile");
            let write = fresh().draw_hedged("DeleteLoginProfile");
            assert!(close(write, first), "a write is never hedged");
            assert!(read <= first, "a hedge only ever answers sooner");
            if first > latency.hedge_delay() {
                above += 1;
                assert!(
                    read >= latency.hedge_delay(),
                    "a hedge starts after the delay"
                );
            } else {
                assert!(close(read, first), "no hedge before the delay");
            }
        }
        let share = f64::from(above) / 20_000.0;
        assert!((share - 0.05).abs() < 0.01, "{share} of reads hedged");
    }

    /// root: 45 accounts (3 pages) and OUs a and b; a: 25 accounts (2 pages) and OU c; b: empty;
    /// c: 50 accounts (3 pages). The org's own Organizations calls: 2 + 2 listings per parent,
    /// one per page: 2 + (1 + 3) + (1 + 2) + (1 + 1) + (1 + 3) = 15.
    fn tree() -> Tree {
        let ous = |list: &[&str]| list.iter().map(|ou| ou.to_string()).collect::<Vec<_>>();
        Tree {
            root: "r".to_string(),
            children: BTreeMap::from([
                ("r".to_string(), ous(&["a", "b"])),
                ("a".to_string(), ous(&["c"])),
            ]),
            members: BTreeMap::from([
                ("r".to_string(), 45),
                ("a".to_string(), 25),
                ("c".to_string(), 50),
            ]),
        }
    }

    #[test]
    fn the_walk_lists_each_parent_once_its_id_is_known_and_pages_one_after_another() {
        let mut latency = Latency::new(&fixed());
        // The root is known after one round (DescribeOrganization and ListRoots at once); a and
        // b after the root's one page of OUs; c after a's; c's three pages of accounts end last.
        assert!(close(tree().critical_path(&mut latency), 6.0 * MEDIAN));
        let from_scenario = Tree::from_scenario(&json!({
            "root_id": "r",
            "organizational_units": [
                {"id": "a", "parent_id": "r"}, {"id": "b", "parent_id": "r"},
                {"id": "c", "parent_id": "a"}
            ],
            "accounts": (0..120).map(|index| json!({
                "parent_id": if index < 45 { "r" } else if index < 70 { "a" } else { "c" }
            })).collect::<Vec<_>>(),
        }));
        assert_eq!(from_scenario.root, "r");
        assert_eq!(from_scenario.children, tree().children);
        assert_eq!(from_scenario.members, tree().members);
    }

    #[test]
    fn discovery_is_the_walk_or_its_calls_at_the_quota_whichever_is_longer() {
        let profile = fixed();
        let mut latency = Latency::new(&profile);
        // Within the bucket's one-second burst the quota costs nothing.
        assert!(close(quota_wait(50.0, 50.0), 0.0));
        assert!(close(quota_wait(1_000.0, 500.0), 1.0));
        assert!(close(
            discovery(&profile, &tree(), 15.0, &mut latency),
            6.0 * MEDIAN
        ));
        assert!(close(
            discovery(&profile, &tree(), 74.0, &mut latency),
            24.0 / 50.0
        ));
        let tokens = Tokens {
            organizations: 74.0,
            assume_root: 0.0,
        };
        assert!(close(
            expected_discovery(&profile, &tree(), tokens),
            24.0 / 50.0
        ));
    }

    fn kind(listed: f64, deleting: f64, verifying: f64) -> KindTimes {
        KindTimes {
            listed,
            deleting,
            verifying,
        }
    }

    /// The best schedule that deletes each kind in one turn, found by trying every order: a
    /// schedule rootsweep could follow, so the bound may not end after it.
    fn best_in_turns(kinds: &[(f64, f64, f64)]) -> f64 {
        fn orders(items: Vec<usize>) -> Vec<Vec<usize>> {
            if items.len() <= 1 {
                return vec![items];
            }
            let mut all = Vec::new();
            for (position, first) in items.iter().enumerate() {
                let mut rest = items.clone();
                rest.remove(position);
                for mut order in orders(rest) {
                    order.insert(0, *first);
                    all.push(order);
                }
            }
            all
        }
        let listed = kinds.iter().map(|kind| kind.0).fold(0.0, f64::max);
        let deleting: Vec<usize> = (0..kinds.len()).filter(|i| kinds[*i].1 > 0.0).collect();
        orders(deleting)
            .into_iter()
            .map(|order| {
                let (mut now, mut end): (f64, f64) = (0.0, listed);
                for index in order {
                    let (listed, deleting, verifying) = kinds[index];
                    now = now.max(listed) + deleting;
                    end = end.max(now + verifying);
                }
                end
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// What no schedule, even one split at any instant, can beat: for every set of kinds with
    /// deletions, the first of them listed, then all their deletions, then the shortest of their
    /// verifying listings (and every kind's own listing).
    fn best_split(kinds: &[(f64, f64, f64)]) -> f64 {
        let listed = kinds.iter().map(|kind| kind.0).fold(0.0, f64::max);
        let deleting: Vec<&(f64, f64, f64)> = kinds.iter().filter(|kind| kind.1 > 0.0).collect();
        (1..1usize << deleting.len())
            .map(|set| {
                let chosen: Vec<_> = (0..deleting.len())
                    .filter(|index| set & (1 << index) != 0)
                    .map(|index| deleting[index])
                    .collect();
                chosen
                    .iter()
                    .map(|kind| kind.0)
                    .fold(f64::INFINITY, f64::min)
                    + chosen.iter().map(|kind| kind.1).sum::<f64>()
                    + chosen
                        .iter()
                        .map(|kind| kind.2)
                        .fold(f64::INFINITY, f64::min)
            })
            .fold(listed, f64::max)
    }

    #[test]
    fn kinds_deletions_are_scheduled_as_well_as_any_schedule_could_and_no_better() {
        // Nothing to delete: the last listing.
        assert!(close(
            kinds_end(vec![kind(0.1, 0.0, 0.0), kind(0.3, 0.0, 0.0)]),
            0.3
        ));
        // One kind: its listing, its deletions, its verifying listing.
        assert!(close(kinds_end(vec![kind(0.1, 0.2, 0.05)]), 0.35));
        // The kind listed first deletes first; the one with the longer verifying listing, once
        // listed, takes over (split): 0.5 to 0.6, verified at 1.6; the first ends at 1.1.
        assert!(close(
            kinds_end(vec![kind(0.0, 1.0, 0.0), kind(0.5, 0.1, 1.0)]),
            1.6
        ));
        let mut generator = uniform_generator(11);
        for _ in 0..2_000 {
            let kinds: Vec<(f64, f64, f64)> = (0..1 + (generator.uniform() * 4.0) as usize)
                .map(|_| {
                    let deleting = if generator.uniform() < 0.3 {
                        0.0
                    } else {
                        generator.uniform()
                    };
                    let verifying = if deleting > 0.0 {
                        generator.uniform()
                    } else {
                        0.0
                    };
                    (generator.uniform(), deleting, verifying)
                })
                .collect();
            let end = kinds_end(kinds.iter().map(|k| kind(k.0, k.1, k.2)).collect());
            assert!(
                end <= best_in_turns(&kinds) + 1e-9,
                "{kinds:?}: the bound {end} ends after a schedule rootsweep could follow"
            );
            assert!(
                (end - best_split(&kinds)).abs() < 1e-9,
                "{kinds:?}: the bound {end} is not the best split schedule's {}",
                best_split(&kinds)
            );
        }
    }

    fn audit_record(calls: u64, retries: u64) -> Value {
        json!({
            "account_id": "146895530469",
            "calls": calls,
            "details": {"audit": {
                "access_keys": [{"id": "AKIA64ZSNVB2TFKITVPD"}, {"id": "AKIACNN2HLRBHAXIOO6H"}],
                "mfa_devices": [{"kind": "virtual"}],
                "password": {"created": "2023-09-09T14:00:54Z"}
            }},
            "duration_ms": 288,
            "retries": retries,
            "started_at": "2026-12-03T14:32:43.544949Z",
            "status": "non_compliant",
            "type": "account"
        })
    }

    fn clean_audit(started_at: &str) -> Chain {
        Chain::from_record(
            "audit",
            &json!({
                "account_id": "109972346492", "calls": 2, "details": {"audit": {}},
                "duration_ms": 39, "retries": 0, "started_at": started_at
            }),
        )
    }

    #[test]
    fn an_audit_reads_its_summary_then_the_kinds_present_and_each_keys_last_use() {
        let chain = Chain::from_record("audit", &audit_record(7, 0));
        assert_eq!(chain.account_id, "146895530469");
        // GetAccountSummary; then the password, the keys (then both keys' last use at once)
        // and the MFA devices side by side: 6 calls in 2 rounds.
        assert_eq!(chain.length(), (2, 6));
        assert!(close(chain.duration(|_| MEDIAN), 3.0 * MEDIAN));
        assert!(close(chain.took, 0.288));
        assert!(!chain.hedged && !chain.retried);
        // One call more than the task needs, without a retry: a hedged read.
        assert!(Chain::from_record("audit", &audit_record(8, 0)).hedged);
        let retried = Chain::from_record("audit", &audit_record(8, 1));
        assert!(retried.retried && !retried.hedged);
        let clean = clean_audit("2026-12-03T14:32:43.500664Z");
        assert_eq!(clean.length(), (1, 1));
        assert!(close(clean.duration(|_| MEDIAN), MEDIAN));
    }

    #[test]
    fn a_delete_lists_its_kinds_at_once_and_deletes_one_credential_at_a_time() {
        let record = json!({
            "account_id": "108687286442",
            "calls": 12,
            "details": {"delete_credentials": {"actions": [
                {"action": "delete_login_profile", "result": "done"},
                {"action": "delete_access_key", "result": "done"},
                {"action": "deactivate_mfa_device", "result": "done"},
                {"action": "delete_virtual_mfa_device", "result": "denied"}
            ]}},
            "duration_ms": 194,
            "retries": 0,
            "started_at": "2026-12-03T14:27:47.759568Z"
        });
        let chain = Chain::from_record("delete-credentials", &record);
        // Four listings, four deletions and three verifying listings (certificates had none);
        // the longest line: a listing, the four deletions, a verifying listing.
        assert_eq!(chain.length(), (6, 11));
        assert!(!chain.hedged);
        assert_eq!(chain.kinds[3].deletions.len(), 2);
        assert_eq!(chain.kinds[3].verifying, Some(("ListMFADevices", 2)));
        assert_eq!(chain.kinds[2].verifying, None);
        assert!(close(chain.duration(|_| MEDIAN), 6.0 * MEDIAN));
    }

    #[test]
    fn accounts_start_no_sooner_than_the_assume_root_quota_and_the_pace_allow() {
        let profile = fixed();
        let chains: Vec<Chain> = (0..1_000)
            .map(|_| clean_audit("2026-12-03T14:32:43.500664Z"))
            .collect();
        let instant = |_: &Chain| (0.0, 0.0);
        // 500 at once from the bucket, then 500 a second.
        let end = accounts_end(&profile, 2.0, 1_000.0, f64::INFINITY, &chains, instant);
        assert!(close(end, 3.0));
        // Retried AssumeRoot calls took tokens too.
        let end = accounts_end(&profile, 2.0, 1_500.0, f64::INFINITY, &chains, instant);
        assert!(close(end, 4.0));
        // A machine that starts 800 a second.
        let end = accounts_end(&profile, 2.0, 1_000.0, 800.0, &chains, instant);
        assert!(close(end, 3.25));
        // An account's calls beyond its IAM quota's burst: 30 at 20 a second.
        let mut busy = clean_audit("2026-12-03T14:32:43.500664Z");
        busy.calls = 30.0;
        let end = accounts_end(&profile, 2.0, 1.0, f64::INFINITY, &[busy], |_| (0.1, 0.2));
        assert!(close(end, 2.0 + 0.1 + 0.5));
    }

    #[test]
    fn the_bound_starts_the_longest_chains_first_and_as_started_in_rootsweeps_order() {
        let profile = fixed();
        // 500 clean accounts started first, then 500 with credentials (three rounds' worth).
        let mut chains: Vec<Chain> = (0..1_000)
            .map(|index| {
                let started_at = format!("2026-12-03T14:32:{:09.6}Z", index as f64 / 100.0);
                if index < 500 {
                    clean_audit(&started_at)
                } else {
                    let mut record = audit_record(7, 0);
                    record["started_at"] = json!(started_at);
                    Chain::from_record("audit", &record)
                }
            })
            .collect();
        let tokens = Tokens {
            organizations: 74.0,
            assume_root: 1_000.0,
        };
        let discovered = 24.0 / 50.0;
        let bound = |chains: &mut [Chain], order| {
            lower_bound(
                &profile,
                &tree(),
                tokens,
                f64::INFINITY,
                chains,
                order,
                true,
            )
        };
        // The last account starts a second after discovery: a clean one (its session and
        // summary) when the longest go first, one with credentials (its session and three
        // rounds) in rootsweep's order.
        let longest_first = bound(&mut chains, Order::LongestFirst);
        assert!(close(longest_first, discovered + 1.0 + 2.0 * MEDIAN));
        let as_started = bound(&mut chains, Order::AsStarted);
        assert!(close(as_started, discovered + 1.0 + 4.0 * MEDIAN));
    }

    #[test]
    fn the_bound_for_the_latency_met_uses_the_emulators_draws_and_flags_accounts_too_fast() {
        let profile = profile(30.0, 300.0);
        let seed = 3;
        let emulator = rootsweep_emulator::Latency {
            median_ms: 30.0,
            p99_ms: 300.0,
        };
        let met = |service, operation| {
            emulator
                .injected(seed, service, operation, "109972346492", 1)
                .as_secs_f64()
        };
        let tokens = Tokens {
            organizations: 10.0,
            assume_root: 1.0,
        };
        let own = met(Service::Sts, "AssumeRoot") + met(Service::Iam, "GetAccountSummary");
        let mut chains = vec![clean_audit("2026-12-03T14:32:43.500664Z")];
        chains[0].took = own + 0.001;
        let (end, faster) = bound_with_latency_met(&profile, 0.5, tokens, &mut chains, seed);
        assert!(close(end, 0.5 + own));
        assert_eq!(faster, 0);
        // An account that ended sooner than the calls it made allow: the model is wrong.
        chains[0].took = own - 0.01;
        assert_eq!(
            bound_with_latency_met(&profile, 0.5, tokens, &mut chains, seed).1,
            1
        );
        // Unless it met other draws (a retry or a hedge).
        chains[0].retried = true;
        assert_eq!(
            bound_with_latency_met(&profile, 0.5, tokens, &mut chains, seed).1,
            0
        );
    }
}
