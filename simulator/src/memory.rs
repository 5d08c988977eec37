//! Live-object tracking of the simulator: ciphertexts and plaintexts alive per level, and the
//! peak of their nominal bytes.

use hetile_backend::{Level, Params};
use serde::{Deserialize, Serialize};
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
}

impl MemoryProfile {
    /// Peak nominal bytes including the evaluation keys.
    pub fn peak_total_bytes(&self) -> u64 {
        self.peak_bytes + self.key_bytes
    }
}

#[derive(Debug)]
struct State {
    profile: MemoryProfile,
}

/// Which kind of object a tracker entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjKind {
    Ciphertext,
    Plaintext,
}

/// The shared live-object counter of one simulated client and its evaluators.
#[derive(Debug)]
pub struct MemoryTracker {
    sizes: NominalSizes,
    state: Mutex<State>,
}

impl MemoryTracker {
    /// A tracker for objects under `params` and `switching_keys` evaluation keys.
    pub fn new(params: &Params, switching_keys: u64) -> Arc<MemoryTracker> {
        let sizes = NominalSizes::of(params);
        let levels = params.max_level().0 + 1;
        let profile = MemoryProfile {
            live_ciphertexts: vec![0; levels],
            live_plaintexts: vec![0; levels],
            peak_ciphertexts: vec![0; levels],
            peak_plaintexts: vec![0; levels],
            switching_keys,
            key_bytes: switching_keys * sizes.switching_key_bytes(),
            ..MemoryProfile::default()
        };
        Arc::new(MemoryTracker {
            sizes,
            state: Mutex::new(State { profile }),
        })
    }

    /// The nominal sizes used.
    pub fn sizes(&self) -> NominalSizes {
        self.sizes
    }

    /// A copy of the current profile.
    pub fn snapshot(&self) -> MemoryProfile {
        self.lock(|s| s.profile.clone())
    }

    fn lock<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }

    fn bytes(&self, kind: ObjKind, level: usize) -> u64 {
        match kind {
            ObjKind::Ciphertext => self.sizes.ciphertext_bytes(level),
            ObjKind::Plaintext => self.sizes.plaintext_bytes(level),
        }
    }

    /// Registers a new object (levels beyond the chain are clamped to the vectors' length; the
    /// simulator refuses such objects before they are created).
    pub(crate) fn created(&self, kind: ObjKind, level: Level) {
        let bytes = self.bytes(kind, level.0);
        self.lock(|s| {
            let p = &mut s.profile;
            let (live, created) = match kind {
                ObjKind::Ciphertext => (&mut p.live_ciphertexts, &mut p.ciphertexts_created),
                ObjKind::Plaintext => (&mut p.live_plaintexts, &mut p.plaintexts_created),
            };
            *created += 1;
            if let Some(c) = live.get_mut(level.0) {
                *c += 1;
            }
            p.live_bytes += bytes;
            if p.live_bytes > p.peak_bytes {
                p.peak_bytes = p.live_bytes;
                p.peak_ciphertexts.clone_from(&p.live_ciphertexts);
                p.peak_plaintexts.clone_from(&p.live_plaintexts);
            }
        });
    }

    /// Unregisters a dropped object.
    pub(crate) fn dropped(&self, kind: ObjKind, level: Level) {
        let bytes = self.bytes(kind, level.0);
        self.lock(|s| {
            let p = &mut s.profile;
            let live = match kind {
                ObjKind::Ciphertext => &mut p.live_ciphertexts,
                ObjKind::Plaintext => &mut p.live_plaintexts,
            };
            if let Some(c) = live.get_mut(level.0) {
                *c = c.saturating_sub(1);
            }
            p.live_bytes = p.live_bytes.saturating_sub(bytes);
        });
    }

    /// Moves a live object from one level to another (rescale, drop to level).
    pub(crate) fn moved(&self, kind: ObjKind, from: Level, to: Level) {
        self.dropped(kind, from);
        // A move is not a creation: undo the creation count that `created` adds.
        self.created(kind, to);
        self.lock(|s| match kind {
            ObjKind::Ciphertext => s.profile.ciphertexts_created -= 1,
            ObjKind::Plaintext => s.profile.plaintexts_created -= 1,
        });
    }
}
