//! The guest's world as the shim builds it from a container's spec, image
//! and options, run in this process over a directory standing in for the
//! container's rootfs (the container tests, `tests/container.rs`, run the
//! same code inside a real container).

mod common;

use containerd_shim_vasi::{Job, Stdio, EXIT_TIMEOUT};
use containerd_shim_wasm::sandbox::context::{Entrypoint, RuntimeContext, Source};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A container's runtime context: its spec's args and env, the module a
/// file of its rootfs.
struct Ctx {
    args: Vec<String>,
    envs: Vec<String>,
    wasm: PathBuf,
}

impl RuntimeContext for Ctx {
    fn args(&self) -> &[String] {
        &self.args
    }
    fn envs(&self) -> &[String] {
        &self.envs
    }
    fn entrypoint(&self) -> Entrypoint<'_> {
        Entrypoint {
            func: "_start".into(),
            name: Some("app".into()),
            arg0: None,
            source: Source::File(self.wasm.clone()),
        }
    }
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `wasm` as `/app.wasm` of `rootfs` with these args (after argv0)
/// and env; returns the exit code and stdout.
fn run_in(rootfs: &Path, wasm: &[u8], args: &[&str], env: &[&str]) -> (i32, String) {
    run_with_stdin(rootfs, wasm, args, env, Box::new(std::io::empty()))
}

fn run_with_stdin(
    rootfs: &Path,
    wasm: &[u8],
    args: &[&str],
    env: &[&str],
    stdin: Box<dyn std::io::Read + Send>,
) -> (i32, String) {
    std::fs::write(rootfs.join("app.wasm"), wasm).unwrap();
    let ctx = Ctx {
        args: std::iter::once("/app.wasm")
            .chain(args.iter().copied())
            .map(String::from)
            .collect(),
        envs: env.iter().map(|s| s.to_string()).collect(),
        wasm: rootfs.join("app.wasm"),
    };
    let out = Buf::default();
    let job = Job::from_context(&ctx).unwrap();
    let code = job
        .run(
            rootfs,
            Stdio::Given {
                stdin,
                stdout: Box::new(out.clone()),
                stderr: Box::new(std::io::stderr()),
            },
            false,
        )
        .unwrap();
    let stdout = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    (code, stdout)
}

fn run(wasm: &[u8], args: &[&str], env: &[&str]) -> (i32, String, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    let (code, out) = run_in(root.path(), wasm, args, env);
    (code, out, root)
}

const EROFS: i32 = 69;
const ENOENT: i32 = 44;
const EBADF: i32 = 8;

#[test]
fn args_and_env_come_from_the_spec_and_vasi_options_are_not_shown() {
    let (code, out, _root) = run(
        &common::args_env(),
        &["--flag", "two words"],
        &["PATH=/bin", "GREETING=hi there", "VASI_ROOTFS=ro"],
    );
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "/app.wasm\n--flag\ntwo words\nPATH=/bin\nGREETING=hi there\n"
    );
}

#[test]
fn exit_codes_are_the_guests() {
    let (code, out, _root) = run(&common::hello_exit(7), &[], &[]);
    assert_eq!((code, out.as_str()), (7, "hello\n"));
    let (code, _, _root) = run(&common::hello_exit(0), &[], &[]);
    assert_eq!(code, 0);
}

#[test]
fn the_rootfs_is_read_only_by_default() {
    let (code, _, root) = run(&common::create_file(3, "new.txt"), &[], &[]);
    assert_eq!(code, EROFS);
    assert!(!root.path().join("new.txt").exists());
    // ...and readable.
    let root2 = tempfile::tempdir().unwrap();
    std::fs::write(root2.path().join("msg"), "from the image\n").unwrap();
    let (code, out) = run_in(root2.path(), &common::cat_file(3, "msg"), &[], &[]);
    assert_eq!((code, out.as_str()), (0, "from the image\n"));
}

#[test]
fn the_rootfs_can_be_writable_or_absent() {
    let (code, _, root) = run(&common::create_file(3, "new.txt"), &[], &["VASI_ROOTFS=rw"]);
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_to_string(root.path().join("new.txt")).unwrap(),
        "ok\n"
    );
    let (code, _, _root) = run(&common::cat_file(3, "app.wasm"), &[], &["VASI_ROOTFS=none"]);
    assert_eq!(code, EBADF, "no preopen at fd 3");
}

#[test]
fn dirs_are_preopened_read_only_unless_rw() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("srv/data")).unwrap();
    std::fs::create_dir_all(root.path().join("conf")).unwrap();
    std::fs::write(root.path().join("conf/app.toml"), "x = 1\n").unwrap();
    let env = [
        "VASI_ROOTFS=none",
        "VASI_DIRS=/data=/srv/data:rw,/etc/app=/conf",
    ];
    // fd 3 is /data (writable), fd 4 is /etc/app (read-only).
    let (code, _) = run_in(root.path(), &common::create_file(3, "out"), &[], &env);
    assert_eq!(code, 0);
    assert!(root.path().join("srv/data/out").exists());
    let (code, _) = run_in(root.path(), &common::create_file(4, "out"), &[], &env);
    assert_eq!(code, EROFS);
    let (code, out) = run_in(root.path(), &common::cat_file(4, "app.toml"), &[], &env);
    assert_eq!((code, out.as_str()), (0, "x = 1\n"));
}

#[test]
fn scratch_is_in_memory_and_capped() {
    // fd 3 is / (read-only), fd 4 the scratch /tmp.
    let (code, _, root) = run(
        &common::create_file(4, "scratch.txt"),
        &[],
        &["VASI_SCRATCH=/tmp:1M"],
    );
    assert_eq!(code, 0);
    assert!(!root.path().join("tmp/scratch.txt").exists());
    assert!(!root.path().join("scratch.txt").exists());
    let (code, _, _root) = run(
        &common::cat_file(4, "scratch.txt"),
        &[],
        &["VASI_SCRATCH=/tmp:1M"],
    );
    assert_eq!(code, ENOENT, "every run starts with an empty scratch");
}

#[test]
fn deterministic_mode_repeats_random_bytes() {
    let env = ["VASI_DETERMINISTIC=42"];
    let (_, a, _r1) = run(&common::random_hex(), &[], &env);
    let (_, b, _r2) = run(&common::random_hex(), &[], &env);
    let (_, c, _r3) = run(&common::random_hex(), &[], &["VASI_DETERMINISTIC=43"]);
    assert_eq!(a.len(), 17);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn max_memory_caps_growth() {
    let (code, _, _r) = run(&common::grow(16), &[], &["VASI_MAX_MEMORY=512K"]);
    assert_eq!(code, 1, "17 pages is over 512 KiB");
    let (code, _, _r) = run(&common::grow(4), &[], &["VASI_MAX_MEMORY=512K"]);
    assert_eq!(code, 0);
}

#[test]
fn the_timeout_ends_a_guest_blocked_on_stdin_or_spinning() {
    let (reader, _writer) = std::io::pipe().unwrap();
    let root = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let (code, out) = run_with_stdin(
        root.path(),
        &common::read_stdin(),
        &[],
        &["VASI_TIMEOUT=300ms"],
        Box::new(reader),
    );
    assert_eq!((code, out.as_str()), (EXIT_TIMEOUT, "reading\n"));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());

    let t = Instant::now();
    let (code, out, _r) = run(&common::spin(), &[], &["VASI_TIMEOUT=300ms"]);
    assert_eq!((code, out.as_str()), (EXIT_TIMEOUT, "spinning\n"));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

#[test]
fn the_timeout_ends_a_guest_blocked_in_accept() {
    let t = Instant::now();
    let (code, out, _r) = run(
        &common::accept(3),
        &[],
        &[
            "VASI_ROOTFS=none",
            "VASI_LISTEN=127.0.0.1:0",
            "VASI_TIMEOUT=300ms",
        ],
    );
    assert_eq!((code, out.as_str()), (EXIT_TIMEOUT, "accepting\n"));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

#[test]
fn a_typo_in_an_option_is_refused() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("app.wasm"), common::hello_exit(0)).unwrap();
    let ctx = Ctx {
        args: vec!["/app.wasm".into()],
        envs: vec!["VASI_ROOTF=rw".into()],
        wasm: root.path().join("app.wasm"),
    };
    let err = Job::from_context(&ctx).err().expect("refused");
    assert!(err.to_string().contains("VASI_ROOTF"), "{err}");
}

#[test]
fn a_bundle_runs_with_its_mounts_and_config_under_the_containers() {
    use vasi_bundle::{BundleBuilder, Config, ImageBuilder, MountMode};
    let pack = |wasm: Vec<u8>| {
        let mut image = ImageBuilder::new();
        image
            .add_file("motd", b"from the bundle\n".to_vec(), 0)
            .unwrap();
        let mut config = Config::default();
        config.args = vec!["--verbose".into()];
        config.env = vec![("LANG".into(), "C".into())];
        let mut builder = BundleBuilder::new(config);
        builder.mount("/etc", MountMode::ReadOnly, image).unwrap();
        let mut bytes = Vec::new();
        builder.write(&wasm, &mut bytes).unwrap();
        bytes
    };
    let (code, out, _r) = run(&pack(common::args_env()), &["extra"], &["TERM=dumb"]);
    assert_eq!(code, 0);
    assert_eq!(out, "main.wasm\n--verbose\nextra\nLANG=C\nTERM=dumb\n");
    // The bundle's world replaces the rootfs: fd 3 is its /etc.
    let (code, out, _r) = run(&pack(common::cat_file(3, "motd")), &[], &[]);
    assert_eq!((code, out.as_str()), (0, "from the bundle\n"));
    // Unless the container asks for the rootfs too.
    let (code, _, _r) = run(&pack(common::cat_file(4, "motd")), &[], &["VASI_ROOTFS=ro"]);
    assert_eq!(code, 0, "the bundle's /etc comes after the rootfs");
}

/// A container whose module comes from OCI layers.
struct OciCtx {
    layers: Vec<containerd_shim_wasm::sandbox::context::WasmLayer>,
}

impl RuntimeContext for OciCtx {
    fn args(&self) -> &[String] {
        &[]
    }
    fn envs(&self) -> &[String] {
        &[]
    }
    fn entrypoint(&self) -> Entrypoint<'_> {
        Entrypoint {
            func: "_start".into(),
            name: None,
            arg0: None,
            source: Source::Oci(&self.layers),
        }
    }
}

fn layer(media_type: &str, bytes: Vec<u8>) -> containerd_shim_wasm::sandbox::context::WasmLayer {
    use oci_spec::image::{Descriptor, Digest, MediaType};
    let digest: Digest = format!("sha256:{}", "0".repeat(64)).parse().unwrap();
    containerd_shim_wasm::sandbox::context::WasmLayer {
        config: Descriptor::new(
            MediaType::Other(media_type.to_string()),
            bytes.len() as u64,
            digest,
        ),
        precompiled: false,
        layer: bytes,
    }
}

fn run_oci(layers: Vec<containerd_shim_wasm::sandbox::context::WasmLayer>) -> anyhow::Result<i32> {
    let root = tempfile::tempdir().unwrap();
    let job = Job::from_context(&OciCtx { layers })?;
    job.run(
        root.path(),
        Stdio::Given {
            stdin: Box::new(std::io::empty()),
            stdout: Box::new(std::io::sink()),
            stderr: Box::new(std::io::stderr()),
        },
        false,
    )
}

#[test]
fn a_wasm_layer_runs_with_the_options_of_a_config_layer() {
    let wasm = || layer("application/wasm", common::create_file(4, "x"));
    let config = layer(
        containerd_shim_vasi::CONFIG_LAYER,
        br#"{"scratch":[{"guest":"/tmp"}]}"#.to_vec(),
    );
    assert_eq!(run_oci(vec![wasm(), config]).unwrap(), 0);
    assert_eq!(run_oci(vec![wasm()]).unwrap(), EBADF, "no /tmp without it");
    let bad = layer(
        containerd_shim_vasi::CONFIG_LAYER,
        br#"{"scratch":1}"#.to_vec(),
    );
    assert!(run_oci(vec![wasm(), bad]).is_err());
    assert!(run_oci(vec![wasm(), wasm()]).is_err(), "two modules");
    let bundle = layer(containerd_shim_vasi::BUNDLE_LAYER, common::hello_exit(3));
    assert_eq!(run_oci(vec![bundle]).unwrap(), 3);
}

#[test]
fn a_bundles_globals_reach_the_guest() {
    use vasi_bundle::{BundleBuilder, Config};
    // Exits with the value of the global `level` (or 100 + get's status).
    let wasm = wat::parse_str(
        r#"(module
  (import "vasi_globals_v1" "get" (func $get (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "level")
  (func (export "_start") (local $s i32)
    (local.set $s (call $get (i32.const 100) (i32.const 5) (i32.const 200)))
    (if (local.get $s) (then (call $exit (i32.add (i32.const 100) (local.get $s)))))
    (call $exit (i32.wrap_i64 (i64.load (i32.const 200))))))"#,
    )
    .unwrap();
    let mut config = Config::default();
    config.globals = vec![("level".into(), 7)];
    let mut bytes = Vec::new();
    BundleBuilder::new(config).write(&wasm, &mut bytes).unwrap();
    let (code, _, _r) = run(&bytes, &[], &[]);
    assert_eq!(code, 7);
}

#[test]
fn the_kernels_filesystems_in_the_rootfs_are_masked() {
    // A container runtime mounts /proc and /sys inside the rootfs; here
    // directories with a file each stand in for them.
    let root = tempfile::tempdir().unwrap();
    for dir in ["proc/self", "sys", "dev"] {
        std::fs::create_dir_all(root.path().join(dir)).unwrap();
    }
    std::fs::write(root.path().join("proc/self/environ"), "SECRET=1\n").unwrap();
    std::fs::write(root.path().join("sys/secret"), "host\n").unwrap();
    std::fs::write(root.path().join("dev/null"), "").unwrap();
    std::fs::write(root.path().join("msg"), "from the image\n").unwrap();
    for env in [&[][..], &["VASI_ROOTFS=rw"][..]] {
        let (code, _) = run_in(
            root.path(),
            &common::cat_file(3, "proc/self/environ"),
            &[],
            env,
        );
        assert_eq!(code, ENOENT, "/proc/self/environ ({env:?})");
        let (code, _) = run_in(root.path(), &common::cat_file(3, "sys/secret"), &[], env);
        assert_eq!(code, ENOENT, "/sys/secret ({env:?})");
        // The rest of the rootfs, /dev included, is as before.
        let (code, out) = run_in(root.path(), &common::cat_file(3, "msg"), &[], env);
        assert_eq!((code, out.as_str()), (0, "from the image\n"));
        let (code, _) = run_in(root.path(), &common::cat_file(3, "dev/null"), &[], env);
        assert_eq!(code, 0);
    }
    // The masks have no descriptors: the rootfs is the only preopen.
    let (code, _) = run_in(root.path(), &common::cat_file(4, "x"), &[], &[]);
    assert_eq!(code, EBADF);
    // The masks are read-only too.
    let (code, _) = run_in(
        root.path(),
        &common::create_file(3, "proc/new"),
        &[],
        &["VASI_ROOTFS=rw"],
    );
    assert_eq!(code, EROFS);
    assert!(!root.path().join("proc/new").exists());
}
