//! What reaches the backend and the host, not only what the guest is told:
//! the synchronisation flags and `fd_sync` call the backend's `sync` for
//! real, byte counts never exceed what a `u32` result can say, and empty
//! writes cost nothing.

use std::any::Any;
use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use vasi::p1::abi::{fdflags, oflags, rights};
use vasi::vfs::{Dir, File, HostDir, MemFs, Node, OpenOptions, ReadDir, SetTime, Stat};
use vasi::{p1, CaptureBuffer, Errno, Error, GuestMemory, WasiCtx, WasiCtxBuilder};

/// How often the backend was asked to flush.
#[derive(Default, Debug)]
struct Syncs {
    file_sync: AtomicUsize,
    file_datasync: AtomicUsize,
    dir_sync: AtomicUsize,
}

impl Syncs {
    fn get(&self) -> (usize, usize, usize) {
        (
            self.file_sync.load(Ordering::SeqCst),
            self.file_datasync.load(Ordering::SeqCst),
            self.dir_sync.load(Ordering::SeqCst),
        )
    }
}

/// A directory that counts the flushes asked of it and of its files, and
/// passes everything on to `inner`.
struct Counting {
    inner: Arc<dyn Dir>,
    syncs: Arc<Syncs>,
}

struct CountingFile {
    inner: Box<dyn File>,
    syncs: Arc<Syncs>,
}

impl Counting {
    fn wrap(&self, node: Node) -> Node {
        match node {
            Node::File(f) => Node::File(Box::new(CountingFile {
                inner: f,
                syncs: self.syncs.clone(),
            })),
            Node::Dir(d) => Node::Dir(Arc::new(Counting {
                inner: d,
                syncs: self.syncs.clone(),
            })),
        }
    }
}

impl Dir for Counting {
    fn open(&self, name: &str, options: &OpenOptions) -> Result<Node, Errno> {
        Ok(self.wrap(self.inner.open(name, options)?))
    }
    fn stat_at(&self, name: &str) -> Result<Stat, Errno> {
        self.inner.stat_at(name)
    }
    fn stat(&self) -> Result<Stat, Errno> {
        self.inner.stat()
    }
    fn create_dir(&self, name: &str) -> Result<(), Errno> {
        self.inner.create_dir(name)
    }
    fn unlink(&self, name: &str) -> Result<(), Errno> {
        self.inner.unlink(name)
    }
    fn entries(&self, cookie: u64) -> Result<Box<dyn ReadDir>, Errno> {
        self.inner.entries(cookie)
    }
    fn sync(&self) -> Result<(), Errno> {
        self.syncs.dir_sync.fetch_add(1, Ordering::SeqCst);
        self.inner.sync()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl File for CountingFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        self.inner.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> Result<usize, Errno> {
        self.inner.write_at(buf, offset)
    }
    fn append(&self, buf: &[u8]) -> Result<(usize, u64), Errno> {
        self.inner.append(buf)
    }
    fn stat(&self) -> Result<Stat, Errno> {
        self.inner.stat()
    }
    fn set_len(&self, size: u64) -> Result<(), Errno> {
        self.inner.set_len(size)
    }
    fn set_times(&self, a: Option<SetTime>, m: Option<SetTime>) -> Result<(), Errno> {
        self.inner.set_times(a, m)
    }
    fn sync(&self) -> Result<(), Errno> {
        self.syncs.file_sync.fetch_add(1, Ordering::SeqCst);
        self.inner.sync()
    }
    fn datasync(&self) -> Result<(), Errno> {
        self.syncs.file_datasync.fetch_add(1, Ordering::SeqCst);
        self.inner.datasync()
    }
}

const SANDBOX: u32 = 3;
const PATH: u32 = 1024;
const IOVS: u32 = 2048;
const DATA: u32 = 4096;
const OUT: u32 = 64;

struct Env {
    ctx: WasiCtx,
    mem: Vec<u8>,
    _tmp: Option<tempfile::TempDir>,
}

impl Env {
    fn call(
        &mut self,
        f: impl FnOnce(&mut WasiCtx, &mut GuestMemory<'_>) -> Result<(), Error>,
    ) -> Result<(), Errno> {
        let mut mem = GuestMemory::new(&mut self.mem);
        match f(&mut self.ctx, &mut mem) {
            Ok(()) => Ok(()),
            Err(Error::Errno(e)) => Err(e),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }

    fn u32_at(&self, at: u32) -> u32 {
        u32::from_le_bytes(self.mem[at as usize..at as usize + 4].try_into().unwrap())
    }

    fn open(&mut self, path: &str, o: u16, fdflags: u16) -> Result<u32, Errno> {
        let p = path.as_bytes();
        self.mem[PATH as usize..PATH as usize + p.len()].copy_from_slice(p);
        let len = p.len() as u32;
        let r = rights::FILE_READ | rights::FILE_WRITE;
        self.call(|c, m| {
            p1::path_open(
                c,
                m,
                SANDBOX,
                0,
                PATH,
                len,
                o.into(),
                r,
                0,
                fdflags.into(),
                OUT,
            )
        })?;
        Ok(self.u32_at(OUT))
    }

    /// One iovec over `DATA`.
    fn iov(&mut self, data: &[u8]) {
        self.mem[DATA as usize..DATA as usize + data.len()].copy_from_slice(data);
        self.mem[IOVS as usize..IOVS as usize + 4].copy_from_slice(&DATA.to_le_bytes());
        self.mem[IOVS as usize + 4..IOVS as usize + 8]
            .copy_from_slice(&(data.len() as u32).to_le_bytes());
    }

    fn write(&mut self, fd: u32, data: &[u8]) -> Result<u32, Errno> {
        self.iov(data);
        self.call(|c, m| p1::fd_write(c, m, fd, IOVS, 1, OUT))?;
        Ok(self.u32_at(OUT))
    }

    fn pwrite(&mut self, fd: u32, data: &[u8], at: u64) -> Result<u32, Errno> {
        self.iov(data);
        self.call(|c, m| p1::fd_pwrite(c, m, fd, IOVS, 1, at, OUT))?;
        Ok(self.u32_at(OUT))
    }

    fn read(&mut self, fd: u32, len: u32) -> Result<u32, Errno> {
        self.iov(&vec![0; len as usize]);
        self.call(|c, m| p1::fd_read(c, m, fd, IOVS, 1, OUT))?;
        Ok(self.u32_at(OUT))
    }

    fn fdflags(&mut self, fd: u32) -> u16 {
        self.call(|c, m| p1::fd_fdstat_get(c, m, fd, 128)).unwrap();
        u16::from_le_bytes([self.mem[130], self.mem[131]])
    }
}

/// A context over a counting directory on `backend`.
fn counting(host: bool) -> (Env, Arc<Syncs>) {
    let syncs = Arc::new(Syncs::default());
    let (inner, tmp): (Arc<dyn Dir>, _) = if host {
        let tmp = tempfile::tempdir().unwrap();
        (
            Arc::new(HostDir::open_ambient(tmp.path()).unwrap()),
            Some(tmp),
        )
    } else {
        (MemFs::new().root(), None)
    };
    let dir = Arc::new(Counting {
        inner,
        syncs: syncs.clone(),
    });
    let ctx = WasiCtxBuilder::new()
        .preopen_dir(dir, "/sandbox")
        .build()
        .unwrap();
    let env = Env {
        ctx,
        mem: vec![0; 1 << 16],
        _tmp: tmp,
    };
    (env, syncs)
}

fn sync_flags_reach_the_backend(host: bool) {
    let (mut e, syncs) = counting(host);
    // dsync: a datasync after every write that wrote something.
    let fd = e.open("d", oflags::CREAT, fdflags::DSYNC).unwrap();
    assert_eq!(e.fdflags(fd), fdflags::DSYNC);
    assert_eq!(e.write(fd, b"abc"), Ok(3));
    assert_eq!(e.pwrite(fd, b"xyz", 10), Ok(3));
    assert_eq!(syncs.get(), (0, 2, 0));
    assert_eq!(e.write(fd, b""), Ok(0));
    assert_eq!(
        syncs.get(),
        (0, 2, 0),
        "an empty write has nothing to flush"
    );
    // Reads do not sync without rsync.
    assert_eq!(e.read(fd, 4), Ok(4));
    assert_eq!(syncs.get(), (0, 2, 0));

    // sync: a full sync after every write, appends too.
    let fd2 = e
        .open("s", oflags::CREAT, fdflags::SYNC | fdflags::APPEND)
        .unwrap();
    assert_eq!(e.fdflags(fd2), fdflags::SYNC | fdflags::APPEND);
    assert_eq!(e.write(fd2, b"log line\n"), Ok(9));
    assert_eq!(syncs.get(), (1, 2, 0));

    // rsync: a flush before every read.
    let fd3 = e.open("d", 0, fdflags::RSYNC).unwrap();
    assert_eq!(e.read(fd3, 3), Ok(3));
    assert_eq!(syncs.get(), (1, 3, 0));

    // fd_fdstat_set_flags turns them on and off, and fdstat says so.
    let fd4 = e.open("p", oflags::CREAT, 0).unwrap();
    assert_eq!(e.write(fd4, b"1"), Ok(1));
    assert_eq!(syncs.get(), (1, 3, 0));
    e.call(|c, m| p1::fd_fdstat_set_flags(c, m, fd4, fdflags::SYNC.into()))
        .unwrap();
    assert_eq!(e.fdflags(fd4), fdflags::SYNC);
    assert_eq!(e.write(fd4, b"2"), Ok(1));
    assert_eq!(syncs.get(), (2, 3, 0));
    e.call(|c, m| p1::fd_fdstat_set_flags(c, m, fd4, 0))
        .unwrap();
    assert_eq!(e.fdflags(fd4), 0);
    assert_eq!(e.write(fd4, b"3"), Ok(1));
    assert_eq!(syncs.get(), (2, 3, 0));

    // fd_sync and fd_datasync on a directory reach its sync.
    e.call(|c, m| p1::fd_sync(c, m, SANDBOX)).unwrap();
    e.call(|c, m| p1::fd_datasync(c, m, SANDBOX)).unwrap();
    assert_eq!(syncs.get(), (2, 3, 2));
    e.call(|c, m| p1::fd_sync(c, m, fd)).unwrap();
    e.call(|c, m| p1::fd_datasync(c, m, fd)).unwrap();
    assert_eq!(syncs.get(), (3, 4, 2));
}

#[test]
fn sync_flags_reach_the_backend_memfs() {
    sync_flags_reach_the_backend(false);
}

#[test]
fn sync_flags_reach_the_backend_hostdir() {
    sync_flags_reach_the_backend(true);
}

/// `HostDir::sync` of a directory is a real fsync, on every kind of handle
/// (a preopen, a subdirectory, a directory opened as if it might be a file):
/// it must succeed, not only claim to.
#[test]
fn hostdir_directories_can_be_synced_through_any_handle() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("d")).unwrap();
    let root = HostDir::open_ambient(tmp.path()).unwrap();
    assert_eq!(root.sync(), Ok(()));
    let Node::Dir(d) = root.open("d", &OpenOptions::lookup_dir()).unwrap() else {
        panic!("a directory");
    };
    assert_eq!(d.sync(), Ok(()));
    let ro = OpenOptions {
        read: true,
        ..OpenOptions::default()
    };
    let Node::File(f) = root.open_unchecked("d", &ro).unwrap() else {
        panic!("unchecked opens give files");
    };
    let d = f.as_dir().unwrap().expect("a directory");
    assert_eq!(d.sync(), Ok(()));
}

/// A FIFO in a host directory opens without waiting for a peer: for reading
/// it opens (and reads are `ESPIPE`, as host files are read at offsets), for
/// writing without a reader it is `ENXIO`.
#[test]
fn a_host_fifo_never_blocks_open() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let root = HostDir::open_ambient(tmp.path()).unwrap();
    let (done, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let ro = OpenOptions {
            read: true,
            ..OpenOptions::default()
        };
        let r = match root.open_unchecked("fifo", &ro) {
            Ok(Node::File(f)) => f.read_at(&mut [0u8; 8], 0).err(),
            Ok(Node::Dir(_)) => Some(Errno::Isdir),
            Err(e) => Some(e),
        };
        let wo = OpenOptions {
            write: true,
            ..OpenOptions::default()
        };
        let w = root.open("fifo", &wo).err();
        done.send((r, w)).unwrap();
    });
    let (r, w) = wait
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("opening a FIFO blocked");
    assert_eq!(r, Some(Errno::Spipe));
    assert_eq!(w, Some(Errno::Nxio));
}

/// `fd_filestat_set_size` through a read-only descriptor is EINVAL, as
/// ftruncate(2); a directory or a stream is EBADF.
#[test]
fn set_size_errnos() {
    let (mut e, _) = counting(false);
    let fd = e.open("f", oflags::CREAT, 0).unwrap();
    e.call(|c, m| p1::fd_close(c, m, fd)).unwrap();
    let p = b"f";
    e.mem[PATH as usize..PATH as usize + 1].copy_from_slice(p);
    e.call(|c, m| p1::path_open(c, m, SANDBOX, 0, PATH, 1, 0, rights::FILE_READ, 0, 0, OUT))
        .unwrap();
    let ro = e.u32_at(OUT);
    assert_eq!(
        e.call(|c, m| p1::fd_filestat_set_size(c, m, ro, 0)),
        Err(Errno::Inval)
    );
    assert_eq!(
        e.call(|c, m| p1::fd_filestat_set_size(c, m, SANDBOX, 0)),
        Err(Errno::Badf)
    );
    assert_eq!(
        e.call(|c, m| p1::fd_filestat_set_size(c, m, 1, 0)),
        Err(Errno::Badf)
    );
}

/// A file that keeps nothing: writes say they wrote everything, reads say
/// they read everything (leaving the buffer as it was), and the bytes are
/// counted.
#[derive(Clone, Default)]
struct Bottomless {
    written: Arc<AtomicU64>,
}

impl File for Bottomless {
    fn read_at(&self, buf: &mut [u8], _offset: u64) -> Result<usize, Errno> {
        Ok(buf.len())
    }
    fn write_at(&self, buf: &[u8], _offset: u64) -> Result<usize, Errno> {
        self.written.fetch_add(buf.len() as u64, Ordering::SeqCst);
        Ok(buf.len())
    }
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            dev: 1,
            ino: 2,
            filetype: vasi::vfs::FileType::RegularFile,
            nlink: 1,
            size: 0,
            atim: 0,
            mtim: 0,
            ctim: 0,
        })
    }
    fn set_len(&self, _size: u64) -> Result<(), Errno> {
        Ok(())
    }
}

/// A directory with one bottomless file, `f`.
struct BottomlessDir(Bottomless);

impl Dir for BottomlessDir {
    fn open(&self, _name: &str, _options: &OpenOptions) -> Result<Node, Errno> {
        Ok(Node::File(Box::new(self.0.clone())))
    }
    fn stat_at(&self, _name: &str) -> Result<Stat, Errno> {
        self.0.stat()
    }
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            filetype: vasi::vfs::FileType::Directory,
            ..self.0.stat()?
        })
    }
    fn entries(&self, _cookie: u64) -> Result<Box<dyn ReadDir>, Errno> {
        Err(Errno::Notsup)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A writer that keeps nothing and counts the bytes.
#[derive(Clone, Default)]
struct CountingSink(Arc<AtomicU64>);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(buf.len() as u64, Ordering::SeqCst);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const GIB: u32 = 1 << 30;

/// A 1 GiB memory (zeroed pages: reading them maps nothing new) holding
/// five iovecs at `IOVS`, each of the whole 1 GiB at 0: 5 GiB per call.
fn five_gib_of_iovecs(ctx: WasiCtx) -> Env {
    let mut e = Env {
        ctx,
        mem: vec![0; GIB as usize],
        _tmp: None,
    };
    for i in 0..5u32 {
        let at = (IOVS + 8 * i) as usize;
        e.mem[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
        e.mem[at + 4..at + 8].copy_from_slice(&GIB.to_le_bytes());
    }
    e
}

/// Five iovecs of 1 GiB each (all over the same guest gigabyte): a call
/// transfers at most `u32::MAX` bytes, and says exactly how many.
#[test]
fn byte_counts_never_exceed_a_u32() {
    let file = Bottomless::default();
    let sink = CountingSink::default();
    let ctx = WasiCtxBuilder::new()
        .stdout(sink.clone())
        .preopen_dir(Arc::new(BottomlessDir(file.clone())), "/b")
        .build()
        .unwrap();
    let mut e = five_gib_of_iovecs(ctx);
    let fd = e.open("f", 0, 0).unwrap();
    type Call = fn(&mut WasiCtx, &mut GuestMemory<'_>, u32) -> Result<(), Error>;
    let calls: [(&str, Call); 4] = [
        ("fd_write", |c, m, fd| p1::fd_write(c, m, fd, IOVS, 5, OUT)),
        ("fd_pwrite", |c, m, fd| {
            p1::fd_pwrite(c, m, fd, IOVS, 5, 7, OUT)
        }),
        ("fd_read", |c, m, fd| p1::fd_read(c, m, fd, IOVS, 5, OUT)),
        ("fd_pread", |c, m, fd| {
            p1::fd_pread(c, m, fd, IOVS, 5, 7, OUT)
        }),
    ];
    for (name, call) in calls {
        let before = file.written.load(Ordering::SeqCst);
        e.call(|c, m| call(c, m, fd)).unwrap();
        let n = e.u32_at(OUT);
        assert_eq!(n, u32::MAX, "{name}");
        if name.contains("write") {
            let wrote = file.written.load(Ordering::SeqCst) - before;
            assert_eq!(
                wrote,
                u64::from(n),
                "{name}: the file got what was reported"
            );
        }
    }
    // Appends too.
    e.call(|c, m| p1::fd_fdstat_set_flags(c, m, fd, fdflags::APPEND.into()))
        .unwrap();
    let before = file.written.load(Ordering::SeqCst);
    e.call(|c, m| p1::fd_write(c, m, fd, IOVS, 5, OUT)).unwrap();
    assert_eq!(e.u32_at(OUT), u32::MAX);
    assert_eq!(
        file.written.load(Ordering::SeqCst) - before,
        u64::from(u32::MAX)
    );
    // And stdout.
    e.call(|c, m| p1::fd_write(c, m, 1, IOVS, 5, OUT)).unwrap();
    assert_eq!(e.u32_at(OUT), u32::MAX);
    assert_eq!(sink.0.load(Ordering::SeqCst), u64::from(u32::MAX));
}

/// The same over a socket whose peer reads (and counts) everything.
#[test]
fn socket_byte_counts_never_exceed_a_u32() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let ctx = WasiCtxBuilder::new()
        .preopen_listener(listener)
        .build()
        .unwrap();
    let mut e = five_gib_of_iovecs(ctx);
    let peer = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        std::io::copy(&mut s, &mut std::io::sink()).unwrap()
    });
    e.call(|c, m| p1::sock_accept(c, m, 3, 0, OUT)).unwrap();
    let fd = e.u32_at(OUT);
    e.call(|c, m| p1::sock_send(c, m, fd, IOVS, 5, 0, OUT))
        .unwrap();
    let sent = e.u32_at(OUT);
    assert_eq!(sent, u32::MAX);
    e.call(|c, m| p1::sock_shutdown(c, m, fd, 2)).unwrap();
    assert_eq!(
        peer.join().unwrap(),
        u64::from(sent),
        "the peer got what was reported"
    );
}

/// A million empty writes to a capture buffer, a sink and a socket cost no
/// host memory and send nothing; an empty send never waits, even on a full
/// socket.
#[test]
fn empty_writes_cost_nothing() {
    let out = CaptureBuffer::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut ctx = WasiCtxBuilder::new()
        .stdout(out.clone())
        .preopen_listener(listener)
        .build()
        .unwrap();
    // With an interrupt handle out, so that the waiting paths are the ones
    // taken.
    let _handle = ctx.interrupt_handle();
    let peer = std::net::TcpStream::connect(addr).unwrap();
    let mut mem = vec![0u8; 1 << 16];
    let mut m = GuestMemory::new(&mut mem);
    // Three empty iovecs, at the end of memory and beyond it too (a zero
    // length at the very end is in bounds).
    for (i, ptr) in [0u32, 1 << 15, 1 << 16].into_iter().enumerate() {
        m.write_u32(IOVS + 8 * i as u32, ptr).unwrap();
        m.write_u32(IOVS + 8 * i as u32 + 4, 0).unwrap();
    }
    p1::sock_accept(&mut ctx, &mut m, 3, 0, OUT).unwrap();
    let sock = m.read_u32(OUT).unwrap();
    // Fill the socket until it takes no more.
    p1::fd_fdstat_set_flags(&mut ctx, &mut m, sock, fdflags::NONBLOCK.into()).unwrap();
    m.write_u32(IOVS + 64, 8192).unwrap();
    m.write_u32(IOVS + 68, 32768).unwrap();
    while p1::sock_send(&mut ctx, &mut m, sock, IOVS + 64, 1, 0, OUT).is_ok() {}
    p1::fd_fdstat_set_flags(&mut ctx, &mut m, sock, 0).unwrap();
    let started = std::time::Instant::now();
    for _ in 0..1_000_000 {
        p1::fd_write(&mut ctx, &mut m, 1, IOVS, 3, OUT).unwrap();
        assert_eq!(m.read_u32(OUT).unwrap(), 0);
        p1::fd_write(&mut ctx, &mut m, 2, IOVS, 3, OUT).unwrap();
    }
    for _ in 0..1000 {
        p1::sock_send(&mut ctx, &mut m, sock, IOVS, 3, 0, OUT).unwrap();
        assert_eq!(m.read_u32(OUT).unwrap(), 0);
        p1::fd_write(&mut ctx, &mut m, sock, IOVS, 3, OUT).unwrap();
        assert_eq!(m.read_u32(OUT).unwrap(), 0);
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let kept = out.take();
    assert_eq!((kept.len(), kept.capacity()), (0, 0));
    drop(peer);
}

/// A writer that records whether it was called at all.
#[derive(Clone, Default)]
struct Untouched(Arc<Mutex<usize>>);

impl Write for Untouched {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        *self.0.lock().unwrap() += 1;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        *self.0.lock().unwrap() += 1;
        Ok(())
    }
}

/// Empty writes never reach an embedder's writer (no lock, no flush).
#[test]
fn empty_writes_do_not_reach_the_writer() {
    let w = Untouched::default();
    let mut ctx = WasiCtxBuilder::new().stdout(w.clone()).build().unwrap();
    let mut mem = vec![0u8; 4096];
    let mut m = GuestMemory::new(&mut mem);
    m.write_u32(IOVS, 100).unwrap();
    m.write_u32(IOVS + 4, 0).unwrap();
    for _ in 0..1000 {
        p1::fd_write(&mut ctx, &mut m, 1, IOVS, 1, OUT).unwrap();
    }
    assert_eq!(*w.0.lock().unwrap(), 0);
}
