//! Streamed request bodies through the C API: a callback that is asked for pieces (chunked,
//! a known length, HTTP/2 DATA frames, "not ready yet" and resume), a body written through
//! the handle with backpressure and writable events, bad sources, and the rules for a body
//! that can be sent only once (no retry, no 307/308, 303 turns it into a GET).

use crate::common;

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::*;
use httpring::ffi::*;
use httpring_code::*;

/// The test server's /upload hash: FNV-1a 64.
fn fnv(data: impl IntoIterator<Item = u8>) -> String {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in data {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    format!("{h:016x}")
}

fn byte_at(i: u64) -> u8 {
    (i.wrapping_mul(31) >> 3) as u8
}

/// A callback source: `total` bytes of `byte_at`, in pieces of at most `piece`; the first
/// `pending_first` calls say "not ready" (and ask to be resumed from another thread).
struct Source {
    total: u64,
    at: u64,
    piece: usize,
    calls: AtomicUsize,
    pending_first: usize,
    /// The client and handle to resume, set by the test once submit returned (a callback
    /// may already be running on the runtime thread then: hence a cell of its own).
    resume: Arc<OnceLock<(usize, httpring_handle)>>,
    /// Set by the test once the request is over: a call after it is a defect.
    over: Arc<AtomicBool>,
    late_calls: Arc<AtomicUsize>,
    fail_at: Option<u64>,
}

impl Source {
    fn new(total: u64, piece: usize) -> Box<Source> {
        Box::new(Source {
            total,
            at: 0,
            piece,
            calls: AtomicUsize::new(0),
            pending_first: 0,
            resume: Arc::default(),
            over: Arc::new(AtomicBool::new(false)),
            late_calls: Arc::new(AtomicUsize::new(0)),
            fail_at: None,
        })
    }
}

unsafe extern "C" fn source_cb(
    user_data: *mut c_void,
    buf: *mut u8,
    cap: usize,
    written: *mut usize,
) -> httpring_code {
    let s = unsafe { &mut *(user_data as *mut Source) };
    if s.over.load(Ordering::SeqCst) {
        s.late_calls.fetch_add(1, Ordering::SeqCst);
    }
    let call = s.calls.fetch_add(1, Ordering::SeqCst);
    if call < s.pending_first {
        if let Some(&(client, h)) = s.resume.get() {
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                httpring_handle_resume_body(client as *const httpring_client, h);
            });
        }
        return HTTPRING_PENDING;
    }
    if s.fail_at.is_some_and(|f| s.at >= f) {
        return HTTPRING_ERR_IO;
    }
    let n = (s.total - s.at).min(cap.min(s.piece) as u64) as usize;
    let out = unsafe { std::slice::from_raw_parts_mut(buf, cap) };
    for (i, b) in out[..n].iter_mut().enumerate() {
        *b = byte_at(s.at + i as u64);
    }
    s.at += n as u64;
    unsafe { *written = n };
    HTTPRING_OK
}

/// One `httpring_handle_write` of `data`: its code and the bytes it took.
fn write(c: &Client, h: httpring_handle, data: &[u8]) -> (httpring_code, usize) {
    let mut n = usize::MAX;
    let code = unsafe { httpring_handle_write(c.0, h, data.as_ptr(), data.len(), &mut n) };
    (code, n)
}

fn with_source(r: *mut httpring_request, s: &mut Box<Source>, length: i64) {
    let ptr: *mut Source = &mut **s;
    assert_eq!(
        unsafe { httpring_request_set_body_callback(r, Some(source_cb), ptr.cast(), length) },
        HTTPRING_OK
    );
}

/// A field of the /upload answer, as text.
fn field(body: &[u8], name: &str) -> String {
    let text = String::from_utf8_lossy(body);
    let key = format!("\"{name}\": ");
    let at = text
        .find(&key)
        .unwrap_or_else(|| panic!("{name} in {text}"))
        + key.len();
    let rest = &text[at..];
    let end = rest.find([',', '}']).unwrap();
    rest[..end].trim_matches('"').to_string()
}

fn h2c_client() -> Client {
    Client::with(|cfg| unsafe {
        assert_eq!(
            httpring_config_set_h2c_prior_knowledge(cfg, true),
            HTTPRING_OK
        );
    })
}

#[test]
fn a_callback_body_goes_chunked_with_a_known_length_or_as_http2_frames() {
    let srv = TestServer::start();
    let total = 3_000_000u64;
    let want = fnv((0..total).map(byte_at));
    for (h2, length) in [
        (false, -1i64),
        (false, total as i64),
        (true, -1),
        (true, total as i64),
    ] {
        let c = if h2 { h2c_client() } else { Client::new() };
        let mut s = Source::new(total, 10_000);
        let h = c
            .submit("POST", &srv.url("/upload"), |r| {
                with_source(r, &mut s, length)
            })
            .unwrap();
        assert_eq!(
            c.wait(h),
            httpring_state::HTTPRING_STATE_DONE,
            "{}",
            c.message(h)
        );
        let body = c.body(h);
        assert_eq!(
            c.response(h).status,
            200,
            "{}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(field(&body, "received"), total.to_string());
        assert_eq!(field(&body, "fnv"), want);
        assert_eq!(
            field(&body, "version"),
            if h2 { "HTTP/2.0" } else { "HTTP/1.1" }
        );
        let chunked = !h2 && length < 0;
        assert_eq!(
            field(&body, "chunked"),
            chunked.to_string(),
            "h2 {h2} length {length}"
        );
        let cl = if length < 0 {
            "null".to_string()
        } else {
            total.to_string()
        };
        assert_eq!(field(&body, "content_length"), cl);
        assert!(
            s.calls.load(Ordering::SeqCst) >= 300,
            "asked piece by piece"
        );
        c.free(h);
    }
}

#[test]
fn a_callback_that_is_not_ready_is_called_again_once_resumed() {
    let srv = TestServer::start();
    let c = Client::new();
    let mut s = Source::new(100_000, 7_000);
    s.pending_first = 3;
    // The handle is known only after submit: the resumes reach it through the pointer.
    let slot = Arc::new(AtomicU64::new(0));
    let ptr: *mut Source = &mut *s;
    let resume = s.resume.clone();
    let h = c
        .submit("PUT", &srv.url("/upload"), |r| {
            assert_eq!(
                unsafe { httpring_request_set_body_callback(r, Some(resume_cb), ptr.cast(), -1) },
                HTTPRING_OK
            );
        })
        .unwrap();
    slot.store(h, Ordering::SeqCst);
    resume.set((c.0 as usize, h)).unwrap();
    // Before the handle was stored the callback may have said "pending" with nobody to
    // resume it: resuming now is harmless.
    assert_eq!(httpring_handle_resume_body(c.0, h), HTTPRING_OK);
    assert_eq!(
        c.wait(h),
        httpring_state::HTTPRING_STATE_DONE,
        "{}",
        c.message(h)
    );
    assert_eq!(field(&c.body(h), "received"), "100000");
    assert!(s.calls.load(Ordering::SeqCst) > 3);
    // Finished: resume is refused with the request's end, and a write is not for it.
    assert_ne!(httpring_handle_resume_body(c.0, h), HTTPRING_OK);
    assert_eq!(write(&c, h, b"x").0, HTTPRING_ERR_INVALID_ARGUMENT);
    c.free(h);
}

unsafe extern "C" fn resume_cb(
    user_data: *mut c_void,
    buf: *mut u8,
    cap: usize,
    written: *mut usize,
) -> httpring_code {
    let s = unsafe { &*(user_data as *const Source) };
    if s.calls.load(Ordering::SeqCst) < s.pending_first && s.resume.get().is_none() {
        // Not yet resumable: count the call and say "pending" (the test resumes).
        s.calls.fetch_add(1, Ordering::SeqCst);
        return HTTPRING_PENDING;
    }
    unsafe { source_cb(user_data, buf, cap, written) }
}

#[test]
fn a_source_that_fails_or_breaks_its_length_fails_the_request_with_its_code() {
    let srv = TestServer::start();
    for h2 in [false, true] {
        let c = if h2 { h2c_client() } else { Client::new() };
        // The callback returns an error midway.
        let mut s = Source::new(1_000_000, 10_000);
        s.fail_at = Some(200_000);
        let h = c
            .submit("POST", &srv.url("/upload"), |r| with_source(r, &mut s, -1))
            .unwrap();
        assert_eq!(c.wait(h), httpring_state::HTTPRING_STATE_FAILED);
        assert_eq!(
            c.error(h),
            HTTPRING_ERR_BODY_SOURCE,
            "h2 {h2}: {}",
            c.message(h)
        );
        assert!(c.message(h).contains("callback"), "{}", c.message(h));
        c.free(h);
        // It ends before the length it declared.
        let mut s = Source::new(1_000, 100);
        let h = c
            .submit("POST", &srv.url("/upload"), |r| {
                with_source(r, &mut s, 5_000)
            })
            .unwrap();
        assert_eq!(c.wait(h), httpring_state::HTTPRING_STATE_FAILED);
        assert_eq!(
            c.error(h),
            HTTPRING_ERR_BODY_SOURCE,
            "h2 {h2}: {}",
            c.message(h)
        );
        assert!(
            c.message(h).contains("1000 of its 5000"),
            "{}",
            c.message(h)
        );
        c.free(h);
        // The client still works.
        assert_eq!(c.fetch(&srv.url("/hello")).0, 200);
    }
    // Bad arguments.
    let (m, u) = (c"POST", c"http://127.0.0.1:1/");
    let req = unsafe { httpring_request_new(m.as_ptr(), u.as_ptr()) };
    let mut x = 0u8;
    let p: *mut c_void = (&mut x as *mut u8).cast();
    assert_eq!(
        unsafe { httpring_request_set_body_callback(req, None, p, -1) },
        HTTPRING_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        unsafe { httpring_request_set_body_callback(req, Some(source_cb), p, -2) },
        HTTPRING_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        httpring_request_set_body_writer(req, -5),
        HTTPRING_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        httpring_request_set_body_fd(req, -1, -1),
        HTTPRING_ERR_INVALID_ARGUMENT
    );
    httpring_request_free(req);
    assert_eq!(
        httpring_request_set_body_writer(std::ptr::null_mut(), -1),
        HTTPRING_ERR_INVALID_ARGUMENT
    );
}

#[test]
fn the_callback_is_not_called_after_cancel_or_free_returns() {
    let srv = TestServer::start();
    let c = Client::new();
    for free in [false, true] {
        // A slow server: the body is asked for as it drains, so it is mid-way at the cancel.
        let mut s = Source::new(1 << 30, 64 << 10);
        let over = s.over.clone();
        let late = s.late_calls.clone();
        let h = c
            .submit("POST", &srv.url("/upload?pause_ms=5"), |r| {
                with_source(r, &mut s, -1)
            })
            .unwrap();
        let t = Instant::now();
        while s.calls.load(Ordering::SeqCst) < 5 && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(s.calls.load(Ordering::SeqCst) >= 5);
        if free {
            assert_eq!(c.free(h), HTTPRING_OK);
        } else {
            assert_eq!(httpring_handle_cancel(c.0, h), HTTPRING_OK);
        }
        over.store(true, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            late.load(Ordering::SeqCst),
            0,
            "called after the request ended"
        );
        if !free {
            assert_eq!(c.wait(h), httpring_state::HTTPRING_STATE_FAILED);
            assert_eq!(c.error(h), HTTPRING_ERR_CANCELLED);
            c.free(h);
        }
        drop(s);
    }
    assert_eq!(c.fetch(&srv.url("/hello")).0, 200);
}

/// Writes bytes `from..to` of the body through the handle; returns how many writes found no
/// room.
fn write_range(c: &Client, h: httpring_handle, from: u64, to: u64, piece: usize) -> usize {
    let (mut at, total) = (from, to);
    let mut full = 0;
    let mut buf = vec![0u8; piece];
    while at < total {
        let len = (total - at).min(piece as u64) as usize;
        for (i, b) in buf[..len].iter_mut().enumerate() {
            *b = byte_at(at + i as u64);
        }
        let (code, n) = write(c, h, &buf[..len]);
        match code {
            HTTPRING_OK => at += n as u64,
            HTTPRING_PENDING => {
                assert_eq!(n, 0);
                full += 1;
                assert_eq!(httpring_handle_wait_writable(c.0, h, 10_000), HTTPRING_OK);
            }
            other => panic!("write: {other:?}"),
        }
    }
    full
}

#[test]
fn a_written_body_is_held_back_by_a_slow_server_and_arrives_whole() {
    let srv = TestServer::start();
    for h2 in [false, true] {
        let c = Client::with(|cfg| unsafe {
            assert_eq!(
                httpring_config_set_stream_buffer(cfg, 64 << 10),
                HTTPRING_OK
            );
            if h2 {
                httpring_config_set_h2c_prior_knowledge(cfg, true);
            }
        });
        // The server reads nothing for a second: more than the socket buffers can take
        // (a send buffer of at most 4 MiB here) must find no room, however fast the server
        // reads afterwards. Pacing alone raced: a server that reads as fast as the producer
        // writes grows its receive window to fit the whole body.
        let total = 16_000_000u64;
        let h = c
            .submit("POST", &srv.url("/upload?hold_ms=1000"), |r| {
                assert_eq!(
                    httpring_request_set_body_writer(r, total as i64),
                    HTTPRING_OK
                );
            })
            .unwrap();
        let full = write_range(&c, h, 0, total - 10, 50_000);
        assert!(full > 0, "h2 {h2}: the producer was never told to wait");
        // Past the length: refused, nothing taken. (Checked before the body is whole: once
        // it is, the server may answer and end the request before a later write.)
        let (code, n) = write(&c, h, &[0; 11]);
        assert_eq!(
            (code, n),
            (HTTPRING_ERR_INVALID_ARGUMENT, 0),
            "{}",
            c.message(h)
        );
        write_range(&c, h, total - 10, total, 50_000);
        assert_eq!(httpring_handle_finish_body(c.0, h), HTTPRING_OK);
        assert_eq!(
            c.wait(h),
            httpring_state::HTTPRING_STATE_DONE,
            "{}",
            c.message(h)
        );
        let body = c.body(h);
        assert_eq!(field(&body, "received"), total.to_string());
        assert_eq!(field(&body, "fnv"), fnv((0..total).map(byte_at)));
        assert_eq!(field(&body, "content_length"), total.to_string());
        // Over: writes fail, finish too.
        assert_ne!(write(&c, h, b"x").0, HTTPRING_OK);
        c.free(h);
    }
}

#[test]
fn room_is_announced_once_through_the_completion_queue() {
    let srv = TestServer::start();
    let c = Client::with(|cfg| unsafe {
        assert_eq!(
            httpring_config_set_stream_buffer(cfg, 16 << 10),
            HTTPRING_OK
        );
    });
    let h = c
        .submit("POST", &srv.url("/upload?pause_ms=2"), |r| {
            assert_eq!(httpring_request_set_body_writer(r, -1), HTTPRING_OK);
        })
        .unwrap();
    let piece = vec![7u8; 64 << 10];
    let mut sent = 0u64;
    let mut writable_events = 0;
    let t = Instant::now();
    while sent < 2_000_000 && t.elapsed() < Duration::from_secs(20) {
        let (code, n) = write(&c, h, &piece);
        match code {
            HTTPRING_OK => sent += n as u64,
            HTTPRING_PENDING => {
                // Wait for the announcement through the queue (as an event loop would).
                let mut done = [httpring_completion {
                    struct_size: std::mem::size_of::<httpring_completion>() as u32,
                    ..unsafe { std::mem::zeroed() }
                }; 4];
                let mut got = 0;
                unsafe {
                    httpring_client_wait_drain(c.0, done.as_mut_ptr(), 4, 1, 5_000, &mut got)
                };
                assert_eq!(got, 1, "one announcement per write that found no room");
                assert_eq!(done[0].handle, h);
                assert_eq!(done[0].event, httpring_event::HTTPRING_EVENT_WRITABLE);
                writable_events += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(writable_events > 3, "{writable_events}");
    assert_eq!(httpring_handle_finish_body(c.0, h), HTTPRING_OK);
    assert_eq!(c.wait(h), httpring_state::HTTPRING_STATE_DONE);
    let body = c.body(h);
    assert_eq!(field(&body, "received"), sent.to_string());
    assert_eq!(field(&body, "chunked"), "true");
    c.free(h);
}

#[test]
fn a_body_sent_once_is_not_resent_by_retries_or_307_but_a_303_becomes_a_get() {
    let srv = TestServer::start();
    let c = Client::with(|cfg| unsafe {
        httpring_config_set_follow_redirects(cfg, true);
        httpring_config_set_retries(cfg, 3);
        httpring_config_set_retry_backoff_ms(cfg, 1, 1);
        let list = [503u16];
        httpring_config_set_retry_statuses(cfg, list.as_ptr(), 1);
    });
    // One piece: the server has the whole request before it answers (a server that answers
    // an HTTP/1.1 upload early and closes is a known limit: see the closing note).
    let run = |path: &str| {
        let mut s = Source::new(1_000, 1_000);
        let h = c
            .submit("POST", &srv.url(path), |r| with_source(r, &mut s, -1))
            .unwrap();
        assert_eq!(
            c.wait(h),
            httpring_state::HTTPRING_STATE_DONE,
            "{}",
            c.message(h)
        );
        let r = (c.response(h).status, c.body(h), attempts(&c, h));
        c.free(h);
        r
    };
    let (status, _, n) = run("/status/503");
    assert_eq!((status, n), (503, 1), "not retried");
    let (status, _, _) = run("/redirect-to?status=307&url=/upload");
    assert_eq!(
        status, 307,
        "a 307 keeps the body, which has gone: not followed"
    );
    let (status, body, _) = run("/redirect-to?status=303&url=/echo");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("\"method\": \"GET\""));
}

#[test]
fn a_file_descriptor_is_a_body_source() {
    let srv = TestServer::start();
    let c = Client::new();
    let path = std::env::temp_dir().join(format!("httpring-upload-{}", std::process::id()));
    let data: Vec<u8> = (0..500_000u64).map(byte_at).collect();
    std::fs::write(&path, &data).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    use std::os::fd::AsRawFd;
    let h = c
        .submit("PUT", &srv.url("/upload"), |r| {
            assert_eq!(
                httpring_request_set_body_fd(r, file.as_raw_fd(), data.len() as i64),
                HTTPRING_OK
            );
        })
        .unwrap();
    assert_eq!(
        c.wait(h),
        httpring_state::HTTPRING_STATE_DONE,
        "{}",
        c.message(h)
    );
    let body = c.body(h);
    assert_eq!(field(&body, "received"), "500000");
    assert_eq!(field(&body, "fnv"), fnv(data.iter().copied()));
    c.free(h);
    drop(file);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn finishing_short_of_the_length_fails_the_request_and_later_writes_say_why() {
    let srv = TestServer::start();
    let c = Client::new();
    let h = c
        .submit("POST", &srv.url("/upload"), |r| {
            assert_eq!(httpring_request_set_body_writer(r, 10), HTTPRING_OK);
        })
        .unwrap();
    assert_eq!(write(&c, h, b"abc"), (HTTPRING_OK, 3));
    assert_eq!(
        httpring_handle_finish_body(c.0, h),
        HTTPRING_ERR_BODY_SOURCE
    );
    assert_eq!(c.wait(h), httpring_state::HTTPRING_STATE_FAILED);
    assert_eq!(c.error(h), HTTPRING_ERR_BODY_SOURCE);
    assert!(c.message(h).contains("3 of its 10"), "{}", c.message(h));
    assert_eq!(write(&c, h, b"x").0, HTTPRING_ERR_BODY_SOURCE);
    c.free(h);
}

/// A paced producer: 16 KB per call, then "not yet" until a thread resumes it 100 ms later.
unsafe extern "C" fn paced_cb(
    user_data: *mut c_void,
    buf: *mut u8,
    cap: usize,
    written: *mut usize,
) -> httpring_code {
    let s = unsafe { &mut *(user_data as *mut Source) };
    if s.at >= s.total {
        unsafe { *written = 0 };
        return HTTPRING_OK;
    }
    if s.calls.fetch_add(1, Ordering::SeqCst) % 2 == 1 {
        if let Some(&(client, h)) = s.resume.get() {
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                httpring_handle_resume_body(client as *const httpring_client, h);
            });
        }
        return HTTPRING_PENDING;
    }
    let n = (s.total - s.at).min(cap.min(16_000) as u64) as usize;
    unsafe { std::slice::from_raw_parts_mut(buf, n).fill(b'p') };
    s.at += n as u64;
    unsafe { *written = n };
    HTTPRING_OK
}

#[test]
fn an_upload_longer_than_the_read_timeout_is_not_a_silent_server() {
    // A producer that takes 2 s, 100 ms between pieces, against a read timeout of 600 ms
    // (room for a loaded machine's stalls between pieces): the timeout runs from the last
    // piece sent, not from the start. A server that then says nothing still times out.
    let srv = TestServer::start();
    let c = Client::with(|cfg| unsafe {
        assert_eq!(httpring_config_set_read_timeout_ms(cfg, 600), HTTPRING_OK);
    });
    for (path, want) in [
        ("/upload", HTTPRING_OK),
        ("/delay/5000", HTTPRING_ERR_READ_TIMEOUT),
    ] {
        let mut s = Source::new(320_000, 16_000);
        let ptr: *mut Source = &mut *s;
        let resume = s.resume.clone();
        let t = Instant::now();
        let h = c
            .submit("POST", &srv.url(path), |r| {
                assert_eq!(
                    unsafe {
                        httpring_request_set_body_callback(r, Some(paced_cb), ptr.cast(), -1)
                    },
                    HTTPRING_OK
                );
            })
            .unwrap();
        resume.set((c.0 as usize, h)).unwrap();
        // A "not yet" said before the handle was known has nobody to resume it.
        assert_eq!(httpring_handle_resume_body(c.0, h), HTTPRING_OK);
        c.wait(h);
        assert_eq!(
            c.error(h),
            want,
            "{path}: {} after {:?}",
            c.message(h),
            t.elapsed()
        );
        assert!(
            t.elapsed() > Duration::from_millis(1500),
            "{:?}",
            t.elapsed()
        );
        if want == HTTPRING_OK {
            assert_eq!(field(&c.body(h), "received"), "320000");
        }
        c.free(h);
        // Its resumer threads may still call: keep the source alive past them.
        std::thread::sleep(Duration::from_millis(150));
        drop(s);
    }
}
