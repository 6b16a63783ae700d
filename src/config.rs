//! Client configuration: immutable once the client is built.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use http::Uri;

use crate::error::{Error, ErrorKind, Result};

/// Settings for a [`crate::Client`]. `None` for a timeout means "no limit".
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    pub connect_timeout: Option<Duration>,
    /// Limit on the whole request, from submit to the last body byte.
    pub timeout: Option<Duration>,
    /// Limit on silence from the peer while a response is awaited or read (over HTTP/2, on the
    /// request's own stream once the request is out).
    pub read_timeout: Option<Duration>,
    /// Fail a response body that arrives, or a request body that goes, slower than this
    /// (curl's `LOW_SPEED_LIMIT` and `LOW_SPEED_TIME`); None: no limit (the default).
    pub low_speed: Option<LowSpeed>,
    /// Most bytes per second a response body is read at (curl's `MAX_RECV_SPEED_LARGE`,
    /// `--limit-rate`); None: as fast as it comes (the default).
    pub max_recv_speed: Option<u64>,
    /// Most bytes per second a request body is sent at (curl's `MAX_SEND_SPEED_LARGE`);
    /// None: as fast as the socket takes it (the default).
    pub max_send_speed: Option<u64>,
    pub pool_idle_timeout: Option<Duration>,
    pub pool_max_idle_per_host: usize,
    /// Most idle connections kept across all origins (None: only the per-host cap).
    pub pool_max_idle: Option<usize>,
    /// Most connections open (or opening) to one origin; requests beyond wait in a queue
    /// in arrival order for a connection to finish or close. None: no cap.
    pub max_connections_per_host: Option<usize>,
    /// Most connections open across all origins, queued the same way. None: no cap.
    pub max_connections: Option<usize>,
    /// Longest a request waits in that queue; then it fails with `PoolTimeout`.
    pub pool_timeout: Option<Duration>,
    /// Longest a write to the socket may stay blocked (the server not reading); then the
    /// request fails with `WriteTimeout`.
    pub write_timeout: Option<Duration>,
    /// Most requests submitted and not yet completed; a submit beyond fails at once with
    /// `TooManyInFlight`. None: no cap.
    pub max_in_flight: Option<usize>,
    /// Largest accepted response body in bytes (a streamed body is not held whole, and not
    /// limited by it).
    pub max_body_size: u64,
    /// Most header lines an HTTP/1.1 response head may have (`None`: hyper's 100, parsed on
    /// the stack; a set value costs an allocation per response).
    pub max_response_headers: Option<usize>,
    /// Bytes of a streamed body buffered before the engine stops reading it from the server.
    pub stream_buffer: usize,
    /// Keep a buffered body in the pieces it was read in (up to 16) rather than joining
    /// them as they come, for a caller that copies bodies out piece by piece
    /// (`Response::body_pieces`); `Response::body` then joins them when first called.
    pub body_pieces: bool,
    /// 1 runs a current-thread runtime on one background thread (the fastest hand-off);
    /// more runs tokio's multi-thread scheduler with that many workers.
    pub worker_threads: usize,
    /// A thread blocked in `wait*` runs the (one-worker) runtime itself while it waits,
    /// instead of sleeping until the runtime's thread wakes it.
    pub wait_drives_io: bool,
    /// Sent with every request unless the request sets the same name.
    pub default_headers: HeaderMap,
    pub tls: TlsOptions,
    pub http_version: HttpVersionPref,
    /// Speak HTTP/2 without negotiation on `http://` URLs (h2c prior knowledge).
    pub h2c_prior_knowledge: bool,
    /// HTTP/2 PING frames that keep a connection known to be alive (off by default).
    pub http2_keepalive: Option<Http2Keepalive>,
    /// How long a resolved name is reused.
    pub dns_cache_ttl: Duration,
    /// `(host, port)` → addresses, like curl's `--resolve host:port:addr`.
    pub resolve_overrides: Vec<(String, u16, Vec<IpAddr>)>,
    /// An explicit proxy for every request (`http://`, `socks5://` or `socks5h://` URL).
    pub proxy: Option<String>,
    /// Read `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY` when no proxy is set.
    pub use_env_proxy: bool,
    /// Extra hosts (suffixes) never proxied, added to `NO_PROXY`.
    pub no_proxy: Vec<String>,
    /// Send every request over this Unix domain socket instead of TCP.
    pub unix_socket: Option<PathBuf>,
    /// The source address of every TCP connection (to origins and proxies), like curl's
    /// `--interface ADDR` or reqwest's `local_address`; only the destination addresses of
    /// its family are tried. None: the system chooses.
    pub local_address: Option<IpAddr>,
    /// TCP keepalive probes on every TCP connection (off by default, as in libcurl).
    pub tcp_keepalive: Option<TcpKeepalive>,
    /// Whether and how far redirects are followed (requests may override it).
    pub redirects: RedirectPolicy,
    /// Origins where a followed redirect chain stops: the first rule whose pattern matches
    /// the next URL decides (`stop`: the redirect response is the answer); none: followed.
    /// Empty by default.
    pub redirect_stops: Vec<RedirectStop>,
    /// Send `Accept-Encoding: gzip, deflate, br, zstd` and decode responses that use one of
    /// them (on the runtime, the size limit applied to the decoded body). On by default;
    /// off gives the body as received.
    pub decompress: bool,
    /// Credentials for every request (a request's own `Authorization`, auth or URL user
    /// info wins). Sent to the request's origin only, never after a redirect leaves it.
    pub auth: Option<Auth>,
    /// Basic credentials by host from a `.netrc` file (curl's `--netrc-optional`), for
    /// requests with no other credentials; each host, redirect hops included, gets only its
    /// own entry (or the file's `default`).
    pub netrc: Option<Arc<Netrc>>,
    /// Keep a cookie jar: cookies responses set are sent back by RFC 6265's rules (off by
    /// default, as in libcurl).
    pub cookies: bool,
    /// Whether and how failed attempts are tried again (off by default).
    pub retry: RetryPolicy,
}

/// The low-speed limit: a response body receiving fewer than `bytes_per_sec` on average
/// over `time` (of waiting for the server) fails with `ReadTimeout`, and so does the wait for
/// the response head once the request has gone, when the server is silent for `time` or
/// (HTTP/1.1) trickles the head in under that rate; a request body the
/// server takes slower than that (over `time` with bytes ready for it), with `WriteTimeout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LowSpeed {
    pub bytes_per_sec: u64,
    pub time: Duration,
}

impl LowSpeed {
    /// `bytes_per_sec` over `time_ms` (the C API's units); None (no limit) when either is 0.
    pub fn from_ms(bytes_per_sec: u64, time_ms: u64) -> Option<LowSpeed> {
        millis(time_ms)
            .filter(|_| bytes_per_sec > 0)
            .map(|time| LowSpeed {
                bytes_per_sec,
                time,
            })
    }

    /// Bytes a window of `over` needs: `bytes_per_sec` over it, at least 1.
    pub(crate) fn need(&self, over: Duration) -> u64 {
        let need = u128::from(self.bytes_per_sec) * over.as_millis() / 1000;
        u64::try_from(need).unwrap_or(u64::MAX).max(1)
    }
}

/// TCP keepalive (`SO_KEEPALIVE`): after `idle` without traffic the system probes the peer
/// every `interval`, and drops the connection after `count` unanswered probes, so a peer
/// that vanished (a NAT that forgot the connection, a host powered off) is noticed on an
/// idle pooled connection or a long wait. The kernel counts in whole seconds: durations
/// are rounded up to one. `None` keeps the system's value (Linux: `tcp_keepalive_time`
/// 7200 s, `tcp_keepalive_intvl` 75 s, `tcp_keepalive_probes` 9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpKeepalive {
    pub idle: Option<Duration>,
    pub interval: Option<Duration>,
    pub count: Option<u32>,
}

/// HTTP/2 keep-alive, as reqwest's `http2_keep_alive_*`: a PING every `interval` while
/// requests are in flight (and while the connection idles in the pool if `while_idle`);
/// one not acknowledged within `timeout` closes the connection, failing the requests on it
/// at once instead of after their read timeouts (a peer gone without a FIN or RST: a NAT
/// that dropped the mapping, a host powered off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Http2Keepalive {
    pub interval: Duration,
    pub timeout: Duration,
    pub while_idle: bool,
}

/// A `.netrc` file's credentials, as ready `Authorization: Basic` values by host name
/// (lower-case) and the `default` entry's.
pub struct Netrc {
    hosts: HashMap<String, HeaderValue>,
    default: Option<HeaderValue>,
}

impl std::fmt::Debug for Netrc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut hosts: Vec<&String> = self.hosts.keys().collect();
        hosts.sort();
        f.debug_struct("Netrc")
            .field("hosts", &hosts)
            .field("default", &self.default.is_some())
            .finish()
    }
}

impl Netrc {
    /// Reads `path`, or with None the file `NETRC` names, else `~/.netrc` (none there: no
    /// entries, as curl's `--netrc-optional`).
    pub fn load(path: Option<&Path>) -> Result<Netrc> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => match netrc::Netrc::get_file() {
                Some(p) => p,
                None => {
                    return Ok(Netrc {
                        hosts: HashMap::new(),
                        default: None,
                    })
                }
            },
        };
        let file = netrc::Netrc::from_file(&path).map_err(|e| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("netrc file {}: {e}", path.display()),
            )
        })?;
        let mut out = Netrc {
            hosts: HashMap::new(),
            default: None,
        };
        for (host, a) in file.hosts {
            if a.login.is_empty() {
                continue; // a machine with no login sends nothing (as curl)
            }
            let mut value = basic_value(a.login.as_bytes(), a.password.as_bytes());
            value.set_sensitive(true);
            if host == "default" {
                out.default = Some(value);
            } else {
                out.hosts.insert(host.to_ascii_lowercase(), value);
            }
        }
        Ok(out)
    }

    /// The `Authorization` value for the host of `uri`: its entry, else the default.
    pub(crate) fn for_uri(&self, uri: &http::Uri) -> Option<&HeaderValue> {
        let host = uri.host()?.trim_matches(['[', ']']);
        self.hosts
            .get(host)
            .or_else(|| self.hosts.get(&host.to_ascii_lowercase()))
            .or(self.default.as_ref())
    }
}

/// Credentials a client or request sends. Build one with [`Auth::basic`], [`Auth::bearer`]
/// or [`Auth::digest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Auth(pub(crate) AuthScheme);

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AuthScheme {
    /// A ready `Authorization` value (Basic, Bearer).
    Header(HeaderValue),
    /// Answer a `401` Digest challenge (RFC 7616).
    Digest { user: String, password: String },
}

impl Auth {
    /// HTTP Basic (RFC 7617) on every request. The user name may not contain `:`.
    pub fn basic(user: &[u8], password: &[u8]) -> Result<Auth> {
        if user.contains(&b':') {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "a Basic auth user name may not contain ':' (RFC 7617)",
            ));
        }
        Ok(Auth(AuthScheme::Header(basic_value(user, password))))
    }

    /// `Authorization: Bearer TOKEN` (RFC 6750) on every request.
    pub fn bearer(token: &[u8]) -> Result<Auth> {
        let mut value = Vec::with_capacity(7 + token.len());
        value.extend_from_slice(b"Bearer ");
        value.extend_from_slice(token);
        let (_, mut v) = parse_header(b"authorization", &value)?;
        v.set_sensitive(true);
        Ok(Auth(AuthScheme::Header(v)))
    }

    /// HTTP Digest (RFC 7616; MD5 or SHA-256, `qop=auth` or none): nothing is sent until the
    /// server answers `401` with a Digest challenge, which is then answered once (twice when
    /// the server calls the first nonce stale).
    pub fn digest(user: &[u8], password: &[u8]) -> Result<Auth> {
        let text = |b: &[u8]| {
            String::from_utf8(b.to_vec()).map_err(|_| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    "Digest auth credentials must be UTF-8",
                )
            })
        };
        Ok(Auth(AuthScheme::Digest {
            user: text(user)?,
            password: text(password)?,
        }))
    }
}

/// An `Authorization: Basic` value (RFC 7617) for these credentials, marked sensitive.
pub(crate) fn basic_value(user: &[u8], password: &[u8]) -> HeaderValue {
    use base64::Engine as _;
    let mut pair = Vec::with_capacity(user.len() + 1 + password.len());
    pair.extend_from_slice(user);
    pair.push(b':');
    pair.extend_from_slice(password);
    let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
    let mut value =
        HeaderValue::from_str(&format!("Basic {encoded}")).expect("base64 is a valid header");
    value.set_sensitive(true);
    value
}

/// A client's (or request's) retry settings. Off unless `max_retries` > 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts after the first; 0 turns retries off.
    pub max_retries: u32,
    /// Response statuses that are retried.
    pub statuses: Vec<u16>,
    /// Also retry methods that are not idempotent (POST, PATCH) after a failure that may
    /// have reached the server, or a retryable status.
    pub non_idempotent: bool,
    /// The first wait; each retry doubles it.
    pub backoff: Duration,
    /// The longest wait, for backoff and for `Retry-After`.
    pub backoff_max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 0,
            statuses: vec![429, 502, 503, 504],
            non_idempotent: false,
            backoff: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
        }
    }
}

/// An origin pattern (scheme, host, port), written as httpx writes a `mounts=` key:
/// `all://` (any origin), `https://` (any origin of that scheme), `all://example.com`,
/// `http://example.com:8080`, `all://*.example.com` (its subdomains, not the domain),
/// `all://*example.com` (the domain and its subdomains). A port that is the scheme's
/// default, or none, matches any port; a path is ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginPattern {
    /// None: any scheme (`all`).
    scheme: Option<String>,
    host: HostPattern,
    /// None: any port.
    port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostPattern {
    Any,
    Exact(String),
    /// `*.example.com`: a name ending in `.example.com`.
    Subdomains(String),
    /// `*example.com`: `example.com` or a name ending in `.example.com`.
    DomainAndSubdomains(String),
}

fn default_port(scheme: &str) -> Option<u16> {
    let is = |s: &str| scheme.eq_ignore_ascii_case(s);
    if is("http") || is("ws") {
        Some(80)
    } else if is("https") || is("wss") {
        Some(443)
    } else {
        None
    }
}

/// Whether `host` is a subdomain of `domain` (ASCII case ignored).
fn below(host: &str, domain: &str) -> bool {
    let (h, d) = (host.as_bytes(), domain.as_bytes());
    h.len() > d.len() + 1
        && h[h.len() - d.len()..].eq_ignore_ascii_case(d)
        && h[h.len() - d.len() - 1] == b'.'
}

impl OriginPattern {
    /// Parses a pattern; anything but `scheme://[host][:port][/path]` (user info, a port
    /// that is no number) is `ErrorKind::InvalidArgument`.
    pub fn parse(pattern: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("origin pattern {pattern:?}: {why} (expected scheme://host[:port], all:// for any scheme)"),
            )
        };
        let (scheme, rest) = pattern.split_once("://").ok_or_else(|| bad("no ://"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme.is_empty()
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(bad("not a scheme"));
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            return Err(bad("user info"));
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (addr, after) = v6
                    .split_once(']')
                    .ok_or_else(|| bad("no ] after an IPv6 address"))?;
                if addr.is_empty() {
                    return Err(bad("an empty IPv6 address"));
                }
                match after {
                    "" => (addr, None),
                    p => (
                        addr,
                        Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ]"))?),
                    ),
                }
            }
            None => match authority.rsplit_once(':') {
                Some((h, _)) if h.contains(':') => return Err(bad("an IPv6 address without [ ]")),
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            },
        };
        let port = match port {
            None | Some("") => None,
            Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => Some(
                p.parse::<u16>()
                    .map_err(|_| bad("the port is no number up to 65535"))?,
            ),
            Some(_) => return Err(bad("the port is no number")),
        };
        let port = port.filter(|p| default_port(&scheme) != Some(*p));
        let host = host.to_ascii_lowercase();
        let host = if host.is_empty() || host == "*" {
            HostPattern::Any
        } else if let Some(d) = host.strip_prefix("*.") {
            HostPattern::Subdomains(d.to_string())
        } else if let Some(d) = host.strip_prefix('*') {
            HostPattern::DomainAndSubdomains(d.to_string())
        } else {
            HostPattern::Exact(host)
        };
        Ok(OriginPattern {
            scheme: (scheme != "all").then_some(scheme),
            host,
            port,
        })
    }

    /// Whether `uri`'s origin matches (host names compared without case).
    pub fn matches(&self, uri: &Uri) -> bool {
        let scheme = uri.scheme_str().unwrap_or("");
        if self
            .scheme
            .as_ref()
            .is_some_and(|s| !s.eq_ignore_ascii_case(scheme))
        {
            return false;
        }
        let host = uri.host().unwrap_or("");
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::Exact(h) => h.eq_ignore_ascii_case(host),
            HostPattern::Subdomains(d) => below(host, d),
            HostPattern::DomainAndSubdomains(d) => d.eq_ignore_ascii_case(host) || below(host, d),
        };
        let port = uri.port_u16().filter(|p| default_port(scheme) != Some(*p));
        host_ok && self.port.is_none_or(|p| Some(p) == port)
    }
}

/// One entry of a client's redirect stops (`Config::redirect_stops`): a redirect whose
/// next URL matches `pattern` is not followed when `stop` (the redirect response is the
/// answer, for a caller that sends that hop elsewhere, as the Python binding's `mounts=`
/// do), and is followed when not (an exception inside a broader pattern).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectStop {
    pub pattern: OriginPattern,
    pub stop: bool,
}

/// How a client (or one request) treats redirect responses.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RedirectPolicy {
    /// Follow 301, 302, 303, 307 and 308 responses that carry a `Location`. Off by default,
    /// as in libcurl: the caller gets the redirect response itself.
    pub follow: bool,
    /// Most redirects followed for one request; one more fails with `TooManyRedirects`.
    pub max: u32,
    /// Follow a redirect from `https://` to `http://` (refused by default).
    pub allow_insecure: bool,
}

impl Default for RedirectPolicy {
    fn default() -> Self {
        RedirectPolicy {
            follow: false,
            max: 10,
            allow_insecure: false,
        }
    }
}

/// Which HTTP versions a client may use.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HttpVersionPref {
    /// HTTP/2 when TLS negotiates it (ALPN), else HTTP/1.1.
    Negotiate,
    Http1Only,
    /// HTTP/2 always: ALPN offers only h2, and plain-text connections use h2c.
    Http2Only,
}

/// Where trusted root certificates come from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RootStore {
    /// The operating system's store (rustls-native-certs).
    System,
    /// Mozilla's roots compiled into the library (webpki-roots).
    Bundled,
    /// Only the CAs added explicitly.
    None,
}

/// TLS settings. Certificates and keys are kept as parsed DER.
#[derive(Clone, Debug)]
pub struct TlsOptions {
    pub roots: RootStore,
    pub extra_roots: Vec<rustls_pki_types::CertificateDer<'static>>,
    pub client_cert: Option<(
        Vec<rustls_pki_types::CertificateDer<'static>>,
        std::sync::Arc<rustls_pki_types::PrivateKeyDer<'static>>,
    )>,
    /// Accept any certificate. For tests against throwaway servers only.
    pub danger_accept_invalid_certs: bool,
    /// Lowest TLS version accepted: 12 or 13.
    pub min_version: u8,
    /// Append each connection's TLS secrets to the file the `SSLKEYLOGFILE` environment
    /// variable names (NSS key log format, for Wireshark), as curl and browsers do. On by
    /// default: without the variable nothing is written.
    pub key_log_from_env: bool,
    /// SHA-256 digests of the public keys (SubjectPublicKeyInfo) a server may present, as
    /// curl's `--pinnedpubkey sha256//...`; empty: no pinning. Checked after the usual
    /// verification, and also when that is turned off.
    pub pinned_keys: Vec<[u8; 32]>,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            roots: RootStore::System,
            extra_roots: Vec::new(),
            client_cert: None,
            danger_accept_invalid_certs: false,
            min_version: 12,
            key_log_from_env: true,
            pinned_keys: Vec::new(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        let mut default_headers = HeaderMap::new();
        default_headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("httpring/", env!("CARGO_PKG_VERSION"))),
        );
        Config {
            connect_timeout: Some(Duration::from_secs(10)),
            timeout: None,
            read_timeout: Some(Duration::from_secs(30)),
            low_speed: None,
            max_recv_speed: None,
            max_send_speed: None,
            pool_idle_timeout: Some(Duration::from_secs(90)),
            pool_max_idle_per_host: 256,
            pool_max_idle: None,
            max_connections_per_host: None,
            max_connections: None,
            pool_timeout: None,
            write_timeout: None,
            max_in_flight: None,
            max_body_size: 1 << 30,
            max_response_headers: None,
            stream_buffer: 256 << 10,
            body_pieces: false,
            worker_threads: 1,
            wait_drives_io: true,
            default_headers,
            tls: TlsOptions::default(),
            http_version: HttpVersionPref::Negotiate,
            h2c_prior_knowledge: false,
            http2_keepalive: None,
            dns_cache_ttl: Duration::from_secs(60),
            resolve_overrides: Vec::new(),
            proxy: None,
            use_env_proxy: true,
            no_proxy: Vec::new(),
            unix_socket: None,
            local_address: None,
            tcp_keepalive: None,
            redirects: RedirectPolicy::default(),
            redirect_stops: Vec::new(),
            decompress: true,
            auth: None,
            netrc: None,
            cookies: false,
            retry: RetryPolicy::default(),
        }
    }
}

impl Config {
    /// Adds a default header; repeated names accumulate values.
    pub fn add_default_header(&mut self, name: &[u8], value: &[u8]) -> Result<()> {
        let (name, value) = parse_header(name, value)?;
        self.default_headers.append(name, value);
        Ok(())
    }

    /// Trusts the CA certificates in `pem` (one or more `BEGIN CERTIFICATE` blocks).
    pub fn add_root_pem(&mut self, pem: &[u8]) -> Result<()> {
        let certs = parse_certs(pem)?;
        self.tls.extra_roots.extend(certs);
        Ok(())
    }

    /// Presents this certificate chain and key when a server asks (mTLS).
    pub fn set_client_cert_pem(&mut self, chain: &[u8], key: &[u8]) -> Result<()> {
        self.set_client_cert_pem_password(chain, key, None)
    }

    /// [`Config::set_client_cert_pem`] for a key that may be encrypted (PKCS#8, `BEGIN
    /// ENCRYPTED PRIVATE KEY`) with `password`; a plain key ignores the password.
    pub fn set_client_cert_pem_password(
        &mut self,
        chain: &[u8],
        key: &[u8],
        password: Option<&[u8]>,
    ) -> Result<()> {
        use rustls_pki_types::pem::PemObject;
        let certs = parse_certs(chain)?;
        let bad = |m: String| Error::new(ErrorKind::InvalidArgument, m);
        let key = match encrypted_block(key) {
            Some(block) => {
                let password = password.ok_or_else(|| {
                    bad("the private key is encrypted (BEGIN ENCRYPTED PRIVATE KEY): give its password".into())
                })?;
                decrypt_key(block, password).map_err(bad)?
            }
            None if key.windows(22).any(|w| w == b"Proc-Type: 4,ENCRYPTED") => {
                return Err(bad(
                    "the private key is encrypted in OpenSSL's legacy PEM format, which is not \
                     supported; convert it to PKCS#8, still encrypted: openssl pkcs8 -topk8 \
                     -in key.pem -out key8.pem"
                        .into(),
                ))
            }
            None => rustls_pki_types::PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| bad(format!("no usable private key in PEM: {e}")))?,
        };
        self.tls.client_cert = Some((certs, std::sync::Arc::new(key)));
        Ok(())
    }

    /// Pins the server's public key (curl's `--pinnedpubkey`): `sha256//BASE64` digests of
    /// its SubjectPublicKeyInfo, several separated by `;`; an empty string removes the pins.
    pub fn set_pinned_public_key(&mut self, pins: &str) -> Result<()> {
        use base64::Engine as _;
        let mut keys = Vec::new();
        for pin in pins.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let digest = pin
                .strip_prefix("sha256//")
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .and_then(|d| <[u8; 32]>::try_from(d).ok())
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidArgument,
                        format!("pinned public key {pin:?}: expected sha256// and the base64 of a SHA-256 digest"),
                    )
                })?;
            keys.push(digest);
        }
        self.tls.pinned_keys = keys;
        Ok(())
    }

    /// Adds a `--resolve`-style override: `host:port` connects to `addrs`.
    pub fn add_resolve(&mut self, host: &str, port: u16, addrs: Vec<IpAddr>) -> Result<()> {
        if host.is_empty() || addrs.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "resolve override needs a host and an address",
            ));
        }
        self.resolve_overrides
            .push((host.to_ascii_lowercase(), port, addrs));
        Ok(())
    }

    /// Sets [`Config::local_address`] from an IP literal (`192.0.2.7`, `::1`, `[::1]`);
    /// an empty string clears it.
    pub fn set_local_address(&mut self, addr: &str) -> Result<()> {
        if addr.is_empty() {
            self.local_address = None;
            return Ok(());
        }
        let ip = addr.trim_matches(['[', ']']).parse().map_err(|_| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("local address {addr:?} is not an IPv4 or IPv6 address"),
            )
        })?;
        self.local_address = Some(ip);
        Ok(())
    }

    /// Sets [`Config::tcp_keepalive`] after checking Linux's limits (32767 s, 127 probes).
    pub fn set_tcp_keepalive(&mut self, keepalive: Option<TcpKeepalive>) -> Result<()> {
        const MAX: Duration = Duration::from_secs(32767);
        if let Some(k) = keepalive {
            let long = |d: Option<Duration>| d.is_some_and(|d| d > MAX);
            if long(k.idle) || long(k.interval) || k.count.is_some_and(|n| n > 127) {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "TCP keepalive: idle and interval at most 32767 s, at most 127 probes",
                ));
            }
        }
        self.tcp_keepalive = keepalive;
        Ok(())
    }

    pub fn set_user_agent(&mut self, value: &[u8]) -> Result<()> {
        let (name, value) = parse_header(b"user-agent", value)?;
        self.default_headers.insert(name, value);
        Ok(())
    }
}

/// Validates one header: the name must be an HTTP token, the value must hold no CR, LF,
/// NUL or other control byte (tab allowed). This is the single gate for caller headers.
pub(crate) fn parse_header(name: &[u8], value: &[u8]) -> Result<(HeaderName, HeaderValue)> {
    let name = HeaderName::from_bytes(name).map_err(|_| {
        Error::new(
            ErrorKind::InvalidHeader,
            format!(
                "invalid header name {:?}: must be a non-empty HTTP token (no spaces, CR, LF, NUL or ':')",
                String::from_utf8_lossy(name)
            ),
        )
    })?;
    let value = HeaderValue::from_bytes(value).map_err(|_| {
        Error::new(
            ErrorKind::InvalidHeader,
            format!(
                "invalid value for header {name}: contains CR, LF, NUL or another control byte"
            ),
        )
    })?;
    Ok((name, value))
}

/// The `ENCRYPTED PRIVATE KEY` block of a PEM text, if it has one.
fn encrypted_block(pem: &[u8]) -> Option<&[u8]> {
    const BEGIN: &[u8] = b"-----BEGIN ENCRYPTED PRIVATE KEY-----";
    const END: &[u8] = b"-----END ENCRYPTED PRIVATE KEY-----";
    let start = pem.windows(BEGIN.len()).position(|w| w == BEGIN)?;
    let len = pem[start..].windows(END.len()).position(|w| w == END)? + END.len();
    Some(&pem[start..start + len])
}

/// Decrypts a PKCS#8 `ENCRYPTED PRIVATE KEY` PEM block with `password`.
fn decrypt_key(
    block: &[u8],
    password: &[u8],
) -> std::result::Result<rustls_pki_types::PrivateKeyDer<'static>, String> {
    let (_, der) = pkcs8::der::pem::decode_vec(block)
        .map_err(|e| format!("the encrypted private key's PEM does not parse: {e}"))?;
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
        .map_err(|e| format!("the encrypted private key does not parse: {e}"))?;
    let plain = info.decrypt(password).map_err(|e| {
        format!("could not decrypt the private key (a wrong password, or a cipher other than PBES2 with AES): {e}")
    })?;
    Ok(rustls_pki_types::PrivateKeyDer::Pkcs8(
        plain.as_bytes().to_vec().into(),
    ))
}

fn parse_certs(pem: &[u8]) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>> {
    use rustls_pki_types::pem::PemObject;
    let certs: std::result::Result<Vec<_>, _> =
        rustls_pki_types::CertificateDer::pem_slice_iter(pem).collect();
    match certs {
        Ok(c) if !c.is_empty() => Ok(c),
        Ok(_) => Err(Error::new(
            ErrorKind::InvalidArgument,
            "no certificate found in PEM data",
        )),
        Err(e) => Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("invalid PEM certificate: {e}"),
        )),
    }
}

/// Converts a caller's millisecond count; 0 means "no limit".
pub fn millis(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, url: &str) -> bool {
        OriginPattern::parse(pattern)
            .unwrap()
            .matches(&url.parse::<Uri>().unwrap())
    }

    #[test]
    fn origin_patterns_match_as_httpx_mounts_keys_do() {
        assert!(matches("all://", "http://a.test/x"));
        assert!(matches("all://", "https://b.test:8443/"));
        assert!(matches("https://", "https://a.test/"));
        assert!(!matches("https://", "http://a.test/"));
        assert!(matches("all://Example.COM", "http://example.com/"));
        assert!(matches("all://example.com", "https://EXAMPLE.com:8443/"));
        assert!(!matches("all://example.com", "http://www.example.com/"));
        assert!(matches("all://*.example.com", "http://www.example.com/"));
        assert!(matches("all://*.example.com", "http://a.b.example.com/"));
        assert!(matches("all://*.example.com", "http://WWW.Example.COM/"));
        assert!(matches("all://*EXAMPLE.com", "http://Example.com/"));
        assert!(!matches("all://*.example.com", "http://example.com/"));
        assert!(!matches("all://*.example.com", "http://badexample.com/"));
        assert!(matches("all://*example.com", "http://example.com/"));
        assert!(matches("all://*example.com", "http://www.example.com/"));
        assert!(!matches("all://*example.com", "http://badexample.com/"));
        assert!(matches(
            "http://example.com:8080",
            "http://example.com:8080/"
        ));
        assert!(!matches("http://example.com:8080", "http://example.com/"));
        // The scheme's default port, given or not, matches any port (httpx's URL.port).
        assert!(matches(
            "https://example.com:443",
            "https://example.com:8443/"
        ));
        assert!(!matches("all://*:8080", "http://example.com/"));
        assert!(matches("all://*:8080", "http://example.com:8080/"));
        assert!(matches("all://[::1]:8080", "http://[::1]:8080/"));
        assert!(!matches("all://[::1]:8080", "http://[::2]:8080/"));
        assert!(matches(
            "all://127.0.0.1/ignored/path",
            "http://127.0.0.1:9/"
        ));
        for bad in [
            "example.com",
            "://x",
            "all://a:b",
            "all://u@h",
            "all://[::1",
            "all://h:70000",
            "a b://h",
            "all://h:+80",
            "all://::1",
            "all://[]",
        ] {
            let e = OriginPattern::parse(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}");
            assert!(e.message().contains(bad), "{bad}: {}", e.message());
        }
    }
}
