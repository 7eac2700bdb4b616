//! How much source text the command line analyses at once. A file's analysis takes about 75
//! times its text in memory (tree-sitter's tree alone about 65 times: 660 MB for a 10 MB
//! file), so with one thread per core a run over a few big files took gigabytes: 8 threads on
//! eight 9 MB files held them all at once. Big files take a share of a fixed budget of text
//! bytes and wait for it; the peak stays bounded however many threads there are.
//!
//! It knows nothing of what is analysed: [`check_file`](super) takes a [`Permit`] for the size
//! it is about to read.

use std::cell::Cell;
use std::sync::{Condvar, Mutex, PoisonError};

/// A file smaller than this never waits: next to the budget its memory is small.
const BIG: u64 = 1 << 20;

/// The text bytes of big files analysed at once, unless `LOOPWISE_TEXT_BUDGET` (bytes, for
/// tests) says otherwise. A file bigger than the budget runs alone.
const BUDGET: u64 = 12 << 20;

static IN_FLIGHT: Mutex<u64> = Mutex::new(0);
static FREED: Condvar = Condvar::new();

thread_local! {
    // A check can check the modules it imports first, on the same thread: a permit held
    // already covers them (waiting for the budget it holds itself would never end).
    static HOLDING: Cell<bool> = const { Cell::new(false) };
}

/// A share of the budget, given back when dropped.
pub struct Permit {
    bytes: u64,
}

fn budget() -> u64 {
    static BUDGET_BYTES: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BUDGET_BYTES.get_or_init(|| {
        std::env::var("LOOPWISE_TEXT_BUDGET").ok().and_then(|value| value.parse().ok()).unwrap_or(BUDGET)
    })
}

/// Waits until a file of `size` bytes fits in the budget next to the big files being analysed.
pub fn permit(size: u64) -> Permit {
    if size < BIG || HOLDING.get() {
        return Permit { bytes: 0 };
    }
    let budget = budget();
    let bytes = size.min(budget).max(1);
    let mut in_flight = IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner);
    while *in_flight > 0 && *in_flight + bytes > budget {
        in_flight = FREED.wait(in_flight).unwrap_or_else(PoisonError::into_inner);
    }
    *in_flight += bytes;
    HOLDING.set(true);
    Permit { bytes }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.bytes == 0 {
            return;
        }
        let mut in_flight = IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner);
        *in_flight = in_flight.saturating_sub(self.bytes);
        HOLDING.set(false);
        FREED.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_files_wait_for_their_share_and_small_ones_never() {
        let big = budget() / 2 + 1;
        let first = permit(big);
        assert_eq!(*IN_FLIGHT.lock().expect("lock"), big);
        // The same thread checking an import meanwhile: covered by its permit.
        assert_eq!(permit(big).bytes, 0);
        let waited = std::thread::spawn(move || {
            let small = permit(BIG - 1);
            assert_eq!(small.bytes, 0, "a small file takes no share");
            let second = permit(big);
            second.bytes
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!waited.is_finished(), "a second big file waits while the first is analysed");
        drop(first);
        assert_eq!(waited.join().expect("thread"), big);
        assert_eq!(*IN_FLIGHT.lock().expect("lock"), 0);
    }
}
