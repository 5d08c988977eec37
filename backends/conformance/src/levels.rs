//! Level management: drop, match, set_scale, and a multiplicative chain down to level 0.

use crate::util::{expect_close, expect_level, expect_scale, prime, zip_map, Ctx, Kit};
use crate::{Failure, SuiteConfig, LEVEL_RELAX_BITS};
use hetile_backend::{Backend, Error, Evaluator, Level, Meta, Scale};

/// `drop_to_level` (and the assign form) to every level below the top, and to its own level:
/// values and scale unchanged. Precision: `min_bits`.
pub fn check_drop_to_level<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 40)?;
    let (a, x) = kit.fresh()?;
    let s = kit.scale().value();
    for l in (0..=kit.top().0).rev() {
        let what = format!("drop_to_level({l})");
        let d = kit.ev.drop_to_level(&a, Level(l)).ctx(&what)?;
        kit.expect_ct(&what, &d, Level(l), s, &x, cfg.min_bits)?;
        let mut e = a.clone();
        kit.ev.drop_to_level_assign(&mut e, Level(l)).ctx(&what)?;
        kit.expect_ct(
            &format!("{what} in place"),
            &e,
            Level(l),
            s,
            &x,
            cfg.min_bits,
        )?;
    }
    // A dropped ciphertext still computes: drop, multiply, rescale.
    let d = kit.ev.drop_to_level(&a, Level(1)).ctx("drop")?;
    let r = kit
        .ev
        .rescale(&kit.ev.square(&d).ctx("square")?)
        .ctx("rescale")?;
    let want: Vec<f64> = x.iter().map(|v| v * v).collect();
    let q1 = prime(&kit.params, Level(1))?;
    kit.expect_ct(
        "square after a drop",
        &r,
        Level(0),
        s * s / q1,
        &want,
        cfg.min_bits - 1.0,
    )
}

/// `match_levels` drops whichever operand is higher (either argument order) and leaves equal
/// levels alone; the aligned operands then add. Precision: `min_bits`.
pub fn check_match_levels<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 41)?;
    let (a, x) = kit.fresh()?;
    let (b, y) = kit.fresh_at(Level(1))?;
    let sum = zip_map(&x, &y, |u, v| u + v);
    let s = kit.scale().value();
    for swap in [false, true] {
        let (mut p, mut q) = if swap {
            (b.clone(), a.clone())
        } else {
            (a.clone(), b.clone())
        };
        kit.ev.match_levels(&mut p, &mut q).ctx("match_levels")?;
        expect_level("match_levels left", p.level(), Level(1))?;
        expect_level("match_levels right", q.level(), Level(1))?;
        let out = kit.ev.add(&p, &q).ctx("add after match_levels")?;
        kit.expect_ct(
            "add after match_levels",
            &out,
            Level(1),
            s,
            &sum,
            cfg.min_bits,
        )?;
    }
    let (mut p, mut q) = (a.clone(), a.clone());
    kit.ev
        .match_levels(&mut p, &mut q)
        .ctx("match_levels equal")?;
    kit.expect_ct(
        "match_levels on equal levels",
        &p,
        kit.top(),
        s,
        &x,
        cfg.min_bits,
    )
}

/// `set_scale` brings a rescaled product (scale `s^2 / q`) back to exactly the default scale at
/// the cost of one level, after which it adds to a fresh ciphertext at that level.
/// Precision: `min_bits - 2 * LEVEL_RELAX_BITS`.
pub fn check_set_scale<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 42)?;
    let bits = cfg.min_bits - 2.0 * LEVEL_RELAX_BITS;
    let top = kit.top();
    let (a, x) = kit.fresh()?;
    let (b, y) = kit.fresh()?;
    let r = kit
        .ev
        .rescale(&kit.ev.mul(&a, &b).ctx("mul")?)
        .ctx("rescale")?;
    let target = kit.scale();
    let t = kit.ev.set_scale(&r, target).ctx("set_scale")?;
    let prod = zip_map(&x, &y, |u, v| u * v);
    let l2 = Level(top.0 - 2);
    kit.expect_ct("set_scale", &t, l2, target.value(), &prod, bits)?;
    let (c, z) = kit.fresh_at(l2)?;
    let sum = kit.ev.add(&t, &c).ctx("add after set_scale")?;
    let want = zip_map(&prod, &z, |u, v| u + v);
    kit.expect_ct("add after set_scale", &sum, l2, target.value(), &want, bits)?;
    // To a non-default target as well.
    let other = Scale::from_log2(target.log2() - 4.0)
        .ok_or_else(|| Failure::new("default scale too small for the suite"))?;
    let t2 = kit
        .ev
        .set_scale(&a, other)
        .ctx("set_scale to another scale")?;
    kit.expect_ct(
        "set_scale to 2^-4 s",
        &t2,
        Level(top.0 - 1),
        other.value(),
        &x,
        bits,
    )
}

/// A chain of `L` ciphertext multiplications, each followed by a rescale, from the top level to
/// level 0 (`acc <- rescale(acc * x_i)` with fresh `x_i` dropped to `acc`'s level), checking the
/// exact scale after every step; a further rescale is then [`Error::LevelExhausted`].
/// Precision after step `i`: `min_bits - i * LEVEL_RELAX_BITS`.
pub fn check_depth_chain<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 43)?;
    let (mut acc, mut want) = kit.fresh()?;
    let mut scale = kit.scale().value();
    let top = kit.top().0;
    for step in 1..=top {
        let level = Level(top + 1 - step);
        let (fresh, y) = kit.fresh()?;
        let y_ct = kit.ev.drop_to_level(&fresh, level).ctx("drop_to_level")?;
        let prod = kit.ev.mul(&acc, &y_ct).ctx("mul")?;
        acc = kit.ev.rescale(&prod).ctx("rescale")?;
        scale = scale * kit.scale().value() / prime(&kit.params, level)?;
        want = zip_map(&want, &y, |u, v| u * v);
        let what = format!("depth chain step {step}");
        expect_level(&what, acc.level(), Level(top - step))?;
        expect_scale(&what, acc.scale(), scale)?;
        let bits = cfg.min_bits - step as f64 * LEVEL_RELAX_BITS;
        expect_close(&what, &kit.decrypt(&acc)?, &want, bits)?;
    }
    match kit.ev.rescale(&acc) {
        Err(Error::LevelExhausted { .. }) => Ok(()),
        Err(e) => Err(Failure::new(format!(
            "rescale at the end of the chain: expected LevelExhausted, got {e:?}"
        ))),
        Ok(_) => Err(Failure::new(
            "rescale at the end of the chain: expected LevelExhausted, but it succeeded",
        )),
    }
}
