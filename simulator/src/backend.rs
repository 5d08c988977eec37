//! The simulated backend's types: metadata-only ciphertexts and plaintexts.

use crate::client::SimClient;
use crate::evaluator::SimEvaluator;
use crate::memory::{MemoryTracker, ObjKind};
use hetile_backend::{Backend, Error, Level, Meta, Params, Result, Scale};
use std::fmt;
use std::sync::Arc;

/// The simulator backend family (`NAME = "sim"`): ciphertexts and plaintexts hold only their
/// level, exact scale and the fingerprint of their parameters, so the real tile and layer code
/// runs on it unchanged, raises the errors the native backend raises, and costs next to
/// nothing. Decryption and decoding return zeros: there are no values.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimBackend;

impl Backend for SimBackend {
    const NAME: &'static str = "sim";
    const METADATA_ONLY: bool = true;
    type Ciphertext = SimCiphertext;
    type Plaintext = SimPlaintext;
    type Evaluator = SimEvaluator;
    type Client = SimClient;
}

/// The metadata both simulated objects carry, registered with a [`MemoryTracker`] while alive.
struct Tracked {
    kind: ObjKind,
    level: Level,
    scale: Scale,
    context: u64,
    tracker: Arc<MemoryTracker>,
}

impl Tracked {
    fn new(
        kind: ObjKind,
        level: Level,
        scale: Scale,
        context: u64,
        tracker: &Arc<MemoryTracker>,
    ) -> Tracked {
        tracker.created(kind, level);
        Tracked {
            kind,
            level,
            scale,
            context,
            tracker: Arc::clone(tracker),
        }
    }

    fn set_level(&mut self, level: Level) {
        if level != self.level {
            self.tracker.moved(self.kind, self.level, level);
            self.level = level;
        }
    }
}

impl Clone for Tracked {
    fn clone(&self) -> Tracked {
        Tracked::new(
            self.kind,
            self.level,
            self.scale,
            self.context,
            &self.tracker,
        )
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.tracker.dropped(self.kind, self.level);
    }
}

/// A simulated ciphertext: level, exact scale and parameter fingerprint only. Creating, cloning
/// and dropping one is recorded by the [`MemoryTracker`] of the client that made it.
#[derive(Clone)]
pub struct SimCiphertext(Tracked);

/// A simulated plaintext: level, exact scale and parameter fingerprint only.
#[derive(Clone)]
pub struct SimPlaintext(Tracked);

impl SimCiphertext {
    pub(crate) fn new(
        level: Level,
        scale: Scale,
        context: u64,
        tracker: &Arc<MemoryTracker>,
    ) -> SimCiphertext {
        SimCiphertext(Tracked::new(
            ObjKind::Ciphertext,
            level,
            scale,
            context,
            tracker,
        ))
    }
    pub(crate) fn context(&self) -> u64 {
        self.0.context
    }
    pub(crate) fn set_level(&mut self, level: Level) {
        self.0.set_level(level);
    }
    pub(crate) fn set_scale(&mut self, scale: Scale) {
        self.0.scale = scale;
    }
    /// A new ciphertext with the same metadata, registered with `tracker`.
    pub(crate) fn derive(&self, scale: Scale, tracker: &Arc<MemoryTracker>) -> SimCiphertext {
        SimCiphertext::new(self.0.level, scale, self.0.context, tracker)
    }
}

impl SimPlaintext {
    pub(crate) fn new(
        level: Level,
        scale: Scale,
        context: u64,
        tracker: &Arc<MemoryTracker>,
    ) -> SimPlaintext {
        SimPlaintext(Tracked::new(
            ObjKind::Plaintext,
            level,
            scale,
            context,
            tracker,
        ))
    }
    pub(crate) fn context(&self) -> u64 {
        self.0.context
    }
}

impl Meta for SimCiphertext {
    fn level(&self) -> Level {
        self.0.level
    }
    fn scale(&self) -> Scale {
        self.0.scale
    }
}

impl Meta for SimPlaintext {
    fn level(&self) -> Level {
        self.0.level
    }
    fn scale(&self) -> Scale {
        self.0.scale
    }
}

impl fmt::Debug for SimCiphertext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimCiphertext")
            .field("level", &self.0.level)
            .field("scale", &self.0.scale)
            .finish()
    }
}

impl fmt::Debug for SimPlaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimPlaintext")
            .field("level", &self.0.level)
            .field("scale", &self.0.scale)
            .finish()
    }
}

/// Errors with [`Error::ContextMismatch`] unless an object was made under these parameters, and
/// with [`Error::InvalidLevel`] when its level is above the chain (the mock's check, less the
/// slot count, which a metadata-only object does not have).
/// `fingerprint` is `params.fingerprint()`, computed once by the caller.
pub(crate) fn check_context(
    params: &Params,
    fingerprint: u64,
    what: &str,
    context: u64,
    level: Level,
) -> Result<()> {
    if context != fingerprint {
        return Err(Error::ContextMismatch {
            what: format!("{what} was made under other parameters than {params}"),
        });
    }
    if level > params.max_level() {
        return Err(Error::InvalidLevel {
            requested: level,
            max: params.max_level(),
        });
    }
    Ok(())
}
