//! PDQ against published test vectors (the shared `pdq-vectors` folder that
//! sits beside the checkout) and pixel-transform properties.
//!
//! Which expectations are exact and why:
//! * `derived/raw-rgb/*.rgb` are decoded RGB buffers; each one's
//!   `expected_pdq` is a hash published in the ThreatExchange repo that the
//!   spec re-implementation reproduces from exactly these bytes. Decoder
//!   differences are out of the picture, so we require bit equality.
//! * `derived/spec-reimpl-hashes.tsv` rows were made by that re-implementation
//!   from the same Pillow decode; where a raw buffer of the same decode
//!   exists, all 8 dihedrals and the quality must match exactly.
//! * The 2019 historical reference output (`historical/…out.bak@6e8f37cd`)
//!   was made from the JPEG by a 2019 decoder that we do not have; its bytes
//!   differ from the Pillow decode, so those hashes can only be expected to be
//!   close. We print the distances and bound them.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use phscan::hashing::pdq::{
    luma_from_rgb8, luma_from_rgb8_f64, squash_nn_512_rgb8, Dihedral, PdqHash, PdqHasher, PdqOutput,
};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/pdq-vectors");

/// The vectors folder, or `None` (after a loud note) when it is absent and
/// `PHSCAN_SKIP_SHARED=1`. Panics when it is absent otherwise.
fn shared(test: &str) -> Option<PathBuf> {
    let dir = Path::new(SHARED);
    if dir.is_dir() {
        return Some(dir.to_path_buf());
    }
    if std::env::var("PHSCAN_SKIP_SHARED").as_deref() == Ok("1") {
        eprintln!(
            "\n*** SKIPPED {test}: test vectors folder {SHARED} not found and \
             PHSCAN_SKIP_SHARED=1. PDQ bit-exactness was NOT checked. ***\n"
        );
        return None;
    }
    panic!(
        "{test} needs the folder ../shared/pdq-vectors beside the checkout \
         (looked for {SHARED}); set PHSCAN_SKIP_SHARED=1 to skip these tests"
    );
}

/// A tab-separated file with a header row, as maps from column name to value.
fn read_tsv(path: &Path) -> Vec<HashMap<String, String>> {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().expect("header row").split('\t').collect();
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split('\t').collect();
            assert_eq!(cells.len(), header.len(), "{}: {line}", path.display());
            header
                .iter()
                .zip(cells)
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn hash(hex: &str) -> PdqHash {
    PdqHash::from_hex(hex).unwrap_or_else(|e| panic!("{hex}: {e}"))
}

/// A decoded RGB buffer from `derived/raw-rgb`.
struct Raw {
    name: String,
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Raw {
    fn load(dir: &Path, name: &str, width: usize, height: usize) -> Raw {
        let path = dir.join("derived/raw-rgb").join(name);
        let rgb = fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        assert_eq!(rgb.len(), width * height * 3, "{name}");
        Raw {
            name: name.to_string(),
            width,
            height,
            rgb,
        }
    }

    fn luma(&self) -> Vec<f32> {
        let mut luma = Vec::new();
        luma_from_rgb8(&self.rgb, self.width, self.height, &mut luma);
        luma
    }
}

/// Every row of `derived/raw-rgb/index.tsv` with its buffer.
fn raw_buffers(dir: &Path) -> Vec<(HashMap<String, String>, Raw)> {
    read_tsv(&dir.join("derived/raw-rgb/index.tsv"))
        .into_iter()
        .map(|row| {
            let w = row["width"].parse().unwrap();
            let h = row["height"].parse().unwrap();
            let raw = Raw::load(dir, &row["raw_file"], w, h);
            (row, raw)
        })
        .collect()
}

#[test]
fn raw_rgb_vectors_are_bit_exact() {
    let Some(dir) = shared("raw_rgb_vectors_are_bit_exact") else {
        return;
    };
    let rows = raw_buffers(&dir);
    assert_eq!(rows.len(), 10, "index.tsv should list 10 buffers");
    let mut hasher = PdqHasher::new();
    let mut failures = Vec::new();
    for (row, raw) in &rows {
        let luma = raw.luma();
        let got = hasher.hash_luma(&luma, raw.width, raw.height);
        let want = PdqOutput {
            hash: hash(&row["expected_pdq"]),
            quality: row["quality_spec"].parse().unwrap(),
        };
        let (q, dih) = hasher.hash_luma_dihedral(&luma, raw.width, raw.height);
        let want_rot90 = hash(&row["dih_rot90_spec"]);
        eprintln!(
            "{:40} hash {} q {:3}  distance {:3}  rot90 distance {:3}",
            raw.name,
            got.hash,
            got.quality,
            got.hash.distance(&want.hash),
            dih[1].distance(&want_rot90)
        );
        // None of these buffers is 64x64, so both entry points blur.
        if got != want || (q, dih[0]) != (got.quality, got.hash) || dih[1] != want_rot90 {
            failures.push(raw.name.clone());
        }
    }
    assert!(failures.is_empty(), "not bit-exact: {failures:?}");
}

#[test]
fn raw_rgb_vectors_are_bit_exact_with_the_pdqhash_luma() {
    // The f64-then-f32 luma of the pdqhash binding (python-threatexchange, HMA),
    // which phscan uses, reproduces the published hashes too.
    let Some(dir) = shared("raw_rgb_vectors_are_bit_exact_with_the_pdqhash_luma") else {
        return;
    };
    let mut hasher = PdqHasher::new();
    let mut failures = Vec::new();
    let rows = raw_buffers(&dir);
    assert_eq!(rows.len(), 10);
    for (row, raw) in &rows {
        let mut luma = Vec::new();
        luma_from_rgb8_f64(&raw.rgb, raw.width, raw.height, &mut luma);
        let got = hasher.hash_luma(&luma, raw.width, raw.height);
        let (q, dih) = hasher.hash_luma_dihedral(&luma, raw.width, raw.height);
        eprintln!(
            "{:40} f64 luma: distance {}",
            raw.name,
            got.hash.distance(&hash(&row["expected_pdq"]))
        );
        if got.hash != hash(&row["expected_pdq"])
            || got.quality.to_string() != row["quality_spec"]
            || q != got.quality
            || dih[0] != got.hash
            || dih[1] != hash(&row["dih_rot90_spec"])
        {
            failures.push(raw.name.clone());
        }
    }
    assert!(failures.is_empty(), "not bit-exact: {failures:?}");
}

/// Images in spec-reimpl-hashes.tsv that are byte-identical files
/// (README.txt: md5 d35c7855…), so they share the bridge-1 buffers.
const BRIDGE_1_ALIASES: [&str; 5] = [
    "pdq/data/reg-test-input/dih/bridge-1-original.jpg",
    "pdq/data/bridge-mods/aaa-orig.jpg",
    "pdq/data/misc-images/b.jpg",
    "pdq/data/misc-images/modes/original.jpg",
    "python-threatexchange/threatexchange/tests/hashing/resources/sample-b.jpg",
];

#[test]
fn spec_reimpl_dihedrals_are_bit_exact() {
    let Some(dir) = shared("spec_reimpl_dihedrals_are_bit_exact") else {
        return;
    };
    let spec = read_tsv(&dir.join("derived/spec-reimpl-hashes.tsv"));
    let mut hasher = PdqHasher::new();
    let mut checked = 0;
    for (row, raw) in raw_buffers(&dir) {
        // Which (image, pipeline) rows this buffer is the input of: a
        // squashed dump is the cli512nn input; an unsquashed one is the
        // fullres input, and also the cli512nn input when it is ≤ 512 (the
        // CLI leaves those alone).
        let squashed = row["pipeline_before_dump"].contains("512x512 NN squash");
        let mut pipelines = vec![];
        if squashed {
            pipelines.push("cli512nn");
        } else {
            pipelines.push("fullres");
            if raw.width <= 512 && raw.height <= 512 {
                pipelines.push("cli512nn");
            }
        }
        let source = row["source_image"].as_str();
        let images: Vec<&str> = if BRIDGE_1_ALIASES.contains(&source) {
            BRIDGE_1_ALIASES.to_vec()
        } else {
            vec![source]
        };

        let (quality, got) = hasher.hash_luma_dihedral(&raw.luma(), raw.width, raw.height);
        for want in spec.iter().filter(|s| {
            images.contains(&s["image"].as_str()) && pipelines.contains(&s["pipeline"].as_str())
        }) {
            let label = format!("{} [{}] vs {}", raw.name, want["pipeline"], want["image"]);
            assert_eq!(quality.to_string(), want["quality"], "{label}: quality");
            for (d, h) in Dihedral::ALL.iter().zip(&got) {
                let w = hash(&want[d.name()]);
                assert_eq!(
                    *h,
                    w,
                    "{label}: {} differs by {} bits",
                    d.name(),
                    h.distance(&w)
                );
            }
            checked += 1;
        }
    }
    eprintln!("{checked} spec re-implementation rows matched exactly (8 dihedrals + quality)");
    // 10 bridge-1 alias rows (5 images x 2 pipelines), c.png cli512nn, and
    // two rows each for the 7 small images.
    assert_eq!(checked, 10 + 1 + 2 * 7);
}

#[test]
fn cli_squash_matches_dumped_buffer() {
    let Some(dir) = shared("cli_squash_matches_dumped_buffer") else {
        return;
    };
    let full = Raw::load(&dir, "bridge-1-original.1600x1004.rgb", 1600, 1004);
    let small = Raw::load(&dir, "bridge-1-original-cli512nn.512x512.rgb", 512, 512);
    let squashed = squash_nn_512_rgb8(&full.rgb, full.width, full.height).expect("needs squash");
    assert!(
        squashed == small.rgb,
        "squash differs from the dumped cli512nn buffer"
    );
    assert!(squash_nn_512_rgb8(&small.rgb, 512, 512).is_none());
}

/// The 8 DCT-domain dihedrals of bridge-1 in the 2019 reference output
/// (`pdq-photo-hasher --pdqdih --details`: one `xform=` line per variant).
fn historical_bridge_1_dihedrals(dir: &Path) -> HashMap<String, PdqHash> {
    let path = dir.join("historical/hashing_pdq_java_reg_test_expected_out.bak@6e8f37cd");
    let text = fs::read_to_string(&path).unwrap();
    let mut out = HashMap::new();
    for line in text.lines() {
        if !line.contains("filename=reg_test/input/dih/bridge-1-original.jpg") {
            continue;
        }
        let fields: HashMap<&str, &str> =
            line.split(',').filter_map(|f| f.split_once('=')).collect();
        if let (Some(h), Some(x)) = (fields.get("hash"), fields.get("xform")) {
            out.insert(x.to_string(), hash(h));
        }
    }
    assert_eq!(out.len(), 8, "{}: expected 8 xform= lines", path.display());
    out
}

#[test]
fn historical_2019_dihedrals_are_close() {
    let Some(dir) = shared("historical_2019_dihedrals_are_close") else {
        return;
    };
    // These 2019 hashes came from the JPEG through a 2019 decoder (the
    // published 2019 orig hash f8f8f0cc… matches neither today's full-res
    // f8f8f0ce… nor the 512 squash d8f8f0ce…), so no buffer we have is their
    // exact input: exactness is impossible, closeness is what is checked.
    // SPEC-NOTES §2.3 measured 2–8 bits to full-res and 4–12 to the squash
    // over the 2019 rows; here all 8 dihedrals are 8 bits from full-res and
    // 8–10 from the squash.
    let want = historical_bridge_1_dihedrals(&dir);
    let mut hasher = PdqHasher::new();
    for (name, w, h) in [
        ("bridge-1-original.1600x1004.rgb", 1600, 1004),
        ("bridge-1-original-cli512nn.512x512.rgb", 512, 512),
    ] {
        let raw = Raw::load(&dir, name, w, h);
        let (quality, got) = hasher.hash_luma_dihedral(&raw.luma(), w, h);
        assert_eq!(quality, 100);
        let dists: Vec<u32> = Dihedral::ALL
            .iter()
            .zip(&got)
            .map(|(d, g)| g.distance(&want[d.name()]))
            .collect();
        eprintln!("2019 bridge-1 dihedrals vs {name}: distances {dists:?} (orig..flipm)");
        for (d, dist) in Dihedral::ALL.iter().zip(&dists) {
            assert!(*dist <= 12, "{name}: {} is {dist} bits from 2019", d.name());
        }
    }
}

// ---------------------------------------------------------------------------
// Pixel transforms vs DCT-domain dihedrals, on synthetic images made here.

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

/// Grey-level image: a smooth two-axis gradient plus a few flat rectangles,
/// with values in 0..=255 like real luma.
fn synthetic(seed: u64, width: usize, height: usize) -> Vec<f32> {
    let mut rng = Rng(seed);
    let (ax, ay, phase) = (rng.unit() * 6.0, rng.unit() * 6.0, rng.unit() * 6.0);
    let mut img: Vec<f32> = (0..height)
        .flat_map(|y| {
            (0..width).map(move |x| {
                let (u, v) = (x as f32 / width as f32, y as f32 / height as f32);
                128.0 + 60.0 * (ax * u + phase).sin() + 50.0 * (ay * v * v).cos()
            })
        })
        .collect();
    for _ in 0..4 {
        let x0 = (rng.unit() * width as f32 * 0.8) as usize;
        let y0 = (rng.unit() * height as f32 * 0.8) as usize;
        let x1 = (x0 + 1 + (rng.unit() * width as f32 * 0.4) as usize).min(width);
        let y1 = (y0 + 1 + (rng.unit() * height as f32 * 0.4) as usize).min(height);
        let level = (rng.unit() * 255.0).round();
        for y in y0..y1 {
            img[y * width + x0..y * width + x1].fill(level);
        }
    }
    img
}

/// Builds the `out_w` x `out_h` image whose pixel (x, y) is `src[f(x, y)]`.
fn remap(src: &[f32], out_w: usize, out_h: usize, f: impl Fn(usize, usize) -> usize) -> Vec<f32> {
    (0..out_h)
        .flat_map(|y| (0..out_w).map(move |x| (x, y)))
        .map(|(x, y)| src[f(x, y)])
        .collect()
}

/// Whether blurring and sampling an axis of `n` pixels commutes with
/// reversing it. Two things break the symmetry (SPEC-NOTES §1.3, §1.8): an
/// even box window ⌈n/128⌉ covers one more pixel on the right than on the
/// left, and when 128 divides n the cell centres (j + ½)·n/64 are integers,
/// so ⌊·⌋ picks a pixel right of centre, whose mirror image is not a centre.
fn axis_is_symmetric(n: usize) -> bool {
    n.div_ceil(128) % 2 == 1 && !n.is_multiple_of(128)
}

#[test]
fn pixel_transforms_match_their_dct_dihedrals() {
    // SPEC-NOTES §1.8: Rot90 = 90° counter-clockwise, Rot270 = clockwise,
    // FlipY = left↔right, FlipX = top↔bottom. Each transform reverses one
    // axis of the source (and the rotations also transpose, which is
    // harmless, see the unit tests). When the reversed axis is symmetric in
    // the sense above, the pixel transform and the DCT dihedral agree to
    // within 8 bits (in practice 0 on these images). When it is not, they
    // drift apart by a few tens of bits at worst (up to ~40 seen at 256x256,
    // where the 256 x 256 noise images of SPEC-NOTES were 64–100 off), so
    // only a loose bound is asserted there. The wrong rotation direction must
    // look like an unrelated image (~128 bits), which pins down the pairing.
    let mut hasher = PdqHasher::new();
    let sizes = [(300, 200), (640, 480), (1024, 768), (1040, 780)];
    for (s, (w, h)) in sizes.into_iter().enumerate() {
        for k in 0..3 {
            let img = synthetic(1000 * s as u64 + k, w, h);
            let (_, dih) = hasher.hash_luma_dihedral(&img, w, h);
            let mut pix = |out_w, out_h, f: &dyn Fn(usize, usize) -> usize| {
                hasher
                    .hash_luma(&remap(&img, out_w, out_h, f), out_w, out_h)
                    .hash
            };
            // (name, pixel-transformed hash, DCT variant, reversed axis length)
            let cases = [
                (
                    "mirror~flipy",
                    pix(w, h, &|x, y| y * w + (w - 1 - x)),
                    Dihedral::FlipY,
                    w,
                ),
                (
                    "upside-down~flipx",
                    pix(w, h, &|x, y| (h - 1 - y) * w + x),
                    Dihedral::FlipX,
                    h,
                ),
                (
                    "ccw~rot90",
                    pix(h, w, &|x, y| x * w + (w - 1 - y)),
                    Dihedral::Rot90,
                    w,
                ),
                (
                    "cw~rot270",
                    pix(h, w, &|x, y| (h - 1 - x) * w + y),
                    Dihedral::Rot270,
                    h,
                ),
            ];
            let wrong = pix(h, w, &|x, y| (h - 1 - x) * w + y).distance(&dih[1]);
            let mut line = format!("{w}x{h} #{k}:");
            for (name, got, d, axis) in cases {
                let dist = got.distance(&dih[d as usize]);
                let bound = if axis_is_symmetric(axis) { 8 } else { 48 };
                line += &format!(" {name} {dist} (<= {bound});");
                assert!(dist <= bound, "{w}x{h} #{k}: {name} is {dist} bits apart");
            }
            eprintln!("{line} cw~rot90 (wrong pairing) {wrong}");
            assert!(
                wrong > 64,
                "{w}x{h} #{k}: cw rotation is only {wrong} from Rot90"
            );
        }
    }
}

#[test]
fn transposed_bridge_matches_flipp() {
    let Some(dir) = shared("transposed_bridge_matches_flipp") else {
        return;
    };
    // Transposing the pixels swaps the order of the row and column box
    // passes and of the DCT sums, so equality with FlipP is not guaranteed
    // bit for bit; on this photo it holds exactly (SPEC-NOTES: flipp 0).
    let raw = Raw::load(&dir, "bridge-1-original.1600x1004.rgb", 1600, 1004);
    let luma = raw.luma();
    let (w, h) = (raw.width, raw.height);
    let t: Vec<f32> = (0..w)
        .flat_map(|c| (0..h).map(move |r| (r, c)))
        .map(|(r, c)| luma[r * w + c])
        .collect();
    let mut hasher = PdqHasher::new();
    let (q, dih) = hasher.hash_luma_dihedral(&luma, w, h);
    let got = hasher.hash_luma(&t, h, w);
    assert_eq!(
        got,
        PdqOutput {
            hash: dih[Dihedral::FlipP as usize],
            quality: q
        }
    );
}

/// Hashes every image of `expected-hashes.tsv` whose pipeline matches `pipeline`
/// through phscan's own decoder and front end, and checks the distance to the
/// published hash. Returns how many rows were checked.
fn published_through_our_decoder(
    test: &str,
    pipeline: impl Fn(&str) -> bool,
    mode: phscan::config::PdqMode,
    tolerance: u32,
) -> usize {
    use phscan::config::{Algorithm, AlgorithmSet, Limits};
    use phscan::hashing::{Computed, FileHasher};
    let Some(dir) = shared(test) else {
        return usize::MAX;
    };
    let algos: AlgorithmSet = [Algorithm::Pdq].into_iter().collect();
    let mut hasher = FileHasher::new();
    let mut checked = 0;
    let mut failures = Vec::new();
    for row in read_tsv(&dir.join("expected-hashes.tsv")) {
        if !pipeline(&row["pipeline"]) {
            continue;
        }
        let path = dir.join(&row["image"]);
        let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let format = phscan::sniff::sniff(&bytes[..bytes.len().min(32)])
            .unwrap_or_else(|| panic!("{} is not an image we decode", path.display()));
        let image = phscan::decode::decode(&bytes, format, &Limits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut out = Computed::default();
        hasher.perceptual(&image, &algos, mode, false, &mut out);
        let got = out.pdq.unwrap();
        let d = got.hash.distance(&hash(&row["pdq_hash_hex"]));
        let q = &row["quality"];
        eprintln!(
            "{:80} {:?}: distance {d:2}, quality {:3} (published {})",
            row["image"],
            mode,
            got.quality,
            if q.is_empty() { "-" } else { q }
        );
        if d > tolerance || (!q.is_empty() && got.quality.to_string() != *q) {
            failures.push(format!(
                "{}: distance {d}, quality {}",
                row["image"], got.quality
            ));
        }
        checked += 1;
    }
    if tolerance == 0 {
        assert!(
            failures.is_empty(),
            "not bit-exact (phscan decodes JPEG with libjpeg-turbo, as Pillow does): \
             {failures:#?}"
        );
    }
    assert!(failures.is_empty(), "over {tolerance} bits: {failures:#?}");
    checked
}

#[test]
fn published_full_resolution_hashes_through_our_decoder() {
    // The 21 hashes published for full-resolution pipelines (Java unit tests,
    // python-threatexchange / pdqhash): bit-exact, JPEGs included, since phscan
    // decodes JPEG with libjpeg-turbo as Pillow does (with zune-jpeg, wee.jpg was 2
    // bits away and 6 were allowed). The two Java rows (ImageIO's decoder) match too.
    let n = published_through_our_decoder(
        "published_full_resolution_hashes_through_our_decoder",
        |p| p.contains("full-res"),
        phscan::config::PdqMode::Full,
        0,
    );
    assert!(
        n == usize::MAX || n == 21,
        "expected 21 full-resolution rows, checked {n}"
    );
}

#[test]
fn published_cli512_hashes_through_our_decoder() {
    // The 16 hashes of the C++ reference compiled to WASM (CImg, 512x512 squash).
    // Its JPEG decoder is not Pillow's: sharpen-a-lot.jpg is 2 bits away (measured
    // with libjpeg-turbo and with zune-jpeg alike), so a few bits are allowed.
    let n = published_through_our_decoder(
        "published_cli512_hashes_through_our_decoder",
        |p| p == "wasm-cpp-cimg-512nn",
        phscan::config::PdqMode::Cli512,
        6,
    );
    assert!(
        n == usize::MAX || n == 16,
        "expected 16 WASM rows, checked {n}"
    );
}
