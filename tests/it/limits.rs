//! Resource limits through the C API: connection caps (per origin, in total) and their
//! queue, the pool timeout, the in-flight cap, the write timeout, the receive- and send-rate
//! caps, the low-speed limit on uploads.

use crate::common;

use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{server, Client, TestServer};
use httpring::ffi::*;

use httpring_code::*;
use httpring_state::*;

/// Submits every URL, waits for all, returns how many completed with 200.
fn run_all(c: &Client, urls: &[String]) -> usize {
    let handles: Vec<_> = urls.iter().map(|u| c.get(u)).collect();
    let mut ok = 0;
    for h in handles {
        if c.wait(h) == HTTPRING_STATE_DONE && c.response(h).status == 200 {
            ok += 1;
        } else {
            eprintln!("failed: {:?} {}", c.error(h), c.message(h));
        }
        c.free(h);
    }
    ok
}

#[test]
fn a_per_host_cap_bounds_open_connections_and_every_request_succeeds() {
    let srv = TestServer::start();
    let c = Client::with(|cfg| unsafe {
        httpring_config_set_max_connections_per_host(cfg, 8);
    });
    // A short delay so that requests overlap and the cap is what holds them back.
    let urls: Vec<_> = (0..1000).map(|_| srv.url("/delay/2")).collect();
    assert_eq!(run_all(&c, &urls), 1000);
    let max_open = srv.stats.max_open.load(Ordering::SeqCst);
    assert!(
        max_open <= 8,
        "the server saw {max_open} connections open at once"
    );
    // Reused, not reopened: at most the cap was ever opened.
    assert!(
        srv.connections() <= 8,
        "{} connections opened",
        srv.connections()
    );
    assert!(srv.connections() >= 2, "requests ran in parallel");
}

#[test]
fn without_a_cap_the_same_burst_opens_more_connections() {
    // The control for the test above: the cap is what bounds the connections.
    let srv = TestServer::start();
    let c = Client::new();
    let urls: Vec<_> = (0..200).map(|_| srv.url("/delay/20")).collect();
    assert_eq!(run_all(&c, &urls), 200);
    assert!(srv.stats.max_open.load(Ordering::SeqCst) > 8);
}

#[test]
fn a_total_cap_is_shared_by_origins_and_both_progress() {
    let stats = Arc::new(server::Stats::default());
    let a = TestServer::with_stats(server::Options::default(), stats.clone());
    let b = TestServer::with_stats(server::Options::default(), stats.clone());
    let c = Client::with(|cfg| unsafe {
        httpring_config_set_max_connections(cfg, 4);
    });
    let urls: Vec<_> = (0..400)
        .map(|i| {
            if i % 2 == 0 {
                a.url("/delay/2")
            } else {
                b.url("/delay/2")
            }
        })
        .collect();
    assert_eq!(run_all(&c, &urls), 400);
    // One request at a time per HTTP/1.1 connection: requests the servers handled at once
    // bound the connections the client had open. (The servers' own count of open
    // connections can lag: a connection the client closed to make room for the other
    // origin may still read as open there when the new one arrives.)
    let max_active = stats.max_active.load(Ordering::SeqCst);
    assert!(
        max_active <= 4,
        "{max_active} requests handled at once across both servers"
    );
    assert!(max_active >= 2, "requests ran in parallel");
    assert_eq!(stats.requests.load(Ordering::SeqCst), 400);
}

#[test]
fn a_total_cap_closes_an_idle_connection_to_another_origin() {
    let a = TestServer::start();
    let b = TestServer::start();
    let c = Client::with(|cfg| unsafe {
        httpring_config_set_max_connections(cfg, 1);
        httpring_config_set_pool_timeout_ms(cfg, 2_000);
    });
    assert_eq!(c.fetch(&a.url("/hello")).0, 200);
    // The idle connection to `a` holds the only place: it is closed for `b`.
    assert_eq!(c.fetch(&b.url("/hello")).0, 200);
    assert_eq!(c.fetch(&a.url("/hello")).0, 200);
    assert_eq!(
        a.connections(),
        2,
        "the connection to a was closed and reopened"
    );
    assert_eq!(b.connections(), 1);
}

#[test]
fn waiting_past_the_pool_timeout_fails_with_its_code() {
    let srv = TestServer::start();
    let c = Client::with(|cfg| unsafe {
        httpring_config_set_max_connections_per_host(cfg, 1);
        httpring_config_set_pool_timeout_ms(cfg, 200);
    });
    let slow = c.get(&srv.url("/delay/1500"));
    let t = Instant::now();
    let queued = c.get(&srv.url("/hello"));
    assert_eq!(c.wait(queued), HTTPRING_STATE_FAILED);
    assert_eq!(c.error(queued), HTTPRING_ERR_POOL_TIMEOUT);
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(180) && waited < Duration::from_millis(1400),
        "failed after {waited:?}"
    );
    assert!(
        c.message(queued).contains("pool timeout"),
        "{}",
        c.message(queued)
    );
    // A request's own pool timeout wins over the client's.
    let patient = c
        .submit("GET", &srv.url("/hello"), |r| unsafe {
            httpring_request_set_pool_timeout_ms(r, 5_000);
        })
        .unwrap();
    assert_eq!(c.wait(slow), HTTPRING_STATE_DONE);
    assert_eq!(
        c.wait(patient),
        HTTPRING_STATE_DONE,
        "{}",
        c.message(patient)
    );
    assert_eq!(srv.connections(), 1);
}

#[test]
fn a_cancelled_waiter_leaves_the_queue_and_the_next_one_is_served() {
    let srv = TestServer::start();
    let c = Client::with(|cfg| unsafe {
        httpring_config_set_max_connections_per_host(cfg, 1);
    });
    let slow = c.get(&srv.url("/delay/300"));
    let gone = c.get(&srv.url("/hello"));
    let next = c.get(&srv.url("/hello"));
    assert_eq!(httpring_handle_cancel(c.0, gone), HTTPRING_OK);
    assert_eq!(c.wait(gone), HTTPRING_STATE_FAILED);
    assert_eq!(c.error(gone), HTTPRING_ERR_CANCELLED);
    assert_eq!(c.wait(slow), HTTPRING_STATE_DONE);
    assert_eq!(c.wait(next), HTTPRING_STATE_DONE);
    assert_eq!(srv.connections(), 1);
}

#[test]
fn the_in_flight_cap_refuses_the_next_submit_until_one_completes() {
    let srv = TestServer::start();
    let c = Client::with(|cfg| unsafe {
        httpring_config_set_max_in_flight(cfg, 2);
    });
    let a = c.get(&srv.url("/delay/300"));
    let b = c.get(&srv.url("/delay/300"));
    let refused = c.submit("GET", &srv.url("/hello"), |_| {});
    assert_eq!(refused, Err(HTTPRING_ERR_TOO_MANY_IN_FLIGHT));
    assert_eq!(c.live(), 2, "a refused submit makes no handle");
    assert_eq!(c.wait(a), HTTPRING_STATE_DONE);
    // Completed (not yet freed) no longer counts.
    let d = c.submit("GET", &srv.url("/hello"), |_| {}).unwrap();
    assert_eq!(c.wait(d), HTTPRING_STATE_DONE);
    assert_eq!(c.wait(b), HTTPRING_STATE_DONE);
    // Cancelled and failed requests give their place back too.
    let e = c.get(&srv.url("/delay/5000"));
    assert_eq!(httpring_handle_cancel(c.0, e), HTTPRING_OK);
    let f = c.get("http://127.0.0.1:1/refused");
    assert_eq!(c.wait(f), HTTPRING_STATE_FAILED);
    for _ in 0..2 {
        let h = c.submit("GET", &srv.url("/hello"), |_| {}).unwrap();
        assert_eq!(c.wait(h), HTTPRING_STATE_DONE);
    }
}

/// A listener on 127.0.0.1 with a backlog of `backlog`, served by one thread, one
/// connection at a time, each answered once and closed (like a small single-threaded
/// server). Returns its base URL.
fn single_threaded_server(backlog: i32) -> String {
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
    assert!(fd >= 0);
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
        },
        sin_zero: [0; 8],
    };
    let rc = unsafe {
        libc::bind(
            fd,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
    assert_eq!(unsafe { libc::listen(fd, backlog) }, 0);
    let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    format!("http://127.0.0.1:{port}")
}

#[test]
fn a_burst_at_a_small_single_threaded_server_succeeds_under_a_cap() {
    let base = single_threaded_server(5);
    let c = Client::with(|cfg| unsafe {
        httpring_config_set_max_connections_per_host(cfg, 4);
        httpring_config_set_read_timeout_ms(cfg, 10_000);
    });
    let urls: Vec<_> = (0..1000).map(|i| format!("{base}/{i}")).collect();
    let t = Instant::now();
    assert_eq!(run_all(&c, &urls), 1000);
    eprintln!("1000 requests, one connection each, in {:?}", t.elapsed());
}

#[test]
fn a_write_blocked_past_the_write_timeout_fails_with_its_code() {
    // A server that accepts and never reads: the request's body fills the socket buffers.
    let url = deaf_server();
    let c = Client::with(|cfg| unsafe {
        httpring_config_set_write_timeout_ms(cfg, 300);
        httpring_config_set_read_timeout_ms(cfg, 20_000);
    });
    let body = vec![b'x'; 64 << 20];
    let t = Instant::now();
    let h = post_body(&c, &url, &body, |_| {});
    assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
    assert_eq!(c.error(h), HTTPRING_ERR_WRITE_TIMEOUT, "{}", c.message(h));
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
    assert!(c.message(h).contains("write timeout"), "{}", c.message(h));
}

/// POSTs `body` to `url`, with `set` applied to the request; its handle.
fn post_body(
    c: &Client,
    url: &str,
    body: &[u8],
    set: impl FnOnce(*mut httpring_request),
) -> httpring_handle {
    c.submit("POST", url, |r| unsafe {
        assert_eq!(
            httpring_request_set_body(r, body.as_ptr(), body.len()),
            HTTPRING_OK
        );
        set(r);
    })
    .unwrap()
}

/// A server on 127.0.0.1 that accepts and never reads; its URL.
fn deaf_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    format!("http://127.0.0.1:{port}/upload")
}

#[test]
fn a_request_s_write_timeout_replaces_the_client_s() {
    let url = deaf_server();
    let body = vec![b'x'; 64 << 20];
    let post = |c: &Client, set: &dyn Fn(*mut httpring_request)| post_body(c, &url, &body, set);
    // A client without one: the request's own ends the blocked write (without it, only the
    // 20 s read timeout would).
    let c = Client::with(|cfg| unsafe {
        httpring_config_set_read_timeout_ms(cfg, 20_000);
    });
    let t = Instant::now();
    let h = post(&c, &|r| unsafe {
        assert_eq!(httpring_request_set_write_timeout_ms(r, 300), HTTPRING_OK);
    });
    assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
    assert_eq!(c.error(h), HTTPRING_ERR_WRITE_TIMEOUT, "{}", c.message(h));
    assert!(c.message(h).contains("300ms"), "{}", c.message(h));
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
    c.free(h);
    // The same through the batch call (version 4 of `httpring_request_spec`).
    let url_c = std::ffi::CString::new(url.clone()).unwrap();
    let spec = httpring_request_spec {
        method: c"POST".as_ptr(),
        url: url_c.as_ptr(),
        body: body.as_ptr(),
        body_len: body.len(),
        write_timeout_ms: 300,
        ..Default::default()
    };
    let mut h = 0;
    let t = Instant::now();
    assert_eq!(
        unsafe { httpring_client_send_many(c.0, &spec, 1, &mut h, std::ptr::null_mut()) },
        HTTPRING_OK
    );
    assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
    assert_eq!(c.error(h), HTTPRING_ERR_WRITE_TIMEOUT, "{}", c.message(h));
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
    c.free(h);
    // A client with one: a request lifts it (0), and only its total timeout ends the wait.
    let c = Client::with(|cfg| unsafe {
        httpring_config_set_write_timeout_ms(cfg, 300);
        httpring_config_set_read_timeout_ms(cfg, 20_000);
    });
    let t = Instant::now();
    let h = post(&c, &|r| unsafe {
        assert_eq!(httpring_request_set_write_timeout_ms(r, 0), HTTPRING_OK);
        assert_eq!(httpring_request_set_timeout_ms(r, 1_500), HTTPRING_OK);
    });
    assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
    assert_eq!(c.error(h), HTTPRING_ERR_TIMEOUT, "{}", c.message(h));
    assert!(t.elapsed() >= Duration::from_millis(1_500));
    c.free(h);
    // On a kept-alive connection, the next request has the client's limit again.
    let srv = TestServer::start();
    let h = c
        .submit("GET", &srv.url("/hello"), |r| unsafe {
            assert_eq!(httpring_request_set_write_timeout_ms(r, 0), HTTPRING_OK);
        })
        .unwrap();
    assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "{}", c.message(h));
    c.free(h);
    let t = Instant::now();
    let h = post_body(&c, &srv.url("/upload?hold_ms=3000"), &body, |_| {});
    assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
    assert_eq!(c.error(h), HTTPRING_ERR_WRITE_TIMEOUT, "{}", c.message(h));
    assert!(
        t.elapsed() < Duration::from_millis(2_500),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(srv.connections(), 1, "both requests on one connection");
    c.free(h);
}

#[test]
fn a_request_waiting_to_retry_lets_a_queued_one_use_its_connection() {
    let srv = TestServer::start();
    let c = Client::with(|cfg| unsafe {
        httpring_config_set_max_connections_per_host(cfg, 1);
        httpring_config_set_retries(cfg, 2);
        httpring_config_set_retry_backoff_ms(cfg, 400, 400);
    });
    // Always 503: two retries, each after a 200-400 ms wait.
    let busy = c.get(&srv.url("/status/503"));
    std::thread::sleep(Duration::from_millis(50));
    let other = c.get(&srv.url("/hello"));
    assert_eq!(c.wait(other), HTTPRING_STATE_DONE);
    // Served during a wait of the retrying request, which is still under way.
    let mut state = HTTPRING_STATE_DONE;
    assert_eq!(
        unsafe { httpring_handle_poll(c.0, busy, &mut state) },
        HTTPRING_OK
    );
    assert_eq!(
        state, HTTPRING_STATE_PENDING,
        "the queued request waited for all attempts"
    );
    assert_eq!(c.wait(busy), HTTPRING_STATE_DONE);
    assert_eq!(c.response(busy).status, 503);
    assert_eq!(srv.connections(), 1, "one connection, shared in turn");
}

/// Opened once: the gated server answers from then on.
type Gate = Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>;

/// An HTTP/1.1 server on 127.0.0.1 that counts connections and holds every answer until
/// its gate opens (then answers at once, keep-alive).
struct GatedServer {
    port: u16,
    accepted: Arc<std::sync::atomic::AtomicUsize>,
    requests: Arc<std::sync::atomic::AtomicUsize>,
    gate: Gate,
}

impl GatedServer {
    fn start() -> GatedServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = GatedServer {
            port,
            accepted: Arc::default(),
            requests: Arc::default(),
            gate: Arc::default(),
        };
        let (accepted, requests, gate) = (
            server.accepted.clone(),
            server.requests.clone(),
            server.gate.clone(),
        );
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                accepted.fetch_add(1, Ordering::SeqCst);
                let (requests, gate) = (requests.clone(), gate.clone());
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            match s.read(&mut chunk) {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                        buf.drain(..end);
                        requests.fetch_add(1, Ordering::SeqCst);
                        let (open, cv) = &*gate;
                        let mut g = open.lock().unwrap();
                        while !*g {
                            g = cv.wait(g).unwrap();
                        }
                        drop(g);
                        if s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        server
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

static GATE_TO_OPEN: std::sync::Mutex<Option<Gate>> = std::sync::Mutex::new(None);

/// Completion callback (runs on the client's I/O thread): the request marked 99 opens the
/// gate, then keeps the I/O thread busy while the gated answers all arrive, so that the
/// client sees them together.
unsafe extern "C" fn open_gate_then_block(
    _: *mut std::ffi::c_void,
    done: *const httpring_completion,
) {
    if unsafe { (*done).user_data } != 99 {
        return;
    }
    if let Some(gate) = GATE_TO_OPEN.lock().unwrap().take() {
        let (open, cv) = &*gate;
        *open.lock().unwrap() = true;
        cv.notify_all();
    }
    std::thread::sleep(Duration::from_millis(300));
}

#[test]
fn connections_finishing_together_close_one_for_one_waiter_of_another_origin() {
    // Total cap 2: both places are held by requests to `a`; `b` waits, then one more for
    // `a`. Both `a` answers arrive together: one connection closes and its place goes to
    // `b`; the other carries the waiting `a` request. Nothing is reopened.
    let a = GatedServer::start();
    let b = TestServer::start();
    let unused = TestServer::start();
    let c = Client::with(|cfg| unsafe {
        httpring_config_set_max_connections(cfg, 2);
        httpring_config_set_pool_timeout_ms(cfg, 10_000);
    });
    *GATE_TO_OPEN.lock().unwrap() = Some(a.gate.clone());
    assert_eq!(
        unsafe {
            httpring_client_set_callback(c.0, Some(open_gate_then_block), std::ptr::null_mut())
        },
        HTTPRING_OK
    );
    let mut hs = vec![c.get(&a.url()), c.get(&a.url())];
    let t = Instant::now();
    while a.requests.load(Ordering::SeqCst) < 2 {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "a never saw both requests"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    hs.push(c.get(&b.url("/hello")));
    std::thread::sleep(Duration::from_millis(50));
    hs.push(c.get(&a.url()));
    std::thread::sleep(Duration::from_millis(50));
    // Queued last and given up after 100 ms; its completion opens the gate.
    let marker = c
        .submit("GET", &unused.url("/hello"), |r| unsafe {
            httpring_request_set_pool_timeout_ms(r, 100);
            httpring_request_set_user_data(r, 99);
        })
        .unwrap();
    assert_eq!(c.wait(marker), HTTPRING_STATE_FAILED);
    assert_eq!(c.error(marker), HTTPRING_ERR_POOL_TIMEOUT);
    for h in hs {
        assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "{}", c.message(h));
        assert_eq!(c.response(h).status, 200);
        c.free(h);
    }
    assert_eq!(b.connections(), 1);
    assert_eq!(
        a.accepted.load(Ordering::SeqCst),
        2,
        "the connection to a closed for b was replaced by a new one (a close per finished connection)"
    );
    assert_eq!(unused.connections(), 0);
}

/// A client with one rate cap (`set`, 0 = none) over HTTP/1.1 or h2c; a capped one has a
/// 100 ms read timeout, shorter than the capped transfers (an uncapped one none: a stall of
/// a loaded machine is not what its tests are about).
fn capped_client(
    set: unsafe extern "C" fn(*mut httpring_config, u64) -> httpring_code,
    rate: u64,
    h2: bool,
) -> Client {
    Client::with(|cfg| unsafe {
        assert_eq!(set(cfg, rate), HTTPRING_OK);
        if rate > 0 {
            assert_eq!(httpring_config_set_read_timeout_ms(cfg, 100), HTTPRING_OK);
        }
        assert_eq!(
            httpring_config_set_h2c_prior_knowledge(cfg, h2),
            HTTPRING_OK
        );
    })
}

/// The receive-rate cap paces a body to its rate on average (HTTP/1.1 and HTTP/2); the
/// pauses are not silence, so a read timeout shorter than them does not fire; without the
/// cap, five times the bytes (3 s at the cap) arrive in well under that.
#[test]
fn the_receive_rate_cap_paces_a_body() {
    let srv = TestServer::start();
    for h2 in [false, true] {
        let c = capped_client(httpring_config_set_max_recv_speed, 1_000_000, h2);
        let t = Instant::now();
        let h = c.get(&srv.url("/bytes/600000"));
        assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "h2 {h2}: {}", c.message(h));
        let took = t.elapsed();
        assert_eq!(c.body(h).len(), 600_000);
        assert!(
            took >= Duration::from_millis(580) && took < Duration::from_secs(5),
            "h2 {h2}: 600,000 bytes at 1 MB/s took {took:?}"
        );
        c.free(h);
    }
    let c = capped_client(httpring_config_set_max_recv_speed, 0, false);
    let t = Instant::now();
    let h = c.get(&srv.url("/bytes/3000000"));
    assert_eq!(c.wait(h), HTTPRING_STATE_DONE);
    assert_eq!(c.body(h).len(), 3_000_000);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    c.free(h);
}

/// The send-rate cap paces a request body to its rate on average (HTTP/1.1 and HTTP/2),
/// its Content-Length kept; its pieces are progress, so a read timeout shorter than the
/// upload does not fire; without the cap, five times the bytes (3 s at the cap) go in well
/// under that.
#[test]
fn the_send_rate_cap_paces_a_request_body() {
    let srv = TestServer::start();
    let body: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
    let post = |c: &Client| {
        c.submit("POST", &srv.url("/upload"), |r| unsafe {
            assert_eq!(
                httpring_request_set_body(r, body.as_ptr(), body.len()),
                HTTPRING_OK
            );
        })
        .unwrap()
    };
    for h2 in [false, true] {
        let c = capped_client(httpring_config_set_max_send_speed, 1_000_000, h2);
        let t = Instant::now();
        let h = post(&c);
        assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "h2 {h2}: {}", c.message(h));
        let took = t.elapsed();
        let answer = String::from_utf8(c.body(h)).unwrap();
        assert!(answer.contains("\"received\": 600000"), "h2 {h2}: {answer}");
        assert!(answer.contains("\"chunked\": false"), "h2 {h2}: {answer}");
        // 600,000 bytes at 1 MB/s in 64 KiB pieces: the last one goes at ~0.59 s.
        assert!(
            took >= Duration::from_millis(550) && took < Duration::from_secs(5),
            "h2 {h2}: 600,000 bytes at 1 MB/s took {took:?}"
        );
        c.free(h);
    }
    let c = capped_client(httpring_config_set_max_send_speed, 0, false);
    let more = body.repeat(5);
    let t = Instant::now();
    let h = c
        .submit("POST", &srv.url("/upload"), |r| unsafe {
            assert_eq!(
                httpring_request_set_body(r, more.as_ptr(), more.len()),
                HTTPRING_OK
            );
        })
        .unwrap();
    assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "{}", c.message(h));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(String::from_utf8(c.body(h))
        .unwrap()
        .contains("\"received\": 3000000"));
    c.free(h);
}

/// The speed limits set on one request (curl sets them per transfer): a cap on a request
/// of an uncapped client paces that request only; 0 lifts the client's cap for one request;
/// a low-speed limit on one request fails its trickle while the client has none.
#[test]
fn speed_limits_set_on_a_request_override_the_clients() {
    let srv = TestServer::start();
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let post = |c: &Client, rate: Option<u64>| {
        c.submit("POST", &srv.url("/upload"), |r| unsafe {
            assert_eq!(
                httpring_request_set_body(r, body.as_ptr(), body.len()),
                HTTPRING_OK
            );
            if let Some(rate) = rate {
                assert_eq!(httpring_request_set_max_send_speed(r, rate), HTTPRING_OK);
            }
        })
        .unwrap()
    };
    let get = |c: &Client, url: &str, rate: Option<u64>| {
        c.submit("GET", url, |r| unsafe {
            if let Some(rate) = rate {
                assert_eq!(httpring_request_set_max_recv_speed(r, rate), HTTPRING_OK);
            }
        })
        .unwrap()
    };
    let big = srv.url("/bytes/300000");
    for h2 in [false, true] {
        // An uncapped client: the capped request takes ~2 s at 150 kB/s (its last piece is
        // due at 1.9 s); its sibling, sent beside it, finishes long before.
        let c = capped_client(httpring_config_set_max_recv_speed, 0, h2);
        for send in [false, true] {
            let t = Instant::now();
            let (slow, fast) = match send {
                false => (get(&c, &big, Some(150_000)), get(&c, &big, None)),
                true => (post(&c, Some(150_000)), post(&c, None)),
            };
            assert_eq!(c.wait(fast), HTTPRING_STATE_DONE, "{}", c.message(fast));
            let fast_took = t.elapsed();
            assert_eq!(c.wait(slow), HTTPRING_STATE_DONE, "{}", c.message(slow));
            let slow_took = t.elapsed();
            let what = format!("h2 {h2} send {send}: {fast_took:?} / {slow_took:?}");
            assert!(slow_took >= Duration::from_millis(1_500), "{what}");
            assert!(fast_took < Duration::from_secs(1), "{what}");
            for h in [slow, fast] {
                let got = c.body(h);
                match send {
                    false => assert_eq!(got.len(), 300_000, "{what}"),
                    true => assert!(String::from_utf8(got)
                        .unwrap()
                        .contains("\"received\": 300000")),
                }
                c.free(h);
            }
        }
    }
    // Clients capped at 100 kB/s (3 s for 300,000 bytes): 0 on the request lifts the cap.
    let c = capped_client(httpring_config_set_max_recv_speed, 100_000, false);
    let t = Instant::now();
    let h = get(&c, &big, Some(0));
    assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "{}", c.message(h));
    assert_eq!(c.body(h).len(), 300_000);
    assert!(
        t.elapsed() < Duration::from_millis(1_500),
        "{:?}",
        t.elapsed()
    );
    c.free(h);
    let c = capped_client(httpring_config_set_max_send_speed, 100_000, false);
    let t = Instant::now();
    let h = post(&c, Some(0));
    assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "{}", c.message(h));
    assert!(
        t.elapsed() < Duration::from_millis(1_500),
        "{:?}",
        t.elapsed()
    );
    c.free(h);
    // The low-speed limit: /drip/40/50 sends 20 bytes/s for 2 s.
    let trickle = srv.url("/drip/40/50");
    let c = Client::new();
    let limited = c
        .submit("GET", &trickle, |r| unsafe {
            assert_eq!(httpring_request_set_low_speed(r, 100, 300), HTTPRING_OK);
        })
        .unwrap();
    let plain = c.get(&trickle);
    assert_eq!(c.wait(limited), HTTPRING_STATE_FAILED);
    assert_eq!(c.error(limited), HTTPRING_ERR_READ_TIMEOUT);
    assert!(
        c.message(limited)
            .contains("under the low-speed limit of 100 bytes/s"),
        "{}",
        c.message(limited)
    );
    assert_eq!(c.wait(plain), HTTPRING_STATE_DONE);
    assert_eq!(
        (c.response(plain).status, c.body(plain)),
        (200, vec![b'x'; 40])
    );
    c.free(limited);
    c.free(plain);
    // ... and 0 turns the client's limit off for one request.
    let c = Client::with(|cfg| unsafe {
        assert_eq!(httpring_config_set_low_speed(cfg, 100, 300), HTTPRING_OK);
    });
    let h = c
        .submit("GET", &trickle, |r| unsafe {
            assert_eq!(httpring_request_set_low_speed(r, 0, 0), HTTPRING_OK);
        })
        .unwrap();
    assert_eq!(c.wait(h), HTTPRING_STATE_DONE);
    assert_eq!(
        (c.response(h).status, c.body(h)),
        (200, vec![b'x'; 40]),
        "{}",
        c.message(h)
    );
    c.free(h);
    // NULL requests are refused.
    unsafe {
        assert_eq!(
            httpring_request_set_max_recv_speed(std::ptr::null_mut(), 1),
            HTTPRING_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            httpring_request_set_max_send_speed(std::ptr::null_mut(), 1),
            HTTPRING_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            httpring_request_set_low_speed(std::ptr::null_mut(), 1, 1),
            HTTPRING_ERR_INVALID_ARGUMENT
        );
    }
}

/// The low-speed limit covers the wait for the response head once the request and its body
/// have gone: a server that holds the head back sends at 0 bytes/s (curl's LOW_SPEED_TIME
/// counts that wait too). Over HTTP/1.1 and HTTP/2, with no read timeout to catch it
/// otherwise. (Over HTTP/2 the connection's traffic for the quick request moves the held
/// one's deadline on, as for the read timeout: it fails within 2 s all the same.)
#[test]
fn the_low_speed_limit_fails_a_head_that_does_not_come() {
    let srv = TestServer::start();
    for h2 in [false, true] {
        let c = Client::with(|cfg| unsafe {
            assert_eq!(httpring_config_set_low_speed(cfg, 100, 300), HTTPRING_OK);
            assert_eq!(
                httpring_config_set_h2c_prior_knowledge(cfg, h2),
                HTTPRING_OK
            );
        });
        let t = Instant::now();
        let held = c.get(&srv.url("/delay/5000"));
        let body = [b'b'; 1000];
        let posted = c
            .submit("POST", &srv.url("/delay/5000"), |r| unsafe {
                assert_eq!(
                    httpring_request_set_body(r, body.as_ptr(), body.len()),
                    HTTPRING_OK
                );
            })
            .unwrap();
        // A quick answer beside it, and a request that lifts the limit for itself.
        let quick = c.get(&srv.url("/delay/50"));
        let unlimited = c
            .submit("GET", &srv.url("/delay/900"), |r| unsafe {
                assert_eq!(httpring_request_set_low_speed(r, 0, 0), HTTPRING_OK);
            })
            .unwrap();
        for h in [held, posted] {
            assert_eq!(c.wait(h), HTTPRING_STATE_FAILED, "h2 {h2}");
            let took = t.elapsed();
            assert_eq!(c.error(h), HTTPRING_ERR_READ_TIMEOUT, "h2 {h2}");
            assert!(
                c.message(h).contains(
                    "no data from the server for 300ms while waiting for the response head, under the low-speed limit"
                ),
                "h2 {h2}: {}",
                c.message(h)
            );
            assert!(
                took >= Duration::from_millis(290) && took < Duration::from_millis(2_000),
                "h2 {h2}: {took:?}"
            );
        }
        for h in [quick, unlimited] {
            assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "h2 {h2}: {}", c.message(h));
            assert_eq!(c.body(h), b"ok");
            c.free(h);
        }
        c.free(held);
        c.free(posted);
    }
}

/// The low-speed limit looks at the speed of the wait for the head, not only at its silence:
/// a server trickling its head a byte every 40 ms (25 bytes/s) fails under a limit of
/// 100 bytes/s over 300 ms, for a GET and for a POST (whose wait follows its body's own
/// check), as curl's LOW_SPEED_TIME counts every byte. The read timeout is the server's
/// silence, so it lets the trickle through, and so does a limit under its rate (2 bytes/s).
#[test]
fn the_low_speed_limit_fails_a_head_trickled_under_it() {
    static HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    let url = common::canned_server_paced(HEAD, Duration::from_millis(40));
    let limited = Client::with(|cfg| unsafe {
        assert_eq!(httpring_config_set_low_speed(cfg, 100, 300), HTTPRING_OK);
    });
    let patient = Client::with(|cfg| unsafe {
        assert_eq!(httpring_config_set_read_timeout_ms(cfg, 300), HTTPRING_OK);
        assert_eq!(httpring_config_set_low_speed(cfg, 2, 300), HTTPRING_OK);
    });
    let t = Instant::now();
    let get = limited.get(&url);
    let body = [b'b'; 1000];
    let post = limited
        .submit("POST", &url, |r| unsafe {
            assert_eq!(
                httpring_request_set_body(r, body.as_ptr(), body.len()),
                HTTPRING_OK
            );
        })
        .unwrap();
    let slow_ok = patient.get(&url);
    for (h, what) in [(get, "GET"), (post, "POST")] {
        assert_eq!(limited.wait(h), HTTPRING_STATE_FAILED, "{what}");
        assert_eq!(limited.error(h), HTTPRING_ERR_READ_TIMEOUT, "{what}");
        let msg = limited.message(h);
        assert!(
            msg.contains("bytes on the connection in")
                && msg.contains(
                    "while waiting for the response head, under the low-speed limit of 100 bytes/s"
                ),
            "{what}: {msg}"
        );
        let took = t.elapsed();
        assert!(
            took >= Duration::from_millis(290) && took < Duration::from_millis(1_500),
            "{what}: {took:?} (the whole head takes {:?})",
            HEAD.len() as u32 * Duration::from_millis(40)
        );
        limited.free(h);
    }
    assert_eq!(
        patient.wait(slow_ok),
        HTTPRING_STATE_DONE,
        "{}",
        patient.message(slow_ok)
    );
    assert_eq!(patient.response(slow_ok).status, 200);
    assert_eq!(patient.body(slow_ok), b"ok");
    assert!(t.elapsed() >= Duration::from_millis(2_000));
    patient.free(slow_ok);
}

/// Sends one spec through `httpring_client_send_many`; returns its handle.
fn send_spec(
    c: &Client,
    url: &str,
    set: impl FnOnce(&mut httpring_request_spec),
) -> httpring_handle {
    let u = std::ffi::CString::new(url).unwrap();
    let mut spec = httpring_request_spec {
        url: u.as_ptr(),
        ..Default::default()
    };
    set(&mut spec);
    let mut h = 0;
    assert_eq!(
        unsafe { httpring_client_send_many(c.0, &spec, 1, &mut h, std::ptr::null_mut()) },
        HTTPRING_OK
    );
    h
}

#[test]
fn a_batch_entry_carries_a_request_s_retries_and_speed_limits() {
    // Version 4 of `httpring_request_spec`: what the request builder sets per request.
    let srv = TestServer::start();
    let c = Client::with(|cfg| unsafe {
        assert_eq!(httpring_config_set_retries(cfg, 2), HTTPRING_OK);
        assert_eq!(
            httpring_config_set_retry_backoff_ms(cfg, 5, 20),
            HTTPRING_OK
        );
        assert_eq!(httpring_config_set_low_speed(cfg, 100, 300), HTTPRING_OK);
    });
    let once = send_spec(&c, &srv.url("/status/503"), |s| s.retries = 0);
    let thrice = send_spec(&c, &srv.url("/status/503"), |_| {});
    assert_eq!(c.wait(once), HTTPRING_STATE_DONE);
    assert_eq!(
        (c.response(once).status, common::attempts(&c, once)),
        (503, 1)
    );
    assert_eq!(c.wait(thrice), HTTPRING_STATE_DONE);
    assert_eq!(common::attempts(&c, thrice), 3, "the client's retries");
    // The receive cap: 300,000 bytes at 150 kB/s take about 2 s.
    let t = Instant::now();
    let capped = send_spec(&c, &srv.url("/bytes/300000"), |s| {
        s.max_recv_speed = 150_000
    });
    assert_eq!(c.wait(capped), HTTPRING_STATE_DONE, "{}", c.message(capped));
    assert_eq!(c.body(capped).len(), 300_000);
    assert!(
        t.elapsed() >= Duration::from_millis(1_500),
        "{:?}",
        t.elapsed()
    );
    // The client's low-speed limit fails /drip/40/50 (20 bytes/s); a spec lifts it.
    let trickle = srv.url("/drip/40/50");
    let limited = send_spec(&c, &trickle, |_| {});
    let lifted = send_spec(&c, &trickle, |s| {
        s.low_speed_bytes_per_sec = 0;
        s.low_speed_time_ms = 0;
    });
    assert_eq!(c.wait(limited), HTTPRING_STATE_FAILED);
    assert_eq!(c.error(limited), HTTPRING_ERR_READ_TIMEOUT);
    assert_eq!(c.wait(lifted), HTTPRING_STATE_DONE, "{}", c.message(lifted));
    assert_eq!(c.body(lifted), vec![b'x'; 40]);
    for h in [once, thrice, capped, limited, lifted] {
        c.free(h);
    }
}

/// The low-speed limit applies to a request body too, as curl's does to uploads: a server
/// that stops taking it (it reads nothing for 10 s here, and 16 MiB is more than the socket
/// buffers hold) fails the request with the write-timeout code, for a body in hand and a
/// written one, over HTTP/1.1 and HTTP/2, set on the client or on the request. Time the
/// caller's source has nothing is not the server's doing: a writer slower than the limit,
/// to a server that reads at once, succeeds.
#[test]
fn the_low_speed_limit_fails_an_upload_the_server_stops_taking() {
    let srv = TestServer::start();
    let stalled = srv.url("/upload?hold_ms=10000");
    let body = vec![7u8; 16 << 20];
    let limited = |on_client: bool, h2: bool| {
        Client::with(|cfg| unsafe {
            if on_client {
                assert_eq!(
                    httpring_config_set_low_speed(cfg, 100_000, 500),
                    HTTPRING_OK
                );
            }
            assert_eq!(
                httpring_config_set_h2c_prior_knowledge(cfg, h2),
                HTTPRING_OK
            );
        })
    };
    let expect_too_slow = |c: &Client, h: httpring_handle, what: &str| {
        assert_eq!(c.wait(h), HTTPRING_STATE_FAILED, "{what}");
        assert_eq!(
            c.error(h),
            HTTPRING_ERR_WRITE_TIMEOUT,
            "{what}: {}",
            c.message(h)
        );
        let msg = c.message(h);
        assert!(
            msg.contains("the server took the request body at")
                && msg.contains("under the low-speed limit of 100000 bytes/s"),
            "{what}: {msg}"
        );
    };
    for h2 in [false, true] {
        for on_client in [true, false] {
            let what = format!("h2 {h2}, set on the client {on_client}");
            let c = limited(on_client, h2);
            let set = |r: *mut httpring_request| unsafe {
                if !on_client {
                    assert_eq!(httpring_request_set_low_speed(r, 100_000, 500), HTTPRING_OK);
                }
            };
            // In hand.
            let t = Instant::now();
            let h = c
                .submit("POST", &stalled, |r| unsafe {
                    set(r);
                    assert_eq!(
                        httpring_request_set_body(r, body.as_ptr(), body.len()),
                        HTTPRING_OK
                    );
                })
                .unwrap();
            expect_too_slow(&c, h, &what);
            assert!(
                t.elapsed() >= Duration::from_millis(500),
                "{what}: one window"
            );
            c.free(h);
            // Written through the handle, until the request ends.
            let h = c
                .submit("POST", &stalled, |r| {
                    set(r);
                    assert_eq!(httpring_request_set_body_writer(r, -1), HTTPRING_OK);
                })
                .unwrap();
            let piece = [7u8; 64 << 10];
            loop {
                let mut n = 0;
                match unsafe { httpring_handle_write(c.0, h, piece.as_ptr(), piece.len(), &mut n) }
                {
                    HTTPRING_OK => {}
                    HTTPRING_PENDING => {
                        httpring_handle_wait_writable(c.0, h, 100);
                    }
                    _ => break, // the request ended
                }
            }
            expect_too_slow(&c, h, &what);
            c.free(h);
        }
        // A writer slower than the limit: 1,000 bytes every 700 ms, 300 ms windows.
        let c = Client::with(|cfg| unsafe {
            assert_eq!(
                httpring_config_set_low_speed(cfg, 100_000, 300),
                HTTPRING_OK
            );
            assert_eq!(
                httpring_config_set_h2c_prior_knowledge(cfg, h2),
                HTTPRING_OK
            );
        });
        let h = c
            .submit("POST", &srv.url("/upload"), |r| {
                assert_eq!(httpring_request_set_body_writer(r, -1), HTTPRING_OK);
            })
            .unwrap();
        for _ in 0..3 {
            let mut n = 0;
            let piece = [7u8; 1000];
            let code = unsafe { httpring_handle_write(c.0, h, piece.as_ptr(), 1000, &mut n) };
            assert_eq!((code, n), (HTTPRING_OK, 1000), "h2 {h2}: {}", c.message(h));
            std::thread::sleep(Duration::from_millis(700));
        }
        assert_eq!(httpring_handle_finish_body(c.0, h), HTTPRING_OK);
        assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "h2 {h2}: {}", c.message(h));
        assert!(String::from_utf8(c.body(h))
            .unwrap()
            .contains("\"received\": 3000"));
        c.free(h);
    }
}
