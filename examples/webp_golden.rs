//! The lossy WebPs of the PDQ golden test (`tests/pdq_golden.rs`), made in memory by
//! libwebp's encoder from a synthetic picture (waves, a disc, a bar; nothing of
//! anyone). The test makes them itself; this program only writes one to standard
//! output so that the reference peer can hash it without a file:
//!
//! ```text
//! cargo run --release --example webp_golden -- rgb  | DIR/venv/bin/python -c "$PY"
//! cargo run --release --example webp_golden -- rgba | DIR/venv/bin/python -c "$PY"
//! ```
//!
//! with `DIR` from `../shared/reference/setup.sh` and `PY` this one line (it calls
//! `pdq_ref.py`'s own `load_rgb` on the bytes, then `pdqhash.compute`, and prints the
//! file's SHA-256, the PDQ hash and its quality):
//!
//! ```text
//! import sys, io, hashlib; sys.path.insert(0, "../shared/reference"); import pdq_ref, pdqhash; b = sys.stdin.buffer.read(); a, _ = pdq_ref.load_rgb(io.BytesIO(b)); v, q = pdqhash.compute(a); print(hashlib.sha256(b).hexdigest(), pdq_ref.pdq_hex(v), q)
//! ```

/// 480x360, quality 75: RGB (a simple `VP8` file) or RGBA (`VP8X` + `ALPH` + `VP8`,
/// alpha a left-to-right ramp).
pub fn lossy_webp(alpha: bool) -> Vec<u8> {
    let (w, h) = (480usize, 360usize);
    let channels = if alpha { 4 } else { 3 };
    let mut px = Vec::with_capacity(w * h * channels);
    for y in 0..h {
        for x in 0..w {
            let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
            let (dx, dy) = (u - 0.62, v - 0.4);
            let disc = dx * dx + dy * dy < 0.03;
            for c in 0..channels {
                let phase = c as f32 * 0.9;
                let mut s = 0.5 + 0.35 * (9.0 * u + phase).sin() * (5.0 * v - phase).cos();
                if disc {
                    s = 0.9 - 0.3 * c as f32;
                }
                if (0.15..0.22).contains(&u) {
                    s = 0.1;
                }
                if c == 3 {
                    s = u;
                }
                px.push((s.clamp(0.0, 1.0) * 255.0).round() as u8);
            }
        }
    }
    let stride = (w * channels) as i32;
    let mut out = std::ptr::null_mut();
    // SAFETY: `px` holds h packed rows of `stride` bytes; libwebp returns a buffer of
    // `len` bytes of its own, copied and freed here.
    unsafe {
        let len = if alpha {
            libwebp_sys::WebPEncodeRGBA(px.as_ptr(), w as i32, h as i32, stride, 75.0, &mut out)
        } else {
            libwebp_sys::WebPEncodeRGB(px.as_ptr(), w as i32, h as i32, stride, 75.0, &mut out)
        };
        assert!(len > 0 && !out.is_null(), "libwebp encodes");
        let v = std::slice::from_raw_parts(out, len).to_vec();
        libwebp_sys::WebPFree(out.cast());
        v
    }
}

#[allow(dead_code)]
fn main() {
    use std::io::Write;
    let alpha = match std::env::args().nth(1).as_deref() {
        Some("rgb") => false,
        Some("rgba") => true,
        _ => {
            eprintln!("usage: webp_golden rgb|rgba > (a pipe to the reference)");
            std::process::exit(2);
        }
    };
    std::io::stdout().write_all(&lossy_webp(alpha)).unwrap();
}
