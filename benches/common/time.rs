//! Timing for the benchmarks: wall-clock and CPU time together.

use std::time::Instant;

/// CPU time of this thread (or of the whole process), in seconds: on a shared machine it
/// counts only the time the benchmark was running, not the time other processes had
/// the core.
pub fn cpu_time(clock: libc::clockid_t) -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec to write to.
    unsafe { libc::clock_gettime(clock, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Seconds of wall-clock and CPU time.
#[derive(Clone, Copy)]
pub struct Time {
    pub wall: f64,
    pub cpu: f64,
}

/// Times `f`, counting CPU time of this thread, or of all threads if `all_threads`.
pub fn timed_on<T>(all_threads: bool, f: impl FnOnce() -> T) -> (T, Time) {
    let clock = if all_threads {
        libc::CLOCK_PROCESS_CPUTIME_ID
    } else {
        libc::CLOCK_THREAD_CPUTIME_ID
    };
    let (w, c) = (Instant::now(), cpu_time(clock));
    let out = f();
    let time = Time {
        wall: w.elapsed().as_secs_f64(),
        cpu: cpu_time(clock) - c,
    };
    (out, time)
}
