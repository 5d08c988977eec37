//! ONNX import: every supported op against tract's own run of the same model, the two named
//! networks encrypted on the mock and on native CKKS, and the errors.
#![cfg(feature = "onnx")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{argmax_rows, max_diff, params, uniform};
use hetile_backend::{Backend, Client};
use hetile_ckks::CkksBackend;
use hetile_layers::onnx::{self, ApproxSpec, ImportOptions};
use hetile_layers::{Activation, LayerError, Model, Node, Packing};
use hetile_mock::MockBackend;
use ndarray::{ArrayD, IxDyn};
use std::path::PathBuf;
use tract_onnx::prelude::*;

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/models")
        .join(format!("{name}.onnx"))
}

fn load(name: &str) -> Model {
    onnx::load(path(name), &ImportOptions::default()).unwrap()
}

/// tract's run of the ONNX file on `x` (in f64, or f32 for float32 models), as `[B, rest]`.
fn tract_run(name: &str, x: &ArrayD<f64>, single: bool) -> ArrayD<f64> {
    let shape = x.shape().to_vec();
    let dt = if single {
        f32::datum_type()
    } else {
        f64::datum_type()
    };
    let onnx = tract_onnx::onnx();
    let mut proto = onnx.proto_model_for_path(path(name)).unwrap();
    if !single {
        split_gemm_bias(&mut proto);
    }
    let model = onnx
        .model_for_proto_model(&proto)
        .unwrap()
        .with_input_fact(0, InferenceFact::dt_shape(dt, shape.clone()))
        .unwrap()
        .into_typed()
        .unwrap()
        .into_decluttered()
        .unwrap()
        .into_runnable()
        .unwrap();
    let data: Vec<f64> = x.iter().copied().collect();
    let t = Tensor::from_shape(&shape, &data).unwrap();
    let t = t.cast_to_dt(dt).unwrap().into_owned();
    let out = model.run(tvec!(t.into())).unwrap();
    let o = out[0].cast_to::<f64>().unwrap();
    let flat: Vec<f64> = o
        .to_plain_array_view::<f64>()
        .unwrap()
        .iter()
        .copied()
        .collect();
    let b = shape[0];
    ArrayD::from_shape_vec(IxDyn(&[b, flat.len() / b]), flat).unwrap()
}

/// tract 0.23 fails on a float64 Gemm with a bias ("beta_c": an f32 beta times the f64 C) and
/// has no float64 Sigmoid: for tract's reference run, rewrites `Gemm(A, B, C)` as
/// `alpha Gemm(A, B) + beta C` and `Sigmoid(x)` as `1 / (1 + exp(-x))` (same semantics).
fn split_gemm_bias(proto: &mut tract_onnx::pb::ModelProto) {
    use tract_onnx::pb::{attribute_proto::AttributeType, NodeProto, TensorProto};
    let graph = proto.graph.as_mut().unwrap();
    let mut nodes = Vec::new();
    let one = "tract_friendly_one".to_string();
    graph.initializer.push(TensorProto {
        name: one.clone(),
        data_type: 11, // DOUBLE
        double_data: vec![1.0],
        ..TensorProto::default()
    });
    for mut n in std::mem::take(&mut graph.node) {
        if n.op_type == "Sigmoid" {
            // no f64 Sigmoid in tract: 1 / (1 + exp(-x))
            let (x, y) = (n.input[0].clone(), n.output[0].clone());
            let t = |k: &str| format!("{y}_{k}");
            let unary = |op: &str, i: String, o: String| NodeProto {
                op_type: op.into(),
                input: vec![i],
                output: vec![o],
                ..NodeProto::default()
            };
            nodes.push(unary("Neg", x, t("neg")));
            nodes.push(unary("Exp", t("neg"), t("exp")));
            nodes.push(NodeProto {
                op_type: "Add".into(),
                input: vec![t("exp"), one.clone()],
                output: vec![t("den")],
                ..NodeProto::default()
            });
            nodes.push(unary("Reciprocal", t("den"), y));
            continue;
        }
        if n.op_type != "Gemm" || n.input.len() < 3 {
            nodes.push(n);
            continue;
        }
        let c = n.input.pop().unwrap();
        let beta = n
            .attribute
            .iter()
            .find(|a| a.name == "beta")
            .map_or(1.0, |a| f64::from(a.f));
        let alpha = n
            .attribute
            .iter()
            .find(|a| a.name == "alpha")
            .map_or(1.0, |a| f64::from(a.f));
        n.attribute
            .retain(|a| a.name != "beta" && a.name != "alpha");
        assert!(n
            .attribute
            .iter()
            .all(|a| a.r#type != AttributeType::Tensor as i32));
        let out = n.output[0].clone();
        let (gemm_out, beta_name, scaled) = (
            format!("{out}_nobias"),
            format!("{out}_beta"),
            format!("{out}_c"),
        );
        let (alpha_name, product) = (format!("{out}_alpha"), format!("{out}_ab"));
        n.output[0] = gemm_out.clone();
        for (name, v) in [(&beta_name, beta), (&alpha_name, alpha)] {
            graph.initializer.push(TensorProto {
                name: name.clone(),
                data_type: 11, // DOUBLE
                double_data: vec![v],
                ..TensorProto::default()
            });
        }
        let node = |op: &str, inputs: [String; 2], output: String| NodeProto {
            op_type: op.into(),
            input: inputs.to_vec(),
            output: vec![output],
            ..NodeProto::default()
        };
        nodes.push(n);
        nodes.push(node("Mul", [c, beta_name], scaled.clone()));
        nodes.push(node("Mul", [gemm_out, alpha_name], product.clone()));
        nodes.push(node("Add", [product, scaled], out));
    }
    graph.node = nodes;
}

/// `[B, ...]` as `[B, rest]`.
fn rows(a: &ArrayD<f64>) -> ArrayD<f64> {
    let b = a.shape()[0];
    a.clone()
        .into_shape_with_order(IxDyn(&[b, a.len() / b]))
        .unwrap()
}

fn input(model: &Model, batch: usize, seed: u64) -> ArrayD<f64> {
    let mut shape = vec![batch];
    shape.extend_from_slice(model.input_dims());
    uniform(&shape, -1.0, 1.0, seed)
}

fn kinds(model: &Model) -> Vec<&'static str> {
    model.nodes().iter().map(Node::kind).collect()
}

/// The imported model (exact activations) against tract, to 1e-6.
fn check_against_tract(name: &str) -> Model {
    let model = load(name);
    let x = input(&model, 3, 11);
    let want = tract_run(name, &x, false);
    let got = rows(&model.forward_exact(&x).unwrap());
    let err = max_diff(&got, &want);
    assert!(err < 1e-6, "{name}: error {err}");
    model
}

#[test]
fn conv_batch_norm_relu() {
    let m = check_against_tract("conv_bn_relu");
    // the batch norm is folded into the convolution; the ReLU is approximated
    assert_eq!(kinds(&m), ["conv2d", "relu"]);
    assert_eq!(m.output_dims(), &[3, 4, 4]);
}

#[test]
fn gemm_and_sigmoid() {
    let m = check_against_tract("gemm_sigmoid");
    assert_eq!(kinds(&m), ["flatten", "dense", "sigmoid"]);
    // the degree-7 approximation on [-4, 4] is close to the sigmoid
    let x = input(&m, 4, 3);
    let err = max_diff(&m.forward_plain(&x).unwrap(), &m.forward_exact(&x).unwrap());
    assert!(err < 1e-2, "sigmoid approximation error {err}");
}

#[test]
fn matmul_bias_tanh() {
    let m = check_against_tract("matmul_add_tanh");
    assert_eq!(kinds(&m), ["dense", "tanh"]);
}

#[test]
fn arithmetic_by_constants_and_powers() {
    let m = check_against_tract("arith");
    // Mul, Sub, Div fold into the Gemm; Pow 2 and Mul(x, x) square; Add after a square and
    // Sub from a constant are degree-1 polynomials; Pow 3 is a cubic
    assert_eq!(
        kinds(&m),
        ["dense", "square", "poly", "square", "poly", "poly"]
    );
    let x = input(&m, 3, 5);
    let err = max_diff(&m.forward_plain(&x).unwrap(), &m.forward_exact(&x).unwrap());
    assert!(err < 1e-9, "polynomials are exact: {err}");
}

#[test]
fn pooling_and_padding() {
    let m = check_against_tract("pools");
    // a Pad before AveragePool becomes an averaging convolution with that padding
    assert_eq!(
        kinds(&m),
        ["conv2d", "avg_pool", "conv2d", "avg_pool", "flatten"]
    );
}

#[test]
fn reshapes_transpose_squeeze() {
    let m = check_against_tract("reshapes");
    // the transpose moves data: a permutation matrix; squeeze/unsqueeze/identity are free
    assert!(kinds(&m).contains(&"dense"));
    assert_eq!(m.output_dims(), &[3]);
}

#[test]
fn reductions() {
    let m = check_against_tract("reduce");
    assert_eq!(m.output_dims(), &[1]);
}

#[test]
fn residual_add() {
    let m = check_against_tract("residual");
    assert!(m.nodes().iter().any(|n| matches!(n, Node::Add { from: 1 })));
}

#[test]
fn pad_folding_and_affine_fallbacks() {
    let m = check_against_tract("pad_conv_affine");
    // the per-channel Sub at the input is a diagonal dense layer (flatten, dense, reshape); the
    // Pad is the convolution's padding; c + c of a value used twice is a degree-1 polynomial
    assert_eq!(kinds(&m), ["flatten", "dense", "reshape", "conv2d", "poly"]);
    let Node::Conv2d(c) = &m.nodes()[3] else {
        panic!("conv expected")
    };
    assert_eq!(c.output_shape(), [2, 5, 5]);
    // and it runs encrypted (the convolution is not first: its unrolled matrix)
    let packing = Packing::new([64, 16, 4]).unwrap();
    let plan = m.plan(&packing, 4).unwrap();
    let x = input(&m, 4, 2);
    let client = <MockBackend as Backend>::Client::new_insecure_seeded_for_tests(
        &params(13, plan.depth),
        &plan.keys,
        1,
    )
    .unwrap();
    let got = m
        .run_encrypted::<MockBackend>(&client, &x, &packing)
        .unwrap();
    assert!(max_diff(&got, &m.forward_plain(&x).unwrap()) < 1e-6);
}

#[test]
fn unsupported_forms_are_named() {
    let e = onnx::load(path("branch"), &ImportOptions::default()).unwrap_err();
    assert!(
        matches!(&e, LayerError::Onnx { node, op, reason } if node == "b" && op == "Gemm" && reason.contains("only residual Adds may branch")),
        "{e}"
    );
    let e = onnx::load(path("asymmetric_pad"), &ImportOptions::default()).unwrap_err();
    assert!(
        matches!(&e, LayerError::Onnx { op, reason, .. } if op == "Conv" && reason.contains("asymmetric")),
        "{e}"
    );
}

#[test]
fn gelu_exact_form() {
    // tract may not run opset-20 Gelu: compare with the closed form on the Gemm's output
    let m = load("gelu");
    assert_eq!(kinds(&m), ["dense", "gelu"]);
    let x = input(&m, 3, 9);
    let Node::Dense(d) = &m.nodes()[0] else {
        panic!("dense expected")
    };
    let x2 = x.clone().into_dimensionality::<ndarray::Ix2>().unwrap();
    let h = x2.dot(&d.weights().t());
    let want = h.mapv(|v| 0.5 * v * (1.0 + hetile_layers::poly::erf(v / std::f64::consts::SQRT_2)));
    let got = m.forward_exact(&x).unwrap();
    assert!(max_diff(&got, &want.into_dyn()) < 1e-9);
}

#[test]
fn options_set_degree_and_range() {
    let mut opts = ImportOptions::default();
    opts.overrides.insert(
        "Relu".into(),
        ApproxSpec {
            degree: 3,
            range: Some((-2.0, 2.0)),
        },
    );
    let m = onnx::load(path("conv_bn_relu"), &opts).unwrap();
    let Node::Activation(a @ Activation::Approx { degree: 3, .. }) = &m.nodes()[1] else {
        panic!("degree 3 expected: {:?}", m.nodes()[1])
    };
    assert_eq!(a.series().unwrap().unwrap().range(), (-2.0, 2.0));
    // unfitted activations must be calibrated before planning
    opts.activation.range = None;
    opts.overrides.clear();
    let mut m = onnx::load(path("conv_bn_relu"), &opts).unwrap();
    let packing = Packing::new([16, 64, 4]).unwrap();
    assert!(matches!(
        m.plan(&packing, 4),
        Err(LayerError::NotCalibrated { node: 1, .. })
    ));
    m.calibrate(&input(&m, 8, 1), 0.1).unwrap();
    assert!(m.plan(&packing, 4).is_ok());
    // a wrong input shape is refused
    opts.input_shape = Some(vec![2, 5, 5]);
    let e = onnx::load(path("conv_bn_relu"), &opts).unwrap_err();
    assert!(e.to_string().contains("disagrees"), "{e}");
}

#[test]
fn unsupported_ops_name_the_node_and_the_fix() {
    let e = onnx::load(path("maxpool"), &ImportOptions::default()).unwrap_err();
    match &e {
        LayerError::Onnx { node, op, reason } => {
            assert_eq!(op, "MaxPool");
            assert_eq!(node, "y");
            assert!(reason.contains("replace by AveragePool"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(e.to_string().contains("ONNX node 'y' (MaxPool)"), "{e}");
    let e = onnx::load_bytes(b"not a model", &ImportOptions::default()).unwrap_err();
    assert!(matches!(e, LayerError::OnnxRead { .. }), "{e:?}");
    let e = onnx::load(path("missing"), &ImportOptions::default()).unwrap_err();
    assert!(matches!(e, LayerError::OnnxRead { .. }), "{e:?}");
}

/// Imports a float32 network, checks it against tract, then runs it encrypted on the mock and
/// on CKKS (N = 2^13, insecure test parameters) with the argmax of the plaintext model.
fn encrypted_network(name: &str, expect_depth: usize) {
    let bytes = std::fs::read(path(name)).unwrap();
    let model = onnx::load_bytes(&bytes, &ImportOptions::default()).unwrap();
    let x = uniform(&[4, 1, 28, 28], 0.0, 1.0, 21);
    let want = model.forward_plain(&x).unwrap();
    let reference = tract_run(name, &x, true);
    let err = max_diff(&want, &reference);
    assert!(err < 1e-4, "{name} vs tract (f32): {err}");
    let packing = Packing::new([32, 32, 4]).unwrap();
    let plan = model.plan(&packing, 4).unwrap();
    assert_eq!(plan.depth, expect_depth, "{name}\n{plan}");
    let p = params(13, plan.depth);
    let mock =
        <MockBackend as Backend>::Client::new_insecure_seeded_for_tests(&p, &plan.keys, 3).unwrap();
    let got = model
        .run_encrypted::<MockBackend>(&mock, &x, &packing)
        .unwrap();
    assert!(max_diff(&got, &want) < 1e-6, "{name} on the mock");
    assert_eq!(argmax_rows(&got), argmax_rows(&want));
    let ckks =
        <CkksBackend as Backend>::Client::new_insecure_seeded_for_tests(&p, &plan.keys, 4).unwrap();
    let got = model
        .run_encrypted::<CkksBackend>(&ckks, &x, &packing)
        .unwrap();
    let err = max_diff(&got, &want);
    println!("{name} on CKKS N=2^13: max error {err:.2e}");
    assert!(err < 1e-3, "{name} on CKKS: {err}");
    assert_eq!(argmax_rows(&got), argmax_rows(&want));
}

#[test]
fn cryptonets_onnx_encrypted() {
    encrypted_network("cryptonets", 6);
}

#[test]
fn tenseal_convnet_onnx_encrypted() {
    encrypted_network("tenseal_convnet", 6);
}
