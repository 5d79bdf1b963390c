//! Clocks: the [`Clocks`] trait and the host's real clocks.

use crate::Errno;
use std::time::Duration;

/// A preview1 clock id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClockId {
    /// Wall-clock time, nanoseconds since the Unix epoch.
    Realtime,
    /// A clock that never goes backwards, from an arbitrary origin.
    Monotonic,
    /// CPU time consumed by the process.
    ProcessCputime,
    /// CPU time consumed by the thread.
    ThreadCputime,
}

impl ClockId {
    /// The clock with preview1 number `raw`; `EINVAL` if there is none.
    pub fn from_raw(raw: u32) -> Result<Self, Errno> {
        Ok(match raw {
            0 => ClockId::Realtime,
            1 => ClockId::Monotonic,
            2 => ClockId::ProcessCputime,
            3 => ClockId::ThreadCputime,
            _ => return Err(Errno::Inval),
        })
    }
}

/// The clocks a guest sees.
///
/// Implement it for deterministic or simulated time; [`HostClocks`] is the real
/// thing.
pub trait Clocks: Send + Sync {
    /// The current time of `id`, in nanoseconds.
    fn now(&self, id: ClockId) -> Result<u64, Errno>;

    /// The resolution of `id`, in nanoseconds.
    fn resolution(&self, id: ClockId) -> Result<u64, Errno>;

    /// Blocks the guest for `duration` (used by `poll_oneoff`). A simulated clock
    /// may advance itself instead of sleeping.
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// The host's clocks: `Realtime` is the system's wall clock, `Monotonic` counts
/// from the moment the clocks were created, and the CPU-time clocks are
/// approximated by the monotonic clock (the guest cannot observe the host
/// process's CPU use).
#[derive(Debug, Clone)]
pub struct HostClocks {
    start: std::time::Instant,
}

impl Default for HostClocks {
    fn default() -> Self {
        Self::new()
    }
}

impl HostClocks {
    /// Clocks whose monotonic origin is now.
    pub fn new() -> Self {
        HostClocks {
            start: std::time::Instant::now(),
        }
    }
}

impl Clocks for HostClocks {
    fn now(&self, id: ClockId) -> Result<u64, Errno> {
        Ok(match id {
            ClockId::Realtime => now_realtime(),
            ClockId::Monotonic | ClockId::ProcessCputime | ClockId::ThreadCputime => {
                u64::try_from(self.start.elapsed().as_nanos()).map_err(|_| Errno::Overflow)?
            }
        })
    }

    fn resolution(&self, _id: ClockId) -> Result<u64, Errno> {
        Ok(1)
    }
}

/// The host's wall-clock time in nanoseconds since the Unix epoch (0 before it).
pub(crate) fn now_realtime() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
