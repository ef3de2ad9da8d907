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
