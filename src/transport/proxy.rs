//! Proxies: which requests use one (config, or the standard environment variables with
//! `NO_PROXY`), and the two tunnels: HTTP `CONNECT` and SOCKS5 (RFC 1928/1929).
//! Plain `http://` requests through an HTTP proxy need no tunnel: they are sent to the
//! proxy in absolute form.

use std::net::IpAddr;

use http::Uri;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ProxyKind {
    Http,
    /// An HTTP proxy reached over TLS (`https://`): CONNECT and absolute-form requests go
    /// inside that TLS session (an https target's own TLS runs inside it).
    Https,
    /// `remote_dns`: the proxy resolves names (`socks5h://`).
    Socks5 {
        remote_dns: bool,
    },
}

#[derive(Clone, Debug)]
pub struct Proxy {
    pub kind: ProxyKind,
    pub host: String,
    pub port: u16,
    /// User and password from the URL's user info, percent-decoded.
    pub auth: Option<(Vec<u8>, Vec<u8>)>,
}

impl Proxy {
    pub fn parse(url: &str) -> Result<Proxy> {
        let bad = |why: &str| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("invalid proxy URL {url:?}: {why}"),
            )
        };
        let with_scheme = if url.contains("://") {
            url.to_string()
        } else {
            format!("http://{url}")
        };
        let uri: Uri = with_scheme.parse().map_err(|_| bad("does not parse"))?;
        let (kind, default_port) = match uri.scheme_str() {
            Some("http") => (ProxyKind::Http, 80),
            Some("https") => (ProxyKind::Https, 443),
            Some("socks5") => (ProxyKind::Socks5 { remote_dns: false }, 1080),
            Some("socks5h") => (ProxyKind::Socks5 { remote_dns: true }, 1080),
            _ => return Err(bad("scheme must be http, https, socks5 or socks5h")),
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        let auth = authority.as_str().rsplit_once('@').map(|(userinfo, _)| {
            let (u, p) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            let decode = |s: &str| percent_encoding::percent_decode_str(s).collect::<Vec<u8>>();
            (decode(u), decode(p))
        });
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        Ok(Proxy {
            kind,
            host,
            port: authority.port_u16().unwrap_or(default_port),
            auth,
        })
    }

    /// `Proxy-Authorization: Basic` for the proxy URL's user info, marked sensitive.
    pub fn authorization_value(&self) -> Option<http::HeaderValue> {
        self.auth
            .as_ref()
            .map(|(u, p)| crate::config::basic_value(u, p))
    }

    pub fn authorization(&self) -> Option<String> {
        let v = self.authorization_value()?;
        Some(String::from_utf8_lossy(v.as_bytes()).into_owned())
    }
}

/// Which proxy, if any, each request uses. Decided once per client.
#[derive(Clone, Debug, Default)]
pub struct ProxyRules {
    explicit: Option<Proxy>,
    http: Option<Proxy>,
    https: Option<Proxy>,
    no_proxy: Vec<String>,
}

impl ProxyRules {
    pub fn from_config(cfg: &Config) -> Result<ProxyRules> {
        let mut rules = ProxyRules {
            no_proxy: cfg
                .no_proxy
                .iter()
                .map(|s| s.to_ascii_lowercase())
                .collect(),
            ..Default::default()
        };
        if let Some(p) = &cfg.proxy {
            rules.explicit = Some(Proxy::parse(p)?);
        } else if cfg.use_env_proxy {
            let env = |names: &[&str]| {
                names
                    .iter()
                    .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
            };
            let all = env(&["ALL_PROXY", "all_proxy"]);
            // Lower-case http_proxy only: HTTP_PROXY can be set by a CGI request header.
            let http = env(&["http_proxy"]).or(all.clone());
            let https = env(&["HTTPS_PROXY", "https_proxy"]).or(all);
            // A malformed variable is ignored rather than breaking every request.
            rules.http = http.and_then(|u| Proxy::parse(&u).ok());
            rules.https = https.and_then(|u| Proxy::parse(&u).ok());
            if let Some(np) = env(&["NO_PROXY", "no_proxy"]) {
                rules.no_proxy.extend(
                    np.split(',')
                        .map(|s| s.trim().to_ascii_lowercase())
                        .filter(|s| !s.is_empty()),
                );
            }
        }
        Ok(rules)
    }

    pub fn for_target(&self, https: bool, host: &str) -> Option<&Proxy> {
        if self.bypass(host) {
            return None;
        }
        if let Some(p) = &self.explicit {
            return Some(p);
        }
        // Proxies from the environment never apply to loopback: a test server on
        // 127.0.0.1 must not be sent to a corporate proxy.
        if is_loopback(host) {
            return None;
        }
        if https {
            self.https.as_ref()
        } else {
            self.http.as_ref()
        }
    }

    fn bypass(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.no_proxy.iter().any(|entry| {
            let entry = entry.trim_start_matches('.');
            entry == "*" || host == entry || host.ends_with(&format!(".{entry}"))
        })
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Opens an HTTP CONNECT tunnel to `host:port` over a connection to the proxy.
pub async fn http_connect<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    proxy: &Proxy,
    host: &str,
    port: u16,
) -> Result<()> {
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(auth) = proxy.authorization() {
        req.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.map_err(io_err)?;
    // Read the proxy's response head byte by byte so no tunnel byte is consumed.
    let mut head = Vec::with_capacity(128);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err(Error::new(
                ErrorKind::Proxy,
                "proxy response head too large",
            ));
        }
        let b = stream.read_u8().await.map_err(io_err)?;
        head.push(b);
    }
    let line = String::from_utf8_lossy(&head);
    let status = line.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        let first = line.lines().next().unwrap_or("").to_string();
        return Err(Error::new(
            ErrorKind::Proxy,
            format!("proxy refused CONNECT {target}: {first}"),
        ));
    }
    Ok(())
}

/// Negotiates a SOCKS5 connection to `host:port`. `addr` is the resolved address when the
/// client resolves names itself (`socks5://`), None to let the proxy resolve (`socks5h://`).
pub async fn socks5_connect<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    proxy: &Proxy,
    host: &str,
    addr: Option<IpAddr>,
    port: u16,
) -> Result<()> {
    let methods: &[u8] = if proxy.auth.is_some() {
        &[0x00, 0x02]
    } else {
        &[0x00]
    };
    let mut hello = vec![0x05, methods.len() as u8];
    hello.extend_from_slice(methods);
    stream.write_all(&hello).await.map_err(io_err)?;
    let mut choice = [0u8; 2];
    stream.read_exact(&mut choice).await.map_err(io_err)?;
    match (choice, &proxy.auth) {
        ([0x05, 0x00], _) => {}
        ([0x05, 0x02], Some((u, p))) => {
            if u.len() > 255 || p.len() > 255 {
                return Err(Error::new(
                    ErrorKind::Proxy,
                    "SOCKS5 user or password longer than 255 bytes",
                ));
            }
            let mut auth = vec![0x01, u.len() as u8];
            auth.extend_from_slice(u);
            auth.push(p.len() as u8);
            auth.extend_from_slice(p);
            stream.write_all(&auth).await.map_err(io_err)?;
            let mut reply = [0u8; 2];
            stream.read_exact(&mut reply).await.map_err(io_err)?;
            if reply[1] != 0 {
                return Err(Error::new(
                    ErrorKind::Proxy,
                    "SOCKS5 proxy rejected the credentials",
                ));
            }
        }
        _ => {
            return Err(Error::new(
                ErrorKind::Proxy,
                "SOCKS5 proxy offers no acceptable authentication method",
            ))
        }
    }
    let mut req = vec![0x05, 0x01, 0x00];
    match addr {
        Some(IpAddr::V4(v4)) => {
            req.push(0x01);
            req.extend_from_slice(&v4.octets());
        }
        Some(IpAddr::V6(v6)) => {
            req.push(0x04);
            req.extend_from_slice(&v6.octets());
        }
        None => {
            if host.len() > 255 {
                return Err(Error::new(
                    ErrorKind::InvalidUrl,
                    "host name too long for SOCKS5",
                ));
            }
            req.push(0x03);
            req.push(host.len() as u8);
            req.extend_from_slice(host.as_bytes());
        }
    }
    req.extend_from_slice(&port.to_be_bytes());
    stream.write_all(&req).await.map_err(io_err)?;
    let mut reply = [0u8; 4];
    stream.read_exact(&mut reply).await.map_err(io_err)?;
    if reply[1] != 0 {
        return Err(Error::new(
            ErrorKind::Proxy,
            format!(
                "SOCKS5 proxy could not connect to {host}:{port} (reply {})",
                reply[1]
            ),
        ));
    }
    let skip = match reply[3] {
        0x01 => 4,
        0x04 => 16,
        0x03 => stream.read_u8().await.map_err(io_err)? as usize,
        _ => return Err(Error::new(ErrorKind::Proxy, "malformed SOCKS5 reply")),
    };
    let mut rest = vec![0u8; skip + 2];
    stream.read_exact(&mut rest).await.map_err(io_err)?;
    Ok(())
}

fn io_err(e: std::io::Error) -> Error {
    Error::new(ErrorKind::Proxy, format!("talking to the proxy: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_user_info_is_percent_decoded() {
        let p = Proxy::parse("http://u%40x:p%3Aq@proxy.test:3128").unwrap();
        assert_eq!(p.auth, Some((b"u@x".to_vec(), b"p:q".to_vec())));
        assert_eq!(p.authorization().unwrap(), "Basic dUB4OnA6cQ==");
    }

    #[test]
    fn proxy_urls_parse() {
        let p = Proxy::parse("http://u:p@proxy.test:3128").unwrap();
        assert_eq!(
            (p.kind, p.host.as_str(), p.port),
            (ProxyKind::Http, "proxy.test", 3128)
        );
        assert_eq!(p.authorization().unwrap(), "Basic dTpw");
        let s = Proxy::parse("socks5h://127.0.0.1").unwrap();
        assert_eq!(
            (s.kind, s.port),
            (ProxyKind::Socks5 { remote_dns: true }, 1080)
        );
        let t = Proxy::parse("https://proxy.test").unwrap();
        assert_eq!((t.kind, t.port), (ProxyKind::Https, 443));
        assert!(Proxy::parse("ftp://x").is_err());
    }

    #[test]
    fn no_proxy_matches_suffixes() {
        let rules = ProxyRules {
            explicit: Some(Proxy::parse("http://p:1").unwrap()),
            no_proxy: vec!["example.com".into(), ".internal".into()],
            ..Default::default()
        };
        assert!(rules.for_target(false, "example.com").is_none());
        assert!(rules.for_target(false, "api.example.com").is_none());
        assert!(rules.for_target(false, "svc.internal").is_none());
        assert!(rules.for_target(false, "notexample.com").is_some());
        // An explicit proxy applies to loopback too (tests rely on it).
        assert!(rules.for_target(false, "127.0.0.1").is_some());
    }
}
