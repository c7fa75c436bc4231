//! The S3 load generator: a fresh bucket; N clients, each on its own
//! keep-alive HTTP/1.1 connection, PUT distinct small objects for a warmup
//! and a measured window; then N clients GET random objects of those
//! written, the same way; then one big object is PUT (streamed from a
//! pattern, never held in memory) and read back (counted and discarded), on
//! one connection, for MB/s.
//!
//! Phase changes are announced on stderr (`ferry bench s3: phase <name>`,
//! names `put`, `get`, `big-put`, `big-get`, `done`) so that a harness can
//! sample the server's memory during the big transfer (`benches/s3.py`).
//!
//! Layout: `wire` builds, signs and checks requests and bodies (no I/O);
//! `report` counts and reports; this module holds the options and the loops.

mod report;
mod wire;

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Request;
use http_body_util::BodyExt;

pub use crate::common::{Error, Failure, Target, parse_duration};
pub use report::{BigReport, PhaseReport, Report};
pub use wire::{Op, PatternBody, Signer};

use crate::common::Window;
use report::Tally;

/// Most of the time a small request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Most of the time the big PUT or GET may take.
const BIG_TIMEOUT: Duration = Duration::from_secs(3600);
/// Pause after a transport failure, so a dead server is not hammered.
const TRANSPORT_BACKOFF: Duration = Duration::from_millis(20);
/// The big object's key.
const BIG_KEY: &str = "big";

/// `ferry bench s3`: options.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The server and the key.
    #[command(flatten)]
    pub target: Target,
    /// Concurrent clients of the small-object phases, one connection each.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Bytes per small object (e.g. 4KiB, 1MiB, 100).
    #[arg(long, default_value = "4KiB", value_parser = parse_size)]
    pub size: u64,
    /// Length of each small-object phase's measured window (e.g. 10s).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Load before each measured window, not counted (e.g. 2s, 0s).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Bytes of the big object PUT then GET once (e.g. 1GiB; 0 skips it).
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    pub big: u64,
    /// Bucket to use: created if missing, and kept. Default: a fresh
    /// bucket `ferry-bench-<time>-<pid>` (also kept, objects and all).
    #[arg(long)]
    pub bucket: Option<String>,
    /// Threads the clients run on (their own runtime; 1 drives every
    /// connection from one thread, leaving the other cores to the server).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Parses a byte count: `4096`, `4KiB`, `1MiB`, `1GiB` (powers of 1024),
/// `4KB`, `1MB`, `1GB` (powers of 1000); `K`, `M`, `G` alone are KiB, MiB,
/// GiB. Case does not matter.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 4096, 4KiB, 1GiB)"))?;
    let unit = unit.trim().to_ascii_lowercase();
    let scale: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {s:?} (KiB, MiB, GiB, KB, MB, GB)"
            ));
        }
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// `ferry bench s3`: runs, then prints the report (text, or JSON).
pub async fn main(args: Args) -> Result<(), Error> {
    eprintln!(
        "ferry bench s3: {} clients, {}-byte objects, {:.1} s warmup + {:.1} s per phase, \
         big object {} bytes, on {}",
        args.clients,
        args.size,
        args.warmup.as_secs_f64(),
        args.duration.as_secs_f64(),
        args.big,
        args.target.endpoint
    );
    let json = args.json;
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

/// Runs the phases and returns the report (the clients on a runtime of
/// their own, on `--threads` threads: see [`crate::common::on_own_runtime`]).
pub async fn run(args: &Args) -> Result<Report, Error> {
    let args = args.clone();
    crate::common::on_own_runtime(args.threads, move || async move { run_here(&args).await }).await
}

fn phase(name: &str) {
    eprintln!("ferry bench s3: phase {name}");
}

/// What every client shares.
struct Plan {
    signer: Signer,
    bucket: String,
    pattern: hyper::body::Bytes,
    size: u64,
    window: Window,
    /// The keys written in the PUT phase (empty during it).
    written: Vec<String>,
}

async fn run_here(args: &Args) -> Result<Report, Error> {
    if args.clients == 0 {
        return Err(Error("--clients must be at least 1".into()));
    }
    if args.duration.is_zero() {
        return Err(Error("--duration must be more than 0".into()));
    }
    let t = &args.target;
    let signer = Signer::new(&t.endpoint, &t.region, t.credentials()).map_err(Error)?;
    let bucket = args.bucket.clone().unwrap_or_else(|| {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        format!("ferry-bench-{millis}-{}", std::process::id())
    });

    // Setup: the bucket.
    let mut conn = Conn::new(signer.authority());
    let create = signer.request(
        Op::CreateBucket,
        &bucket,
        None,
        PatternBody::once(signer.create_bucket_body()),
        chrono::Utc::now(),
    );
    let created = match create {
        Ok(request) => exchange(&mut conn, Op::CreateBucket, request, REQUEST_TIMEOUT).await,
        Err(f) => Err(f),
    };
    match created {
        Ok(_) => {}
        Err(f) if args.bucket.is_some() && f.code.starts_with("BucketAlreadyOwnedByYou") => {}
        Err(f) => {
            return Err(Error(format!(
                "creating bucket {bucket}: {}: {}",
                f.code, f.message
            )));
        }
    }

    let mut plan = Plan {
        signer,
        bucket: bucket.clone(),
        pattern: wire::pattern(),
        size: args.size,
        window: Window::after(args.warmup, args.duration),
        written: Vec::new(),
    };
    let mut warnings = Vec::new();

    // Small PUTs.
    phase("put");
    let put = clients(Arc::new(plan), args.clients, Op::PutObject, &mut warnings).await;
    let Some(plan_back) = put.plan else {
        return Err(Error("a PUT client kept the plan".into()));
    };
    plan = plan_back;
    plan.written = put.tally.written.clone();
    plan.window = Window::after(args.warmup, args.duration);

    // Small GETs.
    let get = if plan.written.is_empty() {
        warnings.push("no object was written: the GET phase is skipped".into());
        Tally::default()
    } else {
        phase("get");
        clients(Arc::new(plan), args.clients, Op::GetObject, &mut warnings)
            .await
            .tally
    };

    // The big object.
    let signer = Signer::new(&t.endpoint, &t.region, t.credentials()).map_err(Error)?;
    let mut big_errors = crate::common::Errors::default();
    let mut big_connections = 0;
    let big = if args.big > 0 {
        let mut conn = Conn::new(signer.authority());
        phase("big-put");
        let body = PatternBody::repeat(wire::pattern(), args.big);
        let (put_secs, put_ok) =
            big_transfer(&mut conn, &signer, &bucket, Op::PutBig, body, args.big).await;
        phase("big-get");
        let (get_secs, get_ok) = big_transfer(
            &mut conn,
            &signer,
            &bucket,
            Op::GetBig,
            PatternBody::empty(),
            args.big,
        )
        .await;
        big_connections = conn.opened;
        for f in put_ok.iter().chain(get_ok.iter()) {
            big_errors.add(f);
        }
        Some(BigReport::new(
            args.big,
            put_secs,
            put_ok.is_none(),
            get_secs,
            get_ok.is_none(),
        ))
    } else {
        None
    };
    phase("done");

    Ok(Report::new(
        args,
        bucket,
        put.tally,
        get,
        big,
        big_errors,
        conn.opened + big_connections,
        warnings,
    ))
}

/// A client's connection.
type Conn = crate::common::Conn<PatternBody>;

struct Phase {
    tally: Tally,
    /// The plan, back once every client is done with it.
    plan: Option<Plan>,
}

/// Runs `clients` clients of `op` until the plan's window ends.
async fn clients(plan: Arc<Plan>, clients: usize, op: Op, warnings: &mut Vec<String>) -> Phase {
    let tasks: Vec<_> = (0..clients)
        .map(|c| tokio::spawn(client(plan.clone(), c, op)))
        .collect();
    let mut tally = Tally::default();
    for task in tasks {
        match task.await {
            Ok(t) => tally.merge(t),
            Err(e) => warnings.push(format!("a client task failed: {e}")),
        }
    }
    Phase {
        tally,
        plan: Arc::into_inner(plan),
    }
}

/// One client: PUTs of its own keys (`<client>/<n>`), or GETs of random
/// written keys, until the window ends.
async fn client(plan: Arc<Plan>, id: usize, op: Op) -> Tally {
    let mut tally = Tally::default();
    let mut conn = Conn::new(plan.signer.authority());
    let mut rng = XorShift::new(id as u64);
    let mut n: u64 = 0;
    while Instant::now() < plan.window.end {
        let (key, body) = match op {
            Op::PutObject => {
                n += 1;
                (
                    format!("{id}/{n}"),
                    PatternBody::repeat(plan.pattern.clone(), plan.size),
                )
            }
            _ => {
                let i = rng.below(plan.written.len());
                let key = plan.written.get(i).cloned().unwrap_or_default();
                (key, PatternBody::empty())
            }
        };
        let start = Instant::now();
        let result =
            match plan
                .signer
                .request(op, &plan.bucket, Some(&key), body, chrono::Utc::now())
            {
                Ok(request) => exchange(&mut conn, op, request, REQUEST_TIMEOUT).await,
                Err(f) => Err(f),
            };
        let result = result.and_then(|read| check_length(op, read, plan.size));
        let end = Instant::now();
        let measured = plan.window.contains(end);
        tally.request(end - start, measured, result.is_ok());
        match result {
            Ok(()) if op == Op::PutObject => tally.written.push(key),
            Ok(()) => {}
            Err(f) => {
                tally.errors.add(&f);
                if f.is_transport() {
                    tokio::time::sleep(TRANSPORT_BACKOFF).await;
                }
            }
        }
    }
    tally.connections += conn.opened;
    tally
}

/// A GET must return the object whole.
fn check_length(op: Op, read: u64, expected: u64) -> Result<(), Failure> {
    if matches!(op, Op::GetObject | Op::GetBig) && read != expected {
        return Err(Failure::new(
            "WrongLength",
            format!("{}: {read} bytes read, {expected} expected", op.name()),
        ));
    }
    Ok(())
}

/// The big PUT (of `body`) or GET: its seconds and its failure, if any.
async fn big_transfer(
    conn: &mut Conn,
    signer: &Signer,
    bucket: &str,
    op: Op,
    body: PatternBody,
    len: u64,
) -> (f64, Option<Failure>) {
    let start = Instant::now();
    let result = match signer.request(op, bucket, Some(BIG_KEY), body, chrono::Utc::now()) {
        Ok(request) => exchange(conn, op, request, BIG_TIMEOUT).await,
        Err(f) => Err(f),
    };
    let secs = start.elapsed().as_secs_f64();
    (
        secs,
        result.and_then(|read| check_length(op, read, len)).err(),
    )
}

/// Sends `request` and reads the answer whole (counting and dropping its
/// bytes; an error body is kept to read its code). The bytes read on success.
async fn exchange(
    conn: &mut Conn,
    op: Op,
    request: Request<PatternBody>,
    timeout: Duration,
) -> Result<u64, Failure> {
    /// The most of an error body kept.
    const ERROR_BODY: usize = 4096;
    let sender = conn.ready().await?;
    let work = async {
        let response = sender.send_request(request).await?;
        let (parts, mut body) = response.into_parts();
        let keep = !wire::succeeded(parts.status);
        let mut read = 0u64;
        let mut kept = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                read += data.len() as u64;
                if keep && kept.len() < ERROR_BODY {
                    let room = (ERROR_BODY - kept.len()).min(data.len());
                    kept.extend_from_slice(data.get(..room).unwrap_or_default());
                }
            }
        }
        Ok::<_, hyper::Error>((parts.status, read, kept))
    };
    let outcome = tokio::time::timeout(timeout, work).await;
    let (status, read, kept) = match outcome {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => {
            conn.reset();
            return Err(Failure::new("Transport", format!("{}: {e}", op.name())));
        }
        Err(_) => {
            conn.reset();
            return Err(Failure::new(
                "Timeout",
                format!("{}: no answer in {timeout:?}", op.name()),
            ));
        }
    };
    wire::check_status(op, status, &kept)?;
    Ok(read)
}

/// A small, fast, seeded generator for picking keys (xorshift64*).
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        if n == 0 { 0 } else { (r % n as u64) as usize }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("4KiB"), Ok(4096));
        assert_eq!(parse_size("4k"), Ok(4096));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1MB"), Ok(1_000_000));
        assert_eq!(parse_size("0"), Ok(0));
        for bad in ["", "KiB", "1TiB", "-1", "1.5GiB", "99999999999999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_gets_must_read_the_whole_object() {
        assert_eq!(check_length(Op::GetObject, 4096, 4096), Ok(()));
        assert_eq!(check_length(Op::PutObject, 0, 4096), Ok(()));
        let short = check_length(Op::GetBig, 10, 11).expect_err("short");
        assert_eq!(short.code, "WrongLength");
    }

    #[test]
    fn keys_are_picked_across_the_range() {
        let mut rng = XorShift::new(3);
        let mut seen = [false; 10];
        for _ in 0..1000 {
            let i = rng.below(10);
            assert!(i < 10);
            seen[i] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(rng.below(0), 0);
    }
}
