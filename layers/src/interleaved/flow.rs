//! Which values of a model are in the interleaved form, given its convolution strategies, and
//! the checks that the strategies fit the model.

use crate::error::{LayerError, Result};
use crate::form::ConvStrategy;
use crate::layers::Conv2d;
use crate::model::Node;

/// The strategy node `node` (a convolution) runs with: the explicit one, else image-to-column
/// for the first node and unrolled elsewhere.
pub(crate) fn resolved(node: usize, conv: &Conv2d) -> ConvStrategy {
    conv.strategy().unwrap_or(if node == 0 {
        ConvStrategy::Im2col
    } else {
        ConvStrategy::Unrolled
    })
}

fn refuse(node: usize, strategy: ConvStrategy, reason: &str) -> LayerError {
    LayerError::ConvStrategy {
        node,
        strategy: strategy.name(),
        reason: reason.into(),
    }
}

/// For each value (0 = the model input, `i + 1` = the output of node `i`): whether it is in
/// the interleaved form. Errors: [`LayerError::ConvStrategy`] naming the first node whose
/// strategy does not fit: image-to-column on a non-first node; interleaved on an input that is
/// not interleaved (the first node must be an interleaved convolution, and only activations,
/// average pools, flattens, residual adds and interleaved convolutions may lie between); a
/// reshape (other than a flatten) or a mixed residual add of interleaved values. (Layout
/// limits that depend on the packing, such as a stride that does not divide the tile grid or
/// a padded window larger than the layout, are checked by the plan.)
pub(crate) fn interleaved_values(nodes: &[Node], dims: &[Vec<usize>]) -> Result<Vec<bool>> {
    let first = matches!(nodes.first(), Some(Node::Conv2d(c)) if resolved(0, c) == ConvStrategy::Interleaved);
    let mut inter = vec![first];
    for (i, node) in nodes.iter().enumerate() {
        let cur = inter[i];
        let out = match node {
            Node::Conv2d(c) => match resolved(i, c) {
                ConvStrategy::Im2col if i != 0 => {
                    return Err(refuse(
                        i,
                        ConvStrategy::Im2col,
                        "image-to-column reads client-packed patches: first node only (use \
                         unrolled or interleaved)",
                    ))
                }
                ConvStrategy::Im2col | ConvStrategy::Unrolled => false,
                ConvStrategy::Interleaved => {
                    if !cur {
                        return Err(refuse(
                            i,
                            ConvStrategy::Interleaved,
                            "its input is not interleaved: the first node must be an \
                             interleaved convolution, and only activations, average pools, \
                             flattens, residual adds and interleaved convolutions may lie \
                             between (use unrolled)",
                        ));
                    }
                    true
                }
            },
            Node::Dense(_) => false,
            Node::Reshape(_) if cur && dims.get(i + 1).is_some_and(|d| d.len() != 1) => {
                return Err(refuse(
                    i,
                    ConvStrategy::Interleaved,
                    "a reshape of interleaved images other than a flatten: use the unrolled \
                     strategy for the convolutions before it",
                ))
            }
            Node::Add { from } => {
                let other = inter.get(*from).copied().unwrap_or(false);
                if other != cur {
                    return Err(refuse(
                        i,
                        ConvStrategy::Interleaved,
                        "a residual add of an interleaved and a non-interleaved value",
                    ));
                }
                cur
            }
            Node::AvgPool(_) | Node::Activation(_) | Node::Flatten(_) | Node::Reshape(_) => cur,
        };
        inter.push(out);
    }
    Ok(inter)
}

/// The nodes with new convolution strategies, checked: all convolutions in node order
/// (`node` `None`), or the one at `node` (`strategies` holds one).
/// Errors: [`LayerError::InvalidParameter`] for a wrong count or a node that is not a
/// convolution; those of [`interleaved_values`].
pub(crate) fn assign(
    nodes: &[Node],
    dims: &[Vec<usize>],
    node: Option<usize>,
    strategies: &[ConvStrategy],
) -> Result<Vec<Node>> {
    let bad = |reason: String| LayerError::InvalidParameter {
        layer: "conv strategies",
        reason,
    };
    let mut out = nodes.to_vec();
    match node {
        None => {
            let convs = nodes
                .iter()
                .filter(|n| matches!(n, Node::Conv2d(_)))
                .count();
            if strategies.len() != convs {
                return Err(bad(format!(
                    "{} strategies for {convs} convolutions",
                    strategies.len()
                )));
            }
            let mut it = strategies.iter();
            for n in out.iter_mut() {
                if let Node::Conv2d(c) = n {
                    c.set_strategy(it.next().copied());
                }
            }
        }
        Some(i) => match (out.get_mut(i), strategies) {
            (Some(Node::Conv2d(c)), [s]) => c.set_strategy(Some(*s)),
            _ => return Err(bad(format!("node {i} is not a convolution"))),
        },
    }
    interleaved_values(&out, dims)?;
    Ok(out)
}

/// A layout error of the convolution at node `i` as a [`LayerError::ConvStrategy`] naming the
/// node and its strategy; any other error is given back unchanged (`Err`).
pub(crate) fn strategy_err(
    i: usize,
    node: &Node,
    e: LayerError,
) -> std::result::Result<LayerError, LayerError> {
    match (node, e) {
        (Node::Conv2d(c), LayerError::Layout { shape, reason, .. }) => {
            Ok(LayerError::ConvStrategy {
                node: i,
                strategy: resolved(i, c).name(),
                reason: format!("{reason} (input {shape})"),
            })
        }
        (_, e) => Err(e),
    }
}

/// The valid `[C, H, W]` window of value `value` when it is interleaved: the per-sample shape
/// of the value that produced its layout (going back over activations, flattens, reshapes and
/// residual adds). Errors: [`LayerError::InvalidModel`] when that shape is not `[C, H, W]`.
pub(crate) fn window(nodes: &[Node], dims: &[Vec<usize>], value: usize) -> Result<[usize; 3]> {
    let mut j = value;
    while j > 0
        && matches!(
            nodes.get(j - 1),
            Some(Node::Activation(_) | Node::Flatten(_) | Node::Reshape(_) | Node::Add { .. })
        )
    {
        j -= 1;
    }
    match dims.get(j).map(Vec::as_slice) {
        Some(&[c, h, w]) => Ok([c, h, w]),
        other => Err(LayerError::InvalidModel {
            reason: format!(
                "value {value}: interleaved images need a [C, H, W] source, found {other:?}"
            ),
        }),
    }
}
