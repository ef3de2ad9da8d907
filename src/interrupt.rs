//! Ctrl-C (SIGINT) and SIGTERM: the first one asks the scan to stop cleanly (workers
//! finish the file in hand, the report is completed with a summary marked
//! `"interrupted": true`, exit code 130); a second one ends the process at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// Exit code after an interruption, as shells report a SIGINT death.
pub const EXIT_CODE: i32 = 130;

#[cfg(unix)]
extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Installs the handlers (once per process).
pub fn install() {
    INSTALL.call_once(|| {
        #[cfg(unix)]
        // SAFETY: sigaction with a handler that only stores to an atomic; SA_RESETHAND
        // restores the default action, so a second signal terminates the process.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            sa.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
            libc::sigaction(libc::SIGTERM, &sa, std::ptr::null_mut());
        }
    });
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}
