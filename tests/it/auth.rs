//! Auth helpers in the engine (Basic, Bearer, Digest; per client and per request) and their
//! precedence, against the in-process test server on 127.0.0.1, which checks each scheme
//! (Digest by recomputing the answer).

use crate::common;

use std::time::Duration;

use common::TestServer;
use httpring::{Auth, Client, Config, ErrorKind, Request, State};

/// (status, body) or the error.
fn run(client: &Client, req: Request) -> Result<(u16, String), (ErrorKind, String)> {
    let h = client.submit(req).expect("submit");
    let state = client.wait(h, Some(Duration::from_secs(10))).unwrap();
    assert_ne!(state, State::Pending);
    let ex = client.exchange(h).unwrap();
    let out = match ex.outcome().expect("complete") {
        Ok(r) => Ok((r.status(), String::from_utf8_lossy(r.body()).into_owned())),
        Err(e) => Err((e.kind(), e.message().to_string())),
    };
    drop(ex);
    client.free(h).unwrap();
    out
}

fn get(s: &TestServer, path: &str) -> Request {
    Request::get(s.url(path).as_bytes())
}

fn with_auth(auth: Auth) -> Client {
    let mut cfg = Config::default();
    cfg.auth = Some(auth);
    Client::new(cfg).unwrap()
}

#[test]
fn basic_and_bearer_per_client_and_per_request() {
    let s = TestServer::start();
    let plain = Client::new(Config::default()).unwrap();
    assert_eq!(run(&plain, get(&s, "/basic-auth/u/p")).unwrap().0, 401);

    let basic = with_auth(Auth::basic(b"u", b"p").unwrap());
    assert_eq!(run(&basic, get(&s, "/basic-auth/u/p")).unwrap().0, 200);
    assert_eq!(run(&basic, get(&s, "/basic-auth/u/other")).unwrap().0, 401);

    // A request's own auth wins over the client's; so does its Authorization header.
    let mut req = get(&s, "/bearer/tok123");
    req.set_auth(Auth::bearer(b"tok123").unwrap());
    assert_eq!(run(&basic, req).unwrap().0, 200);
    let mut req = get(&s, "/bearer/xyz");
    req.set_auth(Auth::basic(b"u", b"p").unwrap());
    req.add_header(b"authorization", b"Bearer xyz").unwrap();
    assert_eq!(run(&basic, req).unwrap().0, 200);
    // URL user info wins over the client's auth, not over the request's.
    let url = s
        .url("/basic-auth/x/y")
        .replace("127.0.0.1", "x:y@127.0.0.1");
    assert_eq!(run(&basic, Request::get(url.as_bytes())).unwrap().0, 200);
    let mut req = Request::get(url.as_bytes());
    req.set_auth(Auth::bearer(b"t").unwrap());
    assert_eq!(run(&basic, req).unwrap().0, 401);
}

#[test]
fn bad_credentials_are_refused_when_set() {
    assert_eq!(
        Auth::basic(b"a:b", b"p").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        Auth::bearer(b"tok\r\nX-Injected: 1").unwrap_err().kind(),
        ErrorKind::InvalidHeader
    );
    assert_eq!(
        Auth::digest(b"\xff", b"p").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn digest_answers_the_challenge_md5_and_sha256_with_and_without_qop() {
    let s = TestServer::start();
    let c = with_auth(Auth::digest(b"user", b"pass word").unwrap());
    for path in [
        "/digest-auth/auth/user/pass%20word/MD5",
        "/digest-auth/auth/user/pass%20word/SHA-256",
        "/digest-auth/none/user/pass%20word/MD5",
        "/digest-auth/auth/user/pass%20word/SHA-256?x=1",
    ] {
        let (status, body) = run(&c, get(&s, path)).unwrap();
        assert_eq!((status, body.as_str()), (200, "authenticated"), "{path}");
    }
    // A wrong password: the second 401 is the answer, nothing loops.
    let (status, _) = run(&c, get(&s, "/digest-auth/auth/user/other/MD5")).unwrap();
    assert_eq!(status, 401);
    // A nonce the server calls stale: answered once more with the new one (RFC 7616 §3.3,
    // as curl); with a wrong password the stale-free 401 ends it.
    let stale = with_auth(Auth::digest(b"u", b"p").unwrap());
    let (status, body) = run(&stale, get(&s, "/digest-stale/u/p")).unwrap();
    assert_eq!((status, body.as_str()), (200, "authenticated"));
    let wrong = with_auth(Auth::digest(b"u", b"wrong").unwrap());
    assert_eq!(run(&wrong, get(&s, "/digest-stale/u/p")).unwrap().0, 401);
    // No Digest challenge (a Basic one): the 401 is the answer.
    assert_eq!(run(&c, get(&s, "/basic-auth/user/pass")).unwrap().0, 401);
    // Without credentials, no answer.
    let plain = Client::new(Config::default()).unwrap();
    assert_eq!(
        run(&plain, get(&s, "/digest-auth/auth/user/pass%20word/MD5"))
            .unwrap()
            .0,
        401
    );
    // Per request, and a POST keeps its method and body on the second try.
    let mut req = Request::new(b"POST", s.url("/digest-auth/auth/u/p/MD5").as_bytes());
    req.set_auth(Auth::digest(b"u", b"p").unwrap());
    req.set_body(&b"payload"[..]);
    assert_eq!(run(&plain, req).unwrap().0, 200);
}

#[test]
fn helper_credentials_stay_with_their_origin_across_redirects() {
    let s = TestServer::start();
    let other = TestServer::start();
    let c = Client::new({
        let mut cfg = Config::default();
        cfg.auth = Some(Auth::bearer(b"secret").unwrap());
        cfg.redirects.follow = true;
        cfg
    })
    .unwrap();
    let same = run(&c, get(&s, "/redirect-to?url=/echo")).unwrap().1;
    assert!(
        same.contains(r#""authorization": "Bearer secret""#),
        "{same}"
    );
    let away = format!("/redirect-to?status=307&url={}", other.url("/echo"));
    let body = run(&c, get(&s, &away)).unwrap().1;
    assert!(!body.contains("authorization"), "{body}");
    // A request's helper credentials too.
    let plain = Client::new({
        let mut cfg = Config::default();
        cfg.redirects.follow = true;
        cfg
    })
    .unwrap();
    let mut req = get(&s, &away);
    req.set_auth(Auth::basic(b"u", b"p").unwrap());
    let body = run(&plain, req).unwrap().1;
    assert!(!body.contains("authorization"), "{body}");
}

#[test]
fn a_request_may_leave_out_the_clients_credentials_and_default_headers() {
    let s = TestServer::start();
    let mut cfg = Config::default();
    cfg.auth = Some(Auth::basic(b"u", b"p").unwrap());
    cfg.add_default_header(b"x-team", b"blue").unwrap();
    cfg.add_default_header(b"x-trace", b"1").unwrap();
    let client = Client::new(cfg).unwrap();
    // By default both go.
    let (_, body) = run(&client, get(&s, "/echo")).unwrap();
    assert!(body.contains("\"authorization\": \"Basic dTpw\""), "{body}");
    assert!(body.contains("\"x-team\": \"blue\""), "{body}");
    // No client auth: no Authorization; the defaults stay.
    let mut req = get(&s, "/echo");
    req.set_no_client_auth();
    let (_, body) = run(&client, req).unwrap();
    assert!(!body.contains("authorization"), "{body}");
    assert!(body.contains("\"x-team\": \"blue\""), "{body}");
    // ... but the request's own credentials still go, and URL user info too.
    let mut req = get(&s, "/bearer/t1");
    req.set_no_client_auth();
    req.set_auth(Auth::bearer(b"t1").unwrap());
    assert_eq!(run(&client, req).unwrap().0, 200);
    let url = s
        .url("/basic-auth/x/y")
        .replace("127.0.0.1", "x:y@127.0.0.1");
    let mut req = Request::get(url.as_bytes());
    req.set_no_client_auth();
    assert_eq!(run(&client, req).unwrap().0, 200);
    // A default header left out (any case); the other stays; a bad name is refused.
    let mut req = get(&s, "/echo");
    req.withhold_default_header(b"X-Team").unwrap();
    let (_, body) = run(&client, req).unwrap();
    assert!(!body.contains("x-team"), "{body}");
    assert!(body.contains("\"x-trace\": \"1\""), "{body}");
    assert!(body.contains("authorization"), "{body}");
    let mut req = get(&s, "/echo");
    assert!(req.withhold_default_header(b"bad name").is_err());
    assert_eq!(
        client.submit(req).unwrap_err().kind(),
        ErrorKind::InvalidHeader
    );
}

#[test]
fn netrc_credentials_go_to_their_own_host_only_and_yield_to_any_other() {
    let s = TestServer::start();
    let other = TestServer::start();
    let dir = std::env::temp_dir().join(format!("httpring-netrc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("netrc");
    std::fs::write(
        &path,
        "machine 127.0.0.1 login alice password a1\n\
         machine LOCALHOST\n  login bob\n  password \"b 2\"\n\
         machine made-up.test\n\
         default login anon password x\n",
    )
    .unwrap();
    let basic = |u: &str, p: &str| {
        use base64::Engine;
        let v = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        format!(r#""authorization": "Basic {v}""#)
    };
    let port: u16 = other.base.rsplit(':').next().unwrap().parse().unwrap();
    let mut cfg = Config::default();
    cfg.netrc = Some(std::sync::Arc::new(
        httpring::Netrc::load(Some(&path)).unwrap(),
    ));
    cfg.redirects.follow = true;
    cfg.add_resolve("made-up.test", port, vec!["127.0.0.1".parse().unwrap()])
        .unwrap();
    let c = Client::new(cfg.clone()).unwrap();
    let echo = |req: Request| run(&c, req).unwrap().1;
    assert!(echo(get(&s, "/echo")).contains(&basic("alice", "a1")));
    // Each redirect hop to another host gets that host's entry (names match without case),
    // or the default; never the entry of the host before.
    let to = |host: &str| format!("/redirect-to?status=307&url=http://{host}:{port}/echo");
    let body = echo(get(&s, &to("localhost")));
    assert!(body.contains(&basic("bob", "b 2")), "{body}");
    assert!(!body.contains(&basic("alice", "a1")), "{body}");
    assert!(echo(get(&s, &to("made-up.test"))).contains(&basic("anon", "x")));
    // Anything else wins: the request's own auth or header, URL user info, client auth.
    let mut req = get(&s, "/echo");
    req.set_auth(Auth::bearer(b"own").unwrap());
    assert!(echo(req).contains(r#""authorization": "Bearer own""#));
    let url = s.url("/echo").replace("127.0.0.1", "u:p@127.0.0.1");
    assert!(echo(Request::get(url.as_bytes())).contains(&basic("u", "p")));
    let with_client_auth = Client::new({
        let mut with = cfg.clone();
        with.auth = Some(Auth::bearer(b"client").unwrap());
        with
    })
    .unwrap();
    assert!(run(&with_client_auth, get(&s, "/echo"))
        .unwrap()
        .1
        .contains(r#""authorization": "Bearer client""#));
    // Left out with the client's credentials.
    let mut req = get(&s, "/echo");
    req.set_no_client_auth();
    assert!(!echo(req).contains("authorization"));
    // A file that does not parse or does not exist is refused, saying which.
    std::fs::write(dir.join("bad"), "host example.com login x").unwrap();
    let err = httpring::Netrc::load(Some(&dir.join("bad"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().contains("bad"), "{}", err.message());
    let err = httpring::Netrc::load(Some(&dir.join("missing"))).unwrap_err();
    assert!(err.message().contains("missing"), "{}", err.message());
    std::fs::remove_dir_all(&dir).unwrap();
}
