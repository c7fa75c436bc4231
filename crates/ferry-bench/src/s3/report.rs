//! Counting: what each client saw in a phase, merged into a [`Report`].
//!
//! Rates and latencies count only requests that *finished* inside the
//! measured window; errors are counted over the whole run, warmup included,
//! so that none is hidden.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::Args;
use crate::common::{Errors, micros, percentile_ms};

/// One client's counts in a phase (and, merged, all clients').
#[derive(Debug, Default)]
pub struct Tally {
    latencies_us: Vec<u32>,
    /// Requests finished in the window.
    pub requests: u64,
    /// Of those, the successful ones.
    pub ok: u64,
    /// Failures over the whole phase.
    pub errors: Errors,
    /// Keys written (PUT phase), warmup included.
    pub written: Vec<String>,
    /// TCP connections opened.
    pub connections: u64,
}

impl Tally {
    /// A request that finished; it counts if it is in the window.
    pub fn request(&mut self, latency: Duration, in_window: bool, ok: bool) {
        if in_window {
            self.latencies_us.push(micros(latency));
            self.requests += 1;
            self.ok += u64::from(ok);
        }
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, mut other: Tally) {
        self.latencies_us.append(&mut other.latencies_us);
        self.requests += other.requests;
        self.ok += other.ok;
        self.errors.merge(other.errors);
        self.written.append(&mut other.written);
        self.connections += other.connections;
    }

    fn phase(&mut self, operation: &'static str, seconds: f64) -> PhaseReport {
        let l = &mut self.latencies_us;
        l.sort_unstable();
        PhaseReport {
            operation,
            requests: self.requests,
            ok: self.ok,
            ops_per_sec: if seconds > 0.0 {
                self.ok as f64 / seconds
            } else {
                0.0
            },
            p50_ms: percentile_ms(l, 0.50),
            p99_ms: percentile_ms(l, 0.99),
            max_ms: l.last().map_or(0.0, |&us| f64::from(us) / 1000.0),
            errors: self.errors.total(),
        }
    }
}

/// A small-object phase in its window.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    /// `PutObject` or `GetObject`.
    pub operation: &'static str,
    /// Requests finished in the window (failed ones included).
    pub requests: u64,
    /// Of those, the successful ones.
    pub ok: u64,
    /// Successful requests per second.
    pub ops_per_sec: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Failures over the whole phase (warmup included).
    pub errors: u64,
}

/// The big object's PUT and GET.
#[derive(Debug, Clone, Serialize)]
pub struct BigReport {
    /// The object's length.
    pub bytes: u64,
    /// Seconds the PUT took (request sent to answer read).
    pub put_secs: f64,
    /// Whether the PUT succeeded.
    pub put_ok: bool,
    /// MB (10^6 bytes) per second of the PUT (0 if it failed).
    pub put_mb_per_sec: f64,
    /// Seconds the GET took (request sent to the last byte read).
    pub get_secs: f64,
    /// Whether the GET succeeded and read the whole object.
    pub get_ok: bool,
    /// MB (10^6 bytes) per second of the GET (0 if it failed).
    pub get_mb_per_sec: f64,
}

impl BigReport {
    /// The report of a `bytes` PUT and GET.
    pub fn new(bytes: u64, put_secs: f64, put_ok: bool, get_secs: f64, get_ok: bool) -> Self {
        let rate = |ok: bool, secs: f64| {
            if ok && secs > 0.0 {
                bytes as f64 / 1e6 / secs
            } else {
                0.0
            }
        };
        BigReport {
            bytes,
            put_secs,
            put_ok,
            put_mb_per_sec: rate(put_ok, put_secs),
            get_secs,
            get_ok,
            get_mb_per_sec: rate(get_ok, get_secs),
        }
    }
}

/// The outcome of a run (printed, or as JSON with `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The server.
    pub endpoint: String,
    /// The bucket used.
    pub bucket: String,
    /// Concurrent clients of the small-object phases.
    pub clients: usize,
    /// Bytes per small object.
    pub object_bytes: u64,
    /// Warmup before each measured window, in seconds.
    pub warmup_secs: f64,
    /// Each measured window's length, in seconds.
    pub measured_secs: f64,
    /// The PUT phase.
    pub put: PhaseReport,
    /// The GET phase.
    pub get: PhaseReport,
    /// The big object (absent with `--big 0`).
    pub big: Option<BigReport>,
    /// Errors over the whole run (warmups included).
    pub errors_total: u64,
    /// Errors by code (`<Code> (<status>)`, `HTTP <status>`, `Transport`, ...).
    pub errors: BTreeMap<String, u64>,
    /// The first few errors, with their messages.
    pub error_samples: Vec<String>,
    /// TCP connections opened by the clients.
    pub connections_opened: u64,
    /// Things that went wrong outside the load.
    pub warnings: Vec<String>,
}

impl Report {
    /// Assembles the report of a run.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        args: &Args,
        bucket: String,
        mut put: Tally,
        mut get: Tally,
        big: Option<BigReport>,
        big_errors: Errors,
        other_connections: u64,
        warnings: Vec<String>,
    ) -> Self {
        let seconds = args.duration.as_secs_f64();
        let put_report = put.phase("PutObject", seconds);
        let get_report = get.phase("GetObject", seconds);
        let mut errors = Errors::default();
        errors.merge(std::mem::take(&mut put.errors));
        errors.merge(std::mem::take(&mut get.errors));
        errors.merge(big_errors);
        Report {
            endpoint: args.target.endpoint.clone(),
            bucket,
            clients: args.clients,
            object_bytes: args.size,
            warmup_secs: args.warmup.as_secs_f64(),
            measured_secs: seconds,
            put: put_report,
            get: get_report,
            big,
            errors_total: errors.total(),
            errors: errors.by_code,
            error_samples: errors.samples,
            connections_opened: put.connections + get.connections + other_connections,
            warnings,
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "S3 load on {} (bucket {}): {} clients, {}-byte objects",
            self.endpoint, self.bucket, self.clients, self.object_bytes
        )?;
        writeln!(
            f,
            "each phase measured {:.2} s after a {:.2} s warmup; {} connections opened",
            self.measured_secs, self.warmup_secs, self.connections_opened
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "operation", "requests", "ok/s", "p50 ms", "p99 ms", "max ms", "errors"
        )?;
        for p in [&self.put, &self.get] {
            writeln!(
                f,
                "{:<12} {:>9} {:>9.0} {:>9.2} {:>9.2} {:>9.2} {:>9}",
                p.operation, p.requests, p.ops_per_sec, p.p50_ms, p.p99_ms, p.max_ms, p.errors
            )?;
        }
        if let Some(b) = &self.big {
            let outcome = |ok: bool, secs: f64, rate: f64| {
                if ok {
                    format!("{rate:.1} MB/s ({secs:.2} s)")
                } else {
                    format!("failed after {secs:.2} s")
                }
            };
            writeln!(f)?;
            writeln!(
                f,
                "big object, {} bytes: PUT {}, GET {}",
                b.bytes,
                outcome(b.put_ok, b.put_secs, b.put_mb_per_sec),
                outcome(b.get_ok, b.get_secs, b.get_mb_per_sec)
            )?;
        }
        writeln!(f)?;
        if self.errors.is_empty() {
            writeln!(f, "errors: none")?;
        } else {
            writeln!(
                f,
                "errors (whole run, warmups included): {}",
                self.errors_total
            )?;
            for (code, n) in &self.errors {
                writeln!(f, "  {code}: {n}")?;
            }
            writeln!(f, "first errors:")?;
            for s in &self.error_samples {
                writeln!(f, "  {s}")?;
            }
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::Failure;

    #[test]
    fn tallies_count_the_window_and_every_error() {
        let mut a = Tally::default();
        a.request(Duration::from_millis(2), true, true);
        a.request(Duration::from_millis(9), false, true);
        a.written.push("0/1".into());
        let mut b = Tally::default();
        b.request(Duration::from_millis(4), true, true);
        b.request(Duration::from_millis(6), true, false);
        b.errors.add(&Failure::new("SlowDown (503)", "slow down"));
        b.written.push("1/1".into());
        a.merge(b);
        assert_eq!((a.requests, a.ok), (3, 2));
        assert_eq!(a.written, ["0/1", "1/1"]);
        let p = a.phase("PutObject", 2.0);
        assert_eq!(p.ops_per_sec, 1.0);
        assert_eq!((p.p50_ms, p.p99_ms, p.max_ms), (4.0, 6.0, 6.0));
        assert_eq!(p.errors, 1);
    }

    #[test]
    fn big_rates_are_decimal_megabytes_and_zero_on_failure() {
        let b = BigReport::new(1_000_000_000, 2.0, true, 4.0, false);
        assert_eq!(b.put_mb_per_sec, 500.0);
        assert_eq!(b.get_mb_per_sec, 0.0);
    }
}
