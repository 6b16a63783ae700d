//! Completion paths: wait_any/wait_all, the drain queue behind the fd, callbacks, and a
//! multi-threaded stress run where every request must complete exactly once.

use crate::common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use httpring::ffi::*;
use httpring_code::*;

#[test]
fn wait_any_returns_the_first_to_finish_and_wait_all_joins() {
    let srv = TestServer::start();
    let c = Client::new();
    let hs = [
        c.get(&srv.url("/delay/800")),
        c.get(&srv.url("/delay/50")),
        c.get(&srv.url("/delay/400")),
    ];
    let mut index = usize::MAX;
    let t = Instant::now();
    assert_eq!(
        unsafe { httpring_handle_wait_any(c.0, hs.as_ptr(), 3, 5000, &mut index) },
        HTTPRING_OK
    );
    assert_eq!(index, 1);
    assert!(ms_since(t) < 400);
    assert_eq!(
        unsafe { httpring_handle_wait_all(c.0, hs.as_ptr(), 3, 100) },
        HTTPRING_PENDING
    );
    assert_eq!(
        unsafe { httpring_handle_wait_all(c.0, hs.as_ptr(), 3, 5000) },
        HTTPRING_OK
    );
    assert!(ms_since(t) >= 780);
    for h in hs {
        assert_eq!(c.response(h).status, 200);
        c.free(h);
    }
    // Timeouts and bad arguments.
    let h = c.get(&srv.url("/stall"));
    assert_eq!(
        unsafe { httpring_handle_wait_any(c.0, &h, 1, 50, &mut index) },
        HTTPRING_PENDING
    );
    assert_eq!(
        unsafe { httpring_handle_wait_any(c.0, std::ptr::null(), 0, 50, &mut index) },
        HTTPRING_ERR_INVALID_ARGUMENT
    );
    let bad = [h, h ^ (1 << 30)];
    assert_eq!(
        unsafe { httpring_handle_wait_all(c.0, bad.as_ptr(), 2, 50) },
        HTTPRING_ERR_INVALID_HANDLE
    );
    c.free(h);
}

/// Drains everything currently queued.
fn drain(c: &Client, into: &mut Vec<httpring_completion>) -> usize {
    let mut buf = [httpring_completion::default(); 128];
    let mut total = 0;
    loop {
        let mut n = 0;
        assert_eq!(
            unsafe { httpring_client_drain(c.0, buf.as_mut_ptr(), buf.len(), &mut n) },
            HTTPRING_OK
        );
        into.extend_from_slice(&buf[..n]);
        total += n;
        if n < buf.len() {
            return total;
        }
    }
}

fn fd_readable(fd: i32, timeout_ms: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    unsafe { libc::poll(&mut p, 1, timeout_ms) == 1 }
}

#[test]
fn fd_is_readable_exactly_while_completions_wait() {
    let srv = TestServer::start();
    let c = Client::new();
    let fd = httpring_client_fd(c.0);
    assert!(fd >= 0);
    assert!(!fd_readable(fd, 0));
    let hs: Vec<_> = (0..10)
        .map(|i| c.get_ud(&srv.url("/hello"), 100 + i))
        .collect();
    let mut got = Vec::new();
    let deadline = Instant::now() + 10 * SECOND;
    while got.len() < 10 && Instant::now() < deadline {
        if fd_readable(fd, 1000) {
            drain(&c, &mut got);
        }
    }
    assert!(
        !fd_readable(fd, 0),
        "fd must not stay readable once the queue is empty"
    );
    let mut uds: Vec<u64> = got.iter().map(|c| c.user_data).collect();
    uds.sort();
    assert_eq!(uds, (100..110).collect::<Vec<_>>());
    assert!(got.iter().all(|g| g.code == HTTPRING_OK && g.status == 200));
    let handles: HashSet<_> = got.iter().map(|g| g.handle).collect();
    assert_eq!(handles, hs.iter().copied().collect());
    assert_eq!(
        unsafe { httpring_handles_free(c.0, hs.as_ptr(), hs.len()) },
        HTTPRING_OK
    );
    // A handle freed before it is drained is skipped.
    let h = c.get(&srv.url("/hello"));
    c.wait(h);
    c.free(h);
    let mut late = Vec::new();
    drain(&c, &mut late);
    assert!(late.is_empty());
    assert!(!fd_readable(fd, 0));
}

#[test]
fn callback_sees_every_completion_once() {
    let srv = TestServer::start();
    let c = Client::new();
    static SEEN: Mutex<Vec<u64>> = Mutex::new(Vec::new());
    unsafe extern "C" fn on_done(ctx: *mut std::ffi::c_void, done: *const httpring_completion) {
        assert_eq!(ctx as usize, 0x1234);
        SEEN.lock().unwrap().push(unsafe { (*done).user_data });
    }
    assert_eq!(
        unsafe { httpring_client_set_callback(c.0, Some(on_done), 0x1234 as *mut _) },
        HTTPRING_OK
    );
    let hs: Vec<_> = (0..200).map(|i| c.get_ud(&srv.url("/hello"), i)).collect();
    assert_eq!(
        unsafe { httpring_handle_wait_all(c.0, hs.as_ptr(), hs.len(), 30_000) },
        HTTPRING_OK
    );
    let mut seen = SEEN.lock().unwrap().clone();
    seen.sort();
    assert_eq!(seen, (0..200).collect::<Vec<_>>());
    assert_eq!(
        unsafe { httpring_handles_free(c.0, hs.as_ptr(), hs.len()) },
        HTTPRING_OK
    );
}

#[test]
fn stress_four_submitters_and_a_draining_thread() {
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 2_500;
    let srv = TestServer::start();
    let c = Arc::new(Client::new());
    let fd = httpring_client_fd(c.0);
    let submitted = Arc::new(AtomicUsize::new(0));
    let done_submitting = Arc::new(AtomicBool::new(false));

    let drainer = {
        let (c, done_submitting, submitted) =
            (c.clone(), done_submitting.clone(), submitted.clone());
        std::thread::spawn(move || {
            let mut seen = HashSet::new();
            let mut wakeups = 0usize;
            let deadline = Instant::now() + Duration::from_secs(120);
            while Instant::now() < deadline {
                if done_submitting.load(Ordering::SeqCst)
                    && seen.len() == submitted.load(Ordering::SeqCst)
                {
                    break;
                }
                if !fd_readable(fd, 200) {
                    continue;
                }
                wakeups += 1;
                let mut got = Vec::new();
                drain(&c, &mut got);
                for g in &got {
                    assert_eq!(
                        g.code,
                        HTTPRING_OK,
                        "request failed: {}",
                        c.message(g.handle)
                    );
                    assert!(
                        seen.insert(g.user_data),
                        "user_data {} completed twice",
                        g.user_data
                    );
                }
                let hs: Vec<_> = got.iter().map(|g| g.handle).collect();
                assert_eq!(
                    unsafe { httpring_handles_free(c.0, hs.as_ptr(), hs.len()) },
                    HTTPRING_OK
                );
            }
            (seen, wakeups)
        })
    };
    let url = srv.url("/hello");
    let submitters: Vec<_> = (0..THREADS)
        .map(|t| {
            let (c, url, submitted) = (c.clone(), url.clone(), submitted.clone());
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    c.get_ud(&url, t * PER_THREAD + i);
                    submitted.fetch_add(1, Ordering::SeqCst);
                    // Keep the in-flight count bounded like a real caller would.
                    while c.live() > 256 {
                        std::thread::yield_now();
                    }
                }
            })
        })
        .collect();
    for s in submitters {
        s.join().unwrap();
    }
    done_submitting.store(true, Ordering::SeqCst);
    let (seen, wakeups) = drainer.join().unwrap();
    let total = (THREADS * PER_THREAD) as usize;
    assert_eq!(seen.len(), total, "every request completes exactly once");
    assert_eq!(seen, (0..total as u64).collect::<HashSet<_>>());
    assert_eq!(c.live(), 0);
    // Wake-ups are coalesced: far fewer than one per completion.
    assert!(
        wakeups < total / 2,
        "{wakeups} wake-ups for {total} completions"
    );
    eprintln!(
        "stress: {total} completions in {wakeups} wake-ups over {} connections",
        srv.connections()
    );
    assert!(srv.connections() <= 512, "connections must be reused");
}

#[test]
fn send_many_submits_a_batch_and_reports_each_refusal() {
    let srv = TestServer::start();
    let c = Client::new();
    let good = std::ffi::CString::new(srv.url("/echo")).unwrap();
    let bad = c"not a url";
    let post = c"POST";
    let hdr = httpring_header {
        name: b"X-Batch".as_ptr(),
        name_len: 7,
        value: b"1".as_ptr(),
        value_len: 1,
    };
    let bad_hdr = httpring_header {
        name: b"X-Bad".as_ptr(),
        name_len: 5,
        value: b"a\nb".as_ptr(),
        value_len: 3,
    };
    let spec =
        |url: *const std::ffi::c_char, ud: u64, h: *const httpring_header| httpring_request_spec {
            struct_size: std::mem::size_of::<httpring_request_spec>() as u32,
            method: if ud % 2 == 0 {
                std::ptr::null()
            } else {
                post.as_ptr()
            },
            url,
            headers: h,
            nheaders: if h.is_null() { 0 } else { 1 },
            body: b"payload".as_ptr(),
            body_len: if ud % 2 == 0 { 0 } else { 7 },
            user_data: ud,
            timeout_ms: -1,
            connect_timeout_ms: -1,
            read_timeout_ms: if ud == 7 { 0 } else { -1 },
            ..Default::default()
        };
    let mut specs: Vec<_> = (0..300).map(|i| spec(good.as_ptr(), i, &hdr)).collect();
    specs[10] = spec(bad.as_ptr(), 10, std::ptr::null());
    specs[20] = spec(good.as_ptr(), 20, &bad_hdr);
    let mut handles = vec![u64::MAX; specs.len()];
    let mut codes = vec![HTTPRING_PENDING; specs.len()];
    let rc = unsafe {
        httpring_client_send_many(
            c.0,
            specs.as_ptr(),
            specs.len(),
            handles.as_mut_ptr(),
            codes.as_mut_ptr(),
        )
    };
    assert_eq!(rc, HTTPRING_ERR_INVALID_URL, "the first refusal");
    assert_eq!((codes[10], handles[10]), (HTTPRING_ERR_INVALID_URL, 0));
    assert_eq!((codes[20], handles[20]), (HTTPRING_ERR_INVALID_HEADER, 0));
    let live: Vec<_> = handles.iter().copied().filter(|&h| h != 0).collect();
    assert_eq!(live.len(), 298);
    assert!(codes
        .iter()
        .enumerate()
        .all(|(i, &code)| i == 10 || i == 20 || code == HTTPRING_OK));
    assert_eq!(
        unsafe { httpring_handle_wait_all(c.0, live.as_ptr(), live.len(), 30_000) },
        HTTPRING_OK
    );
    for (i, &h) in handles.iter().enumerate() {
        if h == 0 {
            continue;
        }
        let echo = String::from_utf8(c.body(h)).unwrap();
        let method = if i % 2 == 0 { "GET" } else { "POST" };
        assert!(
            echo.contains(&format!(r#""method": "{method}""#)),
            "{i}: {echo}"
        );
        assert!(echo.contains(r#""x-batch": "1""#), "{echo}");
        let mut ud = 0;
        assert_eq!(
            unsafe { httpring_handle_user_data(c.0, h, &mut ud) },
            HTTPRING_OK
        );
        assert_eq!(ud, i as u64);
    }
    assert_eq!(
        unsafe { httpring_handles_free(c.0, live.as_ptr(), live.len()) },
        HTTPRING_OK
    );
    // An empty batch is fine; a NULL handles array with requests is not.
    assert_eq!(
        unsafe {
            httpring_client_send_many(
                c.0,
                std::ptr::null(),
                0,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        },
        HTTPRING_OK
    );
    assert_eq!(
        unsafe {
            httpring_client_send_many(
                c.0,
                specs.as_ptr(),
                1,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        },
        HTTPRING_ERR_INVALID_ARGUMENT
    );
    assert_eq!(c.live(), 0);
}

#[test]
fn a_freed_request_leaves_nothing_behind_for_the_next() {
    // Freed requests' memory serves new ones: each new request starts pending, with its own
    // user_data and no response, and the freed handle stays invalid.
    let srv = TestServer::start();
    let c = Client::new();
    let mut old = 0;
    for i in 0..50u64 {
        // A request that completed with a body of its own just before.
        let size = 100 * (i as usize + 1);
        assert_eq!(c.fetch(&srv.url(&format!("/bytes/{size}"))).1.len(), size);
        let h = c.get_ud(&srv.url("/delay/20"), 1000 + i);
        let mut state = httpring_state::HTTPRING_STATE_DONE;
        assert_eq!(
            unsafe { httpring_handle_poll(c.0, h, &mut state) },
            HTTPRING_OK
        );
        assert_eq!(state, httpring_state::HTTPRING_STATE_PENDING, "request {i}");
        assert_eq!(c.error(h), HTTPRING_PENDING, "request {i}");
        let mut r = httpring_response::default();
        assert_eq!(
            unsafe { httpring_handle_response(c.0, h, &mut r) },
            HTTPRING_PENDING
        );
        let mut ud = 0;
        assert_eq!(
            unsafe { httpring_handle_user_data(c.0, h, &mut ud) },
            HTTPRING_OK
        );
        assert_eq!(ud, 1000 + i);
        if old != 0 {
            assert_eq!(c.free(old), HTTPRING_ERR_INVALID_HANDLE, "freed handle {i}");
        }
        assert_eq!(c.wait(h), httpring_state::HTTPRING_STATE_DONE);
        assert_eq!(c.response(h).status, 200);
        assert_eq!(c.body(h), b"ok", "request {i}");
        assert_eq!(c.free(h), HTTPRING_OK);
        old = h;
    }
    assert_eq!(c.live(), 0);
}
