//! How activations are packed: the batch is the last tile dimension, and the per-sample
//! features (flattened in ONNX channel-height-width order) live in one of the first two.
//!
//! With a packing tile `[t0, t1, t2]` (`t0 t1 t2` = slot count) and a batch of `B` samples:
//! - columns form `[F/t0, */t1, B/t2]` (logical `[F, 1, B]`): what the client sends to a model
//!   that starts with a linear layer; a dense layer on it sums over dimension 0 and yields
//! - rows form `[*/t0, F/t1, B/t2]` (logical `[1, F, B]`), clean and replicated; a dense layer
//!   on it sums over dimension 1 and yields
//! - the garbage form `[F/t0, 1?/t1, B/t2]` (logical `[F, 1, B]`), which a following dense
//!   layer first turns into the columns form (one mask level, `log2 t1` rotations per tile).
//! - patches form `[K/t0, F/t1, B/t2]` (logical `[K, F, B]`): image-to-column input of a
//!   first convolution (see [`crate::layers::Conv2d::im2col`]). (A first convolution with a
//!   single output feature, `F = 1`, would be read as the garbage form; it is not supported.)
//! - interleaved form `[C/1, H~/th, W~/tw, B/tb]` (rank 4, logical `[C, H, W, B]`): images
//!   packed for the interleaved convolution ([`crate::interleaved`]); the packing tile
//!   `[t0, t1, t2]` is then read as the image tile `[th, tw, tb]` ([`Packing::image_tile`]).
//!   Its logical extent may exceed the valid image (a convolution shrinks the valid window but
//!   keeps the layout); the model knows the valid window from its per-sample shapes.
//!
//! [`ConvStrategy`] says which of these a convolution reads.

use crate::cache::{Role, WeightCache};
use crate::error::{LayerError, Result};
use hetile_backend::Backend;
use hetile_tiles::{
    plan, BinaryOp, OpPlan, Operand, PlainTileTensor, TileDim, TileShape, TileTensor,
};
use ndarray::{Array1, Array2, ArrayD, IxDyn};
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// How a convolution runs on ciphertexts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConvStrategy {
    /// Image-to-column: the client packs the patches (first node only); one multiply-then-sum
    /// over the patch dimension.
    Im2col,
    /// Interleaved tiles ([`crate::interleaved`]): a shift of the filter mostly selects a
    /// neighbouring tile instead of rotating; the output stays interleaved, so interleaved
    /// convolutions, activations and pools chain without repacking.
    Interleaved,
    /// The unrolled (Toeplitz) matrix through a dense product; reads any non-patches form.
    Unrolled,
}

impl ConvStrategy {
    /// Every strategy, in a fixed order (for enumeration by an optimizer).
    pub const ALL: [ConvStrategy; 3] = [
        ConvStrategy::Im2col,
        ConvStrategy::Interleaved,
        ConvStrategy::Unrolled,
    ];

    /// The name: `"im2col"`, `"interleaved"` or `"unrolled"` (what [`FromStr`] reads).
    pub fn name(&self) -> &'static str {
        match self {
            ConvStrategy::Im2col => "im2col",
            ConvStrategy::Interleaved => "interleaved",
            ConvStrategy::Unrolled => "unrolled",
        }
    }
}

impl fmt::Display for ConvStrategy {
    /// The [`ConvStrategy::name`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ConvStrategy {
    type Err = LayerError;
    /// Reads a [`ConvStrategy::name`] (ASCII case-insensitive).
    /// Errors: [`LayerError::InvalidParameter`] for any other text.
    fn from_str(s: &str) -> Result<ConvStrategy> {
        ConvStrategy::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| LayerError::InvalidParameter {
                layer: "conv strategy",
                reason: format!("unknown strategy '{s}': expected im2col, interleaved or unrolled"),
            })
    }
}

/// The packing of a model run: the tile `[t0, t1, t2]`; `t2` is the number of samples per
/// ciphertext along the batch dimension. When the model's first convolution is interleaved,
/// the same tile is read as the image tile `[th, tw, tb]` of the interleaved input
/// ([`Packing::image_tile`], [`Packing::interleaved`]); every later rank-3 form keeps `t2 = tb`
/// on its batch dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Packing {
    tile: [usize; 3],
}

impl Packing {
    /// A packing with tile `[t0, t1, t2]`.
    /// Errors: [`LayerError::InvalidParameter`] unless every entry is a power of two.
    pub fn new(tile: [usize; 3]) -> Result<Packing> {
        if tile.iter().all(|t| t.is_power_of_two()) {
            Ok(Packing { tile })
        } else {
            Err(LayerError::InvalidParameter {
                layer: "packing",
                reason: format!("tile {tile:?} entries must be powers of two"),
            })
        }
    }
    /// The tile.
    pub fn tile(&self) -> [usize; 3] {
        self.tile
    }
    /// Slots per ciphertext (`t0 t1 t2`).
    pub fn slots(&self) -> usize {
        self.tile.iter().product()
    }
    /// The image tile `[th, tw, tb]` of an interleaved input: the tile itself, read as height,
    /// width and batch slots.
    pub fn image_tile(&self) -> [usize; 3] {
        self.tile
    }
    /// A packing for an interleaved input with image tile `[th, tw, tb]` (the same as
    /// [`Packing::new`]; named for readability).
    /// Errors: [`LayerError::InvalidParameter`] unless every entry is a power of two.
    pub fn image(th: usize, tw: usize, tb: usize) -> Result<Packing> {
        Packing::new([th, tw, tb])
    }
    /// Every packing of `slots` slots (a power of two) with `t2 = batch_tile`: the tiles
    /// `[t0, slots / (t0 t2), t2]` for each power of two `t0`, in increasing `t0` (for an
    /// optimizer to enumerate; for an interleaved input `t0, t1` are `th, tw`).
    /// Errors: [`LayerError::InvalidParameter`] unless `slots` and `batch_tile` are powers of
    /// two with `batch_tile <= slots`.
    pub fn enumerate(slots: usize, batch_tile: usize) -> Result<Vec<Packing>> {
        if !slots.is_power_of_two() || !batch_tile.is_power_of_two() || batch_tile > slots {
            return Err(LayerError::InvalidParameter {
                layer: "packing",
                reason: format!("slots {slots} and batch tile {batch_tile}"),
            });
        }
        let rest = slots / batch_tile;
        Ok((0..=rest.trailing_zeros())
            .map(|k| Packing {
                tile: [1 << k, rest >> k, batch_tile],
            })
            .collect())
    }
    /// The interleaved form `[C/1, H~/th, W~/tw, B/tb]` of a batch of `[C, H, W]` images.
    /// Errors: tile-shape errors (a zero size).
    pub fn interleaved(
        &self,
        channels: usize,
        height: usize,
        width: usize,
        batch: usize,
    ) -> Result<TileShape> {
        let [th, tw, tb] = self.tile;
        Ok(TileShape::new(vec![
            TileDim::new(channels, 1),
            TileDim::new(height, th).with_interleaving(),
            TileDim::new(width, tw).with_interleaving(),
            TileDim::new(batch, tb),
        ])?)
    }
    /// The columns form `[F/t0, */t1, B/t2]`.
    pub fn columns(&self, features: usize, batch: usize) -> Result<TileShape> {
        let [t0, t1, t2] = self.tile;
        Ok(TileShape::new(vec![
            TileDim::new(features, t0),
            TileDim::replicated(t1),
            TileDim::new(batch, t2),
        ])?)
    }
    /// The patches form `[K/t0, F/t1, B/t2]`.
    pub fn patches(&self, k: usize, features: usize, batch: usize) -> Result<TileShape> {
        let [t0, t1, t2] = self.tile;
        Ok(TileShape::new(vec![
            TileDim::new(k, t0),
            TileDim::new(features, t1),
            TileDim::new(batch, t2),
        ])?)
    }
}

/// Where the features of a packed activation live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Features on dimension 0, dimension 1 replicated (or `1/1`).
    Columns,
    /// Features on dimension 1, dimension 0 replicated (or `1/1`).
    Rows,
    /// Features on dimension 0, dimension 1 of size 1 but not replicated.
    Garbage,
    /// Image-to-column patches `[K, F, B]`.
    Patches,
    /// Interleaved images `[C/1, H~/th, W~/tw, B/tb]` (rank 4).
    Interleaved,
}

fn layout_err(layer: &'static str, shape: &TileShape, reason: &str) -> LayerError {
    LayerError::Layout {
        layer,
        shape: shape.to_string(),
        reason: reason.to_string(),
    }
}

/// The form of a packed activation and its feature count (for the interleaved form, the
/// elements of the logical layout `C H W`, which may exceed the valid window).
/// Errors: [`LayerError::Layout`] unless the shape has rank 3, or rank 4 with interleaved
/// height and width.
pub fn classify(layer: &'static str, shape: &TileShape) -> Result<(Form, usize)> {
    let dims = shape.dims();
    if crate::interleaved::is_interleaved(shape) {
        return Ok((
            Form::Interleaved,
            dims.iter().take(3).map(TileDim::size).product(),
        ));
    }
    if dims.len() != 3 {
        return Err(layout_err(
            layer,
            shape,
            "activations have rank 3 (or rank 4 interleaved)",
        ));
    }
    let (d0, d1) = (dims[0], dims[1]);
    Ok(if d1.is_broadcastable() {
        (Form::Columns, d0.size())
    } else if d0.is_broadcastable() {
        (Form::Rows, d1.size())
    } else if d1.size() == 1 {
        (Form::Garbage, d0.size())
    } else {
        (Form::Patches, d1.size())
    })
}

/// The batch size held by a packed activation (its last dimension).
pub(crate) fn batch_of(shape: &TileShape) -> usize {
    shape.dims().last().map_or(1, TileDim::size)
}

/// The tile `[t0, t1, t2]` of a rank-3 shape.
pub(crate) fn tile_of(shape: &TileShape) -> [usize; 3] {
    let t = shape.tile_dims();
    [
        t.first().copied().unwrap_or(1),
        t.get(1).copied().unwrap_or(1),
        t.get(2).copied().unwrap_or(1),
    ]
}

/// The shape of the weights multiplying an input of `shape` (form rows or columns) for an
/// `out x F` matrix, and the dimension summed.
fn weight_shape(layer: &'static str, shape: &TileShape, out: usize) -> Result<(TileShape, usize)> {
    let [t0, t1, t2] = tile_of(shape);
    let (form, f) = classify(layer, shape)?;
    Ok(match form {
        Form::Rows => (
            TileShape::new(vec![
                TileDim::new(out, t0),
                TileDim::new(f, t1),
                TileDim::replicated(t2),
            ])?,
            1,
        ),
        // a single-row matrix on the garbage form: its zero padding along dimension 1 clears
        // the garbage in the same product, so no mask and no replication are needed
        Form::Columns | Form::Garbage if form == Form::Columns || out == 1 => (
            TileShape::new(vec![
                TileDim::new(f, t0),
                TileDim::new(out, t1),
                TileDim::replicated(t2),
            ])?,
            0,
        ),
        _ => {
            return Err(layout_err(
                layer,
                shape,
                "expected the rows or columns form",
            ))
        }
    })
}

/// The matrix arranged as the weights of [`weight_shape`]: `[out, F, 1]` for rows, `[F, out, 1]`
/// for columns.
fn arrange_weights(form: Form, m: &Array2<f64>) -> ArrayD<f64> {
    let a = if form == Form::Rows {
        m.clone()
    } else {
        m.t().to_owned()
    };
    a.insert_axis(ndarray::Axis(2)).into_dyn()
}

/// Checks that a bias fits an activation of `shape` (one value per feature) and returns the
/// shape it takes along the feature axis (1 elsewhere) and the logical shape it is broadcast
/// to. Errors: [`LayerError::Layout`] when the length differs from the features or the bias
/// does not broadcast to the activation.
fn bias_axes(
    layer: &'static str,
    shape: &TileShape,
    bias: &Array1<f64>,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let (form, f) = classify(layer, shape)?;
    let logical = shape.logical_shape();
    if f != bias.len() {
        return Err(layout_err(
            layer,
            shape,
            "bias length differs from the features",
        ));
    }
    let mut along = vec![1; logical.len()];
    let axis = if form == Form::Rows { 1 } else { 0 };
    if let Some(a) = along.get_mut(axis) {
        *a = f;
    }
    if along.iter().zip(&logical).any(|(&a, &l)| a != 1 && a != l) {
        return Err(layout_err(
            layer,
            shape,
            "bias does not broadcast to the activation",
        ));
    }
    Ok((along, logical))
}

/// The bias as a logical array for an activation of `shape` (per feature, same for every
/// sample). Errors: as [`bias_axes`].
fn arrange_bias(layer: &'static str, shape: &TileShape, bias: &Array1<f64>) -> Result<ArrayD<f64>> {
    let (along, logical) = bias_axes(layer, shape, bias)?;
    // The bias along the feature axis, broadcast over the others (a strided copy, not an
    // indexed closure per element: batch-packed shapes hold hundreds of thousands of slots).
    let small = bias
        .view()
        .into_shape_with_order(IxDyn(&along))
        .map_err(|_| layout_err(layer, shape, "bias does not fit the feature axis"))?;
    let full = small
        .broadcast(IxDyn(&logical))
        .ok_or_else(|| layout_err(layer, shape, "bias does not broadcast to the activation"))?;
    Ok(full.to_owned())
}

/// The plan that turns the garbage form into the columns form (identity otherwise).
pub(crate) fn to_columns_plan(layer: &'static str, shape: &TileShape) -> Result<OpPlan> {
    match classify(layer, shape)?.0 {
        Form::Garbage => {
            let clear = plan::clear_garbage(shape)?;
            let rep = plan::replicate(&clear.output, 1)?;
            Ok(clear.then(rep))
        }
        _ => Ok(OpPlan::free(shape.clone())),
    }
}

/// Turns the garbage form into the columns form (follows [`to_columns_plan`]); any other form
/// is borrowed as it is.
pub(crate) fn to_columns<'a, B: Backend>(
    layer: &'static str,
    ev: &B::Evaluator,
    x: &'a TileTensor<B>,
) -> Result<Cow<'a, TileTensor<B>>> {
    match classify(layer, x.shape())?.0 {
        Form::Garbage => Ok(Cow::Owned(x.clear_garbage(ev)?.replicate(ev, 1)?)),
        _ => Ok(Cow::Borrowed(x)),
    }
}

/// The plan of [`apply_linear`] for an `out`-row matrix (with a bias when `bias`).
pub(crate) fn linear_plan(
    layer: &'static str,
    shape: &TileShape,
    out: usize,
    bias: bool,
) -> Result<OpPlan> {
    if classify(layer, shape)?.0 == Form::Patches {
        return Err(layout_err(
            layer,
            shape,
            "patches only feed a first convolution",
        ));
    }
    let pre = if out == 1 {
        OpPlan::free(shape.clone())
    } else {
        to_columns_plan(layer, shape)?
    };
    let (w, dim) = weight_shape(layer, &pre.output, out)?;
    let mm = plan::mul_sum(&pre.output, &w, Operand::Plaintext, dim)?;
    let mut p = pre.then(mm);
    if bias {
        let b = plan::binary(&p.output, &p.output, BinaryOp::Add, Operand::Plaintext)?;
        p = p.then(b);
    }
    Ok(p)
}

/// `y = M x + bias` on a packed activation (rows, columns or garbage form): the garbage form
/// is first turned into columns, then one multiply-then-sum with the arranged matrix (scale
/// unchanged, one level), then the bias is added at the result's level and scale.
/// Cost: [`linear_plan`]. Errors: layout, tile and backend errors.
pub(crate) fn apply_linear<B: Backend>(
    layer: &'static str,
    ev: &B::Evaluator,
    x: &TileTensor<B>,
    m: &Array2<f64>,
    bias: Option<&Array1<f64>>,
    cache: Option<&WeightCache>,
) -> Result<TileTensor<B>> {
    let (form, f) = classify(layer, x.shape())?;
    if form == Form::Patches {
        return Err(layout_err(
            layer,
            x.shape(),
            "patches only feed a first convolution",
        ));
    }
    if m.ncols() != f {
        return Err(layout_err(
            layer,
            x.shape(),
            "matrix columns differ from the features",
        ));
    }
    let x = if m.nrows() == 1 {
        Cow::Borrowed(x)
    } else {
        to_columns(layer, ev, x)?
    };
    let (form, _) = classify(layer, x.shape())?;
    let (wshape, dim) = weight_shape(layer, x.shape(), m.nrows())?;
    let level = x.level();
    let encode = || -> Result<PlainTileTensor<B>> {
        // a metadata-only backend ignores values: the weights are not arranged
        let arr = (!B::METADATA_ONLY).then(|| arrange_weights(form, m));
        Ok(PlainTileTensor::encode_for_mul_opt(
            ev,
            arr.as_ref(),
            wshape.clone(),
            level,
        )?)
    };
    let w = match cache {
        Some(c) => c.get_or_encode::<B>(ev, Role::Weights, &wshape, level, x.scale(), encode)?,
        None => std::sync::Arc::new(encode()?),
    };
    let y = x.mul_sum_plain(ev, &w, dim)?;
    add_bias_cached(layer, ev, y, bias, cache)
}

/// Adds a per-feature bias at the activation's level and scale.
pub(crate) fn add_bias<B: Backend>(
    layer: &'static str,
    ev: &B::Evaluator,
    y: TileTensor<B>,
    bias: Option<&Array1<f64>>,
) -> Result<TileTensor<B>> {
    add_bias_cached(layer, ev, y, bias, None)
}

/// [`add_bias`] taking the encoded bias from `cache` when one is given.
fn add_bias_cached<B: Backend>(
    layer: &'static str,
    ev: &B::Evaluator,
    y: TileTensor<B>,
    bias: Option<&Array1<f64>>,
    cache: Option<&WeightCache>,
) -> Result<TileTensor<B>> {
    let Some(b) = bias else { return Ok(y) };
    let (shape, level, scale) = (y.shape().clone(), y.level(), y.scale());
    let encode = || -> Result<PlainTileTensor<B>> {
        // a metadata-only backend ignores values: the bias is checked, not arranged
        let arr = if B::METADATA_ONLY {
            bias_axes(layer, &shape, b)?;
            None
        } else {
            Some(arrange_bias(layer, &shape, b)?)
        };
        Ok(PlainTileTensor::encode_for_add_opt(
            ev,
            arr.as_ref(),
            shape.clone(),
            level,
            scale,
        )?)
    };
    let p = match cache {
        Some(c) => c.get_or_encode::<B>(ev, Role::Bias, &shape, level, scale, encode)?,
        None => std::sync::Arc::new(encode()?),
    };
    Ok(y.add_plain_owned(ev, &p)?)
}

/// The features of a decrypted activation as `[B, F]` (from logical `[1, F, B]` or `[F, 1, B]`).
/// Errors: [`LayerError::Layout`] for the patches form.
pub(crate) fn unpack_features(shape: &TileShape, a: &ArrayD<f64>) -> Result<Array2<f64>> {
    let (form, f) = classify("output", shape)?;
    let b = batch_of(shape);
    match form {
        Form::Rows => Ok(Array2::from_shape_fn((b, f), |(s, i)| a[[0, i, s]])),
        Form::Columns | Form::Garbage => Ok(Array2::from_shape_fn((b, f), |(s, i)| a[[i, 0, s]])),
        Form::Patches => Err(layout_err("output", shape, "patches are not an output")),
        Form::Interleaved => Err(layout_err(
            "output",
            shape,
            "the interleaved form is unpacked with its valid window",
        )),
    }
}

/// The weights of a matrix for the patches path: `[K, F, 1]` with entry `w(k, f)` (`None`
/// only for a metadata-only backend, which ignores values).
pub(crate) fn encode_patch_weights<B: Backend>(
    ev: &B::Evaluator,
    x: &TileTensor<B>,
    arr: Option<&ArrayD<f64>>,
) -> Result<PlainTileTensor<B>> {
    let [t0, t1, t2] = tile_of(x.shape());
    let d = x.shape().dims();
    let shape = TileShape::new(vec![
        TileDim::new(d[0].size(), t0),
        TileDim::new(d[1].size(), t1),
        TileDim::replicated(t2),
    ])?;
    Ok(PlainTileTensor::encode_for_mul_opt(
        ev,
        arr,
        shape,
        x.level(),
    )?)
}

/// The plan of the patches product ([`encode_patch_weights`] then a sum over dimension 0) and
/// the bias.
pub(crate) fn patches_plan(shape: &TileShape) -> Result<OpPlan> {
    let [t0, t1, t2] = tile_of(shape);
    let d = shape.dims();
    let w = TileShape::new(vec![
        TileDim::new(d[0].size(), t0),
        TileDim::new(d[1].size(), t1),
        TileDim::replicated(t2),
    ])?;
    let mm = plan::mul_sum(shape, &w, Operand::Plaintext, 0)?;
    let b = plan::binary(&mm.output, &mm.output, BinaryOp::Add, Operand::Plaintext)?;
    Ok(mm.then(b))
}

/// The plan moving a rows-form activation `[*/t0, F/t1, B/t2]` into the columns form
/// `[F/t0, */t1, B/t2]`: a transposing re-tile (one level) then a replication of dimension 1.
pub(crate) fn rows_to_columns_plan(shape: &TileShape) -> Result<(OpPlan, TileShape)> {
    let [t0, t1, t2] = tile_of(shape);
    let (_, f) = classify("add", shape)?;
    let to = TileShape::new(vec![
        TileDim::new(f, t0),
        TileDim::new(1, t1),
        TileDim::new(batch_of(shape), t2),
    ])?;
    let p = plan::transpose_retile(shape, &[1, 0, 2], &to)?;
    let rep = plan::replicate(&p.output, 1)?;
    Ok((p.then(rep), to))
}

/// The plans that bring the two operands of a residual add to compatible forms: a rows-form
/// operand added to a columns- or garbage-form one is moved to the columns form.
pub(crate) fn unify_plans(a: &TileShape, b: &TileShape) -> Result<(OpPlan, OpPlan)> {
    let (fa, _) = classify("add", a)?;
    let (fb, _) = classify("add", b)?;
    let crosses = |x: Form| matches!(x, Form::Columns | Form::Garbage);
    Ok(match (fa, fb) {
        (Form::Rows, y) if crosses(y) => (rows_to_columns_plan(a)?.0, OpPlan::free(b.clone())),
        (x, Form::Rows) if crosses(x) => (OpPlan::free(a.clone()), rows_to_columns_plan(b)?.0),
        _ => (OpPlan::free(a.clone()), OpPlan::free(b.clone())),
    })
}

/// Applies [`unify_plans`]'s conversion to one operand when its plan is not free.
pub(crate) fn unify_one<B: Backend>(
    ev: &B::Evaluator,
    x: &TileTensor<B>,
    p: &OpPlan,
) -> Result<TileTensor<B>> {
    if p.output == *x.shape() {
        return Ok(x.clone());
    }
    let (_, to) = rows_to_columns_plan(x.shape())?;
    Ok(x.transpose_retile(ev, &[1, 0, 2], &to)?.replicate(ev, 1)?)
}
