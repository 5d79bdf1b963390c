//! Paths of the guest programs in `tests/programs`, built for wasm32-wasip1 by
//! this crate's build script.

include!(concat!(env!("OUT_DIR"), "/programs.rs"));
