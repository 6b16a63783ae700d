//! Opening a connection to an origin: the route (direct TCP, HTTP proxy, CONNECT tunnel,
//! SOCKS5, or a Unix socket), TLS with ALPN, then the HTTP/1.1 or HTTP/2 handshake. The
//! result is a `Conn` whose connection task runs on the runtime.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};

use super::quickack::{QuickAck, Socket, Traffic};

use super::conn::{Body, Conn, ConnFacts, Driven, Hold, NoteStreams, PoolKey, Sender};
use super::dns::Resolver;
use super::proxy::{self, Proxy, ProxyKind, ProxyRules};
use super::{map_hyper, tls};
use crate::config::{Config, HttpVersionPref};
use crate::error::{Error, ErrorKind, Result};

trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}
type BoxIo = Box<dyn Io>;

/// How far a new connection got, for a connect timeout's message.
#[repr(u8)]
pub enum Phase {
    /// Resolving the name (of the proxy, if any).
    Dns = 0,
    /// Opening the TCP connection.
    Tcp = 1,
    /// The proxy's handshake (HTTP CONNECT or SOCKS5).
    Proxy = 2,
    /// The TLS handshake (for `http://`, this phase passes at once).
    Tls = 3,
    /// The HTTP/1.1 or HTTP/2 handshake.
    Http = 4,
}

impl Phase {
    /// Where a connection whose progress is `phase` stalled, in words.
    pub fn describe(phase: u8, https: bool) -> &'static str {
        match phase {
            0 => "the name lookup did not finish",
            1 => "the name was resolved; no TCP connection yet",
            2 => "the proxy did not complete its handshake",
            3 if https => "the TLS handshake did not finish",
            _ => "the HTTP handshake did not finish",
        }
    }
}

pub struct Connector {
    tls_options: crate::config::TlsOptions,
    tls_connector: std::sync::OnceLock<Result<tokio_rustls::TlsConnector>>,
    /// For `https://` proxies: HTTP/1.1 only (CONNECT is an HTTP/1.1 request here).
    proxy_tls_connector: std::sync::OnceLock<Result<tokio_rustls::TlsConnector>>,
    pub(crate) resolver: Resolver,
    proxies: ProxyRules,
    unix: Option<PathBuf>,
    version: HttpVersionPref,
    h2c: bool,
    h2_keepalive: Option<crate::config::Http2Keepalive>,
    write_timeout: Option<std::time::Duration>,
    max_headers: Option<usize>,
    opened: AtomicUsize,
}

impl Connector {
    pub fn new(cfg: &Config) -> Result<Connector> {
        Ok(Connector {
            tls_options: cfg.tls.clone(),
            tls_connector: std::sync::OnceLock::new(),
            proxy_tls_connector: std::sync::OnceLock::new(),
            resolver: Resolver::new(cfg),
            proxies: ProxyRules::from_config(cfg)?,
            unix: cfg.unix_socket.clone(),
            version: cfg.http_version,
            h2c: cfg.h2c_prior_knowledge,
            h2_keepalive: cfg.http2_keepalive,
            write_timeout: cfg.write_timeout,
            max_headers: cfg.max_response_headers,
            opened: AtomicUsize::new(0),
        })
    }

    /// Connections opened so far.
    pub fn opened(&self) -> usize {
        self.opened.load(Ordering::Relaxed)
    }

    /// Whether connections to `key` may turn out to be HTTP/2 (and so be shared): then
    /// concurrent requests wait for one connection instead of each opening their own.
    pub fn may_share(&self, key: &PoolKey) -> bool {
        match self.version {
            // h2c prior knowledge still applies to http:// URLs.
            HttpVersionPref::Http1Only => self.h2c && !key.https,
            HttpVersionPref::Http2Only => true,
            HttpVersionPref::Negotiate => key.https || self.h2c,
        }
    }

    /// A new connection to `key`; `hold` is kept until its socket closes. `phase` follows
    /// its progress ([`Phase`]), for a connect timeout to say where it stalled.
    pub async fn connect(
        &self,
        key: &PoolKey,
        hold: Option<Hold>,
        phase: &AtomicU8,
    ) -> Result<Conn> {
        let host = key.host();
        let port = key.port();
        let mut absolute_form = false;
        let mut proxy_auth = None;
        let mut activity = None;
        let mut facts = ConnFacts::default();
        let start = Instant::now();
        let resolved = || phase.store(Phase::Tcp as u8, Ordering::Relaxed);
        let mut wrap = |s: tokio::net::TcpStream, facts: &mut ConnFacts| -> BoxIo {
            facts.remote = s.peer_addr().ok();
            clocked(s, self.write_timeout, &mut activity, facts)
        };
        let io: BoxIo = if let Some(path) = &self.unix {
            resolved(); // no name to look up
            let s = connect_unix(path).await?;
            clocked(s, self.write_timeout, &mut activity, &mut facts)
        } else {
            match self.proxies.for_target(key.https, host) {
                None => {
                    let (s, dns) = self.resolver.connect(host, port, resolved).await?;
                    facts.dns = dns;
                    wrap(s, &mut facts)
                }
                Some(p) => {
                    let (mut s, dns) = self
                        .resolver
                        .connect(&p.host, p.port, resolved)
                        .await
                        .map_err(|e| {
                            Error::new(
                                e.kind(),
                                format!("proxy {}:{}: {}", p.host, p.port, e.message()),
                            )
                        })?;
                    phase.store(Phase::Proxy as u8, Ordering::Relaxed);
                    facts.dns = dns;
                    match p.kind {
                        ProxyKind::Http | ProxyKind::Https if !key.https => {
                            absolute_form = true;
                            proxy_auth = p.authorization_value().map(Box::new);
                        }
                        ProxyKind::Http => proxy::http_connect(&mut s, p, host, port).await?,
                        ProxyKind::Https => {}
                        ProxyKind::Socks5 { remote_dns } => {
                            let addr = if remote_dns {
                                None
                            } else {
                                Some(self.resolver.resolve(host, port).await?[0].ip())
                            };
                            proxy::socks5_connect(&mut s, p, host, addr, port).await?
                        }
                    }
                    let io = wrap(s, &mut facts);
                    if p.kind == ProxyKind::Https {
                        let mut tunnel = self.proxy_tls(p, io).await?;
                        if key.https {
                            proxy::http_connect(&mut tunnel, p, host, port).await?;
                        }
                        Box::new(tunnel)
                    } else {
                        io
                    }
                }
            }
        };
        facts.connect = start.elapsed().saturating_sub(facts.dns);
        let tls_start = Instant::now();
        phase.store(Phase::Tls as u8, Ordering::Relaxed);
        let (io, h2): (BoxIo, bool) = if key.https {
            let name = tls::server_name(host)?;
            let connector = self
                .tls_connector
                .get_or_init(|| {
                    tls::client_config(&self.tls_options, self.version)
                        .map(tokio_rustls::TlsConnector::from)
                })
                .as_ref()
                .map_err(Clone::clone)?;
            let stream = connector
                .connect(name, io)
                .await
                .map_err(|e| tls::handshake_error(e, host))?;
            let session = stream.get_ref().1;
            let h2 = session.alpn_protocol() == Some(b"h2");
            facts.tls = tls_start.elapsed();
            facts.tls_version = session.protocol_version().map_or(0, u16::from);
            facts.alpn = match session.alpn_protocol() {
                Some(b"h2") => Some("h2"),
                Some(b"http/1.1") => Some("http/1.1"),
                _ => None,
            };
            if self.version == HttpVersionPref::Http2Only && !h2 {
                return Err(Error::new(
                    ErrorKind::Protocol,
                    format!("{host} does not offer HTTP/2 (ALPN) and the client requires it"),
                ));
            }
            (Box::new(stream), h2)
        } else {
            (io, self.h2c || self.version == HttpVersionPref::Http2Only)
        };
        self.opened.fetch_add(1, Ordering::Relaxed);
        phase.store(Phase::Http as u8, Ordering::Relaxed);
        // Before the connection's task first reads (HTTP/2's frames share the socket).
        if let Some(t) = activity.as_deref().filter(|_| h2) {
            t.always();
        }
        let traffic = activity.clone().filter(|_| h2);
        let mut conn = handshake(io, h2, absolute_form, self, hold, facts, traffic).await?;
        conn.proxy_auth = proxy_auth;
        conn.activity = activity;
        Ok(conn)
    }
}

impl Connector {
    /// TLS to an `https://` proxy, verified as a server is (the proxy's host name).
    async fn proxy_tls(
        &self,
        p: &Proxy,
        io: BoxIo,
    ) -> Result<tokio_rustls::client::TlsStream<BoxIo>> {
        let name = tls::server_name(&p.host)?;
        let connector = self
            .proxy_tls_connector
            .get_or_init(|| {
                tls::client_config(&self.tls_options, HttpVersionPref::Http1Only)
                    .map(tokio_rustls::TlsConnector::from)
            })
            .as_ref()
            .map_err(Clone::clone)?;
        connector.connect(name, io).await.map_err(|e| {
            let e = tls::handshake_error(e, &p.host);
            Error::new(
                e.kind(),
                format!("proxy {}:{}: {}", p.host, p.port, e.message()),
            )
        })
    }
}

/// The socket (TCP or Unix) with the clocks the connection keeps: its byte counts
/// (`activity`, `facts.written`) and the write timeout.
fn clocked<S: Socket + Send + 'static>(
    s: S,
    write_timeout: Option<std::time::Duration>,
    activity: &mut Option<Arc<Traffic>>,
    facts: &mut ConnFacts,
) -> BoxIo {
    let sock = QuickAck::new(s, write_timeout);
    *activity = Some(sock.traffic.clone());
    facts.written = Some(sock.written.clone());
    Box::new(sock)
}

/// A Unix socket whose accept queue is full answers EAGAIN at once (TCP would queue the
/// SYN): back off and try again; the connect timeout bounds the whole attempt.
async fn connect_unix(path: &std::path::Path) -> Result<tokio::net::UnixStream> {
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        match tokio::net::UnixStream::connect(path).await {
            Ok(s) => return Ok(s),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_millis(50));
            }
            Err(e) => {
                let kind = if e.kind() == std::io::ErrorKind::ConnectionRefused {
                    ErrorKind::ConnectRefused
                } else {
                    ErrorKind::Connect
                };
                return Err(Error::new(
                    kind,
                    format!("could not connect to Unix socket {}: {e}", path.display()),
                ));
            }
        }
    }
}

async fn handshake(
    io: BoxIo,
    h2: bool,
    absolute_form: bool,
    connector: &Connector,
    hold: Option<Hold>,
    facts: ConnFacts,
    traffic: Option<Arc<Traffic>>,
) -> Result<Conn> {
    let max_headers = connector.max_headers;
    let io = TokioIo::new(io);
    if h2 {
        let mut builder = hyper::client::conn::http2::Builder::new(TokioExecutor::new());
        // h2 closes a connection after 1,024 streams it reset itself (a guard for
        // servers); here those are the caller's cancels and frees mid-body, and the soak
        // saw a busy connection taken down with every request on it (hyperium/h2#856).
        builder.max_local_error_reset_streams(None);
        if let Some(k) = connector.h2_keepalive {
            builder
                .timer(TokioTimer::new())
                .keep_alive_interval(k.interval)
                .keep_alive_timeout(k.timeout)
                .keep_alive_while_idle(k.while_idle);
        }
        let (tx, conn) = builder
            .handshake::<_, Body>(io)
            .await
            .map_err(|e| map_hyper(e, "starting the HTTP/2 connection"))?;
        let task = match traffic {
            Some(traffic) => tokio::spawn(Driven::new(NoteStreams { conn, traffic }, hold)),
            None => tokio::spawn(Driven::new(conn, hold)),
        };
        Ok(Conn::new(
            Sender::H2(tx),
            task.abort_handle(),
            absolute_form,
            facts,
        ))
    } else {
        let mut builder = hyper::client::conn::http1::Builder::new();
        if let Some(n) = max_headers {
            builder.max_headers(n);
        }
        let (tx, conn) = builder
            .handshake::<_, Body>(io)
            .await
            .map_err(|e| map_hyper(e, "starting the HTTP/1.1 connection"))?;
        let task = tokio::spawn(Driven::new(conn, hold));
        Ok(Conn::new(
            Sender::H1(tx),
            task.abort_handle(),
            absolute_form,
            facts,
        ))
    }
}
