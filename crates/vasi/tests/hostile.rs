//! Every hostcall, called thousands of times with hostile arguments over a
//! memory of random bytes, returns an errno, a trap or an exit, and never
//! panics or touches memory out of bounds.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;
use vasi::vfs::MemFs;
use vasi::{p1, ClockId, Clocks, Errno, GuestMemory, WasiCtx, WasiCtxBuilder};

/// Clocks whose sleeps return at once, so that a hostile `poll_oneoff` timeout
/// cannot stall the test.
struct NoSleep;

impl Clocks for NoSleep {
    fn now(&self, _id: ClockId) -> Result<u64, Errno> {
        Ok(1_700_000_000_000_000_000)
    }
    fn resolution(&self, _id: ClockId) -> Result<u64, Errno> {
        Ok(1)
    }
    fn sleep(&self, _duration: Duration, _interrupt: &vasi::InterruptHandle) {}
}

/// Narrows a drawn value to a parameter's type (an `i32` keeps the low bits).
trait Draw {
    fn draw(v: u64) -> Self;
}

impl Draw for u32 {
    fn draw(v: u64) -> Self {
        v as u32
    }
}

impl Draw for u64 {
    fn draw(v: u64) -> Self {
        v
    }
}

/// The Rust type the core takes for a wasm parameter type.
macro_rules! host_ty {
    (i32) => {
        u32
    };
    (i64) => {
        u64
    };
}

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

impl Rng {
    /// Mostly values near the edges that hostcalls must handle.
    fn arg(&mut self, mem_len: u64) -> u64 {
        let interesting = [
            0,
            1,
            2,
            3,
            4,
            7,
            8,
            64,
            255,
            4096,
            mem_len - 8,
            mem_len - 1,
            mem_len,
            mem_len + 1,
            u32::MAX as u64 - 7,
            u32::MAX as u64,
            u64::MAX,
            i64::MAX as u64,
            1 << 31,
        ];
        match self.next() % 4 {
            0 => self.next(),
            1 => self.next() % 16,
            2 => self.next() % mem_len,
            _ => interesting[(self.next() % interesting.len() as u64) as usize],
        }
    }
}

fn context() -> WasiCtx {
    let fs = MemFs::with_quota(1 << 20);
    fs.write("a.txt", b"some contents").unwrap();
    fs.write("dir/b.txt", b"more").unwrap();
    WasiCtxBuilder::new()
        .args(["prog", "arg"])
        .env("K", "V")
        .stdin(std::io::Cursor::new(vec![b'x'; 100]))
        .preopen_dir(fs.root(), "/sandbox")
        .preopen_dir(MemFs::new().root(), "/tmp")
        .clocks(NoSleep)
        .build()
        .unwrap()
}

#[test]
fn hostile_arguments_never_panic() {
    const MEM: usize = 1 << 16;
    let mut rng = Rng(0x5eed_1234_abcd_9876);
    let mut bytes = vec![0u8; MEM];
    let mut calls = 0u32;
    macro_rules! fuzz {
        ($($name:ident($($arg:ident: $ty:ident),*);)*) => {$(
            // A fresh context every 50 calls, so closed fds and renamed files
            // do not end the interesting part early.
            let mut ctx = context();
            for i in 0..1500 {
                if i % 50 == 0 {
                    ctx = context();
                    for b in bytes.iter_mut() {
                        *b = rng.next() as u8;
                    }
                }
                $(let $arg: host_ty!($ty) = Draw::draw(rng.arg(MEM as u64));)*
                let args: Vec<u64> = vec![$(u64::from($arg)),*];
                let result = catch_unwind(AssertUnwindSafe(|| {
                    let mut mem = GuestMemory::new(&mut bytes);
                    p1::$name(&mut ctx, &mut mem, $($arg),*)
                }));
                assert!(
                    result.is_ok(),
                    "{} panicked with arguments {:?}",
                    stringify!($name),
                    args
                );
                calls += 1;
            }
        )*};
    }
    vasi::for_each_hostcall!(fuzz);
    assert_eq!(calls, 45 * 1500);
}
