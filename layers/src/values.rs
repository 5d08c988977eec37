//! Values of an encrypted forward pass: the residual addition and the lookup of live values
//! (the pass drops each value after its last reader).

use crate::error::Result;
use crate::model::model_err;
use hetile_backend::Backend;
use hetile_tiles::TileTensor;
use std::borrow::Cow;

/// The residual add: the operand with more levels is dropped to one above the other and its
/// scale set to the other's (one level); at equal levels the first is rescaled and the second
/// dropped. Depth: `max(da, db)`, plus one when equal.
pub(crate) fn add_values<B: Backend>(
    ev: &B::Evaluator,
    a: &TileTensor<B>,
    b: &TileTensor<B>,
) -> Result<TileTensor<B>> {
    let (la, lb) = (a.level().0, b.level().0);
    let (a2, b2) = if la == lb {
        let a2 = a.set_scale(ev, b.scale())?;
        let b2 = b.drop_to_level(ev, a2.level())?;
        (a2, b2)
    } else if la > lb {
        let a1 = a.drop_to_level(ev, hetile_backend::Level(lb + 1))?;
        (a1.set_scale(ev, b.scale())?, b.clone())
    } else {
        let b1 = b.drop_to_level(ev, hetile_backend::Level(la + 1))?;
        (a.clone(), b1.set_scale(ev, a.scale())?)
    };
    Ok(a2.add(ev, &b2)?)
}

/// Value `j` of a forward pass that drops dead values, or an error if it was dropped (never
/// expected: values are dropped after their last reader).
pub(crate) fn live_value<'a, B: Backend>(
    values: &'a [Option<Cow<'_, TileTensor<B>>>],
    j: usize,
) -> Result<&'a TileTensor<B>> {
    values
        .get(j)
        .and_then(|v| v.as_deref())
        .ok_or_else(|| model_err(format!("value {j} used after it was dropped")))
}
