//! The `containerd-shim-vasi-v1` binary: containerd runs it for containers
//! of the runtime `io.containerd.vasi.v1`.

use containerd_shim_vasi::VasiShim;
use containerd_shim_wasm::shim::Cli;

fn main() {
    VasiShim::run(None);
}
