//! splitmix64: the small deterministic generator that the tests and benchmarks draw
//! random hashes and images from. One file for all of them: the library's unit tests
//! (`src/testrng.rs`), the integration tests and the benchmarks include it by path.

// Each user needs only some of these.
#![allow(dead_code)]

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `k` distinct bit positions below `bits`, in the order drawn.
    pub fn bits(&mut self, bits: u32, k: u32) -> Vec<u32> {
        let mut v: Vec<u32> = Vec::new();
        while v.len() < k as usize {
            let b = (self.next() % u64::from(bits)) as u32;
            if !v.contains(&b) {
                v.push(b);
            }
        }
        v
    }

    /// A number in [0, 1) with 24 random bits.
    pub fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}
