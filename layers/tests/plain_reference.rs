//! Each layer's plaintext reference against a naive ndarray implementation (to 1e-9).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{max_diff, uniform};
use hetile_layers::{ActivationFn, AvgPool2d, Conv2d, Dense, Flatten, Layer, Model};
use ndarray::{Array1, Array2, Array4, ArrayD, Axis, Ix2, Ix4, IxDyn};

fn arr4(shape: [usize; 4], seed: u64) -> Array4<f64> {
    uniform(&shape, -0.5, 0.5, seed)
        .into_dimensionality::<Ix4>()
        .unwrap()
}

fn arr1(n: usize, seed: u64) -> Array1<f64> {
    Array1::from(uniform(&[n], -0.5, 0.5, seed).into_raw_vec_and_offset().0)
}

/// Naive convolution in scatter form: every input pixel adds into the outputs it reaches.
fn naive_conv(
    x: &ArrayD<f64>,
    w: &Array4<f64>,
    b: &Array1<f64>,
    stride: usize,
    pad: usize,
) -> ArrayD<f64> {
    let (bs, h, wd) = (x.shape()[0], x.shape()[2], x.shape()[3]);
    let (cout, cin, kh, kw) = w.dim();
    let oh = (h + 2 * pad - kh) / stride + 1;
    let ow = (wd + 2 * pad - kw) / stride + 1;
    let mut out = ArrayD::zeros(IxDyn(&[bs, cout, oh, ow]));
    for s in 0..bs {
        for c in 0..cout {
            for y in 0..oh {
                for xx in 0..ow {
                    out[[s, c, y, xx]] = b[c];
                }
            }
        }
        for ci in 0..cin {
            for py in 0..h {
                for px in 0..wd {
                    let v = x[[s, ci, py, px]];
                    for c in 0..cout {
                        for i in 0..kh {
                            for j in 0..kw {
                                let (ny, nx) = (py + pad, px + pad);
                                if ny < i
                                    || nx < j
                                    || (ny - i) % stride != 0
                                    || (nx - j) % stride != 0
                                {
                                    continue;
                                }
                                let (y, xx) = ((ny - i) / stride, (nx - j) / stride);
                                if y < oh && xx < ow {
                                    out[[s, c, y, xx]] += w[[c, ci, i, j]] * v;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn dense_matches_naive() {
    let w = uniform(&[7, 11], -1.0, 1.0, 1)
        .into_dimensionality::<Ix2>()
        .unwrap();
    let b = arr1(7, 2);
    let x = uniform(&[5, 11], -1.0, 1.0, 3);
    let got = Dense::new(w.clone(), b.clone())
        .unwrap()
        .forward_plain(&x)
        .unwrap();
    let want = ArrayD::from_shape_fn(IxDyn(&[5, 7]), |ix| {
        b[ix[1]] + (0..11).map(|f| w[[ix[1], f]] * x[[ix[0], f]]).sum::<f64>()
    });
    assert!(max_diff(&got, &want) < 1e-9);
    assert!(Dense::new(w, arr1(3, 1)).is_err());
}

#[test]
fn conv_matches_naive_and_its_unrolled_and_im2col_forms() {
    for (stride, pad) in [(1, 0), (2, 1), (2, 0), (3, 2)] {
        let w = arr4([3, 2, 3, 3], 4);
        let b = arr1(3, 5);
        let x = uniform(&[2, 2, 9, 8], 0.0, 1.0, 6);
        let conv = Conv2d::new(w.clone(), b.clone(), [stride; 2], [pad; 2], [2, 9, 8]).unwrap();
        let got = conv.forward_plain(&x).unwrap();
        let want = naive_conv(&x, &w, &b, stride, pad);
        assert_eq!(got.shape(), want.shape());
        assert!(max_diff(&got, &want) < 1e-9, "stride {stride} pad {pad}");
        // the unrolled matrix reproduces the convolution on the flattened (CHW) input
        let m = conv.unrolled_matrix();
        let [cout, oh, ow] = conv.output_shape();
        for s in 0..2 {
            let xs = Array1::from_iter(x.index_axis(Axis(0), s).iter().copied());
            let y = m.dot(&xs);
            for (f, v) in y.iter().enumerate() {
                let p = oh * ow;
                let want_v = want[[s, f / p, (f % p) / ow, f % ow]] - b[f / p];
                assert!((v - want_v).abs() < 1e-9);
            }
        }
        // image-to-column: sum_k w[c, k] patch[k, c P + p] + b[c]
        let cols = conv.im2col(&x).unwrap();
        let k = conv.patch_len();
        assert_eq!(cols.shape(), &[k, cout * oh * ow, 2]);
        let wf = w.clone().into_shape_with_order((cout, k)).unwrap();
        for s in 0..2 {
            for f in 0..cout * oh * ow {
                let c = f / (oh * ow);
                let v: f64 = (0..k).map(|kk| wf[[c, kk]] * cols[[kk, f, s]]).sum::<f64>() + b[c];
                let p = f % (oh * ow);
                assert!((v - want[[s, c, p / ow, p % ow]]).abs() < 1e-9);
            }
        }
    }
    assert!(Conv2d::new(arr4([3, 2, 3, 3], 1), arr1(3, 1), [1, 1], [0, 0], [1, 9, 8]).is_err());
    assert!(Conv2d::new(arr4([3, 2, 3, 3], 1), arr1(3, 1), [0, 1], [0, 0], [2, 9, 8]).is_err());
}

#[test]
fn avg_pool_matches_naive_and_its_matrix() {
    let x = uniform(&[3, 2, 6, 7], -1.0, 1.0, 7);
    let pool = AvgPool2d::new(2, 2, [2, 6, 7]).unwrap();
    let got = pool.forward_plain(&x).unwrap();
    assert_eq!(got.shape(), &[3, 2, 3, 3]);
    for s in 0..3 {
        for c in 0..2 {
            for y in 0..3 {
                for xx in 0..3 {
                    let mut acc = 0.0;
                    for i in 0..2 {
                        for j in 0..2 {
                            acc += x[[s, c, 2 * y + i, 2 * xx + j]];
                        }
                    }
                    assert!((got[[s, c, y, xx]] - acc / 4.0).abs() < 1e-9);
                }
            }
        }
        let xs = Array1::from_iter(x.index_axis(Axis(0), s).iter().copied());
        let y = pool.matrix().dot(&xs);
        let gs: Vec<f64> = got.index_axis(Axis(0), s).iter().copied().collect();
        assert!(y.iter().zip(&gs).all(|(a, b)| (a - b).abs() < 1e-9));
    }
}

#[test]
fn flatten_keeps_channel_height_width_order() {
    let x = uniform(&[2, 3, 4, 5], -1.0, 1.0, 8);
    let got = Flatten::new(&[3, 4, 5]).forward_plain(&x).unwrap();
    assert_eq!(got.shape(), &[2, 60]);
    for s in 0..2 {
        for c in 0..3 {
            for h in 0..4 {
                for w in 0..5 {
                    assert_eq!(got[[s, c * 20 + h * 5 + w]], x[[s, c, h, w]]);
                }
            }
        }
    }
}

#[test]
fn batch_norm_folds_exactly() {
    let w = arr4([3, 1, 3, 3], 9);
    let b = arr1(3, 10);
    let gamma = Array1::from(vec![1.5, 0.5, -2.0]);
    let beta = Array1::from(vec![0.1, -0.2, 0.3]);
    let mean = Array1::from(vec![0.05, 0.0, -0.1]);
    let var = Array1::from(vec![0.5, 2.0, 1.0]);
    let eps = 1e-5;
    let model = Model::sequential(&[1, 6, 6])
        .conv2d(w.clone(), b.clone(), 1, 1)
        .batch_norm(&gamma, &beta, &mean, &var, eps)
        .flatten()
        .dense(
            uniform(&[4, 108], -0.1, 0.1, 11)
                .into_dimensionality::<Ix2>()
                .unwrap(),
            arr1(4, 12),
        )
        .batch_norm(
            &Array1::from(vec![1.0, 2.0, 3.0, 4.0]),
            &Array1::zeros(4),
            &Array1::from(vec![0.5, 0.5, 0.5, 0.5]),
            &Array1::ones(4),
            0.0,
        )
        .build()
        .unwrap();
    let x = uniform(&[2, 1, 6, 6], 0.0, 1.0, 13);
    let conv = naive_conv(&x, &w, &b, 1, 1);
    let bn = ArrayD::from_shape_fn(conv.raw_dim(), |ix| {
        let c = ix[1];
        gamma[c] * (conv[ix.clone()] - mean[c]) / (var[c] + eps).sqrt() + beta[c]
    });
    let flat = bn.into_shape_with_order((2, 108)).unwrap();
    let Some(hetile_layers::Node::Dense(d)) = model.nodes().get(2) else {
        panic!("dense expected")
    };
    // the folded dense equals the original followed by its batch norm
    let dense_w = uniform(&[4, 108], -0.1, 0.1, 11)
        .into_dimensionality::<Ix2>()
        .unwrap();
    let dense_b = arr1(4, 12);
    let pre = flat.dot(&dense_w.t()) + &dense_b;
    let want = pre.mapv(|v| v - 0.5) * &Array1::from(vec![1.0, 2.0, 3.0, 4.0]);
    let got = model.forward_plain(&x).unwrap();
    assert!(max_diff(&got, &want.into_dyn()) < 1e-9);
    assert_eq!(d.weights().dim(), (4, 108));
    let bad = Model::sequential(&[4]).square().batch_norm(
        &Array1::ones(4),
        &Array1::zeros(4),
        &Array1::zeros(4),
        &Array1::ones(4),
        0.0,
    );
    assert!(bad.build().is_err());
}

#[test]
fn activations_and_residuals_match_naive() {
    let x = uniform(&[4, 6], -2.0, 2.0, 14);
    let w = uniform(&[6, 6], -0.5, 0.5, 15)
        .into_dimensionality::<Ix2>()
        .unwrap();
    let b = arr1(6, 16);
    let b0 = Model::sequential(&[6]).dense(w.clone(), b.clone());
    let skip = b0.current();
    let mut model = b0
        .poly(vec![0.5, 1.0, 0.25])
        .square()
        .add_from(skip)
        .approx(ActivationFn::Sigmoid, 7)
        .build()
        .unwrap();
    assert!(matches!(
        model.forward_plain(&x),
        Err(hetile_layers::LayerError::NotCalibrated { node: 4, .. })
    ));
    model.calibrate(&x, 0.1).unwrap();
    let got = model.forward_plain(&x).unwrap();
    let h = x.clone().into_dimensionality::<Ix2>().unwrap().dot(&w.t()) + &b;
    let p = h.mapv(|v| 0.5 + v + 0.25 * v * v);
    let r = p.mapv(|v| v * v) + &h;
    // the calibrated range covers the sigmoid's inputs, and the fit is close to the sigmoid
    let Some(hetile_layers::Node::Activation(a)) = model.nodes().get(4) else {
        panic!("activation expected")
    };
    let series = a.series().unwrap().unwrap();
    let (lo, hi) = series.range();
    assert!(r.iter().all(|&v| v >= lo && v <= hi));
    let want = r.mapv(|v| series.eval(v));
    assert!(max_diff(&got, &want.clone().into_dyn()) < 1e-9);
    let exact = model.forward_exact(&x).unwrap();
    assert!(max_diff(&exact, &r.mapv(|v| 1.0 / (1.0 + (-v).exp())).into_dyn()) < 1e-9);
    assert!(max_diff(&exact, &got) < 0.05);
}

#[test]
fn builder_errors_are_reported() {
    let w = Array2::zeros((3, 4));
    assert!(Model::sequential(&[2, 2])
        .dense(w.clone(), Array1::zeros(3))
        .build()
        .is_err());
    assert!(Model::sequential(&[4])
        .dense(w, Array1::zeros(3))
        .add_from(0)
        .build()
        .is_err());
    assert!(Model::sequential(&[4]).build().is_err());
    assert!(Model::sequential(&[4])
        .conv2d(arr4([1, 1, 2, 2], 1), arr1(1, 1), 1, 0)
        .build()
        .is_err());
}
