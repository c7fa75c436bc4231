//! The SQS load generator: N clients, each on its own keep-alive HTTP/1.1
//! connection, each looping send (a batch), receive (up to a batch, no
//! wait), delete (what was received), for a warmup and then a measured
//! window.
//!
//! Layout: `wire` builds, signs and checks requests (no I/O); `stats` counts
//! and reports; this module holds the options, the connections and the loop.

mod stats;
mod wire;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferry_sigv4::Credentials;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

pub use stats::{OpReport, Report, ReportSetup};
pub use wire::{Failure, Op, Signer};

use stats::{Tally, Window};

/// The most entries an SQS batch may have.
pub const MAX_BATCH: usize = 10;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause after a transport failure, so a dead server is not hammered.
const TRANSPORT_BACKOFF: Duration = Duration::from_millis(20);

/// `ferry bench sqs`: options.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The server, e.g. http://127.0.0.1:4566 (plain HTTP).
    #[arg(long)]
    pub endpoint: String,
    /// Region to sign for.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Access key id.
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true)]
    pub access_key: String,
    /// Secret access key.
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub secret_key: String,
    /// Session token of temporary credentials.
    #[arg(long, env = "AWS_SESSION_TOKEN", hide_env_values = true)]
    pub session_token: Option<String>,
    /// Concurrent clients, one connection each.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Messages per send (and most per receive), 1 to 10.
    #[arg(long, default_value_t = 10)]
    pub batch: usize,
    /// Length of the measured window (e.g. 10s, 500ms, 1m).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Load before measuring, not counted (e.g. 2s, 0s).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Queue to use: created if missing and kept. Default: a fresh queue
    /// `ferry-bench-<time>-<pid>`, deleted at the end.
    #[arg(long)]
    pub queue: Option<String>,
    /// Bytes per message body.
    #[arg(long, default_value_t = 100)]
    pub body_size: usize,
    /// Single SendMessage/DeleteMessage calls instead of the batch calls
    /// (receive still asks for up to --batch messages).
    #[arg(long)]
    pub no_batch: bool,
    /// Threads the clients run on (their own runtime; 1 drives every
    /// connection from one thread, leaving the other cores to the server).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A setup failure (bad options, or the queue could not be created).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Error(String);

/// `ferry bench sqs`: runs, then prints the report (text, or JSON).
pub async fn main(args: Args) -> Result<(), Error> {
    let json = args.json;
    eprintln!(
        "ferry bench sqs: {} clients, batch {}{}, {:.1} s warmup + {:.1} s on {}",
        args.clients,
        args.batch,
        if args.no_batch { " (no-batch)" } else { "" },
        args.warmup.as_secs_f64(),
        args.duration.as_secs_f64(),
        args.endpoint
    );
    let report = run(&args).await?;
    if json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Error(format!("rendering the report: {e}")))?;
        println!("{text}");
    } else {
        print!("{report}");
    }
    Ok(())
}

/// Parses `10s`, `500ms`, `1.5s`, `2m` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 10s, 500ms, 1m)"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        other => return Err(format!("unknown unit {other:?} in {s:?} (ms, s or m)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

/// What every client shares.
struct Plan {
    signer: Signer,
    queue_url: String,
    message: String,
    batch: usize,
    single: bool,
    window: Window,
}

/// Runs the load and returns the report.
///
/// The clients run on a runtime of their own, on `--threads` threads of
/// their own (one by default): on a small machine that leaves the other
/// cores to the server, and one thread driving every connection avoids a
/// cross-thread wakeup per request.
pub async fn run(args: &Args) -> Result<Report, Error> {
    if args.threads == 0 {
        return Err(Error("--threads must be at least 1".into()));
    }
    let args = args.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("ferry-bench".into())
        .spawn(move || {
            let runtime = if args.threads == 1 {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
            } else {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(args.threads)
                    .enable_all()
                    .build()
            };
            let result = match runtime {
                Ok(rt) => rt.block_on(run_here(&args)),
                Err(e) => Err(Error(format!("cannot start the clients' runtime: {e}"))),
            };
            // The receiver is only gone if the caller gave up waiting.
            let _ = tx.send(result);
        })
        .map_err(|e| Error(format!("cannot start the clients' thread: {e}")))?;
    rx.await
        .map_err(|_| Error("the clients' thread ended without a report".into()))?
}

async fn run_here(args: &Args) -> Result<Report, Error> {
    if !(1..=MAX_BATCH).contains(&args.batch) {
        return Err(Error(format!(
            "--batch must be 1 to {MAX_BATCH} (the SQS batch limit)"
        )));
    }
    if args.clients == 0 {
        return Err(Error("--clients must be at least 1".into()));
    }
    if args.duration.is_zero() {
        return Err(Error("--duration must be more than 0".into()));
    }
    let mut creds = Credentials::new(&args.access_key, &args.secret_key);
    if let Some(token) = &args.session_token {
        creds = creds.with_session_token(token);
    }
    let signer = Signer::new(&args.endpoint, &args.region, creds).map_err(Error)?;

    // Setup: the queue.
    let fresh = args.queue.is_none();
    let name = args.queue.clone().unwrap_or_else(|| {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        format!("ferry-bench-{millis}-{}", std::process::id())
    });
    let mut conn = Conn::new(signer.authority());
    let mut setup_tally = Tally::default();
    let body = conn
        .call(
            &signer,
            Op::CreateQueue,
            wire::create_queue(&name),
            &mut setup_tally,
        )
        .await
        .map_err(|f| Error(format!("creating queue {name}: {}: {}", f.code, f.message)))?;
    let queue_url = wire::parse_queue_url(&body)
        .map_err(|f| Error(format!("creating queue {name}: {}", f.message)))?;

    // The load.
    let started = Instant::now();
    let window = Window {
        start: started + args.warmup,
        end: started + args.warmup + args.duration,
    };
    let plan = Arc::new(Plan {
        signer: signer.clone(),
        queue_url: queue_url.clone(),
        message: message(args.body_size),
        batch: args.batch,
        single: args.no_batch,
        window,
    });
    let tasks: Vec<_> = (0..args.clients)
        .map(|_| tokio::spawn(client(plan.clone())))
        .collect();
    let mut total = Tally::default();
    let mut warnings = Vec::new();
    for task in tasks {
        match task.await {
            Ok(t) => total.merge(t),
            Err(e) => warnings.push(format!("a client task failed: {e}")),
        }
    }
    // The window may end late if a client was slow to notice the end; the
    // rates are over the window as set, since nothing after its end counts.
    let measured = args.duration.as_secs_f64();

    // Teardown.
    if fresh {
        let deleted = conn
            .call(
                &signer,
                Op::DeleteQueue,
                wire::delete_queue(&queue_url),
                &mut setup_tally,
            )
            .await;
        if let Err(f) = deleted {
            warnings.push(format!(
                "deleting queue {queue_url}: {}: {}",
                f.code, f.message
            ));
        }
    }

    let mut report = total.report(
        ReportSetup {
            endpoint: args.endpoint.clone(),
            queue_url,
            mode: if args.no_batch { "single" } else { "batch" },
            clients: args.clients,
            batch: args.batch,
            body_bytes: args.body_size,
            warmup_secs: args.warmup.as_secs_f64(),
        },
        measured,
    );
    report.warnings = warnings;
    Ok(report)
}

/// A message body of `size` bytes (printable ASCII, so one byte a char).
fn message(size: usize) -> String {
    const PREFIX: &str = "ferry-bench ";
    let mut m: String = PREFIX.chars().take(size).collect();
    m.extend(std::iter::repeat_n('x', size - m.len()));
    m
}

/// One client: send, receive, delete, until the window ends.
async fn client(plan: Arc<Plan>) -> Tally {
    let mut tally = Tally::default();
    let mut conn = Conn::new(plan.signer.authority());
    let q = plan.queue_url.as_str();
    while Instant::now() < plan.window.end {
        // Send.
        if plan.single {
            for _ in 0..plan.batch {
                let (answer, measured) = conn
                    .timed(
                        &plan,
                        Op::SendMessage,
                        wire::send_message(q, &plan.message),
                        &mut tally,
                    )
                    .await;
                if let Some(body) = answer {
                    match wire::parse_send_message(&body) {
                        Ok(()) if measured => tally.sent += 1,
                        Ok(()) => {}
                        Err(f) => tally.failure(&f),
                    }
                }
            }
        } else {
            let body = wire::send_message_batch(q, &plan.message, plan.batch);
            let (answer, measured) = conn
                .timed(&plan, Op::SendMessageBatch, body, &mut tally)
                .await;
            if let Some(body) = answer {
                batch_outcome(
                    Op::SendMessageBatch,
                    &body,
                    plan.batch,
                    measured,
                    &mut tally,
                    |t, n| t.sent += n,
                );
            }
        }

        // Receive.
        let (answer, measured) = conn
            .timed(
                &plan,
                Op::ReceiveMessage,
                wire::receive_message(q, plan.batch),
                &mut tally,
            )
            .await;
        let handles = match answer.map(|body| wire::parse_receive_message(&body)) {
            Some(Ok(handles)) => handles,
            Some(Err(f)) => {
                tally.failure(&f);
                continue;
            }
            None => continue,
        };
        if measured {
            tally.received += handles.len() as u64;
            if handles.is_empty() {
                tally.empty_receives += 1;
            }
        }
        if handles.is_empty() {
            continue;
        }

        // Delete.
        if plan.single {
            for handle in &handles {
                let (answer, measured) = conn
                    .timed(
                        &plan,
                        Op::DeleteMessage,
                        wire::delete_message(q, handle),
                        &mut tally,
                    )
                    .await;
                if answer.is_some() && measured {
                    tally.deleted += 1;
                }
            }
        } else {
            let body = wire::delete_message_batch(q, &handles);
            let (answer, measured) = conn
                .timed(&plan, Op::DeleteMessageBatch, body, &mut tally)
                .await;
            if let Some(body) = answer {
                batch_outcome(
                    Op::DeleteMessageBatch,
                    &body,
                    handles.len(),
                    measured,
                    &mut tally,
                    |t, n| t.deleted += n,
                );
            }
        }
    }
    tally.connections += conn.opened;
    tally
}

/// Counts a batch answer: its successes (if measured) and every failure.
fn batch_outcome(
    op: Op,
    body: &[u8],
    sent: usize,
    measured: bool,
    tally: &mut Tally,
    count: impl FnOnce(&mut Tally, u64),
) {
    match wire::parse_batch(op, body, sent) {
        Ok(outcome) => {
            if measured {
                count(tally, outcome.succeeded as u64);
            }
            for f in &outcome.failures {
                tally.failure(f);
            }
        }
        Err(f) => tally.failure(&f),
    }
}

/// One keep-alive HTTP/1.1 connection, reopened when the server closes it.
struct Conn {
    authority: String,
    sender: Option<SendRequest<Full<Bytes>>>,
    opened: u64,
}

impl Conn {
    fn new(authority: &str) -> Self {
        Conn {
            authority: authority.to_string(),
            sender: None,
            opened: 0,
        }
    }

    async fn connect(&mut self) -> Result<SendRequest<Full<Bytes>>, Failure> {
        let transport = |e: &dyn std::fmt::Display| {
            Failure::new(
                "Transport",
                format!("connecting to {}: {e}", self.authority),
            )
        };
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&self.authority))
            .await
            .map_err(|e| transport(&e))?
            .map_err(|e| transport(&e))?;
        stream.set_nodelay(true).map_err(|e| transport(&e))?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| transport(&e))?;
        tokio::spawn(connection);
        self.opened += 1;
        Ok(sender)
    }

    /// Sends `op` with `body` and checks the status; the answer's body on success.
    async fn call(
        &mut self,
        signer: &Signer,
        op: Op,
        body: Vec<u8>,
        tally: &mut Tally,
    ) -> Result<Bytes, Failure> {
        let result = self.exchange(signer, op, body).await;
        if let Err(f) = &result {
            tally.failure(f);
        }
        result
    }

    async fn exchange(&mut self, signer: &Signer, op: Op, body: Vec<u8>) -> Result<Bytes, Failure> {
        let request = signer.request(op, body, chrono::Utc::now())?;
        let usable = match &mut self.sender {
            Some(s) => !s.is_closed() && s.ready().await.is_ok(),
            None => false,
        };
        if !usable {
            self.sender = None;
            self.sender = Some(self.connect().await?);
        }
        let Some(sender) = self.sender.as_mut() else {
            return Err(Failure::new("Transport", "no connection"));
        };
        let exchange = async {
            let response = sender.send_request(request).await?;
            let (parts, body) = response.into_parts();
            let bytes = body.collect().await?.to_bytes();
            Ok::<(StatusCode, HeaderMap, Bytes), hyper::Error>((parts.status, parts.headers, bytes))
        };
        let (status, headers, bytes) = match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                self.sender = None;
                return Err(Failure::new("Transport", format!("{}: {e}", op.name())));
            }
            Err(_) => {
                self.sender = None;
                return Err(Failure::new(
                    "Timeout",
                    format!("{}: no answer in {REQUEST_TIMEOUT:?}", op.name()),
                ));
            }
        };
        wire::check_status(op, status, &headers, &bytes)?;
        Ok(bytes)
    }

    /// A measured call: counts the request (and its latency, if it finished
    /// in the window) and any failure. Returns the answer's body on success,
    /// and whether the request finished in the window.
    async fn timed(
        &mut self,
        plan: &Plan,
        op: Op,
        body: Vec<u8>,
        tally: &mut Tally,
    ) -> (Option<Bytes>, bool) {
        let start = Instant::now();
        let result = self.call(&plan.signer, op, body, tally).await;
        let end = Instant::now();
        let measured = plan.window.contains(end);
        tally.request(op, end - start, measured);
        match result {
            Ok(body) => (Some(body), measured),
            Err(f) => {
                if matches!(f.code.as_str(), "Transport" | "Timeout") {
                    tokio::time::sleep(TRANSPORT_BACKOFF).await;
                }
                (None, measured)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in ["", "s", "10h", "-1s", "1..2s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn messages_have_the_asked_size() {
        assert_eq!(message(100).len(), 100);
        assert!(message(100).starts_with("ferry-bench x"));
        assert_eq!(message(3), "fer");
        assert_eq!(message(0), "");
    }
}
