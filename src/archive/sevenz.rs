//! 7z: block by block (a solid block is decompressed once, its members in order),
//! through `sevenz-rust2`, with decoder dictionaries and models held to
//! `--max-alloc`. Encrypted headers make the member list unreadable (the archive
//! is reported); members of an encrypted block are reported each, and the other
//! blocks are still read. No password is ever tried.

use std::io::Read;

use sevenz_rust2::{Archive, BlockDecoder, Error, Password};

use std::cell::Cell;
use std::rc::Rc;

use super::{Budget, Compressed, CountIn, End, Event, Flow, Member, Metered, Source};

/// The method ID of 7-Zip's AES-256 + SHA-256 coder.
const AES_METHOD: &[u8] = &[0x06, 0xF1, 0x07, 0x01];

pub(super) fn walk(
    mut src: &mut dyn Source,
    budget: &Budget,
    visit: &mut dyn FnMut(Event<'_>) -> Flow,
) -> End {
    let mut end = End::new("7z");
    let limit_kb = usize::try_from(budget.limits.max_alloc / 1024).unwrap_or(usize::MAX);
    let password = Password::empty();
    let archive = match Archive::read_with_memory_limit(&mut src, &password, limit_kb) {
        Ok(a) => a,
        Err(e) => {
            end.error = Some(failure(&e, "the archive's header"));
            return end;
        }
    };
    // The packed bytes read, for the ratio of each block's output to its input.
    let packed = Rc::new(Cell::new(0u64));
    let mut src = CountIn {
        inner: src,
        count: Rc::clone(&packed),
    };
    // Members with data, block by block.
    for (b, block) in archive.blocks.iter().enumerate() {
        let encrypted = block
            .coders
            .iter()
            .any(|c| c.encoder_method_id() == AES_METHOD);
        let dec =
            BlockDecoder::new_with_memory_limit(1, limit_kb, b, &archive, &password, &mut src);
        if encrypted {
            for entry in dec.entries() {
                if entry.is_directory || entry.is_anti_item || !entry.has_stream {
                    continue;
                }
                if !budget.take_member() {
                    return end;
                }
                end.members += 1;
                let flow = visit(Event::Failed {
                    name: entry.name.as_bytes(),
                    stage: "encrypted",
                    message: "encrypted member: not decrypted (no password is ever tried)".into(),
                    size: Some(entry.size),
                });
                if flow == Flow::Stop {
                    end.stopped = true;
                    return end;
                }
            }
            continue;
        }
        let mut stop = false;
        // The block's members, and how many were handed over: past a ratio breach the
        // block is not decoded further (draining it is what a bomb wants), and the
        // members left are reported.
        let members: Vec<(String, u64)> = dec
            .entries()
            .iter()
            .filter(|e| !e.is_directory && !e.is_anti_item && e.has_stream)
            .map(|e| (e.name.clone(), e.size))
            .collect();
        let mut handed = 0usize;
        let mut bomb: Option<String> = None;
        let (block_in, block_out) = (packed.get(), Rc::new(Cell::new(0u64)));
        let r = dec.for_each_entries(&mut |entry, reader: &mut dyn Read| {
            if entry.is_directory || entry.is_anti_item || !entry.has_stream {
                return Ok(true);
            }
            if !budget.take_member() {
                stop = true;
                return Ok(false);
            }
            end.members += 1;
            handed += 1;
            let since = Compressed::Since(Rc::clone(&packed), block_in);
            let mut m = Metered::sharing(reader, budget, Some(since), Rc::clone(&block_out));
            let flow = visit(Event::File(Member {
                name: entry.name.as_bytes(),
                size: Some(entry.size),
                reader: &mut m,
            }));
            if flow == Flow::Stop {
                end.stopped = true;
                stop = true;
            }
            if budget.exhausted().is_some() {
                stop = true;
            }
            if let Some(why) = m.hit.take() {
                bomb = Some(format!("{} ({why})", entry.name));
                return Ok(false);
            }
            Ok(!stop)
        });
        if let Err(e) = r {
            if end.error.is_none() && budget.exhausted().is_none() {
                end.error = Some(failure(&e, &format!("block {b}")));
            }
        }
        if stop {
            return end;
        }
        if let Some(first) = bomb {
            for (name, size) in &members[handed.min(members.len())..] {
                if !budget.take_member() {
                    return end;
                }
                end.members += 1;
                let flow = visit(Event::Failed {
                    name: name.as_bytes(),
                    stage: "limit",
                    message: format!(
                        "not read: an earlier member of its solid block, {first}, \
                         stopped the block's decoding"
                    ),
                    size: Some(*size),
                });
                if flow == Flow::Stop {
                    end.stopped = true;
                    return end;
                }
            }
        }
    }
    // Empty files: members with no data in any block.
    for (i, entry) in archive.files.iter().enumerate() {
        let in_block = archive
            .stream_map
            .file_block_index
            .get(i)
            .copied()
            .flatten();
        if entry.is_directory || entry.is_anti_item || in_block.is_some() || entry.has_stream {
            continue;
        }
        if !budget.take_member() {
            return end;
        }
        end.members += 1;
        let flow = visit(Event::File(Member {
            name: entry.name.as_bytes(),
            size: Some(0),
            reader: &mut std::io::empty(),
        }));
        if flow == Flow::Stop {
            end.stopped = true;
            return end;
        }
    }
    end
}

/// A 7z error as (`stage`, message), saying where it happened.
fn failure(e: &Error, at: &str) -> (&'static str, String) {
    match e {
        Error::PasswordRequired | Error::MaybeBadPassword(_) => (
            "encrypted",
            format!("{at} is encrypted: not decrypted (no password is ever tried)"),
        ),
        Error::MaxMemLimited { .. } => (
            "limit",
            format!("{at}: the decoder needs more memory than --max-alloc allows ({e})"),
        ),
        Error::Io(io, _) => match super::limit_hit(io) {
            Some(why) => ("limit", why),
            None => ("archive", format!("{at}: {e}")),
        },
        Error::UnsupportedCompressionMethod(_) | Error::Unsupported(_) => {
            ("unsupported", format!("{at}: {e}"))
        }
        _ => ("archive", format!("{at}: {e}")),
    }
}
