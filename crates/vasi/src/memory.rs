//! Bounds-checked access to a guest's linear memory.
//!
//! Every pointer a guest passes is checked here and nowhere else. Following the
//! preview1 pointer rules (`legacy/tools/witx-docs.md#pointers`), an out-of-bounds
//! or misaligned pointer that a call must dereference makes the guest trap; the host
//! never touches memory outside the guest's slice.

use crate::{Errno, Error};
use std::ops::Range;

/// A guest's linear memory, borrowed for the duration of one hostcall.
///
/// This is the one abstraction hostcalls use to reach guest memory, so that other
/// kinds of memory (shared memories for wasi-threads) can be added behind it later.
///
/// ```
/// use vasi::GuestMemory;
/// let mut bytes = vec![0u8; 64];
/// let mut mem = GuestMemory::new(&mut bytes);
/// mem.write_u32(8, 0xdead_beef)?;
/// assert_eq!(mem.read_u32(8)?, 0xdead_beef);
/// assert!(mem.read_u32(62).is_err()); // out of bounds: a trap
/// assert!(mem.read_u32(9).is_err()); // misaligned: a trap
/// # Ok::<(), vasi::Error>(())
/// ```
pub struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

impl<'a> GuestMemory<'a> {
    /// Wraps the guest's memory.
    pub fn new(bytes: &'a mut [u8]) -> Self {
        GuestMemory { bytes }
    }

    /// The memory's size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the memory has no bytes.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Checks `ptr..ptr+len` and `ptr`'s alignment; returns the range.
    #[inline]
    fn range(&self, ptr: u32, len: u32, align: u32) -> Result<Range<usize>, Error> {
        if !ptr.is_multiple_of(align) {
            return Err(misaligned(ptr, align));
        }
        let start = ptr as usize;
        let end = start + len as usize; // cannot overflow: both are below 2^32 on 64-bit
        if end > self.bytes.len() {
            return Err(out_of_bounds(ptr, len, self.bytes.len()));
        }
        Ok(start..end)
    }

    /// Checks that `ptr..ptr+len` is in bounds and `ptr` aligned to `align`
    /// (a power of two); a trap otherwise.
    #[inline]
    pub fn check(&self, ptr: u32, len: u32, align: u32) -> Result<(), Error> {
        self.range(ptr, len, align).map(drop)
    }

    /// The bytes at `ptr..ptr+len`.
    #[inline]
    pub fn slice(&self, ptr: u32, len: u32) -> Result<&[u8], Error> {
        let r = self.range(ptr, len, 1)?;
        Ok(&self.bytes[r])
    }

    /// The bytes at `ptr..ptr+len`, writable.
    #[inline]
    pub fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], Error> {
        let r = self.range(ptr, len, 1)?;
        Ok(&mut self.bytes[r])
    }

    /// A UTF-8 string at `ptr..ptr+len`; invalid UTF-8 is `EILSEQ`.
    #[inline]
    pub fn read_str(&self, ptr: u32, len: u32) -> Result<&str, Error> {
        std::str::from_utf8(self.slice(ptr, len)?).map_err(|_| Error::Errno(Errno::Ilseq))
    }

    #[inline]
    fn array<const N: usize>(&self, ptr: u32) -> Result<[u8; N], Error> {
        let r = self.range(ptr, N as u32, N as u32)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.bytes[r]);
        Ok(out)
    }

    #[inline]
    fn put<const N: usize>(&mut self, ptr: u32, v: [u8; N]) -> Result<(), Error> {
        let r = self.range(ptr, N as u32, N as u32)?;
        self.bytes[r].copy_from_slice(&v);
        Ok(())
    }

    /// Reads a little-endian `u16` (2-byte aligned).
    pub fn read_u16(&self, ptr: u32) -> Result<u16, Error> {
        Ok(u16::from_le_bytes(self.array(ptr)?))
    }

    /// Reads a little-endian `u32` (4-byte aligned).
    pub fn read_u32(&self, ptr: u32) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.array(ptr)?))
    }

    /// Reads a little-endian `u64` (8-byte aligned).
    pub fn read_u64(&self, ptr: u32) -> Result<u64, Error> {
        Ok(u64::from_le_bytes(self.array(ptr)?))
    }

    /// Writes a `u8`.
    pub fn write_u8(&mut self, ptr: u32, v: u8) -> Result<(), Error> {
        self.put(ptr, [v])
    }

    /// Writes a little-endian `u16` (2-byte aligned).
    pub fn write_u16(&mut self, ptr: u32, v: u16) -> Result<(), Error> {
        self.put(ptr, v.to_le_bytes())
    }

    /// Writes a little-endian `u32` (4-byte aligned).
    pub fn write_u32(&mut self, ptr: u32, v: u32) -> Result<(), Error> {
        self.put(ptr, v.to_le_bytes())
    }

    /// Writes a little-endian `u64` (8-byte aligned).
    pub fn write_u64(&mut self, ptr: u32, v: u64) -> Result<(), Error> {
        self.put(ptr, v.to_le_bytes())
    }

    /// Writes a struct of `N` bytes laid out by the caller, at an address aligned
    /// to `align`.
    pub fn write_struct<const N: usize>(
        &mut self,
        ptr: u32,
        align: u32,
        bytes: &[u8; N],
    ) -> Result<(), Error> {
        let r = self.range(ptr, N as u32, align)?;
        self.bytes[r].copy_from_slice(bytes);
        Ok(())
    }

    /// Reads a struct of `N` bytes at an address aligned to `align`.
    pub fn read_struct<const N: usize>(&self, ptr: u32, align: u32) -> Result<[u8; N], Error> {
        let r = self.range(ptr, N as u32, align)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.bytes[r]);
        Ok(out)
    }

    /// Checks an array of `count` iovecs (`{buf: u32, len: u32}`, 8 bytes, 4-aligned)
    /// at `ptr`, and every buffer it names, so that they can then be read with
    /// [`GuestMemory::iovec`]. A bad buffer anywhere in the array traps before
    /// the call does anything: no call moves some bytes and then traps.
    #[inline]
    pub fn iovecs(&self, ptr: u32, count: u32) -> Result<Iovecs, Error> {
        let len = count
            .checked_mul(8)
            .ok_or_else(|| out_of_bounds(ptr, u32::MAX, self.bytes.len()))?;
        self.range(ptr, len, 4)?;
        let iovs = Iovecs { ptr, count };
        for i in 0..count {
            let (buf, len) = self.iovec(iovs, i);
            // Cannot overflow: both are below 2^32 on 64-bit.
            if buf as usize + len as usize > self.bytes.len() {
                return Err(out_of_bounds(buf, len, self.bytes.len()));
            }
        }
        Ok(iovs)
    }

    /// The `index`th iovec of a checked array: `(buf, len)`. The buffer itself is
    /// checked when it is sliced.
    #[inline]
    pub fn iovec(&self, iovs: Iovecs, index: u32) -> (u32, u32) {
        debug_assert!(index < iovs.count);
        let at = (iovs.ptr + index * 8) as usize;
        let b = &self.bytes[at..at + 8];
        (
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        )
    }
}

/// The most bytes one call transfers: what its `u32` result can count.
pub(crate) const MAX_IO: usize = u32::MAX as usize;

/// How much of a buffer of `len` bytes a call that already moved `total`
/// bytes may still move.
#[inline]
pub(crate) fn room(total: usize, len: u32) -> u32 {
    (MAX_IO - total).min(len as usize) as u32
}

/// A bounds-checked array of iovecs in guest memory (see [`GuestMemory::iovecs`]).
#[derive(Clone, Copy, Debug)]
pub struct Iovecs {
    ptr: u32,
    count: u32,
}

impl Iovecs {
    /// How many iovecs there are.
    pub fn count(&self) -> u32 {
        self.count
    }
}

#[cold]
fn out_of_bounds(ptr: u32, len: u32, size: usize) -> Error {
    Error::trap(format!(
        "out-of-bounds pointer: {len} bytes at {ptr:#x} exceed the guest memory of {size} bytes"
    ))
}

#[cold]
fn misaligned(ptr: u32, align: u32) -> Error {
    Error::trap(format!(
        "misaligned pointer: {ptr:#x} is not aligned to {align} bytes"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_alignment() {
        let mut bytes = vec![0u8; 32];
        let mut mem = GuestMemory::new(&mut bytes);
        assert!(mem.slice(0, 32).is_ok());
        assert!(mem.slice(32, 0).is_ok());
        assert!(matches!(mem.slice(1, 32), Err(Error::Trap(_))));
        assert!(matches!(mem.slice(u32::MAX, u32::MAX), Err(Error::Trap(_))));
        assert!(matches!(mem.write_u64(4, 1), Err(Error::Trap(_))));
        mem.write_u64(24, u64::MAX).unwrap();
        assert_eq!(mem.read_u64(24).unwrap(), u64::MAX);
        assert!(matches!(mem.write_u64(32, 1), Err(Error::Trap(_))));
        assert!(matches!(mem.iovecs(0, 5), Err(Error::Trap(_))));
        assert!(matches!(mem.iovecs(0, u32::MAX), Err(Error::Trap(_))));
        assert!(matches!(mem.iovecs(2, 1), Err(Error::Trap(_))));
        mem.write_u32(0, 7).unwrap();
        mem.write_u32(4, 9).unwrap();
        // The last iovec names a buffer out of bounds (u64::MAX at 24):
        // the whole array is refused.
        assert!(matches!(mem.iovecs(0, 4), Err(Error::Trap(_))));
        mem.write_u64(24, 0).unwrap();
        let iovs = mem.iovecs(0, 4).unwrap();
        assert_eq!(mem.iovec(iovs, 0), (7, 9));
        mem.write_u32(12, 33).unwrap(); // 33 bytes at 0
        assert!(matches!(mem.iovecs(0, 2), Err(Error::Trap(_))));
    }

    #[test]
    fn strings() {
        let mut bytes = b"ok\xff".to_vec();
        let mem = GuestMemory::new(&mut bytes);
        assert_eq!(mem.read_str(0, 2).unwrap(), "ok");
        assert_eq!(mem.read_str(0, 3), Err(Error::Errno(Errno::Ilseq)));
        match mem.read_str(0, 4) {
            Err(Error::Trap(t)) => assert!(t.message().contains("out-of-bounds")),
            other => panic!("{other:?}"),
        }
    }
}
