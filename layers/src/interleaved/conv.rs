//! Convolution and average pooling on the interleaved form.

use super::layout::{layout_err, Grid};
use crate::error::Result;
use crate::layers::{AvgPool2d, Conv2d};
use hetile_backend::{Backend, Evaluator};
use hetile_tiles::{OpCost, OpPlan, TileShape, TileTensor};
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap};

/// A sliding window on the interleaved grid: kernel size and stride.
#[derive(Debug, Clone, Copy)]
struct Window {
    kernel: [usize; 2],
    stride: [usize; 2],
}

/// For output tile coordinate `r` and kernel offset `a` on an axis with `e` input tiles and
/// stride `s`: the input tile coordinate and the slot-row shift.
fn source(e: usize, s: usize, r: usize, a: usize) -> (usize, usize) {
    let k = s * r + a;
    (k % e, k / e)
}

/// The output grid `[eh / sh, ew / sw]`.
/// Errors: [`crate::LayerError::Layout`] unless the strides divide the tile counts.
fn out_grid(layer: &'static str, shape: &TileShape, g: &Grid, win: Window) -> Result<[usize; 2]> {
    let [sh, sw] = win.stride;
    if !g.eh.is_multiple_of(sh) || !g.ew.is_multiple_of(sw) {
        return Err(layout_err(
            layer,
            shape,
            format!(
                "stride {:?} must divide the interleaving grid {}x{} (choose smaller th/tw \
                 so that more tiles interleave, or the unrolled strategy)",
                win.stride, g.eh, g.ew
            ),
        ));
    }
    Ok([g.eh / sh, g.ew / sw])
}

/// The distinct `(input row tile, input column tile, step)` with a non-zero step that the
/// window reads, per channel and batch tile.
fn rotations(g: &Grid, out: [usize; 2], win: Window) -> BTreeSet<(usize, usize, usize)> {
    let mut set = BTreeSet::new();
    for r in 0..out[0] {
        for a in 0..win.kernel[0] {
            let (ri, dh) = source(g.eh, win.stride[0], r, a);
            for s in 0..out[1] {
                for b in 0..win.kernel[1] {
                    let (si, dw) = source(g.ew, win.stride[1], s, b);
                    let step = g.step(dh, dw);
                    if step != 0 {
                        set.insert((ri, si, step));
                    }
                }
            }
        }
    }
    set
}

/// The plan of a window pass: `per_tile` is the cost of one output tile.
fn window_plan(
    g: &Grid,
    out: [usize; 2],
    win: Window,
    channels_in: usize,
    output: TileShape,
    per_tile: OpCost,
) -> OpPlan {
    let rot = rotations(g, out, win);
    let n_out = output.num_tiles();
    let mut plan = OpPlan::free(output);
    plan.cost = crate::layers::times(per_tile, n_out);
    plan.cost.rotations = rot.len() * channels_in * g.eb;
    plan.cost.depth = 1;
    plan.rotation_steps = rot.iter().map(|&(_, _, s)| s as i64).collect();
    plan
}

/// The rotated input tiles a window pass reads, by (input tile index, step).
fn rotated<B: Backend>(
    ev: &B::Evaluator,
    x: &TileTensor<B>,
    g: &Grid,
    out: [usize; 2],
    win: Window,
) -> Result<HashMap<(usize, usize), B::Ciphertext>> {
    let rot = rotations(g, out, win);
    let mut jobs = Vec::new();
    for c in 0..g.c {
        for bt in 0..g.eb {
            for &(r, s, step) in &rot {
                jobs.push((g.tile(c, r, s, bt), step));
            }
        }
    }
    jobs.into_par_iter()
        .with_min_len(hetile_tiles::seq_min_len::<B>())
        .map(|(t, step)| {
            let src = tile_at(x, t)?;
            Ok(((t, step), ev.rotate(src, step as i64)?))
        })
        .collect()
}

fn tile_at<B: Backend>(x: &TileTensor<B>, t: usize) -> Result<&B::Ciphertext> {
    x.tiles()
        .get(t)
        .ok_or_else(|| layout_err("interleaved", x.shape(), format!("tile {t} out of range")))
}

/// The input tile under output tile `(r, s)`, batch tile `bt`, channel `c` and kernel offset
/// `(a, b)`, rotated as needed.
fn read<'a, B: Backend>(
    x: &'a TileTensor<B>,
    rot: &'a HashMap<(usize, usize), B::Ciphertext>,
    g: &Grid,
    win: Window,
    (c, r, s, bt): (usize, usize, usize, usize),
    a: usize,
    b: usize,
) -> Result<&'a B::Ciphertext> {
    let (ri, dh) = source(g.eh, win.stride[0], r, a);
    let (si, dw) = source(g.ew, win.stride[1], s, b);
    let t = g.tile(c, ri, si, bt);
    let step = g.step(dh, dw);
    if step == 0 {
        tile_at(x, t)
    } else {
        rot.get(&(t, step))
            .ok_or_else(|| layout_err("interleaved", x.shape(), "missing rotated tile".into()))
    }
}

/// The output tile coordinates `(c, r, s, bt)` in row-major order.
fn out_coords(c: usize, out: [usize; 2], eb: usize) -> Vec<(usize, usize, usize, usize)> {
    let mut v = Vec::with_capacity(c * out[0] * out[1] * eb);
    for ch in 0..c {
        for r in 0..out[0] {
            for s in 0..out[1] {
                for bt in 0..eb {
                    v.push((ch, r, s, bt));
                }
            }
        }
    }
    v
}

/// A tile move of the in-place padding: (output tile, input tile, right rotation), tiles as
/// `r ew + s`.
type Move = (usize, usize, usize);

/// For a chained convolution with padding `pad`: the grid and, per input tile `(r, s)`, the
/// output tile it lands on and its (right) rotation. The valid window `[C, H, W]` moves by
/// `pad` on each axis: pixel `i = q eh + r` goes to `i + ph`, i.e. tile `(r + ph) mod eh`,
/// slot row `q + (r + ph) div eh`.
/// Errors: [`crate::LayerError::Layout`] when the padded window exceeds the layout.
fn pad_setup(shape: &TileShape, window: [usize; 3], pad: [usize; 2]) -> Result<(Grid, Vec<Move>)> {
    let g = Grid::of("conv2d", shape)?;
    g.check_window("conv2d", shape, window)?;
    let [_, h, w] = window;
    if h + 2 * pad[0] > g.eh * g.th || w + 2 * pad[1] > g.ew * g.tw {
        return Err(layout_err(
            "conv2d",
            shape,
            format!(
                "the padded window {}x{} exceeds the interleaved layout {}x{}: use unrolled, \
                 or a packing with more room",
                h + 2 * pad[0],
                w + 2 * pad[1],
                g.eh * g.th,
                g.ew * g.tw
            ),
        ));
    }
    let mut moves = Vec::with_capacity(g.eh * g.ew);
    for r in 0..g.eh {
        for s in 0..g.ew {
            let (k, l) = (r + pad[0], s + pad[1]);
            let to = (k % g.eh) * g.ew + l % g.ew;
            moves.push((to, r * g.ew + s, g.step(k / g.eh, l / g.ew)));
        }
    }
    Ok((g, moves))
}

/// The plan of [`pad_forward`]: one mask product and rescale per tile (depth 1), one rotation
/// per tile that moves past a tile boundary; the result is clean, same grid.
fn pad_plan(shape: &TileShape, window: [usize; 3], pad: [usize; 2]) -> Result<OpPlan> {
    let (g, moves) = pad_setup(shape, window, pad)?;
    let output = g.shape(g.c, g.eh, g.ew, false)?;
    let n = output.num_tiles();
    let moved: BTreeSet<i64> = moves
        .iter()
        .filter(|m| m.2 != 0)
        .map(|m| -(m.2 as i64))
        .collect();
    let rotating = moves.iter().filter(|m| m.2 != 0).count() * g.c * g.eb;
    let mut plan = OpPlan::free(output);
    plan.cost = OpCost {
        pt_mults: n,
        rescales: n,
        rotations: rotating,
        depth: 1,
        ..OpCost::ZERO
    };
    plan.rotation_steps = moved;
    Ok(plan)
}

/// Zero-pads the valid window in place (server side), following [`pad_plan`]: every tile is
/// masked to its valid pixels and samples (one level), then rotated onto the tile its pixels
/// move to.
fn pad_forward<B: Backend>(
    ev: &B::Evaluator,
    x: &TileTensor<B>,
    window: [usize; 3],
    pad: [usize; 2],
) -> Result<TileTensor<B>> {
    let (g, moves) = pad_setup(x.shape(), window, pad)?;
    let output = g.shape(g.c, g.eh, g.ew, false)?;
    let [_, h, w] = window;
    let level = x.level();
    let scale = hetile_tiles::prime_scale(ev.params(), level)?;
    // the mask of input tile (r, s) and batch tile bt
    let masks = (0..g.eh * g.ew * g.eb)
        .into_par_iter()
        .with_min_len(hetile_tiles::seq_min_len::<B>())
        .map(|k| {
            let (rs, bt) = (k / g.eb, k % g.eb);
            let (r, s) = (rs / g.ew, rs % g.ew);
            if B::METADATA_ONLY {
                // the simulator ignores the values
                return Ok(ev.encode(&[], level, scale)?);
            }
            let mut v = vec![0.0; g.rows() * g.tb];
            for q in 0..g.th {
                for p in 0..g.tw {
                    if q * g.eh + r < h && p * g.ew + s < w {
                        for b in 0..g.tb {
                            if bt * g.tb + b < g.batch {
                                v[(q * g.tw + p) * g.tb + b] = 1.0;
                            }
                        }
                    }
                }
            }
            Ok(ev.encode(&v, level, scale)?)
        })
        .collect::<Result<Vec<_>>>()?;
    // output tile (c, to, bt) comes from input tile (c, from, bt)
    let mut from_of = vec![(0, 0); g.eh * g.ew];
    for &(to, from, step) in &moves {
        from_of[to] = (from, step);
    }
    let tiles = (0..g.c * g.eh * g.ew * g.eb)
        .into_par_iter()
        .with_min_len(hetile_tiles::seq_min_len::<B>())
        .map(|k| {
            let (c, to, bt) = (
                k / (g.eh * g.ew * g.eb),
                (k / g.eb) % (g.eh * g.ew),
                k % g.eb,
            );
            let (from, step) = from_of[to];
            let (r, s) = (from / g.ew, from % g.ew);
            let src = tile_at(x, g.tile(c, r, s, bt))?;
            let mut y = ev.mul_plain(src, &masks[from * g.eb + bt])?;
            ev.rescale_assign(&mut y)?;
            if step != 0 {
                y = ev.rotate(&y, -(step as i64))?;
            }
            Ok(y)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TileTensor::from_tiles(output, tiles)?)
}

/// Checks the convolution against the input layout; returns the grid and the window.
/// Errors: as [`conv_plan`]; padding must have been applied ([`pad_plan`]).
fn conv_setup(conv: &Conv2d, shape: &TileShape) -> Result<(Grid, Window, [usize; 2])> {
    let g = Grid::of("conv2d", shape)?;
    g.check_window("conv2d", shape, conv.input_dims())?;
    if conv.padding() != [0, 0] {
        return Err(layout_err(
            "conv2d",
            shape,
            "internal: padding is applied before the interleaved product".into(),
        ));
    }
    let (_, _, kh, kw) = conv.weights().dim();
    let win = Window {
        kernel: [kh, kw],
        stride: conv.stride(),
    };
    let out = out_grid("conv2d", shape, &g, win)?;
    Ok((g, win, out))
}

/// The plan of [`conv_forward`]: output `[Cout/1, (eh/s th)~/th, (ew/s tw)~/tw, B/tb]` (batch
/// padding holds garbage after the bias); per output tile `Cin kh kw` scalar products, as
/// many additions (the bias included) and one rescale; one rotation per distinct (input tile,
/// shift); depth 1. With padding (a chained convolution: a first one reads the image the
/// client padded), the valid window is first zero-padded in place: one mask product per tile
/// and one rotation per tile that crosses a tile boundary, one more level.
/// Errors: [`crate::LayerError::Layout`] for a non-interleaved input, a window that does not
/// fit (padded, the layout), or a stride that does not divide the grid.
pub(crate) fn conv_plan(conv: &Conv2d, shape: &TileShape) -> Result<OpPlan> {
    if conv.padding() != [0, 0] {
        let pre = pad_plan(shape, conv.input_dims(), conv.padding())?;
        let main = conv_plan(&conv.on_padded_input(), &pre.output)?;
        return Ok(pre.then(main));
    }
    let (g, win, out) = conv_setup(conv, shape)?;
    let (cout, cin, kh, kw) = conv.weights().dim();
    let output = g.shape(cout, out[0], out[1], true)?;
    let k = cin * kh * kw;
    let per_tile = OpCost {
        scalar_mults: k,
        additions: k,
        rescales: 1,
        ..OpCost::ZERO
    };
    Ok(window_plan(&g, out, win, cin, output, per_tile))
}

/// The convolution on the interleaved form (server side), following [`conv_plan`].
/// Errors: those of [`conv_plan`] and the backend's (missing rotation keys, level 0).
pub(crate) fn conv_forward<B: Backend>(
    conv: &Conv2d,
    ev: &B::Evaluator,
    x: &TileTensor<B>,
) -> Result<TileTensor<B>> {
    if conv.padding() != [0, 0] {
        let padded = pad_forward(ev, x, conv.input_dims(), conv.padding())?;
        return conv_forward(&conv.on_padded_input(), ev, &padded);
    }
    let (g, win, out) = conv_setup(conv, x.shape())?;
    let (cout, cin, kh, kw) = conv.weights().dim();
    let output = g.shape(cout, out[0], out[1], true)?;
    let rot = rotated(ev, x, &g, out, win)?;
    let w = conv.weights();
    // Per output position, one fused linear map over its `Cin kh kw` source tiles with one row
    // per output channel: each source tile is read once for all channels (the backend's
    // `linear_maps`), no product stored.
    let positions = out_coords(1, out, g.eb);
    let per_position = positions
        .par_iter()
        .with_min_len(hetile_tiles::seq_min_len::<B>())
        .map(|&(_, r, s, bt)| {
            let mut srcs = Vec::with_capacity(cin * kh * kw);
            for ci in 0..cin {
                for a in 0..kh {
                    for b in 0..kw {
                        srcs.push(read(x, &rot, &g, win, (ci, r, s, bt), a, b)?);
                    }
                }
            }
            if srcs.is_empty() {
                return Err(layout_err("conv2d", x.shape(), "empty kernel".into()));
            }
            let rows: Vec<Vec<(usize, f64)>> = (0..cout)
                .map(|co| {
                    let mut row = Vec::with_capacity(srcs.len());
                    for ci in 0..cin {
                        for a in 0..kh {
                            for b in 0..kw {
                                row.push((row.len(), w[[co, ci, a, b]]));
                            }
                        }
                    }
                    row
                })
                .collect();
            let mut ys = ev.linear_maps(&srcs, &rows)?;
            for (co, y) in ys.iter_mut().enumerate() {
                ev.rescale_assign(y)?;
                ev.add_scalar_assign(y, conv.bias()[co])?;
            }
            Ok(ys)
        })
        .collect::<Result<Vec<_>>>()?;
    // output tiles channel-major, as `out_coords(cout, ..)` orders them
    let mut by_position: Vec<std::vec::IntoIter<B::Ciphertext>> =
        per_position.into_iter().map(Vec::into_iter).collect();
    let mut tiles = Vec::with_capacity(cout * by_position.len());
    for _ in 0..cout {
        for it in by_position.iter_mut() {
            let y = it
                .next()
                .ok_or_else(|| layout_err("conv2d", x.shape(), "missing output".into()))?;
            tiles.push(y);
        }
    }
    Ok(TileTensor::from_tiles(output, tiles)?)
}

/// Checks the pool against the input layout; returns the grid, window and output grid.
fn pool_setup(pool: &AvgPool2d, shape: &TileShape) -> Result<(Grid, Window, [usize; 2])> {
    let g = Grid::of("avg_pool", shape)?;
    g.check_window("avg_pool", shape, pool.input_dims())?;
    let win = Window {
        kernel: [pool.kernel(); 2],
        stride: [pool.stride(); 2],
    };
    let out = out_grid("avg_pool", shape, &g, win)?;
    Ok((g, win, out))
}

/// Whether [`pool_plan`] accepts this input (the stride divides the grid).
pub(crate) fn pool_fits(pool: &AvgPool2d, shape: &TileShape) -> bool {
    pool_setup(pool, shape).is_ok()
}

/// The plan of [`pool_forward`] (a depthwise convolution with uniform weights): per output
/// tile `k^2 - 1` tile additions, one scalar product and one rescale; one rotation per distinct
/// (input tile, shift); depth 1; flags as the input's.
/// Errors: as [`conv_plan`] (no padding here).
pub(crate) fn pool_plan(pool: &AvgPool2d, shape: &TileShape) -> Result<OpPlan> {
    let (g, win, out) = pool_setup(pool, shape)?;
    let output = g.shape(g.c, out[0], out[1], g.batch_garbage)?;
    let k = pool.kernel() * pool.kernel();
    let per_tile = OpCost {
        scalar_mults: 1,
        additions: k - 1,
        rescales: 1,
        ..OpCost::ZERO
    };
    Ok(window_plan(&g, out, win, g.c, output, per_tile))
}

/// Average pooling on the interleaved form (server side), following [`pool_plan`].
/// Errors: those of [`pool_plan`] and the backend's.
pub(crate) fn pool_forward<B: Backend>(
    pool: &AvgPool2d,
    ev: &B::Evaluator,
    x: &TileTensor<B>,
) -> Result<TileTensor<B>> {
    let (g, win, out) = pool_setup(pool, x.shape())?;
    let output = g.shape(g.c, out[0], out[1], g.batch_garbage)?;
    let rot = rotated(ev, x, &g, out, win)?;
    let k = pool.kernel();
    let inv = 1.0 / (k * k) as f64;
    let tiles = out_coords(g.c, out, g.eb)
        .into_par_iter()
        .with_min_len(hetile_tiles::seq_min_len::<B>())
        .map(|(c, r, s, bt)| {
            let mut acc = read(x, &rot, &g, win, (c, r, s, bt), 0, 0)?.clone();
            for a in 0..k {
                for b in 0..k {
                    if (a, b) != (0, 0) {
                        ev.add_assign(&mut acc, read(x, &rot, &g, win, (c, r, s, bt), a, b)?)?;
                    }
                }
            }
            ev.mul_scalar_assign(&mut acc, inv)?;
            ev.rescale_assign(&mut acc)?;
            Ok(acc)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TileTensor::from_tiles(output, tiles)?)
}
