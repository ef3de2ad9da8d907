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
    let out = phscan()
        .args(["report", "-o"])
        .arg(&html)
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

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
    let pages = bytes
        .windows(10)
        .filter(|w| w == b"/Type /Pag" || w == b"/Type/Page")
        .count();
    assert!(pages >= 2, "{pages} pages");
}
