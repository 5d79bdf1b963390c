//! Standard streams: capture buffers and the readers and writers behind fds 0-2.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

/// A cloneable in-memory sink for a guest's stdout or stderr; the host reads it
/// during or after the run.
///
/// ```
/// use std::io::Write;
/// let out = vasi::CaptureBuffer::new();
/// let mut writer = out.clone();
/// writer.write_all(b"hello")?;
/// assert_eq!(out.contents(), b"hello");
/// assert_eq!(out.to_string_lossy(), "hello");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Default, Debug)]
pub struct CaptureBuffer {
    buf: Arc<Mutex<Vec<u8>>>,
}

impl CaptureBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.lock().clone()
    }

    /// Everything written so far, as text (invalid UTF-8 replaced).
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(&self.lock()).into_owned()
    }

    /// Takes everything written so far, leaving the buffer empty.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.buf.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Write for CaptureBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.lock().extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
