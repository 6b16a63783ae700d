//! Requests and responses through the C ABI against an in-process server.

use crate::common;

use std::ffi::CString;

use common::*;
use httpring::ffi::*;
use httpring_code::*;

#[test]
fn get_reads_status_version_headers_and_body() {
    let srv = TestServer::start();
    let c = Client::new();
    let h = c.get(&srv.url("/headers"));
    assert_eq!(c.wait(h), httpring_state::HTTPRING_STATE_DONE);
    let r = c.response(h);
    assert_eq!(r.status, 200);
    assert_eq!(r.version, httpring_http_version::HTTPRING_HTTP_1_1);
    assert_eq!(c.body(h), b"headers");
    let url = unsafe { std::slice::from_raw_parts(r.url, r.url_len) };
    assert_eq!(url, srv.url("/headers").as_bytes());
    assert!(r.elapsed_us > 0);
    // Case-insensitive lookup, multiple values in order, missing header.
    assert_eq!(c.header(h, "X-CUSTOM", 0).as_deref(), Some("Yes"));
    assert_eq!(c.header(h, "set-cookie", 0).as_deref(), Some("a=1"));
    assert_eq!(c.header(h, "Set-Cookie", 1).as_deref(), Some("b=2"));
    assert_eq!(c.header(h, "set-cookie", 2), None);
    assert_eq!(c.header(h, "x-missing", 0), None);
    // Iteration covers every line, and the raw block agrees with it.
    let mut lines = Vec::new();
    for i in 0..r.header_count {
        let (mut n, mut nl, mut v, mut vl) = (std::ptr::null(), 0, std::ptr::null(), 0);
        assert_eq!(
            unsafe { httpring_response_header_at(c.0, h, i, &mut n, &mut nl, &mut v, &mut vl) },
            HTTPRING_OK
        );
        let (n, v) = unsafe {
            (
                std::slice::from_raw_parts(n, nl),
                std::slice::from_raw_parts(v, vl),
            )
        };
        lines.push(format!(
            "{}: {}\r\n",
            String::from_utf8_lossy(n),
            String::from_utf8_lossy(v)
        ));
    }
    let (mut n, mut nl, mut v, mut vl) = (std::ptr::null(), 0, std::ptr::null(), 0);
    assert_eq!(
        unsafe {
            httpring_response_header_at(c.0, h, r.header_count, &mut n, &mut nl, &mut v, &mut vl)
        },
        HTTPRING_ERR_NOT_FOUND
    );
    assert!(lines.contains(&"set-cookie: a=1\r\n".to_string()));
    assert!(lines.contains(&"content-type: text/plain\r\n".to_string()));
    let (mut p, mut len) = (std::ptr::null(), 0);
    assert_eq!(
        unsafe { httpring_response_headers_raw(c.0, h, &mut p, &mut len) },
        HTTPRING_OK
    );
    let block = String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(p, len) }).into_owned();
    assert_eq!(block, lines.concat());
    assert_eq!(c.free(h), HTTPRING_OK);
    assert_eq!(c.live(), 0);
}

#[test]
fn post_sends_body_and_content_type() {
    let srv = TestServer::start();
    let c = Client::new();
    let url = CString::new(srv.url("/echo")).unwrap();
    let body = b"name=value&x=1";
    let mut h = 0;
    let code = unsafe {
        httpring_client_post(
            c.0,
            url.as_ptr(),
            c"application/x-www-form-urlencoded".as_ptr(),
            body.as_ptr(),
            body.len(),
            7,
            &mut h,
        )
    };
    assert_eq!(code, HTTPRING_OK);
    c.wait(h);
    let echo = String::from_utf8(c.body(h)).unwrap();
    assert!(echo.contains(r#""method": "POST""#), "{echo}");
    assert!(echo.contains(r#""body": "name=value&x=1""#), "{echo}");
    assert!(
        echo.contains(r#""content-type": "application/x-www-form-urlencoded""#),
        "{echo}"
    );
    assert!(echo.contains(r#""content-length": "14""#), "{echo}");
    let mut ud = 0;
    assert_eq!(
        unsafe { httpring_handle_user_data(c.0, h, &mut ud) },
        HTTPRING_OK
    );
    assert_eq!(ud, 7);
    c.free(h);
}

#[test]
fn post_json_sets_content_type() {
    let srv = TestServer::start();
    let c = Client::new();
    let url = CString::new(srv.url("/echo")).unwrap();
    let json = br#"{"a": [1, 2]}"#;
    let mut h = 0;
    assert_eq!(
        unsafe {
            httpring_client_post_json(c.0, url.as_ptr(), json.as_ptr(), json.len(), 0, &mut h)
        },
        HTTPRING_OK
    );
    c.wait(h);
    let echo = String::from_utf8(c.body(h)).unwrap();
    assert!(
        echo.contains(r#""content-type": "application/json""#),
        "{echo}"
    );
    assert!(echo.contains(r#""body": "{\"a\": [1, 2]}""#), "{echo}");
    c.free(h);
}

#[test]
fn custom_headers_override_defaults() {
    let srv = TestServer::start();
    let c = Client::with(|cfg| unsafe {
        assert_eq!(
            httpring_config_add_default_header(cfg, c"X-Default".as_ptr(), c"d".as_ptr()),
            HTTPRING_OK
        );
        assert_eq!(
            httpring_config_add_default_header(cfg, c"X-Both".as_ptr(), c"from-client".as_ptr()),
            HTTPRING_OK
        );
        assert_eq!(
            httpring_config_set_user_agent(cfg, c"tester/1.0".as_ptr()),
            HTTPRING_OK
        );
    });
    let h = c
        .submit("PUT", &srv.url("/echo?q=1"), |req| unsafe {
            assert_eq!(
                httpring_request_add_header(req, c"X-Both".as_ptr(), c"from-request".as_ptr()),
                HTTPRING_OK
            );
            assert_eq!(
                httpring_request_add_header(req, c"X-Multi".as_ptr(), c"1".as_ptr()),
                HTTPRING_OK
            );
            assert_eq!(
                httpring_request_add_header(req, c"X-Multi".as_ptr(), c"2".as_ptr()),
                HTTPRING_OK
            );
            assert_eq!(
                httpring_request_set_body(req, b"abc".as_ptr(), 3),
                HTTPRING_OK
            );
        })
        .unwrap();
    c.wait(h);
    let echo = String::from_utf8(c.body(h)).unwrap();
    assert!(echo.contains(r#""method": "PUT""#), "{echo}");
    assert!(echo.contains(r#""path": "/echo?q=1""#), "{echo}");
    assert!(echo.contains(r#""x-default": "d""#), "{echo}");
    assert!(echo.contains(r#""x-both": "from-request""#), "{echo}");
    assert!(!echo.contains("from-client"), "{echo}");
    assert!(echo.contains(r#""x-multi": "1, 2""#), "{echo}");
    assert!(echo.contains(r#""user-agent": "tester/1.0""#), "{echo}");
    assert!(echo.contains(r#""host": "127.0.0.1:"#), "{echo}");
    c.free(h);

    // The one-call path with explicit-length headers.
    let url = CString::new(srv.url("/echo")).unwrap();
    let hdr = httpring_header {
        name: b"X-Send".as_ptr(),
        name_len: 6,
        value: b"yes".as_ptr(),
        value_len: 3,
    };
    let mut h = 0;
    let code = unsafe {
        httpring_client_send(
            c.0,
            c"DELETE".as_ptr(),
            url.as_ptr(),
            &hdr,
            1,
            std::ptr::null(),
            0,
            9,
            &mut h,
        )
    };
    assert_eq!(code, HTTPRING_OK);
    c.wait(h);
    let echo = String::from_utf8(c.body(h)).unwrap();
    assert!(
        echo.contains(r#""method": "DELETE""#) && echo.contains(r#""x-send": "yes""#),
        "{echo}"
    );
    c.free(h);
}

#[test]
fn ten_mib_body_arrives_intact() {
    let srv = TestServer::start();
    let c = Client::new();
    let n = 10 * 1024 * 1024;
    let (status, body) = c.fetch(&srv.url(&format!("/bytes/{n}")));
    assert_eq!(status, 200);
    assert_eq!(body.len(), n);
    assert!(body
        .iter()
        .enumerate()
        .all(|(i, &b)| b == b'a' + (i % 26) as u8));
}

#[test]
fn status_codes_are_responses_not_errors() {
    let srv = TestServer::start();
    let c = Client::new();
    for code in [201u16, 204, 404, 500, 503] {
        let h = c.get(&srv.url(&format!("/status/{code}")));
        assert_eq!(c.wait(h), httpring_state::HTTPRING_STATE_DONE);
        assert_eq!(c.error(h), HTTPRING_OK);
        assert_eq!(c.response(h).status, code);
        c.free(h);
    }
}

#[test]
fn pool_reuses_one_connection_for_sequential_requests() {
    let srv = TestServer::start();
    let c = Client::new();
    for _ in 0..20 {
        assert_eq!(
            c.fetch(&srv.url("/hello")),
            (200, b"Hello, world!".to_vec())
        );
    }
    assert_eq!(srv.connections(), 1);
    // Disabling idle connections forces a new connection per request.
    let c2 = Client::with(|cfg| {
        assert_eq!(
            unsafe { httpring_config_set_pool_max_idle_per_host(cfg, 0) },
            HTTPRING_OK
        )
    });
    for _ in 0..3 {
        c2.fetch(&srv.url("/hello"));
    }
    assert_eq!(srv.connections(), 4);
}

#[test]
fn localhost_name_resolves() {
    let srv = TestServer::start();
    let c = Client::new();
    let url = srv.url("/hello").replace("127.0.0.1", "localhost");
    let h = c.get(&url);
    c.wait(h);
    // localhost may resolve to ::1 first; the server is IPv4-only, so fallback must work.
    assert_eq!(c.error(h), HTTPRING_OK, "{}", c.message(h));
    assert_eq!(c.body(h), b"Hello, world!");
    c.free(h);
}

#[test]
fn multi_thread_runtime_serves_requests() {
    let srv = TestServer::start();
    let c = Client::with(|cfg| {
        assert_eq!(
            unsafe { httpring_config_set_worker_threads(cfg, 2) },
            HTTPRING_OK
        )
    });
    let hs: Vec<_> = (0..50).map(|_| c.get(&srv.url("/hello"))).collect();
    assert_eq!(
        unsafe { httpring_handle_wait_all(c.0, hs.as_ptr(), hs.len(), 30_000) },
        HTTPRING_OK
    );
    for h in hs {
        assert_eq!(c.body(h), b"Hello, world!");
        c.free(h);
    }
}

/// `httpring_handles_read`: one call reads several handles' outcomes, each with its own
/// code: a response (status, body, header block, URL), a failure, a pending request, a
/// freed handle.
#[test]
fn handles_read_reports_each_handle() {
    let srv = TestServer::start();
    let c = Client::new();
    let ok = c.get(&srv.url("/hello"));
    let missing = c.get(&srv.url("/status/404"));
    let refused = c.get("http://127.0.0.1:1/");
    for h in [ok, missing, refused] {
        c.wait(h);
    }
    let pending = c.get(&srv.url("/stall"));
    let freed = c.get(&srv.url("/hello"));
    c.wait(freed);
    assert_eq!(c.free(freed), httpring_code::HTTPRING_OK);
    let hs = [ok, missing, refused, pending, freed];
    let mut out = vec![httpring_result::default(); hs.len()];
    assert_eq!(
        unsafe { httpring_handles_read(c.0, hs.as_ptr(), hs.len(), out.as_mut_ptr()) },
        httpring_code::HTTPRING_OK
    );
    let text = |p: *const u8, n: usize| unsafe { std::slice::from_raw_parts(p, n) }.to_vec();
    assert_eq!(out[0].code, httpring_code::HTTPRING_OK);
    assert_eq!(out[0].status, 200);
    assert_eq!(text(out[0].body, out[0].body_len), c.body(ok));
    let block = String::from_utf8(text(out[0].headers, out[0].headers_len)).unwrap();
    assert!(block.contains("content-length: "), "{block}");
    assert_eq!(
        text(out[0].url, out[0].url_len),
        srv.url("/hello").into_bytes()
    );
    assert_eq!(out[1].code, httpring_code::HTTPRING_OK);
    assert_eq!(out[1].status, 404);
    assert_eq!(out[2].code, httpring_code::HTTPRING_ERR_CONNECT_REFUSED);
    assert!(out[2].body.is_null() && out[2].headers.is_null());
    assert_eq!(out[3].code, httpring_code::HTTPRING_PENDING);
    assert_eq!(out[4].code, httpring_code::HTTPRING_ERR_INVALID_HANDLE);
    // Bad arguments.
    assert_eq!(
        unsafe { httpring_handles_read(c.0, hs.as_ptr(), 2, std::ptr::null_mut()) },
        httpring_code::HTTPRING_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        unsafe { httpring_handles_read(c.0, std::ptr::null(), 0, std::ptr::null_mut()) },
        httpring_code::HTTPRING_OK
    );
    for h in [ok, missing, refused, pending] {
        assert_eq!(c.free(h), httpring_code::HTTPRING_OK);
    }
}

/// `httpring_handles_read_pieces` with `httpring_config_set_body_pieces`: a body that came
/// in several reads is given as those pieces (in the caller's array, one body after
/// another) instead of one joined buffer; one that came at once, one that came in more than
/// 16 reads (joined as it was read) and one whose pieces no longer fit in the array are
/// given in `body`, as `httpring_handles_read` gives them; the joined body read afterwards
/// is the same bytes. Without the setting, bodies are joined as they are read.
#[test]
fn handles_read_pieces_gives_a_body_as_it_was_read() {
    let srv = TestServer::start();
    let joining = Client::new();
    let h = joining.get(&srv.url("/drip/3/50"));
    joining.wait(h);
    let mut out = [httpring_result::default()];
    let mut room = [httpring_piece {
        data: std::ptr::null(),
        len: 0,
    }; 4];
    let code = unsafe {
        httpring_handles_read_pieces(joining.0, &h, 1, out.as_mut_ptr(), room.as_mut_ptr(), 4)
    };
    assert_eq!(code, HTTPRING_OK);
    assert!(out[0].body_pieces.is_null());
    assert_eq!(
        unsafe { std::slice::from_raw_parts(out[0].body, out[0].body_len) },
        b"xxx"
    );
    assert_eq!(
        unsafe { httpring_config_set_body_pieces(std::ptr::null_mut(), true) },
        HTTPRING_ERR_INVALID_ARGUMENT
    );

    let c = Client::with(|cfg| unsafe {
        assert_eq!(httpring_config_set_body_pieces(cfg, true), HTTPRING_OK);
    });
    // /drip/N/MS: N bytes ("x"), one every MS ms, so about N reads (a busy machine may
    // read two at once: the counts below allow for it).
    let urls = [
        "/drip/5/50",
        "/hello",
        "/drip/3/50",
        "/drip/40/10",
        "/drip/2/50",
    ];
    let hs: Vec<_> = urls.iter().map(|u| c.get(&srv.url(u))).collect();
    for &h in &hs {
        c.wait(h);
    }
    let none = httpring_piece {
        data: std::ptr::null(),
        len: 0,
    };
    let read = |out: &mut [httpring_result], pieces: &mut [httpring_piece]| unsafe {
        httpring_handles_read_pieces(
            c.0,
            hs.as_ptr(),
            hs.len(),
            out.as_mut_ptr(),
            pieces.as_mut_ptr(),
            pieces.len(),
        )
    };
    let bytes = |p: *const u8, n: usize| unsafe { std::slice::from_raw_parts(p, n) }.to_vec();
    let joined = |r: &httpring_result| -> Vec<u8> {
        let list = unsafe { std::slice::from_raw_parts(r.body_pieces, r.body_piece_count) };
        list.iter().flat_map(|p| bytes(p.data, p.len)).collect()
    };
    let mut out = vec![httpring_result::default(); hs.len()];
    let mut pieces = [none; 64];
    assert_eq!(read(&mut out, &mut pieces), HTTPRING_OK);
    for r in &out {
        assert_eq!((r.code, r.status), (HTTPRING_OK, 200));
    }
    let (n0, n2) = (out[0].body_piece_count, out[2].body_piece_count);
    assert!((2..=5).contains(&n0) && (2..=3).contains(&n2), "{n0} {n2}");
    // 40 reads: more than the 16 pieces a body is kept in, so joined while read (room or
    // not).
    assert!(out[3].body_pieces.is_null() && out[3].body_piece_count == 0);
    assert_eq!(bytes(out[3].body, out[3].body_len), [b'x'; 40]);
    // Then with room for exactly the first two bodies' pieces: the last one's (1 or 2)
    // no longer fit.
    let mut pieces = vec![none; n0 + n2];
    assert_eq!(read(&mut out, &mut pieces), HTTPRING_OK);
    for (i, n, at) in [(0, 5, 0), (2, 3, n0)] {
        let r = &out[i];
        assert!(r.body.is_null(), "body {i}");
        assert_eq!(r.body_pieces, pieces[at..].as_ptr());
        assert_eq!(r.body_len, n);
        assert!(pieces[at..at + r.body_piece_count]
            .iter()
            .all(|p| p.len >= 1));
        assert_eq!(joined(r), vec![b'x'; n]);
        assert_eq!(r.bytes_received, n as u64);
    }
    // Given whole: one read; 40 reads (over 16: joined while read); pieces that do not fit.
    for (i, body) in [(1, &b"Hello, world!"[..]), (3, &[b'x'; 40]), (4, b"xx")] {
        assert!(out[i].body_pieces.is_null() && out[i].body_piece_count == 0);
        assert_eq!(bytes(out[i].body, out[i].body_len), body, "body {i}");
    }
    // Joined on request (the pieces stay valid beside it), and alike through the other
    // ways of reading a response.
    assert_eq!(c.body(hs[0]), b"xxxxx");
    assert_eq!(joined(&out[0]), b"xxxxx");
    let mut plain = vec![httpring_result::default(); hs.len()];
    assert_eq!(
        unsafe { httpring_handles_read(c.0, hs.as_ptr(), hs.len(), plain.as_mut_ptr()) },
        HTTPRING_OK
    );
    assert_eq!(bytes(plain[2].body, plain[2].body_len), b"xxx");
    assert!(plain.iter().all(|r| r.body_pieces.is_null()));
    // Bad arguments: room for pieces but no array; a struct without version 6's fields
    // with pieces asked for (it cannot say where they are). No room: no pieces.
    let (hp, op, null) = (hs.as_ptr(), out.as_mut_ptr(), std::ptr::null_mut());
    let code = unsafe { httpring_handles_read_pieces(c.0, hp, 1, op, null, 4) };
    assert_eq!(code, HTTPRING_ERR_INVALID_ARGUMENT);
    out[0].struct_size = 104;
    assert_eq!(read(&mut out, &mut pieces), HTTPRING_ERR_INVALID_ARGUMENT);
    out[0].struct_size = std::mem::size_of::<httpring_result>() as u32;
    let code = unsafe { httpring_handles_read_pieces(c.0, hp, 1, out.as_mut_ptr(), null, 0) };
    assert_eq!(code, HTTPRING_OK);
    assert_eq!(bytes(out[0].body, out[0].body_len), b"xxxxx");
    for h in hs {
        assert_eq!(c.free(h), HTTPRING_OK);
    }
}

/// The client remembers the last URL it parsed: repeats, alternations and a bad URL in
/// between all go where they say.
#[test]
fn repeated_and_alternating_urls_reach_their_targets() {
    let srv = TestServer::start();
    let c = Client::new();
    let (hello, json) = (srv.url("/hello"), srv.url("/json"));
    for url in [&hello, &hello, &json, &hello, &json, &json] {
        let (status, body) = c.fetch(url);
        assert_eq!(status, 200);
        let text = String::from_utf8(body).unwrap();
        if url == &hello {
            assert_eq!(text, "Hello, world!");
        } else {
            assert!(text.contains("\"ok\": true"), "{text}");
        }
    }
    let bad = CString::new("http://[::1/").unwrap();
    let mut h = 0;
    assert_eq!(
        unsafe { httpring_client_get(c.0, bad.as_ptr(), 0, &mut h) },
        HTTPRING_ERR_INVALID_URL
    );
    // A URL that differs from the cached one only in its last byte.
    assert_eq!(c.fetch(&srv.url("/hello")).1, b"Hello, world!");
    assert_eq!(c.fetch(&srv.url("/status/204")).0, 204);
    assert_eq!(c.fetch(&srv.url("/status/205")).0, 205);
}

#[test]
fn the_host_header_is_the_urls_authority_without_user_info() {
    let srv = TestServer::start();
    let c = Client::new();
    let port = srv
        .url("/")
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    for (url, host) in [
        (
            format!("http://127.0.0.1:{port}/echo"),
            format!("127.0.0.1:{port}"),
        ),
        (
            format!("http://user:pw@127.0.0.1:{port}/echo"),
            format!("127.0.0.1:{port}"),
        ),
        (
            format!("http://a@b:c%40d@127.0.0.1:{port}/echo"),
            format!("127.0.0.1:{port}"),
        ),
    ] {
        let (status, body) = c.fetch(&url);
        assert_eq!(status, 200, "{url}");
        let echo = String::from_utf8(body).unwrap();
        assert!(
            echo.contains(&format!(r#""host": "{host}""#)),
            "{url}: {echo}"
        );
        // User info goes only into Authorization (Basic, decoded: tests/it/redirects.rs),
        // never into Host or anywhere else.
        let outside_auth: String = echo
            .split(", ")
            .filter(|kv| !kv.contains("\"authorization\""))
            .collect();
        assert!(
            !outside_auth.contains("pw") && !outside_auth.contains("c%40d"),
            "{url}: {echo}"
        );
        assert_eq!(
            echo.contains("\"authorization\": \"Basic "),
            url.contains('@'),
            "{url}: {echo}"
        );
    }
}

/// A URL the strict request-target grammar refuses (a space) or would send unresolved
/// (`..`) goes out as browsers, curl and httpx send it; a Content-Length of the caller's
/// that disagrees with the body is refused at submit (sent, a larger one hung the request
/// to its timeout and a smaller one cut the body short).
#[test]
fn urls_are_encoded_and_resolved_and_a_wrong_content_length_is_refused() {
    let srv = TestServer::start();
    let c = Client::new();
    let (status, body) = c.fetch(&srv.url("/echo/a b/../c%20d?q=a b"));
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("/echo/c%20d?q=a%20b"), "{text}");

    for (declared, body) in [(c"10", &b"abc"[..]), (c"2", b"abcdef"), (c"40", b"")] {
        let got = c.submit("POST", &srv.url("/echo"), |req| unsafe {
            assert_eq!(
                httpring_request_add_header(req, c"Content-Length".as_ptr(), declared.as_ptr()),
                HTTPRING_OK
            );
            assert_eq!(
                httpring_request_set_body(req, body.as_ptr().cast(), body.len()),
                HTTPRING_OK
            );
        });
        assert_eq!(got, Err(HTTPRING_ERR_INVALID_HEADER), "{declared:?}");
    }
    let h = c
        .submit("POST", &srv.url("/echo"), |req| unsafe {
            httpring_request_add_header(req, c"Content-Length".as_ptr(), c"3".as_ptr());
            httpring_request_set_body(req, b"abc".as_ptr().cast(), 3);
        })
        .unwrap();
    assert_eq!(c.wait(h), httpring_state::HTTPRING_STATE_DONE);
    assert!(String::from_utf8_lossy(&c.body(h)).contains("abc"));
}

/// More header lines than hyper's default of 100 fail with a message that says what to
/// raise; a client that raised the limit reads them all.
#[test]
fn a_response_with_many_header_lines_needs_the_limit_raised() {
    let srv = TestServer::start();
    let c = Client::new();
    let h = c.get(&srv.url("/many-headers/150"));
    assert_eq!(c.wait(h), httpring_state::HTTPRING_STATE_FAILED);
    assert_eq!(c.error(h), HTTPRING_ERR_PROTOCOL);
    let message = c.message(h);
    assert!(
        message.contains("httpring_config_set_max_response_headers"),
        "{message}"
    );
    assert_eq!(c.fetch(&srv.url("/many-headers/90")).0, 200);

    let raised = Client::with(|cfg| unsafe {
        assert_eq!(
            httpring_config_set_max_response_headers(cfg, 0),
            HTTPRING_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            httpring_config_set_max_response_headers(cfg, 500),
            HTTPRING_OK
        );
    });
    let h = raised.get(&srv.url("/many-headers/400"));
    assert_eq!(raised.wait(h), httpring_state::HTTPRING_STATE_DONE);
    assert_eq!(raised.header(h, "x-h-399", 0).as_deref(), Some("399"));
}

/// The reason phrase: the server's own when it is not the standard one (HTTP/1.1), through
/// `httpring_response_reason` and `httpring_result.reason`; else the standard one from the
/// accessor and NULL in the result. HTTP/2 sends none.
#[test]
fn the_reason_phrase_is_the_servers_own_or_the_standard_one() {
    let srv = TestServer::start();
    let reason = |c: &Client, h| {
        let (mut p, mut n) = (std::ptr::null(), 0usize);
        assert_eq!(
            unsafe { httpring_response_reason(c.0, h, &mut p, &mut n) },
            HTTPRING_OK
        );
        let text = unsafe { std::slice::from_raw_parts(p, n) }.to_vec();
        let mut out = [httpring_result::default()];
        assert_eq!(
            unsafe { httpring_handles_read(c.0, &h, 1, out.as_mut_ptr()) },
            HTTPRING_OK
        );
        let raw = (!out[0].reason.is_null())
            .then(|| unsafe { std::slice::from_raw_parts(out[0].reason, out[0].reason_len) });
        (String::from_utf8(text).unwrap(), raw.map(|r| r.to_vec()))
    };
    for (h2, path, want, custom) in [
        (false, "/status/200?reason=Fine+thanks", "Fine thanks", true),
        (false, "/status/404", "Not Found", false),
        (false, "/status/299?reason=Custom", "Custom", true),
        (true, "/status/200?reason=Fine+thanks", "OK", false),
    ] {
        let c = Client::with(|cfg| unsafe {
            assert_eq!(
                httpring_config_set_h2c_prior_knowledge(cfg, h2),
                HTTPRING_OK
            );
        });
        let h = c.get(&srv.url(path));
        assert_eq!(c.wait(h), httpring_state::HTTPRING_STATE_DONE, "{path}");
        let (text, raw) = reason(&c, h);
        assert_eq!(text, want, "{path} over h2: {h2}");
        assert_eq!(raw, custom.then(|| want.as_bytes().to_vec()), "{path}");
        c.free(h);
        // Bad arguments, and a freed handle.
        let mut n = 0usize;
        assert_eq!(
            unsafe { httpring_response_reason(c.0, h, std::ptr::null_mut(), &mut n) },
            HTTPRING_ERR_INVALID_HANDLE
        );
    }
    // An empty phrase is the server's own too (a 200 whose reason is not "OK").
    let c = Client::new();
    let h = c.get(&canned_server(
        b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
    ));
    assert_eq!(c.wait(h), httpring_state::HTTPRING_STATE_DONE);
    assert_eq!(reason(&c, h), (String::new(), Some(Vec::new())));
    c.free(h);
    let h = c.get(&srv.url("/status/404"));
    c.wait(h);
    let mut n = 0usize;
    assert_eq!(
        unsafe { httpring_response_reason(c.0, h, std::ptr::null_mut(), &mut n) },
        HTTPRING_ERR_INVALID_ARGUMENT
    );
    c.free(h);
}
