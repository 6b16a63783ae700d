//! The project's test and demo server: a hyper HTTP/1.1 server with routes for every
//! behaviour the tests need (echo, sizes, delays, stalls, lies) and a small linked site for
//! the crawler demos. Shared by the Rust integration tests (in-process) and by the
//! `testserver` binary that the C, Python and Zig tests and `make demo` start.

#![allow(dead_code)]

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

#[derive(Clone, Debug)]
pub struct Options {
    /// Pages in the crawl site under /site/.
    pub pages: usize,
    /// Delay before each /site/ page is served.
    pub page_delay: Duration,
    /// HTTP/2: the most concurrent streams a client may open (SETTINGS_MAX_CONCURRENT_STREAMS).
    pub h2_max_streams: Option<u32>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            pages: 40,
            page_delay: Duration::ZERO,
            h2_max_streams: None,
        }
    }
}

#[derive(Default, Debug)]
pub struct Stats {
    pub connections: AtomicUsize,
    pub requests: AtomicUsize,
    /// Connections open now, and the most open at once.
    pub open: AtomicUsize,
    pub max_open: AtomicUsize,
    /// Requests being handled now (until their response head is ready), and the most at once.
    pub active: AtomicUsize,
    pub max_active: AtomicUsize,
    /// Body bytes the /stream/ route has handed to hyper so far (what a client that stops
    /// reading holds back).
    pub sent: AtomicU64,
    /// Request body bytes the /upload route has read so far.
    pub received: AtomicU64,
}

/// Counts a request as active while it lives.
struct Active(Arc<Stats>);

impl Active {
    fn new(stats: &Arc<Stats>) -> Active {
        let now = stats.active.fetch_add(1, Ordering::SeqCst) + 1;
        stats.max_active.fetch_max(now, Ordering::SeqCst);
        Active(stats.clone())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A body fed from a channel: `Err` items abort the connection mid-body (a lying server).
pub struct ChanBody {
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
    size: Option<u64>,
    /// Sent after the last data frame.
    trailers: Option<http::HeaderMap>,
}

impl Body for ChanBody {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(None) => Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t)))),
            p => p.map(|o| o.map(|r| r.map(Frame::data))),
        }
    }
    fn size_hint(&self) -> hyper::body::SizeHint {
        match self.size {
            Some(n) => hyper::body::SizeHint::with_exact(n),
            None => hyper::body::SizeHint::default(),
        }
    }
}

type Resp = Response<http_body_util::combinators::BoxBody<Bytes, std::io::Error>>;

fn full(status: u16, ctype: &str, body: impl Into<Bytes>) -> Resp {
    let body = http_body_util::Full::new(body.into())
        .map_err(|e: Infallible| match e {})
        .boxed();
    Response::builder()
        .status(status)
        .header("content-type", ctype)
        .body(body)
        .unwrap()
}

fn chan(size: Option<u64>) -> (mpsc::Sender<Result<Bytes, std::io::Error>>, Resp) {
    let (tx, rx) = mpsc::channel(16);
    let mut b = Response::builder()
        .status(200)
        .header("content-type", "application/octet-stream");
    if let Some(n) = size {
        b = b.header("content-length", n);
    }
    (
        tx,
        b.body(
            ChanBody {
                rx,
                size,
                trailers: None,
            }
            .boxed(),
        )
        .unwrap(),
    )
}

pub fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text for the content-coding routes: numbered lines, cut to `n` bytes. The C, Python and
/// Zig tests compare `/encoded/CODING/N` with `/encoded/identity/N`.
pub fn sample_text(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 64);
    let mut i = 0;
    while out.len() < n {
        out.extend_from_slice(
            format!("line {i}: the quick brown fox jumps over the lazy dog\n").as_bytes(),
        );
        i += 1;
    }
    out.truncate(n);
    out
}

pub fn encode(coding: &str, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    match coding {
        "gzip" | "x-gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "rawdeflate" => {
            let mut e =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "br" => {
            let mut out = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                w.write_all(data).unwrap();
            }
            out
        }
        "zstd" => zstd::stream::encode_all(data, 3).unwrap(),
        "gzip-zstd" => encode("zstd", &encode("gzip", data)),
        _ => data.to_vec(),
    }
}

fn bomb(coding: &str, mib: usize) -> Vec<u8> {
    let zeros = vec![0u8; 1 << 20];
    match coding {
        "gzip" => {
            let member = encode("gzip", &zeros);
            member.repeat(mib)
        }
        "zstd" => {
            use std::io::Write;
            let mut e = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
            for _ in 0..mib {
                e.write_all(&zeros).unwrap();
            }
            e.finish().unwrap()
        }
        "br" => {
            use std::io::Write;
            let mut out = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 1, 22);
                for _ in 0..mib {
                    w.write_all(&zeros).unwrap();
                }
            }
            out
        }
        _ => zeros.repeat(mib.min(16)),
    }
}

/// Whether `authorization` is a right Digest answer by `user`/`pass` to `nonce` for this
/// request (recomputed with digest_auth, server side).
fn digest_ok(
    authorization: Option<&str>,
    (user, pass): (&str, &str),
    method: &hyper::Method,
    path_and_query: &str,
    nonce: &str,
) -> bool {
    authorization.is_some_and(|a| {
        let Ok(mut got) = digest_auth::AuthorizationHeader::parse(a) else {
            return false;
        };
        let sent = got.response.clone();
        let uri = got.uri.clone();
        let ctx = digest_auth::AuthContext::new_with_method(
            user,
            pass,
            uri.as_str(),
            None::<&[u8]>,
            digest_auth::HttpMethod(method.as_str().into()),
        );
        got.digest(&ctx);
        got.username == user && got.response == sent && got.nonce == nonce && path_and_query == uri
    })
}

/// 200 "authenticated" when `ok`, else 401 with the challenge.
fn auth_answer(ok: bool, challenge: &str) -> Resp {
    if ok {
        return full(200, "text/plain", "authenticated");
    }
    let mut r = full(401, "text/plain", "unauthorized");
    r.headers_mut()
        .insert("www-authenticate", challenge.parse().unwrap());
    r
}

fn query_param<'a>(query: Option<&'a str>, key: &str) -> Option<&'a str> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

async fn route(
    req: Request<Incoming>,
    opts: Arc<Options>,
    stats: Arc<Stats>,
) -> Result<Resp, Infallible> {
    stats.requests.fetch_add(1, Ordering::Relaxed);
    let _active = Active::new(&stats);
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = req.method().clone();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let cookie = req
        .headers()
        .get("cookie")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let num = |i: usize| parts.get(i).and_then(|s| s.parse::<u64>().ok());
    let resp = match parts[0] {
        "hello" => full(200, "text/plain", "Hello, world!"),
        "json" => full(200, "application/json", r#"{"ok": true, "n": 42}"#),
        // The address the client connected from (empty over TLS or a Unix socket).
        "peer" => match req.extensions().get::<Peer>() {
            Some(p) => full(200, "text/plain", p.0.to_string()),
            None => full(200, "text/plain", String::new()),
        },
        "echo" => {
            let method = req.method().to_string();
            let target = req
                .uri()
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default();
            let mut headers = String::new();
            let mut seen: Vec<String> = Vec::new();
            for name in req.headers().keys() {
                let n = name.as_str().to_string();
                if seen.contains(&n) {
                    continue;
                }
                let joined: Vec<String> = req
                    .headers()
                    .get_all(name)
                    .iter()
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .collect();
                if !headers.is_empty() {
                    headers.push_str(", ");
                }
                headers.push_str(&format!(
                    "{}: {}",
                    json_escape(&n),
                    json_escape(&joined.join(", "))
                ));
                seen.push(n);
            }
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&body);
            full(
                200,
                "application/json",
                format!(
                    "{{\"method\": {}, \"path\": {}, \"headers\": {{{}}}, \"body\": {}, \"body_len\": {}}}",
                    json_escape(&method),
                    json_escape(&target),
                    headers,
                    json_escape(&text),
                    body.len()
                ),
            )
        }
        "bytes" if req.method() == hyper::Method::HEAD => {
            // The GET's Content-Length and no body (hyper's HTTP/2 server would send one).
            let mut r = full(200, "application/octet-stream", Bytes::new());
            r.headers_mut()
                .insert(hyper::header::CONTENT_LENGTH, num(1).unwrap_or(0).into());
            r
        }
        "bytes" => {
            let n = num(1).unwrap_or(0) as usize;
            let body: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            full(200, "application/octet-stream", body)
        }
        // /flaky/KEY/N: 503 with `Retry-After: 0` for the first N requests naming KEY, then
        // 200 "ok" (a service that recovers; the retry tests).
        "flaky" => {
            static SEEN: std::sync::Mutex<Option<std::collections::HashMap<String, u64>>> =
                std::sync::Mutex::new(None);
            let key = parts.get(1).copied().unwrap_or("").to_string();
            let fails = num(2).unwrap_or(1);
            let n = {
                let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
                let count = seen
                    .get_or_insert_with(Default::default)
                    .entry(key)
                    .or_insert(0);
                *count += 1;
                *count
            };
            if n <= fails {
                let mut r = full(503, "text/plain", format!("attempt {n}: busy"));
                r.headers_mut()
                    .insert(hyper::header::RETRY_AFTER, "0".parse().unwrap());
                r
            } else {
                full(200, "text/plain", "ok")
            }
        }
        "delay" => {
            tokio::time::sleep(Duration::from_millis(num(1).unwrap_or(0))).await;
            let mut r = full(200, "text/plain", "ok");
            // ?close=1: the server closes the connection after the response, so the
            // TIME_WAIT state stays on the server's side (the fan-out benchmark).
            if query_param(query.as_deref(), "close") == Some("1") {
                r.headers_mut()
                    .insert(hyper::header::CONNECTION, "close".parse().unwrap());
            }
            r
        }
        // /status/CODE[?reason=WORDS] ('+' for a space): that status, with that reason
        // phrase (HTTP/1) instead of the standard one.
        "status" => {
            let code = num(1).unwrap_or(200) as u16;
            let mut r = full(200, "text/plain", format!("status {code}"));
            *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
            if let Some(reason) = query.as_deref().and_then(|q| q.strip_prefix("reason=")) {
                let reason = reason.replace('+', " ");
                if let Ok(p) = hyper::ext::ReasonPhrase::try_from(reason) {
                    r.extensions_mut().insert(p);
                }
            }
            r
        }
        "headers" => {
            let mut r = full(200, "text/plain", "headers");
            let h = r.headers_mut();
            h.append("set-cookie", "a=1".parse().unwrap());
            h.append("set-cookie", "b=2".parse().unwrap());
            h.insert("x-custom", "Yes".parse().unwrap());
            r
        }
        // /many-headers/N: N header lines (x-h-0 .. x-h-N-1), for the header-count limit.
        "many-headers" => {
            let mut r = full(200, "text/plain", "many");
            let h = r.headers_mut();
            for i in 0..num(1).unwrap_or(0) {
                h.append(
                    http::HeaderName::try_from(format!("x-h-{i}")).unwrap(),
                    http::HeaderValue::from(i),
                );
            }
            r
        }
        // Never answers: for timeouts and cancel.
        "stall" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            full(200, "text/plain", "late")
        }
        // Answers the head and 10 of 100 body bytes, then goes silent.
        "stall-body" => {
            let (tx, r) = chan(Some(100));
            tokio::spawn(async move {
                let _ = tx.send(Ok(Bytes::from_static(b"0123456789"))).await;
                tokio::time::sleep(Duration::from_secs(3600)).await;
                drop(tx);
            });
            r
        }
        // /stream/N[/CHUNK]: N bytes (the letters a..z over and over) in CHUNK-byte pieces
        // (default 64 KiB), made as they are sent, counted in `Stats::sent`; `?chunked=1`
        // leaves out Content-Length.
        "stream" => {
            let n = num(1).unwrap_or(0);
            let piece = num(2).unwrap_or(64 << 10).max(1) as usize;
            let chunked = query_param(query.as_deref(), "chunked") == Some("1");
            let (tx, r) = chan((!chunked).then_some(n));
            let pattern: Bytes = (0..piece + 26).map(|i| b'a' + (i % 26) as u8).collect();
            let stats = stats.clone();
            tokio::spawn(async move {
                let mut at = 0u64;
                while at < n {
                    let len = (n - at).min(piece as u64) as usize;
                    let off = (at % 26) as usize;
                    if tx.send(Ok(pattern.slice(off..off + len))).await.is_err() {
                        break;
                    }
                    at += len as u64;
                    stats.sent.fetch_add(len as u64, Ordering::SeqCst);
                }
            });
            r
        }
        // /upload[?hold_ms=H&pause_ms=N]: reads the request body piece by piece (counted in
        // `Stats::received`), reading nothing for its first H ms (the client's buffers and
        // the socket's fill, so the producer must be told to wait whatever its speed) and
        // pausing N ms after each piece when asked (a slow server); it answers with what
        // came: its length, its FNV-1a 64 hash, and how it was framed.
        "upload" => {
            let ms = |name| {
                query_param(query.as_deref(), name)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            let (hold, pause) = (ms("hold_ms"), ms("pause_ms"));
            let chunked = req.headers().contains_key("transfer-encoding");
            let length = req
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("null")
                .to_string();
            let version = format!("{:?}", req.version());
            let mut body = req.into_body();
            if hold > 0 {
                tokio::time::sleep(Duration::from_millis(hold)).await;
            }
            let (mut n, mut hash) = (0u64, 0xcbf2_9ce4_8422_2325u64);
            let mut failed = String::new();
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(f) => {
                        if let Ok(d) = f.into_data() {
                            for b in d.iter() {
                                hash = (hash ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
                            }
                            n += d.len() as u64;
                            stats.received.fetch_add(d.len() as u64, Ordering::SeqCst);
                            if pause > 0 {
                                tokio::time::sleep(Duration::from_millis(pause)).await;
                            }
                        }
                    }
                    Err(e) => {
                        failed = e.to_string();
                        break;
                    }
                }
            }
            full(
                if failed.is_empty() { 200 } else { 400 },
                "application/json",
                format!(
                    "{{\"received\": {n}, \"fnv\": \"{hash:016x}\", \"chunked\": {chunked}, \"content_length\": {length}, \"version\": \"{version}\", \"error\": {}}}",
                    json_escape(&failed)
                ),
            )
        }
        // /events/N/MS: server-sent events, one every MS ms; each is
        // "data: I T\n\n" with T the time it was sent in microseconds since the Unix epoch.
        "events" => {
            let (n, ms) = (num(1).unwrap_or(10), num(2).unwrap_or(200));
            let (tx, mut r) = chan(None);
            r.headers_mut()
                .insert("content-type", "text/event-stream".parse().unwrap());
            tokio::spawn(async move {
                for i in 0..n {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    let t = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_micros();
                    let ev = format!("data: {i} {t}\n\n");
                    if tx.send(Ok(Bytes::from(ev))).await.is_err() {
                        break;
                    }
                }
            });
            r
        }
        // A chunked body "abc" that ends with the trailer field x-checksum: 42.
        "trailers" => {
            let (tx, rx) = mpsc::channel(1);
            tokio::spawn(async move {
                let _ = tx.send(Ok(Bytes::from_static(b"abc"))).await;
            });
            let mut t = http::HeaderMap::new();
            t.insert("x-checksum", "42".parse().unwrap());
            Response::builder()
                .status(200)
                .header("trailer", "x-checksum")
                .body(
                    ChanBody {
                        rx,
                        size: None,
                        trailers: Some(t),
                    }
                    .boxed(),
                )
                .unwrap()
        }
        // N one-byte chunks, MS apart.
        "drip" => {
            let (n, ms) = (num(1).unwrap_or(5), num(2).unwrap_or(100));
            let (tx, r) = chan(Some(n));
            tokio::spawn(async move {
                for _ in 0..n {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    if tx.send(Ok(Bytes::from_static(b"x"))).await.is_err() {
                        break;
                    }
                }
            });
            r
        }
        // Announces 100 bytes, sends 10, then drops the connection.
        "lie" => {
            let (tx, r) = chan(Some(100));
            tokio::spawn(async move {
                let _ = tx.send(Ok(Bytes::from_static(b"0123456789"))).await;
                let _ = tx.send(Err(std::io::Error::other("server lies"))).await;
            });
            r
        }
        // N hops of 302 ending in a 200; /redirect-to?url=U&status=S[&delay=MS][&frag=F] sends one redirect.
        "redirect" => match num(1).unwrap_or(0) {
            0 => full(200, "text/plain", "redirected"),
            n => {
                let mut r = full(302, "text/plain", "");
                r.headers_mut()
                    .insert("location", format!("/redirect/{}", n - 1).parse().unwrap());
                r
            }
        },
        // A cookie gate: without s=1, to /gate-login, which sets it and sends the client back.
        "gate" if cookie.as_deref().is_some_and(|c| c.contains("s=1")) => {
            full(200, "text/plain", "welcome")
        }
        "gate" => {
            let mut r = full(302, "text/plain", "");
            r.headers_mut()
                .insert("location", "/gate-login".parse().unwrap());
            r
        }
        "gate-login" => {
            let mut r = full(302, "text/plain", "");
            r.headers_mut().insert("location", "/gate".parse().unwrap());
            r.headers_mut()
                .insert("set-cookie", "s=1; Path=/".parse().unwrap());
            r
        }
        // A redirect to itself.
        "loop" => {
            let mut r = full(302, "text/plain", "");
            r.headers_mut().insert("location", "/loop".parse().unwrap());
            r
        }
        "redirect-to" => {
            let q = query.as_deref();
            let mut target = query_param(q, "url").unwrap_or("/hello").to_string();
            // &frag=F: the Location carries a fragment of its own.
            if let Some(f) = query_param(q, "frag") {
                target = format!("{target}#{f}");
            }
            let status = query_param(q, "status")
                .and_then(|s| s.parse().ok())
                .unwrap_or(302u16);
            // ?delay=MS: answer after a pause (a slow hop of a redirect chain).
            if let Some(ms) = query_param(q, "delay").and_then(|s| s.parse().ok()) {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            let mut r = full(200, "text/plain", "");
            *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND);
            if let Ok(v) = target.parse() {
                r.headers_mut().insert("location", v);
            }
            r
        }
        // /encoded/CODING[/N]: N bytes of text (default 100,000) in a content coding:
        // gzip, deflate (zlib), rawdeflate (deflate without zlib's wrapper), br, zstd,
        // gzip-zstd (both, in that order), identity (none), or anything else (sent as is,
        // labelled with it). ?corrupt=1 flips bytes in the middle.
        "encoded" => {
            let coding = parts.get(1).copied().unwrap_or("gzip");
            let n = num(2).unwrap_or(100_000) as usize;
            let mut body = encode(coding, &sample_text(n));
            if query_param(query.as_deref(), "corrupt") == Some("1") && body.len() > 40 {
                let mid = body.len() / 2;
                for b in &mut body[mid..mid + 8] {
                    *b ^= 0x5a;
                }
            }
            let mut r = full(200, "text/plain; charset=utf-8", body);
            let label = match coding {
                "rawdeflate" => "deflate",
                "gzip-zstd" => "gzip, zstd",
                c => c,
            };
            if label != "identity" {
                r.headers_mut()
                    .insert("content-encoding", label.parse().unwrap());
            }
            r
        }
        // /bomb/CODING/MIB: MIB MiB of zeros, compressed (gzip: one member per MiB, about
        // 1 KiB each; zstd and br: one stream). For decompression-limit tests.
        "bomb" => {
            let coding = parts.get(1).copied().unwrap_or("gzip");
            let mib = num(2).unwrap_or(1024) as usize;
            let body = bomb(coding, mib);
            let mut r = full(200, "application/octet-stream", body);
            r.headers_mut()
                .insert("content-encoding", coding.parse().unwrap());
            r
        }
        // /basic-auth/USER/PASS, /bearer/TOKEN: 200 with the credentials checked, else 401.
        "basic-auth" => {
            use base64::Engine as _;
            let want = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!(
                    "{}:{}",
                    parts.get(1).unwrap_or(&""),
                    parts.get(2).unwrap_or(&"")
                ))
            );
            auth_answer(
                authorization.as_deref() == Some(want.as_str()),
                "Basic realm=\"t\"",
            )
        }
        "bearer" => {
            let want = format!("Bearer {}", parts.get(1).unwrap_or(&""));
            auth_answer(authorization.as_deref() == Some(want.as_str()), "Bearer")
        }
        // /digest-auth/QOP/USER/PASS/ALGORITHM (as httpbin): QOP auth or none, ALGORITHM MD5
        // or SHA-256. The answer is checked by recomputing it (digest_auth, server side).
        "digest-auth" => {
            let qop = parts.get(1).copied().unwrap_or("auth");
            let decode = |i: usize| {
                percent_encoding::percent_decode_str(parts.get(i).copied().unwrap_or(""))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            let (user, pass) = (decode(2), decode(3));
            let (user, pass) = (user.as_str(), pass.as_str());
            let algorithm = parts.get(4).copied().unwrap_or("MD5");
            let nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
            let ok = digest_ok(
                authorization.as_deref(),
                (user, pass),
                &method,
                &path_and_query,
                nonce,
            );
            let qop_part = if qop == "none" {
                String::new()
            } else {
                format!(", qop=\"{qop}\"")
            };
            let challenge = format!(
                "Digest realm=\"test@httpring\", nonce=\"{nonce}\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", algorithm={algorithm}{qop_part}"
            );
            auth_answer(ok, &challenge)
        }
        // /digest-stale/USER/PASS: the first nonce is answered with a new one and stale=true
        // (RFC 7616 §3.3), an answer to the new one with 200.
        "digest-stale" => {
            let (user, pass) = (
                parts.get(1).copied().unwrap_or(""),
                parts.get(2).copied().unwrap_or(""),
            );
            let auth = authorization.as_deref();
            let challenge = |nonce: &str, stale: bool| {
                format!("Digest realm=\"t\", nonce=\"{nonce}\", qop=\"auth\", algorithm=MD5, stale={stale}")
            };
            if digest_ok(auth, (user, pass), &method, &path_and_query, "fresh-nonce") {
                auth_answer(true, "")
            } else if digest_ok(auth, (user, pass), &method, &path_and_query, "first-nonce") {
                auth_answer(false, &challenge("fresh-nonce", true))
            } else {
                auth_answer(false, &challenge("first-nonce", false))
            }
        }
        // /cookies: the request's Cookie header as the body. /cookies/set?k=v&...: sets each
        // (Path=/); ?attrs=... is appended to each Set-Cookie (e.g. "Domain=x"). /cookies/delete?k
        // expires k.
        "cookies" => {
            let q = query.clone().unwrap_or_default();
            match parts.get(1).copied() {
                Some("set") => {
                    let attrs = query_param(Some(&q), "attrs")
                        .unwrap_or("")
                        .replace("%3B", ";")
                        .replace("%20", " ");
                    let mut r = full(200, "text/plain", "set");
                    for kv in q
                        .split('&')
                        .filter(|kv| !kv.starts_with("attrs=") && kv.contains('='))
                    {
                        let extra = if attrs.is_empty() {
                            String::new()
                        } else {
                            format!("; {attrs}")
                        };
                        r.headers_mut().append(
                            "set-cookie",
                            format!("{kv}; Path=/{extra}").parse().unwrap(),
                        );
                    }
                    r
                }
                Some("delete") => {
                    let mut r = full(200, "text/plain", "deleted");
                    for k in q.split('&').filter(|k| !k.is_empty()) {
                        r.headers_mut().append(
                            "set-cookie",
                            format!("{k}=; Path=/; Max-Age=0").parse().unwrap(),
                        );
                    }
                    r
                }
                _ => full(200, "text/plain", cookie.clone().unwrap_or_default()),
            }
        }
        // POST /multipart: parses the body with multer and answers one line per part:
        // name|filename|content type|length|crc32 (empty fields for absent values).
        "multipart" => {
            let ct = req
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            match multer::parse_boundary(&ct) {
                Err(e) => full(400, "text/plain", format!("no boundary: {e}")),
                Ok(boundary) => {
                    let stream = req.into_body().into_data_stream();
                    let mut form = multer::Multipart::new(stream, boundary);
                    let mut out = String::new();
                    let mut status = 200;
                    loop {
                        match form.next_field().await {
                            Ok(Some(field)) => {
                                let name = field.name().unwrap_or("").to_string();
                                let file = field.file_name().unwrap_or("").to_string();
                                let ctype = field
                                    .content_type()
                                    .map(|m| m.to_string())
                                    .unwrap_or_default();
                                match field.bytes().await {
                                    Ok(data) => {
                                        let mut crc = flate2::Crc::new();
                                        crc.update(&data);
                                        out.push_str(&format!(
                                            "{name}|{file}|{ctype}|{}|{:08x}\n",
                                            data.len(),
                                            crc.sum()
                                        ));
                                    }
                                    Err(e) => {
                                        status = 400;
                                        out.push_str(&format!("error: {e}\n"));
                                        break;
                                    }
                                }
                            }
                            Ok(None) => break,
                            Err(e) => {
                                status = 400;
                                out.push_str(&format!("error: {e}\n"));
                                break;
                            }
                        }
                    }
                    full(status, "text/plain", out)
                }
            }
        }
        // The counters; ?reset=1 first restarts the "most at once" ones (from the connections
        // open now, and from no request).
        "stats" => {
            if query_param(query.as_deref(), "reset") == Some("1") {
                stats
                    .max_open
                    .store(stats.open.load(Ordering::SeqCst), Ordering::SeqCst);
                stats.max_active.store(0, Ordering::SeqCst);
            }
            full(
                200,
                "application/json",
                format!(
                    "{{\"connections\": {}, \"requests\": {}, \"open\": {}, \"max_open\": {}, \"max_active\": {}, \"sent\": {}, \"received\": {}}}",
                    stats.connections.load(Ordering::Relaxed),
                    stats.requests.load(Ordering::Relaxed),
                    stats.open.load(Ordering::SeqCst),
                    stats.max_open.load(Ordering::SeqCst),
                    stats.max_active.load(Ordering::SeqCst),
                    stats.sent.load(Ordering::SeqCst),
                    stats.received.load(Ordering::SeqCst),
                ),
            )
        }
        "" => full(
            200,
            "text/html",
            "<html><body><a href=\"/site/0\">site</a></body></html>",
        ),
        "site" => {
            let delay = query_param(query.as_deref(), "delay_ms")
                .and_then(|d| d.parse().ok())
                .map(Duration::from_millis)
                .unwrap_or(opts.page_delay);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let page = num(1).unwrap_or(0) as usize;
            if page >= opts.pages {
                full(404, "text/html", "<html><body>no such page</body></html>")
            } else {
                let mut html = format!(
                    "<html><head><title>page {page}</title></head><body><h1>Page {page}</h1>\n"
                );
                for child in [2 * page + 1, 2 * page + 2, page / 2] {
                    if child < opts.pages {
                        html.push_str(&format!("<a href=\"/site/{child}\">page {child}</a>\n"));
                    }
                }
                html.push_str("</body></html>\n");
                full(200, "text/html", html)
            }
        }
        _ => full(404, "text/plain", "not found"),
    };
    Ok(resp)
}

/// Serves connections from `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, opts: Arc<Options>, stats: Arc<Stats>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let peer = stream.peer_addr().ok().map(|a| Peer(a.ip()));
        tokio::spawn(serve_from(stream, peer, opts.clone(), stats.clone()));
    }
}

/// Serves one connection (any transport: TCP, TLS, Unix) with HTTP/1.1 or HTTP/2, the
/// latter when the client opens with the HTTP/2 preface (h2c, or h2 after ALPN).
pub async fn serve_io<I>(io: I, opts: Arc<Options>, stats: Arc<Stats>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    serve_from(io, None, opts, stats).await
}

/// The client's address on a TCP connection (what `/peer` answers).
#[derive(Clone, Copy)]
struct Peer(std::net::IpAddr);

async fn serve_from<I>(io: I, peer: Option<Peer>, opts: Arc<Options>, stats: Arc<Stats>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    stats.connections.fetch_add(1, Ordering::Relaxed);
    let now = stats.open.fetch_add(1, Ordering::SeqCst) + 1;
    stats.max_open.fetch_max(now, Ordering::SeqCst);
    let counted = stats.clone();
    let max_streams = opts.h2_max_streams;
    let svc = service_fn(move |mut req: Request<Incoming>| {
        if let Some(p) = peer {
            req.extensions_mut().insert(p);
        }
        route(req, opts.clone(), stats.clone())
    });
    let mut builder =
        hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    if let Some(n) = max_streams {
        builder.http2().max_concurrent_streams(n);
    }
    let _ = builder.serve_connection(TokioIo::new(io), svc).await;
    counted.open.fetch_sub(1, Ordering::SeqCst);
}
