//! [`Counting<B>`]: a backend decorator that counts and times every operation per kind and level.

use crate::ops::{OpCounts, OpKind};
use hetile_backend::{
    normalize_step, Backend, Client, Complex, Evaluator, KeyRequirements, Level, Meta, Params,
    Result, Scale,
};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Thread-safe operation counters shared by a counting client and all its evaluators.
#[derive(Debug, Default)]
pub struct OpCounter {
    counts: Mutex<OpCounts>,
}

impl OpCounter {
    /// Fresh, zeroed counters.
    pub fn new() -> Arc<OpCounter> {
        Arc::new(OpCounter::default())
    }

    /// Records `count` successful calls of `kind` at `level` that took `elapsed` in total.
    pub fn record(&self, kind: OpKind, level: Level, count: u64, elapsed: Duration) {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(kind, level.0, count, elapsed);
    }

    /// A copy of the counts so far.
    pub fn snapshot(&self) -> OpCounts {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Zeroes the counters.
    pub fn reset(&self) {
        *self.counts.lock().unwrap_or_else(PoisonError::into_inner) = OpCounts::new();
    }
}

/// The counting decorator over backend `B`: same ciphertexts and plaintexts, a client and
/// evaluators that forward every call to `B`'s and record each successful one in a shared
/// [`OpCounter`] (count and wall time, per [`OpKind`] and operand level). Failed calls are not
/// recorded.
///
/// Forwarded are the required operations and `rotate_many` (so `B`'s hoisting is kept; each
/// non-zero step counts one [`OpKind::Rotate`], and rotations by 0, which are free copies, are
/// not counted). The provided operations (`add`, `set_scale`, ...) run the contract's default
/// bodies on top of the counted ones.
pub struct Counting<B: Backend>(PhantomData<fn() -> B>);

impl<B: Backend> Backend for Counting<B> {
    const NAME: &'static str = "counting";
    const METADATA_ONLY: bool = B::METADATA_ONLY;
    type Ciphertext = B::Ciphertext;
    type Plaintext = B::Plaintext;
    type Evaluator = CountingEvaluator<B>;
    type Client = CountingClient<B>;
}

/// Times `f` and records it under `kind` at `level` when it succeeds.
fn timed<T>(
    counter: &OpCounter,
    kind: OpKind,
    level: Level,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let start = Instant::now();
    let out = f()?;
    counter.record(kind, level, 1, start.elapsed());
    Ok(out)
}

/// The counting evaluator: `B`'s evaluator and the shared counter.
pub struct CountingEvaluator<B: Backend> {
    inner: B::Evaluator,
    counter: Arc<OpCounter>,
}

impl<B: Backend> CountingEvaluator<B> {
    /// Wraps an evaluator of `B`, recording into `counter`.
    pub fn new(inner: B::Evaluator, counter: Arc<OpCounter>) -> CountingEvaluator<B> {
        CountingEvaluator { inner, counter }
    }
    /// The wrapped evaluator.
    pub fn inner(&self) -> &B::Evaluator {
        &self.inner
    }
    /// The shared counter.
    pub fn counter(&self) -> &Arc<OpCounter> {
        &self.counter
    }
}

impl<B: Backend> Evaluator<Counting<B>> for CountingEvaluator<B> {
    fn params(&self) -> &Params {
        self.inner.params()
    }

    fn encode(&self, values: &[f64], level: Level, scale: Scale) -> Result<B::Plaintext> {
        timed(&self.counter, OpKind::Encode, level, || {
            self.inner.encode(values, level, scale)
        })
    }

    fn encode_complex(
        &self,
        values: &[Complex],
        level: Level,
        scale: Scale,
    ) -> Result<B::Plaintext> {
        timed(&self.counter, OpKind::Encode, level, || {
            self.inner.encode_complex(values, level, scale)
        })
    }

    fn add_assign(&self, a: &mut B::Ciphertext, b: &B::Ciphertext) -> Result<()> {
        let l = a.level();
        timed(&self.counter, OpKind::Add, l, || {
            self.inner.add_assign(a, b)
        })
    }

    fn sub_assign(&self, a: &mut B::Ciphertext, b: &B::Ciphertext) -> Result<()> {
        let l = a.level();
        timed(&self.counter, OpKind::Add, l, || {
            self.inner.sub_assign(a, b)
        })
    }

    fn negate_assign(&self, a: &mut B::Ciphertext) -> Result<()> {
        let l = a.level();
        timed(&self.counter, OpKind::Negate, l, || {
            self.inner.negate_assign(a)
        })
    }

    fn add_plain_assign(&self, a: &mut B::Ciphertext, p: &B::Plaintext) -> Result<()> {
        let l = a.level();
        timed(&self.counter, OpKind::AddPlain, l, || {
            self.inner.add_plain_assign(a, p)
        })
    }

    fn sub_plain_assign(&self, a: &mut B::Ciphertext, p: &B::Plaintext) -> Result<()> {
        let l = a.level();
        timed(&self.counter, OpKind::AddPlain, l, || {
            self.inner.sub_plain_assign(a, p)
        })
    }

    fn add_scalar_assign(&self, a: &mut B::Ciphertext, c: f64) -> Result<()> {
        let l = a.level();
        timed(&self.counter, OpKind::AddScalar, l, || {
            self.inner.add_scalar_assign(a, c)
        })
    }

    fn mul_plain_assign(&self, a: &mut B::Ciphertext, p: &B::Plaintext) -> Result<()> {
        let l = a.level();
        timed(&self.counter, OpKind::MulPlain, l, || {
            self.inner.mul_plain_assign(a, p)
        })
    }

    fn mul_scalar_assign(&self, a: &mut B::Ciphertext, c: f64) -> Result<()> {
        let l = a.level();
        timed(&self.counter, OpKind::MulScalar, l, || {
            self.inner.mul_scalar_assign(a, c)
        })
    }

    fn mul_integer_assign(&self, a: &mut B::Ciphertext, k: i64) -> Result<()> {
        let l = a.level();
        timed(&self.counter, OpKind::MulInteger, l, || {
            self.inner.mul_integer_assign(a, k)
        })
    }

    fn mul(&self, a: &B::Ciphertext, b: &B::Ciphertext) -> Result<B::Ciphertext> {
        timed(&self.counter, OpKind::Mul, a.level(), || {
            self.inner.mul(a, b)
        })
    }

    fn rescale_assign(&self, a: &mut B::Ciphertext) -> Result<()> {
        let l = a.level();
        timed(&self.counter, OpKind::Rescale, l, || {
            self.inner.rescale_assign(a)
        })
    }

    fn drop_to_level_assign(&self, a: &mut B::Ciphertext, level: Level) -> Result<()> {
        let l = a.level();
        timed(&self.counter, OpKind::DropLevel, l, || {
            self.inner.drop_to_level_assign(a, level)
        })
    }

    fn rotate(&self, a: &B::Ciphertext, step: i64) -> Result<B::Ciphertext> {
        if normalize_step(step, self.inner.slots()) == 0 {
            return self.inner.rotate(a, step);
        }
        timed(&self.counter, OpKind::Rotate, a.level(), || {
            self.inner.rotate(a, step)
        })
    }

    fn conjugate(&self, a: &B::Ciphertext) -> Result<B::Ciphertext> {
        timed(&self.counter, OpKind::Conjugate, a.level(), || {
            self.inner.conjugate(a)
        })
    }

    fn has_rotation_key(&self, step: i64) -> bool {
        self.inner.has_rotation_key(step)
    }

    /// Forwards to `B`'s (possibly hoisted) `rotate_many`; records one rotation per non-zero
    /// step, the time split evenly among them.
    fn rotate_many(&self, a: &B::Ciphertext, steps: &[i64]) -> Result<Vec<B::Ciphertext>> {
        let slots = self.inner.slots();
        let nonzero = steps
            .iter()
            .filter(|&&s| normalize_step(s, slots) != 0)
            .count() as u64;
        let start = Instant::now();
        let out = self.inner.rotate_many(a, steps)?;
        if nonzero > 0 {
            self.counter
                .record(OpKind::Rotate, a.level(), nonzero, start.elapsed());
        }
        Ok(out)
    }
}

/// The counting client: `B`'s client and the counter its evaluators share.
pub struct CountingClient<B: Backend> {
    inner: B::Client,
    counter: Arc<OpCounter>,
}

impl<B: Backend> CountingClient<B> {
    /// Wraps a client of `B` with fresh counters.
    pub fn wrap(inner: B::Client) -> CountingClient<B> {
        CountingClient {
            inner,
            counter: OpCounter::new(),
        }
    }
    /// The wrapped client.
    pub fn inner(&self) -> &B::Client {
        &self.inner
    }
    /// The counter shared with every evaluator of this client.
    pub fn counter(&self) -> &Arc<OpCounter> {
        &self.counter
    }
    /// Shorthand for `self.counter().snapshot()`.
    pub fn snapshot(&self) -> OpCounts {
        self.counter.snapshot()
    }
}

impl<B: Backend> Client<Counting<B>> for CountingClient<B> {
    /// `B`'s client with fresh counters; `B`'s errors.
    fn new(params: &Params, keys: &KeyRequirements) -> Result<CountingClient<B>> {
        Ok(CountingClient::wrap(B::Client::new(params, keys)?))
    }

    fn new_insecure_seeded_for_tests(
        params: &Params,
        keys: &KeyRequirements,
        seed: u64,
    ) -> Result<CountingClient<B>> {
        Ok(CountingClient::wrap(
            B::Client::new_insecure_seeded_for_tests(params, keys, seed)?,
        ))
    }

    fn params(&self) -> &Params {
        self.inner.params()
    }

    fn key_requirements(&self) -> &KeyRequirements {
        self.inner.key_requirements()
    }

    fn evaluator(&self) -> Result<CountingEvaluator<B>> {
        Ok(CountingEvaluator::new(
            self.inner.evaluator()?,
            Arc::clone(&self.counter),
        ))
    }

    fn encode(&self, values: &[f64], level: Level, scale: Scale) -> Result<B::Plaintext> {
        timed(&self.counter, OpKind::Encode, level, || {
            self.inner.encode(values, level, scale)
        })
    }

    fn encode_complex(
        &self,
        values: &[Complex],
        level: Level,
        scale: Scale,
    ) -> Result<B::Plaintext> {
        timed(&self.counter, OpKind::Encode, level, || {
            self.inner.encode_complex(values, level, scale)
        })
    }

    fn encrypt(&self, pt: &B::Plaintext) -> Result<B::Ciphertext> {
        timed(&self.counter, OpKind::Encrypt, pt.level(), || {
            self.inner.encrypt(pt)
        })
    }

    fn encrypt_symmetric(&self, pt: &B::Plaintext) -> Result<B::Ciphertext> {
        timed(&self.counter, OpKind::Encrypt, pt.level(), || {
            self.inner.encrypt_symmetric(pt)
        })
    }

    fn decrypt(&self, ct: &B::Ciphertext) -> Result<B::Plaintext> {
        timed(&self.counter, OpKind::Decrypt, ct.level(), || {
            self.inner.decrypt(ct)
        })
    }

    fn decode(&self, pt: &B::Plaintext) -> Result<Vec<f64>> {
        timed(&self.counter, OpKind::Decode, pt.level(), || {
            self.inner.decode(pt)
        })
    }

    fn decode_complex(&self, pt: &B::Plaintext) -> Result<Vec<Complex>> {
        timed(&self.counter, OpKind::Decode, pt.level(), || {
            self.inner.decode_complex(pt)
        })
    }
}
