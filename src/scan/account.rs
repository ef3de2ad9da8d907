//! The accounting: each item's outcome counted once in the summary and turned into
//! the record to write, if any. Every file and member found is counted in exactly one
//! of `hashed` (`matched` + `clean`), `skipped` (by reason) or `failed` (by stage):
//! `files_seen + members_seen = hashed + skipped + failed`.

use std::io::{self, Write};
use std::path::Path;

use super::item::Outcome;
use super::reason;
use crate::config::{Command, Config, IdKind};
use crate::report::{FileInfo, Record, ReportWriter, Summary};

/// The running summary, and the progress line.
pub(super) struct Tally<'a> {
    summary: Summary,
    cfg: &'a Config,
    progress: Option<&'a indicatif::ProgressBar>,
    /// Records written by `hash` (its `--id seq`).
    hash_seq: u64,
}

impl<'a> Tally<'a> {
    pub(super) fn new(cfg: &'a Config, progress: Option<&'a indicatif::ProgressBar>) -> Self {
        Tally {
            summary: Summary::default(),
            cfg,
            progress,
            hash_seq: 0,
        }
    }

    /// Counts an outcome and writes its record, if it has one.
    pub(super) fn put<W: Write>(&mut self, o: Outcome, w: &mut ReportWriter<W>) -> io::Result<()> {
        let rec = self.account(o);
        let s = &self.summary;
        if let Some(p) = self.progress {
            p.inc(1);
            if s.matched > 0 || s.failed_total() > 0 {
                p.set_message(format!(
                    "{} matched, {} failed",
                    s.matched,
                    s.failed_total()
                ));
            }
        }
        match rec {
            Some(r) => w.record(&r),
            None => Ok(()),
        }
    }

    /// Continues the counts of an interrupted scan (`--resume`).
    pub(super) fn resume(&mut self, summary: Summary, hash_seq: u64) {
        self.summary = summary;
        self.hash_seq = hash_seq;
    }

    /// The counts so far, and the last `hash --id seq` number, for a checkpoint.
    pub(super) fn so_far(&self) -> (&Summary, u64) {
        (&self.summary, self.hash_seq)
    }

    pub(super) fn into_summary(self) -> Summary {
        self.summary
    }

    fn account(&mut self, o: Outcome) -> Option<Record> {
        let s = &mut self.summary;
        let cfg = self.cfg;
        let member = match &o {
            Outcome::Hashed { file, .. } => file.loc.is_member(),
            Outcome::Skipped { loc, .. }
            | Outcome::Known { loc, .. }
            | Outcome::Failed { loc, .. } => loc.is_member(),
        };
        if member {
            s.members_seen += 1;
        } else {
            s.files_seen += 1;
        }
        match o {
            Outcome::Hashed {
                file,
                computed_sha256,
                hits,
                media,
            } => {
                s.hashed += 1;
                s.media_files += media as u64;
                s.archives += file.member_count.is_some() as u64;
                s.pdq_low_quality += file.pdq_low_quality as u64;
                s.partially_examined +=
                    u64::from(file.frames.is_some() && file.frames_examined < file.frames)
                        + u64::from(file.video_frames.is_some() && file.frame_error.is_some());
                match &cfg.command {
                    Command::Scan { .. } => {
                        if hits.is_empty() {
                            s.clean += 1;
                            cfg.output.list_clean.then_some(Record::Clean { file })
                        } else {
                            s.matched += 1;
                            s.hits += hits.len() as u64;
                            Some(Record::Match { file, hits })
                        }
                    }
                    Command::Hash { id, label, .. } => {
                        s.clean += 1;
                        self.hash_seq += 1;
                        let id = match id {
                            IdKind::Path => joined_path(&file),
                            IdKind::Name => file_name(&file),
                            IdKind::Sha256 => computed_sha256.unwrap_or_default(),
                            IdKind::Seq => self.hash_seq.to_string(),
                        };
                        Some(Record::Hash {
                            file,
                            id,
                            label: label.clone(),
                        })
                    }
                }
            }
            Outcome::Skipped { loc, reason, size } => {
                *s.skipped.entry(reason).or_default() += 1;
                s.archives += u64::from(reason == reason::ARCHIVE);
                cfg.output.list_skipped.then_some(Record::Skipped {
                    loc,
                    reason,
                    size,
                    known: None,
                })
            }
            Outcome::Known { loc, size, hit } => {
                *s.skipped.entry(reason::KNOWN).or_default() += 1;
                s.media_files += 1;
                cfg.output.list_skipped.then_some(Record::Skipped {
                    loc,
                    reason: reason::KNOWN,
                    size: Some(size),
                    known: Some(hit),
                })
            }
            Outcome::Failed {
                loc,
                stage,
                message,
                size,
                format,
                media,
                archive,
            } => {
                *s.failed.entry(stage).or_default() += 1;
                s.media_files += media as u64;
                s.archives += archive as u64;
                Some(Record::Error {
                    loc,
                    stage,
                    message,
                    size,
                    format,
                })
            }
        }
    }
}

/// `--id path`: the path, and for a member the names inside the archive after it,
/// joined by `/` (for reading; the record's `member` is exact).
fn joined_path(file: &FileInfo) -> String {
    let mut id = file.loc.path.path.clone();
    for m in file.loc.member.iter().flatten() {
        id.push('/');
        id.push_str(m);
    }
    id
}

/// `--id name`: the last name, without the directories before it.
fn file_name(file: &FileInfo) -> String {
    let last = match file.loc.member.as_ref().and_then(|m| m.last()) {
        Some(m) => m.as_str(),
        None => file.loc.path.path.as_str(),
    };
    Path::new(last)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| last.to_owned())
}
