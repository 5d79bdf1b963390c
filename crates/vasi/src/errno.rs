//! The WASI preview1 error numbers.

use core::fmt;

macro_rules! errnos {
    ($( $(#[$doc:meta])* $variant:ident = $num:literal, $name:literal, $msg:literal; )*) => {
        /// An error number of `wasi_snapshot_preview1`, with the exact numbering of the
        /// specification.
        ///
        /// This is the error type of every hostcall and of every filesystem backend:
        /// a backend says exactly which errno an operation gives, so nothing is lost in
        /// translation. The set is frozen by the preview1 ABI, so the enum is exhaustive.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        pub enum Errno {
            $( $(#[$doc])* #[doc = $msg] $variant = $num, )*
        }

        impl Errno {
            /// Every errno, in numeric order.
            pub const ALL: &'static [Errno] = &[$(Errno::$variant,)*];

            /// The POSIX-style name, such as `"EBADF"`.
            pub const fn name(self) -> &'static str {
                match self { $(Errno::$variant => $name,)* }
            }

            /// A short human-readable description.
            pub const fn message(self) -> &'static str {
                match self { $(Errno::$variant => $msg,)* }
            }

            /// The errno with the given number, if there is one.
            pub const fn from_raw(raw: u16) -> Option<Errno> {
                match raw { $($num => Some(Errno::$variant),)* _ => None }
            }
        }
    };
}

errnos! {
    Success = 0, "ESUCCESS", "No error occurred.";
    TooBig = 1, "E2BIG", "Argument list too long.";
    Acces = 2, "EACCES", "Permission denied.";
    Addrinuse = 3, "EADDRINUSE", "Address in use.";
    Addrnotavail = 4, "EADDRNOTAVAIL", "Address not available.";
    Afnosupport = 5, "EAFNOSUPPORT", "Address family not supported.";
    Again = 6, "EAGAIN", "Resource unavailable, or operation would block.";
    Already = 7, "EALREADY", "Connection already in progress.";
    Badf = 8, "EBADF", "Bad file descriptor.";
    Badmsg = 9, "EBADMSG", "Bad message.";
    Busy = 10, "EBUSY", "Device or resource busy.";
    Canceled = 11, "ECANCELED", "Operation canceled.";
    Child = 12, "ECHILD", "No child processes.";
    Connaborted = 13, "ECONNABORTED", "Connection aborted.";
    Connrefused = 14, "ECONNREFUSED", "Connection refused.";
    Connreset = 15, "ECONNRESET", "Connection reset.";
    Deadlk = 16, "EDEADLK", "Resource deadlock would occur.";
    Destaddrreq = 17, "EDESTADDRREQ", "Destination address required.";
    Dom = 18, "EDOM", "Mathematics argument out of domain of function.";
    Dquot = 19, "EDQUOT", "Reserved.";
    Exist = 20, "EEXIST", "File exists.";
    Fault = 21, "EFAULT", "Bad address.";
    Fbig = 22, "EFBIG", "File too large.";
    Hostunreach = 23, "EHOSTUNREACH", "Host is unreachable.";
    Idrm = 24, "EIDRM", "Identifier removed.";
    Ilseq = 25, "EILSEQ", "Illegal byte sequence.";
    Inprogress = 26, "EINPROGRESS", "Operation in progress.";
    Intr = 27, "EINTR", "Interrupted function.";
    Inval = 28, "EINVAL", "Invalid argument.";
    Io = 29, "EIO", "I/O error.";
    Isconn = 30, "EISCONN", "Socket is connected.";
    Isdir = 31, "EISDIR", "Is a directory.";
    Loop = 32, "ELOOP", "Too many levels of symbolic links.";
    Mfile = 33, "EMFILE", "File descriptor value too large.";
    Mlink = 34, "EMLINK", "Too many links.";
    Msgsize = 35, "EMSGSIZE", "Message too large.";
    Multihop = 36, "EMULTIHOP", "Reserved.";
    Nametoolong = 37, "ENAMETOOLONG", "Filename too long.";
    Netdown = 38, "ENETDOWN", "Network is down.";
    Netreset = 39, "ENETRESET", "Connection aborted by network.";
    Netunreach = 40, "ENETUNREACH", "Network unreachable.";
    Nfile = 41, "ENFILE", "Too many files open in system.";
    Nobufs = 42, "ENOBUFS", "No buffer space available.";
    Nodev = 43, "ENODEV", "No such device.";
    Noent = 44, "ENOENT", "No such file or directory.";
    Noexec = 45, "ENOEXEC", "Executable file format error.";
    Nolck = 46, "ENOLCK", "No locks available.";
    Nolink = 47, "ENOLINK", "Reserved.";
    Nomem = 48, "ENOMEM", "Not enough space.";
    Nomsg = 49, "ENOMSG", "No message of the desired type.";
    Noprotoopt = 50, "ENOPROTOOPT", "Protocol not available.";
    Nospc = 51, "ENOSPC", "No space left on device.";
    Nosys = 52, "ENOSYS", "Function not supported.";
    Notconn = 53, "ENOTCONN", "The socket is not connected.";
    Notdir = 54, "ENOTDIR", "Not a directory or a symbolic link to a directory.";
    Notempty = 55, "ENOTEMPTY", "Directory not empty.";
    Notrecoverable = 56, "ENOTRECOVERABLE", "State not recoverable.";
    Notsock = 57, "ENOTSOCK", "Not a socket.";
    Notsup = 58, "ENOTSUP", "Not supported, or operation not supported on socket.";
    Notty = 59, "ENOTTY", "Inappropriate I/O control operation.";
    Nxio = 60, "ENXIO", "No such device or address.";
    Overflow = 61, "EOVERFLOW", "Value too large to be stored in data type.";
    Ownerdead = 62, "EOWNERDEAD", "Previous owner died.";
    Perm = 63, "EPERM", "Operation not permitted.";
    Pipe = 64, "EPIPE", "Broken pipe.";
    Proto = 65, "EPROTO", "Protocol error.";
    Protonosupport = 66, "EPROTONOSUPPORT", "Protocol not supported.";
    Prototype = 67, "EPROTOTYPE", "Protocol wrong type for socket.";
    Range = 68, "ERANGE", "Result too large.";
    Rofs = 69, "EROFS", "Read-only file system.";
    Spipe = 70, "ESPIPE", "Invalid seek.";
    Srch = 71, "ESRCH", "No such process.";
    Stale = 72, "ESTALE", "Reserved.";
    Timedout = 73, "ETIMEDOUT", "Connection timed out.";
    Txtbsy = 74, "ETXTBSY", "Text file busy.";
    Xdev = 75, "EXDEV", "Cross-device link.";
    Notcapable = 76, "ENOTCAPABLE", "Extension: Capabilities insufficient.";
}

impl Errno {
    /// The raw preview1 value.
    pub const fn raw(self) -> u16 {
        self as u16
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.message())
    }
}

impl std::error::Error for Errno {}

#[cfg(test)]
mod tests {
    use super::Errno;

    #[test]
    fn numbering_is_dense_and_exact() {
        assert_eq!(Errno::ALL.len(), 77);
        for (i, e) in Errno::ALL.iter().enumerate() {
            assert_eq!(e.raw() as usize, i, "{}", e.name());
            assert_eq!(Errno::from_raw(i as u16), Some(*e));
        }
        assert_eq!(Errno::from_raw(77), None);
        assert_eq!(Errno::Badf.raw(), 8);
        assert_eq!(Errno::Notcapable.raw(), 76);
        assert_eq!(Errno::Noent.name(), "ENOENT");
        assert_eq!(Errno::Ilseq.to_string(), "EILSEQ (Illegal byte sequence.)");
    }
}
