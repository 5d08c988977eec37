//! The graph walk: ONNX values, the model under construction, and the op dispatch.

use super::proto::{self, err};
use super::ImportOptions;
use crate::error::{LayerError, Result};
use crate::layers::Activation;
use crate::model::{Model, ModelBuilder, Node};
use crate::poly::ActivationFn;
use ndarray::{Array1, Array2, ArrayD, Axis, IxDyn};
use std::collections::HashMap;
use tract_onnx::pb;

/// What an ONNX value is during the import.
#[derive(Debug, Clone)]
pub(super) enum Val {
    /// A constant (initializer, `Constant`, or folded from constants).
    Const(ArrayD<f64>),
    /// The model value with this index (0 = input, `i + 1` = output of node `i`).
    Act(usize),
    /// A model value zero-padded on height and width (`[top, left, bottom, right]`), waiting
    /// for the `Conv` or `AveragePool` that absorbs the padding.
    Padded {
        /// The model value.
        index: usize,
        /// `[top, left, bottom, right]`.
        pads: [usize; 4],
    },
}

/// The importer's state.
pub(super) struct Importer<'a> {
    pub(super) b: ModelBuilder,
    vals: HashMap<String, Val>,
    /// Consumers of each value (graph outputs count as consumers), aliases merged.
    uses: HashMap<String, usize>,
    /// The value an alias (Identity, no-op reshape) stands for.
    root: HashMap<String, String>,
    pub(super) opts: &'a ImportOptions,
}

/// Imports a graph.
pub(super) fn convert(graph: &pb::GraphProto, opts: &ImportOptions) -> Result<Model> {
    let mut vals = HashMap::new();
    for t in &graph.initializer {
        vals.insert(t.name.clone(), Val::Const(proto::proto_array(t)?));
    }
    let inputs: Vec<&pb::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|v| !vals.contains_key(&v.name))
        .collect();
    let [input] = inputs.as_slice() else {
        return Err(LayerError::OnnxRead {
            reason: format!(
                "the graph has {} non-constant inputs; exactly one is supported",
                inputs.len()
            ),
        });
    };
    let dims = input_dims(input, opts)?;
    vals.insert(input.name.clone(), Val::Act(0));
    let mut uses: HashMap<String, usize> = HashMap::new();
    for n in &graph.node {
        for i in n.input.iter().filter(|i| !i.is_empty()) {
            *uses.entry(i.clone()).or_default() += 1;
        }
    }
    for o in &graph.output {
        *uses.entry(o.name.clone()).or_default() += 1;
    }
    let mut imp = Importer {
        b: Model::sequential(&dims),
        vals,
        uses,
        root: HashMap::new(),
        opts,
    };
    for node in &graph.node {
        imp.node(node)?;
    }
    let [output] = graph.output.as_slice() else {
        return Err(LayerError::OnnxRead {
            reason: format!(
                "the graph has {} outputs; exactly one is supported",
                graph.output.len()
            ),
        });
    };
    match imp.vals.get(&output.name) {
        Some(Val::Act(i)) if *i == imp.b.current() => imp.b.build(),
        _ => Err(LayerError::OnnxRead {
            reason: format!(
                "the graph output '{}' is not the last computed activation",
                output.name
            ),
        }),
    }
}

/// The per-sample input shape: the declared shape without the batch axis, or the options'.
fn input_dims(input: &pb::ValueInfoProto, opts: &ImportOptions) -> Result<Vec<usize>> {
    let declared = proto::value_shape(input);
    let bad = |reason: String| LayerError::OnnxRead { reason };
    match (&opts.input_shape, declared) {
        (Some(given), Some(d)) => {
            let agree = d.len() == given.len() + 1
                && d[1..]
                    .iter()
                    .zip(given)
                    .all(|(a, b)| a.is_none_or(|a| a == *b));
            if agree {
                Ok(given.clone())
            } else {
                Err(bad(format!(
                    "input '{}': ImportOptions::input_shape {given:?} disagrees with the graph's {d:?}",
                    input.name
                )))
            }
        }
        (Some(given), None) => Ok(given.clone()),
        (None, Some(d)) if d.len() >= 2 && d[1..].iter().all(Option::is_some) => {
            Ok(d[1..].iter().flatten().copied().collect())
        }
        (None, d) => Err(bad(format!(
            "input '{}' has shape {d:?} (batch first): set ImportOptions::input_shape to the \
             per-sample shape",
            input.name
        ))),
    }
}

/// Unsupported ops and what to do about them.
fn unsupported_hint(op: &str) -> String {
    match op {
        "MaxPool" => "not HE-friendly: replace by AveragePool".into(),
        "GlobalMaxPool" => "not HE-friendly: replace by GlobalAveragePool".into(),
        "Softmax" | "LogSoftmax" => {
            "drop it (the argmax is unchanged) or apply it on the client after decryption".into()
        }
        "LeakyRelu" | "Elu" | "Selu" | "PRelu" | "HardSigmoid" | "HardSwish" | "Mish"
        | "Softplus" | "Clip" => {
            "replace by Relu/Sigmoid/Tanh/Gelu (imported as polynomial approximations) or a \
             polynomial (Mul, Pow)"
                .into()
        }
        "Concat" | "Split" | "Slice" | "Gather" | "Shape" | "Expand" | "Tile" => {
            "not supported: the importer maps sequential graphs with residual Adds; export with \
             constant shapes (e.g. torch.onnx.export(..., do_constant_folding=True)) and no \
             branches"
                .into()
        }
        _ => "no encrypted mapping; supported: Conv, Gemm, MatMul, Add, Sub, Mul, Div, Pow, \
              AveragePool, GlobalAveragePool, Pad, BatchNormalization, Flatten, Reshape, \
              Transpose, Squeeze, Unsqueeze, Identity, Dropout, Cast, Constant, ReduceSum, \
              ReduceMean, Relu, Sigmoid, Tanh, Gelu"
            .into(),
    }
}

impl Importer<'_> {
    fn node(&mut self, node: &pb::NodeProto) -> Result<()> {
        if !(node.domain.is_empty() || node.domain == "ai.onnx") {
            return Err(err(
                node,
                format!("domain '{}' is not supported", node.domain),
            ));
        }
        match node.op_type.as_str() {
            "Constant" => {
                let v = proto::constant_value(node)?;
                self.set(node, Val::Const(v))
            }
            "Identity" | "Dropout" | "Cast" => {
                let name = self.input_name(node, 0)?.to_string();
                let v = self.get(node, 0)?.clone();
                self.alias(node, &name, v)
            }
            "Conv" => self.conv(node),
            "AveragePool" => self.average_pool(node),
            "GlobalAveragePool" => self.global_average_pool(node),
            "Pad" => self.pad(node),
            "Gemm" => self.gemm(node),
            "MatMul" => self.matmul(node),
            "BatchNormalization" => self.batch_norm(node),
            "Add" | "Sub" | "Mul" | "Div" => self.arith(node),
            "Pow" => self.pow(node),
            "Relu" => self.approx(node, ActivationFn::Relu),
            "Sigmoid" => self.approx(node, ActivationFn::Sigmoid),
            "Tanh" => self.approx(node, ActivationFn::Tanh),
            "Gelu" => {
                let mode = proto::attr_str(node, "approximate")?;
                if mode.as_deref().is_some_and(|m| m != "none") {
                    return Err(err(node, "only the exact (erf) Gelu is supported"));
                }
                self.approx(node, ActivationFn::Gelu)
            }
            "Flatten" => self.flatten(node),
            "Reshape" => self.reshape(node),
            "Transpose" => self.transpose(node),
            "Squeeze" => self.squeeze(node),
            "Unsqueeze" => self.unsqueeze(node),
            "ReduceSum" | "ReduceMean" => self.reduce(node),
            op => Err(err(node, unsupported_hint(op))),
        }
    }

    /// The name of input `i`. Errors: missing input.
    pub(super) fn input_name<'n>(&self, node: &'n pb::NodeProto, i: usize) -> Result<&'n str> {
        match node.input.get(i) {
            Some(n) if !n.is_empty() => Ok(n),
            _ => Err(err(node, format!("input {i} is missing"))),
        }
    }

    /// The value of input `i`. Errors: missing or unknown input.
    pub(super) fn get(&self, node: &pb::NodeProto, i: usize) -> Result<&Val> {
        let name = self.input_name(node, i)?;
        self.vals.get(name).ok_or_else(|| {
            err(
                node,
                format!("input '{name}' is not produced before this node"),
            )
        })
    }

    /// Whether input `i` is present.
    pub(super) fn has_input(node: &pb::NodeProto, i: usize) -> bool {
        node.input.get(i).is_some_and(|n| !n.is_empty())
    }

    /// Input `i` as a constant. Errors: an activation where a constant is needed.
    pub(super) fn konst(&self, node: &pb::NodeProto, i: usize) -> Result<ArrayD<f64>> {
        match self.get(node, i)? {
            Val::Const(c) => Ok(c.clone()),
            _ => Err(err(
                node,
                format!("input {i} must be a constant (an initializer or a Constant node)"),
            )),
        }
    }

    /// Input `i` as integers (shapes, axes, pads).
    pub(super) fn konst_ints(&self, node: &pb::NodeProto, i: usize) -> Result<Vec<i64>> {
        let c = self.konst(node, i)?;
        c.iter()
            .map(|v| {
                if v.fract() == 0.0 && v.abs() < 9.0e15 {
                    Ok(*v as i64)
                } else {
                    Err(err(node, format!("input {i} must hold integers")))
                }
            })
            .collect()
    }

    /// Checks that `index` is the latest model value (the importer builds a sequential model).
    pub(super) fn check_current(&self, node: &pb::NodeProto, index: usize) -> Result<usize> {
        if index == self.b.current() {
            Ok(index)
        } else {
            Err(err(
                node,
                "reads an activation computed before the latest node: only residual Adds may \
                 branch (the importer builds sequential models)",
            ))
        }
    }

    /// Input `i` as the latest activation. Errors: a constant, a pending `Pad`, or an older
    /// activation.
    pub(super) fn act(&self, node: &pb::NodeProto, i: usize) -> Result<usize> {
        match self.get(node, i)? {
            Val::Act(index) => self.check_current(node, *index),
            Val::Padded { .. } => Err(err(
                node,
                "reads a Pad output: Pad is only supported right before Conv or AveragePool",
            )),
            Val::Const(_) => Err(err(node, format!("input {i} must be an activation"))),
        }
    }

    /// The current per-sample shape.
    pub(super) fn dims(&self) -> Vec<usize> {
        self.b.current_dims().to_vec()
    }

    /// Sets output 0.
    pub(super) fn set(&mut self, node: &pb::NodeProto, v: Val) -> Result<()> {
        let out = node
            .output
            .first()
            .ok_or_else(|| err(node, "the node has no output"))?;
        self.vals.insert(out.clone(), v);
        Ok(())
    }

    /// Sets output 0 to the same value as input `from`, merging the consumers for folding.
    pub(super) fn alias(&mut self, node: &pb::NodeProto, from: &str, v: Val) -> Result<()> {
        let root = self.root_of(from);
        if let Some(out) = node.output.first() {
            let extra = self.uses.get(out).copied().unwrap_or(0);
            *self.uses.entry(root.clone()).or_default() += extra;
            if let Some(u) = self.uses.get_mut(&root) {
                *u = u.saturating_sub(1);
            }
            self.root.insert(out.clone(), root);
        }
        self.set(node, v)
    }

    fn root_of(&self, name: &str) -> String {
        self.root
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string())
    }

    /// Whether the value `name` is consumed by one node only (so a following affine map may
    /// be folded into the layer that produced it).
    pub(super) fn single_use(&self, name: &str) -> bool {
        self.uses.get(&self.root_of(name)).copied().unwrap_or(0) == 1
    }

    /// Applies `f` to the builder and sets output 0 to the new latest value.
    /// Errors: the builder's error, attributed to `node`.
    pub(super) fn push(
        &mut self,
        node: &pb::NodeProto,
        f: impl FnOnce(ModelBuilder) -> ModelBuilder,
    ) -> Result<()> {
        self.extend(node, f)?;
        let i = self.b.current();
        self.set(node, Val::Act(i))
    }

    /// Applies `f` to the builder without setting an output.
    pub(super) fn extend(
        &mut self,
        node: &pb::NodeProto,
        f: impl FnOnce(ModelBuilder) -> ModelBuilder,
    ) -> Result<()> {
        let b = std::mem::replace(&mut self.b, Model::sequential(&[]));
        self.b = f(b);
        match self.b.error() {
            Some(e) => Err(err(node, e.to_string())),
            None => Ok(()),
        }
    }

    /// Moves the current value to per-sample shape `to` (same element count, same order):
    /// nothing when equal (an alias), a flatten, or a reshape.
    pub(super) fn reshape_to(&mut self, node: &pb::NodeProto, to: Vec<usize>) -> Result<()> {
        let d = self.dims();
        if d.iter().product::<usize>() != to.iter().product::<usize>() {
            return Err(err(node, format!("cannot reshape {d:?} to {to:?}")));
        }
        if to == d {
            let name = self.input_name(node, 0)?.to_string();
            let v = self.get(node, 0)?.clone();
            return self.alias(node, &name, v);
        }
        if to.len() == 1 {
            self.push(node, ModelBuilder::flatten)
        } else {
            self.push(node, |b| b.reshape(&to))
        }
    }

    /// An arbitrary linear map of the current value: `y = M vec(x) + bias` reshaped to
    /// `out_dims`, as flatten (when needed), a dense layer and a reshape (when needed).
    pub(super) fn linear_map(
        &mut self,
        node: &pb::NodeProto,
        m: Array2<f64>,
        bias: Array1<f64>,
        out_dims: Vec<usize>,
    ) -> Result<()> {
        if self.dims().len() != 1 {
            self.extend(node, ModelBuilder::flatten)?;
        }
        self.extend(node, |b| b.dense(m, bias))?;
        if out_dims.len() != 1 {
            self.extend(node, |b| b.reshape(&out_dims))?;
        }
        let i = self.b.current();
        self.set(node, Val::Act(i))
    }

    /// `y = scale * x + shift` elementwise on the current value `index` (read from input
    /// `name`), with `scale` and `shift` of the per-sample shape: folded into the preceding
    /// dense or convolution layer when it feeds only this node and the map is per channel; else
    /// a degree-1 polynomial when both are uniform; else a diagonal dense layer.
    pub(super) fn affine(
        &mut self,
        node: &pb::NodeProto,
        name: &str,
        index: usize,
        scale: &ArrayD<f64>,
        shift: &ArrayD<f64>,
    ) -> Result<()> {
        self.check_current(node, index)?;
        if scale.iter().all(|v| *v == 1.0) && shift.iter().all(|v| *v == 0.0) {
            return self.alias(node, name, Val::Act(index));
        }
        let foldable = index > 0 && self.single_use(name);
        if foldable {
            if let (Some(s), Some(t)) = (per_channel(scale), per_channel(shift)) {
                let folded = match self.b.last_node_mut() {
                    Some(Node::Dense(d)) if scale.ndim() == 1 => Some(d.fold_affine(&s, &t)),
                    Some(Node::Conv2d(c)) if scale.ndim() == 3 => Some(c.fold_affine(&s, &t)),
                    _ => None,
                };
                if let Some(r) = folded {
                    r.map_err(|e| err(node, e.to_string()))?;
                    return self.set(node, Val::Act(index));
                }
            }
        }
        let uniform = |a: &ArrayD<f64>| a.iter().all(|v| Some(v) == a.iter().next());
        if uniform(scale) && uniform(shift) {
            let (a, c) = (
                scale.iter().next().copied().unwrap_or(1.0),
                shift.iter().next().copied().unwrap_or(0.0),
            );
            let act = Activation::poly(vec![c, a]).map_err(|e| err(node, e.to_string()))?;
            return self.push(node, |b| b.activation(act));
        }
        let n = scale.len();
        let s: Vec<f64> = scale.iter().copied().collect();
        let m = Array2::from_shape_fn((n, n), |(i, j)| if i == j { s[i] } else { 0.0 });
        let bias = Array1::from_iter(shift.iter().copied());
        self.linear_map(node, m, bias, scale.shape().to_vec())
    }

    /// A polynomial approximation of `func`, as the options say.
    fn approx(&mut self, node: &pb::NodeProto, func: ActivationFn) -> Result<()> {
        self.act(node, 0)?;
        let spec = self.opts.spec_for(&proto::node_name(node), &node.op_type);
        let mut a = Activation::approx(func, spec.degree).map_err(|e| err(node, e.to_string()))?;
        if let Some((lo, hi)) = spec.range {
            a.fit(lo, hi).map_err(|e| err(node, e.to_string()))?;
        }
        self.push(node, |b| b.activation(a))
    }
}

/// The per-channel (axis 0) vector of a per-sample array constant over the other axes.
fn per_channel(a: &ArrayD<f64>) -> Option<Array1<f64>> {
    if a.ndim() == 0 {
        return None;
    }
    let v: Vec<f64> = a
        .axis_iter(Axis(0))
        .map(|sub| {
            let first = sub.iter().next().copied();
            first.filter(|f| sub.iter().all(|x| x == f))
        })
        .collect::<Option<Vec<f64>>>()?;
    Some(Array1::from(v))
}

/// A constant broadcast (numpy rules, batch axis first) to the per-sample shape `dims`.
/// Errors: the constant varies along the batch axis or does not broadcast.
pub(super) fn broadcast(
    node: &pb::NodeProto,
    c: &ArrayD<f64>,
    dims: &[usize],
) -> Result<ArrayD<f64>> {
    let full = dims.len() + 1;
    if c.ndim() > full {
        return Err(err(
            node,
            format!("constant of shape {:?} has too many axes", c.shape()),
        ));
    }
    let view = if c.ndim() == full {
        if c.shape()[0] != 1 {
            return Err(err(node, "a constant may not vary along the batch axis"));
        }
        c.index_axis(Axis(0), 0)
    } else {
        c.view()
    };
    view.broadcast(IxDyn(dims))
        .map(|v| v.to_owned())
        .ok_or_else(|| {
            err(
                node,
                format!(
                    "constant of shape {:?} does not broadcast to {dims:?}",
                    c.shape()
                ),
            )
        })
}
