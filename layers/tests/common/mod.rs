//! Test helpers: small parameters and a backend decorator that counts every evaluator call, so
//! tests can check that an operation costs exactly what its plan says.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hetile_backend::{
    Backend, Client, Complex, Evaluator, KeyRequirements, Level, Params, ParamsLiteral, Result,
    Scale, SecretDistribution, SecurityLevel,
};
use hetile_mock::MockBackend;
use hetile_tiles::OpCost;
use ndarray::{ArrayD, IxDyn};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// Insecure test parameters: N = 2^log_n, q = 60 + levels x 40 bits, scale 2^40.
pub fn params(log_n: u32, levels: usize) -> Params {
    let mut log_q = vec![60];
    log_q.extend(std::iter::repeat_n(40, levels));
    Params::new(ParamsLiteral {
        log_n,
        log_q,
        log_p: vec![60],
        log_scale: 40,
        digits: None,
        security: SecurityLevel::Insecure,
        secret: SecretDistribution::Ternary,
    })
    .unwrap()
}

/// Operation counters shared by a counting client and its evaluators.
#[derive(Debug, Default)]
pub struct Counts {
    rotations: AtomicUsize,
    ct_mults: AtomicUsize,
    pt_mults: AtomicUsize,
    scalar_mults: AtomicUsize,
    additions: AtomicUsize,
    rescales: AtomicUsize,
}

impl Counts {
    /// The counts so far (depth is not counted: 0).
    pub fn snapshot(&self) -> OpCost {
        OpCost {
            rotations: self.rotations.load(Relaxed),
            ct_mults: self.ct_mults.load(Relaxed),
            pt_mults: self.pt_mults.load(Relaxed),
            scalar_mults: self.scalar_mults.load(Relaxed),
            additions: self.additions.load(Relaxed),
            rescales: self.rescales.load(Relaxed),
            depth: 0,
        }
    }
    /// Resets every counter.
    pub fn reset(&self) {
        for c in [
            &self.rotations,
            &self.ct_mults,
            &self.pt_mults,
            &self.scalar_mults,
            &self.additions,
            &self.rescales,
        ] {
            c.store(0, Relaxed);
        }
    }
}

/// A backend that forwards to `B` and counts.
pub struct Counting<B>(PhantomData<B>);

/// The counting evaluator.
pub struct CountingEvaluator<B: Backend> {
    inner: B::Evaluator,
    pub counts: Arc<Counts>,
}

/// The counting client.
pub struct CountingClient<B: Backend> {
    inner: B::Client,
    pub counts: Arc<Counts>,
}

impl<B: Backend> Backend for Counting<B> {
    const NAME: &'static str = "counting";
    type Ciphertext = B::Ciphertext;
    type Plaintext = B::Plaintext;
    type Evaluator = CountingEvaluator<B>;
    type Client = CountingClient<B>;
}

fn bump(c: &AtomicUsize) {
    c.fetch_add(1, Relaxed);
}

impl<B: Backend> Evaluator<Counting<B>> for CountingEvaluator<B> {
    fn params(&self) -> &Params {
        self.inner.params()
    }
    fn encode(&self, values: &[f64], level: Level, scale: Scale) -> Result<B::Plaintext> {
        self.inner.encode(values, level, scale)
    }
    fn encode_complex(&self, v: &[Complex], level: Level, scale: Scale) -> Result<B::Plaintext> {
        self.inner.encode_complex(v, level, scale)
    }
    fn add_assign(&self, a: &mut B::Ciphertext, b: &B::Ciphertext) -> Result<()> {
        bump(&self.counts.additions);
        self.inner.add_assign(a, b)
    }
    fn sub_assign(&self, a: &mut B::Ciphertext, b: &B::Ciphertext) -> Result<()> {
        bump(&self.counts.additions);
        self.inner.sub_assign(a, b)
    }
    fn negate_assign(&self, a: &mut B::Ciphertext) -> Result<()> {
        bump(&self.counts.additions);
        self.inner.negate_assign(a)
    }
    fn add_plain_assign(&self, a: &mut B::Ciphertext, p: &B::Plaintext) -> Result<()> {
        bump(&self.counts.additions);
        self.inner.add_plain_assign(a, p)
    }
    fn sub_plain_assign(&self, a: &mut B::Ciphertext, p: &B::Plaintext) -> Result<()> {
        bump(&self.counts.additions);
        self.inner.sub_plain_assign(a, p)
    }
    fn add_scalar_assign(&self, a: &mut B::Ciphertext, c: f64) -> Result<()> {
        bump(&self.counts.additions);
        self.inner.add_scalar_assign(a, c)
    }
    fn mul_plain_assign(&self, a: &mut B::Ciphertext, p: &B::Plaintext) -> Result<()> {
        bump(&self.counts.pt_mults);
        self.inner.mul_plain_assign(a, p)
    }
    fn mul_scalar_assign(&self, a: &mut B::Ciphertext, c: f64) -> Result<()> {
        bump(&self.counts.scalar_mults);
        self.inner.mul_scalar_assign(a, c)
    }
    fn mul_integer_assign(&self, a: &mut B::Ciphertext, k: i64) -> Result<()> {
        bump(&self.counts.scalar_mults);
        self.inner.mul_integer_assign(a, k)
    }
    fn mul(&self, a: &B::Ciphertext, b: &B::Ciphertext) -> Result<B::Ciphertext> {
        bump(&self.counts.ct_mults);
        self.inner.mul(a, b)
    }
    fn rescale_assign(&self, a: &mut B::Ciphertext) -> Result<()> {
        bump(&self.counts.rescales);
        self.inner.rescale_assign(a)
    }
    fn drop_to_level_assign(&self, a: &mut B::Ciphertext, level: Level) -> Result<()> {
        self.inner.drop_to_level_assign(a, level)
    }
    fn rotate(&self, a: &B::Ciphertext, step: i64) -> Result<B::Ciphertext> {
        bump(&self.counts.rotations);
        self.inner.rotate(a, step)
    }
    fn conjugate(&self, a: &B::Ciphertext) -> Result<B::Ciphertext> {
        self.inner.conjugate(a)
    }
    fn has_rotation_key(&self, step: i64) -> bool {
        self.inner.has_rotation_key(step)
    }
}

impl<B: Backend> Client<Counting<B>> for CountingClient<B> {
    fn new(params: &Params, keys: &KeyRequirements) -> Result<Self> {
        Ok(CountingClient {
            inner: B::Client::new(params, keys)?,
            counts: Arc::default(),
        })
    }
    fn new_insecure_seeded_for_tests(
        params: &Params,
        keys: &KeyRequirements,
        seed: u64,
    ) -> Result<Self> {
        Ok(CountingClient {
            inner: B::Client::new_insecure_seeded_for_tests(params, keys, seed)?,
            counts: Arc::default(),
        })
    }
    fn params(&self) -> &Params {
        self.inner.params()
    }
    fn key_requirements(&self) -> &KeyRequirements {
        self.inner.key_requirements()
    }
    fn evaluator(&self) -> Result<CountingEvaluator<B>> {
        Ok(CountingEvaluator {
            inner: self.inner.evaluator()?,
            counts: self.counts.clone(),
        })
    }
    fn encode(&self, values: &[f64], level: Level, scale: Scale) -> Result<B::Plaintext> {
        self.inner.encode(values, level, scale)
    }
    fn encode_complex(&self, v: &[Complex], level: Level, scale: Scale) -> Result<B::Plaintext> {
        self.inner.encode_complex(v, level, scale)
    }
    fn encrypt(&self, pt: &B::Plaintext) -> Result<B::Ciphertext> {
        self.inner.encrypt(pt)
    }
    fn encrypt_symmetric(&self, pt: &B::Plaintext) -> Result<B::Ciphertext> {
        self.inner.encrypt_symmetric(pt)
    }
    fn decrypt(&self, ct: &B::Ciphertext) -> Result<B::Plaintext> {
        self.inner.decrypt(ct)
    }
    fn decode(&self, pt: &B::Plaintext) -> Result<Vec<f64>> {
        self.inner.decode(pt)
    }
    fn decode_complex(&self, pt: &B::Plaintext) -> Result<Vec<Complex>> {
        self.inner.decode_complex(pt)
    }
}

/// The counting mock.
pub type CMock = Counting<MockBackend>;

/// A counting mock client (exact, seeded) and its evaluator.
pub fn counting_mock(
    params: &Params,
    keys: &KeyRequirements,
) -> (CountingClient<MockBackend>, CountingEvaluator<MockBackend>) {
    let client =
        CountingClient::<MockBackend>::new_insecure_seeded_for_tests(params, keys, 1).unwrap();
    let ev = client.evaluator().unwrap();
    (client, ev)
}

/// Keys for everything: relinearization and every rotation step of a `slots`-slot ciphertext.
pub fn all_keys(slots: usize) -> KeyRequirements {
    KeyRequirements::none()
        .with_relinearization()
        .with_rotations((1..slots as i64).collect::<Vec<_>>())
}

/// Deterministic uniform values in `[lo, hi)` (xorshift), shaped `shape`.
pub fn uniform(shape: &[usize], lo: f64, hi: f64, seed: u64) -> ArrayD<f64> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    ArrayD::from_shape_fn(IxDyn(shape), |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        lo + (hi - lo) * ((state >> 11) as f64 / (1u64 << 53) as f64)
    })
}

/// Largest absolute difference of two arrays of the same shape.
pub fn max_diff(a: &ArrayD<f64>, b: &ArrayD<f64>) -> f64 {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Checks that the counted operations equal the plan's cost (depth excluded), then resets.
pub fn assert_counts(counts: &Counts, cost: OpCost) {
    let mut expected = cost;
    expected.depth = 0;
    assert_eq!(counts.snapshot(), expected, "counted vs planned");
    counts.reset();
}

/// Row-wise argmax of a `[B, n]` array.
pub fn argmax_rows(a: &ArrayD<f64>) -> Vec<usize> {
    a.outer_iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &v)| {
                    if v > bv {
                        (i, v)
                    } else {
                        (bi, bv)
                    }
                })
                .0
        })
        .collect()
}
