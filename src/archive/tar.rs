//! TAR (V7, ustar, pax, GNU with long names and sparse members), read as a stream:
//! from a file, or from a decompressor. Directories are not members; links and
//! devices are reported as skipped. A member in the pax sparse format (its data map
//! in `GNU.sparse.*` records) is reported as unsupported rather than hashed as the
//! packed data it is stored as.

use std::io::Read;

use super::{read_failure, reason, Budget, End, Event, Flow, Member};

pub(super) fn walk(
    src: &mut dyn Read,
    format: &'static str,
    budget: &Budget,
    visit: &mut dyn FnMut(Event<'_>) -> Flow,
) -> End {
    let mut end = End::new(format);
    let mut archive = ::tar::Archive::new(src);
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => {
            end.error = Some(read_failure(&e));
            return end;
        }
    };
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                end.error = Some(read_failure(&e));
                break;
            }
        };
        let kind = entry.header().entry_type();
        if kind.is_dir()
            || kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions()
            || kind.is_gnu_longname()
            || kind.is_gnu_longlink()
        {
            continue;
        }
        if !budget.take_member() {
            break;
        }
        end.members += 1;
        let name = entry.path_bytes().into_owned();
        let size = Some(entry.size());
        let flow = if kind.is_symlink() {
            visit(Event::Skipped {
                name: &name,
                reason: reason::SYMLINK,
                size: None,
            })
        } else if kind.is_hard_link() {
            visit(Event::Skipped {
                name: &name,
                reason: reason::HARD_LINK,
                size: None,
            })
        } else if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
            visit(Event::Skipped {
                name: &name,
                reason: reason::SPECIAL_FILE,
                size: None,
            })
        } else if pax_sparse(&mut entry) {
            visit(Event::Failed {
                name: &name,
                stage: "unsupported",
                message: "a sparse member in the pax format (GNU.sparse.* records): its data \
                          map is not read"
                    .into(),
                size,
            })
        } else {
            // Regular files, contiguous files, GNU sparse members (holes read as
            // zeros), and unknown types, which POSIX says to read as regular files.
            visit(Event::File(Member {
                name: &name,
                size,
                reader: &mut entry,
            }))
        };
        if !end.go_on(flow, budget) {
            break;
        }
    }
    end
}

/// Is this member stored in the pax sparse format?
fn pax_sparse<R: Read>(entry: &mut ::tar::Entry<'_, R>) -> bool {
    match entry.pax_extensions() {
        Ok(Some(exts)) => exts
            .filter_map(Result::ok)
            .any(|e| e.key_bytes().starts_with(b"GNU.sparse.")),
        _ => false,
    }
}
