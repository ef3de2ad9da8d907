//! Project VIC VICS JSON, v1.x (`odata.metadata`) and v2.0 (`@odata.context`).
//!
//! A media list is `{"value": [media, ...]}`; a case file is
//! `{"value": [{..., "Media": [media, ...]}, ...]}`. Each media record gives `MD5`,
//! `SHA1`, `AlternativeHashes` (`[{"HashName": "PDQ", "HashValue": ...}]`), `MediaID`
//! (the entry's id) and `Category` (its label). `PhotoDNA` values are counted as
//! ignored, since PhotoDNA cannot be computed here. The file is parsed as a stream
//! with serde's visitors: one media record is in memory at a time, whatever the size
//! of the file.

use std::fmt;
use std::io::BufRead;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{parse_value, Builder, HashValue, Problems};
use crate::config::Algorithm;

struct Ctx<'a, 'b> {
    b: &'a mut Builder,
    p: &'a mut Problems<'b>,
    media: u64,
}

pub(super) fn parse(r: &mut impl BufRead, b: &mut Builder, p: &mut Problems<'_>) {
    let mut ctx = Ctx { b, p, media: 0 };
    let mut de = serde_json::Deserializer::from_reader(r);
    let result = TopSeed(&mut ctx)
        .deserialize(&mut de)
        .and_then(|_| de.end());
    if let Err(e) = result {
        let line = e.line();
        ctx.p.push(line, format!("VICS JSON: {e}"));
    }
}

struct TopSeed<'c, 'a, 'b>(&'c mut Ctx<'a, 'b>);

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a VICS JSON object with a \"value\" array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut saw_value = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "value" {
                saw_value = true;
                map.next_value_seed(ItemsSeed(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if !saw_value {
            self.0.p.push(0, "VICS JSON has no \"value\" array".into());
        }
        Ok(())
    }
}

/// `value[]` or `Media[]`: a sequence of records, each streamed.
struct ItemsSeed<'c, 'a, 'b>(&'c mut Ctx<'a, 'b>);

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of media or case records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(RecordSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

/// One object of `value[]` (a media record or a case with `Media`) or of `Media[]`.
struct RecordSeed<'c, 'a, 'b>(&'c mut Ctx<'a, 'b>);

impl<'de> DeserializeSeed<'de> for RecordSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a VICS media or case object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.0;
        let mut id = None;
        let mut category = None;
        let mut hashes: Vec<(Algorithm, String)> = Vec::new();
        let mut photodna = false;
        let mut ignored: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.to_ascii_lowercase().as_str() {
                "media" => map.next_value_seed(ItemsSeed(&mut *ctx))?,
                "mediaid" => id = scalar_text(&map.next_value::<Value>()?),
                "category" => category = scalar_text(&map.next_value::<Value>()?),
                "md5" => {
                    if let Some(h) = scalar_text(&map.next_value::<Value>()?) {
                        hashes.push((Algorithm::Md5, h));
                    }
                }
                "sha1" => {
                    if let Some(h) = scalar_text(&map.next_value::<Value>()?) {
                        hashes.push((Algorithm::Sha1, h));
                    }
                }
                "sha256" => {
                    if let Some(h) = scalar_text(&map.next_value::<Value>()?) {
                        hashes.push((Algorithm::Sha256, h));
                    }
                }
                "photodna" => {
                    photodna |= scalar_text(&map.next_value::<Value>()?).is_some();
                }
                "alternativehashes" => {
                    if let Value::Array(items) = map.next_value::<Value>()? {
                        for item in items {
                            let name = item
                                .get("HashName")
                                .or_else(|| item.get("hashName"))
                                .and_then(scalar_text);
                            let value = item
                                .get("HashValue")
                                .or_else(|| item.get("hashValue"))
                                .and_then(scalar_text);
                            let (Some(name), Some(value)) = (name, value) else {
                                continue;
                            };
                            match name.to_ascii_uppercase().replace('-', "").as_str() {
                                "PDQ" => hashes.push((Algorithm::Pdq, value)),
                                "MD5" => hashes.push((Algorithm::Md5, value)),
                                "SHA1" => hashes.push((Algorithm::Sha1, value)),
                                "SHA256" => hashes.push((Algorithm::Sha256, value)),
                                "PHOTODNA" => photodna = true,
                                _ => ignored.push(format!("AlternativeHashes {name}")),
                            }
                        }
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if hashes.is_empty() && !photodna && ignored.is_empty() {
            return Ok(()); // a case object, or a record with no hash at all
        }
        ctx.media += 1;
        let n = ctx.media;
        if photodna {
            ctx.b.ignore("PhotoDNA");
        }
        for i in &ignored {
            ctx.b.ignore(i);
        }
        let mut values: Vec<(Algorithm, HashValue)> = Vec::with_capacity(hashes.len());
        let mut bad = false;
        for (alg, hex) in &hashes {
            match parse_value(*alg, hex) {
                Ok(v) => values.push((*alg, v)),
                Err(e) => {
                    bad = true;
                    let who = match &id {
                        Some(id) => format!("media record {n} (MediaID {id})"),
                        None => format!("media record {n}"),
                    };
                    ctx.p.push(0, format!("{who}: {e}"));
                }
            }
        }
        if bad || values.is_empty() {
            return Ok(());
        }
        let id = id.unwrap_or_else(|| format!("media:{n}"));
        let rec = ctx.b.record(&id, category.as_deref());
        for (alg, v) in &values {
            ctx.b.add(rec, *alg, v, None);
        }
        Ok(())
    }
}
