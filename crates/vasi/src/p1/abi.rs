//! The preview1 ABI: flag and enum values, and the memory layouts of the structs
//! hostcalls write (`filestat`, `fdstat`, `prestat`, `dirent`, `event`).
//!
//! Names mirror the witx definitions of `wasi_snapshot_preview1`.

use crate::vfs::{FileType, Stat};

/// `filetype` values.
pub mod filetype {
    /// `unknown`
    pub const UNKNOWN: u8 = 0;
    /// `block_device`
    pub const BLOCK_DEVICE: u8 = 1;
    /// `character_device`
    pub const CHARACTER_DEVICE: u8 = 2;
    /// `directory`
    pub const DIRECTORY: u8 = 3;
    /// `regular_file`
    pub const REGULAR_FILE: u8 = 4;
    /// `socket_dgram`
    pub const SOCKET_DGRAM: u8 = 5;
    /// `socket_stream`
    pub const SOCKET_STREAM: u8 = 6;
    /// `symbolic_link`
    pub const SYMBOLIC_LINK: u8 = 7;
}

/// `fdflags` bits.
pub mod fdflags {
    /// `append`
    pub const APPEND: u16 = 1 << 0;
    /// `dsync`
    pub const DSYNC: u16 = 1 << 1;
    /// `nonblock`
    pub const NONBLOCK: u16 = 1 << 2;
    /// `rsync`
    pub const RSYNC: u16 = 1 << 3;
    /// `sync`
    pub const SYNC: u16 = 1 << 4;
    /// Every defined bit.
    pub const ALL: u16 = APPEND | DSYNC | NONBLOCK | RSYNC | SYNC;
}

/// `oflags` bits.
pub mod oflags {
    /// `creat`
    pub const CREAT: u16 = 1 << 0;
    /// `directory`
    pub const DIRECTORY: u16 = 1 << 1;
    /// `excl`
    pub const EXCL: u16 = 1 << 2;
    /// `trunc`
    pub const TRUNC: u16 = 1 << 3;
    /// Every defined bit.
    pub const ALL: u16 = CREAT | DIRECTORY | EXCL | TRUNC;
}

/// `lookupflags` bits.
pub mod lookupflags {
    /// `symlink_follow`
    pub const SYMLINK_FOLLOW: u32 = 1 << 0;
}

/// `fstflags` bits.
pub mod fstflags {
    /// `atim`
    pub const ATIM: u16 = 1 << 0;
    /// `atim_now`
    pub const ATIM_NOW: u16 = 1 << 1;
    /// `mtim`
    pub const MTIM: u16 = 1 << 2;
    /// `mtim_now`
    pub const MTIM_NOW: u16 = 1 << 3;
    /// Every defined bit.
    pub const ALL: u16 = ATIM | ATIM_NOW | MTIM | MTIM_NOW;
}

/// `whence` values.
pub mod whence {
    /// `set`
    pub const SET: u32 = 0;
    /// `cur`
    pub const CUR: u32 = 1;
    /// `end`
    pub const END: u32 = 2;
}

/// `advice` values (`normal` .. `noreuse`).
pub mod advice {
    /// The largest defined value (`noreuse`).
    pub const MAX: u32 = 5;
}

/// `eventtype` values.
pub mod eventtype {
    /// `clock`
    pub const CLOCK: u8 = 0;
    /// `fd_read`
    pub const FD_READ: u8 = 1;
    /// `fd_write`
    pub const FD_WRITE: u8 = 2;
}

/// `eventrwflags` bits.
pub mod eventrwflags {
    /// `fd_readwrite_hangup`
    pub const FD_READWRITE_HANGUP: u16 = 1 << 0;
}

/// `subclockflags` bits.
pub mod subclockflags {
    /// `subscription_clock_abstime`
    pub const ABSTIME: u16 = 1 << 0;
}

/// `rights` bits.
pub mod rights {
    /// `fd_datasync`
    pub const FD_DATASYNC: u64 = 1 << 0;
    /// `fd_read`
    pub const FD_READ: u64 = 1 << 1;
    /// `fd_seek`
    pub const FD_SEEK: u64 = 1 << 2;
    /// `fd_fdstat_set_flags`
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    /// `fd_sync`
    pub const FD_SYNC: u64 = 1 << 4;
    /// `fd_tell`
    pub const FD_TELL: u64 = 1 << 5;
    /// `fd_write`
    pub const FD_WRITE: u64 = 1 << 6;
    /// `fd_advise`
    pub const FD_ADVISE: u64 = 1 << 7;
    /// `fd_allocate`
    pub const FD_ALLOCATE: u64 = 1 << 8;
    /// `path_create_directory`
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    /// `path_create_file`
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    /// `path_link_source`
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    /// `path_link_target`
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    /// `path_open`
    pub const PATH_OPEN: u64 = 1 << 13;
    /// `fd_readdir`
    pub const FD_READDIR: u64 = 1 << 14;
    /// `path_readlink`
    pub const PATH_READLINK: u64 = 1 << 15;
    /// `path_rename_source`
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    /// `path_rename_target`
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    /// `path_filestat_get`
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    /// `path_filestat_set_size`
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    /// `path_filestat_set_times`
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    /// `fd_filestat_get`
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    /// `fd_filestat_set_size`
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    /// `fd_filestat_set_times`
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    /// `path_symlink`
    pub const PATH_SYMLINK: u64 = 1 << 24;
    /// `path_remove_directory`
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    /// `path_unlink_file`
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    /// `poll_fd_readwrite`
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    /// `sock_shutdown`
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    /// `sock_accept`
    pub const SOCK_ACCEPT: u64 = 1 << 29;
    /// Every defined right.
    pub const ALL: u64 = (1 << 30) - 1;

    /// The rights of a regular file opened for reading. (Setting times needs
    /// no write access, as with `futimens`.)
    pub const FILE_READ: u64 = FD_READ
        | FD_SEEK
        | FD_TELL
        | FD_FDSTAT_SET_FLAGS
        | FD_ADVISE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE
        | FD_SYNC
        | FD_DATASYNC;
    /// The rights of a regular file opened for writing.
    pub const FILE_WRITE: u64 = FD_WRITE
        | FD_SEEK
        | FD_TELL
        | FD_FDSTAT_SET_FLAGS
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE
        | FD_SYNC
        | FD_DATASYNC;
    /// The rights of a directory.
    pub const DIRECTORY: u64 = FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_ADVISE
        | PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_GET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE;
    /// The rights of a TCP listener.
    pub const LISTENER: u64 =
        SOCK_ACCEPT | FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE;
    /// The rights of a TCP connection.
    pub const SOCKET: u64 = FD_READ
        | FD_WRITE
        | SOCK_SHUTDOWN
        | FD_FDSTAT_SET_FLAGS
        | FD_FILESTAT_GET
        | POLL_FD_READWRITE;
    /// The rights of stdin.
    pub const STDIN: u64 = FD_READ | FD_FILESTAT_GET | POLL_FD_READWRITE;
    /// The rights of stdout and stderr.
    pub const STDOUT: u64 = FD_WRITE | FD_FILESTAT_GET | POLL_FD_READWRITE;
}

/// The preview1 number of a [`FileType`].
pub fn filetype_raw(t: FileType) -> u8 {
    match t {
        FileType::Unknown => filetype::UNKNOWN,
        FileType::BlockDevice => filetype::BLOCK_DEVICE,
        FileType::CharacterDevice => filetype::CHARACTER_DEVICE,
        FileType::Directory => filetype::DIRECTORY,
        FileType::RegularFile => filetype::REGULAR_FILE,
        FileType::SocketDgram => filetype::SOCKET_DGRAM,
        FileType::SocketStream => filetype::SOCKET_STREAM,
        FileType::SymbolicLink => filetype::SYMBOLIC_LINK,
    }
}

/// `filestat`: 64 bytes, 8-aligned.
pub fn filestat(s: &Stat) -> [u8; 64] {
    let mut b = [0u8; 64];
    b[0..8].copy_from_slice(&s.dev.to_le_bytes());
    b[8..16].copy_from_slice(&s.ino.to_le_bytes());
    b[16] = filetype_raw(s.filetype);
    b[24..32].copy_from_slice(&s.nlink.to_le_bytes());
    b[32..40].copy_from_slice(&s.size.to_le_bytes());
    b[40..48].copy_from_slice(&s.atim.to_le_bytes());
    b[48..56].copy_from_slice(&s.mtim.to_le_bytes());
    b[56..64].copy_from_slice(&s.ctim.to_le_bytes());
    b
}

/// `fdstat`: 24 bytes, 8-aligned.
pub fn fdstat(filetype: u8, flags: u16, rights_base: u64, rights_inheriting: u64) -> [u8; 24] {
    let mut b = [0u8; 24];
    b[0] = filetype;
    b[2..4].copy_from_slice(&flags.to_le_bytes());
    b[8..16].copy_from_slice(&rights_base.to_le_bytes());
    b[16..24].copy_from_slice(&rights_inheriting.to_le_bytes());
    b
}

/// `prestat` of a directory: 8 bytes, 4-aligned.
pub fn prestat_dir(name_len: u32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0] = 0; // preopentype::dir
    b[4..8].copy_from_slice(&name_len.to_le_bytes());
    b
}

/// The size of a `dirent` header (the name follows it).
pub const DIRENT_SIZE: usize = 24;

/// A `dirent` header: 24 bytes.
pub fn dirent(next: u64, ino: u64, namlen: u32, filetype: u8) -> [u8; DIRENT_SIZE] {
    let mut b = [0u8; DIRENT_SIZE];
    b[0..8].copy_from_slice(&next.to_le_bytes());
    b[8..16].copy_from_slice(&ino.to_le_bytes());
    b[16..20].copy_from_slice(&namlen.to_le_bytes());
    b[20] = filetype;
    b
}

/// The size of a `subscription`.
pub const SUBSCRIPTION_SIZE: u32 = 48;
/// The size of an `event`.
pub const EVENT_SIZE: u32 = 32;

/// An `event`: 32 bytes, 8-aligned.
pub fn event(userdata: u64, error: u16, kind: u8, nbytes: u64, flags: u16) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[0..8].copy_from_slice(&userdata.to_le_bytes());
    b[8..10].copy_from_slice(&error.to_le_bytes());
    b[10] = kind;
    b[16..24].copy_from_slice(&nbytes.to_le_bytes());
    b[24..26].copy_from_slice(&flags.to_le_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let s = Stat {
            dev: 1,
            ino: 2,
            filetype: FileType::Directory,
            nlink: 3,
            size: 4,
            atim: 5,
            mtim: 6,
            ctim: 7,
        };
        let b = filestat(&s);
        assert_eq!(b[16], 3);
        assert_eq!(u64::from_le_bytes(b[56..64].try_into().unwrap()), 7);
        let d = dirent(9, 8, 7, 4);
        assert_eq!(u32::from_le_bytes(d[16..20].try_into().unwrap()), 7);
        assert_eq!(d[20], 4);
        assert_eq!(rights::ALL, 0x3fff_ffff);
        let e = event(1, 8, 2, 5, 1);
        assert_eq!(u16::from_le_bytes([e[8], e[9]]), 8);
        assert_eq!(e[10], 2);
    }
}
