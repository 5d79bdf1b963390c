//! vasi: a complete, virtualizable WASI preview1 host, independent of any wasm
//! runtime.
//!
//! # Brief overview
//!
//! - [`WasiCtx`] holds one guest's world: arguments, environment, stdio, open
//!   files and preopened directories, clocks and randomness. Build it with
//!   [`WasiCtxBuilder`].
//! - [`p1`] has every `wasi_snapshot_preview1` hostcall as a plain function over
//!   the context and the guest's memory ([`GuestMemory`]); a runtime binding
//!   (such as `vasi-wasmtime`) plugs them into its engine.
//! - [`vfs::Dir`] and [`vfs::File`] are the filesystem traits; [`vfs::MemFs`]
//!   (in memory) and [`vfs::HostDir`] (a host directory, confined by cap-std)
//!   implement them, and [`vfs::ReadOnly`] and [`vfs::Overlay`] make read-only
//!   and copy-on-write views of any directory. The core resolves every guest
//!   path itself, so a guest can never leave a mount, whatever the backend.
//! - [`Errno`] is the error type of everything, with the exact preview1
//!   numbering; [`Error`] adds traps and exits.
//! - [`CaptureBuffer`] collects a guest's stdout or stderr.
//!
//! # Example
//!
//! ```
//! use vasi::{CaptureBuffer, WasiCtxBuilder, vfs::MemFs};
//!
//! let stdout = CaptureBuffer::new();
//! let data = MemFs::new();
//! data.write("greeting.txt", b"hello")?;
//! let ctx = WasiCtxBuilder::new()
//!     .args(["app.wasm", "greeting.txt"])
//!     .stdout(stdout.clone())
//!     .preopen_dir(data.root(), "/data")
//!     .build()?;
//! // Hand `ctx` to a binding, e.g. vasi_wasmtime::add_to_linker, run the guest,
//! // then read `stdout.contents()`.
//! # drop(ctx);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod clocks;
mod ctx;
mod errno;
mod error;
pub mod hook;
mod interrupt;
mod memory;
pub mod p1;
pub mod random;
pub mod shared;
mod stdio;
mod table;
pub mod trace;
pub mod vfs;

pub use clocks::{ClockId, Clocks, HostClocks};
pub use ctx::{BuildError, RaiseHandler, WasiCtx, WasiCtxBuilder, DEFAULT_MAX_OPEN_FILES};
pub use errno::Errno;
pub use error::{Error, I32Exit, StopReason, Stopped, Trap};
pub use interrupt::InterruptHandle;
pub use memory::{CopyMemory, GuestBytes, GuestMemory, GuestStr, Iovecs, Pieces, MAX_STR, PIECE};
pub use random::Random;
pub use stdio::{CaptureBuffer, DirectWrite};
