//! The ciphertext and plaintext types of the native backend.

use hetile_backend::{Level, Meta, Scale};
use hetile_ring::rns::RnsPoly;
use std::fmt;

/// An encoded plaintext (wiped on drop): a polynomial in NTT form over `Q_level = q_0..q_level`, its level, exact
/// scale and the fingerprint of the parameters it was encoded under.
#[derive(Clone, PartialEq)]
pub struct Plaintext {
    pub(crate) poly: RnsPoly,
    pub(crate) level: Level,
    pub(crate) scale: Scale,
    pub(crate) context: u64,
}

/// A decrypted plaintext holds `m + e`, from which the error (and with the ciphertext, the
/// secret) can be computed: every plaintext is wiped when dropped.
impl Drop for Plaintext {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.poly);
    }
}

impl Plaintext {
    /// The polynomial (NTT form over `Q_level`).
    pub fn poly(&self) -> &RnsPoly {
        &self.poly
    }
}

impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plaintext")
            .field("degree", &self.poly.degree())
            .field("level", &self.level)
            .field("scale", &format_args!("{}", self.scale))
            .finish()
    }
}

impl Meta for Plaintext {
    fn level(&self) -> Level {
        self.level
    }
    fn scale(&self) -> Scale {
        self.scale
    }
}

/// A ciphertext `(c0, c1)` with `c0 + c1*s = m + e (mod Q_level)`, both components in NTT form
/// over `Q_level`. A fresh secret-key encryption records the seed its uniform `c1` was drawn from
/// (`None` as soon as an operation changes `c1`), so that it can later be stored compressed.
#[derive(Clone, PartialEq)]
pub struct Ciphertext {
    pub(crate) c0: RnsPoly,
    pub(crate) c1: RnsPoly,
    pub(crate) level: Level,
    pub(crate) scale: Scale,
    pub(crate) context: u64,
    pub(crate) seed: Option<[u8; 32]>,
}

impl Drop for Ciphertext {
    /// The components' buffers (public data) go back to the ring's scratch pool, so that the
    /// next operation's output does not fault in fresh pages.
    fn drop(&mut self) {
        self.c0.recycle_in_place();
        self.c1.recycle_in_place();
    }
}

impl Ciphertext {
    /// The first component `c0`.
    pub fn c0(&self) -> &RnsPoly {
        &self.c0
    }
    /// The second component `c1`.
    pub fn c1(&self) -> &RnsPoly {
        &self.c1
    }
    /// The seed of `c1` for a fresh secret-key encryption, `None` otherwise.
    pub fn seed(&self) -> Option<[u8; 32]> {
        self.seed
    }
}

impl fmt::Debug for Ciphertext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ciphertext")
            .field("degree", &self.c0.degree())
            .field("level", &self.level)
            .field("scale", &format_args!("{}", self.scale))
            .field("seeded", &self.seed.is_some())
            .finish()
    }
}

impl Meta for Ciphertext {
    fn level(&self) -> Level {
        self.level
    }
    fn scale(&self) -> Scale {
        self.scale
    }
}
