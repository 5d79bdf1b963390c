//! Cancellation: the handle an embedder uses to end hostcalls that block.
//!
//! A wasm runtime can stop a guest that is running wasm code (wasmtime's epoch
//! interruption, fuel), but not one that is blocked inside a hostcall: sleeping
//! in `poll_oneoff`, reading an open stdin, waiting in `sock_accept`, sending
//! to a peer that does not read, writing to the host's stdout when it is a
//! full pipe. An [`InterruptHandle`] reaches those (not an embedder's own
//! reader or writer that blocks, which vasi calls as it is): once [`interrupt`](InterruptHandle::interrupt)
//! is called, every blocking hostcall of its context returns
//! [`Error::Stopped`] with
//! [`StopReason::Interrupted`](crate::StopReason::Interrupted) within a few
//! milliseconds, and the binding ends the guest with that error.

use crate::Error;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long a blocking wait that cannot be woken directly (a socket, a reader
/// thread) sleeps between two looks at the interrupt flag.
pub(crate) const SLICE: Duration = Duration::from_millis(20);

/// Ends the blocking hostcalls of one [`WasiCtx`](crate::WasiCtx), from any
/// thread. Cheap to clone; every clone interrupts the same context.
///
/// Get one with [`WasiCtx::interrupt_handle`](crate::WasiCtx::interrupt_handle).
///
/// ```
/// use std::time::Duration;
/// let ctx = vasi::WasiCtxBuilder::new().build()?;
/// let handle = ctx.interrupt_handle();
/// let waiter = handle.clone();
/// let t = std::thread::spawn(move || waiter.wait_timeout(Duration::from_secs(3600)));
/// handle.interrupt();
/// assert!(t.join().unwrap(), "the hour-long wait ended early");
/// assert!(handle.is_interrupted());
/// # Ok::<(), vasi::BuildError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct InterruptHandle {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    interrupted: AtomicBool,
    /// Set once a handle was given out: from then on, blocking calls wait in
    /// ways that can be interrupted (stdin through a reader thread, sockets
    /// through `poll` in slices).
    armed: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

impl InterruptHandle {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Ends every blocking hostcall of the context, now and from now on.
    pub fn interrupt(&self) {
        self.inner.interrupted.store(true, Ordering::SeqCst);
        let _guard = self.inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.inner.wake.notify_all();
    }

    /// Whether [`interrupt`](Self::interrupt) was called.
    pub fn is_interrupted(&self) -> bool {
        self.inner.interrupted.load(Ordering::SeqCst)
    }

    /// Sleeps for `duration` or until interrupted; returns whether it was
    /// interrupted. [`Clocks::sleep`](crate::Clocks::sleep) implementations use
    /// it.
    pub fn wait_timeout(&self, duration: Duration) -> bool {
        let deadline = Instant::now().checked_add(duration);
        let mut guard = self.inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self.is_interrupted() {
                return true;
            }
            let left = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left,
                    _ => return false,
                },
                None => Duration::from_secs(3600),
            };
            guard = self
                .inner
                .wake
                .wait_timeout(guard, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    pub(crate) fn arm(&self) {
        self.inner.armed.store(true, Ordering::SeqCst);
    }

    /// Whether blocking calls must be interruptible.
    #[inline]
    pub(crate) fn armed(&self) -> bool {
        self.inner.armed.load(Ordering::Relaxed)
    }

    /// `Err(Stopped)` once interrupted.
    #[inline]
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.is_interrupted() {
            Err(Error::interrupted())
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_runs_its_course_unless_interrupted() {
        let h = InterruptHandle::new();
        let t = Instant::now();
        assert!(!h.wait_timeout(Duration::from_millis(30)));
        assert!(t.elapsed() >= Duration::from_millis(30));
        assert!(h.check().is_ok());
        h.interrupt();
        assert!(h.wait_timeout(Duration::from_secs(60)));
        assert_eq!(h.check(), Err(Error::interrupted()));
    }
}
