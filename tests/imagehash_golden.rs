//! aHash, dHash, pHash and wHash against Python ImageHash 4.3.2, and blockhash
//! against blockhash.io's reference: the values in `tests/golden/imagehash_pillow13.tsv`
//! (Pillow 13) and `imagehash_pillow12.tsv` (Pillow 12), made by
//! `tests/golden/imagehash_golden.sh` from the generated images of
//! `examples/imagehash_images.rs` (drawn here again, in memory) and the fixtures
//! (decoded here by phscan's decoders: the image fixtures, the HEIC, AVIF and JPEG XL
//! ones of `tests/fixtures-media`, the animated GIF's first frame, and the CMYK JPEGs
//! of `tests/fixtures-imagehash`). Every value must be equal, bit for bit.

use std::collections::BTreeMap;
use std::path::Path;

use image::DynamicImage;
use phscan::config::{Algorithm, AlgorithmSet, ImageHashCompat, Limits, PdqMode};
use phscan::decode::decode;
use phscan::hashing::{Computed, FileHasher};
use phscan::sniff::sniff;

#[path = "../examples/imagehash_images.rs"]
mod imagehash_images;

const ALGOS: [Algorithm; 5] = [
    Algorithm::Ahash,
    Algorithm::Dhash,
    Algorithm::Phash,
    Algorithm::Whash,
    Algorithm::Blockhash,
];

fn load(root: &Path, name: &str, generated: &BTreeMap<String, DynamicImage>) -> DynamicImage {
    if let Some(gen) = name.strip_prefix("gen/") {
        return generated
            .get(gen)
            .unwrap_or_else(|| panic!("{name}: not an image examples/imagehash_images.rs draws"))
            .clone();
    }
    let bytes = std::fs::read(root.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let format = sniff(&bytes[..bytes.len().min(64)]).expect("an image");
    decode(&bytes, format, &Limits::default()).unwrap()
}

fn golden(file: &str, compat: ImageHashCompat) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let table = std::fs::read_to_string(root.join("tests/golden").join(file)).unwrap_or_else(|e| {
        panic!("tests/golden/{file} (made by tests/golden/imagehash_golden.sh): {e}")
    });
    let generated: BTreeMap<String, DynamicImage> =
        imagehash_images::images().into_iter().collect();
    let algos: AlgorithmSet = ALGOS.into_iter().collect();
    let mut hasher = FileHasher::new();
    hasher.set_imagehash_compat(compat);
    let (mut rows, mut blockhashes) = (0, 0);
    let mut seen_generated = 0;
    let mut failures = Vec::new();
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 6, "{file}: {line}");
        let image = load(root, cols[0], &generated);
        seen_generated += cols[0].starts_with("gen/") as usize;
        let mut out = Computed::default();
        hasher.perceptual(&image, &algos, PdqMode::Full, false, &mut out);
        for (alg, want) in ALGOS.iter().zip(&cols[1..]) {
            if *want == "-" {
                // blockhash-python reads RGB(A), L and P images only, not CMYK.
                assert_eq!(*alg, Algorithm::Blockhash, "{file}: {line}");
                assert!(cols[0].contains("cmyk"), "{file}: no blockhash for {line}");
                continue;
            }
            blockhashes += (*alg == Algorithm::Blockhash) as usize;
            let got = format!("{:016x}", out.u64_hash(*alg).unwrap());
            if got != *want {
                failures.push(format!(
                    "{} {}x{} {alg}: {got}, reference {want}",
                    cols[0],
                    image.width(),
                    image.height()
                ));
            }
        }
        rows += 1;
    }
    assert_eq!(
        seen_generated,
        generated.len(),
        "{file}: not every generated image is in the table"
    );
    assert!(rows >= generated.len() + 20, "{file}: only {rows} rows");
    assert!(
        blockhashes >= rows - 3,
        "{file}: blockhash reference values for only {blockhashes} of {rows} rows"
    );
    assert!(
        failures.is_empty(),
        "{} of {rows} images differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn imagehash_on_pillow13_bit_for_bit() {
    golden("imagehash_pillow13.tsv", ImageHashCompat::Pillow13);
}

#[test]
fn imagehash_on_pillow12_bit_for_bit() {
    golden("imagehash_pillow12.tsv", ImageHashCompat::Pillow12);
}
