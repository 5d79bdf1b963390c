//! Host directories whose contents a guest could not have made: names that
//! are not UTF-8, times before 1970. Neither may hide a directory's other
//! entries nor panic the host, on `HostDir` and on an `Overlay` over one.

#![cfg(unix)]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;
use std::sync::Arc;
use vasi::p1::abi::lookupflags;
use vasi::vfs::{Dir, HostDir, MemFs, Overlay};
use vasi::{p1, GuestMemory, WasiCtxBuilder};

fn names(dir: &dyn Dir) -> Vec<String> {
    let mut it = dir.entries(0).unwrap();
    let mut v: Vec<String> = std::iter::from_fn(|| it.next_entry())
        .map(|e| e.expect("no entry fails").name)
        .collect();
    v.sort();
    v
}

/// Every directory entry the guest sees through `fd_readdir` on fd 3.
fn readdir_names(dir: Arc<dyn Dir>) -> Vec<String> {
    let mut ctx = WasiCtxBuilder::new().preopen_dir(dir, "/").build().unwrap();
    let mut bytes = vec![0u8; 1 << 16];
    let mut mem = GuestMemory::new(&mut bytes);
    p1::fd_readdir(&mut ctx, &mut mem, 3, 1024, 32 * 1024, 0, 0).expect("fd_readdir");
    let used = u32::from_le_bytes(bytes[0..4].try_into().unwrap()) as usize;
    let mut out = Vec::new();
    let mut at = 1024;
    while at + 24 <= 1024 + used {
        let namlen = u32::from_le_bytes(bytes[at + 16..at + 20].try_into().unwrap()) as usize;
        out.push(String::from_utf8(bytes[at + 24..at + 24 + namlen].to_vec()).unwrap());
        at += 24 + namlen;
    }
    out.sort();
    out
}

fn with_bad_name(dir: &Path) {
    std::fs::write(dir.join("a"), b"a").unwrap();
    std::fs::write(dir.join(OsStr::from_bytes(b"bad\xff\xfename")), b"?").unwrap();
    std::fs::create_dir(dir.join(OsStr::from_bytes(b"\x80dir"))).unwrap();
    std::fs::write(dir.join("z"), b"z").unwrap();
}

#[test]
fn a_non_utf8_host_name_is_skipped_not_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    with_bad_name(tmp.path());
    let host = Arc::new(HostDir::open_ambient(tmp.path()).unwrap());
    assert_eq!(names(&*host), ["a", "z"]);
    let overlay = Arc::new(Overlay::new(MemFs::new().root(), host.clone()));
    assert_eq!(names(&*overlay), ["a", "z"]);
    // Also after a copy-up and a new upper file, and through the hostcall.
    overlay.create_dir("new").unwrap();
    assert_eq!(names(&*overlay), ["a", "new", "z"]);
    assert_eq!(readdir_names(host), [".", "..", "a", "z"]);
    assert_eq!(readdir_names(overlay), [".", "..", "a", "new", "z"]);
}

/// `touch -d` with a date before 1970, then `path_filestat_get`.
#[test]
fn a_host_time_before_1970_is_clamped_to_the_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("old");
    std::fs::write(&file, b"old").unwrap();
    let status = std::process::Command::new("touch")
        .arg("-d")
        .arg("1960-01-01 00:00:00 UTC")
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success());
    let md = std::fs::metadata(&file).unwrap();
    use std::os::unix::fs::MetadataExt as _;
    assert!(md.mtime() < 0, "the host file is dated before 1970");
    let host: Arc<dyn Dir> = Arc::new(HostDir::open_ambient(tmp.path()).unwrap());
    let overlay: Arc<dyn Dir> = Arc::new(Overlay::new(MemFs::new().root(), host.clone()));
    for dir in [host, overlay] {
        assert_eq!(dir.stat_at("old").unwrap().mtim, 0);
        let mut ctx = WasiCtxBuilder::new().preopen_dir(dir, "/").build().unwrap();
        let mut bytes = vec![0u8; 4096];
        bytes[1024..1027].copy_from_slice(b"old");
        let mut mem = GuestMemory::new(&mut bytes);
        p1::path_filestat_get(
            &mut ctx,
            &mut mem,
            3,
            lookupflags::SYMLINK_FOLLOW,
            1024,
            3,
            64,
        )
        .unwrap();
        // filestat: dev, ino, filetype (+pad), nlink, size, atim, mtim, ctim.
        let mtim = u64::from_le_bytes(bytes[64 + 48..64 + 56].try_into().unwrap());
        let size = u64::from_le_bytes(bytes[64 + 32..64 + 40].try_into().unwrap());
        assert_eq!((size, mtim), (3, 0));
    }
}
