//! The dense-hosting benchmark (issue 16): instances per second and resident
//! memory per live instance, vasi's `dense` module beside wasmtime-wasi's
//! preview1 set up for fast instantiation, for two guests and at 1, 100 and
//! 10,000 live instances.
//!
//! - `hello`: Rust's hello world (`guest/src/bin/hello.rs`).
//! - `filerw`: reads a 4 KiB file of a 50 MiB image and writes it, plus a
//!   line, to a file of its own (`guest/src/bin/filerw.rs`).
//!
//! Every (guest, live count, host) cell runs in a child process of its own
//! (RSS is process-wide). The child sets up its host (engine, module, image),
//! reads `VmRSS`, then starts instances and runs each one's `_start`, keeping
//! `live` of them alive at a time (a batch is dropped once full), until it has
//! started `max(live, 20,000)` (`--min-instances`). Instances per second cover all of it: context,
//! store, instantiation from the `InstancePre`, `_start`, and the drops. Memory
//! per live instance is the growth of `VmRSS` from before the first instance to
//! the first full batch, divided by `live`. `VmHWM`, `VmSize` and `VmPeak`
//! come from `/proc/self/status`.
//!
//! The hosts:
//!
//! - `wasmtime-wasi`: one `Engine` on the pooling allocator as wasmtime's
//!   fast-instantiation example sets it up (totals raised to 10,000 instances,
//!   memories and tables; `max_memory_size` 2 GiB; reservations left at the
//!   default 4 GiB plus guards), `InstancePre`, a `WasiP1Ctx` per instance
//!   with the image's host directory preopened read-only at `/image` (its
//!   pages live in the page cache, outside RSS) and, for `filerw`, a fresh
//!   host temp directory per instance at `/tmp` (wasmtime-wasi has no
//!   copy-on-write layer, so a private writable directory is a directory).
//! - `vasi`: `vasi_wasmtime::dense` with `DenseConfig::default()` and 10,000
//!   instances, the image loaded once into a `MemFs` (in RSS: the baseline)
//!   and mounted at `/image` through each instance's own copy-on-write layer;
//!   `filerw` writes `/image/out.txt` into that layer.

mod machine;

use anyhow::{bail, Context as _, Result};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};
use vasi::vfs::MemFs;
use vasi_wasmtime::dense::{DenseConfig, DenseHost, DenseModule, Template};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, Linker, Module, PoolingAllocationConfig,
};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::SinkOutputStream;

/// The pool size of both hosts.
const POOL: u32 = 10_000;
/// The image: this many 1 MiB files by default (`--image-mib`), and the
/// small one the guest reads.
const IMAGE_MIB: usize = 50;
const SMALL_FILE: &str = "config.txt";

const USAGE: &str = "\
usage: dense-harness [--quick] [--live N,N,...] [--guest hello|filerw]...

  --quick    live counts 1 and 100, at least 200 instances per cell
  --live     the live counts (default 1,100,10000)
  --guest    only this guest (repeatable; default both)
  --image-mib N  the image's size in MiB besides its small file (default 50)
  --min-instances N  instances started per cell at least (default 20000:
             a cell of 2,000 lasts under 0.1 s, too short to measure)
";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child(&args[1..]);
    }
    let mut quick = false;
    let mut lives: Vec<usize> = vec![1, 100, 10_000];
    let mut guests: Vec<String> = Vec::new();
    let mut image_mib = IMAGE_MIB;
    let mut min_instances: Option<usize> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => {
                quick = true;
                lives = vec![1, 100];
            }
            "--live" => {
                lives = it
                    .next()
                    .context("--live N,N")?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
            }
            "--guest" => guests.push(it.next().context("--guest NAME")?.clone()),
            "--image-mib" => image_mib = it.next().context("--image-mib N")?.parse()?,
            "--min-instances" => {
                min_instances = Some(it.next().context("--min-instances N")?.parse()?)
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    if guests.is_empty() {
        guests = vec!["hello".into(), "filerw".into()];
    }
    let min_total = min_instances.unwrap_or(if quick { 200 } else { 20_000 });

    let image = tempfile::Builder::new().prefix("vasi-dense-").tempdir()?;
    make_image(image.path(), image_mib)?;
    let load_before = loadavg();
    let mut out = String::new();
    writeln!(
        out,
        "| guest | live | host | instances/s | ×wasi | RSS KiB / live instance | ×wasi | \
         baseline RSS MiB | VmHWM MiB | VmSize GiB | VmPeak GiB |"
    )?;
    writeln!(out, "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|")?;
    for guest in &guests {
        for &live in &lives {
            let total = live.max(min_total);
            let mut cells = Vec::new();
            for host in ["wasmtime-wasi", "vasi"] {
                let c = spawn(host, guest, live, total, image.path());
                match &c {
                    Ok(c) => eprintln!(
                        "{guest} live={live} {host}: {:.0}/s, {:.1} KiB/instance",
                        c.per_sec(),
                        c.kib_per_live()
                    ),
                    Err(e) => eprintln!("{guest} live={live} {host}: failed: {e:#}"),
                }
                cells.push((host, c));
            }
            let wasi = cells[0]
                .1
                .as_ref()
                .ok()
                .map(|c| (c.per_sec(), c.kib_per_live()));
            for (host, c) in &cells {
                let c = match c {
                    Ok(c) => c,
                    Err(e) => {
                        writeln!(
                            out,
                            "| {guest} | {live} | {host} | failed: {} | | | | | | | |",
                            format!("{e:#}").replace('|', "/")
                        )?;
                        continue;
                    }
                };
                let ratio = |v: f64, of: Option<f64>| match of {
                    _ if *host == "wasmtime-wasi" => "1".to_string(),
                    Some(of) => format!("{:.2}", v / of),
                    None => "—".to_string(),
                };
                writeln!(
                    out,
                    "| {guest} | {live} | {host} | {:.0} | {} | {:.1} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
                    c.per_sec(),
                    ratio(c.per_sec(), wasi.map(|w| w.0)),
                    c.kib_per_live(),
                    ratio(c.kib_per_live(), wasi.map(|w| w.1)),
                    c.base_kb as f64 / 1024.0,
                    c.hwm_kb as f64 / 1024.0,
                    c.size_kb as f64 / 1024.0 / 1024.0,
                    c.peak_kb as f64 / 1024.0 / 1024.0,
                )?;
            }
        }
    }
    println!("{}", machine());
    println!(
        "Image: {image_mib} MiB. Load average (1, 5, 15 min) before: {load_before}; after: {}.\n",
        loadavg()
    );
    print!("{out}");
    Ok(())
}

/// One child's answer.
struct Cell {
    elapsed: Duration,
    total: usize,
    live: usize,
    base_kb: u64,
    full_kb: u64,
    size_kb: u64,
    hwm_kb: u64,
    peak_kb: u64,
}

impl Cell {
    fn per_sec(&self) -> f64 {
        self.total as f64 / self.elapsed.as_secs_f64()
    }

    fn kib_per_live(&self) -> f64 {
        self.full_kb.saturating_sub(self.base_kb) as f64 / self.live as f64
    }
}

fn spawn(host: &str, guest: &str, live: usize, total: usize, image: &Path) -> Result<Cell> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .args([
            "--child",
            host,
            guest,
            &live.to_string(),
            &total.to_string(),
        ])
        .env("RUST_BACKTRACE", "0")
        .arg(image)
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    eprint!("{err}");
    if !out.status.success() {
        // The child's error, without its backtrace.
        let reason = err
            .lines()
            .find_map(|l| l.strip_prefix("Error: "))
            .unwrap_or("no message");
        bail!("{reason}");
    }
    let text = String::from_utf8(out.stdout)?;
    let v: Vec<u64> = text
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .with_context(|| format!("bad answer {text:?}"))?;
    let [ns, base_kb, full_kb, size_kb, hwm_kb, peak_kb] = v[..] else {
        bail!("bad answer {text:?}");
    };
    Ok(Cell {
        elapsed: Duration::from_nanos(ns),
        total,
        live,
        base_kb,
        full_kb,
        size_kb,
        hwm_kb,
        peak_kb,
    })
}

/// `mib` files of 1 MiB and the 4 KiB [`SMALL_FILE`].
fn make_image(dir: &Path, mib: usize) -> Result<()> {
    let blob: Vec<u8> = (0..1usize << 20).map(|i| (i % 251) as u8).collect();
    for i in 0..mib {
        std::fs::write(dir.join(format!("blob-{i:02}.bin")), &blob)?;
    }
    std::fs::write(dir.join(SMALL_FILE), &blob[..4096])?;
    Ok(())
}

/// A field of `/proc/self/status`, in kB.
fn status_kb(field: &str) -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| {
            v.trim_start_matches(':')
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()
        })
        .with_context(|| format!("no {field} in /proc/self/status"))
}

/// A host set up in the child, able to start one instance and keep it.
trait Starter {
    fn start(&self) -> Result<Box<dyn std::any::Any>>;
}

fn child(args: &[String]) -> Result<()> {
    let [host, guest, live, total, image] = args else {
        bail!("--child HOST GUEST LIVE TOTAL IMAGE");
    };
    let (live, total): (usize, usize) = (live.parse()?, total.parse()?);
    let image = Path::new(image);
    let wasm = match guest.as_str() {
        "hello" => env!("HELLO_WASM"),
        "filerw" => env!("FILERW_WASM"),
        _ => bail!("no guest {guest}"),
    };
    let starter: Box<dyn Starter> = match host.as_str() {
        "vasi" => Box::new(VasiHost::new(wasm, guest, image)?),
        "wasmtime-wasi" => Box::new(WasiHost::new(wasm, guest, image)?),
        _ => bail!("no host {host}"),
    };
    let base_kb = status_kb("VmRSS")?;
    let (mut full_kb, mut size_kb) = (0, 0);
    let mut kept: Vec<Box<dyn std::any::Any>> = Vec::with_capacity(live);
    let start = Instant::now();
    for _ in 0..total {
        kept.push(starter.start()?);
        if kept.len() == live {
            if full_kb == 0 {
                full_kb = status_kb("VmRSS")?;
                size_kb = status_kb("VmSize")?;
            }
            kept.clear();
        }
    }
    let elapsed = start.elapsed();
    println!(
        "{} {base_kb} {full_kb} {size_kb} {} {}",
        elapsed.as_nanos(),
        status_kb("VmHWM")?,
        status_kb("VmPeak")?
    );
    Ok(())
}

struct VasiHost {
    module: DenseModule,
    template: Template,
    _image: MemFs,
}

impl VasiHost {
    fn new(wasm: &str, guest: &str, image_dir: &Path) -> Result<VasiHost> {
        let host = DenseHost::new(&DenseConfig::default().max_instances(POOL))?;
        let module = host.module(&Module::from_file(host.engine(), wasm)?)?;
        let image = MemFs::new();
        for entry in std::fs::read_dir(image_dir)? {
            let entry = entry?;
            let name = entry.file_name().into_string().unwrap_or_default();
            image
                .write(&name, &std::fs::read(entry.path())?)
                .map_err(|e| anyhow::anyhow!("MemFs: {e}"))?;
        }
        let mut template = Template::new();
        template.arg(guest).image(image.root(), "/image");
        if guest == "filerw" {
            template.args([format!("/image/{SMALL_FILE}"), "/image/out.txt".into()]);
        }
        Ok(VasiHost {
            module,
            template,
            _image: image,
        })
    }
}

impl Starter for VasiHost {
    fn start(&self) -> Result<Box<dyn std::any::Any>> {
        let mut b = self.template.builder();
        b.stderr(std::io::stderr());
        let mut g = self.module.instantiate(b.build()?)?;
        let code = g.run()?;
        if code != 0 {
            bail!("the guest exited with {code}");
        }
        Ok(Box::new(g))
    }
}

struct WasiHost {
    pre: wasmtime::InstancePre<WasiP1Ctx>,
    guest: String,
    image: std::path::PathBuf,
}

impl WasiHost {
    fn new(wasm: &str, guest: &str, image: &Path) -> Result<WasiHost> {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_memories(POOL)
            .total_tables(POOL)
            .total_core_instances(POOL)
            .max_memory_size(1 << 31)
            .table_elements(5_000);
        let mut config = Config::new();
        config
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
            .memory_init_cow(true);
        let engine = Engine::new(&config)?;
        let module = Module::from_file(&engine, wasm)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |c: &mut WasiP1Ctx| c)?;
        Ok(WasiHost {
            pre: linker.instantiate_pre(&module)?,
            guest: guest.to_string(),
            image: image.to_path_buf(),
        })
    }
}

impl Starter for WasiHost {
    fn start(&self) -> Result<Box<dyn std::any::Any>> {
        let mut b = wasmtime_wasi::WasiCtxBuilder::new();
        b.allow_blocking_current_thread(true)
            .arg(&self.guest)
            .stdout(SinkOutputStream)
            .inherit_stderr();
        b.preopened_dir(&self.image, "/image", wasmtime_wasi::FsPerms::ReadOnly)?;
        let tmp = if self.guest == "filerw" {
            let tmp = tempfile::Builder::new()
                .prefix("vasi-dense-tmp-")
                .tempdir()?;
            b.args(&[format!("/image/{SMALL_FILE}"), "/tmp/out.txt".into()]);
            b.preopened_dir(tmp.path(), "/tmp", wasmtime_wasi::FsPerms::ReadWrite)?;
            Some(tmp)
        } else {
            None
        };
        let mut store = wasmtime::Store::new(self.pre.module().engine(), b.build_p1());
        let instance = self.pre.instantiate(&mut store)?;
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
        if let Err(e) = start.call(&mut store, ()) {
            let code = e.downcast_ref::<wasmtime_wasi::I32Exit>().map(|e| e.0);
            if code != Some(0) {
                return Err(anyhow::Error::from(e).context("the guest failed"));
            }
        }
        Ok(Box::new((store, tmp)))
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn machine() -> String {
    format!(
        "Machine: {}; wasmtime 48.0.8, pooling allocator.",
        machine::describe()
    )
}
