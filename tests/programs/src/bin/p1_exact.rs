//! Exact answers where a guest can tell: no flag reported that is not in
//! effect, no byte count beyond what a `u32` says, no stale byte in a struct
//! the host writes, and vasi's deliberate answers where it differs from
//! wasmtime or Linux (docs/compatibility.md).
//!
//! Host contract: args `["p1_exact", MODE]`, an empty `/sandbox`; exit code 0.
//! - `flags`: synchronisation flags, `fd_fdstat_set_flags` on every kind of
//!   fd, `fd_sync` of directories, `fd_filestat_set_size` errnos; stdin must
//!   be an open pipe with nothing written to it.
//! - `counts`: five 1 GiB iovecs over one guest gigabyte, written to stdout;
//!   the host's stdout must receive exactly `u32::MAX` bytes. Prints nothing.
//! - `padding`: every struct the host writes leaves its padding zero and the
//!   bytes after it untouched.
//! - `compat`: the answers docs/compatibility.md documents; also needs a
//!   read-only preopen `/ro` holding a file `f` ("ro") and a directory `d`.
//! - `spew`: writes to stdout for ever (for a host that never reads it).
//! - `send`: accepts a connection on the listener fd 3 and sends to it for
//!   ever (for a peer that never reads).
//! - `fifo`: opens the FIFO `/sandbox/fifo` for reading and for writing
//!   (neither may block) and prints what happened.

use test_programs::{
    addr, addr_mut, assert_errno, assert_ok, fd_close, fd_fdstat_get, fd_filestat_set_size,
    fd_pread, fd_pwrite, fd_read, fd_write, open_dir, path_link, path_open, path_symlink, poll,
    raw, read_dir_raw, sandbox_fd, Iovec, Subscription, EAGAIN, EBADF, EEXIST, EINVAL,
    ENAMETOOLONG, ENOTSUP, EROFS, FDFLAGS_APPEND, FDFLAGS_NONBLOCK, FILETYPE_REGULAR_FILE,
    LOOKUP_SYMLINK_FOLLOW, OFLAGS_CREAT, OFLAGS_TRUNC, RIGHTS_ALL, RIGHTS_FILE_READ,
};

#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
    /// `path_rename(fd, old_path, old_path_len, new_fd, new_path, new_path_len) -> errno`
    #[link_name = "path_rename"]
    fn raw_path_rename(fd: i32, old: i32, old_len: i32, new_fd: i32, new: i32, new_len: i32)
        -> i32;
}

fn path_rename(fd: i32, old: &[u8], new_fd: i32, new: &[u8]) -> Result<(), i32> {
    // SAFETY: both paths are valid for their lengths.
    match unsafe {
        raw_path_rename(
            fd,
            addr(old),
            old.len() as i32,
            new_fd,
            addr(new),
            new.len() as i32,
        )
    } {
        0 => Ok(()),
        e => Err(e),
    }
}

const DSYNC: i32 = 1 << 1;
const RSYNC: i32 = 1 << 3;
const SYNC: i32 = 1 << 4;

fn set_flags(fd: i32, flags: i32) -> Result<(), i32> {
    // SAFETY: no pointers.
    match unsafe { raw::fd_fdstat_set_flags(fd, flags) } {
        0 => Ok(()),
        e => Err(e),
    }
}

fn fd_sync(fd: i32) -> Result<(), i32> {
    // SAFETY: no pointers.
    match unsafe { raw::fd_sync(fd) } {
        0 => Ok(()),
        e => Err(e),
    }
}

fn fd_datasync(fd: i32) -> Result<(), i32> {
    // SAFETY: no pointers.
    match unsafe { raw::fd_datasync(fd) } {
        0 => Ok(()),
        e => Err(e),
    }
}

fn flags() {
    let dir = sandbox_fd();
    // Each synchronisation flag is accepted, reported, and the file works.
    for (i, f) in [DSYNC, SYNC, RSYNC, DSYNC | RSYNC, SYNC | FDFLAGS_APPEND]
        .into_iter()
        .enumerate()
    {
        let name = format!("sync{i}");
        let fd = path_open(
            dir,
            0,
            name.as_bytes(),
            OFLAGS_CREAT,
            RIGHTS_ALL,
            RIGHTS_ALL,
            f,
        )
        .expect("open with a sync flag");
        assert_eq!(fd_fdstat_get(fd).unwrap().flags, f as u16, "flags {f:#x}");
        assert_eq!(fd_write(fd, b"durable"), Ok(7));
        let mut buf = [0u8; 7];
        assert_eq!(fd_pread(fd, &mut buf, 0), Ok(7));
        assert_eq!(&buf, b"durable");
        assert_ok!(fd_sync(fd));
        assert_ok!(fd_datasync(fd));
        fd_close(fd).unwrap();
    }
    // fd_fdstat_set_flags on a file applies every flag, and fdstat says so.
    let fd = path_open(dir, 0, b"f", OFLAGS_CREAT, RIGHTS_ALL, RIGHTS_ALL, 0).unwrap();
    for f in [SYNC, DSYNC | RSYNC, FDFLAGS_APPEND, FDFLAGS_NONBLOCK, 0] {
        assert_ok!(set_flags(fd, f));
        assert_eq!(fd_fdstat_get(fd).unwrap().flags, f as u16);
    }
    assert_ok!(set_flags(fd, FDFLAGS_APPEND));
    assert_eq!(fd_pwrite(fd, b"0123", 0), Ok(4));
    assert_eq!(fd_write(fd, b"end"), Ok(3));
    let mut buf = [0u8; 7];
    assert_eq!(fd_pread(fd, &mut buf, 0), Ok(7));
    assert_eq!(&buf, b"0123end", "append goes to the end");
    assert_errno!(set_flags(fd, 1 << 5), EINVAL);

    // A directory: EBADF, as wasmtime, and its flags stay 0.
    assert_errno!(set_flags(dir, FDFLAGS_APPEND), EBADF);
    assert_errno!(set_flags(dir, 0), EBADF);
    assert_eq!(fd_fdstat_get(dir).unwrap().flags, 0);
    // Stdout and stderr take no flag: the flags they have (none) are fine,
    // others are ENOTSUP, and fdstat still says 0. Stdin takes nonblock.
    for std in 0..3 {
        assert_ok!(set_flags(std, 0));
        if std > 0 {
            assert_errno!(set_flags(std, FDFLAGS_NONBLOCK), ENOTSUP);
        }
        assert_errno!(set_flags(std, FDFLAGS_APPEND), ENOTSUP);
        assert_errno!(set_flags(std, SYNC), ENOTSUP);
        assert_eq!(fd_fdstat_get(std).unwrap().flags, 0, "fd {std}");
    }
    // Stdin (an open pipe with nothing in it): nonblocking, a read is
    // EAGAIN; blocking again, fdstat says so.
    assert_ok!(set_flags(0, FDFLAGS_NONBLOCK));
    assert_eq!(fd_fdstat_get(0).unwrap().flags, FDFLAGS_NONBLOCK as u16);
    let mut byte = [0u8; 1];
    assert_errno!(fd_read(0, &mut byte), EAGAIN);
    assert_ok!(set_flags(0, 0));
    assert_eq!(fd_fdstat_get(0).unwrap().flags, 0);

    // fd_sync and fd_datasync of directories succeed (and are real fsyncs
    // on a host directory).
    std::fs::create_dir("/sandbox/sub").unwrap();
    let sub = open_dir(dir, b"sub").unwrap();
    for d in [dir, sub] {
        assert_ok!(fd_sync(d));
        assert_ok!(fd_datasync(d));
    }
    // ... and streams are EINVAL.
    assert_errno!(fd_sync(1), EINVAL);

    // fd_filestat_set_size: read-only is EINVAL (ftruncate); a directory or
    // a stream EBADF.
    let ro = path_open(dir, 0, b"f", 0, RIGHTS_FILE_READ, 0, 0).unwrap();
    assert_errno!(fd_filestat_set_size(ro, 0), EINVAL);
    assert_errno!(fd_filestat_set_size(sub, 0), EBADF);
    assert_errno!(fd_filestat_set_size(1, 0), EBADF);
    assert_ok!(fd_filestat_set_size(fd, 2));
    let mut buf = [0u8; 8];
    assert_eq!(fd_read(ro, &mut buf), Ok(2));
}

/// Five iovecs of 1 GiB each over the same guest gigabyte: the write is short,
/// `u32::MAX` bytes, and says so.
fn counts() {
    const GIB: u32 = 1 << 30;
    let pages = core::arch::wasm32::memory_grow(0, (GIB / 65536) as usize);
    assert_ne!(pages, usize::MAX, "cannot grow memory by 1 GiB");
    let base = (pages * 65536) as u32;
    let iovs = [Iovec {
        buf: base,
        len: GIB,
    }; 5];
    let mut n = 0u32;
    // SAFETY: every buffer is in bounds (the gigabyte just grown).
    assert_ok!(unsafe { raw::fd_write(1, addr(&iovs[..]), 5, addr_mut(&mut n)) });
    assert_eq!(n, u32::MAX);
    // Empty iovecs: nothing, at no cost.
    let empty = [Iovec { buf: base, len: 0 }; 8];
    for _ in 0..100_000 {
        // SAFETY: as above.
        assert_ok!(unsafe { raw::fd_write(1, addr(&empty[..]), 8, addr_mut(&mut n)) });
        assert_eq!(n, 0);
    }
}

/// A buffer prefilled with 0xAA; returns it after `f` wrote into it.
fn filled<const N: usize>(f: impl FnOnce(i32) -> i32) -> [u8; N] {
    #[repr(C, align(8))]
    struct Aligned<const N: usize>([u8; N]);
    let mut b = Aligned([0xAA; N]);
    assert_ok!(f(addr_mut(&mut b.0)));
    b.0
}

#[track_caller]
fn zero(bytes: &[u8], what: &str) {
    assert!(
        bytes.iter().all(|&b| b == 0),
        "{what}: padding {bytes:02x?} not zero"
    );
}

#[track_caller]
fn untouched(bytes: &[u8], what: &str) {
    assert!(
        bytes.iter().all(|&b| b == 0xAA),
        "{what}: bytes after the struct written: {bytes:02x?}"
    );
}

fn padding() {
    let dir = sandbox_fd();
    std::fs::write("/sandbox/file", b"contents").unwrap();
    std::fs::create_dir("/sandbox/d").unwrap();
    let fd = path_open(dir, 0, b"file", 0, RIGHTS_ALL, RIGHTS_ALL, 0).unwrap();

    // filestat: 64 bytes, padding after filetype (17..24).
    for (what, st) in [
        // SAFETY (all): the buffers are 72 bytes, 8-aligned.
        (
            "fd_filestat_get",
            filled::<72>(|p| unsafe { raw::fd_filestat_get(fd, p) }),
        ),
        (
            "fd_filestat_get(dir)",
            filled::<72>(|p| unsafe { raw::fd_filestat_get(dir, p) }),
        ),
        (
            "fd_filestat_get(stdout)",
            filled::<72>(|p| unsafe { raw::fd_filestat_get(1, p) }),
        ),
        (
            "path_filestat_get",
            filled::<72>(|p| unsafe { raw::path_filestat_get(dir, 0, addr(b"file"), 4, p) }),
        ),
    ] {
        zero(&st[17..24], what);
        untouched(&st[64..], what);
    }
    // fdstat: 24 bytes, padding at 1 and 4..8.
    for f in [fd, dir, 0, 1, 2] {
        // SAFETY: the buffer is 32 bytes, 8-aligned.
        let st = filled::<32>(|p| unsafe { raw::fd_fdstat_get(f, p) });
        zero(&st[1..2], "fdstat");
        zero(&st[4..8], "fdstat");
        untouched(&st[24..], "fdstat");
    }
    // prestat: 8 bytes, padding 1..4.
    // SAFETY: the buffer is 16 bytes, 8-aligned.
    let st = filled::<16>(|p| unsafe { raw::fd_prestat_get(dir, p) });
    zero(&st[1..4], "prestat");
    untouched(&st[8..], "prestat");
    // event: 32 bytes, padding 11..16 and 26..32: an fd_read event on a
    // file (with nbytes), an EBADF event, then a clock event.
    let subs = [Subscription::read(2, fd), Subscription::read(3, 999)];
    let mut n = 0u32;
    // SAFETY: 2 subscriptions; room for 2 events plus one more.
    let events =
        filled::<96>(|p| unsafe { raw::poll_oneoff(addr(&subs[..]), p, 2, addr_mut(&mut n)) });
    assert_eq!(n, 2);
    let clock = [Subscription::clock(1, 0)];
    // SAFETY: 1 subscription; room for 1 event plus one more.
    let clock_event =
        filled::<64>(|p| unsafe { raw::poll_oneoff(addr(&clock[..]), p, 1, addr_mut(&mut n)) });
    assert_eq!(n, 1);
    for e in events[..64].chunks(32).chain(clock_event[..32].chunks(32)) {
        zero(&e[11..16], "event");
        zero(&e[26..32], "event");
    }
    untouched(&events[64..], "event");
    untouched(&clock_event[32..], "event");
    // dirent: 24 bytes, padding 21..24, for ".", "..", "d" and "file".
    let mut buf = [0xAAu8; 512];
    let mut used = 0u32;
    // SAFETY: the buffer is 512 bytes.
    assert_ok!(unsafe {
        raw::fd_readdir(dir, addr_mut(&mut buf[..]), 512, 0, addr_mut(&mut used))
    });
    let mut at = 0usize;
    let mut seen = 0;
    while at + 24 <= used as usize {
        let namlen = u32::from_le_bytes(buf[at + 16..at + 20].try_into().unwrap()) as usize;
        zero(&buf[at + 21..at + 24], "dirent");
        at += 24 + namlen;
        seen += 1;
    }
    assert_eq!(seen, 4);
    untouched(&buf[used as usize..], "fd_readdir");
    // Also the small results: nwritten/nread/newoffset write exactly their
    // size.
    // SAFETY: the buffer is 16 bytes, 8-aligned.
    let off = filled::<16>(|p| unsafe { raw::fd_seek(fd, 3, 0, p) });
    assert_eq!(off[..8], 3u64.to_le_bytes());
    untouched(&off[8..], "fd_seek");
}

fn compat() {
    let dir = sandbox_fd();
    let ro = {
        let mut fd = 3;
        loop {
            match test_programs::fd_prestat_dir_name(fd) {
                Ok(name) if name == b"/ro" => break fd,
                Ok(_) => fd += 1,
                Err(e) => panic!("no /ro preopen: {e}"),
            }
        }
    };
    // Read-only mounts: EROFS (POSIX), where wasmtime says EPERM.
    assert_errno!(
        path_open(ro, 0, b"f", OFLAGS_TRUNC, RIGHTS_ALL, RIGHTS_ALL, 0),
        EROFS
    );
    assert_errno!(path_link(ro, false, b"f", ro, b"g"), EROFS);
    assert_errno!(path_rename(ro, b"f", ro, b"g"), EROFS);
    assert_errno!(path_rename(ro, b"d", ro, b"e"), EROFS);
    let f = path_open(ro, 0, b"f", 0, RIGHTS_FILE_READ, 0, 0).unwrap();
    let mut buf = [0u8; 2];
    assert_eq!(fd_read(f, &mut buf), Ok(2));
    assert_eq!(&buf, b"ro");

    // poll_oneoff with a bad fd: one event with EBADF, the rest still
    // served (POSIX poll's POLLNVAL); wasmtime fails the whole call.
    std::fs::write("/sandbox/ready", b"12345").unwrap();
    let ready = path_open(dir, 0, b"ready", 0, RIGHTS_FILE_READ, 0, 0).unwrap();
    let events = poll(&[Subscription::read(7, 999), Subscription::read(8, ready)]).unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    let bad = events
        .iter()
        .find(|e| e.0 == 7)
        .expect("an event for the bad fd");
    assert_eq!(bad.1, EBADF as u16);
    assert!(events.iter().any(|e| e.0 == 8 && e.1 == 0), "{events:?}");

    // fd_allocate grows the file (posix_fallocate); wasmtime says ENOTSUP.
    let fd = path_open(dir, 0, b"alloc", OFLAGS_CREAT, RIGHTS_ALL, RIGHTS_ALL, 0).unwrap();
    // SAFETY: no pointers.
    assert_ok!(unsafe { raw::fd_allocate(fd, 0, 4096) });
    assert_eq!(test_programs::fd_filestat_get(fd).unwrap().size, 4096);

    // fd_pwrite on an O_APPEND fd writes at the offset (POSIX); Linux and
    // wasmtime append.
    let fd = path_open(
        dir,
        0,
        b"append",
        OFLAGS_CREAT,
        RIGHTS_ALL,
        RIGHTS_ALL,
        FDFLAGS_APPEND,
    )
    .unwrap();
    assert_eq!(fd_write(fd, b"0123456789"), Ok(10));
    assert_eq!(fd_pwrite(fd, b"ab", 2), Ok(2));
    let mut buf = [0u8; 12];
    assert_eq!(fd_pread(fd, &mut buf, 0), Ok(10));
    assert_eq!(&buf[..10], b"01ab456789");

    // path_link with SYMLINK_FOLLOW links the target (POSIX linkat with
    // AT_SYMLINK_FOLLOW); wasmtime says EINVAL.
    std::fs::write("/sandbox/target", b"t").unwrap();
    path_symlink(b"target", dir, b"link").unwrap();
    assert_ok!(path_link(dir, true, b"link", dir, b"hard"));
    let st = test_programs::path_filestat_get(dir, 0, b"hard").unwrap();
    assert_eq!(st.filetype, FILETYPE_REGULAR_FILE);
    assert_eq!(st.nlink, 2);
    let _ = LOOKUP_SYMLINK_FOLLOW;

    // path_symlink over "file/" where file is a regular file: EEXIST, as
    // Linux 6.x; cap-std (wasmtime) says ENOTDIR.
    assert_errno!(path_symlink(b"x", dir, b"target/"), EEXIST);
    let names: Vec<Vec<u8>> = read_dir_raw(dir, 256)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert!(!names.contains(&b"x".to_vec()));

    // A path over 64 KiB is ENAMETOOLONG on every backend (Linux says so
    // past PATH_MAX, 4096 bytes); one of 64 KiB is walked as any other.
    let long = b"./".repeat(32 * 1024 + 1);
    assert_errno!(
        path_open(dir, 0, &long, OFLAGS_CREAT, RIGHTS_ALL, RIGHTS_ALL, 0),
        ENAMETOOLONG
    );
    let mut at_limit = b"./".repeat(32 * 1024 - 4);
    at_limit.extend_from_slice(b"ready");
    assert_eq!(at_limit.len(), 64 * 1024 - 3);
    assert!(path_open(dir, 0, &at_limit, 0, RIGHTS_FILE_READ, 0, 0).is_ok());
}

fn spew() {
    let chunk = vec![b'x'; 1 << 20];
    loop {
        fd_write(1, &chunk).expect("fd_write");
    }
}

fn send() {
    let mut fd = -1i32;
    // SAFETY: `fd` is a valid out-pointer.
    assert_ok!(unsafe { raw::sock_accept(3, 0, addr_mut(&mut fd)) });
    let chunk = vec![b'x'; 1 << 20];
    let iov = [Iovec {
        buf: addr(&chunk[..]) as u32,
        len: chunk.len() as u32,
    }];
    loop {
        let mut n = 0u32;
        // SAFETY: the iovec and result are valid.
        assert_ok!(unsafe { raw::sock_send(fd, addr(&iov[..]), 1, 0, addr_mut(&mut n)) });
    }
}

fn fifo() {
    let dir = sandbox_fd();
    let name = test_programs::errno_name;
    match path_open(dir, 0, b"fifo", 0, RIGHTS_FILE_READ, 0, 0) {
        Ok(fd) => {
            let mut buf = [0u8; 4];
            match fd_read(fd, &mut buf) {
                Ok(n) => println!("read-only open: ok, read {n}"),
                Err(e) => println!("read-only open: ok, read {}", name(e)),
            }
            fd_close(fd).unwrap();
        }
        Err(e) => println!("read-only open: {}", name(e)),
    }
    match path_open(dir, 0, b"fifo", 0, RIGHTS_ALL, 0, 0) {
        Ok(fd) => {
            println!("read-write open: ok");
            fd_close(fd).unwrap();
        }
        Err(e) => println!("read-write open: {}", name(e)),
    }
    match path_open(dir, 0, b"fifo", 0, test_programs::RIGHTS_FD_WRITE, 0, 0) {
        Ok(_) => println!("write-only open: ok"),
        Err(e) => println!("write-only open: {}", name(e)),
    }
}

fn main() {
    let mode = std::env::args().nth(1).expect("a mode");
    match mode.as_str() {
        "flags" => flags(),
        "counts" => counts(),
        "padding" => padding(),
        "compat" => compat(),
        "spew" => spew(),
        "send" => send(),
        "fifo" => fifo(),
        other => panic!("unknown mode {other}"),
    }
}
