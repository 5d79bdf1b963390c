//! vasi_web.wasm exports its function table, growable, so that the JS
//! loader can add the guest-memory accessors (`accessModule` in
//! `js/vasi.js`) to it once the guest exists; see `vasi_guest_access`.

fn main() {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if arch == "wasm32" && os == "unknown" {
        println!("cargo:rustc-cdylib-link-arg=--export-table");
        println!("cargo:rustc-cdylib-link-arg=--growable-table");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
