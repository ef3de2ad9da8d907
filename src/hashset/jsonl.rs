//! phscan's own JSON Lines: the output of `phscan hash`.

use std::io::BufRead;

use serde_json::Value;

use super::{for_each_line, parse_value, Builder, Problems};
use crate::config::Algorithm;
use crate::hashing::pdq::PdqHash;
use crate::robust::Variant;

/// The first report schema whose aHash, dHash, pHash and blockhash are ImageHash's
/// and blockhash.io's; before it they were `image_hasher`'s, other values under the
/// same names.
const IMAGEHASH_SCHEMA: u64 = 3;

pub(super) fn parse(r: &mut impl BufRead, b: &mut Builder, p: &mut Problems<'_>) {
    let mut parsed: Vec<(Algorithm, super::HashValue)> = Vec::with_capacity(8);
    let mut schema = None;
    for_each_line(r, p, |n, text, p| {
        let t = text.trim();
        if t.is_empty() {
            return;
        }
        parsed.clear();
        if let Err(e) = line(t, n, b, &mut parsed, &mut schema) {
            p.push(n, e);
        }
    });
}

fn line(
    text: &str,
    n: usize,
    b: &mut Builder,
    parsed: &mut Vec<(Algorithm, super::HashValue)>,
    schema: &mut Option<u64>,
) -> Result<(), String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let obj = v.as_object().ok_or("expected a JSON object")?;
    match obj.get("type").and_then(Value::as_str) {
        None | Some("hash") => {}
        Some("begin") => {
            *schema = obj.get("schema_version").and_then(Value::as_u64);
            return Ok(());
        }
        // The other records of a `phscan hash` report carry no entries.
        Some("summary") | Some("error") | Some("skipped") => return Ok(()),
        Some(other) => {
            return Err(format!(
                "record of type '{other}' is not a hash-set entry (expected type 'hash')"
            ))
        }
    }
    let hashes = obj
        .get("hashes")
        .and_then(Value::as_object)
        .ok_or("entry has no 'hashes' object")?;
    if hashes.is_empty() {
        return Err("entry's 'hashes' object is empty".into());
    }
    let id = match obj.get("id").or_else(|| obj.get("path")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Null) | None => format!("line:{n}"),
        Some(_) => return Err("'id' must be a string or a number".into()),
    };
    let label = match obj.get("label") {
        Some(Value::String(s)) => Some(s.as_str()),
        Some(Value::Null) | None => None,
        Some(_) => return Err("'label' must be a string".into()),
    };
    let quality = match obj.get("pdq_quality") {
        None | Some(Value::Null) => None,
        Some(q) => Some(
            q.as_u64()
                .filter(|q| *q <= 100)
                .ok_or("'pdq_quality' must be a whole number from 0 to 100")? as u8,
        ),
    };
    let robust = robust_entries(obj.get("robust"))?;
    if !robust.is_empty() && !parsed_has_pdq(hashes) {
        return Err("'robust' entries belong to an image with a 'pdq' hash".into());
    }
    let mut vpdq = None;
    for (name, value) in hashes {
        let alg: Algorithm = name.parse()?;
        if let Some(v) = schema.filter(|&v| v < IMAGEHASH_SCHEMA) {
            if matches!(
                alg,
                Algorithm::Ahash | Algorithm::Dhash | Algorithm::Phash | Algorithm::Blockhash
            ) {
                return Err(format!(
                    "'{name}' of a phscan report of schema {v}: phscan computed it with \
                     image_hasher then, and its values are not those of phscan {IMAGEHASH_SCHEMA}+ \
                     (ImageHash's, blockhash.io's); hash the images again"
                ));
            }
        }
        if alg == Algorithm::Vpdq {
            let s = value
                .as_str()
                .ok_or("hash 'vpdq' must be a vPDQ signal string")?;
            let frames =
                crate::video::vpdq::parse_signal(s).map_err(|e| format!("hash 'vpdq': {e}"))?;
            vpdq = Some(frames);
            continue;
        }
        let hex = value
            .as_str()
            .ok_or_else(|| format!("hash '{name}' must be a hex string"))?;
        parsed.push((alg, parse_value(alg, hex)?));
    }
    // Only a wholly valid line adds a record.
    let rec = b.record(&id, label);
    for (alg, v) in parsed.iter() {
        b.add(rec, *alg, v, quality);
    }
    if let Some(frames) = vpdq {
        b.add_vpdq(rec, frames);
    }
    for (variant, hash) in robust {
        b.add_robust(rec, variant, hash);
    }
    Ok(())
}

fn parsed_has_pdq(hashes: &serde_json::Map<String, Value>) -> bool {
    hashes.contains_key(Algorithm::Pdq.name())
}

/// A record's `robust` object: variant name -> PDQ hex (`hash --robust`).
fn robust_entries(v: Option<&Value>) -> Result<Vec<(Variant, PdqHash)>, String> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let obj = v
        .as_object()
        .ok_or("'robust' must be an object of variant names and PDQ hashes")?;
    obj.iter()
        .map(|(name, hex)| {
            let variant = Variant::from_name(name)
                .ok_or_else(|| format!("unknown robust variant '{}'", super::shorten(name)))?;
            let hash = hex
                .as_str()
                .ok_or_else(|| format!("robust variant '{name}' must be a PDQ hex string"))?
                .parse::<PdqHash>()
                .map_err(|e| format!("robust variant '{name}': {e}"))?;
            Ok((variant, hash))
        })
        .collect()
}
