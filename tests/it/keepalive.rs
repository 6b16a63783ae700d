//! An idle keep-alive connection as the patched hyper (vendor/README.md) reads it: probe
//! reads use the spare room of a buffer the previous responses still share, so the next
//! response must arrive whole whatever its size, and bytes a server sends on an idle
//! connection must never become the next request's response. Also the framing headers the
//! patched fast paths read: `Connection` tokens and `Content-Length` values in their forms.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::*;
use httpring::ffi::*;
use httpring_code::*;
use httpring_state::*;

/// Reads one request head (these tests send GETs without a body); false at EOF.
fn read_head(r: &mut BufReader<TcpStream>) -> bool {
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return false;
        }
        if line == "\r\n" {
            return true;
        }
    }
}

/// A server that calls `answer(connection, request, writer)` for each request head on each
/// connection (numbered from 0), counting connections.
fn scripted(
    answer: impl Fn(usize, usize, &mut TcpStream) + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let conns = Arc::new(AtomicUsize::new(0));
    let counted = conns.clone();
    let answer = Arc::new(answer);
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let conn = counted.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            thread::spawn(move || {
                let mut w = stream.try_clone().unwrap();
                let mut r = BufReader::new(stream);
                let mut n = 0;
                while read_head(&mut r) {
                    answer(conn, n, &mut w);
                    n += 1;
                }
            });
        }
    });
    (base, conns)
}

/// A server answering every request with `200 OK`, the head lines `head` (each ending in
/// CRLF) and the raw `body` bytes.
fn answering_200(head: &'static str, body: &'static [u8]) -> String {
    scripted(move |_, _, w| {
        let mut out = format!("HTTP/1.1 200 OK\r\n{head}\r\n").into_bytes();
        out.extend_from_slice(body);
        let _ = w.write_all(&out);
    })
    .0
}

fn response(extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\n{extra_headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| b'a' + ((i as u8).wrapping_add(seed)) % 26)
        .collect()
}

#[test]
fn responses_of_any_size_follow_small_ones_while_the_small_ones_are_still_held() {
    // Small, then 12 KiB of headers with 200 KiB of body, then small, then chunked: each
    // response after the first is read into the space a held earlier response left.
    let big_header = format!("X-Big: {}\r\n", "h".repeat(12 * 1024));
    let (base, conns) = scripted(move |_, n, w| {
        let _ = w.write_all(&match n % 4 {
            0 => response("", b"Hello, world!"),
            1 => response(&big_header, &pattern(200 * 1024, 1)),
            2 => response("", b"small again"),
            _ => {
                let body = pattern(100 * 1024, 3);
                let mut out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
                for chunk in body.chunks(7_000) {
                    out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n\r\n");
                out
            }
        });
    });
    let c = Client::new();
    let mut held = Vec::new();
    for round in 0..3 {
        for n in 0..4 {
            let h = c.get(&format!("{base}/{n}"));
            assert_eq!(
                c.wait(h),
                HTTPRING_STATE_DONE,
                "{round}/{n}: {}",
                c.message(h)
            );
            let want: Vec<u8> = match n {
                0 => b"Hello, world!".to_vec(),
                1 => pattern(200 * 1024, 1),
                2 => b"small again".to_vec(),
                _ => pattern(100 * 1024, 3),
            };
            assert_eq!(c.body(h), want, "round {round}, response {n}");
            if n == 1 {
                assert_eq!(c.header(h, "x-big", 0).map(|v| v.len()), Some(12 * 1024));
            }
            held.push(h);
        }
    }
    // Still intact after later responses reused the connection's buffer.
    assert_eq!(c.body(held[0]), b"Hello, world!");
    assert_eq!(c.body(held[1]), pattern(200 * 1024, 1));
    for h in held {
        c.free(h);
    }
    assert_eq!(conns.load(Ordering::SeqCst), 1, "one keep-alive connection");
}

#[test]
fn bytes_sent_on_an_idle_connection_never_become_the_next_response() {
    // The first connection sends an unsolicited response 50 ms after the real one, while
    // the client has it parked; a request it still got would be answered "reused".
    let strayed = Arc::new(AtomicBool::new(false));
    let told = strayed.clone();
    let (base, conns) = scripted(move |conn, n, w| {
        let body: &[u8] = match (conn, n) {
            (0, 0) => b"first",
            (0, _) => b"reused",
            _ => b"fresh",
        };
        let _ = w.write_all(&response("", body));
        if (conn, n) == (0, 0) {
            thread::sleep(Duration::from_millis(50));
            let _ = w.write_all(&response("", b"stray"));
            told.store(true, Ordering::SeqCst);
        }
    });
    let c = Client::new();
    let (status, body) = c.fetch(&format!("{base}/a"));
    assert_eq!((status, body.as_slice()), (200, &b"first"[..]));
    // The stray bytes went (however late the server's thread woke), and had time to arrive.
    let t = std::time::Instant::now();
    while !strayed.load(Ordering::SeqCst) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the stray bytes never went"
        );
        thread::sleep(Duration::from_millis(2));
    }
    thread::sleep(Duration::from_millis(100));
    for i in 0..3 {
        let (status, body) = c.fetch(&format!("{base}/b{i}"));
        assert_eq!(
            (status, String::from_utf8_lossy(&body).into_owned()),
            (200, "fresh".to_string()),
            "request {i} after the stray bytes"
        );
    }
    assert_eq!(
        conns.load(Ordering::SeqCst),
        2,
        "the tainted connection was dropped"
    );
}

#[test]
fn a_close_token_in_any_form_ends_the_connection_and_others_keep_it() {
    // The server keeps every connection open: only the client reading `close` in the
    // Connection header can make the second request use a new one.
    let cases: &[(&str, usize)] = &[
        ("Connection: close\r\n", 2),
        ("Connection: Close\r\n", 2),
        ("Connection:  close \t\r\n", 2),
        ("Connection: keep-alive, close\r\n", 2),
        ("Connection: x-other,close\r\n", 2),
        ("Connection: keep-alive\r\nConnection: close\r\n", 2),
        ("Connection: keep-alive\r\n", 1),
        ("Connection: closed\r\n", 1),
        ("Connection: x-close, keep-alive\r\n", 1),
        ("Connection: \r\n", 1),
        ("", 1),
    ];
    for &(header, want) in cases {
        let (base, conns) = scripted(move |_, _, w| {
            let _ = w.write_all(&response(header, b"ok"));
        });
        let c = Client::new();
        for i in 0..2 {
            let (status, body) = c.fetch(&format!("{base}/{i}"));
            assert_eq!((status, body.as_slice()), (200, &b"ok"[..]), "{header:?}");
        }
        assert_eq!(
            conns.load(Ordering::SeqCst),
            want,
            "connections for {header:?}"
        );
    }
}

#[test]
fn content_length_is_used_only_when_every_value_agrees() {
    /// Headers, the body the server sends, and the body expected (None: a protocol error).
    type Case = (&'static str, &'static [u8], Option<&'static [u8]>);
    let cases: &[Case] = &[
        ("Content-Length: 2\r\n", b"ok", Some(b"ok")),
        ("Content-Length: 2 \r\n", b"ok", Some(b"ok")),
        (
            "Content-Length: 2\r\nContent-Length: 2\r\n",
            b"ok",
            Some(b"ok"),
        ),
        ("Content-Length: 2, 2\r\n", b"ok", Some(b"ok")),
        (
            "Content-Length: 2,2\r\nContent-Length: 2\r\n",
            b"ok",
            Some(b"ok"),
        ),
        ("Content-Length: 2\r\nContent-Length: 3\r\n", b"okk", None),
        ("Content-Length: 2, 3\r\n", b"okk", None),
        ("Content-Length: +2\r\n", b"ok", None),
        ("Content-Length: 0x2\r\n", b"ok", None),
        ("Content-Length: \r\n", b"", None),
        ("Content-Length: 99999999999999999999999\r\n", b"ok", None),
    ];
    for &(headers, body, want) in cases {
        let base = answering_200(headers, body);
        let c = Client::new();
        let h = c.get(&format!("{base}/"));
        let state = c.wait(h);
        match want {
            Some(want) => {
                assert_eq!(state, HTTPRING_STATE_DONE, "{headers:?}: {}", c.message(h));
                assert_eq!(c.body(h), want, "{headers:?}");
            }
            None => {
                assert_eq!(state, HTTPRING_STATE_FAILED, "{headers:?} must be refused");
                assert_eq!(
                    c.error(h),
                    HTTPRING_ERR_PROTOCOL,
                    "{headers:?}: {}",
                    c.message(h)
                );
            }
        }
        c.free(h);
    }
}

#[test]
fn a_body_is_whole_whether_it_comes_with_its_head_late_or_with_extra_bytes() {
    // Connection 0: request 0's body comes 50 ms after its head; request 1's response is
    // followed, in the same write, by an unsolicited one. A request after that must not get
    // the unsolicited bytes: it goes out on connection 1.
    let (base, conns) = scripted(|conn, n, w| {
        match (conn, n) {
            (0, 0) => {
                let _ = w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
                thread::sleep(Duration::from_millis(50));
                let _ = w.write_all(b"late!");
            }
            (0, 1) => {
                let mut out = response("", b"whole");
                out.extend_from_slice(&response("", b"stray"));
                let _ = w.write_all(&out);
            }
            (0, _) => {
                let _ = w.write_all(&response("", b"reused"));
            }
            _ => {
                let _ = w.write_all(&response("", b"fresh"));
            }
        };
    });
    let c = Client::new();
    let mut got = Vec::new();
    for i in 0..3 {
        let (status, body) = c.fetch(&format!("{base}/{i}"));
        assert_eq!(status, 200);
        got.push(String::from_utf8_lossy(&body).into_owned());
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(got, ["late!", "whole", "fresh"]);
    assert_eq!(conns.load(Ordering::SeqCst), 2);
}

#[test]
fn header_names_in_any_spelling_are_read_and_transfer_encoding_wins_over_length() {
    // (head lines after the status line, body bytes, expected body)
    type Case = (&'static str, &'static [u8], &'static [u8]);
    let cases: &[Case] = &[
        ("Content-Length: 2\r\nServer: s\r\n", b"ok", b"ok"),
        ("content-length: 2\r\nserver: s\r\n", b"ok", b"ok"),
        ("CONTENT-LENGTH: 2\r\nSERVER: s\r\n", b"ok", b"ok"),
        ("cOnTeNt-LeNgTh: 2\r\nsErVeR: s\r\n", b"ok", b"ok"),
        (
            "Transfer-Encoding: chunked\r\nContent-Length: 3\r\nServer: s\r\n",
            b"5\r\nhello\r\n0\r\n\r\n",
            b"hello",
        ),
        (
            "Content-Length: 3\r\nTRANSFER-ENCODING: chunked\r\nserver: s\r\n",
            b"5\r\nhello\r\n0\r\n\r\n",
            b"hello",
        ),
    ];
    for &(head, body, want) in cases {
        let base = answering_200(head, body);
        let c = Client::new();
        for i in 0..2 {
            let h = c.get(&format!("{base}/{i}"));
            assert_eq!(c.wait(h), HTTPRING_STATE_DONE, "{head:?}: {}", c.message(h));
            assert_eq!(c.body(h), want, "{head:?}");
            assert_eq!(c.header(h, "server", 0).as_deref(), Some("s"), "{head:?}");
            assert_eq!(c.header(h, "SERVER", 0).as_deref(), Some("s"), "{head:?}");
            c.free(h);
        }
    }
}

#[test]
fn a_body_held_back_by_nagle_is_acknowledged_for_without_delay() {
    // A server with Nagle's algorithm on (std's default) that writes a head and then a
    // body smaller than a segment sends the body only once the head is acknowledged. The
    // client's socket is in ping-pong mode after a few exchanges and would hold that ACK for
    // its delayed-ACK timer (40 ms or more), waiting for a next request that cannot come
    // before the response is whole: every response would stall. The request asks for the
    // ACK at once when it finds its body incomplete (transport/quickack.rs).
    const ROUNDS: usize = 20;
    let size = |n: usize| if n % 2 == 0 { 10_000 } else { 60_000 };
    let base = scripted(move |_, n, w| {
        let body = pattern(size(n), n as u8);
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
        let _ = w.write_all(head.as_bytes());
        let _ = w.write_all(&body);
    })
    .0;
    // Buffered bodies, then streamed ones (each reader of a body says when it waits).
    for streamed in [false, true] {
        let c = Client::new();
        let mut took = Vec::new();
        for n in 0..ROUNDS {
            let url = format!("{base}/{n}");
            let t = std::time::Instant::now();
            let body = if streamed {
                read_streamed(&c, &url)
            } else {
                c.fetch(&url).1
            };
            took.push(ms_since(t));
            assert_eq!(body, pattern(size(n), n as u8), "streamed: {streamed}");
        }
        // Stalled, nearly every round takes ≥ 40 ms; not stalled, a few ms. Counting the
        // slow rounds (not summing them) leaves room for a loaded machine's odd stall.
        let slow = took.iter().filter(|&&ms| ms >= 40).count();
        assert!(
            slow < ROUNDS / 2,
            "streamed: {streamed}: {slow} of {ROUNDS} responses took 40 ms or more: delayed \
             ACKs stalled them (ms each: {took:?})"
        );
    }
}

/// A streamed GET's whole body, read as it arrives.
fn read_streamed(c: &Client, url: &str) -> Vec<u8> {
    let h = c
        .submit("GET", url, |r| unsafe {
            assert_eq!(httpring_request_set_stream(r, true), HTTPRING_OK);
        })
        .unwrap();
    let mut buf = vec![0u8; 100_000];
    let mut body = Vec::new();
    loop {
        let mut n = 0;
        match unsafe { httpring_handle_read(c.0, h, buf.as_mut_ptr(), buf.len(), &mut n) } {
            HTTPRING_OK if n == 0 => break,
            HTTPRING_OK => body.extend_from_slice(&buf[..n]),
            HTTPRING_PENDING => {
                assert_eq!(httpring_handle_wait_body(c.0, h, 5_000), HTTPRING_OK);
            }
            code => panic!("{code:?}: {}", c.message(h)),
        }
    }
    assert_eq!(c.free(h), HTTPRING_OK);
    body
}
