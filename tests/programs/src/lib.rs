//! Helpers shared by vasi's guest test programs (`src/bin/p1_*.rs`).
//!
//! Every program is built for `wasm32-wasip1` and run by the host's tests with
//! a fresh, empty scratch directory preopened at [`SANDBOX`]. A failed
//! assertion panics; on wasm a panic aborts, so the guest traps and the host
//! test fails.
//!
//! - [`raw`] declares the `wasi_snapshot_preview1` imports with their core
//!   wasm types (every pointer is an `i32`), so a program can pass any address,
//!   including invalid ones.
//! - The constants at the crate root are the preview1 numbering of errnos,
//!   flags, rights, whence values and file types.
//! - The small wrappers (`fd_seek`, `path_open`, ...) take Rust slices and
//!   return `Result<_, Errno>`.
//! - [`assert_errno!`] and [`assert_ok!`] compare an outcome with expected
//!   errnos and print errno *names* on mismatch.

use std::io;

/// Raw `wasi_snapshot_preview1` imports, with core wasm parameter types.
///
/// Each function returns an errno (`0` is success), except `proc_exit`.
pub mod raw {
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    extern "C" {
        /// `args_get(argv, argv_buf) -> errno`
        pub fn args_get(argv: i32, argv_buf: i32) -> i32;
        /// `args_sizes_get(argc_out, argv_buf_size_out) -> errno`
        pub fn args_sizes_get(argc: i32, argv_buf_size: i32) -> i32;
        /// `environ_get(environ, environ_buf) -> errno`
        pub fn environ_get(environ: i32, environ_buf: i32) -> i32;
        /// `environ_sizes_get(count_out, buf_size_out) -> errno`
        pub fn environ_sizes_get(count: i32, buf_size: i32) -> i32;
        /// `clock_res_get(id, resolution_out) -> errno`
        pub fn clock_res_get(id: i32, resolution: i32) -> i32;
        /// `clock_time_get(id, precision, time_out) -> errno`
        pub fn clock_time_get(id: i32, precision: i64, time: i32) -> i32;
        /// `fd_close(fd) -> errno`
        pub fn fd_close(fd: i32) -> i32;
        /// `fd_fdstat_get(fd, fdstat_out) -> errno`
        pub fn fd_fdstat_get(fd: i32, stat: i32) -> i32;
        /// `fd_fdstat_set_flags(fd, fdflags) -> errno`
        pub fn fd_fdstat_set_flags(fd: i32, flags: i32) -> i32;
        /// `sock_accept(fd, flags, result_fd) -> errno`
        pub fn sock_accept(fd: i32, flags: i32, result_fd: i32) -> i32;
        /// `sock_recv(fd, ri_data, ri_data_len, ri_flags, ro_datalen, ro_flags) -> errno`
        pub fn sock_recv(
            fd: i32,
            ri_data: i32,
            ri_data_len: i32,
            ri_flags: i32,
            ro_datalen: i32,
            ro_flags: i32,
        ) -> i32;
        /// `sock_send(fd, si_data, si_data_len, si_flags, so_datalen) -> errno`
        pub fn sock_send(
            fd: i32,
            si_data: i32,
            si_data_len: i32,
            si_flags: i32,
            so_datalen: i32,
        ) -> i32;
        /// `sock_shutdown(fd, how) -> errno`
        pub fn sock_shutdown(fd: i32, how: i32) -> i32;
        /// `fd_advise(fd, offset, len, advice) -> errno`
        pub fn fd_advise(fd: i32, offset: i64, len: i64, advice: i32) -> i32;
        /// `fd_allocate(fd, offset, len) -> errno`
        pub fn fd_allocate(fd: i32, offset: i64, len: i64) -> i32;
        /// `fd_sync(fd) -> errno`
        pub fn fd_sync(fd: i32) -> i32;
        /// `fd_datasync(fd) -> errno`
        pub fn fd_datasync(fd: i32) -> i32;
        /// `poll_oneoff(in, out, nsubscriptions, nevents) -> errno`
        pub fn poll_oneoff(input: i32, out: i32, nsubscriptions: i32, nevents: i32) -> i32;
        /// `fd_renumber(fd, to) -> errno`
        pub fn fd_renumber(fd: i32, to: i32) -> i32;
        /// `proc_raise(signal) -> errno`
        pub fn proc_raise(signal: i32) -> i32;
        /// `sched_yield() -> errno`
        pub fn sched_yield() -> i32;
        /// `fd_fdstat_set_rights(fd, base, inheriting) -> errno`
        pub fn fd_fdstat_set_rights(fd: i32, base: i64, inheriting: i64) -> i32;
        /// `fd_filestat_get(fd, filestat_out) -> errno`
        pub fn fd_filestat_get(fd: i32, stat: i32) -> i32;
        /// `fd_filestat_set_size(fd, size) -> errno`
        pub fn fd_filestat_set_size(fd: i32, size: i64) -> i32;
        /// `fd_filestat_set_times(fd, atim, mtim, fst_flags) -> errno`
        pub fn fd_filestat_set_times(fd: i32, atim: i64, mtim: i64, fst_flags: i32) -> i32;
        /// `fd_pread(fd, iovs, iovs_len, offset, nread_out) -> errno`
        pub fn fd_pread(fd: i32, iovs: i32, iovs_len: i32, offset: i64, nread: i32) -> i32;
        /// `fd_pwrite(fd, iovs, iovs_len, offset, nwritten_out) -> errno`
        pub fn fd_pwrite(fd: i32, iovs: i32, iovs_len: i32, offset: i64, nwritten: i32) -> i32;
        /// `fd_prestat_get(fd, prestat_out) -> errno`
        pub fn fd_prestat_get(fd: i32, prestat: i32) -> i32;
        /// `fd_prestat_dir_name(fd, path_out, path_len) -> errno`
        pub fn fd_prestat_dir_name(fd: i32, path: i32, path_len: i32) -> i32;
        /// `fd_read(fd, iovs, iovs_len, nread_out) -> errno`
        pub fn fd_read(fd: i32, iovs: i32, iovs_len: i32, nread: i32) -> i32;
        /// `fd_readdir(fd, buf, buf_len, cookie, bufused_out) -> errno`
        pub fn fd_readdir(fd: i32, buf: i32, buf_len: i32, cookie: i64, bufused: i32) -> i32;
        /// `fd_seek(fd, offset, whence, newoffset_out) -> errno`
        pub fn fd_seek(fd: i32, offset: i64, whence: i32, newoffset: i32) -> i32;
        /// `fd_tell(fd, offset_out) -> errno`
        pub fn fd_tell(fd: i32, offset: i32) -> i32;
        /// `fd_write(fd, iovs, iovs_len, nwritten_out) -> errno`
        pub fn fd_write(fd: i32, iovs: i32, iovs_len: i32, nwritten: i32) -> i32;
        /// `path_create_directory(fd, path, path_len) -> errno`
        pub fn path_create_directory(fd: i32, path: i32, path_len: i32) -> i32;
        /// `path_filestat_get(fd, lookupflags, path, path_len, filestat_out) -> errno`
        pub fn path_filestat_get(fd: i32, flags: i32, path: i32, path_len: i32, stat: i32) -> i32;
        /// `path_filestat_set_times(fd, lookupflags, path, path_len, atim, mtim, fst_flags) -> errno`
        pub fn path_filestat_set_times(
            fd: i32,
            flags: i32,
            path: i32,
            path_len: i32,
            atim: i64,
            mtim: i64,
            fst_flags: i32,
        ) -> i32;
        /// `path_open(dirfd, lookupflags, path, path_len, oflags, rights_base,
        /// rights_inheriting, fdflags, fd_out) -> errno`
        pub fn path_open(
            fd: i32,
            dirflags: i32,
            path: i32,
            path_len: i32,
            oflags: i32,
            fs_rights_base: i64,
            fs_rights_inheriting: i64,
            fdflags: i32,
            opened_fd: i32,
        ) -> i32;
        /// `path_remove_directory(fd, path, path_len) -> errno`
        pub fn path_remove_directory(fd: i32, path: i32, path_len: i32) -> i32;
        /// `path_unlink_file(fd, path, path_len) -> errno`
        pub fn path_unlink_file(fd: i32, path: i32, path_len: i32) -> i32;
        /// `path_symlink(old_path, old_path_len, fd, new_path, new_path_len) -> errno`
        pub fn path_symlink(
            old_path: i32,
            old_path_len: i32,
            fd: i32,
            new_path: i32,
            new_path_len: i32,
        ) -> i32;
        /// `path_readlink(fd, path, path_len, buf, buf_len, bufused) -> errno`
        pub fn path_readlink(
            fd: i32,
            path: i32,
            path_len: i32,
            buf: i32,
            buf_len: i32,
            bufused: i32,
        ) -> i32;
        /// `path_link(old_fd, old_flags, old_path, old_path_len, new_fd, new_path, new_path_len) -> errno`
        pub fn path_link(
            old_fd: i32,
            old_flags: i32,
            old_path: i32,
            old_path_len: i32,
            new_fd: i32,
            new_path: i32,
            new_path_len: i32,
        ) -> i32;
        /// `proc_exit(code)`; does not return.
        pub fn proc_exit(code: i32) -> !;
        /// `random_get(buf, buf_len) -> errno`
        pub fn random_get(buf: i32, buf_len: i32) -> i32;
    }
}

// ---------------------------------------------------------------------------
// Errnos
// ---------------------------------------------------------------------------

/// A preview1 errno as returned by a raw call (`0` is success). The same
/// numbers are what `io::Error::raw_os_error` reports on wasm32-wasip1.
pub type Errno = i32;

macro_rules! errnos {
    ($($name:ident = $value:literal,)*) => {
        $(
            #[doc = concat!("`", stringify!($name), "` (", stringify!($value), ")")]
            pub const $name: Errno = $value;
        )*
        /// The symbolic name of a preview1 errno, e.g. `"ENOENT"`.
        pub fn errno_name(errno: Errno) -> &'static str {
            match errno {
                $($value => stringify!($name),)*
                _ => "<unknown errno>",
            }
        }
    };
}

errnos! {
    ESUCCESS = 0,
    E2BIG = 1,
    EACCES = 2,
    EADDRINUSE = 3,
    EADDRNOTAVAIL = 4,
    EAFNOSUPPORT = 5,
    EAGAIN = 6,
    EALREADY = 7,
    EBADF = 8,
    EBADMSG = 9,
    EBUSY = 10,
    ECANCELED = 11,
    ECHILD = 12,
    ECONNABORTED = 13,
    ECONNREFUSED = 14,
    ECONNRESET = 15,
    EDEADLK = 16,
    EDESTADDRREQ = 17,
    EDOM = 18,
    EDQUOT = 19,
    EEXIST = 20,
    EFAULT = 21,
    EFBIG = 22,
    EHOSTUNREACH = 23,
    EIDRM = 24,
    EILSEQ = 25,
    EINPROGRESS = 26,
    EINTR = 27,
    EINVAL = 28,
    EIO = 29,
    EISCONN = 30,
    EISDIR = 31,
    ELOOP = 32,
    EMFILE = 33,
    EMLINK = 34,
    EMSGSIZE = 35,
    EMULTIHOP = 36,
    ENAMETOOLONG = 37,
    ENETDOWN = 38,
    ENETRESET = 39,
    ENETUNREACH = 40,
    ENFILE = 41,
    ENOBUFS = 42,
    ENODEV = 43,
    ENOENT = 44,
    ENOEXEC = 45,
    ENOLCK = 46,
    ENOLINK = 47,
    ENOMEM = 48,
    ENOMSG = 49,
    ENOPROTOOPT = 50,
    ENOSPC = 51,
    ENOSYS = 52,
    ENOTCONN = 53,
    ENOTDIR = 54,
    ENOTEMPTY = 55,
    ENOTRECOVERABLE = 56,
    ENOTSOCK = 57,
    ENOTSUP = 58,
    ENOTTY = 59,
    ENXIO = 60,
    EOVERFLOW = 61,
    EOWNERDEAD = 62,
    EPERM = 63,
    EPIPE = 64,
    EPROTO = 65,
    EPROTONOSUPPORT = 66,
    EPROTOTYPE = 67,
    ERANGE = 68,
    EROFS = 69,
    ESPIPE = 70,
    ESRCH = 71,
    ESTALE = 72,
    ETIMEDOUT = 73,
    ETXTBSY = 74,
    EXDEV = 75,
    ENOTCAPABLE = 76,
}

/// Formats an errno as `NAME (n)`.
pub fn errno_display(errno: Errno) -> String {
    format!("{} ({})", errno_name(errno), errno)
}

/// Anything whose outcome is an errno: a raw return value, a wrapper's
/// `Result<_, Errno>`, or a std `io::Result`. Success is [`ESUCCESS`].
pub trait IntoErrno {
    /// The errno of this outcome; `0` for success.
    fn into_errno(self) -> Errno;
}

impl IntoErrno for i32 {
    fn into_errno(self) -> Errno {
        self
    }
}

impl<T> IntoErrno for Result<T, Errno> {
    fn into_errno(self) -> Errno {
        match self {
            Ok(_) => ESUCCESS,
            Err(e) => {
                assert_ne!(e, ESUCCESS, "an Err carried errno 0");
                e
            }
        }
    }
}

impl IntoErrno for io::Error {
    fn into_errno(self) -> Errno {
        match self.raw_os_error() {
            Some(0) | None => panic!("io::Error without an errno: {self}"),
            Some(e) => e,
        }
    }
}

impl<T> IntoErrno for io::Result<T> {
    fn into_errno(self) -> Errno {
        match self {
            Ok(_) => ESUCCESS,
            Err(e) => e.into_errno(),
        }
    }
}

/// Asserts that an outcome (see [`IntoErrno`]) is one of the given errnos,
/// printing names on mismatch: `assert_errno!(raw_call(..), ENOENT)` or
/// `assert_errno!(std::fs::remove_dir(p), ENOTEMPTY)`, or with alternatives
/// `assert_errno!(.., EPERM, ENOTCAPABLE)`.
#[macro_export]
macro_rules! assert_errno {
    ($e:expr, $($errno:expr),+ $(,)?) => {{
        let got: $crate::Errno = $crate::IntoErrno::into_errno($e);
        let expected: &[$crate::Errno] = &[$($errno),+];
        if !expected.contains(&got) {
            let names: Vec<String> =
                expected.iter().map(|e| $crate::errno_display(*e)).collect();
            panic!(
                "{}:{}: `{}` returned {}, expected {}",
                file!(),
                line!(),
                stringify!($e),
                $crate::errno_display(got),
                names.join(" or "),
            );
        }
    }};
}

/// Asserts that an outcome (see [`IntoErrno`]) is success, printing the errno
/// name otherwise. For `Result`s that carry a value, prefer [`Check::check`].
#[macro_export]
macro_rules! assert_ok {
    ($e:expr $(,)?) => {
        $crate::assert_errno!($e, $crate::ESUCCESS)
    };
}

/// Unwraps a `Result<T, Errno>` with the errno's name in the panic message.
pub trait Check<T> {
    /// Returns the value, or panics with `what` and the errno name.
    #[track_caller]
    fn check(self, what: &str) -> T;
}

impl<T> Check<T> for Result<T, Errno> {
    #[track_caller]
    fn check(self, what: &str) -> T {
        match self {
            Ok(v) => v,
            Err(e) => panic!("{what} failed with {}", errno_display(e)),
        }
    }
}

impl<T> Check<T> for std::io::Result<T> {
    #[track_caller]
    fn check(self, what: &str) -> T {
        match self {
            Ok(v) => v,
            Err(e) => panic!("{what} failed: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------
// Flags, rights, enums
// ---------------------------------------------------------------------------

/// Clock ids.
pub const CLOCK_REALTIME: i32 = 0;
/// Clock ids.
pub const CLOCK_MONOTONIC: i32 = 1;

/// `whence` values.
pub const WHENCE_SET: i32 = 0;
/// `whence` values.
pub const WHENCE_CUR: i32 = 1;
/// `whence` values.
pub const WHENCE_END: i32 = 2;

/// `filetype` values.
pub const FILETYPE_UNKNOWN: u8 = 0;
/// `filetype` values.
pub const FILETYPE_BLOCK_DEVICE: u8 = 1;
/// `filetype` values.
pub const FILETYPE_CHARACTER_DEVICE: u8 = 2;
/// `filetype` values.
pub const FILETYPE_DIRECTORY: u8 = 3;
/// `filetype` values.
pub const FILETYPE_REGULAR_FILE: u8 = 4;
/// `filetype` values.
pub const FILETYPE_SYMBOLIC_LINK: u8 = 7;

/// `lookupflags`: follow a final symlink.
pub const LOOKUP_SYMLINK_FOLLOW: i32 = 1;

/// `oflags` bits.
pub const OFLAGS_CREAT: i32 = 1;
/// `oflags` bits.
pub const OFLAGS_DIRECTORY: i32 = 2;
/// `oflags` bits.
pub const OFLAGS_EXCL: i32 = 4;
/// `oflags` bits.
pub const OFLAGS_TRUNC: i32 = 8;

/// `fdflags` bits.
pub const FDFLAGS_APPEND: i32 = 1;
/// `fdflags` bits.
pub const FDFLAGS_NONBLOCK: i32 = 4;

/// `fstflags` bits.
pub const FSTFLAGS_ATIM: i32 = 1;
/// `fstflags` bits.
pub const FSTFLAGS_ATIM_NOW: i32 = 2;
/// `fstflags` bits.
pub const FSTFLAGS_MTIM: i32 = 4;
/// `fstflags` bits.
pub const FSTFLAGS_MTIM_NOW: i32 = 8;

/// `rights` bits used by the programs.
pub const RIGHTS_FD_READ: i64 = 1 << 1;
/// `rights` bits used by the programs.
pub const RIGHTS_FD_SEEK: i64 = 1 << 2;
/// `rights` bits used by the programs.
pub const RIGHTS_FD_TELL: i64 = 1 << 5;
/// `rights` bits used by the programs.
pub const RIGHTS_FD_WRITE: i64 = 1 << 6;
/// `rights` bits used by the programs.
pub const RIGHTS_FD_READDIR: i64 = 1 << 14;
/// `rights` bits used by the programs.
pub const RIGHTS_PATH_FILESTAT_GET: i64 = 1 << 18;
/// `rights` bits used by the programs.
pub const RIGHTS_FD_FILESTAT_GET: i64 = 1 << 21;
/// `rights` bits used by the programs.
pub const RIGHTS_FD_FILESTAT_SET_TIMES: i64 = 1 << 23;
/// `rights` bits used by the programs.
pub const RIGHTS_PATH_CREATE_DIRECTORY: i64 = 1 << 9;
/// `rights` bits used by the programs.
pub const RIGHTS_PATH_FILESTAT_SET_SIZE: i64 = 1 << 19;
/// `rights` bits used by the programs.
pub const RIGHTS_FD_FILESTAT_SET_SIZE: i64 = 1 << 22;
/// Every right defined by preview1 (bits 0..=29).
pub const RIGHTS_ALL: i64 = (1 << 30) - 1;
/// Rights for reading a regular file.
pub const RIGHTS_FILE_READ: i64 =
    RIGHTS_FD_READ | RIGHTS_FD_SEEK | RIGHTS_FD_TELL | RIGHTS_FD_FILESTAT_GET;
/// Rights for reading and writing a regular file.
pub const RIGHTS_FILE_RW: i64 = RIGHTS_FILE_READ | RIGHTS_FD_WRITE | RIGHTS_FD_FILESTAT_SET_TIMES;
/// Rights for a directory that is read and searched (no writes through it).
pub const RIGHTS_DIR_READ: i64 =
    RIGHTS_FD_READDIR | RIGHTS_FD_FILESTAT_GET | RIGHTS_PATH_FILESTAT_GET;

// ---------------------------------------------------------------------------
// ABI structs
// ---------------------------------------------------------------------------

/// `fdstat` (24 bytes, align 8).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Fdstat {
    /// `fs_filetype`
    pub filetype: u8,
    /// `fs_flags`
    pub flags: u16,
    /// `fs_rights_base`
    pub rights_base: u64,
    /// `fs_rights_inheriting`
    pub rights_inheriting: u64,
}

/// `filestat` (64 bytes, align 8).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Filestat {
    /// `dev`
    pub dev: u64,
    /// `ino`
    pub ino: u64,
    /// `filetype`
    pub filetype: u8,
    /// `nlink`
    pub nlink: u64,
    /// `size`
    pub size: u64,
    /// `atim`
    pub atim: u64,
    /// `mtim`
    pub mtim: u64,
    /// `ctim`
    pub ctim: u64,
}

/// `prestat` (8 bytes, align 4): tag 0 is a directory with `name_len`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Prestat {
    /// `tag` (0 = dir)
    pub tag: u8,
    /// `u.dir.pr_name_len`
    pub name_len: u32,
}

/// `ciovec`/`iovec` (8 bytes, align 4). Fields are raw addresses so that
/// programs can build invalid ones.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Iovec {
    /// `buf`
    pub buf: u32,
    /// `buf_len`
    pub len: u32,
}

/// Size of a `dirent` header; the name follows it, unterminated.
pub const DIRENT_SIZE: usize = 24;

/// One parsed `dirent` with its name.
#[derive(Clone, Debug)]
pub struct Dirent {
    /// `d_next`: the cookie of the entry after this one.
    pub next: u64,
    /// `d_ino`
    pub ino: u64,
    /// `d_type`
    pub filetype: u8,
    /// The name (`d_namlen` bytes).
    pub name: Vec<u8>,
}

// ---------------------------------------------------------------------------
// Address helpers
// ---------------------------------------------------------------------------

/// The guest address of a shared reference.
pub fn addr<T: ?Sized>(r: &T) -> i32 {
    r as *const T as *const u8 as usize as i32
}

/// The guest address of a mutable reference.
pub fn addr_mut<T: ?Sized>(r: &mut T) -> i32 {
    r as *mut T as *mut u8 as usize as i32
}

/// The current size of linear memory 0, in bytes.
pub fn memory_bytes() -> u64 {
    core::arch::wasm32::memory_size(0) as u64 * 65536
}

fn res(errno: i32) -> Result<(), Errno> {
    if errno == ESUCCESS {
        Ok(())
    } else {
        Err(errno)
    }
}

// ---------------------------------------------------------------------------
// Thin wrappers
// ---------------------------------------------------------------------------

/// `clock_time_get(id, precision=1)`.
pub fn clock_time_get(id: i32) -> Result<u64, Errno> {
    let mut t = 0u64;
    // SAFETY: `t` is a valid, aligned u64 out-pointer.
    res(unsafe { raw::clock_time_get(id, 1, addr_mut(&mut t)) })?;
    Ok(t)
}

/// `clock_res_get(id)`.
pub fn clock_res_get(id: i32) -> Result<u64, Errno> {
    let mut t = 0u64;
    // SAFETY: `t` is a valid, aligned u64 out-pointer.
    res(unsafe { raw::clock_res_get(id, addr_mut(&mut t)) })?;
    Ok(t)
}

/// `random_get` into `buf`.
pub fn random_get(buf: &mut [u8]) -> Result<(), Errno> {
    let len = buf.len() as i32;
    // SAFETY: `buf` is valid for `len` bytes of writes.
    res(unsafe { raw::random_get(addr_mut(buf), len) })
}

/// `fd_write` of one buffer; returns bytes written.
pub fn fd_write(fd: i32, data: &[u8]) -> Result<usize, Errno> {
    let iov = Iovec {
        buf: addr(data) as u32,
        len: data.len() as u32,
    };
    let mut n = 0u32;
    // SAFETY: one valid iovec pointing at `data`; `n` is a valid out-pointer.
    res(unsafe { raw::fd_write(fd, addr(&iov), 1, addr_mut(&mut n)) })?;
    Ok(n as usize)
}

/// `fd_read` into one buffer; returns bytes read.
pub fn fd_read(fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    let iov = Iovec {
        buf: addr_mut(buf) as u32,
        len: buf.len() as u32,
    };
    let mut n = 0u32;
    // SAFETY: one valid iovec pointing at `buf`; `n` is a valid out-pointer.
    res(unsafe { raw::fd_read(fd, addr(&iov), 1, addr_mut(&mut n)) })?;
    Ok(n as usize)
}

/// `fd_pwrite` of one buffer at `offset`; returns bytes written.
pub fn fd_pwrite(fd: i32, data: &[u8], offset: u64) -> Result<usize, Errno> {
    let iov = Iovec {
        buf: addr(data) as u32,
        len: data.len() as u32,
    };
    let mut n = 0u32;
    // SAFETY: one valid iovec pointing at `data`; `n` is a valid out-pointer.
    res(unsafe { raw::fd_pwrite(fd, addr(&iov), 1, offset as i64, addr_mut(&mut n)) })?;
    Ok(n as usize)
}

/// `fd_pread` into one buffer at `offset`; returns bytes read.
pub fn fd_pread(fd: i32, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
    let iov = Iovec {
        buf: addr_mut(buf) as u32,
        len: buf.len() as u32,
    };
    let mut n = 0u32;
    // SAFETY: one valid iovec pointing at `buf`; `n` is a valid out-pointer.
    res(unsafe { raw::fd_pread(fd, addr(&iov), 1, offset as i64, addr_mut(&mut n)) })?;
    Ok(n as usize)
}

/// `fd_close`.
pub fn fd_close(fd: i32) -> Result<(), Errno> {
    // SAFETY: no pointers.
    res(unsafe { raw::fd_close(fd) })
}

/// `fd_seek`; returns the new offset.
pub fn fd_seek(fd: i32, offset: i64, whence: i32) -> Result<u64, Errno> {
    let mut off = 0u64;
    // SAFETY: `off` is a valid, aligned u64 out-pointer.
    res(unsafe { raw::fd_seek(fd, offset, whence, addr_mut(&mut off)) })?;
    Ok(off)
}

/// `fd_tell`.
pub fn fd_tell(fd: i32) -> Result<u64, Errno> {
    let mut off = 0u64;
    // SAFETY: `off` is a valid, aligned u64 out-pointer.
    res(unsafe { raw::fd_tell(fd, addr_mut(&mut off)) })?;
    Ok(off)
}

/// `fd_fdstat_get`.
pub fn fd_fdstat_get(fd: i32) -> Result<Fdstat, Errno> {
    let mut st = Fdstat::default();
    // SAFETY: `st` has the ABI layout of `fdstat`.
    res(unsafe { raw::fd_fdstat_get(fd, addr_mut(&mut st)) })?;
    Ok(st)
}

/// `fd_fdstat_set_rights`.
pub fn fd_fdstat_set_rights(fd: i32, base: u64, inheriting: u64) -> Result<(), Errno> {
    // SAFETY: no pointers.
    res(unsafe { raw::fd_fdstat_set_rights(fd, base as i64, inheriting as i64) })
}

/// `fd_filestat_set_size`.
pub fn fd_filestat_set_size(fd: i32, size: u64) -> Result<(), Errno> {
    // SAFETY: no pointers.
    res(unsafe { raw::fd_filestat_set_size(fd, size as i64) })
}

/// `fd_fdstat_set_flags`.
pub fn fd_fdstat_set_flags(fd: i32, flags: i32) -> Result<(), Errno> {
    // SAFETY: no pointers.
    res(unsafe { raw::fd_fdstat_set_flags(fd, flags) })
}

/// `fd_filestat_get`.
pub fn fd_filestat_get(fd: i32) -> Result<Filestat, Errno> {
    let mut st = Filestat::default();
    // SAFETY: `st` has the ABI layout of `filestat`.
    res(unsafe { raw::fd_filestat_get(fd, addr_mut(&mut st)) })?;
    Ok(st)
}

/// `fd_filestat_set_times`.
pub fn fd_filestat_set_times(fd: i32, atim: u64, mtim: u64, fst_flags: i32) -> Result<(), Errno> {
    // SAFETY: no pointers.
    res(unsafe { raw::fd_filestat_set_times(fd, atim as i64, mtim as i64, fst_flags) })
}

/// `path_filestat_get`.
pub fn path_filestat_get(fd: i32, lookupflags: i32, path: &[u8]) -> Result<Filestat, Errno> {
    let mut st = Filestat::default();
    // SAFETY: `path` is valid for its length; `st` has the `filestat` layout.
    res(unsafe {
        raw::path_filestat_get(
            fd,
            lookupflags,
            addr(path),
            path.len() as i32,
            addr_mut(&mut st),
        )
    })?;
    Ok(st)
}

/// `path_filestat_set_times`.
pub fn path_filestat_set_times(
    fd: i32,
    lookupflags: i32,
    path: &[u8],
    atim: u64,
    mtim: u64,
    fst_flags: i32,
) -> Result<(), Errno> {
    // SAFETY: `path` is valid for its length.
    res(unsafe {
        raw::path_filestat_set_times(
            fd,
            lookupflags,
            addr(path),
            path.len() as i32,
            atim as i64,
            mtim as i64,
            fst_flags,
        )
    })
}

/// `path_open`; returns the new fd.
pub fn path_open(
    dirfd: i32,
    lookupflags: i32,
    path: &[u8],
    oflags: i32,
    rights_base: i64,
    rights_inheriting: i64,
    fdflags: i32,
) -> Result<i32, Errno> {
    let mut fd = -1i32;
    // SAFETY: `path` is valid for its length; `fd` is a valid out-pointer.
    res(unsafe {
        raw::path_open(
            dirfd,
            lookupflags,
            addr(path),
            path.len() as i32,
            oflags,
            rights_base,
            rights_inheriting,
            fdflags,
            addr_mut(&mut fd),
        )
    })?;
    Ok(fd)
}

/// Opens `path` under `dirfd` as a directory for reading (`O_DIRECTORY`).
pub fn open_dir(dirfd: i32, path: &[u8]) -> Result<i32, Errno> {
    path_open(
        dirfd,
        0,
        path,
        OFLAGS_DIRECTORY,
        RIGHTS_DIR_READ,
        RIGHTS_ALL,
        0,
    )
}

/// `path_create_directory`.
pub fn path_create_directory(fd: i32, path: &[u8]) -> Result<(), Errno> {
    // SAFETY: `path` is valid for its length.
    res(unsafe { raw::path_create_directory(fd, addr(path), path.len() as i32) })
}

/// `path_remove_directory`.
pub fn path_remove_directory(fd: i32, path: &[u8]) -> Result<(), Errno> {
    // SAFETY: `path` is valid for its length.
    res(unsafe { raw::path_remove_directory(fd, addr(path), path.len() as i32) })
}

/// A `subscription` (48 bytes, align 8) for [`poll`].
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub struct Subscription(pub [u8; 48]);

impl Subscription {
    /// Waits `timeout_ns` nanoseconds on the monotonic clock.
    pub fn clock(userdata: u64, timeout_ns: u64) -> Self {
        let mut b = [0u8; 48];
        b[0..8].copy_from_slice(&userdata.to_le_bytes());
        b[8] = 0; // eventtype::clock
        b[16..20].copy_from_slice(&1u32.to_le_bytes()); // monotonic
        b[24..32].copy_from_slice(&timeout_ns.to_le_bytes());
        Subscription(b)
    }

    /// Waits until `fd` is readable.
    pub fn read(userdata: u64, fd: i32) -> Self {
        let mut b = [0u8; 48];
        b[0..8].copy_from_slice(&userdata.to_le_bytes());
        b[8] = 1; // eventtype::fd_read
        b[16..20].copy_from_slice(&(fd as u32).to_le_bytes());
        Subscription(b)
    }
}

/// An `event` returned by [`poll`]: `(userdata, error, type, eventrwflags)`.
pub type Event = (u64, u16, u8, u16);

/// `poll_oneoff` over `subs`.
pub fn poll(subs: &[Subscription]) -> Result<Vec<Event>, Errno> {
    #[repr(C, align(8))]
    #[derive(Clone, Copy)]
    struct RawEvent([u8; 32]);
    let mut out = vec![RawEvent([0; 32]); subs.len()];
    let mut n = 0u32;
    // SAFETY: the arrays have the ABI layouts and lengths given.
    res(unsafe {
        raw::poll_oneoff(
            addr(subs),
            addr_mut(&mut out[..]),
            subs.len() as i32,
            addr_mut(&mut n),
        )
    })?;
    Ok(out[..n as usize]
        .iter()
        .map(|e| {
            let b = &e.0;
            (
                u64::from_le_bytes(b[0..8].try_into().expect("8")),
                u16::from_le_bytes([b[8], b[9]]),
                b[10],
                u16::from_le_bytes([b[24], b[25]]),
            )
        })
        .collect())
}

/// `path_symlink`: creates `link` (relative to `fd`) pointing at `target`.
pub fn path_symlink(target: &[u8], fd: i32, link: &[u8]) -> Result<(), Errno> {
    // SAFETY: both paths are valid for their lengths.
    res(unsafe {
        raw::path_symlink(
            addr(target),
            target.len() as i32,
            fd,
            addr(link),
            link.len() as i32,
        )
    })
}

/// `path_readlink` into a buffer of `cap` bytes.
pub fn path_readlink(fd: i32, path: &[u8], cap: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; cap];
    let mut used = 0u32;
    // SAFETY: the path, buffer and result are valid for their lengths.
    res(unsafe {
        raw::path_readlink(
            fd,
            addr(path),
            path.len() as i32,
            addr_mut(&mut buf[..]),
            cap as i32,
            addr_mut(&mut used),
        )
    })?;
    buf.truncate(used as usize);
    Ok(buf)
}

/// `path_link`: creates `new` (relative to `new_fd`) as a hard link to `old`.
pub fn path_link(
    old_fd: i32,
    follow: bool,
    old: &[u8],
    new_fd: i32,
    new: &[u8],
) -> Result<(), Errno> {
    // SAFETY: both paths are valid for their lengths.
    res(unsafe {
        raw::path_link(
            old_fd,
            i32::from(follow),
            addr(old),
            old.len() as i32,
            new_fd,
            addr(new),
            new.len() as i32,
        )
    })
}

/// `path_unlink_file`.
pub fn path_unlink_file(fd: i32, path: &[u8]) -> Result<(), Errno> {
    // SAFETY: `path` is valid for its length.
    res(unsafe { raw::path_unlink_file(fd, addr(path), path.len() as i32) })
}

/// `fd_readdir` into `buf` from `cookie`; returns `bufused`.
pub fn fd_readdir(fd: i32, buf: &mut [u8], cookie: u64) -> Result<usize, Errno> {
    let len = buf.len() as i32;
    let mut used = 0u32;
    // SAFETY: `buf` is valid for `len` bytes; `used` is a valid out-pointer.
    res(unsafe { raw::fd_readdir(fd, addr_mut(buf), len, cookie as i64, addr_mut(&mut used)) })?;
    Ok(used as usize)
}

/// Parses the complete `dirent`s at the start of `buf[..used]`. Returns them
/// and whether the buffer ended with a truncated entry (header or name cut
/// off), which is how `fd_readdir` signals "more follows" when it fills the
/// buffer.
pub fn parse_dirents(buf: &[u8], used: usize) -> (Vec<Dirent>, bool) {
    let buf = &buf[..used];
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        if buf.len() - pos < DIRENT_SIZE {
            return (out, true);
        }
        let h = &buf[pos..pos + DIRENT_SIZE];
        let next = u64::from_le_bytes(h[0..8].try_into().unwrap());
        let ino = u64::from_le_bytes(h[8..16].try_into().unwrap());
        let namlen = u32::from_le_bytes(h[16..20].try_into().unwrap()) as usize;
        let filetype = h[20];
        let name_start = pos + DIRENT_SIZE;
        if buf.len() - name_start < namlen {
            return (out, true);
        }
        out.push(Dirent {
            next,
            ino,
            filetype,
            name: buf[name_start..name_start + namlen].to_vec(),
        });
        pos = name_start + namlen;
    }
    (out, false)
}

/// Reads a whole directory with `fd_readdir` through a buffer of `buf_size`
/// bytes, resuming from the `d_next` of the last complete entry after each
/// full buffer, as wasi-libc's `readdir` does.
pub fn read_dir_raw(fd: i32, buf_size: usize) -> Result<Vec<Dirent>, Errno> {
    let mut buf = vec![0u8; buf_size];
    let mut cookie = 0u64;
    let mut all = Vec::new();
    loop {
        let used = fd_readdir(fd, &mut buf, cookie)?;
        assert!(
            used <= buf.len(),
            "fd_readdir bufused {used} > buf_len {}",
            buf.len()
        );
        let (entries, truncated) = parse_dirents(&buf, used);
        if used < buf.len() {
            // End of directory: the host had no more to give.
            assert!(
                !truncated,
                "fd_readdir returned a truncated entry in a short buffer ({used} < {})",
                buf.len()
            );
            all.extend(entries);
            return Ok(all);
        }
        let last = entries.last().unwrap_or_else(|| {
            panic!("fd_readdir filled a {buf_size}-byte buffer without one complete entry")
        });
        assert_ne!(last.next, cookie, "fd_readdir cookie did not advance");
        cookie = last.next;
        all.extend(entries);
    }
}

// ---------------------------------------------------------------------------
// Preopens
// ---------------------------------------------------------------------------

/// The guest path of the scratch directory the host preopens.
pub const SANDBOX: &str = "/sandbox";

/// `fd_prestat_get`.
pub fn fd_prestat_get(fd: i32) -> Result<Prestat, Errno> {
    let mut p = Prestat::default();
    // SAFETY: `p` has the ABI layout of `prestat`.
    res(unsafe { raw::fd_prestat_get(fd, addr_mut(&mut p)) })?;
    Ok(p)
}

/// `fd_prestat_dir_name` (after `fd_prestat_get` for the length).
pub fn fd_prestat_dir_name(fd: i32) -> Result<Vec<u8>, Errno> {
    let p = fd_prestat_get(fd)?;
    let mut name = vec![0u8; p.name_len as usize];
    let len = name.len() as i32;
    // SAFETY: `name` is valid for `len` bytes of writes.
    res(unsafe { raw::fd_prestat_dir_name(fd, addr_mut(&mut name[..]), len) })?;
    Ok(name)
}

/// Finds the preopen fd whose name is [`SANDBOX`], scanning from fd 3 until
/// `fd_prestat_get` says `EBADF`. Panics if there is none.
pub fn sandbox_fd() -> i32 {
    let mut fd = 3;
    loop {
        match fd_prestat_get(fd) {
            Ok(p) => {
                assert_eq!(
                    p.tag, 0,
                    "preopen fd {fd} has unknown prestat tag {}",
                    p.tag
                );
                let name = fd_prestat_dir_name(fd).check("fd_prestat_dir_name");
                if name == SANDBOX.as_bytes() {
                    return fd;
                }
            }
            Err(EBADF) => panic!("no preopen named {SANDBOX} among fds 3..{fd}"),
            Err(e) => panic!("fd_prestat_get({fd}) failed with {}", errno_display(e)),
        }
        fd += 1;
    }
}

/// Joins `name` to [`SANDBOX`]: `sandbox_path("a/b")` is `"/sandbox/a/b"`.
pub fn sandbox_path(name: &str) -> String {
    format!("{SANDBOX}/{name}")
}
