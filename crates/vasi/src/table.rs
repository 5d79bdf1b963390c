//! The descriptor table: what each guest fd stands for.

use crate::stdio::{InputStream, OutputStream};
use crate::vfs::{Dir, DirEntry, File, ReadDir};
use crate::Errno;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

/// What an fd stands for. A closed set: no downcasting on the call path.
pub(crate) enum Descriptor {
    /// A byte source (stdin), with the preview1 filetype it reports.
    Reader(InputStream, u8),
    /// A byte sink (stdout, stderr), with the preview1 filetype it reports.
    Writer(OutputStream, u8),
    /// An open regular file.
    File(OpenFile),
    /// An open directory (a preopen or one opened by `path_open`).
    Dir(OpenDir),
    /// A TCP listener the host preopened, with its `fdflags`.
    Listener(std::net::TcpListener, u16),
    /// A TCP connection accepted from a listener, with its `fdflags`.
    Socket(std::net::TcpStream, u16),
}

/// A regular file with the cursor and flags of one open.
pub(crate) struct OpenFile {
    pub(crate) file: Box<dyn File>,
    pub(crate) position: u64,
    pub(crate) read: bool,
    pub(crate) write: bool,
    /// The fd's flags (`fdflags`); `APPEND` decides where writes go.
    pub(crate) flags: u16,
    pub(crate) rights_base: u64,
    pub(crate) rights_inheriting: u64,
    /// Set when the backend did not check that this is not a directory
    /// ([`Dir::open_unchecked`]): the rights a directory opened there would
    /// inherit. [`Table::get_settled`] finds out.
    pub(crate) unchecked: Option<u64>,
}

/// A directory with the state of one open.
pub(crate) struct OpenDir {
    pub(crate) dir: Arc<dyn Dir>,
    /// The guest path it was preopened at, for `fd_prestat_*`.
    pub(crate) preopen: Option<String>,
    /// A listing in progress, kept so that resuming at the next cookie is O(1).
    pub(crate) cursor: Option<DirCursor>,
    pub(crate) rights_base: u64,
    pub(crate) rights_inheriting: u64,
}

/// A listing stopped at `cookie`: the next entry to hand out is `pending` (if
/// the last call ran out of buffer space on it) and then whatever `iter` yields.
pub(crate) struct DirCursor {
    pub(crate) cookie: u64,
    pub(crate) pending: Option<DirEntry>,
    pub(crate) iter: Box<dyn ReadDir>,
}

/// The fd table: O(1) lookup, the lowest free fd reused first (as POSIX does).
pub(crate) struct Table {
    slots: Vec<Option<Descriptor>>,
    free: BinaryHeap<Reverse<u32>>,
    max_open: u32,
}

impl Table {
    pub(crate) fn new(max_open: u32) -> Self {
        Table {
            slots: Vec::new(),
            free: BinaryHeap::new(),
            max_open,
        }
    }

    /// Inserts at the lowest free fd.
    pub(crate) fn push(&mut self, d: Descriptor) -> Result<u32, Errno> {
        if let Some(Reverse(fd)) = self.free.pop() {
            self.slots[fd as usize] = Some(d);
            return Ok(fd);
        }
        let fd = u32::try_from(self.slots.len()).map_err(|_| Errno::Mfile)?;
        if fd >= self.max_open {
            return Err(Errno::Mfile);
        }
        self.slots.push(Some(d));
        Ok(fd)
    }

    #[inline]
    pub(crate) fn get(&mut self, fd: u32) -> Result<&mut Descriptor, Errno> {
        match self.slots.get_mut(fd as usize) {
            Some(Some(d)) => Ok(d),
            _ => Err(Errno::Badf),
        }
    }

    /// The descriptor behind `fd`, shared.
    /// As [`get`](Self::get), with a file opened unchecked turned into the
    /// directory it is, if it is one (for the calls that treat them apart).
    pub(crate) fn get_settled(&mut self, fd: u32) -> Result<&mut Descriptor, Errno> {
        let d = self.get(fd)?;
        let promoted = match d {
            Descriptor::File(f) => match f.unchecked {
                Some(inheriting) => {
                    let dir = f.file.as_dir()?;
                    f.unchecked = None;
                    dir.map(|dir| (dir, inheriting))
                }
                None => None,
            },
            _ => None,
        };
        if let Some((dir, inheriting)) = promoted {
            *d = Descriptor::Dir(OpenDir {
                dir,
                preopen: None,
                cursor: None,
                rights_base: crate::p1::abi::rights::DIRECTORY & inheriting,
                rights_inheriting: inheriting,
            });
        }
        Ok(d)
    }

    pub(crate) fn get_ref(&self, fd: u32) -> Option<&Descriptor> {
        self.slots.get(fd as usize).and_then(Option::as_ref)
    }

    pub(crate) fn max_open(&self) -> u32 {
        self.max_open
    }

    pub(crate) fn remove(&mut self, fd: u32) -> Result<Descriptor, Errno> {
        let d = self
            .slots
            .get_mut(fd as usize)
            .and_then(Option::take)
            .ok_or(Errno::Badf)?;
        self.free.push(Reverse(fd));
        Ok(d)
    }

    /// Moves `from` onto `to` (closing what `to` held); both must be open.
    pub(crate) fn renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        self.get(to)?;
        self.get(from)?;
        if from == to {
            return Ok(());
        }
        let d = self.remove(from)?;
        self.slots[to as usize] = Some(d);
        Ok(())
    }

    /// Open fds, in order.
    pub(crate) fn open_fds(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .map(|(i, _)| i as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink() -> Descriptor {
        Descriptor::Writer(OutputStream::new(Box::new(std::io::sink())), 0)
    }

    #[test]
    fn lowest_free_fd_is_reused() {
        let mut t = Table::new(8);
        for i in 0..5 {
            assert_eq!(t.push(sink()).unwrap(), i);
        }
        t.remove(3).unwrap();
        t.remove(1).unwrap();
        assert_eq!(t.remove(1).err(), Some(Errno::Badf));
        assert_eq!(t.push(sink()).unwrap(), 1);
        assert_eq!(t.push(sink()).unwrap(), 3);
        assert_eq!(t.push(sink()).unwrap(), 5);
        assert!(t.get(7).is_err());
        assert_eq!(t.open_fds().count(), 6);
    }

    #[test]
    fn capacity_and_renumber() {
        let mut t = Table::new(2);
        t.push(sink()).unwrap();
        t.push(sink()).unwrap();
        assert_eq!(t.push(sink()).err(), Some(Errno::Mfile));
        assert_eq!(t.renumber(0, 5).err(), Some(Errno::Badf));
        t.renumber(0, 1).unwrap();
        assert!(t.get(0).is_err());
        assert!(t.get(1).is_ok());
        assert_eq!(t.push(sink()).unwrap(), 0);
    }
}
