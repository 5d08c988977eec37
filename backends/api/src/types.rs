//! Newtypes for the quantities the contract talks about.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The number of rescales a ciphertext has left: at level `l` it lives modulo `q_0 * ... * q_l`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Level(pub usize);

impl Level {
    /// The level as an index into the prime chain (the top prime of this level).
    pub fn index(self) -> usize {
        self.0
    }
    /// The level below, or `None` at level 0.
    pub fn below(self) -> Option<Level> {
        self.0.checked_sub(1).map(Level)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "level {}", self.0)
    }
}

/// The exact scaling factor of an encoded value (a message `m` is stored as about `m * scale`).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
pub struct Scale(f64);

impl Scale {
    /// A scale from its value. Returns `None` unless the value is finite and at least 1.
    pub fn new(value: f64) -> Option<Scale> {
        (value.is_finite() && value >= 1.0).then_some(Scale(value))
    }
    /// The scale `2^bits`. Returns `None` for bit counts outside `0..=1000`.
    pub fn from_log2(bits: f64) -> Option<Scale> {
        (0.0..=1000.0).contains(&bits).then(|| Scale(bits.exp2()))
    }
    /// The scale's value.
    pub fn value(self) -> f64 {
        self.0
    }
    /// log2 of the scale.
    pub fn log2(self) -> f64 {
        self.0.log2()
    }
    /// This scale divided by a prime (the scale after a rescale by that prime).
    pub fn div_prime(self, prime: u64) -> Scale {
        Scale(self.0 / prime as f64)
    }
}

/// The product of two scales (the scale of a product of ciphertexts).
impl std::ops::Mul for Scale {
    type Output = Scale;
    fn mul(self, other: Scale) -> Scale {
        Scale(self.0 * other.0)
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "2^{:.4}", self.log2())
    }
}

/// Number of usable slots of a ciphertext (N/2 for real or complex packing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SlotCount(pub usize);

impl SlotCount {
    /// The count as a `usize`.
    pub fn get(self) -> usize {
        self.0
    }
}

impl fmt::Display for SlotCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} slots", self.0)
    }
}

/// The degree N of the cyclotomic ring Z[X]/(X^N + 1); always a power of two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RingDegree(usize);

impl RingDegree {
    /// The degree `2^log_n`, or `None` when `log_n` is not in `1..=20`.
    pub fn from_log2(log_n: u32) -> Option<RingDegree> {
        (1..=20)
            .contains(&log_n)
            .then(|| RingDegree(1usize << log_n))
    }
    /// The degree N.
    pub fn get(self) -> usize {
        self.0
    }
    /// log2 N.
    pub fn log2(self) -> u32 {
        self.0.trailing_zeros()
    }
    /// The number of slots, N/2.
    pub fn slots(self) -> SlotCount {
        SlotCount(self.0 / 2)
    }
}

impl fmt::Display for RingDegree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "N = 2^{}", self.log2())
    }
}

/// A complex number for complex-slot encoding.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Complex {
    /// Real part.
    pub re: f64,
    /// Imaginary part.
    pub im: f64,
}

impl Complex {
    /// `re + i*im`.
    pub fn new(re: f64, im: f64) -> Complex {
        Complex { re, im }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_levels_behave() {
        assert!(Scale::new(0.5).is_none());
        assert!(Scale::new(f64::NAN).is_none());
        let s = Scale::from_log2(40.0).unwrap();
        assert_eq!(s.log2(), 40.0);
        assert_eq!((s * s).log2(), 80.0);
        assert_eq!(Level(0).below(), None);
        assert_eq!(Level(3).below(), Some(Level(2)));
        let n = RingDegree::from_log2(14).unwrap();
        assert_eq!(n.slots(), SlotCount(8192));
        assert!(RingDegree::from_log2(0).is_none());
    }
}
