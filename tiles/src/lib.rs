//! hetile-tiles: tile tensors, the packing abstraction (issue 6).
