//! `sched_yield`.

use crate::{Error, GuestMemory, WasiCtx};

/// Yields the host thread.
///
/// This corresponds to `sched_yield` in `wasi_snapshot_preview1`.
pub fn sched_yield(_ctx: &mut WasiCtx, _mem: &mut GuestMemory<'_>) -> Result<(), Error> {
    std::thread::yield_now();
    Ok(())
}
