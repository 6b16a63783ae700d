//! Content codings decoded by the engine (gzip, deflate, br, zstd), through the Rust API,
//! against the in-process test server on 127.0.0.1.

use crate::common;

use std::time::Duration;

use common::server::sample_text;
use common::TestServer;
use httpring::{Client, Config, ErrorKind, Request, State};

/// (status, body, the response's Content-Encoding) or the error.
type Outcome = Result<(u16, Vec<u8>, Option<String>), (ErrorKind, String)>;

fn run(client: &Client, req: Request) -> Outcome {
    let h = client.submit(req).expect("submit");
    let state = client.wait(h, Some(Duration::from_secs(20))).unwrap();
    assert_ne!(state, State::Pending, "request did not finish");
    let ex = client.exchange(h).unwrap();
    let out = match ex.outcome().expect("complete") {
        Ok(r) => Ok((
            r.status(),
            r.body().to_vec(),
            r.header(b"content-encoding", 0)
                .map(|v| String::from_utf8_lossy(v).into_owned()),
        )),
        Err(e) => Err((e.kind(), e.message().to_string())),
    };
    drop(ex);
    client.free(h).unwrap();
    out
}

fn get(s: &TestServer, path: &str) -> Request {
    Request::get(s.url(path).as_bytes())
}

#[test]
fn every_coding_is_decoded_and_its_header_kept() {
    let s = TestServer::start();
    let c = Client::new(Config::default()).unwrap();
    let want = sample_text(100_000);
    for (coding, label) in [
        ("gzip", "gzip"),
        ("deflate", "deflate"),
        ("rawdeflate", "deflate"),
        ("br", "br"),
        ("zstd", "zstd"),
        ("gzip-zstd", "gzip, zstd"),
    ] {
        let (status, body, ce) = run(&c, get(&s, &format!("/encoded/{coding}"))).unwrap();
        assert_eq!(status, 200);
        assert_eq!(body.len(), want.len(), "{coding}");
        assert!(body == want, "{coding}: decoded body differs");
        assert_eq!(ce.as_deref(), Some(label));
    }
    // Identity and an unknown coding come through as sent.
    let (_, body, ce) = run(&c, get(&s, "/encoded/identity/5000")).unwrap();
    assert_eq!((body, ce), (sample_text(5000), None));
    let (_, body, ce) = run(&c, get(&s, "/encoded/snappy/5000")).unwrap();
    assert_eq!((body, ce.as_deref()), (sample_text(5000), Some("snappy")));
}

#[test]
fn accept_encoding_is_sent_and_can_be_turned_off() {
    let s = TestServer::start();
    let accept = |c: &Client, req: Request| -> String {
        let (_, body, _) = run(c, req).unwrap();
        let echo = String::from_utf8(body).unwrap();
        let at = echo.find("\"accept-encoding\": \"");
        at.map(|i| {
            let rest = &echo[i + 20..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .unwrap_or_default()
    };
    let on = Client::new(Config::default()).unwrap();
    assert_eq!(accept(&on, get(&s, "/echo")), "gzip, deflate, br, zstd");
    // The request's own Accept-Encoding wins.
    let mut req = get(&s, "/echo");
    req.add_header(b"accept-encoding", b"gzip").unwrap();
    assert_eq!(accept(&on, req), "gzip");
    // Off for one request: nothing asked for, nothing decoded.
    let mut req = get(&s, "/echo");
    req.set_decompress(false);
    assert_eq!(accept(&on, req), "");
    let mut req = get(&s, "/encoded/gzip/1000");
    req.set_decompress(false);
    let (_, raw, _) = run(&on, req).unwrap();
    assert_eq!(&raw[..2], &[0x1f, 0x8b], "gzip magic: left as received");

    let mut cfg = Config::default();
    cfg.decompress = false;
    let off = Client::new(cfg).unwrap();
    assert_eq!(accept(&off, get(&s, "/echo")), "");
    let (_, raw, _) = run(&off, get(&s, "/encoded/zstd/1000")).unwrap();
    assert_eq!(&raw[..4], &[0x28, 0xb5, 0x2f, 0xfd], "zstd magic");
    // On for one request of a client where it is off.
    let mut req = get(&s, "/echo");
    req.set_decompress(true);
    assert_eq!(accept(&off, req), "gzip, deflate, br, zstd");
    let mut req = get(&s, "/encoded/zstd/1000");
    req.set_decompress(true);
    assert_eq!(run(&off, req).unwrap().1, sample_text(1000));
}

#[test]
fn a_bomb_fails_at_the_decoded_limit() {
    let s = TestServer::start();
    let mut cfg = Config::default();
    cfg.max_body_size = 8 << 20;
    let c = Client::new(cfg).unwrap();
    // 256 MiB of zeros (32 times the limit) in ~256 KiB of gzip, and in a few KiB of zstd
    // and br. (A GiB took the debug build's test server most of the wait to compress.)
    for coding in ["gzip", "zstd", "br"] {
        let err = run(&c, get(&s, &format!("/bomb/{coding}/256"))).unwrap_err();
        assert_eq!(err.0, ErrorKind::BodyTooLarge, "{coding}: {}", err.1);
        assert!(err.1.contains("8388608"), "{}", err.1);
    }
    // Within the limit the same kind of body decodes.
    let (_, body, _) = run(&c, get(&s, "/bomb/gzip/4")).unwrap();
    assert_eq!(body.len(), 4 << 20);
    assert!(body.iter().all(|&b| b == 0));
}

#[test]
fn corrupt_data_fails_with_decoding_and_the_client_goes_on() {
    let s = TestServer::start();
    let c = Client::new(Config::default()).unwrap();
    for coding in ["gzip", "deflate", "br", "zstd"] {
        let err = run(&c, get(&s, &format!("/encoded/{coding}?corrupt=1"))).unwrap_err();
        assert_eq!(err.0, ErrorKind::Decoding, "{coding}: {}", err.1);
    }
    let (status, body, _) = run(&c, get(&s, "/encoded/gzip/10")).unwrap();
    assert_eq!((status, body), (200, sample_text(10)));
}

#[test]
fn head_and_empty_bodies_with_a_coding_are_empty() {
    let s = TestServer::start();
    let c = Client::new(Config::default()).unwrap();
    let req = Request::new(b"HEAD", s.url("/encoded/gzip").as_bytes());
    let (status, body, ce) = run(&c, req).unwrap();
    assert_eq!((status, body.len(), ce.as_deref()), (200, 0, Some("gzip")));
    let (_, body, _) = run(&c, get(&s, "/encoded/gzip/0")).unwrap();
    assert!(body.is_empty());
}

/// A streamed body that inflates a thousandfold and more (a decompression bomb) waits for
/// its reader as any other does: decoded a piece at a time as the reader makes room, what
/// is held is the stream's buffer, not the 64 MiB it decodes to, and reading gets it all.
#[test]
fn a_streamed_bomb_waits_for_its_reader() {
    let s = TestServer::start();
    let mut cfg = Config::default();
    cfg.stream_buffer = 64 << 10;
    let c = Client::new(cfg).unwrap();
    // What waits unread: the buffer, and at most one 32 KiB piece past it.
    for coding in ["gzip", "zstd", "br"] {
        let mut req = get(&s, &format!("/bomb/{coding}/64"));
        req.set_stream(true);
        let h = c.submit(req).unwrap();
        c.wait(h, Some(Duration::from_secs(20))).unwrap();
        let stream = c.body_stream(h).unwrap();
        // Nobody reads: the engine stops once the buffer is full (waited for until the
        // count stands still for 300 ms).
        let (mut held, mut still) = (stream.buffered(), std::time::Instant::now());
        while still.elapsed() < Duration::from_millis(300) {
            std::thread::sleep(Duration::from_millis(20));
            let now = stream.buffered();
            if now != held {
                (held, still) = (now, std::time::Instant::now());
            }
        }
        assert!(
            held > 0 && held <= (64 << 10) + (32 << 10),
            "{coding}: {held} bytes held unread"
        );
        let (mut total, mut buf) = (0usize, vec![0u8; 1 << 20]);
        loop {
            match stream.read(&mut buf) {
                httpring::Read::Data(n) => {
                    assert!(buf[..n].iter().all(|&b| b == 0), "{coding}");
                    total += n;
                }
                httpring::Read::End => break,
                httpring::Read::Pending => {
                    stream.wait(Some(std::time::Instant::now() + Duration::from_secs(20)));
                }
                other => panic!("{coding}: {other:?}"),
            }
        }
        assert_eq!(total, 64 << 20, "{coding}");
        c.free(h).unwrap();
    }
}
