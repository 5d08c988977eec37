//! Linear layers: [`Dense`], [`Conv2d`] (image-to-column as a first layer, interleaved tiles,
//! or its unrolled matrix: a [`ConvStrategy`]) and [`AvgPool2d`] (as its pooling matrix, or a
//! depthwise interleaved convolution on the interleaved form).

use super::{check_batch, Layer};
use crate::cache::WeightCache;
use crate::error::{LayerError, Result};
use crate::form::{self, ConvStrategy, Form, Packing};
use crate::interleaved;
use hetile_backend::Backend;
use hetile_tiles::{OpPlan, TileShape, TileTensor};
use ndarray::{Array1, Array2, Array4, ArrayD, Ix2, IxDyn};

fn invalid(layer: &'static str, reason: String) -> LayerError {
    LayerError::InvalidParameter { layer, reason }
}

fn finite<'a>(layer: &'static str, values: impl IntoIterator<Item = &'a f64>) -> Result<()> {
    if values.into_iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(invalid(layer, "weights must be finite".into()))
    }
}

/// A fully connected layer `y = W x + b` with plain weights `W` (`out x in`) and bias `b`.
///
/// Encrypted, it reads the rows, columns or garbage form, or (inside a model, which knows the
/// valid window of the flattened images) the interleaved form directly.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    weights: Array2<f64>,
    bias: Array1<f64>,
    /// The valid `[C, H, W]` window of an interleaved input (set by the model).
    window: Option<[usize; 3]>,
    /// The encoded weights and bias kept between runs, when enabled.
    cache: WeightCache,
}

impl Dense {
    /// A dense layer. Errors: [`LayerError::InvalidParameter`] when the bias length differs
    /// from the rows of `weights`, a dimension is 0, or a value is not finite.
    pub fn new(weights: Array2<f64>, bias: Array1<f64>) -> Result<Dense> {
        if weights.nrows() != bias.len() || weights.is_empty() {
            return Err(invalid(
                "dense",
                format!(
                    "weights {:?} and bias {} do not fit",
                    weights.dim(),
                    bias.len()
                ),
            ));
        }
        finite("dense", weights.iter().chain(bias.iter()))?;
        Ok(Dense {
            weights,
            bias,
            window: None,
            cache: WeightCache::default(),
        })
    }
    /// The same layer reading an interleaved input whose valid window is `[C, H, W]` (flattened
    /// in channel-height-width order onto the `C H W` inputs).
    pub(crate) fn reading_window(mut self, window: [usize; 3]) -> Dense {
        self.window = Some(window);
        self
    }
    /// The memo of this layer's encoded weights and bias (off by default; see
    /// [`crate::Model::cache_encoded_weights`]).
    pub fn weight_cache(&self) -> &WeightCache {
        &self.cache
    }
    /// The weights `out x in`.
    pub fn weights(&self) -> &Array2<f64> {
        &self.weights
    }
    /// The bias.
    pub fn bias(&self) -> &Array1<f64> {
        &self.bias
    }
    /// Folds a following per-output affine map `y -> scale * y + shift` (a batch norm) into the
    /// weights and bias. Errors: [`LayerError::InvalidParameter`] for wrong lengths.
    pub fn fold_affine(&mut self, scale: &Array1<f64>, shift: &Array1<f64>) -> Result<()> {
        if scale.len() != self.bias.len() || shift.len() != self.bias.len() {
            return Err(invalid(
                "batch_norm",
                "lengths differ from the outputs".into(),
            ));
        }
        for (o, mut row) in self.weights.rows_mut().into_iter().enumerate() {
            row *= scale[o];
            self.bias[o] = self.bias[o] * scale[o] + shift[o];
        }
        Ok(())
    }
}

impl Dense {
    /// The valid window of an interleaved input. Errors: [`LayerError::Layout`] when the layer
    /// was not given one (a model gives it) or it does not match the inputs.
    fn window_for(&self, input: &TileShape) -> Result<[usize; 3]> {
        match self.window {
            Some(w) if w.iter().product::<usize>() == self.weights.ncols() => Ok(w),
            _ => Err(LayerError::Layout {
                layer: "dense",
                shape: input.to_string(),
                reason: "reading the interleaved form needs the valid [C, H, W] window of the \
                         flattened images: run the layer inside a Model"
                    .into(),
            }),
        }
    }
}

impl Layer for Dense {
    fn kind(&self) -> &'static str {
        "dense"
    }
    fn output_dims(&self, input: &[usize]) -> Result<Vec<usize>> {
        if input != [self.weights.ncols()] {
            return Err(LayerError::InvalidInput {
                layer: "dense",
                input: input.to_vec(),
                reason: format!(
                    "expected a flat vector of {} (flatten first)",
                    self.weights.ncols()
                ),
            });
        }
        Ok(vec![self.weights.nrows()])
    }
    fn forward_plain(&self, x: &ArrayD<f64>) -> Result<ArrayD<f64>> {
        check_batch(x, &[self.weights.ncols()])?;
        let x2 = x
            .view()
            .into_dimensionality::<Ix2>()
            .map_err(|_| LayerError::ArrayShape {
                given: x.shape().to_vec(),
                expected: vec![0, self.weights.ncols()],
            })?;
        let y = x2.dot(&self.weights.t()) + &self.bias;
        Ok(y.into_dyn())
    }
    fn plan(&self, input: &TileShape) -> Result<OpPlan> {
        if interleaved::is_interleaved(input) {
            let window = self.window_for(input)?;
            return interleaved::linear_plan("dense", input, window, self.weights.nrows(), true);
        }
        form::linear_plan("dense", input, self.weights.nrows(), true)
    }
    fn forward<B: Backend>(&self, ev: &B::Evaluator, x: &TileTensor<B>) -> Result<TileTensor<B>> {
        if interleaved::is_interleaved(x.shape()) {
            let window = self.window_for(x.shape())?;
            return interleaved::linear_forward(
                "dense",
                ev,
                x,
                window,
                &self.weights,
                Some(&self.bias),
            );
        }
        form::apply_linear(
            "dense",
            ev,
            x,
            &self.weights,
            Some(&self.bias),
            Some(&self.cache),
        )
    }
}

/// A 2-d convolution (ONNX `Conv`, groups 1, dilation 1): weights `[Cout, Cin, kh, kw]`, bias
/// `[Cout]`, stride and symmetric zero padding, on per-sample inputs `[Cin, H, W]`.
///
/// Encrypted, it runs by its [`ConvStrategy`]:
/// - [`ConvStrategy::Im2col`]: reads image-to-column patches packed by the client
///   ([`crate::Model::encrypt_input`]; first layer only): one multiply-then-sum over the patch
///   dimension, whose result holds the output in channel-height-width order;
/// - [`ConvStrategy::Interleaved`]: reads the interleaved form and keeps it
///   ([`crate::interleaved`]); a first layer reads the image the client padded, a chained one
///   zero-pads its valid window in place (one more level);
/// - [`ConvStrategy::Unrolled`]: its unrolled (Toeplitz) matrix through a dense product, on
///   the rows, columns, garbage or interleaved form.
///
/// Without an explicit strategy ([`Conv2d::strategy`] is `None`) the input form decides:
/// patches run image-to-column, anything else unrolled (the model's default: image-to-column
/// for a first node, unrolled elsewhere).
#[derive(Debug, Clone, PartialEq)]
pub struct Conv2d {
    weights: Array4<f64>,
    bias: Array1<f64>,
    stride: [usize; 2],
    padding: [usize; 2],
    input: [usize; 3],
    strategy: Option<ConvStrategy>,
}

impl Conv2d {
    /// A convolution on per-sample inputs `input = [Cin, H, W]`.
    ///
    /// Errors: [`LayerError::InvalidParameter`] when the weights' input channels differ from
    /// `Cin`, the bias length from `Cout`, a stride is 0, a value is not finite, or the kernel
    /// does not fit the padded input.
    pub fn new(
        weights: Array4<f64>,
        bias: Array1<f64>,
        stride: [usize; 2],
        padding: [usize; 2],
        input: [usize; 3],
    ) -> Result<Conv2d> {
        let (cout, cin, kh, kw) = weights.dim();
        if cin != input[0] || bias.len() != cout || cout == 0 || kh == 0 || kw == 0 {
            return Err(invalid(
                "conv2d",
                format!(
                    "weights {:?}, bias {} and input {input:?} do not fit",
                    weights.dim(),
                    bias.len()
                ),
            ));
        }
        if stride.contains(&0) {
            return Err(invalid("conv2d", "strides must be positive".into()));
        }
        if input[1] + 2 * padding[0] < kh || input[2] + 2 * padding[1] < kw {
            return Err(invalid(
                "conv2d",
                "the kernel is larger than the input".into(),
            ));
        }
        finite("conv2d", weights.iter().chain(bias.iter()))?;
        Ok(Conv2d {
            weights,
            bias,
            stride,
            padding,
            input,
            strategy: None,
        })
    }

    /// The strategy set explicitly (`None`: decided by the input form, see [`Conv2d`]).
    pub fn strategy(&self) -> Option<ConvStrategy> {
        self.strategy
    }
    /// Sets the strategy (`None` restores the default). Whether it fits the model is checked
    /// by the model ([`crate::Model::set_conv_strategy`]) and by [`Layer::plan`].
    pub fn set_strategy(&mut self, strategy: Option<ConvStrategy>) {
        self.strategy = strategy;
    }
    /// The same convolution with `strategy`.
    pub fn with_strategy(mut self, strategy: ConvStrategy) -> Conv2d {
        self.strategy = Some(strategy);
        self
    }
    /// The per-sample input shape `[Cin, H, W]`.
    pub fn input_dims(&self) -> [usize; 3] {
        self.input
    }
    /// The same convolution without padding on the zero-padded input `[Cin, H + 2 ph, W + 2 pw]`
    /// (what a first interleaved convolution runs on the image the client padded).
    pub(crate) fn on_padded_input(&self) -> Conv2d {
        let [c, h, w] = self.input;
        let [ph, pw] = self.padding;
        Conv2d {
            padding: [0, 0],
            input: [c, h + 2 * ph, w + 2 * pw],
            ..self.clone()
        }
    }

    /// `[Cout, OH, OW]`.
    pub fn output_shape(&self) -> [usize; 3] {
        let (cout, _, kh, kw) = self.weights.dim();
        let oh = (self.input[1] + 2 * self.padding[0] - kh) / self.stride[0] + 1;
        let ow = (self.input[2] + 2 * self.padding[1] - kw) / self.stride[1] + 1;
        [cout, oh, ow]
    }
    /// The patch length `K = Cin kh kw`.
    pub fn patch_len(&self) -> usize {
        let (_, cin, kh, kw) = self.weights.dim();
        cin * kh * kw
    }
    /// The weights.
    pub fn weights(&self) -> &Array4<f64> {
        &self.weights
    }
    /// The bias.
    pub fn bias(&self) -> &Array1<f64> {
        &self.bias
    }
    /// The strides (height, width).
    pub fn stride(&self) -> [usize; 2] {
        self.stride
    }
    /// The symmetric zero paddings (height, width).
    pub fn padding(&self) -> [usize; 2] {
        self.padding
    }

    /// The input pixel under patch element `k` (`(ci kh + i) kw + j`) at output position
    /// `(oh, ow)`, or `None` in the padding.
    fn pixel(&self, k: usize, oh: usize, ow: usize) -> Option<(usize, usize, usize)> {
        let (_, _, kh, kw) = self.weights.dim();
        let (ci, i, j) = (k / (kh * kw), (k / kw) % kh, k % kw);
        let y = (oh * self.stride[0] + i).checked_sub(self.padding[0])?;
        let x = (ow * self.stride[1] + j).checked_sub(self.padding[1])?;
        (y < self.input[1] && x < self.input[2]).then_some((ci, y, x))
    }

    /// Folds a following per-channel affine map (a batch norm) into the weights and bias.
    /// Errors: [`LayerError::InvalidParameter`] for wrong lengths.
    pub fn fold_affine(&mut self, scale: &Array1<f64>, shift: &Array1<f64>) -> Result<()> {
        if scale.len() != self.bias.len() || shift.len() != self.bias.len() {
            return Err(invalid(
                "batch_norm",
                "lengths differ from the channels".into(),
            ));
        }
        for (c, mut w) in self.weights.outer_iter_mut().enumerate() {
            w *= scale[c];
            self.bias[c] = self.bias[c] * scale[c] + shift[c];
        }
        Ok(())
    }

    /// Image-to-column packing (client side): for a batch `[B, Cin, H, W]`, the logical
    /// `[K, Cout * OH * OW, B]` array whose entry `(k, c P + p, b)` is patch element `k` of
    /// output position `p` of sample `b` (the patches are repeated for each output channel
    /// `c`, so the server's product needs no rotation to spread them).
    /// Errors: [`LayerError::ArrayShape`].
    pub fn im2col(&self, x: &ArrayD<f64>) -> Result<ArrayD<f64>> {
        let b = check_batch(x, &self.input)?;
        let [cout, oh, ow] = self.output_shape();
        let p = oh * ow;
        let k = self.patch_len();
        let mut out = ArrayD::zeros(IxDyn(&[k, cout * p, b]));
        for kk in 0..k {
            for pos in 0..p {
                if let Some((ci, y, xx)) = self.pixel(kk, pos / ow, pos % ow) {
                    for s in 0..b {
                        let v = x[[s, ci, y, xx]];
                        for c in 0..cout {
                            out[[kk, c * p + pos, s]] = v;
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// The tile shape of the patches of a batch of `batch` samples in `packing`.
    /// Errors: tile-shape errors.
    pub fn patches_shape(&self, packing: &Packing, batch: usize) -> Result<TileShape> {
        let [cout, oh, ow] = self.output_shape();
        packing.patches(self.patch_len(), cout * oh * ow, batch)
    }

    /// The weights of the patches product: `[K, Cout P, 1]` with entry `w[c, k]` at `(k, c P + p)`
    /// (`None` for a metadata-only backend, which ignores values).
    fn patch_weights<B: Backend>(&self) -> Option<ArrayD<f64>> {
        if B::METADATA_ONLY {
            return None;
        }
        let [cout, oh, ow] = self.output_shape();
        let p = oh * ow;
        let (_, _, kh, kw) = self.weights.dim();
        let dims = [self.patch_len(), cout * p, 1];
        Some(ArrayD::from_shape_fn(IxDyn(&dims), |ix| {
            let (k, c) = (ix[0], ix[1] / p);
            self.weights[[c, k / (kh * kw), (k / kw) % kh, k % kw]]
        }))
    }

    /// The bias per output feature (`Cout P`, channel-major; zeros of that length for a
    /// metadata-only backend, which ignores values).
    fn feature_bias<B: Backend>(&self) -> Array1<f64> {
        let [_, oh, ow] = self.output_shape();
        let p = oh * ow;
        if B::METADATA_ONLY {
            return Array1::zeros(self.bias.len() * p);
        }
        Array1::from_shape_fn(self.bias.len() * p, |f| self.bias[f / p])
    }

    /// The unrolled matrix `(Cout OH OW) x (Cin H W)` of the convolution.
    pub fn unrolled_matrix(&self) -> Array2<f64> {
        let [cout, oh, ow] = self.output_shape();
        let [cin, h, w] = self.input;
        let (_, _, kh, kw) = self.weights.dim();
        let p = oh * ow;
        let mut m = Array2::zeros((cout * p, cin * h * w));
        for c in 0..cout {
            for pos in 0..p {
                for k in 0..self.patch_len() {
                    if let Some((ci, y, x)) = self.pixel(k, pos / ow, pos % ow) {
                        m[[c * p + pos, (ci * h + y) * w + x]] +=
                            self.weights[[c, ci, (k / kw) % kh, k % kw]];
                    }
                }
            }
        }
        m
    }
}

impl Layer for Conv2d {
    fn kind(&self) -> &'static str {
        "conv2d"
    }
    fn output_dims(&self, input: &[usize]) -> Result<Vec<usize>> {
        if input != self.input {
            return Err(LayerError::InvalidInput {
                layer: "conv2d",
                input: input.to_vec(),
                reason: format!("built for {:?}", self.input),
            });
        }
        Ok(self.output_shape().to_vec())
    }
    fn forward_plain(&self, x: &ArrayD<f64>) -> Result<ArrayD<f64>> {
        let b = check_batch(x, &self.input)?;
        let [cout, oh, ow] = self.output_shape();
        let mut out = ArrayD::zeros(IxDyn(&[b, cout, oh, ow]));
        for s in 0..b {
            for c in 0..cout {
                for y in 0..oh {
                    for xx in 0..ow {
                        let mut acc = self.bias[c];
                        for k in 0..self.patch_len() {
                            if let Some((ci, py, px)) = self.pixel(k, y, xx) {
                                let (_, _, kh, kw) = self.weights.dim();
                                acc += self.weights[[c, ci, (k / kw) % kh, k % kw]]
                                    * x[[s, ci, py, px]];
                            }
                        }
                        out[[s, c, y, xx]] = acc;
                    }
                }
            }
        }
        Ok(out)
    }
    fn plan(&self, input: &TileShape) -> Result<OpPlan> {
        let [cout, oh, ow] = self.output_shape();
        match self.route(input)? {
            ConvStrategy::Im2col => form::patches_plan(input),
            ConvStrategy::Interleaved => interleaved::conv_plan(self, input),
            ConvStrategy::Unrolled if interleaved::is_interleaved(input) => {
                interleaved::linear_plan("conv2d", input, self.input, cout * oh * ow, true)
            }
            ConvStrategy::Unrolled => form::linear_plan("conv2d", input, cout * oh * ow, true),
        }
    }
    fn forward<B: Backend>(&self, ev: &B::Evaluator, x: &TileTensor<B>) -> Result<TileTensor<B>> {
        match self.route(x.shape())? {
            ConvStrategy::Interleaved => interleaved::conv_forward(self, ev, x),
            ConvStrategy::Unrolled if interleaved::is_interleaved(x.shape()) => {
                interleaved::linear_forward(
                    "conv2d",
                    ev,
                    x,
                    self.input,
                    &self.unrolled_matrix(),
                    Some(&self.feature_bias::<B>()),
                )
            }
            ConvStrategy::Im2col => {
                let [cout, oh, ow] = self.output_shape();
                let d = x.shape().dims();
                if d[0].size() != self.patch_len() || d[1].size() != cout * oh * ow {
                    return Err(LayerError::Layout {
                        layer: "conv2d",
                        shape: x.shape().to_string(),
                        reason: "patches of another convolution".into(),
                    });
                }
                let w = form::encode_patch_weights(ev, x, self.patch_weights::<B>().as_ref())?;
                let y = x.mul_sum_plain(ev, &w, 0)?;
                form::add_bias("conv2d", ev, y, Some(&self.feature_bias::<B>()))
            }
            ConvStrategy::Unrolled => form::apply_linear(
                "conv2d",
                ev,
                x,
                &self.unrolled_matrix(),
                Some(&self.feature_bias::<B>()),
                None,
            ),
        }
    }
}

impl Conv2d {
    /// The strategy that runs on an input of `shape`: the explicit one when it can read the
    /// form, else the form's default. Errors: [`LayerError::Layout`] when the explicit strategy
    /// cannot read the form (image-to-column without patches, interleaved without the
    /// interleaved form, patches for another strategy).
    fn route(&self, shape: &TileShape) -> Result<ConvStrategy> {
        let form = form::classify("conv2d", shape)?.0;
        let refuse = |reason: &str| LayerError::Layout {
            layer: "conv2d",
            shape: shape.to_string(),
            reason: reason.into(),
        };
        match (self.strategy, form) {
            (None | Some(ConvStrategy::Im2col), Form::Patches) => Ok(ConvStrategy::Im2col),
            (Some(_), Form::Patches) => Err(refuse(
                "image-to-column patches feed only an im2col convolution",
            )),
            (Some(ConvStrategy::Im2col), _) => Err(refuse(
                "im2col reads client-packed patches: first node only",
            )),
            (Some(ConvStrategy::Interleaved), Form::Interleaved) => Ok(ConvStrategy::Interleaved),
            (Some(ConvStrategy::Interleaved), _) => Err(refuse(
                "the interleaved strategy needs the interleaved form (use unrolled)",
            )),
            (None | Some(ConvStrategy::Unrolled), _) => Ok(ConvStrategy::Unrolled),
        }
    }
}

/// Average pooling (ONNX `AveragePool`, no padding) with a square kernel and stride, on
/// per-sample inputs `[C, H, W]`. Encrypted, it runs as its pooling matrix; on the interleaved
/// form as a depthwise interleaved convolution with uniform weights when the stride divides
/// the tile grid (the form stays interleaved), else as its matrix reading the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvgPool2d {
    kernel: usize,
    stride: usize,
    input: [usize; 3],
}

impl AvgPool2d {
    /// Average pooling. Errors: [`LayerError::InvalidParameter`] for a zero kernel or stride
    /// or a kernel larger than the input.
    pub fn new(kernel: usize, stride: usize, input: [usize; 3]) -> Result<AvgPool2d> {
        if kernel == 0 || stride == 0 || kernel > input[1] || kernel > input[2] {
            return Err(invalid(
                "avg_pool",
                format!("kernel {kernel}, stride {stride} on input {input:?}"),
            ));
        }
        Ok(AvgPool2d {
            kernel,
            stride,
            input,
        })
    }
    /// The kernel size.
    pub fn kernel(&self) -> usize {
        self.kernel
    }
    /// The stride.
    pub fn stride(&self) -> usize {
        self.stride
    }
    /// The per-sample input shape `[C, H, W]`.
    pub fn input_dims(&self) -> [usize; 3] {
        self.input
    }
    /// `[C, OH, OW]`.
    pub fn output_shape(&self) -> [usize; 3] {
        let [c, h, w] = self.input;
        [
            c,
            (h - self.kernel) / self.stride + 1,
            (w - self.kernel) / self.stride + 1,
        ]
    }
    /// The pooling matrix `(C OH OW) x (C H W)`.
    pub fn matrix(&self) -> Array2<f64> {
        let [c, oh, ow] = self.output_shape();
        let [_, h, w] = self.input;
        let area = (self.kernel * self.kernel) as f64;
        let mut m = Array2::zeros((c * oh * ow, c * h * w));
        for ch in 0..c {
            for y in 0..oh {
                for x in 0..ow {
                    for i in 0..self.kernel {
                        for j in 0..self.kernel {
                            let (py, px) = (y * self.stride + i, x * self.stride + j);
                            m[[(ch * oh + y) * ow + x, (ch * h + py) * w + px]] += 1.0 / area;
                        }
                    }
                }
            }
        }
        m
    }
}

impl Layer for AvgPool2d {
    fn kind(&self) -> &'static str {
        "avg_pool"
    }
    fn output_dims(&self, input: &[usize]) -> Result<Vec<usize>> {
        if input != self.input {
            return Err(LayerError::InvalidInput {
                layer: "avg_pool",
                input: input.to_vec(),
                reason: format!("built for {:?}", self.input),
            });
        }
        Ok(self.output_shape().to_vec())
    }
    fn forward_plain(&self, x: &ArrayD<f64>) -> Result<ArrayD<f64>> {
        let b = check_batch(x, &self.input)?;
        let [c, oh, ow] = self.output_shape();
        let area = (self.kernel * self.kernel) as f64;
        Ok(ArrayD::from_shape_fn(IxDyn(&[b, c, oh, ow]), |ix| {
            let mut acc = 0.0;
            for i in 0..self.kernel {
                for j in 0..self.kernel {
                    acc += x[[
                        ix[0],
                        ix[1],
                        ix[2] * self.stride + i,
                        ix[3] * self.stride + j,
                    ]];
                }
            }
            acc / area
        }))
    }
    fn plan(&self, input: &TileShape) -> Result<OpPlan> {
        let [c, oh, ow] = self.output_shape();
        if interleaved::is_interleaved(input) {
            return if interleaved::pool_fits(self, input) {
                interleaved::pool_plan(self, input)
            } else {
                interleaved::linear_plan("avg_pool", input, self.input, c * oh * ow, false)
            };
        }
        form::linear_plan("avg_pool", input, c * oh * ow, false)
    }
    fn forward<B: Backend>(&self, ev: &B::Evaluator, x: &TileTensor<B>) -> Result<TileTensor<B>> {
        if interleaved::is_interleaved(x.shape()) {
            return if interleaved::pool_fits(self, x.shape()) {
                interleaved::pool_forward(self, ev, x)
            } else {
                interleaved::linear_forward("avg_pool", ev, x, self.input, &self.matrix(), None)
            };
        }
        form::apply_linear("avg_pool", ev, x, &self.matrix(), None, None)
    }
}
