//! Charts as inline SVG: shapes and text only, every label escaped, nothing referred
//! to outside the element (no `xmlns` URL is needed inline in HTML).

use std::fmt::Write;

use super::html::escape;

/// Bars shown; the rest are summed into one.
const MAX_BARS: usize = 30;
const WIDTH: u32 = 760;
const LABEL_W: u32 = 300;
const BAR_H: u32 = 18;
const GAP: u32 = 6;
const COLOURS: [&str; 6] = [
    "#3b6ea5", "#d9822b", "#4d9a5b", "#a64d79", "#6b7f8c", "#b5a33a",
];

/// A label cut to `max` characters (the whole of it in the element's tooltip).
fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(max - 1).collect();
    t.push('\u{2026}');
    t
}

/// Horizontal bars, largest first.
pub(super) fn bars(title: &str, unit: &str, items: &[(String, u64)]) -> String {
    let mut items: Vec<(String, u64)> = items.to_vec();
    items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if items.len() > MAX_BARS {
        let rest: u64 = items[MAX_BARS - 1..].iter().map(|(_, n)| n).sum();
        let others = items.len() - (MAX_BARS - 1);
        items.truncate(MAX_BARS - 1);
        items.push((format!("{others} others"), rest));
    }
    let max = items.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let plot = WIDTH - LABEL_W - 90;
    let height = items.len() as u32 * (BAR_H + GAP) + GAP;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" \
         role=\"img\" aria-label=\"{}\">",
        escape(title)
    );
    for (i, (label, n)) in items.iter().enumerate() {
        let y = GAP + i as u32 * (BAR_H + GAP);
        let w = ((*n as f64 / max as f64) * plot as f64).round().max(1.0) as u32;
        let colour = COLOURS[i % COLOURS.len()];
        let _ = write!(
            s,
            "<g><title>{}: {n} {unit}</title>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{LABEL_W}\" y=\"{y}\" width=\"{w}\" height=\"{BAR_H}\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"{}\">{n}</text></g>",
            escape(label),
            LABEL_W - 6,
            y + BAR_H - 5,
            escape(&short(label, 44)),
            LABEL_W + w + 6,
            y + BAR_H - 5,
        );
    }
    s.push_str("</svg>");
    s
}

/// Vertical bars over distances 0 to `max`, with the axis labelled.
pub(super) fn histogram(title: &str, bins: &[(u32, u64)], max: u32) -> String {
    let (left, bottom, top) = (50u32, 36u32, 12u32);
    let plot_h = 110u32;
    let height = top + plot_h + bottom;
    let columns = max + 1;
    let step = ((WIDTH - left - 10) / columns).max(2);
    let peak = bins.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" \
         role=\"img\" aria-label=\"{}\">",
        escape(title)
    );
    let base = top + plot_h;
    let _ = write!(
        s,
        "<line x1=\"{left}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#444\"/>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{base}\" stroke=\"#444\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{peak}</text>\
         <text x=\"{}\" y=\"{base}\" text-anchor=\"end\">0</text>",
        left + columns * step,
        left - 4,
        top + 10,
        left - 4
    );
    for &(d, n) in bins {
        if d > max {
            continue;
        }
        let h = ((n as f64 / peak as f64) * plot_h as f64).round().max(1.0) as u32;
        let x = left + d * step + 1;
        let _ = write!(
            s,
            "<rect x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{h}\" fill=\"{}\">\
             <title>distance {d}: {n}</title></rect>",
            base - h,
            step.saturating_sub(2).max(1),
            COLOURS[0]
        );
    }
    // Distance labels: every one when they fit, else every fifth.
    let every = if step >= 18 { 1 } else { 5 };
    for d in (0..=max).filter(|d| d % every == 0 || *d == max) {
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{d}</text>",
            left + d * step + step / 2,
            base + 15
        );
    }
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">distance</text></svg>",
        left + columns * step / 2,
        base + 31
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_capped() {
        let items: Vec<(String, u64)> = (0..40)
            .map(|i| (format!("<list{i}>&\"x\""), 40 - i as u64))
            .collect();
        let s = bars("t<", "hits", &items);
        assert!(!s.contains("<list"), "{s}");
        assert!(s.contains("&lt;list0&gt;&amp;&quot;x&quot;"));
        assert_eq!(s.matches("<rect").count(), MAX_BARS);
        assert!(s.contains("11 others"));
        let h = histogram("h", &[(0, 5), (3, 1), (40, 1)], 31);
        assert_eq!(
            h.matches("<rect").count(),
            2,
            "a bin past the axis is not drawn"
        );
    }
}
