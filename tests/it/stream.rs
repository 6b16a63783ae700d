//! Streamed response bodies through the C API: completion at the head, reads as the body
//! arrives, backpressure on the server, edge-triggered body events, cancel/free/close
//! mid-stream, the read timeout between pieces, trailers, decoding, connection reuse.

use crate::common;

use std::ffi::CString;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use httpring::ffi::*;
use httpring_code::*;

fn pattern_at(i: u64) -> u8 {
    b'a' + (i % 26) as u8
}

fn stream_client(h2c: bool, buffer: usize) -> Client {
    Client::with(|cfg| unsafe {
        assert_eq!(httpring_config_set_stream_buffer(cfg, buffer), HTTPRING_OK);
        if h2c {
            assert_eq!(
                httpring_config_set_h2c_prior_knowledge(cfg, true),
                HTTPRING_OK
            );
        }
    })
}

fn submit_stream(c: &Client, url: &str) -> httpring_handle {
    c.submit("GET", url, |r| unsafe {
        assert_eq!(httpring_request_set_stream(r, true), HTTPRING_OK);
    })
    .unwrap()
}

/// One read: Ok(Some(bytes)) data, Ok(None) end, Err(code) pending or failed.
fn read(c: &Client, h: httpring_handle, buf: &mut [u8]) -> Result<Option<usize>, httpring_code> {
    let mut n = usize::MAX;
    match unsafe { httpring_handle_read(c.0, h, buf.as_mut_ptr(), buf.len(), &mut n) } {
        HTTPRING_OK if n == 0 => Ok(None),
        HTTPRING_OK => Ok(Some(n)),
        code => {
            assert_eq!(n, 0);
            Err(code)
        }
    }
}

/// Reads the body to its end or failure, blocking in wait_body between reads; checks the
/// bytes against the /stream/ pattern. Returns (bytes, how it ended).
fn read_all(c: &Client, h: httpring_handle, check: bool) -> (u64, httpring_code) {
    let mut buf = vec![0u8; 100_000];
    let mut total = 0u64;
    loop {
        match read(c, h, &mut buf) {
            Ok(Some(n)) => {
                if check {
                    for (i, &b) in buf[..n].iter().enumerate() {
                        assert_eq!(b, pattern_at(total + i as u64), "byte {}", total + i as u64);
                    }
                }
                total += n as u64;
            }
            Ok(None) => return (total, HTTPRING_OK),
            Err(HTTPRING_PENDING) => {
                assert_eq!(httpring_handle_wait_body(c.0, h, 30_000), HTTPRING_OK);
            }
            Err(code) => return (total, code),
        }
    }
}

/// The whole body, read `piece` bytes at a time; panics if it fails.
fn read_to_vec(c: &Client, h: httpring_handle, piece: usize) -> Vec<u8> {
    let mut buf = vec![0u8; piece];
    let mut body = Vec::new();
    loop {
        match read(c, h, &mut buf) {
            Ok(Some(n)) => body.extend_from_slice(&buf[..n]),
            Ok(None) => return body,
            Err(HTTPRING_PENDING) => {
                httpring_handle_wait_body(c.0, h, 5_000);
            }
            Err(code) => panic!("{code:?}: {}", c.message(h)),
        }
    }
}

#[test]
fn a_streamed_body_arrives_whole_over_http1_and_http2() {
    let srv = TestServer::start();
    for h2c in [false, true] {
        let c = stream_client(h2c, 64 << 10);
        let n = 5_000_000u64;
        let h = submit_stream(&c, &srv.url(&format!("/stream/{n}/30000")));
        assert_eq!(c.wait(h), httpring_state::HTTPRING_STATE_DONE);
        let r = c.response(h);
        assert_eq!(r.status, 200);
        assert_eq!(r.body_len, 0, "the body is read from the stream");
        assert_eq!(c.header(h, "content-length", 0).as_deref(), Some("5000000"));
        assert_eq!(read_all(&c, h, true), (n, HTTPRING_OK), "h2c={h2c}");
        // The end stays the end.
        assert_eq!(read(&c, h, &mut [0u8; 8]), Ok(None));
        let mut info = httpring_info::default();
        assert_eq!(
            unsafe { httpring_handle_info(c.0, h, &mut info) },
            HTTPRING_OK
        );
        assert_eq!(info.bytes_received, n);
        // The timing runs to the end of the body: reading 5 MB took time after the head.
        assert!(info.receive_us > 0);
        let sum = info.queued_us
            + info.pool_us
            + info.dns_us
            + info.connect_us
            + info.tls_us
            + info.send_us
            + info.wait_us
            + info.receive_us;
        // Each phase is rounded down to whole µs on its own.
        assert!(
            sum <= info.total_us && info.total_us - sum < 10,
            "{sum} vs {}",
            info.total_us
        );
        assert!(
            info.total_us > r.elapsed_us,
            "{} vs {}",
            info.total_us,
            r.elapsed_us
        );
        assert_eq!(c.free(h), HTTPRING_OK);
    }
}

#[test]
fn reads_before_the_head_or_of_a_buffered_request_say_so() {
    let srv = TestServer::start();
    let c = stream_client(false, 1024);
    let h = submit_stream(&c, &srv.url("/delay/300"));
    assert_eq!(read(&c, h, &mut [0u8; 8]), Err(HTTPRING_PENDING));
    // Waiting for the body waits for the head first.
    assert_eq!(httpring_handle_wait_body(c.0, h, 0), HTTPRING_PENDING);
    assert_eq!(httpring_handle_wait_body(c.0, h, 30_000), HTTPRING_OK);
    assert_eq!(c.stats().live_handles, 1);
    assert_eq!(read(&c, h, &mut [0u8; 8]), Ok(Some(2)));
    // A reader that blocked in wait_body is not sent body events: only the head's
    // completion is queued.
    let mut done = [httpring_completion::default(); 8];
    let mut got = 0;
    unsafe { httpring_client_drain(c.0, done.as_mut_ptr(), 8, &mut got) };
    assert_eq!(got, 1);
    assert_eq!(done[0].event, httpring_event::HTTPRING_EVENT_HEAD);
    let plain = c.get(&srv.url("/hello"));
    c.wait(plain);
    assert_eq!(
        read(&c, plain, &mut [0u8; 8]),
        Err(HTTPRING_ERR_INVALID_ARGUMENT)
    );
    let mut n = 0;
    assert_eq!(
        unsafe { httpring_handle_read(c.0, h, std::ptr::null_mut(), 8, &mut n) },
        HTTPRING_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        unsafe { httpring_handle_read(c.0, 12345, [0u8; 4].as_mut_ptr(), 4, &mut n) },
        HTTPRING_ERR_INVALID_HANDLE
    );
    // A request that fails before its head completes as failed, as a buffered one does.
    let dead = submit_stream(&c, "http://127.0.0.1:1/");
    assert_eq!(c.wait(dead), httpring_state::HTTPRING_STATE_FAILED);
    assert_eq!(
        read(&c, dead, &mut [0u8; 8]),
        Err(HTTPRING_ERR_CONNECT_REFUSED)
    );
}

#[test]
fn a_reader_that_stops_holds_the_server_back() {
    for h2c in [false, true] {
        let srv = TestServer::start();
        let c = stream_client(h2c, 64 << 10);
        let n = 400u64 << 20;
        let h = submit_stream(&c, &srv.url(&format!("/stream/{n}/16384")));
        c.wait(h);
        // Nobody reads: what the server could hand over is the stream's buffer, hyper's,
        // the HTTP/2 windows and the socket buffers, a few MiB, not the 400 MiB body. The
        // server is blocked once its count stands still for half a second (waited for, up
        // to 10 s: not a fixed time a loaded machine might not fill the buffers in).
        let t = Instant::now();
        let mut held = srv.stats.sent.load(Ordering::SeqCst);
        let mut still = Instant::now();
        while still.elapsed() < Duration::from_millis(500) {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "h2c={h2c}: never blocked"
            );
            std::thread::sleep(Duration::from_millis(20));
            let now = srv.stats.sent.load(Ordering::SeqCst);
            if now != held {
                (held, still) = (now, Instant::now());
            }
        }
        assert!(
            held < 48 << 20,
            "h2c={h2c}: server sent {held} bytes to a reader that reads nothing"
        );
        // Reading resumes the transfer, to the end.
        assert_eq!(read_all(&c, h, false), (n, HTTPRING_OK), "h2c={h2c}");
        assert_eq!(srv.stats.sent.load(Ordering::SeqCst), n);
    }
}

#[test]
fn body_events_are_edge_triggered_and_prompt() {
    let srv = TestServer::start();
    let c = stream_client(false, 64 << 10);
    assert!(httpring_client_fd(c.0) >= 0);
    let h = submit_stream(&c, &srv.url("/events/6/100"));
    let mut done = [httpring_completion::default(); 16];
    let (mut heads, mut bodies) = (0, 0);
    let mut text = Vec::new();
    let mut lags = Vec::new();
    let mut buf = [0u8; 4096];
    let started = Instant::now();
    'outer: loop {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "stream did not end"
        );
        let mut got = 0;
        assert_eq!(
            unsafe { httpring_client_wait_drain(c.0, done.as_mut_ptr(), 16, 1, 5_000, &mut got) },
            HTTPRING_OK
        );
        for d in &done[..got] {
            assert_eq!(d.handle, h);
            match d.event {
                httpring_event::HTTPRING_EVENT_HEAD => heads += 1,
                httpring_event::HTTPRING_EVENT_BODY => bodies += 1,
                e => panic!("unexpected {e:?}"),
            }
            // Read until PENDING: the next change is then announced once.
            loop {
                match read(&c, h, &mut buf) {
                    Ok(Some(n)) => {
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .unwrap()
                            .as_micros();
                        for line in String::from_utf8_lossy(&buf[..n]).lines() {
                            if let Some(ev) = line.strip_prefix("data: ") {
                                let sent: u128 = ev.split(' ').nth(1).unwrap().parse().unwrap();
                                lags.push(now.saturating_sub(sent));
                            }
                        }
                        text.extend_from_slice(&buf[..n]);
                    }
                    Ok(None) => break 'outer,
                    Err(HTTPRING_PENDING) => break,
                    Err(code) => panic!("{code:?}"),
                }
            }
        }
    }
    assert_eq!(heads, 1);
    assert_eq!(lags.len(), 6, "{}", String::from_utf8_lossy(&text));
    // One announcement per event (it arrives after the reader found the stream empty),
    // and one for the end; never more than that.
    assert!((1..=7).contains(&bodies), "{bodies} body events");
    lags.sort();
    let median = lags[lags.len() / 2];
    assert!(
        median < 50_000,
        "events reached the reader {median} µs after they were sent: {lags:?}"
    );
}

#[test]
fn cancel_free_and_close_mid_stream_stop_the_body_and_its_connection() {
    let srv = TestServer::start();
    let c = stream_client(false, 32 << 10);
    let url = srv.url(&format!("/stream/{}/16384", 1u64 << 30));
    let h = submit_stream(&c, &url);
    c.wait(h);
    assert!(matches!(
        read(&c, h, &mut [0u8; 1000]),
        Ok(Some(_)) | Err(HTTPRING_PENDING)
    ));
    assert_eq!(httpring_handle_cancel(c.0, h), HTTPRING_OK);
    assert_eq!(read_all(&c, h, false).1, HTTPRING_ERR_CANCELLED);
    assert!(c.message(h).contains("cancel"), "{}", c.message(h));
    assert_eq!(c.free(h), HTTPRING_OK);
    // The half-read connection is closed, not pooled.
    let deadline = Instant::now() + Duration::from_secs(5);
    while srv.stats.open.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(srv.stats.open.load(Ordering::SeqCst), 0);
    assert_eq!(c.stats().pooled_connections, 0);

    // Freed mid-stream, unread.
    let h = submit_stream(&c, &url);
    c.wait(h);
    assert_eq!(c.free(h), HTTPRING_OK);
    let deadline = Instant::now() + Duration::from_secs(5);
    while srv.stats.open.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(srv.stats.open.load(Ordering::SeqCst), 0);
    assert_eq!(c.live(), 0);

    // The client closed while another thread waits for the body.
    let c2 = stream_client(false, 32 << 10);
    let h = submit_stream(&c2, &srv.url("/stall-body"));
    c2.wait(h);
    assert_eq!(httpring_handle_wait_body(c2.0, h, 5_000), HTTPRING_OK);
    assert_eq!(read(&c2, h, &mut [0u8; 100]), Ok(Some(10)));
    let ptr = c2.0 as usize;
    let waiter = std::thread::spawn(move || {
        httpring_handle_wait_body(ptr as *mut httpring_client, h, 30_000)
    });
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    drop(c2);
    let woke = waiter.join().unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(woke, HTTPRING_OK | HTTPRING_ERR_CLIENT_CLOSED),
        "{woke:?}"
    );
}

#[test]
fn the_read_timeout_counts_server_silence_not_a_slow_reader() {
    let srv = TestServer::start();
    let c = Client::with(|cfg| unsafe {
        httpring_config_set_read_timeout_ms(cfg, 200);
        httpring_config_set_stream_buffer(cfg, 4096);
    });
    // The server goes silent after 10 bytes.
    let h = submit_stream(&c, &srv.url("/stall-body"));
    c.wait(h);
    let t = Instant::now();
    assert_eq!(read_all(&c, h, false), (10, HTTPRING_ERR_READ_TIMEOUT));
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(c.message(h).contains("no data"), "{}", c.message(h));
    // A reader slower than the timeout, with a server that always has more: no timeout.
    let h = submit_stream(&c, &srv.url("/stream/40000/1000"));
    c.wait(h);
    let mut buf = [0u8; 10_000];
    let mut total = 0;
    loop {
        std::thread::sleep(Duration::from_millis(90));
        match read(&c, h, &mut buf) {
            Ok(Some(n)) => total += n,
            Ok(None) => break,
            Err(HTTPRING_PENDING) => {
                assert_eq!(httpring_handle_wait_body(c.0, h, 5_000), HTTPRING_OK);
            }
            Err(code) => panic!("{code:?}: {}", c.message(h)),
        }
    }
    assert_eq!(total, 40_000);
}

#[test]
fn trailers_are_readable_at_the_end() {
    let srv = TestServer::start();
    for h2c in [false, true] {
        let c = stream_client(h2c, 1024);
        let h = c
            .submit("GET", &srv.url("/trailers"), |r| unsafe {
                httpring_request_set_stream(r, true);
                // HTTP/1.1 servers send trailers only to clients that say they take them.
                let (n, v) = (
                    CString::new("TE").unwrap(),
                    CString::new("trailers").unwrap(),
                );
                httpring_request_add_header(r, n.as_ptr(), v.as_ptr());
            })
            .unwrap();
        c.wait(h);
        assert_eq!(read_to_vec(&c, h, 16), b"abc");
        let name = CString::new("X-Checksum").unwrap();
        let (mut p, mut n) = (std::ptr::null(), 0);
        assert_eq!(
            unsafe { httpring_handle_trailer(c.0, h, name.as_ptr(), 0, &mut p, &mut n) },
            HTTPRING_OK,
            "h2c={h2c}"
        );
        assert_eq!(unsafe { std::slice::from_raw_parts(p, n) }, b"42");
        assert_eq!(
            unsafe { httpring_handle_trailer(c.0, h, name.as_ptr(), 1, &mut p, &mut n) },
            HTTPRING_ERR_NOT_FOUND
        );
    }
}

#[test]
fn a_compressed_body_is_decoded_as_it_streams() {
    let srv = TestServer::start();
    let c = stream_client(false, 8 << 10);
    for coding in ["gzip", "br", "zstd", "deflate"] {
        let h = submit_stream(&c, &srv.url(&format!("/encoded/{coding}/300000")));
        c.wait(h);
        assert_eq!(
            read_to_vec(&c, h, 7000),
            server::sample_text(300_000),
            "{coding}"
        );
        c.free(h);
    }
}

#[test]
fn a_body_read_to_the_end_returns_its_connection() {
    let srv = TestServer::start();
    let c = stream_client(false, 1 << 20);
    for _ in 0..5 {
        let h = submit_stream(&c, &srv.url("/stream/100000"));
        c.wait(h);
        assert_eq!(read_all(&c, h, true), (100_000, HTTPRING_OK));
        c.free(h);
        // Buffered requests in between share the same connection.
        assert_eq!(c.fetch(&srv.url("/hello")).0, 200);
    }
    assert_eq!(srv.connections(), 1);
}

#[test]
fn a_server_that_breaks_mid_body_fails_the_read() {
    let srv = TestServer::start();
    let c = stream_client(false, 1024);
    let h = submit_stream(&c, &srv.url("/lie"));
    c.wait(h);
    // (hyper's server may drop the 10 bytes it had with the connection.)
    let (n, code) = read_all(&c, h, false);
    assert!(n <= 10);
    assert!(
        matches!(code, HTTPRING_ERR_PROTOCOL | HTTPRING_ERR_IO),
        "{code:?}: {}",
        c.message(h)
    );
    assert!(!c.message(h).is_empty());
}

fn low_speed_client(stream_buffer: usize, bytes_per_sec: u64, ms: u64) -> Client {
    Client::with(|cfg| unsafe {
        assert_eq!(
            httpring_config_set_stream_buffer(cfg, stream_buffer),
            HTTPRING_OK
        );
        assert_eq!(
            httpring_config_set_low_speed(cfg, bytes_per_sec, ms),
            HTTPRING_OK
        );
    })
}

#[test]
fn the_low_speed_limit_fails_a_trickle_and_not_a_reader_that_holds_the_body_back() {
    let srv = TestServer::start();
    // /drip/40/50: a byte every 50 ms (20 bytes/s for 2 s): the read timeout never fires.
    let trickle = srv.url("/drip/40/50");
    // Without the limit it completes.
    let plain = Client::new();
    assert_eq!(plain.fetch(&trickle), (200, vec![b'x'; 40]));
    // With 100 bytes/s over 300 ms, buffered: it fails after the first window.
    let c = low_speed_client(64 << 10, 100, 300);
    let start = Instant::now();
    let h = c.get(&trickle);
    c.wait(h);
    assert_eq!(c.error(h), HTTPRING_ERR_READ_TIMEOUT, "{}", c.message(h));
    assert!(
        c.message(h)
            .contains("under the low-speed limit of 100 bytes/s"),
        "{}",
        c.message(h)
    );
    let took = ms_since(start);
    assert!((250..1_500).contains(&took), "failed after {took} ms");
    c.free(h);
    // Streamed: the same, as the read's failure.
    let h = submit_stream(&c, &trickle);
    assert_eq!(c.wait(h), httpring_state::HTTPRING_STATE_DONE);
    let (got, code) = read_all(&c, h, false);
    assert_eq!(code, HTTPRING_ERR_READ_TIMEOUT, "{}", c.message(h));
    assert!(got < 40);
    c.free(h);
    // A fast body passes, buffered and streamed.
    let c = low_speed_client(64 << 10, 1_000_000, 200);
    let (status, body) = c.fetch(&srv.url("/bytes/3000000"));
    assert_eq!((status, body.len()), (200, 3_000_000));
    // A reader that holds a streamed body back for a second (buffer full, the server
    // blocked) is not the server being slow: the time it holds does not count.
    let h = submit_stream(&c, &srv.url("/stream/3000000/30000"));
    assert_eq!(c.wait(h), httpring_state::HTTPRING_STATE_DONE);
    std::thread::sleep(Duration::from_millis(1_000));
    assert_eq!(
        read_all(&c, h, true),
        (3_000_000, HTTPRING_OK),
        "{}",
        c.message(h)
    );
    c.free(h);
}

#[test]
fn silence_still_meets_the_read_timeout_across_low_speed_windows() {
    let srv = TestServer::start();
    // /stall-body: 10 bytes, then nothing. The first 400 ms window has its byte (1 byte/s
    // asked), so it passes; the silence that began with it must still end at the 600 ms
    // read timeout, not restart with the next window.
    let c = Client::with(|cfg| unsafe {
        assert_eq!(httpring_config_set_low_speed(cfg, 1, 400), HTTPRING_OK);
        assert_eq!(httpring_config_set_read_timeout_ms(cfg, 600), HTTPRING_OK);
    });
    let h = c.get(&srv.url("/stall-body"));
    c.wait(h);
    assert_eq!(c.error(h), HTTPRING_ERR_READ_TIMEOUT);
    assert!(
        c.message(h).contains("no data from the server for 600ms"),
        "{}",
        c.message(h)
    );
    c.free(h);
    let h = submit_stream(&c, &srv.url("/stall-body"));
    assert_eq!(c.wait(h), httpring_state::HTTPRING_STATE_DONE);
    let (got, code) = read_all(&c, h, false);
    assert_eq!((got, code), (10, HTTPRING_ERR_READ_TIMEOUT));
    assert!(
        c.message(h).contains("no data from the server for 600ms"),
        "{}",
        c.message(h)
    );
    c.free(h);
}

/// A streamed body under the receive-rate cap with no read timeout and no low-speed limit,
/// from a server slower than the cap at times: after a pause, waiting for the next piece is
/// not cut short by the pause's timer taken for a read deadline.
#[test]
fn a_streamed_body_goes_on_after_rate_pauses_without_a_read_timeout() {
    let srv = TestServer::start();
    let c = Client::with(|cfg| unsafe {
        // An event (about 27 bytes) every 100 ms, read at 150 bytes/s: a pause of ~80 ms
        // after each, then a wait for the next.
        assert_eq!(httpring_config_set_max_recv_speed(cfg, 150), HTTPRING_OK);
        assert_eq!(httpring_config_set_read_timeout_ms(cfg, 0), HTTPRING_OK);
    });
    let h = submit_stream(&c, &srv.url("/events/5/100"));
    assert_eq!(
        c.wait(h),
        httpring_state::HTTPRING_STATE_DONE,
        "{}",
        c.message(h)
    );
    let (n, end) = read_all(&c, h, false);
    assert_eq!(end, HTTPRING_OK, "{}", c.message(h));
    assert!(n > 5 * 20, "five events: {n} bytes");
    c.free(h);
}

/// A streamed body under the receive-rate cap: a free during a pause ends it at once (the
/// connection closes, not after the pause).
#[test]
fn a_free_ends_a_receive_rate_pause_at_once() {
    let srv = TestServer::start();
    let c = Client::with(|cfg| unsafe {
        // 1,000 bytes/s: a first 16 KiB piece means a pause of about 16 s.
        assert_eq!(httpring_config_set_max_recv_speed(cfg, 1_000), HTTPRING_OK);
    });
    let h = submit_stream(&c, &srv.url(&format!("/stream/{}/16384", 1u64 << 20)));
    c.wait(h);
    assert_eq!(httpring_handle_wait_body(c.0, h, 5_000), HTTPRING_OK);
    assert!(matches!(read(&c, h, &mut [0u8; 1000]), Ok(Some(_))));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        srv.stats.open.load(Ordering::SeqCst),
        1,
        "paused, still open"
    );
    let t = Instant::now();
    assert_eq!(c.free(h), HTTPRING_OK);
    while srv.stats.open.load(Ordering::SeqCst) > 0 && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(srv.stats.open.load(Ordering::SeqCst), 0);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(c.live(), 0);
}
