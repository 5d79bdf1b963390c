//! The suite on every backend vasi ships, alone and stacked.

use std::sync::Arc;
use vasi::vfs::{Dir, HostDir, MemFs, Overlay, ReadOnly, TarFs};
use vasi_fs_conformance::{fixture, run, Capabilities, Report, Subject};

/// A subject made by a closure.
struct Made<F: Fn() -> Arc<dyn Dir>> {
    name: &'static str,
    caps: Capabilities,
    make: F,
}

impl<F: Fn() -> Arc<dyn Dir>> Subject for Made<F> {
    fn name(&self) -> String {
        self.name.into()
    }
    fn capabilities(&self) -> Capabilities {
        self.caps
    }
    fn with_fixture(&self) -> Arc<dyn Dir> {
        (self.make)()
    }
}

fn check(name: &'static str, caps: Capabilities, make: impl Fn() -> Arc<dyn Dir>) -> Report {
    let report = run(&Made { name, caps, make });
    println!("{report}");
    report.assert_ok();
    report
}

fn mem_fixture(caps: Capabilities) -> Arc<dyn Dir> {
    let fs = MemFs::new();
    fixture::populate(&*fs.root(), caps).expect("fixture");
    fs.root()
}

/// A host directory holding the fixture; the TempDir is leaked on purpose so
/// it outlives the handle (the OS cleans /tmp).
fn host_fixture(caps: Capabilities) -> (std::path::PathBuf, Arc<dyn Dir>) {
    let tmp = tempfile::tempdir().expect("tempdir").keep();
    let dir = HostDir::open_ambient(&tmp).expect("open");
    fixture::populate(&dir, caps).expect("fixture");
    (tmp, Arc::new(dir))
}

/// A tar image of the fixture (hard links become separate files).
fn tar_fixture() -> TarFs {
    let no_hard = Capabilities {
        hard_links: false,
        ..Capabilities::FULL
    };
    let (path, _) = host_fixture(no_hard);
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    b.append_dir_all(".", &path).expect("tar");
    let image = b.into_inner().expect("tar");
    let _ = std::fs::remove_dir_all(&path);
    TarFs::from_reader(&image[..]).expect("load")
}

const NO_HARD_LINKS: Capabilities = Capabilities {
    writable: true,
    symlinks: true,
    hard_links: false,
};

#[test]
fn memfs() {
    let r = check("MemFs", Capabilities::FULL, || {
        mem_fixture(Capabilities::FULL)
    });
    assert!(r.skipped.len() == 1 && r.passed >= 20, "{r}");
}

#[test]
fn hostdir() {
    let r = check("HostDir", Capabilities::FULL, || {
        host_fixture(Capabilities::FULL).1
    });
    assert!(r.passed >= 20, "{r}");
}

#[test]
fn read_only_memfs() {
    let r = check("ReadOnly(MemFs)", Capabilities::READ_ONLY, || {
        Arc::new(ReadOnly::new(mem_fixture(Capabilities::FULL)))
    });
    assert!(r.skipped.len() > 5, "mutation checks are skipped: {r}");
}

#[test]
fn overlay_memfs_over_hostdir() {
    check("Overlay(MemFs over HostDir)", Capabilities::FULL, || {
        let (_, lower) = host_fixture(Capabilities::FULL);
        Arc::new(Overlay::new(MemFs::new().root(), lower))
    });
}

#[test]
fn tarfs() {
    let caps = Capabilities {
        writable: false,
        symlinks: true,
        hard_links: false,
    };
    let image = tar_fixture();
    check("TarFs", caps, || image.root());
}

#[test]
fn overlay_memfs_over_tarfs() {
    let image = tar_fixture();
    check("Overlay(MemFs over TarFs)", NO_HARD_LINKS, || {
        Arc::new(Overlay::new(MemFs::new().root(), image.root()))
    });
}
