//! The hostcall benchmarks' guest: `bench <name> <n> <chunks>` runs `n`
//! iterations of benchmark `name`, where each iteration is exactly one
//! preview1 call of the measured kind (two for `open_close`, four for
//! `args_env`, one full directory scan for `readdir`).
//!
//! The host times the loop only: the guest calls the host import
//! `vasi_bench.mark` right before and right after it, so std's start-up,
//! argument parsing and the opening of the file under test are not counted.
//! After the loop the guest reports a check value (`vasi_bench.check`) that
//! lets the host verify every host did the same work (bytes read, directory
//! entries seen...). Any failing call aborts the guest (a trap).
//!
//! The fixtures directory is the first preopen (fd 3) and holds `stat.txt`,
//! `big.bin` (`chunks` MiB), and `dir10k/` (10,000 empty files).

use std::ptr::addr_of_mut;

/// The `wasi_snapshot_preview1` imports used here, with core wasm types.
mod wasi {
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    extern "C" {
        pub fn args_get(argv: *mut *mut u8, buf: *mut u8) -> i32;
        pub fn args_sizes_get(argc: *mut usize, buf_size: *mut usize) -> i32;
        pub fn environ_get(environ: *mut *mut u8, buf: *mut u8) -> i32;
        pub fn environ_sizes_get(count: *mut usize, buf_size: *mut usize) -> i32;
        pub fn clock_time_get(id: u32, precision: u64, time: *mut u64) -> i32;
        pub fn random_get(buf: *mut u8, len: usize) -> i32;
        pub fn fd_write(fd: u32, iovs: *const Iovec, iovs_len: usize, nwritten: *mut usize) -> i32;
        pub fn fd_read(fd: u32, iovs: *const Iovec, iovs_len: usize, nread: *mut usize) -> i32;
        pub fn fd_seek(fd: u32, offset: i64, whence: u32, newoffset: *mut u64) -> i32;
        pub fn fd_filestat_set_size(fd: u32, size: u64) -> i32;
        pub fn fd_close(fd: u32) -> i32;
        pub fn fd_readdir(fd: u32, buf: *mut u8, len: usize, cookie: u64, used: *mut usize) -> i32;
        pub fn path_open(
            dirfd: u32,
            dirflags: u32,
            path: *const u8,
            path_len: usize,
            oflags: u32,
            rights_base: u64,
            rights_inheriting: u64,
            fdflags: u32,
            fd: *mut u32,
        ) -> i32;
        pub fn path_filestat_get(
            fd: u32,
            flags: u32,
            path: *const u8,
            path_len: usize,
            stat: *mut u8,
        ) -> i32;
        pub fn path_unlink_file(fd: u32, path: *const u8, path_len: usize) -> i32;
    }

    /// An `iovec`/`ciovec`: a guest buffer.
    #[repr(C)]
    pub struct Iovec {
        pub buf: *const u8,
        pub len: usize,
    }

    #[link(wasm_import_module = "vasi_bench")]
    extern "C" {
        /// Records the host's clock: called once before the loop and once after.
        pub fn mark();
        /// Hands the host a value to check that the work was done.
        pub fn check(value: u64);
    }
}

const PREOPEN: u32 = 3;
const CLOCK_MONOTONIC: u32 = 1;
const LOOKUP_SYMLINK_FOLLOW: u32 = 1;
const O_CREAT: u32 = 1;
const O_DIRECTORY: u32 = 2;
const O_TRUNC: u32 = 8;
const RIGHT_FD_READ: u64 = 1 << 1;
const RIGHT_FD_SEEK: u64 = 1 << 2;
const RIGHT_FD_WRITE: u64 = 1 << 6;
const RIGHT_FD_READDIR: u64 = 1 << 14;
const RIGHT_FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
const WHENCE_SET: u32 = 0;
const MIB: usize = 1 << 20;

/// Aborts the guest when a call failed.
#[track_caller]
fn ok(errno: i32) {
    if errno != 0 {
        panic!("a preview1 call failed with errno {errno}");
    }
}

fn path_open(path: &str, oflags: u32, rights: u64) -> u32 {
    let mut fd = 0;
    // SAFETY: `path` and `fd` are live buffers of the given lengths.
    ok(unsafe {
        wasi::path_open(
            PREOPEN,
            LOOKUP_SYMLINK_FOLLOW,
            path.as_ptr(),
            path.len(),
            oflags,
            rights,
            0,
            0,
            &mut fd,
        )
    });
    fd
}

fn mark() {
    // SAFETY: a host import without arguments.
    unsafe { wasi::mark() }
}

fn check(value: u64) {
    // SAFETY: a host import taking a plain integer.
    unsafe { wasi::check(value) }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, name, n, chunks] = &args[..] else {
        panic!("usage: bench <name> <n> <chunks>");
    };
    let n: u64 = n.parse().expect("n");
    let chunks: u64 = chunks.parse().expect("chunks");
    match name.as_str() {
        "clock" => clock(n),
        "random" => random(n),
        "write16" => write16(n),
        "write1m" => write1m(n, chunks),
        "read1m" => read1m(n, chunks),
        "stat" => stat(n),
        "open_close" => open_close(n),
        "readdir" => readdir(n),
        "args_env" => args_env(n),
        other => panic!("no benchmark named {other}"),
    }
}

/// `clock_time_get(monotonic)`.
fn clock(n: u64) {
    let mut t = 0u64;
    let mut sum = 0u64;
    mark();
    for _ in 0..n {
        // SAFETY: `t` is a live u64.
        ok(unsafe { wasi::clock_time_get(CLOCK_MONOTONIC, 1, &mut t) });
        sum = sum.wrapping_add(t);
    }
    mark();
    check(u64::from(sum != 0));
}

/// `random_get` of 16 bytes.
fn random(n: u64) {
    let mut buf = [0u8; 16];
    let mut acc = 0u8;
    mark();
    for _ in 0..n {
        // SAFETY: `buf` is 16 live bytes.
        ok(unsafe { wasi::random_get(buf.as_mut_ptr(), buf.len()) });
        acc |= buf[0];
    }
    mark();
    check(u64::from(acc != 0));
}

/// `fd_write` of 16 bytes to stdout (a sink on every host).
fn write16(n: u64) {
    let data = *b"0123456789abcde\n";
    let iov = wasi::Iovec {
        buf: data.as_ptr(),
        len: data.len(),
    };
    let mut total = 0u64;
    let mut written = 0usize;
    mark();
    for _ in 0..n {
        // SAFETY: `iov` points at `data`, alive for the loop.
        ok(unsafe { wasi::fd_write(1, &iov, 1, &mut written) });
        total += written as u64;
    }
    mark();
    check(total);
}

/// `fd_write` of 1 MiB to a new file, each write extending it; after
/// `chunks` writes the guest truncates the file to 0 and seeks back (one
/// `fd_filestat_set_size` + `fd_seek` per `chunks` writes), so every write
/// appends to a file of at most `chunks` MiB whatever N is.
fn write1m(n: u64, chunks: u64) {
    let data = vec![0xa5u8; MIB];
    let rights = RIGHT_FD_WRITE | RIGHT_FD_SEEK | RIGHT_FD_FILESTAT_SET_SIZE;
    let fd = path_open("out.bin", O_CREAT | O_TRUNC, rights);
    let iov = wasi::Iovec {
        buf: data.as_ptr(),
        len: data.len(),
    };
    let mut total = 0u64;
    let mut written = 0usize;
    let mut pos = 0u64;
    mark();
    for i in 0..n {
        if i > 0 && i % chunks == 0 {
            // SAFETY: plain integers and a live u64.
            ok(unsafe { wasi::fd_filestat_set_size(fd, 0) });
            ok(unsafe { wasi::fd_seek(fd, 0, WHENCE_SET, &mut pos) });
        }
        // SAFETY: `iov` points at `data`, alive for the loop.
        ok(unsafe { wasi::fd_write(fd, &iov, 1, &mut written) });
        total += written as u64;
    }
    mark();
    // SAFETY: plain integer and a live path.
    ok(unsafe { wasi::fd_close(fd) });
    ok(unsafe { wasi::path_unlink_file(PREOPEN, "out.bin".as_ptr(), 7) });
    check(total);
}

/// `fd_read` of 1 MiB from `big.bin` (`chunks` MiB long); at its end the
/// guest seeks back to 0 (one `fd_seek` per `chunks` reads).
fn read1m(n: u64, chunks: u64) {
    let mut data = vec![0u8; MIB];
    let fd = path_open("big.bin", 0, RIGHT_FD_READ | RIGHT_FD_SEEK);
    let iov = wasi::Iovec {
        buf: data.as_mut_ptr(),
        len: data.len(),
    };
    let mut total = 0u64;
    let mut read = 0usize;
    let mut pos = 0u64;
    mark();
    for i in 0..n {
        if i > 0 && i % chunks == 0 {
            // SAFETY: `pos` is a live u64.
            ok(unsafe { wasi::fd_seek(fd, 0, WHENCE_SET, &mut pos) });
        }
        // SAFETY: `iov` points at `data`, alive for the loop.
        ok(unsafe { wasi::fd_read(fd, &iov, 1, &mut read) });
        total += read as u64;
    }
    mark();
    // SAFETY: a plain integer.
    ok(unsafe { wasi::fd_close(fd) });
    check(total.wrapping_add(u64::from(data[7])));
}

/// `path_filestat_get` of `stat.txt`, following symlinks.
fn stat(n: u64) {
    let path = "stat.txt";
    let mut buf = [0u64; 8];
    let mut sizes = 0u64;
    mark();
    for _ in 0..n {
        // SAFETY: `path` and the 64-byte `buf` are live.
        ok(unsafe {
            wasi::path_filestat_get(
                PREOPEN,
                LOOKUP_SYMLINK_FOLLOW,
                path.as_ptr(),
                path.len(),
                addr_of_mut!(buf).cast(),
            )
        });
        sizes += buf[4]; // filestat.size
    }
    mark();
    check(sizes);
}

/// `path_open` of `stat.txt` for reading, then `fd_close` (like native
/// `File::open` and drop).
fn open_close(n: u64) {
    mark();
    for _ in 0..n {
        let fd = path_open("stat.txt", 0, RIGHT_FD_READ);
        // SAFETY: a plain integer.
        ok(unsafe { wasi::fd_close(fd) });
    }
    mark();
    check(n);
}

/// One full scan of `dir10k/` with `fd_readdir` into a 4 KiB buffer,
/// resuming at the cookie of the last whole entry, until a short buffer.
/// The directory is opened once, outside the timed loop.
fn readdir(n: u64) {
    let fd = path_open("dir10k", O_DIRECTORY, RIGHT_FD_READDIR);
    let mut buf = vec![0u8; 4096];
    let mut entries = 0u64;
    mark();
    for _ in 0..n {
        let mut cookie = 0u64;
        loop {
            let mut used = 0usize;
            // SAFETY: `buf` is live and `buf.len()` bytes long.
            ok(unsafe { wasi::fd_readdir(fd, buf.as_mut_ptr(), buf.len(), cookie, &mut used) });
            let mut off = 0;
            // A dirent: d_next u64, d_ino u64, d_namlen u32, d_type u8, pad; then the name.
            while off + 24 <= used {
                let next = u64::from_le_bytes(buf[off..off + 8].try_into().unwrap());
                let namlen = u32::from_le_bytes(buf[off + 16..off + 20].try_into().unwrap());
                let end = off + 24 + namlen as usize;
                if end > used {
                    break; // cut off: read it again from `cookie`
                }
                entries += 1;
                cookie = next;
                off = end;
            }
            if used < buf.len() {
                break;
            }
        }
    }
    mark();
    // SAFETY: a plain integer.
    ok(unsafe { wasi::fd_close(fd) });
    check(entries);
}

/// `args_sizes_get` + `args_get` + `environ_sizes_get` + `environ_get` (100
/// variables), into buffers sized once before the loop.
fn args_env(n: u64) {
    let (mut argc, mut argv_size, mut envc, mut env_size) = (0usize, 0usize, 0usize, 0usize);
    // SAFETY: live out-parameters.
    unsafe {
        ok(wasi::args_sizes_get(&mut argc, &mut argv_size));
        ok(wasi::environ_sizes_get(&mut envc, &mut env_size));
    }
    let mut argv = vec![std::ptr::null_mut::<u8>(); argc];
    let mut argv_buf = vec![0u8; argv_size];
    let mut envv = vec![std::ptr::null_mut::<u8>(); envc];
    let mut env_buf = vec![0u8; env_size];
    let mut total = 0u64;
    mark();
    for _ in 0..n {
        // SAFETY: the buffers were sized by the *_sizes_get calls, and the
        // host's answers do not change during a run.
        unsafe {
            ok(wasi::args_sizes_get(&mut argc, &mut argv_size));
            ok(wasi::args_get(argv.as_mut_ptr(), argv_buf.as_mut_ptr()));
            ok(wasi::environ_sizes_get(&mut envc, &mut env_size));
            ok(wasi::environ_get(envv.as_mut_ptr(), env_buf.as_mut_ptr()));
        }
        total += (argc + envc) as u64;
    }
    mark();
    check(total);
}
