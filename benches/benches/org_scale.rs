//! Org-scale benchmark: the release `rootsweep` binary against the release emulator binary, two
//! separate processes, with generated orgs of 1,000 and 10,000 accounts and quota profiles
//! rootsweep is not told. For each run it reports the wall time, the lower bound the quotas
//! and latency imply for the calls the task had to make (computed from the profile and the
//! emulator's own counts), their ratio, calls per account, throttled answers, accounts that
//! did not end well, and the peak RSS and CPU seconds of the rootsweep process. Three more
//! ratios tell a gap's causes apart (docs/benchmarks.md): the bound with the accounts in the
//! order rootsweep started them, the bound for the latency the run met, and the bound with no
//! account started faster than the machine works them off with no quotas or latency at all.
//! So do how many cores both processes kept busy (over the run, and from its first account to
//! its end) and how much of the CPU time wanted the hypervisor gave to other tenants.
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
//! The bound itself is `rootsweep_benches::bound` (benches/src/bound.rs), tested on its own.
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

use rootsweep_benches::arguments::{parse_seeds, parse_sizes};
use rootsweep_benches::bound::{
    Chain, Order, Tokens, Tree, bound_with_latency_met, expected_discovery, lower_bound,
};
use rootsweep_benches::profile::{PROFILES, Profile, UNLIMITED};
use rootsweep_benches::timeline::{CpuSample, MachineTimes, cores_busy};
use serde_json::{Value, json};

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
    /// The CPU time of the process and the emulator together, sampled as the run went.
    timeline: Vec<CpuSample>,
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

/// The machine's CPU time and what its hypervisor stole, now.
fn machine_times() -> Option<MachineTimes> {
    MachineTimes::parse(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// Samples VmHWM and the CPU time of the process and of the emulator (`emulator_pid`, which had
/// used `emulator_cpu_before` when the run started at `started`) while the process runs; reads
/// its CPU times once it has exited, then reaps it.
fn watch(
    child: &mut Child,
    emulator_pid: u32,
    started: Instant,
    emulator_cpu_before: f64,
) -> (Usage, std::process::ExitStatus) {
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
        if let Some((_, seconds)) = &stat {
            usage.timeline.push(CpuSample {
                elapsed: started.elapsed().as_secs_f64(),
                cpu_seconds: seconds + cpu_seconds(emulator_pid) - emulator_cpu_before,
            });
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
    /// How many cores rootsweep and the emulator kept busy from the first account to the end.
    cores_busy_accounts: f64,
    /// The share of the CPU time wanted during the run that the hypervisor stole.
    stolen: f64,
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

/// What one run of rootsweep against the emulator left behind.
struct Sweep {
    wall: f64,
    usage: Usage,
    exit_code: i32,
    emulator_cpu_seconds: f64,
    /// The share of the CPU time wanted during the run that the machine's hypervisor gave to
    /// other tenants (NaN where `/proc/stat` says nothing of it).
    stolen: f64,
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

/// Where each run's JSON Lines output is kept, under the target directory (created if need be).
fn kept_outputs() -> PathBuf {
    let directory = target_directory().join("org-scale-runs");
    std::fs::create_dir_all(&directory).expect("creates the directory of kept outputs");
    directory.canonicalize().unwrap_or(directory)
}

/// The file that keeps one run's JSON Lines output (a later run of the same overwrites it).
fn kept_output(task: &str, profile: &Profile, accounts: usize, seed: u64) -> PathBuf {
    kept_outputs().join(format!(
        "{task}-{}-{accounts}-seed{seed}.jsonl",
        profile.name
    ))
}

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
    let machine_before = machine_times();
    let started = Instant::now();
    let mut child = command.spawn().expect("rootsweep starts");
    let stdout = child.stdout.take().expect("stdout");
    // Kept after the run (the latest of each task, profile, size and seed), so that a run that
    // surprises can be looked at afterwards: every account's start, duration, calls and retries.
    let kept = kept_output(task, profile, accounts, seed);
    let reader = std::thread::spawn(move || {
        let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
        let mut chains = Vec::new();
        let mut hedged = 0;
        let mut accounts_seconds = f64::NAN;
        let mut kept =
            std::io::BufWriter::new(std::fs::File::create(&kept).expect("creates the kept output"));
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            writeln!(kept, "{line}").expect("keeps the output");
            let Ok(record) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if record["type"] == "account" {
                let status = record["status"].as_str().unwrap_or_default().to_string();
                if status != "skipped" {
                    chains.push(Chain::from_record(task, &record));
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
        kept.flush().expect("keeps the output");
        (statuses, chains, hedged, accounts_seconds)
    });
    let (usage, status) = watch(
        &mut child,
        emulator.child.id(),
        started,
        emulator_cpu_before,
    );
    let wall = started.elapsed().as_secs_f64();
    let emulator_cpu_seconds = cpu_seconds(emulator.child.id()) - emulator_cpu_before;
    let stolen = match (machine_before, machine_times()) {
        (Some(before), Some(after)) => before.stolen_share_until(&after),
        _ => f64::NAN,
    };
    let (statuses, chains, hedged, accounts_seconds) = reader.join().expect("the reader ends");
    let stats = admin(&emulator.endpoint, "/_emulator/stats");
    let scenario = admin(&emulator.endpoint, "/_emulator/scenario");
    Sweep {
        wall,
        usage,
        exit_code: status.code().unwrap_or(-1),
        emulator_cpu_seconds,
        stolen,
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
/// sustain. An estimate, not a bound: a measured run may beat it slightly. Also returns the
/// share of the CPU time wanted that the machine's hypervisor stole over those runs (their
/// mean), which says whether other tenants slowed them.
fn machine_pace(accounts: usize, task: &'static str, directory: &Path, seed: u64) -> (f64, f64) {
    let mut stolen = Vec::new();
    let mut paces: Vec<f64> = (0..PACE_RUNS)
        .map(|_| {
            let unlimited = sweep(&UNLIMITED, accounts, task, directory, seed);
            stolen.push(unlimited.stolen);
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
    (
        paces[PACE_RUNS / 2],
        stolen.iter().sum::<f64>() / PACE_RUNS as f64,
    )
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
        stolen,
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
        cores_busy_accounts: cores_busy(&usage.timeline, wall - accounts_seconds, wall),
        stolen,
        exit_code,
    }
}

/// The tasks the benchmark runs, in this order; `task=NAME` runs one alone.
const TASKS: [&str; 2] = ["audit", "delete-credentials"];

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
    println!(
        "each run's JSON Lines output: {} (the latest of each task, profile, size and seed)",
        kept_outputs().display()
    );
    let mut paces: BTreeMap<(u64, usize, &str), (f64, f64)> = BTreeMap::new();
    let mut results: Vec<(u64, Measurement)> = Vec::new();
    for &seed in &seeds {
        println!();
        println!("seed {seed}");
        println!();
        println!(
            "| profile | task | accounts | wall s | lower bound s | ratio | before the accounts s: run / bound | accounts s: run / bound | ratio as started | ratio to latency met | ratio at machine pace | ratio to bound without hedges | calls/account | throttled | hedged reads | not ended well | peak RSS MiB | CPU s | CPU ms/account | emulator CPU s | cores busy: run / accounts | stolen % | exit |"
        );
        println!(
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
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
                    let (pace, _) = *paces
                        .entry((seed, accounts, task))
                        .or_insert_with(|| machine_pace(accounts, task, &directory, seed));
                    let measured = run(profile, accounts, task, &directory, seed, pace);
                    let [ratio, as_started, latency_met, machine, unhedged] = ratios(&measured);
                    println!(
                        "| {} | {} | {} | {:.1} | {:.1} | {ratio:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {as_started:.2} | {latency_met:.2} | {machine:.2} | {unhedged:.2} | {:.2} | {} | {} | {} | {:.1} | {:.1} | {:.2} | {:.1} | {:.2} / {:.2} | {:.0} | {} |",
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
                        measured.cores_busy_accounts,
                        100.0 * measured.stolen,
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
        "| seed | task | accounts | machine pace, accounts/s (no quotas, latency or faults) | stolen % |"
    );
    println!("|---:|---|---:|---:|---:|");
    for ((seed, accounts, task), (pace, stolen)) in &paces {
        println!(
            "| {seed} | {task} | {accounts} | {pace:.0} | {:.0} |",
            100.0 * stolen
        );
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
                    .map(|(_, (pace, _))| *pace)
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
