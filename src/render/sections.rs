//! What the rendered document says, in order: where it comes from (the report file
//! and each run's provenance), the findings, the accounting and whether it adds up,
//! the errors by stage. Written through [`Doc`], so HTML and Markdown say the same.

use std::collections::BTreeMap;
use std::io::{self, BufRead};

use super::input::{Item, Lines, PassError};
use super::model::{self, Model, ERROR_SAMPLE, MAX_CHART_KEYS};
use super::{each_match, Chart, Doc, Error, Source};

/// Findings per page (a fold of the findings table).
const PAGE: u64 = 500;
/// Pages shown unfolded at first.
const OPEN_PAGES: u64 = 4;

type Findings<'a> = dyn FnMut(&mut dyn Doc) -> Result<(), Error> + 'a;

pub(super) fn write(
    doc: &mut dyn Doc,
    m: &Model,
    src: &Source,
    findings: &mut Findings<'_>,
    write_err: impl Fn(io::Error) -> Error,
) -> Result<(), Error> {
    head(doc, m, src).map_err(&write_err)?;
    provenance(doc, m).map_err(&write_err)?;
    findings_head(doc, m).map_err(&write_err)?;
    findings(doc)?;
    super::accounting::accounting(doc, m).map_err(&write_err)?;
    errors(doc, m).map_err(&write_err)?;
    doc.end().map_err(&write_err)
}

fn head(doc: &mut dyn Doc, m: &Model, src: &Source) -> io::Result<()> {
    doc.start(&format!("phscan report: {}", src.path))?;
    doc.heading(1, "phscan report")?;
    doc.para(&format!(
        "Rendered by phscan {} at {} from {} ({} bytes, {} lines, SHA-256 {}). The \
         document holds no image content: no image, thumbnail or pixel of any file.",
        env!("CARGO_PKG_VERSION"),
        crate::report::utc_now_rfc3339(),
        src.path,
        src.bytes,
        src.lines,
        src.sha256
    ))?;
    if m.runs.len() > 1 {
        doc.para(&format!(
            "The report holds {} runs (merged reports), each from a `begin` record to its \
             `summary`; each is accounted for on its own and all together.",
            m.runs.len()
        ))?;
    }
    let unfinished: Vec<String> = m
        .runs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.summary.is_none())
        .map(|(i, r)| format!("run {} (line {})", i + 1, r.line))
        .collect();
    if let Some(n) = m.torn_line {
        doc.verdict(
            false,
            &format!(
                "Line {n}, the last, is cut short: the report was not written to its end. \
                 That line is not read."
            ),
        )?;
    }
    if !unfinished.is_empty() {
        doc.verdict(
            false,
            &format!(
                "The report is incomplete: no summary for {}. Its counts are taken from \
                 its records, which cover only what was reported before it ended.",
                unfinished.join(", ")
            ),
        )?;
    }
    Ok(())
}

fn provenance(doc: &mut dyn Doc, m: &Model) -> io::Result<()> {
    doc.heading(2, "Provenance")?;
    for (i, run) in m.runs.iter().enumerate() {
        if m.runs.len() > 1 {
            doc.heading(3, &format!("Run {} (from line {})", i + 1, run.line))?;
        }
        let b = &run.begin;
        let started = model::unix_from_rfc3339(&b.started_at);
        let (ended, elapsed, interrupted, exit) = match &run.summary {
            Some(s) => (
                match started {
                    Some(t) => crate::report::rfc3339_from_unix(
                        t + s.elapsed_seconds.max(0.0).round() as i64,
                    ),
                    None => "unknown (start time unreadable)".into(),
                },
                format!("{:.3} s", s.elapsed_seconds),
                if s.interrupted { "yes" } else { "no" }.to_string(),
                s.exit_code.to_string(),
            ),
            None => {
                let none = "not recorded (no summary)".to_string();
                (none.clone(), none.clone(), none.clone(), none)
            }
        };
        doc.table(&["", "value"])?;
        for (k, v) in [
            ("tool", format!("{} {}", b.tool, b.tool_version)),
            ("command", b.command.clone()),
            ("schema version", b.schema_version.to_string()),
            ("started (UTC)", b.started_at.clone()),
            ("ended (UTC)", ended),
            ("elapsed", elapsed),
            ("interrupted", interrupted),
            ("exit code", exit),
        ] {
            doc.row(&[k, &model::escape_text(&v)], &[])?;
        }
        doc.table_end()?;
        doc.heading(4, "Settings")?;
        let mut settings = Vec::new();
        flatten("", &b.config, &mut settings);
        doc.table(&["setting", "value"])?;
        for (k, v) in &settings {
            doc.row(&[k, v], &[])?;
        }
        doc.table_end()?;
        if !b.hashsets.is_empty() {
            doc.heading(4, "Hash sets")?;
            doc.table(&["name", "format", "SHA-256", "records", "entries", "ignored"])?;
            for h in &b.hashsets {
                let kv = |m: &BTreeMap<String, u64>| {
                    m.iter()
                        .map(|(k, v)| format!("{}: {v}", model::escape_text(k)))
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                let mut name = model::escape_text(&h.name);
                if let Some(p) = h.path.as_deref().filter(|p| *p != h.name) {
                    name.push_str(&format!("\n(file {})", model::escape_text(p)));
                }
                doc.row(
                    &[
                        &name,
                        &model::escape_text(&h.format),
                        &model::escape_text(&h.sha256),
                        &h.records.map_or("-".into(), |r| r.to_string()),
                        &kv(&h.entries),
                        &kv(&h.ignored),
                    ],
                    &[],
                )?;
            }
            doc.table_end()?;
        }
        for (j, k) in b.known.iter().enumerate() {
            doc.heading(4, &format!("Known-file list {}", j + 1))?;
            let mut rows = Vec::new();
            flatten("", &serde_json::Value::Object(k.clone()), &mut rows);
            doc.table(&["field", "value"])?;
            for (k, v) in &rows {
                doc.row(&[k, v], &[])?;
            }
            doc.table_end()?;
        }
    }
    Ok(())
}

/// A JSON value as `key.sub = value` rows; a path object (`path`, `path_bytes`) as
/// its path.
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    use serde_json::Value;
    match v {
        Value::Object(o) => {
            if let Some(Value::String(p)) = o.get("path") {
                if o.keys().all(|k| k == "path" || k == "path_bytes") {
                    let bytes = o.get("path_bytes").and_then(Value::as_str);
                    out.push((prefix.to_owned(), model::shown_path(p, bytes)));
                    return;
                }
            }
            for (k, v) in o {
                let key = if prefix.is_empty() {
                    model::escape_text(k)
                } else {
                    format!("{prefix}.{}", model::escape_text(k))
                };
                flatten(&key, v, out);
            }
        }
        Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => {
            let items: Vec<String> = a.iter().map(scalar).collect();
            out.push((prefix.to_owned(), items.join(", ")));
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        other => out.push((prefix.to_owned(), scalar(other))),
    }
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => model::escape_text(s),
        other => other.to_string(),
    }
}

fn findings_head(doc: &mut dyn Doc, m: &Model) -> io::Result<()> {
    let c = m.counted();
    doc.heading(2, "Findings")?;
    doc.para(&format!(
        "{} file{} and archive member{} matched, with {} hit{} in all; one row each \
         below, in the order of the report, with every hit.",
        c.matched,
        plural(c.matched),
        plural(c.matched),
        c.hits,
        plural(c.hits)
    ))?;
    if c.hits > 0 {
        let mut items: Vec<(String, u64)> = m
            .hits_by_list
            .by
            .iter()
            .map(|(k, v)| {
                let (set, label) = k.split_once('\u{0}').unwrap_or((k, ""));
                let label = if label.is_empty() {
                    "(no label)"
                } else {
                    label
                };
                (
                    format!(
                        "{} / {}",
                        model::escape_text(set),
                        model::escape_text(label)
                    ),
                    *v,
                )
            })
            .collect();
        if m.hits_by_list.others > 0 {
            items.push((
                format!("other pairs (past {MAX_CHART_KEYS})"),
                m.hits_by_list.others,
            ));
        }
        doc.chart(&Chart::Bars {
            title: "Hits by hash set and label".into(),
            unit: "hits",
            items,
        })?;
        let exact: Vec<String> = m
            .distances
            .iter()
            .filter(|(alg, _)| is_exact(alg))
            .map(|(alg, bins)| {
                format!("{} {}", model::escape_text(alg), bins.values().sum::<u64>())
            })
            .collect();
        if !exact.is_empty() {
            doc.para(&format!(
                "Hits by exact hash (always at distance 0): {}.",
                exact.join(", ")
            ))?;
        }
        for (alg, bins) in m.distances.iter().filter(|(alg, _)| !is_exact(alg)) {
            let max = bins
                .keys()
                .copied()
                .max()
                .unwrap_or(0)
                .max(threshold_hint(alg));
            doc.chart(&Chart::Histogram {
                title: format!("Hits by distance, {}", model::escape_text(alg)),
                bins: bins.iter().map(|(d, n)| (*d, *n)).collect(),
                max,
            })?;
        }
    }
    Ok(())
}

/// An exact hash (a digest of the bytes): its hits are all at distance 0.
fn is_exact(alg: &str) -> bool {
    matches!(alg, "md5" | "sha1" | "sha256")
}

/// The default threshold of an algorithm, so that a histogram's axis shows the range a
/// match can fall in.
fn threshold_hint(alg: &str) -> u32 {
    match alg {
        "pdq" => 31,
        "ahash" | "dhash" | "phash" | "whash" | "blockhash" => 10,
        _ => 0,
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The findings table, from the second pass over the report.
pub(super) fn findings<R: BufRead>(
    doc: &mut dyn Doc,
    m: &Model,
    lines: Lines<R>,
) -> Result<(), PassError> {
    let total = m.counted().matched;
    if total == 0 {
        return Ok(());
    }
    let head = [
        "line",
        "path",
        "member",
        "size",
        "format",
        "SHA-256",
        "hash set",
        "id",
        "label",
        "algorithm",
        "distance",
        "transform / variant / frame / frames matched",
    ];
    let mut n = 0u64;
    each_match(lines, &mut |line, item: Item<'_>| {
        if n.is_multiple_of(PAGE) {
            if n > 0 {
                doc.table_end()?;
                doc.fold_end()?;
            }
            let last = (n + PAGE).min(total);
            doc.fold(
                &format!("Findings {} to {last} of {total}", n + 1),
                n / PAGE < OPEN_PAGES,
            )?;
            doc.table(&head)?;
        }
        n += 1;
        let sub: Vec<Vec<String>> = item
            .hits
            .iter()
            .flatten()
            .map(|h| {
                let variant = hit_variant(h);
                vec![
                    model::escape_text(&h.hashset),
                    model::escape_text(&h.id),
                    h.label
                        .as_deref()
                        .map(model::escape_text)
                        .unwrap_or_default(),
                    model::escape_text(&h.algorithm),
                    h.distance.to_string(),
                    model::escape_text(&variant),
                ]
            })
            .collect();
        let sha = item.hashes.as_ref().and_then(|h| h.sha256.as_deref());
        doc.row(
            &[
                &line.to_string(),
                &model::shown_path(&item.path, item.path_bytes.as_deref()),
                &model::shown_member(&item),
                &item.size.map(|s| s.to_string()).unwrap_or_default(),
                &item
                    .format
                    .as_deref()
                    .map(model::escape_text)
                    .unwrap_or_default(),
                &sha.map(model::escape_text).unwrap_or_default(),
            ],
            &sub,
        )
    })?;
    if n > 0 {
        doc.table_end()?;
        doc.fold_end()?;
    }
    if n != total {
        return Err(PassError::Line(
            0,
            format!("the report changed while it was read: {total} matches, then {n}"),
        ));
    }
    Ok(())
}

fn errors(doc: &mut dyn Doc, m: &Model) -> io::Result<()> {
    doc.heading(2, "Errors by stage")?;
    if m.errors.is_empty() {
        return doc.para("No error records.");
    }
    doc.table(&["stage", "errors"])?;
    for (stage, g) in &m.errors {
        doc.row(&[&model::escape_text(stage), &g.count.to_string()], &[])?;
    }
    doc.table_end()?;
    for (stage, g) in &m.errors {
        let listed = g.listed.len() as u64;
        doc.fold(
            &format!(
                "{}: {} error{}",
                model::escape_text(stage),
                g.count,
                plural(g.count)
            ),
            g.count <= 50,
        )?;
        doc.table(&["line", "path", "member", "message", "size", "format"])?;
        for e in &g.listed {
            doc.row(
                &[
                    &e.line.to_string(),
                    &e.path,
                    &e.member,
                    &e.message,
                    &e.size.map(|s| s.to_string()).unwrap_or_default(),
                    e.format.as_deref().unwrap_or_default(),
                ],
                &[],
            )?;
        }
        doc.table_end()?;
        if g.count > listed {
            doc.para(&format!(
                "The first {ERROR_SAMPLE} are listed; {} more errors of this stage are in \
                 the report itself.",
                g.count - listed
            ))?;
        }
        doc.fold_end()?;
    }
    Ok(())
}

/// The findings table's last column for one hit: the dihedral transform, the
/// variant (with a trimmed box or the agreeing regions), the frame, or a video's
/// shares of matching frames.
fn hit_variant(h: &super::input::Hit<'_>) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(t) = &h.transform {
        parts.push(t.to_string());
    }
    if let Some(v) = &h.variant {
        let mut s = v.to_string();
        if let Some(b) = h.trim_box {
            s += &format!(" {}x{} at ({}, {})", b.width, b.height, b.x, b.y);
        }
        if let Some(r) = &h.regions {
            let names: Vec<&str> = r.iter().map(|r| r.as_ref()).collect();
            s += &format!(" ({})", names.join(", "));
        }
        parts.push(s);
    }
    if let Some(f) = h.frame {
        parts.push(format!("frame {f}"));
    }
    if let (true, Some(q), Some(c)) = (
        parts.is_empty(),
        h.query_match_percent,
        h.compared_match_percent,
    ) {
        parts.push(format!(
            "{q:.1} % of the video's, {c:.1} % of the listed one's"
        ));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(rest: &str) -> String {
        let json = format!(r#"{{"hashset":"l","id":"x","algorithm":"pdq","distance":3{rest}}}"#);
        let hit: super::super::input::Hit<'_> = serde_json::from_str(&json).unwrap();
        hit_variant(&hit)
    }

    /// The findings table says what matched: transform, variant with its box or
    /// regions, frame, or a video's shares.
    #[test]
    fn the_findings_column_names_what_matched() {
        assert_eq!(column(r#","transform":"rot90""#), "rot90");
        assert_eq!(
            column(
                r#","transform":"orig","variant":"trimmed","box":{"x":10,"y":20,"width":300,"height":200}"#
            ),
            "orig, trimmed 300x200 at (10, 20)"
        );
        assert_eq!(
            column(r#","variant":"regions","regions":["top","q-br"]"#),
            "regions (top, q-br)"
        );
        assert_eq!(column(r#","variant":"crop90-tl""#), "crop90-tl");
        assert_eq!(
            column(r#","transform":"flipx","frame":4"#),
            "flipx, frame 4"
        );
        assert_eq!(
            column(r#","query_match_percent":80.0,"compared_match_percent":75.5"#),
            "80.0 % of the video's, 75.5 % of the listed one's"
        );
        assert_eq!(column(""), "");
    }
}
