//! hetile-sim: the metadata-only simulator and the calibrated cost model (issue 8).
//! Nothing is implemented yet.
