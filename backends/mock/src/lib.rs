//! hetile-mock: a plaintext backend with clear `f64` slots and exact CKKS bookkeeping.
