//! [`Model`]: a graph of layers (sequential, plus residual adds) with plain weights, its
//! plaintext reference, its plan (depth, costs, exact evaluation keys) and its encrypted run.

use crate::error::{LayerError, Result};
use crate::form::{self, ConvStrategy, Packing};
use crate::interleaved;
use crate::layers::{Activation, AvgPool2d, Conv2d, Dense, Flatten, Layer, Reshape};
use crate::poly::ActivationFn;
use crate::values::{add_values, live_value};
use hetile_backend::{Backend, KeyRequirements};
use hetile_tiles::{plan, BinaryOp, OpCost, OpPlan, Operand, TileShape, TileTensor};
use ndarray::{Array1, Array2, Array4, ArrayD};
use std::borrow::Cow;

#[path = "model_client.rs"]
mod client;

/// One node of a [`Model`]. Node `i` reads value `i` (value 0 is the model input, value
/// `i + 1` is the output of node `i`).
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A fully connected layer.
    Dense(Dense),
    /// A convolution.
    Conv2d(Conv2d),
    /// Average pooling.
    AvgPool(AvgPool2d),
    /// Flatten.
    Flatten(Flatten),
    /// Reshape.
    Reshape(Reshape),
    /// An elementwise activation.
    Activation(Activation),
    /// A residual add: value `i` plus value `from` (`from <= i`).
    Add {
        /// The value added to the node's input.
        from: usize,
    },
}

macro_rules! dispatch {
    ($node:expr, $l:ident => $e:expr, $add:expr) => {
        match $node {
            Node::Dense($l) => $e,
            Node::Conv2d($l) => $e,
            Node::AvgPool($l) => $e,
            Node::Flatten($l) => $e,
            Node::Reshape($l) => $e,
            Node::Activation($l) => $e,
            Node::Add { .. } => $add,
        }
    };
}

impl Node {
    /// The layer kind ("dense", "add", ...).
    pub fn kind(&self) -> &'static str {
        dispatch!(self, l => l.kind(), "add")
    }
}

/// The plan of one node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodePlan {
    /// The layer kind.
    pub kind: &'static str,
    /// The operation's plan (output shape, counts, rotation steps).
    pub plan: OpPlan,
    /// Levels consumed from the model input up to and including this node.
    pub depth_after: usize,
}

/// The plan of a whole encrypted run: shapes, counts and depth per node, totals and the exact
/// evaluation keys.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPlan {
    /// The tile shape of the encrypted input.
    pub input: TileShape,
    /// One plan per node.
    pub nodes: Vec<NodePlan>,
    /// Summed counts (`depth` is the model's depth, not the sum).
    pub cost: OpCost,
    /// Levels the run consumes.
    pub depth: usize,
    /// Relinearization (when any ciphertext product occurs) and exactly the rotation steps used.
    pub keys: KeyRequirements,
}

impl std::fmt::Display for ModelPlan {
    /// One line per node (kind, output tile shape, depth so far, counts), then the totals.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "input {}", self.input)?;
        for (i, n) in self.nodes.iter().enumerate() {
            writeln!(
                f,
                "{i:>3} {:<8} -> {:<28} depth {:>2} | {}",
                n.kind,
                n.plan.output.to_string(),
                n.depth_after,
                n.plan.cost
            )?;
        }
        write!(
            f,
            "total: {}; {} rotation keys {:?}, relinearization {}",
            self.cost,
            self.keys.rotations.len(),
            self.keys.rotations,
            self.keys.relinearization
        )
    }
}

/// A network of HE-friendly layers with plain weights. Build it with [`Model::sequential`].
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    input: Vec<usize>,
    nodes: Vec<Node>,
    dims: Vec<Vec<usize>>,
}

/// A chained builder of [`Model`]s; the first error is kept and returned by
/// [`ModelBuilder::build`].
#[derive(Debug, Clone)]
pub struct ModelBuilder {
    model: Model,
    error: Option<String>,
}

pub(crate) fn model_err(reason: String) -> LayerError {
    LayerError::InvalidModel { reason }
}

impl ModelBuilder {
    fn push(mut self, make: impl FnOnce(&[usize]) -> Result<Node>) -> ModelBuilder {
        if self.error.is_some() {
            return self;
        }
        let current = self.model.dims.last().cloned().unwrap_or_default();
        let node = make(&current).and_then(|n| {
            let out = match &n {
                Node::Add { from } => {
                    let other = self.model.dims.get(*from).ok_or_else(|| {
                        model_err(format!(
                            "residual from value {from}, which does not exist yet"
                        ))
                    })?;
                    if *other != current {
                        return Err(model_err(format!(
                            "residual add of shapes {other:?} and {current:?}"
                        )));
                    }
                    current.clone()
                }
                layer => dispatch!(layer, l => l.output_dims(&current)?, current.clone()),
            };
            Ok((n, out))
        });
        match node {
            Ok((n, out)) => {
                self.model.nodes.push(n);
                self.model.dims.push(out);
            }
            Err(e) => self.error = Some(format!("node {}: {e}", self.model.nodes.len())),
        }
        self
    }

    /// Appends any node (a layer built by the caller, or a residual add), checked like the
    /// other builder methods: the first error is kept for [`ModelBuilder::build`].
    pub fn node(self, node: Node) -> ModelBuilder {
        self.push(|_| Ok(node))
    }
    /// The first error so far, if any.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
    /// The last node pushed, for folding a following per-feature affine map into it.
    #[cfg_attr(not(feature = "onnx"), allow(dead_code))]
    pub(crate) fn last_node_mut(&mut self) -> Option<&mut Node> {
        self.model.nodes.last_mut()
    }

    /// The index of the current value (0 = input; `n` = output of the n-th node), for
    /// [`ModelBuilder::add_from`].
    pub fn current(&self) -> usize {
        self.model.nodes.len()
    }
    /// The per-sample shape of the current value.
    pub fn current_dims(&self) -> &[usize] {
        self.model.dims.last().map_or(&[], Vec::as_slice)
    }

    /// A dense layer (weights `out x in`, input must be flat: [`ModelBuilder::flatten`] first).
    pub fn dense(self, weights: Array2<f64>, bias: Array1<f64>) -> ModelBuilder {
        self.push(|_| Ok(Node::Dense(Dense::new(weights, bias)?)))
    }
    /// A convolution (weights `[Cout, Cin, kh, kw]`) with equal strides and paddings on both
    /// axes, with the default strategy: as the first node it reads image-to-column patches,
    /// elsewhere it runs unrolled (change it with [`Model::with_conv_strategies`]).
    pub fn conv2d(
        self,
        weights: Array4<f64>,
        bias: Array1<f64>,
        stride: usize,
        padding: usize,
    ) -> ModelBuilder {
        self.push(|d| {
            let input = chw("conv2d", d)?;
            Ok(Node::Conv2d(Conv2d::new(
                weights,
                bias,
                [stride; 2],
                [padding; 2],
                input,
            )?))
        })
    }
    /// Average pooling.
    pub fn avg_pool(self, kernel: usize, stride: usize) -> ModelBuilder {
        self.push(|d| {
            Ok(Node::AvgPool(AvgPool2d::new(
                kernel,
                stride,
                chw("avg_pool", d)?,
            )?))
        })
    }
    /// Flatten to one dimension (channel-height-width order).
    pub fn flatten(self) -> ModelBuilder {
        self.push(|d| Ok(Node::Flatten(Flatten::new(d))))
    }
    /// Reshape the per-sample tensor.
    pub fn reshape(self, to: &[usize]) -> ModelBuilder {
        self.push(|d| Ok(Node::Reshape(Reshape::new(d, to)?)))
    }
    /// `x^2`.
    pub fn square(self) -> ModelBuilder {
        self.push(|_| Ok(Node::Activation(Activation::Square)))
    }
    /// A polynomial by power-basis coefficients.
    pub fn poly(self, coeffs: Vec<f64>) -> ModelBuilder {
        self.push(|_| Ok(Node::Activation(Activation::poly(coeffs)?)))
    }
    /// A Chebyshev approximation of `func` of degree `degree` (fitted by [`Model::calibrate`]).
    pub fn approx(self, func: ActivationFn, degree: usize) -> ModelBuilder {
        self.push(|_| Ok(Node::Activation(Activation::approx(func, degree)?)))
    }
    /// Any activation.
    pub fn activation(self, a: Activation) -> ModelBuilder {
        self.push(|_| Ok(Node::Activation(a)))
    }
    /// A residual add of value `from` (see [`ModelBuilder::current`]) to the current value.
    pub fn add_from(self, from: usize) -> ModelBuilder {
        self.push(|_| Ok(Node::Add { from }))
    }
    /// A batch normalization (ONNX `BatchNormalization`, inference), folded into the
    /// preceding dense or convolution layer: `y = gamma (x - mean) / sqrt(var + eps) + beta`
    /// per feature (dense) or channel (convolution).
    pub fn batch_norm(
        mut self,
        gamma: &Array1<f64>,
        beta: &Array1<f64>,
        mean: &Array1<f64>,
        var: &Array1<f64>,
        eps: f64,
    ) -> ModelBuilder {
        if self.error.is_some() {
            return self;
        }
        let n = gamma.len();
        if beta.len() != n || mean.len() != n || var.len() != n {
            self.error = Some("batch_norm: parameter lengths differ".into());
            return self;
        }
        let scale = Array1::from_shape_fn(n, |i| gamma[i] / (var[i] + eps).sqrt());
        let shift = Array1::from_shape_fn(n, |i| beta[i] - mean[i] * scale[i]);
        if scale.iter().chain(shift.iter()).any(|v| !v.is_finite()) {
            self.error = Some("batch_norm: non-finite folded parameters".into());
            return self;
        }
        let folded = match self.model.nodes.last_mut() {
            Some(Node::Dense(d)) => d.fold_affine(&scale, &shift),
            Some(Node::Conv2d(c)) => c.fold_affine(&scale, &shift),
            _ => Err(model_err(
                "batch_norm must follow a dense or convolution layer".into(),
            )),
        };
        if let Err(e) = folded {
            self.error = Some(e.to_string());
        }
        self
    }

    /// The model. Errors: [`LayerError::InvalidModel`] with the first builder error, or for a
    /// model without nodes.
    pub fn build(self) -> Result<Model> {
        if let Some(e) = self.error {
            return Err(model_err(e));
        }
        if self.model.nodes.is_empty() {
            return Err(model_err("a model needs at least one node".into()));
        }
        Ok(self.model)
    }
}

fn chw(layer: &'static str, d: &[usize]) -> Result<[usize; 3]> {
    match d {
        [c, h, w] => Ok([*c, *h, *w]),
        _ => Err(LayerError::InvalidInput {
            layer,
            input: d.to_vec(),
            reason: "expected [C, H, W]".into(),
        }),
    }
}

fn node_err(i: usize, e: LayerError) -> LayerError {
    match e {
        LayerError::NotCalibrated { activation, .. } => LayerError::NotCalibrated {
            node: i,
            activation,
        },
        other => other,
    }
}

/// As [`node_err`]; a layout error of a convolution becomes a [`LayerError::ConvStrategy`]
/// naming the node and its strategy.
fn conv_node_err(i: usize, node: &Node, e: LayerError) -> LayerError {
    interleaved::strategy_err(i, node, e).unwrap_or_else(|e| node_err(i, e))
}

impl Model {
    /// Starts a sequential model on per-sample inputs of shape `input` (`[C, H, W]` or `[F]`).
    pub fn sequential(input: &[usize]) -> ModelBuilder {
        ModelBuilder {
            model: Model {
                input: input.to_vec(),
                nodes: Vec::new(),
                dims: vec![input.to_vec()],
            },
            error: None,
        }
    }
    /// The nodes.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }
    /// The per-sample input shape.
    pub fn input_dims(&self) -> &[usize] {
        &self.input
    }
    /// The per-sample shape of every value: entry 0 is the input, entry `i + 1` the output of
    /// node `i`.
    pub fn value_dims(&self) -> &[Vec<usize>] {
        &self.dims
    }
    /// The per-sample output shape.
    pub fn output_dims(&self) -> &[usize] {
        self.dims.last().map_or(&[], Vec::as_slice)
    }

    fn values(&self, x: &ArrayD<f64>, exact: bool) -> Result<Vec<ArrayD<f64>>> {
        super::layers::check_batch(x, &self.input)?;
        let mut values = vec![x.clone()];
        for (i, node) in self.nodes.iter().enumerate() {
            let cur = &values[i];
            let out = match node {
                Node::Add { from } => cur + &values[*from],
                Node::Activation(a) if exact && a.exact_fn().is_some() => {
                    let f = a.exact_fn();
                    cur.mapv(|v| f.map_or(v, |f| f.apply(v)))
                }
                layer => dispatch!(layer, l => l.forward_plain(cur), Ok(cur.clone()))
                    .map_err(|e| node_err(i, e))?,
            };
            values.push(out);
        }
        Ok(values)
    }

    /// The plaintext reference: what the encrypted run computes (activations are the
    /// polynomials), on a batch `[B, ...input dims]`; returns `[B, ...output dims]`.
    /// Errors: [`LayerError::ArrayShape`], [`LayerError::NotCalibrated`].
    pub fn forward_plain(&self, x: &ArrayD<f64>) -> Result<ArrayD<f64>> {
        self.values(x, false)?
            .pop()
            .ok_or_else(|| model_err("no output".into()))
    }

    /// The original network: as [`Model::forward_plain`] but approximated activations use
    /// their exact functions.
    pub fn forward_exact(&self, x: &ArrayD<f64>) -> Result<ArrayD<f64>> {
        self.values(x, true)?
            .pop()
            .ok_or_else(|| model_err("no output".into()))
    }

    /// Fits every approximated activation on the range its input takes over `samples` (run
    /// through the original network), widened by `margin` times its width on each side.
    /// Errors: [`LayerError::ArrayShape`], [`LayerError::InvalidParameter`] for a negative or
    /// non-finite margin.
    pub fn calibrate(&mut self, samples: &ArrayD<f64>, margin: f64) -> Result<()> {
        if !(margin >= 0.0 && margin.is_finite()) {
            return Err(LayerError::InvalidParameter {
                layer: "calibrate",
                reason: format!("margin {margin}"),
            });
        }
        let values = self.values(samples, true)?;
        for (i, node) in self.nodes.iter_mut().enumerate() {
            if let Node::Activation(a) = node {
                if a.exact_fn().is_some() {
                    let v = &values[i];
                    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let w = if hi > lo { hi - lo } else { 1.0 };
                    a.fit(lo - margin * w, hi + margin * w)?;
                }
            }
        }
        Ok(())
    }

    /// For each node: the range map `t = alpha x + beta` of the approximated activation that
    /// follows it, when the node is a dense or convolution layer whose output feeds only that
    /// activation and the range is not `[-1, 1]`. The encrypted run folds the map into the
    /// layer's weights and bias, saving the activation one level.
    fn fused_maps(&self) -> Vec<Option<(f64, f64)>> {
        let referenced: std::collections::BTreeSet<usize> = self
            .nodes
            .iter()
            .filter_map(|n| match n {
                Node::Add { from } => Some(*from),
                _ => None,
            })
            .collect();
        (0..self.nodes.len())
            .map(|i| {
                let linear = matches!(self.nodes[i], Node::Dense(_) | Node::Conv2d(_));
                match self.nodes.get(i + 1) {
                    Some(Node::Activation(a))
                        if linear && a.exact_fn().is_some() && !referenced.contains(&(i + 1)) =>
                    {
                        match a.series() {
                            Ok(Some(s)) if !s.is_unit_range() => Some(s.affine()),
                            _ => None,
                        }
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// The node as the encrypted run executes it (see [`Model::fused_maps`]): a linear layer
    /// with the following range map folded in, or an activation evaluated on `[-1, 1]`;
    /// `None` when the node runs as built.
    fn effective(&self, i: usize, maps: &[Option<(f64, f64)>]) -> Result<Option<Node>> {
        if let Some((alpha, beta)) = maps.get(i).copied().flatten() {
            let fold = |n: usize| (Array1::from_elem(n, alpha), Array1::from_elem(n, beta));
            return Ok(match &self.nodes[i] {
                Node::Dense(d) => {
                    let mut d = d.clone();
                    let (a, b) = fold(d.bias().len());
                    d.fold_affine(&a, &b)?;
                    Some(Node::Dense(d))
                }
                Node::Conv2d(c) => {
                    let mut c = c.clone();
                    let (a, b) = fold(c.bias().len());
                    c.fold_affine(&a, &b)?;
                    Some(Node::Conv2d(c))
                }
                _ => None,
            });
        }
        if i > 0 && maps.get(i - 1).copied().flatten().is_some() {
            if let Node::Activation(a) = &self.nodes[i] {
                return Ok(Some(Node::Activation(a.premapped()?)));
            }
        }
        Ok(None)
    }

    /// The first node when it is a convolution.
    fn first_conv(&self) -> Option<&Conv2d> {
        match self.nodes.first() {
            Some(Node::Conv2d(c)) => Some(c),
            _ => None,
        }
    }

    /// The strategy of every convolution node, in node order (the explicit one, else the
    /// default: image-to-column for a first node, unrolled elsewhere).
    pub fn conv_strategies(&self) -> Vec<ConvStrategy> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| match n {
                Node::Conv2d(c) => Some(interleaved::resolved(i, c)),
                _ => None,
            })
            .collect()
    }

    /// Sets the strategy of every convolution node, in node order (as
    /// [`Model::conv_strategies`] lists them). The model is unchanged on error.
    /// Errors: [`LayerError::InvalidParameter`] when the count differs from the convolutions;
    /// [`LayerError::ConvStrategy`] naming the first node where a strategy does not fit
    /// (image-to-column on a non-first convolution, interleaved on an input that is not
    /// interleaved, a reshape of interleaved images, ...). Whether a stride divides the tile
    /// grid, or a chained convolution's padded window fits the layout, depends on the packing
    /// and is checked by [`Model::plan_for`] (the same error, naming the node).
    pub fn with_conv_strategies(&mut self, strategies: &[ConvStrategy]) -> Result<()> {
        self.nodes = interleaved::assign(&self.nodes, &self.dims, None, strategies)?;
        Ok(())
    }

    /// Sets the strategy of the convolution at node `node`. The model is unchanged on error.
    /// Errors: [`LayerError::InvalidParameter`] when the node is not a convolution; as
    /// [`Model::with_conv_strategies`].
    pub fn set_conv_strategy(&mut self, node: usize, strategy: ConvStrategy) -> Result<()> {
        self.nodes = interleaved::assign(&self.nodes, &self.dims, Some(node), &[strategy])?;
        Ok(())
    }

    /// The strategy of the first node when it is a convolution.
    fn first_strategy(&self) -> Option<(&Conv2d, ConvStrategy)> {
        self.first_conv().map(|c| (c, interleaved::resolved(0, c)))
    }

    /// The tile shape of an encrypted batch of `batch` samples: image-to-column patches when
    /// the first node is an im2col convolution, the interleaved form
    /// `[C/1, (H + 2p)~/th, (W + 2p)~/tw, B/tb]` of the padded images when it is an interleaved
    /// one (the packing tile read as `[th, tw, tb]`), else the columns form `[F/t0, */t1, B/t2]`.
    /// Errors: tile-shape errors.
    pub fn input_shape(&self, packing: &Packing, batch: usize) -> Result<TileShape> {
        match self.first_strategy() {
            Some((c, ConvStrategy::Im2col)) => c.patches_shape(packing, batch),
            Some((c, ConvStrategy::Interleaved)) => {
                let [ci, h, w] = c.input_dims();
                let [ph, pw] = c.padding();
                packing.interleaved(ci, h + 2 * ph, w + 2 * pw, batch)
            }
            _ => packing.columns(self.input.iter().product(), batch),
        }
    }

    /// The node as run on an input of shape `input`: [`Model::effective`], then a first
    /// interleaved convolution on the image the client padded, or a dense layer told the valid
    /// window of the interleaved images it reads. `None` when the node runs as built.
    fn executed(
        &self,
        i: usize,
        maps: &[Option<(f64, f64)>],
        input: &TileShape,
    ) -> Result<Option<Node>> {
        let eff = self.effective(i, maps)?;
        let node = eff.as_ref().unwrap_or(&self.nodes[i]);
        Ok(match node {
            Node::Conv2d(c)
                if i == 0
                    && interleaved::resolved(0, c) == ConvStrategy::Interleaved
                    && c.padding() != [0, 0] =>
            {
                Some(Node::Conv2d(
                    c.on_padded_input().with_strategy(ConvStrategy::Interleaved),
                ))
            }
            Node::Dense(d) if interleaved::is_interleaved(input) => {
                let w = interleaved::window(&self.nodes, &self.dims, i)?;
                Some(Node::Dense(d.clone().reading_window(w)))
            }
            _ => eff,
        })
    }

    /// The plan of the encrypted run on an input packed as `input`.
    /// Errors: layout errors, [`LayerError::NotCalibrated`].
    pub fn plan_for(&self, input: &TileShape) -> Result<ModelPlan> {
        interleaved::interleaved_values(&self.nodes, &self.dims)?;
        let maps = self.fused_maps();
        let mut shapes = vec![input.clone()];
        let mut depths = vec![0usize];
        let mut nodes = Vec::with_capacity(self.nodes.len());
        let mut total = OpPlan::free(input.clone());
        for (i, node) in self.nodes.iter().enumerate() {
            let cur = &shapes[i];
            let (p, depth) = match node {
                Node::Add { from } => {
                    let (ua, ub) = form::unify_plans(cur, &shapes[*from])?;
                    let (da, db) = (depths[i] + ua.cost.depth, depths[*from] + ub.cost.depth);
                    let mut p = ua.clone();
                    p.cost.depth = 0;
                    let mut q = ub.clone();
                    q.cost.depth = 0;
                    p.rotation_steps.extend(q.rotation_steps.iter().copied());
                    p.cost = p.cost + q.cost;
                    let mut add = plan::set_scale(&ua.output);
                    add = add.then(plan::binary(
                        &ua.output,
                        &ub.output,
                        BinaryOp::Add,
                        Operand::Ciphertext,
                    )?);
                    add.cost.depth = 0;
                    let p = p.then(add);
                    let d = if da == db { da + 1 } else { da.max(db) };
                    (p, d)
                }
                layer => {
                    let eff = self.executed(i, &maps, cur).map_err(|e| node_err(i, e))?;
                    let p = dispatch!(eff.as_ref().unwrap_or(layer), l => l.plan(cur), Err(model_err(String::new())))
                        .map_err(|e| conv_node_err(i, layer, e))?;
                    let d = depths[i] + p.cost.depth;
                    (p, d)
                }
            };
            shapes.push(p.output.clone());
            depths.push(depth);
            total = total.then(p.clone());
            nodes.push(NodePlan {
                kind: node.kind(),
                plan: p,
                depth_after: depth,
            });
        }
        let depth = depths.last().copied().unwrap_or(0);
        let mut cost = total.cost;
        cost.depth = depth;
        Ok(ModelPlan {
            input: input.clone(),
            nodes,
            cost,
            depth,
            keys: total.key_requirements(),
        })
    }

    /// The plan of an encrypted run on `batch` samples packed with `packing`.
    pub fn plan(&self, packing: &Packing, batch: usize) -> Result<ModelPlan> {
        self.plan_for(&self.input_shape(packing, batch)?)
    }

    /// The evaluation keys a run on `batch` samples packed with `packing` needs.
    pub fn key_requirements(&self, packing: &Packing, batch: usize) -> Result<KeyRequirements> {
        Ok(self.plan(packing, batch)?.keys)
    }

    /// Keeps (or stops keeping) the dense layers' encoded weights and biases between encrypted
    /// runs ([`crate::WeightCache`]): a server answering request after request then encodes
    /// them once per level and packing instead of on every run. Off by default.
    pub fn cache_encoded_weights(&self, on: bool) {
        for node in &self.nodes {
            if let Node::Dense(d) = node {
                d.weight_cache().set_enabled(on);
            }
        }
    }

    /// The encrypted forward (server side), following [`Model::plan_for`] on the input's shape.
    /// Errors: [`LayerError::InsufficientDepth`] when the input's level is below the model's
    /// depth, layout errors, backend errors.
    pub fn forward_encrypted<B: Backend>(
        &self,
        ev: &B::Evaluator,
        x: &TileTensor<B>,
    ) -> Result<TileTensor<B>> {
        self.forward_encrypted_observed(ev, x, |_, _| {})
    }

    /// As [`Model::forward_encrypted`], calling `on_node(i, elapsed)` right after node `i` has
    /// run, with that node's wall-clock time (per-layer profiling and progress). Same errors.
    pub fn forward_encrypted_observed<B: Backend>(
        &self,
        ev: &B::Evaluator,
        x: &TileTensor<B>,
        on_node: impl FnMut(usize, std::time::Duration),
    ) -> Result<TileTensor<B>> {
        let p = self.plan_for(x.shape())?;
        self.forward_encrypted_planned(ev, x, &p, on_node)
    }

    /// As [`Model::forward_encrypted_observed`], with the model's plan on the input's shape
    /// already made (`plan` must be [`Model::plan_for`] of `x.shape()`, e.g. from
    /// [`Model::plan`]): a caller that plans anyway (a simulator pricing the run) does not plan
    /// twice. Errors: as [`Model::forward_encrypted`]; [`LayerError::InvalidModel`] when the
    /// plan was made for another input shape or node count.
    pub fn forward_encrypted_planned<B: Backend>(
        &self,
        ev: &B::Evaluator,
        x: &TileTensor<B>,
        plan: &ModelPlan,
        mut on_node: impl FnMut(usize, std::time::Duration),
    ) -> Result<TileTensor<B>> {
        if plan.input != *x.shape() || plan.nodes.len() != self.nodes.len() {
            return Err(model_err(format!(
                "a plan for input {} and {} nodes does not fit input {} and {} nodes",
                plan.input,
                plan.nodes.len(),
                x.shape(),
                self.nodes.len()
            )));
        }
        if x.level().0 < plan.depth {
            return Err(LayerError::InsufficientDepth {
                needed: plan.depth,
                available: x.level().0,
            });
        }
        let maps = self.fused_maps();
        // Each value is dropped after its last reader (node i reads value i, an Add node also
        // value `from`), so a deep or batch-wide network holds only the live activations; the
        // input is borrowed, not copied.
        let n = self.nodes.len();
        let mut last_use: Vec<usize> = (0..=n).collect();
        for (i, node) in self.nodes.iter().enumerate() {
            if let Node::Add { from } = node {
                if let Some(l) = last_use.get_mut(*from) {
                    *l = (*l).max(i);
                }
            }
        }
        let mut values: Vec<Option<Cow<'_, TileTensor<B>>>> = Vec::with_capacity(n + 1);
        values.push(Some(Cow::Borrowed(x)));
        for (i, node) in self.nodes.iter().enumerate() {
            let start = std::time::Instant::now();
            // a flatten or reshape leaves the ciphertexts as they are: when nothing reads its
            // input afterwards, the input moves on instead of being copied (a batch-wide
            // activation is gigabytes)
            let relabel = matches!(node, Node::Flatten(_) | Node::Reshape(_));
            if relabel
                && last_use.get(i).is_some_and(|&l| l <= i)
                && matches!(values.get(i), Some(Some(Cow::Owned(_))))
            {
                if let Some(Some(Cow::Owned(t))) = values.get_mut(i).map(Option::take) {
                    values.push(Some(Cow::Owned(t)));
                    on_node(i, start.elapsed());
                    continue;
                }
            }
            let cur = live_value(&values, i)?;
            let out = match node {
                Node::Add { from } => {
                    let other = live_value(&values, *from)?;
                    let (ua, ub) = form::unify_plans(cur.shape(), other.shape())?;
                    let a = form::unify_one(ev, cur, &ua)?;
                    let b = form::unify_one(ev, other, &ub)?;
                    add_values(ev, &a, &b)?
                }
                layer => {
                    let eff = self
                        .executed(i, &maps, cur.shape())
                        .map_err(|e| node_err(i, e))?;
                    dispatch!(eff.as_ref().unwrap_or(layer), l => l.forward(ev, cur), Ok(cur.clone()))
                        .map_err(|e| conv_node_err(i, layer, e))?
                }
            };
            values.push(Some(Cow::Owned(out)));
            for (j, v) in values.iter_mut().enumerate().take(i + 1) {
                if last_use.get(j).is_some_and(|&l| l <= i) {
                    *v = None;
                }
            }
            on_node(i, start.elapsed());
        }
        values
            .pop()
            .flatten()
            .map(Cow::into_owned)
            .ok_or_else(|| model_err("no output".into()))
    }
}
