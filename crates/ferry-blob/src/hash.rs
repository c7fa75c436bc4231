//! MD5 + SHA-256 of a body, computed while it streams.

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::{BlobError, PutOptions};

pub(crate) struct BodyHasher {
    md5: Md5,
    sha256: Sha256,
    size: u64,
}

impl BodyHasher {
    pub(crate) fn new() -> Self {
        BodyHasher {
            md5: Md5::new(),
            sha256: Sha256::new(),
            size: 0,
        }
    }

    /// Adds a chunk; fails as soon as the body is longer than announced.
    pub(crate) fn update(&mut self, chunk: &[u8], opts: &PutOptions) -> Result<(), BlobError> {
        self.size += chunk.len() as u64;
        if let Some(expected) = opts.expected_size
            && self.size > expected
        {
            return Err(BlobError::SizeMismatch {
                expected,
                actual: self.size,
            });
        }
        self.md5.update(chunk);
        self.sha256.update(chunk);
        Ok(())
    }

    /// The digests, checked against what the caller announced.
    pub(crate) fn finish(self, opts: &PutOptions) -> Result<Digests, BlobError> {
        if let Some(expected) = opts.expected_size
            && self.size != expected
        {
            return Err(BlobError::SizeMismatch {
                expected,
                actual: self.size,
            });
        }
        let mut md5 = [0u8; 16];
        md5.copy_from_slice(&self.md5.finalize());
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(&self.sha256.finalize());
        if opts.expected_md5.is_some_and(|e| e != md5) {
            return Err(BlobError::DigestMismatch { algorithm: "md5" });
        }
        if opts.expected_sha256.is_some_and(|e| e != sha256) {
            return Err(BlobError::DigestMismatch {
                algorithm: "sha256",
            });
        }
        Ok(Digests {
            size: self.size,
            md5,
            sha256,
        })
    }
}

pub(crate) struct Digests {
    pub(crate) size: u64,
    pub(crate) md5: [u8; 16],
    pub(crate) sha256: [u8; 32],
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        let opts = PutOptions::default();
        let mut h = BodyHasher::new();
        h.update(b"ab", &opts).expect("update");
        h.update(b"c", &opts).expect("update");
        let d = h.finish(&opts).expect("finish");
        assert_eq!(d.size, 3);
        assert_eq!(hex(&d.md5), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            hex(&d.sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn announced_size_and_digests_are_checked() {
        let too_long = PutOptions {
            expected_size: Some(2),
            ..PutOptions::default()
        };
        let mut h = BodyHasher::new();
        assert!(matches!(
            h.update(b"abc", &too_long),
            Err(BlobError::SizeMismatch {
                expected: 2,
                actual: 3
            })
        ));
        let too_short = PutOptions {
            expected_size: Some(4),
            ..PutOptions::default()
        };
        let mut h = BodyHasher::new();
        h.update(b"abc", &too_short).expect("update");
        assert!(matches!(
            h.finish(&too_short),
            Err(BlobError::SizeMismatch { .. })
        ));
        let bad_md5 = PutOptions {
            expected_md5: Some([0; 16]),
            ..PutOptions::default()
        };
        let mut h = BodyHasher::new();
        h.update(b"abc", &bad_md5).expect("update");
        assert!(matches!(
            h.finish(&bad_md5),
            Err(BlobError::DigestMismatch { algorithm: "md5" })
        ));
    }
}
