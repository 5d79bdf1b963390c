//! `random_get`.

use crate::{Error, GuestMemory, Pieces, WasiCtx};

/// Fills `buf..buf+len` with random bytes, straight into guest memory.
///
/// This corresponds to `random_get` in `wasi_snapshot_preview1`.
pub fn random_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    buf: u32,
    len: u32,
) -> Result<(), Error> {
    let random = &mut ctx.random;
    mem.fill(buf, len, Pieces::UntilShort, |dst| {
        random.fill(dst)?;
        Ok(dst.len())
    })?;
    Ok(())
}
