//! Rotations (single, many, large and negative steps) and conjugation.

use crate::util::{
    ensure, expect_close, expect_close_complex, expect_level, expect_scale, rotated, Ctx, Kit,
};
use crate::{Failure, SuiteConfig, KEYSWITCH_RELAX_BITS, MUL_RELAX_BITS};
use hetile_backend::{Backend, Client, Complex, Evaluator, Level, Meta};

/// Steps that [`crate::standard_keys`] covers, in many spellings: positive, negative, zero,
/// `slots - 1`, and steps beyond the slot count (reduced modulo it).
fn covered_steps(slots: i64) -> Vec<i64> {
    vec![
        1,
        2,
        3,
        5,
        -1,
        0,
        slots - 1,
        slots,
        slots + 1,
        -(slots - 3),
        2 * slots + 5,
        -slots - 1,
        1 - slots,
    ]
}

/// `rotate` by every step in the covered set moves slot `i + step` (mod slots) to slot `i`,
/// keeps level and scale, at the top level and at level 0. Precision: `min_bits -
/// KEYSWITCH_RELAX_BITS` (1.5 times the relaxation after two rotations, plus `MUL_RELAX_BITS`
/// for a rotated product).
pub fn check_rotate_steps<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 30)?;
    let bits = cfg.min_bits - KEYSWITCH_RELAX_BITS;
    let slots = kit.slots() as i64;
    let s = kit.scale().value();
    for level in [kit.top(), Level(0)] {
        let (a, x) = kit.fresh_at(level)?;
        for step in covered_steps(slots) {
            let what = format!("rotate by {step} at {level}");
            let r = kit.ev.rotate(&a, step).ctx(&what)?;
            kit.expect_ct(&what, &r, level, s, &rotated(&x, step), bits)?;
        }
        // Composition: rotating by 2 then by 3 equals rotating by 5.
        let r23 = kit
            .ev
            .rotate(&kit.ev.rotate(&a, 2).ctx("rotate 2")?, 3)
            .ctx("rotate 3")?;
        kit.expect_ct(
            "rotate 2 then 3",
            &r23,
            level,
            s,
            &rotated(&x, 5),
            cfg.min_bits - 1.5 * KEYSWITCH_RELAX_BITS,
        )?;
    }
    // Rotation of a product before rescale keeps the scale s^2.
    let (a, x) = kit.fresh()?;
    let sq = kit.ev.square(&a).ctx("square")?;
    let want: Vec<f64> = rotated(&x, -1).iter().map(|v| v * v).collect();
    let r = kit.ev.rotate(&sq, -1).ctx("rotate a product")?;
    kit.expect_ct(
        "rotate a product",
        &r,
        kit.top(),
        s * s,
        &want,
        bits - MUL_RELAX_BITS,
    )
}

/// `rotate_many` returns, in order, exactly the ciphertexts `rotate` returns for each step
/// (including 0 and repeated steps). Precision: `min_bits - KEYSWITCH_RELAX_BITS` (also for the
/// difference between the two, which may use different key-switching decompositions).
pub fn check_rotate_many<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 31)?;
    let bits = cfg.min_bits - KEYSWITCH_RELAX_BITS;
    let slots = kit.slots() as i64;
    let (a, x) = kit.fresh()?;
    let steps = covered_steps(slots);
    let many = kit.ev.rotate_many(&a, &steps).ctx("rotate_many")?;
    ensure(many.len() == steps.len(), || {
        format!(
            "rotate_many returned {} ciphertexts for {} steps",
            many.len(),
            steps.len()
        )
    })?;
    for (ct, &step) in many.iter().zip(&steps) {
        let what = format!("rotate_many step {step}");
        let single = kit.decrypt(&kit.ev.rotate(&a, step).ctx(&what)?)?;
        let got = kit.decrypt(ct)?;
        expect_close(&format!("{what} vs rotate"), &got, &single, bits)?;
        kit.expect_ct(
            &what,
            ct,
            kit.top(),
            kit.scale().value(),
            &rotated(&x, step),
            bits,
        )?;
    }
    let none = kit
        .ev
        .rotate_many(&a, &[])
        .ctx("rotate_many with no steps")?;
    ensure(none.is_empty(), || "rotate_many(&[]) is not empty".into())
}

/// `has_rotation_key` is true for step 0, for every key's step and for steps equal to one modulo
/// the slot count, and false for a step without a key.
pub fn check_has_rotation_key<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let kit = Kit::<B>::standard(cfg, 32)?;
    let slots = kit.slots() as i64;
    for step in covered_steps(slots) {
        ensure(kit.ev.has_rotation_key(step), || {
            format!("has_rotation_key({step}) is false but a key covers it")
        })?;
    }
    for step in [4, -4, slots + 4, 6] {
        ensure(!kit.ev.has_rotation_key(step), || {
            format!("has_rotation_key({step}) is true but no key was asked for")
        })?;
    }
    Ok(())
}

/// `conjugate` conjugates every complex slot, keeps level and scale, leaves real values
/// unchanged, and twice is the identity. Precision: `min_bits - KEYSWITCH_RELAX_BITS` (1.5 times
/// the relaxation after two conjugations).
pub fn check_conjugate<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 33)?;
    let bits = cfg.min_bits - KEYSWITCH_RELAX_BITS;
    for level in [kit.top(), Level(0)] {
        let z = kit.random_complex();
        let pt = kit
            .client
            .encode_complex(&z, level, kit.scale())
            .ctx("encode_complex")?;
        let ct = kit.client.encrypt(&pt).ctx("encrypt")?;
        let c = kit.ev.conjugate(&ct).ctx("conjugate")?;
        expect_level("conjugate", c.level(), level)?;
        expect_scale("conjugate", c.scale(), kit.scale().value())?;
        let want: Vec<Complex> = z.iter().map(|v| Complex::new(v.re, -v.im)).collect();
        expect_close_complex("conjugate", &kit.decrypt_complex(&c)?, &want, bits)?;
        let cc = kit.ev.conjugate(&c).ctx("conjugate twice")?;
        expect_close_complex(
            "conjugate twice",
            &kit.decrypt_complex(&cc)?,
            &z,
            cfg.min_bits - 1.5 * KEYSWITCH_RELAX_BITS,
        )?;
    }
    let (a, x) = kit.fresh()?;
    let c = kit.ev.conjugate(&a).ctx("conjugate real")?;
    expect_close("conjugate of real values", &kit.decrypt(&c)?, &x, bits)
}
