//! Encoding shared by the evaluator and the client, and the context checks.

use crate::MockPlaintext;
use hetile_backend::{check_encodable, Complex, Error, Level, Params, Result, Scale};

/// Encodes real values (imaginary parts 0), zero-padded to `N/2` slots, after the shared
/// [`check_encodable`] checks.
pub(crate) fn encode_real(
    params: &Params,
    values: &[f64],
    level: Level,
    scale: Scale,
) -> Result<MockPlaintext> {
    check_encodable(params, values.iter().copied(), level, scale)?;
    let mut slots = vec![Complex::default(); params.slots().get()];
    for (slot, &v) in slots.iter_mut().zip(values) {
        slot.re = v;
    }
    Ok(MockPlaintext {
        values: slots,
        level,
        scale,
        context: params.fingerprint(),
    })
}

/// Encodes complex values, zero-padded to `N/2` slots, after checking the real parts and then
/// the imaginary parts with [`check_encodable`].
pub(crate) fn encode_complex(
    params: &Params,
    values: &[Complex],
    level: Level,
    scale: Scale,
) -> Result<MockPlaintext> {
    check_encodable(params, values.iter().map(|c| c.re), level, scale)?;
    check_encodable(params, values.iter().map(|c| c.im), level, scale)?;
    let mut slots = vec![Complex::default(); params.slots().get()];
    for (slot, &v) in slots.iter_mut().zip(values) {
        *slot = v;
    }
    Ok(MockPlaintext {
        values: slots,
        level,
        scale,
        context: params.fingerprint(),
    })
}

/// Errors with [`Error::ContextMismatch`] unless an object was made under these parameters and
/// holds exactly `N/2` slots at a level inside the chain.
pub(crate) fn check_context(
    params: &Params,
    what: &str,
    context: u64,
    len: usize,
    level: Level,
) -> Result<()> {
    if context != params.fingerprint() {
        return Err(Error::ContextMismatch {
            what: format!("{what} was made under other parameters than {params}"),
        });
    }
    if len != params.slots().get() {
        return Err(Error::ContextMismatch {
            what: format!(
                "{what} holds {len} slots, the parameters have {}",
                params.slots()
            ),
        });
    }
    if level > params.max_level() {
        return Err(Error::InvalidLevel {
            requested: level,
            max: params.max_level(),
        });
    }
    Ok(())
}

/// `a * b` for complex numbers.
pub(crate) fn cmul(a: Complex, b: Complex) -> Complex {
    Complex::new(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re)
}
