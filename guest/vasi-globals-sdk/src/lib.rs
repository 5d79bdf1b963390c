//! Live configuration for a Wasm guest: read the named `u64` globals that a
//! vasi host sets and deletes while the guest runs, as typed values with
//! defaults.
//!
//! Target: `wasm32-wasip1` (any wasm target works: the crate is `no_std` and
//! only imports the `vasi_globals_v1` module). The host must provide that
//! module (`vasi_globals::wasmtime::add_to_linker`, or `vasi run`, which always
//! does); otherwise the module does not instantiate. Compiled for any other
//! target, every global reads as unset, so code using this crate still builds
//! and tests natively, with its defaults.
//!
//! # Declare once, read anywhere
//!
//! A [`Global`] is a name, a type and a default. Declare it as a `static` and
//! read it with [`Global::get`]; each read sees the host's current value, at
//! the cost of one `generation` hostcall while nothing changed (see
//! [`Global`]), and no allocation:
//!
//! ```
//! use core::time::Duration;
//! use vasi_globals_sdk::Global;
//!
//! static TEST_BOOL: Global<bool> = Global::new("TEST_BOOL", true);
//! static TEST_UINT64: Global<u64> = Global::new("TEST_UINT64", 42);
//! static TEST_DURATION: Global<Duration> = Global::new("TEST_DURATION", Duration::from_secs(60));
//!
//! // Nothing set: the defaults.
//! assert!(TEST_BOOL.get());
//! assert_eq!(TEST_UINT64.get(), 42);
//! assert_eq!(TEST_DURATION.get(), Duration::from_secs(60));
//! assert_eq!(TEST_UINT64.lookup(), None);
//! ```
//!
//! Or as functions, with [`globals!`]:
//!
//! ```
//! vasi_globals_sdk::globals! {
//!     /// The largest batch to send.
//!     pub fn max_batch() -> u64 = "MAX_BATCH" or 100;
//!     /// Scale factor.
//!     pub fn scale() -> f64 = "SCALE" or 1.5;
//! }
//! assert_eq!(max_batch(), 100);
//! assert_eq!(scale(), 1.5);
//! ```
//!
//! The complete example — a host that sets `TEST_BOOL`, `TEST_UINT64` and
//! `TEST_DURATION` to `false`, 43 and one second, then deletes them, while the
//! guest sees each state — is in `docs/globals-abi.md`, and runs in vasi's
//! tests on wasmtime and on wasmi.
//!
//! # Types
//!
//! [`Value`] is implemented for `bool`, `u64`, `i64`, `f64` and
//! [`core::time::Duration`] with the encodings of the ABI (a `bool`
//! is true unless 0, an `i64` is its two's complement bits, an `f64` its IEEE
//! 754 bits, a `Duration` whole nanoseconds). Implement it for your own types
//! to read them the same way.
//!
//! # Raw API
//!
//! [`get`] reads a global by any name, [`generation`] tells whether anything
//! changed since a previous call, and [`raw`] is the import module itself.

#![no_std]

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::time::Duration;

/// The `vasi_globals_v1` import module, with its status codes and limits.
pub mod raw {
    /// The import module name.
    pub const MODULE: &str = "vasi_globals_v1";
    /// `get` found the global and wrote its value.
    pub const FOUND: i32 = 0;
    /// `get`: no global of that name is set.
    pub const NOT_FOUND: i32 = 1;
    /// `get`: the name is empty, longer than [`MAX_NAME_LEN`], or not UTF-8.
    pub const INVALID_NAME: i32 = 2;
    /// The longest name, in bytes of UTF-8.
    pub const MAX_NAME_LEN: usize = 255;

    #[cfg(target_family = "wasm")]
    #[allow(
        unsafe_code,
        reason = "the host functions are foreign imports; `get` and `generation` below are their safe wrappers"
    )]
    mod imports {
        #[link(wasm_import_module = "vasi_globals_v1")]
        extern "C" {
            #[link_name = "get"]
            pub(super) fn vasi_globals_v1_get(
                name_ptr: *const u8,
                name_len: usize,
                value_out: *mut u64,
            ) -> i32;
            #[link_name = "generation"]
            pub(super) fn vasi_globals_v1_generation() -> i64;
        }

        pub(super) fn get(name: &[u8], value_out: &mut u64) -> i32 {
            // SAFETY: the name is a live slice and `value_out` a live, aligned
            // `u64`; the host reads and writes only within them.
            unsafe { vasi_globals_v1_get(name.as_ptr(), name.len(), value_out) }
        }

        pub(super) fn generation() -> u64 {
            // SAFETY: no arguments; the host only reads its counter.
            unsafe { vasi_globals_v1_generation() as u64 }
        }
    }

    /// Without a wasm host: every global is unset, nothing ever changes.
    #[cfg(not(target_family = "wasm"))]
    mod imports {
        pub(super) fn get(name: &[u8], _value_out: &mut u64) -> i32 {
            match core::str::from_utf8(name) {
                Ok(s) if (1..=super::MAX_NAME_LEN).contains(&s.len()) => super::NOT_FOUND,
                _ => super::INVALID_NAME,
            }
        }

        pub(super) fn generation() -> u64 {
            0
        }
    }

    /// `get(name_ptr, name_len, value_out) -> status`: writes the value of
    /// the global `name` to `value_out` and returns [`FOUND`], or returns
    /// [`NOT_FOUND`] or [`INVALID_NAME`] and leaves `value_out` alone.
    #[inline]
    pub fn get(name: &[u8], value_out: &mut u64) -> i32 {
        imports::get(name, value_out)
    }

    /// `generation() -> u64`: the number of changes the host has made to its
    /// globals so far.
    #[inline]
    pub fn generation() -> u64 {
        imports::generation()
    }
}

/// A name that the host cannot hold: empty, longer than
/// [`raw::MAX_NAME_LEN`] bytes, or (from [`raw::get`]) not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidName;

impl core::fmt::Display for InvalidName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("a global's name must be 1 to 255 bytes of UTF-8")
    }
}

/// The raw value of the global `name`: `Ok(None)` when the host has not set it.
///
/// ```
/// assert_eq!(vasi_globals_sdk::get("NOT_SET"), Ok(None));
/// assert!(vasi_globals_sdk::get("").is_err());
/// ```
///
/// # Errors
/// The name is empty or longer than [`raw::MAX_NAME_LEN`] bytes.
#[inline]
pub fn get(name: &str) -> Result<Option<u64>, InvalidName> {
    let mut value = 0u64;
    match raw::get(name.as_bytes(), &mut value) {
        raw::FOUND => Ok(Some(value)),
        raw::NOT_FOUND => Ok(None),
        _ => Err(InvalidName),
    }
}

/// The host's change counter: it grows with every change to any global, so a
/// guest that caches values can re-read them only when this moved.
///
/// ```
/// let seen = vasi_globals_sdk::generation();
/// // ... later:
/// if vasi_globals_sdk::generation() != seen {
///     // something changed: re-read what you cached
/// }
/// ```
#[inline]
pub fn generation() -> u64 {
    raw::generation()
}

/// A type stored in a global's `u64`, with the ABI's encoding.
pub trait Value: Copy {
    /// The value that `bits` stores.
    fn from_bits(bits: u64) -> Self;
    /// The `u64` that stores `self`.
    fn to_bits(self) -> u64;
}

impl Value for u64 {
    fn from_bits(bits: u64) -> Self {
        bits
    }
    fn to_bits(self) -> u64 {
        self
    }
}

impl Value for i64 {
    fn from_bits(bits: u64) -> Self {
        bits as i64
    }
    fn to_bits(self) -> u64 {
        self as u64
    }
}

impl Value for bool {
    fn from_bits(bits: u64) -> Self {
        bits != 0
    }
    fn to_bits(self) -> u64 {
        u64::from(self)
    }
}

impl Value for f64 {
    fn from_bits(bits: u64) -> Self {
        f64::from_bits(bits)
    }
    fn to_bits(self) -> u64 {
        f64::to_bits(self)
    }
}

impl Value for Duration {
    fn from_bits(bits: u64) -> Self {
        Duration::from_nanos(bits)
    }
    fn to_bits(self) -> u64 {
        u64::try_from(self.as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A typed global with a default: declared once (usually as a `static`), read
/// with [`get`](Self::get) at any time.
///
/// A read costs one [`generation`] call while nothing changed: the global
/// remembers the last value it read and the host's generation at that time,
/// and calls the host's `get` again only when the generation moved. (In a
/// guest built with shared-memory threads, the `atomics` target feature, it
/// calls `get` every time instead.)
pub struct Global<T> {
    name: &'static str,
    default: T,
    /// The generation of the cached read; [`NEVER`] before the first.
    cached_generation: AtomicU64,
    cached_bits: AtomicU64,
    cached_found: AtomicBool,
}

/// No generation yet (the host's counter never gets there).
const NEVER: u64 = u64::MAX;

impl<T: core::fmt::Debug> core::fmt::Debug for Global<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Global")
            .field("name", &self.name)
            .field("default", &self.default)
            .finish_non_exhaustive()
    }
}

impl<T: Value> Global<T> {
    /// The global `name`, reading as `default` while the host has not set it.
    ///
    /// # Panics
    /// If `name` is empty or longer than [`raw::MAX_NAME_LEN`] bytes; in a
    /// `static`, that is a compile error.
    pub const fn new(name: &'static str, default: T) -> Self {
        assert!(
            !name.is_empty() && name.len() <= raw::MAX_NAME_LEN,
            "a global's name must be 1 to 255 bytes"
        );
        Global {
            name,
            default,
            cached_generation: AtomicU64::new(NEVER),
            cached_bits: AtomicU64::new(0),
            cached_found: AtomicBool::new(false),
        }
    }

    /// The current value: the host's, or the default if it has not set (or
    /// has deleted) the global.
    #[inline]
    pub fn get(&self) -> T {
        self.lookup().unwrap_or(self.default)
    }

    /// The host's value, or `None` if it has not set the global.
    #[inline]
    pub fn lookup(&self) -> Option<T> {
        if cfg!(target_feature = "atomics") {
            // Threads could pair one read's value with another's generation.
            return self.read().map(T::from_bits);
        }
        // The generation first: a change after this makes the next call's
        // generation differ, so a value newer than it is re-read, never lost.
        let generation = raw::generation();
        if self.cached_generation.load(Ordering::Relaxed) == generation {
            return self
                .cached_found
                .load(Ordering::Relaxed)
                .then(|| T::from_bits(self.cached_bits.load(Ordering::Relaxed)));
        }
        let bits = self.read();
        self.cached_bits.store(bits.unwrap_or(0), Ordering::Relaxed);
        self.cached_found.store(bits.is_some(), Ordering::Relaxed);
        self.cached_generation.store(generation, Ordering::Relaxed);
        bits.map(T::from_bits)
    }

    /// Asks the host.
    fn read(&self) -> Option<u64> {
        let mut bits = 0u64;
        (raw::get(self.name.as_bytes(), &mut bits) == raw::FOUND).then_some(bits)
    }

    /// The global's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The value read while the global is not set.
    pub const fn default_value(&self) -> T {
        self.default
    }
}

/// Declares typed globals as functions: `fn NAME() -> TYPE = "GLOBAL" or DEFAULT;`.
///
/// ```
/// use core::time::Duration;
/// vasi_globals_sdk::globals! {
///     /// How long to wait for the backend.
///     pub fn timeout() -> Duration = "TIMEOUT" or Duration::from_secs(5);
///     fn retries() -> i64 = "RETRIES" or -1;
/// }
/// assert_eq!(timeout(), Duration::from_secs(5));
/// assert_eq!(retries(), -1);
/// ```
#[macro_export]
macro_rules! globals {
    ($($(#[$attr:meta])* $vis:vis fn $fn_name:ident() -> $ty:ty = $name:literal or $default:expr;)*) => {$(
        $(#[$attr])*
        #[inline]
        $vis fn $fn_name() -> $ty {
            static GLOBAL: $crate::Global<$ty> = $crate::Global::new($name, $default);
            GLOBAL.get()
        }
    )*};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_the_abi() {
        assert_eq!(true.to_bits(), 1);
        assert!(bool::from_bits(7));
        assert_eq!((-1i64).to_bits(), u64::MAX);
        assert_eq!(<f64 as Value>::from_bits(0x3ff0_0000_0000_0000), 1.0);
        assert_eq!(Duration::from_millis(250).to_bits(), 250_000_000);
        assert_eq!(Duration::MAX.to_bits(), u64::MAX);
    }

    #[test]
    fn natively_every_global_is_unset() {
        static G: Global<i64> = Global::new("G", -5);
        assert_eq!(G.get(), -5);
        assert_eq!(G.lookup(), None);
        assert_eq!(G.name(), "G");
        assert_eq!(get(&"x".repeat(256)), Err(InvalidName));
        assert_eq!(generation(), 0);
    }
}
