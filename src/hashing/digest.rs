//! Exact file hashes: MD5, SHA-1, SHA-256 (RustCrypto), computed from the same bytes
//! that are decoded, or streamed for files that are not decoded.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Incremental digests of the file bytes, only those asked for.
#[derive(Default)]
pub struct Digests {
    md5: Option<Md5>,
    sha1: Option<Sha1>,
    sha256: Option<Sha256>,
}

/// Finished digests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DigestValues {
    pub md5: Option<[u8; 16]>,
    pub sha1: Option<[u8; 20]>,
    pub sha256: Option<[u8; 32]>,
}

impl Digests {
    pub fn new(md5: bool, sha1: bool, sha256: bool) -> Self {
        Digests {
            md5: md5.then(Md5::new),
            sha1: sha1.then(Sha1::new),
            sha256: sha256.then(Sha256::new),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.md5.is_none() && self.sha1.is_none() && self.sha256.is_none()
    }

    pub fn update(&mut self, data: &[u8]) {
        if let Some(h) = &mut self.md5 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha1 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha256 {
            h.update(data);
        }
    }

    pub fn finish(self) -> DigestValues {
        DigestValues {
            md5: self.md5.map(|h| h.finalize().into()),
            sha1: self.sha1.map(|h| h.finalize().into()),
            sha256: self.sha256.map(|h| h.finalize().into()),
        }
    }
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(D[(b >> 4) as usize] as char);
        s.push(D[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        let mut d = Digests::new(true, true, true);
        d.update(b"a");
        d.update(b"bc");
        let v = d.finish();
        assert_eq!(hex(&v.md5.unwrap()), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            hex(&v.sha1.unwrap()),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(&v.sha256.unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hex(&sha256(b"abc")), hex(&v.sha256.unwrap()));
        let none = Digests::new(false, true, false).finish();
        assert!(none.md5.is_none() && none.sha256.is_none() && none.sha1.is_some());
    }
}
