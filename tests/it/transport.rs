//! Transport: TLS (trust, expiry, names, mTLS), HTTP/2 (ALPN and h2c), DNS (overrides,
//! cache, failures), proxies (HTTP CONNECT, absolute-form, SOCKS5) and Unix sockets, each
//! against servers these tests start on 127.0.0.1 with certificates made at test time.

use crate::common;

use std::ffi::CString;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::server::{self, Options, Stats};
use common::*;
use httpring::ffi::*;
use httpring_code::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
    der: CertificateDer<'static>,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        der: cert.der().clone(),
        issuer: Issuer::new(params, key),
    }
}

struct Leaf {
    chain: Vec<CertificateDer<'static>>,
    cert_pem: String,
    key_pem: String,
    key: PrivateKeyDer<'static>,
}

fn leaf(ca: &Ca, names: &[&str], expired: bool) -> Leaf {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    if expired {
        params.not_before = rcgen::date_time_ymd(2001, 1, 1);
        params.not_after = rcgen::date_time_ymd(2002, 1, 1);
    }
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    Leaf {
        chain: vec![cert.der().clone(), ca.der.clone()],
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS server (h2 and http/1.1 by ALPN) serving the test routes; `client_ca` demands mTLS.
struct TlsServer {
    port: u16,
    stats: Arc<Stats>,
    _rt: tokio::runtime::Runtime,
}

fn tls_server(cert: &Leaf, client_ca: Option<&Ca>, alpn: &[&[u8]]) -> TlsServer {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca.der.clone()).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(cert.chain.clone(), cert.key.clone_key())
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let (rt, listener, port) = server_runtime();
    let stats = Arc::new(Stats::default());
    let st = stats.clone();
    rt.spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, st) = (acceptor.clone(), st.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    server::serve_io(tls, Arc::new(Options::default()), st).await;
                }
            });
        }
    });
    TlsServer {
        port,
        stats,
        _rt: rt,
    }
}

fn client_with_ca(ca: &Ca, more: impl FnOnce(*mut httpring_config)) -> Client {
    Client::with(|cfg| unsafe {
        assert_eq!(
            httpring_config_set_root_store(cfg, httpring_root_store::HTTPRING_ROOTS_NONE as u32),
            HTTPRING_OK
        );
        assert_eq!(
            httpring_config_add_ca_pem(cfg, ca.pem.as_ptr(), ca.pem.len()),
            HTTPRING_OK
        );
        more(cfg);
    })
}

fn outcome(c: &Client, url: &str) -> (httpring_code, String) {
    let h = c.get(url);
    c.wait(h);
    let r = (c.error(h), c.message(h));
    c.free(h);
    r
}

#[test]
fn tls_trust_expiry_names_and_the_danger_switch() {
    let ca = ca("httpring test CA");
    let good = tls_server(
        &leaf(&ca, &["localhost", "127.0.0.1"], false),
        None,
        &[b"http/1.1"],
    );
    let url = format!("https://127.0.0.1:{}/hello", good.port);

    // Given the CA: passes, over HTTP/1.1 as the server only offers that.
    let c = client_with_ca(&ca, |_| {});
    let h = c.get(&url);
    c.wait(h);
    assert_eq!(c.error(h), HTTPRING_OK, "{}", c.message(h));
    let r = c.response(h);
    assert_eq!(
        (r.status, r.version),
        (200, httpring_http_version::HTTPRING_HTTP_1_1)
    );
    assert_eq!(c.body(h), b"Hello, world!");
    c.free(h);

    // Without it (system roots only): a certificate error with the verifier's reason.
    let plain = Client::new();
    let (code, msg) = outcome(&plain, &url);
    assert_eq!(code, HTTPRING_ERR_TLS_CERTIFICATE, "{msg}");
    assert!(msg.contains("UnknownIssuer"), "{msg}");

    // An expired certificate.
    let expired = tls_server(&leaf(&ca, &["127.0.0.1"], true), None, &[b"http/1.1"]);
    let (code, msg) = outcome(&c, &format!("https://127.0.0.1:{}/hello", expired.port));
    assert_eq!(code, HTTPRING_ERR_TLS_CERTIFICATE, "{msg}");
    assert!(msg.contains("Expired"), "{msg}");

    // The right CA but the wrong name: the certificate is for other.test.
    let other = tls_server(&leaf(&ca, &["other.test"], false), None, &[b"http/1.1"]);
    let c2 = client_with_ca(&ca, |cfg| unsafe {
        assert_eq!(
            httpring_config_add_resolve(cfg, c"wrong.test".as_ptr(), 0, c"127.0.0.1".as_ptr()),
            HTTPRING_OK
        );
        assert_eq!(
            httpring_config_add_resolve(cfg, c"other.test".as_ptr(), 0, c"127.0.0.1".as_ptr()),
            HTTPRING_OK
        );
    });
    let (code, msg) = outcome(&c2, &format!("https://wrong.test:{}/hello", other.port));
    assert_eq!(code, HTTPRING_ERR_TLS_CERTIFICATE, "{msg}");
    assert!(msg.contains("NotValidForName"), "{msg}");
    // SNI and verification use the URL's name: the matching name passes.
    assert_eq!(
        outcome(&c2, &format!("https://other.test:{}/hello", other.port)).0,
        HTTPRING_OK
    );

    // The loudly named opt-out accepts all of the above.
    let careless = Client::with(|cfg| {
        assert_eq!(
            unsafe { httpring_config_set_danger_accept_invalid_certs(cfg, true) },
            HTTPRING_OK
        )
    });
    assert_eq!(outcome(&careless, &url).0, HTTPRING_OK);
    assert_eq!(
        outcome(
            &careless,
            &format!("https://127.0.0.1:{}/hello", expired.port)
        )
        .0,
        HTTPRING_OK
    );

    // TLS 1.3 minimum still works against a server that offers 1.3.
    let modern = client_with_ca(&ca, |cfg| {
        assert_eq!(
            unsafe { httpring_config_set_min_tls_version(cfg, 13) },
            HTTPRING_OK
        )
    });
    assert_eq!(outcome(&modern, &url).0, HTTPRING_OK);

    // Bad PEM is refused when configured.
    let cfg = httpring_config_new();
    assert_eq!(
        unsafe { httpring_config_add_ca_pem(cfg, b"nope".as_ptr(), 4) },
        HTTPRING_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        unsafe { httpring_config_set_ca_file(cfg, c"/nonexistent/ca.pem".as_ptr()) },
        HTTPRING_ERR_INVALID_ARGUMENT
    );
    httpring_config_free(cfg);
}

/// How a server that accepts TCP breaks the TLS handshake once the ClientHello is in.
#[derive(Clone, Copy, Debug)]
enum Breaks {
    /// Answers with bytes that are no TLS record (a plain HTTP answer, as a server on the
    /// wrong port gives).
    Garbage,
    /// Closes (FIN).
    Close,
    /// Resets (SO_LINGER 0).
    Reset,
    /// Never answers, the connection left open.
    Silence,
}

/// A server on 127.0.0.1 that breaks every TLS handshake `how`; counts its connections.
fn broken_tls_server(how: Breaks) -> (u16, Arc<AtomicUsize>, tokio::runtime::Runtime) {
    let (rt, listener, port) = server_runtime();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    rt.spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut hello = [0u8; 4096];
                // A TLS handshake record (type 22) carrying the ClientHello.
                let n = s.read(&mut hello).await.unwrap_or(0);
                assert!(n > 5 && hello[0] == 22, "no ClientHello: {n} bytes");
                match how {
                    Breaks::Garbage => {
                        let _ = s
                            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                            .await;
                        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    }
                    Breaks::Close => {}
                    Breaks::Reset => {
                        #[allow(deprecated)]
                        s.set_linger(Some(std::time::Duration::ZERO)).unwrap();
                    }
                    Breaks::Silence => {
                        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                    }
                }
            });
        }
    });
    (port, accepted, rt)
}

#[test]
fn a_broken_tls_handshake_fails_with_its_code_and_the_client_goes_on() {
    let ca = ca("httpring test CA");
    let good = tls_server(
        &leaf(&ca, &["127.0.0.1"], false),
        None,
        &[b"h2", b"http/1.1"],
    );
    let c = client_with_ca(&ca, |cfg| unsafe {
        assert_eq!(
            httpring_config_set_connect_timeout_ms(cfg, 500),
            HTTPRING_OK
        );
    });
    for (how, expect) in [
        (Breaks::Garbage, HTTPRING_ERR_TLS),
        (Breaks::Close, HTTPRING_ERR_TLS),
        (Breaks::Reset, HTTPRING_ERR_TLS),
        (Breaks::Silence, HTTPRING_ERR_CONNECT_TIMEOUT),
    ] {
        let (port, accepted, _rt) = broken_tls_server(how);
        let t = std::time::Instant::now();
        let (code, msg) = outcome(&c, &format!("https://127.0.0.1:{port}/hello"));
        let took = t.elapsed().as_millis();
        assert_eq!(code, expect, "{how:?}: {msg}");
        match how {
            Breaks::Silence => {
                assert!((480..2_000).contains(&took), "{how:?}: took {took} ms");
                assert!(msg.contains("connect timeout"), "{how:?}: {msg}");
                assert!(
                    msg.contains("the TLS handshake did not finish"),
                    "{how:?}: {msg}"
                );
            }
            _ => {
                assert!(took < 1_000, "{how:?}: took {took} ms");
                assert!(msg.contains("TLS handshake"), "{how:?}: {msg}");
            }
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "{how:?}: one attempt");
        // The client goes on with a good server.
        let (code, msg) = outcome(&c, &format!("https://127.0.0.1:{}/hello", good.port));
        assert_eq!(code, HTTPRING_OK, "after {how:?}: {msg}");
    }
}

#[test]
fn mutual_tls_required_given_and_not_given() {
    let ca = ca("httpring test CA");
    let server = tls_server(&leaf(&ca, &["127.0.0.1"], false), Some(&ca), &[b"http/1.1"]);
    let url = format!("https://127.0.0.1:{}/hello", server.port);
    let without = client_with_ca(&ca, |_| {});
    let (code, msg) = outcome(&without, &url);
    assert!(
        matches!(code, HTTPRING_ERR_TLS | HTTPRING_ERR_TLS_CERTIFICATE),
        "{code:?}: {msg}"
    );

    let id = leaf(&ca, &["client.test"], false);
    let with = client_with_ca(&ca, |cfg| unsafe {
        let code = httpring_config_set_client_cert_pem(
            cfg,
            id.cert_pem.as_ptr(),
            id.cert_pem.len(),
            id.key_pem.as_ptr(),
            id.key_pem.len(),
        );
        assert_eq!(code, HTTPRING_OK);
    });
    let (code, msg) = outcome(&with, &url);
    assert_eq!(code, HTTPRING_OK, "{msg}");
}

#[test]
fn timing_over_tls_shows_the_handshake_version_and_alpn() {
    let ca = ca("httpring test CA");
    for (alpn, want) in [
        (&[b"h2".as_slice(), b"http/1.1"][..], "h2"),
        (&[b"http/1.1".as_slice()][..], "http/1.1"),
    ] {
        let server = tls_server(&leaf(&ca, &["127.0.0.1"], false), None, alpn);
        let c = client_with_ca(&ca, |_| {});
        let url = format!("https://127.0.0.1:{}/hello", server.port);
        for reused in [false, true] {
            let h = c.get(&url);
            c.wait(h);
            let mut i = httpring_info::default();
            assert_eq!(unsafe { httpring_handle_info(c.0, h, &mut i) }, HTTPRING_OK);
            let alpn_text = unsafe { std::ffi::CStr::from_ptr(i.alpn.as_ptr()) };
            assert_eq!(alpn_text.to_str().unwrap(), want);
            assert_eq!(i.tls_version, 0x0304, "TLS 1.3 by default");
            assert_eq!(i.reused, reused);
            if reused {
                assert_eq!(i.tls_us, 0);
            } else {
                assert!(i.tls_us > 0, "a handshake takes time");
            }
            let sum = i.queued_us
                + i.pool_us
                + i.dns_us
                + i.connect_us
                + i.tls_us
                + i.send_us
                + i.wait_us
                + i.receive_us;
            assert!(sum <= i.total_us && i.total_us - sum <= 8);
            c.free(h);
        }
    }
}

#[test]
fn http2_over_tls_multiplexes_200_requests_on_one_connection() {
    let ca = ca("httpring test CA");
    let server = tls_server(
        &leaf(&ca, &["127.0.0.1"], false),
        None,
        &[b"h2", b"http/1.1"],
    );
    let c = client_with_ca(&ca, |_| {});
    let url = format!("https://127.0.0.1:{}/delay/50", server.port);
    let hs: Vec<_> = (0..200).map(|i| c.get_ud(&url, i)).collect();
    assert_eq!(
        unsafe { httpring_handle_wait_all(c.0, hs.as_ptr(), hs.len(), 30_000) },
        HTTPRING_OK
    );
    for &h in &hs {
        assert_eq!(c.error(h), HTTPRING_OK, "{}", c.message(h));
        let r = c.response(h);
        assert_eq!(
            (r.status, r.version),
            (200, httpring_http_version::HTTPRING_HTTP_2)
        );
    }
    assert_eq!(
        unsafe { httpring_handles_free(c.0, hs.as_ptr(), hs.len()) },
        HTTPRING_OK
    );
    assert_eq!(
        server.stats.connections.load(Ordering::SeqCst),
        1,
        "all 200 share one connection"
    );
    assert_eq!(server.stats.requests.load(Ordering::SeqCst), 200);
    // HTTP/1.1 only: same server, ALPN picks http/1.1.
    let h1 = client_with_ca(&ca, |cfg| {
        assert_eq!(
            unsafe {
                httpring_config_set_http_version(
                    cfg,
                    httpring_http_version_pref::HTTPRING_HTTP_PREF_HTTP1_ONLY as u32,
                )
            },
            HTTPRING_OK
        )
    });
    let h = h1.get(&url);
    h1.wait(h);
    assert_eq!(
        h1.response(h).version,
        httpring_http_version::HTTPRING_HTTP_1_1
    );
    h1.free(h);
}

#[test]
fn an_unused_http2_connection_makes_room_under_the_total_cap() {
    // Two HTTP/2 origins, room for one connection: the idle shared connection to the first
    // is closed for the second (it used to hold its place until the idle sweep).
    let ca = ca("httpring test CA");
    let leaf = leaf(&ca, &["127.0.0.1"], false);
    let a = tls_server(&leaf, None, &[b"h2"]);
    let b = tls_server(&leaf, None, &[b"h2"]);
    let c = client_with_ca(&ca, |cfg| unsafe {
        assert_eq!(httpring_config_set_max_connections(cfg, 1), HTTPRING_OK);
        assert_eq!(httpring_config_set_pool_timeout_ms(cfg, 5_000), HTTPRING_OK);
    });
    for (srv, n) in [(&a, 1), (&b, 1), (&a, 2)] {
        let h = c.get(&format!("https://127.0.0.1:{}/hello", srv.port));
        assert_eq!(
            c.wait(h),
            httpring_state::HTTPRING_STATE_DONE,
            "{}",
            c.message(h)
        );
        assert_eq!(
            c.response(h).version,
            httpring_http_version::HTTPRING_HTTP_2
        );
        c.free(h);
        assert_eq!(srv.stats.connections.load(Ordering::SeqCst), n);
    }
    // A waiter queued while the other origin's stream runs gets the place when it ends.
    let slow = c.get(&format!("https://127.0.0.1:{}/delay/200", a.port));
    let t = std::time::Instant::now();
    let queued = c.get(&format!("https://127.0.0.1:{}/hello", b.port));
    assert_eq!(
        c.wait(queued),
        httpring_state::HTTPRING_STATE_DONE,
        "{}",
        c.message(queued)
    );
    assert!(
        t.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(c.wait(slow), httpring_state::HTTPRING_STATE_DONE);
}

#[test]
fn streams_an_http2_server_refuses_are_sent_again() {
    // A burst opens more streams than the server allows before its SETTINGS arrive: the
    // server refuses the excess (REFUSED_STREAM), which it never processed (RFC 9113 §8.7),
    // so they are sent again, whatever the method.
    let srv = TestServer::with_options(common::server::Options {
        h2_max_streams: Some(2),
        ..Default::default()
    });
    let c = Client::with(|cfg| unsafe {
        assert_eq!(
            httpring_config_set_h2c_prior_knowledge(cfg, true),
            HTTPRING_OK
        );
    });
    let hs: Vec<_> = (0..50)
        .map(|i| {
            if i % 2 == 0 {
                c.get(&srv.url("/delay/20"))
            } else {
                c.submit("POST", &srv.url("/echo"), |_| {}).unwrap()
            }
        })
        .collect();
    assert_eq!(
        unsafe { httpring_handle_wait_all(c.0, hs.as_ptr(), hs.len(), 30_000) },
        HTTPRING_OK
    );
    let failed: Vec<_> = hs
        .iter()
        .filter(|&&h| c.error(h) != HTTPRING_OK)
        .map(|&h| c.message(h))
        .collect();
    assert!(
        failed.is_empty(),
        "{} failed: {:?}",
        failed.len(),
        failed.first()
    );
    assert_eq!(
        srv.stats.requests.load(Ordering::SeqCst),
        50,
        "each processed once"
    );
}

#[test]
fn h2c_prior_knowledge_and_version_reporting() {
    let srv = TestServer::start();
    let c = Client::with(|cfg| {
        assert_eq!(
            unsafe { httpring_config_set_h2c_prior_knowledge(cfg, true) },
            HTTPRING_OK
        )
    });
    let hs: Vec<_> = (0..20).map(|_| c.get(&srv.url("/hello"))).collect();
    assert_eq!(
        unsafe { httpring_handle_wait_all(c.0, hs.as_ptr(), hs.len(), 30_000) },
        HTTPRING_OK
    );
    for &h in &hs {
        let r = c.response(h);
        assert_eq!(
            (r.status, r.version),
            (200, httpring_http_version::HTTPRING_HTTP_2),
            "{}",
            c.message(h)
        );
        c.free(h);
    }
    assert_eq!(srv.connections(), 1);
    // The default client speaks HTTP/1.1 to the same server.
    let h = Client::new();
    let hh = h.get(&srv.url("/hello"));
    h.wait(hh);
    assert_eq!(
        h.response(hh).version,
        httpring_http_version::HTTPRING_HTTP_1_1
    );
    h.free(hh);
}

/// An HTTP/2 (h2c) server that completes the handshake, takes the first request, then
/// stops serving the connection, socket open: PINGs go unanswered, as from a peer gone
/// without a FIN or RST.
fn silent_h2_server(rt: &tokio::runtime::Runtime) -> u16 {
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut conn) = h2::server::handshake(sock).await else {
                    return;
                };
                let first = conn.accept().await;
                // Hold the connection and the stream, never poll again.
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                drop((first, conn));
            });
        }
    });
    port
}

#[test]
fn http2_keepalive_pings_fail_a_silent_connection_fast_and_keep_a_live_one() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let port = silent_h2_server(&rt);
    // Pings every 100 ms, each answered within `ack_ms`.
    let h2c = |ack_ms: u64| {
        Client::with(|cfg| unsafe {
            assert_eq!(
                httpring_config_set_h2c_prior_knowledge(cfg, true),
                HTTPRING_OK
            );
            assert_eq!(
                httpring_config_set_read_timeout_ms(cfg, 10_000),
                HTTPRING_OK
            );
            assert_eq!(
                httpring_config_set_http2_keepalive(cfg, 100, ack_ms, true),
                HTTPRING_OK
            );
        })
    };
    // Pings unanswered: the request fails within interval + timeout (plus slack), long
    // before its 10 s read timeout.
    let c = h2c(200);
    let start = std::time::Instant::now();
    let (code, msg) = outcome(&c, &format!("http://127.0.0.1:{port}/hello"));
    let took = ms_since(start);
    assert_eq!(code, HTTPRING_ERR_READ_TIMEOUT, "{msg}");
    assert!(msg.contains("HTTP/2 PING"), "{msg}");
    assert!(took < 3_000, "failed after {took} ms");
    // A server that answers: pings while idle keep the pooled connection (one connection
    // for requests half a second apart). Each ping may take 2 s to be answered: a stall of
    // a loaded machine is not a dead peer.
    let srv = TestServer::start();
    let c = h2c(2_000);
    for _ in 0..3 {
        let (code, msg) = outcome(&c, &srv.url("/hello"));
        assert_eq!(code, HTTPRING_OK, "{msg}");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert_eq!(srv.connections(), 1);
    assert_eq!(c.stats().connections_opened, 1);
}

#[test]
fn dns_overrides_cache_and_failures() {
    let srv = TestServer::start();
    let port: u16 = srv.base.rsplit(':').next().unwrap().parse().unwrap();
    let c = Client::with(|cfg| unsafe {
        assert_eq!(
            httpring_config_add_resolve(
                cfg,
                c"api.made-up.test".as_ptr(),
                port,
                c"127.0.0.1".as_ptr()
            ),
            HTTPRING_OK
        );
        // No keep-alive, so every request connects (and resolves) again.
        assert_eq!(
            httpring_config_set_pool_max_idle_per_host(cfg, 0),
            HTTPRING_OK
        );
        assert_eq!(
            httpring_config_add_resolve(cfg, c"x".as_ptr(), 1, c"not-an-ip".as_ptr()),
            HTTPRING_ERR_INVALID_ARGUMENT
        );
    });
    // The override sends a made-up name to 127.0.0.1, without asking DNS.
    let (code, msg) = outcome(&c, &format!("http://api.made-up.test:{port}/echo"));
    assert_eq!(code, HTTPRING_OK, "{msg}");
    assert_eq!(c.stats().dns_lookups, 0);
    // localhost resolves through the system resolver once; the second request hits the cache.
    let local = format!("http://localhost:{port}/hello");
    assert_eq!(outcome(&c, &local).0, HTTPRING_OK);
    assert_eq!(c.stats().dns_lookups, 1);
    assert_eq!(outcome(&c, &local).0, HTTPRING_OK);
    assert_eq!(
        c.stats().dns_lookups,
        1,
        "second lookup must come from the cache"
    );
    assert_eq!(c.stats().connections_opened, 3);
    // A name under .invalid never resolves.
    let (code, msg) = outcome(&c, "http://nothing.invalid/");
    assert_eq!(code, HTTPRING_ERR_DNS, "{msg}");
    // With the cache disabled every connection asks again.
    let nocache = Client::with(|cfg| {
        assert_eq!(
            unsafe { httpring_config_set_dns_cache_ttl_ms(cfg, 0) },
            HTTPRING_OK
        );
        assert_eq!(
            unsafe { httpring_config_set_pool_max_idle_per_host(cfg, 0) },
            HTTPRING_OK
        );
    });
    outcome(&nocache, &local);
    outcome(&nocache, &local);
    assert_eq!(nocache.stats().dns_lookups, 2);
}

/// The keepalive timer of this process's TCP socket connected to 127.0.0.1:`port`, from
/// /proc/net/tcp: `Some(ticks)` (hundredths of a second to the first probe) when the socket
/// has keepalive armed, `None` when its timer is another or none.
fn keepalive_timer(port: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let remote = format!("0100007F:{port:04X}");
    let row = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f[2] == remote && f[3] == "01")
        .expect("an established connection to the test server");
    let (timer, when) = row[5].split_once(':').unwrap();
    (timer == "02").then(|| u64::from_str_radix(when, 16).unwrap())
}

#[test]
fn local_address_and_tcp_keepalive() {
    let srv = TestServer::start();
    let port: u16 = srv.base.rsplit(':').next().unwrap().parse().unwrap();
    let peer = |c: &Client| {
        let (status, body) = c.fetch(&srv.url("/peer"));
        assert_eq!(status, 200);
        String::from_utf8(body).unwrap()
    };
    // (Each part in its own scope: the clients close their connections at its end.)
    {
        // By default the system picks the source; with a local address the server sees it
        // (all of 127.0.0.0/8 is this host's).
        assert_eq!(peer(&Client::new()), "127.0.0.1");
        let c = Client::with(|cfg| unsafe {
            assert_eq!(
                httpring_config_set_local_address(cfg, c"127.0.0.2".as_ptr()),
                HTTPRING_OK
            );
        });
        assert_eq!(peer(&c), "127.0.0.2");
        assert_eq!(peer(&c), "127.0.0.2", "the pooled connection keeps it");
        // Cleared again with NULL or "".
        let c = Client::with(|cfg| unsafe {
            assert_eq!(
                httpring_config_set_local_address(cfg, c"127.0.0.2".as_ptr()),
                HTTPRING_OK
            );
            assert_eq!(
                httpring_config_set_local_address(cfg, c"".as_ptr()),
                HTTPRING_OK
            );
        });
        assert_eq!(peer(&c), "127.0.0.1");
        // The unspecified address keeps to its family, the system choosing the source:
        // "0.0.0.0" reaches the IPv4 server (httpx's idiom for IPv4 only).
        let c = Client::with(|cfg| unsafe {
            assert_eq!(
                httpring_config_set_local_address(cfg, c"0.0.0.0".as_ptr()),
                HTTPRING_OK
            );
        });
        assert_eq!(peer(&c), "127.0.0.1");
        // Not an address: refused at once, with a message.
        Client::with(|cfg| unsafe {
            assert_eq!(
                httpring_config_set_local_address(cfg, c"eth0".as_ptr()),
                HTTPRING_ERR_INVALID_ARGUMENT
            );
            let msg = last_error();
            assert!(msg.contains("\"eth0\" is not an IPv4 or IPv6"), "{msg}");
        });
        // An IPv6 source cannot reach an IPv4-only server: a connect error that says why.
        let c = Client::with(|cfg| unsafe {
            assert_eq!(
                httpring_config_set_local_address(cfg, c"::1".as_ptr()),
                HTTPRING_OK
            );
        });
        let (code, msg) = outcome(&c, &srv.url("/peer"));
        assert_eq!(code, HTTPRING_ERR_CONNECT, "{msg}");
        assert!(msg.contains("no IPv6 address"), "{msg}");
        // An address this host does not have (TEST-NET-1): the bind fails, as a connect error.
        let c = Client::with(|cfg| unsafe {
            assert_eq!(
                httpring_config_set_local_address(cfg, c"192.0.2.1".as_ptr()),
                HTTPRING_OK
            );
        });
        let (code, msg) = outcome(&c, &srv.url("/peer"));
        assert_eq!(code, HTTPRING_ERR_CONNECT, "{msg}");
        assert!(
            msg.contains("binding to the local address 192.0.2.1"),
            "{msg}"
        );
    }
    // Keepalive: off by default; on, the kernel arms its timer on the pooled connection,
    // due within the idle time asked for.
    let c = Client::new();
    assert_eq!(c.fetch(&srv.url("/hello")).0, 200);
    assert_eq!(keepalive_timer(port), None);
    drop(c);
    let c = Client::with(|cfg| unsafe {
        assert_eq!(
            httpring_config_set_tcp_keepalive(cfg, true, 7_000, 2_000, 3),
            HTTPRING_OK
        );
    });
    assert_eq!(c.fetch(&srv.url("/hello")).0, 200);
    let ticks = keepalive_timer(port).expect("keepalive armed");
    assert!(
        ticks > 0 && ticks <= 700,
        "first probe in {ticks} ticks, asked for 7 s"
    );
    drop(c);
    Client::with(|cfg| unsafe {
        assert_eq!(
            httpring_config_set_tcp_keepalive(cfg, true, 40_000_000, 0, 0),
            HTTPRING_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            httpring_config_set_tcp_keepalive(cfg, true, 1_000, 0, 200),
            HTTPRING_ERR_INVALID_ARGUMENT
        );
        // Sub-second times round up to the kernel's one second; off again.
        assert_eq!(
            httpring_config_set_tcp_keepalive(cfg, true, 1, 1, 1),
            HTTPRING_OK
        );
        assert_eq!(
            httpring_config_set_tcp_keepalive(cfg, false, 0, 0, 0),
            HTTPRING_OK
        );
    });
    // On with the system's timing (0s): the timer runs to the system's idle time.
    let idle: u64 = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_keepalive_time")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let c = Client::with(|cfg| unsafe {
        assert_eq!(
            httpring_config_set_tcp_keepalive(cfg, true, 0, 0, 0),
            HTTPRING_OK
        );
    });
    assert_eq!(c.fetch(&srv.url("/hello")).0, 200);
    let ticks = keepalive_timer(port).expect("keepalive armed");
    assert!(
        ticks > (idle * 100).saturating_sub(500) && ticks <= idle * 100,
        "first probe in {ticks} ticks, the system's idle is {idle} s"
    );
}

/// A small HTTP proxy: CONNECT tunnels, and absolute-form requests forwarded as they are.
fn http_proxy(rt: &tokio::runtime::Runtime, seen: Arc<AtomicUsize>) -> u16 {
    http_proxy_over(rt, seen, None)
}

/// [`http_proxy`], reached over TLS when `tls` is given (an `https://` proxy).
fn http_proxy_over(
    rt: &tokio::runtime::Runtime,
    seen: Arc<AtomicUsize>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> u16 {
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                continue;
            };
            let (seen, tls) = (seen.clone(), tls.clone());
            tokio::spawn(async move {
                match tls {
                    None => proxy_session(client, seen).await,
                    Some(acceptor) => {
                        if let Ok(client) = acceptor.accept(client).await {
                            proxy_session(client, seen).await
                        }
                    }
                }
            });
        }
    });
    port
}

async fn proxy_session<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut client: S,
    seen: Arc<AtomicUsize>,
) {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let Ok(b) = client.read_u8().await else {
            return;
        };
        head.push(b);
    }
    seen.fetch_add(1, Ordering::SeqCst);
    let text = String::from_utf8_lossy(&head).to_string();
    let mut words = text.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if method == "CONNECT" {
        let Ok(mut up) = TcpStream::connect(target).await else {
            return;
        };
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await
            .unwrap();
        let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
    } else {
        // Absolute-form: forward to the authority in the URL, head included.
        let authority = target
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let Ok(mut up) = TcpStream::connect(authority).await else {
            return;
        };
        up.write_all(&head).await.unwrap();
        let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
    }
}

/// A small SOCKS5 proxy (no authentication; IPv4 or domain targets).
fn socks5_proxy(rt: &tokio::runtime::Runtime, seen: Arc<AtomicUsize>) -> u16 {
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(async move {
        loop {
            let Ok((mut c, _)) = listener.accept().await else {
                continue;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut hello = [0u8; 2];
                c.read_exact(&mut hello).await.unwrap();
                let mut methods = vec![0u8; hello[1] as usize];
                c.read_exact(&mut methods).await.unwrap();
                assert!(methods.contains(&0));
                c.write_all(&[5, 0]).await.unwrap();
                let mut req = [0u8; 4];
                c.read_exact(&mut req).await.unwrap();
                let host = match req[3] {
                    1 => {
                        let mut ip = [0u8; 4];
                        c.read_exact(&mut ip).await.unwrap();
                        std::net::Ipv4Addr::from(ip).to_string()
                    }
                    3 => {
                        let n = c.read_u8().await.unwrap() as usize;
                        let mut name = vec![0u8; n];
                        c.read_exact(&mut name).await.unwrap();
                        String::from_utf8(name).unwrap()
                    }
                    _ => return,
                };
                let port = c.read_u16().await.unwrap();
                seen.fetch_add(1, Ordering::SeqCst);
                let host = if host == "proxied.test" {
                    "127.0.0.1".to_string()
                } else {
                    host
                };
                let Ok(mut up) = TcpStream::connect((host.as_str(), port)).await else {
                    c.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await.unwrap();
                    return;
                };
                c.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut c, &mut up).await;
            });
        }
    });
    port
}

#[test]
fn proxies_carry_requests() {
    let rt = one_worker_runtime();
    let srv = TestServer::start();
    let ca = ca("httpring test CA");
    let tls = tls_server(
        &leaf(&ca, &["127.0.0.1"], false),
        None,
        &[b"h2", b"http/1.1"],
    );
    let http_seen = Arc::new(AtomicUsize::new(0));
    let http_port = http_proxy(&rt, http_seen.clone());

    let via_http = client_with_ca(&ca, |cfg| unsafe {
        let url = CString::new(format!("http://user:secret@127.0.0.1:{http_port}")).unwrap();
        assert_eq!(httpring_config_set_proxy(cfg, url.as_ptr()), HTTPRING_OK);
    });
    // https through a CONNECT tunnel (and h2 inside it).
    let h = via_http.get(&format!("https://127.0.0.1:{}/hello", tls.port));
    via_http.wait(h);
    assert_eq!(via_http.error(h), HTTPRING_OK, "{}", via_http.message(h));
    assert_eq!(
        via_http.response(h).version,
        httpring_http_version::HTTPRING_HTTP_2
    );
    via_http.free(h);
    // Plain http in absolute form; the proxy forwards the head, so /echo shows what it got.
    let h = via_http.get(&srv.url("/echo"));
    via_http.wait(h);
    let echo = String::from_utf8(via_http.body(h)).unwrap();
    assert!(
        echo.contains(&format!(r#""path": "{}""#, srv.url("/echo")))
            || echo.contains(r#""path": "/echo""#),
        "{echo}"
    );
    // The proxy's credentials go along (base64 of "user:secret"), as with CONNECT.
    assert!(
        echo.contains(r#""proxy-authorization": "Basic dXNlcjpzZWNyZXQ=""#),
        "{echo}"
    );
    via_http.free(h);
    assert_eq!(http_seen.load(Ordering::SeqCst), 2);
    assert_eq!(tls.stats.connections.load(Ordering::SeqCst), 1);

    let socks_seen = Arc::new(AtomicUsize::new(0));
    let socks_port = socks5_proxy(&rt, socks_seen.clone());
    for (scheme, host) in [("socks5", "127.0.0.1"), ("socks5h", "proxied.test")] {
        let c = Client::with(|cfg| unsafe {
            let url = CString::new(format!("{scheme}://127.0.0.1:{socks_port}")).unwrap();
            assert_eq!(httpring_config_set_proxy(cfg, url.as_ptr()), HTTPRING_OK);
        });
        let url = srv.url("/hello").replace("127.0.0.1", host);
        let (code, msg) = outcome(&c, &url);
        assert_eq!(code, HTTPRING_OK, "{scheme}: {msg}");
    }
    assert_eq!(socks_seen.load(Ordering::SeqCst), 2);

    // A proxy that is not there: the error names the proxy.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Client::with(|cfg| unsafe {
        let url = CString::new(format!("http://127.0.0.1:{dead}")).unwrap();
        assert_eq!(httpring_config_set_proxy(cfg, url.as_ptr()), HTTPRING_OK);
        assert_eq!(
            httpring_config_set_proxy(cfg, c"ftp://x".as_ptr()),
            HTTPRING_ERR_INVALID_ARGUMENT
        );
    });
    let (code, msg) = outcome(&c, &srv.url("/hello"));
    assert_eq!(code, HTTPRING_ERR_CONNECT_REFUSED);
    assert!(msg.contains("proxy"), "{msg}");
    // NO_PROXY-style bypass.
    let c = Client::with(|cfg| unsafe {
        let url = CString::new(format!("http://127.0.0.1:{dead}")).unwrap();
        assert_eq!(httpring_config_set_proxy(cfg, url.as_ptr()), HTTPRING_OK);
        assert_eq!(
            httpring_config_add_no_proxy(cfg, c"127.0.0.1".as_ptr()),
            HTTPRING_OK
        );
    });
    assert_eq!(outcome(&c, &srv.url("/hello")).0, HTTPRING_OK);
}

#[test]
fn unix_domain_socket_transport() {
    let dir = std::env::temp_dir().join(format!("httpring-uds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("server.sock");
    let _ = std::fs::remove_file(&path);
    let rt = one_worker_runtime();
    let listener = {
        let _g = rt.enter();
        tokio::net::UnixListener::bind(&path).unwrap()
    };
    let stats = Arc::new(Stats::default());
    let st = stats.clone();
    rt.spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(server::serve_io(
                s,
                Arc::new(Options::default()),
                st.clone(),
            ));
        }
    });
    let c = Client::with(|cfg| unsafe {
        let p = CString::new(path.to_str().unwrap()).unwrap();
        assert_eq!(
            httpring_config_set_unix_socket(cfg, p.as_ptr()),
            HTTPRING_OK
        );
    });
    for _ in 0..3 {
        assert_eq!(
            c.fetch("http://localhost/hello"),
            (200, b"Hello, world!".to_vec())
        );
    }
    let h = c.get("http://docker/echo");
    c.wait(h);
    assert!(String::from_utf8(c.body(h))
        .unwrap()
        .contains(r#""host": "docker""#));
    c.free(h);
    // Keep-alive over the socket: one connection per origin named in the URLs.
    assert_eq!(stats.connections.load(Ordering::SeqCst), 2);
    let missing = Client::with(|cfg| unsafe {
        assert_eq!(
            httpring_config_set_unix_socket(cfg, c"/nonexistent/httpring.sock".as_ptr()),
            HTTPRING_OK
        );
    });
    assert_eq!(
        outcome(&missing, "http://localhost/").0,
        HTTPRING_ERR_CONNECT
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_redirect_from_https_to_plain_http_is_refused_unless_allowed() {
    let ca = ca("httpring test CA");
    let tls = tls_server(&leaf(&ca, &["127.0.0.1"], false), None, &[b"http/1.1"]);
    let plain = TestServer::start();
    let target = plain.url("/hello");
    let from = format!("https://127.0.0.1:{}/redirect-to?url={target}", tls.port);
    let follow = |allow: bool| {
        client_with_ca(&ca, |cfg| unsafe {
            assert_eq!(httpring_config_set_follow_redirects(cfg, true), HTTPRING_OK);
            assert_eq!(
                httpring_config_set_redirect_allow_insecure(cfg, allow),
                HTTPRING_OK
            );
        })
    };
    let (code, msg) = outcome(&follow(false), &from);
    assert_eq!(code, HTTPRING_ERR_INSECURE_REDIRECT, "{msg}");
    assert_eq!(
        plain.stats.requests.load(Ordering::SeqCst),
        0,
        "nothing went in clear"
    );
    let c = follow(true);
    let h = c.get(&from);
    c.wait(h);
    assert_eq!(c.error(h), HTTPRING_OK, "{}", c.message(h));
    assert_eq!(c.body(h), b"Hello, world!");
    let mut n = 0;
    assert_eq!(
        unsafe { httpring_response_redirect_count(c.0, h, &mut n) },
        HTTPRING_OK
    );
    assert_eq!(n, 1);
    c.free(h);
}

/// An h2c server that answers a head and part of the body, then resets the TCP connection
/// (SO_LINGER 0 and close): a network failure, reported as I/O, not as a protocol error.
#[test]
fn a_tcp_reset_mid_body_over_http2_is_io() {
    let (rt, listener, port) = server_runtime();
    rt.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            // A zero linger makes the close a reset (and never blocks).
            #[allow(deprecated)]
            stream.set_linger(Some(std::time::Duration::ZERO)).unwrap();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(TenThenSilence(false)))
                });
                let conn =
                    hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
                // Dropped after 300 ms, mid-body: the socket closes with a reset.
                let _ = tokio::time::timeout(std::time::Duration::from_millis(300), conn).await;
            });
        }
    });
    let c = Client::with(|cfg| unsafe {
        assert_eq!(
            httpring_config_set_h2c_prior_knowledge(cfg, true),
            HTTPRING_OK
        );
    });
    let h = c.get(&format!("http://127.0.0.1:{port}/"));
    assert_eq!(c.wait(h), httpring_state::HTTPRING_STATE_FAILED);
    assert_eq!(c.error(h), HTTPRING_ERR_IO, "{}", c.message(h));
}

/// 10 bytes, then nothing, ever.
struct TenThenSilence(bool);

impl hyper::body::Body for TenThenSilence {
    type Data = bytes::Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, std::io::Error>>> {
        if std::mem::replace(&mut self.0, true) {
            return std::task::Poll::Pending;
        }
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(
            bytes::Bytes::from_static(b"0123456789"),
        ))))
    }
}

/// An encrypted client key (PKCS#8 PBES2, as `openssl pkcs8 -topk8` writes it) with its
/// password: the handshake succeeds. A wrong or missing password, and OpenSSL's legacy
/// encrypted format, are refused at the setter with a message saying which.
#[test]
fn mutual_tls_with_an_encrypted_key() {
    use pkcs8::der::{pem::LineEnding, Decode};
    let ca = ca("httpring test CA");
    let server = tls_server(&leaf(&ca, &["127.0.0.1"], false), Some(&ca), &[b"http/1.1"]);
    let url = format!("https://127.0.0.1:{}/hello", server.port);
    let id = leaf(&ca, &["client.test"], false);
    let PrivateKeyDer::Pkcs8(der) = &id.key else {
        unreachable!("rcgen writes PKCS#8")
    };
    let info = pkcs8::PrivateKeyInfo::from_der(der.secret_pkcs8_der()).unwrap();
    let params =
        pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, b"saltsalt", &[7; 16])
            .unwrap();
    let encrypted = info
        .encrypt_with_params(params, b"s3cret")
        .unwrap()
        .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .unwrap();
    assert!(encrypted.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    let set = |cfg: *mut httpring_config, key: &str, password: Option<&str>| {
        let password = password.map(|p| std::ffi::CString::new(p).unwrap());
        let code = unsafe {
            httpring_config_set_client_cert_pem_password(
                cfg,
                id.cert_pem.as_ptr(),
                id.cert_pem.len(),
                key.as_ptr(),
                key.len(),
                password.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
            )
        };
        (code, last_error())
    };
    let with = client_with_ca(&ca, |cfg| {
        assert_eq!(set(cfg, &encrypted, Some("s3cret")).0, HTTPRING_OK);
    });
    let (code, msg) = outcome(&with, &url);
    assert_eq!(code, HTTPRING_OK, "{msg}");
    // A plain key ignores a password; refusals say why.
    let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
    client_with_ca(&ca, |cfg| {
        assert_eq!(set(cfg, &id.key_pem, Some("ignored")).0, HTTPRING_OK);
        for (key, password, says) in [
            (encrypted.as_str(), Some("wrong"), "could not decrypt"),
            (encrypted.as_str(), None, "give its password"),
            (legacy, Some("s3cret"), "openssl pkcs8 -topk8"),
        ] {
            let (code, msg) = set(cfg, key, password);
            assert_eq!(code, HTTPRING_ERR_INVALID_ARGUMENT, "{password:?}");
            assert!(msg.contains(says), "{password:?}: {msg}");
        }
    });
}

/// The calling thread's last error message.
fn last_error() -> String {
    let mut buf = [0u8; 512];
    let mut len = 0usize;
    unsafe { httpring_last_error_message(buf.as_mut_ptr().cast(), buf.len(), &mut len) };
    String::from_utf8_lossy(&buf[..len.min(buf.len())]).into_owned()
}

/// An `https://` proxy: TLS to the proxy (verified like a server), then CONNECT inside it
/// for an https target (TLS inside TLS, h2 negotiated with the target) and absolute-form
/// requests inside it for an http one, with the proxy's credentials. A proxy whose
/// certificate is not trusted fails as a certificate error that names the proxy.
#[test]
fn an_https_proxy_carries_requests_inside_tls() {
    let rt = one_worker_runtime();
    let srv = TestServer::start();
    let ca = ca("httpring test CA");
    let target = tls_server(
        &leaf(&ca, &["127.0.0.1"], false),
        None,
        &[b"h2", b"http/1.1"],
    );
    let proxy_cert = leaf(&ca, &["127.0.0.1"], false);
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(proxy_cert.chain.clone(), proxy_cert.key.clone_key())
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let seen = Arc::new(AtomicUsize::new(0));
    let port = http_proxy_over(
        &rt,
        seen.clone(),
        Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
    );
    let proxy_url = CString::new(format!("https://user:secret@127.0.0.1:{port}")).unwrap();
    let c = client_with_ca(&ca, |cfg| unsafe {
        assert_eq!(
            httpring_config_set_proxy(cfg, proxy_url.as_ptr()),
            HTTPRING_OK
        );
    });
    let h = c.get(&format!("https://127.0.0.1:{}/hello", target.port));
    assert_eq!(
        c.wait(h),
        httpring_state::HTTPRING_STATE_DONE,
        "{}",
        c.message(h)
    );
    assert_eq!(c.body(h), b"Hello, world!");
    assert_eq!(
        c.response(h).version,
        httpring_http_version::HTTPRING_HTTP_2
    );
    c.free(h);
    let h = c.get(&srv.url("/echo"));
    assert_eq!(
        c.wait(h),
        httpring_state::HTTPRING_STATE_DONE,
        "{}",
        c.message(h)
    );
    let echo = String::from_utf8(c.body(h)).unwrap();
    assert!(
        echo.contains(r#""proxy-authorization": "Basic dXNlcjpzZWNyZXQ=""#),
        "{echo}"
    );
    c.free(h);
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    // The proxy's certificate is checked: a client without the CA refuses it.
    let strict = Client::with(|cfg| unsafe {
        assert_eq!(
            httpring_config_set_proxy(cfg, proxy_url.as_ptr()),
            HTTPRING_OK
        );
    });
    let h = strict.get(&srv.url("/hello"));
    strict.wait(h);
    assert_eq!(strict.error(h), HTTPRING_ERR_TLS_CERTIFICATE);
    let msg = strict.message(h);
    assert!(msg.contains(&format!("proxy 127.0.0.1:{port}")), "{msg}");
    strict.free(h);
    assert_eq!(
        seen.load(Ordering::SeqCst),
        2,
        "no request reached the proxy"
    );
}

/// `sha256//` and the base64 of the SHA-256 of a certificate's SubjectPublicKeyInfo.
fn pin_of(cert: &CertificateDer<'_>) -> String {
    use base64::Engine as _;
    use x509_cert::der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(cert.as_ref()).unwrap();
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA256, &spki);
    format!(
        "sha256//{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

/// Public-key pinning (curl's --pinnedpubkey): the server's key among the pins passes; a
/// server with another key fails as a certificate error that shows the key it has, also
/// with verification turned off; a malformed pin is refused at the setter.
#[test]
fn a_pinned_public_key_is_required_of_the_server() {
    let ca = ca("httpring test CA");
    let server_cert = leaf(&ca, &["127.0.0.1"], false);
    let server = tls_server(&server_cert, None, &[b"http/1.1"]);
    let url = format!("https://127.0.0.1:{}/hello", server.port);
    let right = pin_of(&server_cert.chain[0]);
    let other = pin_of(&leaf(&ca, &["127.0.0.1"], false).chain[0]);
    let pin = |pins: &str| {
        let pins = CString::new(pins).unwrap();
        move |cfg: *mut httpring_config| unsafe {
            assert_eq!(
                httpring_config_set_pinned_public_key(cfg, pins.as_ptr()),
                HTTPRING_OK
            );
        }
    };
    for pins in [right.clone(), format!("{other};{right}")] {
        let c = client_with_ca(&ca, pin(&pins));
        let (code, msg) = outcome(&c, &url);
        assert_eq!(code, HTTPRING_OK, "{pins}: {msg}");
    }
    let wrong = client_with_ca(&ca, pin(&other));
    let (code, msg) = outcome(&wrong, &url);
    assert_eq!(code, HTTPRING_ERR_TLS_CERTIFICATE, "{msg}");
    assert!(
        msg.contains("matches no pinned key") && msg.contains(&right),
        "{msg}"
    );
    // Verification off: the pin still holds.
    let off = Client::with(|cfg| unsafe {
        assert_eq!(
            httpring_config_set_danger_accept_invalid_certs(cfg, true),
            HTTPRING_OK
        );
        pin(&other)(cfg);
    });
    assert_eq!(outcome(&off, &url).0, HTTPRING_ERR_TLS_CERTIFICATE);
    // Malformed pins; NULL removes them.
    Client::with(|cfg| unsafe {
        for bad in [c"sha1//AAAA", c"sha256//not base64!", c"sha256//AAAA"] {
            assert_eq!(
                httpring_config_set_pinned_public_key(cfg, bad.as_ptr()),
                HTTPRING_ERR_INVALID_ARGUMENT
            );
            assert!(
                last_error().contains("pinned public key"),
                "{}",
                last_error()
            );
        }
        assert_eq!(
            httpring_config_set_pinned_public_key(cfg, std::ptr::null()),
            HTTPRING_OK
        );
    });
}

/// A runtime with one worker thread, for the servers and proxies a test runs beside the client.
fn one_worker_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}
