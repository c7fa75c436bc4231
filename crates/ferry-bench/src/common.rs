//! What every generator shares: the server and key options, durations, the
//! measured window, percentiles, error counting, keep-alive connections and
//! the clients' own runtime.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use ferry_sigv4::Credentials;
use hyper::body::{Body, Bytes};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How many error messages are kept as samples.
pub const ERROR_SAMPLES: usize = 5;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A setup failure (bad options, or the server refused the setup).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Error(pub String);

/// The server and the key to sign with (flattened into each generator's
/// options).
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
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
}

impl Target {
    /// The key as signing credentials.
    pub fn credentials(&self) -> Credentials {
        let creds = Credentials::new(&self.access_key, &self.secret_key);
        match &self.session_token {
            Some(token) => creds.with_session_token(token),
            None => creds,
        }
    }
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

/// The `HOST:PORT` of `endpoint`, which must be `http://HOST:PORT` with no
/// path or query (only plain HTTP is spoken).
pub fn endpoint_authority(endpoint: &str) -> Result<String, String> {
    let parsed: http::Uri = endpoint
        .parse()
        .map_err(|e| format!("endpoint {endpoint:?} is not a URL: {e}"))?;
    if parsed.scheme_str() != Some("http") {
        return Err(format!(
            "endpoint {endpoint:?} must be an http:// URL (TLS is not spoken)"
        ));
    }
    if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() {
        return Err(format!("endpoint {endpoint:?} must not have a path"));
    }
    Ok(parsed
        .authority()
        .ok_or_else(|| format!("endpoint {endpoint:?} has no host"))?
        .as_str()
        .to_string())
}

/// A failed call: the error code (the service's, or one of the generator's
/// own: `Transport`, `Timeout`, `BadResponse`, `HTTP <status>`, ...) and a
/// message for the first few samples shown to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The error code errors are counted by.
    pub code: String,
    /// What happened, for the samples printed.
    pub message: String,
}

impl Failure {
    /// A failure with this code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Failure {
            code: code.into(),
            message: message.into(),
        }
    }

    /// Whether the connection, not the server's answer, failed (then the
    /// client pauses before its next request).
    pub fn is_transport(&self) -> bool {
        matches!(self.code.as_str(), "Transport" | "Timeout")
    }
}

/// The measured window.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// The end of the warmup: the start of measuring.
    pub start: Instant,
    /// The end of measuring: clients start no new request after it.
    pub end: Instant,
}

impl Window {
    /// A window after `warmup` from now, `duration` long.
    pub fn after(warmup: Duration, duration: Duration) -> Self {
        let now = Instant::now();
        Window {
            start: now + warmup,
            end: now + warmup + duration,
        }
    }

    /// Whether something that finished at `t` is measured.
    pub fn contains(&self, t: Instant) -> bool {
        t >= self.start && t < self.end
    }
}

/// A latency in whole microseconds (saturating).
pub fn micros(latency: Duration) -> u32 {
    u32::try_from(latency.as_micros()).unwrap_or(u32::MAX)
}

/// Nearest-rank percentile of sorted microseconds, in milliseconds.
pub fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted_us.len() as f64).ceil() as usize;
    let i = rank.clamp(1, sorted_us.len()) - 1;
    sorted_us.get(i).map_or(0.0, |&us| f64::from(us) / 1000.0)
}

/// Errors counted by code, with the first few messages.
#[derive(Debug, Default, Clone)]
pub struct Errors {
    /// Errors by code.
    pub by_code: BTreeMap<String, u64>,
    /// The first [`ERROR_SAMPLES`] errors, `code: message`.
    pub samples: Vec<String>,
}

impl Errors {
    /// Counts one failure.
    pub fn add(&mut self, failure: &Failure) {
        *self.by_code.entry(failure.code.clone()).or_default() += 1;
        if self.samples.len() < ERROR_SAMPLES {
            self.samples
                .push(format!("{}: {}", failure.code, failure.message));
        }
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: Errors) {
        for (code, n) in other.by_code {
            *self.by_code.entry(code).or_default() += n;
        }
        for s in other.samples {
            if self.samples.len() < ERROR_SAMPLES {
                self.samples.push(s);
            }
        }
    }

    /// All errors.
    pub fn total(&self) -> u64 {
        self.by_code.values().sum()
    }
}

/// One keep-alive HTTP/1.1 connection, reopened when the server closes it.
pub struct Conn<B> {
    authority: String,
    sender: Option<SendRequest<B>>,
    /// Connections opened so far.
    pub opened: u64,
}

impl<B> Conn<B>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    /// A connection to `authority` (`HOST:PORT`), opened on first use.
    pub fn new(authority: &str) -> Self {
        Conn {
            authority: authority.to_string(),
            sender: None,
            opened: 0,
        }
    }

    /// A sender ready for a request: the open connection, or a new one.
    pub async fn ready(&mut self) -> Result<&mut SendRequest<B>, Failure> {
        let usable = match &mut self.sender {
            Some(s) => !s.is_closed() && s.ready().await.is_ok(),
            None => false,
        };
        if !usable {
            self.sender = None;
            self.sender = Some(self.connect().await?);
        }
        self.sender
            .as_mut()
            .ok_or_else(|| Failure::new("Transport", "no connection"))
    }

    /// Forgets the connection (after a failed exchange): the next request
    /// opens a new one.
    pub fn reset(&mut self) {
        self.sender = None;
    }

    async fn connect(&mut self) -> Result<SendRequest<B>, Failure> {
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
}

/// Runs `job` on a runtime of its own, on `threads` threads of its own (one:
/// a current-thread runtime): on a small machine that leaves the other cores
/// to the server, and one thread driving every connection avoids a
/// cross-thread wakeup per request.
pub async fn on_own_runtime<T, F, Fut>(threads: usize, job: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, Error>>,
{
    if threads == 0 {
        return Err(Error("--threads must be at least 1".into()));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("ferry-bench".into())
        .spawn(move || {
            let runtime = if threads == 1 {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
            } else {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(threads)
                    .enable_all()
                    .build()
            };
            let result = match runtime {
                Ok(rt) => rt.block_on(job()),
                Err(e) => Err(Error(format!("cannot start the clients' runtime: {e}"))),
            };
            // The receiver is only gone if the caller gave up waiting.
            let _ = tx.send(result);
        })
        .map_err(|e| Error(format!("cannot start the clients' thread: {e}")))?;
    rx.await
        .map_err(|_| Error("the clients' thread ended without a report".into()))?
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
    fn endpoints_must_be_plain_http_without_a_path() {
        assert_eq!(
            endpoint_authority("http://127.0.0.1:4566"),
            Ok("127.0.0.1:4566".to_string())
        );
        assert!(endpoint_authority("http://h:1/").is_ok());
        for bad in [
            "https://h:1",
            "h:1",
            "http://h:1/queue",
            "http://h:1/?x=1",
            "not a url",
        ] {
            assert!(endpoint_authority(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let l: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile_ms(&l, 0.50), 50.0);
        assert_eq!(percentile_ms(&l, 0.99), 99.0);
        assert_eq!(percentile_ms(&[7000], 0.99), 7.0);
        assert_eq!(percentile_ms(&[], 0.5), 0.0);
    }

    #[test]
    fn window_is_half_open() {
        let start = Instant::now();
        let w = Window {
            start,
            end: start + Duration::from_secs(1),
        };
        assert!(w.contains(start));
        assert!(!w.contains(start + Duration::from_secs(1)));
    }

    #[test]
    fn errors_count_every_failure_and_keep_the_first_samples() {
        let mut a = Errors::default();
        a.add(&Failure::new("Transport", "reset"));
        let mut b = Errors::default();
        for _ in 0..ERROR_SAMPLES {
            b.add(&Failure::new("SlowDown", "slow down"));
        }
        a.merge(b);
        assert_eq!(a.total(), 1 + ERROR_SAMPLES as u64);
        assert_eq!(a.by_code["SlowDown"], ERROR_SAMPLES as u64);
        assert_eq!(a.samples.len(), ERROR_SAMPLES);
        assert_eq!(a.samples[0], "Transport: reset");
    }
}
