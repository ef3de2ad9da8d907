//! What a reader sees: the HTML of a fixture scan's report opened in headless
//! Chromium (Debian's `chromium` package; `./setup.sh` installs it), to a screenshot
//! that is not blank and to a PDF. Without Chromium the test fails, naming the
//! package: it is never skipped.

#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{phscan, tempdir};

/// Chromium gets this long for each document.
const TIMEOUT: Duration = Duration::from_secs(120);

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser"] {
        if let Ok(out) = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
        {
            let p = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if out.status.success() && !p.is_empty() {
                return PathBuf::from(p);
            }
        }
    }
    panic!(
        "chromium not found: this test renders the HTML report in headless Chromium; \
         install Debian's `chromium` package (apt-get install chromium, or ./setup.sh)"
    );
}

/// Runs headless Chromium on `html` with `args` (an output option), killed after
/// [`TIMEOUT`].
fn run_chromium(html: &Path, profile: &Path, args: &[String]) {
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--window-size=1280,2000",
            "--run-all-compositor-stages-before-draw",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", html.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run chromium: {e}"));
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium {args:?} failed: {status}");
            return;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {args:?} took over {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `phscan report -o HTML REPORT`, which must succeed.
fn render_html(report: &Path, html: &Path) {
    let out = phscan()
        .args(["report", "-o"])
        .arg(html)
        .arg(report)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_html_report_renders_in_chromium_to_a_screenshot_and_a_pdf() {
    let dir = tempdir();
    let report = dir.join("scan.jsonl");
    let out = phscan()
        .args([
            "scan",
            "tests/fixtures",
            "tests/fixtures-archives",
            "--hashset",
            "hashsets/fixtures.jsonl",
            "--list-skipped",
            "--progress=never",
            "-o",
        ])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = dir.join("report.html");
    render_html(&report, &html);

    let png = dir.join("shot.png");
    let pdf = dir.join("report.pdf");
    let profile = dir.join("chromium-profile");
    run_chromium(
        &html,
        &profile,
        &[format!("--screenshot={}", png.display())],
    );
    run_chromium(
        &html,
        &profile,
        &[
            format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer".into(),
        ],
    );

    // The screenshot: text, tables and charts, so many colours and much that is not
    // white.
    let img = image::open(&png)
        .unwrap_or_else(|e| panic!("screenshot {}: {e}", png.display()))
        .to_rgb8();
    let (w, h) = img.dimensions();
    assert!(w >= 1000 && h >= 1000, "screenshot {w}x{h}");
    let mut colours = std::collections::HashSet::new();
    let mut inked = 0u64;
    for p in img.pixels() {
        colours.insert(p.0);
        if p.0.iter().any(|&c| c < 200) {
            inked += 1;
        }
    }
    let share = inked as f64 / (w as f64 * h as f64);
    assert!(
        colours.len() > 100,
        "{} distinct colours: blank?",
        colours.len()
    );
    assert!(
        share > 0.02,
        "{:.2}% of the pixels are not near white",
        share * 100.0
    );
    // Chart colours are there (the SVG drew).
    assert!(
        img.pixels().any(|p| p.0 == [0x3b, 0x6e, 0xa5]),
        "no chart bar in the screenshot"
    );

    let bytes = std::fs::read(&pdf).unwrap_or_else(|e| panic!("pdf {}: {e}", pdf.display()));
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    assert!(bytes.len() > 20_000, "PDF of {} bytes", bytes.len());
    let pages = pdf_pages(&bytes);
    assert!(pages >= 2, "{pages} pages");
}

/// Pages of a PDF as Chromium writes it (`/Type /Page` objects).
fn pdf_pages(pdf: &[u8]) -> usize {
    let all = pdf.windows(11).filter(|w| w == b"/Type /Page").count();
    let trees = pdf.windows(12).filter(|w| w == b"/Type /Pages").count();
    all - trees
}

/// A synthetic scan report of `n` matches.
fn report_of_matches(path: &Path, n: u64) {
    let mut text = String::from(
        "{\"type\":\"begin\",\"schema_version\":2,\"tool\":\"phscan\",\"tool_version\":\"0.1.0\",\"command\":\"scan\",\"started_at\":\"2026-12-04T00:00:00Z\",\"config\":{}}\n",
    );
    for i in 0..n {
        let sha = format!("{i:064x}");
        text.push_str(&format!(
            "{{\"type\":\"match\",\"path\":\"/evidence/f{i}.jpg\",\"size\":{i},\"format\":\"jpeg\",\"hashes\":{{\"sha256\":\"{sha}\"}},\"hits\":[{{\"hashset\":\"set.csv\",\"id\":\"e{i}\",\"label\":null,\"algorithm\":\"pdq\",\"distance\":3,\"transform\":\"orig\"}}]}}\n"
        ));
    }
    text.push_str(&format!(
        "{{\"type\":\"summary\",\"files_seen\":{n},\"members_seen\":0,\"matched\":{n},\"clean\":0,\"skipped\":{{}},\"failed\":{{}},\"hits\":{n},\"elapsed_seconds\":1.0,\"interrupted\":false,\"exit_code\":1}}\n"
    ));
    std::fs::write(path, text).unwrap();
}

/// Folded pages of findings (past the first four of 500 rows) are printed unfolded: a
/// fifth page of 500 rows adds pages to the PDF.
#[test]
fn folded_findings_are_printed() {
    let dir = tempdir();
    let profile = dir.join("chromium-profile");
    let mut pages = Vec::new();
    for n in [2000, 2500] {
        let report = dir.join(format!("m{n}.jsonl"));
        report_of_matches(&report, n);
        let html = dir.join(format!("m{n}.html"));
        render_html(&report, &html);
        let text = std::fs::read_to_string(&html).unwrap();
        assert_eq!(text.matches("<details open>").count(), 4);
        assert_eq!(
            text.matches("<details>").count(),
            if n > 2000 { 1 } else { 0 }
        );
        let pdf = dir.join(format!("m{n}.pdf"));
        run_chromium(
            &html,
            &profile,
            &[
                format!("--print-to-pdf={}", pdf.display()),
                "--no-pdf-header-footer".into(),
            ],
        );
        pages.push(pdf_pages(&std::fs::read(&pdf).unwrap()));
    }
    assert!(pages[0] >= 20, "{pages:?}");
    assert!(
        pages[1] >= pages[0] + 5,
        "the folded 500 rows were not printed: pages {pages:?}"
    );
}
