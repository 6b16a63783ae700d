//! Response parsing end to end: a server on 127.0.0.1 in this process answers each request
//! with the fuzzed bytes and closes; a client made once GETs it. The first byte picks HTTP/1.1
//! or h2c (prior knowledge) and whether the body is streamed; the rest is what the server
//! writes. Whatever it is, the request must complete exactly once (any status or error),
//! without a panic or a hang; the 200 ms total timeout bounds each input.
#![no_main]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use httpring::{Client, Config, HttpVersionPref, Read as BodyRead, Request};
use libfuzzer_sys::fuzz_target;

const MAX_BODY: u64 = 64 << 10;

struct Rig {
    url: Vec<u8>,
    /// What the server answers with (the current input).
    answer: Arc<Mutex<Vec<u8>>>,
    h1: Client,
    h2c: Client,
}

fn client(h2c: bool) -> Client {
    let mut cfg = Config::default();
    cfg.timeout = Some(Duration::from_millis(200));
    cfg.connect_timeout = Some(Duration::from_millis(200));
    cfg.max_body_size = MAX_BODY;
    cfg.use_env_proxy = false;
    // Every input on a fresh connection: a kept-alive one would carry the last input's
    // leftovers into the next.
    cfg.pool_max_idle_per_host = 0;
    cfg.tls.roots = httpring::RootStore::None;
    if h2c {
        cfg.http_version = HttpVersionPref::Http2Only;
        cfg.h2c_prior_knowledge = true;
    }
    Client::new(cfg).expect("client")
}

/// Reads what the client sends first (an HTTP/1.1 head, or h2's preface and first frames),
/// writes `answer`, closes the writing side and drains until the client closes.
fn serve(mut s: TcpStream, answer: &[u8]) {
    let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
    let _ = s.set_nodelay(true);
    let mut buf = [0u8; 4096];
    let mut got = Vec::new();
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if got.windows(4).any(|w| w == b"\r\n\r\n") && !got.starts_with(b"PRI * HTTP/2.0") {
            break;
        }
        // h2: the preface (24 bytes) and at least the SETTINGS frame's header.
        if got.starts_with(b"PRI * HTTP/2.0") && got.len() >= 24 + 9 {
            break;
        }
    }
    let _ = s.write_all(answer);
    let _ = s.shutdown(Shutdown::Write);
    let _ = s.set_read_timeout(Some(Duration::from_millis(250)));
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
    }
}

static RIG: LazyLock<Rig> = LazyLock::new(|| {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/fuzz", listener.local_addr().unwrap()).into_bytes();
    let answer = Arc::new(Mutex::new(Vec::new()));
    let a = answer.clone();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            let answer = a.lock().unwrap().clone();
            serve(s, &answer);
        }
    });
    Rig {
        url,
        answer,
        h1: client(false),
        h2c: client(true),
    }
});

fuzz_target!(|data: &[u8]| {
    let Some((&sel, answer)) = data.split_first() else {
        return;
    };
    let rig = &*RIG;
    *rig.answer.lock().unwrap() = answer.to_vec();
    let client = if sel & 1 == 0 { &rig.h1 } else { &rig.h2c };
    let mut req = Request::new(b"GET", &rig.url);
    let stream = sel & 2 != 0;
    req.set_stream(stream);
    req.set_decompress(sel & 4 == 0);
    let h = client.submit(req).expect("submit");
    let mut out = Vec::new();
    client.wait_drain(&mut out, 4, 1, Some(Duration::from_secs(10)));
    assert_eq!(out.len(), 1, "completions of one request: {out:?}");
    assert_eq!(out[0].handle, h);
    if stream && out[0].error.is_none() {
        // Read the streamed body to its end (or error): bounded by the timeout too.
        let mut buf = [0u8; 16 << 10];
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "streamed body never ended"
            );
            match client.read(h, &mut buf) {
                Ok(BodyRead::Data(_)) => {}
                Ok(BodyRead::Pending) => {
                    let _ = client.wait_body(h, Some(Duration::from_secs(10)));
                }
                _ => break,
            }
        }
    }
    client.free(h).expect("free");
    let mut more = Vec::new();
    client.drain(&mut more, 4);
    assert!(more.is_empty(), "completions after the first: {more:?}");
});
