//! Dense hosting (`vasi_wasmtime::dense`): instances of one module over one
//! shared image see only their own writes, the image never changes, the pool's
//! limit gives a clear error, and slots are reused after a drop.

use std::io::Cursor;
use vasi::vfs::MemFs;
use vasi::CaptureBuffer;
use vasi_wasmtime::dense::{DenseConfig, DenseHost, DenseInstance, PoolFull, Template};

/// `_start` reads stdin (up to 256 bytes) and writes it to `tmp/mine` (new)
/// and over `tmp/seed` (an image file); `readback` prints `tmp/mine` then
/// `tmp/seed`. A failed call exits with 100 + its errno.
const GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0x40) "tmp/mine")
  (data (i32.const 0x50) "tmp/seed")
  (func $check (param $errno i32)
    (if (local.get $errno) (then (call $proc_exit (i32.add (i32.const 100) (local.get $errno))))))
  (func $open (param $path i32) (param $oflags i32) (result i32)
    (call $check (call $path_open (i32.const 3) (i32.const 0) (local.get $path) (i32.const 8)
      (local.get $oflags) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 0x10)))
    (i32.load (i32.const 0x10)))
  ;; iovec at 0x18 = (buf, len)
  (func $iov (param $buf i32) (param $len i32)
    (i32.store (i32.const 0x18) (local.get $buf))
    (i32.store (i32.const 0x1c) (local.get $len)))
  (func $write_file (param $path i32) (param $oflags i32) (param $len i32)
    (local $fd i32)
    (local.set $fd (call $open (local.get $path) (local.get $oflags)))
    (call $iov (i32.const 0x100) (local.get $len))
    (call $check (call $fd_write (local.get $fd) (i32.const 0x18) (i32.const 1) (i32.const 0x20)))
    (call $check (call $fd_close (local.get $fd))))
  (func $print_file (param $path i32)
    (local $fd i32)
    (local.set $fd (call $open (local.get $path) (i32.const 0)))
    (call $iov (i32.const 0x400) (i32.const 256))
    (call $check (call $fd_read (local.get $fd) (i32.const 0x18) (i32.const 1) (i32.const 0x08)))
    (call $iov (i32.const 0x400) (i32.load (i32.const 0x08)))
    (call $check (call $fd_write (i32.const 1) (i32.const 0x18) (i32.const 1) (i32.const 0x20)))
    (call $check (call $fd_close (local.get $fd))))
  (func (export "_start")
    (local $n i32)
    (call $iov (i32.const 0x100) (i32.const 256))
    (call $check (call $fd_read (i32.const 0) (i32.const 0x18) (i32.const 1) (i32.const 0x08)))
    (local.set $n (i32.load (i32.const 0x08)))
    (call $write_file (i32.const 0x40) (i32.const 9) (local.get $n)) ;; creat|trunc
    (call $write_file (i32.const 0x50) (i32.const 8) (local.get $n))) ;; trunc
  (func (export "readback")
    (call $print_file (i32.const 0x40))
    (call $print_file (i32.const 0x50))))"#;

/// A module that does nothing.
const EMPTY: &str = r#"(module (memory (export "memory") 1) (func (export "_start")))"#;

fn image() -> MemFs {
    let image = MemFs::new();
    image.write("tmp/seed", b"from the image").unwrap();
    image
}

fn small_host(max: u32) -> DenseHost {
    DenseHost::new(
        &DenseConfig::default()
            .max_instances(max)
            .max_memory_size(1 << 20),
    )
    .unwrap()
}

#[test]
fn instances_see_only_their_own_writes_and_the_image_stays() {
    const N: usize = 64;
    let host = small_host(N as u32);
    let module = host.compile(GUEST.as_bytes()).unwrap();
    let image = image();
    let used = (image.used_bytes(), image.used_inodes());
    let mut template = Template::new();
    template.arg("guest").image(image.root(), "/");

    // All alive at once, each writing its own request into the same paths.
    let mut live: Vec<(DenseInstance, CaptureBuffer, String)> = (0..N)
        .map(|i| {
            let request = format!("request {i}");
            let out = CaptureBuffer::new();
            let mut b = template.builder();
            b.stdin(Cursor::new(request.clone().into_bytes()))
                .stdout(out.clone());
            let mut guest = module.instantiate(b.build().unwrap()).unwrap();
            assert_eq!(guest.run().unwrap(), 0, "instance {i}");
            (guest, out, request)
        })
        .collect();
    assert_eq!(host.live_instances(), N as u32);

    // Then each reads back: its own bytes, in both the new and the
    // copied-up file.
    for (i, (guest, out, request)) in live.iter_mut().enumerate() {
        let readback = guest
            .instance()
            .get_typed_func::<(), ()>(guest.store(), "readback")
            .unwrap();
        let r = readback.call(guest.store(), ());
        assert_eq!(vasi_wasmtime::exit_code(r).unwrap(), 0, "instance {i}");
        assert_eq!(out.to_string_lossy(), format!("{request}{request}"));
    }

    // The image was never written.
    assert_eq!(image.read("tmp/seed").unwrap(), b"from the image");
    assert_eq!(image.read("tmp/mine"), Err(vasi::Errno::Noent));
    assert_eq!((image.used_bytes(), image.used_inodes()), used);

    // A new instance starts from the image again.
    drop(live);
    assert_eq!(host.live_instances(), 0);
    let out = CaptureBuffer::new();
    let mut b = template.builder();
    b.stdout(out.clone());
    let mut fresh = module.instantiate(b.build().unwrap()).unwrap();
    let readback = fresh
        .instance()
        .get_typed_func::<(), ()>(fresh.store(), "readback")
        .unwrap();
    // `tmp/mine` does not exist in this instance's world: ENOENT (44).
    let r = readback.call(fresh.store(), ());
    assert_eq!(vasi_wasmtime::exit_code(r).unwrap(), 100 + 44);
    assert_eq!(out.to_string_lossy(), "");
}

#[test]
fn the_private_layer_has_the_scratch_quota() {
    let host = small_host(2);
    let module = host.compile(GUEST.as_bytes()).unwrap();
    let mut template = Template::new();
    template.image(image().root(), "/").scratch_quota(8, 100);
    let mut b = template.builder();
    b.stdin(Cursor::new(b"more than eight bytes".to_vec()));
    let mut guest = module.instantiate(b.build().unwrap()).unwrap();
    // fd_write of 21 bytes into an 8-byte layer: ENOSPC (51).
    assert_eq!(guest.run().unwrap(), 100 + 51);
}

#[test]
fn past_the_pool_limit_instantiation_fails_clearly() {
    let host = small_host(3);
    let module = host.compile(EMPTY.as_bytes()).unwrap();
    let other = host.compile(GUEST.as_bytes()).unwrap();
    let template = Template::new();
    let mut live = vec![
        module.instantiate(template.build().unwrap()).unwrap(),
        module.instantiate(template.build().unwrap()).unwrap(),
        // Modules of one host share its pool.
        other.instantiate(template.build().unwrap()).unwrap(),
    ];
    for m in [&module, &other] {
        let err = m.instantiate(template.build().unwrap()).unwrap_err();
        assert_eq!(
            err.downcast_ref::<PoolFull>(),
            Some(&PoolFull { max_instances: 3 })
        );
        assert!(
            err.to_string().contains("all 3 instance slots"),
            "unclear message: {err}"
        );
    }
    assert_eq!(host.live_instances(), 3);
    // One dropped: one more fits, and no more.
    live.pop();
    live.push(module.instantiate(template.build().unwrap()).unwrap());
    assert!(module.instantiate(template.build().unwrap()).is_err());
}

#[test]
fn slots_are_reused_after_drop() {
    let host = small_host(2);
    let module = host.compile(GUEST.as_bytes()).unwrap();
    let mut template = Template::new();
    template.image(image().root(), "/");
    // Far more instances than slots, two alive at a time.
    for i in 0..50 {
        let pair: Vec<_> = (0..2)
            .map(|j| {
                let out = CaptureBuffer::new();
                let mut b = template.builder();
                b.stdin(Cursor::new(format!("{i}-{j}").into_bytes()))
                    .stdout(out.clone());
                let mut g = module.instantiate(b.build().unwrap()).unwrap();
                assert_eq!(g.run().unwrap(), 0);
                (g, out)
            })
            .collect();
        assert_eq!(host.live_instances(), 2);
        for (j, (mut g, out)) in pair.into_iter().enumerate() {
            let f = g
                .instance()
                .get_typed_func::<(), ()>(g.store(), "readback")
                .unwrap();
            assert_eq!(vasi_wasmtime::exit_code(f.call(g.store(), ())).unwrap(), 0);
            // A reused slot starts with fresh memory and a fresh world.
            assert_eq!(out.to_string_lossy(), format!("{i}-{j}{i}-{j}"));
        }
        assert_eq!(host.live_instances(), 0);
    }
}

#[test]
fn a_memory_over_the_cap_is_rejected_at_compile_time() {
    let host = small_host(1);
    // 32 pages = 2 MiB, over the 1 MiB cap.
    let err = host
        .compile(br#"(module (memory (export "memory") 32) (func (export "_start")))"#)
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("pooling allocator"),
        "unclear message: {err:#}"
    );
    assert_eq!(host.live_instances(), 0);
    let small = host.compile(EMPTY.as_bytes()).unwrap();
    small.instantiate(Template::new().build().unwrap()).unwrap();
}

#[test]
fn memory_grow_stops_at_the_cap() {
    let host = small_host(1);
    let module = host
        .compile(
            br#"(module (memory (export "memory") 1)
                (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
        )
        .unwrap();
    let mut g = module
        .instantiate(Template::new().build().unwrap())
        .unwrap();
    let grow = g
        .instance()
        .get_typed_func::<i32, i32>(g.store(), "grow")
        .unwrap();
    // 1 MiB = 16 pages: 15 more fit, the 17th does not.
    assert_eq!(grow.call(g.store(), 15).unwrap(), 1);
    assert_eq!(grow.call(g.store(), 1).unwrap(), -1);
}

#[test]
fn the_default_config_reserves_what_it_says() {
    let c = DenseConfig::default();
    assert_eq!(
        c.reserved_address_space(),
        1_000 * ((64 << 20) + (128 << 10))
    );
    // A reservation below the memory cap is raised to it.
    let c = DenseConfig::default()
        .max_instances(2)
        .max_memory_size(8 << 20)
        .memory_reservation(1 << 20);
    assert_eq!(c.reserved_address_space(), 2 * ((8 << 20) + (128 << 10)));
    DenseHost::new(&c).unwrap();
}

#[test]
fn one_module_serves_many_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<DenseHost>();
    send_sync::<vasi_wasmtime::dense::DenseModule>();
    send_sync::<Template>();
    send::<DenseInstance>();

    let host = small_host(8);
    let module = host.compile(GUEST.as_bytes()).unwrap();
    let mut template = Template::new();
    template.image(image().root(), "/");
    std::thread::scope(|s| {
        for t in 0..4 {
            let (module, template) = (&module, &template);
            s.spawn(move || {
                for i in 0..25 {
                    let out = CaptureBuffer::new();
                    let mut b = template.builder();
                    b.stdin(Cursor::new(format!("{t}/{i}").into_bytes()))
                        .stdout(out.clone());
                    let mut g = module.instantiate(b.build().unwrap()).unwrap();
                    assert_eq!(g.run().unwrap(), 0);
                    let f = g
                        .instance()
                        .get_typed_func::<(), ()>(g.store(), "readback")
                        .unwrap();
                    assert_eq!(vasi_wasmtime::exit_code(f.call(g.store(), ())).unwrap(), 0);
                    assert_eq!(out.to_string_lossy(), format!("{t}/{i}{t}/{i}"));
                }
            });
        }
    });
    assert_eq!(host.live_instances(), 0);
}

#[test]
fn a_tar_image_is_shared_the_same_way() {
    let mut tar = tar::Builder::new(Vec::new());
    let seed = b"from the tarball";
    let mut header = tar::Header::new_gnu();
    header.set_size(seed.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "tmp/seed", &seed[..]).unwrap();
    let bytes = tar.into_inner().unwrap();
    let image = vasi::vfs::TarFs::from_reader(&bytes[..]).unwrap();

    let host = small_host(4);
    let module = host.compile(GUEST.as_bytes()).unwrap();
    let mut template = Template::new();
    template.image(image.root(), "/");
    let mut live = Vec::new();
    for i in 0..4 {
        let out = CaptureBuffer::new();
        let mut b = template.builder();
        b.stdin(Cursor::new(format!("tar {i}").into_bytes()))
            .stdout(out.clone());
        let mut g = module.instantiate(b.build().unwrap()).unwrap();
        // The read-only tarball's file is copied up into the instance's layer.
        assert_eq!(g.run().unwrap(), 0);
        live.push((g, out, format!("tar {i}")));
    }
    for (g, out, request) in &mut live {
        let f = g
            .instance()
            .get_typed_func::<(), ()>(g.store(), "readback")
            .unwrap();
        assert_eq!(vasi_wasmtime::exit_code(f.call(g.store(), ())).unwrap(), 0);
        assert_eq!(out.to_string_lossy(), format!("{request}{request}"));
    }
    // And the tarball still holds what it held.
    use vasi::vfs::{Node, OpenOptions};
    let Ok(Node::Dir(tmp)) = image.root().open("tmp", &OpenOptions::lookup_dir()) else {
        panic!("no tmp/ in the tarball");
    };
    let read = OpenOptions {
        read: true,
        ..OpenOptions::default()
    };
    let Ok(Node::File(f)) = tmp.open("seed", &read) else {
        panic!("tmp/seed is not a file");
    };
    let mut buf = [0u8; 64];
    let n = f.read_at(&mut buf, 0).unwrap();
    assert_eq!(&buf[..n], seed);
}
