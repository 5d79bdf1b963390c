//! Reads a global through the SDK in loops, for the benchmark in
//! crates/vasi-globals/benches/read.rs; the tests check what it reads.
//!
//! Each export takes a count `n`, does `n` reads, and returns the sum of the
//! values read (wrapping), so that no read can be optimized away.

use std::hint::black_box;
use std::time::Instant;
use vasi_globals_sdk::Global;

static TEST_UINT64: Global<u64> = Global::new("TEST_UINT64", 42);

/// `n` typed reads, [`Global::get`] (cached by generation).
#[no_mangle]
pub extern "C" fn typed_reads(n: u32) -> u64 {
    let mut sum = 0u64;
    for _ in 0..n {
        sum = sum.wrapping_add(black_box(&TEST_UINT64).get());
    }
    sum
}

/// `n` raw reads, [`vasi_globals_sdk::get`]: one `get` hostcall each.
#[no_mangle]
pub extern "C" fn raw_reads(n: u32) -> u64 {
    let mut sum = 0u64;
    for _ in 0..n {
        let v = vasi_globals_sdk::get(black_box("TEST_UINT64"));
        sum = sum.wrapping_add(v.ok().flatten().unwrap_or(42));
    }
    sum
}

/// `n` reads of the monotonic clock, [`Instant::now`]: one `clock_time_get`
/// each.
#[no_mangle]
pub extern "C" fn clock_reads(n: u32) -> u64 {
    let start = Instant::now();
    let mut sum = 0u64;
    for _ in 0..n {
        sum = sum.wrapping_add(Instant::now().duration_since(start).as_nanos() as u64);
    }
    sum
}

fn main() {}
