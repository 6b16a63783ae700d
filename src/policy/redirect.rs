//! Following redirects: which responses are redirects, where they lead, and what of the
//! request goes along (RFC 9110 §15.4, with the method rewrites browsers, curl and httpx do).

use bytes::Bytes;
use http::header::{
    HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH,
    CONTENT_TYPE, COOKIE, HOST, PROXY_AUTHORIZATION, TRANSFER_ENCODING,
};
use http::{Method, Uri};

use crate::config::{RedirectPolicy, RedirectStop};
use crate::error::{Error, ErrorKind, Result};
use crate::request::{parse_method_url, parse_url};

/// What the next request of a redirect chain looks like.
#[derive(Debug)]
pub(crate) struct Next {
    pub uri: Uri,
    pub url: Bytes,
    /// The Location's fragment, if it has one: it replaces the request's (RFC 9110
    /// §10.2.2); with none the request's stays.
    #[allow(clippy::box_collection)]
    pub fragment: Option<Box<String>>,
    /// The method changed to GET: the body and the headers describing it are dropped.
    pub to_get: bool,
    /// The next request goes to another origin (scheme, host or port).
    pub cross_origin: bool,
    /// ... to another host name: a `Host` header the caller set is not for it (curl's rule:
    /// another port or scheme of the same host keeps it).
    pub other_host: bool,
}

/// Headers that carry credentials: never sent to an origin they were not given for.
pub(crate) const CREDENTIAL_HEADERS: [HeaderName; 3] = [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION];
/// Headers that describe a request body: dropped with it.
const BODY_HEADERS: [HeaderName; 4] = [
    CONTENT_LENGTH,
    CONTENT_TYPE,
    CONTENT_ENCODING,
    TRANSFER_ENCODING,
];

pub(crate) fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

impl RedirectPolicy {
    /// The next request for a response, or None when the response is the answer (not a
    /// redirect, or one without `Location`). `hops` are the redirects already followed.
    /// A chain may come back to a URL (a login page that sets a cookie and sends the
    /// client back): only the limit ends it, as in curl, httpx and browsers.
    pub(crate) fn next(
        &self,
        method: &Method,
        current: &Uri,
        status: u16,
        location: Option<&HeaderValue>,
        hops: usize,
    ) -> Result<Option<Next>> {
        if !self.follow || !is_redirect(status) {
            return Ok(None);
        }
        let Some(location) = location else {
            return Ok(None);
        };
        if hops as u64 >= self.max as u64 {
            return Err(Error::new(
                ErrorKind::TooManyRedirects,
                format!(
                    "too many redirects: more than {} (the limit) after {current}",
                    self.max
                ),
            ));
        }
        let location = std::str::from_utf8(location.as_bytes())
            .map_err(|_| Error::new(ErrorKind::Protocol, "redirect Location is not valid UTF-8"))?;
        let base = url::Url::parse(&current.to_string())
            .map_err(|e| Error::new(ErrorKind::Internal, format!("current URL: {e}")))?;
        let mut target = base.join(location).map_err(|e| {
            Error::new(
                ErrorKind::Protocol,
                format!("redirect to an invalid Location {location:?}: {e}"),
            )
        })?;
        // A fragment is never sent; the response's URL shows the Location's, or else the
        // original's (RFC 9110 §10.2.2).
        let fragment = target.fragment().map(|f| Box::new(f.to_string()));
        target.set_fragment(None);
        let (uri, url) = parse_url(target.as_str().as_bytes()).map_err(|e| {
            Error::new(
                e.kind(),
                format!("redirect to {location:?}: {}", e.message()),
            )
        })?;
        let from_https = current.scheme() == Some(&http::uri::Scheme::HTTPS);
        let to_https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        if from_https && !to_https && !self.allow_insecure {
            return Err(Error::new(
                ErrorKind::InsecureRedirect,
                format!("refused a redirect from https to plain http ({target}); allow it with the client's redirect setting"),
            ));
        }
        let to_get = turns_to_get(method, status);
        let (cross_origin, other_host) = origin_change(current, &uri);
        Ok(Some(Next {
            uri,
            url,
            fragment,
            to_get,
            cross_origin,
            other_host,
        }))
    }
}

/// Where a redirect leads and what of the request goes along, by the rules the engine
/// follows redirects with: for a caller that follows them itself (around a transport of its
/// own, or hop by hop).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Redirect {
    /// The next URL: the `Location` resolved against the current URL, with the
    /// `Location`'s fragment if it has one (with none, the current URL's fragment stays).
    pub url: String,
    /// The method becomes GET: the body goes, with `Content-Type`, `Content-Length`,
    /// `Content-Encoding` and `Transfer-Encoding`.
    pub to_get: bool,
    /// Another origin (scheme, host or port): `Authorization`, `Cookie` and
    /// `Proxy-Authorization` stay behind, and so do the client's credentials.
    pub cross_origin: bool,
    /// Another host name: a `Host` header set by the caller stays behind.
    pub other_host: bool,
}

impl Redirect {
    /// The redirect a `status` response with `location` leads to from a `method` request
    /// to `url`, or `None` when it is the answer (not 301, 302, 303, 307 or 308, or no
    /// `Location`). A `Location` that is no URL is `ErrorKind::Protocol`; https to plain
    /// http is `ErrorKind::InsecureRedirect` unless `allow_insecure`. A `Location` in a
    /// scheme the engine does not send (`myapp://callback`) is resolved and given, another
    /// origin: sending it fails with `ErrorKind::UnsupportedScheme`.
    pub fn next(
        method: &str,
        url: &str,
        status: u16,
        location: Option<&[u8]>,
        allow_insecure: bool,
    ) -> Result<Option<Redirect>> {
        let (method, current) = parse_method_url(method, url)?;
        let location = match location {
            None => None,
            Some(l) => Some(HeaderValue::from_bytes(l).map_err(|_| {
                Error::new(ErrorKind::Protocol, "redirect Location holds control bytes")
            })?),
        };
        let policy = RedirectPolicy {
            follow: true,
            max: u32::MAX,
            allow_insecure,
        };
        let next = match policy.next(&method, &current, status, location.as_ref(), 0) {
            Ok(Some(next)) => next,
            Ok(None) => return Ok(None),
            // A Location in a scheme the engine does not send (an app's `myapp://callback`):
            // resolved all the same, for the caller to use or refuse, as httpx builds it.
            // Another origin by definition; sending it fails with `UnsupportedScheme`.
            Err(e) if e.kind() == ErrorKind::UnsupportedScheme => {
                let joined = location
                    .as_ref()
                    .and_then(|l| std::str::from_utf8(l.as_bytes()).ok())
                    .zip(url::Url::parse(&current.to_string()).ok())
                    .and_then(|(l, base)| base.join(l).ok());
                let Some(joined) = joined else {
                    return Err(e);
                };
                let other_host = joined
                    .host_str()
                    .is_none_or(|h| !current.host().is_some_and(|c| c.eq_ignore_ascii_case(h)));
                return Ok(Some(Redirect {
                    url: joined.to_string(),
                    to_get: turns_to_get(&method, status),
                    cross_origin: true,
                    other_host,
                }));
            }
            Err(e) => return Err(e),
        };
        let mut url = String::from_utf8_lossy(&next.url).into_owned();
        if let Some(f) = &next.fragment {
            url.push('#');
            url.push_str(f);
        }
        Ok(Some(Redirect {
            url,
            to_get: next.to_get,
            cross_origin: next.cross_origin,
            other_host: next.other_host,
        }))
    }
}

/// Whether the first of `stops` that matches `uri` says stop (none matching: follow).
pub(crate) fn stops_at(stops: &[RedirectStop], uri: &Uri) -> bool {
    stops
        .iter()
        .find(|s| s.pattern.matches(uri))
        .is_some_and(|s| s.stop)
}

/// 303 turns any method but HEAD into GET; 301 and 302 turn a POST into GET (as browsers,
/// curl and httpx do); 307 and 308 keep the method.
fn turns_to_get(method: &Method, status: u16) -> bool {
    (status == 303 && *method != Method::HEAD)
        || (matches!(status, 301 | 302) && *method == Method::POST)
}

/// Adjusts a request's own headers for the next hop: no body headers after a rewrite to
/// GET, no credentials for another origin.
pub(crate) fn rewrite_headers(headers: &mut HeaderMap, next: &Next) {
    if next.to_get {
        for name in &BODY_HEADERS {
            headers.remove(name);
        }
    }
    if next.cross_origin {
        for name in &CREDENTIAL_HEADERS {
            headers.remove(name);
        }
    }
    if next.other_host {
        headers.remove(HOST);
    }
}

/// Whether `b` is another origin than `a` (scheme, host or port: the host compared without
/// case, default ports filled in), and whether it is another host name (curl's test for
/// a caller's `Host`).
fn origin_change(a: &Uri, b: &Uri) -> (bool, bool) {
    let port = |u: &Uri| {
        u.port_u16().unwrap_or(match u.scheme_str() {
            Some("https") => 443,
            _ => 80,
        })
    };
    let same_name = a
        .host()
        .zip(b.host())
        .is_some_and(|(x, y)| x.eq_ignore_ascii_case(y));
    let same_scheme = a.scheme() == b.scheme();
    let same_port = port(a) == port(b);
    (!(same_name && same_scheme && same_port), !same_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> RedirectPolicy {
        RedirectPolicy {
            follow: true,
            ..Default::default()
        }
    }

    fn next(
        p: &RedirectPolicy,
        method: Method,
        from: &str,
        status: u16,
        to: &str,
    ) -> Result<Option<Next>> {
        let uri: Uri = from.parse().unwrap();
        let loc = HeaderValue::from_str(to).unwrap();
        p.next(&method, &uri, status, Some(&loc), 0)
    }

    #[test]
    fn the_first_matching_stop_decides() {
        let rule = |p: &str, stop| RedirectStop {
            pattern: crate::config::OriginPattern::parse(p).unwrap(),
            stop,
        };
        let stops = [rule("all://keep.test", false), rule("all://*.test", true)];
        let at = |u: &str| stops_at(&stops, &u.parse::<Uri>().unwrap());
        assert!(at("http://mock.test/"));
        assert!(!at("http://keep.test/"));
        assert!(!at("http://other.example/"));
        assert!(!stops_at(&[], &"http://mock.test/".parse::<Uri>().unwrap()));
    }

    #[test]
    fn off_by_default_and_only_for_redirect_statuses() {
        assert!(next(
            &RedirectPolicy::default(),
            Method::GET,
            "http://a/x",
            302,
            "/y"
        )
        .unwrap()
        .is_none());
        for status in [200, 300, 304, 305, 306, 404] {
            assert!(
                next(&on(), Method::GET, "http://a/x", status, "/y")
                    .unwrap()
                    .is_none(),
                "{status}"
            );
        }
        let uri: Uri = "http://a/x".parse().unwrap();
        assert!(on()
            .next(&Method::GET, &uri, 302, None, 0)
            .unwrap()
            .is_none());
    }

    #[test]
    fn resolves_relative_locations_and_drops_fragments() {
        let cases = [
            ("http://a/b/c?q=1", "d", "http://a/b/d"),
            ("http://a/b/c", "/d?x=1#frag", "http://a/d?x=1"),
            ("http://a:8080/b", "//other:81/z", "http://other:81/z"),
            ("https://a/b", "?k=v", "https://a/b?k=v"),
            ("http://a/b", "https://c/d", "https://c/d"),
        ];
        for (from, to, want) in cases {
            let n = next(&on(), Method::GET, from, 301, to).unwrap().unwrap();
            assert_eq!(&n.url[..], want.as_bytes(), "{from} + {to}");
            // The fragment is kept apart, for the response's URL.
            let fragment = n.fragment.as_deref().map(|f| f.as_str());
            assert_eq!(
                fragment,
                to.split_once('#').map(|(_, f)| f),
                "{from} + {to}"
            );
        }
    }

    #[test]
    fn method_rewrites() {
        for (status, method, to_get) in [
            (301, Method::POST, true),
            (302, Method::POST, true),
            (303, Method::POST, true),
            (303, Method::PUT, true),
            (303, Method::HEAD, false),
            (301, Method::PUT, false),
            (307, Method::POST, false),
            (308, Method::POST, false),
        ] {
            let n = next(&on(), method.clone(), "http://a/", status, "/b")
                .unwrap()
                .unwrap();
            assert_eq!(n.to_get, to_get, "{status} {method}");
        }
    }

    #[test]
    fn origin_changes_with_scheme_host_or_port_only() {
        let cross = |from: &str, to: &str| {
            next(&on(), Method::GET, from, 302, to)
                .unwrap()
                .unwrap()
                .cross_origin
        };
        assert!(!cross("http://a/x", "/y"));
        assert!(!cross("http://a/x", "http://A:80/y"));
        assert!(cross("http://a/x", "http://b/y"));
        assert!(cross("http://a/x", "http://a:81/y"));
        assert!(cross("http://a/x", "https://a/y"));
    }

    #[test]
    fn refuses_https_to_http_unless_allowed() {
        let e = next(&on(), Method::GET, "https://a/x", 302, "http://a/y").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InsecureRedirect);
        let allowed = RedirectPolicy {
            allow_insecure: true,
            ..on()
        };
        assert!(
            next(&allowed, Method::GET, "https://a/x", 302, "http://a/y")
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn only_the_limit_ends_a_chain() {
        let p = RedirectPolicy { max: 2, ..on() };
        let uri: Uri = "http://a/x".parse().unwrap();
        let loc = HeaderValue::from_static("/y");
        assert!(p
            .next(&Method::GET, &uri, 302, Some(&loc), 1)
            .unwrap()
            .is_some());
        let e = p.next(&Method::GET, &uri, 302, Some(&loc), 2).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooManyRedirects);
        assert!(
            e.message().contains("too many redirects"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn bad_locations_are_protocol_errors() {
        let e = next(&on(), Method::GET, "http://a/x", 302, "http://[::1").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        let e = next(&on(), Method::GET, "http://a/x", 302, "ftp://a/y").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedScheme);
    }

    #[test]
    fn header_rewrites() {
        let mut h = HeaderMap::new();
        for n in [
            "authorization",
            "cookie",
            "proxy-authorization",
            "content-type",
            "content-length",
            "x-keep",
        ] {
            h.insert(HeaderName::from_static(n), HeaderValue::from_static("v"));
        }
        let n = next(&on(), Method::POST, "http://a/", 302, "http://b/")
            .unwrap()
            .unwrap();
        rewrite_headers(&mut h, &n);
        let left: Vec<_> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(left, ["x-keep"]);
    }

    /// A Host the caller set names the first host: not sent to another host name (it would
    /// leak an internal name and reach the wrong virtual host), kept on another port or an
    /// https upgrade of the same host, which drop the credentials all the same.
    #[test]
    fn a_custom_host_stays_with_its_host() {
        let with_host = || {
            let mut h = HeaderMap::new();
            h.insert(HOST, HeaderValue::from_static("internal.example"));
            h.insert(AUTHORIZATION, HeaderValue::from_static("t"));
            h
        };
        for (to, host_kept, creds_kept) in [
            ("http://b/", false, false),
            ("http://a:81/", true, false),
            ("https://a/", true, false),
            ("http://A/y", true, true),
        ] {
            let mut h = with_host();
            let n = next(&on(), Method::GET, "http://a/", 302, to)
                .unwrap()
                .unwrap();
            rewrite_headers(&mut h, &n);
            assert_eq!(h.contains_key(HOST), host_kept, "{to}");
            assert_eq!(h.contains_key(AUTHORIZATION), creds_kept, "{to}");
        }
    }
}
