//! `aws-chunked` bodies (`Content-Encoding: aws-chunked`), sans-IO.
//!
//! Wire format, one chunk after another, then trailers:
//! ```text
//! <hex size>;chunk-signature=<64 hex>\r\n<size bytes>\r\n     (signed modes)
//! <hex size>\r\n<size bytes>\r\n                              (unsigned trailer mode)
//! 0;chunk-signature=<64 hex>\r\n   or   0\r\n                 (final chunk)
//! x-amz-checksum-crc32:<base64>\r\n ...                       (trailer modes)
//! x-amz-trailer-signature:<64 hex>\r\n                        (signed trailer mode)
//! \r\n
//! ```
//! Chunk *n*'s signature is an HMAC, under the request's signing key, of
//! `AWS4-HMAC-SHA256-PAYLOAD\n<date>\n<scope>\n<signature n-1>\n<sha256("")>\n<sha256(data)>`,
//! chained from the request's own (seed) signature; the trailer signature
//! signs `AWS4-HMAC-SHA256-TRAILER\n<date>\n<scope>\n<final chunk signature>\n<sha256(trailers)>`
//! where the trailers are `name:value\n` each, in the order sent.
//!
//! The decoder is a state machine fed arbitrary slices: chunk boundaries may
//! fall anywhere, and memory stays bounded because chunk data is streamed
//! through (hashed on the way) and only the short header and trailer lines
//! are buffered, each under a small limit.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::canonical::{EMPTY_SHA256, hmac_sha256, sha256, sha256_hex};
use crate::error::SigV4Error;

/// Longest chunk header line accepted: `ffffffffffffffff;chunk-signature=<64>`
/// is 97 bytes, so anything past this is garbage or an attack.
const MAX_CHUNK_HEADER_LINE: usize = 256;
/// Longest trailer line accepted (checksums are at most ~100 bytes).
const MAX_TRAILER_LINE: usize = 1024;
/// Total size of all trailers.
const MAX_TRAILER_BYTES: usize = 8 * 1024;
/// Number of trailers (AWS sends one checksum).
const MAX_TRAILERS: usize = 16;

const TRAILER_SIGNATURE: &str = "x-amz-trailer-signature";

/// The chain state of signed chunks: key, scope, date and last signature.
#[derive(Clone)]
pub(crate) struct ChunkSigning {
    pub key: [u8; 32],
    pub scope: String,
    pub amz_date: String,
    pub previous: [u8; 32],
}

impl ChunkSigning {
    fn chunk_signature(&self, data_sha256: &[u8; 32]) -> [u8; 32] {
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{EMPTY_SHA256}\n{}",
            self.amz_date,
            self.scope,
            hex::encode(self.previous),
            hex::encode(data_sha256)
        );
        hmac_sha256(&self.key, sts.as_bytes())
    }

    fn trailer_signature(&self, canonical_trailers: &[u8]) -> [u8; 32] {
        let sts = format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{}",
            self.amz_date,
            self.scope,
            hex::encode(self.previous),
            sha256_hex(canonical_trailers)
        );
        hmac_sha256(&self.key, sts.as_bytes())
    }
}

fn framing(message: &str) -> SigV4Error {
    SigV4Error::InvalidChunk(message.to_string())
}

fn decode_signature(hex_sig: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_sig, &mut out).ok().map(|()| out)
}

fn canonical_trailers(trailers: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in trailers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out
}

fn valid_trailer_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn valid_trailer_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
}

/// The trailing headers of an `aws-chunked` body, in the order sent, names
/// lowercased (the trailer signature itself is not included).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trailers {
    entries: Vec<(String, String)>,
}

impl Trailers {
    /// The value of trailer `name` (case-insensitive), e.g.
    /// `x-amz-checksum-crc32`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All trailers as `(name, value)`, in the order sent.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of trailers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there were no trailers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading `<hex size>[;ext]\r\n`.
    ChunkHeader,
    /// Streaming chunk data.
    ChunkData { remaining: u64 },
    /// Expecting the CRLF after chunk data.
    ChunkEnd { seen_cr: bool },
    /// After the final chunk: trailer lines up to an empty line.
    Trailers,
    /// Everything consumed; nothing more may come.
    Done,
    /// An error was returned; the decoder refuses further input.
    Failed,
}

/// Sans-IO decoder for `aws-chunked` bodies: `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`
/// (get one from [`crate::Verified::chunk_decoder`] with `trailer == false`),
/// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER` (`trailer == true`) and
/// `STREAMING-UNSIGNED-PAYLOAD-TRAILER` ([`ChunkedDecoder::unsigned_trailer`]).
///
/// Feed the raw body in slices of any size with [`ChunkedDecoder::feed`]; the
/// decoded payload is appended to `out` as it streams, so bytes of a chunk are
/// produced *before* that chunk's signature is checked at its end. Treat the
/// output as provisional until [`ChunkedDecoder::finish`] returns `Ok`, and
/// discard it on any error. After an error every further call fails.
///
/// Checking the trailer checksum against the decoded data, and the decoded
/// length against `x-amz-decoded-content-length`, is left to the caller (see
/// [`ChunkedDecoder::decoded_len`]).
#[derive(Clone)]
pub struct ChunkedDecoder {
    signing: Option<ChunkSigning>,
    trailer: bool,
    state: State,
    line: Vec<u8>,
    chunk_hash: Sha256,
    chunk_signature: [u8; 32],
    trailers: Vec<(String, String)>,
    trailer_bytes: usize,
    trailer_signature_seen: bool,
    decoded_len: u64,
}

impl fmt::Debug for ChunkedDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkedDecoder")
            .field("signed", &self.signing.is_some())
            .field("trailer", &self.trailer)
            .field("state", &self.state)
            .field("decoded_len", &self.decoded_len)
            .finish_non_exhaustive()
    }
}

impl ChunkedDecoder {
    pub(crate) fn signed(signing: ChunkSigning, trailer: bool) -> Self {
        Self::new(Some(signing), trailer)
    }

    /// A decoder for `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: chunks carry no
    /// signatures and trailers (typically a checksum) follow the final chunk.
    pub fn unsigned_trailer() -> Self {
        Self::new(None, true)
    }

    fn new(signing: Option<ChunkSigning>, trailer: bool) -> Self {
        ChunkedDecoder {
            signing,
            trailer,
            state: State::ChunkHeader,
            line: Vec::new(),
            chunk_hash: Sha256::new(),
            chunk_signature: [0; 32],
            trailers: Vec::new(),
            trailer_bytes: 0,
            trailer_signature_seen: false,
            decoded_len: 0,
        }
    }

    /// Decoded payload bytes produced so far.
    pub fn decoded_len(&self) -> u64 {
        self.decoded_len
    }

    /// Whether the complete body, through the terminating empty line, has been
    /// consumed.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Consumes `input` (any slice of the raw body) and appends the decoded
    /// payload bytes it contains to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), SigV4Error> {
        let result = self.feed_inner(input, out);
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    /// Ends the body. Errors if it stopped before the final chunk (or inside a
    /// trailer line, or, in signed trailer mode, before the trailer signature).
    /// Returns the trailers (empty without a trailer mode).
    pub fn finish(self) -> Result<Trailers, SigV4Error> {
        match self.state {
            State::Done => Ok(Trailers {
                entries: self.trailers,
            }),
            // Without trailers the final chunk already carries everything (and
            // its signature has been checked), so a missing final CRLF is
            // tolerated. With trailers the empty line is what proves the
            // trailer section is complete, so it is required.
            State::Trailers if self.line.is_empty() && !self.trailer => Ok(Trailers::default()),
            State::Failed => Err(framing("The aws-chunked body was already rejected.")),
            _ => Err(framing(
                "The aws-chunked body ended before its final chunk; \
                 you did not provide the number of bytes announced.",
            )),
        }
    }

    fn check_trailer_signature_seen(&self) -> Result<(), SigV4Error> {
        if self.trailer && self.signing.is_some() && !self.trailer_signature_seen {
            return Err(SigV4Error::SignatureDoesNotMatch(
                "The aws-chunked body is missing its x-amz-trailer-signature.".to_string(),
            ));
        }
        Ok(())
    }

    fn feed_inner(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), SigV4Error> {
        while !input.is_empty() {
            match self.state {
                State::ChunkHeader => {
                    if let Some(line) = self.take_line(&mut input, MAX_CHUNK_HEADER_LINE)? {
                        self.start_chunk(&line)?;
                    }
                }
                State::ChunkData { remaining } => {
                    let take =
                        usize::try_from(remaining).map_or(input.len(), |r| r.min(input.len()));
                    let (data, rest) = input.split_at(take);
                    if self.signing.is_some() {
                        self.chunk_hash.update(data);
                    }
                    out.extend_from_slice(data);
                    input = rest;
                    let taken = take as u64;
                    self.decoded_len = self.decoded_len.saturating_add(taken);
                    let remaining = remaining.saturating_sub(taken);
                    if remaining == 0 {
                        self.verify_chunk()?;
                        self.state = State::ChunkEnd { seen_cr: false };
                    } else {
                        self.state = State::ChunkData { remaining };
                    }
                }
                State::ChunkEnd { seen_cr } => {
                    let Some((&byte, rest)) = input.split_first() else {
                        break;
                    };
                    input = rest;
                    self.state = match (seen_cr, byte) {
                        (false, b'\r') => State::ChunkEnd { seen_cr: true },
                        (true, b'\n') => State::ChunkHeader,
                        _ => return Err(framing("Chunk data must be followed by CRLF.")),
                    };
                }
                State::Trailers => {
                    if let Some(line) = self.take_line(&mut input, MAX_TRAILER_LINE)? {
                        self.trailer_line(&line)?;
                    }
                }
                State::Done => {
                    return Err(framing("Data follows the end of the aws-chunked body."));
                }
                State::Failed => {
                    return Err(framing("The aws-chunked body was already rejected."));
                }
            }
        }
        Ok(())
    }

    /// Accumulates up to a CRLF; returns the line without it once complete.
    fn take_line(
        &mut self,
        input: &mut &[u8],
        limit: usize,
    ) -> Result<Option<Vec<u8>>, SigV4Error> {
        let newline = input.iter().position(|&b| b == b'\n');
        let end = newline.map_or(input.len(), |i| i + 1);
        if self.line.len() + end > limit + 2 {
            return Err(framing(
                "An aws-chunked header or trailer line is too long.",
            ));
        }
        let (segment, rest) = input.split_at(end);
        self.line.extend_from_slice(segment);
        *input = rest;
        if newline.is_none() {
            return Ok(None);
        }
        let mut line = std::mem::take(&mut self.line);
        line.pop();
        if line.pop() != Some(b'\r') {
            return Err(framing("aws-chunked lines must end with CRLF."));
        }
        Ok(Some(line))
    }

    fn start_chunk(&mut self, line: &[u8]) -> Result<(), SigV4Error> {
        let text = std::str::from_utf8(line).map_err(|_| framing("Malformed chunk header."))?;
        let (size_hex, extension) = match text.split_once(';') {
            Some((size, ext)) => (size, Some(ext)),
            None => (text, None),
        };
        if size_hex.is_empty()
            || size_hex.len() > 16
            || !size_hex.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(framing("Malformed chunk size."));
        }
        let size =
            u64::from_str_radix(size_hex, 16).map_err(|_| framing("Malformed chunk size."))?;
        if self.signing.is_some() {
            let signature = extension
                .and_then(|ext| ext.strip_prefix("chunk-signature="))
                .and_then(decode_signature)
                .ok_or_else(|| framing("Each chunk must carry a chunk-signature."))?;
            self.chunk_signature = signature;
            self.chunk_hash = Sha256::new();
        }
        if size == 0 {
            self.verify_chunk()?;
            self.state = State::Trailers;
        } else {
            self.state = State::ChunkData { remaining: size };
        }
        Ok(())
    }

    fn verify_chunk(&mut self) -> Result<(), SigV4Error> {
        let Some(signing) = self.signing.as_mut() else {
            return Ok(());
        };
        let hash: [u8; 32] = std::mem::take(&mut self.chunk_hash).finalize().into();
        let expected = signing.chunk_signature(&hash);
        if !bool::from(expected.ct_eq(&self.chunk_signature)) {
            return Err(SigV4Error::SignatureDoesNotMatch(
                "The chunk signature we calculated does not match the chunk-signature you provided."
                    .to_string(),
            ));
        }
        signing.previous = self.chunk_signature;
        Ok(())
    }

    fn trailer_line(&mut self, line: &[u8]) -> Result<(), SigV4Error> {
        if line.is_empty() {
            self.check_trailer_signature_seen()?;
            self.state = State::Done;
            return Ok(());
        }
        if !self.trailer {
            return Err(framing(
                "Trailing headers need a STREAMING-*-TRAILER x-amz-content-sha256.",
            ));
        }
        if self.trailer_signature_seen {
            return Err(framing("Nothing may follow x-amz-trailer-signature."));
        }
        let text = std::str::from_utf8(line).map_err(|_| framing("Malformed trailer."))?;
        let (name, value) = text
            .split_once(':')
            .ok_or_else(|| framing("Malformed trailer."))?;
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        if !valid_trailer_name(&name) || !valid_trailer_value(value) {
            return Err(framing("Malformed trailer."));
        }
        if name == TRAILER_SIGNATURE {
            let Some(signing) = self.signing.as_ref() else {
                return Err(framing("Unsigned trailers cannot carry a signature."));
            };
            let provided = decode_signature(value)
                .ok_or_else(|| framing("Malformed x-amz-trailer-signature."))?;
            let expected = signing.trailer_signature(&canonical_trailers(&self.trailers));
            if !bool::from(expected.ct_eq(&provided)) {
                return Err(SigV4Error::SignatureDoesNotMatch(
                    "The trailer signature we calculated does not match the one you provided."
                        .to_string(),
                ));
            }
            self.trailer_signature_seen = true;
            return Ok(());
        }
        self.trailer_bytes += line.len();
        if self.trailers.len() >= MAX_TRAILERS || self.trailer_bytes > MAX_TRAILER_BYTES {
            return Err(framing("Too many trailing headers."));
        }
        self.trailers.push((name, value.to_string()));
        Ok(())
    }
}

/// The sending side of [`ChunkedDecoder`], for Ferry's CLI and tests. Get a
/// signed one from [`crate::Verified::chunk_encoder`].
#[derive(Clone)]
pub struct ChunkedEncoder {
    signing: Option<ChunkSigning>,
    trailer: bool,
}

impl fmt::Debug for ChunkedEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkedEncoder")
            .field("signed", &self.signing.is_some())
            .field("trailer", &self.trailer)
            .finish_non_exhaustive()
    }
}

impl ChunkedEncoder {
    pub(crate) fn signed(signing: ChunkSigning, trailer: bool) -> Self {
        ChunkedEncoder {
            signing: Some(signing),
            trailer,
        }
    }

    /// An encoder for `STREAMING-UNSIGNED-PAYLOAD-TRAILER`.
    pub fn unsigned_trailer() -> Self {
        ChunkedEncoder {
            signing: None,
            trailer: true,
        }
    }

    fn chunk_header(&mut self, data: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(format!("{:x}", data.len()).as_bytes());
        if let Some(signing) = self.signing.as_mut() {
            let signature = signing.chunk_signature(&sha256(data));
            signing.previous = signature;
            out.extend_from_slice(b";chunk-signature=");
            out.extend_from_slice(hex::encode(signature).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }

    /// Appends one chunk carrying `data` to `out`. Empty `data` is skipped: a
    /// zero-length chunk would end the body.
    pub fn chunk(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if data.is_empty() {
            return;
        }
        self.chunk_header(data, out);
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }

    /// Appends the final chunk, the `trailers` (trailer modes only; names are
    /// lowercased) and, when signed, the trailer signature.
    pub fn finish(
        mut self,
        trailers: &[(&str, &str)],
        out: &mut Vec<u8>,
    ) -> Result<(), SigV4Error> {
        if !self.trailer && !trailers.is_empty() {
            return Err(SigV4Error::InvalidArgument(
                "trailers need a -TRAILER streaming mode".to_string(),
            ));
        }
        let mut entries = Vec::with_capacity(trailers.len());
        for (name, value) in trailers {
            let name = name.trim().to_ascii_lowercase();
            let value = value.trim();
            if !valid_trailer_name(&name)
                || !valid_trailer_value(value)
                || name == TRAILER_SIGNATURE
            {
                return Err(SigV4Error::InvalidArgument(format!(
                    "invalid trailer {name:?}"
                )));
            }
            entries.push((name, value.to_string()));
        }
        self.chunk_header(&[], out);
        for (name, value) in &entries {
            out.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
        }
        if self.trailer
            && let Some(signing) = &self.signing
        {
            let signature = signing.trailer_signature(&canonical_trailers(&entries));
            out.extend_from_slice(
                format!("{TRAILER_SIGNATURE}:{}\r\n", hex::encode(signature)).as_bytes(),
            );
        }
        out.extend_from_slice(b"\r\n");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::signing_key;

    const SCOPE: &str = "20261128/us-east-1/s3/aws4_request";
    const DATE: &str = "20261128T101500Z";
    const SEED: [u8; 32] = [7; 32];

    fn signing() -> ChunkSigning {
        ChunkSigning {
            key: signing_key("secret", "20261128", "us-east-1", "s3"),
            scope: SCOPE.to_string(),
            amz_date: DATE.to_string(),
            previous: SEED,
        }
    }

    #[derive(Clone, Copy, Debug)]
    enum Mode {
        Signed,
        SignedTrailer,
        UnsignedTrailer,
    }

    const MODES: [Mode; 3] = [Mode::Signed, Mode::SignedTrailer, Mode::UnsignedTrailer];

    fn encoder(mode: Mode) -> ChunkedEncoder {
        match mode {
            Mode::Signed => ChunkedEncoder::signed(signing(), false),
            Mode::SignedTrailer => ChunkedEncoder::signed(signing(), true),
            Mode::UnsignedTrailer => ChunkedEncoder::unsigned_trailer(),
        }
    }

    fn decoder(mode: Mode) -> ChunkedDecoder {
        match mode {
            Mode::Signed => ChunkedDecoder::signed(signing(), false),
            Mode::SignedTrailer => ChunkedDecoder::signed(signing(), true),
            Mode::UnsignedTrailer => ChunkedDecoder::unsigned_trailer(),
        }
    }

    fn trailers_for(mode: Mode) -> &'static [(&'static str, &'static str)] {
        match mode {
            Mode::Signed => &[],
            _ => &[
                ("x-amz-checksum-crc32", "sOO8/Q=="),
                ("X-Amz-Meta-Extra", " v "),
            ],
        }
    }

    fn payload(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    fn encode(mode: Mode, data: &[u8], chunk: usize) -> Vec<u8> {
        let mut enc = encoder(mode);
        let mut out = Vec::new();
        for piece in data.chunks(chunk.max(1)) {
            enc.chunk(piece, &mut out);
        }
        enc.finish(trailers_for(mode), &mut out).expect("encode");
        out
    }

    fn decode_in(mode: Mode, body: &[u8], step: usize) -> Result<(Vec<u8>, Trailers), SigV4Error> {
        let mut dec = decoder(mode);
        let mut out = Vec::new();
        for piece in body.chunks(step.max(1)) {
            dec.feed(piece, &mut out)?;
            assert!(dec.line.len() <= MAX_TRAILER_LINE + 2);
        }
        let trailers = dec.finish()?;
        Ok((out, trailers))
    }

    #[test]
    fn round_trips_in_every_mode_and_every_feed_size() {
        for mode in MODES {
            for (len, chunk) in [(0, 1), (1, 1), (100, 7), (1000, 1000), (70_000, 65_536)] {
                let data = payload(len);
                let body = encode(mode, &data, chunk);
                let (whole, trailers) = decode_in(mode, &body, body.len()).expect("whole");
                assert_eq!(whole, data, "{mode:?} {len}");
                let (bytewise, again) = decode_in(mode, &body, 1).expect("bytewise");
                assert_eq!(bytewise, whole, "{mode:?} {len}");
                assert_eq!(again, trailers);
                for step in [2, 3, 13, 89, 4096] {
                    let (out, _) = decode_in(mode, &body, step).expect("step");
                    assert_eq!(out, data, "{mode:?} {len} step {step}");
                }
                match mode {
                    Mode::Signed => assert!(trailers.is_empty()),
                    _ => {
                        assert_eq!(trailers.len(), 2);
                        assert_eq!(trailers.get("X-AMZ-CHECKSUM-CRC32"), Some("sOO8/Q=="));
                        assert_eq!(trailers.get("x-amz-meta-extra"), Some("v"));
                        assert_eq!(
                            trailers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
                            ["x-amz-checksum-crc32", "x-amz-meta-extra"]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn wire_format_matches_the_documented_layout() {
        // Independent re-computation of the chain from the documented formulas.
        let s = signing();
        let data = b"hello world";
        let body = encode(Mode::SignedTrailer, data, 64);
        let hmac_hex = |sts: String| hex::encode(hmac_sha256(&s.key, sts.as_bytes()));
        let sig1 = hmac_hex(format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{DATE}\n{SCOPE}\n{}\n{EMPTY_SHA256}\n{}",
            hex::encode(SEED),
            sha256_hex(data)
        ));
        let sig0 = hmac_hex(format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{DATE}\n{SCOPE}\n{sig1}\n{EMPTY_SHA256}\n{EMPTY_SHA256}"
        ));
        let trailer_canonical = "x-amz-checksum-crc32:sOO8/Q==\nx-amz-meta-extra:v\n";
        let trailer_sig = hmac_hex(format!(
            "AWS4-HMAC-SHA256-TRAILER\n{DATE}\n{SCOPE}\n{sig0}\n{}",
            sha256_hex(trailer_canonical.as_bytes())
        ));
        let expected = format!(
            "b;chunk-signature={sig1}\r\nhello world\r\n0;chunk-signature={sig0}\r\n\
             x-amz-checksum-crc32:sOO8/Q==\r\nx-amz-meta-extra:v\r\n\
             x-amz-trailer-signature:{trailer_sig}\r\n\r\n"
        );
        assert_eq!(String::from_utf8(body).expect("ascii"), expected);

        let unsigned = encode(Mode::UnsignedTrailer, data, 64);
        assert_eq!(
            String::from_utf8(unsigned).expect("ascii"),
            "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:sOO8/Q==\r\nx-amz-meta-extra:v\r\n\r\n"
        );
    }

    #[test]
    fn every_truncation_is_detected() {
        for mode in MODES {
            let body = encode(mode, &payload(300), 100);
            for cut in 0..body.len() {
                let result = decode_in(mode, &body[..cut], 1);
                // Only the final CRLF of a trailer-less body may be missing.
                let tolerated = matches!(mode, Mode::Signed) && cut == body.len() - 2;
                assert_eq!(
                    result.is_ok(),
                    tolerated,
                    "{mode:?} cut at {cut}/{}",
                    body.len()
                );
                if let Err(err) = result {
                    assert!(
                        matches!(err.code(), "IncompleteBody" | "SignatureDoesNotMatch"),
                        "{mode:?} {cut}: {err:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_single_byte_change_of_a_signed_body_is_detected() {
        for mode in [Mode::Signed, Mode::SignedTrailer] {
            let body = encode(mode, &payload(100), 40);
            for position in 0..body.len() {
                let mut bad = body.clone();
                bad[position] ^= 0x01;
                for step in [1, bad.len()] {
                    assert!(
                        decode_in(mode, &bad, step).is_err(),
                        "{mode:?}: flipping byte {position} ({:?}) went unnoticed",
                        body[position] as char
                    );
                }
            }
        }
    }

    #[test]
    fn malformed_framing_is_rejected() {
        let sig = "0".repeat(64);
        let signed_cases: Vec<Vec<u8>> = vec![
            b"5\r\nhello\r\n0\r\n\r\n".to_vec(),
            format!("5;chunk-signature={}\r\nhello\r\n", &sig[1..]).into_bytes(),
            format!("5;chunk-signatures={sig}\r\nhello\r\n").into_bytes(),
            format!("5;chunk-signature={}\r\nhello\r\n", "g".repeat(64)).into_bytes(),
            format!(";chunk-signature={sig}\r\n").into_bytes(),
            format!("0x5;chunk-signature={sig}\r\n").into_bytes(),
            format!("-5;chunk-signature={sig}\r\n").into_bytes(),
            format!(" 5;chunk-signature={sig}\r\n").into_bytes(),
            format!("{};chunk-signature={sig}\r\n", "0".repeat(17)).into_bytes(),
            format!("5;chunk-signature={sig}\n").into_bytes(),
            format!("5;chunk-signature={sig}\r\r\n").into_bytes(),
            format!("{}\r\n", "f".repeat(300)).into_bytes(),
        ];
        for case in signed_cases {
            let err = decode_in(Mode::Signed, &case, case.len()).expect_err("framing");
            assert_eq!(
                err.code(),
                "IncompleteBody",
                "{:?}",
                String::from_utf8_lossy(&case)
            );
        }
        let unsigned_cases: &[&[u8]] = &[
            b"5\r\nhelloXX0\r\n\r\n",
            b"5\r\nhello\n0\r\n\r\n",
            b"0\r\nx-amz-checksum-crc32 sOO8/Q==\r\n\r\n",
            b"0\r\n:value\r\n\r\n",
            b"0\r\nbad name:v\r\n\r\n",
            b"0\r\nname:\x01\r\n\r\n",
            b"0\r\nname:\xff\r\n\r\n",
            b"0\r\nx-amz-trailer-signature:0000000000000000000000000000000000000000000000000000000000000000\r\n\r\n",
            b"0\r\n\r\nextra",
            b"3\r\nabc\r\n0\r\n\r\n\r\n",
            b"g\r\n",
            b"\r\n",
        ];
        for case in unsigned_cases {
            let err = decode_in(Mode::UnsignedTrailer, case, case.len()).expect_err("framing");
            assert_eq!(
                err.code(),
                "IncompleteBody",
                "{:?}",
                String::from_utf8_lossy(case)
            );
        }
        // Too many trailers, too long a trailer line.
        let mut many = b"0\r\n".to_vec();
        for i in 0..=MAX_TRAILERS {
            many.extend_from_slice(format!("x-t{i}:v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert!(decode_in(Mode::UnsignedTrailer, &many, 5).is_err());
        let long = format!("0\r\nx:{}\r\n\r\n", "v".repeat(MAX_TRAILER_LINE));
        assert!(decode_in(Mode::UnsignedTrailer, long.as_bytes(), 7).is_err());
    }

    #[test]
    fn signed_trailer_rules() {
        let body = encode(Mode::SignedTrailer, b"data", 4);
        let text = String::from_utf8(body.clone()).expect("ascii");
        // Trailers are refused when the mode announced none.
        let plain = ChunkedDecoder::signed(signing(), false);
        let mut dec = plain.clone();
        assert!(dec.feed(&body, &mut Vec::new()).is_err());
        // The trailer signature is required, once, and last.
        let without = text.replace(
            &text[text.find("x-amz-trailer-signature").expect("sig")..text.len() - 2],
            "",
        );
        let err = decode_in(Mode::SignedTrailer, without.as_bytes(), 3).expect_err("missing");
        assert_eq!(err.code(), "SignatureDoesNotMatch");
        let sig_line_start = text.find("x-amz-trailer-signature").expect("sig");
        let sig_line = &text[sig_line_start..text.len() - 2];
        let twice = format!("{}{sig_line}\r\n", &text[..text.len() - 2]);
        assert!(decode_in(Mode::SignedTrailer, format!("{twice}\r\n").as_bytes(), 3).is_err());
        let after = format!("{}x-late:v\r\n\r\n", &text[..text.len() - 2]);
        assert!(decode_in(Mode::SignedTrailer, after.as_bytes(), 3).is_err());
        // Signatures chain from the seed: another seed fails at the first chunk.
        let mut other = signing();
        other.previous = [8; 32];
        let mut dec = ChunkedDecoder::signed(other, true);
        let err = dec.feed(&body, &mut Vec::new()).expect_err("seed");
        assert_eq!(err.code(), "SignatureDoesNotMatch");
    }

    #[test]
    fn memory_stays_bounded() {
        // A huge declared chunk streams through without buffering.
        let mut dec = ChunkedDecoder::unsigned_trailer();
        let mut out = Vec::new();
        dec.feed(b"ffffffffffffffff\r\n", &mut out).expect("header");
        let block = vec![b'z'; 1 << 16];
        for _ in 0..16 {
            out.clear();
            dec.feed(&block, &mut out).expect("data");
            assert_eq!(out.len(), block.len());
            assert!(dec.line.is_empty());
        }
        assert_eq!(dec.decoded_len(), 16 << 16);
        assert_eq!(
            dec.finish().expect_err("truncated").code(),
            "IncompleteBody"
        );
        // An endless header line is cut off at the limit.
        let mut dec = ChunkedDecoder::unsigned_trailer();
        let mut fed = 0;
        let err = loop {
            match dec.feed(b"0000000000000000", &mut Vec::new()) {
                Ok(()) => fed += 16,
                Err(err) => break err,
            }
            assert!(fed <= MAX_CHUNK_HEADER_LINE + 16);
        };
        assert_eq!(err.code(), "IncompleteBody");
    }

    #[test]
    fn random_input_never_panics() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet: &[&[u8]] = &[
            b"0",
            b"1",
            b"a",
            b"f",
            b"ffffffff",
            b";",
            b"chunk-signature=",
            b"\r\n",
            b"\r",
            b"\n",
            b":",
            b"x-amz-trailer-signature",
            b"x-amz-checksum-crc32",
            b"0000000000000000",
            b"\xff",
            b" ",
            b"=",
        ];
        let valid = encode(Mode::SignedTrailer, &payload(50), 20);
        for round in 0..3000 {
            let mut body = Vec::new();
            if round % 2 == 0 {
                for _ in 0..(next() % 40) {
                    body.extend_from_slice(alphabet[(next() % alphabet.len() as u64) as usize]);
                }
            } else {
                body = valid.clone();
                for _ in 0..(1 + next() % 4) {
                    let at = (next() % body.len() as u64) as usize;
                    match next() % 3 {
                        0 => body[at] = next() as u8,
                        1 => {
                            body.remove(at);
                        }
                        _ => body
                            .splice(
                                at..at,
                                alphabet[(next() % alphabet.len() as u64) as usize]
                                    .iter()
                                    .copied(),
                            )
                            .for_each(drop),
                    }
                }
            }
            for mode in MODES {
                let step = 1 + (next() % 17) as usize;
                let _ = decode_in(mode, &body, step);
            }
        }
    }

    #[test]
    fn encoder_rules() {
        let mut enc = encoder(Mode::Signed);
        let mut out = Vec::new();
        enc.chunk(b"", &mut out);
        assert!(out.is_empty(), "an empty chunk would end the body");
        assert_eq!(
            enc.clone()
                .finish(&[("x-amz-checksum-crc32", "AAAAAA==")], &mut out)
                .expect_err("no trailer mode")
                .code(),
            "InvalidArgument"
        );
        for bad in [
            ("bad name", "v"),
            ("x", "a\r\nb"),
            ("x-amz-trailer-signature", "v"),
            ("", "v"),
        ] {
            assert!(
                encoder(Mode::UnsignedTrailer)
                    .finish(&[bad], &mut Vec::new())
                    .is_err(),
                "{bad:?}"
            );
        }
        assert!(format!("{enc:?}").contains("signed: true"));
        assert!(!format!("{:?}", ChunkedDecoder::signed(signing(), true)).contains("key"));
    }
}
