//! Process-level trade-offs the binary makes for a one-shot command; the library, its tests
//! and long-lived callers keep the defaults.
//!
//! - Freeing a monorepo's worth of parsed and planned objects right before the process exits
//!   costs tens of milliseconds and returns nothing (clang's `-disable-free` makes the same
//!   trade): after [`leak_at_exit`], [`dispose`] leaks.
//! - glibc grows the heap 128 KiB at a time and trims it whenever 128 KiB at its top is
//!   free; a render that builds and drops hundreds of thousands of small trees spent about a
//!   sixth of its time in that churn. [`tune_allocator`] pads each growth. With the `jemalloc`
//!   feature (the default) glibc's malloc serves nothing and the padding is left out.

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

/// Heap growth padding (glibc `M_TOP_PAD`): address space, not resident memory, until used.
#[cfg(all(target_os = "linux", target_env = "gnu", not(feature = "jemalloc")))]
const TOP_PAD_BYTES: i32 = 64 << 20;

/// Pads glibc's heap growth (a no-op elsewhere). Call once, before any work.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu", not(feature = "jemalloc")))]
    {
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        const M_TOP_PAD: i32 = -2;
        // SAFETY: mallopt only sets an allocator parameter; it is called before any thread
        // exists. Its result (0 when the value is refused) changes nothing we rely on.
        unsafe {
            mallopt(M_TOP_PAD, TOP_PAD_BYTES);
        }
    }
}
