//! The splitmix64 generator the library's unit tests draw random images and hashes
//! from: the one file the integration tests and benchmarks share.

#[path = "../tests/common/rng.rs"]
mod rng;

pub(crate) use rng::Rng;
