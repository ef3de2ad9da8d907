use super::*;

#[test]
fn recognises_containers_by_content() {
    assert_eq!(sniff(b"PK\x03\x04\x14\0"), Some(Kind::Zip));
    assert_eq!(sniff(b"PK\x05\x06\0\0"), Some(Kind::Zip));
    assert_eq!(
        sniff(&[0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C, 0, 4]),
        Some(Kind::SevenZ)
    );
    assert_eq!(sniff(&[0x1F, 0x8B, 0x08, 0]), Some(Kind::Gzip));
    assert_eq!(sniff(b"BZh91AY&SY\0\0"), Some(Kind::Bzip2));
    assert_eq!(sniff(&[0xFD, b'7', b'z', b'X', b'Z', 0, 0]), Some(Kind::Xz));
    assert_eq!(sniff(&[0x28, 0xB5, 0x2F, 0xFD, 0]), Some(Kind::Zstd));
    assert_eq!(sniff(b"PK is not enough"), None);
    assert_eq!(sniff(b"BZh9 but no block magic"), None);
    assert_eq!(
        sniff(&[0u8; 512]),
        None,
        "a block of zeros is not a TAR header"
    );
}

/// A TAR header block with `name`, the given magic, and a correct checksum.
fn tar_header(name: &[u8], magic: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name);
    h[100..108].copy_from_slice(b"0000644\0");
    h[124..136].copy_from_slice(b"00000000000\0");
    h[156] = b'0';
    h[257..257 + magic.len()].copy_from_slice(magic);
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| *b as u32).sum();
    let field = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(field.as_bytes());
    h
}

#[test]
fn recognises_tar_headers_by_checksum() {
    assert_eq!(
        sniff(&tar_header(b"a.jpg", b"ustar\x0000")),
        Some(Kind::Tar)
    );
    assert_eq!(sniff(&tar_header(b"a.jpg", b"ustar  \0")), Some(Kind::Tar));
    assert_eq!(sniff(&tar_header(b"v7.jpg", b"")), Some(Kind::Tar));
    let mut bad = tar_header(b"a.jpg", b"ustar\x0000");
    bad[0] = b'b';
    assert_eq!(sniff(&bad), None, "a wrong checksum is not a TAR header");
    assert_eq!(sniff(&tar_header(b"a.jpg", b"ustar\x0000")[..300]), None);
}

#[test]
fn budget_stops_past_its_limits() {
    let b = Budget::new(ArchiveLimits {
        max_members: 2,
        max_bytes: 100,
        max_ratio: 10,
        max_alloc: 1 << 20,
    });
    assert!(b.take_member() && b.take_member());
    assert!(!b.take_member());
    assert!(b.exhausted().unwrap().contains("--max-archive-members"));
    let b = Budget::new(ArchiveLimits {
        max_members: 10,
        max_bytes: 100,
        max_ratio: 10,
        max_alloc: 1 << 20,
    });
    let data = [7u8; 150];
    let mut m = Metered::new(&data[..], &b, None);
    let mut out = Vec::new();
    let e = m.read_to_end(&mut out).unwrap_err();
    assert!(limit_hit(&e).unwrap().contains("--max-archive-bytes"));
    assert!(b.exhausted().is_some());
}

#[test]
fn ratio_guard_stops_a_bomb_but_not_a_small_stream() {
    let b = Budget::new(ArchiveLimits {
        max_members: 10,
        max_bytes: u64::MAX,
        max_ratio: 100,
        max_alloc: 1 << 20,
    });
    // 2 MiB out of a "compressed" 1 KiB: past the floor, ratio 2048.
    let data = vec![0u8; 2 << 20];
    let mut m = Metered::new(&data[..], &b, Some(Compressed::Fixed(1024)));
    let e = std::io::copy(&mut m, &mut std::io::sink()).unwrap_err();
    assert!(limit_hit(&e).unwrap().contains("--max-archive-ratio"));
    assert!(
        b.exhausted().is_none(),
        "a ratio breach ends only its stream"
    );
    // Under the floor, any ratio passes.
    let small = vec![0u8; 64 << 10];
    let mut m = Metered::new(&small[..], &b, Some(Compressed::Fixed(10)));
    assert_eq!(
        std::io::copy(&mut m, &mut std::io::sink()).unwrap(),
        64 << 10
    );
}
