//! PDQ (ThreatExchange) 256-bit perceptual hash. TEMPORARY interface-only placeholder
//! on main while the kernel is written on branch `pdq`; replaced by the merge.
#![allow(unused_variables)]

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct PdqHash(pub [u16; 16]);

#[derive(Debug)]
pub struct PdqParseError(String);
impl std::fmt::Display for PdqParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for PdqParseError {}

impl PdqHash {
    pub fn to_hex(&self) -> String {
        self.0.iter().rev().map(|w| format!("{w:04x}")).collect()
    }
    pub fn from_hex(s: &str) -> Result<PdqHash, PdqParseError> {
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(PdqParseError("expected 64 hex digits".into()));
        }
        let mut w = [0u16; 16];
        for i in 0..16 {
            w[15 - i] = u16::from_str_radix(&s[i * 4..i * 4 + 4], 16).unwrap();
        }
        Ok(PdqHash(w))
    }
    pub fn distance(&self, o: &PdqHash) -> u32 {
        self.0
            .iter()
            .zip(o.0.iter())
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }
    pub fn to_u64s(&self) -> [u64; 4] {
        let mut out = [0u64; 4];
        for (i, w) in self.0.iter().enumerate() {
            out[i / 4] |= (*w as u64) << (16 * (i % 4));
        }
        out
    }
}
impl std::fmt::Display for PdqHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dihedral {
    Orig,
    Rot90,
    Rot180,
    Rot270,
    FlipX,
    FlipY,
    FlipP,
    FlipM,
}
impl Dihedral {
    pub const ALL: [Dihedral; 8] = [
        Dihedral::Orig,
        Dihedral::Rot90,
        Dihedral::Rot180,
        Dihedral::Rot270,
        Dihedral::FlipX,
        Dihedral::FlipY,
        Dihedral::FlipP,
        Dihedral::FlipM,
    ];
    pub fn name(self) -> &'static str {
        [
            "orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipp", "flipm",
        ][self as usize]
    }
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PdqOutput {
    pub hash: PdqHash,
    pub quality: u8,
}
#[derive(Default)]
pub struct PdqHasher;
impl PdqHasher {
    pub fn new() -> Self {
        PdqHasher
    }
    pub fn hash_luma(&mut self, luma: &[f32], width: usize, height: usize) -> PdqOutput {
        todo!()
    }
    pub fn hash_luma_dihedral(
        &mut self,
        luma: &[f32],
        width: usize,
        height: usize,
    ) -> (u8, [PdqHash; 8]) {
        todo!()
    }
}
pub fn luma_from_rgb8(rgb: &[u8], width: usize, height: usize, out: &mut Vec<f32>) {
    todo!()
}
pub fn squash_nn_512_rgb8(rgb: &[u8], width: usize, height: usize) -> Option<Vec<u8>> {
    todo!()
}
