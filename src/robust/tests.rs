use super::*;

fn picture(w: usize, h: usize) -> Vec<f32> {
    (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32, (i / w) as f32);
            127.0 + 60.0 * (x / 17.0).sin() * (y / 23.0).cos() + 40.0 * (x / 71.0 - y / 53.0).sin()
        })
        .collect()
}

#[test]
fn variant_names_are_unique_and_round_trip() {
    let names: Vec<&str> = Variant::all().map(Variant::name).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "duplicate variant name");
    for v in Variant::all() {
        assert_eq!(Variant::from_name(v.name()), Some(v));
    }
    assert_eq!(Variant::from_name("crop91-x"), None);
    assert!(CROPS.iter().all(|v| v.kind() == Kind::Crop));
    assert!(ROTATIONS.iter().all(|v| v.kind() == Kind::Rotate));
    assert!(REGIONS.iter().all(|v| v.kind() == Kind::Region));
}

#[test]
fn rotation_by_zero_is_the_identity_and_fills_corners_dark_grey() {
    let (w, h) = (120, 80);
    let p = picture(w, h);
    let mut out = Vec::new();
    rotate(&p, w, h, 0.0, &mut out);
    assert!(p.iter().zip(&out).all(|(a, b)| (a - b).abs() < 1e-3));
    rotate(&p, w, h, 5.0, &mut out);
    assert_eq!(out[0], ROTATE_FILL, "corner comes from outside the image");
    assert!(out[(h / 2) * w + w / 2] > 0.0);
}

#[test]
fn crops_and_regions_take_their_window() {
    let (w, h) = (200, 160);
    let p: Vec<f32> = (0..w * h).map(|i| i as f32).collect();
    let mut out = Vec::new();
    let top = Variant::from_name("top").unwrap();
    assert_eq!(apply(top, &p, w, h, &mut out), Some((200, 80)));
    assert_eq!(out[..200], p[..200]);
    let br = Variant::from_name("crop90-br").unwrap();
    assert_eq!(apply(br, &p, w, h, &mut out), Some((180, 144)));
    assert_eq!(out[0], p[16 * w + 20]);
    // The outer thirds: strips of a third of the side, across the whole picture.
    let (w3, h3) = (300, 240);
    let p3: Vec<f32> = (0..w3 * h3).map(|i| i as f32).collect();
    let bottom_third = Variant::from_name("bottom-third").unwrap();
    assert_eq!(apply(bottom_third, &p3, w3, h3, &mut out), Some((300, 80)));
    assert_eq!(out[0], p3[160 * w3]);
    let right_third = Variant::from_name("right-third").unwrap();
    assert_eq!(apply(right_third, &p3, w3, h3, &mut out), Some((100, 240)));
    assert_eq!(out[..2], [p3[200], p3[201]]);
    assert_eq!(out[100], p3[w3 + 200]);
    // A third of 200 x 160 is under MIN_REGION_SIDE high: not hashed.
    assert_eq!(apply(bottom_third, &p, w, h, &mut out), None);
    // Regions under MIN_REGION_SIDE are not hashed at all; crops still are.
    assert_eq!(apply(top, &p[..200 * 100], 200, 100, &mut out), None);
    assert!(apply(br, &p[..200 * 100], 200, 100, &mut out).is_some());
}

#[test]
fn flat_images_give_no_entries() {
    let flat = vec![100.0; 300 * 200];
    let mut hasher = PdqHasher::new();
    let all: Vec<Variant> = Variant::all().collect();
    assert!(list_entries(&mut hasher, &all, &flat, 300, 200).is_empty());
    let p = picture(300, 200);
    let entries = list_entries(&mut hasher, &all, &p, 300, 200);
    assert!(!entries.is_empty());
    assert!(entries
        .iter()
        .all(|(_, o)| o.quality >= MIN_VARIANT_QUALITY));
}

#[test]
fn one_region_alone_is_not_a_match() {
    let [a, b, ..] = REGIONS;
    assert!(!regions_agree([(a, 0)], 31));
    assert!(
        !regions_agree([(a, 3), (a, 5)], 31),
        "one region counted twice"
    );
    assert!(!regions_agree([(a, 3), (b, 32)], 31));
    assert!(regions_agree([(a, 3), (b, 31)], 31));
}

#[test]
fn a_region_and_one_inside_it_are_not_enough() {
    let v = |name: &str| Variant::from_name(name).expect(name);
    let (top, third, q_tl, bottom) = (v("top"), v("top-third"), v("q-tl"), v("bottom"));
    assert!(
        !regions_agree([(top, 0), (third, 0)], 31),
        "third inside its half"
    );
    assert!(
        !regions_agree([(top, 0), (q_tl, 0)], 31),
        "quadrant inside its half"
    );
    assert!(regions_agree([(top, 0), (bottom, 9)], 31));
    // Nested pairs are counted out, not the region: a third apart still counts.
    assert!(regions_agree(
        [(top, 0), (third, 0), (v("bottom-third"), 5)],
        31
    ));
    assert!(
        regions_agree([(third, 2), (q_tl, 3)], 31),
        "neither inside the other"
    );
}

#[test]
fn box_reduce_averages_centred_blocks() {
    // 7 x 5 reduced by 2: 3 x 2 blocks, the spare column and row dropped at the far
    // end (half of one is none).
    let (w, h) = (7, 5);
    let p: Vec<f32> = (0..w * h).map(|i| i as f32).collect();
    let mut out = Vec::new();
    assert_eq!(box_reduce(&p, w, h, 2, &mut out), (3, 2));
    let mean = |x: usize, y: usize| {
        (p[y * w + x] + p[y * w + x + 1] + p[(y + 1) * w + x] + p[(y + 1) * w + x + 1]) / 4.0
    };
    assert_eq!(
        out,
        vec![
            mean(0, 0),
            mean(2, 0),
            mean(4, 0),
            mean(0, 2),
            mean(2, 2),
            mean(4, 2)
        ]
    );
    // 9 x 9 by 3: the blocks tile it exactly.
    let q = vec![5.0; 81];
    assert_eq!(box_reduce(&q, 9, 9, 3, &mut out), (3, 3));
    assert!(out.iter().all(|&v| (v - 5.0).abs() < 1e-6));
    // An offset of one when 2 columns are left over.
    let r: Vec<f32> = (0..8).map(|i| i as f32).collect();
    assert_eq!(box_reduce(&r, 8, 1, 3, &mut out), (2, 0));
    let r2: Vec<f32> = (0..24).map(|i| (i % 8) as f32).collect();
    assert_eq!(box_reduce(&r2, 8, 3, 3, &mut out), (2, 1));
    assert_eq!(out, vec![2.0, 5.0]);
}

#[test]
fn regions_are_hashed_from_the_reduced_luma_on_both_sides() {
    let m = REGION_LUMA_MIN_SIDE;
    let mut out = Vec::new();
    // Under twice the least side: used as it is.
    let (w, h) = (3 * m, 2 * m - 1);
    assert_eq!(region_luma(&picture(w, h), w, h, &mut out), (w, h));
    assert!(out.is_empty());
    // A short side of 3.2 times it: reduced by 3.
    let (w, h) = (5 * m, 16 * m / 5);
    let p = picture(w, h);
    assert_eq!(region_luma(&p, w, h, &mut out), (w / 3, h / 3));
    let mut hasher = PdqHasher::new();
    let listed = list_entries(&mut hasher, &REGIONS, &p, w, h);
    let queried = query_parts(
        &mut hasher,
        &p,
        w,
        h,
        (w, h),
        QueryParts {
            regions: true,
            ..Default::default()
        },
    )
    .0;
    assert_eq!(queried.len(), REGIONS.len());
    assert_eq!(listed, queried);
    let top = Variant::from_name("top").unwrap();
    let mut scratch = Vec::new();
    let direct = hash_variant(&mut hasher, top, &out, w / 3, h / 3, &mut scratch).unwrap();
    assert_eq!(queried.iter().find(|(v, _)| *v == top).unwrap().1, direct);
    // Crops are hashed from the luma as it is.
    let crop = Variant::from_name("crop90-c").unwrap();
    let entries = list_entries(&mut hasher, &[crop, top], &p, w, h);
    let at_full = hash_variant(&mut hasher, crop, &p, w, h, &mut scratch).unwrap();
    assert_eq!(entries[0], (crop, at_full));
    assert_eq!(entries[1], (top, direct));
}

#[test]
fn inner_is_the_listed_image_inside_its_borders() {
    let (w, h) = (300, 200);
    let p = picture(w, h);
    let mut hasher = PdqHasher::new();
    // No border: no `inner` entry.
    let plain = list_entries(&mut hasher, &[INNER], &p, w, h);
    assert!(
        plain.is_empty(),
        "{:?}",
        plain.iter().map(|e| e.0).collect::<Vec<_>>()
    );
    // A flat black band of 20 rows on top: the entry is the hash of what is below it,
    // the content the query-side trim hashes for a bordered copy.
    let (bw, bh) = (w, h + 20);
    let mut framed = vec![0.0; bw * bh];
    framed[20 * bw..].copy_from_slice(&p);
    let b = crate::hashing::trim::detect(&framed, bw, bh).expect("a border on top");
    assert_eq!((b.x, b.w, b.h), (0, bw, bh - b.y));
    assert!((20..=22).contains(&b.y), "cut at {}", b.y);
    let mut inside = Vec::new();
    crate::hashing::trim::crop(&framed, bw, b, &mut inside);
    let want = hasher.hash_luma(&inside, b.w, b.h);
    let got = list_entries(&mut hasher, &[INNER], &framed, bw, bh);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].0, got[0].1.hash), (INNER, want.hash));
    assert_eq!(INNER.name(), "inner");
    assert_eq!(INNER.kind(), Kind::Crop);
    assert!(DEFAULT_SET.contains(&INNER));
}

#[test]
fn summed_area_table_sums_and_window_cells_average() {
    let (w, h) = (131, 97);
    let p = picture(w, h);
    let sat = windows::Sat::new(&p, w, h);
    assert_eq!((sat.width(), sat.height()), (w, h));
    // Every cell of the whole window against a direct sum (odd sizes: rows summed four
    // at a time with a remainder, cells of 1 and 2 pixels).
    let mut g = [0.0f32; 64 * 64];
    assert!(windows::grid(&sat, [0.0, 0.0, 1.0, 1.0], 64, &mut g));
    let edge = |i: usize, len: usize| ((i * len) as f64 / 64.0).round() as usize;
    for (k, v) in g.iter().enumerate() {
        let (cx, cy) = (k % 64, k / 64);
        let (x0, x1, y0, y1) = (edge(cx, w), edge(cx + 1, w), edge(cy, h), edge(cy + 1, h));
        let mut sum = 0.0f64;
        for y in y0..y1 {
            for x in x0..x1 {
                sum += p[y * w + x] as f64;
            }
        }
        let want = (sum / ((x1 - x0) * (y1 - y0)) as f64) as f32;
        assert!((v - want).abs() < 1e-3, "cell {k}: {v} vs {want}");
    }
    // A 128x128 image: each of the 64x64 cells of the whole window is a 2x2 block.
    let (w, h) = (128, 128);
    let p = picture(w, h);
    let sat = windows::Sat::new(&p, w, h);
    let mut g = [0.0f32; 64 * 64];
    assert!(windows::grid(&sat, [0.0, 0.0, 1.0, 1.0], 64, &mut g));
    for (k, v) in g.iter().enumerate() {
        let (x, y) = (2 * (k % 64), 2 * (k / 64));
        let want =
            (p[y * w + x] + p[y * w + x + 1] + p[(y + 1) * w + x] + p[(y + 1) * w + x + 1]) / 4.0;
        assert!((v - want).abs() < 1e-3, "cell {k}: {v} vs {want}");
    }
    // Under the least side: not hashed.
    assert!(!windows::grid(&sat, [0.0, 0.0, 0.5, 1.0], 128, &mut g));
}

#[test]
fn query_windows_cover_the_offsets_and_stay_inside() {
    let fixed: Vec<[f32; 4]> = windows::fixed_windows().collect();
    assert_eq!(fixed.len(), 9);
    // Each fixed window is a listed window, at the same place.
    for f in &fixed {
        assert!(
            WINDOWS
                .iter()
                .any(|v| v.window().iter().zip(f).all(|(a, b)| (a - b).abs() < 1e-6)),
            "{f:?}"
        );
    }
    let wins: Vec<[f32; 4]> = windows::shifted_windows().collect();
    assert_eq!(wins.len(), windows::QUERY_STEPS * windows::QUERY_STEPS);
    assert!(wins
        .iter()
        .all(|w| w[0] >= 0.0 && w[1] >= 0.0 && w[2] <= 1.0001 && w[3] <= 1.0001));
    assert!(wins
        .iter()
        .all(|w| (w[2] - w[0] - windows::QUERY_SIDE).abs() < 1e-6));
    assert!(wins.iter().any(|w| w[0] == 0.0 && w[1] == 0.0));
    assert!(wins
        .iter()
        .any(|w| (w[2] - 1.0).abs() < 1e-6 && (w[3] - 1.0).abs() < 1e-6));
    // The listed windows lie inside the image.
    for v in WINDOWS {
        let [x0, y0, x1, y1] = v.window();
        assert!(x0 >= 0.0 && y0 >= 0.0 && x1 <= 1.0 && y1 <= 1.0, "{v:?}");
        assert_eq!(v.kind(), Kind::Window);
    }
}

/// A photograph-like luma: smooth shapes at several scales, seeded.
fn scene(w: usize, h: usize, seed: u64) -> Vec<f32> {
    let mut r = crate::testrng::Rng(seed);
    let blobs: Vec<[f32; 4]> = (0..40)
        .map(|_| {
            [
                r.unit(),
                r.unit(),
                0.02 + 0.2 * r.unit(),
                200.0 * r.unit() - 100.0,
            ]
        })
        .collect();
    (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32 / w as f32, (i / w) as f32 / h as f32);
            let v: f32 = blobs
                .iter()
                .map(|b| {
                    let d = ((x - b[0]).powi(2) + (y - b[1]).powi(2)) / (b[2] * b[2]);
                    b[3] * (-d).exp()
                })
                .sum();
            (128.0f32 + v).clamp(0.0, 255.0)
        })
        .collect()
}

/// The scanned file's windows of the crop [x0, y0, x1, y1] (shares of the sides) of
/// the `w` x `h` luma `p`.
fn crop_windows(
    hasher: &mut PdqHasher,
    p: &[f32],
    (w, h): (usize, usize),
    [x0, y0, x1, y1]: [f32; 4],
) -> Vec<WindowPdq> {
    let b = crate::hashing::trim::TrimBox {
        x: (x0 * w as f32) as usize,
        y: (y0 * h as f32) as usize,
        w: ((x1 - x0) * w as f32) as usize,
        h: ((y1 - y0) * h as f32) as usize,
    };
    let mut c = Vec::new();
    crate::hashing::trim::crop(p, w, b, &mut c);
    let want = QueryParts {
        windows: true,
        ..Default::default()
    };
    query_parts(hasher, &c, b.w, b.h, (b.w, b.h), want).1
}

#[test]
fn a_crop_anywhere_meets_a_listed_window_and_another_picture_does_not() {
    let (w, h) = (600, 450);
    let p = scene(w, h, 7);
    let mut hasher = PdqHasher::new();
    let listed = list_entries(&mut hasher, &WINDOWS, &p, w, h);
    assert!(listed.len() >= 60, "{} windows of quality", listed.len());
    // Crops keeping 86-94 % of each side, away from the middle.
    for (x0, x1, y0, y1) in [
        (0.04, 0.91, 0.10, 0.98),
        (0.13, 0.99, 0.0, 0.9),
        (0.02, 0.96, 0.07, 0.93),
    ] {
        let wins = crop_windows(&mut hasher, &p, (w, h), [x0, y0, x1, y1]);
        assert_eq!(wins.iter().filter(|w| !w.fixed).count(), 25);
        assert_eq!(wins.iter().filter(|w| w.fixed).count(), 9);
        let best = wins
            .iter()
            .flat_map(|q| listed.iter().map(move |(_, l)| q.hash.distance(&l.hash)))
            .min()
            .unwrap();
        assert!(
            best <= 24,
            "crop {x0}..{x1} x {y0}..{y1}: nearest window at {best}"
        );
        // The whole crop is far from the listed windows' hashes of another picture.
        let other = scene(w, h, 8);
        let others = list_entries(&mut hasher, &WINDOWS, &other, w, h);
        let far = wins
            .iter()
            .flat_map(|q| others.iter().map(move |(_, l)| q.hash.distance(&l.hash)))
            .min()
            .unwrap();
        assert!(far > 48, "another picture's window at {far}");
    }
}

#[test]
fn corners_agree_only_two_at_once() {
    let c = |n: &str| Variant::from_name(n).unwrap();
    assert!(CORNERS.iter().all(|v| v.kind() == Kind::Corner));
    assert!(!corners_agree([(c("corner-tl"), 10)], 31));
    assert!(!corners_agree(
        [(c("corner-tl"), 10), (c("corner-tl"), 12)],
        31
    ));
    assert!(!corners_agree(
        [(c("corner-tl"), 10), (c("corner-br"), 32)],
        31
    ));
    assert!(corners_agree(
        [(c("corner-tl"), 10), (c("corner-br"), 31)],
        31
    ));
    // Regions do not count as corners.
    assert!(!corners_agree([(c("corner-tl"), 10), (c("top"), 3)], 31));
}

#[test]
fn a_crop_keeping_95_percent_anywhere_meets_a_90_percent_window() {
    let (w, h) = (600, 450);
    let p = scene(w, h, 11);
    let mut hasher = PdqHasher::new();
    let narrow = list_entries(&mut hasher, &WINDOWS, &p, w, h);
    let wide = list_entries(&mut hasher, &WINDOWS90, &p, w, h);
    assert_eq!(wide.len(), 9, "90 % windows of quality");
    for (x0, y0) in [(0.0, 0.05), (0.05, 0.0), (0.013, 0.037), (0.041, 0.022)] {
        let wins = crop_windows(&mut hasher, &p, (w, h), [x0, y0, x0 + 0.95, y0 + 0.95]);
        let nearest = |listed: &[(Variant, crate::hashing::pdq::PdqOutput)]| {
            wins.iter()
                .filter(|q| !q.fixed)
                .flat_map(|q| listed.iter().map(move |(_, l)| q.hash.distance(&l.hash)))
                .min()
                .unwrap()
        };
        let (n, wd) = (nearest(&narrow), nearest(&wide));
        // Measured: 8-16 bits to a 90 % window, 28-34 to the others.
        assert!(
            wd <= 20 && wd + 8 <= n,
            "crop at {x0},{y0}: 90 % windows {wd}, the others {n}"
        );
    }
}

#[test]
fn a_rotation_entry_sits_between_black_and_white_corners() {
    // Measured on these scenes: black corners 10 bits from the entry, white 32-50,
    // where an entry with black corners would be 42-60 from the white ones.
    let (w, h) = (600, 450);
    let mut hasher = PdqHasher::new();
    let rot = Variant::from_name("rot+3").unwrap();
    let mut out = Vec::new();
    for seed in [3, 5, 9] {
        let p = scene(w, h, seed);
        let listed = list_entries(&mut hasher, &[rot], &p, w, h);
        assert_eq!(listed.len(), 1, "rot+3 of quality");
        let entry = listed[0].1.hash;
        let mut turned = |fill: f32| {
            rotate_filled(&p, w, h, 3.0, fill, &mut out);
            hasher.hash_luma(&out, w, h).hash
        };
        let (black, white, grey) = (turned(0.0), turned(255.0), turned(ROTATE_FILL));
        assert_eq!(grey.distance(&entry), 0, "seed {seed}");
        let (to_black, to_white) = (black.distance(&entry), white.distance(&entry));
        assert!(to_black <= 16, "seed {seed}: black corners {to_black}");
        assert!(
            to_white + 8 <= white.distance(&black),
            "seed {seed}: white corners {to_white} from the entry, {} from black ones",
            white.distance(&black)
        );
    }
}
