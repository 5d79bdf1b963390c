//! `vasi pack`, `vasi inspect` and `vasi run` on bundles, as subprocesses.

use std::path::{Path, PathBuf};
use std::process::Output;
use test_programs_artifacts as programs;

mod common;
use common::{stderr, stdout, vasi};

#[track_caller]
fn ok(o: Output) -> Output {
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    o
}

/// Asserts that vasi failed with 125, one error line mentioning `what`, and
/// nothing on stdout (the guest did not run).
#[track_caller]
fn assert_refused(o: &Output, what: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(125), "stderr: {err}");
    assert_eq!(
        err.lines().count(),
        1,
        "one error line expected, got: {err}"
    );
    assert!(err.contains(what), "{err:?} should mention {what:?}");
    assert_eq!(stdout(o), "", "nothing may run");
}

/// A tree with files, a subdirectory and a symlink inside it.
fn tree(root: &Path) {
    std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
    std::fs::write(root.join("a.txt"), "first\n").unwrap();
    std::fs::write(root.join("sub/b.txt"), "second\n").unwrap();
    std::fs::write(root.join("sub/deeper/c.txt"), "third\n").unwrap();
    std::os::unix::fs::symlink("../a.txt", root.join("sub/link")).unwrap();
}

fn tarball(path: &Path) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    let mut h = tar::Header::new_gnu();
    h.set_size(6);
    h.set_mode(0o644);
    h.set_mtime(1_600_000_000);
    b.append_data(&mut h, "lib/motd", &b"hello\n"[..]).unwrap();
    b.finish().unwrap();
}

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    assets: PathBuf,
    tar: PathBuf,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let assets = dir.join("assets");
    tree(&assets);
    let tar = dir.join("lib.tar");
    tarball(&tar);
    Fixture {
        _tmp: tmp,
        dir,
        assets,
        tar,
    }
}

fn spec(p: &Path, guest: &str) -> String {
    format!("{}::{guest}", p.display())
}

#[test]
fn a_packed_tree_reads_the_same_as_the_unpacked_one() {
    let f = fixture();
    let bundle = f.dir.join("cat.bundle.wasm");
    ok(vasi(&[
        "pack",
        programs::P1_CAT,
        "--dir",
        &spec(&f.assets, "/assets:ro"),
        "--tar",
        &spec(&f.tar, "/usr"),
        "--arg",
        "/assets/a.txt",
        "-o",
        bundle.to_str().unwrap(),
    ]));
    let paths = [
        "/assets",
        "/assets/sub",
        "/assets/sub/link",
        "/assets/sub/deeper/c.txt",
        "/usr/lib/motd",
    ];
    let mut run = vec!["run", bundle.to_str().unwrap()];
    run.extend(paths);
    let packed = ok(vasi(&run));
    let assets = spec(&f.assets, "/assets");
    let usr = spec(&f.tar, "/usr");
    let mut run = vec![
        "run",
        "--dir",
        &assets,
        "--tar",
        &usr,
        programs::P1_CAT,
        "/assets/a.txt",
    ];
    run.extend(paths);
    let unpacked = ok(vasi(&run));
    assert_eq!(stdout(&packed), stdout(&unpacked));
    assert_eq!(
        stdout(&packed),
        "first\na.txt\nsub/\nb.txt\ndeeper/\nlink\nfirst\nthird\nhello\n"
    );
    // A read-only mount refuses writes, so p1_dirs (which writes) fails.
    let ro = f.dir.join("ro.bundle.wasm");
    let empty = f.dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    ok(vasi(&[
        "pack",
        programs::P1_DIRS,
        "--dir",
        &spec(&empty, "/sandbox:ro"),
        "-o",
        ro.to_str().unwrap(),
    ]));
    assert_ne!(vasi(&["run", ro.to_str().unwrap()]).status.code(), Some(0));
    // Copy-on-write (the default): the file and directory programs pass,
    // and the packed tree on the host is untouched.
    let cow = f.dir.join("cow.bundle.wasm");
    for program in [programs::P1_FILE_RW, programs::P1_DIRS, programs::P1_LINKS] {
        ok(vasi(&[
            "pack",
            program,
            "--dir",
            &spec(&empty, "/sandbox"),
            "-o",
            cow.to_str().unwrap(),
        ]));
        ok(vasi(&["run", cow.to_str().unwrap()]));
    }
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
}

#[test]
fn packing_twice_gives_the_same_bytes() {
    let f = fixture();
    let pack = |out: &Path| {
        ok(vasi(&[
            "pack",
            programs::P1_PRINT,
            "--dir",
            &spec(&f.assets, "/assets"),
            "--tar",
            &spec(&f.tar, "/usr:ro"),
            "--env",
            "K=V",
            "--arg",
            "x",
            "--argv0",
            "app",
            "--deterministic",
            "--seed",
            "3",
            "--global",
            "LIMIT=42",
            "--max-memory",
            "64M",
            "--max-open-files",
            "50",
            "--fuel",
            "100000000",
            "--timeout",
            "10s",
            "-o",
            out.to_str().unwrap(),
        ]));
        std::fs::read(out).unwrap()
    };
    let first = pack(&f.dir.join("1.wasm"));
    // Touch the inputs: times are not recorded, so nothing changes.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(f.assets.join("a.txt"), "first\n").unwrap();
    let second = pack(&f.dir.join("2.wasm"));
    assert!(first == second, "two packs of the same inputs differ");
    // --keep-times records them, so touching a file changes the bundle.
    let keep = |out: &Path| {
        ok(vasi(&[
            "pack",
            programs::P1_PRINT,
            "--dir",
            &spec(&f.assets, "/assets"),
            "--keep-times",
            "-o",
            out.to_str().unwrap(),
        ]));
        std::fs::read(out).unwrap()
    };
    let k1 = keep(&f.dir.join("k1.wasm"));
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(f.assets.join("a.txt"), "first\n").unwrap();
    assert!(k1 != keep(&f.dir.join("k2.wasm")));

    // inspect shows the mounts and the whole configuration.
    let o = ok(vasi(&[
        "inspect",
        "--files",
        f.dir.join("1.wasm").to_str().unwrap(),
    ]));
    let out = stdout(&o);
    for want in [
        "format: version 1",
        "/assets  copy-on-write  3 files, 3 directories, 1 symlinks, 19 bytes",
        "/usr  read-only  1 files, 2 directories, 0 symlinks, 6 bytes",
        "    sub/link -> ../a.txt",
        "    lib/motd  6 bytes",
        "argv0: \"app\"",
        "args: \"x\"",
        "env: K=\"V\"",
        "deterministic: seed 3",
        "global: LIMIT=42",
        "max-memory: 67108864 bytes",
        "max-open-files: 50",
        "fuel: 100000000",
        "timeout: 10s",
    ] {
        assert!(out.contains(want), "inspect should show {want:?}:\n{out}");
    }
    assert_refused(&vasi(&["inspect", programs::P1_PRINT]), "not a bundle");
}

#[test]
fn the_command_line_adds_to_the_bundle_or_overrides_it() {
    let f = fixture();
    let b = f.dir.join("print.bundle.wasm");
    ok(vasi(&[
        "pack",
        programs::P1_PRINT,
        "--env",
        "K=bundle",
        "--env",
        "ONLY=bundle",
        "--arg",
        "one",
        "--argv0",
        "packed",
        "-o",
        b.to_str().unwrap(),
    ]));
    let o = ok(vasi(&["run", b.to_str().unwrap()]));
    assert_eq!(
        stdout(&o),
        "arg: packed\narg: one\nenv: K=bundle\nenv: ONLY=bundle\n"
    );
    let o = ok(vasi(&[
        "run",
        "--env",
        "K=cli",
        "--env",
        "NEW=cli",
        "--argv0",
        "mine",
        b.to_str().unwrap(),
        "two",
    ]));
    assert_eq!(
        stdout(&o),
        "arg: mine\narg: one\narg: two\nenv: K=cli\nenv: ONLY=bundle\nenv: NEW=cli\n"
    );

    // A command-line mount at the bundle's mount path replaces it; others add.
    let cat = f.dir.join("cat.bundle.wasm");
    ok(vasi(&[
        "pack",
        programs::P1_CAT,
        "--tar",
        &spec(&f.tar, "/data"),
        "-o",
        cat.to_str().unwrap(),
    ]));
    let o = ok(vasi(&["run", cat.to_str().unwrap(), "/data"]));
    assert_eq!(stdout(&o), "lib/\n");
    let o = ok(vasi(&[
        "run",
        "--dir",
        &spec(&f.assets, "/data/"),
        cat.to_str().unwrap(),
        "/data/a.txt",
    ]));
    assert_eq!(stdout(&o), "first\n");
    let o = ok(vasi(&[
        "run",
        "--dir",
        &spec(&f.assets, "/more"),
        cat.to_str().unwrap(),
        "/data/lib/motd",
        "/more/a.txt",
    ]));
    assert_eq!(stdout(&o), "hello\nfirst\n");
}

#[test]
fn deterministic_mode_and_limits_come_from_the_bundle() {
    let f = fixture();
    let empty = f.dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let b = f.dir.join("limits.bundle.wasm");
    ok(vasi(&[
        "pack",
        programs::P1_LIMITS,
        "--deterministic",
        "--seed",
        "5",
        "--dir",
        &spec(&empty, "/sandbox"),
        "--max-memory",
        "32M",
        "-o",
        b.to_str().unwrap(),
    ]));
    let bundle = b.to_str().unwrap();
    for mode in ["timerand", "mtime"] {
        let packed = ok(vasi(&["run", bundle, mode]));
        let plain = ok(vasi(&[
            "run",
            "--deterministic",
            "--seed",
            "5",
            "--mem-dir",
            "/sandbox",
            programs::P1_LIMITS,
            mode,
        ]));
        assert_eq!(stdout(&packed), stdout(&plain), "{mode}");
    }
    // The command line's seed overrides the bundle's.
    let other = ok(vasi(&[
        "run",
        "--deterministic",
        "--seed",
        "6",
        bundle,
        "timerand",
    ]));
    assert_ne!(
        stdout(&other),
        stdout(&ok(vasi(&["run", bundle, "timerand"])))
    );
    // The bundle's memory cap holds, and the command line's replaces it.
    let o = vasi(&["run", bundle, "alloc"]);
    assert_eq!(o.status.code(), Some(121), "{}", stderr(&o));
    assert!(stderr(&o).contains("33554432"), "{}", stderr(&o));
    let o = vasi(&["run", "--max-memory", "48M", bundle, "alloc"]);
    assert!(stderr(&o).contains("50331648"), "{}", stderr(&o));
}

/// Replaces the one occurrence of `from` in `bytes` by `to` (same length).
fn patch(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let hits: Vec<usize> = (0..=bytes.len() - from.len())
        .filter(|&i| &bytes[i..i + from.len()] == from)
        .collect();
    assert_eq!(hits.len(), 1, "{from:?} occurs {} times", hits.len());
    let mut out = bytes.to_vec();
    out[hits[0]..hits[0] + to.len()].copy_from_slice(to);
    out
}

#[test]
fn bad_bundles_and_unsafe_inputs_are_refused_before_anything_runs() {
    let f = fixture();
    let good = f.dir.join("good.wasm");
    let zz = f.dir.join("zz");
    std::fs::create_dir_all(zz.join("zzzz")).unwrap();
    std::fs::write(zz.join("zzzz/f"), "x").unwrap();
    std::fs::create_dir_all(f.dir.join("other")).unwrap();
    ok(vasi(&[
        "pack",
        programs::P1_PRINT,
        "--dir",
        &spec(&zz, "/m1"),
        "--dir",
        &spec(&f.dir.join("other"), "/m2"),
        "-o",
        good.to_str().unwrap(),
    ]));
    let bytes = std::fs::read(&good).unwrap();
    let bad = f.dir.join("bad.wasm");
    let run_bad = |b: &[u8]| {
        std::fs::write(&bad, b).unwrap();
        vasi(&["run", bad.to_str().unwrap()])
    };
    assert_refused(&run_bad(&bytes[..bytes.len() - 3]), "truncated");
    assert_refused(
        &run_bad(&patch(&bytes, b"vasibndl\x01\0\0\0", b"vasibndl\x07\0\0\0")),
        "bundle format version 7 is not supported",
    );
    assert_refused(&run_bad(&patch(&bytes, b"zzzz", b"../x")), "unsafe bundle");
    assert_refused(
        &run_bad(&patch(&bytes, b"/m2", b"/m1")),
        "two images mount at /m1",
    );
    // inspect refuses them alike.
    std::fs::write(&bad, &bytes[..bytes.len() - 3]).unwrap();
    assert_refused(&vasi(&["inspect", bad.to_str().unwrap()]), "truncated");

    // Unsafe inputs to pack: a symlink out of the directory, tar entries
    // with `..` or an absolute path, two mounts at one path.
    let out = f.dir.join("out.wasm");
    let o = out.to_str().unwrap();
    let leaky = f.dir.join("leaky");
    std::fs::create_dir(&leaky).unwrap();
    std::os::unix::fs::symlink("../assets/a.txt", leaky.join("l")).unwrap();
    assert_refused(
        &vasi(&[
            "pack",
            programs::P1_PRINT,
            "--dir",
            &spec(&leaky, "/x"),
            "-o",
            o,
        ]),
        "points outside its mount",
    );
    for (name, why) in [(&b"../evil"[..], "`..`"), (&b"/etc/evil"[..], "absolute")] {
        let t = f.dir.join("evil.tar");
        let mut b = tar::Builder::new(std::fs::File::create(&t).unwrap());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_cksum();
        b.append(&h, &b"x"[..]).unwrap();
        b.finish().unwrap();
        drop(b);
        assert_refused(
            &vasi(&[
                "pack",
                programs::P1_PRINT,
                "--tar",
                &spec(&t, "/x"),
                "-o",
                o,
            ]),
            why,
        );
    }
    assert_refused(
        &vasi(&[
            "pack",
            programs::P1_PRINT,
            "--dir",
            &spec(&f.assets, "/x"),
            "--tar",
            &spec(&f.tar, "/x/"),
            "-o",
            o,
        ]),
        "two images would mount at /x",
    );
    assert!(!out.exists(), "a failed pack leaves no output");
    // Packing a bundle again is refused too.
    assert_refused(
        &vasi(&["pack", good.to_str().unwrap(), "-o", o]),
        "already a bundle",
    );
}
