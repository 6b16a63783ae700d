//! The cookie jar through the Rust API, against the in-process test server on 127.0.0.1
//! (and the same server as "localhost": another host).

use crate::common;

use std::time::Duration;

use common::TestServer;
use httpring::{Client, Config, ErrorKind, Request, State};

fn body(client: &Client, req: Request) -> String {
    let h = client.submit(req).expect("submit");
    let state = client.wait(h, Some(Duration::from_secs(10))).unwrap();
    assert_eq!(state, State::Done);
    let ex = client.exchange(h).unwrap();
    let b = match ex.outcome().expect("complete") {
        Ok(r) => String::from_utf8_lossy(r.body()).into_owned(),
        Err(e) => panic!("{e:?}"),
    };
    drop(ex);
    client.free(h).unwrap();
    b
}

fn get(url: &str) -> Request {
    Request::get(url.as_bytes())
}

fn jar_client(follow: bool) -> Client {
    let mut cfg = Config::default();
    cfg.cookies = true;
    cfg.redirects.follow = follow;
    Client::new(cfg).unwrap()
}

#[test]
fn cookies_set_by_one_response_go_on_the_next_and_not_to_another_host() {
    let s = TestServer::start();
    let c = jar_client(false);
    assert_eq!(body(&c, get(&s.url("/cookies"))), "");
    body(&c, get(&s.url("/cookies/set?a=1&b=2")));
    assert_eq!(body(&c, get(&s.url("/cookies"))), "a=1; b=2");
    // Host-only cookies stay with 127.0.0.1.
    let other = s.url("/cookies").replace("127.0.0.1", "localhost");
    assert_eq!(body(&c, get(&other)), "");
    // A request's own Cookie header comes first, the jar's after it.
    let mut req = get(&s.url("/cookies"));
    req.add_header(b"cookie", b"own=0").unwrap();
    assert_eq!(body(&c, req), "own=0; a=1; b=2");
    // Expiry deletes.
    body(&c, get(&s.url("/cookies/delete?a")));
    assert_eq!(body(&c, get(&s.url("/cookies"))), "b=2");
    // A client without a jar keeps nothing.
    let plain = Client::new(Config::default()).unwrap();
    body(&plain, get(&s.url("/cookies/set?z=9")));
    assert_eq!(body(&plain, get(&s.url("/cookies"))), "");
    assert_eq!(
        plain.cookies_netscape().unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn redirect_hops_store_and_send_cookies() {
    let s = TestServer::start();
    let c = jar_client(true);
    // The hop that sets the cookie is a redirect; the next hop already sends it.
    let set_then_read = s.url("/redirect-to?url=/cookies&status=302");
    body(&c, get(&s.url("/cookies/set?hop=1")));
    assert_eq!(body(&c, get(&set_then_read)), "hop=1");
}

#[test]
fn loopback_is_a_secure_context_and_foreign_domains_are_refused() {
    let s = TestServer::start();
    let c = jar_client(false);
    // As in browsers, http://127.0.0.1 may keep and get Secure cookies (policy::cookies'
    // unit tests show they are withheld from other plain-http hosts).
    body(&c, get(&s.url("/cookies/set?sec=1&attrs=Secure")));
    assert_eq!(body(&c, get(&s.url("/cookies"))), "sec=1");
    c.cookies_clear().unwrap();
    body(
        &c,
        get(&s.url("/cookies/set?evil=1&attrs=Domain=example.com")),
    );
    assert_eq!(body(&c, get(&s.url("/cookies"))), "");
    assert!(!c.cookies_netscape().unwrap().contains("evil"));
}

#[test]
fn netscape_file_round_trip_and_added_cookies() {
    let s = TestServer::start();
    let c = jar_client(false);
    body(&c, get(&s.url("/cookies/set?a=1")));
    c.cookie_add(&s.url("/"), "manual=yes; Max-Age=3600")
        .unwrap();
    let text = c.cookies_netscape().unwrap();
    assert!(text.starts_with("# Netscape HTTP Cookie File"), "{text}");
    assert!(
        text.contains("127.0.0.1\tFALSE\t/\tFALSE\t0\ta\t1\n"),
        "{text}"
    );

    let d = jar_client(false);
    assert_eq!(d.cookies_load_netscape(&text).unwrap(), 2);
    assert_eq!(body(&d, get(&s.url("/cookies"))), "a=1; manual=yes");
    assert_eq!(d.cookies_netscape().unwrap(), text);
    d.cookies_clear().unwrap();
    assert_eq!(body(&d, get(&s.url("/cookies"))), "");
    assert_eq!(
        d.cookie_add("not a url", "x=1").unwrap_err().kind(),
        ErrorKind::InvalidUrl
    );
    assert_eq!(
        d.cookie_add(&s.url("/"), "x=1; Domain=example.com")
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
}
