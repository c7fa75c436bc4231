//! Counting: what each client saw, merged at the end into a [`Report`].
//!
//! Throughput and latency count only what *finished* inside the measured
//! window (after the warmup, before the end). Errors are counted over the
//! whole run, warmup included, so that none is hidden.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::wire::Op;
use crate::common::{Errors, Failure, micros, percentile_ms};

/// One client's counts (and, merged, all clients').
#[derive(Debug, Default)]
pub struct Tally {
    latencies_us: BTreeMap<Op, Vec<u32>>,
    /// Messages sent in the window (batch entries that succeeded).
    pub sent: u64,
    /// Messages received in the window.
    pub received: u64,
    /// Messages deleted in the window.
    pub deleted: u64,
    /// Receives in the window that got no message.
    pub empty_receives: u64,
    errors: Errors,
    /// TCP connections opened (servers that close after each answer open many).
    pub connections: u64,
}

impl Tally {
    /// A request that finished; its latency counts if it is in the window.
    pub fn request(&mut self, op: Op, latency: Duration, in_window: bool) {
        if in_window {
            self.latencies_us
                .entry(op)
                .or_default()
                .push(micros(latency));
        }
    }

    /// A failure (a failed request, or a failed entry of a batch).
    pub fn failure(&mut self, failure: &Failure) {
        self.errors.add(failure);
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: Tally) {
        for (op, mut l) in other.latencies_us {
            self.latencies_us.entry(op).or_default().append(&mut l);
        }
        self.sent += other.sent;
        self.received += other.received;
        self.deleted += other.deleted;
        self.empty_receives += other.empty_receives;
        self.errors.merge(other.errors);
        self.connections += other.connections;
    }

    /// The report over a window of `seconds`.
    pub fn report(self, setup: ReportSetup, seconds: f64) -> Report {
        let per_sec = |n: u64| {
            if seconds > 0.0 {
                n as f64 / seconds
            } else {
                0.0
            }
        };
        let mut requests = 0;
        let operations = self
            .latencies_us
            .into_iter()
            .map(|(op, mut l)| {
                l.sort_unstable();
                let n = l.len() as u64;
                requests += n;
                OpReport {
                    operation: op.name(),
                    requests: n,
                    requests_per_sec: per_sec(n),
                    p50_ms: percentile_ms(&l, 0.50),
                    p99_ms: percentile_ms(&l, 0.99),
                    max_ms: l.last().map_or(0.0, |&us| f64::from(us) / 1000.0),
                }
            })
            .collect();
        Report {
            setup,
            measured_secs: seconds,
            sent_per_sec: per_sec(self.sent),
            received_per_sec: per_sec(self.received),
            deleted_per_sec: per_sec(self.deleted),
            full_cycles_per_sec: per_sec(self.deleted),
            requests_per_sec: per_sec(requests),
            sent: self.sent,
            received: self.received,
            deleted: self.deleted,
            requests,
            empty_receives: self.empty_receives,
            operations,
            errors_total: self.errors.total(),
            errors: self.errors.by_code,
            error_samples: self.errors.samples,
            connections_opened: self.connections,
            warnings: Vec::new(),
        }
    }
}

/// What was run (echoed in the report).
#[derive(Debug, Clone, Serialize)]
pub struct ReportSetup {
    /// The server.
    pub endpoint: String,
    /// The queue used.
    pub queue_url: String,
    /// `batch` (SendMessageBatch/DeleteMessageBatch) or `single`.
    pub mode: &'static str,
    /// Concurrent clients (one connection each).
    pub clients: usize,
    /// Messages per send, and most per receive.
    pub batch: usize,
    /// Bytes per message body.
    pub body_bytes: usize,
    /// Warmup before measuring, in seconds.
    pub warmup_secs: f64,
}

/// Per-operation counts and latencies in the window.
#[derive(Debug, Clone, Serialize)]
pub struct OpReport {
    /// The operation.
    pub operation: &'static str,
    /// Requests finished in the window (failed ones included).
    pub requests: u64,
    /// Of those, per second.
    pub requests_per_sec: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// The outcome of a run (printed, or as JSON with `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What was run.
    #[serde(flatten)]
    pub setup: ReportSetup,
    /// The measured window's actual length.
    pub measured_secs: f64,
    /// Messages sent per second.
    pub sent_per_sec: f64,
    /// Messages received per second.
    pub received_per_sec: f64,
    /// Messages deleted per second.
    pub deleted_per_sec: f64,
    /// Full send-receive-delete cycles per second (= deleted per second).
    pub full_cycles_per_sec: f64,
    /// Requests per second, all operations.
    pub requests_per_sec: f64,
    /// Messages sent in the window.
    pub sent: u64,
    /// Messages received in the window.
    pub received: u64,
    /// Messages deleted in the window.
    pub deleted: u64,
    /// Requests in the window.
    pub requests: u64,
    /// Receives in the window that got nothing.
    pub empty_receives: u64,
    /// Per operation.
    pub operations: Vec<OpReport>,
    /// Errors over the whole run (warmup included).
    pub errors_total: u64,
    /// Errors by code, over the whole run (warmup included).
    pub errors: BTreeMap<String, u64>,
    /// The first few errors, with their messages.
    pub error_samples: Vec<String>,
    /// TCP connections opened by the clients.
    pub connections_opened: u64,
    /// Things that went wrong outside the load (e.g. deleting the queue).
    pub warnings: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.setup;
        let ops = if s.mode == "batch" {
            "SendMessageBatch/DeleteMessageBatch"
        } else {
            "single SendMessage/DeleteMessage"
        };
        writeln!(
            f,
            "SQS load on {} ({}): {} clients, batch {} ({ops}), {}-byte bodies",
            s.endpoint, s.queue_url, s.clients, s.batch, s.body_bytes
        )?;
        writeln!(
            f,
            "measured {:.2} s after a {:.2} s warmup; {} connections opened",
            self.measured_secs, s.warmup_secs, self.connections_opened
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "messages/s  sent {:.0}  received {:.0}  deleted {:.0}  full cycles {:.0}",
            self.sent_per_sec,
            self.received_per_sec,
            self.deleted_per_sec,
            self.full_cycles_per_sec
        )?;
        writeln!(
            f,
            "requests/s  {:.0}  ({} requests, {} empty receives)",
            self.requests_per_sec, self.requests, self.empty_receives
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "{:<20} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "operation", "requests", "req/s", "p50 ms", "p99 ms", "max ms"
        )?;
        for o in &self.operations {
            writeln!(
                f,
                "{:<20} {:>9} {:>9.0} {:>9.2} {:>9.2} {:>9.2}",
                o.operation, o.requests, o.requests_per_sec, o.p50_ms, o.p99_ms, o.max_ms
            )?;
        }
        writeln!(f)?;
        if self.errors.is_empty() {
            writeln!(f, "errors: none")?;
        } else {
            writeln!(
                f,
                "errors (whole run, warmup included): {}",
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
    use crate::common::ERROR_SAMPLES;

    fn setup() -> ReportSetup {
        ReportSetup {
            endpoint: "http://h:1".into(),
            queue_url: "http://h:1/1/q".into(),
            mode: "batch",
            clients: 2,
            batch: 10,
            body_bytes: 100,
            warmup_secs: 1.0,
        }
    }

    #[test]
    fn merged_tallies_report_rates_and_keep_every_error() {
        let mut a = Tally::default();
        a.request(Op::SendMessageBatch, Duration::from_millis(2), true);
        a.request(Op::SendMessageBatch, Duration::from_millis(9), false);
        a.sent = 10;
        a.failure(&Failure::new("Transport", "reset"));
        let mut b = Tally::default();
        b.request(Op::SendMessageBatch, Duration::from_millis(4), true);
        b.request(Op::ReceiveMessage, Duration::from_millis(1), true);
        b.sent = 10;
        b.received = 8;
        b.deleted = 6;
        for _ in 0..ERROR_SAMPLES {
            b.failure(&Failure::new("Throttling", "slow down"));
        }
        a.merge(b);
        let r = a.report(setup(), 2.0);
        assert_eq!((r.sent, r.received, r.deleted, r.requests), (20, 8, 6, 3));
        assert_eq!(r.sent_per_sec, 10.0);
        assert_eq!(r.full_cycles_per_sec, 3.0);
        assert_eq!(r.requests_per_sec, 1.5);
        let send = &r.operations[0];
        assert_eq!((send.operation, send.requests), ("SendMessageBatch", 2));
        assert_eq!((send.p50_ms, send.p99_ms, send.max_ms), (2.0, 4.0, 4.0));
        assert_eq!(r.errors_total, 1 + ERROR_SAMPLES as u64);
        assert_eq!(r.errors["Throttling"], ERROR_SAMPLES as u64);
        assert_eq!(r.error_samples.len(), ERROR_SAMPLES);
        assert_eq!(r.error_samples[0], "Transport: reset");

        let shown = r.to_string();
        assert!(shown.contains("Throttling: 5"), "{shown}");
        let json = serde_json::to_value(&r).expect("json");
        assert_eq!(json["full_cycles_per_sec"], 3.0);
        assert_eq!(json["clients"], 2);
    }
}
