//! A [`HashSet`] in a compiled list (`crate::compiled`): its records' ids and labels
//! and, per algorithm, each entry's record (and PDQ quality). The PDQ and 64-bit
//! values themselves live in the compiled index; exact hashes are kept here.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Column, Entries, HashSet, Strings};
use crate::compiled::file::{Reader, Sec, Writer};
use crate::config::Algorithm;
use crate::slab::Slab;

#[derive(Serialize, Deserialize)]
pub struct SetManifest {
    name: String,
    /// The source file's path as bytes (it need not be UTF-8).
    path: Vec<u8>,
    format: String,
    sha256: [u8; 32],
    ids: [Sec; 2],
    labels: Sec,
    label_names: [Sec; 2],
    entries: Vec<EntriesManifest>,
    ignored: BTreeMap<String, u64>,
}

#[derive(Serialize, Deserialize)]
struct EntriesManifest {
    algorithm: String,
    count: usize,
    /// Exact hashes only.
    values: Option<Sec>,
    record: Sec,
    quality: Sec,
}

fn put_strings(w: &mut Writer, s: &Strings) -> std::io::Result<[Sec; 2]> {
    Ok([w.put(&s.data)?, w.put(&s.ends)?])
}

fn get_strings(r: &Reader, [data, ends]: [Sec; 2]) -> Result<Strings, String> {
    let data = r.get::<u8>(data)?;
    let ends = r.get::<u32>(ends)?;
    if ends.last().is_some_and(|&e| e as usize != data.len()) {
        return Err("damaged list (strings)".into());
    }
    Ok(Strings { data, ends })
}

impl HashSet {
    /// Writes the set; `counts` are its entries per algorithm (its PDQ and 64-bit
    /// columns may already have moved into an index).
    pub fn save(
        &self,
        w: &mut Writer,
        counts: &BTreeMap<Algorithm, usize>,
    ) -> std::io::Result<SetManifest> {
        use std::os::unix::ffi::OsStrExt;
        let mut entries = Vec::new();
        for (a, e) in &self.entries {
            let values = match &e.values {
                Column::Bytes { data, .. } => Some(w.put(data)?),
                _ => None,
            };
            entries.push(EntriesManifest {
                algorithm: a.name().to_string(),
                count: counts[a],
                values,
                record: w.put(&e.record)?,
                quality: w.put(&e.quality)?,
            });
        }
        Ok(SetManifest {
            name: self.name.clone(),
            path: self.path.as_os_str().as_bytes().to_vec(),
            format: self.format.name().to_string(),
            sha256: self.sha256,
            ids: put_strings(w, &self.ids)?,
            labels: w.put(&self.labels)?,
            label_names: put_strings(w, &self.label_names)?,
            entries,
            ignored: self.ignored.clone(),
        })
    }

    /// Maps a set [`HashSet::save`] wrote; its PDQ and 64-bit columns are empty (the
    /// values are in the index). Also returns its entry counts.
    pub fn load(
        m: &SetManifest,
        r: &Reader,
    ) -> Result<(HashSet, BTreeMap<Algorithm, usize>), String> {
        use std::os::unix::ffi::OsStrExt;
        let ids = get_strings(r, m.ids)?;
        let labels = r.get_n::<u32>(m.labels, ids.len(), "labels")?;
        let label_names = get_strings(r, m.label_names)?;
        let mut entries = BTreeMap::new();
        let mut counts = BTreeMap::new();
        for em in &m.entries {
            let a: Algorithm = em.algorithm.parse()?;
            let values = match (Column::new(a), em.values) {
                (Column::Bytes { width, .. }, Some(s)) => Column::Bytes {
                    width,
                    data: r.get_n::<u8>(s, em.count * width, "exact hashes")?,
                },
                (c @ (Column::Pdq(_) | Column::U64(_)), None) => c,
                _ => return Err("damaged list (exact hash column)".into()),
            };
            let record = r.get_n::<u32>(em.record, em.count, "entry records")?;
            let quality: Slab<u8> = r.get(em.quality)?;
            if quality.len() != if a == Algorithm::Pdq { em.count } else { 0 } {
                return Err("damaged list (PDQ qualities)".into());
            }
            entries.insert(
                a,
                Entries {
                    values,
                    record,
                    quality,
                },
            );
            counts.insert(a, em.count);
        }
        let set = HashSet {
            name: m.name.clone(),
            path: PathBuf::from(std::ffi::OsStr::from_bytes(&m.path)),
            format: m.format.parse()?,
            sha256: m.sha256,
            ids,
            labels,
            label_names,
            entries,
            videos: Vec::new(),
            // Robust entries live in the group's index, as the videos do.
            robust: Vec::new(),
            ignored: m.ignored.clone(),
        };
        Ok((set, counts))
    }
}
