//! Secret handling: wipe on drop (checked in the allocator when the buffer is freed), redacted
//! Debug output, explicit secret-key export and import, and sanitized shared decryption.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hetile_backend::{Client, Error, KeyRequirements, Params, ParamsLiteral, SecurityLevel};
use hetile_ckks::{CkksClient, ErrorBound, SharingPolicy};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// An allocator that, when the watched address is freed, records whether its bytes were all
/// zero (1) or not (2). Reading the block inside `dealloc`, before it is handed back, is sound.
struct Watching;
static WATCH: AtomicUsize = AtomicUsize::new(0);
static VERDICT: AtomicUsize = AtomicUsize::new(0);
/// Serializes the tests that use the watch.
static LOCK: Mutex<()> = Mutex::new(());

unsafe impl GlobalAlloc for Watching {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ptr as usize == WATCH.load(Ordering::SeqCst) {
            let bytes = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            let zero = bytes.iter().all(|&b| b == 0);
            VERDICT.store(if zero { 1 } else { 2 }, Ordering::SeqCst);
            WATCH.store(0, Ordering::SeqCst);
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Watching = Watching;

fn watch(addr: usize) {
    VERDICT.store(0, Ordering::SeqCst);
    WATCH.store(addr, Ordering::SeqCst);
}

fn params(log_q: &[u32]) -> Params {
    Params::new(ParamsLiteral {
        log_n: 10,
        log_q: log_q.to_vec(),
        log_p: vec![60],
        log_scale: 40,
        digits: None,
        security: SecurityLevel::Insecure,
        secret: Default::default(),
    })
    .unwrap()
}

fn client(p: &Params, seed: u64) -> CkksClient {
    let keys = KeyRequirements::none().with_relinearization();
    CkksClient::new_insecure_seeded_for_tests(p, &keys, seed).unwrap()
}

#[test]
fn the_watch_detects_a_buffer_that_is_not_wiped() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let v = vec![0x5au64; 1024];
    watch(v.as_ptr() as usize);
    drop(v);
    assert_eq!(VERDICT.load(Ordering::SeqCst), 2);
}

#[test]
fn the_secret_key_buffer_is_zero_when_freed() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let p = params(&[60, 40]);
    let c = client(&p, 1);
    let (addr, len) = c.secret_storage_for_wipe_tests();
    assert_eq!(len, 1024 * 3 * 8);
    watch(addr);
    drop(c);
    assert_eq!(VERDICT.load(Ordering::SeqCst), 1, "secret key not wiped");

    // The same for a client restored from exported key bytes.
    let c = client(&p, 2);
    let public = c.public_context();
    let bytes = c.export_secret_key_unprotected().unwrap();
    let restored = CkksClient::from_secret_key_bytes(&public, &bytes).unwrap();
    let (addr, _) = restored.secret_storage_for_wipe_tests();
    watch(addr);
    drop(restored);
    assert_eq!(VERDICT.load(Ordering::SeqCst), 1);

    // And the exported bytes themselves.
    let addr = bytes.as_ptr() as usize;
    watch(addr);
    drop(bytes);
    assert_eq!(VERDICT.load(Ordering::SeqCst), 1);
}

#[test]
fn decrypted_plaintexts_are_wiped() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let p = params(&[60, 40]);
    let c = client(&p, 3);
    let ct = c.encrypt_values(&[0.25, -0.5]).unwrap();
    let pt = c.decrypt(&ct).unwrap();
    watch(pt.poly().as_slice().as_ptr() as usize);
    drop(pt);
    assert_eq!(VERDICT.load(Ordering::SeqCst), 1);
}

#[test]
fn debug_output_redacts_the_secret() {
    let p = params(&[60, 40]);
    let c = client(&p, 4);
    let text = format!("{c:?}");
    assert!(text.contains("SecretKey(<redacted>)"), "{text}");
    assert!(
        text.len() < 2000,
        "Debug prints key material: {} bytes",
        text.len()
    );
}

#[test]
fn secret_key_export_and_import() {
    let p = params(&[60, 40]);
    let a = client(&p, 5);
    let b = client(&p, 6);
    let bytes = a.export_secret_key_unprotected().unwrap();
    assert_eq!(bytes.len(), 16 + 2 + 1024);
    let restored = CkksClient::from_secret_key_bytes(&a.public_context(), &bytes).unwrap();
    let ct = a.encrypt_values(&[0.125, 0.75]).unwrap();
    let got = restored.decrypt_values(&ct).unwrap();
    assert!((got[0] - 0.125).abs() < 1e-6 && (got[1] - 0.75).abs() < 1e-6);
    // A's secret key does not belong to B's public key.
    assert!(matches!(
        CkksClient::from_secret_key_bytes(&b.public_context(), &bytes),
        Err(Error::ContextMismatch { .. })
    ));
    // Nor to other parameters.
    let other = client(&params(&[60, 41]), 7);
    assert!(matches!(
        CkksClient::from_secret_key_bytes(&other.public_context(), &bytes),
        Err(Error::ContextMismatch { .. })
    ));
    // A coefficient outside {-1, 0, 1} is refused.
    let mut bad = bytes.to_vec();
    bad[20] = 2;
    assert!(matches!(
        CkksClient::from_secret_key_bytes(&a.public_context(), &bad),
        Err(Error::Serialization { .. })
    ));
}

#[test]
fn shared_decryption_floods_with_the_documented_noise_and_spends_a_budget() {
    let p = params(&[60, 40]);
    let c = client(&p, 8);
    let policy = SharingPolicy {
        statistical_security: 30,
        budget: 4,
    };
    c.set_sharing_policy(policy).unwrap();
    let v: Vec<f64> = (0..512).map(|i| (f64::from(i) * 0.1).cos() * 0.5).collect();
    let ct = c.encrypt_values(&v).unwrap();
    let bound = ErrorBound::fresh_public_key(&p);
    let sigma = policy.flooding_sigma(bound);
    assert_eq!(
        sigma,
        8.0 * bound.value() * 2.0 * 2f64.powi(15),
        "sigma = 8 B sqrt(k) 2^(s/2)"
    );
    // Predicted standard deviation of the real part of a slot: sigma * sqrt(N / 2) / scale.
    let predicted = sigma * (512f64).sqrt() / 2f64.powi(40);
    let plain = c.decrypt_values(&ct).unwrap();
    let shared = c.decrypt_for_sharing(&ct, bound).unwrap();
    let diffs: Vec<f64> = shared.iter().zip(&plain).map(|(a, b)| a - b).collect();
    let std = (diffs.iter().map(|d| d * d).sum::<f64>() / diffs.len() as f64).sqrt();
    assert!(
        (0.7 * predicted..1.4 * predicted).contains(&std),
        "noise std {std:e}, predicted {predicted:e}"
    );
    // A second shared decryption of the same ciphertext draws fresh noise.
    let again = c.decrypt_for_sharing(&ct, bound).unwrap();
    assert!(again.iter().zip(&shared).any(|(a, b)| a != b));
    assert_eq!(c.shared_decryptions_left().unwrap(), 2);
    // The policy is fixed once used.
    assert!(c.set_sharing_policy(SharingPolicy::default()).is_err());
    c.decrypt_for_sharing(&ct, bound).unwrap();
    c.decrypt_for_sharing(&ct, bound).unwrap();
    assert!(matches!(
        c.decrypt_for_sharing(&ct, bound),
        Err(Error::Unsupported { .. })
    ));
    // Invalid inputs are typed errors.
    assert!(ErrorBound::new(f64::NAN).is_err());
    assert!(c
        .set_sharing_policy(SharingPolicy {
            statistical_security: 5,
            budget: 1
        })
        .is_err());
}

#[test]
fn noise_estimation_bounds_later_runs_of_the_same_circuit() {
    let p = params(&[60, 40, 40]);
    let c = client(&p, 21);
    let ev = c.evaluator().unwrap();
    // The circuit to be shared: x * y, rescaled.
    let circuit = |x: &[f64], y: &[f64]| {
        let (cx, cy) = (c.encrypt_values(x).unwrap(), c.encrypt_values(y).unwrap());
        let mut z = hetile_backend::Evaluator::mul(&ev, &cx, &cy).unwrap();
        hetile_backend::Evaluator::rescale_assign(&ev, &mut z).unwrap();
        z
    };
    let inputs =
        |seed: f64| -> Vec<f64> { (0..512).map(|i| (f64::from(i) * seed).sin()).collect() };
    // Estimation run on the key owner's own inputs.
    let (x0, y0) = (inputs(0.37), inputs(0.11));
    let want0: Vec<f64> = x0.iter().zip(&y0).map(|(a, b)| a * b).collect();
    let measured = c
        .estimate_error_bound(&circuit(&x0, &y0), &want0, 1.0)
        .unwrap();
    let bound = c
        .estimate_error_bound(&circuit(&x0, &y0), &want0, 16.0)
        .unwrap();
    // A rescaled product carries more noise than a fresh secret-key encryption.
    assert!(measured.value() > ErrorBound::fresh_secret_key().value());
    // Later runs of the same circuit on other data stay below the margined bound.
    for seed in [0.23, 0.71, 1.3] {
        let (x, y) = (inputs(seed), inputs(seed * 0.5));
        let want: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a * b).collect();
        let actual = c
            .estimate_error_bound(&circuit(&x, &y), &want, 1.0)
            .unwrap();
        assert!(actual.value() <= bound.value(), "{actual:?} > {bound:?}");
    }
    assert!(c
        .estimate_error_bound(&circuit(&x0, &y0), &want0, 0.5)
        .is_err());
    assert!(c
        .estimate_error_bound(&circuit(&x0, &y0), &vec![0.0; 513], 2.0)
        .is_err());
}

#[test]
fn sparse_secret_keys_keep_their_hamming_weight() {
    let p = Params::new(ParamsLiteral {
        log_n: 10,
        log_q: vec![60, 40],
        log_p: vec![60],
        log_scale: 40,
        digits: None,
        security: SecurityLevel::Insecure,
        secret: hetile_backend::SecretDistribution::HammingWeight(64),
    })
    .unwrap();
    let c = CkksClient::new_insecure_seeded_for_tests(&p, &KeyRequirements::none(), 9).unwrap();
    let bytes = c.export_secret_key_unprotected().unwrap();
    let body = &bytes[18..];
    assert_eq!(body.iter().filter(|&&b| b != 0).count(), 64);
    assert!(CkksClient::from_secret_key_bytes(&c.public_context(), &bytes).is_ok());
    // One more non-zero coefficient breaks the weight: refused before the key is used.
    let zero = body.iter().position(|&b| b == 0).unwrap();
    let mut heavier = bytes.to_vec();
    heavier[18 + zero] = 1;
    match CkksClient::from_secret_key_bytes(&c.public_context(), &heavier) {
        Err(Error::Serialization { reason }) => assert!(reason.contains("Hamming"), "{reason}"),
        other => panic!("{other:?}"),
    }
}
