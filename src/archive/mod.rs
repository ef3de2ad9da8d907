//! Archives and compressed streams, read in memory: what is inside, member by member.
//!
//! [`sniff`] recognises a container by its first bytes (ZIP, TAR, 7z, and gzip,
//! bzip2, xz and zstd streams, which may hold a TAR or a single file); [`walk`] reads
//! one and hands each member to a visitor as a reader over its bytes, never writing
//! anything anywhere. The visitor decides what to read (the scanner reads a member's
//! head, then the rest only if it needs it) and what the member is; it may open a
//! member that is itself an archive by calling [`walk`] again.
//!
//! The limits of one top-level file's walk live in a [`Budget`] shared by every level
//! of nesting: members and expanded bytes in all, the compression ratio of each
//! stream or member, and the memory a decoder's dictionary may take. A breach is
//! reported for the member or archive that crossed it; when the whole walk must stop
//! (members or bytes exhausted), [`Budget::exhausted`] says why, and every archive
//! still open is reported as incomplete. Depth is the caller's business: it decides
//! whether to open a nested archive.
//!
//! This module knows nothing of images or hashes.

mod sevenz;
mod stream;
mod tar;
mod zip;

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Seek};

/// The containers phscan opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Zip,
    Tar,
    SevenZ,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

impl Kind {
    /// The `format` of the container's own record (a compressed TAR is named by
    /// [`walk`]'s result: `tar.gz` and so on).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Zip => "zip",
            Kind::Tar => "tar",
            Kind::SevenZ => "7z",
            Kind::Gzip => "gzip",
            Kind::Bzip2 => "bzip2",
            Kind::Xz => "xz",
            Kind::Zstd => "zstd",
        }
    }
}

/// Why a member is not read (the `skipped` record's `reason`).
pub mod reason {
    /// A symbolic link stored as such: its target is a name, not content.
    pub const SYMLINK: &str = "symlink";
    /// A TAR hard link: a second name for a member reported under its first.
    pub const HARD_LINK: &str = "hard-link";
    /// A device, FIFO or other entry with no content.
    pub const SPECIAL_FILE: &str = "special-file";
}

/// How many leading bytes [`sniff`] looks at (a TAR header block).
pub const HEAD_LEN: usize = 512;

/// Recognises a container by its first bytes (up to [`HEAD_LEN`]), never by name.
pub fn sniff(head: &[u8]) -> Option<Kind> {
    // Local file header, or the end record of an empty archive.
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Some(Kind::Zip);
    }
    // A spanned archive's marker before the first local header.
    if head.starts_with(b"PK\x07\x08PK\x03\x04") {
        return Some(Kind::Zip);
    }
    if head.starts_with(&[0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C]) {
        return Some(Kind::SevenZ);
    }
    if head.starts_with(&[0x1F, 0x8B, 0x08]) {
        return Some(Kind::Gzip);
    }
    if head.len() >= 10
        && head.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&head[3])
        && (head[4..10] == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]
            || head[4..10] == [0x17, 0x72, 0x45, 0x38, 0x50, 0x90])
    {
        return Some(Kind::Bzip2);
    }
    if head.starts_with(&[0xFD, b'7', b'z', b'X', b'Z', 0x00]) {
        return Some(Kind::Xz);
    }
    if head.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        return Some(Kind::Zstd);
    }
    if is_tar_header(head) {
        return Some(Kind::Tar);
    }
    None
}

/// A TAR header block: the `ustar` magic (POSIX and GNU), or for the old V7 format,
/// a header whose checksum adds up (which also rejects a block of zeros).
pub(crate) fn is_tar_header(head: &[u8]) -> bool {
    if head.len() < 512 {
        return false;
    }
    if &head[257..262] == b"ustar" {
        return checksum_ok(head);
    }
    // V7: a name, then octal fields; demand a plausible checksum.
    head[0] != 0 && checksum_ok(head)
}

fn checksum_ok(block: &[u8]) -> bool {
    // The field: optional leading spaces, octal digits, then a NUL or space. Parsed
    // in place: this runs on every file of 512 bytes or more that is not an image.
    let mut digits = block[148..156]
        .iter()
        .skip_while(|b| **b == b' ')
        .peekable();
    let mut want: u32 = 0;
    let mut any = false;
    while let Some(d) = digits.next_if(|b| (b'0'..=b'7').contains(*b)) {
        want = want * 8 + u32::from(d - b'0');
        any = true;
    }
    if !any {
        return false;
    }
    let sum: u32 = block[..148]
        .iter()
        .chain(&block[156..512])
        .map(|b| u32::from(*b))
        .sum();
    sum + 8 * u32::from(b' ') == want
}

/// The limits of one top-level file's walk, as configured.
#[derive(Clone, Debug)]
pub struct ArchiveLimits {
    /// Members in all, at every depth.
    pub max_members: u64,
    /// Bytes read out of containers in all (decompressed, or stored), at every depth.
    pub max_bytes: u64,
    /// The most a stream or member may expand over its compressed size (checked
    /// once it has produced [`RATIO_FLOOR`] bytes).
    pub max_ratio: u64,
    /// The most a decoder may allocate for its dictionary or model (`--max-alloc`).
    pub max_alloc: u64,
}

/// Below this many expanded bytes, the compression ratio is not judged: small
/// streams of repeated bytes are common and harmless.
pub const RATIO_FLOOR: u64 = 1 << 20;

/// What is left of a top-level file's limits, shared by every level of its walk.
pub struct Budget {
    pub limits: ArchiveLimits,
    members: Cell<u64>,
    bytes: Cell<u64>,
    exhausted: RefCell<Option<String>>,
}

impl Budget {
    pub fn new(limits: ArchiveLimits) -> Self {
        Budget {
            limits,
            members: Cell::new(0),
            bytes: Cell::new(0),
            exhausted: RefCell::new(None),
        }
    }

    /// Why the walk must stop, once a limit of the whole walk is reached.
    pub fn exhausted(&self) -> Option<String> {
        self.exhausted.borrow().clone()
    }

    fn exhaust(&self, why: String) {
        let mut e = self.exhausted.borrow_mut();
        if e.is_none() {
            *e = Some(why);
        }
    }

    /// Counts one more member; false (and the walk is over) past the limit.
    fn take_member(&self) -> bool {
        if self.exhausted.borrow().is_some() {
            return false;
        }
        let n = self.members.get() + 1;
        if n > self.limits.max_members {
            self.exhaust(format!(
                "more than {} members (--max-archive-members); the rest were not examined",
                self.limits.max_members
            ));
            return false;
        }
        self.members.set(n);
        true
    }

    /// Counts expanded bytes; false (and the walk is over) past the limit.
    fn take_bytes(&self, n: u64) -> bool {
        let total = self.bytes.get().saturating_add(n);
        self.bytes.set(total);
        if total > self.limits.max_bytes {
            self.exhaust(format!(
                "more than {} bytes expanded (--max-archive-bytes); the rest was not examined",
                self.limits.max_bytes
            ));
            return false;
        }
        true
    }

    /// Members counted so far.
    pub fn members(&self) -> u64 {
        self.members.get()
    }
}

/// A member as the walker hands it to the visitor.
pub struct Member<'a> {
    /// Its name in the archive, as stored (not necessarily UTF-8).
    pub name: &'a [u8],
    /// The size the archive declares, when it does.
    pub size: Option<u64>,
    /// Its bytes. A read error here is the member's (or the archive's) failure; the
    /// walker learns of it too.
    pub reader: &'a mut dyn Read,
}

/// What the visitor is told about one member.
pub enum Event<'a> {
    /// A regular file: read it (or not) from `reader`.
    File(Member<'a>),
    /// A member that is not read, with the reason (a link, a device).
    Skipped {
        name: &'a [u8],
        reason: &'static str,
        size: Option<u64>,
    },
    /// A member that cannot be read: `stage` (`encrypted`, `limit`, `archive`,
    /// `unsupported`) and why.
    Failed {
        name: &'a [u8],
        stage: &'static str,
        message: String,
        size: Option<u64>,
    },
}

/// What the visitor says after a member: go on, or stop the walk (interrupted, or
/// given up by the caller).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// How the walk of one container ended.
#[derive(Debug)]
pub struct End {
    /// The container's format for its record: `zip`, `tar`, `tar.gz`, `gzip`, ...
    pub format: &'static str,
    /// Members found directly in it (each was handed to the visitor).
    pub members: u64,
    /// Why it was not read to its end, if it was not: (`stage`, message). Members
    /// reported before stay reported.
    pub error: Option<(&'static str, String)>,
    /// The visitor asked to stop.
    pub stopped: bool,
    /// A reader panicked (contained: `error` says so, and the walk of any outer
    /// archive goes on). Each is a bug, in phscan or a dependency.
    pub panicked: bool,
}

impl End {
    /// A walk of a `format` container, with nothing found yet.
    pub(crate) fn new(format: &'static str) -> Self {
        End {
            format,
            members: 0,
            error: None,
            stopped: false,
            panicked: false,
        }
    }

    /// Notes what the visitor said of a member; false when the walk is over (the
    /// visitor stopped it, or the walk's budget is spent).
    pub(crate) fn go_on(&mut self, flow: Flow, budget: &Budget) -> bool {
        if flow == Flow::Stop {
            self.stopped = true;
            return false;
        }
        budget.exhausted().is_none()
    }
}

/// A stream that can be read and repositioned (a file, or bytes in memory).
pub trait Source: Read + Seek {}
impl<T: Read + Seek> Source for T {}

/// Reads the container `kind` from `src` (positioned at its start), handing each
/// member to `visit`. `name` is the container's own name (its file name, or its
/// member name), used to name the single member of a compressed file that does not
/// record one.
pub fn walk(
    kind: Kind,
    src: &mut dyn Source,
    name: &[u8],
    budget: &Budget,
    visit: &mut dyn FnMut(Event<'_>) -> Flow,
) -> End {
    // A reader's panic on hostile input becomes this archive's failure; what was
    // reported before it stays reported, and the walk of any outer archive goes on.
    let walked = crate::contain::contain(|| match kind {
        Kind::Zip => zip::walk(src, budget, visit),
        Kind::Tar => {
            let mut metered = Metered::new(src, budget, None);
            tar::walk(&mut metered, "tar", budget, visit)
        }
        Kind::SevenZ => sevenz::walk(src, budget, visit),
        Kind::Gzip | Kind::Bzip2 | Kind::Xz | Kind::Zstd => {
            stream::walk(kind, src, name, budget, visit)
        }
    });
    let mut end = match walked {
        Ok(end) => end,
        Err(panic) => End {
            error: Some((
                "archive",
                format!("the {} reader failed: {panic}", kind.name()),
            )),
            panicked: true,
            ..End::new(kind.name())
        },
    };
    if end.error.is_none() && !end.stopped {
        if let Some(why) = budget.exhausted() {
            end.error = Some(("limit", why));
        }
    }
    end
}

/// Counts the bytes read out of a container into the [`Budget`], and judges the
/// compression ratio against `compressed` (a count of the input bytes consumed so
/// far, or a member's compressed size). Past a limit, reads fail with
/// [`LimitHit`] and the budget says why.
pub(crate) struct Metered<'b, R> {
    inner: R,
    budget: &'b Budget,
    compressed: Option<Compressed>,
    /// Bytes out so far: this reader's own, or shared by the members of one 7z block
    /// (whose compressed side is the block's).
    out: std::rc::Rc<Cell<u64>>,
    /// The limit this reader stopped at, if it did (for the walker to report).
    pub(crate) hit: Option<String>,
}

/// The compressed side of a ratio: a counter shared with the reader below the
/// decompressor (less where it stood when the stream began), or a fixed size.
#[derive(Clone)]
pub(crate) enum Compressed {
    Counter(std::rc::Rc<Cell<u64>>),
    Since(std::rc::Rc<Cell<u64>>, u64),
    Fixed(u64),
}

impl Compressed {
    fn get(&self) -> u64 {
        match self {
            Compressed::Counter(c) => c.get(),
            Compressed::Since(c, start) => c.get().saturating_sub(*start),
            Compressed::Fixed(n) => *n,
        }
    }
}

/// The error a [`Metered`] read fails with past a limit (the reason is in the budget,
/// or in the message for a ratio breach, which ends only this stream).
#[derive(Debug)]
pub(crate) struct LimitHit(pub String);

impl std::fmt::Display for LimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LimitHit {}

/// The limit message behind an I/O error, if a [`Metered`] read raised it.
pub(crate) fn limit_hit(e: &io::Error) -> Option<String> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<LimitHit>())
        .map(|h| h.0.clone())
}

impl<'b, R> Metered<'b, R> {
    pub(crate) fn new(inner: R, budget: &'b Budget, compressed: Option<Compressed>) -> Self {
        Self::sharing(inner, budget, compressed, Default::default())
    }

    /// A reader whose bytes out add to `out`, shared with others of the same stream.
    pub(crate) fn sharing(
        inner: R,
        budget: &'b Budget,
        compressed: Option<Compressed>,
        out: std::rc::Rc<Cell<u64>>,
    ) -> Self {
        Metered {
            inner,
            budget,
            compressed,
            out,
            hit: None,
        }
    }

    pub(crate) fn inner_ref(&self) -> &R {
        &self.inner
    }
}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.read_metered(buf) {
            Err(e) => {
                if let Some(why) = limit_hit(&e) {
                    self.hit = Some(why);
                }
                Err(e)
            }
            ok => ok,
        }
    }
}

impl<R: Read> Metered<'_, R> {
    fn read_metered(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(why) = self.budget.exhausted() {
            return Err(io::Error::other(LimitHit(why)));
        }
        let n = self.inner.read(buf)?;
        let out = self.out.get() + n as u64;
        self.out.set(out);
        if !self.budget.take_bytes(n as u64) {
            let why = self.budget.exhausted().unwrap_or_default();
            return Err(io::Error::other(LimitHit(why)));
        }
        if let Some(c) = &self.compressed {
            let ratio = self.budget.limits.max_ratio;
            let packed = c.get().max(1);
            if out > RATIO_FLOOR && out / packed > ratio {
                return Err(io::Error::other(LimitHit(format!(
                    "expands more than {ratio} times ({out} bytes out of {packed}; \
                     --max-archive-ratio): a decompression bomb?"
                ))));
            }
        }
        Ok(n)
    }
}

/// Counts the bytes read from below a decompressor, for its ratio.
pub(crate) struct CountIn<R> {
    pub inner: R,
    pub count: std::rc::Rc<Cell<u64>>,
}

impl<R: Read> Read for CountIn<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

impl<R: Seek> Seek for CountIn<R> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// An error while reading a container, as a member's or the archive's failure:
/// stage `limit` for a limit, `archive` for the rest.
pub(crate) fn read_failure(e: &io::Error) -> (&'static str, String) {
    match limit_hit(e) {
        Some(why) => ("limit", why),
        None => ("archive", e.to_string()),
    }
}

#[cfg(test)]
mod tests;
