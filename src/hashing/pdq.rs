//! PDQ (ThreatExchange) 256-bit perceptual hash. Being written; see issue 3.

/// A 256-bit PDQ hash stored as the reference does: `w[i]` holds DCT row `i`,
/// bit `j` of `w[i]` is column `j`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct PdqHash(pub [u16; 16]);
