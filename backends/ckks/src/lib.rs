//! hetile-ckks: the native RNS-CKKS backend (Cheon-Kim-Kim-Song in full-RNS form, hybrid key
//! switching). Implementation in progress: see issue 3.
