//! Request tasks that park with their keep-alive connection and run the next request for
//! the same origin: cancel must reach exactly the request named, a connection the server
//! closed while parked must not fail the next request, and the pool's limits still apply.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use httpring::ffi::*;
use httpring_code::*;
use httpring_state::*;

#[test]
fn late_cancels_do_not_reach_the_next_request_on_the_connection() {
    let srv = TestServer::start();
    let c = Client::new();
    for i in 0..300 {
        let h = c.get(&srv.url("/hello"));
        assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "{i}: {}", c.message(h));
        // Cancelling a finished request changes nothing, and the task that ran it (parked
        // with the connection by now, or about to be) runs the next request unharmed.
        assert_eq!(httpring_handle_cancel(c.0, h), HTTPRING_OK);
        assert_eq!(c.error(h), HTTPRING_OK);
        c.free(h);
    }
    assert_eq!(srv.connections(), 1);
}

#[test]
fn cancel_stops_the_request_a_parked_task_took_over() {
    let srv = TestServer::start();
    let c = Client::new();
    // Two connections, each with a parked task.
    let a = c.get(&srv.url("/delay/50"));
    let b = c.get(&srv.url("/delay/50"));
    assert_eq!(c.wait(a), HTTPRING_STATE_DONE);
    assert_eq!(c.wait(b), HTTPRING_STATE_DONE);
    c.free(a);
    c.free(b);
    assert_eq!(srv.connections(), 2);
    assert_eq!(c.pooled(2), 2);

    // Both parked tasks take a request; cancelling one leaves the other running. (Both must
    // have reached the server first: a cancel in the pool's queue would close nothing.)
    let before = srv.stats.requests.load(Ordering::SeqCst);
    let stalled = c.get(&srv.url("/stall"));
    let slow = c.get(&srv.url("/delay/200"));
    let t = Instant::now();
    while srv.stats.requests.load(Ordering::SeqCst) < before + 2 {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the requests never arrived"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(httpring_handle_cancel(c.0, stalled), HTTPRING_OK);
    assert_eq!(c.wait(stalled), HTTPRING_STATE_FAILED);
    assert_eq!(c.error(stalled), HTTPRING_ERR_CANCELLED);
    assert_eq!(c.wait(slow), HTTPRING_STATE_DONE, "{}", c.message(slow));
    assert_eq!(c.response(slow).status, 200);
    c.free(stalled);
    c.free(slow);
    // The cancelled request's connection was closed; the other one is back in the pool.
    assert_eq!(srv.connections(), 2);
    assert_eq!(c.pooled(1), 1);
    assert_eq!(c.fetch(&srv.url("/hello")).0, 200);
    assert_eq!(srv.connections(), 2);
}

/// A server that answers one request per connection, keep-alive in words, then closes the
/// socket without saying so: every pooled connection is dead by the time it is used again.
fn one_shot_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            count.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
    });
    (url, accepted)
}

#[test]
fn a_connection_closed_while_parked_does_not_fail_the_next_request() {
    let (url, accepted) = one_shot_server();
    let c = Client::new();
    for i in 0..20 {
        let (status, body) = c.fetch(&url);
        assert_eq!((status, body.as_slice()), (200, &b"ok"[..]), "request {i}");
        // Sometimes the close is seen before the next request, sometimes only when it is
        // sent: both must end in a new connection.
        if i % 2 == 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 20);
}

#[test]
fn idle_limits_apply_to_parked_tasks() {
    let srv = TestServer::start();
    // At most one idle connection per host: of four concurrent requests' connections, one
    // is kept.
    let c = Client::with(|cfg| {
        assert_eq!(
            unsafe { httpring_config_set_pool_max_idle_per_host(cfg, 1) },
            HTTPRING_OK
        );
        assert_eq!(
            unsafe { httpring_config_set_pool_idle_timeout_ms(cfg, 200) },
            HTTPRING_OK
        );
    });
    let hs: Vec<_> = (0..4).map(|_| c.get(&srv.url("/delay/50"))).collect();
    for &h in &hs {
        assert_eq!(c.wait(h), HTTPRING_STATE_DONE);
        c.free(h);
    }
    assert_eq!(srv.connections(), 4);
    assert_eq!(c.pooled(1), 1);
    assert_eq!(c.fetch(&srv.url("/hello")).0, 200);
    assert_eq!(srv.connections(), 4);
    // Past the idle timeout the sweep (every second at least) drops it and its task.
    let t = Instant::now();
    while c.stats().pooled_connections > 0 && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(c.stats().pooled_connections, 0);
    assert_eq!(c.fetch(&srv.url("/hello")).0, 200);
    assert_eq!(srv.connections(), 5);
}

#[test]
fn many_requests_with_cancels_complete_exactly_once() {
    let srv = TestServer::start();
    let c = Client::new();
    let mut outstanding = Vec::new();
    let mut next = 0u64;
    let (mut ok, mut cancelled) = (0, 0);
    let fd = httpring_client_fd(c.0);
    let mut seen = std::collections::HashSet::new();
    while next < 3_000 || !outstanding.is_empty() {
        while next < 3_000 && outstanding.len() < 64 {
            let path = if next % 3 == 0 { "/delay/1" } else { "/hello" };
            let h = c.get_ud(&srv.url(path), next);
            if next % 7 == 0 {
                assert_eq!(httpring_handle_cancel(c.0, h), HTTPRING_OK);
            }
            outstanding.push(h);
            next += 1;
        }
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        assert!(
            unsafe { libc::poll(&mut p, 1, 10_000) } > 0,
            "no completion in 10 s"
        );
        let blank = httpring_completion::default();
        let mut out = [blank; 128];
        let mut n = 0;
        assert_eq!(
            unsafe { httpring_client_drain(c.0, out.as_mut_ptr(), out.len(), &mut n) },
            HTTPRING_OK
        );
        for d in &out[..n] {
            assert!(seen.insert(d.user_data), "{} completed twice", d.user_data);
            match d.code {
                HTTPRING_OK => {
                    assert_eq!(d.status, 200);
                    ok += 1;
                }
                HTTPRING_ERR_CANCELLED => {
                    assert_eq!(d.user_data % 7, 0, "request {} cancelled", d.user_data);
                    cancelled += 1;
                }
                other => panic!("request {}: {other:?} {}", d.user_data, c.message(d.handle)),
            }
            outstanding.retain(|&h| h != d.handle);
            c.free(d.handle);
        }
    }
    assert_eq!(ok + cancelled, 3_000);
    assert!(cancelled > 0);
    assert_eq!(c.live(), 0);
}

/// A client whose read timeout is `ms`.
fn client_with_read_timeout(ms: u64) -> Client {
    Client::with(|cfg| {
        assert_eq!(
            unsafe { httpring_config_set_read_timeout_ms(cfg, ms) },
            HTTPRING_OK
        );
    })
}

/// Requests /stall (with its own read timeout if given), which must fail with a read
/// timeout; returns how long that took, in milliseconds.
fn stall_ms(c: &Client, srv: &TestServer, own_timeout_ms: Option<u64>) -> u128 {
    let t = Instant::now();
    let h = c
        .submit("GET", &srv.url("/stall"), |r| {
            if let Some(ms) = own_timeout_ms {
                assert_eq!(
                    unsafe { httpring_request_set_read_timeout_ms(r, ms) },
                    HTTPRING_OK
                );
            }
        })
        .unwrap();
    assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
    assert_eq!(c.error(h), HTTPRING_ERR_READ_TIMEOUT, "{}", c.message(h));
    let ms = ms_since(t);
    c.free(h);
    ms
}

#[test]
fn read_timeout_fires_on_a_handed_over_connection_and_again_on_its_next_use() {
    let srv = TestServer::start();
    let c = client_with_read_timeout(1000);
    // The parked connection's timer was armed (and pushed later) by the first request.
    assert_eq!(c.fetch(&srv.url("/hello")).0, 200);
    assert_eq!(c.fetch(&srv.url("/hello")).0, 200);
    let ms = stall_ms(&c, &srv, None);
    assert!((950..3000).contains(&ms), "timed out after {ms} ms");
    assert_eq!(srv.connections(), 1);
    // A per-request limit on the next keep-alive request: its own 100 ms, not the client's
    // 1000 ms.
    assert_eq!(c.fetch(&srv.url("/hello")).0, 200);
    let ms = stall_ms(&c, &srv, Some(100));
    assert!((70..700).contains(&ms), "timed out after {ms} ms");
}

#[test]
fn a_reused_connections_read_timeout_counts_from_its_new_request() {
    // The connection's timer is left at the first request's deadline (300 ms after it);
    // the stalled request comes 200 ms later and must still get its whole 300 ms.
    let srv = TestServer::start();
    let c = client_with_read_timeout(300);
    assert_eq!(c.fetch(&srv.url("/hello")).0, 200);
    std::thread::sleep(Duration::from_millis(200));
    let ms = stall_ms(&c, &srv, None);
    assert!((280..2000).contains(&ms), "timed out after {ms} ms");
    assert_eq!(srv.connections(), 1);
}

#[test]
fn a_freed_responses_headers_never_reach_a_later_request() {
    // Header maps of freed responses are reused for new requests: they must come back
    // empty. /headers answers with x-custom and two set-cookie lines; /echo shows exactly
    // what the server received.
    let srv = TestServer::start();
    let c = Client::new();
    for round in 0..50 {
        let h = c.get(&srv.url("/headers"));
        assert_eq!(c.wait(h), HTTPRING_STATE_DONE);
        assert_eq!(c.header(h, "set-cookie", 1).as_deref(), Some("b=2"));
        c.free(h);
        let (status, body) = c.fetch(&srv.url("/echo"));
        assert_eq!(status, 200);
        let body = String::from_utf8(body).unwrap();
        for leaked in ["set-cookie", "x-custom", "content-type", "a=1"] {
            assert!(!body.contains(leaked), "round {round}: {leaked} in {body}");
        }
        assert!(body.contains("user-agent"), "round {round}: {body}");
    }
}

#[test]
fn alternating_origins_each_keep_their_one_connection() {
    // The pool keeps the last origin's idle list apart from the others: switching between
    // origins must neither lose a parked connection nor mix two origins' lists up.
    let (a, b, third) = (
        TestServer::start(),
        TestServer::start(),
        TestServer::start(),
    );
    let c = Client::new();
    for round in 0..20 {
        for srv in [&a, &b, &a, &third] {
            let (status, body) = c.fetch(&srv.url("/echo"));
            assert_eq!(status, 200, "round {round}");
            let host = srv.base.trim_start_matches("http://");
            assert!(
                String::from_utf8_lossy(&body).contains(host),
                "round {round}: answer from the wrong origin"
            );
        }
    }
    assert_eq!(
        (a.connections(), b.connections(), third.connections()),
        (1, 1, 1)
    );
    assert_eq!(c.pooled(3), 3);
}
