//! A seeded random circuit that uses the whole depth, for comparing backends.

use crate::util::{ensure, expect_close, rotated, uniform, zip_map, Ctx};
use crate::{Failure, SuiteConfig, LEVEL_RELAX_BITS};
use hetile_backend::{Backend, Client, Evaluator, KeyRequirements, Level, Meta, Params};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// [`check_random_circuit`] refuses a circuit whose exact result is smaller than this in every
/// slot (a degenerate circuit would compare nothing).
const MIN_CIRCUIT_MAGNITUDE: f64 = 1.0 / 65536.0;

/// The rotation steps the random circuit draws from (all have keys in [`circuit_keys`]).
pub const CIRCUIT_STEPS: [i64; 6] = [1, 2, 3, -1, 5, -7];

/// The keys [`random_circuit`] generates: relinearization and rotations by [`CIRCUIT_STEPS`].
pub fn circuit_keys() -> KeyRequirements {
    KeyRequirements::none()
        .with_relinearization()
        .with_rotations(CIRCUIT_STEPS)
}

/// The circuit's state: a ciphertext and its exact expected value.
struct State<'a, B: Backend> {
    client: &'a B::Client,
    ev: &'a B::Evaluator,
    rng: ChaCha20Rng,
    slots: usize,
}

impl<B: Backend> State<'_, B> {
    fn pick(&mut self, n: usize) -> usize {
        (self.rng.next_u64() % n as u64) as usize
    }
    fn step(&mut self) -> i64 {
        CIRCUIT_STEPS[self.pick(CIRCUIT_STEPS.len())]
    }
    /// Values uniform in `[-half, half)`.
    fn values(&mut self, half: f64) -> Vec<f64> {
        (0..self.slots)
            .map(|_| half * uniform(&mut self.rng))
            .collect()
    }

    /// One level-free operation. Growth of the bound `B` on `|value|`: at most `2B + 1/2`.
    fn linear(
        &mut self,
        acc: B::Ciphertext,
        want: Vec<f64>,
    ) -> Result<(B::Ciphertext, Vec<f64>), Failure> {
        let ev = self.ev;
        Ok(match self.pick(6) {
            0 => {
                let k = self.step();
                let r = ev.rotate(&acc, k).ctx("rotate")?;
                let w = zip_map(&want, &rotated(&want, k), |a, b| a + b);
                (ev.add(&acc, &r).ctx("add")?, w)
            }
            1 => {
                // Two distinct steps: equal ones would cancel to an exact zero.
                let n = CIRCUIT_STEPS.len();
                let i1 = self.pick(n);
                let i2 = (i1 + 1 + self.pick(n - 1)) % n;
                let (k1, k2) = (CIRCUIT_STEPS[i1], CIRCUIT_STEPS[i2]);
                let r = ev.rotate_many(&acc, &[k1, k2]).ctx("rotate_many")?;
                let (r1, r2) = match r.as_slice() {
                    [r1, r2] => (r1, r2),
                    _ => return Err(Failure::new("rotate_many returned a wrong count")),
                };
                let w = zip_map(&rotated(&want, k1), &rotated(&want, k2), |a, b| a - b);
                (ev.sub(r1, r2).ctx("sub")?, w)
            }
            2 => {
                let p = self.values(0.5);
                let pt = ev.encode(&p, acc.level(), acc.scale()).ctx("encode")?;
                let w = zip_map(&want, &p, |a, b| a - b);
                (ev.sub_plain(&acc, &pt).ctx("sub_plain")?, w)
            }
            3 => {
                let c = 0.5 * uniform(&mut self.rng);
                let w = want.iter().map(|v| v + c).collect();
                (ev.add_scalar(&acc, c).ctx("add_scalar")?, w)
            }
            4 => {
                let k = if self.pick(2) == 0 { 2 } else { -1 };
                let w = want.iter().map(|v| v * k as f64).collect();
                (ev.mul_integer(&acc, k).ctx("mul_integer")?, w)
            }
            _ => {
                let w = want.iter().map(|v| -v).collect();
                (ev.negate(&acc).ctx("negate")?, w)
            }
        })
    }

    /// One multiplication by values of magnitude at most 1/2, then a rescale.
    fn multiply(
        &mut self,
        acc: B::Ciphertext,
        want: Vec<f64>,
        fresh: &B::Ciphertext,
        fresh_values: &[f64],
    ) -> Result<(B::Ciphertext, Vec<f64>), Failure> {
        let ev = self.ev;
        let level = acc.level();
        let (prod, w) = match self.pick(3) {
            0 => {
                let k = self.step();
                let y = ev
                    .drop_to_level(&ev.rotate(fresh, k).ctx("rotate")?, level)
                    .ctx("drop")?;
                let w = zip_map(&want, &rotated(fresh_values, k), |a, b| a * b);
                (ev.mul(&acc, &y).ctx("mul")?, w)
            }
            1 => {
                let p = self.values(0.5);
                let scale = self.client.params().default_scale();
                let pt = ev.encode(&p, level, scale).ctx("encode")?;
                let w = zip_map(&want, &p, |a, b| a * b);
                (ev.mul_plain(&acc, &pt).ctx("mul_plain")?, w)
            }
            _ => {
                let c = 0.5 * uniform(&mut self.rng);
                let w = want.iter().map(|v| v * c).collect();
                (ev.mul_scalar(&acc, c).ctx("mul_scalar")?, w)
            }
        };
        Ok((ev.rescale(&prod).ctx("rescale")?, w))
    }
}

/// Runs a random circuit on backend `B` and returns `(decrypted result, exact result)`, both of
/// `N/2` slots.
///
/// The circuit is a function of `params`, `seed` and `depth` only, so two backends given the
/// same arguments run the same circuit. It encrypts two random vectors (`x` in `[-1, 1)`, public
/// key, and `y` in `[-1/2, 1/2)`, secret key) at the top level, then `depth` times: one or two
/// level-free operations (rotate-and-add, `rotate_many` then subtract, `sub_plain`,
/// `add_scalar`, `mul_integer` by 2 or -1, `negate`) followed by one multiplication by values of
/// magnitude at most 1/2 (`mul` with a rotated `y`, `mul_plain`, or `mul_scalar`) and a rescale.
/// Rotation steps come from [`CIRCUIT_STEPS`]; the client is built with [`circuit_keys`] by
/// `new_insecure_seeded_for_tests(params, keys, seed)`. With a depth equal to the top level the
/// result ends at level 0.
///
/// Errors: a [`Failure`] when `depth` exceeds the top level or a backend operation fails.
pub fn random_circuit<B: Backend>(
    params: &Params,
    seed: u64,
    depth: usize,
) -> Result<(Vec<f64>, Vec<f64>), Failure> {
    let top = params.max_level();
    if depth > top.0 {
        return Err(Failure::new(format!(
            "random_circuit: depth {depth} exceeds the top level {}",
            top.0
        )));
    }
    let client = B::Client::new_insecure_seeded_for_tests(params, &circuit_keys(), seed)
        .ctx("new_insecure_seeded_for_tests")?;
    let ev = client.evaluator().ctx("evaluator")?;
    let mut state = State::<B> {
        client: &client,
        ev: &ev,
        rng: ChaCha20Rng::seed_from_u64(seed),
        slots: params.slots().get(),
    };
    let x = state.values(1.0);
    let y = state.values(0.5);
    let scale = params.default_scale();
    let mut acc = client
        .encrypt(&client.encode(&x, top, scale).ctx("encode")?)
        .ctx("encrypt")?;
    let fresh = client
        .encrypt_symmetric(&client.encode(&y, top, scale).ctx("encode")?)
        .ctx("encrypt_symmetric")?;
    let mut want = x;
    for _ in 0..depth {
        for _ in 0..=state.pick(2) {
            (acc, want) = state.linear(acc, want)?;
        }
        (acc, want) = state.multiply(acc, want, &fresh, &y)?;
    }
    if acc.level() != Level(top.0 - depth) {
        return Err(Failure::new(format!(
            "random_circuit: result at {}, expected level {}",
            acc.level(),
            top.0 - depth
        )));
    }
    let got = client.decrypt_values(&acc).ctx("decrypt")?;
    Ok((got, want))
}

/// [`random_circuit`] with the whole depth for three seeds derived from the config's seed.
/// Precision: `min_bits - (depth + 2) * LEVEL_RELAX_BITS` (each level may double the values, two
/// more levels' worth for the up to two level-free operations before each multiplication).
pub fn check_random_circuit<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let depth = cfg.params.max_level().0;
    let bits = cfg.min_bits - (depth as f64 + 2.0) * LEVEL_RELAX_BITS;
    for i in 0..3u64 {
        let seed = cfg.seed.wrapping_add(i);
        let (got, want) = random_circuit::<B>(&cfg.params, seed, depth)?;
        let largest = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        ensure(largest > MIN_CIRCUIT_MAGNITUDE, || {
            format!(
                "random circuit, seed {seed}: degenerate exact result (max |value| {largest:e})"
            )
        })?;
        expect_close(&format!("random circuit, seed {seed}"), &got, &want, bits)?;
    }
    Ok(())
}
