//! `clock_*`.

use crate::clocks::ClockId;
use crate::{Error, GuestMemory, WasiCtx};

/// Writes the resolution of clock `id` (nanoseconds, a `u64`) to `resolution`.
///
/// This corresponds to `clock_res_get` in `wasi_snapshot_preview1`.
pub fn clock_res_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    id: u32,
    resolution: u32,
) -> Result<(), Error> {
    let res = ctx.clocks.resolution(ClockId::from_raw(id)?)?;
    mem.write_u64(resolution, res)
}

/// Writes the time of clock `id` (nanoseconds, a `u64`) to `time`.
///
/// This corresponds to `clock_time_get` in `wasi_snapshot_preview1`.
pub fn clock_time_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    id: u32,
    _precision: u64,
    time: u32,
) -> Result<(), Error> {
    let now = ctx.clocks.now(ClockId::from_raw(id)?)?;
    mem.write_u64(time, now)
}
