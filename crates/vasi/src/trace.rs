//! The hostcall trace: a [`Hook`] that writes one line per hostcall, strace
//! style, with decoded arguments, the result and the time it took.
//!
//! ```text
//! path_open(fd=3</data>, dirflags=SYMLINK_FOLLOW, path="notes.txt", oflags=CREAT|TRUNC, fs_rights_base=0x40, fs_rights_inheriting=0x0, fdflags=0) = 0 -> fd=4</data/notes.txt> <0.000011>
//! fd_write(fd=4</data/notes.txt>, iovs=["hello\n"]) = 0 -> nwritten=6 <0.000002>
//! fd_close(fd=4</data/notes.txt>) = 0 <0.000001>
//! fd_read(fd=9, iovs=[1 buffer, 64 bytes]) = EBADF <0.000000>
//! ```
//!
//! Descriptors are shown with what they stand for (stdio, a preopen, the path
//! a `path_open` gave them), flags by name, strings and the first bytes of
//! buffers escaped, errnos by name. `<…>` is the call's duration in seconds.
//!
//! ```
//! use vasi::trace::Tracer;
//! let trace = vasi::CaptureBuffer::new();
//! let mut ctx = vasi::WasiCtxBuilder::new()
//!     .hook(Tracer::new(trace.clone()).durations(false))
//!     .build()?;
//! let mut bytes = [0u8; 16];
//! let mut mem = vasi::GuestMemory::new(&mut bytes);
//! let _ = vasi::p1::dispatch::fd_close(&mut ctx, &mut mem, 7);
//! assert_eq!(trace.to_string_lossy(), "fd_close(fd=7) = EBADF\n");
//! # Ok::<(), vasi::BuildError>(())
//! ```

use crate::hook::{Call, Hook, Verdict, FAMILIES};
use crate::p1::abi::{fdflags, filetype, fstflags, lookupflags, oflags};
use crate::{Error, GuestMemory, WasiCtx};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::time::Duration;

/// How many bytes of a buffer a trace line shows.
const SHOWN_BYTES: usize = 48;

/// Writes a line per hostcall to a writer (see the [module docs](self)).
pub struct Tracer {
    out: Box<dyn Write + Send>,
    families: Option<Vec<&'static str>>,
    durations: bool,
    /// The arguments of the call in progress, decoded before it ran (inputs
    /// can be overwritten by the call itself).
    line: String,
    /// What the descriptors the guest opened stand for.
    names: HashMap<u32, String>,
}

/// A family name that [`Tracer::families`] does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFamily(pub String);

impl std::fmt::Display for UnknownFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown hostcall family {:?} (known: {})",
            self.0,
            FAMILIES.join(", ")
        )
    }
}

impl std::error::Error for UnknownFamily {}

impl Tracer {
    /// A tracer writing to `out`, every call, with durations.
    pub fn new(out: impl Write + Send + 'static) -> Self {
        Tracer {
            out: Box::new(out),
            families: None,
            durations: true,
            line: String::new(),
            names: HashMap::new(),
        }
    }

    /// Traces only the calls of these families (`fd`, `path`, `sock`, ...;
    /// see [`FAMILIES`]).
    ///
    /// # Errors
    /// A name that is not a family.
    pub fn families<S: AsRef<str>>(
        mut self,
        families: impl IntoIterator<Item = S>,
    ) -> Result<Self, UnknownFamily> {
        let mut keep = Vec::new();
        for f in families {
            let f = f.as_ref().trim();
            match FAMILIES.iter().find(|k| **k == f) {
                Some(k) => keep.push(*k),
                None => return Err(UnknownFamily(f.to_string())),
            }
        }
        self.families = Some(keep);
        Ok(self)
    }

    /// Whether lines end with the call's duration (off for byte-identical
    /// traces of deterministic runs).
    pub fn durations(mut self, on: bool) -> Self {
        self.durations = on;
        self
    }

    fn shown(&self, call: &Call<'_>) -> bool {
        self.families
            .as_ref()
            .is_none_or(|f| f.contains(&call.family()))
    }

    /// `fd` with what it stands for.
    fn fd(&self, ctx: &WasiCtx, out: &mut String, fd: u64) {
        let _ = write!(out, "{fd}");
        let fd = fd as u32;
        let name = match self.names.get(&fd) {
            Some(n) => Some(n.as_str()),
            None => ctx.preopen_path(fd).or(match fd {
                0 => Some("stdin"),
                1 => Some("stdout"),
                2 => Some("stderr"),
                _ => None,
            }),
        };
        if let Some(name) = name {
            let _ = write!(out, "<{name}>");
        }
    }

    /// Keeps track of what the call did to the descriptor table.
    fn follow(
        &mut self,
        ctx: &WasiCtx,
        call: &Call<'_>,
        mem: &GuestMemory<'_>,
        path: Option<String>,
    ) {
        let arg = |p| call.arg(p).unwrap_or(0) as u32;
        match call.name() {
            "path_open" => {
                if let Ok(fd) = mem.read_u32(arg("fd_out")) {
                    let mut base = String::new();
                    match self.names.get(&arg("fd")) {
                        Some(n) => base.push_str(n),
                        None => base.push_str(ctx.preopen_path(arg("fd")).unwrap_or("?")),
                    }
                    let path = path.unwrap_or_default();
                    let full = if path.starts_with('/') || base.is_empty() {
                        path
                    } else if base.ends_with('/') {
                        format!("{base}{path}")
                    } else {
                        format!("{base}/{path}")
                    };
                    self.names.insert(fd, full);
                }
            }
            "sock_accept" => {
                if let Ok(fd) = mem.read_u32(arg("result_fd")) {
                    self.names.insert(fd, "socket".into());
                }
            }
            "fd_close" => {
                self.names.remove(&arg("fd"));
            }
            "fd_renumber" => {
                let name = self.names.remove(&arg("fd"));
                match name {
                    Some(n) => self.names.insert(arg("to"), n),
                    None => self.names.remove(&arg("to")),
                };
            }
            _ => {}
        }
    }
}

impl Hook for Tracer {
    fn before(&mut self, ctx: &WasiCtx, call: &Call<'_>, mem: &mut GuestMemory<'_>) -> Verdict {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        line.push_str(call.name());
        line.push('(');
        let mut first = true;
        for (&param, &v) in call.params().iter().zip(call.args()) {
            // Written in place, taken back if the parameter is not shown.
            let mark = line.len();
            if !first {
                line.push_str(", ");
            }
            line.push_str(param.trim_end_matches('_'));
            line.push('=');
            if input(self, ctx, call, mem, param, v, &mut line) {
                first = false;
            } else {
                line.truncate(mark);
            }
        }
        line.push(')');
        self.line = line;
        Verdict::Run
    }

    fn after(
        &mut self,
        ctx: &WasiCtx,
        call: &Call<'_>,
        mem: &GuestMemory<'_>,
        outcome: &Result<(), Error>,
        elapsed: Duration,
    ) {
        // Opens name their new fd before the line shows it; closes and
        // renumbers forget the old name after.
        let opens = matches!(call.name(), "path_open" | "sock_accept");
        if outcome.is_ok() && opens {
            let path = str_arg(call, mem, "path", "path_len");
            self.follow(ctx, call, mem, path);
        }
        let mut line = std::mem::take(&mut self.line);
        match outcome {
            Ok(()) => {
                line.push_str(" = 0");
                let mut outs = String::new();
                outputs(self, ctx, call, mem, &mut outs);
                if !outs.is_empty() {
                    line.push_str(" ->");
                    line.push_str(&outs);
                }
            }
            Err(Error::Errno(e)) => {
                line.push_str(" = ");
                line.push_str(e.name());
            }
            Err(Error::Trap(t)) => {
                let _ = write!(line, " = trap ({t})");
            }
            Err(Error::Exit(e)) => {
                let _ = write!(line, " = exit({})", e.0);
            }
            Err(Error::Stopped(s)) => {
                let _ = write!(line, " = stopped ({s})");
            }
        }
        if self.durations {
            let _ = write!(
                line,
                " <{}.{:06}>",
                elapsed.as_secs(),
                elapsed.subsec_micros()
            );
        }
        line.push('\n');
        if self.shown(call) {
            let _ = self.out.write_all(line.as_bytes());
            let _ = self.out.flush();
        }
        if outcome.is_ok() && !opens {
            self.follow(ctx, call, mem, None);
        }
        self.line = line;
    }
}

/// A guest string argument, if readable.
fn str_arg(call: &Call<'_>, mem: &GuestMemory<'_>, ptr: &str, len: &str) -> Option<String> {
    let (p, l) = (call.arg(ptr)? as u32, call.arg(len)? as u32);
    if l > crate::MAX_STR {
        return None;
    }
    Some(String::from_utf8_lossy(&mem.read_bytes(p, l).ok()?).into_owned())
}

/// The first [`SHOWN_BYTES`] of a guest buffer, if it is in bounds (only
/// those are copied).
fn shown_bytes(mem: &GuestMemory<'_>, ptr: u32, len: u32) -> Option<Vec<u8>> {
    mem.check(ptr, len, 1).ok()?;
    let b = mem.read_bytes(ptr, len.min(SHOWN_BYTES as u32)).ok()?;
    Some(b.to_vec())
}

/// Writes `bytes` quoted and escaped, cut after [`SHOWN_BYTES`].
fn quoted(out: &mut String, bytes: &[u8], total: usize) {
    out.push('"');
    let shown = &bytes[..bytes.len().min(SHOWN_BYTES)];
    let _ = write!(out, "{}", shown.escape_ascii());
    out.push('"');
    if total > shown.len() {
        let _ = write!(out, "...({total} bytes)");
    }
}

/// The bytes of an iovec array (up to [`SHOWN_BYTES`], plus the total), or
/// `limit` bytes of it for reads.
fn iovec_data(out: &mut String, mem: &GuestMemory<'_>, iovs: u64, count: u64, limit: Option<u64>) {
    let Ok(list) = mem.iovecs(iovs as u32, count as u32) else {
        out.push_str("<bad iovecs>");
        return;
    };
    let mut shown = Vec::new();
    let mut total: u64 = 0;
    for i in 0..list.count() {
        let (buf, len) = mem.iovec(list, i);
        let take = match limit {
            Some(l) => u64::from(len).min(l.saturating_sub(total)),
            None => u64::from(len),
        };
        if shown.len() < SHOWN_BYTES {
            let want = (take as usize).min(SHOWN_BYTES - shown.len());
            if let Ok(b) = mem.read_bytes(buf, want as u32) {
                shown.extend_from_slice(&b);
            }
        }
        total += take;
    }
    out.push('[');
    quoted(out, &shown, total as usize);
    out.push(']');
}

/// Flag names of `bits` from `table`, `|`-joined, unknown bits in hex.
fn flags(out: &mut String, bits: u64, table: &[(u64, &str)]) {
    if bits == 0 {
        out.push('0');
        return;
    }
    let mut rest = bits;
    let mut first = true;
    for &(bit, name) in table {
        if bits & bit != 0 {
            if !first {
                out.push('|');
            }
            first = false;
            out.push_str(name);
            rest &= !bit;
        }
    }
    if rest != 0 {
        if !first {
            out.push('|');
        }
        let _ = write!(out, "{rest:#x}");
    }
}

const LOOKUP: &[(u64, &str)] = &[(lookupflags::SYMLINK_FOLLOW as u64, "SYMLINK_FOLLOW")];
const OFLAGS: &[(u64, &str)] = &[
    (oflags::CREAT as u64, "CREAT"),
    (oflags::DIRECTORY as u64, "DIRECTORY"),
    (oflags::EXCL as u64, "EXCL"),
    (oflags::TRUNC as u64, "TRUNC"),
];
const FDFLAGS: &[(u64, &str)] = &[
    (fdflags::APPEND as u64, "APPEND"),
    (fdflags::DSYNC as u64, "DSYNC"),
    (fdflags::NONBLOCK as u64, "NONBLOCK"),
    (fdflags::RSYNC as u64, "RSYNC"),
    (fdflags::SYNC as u64, "SYNC"),
];
const FSTFLAGS: &[(u64, &str)] = &[
    (fstflags::ATIM as u64, "ATIM"),
    (fstflags::ATIM_NOW as u64, "ATIM_NOW"),
    (fstflags::MTIM as u64, "MTIM"),
    (fstflags::MTIM_NOW as u64, "MTIM_NOW"),
];
const RIFLAGS: &[(u64, &str)] = &[(1, "RECV_PEEK"), (2, "RECV_WAITALL")];
const SDFLAGS: &[(u64, &str)] = &[(1, "RD"), (2, "WR")];

fn named(out: &mut String, v: u64, names: &[&str]) {
    match names.get(v as usize) {
        Some(n) => out.push_str(n),
        None => {
            let _ = write!(out, "{v}");
        }
    }
}

/// Parameters that are pointers the call writes through: shown after it.
fn is_output(call: &str, param: &str) -> bool {
    matches!(
        (call, param),
        (
            _,
            "nread"
                | "nwritten"
                | "bufused"
                | "fd_out"
                | "result_fd"
                | "newoffset"
                | "time"
                | "resolution"
                | "argc"
                | "argv_buf_size"
                | "environ_count"
                | "environ_buf_size"
                | "so_datalen"
                | "ro_datalen"
                | "ro_flags"
                | "nevents"
                | "stat"
        ) | ("fd_tell", "offset")
            | (
                "fd_filestat_get" | "path_filestat_get" | "fd_prestat_get",
                "buf"
            )
            | ("fd_prestat_dir_name", "path" | "path_len")
            | ("path_readlink", "buf" | "buf_len")
            | ("random_get", "buf")
            | ("args_get", "argv" | "argv_buf")
            | ("environ_get", "environ" | "environ_buf")
            | ("poll_oneoff", "out")
    )
}

/// Decodes input parameter `i` (`param` = `v`) into `out`; false to leave it
/// out of the line (an output, or a length shown with its pointer).
fn input(
    t: &Tracer,
    ctx: &WasiCtx,
    call: &Call<'_>,
    mem: &GuestMemory<'_>,
    param: &str,
    v: u64,
    out: &mut String,
) -> bool {
    let name = call.name();
    if is_output(name, param) {
        return false;
    }
    let data_len = |p: &str| call.arg(p).unwrap_or(0);
    match (name, param) {
        (_, "fd" | "old_fd" | "new_fd" | "to") => t.fd(ctx, out, v),
        (
            _,
            "path_len" | "old_path_len" | "new_path_len" | "iovs_len" | "si_data_len"
            | "ri_data_len",
        ) => return false,
        (_, "path" | "old_path" | "new_path") => {
            let len = data_len(&format!("{param}_len"));
            match shown_bytes(mem, v as u32, len as u32) {
                Some(b) => quoted(out, &b, len as usize),
                None => out.push_str("<bad pointer>"),
            }
        }
        ("fd_write" | "fd_pwrite", "iovs") => iovec_data(out, mem, v, data_len("iovs_len"), None),
        ("sock_send", "si_data") => iovec_data(out, mem, v, data_len("si_data_len"), None),
        (_, "iovs" | "ri_data") => {
            let count = data_len(if param == "iovs" {
                "iovs_len"
            } else {
                "ri_data_len"
            });
            match mem.iovecs(v as u32, count as u32) {
                Ok(list) => {
                    let total: u64 = (0..list.count())
                        .map(|i| u64::from(mem.iovec(list, i).1))
                        .sum();
                    let _ = write!(out, "[{count} buffer(s), {total} bytes]");
                }
                Err(_) => out.push_str("<bad iovecs>"),
            }
        }
        (_, "dirflags" | "old_flags") => flags(out, v, LOOKUP),
        ("path_filestat_get" | "path_filestat_set_times", "flags") => flags(out, v, LOOKUP),
        ("fd_fdstat_set_flags" | "sock_accept", "flags") | (_, "fdflags") => flags(out, v, FDFLAGS),
        (_, "oflags") => flags(out, v, OFLAGS),
        (_, "fst_flags") => flags(out, v, FSTFLAGS),
        (_, "ri_flags") => flags(out, v, RIFLAGS),
        (_, "how") => flags(out, v, SDFLAGS),
        (_, "whence") => named(out, v, &["SET", "CUR", "END"]),
        (_, "id") => named(
            out,
            v,
            &[
                "REALTIME",
                "MONOTONIC",
                "PROCESS_CPUTIME_ID",
                "THREAD_CPUTIME_ID",
            ],
        ),
        (_, "advice") => named(
            out,
            v,
            &[
                "NORMAL",
                "SEQUENTIAL",
                "RANDOM",
                "WILLNEED",
                "DONTNEED",
                "NOREUSE",
            ],
        ),
        (_, "fs_rights_base" | "fs_rights_inheriting") => {
            let _ = write!(out, "{v:#x}");
        }
        ("fd_seek", "offset") => {
            let _ = write!(out, "{}", v as i64);
        }
        ("poll_oneoff", "in_") | (_, "buf") => {
            let _ = write!(out, "{v:#x}");
        }
        _ => {
            let _ = write!(out, "{v}");
        }
    }
    true
}

/// Decodes what a successful call wrote back.
fn outputs(t: &Tracer, ctx: &WasiCtx, call: &Call<'_>, mem: &GuestMemory<'_>, out: &mut String) {
    let arg = |p: &str| call.arg(p).unwrap_or(0) as u32;
    let u32_at = |p: &str| mem.read_u32(arg(p)).ok();
    let put = |out: &mut String, label: &str, v: Option<u64>| match v {
        Some(v) => {
            let _ = write!(out, " {label}={v}");
        }
        None => {
            let _ = write!(out, " {label}=?");
        }
    };
    match call.name() {
        "args_sizes_get" => {
            put(out, "argc", u32_at("argc").map(u64::from));
            put(out, "argv_buf_size", u32_at("argv_buf_size").map(u64::from));
        }
        "environ_sizes_get" => {
            put(out, "environ_count", u32_at("environ_count").map(u64::from));
            put(
                out,
                "environ_buf_size",
                u32_at("environ_buf_size").map(u64::from),
            );
        }
        "clock_time_get" => put(out, "time", mem.read_u64(arg("time")).ok()),
        "clock_res_get" => put(out, "resolution", mem.read_u64(arg("resolution")).ok()),
        "fd_read" | "fd_pread" | "sock_recv" => {
            // The count, then the bytes it says were read.
            let (count, iovs, len) = match call.name() {
                "sock_recv" => ("ro_datalen", "ri_data", "ri_data_len"),
                _ => ("nread", "iovs", "iovs_len"),
            };
            let n = u32_at(count);
            put(out, count, n.map(u64::from));
            if let Some(n) = n.filter(|n| *n > 0) {
                out.push(' ');
                iovec_data(
                    out,
                    mem,
                    u64::from(arg(iovs)),
                    u64::from(arg(len)),
                    Some(u64::from(n)),
                );
            }
        }
        "fd_write" | "fd_pwrite" => put(out, "nwritten", u32_at("nwritten").map(u64::from)),
        "sock_send" => put(out, "so_datalen", u32_at("so_datalen").map(u64::from)),
        "fd_readdir" => put(out, "bufused", u32_at("bufused").map(u64::from)),
        "fd_seek" => put(out, "newoffset", mem.read_u64(arg("newoffset")).ok()),
        "fd_tell" => put(out, "offset", mem.read_u64(arg("offset")).ok()),
        "poll_oneoff" => put(out, "nevents", u32_at("nevents").map(u64::from)),
        "path_open" | "sock_accept" => {
            let p = if call.name() == "path_open" {
                "fd_out"
            } else {
                "result_fd"
            };
            out.push_str(" fd=");
            match u32_at(p) {
                Some(fd) => t.fd(ctx, out, u64::from(fd)),
                None => out.push('?'),
            }
        }
        "fd_filestat_get" | "path_filestat_get" => match mem.read_struct::<64>(arg("buf"), 8) {
            Ok(st) => {
                let size = u64::from_le_bytes(st[32..40].try_into().expect("8 bytes"));
                let _ = write!(out, " {{type={}, size={size}}}", type_name(st[16]));
            }
            Err(_) => out.push_str(" {?}"),
        },
        "fd_fdstat_get" => match mem.read_struct::<24>(arg("stat"), 8) {
            Ok(st) => {
                let mut f = String::new();
                flags(
                    &mut f,
                    u64::from(u16::from_le_bytes([st[2], st[3]])),
                    FDFLAGS,
                );
                let _ = write!(out, " {{type={}, flags={f}}}", type_name(st[0]));
            }
            Err(_) => out.push_str(" {?}"),
        },
        "fd_prestat_get" => {
            let len = mem.read_u32(arg("buf") + 4).ok();
            put(out, "name_len", len.map(u64::from));
        }
        "fd_prestat_dir_name" => {
            if let Some(name) = str_arg(call, mem, "path", "path_len") {
                out.push(' ');
                quoted(out, name.as_bytes(), name.len());
            }
        }
        "path_readlink" => {
            let n = u32_at("bufused").unwrap_or(0);
            out.push_str(" target=");
            match shown_bytes(mem, arg("buf"), n) {
                Some(b) => quoted(out, &b, n as usize),
                None => out.push('?'),
            }
        }
        _ => {}
    }
}

fn type_name(t: u8) -> &'static str {
    match t {
        filetype::BLOCK_DEVICE => "BLOCK_DEVICE",
        filetype::CHARACTER_DEVICE => "CHARACTER_DEVICE",
        filetype::DIRECTORY => "DIRECTORY",
        filetype::REGULAR_FILE => "REGULAR_FILE",
        filetype::SOCKET_DGRAM => "SOCKET_DGRAM",
        filetype::SOCKET_STREAM => "SOCKET_STREAM",
        filetype::SYMBOLIC_LINK => "SYMBOLIC_LINK",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::MemFs;
    use crate::CaptureBuffer;

    fn traced(families: Option<&[&str]>) -> (WasiCtx, CaptureBuffer) {
        let trace = CaptureBuffer::new();
        let mut tracer = Tracer::new(trace.clone()).durations(false);
        if let Some(f) = families {
            tracer = tracer.families(f.iter().copied()).unwrap();
        }
        let ctx = crate::WasiCtxBuilder::new()
            .preopen_dir(MemFs::new().root(), "/data")
            .hook(tracer)
            .build()
            .unwrap();
        (ctx, trace)
    }

    #[test]
    fn calls_are_decoded_with_paths_flags_data_and_results() {
        use crate::p1::dispatch as d;
        let (mut ctx, trace) = traced(None);
        let mut bytes = vec![0u8; 256];
        bytes[..9].copy_from_slice(b"notes.txt");
        // iovec at 64: (ptr 100, len 6); data at 100
        bytes[64..68].copy_from_slice(&100u32.to_le_bytes());
        bytes[68..72].copy_from_slice(&6u32.to_le_bytes());
        bytes[100..106].copy_from_slice(b"hello\n");
        let mut mem = GuestMemory::new(&mut bytes);
        d::path_open(&mut ctx, &mut mem, 3, 1, 0, 9, 1 | 8, 0x42, 0, 0, 16).unwrap();
        let fd = mem.read_u32(16).unwrap() as i32;
        d::fd_write(&mut ctx, &mut mem, fd, 64, 1, 20).unwrap();
        d::fd_seek(&mut ctx, &mut mem, fd, -2, 1, 24).unwrap();
        d::fd_read(&mut ctx, &mut mem, fd, 64, 1, 28).unwrap();
        d::fd_close(&mut ctx, &mut mem, fd).unwrap();
        assert!(d::fd_close(&mut ctx, &mut mem, fd).is_err());
        let text = trace.to_string_lossy();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "path_open(fd=3</data>, dirflags=SYMLINK_FOLLOW, path=\"notes.txt\", oflags=CREAT|TRUNC, fs_rights_base=0x42, fs_rights_inheriting=0x0, fdflags=0) = 0 -> fd=4</data/notes.txt>",
                "fd_write(fd=4</data/notes.txt>, iovs=[\"hello\\n\"]) = 0 -> nwritten=6",
                "fd_seek(fd=4</data/notes.txt>, offset=-2, whence=CUR) = 0 -> newoffset=4",
                "fd_read(fd=4</data/notes.txt>, iovs=[1 buffer(s), 6 bytes]) = 0 -> nread=2 [\"o\\n\"]",
                "fd_close(fd=4</data/notes.txt>) = 0",
                "fd_close(fd=4) = EBADF",
            ]
        );
    }

    #[test]
    fn a_filter_keeps_only_its_families_and_rejects_unknown_ones() {
        use crate::p1::dispatch as d;
        let (mut ctx, trace) = traced(Some(&["clock"]));
        let mut bytes = vec![0u8; 64];
        let mut mem = GuestMemory::new(&mut bytes);
        d::clock_time_get(&mut ctx, &mut mem, 1, 1, 8).unwrap();
        let _ = d::fd_close(&mut ctx, &mut mem, 9);
        d::random_get(&mut ctx, &mut mem, 32, 8).unwrap();
        let text = trace.to_string_lossy();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.starts_with("clock_time_get(id=MONOTONIC, precision=1) = 0 -> time="));
        assert_eq!(
            Tracer::new(std::io::sink()).families(["fd", "nope"]).err(),
            Some(UnknownFamily("nope".into()))
        );
    }

    #[test]
    fn durations_are_shown_in_seconds() {
        let trace = CaptureBuffer::new();
        let mut ctx = crate::WasiCtxBuilder::new()
            .hook(Tracer::new(trace.clone()))
            .build()
            .unwrap();
        let mut bytes = vec![0u8; 16];
        let mut mem = GuestMemory::new(&mut bytes);
        crate::p1::dispatch::sched_yield(&mut ctx, &mut mem).unwrap();
        let text = trace.to_string_lossy();
        assert!(text.starts_with("sched_yield() = 0 <0.0"), "{text}");
        assert!(text.ends_with(">\n"), "{text}");
    }
}
