//! hetile-opt: the plan optimizer (issue 9). Nothing is implemented yet.
