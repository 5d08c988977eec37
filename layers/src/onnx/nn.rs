//! Linear ONNX ops: Conv, pooling, Pad, Gemm, MatMul, BatchNormalization.

use super::convert::{broadcast, Importer, Val};
use super::proto::{self, err};
use crate::error::Result;
use crate::layers::Conv2d;
use crate::model::Node;
use ndarray::{Array1, Array2, Array4, ArrayD, Ix2, Ix4, IxDyn};
use tract_onnx::pb;

/// `[a, b]` from an optional 2-entry attribute, `default` when absent.
fn pair(node: &pb::NodeProto, name: &str, default: usize) -> Result<[usize; 2]> {
    match proto::attr_ints(node, name)? {
        None => Ok([default; 2]),
        Some(v) => match v.as_slice() {
            [a, b] if *a >= 0 && *b >= 0 => Ok([*a as usize, *b as usize]),
            _ => Err(err(
                node,
                format!("{name} {v:?}: expected two non-negative entries (2-D)"),
            )),
        },
    }
}

/// The `pads` attribute `[top, left, bottom, right]`.
fn pads_attr(node: &pb::NodeProto) -> Result<[usize; 4]> {
    match proto::attr_ints(node, "pads")? {
        None => Ok([0; 4]),
        Some(v) => match v.as_slice() {
            [a, b, c, d] if v.iter().all(|p| *p >= 0) => {
                Ok([*a as usize, *b as usize, *c as usize, *d as usize])
            }
            _ => Err(err(
                node,
                format!("pads {v:?}: expected 4 non-negative entries (2-D)"),
            )),
        },
    }
}

/// Symmetric `[ph, pw]` from `[top, left, bottom, right]`.
fn symmetric(node: &pb::NodeProto, p: [usize; 4]) -> Result<[usize; 2]> {
    if p[0] == p[2] && p[1] == p[3] {
        Ok([p[0], p[1]])
    } else {
        Err(err(
            node,
            format!("asymmetric padding {p:?} (top, left, bottom, right) is not supported"),
        ))
    }
}

fn check_auto_pad(node: &pb::NodeProto) -> Result<()> {
    match proto::attr_str(node, "auto_pad")?.as_deref() {
        None | Some("NOTSET") | Some("VALID") => Ok(()),
        Some(m) => Err(err(
            node,
            format!("auto_pad {m}: export with explicit pads"),
        )),
    }
}

fn chw(node: &pb::NodeProto, d: &[usize]) -> Result<[usize; 3]> {
    match d {
        [c, h, w] => Ok([*c, *h, *w]),
        _ => Err(err(
            node,
            format!("expected a [C, H, W] activation, got {d:?}"),
        )),
    }
}

impl Importer<'_> {
    /// The activation at input 0 with the padding of a preceding `Pad`.
    fn padded_input(&self, node: &pb::NodeProto) -> Result<(usize, [usize; 4])> {
        match self.get(node, 0)? {
            Val::Act(i) => Ok((self.check_current(node, *i)?, [0; 4])),
            Val::Padded { index, pads } => Ok((self.check_current(node, *index)?, *pads)),
            Val::Const(_) => Err(err(node, "input 0 must be an activation")),
        }
    }

    /// Pushes a convolution on the current value.
    fn push_conv(
        &mut self,
        node: &pb::NodeProto,
        w: Array4<f64>,
        bias: Array1<f64>,
        stride: [usize; 2],
        pads: [usize; 2],
    ) -> Result<()> {
        let input = chw(node, &self.dims())?;
        let conv =
            Conv2d::new(w, bias, stride, pads, input).map_err(|e| err(node, e.to_string()))?;
        self.push(node, |b| b.node(Node::Conv2d(conv)))
    }

    pub(super) fn conv(&mut self, node: &pb::NodeProto) -> Result<()> {
        let (_, extra) = self.padded_input(node)?;
        let w = self
            .konst(node, 1)?
            .into_dimensionality::<Ix4>()
            .map_err(|_| err(node, "only 2-D convolutions (4-D weights) are supported"))?;
        let cout = w.dim().0;
        let bias = if Self::has_input(node, 2) {
            Array1::from_iter(self.konst(node, 2)?.iter().copied())
        } else {
            Array1::zeros(cout)
        };
        if proto::attr_i64(node, "group")?.unwrap_or(1) != 1 {
            return Err(err(
                node,
                "grouped or depthwise convolution is not supported: use group = 1",
            ));
        }
        if pair(node, "dilations", 1)? != [1, 1] {
            return Err(err(node, "dilated convolution is not supported"));
        }
        check_auto_pad(node)?;
        if let Some(k) = proto::attr_ints(node, "kernel_shape")? {
            let (_, _, kh, kw) = w.dim();
            if k != [kh as i64, kw as i64] {
                return Err(err(
                    node,
                    format!("kernel_shape {k:?} differs from the weights"),
                ));
            }
        }
        let stride = pair(node, "strides", 1)?;
        let p = pads_attr(node)?;
        let total = [0, 1, 2, 3].map(|i| p[i] + extra[i]);
        let pads = symmetric(node, total)?;
        self.push_conv(node, w, bias, stride, pads)
    }

    /// Average pooling with kernel `k`, stride `s` and padding `[top, left, bottom, right]`
    /// counted in the average: an [`crate::layers::AvgPool2d`] when square and unpadded, else a
    /// depthwise averaging convolution.
    fn push_pool(
        &mut self,
        node: &pb::NodeProto,
        k: [usize; 2],
        s: [usize; 2],
        pads: [usize; 4],
    ) -> Result<()> {
        let pads = symmetric(node, pads)?;
        if pads == [0, 0] && k[0] == k[1] && s[0] == s[1] {
            return self.push(node, |b| b.avg_pool(k[0], s[0]));
        }
        let [c, _, _] = chw(node, &self.dims())?;
        let area = (k[0] * k[1]) as f64;
        let w = Array4::from_shape_fn(
            (c, c, k[0], k[1]),
            |(o, i, _, _)| {
                if o == i {
                    1.0 / area
                } else {
                    0.0
                }
            },
        );
        self.push_conv(node, w, Array1::zeros(c), s, pads)
    }

    pub(super) fn average_pool(&mut self, node: &pb::NodeProto) -> Result<()> {
        let (_, extra) = self.padded_input(node)?;
        check_auto_pad(node)?;
        if proto::attr_i64(node, "ceil_mode")?.unwrap_or(0) != 0 {
            return Err(err(node, "ceil_mode = 1 is not supported"));
        }
        if pair(node, "dilations", 1)? != [1, 1] {
            return Err(err(node, "dilated pooling is not supported"));
        }
        let k = pair(node, "kernel_shape", 0)?;
        if k.contains(&0) {
            return Err(err(node, "kernel_shape is required"));
        }
        let s = pair(node, "strides", 1)?;
        let p = pads_attr(node)?;
        if p != [0; 4] && proto::attr_i64(node, "count_include_pad")?.unwrap_or(0) == 0 {
            return Err(err(
                node,
                "padding excluded from the average (count_include_pad = 0) is not supported: \
                 set count_include_pad = 1 or pad with a Pad node",
            ));
        }
        self.push_pool(node, k, s, [0, 1, 2, 3].map(|i| p[i] + extra[i]))
    }

    pub(super) fn global_average_pool(&mut self, node: &pb::NodeProto) -> Result<()> {
        self.act(node, 0)?;
        let [_, h, w] = chw(node, &self.dims())?;
        self.push_pool(node, [h, w], [1, 1], [0; 4])
    }

    /// A zero `Pad` of height and width, absorbed by the following Conv or AveragePool.
    pub(super) fn pad(&mut self, node: &pb::NodeProto) -> Result<()> {
        let (index, before) = self.padded_input(node)?;
        let mode = proto::attr_str(node, "mode")?;
        if mode.as_deref().is_some_and(|m| m != "constant") {
            return Err(err(node, "only constant (zero) padding is supported"));
        }
        if Self::has_input(node, 2) && self.konst(node, 2)?.iter().any(|v| *v != 0.0) {
            return Err(err(node, "only zero padding is supported"));
        }
        if Self::has_input(node, 3) {
            return Err(err(node, "the axes input of Pad is not supported"));
        }
        let p = if Self::has_input(node, 1) {
            self.konst_ints(node, 1)?
        } else {
            proto::attr_ints(node, "pads")?.unwrap_or_default()
        };
        let ok =
            p.len() == 8 && p.iter().all(|v| *v >= 0) && [0, 1, 4, 5].iter().all(|i| p[*i] == 0);
        if !ok {
            return Err(err(
                node,
                format!(
                    "pads {p:?}: only non-negative padding of height and width (4-D) is supported"
                ),
            ));
        }
        let add = [p[2], p[3], p[6], p[7]].map(|v| v as usize);
        let pads = [0, 1, 2, 3].map(|i| before[i] + add[i]);
        self.set(node, Val::Padded { index, pads })
    }

    pub(super) fn gemm(&mut self, node: &pb::NodeProto) -> Result<()> {
        self.act(node, 0)?;
        let d = self.dims();
        let [f] = d.as_slice() else {
            return Err(err(
                node,
                format!("input of shape {d:?} is not flat: add a Flatten"),
            ));
        };
        if proto::attr_i64(node, "transA")?.unwrap_or(0) != 0 {
            return Err(err(node, "transA = 1 would mix the batch: not supported"));
        }
        let b = self
            .konst(node, 1)?
            .into_dimensionality::<Ix2>()
            .map_err(|_| err(node, "B must be a 2-D constant"))?;
        let alpha = f64::from(proto::attr_f32(node, "alpha")?.unwrap_or(1.0));
        let beta = f64::from(proto::attr_f32(node, "beta")?.unwrap_or(1.0));
        let w = if proto::attr_i64(node, "transB")?.unwrap_or(0) != 0 {
            b
        } else {
            b.t().to_owned()
        } * alpha;
        if w.ncols() != *f {
            return Err(err(node, format!("B does not take {f} features")));
        }
        let bias = if Self::has_input(node, 2) {
            let c = broadcast(node, &self.konst(node, 2)?, &[w.nrows()])?;
            Array1::from_iter(c.iter().map(|v| v * beta))
        } else {
            Array1::zeros(w.nrows())
        };
        self.push(node, |bd| bd.dense(w, bias))
    }

    pub(super) fn matmul(&mut self, node: &pb::NodeProto) -> Result<()> {
        if matches!(self.get(node, 0)?, Val::Const(_)) {
            return Err(err(
                node,
                "a constant times an activation is not supported: use x * W",
            ));
        }
        self.act(node, 0)?;
        let b = self
            .konst(node, 1)?
            .into_dimensionality::<Ix2>()
            .map_err(|_| err(node, "the second operand must be a 2-D constant"))?;
        let d = self.dims();
        let (f, out) = b.dim();
        if d.last() != Some(&f) {
            return Err(err(
                node,
                format!("{d:?} times {:?}: inner sizes differ", b.dim()),
            ));
        }
        if d.len() == 1 {
            let w = b.t().to_owned();
            return self.push(node, |bd| bd.dense(w, Array1::zeros(out)));
        }
        // batched over the leading per-sample axes: the Kronecker matrix I (x) B^T
        let rows: usize = d[..d.len() - 1].iter().product();
        let m = Array2::from_shape_fn((rows * out, rows * f), |(i, j)| {
            if i / out == j / f {
                b[[j % f, i % out]]
            } else {
                0.0
            }
        });
        let mut out_dims = d[..d.len() - 1].to_vec();
        out_dims.push(out);
        self.linear_map(node, m, Array1::zeros(rows * out), out_dims)
    }

    pub(super) fn batch_norm(&mut self, node: &pb::NodeProto) -> Result<()> {
        let index = self.act(node, 0)?;
        if proto::attr_i64(node, "training_mode")?.unwrap_or(0) != 0 {
            return Err(err(
                node,
                "training_mode = 1 is not supported (export for inference)",
            ));
        }
        let eps = f64::from(proto::attr_f32(node, "epsilon")?.unwrap_or(1e-5));
        let [g, b, m, v] = [1, 2, 3, 4].map(|i| self.konst(node, i));
        let (g, b, m, v) = (g?, b?, m?, v?);
        let d = self.dims();
        let c = d.first().copied().unwrap_or(0);
        if [&g, &b, &m, &v].iter().any(|a| a.len() != c) {
            return Err(err(
                node,
                format!("parameters must have {c} entries (the channels)"),
            ));
        }
        let (g, b, m, v): (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) = (
            g.iter().copied().collect(),
            b.iter().copied().collect(),
            m.iter().copied().collect(),
            v.iter().copied().collect(),
        );
        let scale: Vec<f64> = (0..c).map(|i| g[i] / (v[i] + eps).sqrt()).collect();
        let shift: Vec<f64> = (0..c).map(|i| b[i] - m[i] * scale[i]).collect();
        let full = |x: &[f64]| ArrayD::from_shape_fn(IxDyn(&d), |ix| x[ix[0]]);
        let name = self.input_name(node, 0)?.to_string();
        self.affine(node, &name, index, &full(&scale), &full(&shift))
    }
}
