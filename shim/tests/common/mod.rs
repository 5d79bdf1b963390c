//! Guest modules for the shim's tests, in WAT (no wasm toolchain needed).
#![allow(dead_code, reason = "each test binary uses some of them")]

const IMPORTS: &str = r#"
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_accept" (func $sock_accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; Writes [p, p+n) to fd (iovec at 0, count at 8).
  (func $write (param $fd i32) (param $p i32) (param $n i32) (result i32)
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (local.get $n))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  ;; Turns the NULs of [p, p+n) into newlines.
  (func $nl (param $p i32) (param $n i32)
    (local $i i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (if (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $i))))
        (then (i32.store8 (i32.add (local.get $p) (local.get $i)) (i32.const 10))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))))
"#;

fn module(body: &str) -> Vec<u8> {
    wat::parse_str(format!("(module {IMPORTS} {body})")).expect("test module")
}

/// Prints its arguments, then its environment, one per line.
pub fn args_env() -> Vec<u8> {
    module(
        r#"
  (func (export "_start")
    (drop (call $args_sizes_get (i32.const 16) (i32.const 20)))
    (drop (call $args_get (i32.const 1024) (i32.const 8192)))
    (call $nl (i32.const 8192) (i32.load (i32.const 20)))
    (drop (call $write (i32.const 1) (i32.const 8192) (i32.load (i32.const 20))))
    (drop (call $environ_sizes_get (i32.const 16) (i32.const 20)))
    (drop (call $environ_get (i32.const 1024) (i32.const 32768)))
    (call $nl (i32.const 32768) (i32.load (i32.const 20)))
    (drop (call $write (i32.const 1) (i32.const 32768) (i32.load (i32.const 20)))))"#,
    )
}

/// Prints `hello` and exits with `code`.
pub fn hello_exit(code: i32) -> Vec<u8> {
    module(&format!(
        r#"
  (data (i32.const 100) "hello\n")
  (func (export "_start")
    (drop (call $write (i32.const 1) (i32.const 100) (i32.const 6)))
    (call $proc_exit (i32.const {code})))"#
    ))
}

/// Creates `name` in the directory of fd `dir` and writes `ok` into it;
/// exits with path_open's errno (0 if it worked).
pub fn create_file(dir: u32, name: &str) -> Vec<u8> {
    module(&format!(
        r#"
  (data (i32.const 100) "{name}")
  (data (i32.const 200) "ok\n")
  (func (export "_start") (local $e i32)
    (local.set $e (call $path_open (i32.const {dir}) (i32.const 0) (i32.const 100) (i32.const {len})
      (i32.const 1) (i64.const 0x1ff) (i64.const 0) (i32.const 0) (i32.const 16)))
    (if (local.get $e) (then (call $proc_exit (local.get $e))))
    (drop (call $write (i32.load (i32.const 16)) (i32.const 200) (i32.const 3)))
    (call $proc_exit (i32.const 0)))"#,
        len = name.len()
    ))
}

/// Prints the first 100 bytes of `name` in the directory of fd `dir`;
/// exits with path_open's errno (0 if it worked).
pub fn cat_file(dir: u32, name: &str) -> Vec<u8> {
    module(&format!(
        r#"
  (data (i32.const 100) "{name}")
  (func (export "_start") (local $e i32)
    (local.set $e (call $path_open (i32.const {dir}) (i32.const 0) (i32.const 100) (i32.const {len})
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16)))
    (if (local.get $e) (then (call $proc_exit (local.get $e))))
    (i32.store (i32.const 32) (i32.const 1024))
    (i32.store (i32.const 36) (i32.const 100))
    (drop (call $fd_read (i32.load (i32.const 16)) (i32.const 32) (i32.const 1) (i32.const 40)))
    (drop (call $write (i32.const 1) (i32.const 1024) (i32.load (i32.const 40))))
    (call $proc_exit (i32.const 0)))"#,
        len = name.len()
    ))
}

/// Prints `sleeping`, then sleeps an hour (a relative monotonic clock
/// subscription) and exits 0.
pub fn sleep_hour() -> Vec<u8> {
    module(
        r#"
  (data (i32.const 100) "sleeping\n")
  (func (export "_start")
    (drop (call $write (i32.const 1) (i32.const 100) (i32.const 9)))
    (i32.store (i32.const 144) (i32.const 1))
    (i64.store (i32.const 152) (i64.const 3600000000000))
    (drop (call $poll_oneoff (i32.const 128) (i32.const 256) (i32.const 1) (i32.const 320))))"#,
    )
}

/// Prints `reading`, then reads stdin and exits 0.
pub fn read_stdin() -> Vec<u8> {
    module(
        r#"
  (data (i32.const 100) "reading\n")
  (func (export "_start")
    (drop (call $write (i32.const 1) (i32.const 100) (i32.const 8)))
    (i32.store (i32.const 32) (i32.const 1024))
    (i32.store (i32.const 36) (i32.const 100))
    (drop (call $fd_read (i32.const 0) (i32.const 32) (i32.const 1) (i32.const 40))))"#,
    )
}

/// Prints `spinning`, then loops forever in wasm code.
pub fn spin() -> Vec<u8> {
    module(
        r#"
  (data (i32.const 100) "spinning\n")
  (func (export "_start")
    (drop (call $write (i32.const 1) (i32.const 100) (i32.const 9)))
    (loop $l (br $l)))"#,
    )
}

/// Prints 8 random bytes as 16 hex digits.
pub fn random_hex() -> Vec<u8> {
    module(
        r#"
  (data (i32.const 200) "0123456789abcdef")
  (func (export "_start") (local $i i32) (local $b i32)
    (drop (call $random_get (i32.const 100) (i32.const 8)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (i32.const 8)))
      (local.set $b (i32.load8_u (i32.add (i32.const 100) (local.get $i))))
      (i32.store8 (i32.add (i32.const 300) (i32.shl (local.get $i) (i32.const 1)))
        (i32.load8_u (i32.add (i32.const 200) (i32.shr_u (local.get $b) (i32.const 4)))))
      (i32.store8 (i32.add (i32.const 301) (i32.shl (local.get $i) (i32.const 1)))
        (i32.load8_u (i32.add (i32.const 200) (i32.and (local.get $b) (i32.const 15)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (i32.store8 (i32.const 316) (i32.const 10))
    (drop (call $write (i32.const 1) (i32.const 300) (i32.const 17))))"#,
    )
}

/// Grows its memory by `pages` pages; exits 0 if it could, 1 if not.
pub fn grow(pages: u32) -> Vec<u8> {
    module(&format!(
        r#"
  (func (export "_start")
    (if (i32.eq (memory.grow (i32.const {pages})) (i32.const -1))
      (then (call $proc_exit (i32.const 1))))
    (call $proc_exit (i32.const 0)))"#
    ))
}

/// Prints `accepting`, then waits for a connection on fd `fd` and exits 0.
pub fn accept(fd: u32) -> Vec<u8> {
    module(&format!(
        r#"
  (data (i32.const 100) "accepting\n")
  (func (export "_start")
    (drop (call $write (i32.const 1) (i32.const 100) (i32.const 10)))
    (call $proc_exit (call $sock_accept (i32.const {fd}) (i32.const 0) (i32.const 16))))"#
    ))
}
