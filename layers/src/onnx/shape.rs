//! Shape and reduction ops (Flatten, Reshape, Transpose, Squeeze, Unsqueeze, ReduceSum,
//! ReduceMean) and elementwise arithmetic (Add, Sub, Mul, Div, Pow).

use super::convert::{broadcast, Importer, Val};
use super::proto::{self, err};
use crate::error::Result;
use crate::model::ModelBuilder;
use ndarray::{Array1, Array2, ArrayD, IxDyn};
use tract_onnx::pb;

/// Per-sample axes from ONNX axes (batch = 0, negative from the end of a rank-`rank` tensor).
fn sample_axes(node: &pb::NodeProto, axes: &[i64], rank: usize) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let a = if a < 0 { a + rank as i64 } else { a };
        if a <= 0 || a >= rank as i64 {
            return Err(err(
                node,
                format!("axis {a} is the batch axis or out of range: not supported"),
            ));
        }
        out.push(a as usize - 1);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Row-major strides of `dims`.
fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * dims[i + 1];
    }
    s
}

impl Importer<'_> {
    /// Axes from the `axes` attribute or input 1.
    fn axes(&self, node: &pb::NodeProto) -> Result<Option<Vec<i64>>> {
        if let Some(a) = proto::attr_ints(node, "axes")? {
            return Ok(Some(a));
        }
        if Self::has_input(node, 1) {
            return Ok(Some(self.konst_ints(node, 1)?));
        }
        Ok(None)
    }

    pub(super) fn flatten(&mut self, node: &pb::NodeProto) -> Result<()> {
        self.act(node, 0)?;
        let d = self.dims();
        let rank = d.len() as i64 + 1;
        let axis = proto::attr_i64(node, "axis")?.unwrap_or(1);
        let axis = if axis < 0 { axis + rank } else { axis };
        if axis != 1 {
            return Err(err(
                node,
                format!("axis {axis} would mix the batch: use axis 1"),
            ));
        }
        self.reshape_to(node, vec![d.iter().product()])
    }

    pub(super) fn reshape(&mut self, node: &pb::NodeProto) -> Result<()> {
        self.act(node, 0)?;
        let d = self.dims();
        let s = self.konst_ints(node, 1)?;
        let allow_zero = proto::attr_i64(node, "allowzero")?.unwrap_or(0) != 0;
        let Some((&first, rest)) = s.split_first() else {
            return Err(err(node, "a reshape to a scalar would drop the batch"));
        };
        if first < -1 {
            return Err(err(
                node,
                format!("shape {s:?}: the first entry must be the batch"),
            ));
        }
        let total: usize = d.iter().product();
        let mut to = Vec::with_capacity(rest.len());
        let mut infer = None;
        for (i, &v) in rest.iter().enumerate() {
            match v {
                0 if !allow_zero => {
                    to.push(*d.get(i).ok_or_else(|| {
                        err(node, format!("shape {s:?}: 0 copies a missing axis"))
                    })?)
                }
                -1 if infer.is_none() => {
                    infer = Some(i);
                    to.push(1);
                }
                v if v > 0 => to.push(v as usize),
                _ => return Err(err(node, format!("shape {s:?} is not supported"))),
            }
        }
        if first == -1 && infer.is_some() {
            return Err(err(node, format!("shape {s:?}: two inferred axes")));
        }
        if let Some(i) = infer {
            let known: usize = to.iter().product();
            if known == 0 || !total.is_multiple_of(known) {
                return Err(err(node, format!("shape {s:?} does not fit {d:?}")));
            }
            to[i] = total / known;
        }
        self.reshape_to(node, to)
    }

    pub(super) fn transpose(&mut self, node: &pb::NodeProto) -> Result<()> {
        self.act(node, 0)?;
        let d = self.dims();
        let rank = d.len() + 1;
        let perm =
            proto::attr_ints(node, "perm")?.unwrap_or_else(|| (0..rank as i64).rev().collect());
        let valid = perm.len() == rank && {
            let mut p = perm.clone();
            p.sort_unstable();
            p.iter().enumerate().all(|(i, v)| *v == i as i64)
        };
        if !valid || perm[0] != 0 {
            return Err(err(
                node,
                format!("perm {perm:?} must keep the batch axis first"),
            ));
        }
        let p: Vec<usize> = perm[1..].iter().map(|v| *v as usize - 1).collect();
        let out: Vec<usize> = p.iter().map(|&a| d[a]).collect();
        let moved: Vec<usize> = p.iter().copied().filter(|&a| d[a] != 1).collect();
        if moved.windows(2).all(|w| w[0] < w[1]) {
            return self.reshape_to(node, out);
        }
        // a real data movement: the permutation matrix
        let (si, so) = (strides(&d), strides(&out));
        let n: usize = d.iter().product();
        let mut m = Array2::zeros((n, n));
        for o in 0..n {
            let src: usize = (0..out.len())
                .map(|k| ((o / so[k]) % out[k]) * si[p[k]])
                .sum();
            m[[o, src]] = 1.0;
        }
        self.linear_map(node, m, Array1::zeros(n), out)
    }

    pub(super) fn squeeze(&mut self, node: &pb::NodeProto) -> Result<()> {
        self.act(node, 0)?;
        let d = self.dims();
        let axes = match self.axes(node)? {
            Some(a) => sample_axes(node, &a, d.len() + 1)?,
            None => (0..d.len()).filter(|&i| d[i] == 1).collect(),
        };
        if axes.iter().any(|&a| d[a] != 1) {
            return Err(err(
                node,
                format!("axes {axes:?} of {d:?} are not all of size 1"),
            ));
        }
        let to: Vec<usize> = (0..d.len())
            .filter(|i| !axes.contains(i))
            .map(|i| d[i])
            .collect();
        self.reshape_to(node, if to.is_empty() { vec![1] } else { to })
    }

    pub(super) fn unsqueeze(&mut self, node: &pb::NodeProto) -> Result<()> {
        self.act(node, 0)?;
        let d = self.dims();
        let raw = self
            .axes(node)?
            .ok_or_else(|| err(node, "axes are required"))?;
        let rank = d.len() + 1 + raw.len();
        let axes = sample_axes(node, &raw, rank)?;
        let mut src = d.iter();
        let to: Vec<usize> = (0..rank - 1)
            .map(|i| {
                if axes.contains(&i) {
                    1
                } else {
                    src.next().copied().unwrap_or(1)
                }
            })
            .collect();
        self.reshape_to(node, to)
    }

    pub(super) fn reduce(&mut self, node: &pb::NodeProto) -> Result<()> {
        self.act(node, 0)?;
        let d = self.dims();
        let keep = proto::attr_i64(node, "keepdims")?.unwrap_or(1) != 0;
        let axes = match self.axes(node)? {
            Some(a) if !a.is_empty() => sample_axes(node, &a, d.len() + 1)?,
            _ => {
                if proto::attr_i64(node, "noop_with_empty_axes")?.unwrap_or(0) != 0 {
                    let name = self.input_name(node, 0)?.to_string();
                    let v = self.get(node, 0)?.clone();
                    return self.alias(node, &name, v);
                }
                return Err(err(node, "reducing every axis would sum over the batch"));
            }
        };
        let count: usize = axes.iter().map(|&a| d[a]).product();
        let weight = if node.op_type == "ReduceMean" {
            1.0 / count as f64
        } else {
            1.0
        };
        let kept: Vec<usize> = (0..d.len())
            .map(|i| if axes.contains(&i) { 1 } else { d[i] })
            .collect();
        let (si, so) = (strides(&d), strides(&kept));
        let n: usize = d.iter().product();
        let n_out: usize = kept.iter().product();
        let mut m = Array2::zeros((n_out, n));
        for i in 0..n {
            let o: usize = (0..d.len())
                .map(|k| {
                    if axes.contains(&k) {
                        0
                    } else {
                        ((i / si[k]) % d[k]) * so[k]
                    }
                })
                .sum();
            m[[o, i]] += weight;
        }
        let out: Vec<usize> = if keep {
            kept
        } else {
            (0..d.len())
                .filter(|i| !axes.contains(i))
                .map(|i| d[i])
                .collect()
        };
        let out = if out.is_empty() { vec![1] } else { out };
        self.linear_map(node, m, Array1::zeros(n_out), out)
    }

    /// Add, Sub, Mul, Div: constant folding, affine maps by a constant, a residual add, or
    /// a square (`Mul(x, x)`).
    pub(super) fn arith(&mut self, node: &pb::NodeProto) -> Result<()> {
        let op = node.op_type.as_str();
        let (a, b) = (self.get(node, 0)?.clone(), self.get(node, 1)?.clone());
        match (a, b) {
            (Val::Const(x), Val::Const(y)) => {
                let z = match op {
                    "Add" => &x + &y,
                    "Sub" => &x - &y,
                    "Mul" => &x * &y,
                    _ => &x / &y,
                };
                self.set(node, Val::Const(z))
            }
            (Val::Act(i), Val::Const(c)) => {
                self.check_current(node, i)?;
                let name = self.input_name(node, 0)?.to_string();
                let c = broadcast(node, &c, &self.dims())?;
                let ones = ArrayD::from_elem(c.raw_dim(), 1.0);
                let zeros = ArrayD::zeros(c.raw_dim());
                let (s, t) = match op {
                    "Add" => (ones, c),
                    "Sub" => (ones, -c),
                    "Mul" => (c, zeros),
                    _ => {
                        if c.iter().any(|v| *v == 0.0) {
                            return Err(err(node, "division by zero"));
                        }
                        (c.mapv(|v| 1.0 / v), zeros)
                    }
                };
                self.affine(node, &name, i, &s, &t)
            }
            (Val::Const(c), Val::Act(i)) => {
                self.check_current(node, i)?;
                let name = self.input_name(node, 1)?.to_string();
                let c = broadcast(node, &c, &self.dims())?;
                let ones = ArrayD::from_elem(c.raw_dim(), 1.0);
                let zeros = ArrayD::zeros(c.raw_dim());
                let (s, t) = match op {
                    "Add" => (ones, c),
                    "Sub" => (-ones, c),
                    "Mul" => (c, zeros),
                    _ => {
                        return Err(err(
                            node,
                            "a constant divided by an activation is not polynomial",
                        ))
                    }
                };
                self.affine(node, &name, i, &s, &t)
            }
            (Val::Act(i), Val::Act(j)) => {
                let cur = self.b.current();
                match op {
                    "Mul" if i == j => {
                        self.check_current(node, i)?;
                        self.push(node, ModelBuilder::square)
                    }
                    "Add" if i == j => {
                        self.check_current(node, i)?;
                        let name = self.input_name(node, 0)?.to_string();
                        let d = self.dims();
                        let two = ArrayD::from_elem(IxDyn(&d), 2.0);
                        self.affine(node, &name, i, &two, &ArrayD::zeros(IxDyn(&d)))
                    }
                    "Add" if i == cur || j == cur => {
                        let other = if i == cur { j } else { i };
                        self.push(node, |b| b.add_from(other))
                    }
                    "Add" => Err(err(
                        node,
                        "a residual Add needs the latest activation as an operand",
                    )),
                    _ => Err(err(
                        node,
                        format!(
                            "{op} of two activations is not supported (only Add and Mul(x, x))"
                        ),
                    )),
                }
            }
            _ => Err(err(
                node,
                "reads a Pad output: Pad is only supported right before Conv or AveragePool",
            )),
        }
    }

    /// `Pow(x, k)` for a constant integer `1 <= k <= 8`.
    pub(super) fn pow(&mut self, node: &pb::NodeProto) -> Result<()> {
        let i = self.act(node, 0)?;
        let e = self.konst(node, 1)?;
        let k = match e.iter().next() {
            Some(k) if e.len() == 1 && k.fract() == 0.0 && (1.0..=8.0).contains(k) => *k as usize,
            _ => {
                return Err(err(
                    node,
                    "only a constant integer exponent in 1..=8 is supported",
                ))
            }
        };
        match k {
            1 => {
                let name = self.input_name(node, 0)?.to_string();
                self.alias(node, &name, Val::Act(i))
            }
            2 => self.push(node, ModelBuilder::square),
            _ => {
                let mut c = vec![0.0; k + 1];
                c[k] = 1.0;
                self.push(node, |b| b.poly(c))
            }
        }
    }
}
