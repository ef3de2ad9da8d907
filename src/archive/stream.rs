//! Compressed streams: gzip (every member of a multi-member file), bzip2 (every
//! stream), xz (every stream) and zstd (every frame). What comes out is a TAR
//! (`tar.gz`, `tar.bz2`, `tar.xz`, `tar.zst`), walked as such, or a single file, the
//! stream's one member: named by the gzip header when it records a name, otherwise
//! by the stream's own name less its compression suffix.
//!
//! The decompressed bytes count against the walk's byte budget and the ratio guard
//! (against the compressed bytes consumed so far). Decoder memory is bounded: gzip
//! and bzip2 need little; xz and zstd decoders are refused a dictionary or window
//! larger than `--max-alloc`.

use std::cell::Cell;
use std::io::{self, BufReader, Cursor, Read};
use std::rc::Rc;

use super::{
    read_failure, tar, Budget, Compressed, CountIn, End, Event, Flow, Kind, Member, Metered, Source,
};

/// A decompressor over the counted input (one per stream: sizes do not matter).
#[allow(clippy::large_enum_variant)]
enum Decoder<'a> {
    Gzip(flate2::bufread::MultiGzDecoder<BufReader<CountIn<&'a mut dyn Source>>>),
    Bzip2(bzip2::read::MultiBzDecoder<CountIn<&'a mut dyn Source>>),
    Xz(Box<lzma_rust2::XzReader<BufReader<CountIn<&'a mut dyn Source>>>>),
    Zstd(zstd::stream::read::Decoder<'static, BufReader<CountIn<&'a mut dyn Source>>>),
}

impl Read for Decoder<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Bzip2(d) => d.read(buf),
            Decoder::Xz(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
        }
    }
}

pub(super) fn walk(
    kind: Kind,
    src: &mut dyn Source,
    name: &[u8],
    budget: &Budget,
    visit: &mut dyn FnMut(Event<'_>) -> Flow,
) -> End {
    let mut end = End::new(kind.name());
    let count = Rc::new(Cell::new(0u64));
    let input = CountIn {
        inner: src,
        count: Rc::clone(&count),
    };
    let max_alloc = budget.limits.max_alloc;
    let decoder = match kind {
        Kind::Gzip => Decoder::Gzip(flate2::bufread::MultiGzDecoder::new(BufReader::new(input))),
        Kind::Bzip2 => Decoder::Bzip2(bzip2::read::MultiBzDecoder::new(input)),
        Kind::Xz => {
            let kib = u32::try_from(max_alloc / 1024).unwrap_or(u32::MAX - 1);
            Decoder::Xz(Box::new(lzma_rust2::XzReader::new_mem_limit(
                BufReader::new(input),
                true,
                kib,
            )))
        }
        Kind::Zstd => {
            let d = zstd::stream::read::Decoder::with_buffer(BufReader::new(input)).and_then(
                |mut d| {
                    // The window a frame may ask for: at most --max-alloc, and at least
                    // what zstd itself allows by default (8 MiB windows are the norm).
                    let log = (63 - max_alloc.max(1 << 23).leading_zeros()).min(31);
                    d.window_log_max(log)?;
                    Ok(d)
                },
            );
            match d {
                Ok(d) => Decoder::Zstd(d),
                Err(e) => {
                    end.error = Some(("archive", e.to_string()));
                    return end;
                }
            }
        }
        _ => unreachable!("not a compressed stream"),
    };
    let mut out = Metered::new(decoder, budget, Some(Compressed::Counter(count)));

    // The first block decides: a TAR, or a single file.
    let mut head = Vec::with_capacity(super::HEAD_LEN);
    if let Err(e) = (&mut out)
        .take(super::HEAD_LEN as u64)
        .read_to_end(&mut head)
    {
        end.error = Some(read_failure(&e));
        return end;
    }
    if super::is_tar_header(&head) {
        let mut whole = Cursor::new(head).chain(out);
        let mut tar_end = tar::walk(&mut whole, tar_name(kind), budget, visit);
        tar_end.format = tar_name(kind);
        return tar_end;
    }
    let member = match &out.inner_ref() {
        Decoder::Gzip(d) => d
            .header()
            .and_then(|h| h.filename())
            .filter(|n| !n.is_empty())
            .map(<[u8]>::to_vec),
        _ => None,
    }
    .unwrap_or_else(|| strip_suffix(name, kind));
    if !budget.take_member() {
        return end;
    }
    end.members = 1;
    let mut whole = Cursor::new(head).chain(&mut out);
    let flow = visit(Event::File(Member {
        name: &member,
        size: None,
        reader: &mut whole,
    }));
    end.stopped = flow == Flow::Stop;
    // A limit that stopped the member stopped the stream too.
    if let Some(why) = out.hit.take() {
        end.error = Some(("limit", why));
    }
    end
}

fn tar_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Gzip => "tar.gz",
        Kind::Bzip2 => "tar.bz2",
        Kind::Xz => "tar.xz",
        Kind::Zstd => "tar.zst",
        _ => "tar",
    }
}

/// The single member's name when the stream records none: the stream's own name
/// less its compression suffix (`photo.jpg.gz` holds `photo.jpg`), or the same
/// name when it has no such suffix.
fn strip_suffix(name: &[u8], kind: Kind) -> Vec<u8> {
    let base = name.rsplit(|b| *b == b'/').next().unwrap_or(name);
    let suffixes: &[&[u8]] = match kind {
        Kind::Gzip => &[b".gz", b".gzip", b".z"],
        Kind::Bzip2 => &[b".bz2", b".bzip2", b".bz"],
        Kind::Xz => &[b".xz", b".lzma"],
        Kind::Zstd => &[b".zst", b".zstd"],
        _ => &[],
    };
    let lower = base.to_ascii_lowercase();
    for s in suffixes {
        if lower.len() > s.len() && lower.ends_with(s) {
            return base[..base.len() - s.len()].to_vec();
        }
    }
    base.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_member_names() {
        assert_eq!(strip_suffix(b"a/b/photo.jpg.gz", Kind::Gzip), b"photo.jpg");
        assert_eq!(strip_suffix(b"X.JPG.BZ2", Kind::Bzip2), b"X.JPG");
        assert_eq!(strip_suffix(b"noext", Kind::Xz), b"noext");
        assert_eq!(strip_suffix(b".zst", Kind::Zstd), b".zst");
    }
}
