//! Parameter validation through the full `Params::new` path.

use hetile_backend::{max_log_qp, Error, Params, ParamsLiteral, SecretDistribution, SecurityLevel};

/// Splits `total` bits into an even chain of primes of at most 60 bits (first prime largest) with
/// no special prime, so the chain sums to exactly `total`.
fn literal_with_total_bits(log_n: u32, total: u32, security: SecurityLevel) -> ParamsLiteral {
    // Even split into primes of at most 60 bits, so that enough primes of each size exist.
    let count = total.div_ceil(60);
    let mut log_q: Vec<u32> = (0..count)
        .map(|i| total / count + u32::from(i < total % count))
        .collect();
    log_q.sort_unstable_by(|a, b| b.cmp(a));
    ParamsLiteral {
        log_n,
        log_q: log_q.clone(),
        log_p: vec![],
        log_scale: log_q[0].min(30) - 1,
        digits: None,
        security,
        secret: SecretDistribution::Ternary,
    }
}

#[test]
fn params_at_the_table_maximum_are_accepted_and_one_bit_more_refused() {
    for log_n in 10..=17u32 {
        for security in SecurityLevel::CHECKED {
            let max = max_log_qp(log_n, security).unwrap();
            // The smallest NTT-friendly prime at N = 2^log_n has log_n + 2 bits, and the prime
            // generator starts at 14 bits: N = 2^10 at 256-bit security (13 bits) has no chain.
            if max >= (log_n + 2).max(14) {
                let ok = Params::new(literal_with_total_bits(log_n, max, security))
                    .unwrap_or_else(|e| panic!("N=2^{log_n} {security} max={max}: {e}"));
                assert_eq!(ok.log_qp(), max);
            }
            let err = Params::new(literal_with_total_bits(log_n, max + 1, security)).unwrap_err();
            assert!(
                matches!(err, Error::InsecureParameters { log_qp, max_log_qp, .. } if log_qp == max + 1 && max_log_qp == max),
                "N=2^{log_n} {security}: {err}"
            );
        }
    }
}

#[test]
fn presets_are_secure_and_have_the_peer_layout() {
    for name in ParamsLiteral::PRESETS {
        let p = Params::preset(name).unwrap();
        assert_eq!(p.security(), SecurityLevel::Classical128);
        assert_eq!(p.p().len(), 3);
        assert_eq!(p.default_scale().log2(), 40.0);
        for q in p.q().iter().chain(p.p()) {
            assert_eq!(q % (2 * p.degree().get() as u64), 1);
            // Every prime takes the 50-bit IFMA kernels.
            assert!(*q < 1u64 << 50, "{name}: prime {q} is not below 2^50");
        }
        // The special primes cover the widest digit (the key-switching noise bound).
        let log_p: f64 = p.p().iter().map(|&x| (x as f64).log2()).sum();
        for r in p.digit_partition() {
            let digit: f64 = p.q()[r.clone()].iter().map(|&x| (x as f64).log2()).sum();
            assert!(digit <= log_p, "{name}: digit {r:?} wider than P");
        }
        assert!(
            p.log_qp()
                <= if p.degree().get() == 1 << 14 {
                    438
                } else {
                    881
                }
        );
    }
    let n14 = Params::preset("N14_L4").unwrap();
    assert_eq!(n14.max_level().0, 4);
    assert_eq!(n14.digits(), 2);
    let n15 = Params::preset("N15_L8").unwrap();
    assert_eq!(n15.max_level().0, 8);
    assert_eq!(n15.digits(), 3);
    assert_eq!(Params::preset("N15_L4").unwrap().max_level().0, 4);
    assert!(matches!(
        Params::preset("N99"),
        Err(Error::InvalidParameters { .. })
    ));
}

#[test]
fn malformed_literals_are_refused_with_reasons() {
    let base = ParamsLiteral::preset("N14_L4").unwrap();
    let cases: Vec<(ParamsLiteral, &str)> = vec![
        (
            ParamsLiteral {
                log_n: 18,
                ..base.clone()
            },
            "log_n",
        ),
        (
            ParamsLiteral {
                log_q: vec![],
                ..base.clone()
            },
            "first prime",
        ),
        (
            ParamsLiteral {
                log_scale: 60,
                ..base.clone()
            },
            "log_scale",
        ),
        (
            ParamsLiteral {
                digits: Some(6),
                ..base.clone()
            },
            "digits",
        ),
        (
            ParamsLiteral {
                log_q: vec![62, 40],
                ..base.clone()
            },
            "bit size",
        ),
        (
            ParamsLiteral {
                secret: SecretDistribution::HammingWeight(64),
                ..base.clone()
            },
            "sparse",
        ),
    ];
    for (lit, needle) in cases {
        match Params::new(lit.clone()) {
            Err(Error::InvalidParameters { reason }) => {
                assert!(
                    reason.contains(needle),
                    "{reason:?} should mention {needle:?}"
                )
            }
            other => panic!("{lit:?} gave {other:?}"),
        }
    }
}

#[test]
fn params_round_trip_through_serde_and_fingerprints_differ() {
    let p = Params::preset("N14_L4").unwrap();
    let json = serde_json::to_string(&p).unwrap();
    let back: Params = serde_json::from_str(&json).unwrap();
    assert_eq!(p, back);
    assert_eq!(p.fingerprint(), back.fingerprint());
    let other = Params::preset("N15_L4").unwrap();
    assert_ne!(p.fingerprint(), other.fingerprint());
    // Deserialization validates: an insecure literal is refused.
    let bad = json.replace("\"log_n\":14", "\"log_n\":11");
    assert!(serde_json::from_str::<Params>(&bad).is_err());
}
