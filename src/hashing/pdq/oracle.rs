//! Test oracle: the blur and decimation written the plain way, as two full
//! image buffers and a 1-D box routine with an explicit stride, phase by
//! phase as SPEC-NOTES §1.3 describes. Slow, but its structure is obviously
//! the reference's, so the fast streaming version is checked against it.

use super::dct::{Image64, SIDE};
use super::jarosz::window_for;

/// One 1-D box over `n` samples `input[start + i·stride]`, written to the
/// same positions of `output`, in the four phases of the reference.
fn box_1d(input: &[f32], output: &mut [f32], start: usize, stride: usize, n: usize, w: usize) {
    let half = (w + 2) / 2;
    let at = |i: usize| start + i * stride;
    let (mut left, mut right, mut o) = (0, 0, 0);
    let mut sum = 0.0f32;
    let mut count = 0usize;
    // 1: fill the leading part of the window, no output.
    for _ in 0..half - 1 {
        sum += input[at(right)];
        count += 1;
        right += 1;
    }
    // 2: grow the window while writing.
    for _ in 0..w - half + 1 {
        sum += input[at(right)];
        count += 1;
        output[at(o)] = sum / count as f32;
        right += 1;
        o += 1;
    }
    // 3: full window sliding: add the new sample, then drop the oldest.
    for _ in 0..n - w {
        sum += input[at(right)];
        sum -= input[at(left)];
        output[at(o)] = sum / count as f32;
        left += 1;
        right += 1;
        o += 1;
    }
    // 4: shrink the window at the end.
    for _ in 0..half - 1 {
        sum -= input[at(left)];
        count -= 1;
        output[at(o)] = sum / count as f32;
        left += 1;
        o += 1;
    }
    debug_assert_eq!(o, n);
}

/// Two passes of (rows, then columns), then cell-centre decimation.
pub(super) fn downscale(luma: &[f32], width: usize, height: usize) -> Box<Image64> {
    let mut a = luma.to_vec();
    let mut b = vec![0.0f32; a.len()];
    let (wr, wc) = (window_for(width), window_for(height));
    for _ in 0..2 {
        for r in 0..height {
            box_1d(&a, &mut b, r * width, 1, width, wr);
        }
        for c in 0..width {
            box_1d(&b, &mut a, c, width, height, wc);
        }
    }
    let mut out = Box::new([0.0f32; SIDE * SIDE]);
    for i in 0..SIDE {
        let r = (((i as f64 + 0.5) * height as f64) / SIDE as f64) as usize;
        for j in 0..SIDE {
            let c = (((j as f64 + 0.5) * width as f64) / SIDE as f64) as usize;
            out[i * SIDE + j] = a[r * width + c];
        }
    }
    out
}

/// The DCT as two literal triple loops.
#[allow(clippy::needless_range_loop)]
pub(super) fn dct(a: &Image64) -> [[f32; 16]; 16] {
    let d = super::dct::basis_entry;
    let mut t = [[0.0f32; SIDE]; 16];
    for i in 0..16 {
        for j in 0..SIDE {
            let mut s = 0.0f32;
            for k in 0..SIDE {
                s += d(i, k) * a[k * SIDE + j];
            }
            t[i][j] = s;
        }
    }
    let mut b = [[0.0f32; 16]; 16];
    for i in 0..16 {
        for j in 0..16 {
            let mut s = 0.0f32;
            for k in 0..SIDE {
                s += t[i][k] * d(j, k);
            }
            b[i][j] = s;
        }
    }
    b
}
