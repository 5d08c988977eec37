//! hetile-layers: HE-friendly layers, models and polynomial activations (issue 7).
//!
//! A [`Model`] is a graph of layers with plain weights: [`layers::Dense`],
//! [`layers::Conv2d`] (run by a [`ConvStrategy`]: image-to-column as a first layer, interleaved
//! tiles, or its unrolled matrix),
//! [`layers::AvgPool2d`], batch norm folded into the preceding linear layer, flatten/reshape
//! in ONNX channel-height-width order, residual adds, and polynomial activations (square, any
//! polynomial, least-squares Chebyshev approximations of ReLU, sigmoid, tanh and GELU on a
//! calibrated range, evaluated with baby-step giant-step at depth `ceil(log2(d + 1)) + 1`; the
//! range map `x -> t` onto `[-1, 1]` is folded into a preceding dense or convolution layer when
//! that layer feeds only the activation, and costs one more level otherwise).
//!
//! Every layer follows the [`layers::Layer`] contract: from the input tile shape alone it
//! reports the output shape, the levels it consumes, its exact operation counts and the
//! rotation steps it needs ([`hetile_tiles::OpPlan`]); its `forward` runs on any
//! [`hetile_backend::Backend`]. The model adds these up ([`ModelPlan`]): total depth, counts and
//! the exact [`hetile_backend::KeyRequirements`]. The batch is the last tile dimension
//! ([`Packing`]), so one ciphertext scores many samples. The ONNX importer (feature `onnx`,
//! `onnx::load`) maps an ONNX graph onto a model. Weights are encoded at each encrypted run,
//! at the level the activation reaches; a server answering request after request can keep the
//! dense layers' encoded weights ([`Model::cache_encoded_weights`]).
//!
//! Convolution strategies ([`Model::conv_strategies`], [`Model::with_conv_strategies`]): by
//! default a first convolution reads image-to-column patches packed by the client and later
//! ones run as their unrolled matrix. With [`ConvStrategy::Interleaved`] on the first
//! convolution the client packs its (zero-padded) images in the rank-4 interleaved form
//! `[C/1, H~/th, W~/tw, B/tb]` (the packing tile read as `[th, tw, tb]`), and interleaved
//! convolutions (any stride dividing the tile grid; a chained one pads in place at one more
//! level), activations and
//! average pools keep that form without repacking; a dense layer after a flatten (or an
//! unrolled convolution) reads it directly and returns the rows form the dense chain takes
//! (see [`interleaved`]). A strategy that does not fit the model is a
//! [`LayerError::ConvStrategy`] naming the node.
//!
//! ```
//! use hetile_backend::{Backend, Client, Params};
//! use hetile_layers::{Model, Packing};
//! use hetile_mock::MockBackend;
//! use ndarray::{Array1, Array2, Array4, ArrayD, IxDyn};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // conv 3x3 stride 1 -> square -> avg pool 2 -> flatten -> dense, on 1x6x6 images
//! let conv = Array4::from_shape_fn((2, 1, 3, 3), |(c, _, i, j)| 0.1 * (c + i) as f64 - 0.05 * j as f64);
//! let dense = Array2::from_shape_fn((3, 8), |(o, f)| 0.1 * ((o * 8 + f) % 5) as f64 - 0.2);
//! let model = Model::sequential(&[1, 6, 6])
//!     .conv2d(conv, Array1::from(vec![0.1, -0.1]), 1, 0)
//!     .square()
//!     .avg_pool(2, 2)
//!     .flatten()
//!     .dense(dense, Array1::zeros(3))
//!     .build()?;
//! assert_eq!(model.output_dims(), &[3]);
//!
//! // 8 images per ciphertext: tile [t0, t1, t2] with t2 = 8 samples
//! let packing = Packing::new([16, 128, 8])?;
//! let plan = model.plan(&packing, 8)?;
//! // conv, square, pool: one level each; the dense layer clears the pool's garbage slots
//! // (one level) before its product (one level)
//! assert_eq!(plan.depth, 5);
//!
//! let params = Params::preset("N15_L8")?; // 16384 slots, 8 levels
//! let client = <MockBackend as Backend>::Client::new(&params, &plan.keys)?;
//! let x = ArrayD::from_shape_fn(IxDyn(&[8, 1, 6, 6]), |ix| ((ix[0] + ix[2] * ix[3]) % 7) as f64 / 7.0);
//! let got = model.run_encrypted::<MockBackend>(&client, &x, &packing)?;
//! let want = model.forward_plain(&x)?;
//! assert!(got.iter().zip(want.iter()).all(|(g, w)| (g - w).abs() < 1e-6));
//!
//! // the same model with an interleaved convolution, one pixel per ciphertext (image tile
//! // [1, 1, 16384]): every filter shift selects another tile, no rotation at all; the pool
//! // stays interleaved and the dense layer reads that form directly
//! let mut model = model;
//! model.with_conv_strategies(&[hetile_layers::ConvStrategy::Interleaved])?;
//! let packing = Packing::image(1, 1, 16384)?;
//! let plan = model.plan(&packing, 8)?;
//! assert_eq!(plan.input.to_string(), "[1/1, 6~/1, 6~/1, 8/16384]");
//! assert_eq!(plan.nodes[2].plan.output.to_string(), "[2/1, 3~/1, 3~/1, 8?/16384]");
//! assert_eq!((plan.depth, plan.cost.rotations), (4, 0));
//! let client = <MockBackend as Backend>::Client::new(&params, &plan.keys)?;
//! let got = model.run_encrypted::<MockBackend>(&client, &x, &packing)?;
//! assert!(got.iter().zip(want.iter()).all(|(g, w)| (g - w).abs() < 1e-6));
//! # Ok(())
//! # }
//! ```

pub mod cache;
pub mod error;
pub mod form;
pub mod interleaved;
pub mod layers;
pub mod model;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod packed;
pub mod poly;
pub mod polyeval;
mod values;

pub use cache::WeightCache;
pub use error::{LayerError, Result};
pub use form::{ConvStrategy, Form, Packing};
pub use layers::{Activation, AvgPool2d, Conv2d, Dense, Flatten, Layer, Reshape};
pub use model::{Model, ModelBuilder, ModelPlan, Node, NodePlan};
pub use poly::{ActivationFn, ChebyshevSeries};
pub use polyeval::{evaluate_ciphertext, evaluate_tiles, poly_cost};
