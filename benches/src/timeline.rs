//! CPU time sampled while a run goes: how busy the machine's cores were between two instants
//! of the run (the org-scale harness asks for the accounts' phase, from the first account to the
//! end, where discovery's mostly idle second would otherwise dilute the whole run's figure).

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
}
