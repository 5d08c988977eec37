//! The deterministic stratified 80/20 split shared with the Python training script
//! (`tutorials/training/common.py`, `stratified_split`): within each class, rows are ordered by
//! `(splitmix64(row ^ SPLIT_SEED), row)` and the first `n_class / 5` (integer division) form the
//! test split.

/// The seed of the split rule.
pub const SPLIT_SEED: u64 = 20_151_207;

/// The splitmix64 finalizer (Steele, Lea and Flood 2014), wrapping arithmetic.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The test rows of each class, in the rule's (hash) order, classes ascending: entry `c` lists
/// the rows (indices into `labels`) of class `c` that belong to the test split. `labels` are
/// class indices (`0..classes`); rows whose label is `>= classes` are ignored.
pub fn test_rows_by_class(labels: &[usize], classes: usize) -> Vec<Vec<usize>> {
    (0..classes)
        .map(|c| {
            let mut rows: Vec<(u64, usize)> = labels
                .iter()
                .enumerate()
                .filter(|(_, &l)| l == c)
                .map(|(i, _)| (splitmix64(i as u64 ^ SPLIT_SEED), i))
                .collect();
            rows.sort_unstable();
            let k = rows.len() / 5;
            rows.into_iter().take(k).map(|(_, i)| i).collect()
        })
        .collect()
}

/// The sorted test rows (all classes) of the split rule.
pub fn test_rows(labels: &[usize], classes: usize) -> Vec<usize> {
    let mut all: Vec<usize> = test_rows_by_class(labels, classes)
        .into_iter()
        .flatten()
        .collect();
    all.sort_unstable();
    all
}
