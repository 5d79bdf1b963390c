//! Stdio: all of stdin is read, stdout and stderr receive exact bytes, and
//! the stdio fds refuse the wrong direction and seeking.
//!
//! Host contract: no args beyond argv[0], no env. stdin is
//! `"line one\nline two\n"`, then 100,000 bytes of `x`, then `"\nEND\n"`
//! (100,023 bytes in all). Exit code 0.
//!
//! stdout is exactly:
//! ```text
//! stdin bytes: 100023
//! LINE ONE
//! LINE TWO
//! ```
//! (each line ends with `\n`, i.e. `"stdin bytes: 100023\nLINE ONE\nLINE TWO\n"`).
//!
//! stderr is exactly `"to stderr\n"`.

use std::io::{Read, Write};
use test_programs::{
    assert_errno, errno_display, fd_fdstat_get, fd_read, fd_seek, fd_write, Check, EBADF, ESPIPE,
    FILETYPE_CHARACTER_DEVICE, FILETYPE_UNKNOWN, WHENCE_CUR, WHENCE_SET,
};

fn main() {
    // Wrong directions and seeking, before any output.
    assert_errno!(fd_write(0, b"to stdin"), EBADF);
    let mut buf = [0u8; 16];
    assert_errno!(fd_read(1, &mut buf), EBADF);
    assert_errno!(fd_read(2, &mut buf), EBADF);
    assert_errno!(fd_seek(1, 0, WHENCE_CUR), ESPIPE);
    assert_errno!(fd_seek(2, 0, WHENCE_SET), ESPIPE);
    for fd in 0..3 {
        let st = fd_fdstat_get(fd).check("fd_fdstat_get(stdio)");
        assert!(
            st.filetype == FILETYPE_CHARACTER_DEVICE || st.filetype == FILETYPE_UNKNOWN,
            "fd {fd}: filetype {} is neither CHARACTER_DEVICE (2) nor UNKNOWN (0)",
            st.filetype
        );
    }

    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .expect("read stdin");
    let mut want = b"line one\nline two\n".to_vec();
    want.resize(want.len() + 100_000, b'x');
    want.extend_from_slice(b"\nEND\n");
    assert_eq!(input.len(), want.len(), "stdin length");
    if let Some(i) = input.iter().zip(&want).position(|(a, b)| a != b) {
        panic!(
            "stdin differs at byte {i}: got {:#04x}, expected {:#04x}",
            input[i], want[i]
        );
    }
    // EOF is sticky.
    match fd_read(0, &mut buf) {
        Ok(0) => {}
        Ok(n) => panic!("read {n} bytes from stdin after EOF"),
        Err(e) => panic!("fd_read(stdin) after EOF failed with {}", errno_display(e)),
    }

    let text = std::str::from_utf8(&input[..18]).expect("first two lines are UTF-8");
    let mut out = std::io::stdout().lock();
    write!(out, "stdin bytes: {}\n{}", input.len(), text.to_uppercase()).expect("write stdout");
    out.flush().expect("flush stdout");
    let mut err = std::io::stderr().lock();
    err.write_all(b"to stderr\n").expect("write stderr");
    err.flush().expect("flush stderr");
}
