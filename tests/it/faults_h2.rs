//! HTTP/2 servers that misbehave on purpose: `GOAWAY` with streams in flight (graceful, with an
//! error code, with the connection dropped), `RST_STREAM` on one stream mid-response, a
//! flow-control window the server stops granting, a response that stops mid-body.
//!
//! The server here writes HTTP/2 frames itself, so a test decides exactly which streams a
//! `GOAWAY` covers and when each frame goes out (h2's server sets `GOAWAY`'s last stream to the
//! last one it read, whatever the application did with it). It needs no HPACK decoder: it
//! never reads request headers (a `GET` is a `HEADERS` frame that ends its stream, a `POST` one
//! followed by `DATA`), and answers with `:status: 200` from HPACK's static table. A `POST`'s
//! body names the request, so the server's list of what it processed shows each request once.

use crate::common;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use httpring::ffi::*;
use httpring_code::*;
use httpring_state::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// Frame types, flags and error codes (RFC 9113 §6, §7).
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const WINDOW_UPDATE: u8 = 0x8;
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const NO_ERROR: u32 = 0x0;
const PROTOCOL_ERROR: u32 = 0x1;
const REFUSED_STREAM: u32 = 0x7;
const CANCEL: u32 = 0x8;
const ENHANCE_YOUR_CALM: u32 = 0xb;

/// What a server's connections saw, for the test to check.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    /// Requests received whole (head and body), on all connections.
    requests: AtomicUsize,
    /// One entry per request the server processed: its body (`POST`) or "GET".
    processed: Mutex<Vec<String>>,
    /// Streams the client opened on a connection after that connection's `GOAWAY`.
    after_goaway: AtomicUsize,
    /// Set by the test to let a script that holds back go on.
    release: AtomicBool,
}

#[derive(Default)]
struct Stream {
    body: Vec<u8>,
    get: bool,
    complete: bool,
    taken: bool,
}

/// One server connection, driven by a test's script.
struct H2 {
    io: TcpStream,
    /// Bytes read and not yet parsed (reads go through it so a read can be cancelled safely).
    buf: Vec<u8>,
    /// Which connection of the server (0 for the first).
    conn: usize,
    seen: Arc<Seen>,
    streams: BTreeMap<u32, Stream>,
    /// The last stream id of the `GOAWAY` sent, if one was.
    goaway: Option<u32>,
    /// Grant back the window that request bodies use (off: the client's uploads stall).
    grant: bool,
}

impl H2 {
    async fn start(mut io: TcpStream, conn: usize, seen: Arc<Seen>) -> Option<H2> {
        let mut preface = [0u8; 24];
        io.read_exact(&mut preface).await.ok()?;
        assert_eq!(&preface, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        let mut h2 = H2 {
            io,
            buf: Vec::new(),
            conn,
            seen,
            streams: BTreeMap::new(),
            goaway: None,
            grant: true,
        };
        h2.send(SETTINGS, 0, 0, &[]).await;
        Some(h2)
    }

    async fn send(&mut self, kind: u8, flags: u8, id: u32, payload: &[u8]) {
        let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
        f.extend_from_slice(&[kind, flags]);
        f.extend_from_slice(&id.to_be_bytes());
        f.extend_from_slice(payload);
        let _ = self.io.write_all(&f).await;
    }

    /// The next frame (type, flags, stream, payload); None when the client closed.
    async fn frame(&mut self) -> Option<(u8, u8, u32, Vec<u8>)> {
        loop {
            if self.buf.len() >= 9 {
                let len = u32::from_be_bytes([0, self.buf[0], self.buf[1], self.buf[2]]) as usize;
                if self.buf.len() >= 9 + len {
                    let f: Vec<u8> = self.buf.drain(..9 + len).collect();
                    let id = u32::from_be_bytes([f[5], f[6], f[7], f[8]]) & 0x7fff_ffff;
                    return Some((f[3], f[4], id, f[9..].to_vec()));
                }
            }
            let mut chunk = [0u8; 16384];
            match self.io.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Reads one frame and does what it asks; false when the client closed.
    async fn pump(&mut self) -> bool {
        let Some((kind, flags, id, mut p)) = self.frame().await else {
            return false;
        };
        match kind {
            SETTINGS if flags & ACK == 0 => self.send(SETTINGS, ACK, 0, &[]).await,
            PING if flags & ACK == 0 => self.send(PING, ACK, 0, &p).await,
            HEADERS => {
                if self.goaway.is_some_and(|last| id > last) {
                    // Ignored, as RFC 9113 §6.8 says: the client must send it again elsewhere.
                    self.seen.after_goaway.fetch_add(1, Ordering::SeqCst);
                    return true;
                }
                let end = flags & END_STREAM != 0;
                self.streams.insert(
                    id,
                    Stream {
                        get: end,
                        complete: end,
                        ..Stream::default()
                    },
                );
                if end {
                    self.seen.requests.fetch_add(1, Ordering::SeqCst);
                }
            }
            DATA => {
                if flags & PADDED != 0 {
                    let pad = p.remove(0) as usize;
                    p.truncate(p.len() - pad);
                }
                if self.grant && !p.is_empty() {
                    let n = (p.len() as u32).to_be_bytes();
                    self.send(WINDOW_UPDATE, 0, 0, &n).await;
                    self.send(WINDOW_UPDATE, 0, id, &n).await;
                }
                let Some(s) = self.streams.get_mut(&id) else {
                    return true;
                };
                s.body.extend_from_slice(&p);
                if flags & END_STREAM != 0 {
                    s.complete = true;
                    self.seen.requests.fetch_add(1, Ordering::SeqCst);
                }
            }
            _ => {}
        }
        true
    }

    /// Requests received whole and not yet taken, lowest stream first.
    fn ready(&mut self) -> Vec<u32> {
        let ids: Vec<u32> = self
            .streams
            .iter()
            .filter(|(_, s)| s.complete && !s.taken)
            .map(|(id, _)| *id)
            .collect();
        for id in &ids {
            self.streams.get_mut(id).unwrap().taken = true;
        }
        ids
    }

    /// Waits until `n` requests have arrived whole; their stream ids, lowest first.
    async fn requests(&mut self, n: usize) -> Vec<u32> {
        while self
            .streams
            .values()
            .filter(|s| s.complete && !s.taken)
            .count()
            < n
        {
            if !self.pump().await {
                break;
            }
        }
        let mut ids = self.ready();
        ids.truncate(n);
        ids
    }

    /// Records the request on stream `id` as processed; what it was.
    fn process(&mut self, id: u32) -> String {
        let s = &self.streams[&id];
        let what = if s.get {
            "GET".to_string()
        } else {
            String::from_utf8_lossy(&s.body).into_owned()
        };
        self.seen.processed.lock().unwrap().push(what.clone());
        what
    }

    /// A response head: `:status: 200` (HPACK static table entry 8).
    async fn head(&mut self, id: u32) {
        self.send(HEADERS, END_HEADERS, id, &[0x88]).await;
    }

    /// Processes the request on `id` and answers "c<conn>s<id>:<what it was>".
    async fn answer(&mut self, id: u32) {
        let what = self.process(id);
        let body = format!("c{}s{id}:{what}", self.conn);
        self.head(id).await;
        // In frames no larger than the client's maximum (16 KiB unless it says otherwise).
        let mut chunks = body.as_bytes().chunks(16384).peekable();
        while let Some(chunk) = chunks.next() {
            let flags = if chunks.peek().is_none() {
                END_STREAM
            } else {
                0
            };
            self.send(DATA, flags, id, chunk).await;
        }
    }

    async fn go_away(&mut self, last: u32, code: u32) {
        let mut p = last.to_be_bytes().to_vec();
        p.extend_from_slice(&code.to_be_bytes());
        self.goaway = Some(last);
        self.send(GOAWAY, 0, 0, &p).await;
    }

    async fn reset(&mut self, id: u32, code: u32) {
        self.send(RST_STREAM, 0, id, &code.to_be_bytes()).await;
    }

    /// Answers every request as it arrives whole, until the client closes.
    async fn serve(mut self) {
        loop {
            for id in self.ready() {
                self.answer(id).await;
            }
            if !self.pump().await {
                return;
            }
        }
    }

    /// Reads (answering nothing) for `d`, or until the client closes.
    async fn idle(&mut self, d: Duration) {
        let _ = tokio::time::timeout(d, async { while self.pump().await {} }).await;
    }

    /// Reads (answering nothing) until the test sets `release` (at most 20 s).
    async fn hold(&mut self) {
        let t = Instant::now();
        while !self.seen.release.load(Ordering::SeqCst) && t.elapsed() < 20 * SECOND {
            self.idle(Duration::from_millis(10)).await;
        }
    }

    /// Closes with a TCP reset instead of a FIN.
    fn reset_connection(self) {
        #[allow(deprecated)]
        let _ = self.io.set_linger(Some(Duration::ZERO));
    }
}

struct Server {
    port: u16,
    seen: Arc<Seen>,
    _rt: tokio::runtime::Runtime,
}

impl Server {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    fn processed(&self) -> Vec<String> {
        let mut p = self.seen.processed.lock().unwrap().clone();
        p.sort();
        p
    }
}

/// A server on 127.0.0.1 running `script` for each connection.
fn server<F>(script: impl Fn(H2) -> F + Send + Sync + 'static) -> Server
where
    F: Future<Output = ()> + Send + 'static,
{
    let (rt, listener, port) = server_runtime();
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    let script = Arc::new(script);
    rt.spawn(async move {
        while let Ok((io, _)) = listener.accept().await {
            let _ = io.set_nodelay(true);
            let conn = s.connections.fetch_add(1, Ordering::SeqCst);
            let (seen, script) = (s.clone(), script.clone());
            tokio::spawn(async move {
                if let Some(h2) = H2::start(io, conn, seen).await {
                    script(h2).await;
                }
            });
        }
    });
    Server {
        port,
        seen,
        _rt: rt,
    }
}

/// A client speaking HTTP/2 without TLS, with its read timeout and whatever `more` sets.
fn h2c(read_timeout_ms: u64, more: impl FnOnce(*mut httpring_config)) -> Client {
    Client::with(|cfg| unsafe {
        assert_eq!(
            httpring_config_set_h2c_prior_knowledge(cfg, true),
            HTTPRING_OK
        );
        assert_eq!(
            httpring_config_set_read_timeout_ms(cfg, read_timeout_ms),
            HTTPRING_OK
        );
        more(cfg);
    })
}

fn post(c: &Client, url: &str, body: &[u8]) -> httpring_handle {
    c.submit("POST", url, |r| unsafe {
        assert_eq!(
            httpring_request_set_body(r, body.as_ptr(), body.len()),
            HTTPRING_OK
        );
    })
    .unwrap()
}

/// Waits (at most 10 s) until `cond` holds.
fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < 10 * SECOND, "waited 10 s for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn state(c: &Client, h: httpring_handle) -> httpring_state {
    let mut s = HTTPRING_STATE_PENDING;
    assert_eq!(unsafe { httpring_handle_poll(c.0, h, &mut s) }, HTTPRING_OK);
    s
}

/// Requests sent together: every other one a `GET`, the rest `POST`s whose body names them
/// (`<tag>-<i>`). Each with what the server will record for it.
fn wave(c: &Client, url: &str, tag: &str, n: usize, gets: bool) -> Vec<(httpring_handle, String)> {
    (0..n)
        .map(|i| {
            if gets && i % 2 == 0 {
                (c.get(url), "GET".to_string())
            } else {
                let body = format!("{tag}-{i}");
                (post(c, url, body.as_bytes()), body)
            }
        })
        .collect()
}

/// The request completed with a response that connection `conn` gave it.
fn answered_by(c: &Client, h: httpring_handle, what: &str, conn: usize) {
    assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "{what}: {}", c.message(h));
    let body = String::from_utf8(c.body(h)).unwrap();
    assert!(
        body.starts_with(&format!("c{conn}s")) && body.ends_with(&format!(":{what}")),
        "{what} answered with {body:?}, not by connection {conn}"
    );
}

fn sorted(v: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = v.into_iter().collect();
    v.sort();
    v
}

#[test]
fn a_graceful_goaway_ends_the_streams_it_covers_and_the_others_go_again() {
    // Eight requests in flight on one connection; the server says GOAWAY (NO_ERROR) with the
    // fourth stream as the last it will process. RFC 9113 §6.8: the first four are answered
    // there; the other four were never processed and go again on a new connection, GET and
    // POST alike; a request made after the GOAWAY goes to the new connection too.
    let srv = server(|mut h2| async move {
        if h2.conn > 0 {
            return h2.serve().await;
        }
        let ids = h2.requests(8).await;
        h2.go_away(ids[3], NO_ERROR).await;
        // The first four stay open until the test has seen the others answered elsewhere.
        h2.hold().await;
        for &id in &ids[..4] {
            h2.answer(id).await;
        }
        h2.idle(10 * SECOND).await;
    });
    let c = h2c(5_000, |_| {});
    let url = srv.url();
    let t = Instant::now();
    // Two waves, so that the first holds the four lowest stream ids.
    let first = wave(&c, &url, "w1", 4, true);
    wait_until("the first wave", || {
        srv.seen.requests.load(Ordering::SeqCst) >= 4
    });
    let second = wave(&c, &url, "w2", 4, true);
    for (h, what) in &second {
        answered_by(&c, *h, what, 1);
    }
    // The client has seen the GOAWAY: nothing new goes to that connection.
    let opened = srv.seen.after_goaway.load(Ordering::SeqCst);
    let later = c.get(&url);
    answered_by(&c, later, "GET", 1);
    assert_eq!(srv.seen.after_goaway.load(Ordering::SeqCst), opened);
    // The streams the GOAWAY covers are still open on the old connection, unharmed.
    for (h, what) in &first {
        assert_eq!(state(&c, *h), HTTPRING_STATE_PENDING, "{what}");
    }
    srv.seen.release.store(true, Ordering::SeqCst);
    for (h, what) in &first {
        answered_by(&c, *h, what, 0);
    }
    assert!(t.elapsed() < 5 * SECOND, "took {:?}", t.elapsed());
    // Each request processed exactly once.
    let all = first.iter().chain(&second).map(|(_, w)| w.clone());
    assert_eq!(srv.processed(), sorted(all.chain(["GET".to_string()])));
    assert_eq!(srv.seen.connections.load(Ordering::SeqCst), 2);
}

/// How the server ends a connection after a `GOAWAY` with an error code.
#[derive(Debug, Clone, Copy)]
enum End {
    Fin,
    Reset,
    /// Left open, the covered streams never answered.
    Silent,
}

#[test]
fn a_goaway_with_an_error_fails_the_streams_it_covers_and_the_others_go_again() {
    for (code, end, expect) in [
        (PROTOCOL_ERROR, End::Fin, HTTPRING_ERR_IO),
        (ENHANCE_YOUR_CALM, End::Reset, HTTPRING_ERR_IO),
        (PROTOCOL_ERROR, End::Silent, HTTPRING_ERR_READ_TIMEOUT),
    ] {
        // Seven requests in flight; a GOAWAY with an error code names the fourth stream as the
        // last processed, and the server ends the connection without answering. The first
        // three (POSTs) fail: the server may have processed them. The fourth, a GET on the
        // connection's second use, is sent once more when the connection closes under it
        // (the stale-connection rule for idempotent requests), and processed twice; when it
        // stays open, it waits for the read timeout like the POSTs. The last three were never
        // processed: they go again and succeed.
        let srv = server(move |mut h2| async move {
            if h2.conn > 0 {
                return h2.serve().await;
            }
            let ids = h2.requests(7).await;
            for &id in &ids[..4] {
                h2.process(id);
            }
            h2.go_away(ids[3], code).await;
            match end {
                End::Fin => h2.idle(Duration::from_millis(100)).await,
                End::Reset => {
                    h2.idle(Duration::from_millis(100)).await;
                    h2.reset_connection();
                }
                End::Silent => h2.idle(20 * SECOND).await,
            }
        });
        let read_timeout = 600;
        let c = h2c(read_timeout, |_| {});
        let url = srv.url();
        let first = wave(&c, &url, "w1", 3, false);
        wait_until("the first wave", || {
            srv.seen.requests.load(Ordering::SeqCst) >= 3
        });
        let get = c.get(&url);
        wait_until("the GET", || srv.seen.requests.load(Ordering::SeqCst) >= 4);
        let t = Instant::now();
        let second = wave(&c, &url, "w2", 3, true);
        for (h, what) in &second {
            answered_by(&c, *h, what, 1);
        }
        for (h, what) in &first {
            assert_eq!(c.wait(*h), HTTPRING_STATE_FAILED, "{end:?} {what}");
            assert_eq!(c.error(*h), expect, "{end:?} {what}: {}", c.message(*h));
        }
        let mut processed = first
            .iter()
            .chain(&second)
            .map(|(_, w)| w.clone())
            .collect::<Vec<_>>();
        processed.push("GET".to_string());
        match end {
            End::Silent => {
                assert_eq!(c.wait(get), HTTPRING_STATE_FAILED);
                assert_eq!(c.error(get), expect, "{}", c.message(get));
            }
            _ => {
                answered_by(&c, get, "GET", 1);
                processed.push("GET".to_string());
            }
        }
        let took = t.elapsed();
        let limit = match end {
            End::Silent => Duration::from_millis(3 * read_timeout + 1_000),
            _ => 2 * SECOND,
        };
        assert!(took < limit, "{end:?}: took {took:?}");
        // The client goes on.
        let next = c.get(&url);
        answered_by(&c, next, "GET", 1);
        processed.push("GET".to_string());
        assert_eq!(srv.processed(), sorted(processed), "{end:?}");
        assert_eq!(srv.seen.connections.load(Ordering::SeqCst), 2, "{end:?}");
    }
}

#[test]
fn a_request_the_server_did_not_process_fails_when_it_cannot_go_again() {
    // A server that refuses every stream: the request is sent four times in all, then fails.
    let refusing = server(|mut h2| async move {
        loop {
            for id in h2.ready() {
                h2.reset(id, REFUSED_STREAM).await;
            }
            if !h2.pump().await {
                return;
            }
        }
    });
    let c = h2c(5_000, |_| {});
    let h = post(&c, &refusing.url(), b"refused");
    assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
    let message = c.message(h);
    assert_eq!(c.error(h), HTTPRING_ERR_PROTOCOL, "{message}");
    assert!(
        message.contains("did not process") && message.contains("sent 4 times"),
        "{message}"
    );
    assert_eq!(refusing.seen.requests.load(Ordering::SeqCst), 4);
    assert!(refusing.processed().is_empty());

    // A streamed body above a GOAWAY's last stream: it has gone, so it cannot go again.
    let srv = server(|mut h2| async move {
        if h2.conn > 0 {
            return h2.serve().await;
        }
        let ids = h2.requests(2).await;
        h2.go_away(ids[0], NO_ERROR).await;
        h2.answer(ids[0]).await;
        h2.idle(10 * SECOND).await;
    });
    let first = c.get(&srv.url());
    wait_until("the first request", || {
        srv.seen.requests.load(Ordering::SeqCst) >= 1
    });
    let left = AtomicUsize::new(1_000);
    let ptr = &left as *const AtomicUsize as *mut std::ffi::c_void;
    let streamed = c
        .submit("POST", &srv.url(), |r| unsafe {
            assert_eq!(
                httpring_request_set_body_callback(r, Some(xs), ptr, -1),
                HTTPRING_OK
            );
        })
        .unwrap();
    answered_by(&c, first, "GET", 0);
    assert_eq!(c.wait(streamed), HTTPRING_STATE_FAILED);
    let message = c.message(streamed);
    assert_eq!(c.error(streamed), HTTPRING_ERR_PROTOCOL, "{message}");
    assert!(message.contains("its body was streamed"), "{message}");
    assert_eq!(srv.processed(), vec!["GET".to_string()]);
    assert_eq!(srv.seen.connections.load(Ordering::SeqCst), 1);
}

#[test]
fn a_stream_the_server_cancels_fails_alone() {
    // Four GETs on one connection: the server cancels one (RST_STREAM CANCEL) after part of
    // its body, and one before its head. Each of those two fails with a protocol error and
    // is not sent again; the other two, and the next request, complete on the same connection.
    let srv = server(|mut h2| async move {
        let ids = h2.requests(4).await;
        h2.process(ids[1]);
        h2.head(ids[1]).await;
        h2.send(DATA, 0, ids[1], b"part of a body").await;
        h2.reset(ids[1], CANCEL).await;
        h2.process(ids[2]);
        h2.reset(ids[2], CANCEL).await;
        h2.answer(ids[0]).await;
        h2.answer(ids[3]).await;
        h2.serve().await;
    });
    let c = h2c(5_000, |_| {});
    let url = srv.url();
    let t = Instant::now();
    let hs: Vec<_> = (0..4).map(|_| c.get(&url)).collect();
    let mut failed = Vec::new();
    for &h in &hs {
        match c.wait(h) {
            HTTPRING_STATE_DONE => answered_by(&c, h, "GET", 0),
            _ => failed.push((c.error(h), c.message(h))),
        }
    }
    assert_eq!(failed.len(), 2, "{failed:?}");
    for (code, message) in &failed {
        assert_eq!(*code, HTTPRING_ERR_PROTOCOL, "{message}");
        assert!(message.contains("stream error received"), "{message}");
    }
    assert!(t.elapsed() < 2 * SECOND, "took {:?}", t.elapsed());
    let next = c.get(&url);
    answered_by(&c, next, "GET", 0);
    assert_eq!(
        srv.processed(),
        vec!["GET".to_string(); 5],
        "none sent twice"
    );
    assert_eq!(srv.seen.connections.load(Ordering::SeqCst), 1);
}

/// A server that never grants window for request bodies (its initial 65,535 bytes are all a
/// client may send) and answers whatever arrives whole.
fn stingy() -> Server {
    server(|mut h2| async move {
        h2.grant = false;
        h2.serve().await
    })
}

/// Bigger than the initial window, connection and stream.
const UPLOAD: usize = 256 * 1024;

/// A request body source: `x` until the count behind `user_data` (an `AtomicUsize`) runs out.
unsafe extern "C" fn xs(
    user_data: *mut std::ffi::c_void,
    buf: *mut u8,
    cap: usize,
    written: *mut usize,
) -> httpring_code {
    let left = unsafe { &*(user_data as *const AtomicUsize) };
    let n = cap.min(left.load(Ordering::SeqCst));
    left.fetch_sub(n, Ordering::SeqCst);
    unsafe {
        std::ptr::write_bytes(buf, b'x', n);
        *written = n;
    }
    HTTPRING_OK
}

#[test]
fn an_upload_the_server_grants_no_window_for_ends_in_the_write_timeout() {
    // No socket write blocks (h2 holds the body back), yet the server has stopped taking the
    // body: the write timeout, for a body in hand (also one byte over the window) and a
    // streamed one. A body the window holds is sent and answered.
    let srv = stingy();
    for (size, streamed, expect) in [
        (UPLOAD, false, HTTPRING_ERR_WRITE_TIMEOUT),
        (65_536, false, HTTPRING_ERR_WRITE_TIMEOUT),
        (UPLOAD, true, HTTPRING_ERR_WRITE_TIMEOUT),
        (65_535, false, HTTPRING_OK),
    ] {
        let c = h2c(5_000, |cfg| unsafe {
            assert_eq!(httpring_config_set_write_timeout_ms(cfg, 300), HTTPRING_OK);
        });
        let left = AtomicUsize::new(size);
        let t = Instant::now();
        let h = if streamed {
            let ptr = &left as *const AtomicUsize as *mut std::ffi::c_void;
            c.submit("POST", &srv.url(), |r| unsafe {
                assert_eq!(
                    httpring_request_set_body_callback(r, Some(xs), ptr, -1),
                    HTTPRING_OK
                );
            })
            .unwrap()
        } else {
            post(&c, &srv.url(), &vec![b'x'; size])
        };
        c.wait(h);
        let took = t.elapsed();
        let case = format!("{size} bytes, streamed {streamed}");
        assert_eq!(c.error(h), expect, "{case}: {}", c.message(h));
        if expect == HTTPRING_ERR_WRITE_TIMEOUT {
            assert!(c.message(h).contains("write timeout"), "{}", c.message(h));
            assert!(
                (300..2_000).contains(&took.as_millis()),
                "{case}: took {took:?} for a 300 ms write timeout"
            );
        }
        c.free(h);
        // The connection still carries requests that need no window.
        let next = c.get(&srv.url());
        answered_by(
            &c,
            next,
            "GET",
            srv.seen.connections.load(Ordering::SeqCst) - 1,
        );
    }
    assert_eq!(srv.seen.connections.load(Ordering::SeqCst), 4);
}

#[test]
fn a_request_s_own_write_timeout_watches_its_window() {
    // The client has no write timeout: the request's own ends the wait for window, and a
    // request that lifts the client's waits until its total timeout.
    let srv = stingy();
    let c = h2c(5_000, |_| {});
    let body = vec![b'x'; UPLOAD];
    let t = Instant::now();
    let h = c
        .submit("POST", &srv.url(), |r| unsafe {
            assert_eq!(
                httpring_request_set_body(r, body.as_ptr(), body.len()),
                HTTPRING_OK
            );
            assert_eq!(httpring_request_set_write_timeout_ms(r, 300), HTTPRING_OK);
        })
        .unwrap();
    c.wait(h);
    assert_eq!(c.error(h), HTTPRING_ERR_WRITE_TIMEOUT, "{}", c.message(h));
    assert!(
        (300..2_000).contains(&t.elapsed().as_millis()),
        "took {:?} for a 300 ms write timeout",
        t.elapsed()
    );
    c.free(h);
    let c = h2c(5_000, |cfg| unsafe {
        assert_eq!(httpring_config_set_write_timeout_ms(cfg, 300), HTTPRING_OK);
    });
    let h = c
        .submit("POST", &srv.url(), |r| unsafe {
            assert_eq!(
                httpring_request_set_body(r, body.as_ptr(), body.len()),
                HTTPRING_OK
            );
            assert_eq!(httpring_request_set_write_timeout_ms(r, 0), HTTPRING_OK);
            assert_eq!(httpring_request_set_timeout_ms(r, 1_200), HTTPRING_OK);
        })
        .unwrap();
    c.wait(h);
    assert_eq!(c.error(h), HTTPRING_ERR_TIMEOUT, "{}", c.message(h));
    c.free(h);
}

#[test]
fn an_upload_the_server_stops_reading_ends_in_the_write_timeout() {
    // The window is wide open, so h2 holds nothing back: the body fills the socket's buffers
    // and the socket write blocks past the limit (`QuickAck`). h2 then fails the stream with
    // a bare broken pipe (the write failed while it flushed), or, when a PING from the server
    // had it write its answer, with the error's kind and text.
    for ping in [false, true] {
        let srv = server(move |mut h2| async move {
            while h2.streams.is_empty() {
                if !h2.pump().await {
                    return;
                }
            }
            let id = *h2.streams.keys().next().unwrap();
            let wide = (1u32 << 30).to_be_bytes();
            h2.send(WINDOW_UPDATE, 0, 0, &wide).await;
            h2.send(WINDOW_UPDATE, 0, id, &wide).await;
            // Never reads again; the socket stays open until the test is over.
            if ping {
                tokio::time::sleep(Duration::from_millis(100)).await;
                h2.send(PING, 0, 0, &[1; 8]).await;
            }
            tokio::time::sleep(20 * SECOND).await;
        });
        let c = h2c(20_000, |cfg| unsafe {
            assert_eq!(httpring_config_set_write_timeout_ms(cfg, 300), HTTPRING_OK);
        });
        let t = Instant::now();
        let h = post(&c, &srv.url(), &vec![b'x'; 64 << 20]);
        assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
        let took = t.elapsed();
        let case = format!("ping {ping}: {}", c.message(h));
        assert_eq!(c.error(h), HTTPRING_ERR_WRITE_TIMEOUT, "{case}");
        assert!(c.message(h).contains("write timeout"), "{case}");
        assert!(
            took < 5 * SECOND,
            "{case}: took {took:?} for a 300 ms write timeout"
        );
    }
}

#[test]
fn an_upload_the_server_grants_no_window_for_ends_in_the_read_or_total_timeout() {
    // Without a write timeout: the read timeout (the server is silent), or without that the
    // total timeout. Never a hang.
    for (read, total, expect) in [
        (400, 0, HTTPRING_ERR_READ_TIMEOUT),
        (0, 400, HTTPRING_ERR_TIMEOUT),
    ] {
        let srv = stingy();
        let c = h2c(read, |cfg| unsafe {
            assert_eq!(httpring_config_set_timeout_ms(cfg, total), HTTPRING_OK);
        });
        let t = Instant::now();
        let h = post(&c, &srv.url(), &vec![b'x'; UPLOAD]);
        assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
        let took = t.elapsed().as_millis();
        assert_eq!(c.error(h), expect, "{}", c.message(h));
        assert!((400..2_000).contains(&took), "took {took} ms");
    }
}

#[test]
fn a_window_granted_slowly_is_not_a_stalled_upload() {
    // 4 KiB of window every 150 ms, against a 300 ms write timeout: the client waits longer
    // than that for room for its next 16 KiB, but the server is not silent.
    let srv = server(|mut h2| async move {
        h2.grant = false;
        loop {
            h2.idle(Duration::from_millis(150)).await;
            let ready = h2.ready();
            if let Some(&id) = ready.first() {
                return h2.answer(id).await;
            }
            let Some(&id) = h2.streams.keys().next() else {
                continue;
            };
            let n = 4096u32.to_be_bytes();
            h2.send(WINDOW_UPDATE, 0, 0, &n).await;
            h2.send(WINDOW_UPDATE, 0, id, &n).await;
        }
    });
    let c = h2c(5_000, |cfg| unsafe {
        assert_eq!(httpring_config_set_write_timeout_ms(cfg, 300), HTTPRING_OK);
    });
    let body = vec![b'x'; 96 * 1024];
    let t = Instant::now();
    let h = post(&c, &srv.url(), &body);
    assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "{}", c.message(h));
    // (96 - 64) KiB at 4 KiB a grant.
    assert!(
        t.elapsed() > Duration::from_millis(8 * 150),
        "{:?}",
        t.elapsed()
    );
    let echoed = String::from_utf8(c.body(h)).unwrap();
    assert!(echoed.ends_with(&"x".repeat(100)), "{}", echoed.len());
    assert_eq!(echoed.len(), "c0s1:".len() + body.len());
}

#[test]
fn a_response_that_stops_mid_body_ends_in_the_read_timeout() {
    // The server sends a head and part of the body, then nothing (the client's window is
    // wide open): the read timeout ends it; the same connection then serves the next request.
    let srv = server(|mut h2| async move {
        let ids = h2.requests(1).await;
        h2.process(ids[0]);
        h2.head(ids[0]).await;
        h2.send(DATA, 0, ids[0], b"the first bytes").await;
        h2.serve().await;
    });
    let c = h2c(300, |_| {});
    let t = Instant::now();
    let h = c.get(&srv.url());
    assert_eq!(c.wait(h), HTTPRING_STATE_FAILED);
    let took = t.elapsed().as_millis();
    assert_eq!(c.error(h), HTTPRING_ERR_READ_TIMEOUT, "{}", c.message(h));
    assert!((300..1_500).contains(&took), "took {took} ms");
    let next = c.get(&srv.url());
    answered_by(&c, next, "GET", 0);
    assert_eq!(srv.seen.connections.load(Ordering::SeqCst), 1);
}

#[test]
fn a_server_shutting_down_gracefully_finishes_its_streams_and_new_requests_go_elsewhere() {
    // hyper's own graceful shutdown, as real servers do it (GOAWAY with the largest stream id,
    // a PING, then GOAWAY with the last stream read), while ten requests are in flight: they
    // all complete on that connection; requests made after it go on a new one. The shutdown
    // starts once all ten are being handled, and the later requests go once it has started
    // (and the client had time to read it), while the ten still hold the connection open.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let processed = Arc::new(AtomicUsize::new(0));
    let connections = Arc::new(AtomicUsize::new(0));
    let entered = Arc::new(AtomicUsize::new(0));
    let all_in = Arc::new(tokio::sync::Notify::new());
    let shut = Arc::new(AtomicBool::new(false));
    let (p, n) = (processed.clone(), connections.clone());
    let (e, all, sh) = (entered.clone(), all_in.clone(), shut.clone());
    rt.spawn(async move {
        while let Ok((io, _)) = listener.accept().await {
            let conn = n.fetch_add(1, Ordering::SeqCst);
            let (p, e, all, sh) = (p.clone(), e.clone(), all.clone(), sh.clone());
            let told = all.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |_req| {
                    let (p, e, all) = (p.clone(), e.clone(), told.clone());
                    async move {
                        if e.fetch_add(1, Ordering::SeqCst) + 1 == 10 {
                            all.notify_one();
                        }
                        tokio::time::sleep(Duration::from_millis(1_500)).await;
                        p.fetch_add(1, Ordering::SeqCst);
                        let body =
                            http_body_util::Full::new(bytes::Bytes::from(format!("c{conn}")));
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(body))
                    }
                });
                let served =
                    hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(io), svc);
                tokio::pin!(served);
                if conn == 0 {
                    tokio::select! {
                        _ = served.as_mut() => return,
                        _ = all.notified() => {}
                    }
                    served.as_mut().graceful_shutdown();
                    sh.store(true, Ordering::SeqCst);
                }
                let _ = served.await;
            });
        }
    });
    let c = h2c(5_000, |_| {});
    let t = Instant::now();
    let before: Vec<_> = (0..10).map(|_| c.get(&url)).collect();
    while !shut.load(Ordering::SeqCst) {
        assert!(t.elapsed() < 10 * SECOND, "the shutdown never started");
        std::thread::sleep(Duration::from_millis(2));
    }
    // The GOAWAY goes out as the shutdown starts; the ten hold c0 open 1.5 s.
    std::thread::sleep(Duration::from_millis(400));
    let after: Vec<_> = (0..5).map(|_| c.get(&url)).collect();
    for (hs, conn) in [(&before, "c0"), (&after, "c1")] {
        for &h in hs {
            assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "{}", c.message(h));
            assert_eq!(c.body(h), conn.as_bytes());
        }
    }
    assert!(t.elapsed() < 6 * SECOND, "took {:?}", t.elapsed());
    assert_eq!(processed.load(Ordering::SeqCst), 15, "each processed once");
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}
