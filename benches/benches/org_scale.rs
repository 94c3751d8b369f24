//! Org-scale benchmark: the release `rootsweep` binary against the release emulator binary, two
//! separate processes, with generated orgs of 1,000 and 10,000 accounts and quota profiles
//! rootsweep is not told. For each run it reports the wall time, the lower bound the quotas
//! and latency imply for the calls the task had to make (computed from the profile and the
//! emulator's own counts), their ratio, calls per account, throttled answers, accounts that
//! did not end well, and the peak RSS and CPU seconds of the rootsweep process. Three more
//! ratios tell a gap's causes apart (docs/benchmarks.md): the bound with the accounts in the
//! order rootsweep started them, the bound for the latency the run met, and the bound with no
//! account started faster than the machine works them off with no quotas or latency at all.
//!
//! Run: `just bench` (builds the release binaries first), or
//! `cargo build --release -p rootsweep -p rootsweep-emulator && cargo bench -p rootsweep-benches --bench org_scale`.
//! Arguments after `--`: `quick` (1,000-account runs only), profile names to run only those, and
//! `seed=N` for another generated org and other latency draws (7 by default), or `seed=A-B` or
//! `seed=A,B,C` for several, each with its own table, then the medians over them, `task=audit`
//! or `task=delete-credentials` for that task alone, and `accounts=N` (or `accounts=A,B,C`) for
//! other org sizes than each profile's own (how a gap changes with the size of the org).
//! `ROOTSWEEP_HEDGE_READS=off` (or a delay) in the environment is passed on to rootsweep, for
//! comparisons; every other flag stays at its default. `ROOTSWEEP_BENCH_BINARY=PATH` measures
//! another rootsweep binary than `target/release/rootsweep` (two builds by turns).
//! The method and the latest figures are in docs/benchmarks.md.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark reports on stdout"
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rootsweep_core::limits::hedge;
use rootsweep_emulator::Service;
use serde_json::{Value, json};

/// One quota profile.
struct Profile {
    name: &'static str,
    assume_root: f64,
    iam_per_account: f64,
    organizations: f64,
    median_ms: f64,
    p99_ms: f64,
    /// Share of calls throttled at random on top of the quotas.
    noise: f64,
    sizes: &'static [usize],
}

const PROFILES: [Profile; 4] = [
    Profile {
        name: "ar20",
        assume_root: 20.0,
        iam_per_account: 10.0,
        organizations: 20.0,
        median_ms: 30.0,
        p99_ms: 300.0,
        noise: 0.0,
        sizes: &[1_000],
    },
    Profile {
        name: "ar100",
        assume_root: 100.0,
        iam_per_account: 10.0,
        organizations: 20.0,
        median_ms: 30.0,
        p99_ms: 300.0,
        noise: 0.0,
        sizes: &[1_000, 10_000],
    },
    Profile {
        name: "ar500",
        assume_root: 500.0,
        iam_per_account: 20.0,
        organizations: 50.0,
        median_ms: 30.0,
        p99_ms: 300.0,
        noise: 0.0,
        sizes: &[1_000, 10_000],
    },
    Profile {
        name: "ar100-noisy",
        assume_root: 100.0,
        iam_per_account: 10.0,
        organizations: 20.0,
        median_ms: 30.0,
        p99_ms: 300.0,
        noise: 0.2,
        sizes: &[1_000],
    },
];

/// No quotas, no latency, no faults: what this machine does with a task when nothing but its
/// own two processes sets the pace (see [`machine_pace`]).
const UNLIMITED: Profile = Profile {
    name: "unlimited",
    assume_root: f64::INFINITY,
    iam_per_account: f64::INFINITY,
    organizations: f64::INFINITY,
    median_ms: 0.0,
    p99_ms: 0.0,
    noise: 0.0,
    sizes: &[],
};

fn target_directory() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target")
        },
        PathBuf::from,
    )
}

fn binary(name: &str) -> PathBuf {
    let path = target_directory().join("release").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --release -p rootsweep -p rootsweep-emulator` first (or `just bench`)",
        path.display()
    );
    path
}

/// If set, the `rootsweep` binary to measure instead of the release build in `target/`: to
/// compare two builds by turns in one sitting (this machine's speed drifts by a tenth within an
/// hour), without copying another build over the one cargo made, which a later `just bench`
/// would then not rebuild.
const BINARY_VARIABLE: &str = "ROOTSWEEP_BENCH_BINARY";

/// The `rootsweep` binary measured: [`BINARY_VARIABLE`]'s, or the release build.
fn rootsweep_binary() -> PathBuf {
    match std::env::var_os(BINARY_VARIABLE) {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "{BINARY_VARIABLE}={}: no such file; point it at a rootsweep binary, or unset it \
                 to measure target/release/rootsweep",
                path.display()
            );
            path
        }
        None => binary("rootsweep"),
    }
}

/// A started emulator: its process and the environment it printed.
struct EmulatorProcess {
    child: Child,
    environment: Vec<(String, String)>,
    endpoint: String,
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_emulator(
    directory: &Path,
    profile: &Profile,
    accounts: usize,
    seed: u64,
) -> EmulatorProcess {
    let spec = json!({ "scp_restricted_ous": 0, "password_share": 0.35, "access_key_share": 0.15 });
    let mut faults = Vec::new();
    if profile.noise > 0.0 {
        faults.push(json!({ "kind": "throttle", "rate": profile.noise }));
    }
    let mut load = json!({ "seed": seed, "faults": faults });
    if profile.median_ms > 0.0 {
        load["latency"] = json!({ "median_ms": profile.median_ms, "p99_ms": profile.p99_ms });
    }
    let mut quotas = serde_json::Map::new();
    for (name, per_second) in [
        ("assume_root", profile.assume_root),
        ("iam_per_account", profile.iam_per_account),
        ("organizations", profile.organizations),
    ] {
        if per_second.is_finite() {
            quotas.insert(name.to_string(), json!({ "per_second": per_second }));
        }
    }
    load["quotas"] = Value::Object(quotas);
    let spec_path = directory.join("spec.json");
    let load_path = directory.join("load.json");
    std::fs::write(&spec_path, spec.to_string()).expect("writes the spec");
    std::fs::write(&load_path, load.to_string()).expect("writes the load profile");
    let mut child = Command::new(binary("rootsweep-emulator"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--seed",
            &seed.to_string(),
            "--accounts",
            &accounts.to_string(),
        ])
        .arg("--spec")
        .arg(&spec_path)
        .arg("--load")
        .arg(&load_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the emulator starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut environment = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("reads");
        if line == "# ready" {
            break;
        }
        if let Some((key, value)) = line
            .strip_prefix("export ")
            .and_then(|rest| rest.split_once('='))
        {
            environment.push((key.to_string(), value.to_string()));
        }
    }
    let endpoint = environment
        .iter()
        .find(|(key, _)| key == "AWS_ENDPOINT_URL")
        .map(|(_, value)| value.clone())
        .expect("the emulator printed its endpoint");
    EmulatorProcess {
        child,
        environment,
        endpoint,
    }
}

fn admin(endpoint: &str, path: &str) -> Value {
    let address = endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connects");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: emulator\r\nConnection: close\r\n\r\n"
    )
    .expect("writes");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("reads");
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    serde_json::from_str(body).expect("admin answers JSON")
}

/// What /proc says about a process.
#[derive(Default)]
struct Usage {
    peak_rss_kib: u64,
    cpu_seconds: f64,
}

fn clock_ticks() -> f64 {
    // Linux exposes CPU times in clock ticks; 100 per second on every Linux this runs on.
    100.0
}

/// A process's state letter and the CPU seconds (user and system) it has used so far, from
/// /proc (an exited process not yet reaped still has them); `None` once it is gone.
fn process_stat(pid: u32) -> Option<(String, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start after ") ".
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split(' ').collect();
    // utime and stime are fields 14 and 15 of stat; 11 and 12 after the state field.
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|index| fields.get(*index)?.parse::<f64>().ok())
        .sum();
    Some((fields.first()?.to_string(), ticks / clock_ticks()))
}

fn cpu_seconds(pid: u32) -> f64 {
    process_stat(pid).map_or(0.0, |(_, seconds)| seconds)
}

/// Samples VmHWM while the process runs; reads its CPU times once it has exited, then reaps
/// it.
fn watch(child: &mut Child) -> (Usage, std::process::ExitStatus) {
    let pid = child.id();
    let mut usage = Usage::default();
    loop {
        let stat = process_stat(pid);
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            && let Some(line) = status.lines().find(|line| line.starts_with("VmHWM:"))
            && let Some(kib) = line
                .split_whitespace()
                .nth(1)
                .and_then(|value| value.parse::<u64>().ok())
        {
            usage.peak_rss_kib = usage.peak_rss_kib.max(kib);
        }
        match stat {
            Some((state, seconds)) if state == "Z" => {
                usage.cpu_seconds = seconds;
                break;
            }
            None => break,
            Some(_) => std::thread::sleep(Duration::from_millis(25)),
        }
    }
    let status = child.wait().expect("reaps");
    (usage, status)
}

/// One measured run.
struct Measurement {
    profile: &'static str,
    task: &'static str,
    accounts: usize,
    wall: f64,
    /// The lower bound, the longest chains first.
    bound: f64,
    /// The wall time before the first account started: start-up and discovery (the wall time
    /// less the run's own duration).
    discovery_wall: f64,
    /// The bound's discovery term (its expectation over the latency's draws); the bound less
    /// it is what the accounts may take at least.
    discovery_bound: f64,
    /// The same bound for a client that never hedges a read (what the bound was before
    /// rootsweep hedged reads: the two tell how much of the latency's tail hedging can cut).
    bound_without_hedges: f64,
    /// The same bound with the accounts in the order rootsweep started them.
    bound_as_started: f64,
    /// The bound for the latency this run met, the accounts in the order rootsweep started them.
    bound_latency_met: f64,
    /// The lower bound with no account started faster than [`machine_pace`] allows.
    bound_at_machine_pace: f64,
    /// Accounts that ended sooner than the latency they met allows (see
    /// [`bound_with_latency_met`]); 0 unless the chains' model is wrong.
    faster_than_met: usize,
    calls_per_account: f64,
    throttled: u64,
    /// Reads sent a second time (hedged), among the calls.
    hedged: u64,
    not_well: usize,
    peak_rss_mib: f64,
    cpu_seconds: f64,
    /// CPU seconds the emulator used during the run: with rootsweep's, how busy the machine's
    /// cores were.
    emulator_cpu_seconds: f64,
    exit_code: i32,
}

fn operation_counts(stats: &Value) -> BTreeMap<String, (u64, u64, u64)> {
    stats["operations"]
        .as_object()
        .map(|operations| {
            operations
                .iter()
                .map(|(name, op)| {
                    let get = |key: &str| op[key].as_u64().unwrap_or(0);
                    (
                        name.clone(),
                        (get("calls"), get("throttled"), get("injected_faults")),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

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
struct Tree {
    root: String,
    children: BTreeMap<String, Vec<String>>,
    members: BTreeMap<String, usize>,
}

impl Tree {
    fn from_scenario(scenario: &Value) -> Self {
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
struct Chain {
    account_id: String,
    rounds: Vec<Round>,
    kinds: Vec<KindChain>,
    calls: f64,
    /// When rootsweep started the account (RFC 3339, UTC, fixed width: sorts as text).
    started_at: String,
    /// How long rootsweep took over the account, from its start to its outcome.
    took: f64,
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

fn chain(task: &str, record: &Value) -> Chain {
    // One call on its own, and a round of it.
    let alone = |call: Call| -> Round { vec![vec![vec![call]]] };
    let mut rounds: Vec<Round> = Vec::new();
    let mut kinds: Vec<KindChain> = Vec::new();
    if task == "audit" {
        // GetAccountSummary, then the listings of the kinds it reports side by side, each access
        // key's last use as soon as the keys are listed.
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

/// The order in which the bound starts the accounts.
#[derive(Clone, Copy)]
enum Order {
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

/// The mean of [`discovery`] over the bound's draws of the latency.
fn expected_discovery(profile: &Profile, tree: &Tree, tokens: Tokens) -> f64 {
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
struct Tokens {
    organizations: f64,
    assume_root: f64,
}

/// The expected lower bound the quotas and latency imply for the calls a run made (see
/// docs/benchmarks.md): the mean over seeded draws of the emulator's latency of [`discovery`]
/// (every independent listing made at once) and then [`accounts_end`], the accounts in `order`
/// and started no faster than `pace` a second (infinite: as fast as the quota allows), reads
/// hedged as rootsweep hedges them by default ([`Latency::draw_hedged`]) if `hedge_reads`.
fn lower_bound(
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
fn bound_with_latency_met(
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

/// What one run of rootsweep against the emulator left behind.
struct Sweep {
    wall: f64,
    usage: Usage,
    exit_code: i32,
    emulator_cpu_seconds: f64,
    /// Accounts by status.
    statuses: BTreeMap<String, usize>,
    /// Every account rootsweep started.
    chains: Vec<Chain>,
    /// Reads rootsweep sent a second time (its summary's count).
    hedged: u64,
    /// The run's own duration (its summary's), from its first account started to its last
    /// ended: the wall time less start-up and discovery. NaN if there was no summary.
    accounts_seconds: f64,
    /// The emulator's counts by operation: calls, throttled, failed by an injected fault.
    counts: BTreeMap<String, (u64, u64, u64)>,
    /// The org's tree.
    tree: Tree,
}

/// Passed on to rootsweep if set, to compare hedged reads with other settings (`off`, a fixed
/// delay); the bound still models rootsweep's default, and "ratio to bound without hedges" is
/// the one to read with `off`.
const HEDGE_READS_VARIABLE: &str = "ROOTSWEEP_HEDGE_READS";

/// If set, a directory where each run's rootsweep logs at `-vv` in JSON go (one file per task,
/// profile, org size and seed): rate changes, sessions and retries with their times, for
/// timelines. Logging costs rootsweep some CPU, so the figures are not the default flags'.
const LOG_DIRECTORY_VARIABLE: &str = "ROOTSWEEP_BENCH_LOG_DIR";

/// Runs `task` with default flags (but [`HEDGE_READS_VARIABLE`] and [`LOG_DIRECTORY_VARIABLE`])
/// against a fresh emulator with `profile`.
fn sweep(
    profile: &Profile,
    accounts: usize,
    task: &'static str,
    directory: &Path,
    seed: u64,
) -> Sweep {
    let emulator = start_emulator(directory, profile, accounts, seed);
    let journal = directory.join(format!("{task}-{}-{accounts}.jsonl", profile.name));
    std::fs::remove_file(&journal).ok();
    let mut command = Command::new(rootsweep_binary());
    command.arg(task);
    if task != "audit" {
        command.arg("--yes");
    }
    command
        .args(["--no-progress", "--output", "jsonl", "--journal"])
        .arg(&journal)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", directory)
        .env("AWS_CONFIG_FILE", directory.join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", directory.join("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (key, value) in &emulator.environment {
        command.env(key, value);
    }
    // The one setting an A/B comparison may change (the report says so under the machine's
    // name); the targets are measured with default flags.
    if let Some(setting) = std::env::var_os(HEDGE_READS_VARIABLE) {
        command.env(HEDGE_READS_VARIABLE, setting);
    }
    if let Some(logs) = std::env::var_os(LOG_DIRECTORY_VARIABLE) {
        let logs = PathBuf::from(logs);
        std::fs::create_dir_all(&logs).expect("creates the log directory");
        let log = logs.join(format!(
            "{task}-{}-{accounts}-seed{seed}.jsonl",
            profile.name
        ));
        command
            .args(["-vv", "--log-format", "json"])
            .stderr(std::fs::File::create(&log).expect("creates the log"));
    }
    let emulator_cpu_before = cpu_seconds(emulator.child.id());
    let started = Instant::now();
    let mut child = command.spawn().expect("rootsweep starts");
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
        let mut chains = Vec::new();
        let mut hedged = 0;
        let mut accounts_seconds = f64::NAN;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let Ok(record) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if record["type"] == "account" {
                let status = record["status"].as_str().unwrap_or_default().to_string();
                if status != "skipped" {
                    chains.push(chain(task, &record));
                }
                *statuses.entry(status).or_default() += 1;
            } else if record["type"] == "summary" {
                // Left out of the summary when there were none.
                hedged = record["hedged"].as_u64().unwrap_or(0);
                if let Some(milliseconds) = record["duration_ms"].as_f64() {
                    accounts_seconds = milliseconds / 1000.0;
                }
            }
        }
        (statuses, chains, hedged, accounts_seconds)
    });
    let (usage, status) = watch(&mut child);
    let wall = started.elapsed().as_secs_f64();
    let emulator_cpu_seconds = cpu_seconds(emulator.child.id()) - emulator_cpu_before;
    let (statuses, chains, hedged, accounts_seconds) = reader.join().expect("the reader ends");
    let stats = admin(&emulator.endpoint, "/_emulator/stats");
    let scenario = admin(&emulator.endpoint, "/_emulator/scenario");
    Sweep {
        wall,
        usage,
        exit_code: status.code().unwrap_or(-1),
        emulator_cpu_seconds,
        statuses,
        chains,
        hedged,
        accounts_seconds,
        counts: operation_counts(&stats),
        tree: Tree::from_scenario(&scenario),
    }
}

/// Runs of [`machine_pace`]'s unlimited sweep; their median is taken (one run of 1,000 accounts
/// with nothing to wait on lasts about a second, and one on a shared machine says little).
const PACE_RUNS: usize = 3;

/// How many accounts a second this machine works off when nothing else sets the pace: `task`
/// over the same org with no quotas, latency or faults, timed over the middle half of its
/// accounts by end time (so that neither rootsweep's slow start nor the last accounts' tail
/// counts), the median of [`PACE_RUNS`] runs. rootsweep and the emulator share the machine's
/// cores, as in the measured runs, so this is about the most that both processes together
/// sustain. An estimate, not a bound: a measured run may beat it slightly.
fn machine_pace(accounts: usize, task: &'static str, directory: &Path, seed: u64) -> f64 {
    let mut paces: Vec<f64> = (0..PACE_RUNS)
        .map(|_| {
            let unlimited = sweep(&UNLIMITED, accounts, task, directory, seed);
            let mut ends: Vec<f64> = unlimited
                .chains
                .iter()
                .map(|chain| seconds_of_day(&chain.started_at) + chain.took)
                .collect();
            ends.sort_by(f64::total_cmp);
            let (first, last) = (ends.len() / 4, ends.len() * 3 / 4);
            if last <= first {
                return f64::INFINITY;
            }
            // A sweep crossing midnight UTC wraps around.
            let span = (ends[last] - ends[first]).rem_euclid(86_400.0);
            (last - first) as f64 / span.max(0.001)
        })
        .collect();
    paces.sort_by(f64::total_cmp);
    paces[PACE_RUNS / 2]
}

/// The time of day of an RFC 3339 UTC timestamp (`2026-12-01T07:13:37.123Z`), in seconds.
fn seconds_of_day(timestamp: &str) -> f64 {
    let time = timestamp
        .split_once('T')
        .map_or("", |(_, time)| time)
        .trim_end_matches('Z');
    let mut parts = time
        .split(':')
        .map(|part| part.parse::<f64>().unwrap_or(0.0));
    let (hours, minutes, seconds) = (
        parts.next().unwrap_or(0.0),
        parts.next().unwrap_or(0.0),
        parts.next().unwrap_or(0.0),
    );
    hours * 3600.0 + minutes * 60.0 + seconds
}

fn run(
    profile: &Profile,
    accounts: usize,
    task: &'static str,
    directory: &Path,
    seed: u64,
    pace: f64,
) -> Measurement {
    let Sweep {
        wall,
        usage,
        exit_code,
        emulator_cpu_seconds,
        statuses,
        mut chains,
        hedged,
        accounts_seconds,
        counts,
        tree,
    } = sweep(profile, accounts, task, directory, seed);

    // The lower bound the quotas and latency imply for the calls this run had to make.
    let tokens_taken = |prefix: &str| -> u64 {
        counts
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(_, (calls, throttled, faults))| calls - throttled - faults)
            .sum()
    };
    let tokens = Tokens {
        organizations: tokens_taken("organizations:") as f64,
        assume_root: tokens_taken("sts:AssumeRoot") as f64,
    };
    let bound_in = |order, pace, chains: &mut [Chain], hedge_reads| {
        lower_bound(profile, &tree, tokens, pace, chains, order, hedge_reads)
    };
    let bound = bound_in(Order::LongestFirst, f64::INFINITY, &mut chains, true);
    let bound_without_hedges = bound_in(Order::LongestFirst, f64::INFINITY, &mut chains, false);
    let bound_as_started = bound_in(Order::AsStarted, f64::INFINITY, &mut chains, true);
    let bound_at_machine_pace = bound_in(Order::LongestFirst, pace, &mut chains, true);
    let discovery_bound = expected_discovery(profile, &tree, tokens);
    let (bound_latency_met, faster_than_met) =
        bound_with_latency_met(profile, discovery_bound, tokens, &mut chains, seed);
    let all_calls: u64 = counts.values().map(|(calls, _, _)| calls).sum();
    let throttled: u64 = counts.values().map(|(_, throttled, _)| throttled).sum();
    let not_well = statuses.get("failed").copied().unwrap_or(0)
        + statuses.get("denied").copied().unwrap_or(0)
        + statuses.get("cancelled").copied().unwrap_or(0);
    Measurement {
        profile: profile.name,
        task,
        accounts,
        wall,
        bound,
        discovery_wall: wall - accounts_seconds,
        discovery_bound,
        bound_without_hedges,
        bound_as_started,
        bound_latency_met,
        bound_at_machine_pace,
        faster_than_met,
        calls_per_account: all_calls as f64 / accounts as f64,
        throttled,
        hedged,
        not_well,
        peak_rss_mib: usage.peak_rss_kib as f64 / 1024.0,
        cpu_seconds: usage.cpu_seconds,
        emulator_cpu_seconds,
        exit_code,
    }
}

/// The tasks the benchmark runs, in this order; `task=NAME` runs one alone.
const TASKS: [&str; 2] = ["audit", "delete-credentials"];

/// The seeds `seed=` names: one (`7`), a range (`1-8`) or a list (`1,3,5`).
fn parse_seeds(text: &str) -> Result<Vec<u64>, String> {
    let number = |part: &str| {
        part.trim()
            .parse::<u64>()
            .map_err(|_| format!("seed={text}: {part:?} is not a whole number; expected seed=N, seed=A-B or seed=A,B,C"))
    };
    let seeds = if let Some((first, last)) = text.split_once('-') {
        let (first, last) = (number(first)?, number(last)?);
        if first > last {
            return Err(format!(
                "seed={text}: the range ends before it starts; expected seed=A-B with A <= B"
            ));
        }
        (first..=last).collect()
    } else {
        text.split(',').map(number).collect::<Result<Vec<_>, _>>()?
    };
    Ok(seeds)
}

/// The most accounts `accounts=` takes: the largest org AWS Organizations allows (its quota can
/// be raised to 10,000) and the benchmark's largest size.
const MOST_ACCOUNTS: usize = 10_000;

/// The org sizes `accounts=` names: one (`2000`) or a list (`1000,2000,5000`), each from 1 to
/// [`MOST_ACCOUNTS`].
fn parse_sizes(text: &str) -> Result<Vec<usize>, String> {
    text.split(',')
        .map(|part| match part.trim().parse::<usize>() {
            Ok(size) if (1..=MOST_ACCOUNTS).contains(&size) => Ok(size),
            _ => Err(format!(
                "accounts={text}: {part:?} is not a number of accounts from 1 to {MOST_ACCOUNTS}; expected accounts=N or accounts=A,B,C"
            )),
        })
        .collect()
}

/// The five ratios of a run: to the bound, as started, to the latency met, at machine pace, to
/// the bound without hedges.
fn ratios(measured: &Measurement) -> [f64; 5] {
    [
        measured.wall / measured.bound,
        measured.wall / measured.bound_as_started,
        measured.wall / measured.bound_latency_met,
        measured.wall / measured.bound_at_machine_pace,
        measured.wall / measured.bound_without_hedges,
    ]
}

/// The median of `values` (the mean of the middle two for an even count; NaN for none).
fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}

fn main() {
    let arguments: Vec<String> = std::env::args()
        .skip(1)
        .filter(|argument| !argument.starts_with("--"))
        .collect();
    let quick = arguments.iter().any(|argument| argument == "quick");
    let seeds = match arguments
        .iter()
        .find_map(|argument| argument.strip_prefix("seed="))
    {
        None => vec![7],
        Some(text) => parse_seeds(text).unwrap_or_else(|message| {
            eprintln!("{message}");
            std::process::exit(2);
        }),
    };
    let tasks: Vec<&str> = match arguments
        .iter()
        .find_map(|argument| argument.strip_prefix("task="))
    {
        None => TASKS.to_vec(),
        Some(name) => match TASKS.iter().find(|task| **task == name) {
            Some(task) => vec![*task],
            None => {
                eprintln!(
                    "task={name}: no such task; expected task={}",
                    TASKS.join(" or task=")
                );
                std::process::exit(2);
            }
        },
    };
    let sizes: Option<Vec<usize>> = arguments
        .iter()
        .find_map(|argument| argument.strip_prefix("accounts="))
        .map(|text| {
            parse_sizes(text).unwrap_or_else(|message| {
                eprintln!("{message}");
                std::process::exit(2);
            })
        });
    if quick && sizes.is_some() {
        eprintln!(
            "quick and accounts= both choose the org sizes: give one of them (quick is accounts=1000)"
        );
        std::process::exit(2);
    }
    let chosen: Vec<&String> = arguments
        .iter()
        .filter(|argument| {
            *argument != "quick"
                && !argument.starts_with("seed=")
                && !argument.starts_with("task=")
                && !argument.starts_with("accounts=")
        })
        .collect();
    if let Some(unknown) = chosen
        .iter()
        .find(|name| !PROFILES.iter().any(|profile| profile.name == name.as_str()))
    {
        let names: Vec<&str> = PROFILES.iter().map(|profile| profile.name).collect();
        eprintln!(
            "{unknown}: no such profile; expected quick, seed=N (or A-B, or A,B,C), task=NAME, accounts=N (or A,B,C) or any of {}",
            names.join(", ")
        );
        std::process::exit(2);
    }
    let directory = std::env::temp_dir().join(format!("rootsweep-bench-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("temp dir");
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .map(|line| line.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get);
    println!("machine: {cores} cores, {cpu}");
    if std::env::var_os(BINARY_VARIABLE).is_some() {
        println!("rootsweep: {}", rootsweep_binary().display());
    }
    if let Ok(directory) = std::env::var(LOG_DIRECTORY_VARIABLE) {
        println!("not default flags: -vv --log-format json, logs in {directory}");
    }
    if let Ok(setting) = std::env::var(HEDGE_READS_VARIABLE) {
        println!("not default flags: {HEDGE_READS_VARIABLE}={setting}");
    }
    let mut paces: BTreeMap<(u64, usize, &str), f64> = BTreeMap::new();
    let mut results: Vec<(u64, Measurement)> = Vec::new();
    for &seed in &seeds {
        println!();
        println!("seed {seed}");
        println!();
        println!(
            "| profile | task | accounts | wall s | lower bound s | ratio | before the accounts s: run / bound | accounts s: run / bound | ratio as started | ratio to latency met | ratio at machine pace | ratio to bound without hedges | calls/account | throttled | hedged reads | not ended well | peak RSS MiB | CPU s | CPU ms/account | emulator CPU s | cores busy | exit |"
        );
        println!(
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for profile in &PROFILES {
            if !chosen.is_empty() && !chosen.iter().any(|name| name.as_str() == profile.name) {
                continue;
            }
            for &accounts in sizes.as_deref().unwrap_or(profile.sizes) {
                if quick && accounts > 1_000 {
                    continue;
                }
                for &task in &tasks {
                    let pace = *paces
                        .entry((seed, accounts, task))
                        .or_insert_with(|| machine_pace(accounts, task, &directory, seed));
                    let measured = run(profile, accounts, task, &directory, seed, pace);
                    let [ratio, as_started, latency_met, machine, unhedged] = ratios(&measured);
                    println!(
                        "| {} | {} | {} | {:.1} | {:.1} | {ratio:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {as_started:.2} | {latency_met:.2} | {machine:.2} | {unhedged:.2} | {:.2} | {} | {} | {} | {:.1} | {:.1} | {:.2} | {:.1} | {:.2} | {} |",
                        measured.profile,
                        measured.task,
                        measured.accounts,
                        measured.wall,
                        measured.bound,
                        measured.discovery_wall,
                        measured.discovery_bound,
                        measured.wall - measured.discovery_wall,
                        measured.bound - measured.discovery_bound,
                        measured.calls_per_account,
                        measured.throttled,
                        measured.hedged,
                        measured.not_well,
                        measured.peak_rss_mib,
                        measured.cpu_seconds,
                        1000.0 * measured.cpu_seconds / measured.accounts as f64,
                        measured.emulator_cpu_seconds,
                        (measured.cpu_seconds + measured.emulator_cpu_seconds) / measured.wall,
                        measured.exit_code
                    );
                    let _ = std::io::stdout().flush();
                    if measured.faster_than_met > 0 {
                        eprintln!(
                            "warning: {} accounts of this run ended sooner than the latency they met allows: the harness's model of what {task} needs is wrong, and its bounds are not bounds",
                            measured.faster_than_met
                        );
                    }
                    results.push((seed, measured));
                }
            }
        }
    }
    println!();
    println!(
        "| seed | task | accounts | machine pace, accounts/s (no quotas, latency or faults) |"
    );
    println!("|---:|---|---:|---:|");
    for ((seed, accounts, task), pace) in &paces {
        println!("| {seed} | {task} | {accounts} | {pace:.0} |");
    }
    if seeds.len() > 1 {
        println!();
        println!("medians over {} seeds", seeds.len());
        println!();
        println!(
            "| profile | task | accounts | ratio: median | lowest | highest | as started | to latency met | at machine pace | to bound without hedges | before the accounts s: run / bound | accounts s: run / bound | machine pace, accounts/s |"
        );
        println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        let mut keys: Vec<(&str, &str, usize)> = Vec::new();
        for (_, measured) in &results {
            let key = (measured.profile, measured.task, measured.accounts);
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        for (profile, task, accounts) in keys {
            let measurements: Vec<&Measurement> = results
                .iter()
                .filter(|(_, measured)| {
                    (measured.profile, measured.task, measured.accounts)
                        == (profile, task, accounts)
                })
                .map(|(_, measured)| measured)
                .collect();
            let runs: Vec<[f64; 5]> = measurements
                .iter()
                .map(|measured| ratios(measured))
                .collect();
            // Each part's median on its own: where the seeds lose, before the accounts or in
            // them (the medians of the parts need not add up to the median of the whole).
            let part = |of: fn(&Measurement) -> f64| {
                median(measurements.iter().map(|measured| of(measured)).collect())
            };
            let column = |index: usize| runs.iter().map(|run| run[index]).collect::<Vec<f64>>();
            let primary = column(0);
            let lowest = primary.iter().copied().fold(f64::INFINITY, f64::min);
            let highest = primary.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let pace = median(
                paces
                    .iter()
                    .filter(|((_, size, kind), _)| *size == accounts && *kind == task)
                    .map(|(_, pace)| *pace)
                    .collect(),
            );
            println!(
                "| {profile} | {task} | {accounts} | {:.2} | {lowest:.2} | {highest:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {pace:.0} |",
                median(primary),
                median(column(1)),
                median(column(2)),
                median(column(3)),
                median(column(4)),
                part(|measured| measured.discovery_wall),
                part(|measured| measured.discovery_bound),
                part(|measured| measured.wall - measured.discovery_wall),
                part(|measured| measured.bound - measured.discovery_bound),
            );
        }
    }
    std::fs::remove_dir_all(&directory).ok();
    eprintln!("done");
}
