//! Writes the guest modules of `scripts/containerd-e2e.sh` into a directory:
//! `cargo run --example e2e-modules -- DIR`.

#[path = "../tests/common/mod.rs"]
mod common;

fn main() -> std::io::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    std::fs::create_dir_all(&dir)?;
    for (name, wasm) in [
        ("args.wasm", common::args_env()),
        ("exit42.wasm", common::hello_exit(42)),
        ("write-root.wasm", common::create_file(3, "written.txt")),
        ("write-scratch.wasm", common::create_file(4, "scratch.txt")),
        ("sleep.wasm", common::sleep_hour()),
        ("cat-proc.wasm", common::cat_file(3, "proc/self/status")),
    ] {
        std::fs::write(dir.join(name), wasm)?;
    }
    Ok(())
}
