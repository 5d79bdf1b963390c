//! Directories: create, remove, rename, unlink and their errors, and listing
//! a 1,000-entry directory with std and with raw `fd_readdir` through a
//! 128-byte buffer.
//!
//! Host contract: no args beyond argv[0], no env, empty stdin, an empty
//! `/sandbox`; stdout and stderr empty; exit code 0.

use std::collections::BTreeMap;
use std::fs;
use test_programs::{
    assert_errno, fd_close, open_dir, path_filestat_get, read_dir_raw, sandbox_fd, sandbox_path,
    Check, EEXIST, EISDIR, ENOENT, ENOTDIR, ENOTEMPTY, FILETYPE_DIRECTORY, FILETYPE_REGULAR_FILE,
};

const N: usize = 1000;

fn read(path: &str) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn main() {
    let sandbox = sandbox_fd();
    let d = sandbox_path("d");
    let file = sandbox_path("file.txt");

    // create_dir and its errors.
    fs::create_dir(&d).expect("create_dir d");
    let md = fs::metadata(&d).expect("metadata d");
    assert!(md.is_dir() && !md.is_file(), "d is not a directory");
    let st = path_filestat_get(sandbox, 0, b"d").check("path_filestat_get(d)");
    assert_eq!(st.filetype, FILETYPE_DIRECTORY, "filestat of a dir");
    assert_errno!(fs::create_dir(&d), EEXIST);
    fs::write(&file, b"x").expect("write file.txt");
    assert_errno!(fs::create_dir(&file), EEXIST);
    assert_errno!(fs::create_dir(sandbox_path("nope/sub")), ENOENT);

    // Removal errors.
    fs::write(sandbox_path("d/inner"), b"inner").expect("write d/inner");
    assert_errno!(fs::remove_dir(&d), ENOTEMPTY);
    assert_errno!(fs::remove_dir(&file), ENOTDIR);
    // Linux says EISDIR for unlink(2) on a directory; POSIX allows EPERM, but
    // a WASI host should give guests one answer, and wasmtime gives EISDIR.
    assert_errno!(fs::remove_file(&d), EISDIR);
    assert_errno!(fs::remove_dir(sandbox_path("missing")), ENOENT);
    assert_errno!(fs::remove_file(sandbox_path("missing")), ENOENT);
    assert!(fs::metadata(&d).expect("d survives").is_dir());
    assert_eq!(read(&sandbox_path("d/inner")), b"inner", "d/inner survives");

    // Rename a file.
    let a = sandbox_path("a.txt");
    let b = sandbox_path("b.txt");
    let c = sandbox_path("c.txt");
    fs::write(&a, b"AAA").expect("write a.txt");
    fs::rename(&a, &b).expect("rename a -> b");
    assert_errno!(fs::metadata(&a), ENOENT);
    assert_eq!(read(&b), b"AAA");
    // Rename over an existing file replaces it.
    fs::write(&c, b"CCCC").expect("write c.txt");
    fs::rename(&c, &b).expect("rename c -> b (replace)");
    assert_errno!(fs::metadata(&c), ENOENT);
    assert_eq!(read(&b), b"CCCC", "rename did not replace the target");
    // Rename a directory, with its contents.
    let d2 = sandbox_path("d2");
    fs::rename(&d, &d2).expect("rename d -> d2");
    assert_errno!(fs::metadata(&d), ENOENT);
    assert!(fs::metadata(&d2).expect("metadata d2").is_dir());
    assert_eq!(
        read(&sandbox_path("d2/inner")),
        b"inner",
        "contents move with the dir"
    );
    // Renaming something missing.
    assert_errno!(
        fs::rename(sandbox_path("missing"), sandbox_path("other")),
        ENOENT
    );
    assert_errno!(fs::metadata(sandbox_path("other")), ENOENT);

    // Unlink.
    fs::remove_file(&b).expect("unlink b.txt");
    assert_errno!(fs::metadata(&b), ENOENT);
    assert_errno!(fs::remove_file(&b), ENOENT);
    fs::remove_file(sandbox_path("d2/inner")).expect("unlink d2/inner");
    fs::remove_dir(&d2).expect("remove empty d2");
    assert_errno!(fs::metadata(&d2), ENOENT);
    fs::remove_file(&file).expect("unlink file.txt");

    // Readdir over 1,000 files.
    let many = sandbox_path("many");
    fs::create_dir(&many).expect("create_dir many");
    let names: Vec<String> = (0..N).map(|i| format!("f{i:04}")).collect();
    for n in &names {
        fs::write(format!("{many}/{n}"), n.as_bytes()).expect("create file in many");
    }

    let mut listed: Vec<String> = fs::read_dir(&many)
        .expect("read_dir many")
        .map(|e| {
            let e = e.expect("read_dir entry");
            assert!(
                e.file_type().expect("file_type").is_file(),
                "{:?} is not a file",
                e.file_name()
            );
            e.file_name().into_string().expect("UTF-8 name")
        })
        .collect();
    listed.sort();
    assert_eq!(listed.len(), N, "std::fs::read_dir entry count");
    assert_eq!(listed, names, "std::fs::read_dir names");

    let fd = open_dir(sandbox, b"many").check("open_dir(many)");
    for buf_size in [128, 4096] {
        let entries = read_dir_raw(fd, buf_size).check("fd_readdir");
        let mut seen: BTreeMap<Vec<u8>, (usize, u8)> = BTreeMap::new();
        for e in &entries {
            let slot = seen.entry(e.name.clone()).or_insert((0, e.filetype));
            slot.0 += 1;
        }
        for dot in [&b"."[..], &b".."[..]] {
            let (count, ty) = seen.remove(dot).unwrap_or_else(|| {
                panic!(
                    "fd_readdir ({buf_size}-byte buffer): {:?} missing",
                    String::from_utf8_lossy(dot)
                )
            });
            assert_eq!(
                count,
                1,
                "{:?} seen {count} times",
                String::from_utf8_lossy(dot)
            );
            assert_eq!(
                ty,
                FILETYPE_DIRECTORY,
                "{:?} d_type",
                String::from_utf8_lossy(dot)
            );
        }
        for n in &names {
            match seen.remove(n.as_bytes()) {
                Some((1, ty)) => assert_eq!(ty, FILETYPE_REGULAR_FILE, "{n} d_type"),
                Some((k, _)) => panic!("fd_readdir ({buf_size}-byte buffer): {n} seen {k} times"),
                None => panic!("fd_readdir ({buf_size}-byte buffer): {n} missing"),
            }
        }
        let extra: Vec<_> = seen
            .keys()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect();
        assert!(
            extra.is_empty(),
            "fd_readdir ({buf_size}-byte buffer): unexpected entries {extra:?}"
        );
        assert_eq!(
            entries.len(),
            N + 2,
            "fd_readdir ({buf_size}-byte buffer) entry count"
        );
    }

    // Empty it; then it can be removed.
    assert_errno!(fs::remove_dir(&many), ENOTEMPTY);
    for n in &names {
        fs::remove_file(format!("{many}/{n}")).expect("unlink file in many");
    }
    let left = read_dir_raw(fd, 128).check("fd_readdir (emptied)");
    let mut left: Vec<_> = left
        .iter()
        .map(|e| String::from_utf8_lossy(&e.name).into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [".", ".."],
        "emptied directory lists only dot entries"
    );
    fd_close(fd).check("fd_close");
    assert_eq!(
        fs::read_dir(&many).expect("read_dir").count(),
        0,
        "std lists an emptied dir as empty"
    );
    fs::remove_dir(&many).expect("remove emptied many");
    assert_errno!(fs::metadata(&many), ENOENT);
    assert_eq!(
        fs::read_dir(test_programs::SANDBOX)
            .expect("read_dir /sandbox")
            .count(),
        0,
        "sandbox left non-empty"
    );
}
