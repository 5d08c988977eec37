//! Live-object tracking of the simulator: ciphertexts and plaintexts alive per level, and the
//! peak of their nominal bytes. Lock-free on the hot path (relaxed atomics); only a new peak
//! takes a lock to copy the per-level counts.

use hetile_backend::{Level, Params};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Nominal in-memory sizes of CKKS objects under some parameters: one `u64` per residue, a
/// ciphertext is two polynomials of `N` coefficients modulo each prime of its level, a plaintext
/// one, a key-switching key `2 * digits` polynomials modulo every ciphertext and special prime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NominalSizes {
    /// Ring degree N.
    pub degree: usize,
    /// Number of ciphertext primes (top level + 1).
    pub q_primes: usize,
    /// Number of special primes.
    pub p_primes: usize,
    /// Key-switching digits.
    pub digits: usize,
}

impl NominalSizes {
    /// The sizes under `params`.
    pub fn of(params: &Params) -> NominalSizes {
        NominalSizes {
            degree: params.degree().get(),
            q_primes: params.q().len(),
            p_primes: params.p().len(),
            digits: params.digits(),
        }
    }
    /// Bytes of a ciphertext at `level`.
    pub fn ciphertext_bytes(&self, level: usize) -> u64 {
        2 * self.plaintext_bytes(level)
    }
    /// Bytes of a plaintext at `level`.
    pub fn plaintext_bytes(&self, level: usize) -> u64 {
        (self.degree as u64) * (level as u64 + 1) * 8
    }
    /// Bytes of one key-switching key (relinearization, one rotation or conjugation).
    pub fn switching_key_bytes(&self) -> u64 {
        2 * self.digits.max(1) as u64
            * self.degree as u64
            * (self.q_primes + self.p_primes) as u64
            * 8
    }
}

/// Smallest polynomial the native backend's scratch pool keeps when it is freed
/// (`MIN_POOLED_BYTES` of `hetile_ring::scratch`).
pub const POOLED_POLY_BYTES: u64 = 256 << 10;

/// A snapshot of the live objects: counts now, and counts per level at the moment the nominal
/// bytes of live ciphertexts and plaintexts peaked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryProfile {
    /// Ciphertexts alive now, per level (index = level).
    pub live_ciphertexts: Vec<u64>,
    /// Plaintexts alive now, per level.
    pub live_plaintexts: Vec<u64>,
    /// Ciphertexts alive per level at the peak.
    pub peak_ciphertexts: Vec<u64>,
    /// Plaintexts alive per level at the peak.
    pub peak_plaintexts: Vec<u64>,
    /// Nominal bytes of live ciphertexts and plaintexts now.
    pub live_bytes: u64,
    /// The peak of the nominal bytes of live ciphertexts and plaintexts.
    pub peak_bytes: u64,
    /// Ciphertexts created in total (fresh, results and clones).
    pub ciphertexts_created: u64,
    /// Plaintexts created in total.
    pub plaintexts_created: u64,
    /// Number of key-switching keys (relinearization + rotations + conjugation) of the client.
    pub switching_keys: u64,
    /// Nominal bytes of those keys.
    pub key_bytes: u64,
    /// Nominal bytes of dropped objects whose polynomials are large enough for the native
    /// backend's scratch pool to keep ([`POOLED_POLY_BYTES`]); the pool's resident size grows
    /// with it up to its cap.
    #[serde(default)]
    pub recycled_bytes: u64,
    /// The nominal sizes of the parameters the objects were made under.
    #[serde(default)]
    pub sizes: Option<NominalSizes>,
}

impl MemoryProfile {
    /// Peak nominal bytes including the evaluation keys.
    pub fn peak_total_bytes(&self) -> u64 {
        self.peak_bytes + self.key_bytes
    }
}

/// Which kind of object a tracker entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjKind {
    Ciphertext,
    Plaintext,
}

impl ObjKind {
    fn index(self) -> usize {
        match self {
            ObjKind::Ciphertext => 0,
            ObjKind::Plaintext => 1,
        }
    }
}

/// Subtracts without wrapping below zero.
fn saturating_sub(a: &AtomicU64, v: u64) {
    let _ = a.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |x| {
        Some(x.saturating_sub(v))
    });
}

/// The shared live-object counter of one simulated client and its evaluators.
#[derive(Debug)]
pub struct MemoryTracker {
    sizes: NominalSizes,
    switching_keys: u64,
    /// Live objects per kind (ciphertext, plaintext) and level.
    live: [Box<[AtomicU64]>; 2],
    created: [AtomicU64; 2],
    live_bytes: AtomicU64,
    peak_bytes: AtomicU64,
    recycled_bytes: AtomicU64,
    /// Per-level counts at the peak (ciphertexts, plaintexts).
    at_peak: Mutex<[Vec<u64>; 2]>,
}

impl MemoryTracker {
    /// A tracker for objects under `params` and `switching_keys` evaluation keys.
    pub fn new(params: &Params, switching_keys: u64) -> Arc<MemoryTracker> {
        let sizes = NominalSizes::of(params);
        let levels = params.max_level().0 + 1;
        let zeros = || (0..levels).map(|_| AtomicU64::new(0)).collect::<Box<[_]>>();
        Arc::new(MemoryTracker {
            sizes,
            switching_keys,
            live: [zeros(), zeros()],
            created: [AtomicU64::new(0), AtomicU64::new(0)],
            live_bytes: AtomicU64::new(0),
            peak_bytes: AtomicU64::new(0),
            recycled_bytes: AtomicU64::new(0),
            at_peak: Mutex::new([vec![0; levels], vec![0; levels]]),
        })
    }

    /// The nominal sizes used.
    pub fn sizes(&self) -> NominalSizes {
        self.sizes
    }

    fn load_levels(counts: &[AtomicU64]) -> Vec<u64> {
        counts.iter().map(|c| c.load(Ordering::Relaxed)).collect()
    }

    /// A copy of the current profile.
    pub fn snapshot(&self) -> MemoryProfile {
        let [peak_ct, peak_pt] = self
            .at_peak
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        MemoryProfile {
            live_ciphertexts: Self::load_levels(&self.live[0]),
            live_plaintexts: Self::load_levels(&self.live[1]),
            peak_ciphertexts: peak_ct,
            peak_plaintexts: peak_pt,
            live_bytes: self.live_bytes.load(Ordering::Relaxed),
            peak_bytes: self.peak_bytes.load(Ordering::Relaxed),
            ciphertexts_created: self.created[0].load(Ordering::Relaxed),
            plaintexts_created: self.created[1].load(Ordering::Relaxed),
            switching_keys: self.switching_keys,
            key_bytes: self.switching_keys * self.sizes.switching_key_bytes(),
            recycled_bytes: self.recycled_bytes.load(Ordering::Relaxed),
            sizes: Some(self.sizes),
        }
    }

    fn bytes(&self, kind: ObjKind, level: usize) -> u64 {
        match kind {
            ObjKind::Ciphertext => self.sizes.ciphertext_bytes(level),
            ObjKind::Plaintext => self.sizes.plaintext_bytes(level),
        }
    }

    /// Adds an object to the live counts and the peak (levels beyond the chain are not
    /// counted per level; the simulator refuses such objects before they are created).
    fn add_live(&self, kind: ObjKind, level: Level) {
        if let Some(c) = self.live[kind.index()].get(level.0) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let bytes = self.bytes(kind, level.0);
        let now = self.live_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if now > self.peak_bytes.load(Ordering::Relaxed)
            && self.peak_bytes.fetch_max(now, Ordering::Relaxed) < now
        {
            let mut at = self.at_peak.lock().unwrap_or_else(PoisonError::into_inner);
            for (dst, src) in at.iter_mut().zip(&self.live) {
                for (d, s) in dst.iter_mut().zip(src.iter()) {
                    *d = s.load(Ordering::Relaxed);
                }
            }
        }
    }

    fn remove_live(&self, kind: ObjKind, level: Level) -> u64 {
        if let Some(c) = self.live[kind.index()].get(level.0) {
            saturating_sub(c, 1);
        }
        let bytes = self.bytes(kind, level.0);
        saturating_sub(&self.live_bytes, bytes);
        bytes
    }

    /// Registers a new object.
    pub(crate) fn created(&self, kind: ObjKind, level: Level) {
        self.created[kind.index()].fetch_add(1, Ordering::Relaxed);
        self.add_live(kind, level);
    }

    /// Unregisters a dropped object.
    pub(crate) fn dropped(&self, kind: ObjKind, level: Level) {
        let bytes = self.remove_live(kind, level);
        if self.sizes.plaintext_bytes(level.0) >= POOLED_POLY_BYTES {
            self.recycled_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// Moves a live object from one level to another (rescale, drop to level).
    pub(crate) fn moved(&self, kind: ObjKind, from: Level, to: Level) {
        self.remove_live(kind, from);
        self.add_live(kind, to);
    }
}
