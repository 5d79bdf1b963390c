//! Bounds-checked access to a guest's linear memory.
//!
//! Every pointer a guest passes is checked here and nowhere else. Following the
//! preview1 pointer rules (`legacy/tools/witx-docs.md#pointers`), an out-of-bounds
//! or misaligned pointer that a call must dereference makes the guest trap; the host
//! never touches memory outside the guest's memory.
//!
//! One type, [`GuestMemory`], serves every hostcall over three kinds of memory:
//!
//! - an exclusive slice ([`GuestMemory::new`]): the native bindings' memory,
//!   reached without a copy;
//! - a shared memory ([`GuestMemory::shared`], wasi-threads), which other guest
//!   threads may write while a call runs: it is reached only through copies
//!   made with raw pointers, never through a Rust reference to its bytes, and a
//!   string (a path) is copied once, so another thread cannot change it between
//!   its check and its use;
//! - a memory the host can only copy from and to ([`GuestMemory::copying`]
//!   over a [`CopyMemory`]): a guest whose memory lives in a JS engine.
//!
//! Bulk transfers ([`GuestMemory::fill`], [`GuestMemory::drain`]) lend the whole
//! range to the caller on a slice, and go through a per-thread scratch buffer of
//! at most [`PIECE`] bytes on the others, so no call makes the host hold more
//! than that, however large the guest's buffers.
#![allow(
    unsafe_code,
    reason = "a shared memory is copied with raw pointers (see `Backing::Shared`)"
)]

use crate::{Errno, Error};
use std::borrow::Cow;
use std::cell::{RefCell, UnsafeCell};
use std::ops::{Deref, Range};

/// The largest piece a bulk transfer moves at once through a copying or shared
/// memory (64 KiB).
pub const PIECE: usize = 64 * 1024;

/// The longest string (a path) a hostcall reads from the guest: 64 KiB. A
/// longer one is `ENAMETOOLONG` on every memory, so that no guest makes the
/// host copy more.
pub const MAX_STR: u32 = 64 * 1024;

/// A guest memory that the host can only reach by copying: the guest's memory
/// of a JS host (a `WebAssembly.Memory` outside vasi's own), or any memory an
/// embedder keeps behind its own API.
///
/// [`GuestMemory`] checks every range before it calls these, so `offset +
/// len` is always within [`len`](CopyMemory::len).
///
/// ```
/// use vasi::{CopyMemory, GuestMemory};
///
/// /// A memory behind a lock, reached only by copies.
/// struct Locked(std::sync::Mutex<Vec<u8>>);
/// impl CopyMemory for Locked {
///     fn len(&self) -> usize { self.0.lock().unwrap().len() }
///     fn read(&self, offset: usize, dst: &mut [u8]) {
///         dst.copy_from_slice(&self.0.lock().unwrap()[offset..offset + dst.len()]);
///     }
///     fn write(&mut self, offset: usize, src: &[u8]) {
///         self.0.lock().unwrap()[offset..offset + src.len()].copy_from_slice(src);
///     }
/// }
///
/// let mut backing = Locked(std::sync::Mutex::new(vec![0; 64]));
/// let mut mem = GuestMemory::copying(&mut backing);
/// mem.write_u32(8, 7)?;
/// assert_eq!(mem.read_u32(8)?, 7);
/// assert!(mem.read_u32(64).is_err()); // out of bounds: a trap
/// # Ok::<(), vasi::Error>(())
/// ```
pub trait CopyMemory {
    /// The memory's size in bytes.
    fn len(&self) -> usize;
    /// Whether the memory has no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Copies `dst.len()` bytes at `offset` into `dst`.
    fn read(&self, offset: usize, dst: &mut [u8]);
    /// Copies `src` to `offset`.
    fn write(&mut self, offset: usize, src: &[u8]);
}

/// How a bulk transfer ([`GuestMemory::fill`], [`GuestMemory::drain`]) may
/// call its function on a memory that is moved in pieces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pieces {
    /// At most one call, over at most [`PIECE`] bytes: for streams (stdin,
    /// sockets), where a short transfer is normal and a second call could block.
    Once,
    /// Call again with the next piece for as long as the function takes each
    /// piece whole: for files, where a short transfer means the end.
    UntilShort,
}

enum Backing<'a> {
    Slice(&'a mut [u8]),
    /// Other threads may write these bytes at any time (the wasm threads
    /// proposal's shared memory). Only raw-pointer copies touch them (see
    /// `GuestMemory::load` and `GuestMemory::store`): no `&[u8]` or
    /// `&mut [u8]` is ever made over them, so no Rust reference aliases a
    /// concurrent write. A racing guest thread sees torn bytes, as it would
    /// from another guest thread; the host only ever reads its own copy.
    Shared(&'a [UnsafeCell<u8>]),
    Copy(&'a mut dyn CopyMemory),
}

/// A guest's linear memory, borrowed for the duration of one hostcall.
///
/// This is the one abstraction hostcalls use to reach guest memory: an
/// exclusive slice (native bindings), a shared memory (wasi-threads) or a
/// memory reached by copies (JS hosts); the module docs of `memory.rs` say how each is reached.
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
    backing: Backing<'a>,
    len: usize,
}

/// A string read from guest memory: borrowed from an exclusive memory, a
/// private copy otherwise. Dereferences to `str`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestStr<'m>(Cow<'m, str>);

impl Deref for GuestStr<'_> {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        &self.0
    }
}

/// Bytes read from guest memory: borrowed from an exclusive memory, a private
/// copy otherwise. Dereferences to `[u8]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestBytes<'m>(Cow<'m, [u8]>);

impl Deref for GuestBytes<'_> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

thread_local! {
    /// The scratch buffer of bulk transfers through shared and copying memories.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` over this thread's scratch buffer, grown to `len` (at most
/// [`PIECE`]) bytes.
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
    debug_assert!(len <= PIECE);
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut s) => {
            if s.len() < len {
                s.resize(len, 0);
            }
            f(&mut s[..len])
        }
        // Not reentered by vasi itself; an embedder's callback might.
        Err(_) => f(&mut vec![0; len]),
    })
}

impl<'a> GuestMemory<'a> {
    /// Wraps an exclusive guest memory: hostcalls reach it without copying.
    #[inline]
    pub fn new(bytes: &'a mut [u8]) -> Self {
        GuestMemory {
            len: bytes.len(),
            backing: Backing::Slice(bytes),
        }
    }

    /// Wraps a shared memory (the threads proposal's), such as wasmtime's
    /// `SharedMemory::data()`: other threads may write it at any time, so it
    /// is reached only through copies made with raw pointers.
    ///
    /// ```
    /// use std::cell::UnsafeCell;
    /// let cells: Vec<UnsafeCell<u8>> = (0..16).map(|_| UnsafeCell::new(0)).collect();
    /// let mut mem = vasi::GuestMemory::shared(&cells);
    /// mem.copy_in(4, b"path")?;
    /// assert_eq!(&*mem.read_str(4, 4)?, "path");
    /// # Ok::<(), vasi::Error>(())
    /// ```
    #[inline]
    pub fn shared(bytes: &'a [UnsafeCell<u8>]) -> Self {
        GuestMemory {
            len: bytes.len(),
            backing: Backing::Shared(bytes),
        }
    }

    /// Wraps a memory the host can only copy from and to (see [`CopyMemory`]).
    #[inline]
    pub fn copying(mem: &'a mut dyn CopyMemory) -> Self {
        GuestMemory {
            len: mem.len(),
            backing: Backing::Copy(mem),
        }
    }

    /// The memory's size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the memory has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Checks `ptr..ptr+len` and `ptr`'s alignment; returns the range.
    #[inline]
    fn range(&self, ptr: u32, len: u32, align: u32) -> Result<Range<usize>, Error> {
        if !ptr.is_multiple_of(align) {
            return Err(misaligned(ptr, align));
        }
        // In u64: on a 32-bit host (vasi-web, wasm32) the sum can overflow usize.
        let end = u64::from(ptr) + u64::from(len);
        if end > self.len as u64 {
            return Err(out_of_bounds(ptr, len, self.len));
        }
        Ok(ptr as usize..end as usize)
    }

    /// Copies the checked range starting at `at` into `dst`.
    #[inline(always)]
    fn load(&self, at: usize, dst: &mut [u8]) {
        match &self.backing {
            Backing::Slice(b) => dst.copy_from_slice(&b[at..at + dst.len()]),
            _ => self.load_off_slice(at, dst),
        }
    }

    /// [`load`](Self::load) from a shared or copying memory, out of line so
    /// that the slice's path inlines to a plain copy.
    #[inline(never)]
    fn load_off_slice(&self, at: usize, dst: &mut [u8]) {
        match &self.backing {
            Backing::Slice(b) => dst.copy_from_slice(&b[at..at + dst.len()]),
            Backing::Shared(b) => {
                let src = &b[at..at + dst.len()];
                // SAFETY: `src` is in bounds (just sliced) and `UnsafeCell<u8>`
                // has the layout of `u8`; the bytes are read through a raw
                // pointer derived from the cells, so no shared reference to
                // them exists while other threads write them. `dst` is a host
                // buffer no guest thread can reach, so the two do not overlap.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        UnsafeCell::raw_get(src.as_ptr()).cast_const(),
                        dst.as_mut_ptr(),
                        dst.len(),
                    )
                }
            }
            Backing::Copy(m) => m.read(at, dst),
        }
    }

    /// Copies `src` to the checked range starting at `at`.
    #[inline(always)]
    fn store(&mut self, at: usize, src: &[u8]) {
        match &mut self.backing {
            Backing::Slice(b) => b[at..at + src.len()].copy_from_slice(src),
            _ => self.store_off_slice(at, src),
        }
    }

    /// [`store`](Self::store) to a shared or copying memory, out of line.
    #[inline(never)]
    fn store_off_slice(&mut self, at: usize, src: &[u8]) {
        match &mut self.backing {
            Backing::Slice(b) => b[at..at + src.len()].copy_from_slice(src),
            Backing::Shared(b) => {
                let dst = &b[at..at + src.len()];
                // SAFETY: as in `load_off_slice`: in bounds, written through a
                // raw pointer obtained from the cells (`UnsafeCell` permits
                // writes through a shared reference), and `src` is a host
                // buffer.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        src.as_ptr(),
                        UnsafeCell::raw_get(dst.as_ptr()),
                        src.len(),
                    )
                }
            }
            Backing::Copy(m) => m.write(at, src),
        }
    }

    /// Checks that `ptr..ptr+len` is in bounds and `ptr` aligned to `align`
    /// (a power of two); a trap otherwise.
    #[inline]
    pub fn check(&self, ptr: u32, len: u32, align: u32) -> Result<(), Error> {
        self.range(ptr, len, align).map(drop)
    }

    /// The bytes at `ptr..ptr+len`: borrowed from an exclusive memory, a
    /// private copy from the others.
    #[inline]
    pub fn read_bytes(&self, ptr: u32, len: u32) -> Result<GuestBytes<'_>, Error> {
        let r = self.range(ptr, len, 1)?;
        if let Backing::Slice(b) = &self.backing {
            return Ok(GuestBytes(Cow::Borrowed(&b[r])));
        }
        let mut copy = vec![0; r.len()];
        self.load(r.start, &mut copy);
        Ok(GuestBytes(Cow::Owned(copy)))
    }

    /// A UTF-8 string (such as a path) at `ptr..ptr+len`: borrowed from an
    /// exclusive memory, a private copy from the others. A bad range traps;
    /// then a string longer than [`MAX_STR`] is `ENAMETOOLONG` and invalid
    /// UTF-8 `EILSEQ`.
    #[inline]
    pub fn read_str(&self, ptr: u32, len: u32) -> Result<GuestStr<'_>, Error> {
        let r = self.range(ptr, len, 1)?;
        if len > MAX_STR {
            return Err(Errno::Nametoolong.into());
        }
        let ilseq = |_| Error::Errno(Errno::Ilseq);
        if let Backing::Slice(b) = &self.backing {
            let s = std::str::from_utf8(&b[r]).map_err(ilseq)?;
            return Ok(GuestStr(Cow::Borrowed(s)));
        }
        let mut copy = vec![0; r.len()];
        self.load(r.start, &mut copy);
        let s = String::from_utf8(copy).map_err(|_| Error::Errno(Errno::Ilseq))?;
        Ok(GuestStr(Cow::Owned(s)))
    }

    /// Copies `dst.len()` bytes at `ptr` out of the guest.
    #[inline]
    pub fn copy_out(&self, ptr: u32, dst: &mut [u8]) -> Result<(), Error> {
        let len = u32::try_from(dst.len()).map_err(|_| out_of_bounds(ptr, u32::MAX, self.len))?;
        let r = self.range(ptr, len, 1)?;
        self.load(r.start, dst);
        Ok(())
    }

    /// Copies `src` into the guest at `ptr`.
    #[inline]
    pub fn copy_in(&mut self, ptr: u32, src: &[u8]) -> Result<(), Error> {
        let len = u32::try_from(src.len()).map_err(|_| out_of_bounds(ptr, u32::MAX, self.len))?;
        let r = self.range(ptr, len, 1)?;
        self.store(r.start, src);
        Ok(())
    }

    /// Lends `ptr..ptr+len` to `f` to fill (a read into the guest) and returns
    /// how many bytes `f` filled, from the start.
    ///
    /// An exclusive memory is lent whole, in one call, without a copy. Other
    /// memories are lent in pieces of at most [`PIECE`] bytes of scratch, the
    /// filled part of each copied into the guest: one piece with
    /// [`Pieces::Once`], or the next piece for as long as `f` fills each one
    /// whole with [`Pieces::UntilShort`]. `f`'s error is returned if nothing
    /// was filled yet; after that, the count so far. `f` should write only
    /// the bytes it counts: on an exclusive memory the guest sees whatever it
    /// wrote, on the others only the counted prefix is copied back.
    ///
    /// ```
    /// use vasi::{GuestMemory, Pieces};
    /// let mut bytes = [0u8; 8];
    /// let mut mem = GuestMemory::new(&mut bytes);
    /// let n = mem.fill(2, 4, Pieces::UntilShort, |dst| {
    ///     dst[..3].copy_from_slice(b"abc");
    ///     Ok(3)
    /// })?;
    /// assert_eq!(n, 3);
    /// assert_eq!(&bytes, b"\0\0abc\0\0\0");
    /// # Ok::<(), vasi::Error>(())
    /// ```
    #[inline]
    pub fn fill(
        &mut self,
        ptr: u32,
        len: u32,
        pieces: Pieces,
        mut f: impl FnMut(&mut [u8]) -> Result<usize, Error>,
    ) -> Result<usize, Error> {
        let r = self.range(ptr, len, 1)?;
        if let Backing::Slice(b) = &mut self.backing {
            let dst = &mut b[r];
            let max = dst.len();
            return f(dst).map(|n| n.min(max));
        }
        self.fill_pieces(r, pieces, f)
    }

    /// [`fill`](Self::fill) off a slice: out of line, so that the slice's
    /// path stays small enough to inline.
    #[inline(never)]
    fn fill_pieces(
        &mut self,
        r: Range<usize>,
        pieces: Pieces,
        mut f: impl FnMut(&mut [u8]) -> Result<usize, Error>,
    ) -> Result<usize, Error> {
        in_pieces(r, pieces, |at, piece| {
            with_scratch(piece, |buf| {
                let n = f(buf)?.min(piece);
                self.store(at, &buf[..n]);
                Ok(n)
            })
        })
    }

    /// Lends `ptr..ptr+len` to `f` to consume (a write out of the guest) and
    /// returns how many bytes `f` took, from the start; pieces as in
    /// [`fill`](Self::fill).
    ///
    /// ```
    /// use vasi::{GuestMemory, Pieces};
    /// let mut bytes = *b"hello world";
    /// let mem = GuestMemory::new(&mut bytes);
    /// let mut out = Vec::new();
    /// let n = mem.drain(6, 5, Pieces::UntilShort, |src| {
    ///     out.extend_from_slice(src);
    ///     Ok(src.len())
    /// })?;
    /// assert_eq!((n, &out[..]), (5, &b"world"[..]));
    /// # Ok::<(), vasi::Error>(())
    /// ```
    #[inline]
    pub fn drain(
        &self,
        ptr: u32,
        len: u32,
        pieces: Pieces,
        mut f: impl FnMut(&[u8]) -> Result<usize, Error>,
    ) -> Result<usize, Error> {
        let r = self.range(ptr, len, 1)?;
        if let Backing::Slice(b) = &self.backing {
            let src = &b[r];
            return f(src).map(|n| n.min(src.len()));
        }
        self.drain_pieces(r, pieces, f)
    }

    /// [`drain`](Self::drain) off a slice, out of line.
    #[inline(never)]
    fn drain_pieces(
        &self,
        r: Range<usize>,
        pieces: Pieces,
        mut f: impl FnMut(&[u8]) -> Result<usize, Error>,
    ) -> Result<usize, Error> {
        in_pieces(r, pieces, |at, piece| {
            with_scratch(piece, |buf| {
                self.load(at, buf);
                f(buf).map(|n| n.min(piece))
            })
        })
    }

    #[inline]
    fn array<const N: usize>(&self, ptr: u32, align: u32) -> Result<[u8; N], Error> {
        let r = self.range(ptr, N as u32, align)?;
        let mut out = [0u8; N];
        self.load(r.start, &mut out);
        Ok(out)
    }

    #[inline]
    fn put<const N: usize>(&mut self, ptr: u32, align: u32, v: [u8; N]) -> Result<(), Error> {
        let r = self.range(ptr, N as u32, align)?;
        self.store(r.start, &v);
        Ok(())
    }

    /// Reads a little-endian `u16` (2-byte aligned).
    #[inline]
    pub fn read_u16(&self, ptr: u32) -> Result<u16, Error> {
        Ok(u16::from_le_bytes(self.array(ptr, 2)?))
    }

    /// Reads a little-endian `u32` (4-byte aligned).
    #[inline]
    pub fn read_u32(&self, ptr: u32) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.array(ptr, 4)?))
    }

    /// Reads a little-endian `u64` (8-byte aligned).
    #[inline]
    pub fn read_u64(&self, ptr: u32) -> Result<u64, Error> {
        Ok(u64::from_le_bytes(self.array(ptr, 8)?))
    }

    /// Writes a `u8`.
    #[inline]
    pub fn write_u8(&mut self, ptr: u32, v: u8) -> Result<(), Error> {
        self.put(ptr, 1, [v])
    }

    /// Writes a little-endian `u16` (2-byte aligned).
    #[inline]
    pub fn write_u16(&mut self, ptr: u32, v: u16) -> Result<(), Error> {
        self.put(ptr, 2, v.to_le_bytes())
    }

    /// Writes a little-endian `u32` (4-byte aligned).
    #[inline]
    pub fn write_u32(&mut self, ptr: u32, v: u32) -> Result<(), Error> {
        self.put(ptr, 4, v.to_le_bytes())
    }

    /// Writes a little-endian `u64` (8-byte aligned).
    #[inline]
    pub fn write_u64(&mut self, ptr: u32, v: u64) -> Result<(), Error> {
        self.put(ptr, 8, v.to_le_bytes())
    }

    /// Writes a struct of `N` bytes laid out by the caller, at an address aligned
    /// to `align`.
    #[inline]
    pub fn write_struct<const N: usize>(
        &mut self,
        ptr: u32,
        align: u32,
        bytes: &[u8; N],
    ) -> Result<(), Error> {
        self.put(ptr, align, *bytes)
    }

    /// Reads a struct of `N` bytes at an address aligned to `align`.
    #[inline]
    pub fn read_struct<const N: usize>(&self, ptr: u32, align: u32) -> Result<[u8; N], Error> {
        self.array(ptr, align)
    }

    /// Checks an array of `count` iovecs (`{buf: u32, len: u32}`, 8 bytes, 4-aligned)
    /// at `ptr`, and every buffer it names, so that they can then be read with
    /// [`GuestMemory::iovec`]. A bad buffer anywhere in the array traps before
    /// the call does anything: no call moves some bytes and then traps.
    ///
    /// On a shared memory another guest thread may rewrite the array after
    /// this check; each buffer is checked again when it is moved, so that only
    /// makes the call trap later.
    #[inline]
    pub fn iovecs(&self, ptr: u32, count: u32) -> Result<Iovecs, Error> {
        let len = count
            .checked_mul(8)
            .ok_or_else(|| out_of_bounds(ptr, u32::MAX, self.len))?;
        let r = self.range(ptr, len, 4)?;
        let (bad, first) = match &self.backing {
            Backing::Slice(b) => {
                let raw = &b[r];
                (first_bad(raw.chunks_exact(8), self.len), split_iovec(raw))
            }
            _ => self.first_bad_off_slice(ptr, count),
        };
        match bad {
            Some((buf, len)) => Err(out_of_bounds(buf, len, self.len)),
            None => Ok(Iovecs { ptr, count, first }),
        }
    }

    /// Off a slice: the first iovec of the `count` at `ptr` whose buffer is
    /// out of bounds, and the first iovec.
    #[inline(never)]
    fn first_bad_off_slice(&self, ptr: u32, count: u32) -> (Option<(u32, u32)>, (u32, u32)) {
        let mut first = (0, 0);
        for i in 0..count {
            let mut b = [0u8; 8];
            self.load((ptr + i * 8) as usize, &mut b);
            let (buf, len) = split_iovec(&b);
            if i == 0 {
                first = (buf, len);
            }
            if u64::from(buf) + u64::from(len) > self.len as u64 {
                return (Some((buf, len)), first);
            }
        }
        (None, first)
    }

    /// The `index`th iovec of a checked array: `(buf, len)`. The buffer itself is
    /// checked when it is moved. The first is the one [`iovecs`](Self::iovecs)
    /// read, so the usual one-buffer call reads its array once (and on a
    /// shared memory moves the very buffer it checked).
    #[inline(always)]
    pub fn iovec(&self, iovs: Iovecs, index: u32) -> (u32, u32) {
        debug_assert!(index < iovs.count);
        if index == 0 {
            return iovs.first;
        }
        let mut b = [0u8; 8];
        self.load((iovs.ptr + index * 8) as usize, &mut b);
        split_iovec(&b)
    }
}

/// The `(buf, len)` of the iovec at the start of `raw` (`(0, 0)` if `raw`
/// is shorter than one).
#[inline(always)]
fn split_iovec(raw: &[u8]) -> (u32, u32) {
    match raw.get(..8) {
        Some(v) => (
            u32::from_le_bytes([v[0], v[1], v[2], v[3]]),
            u32::from_le_bytes([v[4], v[5], v[6], v[7]]),
        ),
        None => (0, 0),
    }
}

/// Walks `r` in pieces of at most [`PIECE`] bytes: `step(at, piece)` moves
/// up to `piece` bytes at `at` and says how many it moved. One piece with
/// [`Pieces::Once`]; with [`Pieces::UntilShort`] the next for as long as each
/// one moves whole. A step's error is the result if nothing moved before it;
/// otherwise the count so far.
#[inline]
fn in_pieces(
    r: Range<usize>,
    pieces: Pieces,
    mut step: impl FnMut(usize, usize) -> Result<usize, Error>,
) -> Result<usize, Error> {
    let mut at = r.start;
    let mut total = 0;
    loop {
        let piece = (r.end - at).min(PIECE);
        let n = match step(at, piece) {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total += n;
        at += n;
        if pieces == Pieces::Once || n < piece || at == r.end {
            break;
        }
    }
    Ok(total)
}

/// The first of the iovecs in `raw` (8 bytes each) whose buffer ends past
/// `size`.
#[inline]
fn first_bad<'b>(raw: impl Iterator<Item = &'b [u8]>, size: usize) -> Option<(u32, u32)> {
    for v in raw {
        let buf = u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
        let len = u32::from_le_bytes([v[4], v[5], v[6], v[7]]);
        // In u64: cannot overflow, on 32-bit hosts either.
        if u64::from(buf) + u64::from(len) > size as u64 {
            return Some((buf, len));
        }
    }
    None
}

/// Moves the buffers of `iovs` (checked by [`GuestMemory::iovecs`]) as one
/// transfer, in order, as `readv(2)`/`writev(2)` do: `step(total, buf, len)`
/// moves up to `len` bytes of the buffer at `buf` (`len` never 0, and at most
/// what the call can still count; `total` is what moved before it) and says
/// how many. Empty buffers are skipped. The transfer stops after a short
/// step or at `u32::MAX` bytes. An errno ends it with the count so far if
/// some bytes moved (they are the answer), or is the call's error; a trap or
/// a stop is the call's outcome either way.
///
/// `mem` is a `&GuestMemory` for writes out of the guest and a `&mut
/// GuestMemory` for reads into it; each step gets it back to move its bytes.
#[inline]
pub(crate) fn each_iovec<'g, M: Deref<Target = GuestMemory<'g>>>(
    mem: &mut M,
    iovs: Iovecs,
    mut step: impl FnMut(&mut M, usize, u32, u32) -> Result<usize, Error>,
) -> Result<usize, Error> {
    let mut total = 0usize;
    for i in 0..iovs.count() {
        let (buf, len) = mem.iovec(iovs, i);
        let len = room(total, len);
        if len == 0 {
            continue;
        }
        let n = match step(mem, total, buf, len) {
            Ok(n) => n.min(len as usize),
            Err(Error::Errno(_)) if total > 0 => break,
            Err(e) => return Err(e),
        };
        total += n;
        if n < len as usize || total == MAX_IO {
            break;
        }
    }
    Ok(total)
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
    /// The first iovec, read when the array was checked (`(0, 0)` if none).
    first: (u32, u32),
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
        assert!(mem.read_bytes(0, 32).is_ok());
        assert!(mem.read_bytes(32, 0).is_ok());
        assert!(matches!(mem.read_bytes(1, 32), Err(Error::Trap(_))));
        assert!(matches!(
            mem.read_bytes(u32::MAX, u32::MAX),
            Err(Error::Trap(_))
        ));
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

    /// A memory reached only by copies, for the tests.
    struct Copies(Vec<u8>);

    impl CopyMemory for Copies {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn read(&self, offset: usize, dst: &mut [u8]) {
            dst.copy_from_slice(&self.0[offset..offset + dst.len()]);
        }
        fn write(&mut self, offset: usize, src: &[u8]) {
            self.0[offset..offset + src.len()].copy_from_slice(src);
        }
    }

    /// Runs `f` over a memory of `size` zero bytes of each kind, and returns
    /// the bytes each ended with.
    fn each_kind(size: usize, f: impl Fn(&mut GuestMemory<'_>)) -> [Vec<u8>; 3] {
        let mut slice = vec![0u8; size];
        f(&mut GuestMemory::new(&mut slice));
        let cells: Vec<UnsafeCell<u8>> = (0..size).map(|_| UnsafeCell::new(0)).collect();
        f(&mut GuestMemory::shared(&cells));
        let shared = cells.into_iter().map(UnsafeCell::into_inner).collect();
        let mut copies = Copies(vec![0; size]);
        f(&mut GuestMemory::copying(&mut copies));
        [slice, shared, copies.0]
    }

    #[test]
    fn every_kind_checks_and_moves_the_same() {
        let ends = each_kind(PIECE * 3, |mem| {
            assert_eq!(mem.len(), PIECE * 3);
            mem.write_u64(8, 0x0102_0304_0506_0708).unwrap();
            assert_eq!(mem.read_u64(8).unwrap(), 0x0102_0304_0506_0708);
            assert_eq!(mem.read_u16(8).unwrap(), 0x0708);
            assert!(matches!(mem.write_u32(2, 1), Err(Error::Trap(_))));
            let end = mem.len() as u32;
            assert!(matches!(mem.read_u32(end), Err(Error::Trap(_))));
            assert!(matches!(mem.copy_in(end - 1, b"ab"), Err(Error::Trap(_))));
            mem.copy_in(100, "é/x".as_bytes()).unwrap();
            assert_eq!(&*mem.read_str(100, 4).unwrap(), "é/x");
            assert_eq!(
                mem.read_str(100, 1).unwrap_err(),
                Error::Errno(Errno::Ilseq)
            );
            assert_eq!(
                mem.read_str(0, MAX_STR + 1).unwrap_err(),
                Error::Errno(Errno::Nametoolong)
            );
            assert!(matches!(mem.read_str(end, 1), Err(Error::Trap(_))));
            let mut out = [0u8; 4];
            mem.copy_out(100, &mut out).unwrap();
            assert_eq!(&out, "é/x".as_bytes());
            assert_eq!(&*mem.read_bytes(101, 2).unwrap(), &"é/x".as_bytes()[1..3]);
            mem.write_struct(16, 8, &[9u8; 16]).unwrap();
            assert_eq!(mem.read_struct::<16>(16, 8).unwrap(), [9u8; 16]);
            mem.write_u32(200, 7).unwrap();
            mem.write_u32(204, 3).unwrap();
            let iovs = mem.iovecs(200, 1).unwrap();
            assert_eq!(mem.iovec(iovs, 0), (7, 3));
        });
        assert!(ends[0] == ends[1] && ends[1] == ends[2]);
    }

    #[test]
    fn bulk_transfers_in_pieces() {
        let total = 2 * PIECE + 10;
        let ends = each_kind(total + 64, |mem| {
            // UntilShort: the whole range, in order, when every piece is taken.
            let mut next = 0u8;
            let n = mem
                .fill(64, total as u32, Pieces::UntilShort, |dst| {
                    for b in dst.iter_mut() {
                        *b = next;
                        next = next.wrapping_add(1);
                    }
                    Ok(dst.len())
                })
                .unwrap();
            assert_eq!(n, total);
            let mut seen = Vec::new();
            let n = mem
                .drain(64, total as u32, Pieces::UntilShort, |src| {
                    seen.extend_from_slice(src);
                    Ok(src.len())
                })
                .unwrap();
            assert_eq!(n, total);
            assert!(seen.iter().enumerate().all(|(i, &b)| b == i as u8));
            // A short piece ends the transfer, and only the filled prefix is
            // written.
            let n = mem
                .fill(0, 40, Pieces::UntilShort, |dst| {
                    dst[..3].fill(0xEE);
                    Ok(3)
                })
                .unwrap();
            assert_eq!(n, 3);
            assert_eq!(mem.read_u32(0).unwrap(), 0x00EE_EEEE);
            // An error before any byte moved is the call's error...
            let r = mem.fill(0, 8, Pieces::Once, |_| Err(Errno::Io.into()));
            assert_eq!(r, Err(Error::Errno(Errno::Io)));
            // ...and a count can never exceed the range.
            let n = mem.drain(0, 8, Pieces::Once, |_| Ok(100)).unwrap();
            assert_eq!(n, 8);
            assert!(matches!(
                mem.fill(64, total as u32 + 1, Pieces::Once, |d| Ok(d.len())),
                Err(Error::Trap(_))
            ));
        });
        assert!(ends[0] == ends[1] && ends[1] == ends[2]);
    }

    #[test]
    fn pieces_are_bounded_off_slices() {
        // Off a slice, Once moves one piece at most, and each call sees at
        // most PIECE bytes, so the host never holds more than that.
        let cells: Vec<UnsafeCell<u8>> = (0..4 * PIECE).map(|_| UnsafeCell::new(0)).collect();
        let mut mem = GuestMemory::shared(&cells);
        let mut calls = Vec::new();
        let n = mem
            .fill(0, 4 * PIECE as u32, Pieces::Once, |d| {
                calls.push(d.len());
                Ok(d.len())
            })
            .unwrap();
        assert_eq!((n, &calls[..]), (PIECE, &[PIECE][..]));
        calls.clear();
        let n = mem
            .drain(1, 3 * PIECE as u32, Pieces::UntilShort, |s| {
                calls.push(s.len());
                Ok(s.len())
            })
            .unwrap();
        assert_eq!((n, &calls[..]), (3 * PIECE, &[PIECE, PIECE, PIECE][..]));
        // A later piece's error keeps what moved before it.
        let mut left = 2;
        let n = mem
            .drain(0, 4 * PIECE as u32, Pieces::UntilShort, |s| {
                left -= 1;
                if left < 0 {
                    Err(Errno::Io.into())
                } else {
                    Ok(s.len())
                }
            })
            .unwrap();
        assert_eq!(n, 2 * PIECE);
    }

    #[test]
    fn strings() {
        let mut bytes = b"ok\xff".to_vec();
        let mem = GuestMemory::new(&mut bytes);
        assert_eq!(&*mem.read_str(0, 2).unwrap(), "ok");
        assert_eq!(mem.read_str(0, 3), Err(Error::Errno(Errno::Ilseq)));
        match mem.read_str(0, 4) {
            Err(Error::Trap(t)) => assert!(t.message().contains("out-of-bounds")),
            other => panic!("{other:?}"),
        }
    }
}
