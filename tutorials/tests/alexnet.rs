//! The AlexNet tutorial: the Fashion-MNIST loader (IDX parser, sample, error paths), the small
//! network on the mock and native CKKS backends, and the seeded full-size builder (checked on
//! its tiny variant against the ONNX file `training/make_alexnet.py --tiny` wrote).

mod common;
use common::manual;

use hetile_tutorials::alexnet::{self, max_relative_error};
use hetile_tutorials::alexnet_full::{self, AlexnetSpec};
use hetile_tutorials::fashion::{self, Tools};
use hetile_tutorials::{BackendKind, TutorialError};
use std::path::PathBuf;

fn idx(magic: [u8; 4], dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = magic.to_vec();
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

#[test]
fn idx_parser_reads_a_tiny_synthetic_file() {
    let pixels: Vec<u8> = (0..2 * 784).map(|i| (i % 256) as u8).collect();
    let images = idx([0, 0, 8, 3], &[2, 28, 28], &pixels);
    let labels = idx([0, 0, 8, 1], &[2], &[7, 3]);
    let (dims, data) = fashion::parse_idx(&labels, "l").unwrap();
    assert_eq!((dims, data), (vec![2], &[7u8, 3][..]));
    let d = fashion::images_from_idx(&images, &labels, None).unwrap();
    assert_eq!(d.labels, vec![7, 3]);
    assert_eq!(d.pixels.shape(), &[2, 784]);
    assert_eq!(d.pixels[[1, 0]], (784 % 256) as f64);
    assert_eq!(d.pixels[[0, 255]], 255.0);
    let one = fashion::images_from_idx(&images, &labels, Some(1)).unwrap();
    assert_eq!(one.labels, vec![7]);
}

#[test]
fn idx_parser_rejects_malformed_files() {
    let bad = |bytes: &[u8]| match fashion::parse_idx(bytes, "x") {
        Err(TutorialError::Idx { reason, .. }) => reason,
        other => panic!("{other:?}"),
    };
    assert!(bad(&[0, 0]).contains("shorter"));
    assert!(bad(&idx([1, 0, 8, 1], &[1], &[0])).contains("magic"));
    assert!(bad(&idx([0, 0, 0x0d, 1], &[1], &[0])).contains("data type"));
    assert!(bad(&[0, 0, 8, 2, 0, 0, 0, 1]).contains("truncated"));
    assert!(bad(&idx([0, 0, 8, 1], &[3], &[0, 1])).contains("need 3"));
    let images = idx([0, 0, 8, 3], &[1, 28, 28], &[0; 784]);
    let err = |r| match r {
        Err(TutorialError::Idx { reason, .. }) => reason,
        other => panic!("{other:?}"),
    };
    let two = idx([0, 0, 8, 1], &[2], &[0, 0]);
    assert!(err(fashion::images_from_idx(&images, &two, None)).contains("one per image"));
    let ten = idx([0, 0, 8, 1], &[1], &[10]);
    assert!(err(fashion::images_from_idx(&images, &ten, None)).contains("above 9"));
    let small = idx([0, 0, 8, 3], &[1, 27, 28], &[0; 27 * 28]);
    let one = idx([0, 0, 8, 1], &[1], &[0]);
    assert!(err(fashion::images_from_idx(&small, &one, None)).contains("[n, 28, 28]"));
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hetile-alexnet-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    // a failure shows in the test using the folder
    let _ = std::fs::create_dir_all(&d);
    d
}

#[test]
fn loader_error_paths() {
    // a tool that cannot start
    let cache = temp("missing");
    let tools = Tools {
        apt_get: "/nonexistent/apt-get".into(),
        ..Tools::default()
    };
    match fashion::fetch_into(&cache, &tools) {
        Err(TutorialError::ToolMissing { command, .. }) => assert!(command.contains("download")),
        other => panic!("{other:?}"),
    }
    // a tool that fails
    let tools = Tools {
        apt_get: "false".into(),
        ..Tools::default()
    };
    assert!(matches!(
        fashion::fetch_into(&cache, &tools),
        Err(TutorialError::CommandFailed { .. })
    ));
    // a download whose hash differs from the pinned one (a fake apt-get writing a .deb)
    let fake = cache.join("fake-apt-get");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho not a deb > dataset-fashion-mnist_0_all.deb\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let tools = Tools {
            apt_get: fake.display().to_string(),
            ..Tools::default()
        };
        assert!(matches!(
            fashion::fetch_into(&cache, &tools),
            Err(TutorialError::HashMismatch { .. })
        ));
    }
    // nothing cached, temporary folders removed
    let left: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".download"))
        .collect();
    assert!(left.is_empty());
    // a cached folder is used as is, without any tool
    let cached = fashion::cached_dir(&cache, &fashion::FASHION_DEB);
    std::fs::create_dir_all(&cached).unwrap();
    for m in fashion::MEMBERS {
        std::fs::write(cached.join(m), b"").unwrap();
    }
    let tools = Tools {
        apt_get: "/nonexistent".into(),
        dpkg_deb: "/nonexistent".into(),
        gzip: "/nonexistent".into(),
    };
    assert_eq!(fashion::fetch_into(&cache, &tools).unwrap(), cached);
    // ... and an empty IDX file there is an IDX error
    assert!(matches!(
        fashion::read_split(&cached, true, None),
        Err(TutorialError::Idx { .. })
    ));
    let _ = std::fs::remove_dir_all(&cache);
}

#[test]
fn committed_sample_is_stratified() {
    let s = fashion::parse_sample_csv(fashion::FASHION_SAMPLE_CSV, None).unwrap();
    assert_eq!(s.data.len(), 400);
    for c in 0..10 {
        assert_eq!(s.data.labels.iter().filter(|&&l| l == c).count(), 40);
    }
    assert!(s.indices.windows(2).all(|w| w[0] < w[1]) && s.indices[399] < 10_000);
    assert!(matches!(
        fashion::parse_sample_csv("label,1\n", None),
        Err(TutorialError::Csv { .. })
    ));
}

#[test]
fn small_network_on_the_mock_matches_plaintext() {
    let r = alexnet::run_small(&manual(13, 2, BackendKind::Mock, 4)).unwrap();
    assert_eq!(r.samples, 4);
    assert_eq!(r.argmax_agreement, 1.0);
    assert!(r.max_abs_logit_error < 1e-6, "{}", r.max_abs_logit_error);
    assert_eq!(r.plaintext_accuracy, r.encrypted_accuracy);
    assert_eq!(r.run.batches, 2);
    // one timing per layer, predicted and measured
    assert_eq!(r.layers.len(), alexnet::load_small().unwrap().nodes().len());
    assert!(r
        .layers
        .iter()
        .all(|l| l.predicted_seconds > 0.0 || l.kind == "flatten"));
    assert!(r.layers.iter().any(|l| l.measured_seconds > 0.0));
}

#[test]
fn small_network_on_native_ckks() {
    let r = alexnet::run_small(&manual(13, 1, BackendKind::Ckks, 1)).unwrap();
    assert_eq!(r.argmax_agreement, 1.0);
    assert!(r.max_rel_logit_error < 1e-3, "{}", r.max_rel_logit_error);
    assert!(r.run.serialized);
}

#[test]
fn relative_error_is_per_image() {
    let p = [1.0, -2.0, 10.0, 0.0];
    let e = [1.1, -2.0, 10.0, 0.5];
    assert!((max_relative_error(&p, &e, 2) - 0.05).abs() < 1e-12);
}

#[test]
fn seeded_builder_agrees_with_the_generated_onnx() {
    let spec = AlexnetSpec::tiny(alexnet_full::FULL_SEED);
    let built = alexnet_full::build(&spec).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/alexnet_tiny.onnx");
    let onnx = hetile_layers::onnx::load(std::path::Path::new(path), &Default::default()).unwrap();
    assert_eq!(built.nodes().len(), onnx.nodes().len());
    assert_eq!(built.output_dims(), &[10]);
    let x = alexnet_full::seeded_input(&spec).unwrap();
    let a = built.forward_plain(&x).unwrap();
    let b = onnx.forward_plain(&x).unwrap();
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/alexnet_tiny.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let py: Vec<f64> = meta["seeded_input_logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    for ((x, y), z) in a.iter().zip(b.iter()).zip(&py) {
        assert!((x - y).abs() < 1e-9 && (x - z).abs() < 1e-9, "{x} {y} {z}");
    }
    // bounded activations: logits of order one
    assert!(a.iter().all(|v| v.abs() < 10.0));
}

#[test]
fn full_size_search_reports_why_nothing_fits_a_tiny_cap() {
    let spec = AlexnetSpec::tiny(alexnet_full::FULL_SEED);
    let model = alexnet_full::build(&spec).unwrap();
    match alexnet_full::predict(&spec, &model, &[15, 16], 4096, 1, 1 << 20) {
        Err(TutorialError::Plan(reasons)) => {
            assert!(reasons.contains("memory"), "{reasons}");
            assert!(reasons.contains("stride"), "{reasons}");
        }
        other => panic!("{other:?}"),
    }
    // torchvision's paddings: no interleaved layout at all
    let tv = AlexnetSpec {
        pads: alexnet_full::TORCHVISION_PADS,
        ..spec
    };
    let model = alexnet_full::build(&tv).unwrap();
    assert!(matches!(
        alexnet_full::predict(&tv, &model, &[16], 4096, 1, u64::MAX),
        Err(TutorialError::Plan(_))
    ));
}

#[test]
fn packed_tiny_alexnet_runs_encrypted_with_its_plan() {
    use hetile_tutorials::alexnet_packed::{self, PackedOptions};
    let spec = AlexnetSpec::tiny(alexnet_full::FULL_SEED);
    let opts = PackedOptions {
        log_ns: vec![13],
        security: hetile_backend::SecurityLevel::Insecure,
        cap: u64::MAX,
        force: true,
        progress: false,
    };
    let r = alexnet_packed::run(&spec, &opts).unwrap();
    let m = r.measured.as_ref().unwrap();
    assert!(m.max_rel_logit_error < 1e-4, "{}", m.max_rel_logit_error);
    assert_eq!(m.plaintext_top1, m.encrypted_top1);
    // every stage predicted and measured; the chosen plan is among the candidates
    assert_eq!(r.stages.len(), 18);
    assert!(r.stages.iter().all(|s| s.predicted_seconds > 0.0));
    assert!(r.stages.iter().all(|s| s.measured_seconds > 0.0));
    assert!(r.plan.candidates.contains(&r.plan.chosen));
    // a cap nothing fits is a plan error, not a panic
    let tight = PackedOptions { cap: 1, ..opts };
    assert!(alexnet_packed::run(&spec, &tight).is_err());
}
