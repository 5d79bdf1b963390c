//! No path leaves the preopen: `..` past the root, absolute paths and
//! detours through subdirectories are refused with `EPERM` or `ENOTCAPABLE`,
//! while `.` and `a/..` stay inside. Invalid UTF-8 in a path is `EILSEQ`.
//!
//! Host contract: no args beyond argv[0], no env, empty stdin, an empty
//! `/sandbox`; stdout and stderr empty; exit code 0.

use test_programs::{
    assert_errno, errno_display, fd_close, fd_filestat_get, open_dir, path_create_directory,
    path_filestat_get, path_open, path_remove_directory, path_unlink_file, sandbox_fd, Check,
    IntoErrno, EILSEQ, ENOTCAPABLE, EPERM, FILETYPE_DIRECTORY, LOOKUP_SYMLINK_FOLLOW, OFLAGS_CREAT,
    OFLAGS_DIRECTORY, RIGHTS_ALL, RIGHTS_DIR_READ, RIGHTS_FILE_READ,
};

const ESCAPES: &[&str] = &[
    "..",
    "../",
    "../x",
    "../sandbox",
    "./../sandbox",
    "a/../../x",
    "a/../a/../../",
    "a/../a/../../sandbox/a",
    "a/b/../../..",
    "/etc/passwd",
    "/",
    "/sandbox",
    "//x",
];

/// Asserts that `call(path)` was refused as an escape.
fn refused(path: &str, call: &str, outcome: impl IntoErrno) {
    let e = outcome.into_errno();
    if e != EPERM && e != ENOTCAPABLE {
        panic!(
            "{call}({path:?}) returned {}, expected EPERM or ENOTCAPABLE",
            errno_display(e)
        );
    }
}

fn main() {
    let fd = sandbox_fd();
    path_create_directory(fd, b"a").check("mkdir a");
    path_create_directory(fd, b"a/b").check("mkdir a/b");
    let root = fd_filestat_get(fd).check("fd_filestat_get(sandbox)");

    for p in ESCAPES {
        let b = p.as_bytes();
        for flags in [0, LOOKUP_SYMLINK_FOLLOW] {
            refused(
                p,
                "path_open",
                path_open(fd, flags, b, 0, RIGHTS_FILE_READ, 0, 0),
            );
            refused(
                p,
                "path_open(O_DIRECTORY)",
                path_open(
                    fd,
                    flags,
                    b,
                    OFLAGS_DIRECTORY,
                    RIGHTS_DIR_READ,
                    RIGHTS_ALL,
                    0,
                ),
            );
            refused(p, "path_filestat_get", path_filestat_get(fd, flags, b));
        }
        refused(
            p,
            "path_open(O_CREAT)",
            path_open(fd, 0, b, OFLAGS_CREAT, RIGHTS_FILE_READ, 0, 0),
        );
        refused(p, "path_create_directory", path_create_directory(fd, b));
        refused(p, "path_remove_directory", path_remove_directory(fd, b));
        refused(p, "path_unlink_file", path_unlink_file(fd, b));
    }

    // Staying inside works, and names the right directories.
    for (p, same_as_root) in [
        (".", true),
        ("./", true),
        ("a/..", true),
        ("a/b/../..", true),
        ("a/b/..", false),
    ] {
        let st = path_filestat_get(fd, 0, p.as_bytes()).check(&format!("path_filestat_get({p:?})"));
        assert_eq!(st.filetype, FILETYPE_DIRECTORY, "{p:?} is not a directory");
        if same_as_root {
            assert_eq!(
                (st.dev, st.ino),
                (root.dev, root.ino),
                "{p:?} is not the sandbox root"
            );
        } else {
            assert_ne!(
                (st.dev, st.ino),
                (root.dev, root.ino),
                "{p:?} is the sandbox root"
            );
        }
        let sub = open_dir(fd, p.as_bytes()).check(&format!("open_dir({p:?})"));
        let sst = fd_filestat_get(sub).check("fd_filestat_get");
        assert_eq!(
            (sst.dev, sst.ino),
            (st.dev, st.ino),
            "{p:?}: open and stat disagree"
        );
        // `..` from an opened subdirectory is also confined to the preopen.
        if same_as_root {
            assert_errno!(path_filestat_get(sub, 0, b".."), EPERM, ENOTCAPABLE);
        }
        fd_close(sub).check("fd_close");
    }
    // Every directory fd confines paths to its own subtree, not to the
    // preopen's ("Path resolution is constrained to occur within the
    // sub-filesystem referenced by the base handle", wasi-filesystem
    // path-resolution.md): `..` from an fd opened on `a` is refused.
    let a = open_dir(fd, b"a").check("open_dir(a)");
    assert_errno!(path_filestat_get(a, 0, b".."), EPERM, ENOTCAPABLE);
    assert_errno!(path_filestat_get(a, 0, b"b/../.."), EPERM, ENOTCAPABLE);
    assert_errno!(
        path_open(
            a,
            0,
            b"../a",
            OFLAGS_DIRECTORY,
            RIGHTS_DIR_READ,
            RIGHTS_ALL,
            0
        ),
        EPERM,
        ENOTCAPABLE
    );
    let st = path_filestat_get(a, 0, b"b/..").check("path_filestat_get(a, \"b/..\")");
    let ast = fd_filestat_get(a).check("fd_filestat_get(a)");
    assert_eq!((st.dev, st.ino), (ast.dev, ast.ino), "a/b/.. is not a");
    fd_close(a).check("fd_close(a)");

    // Invalid UTF-8.
    let bad = [0x66u8, 0xff];
    assert_errno!(path_open(fd, 0, &bad, 0, RIGHTS_FILE_READ, 0, 0), EILSEQ);
    assert_errno!(
        path_open(fd, 0, &bad, OFLAGS_CREAT, RIGHTS_FILE_READ, 0, 0),
        EILSEQ
    );
    assert_errno!(path_filestat_get(fd, 0, &bad), EILSEQ);
    assert_errno!(path_create_directory(fd, &bad), EILSEQ);

    // Nothing was created by the refused calls.
    path_remove_directory(fd, b"a/b").check("rmdir a/b");
    path_remove_directory(fd, b"a").check("rmdir a");
    assert_eq!(
        std::fs::read_dir(test_programs::SANDBOX)
            .expect("read_dir")
            .count(),
        0,
        "sandbox not empty"
    );
}
