//! Matrix products as multiply-then-sum, in several tile layouts.
//!
//! Matrix x vector (`M` is `rows x cols`, `v` has `cols` entries), tile `[t0, t1]`:
//! - [`MatVecLayout::Rows`]: `M` as `[rows/t0, cols/t1]`, `v` as `[*/t0, cols/t1]`; the sum over
//!   the inner dimension costs `log2(t1)` rotations per output tile and leaves
//!   `[rows/t0, 1?/t1]`.
//! - [`MatVecLayout::Columns`]: `M` transposed, as `[cols/t0, rows/t1]`, `v` as
//!   `[cols/t0, */t1]`; the sum over the outer dimension leaves the replicated `[*/t0, rows/t1]`,
//!   which is exactly the vector layout of a following `Rows` product.
//!
//! Matrix x matrix (`A` is `a x b`, `B` is `b x c`), tile `[t0, t1, t2]`:
//! - [`MatMulLayout::SumMiddle`]: `A` as `[a/t0, b/t1, */t2]`, `B` as `[*/t0, b/t1, c/t2]`,
//!   result `[a/t0, 1?/t1, c/t2]`.
//! - [`MatMulLayout::SumOuter`]: `A` transposed as `[b/t0, a/t1, */t2]`, `B` as
//!   `[b/t0, */t1, c/t2]`, result `[*/t0, a/t1, c/t2]`.
//!
//! A batch is one more tile dimension: a batch of `c` vectors is the `b x c` right operand of a
//! matrix-matrix product (the batch runs along the last dimension).

use crate::cost::OpPlan;
use crate::error::{Result, TileError};
use crate::plan::{self, Operand};
use crate::shape::{TileDim, TileShape};
use crate::tensor::{PlainTileTensor, TileTensor};
use hetile_backend::{Backend, Level};
use ndarray::{Array1, Array2, ArrayD, Axis, Ix1, Ix2};

/// Tile layouts of a matrix-vector product (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatVecLayout {
    /// Matrix rows along dimension 0; sum over the inner dimension.
    Rows,
    /// Matrix transposed; sum over the outer dimension (the result is replicated).
    Columns,
}

/// The tile shapes of a matrix-vector product in one layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatVecShapes {
    /// Shape of the (arranged) matrix.
    pub matrix: TileShape,
    /// Shape of the (arranged) vector.
    pub vector: TileShape,
    /// Shape of the result.
    pub output: TileShape,
    /// The dimension summed over.
    pub sum_dim: usize,
}

fn dims(list: Vec<TileDim>) -> Result<TileShape> {
    TileShape::new(list)
}

fn wrong_array(given: &[usize], wanted: Vec<usize>, what: &str) -> TileError {
    TileError::ArrayShapeMismatch {
        array: given.to_vec(),
        logical: wanted,
        shape: what.to_string(),
    }
}

impl MatVecLayout {
    /// The shapes for a `rows x cols` matrix with tile `[t0, t1]`.
    /// Errors: those of [`TileShape::new`] (tile sizes not powers of two, zero sizes).
    pub fn shapes(self, rows: usize, cols: usize, tile: [usize; 2]) -> Result<MatVecShapes> {
        let [t0, t1] = tile;
        let (matrix, vector, sum_dim) = match self {
            MatVecLayout::Rows => (
                dims(vec![TileDim::new(rows, t0), TileDim::new(cols, t1)])?,
                dims(vec![TileDim::replicated(t0), TileDim::new(cols, t1)])?,
                1,
            ),
            MatVecLayout::Columns => (
                dims(vec![TileDim::new(cols, t0), TileDim::new(rows, t1)])?,
                dims(vec![TileDim::new(cols, t0), TileDim::replicated(t1)])?,
                0,
            ),
        };
        let output = plan::mul_sum(&vector, &matrix, Operand::Plaintext, sum_dim)?.output;
        Ok(MatVecShapes {
            matrix,
            vector,
            output,
            sum_dim,
        })
    }

    /// The matrix as the layout stores it (transposed for [`MatVecLayout::Columns`]).
    pub fn arrange_matrix(self, m: &Array2<f64>) -> ArrayD<f64> {
        match self {
            MatVecLayout::Rows => m.clone().into_dyn(),
            MatVecLayout::Columns => m.t().to_owned().into_dyn(),
        }
    }

    /// The vector as the layout stores it: `(1, n)` for `Rows`, `(n, 1)` for `Columns`.
    pub fn arrange_vector(self, v: &Array1<f64>) -> ArrayD<f64> {
        match self {
            MatVecLayout::Rows => v.clone().insert_axis(Axis(0)).into_dyn(),
            MatVecLayout::Columns => v.clone().insert_axis(Axis(1)).into_dyn(),
        }
    }

    /// The result vector from the unpacked output array (`(rows, 1)` or `(1, rows)`).
    /// Errors with [`TileError::ArrayShapeMismatch`] for another shape.
    pub fn output_vector(self, out: &ArrayD<f64>) -> Result<Array1<f64>> {
        let axis = match self {
            MatVecLayout::Rows => 1,
            MatVecLayout::Columns => 0,
        };
        let shape = out.shape().to_vec();
        if shape.len() != 2 || shape[axis] != 1 {
            return Err(wrong_array(&shape, vec![], "a (n, 1) or (1, n) result"));
        }
        out.index_axis(Axis(axis), 0)
            .to_owned()
            .into_dimensionality::<Ix1>()
            .map_err(|_| wrong_array(&shape, vec![], "a (n, 1) or (1, n) result"))
    }

    /// The exact plan of the product (shorthand for [`plan::mul_sum`] on these shapes).
    pub fn plan(self, rows: usize, cols: usize, tile: [usize; 2]) -> Result<OpPlan> {
        let s = self.shapes(rows, cols, tile)?;
        plan::mul_sum(&s.vector, &s.matrix, Operand::Plaintext, s.sum_dim)
    }
}

/// A plain matrix encoded for multiplying encrypted vectors in a chosen layout (server side).
pub struct PlainMatrix<B: Backend> {
    layout: MatVecLayout,
    shapes: MatVecShapes,
    weights: PlainTileTensor<B>,
}

impl<B: Backend> PlainMatrix<B> {
    /// Arranges and encodes `m` (`rows x cols`) for vectors at `level`, at scale `q_level` so
    /// the product keeps the vector's scale. Errors: shape errors and backend encoding errors.
    pub fn encode(
        ev: &B::Evaluator,
        m: &Array2<f64>,
        layout: MatVecLayout,
        tile: [usize; 2],
        level: Level,
    ) -> Result<Self> {
        let (rows, cols) = m.dim();
        let shapes = layout.shapes(rows, cols, tile)?;
        let weights = PlainTileTensor::encode_for_mul(
            ev,
            &layout.arrange_matrix(m),
            shapes.matrix.clone(),
            level,
        )?;
        Ok(PlainMatrix {
            layout,
            shapes,
            weights,
        })
    }

    /// The layout.
    pub fn layout(&self) -> MatVecLayout {
        self.layout
    }
    /// The shapes of matrix, vector and result.
    pub fn shapes(&self) -> &MatVecShapes {
        &self.shapes
    }
    /// The encoded weights.
    pub fn weights(&self) -> &PlainTileTensor<B> {
        &self.weights
    }

    /// Packs and encrypts a vector in the layout this matrix expects (client side).
    /// Errors: as [`TileTensor::encrypt`].
    pub fn encrypt_vector(&self, client: &B::Client, v: &Array1<f64>) -> Result<TileTensor<B>> {
        TileTensor::encrypt(
            client,
            &self.layout.arrange_vector(v),
            self.shapes.vector.clone(),
        )
    }

    /// `M v` on an encrypted vector packed in [`PlainMatrix::shapes`]`().vector` (or any
    /// broadcast-compatible shape), at the level the weights were encoded for.
    /// Cost: [`PlainMatrix::plan`]. Errors: as [`TileTensor::mul_sum_plain`].
    pub fn apply(&self, ev: &B::Evaluator, v: &TileTensor<B>) -> Result<TileTensor<B>> {
        v.mul_sum_plain(ev, &self.weights, self.shapes.sum_dim)
    }

    /// The exact plan of [`PlainMatrix::apply`].
    pub fn plan(&self) -> Result<OpPlan> {
        plan::mul_sum(
            &self.shapes.vector,
            &self.shapes.matrix,
            Operand::Plaintext,
            self.shapes.sum_dim,
        )
    }
}

/// Tile layouts of a matrix-matrix product (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatMulLayout {
    /// `(a, b, 1) x (1, b, c)`, sum over dimension 1.
    SumMiddle,
    /// `(b, a, 1) x (b, 1, c)`, sum over dimension 0 (the result is replicated).
    SumOuter,
}

/// The tile shapes of a matrix-matrix product in one layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatMulShapes {
    /// Shape of the arranged left matrix.
    pub left: TileShape,
    /// Shape of the arranged right matrix.
    pub right: TileShape,
    /// Shape of the result.
    pub output: TileShape,
    /// The dimension summed over.
    pub sum_dim: usize,
}

impl MatMulLayout {
    /// The shapes for an `a x b` times `b x c` product with tile `[t0, t1, t2]`.
    /// Errors: those of [`TileShape::new`].
    pub fn shapes(self, a: usize, b: usize, c: usize, tile: [usize; 3]) -> Result<MatMulShapes> {
        let [t0, t1, t2] = tile;
        let (left, right, sum_dim) = match self {
            MatMulLayout::SumMiddle => (
                dims(vec![
                    TileDim::new(a, t0),
                    TileDim::new(b, t1),
                    TileDim::replicated(t2),
                ])?,
                dims(vec![
                    TileDim::replicated(t0),
                    TileDim::new(b, t1),
                    TileDim::new(c, t2),
                ])?,
                1,
            ),
            MatMulLayout::SumOuter => (
                dims(vec![
                    TileDim::new(b, t0),
                    TileDim::new(a, t1),
                    TileDim::replicated(t2),
                ])?,
                dims(vec![
                    TileDim::new(b, t0),
                    TileDim::replicated(t1),
                    TileDim::new(c, t2),
                ])?,
                0,
            ),
        };
        let output = plan::mul_sum(&left, &right, Operand::Ciphertext, sum_dim)?.output;
        Ok(MatMulShapes {
            left,
            right,
            output,
            sum_dim,
        })
    }

    /// The left matrix `A` (`a x b`) as the layout stores it.
    pub fn arrange_left(self, a: &Array2<f64>) -> ArrayD<f64> {
        match self {
            MatMulLayout::SumMiddle => a.clone().insert_axis(Axis(2)).into_dyn(),
            MatMulLayout::SumOuter => a.t().to_owned().insert_axis(Axis(2)).into_dyn(),
        }
    }

    /// The right matrix `B` (`b x c`) as the layout stores it.
    pub fn arrange_right(self, b: &Array2<f64>) -> ArrayD<f64> {
        match self {
            MatMulLayout::SumMiddle => b.clone().insert_axis(Axis(0)).into_dyn(),
            MatMulLayout::SumOuter => b.clone().insert_axis(Axis(1)).into_dyn(),
        }
    }

    /// The `a x c` result from the unpacked output (`(a, 1, c)` or `(1, a, c)`).
    /// Errors with [`TileError::ArrayShapeMismatch`] for another shape.
    pub fn output_matrix(self, out: &ArrayD<f64>) -> Result<Array2<f64>> {
        let axis = match self {
            MatMulLayout::SumMiddle => 1,
            MatMulLayout::SumOuter => 0,
        };
        let shape = out.shape().to_vec();
        if shape.len() != 3 || shape[axis] != 1 {
            return Err(wrong_array(
                &shape,
                vec![],
                "a 3-d result with a unit summed axis",
            ));
        }
        out.index_axis(Axis(axis), 0)
            .to_owned()
            .into_dimensionality::<Ix2>()
            .map_err(|_| wrong_array(&shape, vec![], "a 3-d result with a unit summed axis"))
    }

    /// The exact plan of the product for a plaintext or ciphertext right operand.
    pub fn plan(
        self,
        a: usize,
        b: usize,
        c: usize,
        tile: [usize; 3],
        operand: Operand,
    ) -> Result<OpPlan> {
        let s = self.shapes(a, b, c, tile)?;
        plan::mul_sum(&s.left, &s.right, operand, s.sum_dim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matvec_shapes_and_costs() {
        let s = MatVecLayout::Rows.shapes(64, 784, [8, 1024]).unwrap();
        assert_eq!(s.matrix.to_string(), "[64/8, 784/1024]");
        assert_eq!(s.vector.to_string(), "[*/8, 784/1024]");
        assert_eq!(s.output.to_string(), "[64/8, 1?/1024]");
        let p = MatVecLayout::Rows.plan(64, 784, [8, 1024]).unwrap();
        assert_eq!(p.cost.pt_mults, 8);
        assert_eq!(p.cost.rotations, 80);
        assert_eq!(p.cost.rescales, 8);
        let p = MatVecLayout::Rows.plan(64, 784, [64, 128]).unwrap();
        assert_eq!(p.cost.pt_mults, 7);
        assert_eq!(p.cost.rotations, 7);
        assert_eq!(p.cost.additions, 6 + 7);
        assert_eq!(p.cost.rescales, 1);
        let s = MatVecLayout::Columns.shapes(64, 784, [128, 64]).unwrap();
        assert_eq!(s.output.to_string(), "[*/128, 64/64]");
        let p = MatVecLayout::Columns.plan(64, 784, [128, 64]).unwrap();
        assert_eq!(p.cost.pt_mults, 7);
        assert_eq!(p.cost.rotations, 7);
        assert_eq!(p.cost.depth, 1);
    }

    #[test]
    fn matmul_shapes() {
        let s = MatMulLayout::SumMiddle.shapes(3, 5, 2, [4, 8, 2]).unwrap();
        assert_eq!(s.output.to_string(), "[3/4, 1?/8, 2/2]");
        let s = MatMulLayout::SumOuter.shapes(3, 5, 2, [8, 4, 2]).unwrap();
        assert_eq!(s.output.to_string(), "[*/8, 3/4, 2/2]");
        let a = Array2::from_shape_fn((3, 5), |(i, j)| (i * 5 + j) as f64);
        assert_eq!(MatMulLayout::SumOuter.arrange_left(&a).shape(), &[5, 3, 1]);
        assert_eq!(
            MatMulLayout::SumMiddle.arrange_right(&a).shape(),
            &[1, 3, 5]
        );
        let out = ArrayD::zeros(ndarray::IxDyn(&[1, 3, 2]));
        assert_eq!(
            MatMulLayout::SumOuter.output_matrix(&out).unwrap().dim(),
            (3, 2)
        );
        assert!(MatMulLayout::SumMiddle.output_matrix(&out).is_err());
    }
}
