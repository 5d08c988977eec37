//! Prints the plan and the simulator's per-layer prediction of the seeded HE-friendly AlexNet
//! (no encrypted run). Usage: `[CAP_GB=20] [MAX_BATCH=1024] alexnet_predict [full|tiny|torchvision]
//! [seed] [log_n ...]`.

use hetile_tutorials::alexnet_full::{self, AlexnetSpec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seed = args
        .get(1)
        .map_or(Ok(alexnet_full::FULL_SEED), |s| s.parse())?;
    let spec = match args.first().map(String::as_str) {
        Some("tiny") => AlexnetSpec::tiny(seed),
        Some("torchvision") => AlexnetSpec::torchvision(seed),
        _ => AlexnetSpec::full(seed),
    };
    let log_ns: Vec<u32> = if args.len() > 2 {
        args[2..]
            .iter()
            .map(|s| s.parse())
            .collect::<Result<_, _>>()?
    } else {
        vec![15, 16, 17]
    };
    let t = std::time::Instant::now();
    let model = alexnet_full::build(&spec)?;
    eprintln!("built in {:.1} s", t.elapsed().as_secs_f64());
    let cap_gb: f64 = std::env::var("CAP_GB").map_or(Ok(20.0), |v| v.parse())?;
    let max_batch: usize = std::env::var("MAX_BATCH").map_or(Ok(1024), |v| v.parse())?;
    let p = alexnet_full::predict(&spec, &model, &log_ns, max_batch, 2, (cap_gb * 1e9) as u64)?;
    println!(
        "{:?}: {} parameters, search {:.1} s, {} candidates, rejections {:?}",
        p.spec.input, p.parameters, p.search_seconds, p.candidates, p.rejections
    );
    println!(
        "plan: N = 2^{}, {} levels, tile {:?}, conv {:?}, {} rotation keys",
        p.plan.params.log_n,
        p.plan.params.log_q.len() - 1,
        p.plan.packing,
        p.plan.conv_strategies,
        p.plan.rotation_steps.len()
    );
    println!("{}", p.plan.predicted);
    Ok(())
}
