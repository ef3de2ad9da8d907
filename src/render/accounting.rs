//! The accounting section: each run's counts as its summary gives them and as its
//! records show them, whether they add up (`files_seen + members_seen = matched +
//! clean + skipped + failed`) and whether the records agree with the summary, each
//! said in so many words; for several runs, the totals too.

use std::collections::BTreeMap;
use std::io;

use super::input::Summary;
use super::model::{self, Counted, Model, Run};
use super::{Chart, Doc};

pub(super) fn accounting(doc: &mut dyn Doc, m: &Model) -> io::Result<()> {
    doc.heading(2, "Accounting")?;
    doc.para(
        "Every file and archive member found is counted once, as matched, clean, skipped \
         (with its reason) or failed (with its stage): files seen + members seen = matched \
         + clean + skipped + failed. The records column counts the report's own records: \
         matches and errors are always written; skipped and clean files only with \
         --list-skipped and --list-clean (every file hashed, for `hash`).",
    )?;
    for (i, run) in m.runs.iter().enumerate() {
        if m.runs.len() > 1 {
            doc.heading(3, &format!("Run {} (from line {})", i + 1, run.line))?;
        }
        run_accounting(doc, run)?;
    }
    if m.runs.len() > 1 {
        doc.heading(3, "All runs")?;
        let all = m.counted();
        let sums: Vec<&Summary> = m.runs.iter().filter_map(|r| r.summary.as_ref()).collect();
        if sums.len() == m.runs.len() {
            let total = sum_summaries(&sums);
            counts_table(doc, Some(&total), &all)?;
            identity(doc, &total)?;
        } else {
            counts_table(doc, None, &all)?;
            doc.verdict(
                false,
                "Not every run has a summary: the totals are the records'.",
            )?;
        }
    }
    let mut formats: Vec<(String, u64)> = m
        .formats
        .by
        .iter()
        .map(|(k, v)| (model::escape_text(k), *v))
        .collect();
    if m.formats.others > 0 {
        formats.push(("others".into(), m.formats.others));
    }
    if !formats.is_empty() {
        doc.chart(&Chart::Bars {
            title: "Files and members with a file record (match, clean, hash), by format".into(),
            unit: "files",
            items: formats,
        })?;
    }
    Ok(())
}

fn sum_summaries(sums: &[&Summary]) -> Summary {
    let mut t = sums[0].clone();
    for s in &sums[1..] {
        t.files_seen += s.files_seen;
        t.members_seen += s.members_seen;
        t.matched += s.matched;
        t.clean += s.clean;
        t.hits += s.hits;
        t.elapsed_seconds += s.elapsed_seconds;
        t.interrupted |= s.interrupted;
        for (k, v) in &s.skipped {
            *t.skipped.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &s.failed {
            *t.failed.entry(k.clone()).or_default() += v;
        }
    }
    t
}

fn run_accounting(doc: &mut dyn Doc, run: &Run) -> io::Result<()> {
    let c = &run.counted;
    let Some(s) = &run.summary else {
        counts_table(doc, None, c)?;
        return doc.verdict(
            false,
            &format!(
                "No summary: the run ended before its report was complete. Counted from its \
                 records: {} files and members, {} matched, {} clean, {} skipped, {} failed. \
                 Files not yet reached, and (without --list-skipped, --list-clean) skipped \
                 and clean files, are in no count: the report is incomplete.",
                c.records(),
                c.matched,
                c.clean + c.hash,
                c.skipped.values().sum::<u64>(),
                c.failed.values().sum::<u64>()
            ),
        );
    };
    counts_table(doc, Some(s), c)?;
    let more: Vec<String> = [
        (s.archives, "archives (files and members)"),
        (s.media_files, "images by content"),
        (
            s.pdq_low_quality,
            "PDQ hashes under the minimum quality, not matched",
        ),
        (
            s.partially_examined,
            "animations not examined to their last frame",
        ),
    ]
    .iter()
    .filter_map(|(n, what)| n.map(|n| format!("{n} {what}")))
    .collect();
    if !more.is_empty() {
        doc.para(&format!("Also in the summary: {}.", more.join("; ")))?;
    }
    identity(doc, s)?;
    if s.interrupted {
        doc.verdict(
            false,
            "The scan was interrupted (SIGINT or SIGTERM): the counts cover the files \
             reported before the stop; files not yet reached are in no count.",
        )?;
    }
    // The records that must match the summary's counts.
    let listed = |key: &str| run.begin.config.get(key).and_then(|v| v.as_bool());
    let mut agree = vec![("matched", s.matched, c.matched), ("hits", s.hits, c.hits)];
    let failed = s.failed.values().sum::<u64>();
    agree.push(("failed", failed, c.failed.values().sum()));
    let hash_command = run.begin.command == "hash";
    if hash_command || listed("list_clean") == Some(true) {
        agree.push(("clean", s.clean, c.clean + c.hash));
    }
    if listed("list_skipped") == Some(true) {
        agree.push((
            "skipped",
            s.skipped.values().sum(),
            c.skipped.values().sum(),
        ));
    }
    let stages_agree = s.failed.iter().all(|(k, v)| c.failed.get(k) == Some(v))
        && c.failed.iter().all(|(k, v)| s.failed.get(k) == Some(v));
    let off: Vec<String> = agree
        .iter()
        .filter(|(_, a, b)| a != b)
        .map(|(k, a, b)| format!("{k}: summary {a}, records {b}"))
        .collect();
    let names: Vec<&str> = agree.iter().map(|(k, _, _)| *k).collect();
    if off.is_empty() && stages_agree {
        doc.verdict(
            true,
            &format!(
                "The report's records agree with its summary ({}).",
                names.join(", ")
            ),
        )
    } else {
        let mut why = off.join("; ");
        if !stages_agree {
            why.push_str(if why.is_empty() { "" } else { "; " });
            why.push_str("failures by stage differ");
        }
        doc.verdict(
            false,
            &format!("The report's records do not agree with its summary: {why}."),
        )
    }
}

fn identity(doc: &mut dyn Doc, s: &Summary) -> io::Result<()> {
    let skipped: u64 = s.skipped.values().sum();
    let failed: u64 = s.failed.values().sum();
    let found = s.files_seen + s.members_seen;
    let outcomes = s.matched + s.clean + skipped + failed;
    let text = format!(
        "files seen + members seen = {} + {} = {found}; matched + clean + skipped + failed \
         = {} + {} + {skipped} + {failed} = {outcomes}",
        s.files_seen, s.members_seen, s.matched, s.clean
    );
    if found == outcomes {
        doc.verdict(true, &format!("The counts add up: {text}."))
    } else {
        doc.verdict(false, &format!("The counts do NOT add up: {text}."))
    }
}

fn counts_table(doc: &mut dyn Doc, s: Option<&Summary>, c: &Counted) -> io::Result<()> {
    doc.table(&["count", "summary", "records"])?;
    let sv = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    let mut row = |k: &str, a: Option<u64>, b: u64| doc.row(&[k, &sv(a), &b.to_string()], &[]);
    row("files seen", s.map(|s| s.files_seen), c.files)?;
    row("archive members seen", s.map(|s| s.members_seen), c.members)?;
    row("matched", s.map(|s| s.matched), c.matched)?;
    row("clean", s.map(|s| s.clean), c.clean + c.hash)?;
    let keys = |a: Option<&BTreeMap<String, u64>>, b: &BTreeMap<String, u64>| {
        let mut k: Vec<String> = b.keys().cloned().collect();
        k.extend(a.into_iter().flat_map(|a| a.keys().cloned()));
        k.sort();
        k.dedup();
        k
    };
    let skipped = s.map(|s| &s.skipped);
    row(
        "skipped",
        skipped.map(|m| m.values().sum()),
        c.skipped.values().sum(),
    )?;
    for k in keys(skipped, &c.skipped) {
        let a = skipped.map(|m| m.get(&k).copied().unwrap_or(0));
        row(
            &format!("  skipped: {}", model::escape_text(&k)),
            a,
            *c.skipped.get(&k).unwrap_or(&0),
        )?;
    }
    let failed = s.map(|s| &s.failed);
    row(
        "failed",
        failed.map(|m| m.values().sum()),
        c.failed.values().sum(),
    )?;
    for k in keys(failed, &c.failed) {
        let a = failed.map(|m| m.get(&k).copied().unwrap_or(0));
        row(
            &format!("  failed: {}", model::escape_text(&k)),
            a,
            *c.failed.get(&k).unwrap_or(&0),
        )?;
    }
    row("hits", s.map(|s| s.hits), c.hits)?;
    doc.table_end()
}
