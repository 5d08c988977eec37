//! A small process-wide pool of coefficient buffers, so that hot operations (key switching,
//! rotations, rescaling) and the polynomials they return reuse memory instead of asking the
//! allocator for fresh, page-faulting pages on every call (glibc returns freed megabyte-sized
//! blocks to the kernel, so each call would otherwise fault and clear its pages again).
//!
//! Buffers are recycled either holding public data (ciphertext-derived temporaries) or after
//! being zeroized (see `RnsPoly::wipe_and_recycle`); a buffer is handed out again zero-filled.

use std::sync::Mutex;

/// Most bytes the pool retains (larger pools only hold memory); the oldest buffers make room.
const MAX_POOLED_BYTES: usize = 64 << 20;

/// Smallest buffer worth pooling: below it the allocator reuses memory well by itself (and small
/// objects, e.g. test-sized polynomials, never stay alive in the pool).
pub const MIN_POOLED_BYTES: usize = 256 << 10;

struct Pool {
    buffers: Vec<Vec<u64>>,
    bytes: usize,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    buffers: Vec::new(),
    bytes: 0,
});

/// A zero-filled vector of `len` words, reusing a pooled buffer of exactly that capacity (so
/// that no stale data hides in spare capacity), else allocating.
pub fn take_zeroed(len: usize) -> Vec<u64> {
    match take_buffer(len) {
        Some(mut v) => {
            v.clear();
            v.resize(len, 0);
            v
        }
        None => vec![0; len],
    }
}

/// A vector of `len` words whose contents are unspecified: a pooled buffer of exactly that
/// capacity as it was recycled (public data or zeros, see [`recycle`]; a shorter length is
/// zero-extended), else a fresh zero vector. For buffers whose every element is written before
/// being read: it saves [`take_zeroed`]'s zeroing pass.
pub fn take_for_overwrite(len: usize) -> Vec<u64> {
    match take_buffer(len) {
        Some(mut v) => {
            v.resize(len, 0);
            v
        }
        None => vec![0; len],
    }
}

/// The most recently pooled buffer of capacity `len`, removed from the pool.
fn take_buffer(len: usize) -> Option<Vec<u64>> {
    if len * 8 < MIN_POOLED_BYTES {
        return None;
    }
    POOL.lock().ok().and_then(|mut pool| {
        let best = pool.buffers.iter().rposition(|v| v.capacity() == len)?;
        let v = pool.buffers.remove(best);
        pool.bytes -= v.capacity() * 8;
        Some(v)
    })
}

/// An empty vector with capacity for `len` words (a pooled buffer when one of exactly that
/// capacity is free), to be filled by `extend` without a zeroing pass.
pub fn take_empty(len: usize) -> Vec<u64> {
    match take_buffer(len) {
        Some(mut v) => {
            v.clear();
            v
        }
        None => Vec::with_capacity(len),
    }
}

/// A copy of `src`, in a pooled buffer when one fits (see [`take_zeroed`]).
pub fn take_copy(src: &[u64]) -> Vec<u64> {
    match take_buffer(src.len()) {
        Some(mut v) => {
            v.clear();
            v.extend_from_slice(src);
            v
        }
        None => src.to_vec(),
    }
}

/// Returns a buffer to the pool (buffers below [`MIN_POOLED_BYTES`] are simply dropped; when the
/// pool is full the oldest buffers are dropped). Never pass a buffer holding secrets: zeroize it
/// first.
pub fn recycle(v: Vec<u64>) {
    let bytes = v.capacity() * 8;
    if !(MIN_POOLED_BYTES..=MAX_POOLED_BYTES).contains(&bytes) {
        return;
    }
    let evicted = match POOL.lock() {
        Ok(mut pool) => {
            let mut evicted = Vec::new();
            while pool.bytes + bytes > MAX_POOLED_BYTES && !pool.buffers.is_empty() {
                let old = pool.buffers.remove(0);
                pool.bytes -= old.capacity() * 8;
                evicted.push(old);
            }
            pool.bytes += bytes;
            pool.buffers.push(v);
            evicted
        }
        Err(_) => Vec::new(),
    };
    // Freed outside the lock.
    drop(evicted);
}

/// Asks the C allocator (glibc) to keep freed memory for reuse instead of handing it back to
/// the kernel: coefficient buffers are megabytes each, and glibc by default returns such blocks
/// on free (unmapping them, or trimming the heap's top), so every fresh ciphertext of a model's
/// run page-faulted and cleared its pages again. Once per process; buffers up to 32 MiB then come
/// from the heap, and a free heap top is kept. Measured in steady state (three calibrate-and-
/// measure rounds each way): the batch-8192 CryptoNets and TenSEAL plans 4.2-5.2 s with it,
/// 5.0-5.3 s without; batch 1 no clear difference; peak memory within 3%. A fresh process's
/// first large batch is slower with it (the MNIST tutorial's one cold batch: 9.3-9.7 s against
/// 8.4-8.6 s). A no-op on other C libraries (their allocators keep their own policies).
pub fn keep_freed_memory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        {
            // glibc's <malloc.h>: M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3 (the largest
            // threshold it accepts on 64-bit targets is 32 MiB)
            const M_TRIM_THRESHOLD: i32 = -1;
            const M_MMAP_THRESHOLD: i32 = -3;
            extern "C" {
                fn mallopt(param: i32, value: i32) -> i32;
            }
            // SAFETY: mallopt only changes the allocator's tuning parameters; both values are in
            // the ranges glibc documents, and a refusal (return 0) leaves the defaults in place.
            unsafe {
                mallopt(M_MMAP_THRESHOLD, 32 << 20);
                mallopt(M_TRIM_THRESHOLD, i32::MAX);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_zeroed_and_reused() {
        // An odd size no other test uses, so that the buffer found is this one.
        let len = MIN_POOLED_BYTES / 8 + 1237;
        let mut v = take_zeroed(len);
        assert_eq!(v, vec![0; len]);
        v.iter_mut().for_each(|x| *x = 7);
        let ptr = v.as_ptr();
        recycle(v);
        let w = take_zeroed(len);
        assert_eq!(w, vec![0; len]);
        assert_eq!(w.as_ptr(), ptr, "the pooled buffer is reused");
        recycle(w);
        let src: Vec<u64> = (0..len as u64).collect();
        let copy = take_copy(&src);
        assert_eq!(copy, src);
        let ptr = copy.as_ptr();
        recycle(copy);
        // The non-zeroing variant hands the same buffer back with its contents and full length.
        let dirty = take_for_overwrite(len);
        assert_eq!(dirty.as_ptr(), ptr);
        assert_eq!(dirty.len(), len);
        recycle(dirty);
        // Without a pooled buffer of that capacity it is a zero vector.
        assert_eq!(take_for_overwrite(len + 1), vec![0; len + 1]);
    }
}
