//! Host-side tests: every guest program in tests/programs runs through the real
//! runtime, on a host directory and on an in-memory filesystem.

mod dense;
mod harness;
mod invariants;
mod memory_lookup;
mod p1;
mod readme;
mod threads;
