//! [`WasiCtx`], the state of one guest's WASI world, and its builder.

use crate::clocks::{Clocks, HostClocks};
use crate::hook::Hook;
use crate::p1::abi::filetype;
use crate::random::Random;
use crate::stdio::{InputStream, OutputStream};
use crate::table::{Descriptor, OpenDir, Table};
use crate::vfs::mount::{MountTree, Mounted};
use crate::vfs::Dir;
use crate::{Error, InterruptHandle, StopReason, Stopped};
use std::fmt;
use std::io::{Read, Write};
use std::sync::Arc;

/// The default cap on open descriptors ([`WasiCtxBuilder::max_open_files`]).
pub const DEFAULT_MAX_OPEN_FILES: u32 = 1024;

/// Everything one guest sees through WASI: its arguments, environment, descriptor
/// table (stdio, preopened directories, open files), clocks and randomness.
///
/// Built with [`WasiCtxBuilder`]; passed to hostcalls by a runtime binding such as
/// `vasi-wasmtime`.
pub struct WasiCtx {
    pub(crate) args: StringList,
    pub(crate) env: StringList,
    pub(crate) table: Table,
    pub(crate) clocks: Arc<dyn Clocks>,
    pub(crate) random: Box<dyn Random>,
    pub(crate) on_raise: Option<RaiseHandler>,
    pub(crate) hooks: Vec<Box<dyn Hook>>,
    pub(crate) interrupt: InterruptHandle,
    pub(crate) stop_at_fd_limit: bool,
    /// Set by [`WasiCtxBuilder::single_instance`]: bindings may cache.
    single_instance: bool,
    binding_cache: Option<Box<dyn std::any::Any + Send>>,
    /// The guest thread whose hostcall runs now, when the context is shared
    /// by threads ([`crate::shared::SharedCtx`]).
    pub(crate) thread: Option<u32>,
    /// How hostcalls wait: here, or (shared) after the lock is dropped.
    pub(crate) waits: crate::shared::Waits,
}

/// What the embedder does when a guest calls `proc_raise` (see
/// [`WasiCtxBuilder::on_proc_raise`]).
pub type RaiseHandler = Box<dyn FnMut(u8) -> Result<(), crate::Errno> + Send>;

impl WasiCtx {
    /// A new builder.
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::new()
    }

    /// A handle that ends this context's blocking hostcalls from any thread
    /// (see [`InterruptHandle`]). Once a handle exists, stdin is read through a
    /// helper thread and sockets wait through `poll`, so that every wait can be
    /// interrupted.
    pub fn interrupt_handle(&self) -> InterruptHandle {
        self.interrupt.arm();
        self.interrupt.clone()
    }

    /// What a runtime binding remembered about the instance this context
    /// serves, if it is a `B` (see [`WasiCtxBuilder::single_instance`]):
    /// `None` until [`set_binding_cache`](Self::set_binding_cache).
    ///
    /// ```
    /// let mut ctx = vasi::WasiCtxBuilder::new().single_instance().build()?;
    /// assert_eq!(ctx.binding_cache::<u32>(), None);
    /// ctx.set_binding_cache(7u32);
    /// assert_eq!(ctx.binding_cache::<u32>(), Some(7));
    /// assert_eq!(ctx.binding_cache::<u64>(), None);
    /// # Ok::<(), vasi::BuildError>(())
    /// ```
    #[inline]
    pub fn binding_cache<B: std::any::Any + Copy>(&self) -> Option<B> {
        self.binding_cache.as_deref()?.downcast_ref::<B>().copied()
    }

    /// Lets a runtime binding remember `value` for the next hostcalls; ignored
    /// unless the context was built with
    /// [`single_instance`](WasiCtxBuilder::single_instance).
    pub fn set_binding_cache<B: std::any::Any + Send>(&mut self, value: B) {
        if self.single_instance {
            self.binding_cache = Some(Box::new(value));
        }
    }

    /// The id of the guest thread whose hostcall is running, when the context
    /// is shared by the threads of a wasi-threads guest
    /// ([`SharedCtx`](crate::shared::SharedCtx)); `None` otherwise. Hooks use it
    /// to tell the threads apart (the trace does).
    pub fn thread(&self) -> Option<u32> {
        self.thread
    }

    /// The guest path of `fd` if it is a preopened directory.
    ///
    /// ```
    /// let ctx = vasi::WasiCtxBuilder::new()
    ///     .preopen_dir(vasi::vfs::MemFs::new().root(), "/data")
    ///     .build()?;
    /// assert_eq!(ctx.preopen_path(3), Some("/data"));
    /// assert_eq!(ctx.preopen_path(1), None);
    /// # Ok::<(), vasi::BuildError>(())
    /// ```
    pub fn preopen_path(&self, fd: u32) -> Option<&str> {
        match self.table.get_ref(fd) {
            Some(Descriptor::Dir(d)) => d.preopen.as_deref(),
            _ => None,
        }
    }

    /// Puts `d` in the table; at the open-files limit, `EMFILE` or (if so
    /// built) the end of the guest.
    pub(crate) fn push_fd(&mut self, d: Descriptor) -> Result<u32, Error> {
        match self.table.push(d) {
            Ok(fd) => Ok(fd),
            Err(crate::Errno::Mfile) if self.stop_at_fd_limit => Err(Error::Stopped(Stopped::new(
                StopReason::OpenFilesLimit,
                format!(
                    "the guest reached its limit of {} open files",
                    self.table.max_open()
                ),
            ))),
            Err(e) => Err(e.into()),
        }
    }
}

impl fmt::Debug for WasiCtx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasiCtx")
            .field("args", &self.args.count())
            .field("env", &self.env.count())
            .field("open_fds", &self.table.open_fds().count())
            .finish_non_exhaustive()
    }
}

/// NUL-terminated strings stored back to back, ready to copy into guest memory
/// in one go (`args_get`, `environ_get`).
#[derive(Default)]
pub(crate) struct StringList {
    pub(crate) bytes: Vec<u8>,
    pub(crate) offsets: Vec<u32>,
}

impl StringList {
    fn push(&mut self, s: &str) {
        self.offsets.push(self.bytes.len() as u32);
        self.bytes.extend_from_slice(s.as_bytes());
        self.bytes.push(0);
    }

    pub(crate) fn count(&self) -> u32 {
        self.offsets.len() as u32
    }
}

/// Why [`WasiCtxBuilder::build`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// An argument contains a NUL byte.
    NulInArg(String),
    /// An environment variable's name is empty or contains `=` or NUL, or its
    /// value contains NUL.
    BadEnvVar(String),
    /// More preopens than descriptors allowed.
    TooManyPreopens,
    /// The arguments or environment exceed 4 GiB.
    TooLarge,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::NulInArg(a) => write!(f, "argument {a:?} contains a NUL byte"),
            BuildError::BadEnvVar(v) => write!(f, "invalid environment variable {v:?}"),
            BuildError::TooManyPreopens => f.write_str("more preopens than open files allowed"),
            BuildError::TooLarge => f.write_str("arguments or environment exceed 4 GiB"),
        }
    }
}

impl std::error::Error for BuildError {}

/// Builds a [`WasiCtx`].
///
/// Defaults (secure and empty): no arguments, no environment, stdin empty,
/// stdout and stderr discarded, no preopened directories, the host's clocks
/// ([`HostClocks`]), randomness from a ChaCha12 generator keyed by the OS (`ChaChaRandom`, with the
/// `host` feature), and at most [`DEFAULT_MAX_OPEN_FILES`] open descriptors.
///
/// ```
/// use vasi::{CaptureBuffer, WasiCtxBuilder, vfs::MemFs};
/// let stdout = CaptureBuffer::new();
/// let scratch = MemFs::new();
/// let ctx = WasiCtxBuilder::new()
///     .arg("app.wasm")
///     .arg("--verbose")
///     .env("LANG", "C")
///     .stdin(&b"input"[..])
///     .stdout(stdout.clone())
///     .preopen_dir(scratch.root(), "/tmp")
///     .build()?;
/// # drop(ctx);
/// # Ok::<(), vasi::BuildError>(())
/// ```
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// `None`: no stdin (always at its end).
    stdin: (Option<Box<dyn Read + Send>>, u8),
    stdout: (OutputStream, u8),
    stderr: (OutputStream, u8),
    /// Mounts by guest path; `true`: a preopen (it gets a descriptor).
    preopens: Vec<(Arc<dyn Dir>, String, bool)>,
    listeners: Vec<std::net::TcpListener>,
    on_raise: Option<RaiseHandler>,
    clocks: Box<dyn Clocks>,
    random: Option<Box<dyn Random>>,
    max_open: u32,
    stop_at_fd_limit: bool,
    hooks: Vec<Box<dyn Hook>>,
    single_instance: bool,
}

impl Default for WasiCtxBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl WasiCtxBuilder {
    /// A builder with the defaults listed above.
    pub fn new() -> Self {
        WasiCtxBuilder {
            args: Vec::new(),
            env: Vec::new(),
            stdin: (None, filetype::UNKNOWN),
            stdout: (
                OutputStream::new(Box::new(std::io::sink())),
                filetype::UNKNOWN,
            ),
            stderr: (
                OutputStream::new(Box::new(std::io::sink())),
                filetype::UNKNOWN,
            ),
            preopens: Vec::new(),
            listeners: Vec::new(),
            on_raise: None,
            clocks: Box::new(HostClocks::new()),
            random: None,
            max_open: DEFAULT_MAX_OPEN_FILES,
            stop_at_fd_limit: false,
            hooks: Vec::new(),
            single_instance: false,
        }
    }

    /// Appends one argument (the first is conventionally the program name).
    ///
    /// ```
    /// let ctx = vasi::WasiCtxBuilder::new().arg("app").arg("-v").build()?;
    /// # Ok::<(), vasi::BuildError>(())
    /// ```
    pub fn arg(&mut self, arg: impl Into<String>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    ///
    /// ```
    /// let ctx = vasi::WasiCtxBuilder::new().args(["app", "-v"]).build()?;
    /// # Ok::<(), vasi::BuildError>(())
    /// ```
    pub fn args<S: Into<String>>(&mut self, args: impl IntoIterator<Item = S>) -> &mut Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable (later values of a name replace earlier ones).
    ///
    /// ```
    /// let ctx = vasi::WasiCtxBuilder::new().env("HOME", "/home/guest").build()?;
    /// # Ok::<(), vasi::BuildError>(())
    /// ```
    pub fn env(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let (name, value) = (name.into(), value.into());
        if let Some(slot) = self.env.iter_mut().find(|(k, _)| *k == name) {
            slot.1 = value;
        } else {
            self.env.push((name, value));
        }
        self
    }

    /// Passes the host process's environment to the guest (variables whose name
    /// or value is not UTF-8 are skipped).
    ///
    /// ```
    /// let ctx = vasi::WasiCtxBuilder::new().inherit_env().build()?;
    /// # Ok::<(), vasi::BuildError>(())
    /// ```
    pub fn inherit_env(&mut self) -> &mut Self {
        for (k, v) in std::env::vars_os() {
            if let (Ok(k), Ok(v)) = (k.into_string(), v.into_string()) {
                self.env(k, v);
            }
        }
        self
    }

    /// Reads the guest's stdin from `reader` (bytes, a file, a pipe...).
    ///
    /// ```
    /// let ctx = vasi::WasiCtxBuilder::new().stdin(std::io::Cursor::new(b"data".to_vec())).build()?;
    /// # Ok::<(), vasi::BuildError>(())
    /// ```
    pub fn stdin(&mut self, reader: impl Read + Send + 'static) -> &mut Self {
        self.stdin = (Some(Box::new(reader)), filetype::UNKNOWN);
        self
    }

    /// Writes the guest's stdout to `writer` (a [`crate::CaptureBuffer`], a file...).
    ///
    /// ```
    /// let out = vasi::CaptureBuffer::new();
    /// let ctx = vasi::WasiCtxBuilder::new().stdout(out.clone()).build()?;
    /// # Ok::<(), vasi::BuildError>(())
    /// ```
    pub fn stdout(&mut self, writer: impl Write + Send + 'static) -> &mut Self {
        self.stdout = (OutputStream::new(Box::new(writer)), filetype::UNKNOWN);
        self
    }

    /// Writes the guest's stderr to `writer`.
    ///
    /// ```
    /// let ctx = vasi::WasiCtxBuilder::new().stderr(std::io::sink()).build()?;
    /// # Ok::<(), vasi::BuildError>(())
    /// ```
    pub fn stderr(&mut self, writer: impl Write + Send + 'static) -> &mut Self {
        self.stderr = (OutputStream::new(Box::new(writer)), filetype::UNKNOWN);
        self
    }

    /// Gives the guest's stdout to `writer`, which moves the bytes out of
    /// guest memory itself (see [`crate::DirectWrite`]): for embedders whose
    /// guest memory vasi can only copy, it saves a copy per write.
    pub fn stdout_direct(&mut self, writer: impl crate::DirectWrite + 'static) -> &mut Self {
        self.stdout = (OutputStream::direct(Box::new(writer)), filetype::UNKNOWN);
        self
    }

    /// Gives the guest's stderr to `writer`, as
    /// [`stdout_direct`](Self::stdout_direct).
    pub fn stderr_direct(&mut self, writer: impl crate::DirectWrite + 'static) -> &mut Self {
        self.stderr = (OutputStream::direct(Box::new(writer)), filetype::UNKNOWN);
        self
    }

    /// Gives the guest the host process's stdin, stdout and stderr. A stream that
    /// is a terminal is reported to the guest as a character device (so the guest
    /// may use colours); any other stream is reported as `unknown`.
    ///
    /// ```
    /// let ctx = vasi::WasiCtxBuilder::new().inherit_stdio().build()?;
    /// # Ok::<(), vasi::BuildError>(())
    /// ```
    pub fn inherit_stdio(&mut self) -> &mut Self {
        use std::io::IsTerminal;
        let kind = |tty: bool| {
            if tty {
                filetype::CHARACTER_DEVICE
            } else {
                filetype::UNKNOWN
            }
        };
        self.stdin = (
            Some(Box::new(std::io::stdin())),
            kind(std::io::stdin().is_terminal()),
        );
        self.stdout = (
            OutputStream::host_stdout(),
            kind(std::io::stdout().is_terminal()),
        );
        self.stderr = (
            OutputStream::host_stderr(),
            kind(std::io::stderr().is_terminal()),
        );
        self
    }

    /// Mounts `dir` at `guest_path`. Preopens get fds 3, 4, ... in the order they
    /// are added. A mount whose path lies below another's (`/data/cache` under
    /// `/data`) also appears inside the outer one, hiding whatever the outer
    /// filesystem has at that name.
    ///
    /// ```
    /// let fs = vasi::vfs::MemFs::new();
    /// let ctx = vasi::WasiCtxBuilder::new().preopen_dir(fs.root(), "/data").build()?;
    /// # Ok::<(), vasi::BuildError>(())
    /// ```
    pub fn preopen_dir(&mut self, dir: Arc<dyn Dir>, guest_path: impl Into<String>) -> &mut Self {
        self.preopens.push((dir, guest_path.into(), true));
        self
    }

    /// Mounts `dir` at `guest_path` below a preopen, without a descriptor of
    /// its own: the guest reaches it only by walking into it from the outer
    /// preopen, and does not see it among its preopens. It hides whatever
    /// the outer filesystem has at that name (an empty read-only directory
    /// over `/proc` hides the host's). A mount below no preopen is
    /// unreachable.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let root = vasi::vfs::MemFs::new();
    /// root.create_dir_all("proc/self")?;
    /// let empty = vasi::vfs::MemFs::new();
    /// let ctx = vasi::WasiCtxBuilder::new()
    ///     .preopen_dir(root.root(), "/")
    ///     .mount_dir(Arc::new(vasi::vfs::ReadOnly::new(empty.root())), "/proc")
    ///     .build()?;
    /// assert_eq!(ctx.preopen_path(3), Some("/"));
    /// assert_eq!(ctx.preopen_path(4), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn mount_dir(&mut self, dir: Arc<dyn Dir>, guest_path: impl Into<String>) -> &mut Self {
        self.preopens.push((dir, guest_path.into(), false));
        self
    }

    /// Mounts the host directory `host_path` at `guest_path`, confined to it.
    ///
    /// # Errors
    /// The host directory cannot be opened.
    ///
    /// # Ambient authority
    /// This opens a host path with the process's own rights; everything the guest
    /// then does stays beneath it.
    ///
    /// ```
    /// let tmp = tempfile::tempdir()?;
    /// let ctx = vasi::WasiCtxBuilder::new().preopen_host_dir(tmp.path(), "/work")?.build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "host")]
    pub fn preopen_host_dir(
        &mut self,
        host_path: impl AsRef<std::path::Path>,
        guest_path: impl Into<String>,
    ) -> std::io::Result<&mut Self> {
        let dir = crate::vfs::HostDir::open_ambient(host_path)?;
        Ok(self.preopen_dir(Arc::new(dir), guest_path))
    }

    /// Gives the guest a TCP listener to `sock_accept` connections from. Listeners
    /// get the fds after the preopened directories, in the order added.
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let ctx = vasi::WasiCtxBuilder::new().preopen_listener(listener).build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn preopen_listener(&mut self, listener: std::net::TcpListener) -> &mut Self {
        self.listeners.push(listener);
        self
    }

    /// Lets the embedder observe (and answer) a guest's `proc_raise(signal)`:
    /// `handler` gets the signal number (1..=30) and returns what the call
    /// returns. No signal ever reaches the host process. Without a handler,
    /// `proc_raise` returns `ENOSYS`.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// let raised = Arc::new(Mutex::new(Vec::new()));
    /// let seen = raised.clone();
    /// let ctx = vasi::WasiCtxBuilder::new()
    ///     .on_proc_raise(move |sig| {
    ///         seen.lock().unwrap().push(sig);
    ///         Ok(())
    ///     })
    ///     .build()?;
    /// # Ok::<(), vasi::BuildError>(())
    /// ```
    pub fn on_proc_raise(
        &mut self,
        handler: impl FnMut(u8) -> Result<(), crate::Errno> + Send + 'static,
    ) -> &mut Self {
        self.on_raise = Some(Box::new(handler));
        self
    }

    /// Uses `clocks` for `clock_time_get`, `clock_res_get` and sleeps.
    ///
    /// ```
    /// let ctx = vasi::WasiCtxBuilder::new().clocks(vasi::HostClocks::new()).build()?;
    /// # Ok::<(), vasi::BuildError>(())
    /// ```
    pub fn clocks(&mut self, clocks: impl Clocks + 'static) -> &mut Self {
        self.clocks = Box::new(clocks);
        self
    }

    /// Uses `random` for `random_get`.
    ///
    /// ```
    /// struct Zeros;
    /// impl vasi::Random for Zeros {
    ///     fn fill(&mut self, buf: &mut [u8]) -> Result<(), vasi::Errno> {
    ///         buf.fill(0);
    ///         Ok(())
    ///     }
    /// }
    /// let ctx = vasi::WasiCtxBuilder::new().random(Zeros).build()?;
    /// # Ok::<(), vasi::BuildError>(())
    /// ```
    pub fn random(&mut self, random: impl Random + 'static) -> &mut Self {
        self.random = Some(Box::new(random));
        self
    }

    /// Caps the number of open descriptors (stdio and preopens included); more
    /// opens fail with `EMFILE`.
    ///
    /// ```
    /// let ctx = vasi::WasiCtxBuilder::new().max_open_files(64).build()?;
    /// # Ok::<(), vasi::BuildError>(())
    /// ```
    pub fn max_open_files(&mut self, max: u32) -> &mut Self {
        self.max_open = max;
        self
    }

    /// When the guest needs a descriptor beyond
    /// [`max_open_files`](Self::max_open_files), end it with
    /// [`Error::Stopped`] ([`StopReason::OpenFilesLimit`]) instead of returning
    /// `EMFILE` (the default, as POSIX does). For hosts that treat the limit as
    /// a hard resource cap.
    pub fn stop_at_open_files_limit(&mut self, stop: bool) -> &mut Self {
        self.stop_at_fd_limit = stop;
        self
    }

    /// Promises that the context serves one wasm instance (or instances that
    /// share one memory), as with one store per instance, the usual way. A
    /// runtime binding may then remember how it reaches the guest's memory
    /// after the first hostcall instead of finding it on every call
    /// (vasi-wasmtime: a small hostcall costs about half). Without it, every
    /// call looks the memory up, which is right for any number of instances.
    ///
    /// Breaking the promise (two instances with memories of their own calling
    /// WASI through one context) makes the later instance's calls read and
    /// write the first one's memory: still bounds-checked, but wrong.
    pub fn single_instance(&mut self) -> &mut Self {
        self.single_instance = true;
        self
    }

    /// Adds a [`Hook`] that sees, and may deny or answer, every hostcall.
    /// Hooks run in the order added; the first one whose
    /// [`before`](Hook::before) does not say [`Run`](crate::hook::Verdict::Run)
    /// decides, and every hook's [`after`](Hook::after) sees the outcome.
    pub fn hook(&mut self, hook: impl Hook + 'static) -> &mut Self {
        self.hooks.push(Box::new(hook));
        self
    }

    /// Makes the run reproducible: [`DeterministicClocks`](crate::clocks::DeterministicClocks)
    /// (fixed start, 1 µs per clock read, sleeps that advance time instead of
    /// waiting) and [`SeededRandom`](crate::random::SeededRandom) with `seed`.
    /// Two runs of the same guest with the same inputs and seed then see the
    /// same times and random bytes.
    ///
    /// ```
    /// let mut ctx = vasi::WasiCtxBuilder::new().deterministic(42).build()?;
    /// let mut bytes = [0u8; 16];
    /// let mut mem = vasi::GuestMemory::new(&mut bytes);
    /// vasi::p1::clock_time_get(&mut ctx, &mut mem, 0, 1, 0).unwrap(); // REALTIME
    /// assert_eq!(mem.read_u64(0).unwrap(), vasi::clocks::DeterministicClocks::DEFAULT_START);
    /// # Ok::<(), vasi::BuildError>(())
    /// ```
    pub fn deterministic(&mut self, seed: u64) -> &mut Self {
        self.clocks(crate::clocks::DeterministicClocks::new());
        self.random(crate::random::SeededRandom::new(seed))
    }

    /// Builds the context, leaving this builder with its defaults.
    ///
    /// # Errors
    /// An argument or environment variable that the guest could not receive
    /// intact (see [`BuildError`]).
    pub fn build(&mut self) -> Result<WasiCtx, BuildError> {
        let b = std::mem::take(self);
        let mut args = StringList::default();
        for a in &b.args {
            if a.contains('\0') {
                return Err(BuildError::NulInArg(a.clone()));
            }
            args.push(a);
        }
        let mut env = StringList::default();
        let mut pair = String::new();
        for (k, v) in &b.env {
            if k.is_empty() || k.contains(['=', '\0']) || v.contains('\0') {
                return Err(BuildError::BadEnvVar(format!("{k}={v}")));
            }
            pair.clear();
            pair.push_str(k);
            pair.push('=');
            pair.push_str(v);
            env.push(&pair);
        }
        if u32::try_from(args.bytes.len()).is_err() || u32::try_from(env.bytes.len()).is_err() {
            return Err(BuildError::TooLarge);
        }
        let mut table = Table::new(b.max_open.max(3));
        let e = |_| BuildError::TooManyPreopens;
        table
            .push(Descriptor::Reader(
                b.stdin.0.map_or_else(InputStream::empty, InputStream::new),
                b.stdin.1,
            ))
            .map_err(e)?;
        table
            .push(Descriptor::Writer(b.stdout.0, b.stdout.1))
            .map_err(e)?;
        table
            .push(Descriptor::Writer(b.stderr.0, b.stderr.1))
            .map_err(e)?;
        for (dir, path) in mount_nested(b.preopens) {
            table
                .push(Descriptor::Dir(OpenDir {
                    dir,
                    preopen: Some(path),
                    cursor: None,
                    rights_base: crate::p1::abi::rights::DIRECTORY,
                    rights_inheriting: crate::p1::abi::rights::ALL,
                }))
                .map_err(e)?;
        }
        for listener in b.listeners {
            table.push(Descriptor::Listener(listener, 0)).map_err(e)?;
        }
        Ok(WasiCtx {
            args,
            env,
            table,
            clocks: Arc::from(b.clocks),
            random: b.random.unwrap_or_else(default_random),
            on_raise: b.on_raise,
            hooks: b.hooks,
            interrupt: InterruptHandle::new(),
            stop_at_fd_limit: b.stop_at_fd_limit,
            single_instance: b.single_instance,
            binding_cache: None,
            thread: None,
            waits: Default::default(),
        })
    }
}

/// Lays every mount whose guest path lies below a preopen's over the outer
/// one, so that walking `/data` into `cache` reaches the mount at
/// `/data/cache`; returns the preopens (mounts without a descriptor only
/// show through them).
fn mount_nested(mounts: Vec<(Arc<dyn Dir>, String, bool)>) -> Vec<(Arc<dyn Dir>, String)> {
    fn components(path: &str) -> (bool, Vec<&str>) {
        let parts = path.split('/').filter(|c| !c.is_empty() && *c != ".");
        (path.starts_with('/'), parts.collect())
    }
    let keys: Vec<(bool, Vec<&str>)> = mounts.iter().map(|(_, p, _)| components(p)).collect();
    let mut out = Vec::with_capacity(mounts.len());
    for (i, (dir, path, _)) in mounts.iter().enumerate().filter(|(_, m)| m.2) {
        let (abs, outer) = &keys[i];
        let mut tree = MountTree::default();
        for (j, (inner_dir, _, _)) in mounts.iter().enumerate() {
            let (inner_abs, inner) = &keys[j];
            if inner_abs == abs && inner.len() > outer.len() && inner.starts_with(outer) {
                tree.insert(&inner[outer.len()..], inner_dir.clone());
            }
        }
        out.push((Mounted::wrap(dir.clone(), tree), path.clone()));
    }
    out
}

#[cfg(feature = "host")]
fn default_random() -> Box<dyn Random> {
    Box::new(crate::random::ChaChaRandom::new())
}

#[cfg(not(feature = "host"))]
fn default_random() -> Box<dyn Random> {
    struct NoRandom;
    impl Random for NoRandom {
        fn fill(&mut self, _buf: &mut [u8]) -> Result<(), crate::Errno> {
            Err(crate::Errno::Nosys)
        }
    }
    Box::new(NoRandom)
}
