//! The timing record and connection facts of `httpring_handle_info`, over plain HTTP (TLS:
//! see transport.rs).

use crate::common;

use std::ffi::CStr;

use common::{Client, TestServer};
use httpring::ffi::*;

use httpring_code::*;

fn info(c: &Client, h: httpring_handle) -> httpring_info {
    let mut i = httpring_info::default();
    assert_eq!(unsafe { httpring_handle_info(c.0, h, &mut i) }, HTTPRING_OK);
    i
}

fn text(buf: &[std::ffi::c_char]) -> String {
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// The phases, in order.
fn phases(i: &httpring_info) -> [u64; 8] {
    [
        i.queued_us,
        i.pool_us,
        i.dns_us,
        i.connect_us,
        i.tls_us,
        i.send_us,
        i.wait_us,
        i.receive_us,
    ]
}

#[test]
fn phases_add_up_to_the_total_and_describe_the_connection() {
    let srv = TestServer::start();
    let c = Client::new();
    let port = srv.base.rsplit(':').next().unwrap().to_string();

    // A new connection, then the same one again; the server waits 100 ms before answering.
    for (n, reused) in [(0, false), (1, true)] {
        let h = c.get(&srv.url("/delay/100"));
        c.wait(h);
        let i = info(&c, h);
        let sum: u64 = phases(&i).iter().sum();
        assert!(
            sum <= i.total_us,
            "request {n}: phases {:?} > total {}",
            phases(&i),
            i.total_us
        );
        // Each phase is rounded down to a microsecond: at most one lost per phase.
        assert!(
            i.total_us - sum <= 8,
            "request {n}: {:?} vs {}",
            phases(&i),
            i.total_us
        );
        assert!(
            i.wait_us >= 95_000,
            "the server's 100 ms is waiting: {}",
            i.wait_us
        );
        assert!(i.total_us >= i.wait_us);
        assert_eq!(i.reused, reused, "request {n}");
        assert_eq!(text(&i.remote_addr), format!("127.0.0.1:{port}"));
        assert_eq!(text(&i.alpn), "");
        assert_eq!(i.tls_version, 0);
        assert_eq!(i.tls_us, 0);
        if reused {
            assert_eq!((i.dns_us, i.connect_us), (0, 0));
        } else {
            assert!(i.connect_us > 0, "a TCP connect takes some time");
        }
        // The elapsed time of the response is the same total.
        let r = c.response(h);
        assert!(r.elapsed_us.abs_diff(i.total_us) <= 1);
        c.free(h);
    }
}

#[test]
fn a_large_upload_shows_in_send_and_a_large_download_in_receive() {
    let srv = TestServer::start();
    let c = Client::new();
    let body = vec![b'u'; 16 << 20];
    let h = c
        .submit("POST", &srv.url("/echo"), |r| unsafe {
            assert_eq!(
                httpring_request_set_body(r, body.as_ptr(), body.len()),
                HTTPRING_OK
            );
        })
        .unwrap();
    c.wait(h);
    let up = info(&c, h);
    assert!(
        up.send_us > 0,
        "writing 16 MiB takes time: {:?}",
        phases(&up)
    );
    c.free(h);
    let h = c.get(&srv.url("/bytes/16000000"));
    c.wait(h);
    let down = info(&c, h);
    assert!(down.receive_us > 0, "{:?}", phases(&down));
    assert_eq!(down.bytes_received, 16_000_000);
    c.free(h);
}

#[test]
fn a_failed_request_has_attempts_but_no_timing() {
    let c = Client::new();
    let h = c.get("http://127.0.0.1:1/");
    c.wait(h);
    let i = info(&c, h);
    assert_eq!(i.attempts, 1);
    assert_eq!(i.total_us, 0);
    assert_eq!(text(&i.remote_addr), "");
    // A struct_size below the first version's is refused, and nothing is written.
    let mut small = httpring_info {
        struct_size: 8,
        attempts: 77,
        ..Default::default()
    };
    assert_eq!(
        unsafe { httpring_handle_info(c.0, h, &mut small) },
        HTTPRING_ERR_INVALID_ARGUMENT
    );
    assert_eq!(small.attempts, 77);
}
