//! [`Counting<B>`]: a backend decorator that counts and times every operation per kind and level.

use crate::ops::{OpCounts, OpKey, OpKind, OpStat};
use hetile_backend::{
    normalize_step, Backend, Client, Complex, Evaluator, KeyRequirements, Level, Meta, Params,
    Result, Scale,
};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Levels counted without a lock; operations at higher levels (longer chains than any preset)
/// go to a locked overflow map.
const FAST_LEVELS: usize = 64;

/// Thread-safe operation counters shared by a counting client and all its evaluators.
///
/// Lock-free on the hot path: one relaxed atomic counter (and one for the time) per kind and
/// level, no allocation per operation.
#[derive(Debug)]
pub struct OpCounter {
    counts: Box<[AtomicU64]>,
    nanos: Box<[AtomicU64]>,
    /// One more than the highest fast level recorded since the last reset (snapshots read
    /// the levels below it only).
    levels_used: AtomicUsize,
    overflow: Mutex<OpCounts>,
    /// The counts at the last [`OpCounter::take_since_last`] (empty: all zero).
    taken: Mutex<TakenMark>,
}

/// The counts and times (per fast index) and the overflow counts at the last
/// [`OpCounter::take_since_last`].
#[derive(Debug, Default)]
struct TakenMark {
    counts: Vec<u64>,
    nanos: Vec<u64>,
    overflow: OpCounts,
}

impl Default for OpCounter {
    fn default() -> OpCounter {
        let n = OpKind::ALL.len() * FAST_LEVELS;
        OpCounter {
            counts: (0..n).map(|_| AtomicU64::new(0)).collect(),
            nanos: (0..n).map(|_| AtomicU64::new(0)).collect(),
            levels_used: AtomicUsize::new(0),
            overflow: Mutex::new(OpCounts::new()),
            taken: Mutex::new(TakenMark::default()),
        }
    }
}

impl OpCounter {
    /// Fresh, zeroed counters.
    pub fn new() -> Arc<OpCounter> {
        Arc::new(OpCounter::default())
    }

    /// Records `count` successful calls of `kind` at `level` that took `elapsed` in total.
    pub fn record(&self, kind: OpKind, level: Level, count: u64, elapsed: Duration) {
        if level.0 < FAST_LEVELS {
            self.levels_used.fetch_max(level.0 + 1, Ordering::Relaxed);
            let i = kind.index() * FAST_LEVELS + level.0;
            if let Some(c) = self.counts.get(i) {
                c.fetch_add(count, Ordering::Relaxed);
            }
            if !elapsed.is_zero() {
                let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
                if let Some(t) = self.nanos.get(i) {
                    t.fetch_add(ns, Ordering::Relaxed);
                }
            }
            return;
        }
        self.overflow
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(kind, level.0, count, elapsed);
    }

    /// A copy of the counts so far.
    pub fn snapshot(&self) -> OpCounts {
        let mut out = self
            .overflow
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let levels = self.levels_used.load(Ordering::Relaxed).min(FAST_LEVELS);
        for kind in OpKind::ALL {
            for level in 0..levels {
                let i = kind.index() * FAST_LEVELS + level;
                let count = self.counts.get(i).map_or(0, |c| c.load(Ordering::Relaxed));
                let nanos = self.nanos.get(i).map_or(0, |c| c.load(Ordering::Relaxed));
                out.insert(OpKey { kind, level }, OpStat { count, nanos });
            }
        }
        out
    }

    /// What was recorded since the previous call of this method or the last
    /// [`OpCounter::reset`], whichever came later (per kind and level, saturating; the entries
    /// whose count grew): the same as `snapshot().since(&earlier)` with `earlier` the snapshot
    /// at that moment, without copying every counter into a map (a cheap per-layer delta
    /// while observing a run; meant for one observer at a time).
    pub fn take_since_last(&self) -> OpCounts {
        let mut mark = self.taken.lock().unwrap_or_else(PoisonError::into_inner);
        let mark = &mut *mark;
        if mark.counts.len() != self.counts.len() {
            mark.counts = vec![0; self.counts.len()];
            mark.nanos = vec![0; self.nanos.len()];
        }
        let levels = self.levels_used.load(Ordering::Relaxed).min(FAST_LEVELS);
        let mut grew = Vec::new();
        for kind in OpKind::ALL {
            let base = kind.index() * FAST_LEVELS;
            let range = base..base + levels;
            let (Some(counts), Some(nanos)) = (
                self.counts.get(range.clone()),
                self.nanos.get(range.clone()),
            ) else {
                continue;
            };
            let (Some(mc), Some(mt)) = (
                mark.counts.get_mut(range.clone()),
                mark.nanos.get_mut(range),
            ) else {
                continue;
            };
            let rows = counts
                .iter()
                .zip(nanos)
                .zip(mc.iter_mut().zip(mt.iter_mut()));
            for (level, ((c, t), (mc, mt))) in rows.enumerate() {
                let (count, nanos) = (c.load(Ordering::Relaxed), t.load(Ordering::Relaxed));
                if count > *mc {
                    let stat = OpStat {
                        count: count - *mc,
                        nanos: nanos.saturating_sub(*mt),
                    };
                    grew.push((OpKey { kind, level }, stat));
                }
                *mc = count;
                *mt = nanos;
            }
        }
        let mut out = OpCounts::from_sorted(grew);
        let overflow = self.overflow.lock().unwrap_or_else(PoisonError::into_inner);
        if *overflow != mark.overflow {
            out.merge(&overflow.since(&mark.overflow));
            mark.overflow = overflow.clone();
        }
        out
    }

    /// Zeroes the counters.
    pub fn reset(&self) {
        for c in self.counts.iter().chain(self.nanos.iter()) {
            c.store(0, Ordering::Relaxed);
        }
        self.levels_used.store(0, Ordering::Relaxed);
        *self.overflow.lock().unwrap_or_else(PoisonError::into_inner) = OpCounts::new();
        let mut mark = self.taken.lock().unwrap_or_else(PoisonError::into_inner);
        mark.counts.fill(0);
        mark.nanos.fill(0);
        mark.overflow = OpCounts::new();
    }
}

/// The counting decorator over backend `B`: same ciphertexts and plaintexts, a client and
/// evaluators that forward every call to `B`'s and record each successful one in a shared
/// [`OpCounter`] (count and wall time, per [`OpKind`] and operand level). Failed calls are not
/// recorded.
///
/// Forwarded are the required operations, `rotate_many` (so `B`'s hoisting is kept; each
/// non-zero step counts one [`OpKind::Rotate`], and rotations by 0, which are free copies, are
/// not counted) and the fused sums of products (`linear_combination`, `linear_maps`,
/// `mul_plain_sum`: counted per term and per output as their own kinds, so that a fused call is
/// priced as one). The provided operations (`add`, `set_scale`, ...) run the contract's default
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

/// Times `f` and records it under `kind` at `level` when it succeeds (on a metadata-only
/// backend the time is meaningless and not measured: the count alone is recorded).
fn timed<B: Backend, T>(
    counter: &OpCounter,
    kind: OpKind,
    level: Level,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    timed_n::<B, T>(counter, kind, level, 1, f)
}

/// As [`timed`], recording `n` calls.
fn timed_n<B: Backend, T>(
    counter: &OpCounter,
    kind: OpKind,
    level: Level,
    n: u64,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    if n == 0 {
        return f();
    }
    if B::METADATA_ONLY {
        let out = f()?;
        counter.record(kind, level, n, Duration::ZERO);
        return Ok(out);
    }
    let start = Instant::now();
    let out = f()?;
    counter.record(kind, level, n, start.elapsed());
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
        timed::<B, _>(&self.counter, OpKind::Encode, level, || {
            self.inner.encode(values, level, scale)
        })
    }

    fn encode_complex(
        &self,
        values: &[Complex],
        level: Level,
        scale: Scale,
    ) -> Result<B::Plaintext> {
        timed::<B, _>(&self.counter, OpKind::Encode, level, || {
            self.inner.encode_complex(values, level, scale)
        })
    }

    fn add_assign(&self, a: &mut B::Ciphertext, b: &B::Ciphertext) -> Result<()> {
        let l = a.level();
        timed::<B, _>(&self.counter, OpKind::Add, l, || {
            self.inner.add_assign(a, b)
        })
    }

    fn sub_assign(&self, a: &mut B::Ciphertext, b: &B::Ciphertext) -> Result<()> {
        let l = a.level();
        timed::<B, _>(&self.counter, OpKind::Add, l, || {
            self.inner.sub_assign(a, b)
        })
    }

    fn negate_assign(&self, a: &mut B::Ciphertext) -> Result<()> {
        let l = a.level();
        timed::<B, _>(&self.counter, OpKind::Negate, l, || {
            self.inner.negate_assign(a)
        })
    }

    fn add_plain_assign(&self, a: &mut B::Ciphertext, p: &B::Plaintext) -> Result<()> {
        let l = a.level();
        timed::<B, _>(&self.counter, OpKind::AddPlain, l, || {
            self.inner.add_plain_assign(a, p)
        })
    }

    fn sub_plain_assign(&self, a: &mut B::Ciphertext, p: &B::Plaintext) -> Result<()> {
        let l = a.level();
        timed::<B, _>(&self.counter, OpKind::AddPlain, l, || {
            self.inner.sub_plain_assign(a, p)
        })
    }

    fn add_scalar_assign(&self, a: &mut B::Ciphertext, c: f64) -> Result<()> {
        let l = a.level();
        timed::<B, _>(&self.counter, OpKind::AddScalar, l, || {
            self.inner.add_scalar_assign(a, c)
        })
    }

    fn mul_plain_assign(&self, a: &mut B::Ciphertext, p: &B::Plaintext) -> Result<()> {
        let l = a.level();
        timed::<B, _>(&self.counter, OpKind::MulPlain, l, || {
            self.inner.mul_plain_assign(a, p)
        })
    }

    fn mul_scalar_assign(&self, a: &mut B::Ciphertext, c: f64) -> Result<()> {
        let l = a.level();
        timed::<B, _>(&self.counter, OpKind::MulScalar, l, || {
            self.inner.mul_scalar_assign(a, c)
        })
    }

    fn mul_integer_assign(&self, a: &mut B::Ciphertext, k: i64) -> Result<()> {
        let l = a.level();
        timed::<B, _>(&self.counter, OpKind::MulInteger, l, || {
            self.inner.mul_integer_assign(a, k)
        })
    }

    fn mul(&self, a: &B::Ciphertext, b: &B::Ciphertext) -> Result<B::Ciphertext> {
        timed::<B, _>(&self.counter, OpKind::Mul, a.level(), || {
            self.inner.mul(a, b)
        })
    }

    fn rescale_assign(&self, a: &mut B::Ciphertext) -> Result<()> {
        let l = a.level();
        timed::<B, _>(&self.counter, OpKind::Rescale, l, || {
            self.inner.rescale_assign(a)
        })
    }

    fn drop_to_level_assign(&self, a: &mut B::Ciphertext, level: Level) -> Result<()> {
        let l = a.level();
        timed::<B, _>(&self.counter, OpKind::DropLevel, l, || {
            self.inner.drop_to_level_assign(a, level)
        })
    }

    fn rotate(&self, a: &B::Ciphertext, step: i64) -> Result<B::Ciphertext> {
        if normalize_step(step, self.inner.slots()) == 0 {
            return self.inner.rotate(a, step);
        }
        timed::<B, _>(&self.counter, OpKind::Rotate, a.level(), || {
            self.inner.rotate(a, step)
        })
    }

    fn conjugate(&self, a: &B::Ciphertext) -> Result<B::Ciphertext> {
        timed::<B, _>(&self.counter, OpKind::Conjugate, a.level(), || {
            self.inner.conjugate(a)
        })
    }

    fn has_rotation_key(&self, step: i64) -> bool {
        self.inner.has_rotation_key(step)
    }

    /// Forwards to `B`'s (possibly fused) `linear_combination`; records one
    /// [`OpKind::LinearMapTerm`] per term (with the time), one [`OpKind::LinearMapOutput`] and
    /// one [`OpKind::LinearMapInput`] per term.
    fn linear_combination(&self, a: &[&B::Ciphertext], c: &[f64]) -> Result<B::Ciphertext> {
        let level = a.first().map_or(Level(0), |x| x.level());
        let out = timed_n::<B, _>(
            &self.counter,
            OpKind::LinearMapTerm,
            level,
            a.len() as u64,
            || self.inner.linear_combination(a, c),
        )?;
        self.counter
            .record(OpKind::LinearMapOutput, level, 1, Duration::ZERO);
        self.counter.record(
            OpKind::LinearMapInput,
            level,
            a.len() as u64,
            Duration::ZERO,
        );
        Ok(out)
    }

    /// Forwards to `B`'s (possibly fused) `linear_maps`; records one [`OpKind::LinearMapTerm`]
    /// per term of every row (with the time), one [`OpKind::LinearMapOutput`] per row and one
    /// [`OpKind::LinearMapInput`] per input a row names.
    fn linear_maps(
        &self,
        inputs: &[&B::Ciphertext],
        rows: &[Vec<(usize, f64)>],
    ) -> Result<Vec<B::Ciphertext>> {
        let level = inputs.first().map_or(Level(0), |x| x.level());
        let terms: usize = rows.iter().map(Vec::len).sum();
        let out = timed_n::<B, _>(
            &self.counter,
            OpKind::LinearMapTerm,
            level,
            terms as u64,
            || self.inner.linear_maps(inputs, rows),
        )?;
        if !rows.is_empty() {
            self.counter.record(
                OpKind::LinearMapOutput,
                level,
                rows.len() as u64,
                Duration::ZERO,
            );
            // the inputs the rows name (the fused map reads only those)
            let mut named = vec![false; inputs.len()];
            for &(k, _) in rows.iter().flatten() {
                if let Some(n) = named.get_mut(k) {
                    *n = true;
                }
            }
            let read = named.iter().filter(|&&n| n).count();
            self.counter
                .record(OpKind::LinearMapInput, level, read as u64, Duration::ZERO);
        }
        Ok(out)
    }

    /// Forwards to `B`'s (possibly fused) `mul_plain_sum`; records one
    /// [`OpKind::MulPlainSumTerm`] per term (with the time) and one
    /// [`OpKind::MulPlainSumOutput`].
    fn mul_plain_sum(&self, a: &[&B::Ciphertext], p: &[&B::Plaintext]) -> Result<B::Ciphertext> {
        let level = a.first().map_or(Level(0), |x| x.level());
        let out = timed_n::<B, _>(
            &self.counter,
            OpKind::MulPlainSumTerm,
            level,
            a.len() as u64,
            || self.inner.mul_plain_sum(a, p),
        )?;
        self.counter
            .record(OpKind::MulPlainSumOutput, level, 1, Duration::ZERO);
        Ok(out)
    }

    /// Forwards to `B`'s (possibly hoisted) `rotate_many`; records one rotation per non-zero
    /// step, the time split evenly among them.
    fn rotate_many(&self, a: &B::Ciphertext, steps: &[i64]) -> Result<Vec<B::Ciphertext>> {
        let slots = self.inner.slots();
        let nonzero = steps
            .iter()
            .filter(|&&s| normalize_step(s, slots) != 0)
            .count() as u64;
        timed_n::<B, _>(&self.counter, OpKind::Rotate, a.level(), nonzero, || {
            self.inner.rotate_many(a, steps)
        })
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
        timed::<B, _>(&self.counter, OpKind::Encode, level, || {
            self.inner.encode(values, level, scale)
        })
    }

    fn encode_complex(
        &self,
        values: &[Complex],
        level: Level,
        scale: Scale,
    ) -> Result<B::Plaintext> {
        timed::<B, _>(&self.counter, OpKind::Encode, level, || {
            self.inner.encode_complex(values, level, scale)
        })
    }

    fn encrypt(&self, pt: &B::Plaintext) -> Result<B::Ciphertext> {
        timed::<B, _>(&self.counter, OpKind::Encrypt, pt.level(), || {
            self.inner.encrypt(pt)
        })
    }

    fn encrypt_symmetric(&self, pt: &B::Plaintext) -> Result<B::Ciphertext> {
        timed::<B, _>(&self.counter, OpKind::Encrypt, pt.level(), || {
            self.inner.encrypt_symmetric(pt)
        })
    }

    fn decrypt(&self, ct: &B::Ciphertext) -> Result<B::Plaintext> {
        timed::<B, _>(&self.counter, OpKind::Decrypt, ct.level(), || {
            self.inner.decrypt(ct)
        })
    }

    fn decode(&self, pt: &B::Plaintext) -> Result<Vec<f64>> {
        timed::<B, _>(&self.counter, OpKind::Decode, pt.level(), || {
            self.inner.decode(pt)
        })
    }

    fn decode_complex(&self, pt: &B::Plaintext) -> Result<Vec<Complex>> {
        timed::<B, _>(&self.counter, OpKind::Decode, pt.level(), || {
            self.inner.decode_complex(pt)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_since_last_is_the_difference_of_snapshots() {
        let counter = OpCounter::default();
        let mut earlier = counter.snapshot();
        let steps: [&[(OpKind, usize, u64, u64)]; 4] = [
            &[(OpKind::Add, 3, 2, 5), (OpKind::Rotate, 0, 1, 0)],
            &[],
            // level 70 is above the lock-free levels: the overflow map
            &[(OpKind::Add, 3, 1, 0), (OpKind::Mul, 70, 1, 7)],
            &[(OpKind::Rescale, 6, 4, 1), (OpKind::Mul, 70, 2, 0)],
        ];
        let mut seen = 0;
        for step in steps {
            for &(kind, level, n, ns) in step {
                counter.record(kind, Level(level), n, Duration::from_nanos(ns));
            }
            let delta = counter.take_since_last();
            let now = counter.snapshot();
            assert_eq!(delta, now.since(&earlier));
            assert_eq!(delta.total(), step.iter().map(|s| s.2).sum::<u64>());
            seen += delta.total();
            earlier = now;
        }
        assert_eq!(seen, 11);
        // a reset restarts the deltas from zero
        counter.reset();
        counter.record(OpKind::Add, Level(1), 1, Duration::ZERO);
        let delta = counter.take_since_last();
        assert_eq!(delta.total(), 1);
        assert_eq!(delta.get(OpKind::Add, 1).count, 1);
        assert_eq!(counter.take_since_last(), OpCounts::new());
    }
}
