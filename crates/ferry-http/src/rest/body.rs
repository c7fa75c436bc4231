//! The streaming request body of a REST call: the client's bytes as they
//! arrive, checked on the way (a signed SHA-256, or `aws-chunked` chunk
//! signatures), with an idle timeout between pieces instead of a limit on
//! the whole body, so objects of any size stream through in bounded memory.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use ferry_sigv4::{ChunkedDecoder, SigV4Error, Trailers};
use http_body::{Frame, SizeHint};
use sha2::{Digest, Sha256};
use tokio::time::{Instant, Sleep};

/// Why a REST request body failed while streaming. A handler that sees one
/// must abandon what it was writing: the bytes read so far are not trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestBodyError {
    /// The client sent nothing for longer than the idle timeout.
    #[error(
        "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed."
    )]
    Timeout,
    /// The connection failed or closed early.
    #[error("The request body could not be read: {0}")]
    Read(String),
    /// The payload did not check out: a body that does not hash to the
    /// signed `x-amz-content-sha256`, a bad chunk or trailer signature, or
    /// broken `aws-chunked` framing.
    #[error("{0}")]
    Payload(#[from] SigV4Error),
    /// An `aws-chunked` body whose decoded size is not the announced
    /// `x-amz-decoded-content-length`.
    #[error(
        "You did not provide the number of bytes specified by the x-amz-decoded-content-length header ({expected}); got {got} or more."
    )]
    LengthMismatch {
        /// The announced decoded length.
        expected: u64,
        /// What came (at least).
        got: u64,
    },
}

impl RestBodyError {
    /// S3's error code (`XAmzContentSHA256Mismatch`, `SignatureDoesNotMatch`,
    /// `IncompleteBody`, `RequestTimeout`).
    pub fn code(&self) -> &'static str {
        match self {
            RestBodyError::Timeout => "RequestTimeout",
            RestBodyError::Read(_) | RestBodyError::LengthMismatch { .. } => "IncompleteBody",
            RestBodyError::Payload(e) => e.code(),
        }
    }

    /// The HTTP status S3 answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            RestBodyError::Payload(e) => e.http_status(),
            _ => 400,
        }
    }
}

/// The trailers of an `aws-chunked` body (`x-amz-checksum-crc32`, ...),
/// available once the body has been read to its end and checked. Cheap to
/// clone: the front door keeps one end, the request's extensions the other.
#[derive(Debug, Clone, Default)]
pub struct TrailerHandle(Arc<OnceLock<Trailers>>);

impl TrailerHandle {
    /// The trailers, once the body ended successfully; `None` before that,
    /// after a failed body, or when the body was not `aws-chunked`
    /// (then there are no trailers to wait for).
    pub fn get(&self) -> Option<&Trailers> {
        self.0.get()
    }

    fn set(&self, trailers: Trailers) {
        // Set once, at the one successful end of the body.
        let _ = self.0.set(trailers);
    }
}

/// What is checked while the body streams.
pub(crate) enum Check {
    /// Nothing (`UNSIGNED-PAYLOAD`, anonymous requests).
    None,
    /// The body must hash to this (lowercase hex) SHA-256.
    Sha256 { expected: String, hasher: Sha256 },
    /// An `aws-chunked` body: decoded, chunk signatures checked.
    Chunked {
        decoder: Option<Box<ChunkedDecoder>>,
        expected_len: Option<u64>,
        trailers: TrailerHandle,
    },
}

impl Check {
    pub(crate) fn sha256(expected: &str) -> Self {
        Check::Sha256 {
            expected: expected.to_ascii_lowercase(),
            hasher: Sha256::new(),
        }
    }

    pub(crate) fn chunked(
        decoder: ChunkedDecoder,
        expected_len: Option<u64>,
        trailers: TrailerHandle,
    ) -> Self {
        Check::Chunked {
            decoder: Some(Box::new(decoder)),
            expected_len,
            trailers,
        }
    }

    fn feed(&mut self, data: Bytes) -> Result<Bytes, RestBodyError> {
        match self {
            Check::None => Ok(data),
            Check::Sha256 { hasher, .. } => {
                hasher.update(&data);
                Ok(data)
            }
            Check::Chunked {
                decoder,
                expected_len,
                ..
            } => {
                let decoder = decoder.as_mut().ok_or_else(|| {
                    RestBodyError::Payload(SigV4Error::InvalidChunk(
                        "Data follows the end of the aws-chunked body.".into(),
                    ))
                })?;
                let mut out = Vec::with_capacity(data.len());
                decoder.feed(&data, &mut out)?;
                // Refuse an overlong body as soon as it shows, not after
                // storing all of it.
                if let Some(expected) = *expected_len
                    && decoder.decoded_len() > expected
                {
                    return Err(RestBodyError::LengthMismatch {
                        expected,
                        got: decoder.decoded_len(),
                    });
                }
                Ok(Bytes::from(out))
            }
        }
    }

    fn finish(&mut self) -> Result<(), RestBodyError> {
        match self {
            Check::None => Ok(()),
            Check::Sha256 { expected, hasher } => {
                let digest: [u8; 32] = std::mem::take(hasher).finalize().into();
                if hex::encode(digest) == *expected {
                    Ok(())
                } else {
                    Err(RestBodyError::Payload(
                        SigV4Error::XAmzContentSHA256Mismatch(
                            "The provided 'x-amz-content-sha256' header does not match what was computed."
                                .into(),
                        ),
                    ))
                }
            }
            Check::Chunked {
                decoder,
                expected_len,
                trailers,
            } => {
                let decoder = decoder.take().ok_or_else(|| {
                    RestBodyError::Payload(SigV4Error::InvalidChunk(
                        "The aws-chunked body was already finished.".into(),
                    ))
                })?;
                let got = decoder.decoded_len();
                let found = decoder.finish()?;
                if let Some(expected) = *expected_len
                    && got != expected
                {
                    return Err(RestBodyError::LengthMismatch { expected, got });
                }
                trailers.set(found);
                Ok(())
            }
        }
    }

    fn decoded_len_hint(&self) -> Option<u64> {
        match self {
            Check::Chunked { expected_len, .. } => *expected_len,
            _ => None,
        }
    }

    fn is_chunked(&self) -> bool {
        matches!(self, Check::Chunked { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading from the client.
    Streaming,
    /// The client's body ended and checked out; the held piece goes next.
    Ended,
    /// Nothing more (after the end or an error).
    Done,
}

/// A REST request's body, streamed from the client and checked on the way.
///
/// Implements [`http_body::Body`] with `Data = Bytes`. It is `Send` but not
/// `Sync` (the connection's body is not): hand it to s3s with
/// `s3s::Body::http_body_unsync`.
///
/// The last piece of the body is held back until the whole body has been
/// checked (the SHA-256 compared, the final chunk and trailer signatures
/// verified), so a reader that stops after the announced length still sees
/// a failure, and the stream never ends cleanly on a bad body. Earlier
/// pieces are handed on as they arrive: a handler must read to the end of
/// the stream and commit nothing unless it ends without an error.
pub struct RestBody {
    inner: Body,
    check: Check,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
    /// Whether the timer runs: it is armed when the client is waited for,
    /// not while the handler is busy with the previous piece.
    waiting: bool,
    held: Option<Bytes>,
    /// Bytes handed on so far.
    released: u64,
    state: State,
}

impl std::fmt::Debug for RestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestBody")
            .field("state", &self.state)
            .field("idle", &self.idle)
            .field("chunked", &self.check.is_chunked())
            .finish_non_exhaustive()
    }
}

impl RestBody {
    pub(crate) fn new(inner: Body, check: Check, idle: Duration) -> Self {
        RestBody {
            inner,
            check,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
            waiting: false,
            held: None,
            released: 0,
            state: State::Streaming,
        }
    }

    /// A body of known bytes, unchecked (for an adapter's own tests).
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        Self::new(
            Body::from(bytes.into()),
            Check::None,
            Duration::from_secs(30),
        )
    }

    /// An empty body.
    pub fn empty() -> Self {
        Self::from_bytes(Bytes::new())
    }

    fn fail(&mut self, e: RestBodyError) -> Poll<Option<Result<Frame<Bytes>, RestBodyError>>> {
        self.state = State::Done;
        self.held = None;
        Poll::Ready(Some(Err(e)))
    }
}

impl http_body::Body for RestBody {
    type Data = Bytes;
    type Error = RestBodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, RestBodyError>>> {
        let this = self.get_mut();
        loop {
            match this.state {
                State::Done => return Poll::Ready(None),
                State::Ended => {
                    this.state = State::Done;
                    let last = this.held.take();
                    if let Some(b) = &last {
                        this.released += b.len() as u64;
                    }
                    return Poll::Ready(last.map(|b| Ok(Frame::data(b))));
                }
                State::Streaming => {}
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => {
                    if !this.waiting {
                        this.waiting = true;
                        let deadline = Instant::now() + this.idle;
                        this.timer.as_mut().reset(deadline);
                    }
                    if this.timer.as_mut().poll(cx).is_ready() {
                        return this.fail(RestBodyError::Timeout);
                    }
                    return Poll::Pending;
                }
                Poll::Ready(None) => match this.check.finish() {
                    Ok(()) => this.state = State::Ended,
                    Err(e) => return this.fail(e),
                },
                Poll::Ready(Some(Err(e))) => return this.fail(RestBodyError::Read(e.to_string())),
                Poll::Ready(Some(Ok(frame))) => {
                    this.waiting = false;
                    // HTTP/2 or chunked-encoding trailers are not how S3
                    // clients send checksums (those ride in aws-chunked);
                    // nothing reads them, so they are dropped.
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    match this.check.feed(data) {
                        Err(e) => return this.fail(e),
                        Ok(out) if out.is_empty() => {}
                        Ok(out) => {
                            if let Some(previous) = this.held.replace(out) {
                                this.released += previous.len() as u64;
                                return Poll::Ready(Some(Ok(Frame::data(previous))));
                            }
                        }
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.state == State::Done
    }

    fn size_hint(&self) -> SizeHint {
        // What is left to hand on: s3s reads an exact hint as the object's
        // length, so it counts the held piece and, for aws-chunked, the
        // decoded (not the wire) length.
        let held = self.held.as_ref().map_or(0, |b| b.len() as u64);
        if self.state == State::Done {
            return SizeHint::with_exact(0);
        }
        if self.check.is_chunked() {
            return self
                .check
                .decoded_len_hint()
                .map(|total| SizeHint::with_exact(total.saturating_sub(self.released)))
                .unwrap_or_default();
        }
        let inner = self.inner.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower().saturating_add(held));
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper.saturating_add(held));
        }
        hint
    }
}
