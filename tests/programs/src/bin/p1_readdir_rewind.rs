//! Listing a directory again from cookie 0 on the same fd shows its current
//! entries (found by wasi-testsuite's fd_readdir test).
//!
//! Host contract: args `["p1_readdir_rewind"]`, an empty `/sandbox`; stdout and
//! stderr empty; exit code 0.

use test_programs::{open_dir, read_dir_raw, sandbox_fd, Check};

fn names(fd: i32) -> Vec<String> {
    let mut n: Vec<String> = read_dir_raw(fd, 256)
        .check("readdir")
        .into_iter()
        .map(|d| String::from_utf8(d.name).expect("utf-8"))
        .collect();
    n.sort();
    n
}

fn main() {
    let sb = sandbox_fd();
    std::fs::create_dir("/sandbox/d").check("mkdir");
    let fd = open_dir(sb, b"d").check("open d");
    assert_eq!(names(fd), [".", ".."]);
    std::fs::write("/sandbox/d/file", b"").check("create file");
    assert_eq!(names(fd), [".", "..", "file"]);
    for i in 0..50 {
        std::fs::write(format!("/sandbox/d/f{i:02}"), b"").check("create");
    }
    assert_eq!(names(fd).len(), 53);
    std::fs::remove_file("/sandbox/d/file").check("unlink");
    let after = names(fd);
    assert_eq!(after.len(), 52);
    assert!(!after.contains(&"file".to_string()));
}
