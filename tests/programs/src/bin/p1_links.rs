//! Symlinks and hard links, made and followed by the guest, stay inside the
//! sandbox.
//!
//! Host contract: args `["p1_links"]`, an empty `/sandbox`; stdout and stderr
//! empty; exit code 0.

use test_programs::{
    assert_errno, fd_filestat_get, path_filestat_get, path_filestat_set_times, path_link,
    path_open, path_readlink, path_symlink, sandbox_fd, Check, EEXIST, ELOOP, ENOTCAPABLE, EPERM,
    FILETYPE_SYMBOLIC_LINK, FSTFLAGS_MTIM, LOOKUP_SYMLINK_FOLLOW, RIGHTS_FILE_READ,
};

fn main() {
    let sb = sandbox_fd();
    std::fs::write("/sandbox/f", b"linked contents").check("write f");
    std::fs::create_dir("/sandbox/d").check("mkdir d");

    // Symlinks to a file and a directory, followed by std's path resolution.
    path_symlink(b"f", sb, b"lf").check("symlink lf");
    path_symlink(b"d", sb, b"ld").check("symlink ld");
    assert_eq!(path_readlink(sb, b"lf", 64).check("readlink lf"), b"f");
    assert_eq!(
        std::fs::read("/sandbox/lf").check("read through lf"),
        b"linked contents"
    );
    std::fs::write("/sandbox/ld/inner", b"x").check("write through ld");
    assert_eq!(
        std::fs::read("/sandbox/d/inner").check("read d/inner"),
        b"x"
    );
    let st = path_filestat_get(sb, 0, b"lf").check("lstat lf");
    assert_eq!(st.filetype, FILETYPE_SYMBOLIC_LINK);
    assert_errno!(path_symlink(b"g", sb, b"lf"), EEXIST);

    // A symlink has times of its own (found by wasi-testsuite's
    // symlink_filestat on an overlay).
    let t = 1_000_000_000;
    path_filestat_set_times(sb, 0, b"ld", 0, t, FSTFLAGS_MTIM).check("set the link's mtime");
    assert_eq!(path_filestat_get(sb, 0, b"ld").check("lstat ld").mtim, t);
    let target = path_filestat_get(sb, LOOKUP_SYMLINK_FOLLOW, b"ld").check("stat ld");
    assert_ne!(target.mtim, t, "the target's mtime must not change");

    // Hard links share contents and count links.
    path_link(sb, false, b"f", sb, b"hf").check("link hf");
    assert_eq!(
        std::fs::read("/sandbox/hf").check("read hf"),
        b"linked contents"
    );
    let fd = path_open(sb, 0, b"hf", 0, RIGHTS_FILE_READ, 0, 0).check("open hf");
    assert_eq!(fd_filestat_get(fd).check("stat hf").nlink, 2);
    std::fs::remove_file("/sandbox/f").check("unlink f");
    assert_eq!(
        std::fs::read("/sandbox/hf").check("read hf again"),
        b"linked contents"
    );
    // A symlink to a removed file dangles.
    assert!(std::fs::read("/sandbox/lf").is_err(), "lf must dangle");

    // Links that point outside can be made but never followed out.
    path_symlink(b"../../../etc/passwd", sb, b"esc").check("symlink esc");
    path_symlink(b"d/../..", sb, b"up").check("symlink up");
    for name in [&b"esc"[..], b"up", b"up/sandbox"] {
        assert_errno!(
            path_open(sb, LOOKUP_SYMLINK_FOLLOW, name, 0, RIGHTS_FILE_READ, 0, 0),
            EPERM,
            ENOTCAPABLE
        );
    }
    assert!(std::fs::read("/sandbox/esc").is_err());
    assert_errno!(path_symlink(b"/etc/passwd", sb, b"abs"), EPERM, ENOTCAPABLE);

    // Loops end with ELOOP.
    path_symlink(b"loop2", sb, b"loop1").check("symlink loop1");
    path_symlink(b"loop1", sb, b"loop2").check("symlink loop2");
    assert_errno!(
        path_open(
            sb,
            LOOKUP_SYMLINK_FOLLOW,
            b"loop1",
            0,
            RIGHTS_FILE_READ,
            0,
            0
        ),
        ELOOP
    );
}
