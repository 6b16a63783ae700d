//! Shared helpers for the integration tests: an in-process test server and thin wrappers
//! over the C functions, so each test reads as what it checks.

#![allow(dead_code)]

#[path = "../support/server.rs"]
pub mod server;

use std::ffi::CString;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use httpring::ffi::*;

pub struct TestServer {
    pub base: String,
    pub stats: Arc<server::Stats>,
    _rt: tokio::runtime::Runtime,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::with_options(server::Options::default())
    }

    pub fn with_options(opts: server::Options) -> TestServer {
        Self::with_stats(opts, Arc::default())
    }

    /// A server counting into `stats` (shared by several servers to count across them).
    pub fn with_stats(opts: server::Options, stats: Arc<server::Stats>) -> TestServer {
        let (rt, listener, port) = server_runtime();
        rt.spawn(server::serve(listener, Arc::new(opts), stats.clone()));
        TestServer {
            base: format!("http://127.0.0.1:{port}"),
            stats,
            _rt: rt,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn connections(&self) -> usize {
        self.stats.connections.load(Ordering::SeqCst)
    }
}

pub struct Client(pub *mut httpring_client);

// The pointer is an id the library validates; sharing it across threads is the point.
unsafe impl Send for Client {}
unsafe impl Sync for Client {}

impl Client {
    pub fn new() -> Client {
        Client(unsafe { httpring_client_new(std::ptr::null()) })
    }

    pub fn with(configure: impl FnOnce(*mut httpring_config)) -> Client {
        let cfg = httpring_config_new();
        configure(cfg);
        let c = unsafe { httpring_client_new(cfg) };
        httpring_config_free(cfg);
        assert!(!c.is_null());
        Client(c)
    }

    pub fn get(&self, url: &str) -> httpring_handle {
        self.get_ud(url, 0)
    }

    pub fn get_ud(&self, url: &str, user_data: u64) -> httpring_handle {
        let url = CString::new(url).unwrap();
        let mut h = 0;
        let code = unsafe { httpring_client_get(self.0, url.as_ptr(), user_data, &mut h) };
        assert_eq!(code, httpring_code::HTTPRING_OK, "submit {url:?}");
        h
    }

    /// Submits via the request builder, letting the caller adjust it.
    pub fn submit(
        &self,
        method: &str,
        url: &str,
        build: impl FnOnce(*mut httpring_request),
    ) -> Result<httpring_handle, httpring_code> {
        let (m, u) = (CString::new(method).unwrap(), CString::new(url).unwrap());
        let req = unsafe { httpring_request_new(m.as_ptr(), u.as_ptr()) };
        assert!(!req.is_null());
        build(req);
        let mut h = 0;
        match unsafe { httpring_client_submit(self.0, req, &mut h) } {
            httpring_code::HTTPRING_OK => Ok(h),
            code => Err(code),
        }
    }

    pub fn wait(&self, h: httpring_handle) -> httpring_state {
        let mut state = httpring_state::HTTPRING_STATE_PENDING;
        let code = unsafe { httpring_handle_wait(self.0, h, 30_000, &mut state) };
        assert_eq!(code, httpring_code::HTTPRING_OK, "wait");
        state
    }

    pub fn error(&self, h: httpring_handle) -> httpring_code {
        httpring_handle_error(self.0, h)
    }

    pub fn message(&self, h: httpring_handle) -> String {
        let mut buf = vec![0u8; 512];
        let mut len = 0;
        let code = unsafe {
            httpring_handle_error_message(self.0, h, buf.as_mut_ptr().cast(), buf.len(), &mut len)
        };
        assert_eq!(code, httpring_code::HTTPRING_OK);
        String::from_utf8_lossy(&buf[..len.min(511)]).into_owned()
    }

    pub fn response(&self, h: httpring_handle) -> httpring_response {
        let mut r = httpring_response::default();
        let code = unsafe { httpring_handle_response(self.0, h, &mut r) };
        assert_eq!(
            code,
            httpring_code::HTTPRING_OK,
            "response: {}",
            self.message(h)
        );
        r
    }

    pub fn body(&self, h: httpring_handle) -> Vec<u8> {
        let r = self.response(h);
        unsafe { std::slice::from_raw_parts(r.body, r.body_len) }.to_vec()
    }

    pub fn header(&self, h: httpring_handle, name: &str, nth: usize) -> Option<String> {
        let name = CString::new(name).unwrap();
        let (mut p, mut n) = (std::ptr::null(), 0);
        match unsafe { httpring_response_header(self.0, h, name.as_ptr(), nth, &mut p, &mut n) } {
            httpring_code::HTTPRING_OK => Some(
                String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(p, n) }).into_owned(),
            ),
            httpring_code::HTTPRING_ERR_NOT_FOUND => None,
            other => panic!("header lookup: {other:?}"),
        }
    }

    pub fn free(&self, h: httpring_handle) -> httpring_code {
        httpring_handle_free(self.0, h)
    }

    /// GET, wait, return (status, body), free.
    pub fn fetch(&self, url: &str) -> (u16, Vec<u8>) {
        let h = self.get(url);
        assert_eq!(
            self.wait(h),
            httpring_state::HTTPRING_STATE_DONE,
            "{url}: {}",
            self.message(h)
        );
        let out = (self.response(h).status, self.body(h));
        assert_eq!(self.free(h), httpring_code::HTTPRING_OK);
        out
    }

    /// The client's counters.
    pub fn stats(&self) -> httpring_stats {
        let mut s = httpring_stats::default();
        assert_eq!(
            unsafe { httpring_client_stats(self.0, &mut s) },
            httpring_code::HTTPRING_OK
        );
        s
    }

    /// The pooled connections once they reach `want`, or after 5 s what there are: a
    /// connection goes back to the pool just after its request completes, not before.
    pub fn pooled(&self, want: usize) -> usize {
        let t = std::time::Instant::now();
        loop {
            let n = self.stats().pooled_connections;
            if n == want || t.elapsed() > std::time::Duration::from_secs(5) {
                return n;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    pub fn live(&self) -> usize {
        let mut n = usize::MAX;
        assert_eq!(
            unsafe { httpring_client_live_handles(self.0, &mut n) },
            httpring_code::HTTPRING_OK
        );
        n
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        httpring_client_free(self.0);
    }
}

/// Milliseconds since `t`.
/// A one-worker runtime for a test's own server, with a listener on 127.0.0.1 made in it,
/// and its port. Keep the runtime alive as long as the server is needed.
pub fn server_runtime() -> (tokio::runtime::Runtime, tokio::net::TcpListener, u16) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    (rt, listener, port)
}

pub fn ms_since(t: std::time::Instant) -> u128 {
    t.elapsed().as_millis()
}

pub const SECOND: Duration = Duration::from_secs(1);

/// A raw TCP server on 127.0.0.1 that answers every connection's first request with the
/// same bytes, then closes: for responses no HTTP server library would send.
pub fn canned_server(response: &'static [u8]) -> String {
    canned_server_paced(response, Duration::ZERO)
}

/// [`canned_server`] writing one byte every `gap` (a trickling server).
pub fn canned_server_paced(response: &'static [u8], gap: Duration) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                if gap.is_zero() {
                    let _ = s.write_all(response);
                } else {
                    let _ = s.set_nodelay(true);
                    for b in response {
                        if s.write_all(std::slice::from_ref(b)).is_err() {
                            return;
                        }
                        std::thread::sleep(gap);
                    }
                }
                let _ = s.flush();
                std::thread::sleep(std::time::Duration::from_millis(100));
            });
        }
    });
    format!("http://127.0.0.1:{port}/")
}

/// Attempts a request made (1, or more when retried), from `httpring_handle_info`.
pub fn attempts(c: &Client, h: httpring_handle) -> u32 {
    let mut info = httpring_info::default();
    assert_eq!(
        unsafe { httpring_handle_info(c.0, h, &mut info) },
        httpring_code::HTTPRING_OK
    );
    info.attempts
}
