//! vasi in browsers and JS runtimes: the vasi core built for
//! `wasm32-unknown-unknown` as `vasi_web.wasm`, driven by the ES module in
//! `js/vasi.js`.
//!
//! The module exports every `wasi_snapshot_preview1` function under its own
//! name with its preview1 signature, so the JS loader hands these exports to
//! the guest as its imports unchanged: a hostcall is a wasm-to-wasm call, with
//! no JS in between. vasi reaches the guest's memory only by copies behind
//! [`vasi::GuestMemory::copying`]: small ranges through an accessor module
//! the loader instantiates over the guest's memory and puts in vasi's
//! (exported, growable) function table, bulk ones through two imported JS
//! functions (`vasi.guest_read`, `vasi.guest_write`). stdout and stderr are a
//! [`vasi::DirectWrite`]: the loader copies their bytes from the guest's
//! memory straight into what its callbacks get. A trap, an exit or a stop ends the guest by
//! trapping inside vasi (`unreachable`) after recording why; the loader then
//! asks `vasi_outcome`.
//!
//! Configuration (arguments, environment, mounts, stdio, determinism, trace,
//! timeout) is a handful of exports the loader calls before `vasi_build`;
//! see `js/vasi.js`. On a native target this crate is empty.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub mod web;
