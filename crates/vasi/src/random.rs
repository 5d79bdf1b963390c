//! Randomness: the [`Random`] trait and the operating system's source.

use crate::Errno;

/// The source of `random_get`.
pub trait Random: Send {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno>;
}

/// The operating system's cryptographically secure random source.
#[cfg(feature = "host")]
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

#[cfg(feature = "host")]
impl Random for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        getrandom::fill(buf).map_err(|_| Errno::Io)
    }
}

/// A cryptographically secure generator in user space: ChaCha12 (the
/// algorithm of `rand`'s `StdRng`) keyed with 32 bytes from the operating
/// system the first time it is used. The default source of `random_get`: a
/// small read costs no system call, unlike [`OsRandom`].
///
/// ```
/// use vasi::Random;
/// let mut r = vasi::random::ChaChaRandom::new();
/// let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
/// r.fill(&mut a)?;
/// r.fill(&mut b)?;
/// assert_ne!(a, b);
/// # Ok::<(), vasi::Errno>(())
/// ```
#[cfg(feature = "host")]
#[derive(Debug, Default)]
pub struct ChaChaRandom {
    rng: Option<rand_chacha::ChaCha12Rng>,
}

#[cfg(feature = "host")]
impl ChaChaRandom {
    /// A generator that will key itself from the OS on first use.
    pub fn new() -> Self {
        Self::default()
    }
}

#[cfg(feature = "host")]
impl Random for ChaChaRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        use rand_chacha::rand_core::{RngCore, SeedableRng};
        let rng = match &mut self.rng {
            Some(rng) => rng,
            None => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(|_| Errno::Io)?;
                self.rng.insert(rand_chacha::ChaCha12Rng::from_seed(key))
            }
        };
        rng.fill_bytes(buf);
        Ok(())
    }
}

/// A seeded, deterministic byte stream for reproducible runs (xoshiro256**,
/// seeded through splitmix64). Not for secrets: anyone who knows the seed knows
/// every byte.
///
/// The algorithm is part of vasi's contract: the same seed gives the same bytes
/// in every vasi version, so recorded outputs of deterministic runs stay valid.
/// (That is also why it lives here and not in a dependency whose stream could
/// change with an upgrade.)
///
/// ```
/// use vasi::Random;
/// use vasi::random::SeededRandom;
/// let (mut a, mut b) = (SeededRandom::new(7), SeededRandom::new(7));
/// let (mut x, mut y) = ([0u8; 16], [0u8; 16]);
/// a.fill(&mut x)?;
/// b.fill(&mut y)?;
/// assert_eq!(x, y);
/// assert_ne!(x, [0u8; 16]);
/// # Ok::<(), vasi::Errno>(())
/// ```
#[derive(Debug, Clone)]
pub struct SeededRandom {
    s: [u64; 4],
}

impl SeededRandom {
    /// The stream for `seed`.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut splitmix = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        SeededRandom {
            s: [splitmix(), splitmix(), splitmix(), splitmix()],
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }
}

impl Random for SeededRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        let mut chunks = buf.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let bytes = self.next_u64().to_le_bytes();
            rest.copy_from_slice(&bytes[..rest.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_streams_are_fixed_and_differ_by_seed() {
        let mut r = SeededRandom::new(0);
        // The first outputs for seed 0 are part of the contract: a change here
        // changes every recorded deterministic run.
        let first = r.next_u64();
        assert_eq!(first, 0x99ec_5f36_cb75_f2b4);
        let mut again = SeededRandom::new(0);
        assert_eq!(again.next_u64(), first);
        assert_ne!(SeededRandom::new(1).next_u64(), first);
        let mut odd = [0u8; 13];
        SeededRandom::new(0).fill(&mut odd).unwrap();
        assert_eq!(odd[..8], first.to_le_bytes());
    }
}
