//! `demo DIR`: walks DIR, prints line, word and byte counts of every file (like
//! `wc`), then saves the report to /scratch and reads it back.
//!
//! It uses nothing but Rust's standard library on wasm32-wasip1: directory
//! listing, file reads and writes, and stdout all go through WASI.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if e.file_type()?.is_dir() {
            walk(&e.path(), files)?;
        } else {
            files.push(e.path());
        }
    }
    Ok(())
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "/data".into());
    let mut files = Vec::new();
    if let Err(e) = walk(Path::new(&dir), &mut files) {
        eprintln!("demo: cannot read {dir}: {e}");
        std::process::exit(1);
    }
    let mut report = String::new();
    let (mut tl, mut tw, mut tb) = (0, 0, 0);
    for f in &files {
        let text = fs::read_to_string(f).unwrap_or_default();
        let (l, w, b) = (
            text.lines().count(),
            text.split_whitespace().count(),
            text.len(),
        );
        report.push_str(&format!("{l:6} {w:6} {b:7}  {}\n", f.display()));
        (tl, tw, tb) = (tl + l, tw + w, tb + b);
    }
    report.push_str(&format!(
        "{tl:6} {tw:6} {tb:7}  total ({} files)\n",
        files.len()
    ));
    print!("{report}");

    let saved = Path::new("/scratch/report.txt");
    match fs::File::create(saved).and_then(|mut f| f.write_all(report.as_bytes())) {
        Ok(()) => {
            let back = fs::read(saved).map(|b| b.len()).unwrap_or(0);
            println!("report saved to {} ({back} bytes)", saved.display());
        }
        Err(e) => println!("no /scratch to save the report to ({e})"),
    }
}
