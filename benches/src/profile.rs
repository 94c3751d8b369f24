//! The quota profiles the org-scale benchmark runs: quotas rootsweep is not told, and the
//! emulator's latency.

/// One quota profile.
pub struct Profile {
    /// What `just bench PROFILE` calls it.
    pub name: &'static str,
    /// AssumeRoot calls a second, for the caller (the management account).
    pub assume_root: f64,
    /// IAM calls a second in each member account.
    pub iam_per_account: f64,
    /// Organizations calls a second, for the caller.
    pub organizations: f64,
    /// The latency's median, in milliseconds, on every call.
    pub median_ms: f64,
    /// The latency's 99th percentile, in milliseconds (log-normal between the two).
    pub p99_ms: f64,
    /// Share of calls throttled at random on top of the quotas.
    pub noise: f64,
    /// The org sizes it runs with.
    pub sizes: &'static [usize],
}

/// Every profile `just bench` runs, in the order it runs them (docs/benchmarks.md has the table).
pub const PROFILES: [Profile; 4] = [
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
/// own two processes sets the pace (the harness's machine pace).
pub const UNLIMITED: Profile = Profile {
    name: "unlimited",
    assume_root: f64::INFINITY,
    iam_per_account: f64::INFINITY,
    organizations: f64::INFINITY,
    median_ms: 0.0,
    p99_ms: 0.0,
    noise: 0.0,
    sizes: &[],
};
