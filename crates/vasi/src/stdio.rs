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

/// The guest's stdin: any reader, read directly until the guest first polls it;
/// from then on a helper thread reads ahead into a buffer, so that readiness
/// can be known (and waited for) without blocking the guest.
pub(crate) struct InputStream {
    direct: Option<Box<dyn std::io::Read + Send>>,
    pump: Option<Arc<Pump>>,
}

/// What the read-ahead thread shares with the guest.
struct Pump {
    state: Mutex<PumpState>,
    changed: std::sync::Condvar,
}

#[derive(Default)]
struct PumpState {
    buf: std::collections::VecDeque<u8>,
    /// End of input reached (or a read error, kept for the guest).
    done: Option<Option<io::ErrorKind>>,
}

/// How much the read-ahead thread buffers before waiting for the guest.
const PUMP_BUFFER: usize = 64 * 1024;

/// The state of stdin as `poll_oneoff` sees it.
pub(crate) enum Readiness {
    /// This many bytes can be read now.
    Bytes(u64),
    /// The input has ended (a read returns 0 or the error).
    Hangup,
    /// Nothing yet.
    Pending,
}

impl InputStream {
    pub(crate) fn new(reader: Box<dyn std::io::Read + Send>) -> Self {
        InputStream {
            direct: Some(reader),
            pump: None,
        }
    }

    /// Reads like `Read::read`: blocks until at least one byte or the end.
    pub(crate) fn read(
        &mut self,
        dst: &mut [u8],
        interrupt: &crate::InterruptHandle,
    ) -> Result<usize, crate::Error> {
        let to_error = |e: io::Error| crate::Error::Errno(e.into());
        if interrupt.armed() && self.direct.is_some() {
            // A direct read could block for ever; the pump's can be left.
            self.start_pump();
        }
        if let Some(r) = &mut self.direct {
            return loop {
                match r.read(dst) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other.map_err(to_error),
                }
            };
        }
        let Some(pump) = &self.pump else {
            return Ok(0);
        };
        let mut st = pump.state.lock().unwrap_or_else(|e| e.into_inner());
        while st.buf.is_empty() && st.done.is_none() {
            interrupt.check()?;
            st = if interrupt.armed() {
                pump.changed
                    .wait_timeout(st, crate::interrupt::SLICE)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            } else {
                pump.changed.wait(st).unwrap_or_else(|e| e.into_inner())
            };
        }
        if st.buf.is_empty() {
            return match st.done {
                Some(Some(kind)) => Err(to_error(kind.into())),
                _ => Ok(0),
            };
        }
        let n = dst.len().min(st.buf.len());
        let (a, b) = st.buf.as_slices();
        let from_a = n.min(a.len());
        dst[..from_a].copy_from_slice(&a[..from_a]);
        dst[from_a..n].copy_from_slice(&b[..n - from_a]);
        st.buf.drain(..n);
        pump.changed.notify_all();
        Ok(n)
    }

    /// Starts reading ahead (once) and reports what can be read, waiting up to
    /// `timeout` for something to change.
    pub(crate) fn readiness(&mut self, timeout: std::time::Duration) -> Readiness {
        let pump = self.start_pump();
        let st = pump.state.lock().unwrap_or_else(|e| e.into_inner());
        let (st, _) = pump
            .changed
            .wait_timeout_while(st, timeout, |st| st.buf.is_empty() && st.done.is_none())
            .unwrap_or_else(|e| e.into_inner());
        if !st.buf.is_empty() {
            Readiness::Bytes(st.buf.len() as u64)
        } else if st.done.is_some() {
            Readiness::Hangup
        } else {
            Readiness::Pending
        }
    }

    fn start_pump(&mut self) -> Arc<Pump> {
        if let Some(p) = &self.pump {
            return p.clone();
        }
        let pump = Arc::new(Pump {
            state: Mutex::new(PumpState::default()),
            changed: std::sync::Condvar::new(),
        });
        if let Some(mut reader) = self.direct.take() {
            let shared = pump.clone();
            let spawned = std::thread::Builder::new()
                .name("vasi-stdin".into())
                .spawn(move || {
                    let mut chunk = vec![0u8; 16 * 1024];
                    loop {
                        {
                            let st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
                            let _st = shared
                                .changed
                                .wait_while(st, |st| st.buf.len() >= PUMP_BUFFER)
                                .unwrap_or_else(|e| e.into_inner());
                        }
                        let r = reader.read(&mut chunk);
                        let mut st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
                        match r {
                            Ok(0) => st.done = Some(None),
                            Ok(n) => st.buf.extend(&chunk[..n]),
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                            Err(e) => st.done = Some(Some(e.kind())),
                        }
                        let done = st.done.is_some();
                        drop(st);
                        shared.changed.notify_all();
                        if done {
                            return;
                        }
                    }
                });
            if spawned.is_err() {
                // No thread: stdin can only be reported as ended.
                let mut st = pump.state.lock().unwrap_or_else(|e| e.into_inner());
                st.done = Some(Some(io::ErrorKind::OutOfMemory));
            }
        }
        self.pump = Some(pump.clone());
        pump
    }
}
