//! The benchmarks' loops in plain native Rust: the physical reference.
//!
//! Each loop does, per iteration, what the guest's iteration asks its host
//! for, the ordinary std way, and returns the same check value as the guest.

use crate::bench::Bench;
use crate::fixtures::{Fixtures, BIG_DIR, BIG_FILE, MIB, STAT_FILE};
use crate::hosts::Run;
use anyhow::{bail, Context as _, Result};
use std::fs::{self, File, OpenOptions};
use std::hint::black_box;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::time::Instant;

/// Runs `n` iterations of `bench` natively.
pub(crate) fn run(bench: Bench, n: u64, fx: &Fixtures) -> Result<Run> {
    match bench {
        Bench::Clock => clock(n),
        Bench::Random => random(n),
        Bench::Write16 => write16(n),
        Bench::Write1m => write1m(n, fx),
        Bench::Read1m => read1m(n, fx),
        Bench::Stat => stat(n, fx),
        Bench::OpenClose => open_close(n, fx),
        Bench::Readdir => readdir(n, fx),
        Bench::ArgsEnv => args_env_in_child(n),
        Bench::Hello => bail!("no native hello-world instance"),
    }
}

/// `Instant::now()` (the monotonic clock).
fn clock(n: u64) -> Result<Run> {
    let start = Instant::now();
    let mut last = start;
    for _ in 0..n {
        last = black_box(Instant::now());
    }
    Ok(done(start, u64::from(last > start)))
}

/// 16 bytes from the OS random source.
fn random(n: u64) -> Result<Run> {
    let mut buf = [0u8; 16];
    let mut acc = 0u8;
    let start = Instant::now();
    for _ in 0..n {
        getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("getrandom: {e}"))?;
        acc |= black_box(buf[0]);
    }
    Ok(done(start, u64::from(acc != 0)))
}

/// One 16-byte `write` to `/dev/null`.
fn write16(n: u64) -> Result<Run> {
    let data = *b"0123456789abcde\n";
    let mut f = OpenOptions::new().write(true).open("/dev/null")?;
    let mut total = 0u64;
    let start = Instant::now();
    for _ in 0..n {
        total += f.write(black_box(&data))? as u64;
    }
    Ok(done(start, total))
}

/// 1 MiB `write`s to a new file in the fixtures directory, each extending it;
/// truncated to 0 (and seeking back) every `chunks` MiB, like the guest.
fn write1m(n: u64, fx: &Fixtures) -> Result<Run> {
    let data = vec![0xa5u8; MIB];
    let path = fx.path("out-native.bin");
    let mut f = File::create(&path)?;
    let mut total = 0u64;
    let start = Instant::now();
    for i in 0..n {
        if i > 0 && i % fx.chunks == 0 {
            f.set_len(0)?;
            f.seek(SeekFrom::Start(0))?;
        }
        total += f.write(&data)? as u64;
    }
    let run = done(start, total);
    drop(f);
    fs::remove_file(&path)?;
    Ok(run)
}

/// 1 MiB `read`s of the big file, seeking back to 0 at its end.
fn read1m(n: u64, fx: &Fixtures) -> Result<Run> {
    let mut data = vec![0u8; MIB];
    let mut f = File::open(fx.path(BIG_FILE))?;
    let mut total = 0u64;
    let start = Instant::now();
    for i in 0..n {
        if i > 0 && i % fx.chunks == 0 {
            f.seek(SeekFrom::Start(0))?;
        }
        total += f.read(&mut data)? as u64;
    }
    Ok(done(start, total.wrapping_add(u64::from(data[7]))))
}

/// `fs::metadata` (stat, following symlinks) of the small file.
fn stat(n: u64, fx: &Fixtures) -> Result<Run> {
    let path = fx.path(STAT_FILE);
    let mut sizes = 0u64;
    let start = Instant::now();
    for _ in 0..n {
        sizes += fs::metadata(black_box(&path))?.len();
    }
    Ok(done(start, sizes))
}

/// `File::open` of the small file, then drop (close).
fn open_close(n: u64, fx: &Fixtures) -> Result<Run> {
    let path = fx.path(STAT_FILE);
    let start = Instant::now();
    for _ in 0..n {
        drop(black_box(File::open(&path)?));
    }
    Ok(done(start, n))
}

/// A full `fs::read_dir` scan of the 10,000-entry directory, looking at each
/// entry's name and inode (what `fd_readdir` returns).
fn readdir(n: u64, fx: &Fixtures) -> Result<Run> {
    use std::os::unix::fs::DirEntryExt as _;
    let path = fx.path(BIG_DIR);
    let mut entries = 0u64;
    let start = Instant::now();
    for _ in 0..n {
        for entry in fs::read_dir(&path)? {
            let entry = entry?;
            black_box((entry.file_name().len(), entry.ino()));
            entries += 1;
        }
        // The getdents(2) under read_dir returned "." and ".." too, which std
        // skips and preview1 hosts pass on: count them like the guest does.
        entries += 2;
    }
    Ok(done(start, entries))
}

/// The number of environment variables of the `args_env` benchmark.
pub(crate) const ENV_VARS: usize = 100;

/// The 100 environment variables every host (and the native child) gets.
pub(crate) fn bench_env() -> Vec<(String, String)> {
    (0..ENV_VARS)
        .map(|i| {
            (
                format!("BENCH_VAR_{i:03}"),
                format!("value-{i:03}-abcdefghijklmnopqrstuvwxyz"),
            )
        })
        .collect()
}

/// Runs the native `args_env` loop in a child process whose environment is
/// exactly [`bench_env`] (the harness's own environment is arbitrary).
fn args_env_in_child(n: u64) -> Result<Run> {
    let exe = std::env::current_exe()?;
    let out = std::process::Command::new(exe)
        // Four arguments with argv[0], like the guest's.
        .args(["--child-args-env", &n.to_string(), "pad"])
        .env_clear()
        .envs(bench_env())
        .output()?;
    if !out.status.success() {
        bail!(
            "the args_env child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8(out.stdout)?;
    let mut words = text.split_whitespace();
    let mut next = || -> Result<u64> {
        words
            .next()
            .context("short answer from the args_env child")?
            .parse()
            .context("bad answer from the args_env child")
    };
    let nanos = next()?;
    let check = next()?;
    Ok(Run {
        elapsed: std::time::Duration::from_nanos(nanos),
        check,
    })
}

/// In the child: `std::env::args()` and `std::env::vars()`, both collected,
/// `n` times; prints the elapsed nanoseconds and the check value.
pub(crate) fn child_args_env(n: u64) {
    let mut total = 0u64;
    let start = Instant::now();
    for _ in 0..n {
        let args: Vec<String> = std::env::args().collect();
        let vars: Vec<(String, String)> = std::env::vars().collect();
        total += (black_box(args).len() + black_box(vars).len()) as u64;
    }
    println!("{} {total}", start.elapsed().as_nanos());
}

fn done(start: Instant, check: u64) -> Run {
    Run {
        elapsed: start.elapsed(),
        check,
    }
}
