//! Bundles: packing, reading in place, running on wasmtime, and hostile input.

use std::sync::Arc;
use std::time::Duration;
use vasi::vfs::{Dir, FileType, Node, OpenOptions};
use vasi::{CaptureBuffer, Errno, WasiCtx, WasiCtxBuilder};
use vasi_bundle::{Bundle, BundleBuilder, BundleError, Config, ImageBuilder, MountMode, PackError};
use wasmtime::{Engine, Linker, Module, Store};

const EMPTY_MODULE: &[u8] = b"\0asm\x01\0\0\0";

fn sample_image() -> ImageBuilder {
    let mut img = ImageBuilder::new();
    img.add_file("b/two.txt", b"second\n".to_vec(), 7).unwrap();
    img.add_file("a.txt", b"first\n".to_vec(), 5).unwrap();
    img.add_dir("empty", 3).unwrap();
    img.add_symlink("b/link", "../a.txt", 0).unwrap();
    img.add_hard_link("b/hard", "a.txt").unwrap();
    img
}

fn sample_config() -> Config {
    let mut c = Config::default();
    c.argv0 = Some("app".into());
    c.args = vec!["x".into(), "y z".into()];
    c.env = vec![("K".into(), "V".into()), ("EMPTY".into(), String::new())];
    c.deterministic = Some(7);
    c.globals = vec![("LIMIT".into(), 42)];
    c.max_memory = Some(64 << 20);
    c.max_open_files = Some(100);
    c.timeout = Some(Duration::from_millis(1500));
    c.fuel = Some(1_000_000);
    c
}

fn pack(module: &[u8], config: Config, mounts: Vec<(&str, MountMode, ImageBuilder)>) -> Vec<u8> {
    let mut b = BundleBuilder::new(config);
    for (path, mode, img) in mounts {
        b.mount(path, mode, img).unwrap();
    }
    let mut out = Vec::new();
    b.write(module, &mut out).unwrap();
    out
}

fn sample_bundle() -> Vec<u8> {
    pack(
        EMPTY_MODULE,
        sample_config(),
        vec![
            ("/data", MountMode::ReadOnly, sample_image()),
            ("/scratch/", MountMode::CopyOnWrite, sample_image()),
        ],
    )
}

fn open_dir(d: &Arc<dyn Dir>, name: &str) -> Arc<dyn Dir> {
    match d.open(name, &OpenOptions::lookup_dir()).unwrap() {
        Node::Dir(d) => d,
        Node::File(_) => panic!("{name} is a file"),
    }
}

fn read(d: &Arc<dyn Dir>, name: &str) -> Vec<u8> {
    let opts = OpenOptions {
        read: true,
        ..OpenOptions::default()
    };
    let Node::File(f) = d.open(name, &opts).unwrap() else {
        panic!("{name} is a directory");
    };
    let mut buf = vec![0; f.stat().unwrap().size as usize + 4];
    let n = f.read_at(&mut buf, 0).unwrap();
    buf.truncate(n);
    buf
}

fn names(d: &Arc<dyn Dir>) -> Vec<(String, FileType)> {
    let mut it = d.entries(0).unwrap();
    let mut out = Vec::new();
    while let Some(e) = it.next_entry() {
        let e = e.unwrap();
        out.push((e.name, e.filetype));
    }
    out
}

#[test]
fn config_and_images_round_trip() {
    let bundle = Bundle::parse(sample_bundle()).unwrap();
    assert_eq!(bundle.config(), &sample_config());
    let mounts = bundle.mounts();
    assert_eq!(mounts.len(), 2);
    assert_eq!(mounts[0].guest_path(), "/data");
    assert_eq!(mounts[0].mode(), MountMode::ReadOnly);
    assert_eq!(mounts[1].guest_path(), "/scratch");
    assert_eq!(mounts[1].mode(), MountMode::CopyOnWrite);
    let stats = mounts[0].image().stats();
    assert_eq!((stats.files, stats.dirs, stats.symlinks), (2, 3, 1));
    assert_eq!(stats.bytes, 13);
    assert_eq!(bundle.module_size(), EMPTY_MODULE.len());

    let root = mounts[0].image().root();
    assert_eq!(
        names(&root),
        [
            ("a.txt".to_string(), FileType::RegularFile),
            ("b".to_string(), FileType::Directory),
            ("empty".to_string(), FileType::Directory),
        ]
    );
    assert_eq!(read(&root, "a.txt"), b"first\n");
    let b = open_dir(&root, "b");
    assert_eq!(read(&b, "two.txt"), b"second\n");
    assert_eq!(read(&b, "hard"), b"first\n");
    assert_eq!(b.read_link("link").unwrap(), "../a.txt");
    assert_eq!(b.read_link("two.txt"), Err(Errno::Inval));
    let st = root.stat_at("a.txt").unwrap();
    assert_eq!((st.nlink, st.size, st.mtim), (2, 6, 5));
    assert_eq!(st.ino, b.stat_at("hard").unwrap().ino);
    assert_eq!(root.stat_at("nope"), Err(Errno::Noent));
    // A read past the end, and a read in the middle.
    let opts = OpenOptions {
        read: true,
        ..OpenOptions::default()
    };
    let Node::File(f) = b.open("two.txt", &opts).unwrap() else {
        panic!()
    };
    let mut buf = [0u8; 3];
    assert_eq!(f.read_at(&mut buf, 2).unwrap(), 3);
    assert_eq!(&buf, b"con");
    assert_eq!(f.read_at(&mut buf, 100).unwrap(), 0);
    // Read-only: every change is refused.
    assert_eq!(root.unlink("a.txt"), Err(Errno::Rofs));
    assert_eq!(root.create_dir("new"), Err(Errno::Rofs));
    let w = OpenOptions {
        write: true,
        ..OpenOptions::default()
    };
    assert_eq!(root.open("a.txt", &w).err(), Some(Errno::Rofs));
    assert_eq!(b.open("link", &opts).err(), Some(Errno::Loop));
    // Copy-on-write: changes stay in memory, the image is untouched.
    let cow = mounts[1].dir();
    let Node::File(f) = cow.open("a.txt", &w).unwrap() else {
        panic!()
    };
    f.write_at(b"FIRST", 0).unwrap();
    assert_eq!(read(&cow, "a.txt"), b"FIRST\n");
    assert_eq!(read(&mounts[1].image().root(), "a.txt"), b"first\n");
    assert_eq!(read(&mounts[1].dir(), "a.txt"), b"first\n");
}

#[test]
fn packing_is_deterministic_whatever_the_order() {
    let a = sample_bundle();
    let b = sample_bundle();
    assert_eq!(a, b);
    // The same tree built in another order gives the same bytes.
    let mut img = ImageBuilder::new();
    img.add_symlink("b/link", "../a.txt", 0).unwrap();
    img.add_dir("empty", 3).unwrap();
    img.add_file("a.txt", b"first\n".to_vec(), 5).unwrap();
    img.add_hard_link("b/hard", "a.txt").unwrap();
    img.add_file("b/two.txt", b"second\n".to_vec(), 7).unwrap();
    let c = pack(
        EMPTY_MODULE,
        sample_config(),
        vec![
            ("/data", MountMode::ReadOnly, img),
            ("/scratch", MountMode::CopyOnWrite, sample_image()),
        ],
    );
    assert_eq!(a, c);
}

#[test]
fn a_host_directory_packs_twice_to_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..50 {
        let dir = tmp.path().join(format!("d{}", i % 7));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("f{i}")), format!("file {i}\n")).unwrap();
    }
    let image = || {
        let mut img = ImageBuilder::new();
        img.add_host_dir(tmp.path()).unwrap();
        img
    };
    let first = pack(
        EMPTY_MODULE,
        Config::default(),
        vec![("/t", MountMode::ReadOnly, image())],
    );
    // Touch every file: times are not kept by default, so nothing changes.
    std::thread::sleep(Duration::from_millis(20));
    for i in 0..50 {
        let f = tmp.path().join(format!("d{}/f{i}", i % 7));
        std::fs::write(&f, format!("file {i}\n")).unwrap();
    }
    let second = pack(
        EMPTY_MODULE,
        Config::default(),
        vec![("/t", MountMode::ReadOnly, image())],
    );
    assert_eq!(first, second);
    let bundle = Bundle::parse(first).unwrap();
    assert_eq!(bundle.mounts()[0].image().stats().files, 50);
    // With times kept, the image records them.
    let mut img = ImageBuilder::new();
    img.keep_times(true).add_host_dir(tmp.path()).unwrap();
    let kept = pack(
        EMPTY_MODULE,
        Config::default(),
        vec![("/t", MountMode::ReadOnly, img)],
    );
    let bundle = Bundle::parse(kept).unwrap();
    let root = bundle.mounts()[0].image().root();
    assert_ne!(root.stat_at("d0").unwrap().mtim, 0);
}

#[test]
fn a_bundle_is_still_a_plain_valid_module() {
    let module = std::fs::read(test_programs_artifacts::P1_CAT).unwrap();
    let bytes = pack(
        &module,
        sample_config(),
        vec![("/data", MountMode::ReadOnly, sample_image())],
    );
    assert!(bytes.len() > module.len());
    assert_eq!(&bytes[..module.len()], &module[..]);
    wasmparser::Validator::new()
        .validate_all(&bytes)
        .expect("wasmparser validates the bundle");
    Module::validate(&Engine::default(), &bytes).expect("wasmtime validates the bundle");
    // And wasmparser sees exactly one custom section of ours.
    let mut ours = 0;
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        if let wasmparser::Payload::CustomSection(c) = payload.unwrap() {
            if c.name() == vasi_bundle::SECTION_NAME {
                ours += 1;
            }
        }
    }
    assert_eq!(ours, 1);
}

/// Runs `wasm` (a bundle or not) on wasmtime with `ctx`; returns the exit
/// code and stdout.
fn run_on_wasmtime(wasm: &[u8], mut b: WasiCtxBuilder) -> (i32, String) {
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    vasi_wasmtime::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx).unwrap();
    let out = CaptureBuffer::new();
    let ctx = b.stdout(out.clone()).build().unwrap();
    let mut store = Store::new(&engine, ctx);
    let module = Module::new(&engine, wasm).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    let code = vasi_wasmtime::exit_code(start.call(&mut store, ())).unwrap();
    (code, out.to_string_lossy())
}

#[test]
fn a_guest_reads_a_packed_image_through_the_rust_api() {
    let module = std::fs::read(test_programs_artifacts::P1_CAT).unwrap();
    let mut config = Config::default();
    config.args = vec![
        "/data/a.txt".into(),
        "/data/b".into(),
        "/data/b/link".into(),
    ];
    let bytes = pack(
        &module,
        config,
        vec![("/data", MountMode::ReadOnly, sample_image())],
    );
    let bundle = Bundle::parse(bytes).unwrap();
    let mut b = WasiCtxBuilder::new();
    bundle.apply(&mut b);
    // Arguments given after `apply` add to the bundle's.
    b.arg("/data/empty");
    let (code, out) = run_on_wasmtime(bundle.module(), b);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "first\nhard\nlink\ntwo.txt\nfirst\n");

    // The same tree as a MemFs, unpacked, gives the same output.
    let fs = vasi::vfs::MemFs::new();
    fs.write("a.txt", b"first\n").unwrap();
    fs.write("b/two.txt", b"second\n").unwrap();
    fs.write("b/hard", b"first\n").unwrap();
    fs.create_dir_all("empty").unwrap();
    let b_dir = open_dir(&fs.root(), "b");
    b_dir.symlink("../a.txt", "link").unwrap();
    let mut b = WasiCtxBuilder::new();
    b.args([
        "p1_cat",
        "/data/a.txt",
        "/data/b",
        "/data/b/link",
        "/data/empty",
    ]);
    b.preopen_dir(fs.root(), "/data");
    assert_eq!(run_on_wasmtime(&module, b), (code, out));
}

#[test]
fn a_guest_writes_a_copy_on_write_image_in_memory_only() {
    // p1_file_rw creates, writes, reads back and removes files in an empty
    // `/sandbox`, and checks every answer.
    let module = std::fs::read(test_programs_artifacts::P1_FILE_RW).unwrap();
    let bytes = pack(
        &module,
        Config::default(),
        vec![("/sandbox", MountMode::CopyOnWrite, ImageBuilder::new())],
    );
    let bundle = Bundle::parse(bytes).unwrap();
    let mut b = WasiCtxBuilder::new();
    bundle.apply(&mut b);
    let (code, out) = run_on_wasmtime(bundle.module(), b);
    assert_eq!(code, 0, "{out}");
}

/// Replaces the one occurrence of `from` in `bytes` by `to` (same length).
fn patch(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let hits: Vec<usize> = (0..=bytes.len() - from.len())
        .filter(|&i| &bytes[i..i + from.len()] == from)
        .collect();
    assert_eq!(hits.len(), 1, "{:?} occurs {} times", from, hits.len());
    let mut out = bytes.to_vec();
    out[hits[0]..hits[0] + to.len()].copy_from_slice(to);
    out
}

fn parse_err(bytes: Vec<u8>) -> BundleError {
    let e = Bundle::parse(bytes).expect_err("a bad bundle must be refused");
    let line = e.to_string();
    assert_eq!(line.lines().count(), 1, "{line}");
    e
}

fn one_file_bundle(name: &str, contents: &[u8]) -> Vec<u8> {
    let mut img = ImageBuilder::new();
    img.add_file(name, contents.to_vec(), 0).unwrap();
    pack(
        EMPTY_MODULE,
        Config::default(),
        vec![("/m", MountMode::ReadOnly, img)],
    )
}

#[test]
fn bad_bundles_are_refused_with_one_line() {
    // Unknown version.
    let good = one_file_bundle("zz", b"data");
    let mut v2 = patch(&good, b"vasibndl\x01\0\0\0", b"vasibndl\x02\0\0\0");
    let e = parse_err(v2.clone());
    assert_eq!(e, BundleError::UnsupportedVersion(2));
    assert!(e.to_string().contains("version 2 is not supported"), "{e}");
    v2.truncate(good.len());

    // Truncated anywhere: refused (the wasm section runs past the end).
    for cut in [good.len() - 1, good.len() - 5, 20, 9] {
        let e = parse_err(good[..cut].to_vec());
        assert!(
            matches!(e, BundleError::NotWasm(_) | BundleError::Corrupt(_)),
            "{e}"
        );
    }
    // Corrupt magic.
    let e = parse_err(patch(&good, b"vasibndl", b"vasibnXl"));
    assert!(matches!(e, BundleError::Corrupt(_)), "{e}");

    // Entries escaping their mount: `..`, a name with `/` (an absolute or
    // nested path smuggled into one entry).
    let e = parse_err(patch(&one_file_bundle("zz", b"d"), b"zz", b".."));
    assert!(matches!(e, BundleError::Escape { .. }), "{e}");
    assert!(e.to_string().contains("climb out"), "{e}");
    let e = parse_err(patch(&one_file_bundle("zzzzz", b"d"), b"zzzzz", b"../zz"));
    assert!(matches!(e, BundleError::Escape { .. }), "{e}");
    let e = parse_err(patch(&one_file_bundle("zzzz", b"d"), b"zzzz", b"/etc"));
    assert!(matches!(e, BundleError::Escape { .. }), "{e}");

    // A symlink pointing out (absolute, or `..` above the root).
    let mut img = ImageBuilder::new();
    img.add_symlink("l", "xx/yyyyyyy", 0).unwrap();
    let with_link = pack(
        EMPTY_MODULE,
        Config::default(),
        vec![("/m", MountMode::ReadOnly, img)],
    );
    let e = parse_err(patch(&with_link, b"xx/yyyyyyy", b"../../etc/"));
    assert!(e.to_string().contains("points outside its mount"), "{e}");
    let e = parse_err(patch(&with_link, b"xx/yyyyyyy", b"/etc/passw"));
    assert!(e.to_string().contains("absolute"), "{e}");

    // Two mounts at one path.
    let two = pack(
        EMPTY_MODULE,
        Config::default(),
        vec![
            ("/aa", MountMode::ReadOnly, ImageBuilder::new()),
            ("/bb", MountMode::ReadOnly, ImageBuilder::new()),
        ],
    );
    let e = parse_err(patch(&two, b"/bb", b"/aa"));
    assert_eq!(e, BundleError::MountClash("/aa".into()));

    // Unsorted entries (lookups could not binary-search them).
    let mut img = ImageBuilder::new();
    img.add_file("ab", vec![], 0).unwrap();
    img.add_file("ac", vec![], 0).unwrap();
    let sorted = pack(
        EMPTY_MODULE,
        Config::default(),
        vec![("/m", MountMode::ReadOnly, img)],
    );
    let e = parse_err(patch(&sorted, b"abac", b"acab"));
    assert!(e.to_string().contains("not sorted"), "{e}");

    // A plain module is not a bundle.
    assert_eq!(
        Bundle::parse(EMPTY_MODULE.to_vec()).unwrap_err(),
        BundleError::NotABundle
    );
    assert!(Bundle::parse_optional(Arc::new(EMPTY_MODULE.to_vec()))
        .unwrap()
        .is_none());
    // Packing a bundle again is refused.
    let mut out = Vec::new();
    let e = BundleBuilder::new(Config::default())
        .write(&good, &mut out)
        .unwrap_err();
    assert!(e.to_string().contains("already a bundle"), "{e}");
}

#[test]
fn unsafe_inputs_are_refused_when_packing() {
    let mut img = ImageBuilder::new();
    for (path, why) in [
        ("../x", "`..`"),
        ("a/../../x", "`..`"),
        ("/etc/passwd", "absolute"),
    ] {
        let e = img.add_file(path, vec![], 0).unwrap_err();
        assert!(e.to_string().contains(why), "{path}: {e}");
    }
    for target in ["/etc/passwd", "../x", "a/../../x"] {
        let e = img.add_symlink("l", target, 0).unwrap_err();
        assert!(
            e.to_string().contains("points outside its mount"),
            "{target}: {e}"
        );
    }
    // Within the image is fine, also when climbing from below.
    img.add_symlink("d/e/l", "../../x", 0).unwrap();
    img.add_file("f", vec![], 0).unwrap();
    assert!(img.add_file("f/g", vec![], 0).is_err());
    assert!(img.add_hard_link("h", "missing").is_err());

    // Two mounts at one (normalized) path.
    let mut b = BundleBuilder::new(Config::default());
    b.mount("/a/b", MountMode::ReadOnly, ImageBuilder::new())
        .unwrap();
    let e = b
        .mount("/a//b/", MountMode::CopyOnWrite, ImageBuilder::new())
        .unwrap_err();
    assert!(matches!(e, PackError::Mount(_)), "{e}");

    // A tar with `../x`, an absolute path, or a symlink out.
    fn tar_with(f: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        f(&mut b);
        b.into_inner().unwrap()
    }
    let raw_name = |name: &[u8], kind: tar::EntryType, link: Option<&str>| {
        tar_with(|b| {
            let mut h = tar::Header::new_gnu();
            h.set_size(0);
            h.set_entry_type(kind);
            h.as_old_mut().name[..name.len()].copy_from_slice(name);
            if let Some(l) = link {
                h.set_link_name(l).unwrap();
            }
            h.set_cksum();
            b.append(&h, &b""[..]).unwrap();
        })
    };
    for (tarball, why) in [
        (raw_name(b"../x", tar::EntryType::Regular, None), "`..`"),
        (
            raw_name(b"/etc/x", tar::EntryType::Regular, None),
            "absolute",
        ),
        (
            raw_name(b"l", tar::EntryType::Symlink, Some("/etc/passwd")),
            "points outside its mount",
        ),
        (
            raw_name(b"d/l", tar::EntryType::Symlink, Some("../../x")),
            "points outside its mount",
        ),
    ] {
        let e = ImageBuilder::new()
            .add_tar(&tarball[..], "t.tar")
            .unwrap_err();
        assert!(e.to_string().contains(why), "{e}");
        assert_eq!(e.to_string().lines().count(), 1);
    }
    // A host directory with a symlink out.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("in")).unwrap();
    std::os::unix::fs::symlink("../../outside", tmp.path().join("in/l")).unwrap();
    let e = ImageBuilder::new().add_host_dir(tmp.path()).unwrap_err();
    assert!(e.to_string().contains("points outside its mount"), "{e}");
}

/// A small deterministic generator for the mutation test (no dependency).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Reads every file and lists every directory below `d` (at most `budget`
/// operations): a parsed bundle must serve whatever it holds without a panic.
fn walk(d: &Arc<dyn Dir>, budget: &mut u32) {
    let Ok(mut it) = d.entries(0) else { return };
    while let Some(Ok(e)) = it.next_entry() {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let _ = d.stat_at(&e.name);
        let _ = d.read_link(&e.name);
        let opts = OpenOptions {
            read: true,
            ..OpenOptions::default()
        };
        match d.open(&e.name, &opts) {
            Ok(Node::Dir(sub)) => walk(&sub, budget),
            Ok(Node::File(f)) => {
                let mut buf = [0u8; 64];
                let _ = f.read_at(&mut buf, 0);
                let _ = f.read_at(&mut buf, u64::MAX - 10);
                let _ = f.stat();
            }
            Err(_) => {}
        }
    }
}

#[test]
fn random_mutations_never_panic_and_errors_are_one_line() {
    let good = sample_bundle();
    let section = good.len() - Bundle::parse(good.clone()).unwrap().section_size();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let (mut refused, mut accepted) = (0, 0);
    for round in 0..20_000 {
        let mut b = good.clone();
        // Mostly mutate the bundle section, sometimes the whole file.
        let lo = if round % 10 == 0 { 0 } else { section };
        for _ in 0..1 + rng.below(4) {
            let i = lo + rng.below(b.len() - lo);
            match rng.below(6) {
                0 => b[i] ^= 1 << rng.below(8),
                1 => b[i] = rng.next() as u8,
                2 => b[i] = [0, 0xff, 0x7f, 0x80, b'/', b'.'][rng.below(6)],
                3 => b.truncate(i),
                4 => b.insert(i, rng.next() as u8),
                _ => {
                    b.remove(i);
                }
            }
            if b.len() <= lo {
                break;
            }
        }
        match Bundle::parse(b) {
            Err(e) => {
                refused += 1;
                assert_eq!(e.to_string().lines().count(), 1, "{e}");
            }
            Ok(bundle) => {
                accepted += 1;
                let mut budget = 1000;
                for m in bundle.mounts() {
                    walk(&m.image().root(), &mut budget);
                    walk(&m.dir(), &mut budget);
                }
            }
        }
    }
    // Both outcomes happen: mutated file data or times are still a valid
    // bundle, broken structure is not.
    assert!(
        refused > 1000 && accepted > 100,
        "{refused} refused, {accepted} accepted"
    );
}

#[test]
fn nested_mounts_and_the_guest_path_of_each() {
    // An image at `/` and one below it, as `--dir app::/ --tar lib.tar::/usr/lib`.
    let module = std::fs::read(test_programs_artifacts::P1_CAT).unwrap();
    let mut root = ImageBuilder::new();
    root.add_file("etc/motd", b"root\n".to_vec(), 0).unwrap();
    root.add_dir("usr", 0).unwrap();
    let mut lib = ImageBuilder::new();
    lib.add_file("libz.txt", b"zlib\n".to_vec(), 0).unwrap();
    let mut config = Config::default();
    config.args = vec![
        "/etc/motd".into(),
        "/usr".into(),
        "/usr/lib/libz.txt".into(),
    ];
    let bytes = pack(
        &module,
        config,
        vec![
            ("/", MountMode::CopyOnWrite, root),
            ("/usr/lib", MountMode::ReadOnly, lib),
        ],
    );
    let bundle = Bundle::parse(bytes).unwrap();
    let mut b = WasiCtxBuilder::new();
    bundle.apply(&mut b);
    let (code, out) = run_on_wasmtime(bundle.module(), b);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "root\nlib/\nzlib\n");
}
