//! The HTML document: one file, its style inline, charts as inline SVG. No script, no
//! reference to anything outside the file (no link, no URL, no font), and no image
//! content of any kind: there is no `<img>` element and no `data:` URI, and the
//! Content-Security-Policy forbids loading anything even if a reader's browser were
//! asked to. Folded parts (`<details>`) are printed unfolded where the browser
//! supports `::details-content` (Chromium 131 and newer).

use std::io::{self, Write};

use super::{svg, Chart, Doc};

const STYLE: &str = "\
body{font-family:sans-serif;font-size:14px;color:#1b1b1b;background:#fff;margin:24px;max-width:1400px}\
h1{font-size:24px}h2{font-size:20px;margin-top:32px;border-bottom:2px solid #3b6ea5}\
h3{font-size:16px}h4{font-size:14px;margin-bottom:4px}\
table{border-collapse:collapse;margin:8px 0 16px}\
th,td{border:1px solid #b8c2cc;padding:3px 6px;text-align:left;vertical-align:top}\
th{white-space:nowrap}td.w{overflow-wrap:anywhere;min-width:12em;max-width:32em}\
td.x{font-family:monospace;font-size:12px;word-break:break-all;min-width:17em;max-width:17em}\
th{background:#dde6f0}tbody tr:nth-child(even) td{background:#f3f6f9}\
tbody tr.a td{background:#fff}tbody tr.b td{background:#f3f6f9}\
td.n{text-align:right;font-variant-numeric:tabular-nums}\
.ok{border-left:6px solid #2e7d32;background:#e8f5e9;padding:6px 10px;margin:8px 0}\
.bad{border-left:6px solid #c62828;background:#fdecea;padding:6px 10px;margin:8px 0}\
details{margin:6px 0}summary{cursor:pointer;font-weight:bold}\
figure{margin:12px 0}figcaption{font-size:12px;color:#444}\
svg text{font-family:sans-serif;font-size:12px;fill:#1b1b1b}\
@media print{details::details-content{content-visibility:visible;display:block}}";

pub(super) struct Html<'a> {
    out: io::BufWriter<&'a mut dyn Write>,
    /// Row groups so far in the open table (for banding).
    groups: u64,
}

impl<'a> Html<'a> {
    pub(super) fn new(out: &'a mut dyn Write) -> Self {
        Html {
            out: io::BufWriter::with_capacity(1 << 16, out),
            groups: 0,
        }
    }

    fn cell(&mut self, text: &str, rowspan: usize) -> io::Result<()> {
        self.out.write_all(b"<td")?;
        if rowspan > 1 {
            write!(self.out, " rowspan=\"{rowspan}\"")?;
        }
        // Numbers to the right; a digest in a narrow column of its own; other long
        // text (paths, messages) wrapped anywhere rather than widening the table.
        let class = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            Some("n")
        } else if text.len() >= 40 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Some("x")
        } else if text.len() > 24 {
            Some("w")
        } else {
            None
        };
        if let Some(c) = class {
            write!(self.out, " class=\"{c}\"")?;
        }
        self.out.write_all(b">")?;
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                self.out.write_all(b"<br>")?;
            }
            escape_into(&mut self.out, line)?;
        }
        self.out.write_all(b"</td>")
    }
}

/// Writes `s` with the characters HTML gives meaning to escaped.
pub(super) fn escape_into(out: &mut dyn Write, s: &str) -> io::Result<()> {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            b'\'' => b"&#39;",
            _ => continue,
        };
        out.write_all(&s.as_bytes()[last..i])?;
        out.write_all(rep)?;
        last = i + 1;
    }
    out.write_all(&s.as_bytes()[last..])
}

/// `s` with the characters HTML gives meaning to escaped.
pub(super) fn escape(s: &str) -> String {
    let mut v = Vec::with_capacity(s.len());
    let _ = escape_into(&mut v, s);
    String::from_utf8(v).unwrap_or_default()
}

impl Doc for Html<'_> {
    fn start(&mut self, title: &str) -> io::Result<()> {
        write!(
            self.out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'\">\n<meta name=\"referrer\" content=\"no-referrer\">\n\
             <title>{}</title>\n<style>{STYLE}</style></head>\n<body>\n",
            escape(title)
        )
    }

    fn heading(&mut self, level: u8, text: &str) -> io::Result<()> {
        let l = level.clamp(1, 6);
        writeln!(self.out, "<h{l}>{}</h{l}>", escape(text))
    }

    fn para(&mut self, text: &str) -> io::Result<()> {
        writeln!(self.out, "<p>{}</p>", escape(text))
    }

    fn verdict(&mut self, ok: bool, text: &str) -> io::Result<()> {
        let class = if ok { "ok" } else { "bad" };
        writeln!(self.out, "<p class=\"{class}\">{}</p>", escape(text))
    }

    fn table(&mut self, head: &[&str]) -> io::Result<()> {
        self.groups = 0;
        self.out.write_all(b"<table><thead><tr>")?;
        for h in head {
            write!(self.out, "<th>{}</th>", escape(h))?;
        }
        self.out.write_all(b"</tr></thead><tbody>\n")
    }

    fn row(&mut self, cells: &[&str], sub: &[Vec<String>]) -> io::Result<()> {
        // Rows of one table stripe by CSS; a row group (one finding, its hits) by class.
        let band = match (sub.is_empty(), self.groups % 2) {
            (true, _) => "",
            (false, 0) => " class=\"a\"",
            (false, _) => " class=\"b\"",
        };
        self.groups += 1;
        write!(self.out, "<tr{band}>")?;
        let span = sub.len();
        for c in cells {
            self.cell(c, span)?;
        }
        for (i, r) in sub.iter().enumerate() {
            if i > 0 {
                write!(self.out, "</tr>\n<tr{band}>")?;
            }
            for c in r {
                self.cell(c, 1)?;
            }
        }
        self.out.write_all(b"</tr>\n")
    }

    fn table_end(&mut self) -> io::Result<()> {
        self.out.write_all(b"</tbody></table>\n")
    }

    fn fold(&mut self, summary: &str, open: bool) -> io::Result<()> {
        let open = if open { " open" } else { "" };
        writeln!(
            self.out,
            "<details{open}><summary>{}</summary>",
            escape(summary)
        )
    }

    fn fold_end(&mut self) -> io::Result<()> {
        self.out.write_all(b"</details>\n")
    }

    fn chart(&mut self, chart: &Chart) -> io::Result<()> {
        let (title, svg) = match chart {
            Chart::Bars { title, unit, items } => (title, svg::bars(title, unit, items)),
            Chart::Histogram { title, bins, max } => (title, svg::histogram(title, bins, *max)),
        };
        writeln!(
            self.out,
            "<figure>{svg}<figcaption>{}</figcaption></figure>",
            escape(title)
        )
    }

    fn end(&mut self) -> io::Result<()> {
        self.out.write_all(b"</body></html>\n")?;
        self.out.flush()
    }
}
