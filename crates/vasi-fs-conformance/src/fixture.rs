//! The standard fixture tree every check starts from.
//!
//! ```text
//! hello.txt        "hello, world\n"
//! empty            ""
//! big.bin          100 KiB: byte i is i % 251
//! dir/nested.txt   "nested\n"
//! dir/sub/deep.txt "deep\n"
//! emptydir/
//! many/f000 .. many/f119   120 empty files
//! link-to-file  -> hello.txt      (with symlinks)
//! link-to-dir   -> dir            (with symlinks)
//! dangling      -> missing        (with symlinks)
//! loop          -> loop           (with symlinks)
//! hard.txt      hard link of hello.txt (with hard links)
//! ```
//!
//! Regular files and directories have the modification time [`MTIME`].

use crate::Capabilities;
use vasi::vfs::{Dir, Node, OpenOptions, SetTime};
use vasi::Errno;

/// The modification time of the fixture's files: 2020-09-13, in nanoseconds.
pub const MTIME: u64 = 1_600_000_000_000_000_000;
/// How many files `many/` holds.
pub const MANY: usize = 120;
/// The size of `big.bin`.
pub const BIG: usize = 100 * 1024;

/// The contents of `big.bin`.
pub fn big() -> Vec<u8> {
    (0..BIG).map(|i| (i % 251) as u8).collect()
}

fn sub(dir: &dyn Dir, name: &str) -> Result<std::sync::Arc<dyn Dir>, Errno> {
    match dir.open(name, &OpenOptions::lookup_dir())? {
        Node::Dir(d) => Ok(d),
        Node::File(_) => Err(Errno::Notdir),
    }
}

fn file(dir: &dyn Dir, name: &str, contents: &[u8]) -> Result<(), Errno> {
    let opts = OpenOptions {
        write: true,
        create_new: true,
        ..OpenOptions::default()
    };
    match dir.open(name, &opts)? {
        Node::File(f) => {
            f.write_at(contents, 0)?;
            Ok(())
        }
        Node::Dir(_) => Err(Errno::Isdir),
    }
}

/// Builds the fixture in the empty, writable directory `root`, through the
/// [`Dir`] trait; symlinks and hard links only as `caps` allows.
///
/// # Errors
/// Whatever the backend says when asked to build it.
pub fn populate(root: &dyn Dir, caps: Capabilities) -> Result<(), Errno> {
    let t = Some(SetTime::At(MTIME));
    file(root, "hello.txt", b"hello, world\n")?;
    file(root, "empty", b"")?;
    file(root, "big.bin", &big())?;
    root.create_dir("dir")?;
    let dir = sub(root, "dir")?;
    file(&*dir, "nested.txt", b"nested\n")?;
    dir.create_dir("sub")?;
    let subdir = sub(&*dir, "sub")?;
    file(&*subdir, "deep.txt", b"deep\n")?;
    root.create_dir("emptydir")?;
    root.create_dir("many")?;
    let many = sub(root, "many")?;
    for i in 0..MANY {
        file(&*many, &format!("f{i:03}"), b"")?;
    }
    if caps.symlinks {
        root.symlink("hello.txt", "link-to-file")?;
        root.symlink("dir", "link-to-dir")?;
        root.symlink("missing", "dangling")?;
        root.symlink("loop", "loop")?;
    }
    if caps.hard_links {
        root.hard_link("hello.txt", root, "hard.txt")?;
    }
    for name in ["hello.txt", "empty", "big.bin"] {
        root.set_times_at(name, t, t)?;
    }
    subdir.set_times_at("deep.txt", t, t)?;
    dir.set_times_at("sub", t, t)?;
    root.set_times_at("dir", t, t)?;
    Ok(())
}

/// The names at the fixture's root, sorted (without `.` and `..`).
pub fn root_names(caps: Capabilities) -> Vec<&'static str> {
    let mut names = vec!["big.bin", "dir", "empty", "emptydir", "hello.txt", "many"];
    if caps.symlinks {
        names.extend(["dangling", "link-to-dir", "link-to-file", "loop"]);
    }
    if caps.hard_links {
        names.push("hard.txt");
    }
    names.sort_unstable();
    names
}
