//! An opt-in memo of a layer's encoded weights and biases, for servers that run the same model
//! on request after request: a batch-1 run re-encodes every weight plaintext (an FFT and a
//! forward NTT per limb each) on every request otherwise. Off by default, since a model run
//! once (or a model whose weights would not fit in memory twice) gains nothing from it.
//!
//! Entries are keyed by the backend type, the parameters' fingerprint, the tile shape, level
//! and scale, so that a cached plaintext is only ever reused where encoding again would give
//! the very same one. The cache holds at most [`WeightCache::MAX_BYTES`] (estimated from the
//! plaintexts' limbs); beyond that, weights are encoded on the fly as without a cache.

use crate::error::Result;
use hetile_backend::{Backend, Evaluator, Level, Scale};
use hetile_tiles::{PlainTileTensor, TileShape};
use std::any::{Any, TypeId};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What a cached plaintext is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// The weights of the product.
    Weights,
    /// The bias added to the result.
    Bias,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Key {
    backend: TypeId,
    params: u64,
    role: Role,
    shape: String,
    level: Level,
    scale_bits: u64,
}

type Entry = (Key, Arc<dyn Any + Send + Sync>);

/// A layer's memo of encoded plaintexts (see the module documentation). Cloning gives an
/// empty cache with the same setting; two caches compare equal (they hold no model data).
#[derive(Default)]
pub struct WeightCache {
    enabled: AtomicBool,
    bytes: AtomicUsize,
    entries: Mutex<Vec<Entry>>,
}

impl WeightCache {
    /// The most bytes of plaintexts one cache keeps.
    pub const MAX_BYTES: usize = 256 << 20;

    /// Turns the cache on or off (off drops what it holds).
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
        if !on {
            if let Ok(mut e) = self.entries.lock() {
                e.clear();
            }
            self.bytes.store(0, Ordering::Relaxed);
        }
    }

    /// The estimated bytes of the plaintexts held.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Whether the cache is on.
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// The plaintext tensor for `role` at `shape`, `level` and `scale`: the cached one, or
    /// `encode()`'s result (kept when the cache is on and has room). Errors: `encode`'s.
    pub(crate) fn get_or_encode<B: Backend>(
        &self,
        ev: &B::Evaluator,
        role: Role,
        shape: &TileShape,
        level: Level,
        scale: Scale,
        encode: impl FnOnce() -> Result<PlainTileTensor<B>>,
    ) -> Result<Arc<PlainTileTensor<B>>> {
        if !self.is_enabled() {
            return encode().map(Arc::new);
        }
        let key = Key {
            backend: TypeId::of::<B>(),
            params: ev.params().fingerprint(),
            role,
            shape: shape.to_string(),
            level,
            scale_bits: scale.value().to_bits(),
        };
        if let Ok(entries) = self.entries.lock() {
            if let Some(found) = entries
                .iter()
                .find(|(k, _)| *k == key)
                .and_then(|(_, v)| Arc::clone(v).downcast::<PlainTileTensor<B>>().ok())
            {
                return Ok(found);
            }
        }
        let p = Arc::new(encode()?);
        let size = p.num_tiles() * ev.params().degree().get() * 8 * (level.0 + 1);
        if self.bytes.load(Ordering::Relaxed) + size <= Self::MAX_BYTES {
            if let Ok(mut entries) = self.entries.lock() {
                self.bytes.fetch_add(size, Ordering::Relaxed);
                entries.push((key, p.clone() as Arc<dyn Any + Send + Sync>));
            }
        }
        Ok(p)
    }
}

impl Clone for WeightCache {
    fn clone(&self) -> WeightCache {
        let c = WeightCache::default();
        c.enabled.store(self.is_enabled(), Ordering::Relaxed);
        c
    }
}

impl PartialEq for WeightCache {
    fn eq(&self, _: &WeightCache) -> bool {
        true
    }
}

impl std::fmt::Debug for WeightCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeightCache")
            .field("enabled", &self.is_enabled())
            .field("bytes", &self.bytes.load(Ordering::Relaxed))
            .finish()
    }
}
