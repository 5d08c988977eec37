//! Additions, subtractions, negation and multiplications (with their exact scales).

use crate::util::{expect_level, prime, zip_map, Ctx, Kit};
use crate::{Failure, SuiteConfig, MUL_RELAX_BITS};
use hetile_backend::{Backend, Client, Evaluator, Level, Meta, Scale};

/// `add`, `sub`, `negate` out of place and `add_assign`, `sub_assign`, `negate_assign` in place,
/// at the top level and at level 0: level and scale unchanged, values exact to `min_bits`.
pub fn check_add_sub_negate<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 10)?;
    let bits = cfg.min_bits;
    for level in [kit.top(), Level(0)] {
        let (a, x) = kit.fresh_at(level)?;
        let (b, y) = kit.fresh_at(level)?;
        let s = kit.scale().value();
        let sum = zip_map(&x, &y, |p, q| p + q);
        let diff = zip_map(&x, &y, |p, q| p - q);
        let neg: Vec<f64> = x.iter().map(|v| -v).collect();
        kit.expect_ct("add", &kit.ev.add(&a, &b).ctx("add")?, level, s, &sum, bits)?;
        kit.expect_ct(
            "sub",
            &kit.ev.sub(&a, &b).ctx("sub")?,
            level,
            s,
            &diff,
            bits,
        )?;
        kit.expect_ct(
            "negate",
            &kit.ev.negate(&a).ctx("negate")?,
            level,
            s,
            &neg,
            bits,
        )?;
        let mut c = a.clone();
        kit.ev.add_assign(&mut c, &b).ctx("add_assign")?;
        kit.expect_ct("add_assign", &c, level, s, &sum, bits)?;
        let mut c = a.clone();
        kit.ev.sub_assign(&mut c, &b).ctx("sub_assign")?;
        kit.expect_ct("sub_assign", &c, level, s, &diff, bits)?;
        let mut c = a.clone();
        kit.ev.negate_assign(&mut c).ctx("negate_assign")?;
        kit.expect_ct("negate_assign", &c, level, s, &neg, bits)?;
        // a - a is zero, a + a is 2a.
        let zero = kit.ev.sub(&a, &a).ctx("sub self")?;
        kit.expect_ct("a - a", &zero, level, s, &vec![0.0; x.len()], bits)?;
        let twice: Vec<f64> = x.iter().map(|v| 2.0 * v).collect();
        kit.expect_ct(
            "a + a",
            &kit.ev.add(&a, &a).ctx("add self")?,
            level,
            s,
            &twice,
            bits - 1.0,
        )?;
    }
    Ok(())
}

/// `add_plain`, `sub_plain` and their in-place forms with a plaintext at the ciphertext's level
/// and with one at a higher level (used truncated). Precision: `min_bits`.
pub fn check_plain_add_sub<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 11)?;
    let bits = cfg.min_bits;
    let s = kit.scale();
    for (ct_level, pt_level) in [
        (kit.top(), kit.top()),
        (Level(1), kit.top()),
        (Level(0), Level(1)),
    ] {
        let (a, x) = kit.fresh_at(ct_level)?;
        let y = kit.random();
        let p = kit.ev.encode(&y, pt_level, s).ctx("encode")?;
        let sum = zip_map(&x, &y, |u, v| u + v);
        let diff = zip_map(&x, &y, |u, v| u - v);
        let what = format!("ciphertext at {ct_level}, plaintext at {pt_level}");
        let out = kit.ev.add_plain(&a, &p).ctx("add_plain")?;
        kit.expect_ct(
            &format!("add_plain, {what}"),
            &out,
            ct_level,
            s.value(),
            &sum,
            bits,
        )?;
        let out = kit.ev.sub_plain(&a, &p).ctx("sub_plain")?;
        kit.expect_ct(
            &format!("sub_plain, {what}"),
            &out,
            ct_level,
            s.value(),
            &diff,
            bits,
        )?;
        let mut c = a.clone();
        kit.ev
            .add_plain_assign(&mut c, &p)
            .ctx("add_plain_assign")?;
        kit.expect_ct(
            &format!("add_plain_assign, {what}"),
            &c,
            ct_level,
            s.value(),
            &sum,
            bits,
        )?;
        let mut c = a.clone();
        kit.ev
            .sub_plain_assign(&mut c, &p)
            .ctx("sub_plain_assign")?;
        kit.expect_ct(
            &format!("sub_plain_assign, {what}"),
            &c,
            ct_level,
            s.value(),
            &diff,
            bits,
        )?;
    }
    Ok(())
}

/// `add_scalar` and `add_scalar_assign` with positive, negative, zero and non-dyadic constants,
/// also on a product before rescale (scale `s^2`): level and scale unchanged.
/// Precision: `min_bits`.
pub fn check_scalar_add<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 12)?;
    let bits = cfg.min_bits;
    let (a, x) = kit.fresh()?;
    let s = kit.scale().value();
    for c in [0.5, -0.75, 0.0, 1.0 / 3.0, 2.0] {
        let want: Vec<f64> = x.iter().map(|v| v + c).collect();
        let out = kit.ev.add_scalar(&a, c).ctx("add_scalar")?;
        kit.expect_ct(&format!("add_scalar({c})"), &out, kit.top(), s, &want, bits)?;
        let mut d = a.clone();
        kit.ev
            .add_scalar_assign(&mut d, c)
            .ctx("add_scalar_assign")?;
        kit.expect_ct(
            &format!("add_scalar_assign({c})"),
            &d,
            kit.top(),
            s,
            &want,
            bits,
        )?;
    }
    let (b, y) = kit.fresh()?;
    let prod = kit.ev.mul(&a, &b).ctx("mul")?;
    let out = kit
        .ev
        .add_scalar(&prod, -0.25)
        .ctx("add_scalar on a product")?;
    let want = zip_map(&x, &y, |u, v| u * v - 0.25);
    kit.expect_ct(
        "add_scalar at scale s^2",
        &out,
        kit.top(),
        s * s,
        &want,
        bits - MUL_RELAX_BITS,
    )
}

/// `mul` (and `mul_assign`) of two ciphertexts: scale exactly `s_a * s_b`, level unchanged; then
/// `rescale` (and `rescale_assign`): level - 1, scale exactly `s_a * s_b / q_level`.
/// Precision: `min_bits - MUL_RELAX_BITS`.
pub fn check_mul_rescale<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 13)?;
    let bits = cfg.min_bits - MUL_RELAX_BITS;
    let top = kit.top();
    let (a, x) = kit.fresh()?;
    let (b, y) = kit.fresh()?;
    let s = kit.scale().value();
    let q = prime(&kit.params, top)?;
    let want = zip_map(&x, &y, |u, v| u * v);
    let prod = kit.ev.mul(&a, &b).ctx("mul")?;
    kit.expect_ct("mul", &prod, top, s * s, &want, bits)?;
    let r = kit.ev.rescale(&prod).ctx("rescale")?;
    let below = Level(top.0 - 1);
    kit.expect_ct("mul then rescale", &r, below, s * s / q, &want, bits)?;
    let mut c = a.clone();
    kit.ev.mul_assign(&mut c, &b).ctx("mul_assign")?;
    kit.ev.rescale_assign(&mut c).ctx("rescale_assign")?;
    kit.expect_ct(
        "mul_assign then rescale_assign",
        &c,
        below,
        s * s / q,
        &want,
        bits,
    )?;
    // A second product of two rescaled ciphertexts: (s^2/q_L)^2 / q_{L-1}.
    let q2 = prime(&kit.params, below)?;
    let r2 = kit
        .ev
        .rescale(&kit.ev.mul(&r, &c).ctx("mul")?)
        .ctx("rescale")?;
    let want2: Vec<f64> = want.iter().map(|v| v * v).collect();
    let s1 = s * s / q;
    kit.expect_ct(
        "second mul and rescale",
        &r2,
        Level(top.0 - 2),
        s1 * s1 / q2,
        &want2,
        bits - MUL_RELAX_BITS,
    )
}

/// `square` equals `mul(a, a)`: scale `s^2`, then rescale to `s^2 / q_level`.
/// Precision: `min_bits - MUL_RELAX_BITS`.
pub fn check_square<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 14)?;
    let bits = cfg.min_bits - MUL_RELAX_BITS;
    let top = kit.top();
    let (a, x) = kit.fresh()?;
    let s = kit.scale().value();
    let q = prime(&kit.params, top)?;
    let want: Vec<f64> = x.iter().map(|v| v * v).collect();
    let sq = kit.ev.square(&a).ctx("square")?;
    kit.expect_ct("square", &sq, top, s * s, &want, bits)?;
    let r = kit.ev.rescale(&sq).ctx("rescale")?;
    kit.expect_ct(
        "square then rescale",
        &r,
        Level(top.0 - 1),
        s * s / q,
        &want,
        bits,
    )
}

/// `mul_plain` and `mul_plain_assign`: scale the product of both scales (also with a plaintext
/// at a non-default scale and one above the ciphertext's level), then rescale.
/// Precision: `min_bits - MUL_RELAX_BITS`.
pub fn check_mul_plain<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 15)?;
    let bits = cfg.min_bits - MUL_RELAX_BITS;
    let top = kit.top();
    let level = Level(top.0 - 1);
    let (a, x) = kit.fresh_at(level)?;
    let y = kit.random();
    let s = kit.scale().value();
    let ps = Scale::from_log2(kit.scale().log2() - 5.0)
        .ok_or_else(|| Failure::new("default scale too small for the suite"))?;
    let q = prime(&kit.params, level)?;
    let want = zip_map(&x, &y, |u, v| u * v);
    for (pt_level, pt_scale) in [(level, kit.scale()), (top, kit.scale()), (level, ps)] {
        let what = format!("mul_plain with a plaintext at {pt_level}, scale {pt_scale}");
        let p = kit.client.encode(&y, pt_level, pt_scale).ctx("encode")?;
        let prod = kit.ev.mul_plain(&a, &p).ctx(&what)?;
        let sp = s * pt_scale.value();
        kit.expect_ct(&what, &prod, level, sp, &want, bits)?;
        let mut c = a.clone();
        kit.ev.mul_plain_assign(&mut c, &p).ctx(&what)?;
        kit.ev.rescale_assign(&mut c).ctx("rescale")?;
        kit.expect_ct(
            &format!("{what}, rescaled"),
            &c,
            Level(level.0 - 1),
            sp / q,
            &want,
            bits,
        )?;
    }
    Ok(())
}

/// `mul_scalar` multiplies by `c` with scale `s * q_level`; the rescale that follows brings the
/// scale back to exactly `s`. Also `mul_scalar_assign`, on a ciphertext at a non-default scale.
/// Precision: `min_bits - MUL_RELAX_BITS`.
pub fn check_mul_scalar_rescale<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 16)?;
    let bits = cfg.min_bits - MUL_RELAX_BITS;
    let top = kit.top();
    let (a, x) = kit.fresh()?;
    let s = kit.scale().value();
    let q = prime(&kit.params, top)?;
    for c in [0.3, -1.7, 1.0, 0.0, 1e-3] {
        let want: Vec<f64> = x.iter().map(|v| v * c).collect();
        let what = format!("mul_scalar({c})");
        let m = kit.ev.mul_scalar(&a, c).ctx(&what)?;
        kit.expect_ct(&what, &m, top, s * q, &want, bits)?;
        let r = kit.ev.rescale(&m).ctx("rescale")?;
        kit.expect_ct(
            &format!("{what} then rescale"),
            &r,
            Level(top.0 - 1),
            s,
            &want,
            bits,
        )?;
    }
    // On a rescaled product (scale s^2/q_L, not a power of two) the scale also comes back.
    let (b, y) = kit.fresh()?;
    let mut r = kit
        .ev
        .rescale(&kit.ev.mul(&a, &b).ctx("mul")?)
        .ctx("rescale")?;
    let sr = r.scale().value();
    kit.ev
        .mul_scalar_assign(&mut r, -0.6)
        .ctx("mul_scalar_assign")?;
    kit.ev.rescale_assign(&mut r).ctx("rescale_assign")?;
    let want = zip_map(&x, &y, |u, v| -0.6 * u * v);
    kit.expect_ct(
        "mul_scalar_assign on a product",
        &r,
        Level(top.0 - 2),
        sr,
        &want,
        bits - MUL_RELAX_BITS,
    )
}

/// `mul_integer` and `mul_integer_assign` by positive, negative and zero integers: level and
/// scale unchanged. Precision: `min_bits - log2 |k|`.
pub fn check_mul_integer<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 17)?;
    let (a, x) = kit.fresh()?;
    let s = kit.scale().value();
    for k in [3i64, -2, 0, 1, -1, 7] {
        let bits = cfg.min_bits - (k.unsigned_abs().max(1) as f64).log2().ceil();
        let want: Vec<f64> = x.iter().map(|v| v * k as f64).collect();
        let what = format!("mul_integer({k})");
        let out = kit.ev.mul_integer(&a, k).ctx(&what)?;
        kit.expect_ct(&what, &out, kit.top(), s, &want, bits)?;
        let mut c = a.clone();
        kit.ev.mul_integer_assign(&mut c, k).ctx(&what)?;
        kit.expect_ct(&format!("{what} in place"), &c, kit.top(), s, &want, bits)?;
    }
    let (b, _) = kit.fresh_at(Level(0))?;
    let out = kit.ev.mul_integer(&b, 5).ctx("mul_integer at level 0")?;
    expect_level("mul_integer at level 0", out.level(), Level(0))
}
