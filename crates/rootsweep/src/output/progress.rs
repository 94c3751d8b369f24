//! The progress bar on stderr ([`ProgressDisplay`], indicatif): accounts done out of all,
//! accounts per second, ETA, counts per status, throttles and the current AssumeRoot rate. It
//! is on only where it helps: [`wanted`] decides.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rootsweep_core::{Progress, Status};

/// Whether to draw a progress bar: never with `--no-progress`, under CI, with `-v` (logs would
/// tear it), or when stderr is not a terminal.
pub(crate) fn wanted(no_progress: bool, stderr_is_terminal: bool, ci: bool, verbose: u8) -> bool {
    !no_progress && stderr_is_terminal && !ci && verbose == 0
}

/// Whether this looks like a CI job.
pub(crate) fn in_ci() -> bool {
    std::env::var_os("CI")
        .is_some_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// The bar.
pub(crate) struct ProgressDisplay {
    bar: ProgressBar,
    assume_root_rate: Option<f64>,
}

impl ProgressDisplay {
    pub(crate) fn new(total: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner:.green} [{elapsed_precise}] {bar:28.cyan/blue} {pos}/{len} {per_sec:>9} ETA {eta:>4}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(120));
        Self {
            bar,
            assume_root_rate: None,
        }
    }

    /// A handle for printing above the bar.
    pub(crate) fn bar(&self) -> ProgressBar {
        self.bar.clone()
    }

    pub(crate) fn update(&mut self, progress: &Progress) {
        self.bar.set_length(progress.total as u64);
        self.bar.set_position(progress.finished as u64);
        let mut parts: Vec<String> = Status::ALL
            .iter()
            .filter_map(|status| {
                let count = progress.counts.get(*status);
                (count > 0).then(|| format!("{count} {status}"))
            })
            .collect();
        if progress.throttled > 0 {
            parts.push(format!("{} throttled", progress.throttled));
        }
        if let Some(rate) = self.assume_root_rate {
            parts.push(format!("AssumeRoot {rate:.0}/s"));
        }
        self.bar.set_message(parts.join(" · "));
    }

    pub(crate) fn rate(&mut self, rate: f64) {
        self.assume_root_rate = Some(rate);
    }

    pub(crate) fn note(&self, text: &str) {
        self.bar.println(text);
    }

    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_shows_only_where_it_helps() {
        assert!(wanted(false, true, false, 0));
        assert!(!wanted(true, true, false, 0), "--no-progress");
        assert!(!wanted(false, false, false, 0), "stderr not a terminal");
        assert!(!wanted(false, true, true, 0), "CI");
        assert!(!wanted(false, true, false, 1), "-v");
    }
}
