//! Hostile hostcall arguments: bad fds, bad flags and enums, bad UTF-8 give
//! errnos; out-of-bounds, overflowing or misaligned pointers make the guest
//! trap inside the call.
//!
//! Host contract: args `["p1_hostile", "<case>"]`, no env, empty stdin, an
//! empty `/sandbox`.
//!
//! - `errnos`: every errno check below; stdout and stderr empty; exit code 0.
//!   The invalid flag/enum *parameter* checks run last, because wasmtime traps
//!   on them (wiggle lifts parameters with `?` into a trap) where vasi returns
//!   `EINVAL` (DESIGN.md: "Bad flags or enum values are `EINVAL`").
//! - Trap cases: the guest must trap inside the named hostcall. If the call
//!   returns at all, the program prints `NOT TRAPPED: <case>` (and the errno
//!   on a second line) to stderr and exits with code 99. Stdout is not
//!   checked for these cases.
//!
//! Trap cases (hostcall in parentheses):
//! - `trap-iovs-oob` (`fd_write`): iovec array at 0xffff_fff0, past memory.
//! - `trap-buf-oob` (`fd_write`): one iovec whose buffer starts 8 bytes before
//!   the end of memory and is 1 MiB long.
//! - `trap-result-oob` (`fd_write`): valid empty iovec; `nwritten` pointer is
//!   the memory size exactly.
//! - `trap-misaligned` (`fd_write`): valid empty iovec; `nwritten` pointer is
//!   a valid 8-aligned address plus 1.
//! - `trap-path-oob` (`path_open`): path pointer is the memory size exactly.
//! - `trap-len-overflow` (`fd_write`): iovec buffer 0xffff_fff0 with length
//!   0x20, so buffer + length overflows u32.
//! - `trap-readdir-oob` (`fd_readdir` on `/sandbox`, which holds one file):
//!   buffer starts 16 bytes before the end of memory, 128 bytes long.

use test_programs::{
    addr, addr_mut, assert_errno, assert_ok, clock_time_get, errno_display, fd_close,
    fd_fdstat_get, fd_fdstat_set_flags, fd_filestat_get, fd_prestat_get, fd_read, fd_readdir,
    fd_seek, fd_write, memory_bytes, path_create_directory, path_filestat_get, path_open, raw,
    sandbox_fd, Check, Errno, Iovec, EBADF, EILSEQ, EINVAL, ENOTDIR, OFLAGS_CREAT,
    RIGHTS_FILE_READ, RIGHTS_FILE_RW, WHENCE_SET,
};

/// Every trap case, in the order the host should run them.
pub const TRAP_CASES: &[&str] = &[
    "trap-iovs-oob",
    "trap-buf-oob",
    "trap-result-oob",
    "trap-misaligned",
    "trap-path-oob",
    "trap-len-overflow",
    "trap-readdir-oob",
];

fn errnos() {
    let sandbox = sandbox_fd();
    let mut buf = [0u8; 8];

    // Bad fds.
    for fd in [1234, 0xffff_ffff_u32 as i32] {
        assert_errno!(fd_write(fd, b"x"), EBADF);
        assert_errno!(fd_read(fd, &mut buf), EBADF);
        assert_errno!(fd_seek(fd, 0, WHENCE_SET), EBADF);
        assert_errno!(fd_fdstat_get(fd), EBADF);
        assert_errno!(fd_filestat_get(fd), EBADF);
        assert_errno!(fd_prestat_get(fd), EBADF);
        assert_errno!(fd_close(fd), EBADF);
        assert_errno!(path_open(fd, 0, b"x", 0, RIGHTS_FILE_READ, 0, 0), EBADF);
        assert_errno!(path_filestat_get(fd, 0, b"x"), EBADF);
    }
    // Not a preopen.
    assert_errno!(fd_prestat_get(1), EBADF);
    assert_errno!(fd_prestat_get(0), EBADF);

    // A regular file is not a directory.
    let file = path_open(sandbox, 0, b"file", OFLAGS_CREAT, RIGHTS_FILE_RW, 0, 0)
        .check("create /sandbox/file");
    assert_errno!(path_open(file, 0, b"x", 0, RIGHTS_FILE_READ, 0, 0), ENOTDIR);
    assert_errno!(
        path_open(file, 0, b"x", OFLAGS_CREAT, RIGHTS_FILE_RW, 0, 0),
        ENOTDIR
    );
    assert_errno!(path_create_directory(file, b"x"), ENOTDIR);
    let mut dbuf = [0u8; 128];
    assert_errno!(fd_readdir(file, &mut dbuf, 0), ENOTDIR);
    assert_errno!(fd_prestat_get(file), EBADF);

    // Zero iovecs, and one empty iovec, write nothing and succeed.
    let iov = Iovec {
        buf: addr(&buf[..]) as u32,
        len: 0,
    };
    let mut n = u32::MAX;
    // SAFETY: `iov` and `n` are valid; the iovec is empty.
    assert_ok!(unsafe { raw::fd_write(1, addr(&iov), 0, addr_mut(&mut n)) });
    assert_eq!(n, 0, "fd_write with iovs_len 0 reported bytes written");
    n = u32::MAX;
    // SAFETY: as above.
    assert_ok!(unsafe { raw::fd_write(1, addr(&iov), 1, addr_mut(&mut n)) });
    assert_eq!(n, 0, "fd_write of an empty iovec reported bytes written");
    n = u32::MAX;
    // SAFETY: as above; writes to the file.
    assert_ok!(unsafe { raw::fd_write(file, addr(&iov), 0, addr_mut(&mut n)) });
    assert_eq!(
        n, 0,
        "fd_write (file) with iovs_len 0 reported bytes written"
    );
    assert_eq!(
        fd_filestat_get(file).check("fd_filestat_get").size,
        0,
        "file grew"
    );

    // Invalid UTF-8 in a path.
    assert_errno!(
        path_open(
            sandbox,
            0,
            &[0x66, 0xff],
            OFLAGS_CREAT,
            RIGHTS_FILE_RW,
            0,
            0
        ),
        EILSEQ
    );
    assert_errno!(path_filestat_get(sandbox, 0, &[0xc3]), EILSEQ);

    // Invalid flag and enum parameters: EINVAL (wasmtime traps from here on).
    assert_errno!(
        path_open(sandbox, 0, b"file", 0xf0, RIGHTS_FILE_READ, 0, 0),
        EINVAL
    );
    assert_errno!(
        path_open(sandbox, 0x80, b"file", 0, RIGHTS_FILE_READ, 0, 0),
        EINVAL
    );
    assert_errno!(
        path_open(sandbox, 0, b"file", 0, RIGHTS_FILE_READ, 0, 0x8000),
        EINVAL
    );
    assert_errno!(fd_seek(file, 0, 3), EINVAL);
    assert_errno!(clock_time_get(77), EINVAL);
    assert_errno!(fd_fdstat_set_flags(file, 0x8000), EINVAL);
    fd_close(file).check("fd_close(file)");
}

fn not_trapped(case: &str, errno: Errno) -> ! {
    eprintln!("NOT TRAPPED: {case}");
    eprintln!("returned {}", errno_display(errno));
    std::process::exit(99);
}

fn trap_case(case: &str) {
    let mem = memory_bytes();
    assert!(mem > 0x1_0000 && mem < 0xffff_0000, "memory size {mem:#x}");
    let mem = mem as u32;
    let data = b"data";
    let empty = Iovec {
        buf: addr(&data[..]) as u32,
        len: 0,
    };
    let mut n = 0u64;
    let errno = match case {
        "trap-iovs-oob" => {
            // SAFETY: deliberately invalid; the host must trap, not touch it.
            unsafe { raw::fd_write(1, 0xffff_fff0_u32 as i32, 1, addr_mut(&mut n)) }
        }
        "trap-buf-oob" => {
            let iov = Iovec {
                buf: mem - 8,
                len: 0x10_0000,
            };
            // SAFETY: as above.
            unsafe { raw::fd_write(1, addr(&iov), 1, addr_mut(&mut n)) }
        }
        "trap-result-oob" => {
            // SAFETY: as above.
            unsafe { raw::fd_write(1, addr(&empty), 1, mem as i32) }
        }
        "trap-misaligned" => {
            // `n` is a u64, so `&n + 1` is in bounds but not 4-aligned.
            // SAFETY: as above.
            unsafe { raw::fd_write(1, addr(&empty), 1, addr_mut(&mut n) + 1) }
        }
        "trap-path-oob" => {
            let sandbox = sandbox_fd();
            let mut fd = 0i32;
            // SAFETY: as above.
            unsafe {
                raw::path_open(
                    sandbox,
                    0,
                    mem as i32,
                    4,
                    0,
                    RIGHTS_FILE_READ,
                    0,
                    0,
                    addr_mut(&mut fd),
                )
            }
        }
        "trap-len-overflow" => {
            let iov = Iovec {
                buf: 0xffff_fff0,
                len: 0x20,
            };
            // SAFETY: as above.
            unsafe { raw::fd_write(1, addr(&iov), 1, addr_mut(&mut n)) }
        }
        "trap-readdir-oob" => {
            let sandbox = sandbox_fd();
            std::fs::write("/sandbox/entry", b"e").expect("create /sandbox/entry");
            let mut used = 0u32;
            // SAFETY: as above.
            unsafe { raw::fd_readdir(sandbox, (mem - 16) as i32, 128, 0, addr_mut(&mut used)) }
        }
        other => panic!(
            "unknown case {other:?}; known: errnos, {}",
            TRAP_CASES.join(", ")
        ),
    };
    not_trapped(case, errno);
}

fn main() {
    let case = std::env::args()
        .nth(1)
        .expect("argv[1] (the case name) is missing");
    if case == "errnos" {
        errnos();
    } else {
        trap_case(&case);
    }
}
