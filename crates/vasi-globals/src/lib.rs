//! Live configuration for Wasm guests: named `u64` values that the host sets
//! and deletes at any time, also while the guest runs, and that the guest reads
//! through a small import module.
//!
//! # Brief overview
//!
//! - [`Globals`]: the host's handle, an `Arc` around a map and a generation
//!   counter. Clone it freely: every clone, in any thread, sees and changes the
//!   same values, and a running guest sees a change at its next read.
//! - [`GlobalValue`]: how `bool`, `u64`, `i64`, `f64` and [`Duration`] are
//!   encoded in a `u64` (the guest SDK decodes them the same way).
//! - [`abi`]: the import module (`vasi_globals_v1`) as plain functions over
//!   the guest's memory, independent of any wasm runtime.
//! - `wasmtime::add_to_linker` and `wasmi::add_to_linker` (cargo features
//!   `wasmtime` and `wasmi`): the thin bindings.
//!
//! The ABI, for guests in any language, is in `docs/globals-abi.md`; the Rust
//! guest SDK is `guest/vasi-globals-sdk`.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "wasmtime")] {
//! use vasi_globals::Globals;
//! use wasmtime::{Engine, Linker, Module, Store};
//!
//! let engine = Engine::default();
//! // A guest that returns the value of `LIMIT`, or 7 when it is not set.
//! let module = Module::new(&engine, r#"(module
//!     (import "vasi_globals_v1" "get" (func $get (param i32 i32 i32) (result i32)))
//!     (memory (export "memory") 1)
//!     (data (i32.const 0) "LIMIT")
//!     (func (export "limit") (result i64)
//!         (if (result i64) (i32.eqz (call $get (i32.const 0) (i32.const 5) (i32.const 8)))
//!             (then (i64.load (i32.const 8)))
//!             (else (i64.const 7)))))"#)?;
//! let mut linker = Linker::new(&engine);
//! vasi_globals::wasmtime::add_to_linker(&mut linker, |g: &mut Globals| g)?;
//!
//! let globals = Globals::new();
//! let mut store = Store::new(&engine, globals.clone());
//! let instance = linker.instantiate(&mut store, &module)?;
//! let limit = instance.get_typed_func::<(), i64>(&mut store, "limit")?;
//! assert_eq!(limit.call(&mut store, ())?, 7);
//! globals.set("LIMIT", 100u64)?; // any clone, any thread
//! assert_eq!(limit.call(&mut store, ())?, 100);
//! globals.del("LIMIT");
//! assert_eq!(limit.call(&mut store, ())?, 7);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod abi;
mod globals;
mod value;

pub use globals::{Globals, NameError};
pub use value::GlobalValue;

#[cfg(feature = "wasmi")]
pub mod wasmi;
#[cfg(feature = "wasmtime")]
pub mod wasmtime;

#[cfg(doc)]
use std::time::Duration;
