//! A guest's view of a subject: hostcalls called over a byte-vector memory.

use std::sync::Arc;
use vasi::p1::abi::{fdflags, lookupflags, oflags, rights};
use vasi::vfs::Dir;
use vasi::{p1, Errno, Error, GuestMemory, WasiCtx, WasiCtxBuilder};

/// The preopened root of the subject.
pub(crate) const ROOT: u32 = 3;
const PATH: u32 = 1024;
const PATH2: u32 = 2048;
const OUT: u32 = 64;
const IOV: u32 = 128;
const BUF: u32 = 4096;
const MEM: usize = 1 << 18;
/// The largest transfer one call makes.
pub(crate) const MAX_IO: usize = MEM - BUF as usize;

/// A filestat, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Filestat {
    pub(crate) filetype: u8,
    pub(crate) nlink: u64,
    pub(crate) size: u64,
    pub(crate) atim: u64,
    pub(crate) mtim: u64,
}

pub(crate) struct Env {
    ctx: WasiCtx,
    mem: Vec<u8>,
}

type R<T> = Result<T, Errno>;

/// A listed entry: name, `filetype`, and the cookie after it.
pub(crate) type Entry = (String, u8, u64);

impl Env {
    pub(crate) fn new(root: Arc<dyn Dir>) -> Self {
        let ctx = WasiCtxBuilder::new()
            .preopen_dir(root, "/")
            .build()
            .expect("a context with one preopen");
        Env {
            ctx,
            mem: vec![0; MEM],
        }
    }

    fn call(
        &mut self,
        f: impl FnOnce(&mut WasiCtx, &mut GuestMemory<'_>) -> Result<(), Error>,
    ) -> R<()> {
        let mut mem = GuestMemory::new(&mut self.mem);
        match f(&mut self.ctx, &mut mem) {
            Ok(()) => Ok(()),
            Err(Error::Errno(e)) => Err(e),
            // The suite passes valid pointers only: anything else is a bug.
            Err(other) => panic!("unexpected {other}"),
        }
    }

    fn put(&mut self, at: u32, bytes: &[u8]) -> u32 {
        self.mem[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
        bytes.len() as u32
    }

    fn u32_at(&self, at: u32) -> u32 {
        u32::from_le_bytes(
            self.mem[at as usize..at as usize + 4]
                .try_into()
                .expect("4"),
        )
    }

    fn u64_at(&self, at: u32) -> u64 {
        u64::from_le_bytes(
            self.mem[at as usize..at as usize + 8]
                .try_into()
                .expect("8"),
        )
    }

    /// `path_open` relative to `dir`, reading and writing unless `DIRECTORY`.
    pub(crate) fn open(&mut self, dir: u32, path: &str, o: u16, follow: bool) -> R<u32> {
        self.open_flags(dir, path, o, follow, 0)
    }

    pub(crate) fn open_flags(
        &mut self,
        dir: u32,
        path: &str,
        o: u16,
        follow: bool,
        fd_flags: u16,
    ) -> R<u32> {
        let len = self.put(PATH, path.as_bytes());
        let lookup = if follow {
            lookupflags::SYMLINK_FOLLOW
        } else {
            0
        };
        let rights = if o & oflags::DIRECTORY != 0 {
            rights::DIRECTORY | rights::FD_READ
        } else {
            rights::FILE_READ | rights::FILE_WRITE
        };
        let flags = u32::from(fd_flags);
        self.call(|c, m| {
            p1::path_open(
                c,
                m,
                dir,
                lookup,
                PATH,
                len,
                o.into(),
                rights,
                0,
                flags,
                OUT,
            )
        })?;
        Ok(self.u32_at(OUT))
    }

    /// Opens `path` read-only.
    pub(crate) fn open_read(&mut self, path: &str) -> R<u32> {
        let len = self.put(PATH, path.as_bytes());
        let follow = lookupflags::SYMLINK_FOLLOW;
        let rights = rights::FILE_READ;
        self.call(|c, m| p1::path_open(c, m, ROOT, follow, PATH, len, 0, rights, 0, 0, OUT))?;
        Ok(self.u32_at(OUT))
    }

    pub(crate) fn close(&mut self, fd: u32) -> R<()> {
        self.call(|c, m| p1::fd_close(c, m, fd))
    }

    pub(crate) fn append_flag() -> u16 {
        fdflags::APPEND
    }

    pub(crate) fn write(&mut self, fd: u32, data: &[u8]) -> R<usize> {
        let n = self.put(BUF, data);
        self.put(IOV, &BUF.to_le_bytes());
        self.put(IOV + 4, &n.to_le_bytes());
        self.call(|c, m| p1::fd_write(c, m, fd, IOV, 1, OUT))?;
        Ok(self.u32_at(OUT) as usize)
    }

    pub(crate) fn pread(&mut self, fd: u32, len: usize, offset: u64) -> R<Vec<u8>> {
        self.put(IOV, &BUF.to_le_bytes());
        self.put(IOV + 4, &(len as u32).to_le_bytes());
        self.call(|c, m| p1::fd_pread(c, m, fd, IOV, 1, offset, OUT))?;
        let n = self.u32_at(OUT) as usize;
        Ok(self.mem[BUF as usize..BUF as usize + n].to_vec())
    }

    /// Reads `fd` from its position to the end.
    pub(crate) fn read_all(&mut self, fd: u32) -> R<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            self.put(IOV, &BUF.to_le_bytes());
            self.put(IOV + 4, &(MAX_IO as u32).to_le_bytes());
            self.call(|c, m| p1::fd_read(c, m, fd, IOV, 1, OUT))?;
            let n = self.u32_at(OUT) as usize;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&self.mem[BUF as usize..BUF as usize + n]);
        }
    }

    /// The whole contents of `path`, following symlinks.
    pub(crate) fn read(&mut self, path: &str) -> R<Vec<u8>> {
        let fd = self.open_read(path)?;
        let r = self.read_all(fd);
        self.close(fd)?;
        r
    }

    pub(crate) fn seek(&mut self, fd: u32, offset: i64, whence: u32) -> R<u64> {
        self.call(|c, m| p1::fd_seek(c, m, fd, offset as u64, whence, OUT))?;
        Ok(self.u64_at(OUT))
    }

    pub(crate) fn set_size(&mut self, fd: u32, size: u64) -> R<()> {
        self.call(|c, m| p1::fd_filestat_set_size(c, m, fd, size))
    }

    fn decode_stat(&self) -> Filestat {
        Filestat {
            filetype: self.mem[BUF as usize + 16],
            nlink: self.u64_at(BUF + 24),
            size: self.u64_at(BUF + 32),
            atim: self.u64_at(BUF + 40),
            mtim: self.u64_at(BUF + 48),
        }
    }

    pub(crate) fn stat(&mut self, path: &str, follow: bool) -> R<Filestat> {
        let len = self.put(PATH, path.as_bytes());
        let lookup = if follow {
            lookupflags::SYMLINK_FOLLOW
        } else {
            0
        };
        self.call(|c, m| p1::path_filestat_get(c, m, ROOT, lookup, PATH, len, BUF))?;
        Ok(self.decode_stat())
    }

    pub(crate) fn fstat(&mut self, fd: u32) -> R<Filestat> {
        self.call(|c, m| p1::fd_filestat_get(c, m, fd, BUF))?;
        Ok(self.decode_stat())
    }

    pub(crate) fn set_times(&mut self, path: &str, atim: u64, mtim: u64, fst: u16) -> R<()> {
        let len = self.put(PATH, path.as_bytes());
        let f = u32::from(fst);
        self.call(|c, m| p1::path_filestat_set_times(c, m, ROOT, 0, PATH, len, atim, mtim, f))
    }

    pub(crate) fn now(&mut self) -> u64 {
        self.call(|c, m| p1::clock_time_get(c, m, 0, 0, OUT))
            .expect("realtime clock");
        self.u64_at(OUT)
    }

    pub(crate) fn mkdir(&mut self, path: &str) -> R<()> {
        let len = self.put(PATH, path.as_bytes());
        self.call(|c, m| p1::path_create_directory(c, m, ROOT, PATH, len))
    }

    pub(crate) fn rmdir(&mut self, path: &str) -> R<()> {
        let len = self.put(PATH, path.as_bytes());
        self.call(|c, m| p1::path_remove_directory(c, m, ROOT, PATH, len))
    }

    pub(crate) fn unlink(&mut self, path: &str) -> R<()> {
        let len = self.put(PATH, path.as_bytes());
        self.call(|c, m| p1::path_unlink_file(c, m, ROOT, PATH, len))
    }

    pub(crate) fn rename(&mut self, from: &str, to: &str) -> R<()> {
        let l1 = self.put(PATH, from.as_bytes());
        let l2 = self.put(PATH2, to.as_bytes());
        self.call(|c, m| p1::path_rename(c, m, ROOT, PATH, l1, ROOT, PATH2, l2))
    }

    pub(crate) fn symlink(&mut self, target: &str, path: &str) -> R<()> {
        let l1 = self.put(PATH2, target.as_bytes());
        let l2 = self.put(PATH, path.as_bytes());
        self.call(|c, m| p1::path_symlink(c, m, PATH2, l1, ROOT, PATH, l2))
    }

    pub(crate) fn link(&mut self, from: &str, to: &str) -> R<()> {
        let l1 = self.put(PATH, from.as_bytes());
        let l2 = self.put(PATH2, to.as_bytes());
        self.call(|c, m| p1::path_link(c, m, ROOT, 0, PATH, l1, ROOT, PATH2, l2))
    }

    pub(crate) fn readlink(&mut self, path: &str) -> R<String> {
        let len = self.put(PATH, path.as_bytes());
        self.call(|c, m| p1::path_readlink(c, m, ROOT, PATH, len, BUF, 1024, OUT))?;
        let n = self.u32_at(OUT) as usize;
        Ok(String::from_utf8_lossy(&self.mem[BUF as usize..BUF as usize + n]).into_owned())
    }

    /// Writes a whole file (created or truncated).
    pub(crate) fn create(&mut self, path: &str, data: &[u8]) -> R<()> {
        let fd = self.open(ROOT, path, oflags::CREAT | oflags::TRUNC, false)?;
        let r = self.write(fd, data);
        self.close(fd)?;
        r.map(drop)
    }

    /// One `fd_readdir` call from `cookie`: the complete entries `(name, type,
    /// next)` and whether the buffer was full.
    pub(crate) fn readdir_page(
        &mut self,
        fd: u32,
        cookie: u64,
        buf_len: u32,
    ) -> R<(Vec<Entry>, bool)> {
        self.call(|c, m| p1::fd_readdir(c, m, fd, BUF, buf_len, cookie, OUT))?;
        let used = self.u32_at(OUT) as usize;
        let buf = &self.mem[BUF as usize..BUF as usize + used];
        let mut at = 0;
        let mut out = Vec::new();
        while at + 24 <= used {
            let next = u64::from_le_bytes(buf[at..at + 8].try_into().expect("8"));
            let namlen = u32::from_le_bytes(buf[at + 16..at + 20].try_into().expect("4")) as usize;
            let kind = buf[at + 20];
            if at + 24 + namlen > used {
                break;
            }
            let name = String::from_utf8_lossy(&buf[at + 24..at + 24 + namlen]).into_owned();
            out.push((name, kind, next));
            at += 24 + namlen;
        }
        Ok((out, used == buf_len as usize))
    }

    /// Lists `path` whole with a buffer of `buf_len`, as wasi-libc does.
    pub(crate) fn list(&mut self, path: &str, buf_len: u32) -> R<Vec<String>> {
        let fd = self.open(ROOT, path, oflags::DIRECTORY, false)?;
        let mut names = Vec::new();
        let mut cookie = 0;
        loop {
            let (page, full) = self.readdir_page(fd, cookie, buf_len)?;
            if let Some(last) = page.last() {
                cookie = last.2;
            }
            let progressed = !page.is_empty();
            names.extend(page.into_iter().map(|e| e.0));
            if !full {
                break;
            }
            if !progressed {
                self.close(fd)?;
                return Err(Errno::Inval);
            }
        }
        self.close(fd)?;
        Ok(names)
    }
}
