//! The checks, each a function over a fresh fixture.

use crate::env::{Env, ROOT};
use crate::fixture::{self, BIG, MANY, MTIME};
use crate::Capabilities;
use vasi::p1::abi::{filetype, fstflags, oflags, whence};
use vasi::Errno;

type Outcome = Result<(), String>;

/// What a check needs of the subject.
#[derive(Clone, Copy)]
pub(crate) struct Needs {
    writable: Option<bool>,
    symlinks: bool,
    hard_links: bool,
}

impl Needs {
    const NOTHING: Needs = Needs {
        writable: None,
        symlinks: false,
        hard_links: false,
    };
    const WRITABLE: Needs = Needs {
        writable: Some(true),
        ..Needs::NOTHING
    };
    const READ_ONLY: Needs = Needs {
        writable: Some(false),
        ..Needs::NOTHING
    };
    const SYMLINKS: Needs = Needs {
        symlinks: true,
        ..Needs::NOTHING
    };
    const WRITABLE_SYMLINKS: Needs = Needs {
        writable: Some(true),
        symlinks: true,
        hard_links: false,
    };
    const HARD_LINKS: Needs = Needs {
        hard_links: true,
        ..Needs::NOTHING
    };
    const WRITABLE_HARD_LINKS: Needs = Needs {
        writable: Some(true),
        symlinks: false,
        hard_links: true,
    };

    /// Why a subject with `caps` cannot run the check, if it cannot.
    pub(crate) fn missing(self, caps: Capabilities) -> Option<&'static str> {
        match self.writable {
            Some(true) if !caps.writable => return Some("the subject is read-only"),
            Some(false) if caps.writable => return Some("the subject is writable"),
            _ => {}
        }
        if self.symlinks && !caps.symlinks {
            return Some("the subject has no symlinks");
        }
        if self.hard_links && !caps.hard_links {
            return Some("the subject has no hard links");
        }
        None
    }
}

/// One named check.
pub(crate) struct Check {
    pub(crate) name: &'static str,
    pub(crate) needs: Needs,
    pub(crate) run: fn(&mut Env, Capabilities) -> Outcome,
}

macro_rules! ensure_eq {
    ($got:expr, $want:expr, $($what:tt)+) => {{
        let (got, want) = (&$got, &$want);
        if got != want {
            return Err(format!("{}: got {:?}, expected {:?}", format!($($what)+), got, want));
        }
    }};
}

macro_rules! ensure {
    ($cond:expr, $($what:tt)+) => {{
        if !$cond {
            return Err(format!($($what)+));
        }
    }};
}

/// `Ok` of a result, or the check fails naming `what`.
fn ok<T>(r: Result<T, Errno>, what: &str) -> Result<T, String> {
    r.map_err(|e| format!("{what}: {}", e.name()))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

pub(crate) const ALL: &[Check] = &[
    // --- reading -----------------------------------------------------------
    Check {
        name: "read_whole_files",
        needs: Needs::NOTHING,
        run: |env, _| {
            ensure_eq!(
                ok(env.read("hello.txt"), "read hello.txt")?,
                b"hello, world\n".to_vec(),
                "hello.txt"
            );
            ensure_eq!(
                ok(env.read("empty"), "read empty")?,
                Vec::<u8>::new(),
                "empty"
            );
            ensure!(
                ok(env.read("big.bin"), "read big.bin")? == fixture::big(),
                "big.bin contents differ"
            );
            ensure_eq!(
                ok(env.read("dir/sub/deep.txt"), "read deep")?,
                b"deep\n".to_vec(),
                "dir/sub/deep.txt"
            );
            Ok(())
        },
    },
    Check {
        name: "pread_and_seek",
        needs: Needs::NOTHING,
        run: |env, _| {
            let fd = ok(env.open_read("big.bin"), "open")?;
            let at = 70_000u64;
            let got = ok(env.pread(fd, 300, at), "pread")?;
            let want: Vec<u8> = (at as usize..at as usize + 300)
                .map(|i| (i % 251) as u8)
                .collect();
            ensure_eq!(got, want, "pread at {at}");
            ensure_eq!(
                ok(env.seek(fd, 0, whence::END), "seek end")?,
                BIG as u64,
                "end"
            );
            ensure_eq!(
                ok(env.pread(fd, 10, BIG as u64 + 5), "pread past end")?.len(),
                0,
                "past end"
            );
            ensure_eq!(
                env.seek(fd, -1, whence::SET),
                Err(Errno::Inval),
                "seek before start"
            );
            Ok(())
        },
    },
    Check {
        name: "stat_fields",
        needs: Needs::NOTHING,
        run: |env, _| {
            let st = ok(env.stat("hello.txt", false), "stat")?;
            ensure_eq!(st.filetype, filetype::REGULAR_FILE, "type");
            ensure_eq!(st.size, 13, "size");
            ensure!(st.nlink >= 1, "nlink {}", st.nlink);
            ensure_eq!(st.mtim, MTIME, "mtime");
            let big = ok(env.stat("big.bin", false), "stat big")?;
            ensure_eq!(big.size, BIG as u64, "big size");
            let d = ok(env.stat("dir", false), "stat dir")?;
            ensure_eq!(d.filetype, filetype::DIRECTORY, "dir type");
            ensure_eq!(d.mtim, MTIME, "dir mtime");
            let fd = ok(env.open_read("dir/sub/deep.txt"), "open")?;
            let f = ok(env.fstat(fd), "fstat")?;
            ensure_eq!((f.size, f.mtim), (5, MTIME), "fd_filestat_get");
            Ok(())
        },
    },
    Check {
        name: "open_errors",
        needs: Needs::NOTHING,
        run: |env, _| {
            ensure_eq!(env.open_read("missing"), Err(Errno::Noent), "missing");
            ensure_eq!(
                env.open(ROOT, "hello.txt", oflags::DIRECTORY, false),
                Err(Errno::Notdir),
                "O_DIRECTORY on a file"
            );
            ensure_eq!(
                env.open_read("hello.txt/"),
                Err(Errno::Notdir),
                "trailing slash on a file"
            );
            ensure_eq!(
                env.open_read("hello.txt/x"),
                Err(Errno::Notdir),
                "file as a directory"
            );
            ensure_eq!(
                env.stat("dir/missing/x", false),
                Err(Errno::Noent),
                "missing parent"
            );
            ok(env.open(ROOT, "dir/", oflags::DIRECTORY, false), "dir/")?;
            ok(env.open(ROOT, ".", oflags::DIRECTORY, false), ".")?;
            Ok(())
        },
    },
    Check {
        name: "readdir_root",
        needs: Needs::NOTHING,
        run: |env, caps| {
            let names = sorted(ok(env.list(".", 4096), "list")?);
            let mut want: Vec<String> = fixture::root_names(caps)
                .iter()
                .map(|s| s.to_string())
                .collect();
            want.extend([".".to_string(), "..".to_string()]);
            ensure_eq!(names, sorted(want), "root listing");
            Ok(())
        },
    },
    Check {
        name: "readdir_types",
        needs: Needs::NOTHING,
        run: |env, caps| {
            let fd = ok(env.open(ROOT, ".", oflags::DIRECTORY, false), "open")?;
            let (page, _) = ok(env.readdir_page(fd, 0, 4096), "readdir")?;
            for (name, kind, _) in &page {
                let want = match name.as_str() {
                    "." | ".." | "dir" | "emptydir" | "many" => filetype::DIRECTORY,
                    "link-to-file" | "link-to-dir" | "dangling" | "loop" => filetype::SYMBOLIC_LINK,
                    _ => filetype::REGULAR_FILE,
                };
                ensure_eq!(*kind, want, "type of {name}");
            }
            ensure_eq!(
                page.len(),
                fixture::root_names(caps).len() + 2,
                "entries in one page"
            );
            Ok(())
        },
    },
    Check {
        name: "readdir_small_buffers",
        needs: Needs::NOTHING,
        run: |env, _| {
            for buf in [40, 57, 100, 333] {
                let names = ok(env.list("many", buf), "list")?;
                ensure_eq!(names.len(), MANY + 2, "entries with a {buf}-byte buffer");
                let mut unique = sorted(names);
                unique.dedup();
                ensure_eq!(
                    unique.len(),
                    MANY + 2,
                    "distinct entries with a {buf}-byte buffer"
                );
            }
            ensure_eq!(
                sorted(ok(env.list("emptydir", 64), "list empty")?),
                vec![".".to_string(), "..".to_string()],
                "empty dir"
            );
            Ok(())
        },
    },
    Check {
        name: "readdir_cookies_resume",
        needs: Needs::NOTHING,
        run: |env, _| {
            // Every entry's cookie, used on a fresh fd, resumes just after it.
            let fd = ok(env.open(ROOT, "many", oflags::DIRECTORY, false), "open")?;
            let (all, _) = ok(env.readdir_page(fd, 0, 8192), "readdir")?;
            ensure_eq!(all.len(), MANY + 2, "one page");
            for (i, (_, _, next)) in all.iter().enumerate().step_by(17) {
                let fd2 = ok(env.open(ROOT, "many", oflags::DIRECTORY, false), "open")?;
                let (rest, _) = ok(env.readdir_page(fd2, *next, 8192), "resume")?;
                let want: Vec<&String> = all[i + 1..].iter().map(|e| &e.0).collect();
                let got: Vec<&String> = rest.iter().map(|e| &e.0).collect();
                ensure_eq!(got, want, "resuming after entry {i}");
                ok(env.close(fd2), "close")?;
            }
            Ok(())
        },
    },
    Check {
        name: "escapes_are_refused",
        needs: Needs::NOTHING,
        run: |env, _| {
            for path in [
                "..",
                "../x",
                "dir/../..",
                "dir/sub/../../../x",
                "/",
                "/etc/passwd",
                "./..",
            ] {
                ensure_eq!(env.stat(path, true), Err(Errno::Perm), "stat {path}");
                ensure_eq!(env.open_read(path), Err(Errno::Perm), "open {path}");
            }
            let dir = ok(env.open(ROOT, "dir", oflags::DIRECTORY, false), "open dir")?;
            ensure_eq!(
                env.open(dir, "..", oflags::DIRECTORY, false),
                Err(Errno::Perm),
                "dir fd .."
            );
            ensure_eq!(
                env.open(dir, "sub/../../hello.txt", 0, false),
                Err(Errno::Perm),
                "dir fd climbing"
            );
            ok(
                env.open(dir, "sub/..", oflags::DIRECTORY, false),
                "sub/.. stays inside",
            )?;
            Ok(())
        },
    },
    Check {
        name: "symlinks_followed",
        needs: Needs::SYMLINKS,
        run: |env, _| {
            ensure_eq!(
                ok(env.read("link-to-file"), "read via link")?,
                b"hello, world\n".to_vec(),
                "link-to-file"
            );
            ensure_eq!(
                ok(env.read("link-to-dir/nested.txt"), "read via dir link")?,
                b"nested\n".to_vec(),
                "link-to-dir"
            );
            ensure_eq!(
                ok(env.stat("link-to-file", false), "lstat")?.filetype,
                filetype::SYMBOLIC_LINK,
                "lstat type"
            );
            ensure_eq!(
                ok(env.stat("link-to-dir/", false), "stat dir/")?.filetype,
                filetype::DIRECTORY,
                "trailing slash follows"
            );
            ensure_eq!(
                env.stat("link-to-file/", false),
                Err(Errno::Notdir),
                "file link with slash"
            );
            ensure_eq!(
                ok(env.readlink("link-to-dir"), "readlink")?,
                "dir",
                "readlink"
            );
            ensure_eq!(
                env.readlink("hello.txt"),
                Err(Errno::Inval),
                "readlink of a file"
            );
            Ok(())
        },
    },
    Check {
        name: "symlink_errors",
        needs: Needs::SYMLINKS,
        run: |env, _| {
            ensure_eq!(
                env.open(ROOT, "link-to-file", 0, false),
                Err(Errno::Loop),
                "open without follow"
            );
            ensure_eq!(env.open_read("loop"), Err(Errno::Loop), "a loop");
            ensure_eq!(
                env.stat("loop/x", false),
                Err(Errno::Loop),
                "a loop mid-path"
            );
            ensure_eq!(env.open_read("dangling"), Err(Errno::Noent), "dangling");
            ensure_eq!(
                ok(env.stat("dangling", false), "lstat dangling")?.filetype,
                filetype::SYMBOLIC_LINK,
                "dangling lstat"
            );
            Ok(())
        },
    },
    Check {
        name: "hard_links_counted",
        needs: Needs::HARD_LINKS,
        run: |env, _| {
            ensure_eq!(
                ok(env.stat("hard.txt", false), "stat")?.nlink,
                2,
                "nlink of a linked file"
            );
            ensure_eq!(
                ok(env.read("hard.txt"), "read")?,
                b"hello, world\n".to_vec(),
                "contents"
            );
            Ok(())
        },
    },
    // --- changing ----------------------------------------------------------
    Check {
        name: "open_flags",
        needs: Needs::WRITABLE,
        run: |env, _| {
            let fd = ok(
                env.open(ROOT, "new", oflags::CREAT | oflags::EXCL, false),
                "creat|excl",
            )?;
            ok(env.close(fd), "close")?;
            ensure_eq!(
                env.open(ROOT, "new", oflags::CREAT | oflags::EXCL, false),
                Err(Errno::Exist),
                "excl again"
            );
            ensure_eq!(
                env.open(ROOT, "dir", oflags::CREAT | oflags::EXCL, false),
                Err(Errno::Exist),
                "excl on a dir"
            );
            let fd = ok(env.open(ROOT, "hello.txt", oflags::TRUNC, false), "trunc")?;
            ensure_eq!(ok(env.fstat(fd), "fstat")?.size, 0, "truncated size");
            ensure_eq!(
                env.open(ROOT, "dir", 0, false),
                Err(Errno::Isdir),
                "a dir opened for writing"
            );
            ensure_eq!(
                env.open(ROOT, "dir", oflags::CREAT | oflags::DIRECTORY, false),
                Err(Errno::Inval),
                "creat|directory"
            );
            ensure_eq!(
                env.open(ROOT, "new-dir/", oflags::CREAT, false),
                Err(Errno::Isdir),
                "creat with a slash"
            );
            Ok(())
        },
    },
    Check {
        name: "append_writes_at_the_end",
        needs: Needs::WRITABLE,
        run: |env, _| {
            let fd = ok(
                env.open_flags(ROOT, "hello.txt", 0, false, Env::append_flag()),
                "open append",
            )?;
            ok(env.seek(fd, 0, whence::SET), "seek")?;
            ok(env.write(fd, b"more\n"), "write")?;
            ensure_eq!(
                ok(env.read("hello.txt"), "read")?,
                b"hello, world\nmore\n".to_vec(),
                "appended"
            );
            ensure_eq!(
                ok(env.seek(fd, 0, whence::CUR), "tell")?,
                18,
                "position after append"
            );
            Ok(())
        },
    },
    Check {
        name: "sparse_writes_and_sizes",
        needs: Needs::WRITABLE,
        run: |env, _| {
            let fd = ok(env.open(ROOT, "sparse", oflags::CREAT, false), "create")?;
            ok(env.seek(fd, 10_000, whence::SET), "seek")?;
            ok(env.write(fd, b"end"), "write")?;
            let data = ok(env.read("sparse"), "read")?;
            ensure_eq!(data.len(), 10_003, "size");
            ensure!(
                data[..10_000].iter().all(|&b| b == 0),
                "the gap is not zeros"
            );
            ok(env.set_size(fd, 5), "shrink")?;
            ok(env.set_size(fd, 8), "extend")?;
            ensure_eq!(
                ok(env.read("sparse"), "read")?,
                vec![0; 8],
                "shrunk then extended"
            );
            Ok(())
        },
    },
    Check {
        name: "set_times",
        needs: Needs::WRITABLE,
        run: |env, _| {
            ok(
                env.set_times(
                    "hello.txt",
                    111,
                    222_000_000_000,
                    fstflags::ATIM | fstflags::MTIM,
                ),
                "set",
            )?;
            let st = ok(env.stat("hello.txt", false), "stat")?;
            ensure_eq!((st.atim, st.mtim), (111, 222_000_000_000), "explicit times");
            ok(env.set_times("dir", 0, 5_000, fstflags::MTIM), "set dir")?;
            ensure_eq!(
                ok(env.stat("dir", false), "stat dir")?.mtim,
                5_000,
                "dir mtime"
            );
            let before = env.now();
            ok(
                env.set_times("hello.txt", 0, 0, fstflags::MTIM_NOW),
                "set now",
            )?;
            let st = ok(env.stat("hello.txt", false), "stat")?;
            ensure!(
                st.mtim + 2_000_000_000 >= before && st.mtim <= env.now() + 2_000_000_000,
                "mtime now: {} vs {before}",
                st.mtim
            );
            ensure_eq!(st.atim, 111, "atime untouched");
            ensure_eq!(
                env.set_times("hello.txt", 0, 0, fstflags::ATIM | fstflags::ATIM_NOW),
                Err(Errno::Inval),
                "conflicting flags"
            );
            Ok(())
        },
    },
    Check {
        name: "create_and_remove_dirs",
        needs: Needs::WRITABLE,
        run: |env, _| {
            ok(env.mkdir("made"), "mkdir")?;
            ensure_eq!(env.mkdir("made"), Err(Errno::Exist), "mkdir again");
            ensure_eq!(
                env.mkdir("hello.txt"),
                Err(Errno::Exist),
                "mkdir over a file"
            );
            ok(env.mkdir("made/inner/"), "mkdir with a slash")?;
            ensure_eq!(env.rmdir("made"), Err(Errno::Notempty), "rmdir non-empty");
            ensure_eq!(env.rmdir("hello.txt"), Err(Errno::Notdir), "rmdir a file");
            ensure_eq!(env.rmdir("."), Err(Errno::Inval), "rmdir .");
            ok(env.rmdir("made/inner"), "rmdir inner")?;
            ok(env.rmdir("made"), "rmdir")?;
            ensure_eq!(env.stat("made", false), Err(Errno::Noent), "gone");
            Ok(())
        },
    },
    Check {
        name: "unlink",
        needs: Needs::WRITABLE,
        run: |env, _| {
            ensure_eq!(env.unlink("dir"), Err(Errno::Isdir), "unlink a dir");
            ensure_eq!(
                env.unlink("hello.txt/"),
                Err(Errno::Notdir),
                "unlink with a slash"
            );
            ensure_eq!(env.unlink("missing"), Err(Errno::Noent), "unlink missing");
            let fd = ok(env.open_read("hello.txt"), "open")?;
            ok(env.unlink("hello.txt"), "unlink")?;
            ensure_eq!(env.stat("hello.txt", false), Err(Errno::Noent), "gone");
            ensure_eq!(
                ok(env.read_all(fd), "read after unlink")?,
                b"hello, world\n".to_vec(),
                "open fd still reads"
            );
            Ok(())
        },
    },
    Check {
        name: "rename_rules",
        needs: Needs::WRITABLE,
        run: |env, _| {
            ok(env.rename("hello.txt", "renamed.txt"), "rename file")?;
            ensure_eq!(
                ok(env.read("renamed.txt"), "read")?,
                b"hello, world\n".to_vec(),
                "moved contents"
            );
            ensure_eq!(env.stat("hello.txt", false), Err(Errno::Noent), "old name");
            ok(env.rename("renamed.txt", "empty"), "over a file")?;
            ensure_eq!(
                ok(env.read("empty"), "read")?,
                b"hello, world\n".to_vec(),
                "replaced"
            );
            ok(env.rename("dir", "moved"), "rename dir")?;
            ensure_eq!(
                ok(env.read("moved/sub/deep.txt"), "read")?,
                b"deep\n".to_vec(),
                "moved tree"
            );
            ensure_eq!(
                env.rename("moved", "moved/sub/inside"),
                Err(Errno::Inval),
                "into itself"
            );
            ensure_eq!(
                env.rename("emptydir", "moved"),
                Err(Errno::Notempty),
                "over a non-empty dir"
            );
            ok(env.rename("moved", "emptydir"), "over an empty dir")?;
            ensure_eq!(
                env.rename("big.bin", "emptydir"),
                Err(Errno::Isdir),
                "file over dir"
            );
            ensure_eq!(
                env.rename("emptydir", "big.bin"),
                Err(Errno::Notdir),
                "dir over file"
            );
            ensure_eq!(env.rename("missing", "x"), Err(Errno::Noent), "missing");
            ensure_eq!(
                env.rename("big.bin", "../x"),
                Err(Errno::Perm),
                "out of the root"
            );
            Ok(())
        },
    },
    Check {
        name: "readdir_survives_unlink",
        needs: Needs::WRITABLE,
        run: |env, _| {
            let fd = ok(env.open(ROOT, "many", oflags::DIRECTORY, false), "open")?;
            let (first, _) = ok(env.readdir_page(fd, 0, 400), "first page")?;
            ensure!(
                first.len() > 4 && first.len() < MANY,
                "a partial first page"
            );
            let mut seen: Vec<String> = first.iter().map(|e| e.0.clone()).collect();
            // Remove an entry already listed, then go on from the last cookie.
            let gone = seen
                .iter()
                .find(|n| n.starts_with('f'))
                .cloned()
                .unwrap_or_default();
            ok(env.unlink(&format!("many/{gone}")), "unlink")?;
            let mut cookie = first.last().map(|e| e.2).unwrap_or(0);
            loop {
                let (page, full) = ok(env.readdir_page(fd, cookie, 400), "page")?;
                if let Some(last) = page.last() {
                    cookie = last.2;
                }
                seen.extend(page.into_iter().map(|e| e.0));
                if !full {
                    break;
                }
            }
            let total = seen.len();
            seen.sort();
            seen.dedup();
            ensure_eq!(seen.len(), total, "no name listed twice");
            ensure_eq!(total, MANY + 2, "no remaining name skipped");
            Ok(())
        },
    },
    Check {
        name: "long_names",
        needs: Needs::WRITABLE,
        run: |env, _| {
            let long = "n".repeat(256);
            ensure_eq!(
                env.open(ROOT, &long, oflags::CREAT, false),
                Err(Errno::Nametoolong),
                "create"
            );
            ensure_eq!(env.mkdir(&long), Err(Errno::Nametoolong), "mkdir");
            let ok_name = "n".repeat(255);
            ok(env.create(&ok_name, b"x"), "a 255-byte name")?;
            Ok(())
        },
    },
    Check {
        name: "make_symlinks",
        needs: Needs::WRITABLE_SYMLINKS,
        run: |env, _| {
            ok(env.symlink("dir/nested.txt", "made-link"), "symlink")?;
            ensure_eq!(
                ok(env.read("made-link"), "read")?,
                b"nested\n".to_vec(),
                "through it"
            );
            ensure_eq!(
                env.symlink("x", "hello.txt"),
                Err(Errno::Exist),
                "over a file"
            );
            ensure_eq!(
                env.symlink("/etc/passwd", "abs"),
                Err(Errno::Perm),
                "absolute target"
            );
            ok(
                env.symlink("../../..", "up"),
                "relative target climbing out",
            )?;
            ensure_eq!(env.open_read("up"), Err(Errno::Perm), "following it out");
            ok(env.unlink("made-link"), "unlink a link")?;
            ensure_eq!(
                ok(env.read("dir/nested.txt"), "target")?,
                b"nested\n".to_vec(),
                "target kept"
            );
            Ok(())
        },
    },
    Check {
        name: "make_hard_links",
        needs: Needs::WRITABLE_HARD_LINKS,
        run: |env, _| {
            ok(env.link("dir/nested.txt", "second"), "link")?;
            ensure_eq!(ok(env.stat("second", false), "stat")?.nlink, 2, "nlink");
            let fd = ok(env.open(ROOT, "second", 0, false), "open")?;
            ok(env.write(fd, b"NESTED"), "write")?;
            ensure_eq!(
                ok(env.read("dir/nested.txt"), "read")?,
                b"NESTED\n".to_vec(),
                "shared contents"
            );
            ensure_eq!(env.link("dir", "dirlink"), Err(Errno::Perm), "a dir");
            ensure_eq!(
                env.link("hello.txt", "empty"),
                Err(Errno::Exist),
                "over a file"
            );
            Ok(())
        },
    },
    // --- read-only ---------------------------------------------------------
    Check {
        name: "read_only_refuses_changes",
        needs: Needs::READ_ONLY,
        run: |env, _| {
            ensure_eq!(
                env.open(ROOT, "hello.txt", 0, false),
                Err(Errno::Rofs),
                "open for writing"
            );
            ensure_eq!(
                env.open(ROOT, "new", oflags::CREAT, false),
                Err(Errno::Rofs),
                "create"
            );
            ensure_eq!(env.mkdir("new"), Err(Errno::Rofs), "mkdir");
            ensure_eq!(env.unlink("hello.txt"), Err(Errno::Rofs), "unlink");
            ensure_eq!(env.rmdir("emptydir"), Err(Errno::Rofs), "rmdir");
            ensure_eq!(env.rename("hello.txt", "x"), Err(Errno::Rofs), "rename");
            ensure_eq!(
                env.set_times("hello.txt", 0, 1, fstflags::MTIM),
                Err(Errno::Rofs),
                "set times"
            );
            ensure_eq!(env.symlink("hello.txt", "l"), Err(Errno::Rofs), "symlink");
            ensure_eq!(env.link("hello.txt", "l"), Err(Errno::Rofs), "link");
            ensure_eq!(
                ok(env.read("hello.txt"), "read")?,
                b"hello, world\n".to_vec(),
                "unchanged"
            );
            Ok(())
        },
    },
];
