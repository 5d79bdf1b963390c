//! Reading a filesystem image in place: an index of fixed-size records over
//! the bundle's bytes, served as a read-only [`Dir`].
//!
//! The layout is in docs/bundle.md. Opening an image checks its index once
//! (sizes, names, sorting, tree shape, symlink targets) without reading any
//! file data or building any structure besides a byte per node; every lookup
//! after that is a binary search over one directory's sorted entries, and a
//! read copies straight from the bundle's bytes into the guest's buffer.

use crate::{BundleError, Source};
use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use vasi::vfs::{Dir, DirEntry, File, FileType, Node, OpenOptions, ReadDir, SetTime, Stat};
use vasi::Errno;

/// Size of the image header.
pub(crate) const HEADER: usize = 24;
/// Size of one node record.
pub(crate) const NODE: usize = 32;
/// Size of one directory entry record.
pub(crate) const ENTRY: usize = 12;
/// Node kinds.
pub(crate) const KIND_DIR: u8 = 1;
pub(crate) const KIND_FILE: u8 = 2;
pub(crate) const KIND_SYMLINK: u8 = 3;
/// The longest name a directory entry may have (Linux's `NAME_MAX`).
pub(crate) const MAX_NAME: usize = 255;

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        a.copy_from_slice(s);
    }
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        a.copy_from_slice(s);
    }
    u64::from_le_bytes(a)
}

/// Why `name` cannot be one directory entry's name, if it cannot.
pub(crate) fn bad_name(name: &[u8]) -> Option<&'static str> {
    match name {
        b"" => Some("is empty"),
        b"." | b".." => Some("is `.` or `..`, which would climb out of its directory"),
        _ if name.len() > MAX_NAME => Some("is longer than 255 bytes"),
        _ if name.contains(&b'/') => Some("contains `/`"),
        _ if name.contains(&0) => Some("contains a NUL byte"),
        _ if std::str::from_utf8(name).is_err() => Some("is not UTF-8"),
        _ => None,
    }
}

/// Why the symlink `target`, in a directory `depth` levels below the image
/// root, could point outside the image, if it could.
pub(crate) fn symlink_escapes(target: &str, depth: usize) -> Option<&'static str> {
    if target.is_empty() {
        return Some("has an empty target");
    }
    if target.contains('\0') {
        return Some("has a NUL byte in its target");
    }
    if target.starts_with('/') {
        return Some("points outside its mount (an absolute target)");
    }
    let mut level = depth;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => match level.checked_sub(1) {
                Some(l) => level = l,
                None => return Some("points outside its mount (`..` above the image root)"),
            },
            _ => level += 1,
        }
    }
    None
}

/// What an image holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImageStats {
    /// Regular files (a hard-linked file counts once).
    pub files: u64,
    /// Directories, the root included.
    pub dirs: u64,
    /// Symbolic links.
    pub symlinks: u64,
    /// Bytes of file content.
    pub bytes: u64,
}

#[derive(Clone, Copy, Debug)]
struct NodeRec {
    kind: u8,
    nlink: u32,
    mtime: u64,
    a: u64,
    b: u64,
}

/// A checked image over the bundle's bytes.
pub(crate) struct ImageInner {
    src: Source,
    nodes: usize,
    entries: usize,
    strings: usize,
    strings_len: u64,
    data: usize,
    node_count: u32,
    entry_count: u32,
    dev: u64,
    stats: ImageStats,
}

/// A device number per opened image, apart from the core's (which count up
/// from 1) and from real devices in practice.
fn new_dev() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0x5641_5349_0000_0000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl ImageInner {
    fn bytes(&self) -> &[u8] {
        (*self.src).as_ref()
    }

    fn node(&self, i: u32) -> Option<NodeRec> {
        if i >= self.node_count {
            return None;
        }
        let off = self.nodes + i as usize * NODE;
        let r = self.bytes().get(off..off + NODE)?;
        Some(NodeRec {
            kind: r[0],
            nlink: u32_at(r, 4),
            mtime: u64_at(r, 8),
            a: u64_at(r, 16),
            b: u64_at(r, 24),
        })
    }

    fn string(&self, off: u64, len: u64) -> Option<&[u8]> {
        let end = off.checked_add(len).filter(|&e| e <= self.strings_len)?;
        let start = self.strings.checked_add(usize::try_from(off).ok()?)?;
        let end = self.strings.checked_add(usize::try_from(end).ok()?)?;
        self.bytes().get(start..end)
    }

    /// Entry `i`: its name and node.
    fn entry(&self, i: u64) -> Option<(&[u8], u32)> {
        if i >= u64::from(self.entry_count) {
            return None;
        }
        let off = self.entries + i as usize * ENTRY;
        let r = self.bytes().get(off..off + ENTRY)?;
        let name = self.string(u64::from(u32_at(r, 0)), u64::from(u32_at(r, 4)))?;
        Some((name, u32_at(r, 8)))
    }

    /// The node named `name` in the directory `dir`.
    fn lookup(&self, dir: &NodeRec, name: &[u8]) -> Result<(u32, NodeRec), Errno> {
        let (mut lo, mut hi) = (dir.a, dir.a.checked_add(dir.b).ok_or(Errno::Io)?);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (n, node) = self.entry(mid).ok_or(Errno::Io)?;
            match n.cmp(name) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    return Ok((node, self.node(node).ok_or(Errno::Io)?));
                }
            }
        }
        Err(Errno::Noent)
    }

    fn stat_of(&self, i: u32, n: &NodeRec) -> Stat {
        Stat {
            dev: self.dev,
            ino: u64::from(i) + 1,
            filetype: filetype(n.kind),
            nlink: u64::from(n.nlink),
            size: n.b,
            atim: n.mtime,
            mtim: n.mtime,
            ctim: n.mtime,
        }
    }

    pub(crate) fn stats(&self) -> ImageStats {
        self.stats
    }
}

fn filetype(kind: u8) -> FileType {
    match kind {
        KIND_DIR => FileType::Directory,
        KIND_FILE => FileType::RegularFile,
        KIND_SYMLINK => FileType::SymbolicLink,
        _ => FileType::Unknown,
    }
}

/// One directory being checked: its node, its next entry and the entry that
/// led to it (for error messages).
struct Frame {
    start: u64,
    next: u64,
    end: u64,
    depth: usize,
    via: Option<u64>,
}

/// Checks the image at `range` of `src` (mounted at `mount`, for messages).
pub(crate) fn open(
    src: &Source,
    range: std::ops::Range<usize>,
    mount: &str,
) -> Result<ImageInner, BundleError> {
    let bytes: &[u8] = (**src).as_ref();
    let corrupt = |what: String| BundleError::Corrupt(format!("image of {mount}: {what}"));
    let img = bytes
        .get(range.clone())
        .ok_or_else(|| corrupt("out of bounds".into()))?;
    if img.len() < HEADER {
        return Err(corrupt("shorter than its header (truncated?)".into()));
    }
    let node_count = u32_at(img, 0);
    let entry_count = u32_at(img, 4);
    let strings_len = u64::from(u32_at(img, 8));
    let reserved = u32_at(img, 12);
    let data_len = u64_at(img, 16);
    if reserved != 0 {
        return Err(corrupt("reserved header field is not zero".into()));
    }
    let total = (HEADER as u64)
        .checked_add(u64::from(node_count) * NODE as u64)
        .and_then(|t| t.checked_add(u64::from(entry_count) * ENTRY as u64))
        .and_then(|t| t.checked_add(strings_len))
        .and_then(|t| t.checked_add(data_len));
    if total != Some(img.len() as u64) {
        return Err(corrupt(format!(
            "its tables do not add up to its {} bytes (truncated or corrupt)",
            img.len()
        )));
    }
    let nodes = range.start + HEADER;
    let entries = nodes + node_count as usize * NODE;
    let strings = entries + entry_count as usize * ENTRY;
    let data = strings + strings_len as usize;
    let mut inner = ImageInner {
        src: src.clone(),
        nodes,
        entries,
        strings,
        strings_len,
        data,
        node_count,
        entry_count,
        dev: new_dev(),
        stats: ImageStats::default(),
    };
    check_tree(&mut inner, data_len).map_err(|e| match e {
        TreeError::Corrupt(what) => corrupt(what),
        TreeError::Escape(path, why) => BundleError::Escape {
            mount: mount.to_string(),
            path,
            why: why.to_string(),
        },
    })?;
    Ok(inner)
}

enum TreeError {
    Corrupt(String),
    Escape(String, &'static str),
}

/// Walks the whole index once: every node reachable exactly as the format
/// says, every name and target safe, every range in bounds.
fn check_tree(img: &mut ImageInner, data_len: u64) -> Result<(), TreeError> {
    let c = |s: String| TreeError::Corrupt(s);
    let root = img
        .node(0)
        .ok_or_else(|| c("it has no root directory".into()))?;
    if root.kind != KIND_DIR {
        return Err(c("its root is not a directory".into()));
    }
    let mut seen = vec![false; img.node_count as usize];
    seen[0] = true;
    let mut stats = ImageStats {
        dirs: 1,
        ..ImageStats::default()
    };
    let check_node_fields = |img: &ImageInner, i: u32| -> Result<(), TreeError> {
        let off = img.nodes + i as usize * NODE;
        match img.bytes().get(off + 1..off + 4) {
            Some([0, 0, 0]) => Ok(()),
            _ => Err(c(format!("node {i} has non-zero reserved bytes"))),
        }
    };
    check_node_fields(img, 0)?;
    let dir_range = |n: &NodeRec, i: u32| {
        n.a.checked_add(n.b)
            .filter(|&end| end <= u64::from(img.entry_count))
            .map(|end| (n.a, end))
            .ok_or_else(|| c(format!("directory node {i} lists entries out of bounds")))
    };
    let (next, end) = dir_range(&root, 0)?;
    let mut stack = vec![Frame {
        start: next,
        next,
        end,
        depth: 0,
        via: None,
    }];
    // The path of the entry `e` below the directories on `stack`.
    let path_of = |img: &ImageInner, stack: &[Frame], e: u64| -> String {
        let mut parts: Vec<String> = stack
            .iter()
            .filter_map(|f| f.via)
            .chain(std::iter::once(e))
            .map(|i| {
                img.entry(i)
                    .map(|(n, _)| String::from_utf8_lossy(n).into_owned())
                    .unwrap_or_default()
            })
            .collect();
        parts.retain(|p| !p.is_empty());
        parts.join("/")
    };
    while let Some(frame) = stack.last_mut() {
        if frame.next >= frame.end {
            stack.pop();
            continue;
        }
        let e = frame.next;
        frame.next += 1;
        let (depth, first_of_dir) = (frame.depth, e == frame.start);
        let (name, child) = img
            .entry(e)
            .ok_or_else(|| c(format!("entry {e} names a string out of bounds")))?;
        if let Some(why) = bad_name(name) {
            return Err(TreeError::Escape(path_of(img, &stack, e), why));
        }
        // Entries of one directory are sorted and unique, so that lookups
        // can binary-search them.
        if !first_of_dir {
            let (prev, _) = img
                .entry(e - 1)
                .ok_or_else(|| c(format!("entry {} is out of bounds", e - 1)))?;
            if prev >= name {
                return Err(c(format!(
                    "entries of the directory holding {:?} are not sorted and unique",
                    path_of(img, &stack, e)
                )));
            }
        }
        let node = img
            .node(child)
            .ok_or_else(|| c(format!("entry {e} points at a missing node")))?;
        if child == 0 {
            return Err(c(format!(
                "{:?} links back to the root",
                path_of(img, &stack, e)
            )));
        }
        match node.kind {
            KIND_DIR => {
                if seen[child as usize] {
                    return Err(c(format!(
                        "directory {:?} is linked twice",
                        path_of(img, &stack, e)
                    )));
                }
                seen[child as usize] = true;
                check_node_fields(img, child)?;
                stats.dirs += 1;
                let (next, end) = dir_range(&node, child)?;
                stack.push(Frame {
                    start: next,
                    next,
                    end,
                    depth: depth + 1,
                    via: Some(e),
                });
            }
            KIND_FILE => {
                if node.a.checked_add(node.b).is_none_or(|end| end > data_len) {
                    return Err(c(format!(
                        "the data of {:?} is out of bounds",
                        path_of(img, &stack, e)
                    )));
                }
                if !seen[child as usize] {
                    seen[child as usize] = true;
                    check_node_fields(img, child)?;
                    stats.files += 1;
                    stats.bytes += node.b;
                }
            }
            KIND_SYMLINK => {
                let target = img
                    .string(node.a, node.b)
                    .and_then(|t| std::str::from_utf8(t).ok())
                    .ok_or_else(|| {
                        c(format!(
                            "the target of {:?} is out of bounds or not UTF-8",
                            path_of(img, &stack, e)
                        ))
                    })?;
                if let Some(why) = symlink_escapes(target, depth) {
                    return Err(TreeError::Escape(
                        format!("{} -> {target}", path_of(img, &stack, e)),
                        why,
                    ));
                }
                if !seen[child as usize] {
                    seen[child as usize] = true;
                    check_node_fields(img, child)?;
                    stats.symlinks += 1;
                }
            }
            k => {
                return Err(c(format!(
                    "{:?} has unknown node kind {k}",
                    path_of(img, &stack, e)
                )))
            }
        }
    }
    if let Some(i) = seen.iter().position(|s| !s) {
        return Err(c(format!("node {i} is not reachable from the root")));
    }
    img.stats = stats;
    Ok(())
}

/// The root of an image, or a directory in it.
pub(crate) struct ImageDir {
    img: Arc<ImageInner>,
    node: u32,
}

impl ImageDir {
    pub(crate) fn root(img: Arc<ImageInner>) -> ImageDir {
        ImageDir { img, node: 0 }
    }

    fn rec(&self) -> Result<NodeRec, Errno> {
        self.img.node(self.node).ok_or(Errno::Io)
    }

    fn child(&self, name: &str) -> Result<(u32, NodeRec), Errno> {
        self.img.lookup(&self.rec()?, name.as_bytes())
    }
}

impl Dir for ImageDir {
    fn open(&self, name: &str, options: &OpenOptions) -> Result<Node, Errno> {
        let (i, n) = match self.child(name) {
            Ok(found) => found,
            Err(Errno::Noent) if options.create || options.create_new => return Err(Errno::Rofs),
            Err(e) => return Err(e),
        };
        if options.create_new {
            return Err(Errno::Exist);
        }
        match n.kind {
            KIND_DIR if options.write || options.truncate => Err(Errno::Isdir),
            KIND_DIR => Ok(Node::Dir(Arc::new(ImageDir {
                img: self.img.clone(),
                node: i,
            }))),
            KIND_FILE if options.directory => Err(Errno::Notdir),
            KIND_FILE if options.write || options.truncate => Err(Errno::Rofs),
            KIND_FILE => Ok(Node::File(Box::new(ImageFile {
                img: self.img.clone(),
                node: i,
                rec: n,
            }))),
            KIND_SYMLINK => Err(Errno::Loop),
            _ => Err(Errno::Io),
        }
    }

    fn stat_at(&self, name: &str) -> Result<Stat, Errno> {
        let (i, n) = self.child(name)?;
        Ok(self.img.stat_of(i, &n))
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.img.stat_of(self.node, &self.rec()?))
    }

    fn create_dir(&self, _name: &str) -> Result<(), Errno> {
        Err(Errno::Rofs)
    }

    fn remove_dir(&self, _name: &str) -> Result<(), Errno> {
        Err(Errno::Rofs)
    }

    fn unlink(&self, _name: &str) -> Result<(), Errno> {
        Err(Errno::Rofs)
    }

    fn rename(&self, _name: &str, _to: &dyn Dir, _to_name: &str) -> Result<(), Errno> {
        Err(Errno::Rofs)
    }

    fn read_link(&self, name: &str) -> Result<String, Errno> {
        let (_, n) = self.child(name)?;
        if n.kind != KIND_SYMLINK {
            return Err(Errno::Inval);
        }
        let target = self.img.string(n.a, n.b).ok_or(Errno::Io)?;
        String::from_utf8(target.to_vec()).map_err(|_| Errno::Io)
    }

    fn symlink(&self, _target: &str, _name: &str) -> Result<(), Errno> {
        Err(Errno::Rofs)
    }

    fn hard_link(&self, _name: &str, _to: &dyn Dir, _to_name: &str) -> Result<(), Errno> {
        Err(Errno::Rofs)
    }

    fn set_times_at(
        &self,
        _name: &str,
        _atime: Option<SetTime>,
        _mtime: Option<SetTime>,
    ) -> Result<(), Errno> {
        Err(Errno::Rofs)
    }

    fn set_times(&self, _atime: Option<SetTime>, _mtime: Option<SetTime>) -> Result<(), Errno> {
        Err(Errno::Rofs)
    }

    fn entries(&self, cookie: u64) -> Result<Box<dyn ReadDir>, Errno> {
        let n = self.rec()?;
        Ok(Box::new(ImageReadDir {
            img: self.img.clone(),
            first: n.a,
            count: n.b,
            pos: cookie,
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct ImageReadDir {
    img: Arc<ImageInner>,
    first: u64,
    count: u64,
    pos: u64,
}

impl ReadDir for ImageReadDir {
    fn next_entry(&mut self) -> Option<Result<DirEntry, Errno>> {
        if self.pos >= self.count {
            return None;
        }
        let e = self.first.checked_add(self.pos)?;
        self.pos += 1;
        let found = self.img.entry(e).and_then(|(name, node)| {
            let n = self.img.node(node)?;
            Some(DirEntry {
                name: std::str::from_utf8(name).ok()?.to_string(),
                filetype: filetype(n.kind),
                ino: u64::from(node) + 1,
                next: self.pos,
            })
        });
        Some(found.ok_or(Errno::Io))
    }
}

/// A regular file of an image: reads copy from the bundle's bytes.
struct ImageFile {
    img: Arc<ImageInner>,
    node: u32,
    rec: NodeRec,
}

impl File for ImageFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        let size = self.rec.b;
        if offset >= size || buf.is_empty() {
            return Ok(0);
        }
        let n = (size - offset).min(buf.len() as u64) as usize;
        let start = self
            .rec
            .a
            .checked_add(offset)
            .and_then(|o| usize::try_from(o).ok())
            .and_then(|o| self.img.data.checked_add(o))
            .ok_or(Errno::Io)?;
        let src = self.img.bytes().get(start..start + n).ok_or(Errno::Io)?;
        buf[..n].copy_from_slice(src);
        Ok(n)
    }

    fn write_at(&self, _buf: &[u8], _offset: u64) -> Result<usize, Errno> {
        Err(Errno::Rofs)
    }

    fn append(&self, _buf: &[u8]) -> Result<(usize, u64), Errno> {
        Err(Errno::Rofs)
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.img.stat_of(self.node, &self.rec))
    }

    fn set_len(&self, _size: u64) -> Result<(), Errno> {
        Err(Errno::Rofs)
    }

    fn set_times(&self, _atime: Option<SetTime>, _mtime: Option<SetTime>) -> Result<(), Errno> {
        Err(Errno::Rofs)
    }
}
