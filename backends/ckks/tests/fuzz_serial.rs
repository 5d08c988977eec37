//! Stable-Rust fuzzing of every deserializer: 10^4 random and mutated blobs per object kind,
//! zero panics, and a peak heap allocation below a stated cap (a counting global allocator).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hetile_ckks::serial::fuzz::{run, Fixture, FuzzKind};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Live bytes and the peak of live bytes since the last reset.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let grow = new_size - layout.size();
                let live = LIVE.fetch_add(grow, Ordering::Relaxed) + grow;
                PEAK.fetch_max(live, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Blobs per kind.
const ITERATIONS: u64 = 10_000;
/// Most heap bytes the deserializers may hold at once beyond what was live before the run
/// (the fixture, the test harness). Valid objects at N = 2^10 take well under 1 MiB; postcard
/// preallocates at most 1 MiB per sequence, whatever length a blob declares.
const ALLOCATION_CAP: usize = 8 << 20;

/// One test (not two): the counting allocator is process-wide, so nothing may run beside it.
#[test]
fn every_deserializer_survives_random_and_mutated_blobs() {
    let fixture = Fixture::new(7).unwrap();
    for kind in FuzzKind::ALL {
        fixture
            .decode(kind, fixture.valid_blob(kind))
            .unwrap_or_else(|e| panic!("the valid {kind:?} blob is refused: {e}"));
    }
    // Silence the default hook so that a panic is counted, not printed ten thousand times.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    for kind in FuzzKind::ALL {
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let report = run(&fixture, kind, ITERATIONS, 2026);
        let peak = PEAK.load(Ordering::Relaxed) - base;
        eprintln!("{report:?}, peak extra heap {peak} bytes");
        assert_eq!(report.iterations, ITERATIONS);
        assert_eq!(
            report.accepted + report.rejected + report.panics,
            ITERATIONS
        );
        // The mutations must reach the deep checks: most blobs are refused, some survive
        // (mutations of padding-free positions that keep a valid object, e.g. a changed
        // residue), and the generator is not trivially rejected at the header every time.
        assert!(report.rejected > ITERATIONS / 2, "{report:?}");
        if report.panics > 0 || peak > ALLOCATION_CAP {
            failures.push((report, peak));
        }
    }
    std::panic::set_hook(hook);
    assert!(
        failures.is_empty(),
        "panics or allocation over the cap: {failures:?}"
    );
}
