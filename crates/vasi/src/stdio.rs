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

/// An output for the guest's stdout or stderr that moves the guest's bytes
/// itself, told where they are in guest memory, instead of being handed
/// them: for an embedder whose guest memory lives outside vasi (a JS
/// engine's), where the bytes can then go from the guest's memory to their
/// consumer in one copy rather than two. vasi-web hands stdout and stderr to
/// its JS callbacks this way. See [`WasiCtxBuilder::stdout_direct`](crate::WasiCtxBuilder::stdout_direct).
///
/// ```
/// use vasi::{DirectWrite, Error, GuestMemory, Pieces};
///
/// /// Keeps what the guest writes (as a `CaptureBuffer` would, by hand).
/// struct Keep(Vec<u8>);
/// impl DirectWrite for Keep {
///     fn write_direct(&mut self, mem: &GuestMemory<'_>, ptr: u32, len: u32) -> Result<usize, Error> {
///         mem.drain(ptr, len, Pieces::UntilShort, |bytes| {
///             self.0.extend_from_slice(bytes);
///             Ok(bytes.len())
///         })
///     }
/// }
///
/// let ctx = vasi::WasiCtxBuilder::new().stdout_direct(Keep(Vec::new())).build()?;
/// # Ok::<(), vasi::BuildError>(())
/// ```
pub trait DirectWrite: Send {
    /// Writes the `len` bytes (never 0) at `ptr` of `mem`, which vasi has
    /// checked to be in bounds, and returns how many it wrote: as
    /// [`Write::write`], fewer than `len` is a short write (the call reports
    /// the bytes written so far and stops), and an error with nothing
    /// written is the call's error.
    fn write_direct(
        &mut self,
        mem: &crate::GuestMemory<'_>,
        ptr: u32,
        len: u32,
    ) -> Result<usize, crate::Error>;
}

/// The guest's stdout or stderr: any writer, or the host process's own stream.
pub(crate) struct OutputStream {
    sink: Sink,
    /// Whether the host stream is a regular file (found out once, when
    /// writing interruptibly first).
    #[cfg_attr(
        not(all(feature = "host", unix)),
        allow(dead_code, reason = "only host streams are written interruptibly")
    )]
    regular: Option<bool>,
}

enum Sink {
    /// Anything the embedder gave.
    Any(Box<dyn Write + Send>),
    /// An embedder's output that reads guest memory itself.
    Direct(Box<dyn DirectWrite>),
    /// The host's stdout or stderr ([`WasiCtxBuilder::inherit_stdio`](crate::WasiCtxBuilder::inherit_stdio)).
    Stdout(io::Stdout),
    Stderr(io::Stderr),
}

impl OutputStream {
    pub(crate) fn new(writer: Box<dyn Write + Send>) -> Self {
        OutputStream {
            sink: Sink::Any(writer),
            regular: None,
        }
    }

    pub(crate) fn direct(writer: Box<dyn DirectWrite>) -> Self {
        OutputStream {
            sink: Sink::Direct(writer),
            regular: None,
        }
    }

    pub(crate) fn host_stdout() -> Self {
        OutputStream {
            sink: Sink::Stdout(io::stdout()),
            regular: None,
        }
    }

    pub(crate) fn host_stderr() -> Self {
        OutputStream {
            sink: Sink::Stderr(io::stderr()),
            regular: None,
        }
    }

    /// Writes every byte of the buffers of `iovs` (checked by
    /// [`GuestMemory::iovecs`](crate::GuestMemory::iovecs); at most
    /// `u32::MAX`, which is all a call can count); returns how many were
    /// written. Empty buffers cost nothing. While an interrupt handle is out, writes to the
    /// host's own stdout and stderr wait for room in slices and go out in
    /// pieces that cannot block (a full pipe), so the wait can be
    /// interrupted; an embedder's writer is called as it is.
    #[inline]
    pub(crate) fn write_iovecs(
        &mut self,
        mem: &crate::GuestMemory<'_>,
        iovs: crate::memory::Iovecs,
        interrupt: &crate::InterruptHandle,
        waits: &mut crate::shared::Waits,
    ) -> Result<usize, crate::Error> {
        let to_error = |e: io::Error| crate::Error::Errno(e.into());
        if let (1, Sink::Any(w)) = (iovs.count(), &mut self.sink) {
            // One buffer to the embedder's writer: the hot path.
            let (buf, len) = mem.iovec(iovs, 0);
            if len == 0 {
                return Ok(0);
            }
            let n = mem.drain(buf, len, crate::Pieces::UntilShort, |src| {
                w.write_all(src).map_err(to_error)?;
                Ok(src.len())
            })?;
            w.flush().map_err(to_error)?;
            return Ok(n);
        }
        let total = crate::memory::each_iovec(&mut &*mem, iovs, |mem, _, buf, len| {
            if let Sink::Direct(d) = &mut self.sink {
                // Checked again: on a shared memory another thread may have
                // changed this iovec since `GuestMemory::iovecs` checked it.
                mem.check(buf, len, 1)?;
                return d.write_direct(mem, buf, len);
            }
            mem.drain(buf, len, crate::Pieces::UntilShort, |src| {
                self.write_host(src, interrupt, waits)
            })
        })?;
        if total > 0 {
            // Bytes went out before a piece had to wait (a shared context's
            // full pipe): they are the answer, not a wait after which the
            // call would write them again.
            waits.cancel();
            self.flush()?;
        }
        Ok(total)
    }

    /// Writes all of `src` to the host's stdout or stderr (out of line: the
    /// embedder's writer is the path to keep small).
    #[inline(never)]
    /// Writes `src` to the embedder's writer or the host's own stream;
    /// returns how many bytes went out: all of them, except in a shared
    /// context, where a full pipe hands back a wait (nothing written yet) or
    /// ends the write short (some written).
    fn write_host(
        &mut self,
        src: &[u8],
        interrupt: &crate::InterruptHandle,
        waits: &mut crate::shared::Waits,
    ) -> Result<usize, crate::Error> {
        let _ = (interrupt, &waits); // only host streams can be waited for
        let to_error = |e: io::Error| crate::Error::Errno(e.into());
        match &mut self.sink {
            Sink::Any(w) => w.write_all(src).map_err(to_error).map(|()| src.len()),
            #[cfg(all(feature = "host", unix))]
            Sink::Stdout(s) if interrupt.armed() => {
                let mut s = s.lock();
                s.flush().map_err(to_error)?;
                let regular = *self.regular.get_or_insert_with(|| is_regular(&s));
                write_interruptibly(&s, src, regular, interrupt, waits)
            }
            #[cfg(all(feature = "host", unix))]
            Sink::Stderr(s) if interrupt.armed() => {
                let s = s.lock();
                let regular = *self.regular.get_or_insert_with(|| is_regular(&s));
                write_interruptibly(&s, src, regular, interrupt, waits)
            }
            Sink::Stdout(s) => s.write_all(src).map_err(to_error).map(|()| src.len()),
            Sink::Stderr(s) => s.write_all(src).map_err(to_error).map(|()| src.len()),
            // `write_iovecs` hands a direct writer guest ranges, never bytes.
            Sink::Direct(_) => Err(crate::Error::Errno(crate::Errno::Io)),
        }
    }

    fn flush(&mut self) -> Result<(), crate::Error> {
        let r = match &mut self.sink {
            Sink::Any(w) => w.flush(),
            // Nothing of it is buffered in vasi.
            Sink::Direct(_) => Ok(()),
            Sink::Stdout(s) => s.flush(),
            Sink::Stderr(s) => s.flush(),
        };
        r.map_err(|e| crate::Error::Errno(e.into()))
    }
}

/// Writes all of `src` to the host descriptor `fd` (a pipe, a terminal, a
/// file...) so that no system call blocks for longer than a slice: waits for
/// room with `poll` and then writes at most `PIPE_BUF` bytes (which a pipe
/// with room takes without blocking), or everything to a regular file.
#[cfg(all(feature = "host", unix))]
fn write_interruptibly(
    fd: &impl std::os::fd::AsFd,
    src: &[u8],
    regular: bool,
    interrupt: &crate::InterruptHandle,
    waits: &mut crate::shared::Waits,
) -> Result<usize, crate::Error> {
    use rustix::event::{poll, PollFd, PollFlags};
    /// `PIPE_BUF`: a write this small to a pipe with room does not block
    /// (Linux's page; POSIX's minimum elsewhere).
    const PIECE: usize = if cfg!(target_os = "linux") { 4096 } else { 512 };
    // In a shared context a call must not wait holding the context's lock:
    // it only asks whether there is room, and hands the wait back.
    let nanos = if waits.shared {
        0
    } else {
        crate::interrupt::SLICE.as_nanos() as i64
    };
    let slice = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: nanos,
    };
    let to_error = |e: rustix::io::Errno| crate::Error::Errno(io::Error::from(e).into());
    let mut done = 0;
    while done < src.len() {
        interrupt.check()?;
        let mut fds = [PollFd::new(fd, PollFlags::OUT)];
        match poll(&mut fds, Some(&slice)) {
            Ok(0) | Err(rustix::io::Errno::INTR) if waits.shared => {
                if done > 0 {
                    // Some went out: a short write, not a wait.
                    return Ok(done);
                }
                return Err(waits.defer(crate::shared::Wait::Ready {
                    inputs: Vec::new(),
                    fds: vec![(crate::shared::dup_fd(fd)?, PollFlags::OUT)],
                    timeout: None,
                }));
            }
            Ok(0) | Err(rustix::io::Errno::INTR) => continue,
            Ok(_) => {}
            Err(e) => return Err(to_error(e)),
        }
        let rest = &src[done..];
        let piece = if regular {
            rest.len()
        } else {
            rest.len().min(PIECE)
        };
        match rustix::io::write(fd, &rest[..piece]) {
            Ok(n) => done += n,
            Err(rustix::io::Errno::INTR) | Err(rustix::io::Errno::AGAIN) => {}
            // An error after some bytes: they are the answer.
            Err(_) if done > 0 => return Ok(done),
            Err(e) => return Err(to_error(e)),
        }
    }
    Ok(done)
}

#[cfg(all(feature = "host", unix))]
fn is_regular(fd: &impl std::os::fd::AsFd) -> bool {
    rustix::fs::fstat(fd)
        .map(|st| {
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile
        })
        .unwrap_or(false)
}

/// The guest's stdin: any reader, read directly until the guest first polls it;
/// from then on a helper thread reads ahead into a buffer, so that readiness
/// can be known (and waited for) without blocking the guest.
pub(crate) struct InputStream {
    /// `fdflags::nonblock` set: a read with nothing buffered is `EAGAIN`.
    nonblock: bool,
    direct: Option<Box<dyn std::io::Read + Send>>,
    pump: Option<Arc<Pump>>,
}

/// Waits for a stream's input without the stream itself (a shared
/// context's waits run with its lock dropped).
pub(crate) struct InputWaiter(Arc<Pump>);

impl InputWaiter {
    /// Whether input is there (or the stream ended) within `timeout`.
    pub(crate) fn ready(&self, timeout: std::time::Duration) -> bool {
        let st = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        let (st, _) = self
            .0
            .changed
            .wait_timeout_while(st, timeout, |st| st.buf.is_empty() && st.done.is_none())
            .unwrap_or_else(|e| e.into_inner());
        !st.buf.is_empty() || st.done.is_some()
    }
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

/// Whether stdin can be read ahead by a helper thread: not on
/// `wasm32-unknown-unknown` (vasi-web), which has no threads; there the
/// embedder's reader blocks by itself (`Atomics.wait`), nonblocking reads
/// block too, and `poll_oneoff` reports stdin ready.
const PUMPS: bool = !cfg!(all(target_arch = "wasm32", target_os = "unknown"));

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
            nonblock: false,
            direct: Some(reader),
            pump: None,
        }
    }

    /// No stdin at all (the default): always at its end, and nothing is
    /// allocated or started for it, however often it is read or polled.
    pub(crate) fn empty() -> Self {
        InputStream {
            nonblock: false,
            direct: None,
            pump: None,
        }
    }

    /// Whether this is [`InputStream::empty`].
    pub(crate) fn is_empty(&self) -> bool {
        self.direct.is_none() && self.pump.is_none()
    }

    /// Whether reads are nonblocking (`fdflags::nonblock`).
    pub(crate) fn nonblocking(&self) -> bool {
        self.nonblock
    }

    /// Makes reads nonblocking or blocking again. A nonblocking read of a
    /// stdin with nothing buffered is `EAGAIN`; stdin is then read ahead by a
    /// helper thread, so that whether anything is there can be known.
    pub(crate) fn set_nonblocking(&mut self, nonblock: bool) {
        self.nonblock = nonblock;
    }

    /// Reads like `Read::read`: blocks until at least one byte or the end
    /// (`EAGAIN` instead of blocking when nonblocking). In a shared context
    /// the wait is handed back ([`Waits::defer`](crate::shared::Waits::defer)).
    pub(crate) fn read(
        &mut self,
        dst: &mut [u8],
        interrupt: &crate::InterruptHandle,
        waits: &mut crate::shared::Waits,
    ) -> Result<usize, crate::Error> {
        let to_error = |e: io::Error| crate::Error::Errno(e.into());
        if PUMPS && waits.shared && !self.nonblock && !self.is_empty() {
            let pump = self.start_pump();
            let st = pump.state.lock().unwrap_or_else(|e| e.into_inner());
            if st.buf.is_empty() && st.done.is_none() {
                drop(st);
                return Err(waits.defer(crate::shared::Wait::Ready {
                    inputs: vec![InputWaiter(pump)],
                    #[cfg(all(feature = "host", unix))]
                    fds: Vec::new(),
                    timeout: None,
                }));
            }
        }
        if PUMPS && self.nonblock && !self.is_empty() {
            let pump = self.start_pump();
            let st = pump.state.lock().unwrap_or_else(|e| e.into_inner());
            if st.buf.is_empty() && st.done.is_none() {
                return Err(crate::Errno::Again.into());
            }
        }
        if PUMPS && interrupt.armed() && self.direct.is_some() {
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
        if self.is_empty() {
            return Readiness::Hangup;
        }
        if !PUMPS && self.pump.is_none() {
            // No thread to read ahead: reported ready, as sockets are; a
            // read then blocks in the embedder's reader until data comes.
            let _ = timeout;
            return Readiness::Bytes(1);
        }
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

    /// A handle to wait for this stream's input with (it starts reading
    /// ahead); `None` for no stdin.
    pub(crate) fn waiter(&mut self) -> Option<InputWaiter> {
        (!self.is_empty()).then(|| InputWaiter(self.start_pump()))
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
