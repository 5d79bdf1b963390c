//! Regular files: create, write, read, seek and tell, append, truncate,
//! positional I/O, holes, metadata, timestamps, and the open errors.
//!
//! Host contract: no args beyond argv[0], no env, empty stdin, an empty
//! `/sandbox`; stdout and stderr empty; exit code 0.
//!
//! The invalid-`whence` check runs last: wasmtime traps on an out-of-range
//! enum parameter where vasi returns `EINVAL` (see DESIGN.md, "Bad flags or
//! enum values are `EINVAL`").

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use test_programs::{
    assert_errno, clock_time_get, fd_fdstat_get, fd_filestat_get, fd_filestat_set_times, fd_pread,
    fd_pwrite, fd_seek, fd_tell, path_filestat_get, path_filestat_set_times, path_open, sandbox_fd,
    sandbox_path, Check, CLOCK_REALTIME, EEXIST, EINVAL, ENOENT, ENOTDIR, FDFLAGS_APPEND,
    FILETYPE_REGULAR_FILE, FSTFLAGS_ATIM, FSTFLAGS_ATIM_NOW, FSTFLAGS_MTIM, FSTFLAGS_MTIM_NOW,
    LOOKUP_SYMLINK_FOLLOW, OFLAGS_DIRECTORY, RIGHTS_ALL, RIGHTS_DIR_READ, RIGHTS_FILE_READ,
    WHENCE_CUR, WHENCE_END, WHENCE_SET,
};

fn read_all(path: &str) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn main() {
    let dir = sandbox_fd();
    let path = sandbox_path("f.txt");

    // Create, write, read back; metadata.
    {
        let mut f = File::create(&path).expect("create f.txt");
        f.write_all(b"hello world").expect("write");
    }
    assert_eq!(read_all(&path), b"hello world");
    let md = fs::metadata(&path).expect("metadata");
    assert!(md.is_file(), "f.txt is not a file");
    assert!(!md.is_dir(), "f.txt is a dir");
    assert_eq!(md.len(), 11, "metadata len");

    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .expect("open rw");
    let fd = f.as_raw_fd();
    let st = fd_filestat_get(fd).check("fd_filestat_get");
    assert_eq!(st.filetype, FILETYPE_REGULAR_FILE, "filestat filetype");
    assert_eq!(st.size, 11, "filestat size");
    assert!(st.nlink >= 1, "nlink {} < 1", st.nlink);
    assert_eq!(
        fd_fdstat_get(fd).check("fd_fdstat_get").filetype,
        FILETYPE_REGULAR_FILE
    );
    let pst = path_filestat_get(dir, LOOKUP_SYMLINK_FOLLOW, b"f.txt").check("path_filestat_get");
    assert_eq!(
        (pst.filetype, pst.size),
        (FILETYPE_REGULAR_FILE, 11),
        "path_filestat_get"
    );
    assert_eq!(
        (pst.dev, pst.ino),
        (st.dev, st.ino),
        "path and fd stat name different files"
    );

    // Seek and tell.
    assert_eq!(fd_tell(fd).check("fd_tell"), 0, "new fd starts at 0");
    assert_eq!(fd_seek(fd, 6, WHENCE_SET).check("seek SET 6"), 6);
    let mut buf = [0u8; 5];
    f.read_exact(&mut buf).expect("read 5");
    assert_eq!(&buf, b"world");
    assert_eq!(fd_tell(fd).check("fd_tell"), 11, "read advances the cursor");
    assert_eq!(fd_seek(fd, -5, WHENCE_CUR).check("seek CUR -5"), 6);
    assert_eq!(fd_seek(fd, 0, WHENCE_CUR).check("seek CUR 0"), 6);
    assert_eq!(fd_seek(fd, -1, WHENCE_END).check("seek END -1"), 10);
    assert_eq!(
        fd_seek(fd, 4, WHENCE_END).check("seek END +4"),
        15,
        "seek past EOF is allowed"
    );
    assert_eq!(fd_tell(fd).check("fd_tell"), 15);
    assert_eq!(
        fd_filestat_get(fd).check("fd_filestat_get").size,
        11,
        "seeking does not extend"
    );
    // Negative resulting offsets fail and leave the cursor alone.
    fd_seek(fd, 3, WHENCE_SET).check("seek SET 3");
    assert_errno!(fd_seek(fd, -1, WHENCE_SET), EINVAL);
    assert_errno!(fd_seek(fd, -4, WHENCE_CUR), EINVAL);
    assert_errno!(fd_seek(fd, -12, WHENCE_END), EINVAL);
    assert_eq!(
        fd_tell(fd).check("fd_tell"),
        3,
        "a failed seek moved the cursor"
    );
    assert_eq!(f.stream_position().expect("stream_position"), 3);

    // Writing past EOF leaves a zero-filled gap.
    assert_eq!(f.seek(SeekFrom::Start(20)).expect("seek 20"), 20);
    f.write_all(b"Z").expect("write Z");
    assert_eq!(fd_tell(fd).check("fd_tell"), 21);
    let mut want = b"hello world".to_vec();
    want.resize(20, 0);
    want.push(b'Z');
    assert_eq!(read_all(&path), want, "gap after write past EOF");

    // set_len: shrink, then extend with zeros; the cursor does not move.
    f.set_len(5).expect("set_len 5");
    assert_eq!(read_all(&path), b"hello");
    assert_eq!(fd_tell(fd).check("fd_tell"), 21, "set_len moved the cursor");
    f.set_len(9).expect("set_len 9");
    assert_eq!(read_all(&path), b"hello\0\0\0\0", "extension reads zeros");
    assert_eq!(f.metadata().expect("metadata").len(), 9);

    // pread/pwrite (raw: std's FileExt is unstable on wasi) do not move the
    // cursor.
    f.seek(SeekFrom::Start(2)).expect("seek 2");
    assert_eq!(fd_pwrite(fd, b"XY", 1).check("fd_pwrite"), 2);
    assert_eq!(fd_tell(fd).check("fd_tell"), 2, "pwrite moved the cursor");
    let mut got = [0u8; 9];
    assert_eq!(fd_pread(fd, &mut got, 0).check("fd_pread"), 9);
    assert_eq!(&got, b"hXYlo\0\0\0\0");
    assert_eq!(fd_tell(fd).check("fd_tell"), 2, "pread moved the cursor");
    let mut tail = [0u8; 4];
    assert_eq!(
        fd_pread(fd, &mut tail, 7).check("fd_pread short"),
        2,
        "pread near EOF is short"
    );
    assert_eq!(
        fd_pread(fd, &mut got, 9).check("fd_pread at EOF"),
        0,
        "pread at EOF"
    );
    assert_eq!(
        fd_pread(fd, &mut got, 1000).check("fd_pread past EOF"),
        0,
        "pread past EOF"
    );
    assert_eq!(fd_pwrite(fd, b"!", 12).check("fd_pwrite past EOF"), 1);
    assert_eq!(read_all(&path), b"hXYlo\0\0\0\0\0\0\0!", "pwrite past EOF");
    assert_eq!(
        fd_tell(fd).check("fd_tell"),
        2,
        "pwrite past EOF moved the cursor"
    );
    let mut two = [0u8; 2];
    f.read_exact(&mut two).expect("read after pread/pwrite");
    assert_eq!(&two, b"Yl", "read continues from the cursor");
    drop(f);

    // O_APPEND: every write goes to the end, even after seeking to 0.
    fs::write(&path, b"abc").expect("rewrite f.txt");
    {
        let mut a = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .expect("open append");
        let afd = a.as_raw_fd();
        let flags = fd_fdstat_get(afd).check("fd_fdstat_get(append)").flags;
        assert_ne!(flags & FDFLAGS_APPEND as u16, 0, "fdstat lacks APPEND");
        assert_eq!(a.seek(SeekFrom::Start(0)).expect("seek 0"), 0);
        a.write_all(b"def").expect("append write");
        assert_eq!(
            fd_tell(afd).check("fd_tell"),
            6,
            "append write leaves cursor at the end"
        );
        fd_seek(afd, 1, WHENCE_SET).check("seek 1");
        let mut one = [0u8; 1];
        a.read_exact(&mut one).expect("read in append mode");
        assert_eq!(&one, b"b", "reads in append mode use the cursor");
        a.write_all(b"gh").expect("append write 2");
        assert_eq!(fd_tell(afd).check("fd_tell"), 8);
        // pwrite on an append fd is not tested: POSIX and Linux disagree.
    }
    assert_eq!(read_all(&path), b"abcdefgh", "append");

    // Timestamps, explicit.
    const A1: u64 = 1_600_000_000_123_456_789;
    const M1: u64 = 1_500_000_000_987_654_321;
    const A2: u64 = 1_400_000_000_000_000_001;
    const M2: u64 = 1_300_000_000_999_999_999;
    const A3: u64 = 1_234_567_890_000_000_000;
    {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .expect("open rw");
        let fd = f.as_raw_fd();
        fd_filestat_set_times(fd, A1, M1, FSTFLAGS_ATIM | FSTFLAGS_MTIM)
            .check("fd_filestat_set_times");
        let st = fd_filestat_get(fd).check("fd_filestat_get");
        assert_eq!(
            (st.atim, st.mtim),
            (A1, M1),
            "fd_filestat_set_times exact ns"
        );

        path_filestat_set_times(
            dir,
            LOOKUP_SYMLINK_FOLLOW,
            b"f.txt",
            A2,
            M2,
            FSTFLAGS_ATIM | FSTFLAGS_MTIM,
        )
        .check("path_filestat_set_times");
        let st = fd_filestat_get(fd).check("fd_filestat_get");
        assert_eq!(
            (st.atim, st.mtim),
            (A2, M2),
            "path_filestat_set_times exact ns"
        );

        // Only the flagged time changes; the other argument is ignored.
        fd_filestat_set_times(fd, A3, 7, FSTFLAGS_ATIM).check("fd_filestat_set_times(ATIM)");
        let st = fd_filestat_get(fd).check("fd_filestat_get");
        assert_eq!((st.atim, st.mtim), (A3, M2), "ATIM alone");

        // Conflicting flags fail and change nothing.
        assert_errno!(
            fd_filestat_set_times(fd, A1, M1, FSTFLAGS_ATIM | FSTFLAGS_ATIM_NOW),
            EINVAL
        );
        assert_errno!(
            fd_filestat_set_times(fd, A1, M1, FSTFLAGS_MTIM | FSTFLAGS_MTIM_NOW),
            EINVAL
        );
        assert_errno!(
            path_filestat_set_times(
                dir,
                LOOKUP_SYMLINK_FOLLOW,
                b"f.txt",
                A1,
                M1,
                FSTFLAGS_ATIM | FSTFLAGS_ATIM_NOW
            ),
            EINVAL
        );
        assert_errno!(
            path_filestat_set_times(
                dir,
                LOOKUP_SYMLINK_FOLLOW,
                b"f.txt",
                A1,
                M1,
                FSTFLAGS_MTIM | FSTFLAGS_MTIM_NOW
            ),
            EINVAL
        );
        let st = fd_filestat_get(fd).check("fd_filestat_get");
        assert_eq!(
            (st.atim, st.mtim),
            (A3, M2),
            "a failed set_times changed times"
        );

        // *_NOW: within 10 s of the realtime clock.
        let near_now = |t: u64, what: &str| {
            let now = clock_time_get(CLOCK_REALTIME).check("clock_time_get");
            assert!(
                t.abs_diff(now) < 10_000_000_000,
                "{what} = {t} ns, realtime is {now} ns"
            );
        };
        fd_filestat_set_times(fd, 0, 0, FSTFLAGS_ATIM_NOW | FSTFLAGS_MTIM_NOW)
            .check("fd_filestat_set_times(NOW)");
        let st = fd_filestat_get(fd).check("fd_filestat_get");
        near_now(st.atim, "atim after ATIM_NOW");
        near_now(st.mtim, "mtim after MTIM_NOW");

        fd_filestat_set_times(fd, A1, M1, FSTFLAGS_ATIM | FSTFLAGS_MTIM).check("reset times");
        path_filestat_set_times(
            dir,
            LOOKUP_SYMLINK_FOLLOW,
            b"f.txt",
            0,
            0,
            FSTFLAGS_MTIM_NOW,
        )
        .check("path_filestat_set_times(MTIM_NOW)");
        let st = fd_filestat_get(fd).check("fd_filestat_get");
        assert_eq!(st.atim, A1, "MTIM_NOW alone changed atim");
        near_now(st.mtim, "mtim after path MTIM_NOW");
    }

    // O_TRUNC empties the file.
    {
        let f = OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .expect("open trunc");
        assert_eq!(f.metadata().expect("metadata").len(), 0, "O_TRUNC");
    }
    assert_eq!(read_all(&path), b"");

    // Open errors.
    assert_errno!(File::open(sandbox_path("missing.txt")), ENOENT);
    assert_errno!(
        OpenOptions::new()
            .write(true)
            .open(sandbox_path("missing.txt")),
        ENOENT
    );
    assert!(
        fs::metadata(sandbox_path("missing.txt")).is_err(),
        "open without create created a file"
    );
    assert_errno!(
        OpenOptions::new().write(true).create_new(true).open(&path),
        EEXIST
    );
    assert_errno!(File::open(sandbox_path("f.txt/")), ENOTDIR);
    assert_errno!(
        path_open(dir, 0, b"f.txt/", 0, RIGHTS_FILE_READ, 0, 0),
        ENOTDIR
    );
    assert_errno!(
        path_open(
            dir,
            0,
            b"f.txt",
            OFLAGS_DIRECTORY,
            RIGHTS_DIR_READ,
            RIGHTS_ALL,
            0
        ),
        ENOTDIR
    );

    // Last: an out-of-range whence (wasmtime traps here, vasi says EINVAL).
    let f = File::open(&path).expect("open");
    assert_errno!(fd_seek(f.as_raw_fd(), 0, 7), EINVAL);
}
