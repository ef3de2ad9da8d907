//! Region hashes of images against edited copies of them (for example half-size
//! copies), as a scan sees them, for several least short sides of the luma regions
//! are hashed from (0: full size; see `robust::REGION_LUMA_MIN_SIDE`).
//!
//! `cargo run --release --example region_fidelity < PAIRS`, PAIRS one `original<TAB>copy`
//! path pair a line. Prints, per least side, the distances between each region of
//! the original and the same region of its copy, how many images keep at least 2
//! regions within 31 (a region match), and the distance of the reduced regions to the
//! full-size ones.
use phscan::hashing::pdq::{luma_from_rgb8_f64, PdqHasher};
use phscan::robust::{self, REGIONS};

fn luma(p: &str) -> (Vec<f32>, usize, usize) {
    let img = image::open(p).unwrap().to_rgb8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut l = Vec::new();
    luma_from_rgb8_f64(img.as_raw(), w, h, &mut l);
    (l, w, h)
}

fn regions(
    hs: &mut PdqHasher,
    l: &[f32],
    w: usize,
    h: usize,
    min: usize,
) -> Vec<Option<phscan::hashing::pdq::PdqOutput>> {
    let k = w.min(h).checked_div(min).unwrap_or(1);
    let mut red = Vec::new();
    let (l2, w2, h2) = if k >= 2 {
        let (a, b) = robust::box_reduce(l, w, h, k, &mut red);
        (&red[..], a, b)
    } else {
        (l, w, h)
    };
    let mut s = Vec::new();
    REGIONS
        .iter()
        .map(|&v| robust::hash_variant(hs, v, l2, w2, h2, &mut s))
        .collect()
}

fn main() {
    let pairs: Vec<(String, String)> = std::io::stdin()
        .lines()
        .map(|l| {
            let l = l.unwrap();
            let (a, b) = l.split_once('\t').unwrap();
            (a.to_string(), b.to_string())
        })
        .collect();
    let mut hs = PdqHasher::new();
    let mins = [0usize, 256, 384, 512];
    let mut ds: Vec<Vec<u32>> = vec![Vec::new(); mins.len()];
    let mut agree: Vec<u32> = vec![0; mins.len()];
    let mut vsfull: Vec<Vec<u32>> = vec![Vec::new(); mins.len()];
    for (a, b) in &pairs {
        let (la, wa, ha) = luma(a);
        let (lb, wb, hb) = luma(b);
        let full = regions(&mut hs, &la, wa, ha, 0);
        for (i, &m) in mins.iter().enumerate() {
            let ra = regions(&mut hs, &la, wa, ha, m);
            let rb = regions(&mut hs, &lb, wb, hb, m);
            let mut ok = 0;
            for ((x, y), f) in ra.iter().zip(&rb).zip(&full) {
                if let (Some(x), Some(y)) = (x, y) {
                    let d = x.hash.distance(&y.hash);
                    ds[i].push(d);
                    ok += (d <= 31) as u32;
                }
                if let (Some(x), Some(f)) = (x, f) {
                    vsfull[i].push(x.hash.distance(&f.hash));
                }
            }
            agree[i] += (ok >= 2) as u32;
        }
    }
    for (i, m) in mins.iter().enumerate() {
        let d = &mut ds[i];
        d.sort();
        let f = &mut vsfull[i];
        f.sort();
        let n = d.len();
        println!(
            "min side {m}: {n} region pairs, half vs original median {} p90 {} max {} over 31: {}; images with >= 2 regions agreeing {}/{}; vs full-size median {} p90 {}",
            d[n / 2], d[n * 9 / 10], d[n - 1], d.iter().filter(|&&x| x > 31).count(), agree[i], pairs.len(), f[f.len() / 2], f[f.len() * 9 / 10]
        );
    }
}
