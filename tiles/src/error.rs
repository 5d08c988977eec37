//! The one error type of the tile-tensor crate.

use thiserror::Error;

/// Every way a tile-tensor operation can fail. Variants carry the values that broke the rule.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum TileError {
    /// A tile shape string could not be parsed.
    #[error("cannot parse tile shape {input:?}: {reason}")]
    Parse {
        /// The text given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A tile shape has no dimensions.
    #[error("a tile shape needs at least one dimension")]
    EmptyShape,
    /// A tile dimension is not a power of two.
    #[error("tile dimension {dim} is {tile}, which is not a power of two")]
    TileNotPowerOfTwo {
        /// The dimension.
        dim: usize,
        /// The tile size given.
        tile: usize,
    },
    /// A logical dimension has size zero.
    #[error("dimension {dim} has logical size 0")]
    ZeroSize {
        /// The dimension.
        dim: usize,
    },
    /// A dimension combines flags that cannot go together (a replicated dimension is never
    /// interleaved nor garbage-padded).
    #[error("dimension {dim}: {reason}")]
    InvalidFlags {
        /// The dimension.
        dim: usize,
        /// Which flags clash.
        reason: String,
    },
    /// The product of the tile dimensions is not the slot count of the ciphertexts.
    #[error("tile shape {shape} holds {product} slots per tile, but the backend has {slots}")]
    SlotMismatch {
        /// The tile shape, printed.
        shape: String,
        /// Product of the tile dimensions.
        product: usize,
        /// Slots per ciphertext.
        slots: usize,
    },
    /// The tile sizes, logical sizes or tile counts multiply past `usize`.
    #[error("the tile shape is too large (a product of its dimensions overflows)")]
    Overflow,
    /// An array's shape differs from the logical shape of the tile shape it is packed into.
    #[error("array shape {array:?} differs from the logical shape {logical:?} of {shape}")]
    ArrayShapeMismatch {
        /// The array's shape.
        array: Vec<usize>,
        /// The tile shape's logical shape.
        logical: Vec<usize>,
        /// The tile shape, printed.
        shape: String,
    },
    /// A dimension index is out of range.
    #[error("dimension {dim} is out of range for a rank-{rank} tile shape")]
    DimOutOfRange {
        /// The dimension asked for.
        dim: usize,
        /// The rank of the shape.
        rank: usize,
    },
    /// Two tile shapes cannot be combined by an elementwise operation.
    #[error("tile shapes {left} and {right} are incompatible at dimension {dim}: {reason}")]
    IncompatibleShapes {
        /// Left shape, printed.
        left: String,
        /// Right shape, printed.
        right: String,
        /// The first dimension that differs.
        dim: usize,
        /// Why.
        reason: String,
    },
    /// The operation needs zeros in the unused slots of a dimension that holds garbage.
    #[error("dimension {dim} of {shape} holds garbage; clear it first (clear_garbage)")]
    GarbageOnDim {
        /// The dimension.
        dim: usize,
        /// The tile shape, printed.
        shape: String,
    },
    /// Replication needs a dimension of logical size 1 that is not yet replicated.
    #[error("dimension {dim} of {shape} cannot be replicated: {reason}")]
    NotReplicable {
        /// The dimension.
        dim: usize,
        /// The tile shape, printed.
        shape: String,
        /// Why.
        reason: String,
    },
    /// A reshape or transpose would move data between slots; use `retile` instead.
    #[error("{from} -> {to} needs data movement ({reason}); use retile")]
    NeedsRetiling {
        /// Source shape, printed.
        from: String,
        /// Target shape, printed.
        to: String,
        /// Why the layouts differ.
        reason: String,
    },
    /// A permutation given to transpose is not a permutation of the dimensions.
    #[error("{perm:?} is not a permutation of 0..{rank}")]
    InvalidPermutation {
        /// The permutation given.
        perm: Vec<usize>,
        /// The rank of the shape.
        rank: usize,
    },
    /// The number of ciphertexts or plaintexts does not match the tile shape.
    #[error("tile shape {shape} needs {expected} tiles, {given} were given")]
    TileCountMismatch {
        /// The tile shape, printed.
        shape: String,
        /// Tiles the shape needs.
        expected: usize,
        /// Tiles given.
        given: usize,
    },
    /// The tiles of one tensor are not all at the same level and scale.
    #[error("tile {index} is at level {level} with scale 2^{scale_log2:.4}, unlike tile 0")]
    InconsistentTiles {
        /// The first tile that differs from tile 0.
        index: usize,
        /// Its level.
        level: usize,
        /// log2 of its scale.
        scale_log2: f64,
    },
    /// An error of the backend.
    #[error(transparent)]
    Backend(#[from] hetile_backend::Error),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, TileError>;
