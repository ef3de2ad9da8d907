//! Line-oriented formats: ThreatExchange text, `threatexchange dataset --csv`, and
//! plain lists of hex values.

use std::io::BufRead;

use super::{for_each_line, parse_value, shorten, Builder, Problems};
use crate::config::Algorithm;

fn skip(text: &str) -> bool {
    let t = text.trim();
    t.is_empty() || t.starts_with('#')
}

/// pdq tools: `[hash=]<64 hex>[,metadata]`; python-threatexchange: `pdq <hex>`,
/// `video_md5 <hex>`, `vpdq <JSON array>` (a video's vPDQ signal); and the same with
/// any algorithm's name (`phash <hex>`). The `hash[,metadata]` form is PDQ unless `--hashset-algorithm` names another.
pub(super) fn parse_te_text(
    r: &mut impl BufRead,
    given: Option<Algorithm>,
    b: &mut Builder,
    p: &mut Problems<'_>,
) {
    for_each_line(r, p, |n, text, p| {
        if skip(text) {
            return;
        }
        let t = text.trim();
        let lower_prefix = |pre: &str| {
            t.get(..pre.len())
                .filter(|h| h.eq_ignore_ascii_case(pre))
                .map(|_| t[pre.len()..].trim())
        };
        if let Some(rest) = lower_prefix("vpdq ").or_else(|| lower_prefix("vpdq\t")) {
            match crate::video::vpdq::parse_signal(rest) {
                Ok(frames) => {
                    let rec = b.record(&format!("line:{n}"), None);
                    b.add_vpdq(rec, frames);
                }
                Err(e) => p.push(n, format!("vpdq: {e}")),
            }
            return;
        }
        let (alg, hex, meta) =
            if let Some(rest) = lower_prefix("pdq ").or_else(|| lower_prefix("pdq\t")) {
                (Algorithm::Pdq, rest, None)
            } else if let Some(rest) =
                lower_prefix("video_md5 ").or_else(|| lower_prefix("video_md5\t"))
            {
                (Algorithm::Md5, rest, None)
            } else if let Some((alg, rest)) = t
                .split_once([' ', '\t'])
                .and_then(|(name, rest)| Some((name.parse::<Algorithm>().ok()?, rest.trim())))
            {
                (alg, rest, None)
            } else {
                let body = lower_prefix("hash=").unwrap_or(t);
                let alg = given.unwrap_or(Algorithm::Pdq);
                match body.split_once(',') {
                    Some((h, m)) => (alg, h.trim(), Some(m.trim())),
                    None => (alg, body.trim(), None),
                }
            };
        match parse_value(alg, hex) {
            Ok(v) => {
                let id = match meta {
                    Some(m) if !m.is_empty() => m.to_string(),
                    _ => format!("line:{n}"),
                };
                let rec = b.record(&id, None);
                b.add(rec, alg, &v, None);
            }
            Err(e) => p.push(n, e),
        }
    });
}

/// Splits one CSV line (RFC 4180 quoting, as Python's csv module writes).
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == '"' && at_start {
            quoted = true;
            at_start = false;
        } else if c == ',' {
            out.push(std::mem::take(&mut field));
            at_start = true;
        } else {
            field.push(c);
            at_start = false;
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    out.push(field);
    Ok(out)
}

/// `threatexchange dataset --csv`: a header `signal_type,signal_str,collab,category,tags`,
/// then one signal per row. `pdq` rows are PDQ; `video_md5`, `photo_md5` and `md5`
/// rows are MD5; other signal types (URLs, text, vPDQ...) are counted as ignored.
pub(super) fn parse_te_dataset(r: &mut impl BufRead, b: &mut Builder, p: &mut Problems<'_>) {
    let mut columns: Option<Vec<String>> = None;
    for_each_line(r, p, |n, text, p| {
        if text.trim().is_empty() {
            return;
        }
        let fields = match csv_fields(text) {
            Ok(f) => f,
            Err(e) => return p.push(n, e),
        };
        let Some(cols) = &columns else {
            let cols: Vec<String> = fields
                .iter()
                .map(|f| f.trim().to_ascii_lowercase())
                .collect();
            for need in ["signal_type", "signal_str"] {
                if !cols.iter().any(|c| c == need) {
                    p.push(n, format!("header has no '{need}' column"));
                }
            }
            columns = Some(cols);
            return;
        };
        let get = |name: &str| {
            cols.iter()
                .position(|c| c == name)
                .and_then(|i| fields.get(i))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
        };
        if fields.len() != cols.len() {
            return p.push(
                n,
                format!("{} fields, the header has {}", fields.len(), cols.len()),
            );
        }
        let kind = get("signal_type").unwrap_or("").to_ascii_lowercase();
        let label = match (get("category"), get("tags")) {
            (Some(c), Some(t)) => Some(format!("{c} [{t}]")),
            (Some(c), None) => Some(c.to_string()),
            (None, Some(t)) => Some(format!("[{t}]")),
            (None, None) => None,
        };
        let id = match get("collab") {
            Some(c) => format!("{c}:line:{n}"),
            None => format!("line:{n}"),
        };
        let alg = match kind.as_str() {
            "pdq" => Algorithm::Pdq,
            "video_md5" | "photo_md5" | "md5" => Algorithm::Md5,
            "vpdq" | "video_vpdq" => {
                match crate::video::vpdq::parse_signal(get("signal_str").unwrap_or("")) {
                    Ok(frames) => {
                        let rec = b.record(&id, label.as_deref());
                        b.add_vpdq(rec, frames);
                    }
                    Err(e) => p.push(n, format!("vpdq: {e}")),
                }
                return;
            }
            "" => return p.push(n, "empty signal_type".into()),
            other => {
                b.ignore(&format!("signal_type {other}"));
                return;
            }
        };
        let Some(value) = get("signal_str") else {
            return p.push(n, "empty signal_str".into());
        };
        match parse_value(alg, value) {
            Ok(v) => {
                let rec = b.record(&id, label.as_deref());
                b.add(rec, alg, &v, None);
            }
            Err(e) => p.push(n, e),
        }
    });
    if columns.is_none() {
        p.push(0, "no header line".into());
    }
}

/// Whether a CSV header line names at least one algorithm as a column.
pub(super) fn header_names_algorithm(line: &str) -> bool {
    csv_fields(line).is_ok_and(|f| f.iter().any(|c| c.trim().parse::<Algorithm>().is_ok()))
}

/// The column names that give an entry its id, in order of preference.
const ID_COLUMNS: [&str; 6] = ["id", "path", "file", "filename", "name", "image"];
/// The column names that give an entry its label.
const LABEL_COLUMNS: [&str; 2] = ["label", "category"];

/// CSV with a header: every column named after an algorithm (`ahash`, `phash`,
/// `pdq`, `md5`...) holds that algorithm's hex values; an `id` (or `path`, `file`,
/// `filename`, `name`, `image`) column gives the id, a `label` (or `category`) column
/// the label; other columns are ignored. An empty cell is no value.
pub(super) fn parse_csv(r: &mut impl BufRead, b: &mut Builder, p: &mut Problems<'_>) {
    struct Header {
        len: usize,
        algs: Vec<(usize, Algorithm)>,
        id: Option<usize>,
        label: Option<usize>,
    }
    let mut header: Option<Header> = None;
    let mut values = Vec::new();
    for_each_line(r, p, |n, text, p| {
        if skip(text) {
            return;
        }
        let fields = match csv_fields(text) {
            Ok(f) => f,
            Err(e) => return p.push(n, e),
        };
        let Some(h) = &header else {
            let names: Vec<String> = fields
                .iter()
                .map(|f| f.trim().to_ascii_lowercase())
                .collect();
            let algs: Vec<(usize, Algorithm)> = names
                .iter()
                .enumerate()
                .filter_map(|(i, c)| Some((i, c.parse().ok()?)))
                .collect();
            if algs.is_empty() {
                p.push(
                    n,
                    "header names no algorithm column (ahash, dhash, phash, whash, pdq, md5...)"
                        .into(),
                );
            }
            let find = |choices: &[&str]| {
                choices
                    .iter()
                    .find_map(|c| names.iter().position(|x| x == c))
            };
            header = Some(Header {
                len: names.len(),
                algs,
                id: find(&ID_COLUMNS),
                label: find(&LABEL_COLUMNS),
            });
            return;
        };
        if fields.len() != h.len {
            return p.push(
                n,
                format!("{} fields, the header has {}", fields.len(), h.len),
            );
        }
        values.clear();
        for &(i, alg) in &h.algs {
            let hex = fields[i].trim();
            if hex.is_empty() {
                continue;
            }
            match parse_value(alg, hex) {
                Ok(v) => values.push((alg, v)),
                Err(e) => return p.push(n, format!("{alg} column: {e}")),
            }
        }
        if values.is_empty() {
            return p.push(n, "no hash in this row".into());
        }
        let cell = |c: Option<usize>| c.map(|i| fields[i].trim()).filter(|s| !s.is_empty());
        let id = cell(h.id).map_or_else(|| format!("line:{n}"), str::to_string);
        let rec = b.record(&id, cell(h.label));
        for (alg, v) in &values {
            b.add(rec, *alg, v, None);
        }
    });
    if header.is_none() {
        p.push(0, "no header line".into());
    }
}

/// One hex value per line. 32 digits are MD5 and 40 SHA-1; 16 (a 64-bit perceptual
/// hash) and 64 (PDQ or SHA-256) are ambiguous and need `--hashset-algorithm`.
pub(super) fn parse_plain(
    r: &mut impl BufRead,
    given: Option<Algorithm>,
    b: &mut Builder,
    p: &mut Problems<'_>,
) {
    let mut refused_ambiguous = false;
    for_each_line(r, p, |n, text, p| {
        if skip(text) {
            return;
        }
        let hex = text.trim();
        let alg = match given {
            Some(a) => a,
            None => match hex.len() {
                32 => Algorithm::Md5,
                40 => Algorithm::Sha1,
                16 | 64 => {
                    if !refused_ambiguous {
                        refused_ambiguous = true;
                        let choices = if hex.len() == 16 {
                            "ahash, dhash, phash, whash or blockhash"
                        } else {
                            "pdq or sha256"
                        };
                        p.push(
                            n,
                            format!(
                                "{} hex digits could be {choices}: phscan does not guess; name it with --hashset-algorithm",
                                hex.len()
                            ),
                        );
                    }
                    return;
                }
                _ => {
                    return p.push(
                        n,
                        format!(
                            "'{}' is not a hash of a known length (32 MD5, 40 SHA-1, or 16/64 with --hashset-algorithm)",
                            shorten(hex)
                        ),
                    )
                }
            },
        };
        match parse_value(alg, hex) {
            Ok(v) => {
                let rec = b.record(&format!("line:{n}"), None);
                b.add(rec, alg, &v, None);
            }
            Err(e) => p.push(n, e),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::csv_fields;

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_fields("a,b,,c").unwrap(), vec!["a", "b", "", "c"]);
        assert_eq!(
            csv_fields(r#"pdq,"x,y","say ""hi""",c"#).unwrap(),
            vec!["pdq", "x,y", "say \"hi\"", "c"]
        );
        assert!(csv_fields("\"open").is_err());
    }
}
