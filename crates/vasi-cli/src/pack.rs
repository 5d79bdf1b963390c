//! `vasi pack`: a module, its filesystem images and its run configuration
//! in one file (docs/bundle.md).

use clap::{ArgMatches, Args};
use std::path::PathBuf;
use vasi_bundle::{BundleBuilder, Config, ImageBuilder, MountMode};

pub(crate) const PACK_HELP: &str = "\
Examples:
  vasi pack app.wasm --dir ./assets::/assets -o app.bundle.wasm
  vasi pack python.wasm --tar stdlib.tar::/usr/lib/python3.12:ro \\
      --env PYTHONHOME=/usr --arg -q -o python.bundle.wasm
  vasi run app.bundle.wasm more args          run it (see vasi run --help)
  vasi inspect app.bundle.wasm                see what it holds

Mounts are copy-on-write unless marked :ro: the guest may change anything,
the changes stay in memory for that run, and the bundle never changes.
Packing is deterministic: the same inputs give the same bytes (entries are
sorted; every time is 0 unless --keep-times).

Exit codes:
  0     packed
  2     bad command line
  125   an input is missing or unsafe (an entry escaping its mount with ..,
        an absolute path, a symlink pointing out), or two mounts clash";

/// `vasi pack`'s arguments.
#[derive(Args, Debug)]
pub(crate) struct PackArgs {
    /// The wasm module to pack (a core WASI module, not already a bundle).
    pub(crate) wasm: PathBuf,
    /// Where to write the bundle.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub(crate) output: PathBuf,
    /// Pack the host directory HOST as an image mounted at GUEST (default:
    /// at HOST as written); `:ro` mounts it read-only, `:cow` (the default)
    /// copy-on-write.
    #[arg(long = "dir", value_name = "HOST[::GUEST][:ro|:cow]")]
    dirs: Vec<String>,
    /// Pack the tar archive FILE as an image mounted at GUEST; `:ro` or
    /// `:cow` as for --dir.
    #[arg(long = "tar", value_name = "FILE::GUEST[:ro|:cow]")]
    tars: Vec<String>,
    /// An argument for the guest, after argv0 (repeat for more).
    #[arg(long = "arg", value_name = "ARG", allow_hyphen_values = true)]
    args: Vec<String>,
    /// An environment variable for the guest.
    #[arg(long = "env", value_name = "NAME=VALUE")]
    envs: Vec<String>,
    /// The program name the guest sees as its first argument.
    #[arg(long, value_name = "NAME")]
    argv0: Option<String>,
    /// Run reproducibly (as vasi run --deterministic).
    #[arg(long)]
    deterministic: bool,
    /// The seed of --deterministic randomness (default 0).
    #[arg(long, value_name = "N", requires = "deterministic")]
    seed: Option<u64>,
    /// Set a live global (as vasi run --global).
    #[arg(long = "global", value_name = "NAME=VALUE", value_parser = crate::global::parse_global)]
    globals: Vec<(String, u64)>,
    /// Cap the guest's linear memory (as vasi run --max-memory).
    #[arg(long, value_name = "SIZE", value_parser = crate::args::parse_size)]
    max_memory: Option<u64>,
    /// Cap open descriptors (as vasi run --max-open-files).
    #[arg(long, value_name = "N")]
    max_open_files: Option<u32>,
    /// Cap executed instructions (as vasi run --fuel).
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,
    /// Cap wall time (as vasi run --timeout).
    #[arg(long, value_name = "DURATION", value_parser = crate::args::parse_duration)]
    timeout: Option<std::time::Duration>,
    /// Record the inputs' modification times (the bundle then changes when
    /// a file is touched).
    #[arg(long)]
    keep_times: bool,
    /// Mounts in command-line order (filled after parsing).
    #[arg(skip)]
    mounts: Vec<PackMount>,
}

/// One image to pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackMount {
    tar: bool,
    source: PathBuf,
    guest: String,
    mode: MountMode,
}

/// Puts `--dir` and `--tar` in command-line order; a bad spec is a usage
/// error.
pub(crate) fn finish(args: &mut PackArgs, m: &ArgMatches) -> Result<(), String> {
    let mut all: Vec<(usize, PackMount)> = Vec::new();
    let indices = |id: &str| {
        m.indices_of(id)
            .map(|i| i.collect::<Vec<_>>())
            .unwrap_or_default()
    };
    for (tar, id, specs) in [(false, "dirs", &args.dirs), (true, "tars", &args.tars)] {
        for (i, spec) in indices(id).into_iter().zip(specs) {
            let (rest, mode) = if let Some(r) = spec.strip_suffix(":ro") {
                (r, MountMode::ReadOnly)
            } else if let Some(r) = spec.strip_suffix(":cow") {
                (r, MountMode::CopyOnWrite)
            } else {
                (spec.as_str(), MountMode::CopyOnWrite)
            };
            let (source, guest) = match rest.split_once("::") {
                Some((s, g)) if !s.is_empty() && !g.is_empty() => (s, g),
                None if !tar && !rest.is_empty() => (rest, rest),
                _ => {
                    let flag = if tar {
                        "--tar FILE::GUEST"
                    } else {
                        "--dir HOST[::GUEST]"
                    };
                    return Err(format!("{spec}: expected {flag}[:ro|:cow]"));
                }
            };
            all.push((
                i,
                PackMount {
                    tar,
                    source: source.into(),
                    guest: guest.to_string(),
                    mode,
                },
            ));
        }
    }
    all.sort_by_key(|(i, _)| *i);
    args.mounts = all.into_iter().map(|(_, m)| m).collect();
    for e in &args.envs {
        match e.split_once('=') {
            Some((k, _)) if !k.is_empty() => {}
            _ => return Err(format!("--env {e}: expected NAME=VALUE")),
        }
    }
    Ok(())
}

/// Packs; returns a one-line summary, or a one-line error.
pub(crate) fn pack(args: &PackArgs) -> Result<String, String> {
    let module = std::fs::read(&args.wasm)
        .map_err(|e| format!("cannot read {}: {e}", args.wasm.display()))?;
    let mut config = Config::default();
    config.argv0 = args.argv0.clone();
    config.args = args.args.clone();
    config.env = args
        .envs
        .iter()
        .filter_map(|e| e.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    config.deterministic = args.deterministic.then(|| args.seed.unwrap_or(0));
    config.globals = args.globals.clone();
    config.max_memory = args.max_memory;
    config.max_open_files = args.max_open_files;
    config.fuel = args.fuel;
    config.timeout = args.timeout;
    let mut builder = BundleBuilder::new(config);
    for m in &args.mounts {
        let mut image = ImageBuilder::new();
        image.keep_times(args.keep_times);
        let shown = m.source.display().to_string();
        let fail = |e: vasi_bundle::PackError| format!("{shown} (for {}): {e}", m.guest);
        if m.tar {
            let file =
                std::fs::File::open(&m.source).map_err(|e| format!("cannot read {shown}: {e}"))?;
            image
                .add_tar(std::io::BufReader::new(file), &shown)
                .map_err(fail)?;
        } else {
            image.add_host_dir(&m.source).map_err(fail)?;
        }
        builder
            .mount(&m.guest, m.mode, image)
            .map_err(|e| e.to_string())?;
    }
    // Write beside the output and rename, so a failed pack leaves no
    // half-written bundle (and packing over the input is safe).
    let out = &args.output;
    let tmp = {
        let mut name = out.file_name().unwrap_or_default().to_os_string();
        name.push(".vasi-pack-tmp");
        out.with_file_name(name)
    };
    let write = || -> Result<u64, String> {
        let file = std::fs::File::create(&tmp)
            .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        let mut w = std::io::BufWriter::new(file);
        builder.write(&module, &mut w).map_err(|e| e.to_string())?;
        let file = w
            .into_inner()
            .map_err(|e| format!("cannot write {}: {}", tmp.display(), e.error()))?;
        file.sync_all()
            .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, out).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        Ok(std::fs::metadata(out).map(|m| m.len()).unwrap_or(0))
    };
    let size = write().inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    Ok(format!(
        "packed {} with {} image(s) into {} ({size} bytes)",
        args.wasm.display(),
        args.mounts.len(),
        out.display()
    ))
}
