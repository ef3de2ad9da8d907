//! Containment of panics in per-file work: a panic in a decoder or hasher becomes an
//! error record for that file and the scan goes on.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static CONTAINED: Cell<bool> = const { Cell::new(false) };
}

static HOOK: Once = Once::new();

/// Installs (once) a panic hook that stays quiet for panics raised inside [`contain`],
/// which are reported as records instead, and defers to the previous hook otherwise.
fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !CONTAINED.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Runs `f`, turning a panic into `Err(message)`.
pub fn contain<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    let was = CONTAINED.with(|c| c.replace(true));
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    CONTAINED.with(|c| c.set(was));
    r.map_err(|payload| {
        let msg = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "unknown panic payload".to_string()
        };
        format!("internal panic: {msg}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_becomes_error() {
        let r: Result<(), String> = contain(|| panic!("boom {}", 7));
        assert_eq!(r.unwrap_err(), "internal panic: boom 7");
        assert_eq!(contain(|| 5).unwrap(), 5);
    }
}
