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
