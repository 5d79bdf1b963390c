//! The error type of hostcalls, the guest-exit value, and the one table that turns a
//! host `io::Error` into an [`Errno`].

use crate::Errno;
use std::borrow::Cow;
use std::fmt;
use std::io;

/// Why a hostcall did not return `ESUCCESS`.
///
/// Most failures are an [`Errno`] returned to the guest. Three are not: a
/// [`Trap`] (the guest broke the ABI, e.g. passed an out-of-bounds pointer, and
/// must stop), an [`I32Exit`] (the guest called `proc_exit`), and [`Stopped`]
/// (the host ended the guest: an interrupt, a limit, or a hook's verdict).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Return this errno to the guest.
    Errno(Errno),
    /// Stop the guest with a trap.
    Trap(Trap),
    /// The guest asked to exit with this code.
    Exit(I32Exit),
    /// The host ended the guest.
    Stopped(Stopped),
}

impl Error {
    /// A trap with the given message.
    #[cold]
    pub fn trap(message: impl Into<Cow<'static, str>>) -> Self {
        Error::Trap(Trap {
            message: message.into(),
        })
    }

    /// The guest was interrupted ([`StopReason::Interrupted`]).
    #[cold]
    pub fn interrupted() -> Self {
        Error::Stopped(Stopped::new(
            StopReason::Interrupted,
            "interrupted by the host",
        ))
    }

    /// `EBADF`: the descriptor is not open, or not of the right kind.
    #[cold]
    pub fn badf() -> Self {
        Error::Errno(Errno::Badf)
    }

    /// `EINVAL`: a bad flag, enum value or argument.
    #[cold]
    pub fn inval() -> Self {
        Error::Errno(Errno::Inval)
    }

    /// `EPERM`: a path tried to leave its mount.
    #[cold]
    pub fn escape_attempt() -> Self {
        Error::Errno(Errno::Perm)
    }

    /// The errno, if this error is one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Errno(e) => Some(*e),
            Error::Trap(_) | Error::Exit(_) | Error::Stopped(_) => None,
        }
    }
}

impl From<Errno> for Error {
    fn from(e: Errno) -> Self {
        Error::Errno(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Errno(e) => e.fmt(f),
            Error::Trap(t) => t.fmt(f),
            Error::Exit(e) => e.fmt(f),
            Error::Stopped(s) => s.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

/// The guest broke the preview1 ABI (for example, an out-of-bounds or misaligned
/// pointer that a call had to dereference) and must stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    message: Cow<'static, str>,
}

impl Trap {
    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Trap {}

/// The guest called `proc_exit` with this code.
///
/// Runtime bindings surface it as the error of the guest's entry point, so an
/// embedder can match on it:
///
/// ```
/// # let err: Box<dyn std::error::Error> = Box::new(vasi::I32Exit(3));
/// if let Some(exit) = err.downcast_ref::<vasi::I32Exit>() {
///     assert_eq!(exit.0, 3);
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct I32Exit(pub i32);

impl fmt::Display for I32Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "guest exited with code {}", self.0)
    }
}

impl std::error::Error for I32Exit {}

/// Why the host ended a guest before it finished ([`Error::Stopped`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StopReason {
    /// The embedder's [`InterruptHandle`](crate::InterruptHandle) fired while the
    /// guest was blocked in (or entering) a hostcall.
    Interrupted,
    /// The guest needed a descriptor beyond
    /// [`max_open_files`](crate::WasiCtxBuilder::max_open_files) and the context
    /// was built with
    /// [`stop_at_open_files_limit`](crate::WasiCtxBuilder::stop_at_open_files_limit).
    OpenFilesLimit,
    /// A [`Hook`](crate::hook::Hook) ended the guest.
    Hook,
}

/// The host ended the guest: the value a binding returns as its error so the
/// embedder can tell an interrupt or a limit from a trap.
///
/// ```
/// let stop = vasi::Stopped::new(vasi::StopReason::Interrupted, "timed out");
/// assert_eq!(stop.reason(), vasi::StopReason::Interrupted);
/// assert_eq!(stop.to_string(), "timed out");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    reason: StopReason,
    message: Cow<'static, str>,
}

impl Stopped {
    /// A stop for `reason`, described by `message`.
    pub fn new(reason: StopReason, message: impl Into<Cow<'static, str>>) -> Self {
        Stopped {
            reason,
            message: message.into(),
        }
    }

    /// Why the guest was stopped.
    pub fn reason(&self) -> StopReason {
        self.reason
    }

    /// What happened, in words.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Stopped {}

impl From<io::Error> for Errno {
    /// The exact errno of a host error: the OS error number first, then the
    /// error kind, then `EIO`.
    fn from(err: io::Error) -> Self {
        if let Some(raw) = err.raw_os_error() {
            if let Some(e) = from_raw_os_error(raw) {
                return e;
            }
        }
        from_kind(err.kind())
    }
}

#[cfg(all(feature = "host", unix))]
fn from_raw_os_error(raw: i32) -> Option<Errno> {
    use rustix::io::Errno as E;
    let e = E::from_raw_os_error(raw);
    Some(match e {
        E::TOOBIG => Errno::TooBig,
        E::ACCESS => Errno::Acces,
        E::ADDRINUSE => Errno::Addrinuse,
        E::ADDRNOTAVAIL => Errno::Addrnotavail,
        E::AFNOSUPPORT => Errno::Afnosupport,
        E::AGAIN => Errno::Again,
        E::ALREADY => Errno::Already,
        E::BADF => Errno::Badf,
        E::BADMSG => Errno::Badmsg,
        E::BUSY => Errno::Busy,
        E::CANCELED => Errno::Canceled,
        E::CHILD => Errno::Child,
        E::CONNABORTED => Errno::Connaborted,
        E::CONNREFUSED => Errno::Connrefused,
        E::CONNRESET => Errno::Connreset,
        E::DEADLK => Errno::Deadlk,
        E::DESTADDRREQ => Errno::Destaddrreq,
        E::DOM => Errno::Dom,
        E::DQUOT => Errno::Dquot,
        E::EXIST => Errno::Exist,
        E::FAULT => Errno::Fault,
        E::FBIG => Errno::Fbig,
        E::HOSTUNREACH => Errno::Hostunreach,
        E::IDRM => Errno::Idrm,
        E::ILSEQ => Errno::Ilseq,
        E::INPROGRESS => Errno::Inprogress,
        E::INTR => Errno::Intr,
        E::INVAL => Errno::Inval,
        E::IO => Errno::Io,
        E::ISCONN => Errno::Isconn,
        E::ISDIR => Errno::Isdir,
        E::LOOP => Errno::Loop,
        E::MFILE => Errno::Mfile,
        E::MLINK => Errno::Mlink,
        E::MSGSIZE => Errno::Msgsize,
        E::MULTIHOP => Errno::Multihop,
        E::NAMETOOLONG => Errno::Nametoolong,
        E::NETDOWN => Errno::Netdown,
        E::NETRESET => Errno::Netreset,
        E::NETUNREACH => Errno::Netunreach,
        E::NFILE => Errno::Nfile,
        E::NOBUFS => Errno::Nobufs,
        E::NODEV => Errno::Nodev,
        E::NOENT => Errno::Noent,
        E::NOEXEC => Errno::Noexec,
        E::NOLCK => Errno::Nolck,
        E::NOLINK => Errno::Nolink,
        E::NOMEM => Errno::Nomem,
        E::NOMSG => Errno::Nomsg,
        E::NOPROTOOPT => Errno::Noprotoopt,
        E::NOSPC => Errno::Nospc,
        E::NOSYS => Errno::Nosys,
        E::NOTCONN => Errno::Notconn,
        E::NOTDIR => Errno::Notdir,
        E::NOTEMPTY => Errno::Notempty,
        E::NOTRECOVERABLE => Errno::Notrecoverable,
        E::NOTSOCK => Errno::Notsock,
        E::NOTSUP => Errno::Notsup,
        E::NOTTY => Errno::Notty,
        E::NXIO => Errno::Nxio,
        E::OVERFLOW => Errno::Overflow,
        E::OWNERDEAD => Errno::Ownerdead,
        E::PERM => Errno::Perm,
        E::PIPE => Errno::Pipe,
        E::PROTO => Errno::Proto,
        E::PROTONOSUPPORT => Errno::Protonosupport,
        E::PROTOTYPE => Errno::Prototype,
        E::RANGE => Errno::Range,
        E::ROFS => Errno::Rofs,
        E::SPIPE => Errno::Spipe,
        E::SRCH => Errno::Srch,
        E::STALE => Errno::Stale,
        E::TIMEDOUT => Errno::Timedout,
        E::TXTBSY => Errno::Txtbsy,
        E::XDEV => Errno::Xdev,
        _ => return None,
    })
}

#[cfg(not(all(feature = "host", unix)))]
fn from_raw_os_error(_raw: i32) -> Option<Errno> {
    None
}

fn from_kind(kind: io::ErrorKind) -> Errno {
    use io::ErrorKind as K;
    match kind {
        K::NotFound => Errno::Noent,
        K::PermissionDenied => Errno::Perm,
        K::ConnectionRefused => Errno::Connrefused,
        K::ConnectionReset => Errno::Connreset,
        K::HostUnreachable => Errno::Hostunreach,
        K::NetworkUnreachable => Errno::Netunreach,
        K::ConnectionAborted => Errno::Connaborted,
        K::NotConnected => Errno::Notconn,
        K::AddrInUse => Errno::Addrinuse,
        K::AddrNotAvailable => Errno::Addrnotavail,
        K::NetworkDown => Errno::Netdown,
        K::BrokenPipe => Errno::Pipe,
        K::AlreadyExists => Errno::Exist,
        K::WouldBlock => Errno::Again,
        K::NotADirectory => Errno::Notdir,
        K::IsADirectory => Errno::Isdir,
        K::DirectoryNotEmpty => Errno::Notempty,
        K::ReadOnlyFilesystem => Errno::Rofs,
        K::StaleNetworkFileHandle => Errno::Stale,
        K::InvalidInput => Errno::Inval,
        K::InvalidData => Errno::Ilseq,
        K::TimedOut => Errno::Timedout,
        K::StorageFull => Errno::Nospc,
        K::NotSeekable => Errno::Spipe,
        K::QuotaExceeded => Errno::Dquot,
        K::FileTooLarge => Errno::Fbig,
        K::ResourceBusy => Errno::Busy,
        K::ExecutableFileBusy => Errno::Txtbsy,
        K::Deadlock => Errno::Deadlk,
        K::CrossesDevices => Errno::Xdev,
        K::TooManyLinks => Errno::Mlink,
        K::InvalidFilename => Errno::Nametoolong,
        K::ArgumentListTooLong => Errno::TooBig,
        K::Interrupted => Errno::Intr,
        K::Unsupported => Errno::Notsup,
        K::OutOfMemory => Errno::Nomem,
        _ => Errno::Io,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_keep_their_errno() {
        assert_eq!(
            Errno::from(io::Error::from(io::ErrorKind::NotFound)),
            Errno::Noent
        );
        assert_eq!(Errno::from(io::Error::other("x")), Errno::Io);
        #[cfg(all(feature = "host", unix))]
        {
            let enotempty = rustix::io::Errno::NOTEMPTY.raw_os_error();
            assert_eq!(
                Errno::from(io::Error::from_raw_os_error(enotempty)),
                Errno::Notempty
            );
            let eloop = rustix::io::Errno::LOOP.raw_os_error();
            assert_eq!(
                Errno::from(io::Error::from_raw_os_error(eloop)),
                Errno::Loop
            );
        }
    }

    #[test]
    fn error_kinds() {
        assert_eq!(Error::from(Errno::Badf), Error::badf());
        assert_eq!(Error::badf().errno(), Some(Errno::Badf));
        assert_eq!(Error::trap("x").errno(), None);
        assert_eq!(I32Exit(3).to_string(), "guest exited with code 3");
    }
}
