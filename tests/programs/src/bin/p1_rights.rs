//! Rights can only shrink, and dropped rights are enforced.
//!
//! Host contract: args `["p1_rights"]`, an empty `/sandbox`; stdout and stderr
//! empty; exit code 0.

use test_programs::{
    assert_errno, fd_close, fd_fdstat_get, fd_fdstat_set_rights, fd_filestat_set_size, fd_read,
    fd_seek, fd_write, open_dir, path_create_directory, path_open, sandbox_fd, Check, EBADF,
    ENOTCAPABLE, OFLAGS_CREAT, OFLAGS_TRUNC, RIGHTS_FD_FILESTAT_SET_SIZE, RIGHTS_FD_READ,
    RIGHTS_FD_SEEK, RIGHTS_FD_TELL, RIGHTS_FD_WRITE, RIGHTS_PATH_CREATE_DIRECTORY,
    RIGHTS_PATH_FILESTAT_SET_SIZE, WHENCE_SET,
};

fn main() {
    let sb = sandbox_fd();
    let rw = RIGHTS_FD_READ | RIGHTS_FD_WRITE | RIGHTS_FD_SEEK | RIGHTS_FD_TELL;
    let fd = path_open(sb, 0, b"file", OFLAGS_CREAT, rw, 0, 0).check("create file");
    assert_eq!(fd_write(fd, b"data").check("write"), 4);
    fd_seek(fd, 0, WHENCE_SET).check("seek");
    let mut buf = [0u8; 4];
    assert_eq!(fd_read(fd, &mut buf).check("read"), 4);

    // Drop reading and writing: both are refused from now on.
    let st = fd_fdstat_get(fd).check("fdstat");
    let fewer = st.rights_base & !((RIGHTS_FD_READ | RIGHTS_FD_WRITE) as u64);
    fd_fdstat_set_rights(fd, fewer, st.rights_inheriting).check("drop rights");
    assert_eq!(fd_fdstat_get(fd).check("fdstat").rights_base, fewer);
    fd_seek(fd, 0, WHENCE_SET).check("seek still allowed");
    assert_errno!(fd_read(fd, &mut buf), EBADF, ENOTCAPABLE);
    assert_errno!(fd_write(fd, b"x"), EBADF, ENOTCAPABLE);
    // Rights never grow back.
    assert_errno!(
        fd_fdstat_set_rights(fd, st.rights_base, st.rights_inheriting),
        ENOTCAPABLE
    );
    fd_close(fd).check("close");

    // A directory without PATH_FILESTAT_SET_SIZE cannot truncate on open, one
    // without PATH_CREATE_DIRECTORY cannot make directories; and a file opened
    // from a directory that does not pass FD_FILESTAT_SET_SIZE on cannot be
    // resized.
    let dir = open_dir(sb, b".").check("open .");
    let d = fd_fdstat_get(dir).check("dir fdstat");
    let no_inherit = d.rights_inheriting & !(RIGHTS_FD_FILESTAT_SET_SIZE as u64);
    fd_fdstat_set_rights(dir, d.rights_base, no_inherit).check("drop inheriting");
    let f = path_open(dir, 0, b"file", OFLAGS_TRUNC, rw, 0, 0).check("truncating open");
    assert_errno!(fd_filestat_set_size(f, 10), EBADF, ENOTCAPABLE);
    fd_close(f).check("close");
    let base =
        d.rights_base & !((RIGHTS_PATH_FILESTAT_SET_SIZE | RIGHTS_PATH_CREATE_DIRECTORY) as u64);
    fd_fdstat_set_rights(dir, base, no_inherit).check("drop base rights");
    assert_errno!(
        path_open(dir, 0, b"file", OFLAGS_TRUNC, rw, 0, 0),
        ENOTCAPABLE
    );
    assert_errno!(path_create_directory(dir, b"sub"), ENOTCAPABLE);
    // The preopen itself is unaffected.
    path_create_directory(sb, b"sub").check("mkdir through the preopen");
}
