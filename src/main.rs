//! The phscan command line: parses arguments into a plain [`phscan::Config`] and hands
//! it to the library.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use phscan::config::{
    parse_algorithm_list, parse_thresholds, AlgorithmSet, Command, Config, DiscoveryConfig, IdKind,
    ImageHashCompat, Limits, OutputConfig, OutputFormat, PdqMode, Progress, Source,
};
use phscan::scan::exit;

#[derive(Parser)]
#[command(
    name = "phscan",
    version,
    about = "Find known images by perceptual hash (PDQ, aHash, dHash, pHash, wHash, blockhash) and exact file hash",
    after_help = "Exit codes: 0 = complete, nothing matched; 1 = at least one match; \
                  2 = fatal error, or some file could not be read or decoded (1 takes precedence)."
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Scan files and directories against hash sets; report matches as JSON.
    Scan(ScanArgs),
    /// Hash files and directories; the output is itself a valid hash set.
    Hash(HashArgs),
    /// Examine, check and convert hash-set files.
    #[command(subcommand)]
    Hashset(HashsetCmd),
    /// Render a scan or hash report as one document to read (HTML or Markdown).
    ///
    /// Provenance, findings, the accounting and whether it adds up, errors by stage,
    /// charts. The document is self-contained: no script, no external reference, no
    /// image content of any kind. A file that is not a phscan report is refused with
    /// FILE:LINE: reason.
    ///
    /// `phscan report merge` joins the reports of a scan run in parts instead.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Report {
        #[command(subcommand)]
        merge: Option<ReportCmd>,
        /// The report: the output of `phscan scan` or `phscan hash` (JSON Lines or a
        /// JSON document), complete, interrupted or merged.
        #[arg(value_name = "REPORT", required = true)]
        report: Option<PathBuf>,
        /// Write the document to FILE instead of standard output.
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// The document's format.
        #[arg(long, value_enum, default_value_t = DocFormat::Html)]
        format: DocFormat,
    },
    /// Print a completion script for SHELL on standard output.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a manual page (roff) on standard output: phscan(1), or with COMMAND that
    /// command's page, phscan-COMMAND(1), which lists its options.
    Man {
        #[arg(value_name = "COMMAND")]
        command: Option<String>,
    },
}

#[derive(Subcommand)]
enum ReportCmd {
    /// Join the JSON Lines reports of one scan run in parts (`--shard K/N`, the Spark
    /// job's partitions) into one: one `begin`, every record, one `summary` whose counts
    /// are the sums. Reports of different scans (sources, hash sets, settings), an
    /// incomplete report, a shard twice or a missing shard are refused.
    Merge {
        /// The reports (complete JSON Lines reports).
        #[arg(value_name = "REPORT", required = true)]
        reports: Vec<PathBuf>,
        /// Write the merged report to FILE instead of standard output.
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Overwrite an existing -o FILE.
        #[arg(long, requires = "output")]
        force: bool,
    },
}

#[derive(Subcommand)]
enum HashsetCmd {
    /// Describe each set as JSON: entries per algorithm, duplicates, low-quality PDQ
    /// entries, ignored values, SHA-256.
    Info {
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Report every problem in each set at once; exit 2 if any.
    Check {
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Compile sets into one file that `scan --hashset` maps with its index ready:
    /// no parsing, no index build, pages shared by every process (docs/compiled.md).
    Compile {
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        /// The compiled list to write (replaced whole, by rename, when complete).
        #[arg(short = 'o', long, value_name = "FILE")]
        output: PathBuf,
        /// Listed vPDQ frames under this quality are left out of the index; scans of
        /// a list with videos must use the same --min-quality.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u8).range(0..=100))]
        min_quality: u8,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Write a set in another format.
    Convert {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Output format: phscan-jsonl, te-text, te-dataset-csv, plain or vics-json.
        #[arg(long, value_name = "FORMAT")]
        to: HashsetFormat,
        /// Write to FILE instead of standard output.
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        load: LoadArgs,
    },
}

type HashsetFormat = phscan::hashset::Format;

#[derive(Args)]
struct LoadArgs {
    /// Read hash sets as this format instead of detecting it: phscan-jsonl, te-text,
    /// te-dataset-csv, plain or vics-json.
    #[arg(long, value_name = "FORMAT")]
    hashset_format: Option<HashsetFormat>,
    /// The algorithm of plain lists whose hash length is ambiguous (16 or 64 hex
    /// digits), e.g. pdq or sha256.
    #[arg(long, value_name = "ALG")]
    hashset_algorithm: Option<phscan::config::Algorithm>,
}

impl LoadArgs {
    fn options(&self) -> phscan::hashset::LoadOptions {
        phscan::hashset::LoadOptions {
            format: self.hashset_format,
            algorithm: self.hashset_algorithm,
        }
    }
}

#[derive(Args)]
struct ScanArgs {
    #[command(flatten)]
    common: Common,
    /// Hash-set file to match against (repeatable; at least one).
    #[arg(long = "hashset", value_name = "FILE", required = true)]
    hashsets: Vec<PathBuf>,
    #[command(flatten)]
    load: LoadArgs,
    /// Per-algorithm match thresholds (Hamming distance, inclusive), e.g. pdq=31,dhash=10.
    /// Defaults: pdq 31, 64-bit hashes 10.
    #[arg(long, value_name = "ALG=N,...", value_parser = parse_thresholds_arg)]
    threshold: Vec<Vec<(phscan::config::Algorithm, u32)>>,
    /// PDQ hashes with a quality under this are matched only through --low-quality
    /// (the record says so).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u8).range(0..=100))]
    min_quality: u8,
    /// PDQ hashes with a quality from FLOOR to under --min-quality match listed PDQ
    /// hashes within T bits, and no robust entry; `off`: not at all.
    #[arg(long, value_name = "FLOOR:T", default_value_t = LowQualityArg(Some(phscan::matching::LowQuality::DEFAULT)), value_parser = parse_low_quality)]
    low_quality: LowQualityArg,
    /// vPDQ: a video matches a listed one when at least this percentage of its frames
    /// (of quality >= --min-quality, duplicates dropped) match a listed frame.
    #[arg(long, value_name = "PERCENT", default_value_t = 80.0, value_parser = parse_percent)]
    vpdq_match_percent: f64,
    /// vPDQ: ... and at least this percentage of the listed video's frames match one of
    /// its frames (python-threatexchange: 0).
    #[arg(long, value_name = "PERCENT", default_value_t = 0.0, value_parser = parse_percent)]
    vpdq_listed_match_percent: f64,
    /// Match only the image as it is, not its 7 rotated and mirrored PDQ variants.
    #[arg(long)]
    no_dihedral: bool,
    /// Also write a `clean` record for every file hashed without a match.
    #[arg(long)]
    list_clean: bool,
    /// A known-file list, an NIST NSRL RDSv3 SQLite database (repeatable): images in it
    /// are skipped as `known`, not decoded, unless an exact hash of them is in a hash set.
    #[arg(long = "known", value_name = "FILE")]
    known: Vec<PathBuf>,
    /// Additional algorithms to compute and report, beyond those the hash sets need.
    #[arg(long, value_name = "ALG,...", value_parser = parse_algorithms_arg)]
    algorithms: Option<AlgorithmSet>,
}

#[derive(Args)]
struct HashArgs {
    #[command(flatten)]
    common: Common,
    /// Algorithms to compute.
    #[arg(long, value_name = "ALG,...", value_parser = parse_algorithms_arg,
          default_value = "pdq,vpdq,md5,sha1,sha256")]
    algorithms: AlgorithmSet,
    /// What each entry's `id` is: path, name (file name), sha256, or seq (1, 2, ...).
    #[arg(long, value_name = "KIND", default_value = "path")]
    id: IdKind,
    /// A label given to every entry (e.g. a category).
    #[arg(long, value_name = "TEXT")]
    label: Option<String>,
    /// Also list robust variants of each image (crops, small rotations, regions), so
    /// that `scan` finds it cropped, tilted or captioned; see docs/robust.md.
    #[arg(long)]
    robust: bool,
}

#[derive(Args)]
struct Common {
    /// Files and directories to scan (directories are walked recursively).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Read paths to scan from FILE, one per line ('-' = standard input).
    #[arg(long, value_name = "FILE")]
    files_from: Vec<PathBuf>,
    /// With --files-from: paths are separated by NUL bytes (as `find -print0` writes).
    #[arg(short = '0', long = "null")]
    null: bool,
    /// Follow symbolic links while walking (loops are detected and reported).
    #[arg(long)]
    follow_links: bool,
    /// Do not cross file-system boundaries while walking.
    #[arg(long)]
    one_file_system: bool,
    /// Worker threads (default: the number of CPUs).
    #[arg(short = 'j', long, value_name = "N")]
    threads: Option<usize>,
    /// How PDQ input is prepared: full (full resolution, as python-threatexchange/HMA),
    /// cli512 (512x512 nearest-neighbour squash, as Meta's C++ CLI) or fast (reduced
    /// size, at least 512 px on the short side: an approximation of full, faster).
    #[arg(long, value_name = "MODE", default_value = "full")]
    pdq_mode: PdqMode,
    /// Which ImageHash lists aHash, dHash, pHash and wHash match: pillow13 (ImageHash on
    /// Pillow 13 or later) or pillow12 (on Pillow 12 or earlier, whose Lanczos resize
    /// runs its passes in another order, so that some tall images hash differently).
    #[arg(long, value_name = "PILLOW", default_value = "pillow13")]
    imagehash_compat: ImageHashCompat,
    /// vPDQ hashes one video frame every this many seconds of frames (every
    /// int(SECONDS x frame rate)-th decoded frame, at least every frame), as Meta's vpdq;
    /// python-threatexchange's lists use 1.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0, value_parser = parse_seconds_per_hash)]
    vpdq_seconds_per_hash: f64,
    /// Output format: jsonl (one record per line) or json (one document).
    #[arg(long, value_enum, default_value_t = FormatArg::Jsonl)]
    format: FormatArg,
    /// Write the report to FILE instead of standard output. An existing non-empty FILE
    /// is refused unless --resume or --force.
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Continue the interrupted scan whose JSON Lines report is the -o FILE: the same
    /// command (sources, hash sets, settings; checked) skips what the report holds and
    /// appends the rest. A missing FILE starts the scan; a complete one is left as is.
    #[arg(long, requires = "output", conflicts_with = "force")]
    resume: bool,
    /// Overwrite an existing -o FILE.
    #[arg(long, requires = "output")]
    force: bool,
    /// A JSON Lines report written to a file is made durable and checkpointed (FILE.checkpoint)
    /// at most this often, for --resume; 0: after every entry.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0, value_parser = parse_seconds)]
    checkpoint_seconds: f64,
    /// Take only every N-th entry of discovery (a path named, a file or link met in a
    /// walk, a line of a list), from the K-th (0-based): K/N. N runs with 0/N .. N-1/N
    /// over the same sources split the scan, disjoint and complete.
    #[arg(long, value_name = "K/N")]
    shard: Option<phscan::config::Shard>,
    /// Progress bar on standard error.
    #[arg(long, value_enum, default_value_t = ProgressArg::Auto)]
    progress: ProgressArg,
    /// Also write a `skipped` record for every file that is not scanned.
    #[arg(long)]
    list_skipped: bool,
    /// Media files larger than this many bytes are not read (reported as errors);
    /// videos on disk are read as they are decoded, never whole, and are not limited.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_file_size)]
    max_file_size: u64,
    /// Images with more pixels than this are not decoded (checked from the header).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_pixels)]
    max_pixels: u64,
    /// Most bytes a decoder may allocate for one image.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_alloc)]
    max_alloc: u64,
    /// Seconds one file may take before it is reported (stage `timeout`) and its
    /// worker abandoned; 0 for no limit.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::default().max_file_seconds, value_parser = parse_seconds)]
    max_file_time: f64,
    /// Frames examined in an animated GIF, APNG or WebP, each hashed and matched; the
    /// file record tells how many it has and how many were examined.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_frames, value_parser = clap::value_parser!(u32).range(1..))]
    max_frames: u32,
    /// Frames of a video decoded, at most; the rest is not decoded, and the record's
    /// `frame_error` names the limit.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_video_frames, value_parser = clap::value_parser!(u64).range(1..))]
    max_video_frames: u64,
    /// Seconds of a video decoded, at most (frame number / frame rate); 0: no limit.
    /// The rest is not decoded, and the record's `frame_error` names the limit.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::default().max_video_seconds, value_parser = parse_seconds)]
    max_video_seconds: f64,
    /// Seconds one video's decoding may take; then it stops, the frames hashed so far
    /// are kept, and the record's `frame_error` says so. A video's item may take this
    /// plus --max-file-time before its worker is abandoned. 0: no limit.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::default().max_video_time, value_parser = parse_seconds)]
    max_video_time: f64,
    /// Do not look inside archives and compressed files: treat them as other files
    /// that are not images.
    #[arg(long)]
    no_archives: bool,
    /// Open archives inside archives down to this many levels (a file on disk is level
    /// 0, its members level 1); a deeper archive is reported (stage `limit`).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_archive_depth, value_parser = clap::value_parser!(u32).range(1..))]
    max_archive_depth: u32,
    /// Members examined under one file on disk, at every depth; past it the archive is
    /// reported (stage `limit`) and the rest is not examined.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_archive_members)]
    max_archive_members: u64,
    /// Bytes read out of the archives under one file on disk (decompressed or stored),
    /// at every depth; past it the archive is reported (stage `limit`).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_archive_bytes)]
    max_archive_bytes: u64,
    /// The most a compressed stream or member may expand over its compressed size,
    /// judged once it has produced 1 MiB; past it, it is reported (stage `limit`).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_archive_ratio, value_parser = clap::value_parser!(u64).range(1..))]
    max_archive_ratio: u64,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a number of seconds (0 or more)")),
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Jsonl,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum DocFormat {
    Html,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProgressArg {
    Auto,
    Always,
    Never,
}

fn parse_thresholds_arg(s: &str) -> Result<Vec<(phscan::config::Algorithm, u32)>, String> {
    parse_thresholds(s)
}

fn parse_algorithms_arg(s: &str) -> Result<AlgorithmSet, String> {
    let set = parse_algorithm_list(s)?;
    if set.is_empty() {
        return Err("no algorithm named".into());
    }
    Ok(set)
}

/// `--low-quality`: `FLOOR:T` or `off`.
#[derive(Clone, Debug)]
struct LowQualityArg(Option<phscan::matching::LowQuality>);

impl std::fmt::Display for LowQualityArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(l) => write!(f, "{}:{}", l.floor, l.threshold),
            None => f.write_str("off"),
        }
    }
}

fn parse_low_quality(s: &str) -> Result<LowQualityArg, String> {
    let s = s.trim();
    if s == "off" {
        return Ok(LowQualityArg(None));
    }
    let bad = || {
        format!("'{s}' is not FLOOR:T (a quality from 0 to 100, a distance from 0 to 256) or 'off'")
    };
    let (floor, t) = s.split_once(':').ok_or_else(bad)?;
    let floor: u8 = floor.trim().parse().map_err(|_| bad())?;
    let threshold: u32 = t.trim().parse().map_err(|_| bad())?;
    if floor > 100 || threshold > 256 {
        return Err(bad());
    }
    Ok(LowQualityArg(Some(phscan::matching::LowQuality {
        floor,
        threshold,
    })))
}

fn parse_percent(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a percentage from 0 to 100")),
    }
}

fn parse_seconds_per_hash(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a number of seconds (0 or more)")),
    }
}

impl Common {
    fn into_parts(self, command: Command, algorithms: AlgorithmSet) -> Result<Config, String> {
        let mut sources: Vec<Source> = self.paths.into_iter().map(Source::Path).collect();
        if self.null && self.files_from.is_empty() {
            return Err("-0/--null goes with --files-from".into());
        }
        sources.extend(self.files_from.into_iter().map(|from| Source::List {
            from,
            null: self.null,
        }));
        if sources.is_empty() {
            return Err("nothing to scan: name at least one PATH or --files-from FILE".into());
        }
        let threads = match self.threads {
            Some(0) => return Err("--threads must be at least 1".into()),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        Ok(Config {
            command,
            discovery: DiscoveryConfig {
                sources,
                follow_links: self.follow_links,
                one_file_system: self.one_file_system,
                shard: self.shard,
            },
            algorithms,
            pdq_mode: self.pdq_mode,
            imagehash_compat: self.imagehash_compat,
            vpdq_seconds_per_hash: self.vpdq_seconds_per_hash,
            limits: Limits {
                max_file_size: self.max_file_size,
                max_pixels: self.max_pixels,
                max_alloc: self.max_alloc,
                max_file_seconds: self.max_file_time,
                max_frames: self.max_frames,
                max_video_frames: self.max_video_frames,
                max_video_seconds: self.max_video_seconds,
                max_video_time: self.max_video_time,
                max_archive_depth: self.max_archive_depth,
                max_archive_members: self.max_archive_members,
                max_archive_bytes: self.max_archive_bytes,
                max_archive_ratio: self.max_archive_ratio,
            },
            archives: !self.no_archives,
            threads,
            output: OutputConfig {
                format: match self.format {
                    FormatArg::Jsonl => OutputFormat::Jsonl,
                    FormatArg::Json => OutputFormat::Json,
                },
                path: self.output,
                progress: match self.progress {
                    ProgressArg::Auto => Progress::Auto,
                    ProgressArg::Always => Progress::Always,
                    ProgressArg::Never => Progress::Never,
                },
                list_skipped: self.list_skipped,
                list_clean: false,
                resume: self.resume,
                force: self.force,
                checkpoint_seconds: self.checkpoint_seconds,
            },
        })
    }
}

fn config_from(cli: Cli) -> Result<Config, String> {
    match cli.command {
        Cmd::Scan(a) => {
            let mut thresholds = BTreeMap::new();
            for (alg, t) in a.threshold.into_iter().flatten() {
                thresholds.insert(alg, t);
            }
            let command = Command::Scan {
                hashsets: a.hashsets,
                hashset_options: a.load.options(),
                thresholds,
                min_quality: a.min_quality,
                low_quality: a.low_quality.0,
                dihedral: !a.no_dihedral,
                vpdq_match_percent: a.vpdq_match_percent,
                vpdq_listed_match_percent: a.vpdq_listed_match_percent,
                known: a.known,
            };
            let mut cfg = a
                .common
                .into_parts(command, a.algorithms.unwrap_or_default())?;
            cfg.output.list_clean = a.list_clean;
            Ok(cfg)
        }
        Cmd::Hash(a) => {
            let command = Command::Hash {
                id: a.id,
                label: a.label,
                robust: a.robust,
            };
            a.common.into_parts(command, a.algorithms)
        }
        Cmd::Hashset(_) | Cmd::Report { .. } | Cmd::Completions { .. } | Cmd::Man { .. } => {
            unreachable!("handled in main")
        }
    }
}

fn hashset_main(cmd: HashsetCmd) -> i32 {
    let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
    let result = match cmd {
        HashsetCmd::Info { files, load } => phscan::hashset_tool::info_or_check(
            &files,
            &load.options(),
            false,
            &mut stdout.lock(),
            &mut stderr.lock(),
        ),
        HashsetCmd::Check { files, load } => phscan::hashset_tool::info_or_check(
            &files,
            &load.options(),
            true,
            &mut stdout.lock(),
            &mut stderr.lock(),
        ),
        HashsetCmd::Compile {
            files,
            output,
            min_quality,
            load,
        } => match phscan::hashset_tool::compile(&files, &load.options(), min_quality, &output) {
            Ok(line) => {
                eprintln!("phscan: wrote {line}");
                Ok(0)
            }
            Err(e) => {
                eprintln!("phscan: {e}");
                Ok(exit::ERROR)
            }
        },
        HashsetCmd::Convert {
            file,
            to,
            output,
            load,
        } => {
            // Written whole or not at all: the set is converted in memory first.
            let r = match &output {
                Some(p) => {
                    let mut buf = Vec::new();
                    phscan::hashset_tool::convert(&file, &load.options(), to, &mut buf).and_then(
                        |_| {
                            std::fs::write(p, &buf)
                                .map_err(|e| format!("cannot write {}: {e}", p.display()))
                        },
                    )
                }
                None => {
                    phscan::hashset_tool::convert(&file, &load.options(), to, &mut stdout.lock())
                }
            };
            match r {
                Ok(()) => Ok(0),
                Err(e) => {
                    eprintln!("phscan: {e}");
                    Ok(exit::ERROR)
                }
            }
        }
    };
    result.unwrap_or_else(|e| {
        eprintln!("phscan: {e}");
        exit::ERROR
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Hashset(cmd) => return ExitCode::from(hashset_main(cmd) as u8),
        Cmd::Report {
            merge:
                Some(ReportCmd::Merge {
                    reports,
                    output,
                    force,
                }),
            ..
        } => {
            return match phscan::merge::merge_to(&reports, output.as_deref(), force) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("phscan: {e}");
                    ExitCode::from(exit::ERROR as u8)
                }
            };
        }
        Cmd::Report {
            report,
            output,
            format,
            ..
        } => {
            let report = report.expect("clap requires REPORT without a subcommand");
            let format = match format {
                DocFormat::Html => phscan::render::Format::Html,
                DocFormat::Markdown => phscan::render::Format::Markdown,
            };
            return match phscan::render::render_to(&report, format, output.as_deref()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("phscan: {e}");
                    ExitCode::from(exit::ERROR as u8)
                }
            };
        }
        Cmd::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "phscan", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        Cmd::Man { command } => {
            use clap::CommandFactory;
            let top = Cli::command();
            let cmd = match &command {
                None => top,
                Some(name) => {
                    match top.find_subcommand(name) {
                        // The page is named phscan-COMMAND; clap wants a 'static name, and
                        // the process ends after printing it.
                        Some(sub) => sub
                            .clone()
                            .name(&*Box::leak(format!("phscan-{name}").into_boxed_str()))
                            .version(env!("CARGO_PKG_VERSION")),
                        None => {
                            eprintln!("phscan: no command '{name}' (scan, hash, hashset, report, completions, man)");
                            return ExitCode::from(exit::ERROR as u8);
                        }
                    }
                }
            };
            let page = clap_mangen::Man::new(cmd);
            return match page.render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("phscan: cannot write the manual page: {e}");
                    ExitCode::from(exit::ERROR as u8)
                }
            };
        }
        _ => {}
    }
    let cfg = match config_from(cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("phscan: {e}");
            return ExitCode::from(exit::ERROR as u8);
        }
    };
    match phscan::run(&cfg) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("phscan: {e}");
            ExitCode::from(exit::ERROR as u8)
        }
    }
}
