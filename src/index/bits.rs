//! Hash values as bit strings: slot keys and Hamming distance.
//!
//! `dist` uses `u64::count_ones`. It becomes the hardware `popcnt` instruction only
//! inside functions compiled with that target feature; the searches in this module
//! are monomorphised into such a function (see `super::dispatch`), so the hot loops
//! use `popcnt` whenever the CPU has it, and a portable bit count otherwise.

/// A fixed-width bit string that can be split into slots.
pub(crate) trait Bits: crate::slab::Plain {
    /// Number of bits.
    const BITS: u32;
    /// `width` bits (1..=32) starting at bit `off` (bit k of the hash is bit k % 64 of
    /// word k / 64), as the low bits of a `u32`.
    fn key(&self, off: u32, width: u32) -> u32;
    /// Hamming distance.
    fn dist(&self, other: &Self) -> u32;
}

impl Bits for [u64; 4] {
    const BITS: u32 = 256;

    #[inline(always)]
    fn key(&self, off: u32, width: u32) -> u32 {
        let i = (off / 64) as usize;
        let sh = off % 64;
        let mut v = self[i] >> sh;
        if sh + width > 64 {
            v |= self[i + 1] << (64 - sh);
        }
        (v & ((1u64 << width) - 1)) as u32
    }

    #[inline(always)]
    fn dist(&self, other: &Self) -> u32 {
        (self[0] ^ other[0]).count_ones()
            + (self[1] ^ other[1]).count_ones()
            + (self[2] ^ other[2]).count_ones()
            + (self[3] ^ other[3]).count_ones()
    }
}

impl Bits for u64 {
    const BITS: u32 = 64;

    #[inline(always)]
    fn key(&self, off: u32, width: u32) -> u32 {
        ((self >> off) & ((1u64 << width) - 1)) as u32
    }

    #[inline(always)]
    fn dist(&self, other: &Self) -> u32 {
        (self ^ other).count_ones()
    }
}

/// Number of `width`-bit values within Hamming distance `r` of a given one:
/// the sum of C(width, i) for i in 0..=r (saturating).
pub(crate) fn ball_size(width: u32, r: u32) -> u64 {
    let mut total: u64 = 0;
    let mut c: u64 = 1; // C(width, i)
    for i in 0..=r.min(width) {
        total = total.saturating_add(c);
        c = c.saturating_mul(u64::from(width - i)) / u64::from(i + 1);
    }
    total
}

/// Calls `f` with every `width`-bit value within Hamming distance `r` of `base`, each
/// exactly once (`base` itself first).
#[inline(always)]
pub(crate) fn for_each_within(base: u32, width: u32, r: u32, f: &mut impl FnMut(u32)) {
    // Radii 0 to 2 (nearly every search) as plain loops; more by recursion.
    f(base);
    match r {
        0 => {}
        1 => (0..width).for_each(|i| f(base ^ 1 << i)),
        2 => {
            for i in 0..width {
                let b = base ^ 1 << i;
                f(b);
                (i + 1..width).for_each(|j| f(b ^ 1 << j));
            }
        }
        _ => flips(base, 0, width, r, f),
    }
}

/// Values that differ from `base` in 1 to `left` of the bits `start..width`.
fn flips(base: u32, start: u32, width: u32, left: u32, f: &mut impl FnMut(u32)) {
    for b in start..width {
        let v = base ^ 1 << b;
        f(v);
        if left > 1 {
            flips(v, b + 1, width, left - 1, f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cross_words() {
        let h: [u64; 4] = [0x8000_0000_0000_0000, 0x1, 0, 0xF000_0000_0000_0000];
        assert_eq!(h.key(63, 2), 0b11);
        assert_eq!(h.key(60, 8), 0b11000);
        assert_eq!(h.key(252, 4), 0xF);
        assert_eq!(h.key(0, 16), 0);
        assert_eq!(0xABCD_u64.key(4, 8), 0xBC);
        assert_eq!(u64::MAX.key(40, 24), 0xFF_FFFF);
    }

    #[test]
    fn balls() {
        assert_eq!(ball_size(16, 0), 1);
        assert_eq!(ball_size(16, 1), 17);
        assert_eq!(ball_size(16, 2), 137);
        assert_eq!(ball_size(16, 3), 697);
        assert_eq!(ball_size(4, 9), 16);
        for (w, r) in [(5, 0), (5, 1), (5, 2), (7, 3), (9, 4), (9, 9), (16, 2)] {
            let mut seen = std::collections::HashSet::new();
            for_each_within(0b1, w, r, &mut |v| {
                assert!(v < 1 << w && (v ^ 1).count_ones() <= r);
                assert!(seen.insert(v));
            });
            assert_eq!(seen.len() as u64, ball_size(w, r));
        }
    }
}
