//! Waiting threads that drive the runtime themselves (`wait_drives_io`, on by default):
//! the runtime passes between the background thread and waiting callers, and every request
//! still completes exactly once, whoever happens to be driving.

use crate::common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use httpring::ffi::*;
use httpring_code::*;
use httpring_state::*;

fn poll(c: &Client, h: httpring_handle) -> httpring_state {
    let mut s = HTTPRING_STATE_PENDING;
    assert_eq!(unsafe { httpring_handle_poll(c.0, h, &mut s) }, HTTPRING_OK);
    s
}

/// Eight threads, each a sequential caller (submit, wait, read, free), share one client:
/// the runtime moves between them; all requests succeed over few connections.
#[test]
fn sequential_callers_on_many_threads_share_the_runtime() {
    let srv = TestServer::start();
    let c = Arc::new(Client::new());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (c, base) = (c.clone(), srv.url(""));
            std::thread::spawn(move || {
                for i in 0..150 {
                    let path = if (i + t) % 5 == 0 { "delay/2" } else { "hello" };
                    let (status, body) = c.fetch(&format!("{base}/{path}"));
                    assert_eq!(status, 200);
                    assert!(!body.is_empty());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("caller thread");
    }
    assert_eq!(c.live(), 0);
    // One connection per concurrent caller at most (plus a stale-connection retry or two).
    assert!(srv.connections() <= 12, "{} connections", srv.connections());
}

/// After a caller has driven the runtime and left, requests nobody waits for still
/// progress: the background thread takes the runtime back.
#[test]
fn requests_progress_without_a_waiter_after_a_wait() {
    let srv = TestServer::start();
    let c = Client::new();
    assert_eq!(c.fetch(&srv.url("/hello")).0, 200);
    for _ in 0..3 {
        let h = c.get(&srv.url("/delay/20"));
        let t = Instant::now();
        while poll(&c, h) == HTTPRING_STATE_PENDING {
            assert!(
                ms_since(t) < 5000,
                "request made no progress without a waiter"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(c.response(h).status, 200);
        c.free(h);
        // And a waited one in between, so the runtime changes hands every round.
        assert_eq!(c.fetch(&srv.url("/json")).0, 200);
    }
}

/// A wait with a time limit returns PENDING on time while driving, and the request can
/// still be cancelled and waited for afterwards.
#[test]
fn a_driving_wait_times_out_on_time() {
    let srv = TestServer::start();
    let c = Client::new();
    let h = c.get(&srv.url("/stall"));
    let mut s = HTTPRING_STATE_DONE;
    let t = Instant::now();
    assert_eq!(
        unsafe { httpring_handle_wait(c.0, h, 150, &mut s) },
        HTTPRING_PENDING
    );
    assert_eq!(s, HTTPRING_STATE_PENDING);
    let took = ms_since(t);
    assert!((140..2000).contains(&took), "wait took {took} ms");
    assert_eq!(httpring_handle_cancel(c.0, h), HTTPRING_OK);
    assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
    assert_eq!(c.error(h), HTTPRING_ERR_CANCELLED);
    c.free(h);
}

/// Freeing the client while another thread drives it in a wait ends that wait (the request
/// completes as cancelled); the free neither hangs nor crashes.
#[test]
fn freeing_the_client_ends_a_driving_wait() {
    let srv = TestServer::start();
    let c = Client::new();
    let h = c.get(&srv.url("/stall"));
    let ptr = c.0 as usize;
    let waiter = std::thread::spawn(move || {
        let mut s = HTTPRING_STATE_PENDING;
        let t = Instant::now();
        let code =
            unsafe { httpring_handle_wait(ptr as *const httpring_client, h, 20_000, &mut s) };
        (code, s, ms_since(t))
    });
    std::thread::sleep(Duration::from_millis(150));
    let t = Instant::now();
    drop(c);
    assert!(ms_since(t) < 3000, "client free took {} ms", ms_since(t));
    let (code, state, took) = waiter.join().expect("waiter");
    assert!(took < 5000, "the wait lasted {took} ms");
    // The wait either saw the request cancelled or, if it re-entered after the free, the
    // client gone: never a hang, never success.
    assert!(
        (code == HTTPRING_OK && state == HTTPRING_STATE_FAILED)
            || code == HTTPRING_ERR_CLIENT_CLOSED,
        "{code:?} {state:?}"
    );
}

/// One thread drives in a long wait while another collects other requests through the fd
/// and drain: completions reach the drain queue whoever completes them, each exactly once.
#[test]
fn drain_sees_completions_made_by_a_driving_waiter() {
    let srv = TestServer::start();
    let c = Arc::new(Client::new());
    let stop = Arc::new(AtomicBool::new(false));
    let waits = Arc::new(AtomicUsize::new(0));
    let driver = {
        let (c, stop, waits, base) = (c.clone(), stop.clone(), waits.clone(), srv.url(""));
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                assert_eq!(c.fetch(&format!("{base}/delay/5")).0, 200);
                waits.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let fd = httpring_client_fd(c.0);
    assert!(fd >= 0);
    let n = 300u64;
    let mut handles = Vec::new();
    for i in 1..=n {
        handles.push(c.get_ud(&srv.url("/hello"), i));
    }
    let mut seen = std::collections::HashSet::new();
    let mut buf: Vec<httpring_completion> = vec![httpring_completion::default(); 64];
    let t = Instant::now();
    while (seen.len() as u64) < n {
        assert!(ms_since(t) < 20_000, "only {} of {n} drained", seen.len());
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        unsafe { libc::poll(&mut pfd, 1, 100) };
        let mut got = 0usize;
        assert_eq!(
            unsafe { httpring_client_drain(c.0, buf.as_mut_ptr(), buf.len(), &mut got) },
            HTTPRING_OK
        );
        for e in &buf[..got] {
            // The driver thread frees its own handles before they reach the drain.
            if e.user_data == 0 {
                continue;
            }
            assert_eq!(e.code, HTTPRING_OK);
            assert!(seen.insert(e.user_data), "{} drained twice", e.user_data);
        }
    }
    stop.store(true, Ordering::SeqCst);
    driver.join().expect("driver");
    assert!(waits.load(Ordering::SeqCst) > 0);
    for h in handles {
        assert_eq!(c.free(h), HTTPRING_OK);
    }
}

/// The switch turns the behaviour off; requests work the same.
#[test]
fn waits_can_be_told_not_to_drive() {
    let srv = TestServer::start();
    let c = Client::with(|cfg| {
        assert_eq!(
            unsafe { httpring_config_set_wait_drives_io(cfg, false) },
            HTTPRING_OK
        );
    });
    for _ in 0..20 {
        assert_eq!(c.fetch(&srv.url("/hello")).0, 200);
    }
    assert_eq!(
        unsafe { httpring_config_set_wait_drives_io(std::ptr::null_mut(), true) },
        HTTPRING_ERR_INVALID_ARGUMENT
    );
}

/// `httpring_client_wait_drain`: blocks until completions are queued, hands each over once,
/// times out with a count of 0, and refuses bad arguments. Checked with the waiting thread
/// driving the I/O and without.
#[test]
fn wait_drain_collects_every_completion_once() {
    let srv = TestServer::start();
    for drives in [true, false] {
        let c = Client::with(|cfg| {
            assert_eq!(
                unsafe { httpring_config_set_wait_drives_io(cfg, drives) },
                HTTPRING_OK
            );
        });
        let mut buf: Vec<httpring_completion> = vec![httpring_completion::default(); 32];
        let mut got = usize::MAX;
        // Nothing in flight: a short wait times out empty.
        let t = Instant::now();
        assert_eq!(
            unsafe {
                httpring_client_wait_drain(c.0, buf.as_mut_ptr(), buf.len(), 1, 80, &mut got)
            },
            HTTPRING_OK
        );
        assert_eq!(got, 0);
        assert!((70..2000).contains(&ms_since(t)), "{} ms", ms_since(t));
        let n = 200u64;
        let handles: Vec<_> = (1..=n)
            .map(|i| c.get_ud(&srv.url(if i % 3 == 0 { "/delay/3" } else { "/hello" }), i))
            .collect();
        let mut seen = std::collections::HashSet::new();
        let t = Instant::now();
        while (seen.len() as u64) < n {
            assert!(ms_since(t) < 20_000, "only {} of {n}", seen.len());
            got = usize::MAX;
            assert_eq!(
                unsafe {
                    httpring_client_wait_drain(c.0, buf.as_mut_ptr(), buf.len(), 1, 5000, &mut got)
                },
                HTTPRING_OK
            );
            assert!(got > 0 && got <= buf.len(), "count {got}");
            for e in &buf[..got] {
                assert_eq!(e.code, HTTPRING_OK);
                assert_eq!(e.status, 200);
                assert!(seen.insert(e.user_data), "{} twice", e.user_data);
            }
        }
        // Everything was handed over: the queue is empty again.
        assert_eq!(
            unsafe { httpring_client_wait_drain(c.0, buf.as_mut_ptr(), buf.len(), 1, 0, &mut got) },
            HTTPRING_OK
        );
        assert_eq!(got, 0);
        assert_eq!(
            unsafe { httpring_client_wait_drain(c.0, buf.as_mut_ptr(), 0, 0, 0, &mut got) },
            HTTPRING_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            unsafe {
                httpring_client_wait_drain(c.0, buf.as_mut_ptr(), 4, 1, 0, std::ptr::null_mut())
            },
            HTTPRING_ERR_INVALID_ARGUMENT
        );
        for h in handles {
            assert_eq!(c.free(h), HTTPRING_OK);
        }
        // `min`: one call hands over at least that many (here all 20 of a batch).
        let batch: Vec<_> = (0..20u64)
            .map(|i| c.get_ud(&srv.url("/delay/2"), 1000 + i))
            .collect();
        got = 0;
        assert_eq!(
            unsafe {
                httpring_client_wait_drain(c.0, buf.as_mut_ptr(), buf.len(), 20, 10_000, &mut got)
            },
            HTTPRING_OK
        );
        assert!(got >= 20, "min 20, got {got}");
        // And a min larger than what can ever come times out with what did come (once it
        // has come: a loaded machine may take longer than the 200 ms to answer).
        let one = c.get_ud(&srv.url("/hello"), 7);
        assert_eq!(c.wait(one), HTTPRING_STATE_DONE);
        let t = Instant::now();
        assert_eq!(
            unsafe {
                httpring_client_wait_drain(c.0, buf.as_mut_ptr(), buf.len(), 5, 200, &mut got)
            },
            HTTPRING_OK
        );
        assert_eq!(got, 1);
        assert_eq!(buf[0].user_data, 7);
        assert!(ms_since(t) >= 190, "{} ms", ms_since(t));
        assert_eq!(
            unsafe { httpring_client_wait_drain(c.0, buf.as_mut_ptr(), 4, 5, 0, &mut got) },
            HTTPRING_ERR_INVALID_ARGUMENT
        );
        for h in batch.into_iter().chain([one]) {
            assert_eq!(c.free(h), HTTPRING_OK);
        }
    }
    let mut got = 0;
    assert_eq!(
        unsafe {
            httpring_client_wait_drain(std::ptr::null(), std::ptr::null_mut(), 1, 1, 0, &mut got)
        },
        HTTPRING_ERR_INVALID_ARGUMENT
    );
}

/// Freeing the client ends a `wait_drain` that asked for more completions than will ever
/// come, whether or not the waiting thread drives the runtime.
#[test]
fn freeing_the_client_ends_a_wait_drain_for_more() {
    let srv = TestServer::start();
    for drives in [true, false] {
        let c = Client::with(|cfg| {
            assert_eq!(
                unsafe { httpring_config_set_wait_drives_io(cfg, drives) },
                HTTPRING_OK
            );
        });
        let h = c.get(&srv.url("/stall"));
        let ptr = c.0 as usize;
        let waiter = std::thread::spawn(move || {
            let mut buf: Vec<httpring_completion> = vec![httpring_completion::default(); 16];
            let mut got = usize::MAX;
            let t = Instant::now();
            let code = unsafe {
                httpring_client_wait_drain(
                    ptr as *const httpring_client,
                    buf.as_mut_ptr(),
                    buf.len(),
                    10,
                    60_000,
                    &mut got,
                )
            };
            (code, got, ms_since(t))
        });
        std::thread::sleep(Duration::from_millis(150));
        let _ = h;
        let t = Instant::now();
        drop(c);
        assert!(ms_since(t) < 5000, "client free took {} ms", ms_since(t));
        let (code, got, took) = waiter.join().expect("waiter");
        assert!(
            took < 5000,
            "wait_drain lasted {took} ms (drives: {drives})"
        );
        assert!(
            (code == HTTPRING_OK && got <= 1) || code == HTTPRING_ERR_CLIENT_CLOSED,
            "{code:?} {got}"
        );
    }
}
