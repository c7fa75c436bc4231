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
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Full};

pub use crate::common::{Error, Failure, Target, parse_duration};
pub use stats::{OpReport, Report, ReportSetup};
pub use wire::{Op, Signer};

use crate::common::Window;
use stats::Tally;

/// The most entries an SQS batch may have.
pub const MAX_BATCH: usize = 10;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause after a transport failure, so a dead server is not hammered.
const TRANSPORT_BACKOFF: Duration = Duration::from_millis(20);

/// `ferry bench sqs`: options.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The server and the key.
    #[command(flatten)]
    pub target: Target,
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
        args.target.endpoint
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

/// What every client shares.
struct Plan {
    signer: Signer,
    queue_url: String,
    message: String,
    batch: usize,
    single: bool,
    window: Window,
}

/// Runs the load and returns the report (the clients on a runtime of
/// their own, on `--threads` threads: see [`crate::common::on_own_runtime`]).
pub async fn run(args: &Args) -> Result<Report, Error> {
    let args = args.clone();
    crate::common::on_own_runtime(args.threads, move || async move { run_here(&args).await }).await
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
    let t = &args.target;
    let signer = Signer::new(&t.endpoint, &t.region, t.credentials()).map_err(Error)?;

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
            endpoint: args.target.endpoint.clone(),
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

/// A client's connection.
type Conn = crate::common::Conn<Full<Bytes>>;

/// SQS calls over a [`Conn`].
trait Calls {
    async fn call(
        &mut self,
        signer: &Signer,
        op: Op,
        body: Vec<u8>,
        tally: &mut Tally,
    ) -> Result<Bytes, Failure>;
    async fn exchange(&mut self, signer: &Signer, op: Op, body: Vec<u8>) -> Result<Bytes, Failure>;
    async fn timed(
        &mut self,
        plan: &Plan,
        op: Op,
        body: Vec<u8>,
        tally: &mut Tally,
    ) -> (Option<Bytes>, bool);
}

impl Calls for Conn {
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
        let sender = self.ready().await?;
        let exchange = async {
            let response = sender.send_request(request).await?;
            let (parts, body) = response.into_parts();
            let bytes = body.collect().await?.to_bytes();
            Ok::<(StatusCode, HeaderMap, Bytes), hyper::Error>((parts.status, parts.headers, bytes))
        };
        let (status, headers, bytes) = match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                self.reset();
                return Err(Failure::new("Transport", format!("{}: {e}", op.name())));
            }
            Err(_) => {
                self.reset();
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
                if f.is_transport() {
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
    fn messages_have_the_asked_size() {
        assert_eq!(message(100).len(), 100);
        assert!(message(100).starts_with("ferry-bench x"));
        assert_eq!(message(3), "fer");
        assert_eq!(message(0), "");
    }
}
