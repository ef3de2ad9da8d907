//! Writes the fuzz seed corpora into `fuzz/seeds/<target>/` (git-ignored): the
//! repository's test fixtures and hash sets, and small inputs made here (tiny images
//! in every format and pixel type phscan decodes, a few hash sets of each format,
//! awkward paths), so that the fuzzer starts from valid structure. Run by
//! fuzz/run.sh: `cargo run --release --example fuzz_seeds -- <repo root> <seeds dir>`.
//!
//! The images made here are synthetic gradients, encoded in memory by the `image`
//! crate; nothing here reads or writes anything but the fixtures and the seeds.

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, LumaA, Rgb, Rgba};

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [root, seeds] = &args[..] else {
        eprintln!("usage: fuzz_seeds <repository root> <seeds dir>");
        std::process::exit(2);
    };
    let n = decode_hash_seeds(root, &seeds.join("decode_hash"));
    eprintln!("decode_hash: {n} seeds");
    let n = hashset_seeds(root, &seeds.join("hashset"));
    eprintln!("hashset: {n} seeds");
    let n = json_path_seeds(root, &seeds.join("json_path"));
    eprintln!("json_path: {n} seeds");
    let n = archive_walk_seeds(&seeds.join("archive_walk"));
    eprintln!("archive_walk: {n} seeds");
}

fn fresh_dir(d: &Path) {
    if d.exists() {
        fs::remove_dir_all(d).unwrap_or_else(|e| panic!("cannot clear {}: {e}", d.display()));
    }
    fs::create_dir_all(d).unwrap_or_else(|e| panic!("cannot create {}: {e}", d.display()));
}

fn put(dir: &Path, name: &str, bytes: &[u8]) {
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", p.display()));
}

/// Every regular file under `dir`, sorted, with a name made of its path.
fn files_under(root: &Path, dir: &str) -> Vec<(String, Vec<u8>)> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = fs::read_dir(d) else {
            panic!("cannot read {}", d.display());
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.is_file() {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&root.join(dir), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('/', "-");
            let bytes = fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (name, bytes)
        })
        .collect()
}

/// The decode_hash target picks its hashing plan from an input's last byte (modulo
/// 4): each image is written four times, with 0, 1, 2 and 3 appended (decoders
/// ignore trailing bytes).
fn with_plans(dir: &Path, name: &str, bytes: &[u8]) -> usize {
    for plan in 0u8..4 {
        let mut b = bytes.to_vec();
        b.push(plan);
        put(dir, &format!("{name}.plan{plan}"), &b);
    }
    4
}

fn decode_hash_seeds(root: &Path, dir: &Path) -> usize {
    fresh_dir(dir);
    let mut n = 0;
    for d in [
        "tests/fixtures",
        "tests/fixtures-hostile",
        "tests/fixtures-media",
    ] {
        for (name, bytes) in files_under(root, d) {
            n += with_plans(dir, &name, &bytes);
        }
    }
    let (w, h) = (23u32, 17u32);
    let g = |x: u32, y: u32| ((x * 11 + y * 7) % 256) as u8;
    let g16 = |x: u32, y: u32| ((x * 2851 + y * 1777) % 65536) as u16;
    let images: Vec<(&str, DynamicImage)> = vec![
        (
            "l8",
            ImageBuffer::from_fn(w, h, |x, y| Luma([g(x, y)])).into(),
        ),
        (
            "la8",
            ImageBuffer::from_fn(w, h, |x, y| LumaA([g(x, y), g(y, x)])).into(),
        ),
        (
            "rgb8",
            ImageBuffer::from_fn(w, h, |x, y| Rgb([g(x, y), g(y, x), g(x, x)])).into(),
        ),
        (
            "rgba8",
            ImageBuffer::from_fn(w, h, |x, y| Rgba([g(x, y), g(y, x), g(x, x), g(y, y)])).into(),
        ),
        (
            "l16",
            ImageBuffer::from_fn(w, h, |x, y| Luma([g16(x, y)])).into(),
        ),
        (
            "la16",
            ImageBuffer::from_fn(w, h, |x, y| LumaA([g16(x, y), g16(y, x)])).into(),
        ),
        (
            "rgb16",
            ImageBuffer::from_fn(w, h, |x, y| Rgb([g16(x, y), g16(y, x), g16(x, x)])).into(),
        ),
        (
            "rgba16",
            ImageBuffer::from_fn(w, h, |x, y| {
                Rgba([g16(x, y), g16(y, x), g16(x, x), g16(y, y)])
            })
            .into(),
        ),
    ];
    let formats = [
        ("png", ImageFormat::Png),
        ("jpg", ImageFormat::Jpeg),
        ("gif", ImageFormat::Gif),
        ("bmp", ImageFormat::Bmp),
        ("tiff", ImageFormat::Tiff),
        ("webp", ImageFormat::WebP),
    ];
    for (ext, f) in formats {
        for (kind, img) in &images {
            let mut out = Cursor::new(Vec::new());
            // Not every format takes every pixel type; those are simply not made.
            if img.write_to(&mut out, f).is_ok() {
                n += with_plans(dir, &format!("made-{kind}.{ext}"), &out.into_inner());
            }
        }
    }
    n
}

const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
const MD5: &str = "900150983cd24fb0d6963f7d28e17f72";
const SHA1: &str = "a9993e364706816aba3e25717850c26c9cd0d89d";
const SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

fn hashset_seeds(root: &Path, dir: &Path) -> usize {
    fresh_dir(dir);
    let mut n = 0;
    for (name, bytes) in files_under(root, "hashsets") {
        if !name.ends_with(".md") {
            put(dir, &name, &bytes);
            n += 1;
        }
    }
    let made = [
        (
            "te-text",
            format!("# comment\n{PDQ},bridge.jpg\nhash={PDQ}\npdq {PDQ}\n\nvideo_md5 {MD5}\r\n"),
        ),
        (
            "te-dataset.csv",
            format!(
                "signal_type,signal_str,collab,category,tags\n\
                 pdq,{PDQ},c1,\"cat, A\",\"t1 \"\"q\"\"\"\nvideo_md5,{MD5},c2,,\nurl,http://x,c3,,\n"
            ),
        ),
        ("plain-md5", format!("{MD5}\n{}\n", MD5.to_uppercase())),
        ("plain-sha1", format!("{SHA1}\n")),
        ("plain-64", format!("{PDQ}\n{SHA256}\n")),
        ("plain-16", "00ff00ff00ff00ff\n".to_string()),
        (
            "phscan.jsonl",
            format!(
                "{{\"type\":\"begin\",\"schema_version\":1}}\n\
                 {{\"type\":\"hash\",\"id\":\"a\",\"label\":\"L\",\"pdq_quality\":90,\"hashes\":\
                 {{\"pdq\":\"{PDQ}\",\"md5\":\"{MD5}\",\"sha1\":\"{SHA1}\",\"sha256\":\"{SHA256}\",\
                 \"ahash\":\"0123456789abcdef\",\"dhash\":\"00ff00ff00ff00ff\",\
                 \"phash\":\"8000000000000001\",\"blockhash\":\"ffffffffffffffff\"}}}}\n\
                 {{\"type\":\"summary\"}}\n"
            ),
        ),
        (
            "vics-1.json",
            format!(
                "{{\"odata.metadata\":\"x\",\"value\":[{{\"MediaID\":7,\"Category\":1,\
                 \"MD5\":\"{}\",\"SHA1\":\"{SHA1}\",\"PhotoDNA\":\"AAAA\"}}]}}",
                MD5.to_uppercase()
            ),
        ),
        (
            "vics-2.json",
            format!(
                "{{\"@odata.context\":\"x\",\"value\":[{{\"CaseNumber\":\"c\",\"Media\":[\
                 {{\"MediaID\":\"m1\",\"Category\":\"2\",\"AlternativeHashes\":[\
                 {{\"HashName\":\"PDQ\",\"HashValue\":\"{PDQ}\"}},\
                 {{\"HashName\":\"SHA256\",\"HashValue\":\"{SHA256}\"}},\
                 {{\"HashName\":\"MD5\",\"HashValue\":\"{MD5}\"}},\
                 {{\"HashName\":\"OTHER\",\"HashValue\":\"zz\"}}]}}]}}]}}"
            ),
        ),
    ];
    for (name, text) in made {
        put(dir, &format!("made-{name}"), text.as_bytes());
        n += 1;
    }
    n
}

fn json_path_seeds(root: &Path, dir: &Path) -> usize {
    fresh_dir(dir);
    let mut paths: Vec<Vec<u8>> = files_under(root, "tests/fixtures")
        .into_iter()
        .map(|(name, _)| name.into_bytes())
        .collect();
    paths.extend([
        b"dir/caf\xe9\n.jpg".to_vec(),
        b"a/\"b\"\\c\t.png".to_vec(),
        "ユニコード/фото.jpg".as_bytes().to_vec(),
        b"\xff\xfe\x00\x01/x".to_vec(),
        b"ok/\xed\xa0\x80/surrogate".to_vec(),
        b"\x1b[31mred\x7f".to_vec(),
    ]);
    for (i, p) in paths.iter().enumerate() {
        put(dir, &format!("path{i:03}"), p);
    }
    paths.len()
}

/// Small containers of every kind phscan opens, each holding a tiny PNG and a line
/// of text, some nested.
fn archive_walk_seeds(dir: &Path) -> usize {
    fresh_dir(dir);
    let all = archive_seeds();
    for (name, bytes) in &all {
        put(dir, name, bytes);
    }
    all.len()
}

/// The archive seeds, by name (also used for tests/fuzz-regressions/archive_walk/).
pub fn archive_seeds() -> Vec<(String, Vec<u8>)> {
    use std::io::Write;
    let png = {
        let img = ImageBuffer::from_fn(8, 8, |x, y| Luma([(x * 30 + y * 3) as u8]));
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageLuma8(img)
            .write_to(&mut out, ImageFormat::Png)
            .expect("encode png");
        out.into_inner()
    };
    let text = b"not an image\n".to_vec();
    let members: Vec<(&str, &[u8])> = vec![("a.png", &png), ("dir/b.txt", &text)];

    let zip = |method: zip::CompressionMethod, files: &[(&str, &[u8])]| {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, data) in files {
            w.start_file(*name, opts).expect("zip entry");
            w.write_all(data).expect("zip data");
        }
        w.finish().expect("zip").into_inner()
    };
    let tar = |files: &[(&str, &[u8])]| {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).expect("tar entry");
        }
        b.into_inner().expect("tar")
    };
    let gz = |data: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("gzip");
        e.finish().expect("gzip")
    };
    let bz = |data: &[u8]| {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        e.write_all(data).expect("bzip2");
        e.finish().expect("bzip2")
    };
    let xz = |data: &[u8]| {
        let mut e =
            lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::default()).expect("xz");
        e.write_all(data).expect("xz");
        e.finish().expect("xz")
    };
    let zst = |data: &[u8]| zstd::stream::encode_all(data, 3).expect("zstd");
    let sevenz = |files: &[(&str, &[u8])]| {
        let mut w = sevenz_rust2::ArchiveWriter::new(Cursor::new(Vec::new())).expect("7z");
        for (name, data) in files {
            w.push_archive_entry(sevenz_rust2::ArchiveEntry::new_file(name), Some(*data))
                .expect("7z entry");
        }
        w.finish().expect("7z").into_inner()
    };

    let plain_tar = tar(&members);
    let mut out = vec![
        (
            "stored.zip".to_string(),
            zip(zip::CompressionMethod::Stored, &members),
        ),
        (
            "deflated.zip".into(),
            zip(zip::CompressionMethod::Deflated, &members),
        ),
        (
            "bzip2.zip".into(),
            zip(zip::CompressionMethod::Bzip2, &members),
        ),
        (
            "zstd.zip".into(),
            zip(zip::CompressionMethod::Zstd, &members),
        ),
        ("plain.tar".into(), plain_tar.clone()),
        ("t.tar.gz".into(), gz(&plain_tar)),
        ("t.tar.bz2".into(), bz(&plain_tar)),
        ("t.tar.xz".into(), xz(&plain_tar)),
        ("t.tar.zst".into(), zst(&plain_tar)),
        ("a.png.gz".into(), gz(&png)),
        ("a.png.xz".into(), xz(&png)),
        ("s.7z".into(), sevenz(&members)),
    ];
    let inner = gz(&plain_tar);
    let nested = zip(
        zip::CompressionMethod::Deflated,
        &[("in/t.tar.gz", &inner), ("a.png", &png)],
    );
    out.push(("nested.zip".into(), nested));
    out
}
