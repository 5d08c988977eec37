//! hetile-conformance: the test suite every backend must pass.
