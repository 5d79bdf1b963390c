//! `random_get` fills buffers with fresh, non-trivial bytes.
//!
//! Host contract: no args beyond argv[0], no env, empty stdin; stdout and
//! stderr empty; exit code 0.

use test_programs::{addr_mut, assert_ok, random_get, raw, Check};

fn main() {
    let mut a = [0u8; 64];
    let mut b = [0u8; 64];
    random_get(&mut a).check("random_get(64)");
    random_get(&mut b).check("random_get(64)");
    assert!(a.iter().any(|&x| x != 0), "64 random bytes are all zero");
    assert!(b.iter().any(|&x| x != 0), "64 random bytes are all zero");
    assert_ne!(a, b, "two random_get calls returned the same 64 bytes");

    // Length 0 succeeds and writes nothing.
    let mut guard = [0x5au8; 8];
    // SAFETY: length 0; the pointer is valid anyway.
    assert_ok!(unsafe { raw::random_get(addr_mut(&mut guard[..]), 0) });
    assert_eq!(guard, [0x5a; 8], "random_get(len 0) wrote bytes");

    // 1 MiB, filled everywhere: no 4 KiB block is all zero (chance of a false
    // failure: 256 * 2^-32768), and every byte value appears (1 MiB uniform
    // bytes miss a value with probability about 256 * e^-4096).
    let mut big = vec![0u8; 1 << 20];
    random_get(&mut big).check("random_get(1 MiB)");
    for (i, block) in big.chunks(4096).enumerate() {
        assert!(
            block.iter().any(|&x| x != 0),
            "4 KiB block {i} of 1 MiB is all zero"
        );
    }
    let mut seen = [false; 256];
    for &x in &big {
        seen[x as usize] = true;
    }
    let missing = seen.iter().filter(|s| !**s).count();
    assert_eq!(
        missing, 0,
        "{missing} byte values never appear in 1 MiB of random bytes"
    );
    // The tail must be written too (a host that stops early leaves zeros).
    assert!(
        big[big.len() - 64..].iter().any(|&x| x != 0),
        "last 64 bytes all zero"
    );
}
