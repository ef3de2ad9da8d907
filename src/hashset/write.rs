//! Writing a loaded hash set in another format (`phscan hashset convert`).

use std::io::{self, Write};

use serde_json::{json, Map, Value};

use super::{Format, HashSet, HashValue, QUALITY_UNKNOWN};
use crate::config::Algorithm;

/// One record's hashes, in algorithm order, with the PDQ quality when known.
struct Rec {
    hashes: Vec<(Algorithm, HashValue)>,
    quality: Option<u8>,
}

fn records(set: &HashSet) -> Vec<Rec> {
    let mut recs: Vec<Rec> = (0..set.records())
        .map(|_| Rec {
            hashes: Vec::new(),
            quality: None,
        })
        .collect();
    for (alg, e) in &set.entries {
        for (i, &r) in e.record.iter().enumerate() {
            let rec = &mut recs[r as usize];
            rec.hashes.push((*alg, e.values.get(i)));
            if *alg == Algorithm::Pdq && e.quality[i] != QUALITY_UNKNOWN {
                rec.quality = Some(e.quality[i]);
            }
        }
    }
    recs
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// Writes `set` as `format`. Fails, writing nothing of the set, when the format
/// cannot carry some of its entries (e.g. a dHash in a PDQ-only format).
pub fn write(set: &HashSet, format: Format, out: &mut dyn Write) -> io::Result<()> {
    let algs: Vec<Algorithm> = set.entries.keys().copied().collect();
    let refuse = |what: &str| {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} cannot carry {what} entries", format.name()),
        ))
    };
    if !set.robust.is_empty() && format != Format::PhscanJsonl {
        // Other formats have no place for a variant; dropping the entries would
        // quietly make a different list.
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} cannot carry robust entries (hash --robust): only phscan-jsonl can",
                format.name()
            ),
        ));
    }
    if !set.videos.is_empty() && matches!(format, Format::Plain | Format::VicsJson) {
        // Refused rather than dropped: a conversion never loses entries silently.
        return refuse("vpdq");
    }
    match format {
        Format::TeText => {
            if let Some(a) = algs
                .iter()
                .find(|a| !matches!(a, Algorithm::Pdq | Algorithm::Md5))
            {
                return refuse(a.name());
            }
        }
        Format::TeDatasetCsv => {
            if let Some(a) = algs
                .iter()
                .find(|a| !matches!(a, Algorithm::Pdq | Algorithm::Md5))
            {
                return refuse(a.name());
            }
        }
        Format::Plain => {
            if algs.len() > 1 {
                return refuse("several algorithms' (a plain list holds one kind of hash)");
            }
        }
        Format::VicsJson => {
            if let Some(a) = algs.iter().find(|a| {
                !matches!(
                    a,
                    Algorithm::Pdq | Algorithm::Md5 | Algorithm::Sha1 | Algorithm::Sha256
                )
            }) {
                return refuse(a.name());
            }
        }
        Format::PhscanJsonl | Format::Csv => {}
    }
    let recs = records(set);
    let signal = |v: &super::ListedVideo| crate::video::vpdq::compact_signal_string(&v.frames);
    match format {
        Format::PhscanJsonl => {
            // Robust entries go on their image's line (the one with its PDQ hash).
            let mut robust: Vec<Map<String, Value>> = vec![Map::new(); recs.len()];
            for e in &set.robust {
                robust[e.record as usize]
                    .insert(e.variant.name().into(), Value::String(e.hash.to_hex()));
            }
            for (r, rec) in recs.iter().enumerate() {
                // `hashes` holds one value per algorithm: a record with several of one
                // algorithm (VICS can list an MD5 twice) is written as several lines
                // with the same id and label, so that no value is lost.
                let mut lines: Vec<Map<String, Value>> = Vec::new();
                for (a, v) in &rec.hashes {
                    let i = match lines.iter().position(|h| !h.contains_key(a.name())) {
                        Some(i) => i,
                        None => {
                            lines.push(Map::new());
                            lines.len() - 1
                        }
                    };
                    lines[i].insert(a.name().to_string(), Value::String(v.to_hex()));
                }
                for hashes in lines {
                    let mut obj = Map::new();
                    obj.insert("type".into(), json!("hash"));
                    obj.insert("id".into(), json!(set.id(r as u32)));
                    if let Some(l) = set.label(r as u32) {
                        obj.insert("label".into(), json!(l));
                    }
                    let has_pdq = hashes.contains_key(Algorithm::Pdq.name());
                    obj.insert("hashes".into(), Value::Object(hashes));
                    if let Some(q) = rec.quality.filter(|_| has_pdq) {
                        obj.insert("pdq_quality".into(), json!(q));
                    }
                    if has_pdq && !robust[r].is_empty() {
                        obj.insert(
                            "robust".into(),
                            Value::Object(std::mem::take(&mut robust[r])),
                        );
                    }
                    serde_json::to_writer(&mut *out, &obj)?;
                    out.write_all(b"\n")?;
                }
            }
            // Each listed video on a line of its own, with its record's id and label.
            for v in &set.videos {
                let mut obj = Map::new();
                obj.insert("type".into(), json!("hash"));
                obj.insert("id".into(), json!(set.id(v.record)));
                if let Some(l) = set.label(v.record) {
                    obj.insert("label".into(), json!(l));
                }
                obj.insert("hashes".into(), json!({ "vpdq": signal(v) }));
                serde_json::to_writer(&mut *out, &obj)?;
                out.write_all(b"\n")?;
            }
        }
        Format::TeText => {
            for (r, rec) in recs.iter().enumerate() {
                for (a, v) in &rec.hashes {
                    match a {
                        Algorithm::Pdq => {
                            writeln!(out, "{},{}", v.to_hex(), one_line(set.id(r as u32)))?
                        }
                        _ => writeln!(out, "video_md5 {}", v.to_hex())?,
                    }
                }
            }
            for v in &set.videos {
                writeln!(out, "vpdq {}", signal(v))?;
            }
        }
        Format::TeDatasetCsv => {
            writeln!(out, "signal_type,signal_str,collab,category,tags")?;
            for (r, rec) in recs.iter().enumerate() {
                for (a, v) in &rec.hashes {
                    let kind = if *a == Algorithm::Pdq {
                        "pdq"
                    } else {
                        "video_md5"
                    };
                    let cat = set.label(r as u32).map(csv_quote).unwrap_or_default();
                    writeln!(out, "{kind},{},phscan,{cat},", v.to_hex())?;
                }
            }
            for v in &set.videos {
                let cat = set.label(v.record).map(csv_quote).unwrap_or_default();
                writeln!(out, "vpdq,{},phscan,{cat},", csv_quote(&signal(v)))?;
            }
        }
        Format::Plain => {
            for rec in &recs {
                for (_, v) in &rec.hashes {
                    writeln!(out, "{}", v.to_hex())?;
                }
            }
        }
        Format::VicsJson => {
            out.write_all(
                b"{\"@odata.context\":\"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata#Media\",\"value\":[",
            )?;
            let mut first = true;
            for (r, rec) in recs.iter().enumerate() {
                if rec.hashes.is_empty() {
                    continue;
                }
                let mut obj = Map::new();
                let id = set.id(r as u32);
                obj.insert(
                    "MediaID".into(),
                    id.parse::<u64>()
                        .map(|n| json!(n))
                        .unwrap_or_else(|_| json!(id)),
                );
                if let Some(l) = set.label(r as u32) {
                    obj.insert(
                        "Category".into(),
                        l.parse::<u64>()
                            .map(|n| json!(n))
                            .unwrap_or_else(|_| json!(l)),
                    );
                }
                let mut alt = Vec::new();
                for (a, v) in &rec.hashes {
                    // The first MD5 and SHA-1 have fields of their own; any further one
                    // of a record goes with the other hashes, so that none is lost.
                    let (field, name) = match a {
                        Algorithm::Md5 => (Some("MD5"), "MD5"),
                        Algorithm::Sha1 => (Some("SHA1"), "SHA1"),
                        Algorithm::Sha256 => (None, "SHA256"),
                        _ => (None, "PDQ"),
                    };
                    match field.filter(|f| !obj.contains_key(*f)) {
                        Some(f) => {
                            obj.insert(f.into(), json!(v.to_hex().to_uppercase()));
                        }
                        None => alt.push(json!({"HashName": name, "HashValue": v.to_hex()})),
                    }
                }
                if !alt.is_empty() {
                    obj.insert("AlternativeHashes".into(), Value::Array(alt));
                }
                if !first {
                    out.write_all(b",")?;
                }
                first = false;
                out.write_all(b"\n")?;
                serde_json::to_writer(&mut *out, &obj)?;
            }
            out.write_all(b"\n]}\n")?;
        }
        Format::Csv => {
            write!(out, "id,label")?;
            for a in &algs {
                write!(out, ",{a}")?;
            }
            writeln!(out)?;
            for (r, rec) in recs.iter().enumerate() {
                // One line per value of an algorithm a record has several of.
                let mut left: Vec<(Algorithm, HashValue)> = rec.hashes.clone();
                while !left.is_empty() {
                    let id = csv_quote(set.id(r as u32));
                    let label = set.label(r as u32).map(csv_quote).unwrap_or_default();
                    write!(out, "{id},{label}")?;
                    for a in &algs {
                        match left.iter().position(|(x, _)| x == a) {
                            Some(i) => write!(out, ",{}", left.remove(i).1.to_hex())?,
                            None => write!(out, ",")?,
                        }
                    }
                    writeln!(out)?;
                }
            }
        }
    }
    Ok(())
}

fn csv_quote(s: &str) -> String {
    let s = one_line(s);
    if s.contains([',', '"']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}
