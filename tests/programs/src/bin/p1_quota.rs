//! A full filesystem says ENOSPC and loses nothing.
//!
//! Host contract: args `["p1_quota", BYTES, [INODES]]`: `/sandbox` is an empty
//! in-memory filesystem whose byte quota is BYTES (file contents plus the
//! filesystem's charges for names and inodes, a few hundred bytes per file)
//! and which holds (if given) at most INODES files and directories (its root
//! included); BYTES must be at least 40,000. Without INODES, the inode checks
//! are left out.
//! Stdout and stderr empty; exit code 0.

use std::io::Write;
use test_programs::{Check, ENOSPC};

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a number"))
        .collect();
    let bytes = args[0];

    // Fill the byte quota with one file, 1000 bytes at a time, until a write
    // does not fit: then less than 1000 bytes are left.
    let mut f = std::fs::File::create("/sandbox/more").check("create more");
    let mut big_file = std::fs::File::create("/sandbox/big").check("create big");
    let chunk = [7u8; 1000];
    let mut big = Vec::new();
    loop {
        match big_file.write_all(&chunk) {
            Ok(()) => big.extend_from_slice(&chunk),
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(ENOSPC), "{e}");
                break;
            }
        }
        assert!(big.len() as u64 <= bytes, "the byte quota is not enforced");
    }
    drop(big_file);
    assert!(
        big.len() as u64 > bytes - 10_000,
        "only {} of {bytes} bytes were usable",
        big.len()
    );
    // A second write that does not fit fails whole...
    let err = f.write_all(&[1u8; 2000]).expect_err("over the byte quota");
    assert_eq!(err.raw_os_error(), Some(ENOSPC), "{err}");
    drop(f);
    // ...writes nothing, and loses nothing that was there.
    assert_eq!(
        std::fs::metadata("/sandbox/more").check("stat more").len(),
        0
    );
    assert_eq!(std::fs::read("/sandbox/big").check("read big"), big);
    // Shrinking frees room again.
    std::fs::OpenOptions::new()
        .write(true)
        .open("/sandbox/big")
        .check("open big")
        .set_len(0)
        .check("truncate big");
    std::fs::write("/sandbox/more", [1u8; 2000]).check("write more after truncating");

    let Some(&inodes) = args.get(1) else {
        return;
    };
    // Inodes: root, big and more are used; make files until the quota says no.
    let mut made = 0;
    loop {
        match std::fs::write(format!("/sandbox/n{made}"), b"") {
            Ok(()) => made += 1,
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(ENOSPC), "{e}");
                break;
            }
        }
        assert!(
            made <= inodes,
            "the inode quota of {inodes} is not enforced"
        );
    }
    assert_eq!(made + 3, inodes, "every inode up to the quota is usable");
    assert!(std::fs::create_dir("/sandbox/dir").is_err());
    std::fs::remove_file("/sandbox/n0").check("remove n0");
    std::fs::create_dir("/sandbox/dir").check("mkdir after freeing an inode");
}
