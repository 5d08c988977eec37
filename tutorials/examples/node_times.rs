//! Per-node server times of a plan on the native backend (profiling aid, not a test).
//! Usage: `node_times plan.yaml [repeats] [nocache]`: key generation with exactly the plan's
//! keys, one secret-key encryption of a deterministic batch, `repeats` server runs (the dense
//! weights cached between runs, as the tutorials' server does, unless `nocache`); prints the
//! median time of every node and of the whole run, on the plan's thread count.

use hetile_backend::{Backend, Client};
use hetile_ckks::CkksBackend;
use hetile_opt::Plan;
use hetile_tiles::EncryptionKey;
use ndarray::{ArrayD, IxDyn};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .ok_or("usage: node_times plan.yaml [repeats]")?;
    let repeats: usize = args.get(1).map_or(Ok(5), |s| s.parse())?;
    let plan = Plan::from_yaml(&std::fs::read_to_string(path)?)?;
    let source = plan.model.as_ref().ok_or("the plan names no model")?;
    let options = hetile_layers::onnx::ImportOptions {
        activation: hetile_layers::onnx::ApproxSpec {
            degree: source.activation_degree,
            range: source.activation_range.map(|[lo, hi]| (lo, hi)),
        },
        input_shape: (!source.input_shape.is_empty()).then(|| source.input_shape.clone()),
        ..Default::default()
    };
    let model = hetile_layers::onnx::load(&source.path, &options)?;
    let model = plan.configure(&model)?;
    model.cache_encoded_weights(args.get(2).map(String::as_str) != Some("nocache"));
    let params = plan.params()?;
    let packing = plan.packing()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(plan.threads)
        .build()?;
    pool.install(|| -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let client = <CkksBackend as Backend>::Client::new(&params, &plan.key_requirements())?;
        let mut dims = vec![plan.batch_size];
        dims.extend_from_slice(model.input_dims());
        let n: usize = dims.iter().product();
        let values = (0..n)
            .map(|i| ((i * 7919) % 13) as f64 / 13.0 - 0.4)
            .collect();
        let x = ArrayD::from_shape_vec(IxDyn(&dims), values)?;
        let t = Instant::now();
        let ct = model.encrypt_input_with::<CkksBackend>(
            &client,
            &x,
            &packing,
            EncryptionKey::Secret,
        )?;
        println!("encrypt {:.4} s", t.elapsed().as_secs_f64());
        let ev = client.evaluator()?;
        let mut per_node: Vec<Vec<f64>> = Vec::new();
        let mut total = Vec::new();
        for _ in 0..repeats.max(1) {
            let t = Instant::now();
            let out = model.forward_encrypted_observed::<CkksBackend>(&ev, &ct, |i, dt| {
                if per_node.len() <= i {
                    per_node.resize(i + 1, Vec::new());
                }
                per_node[i].push(dt.as_secs_f64());
            })?;
            total.push(t.elapsed().as_secs_f64());
            drop(out);
        }
        for (i, v) in per_node.into_iter().enumerate() {
            let kind = model.nodes().get(i).map_or("?", |n| n.kind());
            println!("node {i:3} {kind:10} {:.4} s", median(v));
        }
        println!("total {:.4} s ({} threads)", median(total), plan.threads);
        Ok(())
    })
}
