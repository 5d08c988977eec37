//! Measures the rotation and product latency per level under two chains of the same ring
//! degree with different key-switching structures (digits, special primes), interleaved, and
//! prints them beside the cost model's structure factor (`CostTable::structure_factor`).
//!
//! `RAYON_NUM_THREADS=1 cargo run --release -p hetile-sim --example key_switch_structure`

use hetile_backend::{
    Backend, Client, Evaluator, KeyRequirements, Level, Params, ParamsLiteral, SecretDistribution,
    SecurityLevel,
};
use hetile_ckks::CkksBackend;
use hetile_sim::{key_switch_work, NominalSizes};
use std::time::Instant;

fn literal(log_q: Vec<u32>, log_p: Vec<u32>, digits: usize) -> ParamsLiteral {
    ParamsLiteral {
        log_n: 14,
        log_q,
        log_p,
        log_scale: 40,
        digits: Some(digits),
        security: SecurityLevel::Insecure,
        secret: SecretDistribution::Ternary,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut q7 = vec![50];
    q7.extend([40; 6]);
    let chains = [
        ParamsLiteral::preset("N14_L4")?,
        literal(q7.clone(), vec![50, 50], 4),
        literal(q7, vec![50, 50, 50], 3),
    ];
    let keys = KeyRequirements::none()
        .with_relinearization()
        .with_rotations([1]);
    let mut setups = Vec::new();
    for lit in chains {
        let params = Params::new(lit)?;
        let client =
            <CkksBackend as Backend>::Client::new_insecure_seeded_for_tests(&params, &keys, 7)?;
        let ev = client.evaluator()?;
        setups.push((params, client, ev));
    }
    {
        for level in 1..=6usize {
            let mut line = format!("level {level}:");
            for (params, client, ev) in &setups {
                if level > params.max_level().0 {
                    continue;
                }
                let pt = client.encode(&[0.5; 16], Level(level), params.default_scale())?;
                let ct = client.encrypt(&pt)?;
                let mut best = (f64::MAX, f64::MAX);
                for _ in 0..9 {
                    let t = Instant::now();
                    ev.rotate(&ct, 1)?;
                    best.0 = best.0.min(t.elapsed().as_secs_f64());
                    let t = Instant::now();
                    ev.mul(&ct, &ct)?;
                    best.1 = best.1.min(t.elapsed().as_secs_f64());
                }
                let s = NominalSizes::of(params);
                line += &format!(
                    "  [q{} p{} d{}] rotate {:.3} ms mul {:.3} ms work {:.0}",
                    s.q_primes,
                    s.p_primes,
                    s.digits,
                    best.0 * 1e3,
                    best.1 * 1e3,
                    key_switch_work(s.q_primes, s.p_primes, s.digits, level)
                );
            }
            println!("{line}");
        }
        Ok(())
    }
}
