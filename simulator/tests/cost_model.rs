//! Cost table: YAML round trip, interpolation and prediction arithmetic.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions unwrap too

use hetile_sim::{
    key_switch_work, ChainEntry, CostEntry, CostTable, KeySizeEntry, MemoryProfile, NominalSizes,
    OpCounts, OpKind, SimError, SizeEntry, SCRATCH_POOL_BYTES,
};
use hetile_tiles::OpCost;
use std::time::Duration;

fn entry(op: OpKind, log_n: u32, level: usize, threads: usize, seconds: f64) -> CostEntry {
    CostEntry {
        op,
        log_n,
        level,
        threads,
        seconds,
    }
}

fn table() -> CostTable {
    CostTable {
        machine: "test".into(),
        backend: "none".into(),
        latencies: vec![
            entry(OpKind::Rotate, 13, 0, 1, 1.0),
            entry(OpKind::Rotate, 13, 4, 1, 5.0),
            entry(OpKind::Rotate, 15, 0, 1, 4.0),
            entry(OpKind::Rotate, 15, 4, 1, 20.0),
            entry(OpKind::Rotate, 13, 0, 4, 0.25),
            entry(OpKind::Add, 13, 2, 1, 0.1),
        ],
        sizes: vec![SizeEntry {
            log_n: 13,
            level: 1,
            ciphertext_bytes: 1000,
            plaintext_bytes: 400,
        }],
        keys: vec![KeySizeEntry {
            log_n: 13,
            max_level: 2,
            switching_key_bytes: 10_000,
        }],
        parallel: vec![entry(OpKind::Add, 13, 2, 2, 0.08)],
        chains: vec![ChainEntry {
            log_n: 13,
            q_primes: 5,
            p_primes: 3,
            digits: 2,
        }],
        runtime_base_bytes: 0,
        warm: vec![
            entry(OpKind::Add, 13, 2, 1, 0.025),
            entry(OpKind::Rotate, 13, 0, 1, 0.5),
        ],
        cache_bytes: 32 << 20,
    }
}

#[test]
fn yaml_round_trip_is_exact() {
    let t = table();
    let yaml = t.to_yaml().unwrap();
    assert!(yaml.contains("op: rotate"), "{yaml}");
    assert_eq!(CostTable::from_yaml(&yaml).unwrap(), t);
    assert!(matches!(
        CostTable::from_yaml("latencies: 3"),
        Err(SimError::Yaml { .. })
    ));
    let bad = yaml.replace("seconds: 0.1", "seconds: -0.1");
    assert!(matches!(
        CostTable::from_yaml(&bad),
        Err(SimError::InvalidTable { .. })
    ));
}

#[test]
fn the_default_table_parses_and_covers_every_op() {
    let t = CostTable::default_table().unwrap();
    for op in OpKind::ALL {
        let s = t.latency(op, 14, 2, 1).unwrap();
        assert!(s > 0.0 && s < 10.0, "{op}: {s}");
    }
    // rotations cost more than additions, more at higher levels and degrees
    assert!(
        t.latency(OpKind::Rotate, 14, 2, 1).unwrap() > t.latency(OpKind::Add, 14, 2, 1).unwrap()
    );
    assert!(
        t.latency(OpKind::Rotate, 15, 4, 1).unwrap() > t.latency(OpKind::Rotate, 13, 2, 1).unwrap()
    );
}

#[test]
fn interpolation_follows_the_documented_rules() {
    let t = table();
    let lat = |op, log_n, level, threads| t.latency(op, log_n, level, threads).unwrap();
    // exact and linear in the level
    assert_eq!(lat(OpKind::Rotate, 13, 0, 1), 1.0);
    assert_eq!(lat(OpKind::Rotate, 13, 2, 1), 3.0);
    // above the measured levels: scaled by (level + 1) / (nearest + 1)
    assert!((lat(OpKind::Rotate, 13, 9, 1) - 5.0 * 10.0 / 5.0).abs() < 1e-12);
    // below: an Add measured at level 2 only
    assert!((lat(OpKind::Add, 13, 0, 1) - 0.1 / 3.0).abs() < 1e-12);
    // geometric between degrees: sqrt(1 * 4) at level 0
    assert!((lat(OpKind::Rotate, 14, 0, 1) - 2.0).abs() < 1e-12);
    // outside the degrees: N log N scaling from the nearest
    assert!((lat(OpKind::Rotate, 16, 0, 1) - 4.0 * 2.0 * 16.0 / 15.0).abs() < 1e-12);
    assert!((lat(OpKind::Rotate, 12, 0, 1) - 0.5 * 12.0 / 13.0).abs() < 1e-12);
    // nearest thread count: 3 -> 4, 2 -> 1 (tie goes low)
    assert_eq!(lat(OpKind::Rotate, 13, 0, 3), 0.25);
    assert_eq!(lat(OpKind::Rotate, 13, 0, 2), 1.0);
    assert_eq!(
        t.latency(OpKind::Mul, 13, 0, 1),
        Err(SimError::MissingCost { op: OpKind::Mul })
    );
}

#[test]
fn predictions_sum_count_times_cost() {
    let t = table();
    let mut c = OpCounts::new();
    c.record(OpKind::Rotate, 2, 10, Duration::ZERO);
    c.record(OpKind::Rotate, 4, 1, Duration::ZERO);
    c.record(OpKind::Add, 2, 7, Duration::from_millis(3));
    let p = t.predict_latency(&c, 13, 1).unwrap();
    assert!((p.by_kind[&OpKind::Rotate] - (10.0 * 3.0 + 5.0)).abs() < 1e-12);
    assert!((p.by_kind[&OpKind::Add] - 0.7).abs() < 1e-12);
    assert!((p.total_seconds - 35.7).abs() < 1e-12);
    // from a plan's cost: all at one level
    let cost = OpCost {
        rotations: 3,
        additions: 2,
        ..OpCost::ZERO
    };
    let c = OpCounts::from_op_cost(&cost, 2);
    assert_eq!(c.to_op_cost(), cost);
    let p = t.predict_latency(&c, 13, 1).unwrap();
    assert!((p.total_seconds - (9.0 + 0.2)).abs() < 1e-12);
    // a kind missing from the table is an error, not a silent zero
    let mut m = OpCounts::new();
    m.record(OpKind::Mul, 1, 1, Duration::ZERO);
    assert!(matches!(
        t.predict_latency(&m, 13, 1),
        Err(SimError::MissingCost { .. })
    ));
}

#[test]
fn memory_prediction_uses_peak_counts_and_sizes() {
    let t = table();
    let profile = MemoryProfile {
        peak_ciphertexts: vec![0, 3, 1],
        peak_plaintexts: vec![0, 2, 0],
        switching_keys: 5,
        key_bytes: 1,
        ..MemoryProfile::default()
    };
    let m = t.predict_memory(&profile, 13, 2);
    // level 1 from the table, level 2 nominal: 2 * 8192 * 3 * 8
    assert_eq!(m.ciphertext_bytes, 3 * 1000 + 2 * 8192 * 3 * 8);
    assert_eq!(m.plaintext_bytes, 2 * 400);
    assert_eq!(m.key_bytes, 50_000);
    assert_eq!(
        m.total_bytes,
        m.ciphertext_bytes + m.plaintext_bytes + 50_000
    );
    // an unmeasured chain falls back to the profile's nominal key bytes
    assert_eq!(t.predict_memory(&profile, 13, 5).key_bytes, 1);
    assert_eq!(m.runtime_bytes, 0, "no sizes, nothing recycled, no base");
}

#[test]
fn runtime_memory_counts_the_pool_the_client_keys_and_the_base() {
    let mut t = table();
    let sizes = NominalSizes {
        degree: 1 << 13,
        q_primes: 3,
        p_primes: 1,
        digits: 3,
    };
    let profile = MemoryProfile {
        recycled_bytes: 10 << 20,
        sizes: Some(sizes),
        ..MemoryProfile::default()
    };
    let per_prime = (1u64 << 13) * 8 * 4;
    assert_eq!(t.runtime_bytes(&profile), (10 << 20) + 5 * per_prime);
    // the scratch pool is capped
    let big = MemoryProfile {
        recycled_bytes: 1 << 40,
        ..profile.clone()
    };
    assert_eq!(t.runtime_bytes(&big), SCRATCH_POOL_BYTES + 5 * per_prime);
    t.runtime_base_bytes = 7;
    let m = t.predict_memory(&profile, 13, 2);
    assert_eq!(m.runtime_bytes, (10 << 20) + 5 * per_prime + 7);
    assert_eq!(m.total_bytes, m.runtime_bytes + m.key_bytes);
}

#[test]
fn parallel_calls_use_the_parallel_table_or_split_the_single_thread_time() {
    let t = table();
    // measured at two threads: 0.08 s per call, scaled to four threads
    assert!((t.parallel_latency(OpKind::Add, 13, 2, 2).unwrap() - 0.08).abs() < 1e-12);
    assert!((t.parallel_latency(OpKind::Add, 13, 2, 4).unwrap() - 0.04).abs() < 1e-12);
    // not measured: the single-thread latency over the threads
    let r = t.parallel_latency(OpKind::Rotate, 13, 0, 2).unwrap();
    assert!((r - 0.5).abs() < 1e-12);
    let mut c = OpCounts::new();
    c.record(OpKind::Add, 2, 10, Duration::ZERO);
    let p = t.predict_parallel(&c, 13, 2).unwrap();
    assert!((p.total_seconds - 0.8).abs() < 1e-12);
}

#[test]
fn fused_counts_convert_to_the_term_by_term_cost() {
    // a linear map of 12 terms and 3 outputs, and a mul_plain_sum of 4 terms
    let mut c = OpCounts::new();
    c.record(OpKind::LinearMapTerm, 2, 12, Duration::ZERO);
    c.record(OpKind::LinearMapOutput, 2, 3, Duration::ZERO);
    c.record(OpKind::MulPlainSumTerm, 2, 4, Duration::ZERO);
    c.record(OpKind::MulPlainSumOutput, 2, 1, Duration::ZERO);
    let cost = c.to_op_cost();
    assert_eq!(cost.scalar_mults, 12);
    assert_eq!(cost.pt_mults, 4);
    assert_eq!(cost.additions, 9 + 3);
    // and back, given the outputs
    let f = OpCounts::from_op_cost_fused(
        &OpCost {
            scalar_mults: 12,
            additions: 9 + 5,
            rotations: 1,
            ..OpCost::ZERO
        },
        2,
        3,
    );
    assert_eq!(f.count(OpKind::LinearMapTerm), 12);
    assert_eq!(f.count(OpKind::LinearMapOutput), 3);
    assert_eq!(f.count(OpKind::Add), 5);
    assert_eq!(f.count(OpKind::Rotate), 1);
    assert_eq!(f.count(OpKind::MulPlainSumTerm), 0);
}

#[test]
fn the_simulator_depends_on_no_concrete_backend() {
    let manifest = include_str!("../Cargo.toml");
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap();
    for banned in ["hetile-ckks", "hetile-mock", "hetile-ring"] {
        assert!(!deps.contains(banned), "{banned} in normal dependencies");
    }
}

#[test]
fn key_switching_is_scaled_to_the_plans_chain() {
    // 7 primes in 4 digits (2, 2, 2, 1 primes): digits start at 0, 2, 4, 6
    assert_eq!(key_switch_work(7, 2, 4, 0), (1.0 + 2.0) * 3.0);
    assert_eq!(key_switch_work(7, 2, 4, 3), (2.0 + 2.0) * 6.0);
    assert_eq!(key_switch_work(7, 2, 4, 6), (4.0 + 2.0) * 9.0);
    let t = table();
    let plan = NominalSizes {
        degree: 1 << 13,
        q_primes: 7,
        p_primes: 2,
        digits: 4,
    };
    // measured chain: 5 primes in 2 digits (3, 2), 3 special primes
    let f = t.structure_factor(OpKind::Rotate, 13, 3, Some(&plan));
    assert!((f - 24.0 / 28.0).abs() < 1e-12, "{f}");
    // above the measured top (4) the measured work is extrapolated by (level + 1)
    let f6 = t.structure_factor(OpKind::Mul, 13, 6, Some(&plan));
    assert!((f6 - 54.0 / (32.0 * 7.0 / 5.0)).abs() < 1e-12, "{f6}");
    // no scaling for other kinds, other degrees or without the plan's chain
    assert_eq!(t.structure_factor(OpKind::Add, 13, 3, Some(&plan)), 1.0);
    assert_eq!(t.structure_factor(OpKind::Rotate, 14, 3, Some(&plan)), 1.0);
    assert_eq!(t.structure_factor(OpKind::Rotate, 13, 3, None), 1.0);
    let mut c = OpCounts::new();
    c.record(OpKind::Rotate, 4, 2, Duration::ZERO);
    let plain = t.predict_latency(&c, 13, 1).unwrap().total_seconds;
    let scaled = t
        .predict_latency_for(&c, 13, 1, Some(&plan))
        .unwrap()
        .total_seconds;
    let expect = key_switch_work(7, 2, 4, 4) / key_switch_work(5, 3, 2, 4);
    assert!((scaled / plain - expect).abs() < 1e-12);
}

#[test]
fn warm_prices_apply_to_operations_that_switch_no_key() {
    let t = table();
    // add: warm 0.025 against cold 0.1
    assert!((t.warm_factor(OpKind::Add, 13, 2) - 0.25).abs() < 1e-12);
    // rotations read their keys from memory whatever the ciphertexts: never warm
    assert_eq!(t.warm_factor(OpKind::Rotate, 13, 0), 1.0);
    // a kind measured only cold keeps its price
    assert_eq!(t.warm_factor(OpKind::Mul, 13, 2), 1.0);
    let mut c = OpCounts::new();
    c.record(OpKind::Add, 2, 4, Duration::ZERO);
    c.record(OpKind::Rotate, 0, 1, Duration::ZERO);
    let cold = t.predict_latency_in(&c, 13, 1, None, false).unwrap();
    let warm = t.predict_latency_in(&c, 13, 1, None, true).unwrap();
    assert!((cold.total_seconds - (0.4 + 1.0)).abs() < 1e-12);
    assert!((warm.total_seconds - (0.1 + 1.0)).abs() < 1e-12);
    let par = t.predict_parallel_in(&c, 13, 2, None, true).unwrap();
    // the parallel per-call price (0.08 with two calls at once) scales the same way
    assert!((par.by_kind[&OpKind::Add] - 4.0 * 0.08 * 0.25).abs() < 1e-12);
    // a warm price above the cold one (noise) does not raise it
    let mut slow = t.clone();
    slow.warm[0].seconds = 0.2;
    assert_eq!(slow.warm_factor(OpKind::Add, 13, 2), 1.0);
    // the fields survive the YAML round trip
    let back = CostTable::from_yaml(&t.to_yaml().unwrap()).unwrap();
    assert_eq!(back.warm, t.warm);
    assert_eq!(back.cache_bytes, 32 << 20);
}
