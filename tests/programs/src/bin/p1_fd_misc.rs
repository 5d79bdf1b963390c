//! fd_advise, fd_allocate, fd_sync, fd_datasync, fd_renumber, sched_yield and
//! proc_raise; and a directory opened without `O_DIRECTORY` (as `open(dir,
//! O_RDONLY)` does) behaves as a directory fd in every call.
//!
//! Host contract: args `["p1_fd_misc"]`, an empty `/sandbox`, no `proc_raise`
//! handler; stdout and stderr empty; exit code 0.

use test_programs::{
    assert_errno, assert_ok, fd_fdstat_get, fd_read, path_open, raw, read_dir_raw, sandbox_fd,
    EBADF, EINVAL, ENOSYS, ESPIPE, FILETYPE_DIRECTORY, RIGHTS_ALL, RIGHTS_FD_WRITE,
};

/// What `open(name, O_RDONLY)` asks for: every right but writing ones.
const READ_ONLY: i64 = RIGHTS_ALL & !(RIGHTS_FD_WRITE | (1 << 8) | (1 << 22) | (1 << 0));

/// Opens `name` in the sandbox for reading, without `O_DIRECTORY`.
fn open_plain(name: &[u8]) -> i32 {
    path_open(sandbox_fd(), 0, name, 0, READ_ONLY, RIGHTS_ALL, 0).expect("path_open")
}

/// A directory opened as if it might be a file is still a directory.
fn a_directory_opened_plainly() {
    std::fs::create_dir("/sandbox/d").expect("mkdir");
    std::fs::write("/sandbox/d/inner", b"inside").expect("write inner");
    // Read first: EBADF, as on any directory fd.
    let fd = open_plain(b"d");
    assert_errno!(fd_read(fd, &mut [0u8; 8]), EBADF);
    assert_eq!(fd_fdstat_get(fd).unwrap().filetype, FILETYPE_DIRECTORY);
    // SAFETY: no pointers.
    assert_ok!(unsafe { raw::fd_close(fd) });
    // Each of these, as the first call on a fresh fd, sees a directory.
    let fd = open_plain(b"d");
    assert_eq!(fd_fdstat_get(fd).unwrap().filetype, FILETYPE_DIRECTORY);
    // SAFETY: no pointers.
    assert_ok!(unsafe { raw::fd_close(fd) });
    let fd = open_plain(b"d");
    let names: Vec<Vec<u8>> = read_dir_raw(fd, 256)
        .expect("fd_readdir")
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert!(names.contains(&b"inner".to_vec()), "{names:?}");
    // SAFETY: no pointers.
    assert_ok!(unsafe { raw::fd_close(fd) });
    let fd = open_plain(b"d");
    let inner = path_open(fd, 0, b"inner", 0, READ_ONLY, RIGHTS_ALL, 0).expect("open inner");
    let mut buf = [0u8; 6];
    assert_eq!(fd_read(inner, &mut buf), Ok(6));
    assert_eq!(&buf, b"inside");
    // SAFETY: no pointers.
    unsafe {
        assert_ok!(raw::fd_close(inner));
        assert_ok!(raw::fd_close(fd));
    }
    // A plain file opened the same way is a file.
    let fd = open_plain(b"d/inner");
    assert_ne!(fd_fdstat_get(fd).unwrap().filetype, FILETYPE_DIRECTORY);
    assert_eq!(fd_read(fd, &mut buf), Ok(6));
    // SAFETY: no pointers.
    assert_ok!(unsafe { raw::fd_close(fd) });
}

fn main() {
    let f = std::fs::File::create("/sandbox/f").expect("create");
    std::fs::write("/sandbox/f", b"0123456789").expect("write");
    let fd = {
        use std::os::fd::AsRawFd;
        f.as_raw_fd()
    };
    // SAFETY (all calls below): no pointers are passed.
    unsafe {
        assert_ok!(raw::fd_advise(fd, 0, 10, 0));
        assert_ok!(raw::fd_advise(fd, 0, 10, 5));
        assert_errno!(raw::fd_advise(fd, 0, 10, 6), EINVAL);
        assert_errno!(raw::fd_advise(1234, 0, 10, 0), EBADF);
        assert_errno!(raw::fd_advise(1, 0, 10, 0), ESPIPE);

        // fd_allocate grows a file, never shrinks it, and reads back zeros.
        assert_ok!(raw::fd_allocate(fd, 5, 20));
        assert_eq!(std::fs::metadata("/sandbox/f").expect("stat").len(), 25);
        assert_ok!(raw::fd_allocate(fd, 0, 3));
        assert_eq!(std::fs::metadata("/sandbox/f").expect("stat").len(), 25);
        let data = std::fs::read("/sandbox/f").expect("read");
        assert_eq!(&data[..10], b"0123456789");
        assert!(data[10..].iter().all(|&b| b == 0));
        assert_errno!(raw::fd_allocate(1234, 0, 1), EBADF);

        assert_ok!(raw::fd_sync(fd));
        assert_ok!(raw::fd_datasync(fd));
        assert_errno!(raw::fd_sync(1234), EBADF);
        // fd_renumber moves a descriptor onto another number.
        std::fs::write("/sandbox/g", b"from g").expect("write g");
        let g = std::fs::File::open("/sandbox/g").expect("open g");
        let h = std::fs::File::open("/sandbox/f").expect("open f again");
        let (gfd, hfd) = {
            use std::os::fd::AsRawFd;
            (g.as_raw_fd(), h.as_raw_fd())
        };
        assert_ok!(raw::fd_renumber(gfd, hfd));
        let mut buf = [0u8; 6];
        assert_eq!(test_programs::fd_read(hfd, &mut buf), Ok(6));
        assert_eq!(&buf, b"from g");
        assert_errno!(raw::fd_renumber(gfd, hfd), EBADF);
        assert_errno!(raw::fd_renumber(hfd, 999), EBADF);
        std::mem::forget(g); // its fd number now belongs to nobody
        drop(h);

        assert_ok!(raw::sched_yield());
        // No signal reaches anything without an embedder's handler.
        assert_errno!(raw::proc_raise(15), ENOSYS);
        assert_errno!(raw::proc_raise(0), EINVAL);
    }
    a_directory_opened_plainly();
}
