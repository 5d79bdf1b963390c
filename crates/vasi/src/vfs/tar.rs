//! `TarFs`: a tar archive as a read-only filesystem.

use super::{open_dirs, Dir, MemFs, Node, OpenOptions, ReadOnly, SetTime};
use crate::Errno;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// A filesystem image loaded from a tar archive: its directories, regular files,
/// symlinks and hard links, with their modification times. Other entry kinds
/// (devices, fifos) are skipped; preview1 has no permission bits, so modes do
/// not show.
///
/// The image is read once into memory and served read-only: the guest gets
/// `EROFS` for every change. Stack it under an [`Overlay`](super::Overlay) for a
/// writable image whose changes stay in memory.
///
/// ```
/// let mut builder = tar::Builder::new(Vec::new());
/// let mut header = tar::Header::new_gnu();
/// header.set_size(5);
/// header.set_mode(0o644);
/// header.set_mtime(1_600_000_000);
/// builder.append_data(&mut header, "etc/motd", &b"hello"[..])?;
/// let image = builder.into_inner()?;
///
/// let fs = vasi::vfs::TarFs::from_reader(&image[..])?;
/// let ctx = vasi::WasiCtxBuilder::new().preopen_dir(fs.root(), "/").build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TarFs {
    fs: MemFs,
}

/// Why a tar archive could not be loaded.
#[derive(Debug)]
#[non_exhaustive]
pub enum TarError {
    /// Reading the archive failed.
    Io(std::io::Error),
    /// An entry's path is not UTF-8, is empty, or climbs out with `..`.
    BadPath(String),
    /// An entry could not be created (for example, a hard link to a missing
    /// file, or a file below a regular file).
    Entry {
        /// The entry's path.
        path: String,
        /// What went wrong.
        errno: Errno,
    },
}

impl fmt::Display for TarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TarError::Io(e) => write!(f, "cannot read the tar archive: {e}"),
            TarError::BadPath(p) => write!(f, "unsafe or invalid path in the tar archive: {p:?}"),
            TarError::Entry { path, errno } => {
                write!(f, "cannot load {path:?} from the tar archive: {errno}")
            }
        }
    }
}

impl std::error::Error for TarError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TarError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for TarError {
    fn from(e: std::io::Error) -> Self {
        TarError::Io(e)
    }
}

impl fmt::Debug for TarFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TarFs")
            .field("bytes", &self.fs.used_bytes())
            .field("inodes", &self.fs.used_inodes())
            .finish()
    }
}

/// The components of an archive path, without `.`, empty parts or a leading `/`.
fn components(path: &str) -> Result<Vec<&str>, TarError> {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if parts.is_empty() || parts.contains(&"..") {
        return Err(TarError::BadPath(path.to_string()));
    }
    Ok(parts)
}

impl TarFs {
    /// Loads the tar archive at the host path `path`.
    ///
    /// # Errors
    /// See [`TarFs::from_reader`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, TarError> {
        Self::from_reader(std::fs::File::open(path)?)
    }

    /// Loads a tar archive from `reader`.
    ///
    /// # Errors
    /// The archive cannot be read, holds a path that is not UTF-8 or that
    /// climbs out with `..`, or an entry that cannot be placed.
    pub fn from_reader(reader: impl Read) -> Result<Self, TarError> {
        let fs = MemFs::with_quota(u64::MAX);
        let root = fs.root();
        let mut archive = tar::Archive::new(reader);
        let mut dir_times: Vec<(Vec<String>, u64)> = Vec::new();
        for entry in archive.entries()? {
            let mut entry = entry?;
            let raw = entry.path_bytes().into_owned();
            let path = String::from_utf8(raw)
                .map_err(|e| TarError::BadPath(String::from_utf8_lossy(e.as_bytes()).into()))?;
            // `./` (or `/`) is the root itself, which always exists.
            if entry.header().entry_type().is_dir()
                && path.split('/').all(|c| c.is_empty() || c == ".")
            {
                continue;
            }
            let parts = components(&path)?;
            let fail = |errno| TarError::Entry {
                path: path.clone(),
                errno,
            };
            let (name, parents) = parts.split_last().expect("non-empty");
            let dir = open_dirs(&root, parents, true).map_err(fail)?;
            let mtime = entry
                .header()
                .mtime()
                .unwrap_or(0)
                .saturating_mul(1_000_000_000);
            let kind = entry.header().entry_type();
            if kind.is_dir() {
                match dir.create_dir(name) {
                    Ok(()) | Err(Errno::Exist) => {}
                    Err(e) => return Err(fail(e)),
                }
                dir_times.push((parts.iter().map(|s| s.to_string()).collect(), mtime));
            } else if kind.is_file() {
                let opts = OpenOptions {
                    write: true,
                    create: true,
                    truncate: true,
                    ..OpenOptions::default()
                };
                let Node::File(file) = dir.open(name, &opts).map_err(fail)? else {
                    return Err(fail(Errno::Isdir));
                };
                let mut contents = Vec::new();
                entry.read_to_end(&mut contents)?;
                file.write_at(&contents, 0).map_err(fail)?;
                let t = Some(SetTime::At(mtime));
                file.set_times(t, t).map_err(fail)?;
            } else if kind.is_symlink() {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| TarError::BadPath(path.clone()))?;
                let target =
                    std::str::from_utf8(&target).map_err(|_| TarError::BadPath(path.clone()))?;
                dir.symlink(target, name).map_err(fail)?;
            } else if kind.is_hard_link() {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| TarError::BadPath(path.clone()))?;
                let target = String::from_utf8(target.into_owned())
                    .map_err(|e| TarError::BadPath(String::from_utf8_lossy(e.as_bytes()).into()))?;
                let tparts = components(&target)?;
                let (tname, tparents) = tparts.split_last().expect("non-empty");
                let tdir = open_dirs(&root, tparents, true).map_err(fail)?;
                tdir.hard_link(tname, &*dir, name).map_err(fail)?;
            }
            // Devices, fifos and other kinds have no preview1 equivalent.
        }
        // Directory times last: adding entries changed them.
        for (parts, mtime) in dir_times {
            let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
            let (name, parents) = refs.split_last().expect("non-empty");
            let t = Some(SetTime::At(mtime));
            let dir = open_dirs(&root, parents, true).map_err(|errno| TarError::Entry {
                path: parts.join("/"),
                errno,
            })?;
            let _ = dir.set_times_at(name, t, t);
        }
        Ok(TarFs { fs })
    }

    /// The root directory, read-only, to mount into a guest.
    pub fn root(&self) -> Arc<dyn Dir> {
        Arc::new(ReadOnly::new(self.fs.root()))
    }

    /// Bytes of file content in the image.
    pub fn size(&self) -> u64 {
        self.fs.used_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::Node;

    fn image() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mtime(1_600_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, "./a/file", &b"abc"[..]).unwrap();
        let mut l = tar::Header::new_gnu();
        l.set_entry_type(tar::EntryType::Link);
        l.set_size(0);
        b.append_link(&mut l, "a/hard", "a/file").unwrap();
        let mut s = tar::Header::new_gnu();
        s.set_entry_type(tar::EntryType::Symlink);
        s.set_size(0);
        b.append_link(&mut s, "soft", "a/file").unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn hard_links_symlinks_times_and_read_only() {
        let fs = TarFs::from_reader(&image()[..]).unwrap();
        let root = fs.root();
        let Node::Dir(a) = root.open("a", &OpenOptions::lookup_dir()).unwrap() else {
            panic!("a dir");
        };
        let st = a.stat_at("hard").unwrap();
        assert_eq!(
            (st.nlink, st.size, st.mtim),
            (2, 3, 1_600_000_000_000_000_000)
        );
        assert_eq!(root.read_link("soft").unwrap(), "a/file");
        assert_eq!(a.unlink("file"), Err(Errno::Rofs));
        assert_eq!(fs.size(), 3);
    }

    #[test]
    fn unsafe_paths_are_refused() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        // `append_data` refuses `..`, so write the name into the header directly.
        h.as_old_mut().name[..6].copy_from_slice(b"../esc");
        h.set_cksum();
        b.append(&h, &b"x"[..]).unwrap();
        let image = b.into_inner().unwrap();
        assert!(matches!(
            TarFs::from_reader(&image[..]),
            Err(TarError::BadPath(_))
        ));
    }
}
