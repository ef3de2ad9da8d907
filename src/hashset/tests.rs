use std::io::Write;

use super::*;

const H: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
const MD5: &str = "900150983cd24fb0d6963f7d28e17f72";
const SHA1: &str = "a9993e364706816aba3e25717850c26c9cd0d89d";

fn write(content: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(content.as_bytes()).unwrap();
    f
}

fn load_str(content: &str) -> Result<HashSet, LoadError> {
    let f = write(content);
    load(f.path(), &LoadOptions::default())
}

fn entry(set: &HashSet, a: Algorithm, i: usize) -> (String, Option<String>, String) {
    let e = &set.entries[&a];
    let r = e.record[i];
    (
        set.id(r).to_string(),
        set.label(r).map(str::to_string),
        e.values.get(i).to_hex(),
    )
}

#[test]
fn te_text_forms() {
    let upper = H.to_uppercase();
    let f = write(&format!(
        "# comment\n{H},bridge.jpg\nhash={H}\npdq {upper}\n\nvideo_md5 {MD5}\r\n{H},a,b\n"
    ));
    let s = load(f.path(), &LoadOptions::default()).unwrap();
    assert_eq!(s.format, Format::TeText);
    assert_eq!(s.count(Algorithm::Pdq), 4);
    assert_eq!(s.count(Algorithm::Md5), 1);
    assert_eq!(
        entry(&s, Algorithm::Pdq, 0),
        ("bridge.jpg".into(), None, H.into())
    );
    assert_eq!(entry(&s, Algorithm::Pdq, 1).0, "line:3");
    assert_eq!(entry(&s, Algorithm::Pdq, 2).2, H, "hex is case-insensitive");
    assert_eq!(
        entry(&s, Algorithm::Pdq, 3).0,
        "a,b",
        "metadata is everything after the first comma"
    );
    assert_eq!(entry(&s, Algorithm::Md5, 0).2, MD5);
    let expect: [u8; 32] = Sha256::digest(std::fs::read(f.path()).unwrap()).into();
    assert_eq!(s.sha256, expect);
}

#[test]
fn bad_lines_are_all_reported_with_line_numbers() {
    let f = write(&format!("{H},ok\nnot-a-hash,x\n{H}zz,y\n"));
    let e = load(f.path(), &LoadOptions::default()).unwrap_err();
    assert_eq!(e.errors.len(), 2, "{e}");
    assert_eq!(e.errors[0].line, 2);
    assert_eq!(e.errors[1].line, 3);
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("{}:2: ", f.path().display())),
        "{msg}"
    );
}

#[test]
fn jsonl_entries() {
    let s = load_str(&format!(
        "{{\"type\":\"begin\",\"schema_version\":3}}\n\
         {{\"type\":\"hash\",\"path\":\"a.png\",\"hashes\":{{\"pdq\":\"{H}\",\"md5\":\"900150983CD24FB0D6963F7D28E17F72\",\"dhash\":\"00ff00ff00ff00ff\"}},\"label\":\"cat-A\",\"pdq_quality\":42}}\n\
         {{\"type\":\"summary\"}}\n"
    ))
    .unwrap();
    assert_eq!(s.format, Format::PhscanJsonl);
    assert_eq!(s.records(), 1);
    for a in [Algorithm::Pdq, Algorithm::Md5, Algorithm::Dhash] {
        assert_eq!(s.count(a), 1);
        let (id, label, _) = entry(&s, a, 0);
        assert_eq!((id.as_str(), label.as_deref()), ("a.png", Some("cat-A")));
    }
    assert_eq!(s.entries[&Algorithm::Pdq].quality[..], [42]);
    let e = load_str("{\"type\":\"hash\",\"hashes\":{\"md5\":\"abc\"}}\n").unwrap_err();
    assert!(
        e.to_string().contains(":1: md5 hash must be 32 hex digits"),
        "{e}"
    );
    let e = load_str("{\"hashes\":{\"crc\":\"abcd\"}}\n").unwrap_err();
    assert!(e.to_string().contains("unknown algorithm"), "{e}");
}

/// A report of schema 1 or 2 holds `image_hasher` values under the 64-bit names:
/// refused, not matched as if they were ImageHash's. Its PDQ and exact hashes load.
#[test]
fn jsonl_before_schema_3_refuses_the_old_64_bit_values() {
    let old = |hashes: &str| {
        load_str(&format!(
            "{{\"type\":\"begin\",\"schema_version\":2}}\n\
             {{\"type\":\"hash\",\"path\":\"a.png\",\"hashes\":{{{hashes}}}}}\n"
        ))
    };
    let e = old("\"ahash\":\"00ff00ff00ff00ff\"").unwrap_err();
    assert!(
        e.to_string()
            .contains(":2: 'ahash' of a phscan report of schema 2"),
        "{e}"
    );
    let s = old(&format!("\"pdq\":\"{H}\",\"md5\":\"{MD5}\"")).unwrap();
    assert_eq!((s.count(Algorithm::Pdq), s.count(Algorithm::Md5)), (1, 1));
    // Without a begin record (a list cut out of a report) nothing is known: loaded.
    let s = load_str("{\"type\":\"hash\",\"hashes\":{\"whash\":\"00ff00ff00ff00ff\"}}\n").unwrap();
    assert_eq!(s.count(Algorithm::Whash), 1);
}

#[test]
fn te_text_vpdq_lines_are_listed_videos() {
    let s = load_str(&format!(
        "pdq {H}\nvpdq [\"{H},100,0.0\", \"{H},99,1e+02\"]\nvideo_md5 {MD5}\n"
    ))
    .unwrap();
    assert_eq!(s.format, Format::TeText);
    assert_eq!((s.count(Algorithm::Pdq), s.count(Algorithm::Md5)), (1, 1));
    assert_eq!(s.count(Algorithm::Vpdq), 1);
    let v = &s.videos[0];
    assert_eq!(s.id(v.record), "line:2");
    assert_eq!(v.frames.len(), 2);
    assert_eq!((v.frames[1].quality, v.frames[1].timestamp), (99, 100.0));
    let e = load_str(&format!("pdq {H}\nvpdq [\"{H},100\"]\n")).unwrap_err();
    assert!(
        e.to_string().contains(":2: vpdq: invalid vPDQ frame"),
        "{e}"
    );
}

#[test]
fn jsonl_vpdq_is_a_listed_video_of_the_record() {
    let sig = format!("[\\\"{H},100,0.0\\\", \\\"{H},87,1.0\\\"]");
    let s = load_str(&format!(
        "{{\"type\":\"hash\",\"path\":\"v.mp4\",\"hashes\":{{\"md5\":\"{MD5}\",\"vpdq\":\"{sig}\"}}}}\n\
         {{\"type\":\"hash\",\"path\":\"w.mp4\",\"hashes\":{{\"vpdq\":\"[]\"}}}}\n"
    ))
    .unwrap();
    assert_eq!(s.count(Algorithm::Md5), 1);
    assert_eq!(s.count(Algorithm::Vpdq), 2);
    assert_eq!(s.records(), 2);
    assert_eq!(s.id(s.videos[0].record), "v.mp4");
    assert_eq!(s.videos[0].frames.len(), 2);
    assert_eq!(s.id(s.videos[1].record), "w.mp4");
    assert!(s.videos[1].frames.is_empty());
    assert!(s.ignored.is_empty());
    let e = load_str("{\"hashes\":{\"vpdq\":\"[\\\"zz,1,0\\\"]\"}}\n").unwrap_err();
    assert!(
        e.to_string().contains("hash 'vpdq': invalid vPDQ frame"),
        "{e}"
    );
}

#[test]
fn te_dataset_csv() {
    let s = load_str(&format!(
        "signal_type,signal_str,collab,category,tags\n\
         pdq,{H},Sample Data,POSITIVE_CLASS,tag1 tag2\n\
         video_md5,{MD5},Sample Data,,\n\
         url,https://example.org/,Sample Data,,\n\
         pdq,\"{H}\",\"Collab, Inc\",\"A \"\"quoted\"\" cat\",\n\
         vpdq,\"[\"\"{H},100,0.0\"\"]\",Sample Data,POSITIVE_CLASS,\n"
    ))
    .unwrap();
    assert_eq!(s.format, Format::TeDatasetCsv);
    assert_eq!(s.count(Algorithm::Vpdq), 1);
    assert_eq!(s.id(s.videos[0].record), "Sample Data:line:6");
    assert_eq!(s.label(s.videos[0].record), Some("POSITIVE_CLASS"));
    assert_eq!(s.count(Algorithm::Pdq), 2);
    assert_eq!(s.count(Algorithm::Md5), 1);
    assert_eq!(s.ignored.get("signal_type url"), Some(&1));
    let (id, label, _) = entry(&s, Algorithm::Pdq, 0);
    assert_eq!(id, "Sample Data:line:2");
    assert_eq!(label.as_deref(), Some("POSITIVE_CLASS [tag1 tag2]"));
    let (id, label, _) = entry(&s, Algorithm::Pdq, 1);
    assert_eq!(id, "Collab, Inc:line:5");
    assert_eq!(label.as_deref(), Some("A \"quoted\" cat"));
    let e = load_str("signal_type,signal_str\npdq,zz\n").unwrap_err();
    assert!(
        e.to_string().contains(":2: pdq hash must be 64 hex digits"),
        "{e}"
    );
}

#[test]
fn plain_lists_refuse_to_guess() {
    let s = load_str(&format!("{MD5}\n{SHA1}\n")).unwrap();
    assert_eq!(s.format, Format::Plain);
    assert_eq!((s.count(Algorithm::Md5), s.count(Algorithm::Sha1)), (1, 1));
    let e = load_str(&format!("{H}\n{H}\n")).unwrap_err();
    assert_eq!(e.errors.len(), 1, "one message for the ambiguity: {e}");
    assert!(e.to_string().contains("pdq or sha256"), "{e}");
    let f = write(&format!("{H}\n"));
    for (alg, name) in [(Algorithm::Pdq, "pdq"), (Algorithm::Sha256, "sha256")] {
        let opts = LoadOptions {
            format: None,
            algorithm: Some(alg),
        };
        let s = load(f.path(), &opts).unwrap();
        assert_eq!(s.count(alg), 1, "{name}");
    }
    let e = load_str("00ff00ff00ff00ff\n").unwrap_err();
    assert!(
        e.to_string()
            .contains("ahash, dhash, phash, whash or blockhash"),
        "{e}"
    );
}

#[test]
fn vics_media_list_and_case_file() {
    let v1 = format!(
        "\u{feff}{{\"odata.metadata\":\"http://github.com/ICMEC/ProjectVic/DataModels/1.2.xml/CUSTOM/$metadata#Media\",\n\
         \"value\":[\n\
          {{\"MediaID\":17,\"Category\":1,\"MD5\":\"{}\",\"SHA1\":\"{SHA1}\",\"PhotoDNA\":\"AAECAw==\",\n\
            \"AlternativeHashes\":[{{\"HashName\":\"PDQ\",\"HashValue\":\"{H}\"}},{{\"HashName\":\"Fuzzy\",\"HashValue\":\"x\"}}]}},\n\
          {{\"MediaID\":18,\"Category\":2,\"MD5\":\"\",\"SHA1\":null,\"PhotoDNA\":\"AAE=\"}}\n\
         ]}}",
        MD5.to_uppercase()
    );
    let s = load_str(&v1).unwrap();
    assert_eq!(s.format, Format::VicsJson);
    assert_eq!(s.count(Algorithm::Md5), 1);
    assert_eq!(s.count(Algorithm::Sha1), 1);
    assert_eq!(s.count(Algorithm::Pdq), 1);
    assert_eq!(
        entry(&s, Algorithm::Pdq, 0),
        ("17".into(), Some("1".into()), H.into())
    );
    assert_eq!(s.ignored.get("PhotoDNA"), Some(&2));
    assert_eq!(s.ignored.get("AlternativeHashes Fuzzy"), Some(&1));

    let v2 = format!(
        "{{\n  \"@odata.context\": \"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata#Cases\",\n\
           \"value\": [ {{ \"CaseNumber\": \"C-1\", \"Media\": [\n\
              {{ \"MediaID\": \"m-1\", \"Category\": 3, \"MD5\": \"{MD5}\" }},\n\
              {{ \"MediaID\": \"m-2\", \"AlternativeHashes\": [ {{ \"HashName\": \"PDQ\", \"HashValue\": \"{H}\" }} ] }}\n\
           ] }} ]\n}}\n"
    );
    let s = load_str(&v2).unwrap();
    assert_eq!(s.records(), 2);
    assert_eq!(
        entry(&s, Algorithm::Md5, 0),
        ("m-1".into(), Some("3".into()), MD5.into())
    );
    assert_eq!(entry(&s, Algorithm::Pdq, 0).0, "m-2");

    let bad = v2.replace(MD5, "1234");
    let e = load_str(&bad).unwrap_err();
    assert!(
        e.to_string()
            .contains("media record 1 (MediaID m-1): md5 hash must be 32"),
        "{e}"
    );
    let truncated = &v2[..v2.len() / 2];
    let e = load_str(truncated).unwrap_err();
    assert!(e.to_string().contains("VICS JSON: EOF"), "{e}");
}

#[test]
fn forced_format_and_detection_errors() {
    let f = write(&format!("{H}\n"));
    let opts = LoadOptions {
        format: Some(Format::TeText),
        algorithm: None,
    };
    assert_eq!(load(f.path(), &opts).unwrap().count(Algorithm::Pdq), 1);
    let e = load_str("hello world\n").unwrap_err();
    assert!(
        e.to_string().contains("unrecognised hash-set format"),
        "{e}"
    );
    let empty = load_str("# nothing yet\n").unwrap();
    assert_eq!(empty.records(), 0);
}

#[test]
fn missing_file_is_an_error() {
    let e = load(Path::new("/nonexistent/set.txt"), &LoadOptions::default()).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("/nonexistent/set.txt: cannot open"));
}

#[test]
fn convert_round_trips() {
    let src = load_str(&format!(
        "{{\"type\":\"hash\",\"id\":\"42\",\"label\":\"7\",\"hashes\":{{\"pdq\":\"{H}\",\"md5\":\"{MD5}\"}}}}\n\
         {{\"type\":\"hash\",\"id\":\"43\",\"hashes\":{{\"pdq\":\"{H}\",\"sha1\":\"{SHA1}\"}}}}\n"
    ))
    .unwrap();
    for fmt in [Format::PhscanJsonl, Format::VicsJson, Format::Csv] {
        let mut out = Vec::new();
        write::write(&src, fmt, &mut out).unwrap();
        let back = load_str(std::str::from_utf8(&out).unwrap()).unwrap();
        assert_eq!(back.format, fmt);
        for a in [Algorithm::Pdq, Algorithm::Md5, Algorithm::Sha1] {
            assert_eq!(back.count(a), src.count(a), "{fmt:?} {a}");
        }
        assert_eq!(
            entry(&back, Algorithm::Md5, 0),
            ("42".into(), Some("7".into()), MD5.into())
        );
    }
    let mut out = Vec::new();
    let err = write::write(&src, Format::TeText, &mut out).unwrap_err();
    assert!(err.to_string().contains("cannot carry sha1"), "{err}");
    assert!(out.is_empty());
}

/// ImageHash values kept in a CSV whose header names the algorithms: detected, an
/// empty cell is no value, the id and label from their columns, other columns ignored.
#[test]
fn csv_with_algorithm_columns() {
    let s = load_str(
        "path,ahash,phash,size,category\n\
         a.jpg,00ff00ff00ff00ff,8f373714acfcf4d0,123,x\n\
         \"b,c.png\",ffffffff00000000,,7,\n",
    )
    .unwrap();
    assert_eq!(s.format, Format::Csv);
    assert_eq!(
        (s.count(Algorithm::Ahash), s.count(Algorithm::Phash)),
        (2, 1)
    );
    assert_eq!(
        entry(&s, Algorithm::Phash, 0),
        ("a.jpg".into(), Some("x".into()), "8f373714acfcf4d0".into())
    );
    assert_eq!(
        entry(&s, Algorithm::Ahash, 1),
        ("b,c.png".into(), None, "ffffffff00000000".into())
    );
    let e = load_str("path,dhash\na.jpg,00ff\nb.jpg\n").unwrap_err();
    assert!(e.to_string().contains(":2: dhash column: "), "{e}");
    assert!(
        e.to_string().contains(":3: 1 fields, the header has 2"),
        "{e}"
    );
}

/// ThreatExchange-style lines with an algorithm's name, and `hash,metadata` lines
/// of a 64-bit hash named with `--hashset-algorithm`.
#[test]
fn te_text_with_algorithm_names() {
    let s = load_str(&format!(
        "phash 8f373714acfcf4d0\nwhash\t00000000000000ff\npdq {H}\n"
    ))
    .unwrap();
    assert_eq!(s.format, Format::TeText);
    for a in [Algorithm::Phash, Algorithm::Whash, Algorithm::Pdq] {
        assert_eq!(s.count(a), 1, "{a}");
    }
    let f = write("8f373714acfcf4d0,cat.jpg\n");
    let opts = LoadOptions {
        format: Some(Format::TeText),
        algorithm: Some(Algorithm::Dhash),
    };
    let s = load(f.path(), &opts).unwrap();
    assert_eq!(
        entry(&s, Algorithm::Dhash, 0),
        ("cat.jpg".into(), None, "8f373714acfcf4d0".into())
    );
    // Without it the line is PDQ, and 16 digits are not a PDQ hash.
    assert!(load(
        f.path(),
        &LoadOptions {
            format: Some(Format::TeText),
            algorithm: None
        }
    )
    .is_err());
}

/// A VICS record may list one algorithm twice (`MD5`, and an MD5 among its
/// `AlternativeHashes`). Converting it used to keep only the last value in
/// phscan-jsonl (one `hashes` key per algorithm) and in VICS (one `MD5` field); found
/// by the `hashset` fuzz target's convert round-trip check.
#[test]
fn convert_keeps_every_value_of_a_record() {
    let other_md5 = "00000000000000000000000000000001";
    let other_sha1 = "0000000000000000000000000000000000000002";
    let src = load_str(&format!(
        "{{\"@odata.context\":\"x\",\"value\":[{{\"MediaID\":1,\"Category\":\"c\",\"MD5\":\"{MD5}\",\
         \"SHA1\":\"{SHA1}\",\"AlternativeHashes\":[{{\"HashName\":\"MD5\",\"HashValue\":\"{other_md5}\"}},\
         {{\"HashName\":\"SHA1\",\"HashValue\":\"{other_sha1}\"}},{{\"HashName\":\"PDQ\",\"HashValue\":\"{H}\"}}]}}]}}"
    ))
    .unwrap();
    assert_eq!(src.records(), 1);
    assert_eq!(src.count(Algorithm::Md5), 2);
    assert_eq!(src.count(Algorithm::Sha1), 2);
    let values = |s: &HashSet, a: Algorithm| {
        let e = &s.entries[&a];
        let mut v: Vec<(String, Option<String>, String)> =
            (0..e.values.len()).map(|i| entry(s, a, i)).collect();
        v.sort();
        v
    };
    for fmt in [Format::PhscanJsonl, Format::VicsJson] {
        let mut out = Vec::new();
        write::write(&src, fmt, &mut out).unwrap();
        let text = std::str::from_utf8(&out).unwrap();
        let back = load_str(text).unwrap();
        for a in [Algorithm::Md5, Algorithm::Sha1, Algorithm::Pdq] {
            assert_eq!(values(&back, a), values(&src, a), "{fmt:?} {a}:\n{text}");
        }
    }
}

#[test]
fn parse_value_agrees_with_the_pdq_parser() {
    let mut x = 0x1234_5678_9abc_def0u64;
    for _ in 0..200 {
        let mut hex = String::new();
        for _ in 0..4 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            hex.push_str(&format!("{x:016x}"));
        }
        let want = PdqHash::from_hex(&hex).unwrap();
        assert_eq!(
            parse_value(Algorithm::Pdq, &hex).unwrap(),
            HashValue::Pdq(want)
        );
        assert_eq!(
            parse_value(Algorithm::Pdq, &hex.to_uppercase()).unwrap(),
            HashValue::Pdq(want)
        );
        assert_eq!(
            parse_value(Algorithm::Dhash, &hex[..16]).unwrap().to_hex(),
            &hex[..16]
        );
        assert_eq!(parse_value(Algorithm::Sha256, &hex).unwrap().to_hex(), hex);
    }
    let e = parse_value(Algorithm::Md5, "900150983cd24fb0d6963f7d28e17fxz").unwrap_err();
    assert!(e.contains("at position 31"), "{e}");
    let e = parse_value(Algorithm::Md5, "g00150983cd24fb0d6963f7d28e17f72").unwrap_err();
    assert!(e.contains("at position 1"), "{e}");
}

#[test]
fn vpdq_entries_survive_conversion_where_the_format_carries_them() {
    let sig = format!("[\"{H},100,0.0\", \"{H},51,1e+02\", \"{H},7,0.0333\"]");
    let s = load_str(&format!(
        "signal_type,signal_str,collab,category,tags\nvpdq,\"{}\",Test,cat-V,\n",
        sig.replace('"', "\"\"")
    ))
    .unwrap();
    for format in [Format::PhscanJsonl, Format::TeText, Format::TeDatasetCsv] {
        let mut out = Vec::new();
        write::write(&s, format, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        if format == Format::TeText {
            // Written back exactly as python-threatexchange writes it.
            assert_eq!(text, format!("vpdq {sig}\n"));
        }
        let back = load_str(&text).unwrap();
        assert_eq!(back.format, format);
        assert_eq!(back.count(Algorithm::Vpdq), 1);
        assert_eq!(back.videos[0].frames, s.videos[0].frames, "{format:?}");
        if format != Format::TeText {
            assert_eq!(back.label(back.videos[0].record), Some("cat-V"));
        }
    }
    for format in [Format::Plain, Format::VicsJson] {
        let e = write::write(&s, format, &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("vpdq"), "{e}");
    }
}

/// Robust entries (`hash --robust`) survive a conversion to phscan-jsonl, on their
/// image's record; every other format refuses them by name rather than dropping them.
#[test]
fn robust_entries_round_trip_or_are_refused() {
    let other = "f".repeat(64);
    let src = load_str(&format!(
        "{{\"type\":\"hash\",\"id\":\"a\",\"label\":\"L\",\"hashes\":{{\"pdq\":\"{H}\"}},\
         \"robust\":{{\"rot+3\":\"{other}\",\"top\":\"{H}\"}}}}\n\
         {{\"type\":\"hash\",\"id\":\"b\",\"hashes\":{{\"pdq\":\"{other}\"}}}}\n"
    ))
    .unwrap();
    assert_eq!(src.robust.len(), 2);
    assert!(src.robust.iter().all(|e| src.id(e.record) == "a"));
    let mut out = Vec::new();
    write::write(&src, Format::PhscanJsonl, &mut out).unwrap();
    let back = load_str(std::str::from_utf8(&out).unwrap()).unwrap();
    let entries = |s: &HashSet| {
        let mut v: Vec<(String, &str, String)> = s
            .robust
            .iter()
            .map(|e| {
                (
                    s.id(e.record).to_string(),
                    e.variant.name(),
                    e.hash.to_hex(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(entries(&back), entries(&src));
    assert_eq!(back.label(back.robust[0].record), Some("L"));
    for fmt in [
        Format::TeText,
        Format::TeDatasetCsv,
        Format::Plain,
        Format::VicsJson,
        Format::Csv,
    ] {
        let mut out = Vec::new();
        let err = write::write(&src, fmt, &mut out).unwrap_err();
        assert!(
            err.to_string().contains("cannot carry robust entries"),
            "{fmt:?}: {err}"
        );
        assert!(out.is_empty(), "{fmt:?}");
    }
}

#[test]
fn bad_robust_entries_are_refused_with_the_line() {
    for (robust, why) in [
        ("{\"crop91\":\"00\"}", "unknown robust variant 'crop91'"),
        ("{\"rot+3\":\"xyz\"}", "robust variant 'rot+3'"),
        ("[1]", "'robust' must be an object"),
    ] {
        let err = load_str(&format!(
            "{{\"type\":\"hash\",\"id\":\"a\",\"hashes\":{{\"pdq\":\"{H}\"}},\"robust\":{robust}}}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains(why) && err.contains(":1:"), "{robust}: {err}");
    }
    let err = load_str(&format!(
        "{{\"type\":\"hash\",\"id\":\"a\",\"hashes\":{{\"md5\":\"{MD5}\"}},\"robust\":{{\"top\":\"{H}\"}}}}\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("belong to an image with a 'pdq' hash"),
        "{err}"
    );
}
