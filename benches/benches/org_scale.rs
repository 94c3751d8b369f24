//! Org-scale benchmark: the release `rootsweep` binary against the release emulator binary, two
//! separate processes, with generated orgs of 1,000 and 10,000 accounts and quota profiles
//! rootsweep is not told. For each run it reports the wall time, the lower bound the quotas
//! and latency imply for the calls the task had to make (computed from the profile and the
//! emulator's own counts), their ratio, calls per account, throttled answers, accounts that
//! did not end well, and the peak RSS and CPU seconds of the rootsweep process.
//!
//! Run: `just bench` (builds the release binaries first), or
//! `cargo build --release -p rootsweep -p rootsweep-emulator && cargo bench -p rootsweep-benches --bench org_scale`.
//! Arguments after `--`: `quick` (1,000-account runs only), or profile names to run only those.
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

fn start_emulator(directory: &Path, profile: &Profile, accounts: usize) -> EmulatorProcess {
    let spec = json!({ "scp_restricted_ous": 0, "password_share": 0.35, "access_key_share": 0.15 });
    let mut faults = Vec::new();
    if profile.noise > 0.0 {
        faults.push(json!({ "kind": "throttle", "rate": profile.noise }));
    }
    let load = json!({
        "seed": 7,
        "latency": { "median_ms": profile.median_ms, "p99_ms": profile.p99_ms },
        "quotas": {
            "assume_root": { "per_second": profile.assume_root },
            "iam_per_account": { "per_second": profile.iam_per_account },
            "organizations": { "per_second": profile.organizations },
        },
        "faults": faults,
    });
    let spec_path = directory.join("spec.json");
    let load_path = directory.join("load.json");
    std::fs::write(&spec_path, spec.to_string()).expect("writes the spec");
    std::fs::write(&load_path, load.to_string()).expect("writes the load profile");
    let mut child = Command::new(binary("rootsweep-emulator"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "7",
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

/// Samples VmHWM while the process runs; reads its CPU times once it has exited (a zombie
/// still has them), then reaps it.
fn watch(child: &mut Child) -> (Usage, std::process::ExitStatus) {
    let pid = child.id();
    let mut usage = Usage::default();
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the command name (which may contain spaces) start after ") ".
        let fields: Vec<&str> = stat
            .rsplit_once(") ")
            .map_or("", |(_, rest)| rest)
            .split(' ')
            .collect();
        let state = fields.first().copied().unwrap_or("");
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            && let Some(line) = status.lines().find(|line| line.starts_with("VmHWM:"))
            && let Some(kib) = line
                .split_whitespace()
                .nth(1)
                .and_then(|value| value.parse::<u64>().ok())
        {
            usage.peak_rss_kib = usage.peak_rss_kib.max(kib);
        }
        if state == "Z" || stat.is_empty() {
            // utime and stime are fields 14 and 15 of stat; 11 and 12 after the state field.
            let ticks: f64 = [11, 12]
                .iter()
                .filter_map(|index| fields.get(*index)?.parse::<f64>().ok())
                .sum();
            usage.cpu_seconds = ticks / clock_ticks();
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
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
    bound: f64,
    calls_per_account: f64,
    throttled: u64,
    not_well: usize,
    peak_rss_mib: f64,
    cpu_seconds: f64,
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

/// The mean of the emulator's log-normal latency (median and 99th percentile given):
/// `median * exp(sigma^2 / 2)`, with `sigma = ln(p99 / median) / 2.326`.
fn mean_latency_seconds(profile: &Profile) -> f64 {
    let sigma = (profile.p99_ms / profile.median_ms).ln() / 2.326;
    profile.median_ms * (sigma * sigma / 2.0).exp() / 1000.0
}

/// The longest chain of Organizations calls that discovery must make one after another:
/// DescribeOrganization, ListRoots, then down the tree, where a parent's child OUs must be
/// listed (every page, 20 to a page) before the child's own listings can start, and the
/// deepest parent's OU or account listing ends the chain.
fn discovery_chain(scenario: &Value) -> usize {
    let empty = Vec::new();
    let units = scenario["organizational_units"]
        .as_array()
        .unwrap_or(&empty);
    let accounts = scenario["accounts"].as_array().unwrap_or(&empty);
    let root = scenario["root_id"].as_str().unwrap_or_default();
    let mut parent_of: BTreeMap<&str, &str> = BTreeMap::new();
    let mut children: BTreeMap<&str, usize> = BTreeMap::new();
    let mut members: BTreeMap<&str, usize> = BTreeMap::new();
    for unit in units {
        let (id, parent) = (
            unit["id"].as_str().unwrap_or_default(),
            unit["parent_id"].as_str().unwrap_or_default(),
        );
        parent_of.insert(id, parent);
        *children.entry(parent).or_default() += 1;
    }
    for account in accounts {
        *members
            .entry(account["parent_id"].as_str().unwrap_or_default())
            .or_default() += 1;
    }
    let pages = |count: usize| count.div_ceil(20).max(1);
    let parents = std::iter::once(root).chain(parent_of.keys().copied());
    let longest = parents
        .map(|parent| {
            let mut chain = pages(children.get(parent).copied().unwrap_or(0))
                .max(pages(members.get(parent).copied().unwrap_or(0)));
            let mut current = parent;
            while let Some(ancestor) = parent_of.get(current).copied() {
                chain += pages(children.get(ancestor).copied().unwrap_or(0));
                current = ancestor;
            }
            chain
        })
        .max()
        .unwrap_or(1);
    2 + longest
}

fn run(profile: &Profile, accounts: usize, task: &'static str, directory: &Path) -> Measurement {
    let emulator = start_emulator(directory, profile, accounts);
    let journal = directory.join(format!("{task}-{}-{accounts}.jsonl", profile.name));
    std::fs::remove_file(&journal).ok();
    let mut command = Command::new(binary("rootsweep"));
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
    let started = Instant::now();
    let mut child = command.spawn().expect("rootsweep starts");
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(record) = serde_json::from_str::<Value>(&line)
                && record["type"] == "account"
            {
                *statuses
                    .entry(record["status"].as_str().unwrap_or_default().to_string())
                    .or_default() += 1;
            }
        }
        statuses
    });
    let (usage, status) = watch(&mut child);
    let wall = started.elapsed().as_secs_f64();
    let statuses = reader.join().expect("the reader ends");
    let stats = admin(&emulator.endpoint, "/_emulator/stats");
    let counts = operation_counts(&stats);

    // The lower bound the quotas and latency imply for the calls this run had to make:
    // discovery (Organizations calls at the Organizations quota, or the chain of calls that
    // depend on each other at the mean latency, whichever is longer), then AssumeRoot (every
    // call that used a token, at the AssumeRoot quota, less the bucket's one-second burst), then
    // the last account's own calls one after another at the mean latency (or its IAM quota),
    // taking the last account to make as many calls as the average one.
    let tokens = |prefix: &str| -> u64 {
        counts
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(_, (calls, throttled, faults))| calls - throttled - faults)
            .sum()
    };
    let organizations = tokens("organizations:") as f64;
    let assume_roots = tokens("sts:AssumeRoot") as f64;
    let in_account = tokens("iam:") as f64 + tokens("s3:") as f64 + tokens("sqs:") as f64;
    let worked = statuses
        .iter()
        .filter(|(status, _)| *status != "skipped")
        .map(|(_, count)| *count)
        .sum::<usize>()
        .max(1);
    let per_account = in_account / worked as f64;
    // A chain of calls that wait for each other takes, on average, the mean latency per call.
    let mean_latency = mean_latency_seconds(profile);
    let tail = (per_account * mean_latency)
        .max((per_account - profile.iam_per_account).max(0.0) / profile.iam_per_account)
        + mean_latency;
    let scenario = admin(&emulator.endpoint, "/_emulator/scenario");
    let discovery = ((organizations - profile.organizations).max(0.0) / profile.organizations)
        .max(discovery_chain(&scenario) as f64 * mean_latency);
    let bound =
        discovery + ((assume_roots - profile.assume_root).max(0.0) / profile.assume_root) + tail;
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
        calls_per_account: all_calls as f64 / accounts as f64,
        throttled,
        not_well,
        peak_rss_mib: usage.peak_rss_kib as f64 / 1024.0,
        cpu_seconds: usage.cpu_seconds,
        exit_code: status.code().unwrap_or(-1),
    }
}

fn main() {
    let arguments: Vec<String> = std::env::args()
        .skip(1)
        .filter(|argument| !argument.starts_with("--"))
        .collect();
    let quick = arguments.iter().any(|argument| argument == "quick");
    let chosen: Vec<&String> = arguments
        .iter()
        .filter(|argument| *argument != "quick")
        .collect();
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
    println!(
        "| profile | task | accounts | wall s | lower bound s | ratio | calls/account | throttled | not ended well | peak RSS MiB | CPU s | CPU ms/account | exit |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for profile in &PROFILES {
        if !chosen.is_empty() && !chosen.iter().any(|name| name.as_str() == profile.name) {
            continue;
        }
        for &accounts in profile.sizes {
            if quick && accounts > 1_000 {
                continue;
            }
            for task in ["audit", "delete-credentials"] {
                let measured = run(profile, accounts, task, &directory);
                println!(
                    "| {} | {} | {} | {:.1} | {:.1} | {:.2} | {:.2} | {} | {} | {:.1} | {:.1} | {:.2} | {} |",
                    measured.profile,
                    measured.task,
                    measured.accounts,
                    measured.wall,
                    measured.bound,
                    measured.wall / measured.bound,
                    measured.calls_per_account,
                    measured.throttled,
                    measured.not_well,
                    measured.peak_rss_mib,
                    measured.cpu_seconds,
                    1000.0 * measured.cpu_seconds / measured.accounts as f64,
                    measured.exit_code
                );
                let _ = std::io::stdout().flush();
            }
        }
    }
    std::fs::remove_dir_all(&directory).ok();
    eprintln!("done");
}
