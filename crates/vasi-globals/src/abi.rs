//! The `vasi_globals_v1` import module, as plain functions over the guest's
//! memory: what a binding calls after taking the memory out of its runtime.
//!
//! The full contract, for guests in any language, is `docs/globals-abi.md`:
//!
//! ```text
//! (import "vasi_globals_v1" "get"
//!     (func (param $name_ptr i32) (param $name_len i32) (param $value_out i32) (result i32)))
//! (import "vasi_globals_v1" "generation" (func (result i64)))
//! ```

use crate::globals::valid_len;
use crate::Globals;
use vasi::{Error, GuestMemory};

/// The import module name.
pub const MODULE: &str = "vasi_globals_v1";

/// `get` found the global and wrote its value.
pub const FOUND: i32 = 0;
/// `get`: no global of that name is set; `value_out` is left untouched.
pub const NOT_FOUND: i32 = 1;
/// `get`: the name is empty, longer than [`MAX_NAME_LEN`] bytes, or not
/// UTF-8; `value_out` is left untouched.
pub const INVALID_NAME: i32 = 2;

/// The longest name, in bytes of UTF-8.
pub const MAX_NAME_LEN: usize = 255;

/// `get(name_ptr, name_len, value_out) -> status`: reads the global named by
/// the UTF-8 bytes at `name_ptr..name_ptr+name_len` and, if it is set, writes
/// its value as a little-endian `u64` at `value_out` (8-byte aligned).
///
/// Returns [`FOUND`], [`NOT_FOUND`] or [`INVALID_NAME`]. Both pointers are
/// checked first, whatever the name: a name range outside the memory, or a
/// `value_out` that is out of bounds or not 8-byte aligned, is a trap.
///
/// No allocation: the name is looked up straight from guest memory.
///
/// ```
/// use vasi::GuestMemory;
/// use vasi_globals::{abi, Globals};
/// let globals = Globals::new();
/// globals.set("N", 42u64)?;
/// let mut bytes = vec![0u8; 32];
/// bytes[0] = b'N';
/// let mut mem = GuestMemory::new(&mut bytes);
/// assert_eq!(abi::get(&globals, &mut mem, 0, 1, 8), Ok(abi::FOUND));
/// assert_eq!(mem.read_u64(8)?, 42);
/// assert_eq!(abi::get(&globals, &mut mem, 1, 1, 8), Ok(abi::NOT_FOUND)); // "\0"
/// assert_eq!(abi::get(&globals, &mut mem, 0, 0, 8), Ok(abi::INVALID_NAME)); // ""
/// assert!(abi::get(&globals, &mut mem, 0, 1, 4).is_err()); // misaligned: trap
/// assert!(abi::get(&globals, &mut mem, 30, 3, 8).is_err()); // out of bounds: trap
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// Only a trap ([`Error::Trap`]), for a bad pointer.
#[inline]
pub fn get(
    globals: &Globals,
    mem: &mut GuestMemory<'_>,
    name_ptr: u32,
    name_len: u32,
    value_out: u32,
) -> Result<i32, Error> {
    mem.check(value_out, 8, 8)?;
    mem.check(name_ptr, name_len, 1)?;
    if !valid_len(name_len as usize) {
        return Ok(INVALID_NAME);
    }
    let name = mem.read_bytes(name_ptr, name_len)?;
    let name = &*name;
    // Only valid names are ever set, so a hit needs no UTF-8 check.
    match globals.get_bytes(name) {
        Some(value) => {
            mem.write_u64(value_out, value)?;
            Ok(FOUND)
        }
        None if std::str::from_utf8(name).is_ok() => Ok(NOT_FOUND),
        None => Ok(INVALID_NAME),
    }
}

/// `generation() -> i64`: the number of changes made to the globals so far
/// (as an unsigned 64-bit number). It starts at 0 and only grows; a guest that
/// sees the same generation as before knows that no value changed.
#[inline]
pub fn generation(globals: &Globals) -> u64 {
    globals.generation()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64-byte memory with `name` at 0 and the output slot at 56.
    fn with_name(name: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0u8; 64];
        bytes[..name.len()].copy_from_slice(name);
        bytes
    }

    #[test]
    fn found_and_not_found() {
        let g = Globals::new();
        g.set("ab", u64::MAX - 1).unwrap();
        let mut bytes = with_name(b"ab");
        let mut mem = GuestMemory::new(&mut bytes);
        assert_eq!(get(&g, &mut mem, 0, 2, 56), Ok(FOUND));
        assert_eq!(mem.read_u64(56).unwrap(), u64::MAX - 1);
        mem.write_u64(56, 9).unwrap();
        assert_eq!(get(&g, &mut mem, 0, 1, 56), Ok(NOT_FOUND));
        assert_eq!(mem.read_u64(56).unwrap(), 9, "left untouched");
    }

    #[test]
    fn bad_names_are_a_status_not_a_trap() {
        let g = Globals::new();
        let mut bytes = with_name(&[0xff, 0xfe]);
        let mut mem = GuestMemory::new(&mut bytes);
        assert_eq!(get(&g, &mut mem, 0, 2, 56), Ok(INVALID_NAME), "not UTF-8");
        assert_eq!(get(&g, &mut mem, 0, 0, 56), Ok(INVALID_NAME), "empty");
        let mut big = vec![b'a'; 512];
        let mut mem = GuestMemory::new(&mut big);
        assert_eq!(get(&g, &mut mem, 0, 256, 504), Ok(INVALID_NAME));
        assert_eq!(get(&g, &mut mem, 0, 255, 504), Ok(NOT_FOUND));
    }

    #[test]
    fn bad_pointers_trap_whether_or_not_the_name_is_set() {
        let g = Globals::new();
        g.set("ab", 1u64).unwrap();
        let mut bytes = with_name(b"ab");
        let mut mem = GuestMemory::new(&mut bytes);
        for (ptr, len, out) in [
            (0, 2, 60),           // output out of bounds
            (0, 2, 57),           // output misaligned
            (63, 2, 56),          // name past the end
            (u32::MAX, 2, 56),    // name pointer far out
            (0, u32::MAX, 56),    // name length far out
            (0, 2, u32::MAX - 7), // output far out
        ] {
            let err = get(&g, &mut mem, ptr, len, out).unwrap_err();
            assert!(
                matches!(err, Error::Trap(_)),
                "({ptr}, {len}, {out}): {err:?}"
            );
        }
        // The same with a name that is not set, or invalid.
        assert!(get(&g, &mut mem, 2, 2, 60).is_err());
        assert!(get(&g, &mut mem, 0, 0, 57).is_err());
    }

    #[test]
    fn generation_follows_changes() {
        let g = Globals::new();
        assert_eq!(generation(&g), 0);
        g.set("x", 1u64).unwrap();
        g.del("x");
        assert_eq!(generation(&g), 2);
    }
}
