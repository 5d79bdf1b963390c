//! Clocks: the [`Clocks`] trait and the host's real clocks.

use crate::{Errno, InterruptHandle};
use std::sync::atomic::{AtomicU64, Ordering};
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

    /// Blocks the guest for `duration` (used by `poll_oneoff`), returning early
    /// if `interrupt` fires (see [`InterruptHandle::wait_timeout`]). A simulated
    /// clock may advance itself instead of sleeping.
    fn sleep(&self, duration: Duration, interrupt: &InterruptHandle) {
        interrupt.wait_timeout(duration);
    }
}

/// Shared clocks: one timeline for a context and, say, a
/// [`MemFs`](crate::vfs::MemFs) that stamps file times with it.
impl<C: Clocks + ?Sized> Clocks for std::sync::Arc<C> {
    fn now(&self, id: ClockId) -> Result<u64, Errno> {
        (**self).now(id)
    }

    fn resolution(&self, id: ClockId) -> Result<u64, Errno> {
        (**self).resolution(id)
    }

    fn sleep(&self, duration: Duration, interrupt: &InterruptHandle) {
        (**self).sleep(duration, interrupt)
    }
}

/// The host's clocks: `Realtime` is the system's wall clock, `Monotonic` counts
/// from the moment the clocks were created, and the CPU-time clocks are
/// approximated by the monotonic clock (the guest cannot observe the host
/// process's CPU use).
#[derive(Debug, Clone)]
pub struct HostClocks {
    start: Stamp,
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
            start: Stamp::now(),
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
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub(crate) fn now_realtime() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Clocks for reproducible runs: time starts at a fixed instant and moves only
/// when the guest reads a clock (by a fixed step) or sleeps (by exactly the
/// time asked, without waiting).
///
/// `Realtime` starts at [`DeterministicClocks::DEFAULT_START`] (or the instant
/// given), `Monotonic` and the CPU-time clocks at 0; all of them share one
/// virtual timeline. Two runs of the same guest with the same inputs read the
/// same times.
///
/// ```
/// use vasi::{ClockId, Clocks, InterruptHandle};
/// use vasi::clocks::DeterministicClocks;
/// use std::time::Duration;
/// let clocks = DeterministicClocks::new().with_step(Duration::from_micros(1));
/// assert_eq!(clocks.now(ClockId::Monotonic)?, 0);
/// assert_eq!(clocks.now(ClockId::Monotonic)?, 1_000);
/// clocks.sleep(Duration::from_secs(3600), &InterruptHandle::default()); // returns at once
/// assert_eq!(clocks.now(ClockId::Monotonic)?, 3_600_000_002_000);
/// # Ok::<(), vasi::Errno>(())
/// ```
#[derive(Debug)]
pub struct DeterministicClocks {
    start_realtime: u64,
    step: u64,
    elapsed: AtomicU64,
}

impl Default for DeterministicClocks {
    fn default() -> Self {
        Self::new()
    }
}

impl DeterministicClocks {
    /// The default start of `Realtime`: 2020-01-01T00:00:00Z, in nanoseconds
    /// since the Unix epoch.
    pub const DEFAULT_START: u64 = 1_577_836_800 * 1_000_000_000;

    /// Clocks starting at [`Self::DEFAULT_START`] that advance 1 µs per read.
    pub fn new() -> Self {
        DeterministicClocks {
            start_realtime: Self::DEFAULT_START,
            step: 1_000,
            elapsed: AtomicU64::new(0),
        }
    }

    /// `Realtime` starts at `nanos` since the Unix epoch.
    pub fn with_start(mut self, nanos: u64) -> Self {
        self.start_realtime = nanos;
        self
    }

    /// Each read of a clock advances time by `step` (zero freezes time except
    /// for sleeps).
    pub fn with_step(mut self, step: Duration) -> Self {
        self.step = u64::try_from(step.as_nanos()).unwrap_or(u64::MAX);
        self
    }

    /// Nanoseconds elapsed on the virtual timeline so far.
    pub fn elapsed(&self) -> u64 {
        self.elapsed.load(Ordering::Relaxed)
    }

    /// Moves time on by `by`; returns the time before.
    fn advance(&self, by: u64) -> u64 {
        let step = |t: u64| Some(t.saturating_add(by));
        match self
            .elapsed
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, step)
        {
            Ok(before) | Err(before) => before,
        }
    }
}

impl Clocks for DeterministicClocks {
    fn now(&self, id: ClockId) -> Result<u64, Errno> {
        let t = self.advance(self.step);
        Ok(match id {
            ClockId::Realtime => self.start_realtime.saturating_add(t),
            ClockId::Monotonic | ClockId::ProcessCputime | ClockId::ThreadCputime => t,
        })
    }

    fn resolution(&self, _id: ClockId) -> Result<u64, Errno> {
        Ok(self.step.max(1))
    }

    fn sleep(&self, duration: Duration, _interrupt: &InterruptHandle) {
        self.advance(u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX));
    }
}

/// A point on the monotonic clock the core itself measures waits with
/// (`poll_oneoff`, hook durations, [`HostClocks`]): `std::time::Instant`
/// where the standard library has a clock, the clock set with
/// `set_platform_time` on `wasm32-unknown-unknown`, where it has none (and
/// `Instant::now` panics).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stamp {
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    at: std::time::Instant,
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    at: u64,
}

impl Stamp {
    /// Now.
    #[inline]
    pub(crate) fn now() -> Self {
        #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
        return Stamp {
            at: std::time::Instant::now(),
        };
        #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
        return Stamp {
            at: platform::monotonic(),
        };
    }

    /// The time since `self`.
    #[inline]
    pub(crate) fn elapsed(&self) -> Duration {
        #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
        return self.at.elapsed();
        #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
        return Duration::from_nanos(platform::monotonic().saturating_sub(self.at));
    }
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub use platform::set_platform_time;

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub(crate) use platform::realtime as now_realtime;

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod platform {
    use std::sync::OnceLock;

    type Source = (fn() -> u64, fn() -> u64);
    static SOURCE: OnceLock<Source> = OnceLock::new();

    /// Gives the core its clocks on `wasm32-unknown-unknown`, where the
    /// standard library has none: `monotonic` (nanoseconds since any fixed
    /// point, never decreasing) and `realtime` (nanoseconds since the Unix
    /// epoch). The embedder (vasi-web: the JS engine's `performance.now()`
    /// and `Date.now()`) calls it once, before building a context; the first
    /// call wins. Until then both clocks read 0.
    pub fn set_platform_time(monotonic: fn() -> u64, realtime: fn() -> u64) {
        let _ = SOURCE.set((monotonic, realtime));
    }

    pub(crate) fn monotonic() -> u64 {
        SOURCE.get().map_or(0, |s| (s.0)())
    }

    pub(crate) fn realtime() -> u64 {
        SOURCE.get().map_or(0, |s| (s.1)())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_clocks_share_one_timeline() {
        let c = DeterministicClocks::new()
            .with_start(5_000)
            .with_step(Duration::from_nanos(10));
        assert_eq!(c.now(ClockId::Realtime), Ok(5_000));
        assert_eq!(c.now(ClockId::Monotonic), Ok(10));
        c.sleep(Duration::from_nanos(100), &InterruptHandle::default());
        assert_eq!(c.now(ClockId::Realtime), Ok(5_120));
        assert_eq!(c.resolution(ClockId::Monotonic), Ok(10));
        let frozen = DeterministicClocks::new().with_step(Duration::ZERO);
        assert_eq!(frozen.now(ClockId::Monotonic), Ok(0));
        assert_eq!(frozen.now(ClockId::Monotonic), Ok(0));
        assert_eq!(frozen.resolution(ClockId::Monotonic), Ok(1));
    }
}
