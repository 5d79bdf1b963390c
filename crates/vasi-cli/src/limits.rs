//! `--max-memory`: one budget for the whole instance, all its linear memories
//! and tables together.

use std::fmt;
use wasmtime::ResourceLimiter;

/// What one table element is counted as: wasmtime keeps a `funcref` or an
/// `externref` element as one pointer-sized slot (8 bytes on 64-bit hosts).
pub(crate) const TABLE_ELEMENT_BYTES: usize = 8;

/// Refuses growth that would take the instance's memories and tables past
/// `--max-memory` together, with an error (a trap) that says so. Memories
/// count their byte size, tables [`TABLE_ELEMENT_BYTES`] per element.
///
/// wasmtime asks before every memory or table is created (from size 0) or
/// grown, and tells when an allowed growth failed after all; nothing is ever
/// freed before the instance is gone, so a running total is exact.
pub(crate) struct MemoryCap {
    max: Option<usize>,
    /// Bytes granted so far, to every memory and table.
    used: usize,
    /// The last growth granted, taken back if wasmtime says it failed.
    pending: usize,
}

impl MemoryCap {
    /// A cap of `max` bytes (`None`: no cap, but still counted).
    pub(crate) fn new(max: Option<usize>) -> Self {
        MemoryCap {
            max,
            used: 0,
            pending: 0,
        }
    }

    fn grow(&mut self, what: &'static str, by: usize) -> wasmtime::Result<bool> {
        let desired = self.used.saturating_add(by);
        if let Some(max) = self.max {
            if desired > max {
                return Err(wasmtime::Error::new(MemoryLimitHit { max, desired, what }));
            }
        }
        self.used = desired;
        self.pending = by;
        Ok(true)
    }

    fn failed(&mut self) {
        self.used -= self.pending.min(self.used);
        self.pending = 0;
    }
}

/// The error a refused growth traps with.
#[derive(Debug)]
pub(crate) struct MemoryLimitHit {
    max: usize,
    desired: usize,
    what: &'static str,
}

impl fmt::Display for MemoryLimitHit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the guest's memories and tables would grow to {} bytes (a {}), beyond --max-memory ({} bytes)",
            self.desired, self.what, self.max
        )
    }
}

impl std::error::Error for MemoryLimitHit {}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow("memory", desired.saturating_sub(current))
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.failed();
        Ok(())
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let elements = desired.saturating_sub(current);
        self.grow("table", elements.saturating_mul(TABLE_ELEMENT_BYTES))
    }

    fn table_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.failed();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memories_and_tables_share_one_budget() {
        let mut cap = MemoryCap::new(Some(100 << 20));
        // Two memories of 40 MiB: fine; a third is over.
        assert!(cap.memory_growing(0, 40 << 20, None).unwrap());
        assert!(cap.memory_growing(0, 40 << 20, None).unwrap());
        let e = cap.memory_growing(0, 40 << 20, None).unwrap_err();
        assert!(e.to_string().contains("beyond --max-memory"), "{e}");
        // A failed growth gives its share back.
        assert!(cap.memory_growing(40 << 20, 50 << 20, None).unwrap());
        cap.memory_grow_failed(wasmtime::Error::msg("no")).unwrap();
        assert_eq!(cap.used, 80 << 20);
        // Tables count 8 bytes per element.
        assert!(cap.table_growing(0, 1 << 20, None).unwrap());
        assert_eq!(cap.used, (80 << 20) + (8 << 20));
        assert!(cap.table_growing(1 << 20, 3 << 20, None).is_err());
        // No cap: everything is allowed.
        let mut free = MemoryCap::new(None);
        assert!(free.table_growing(0, usize::MAX, None).unwrap());
        assert!(free.memory_growing(0, usize::MAX, None).unwrap());
    }
}
