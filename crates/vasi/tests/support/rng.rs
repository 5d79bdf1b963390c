//! The small deterministic generator (xorshift64*) that the randomized tests
//! share, so that a failure reproduces from its seed. Included with
//! `#[path]` by `fs_fuzz.rs`, `hostile.rs` and vasi-wasmtime's
//! `tests/all/invariants.rs`.

pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    #[allow(
        dead_code,
        reason = "not every test that includes this draws bounded values"
    )]
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
