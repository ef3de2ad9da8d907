//! Golden PDQ tests that need no shared folder: the committed synthetic fixtures,
//! hashed once by the reference peer (`../shared/reference/pdq_ref.py`: the pdqhash
//! binding of Meta's C++ core, Pillow decoder), with the results committed under
//! `tests/golden/`. Our pipeline (our decoder, our kernel) must reproduce them
//! exactly, JPEG included: both sides decode JPEG with libjpeg-turbo (Pillow's
//! bundled copy, our statically built one) with the same defaults (accurate integer
//! IDCT, smooth chroma upsampling), so they see the same pixels. (With zune-jpeg,
//! before phscan used libjpeg-turbo, JPEGs were allowed 6 bits.)

use std::path::Path;

use phscan::config::{Algorithm, AlgorithmSet, Limits, PdqMode};
use phscan::decode::decode;
use phscan::hashing::pdq::PdqHash;
use phscan::hashing::{Computed, FileHasher};
use phscan::sniff::{sniff, MediaFormat};

fn golden(file: &str, mode: PdqMode) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let table = std::fs::read_to_string(root.join("tests/golden").join(file)).unwrap();
    let algos: AlgorithmSet = [Algorithm::Pdq].into_iter().collect();
    let mut hasher = FileHasher::new();
    let mut rows = 0;
    let mut failures = Vec::new();
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let mut cols = line.split('\t');
        let (path, hex, quality) = (
            cols.next().unwrap(),
            cols.next().unwrap(),
            cols.next().unwrap().parse::<u8>().unwrap(),
        );
        let want = PdqHash::from_hex(hex).unwrap();
        let bytes = std::fs::read(root.join(path)).unwrap();
        let format = sniff(&bytes[..bytes.len().min(32)]).expect("an image");
        let image = decode(&bytes, format, &Limits::default()).unwrap();
        for dihedral in [false, true] {
            let mut out = Computed::default();
            hasher.perceptual(&image, &algos, mode, dihedral, &mut out);
            let got = out.pdq.unwrap();
            let d = got.hash.distance(&want);
            if !dihedral {
                eprintln!(
                    "{path:50} {:?} distance {d:2} quality {} (ref {quality})",
                    mode, got.quality
                );
            }
            if d != 0 || got.quality != quality {
                let why = if format == MediaFormat::Jpeg {
                    " (a JPEG: are both sides decoding with libjpeg-turbo's defaults?)"
                } else {
                    ""
                };
                failures.push(format!(
                    "{path} (dihedral={dihedral}): distance {d}, quality {} vs {quality}, \
                     must be bit-exact{why}",
                    got.quality
                ));
            }
        }
        rows += 1;
    }
    assert!(rows >= 20, "golden table {file} has only {rows} rows");
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn full_resolution_matches_the_reference_peer() {
    golden("pdq_ref_full.tsv", PdqMode::Full);
}

#[test]
fn cli512_matches_the_reference_peer_with_its_squash() {
    golden("pdq_ref_cli512.tsv", PdqMode::Cli512);
}

#[path = "../examples/webp_golden.rs"]
mod webp_golden;

/// Lossy WebP, RGB and with an alpha plane: our fixtures' one WebP is lossless, so
/// these are made in memory by libwebp's encoder (`examples/webp_golden.rs`, which
/// also says how the reference hashed them: the bytes piped to `pdq_ref.py`'s
/// `load_rgb`, i.e. Pillow with its libwebp, and `pdqhash.compute`). Both sides
/// decode with libwebp 1.6.0 and its defaults, so the hash must be bit-exact.
#[test]
fn lossy_webp_matches_the_reference_peer() {
    use sha2::{Digest, Sha256};
    // (alpha, SHA-256 of the encoded file, reference PDQ, reference quality)
    let cases = [
        (
            false,
            "03fc4af37d33deb9a2de3c23b8442fa5e75656410ed640e27e6f962b45200496",
            "3666666c4a4dccd98d943939331336b366666e69d8c99c89b1b63f39e073c056",
            100,
        ),
        (
            true,
            "c5a91783407d66923cd8e73c48124ee1809e44f294890eca46cfd7b3172616d3",
            "3666666cca4dccd98d9c1939331336b166666e69d8c99c89b1b63f39e073c056",
            100,
        ),
    ];
    let algos: AlgorithmSet = [Algorithm::Pdq].into_iter().collect();
    let mut hasher = FileHasher::new();
    for (alpha, sha, hex, quality) in cases {
        let bytes = webp_golden::lossy_webp(alpha);
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            digest, sha,
            "alpha={alpha}: libwebp's encoder made other bytes than the reference hashed; \
             regenerate the golden values as examples/webp_golden.rs says"
        );
        assert_eq!(sniff(&bytes[..32]), Some(MediaFormat::Webp));
        let image = decode(&bytes, MediaFormat::Webp, &Limits::default()).unwrap();
        let mut out = Computed::default();
        hasher.perceptual(&image, &algos, PdqMode::Full, false, &mut out);
        let got = out.pdq.unwrap();
        let want = PdqHash::from_hex(hex).unwrap();
        assert_eq!(
            (got.hash.distance(&want), got.quality),
            (0, quality),
            "alpha={alpha}: must be bit-exact"
        );
    }
}
