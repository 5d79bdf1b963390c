//! Arguments and environment reach the guest exactly, byte for byte.
//!
//! Host contract:
//! - args: `["p1_args_env", "hello", "wörld", "", "a b"]`
//! - env, in this order and nothing else: `FOO=bar`, `EMPTY=`, `UNICODE=ünï`
//! - stdin empty; stdout and stderr empty; exit code 0.

use test_programs::{addr_mut, assert_ok, raw};

const ARGS: &[&str] = &["p1_args_env", "hello", "wörld", "", "a b"];
const ENV: &[(&str, &str)] = &[("FOO", "bar"), ("EMPTY", ""), ("UNICODE", "ünï")];

/// Reads a `*_sizes_get` / `*_get` pair and returns the NUL-terminated strings
/// after checking the counts, buffer size and pointer table.
fn read_list(
    sizes_get: unsafe extern "C" fn(i32, i32) -> i32,
    get: unsafe extern "C" fn(i32, i32) -> i32,
    what: &str,
    expected: &[Vec<u8>],
) {
    let mut count = u32::MAX;
    let mut buf_size = u32::MAX;
    // SAFETY: both out-pointers are valid, aligned u32s.
    assert_ok!(unsafe { sizes_get(addr_mut(&mut count), addr_mut(&mut buf_size)) });
    assert_eq!(count as usize, expected.len(), "{what}: count");
    let want_size: usize = expected.iter().map(|s| s.len() + 1).sum();
    assert_eq!(
        buf_size as usize, want_size,
        "{what}: buffer size (sum of len+1)"
    );

    // One spare pointer and spare bytes, filled with a marker, to catch
    // writes past the announced sizes.
    let mut ptrs = vec![0xdead_beef_u32; expected.len() + 1];
    let mut buf = vec![0xaa_u8; want_size + 8];
    // SAFETY: `ptrs` holds `count` u32s and `buf` holds `buf_size` bytes.
    assert_ok!(unsafe { get(addr_mut(&mut ptrs[..]), addr_mut(&mut buf[..])) });
    assert_eq!(
        ptrs[expected.len()],
        0xdead_beef,
        "{what}: pointer written past count"
    );
    assert!(
        buf[want_size..].iter().all(|&b| b == 0xaa),
        "{what}: bytes written past buffer size"
    );

    let base = addr_mut(&mut buf[..]) as u32;
    let mut off = 0usize;
    for (i, want) in expected.iter().enumerate() {
        assert_eq!(ptrs[i], base + off as u32, "{what}[{i}]: pointer");
        let got = &buf[off..off + want.len()];
        assert_eq!(got, &want[..], "{what}[{i}]: bytes");
        assert_eq!(buf[off + want.len()], 0, "{what}[{i}]: NUL terminator");
        off += want.len() + 1;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    assert_eq!(args, ARGS, "std::env::args()");

    let vars: Vec<(String, String)> = std::env::vars().collect();
    let want: Vec<(String, String)> = ENV
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(vars, want, "std::env::vars()");
    assert_eq!(
        std::env::var("EMPTY").as_deref(),
        Ok(""),
        "EMPTY is set and empty"
    );
    assert!(std::env::var_os("PATH").is_none(), "PATH must not be set");

    let raw_args: Vec<Vec<u8>> = ARGS.iter().map(|s| s.as_bytes().to_vec()).collect();
    read_list(raw::args_sizes_get, raw::args_get, "args", &raw_args);
    let raw_env: Vec<Vec<u8>> = ENV
        .iter()
        .map(|(k, v)| format!("{k}={v}").into_bytes())
        .collect();
    read_list(
        raw::environ_sizes_get,
        raw::environ_get,
        "environ",
        &raw_env,
    );
}
