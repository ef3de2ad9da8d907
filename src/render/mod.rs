//! `phscan report`: a scan or hash report (JSON Lines, or the `--format json`
//! document) rendered into one self-contained document to read and hand on, HTML or
//! Markdown. What it says is in `sections.rs` (its accounting in `accounting.rs`); how
//! each format writes it in `html.rs` (charts from `svg.rs`) and `markdown.rs`.
//!
//! Two passes over the report, one line held at a time: the first checks every record
//! and keeps only aggregates (`model.rs`), the second writes the findings straight to
//! the document. Memory does not grow with the report. The document never holds image
//! content: the report has none, and nothing here reads anything but the report.

mod accounting;
mod html;
mod input;
mod markdown;
mod model;
mod sections;
mod svg;

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use sha2::Digest;

use input::{Line, Lines, PassError, Record};
use model::Model;

/// The document's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Html,
    Markdown,
}

/// Why a report was not rendered.
#[derive(Debug)]
pub enum Error {
    /// The report is not a phscan report: `FILE:LINE: reason`.
    Invalid {
        file: PathBuf,
        line: u64,
        reason: String,
    },
    /// Reading the report or writing the document failed.
    Io(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid { file, line, reason } => {
                write!(f, "{}:{line}: {reason}", file.display())
            }
            Error::Io(m) => f.write_str(m),
        }
    }
}

/// What is known of the report file itself.
pub(crate) struct Source {
    pub path: String,
    pub bytes: u64,
    pub lines: u64,
    pub sha256: String,
}

/// A chart, drawn as SVG in HTML and as a table of figures in Markdown.
pub(crate) enum Chart {
    /// One bar per name.
    Bars {
        title: String,
        unit: &'static str,
        items: Vec<(String, u64)>,
    },
    /// Counts by distance, 0 to `max`.
    Histogram {
        title: String,
        bins: Vec<(u32, u64)>,
        max: u32,
    },
}

/// What the section writer asks of a format. Text is plain (the format escapes it); a
/// `\n` in a table cell is a line break.
pub(crate) trait Doc {
    fn start(&mut self, title: &str) -> io::Result<()>;
    fn heading(&mut self, level: u8, text: &str) -> io::Result<()>;
    fn para(&mut self, text: &str) -> io::Result<()>;
    /// A conclusion the reader must not miss: that something holds, or does not.
    fn verdict(&mut self, ok: bool, text: &str) -> io::Result<()>;
    fn table(&mut self, head: &[&str]) -> io::Result<()>;
    /// A row: `cells` for the first columns, spanning `sub`, the rows of the remaining
    /// columns (none: `cells` is the whole row).
    fn row(&mut self, cells: &[&str], sub: &[Vec<String>]) -> io::Result<()>;
    fn table_end(&mut self) -> io::Result<()>;
    /// A part the reader may fold away (`open`: shown unfolded at first).
    fn fold(&mut self, summary: &str, open: bool) -> io::Result<()>;
    fn fold_end(&mut self) -> io::Result<()>;
    fn chart(&mut self, chart: &Chart) -> io::Result<()>;
    fn end(&mut self) -> io::Result<()>;
}

/// Renders the report at `input` as `format` to the file `output`, or to standard
/// output. A file is written beside its name and renamed into place only when the
/// document is complete; nothing is written when the report is refused.
pub fn render_to(input: &Path, format: Format, output: Option<&Path>) -> Result<(), Error> {
    let Some(path) = output else {
        let stdout = io::stdout();
        let mut lock = stdout.lock();
        return render(input, format, &mut lock);
    };
    if same_file(input, path) {
        return Err(Error::Io(format!(
            "{}: the output would replace the report itself",
            path.display()
        )));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partial = path.with_file_name(format!(".{name}.phscan-partial-{}", std::process::id()));
    let result = (|| {
        let mut file = File::create(&partial)
            .map_err(|e| Error::Io(format!("cannot create {}: {e}", partial.display())))?;
        render(input, format, &mut file)?;
        file.sync_all()
            .and_then(|()| std::fs::rename(&partial, path))
            .map_err(|e| Error::Io(format!("cannot write {}: {e}", path.display())))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Whether `a` and `b` name one file (both exist, same device and inode).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    }
}

/// Renders the report at `input` as `format` into `out`.
pub fn render(input: &Path, format: Format, out: &mut dyn Write) -> Result<(), Error> {
    let invalid = |line: u64, reason: String| Error::Invalid {
        file: input.to_path_buf(),
        line,
        reason,
    };
    let io_err = |e: io::Error| Error::Io(format!("{}: {e}", input.display()));
    let (model, source) = first_pass(input).map_err(|e| match e {
        PassError::Line(line, reason) => invalid(line, reason),
        PassError::Io(e) => io_err(e),
    })?;
    let mut doc: Box<dyn Doc + '_> = match format {
        Format::Html => Box::new(html::Html::new(out)),
        Format::Markdown => Box::new(markdown::Markdown::new(out)),
    };
    let write_err = |e: io::Error| Error::Io(format!("cannot write the document: {e}"));
    let mut findings = |doc: &mut dyn Doc| -> Result<(), Error> {
        let file = File::open(input).map_err(io_err)?;
        let reader = BufReader::with_capacity(1 << 20, file.take(source.bytes));
        sections::findings(doc, &model, Lines::new(reader)).map_err(|e| match e {
            PassError::Line(line, reason) => invalid(line, reason),
            PassError::Io(e) => Error::Io(format!("while writing the findings: {e}")),
        })
    };
    sections::write(&mut *doc, &model, &source, &mut findings, write_err)
}

/// Reads the whole report once: checks every record, keeps the aggregates, digests
/// the file.
fn first_pass(input: &Path) -> Result<(Model, Source), PassError> {
    let file = File::open(input)?;
    let mut lines = Lines::new(BufReader::with_capacity(1 << 20, file));
    let mut sha = sha2::Sha256::new();
    let mut model = Model::default();
    while let Some(next) = lines.next_line(&mut |b| sha.update(b)) {
        let (n, line) = next?;
        match line {
            Line::Nothing => {}
            Line::Torn => model.torn_line = Some(n),
            Line::Record(text) => {
                let rec = input::parse(text).map_err(|r| PassError::Line(n, r))?;
                model.add(n, rec).map_err(|r| PassError::Line(n, r))?;
            }
        }
    }
    let n = lines.line();
    if model.runs.is_empty() {
        let reason = if n == 0 {
            "empty: not a phscan report"
        } else {
            "not a phscan report: no `begin` record"
        };
        return Err(PassError::Line(n.max(1), reason.into()));
    }
    let source = Source {
        path: model::escape_bytes(input.as_os_str().as_encoded_bytes()),
        bytes: lines.bytes,
        lines: n,
        sha256: format!("{:x}", sha.finalize()),
    };
    Ok((model, source))
}

/// The match records of a report, one at a time (second pass).
pub(crate) fn each_match<R: io::BufRead>(
    mut lines: Lines<R>,
    f: &mut dyn FnMut(u64, input::Item<'_>) -> io::Result<()>,
) -> Result<(), PassError> {
    while let Some(next) = lines.next_line(&mut |_| {}) {
        let (n, line) = next?;
        let Line::Record(text) = line else { continue };
        // phscan writes `type` first: other records are passed over unparsed.
        if text.starts_with("{\"type\":\"") && !text.starts_with("{\"type\":\"match\"") {
            continue;
        }
        match input::parse(text) {
            Ok(Record::Item(input::Kind::Match, item)) => f(n, item)?,
            Ok(_) => {}
            Err(r) => return Err(PassError::Line(n, r)),
        }
    }
    Ok(())
}
