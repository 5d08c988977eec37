//! Every error variant a backend raises, provoked on purpose and matched exactly.

use crate::util::{ensure, expect_err, Ctx, Kit};
use crate::{Failure, SuiteConfig};
use hetile_backend::{
    Backend, Client, Complex, Error, Evaluator, KeyRequirements, Level, Meta, Scale,
    MAX_ENCODED_LOG2,
};

/// The most multiplications a check tries before declaring that a scale never overflows.
const MAX_GROWTH_STEPS: usize = 128;

/// [`Error::LevelMismatch`]: ct-ct `add`, `sub`, `mul` (also in place) at different levels, and
/// `add_plain`, `sub_plain`, `mul_plain` with a plaintext below the ciphertext's level.
pub fn check_error_level_mismatch<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 50)?;
    let (a, _) = kit.fresh()?;
    let (b, _) = kit.fresh_at(Level(1))?;
    let x = kit.random();
    let ev = &kit.ev;
    expect_err!(
        "add at different levels",
        ev.add(&a, &b),
        Error::LevelMismatch { .. }
    )?;
    expect_err!(
        "sub at different levels",
        ev.sub(&b, &a),
        Error::LevelMismatch { .. }
    )?;
    expect_err!(
        "mul at different levels",
        ev.mul(&a, &b),
        Error::LevelMismatch { .. }
    )?;
    let mut c = a.clone();
    expect_err!(
        "add_assign",
        ev.add_assign(&mut c, &b),
        Error::LevelMismatch { .. }
    )?;
    expect_err!(
        "sub_assign",
        ev.sub_assign(&mut c, &b),
        Error::LevelMismatch { .. }
    )?;
    expect_err!(
        "mul_assign",
        ev.mul_assign(&mut c, &b),
        Error::LevelMismatch { .. }
    )?;
    let low = kit.client.encode(&x, Level(1), kit.scale()).ctx("encode")?;
    expect_err!(
        "add_plain with a lower plaintext",
        ev.add_plain(&a, &low),
        Error::LevelMismatch { .. }
    )?;
    expect_err!(
        "sub_plain with a lower plaintext",
        ev.sub_plain(&a, &low),
        Error::LevelMismatch { .. }
    )?;
    expect_err!(
        "mul_plain with a lower plaintext",
        ev.mul_plain(&a, &low),
        Error::LevelMismatch { .. }
    )?;
    // The error names the two levels.
    match ev.add(&a, &b) {
        Err(Error::LevelMismatch { left, right }) if left == a.level() && right == Level(1) => {
            Ok(())
        }
        other => Err(Failure::new(format!(
            "add at {} and level 1: expected LevelMismatch naming both levels, got {:?}",
            a.level(),
            other.err()
        ))),
    }
}

/// [`Error::ScaleMismatch`]: `add`, `sub`, `add_plain`, `sub_plain` of operands at one level
/// whose scales differ (a rescaled product against a fresh ciphertext; a plaintext at another
/// scale).
pub fn check_error_scale_mismatch<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 51)?;
    let (a, x) = kit.fresh()?;
    let r = kit
        .ev
        .rescale(&kit.ev.square(&a).ctx("square")?)
        .ctx("rescale")?;
    let (b, _) = kit.fresh_at(r.level())?;
    let ev = &kit.ev;
    expect_err!(
        "add with different scales",
        ev.add(&r, &b),
        Error::ScaleMismatch { .. }
    )?;
    expect_err!(
        "sub with different scales",
        ev.sub(&b, &r),
        Error::ScaleMismatch { .. }
    )?;
    let other = Scale::from_log2(kit.scale().log2() + 1.0)
        .ok_or_else(|| Failure::new("scale out of range"))?;
    let p = kit.client.encode(&x, kit.top(), other).ctx("encode")?;
    expect_err!(
        "add_plain with another scale",
        ev.add_plain(&a, &p),
        Error::ScaleMismatch { .. }
    )?;
    expect_err!(
        "sub_plain with another scale",
        ev.sub_plain(&a, &p),
        Error::ScaleMismatch { .. }
    )?;
    let sq = ev.square(&a).ctx("square")?;
    expect_err!(
        "add of s^2 and s",
        ev.add(&sq, &a),
        Error::ScaleMismatch { .. }
    )
}

/// Repeats `step` until it fails; the failure must be [`Error::ScaleOverflow`].
fn grow_until_overflow<C>(
    what: &str,
    mut value: C,
    step: impl Fn(&C) -> hetile_backend::Result<C>,
) -> Result<(), Failure> {
    for _ in 0..MAX_GROWTH_STEPS {
        match step(&value) {
            Ok(next) => value = next,
            Err(Error::ScaleOverflow { .. }) => return Ok(()),
            Err(e) => {
                return Err(Failure::new(format!(
                    "{what}: expected ScaleOverflow, got {e:?}"
                )))
            }
        }
    }
    Err(Failure::new(format!(
        "{what}: the scale never overflowed in {MAX_GROWTH_STEPS} steps"
    )))
}

/// [`Error::ScaleOverflow`]: repeated `mul` (squaring), `mul_plain` and `mul_scalar` without
/// rescaling until the product's scale no longer fits the level; and a plaintext whose scale
/// does not fit its level.
pub fn check_error_scale_overflow<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 52)?;
    let (a, x) = kit.fresh()?;
    let (b, _) = kit.fresh_at(Level(1))?;
    let ev = &kit.ev;
    grow_until_overflow("repeated squaring", a.clone(), |c| ev.square(c))?;
    let p = kit
        .client
        .encode(&x, kit.top(), kit.scale())
        .ctx("encode")?;
    grow_until_overflow("repeated mul_plain", a.clone(), |c| ev.mul_plain(c, &p))?;
    grow_until_overflow("repeated mul_scalar", a.clone(), |c| ev.mul_scalar(c, 1.0))?;
    grow_until_overflow("repeated mul_scalar at level 1", b, |c| {
        ev.mul_scalar(c, 0.5)
    })?;
    let huge = Scale::from_log2(kit.params.log_q_at(Level(0)) + 1.0)
        .ok_or_else(|| Failure::new("scale out of range"))?;
    expect_err!(
        "encode at a scale above q_0",
        kit.client.encode(&x, Level(0), huge),
        Error::ScaleOverflow { .. }
    )?;
    expect_err!(
        "evaluator encode at a scale above q_0",
        ev.encode(&x, Level(0), huge),
        Error::ScaleOverflow { .. }
    )
}

/// [`Error::LevelExhausted`]: `rescale` (and `rescale_assign`), `mul_scalar` and `set_scale` at
/// level 0.
pub fn check_error_level_exhausted<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 53)?;
    let (a, _) = kit.fresh_at(Level(0))?;
    let (b, _) = kit.fresh_at(Level(1))?;
    let ev = &kit.ev;
    expect_err!(
        "rescale at level 0",
        ev.rescale(&a),
        Error::LevelExhausted { .. }
    )?;
    let mut c = a.clone();
    expect_err!(
        "rescale_assign at level 0",
        ev.rescale_assign(&mut c),
        Error::LevelExhausted { .. }
    )?;
    expect_err!(
        "mul_scalar at level 0",
        ev.mul_scalar(&a, 0.5),
        Error::LevelExhausted { .. }
    )?;
    expect_err!(
        "set_scale at level 0",
        ev.set_scale(&a, kit.scale()),
        Error::LevelExhausted { .. }
    )?;
    // Reached by computation, not only by encryption at level 0.
    let r = ev.rescale(&b).ctx("rescale at level 1")?;
    expect_err!(
        "second rescale",
        ev.rescale(&r),
        Error::LevelExhausted { .. }
    )
}

/// [`Error::InvalidLevel`]: `drop_to_level` above the operand's level (also in place), and
/// encoding above the top of the chain (client and evaluator, real and complex).
pub fn check_error_invalid_level<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 54)?;
    let (a, x) = kit.fresh_at(Level(1))?;
    let ev = &kit.ev;
    expect_err!(
        "drop_to_level above own level",
        ev.drop_to_level(&a, Level(2)),
        Error::InvalidLevel { .. }
    )?;
    let mut c = a.clone();
    expect_err!(
        "drop_to_level_assign above own level",
        ev.drop_to_level_assign(&mut c, Level(2)),
        Error::InvalidLevel { .. }
    )?;
    let above = Level(kit.top().0 + 1);
    let s = kit.scale();
    expect_err!(
        "client encode above the chain",
        kit.client.encode(&x, above, s),
        Error::InvalidLevel { .. }
    )?;
    expect_err!(
        "evaluator encode above the chain",
        ev.encode(&x, above, s),
        Error::InvalidLevel { .. }
    )?;
    let z = vec![Complex::new(0.5, 0.5)];
    expect_err!(
        "client encode_complex above the chain",
        kit.client.encode_complex(&z, above, s),
        Error::InvalidLevel { .. }
    )?;
    expect_err!(
        "evaluator encode_complex above the chain",
        ev.encode_complex(&z, above, s),
        Error::InvalidLevel { .. }
    )?;
    expect_err!(
        "drop_to_level above the chain",
        ev.drop_to_level(&a, above),
        Error::InvalidLevel { .. }
    )
}

/// [`Error::MissingRotationKey`] (with the step as the caller wrote it): `rotate` and
/// `rotate_many` by a step without a key, for a client with the standard keys and for one with
/// no keys at all; step 0 (and a multiple of the slot count) still works without keys.
pub fn check_error_missing_rotation_key<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 55)?;
    let slots = kit.slots() as i64;
    let (a, _) = kit.fresh()?;
    let ev = &kit.ev;
    expect_err!(
        "rotate by 4",
        ev.rotate(&a, 4),
        Error::MissingRotationKey { step: 4 }
    )?;
    expect_err!(
        "rotate by -4",
        ev.rotate(&a, -4),
        Error::MissingRotationKey { step: -4 }
    )?;
    expect_err!(
        "rotate_many with step 4",
        ev.rotate_many(&a, &[1, 4]),
        Error::MissingRotationKey { step: 4 }
    )?;
    let mut bare = Kit::<B>::with_keys(cfg, 56, &KeyRequirements::none())?;
    let (b, x) = bare.fresh()?;
    let ev = &bare.ev;
    for step in [1, -1, 2, slots - 1] {
        expect_err!(
            &format!("keyless rotate by {step}"),
            ev.rotate(&b, step),
            Error::MissingRotationKey { .. }
        )?;
        ensure(!ev.has_rotation_key(step), || {
            format!("keyless has_rotation_key({step}) is true")
        })?;
    }
    expect_err!(
        "keyless rotate_many",
        ev.rotate_many(&b, &[0, 3]),
        Error::MissingRotationKey { step: 3 }
    )?;
    for step in [0, slots, -slots] {
        let r = ev
            .rotate(&b, step)
            .ctx(&format!("keyless rotate by {step}"))?;
        crate::util::expect_close(
            "keyless rotation by a multiple of the slot count",
            &bare.decrypt(&r)?,
            &x,
            cfg.min_bits,
        )?;
    }
    Ok(())
}

/// [`Error::MissingRelinearizationKey`]: `mul`, `mul_assign` and `square` for a client with no
/// keys (while the keyless evaluator still adds, multiplies by plaintexts and rescales).
pub fn check_error_missing_relinearization_key<B: Backend>(
    cfg: &SuiteConfig,
) -> Result<(), Failure> {
    let mut kit = Kit::<B>::with_keys(cfg, 57, &KeyRequirements::none().with_rotations([1]))?;
    let (a, x) = kit.fresh()?;
    let ev = &kit.ev;
    expect_err!(
        "keyless mul",
        ev.mul(&a, &a),
        Error::MissingRelinearizationKey
    )?;
    expect_err!(
        "keyless square",
        ev.square(&a),
        Error::MissingRelinearizationKey
    )?;
    let mut c = a.clone();
    expect_err!(
        "keyless mul_assign",
        ev.mul_assign(&mut c, &a),
        Error::MissingRelinearizationKey
    )?;
    let p = kit
        .client
        .encode(&x, kit.top(), kit.scale())
        .ctx("encode")?;
    let r = ev
        .rescale(&ev.mul_plain(&a, &p).ctx("keyless mul_plain")?)
        .ctx("keyless rescale")?;
    let want: Vec<f64> = x.iter().map(|v| v * v).collect();
    crate::util::expect_close(
        "keyless mul_plain",
        &kit.decrypt(&r)?,
        &want,
        cfg.min_bits - 1.0,
    )
}

/// [`Error::MissingConjugationKey`]: `conjugate` for a client with no keys and for one with
/// every key but conjugation.
pub fn check_error_missing_conjugation_key<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut bare = Kit::<B>::with_keys(cfg, 58, &KeyRequirements::none())?;
    let (a, _) = bare.fresh()?;
    expect_err!(
        "keyless conjugate",
        bare.ev.conjugate(&a),
        Error::MissingConjugationKey
    )?;
    let keys = KeyRequirements::none()
        .with_relinearization()
        .with_rotations([1, 2]);
    let mut kit = Kit::<B>::with_keys(cfg, 59, &keys)?;
    let (b, _) = kit.fresh()?;
    expect_err!(
        "conjugate without its key",
        kit.ev.conjugate(&b),
        Error::MissingConjugationKey
    )
}

/// [`Error::SlotOverflow`]: encoding `slots + 1` values (real and complex, client and
/// evaluator); exactly `slots` values are fine.
pub fn check_error_slot_overflow<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let kit = Kit::<B>::standard(cfg, 60)?;
    let n = kit.slots();
    let (l, s) = (kit.top(), kit.scale());
    let too_many = vec![0.25; n + 1];
    let z = vec![Complex::new(0.25, -0.25); n + 1];
    let ev = &kit.ev;
    let c = &kit.client;
    expect_err!(
        "client encode",
        c.encode(&too_many, l, s),
        Error::SlotOverflow { .. }
    )?;
    expect_err!(
        "evaluator encode",
        ev.encode(&too_many, l, s),
        Error::SlotOverflow { .. }
    )?;
    expect_err!(
        "client encode_complex",
        c.encode_complex(&z, l, s),
        Error::SlotOverflow { .. }
    )?;
    expect_err!(
        "evaluator encode_complex",
        ev.encode_complex(&z, l, s),
        Error::SlotOverflow { .. }
    )?;
    expect_err!(
        "encrypt_values",
        c.encrypt_values(&too_many),
        Error::SlotOverflow { .. }
    )?;
    match c.encode(&too_many, l, s) {
        Err(Error::SlotOverflow { given, slots }) if given == n + 1 && slots == n => {}
        other => {
            return Err(Failure::new(format!(
                "SlotOverflow must name {} values and {n} slots, got {:?}",
                n + 1,
                other.err()
            )))
        }
    }
    c.encode(&too_many[..n], l, s)
        .ctx("encode exactly `slots` values")?;
    Ok(())
}

/// [`Error::NonFiniteValue`] (with the offending index): NaN and infinities in `encode` and
/// `encode_complex` (real or imaginary part), and non-finite constants in `add_scalar` and
/// `mul_scalar`.
pub fn check_error_non_finite_value<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 61)?;
    let (l, s) = (kit.top(), kit.scale());
    let (a, _) = kit.fresh()?;
    let ev = &kit.ev;
    let c = &kit.client;
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let v = [0.5, -0.5, bad];
        expect_err!(
            "client encode",
            c.encode(&v, l, s),
            Error::NonFiniteValue { index: 2, .. }
        )?;
        expect_err!(
            "evaluator encode",
            ev.encode(&v, l, s),
            Error::NonFiniteValue { index: 2, .. }
        )?;
        let z = [Complex::new(0.5, 0.5), Complex::new(0.0, bad)];
        expect_err!(
            "encode_complex, imaginary part",
            c.encode_complex(&z, l, s),
            Error::NonFiniteValue { index: 1, .. }
        )?;
        let z = [Complex::new(bad, 0.0)];
        expect_err!(
            "encode_complex, real part",
            ev.encode_complex(&z, l, s),
            Error::NonFiniteValue { index: 0, .. }
        )?;
        expect_err!(
            "add_scalar",
            ev.add_scalar(&a, bad),
            Error::NonFiniteValue { .. }
        )?;
        expect_err!(
            "mul_scalar",
            ev.mul_scalar(&a, bad),
            Error::NonFiniteValue { .. }
        )?;
    }
    Ok(())
}

/// [`Error::ValueOutOfRange`] (with the offending index): a value whose product with the scale
/// exceeds [`MAX_ENCODED_LOG2`] bits, or the modulus at level 0; real and complex encoders.
pub fn check_error_value_out_of_range<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let kit = Kit::<B>::standard(cfg, 62)?;
    let (l, s) = (kit.top(), kit.scale());
    let ev = &kit.ev;
    let c = &kit.client;
    let too_big = (MAX_ENCODED_LOG2 - s.log2() + 1.0).exp2();
    let v = [0.5, too_big];
    expect_err!(
        "client encode",
        c.encode(&v, l, s),
        Error::ValueOutOfRange { index: 1, .. }
    )?;
    expect_err!(
        "evaluator encode",
        ev.encode(&v, l, s),
        Error::ValueOutOfRange { index: 1, .. }
    )?;
    let z = [Complex::new(0.0, -too_big)];
    expect_err!(
        "encode_complex",
        c.encode_complex(&z, l, s),
        Error::ValueOutOfRange { index: 0, .. }
    )?;
    let at_q0 = (kit.params.log_q_at(Level(0)) - s.log2()).exp2();
    expect_err!(
        "encode at level 0",
        c.encode(&[at_q0], Level(0), s),
        Error::ValueOutOfRange { index: 0, .. }
    )?;
    // A value just inside the limits encodes.
    let fine = (kit.params.log_q_at(Level(0)) - s.log2() - 3.0).exp2();
    c.encode(&[fine, -fine], Level(0), s)
        .ctx("encode a large but valid value")?;
    Ok(())
}
