//! A TCP echo server on a listener the host preopened.
//!
//! Host contract: args `["p1_echo_server", N]`; one TCP listener among the fds
//! after 2. The program accepts N connections one after another; from each it
//! receives until the peer shuts its side down, sends back `echo: ` followed by
//! everything received, shuts the connection down and closes it. Then it exits
//! 0 with stdout `served N\n`. With the argument `errors` it only checks the
//! socket calls' errnos on non-sockets, and `EAGAIN` from a nonblocking
//! listener with nobody connecting, and exits 0. With `poll`, it first
//! polls the listener with a 20 ms timeout (nobody may connect before it
//! prints `waiting`: only the clock fires), prints `waiting\n`, then polls the
//! listener with a 30 s timeout until a client connects, and serves that one
//! client; then exits 0.

use test_programs::{
    addr, addr_mut, assert_errno, assert_ok, fd_fdstat_get, poll, raw, Check, Iovec, Subscription,
    EAGAIN, EBADF, EINVAL, ENOTSOCK,
};

const SOCKET_STREAM: u8 = 6;

fn listener() -> i32 {
    (3..64)
        .find(|&fd| fd_fdstat_get(fd).is_ok_and(|st| st.filetype == SOCKET_STREAM))
        .expect("a preopened listener")
}

fn recv(fd: i32, buf: &mut [u8]) -> usize {
    let iov = Iovec {
        buf: addr_mut(&mut buf[..]) as u32,
        len: buf.len() as u32,
    };
    let mut n = 0u32;
    let mut flags = 0u16;
    // SAFETY: the iovec, its buffer and both results are valid.
    assert_ok!(unsafe {
        raw::sock_recv(fd, addr(&iov), 1, 0, addr_mut(&mut n), addr_mut(&mut flags))
    });
    assert_eq!(flags, 0);
    n as usize
}

fn send(fd: i32, data: &[u8]) {
    let mut sent = 0;
    while sent < data.len() {
        let iov = Iovec {
            buf: addr(&data[sent..]) as u32,
            len: (data.len() - sent) as u32,
        };
        let mut n = 0u32;
        // SAFETY: the iovec, its buffer and the result are valid.
        assert_ok!(unsafe { raw::sock_send(fd, addr(&iov), 1, 0, addr_mut(&mut n)) });
        sent += n as usize;
    }
}

fn main() {
    let arg = std::env::args().nth(1).expect("N or errors");
    if arg == "errors" {
        let mut fd = 0i32;
        // SAFETY: the result pointer is valid.
        unsafe {
            assert_errno!(raw::sock_accept(1, 0, addr_mut(&mut fd)), ENOTSOCK);
            assert_errno!(raw::sock_accept(999, 0, addr_mut(&mut fd)), EBADF);
            assert_errno!(
                raw::sock_accept(listener(), 0x80, addr_mut(&mut fd)),
                EINVAL
            );
            assert_errno!(raw::sock_shutdown(1, 2), ENOTSOCK);
            // A nonblocking listener with nobody waiting says EAGAIN.
            let l = listener();
            assert_ok!(raw::fd_fdstat_set_flags(l, 4));
            assert_eq!(fd_fdstat_get(l).check("fdstat").flags, 4);
            assert_errno!(raw::sock_accept(l, 0, addr_mut(&mut fd)), EAGAIN);
            assert_ok!(raw::fd_fdstat_set_flags(l, 0));
        }
        return;
    }
    let l = listener();
    let n: usize = if arg == "poll" {
        let events = poll(&[Subscription::read(1, l), Subscription::clock(2, 20_000_000)])
            .check("poll with nobody connecting");
        assert_eq!(events, [(2, 0, 0, 0)], "only the clock fires");
        println!("waiting");
        let events = poll(&[
            Subscription::read(1, l),
            Subscription::clock(2, 30_000_000_000),
        ])
        .check("poll for a client");
        assert_eq!(events, [(1, 0, 1, 0)], "the listener is readable");
        1
    } else {
        arg.parse().expect("a number")
    };
    for _ in 0..n {
        let mut conn = -1i32;
        // SAFETY: the result pointer is valid.
        assert_ok!(unsafe { raw::sock_accept(l, 0, addr_mut(&mut conn)) });
        let mut data = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            let got = recv(conn, &mut buf);
            if got == 0 {
                break;
            }
            data.extend_from_slice(&buf[..got]);
        }
        let mut reply = b"echo: ".to_vec();
        reply.extend_from_slice(&data);
        send(conn, &reply);
        // SAFETY: no pointers.
        unsafe {
            assert_errno!(raw::sock_shutdown(conn, 0), EINVAL);
            assert_ok!(raw::sock_shutdown(conn, 3));
        }
        test_programs::fd_close(conn).check("close");
    }
    if arg != "poll" {
        println!("served {n}");
    }
}
