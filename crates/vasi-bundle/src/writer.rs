//! Writing bundles: images built from host directories, tar archives or by
//! hand, laid out deterministically.

use crate::image::{
    bad_name, symlink_escapes, ENTRY, HEADER, KIND_DIR, KIND_FILE, KIND_SYMLINK, NODE,
};
use crate::{normalize_guest_path, tag, wasm, Config, MountMode, FORMAT_VERSION, MAGIC};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io::{Read, Write};
use std::path::Path;

/// Why a bundle could not be packed. Each message is one line.
#[derive(Debug)]
#[non_exhaustive]
pub enum PackError {
    /// Reading an input failed.
    Io {
        /// The input (a host path, or a tar archive).
        what: String,
        /// The error.
        error: std::io::Error,
    },
    /// An input entry cannot go into an image: it would escape its mount
    /// (`..`, an absolute path, a symlink pointing out), its name is not
    /// UTF-8, or it clashes with another entry.
    Entry {
        /// The entry's path.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// Two mounts at the same guest path, or a bad guest path.
    Mount(String),
    /// The module is not a core module, or already a bundle.
    Module(String),
    /// The bundle would exceed the 4 GiB a wasm section can hold.
    TooLarge,
}

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PackError::Io { what, error } => write!(f, "cannot read {what}: {error}"),
            PackError::Entry { path, why } => write!(f, "cannot pack {path:?}: {why}"),
            PackError::Mount(why) => f.write_str(why),
            PackError::Module(why) => f.write_str(why),
            PackError::TooLarge => {
                f.write_str("the bundle would exceed 4 GiB, the most a wasm section can hold")
            }
        }
    }
}

impl std::error::Error for PackError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PackError::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

fn entry_err(path: &str, why: impl Into<String>) -> PackError {
    PackError::Entry {
        path: path.to_string(),
        why: why.into(),
    }
}

enum TNode {
    Dir {
        children: BTreeMap<String, usize>,
        mtime: u64,
    },
    File {
        data: Vec<u8>,
        mtime: u64,
    },
    Symlink {
        target: String,
        mtime: u64,
    },
}

/// A filesystem image being built. Entries are kept sorted, so the same
/// tree always gives the same bytes, whatever order it was built in.
///
/// Times are nanoseconds since the Unix epoch; [`add_host_dir`] and
/// [`add_tar`] record 0 unless [`keep_times`] is set, so that packing the
/// same files twice gives the same image.
///
/// [`add_host_dir`]: ImageBuilder::add_host_dir
/// [`add_tar`]: ImageBuilder::add_tar
/// [`keep_times`]: ImageBuilder::keep_times
pub struct ImageBuilder {
    nodes: Vec<TNode>,
    keep_times: bool,
}

impl fmt::Debug for ImageBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImageBuilder")
            .field("nodes", &self.nodes.len())
            .finish_non_exhaustive()
    }
}

impl Default for ImageBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// The components of an image path; refuses absolute paths and `..`.
fn components(path: &str) -> Result<Vec<&str>, PackError> {
    if path.starts_with('/') {
        return Err(entry_err(path, "is absolute (it would escape its mount)"));
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(entry_err(path, "contains `..` (it would escape its mount)")),
            p => {
                if let Some(why) = bad_name(p.as_bytes()) {
                    return Err(entry_err(path, format!("has a component that {why}")));
                }
                parts.push(p);
            }
        }
    }
    Ok(parts)
}

impl ImageBuilder {
    /// An image with an empty root directory.
    pub fn new() -> Self {
        ImageBuilder {
            nodes: vec![TNode::Dir {
                children: BTreeMap::new(),
                mtime: 0,
            }],
            keep_times: false,
        }
    }

    /// Whether `add_host_dir` and `add_tar` record the inputs' modification
    /// times (default: no, every time is 0).
    pub fn keep_times(&mut self, keep: bool) -> &mut Self {
        self.keep_times = keep;
        self
    }

    /// The directory `parts`, created with its parents if missing.
    fn dir_at(&mut self, full: &str, parts: &[&str]) -> Result<usize, PackError> {
        let mut cur = 0;
        for part in parts {
            let next = match &self.nodes[cur] {
                TNode::Dir { children, .. } => children.get(*part).copied(),
                _ => {
                    return Err(entry_err(
                        full,
                        "lies below something that is not a directory",
                    ))
                }
            };
            cur = match next {
                Some(n) => n,
                None => {
                    let n = self.nodes.len();
                    self.nodes.push(TNode::Dir {
                        children: BTreeMap::new(),
                        mtime: 0,
                    });
                    if let TNode::Dir { children, .. } = &mut self.nodes[cur] {
                        children.insert(part.to_string(), n);
                    }
                    n
                }
            };
        }
        if !matches!(self.nodes[cur], TNode::Dir { .. }) {
            return Err(entry_err(
                full,
                "lies below something that is not a directory",
            ));
        }
        Ok(cur)
    }

    /// The directory and name where `path` goes, its parents created;
    /// refuses to replace a directory.
    fn slot(&mut self, path: &str) -> Result<(usize, String), PackError> {
        let parts = components(path)?;
        let Some((name, parents)) = parts.split_last() else {
            return Err(entry_err(path, "names the image root"));
        };
        let dir = self.dir_at(path, parents)?;
        if let TNode::Dir { children, .. } = &self.nodes[dir] {
            if let Some(&old) = children.get(*name) {
                if matches!(self.nodes[old], TNode::Dir { .. }) {
                    return Err(entry_err(path, "is both a directory and a file"));
                }
            }
        }
        Ok((dir, name.to_string()))
    }

    /// Puts `node` (an index, or a new node) at `path`, replacing a file or
    /// symlink there (a later entry of a tar archive wins, as when
    /// extracting it).
    fn place(&mut self, path: &str, node: Result<usize, TNode>) -> Result<(), PackError> {
        let (dir, name) = self.slot(path)?;
        let n = match node {
            Ok(n) => n,
            Err(new) => {
                self.nodes.push(new);
                self.nodes.len() - 1
            }
        };
        if let TNode::Dir { children, .. } = &mut self.nodes[dir] {
            children.insert(name, n);
        }
        Ok(())
    }

    /// Adds the directory `path` (and its parents), with modification time
    /// `mtime`.
    ///
    /// # Errors
    /// `path` is absolute, climbs with `..`, or lies below a file.
    pub fn add_dir(&mut self, path: &str, mtime: u64) -> Result<(), PackError> {
        let parts = components(path)?;
        if let Some((name, parents)) = parts.split_last() {
            let parent = self.dir_at(path, parents)?;
            if let TNode::Dir { children, .. } = &self.nodes[parent] {
                if let Some(&old) = children.get(*name) {
                    if !matches!(self.nodes[old], TNode::Dir { .. }) {
                        return Err(entry_err(path, "is both a directory and a file"));
                    }
                }
            }
        }
        let d = self.dir_at(path, &parts)?;
        if let TNode::Dir { mtime: t, .. } = &mut self.nodes[d] {
            *t = mtime;
        }
        Ok(())
    }

    /// Adds the regular file `path` holding `data`.
    ///
    /// # Errors
    /// As [`add_dir`](ImageBuilder::add_dir), or `path` is a directory.
    pub fn add_file(&mut self, path: &str, data: Vec<u8>, mtime: u64) -> Result<(), PackError> {
        self.place(path, Err(TNode::File { data, mtime }))
    }

    /// Adds the symlink `path` pointing at `target`.
    ///
    /// # Errors
    /// As [`add_file`](ImageBuilder::add_file), or `target` is absolute or
    /// climbs above the image root with `..`.
    pub fn add_symlink(&mut self, path: &str, target: &str, mtime: u64) -> Result<(), PackError> {
        let depth = components(path)?.len().saturating_sub(1);
        if let Some(why) = symlink_escapes(target, depth) {
            return Err(entry_err(&format!("{path} -> {target}"), why));
        }
        let target = target.to_string();
        self.place(path, Err(TNode::Symlink { target, mtime }))
    }

    /// Adds `path` as a hard link to the existing file or symlink `target`
    /// (both paths in the image).
    ///
    /// # Errors
    /// `target` does not exist or is a directory, or as
    /// [`add_file`](ImageBuilder::add_file).
    pub fn add_hard_link(&mut self, path: &str, target: &str) -> Result<(), PackError> {
        let tparts = components(target)?;
        let mut cur = 0;
        for part in &tparts {
            cur = match &self.nodes[cur] {
                TNode::Dir { children, .. } => *children.get(*part).ok_or_else(|| {
                    entry_err(
                        path,
                        format!("links to {target:?}, which is not in the image"),
                    )
                })?,
                _ => {
                    return Err(entry_err(
                        path,
                        format!("links to {target:?}, which is not in the image"),
                    ))
                }
            };
        }
        if let TNode::Symlink { target: t, .. } = &self.nodes[cur] {
            let depth = components(path)?.len().saturating_sub(1);
            if let Some(why) = symlink_escapes(t, depth) {
                return Err(entry_err(path, why));
            }
        }
        if matches!(self.nodes[cur], TNode::Dir { .. }) {
            return Err(entry_err(
                path,
                format!("links to the directory {target:?}"),
            ));
        }
        self.place(path, Ok(cur))
    }

    /// Adds everything below the host directory `host` at the image root:
    /// directories, regular files and symlinks (other kinds, such as
    /// sockets and devices, are skipped). Symlinks are kept as links, so
    /// one pointing outside `host` (absolute, or climbing above it) is an
    /// error. Hard links on the host become separate files.
    ///
    /// # Errors
    /// Reading `host` fails, a name is not UTF-8, or a symlink points out.
    pub fn add_host_dir(&mut self, host: &Path) -> Result<(), PackError> {
        let meta = std::fs::metadata(host).map_err(|error| PackError::Io {
            what: host.display().to_string(),
            error,
        })?;
        if !meta.is_dir() {
            return Err(PackError::Io {
                what: host.display().to_string(),
                error: std::io::Error::other("not a directory"),
            });
        }
        if self.keep_times {
            self.set_root_mtime(mtime_of(&meta));
        }
        self.add_host_tree(host, "")
    }

    fn set_root_mtime(&mut self, t: u64) {
        if let TNode::Dir { mtime, .. } = &mut self.nodes[0] {
            *mtime = t;
        }
    }

    fn add_host_tree(&mut self, host: &Path, prefix: &str) -> Result<(), PackError> {
        let io = |p: &Path, error| PackError::Io {
            what: p.display().to_string(),
            error,
        };
        let mut entries: Vec<(String, std::path::PathBuf)> = Vec::new();
        for entry in std::fs::read_dir(host).map_err(|e| io(host, e))? {
            let entry = entry.map_err(|e| io(host, e))?;
            let name = entry.file_name().into_string().map_err(|n| {
                entry_err(
                    &format!("{prefix}{}", n.to_string_lossy()),
                    "has a name that is not UTF-8",
                )
            })?;
            entries.push((name, entry.path()));
        }
        entries.sort();
        for (name, path) in entries {
            let ipath = format!("{prefix}{name}");
            let meta = std::fs::symlink_metadata(&path).map_err(|e| io(&path, e))?;
            let mtime = if self.keep_times { mtime_of(&meta) } else { 0 };
            if meta.is_dir() {
                self.add_dir(&ipath, mtime)?;
                self.add_host_tree(&path, &format!("{ipath}/"))?;
            } else if meta.is_file() {
                let data = std::fs::read(&path).map_err(|e| io(&path, e))?;
                self.add_file(&ipath, data, mtime)?;
            } else if meta.is_symlink() {
                let target = std::fs::read_link(&path).map_err(|e| io(&path, e))?;
                let target = target
                    .to_str()
                    .ok_or_else(|| entry_err(&ipath, "has a symlink target that is not UTF-8"))?;
                self.add_symlink(&ipath, target, mtime)?;
            }
        }
        Ok(())
    }

    /// Adds the entries of the tar archive `reader` at the image root:
    /// directories, regular files, symlinks and hard links (other kinds are
    /// skipped). `what` names the archive in errors.
    ///
    /// # Errors
    /// The archive cannot be read, or an entry is absolute, climbs out with
    /// `..`, is a symlink pointing out, or is not UTF-8.
    pub fn add_tar(&mut self, reader: impl Read, what: &str) -> Result<(), PackError> {
        let io = |error| PackError::Io {
            what: what.to_string(),
            error,
        };
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries().map_err(io)? {
            let mut entry = entry.map_err(io)?;
            let raw = entry.path_bytes().into_owned();
            let path = String::from_utf8(raw)
                .map_err(|e| entry_err(&String::from_utf8_lossy(e.as_bytes()), "is not UTF-8"))?;
            let header = entry.header();
            let kind = header.entry_type();
            let mtime = if self.keep_times {
                header.mtime().unwrap_or(0).saturating_mul(1_000_000_000)
            } else {
                0
            };
            let is_root =
                !path.starts_with('/') && path.split('/').all(|c| c.is_empty() || c == ".");
            if kind.is_dir() {
                if is_root {
                    self.set_root_mtime(mtime);
                } else {
                    self.add_dir(&path, mtime)?;
                }
            } else if kind.is_file() {
                let mut data = Vec::new();
                entry.read_to_end(&mut data).map_err(io)?;
                self.add_file(&path, data, mtime)?;
            } else if kind.is_symlink() || kind.is_hard_link() {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| entry_err(&path, "is a link without a target"))?;
                let target = std::str::from_utf8(&target)
                    .map_err(|_| entry_err(&path, "has a link target that is not UTF-8"))?
                    .to_string();
                if kind.is_symlink() {
                    self.add_symlink(&path, &target, mtime)?;
                } else {
                    self.add_hard_link(&path, &target)?;
                }
            }
        }
        Ok(())
    }

    /// Lays the image out: nodes breadth-first from the root, each
    /// directory's entries sorted by name.
    fn layout(&self) -> Result<Layout, PackError> {
        let too_large = || PackError::TooLarge;
        let mut index = vec![u32::MAX; self.nodes.len()];
        let mut order: Vec<usize> = vec![0];
        index[0] = 0;
        let mut refs = vec![0u32; self.nodes.len()];
        let mut queue = VecDeque::from([0usize]);
        let mut entries: Vec<u8> = Vec::new();
        let mut strings: Vec<u8> = Vec::new();
        let mut dir_ranges = vec![(0u64, 0u64); self.nodes.len()];
        let mut entry_count: u64 = 0;
        while let Some(d) = queue.pop_front() {
            let TNode::Dir { children, .. } = &self.nodes[d] else {
                continue;
            };
            dir_ranges[d] = (entry_count, children.len() as u64);
            for (name, &child) in children {
                if index[child] == u32::MAX {
                    index[child] = u32::try_from(order.len()).map_err(|_| too_large())?;
                    order.push(child);
                    if matches!(self.nodes[child], TNode::Dir { .. }) {
                        queue.push_back(child);
                    }
                }
                refs[child] += 1;
                let off = u32::try_from(strings.len()).map_err(|_| too_large())?;
                strings.extend_from_slice(name.as_bytes());
                entries.extend_from_slice(&off.to_le_bytes());
                entries.extend_from_slice(&(name.len() as u32).to_le_bytes());
                entries.extend_from_slice(&index[child].to_le_bytes());
                entry_count += 1;
            }
        }
        let mut nodes: Vec<u8> = Vec::with_capacity(order.len() * NODE);
        let mut data_len: u64 = 0;
        for &n in &order {
            let (kind, nlink, mtime, a, b) = match &self.nodes[n] {
                TNode::Dir { children, mtime } => {
                    let subdirs = children
                        .values()
                        .filter(|&&c| matches!(self.nodes[c], TNode::Dir { .. }))
                        .count() as u32;
                    let (first, count) = dir_ranges[n];
                    (KIND_DIR, 2 + subdirs, *mtime, first, count)
                }
                TNode::File { data, mtime } => {
                    let at = data_len;
                    data_len += data.len() as u64;
                    (KIND_FILE, refs[n], *mtime, at, data.len() as u64)
                }
                TNode::Symlink { target, mtime } => {
                    let at = strings.len() as u64;
                    strings.extend_from_slice(target.as_bytes());
                    (KIND_SYMLINK, refs[n], *mtime, at, target.len() as u64)
                }
            };
            nodes.push(kind);
            nodes.extend_from_slice(&[0, 0, 0]);
            nodes.extend_from_slice(&nlink.to_le_bytes());
            nodes.extend_from_slice(&mtime.to_le_bytes());
            nodes.extend_from_slice(&a.to_le_bytes());
            nodes.extend_from_slice(&b.to_le_bytes());
        }
        let mut header = Vec::with_capacity(HEADER);
        header.extend_from_slice(&(order.len() as u32).to_le_bytes());
        header.extend_from_slice(
            &u32::try_from(entry_count)
                .map_err(|_| too_large())?
                .to_le_bytes(),
        );
        header.extend_from_slice(
            &u32::try_from(strings.len())
                .map_err(|_| too_large())?
                .to_le_bytes(),
        );
        header.extend_from_slice(&0u32.to_le_bytes());
        header.extend_from_slice(&data_len.to_le_bytes());
        debug_assert_eq!(entries.len() as u64, entry_count * ENTRY as u64);
        let len = (header.len() + nodes.len() + entries.len() + strings.len()) as u64 + data_len;
        Ok(Layout {
            index: [header, nodes, entries, strings].concat(),
            order,
            len,
        })
    }

    fn write_data(&self, layout: &Layout, out: &mut dyn Write) -> std::io::Result<()> {
        for &n in &layout.order {
            if let TNode::File { data, .. } = &self.nodes[n] {
                out.write_all(data)?;
            }
        }
        Ok(())
    }
}

struct Layout {
    /// Header, nodes, entries and strings.
    index: Vec<u8>,
    /// Tree nodes in output order (file data follows this order).
    order: Vec<usize>,
    /// The whole image's length.
    len: u64,
}

fn mtime_of(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A bundle being put together: a configuration and images with their
/// mount points, written after a module by [`write`](BundleBuilder::write).
#[derive(Debug)]
pub struct BundleBuilder {
    config: Config,
    mounts: Vec<(String, MountMode, ImageBuilder)>,
}

fn record(out: &mut Vec<u8>, t: u8, payload: &[u8]) {
    out.push(t);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
}

fn config_records(c: &Config) -> Result<Vec<u8>, PackError> {
    let mut out = Vec::new();
    let check = |what: &str, s: &str| {
        if s.contains('\0') {
            Err(PackError::Mount(format!(
                "{what} {s:?} contains a NUL byte"
            )))
        } else {
            Ok(())
        }
    };
    if let Some(a) = &c.argv0 {
        check("argv0", a)?;
        record(&mut out, tag::ARGV0, a.as_bytes());
    }
    for a in &c.args {
        check("argument", a)?;
        record(&mut out, tag::ARG, a.as_bytes());
    }
    for (k, v) in &c.env {
        if k.is_empty() || k.contains('=') {
            return Err(PackError::Mount(format!(
                "bad environment variable name {k:?}"
            )));
        }
        check("environment variable", k)?;
        check("environment variable", v)?;
        let mut p = (k.len() as u32).to_le_bytes().to_vec();
        p.extend_from_slice(k.as_bytes());
        p.extend_from_slice(v.as_bytes());
        record(&mut out, tag::ENV, &p);
    }
    if let Some(seed) = c.deterministic {
        record(&mut out, tag::DETERMINISTIC, &seed.to_le_bytes());
    }
    for (name, value) in &c.globals {
        check("global", name)?;
        let mut p = value.to_le_bytes().to_vec();
        p.extend_from_slice(name.as_bytes());
        record(&mut out, tag::GLOBAL, &p);
    }
    if let Some(m) = c.max_memory {
        record(&mut out, tag::MAX_MEMORY, &m.to_le_bytes());
    }
    if let Some(n) = c.max_open_files {
        record(&mut out, tag::MAX_OPEN_FILES, &n.to_le_bytes());
    }
    if let Some(t) = c.timeout {
        let ns = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX);
        record(&mut out, tag::TIMEOUT, &ns.to_le_bytes());
    }
    if let Some(f) = c.fuel {
        record(&mut out, tag::FUEL, &f.to_le_bytes());
    }
    Ok(out)
}

impl BundleBuilder {
    /// A bundle with `config` and no mounts yet.
    pub fn new(config: Config) -> Self {
        BundleBuilder {
            config,
            mounts: Vec::new(),
        }
    }

    /// Mounts `image` at `guest_path` (normalized by
    /// [`normalize_guest_path`]). Mounts keep this order (preopens get fds 3,
    /// 4, ... in it).
    ///
    /// # Errors
    /// The path is bad, or another image already mounts there.
    pub fn mount(
        &mut self,
        guest_path: &str,
        mode: MountMode,
        image: ImageBuilder,
    ) -> Result<&mut Self, PackError> {
        let path = normalize_guest_path(guest_path).map_err(PackError::Mount)?;
        if self.mounts.iter().any(|(p, _, _)| *p == path) {
            return Err(PackError::Mount(format!(
                "two images would mount at {path}"
            )));
        }
        self.mounts.push((path, mode, image));
        Ok(self)
    }

    /// Writes `module` followed by the bundle section to `out`. The same
    /// inputs always give the same bytes.
    ///
    /// # Errors
    /// `module` is not a core module or is already a bundle, the bundle
    /// would exceed 4 GiB, a configuration string holds a NUL byte, or
    /// writing fails.
    pub fn write(&self, module: &[u8], out: &mut dyn Write) -> Result<(), PackError> {
        match wasm::find_bundle(module) {
            Ok(None) => {}
            Ok(Some(_)) => {
                return Err(PackError::Module(
                    "the module is already a bundle (pack the original module)".into(),
                ))
            }
            Err(e) => return Err(PackError::Module(e.to_string())),
        }
        let mut head = MAGIC.to_vec();
        head.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        head.extend(config_records(&self.config)?);
        let mut layouts = Vec::with_capacity(self.mounts.len());
        let mut total = head.len() as u64;
        for (path, mode, image) in &self.mounts {
            let layout = image.layout()?;
            let mut mh = vec![u8::from(*mode == MountMode::CopyOnWrite)];
            mh.extend_from_slice(&(path.len() as u32).to_le_bytes());
            mh.extend_from_slice(path.as_bytes());
            let len =
                u32::try_from(mh.len() as u64 + layout.len).map_err(|_| PackError::TooLarge)?;
            let mut rh = vec![tag::MOUNT];
            rh.extend_from_slice(&len.to_le_bytes());
            rh.extend(mh);
            total += rh.len() as u64 + layout.len;
            layouts.push((rh, layout, image));
        }
        let section = wasm::section_header(total).ok_or(PackError::TooLarge)?;
        let io = |error| PackError::Io {
            what: "the output".into(),
            error,
        };
        out.write_all(module).map_err(io)?;
        out.write_all(&section).map_err(io)?;
        out.write_all(&head).map_err(io)?;
        for (rh, layout, image) in &layouts {
            out.write_all(rh).map_err(io)?;
            out.write_all(&layout.index).map_err(io)?;
            image.write_data(layout, out).map_err(io)?;
        }
        Ok(())
    }
}
