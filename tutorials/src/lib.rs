//! hetile-tutorials: the tutorials and their data loaders (issue 11). Nothing is implemented yet.
