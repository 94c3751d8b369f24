//! Wall-clock time, for the timestamps in records. Everything that waits or measures durations
//! uses `tokio::time`, so that tests can pause time; this is the one place that reads the
//! system clock.

use std::time::{Duration, SystemTime};

/// Now, as seconds since the Unix epoch.
pub(crate) fn now() -> SystemTime {
    #[expect(
        clippy::disallowed_methods,
        reason = "the one place that reads the wall clock"
    )]
    SystemTime::now()
}

/// Formats a time as RFC 3339 (`2026-11-24T06:15:00Z`).
pub(crate) fn rfc3339(time: SystemTime) -> String {
    aws_smithy_types::DateTime::from(time)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// Formats an SDK timestamp as RFC 3339.
pub(crate) fn format_datetime(time: &aws_smithy_types::DateTime) -> String {
    time.fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// How long until an SDK timestamp, from now (zero if it has passed).
pub(crate) fn until(time: &aws_smithy_types::DateTime) -> Duration {
    SystemTime::try_from(*time)
        .ok()
        .and_then(|then| then.duration_since(now()).ok())
        .unwrap_or_default()
}

/// A run ID: the start time and a random suffix (`20261124T061500Z-4f9c2a`).
pub(crate) fn run_id() -> String {
    let seconds = now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let whole = SystemTime::UNIX_EPOCH + Duration::from_secs(seconds);
    let stamp = rfc3339(whole).replace(['-', ':'], "");
    format!("{stamp}-{:06x}", fastrand::u32(..0x100_0000))
}

#[cfg(test)]
mod tests {
    #[test]
    fn run_ids_are_a_whole_second_and_a_suffix() {
        let id = super::run_id();
        assert_eq!(id.len(), "20261124T061500Z-4f9c2a".len(), "{id}");
        assert_eq!(&id[8..9], "T");
        assert_eq!(&id[15..17], "Z-");
    }
}
