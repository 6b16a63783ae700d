//! Name resolution and TCP connect: a per-client cache with a TTL, `--resolve`-style
//! overrides, getaddrinfo on tokio's blocking pool (never on the I/O thread), and a
//! happy-eyeballs connect that races address families.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;

use crate::config::{Config, TcpKeepalive};
use crate::error::{Error, ErrorKind, Result};

/// Addresses of a name, and when they were looked up.
type Cached = (Vec<SocketAddr>, Instant);

/// Delay before the next address is tried while the previous attempt is still pending.
const HAPPY_EYEBALLS_DELAY: Duration = Duration::from_millis(250);

pub struct Resolver {
    ttl: Duration,
    overrides: HashMap<(String, u16), Vec<IpAddr>>,
    cache: Mutex<HashMap<(String, u16), Cached>>,
    /// Calls to the system resolver (cache misses), for tests and statistics.
    lookups: AtomicUsize,
    socket: SocketOptions,
}

/// What a new TCP socket is set up with before it connects.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct SocketOptions {
    local: Option<IpAddr>,
    keepalive: Option<TcpKeepalive>,
}

impl Resolver {
    pub fn new(cfg: &Config) -> Resolver {
        Resolver {
            ttl: cfg.dns_cache_ttl,
            overrides: cfg
                .resolve_overrides
                .iter()
                .map(|(h, p, a)| ((h.clone(), *p), a.clone()))
                .collect(),
            cache: Mutex::new(HashMap::new()),
            lookups: AtomicUsize::new(0),
            socket: SocketOptions {
                local: cfg.local_address,
                keepalive: cfg.tcp_keepalive,
            },
        }
    }

    pub fn lookups(&self) -> usize {
        self.lookups.load(Ordering::Relaxed)
    }

    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let key = (host.to_ascii_lowercase(), port);
        if let Some(ips) = self
            .overrides
            .get(&key)
            .or_else(|| self.overrides.get(&(key.0.clone(), 0)))
        {
            return Ok(ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect());
        }
        if let Some((addrs, at)) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            if at.elapsed() < self.ttl {
                return Ok(addrs.clone());
            }
        }
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| Error::new(ErrorKind::Dns, format!("could not resolve {host:?}: {e}")))?
            .collect();
        if addrs.is_empty() {
            return Err(Error::new(
                ErrorKind::Dns,
                format!("{host:?} resolved to no addresses"),
            ));
        }
        if !self.ttl.is_zero() {
            self.cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key, (addrs.clone(), Instant::now()));
        }
        Ok(addrs)
    }

    /// Resolves and connects, trying addresses in happy-eyeballs order; also returns how
    /// long resolving took. `resolved` is called between the two.
    pub async fn connect(
        &self,
        host: &str,
        port: u16,
        resolved: impl FnOnce(),
    ) -> Result<(TcpStream, Duration)> {
        let start = Instant::now();
        let mut addrs = self.resolve(host, port).await?;
        let dns = start.elapsed();
        resolved();
        if let Some(local) = self.socket.local {
            // A socket bound to an address of one family cannot reach the other.
            addrs.retain(|a| a.is_ipv6() == local.is_ipv6());
            if addrs.is_empty() {
                let family = if local.is_ipv6() { "IPv6" } else { "IPv4" };
                return Err(Error::new(
                    ErrorKind::Connect,
                    format!(
                        "{host:?} has no {family} address to reach from the local address {local}"
                    ),
                ));
            }
        }
        let addrs = interleave(addrs);
        let stream = if addrs.len() == 1 {
            open(addrs[0], self.socket).await?
        } else {
            race(addrs, self.socket).await?
        };
        let _ = stream.set_nodelay(true);
        Ok((stream, dns))
    }
}

/// Connects to `addr` from a socket set up with `opts`.
async fn open(addr: SocketAddr, opts: SocketOptions) -> Result<TcpStream> {
    if opts == SocketOptions::default() {
        return TcpStream::connect(addr)
            .await
            .map_err(|e| connect_error(addr, e));
    }
    let setup = |e: std::io::Error, what: &str| {
        Error::new(
            ErrorKind::Connect,
            format!("setting up a socket to {addr}: {what}: {e}"),
        )
    };
    let socket = if addr.is_ipv6() {
        TcpSocket::new_v6()
    } else {
        TcpSocket::new_v4()
    }
    .map_err(|e| setup(e, "socket"))?;
    if let Some(ip) = opts.local {
        socket
            .bind(SocketAddr::new(ip, 0))
            .map_err(|e| setup(e, &format!("binding to the local address {ip}")))?;
    }
    if let Some(k) = opts.keepalive {
        keepalive(&socket, k).map_err(|e| setup(e, "TCP keepalive"))?;
    }
    socket
        .connect(addr)
        .await
        .map_err(|e| connect_error(addr, e))
}

/// Turns keepalive on with `k`'s timing (whole seconds, at least one; the system's where
/// `k` has none).
fn keepalive(socket: &TcpSocket, k: TcpKeepalive) -> std::io::Result<()> {
    socket.set_keepalive(true)?;
    let secs = |d: Duration| {
        Duration::from_secs(d.as_secs() + u64::from(d.subsec_nanos() > 0))
            .max(Duration::from_secs(1))
    };
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_vendor = "apple"
    ))]
    {
        use rustix::net::sockopt;
        if let Some(i) = k.idle {
            sockopt::set_tcp_keepidle(socket, secs(i))?;
        }
        if let Some(i) = k.interval {
            sockopt::set_tcp_keepintvl(socket, secs(i))?;
        }
        if let Some(n) = k.count {
            sockopt::set_tcp_keepcnt(socket, n.max(1))?;
        }
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_vendor = "apple"
    )))]
    let _ = (k, secs);
    Ok(())
}

/// Alternates address families, starting with the resolver's first choice (RFC 8305 §4).
fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let first_v6 = addrs[0].is_ipv6();
    let (mut a, mut b): (Vec<_>, Vec<_>) = addrs.into_iter().partition(|s| s.is_ipv6() == first_v6);
    let mut out = Vec::with_capacity(a.len() + b.len());
    a.reverse();
    b.reverse();
    while !a.is_empty() || !b.is_empty() {
        out.extend(a.pop());
        out.extend(b.pop());
    }
    out
}

/// Starts an attempt, and another every `HAPPY_EYEBALLS_DELAY` (or as soon as one fails);
/// the first to connect wins and the rest are dropped.
async fn race(addrs: Vec<SocketAddr>, opts: SocketOptions) -> Result<TcpStream> {
    let mut pending = addrs.into_iter();
    let mut attempts = JoinSet::new();
    let mut last: Option<Error> = None;
    loop {
        if attempts.is_empty() {
            match pending.next() {
                Some(addr) => {
                    attempts.spawn(open(addr, opts));
                }
                None => {
                    return Err(last.unwrap_or_else(|| {
                        Error::new(ErrorKind::Connect, "no address to connect to")
                    }))
                }
            }
        }
        tokio::select! {
            done = attempts.join_next() => match done {
                Some(Ok(Ok(stream))) => return Ok(stream),
                Some(Ok(Err(e))) => last = Some(e),
                Some(Err(join)) => last = Some(Error::new(ErrorKind::Internal, format!("connect task: {join}"))),
                None => {}
            },
            _ = tokio::time::sleep(HAPPY_EYEBALLS_DELAY) => {
                if let Some(addr) = pending.next() {
                    attempts.spawn(open(addr, opts));
                }
            }
        }
    }
}

fn connect_error(addr: SocketAddr, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::ConnectionRefused {
        Error::new(
            ErrorKind::ConnectRefused,
            format!("connection to {addr} refused"),
        )
    } else {
        Error::new(
            ErrorKind::Connect,
            format!("could not connect to {addr}: {e}"),
        )
    }
}
