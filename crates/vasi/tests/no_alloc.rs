//! A guest with no stdio configured costs no host allocation per call on
//! fds 0-2: reads of the absent stdin, writes to the discarded stdout and
//! stderr (empty or not), their fdstat and filestat, polls on them.
//!
//! Alone in its test binary: the global allocator below counts the
//! allocations of the thread that runs the calls.
#![allow(
    unsafe_code,
    reason = "a counting global allocator, which must implement the unsafe GlobalAlloc"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use vasi::{p1, GuestMemory, WasiCtxBuilder};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is passed on to the system allocator unchanged; the
// counter is a const-initialised thread-local without a destructor, which
// does not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: as the caller promised for `layout`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: as the caller promised.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn stdio_calls_allocate_nothing_without_stdio() {
    const IOVS: u32 = 256;
    const SUBS: u32 = 512;
    const EVENTS: u32 = 1024;
    const OUT: u32 = 64;
    let mut ctx = WasiCtxBuilder::new().build().unwrap();
    // With an interrupt handle out too: no reader thread for an absent stdin.
    let _handle = ctx.interrupt_handle();
    let mut bytes = vec![0u8; 4096];
    let mut mem = GuestMemory::new(&mut bytes);
    // One 16-byte iovec at 2048, one empty.
    mem.write_u32(IOVS, 2048).unwrap();
    mem.write_u32(IOVS + 4, 16).unwrap();
    mem.write_u32(IOVS + 8, 2048).unwrap();
    mem.write_u32(IOVS + 12, 0).unwrap();
    // poll_oneoff: fd_read on 0, fd_write on 1 and 2.
    for (i, (kind, fd)) in [(1u8, 0u32), (2, 1), (2, 2)].into_iter().enumerate() {
        let at = SUBS + 48 * i as u32;
        mem.write_u64(at, i as u64).unwrap();
        mem.write_u8(at + 8, kind).unwrap();
        mem.write_u32(at + 16, fd).unwrap();
    }
    let mut calls = |mem: &mut GuestMemory<'_>| {
        for fd in 0..3 {
            let _ = p1::fd_read(&mut ctx, mem, fd, IOVS, 2, OUT);
            let _ = p1::fd_write(&mut ctx, mem, fd, IOVS, 2, OUT);
            let _ = p1::fd_write(&mut ctx, mem, fd, IOVS + 8, 1, OUT);
            p1::fd_fdstat_get(&mut ctx, mem, fd, OUT).unwrap();
            p1::fd_filestat_get(&mut ctx, mem, fd, OUT).unwrap();
            p1::fd_fdstat_set_flags(&mut ctx, mem, fd, 0).unwrap();
            let _ = p1::fd_seek(&mut ctx, mem, fd, 0, 0, OUT);
            let _ = p1::fd_pread(&mut ctx, mem, fd, IOVS, 1, 0, OUT);
        }
        p1::poll_oneoff(&mut ctx, mem, SUBS, EVENTS, 3, OUT).unwrap();
        assert_eq!(mem.read_u32(OUT).unwrap(), 3);
    };
    // Once to settle anything lazy, then counted.
    calls(&mut mem);
    let before = allocations();
    for _ in 0..1000 {
        calls(&mut mem);
    }
    assert_eq!(
        allocations() - before,
        0,
        "allocations in 1000 rounds of stdio calls"
    );
    // The counter does count: an allocation on this thread shows.
    let v = std::hint::black_box(vec![1u8; 10]);
    assert!(allocations() > before);
    drop(v);
}
