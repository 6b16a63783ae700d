//! Redirects followed by the engine, through the Rust API, against in-process servers on
//! 127.0.0.1 (two of them: two ports are two origins).

use crate::common;

use std::time::Duration;

use common::TestServer;
use httpring::{Client, Config, ErrorKind, Request, State};

/// A finished request's outcome: (status, final URL, body, redirects as (status, URL)).
type Outcome = Result<(u16, String, String, Vec<(u16, String)>), (ErrorKind, String)>;

fn run(client: &Client, req: Request) -> Outcome {
    let h = client.submit(req).expect("submit");
    let state = client.wait(h, Some(Duration::from_secs(10))).unwrap();
    assert_ne!(state, State::Pending, "request did not finish");
    let ex = client.exchange(h).unwrap();
    let out = match ex.outcome().expect("complete") {
        Ok(r) => Ok((
            r.status(),
            String::from_utf8_lossy(r.url()).into_owned(),
            String::from_utf8_lossy(r.body()).into_owned(),
            r.redirects()
                .iter()
                .map(|h| (h.status, String::from_utf8_lossy(&h.url).into_owned()))
                .collect(),
        )),
        Err(e) => Err((e.kind(), e.message().to_string())),
    };
    drop(ex);
    client.free(h).unwrap();
    out
}

fn following() -> Config {
    let mut c = Config::default();
    c.redirects.follow = true;
    c
}

fn get(url: &str) -> Request {
    Request::get(url.as_bytes())
}

/// `/redirect-to?status=S&url=U` on `server`.
fn hop(server: &TestServer, status: u16, to: &str) -> String {
    server.url(&format!("/redirect-to?status={status}&url={to}"))
}

#[test]
fn off_by_default_the_redirect_is_the_answer() {
    let s = TestServer::start();
    let c = Client::new(Config::default()).unwrap();
    let (status, url, _, hops) = run(&c, get(&s.url("/redirect/2"))).unwrap();
    assert_eq!(status, 302);
    assert_eq!(url, s.url("/redirect/2"));
    assert!(hops.is_empty());
    // A request can turn it on for itself.
    let mut req = get(&s.url("/redirect/2"));
    req.set_follow_redirects(true);
    let (status, url, body, hops) = run(&c, req).unwrap();
    assert_eq!((status, body.as_str()), (200, "redirected"));
    assert_eq!(url, s.url("/redirect/0"));
    assert_eq!(
        hops,
        vec![(302, s.url("/redirect/2")), (302, s.url("/redirect/1"))]
    );
}

#[test]
fn the_fragment_is_never_sent_and_comes_back_on_the_url() {
    let s = TestServer::start();
    let c = Client::new(following()).unwrap();
    // Not on the wire (the echo shows the target sent); on the URL reported, encoded as
    // the URL standard does.
    let (_, url, echo, _) = run(&c, get(&format!("{}#part 2", s.url("/echo?q=1")))).unwrap();
    assert_eq!(url, format!("{}#part%202", s.url("/echo?q=1")));
    assert!(echo.contains("/echo?q=1") && !echo.contains('#'), "{echo}");
    // Across redirects the original's stays while a Location has none; a Location's own
    // replaces it (RFC 9110 §10.2.2). Hops report theirs.
    let start = hop(&s, 302, "/hello");
    let (_, url, _, hops) = run(&c, get(&format!("{start}#top"))).unwrap();
    assert_eq!(url, format!("{}#top", s.url("/hello")));
    assert_eq!(hops, vec![(302, format!("{start}#top"))]);
    let (_, url, _, _) = run(&c, get(&format!("{start}&frag=new#top"))).unwrap();
    assert_eq!(url, format!("{}#new", s.url("/hello")));
    let (_, url, _, _) = run(&c, get(&format!("{start}&frag=new"))).unwrap();
    assert_eq!(url, format!("{}#new", s.url("/hello")));
    // Without one, nothing is added.
    let (_, url, _, _) = run(&c, get(&start)).unwrap();
    assert_eq!(url, s.url("/hello"));
}

#[test]
fn a_chain_is_followed_on_one_connection_and_reported_hop_by_hop() {
    let s = TestServer::start();
    let c = Client::new(following()).unwrap();
    let (status, _, body, hops) = run(&c, get(&s.url("/redirect/5"))).unwrap();
    assert_eq!((status, body.as_str(), hops.len()), (200, "redirected", 5));
    assert_eq!(s.connections(), 1, "same-origin hops reuse the connection");
    // A request can turn it off again.
    let mut req = get(&s.url("/redirect/1"));
    req.set_follow_redirects(false);
    assert_eq!(run(&c, req).unwrap().0, 302);
}

#[test]
fn every_status_rewrites_the_method_as_browsers_do() {
    let s = TestServer::start();
    let c = Client::new(following()).unwrap();
    for (status, method, want_method, keeps_body) in [
        (301, "POST", "GET", false),
        (302, "POST", "GET", false),
        (303, "POST", "GET", false),
        (303, "PUT", "GET", false),
        (301, "PUT", "PUT", true),
        (302, "DELETE", "DELETE", true),
        (307, "POST", "POST", true),
        (308, "PUT", "PUT", true),
    ] {
        let mut req = Request::new(method.as_bytes(), hop(&s, status, "/echo").as_bytes());
        req.add_header(b"content-type", b"text/plain").unwrap();
        req.set_body(&b"payload"[..]);
        let (code, _, echo, hops) = run(&c, req).unwrap();
        let what = format!("{status} after {method}: {echo}");
        assert_eq!(code, 200, "{what}");
        assert_eq!(hops[0].0, status, "{what}");
        assert!(
            echo.contains(&format!("\"method\": \"{want_method}\"")),
            "{what}"
        );
        if keeps_body {
            assert!(echo.contains("\"body\": \"payload\""), "{what}");
            assert!(echo.contains("\"content-type\": \"text/plain\""), "{what}");
        } else {
            assert!(echo.contains("\"body_len\": 0"), "{what}");
            assert!(!echo.contains("content-type"), "{what}");
            assert!(!echo.contains("content-length: 7"), "{what}");
        }
    }
}

#[test]
fn credentials_stay_with_their_origin_whatever_their_source() {
    let a = TestServer::start();
    let b = TestServer::start();
    let mut cfg = following();
    cfg.add_default_header(b"authorization", b"Bearer default")
        .unwrap();
    cfg.add_default_header(b"cookie", b"session=default")
        .unwrap();
    cfg.add_default_header(b"x-default", b"kept").unwrap();
    let c = Client::new(cfg).unwrap();

    // Same origin: the defaults and the request's own credentials go along.
    let mut req = get(&hop(&a, 302, "/echo"));
    req.add_header(b"proxy-authorization", b"Basic own")
        .unwrap();
    let (_, _, echo, _) = run(&c, req).unwrap();
    assert!(
        echo.contains("\"authorization\": \"Bearer default\""),
        "{echo}"
    );
    assert!(echo.contains("\"cookie\": \"session=default\""), "{echo}");
    assert!(
        echo.contains("\"proxy-authorization\": \"Basic own\""),
        "{echo}"
    );

    // Another origin: none of them, from the request or the client, but the rest.
    let mut req = get(&hop(&a, 307, &b.url("/echo")));
    req.add_header(b"authorization", b"Bearer own").unwrap();
    req.add_header(b"proxy-authorization", b"Basic own")
        .unwrap();
    req.add_header(b"x-own", b"kept").unwrap();
    let (status, url, echo, hops) = run(&c, req).unwrap();
    assert_eq!((status, url.as_str()), (200, b.url("/echo").as_str()));
    assert_eq!(hops.len(), 1);
    for gone in ["authorization", "cookie", "proxy-authorization"] {
        assert!(
            !echo.contains(&format!("\"{gone}\"")),
            "{gone} leaked: {echo}"
        );
    }
    assert!(echo.contains("\"x-default\": \"kept\""), "{echo}");
    assert!(echo.contains("\"x-own\": \"kept\""), "{echo}");

    // And they do not come back on a hop back to the first origin.
    let back = hop(&b, 302, &a.url("/echo"));
    let (_, _, echo, hops) = run(&c, get(&hop(&a, 302, &back))).unwrap();
    assert_eq!(hops.len(), 2);
    assert!(!echo.contains("\"authorization\""), "{echo}");

    // The client's credentials still go on requests to their origin.
    let (_, _, echo, _) = run(&c, get(&a.url("/echo"))).unwrap();
    assert!(
        echo.contains("\"authorization\": \"Bearer default\""),
        "{echo}"
    );
}

#[test]
fn limits_loops_and_bad_locations_have_their_own_errors() {
    let s = TestServer::start();
    let mut cfg = following();
    cfg.redirects.max = 3;
    let c = Client::new(cfg).unwrap();
    assert_eq!(run(&c, get(&s.url("/redirect/3"))).unwrap().0, 200);
    let (kind, msg) = run(&c, get(&s.url("/redirect/4"))).unwrap_err();
    assert_eq!(kind, ErrorKind::TooManyRedirects, "{msg}");
    // A request may allow more than the client.
    let mut req = get(&s.url("/redirect/4"));
    req.set_max_redirects(4);
    assert_eq!(run(&c, req).unwrap().0, 200);

    // A loop ends at the limit; a chain that comes back to a URL once it has a cookie
    // (a login gate) is followed, as curl, httpx and browsers do.
    let (kind, msg) = run(&c, get(&hop(&s, 302, "/loop"))).unwrap_err();
    assert_eq!(kind, ErrorKind::TooManyRedirects, "{msg}");
    assert!(msg.contains("too many redirects"), "{msg}");
    let mut jar = following();
    jar.cookies = true;
    let with_jar = Client::new(jar).unwrap();
    let (status, _, body, hops) = run(&with_jar, get(&s.url("/gate"))).unwrap();
    assert_eq!((status, body.as_str(), hops.len()), (200, "welcome", 2));

    let (kind, msg) = run(&c, get(&hop(&s, 302, "ftp://127.0.0.1/x"))).unwrap_err();
    assert_eq!(kind, ErrorKind::UnsupportedScheme, "{msg}");
    // A redirect status without Location is an answer.
    let (status, _, _, hops) = run(&c, get(&s.url("/status/302"))).unwrap();
    assert_eq!((status, hops.len()), (302, 0));
}

#[test]
fn all_hops_run_inside_the_total_timeout() {
    let s = TestServer::start();
    // Two hops that each take 200 ms to answer: each alone fits in 300 ms, both do not.
    let slow_hop = |to: &str| s.url(&format!("/redirect-to?delay=200&url={to}"));
    let chain = slow_hop(&slow_hop("/hello"));
    let mut cfg = following();
    cfg.timeout = Some(Duration::from_millis(300));
    let c = Client::new(cfg.clone()).unwrap();
    let (kind, msg) = run(&c, get(&chain)).unwrap_err();
    assert_eq!(kind, ErrorKind::Timeout, "{msg}");
    cfg.timeout = Some(Duration::from_millis(2000));
    let c = Client::new(cfg).unwrap();
    let (status, _, _, hops) = run(&c, get(&chain)).unwrap();
    assert_eq!((status, hops.len()), (200, 2));
}

#[test]
fn user_info_is_basic_auth_for_its_origin_only() {
    let a = TestServer::start();
    let b = TestServer::start();
    let c = Client::new(following()).unwrap();
    let with_user = a.base.replace("http://", "http://us%40er:p%3Ass@");
    // "us@er:p:ss" in base64.
    let want = "\"authorization\": \"Basic dXNAZXI6cDpzcw==\"";
    let (_, _, echo, _) = run(&c, get(&format!("{with_user}/echo"))).unwrap();
    assert!(echo.contains(want), "{echo}");
    assert!(
        echo.contains(&format!("\"host\": \"{}\"", &a.base[7..])),
        "{echo}"
    );
    // The request's own Authorization wins.
    let mut req = get(&format!("{with_user}/echo"));
    req.add_header(b"authorization", b"Bearer mine").unwrap();
    let (_, _, echo, _) = run(&c, req).unwrap();
    assert!(
        echo.contains("\"authorization\": \"Bearer mine\""),
        "{echo}"
    );
    // Same-origin hop: kept; another origin: not sent.
    let (_, _, echo, _) = run(&c, get(&format!("{with_user}/redirect-to?url=/echo"))).unwrap();
    assert!(echo.contains(want), "{echo}");
    let away = format!("{with_user}/redirect-to?url={}", b.url("/echo"));
    let (_, url, echo, _) = run(&c, get(&away)).unwrap();
    assert_eq!(url, b.url("/echo"));
    assert!(!echo.contains("authorization"), "{echo}");
}

/// A `Host` the caller set, on the request or as a client default, names the first host:
/// not sent to another host name (it would leak the name and reach the wrong virtual host),
/// kept on a hop to the same host, even on another port (curl's rule).
#[test]
fn a_host_header_set_by_the_caller_stays_with_its_host() {
    let a = TestServer::start();
    let b = TestServer::start();
    // Another host name for the same address: curl's test is the name.
    let b_echo = b.url("/echo").replace("127.0.0.1", "localhost");
    let b_host = b_echo[7..].trim_end_matches("/echo").to_string();
    for from_default in [false, true] {
        let mut cfg = following();
        if from_default {
            cfg.add_default_header(b"host", b"internal.example")
                .unwrap();
        }
        let c = Client::new(cfg).unwrap();
        let with_host = |url: &str| {
            let mut req = get(url);
            if !from_default {
                req.add_header(b"host", b"internal.example").unwrap();
            }
            req
        };
        let (_, _, echo, _) = run(&c, with_host(&hop(&a, 302, &b_echo))).unwrap();
        assert!(
            !echo.contains("internal.example"),
            "default={from_default}: {echo}"
        );
        assert!(
            echo.contains(&format!("\"host\": \"{b_host}\"")),
            "default={from_default}: {echo}"
        );
        for same_host in ["/echo".to_string(), b.url("/echo")] {
            let (_, _, echo, _) = run(&c, with_host(&hop(&a, 302, &same_host))).unwrap();
            assert!(
                echo.contains("\"host\": \"internal.example\""),
                "default={from_default}, {same_host}: {echo}"
            );
        }
    }
}

#[test]
fn a_chain_stops_at_an_origin_the_caller_keeps_for_itself() {
    let a = TestServer::start();
    let b = TestServer::start();
    let port_b = b
        .url("/")
        .split(':')
        .nth(2)
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let mut cfg = following();
    // A rule for another origin first (it must not match b), then the stop for b's.
    cfg.redirect_stops.push(httpring::RedirectStop {
        pattern: httpring::OriginPattern::parse("all://127.0.0.1:1").unwrap(),
        stop: false,
    });
    cfg.redirect_stops.push(httpring::RedirectStop {
        pattern: httpring::OriginPattern::parse(&format!("http://127.0.0.1:{port_b}")).unwrap(),
        stop: true,
    });
    let c = Client::new(cfg).unwrap();
    // a -> b stops: the 302 into b is the answer.
    let into_b = hop(&a, 302, &b.url("/hello"));
    let (status, url, _, hops) = run(&c, get(&into_b)).unwrap();
    assert_eq!(status, 302);
    assert_eq!(url, into_b);
    assert!(hops.is_empty());
    assert_eq!(b.connections(), 0, "nothing was sent to the stopped origin");
    // A chain that stays away from it is followed as before.
    let (status, _, body, _) = run(&c, get(&a.url("/redirect/2"))).unwrap();
    assert_eq!((status, body.as_str()), (200, "redirected"));
    // The first matching rule decides: an exception before a broader stop follows.
    let mut cfg = following();
    for (p, stop) in [
        (format!("all://127.0.0.1:{port_b}"), false),
        ("all://".to_string(), true),
    ] {
        cfg.redirect_stops.push(httpring::RedirectStop {
            pattern: httpring::OriginPattern::parse(&p).unwrap(),
            stop,
        });
    }
    let c = Client::new(cfg).unwrap();
    let (status, url, body, _) = run(&c, get(&hop(&a, 302, &b.url("/hello")))).unwrap();
    assert_eq!(
        (status, url, body.as_str()),
        (200, b.url("/hello"), "Hello, world!")
    );
    // ... and `all://` stops every other hop, a same-origin one included.
    assert_eq!(run(&c, get(&a.url("/redirect/2"))).unwrap().0, 302);
}
