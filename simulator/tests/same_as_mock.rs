//! The simulator raises exactly the mock's errors (and keeps exactly its levels and scales) on
//! the same circuits, bad and good.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions unwrap too

mod common;

use hetile_backend::{
    Backend, Client, Complex, Error, Evaluator, KeyRequirements, Level, Meta, Params, Scale,
};
use hetile_mock::MockBackend;
use hetile_sim::SimBackend;
use hetile_tiles::{MatVecLayout, PlainMatrix, TileShape, TileTensor};
use ndarray::{Array1, Array2, ArrayD, IxDyn};

/// What a circuit ends with: the metadata of its result, or the error.
type Outcome = Result<(Level, f64), Error>;

fn meta<C: Meta>(c: &C) -> (Level, f64) {
    (c.level(), c.scale().value())
}

/// Runs every circuit on backend `B` and returns the outcomes in order.
fn circuits<B: Backend>(params: &Params) -> Vec<(&'static str, Outcome)> {
    let keys = KeyRequirements::none()
        .with_relinearization()
        .with_rotations([1, 2]);
    let client = B::Client::new_insecure_seeded_for_tests(params, &keys, 7).unwrap();
    let ev = client.evaluator().unwrap();
    let bare = B::Client::new_insecure_seeded_for_tests(params, &KeyRequirements::none(), 7)
        .unwrap()
        .evaluator()
        .unwrap();
    let other = common::small_params(10, 2);
    let foreign = B::Client::new(&other, &keys).unwrap();
    let s = params.default_scale();
    let top = params.max_level();
    let x = vec![0.5; 8];
    let enc = |l: Level| {
        let pt = client.encode(&x, l, s)?;
        client.encrypt(&pt)
    };
    let mut out: Vec<(&'static str, Outcome)> = Vec::new();
    let mut run = |name: &'static str, f: &dyn Fn() -> Outcome| out.push((name, f()));

    run("rescale at 0", &|| {
        let a = enc(Level(0))?;
        ev.rescale(&a).map(|c| meta(&c))
    });
    run("add across levels", &|| {
        ev.add(&enc(top)?, &enc(Level(1))?).map(|c| meta(&c))
    });
    run("add across scales", &|| {
        let a = enc(top)?;
        let p = ev.mul(&a, &a)?;
        ev.add(&p, &a).map(|c| meta(&c))
    });
    run("products until overflow", &|| {
        let mut a = enc(top)?;
        for _ in 0..16 {
            a = ev.mul(&a, &a)?;
        }
        Ok(meta(&a))
    });
    run("mul without relinearization key", &|| {
        let a = enc(top)?;
        bare.mul(&a, &a).map(|c| meta(&c))
    });
    run("rotate without key", &|| {
        ev.rotate(&enc(top)?, 3).map(|c| meta(&c))
    });
    run("rotate_many with one missing key", &|| {
        ev.rotate_many(&enc(top)?, &[1, 2, 4]).map(|v| meta(&v[0]))
    });
    run("conjugate without key", &|| {
        ev.conjugate(&enc(top)?).map(|c| meta(&c))
    });
    run("too many values", &|| {
        let v = vec![0.0; params.slots().get() + 1];
        ev.encode(&v, top, s).map(|p| meta(&p))
    });
    run("NaN", &|| {
        ev.encode(&[1.0, f64::NAN], top, s).map(|p| meta(&p))
    });
    run("complex infinity", &|| {
        ev.encode_complex(&[Complex::new(0.0, f64::INFINITY)], top, s)
            .map(|p| meta(&p))
    });
    run("value out of range", &|| {
        ev.encode(&[1e12], Level(0), s).map(|p| meta(&p))
    });
    run("mul_scalar at 0", &|| {
        ev.mul_scalar(&enc(Level(0))?, 2.0).map(|c| meta(&c))
    });
    run("mul_scalar too large", &|| {
        ev.mul_scalar(&enc(top)?, 1e30).map(|c| meta(&c))
    });
    run("add_scalar too large", &|| {
        ev.add_scalar(&enc(top)?, 1e30).map(|c| meta(&c))
    });
    run("drop up", &|| {
        ev.drop_to_level(&enc(Level(1))?, top).map(|c| meta(&c))
    });
    run("encode above the chain", &|| {
        ev.encode(&x, Level(top.0 + 1), s).map(|p| meta(&p))
    });
    run("plaintext below the ciphertext", &|| {
        let p = ev.encode(&x, Level(1), s)?;
        ev.mul_plain(&enc(top)?, &p).map(|c| meta(&c))
    });
    run("plaintext product overflow at 0", &|| {
        let p = ev.encode(&x, Level(0), s)?;
        ev.mul_plain(&enc(Level(0))?, &p).map(|c| meta(&c))
    });
    run("foreign ciphertext", &|| {
        let f = foreign.encrypt_values(&x)?;
        ev.add(&f, &f).map(|c| meta(&c))
    });
    run("foreign plaintext", &|| {
        let p = foreign.encode(&x, Level(1), s)?;
        ev.add_plain(&enc(Level(1))?, &p).map(|c| meta(&c))
    });
    run("set_scale at 0", &|| {
        ev.set_scale(&enc(Level(0))?, s).map(|c| meta(&c))
    });
    // good circuits: the metadata must agree exactly
    run("depth chain", &|| {
        let mut a = enc(top)?;
        while a.level().0 > 0 {
            a = ev.rescale(&ev.mul(&a, &a)?)?;
            a = ev.rotate(&a, 1)?;
        }
        Ok(meta(&a))
    });
    run("set_scale", &|| {
        let a = enc(top)?;
        let b = ev.rescale(&ev.mul(&a, &a)?)?;
        ev.set_scale(&b, Scale::from_log2(38.0).unwrap_or(s))
            .map(|c| meta(&c))
    });
    run("scalar products", &|| {
        let a = ev.rescale(&ev.mul_scalar(&enc(top)?, 0.25)?)?;
        let b = ev.add_scalar(&ev.mul_integer(&a, -3)?, 1.5)?;
        let c = ev.sub_plain(&ev.negate(&b)?, &ev.encode(&x, top, b.scale())?)?;
        Ok(meta(&c))
    });
    out
}

#[test]
fn backend_errors_and_metadata_equal_the_mocks() {
    let params = common::small_params(10, 3);
    let sim = circuits::<SimBackend>(&params);
    let mock = circuits::<MockBackend>(&params);
    assert_eq!(sim.len(), mock.len());
    let mut errors = 0;
    for ((name, s), (_, m)) in sim.iter().zip(&mock) {
        // compared as Debug text: NaN values inside errors are not equal to themselves
        assert_eq!(format!("{s:?}"), format!("{m:?}"), "{name}");
        errors += usize::from(s.is_err());
    }
    // the bad circuits really are bad
    assert!(errors >= 21, "only {errors} circuits failed");
}

/// Tile-level outcomes (shape, level, scale, or the error text) of a matvec with and without the
/// keys it needs, and of a sum past the chain.
fn tile_outcomes<B: Backend>(params: &Params) -> Vec<Result<(String, Level, f64), String>> {
    let m = Array2::from_shape_fn((16, 40), |(i, j)| ((i + j) % 5) as f64 / 10.0);
    let v = Array1::from_shape_fn(40, |i| i as f64 / 40.0);
    let plan = MatVecLayout::Rows.plan(16, 40, [16, 32]).unwrap();
    let mut results = Vec::new();
    for keys in [plan.key_requirements(), KeyRequirements::none()] {
        let client = B::Client::new_insecure_seeded_for_tests(params, &keys, 1).unwrap();
        let ev = client.evaluator().unwrap();
        let r = (|| {
            let w = PlainMatrix::<B>::encode(
                &ev,
                &m,
                MatVecLayout::Rows,
                [16, 32],
                params.max_level(),
            )?;
            let x = w.encrypt_vector(&client, &v)?;
            let y = w.apply(&ev, &x)?;
            let y = y.mul_scalar(&ev, 0.5)?.mul_scalar(&ev, 0.5)?;
            Ok::<_, hetile_tiles::TileError>((y.shape().to_string(), y.level(), y.scale().value()))
        })();
        results.push(r.map_err(|e| e.to_string()));
    }
    let shape: TileShape = "[4/4, 256/128]".parse().unwrap();
    let client = B::Client::new(params, &KeyRequirements::none()).unwrap();
    let ev = client.evaluator().unwrap();
    let a = ArrayD::from_shape_fn(IxDyn(&[4, 256]), |ix| ix[1] as f64 / 256.0);
    let t = TileTensor::<B>::encrypt(&client, &a, shape).unwrap();
    let r = t
        .sum(&ev, 1)
        .map(|s| (s.shape().to_string(), s.level(), s.scale().value()));
    results.push(r.map_err(|e| e.to_string()));
    results
}

#[test]
fn tile_operations_fail_and_succeed_alike() {
    let params = common::small_params(10, 3);
    let sim = tile_outcomes::<SimBackend>(&params);
    let mock = tile_outcomes::<MockBackend>(&params);
    assert_eq!(sim, mock);
    // with keys: matvec and two scalar products use the 3 levels
    assert_eq!(sim[0].as_ref().map(|r| r.1), Ok(Level(0)), "{:?}", sim[0]);
    assert!(sim[1].is_err() && sim[2].is_err(), "{sim:?}");
}
