//! Encoding, encryption and decryption round trips.

use crate::util::{
    expect_close, expect_close_complex, expect_level, expect_scale, padded, Ctx, Kit,
};
use crate::{Failure, SuiteConfig};
use hetile_backend::{Backend, Client, Complex, Evaluator, Level, Meta, Scale};

/// Real values survive `encode` then `decode` (client and evaluator encoders) at the top level,
/// at level 0 and at a non-default scale; a short vector is zero-padded. Precision: `min_bits`.
pub fn check_encode_decode_real<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 1)?;
    let x = kit.random();
    let bits = cfg.min_bits;
    let other_scale = Scale::from_log2(kit.scale().log2() - 3.0)
        .ok_or_else(|| Failure::new("default scale too small for the suite"))?;
    for (level, scale) in [
        (kit.top(), kit.scale()),
        (Level(0), kit.scale()),
        (Level(1), other_scale),
    ] {
        let what = format!("client encode/decode at {level}, scale {scale}");
        let pt = kit.client.encode(&x, level, scale).ctx(&what)?;
        expect_level(&what, pt.level(), level)?;
        expect_scale(&what, pt.scale(), scale.value())?;
        expect_close(&what, &kit.client.decode(&pt).ctx(&what)?, &x, bits)?;
        let what = format!("evaluator encode, client decode at {level}");
        let pt = kit.ev.encode(&x, level, scale).ctx(&what)?;
        expect_close(&what, &kit.client.decode(&pt).ctx(&what)?, &x, bits)?;
    }
    let short = &x[..kit.slots() / 3];
    let pt = kit
        .client
        .encode(short, kit.top(), kit.scale())
        .ctx("encode short")?;
    let got = kit.client.decode(&pt).ctx("decode short")?;
    expect_close(
        "short vector is zero-padded",
        &got,
        &padded(short, kit.slots()),
        bits,
    )?;
    let empty = kit
        .client
        .encode(&[], kit.top(), kit.scale())
        .ctx("encode empty")?;
    let got = kit.client.decode(&empty).ctx("decode empty")?;
    expect_close(
        "empty vector decodes to zeros",
        &got,
        &padded(&[], kit.slots()),
        bits,
    )
}

/// Complex values survive `encode_complex` then `decode_complex`; `decode` returns the real
/// parts; a real encoding has zero imaginary parts. Precision: `min_bits`.
pub fn check_encode_decode_complex<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 2)?;
    let z = kit.random_complex();
    let bits = cfg.min_bits;
    for level in [kit.top(), Level(0)] {
        let pt = kit
            .client
            .encode_complex(&z, level, kit.scale())
            .ctx("encode_complex")?;
        let got = kit.client.decode_complex(&pt).ctx("decode_complex")?;
        expect_close_complex("complex round trip", &got, &z, bits)?;
        let re: Vec<f64> = z.iter().map(|c| c.re).collect();
        expect_close(
            "decode gives real parts",
            &kit.client.decode(&pt).ctx("decode")?,
            &re,
            bits,
        )?;
        let pt = kit
            .ev
            .encode_complex(&z, level, kit.scale())
            .ctx("evaluator encode_complex")?;
        let got = kit.client.decode_complex(&pt).ctx("decode_complex")?;
        expect_close_complex("evaluator complex round trip", &got, &z, bits)?;
    }
    let x = kit.random();
    let pt = kit
        .client
        .encode(&x, kit.top(), kit.scale())
        .ctx("encode")?;
    let got = kit.client.decode_complex(&pt).ctx("decode_complex")?;
    let want: Vec<Complex> = x.iter().map(|&r| Complex::new(r, 0.0)).collect();
    expect_close_complex("real encoding has zero imaginary parts", &got, &want, bits)
}

fn encrypt_round_trip<B: Backend>(
    cfg: &SuiteConfig,
    salt: u64,
    symmetric: bool,
) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, salt)?;
    let name = if symmetric {
        "encrypt_symmetric"
    } else {
        "encrypt"
    };
    let x = kit.random();
    for level in [kit.top(), Level(1), Level(0)] {
        let what = format!("{name}/decrypt at {level}");
        let pt = kit.client.encode(&x, level, kit.scale()).ctx(&what)?;
        let ct = if symmetric {
            kit.client.encrypt_symmetric(&pt)
        } else {
            kit.client.encrypt(&pt)
        }
        .ctx(&what)?;
        kit.expect_ct(&what, &ct, level, kit.scale().value(), &x, cfg.min_bits)?;
        let back = kit.client.decrypt(&ct).ctx(&what)?;
        expect_level(&what, back.level(), level)?;
        expect_scale(&what, back.scale(), kit.scale().value())?;
    }
    // Two encryptions of the same plaintext decrypt to the same values.
    let pt = kit.client.encode(&x, kit.top(), kit.scale()).ctx(name)?;
    let a = kit.client.encrypt(&pt).ctx(name)?;
    let b = kit.client.encrypt_symmetric(&pt).ctx(name)?;
    let diff = kit.ev.sub(&a, &b).ctx("sub")?;
    expect_close(
        "pk - sk encryption of one plaintext",
        &kit.decrypt(&diff)?,
        &padded(&[], kit.slots()),
        cfg.min_bits,
    )
}

/// Public-key encryption then decryption at the top level, level 1 and level 0 keeps level,
/// scale and values; also `encrypt_values` / `decrypt_values`. Precision: `min_bits`.
pub fn check_encrypt_decrypt_public<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    encrypt_round_trip::<B>(cfg, 3, false)?;
    let mut kit = Kit::<B>::standard(cfg, 4)?;
    let x = kit.random();
    let ct = kit.client.encrypt_values(&x).ctx("encrypt_values")?;
    kit.expect_ct(
        "encrypt_values",
        &ct,
        kit.top(),
        kit.scale().value(),
        &x,
        cfg.min_bits,
    )
}

/// Secret-key encryption then decryption, as [`check_encrypt_decrypt_public`].
pub fn check_encrypt_decrypt_symmetric<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    encrypt_round_trip::<B>(cfg, 5, true)
}

/// Complex values survive encryption (public and secret key) and decryption.
/// Precision: `min_bits`.
pub fn check_encrypt_decrypt_complex<B: Backend>(cfg: &SuiteConfig) -> Result<(), Failure> {
    let mut kit = Kit::<B>::standard(cfg, 6)?;
    let z = kit.random_complex();
    let pt = kit
        .client
        .encode_complex(&z, kit.top(), kit.scale())
        .ctx("encode_complex")?;
    for symmetric in [false, true] {
        let ct = if symmetric {
            kit.client.encrypt_symmetric(&pt)
        } else {
            kit.client.encrypt(&pt)
        }
        .ctx("encrypt")?;
        expect_close_complex(
            "complex encrypt/decrypt",
            &kit.decrypt_complex(&ct)?,
            &z,
            cfg.min_bits,
        )?;
    }
    Ok(())
}
