//! Failures: bad input at submit, network errors, timeouts, cancellation, misuse of handles.

use crate::common;

use std::ffi::CString;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use httpring::ffi::*;
use httpring_code::*;
use httpring_state::*;

fn submit_code(c: &Client, method: &str, url: &[u8]) -> httpring_code {
    let (m, u) = (CString::new(method).unwrap(), CString::new(url).unwrap());
    let mut h = 0;
    unsafe {
        httpring_client_send(
            c.0,
            m.as_ptr(),
            u.as_ptr(),
            std::ptr::null(),
            0,
            std::ptr::null(),
            0,
            0,
            &mut h,
        )
    }
}

#[test]
fn invalid_input_is_rejected_at_submit() {
    let c = Client::new();
    let mut h = 0;
    assert_eq!(
        submit_code(&c, "GET", b"not a url"),
        HTTPRING_ERR_INVALID_URL
    );
    assert_eq!(submit_code(&c, "GET", b"http://"), HTTPRING_ERR_INVALID_URL);
    assert_eq!(
        submit_code(&c, "GET", b"/relative/path"),
        HTTPRING_ERR_INVALID_URL
    );
    assert_eq!(
        submit_code(&c, "GET", b"http://h\xff/x"),
        HTTPRING_ERR_INVALID_URL
    );
    assert_eq!(
        submit_code(&c, "GET", b"ftp://127.0.0.1/"),
        HTTPRING_ERR_UNSUPPORTED_SCHEME
    );
    assert_eq!(
        submit_code(&c, "BAD METHOD", b"http://127.0.0.1/"),
        HTTPRING_ERR_INVALID_METHOD
    );
    // NULL arguments.
    unsafe {
        assert_eq!(
            httpring_client_get(c.0, std::ptr::null(), 0, &mut h),
            HTTPRING_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            httpring_client_get(c.0, c"http://127.0.0.1/".as_ptr(), 0, std::ptr::null_mut()),
            HTTPRING_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            httpring_client_get(std::ptr::null(), c"http://127.0.0.1/".as_ptr(), 0, &mut h),
            HTTPRING_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            httpring_client_submit(c.0, std::ptr::null_mut(), &mut h),
            HTTPRING_ERR_INVALID_ARGUMENT
        );
        assert!(httpring_request_new(std::ptr::null(), c"http://x/".as_ptr()).is_null());
        assert_eq!(
            httpring_client_post(
                c.0,
                c"http://127.0.0.1/".as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                5,
                0,
                &mut h
            ),
            HTTPRING_ERR_INVALID_ARGUMENT
        );
    }
    // Headers with CR, LF, NUL or a bad name: the setter fails and so does submit.
    for (name, value) in [
        (&b"X-A"[..], &b"a\r\nInjected: 1"[..]),
        (b"X-A", b"line\nbreak"),
        (b"X-A", b"nul\0byte"),
        (b"Bad Name", b"v"),
        (b"X:A", b"v"),
        (b"", b"v"),
    ] {
        let r = c.submit("GET", "http://127.0.0.1:1/", |req| unsafe {
            assert_eq!(
                httpring_request_add_header_bytes(
                    req,
                    name.as_ptr(),
                    name.len(),
                    value.as_ptr(),
                    value.len()
                ),
                HTTPRING_ERR_INVALID_HEADER
            );
        });
        assert_eq!(r, Err(HTTPRING_ERR_INVALID_HEADER), "{name:?}: {value:?}");
        let hdr = httpring_header {
            name: name.as_ptr(),
            name_len: name.len(),
            value: value.as_ptr(),
            value_len: value.len(),
        };
        let code = unsafe {
            httpring_client_send(
                c.0,
                c"GET".as_ptr(),
                c"http://127.0.0.1:1/".as_ptr(),
                &hdr,
                1,
                std::ptr::null(),
                0,
                0,
                &mut h,
            )
        };
        assert_eq!(code, HTTPRING_ERR_INVALID_HEADER);
    }
    let cfg = httpring_config_new();
    unsafe {
        assert_eq!(
            httpring_config_add_default_header(cfg, c"X".as_ptr(), c"a\rb".as_ptr()),
            HTTPRING_ERR_INVALID_HEADER
        );
        assert_eq!(
            httpring_config_set_worker_threads(cfg, 0),
            HTTPRING_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            httpring_config_set_timeout_ms(std::ptr::null_mut(), 5),
            HTTPRING_ERR_INVALID_ARGUMENT
        );
        httpring_config_free(cfg);
    }
    assert_eq!(c.live(), 0, "no handle is created for rejected input");
}

#[test]
fn error_names_are_stable_and_never_null() {
    let name = |code: u32| {
        unsafe { std::ffi::CStr::from_ptr(httpring_error_name(code)) }
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(name(0), "HTTPRING_OK");
    assert_eq!(name(HTTPRING_ERR_DNS as u32), "HTTPRING_ERR_DNS");
    assert_eq!(
        name(HTTPRING_ERR_READ_TIMEOUT as u32),
        "HTTPRING_ERR_READ_TIMEOUT"
    );
    assert_eq!(name(HTTPRING_ERR_INTERNAL as u32), "HTTPRING_ERR_INTERNAL");
    assert_eq!(name(9999), "HTTPRING_UNKNOWN");
    for code in 0..=HTTPRING_ERR_INTERNAL as u32 {
        assert!(
            name(code).starts_with("HTTPRING_") && name(code) != "HTTPRING_UNKNOWN",
            "{code}"
        );
    }
}

#[test]
fn connection_refused() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Client::new();
    let h = c.get(&format!("http://127.0.0.1:{port}/"));
    assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
    assert_eq!(c.error(h), HTTPRING_ERR_CONNECT_REFUSED);
    assert!(c.message(h).contains("refused"), "{}", c.message(h));
    let mut r = httpring_response::default();
    assert_eq!(
        unsafe { httpring_handle_response(c.0, h, &mut r) },
        HTTPRING_ERR_CONNECT_REFUSED
    );
    c.free(h);
}

#[test]
fn unresolvable_name_is_a_dns_error() {
    let c = Client::new();
    let h = c.get("http://no-such-host.invalid/");
    assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
    assert_eq!(c.error(h), HTTPRING_ERR_DNS, "{}", c.message(h));
    c.free(h);
}

#[test]
fn connect_timeout_fires() {
    // A listener with a backlog of 0 whose queue is full drops new SYNs, so connect hangs.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sock = rt
        .block_on(async { tokio::net::TcpSocket::new_v4() })
        .unwrap();
    sock.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = sock.local_addr().unwrap();
    let _listener = rt.block_on(async { sock.listen(0) }).unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        let s = socket_nonblocking_connect(addr);
        fillers.push(s);
    }
    std::thread::sleep(Duration::from_millis(100));
    let c = Client::with(|cfg| {
        assert_eq!(
            unsafe { httpring_config_set_connect_timeout_ms(cfg, 300) },
            HTTPRING_OK
        )
    });
    let t = Instant::now();
    let h = c.get(&format!("http://{addr}/"));
    assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
    let took = ms_since(t);
    assert_eq!(c.error(h), HTTPRING_ERR_CONNECT_TIMEOUT, "{}", c.message(h));
    assert!(
        (280..1500).contains(&took),
        "connect timeout took {took} ms"
    );
    // The message says where it stalled.
    let message = c.message(h);
    assert!(
        message.contains("the name was resolved; no TCP connection yet"),
        "{message}"
    );
    c.free(h);
}

fn socket_nonblocking_connect(addr: std::net::SocketAddr) -> Option<std::net::TcpStream> {
    std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(50)).ok()
}

#[test]
fn total_timeout_fires() {
    let srv = TestServer::start();
    let c = Client::with(|cfg| {
        assert_eq!(
            unsafe { httpring_config_set_timeout_ms(cfg, 300) },
            HTTPRING_OK
        )
    });
    let t = Instant::now();
    let h = c.get(&srv.url("/delay/3000"));
    assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
    let took = ms_since(t);
    assert_eq!(c.error(h), HTTPRING_ERR_TIMEOUT, "{}", c.message(h));
    assert!((280..1500).contains(&took), "total timeout took {took} ms");
    c.free(h);
    // A per-request override lifts it.
    let h = c
        .submit("GET", &srv.url("/delay/500"), |r| {
            assert_eq!(
                unsafe { httpring_request_set_timeout_ms(r, 5000) },
                HTTPRING_OK
            )
        })
        .unwrap();
    assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "{}", c.message(h));
    c.free(h);
}

#[test]
fn read_timeout_fires_waiting_for_head_and_mid_body() {
    let srv = TestServer::start();
    let c = Client::with(|cfg| {
        assert_eq!(
            unsafe { httpring_config_set_read_timeout_ms(cfg, 300) },
            HTTPRING_OK
        )
    });
    for path in ["/stall", "/stall-body"] {
        let t = Instant::now();
        let h = c.get(&srv.url(path));
        assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
        let took = ms_since(t);
        assert_eq!(
            c.error(h),
            HTTPRING_ERR_READ_TIMEOUT,
            "{path}: {}",
            c.message(h)
        );
        assert!(
            (280..1500).contains(&took),
            "{path}: read timeout took {took} ms"
        );
        c.free(h);
    }
    // A slow but steady body (a byte every 100 ms) does not trip a 300 ms idle timeout.
    let (status, body) = c.fetch(&srv.url("/drip/6/100"));
    assert_eq!((status, body.len()), (200, 6));
    // Per-request override: 100 ms on a client whose read timeout is 2 s.
    let c = Client::with(|cfg| {
        assert_eq!(
            unsafe { httpring_config_set_read_timeout_ms(cfg, 2000) },
            HTTPRING_OK
        )
    });
    let h = c
        .submit("GET", &srv.url("/stall"), |r| {
            assert_eq!(
                unsafe { httpring_request_set_read_timeout_ms(r, 100) },
                HTTPRING_OK
            )
        })
        .unwrap();
    let t = Instant::now();
    c.wait(h);
    assert_eq!(c.error(h), HTTPRING_ERR_READ_TIMEOUT);
    assert!(ms_since(t) < 1500);
    c.free(h);
}

/// Submits a POST of `body` (copied at submit).
fn post(c: &Client, url: &str, body: &[u8]) -> httpring_handle {
    c.submit("POST", url, |r| unsafe {
        assert_eq!(
            httpring_request_set_body(r, body.as_ptr(), body.len()),
            HTTPRING_OK
        );
    })
    .unwrap()
}

/// An HTTP/2 client (prior knowledge) with a read timeout of `ms`.
fn h2c_read_timeout(ms: u64) -> Client {
    Client::with(|cfg| unsafe {
        assert_eq!(
            httpring_config_set_h2c_prior_knowledge(cfg, true),
            HTTPRING_OK
        );
        assert_eq!(httpring_config_set_read_timeout_ms(cfg, ms), HTTPRING_OK);
    })
}

#[test]
fn over_http2_other_streams_traffic_does_not_keep_a_silent_head_waiting() {
    // Every stream of an HTTP/2 connection shares its socket: a body flowing on one stream
    // is no answer on another. A download drips a byte every 100 ms for 4 s, and other
    // requests are answered every ~100 ms for 3 s, beside a GET and a POST whose server
    // holds the head for 10 s; both fail after one to two read timeouts (they waited for
    // the download to end, then a read timeout more).
    let srv = TestServer::start();
    let c = h2c_read_timeout(300);
    let drip = c.get(&srv.url("/drip/40/100"));
    let t = Instant::now();
    let held = c.get(&srv.url("/delay/10000"));
    let posted = post(&c, &srv.url("/delay/10000"), &[b'p'; 1000]);
    let steady = std::thread::scope(|s| {
        let run = s.spawn(|| {
            let mut answered = 0;
            while t.elapsed() < Duration::from_secs(3) {
                let h = c.get(&srv.url("/delay/100"));
                assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "{}", c.message(h));
                c.free(h);
                answered += 1;
            }
            answered
        });
        for h in [held, posted] {
            assert_eq!(c.wait(h), HTTPRING_STATE_FAILED, "{}", c.message(h));
            let took = ms_since(t);
            assert_eq!(c.error(h), HTTPRING_ERR_READ_TIMEOUT, "{}", c.message(h));
            assert!(
                c.message(h).contains(
                    "no data from the server for 300ms while waiting for the response head"
                ),
                "{}",
                c.message(h)
            );
            assert!((280..1_500).contains(&took), "read timeout took {took} ms");
            c.free(h);
        }
        run.join().unwrap()
    });
    assert!(steady >= 10, "{steady} answered");
    // The download itself goes on: its bytes are its own sign of life.
    assert_eq!(c.wait(drip), HTTPRING_STATE_DONE, "{}", c.message(drip));
    assert_eq!(c.body(drip), [b'x'; 40]);
    assert_eq!(
        c.response(drip).version,
        httpring_http_version::HTTPRING_HTTP_2
    );
    c.free(drip);
}

#[test]
fn over_http2_a_request_waiting_for_a_free_stream_is_not_timed_by_the_read_timeout() {
    // The server allows 2 streams; 10 requests of 250 ms each wait up to a second for a
    // stream, longer than the 600 ms read timeout. While a request may wait for a stream,
    // other streams ending are signs of life, so all of them succeed.
    let srv = TestServer::with_options(common::server::Options {
        h2_max_streams: Some(2),
        ..Default::default()
    });
    let c = h2c_read_timeout(600);
    // One request first: its connection's SETTINGS (2 streams) are known to the burst.
    let (status, _) = c.fetch(&srv.url("/hello"));
    assert_eq!(status, 200);
    let t = Instant::now();
    let hs: Vec<_> = (0..10).map(|_| c.get(&srv.url("/delay/250"))).collect();
    for &h in &hs {
        assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "{}", c.message(h));
        assert_eq!(c.body(h), b"ok");
        c.free(h);
    }
    // They did queue: five rounds of two.
    assert!(ms_since(t) >= 1_200, "{} ms", ms_since(t));
    assert_eq!(srv.stats.max_active.load(Ordering::SeqCst), 2);
}

#[test]
fn over_http2_an_upload_longer_than_the_read_timeout_is_not_a_silent_server() {
    // An 8 MiB body in hand goes to h2 as one frame, which h2 holds and sends as the server
    // grants window; the server takes a 16 KiB frame every 3 ms or so (1.5 s or more in
    // all). The socket taking the body, and then the server's window updates as it reads the
    // rest, are progress: the 500 ms read timeout does not fire.
    let srv = TestServer::start();
    let c = h2c_read_timeout(500);
    let h = post(&c, &srv.url("/upload?pause_ms=3"), &vec![b'u'; 8 << 20]);
    let t = Instant::now();
    assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "{}", c.message(h));
    let reply = String::from_utf8(c.body(h)).unwrap();
    assert!(reply.contains("\"received\": 8388608"), "{reply}");
    assert!(reply.contains("HTTP/2"), "{reply}");
    assert!(
        ms_since(t) >= 1_000,
        "{} ms: not longer than two read timeouts",
        ms_since(t)
    );
    c.free(h);
}

#[test]
fn cancel_aborts_a_stalled_request_and_drops_its_connection() {
    let srv = TestServer::start();
    let c = Client::new();
    c.fetch(&srv.url("/hello"));
    assert_eq!(srv.connections(), 1);
    let before = srv.stats.requests.load(Ordering::SeqCst);
    let h = c.get(&srv.url("/stall"));
    // At the server (not waiting for the pooled connection, which a cancel would not close).
    let waited = Instant::now();
    while srv.stats.requests.load(Ordering::SeqCst) <= before {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "/stall never arrived"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut st = HTTPRING_STATE_DONE;
    assert_eq!(
        unsafe { httpring_handle_poll(c.0, h, &mut st) },
        HTTPRING_OK
    );
    assert_eq!(st, HTTPRING_STATE_PENDING);
    let t = Instant::now();
    assert_eq!(httpring_handle_cancel(c.0, h), HTTPRING_OK);
    assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
    assert!(
        ms_since(t) < 2000,
        "/stall lasts an hour: the cancel ended it"
    );
    assert_eq!(c.error(h), HTTPRING_ERR_CANCELLED);
    // Cancelling again, or cancelling a finished request, changes nothing.
    assert_eq!(httpring_handle_cancel(c.0, h), HTTPRING_OK);
    assert_eq!(c.error(h), HTTPRING_ERR_CANCELLED);
    c.free(h);
    // /stall took the pooled connection and the cancel closed it: the next request must
    // open a new one, which is then reused.
    c.fetch(&srv.url("/hello"));
    assert_eq!(srv.connections(), 2);
    c.fetch(&srv.url("/hello"));
    assert_eq!(srv.connections(), 2);
}

#[test]
fn lying_server_is_a_protocol_error_and_big_bodies_are_refused() {
    let srv = TestServer::start();
    let c = Client::with(|cfg| {
        assert_eq!(
            unsafe { httpring_config_set_max_body_size(cfg, 1000) },
            HTTPRING_OK
        )
    });
    let h = c.get(&srv.url("/lie"));
    assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
    assert!(
        matches!(c.error(h), HTTPRING_ERR_PROTOCOL | HTTPRING_ERR_IO),
        "{:?}: {}",
        c.error(h),
        c.message(h)
    );
    c.free(h);
    let h = c.get(&srv.url("/bytes/1001"));
    c.wait(h);
    assert_eq!(c.error(h), HTTPRING_ERR_BODY_TOO_LARGE);
    assert!(c.message(h).contains("1000"));
    c.free(h);
    assert_eq!(c.fetch(&srv.url("/bytes/1000")).1.len(), 1000);
}

#[test]
fn head_responses_declaring_a_big_body_are_not_refused() {
    // A HEAD response carries the GET's Content-Length but no body: the size limit is about
    // the body that comes, so this is not too large.
    let srv = TestServer::start();
    for h2 in [false, true] {
        let c = Client::with(|cfg| {
            assert_eq!(
                unsafe { httpring_config_set_max_body_size(cfg, 1000) },
                HTTPRING_OK
            );
            assert_eq!(
                unsafe { httpring_config_set_h2c_prior_knowledge(cfg, h2) },
                HTTPRING_OK
            );
        });
        let h = c.submit("HEAD", &srv.url("/bytes/5000"), |_| ()).unwrap();
        assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "h2={h2}: {}", c.message(h));
        let r = c.response(h);
        assert_eq!(r.status, 200);
        let want = if h2 {
            httpring_http_version::HTTPRING_HTTP_2
        } else {
            httpring_http_version::HTTPRING_HTTP_1_1
        };
        assert_eq!(r.version, want);
        assert_eq!(c.header(h, "content-length", 0).as_deref(), Some("5000"));
        assert!(c.body(h).is_empty());
        c.free(h);
        // The connection is still good for a GET after it.
        assert_eq!(c.fetch(&srv.url("/bytes/10")).1.len(), 10);
    }
}

#[test]
fn handles_are_checked_double_free_stale_foreign() {
    let srv = TestServer::start();
    let a = Client::new();
    let b = Client::new();
    let h = a.get(&srv.url("/hello"));
    a.wait(h);
    // Another client's handle.
    assert_eq!(httpring_handle_free(b.0, h), HTTPRING_ERR_FOREIGN_HANDLE);
    assert_eq!(httpring_handle_error(b.0, h), HTTPRING_ERR_FOREIGN_HANDLE);
    assert_eq!(a.free(h), HTTPRING_OK);
    // Double free and use after free.
    assert_eq!(a.free(h), HTTPRING_ERR_INVALID_HANDLE);
    assert_eq!(httpring_handle_cancel(a.0, h), HTTPRING_ERR_INVALID_HANDLE);
    let mut r = httpring_response::default();
    assert_eq!(
        unsafe { httpring_handle_response(a.0, h, &mut r) },
        HTTPRING_ERR_INVALID_HANDLE
    );
    // The slot is reused by the next request, but the old id stays dead.
    let h2 = a.get(&srv.url("/hello"));
    assert_ne!(h2, h);
    assert_eq!(a.free(h), HTTPRING_ERR_INVALID_HANDLE);
    a.wait(h2);
    assert_eq!(a.free(h2), HTTPRING_OK);
    // Made-up handles.
    for bogus in [0u64, 1, u64::MAX, 0xdead_beef] {
        assert!(matches!(
            a.free(bogus),
            HTTPRING_ERR_INVALID_HANDLE | HTTPRING_ERR_FOREIGN_HANDLE
        ));
    }
}

#[test]
fn pending_accessors_and_freed_clients() {
    let srv = TestServer::start();
    let c = Client::new();
    let h = c.get(&srv.url("/stall"));
    let mut r = httpring_response::default();
    assert_eq!(
        unsafe { httpring_handle_response(c.0, h, &mut r) },
        HTTPRING_PENDING
    );
    assert_eq!(c.error(h), HTTPRING_PENDING);
    let mut st = HTTPRING_STATE_DONE;
    assert_eq!(
        unsafe { httpring_handle_wait(c.0, h, 50, &mut st) },
        HTTPRING_PENDING
    );
    assert_eq!(st, HTTPRING_STATE_PENDING);

    // Freeing a client with requests in flight completes them as cancelled.
    let raw = c.0;
    let seen = Box::into_raw(Box::new(std::sync::atomic::AtomicU32::new(0)));
    unsafe extern "C" fn count(ctx: *mut std::ffi::c_void, done: *const httpring_completion) {
        let done = unsafe { &*done };
        assert_eq!(done.code, HTTPRING_ERR_CANCELLED);
        unsafe { &*(ctx as *const std::sync::atomic::AtomicU32) }
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    assert_eq!(
        unsafe { httpring_client_set_callback(raw, Some(count), seen.cast()) },
        HTTPRING_OK
    );
    let more: Vec<_> = (0..5).map(|_| c.get(&srv.url("/stall"))).collect();
    let t = Instant::now();
    assert_eq!(httpring_client_free(raw), HTTPRING_OK);
    assert!(ms_since(t) < 2000, "free took {} ms", ms_since(t));
    assert_eq!(
        unsafe { &*seen }.load(std::sync::atomic::Ordering::SeqCst),
        6
    );
    // Everything about a freed client is an error, not a crash.
    assert_eq!(httpring_client_free(raw), HTTPRING_ERR_CLIENT_CLOSED);
    assert_eq!(
        httpring_handle_free(raw, more[0]),
        HTTPRING_ERR_CLIENT_CLOSED
    );
    assert_eq!(httpring_client_fd(raw), -1);
    let mut h2 = 0;
    assert_eq!(
        unsafe { httpring_client_get(raw, c"http://127.0.0.1/".as_ptr(), 0, &mut h2) },
        HTTPRING_ERR_CLIENT_CLOSED
    );
    std::mem::forget(c);
    drop(unsafe { Box::from_raw(seen) });
}

#[test]
fn malformed_framing_is_a_protocol_error() {
    let cases: [(&str, &'static [u8]); 8] = [
        (
            "invalid chunk size",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        ),
        (
            "chunk size overflow",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\nx\r\n",
        ),
        (
            "chunk without its CRLF",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        ),
        ("malformed status line", b"HTTP/1.1 abc OK\r\n\r\n"),
        (
            "malformed header",
            b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        ),
        // Transfer codings never asked for (no TE is sent): the body would come out coded.
        (
            "gzip transfer coding",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        ),
        (
            "gzip transfer coding alone",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\nabc",
        ),
        (
            "a Content-Length too large to hold",
            b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nabc",
        ),
    ];
    let c = Client::new();
    for (what, response) in cases {
        let url = canned_server(response);
        let h = c.get(&url);
        assert_eq!(c.wait(h), HTTPRING_STATE_FAILED, "{what}");
        assert_eq!(
            c.error(h),
            HTTPRING_ERR_PROTOCOL,
            "{what}: {}",
            c.message(h)
        );
        assert!(
            !c.message(h).starts_with("sending the request"),
            "{what}: {}",
            c.message(h)
        );
        let told = match what {
            "gzip transfer coding" | "gzip transfer coding alone" => "transfer coding \"gzip\"",
            "a Content-Length too large to hold" => "Content-Length too large",
            _ => "",
        };
        assert!(c.message(h).contains(told), "{what}: {}", c.message(h));
        c.free(h);
    }
    // A server that reads the whole request and closes without a word: the request went,
    // the answer never came (the message said "sending the request").
    let url = canned_server(b"");
    let h = c.get(&url);
    assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
    assert!(
        c.message(h)
            .starts_with("waiting for the response head: connection closed before"),
        "{}",
        c.message(h)
    );
    c.free(h);
}

#[test]
fn read_timeout_is_the_longest_silence_while_the_head_trickles_in() {
    // A 19-byte head at one byte per 150 ms takes ~2.9 s; no silence reaches the 700 ms
    // read timeout, so the request succeeds (it was a fixed deadline over the whole head).
    let url = canned_server_paced(b"HTTP/1.1 200 OK\r\n\r\n", Duration::from_millis(150));
    let c = Client::with(|cfg| unsafe {
        assert_eq!(httpring_config_set_read_timeout_ms(cfg, 700), HTTPRING_OK);
    });
    let t = Instant::now();
    let h = c.get(&url);
    assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "{}", c.message(h));
    assert!(ms_since(t) >= 2500, "{} ms", ms_since(t));
    assert_eq!(c.response(h).status, 200);
    c.free(h);
    // A server that goes silent mid-head still times out, 1 to 1.25 read timeouts after
    // its last byte (activity is looked at four times a limit, not on every byte). Looking
    // once a limit, the bytes sent at once left it waiting two limits: 1,400 ms here.
    let stalled = partial_head_then_silent();
    let t = Instant::now();
    let h = c.get(&stalled);
    assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
    assert_eq!(c.error(h), HTTPRING_ERR_READ_TIMEOUT, "{}", c.message(h));
    let took = ms_since(t);
    assert!((650..1250).contains(&took), "{took} ms");
    c.free(h);
}

/// A server that sends part of a status line, then nothing, keeping the connection open.
fn partial_head_then_silent() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"HTTP/1.1 2");
        std::thread::sleep(Duration::from_secs(10));
    });
    format!("http://127.0.0.1:{port}/")
}
