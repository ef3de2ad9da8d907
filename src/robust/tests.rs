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
fn rotation_by_zero_is_the_identity_and_fills_corners_black() {
    let (w, h) = (120, 80);
    let p = picture(w, h);
    let mut out = Vec::new();
    rotate(&p, w, h, 0.0, &mut out);
    assert!(p.iter().zip(&out).all(|(a, b)| (a - b).abs() < 1e-3));
    rotate(&p, w, h, 5.0, &mut out);
    assert_eq!(out[0], 0.0, "corner comes from outside the image");
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
