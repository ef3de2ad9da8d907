//! Where the report goes (standard output, or a file put in place only when
//! complete), and the progress line on standard error.

use std::fs::File;
use std::io::{self, IsTerminal, Seek, Write};
use std::path::Path;

use super::Fatal;
use crate::config::Progress;

/// Where the report goes. A JSON document written to a file is written to a partial
/// file beside it and renamed into place only when complete, so a failed or stopped
/// run never leaves half a document under the name asked for.
pub(super) enum Output {
    Stdout,
    File {
        path: std::path::PathBuf,
        partial: Option<std::path::PathBuf>,
        file: Option<File>,
        /// A regular file (not a FIFO or a device): it can be checkpointed.
        regular: bool,
    },
}

impl Output {
    pub(super) fn open(path: Option<&Path>, document: bool) -> Result<Output, Fatal> {
        let Some(path) = path else {
            return Ok(Output::Stdout);
        };
        // Only a regular file (or a new one) is replaced by rename; a device or a FIFO
        // named as output is written directly.
        let regular = std::fs::metadata(path).map_or(true, |m| m.is_file());
        let partial = (document && regular).then(|| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            path.with_file_name(format!(".{name}.phscan-partial-{}", std::process::id()))
        });
        let target = partial.as_deref().unwrap_or(path);
        let file = File::create(target).map_err(|e| {
            Fatal(format!(
                "cannot create output file {}: {e}",
                target.display()
            ))
        })?;
        Ok(Output::File {
            path: path.to_path_buf(),
            partial,
            file: Some(file),
            regular,
        })
    }

    /// The report at `path` continued (`--resume`): its first `keep` bytes kept, the
    /// rest (records past the last checkpoint) dropped, written on from there.
    pub(super) fn append(path: &Path, keep: u64) -> Result<Output, Fatal> {
        let fail = |e: io::Error| Fatal(format!("cannot continue {}: {e}", path.display()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(fail)?;
        file.set_len(keep).map_err(fail)?;
        file.seek(io::SeekFrom::End(0)).map_err(fail)?;
        Ok(Output::File {
            path: path.to_path_buf(),
            partial: None,
            file: Some(file),
            regular: true,
        })
    }

    /// A second handle on a JSON Lines report in a regular file, for checkpoints.
    pub(super) fn checkpoint_handle(&self) -> Result<Option<File>, Fatal> {
        match self {
            Output::File {
                file: Some(f),
                partial: None,
                regular: true,
                path,
            } => f
                .try_clone()
                .map(Some)
                .map_err(|e| Fatal(format!("cannot checkpoint {}: {e}", path.display()))),
            _ => Ok(None),
        }
    }

    pub(super) fn is_terminal(&self) -> bool {
        matches!(self, Output::Stdout) && io::stdout().is_terminal()
    }

    pub(super) fn writer(&mut self) -> Result<Box<dyn Write>, Fatal> {
        Ok(match self {
            Output::Stdout => Box::new(io::stdout()),
            Output::File { file, .. } => Box::new(file.take().expect("writer taken once")),
        })
    }

    /// The report is complete: put a partial file in place.
    pub(super) fn commit(mut self) -> Result<(), Fatal> {
        if let Output::File { path, partial, .. } = &mut self {
            if let Some(p) = partial.take() {
                std::fs::rename(&p, &*path).map_err(|e| {
                    Fatal(format!(
                        "cannot move the report into place at {}: {e}",
                        path.display()
                    ))
                })?;
            }
        }
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // Not committed: remove the partial document.
        if let Output::File {
            partial: Some(p), ..
        } = self
        {
            let _ = std::fs::remove_file(p);
        }
    }
}

pub(super) fn make_progress(p: Progress) -> Option<indicatif::ProgressBar> {
    let target = match p {
        Progress::Never => return None,
        Progress::Auto if !io::stderr().is_terminal() => return None,
        Progress::Auto => indicatif::ProgressDrawTarget::stderr_with_hz(5),
        // Asked for explicitly: draw even when standard error is not a terminal (a
        // log file), one line per refresh.
        Progress::Always if io::stderr().is_terminal() => {
            indicatif::ProgressDrawTarget::stderr_with_hz(5)
        }
        Progress::Always => {
            indicatif::ProgressDrawTarget::term_like_with_hz(Box::new(PlainStderr), 1)
        }
    };
    let bar = indicatif::ProgressBar::with_draw_target(None, target);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed_precise} {human_pos} files, {rate} files/s {msg}",
        )
        .expect("valid progress template")
        .with_key(
            "rate",
            |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let secs = s.elapsed().as_secs_f64();
                let rate = if secs > 0.0 {
                    s.pos() as f64 / secs
                } else {
                    0.0
                };
                let _ = write!(w, "{rate:.1}");
            },
        ),
    );
    Some(bar)
}

/// Standard error as a line printer, for progress when it is not a terminal.
#[derive(Debug)]
struct PlainStderr;

impl indicatif::TermLike for PlainStderr {
    fn width(&self) -> u16 {
        100
    }
    fn move_cursor_up(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> io::Result<()> {
        writeln!(io::stderr(), "{s}")
    }
    fn write_str(&self, s: &str) -> io::Result<()> {
        if s.trim().is_empty() {
            return Ok(());
        }
        writeln!(io::stderr(), "{s}")
    }
    fn clear_line(&self) -> io::Result<()> {
        Ok(())
    }
    fn flush(&self) -> io::Result<()> {
        io::stderr().flush()
    }
}
