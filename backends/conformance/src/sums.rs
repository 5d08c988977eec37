//! Sums of products: `linear_combination` (ciphertexts times constants) and `mul_plain_sum`
//! (ciphertexts times plaintexts), which backends may fuse into one pass.

use crate::util::{expect_err, prime, Ctx, Kit};
use crate::{Failure, SuiteConfig, MUL_RELAX_BITS};
use hetile_backend::{Backend, Client, Error, Evaluator, Level, Scale};

/// `linear_combination` of 7 ciphertexts with constants (one of them 0, one negative): value
/// `sum_k c_k x_k`, scale `s * q_level`, level unchanged; after the rescale the scale is `s`
/// again; the result decrypts to what `mul_scalar` + `add_assign` term by term gives. Also a
/// single term. Errors: no term, a count mismatch (`InvalidParameters`), terms at different
/// levels (`LevelMismatch`), level 0 (`LevelExhausted`). Precision: `min_bits - MUL_RELAX_BITS - 3`.
pub fn check_linear_combination<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 18)?;
    let bits = cfg.min_bits - MUL_RELAX_BITS - 3.0;
    let top = kit.top();
    let s = kit.scale().value();
    let q = prime(&kit.params, top)?;
    let c = [0.25, -1.5, 0.0, 0.75, 1.0, -0.125, 0.5];
    let mut cts = Vec::new();
    let mut want = vec![0.0; kit.slots()];
    for &ck in &c {
        let (a, x) = kit.fresh()?;
        for (w, v) in want.iter_mut().zip(&x) {
            *w += ck * v;
        }
        cts.push(a);
    }
    let refs: Vec<&B::Ciphertext> = cts.iter().collect();
    let ev = &kit.ev;
    let sum = ev.linear_combination(&refs, &c).ctx("linear_combination")?;
    kit.expect_ct("linear_combination", &sum, top, s * q, &want, bits)?;
    let mut reference = ev.mul_scalar(refs[0], c[0]).ctx("mul_scalar")?;
    for (x, &ck) in refs.iter().zip(&c).skip(1) {
        let t = ev.mul_scalar(x, ck).ctx("mul_scalar")?;
        ev.add_assign(&mut reference, &t).ctx("add_assign")?;
    }
    kit.expect_ct(
        "linear_combination vs term by term",
        &sum,
        top,
        s * q,
        &kit.decrypt(&reference)?,
        cfg.min_bits,
    )?;
    let r = ev.rescale(&sum).ctx("rescale")?;
    kit.expect_ct(
        "linear_combination, rescaled",
        &r,
        Level(top.0 - 1),
        s,
        &want,
        bits,
    )?;
    let one = ev.linear_combination(&refs[..1], &c[..1]).ctx("one term")?;
    let want_one: Vec<f64> = kit.decrypt(&cts[0])?.iter().map(|v| v * c[0]).collect();
    kit.expect_ct(
        "linear_combination of one term",
        &one,
        top,
        s * q,
        &want_one,
        bits,
    )?;
    expect_err!(
        "linear_combination of no term",
        ev.linear_combination(&[], &[]),
        Error::InvalidParameters { .. }
    )?;
    expect_err!(
        "linear_combination with a missing constant",
        ev.linear_combination(&refs, &c[..3]),
        Error::InvalidParameters { .. }
    )?;
    let (low, _) = kit.fresh_at(Level(1))?;
    expect_err!(
        "linear_combination across levels",
        kit.ev.linear_combination(&[refs[0], &low], &[1.0, 1.0]),
        Error::LevelMismatch { .. }
    )?;
    let (bottom, _) = kit.fresh_at(Level(0))?;
    expect_err!(
        "linear_combination at level 0",
        kit.ev.linear_combination(&[&bottom], &[1.0]),
        Error::LevelExhausted { .. }
    )
}

/// `mul_plain_sum` of 5 ciphertexts with plaintexts (at the ciphertexts' level and above):
/// value `sum_k x_k y_k`, scale `s * s_p`, level unchanged, equal to `mul_plain` + `add_assign`
/// term by term. Errors: no term, a count mismatch (`InvalidParameters`), plaintext scales that
/// differ (`ScaleMismatch`), a plaintext below the ciphertexts' level (`LevelMismatch`).
/// Precision: `min_bits - MUL_RELAX_BITS - 3`.
pub fn check_mul_plain_sum<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 19)?;
    let bits = cfg.min_bits - MUL_RELAX_BITS - 3.0;
    let top = kit.top();
    let level = Level(top.0 - 1);
    let s = kit.scale().value();
    let mut cts = Vec::new();
    let mut pts = Vec::new();
    let mut want = vec![0.0; kit.slots()];
    for k in 0..5 {
        let (a, x) = kit.fresh_at(level)?;
        let y = kit.random();
        for ((w, u), v) in want.iter_mut().zip(&x).zip(&y) {
            *w += u * v;
        }
        let pt_level = if k % 2 == 0 { level } else { top };
        pts.push(kit.client.encode(&y, pt_level, kit.scale()).ctx("encode")?);
        cts.push(a);
    }
    let refs: Vec<&B::Ciphertext> = cts.iter().collect();
    let prefs: Vec<&B::Plaintext> = pts.iter().collect();
    let ev = &kit.ev;
    let sum = ev.mul_plain_sum(&refs, &prefs).ctx("mul_plain_sum")?;
    kit.expect_ct("mul_plain_sum", &sum, level, s * s, &want, bits)?;
    let mut reference = ev.mul_plain(refs[0], prefs[0]).ctx("mul_plain")?;
    for (x, p) in refs.iter().zip(&prefs).skip(1) {
        let t = ev.mul_plain(x, p).ctx("mul_plain")?;
        ev.add_assign(&mut reference, &t).ctx("add_assign")?;
    }
    kit.expect_ct(
        "mul_plain_sum vs term by term",
        &sum,
        level,
        s * s,
        &kit.decrypt(&reference)?,
        cfg.min_bits,
    )?;
    expect_err!(
        "mul_plain_sum of no term",
        ev.mul_plain_sum(&[], &[]),
        Error::InvalidParameters { .. }
    )?;
    expect_err!(
        "mul_plain_sum with a missing plaintext",
        ev.mul_plain_sum(&refs, &prefs[..2]),
        Error::InvalidParameters { .. }
    )?;
    let other_scale = Scale::from_log2(kit.scale().log2() - 3.0)
        .ok_or_else(|| Failure::new("default scale too small for the suite"))?;
    let z = kit.random();
    let odd = kit.client.encode(&z, level, other_scale).ctx("encode")?;
    expect_err!(
        "mul_plain_sum with plaintexts at different scales",
        kit.ev.mul_plain_sum(&refs[..2], &[prefs[0], &odd]),
        Error::ScaleMismatch { .. }
    )?;
    let (high, _) = kit.fresh()?;
    expect_err!(
        "mul_plain_sum with a plaintext below the ciphertext",
        kit.ev.mul_plain_sum(&[&high], &[prefs[0]]),
        Error::LevelMismatch { .. }
    )
}
