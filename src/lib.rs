//! phscan: find known images by perceptual and exact hash.
//!
//! Data flows one way: path -> bytes -> pixels -> hashes -> matches -> report.
//! Each stage is a module with one job.

pub mod hashing;
