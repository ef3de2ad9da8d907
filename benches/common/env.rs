//! Settings the benchmarks take from the environment.

/// `NAME` as a whole number (`10_000_000` allowed), or `default` when unset or not one.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}
