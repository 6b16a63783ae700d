//! The C API driven by machine-made call sequences: the input is a program of calls on up to
//! three clients (made, freed, and made up), their requests and handles (live, completed,
//! cancelled, freed, stale, foreign, made up), against a server on 127.0.0.1 in this process
//! that answers at once, streams slowly, never answers, or resets. Whatever the order, no
//! call crashes or panics, each returns a code the header lists for it, and every request
//! announces its completion (`DONE` or `HEAD`) at most once; at the end each handle still
//! held completes within its timeout and has announced it exactly once.
#![no_main]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use httpring::ffi::*;
use libfuzzer_sys::fuzz_target;

/// Paths the server knows; anything else gets a short 200.
const PATHS: [&str; 5] = ["/ok", "/stream", "/hang", "/reset", "/big"];

/// Reads one request head (and a body announced by Content-Length, or a chunked one up to
/// its end), then answers as its path says.
fn serve(mut s: TcpStream) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let mut rest = buf.split_off(end + 4);
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok());
        let chunked = head.contains("transfer-encoding: chunked");
        // The body, read and dropped (a chunked one until its last chunk).
        loop {
            let done = match length {
                Some(n) => rest.len() >= n,
                None if chunked => rest.windows(5).any(|w| w == b"0\r\n\r\n"),
                None => true,
            };
            if done {
                break;
            }
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => rest.extend_from_slice(&chunk[..n]),
            }
        }
        if let Some(n) = length {
            rest.drain(..n.min(rest.len()));
        } else if chunked {
            rest.clear();
        }
        buf = rest;
        let path = head.split(' ').nth(1).unwrap_or("/");
        let ok = match path {
            "/stream" => {
                let mut ok = s
                    .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                    .is_ok();
                for _ in 0..4 {
                    std::thread::sleep(Duration::from_millis(5));
                    ok &= s.write_all(b"400\r\n").is_ok();
                    ok &= s.write_all(&[b'x'; 0x400]).is_ok();
                    ok &= s.write_all(b"\r\n").is_ok();
                }
                ok && s.write_all(b"0\r\n\r\n").is_ok()
            }
            "/big" => {
                let mut r = b"HTTP/1.1 200 OK\r\ncontent-length: 262144\r\n\r\n".to_vec();
                r.resize(r.len() + 262_144, b'y');
                s.write_all(&r).is_ok()
            }
            "/hang" => {
                std::thread::sleep(Duration::from_secs(1));
                return;
            }
            "/reset" => {
                let _ = socket_reset(&s);
                return;
            }
            _ => s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .is_ok(),
        };
        if !ok {
            return;
        }
    }
}

/// Closes with a reset (SO_LINGER 0) instead of a FIN.
fn socket_reset(s: &TcpStream) -> std::io::Result<()> {
    let sock = socket2::SockRef::from(s);
    sock.set_linger(Some(Duration::ZERO))?;
    sock.shutdown(std::net::Shutdown::Both)
}

static BASE: LazyLock<String> = LazyLock::new(|| {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            std::thread::spawn(move || serve(s));
        }
    });
    base
});

/// The input, read a byte or a number at a time; zeros once it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |v, _| (v << 8) | u64::from(self.byte()))
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = (self.byte() as usize).min(max).min(self.0.len());
        let (b, rest) = self.0.split_at(n);
        self.0 = rest;
        b.to_vec()
    }
    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

/// A client as the program knows it: freed ones stay listed (their pointer is stale).
struct ClientSlot {
    ptr: *mut httpring_client,
    live: bool,
}

struct HandleSlot {
    client: usize,
    h: httpring_handle,
    freed: bool,
    streamed: bool,
    /// DONE or HEAD completions drained for it.
    announced: u32,
}

#[derive(Default)]
struct World {
    clients: Vec<ClientSlot>,
    handles: Vec<HandleSlot>,
}

fn ok_or(code: httpring_code, allowed: &[httpring_code], what: &str) {
    assert!(
        code == httpring_code::HTTPRING_OK || allowed.contains(&code),
        "{what}: unexpected {code:?}"
    );
}

use httpring_code::*;

/// Codes any handle call may give for a client or handle that is not (or no longer) right.
const MISUSE: [httpring_code; 5] = [
    HTTPRING_ERR_INVALID_ARGUMENT,
    HTTPRING_ERR_INVALID_HANDLE,
    HTTPRING_ERR_FOREIGN_HANDLE,
    HTTPRING_ERR_CLIENT_CLOSED,
    HTTPRING_PENDING,
];

impl World {
    fn new_client(&mut self, input: &mut Input) {
        if self.clients.iter().filter(|c| c.live).count() >= 3 {
            return;
        }
        let flags = input.byte();
        unsafe {
            let cfg = httpring_config_new();
            httpring_config_set_use_env_proxy(cfg, false);
            httpring_config_set_timeout_ms(cfg, 300);
            httpring_config_set_connect_timeout_ms(cfg, 200);
            if flags & 1 != 0 {
                httpring_config_set_max_in_flight(cfg, 1 + usize::from(flags >> 5));
            }
            if flags & 2 != 0 {
                httpring_config_set_max_connections_per_host(cfg, 1);
            }
            if flags & 4 != 0 {
                httpring_config_set_stream_buffer(cfg, 1024);
            }
            if flags & 8 != 0 {
                httpring_config_set_wait_drives_io(cfg, false);
            }
            let c = httpring_client_new(cfg);
            httpring_config_free(cfg);
            // A second free of the config does nothing.
            httpring_config_free(cfg);
            assert!(!c.is_null(), "httpring_client_new");
            self.clients.push(ClientSlot { ptr: c, live: true });
        }
    }

    /// A client pointer: one the program made (live or freed), or one made up.
    fn pick_client(&self, input: &mut Input) -> (Option<usize>, *mut httpring_client) {
        let b = input.byte();
        if b == 0xff || self.clients.is_empty() {
            return (None, (input.u64() as usize) as *mut httpring_client);
        }
        let i = b as usize % self.clients.len();
        (Some(i), self.clients[i].ptr)
    }

    /// A handle: one the program got (on its own client or another), or one made up.
    fn pick_handle(&self, input: &mut Input) -> (Option<usize>, *mut httpring_client, httpring_handle) {
        let b = input.byte();
        if b == 0xff || self.handles.is_empty() {
            let (_, c) = self.pick_client(input);
            return (None, c, input.u64());
        }
        let i = b as usize % self.handles.len();
        let slot = &self.handles[i];
        let c = if b & 0x80 != 0 {
            self.pick_client(input).1 // maybe a foreign client
        } else {
            self.clients[slot.client].ptr
        };
        (Some(i), c, slot.h)
    }

    fn submit(&mut self, input: &mut Input) {
        let (ci, c) = self.pick_client(input);
        let flags = input.byte();
        let path = PATHS[flags as usize % PATHS.len()];
        let method = if flags & 0x08 != 0 { c"POST" } else { c"GET" };
        let url = std::ffi::CString::new(format!("{}{path}", *BASE)).unwrap();
        let streamed = flags & 0x10 != 0;
        let writer = flags & 0x20 != 0;
        unsafe {
            let req = httpring_request_new(method.as_ptr(), url.as_ptr());
            assert!(!req.is_null());
            let name = input.bytes(16);
            let value = input.bytes(16);
            // Any bytes (none: no header): a bad one is refused here or at submit with a
            // code, never sent broken.
            if !name.is_empty() {
                let _ = httpring_request_add_header_bytes(
                    req,
                    name.as_ptr(),
                    name.len(),
                    value.as_ptr(),
                    value.len(),
                );
            }
            if streamed {
                ok_or(httpring_request_set_stream(req, true), &[], "set_stream");
            }
            if writer {
                let len = if flags & 0x40 != 0 { -1 } else { 8 };
                ok_or(httpring_request_set_body_writer(req, len), &[], "set_body_writer");
            } else if flags & 0x08 != 0 {
                let body = input.bytes(64);
                ok_or(
                    httpring_request_set_body(req, body.as_ptr(), body.len()),
                    &[],
                    "set_body",
                );
            }
            if flags & 0x80 != 0 {
                ok_or(httpring_request_set_timeout_ms(req, 50), &[], "set_timeout");
            }
            let mut h: httpring_handle = 0;
            let code = httpring_client_submit(c, req, &mut h);
            // The request is consumed whatever the answer: a second submit or free of it
            // is refused or does nothing.
            let mut h2: httpring_handle = 0;
            assert_ne!(httpring_client_submit(c, req, &mut h2), HTTPRING_OK);
            assert_eq!(h2, 0, "a second submit wrote a handle");
            httpring_request_free(req);
            match (code, ci) {
                (HTTPRING_OK, Some(ci)) => self.handles.push(HandleSlot {
                    client: ci,
                    h,
                    freed: false,
                    streamed,
                    announced: 0,
                }),
                (HTTPRING_OK, None) => panic!("a made-up client took a request"),
                _ => {}
            }
        }
    }

    fn drain(&mut self, ci: usize, wait_ms: i64) {
        let c = self.clients[ci].ptr;
        let mut out = [httpring_completion::default(); 8];
        let mut n = 0usize;
        let code = unsafe {
            if wait_ms > 0 {
                httpring_client_wait_drain(c, out.as_mut_ptr(), out.len(), 1, wait_ms, &mut n)
            } else {
                httpring_client_drain(c, out.as_mut_ptr(), out.len(), &mut n)
            }
        };
        ok_or(code, &[HTTPRING_ERR_CLIENT_CLOSED, HTTPRING_PENDING], "drain");
        for done in &out[..n] {
            if !matches!(
                done.event,
                httpring_event::HTTPRING_EVENT_DONE | httpring_event::HTTPRING_EVENT_HEAD
            ) {
                continue;
            }
            let slot = self
                .handles
                .iter_mut()
                .find(|s| s.client == ci && s.h == done.handle)
                .expect("a completion for a handle this client never gave");
            assert!(!slot.freed, "a completion for a freed handle");
            slot.announced += 1;
            assert_eq!(slot.announced, 1, "completed twice: {done:?}");
        }
    }

    fn step(&mut self, input: &mut Input) {
        match input.byte() % 14 {
            0 => self.new_client(input),
            1 => {
                let (ci, c) = self.pick_client(input);
                let code = httpring_client_free(c);
                match ci {
                    Some(ci) if self.clients[ci].live => {
                        ok_or(code, &[], "client_free");
                        self.clients[ci].live = false;
                        // Its handles went with it.
                        for s in self.handles.iter_mut().filter(|s| s.client == ci) {
                            s.freed = true;
                        }
                    }
                    _ => ok_or(code, &[HTTPRING_ERR_CLIENT_CLOSED, HTTPRING_ERR_INVALID_ARGUMENT], "client_free again"),
                }
            }
            2..=4 => self.submit(input),
            5 => {
                let (_, c, h) = self.pick_handle(input);
                let mut state = httpring_state::HTTPRING_STATE_PENDING;
                ok_or(unsafe { httpring_handle_poll(c, h, &mut state) }, &MISUSE, "poll");
            }
            6 => {
                let (_, c, h) = self.pick_handle(input);
                let ms = i64::from(input.byte() % 20);
                let mut state = httpring_state::HTTPRING_STATE_PENDING;
                ok_or(unsafe { httpring_handle_wait(c, h, ms, &mut state) }, &MISUSE, "wait");
            }
            7 => {
                let (_, c, h) = self.pick_handle(input);
                ok_or(httpring_handle_cancel(c, h), &MISUSE, "cancel");
            }
            8 => {
                let (i, c, h) = self.pick_handle(input);
                let code = httpring_handle_free(c, h);
                ok_or(code, &MISUSE, "free");
                if code == HTTPRING_OK {
                    let i = i.expect("a made-up handle was freed");
                    assert!(!self.handles[i].freed, "freed twice");
                    self.handles[i].freed = true;
                }
            }
            9 => {
                if let (Some(ci), _) = self.pick_client(input) {
                    let ms = i64::from(input.byte() % 4) * 5;
                    self.drain(ci, ms);
                }
            }
            10 => {
                let (_, c, h) = self.pick_handle(input);
                let mut buf = vec![0u8; 1 + input.byte() as usize * 64];
                let mut n = 0usize;
                let code = unsafe { httpring_handle_read(c, h, buf.as_mut_ptr(), buf.len(), &mut n) };
                // Any request error is a possible answer too.
                let _ = code;
                assert!(n <= buf.len());
            }
            11 => {
                let (_, c, h) = self.pick_handle(input);
                let mut r = httpring_response::default();
                if unsafe { httpring_handle_response(c, h, &mut r) } == HTTPRING_OK {
                    let mut data: *const u8 = std::ptr::null();
                    let mut len = 0usize;
                    ok_or(unsafe { httpring_response_body(c, h, &mut data, &mut len) }, &[], "body");
                    assert_eq!(len, r.body_len);
                    if len > 0 {
                        // Readable until the handle is freed.
                        let body = unsafe { std::slice::from_raw_parts(data, len) };
                        // One of the server's answers, whole.
                        assert!(
                            body == b"ok"
                                || (body.len() == 4 * 0x400 && body.iter().all(|&b| b == b'x'))
                                || (body.len() == 262_144 && body.iter().all(|&b| b == b'y')),
                            "a body the server never sent ({} bytes)",
                            body.len()
                        );
                    }
                }
                let mut msg = [0 as std::ffi::c_char; 8];
                let cap = input.byte() as usize % (msg.len() + 1);
                let mut len = 0usize;
                let _ = unsafe {
                    httpring_handle_error_message(c, h, msg.as_mut_ptr(), cap, &mut len)
                };
                let mut info = httpring_info::default();
                let _ = unsafe { httpring_handle_info(c, h, &mut info) };
            }
            12 => {
                let (_, c, h) = self.pick_handle(input);
                let data = input.bytes(16);
                let mut written = 0usize;
                let _ = unsafe { httpring_handle_write(c, h, data.as_ptr(), data.len(), &mut written) };
                assert!(written <= data.len());
                if input.byte() & 1 != 0 {
                    let _ = httpring_handle_finish_body(c, h);
                }
            }
            _ => {
                // Several handles at once, some of them maybe twice or made up.
                let picks: Vec<_> = (0..1 + input.byte() % 4).map(|_| self.pick_handle(input)).collect();
                let Some(&(_, c, _)) = picks.first() else { return };
                let hs: Vec<httpring_handle> = picks.iter().map(|p| p.2).collect();
                let mut index = usize::MAX;
                let code = unsafe { httpring_handle_wait_any(c, hs.as_ptr(), hs.len(), 0, &mut index) };
                ok_or(code, &MISUSE, "wait_any");
            }
        }
    }

    /// Every handle still held (on a live client, not freed) completes within its timeout and
    /// announced it exactly once; then the clients are freed.
    fn finish(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        for ci in 0..self.clients.len() {
            if !self.clients[ci].live {
                continue;
            }
            while self
                .handles
                .iter()
                .any(|s| s.client == ci && !s.freed && s.announced == 0)
            {
                assert!(Instant::now() < deadline, "a request never completed");
                self.drain(ci, 50);
            }
            let c = self.clients[ci].ptr;
            // Streamed bodies: read to their end or error, so a stream never blocks the free.
            for s in self.handles.iter().filter(|s| s.client == ci && !s.freed && s.streamed) {
                let mut buf = [0u8; 4096];
                let mut n = 0usize;
                while unsafe { httpring_handle_read(c, s.h, buf.as_mut_ptr(), buf.len(), &mut n) } == HTTPRING_OK && n > 0 {}
            }
            ok_or(httpring_client_free(c), &[], "final client_free");
            self.clients[ci].live = false;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut world = World::default();
    let mut steps = 0;
    while !input.done() && steps < 64 {
        world.step(&mut input);
        steps += 1;
    }
    world.finish();
    if std::env::var_os("C_API_TRACE").is_some() {
        let done = world.handles.iter().filter(|s| s.announced == 1).count();
        eprintln!("clients {} handles {} announced {done}", world.clients.len(), world.handles.len());
    }
});
