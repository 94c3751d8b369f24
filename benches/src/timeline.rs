//! CPU time sampled while a run goes: how busy the machine's cores were between two instants
//! of the run (the org-scale harness asks for the accounts' phase, from the first account to the
//! end, where discovery's mostly idle second would otherwise dilute the whole run's figure), and
//! how much of the CPU time wanted meanwhile the machine's hypervisor gave to other tenants
//! (steal).

/// One sample: seconds since the run started, and CPU seconds the processes watched had used
/// since then.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuSample {
    /// Seconds since the run started.
    pub elapsed: f64,
    /// CPU seconds used since the run started.
    pub cpu_seconds: f64,
}

/// CPU seconds used by `at` seconds into the run, interpolated between the samples around it
/// (the first or the last sample's outside them; 0 without samples). `samples` are in time
/// order.
pub fn cpu_seconds_at(samples: &[CpuSample], at: f64) -> f64 {
    let next = samples.partition_point(|sample| sample.elapsed < at);
    match (
        next.checked_sub(1).map(|index| samples[index]),
        samples.get(next),
    ) {
        (Some(before), Some(after)) => {
            let share = (at - before.elapsed) / (after.elapsed - before.elapsed);
            before.cpu_seconds + share * (after.cpu_seconds - before.cpu_seconds)
        }
        (None, Some(after)) => after.cpu_seconds,
        (Some(before), None) => before.cpu_seconds,
        (None, None) => 0.0,
    }
}

/// How many cores the processes kept busy on average from `from` to `to` seconds into the run
/// (NaN for an empty span).
pub fn cores_busy(samples: &[CpuSample], from: f64, to: f64) -> f64 {
    if to <= from {
        return f64::NAN;
    }
    (cpu_seconds_at(samples, to) - cpu_seconds_at(samples, from)) / (to - from)
}

/// The machine's CPU time from the first line of `/proc/stat`, in clock ticks: the time its
/// CPUs were wanted (not idle), and what a hypervisor took of that for other virtual machines
/// (steal: the virtual CPU was ready to run but the host ran someone else).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachineTimes {
    /// Ticks not idle and not waiting for I/O: user, nice, system, irq, softirq and steal
    /// (guest time is counted in user and nice already).
    pub wanted: u64,
    /// Ticks stolen.
    pub steal: u64,
}

impl MachineTimes {
    /// Reads the `cpu` line of `/proc/stat` (`None` if it is not there or not understood).
    pub fn parse(proc_stat: &str) -> Option<Self> {
        let line = proc_stat.lines().find(|line| line.starts_with("cpu "))?;
        let ticks: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(|field| field.parse().ok())
            .collect::<Option<_>>()?;
        // user nice system idle iowait irq softirq steal [guest guest_nice]
        let &[user, nice, system, _idle, _iowait, irq, softirq, steal, ..] = ticks.as_slice()
        else {
            return None;
        };
        Some(Self {
            wanted: user + nice + system + irq + softirq + steal,
            steal,
        })
    }

    /// The share of the CPU time wanted between `self` and `later` that the hypervisor stole
    /// (NaN if none was wanted).
    pub fn stolen_share_until(&self, later: &Self) -> f64 {
        let wanted = later.wanted.saturating_sub(self.wanted);
        if wanted == 0 {
            return f64::NAN;
        }
        later.steal.saturating_sub(self.steal) as f64 / wanted as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<CpuSample> {
        [(0.0, 0.0), (1.0, 0.2), (2.0, 1.8), (3.0, 3.4)]
            .into_iter()
            .map(|(elapsed, cpu_seconds)| CpuSample {
                elapsed,
                cpu_seconds,
            })
            .collect()
    }

    #[test]
    fn cpu_between_samples_is_interpolated_and_held_outside_them() {
        let samples = samples();
        assert!((cpu_seconds_at(&samples, 1.5) - 1.0).abs() < 1e-12);
        assert!((cpu_seconds_at(&samples, 2.0) - 1.8).abs() < 1e-12);
        assert!((cpu_seconds_at(&samples, 9.0) - 3.4).abs() < 1e-12);
        assert!((cpu_seconds_at(&samples, -1.0) - 0.0).abs() < 1e-12);
        assert!((cpu_seconds_at(&[], 1.0) - 0.0).abs() < 1e-12);
    }

    #[test]
    fn cores_busy_is_cpu_seconds_per_second_of_the_span() {
        let samples = samples();
        // An idle first second (discovery, say), then 1.6 cores busy.
        assert!((cores_busy(&samples, 0.0, 3.0) - 3.4 / 3.0).abs() < 1e-12);
        assert!((cores_busy(&samples, 1.0, 3.0) - 1.6).abs() < 1e-12);
        assert!(cores_busy(&samples, 2.0, 2.0).is_nan());
    }

    #[test]
    fn steal_is_read_from_proc_stat_as_a_share_of_the_time_wanted() {
        let before = MachineTimes::parse(
            "cpu  2452421 0 432140 14056632 37811 0 50942 69363 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n",
        )
        .expect("a cpu line");
        assert_eq!(before.steal, 69_363);
        // Everything but idle (14,056,632) and I/O wait (37,811).
        assert_eq!(before.wanted, 2_452_421 + 432_140 + 50_942 + 69_363);
        let later = MachineTimes {
            wanted: before.wanted + 400,
            steal: before.steal + 100,
        };
        assert!((before.stolen_share_until(&later) - 0.25).abs() < 1e-12);
        assert!(before.stolen_share_until(&before).is_nan());
        // Kernels before 2.6.11 had no steal field; garbage is not a machine.
        assert_eq!(MachineTimes::parse("cpu  1 2 3 4 5 6 7\n"), None);
        assert_eq!(MachineTimes::parse("cpu  a b c d e f g h\n"), None);
        assert_eq!(MachineTimes::parse("intr 1 2 3\n"), None);
    }
}
