//! Videos: recognised by content, decoded in process, hashed with vPDQ bit for bit as
//! Meta's vpdq computes it, and written as python-threatexchange's signal string.
//! The clips are tiny synthetic videos (FFmpeg's test patterns) made by
//! `tests/fixtures-video/make.sh`, which also wrote their reference vPDQ, from
//! `../shared/reference/vpdq_ref.py` (vpdq 0.2.5 built against the same FFmpeg), into
//! `tests/golden/vpdq_ref.tsv`. Damaged copies are made in a temporary directory under
//! cargo's target dir, removed at the end.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use common::{assert_accounted, file_name, json_lines, phscan_cmd, root, tempdir};
use phscan::config::Limits;
use phscan::hashing::pdq::PdqHash;
use phscan::hashing::FileHasher;
use phscan::sniff::{sniff, MediaFormat, VideoContainer};
use phscan::video::{hash_video, vpdq, ReadAt};
use serde_json::Value;

const VIDEO: &str = "tests/fixtures-video";

fn fixture(name: &str) -> Vec<u8> {
    let p = root().join(VIDEO).join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e} (made by {VIDEO}/make.sh)", p.display()))
}

/// (seconds per hash, file) -> reference signal string.
fn golden() -> BTreeMap<(String, String), String> {
    let p = root().join("tests/golden/vpdq_ref.tsv");
    let table = std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e} (made by {VIDEO}/make.sh)", p.display()));
    let g: BTreeMap<_, _> = table
        .lines()
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 3, "golden line: {l}");
            ((c[0].to_string(), c[1].to_string()), c[2].to_string())
        })
        .collect();
    assert!(g.len() >= 32, "the golden table lists {} videos", g.len());
    g
}

/// The `hash` records of `phscan hash ARGS`, by file name; the summary checked.
fn hash_records(args: &[&str]) -> BTreeMap<String, Value> {
    let out = phscan_cmd(&[&["hash"], args].concat());
    let records = json_lines(&out.stdout);
    let summary = records.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_accounted(summary);
    records
        .iter()
        .filter(|r| r["type"] == "hash" || r["type"] == "error")
        .map(|r| (file_name(r), r.clone()))
        .collect()
}

#[test]
fn vpdq_is_bit_exact_with_meta_vpdq_in_every_codec() {
    let golden = golden();
    // Every clip is over 2 KiB: videos on disk are read as they are decoded, not
    // whole under --max-file-size.
    for (_, file) in golden.keys() {
        let len = std::fs::metadata(root().join(VIDEO).join(file))
            .unwrap()
            .len();
        assert!(len > 2048, "{file}: {len} bytes");
    }
    for spf in ["1.0", "0.5"] {
        let recs = hash_records(&[
            "--algorithms",
            "vpdq",
            "--max-file-size",
            "2048",
            "--vpdq-seconds-per-hash",
            spf,
            VIDEO,
        ]);
        let mut checked = 0;
        for ((s, file), want) in &golden {
            if s != spf {
                continue;
            }
            let r = recs
                .get(file)
                .unwrap_or_else(|| panic!("{file}: no record in {recs:?}"));
            assert_eq!(r["type"], "hash", "{file}: {r}");
            assert_eq!(
                r["hashes"]["vpdq"].as_str(),
                Some(want.as_str()),
                "{file} at {spf} s"
            );
            assert!(
                r["codec"].is_string() && r["video_frames"].as_u64().unwrap() > 0,
                "{r}"
            );
            assert!(r.get("frame_error").is_none(), "{file}: {r}");
            checked += 1;
        }
        assert_eq!(checked, 16, "videos checked at {spf} s per hash");
    }
}

#[test]
fn records_name_container_and_codec() {
    let recs = hash_records(&["--algorithms", "vpdq,md5", VIDEO]);
    let expect = [
        ("h264_25.mp4", "mp4", "h264"),
        ("h264_rotated.mov", "mov", "h264"),
        ("mjpeg_15.avi", "avi", "mjpeg"),
        ("vp9_24.webm", "webm", "vp9"),
        ("hevc_full.mkv", "matroska", "hevc"),
        ("mpeg4_12.mp4", "mp4", "mpeg4"),
        ("h264_444_odd.mp4", "mp4", "h264"),
        ("mpeg2.ts", "mpegts", "mpeg2video"),
        ("flv_2.flv", "flv", "flv1"),
        ("wmv2.wmv", "asf", "wmv2"),
    ];
    for (file, format, codec) in expect {
        let r = &recs[file];
        assert_eq!(
            (r["format"].as_str(), r["codec"].as_str()),
            (Some(format), Some(codec)),
            "{r}"
        );
        assert_eq!(r["hashes"]["md5"].as_str().unwrap().len(), 32, "{r}");
    }
    // The stored size, not the displayed (rotation metadata is ignored, as vpdq does).
    let r = &recs["h264_rotated.mov"];
    assert_eq!(
        (r["width"].as_u64(), r["height"].as_u64()),
        (Some(112), Some(64))
    );
    let r = &recs["h264_444_odd.mp4"];
    assert_eq!(
        (r["width"].as_u64(), r["height"].as_u64()),
        (Some(101), Some(67))
    );
    assert_eq!(
        recs["h264_bt709.mp4"]["frame_rate"].as_f64(),
        Some(30000.0 / 1001.0)
    );
}

#[test]
fn the_library_gives_the_same_features_with_frame_numbers() {
    let bytes = fixture("flv_2.flv");
    let Some(MediaFormat::Video(c)) = sniff(&bytes[..512]) else {
        panic!("flv_2.flv not recognised as a video")
    };
    assert_eq!(c, VideoContainer::Flv);
    let v = hash_video(
        &bytes,
        c,
        1.0,
        &Limits::default(),
        &mut FileHasher::new(),
        &|| false,
    )
    .unwrap();
    // 2 fps, one frame a second: every other frame, timestamps n / 2.
    let frames: Vec<u64> = v.features.iter().map(|f| f.frame).collect();
    assert_eq!(frames, (0..v.frames).step_by(2).collect::<Vec<_>>());
    assert!(v
        .features
        .iter()
        .all(|f| f.timestamp == f.frame as f32 / 2.0));
    let want = &golden()[&("1.0".to_string(), "flv_2.flv".to_string())];
    assert_eq!(&vpdq::signal_string(&v.features), want);
    assert_eq!(vpdq::parse_signal(want).unwrap().len(), v.features.len());
}

#[test]
fn videos_are_found_by_content_whatever_their_names() {
    let dir = tempdir();
    let g = golden();
    for (file, renamed) in [
        ("vp9_24.webm", "holiday.jpg"),
        ("mpeg2.ts", "notes"),
        ("wmv2.wmv", "x.txt"),
    ] {
        common::link(&format!("{VIDEO}/{file}"), &dir.join(renamed));
        let recs = hash_records(&["--algorithms", "vpdq", dir.to_str().unwrap()]);
        let want = &g[&("1.0".to_string(), file.to_string())];
        assert_eq!(
            recs[renamed]["hashes"]["vpdq"].as_str(),
            Some(want.as_str()),
            "{renamed}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The frames of a signal string.
fn frames_of(signal: &str) -> Vec<String> {
    serde_json::from_str(signal).unwrap()
}

#[test]
fn damaged_videos_hash_what_decodes_and_say_why_they_stopped() {
    let dir = tempdir();
    let g = golden();
    let full = fixture("h264_25.mp4");
    // Cut short: the frames before the cut are hashed, as in the whole file.
    std::fs::write(dir.join("cut.mp4"), &full[..full.len() * 6 / 10]).unwrap();
    // Garbage over the middle.
    let mut bad = full.clone();
    let mid = bad.len() / 2;
    let mut x = 12345u32;
    for b in &mut bad[mid..mid + 3000] {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *b = (x >> 16) as u8;
    }
    std::fs::write(dir.join("garbled.mp4"), &bad).unwrap();
    // Only the start of the header: nothing to decode.
    std::fs::write(dir.join("header.mp4"), &full[..300]).unwrap();
    // A Matroska whose codec is unknown to FFmpeg.
    let mut mkv = fixture("hevc_full.mkv");
    let at = mkv
        .windows(16)
        .position(|w| w == b"V_MPEGH/ISO/HEVC")
        .expect("codec ID in hevc_full.mkv");
    mkv[at..at + 16].copy_from_slice(b"V_MPEGH/ISO/XXXX");
    std::fs::write(dir.join("unknown.mkv"), &mkv).unwrap();

    let recs = hash_records(&["--algorithms", "vpdq", dir.to_str().unwrap()]);
    let whole = frames_of(&g[&("1.0".to_string(), "h264_25.mp4".to_string())]);
    for name in ["cut.mp4", "garbled.mp4"] {
        let r = &recs[name];
        assert_eq!(r["type"], "hash", "{r}");
        let got = frames_of(r["hashes"]["vpdq"].as_str().unwrap());
        assert!(
            !got.is_empty() && got.len() < whole.len(),
            "{name}: {got:?}"
        );
        assert_eq!(
            got[..],
            whole[..got.len()],
            "{name}: the frames before the damage"
        );
        assert!(
            r["frame_error"].as_str().is_some_and(|e| !e.is_empty()),
            "{r}"
        );
    }
    let r = &recs["header.mp4"];
    assert_eq!(
        (r["type"].as_str(), r["stage"].as_str()),
        (Some("error"), Some("decode")),
        "{r}"
    );
    let r = &recs["unknown.mkv"];
    assert_eq!(r["stage"], "unsupported", "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("unknown video codec"),
        "{r}"
    );
    assert_eq!(r["format"], "matroska", "{r}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn frames_over_max_pixels_are_not_decoded() {
    let out = phscan_cmd(&[
        "hash",
        "--algorithms",
        "vpdq",
        "--max-pixels",
        "5000",
        "tests/fixtures-video/h264_25.mp4",
    ]);
    let r = &json_lines(&out.stdout)[1];
    assert_eq!(
        (r["type"].as_str(), r["stage"].as_str()),
        (Some("error"), Some("limit")),
        "{r}"
    );
    assert!(
        r["message"].as_str().unwrap().contains("--max-pixels"),
        "{r}"
    );
}

#[test]
fn default_hash_set_gives_vpdq_for_videos_and_pdq_for_images() {
    let recs = hash_records(&[
        &format!("{VIDEO}/half_fps.mp4"),
        "tests/fixtures/known/k01.png",
    ]);
    let v = &recs["half_fps.mp4"]["hashes"];
    assert!(
        v["vpdq"].is_string() && v["sha256"].is_string() && v.get("pdq").is_none(),
        "{v}"
    );
    let i = &recs["k01.png"]["hashes"];
    assert!(i["pdq"].is_string() && i.get("vpdq").is_none(), "{i}");
}

#[test]
fn a_video_in_an_archive_is_hashed_as_on_disk() {
    let dir = tempdir();
    let zip_path = dir.join("clips.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    z.start_file("inner/clip.bin", opts).unwrap();
    z.write_all(&fixture("hevc_full.mkv")).unwrap();
    z.finish().unwrap();
    let out = phscan_cmd(&["hash", "--algorithms", "vpdq", zip_path.to_str().unwrap()]);
    let recs = json_lines(&out.stdout);
    let r = recs
        .iter()
        .find(|r| r["type"] == "hash" && r["member"].is_array())
        .unwrap_or_else(|| panic!("no member record: {recs:?}"));
    let want = &golden()[&("1.0".to_string(), "hevc_full.mkv".to_string())];
    assert_eq!(r["hashes"]["vpdq"].as_str(), Some(want.as_str()), "{r}");
    assert_eq!(r["codec"], "hevc");
    assert!(Path::new(&zip_path).exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// python-threatexchange's brute-force matcher on two signal strings (quality >= 50,
/// duplicates dropped, distance <= 31): (query %, listed %).
fn brute_percent(query: &str, listed: &str) -> (f64, f64) {
    let prep = |s: &str| {
        let mut out: Vec<PdqHash> = Vec::new();
        for f in vpdq::parse_signal(s).unwrap() {
            if f.quality >= 50 && !out.contains(&f.hash) {
                out.push(f.hash);
            }
        }
        out
    };
    let (q, l) = (prep(query), prep(listed));
    let count = |a: &[PdqHash], b: &[PdqHash]| {
        a.iter()
            .filter(|x| b.iter().any(|y| x.distance(y) <= 31))
            .count()
    };
    (
        (count(&q, &l) * 100) as f64 / q.len() as f64,
        (count(&l, &q) * 100) as f64 / l.len() as f64,
    )
}

/// `phscan scan` of `dir` against `set` with `extra` options: the records by file name.
fn scan(dir: &Path, set: &Path, extra: &[&str]) -> (BTreeMap<String, Value>, Option<i32>) {
    let mut args = vec!["scan", "--list-clean", "--hashset", set.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push(dir.to_str().unwrap());
    let out = phscan_cmd(&args);
    let records = json_lines(&out.stdout);
    assert_accounted(records.last().unwrap());
    let by_name = records
        .iter()
        .filter(|r| r.get("path").is_some())
        .map(|r| (file_name(r), r.clone()))
        .collect();
    (by_name, out.status.code())
}

#[test]
fn listed_videos_match_reencoded_trimmed_and_renamed_copies_and_nothing_else() {
    let g = golden();
    let sig = |f: &str| g[&("1.0".to_string(), f.to_string())].clone();
    let dir = tempdir();
    let clips = dir.join("clips");
    std::fs::create_dir(&clips).unwrap();
    for (file, name) in [
        ("copy_reencoded.webm", "renamed.dat"),
        ("copy_trimmed.mp4", "trimmed.mp4"),
        ("h264_25.mp4", "other.mp4"),
        ("hevc_full.mkv", "other.mkv"),
    ] {
        std::fs::write(clips.join(name), fixture(file)).unwrap();
    }
    // The same listed video in each list form python-threatexchange writes.
    let te = dir.join("list.txt");
    std::fs::write(
        &te,
        format!("video_md5 {}\nvpdq {}\n", "0".repeat(32), sig("listed.mp4")),
    )
    .unwrap();
    let csv = dir.join("list.csv");
    let quoted = sig("listed.mp4").replace('"', "\"\"");
    std::fs::write(
        &csv,
        format!("signal_type,signal_str,collab,category,tags\nvpdq,\"{quoted}\",Test,cat-V,\n"),
    )
    .unwrap();
    let jsonl = dir.join("list.jsonl");
    let out = phscan_cmd(&[
        "hash",
        "--algorithms",
        "vpdq,md5",
        &format!("{VIDEO}/listed.mp4"),
    ]);
    std::fs::write(&jsonl, &out.stdout).unwrap();

    for set in [&te, &csv, &jsonl] {
        let (recs, code) = scan(&clips, set, &[]);
        assert_eq!(code, Some(1), "{set:?}: {recs:?}");
        for (name, copy) in [
            ("renamed.dat", "copy_reencoded.webm"),
            ("trimmed.mp4", "copy_trimmed.mp4"),
        ] {
            let r = &recs[name];
            assert_eq!(r["type"], "match", "{set:?} {name}: {r}");
            let hits = r["hits"].as_array().unwrap();
            assert_eq!(hits.len(), 1, "{r}");
            let h = &hits[0];
            assert_eq!(h["algorithm"], "vpdq");
            let (qp, lp) = brute_percent(&sig(copy), &sig("listed.mp4"));
            assert_eq!(h["query_match_percent"].as_f64(), Some(qp), "{h}");
            assert_eq!(h["compared_match_percent"].as_f64(), Some(lp), "{h}");
            assert!(qp >= 80.0);
            assert!(h["distance"].as_u64().unwrap() <= 31, "{h}");
            assert_eq!(
                h["matched_frames"].as_u64().unwrap() * 100,
                (qp * h["query_frames"].as_f64().unwrap()).round() as u64,
                "{h}"
            );
        }
        // The trimmed copy holds half of the listed video.
        assert_eq!(
            recs["trimmed.mp4"]["hits"][0]["compared_match_percent"].as_f64(),
            Some(50.0)
        );
        for name in ["other.mp4", "other.mkv"] {
            assert_eq!(
                recs[name]["type"], "clean",
                "{set:?} {name}: {}",
                recs[name]
            );
        }
    }
    assert_eq!(
        scan(&clips, &csv, &[]).0["renamed.dat"]["hits"][0]["label"],
        "cat-V"
    );
    // The listed side's minimum, and the distance threshold.
    let (recs, _) = scan(&clips, &te, &["--vpdq-listed-match-percent", "60"]);
    assert_eq!(recs["trimmed.mp4"]["type"], "clean");
    assert_eq!(recs["renamed.dat"]["type"], "match");
    let (recs, code) = scan(&clips, &te, &["--threshold", "vpdq=5"]);
    assert_eq!(code, Some(0), "{recs:?}");
    // The query side's minimum: the listed video is twice the trimmed copy.
    let (recs, _) = scan(&clips, &te, &["--vpdq-match-percent", "100"]);
    assert_eq!(recs["trimmed.mp4"]["type"], "match");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn video_limits_stop_decoding_and_say_so() {
    let g = golden();
    let whole = frames_of(&g[&("1.0".to_string(), "h264_25.mp4".to_string())]);
    assert_eq!(whole.len(), 3, "h264_25.mp4: 3 s at 25 fps");
    let clip = format!("{VIDEO}/h264_25.mp4");
    for (opt, value, frames) in [
        ("--max-video-frames", "30", 30),
        ("--max-video-seconds", "2", 50),
    ] {
        let out = phscan_cmd(&["hash", "--algorithms", "vpdq", opt, value, &clip]);
        let recs = json_lines(&out.stdout);
        assert_eq!(
            recs[0]["config"]["limits"][&opt[2..].replace('-', "_")].as_f64(),
            Some(value.parse().unwrap())
        );
        let r = &recs[1];
        let got = frames_of(r["hashes"]["vpdq"].as_str().unwrap());
        assert_eq!(
            got[..],
            whole[..2],
            "{opt} {value}: the first two frames of a second"
        );
        assert_eq!(r["video_frames"].as_u64(), Some(frames), "{r}");
        assert!(r["frame_error"].as_str().unwrap().contains(opt), "{r}");
        assert_eq!(
            recs[2]["partially_examined"].as_u64(),
            Some(1),
            "{}",
            recs[2]
        );
    }
}

#[test]
fn the_case_report_shows_how_much_of_each_video_matched() {
    let g = golden();
    let dir = tempdir();
    let list = dir.join("list.txt");
    std::fs::write(
        &list,
        format!(
            "vpdq {}\n",
            g[&("1.0".to_string(), "listed.mp4".to_string())]
        ),
    )
    .unwrap();
    let report = dir.join("report.jsonl");
    let out = phscan_cmd(&[
        "scan",
        "--hashset",
        list.to_str().unwrap(),
        "-o",
        report.to_str().unwrap(),
        &format!("{VIDEO}/copy_trimmed.mp4"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let out = phscan_cmd(&["report", "--format", "markdown", report.to_str().unwrap()]);
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(
        md.contains("100.0 % of the video's, 50.0 % of the listed one's"),
        "{md}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes a synthetic video of `frames` frames (`w`x`h`, 25 fps) to `path`, encoded by
/// this FFmpeg's `codec` in the container its extension names: blocks that move from
/// frame to frame under pseudo-random noise (the noise keeps the file large).
/// `faststart`: an MP4's index before the media data (otherwise it is at the end, and
/// the demuxer reads the end of the file first).
fn make_video(path: &Path, codec: ffmpeg_next::codec::Id, size: (u32, u32), frames: i64) {
    make_video_with(path, codec, size, frames, false)
}

fn make_video_with(
    path: &Path,
    codec_id: ffmpeg_next::codec::Id,
    (w, h): (u32, u32),
    frames: i64,
    faststart: bool,
) {
    use ffmpeg_next::{codec, encoder, format, frame, Dictionary, Packet, Rational};
    ffmpeg_next::init().unwrap();
    // The encoders' banners would go to the test's standard error.
    // SAFETY: sets a global integer in libavutil.
    unsafe { ffmpeg_next::ffi::av_log_set_level(ffmpeg_next::ffi::AV_LOG_QUIET) };
    let mut octx = format::output(path).unwrap();
    let global = octx.format().flags().contains(format::Flags::GLOBAL_HEADER);
    let codec = encoder::find(codec_id).unwrap_or_else(|| panic!("no {codec_id:?} encoder"));
    let mut ost = octx.add_stream(codec).unwrap();
    let mut enc = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .unwrap();
    let pix = if codec_id == codec::Id::MJPEG {
        format::Pixel::YUVJ420P
    } else {
        format::Pixel::YUV420P
    };
    let tb = Rational(1, 25);
    enc.set_width(w);
    enc.set_height(h);
    enc.set_format(pix);
    enc.set_time_base(tb);
    enc.set_frame_rate(Some(Rational(25, 1)));
    enc.set_bit_rate(40_000_000);
    enc.set_gop(12);
    if global {
        enc.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    let mut enc = enc.open_as(codec).unwrap();
    ost.set_parameters(&enc);
    ost.set_time_base(tb);
    let mut opts = Dictionary::new();
    if faststart {
        opts.set("movflags", "+faststart");
    }
    octx.write_header_with(opts).unwrap();
    let ost_tb = octx.stream(0).unwrap().time_base();
    let mut x = 0x2545_f491_u32;
    let drain = |enc: &mut encoder::Video, octx: &mut format::context::Output| {
        let mut p = Packet::empty();
        while enc.receive_packet(&mut p).is_ok() {
            p.set_stream(0);
            p.rescale_ts(tb, ost_tb);
            p.write_interleaved(octx).unwrap();
        }
    };
    for i in 0..frames {
        let mut f = frame::Video::new(pix, w, h);
        for plane in 0..3 {
            let stride = f.stride(plane);
            let (pw, ph) = (
                f.plane_width(plane) as usize,
                f.plane_height(plane) as usize,
            );
            let data = f.data_mut(plane);
            for y in 0..ph {
                for xx in 0..pw {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    let block = ((xx / 8 + y / 8 + i as usize) % 4) as u32 * 60;
                    data[y * stride + xx] = (block + (x & 31)) as u8;
                }
            }
        }
        f.set_pts(Some(i));
        enc.send_frame(&f).unwrap();
        drain(&mut enc, &mut octx);
    }
    enc.send_eof().unwrap();
    drain(&mut enc, &mut octx);
    octx.write_trailer().unwrap();
}

/// MD5 of `bytes`, as hex.
fn md5_hex(bytes: &[u8]) -> String {
    let mut d = phscan::hashing::digest::Digests::new(true, false, false);
    d.update(bytes);
    phscan::hashing::digest::hex(&d.finish().md5.unwrap())
}

/// The library's vPDQ of a video in memory, as a signal string.
fn in_memory_signal(bytes: &[u8]) -> String {
    let (signal, _, e) = in_memory(bytes);
    assert!(e.is_none(), "{e:?}");
    signal
}

/// The library's vPDQ of a video in memory: signal string, frames decoded, and
/// `frame_error`.
fn in_memory(bytes: &[u8]) -> (String, u64, Option<String>) {
    let Some(MediaFormat::Video(c)) = sniff(&bytes[..bytes.len().min(4096)]) else {
        panic!("not recognised as a video")
    };
    let v = hash_video(
        &bytes,
        c,
        1.0,
        &Limits::default(),
        &mut FileHasher::new(),
        &|| false,
    )
    .unwrap();
    (vpdq::signal_string(&v.features), v.frames, v.frame_error)
}

#[test]
fn a_video_over_max_file_size_is_hashed_from_the_file_as_in_memory() {
    let dir = tempdir();
    // MPEG-4 Part 2 in MP4 with its index at the end, and MJPEG in AVI.
    for (name, codec) in [
        ("big.mp4", ffmpeg_next::codec::Id::MPEG4),
        ("big.avi", ffmpeg_next::codec::Id::MJPEG),
    ] {
        make_video(&dir.join(name), codec, (160, 120), 60);
    }
    // An image over the limit is still refused.
    common::link("tests/fixtures/known/k01.png", &dir.join("k01.png"));
    let recs = hash_records(&[
        "--algorithms",
        "vpdq,md5,sha256",
        "--max-file-size",
        "65536",
        dir.to_str().unwrap(),
    ]);
    for name in ["big.mp4", "big.avi"] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert!(bytes.len() > 4 * 65536, "{name}: {} bytes", bytes.len());
        let r = &recs[name];
        assert_eq!(r["type"], "hash", "{r}");
        assert_eq!(r["size"].as_u64(), Some(bytes.len() as u64), "{r}");
        assert_eq!(r["hashes"]["md5"].as_str(), Some(md5_hex(&bytes).as_str()));
        let sha = phscan::hashing::digest::hex(&phscan::hashing::digest::sha256(&bytes));
        assert_eq!(r["hashes"]["sha256"].as_str(), Some(sha.as_str()));
        assert!(r.get("frame_error").is_none(), "{r}");
        let (want, frames, _) = in_memory(&bytes);
        assert_eq!(r["video_frames"].as_u64(), Some(frames), "{r}");
        assert!(frames >= 59, "{name}: {frames} frames of 60");
        assert_eq!(frames_of(&want).len(), 3, "{name}: 60 frames at 25 fps");
        assert_eq!(r["hashes"]["vpdq"].as_str(), Some(want.as_str()), "{name}");
    }
    // The same bytes as an archive member go through the in-memory path: same hashes.
    let zip_path = dir.join("member.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    z.start_file("v.avi", zip::write::SimpleFileOptions::default())
        .unwrap();
    z.write_all(&std::fs::read(dir.join("big.avi")).unwrap())
        .unwrap();
    z.finish().unwrap();
    let out = phscan_cmd(&["hash", "--algorithms", "vpdq", zip_path.to_str().unwrap()]);
    let member = json_lines(&out.stdout)
        .into_iter()
        .find(|r| r["type"] == "hash" && r["member"].is_array())
        .expect("member record");
    assert_eq!(member["hashes"]["vpdq"], recs["big.avi"]["hashes"]["vpdq"]);
    let r = &recs["k01.png"];
    assert_eq!(
        (r["type"].as_str(), r["stage"].as_str()),
        (Some("error"), Some("limit")),
        "{r}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_truncated_large_video_hashes_the_frames_before_the_cut() {
    let dir = tempdir();
    let path = dir.join("whole.mp4");
    // H.264 (libx264): its decoder refuses the packet cut short.
    make_video_with(&path, ffmpeg_next::codec::Id::H264, (160, 120), 100, true);
    let whole = std::fs::read(&path).unwrap();
    let cut = &whole[..whole.len() * 6 / 10];
    assert!(cut.len() > 4 * 65536, "{} bytes", cut.len());
    std::fs::write(dir.join("cut.mp4"), cut).unwrap();
    std::fs::remove_file(&path).unwrap();
    let recs = hash_records(&[
        "--algorithms",
        "vpdq",
        "--max-file-size",
        "65536",
        dir.to_str().unwrap(),
    ]);
    let r = &recs["cut.mp4"];
    assert_eq!(r["type"], "hash", "{r}");
    let want = frames_of(&in_memory_signal(&whole));
    let got = frames_of(r["hashes"]["vpdq"].as_str().unwrap());
    assert!(!got.is_empty() && got.len() < want.len(), "{got:?}");
    assert_eq!(got[..], want[..got.len()], "the frames before the cut");
    // As the in-memory path reports it (the path of a video in an archive).
    let (signal, frames, error) = in_memory(cut);
    assert_eq!(r["hashes"]["vpdq"].as_str(), Some(signal.as_str()));
    assert_eq!(r["video_frames"].as_u64(), Some(frames));
    let e = error.expect("frame_error in memory");
    assert_eq!(r["frame_error"].as_str(), Some(e.as_str()), "{r}");
    assert_eq!(recs.len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A source whose reads fail from byte `fails_at` on, as a failing disk would.
struct FailingDisk {
    bytes: Vec<u8>,
    fails_at: u64,
}

impl ReadAt for FailingDisk {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        if offset >= self.fails_at {
            return Err(std::io::Error::from_raw_os_error(libc::EIO));
        }
        let end = (offset + buf.len() as u64).min(self.fails_at) as usize;
        let rest = &self.bytes[offset as usize..end.max(offset as usize)];
        buf[..rest.len()].copy_from_slice(rest);
        Ok(rest.len())
    }
}

#[test]
fn a_read_error_part_way_ends_the_video_with_its_cause() {
    let dir = tempdir();
    let path = dir.join("v.mp4");
    make_video_with(&path, ffmpeg_next::codec::Id::MPEG4, (160, 120), 100, true);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let want = frames_of(&in_memory_signal(&bytes));
    let fails_at = bytes.len() as u64 / 2;
    let disk = FailingDisk { bytes, fails_at };
    let v = hash_video(
        &disk,
        VideoContainer::Mp4,
        1.0,
        &Limits::default(),
        &mut FileHasher::new(),
        &|| false,
    )
    .unwrap();
    let got = frames_of(&vpdq::signal_string(&v.features));
    assert!(!got.is_empty() && got.len() < want.len(), "{got:?}");
    assert_eq!(got[..], want[..got.len()]);
    let e = v.frame_error.expect("frame_error");
    assert!(
        e.contains("read error at byte") && e.contains("Input/output error"),
        "{e}"
    );
    // Failing while the header is read: nothing is decoded, and the stage says why.
    let disk = FailingDisk {
        fails_at: 100,
        ..disk
    };
    let e = hash_video(
        &disk,
        VideoContainer::Mp4,
        1.0,
        &Limits::default(),
        &mut FileHasher::new(),
        &|| false,
    )
    .unwrap_err();
    assert_eq!(e.stage, "read", "{e:?}");
    assert!(e.message.contains("Input/output error"), "{e:?}");
}

/// Peak resident memory (KiB) of `phscan hash ARGS`, and its records.
fn peak_rss_kib(args: &[&str]) -> (i64, Vec<Value>) {
    use std::io::Read;
    // Reaped by wait4 below, which std's wait cannot replace: it gives the rusage.
    #[allow(clippy::zombie_processes)]
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_phscan"))
        .current_dir(root())
        .arg("hash")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 reaps this child, which std has not.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{status}"
    );
    (usage.ru_maxrss, json_lines(&out))
}

#[test]
fn memory_does_not_grow_with_the_size_of_a_video_on_disk() {
    let dir = tempdir();
    let (small, big) = (dir.join("small.avi"), dir.join("big.avi"));
    make_video(&small, ffmpeg_next::codec::Id::MJPEG, (640, 480), 10);
    make_video(&big, ffmpeg_next::codec::Id::MJPEG, (640, 480), 300);
    let big_len = std::fs::metadata(&big).unwrap().len() as i64;
    assert!(big_len > 30 << 20, "big.avi: {big_len} bytes");
    let run = |p: &Path| {
        let (rss, recs) =
            peak_rss_kib(&["--algorithms", "vpdq,md5", "-j", "1", p.to_str().unwrap()]);
        assert_eq!(recs[1]["type"], "hash", "{}", recs[1]);
        (rss, recs[1]["video_frames"].as_u64())
    };
    let (rss_small, n) = run(&small);
    assert_eq!(n, Some(10));
    let (rss_big, n) = run(&big);
    assert_eq!(n, Some(300));
    eprintln!("peak RSS: {rss_small} KiB (10 frames), {rss_big} KiB (300 frames, {big_len} bytes)");
    // Read whole, the big video alone would add its 30+ MiB.
    assert!(
        rss_big < rss_small + 12 * 1024,
        "peak RSS {rss_big} KiB for {big_len} bytes, {rss_small} KiB for the small video"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_video_stops_at_its_time_limit_and_keeps_what_it_hashed() {
    let dir = tempdir();
    let path = dir.join("long.avi");
    make_video(&path, ffmpeg_next::codec::Id::MJPEG, (320, 240), 600);
    let out = phscan_cmd(&[
        "hash",
        "--algorithms",
        "vpdq",
        "--vpdq-seconds-per-hash",
        "0",
        "--max-video-time",
        "0.01",
        path.to_str().unwrap(),
    ]);
    let recs = json_lines(&out.stdout);
    assert_eq!(
        recs[0]["config"]["limits"]["max_video_time"].as_f64(),
        Some(0.01)
    );
    let r = &recs[1];
    // Hashing each of 600 frames takes far longer than 10 ms: decoding stops part
    // way, with the frames hashed so far, or before the first (a `decode` error).
    let said = if r["type"] == "hash" {
        assert!(r["video_frames"].as_u64().unwrap() < 600, "{r}");
        assert_eq!(
            recs[2]["partially_examined"].as_u64(),
            Some(1),
            "{}",
            recs[2]
        );
        r["frame_error"].as_str()
    } else {
        assert_eq!(r["stage"], "decode", "{r}");
        r["message"].as_str()
    };
    assert!(said.unwrap().contains("--max-video-time"), "{r}");
    // A video may take longer than --max-file-time: the watchdog allows it
    // --max-video-time more, and it is hashed whole.
    let out = phscan_cmd(&[
        "hash",
        "--algorithms",
        "vpdq",
        "--vpdq-seconds-per-hash",
        "0",
        "--max-file-time",
        "0.05",
        path.to_str().unwrap(),
    ]);
    let recs = json_lines(&out.stdout);
    let r = &recs[1];
    assert_eq!(r["type"], "hash", "{r}");
    assert_eq!(r["video_frames"].as_u64(), Some(600), "{r}");
    assert!(r.get("frame_error").is_none(), "{r}");
    let summary = &recs[2];
    assert!(
        summary["elapsed_seconds"].as_f64().unwrap() > 0.05,
        "the video took less than --max-file-time: {summary}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
