//! `hetile calibrate`: measures the native backend per operation, ring degree, level and thread
//! count, and writes the cost table (YAML) the simulator's predictions use.

use super::CliError;
use clap::Args;
use hetile::backend::{
    Backend, Client, Evaluator, KeyRequirements, Level, Params, ParamsLiteral, Scale,
    SecretDistribution, SecurityLevel,
};
use hetile::ckks::CkksBackend;
use hetile::simulator::{
    ChainEntry, CostEntry, CostTable, KeySizeEntry, NominalSizes, OpKind, SizeEntry,
};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Arguments of `hetile calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Where to write the cost table (YAML).
    #[arg(short, long, default_value = "costs.yaml")]
    output: PathBuf,
    /// log2 of the ring degrees to measure, comma-separated (10..=17).
    #[arg(long, value_delimiter = ',', default_value = "13,14,15")]
    log_n: Vec<u32>,
    /// Thread counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    threads: Vec<usize>,
    /// One call per operation and only the lowest and top levels (seconds, for tests).
    #[arg(long)]
    quick: bool,
    /// Start from this table: its entries for the ring degrees measured now are replaced, the
    /// others kept (to add or refresh one degree without measuring all of them).
    #[arg(long)]
    merge: Option<PathBuf>,
}

/// What one calibration measures.
#[derive(Debug, Clone)]
struct Plan {
    log_n: Vec<u32>,
    threads: Vec<usize>,
    quick: bool,
}

/// Measurement time aimed at per operation and level (fewer calls for slow operations).
const TIME_PER_OP: Duration = Duration::from_millis(150);
/// Most calls measured per operation and level.
const MAX_CALLS: usize = 60;
/// Fewest calls measured per operation and level (outside quick mode).
const MIN_CALLS: usize = 3;

/// The chain calibrated at `2^log_n`: at 2^14 the deepest chain the optimizer builds there
/// with two special primes (8 primes, 4 digits of two primes: every level a 2^14 plan can use
/// is measured, none extrapolated), the N15_L8 preset at 2^15, chains of the same style (50-bit
/// first prime, 40-bit scaling primes, 50-bit special primes) elsewhere; below 2^13 the chain
/// does not fit the 128-bit table and is marked insecure (timing only).
fn calibration_params(log_n: u32) -> Result<Params, CliError> {
    let literal = match log_n {
        14 => {
            let mut log_q = vec![50];
            log_q.extend(std::iter::repeat_n(40, 7));
            ParamsLiteral {
                log_n,
                log_q,
                log_p: vec![50, 50],
                log_scale: 40,
                digits: Some(4),
                security: SecurityLevel::Classical128,
                secret: SecretDistribution::Ternary,
            }
        }
        15 => ParamsLiteral::preset("N15_L8")?,
        10..=13 => ParamsLiteral {
            log_n,
            log_q: vec![50, 40, 40],
            log_p: vec![50],
            log_scale: 40,
            digits: Some(3),
            security: if log_n == 13 {
                SecurityLevel::Classical128
            } else {
                SecurityLevel::Insecure
            },
            secret: SecretDistribution::Ternary,
        },
        16 | 17 => {
            let mut log_q = vec![50];
            log_q.extend(std::iter::repeat_n(40, 12));
            ParamsLiteral {
                log_n,
                log_q,
                log_p: vec![50, 50, 50],
                log_scale: 40,
                digits: Some(5),
                security: SecurityLevel::Classical128,
                secret: SecretDistribution::Ternary,
            }
        }
        other => {
            return Err(CliError::new(format!(
                "calibrate supports log_n 10..=17, got {other}"
            )))
        }
    };
    Ok(Params::new(literal)?)
}

/// The levels measured under `params`: all of them up to 4 levels, else every other level and
/// the top; in quick mode only 0 and the top.
fn levels(params: &Params, quick: bool) -> Vec<usize> {
    let top = params.max_level().0;
    let mut out: Vec<usize> = if quick {
        vec![0, top]
    } else if top <= 4 {
        (0..=top).collect()
    } else {
        (0..=top).step_by(2).collect()
    };
    if !out.contains(&top) {
        out.push(top);
    }
    out.dedup();
    out
}

/// Bytes of the operand pool each operation cycles through (more than the last-level cache).
const POOL_BYTES: usize = 96 << 20;

/// Bytes of the rotation keys rotations cycle through (more than the last-level cache).
const ROTATION_KEY_BYTES: usize = 96 << 20;

/// Most distinct inputs of the calibrated linear maps: a dense layer's many inputs (their
/// blocks no longer fit the caches together, as in a model's dense layer over batch-packed
/// ciphertexts), at most [`MAP_BYTES`] of them and at least 32.
const MAP_INPUTS: usize = 1024;

/// Inputs of the narrow calibrated linear maps (a convolution's kernel window of tiles).
const NARROW_MAP_INPUTS: usize = 32;

/// Bytes of distinct linear-map inputs aimed at.
const MAP_BYTES: usize = 1 << 30;

/// Median latency of `f` in seconds: one warm-up call, then calls until [`TIME_PER_OP`] is
/// spent (between [`MIN_CALLS`] and [`MAX_CALLS`]; exactly one in quick mode).
fn measure<T>(
    quick: bool,
    mut f: impl FnMut() -> hetile::backend::Result<T>,
) -> Result<f64, CliError> {
    f()?;
    let mut samples = Vec::new();
    let begin = Instant::now();
    loop {
        let start = Instant::now();
        let out = f()?;
        samples.push(start.elapsed().as_secs_f64());
        drop(out);
        let enough = samples.len() >= MIN_CALLS && begin.elapsed() >= TIME_PER_OP;
        if quick || enough || samples.len() >= MAX_CALLS {
            break;
        }
    }
    samples.sort_by(f64::total_cmp);
    Ok(samples[samples.len() / 2])
}

/// Wall time per call, in seconds, when `threads` calls of `f` (on operands `0, 1, ...`) run at
/// once on the current pool: the median over rounds of `4 * threads` calls spread over the
/// workers (one warm-up round; one round in quick mode).
fn measure_parallel<T: Send>(
    quick: bool,
    threads: usize,
    f: impl Fn(usize) -> hetile::backend::Result<T> + Sync,
) -> Result<f64, CliError> {
    let calls = 4 * threads.max(1);
    let round = |r: usize| -> Result<f64, CliError> {
        let start = Instant::now();
        (0..calls)
            .into_par_iter()
            .try_for_each(|j| f(r * calls + j).map(drop))?;
        Ok(start.elapsed().as_secs_f64() / calls as f64)
    };
    round(0)?;
    let mut samples = Vec::new();
    let begin = Instant::now();
    loop {
        samples.push(round(samples.len() + 1)?);
        let enough = samples.len() >= MIN_CALLS && begin.elapsed() >= TIME_PER_OP;
        if quick || enough || samples.len() >= MAX_CALLS {
            break;
        }
    }
    samples.sort_by(f64::total_cmp);
    Ok(samples[samples.len() / 2])
}

/// The per-term and per-output latencies of a fused call from two measurements with
/// `(terms, outputs)` each: solves `t = terms * a + outputs * b`, both kept positive.
fn split_fused(m1: (f64, f64, f64), m2: (f64, f64, f64)) -> (f64, f64) {
    let (t1, n1, o1) = m1;
    let (t2, n2, o2) = m2;
    let det = n1 * o2 - n2 * o1;
    let floor = 1e-9;
    if det.abs() < f64::EPSILON {
        return ((t1 / n1.max(1.0)).max(floor), floor);
    }
    let a = (t1 * o2 - t2 * o1) / det;
    let b = (n1 * t2 - n2 * t1) / det;
    // noise can push one share below zero: then the other takes the whole call
    if a <= floor {
        return (floor, (t1 / o1.max(1.0)).max(floor));
    }
    if b <= floor {
        return ((t1 / n1.max(1.0)).max(floor), floor);
    }
    (a, b)
}

/// The per-input and per-term latencies of a fused linear map from measurements
/// `(seconds, inputs, terms)` of maps whose rows all span their inputs (the shape of a
/// convolution's or dense layer's map): least squares on the relative errors of
/// `t = inputs a + terms b`. A negative input share (noise) is refit as zero; `None` when the
/// system is singular or the term share is not positive.
fn fit_map_prices(m: &[(f64, f64, f64)]) -> Option<(f64, f64)> {
    // rows scaled by 1/t: minimise sum ((inputs a + terms b) / t - 1)^2
    let (mut s11, mut s12, mut s22, mut r1, mut r2) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(t, i, k) in m {
        if t <= 0.0 {
            return None;
        }
        let (x, y) = (i / t, k / t);
        s11 += x * x;
        s12 += x * y;
        s22 += y * y;
        r1 += x;
        r2 += y;
    }
    let det = s11 * s22 - s12 * s12;
    let floor = 1e-12;
    let (a, b) = if det.abs() > f64::EPSILON * s11 * s22 {
        ((r1 * s22 - r2 * s12) / det, (s11 * r2 - s12 * r1) / det)
    } else {
        (-1.0, 0.0)
    };
    if a >= 0.0 && b > floor {
        return Some((a, b));
    }
    // terms alone
    let b = if s22 > 0.0 { r2 / s22 } else { 0.0 };
    (b > floor).then_some((0.0, b))
}

/// Measures every operation at every level of one ring degree and thread count; with more
/// than one thread also the parallel per-call times (into `parallel`).
fn measure_degree(
    log_n: u32,
    threads: usize,
    quick: bool,
    bar: &ProgressBar,
    out: &mut Vec<CostEntry>,
    parallel: &mut Vec<CostEntry>,
    warm: &mut Vec<CostEntry>,
) -> Result<(), CliError> {
    let params = calibration_params(log_n)?;
    // A model's rotations use many keys, each read from memory: rotations cycle through
    // enough keys (powers of two) to exceed the caches, about ROTATION_KEY_BYTES in all.
    let key_bytes = NominalSizes::of(&params).switching_key_bytes().max(1) as usize;
    let key_count = (ROTATION_KEY_BYTES / key_bytes).clamp(2, 12);
    let slots = params.slots().get();
    let steps: Vec<i64> = (0..key_count)
        .map(|k| 1i64 << k)
        .filter(|&s| (s as usize) < slots)
        .collect();
    let keys = KeyRequirements::none()
        .with_relinearization()
        .with_rotations(steps.iter().copied())
        .with_conjugation();
    let step = |i: usize| steps.get(i % steps.len().max(1)).copied().unwrap_or(1);
    let client = <CkksBackend as hetile::backend::Backend>::Client::new_insecure_seeded_for_tests(
        &params,
        &keys,
        0x6361_6c69,
    )?;
    let ev = client.evaluator()?;
    let slots = params.slots().get();
    let x: Vec<f64> = (0..slots)
        .map(|i| ((i * 7919) % 1000) as f64 / 1000.0 - 0.5)
        .collect();
    let scale = params.default_scale();
    for level in levels(&params, quick) {
        bar.set_message(format!("N = 2^{log_n}, {threads} thread(s), level {level}"));
        let l = Level(level);
        let pt = client.encode(&x, l, scale)?;
        let ct = client.encrypt(&pt)?;
        // A plaintext multiplier whose product still fits the level (2^9 at level 0).
        let pt_bits = (params.log_q_at(l) - 41.0).floor().clamp(1.0, 40.0);
        let small = Scale::from_log2(pt_bits).ok_or_else(|| CliError::new("bad scale"))?;
        let mult = client.encode(&x, l, small)?;
        // Operands cycle through a pool of distinct ciphertexts of about POOL_BYTES, more than
        // the caches hold, as in a model's run: cheap operations are then priced
        // memory-bound, as they run there, not on a hot ciphertext.
        let ct_bytes = 2 * params.degree().get() * (level + 1) * 8;
        let n = (POOL_BYTES / ct_bytes.max(1)).clamp(2, 256);
        let pool: Vec<_> = (0..n).map(|_| ct.clone()).collect();
        let mut accs: Vec<_> = (0..n).map(|_| ct.clone()).collect();
        let next = std::cell::Cell::new(0usize);
        let pick = || {
            let i = next.get();
            next.set((i + 1) % n);
            i
        };
        let mut push = |op: OpKind, seconds: f64| {
            out.push(CostEntry {
                op,
                log_n,
                level,
                threads,
                seconds,
            });
        };
        push(OpKind::Encode, measure(quick, || ev.encode(&x, l, scale))?);
        push(OpKind::Encrypt, measure(quick, || client.encrypt(&pt))?);
        push(
            OpKind::Decrypt,
            measure(quick, || client.decrypt(&pool[pick()]))?,
        );
        push(OpKind::Decode, measure(quick, || client.decode(&pt))?);
        // the operations that switch no key, on this pool (priced cold, as a large batch runs
        // them)
        measure_cheap(quick, &ev, &pool, &mut accs, &pt, &mult, level, &mut push)?;
        push(
            OpKind::Rotate,
            measure(quick, || {
                let i = pick();
                ev.rotate(&pool[i], step(i))
            })?,
        );
        push(
            OpKind::Conjugate,
            measure(quick, || ev.conjugate(&pool[pick()]))?,
        );
        // Fused sums of products: per term and per output, from two shapes each (a sum of k
        // terms and a sum of one; a dense map of 8 outputs over MAP_INPUTS inputs and 32
        // one-term outputs).
        let k = n.min(32);
        let inputs: Vec<_> = pool.iter().take(k).collect();
        let mults: Vec<_> = (0..k).map(|_| mult.clone()).collect();
        let mult_refs: Vec<_> = mults.iter().collect();
        let kf = k as f64;
        let t_many = measure(quick, || ev.mul_plain_sum(&inputs, &mult_refs))?;
        let t_one = measure(quick, || ev.mul_plain_sum(&inputs[..1], &mult_refs[..1]))?;
        let (term, output) = split_fused((t_many, kf, 1.0), (t_one, 1.0, 1.0));
        push(OpKind::MulPlainSumTerm, term);
        push(OpKind::MulPlainSumOutput, output);
        if level > 0 {
            // Distinct inputs, as a layer's (their blocks no longer fit the caches together),
            // every row spanning them all as a convolution's or dense layer's rows do: a wide map
            // and a narrow one, each at two row counts, so that the per-input share (reading the
            // inputs in) and the per-term share (the products) separate in both regimes.
            let k_map = (MAP_BYTES / ct_bytes.max(1)).clamp(32, MAP_INPUTS);
            let map_pool: Vec<_> = (0..k_map).map(|_| ct.clone()).collect();
            let narrow = NARROW_MAP_INPUTS.min(k_map);
            let shape = |inputs: usize, rows: usize| -> Vec<Vec<(usize, f64)>> {
                (0..rows)
                    .map(|r| {
                        (0..inputs)
                            .map(|i| (i, 0.01 * ((i + r) % 7) as f64 - 0.03))
                            .collect()
                    })
                    .collect()
            };
            let mut next_input = 0usize;
            let mut timed = |inputs: usize, rows: usize| -> Result<(f64, f64, f64), CliError> {
                let map = shape(inputs, rows);
                // each call reads fresh inputs from the pool (not the cache's leftovers)
                let t = measure(quick, || {
                    let start = next_input;
                    next_input = (next_input + inputs) % k_map;
                    let ins: Vec<_> = (0..inputs)
                        .map(|i| &map_pool[(start + i) % k_map])
                        .collect();
                    ev.linear_maps(&ins, &map)
                })?;
                Ok((t, inputs as f64, (inputs * rows) as f64))
            };
            let fits = [
                timed(k_map, 8)?,
                timed(k_map, 32)?,
                timed(narrow, 8)?,
                timed(narrow, 32)?,
            ];
            let (input, term) = fit_map_prices(&fits).unwrap_or_else(|| {
                let (t, _, k) = fits[0];
                (0.0, t / k.max(1.0))
            });
            // the fused kernel writes its outputs within the term passes: no share of its own
            let output = 1e-12;
            push(OpKind::LinearMapInput, input);
            push(OpKind::LinearMapTerm, term);
            push(OpKind::LinearMapOutput, output);
        }
        if level > 0 {
            push(
                OpKind::Mul,
                measure(quick, || {
                    let i = pick();
                    ev.mul(&pool[i], &pool[(i + 1) % n])
                })?,
            );
        }
        if threads == 1 {
            // the same on two operands used in turn, which stay in the cache (a batch-1
            // layer's few ciphertexts): the warm prices
            let hot = [ct.clone(), ct.clone()];
            let mut hot_accs = [ct.clone(), ct.clone()];
            measure_cheap(
                quick,
                &ev,
                &hot,
                &mut hot_accs,
                &pt,
                &mult,
                level,
                &mut |op, seconds| {
                    warm.push(CostEntry {
                        op,
                        log_n,
                        level,
                        threads,
                        seconds,
                    })
                },
            )?;
        }
        if threads > 1 {
            let at = |j: usize| &pool[j % n];
            let mut par = |op: OpKind, seconds: f64| {
                parallel.push(CostEntry {
                    op,
                    log_n,
                    level,
                    threads,
                    seconds,
                });
            };
            par(
                OpKind::Encode,
                measure_parallel(quick, threads, |_| ev.encode(&x, l, scale))?,
            );
            par(
                OpKind::Add,
                measure_parallel(quick, threads, |j| ev.add(at(j), at(j + 1)))?,
            );
            par(
                OpKind::AddPlain,
                measure_parallel(quick, threads, |j| ev.add_plain(at(j), &pt))?,
            );
            par(
                OpKind::AddScalar,
                measure_parallel(quick, threads, |j| ev.add_scalar(at(j), 0.25))?,
            );
            par(
                OpKind::Negate,
                measure_parallel(quick, threads, |j| ev.negate(at(j)))?,
            );
            par(
                OpKind::MulInteger,
                measure_parallel(quick, threads, |j| ev.mul_integer(at(j), 3))?,
            );
            par(
                OpKind::MulPlain,
                measure_parallel(quick, threads, |j| ev.mul_plain(at(j), &mult))?,
            );
            par(
                OpKind::Rotate,
                measure_parallel(quick, threads, |j| ev.rotate(at(j), step(j)))?,
            );
            par(
                OpKind::Conjugate,
                measure_parallel(quick, threads, |j| ev.conjugate(at(j)))?,
            );
            if level > 0 {
                par(
                    OpKind::MulScalar,
                    measure_parallel(quick, threads, |j| ev.mul_scalar(at(j), 0.5))?,
                );
                par(
                    OpKind::Mul,
                    measure_parallel(quick, threads, |j| ev.mul(at(j), at(j + 1)))?,
                );
                par(
                    OpKind::Rescale,
                    measure_parallel(quick, threads, |j| ev.rescale(at(j)))?,
                );
                par(
                    OpKind::DropLevel,
                    measure_parallel(quick, threads, |j| {
                        ev.drop_to_level(at(j), Level(level - 1))
                    })?,
                );
            }
        }
        bar.inc(1);
    }
    Ok(())
}

/// The operations that switch no key and are not fused, each measured on the operands of
/// `pool` (and accumulators `accs`, as many) used in turn, one `push` per operation at `level`:
/// on a pool larger than the caches the cold prices, on two operands the warm ones.
#[allow(clippy::too_many_arguments)]
fn measure_cheap(
    quick: bool,
    ev: &<CkksBackend as Backend>::Evaluator,
    pool: &[<CkksBackend as Backend>::Ciphertext],
    accs: &mut [<CkksBackend as Backend>::Ciphertext],
    pt: &<CkksBackend as Backend>::Plaintext,
    mult: &<CkksBackend as Backend>::Plaintext,
    level: usize,
    push: &mut dyn FnMut(OpKind, f64),
) -> Result<(), CliError> {
    let n = pool.len().min(accs.len());
    if n == 0 {
        return Err(CliError::new("no operand to measure on"));
    }
    let turn = std::cell::Cell::new(0usize);
    let next = || {
        let i = (turn.get() + 1) % n;
        turn.set(i);
        i
    };
    push(
        OpKind::Add,
        measure(quick, || {
            let i = next();
            ev.add_assign(&mut accs[i], &pool[(i + 1) % n])
        })?,
    );
    push(
        OpKind::AddPlain,
        measure(quick, || ev.add_plain_assign(&mut accs[next()], pt))?,
    );
    push(
        OpKind::AddScalar,
        measure(quick, || ev.add_scalar_assign(&mut accs[next()], 0.25))?,
    );
    push(
        OpKind::Negate,
        measure(quick, || ev.negate_assign(&mut accs[next()]))?,
    );
    push(
        OpKind::MulInteger,
        measure(quick, || ev.mul_integer_assign(&mut accs[next()], 3))?,
    );
    push(
        OpKind::MulPlain,
        measure(quick, || ev.mul_plain(&pool[next()], mult))?,
    );
    if level > 0 {
        push(
            OpKind::MulScalar,
            measure(quick, || ev.mul_scalar(&pool[next()], 0.5))?,
        );
        push(
            OpKind::Rescale,
            measure(quick, || ev.rescale(&pool[next()]))?,
        );
        push(
            OpKind::DropLevel,
            measure(quick, || ev.drop_to_level(&pool[next()], Level(level - 1)))?,
        );
    }
    Ok(())
}

/// Bytes of the largest CPU cache Linux reports for CPU 0 (`/sys/devices/system/cpu/cpu0/cache`),
/// 0 where it reports none.
fn last_level_cache_bytes() -> u64 {
    let Ok(dir) = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache") else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("size")).ok())
        .filter_map(|text| {
            let t = text.trim();
            let (digits, unit) =
                t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
            let n: u64 = digits.parse().ok()?;
            Some(match unit {
                "K" => n << 10,
                "M" => n << 20,
                "G" => n << 30,
                _ => n,
            })
        })
        .max()
        .unwrap_or(0)
}

/// Runs the whole calibration, reporting progress (one step per degree, thread count and level).
fn calibrate(plan: &Plan, bar: &ProgressBar) -> Result<CostTable, CliError> {
    let mut table = CostTable {
        machine: format!(
            "{} logical CPUs; measured by hetile calibrate{}",
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            if plan.quick { " --quick" } else { "" }
        ),
        backend: "hetile-ckks".to_string(),
        cache_bytes: last_level_cache_bytes(),
        ..CostTable::default()
    };
    let mut steps = 0u64;
    for &log_n in &plan.log_n {
        let params = calibration_params(log_n)?;
        steps += (levels(&params, plan.quick).len() * plan.threads.len()) as u64;
        let sizes = NominalSizes::of(&params);
        for level in 0..=params.max_level().0 {
            table.sizes.push(SizeEntry {
                log_n,
                level,
                ciphertext_bytes: sizes.ciphertext_bytes(level),
                plaintext_bytes: sizes.plaintext_bytes(level),
            });
        }
        table.chains.push(ChainEntry::of(log_n, &sizes));
        table.keys.push(KeySizeEntry {
            log_n,
            max_level: params.max_level().0,
            switching_key_bytes: sizes.switching_key_bytes(),
        });
    }
    bar.set_length(steps);
    for &threads in &plan.threads {
        if threads == 0 {
            return Err(CliError::new("thread counts must be positive"));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| CliError::new(format!("thread pool: {e}")))?;
        for &log_n in &plan.log_n {
            pool.install(|| {
                measure_degree(
                    log_n,
                    threads,
                    plan.quick,
                    bar,
                    &mut table.latencies,
                    &mut table.parallel,
                    &mut table.warm,
                )
            })?;
        }
    }
    Ok(table)
}

/// Runs `hetile calibrate`.
pub fn run(args: CalibrateArgs) -> Result<(), CliError> {
    let plan = Plan {
        log_n: args.log_n,
        threads: args.threads,
        quick: args.quick,
    };
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed_precise} {msg}")
    {
        bar.set_style(style);
    }
    let started = Instant::now();
    let base = match &args.merge {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::new(format!("cannot read {}: {e}", path.display())))?;
            Some(CostTable::from_yaml(&text).map_err(|e| CliError::new(e.to_string()))?)
        }
        None => None,
    };
    let mut table = calibrate(&plan, &bar)?;
    bar.finish_and_clear();
    if let Some(base) = base {
        table = merged(base, table, &plan.log_n);
    }
    let yaml = table.to_yaml().map_err(|e| CliError::new(e.to_string()))?;
    std::fs::write(&args.output, yaml)
        .map_err(|e| CliError::new(format!("cannot write {}: {e}", args.output.display())))?;
    println!(
        "wrote {} latencies to {} in {:.1} s",
        table.latencies.len(),
        args.output.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `base` with its entries for the ring degrees `measured` replaced by those of `new`.
fn merged(base: CostTable, new: CostTable, measured: &[u32]) -> CostTable {
    fn keep<T>(old: Vec<T>, new: Vec<T>, measured: &[u32], log_n: impl Fn(&T) -> u32) -> Vec<T> {
        old.into_iter()
            .filter(|e| !measured.contains(&log_n(e)))
            .chain(new)
            .collect()
    }
    CostTable {
        latencies: keep(base.latencies, new.latencies, measured, |e| e.log_n),
        parallel: keep(base.parallel, new.parallel, measured, |e| e.log_n),
        warm: keep(base.warm, new.warm, measured, |e| e.log_n),
        sizes: keep(base.sizes, new.sizes, measured, |e| e.log_n),
        keys: keep(base.keys, new.keys, measured, |e| e.log_n),
        chains: keep(base.chains, new.chains, measured, |e| e.log_n),
        ..new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_replaces_only_the_measured_degrees() {
        let quick = |log_n: u32| {
            let plan = Plan {
                log_n: vec![log_n],
                threads: vec![1],
                quick: true,
            };
            calibrate(&plan, &ProgressBar::hidden()).unwrap()
        };
        let (a, b) = (quick(10), quick(11));
        let both = merged(a.clone(), b.clone(), &[11]);
        assert_eq!(both.latencies.len(), a.latencies.len() + b.latencies.len());
        assert_eq!(both.chains.len(), 2);
        // measuring 10 again replaces its entries instead of adding a second set
        let again = merged(both.clone(), quick(10), &[10]);
        assert_eq!(again.latencies.len(), both.latencies.len());
        assert_eq!(again.chains.len(), 2);
        assert!(again.validate().is_ok());
    }

    #[test]
    fn quick_calibration_measures_every_op_and_round_trips() {
        let plan = Plan {
            log_n: vec![10],
            threads: vec![1, 2],
            quick: true,
        };
        let table = calibrate(&plan, &ProgressBar::hidden()).unwrap();
        for op in OpKind::ALL {
            // a linear map's input share may come out as zero (noise), but it is measured
            let floor = if op == OpKind::LinearMapInput {
                0.0
            } else {
                1e-300
            };
            assert!(
                table.latency(op, 10, 2, 1).unwrap() >= floor,
                "{op} was not measured"
            );
        }
        // two-thread parallel per-call times of the non-fused server operations
        for op in [OpKind::Rotate, OpKind::Mul, OpKind::Add, OpKind::Rescale] {
            assert!(
                table.parallel_latency(op, 10, 2, 2).unwrap() > 0.0,
                "{op} was not measured in parallel"
            );
        }
        assert!(table.parallel.iter().all(|e| e.threads == 2));
        // warm (cache-resident) prices of the operations that switch no key, on one thread
        for op in [OpKind::Add, OpKind::MulPlain, OpKind::Rescale] {
            assert!(
                table.warm.iter().any(|e| e.op == op && e.threads == 1),
                "{op} was not measured warm"
            );
        }
        assert!(table.warm.iter().all(|e| !e.op.switches_keys()));
        let back = CostTable::from_yaml(&table.to_yaml().unwrap()).unwrap();
        assert_eq!(back, table);
        // levels 0 and 2 (the top) only
        assert!(table.latencies.iter().all(|e| e.level == 0 || e.level == 2));
        assert!(calibration_params(9).is_err());
    }

    #[test]
    fn map_prices_are_fitted_from_dense_shapes() {
        let t = |i: f64, k: f64| (2.0 * i + 3.0 * k, i, k);
        let (a, b) = fit_map_prices(&[t(64.0, 512.0), t(32.0, 256.0), t(32.0, 1024.0)]).unwrap();
        assert!((a - 2.0).abs() < 1e-9 && (b - 3.0).abs() < 1e-9, "{a} {b}");
        // noise that would make the input share negative leaves the terms alone
        let neg = |i: f64, k: f64| (-0.5 * i + 3.0 * k, i, k);
        let (a, b) =
            fit_map_prices(&[neg(64.0, 512.0), neg(32.0, 256.0), neg(32.0, 1024.0)]).unwrap();
        assert_eq!(a, 0.0);
        assert!(b > 2.5 && b < 3.0, "{b}");
        // no time, or no terms, gives nothing
        assert!(fit_map_prices(&[(0.0, 1.0, 1.0)]).is_none());
        assert!(fit_map_prices(&[(1.0, 1.0, 0.0), (2.0, 2.0, 0.0)]).is_none());
    }
}
