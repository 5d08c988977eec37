//! A matrix (dense layer, unrolled convolution, pooling matrix) reading the interleaved form.
//!
//! With `R = th tw` slot rows of `tb` samples per tile and the outputs in groups of `G`
//! (a power of two up to `R`): every input tile is rotated by `1 .. G - 1` rows (hoisted, and
//! shared by all groups); per group, the products of the rotated tiles with "diagonal" weights
//! `D_g` (row `rho = j G + v` of `D_g` holds the weight of output `v` of the group for the pixel
//! in input row `(rho + g) mod R`) are added, rescaled once, and rotate-and-summed over the
//! high row bits (steps `tb G 2^k`). Row `j G + v` then holds output `v` of the group for every
//! `j`: the replicated rows form `[*/(R/G), F/G, B/tb]` the dense chain reads. `G` is chosen to
//! minimise the rotations, `(G - 1)` per input tile plus `log2(R/G)` per group.

use super::layout::{layout_err, Grid};
use crate::error::Result;
use hetile_backend::{Backend, Evaluator, Meta};
use hetile_tiles::{prime_scale, OpCost, OpPlan, TileDim, TileShape, TileTensor};
use ndarray::{Array1, Array2};
use rayon::prelude::*;

/// The group size `G` for `rows` outputs: the power of two up to `th tw` with the fewest
/// rotations (ties: the larger).
fn group(g: &Grid, rows: usize) -> usize {
    let inputs = g.c * g.eh * g.ew;
    let r = g.rows();
    (0..=r.trailing_zeros())
        .map(|k| 1usize << k)
        .min_by_key(|&gs| {
            let rot = (gs - 1) * inputs + rows.div_ceil(gs) * (r / gs).trailing_zeros() as usize;
            (rot, std::cmp::Reverse(gs))
        })
        .unwrap_or(1)
}

/// The output shape `[*/(R/G), rows/G, B/tb]` (batch padding holds garbage when the input's
/// does or a bias is added).
fn output_shape(g: &Grid, rows: usize, gs: usize, bias: bool) -> Result<TileShape> {
    let b = TileDim::new(g.batch, g.tb);
    let b = if (bias || g.batch_garbage) && b.has_padding() {
        b.with_garbage()
    } else {
        b
    };
    Ok(TileShape::new(vec![
        TileDim::replicated(g.rows() / gs),
        TileDim::new(rows, gs),
        b,
    ])?)
}

/// The steps: the input rotations `g tb` (`0 < g < G`) and the rotate-and-sum `tb G 2^k`.
fn steps(g: &Grid, gs: usize) -> (Vec<i64>, Vec<i64>) {
    let input = (1..gs).map(|k| (k * g.tb) as i64).collect();
    let sum = (0..(g.rows() / gs).trailing_zeros())
        .map(|k| ((g.tb * gs) << k) as i64)
        .collect();
    (input, sum)
}

/// The plan of [`linear_forward`] for a `rows`-row matrix on the valid window `window`
/// (`[C, H, W]`, flattened in channel-height-width order); `T = C eh ew` input tiles per batch
/// tile: per batch tile `(G - 1) T` rotations of the inputs, then per group `G T` plaintext
/// products, their additions, one rescale, `log2(R/G)` rotate-and-adds and the bias addition;
/// depth 1. Output: the rows form `[*/(R/G), rows/G, B/tb]`.
/// Errors: [`crate::LayerError::Layout`] for a non-interleaved input or a window that does not
/// fit.
pub(crate) fn linear_plan(
    layer: &'static str,
    shape: &TileShape,
    window: [usize; 3],
    rows: usize,
    bias: bool,
) -> Result<OpPlan> {
    let g = Grid::of(layer, shape)?;
    g.check_window(layer, shape, window)?;
    let gs = group(&g, rows);
    let (input, sum) = steps(&g, gs);
    let t = g.c * g.eh * g.ew;
    let n = rows.div_ceil(gs) * g.eb;
    let mut plan = OpPlan::free(output_shape(&g, rows, gs, bias)?);
    // One pixel per tile (`th = tw = 1`): every diagonal is a constant, so the products are
    // scalar products (one linear map per batch tile), and the bias a scalar addition.
    let products = n * t * gs;
    let (pt_mults, scalar_mults) = if g.rows() == 1 {
        (0, products)
    } else {
        (products, 0)
    };
    plan.cost = OpCost {
        rotations: input.len() * t * g.eb + n * sum.len(),
        pt_mults,
        scalar_mults,
        additions: n * (t * gs - 1 + sum.len() + usize::from(bias)),
        rescales: n,
        depth: 1,
        ..OpCost::ZERO
    };
    plan.rotation_steps = input.into_iter().chain(sum).collect();
    Ok(plan)
}

/// The diagonal weights `D_shift` of group `gi` for input tile `(c, r, s)`: row
/// `rho = j G + v` holds `m[o, (c H + i) W + j']` for output `o = gi G + v` and the pixel
/// `(i, j')` of input row `(rho + shift) mod R` of that tile (every batch slot), zero outside
/// the valid window and past the last output.
fn diagonal(
    g: &Grid,
    m: &Array2<f64>,
    window: [usize; 3],
    (gi, gs): (usize, usize),
    shift: usize,
    (c, r, s): (usize, usize, usize),
) -> Vec<f64> {
    let [_, h, w] = window;
    let rows = g.rows();
    let mut out = vec![0.0; rows * g.tb];
    for rho in 0..rows {
        let o = gi * gs + rho % gs;
        if o >= m.nrows() {
            continue;
        }
        let sigma = (rho + shift) % rows;
        let (i, j) = ((sigma / g.tw) * g.eh + r, (sigma % g.tw) * g.ew + s);
        if i < h && j < w {
            out[rho * g.tb..(rho + 1) * g.tb].fill(m[[o, (c * h + i) * w + j]]);
        }
    }
    out
}

/// `y = M x + bias` on the interleaved form (server side), following [`linear_plan`]; `M` has
/// `C H W` columns for the valid window `[C, H, W]`.
/// Errors: those of [`linear_plan`], a column count that differs from the window, backend
/// errors.
pub(crate) fn linear_forward<B: Backend>(
    layer: &'static str,
    ev: &B::Evaluator,
    x: &TileTensor<B>,
    window: [usize; 3],
    m: &Array2<f64>,
    bias: Option<&Array1<f64>>,
) -> Result<TileTensor<B>> {
    let g = Grid::of(layer, x.shape())?;
    g.check_window(layer, x.shape(), window)?;
    if m.ncols() != window.iter().product::<usize>() || bias.is_some_and(|b| b.len() != m.nrows()) {
        return Err(layout_err(
            layer,
            x.shape(),
            format!(
                "a {}x{} matrix does not read the window {window:?}",
                m.nrows(),
                m.ncols()
            ),
        ));
    }
    let gs = group(&g, m.nrows());
    let output = output_shape(&g, m.nrows(), gs, bias.is_some())?;
    let (input_steps, sum_steps) = steps(&g, gs);
    let (level, scale) = (x.level(), prime_scale(ev.params(), x.level())?);
    // every input tile and its rotations by 1 .. G - 1 rows (hoisted)
    let spatial: Vec<(usize, usize, usize)> = (0..g.c)
        .flat_map(|c| (0..g.eh).flat_map(move |r| (0..g.ew).map(move |s| (c, r, s))))
        .collect();
    let shifted = (0..spatial.len() * g.eb)
        .into_par_iter()
        .with_min_len(hetile_tiles::seq_min_len::<B>())
        .map(|k| {
            let (c, r, s) = spatial[k / g.eb];
            let t = g.tile(c, r, s, k % g.eb);
            let src = x
                .tiles()
                .get(t)
                .ok_or_else(|| layout_err(layer, x.shape(), format!("tile {t} out of range")))?;
            let mut all = vec![src.clone()];
            all.extend(ev.rotate_many(src, &input_steps)?);
            Ok(all)
        })
        .collect::<Result<Vec<_>>>()?;
    if g.rows() == 1 {
        let tiles = uniform_forward::<B>(ev, &g, &spatial, &shifted, window, m, bias)?;
        return Ok(TileTensor::from_tiles(output, tiles)?);
    }
    let groups = m.nrows().div_ceil(gs);
    let per_group = (0..groups)
        .into_par_iter()
        .with_min_len(hetile_tiles::seq_min_len::<B>())
        .map(|gi| {
            let mut plains = Vec::with_capacity(spatial.len() * gs);
            for &tile in &spatial {
                for shift in 0..gs {
                    // a metadata-only backend (the simulator) ignores the values
                    let v = if B::METADATA_ONLY {
                        Vec::new()
                    } else {
                        diagonal(&g, m, window, (gi, gs), shift, tile)
                    };
                    plains.push(ev.encode(&v, level, scale)?);
                }
            }
            let bias_pt = match bias {
                Some(b) => {
                    let mut v = vec![0.0; g.rows() * g.tb];
                    for (rho, chunk) in v.chunks_mut(g.tb).enumerate() {
                        let o = gi * gs + rho % gs;
                        chunk.fill(if o < b.len() { b[o] } else { 0.0 });
                    }
                    Some(v)
                }
                None => None,
            };
            let plain_refs: Vec<&B::Plaintext> = plains.iter().collect();
            let mut out = Vec::with_capacity(g.eb);
            for bt in 0..g.eb {
                let srcs: Vec<&B::Ciphertext> = (0..plains.len())
                    .map(|k| &shifted[(k / gs) * g.eb + bt][k % gs])
                    .collect();
                let mut y = ev.mul_plain_sum(&srcs, &plain_refs)?;
                ev.rescale_assign(&mut y)?;
                for &step in &sum_steps {
                    let rotated = ev.rotate(&y, step)?;
                    ev.add_assign(&mut y, &rotated)?;
                }
                if let Some(v) = &bias_pt {
                    let pt = ev.encode(v, y.level(), y.scale())?;
                    ev.add_plain_assign(&mut y, &pt)?;
                }
                out.push(y);
            }
            Ok(out)
        })
        .collect::<Result<Vec<_>>>()?;
    let tiles = per_group.into_iter().flatten().collect();
    Ok(TileTensor::from_tiles(output, tiles)?)
}

/// [`linear_forward`] with one pixel per tile (`th = tw = 1`, so `G = 1` and no rotation):
/// output `o` of batch tile `bt` is the linear combination of the input tiles of `bt` with the
/// weights `m[o, pixel]` (zero for a tile outside the valid window), all outputs of a batch
/// tile made by one [`Evaluator::linear_maps`] call (each input read once), rescaled, plus the
/// bias as a scalar. Tiles in the order of the general path (output-major, then batch tile).
fn uniform_forward<B: Backend>(
    ev: &B::Evaluator,
    g: &Grid,
    spatial: &[(usize, usize, usize)],
    shifted: &[Vec<B::Ciphertext>],
    window: [usize; 3],
    m: &Array2<f64>,
    bias: Option<&Array1<f64>>,
) -> Result<Vec<B::Ciphertext>> {
    let [_, h, w] = window;
    let rows: Vec<Vec<(usize, f64)>> = (0..m.nrows())
        .map(|o| {
            spatial
                .iter()
                .enumerate()
                .map(|(k, &(c, r, s))| {
                    let v = if r < h && s < w {
                        m[[o, (c * h + r) * w + s]]
                    } else {
                        0.0
                    };
                    (k, v)
                })
                .collect()
        })
        .collect();
    let per_batch = (0..g.eb)
        .into_par_iter()
        .with_min_len(hetile_tiles::seq_min_len::<B>())
        .map(|bt| {
            let inputs: Vec<&B::Ciphertext> = (0..spatial.len())
                .map(|k| &shifted[k * g.eb + bt][0])
                .collect();
            let mut ys = ev.linear_maps(&inputs, &rows)?;
            for (o, y) in ys.iter_mut().enumerate() {
                ev.rescale_assign(y)?;
                if let Some(b) = bias {
                    ev.add_scalar_assign(y, b[o])?;
                }
            }
            Ok(ys)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut tiles: Vec<Option<B::Ciphertext>> = Vec::with_capacity(m.nrows() * g.eb);
    tiles.resize_with(m.nrows() * g.eb, || None);
    for (bt, ys) in per_batch.into_iter().enumerate() {
        for (o, y) in ys.into_iter().enumerate() {
            tiles[o * g.eb + bt] = Some(y);
        }
    }
    Ok(tiles.into_iter().flatten().collect())
}
