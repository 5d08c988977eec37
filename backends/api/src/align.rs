//! The alignment rules every backend enforces identically, so that the mock, the simulator and the
//! native backend raise the same errors on the same circuits.

use crate::error::{Error, Result};
use crate::params::Params;
use crate::types::{Level, Scale};

/// Two scales are equal when their ratio differs from 1 by less than this. Distinct primes of a
/// chain differ by far more (at least 2N / 2^61), so a real mismatch is always caught, while the
/// rounding of f64 bookkeeping is not mistaken for one.
pub const SCALE_RELATIVE_TOLERANCE: f64 = 1e-9;

/// Errors with [`Error::LevelMismatch`] unless both operands are at the same level.
pub fn check_same_level(left: Level, right: Level) -> Result<()> {
    if left == right {
        Ok(())
    } else {
        Err(Error::LevelMismatch { left, right })
    }
}

/// Errors with [`Error::ScaleMismatch`] unless the scales agree within
/// [`SCALE_RELATIVE_TOLERANCE`].
pub fn check_same_scale(left: Scale, right: Scale) -> Result<()> {
    let ratio = left.value() / right.value();
    if (ratio - 1.0).abs() < SCALE_RELATIVE_TOLERANCE {
        Ok(())
    } else {
        Err(Error::ScaleMismatch {
            left_log2: left.log2(),
            right_log2: right.log2(),
        })
    }
}

/// Errors with [`Error::ScaleOverflow`] unless a value at `scale` leaves at least one bit of
/// headroom (for the sign) below the ciphertext modulus at `level`, and with
/// [`Error::InvalidLevel`] when the level is above the chain.
pub fn check_scale_fits(params: &Params, level: Level, scale: Scale) -> Result<()> {
    if level > params.max_level() {
        return Err(Error::InvalidLevel {
            requested: level,
            max: params.max_level(),
        });
    }
    let modulus_log2 = params.log_q_at(level);
    if scale.log2() + 1.0 > modulus_log2 {
        return Err(Error::ScaleOverflow {
            scale_log2: scale.log2(),
            modulus_log2,
            level,
        });
    }
    Ok(())
}

/// Largest log2 of `|value| * scale` that any backend accepts for encoding, whatever the level:
/// native encoders split coefficients exactly below 2^120 and a coefficient may reach N/2 times a
/// slot value.
pub const MAX_ENCODED_LOG2: f64 = 100.0;

/// The checks every encoder makes before encoding `values` (real parts and, for complex values, the
/// imaginary parts too) at `level` and `scale`: the scale fits the level
/// ([`check_scale_fits`]), there are at most as many values as slots ([`Error::SlotOverflow`]),
/// every value is finite ([`Error::NonFiniteValue`]) and `|value| * scale` stays below both
/// `2^(log2 Q_level - 1)` and `2^MAX_ENCODED_LOG2` ([`Error::ValueOutOfRange`]).
pub fn check_encodable(
    params: &Params,
    values: impl ExactSizeIterator<Item = f64>,
    level: Level,
    scale: Scale,
) -> Result<()> {
    check_scale_fits(params, level, scale)?;
    let slots = params.slots().get();
    if values.len() > slots {
        return Err(Error::SlotOverflow {
            given: values.len(),
            slots,
        });
    }
    let limit = (params.log_q_at(level) - 1.0).min(MAX_ENCODED_LOG2);
    for (index, value) in values.enumerate() {
        if !value.is_finite() {
            return Err(Error::NonFiniteValue { index, value });
        }
        if value != 0.0 && value.abs().log2() + scale.log2() >= limit {
            return Err(Error::ValueOutOfRange {
                index,
                value,
                scale_log2: scale.log2(),
                level,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamsLiteral;

    #[test]
    fn rules_accept_equal_and_refuse_different() {
        let params = Params::new(ParamsLiteral::preset("N14_L4").unwrap()).unwrap();
        let s = params.default_scale();
        assert!(check_same_scale(s, s).is_ok());
        let q1 = params.q()[1];
        let other = (s * Scale::new(q1 as f64).unwrap()).div_prime(params.q()[2]);
        assert!(matches!(
            check_same_scale(s, other),
            Err(Error::ScaleMismatch { .. })
        ));
        assert!(check_same_level(Level(2), Level(2)).is_ok());
        assert_eq!(
            check_same_level(Level(2), Level(1)),
            Err(Error::LevelMismatch {
                left: Level(2),
                right: Level(1)
            })
        );
        assert!(check_scale_fits(&params, Level(1), s * s).is_ok());
        assert!(matches!(
            check_scale_fits(&params, Level(0), s * s),
            Err(Error::ScaleOverflow { .. })
        ));
        assert!(matches!(
            check_scale_fits(&params, Level(5), s),
            Err(Error::InvalidLevel { .. })
        ));
    }

    #[test]
    fn encodable_values_are_checked() {
        let params = Params::new(ParamsLiteral::preset("N14_L4").unwrap()).unwrap();
        let s = params.default_scale();
        let ok = [1.0, -2.0, 0.0];
        assert!(check_encodable(&params, ok.iter().copied(), Level(4), s).is_ok());
        let nan = [1.0, f64::NAN];
        assert!(matches!(
            check_encodable(&params, nan.iter().copied(), Level(4), s),
            Err(Error::NonFiniteValue { index: 1, .. })
        ));
        // q_0 has 60 bits: 2^40 * 2^20 leaves no sign bit.
        let big = [0.5, 2f64.powi(20)];
        assert!(matches!(
            check_encodable(&params, big.iter().copied(), Level(0), s),
            Err(Error::ValueOutOfRange { index: 1, .. })
        ));
        let too_many = vec![0.0; 8193];
        assert_eq!(
            check_encodable(&params, too_many.into_iter(), Level(0), s),
            Err(Error::SlotOverflow {
                given: 8193,
                slots: 8192
            })
        );
    }
}
