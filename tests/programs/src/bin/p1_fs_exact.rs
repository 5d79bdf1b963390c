//! Filesystem edge cases answered exactly as Linux does, on every backend.
//!
//! Host contract: args `["p1_fs_exact", MODE]`, an empty `/sandbox`; stdout
//! and stderr empty; exit code 0. Modes:
//! - `empty_writes`: a zero-length write anywhere (pwrite past the end, a
//!   write after seeking past the end, an append, iovecs that are all empty)
//!   neither grows the file nor changes its times, nor moves an append fd.
//! - `names`: names with `:` or a drive-letter prefix (`a:b`, `C:x`) are
//!   plain names inside the sandbox.
//! - `symlinks`: a symlink target longer than 4095 bytes is `ENAMETOOLONG`;
//!   one of 4095 bytes is stored whole.
//! - `mount_busy`: `/sandbox/config` is another (empty) filesystem mounted
//!   inside `/sandbox` (a second preopen): it can never be replaced, removed,
//!   renamed or linked over (`EBUSY`, `EISDIR` or `EEXIST`, as Linux), and
//!   stays empty.
//! - `fill DIR`: DIR is an in-memory directory with a 1 MiB quota: empty
//!   files (and then directories) run out of room with `ENOSPC` long before
//!   a million, and huge symlink targets are `ENAMETOOLONG`.
//! - `overlay_rename`: `/ov` is an overlay whose 1 MiB upper layer is empty
//!   and whose lower layer holds `tree/sub/f0`..`f7` of 200 KiB each: renaming
//!   `tree` fails with `ENOSPC`, changes nothing, and a 500 KiB file still
//!   fits afterwards.
//! - `host_odd`: `/odd` is a host directory holding `ok`, `old` (dated
//!   1960) and a file whose name is not UTF-8: the listing shows `ok` and
//!   `old`, and `old`'s times read as 0.

use test_programs::{
    addr, addr_mut, assert_errno, fd_filestat_get, fd_pwrite, fd_seek, fd_tell, fd_write, open_dir,
    path_create_directory, path_filestat_get, path_link, path_open, path_readlink,
    path_remove_directory, path_symlink, path_unlink_file, raw, sandbox_fd, Errno, Iovec, EBUSY,
    EEXIST, EISDIR, ENAMETOOLONG, FDFLAGS_APPEND, FILETYPE_DIRECTORY, OFLAGS_CREAT, RIGHTS_ALL,
    WHENCE_SET,
};

#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
    #[link_name = "path_rename"]
    fn raw_path_rename(
        fd: i32,
        old_path: i32,
        old_path_len: i32,
        new_fd: i32,
        new_path: i32,
        new_path_len: i32,
    ) -> i32;
}

fn path_rename(fd: i32, old: &[u8], new_fd: i32, new: &[u8]) -> Result<(), Errno> {
    // SAFETY: both paths are valid for their lengths.
    let r = unsafe {
        raw_path_rename(
            fd,
            addr(old),
            old.len() as i32,
            new_fd,
            addr(new),
            new.len() as i32,
        )
    };
    match r {
        0 => Ok(()),
        e => Err(e),
    }
}

fn main() {
    let mode = std::env::args().nth(1).expect("a mode");
    match mode.as_str() {
        "empty_writes" => empty_writes(),
        "names" => names(),
        "symlinks" => symlinks(),
        "mount_busy" => mount_busy(),
        "fill" => fill(&std::env::args().nth(2).expect("a directory")),
        "overlay_rename" => overlay_rename(),
        "host_odd" => host_odd(),
        other => panic!("unknown mode {other}"),
    }
}

fn create(name: &[u8], fdflags: i32) -> i32 {
    path_open(
        sandbox_fd(),
        0,
        name,
        OFLAGS_CREAT,
        RIGHTS_ALL,
        RIGHTS_ALL,
        fdflags,
    )
    .expect("create")
}

/// Waits until the realtime clock has moved, so that a wrongly stamped time
/// would differ from the one recorded before.
fn let_time_pass() {
    let start = test_programs::clock_time_get(test_programs::CLOCK_REALTIME).unwrap();
    while test_programs::clock_time_get(test_programs::CLOCK_REALTIME).unwrap() < start + 2_000_000
    {
    }
}

/// `fd_write` or `fd_pwrite` with `n` empty iovecs; returns the count.
fn write_empty_iovecs(fd: i32, n: usize, at: Option<u64>) -> u32 {
    let byte = [0u8; 1];
    let iovs = vec![
        Iovec {
            buf: addr(&byte) as u32,
            len: 0,
        };
        n
    ];
    let mut written = 0u32;
    // SAFETY: `n` valid (empty) iovecs and a valid out-pointer.
    let r = unsafe {
        match at {
            Some(off) => raw::fd_pwrite(
                fd,
                addr(&iovs[..]),
                n as i32,
                off as i64,
                addr_mut(&mut written),
            ),
            None => raw::fd_write(fd, addr(&iovs[..]), n as i32, addr_mut(&mut written)),
        }
    };
    assert_eq!(r, 0, "an empty write failed with errno {r}");
    written
}

fn empty_writes() {
    // pwrite of nothing at 4096 on an empty file.
    let fd = create(b"empty", 0);
    let before = fd_filestat_get(fd).unwrap();
    let_time_pass();
    assert_eq!(fd_pwrite(fd, b"", 4096), Ok(0));
    assert_eq!(write_empty_iovecs(fd, 3, Some(1 << 20)), 0);
    assert_eq!(write_empty_iovecs(fd, 0, Some(1 << 30)), 0);
    // Seek past the end, then write nothing.
    assert_eq!(fd_seek(fd, 100, WHENCE_SET), Ok(100));
    assert_eq!(fd_write(fd, b""), Ok(0));
    assert_eq!(write_empty_iovecs(fd, 4, None), 0);
    assert_eq!(fd_tell(fd), Ok(100), "an empty write does not move the fd");
    let after = fd_filestat_get(fd).unwrap();
    assert_eq!(after.size, 0, "an empty write grew the file");
    assert_eq!(after.mtim, before.mtim, "an empty write stamped mtime");
    assert_eq!(after.ctim, before.ctim, "an empty write stamped ctime");
    // SAFETY: no pointers.
    assert_eq!(unsafe { raw::fd_close(fd) }, 0);
    let st = path_filestat_get(sandbox_fd(), 0, b"empty").unwrap();
    assert_eq!(st.size, 0);

    // A file with contents: an empty write past its end changes nothing
    // either, and a real write after it still lands where asked.
    let fd = create(b"some", 0);
    assert_eq!(fd_write(fd, b"abc"), Ok(3));
    let before = fd_filestat_get(fd).unwrap();
    let_time_pass();
    assert_eq!(fd_pwrite(fd, b"", 10), Ok(0));
    assert_eq!(fd_seek(fd, 50, WHENCE_SET), Ok(50));
    assert_eq!(fd_write(fd, b""), Ok(0));
    let after = fd_filestat_get(fd).unwrap();
    assert_eq!((after.size, after.mtim), (3, before.mtim));
    // Empty iovecs around a real one: only the real bytes count.
    let data = *b"xy";
    let iovs = [
        Iovec {
            buf: addr(&data) as u32,
            len: 0,
        },
        Iovec {
            buf: addr(&data) as u32,
            len: 2,
        },
        Iovec {
            buf: addr(&data) as u32,
            len: 0,
        },
    ];
    let mut n = 0u32;
    // SAFETY: three valid iovecs and a valid out-pointer.
    let r = unsafe { raw::fd_pwrite(fd, addr(&iovs[..]), 3, 3, addr_mut(&mut n)) };
    assert_eq!((r, n), (0, 2));
    assert_eq!(fd_filestat_get(fd).unwrap().size, 5);
    // SAFETY: no pointers.
    assert_eq!(unsafe { raw::fd_close(fd) }, 0);
    assert_eq!(std::fs::read("/sandbox/some").unwrap(), b"abcxy");

    // Append: nothing appended, and (as Linux) the fd is not moved to the end.
    let fd = create(b"log", FDFLAGS_APPEND);
    assert_eq!(fd_write(fd, b"12345"), Ok(5));
    assert_eq!(fd_seek(fd, 1, WHENCE_SET), Ok(1));
    let before = fd_filestat_get(fd).unwrap();
    let_time_pass();
    assert_eq!(fd_write(fd, b""), Ok(0));
    assert_eq!(write_empty_iovecs(fd, 5, None), 0);
    assert_eq!(fd_tell(fd), Ok(1));
    let after = fd_filestat_get(fd).unwrap();
    assert_eq!((after.size, after.mtim), (5, before.mtim));
    // A real append still goes to the end.
    assert_eq!(fd_write(fd, b"6"), Ok(1));
    assert_eq!(fd_tell(fd), Ok(6));
    // SAFETY: no pointers.
    assert_eq!(unsafe { raw::fd_close(fd) }, 0);
    assert_eq!(std::fs::read("/sandbox/log").unwrap(), b"123456");
}

fn names() {
    for name in ["a:b", "C:x", "C:", "c:\\x", "\\\\?\\C:\\y"] {
        let path = format!("/sandbox/{name}");
        std::fs::write(&path, name).expect(name);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), name);
    }
    std::fs::create_dir("/sandbox/D:").unwrap();
    std::fs::write("/sandbox/D:/inner", b"in").unwrap();
    let mut names: Vec<String> = std::fs::read_dir("/sandbox")
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["C:", "C:x", "D:", "\\\\?\\C:\\y", "a:b", "c:\\x"]);
    assert_eq!(std::fs::read("/sandbox/D:/inner").unwrap(), b"in");
    // A symlink to a drive-prefixed name is a relative link, followed inside.
    path_symlink(b"C:x", sandbox_fd(), b"link").unwrap();
    assert_eq!(std::fs::read_to_string("/sandbox/link").unwrap(), "C:x");
}

fn symlinks() {
    let fd = sandbox_fd();
    let long = vec![b'a'; 4096];
    assert_errno!(path_symlink(&long, fd, b"too_long"), ENAMETOOLONG);
    let huge = vec![b'x'; 1 << 20];
    assert_errno!(path_symlink(&huge, fd, b"huge"), ENAMETOOLONG);
    assert!(path_filestat_get(fd, 0, b"too_long").is_err());
    // 4095 bytes (PATH_MAX with its NUL) is the longest target.
    let longest: Vec<u8> = b"d/".iter().copied().cycle().take(4095).collect();
    path_symlink(&longest, fd, b"longest").expect("a 4095-byte target");
    assert_eq!(path_readlink(fd, b"longest", 8192).unwrap(), longest);
    assert_eq!(path_filestat_get(fd, 0, b"longest").unwrap().size, 4095);
}

fn mount_busy() {
    let fd = sandbox_fd();
    std::fs::create_dir_all("/sandbox/d/sub").unwrap();
    std::fs::write("/sandbox/d/guest.txt", b"guest").unwrap();
    std::fs::write("/sandbox/f", b"file").unwrap();
    let dfd = open_dir(fd, b"d").unwrap();
    // Replaced by a directory, from the same directory or another one.
    assert_errno!(path_rename(fd, b"d", fd, b"config"), EBUSY);
    assert_errno!(path_rename(dfd, b"sub", fd, b"config"), EBUSY);
    // By a file: EISDIR, as over any directory.
    assert_errno!(path_rename(fd, b"f", fd, b"config"), EISDIR);
    assert_errno!(path_rename(dfd, b"guest.txt", fd, b"config"), EISDIR);
    // Renamed away, removed, unlinked.
    assert_errno!(path_rename(fd, b"config", fd, b"moved"), EBUSY);
    assert_errno!(path_rename(fd, b"config", dfd, b"moved"), EBUSY);
    assert_errno!(path_remove_directory(fd, b"config"), EBUSY);
    assert_errno!(path_unlink_file(fd, b"config"), EISDIR);
    // Linked or symlinked over, or created again.
    assert_errno!(path_link(fd, false, b"f", fd, b"config"), EEXIST);
    assert_errno!(path_link(dfd, false, b"guest.txt", fd, b"config"), EEXIST);
    assert_errno!(path_symlink(b"d", fd, b"config"), EEXIST);
    assert_errno!(path_create_directory(fd, b"config"), EEXIST);
    // Through `.` and a trailing slash, the same.
    assert_errno!(path_rename(fd, b"d", fd, b"config/."), EBUSY);
    assert_errno!(path_rename(fd, b"d", fd, b"config/"), EBUSY);
    // Nothing moved: the mount is there and empty, the guest's files too.
    let st = path_filestat_get(fd, 0, b"config").unwrap();
    assert_eq!(st.filetype, FILETYPE_DIRECTORY);
    assert_eq!(std::fs::read_dir("/sandbox/config").unwrap().count(), 0);
    assert_eq!(std::fs::read("/sandbox/d/guest.txt").unwrap(), b"guest");
    assert_eq!(std::fs::read("/sandbox/f").unwrap(), b"file");
    assert!(std::fs::metadata("/sandbox/d/sub").unwrap().is_dir());
    assert!(std::fs::metadata("/sandbox/moved").is_err());
    // SAFETY: no pointers.
    assert_eq!(unsafe { raw::fd_close(dfd) }, 0);
}

/// Makes `make(i)` for i = 0, 1, ... until ENOSPC; returns how many worked.
fn until_nospc(mut make: impl FnMut(u32) -> std::io::Result<()>) -> u32 {
    for i in 0..1_000_000 {
        if let Err(e) = make(i) {
            assert_eq!(e.raw_os_error(), Some(test_programs::ENOSPC), "{e}");
            return i;
        }
    }
    panic!("a million entries fit in a 1 MiB quota");
}

fn fill(dir: &str) {
    let files = until_nospc(|i| std::fs::write(format!("{dir}/f{i}"), b""));
    assert!(files > 100, "only {files} empty files fit");
    // Free some room, then directories until full again.
    for i in 0..50 {
        std::fs::remove_file(format!("{dir}/f{i}")).unwrap();
    }
    let dirs = until_nospc(|i| std::fs::create_dir(format!("{dir}/d{i}")));
    assert!(dirs > 0);
    // Huge symlink targets are refused before anything is kept.
    let dfd = preopen_of(dir);
    let huge = vec![b'x'; 1 << 20];
    for i in 0..8 {
        let link = format!("l{i}");
        assert_errno!(path_symlink(&huge, dfd, link.as_bytes()), ENAMETOOLONG);
    }
}

/// The preopen fd whose name is `dir`.
fn preopen_of(dir: &str) -> i32 {
    for fd in 3..64 {
        if let Ok(name) = test_programs::fd_prestat_dir_name(fd) {
            if name == dir.as_bytes() {
                return fd;
            }
        }
    }
    panic!("no preopen {dir}");
}

fn overlay_rename() {
    std::fs::write("/ov/mine", b"mine").unwrap();
    let err = std::fs::rename("/ov/tree", "/ov/moved").expect_err("the copy-up does not fit");
    assert_eq!(err.raw_os_error(), Some(test_programs::ENOSPC), "{err}");
    assert!(std::fs::metadata("/ov/moved").is_err());
    let mut names: Vec<String> = std::fs::read_dir("/ov/tree/sub")
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"]);
    // What the rename took was given back: 500 KiB still fit.
    std::fs::write("/ov/big", vec![5u8; 500 << 10]).expect("500 KiB after the failed rename");
    assert_eq!(std::fs::read("/ov/mine").unwrap(), b"mine");
}

fn host_odd() {
    let mut names: Vec<String> = std::fs::read_dir("/odd")
        .expect("a directory with an odd name can still be listed")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["ok", "old"]);
    let fd = preopen_of("/odd");
    let st = path_filestat_get(fd, 0, b"old").unwrap();
    assert_eq!((st.size, st.mtim), (3, 0), "before 1970 reads as the epoch");
    assert_eq!(std::fs::read("/odd/ok").unwrap(), b"ok");
}
