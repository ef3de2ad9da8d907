//! Hash algorithms, one module per family.

pub mod pdq;
