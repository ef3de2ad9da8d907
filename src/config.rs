//! The plain configuration the CLI hands to the library. No parsing of
//! command-line syntax happens here beyond small value parsers shared by both.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::Serialize;

/// Every hash phscan can compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Pdq,
    Ahash,
    Dhash,
    Phash,
    Whash,
    Blockhash,
    Md5,
    Sha1,
    Sha256,
    /// Video PDQ: the PDQ hashes of a video's frames, one a second (Meta's vpdq).
    Vpdq,
}

impl Algorithm {
    pub const ALL: [Algorithm; 10] = [
        Algorithm::Pdq,
        Algorithm::Ahash,
        Algorithm::Dhash,
        Algorithm::Phash,
        Algorithm::Whash,
        Algorithm::Blockhash,
        Algorithm::Md5,
        Algorithm::Sha1,
        Algorithm::Sha256,
        Algorithm::Vpdq,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Pdq => "pdq",
            Algorithm::Ahash => "ahash",
            Algorithm::Dhash => "dhash",
            Algorithm::Phash => "phash",
            Algorithm::Whash => "whash",
            Algorithm::Blockhash => "blockhash",
            Algorithm::Md5 => "md5",
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Vpdq => "vpdq",
        }
    }

    /// Exact (cryptographic) file hashes are matched by equality and need no decode.
    pub fn is_exact(self) -> bool {
        matches!(self, Algorithm::Md5 | Algorithm::Sha1 | Algorithm::Sha256)
    }

    /// Length of the hash in bits.
    pub fn bits(self) -> u32 {
        match self {
            // vPDQ: per frame.
            Algorithm::Pdq | Algorithm::Sha256 | Algorithm::Vpdq => 256,
            Algorithm::Ahash
            | Algorithm::Dhash
            | Algorithm::Phash
            | Algorithm::Whash
            | Algorithm::Blockhash => 64,
            Algorithm::Md5 => 128,
            Algorithm::Sha1 => 160,
        }
    }

    /// Default match threshold (Hamming distance) for perceptual hashes.
    pub fn default_threshold(self) -> u32 {
        match self {
            Algorithm::Pdq | Algorithm::Vpdq => 31,
            Algorithm::Ahash
            | Algorithm::Dhash
            | Algorithm::Phash
            | Algorithm::Whash
            | Algorithm::Blockhash => 10,
            _ => 0,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let l = s.trim().to_ascii_lowercase();
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == l)
            .ok_or_else(|| {
                format!("unknown algorithm '{s}' (expected one of pdq, ahash, dhash, phash, whash, blockhash, md5, sha1, sha256, vpdq)")
            })
    }
}

/// A set of algorithms, kept sorted so output is deterministic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlgorithmSet(u16);

impl AlgorithmSet {
    pub fn insert(&mut self, a: Algorithm) {
        self.0 |= 1 << a as u16;
    }
    pub fn contains(&self, a: Algorithm) -> bool {
        self.0 & (1 << a as u16) != 0
    }
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
    pub fn iter(&self) -> impl Iterator<Item = Algorithm> + '_ {
        Algorithm::ALL.into_iter().filter(|a| self.contains(*a))
    }
    pub fn any_perceptual(&self) -> bool {
        self.iter().any(|a| !a.is_exact())
    }
    /// Any perceptual hash of images (all but vPDQ, which is of videos)?
    pub fn any_image_perceptual(&self) -> bool {
        self.iter().any(|a| !a.is_exact() && a != Algorithm::Vpdq)
    }
    pub fn any_exact(&self) -> bool {
        self.iter().any(|a| a.is_exact())
    }
    /// Any of the 64-bit perceptual hashes (aHash, dHash, pHash, wHash, blockhash)?
    pub fn any_64bit_perceptual(&self) -> bool {
        self.iter()
            .any(|a| !a.is_exact() && a != Algorithm::Vpdq && a.bits() == 64)
    }
    pub fn names(&self) -> Vec<&'static str> {
        self.iter().map(Algorithm::name).collect()
    }
}

impl FromIterator<Algorithm> for AlgorithmSet {
    fn from_iter<T: IntoIterator<Item = Algorithm>>(iter: T) -> Self {
        let mut s = AlgorithmSet::default();
        for a in iter {
            s.insert(a);
        }
        s
    }
}

/// Parses `pdq,md5,sha256`.
pub fn parse_algorithm_list(s: &str) -> Result<AlgorithmSet, String> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(Algorithm::from_str)
        .collect()
}

/// Parses `pdq=31,dhash=10` into per-algorithm thresholds.
pub fn parse_thresholds(s: &str) -> Result<Vec<(Algorithm, u32)>, String> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, value) = part
            .split_once('=')
            .ok_or_else(|| format!("threshold '{part}' is not of the form ALGORITHM=N"))?;
        let alg: Algorithm = name.parse()?;
        if alg.is_exact() {
            return Err(format!(
                "{alg} is an exact hash: it is matched by equality and takes no threshold"
            ));
        }
        let v: u32 = value
            .trim()
            .parse()
            .map_err(|_| format!("threshold '{value}' for {alg} is not a whole number"))?;
        if v > alg.bits() {
            return Err(format!(
                "threshold {v} for {alg} exceeds its {} bits",
                alg.bits()
            ));
        }
        out.push((alg, v));
    }
    Ok(out)
}

/// Which Pillow's arithmetic aHash, dHash, pHash and wHash reproduce (ImageHash
/// resizes with Pillow, whose Lanczos pass order changed in Pillow 13).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ImageHashCompat {
    /// ImageHash on Pillow 13 or later.
    #[default]
    Pillow13,
    /// ImageHash on Pillow 12 or earlier: always the horizontal pass first.
    Pillow12,
}

impl ImageHashCompat {
    pub fn name(self) -> &'static str {
        match self {
            ImageHashCompat::Pillow13 => "pillow13",
            ImageHashCompat::Pillow12 => "pillow12",
        }
    }
}

impl FromStr for ImageHashCompat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pillow13" => Ok(ImageHashCompat::Pillow13),
            "pillow12" => Ok(ImageHashCompat::Pillow12),
            _ => Err(format!(
                "unknown ImageHash compatibility '{s}' (expected pillow13 or pillow12)"
            )),
        }
    }
}

/// How the PDQ input is prepared from the decoded image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PdqMode {
    /// Full-resolution image, as python-threatexchange and HMA hash.
    #[default]
    Full,
    /// Nearest-neighbour squash to 512x512 when a side exceeds 512, as Meta's C++ CLI.
    Cli512,
    /// Reduced-size input, at least 512 px on the short side: JPEGs decoded with
    /// DCT-domain scaling (1/2, 1/4, 1/8) when no 64-bit hash needs the full decode,
    /// other images box-averaged by an integer factor. Approximates `full`, faster.
    Fast,
}

impl PdqMode {
    pub fn name(self) -> &'static str {
        match self {
            PdqMode::Full => "full",
            PdqMode::Cli512 => "cli512",
            PdqMode::Fast => "fast",
        }
    }
}

impl FromStr for PdqMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "full" => Ok(PdqMode::Full),
            "cli512" => Ok(PdqMode::Cli512),
            "fast" => Ok(PdqMode::Fast),
            _ => Err(format!(
                "unknown PDQ mode '{s}' (expected full, cli512 or fast)"
            )),
        }
    }
}

/// Resource limits per file. Each breach is reported for the file; none stops the scan.
#[derive(Clone, Debug, Serialize)]
pub struct Limits {
    /// Media files larger than this are not read into memory or decoded (videos on
    /// disk excepted: they are read as they are decoded, never whole).
    pub max_file_size: u64,
    /// Images with more pixels than this (from the header) are not decoded.
    pub max_pixels: u64,
    /// Upper bound on what a decoder may allocate for one image.
    pub max_alloc: u64,
    /// Wall-clock seconds one file may take (read, decode, hash, match) before it is
    /// reported as failed (stage `timeout`) and its worker abandoned; 0: no limit.
    pub max_file_seconds: f64,
    /// Frames examined in an animated GIF, APNG or WebP (the first is always).
    pub max_frames: u32,
    /// Open archives inside archives down to this many levels (a file on disk is
    /// level 0, its members level 1).
    pub max_archive_depth: u32,
    /// Members examined under one file on disk, at every depth.
    pub max_archive_members: u64,
    /// Bytes read out of the archives under one file on disk, at every depth.
    pub max_archive_bytes: u64,
    /// The most a compressed stream or member may expand over its compressed size.
    pub max_archive_ratio: u64,
    /// Frames of a video decoded, at most (the rest is not decoded; the record says so).
    pub max_video_frames: u64,
    /// Seconds of a video decoded, at most, by frame number over frame rate; 0: no limit.
    pub max_video_seconds: f64,
    /// Wall-clock seconds one video's decoding may take; at the limit it stops, and the
    /// frames hashed so far are kept (the record says so). A video item's watchdog
    /// budget is this plus `max_file_seconds`. 0: no limit.
    pub max_video_time: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_size: 256 * 1024 * 1024,
            max_pixels: 50_000_000,
            max_alloc: 512 * 1024 * 1024,
            max_file_seconds: 120.0,
            max_frames: 1,
            max_archive_depth: 17,
            max_archive_members: 100_000,
            max_archive_bytes: 8 << 30,
            max_archive_ratio: 1000,
            // About 9 hours at 30 frames a second.
            max_video_frames: 1_000_000,
            max_video_seconds: 0.0,
            // Two hours: a two-hour 1080p video decodes in well under that (docs/video.md).
            max_video_time: 7200.0,
        }
    }
}

/// Where paths to scan come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// A file or a directory to walk.
    Path(PathBuf),
    /// A file listing paths (or `-` for standard input), one per line or NUL-separated.
    List { from: PathBuf, null: bool },
}

/// `--shard K/N`: this run takes entry `i` of discovery (0-based, in discovery order)
/// when `i % count == index`. What an entry is: see [`crate::discovery`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("'{s}' is not a shard K/N (0 <= K < N, e.g. 0/4)");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = k.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

#[derive(Clone, Debug)]
pub struct DiscoveryConfig {
    pub sources: Vec<Source>,
    pub follow_links: bool,
    pub one_file_system: bool,
    /// `--shard K/N`: only every N-th entry, from the K-th.
    pub shard: Option<Shard>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Jsonl,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Progress {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Debug)]
pub struct OutputConfig {
    pub format: OutputFormat,
    /// `None` = standard output.
    pub path: Option<PathBuf>,
    pub progress: Progress,
    pub list_skipped: bool,
    pub list_clean: bool,
    /// `--resume`: continue the interrupted report at `path` (JSON Lines only).
    pub resume: bool,
    /// `--force`: overwrite an existing report at `path`.
    pub force: bool,
    /// Seconds between checkpoints of a JSON Lines report written to a file
    /// (`--checkpoint-seconds`; 0: after every entry). See [`crate::resume`].
    pub checkpoint_seconds: f64,
}

/// How `hash` names the entries it writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdKind {
    /// The path as given or found.
    Path,
    /// The file name alone.
    Name,
    /// The file's SHA-256.
    Sha256,
    /// 1-based position in the output.
    Seq,
}

impl FromStr for IdKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "path" => Ok(IdKind::Path),
            "name" => Ok(IdKind::Name),
            "sha256" => Ok(IdKind::Sha256),
            "seq" => Ok(IdKind::Seq),
            _ => Err(format!(
                "unknown id kind '{s}' (expected path, name, sha256 or seq)"
            )),
        }
    }
}

#[derive(Clone, Debug)]
pub enum Command {
    Scan {
        hashsets: Vec<PathBuf>,
        hashset_options: crate::hashset::LoadOptions,
        thresholds: BTreeMap<Algorithm, u32>,
        min_quality: u8,
        /// PDQ hashes under `min_quality` matched at a tighter threshold (`None`: not).
        low_quality: Option<crate::matching::LowQuality>,
        dihedral: bool,
        /// vPDQ: the least share of the query's frames, and of the listed video's, that
        /// must match (percent; python-threatexchange: 80 and 0).
        vpdq_match_percent: f64,
        vpdq_listed_match_percent: f64,
        /// Known-file lists (NSRL RDSv3 databases): images listed there are not decoded.
        known: Vec<PathBuf>,
    },
    Hash {
        id: IdKind,
        label: Option<String>,
        /// Also list robust variants of each image (docs/robust.md).
        robust: bool,
    },
}

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct Config {
    pub command: Command,
    pub discovery: DiscoveryConfig,
    /// Algorithms asked for explicitly (`--algorithms`); `scan` adds what its hash sets need.
    pub algorithms: AlgorithmSet,
    pub pdq_mode: PdqMode,
    /// Which Pillow's arithmetic aHash, dHash, pHash and wHash reproduce.
    pub imagehash_compat: ImageHashCompat,
    /// vPDQ hashes one frame every this many seconds of frames (`--vpdq-seconds-per-hash`).
    pub vpdq_seconds_per_hash: f64,
    pub limits: Limits,
    /// Look inside archives and compressed files (`--no-archives` turns it off).
    pub archives: bool,
    pub threads: usize,
    pub output: OutputConfig,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_algorithms_and_thresholds() {
        let s = parse_algorithm_list("pdq, MD5,sha256").unwrap();
        assert_eq!(s.names(), vec!["pdq", "md5", "sha256"]);
        assert!(parse_algorithm_list("pdq,crc32").is_err());
        let t = parse_thresholds("pdq=20,dhash=4").unwrap();
        assert_eq!(t, vec![(Algorithm::Pdq, 20), (Algorithm::Dhash, 4)]);
        assert!(parse_thresholds("pdq").is_err());
        assert!(parse_thresholds("pdq=x").is_err());
        assert!(parse_thresholds("pdq=300").is_err());
        assert!(parse_thresholds("md5=1").is_err());
    }

    #[test]
    fn parses_shards() {
        assert_eq!("2/5".parse(), Ok(Shard { index: 2, count: 5 }));
        assert_eq!("0/1".parse::<Shard>().unwrap().to_string(), "0/1");
        for bad in ["5/5", "1/0", "1", "a/2", "-1/2", "1/2/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
