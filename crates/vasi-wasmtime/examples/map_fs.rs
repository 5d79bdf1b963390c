//! A user-written filesystem: files served from a `HashMap<String, Vec<u8>>`,
//! read-only, with directories implied by the paths. It is the worked example of
//! docs/filesystems.md; the tests run it with a guest that lists and reads it.
//!
//! `cargo run -p vasi-wasmtime --example map_fs -- app.wasm [ARGS]...` runs
//! `app.wasm` with the map mounted at `/map`.

// FS:begin
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;
use vasi::vfs::{Dir, DirEntry, File, FileType, Node, OpenOptions, ReadDir, Stat};
use vasi::Errno;

/// The whole filesystem: path (`a/b.txt`) to contents.
type Files = Arc<HashMap<String, Vec<u8>>>;

/// A directory: the files whose path starts with `prefix` (`""` or `"a/"`).
struct MapDir {
    files: Files,
    prefix: String,
}

impl MapDir {
    fn child(&self, name: &str) -> Result<(String, bool), Errno> {
        let path = format!("{}{name}", self.prefix);
        if self.files.contains_key(&path) {
            return Ok((path, false));
        }
        let dir = format!("{path}/");
        if self.files.keys().any(|k| k.starts_with(&dir)) {
            return Ok((dir, true));
        }
        Err(Errno::Noent)
    }

    fn stat_of(&self, path: &str, is_dir: bool) -> Stat {
        let size = if is_dir {
            0
        } else {
            self.files[path].len() as u64
        };
        Stat {
            dev: 1,
            // Any number that is stable for a path will do.
            ino: path
                .bytes()
                .fold(7u64, |h, b| h.wrapping_mul(31) ^ u64::from(b)),
            filetype: if is_dir {
                FileType::Directory
            } else {
                FileType::RegularFile
            },
            nlink: 1,
            size,
            atim: 0,
            mtim: 0,
            ctim: 0,
        }
    }
}

impl Dir for MapDir {
    fn open(&self, name: &str, options: &OpenOptions) -> Result<Node, Errno> {
        let (path, is_dir) = match self.child(name) {
            Err(Errno::Noent) if options.create => return Err(Errno::Rofs),
            other => other?,
        };
        if options.write || options.truncate || options.create_new {
            return Err(if options.create_new {
                Errno::Exist
            } else {
                Errno::Rofs
            });
        }
        if is_dir {
            let files = self.files.clone();
            return Ok(Node::Dir(Arc::new(MapDir {
                files,
                prefix: path,
            })));
        }
        if options.directory {
            return Err(Errno::Notdir);
        }
        let stat = self.stat_of(&path, false);
        Ok(Node::File(Box::new(MapFile {
            files: self.files.clone(),
            path,
            stat,
        })))
    }

    fn stat_at(&self, name: &str) -> Result<Stat, Errno> {
        let (path, is_dir) = self.child(name)?;
        Ok(self.stat_of(&path, is_dir))
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat_of(&self.prefix, true))
    }

    fn entries(&self, cookie: u64) -> Result<Box<dyn ReadDir>, Errno> {
        // Immediate children, sorted; a cookie is a position in that list.
        let mut names: Vec<(String, bool)> = Vec::new();
        for key in self.files.keys() {
            if let Some(rest) = key.strip_prefix(&self.prefix) {
                let (name, is_dir) = match rest.split_once('/') {
                    Some((dir, _)) => (dir, true),
                    None => (rest, false),
                };
                if !names.iter().any(|(n, _)| n == name) {
                    names.push((name.to_string(), is_dir));
                }
            }
        }
        names.sort();
        let entries: Vec<DirEntry> = names
            .into_iter()
            .enumerate()
            .map(|(i, (name, is_dir))| {
                let path = format!("{}{name}{}", self.prefix, if is_dir { "/" } else { "" });
                let ino = self.stat_of(&path, is_dir).ino;
                let filetype = if is_dir {
                    FileType::Directory
                } else {
                    FileType::RegularFile
                };
                DirEntry {
                    name,
                    filetype,
                    ino,
                    next: i as u64 + 1,
                }
            })
            .skip(cookie as usize)
            .collect();
        Ok(Box::new(Listing(entries.into_iter())))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct Listing(std::vec::IntoIter<DirEntry>);

impl ReadDir for Listing {
    fn next_entry(&mut self) -> Option<Result<DirEntry, Errno>> {
        self.0.next().map(Ok)
    }
}

struct MapFile {
    files: Files,
    path: String,
    stat: Stat,
}

impl File for MapFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
        let data = &self.files[&self.path];
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    fn write_at(&self, _buf: &[u8], _offset: u64) -> Result<usize, Errno> {
        Err(Errno::Badf) // never reached: the core refuses writes to a read-only open
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.stat)
    }

    fn set_len(&self, _size: u64) -> Result<(), Errno> {
        Err(Errno::Rofs)
    }
}

/// Mounts a map of files into a guest at `/map`.
fn map_fs(files: HashMap<String, Vec<u8>>) -> Arc<dyn Dir> {
    Arc::new(MapDir {
        files: Arc::new(files),
        prefix: String::new(),
    })
}
// FS:end

fn main() -> Result<(), Box<dyn std::error::Error>> {
    use vasi::{WasiCtx, WasiCtxBuilder};
    use wasmtime::{Engine, Linker, Module, Store};

    let args: Vec<String> = std::env::args().skip(1).collect();
    let wasm = args.first().ok_or("usage: map_fs APP.wasm [ARGS]...")?;
    let files = HashMap::from([
        ("hello.txt".to_string(), b"Hello from a HashMap!\n".to_vec()),
        ("docs/a.txt".to_string(), b"first\n".to_vec()),
        ("docs/deeper/b.txt".to_string(), b"second\n".to_vec()),
    ]);
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    vasi_wasmtime::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx)?;
    let ctx = WasiCtxBuilder::new()
        .args(&args)
        .inherit_stdio()
        .preopen_dir(map_fs(files), "/map")
        .build()?;
    let mut store = Store::new(&engine, ctx);
    let module = Module::from_file(&engine, wasm)?;
    let instance = linker.instantiate(&mut store, &module)?;
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    std::process::exit(vasi_wasmtime::exit_code(start.call(&mut store, ()))?);
}
