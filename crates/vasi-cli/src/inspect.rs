//! `vasi inspect`: what a bundle holds, without running it.

use clap::Args;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use vasi::vfs::{Dir, FileType};
use vasi_bundle::Bundle;

/// `vasi inspect`'s arguments.
#[derive(Args, Debug)]
pub(crate) struct InspectArgs {
    /// The bundle.
    pub(crate) bundle: PathBuf,
    /// Also list every entry of every image (path, type and size).
    #[arg(long)]
    pub(crate) files: bool,
}

/// The report, or a one-line error.
pub(crate) fn inspect(args: &InspectArgs) -> Result<String, String> {
    let name = args.bundle.display().to_string();
    let src = crate::bundle::map_file(&args.bundle)?;
    let bundle = Bundle::parse_source(src).map_err(|e| format!("{name}: {e}"))?;
    let mut out = String::new();
    let c = bundle.config();
    let _ = writeln!(out, "bundle: {name}");
    let _ = writeln!(out, "format: version {}", vasi_bundle::FORMAT_VERSION);
    let _ = writeln!(
        out,
        "module: {} bytes; bundle section: {} bytes",
        bundle.module_size(),
        bundle.section_size()
    );
    let _ = writeln!(out, "mounts: {}", bundle.mounts().len());
    for m in bundle.mounts() {
        let s = m.image().stats();
        let _ = writeln!(
            out,
            "  {}  {}  {} files, {} directories, {} symlinks, {} bytes",
            m.guest_path(),
            m.mode(),
            s.files,
            s.dirs,
            s.symlinks,
            s.bytes
        );
        if args.files {
            list(&m.image().root(), "", &mut out)
                .map_err(|e| format!("{name}: cannot list {}: {e}", m.guest_path()))?;
        }
    }
    let _ = writeln!(out, "config:");
    let q = |s: &str| format!("{s:?}");
    if let Some(a) = &c.argv0 {
        let _ = writeln!(out, "  argv0: {}", q(a));
    }
    if !c.args.is_empty() {
        let args: Vec<String> = c.args.iter().map(|a| q(a)).collect();
        let _ = writeln!(out, "  args: {}", args.join(" "));
    }
    for (k, v) in &c.env {
        let _ = writeln!(out, "  env: {k}={}", q(v));
    }
    if let Some(seed) = c.deterministic {
        let _ = writeln!(out, "  deterministic: seed {seed}");
    }
    for (k, v) in &c.globals {
        let _ = writeln!(out, "  global: {k}={v}");
    }
    if let Some(m) = c.max_memory {
        let _ = writeln!(out, "  max-memory: {m} bytes");
    }
    if let Some(n) = c.max_open_files {
        let _ = writeln!(out, "  max-open-files: {n}");
    }
    if let Some(f) = c.fuel {
        let _ = writeln!(out, "  fuel: {f}");
    }
    if let Some(t) = c.timeout {
        let _ = writeln!(out, "  timeout: {t:?}");
    }
    Ok(out)
}

/// Lists `dir` recursively, one entry per line.
fn list(dir: &Arc<dyn Dir>, prefix: &str, out: &mut String) -> Result<(), vasi::Errno> {
    let mut it = dir.entries(0)?;
    while let Some(e) = it.next_entry() {
        let e = e?;
        let path = format!("{prefix}{}", e.name);
        match e.filetype {
            FileType::Directory => {
                let _ = writeln!(out, "    {path}/");
                let vasi::vfs::Node::Dir(sub) =
                    dir.open(&e.name, &vasi::vfs::OpenOptions::lookup_dir())?
                else {
                    return Err(vasi::Errno::Notdir);
                };
                list(&sub, &format!("{path}/"), out)?;
            }
            FileType::SymbolicLink => {
                let _ = writeln!(out, "    {path} -> {}", dir.read_link(&e.name)?);
            }
            _ => {
                let _ = writeln!(out, "    {path}  {} bytes", dir.stat_at(&e.name)?.size);
            }
        }
    }
    Ok(())
}
