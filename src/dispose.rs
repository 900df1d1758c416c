//! Freeing a monorepo's worth of parsed and planned objects right before the process exits
//! costs tens of milliseconds and returns nothing (clang's `-disable-free` makes the same
//! trade). The binary calls [`leak_at_exit`] before a one-shot command; the library, its
//! tests and long-lived callers free as usual.

use std::sync::atomic::{AtomicBool, Ordering};

static LEAK: AtomicBool = AtomicBool::new(false);

/// From now on, [`dispose`] leaks instead of freeing: the process is about to exit.
pub fn leak_at_exit() {
    LEAK.store(true, Ordering::Relaxed);
}

/// Drops `v`, unless the process has said it exits after this command.
pub(crate) fn dispose<T>(v: T) {
    if LEAK.load(Ordering::Relaxed) {
        std::mem::forget(v);
    } else {
        drop(v);
    }
}
