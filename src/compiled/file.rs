//! The container of a compiled hash list: a header, then arrays of plain data
//! (sections), then a JSON manifest that describes them.
//!
//! Layout (all integers in the byte order of the machine that wrote it, which the
//! header's marker records):
//!
//! | bytes | field |
//! |---|---|
//! | 0..8 | magic `PHSCANCL` |
//! | 8..12 | byte-order marker `0x0A0B0C0D` |
//! | 12..16 | format version ([`VERSION`]) |
//! | 16..24 | file length |
//! | 24..32, 32..40 | manifest offset and length |
//! | 40..44 | CRC-32 of the manifest |
//! | 44..48 | zero |
//! | 48..80 | SHA-256 of everything after the header (bytes 4096..) |
//! | 80..84 | CRC-32 of bytes 0..80 |
//! | 84..4096 | zero |
//!
//! Sections start at 64-byte boundaries; each has a CRC-32 in the manifest covering it
//! and the padding up to the next section, so that every byte of the file is checked
//! when it is opened. The checks detect damage (a truncated copy, a flipped bit);
//! they are not a signature.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::slab::{as_bytes, Plain, Slab};

pub const MAGIC: &[u8; 8] = b"PHSCANCL";
const ORDER: u32 = 0x0A0B_0C0D;
/// The version this phscan writes and reads; any change to the layout of a section or
/// of the manifest changes it.
pub const VERSION: u32 = 1;
pub const HEADER: usize = 4096;
const ALIGN: u64 = 64;

/// A section of the file, by number.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Sec(u32);

#[derive(Clone, Debug, Serialize, Deserialize)]
struct SectionEntry {
    offset: u64,
    /// Bytes of data (the padding after it is not counted).
    len: u64,
    /// CRC-32 of the data and the padding after it.
    crc32: u32,
}

#[derive(Serialize, Deserialize)]
struct Manifest<M> {
    sections: Vec<SectionEntry>,
    body: M,
}

/// Writes a compiled list: [`Writer::put`] each array, then [`Writer::finish`] with the
/// manifest. The file appears under its name only when complete (it is written
/// beside it and renamed), so a process mapping the previous version is not
/// disturbed and a crash leaves no partial file under the name.
pub struct Writer {
    out: BufWriter<File>,
    tmp: PathBuf,
    dest: PathBuf,
    pos: u64,
    sections: Vec<SectionEntry>,
    crc: crc32fast::Hasher,
    sha: Sha256,
}

impl Writer {
    pub fn create(dest: &Path) -> io::Result<Writer> {
        let name = dest
            .file_name()
            .ok_or_else(|| io::Error::other("the output path names no file"))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".tmp{}", std::process::id()));
        let tmp = dest.with_file_name(tmp_name);
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        out.write_all(&[0u8; HEADER])?;
        Ok(Writer {
            out,
            tmp,
            dest: dest.to_path_buf(),
            pos: HEADER as u64,
            sections: Vec::new(),
            crc: crc32fast::Hasher::new(),
            sha: Sha256::new(),
        })
    }

    fn write(&mut self, b: &[u8]) -> io::Result<()> {
        self.out.write_all(b)?;
        self.crc.update(b);
        self.sha.update(b);
        self.pos += b.len() as u64;
        Ok(())
    }

    /// Pads to the next section boundary and closes the open section's CRC.
    fn close_section(&mut self) -> io::Result<()> {
        let pad = (self.pos.next_multiple_of(ALIGN) - self.pos) as usize;
        self.write(&[0u8; ALIGN as usize][..pad])?;
        if let Some(last) = self.sections.last_mut() {
            last.crc32 = std::mem::take(&mut self.crc).finalize();
        }
        Ok(())
    }

    /// Appends an array; returns its section.
    pub fn put<T: Plain>(&mut self, v: &[T]) -> io::Result<Sec> {
        let bytes = as_bytes(v);
        self.sections.push(SectionEntry {
            offset: self.pos,
            len: bytes.len() as u64,
            crc32: 0,
        });
        self.write(bytes)?;
        self.close_section()?;
        Ok(Sec(self.sections.len() as u32 - 1))
    }

    /// Writes the manifest and the header and moves the file into place; returns the
    /// SHA-256 of the contents after the header.
    pub fn finish<M: Serialize>(mut self, body: M) -> io::Result<[u8; 32]> {
        let manifest = serde_json::to_vec(&Manifest {
            sections: std::mem::take(&mut self.sections),
            body,
        })?;
        let m_off = self.pos;
        self.write(&manifest)?;
        let sha: [u8; 32] = self.sha.clone().finalize().into();
        let mut h = [0u8; HEADER];
        h[0..8].copy_from_slice(MAGIC);
        h[8..12].copy_from_slice(&ORDER.to_ne_bytes());
        h[12..16].copy_from_slice(&VERSION.to_ne_bytes());
        h[16..24].copy_from_slice(&self.pos.to_ne_bytes());
        h[24..32].copy_from_slice(&m_off.to_ne_bytes());
        h[32..40].copy_from_slice(&(manifest.len() as u64).to_ne_bytes());
        h[40..44].copy_from_slice(&crc32fast::hash(&manifest).to_ne_bytes());
        h[48..80].copy_from_slice(&sha);
        let hc = crc32fast::hash(&h[..80]);
        h[80..84].copy_from_slice(&hc.to_ne_bytes());
        let mut file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&h)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.tmp, &self.dest)?;
        Ok(sha)
    }

    /// Removes the partial file (after an error).
    pub fn abandon(self) {
        let tmp = self.tmp.clone();
        drop(self);
        let _ = std::fs::remove_file(tmp);
    }
}

/// Whether `head` (the first bytes of a file) is a compiled list.
pub fn is_compiled(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// An opened, checked compiled list: its sections, mapped.
pub struct Reader {
    map: Arc<memmap2::Mmap>,
    sections: Vec<SectionEntry>,
    /// SHA-256 of the contents after the header, as recorded when it was written.
    pub content_sha256: [u8; 32],
}

fn ne_u32(b: &[u8]) -> u32 {
    u32::from_ne_bytes(b.try_into().expect("4 bytes"))
}
fn ne_u64(b: &[u8]) -> u64 {
    u64::from_ne_bytes(b.try_into().expect("8 bytes"))
}

impl Reader {
    /// Opens `path`, checks every byte against the header's and manifest's checksums
    /// (reading the file through a small buffer, so that checking does not hold the
    /// whole file in this process's memory), maps it read-only and returns the
    /// manifest's body. Errors say what is wrong, for a person.
    pub fn open<M: DeserializeOwned>(path: &Path) -> Result<(Reader, M), String> {
        let mut f = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
        let mut h = vec![0u8; HEADER];
        let got = read_full(&mut f, &mut h).map_err(|e| format!("read error: {e}"))?;
        if !h[..got].starts_with(MAGIC) {
            return Err("not a compiled hash list (no PHSCANCL header)".into());
        }
        if got < 16 {
            return Err(format!("truncated: {got} bytes"));
        }
        let order = ne_u32(&h[8..12]);
        if order == ORDER.swap_bytes() {
            return Err("compiled on a machine of the other byte order; compile the lists again on this machine".into());
        }
        if order != ORDER {
            return Err("damaged header (byte-order marker)".into());
        }
        let version = ne_u32(&h[12..16]);
        if version != VERSION {
            return Err(format!(
                "compiled-list format version {version}; this phscan ({}) reads version {VERSION}: compile the lists again with this phscan",
                env!("CARGO_PKG_VERSION")
            ));
        }
        if got < HEADER {
            return Err(format!(
                "truncated: {got} bytes, shorter than the {HEADER}-byte header"
            ));
        }
        if crc32fast::hash(&h[..80]) != ne_u32(&h[80..84])
            || h[44..48].iter().chain(&h[84..]).any(|&b| b != 0)
        {
            return Err("damaged header (checksum mismatch)".into());
        }
        let (len, m_off, m_len) = (ne_u64(&h[16..24]), ne_u64(&h[24..32]), ne_u64(&h[32..40]));
        let actual = f
            .metadata()
            .map_err(|e| format!("cannot read its size: {e}"))?
            .len();
        if actual != len {
            return Err(format!(
                "{} bytes where the header says {len}: {}",
                actual,
                if actual < len {
                    "truncated"
                } else {
                    "extra bytes at the end"
                }
            ));
        }
        if m_off < HEADER as u64 || m_off.checked_add(m_len) != Some(len) {
            return Err("damaged header (manifest position)".into());
        }
        // The manifest: read and checked before anything in it is trusted.
        let mut manifest = vec![0u8; m_len as usize];
        f.seek(SeekFrom::Start(m_off))
            .and_then(|_| f.read_exact(&mut manifest))
            .map_err(|e| format!("read error: {e}"))?;
        if crc32fast::hash(&manifest) != ne_u32(&h[40..44]) {
            return Err("damaged manifest (checksum mismatch)".into());
        }
        let m: Manifest<M> = serde_json::from_slice(&manifest)
            .map_err(|e| format!("manifest not understood: {e}"))?;
        // Sections tile the body from the header to the manifest.
        let mut at = HEADER as u64;
        for (i, s) in m.sections.iter().enumerate() {
            let padded = s.len.next_multiple_of(ALIGN);
            if s.offset != at || s.offset.checked_add(padded).is_none_or(|e| e > m_off) {
                return Err(format!("damaged manifest (section {i} out of place)"));
            }
            at += padded;
        }
        if at != m_off {
            return Err("damaged manifest (sections do not reach the manifest)".into());
        }
        // Every section's bytes against its checksum, in pieces read in parallel (the
        // pieces' CRCs are combined in order), through a small buffer per piece rather
        // than the mapping, so that checking holds no page of the file in this
        // process.
        const PIECE: u64 = 4 << 20;
        let pieces: Vec<(usize, u64, u64)> = m
            .sections
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                let end = s.offset + s.len.next_multiple_of(ALIGN);
                (s.offset..end)
                    .step_by(PIECE as usize)
                    .map(move |at| (i, at, (end - at).min(PIECE)))
            })
            .collect();
        let crcs: Vec<crc32fast::Hasher> = {
            use rayon::prelude::*;
            use std::os::unix::fs::FileExt;
            pieces
                .par_iter()
                .map_init(Vec::new, |buf, &(_, at, n)| {
                    buf.resize(n as usize, 0);
                    f.read_exact_at(buf, at)?;
                    let mut h = crc32fast::Hasher::new();
                    h.update(buf);
                    Ok(h)
                })
                .collect::<io::Result<_>>()
                .map_err(|e| format!("read error: {e}"))?
        };
        let mut sums: Vec<crc32fast::Hasher> = vec![crc32fast::Hasher::new(); m.sections.len()];
        for (&(i, _, _), h) in pieces.iter().zip(&crcs) {
            sums[i].combine(h);
        }
        for (i, (s, h)) in m.sections.iter().zip(sums).enumerate() {
            if h.finalize() != s.crc32 {
                return Err(format!("damaged data (section {i}: checksum mismatch)"));
            }
        }
        // SAFETY: the mapping is read-only. A file changed while mapped could change
        // what is read (compiled lists are replaced by rename, never rewritten in
        // place, so this does not happen through phscan); see docs/compiled.md.
        let map = unsafe { memmap2::Mmap::map(&f) }.map_err(|e| format!("cannot map: {e}"))?;
        if map.len() as u64 != len {
            return Err("the file changed while it was opened".into());
        }
        // Queries read scattered lines: without this, each page fault would also map
        // the 64 KiB around it (fault-around) and read ahead, filling the process's
        // resident set with pages no query asked for.
        let _ = map.advise(memmap2::Advice::Random);
        let mut content_sha256 = [0u8; 32];
        content_sha256.copy_from_slice(&h[48..80]);
        Ok((
            Reader {
                map: Arc::new(map),
                sections: m.sections,
                content_sha256,
            },
            m.body,
        ))
    }

    /// Section `s` as an array of `T`.
    pub fn get<T: Plain>(&self, s: Sec) -> Result<Slab<T>, String> {
        let e = self
            .sections
            .get(s.0 as usize)
            .ok_or_else(|| format!("damaged manifest (no section {})", s.0))?;
        Slab::mapped(&self.map, e.offset as usize, e.len as usize)
            .map_err(|e| format!("damaged manifest ({e})"))
    }

    /// Section `s`, which must hold `n` values.
    pub fn get_n<T: Plain>(&self, s: Sec, n: usize, what: &str) -> Result<Slab<T>, String> {
        let v = self.get::<T>(s)?;
        if v.len() != n {
            return Err(format!(
                "damaged manifest ({what}: {} values where {n} are expected)",
                v.len()
            ));
        }
        Ok(v)
    }

    /// The whole file's length.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
