//! A backend decorator that counts every evaluator call by the categories of a tile or layer
//! plan, so that tests can check that an operation costs exactly what its plan says. Additions
//! count ciphertext, plaintext and scalar additions, subtractions and negations; scalar products
//! count `mul_scalar` and `mul_integer`; every `rotate` call counts (a default `rotate_many` calls
//! `rotate` once per step). The simulator has its own per-level, timed counter for cost models.

use hetile_backend::{
    Backend, Client, Complex, Evaluator, KeyRequirements, Level, Params, ParamsLiteral, Result,
    Scale, SecretDistribution, SecurityLevel,
};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// A snapshot of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Rotations.
    pub rotations: usize,
    /// Ciphertext-ciphertext products.
    pub ct_mults: usize,
    /// Ciphertext-plaintext products.
    pub pt_mults: usize,
    /// Products by a real or integer constant.
    pub scalar_mults: usize,
    /// Additions, subtractions and negations of every kind.
    pub additions: usize,
    /// Rescales.
    pub rescales: usize,
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
    /// The counts so far.
    pub fn snapshot(&self) -> Tally {
        Tally {
            rotations: self.rotations.load(Relaxed),
            ct_mults: self.ct_mults.load(Relaxed),
            pt_mults: self.pt_mults.load(Relaxed),
            scalar_mults: self.scalar_mults.load(Relaxed),
            additions: self.additions.load(Relaxed),
            rescales: self.rescales.load(Relaxed),
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
    /// The counters this evaluator bumps (shared with its client).
    pub counts: Arc<Counts>,
}

/// The counting client.
pub struct CountingClient<B: Backend> {
    inner: B::Client,
    /// The counters shared with every evaluator this client makes.
    pub counts: Arc<Counts>,
}

impl<B: Backend> Backend for Counting<B> {
    const NAME: &'static str = "counting";
    const METADATA_ONLY: bool = B::METADATA_ONLY;
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

/// A counting client (exact, seeded for tests) over `B` and its evaluator.
///
/// Errors: those of `B`'s client and evaluator construction.
pub fn counting_client<B: Backend>(
    params: &Params,
    keys: &KeyRequirements,
    seed: u64,
) -> Result<(CountingClient<B>, CountingEvaluator<B>)> {
    let client = CountingClient::<B>::new_insecure_seeded_for_tests(params, keys, seed)?;
    let ev = client.evaluator()?;
    Ok((client, ev))
}

/// Insecure test parameters: N = 2^log_n, q = 60 + levels x 40 bits, one 60-bit special prime,
/// scale 2^40 (tests only: no security check).
///
/// Errors: those of [`Params::new`] (e.g. a degree too small for the primes).
pub fn insecure_test_params(log_n: u32, levels: usize) -> Result<Params> {
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
}

/// Keys for everything: relinearization and every rotation step of a `slots`-slot ciphertext.
pub fn all_keys(slots: usize) -> KeyRequirements {
    KeyRequirements::none()
        .with_relinearization()
        .with_rotations((1..slots as i64).collect::<Vec<_>>())
}
