//! The Markdown document (CommonMark with GitHub's tables): the same sections as the
//! HTML, charts as tables of their figures. Every character Markdown or HTML gives
//! meaning to is escaped, and URL-like text is broken, so a file name can neither
//! format the document nor become a link.

use std::io::{self, Write};

use super::{Chart, Doc};

pub(super) struct Markdown<'a> {
    out: io::BufWriter<&'a mut dyn Write>,
    columns: usize,
}

impl<'a> Markdown<'a> {
    pub(super) fn new(out: &'a mut dyn Write) -> Self {
        Markdown {
            out: io::BufWriter::with_capacity(1 << 16, out),
            columns: 0,
        }
    }
}

/// Text with Markdown's and HTML's special characters escaped, and what would start
/// an autolink broken (`scheme://`, `mailto:`, `xmpp:`, `www.`, an e-mail address), so
/// that no text formats the document or becomes a link.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '|' | '~' | '@'
            | '$' => {
                out.push('\\');
                out.push(c);
            }
            ':' if chars.peek() == Some(&'/') || ends_with_scheme(&out) => out.push_str("\\:"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out.replace("www.", "www\\.").replace("WWW.", "WWW\\.")
}

/// Whether `s` ends with a scheme that autolinks without `//`.
fn ends_with_scheme(s: &str) -> bool {
    let tail: String = s
        .chars()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let tail = tail.to_ascii_lowercase();
    tail.ends_with("mailto") || tail.ends_with("xmpp")
}

/// A table cell: escaped, its lines joined with `<br>`.
fn cell(s: &str) -> String {
    s.split('\n').map(escape).collect::<Vec<_>>().join("<br>")
}

impl Doc for Markdown<'_> {
    fn start(&mut self, _title: &str) -> io::Result<()> {
        Ok(())
    }

    fn heading(&mut self, level: u8, text: &str) -> io::Result<()> {
        let hashes = "#".repeat(level.clamp(1, 6) as usize);
        write!(self.out, "{hashes} {}\n\n", escape(text))
    }

    fn para(&mut self, text: &str) -> io::Result<()> {
        // A leading `-`, `=` or digit could start a list or an underline.
        let t = escape(text);
        let t = match t.chars().next() {
            Some('-' | '=' | '+') => format!("\\{t}"),
            _ => t,
        };
        write!(self.out, "{t}\n\n")
    }

    fn verdict(&mut self, ok: bool, text: &str) -> io::Result<()> {
        let mark = if ok { "Holds" } else { "Attention" };
        write!(self.out, "> **{mark}:** {}\n\n", escape(text))
    }

    fn table(&mut self, head: &[&str]) -> io::Result<()> {
        self.columns = head.len();
        let h: Vec<String> = head.iter().map(|h| cell(h)).collect();
        writeln!(self.out, "| {} |", h.join(" | "))?;
        writeln!(self.out, "|{}", " --- |".repeat(head.len()))
    }

    fn row(&mut self, cells: &[&str], sub: &[Vec<String>]) -> io::Result<()> {
        let mut all: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        // The sub-rows' columns, one line per sub-row.
        let width = sub.iter().map(Vec::len).max().unwrap_or(0);
        for col in 0..width {
            let lines: Vec<String> = sub
                .iter()
                .map(|r| r.get(col).map(|c| cell(c)).unwrap_or_default())
                .map(|c| if c.is_empty() { "\u{2013}".into() } else { c })
                .collect();
            all.push(lines.join("<br>"));
        }
        while all.len() < self.columns {
            all.push(String::new());
        }
        writeln!(self.out, "| {} |", all.join(" | "))
    }

    fn table_end(&mut self) -> io::Result<()> {
        writeln!(self.out)
    }

    fn fold(&mut self, summary: &str, _open: bool) -> io::Result<()> {
        write!(self.out, "**{}**\n\n", escape(summary))
    }

    fn fold_end(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn chart(&mut self, chart: &Chart) -> io::Result<()> {
        match chart {
            Chart::Bars { title, unit, items } => {
                write!(self.out, "**{}**\n\n", escape(title))?;
                let mut items = items.clone();
                items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                self.table(&["", unit])?;
                for (k, n) in &items {
                    self.row(&[k, &n.to_string()], &[])?;
                }
                self.table_end()
            }
            Chart::Histogram { title, bins, .. } => {
                write!(self.out, "**{}**\n\n", escape(title))?;
                self.table(&["distance", "hits"])?;
                for (d, n) in bins {
                    self.row(&[&d.to_string(), &n.to_string()], &[])?;
                }
                self.table_end()
            }
        }
    }

    fn end(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_formats_or_links() {
        assert_eq!(escape("a|b*c_[x](y)"), "a\\|b\\*c\\_\\[x\\]\\(y\\)");
        assert_eq!(escape("https://www.example"), "https\\://www\\.example");
        assert_eq!(escape("mailto:a@b and 12:00"), "mailto\\:a\\@b and 12:00");
        assert_eq!(escape("<b>&"), "&lt;b&gt;&amp;");
        assert_eq!(cell("one\ntwo"), "one<br>two");
    }
}
