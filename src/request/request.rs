//! A request as the caller describes it, validated as it is built.
//!
//! Every setter validates its input; the first failure is kept and reported by submit, so a
//! caller that ignores a setter's result still cannot send a request it did not mean to.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, CONTENT_LENGTH};
use http::{Method, Uri};

use crate::config::{parse_header, Auth, Config, LowSpeed};
use crate::error::{Error, ErrorKind, Result};

/// Per-request timeout overrides. `None` inherits the client's value; `Some(None)` disables.
/// Reached through `Request::timeouts_mut`; non-exhaustive, so a limit can be added.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct TimeoutOverrides {
    pub connect: Option<Option<Duration>>,
    pub total: Option<Option<Duration>>,
    pub read: Option<Option<Duration>>,
    pub pool: Option<Option<Duration>>,
    /// The write timeout. Over HTTP/1.1 it limits the socket's writes while the request has
    /// the connection; over HTTP/2, the wait of its body for flow-control window (the
    /// socket's writes, shared by the streams, keep the client's limit).
    pub write: Option<Option<Duration>>,
}

/// Per-request overrides of the client's transfer-speed limits, as curl sets them per
/// transfer. `None` inherits the client's value; `Some(None)` lifts it for this request.
/// Reached through `Request::speeds_mut`; non-exhaustive, as `TimeoutOverrides`.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct SpeedOverrides {
    /// The receive-rate cap, bytes per second (the client's `max_recv_speed`).
    pub max_recv: Option<Option<u64>>,
    /// The send-rate cap, bytes per second (the client's `max_send_speed`).
    pub max_send: Option<Option<u64>>,
    /// The low-speed limit (the client's `low_speed`).
    pub low_speed: Option<Option<LowSpeed>>,
}

/// The speed limits a request runs with: its overrides over the client's.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Speeds {
    pub max_recv: Option<u64>,
    pub max_send: Option<u64>,
    pub low_speed: Option<LowSpeed>,
}

impl Speeds {
    pub(crate) fn of(over: Option<&SpeedOverrides>, cfg: &Config) -> Speeds {
        let client = Speeds {
            max_recv: cfg.max_recv_speed,
            max_send: cfg.max_send_speed,
            low_speed: cfg.low_speed,
        };
        match over {
            None => client,
            Some(o) => Speeds {
                max_recv: o.max_recv.unwrap_or(client.max_recv),
                max_send: o.max_send.unwrap_or(client.max_send),
                low_speed: o.low_speed.unwrap_or(client.low_speed),
            },
        }
    }
}

#[derive(Debug)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    /// The URL as sent (as given, or as the URL standard encodes it), without its fragment:
    /// reported back as the effective URL, with `fragment`.
    pub(crate) url: Bytes,
    /// The URL's fragment (never sent; kept for the response's URL), boxed: nearly every
    /// request has none.
    #[allow(clippy::box_collection)]
    pub(crate) fragment: Option<Box<String>>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// A streamed body (instead of `body`).
    pub(crate) upload: Option<Arc<super::Upload>>,
    pub(crate) timeouts: TimeoutOverrides,
    /// Overrides of the client's speed limits (boxed: one pointer in every request for
    /// something rarely set).
    pub(crate) speeds: Option<Box<SpeedOverrides>>,
    /// Overrides of the client's redirect policy (`None`: the client's).
    pub(crate) follow_redirects: Option<bool>,
    pub(crate) max_redirects: Option<u32>,
    /// Override of the client's `decompress`.
    pub(crate) decompress: Option<bool>,
    /// Override of the client's retry count.
    pub(crate) retries: Option<u32>,
    /// Complete with the head and deliver the body as a stream.
    pub(crate) stream: bool,
    /// Credentials for this request, over the client's (boxed: rarely set, and every
    /// request is initialised).
    pub(crate) auth: Option<Box<Auth>>,
    /// Leave out the client's credentials (its auth setting).
    pub(crate) no_client_auth: bool,
    /// Client default headers this request leaves out (boxed: one pointer in every request
    /// for something rarely set).
    #[allow(clippy::box_collection)]
    pub(crate) withheld: Option<Box<Vec<http::HeaderName>>>,
    pub(crate) user_data: u64,
    error: Option<Error>,
}

impl Request {
    /// Starts a request. An invalid method or URL is recorded and reported by submit.
    pub fn new(method: &[u8], url: &[u8]) -> Request {
        Request::build(method, parse_url_keeping_fragment(url))
    }

    /// `new`, reusing `cache`'s parse when the URL is the one parsed last.
    pub fn new_cached(method: &[u8], url: &[u8], cache: &UrlCache) -> Request {
        Request::build(method, cache.parse(url))
    }

    fn build(method: &[u8], url: Result<ParsedUrl>) -> Request {
        let mut req = Request {
            method: Method::GET,
            uri: Uri::default(),
            url: Bytes::new(),
            fragment: None,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            upload: None,
            timeouts: TimeoutOverrides::default(),
            speeds: None,
            follow_redirects: None,
            max_redirects: None,
            decompress: None,
            retries: None,
            stream: false,
            auth: None,
            no_client_auth: false,
            withheld: None,
            user_data: 0,
            error: None,
        };
        match Method::from_bytes(method) {
            Ok(m) => req.method = m,
            Err(_) => req.poison(Error::new(
                ErrorKind::InvalidMethod,
                format!(
                    "invalid method {:?}: must be an HTTP token",
                    String::from_utf8_lossy(method)
                ),
            )),
        }
        match url {
            Ok((uri, url, fragment)) => {
                req.uri = uri;
                req.url = url;
                req.fragment = fragment;
            }
            Err(e) => req.poison(e),
        }
        req
    }

    pub fn get(url: &[u8]) -> Request {
        Request::new(b"GET", url)
    }

    /// Appends a header (a repeated name adds a value). Request headers replace client
    /// default headers of the same name.
    pub fn add_header(&mut self, name: &[u8], value: &[u8]) -> Result<()> {
        match parse_header(name, value) {
            Ok((n, v)) => {
                self.headers.append(n, v);
                Ok(())
            }
            Err(e) => {
                self.poison(e.clone());
                Err(e)
            }
        }
    }

    pub fn set_body(&mut self, body: impl Into<Bytes>) {
        self.body = body.into();
        self.upload = None;
    }

    /// A streamed body (see [`Upload`](super::Upload)), replacing any other. It is sent
    /// once: the request is not retried, a Digest challenge is not answered, and a redirect
    /// that keeps the method (307, 308) is not followed, once the body has started.
    pub fn set_upload(&mut self, upload: Arc<super::Upload>) {
        self.body = Bytes::new();
        self.upload = Some(upload);
    }

    /// A `multipart/form-data` body: the encoded parts, with their `Content-Type` (replacing
    /// one set before) and a known length.
    pub fn set_multipart(&mut self, form: &super::Multipart) {
        let (body, content_type) = form.encode();
        match http::HeaderValue::from_str(&content_type) {
            Ok(v) => {
                self.headers.insert(http::header::CONTENT_TYPE, v);
                self.body = body;
                self.upload = None;
            }
            Err(_) => self.poison(Error::new(
                ErrorKind::Internal,
                "multipart content type is not a header value",
            )),
        }
    }

    pub fn set_user_data(&mut self, user_data: u64) {
        self.user_data = user_data;
    }

    /// Follows redirects for this request, or not, whatever the client's setting.
    pub fn set_follow_redirects(&mut self, follow: bool) {
        self.follow_redirects = Some(follow);
    }

    /// The most redirects this request follows (when it follows them).
    pub fn set_max_redirects(&mut self, max: u32) {
        self.max_redirects = Some(max);
    }

    /// Asks for and decodes compressed responses (`true`), or takes the body as received
    /// (`false`), whatever the client's setting.
    /// Retries for this request (0: none), over the client's policy's count; the rest of
    /// the policy is the client's.
    pub fn set_retries(&mut self, retries: u32) {
        self.retries = Some(retries);
    }

    /// Completes the request when the response head arrives; the body is then read from
    /// [`Response::stream`](crate::Response::stream) as it comes, with bounded buffering.
    pub fn set_stream(&mut self, stream: bool) {
        self.stream = stream;
    }

    pub fn set_decompress(&mut self, decompress: bool) {
        self.decompress = Some(decompress);
    }

    /// Sends these credentials (instead of the client's or the URL's user info), unless the
    /// request sets `Authorization` itself.
    pub fn set_auth(&mut self, auth: Auth) {
        self.auth = Some(Box::new(auth));
    }

    /// Sends none of the client's credentials (its auth setting); the request's own auth,
    /// `Authorization` header or URL user info still go.
    pub fn set_no_client_auth(&mut self) {
        self.no_client_auth = true;
    }

    /// Leaves out the client's default header `name` (all its values) for this request.
    pub fn withhold_default_header(&mut self, name: &[u8]) -> Result<()> {
        match http::HeaderName::from_bytes(name) {
            Ok(n) => {
                self.withheld.get_or_insert_with(Default::default).push(n);
                Ok(())
            }
            Err(_) => {
                let e = Error::new(
                    ErrorKind::InvalidHeader,
                    format!("invalid header name {:?}", String::from_utf8_lossy(name)),
                );
                self.poison(e.clone());
                Err(e)
            }
        }
    }

    pub fn timeouts_mut(&mut self) -> &mut TimeoutOverrides {
        &mut self.timeouts
    }

    pub fn speeds_mut(&mut self) -> &mut SpeedOverrides {
        self.speeds.get_or_insert_with(Default::default)
    }

    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    pub(crate) fn poison(&mut self, e: Error) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// The error recorded while building, if any.
    pub(crate) fn validated(mut self) -> Result<Request> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if !self.headers.is_empty() {
            self.check_content_length()?;
        }
        Ok(self)
    }

    /// A `Content-Length` of the caller's must be the body's length: sent as it is, a
    /// larger one leaves the server waiting for bytes that never come (the request hangs
    /// to its timeout), a smaller one cuts the body short without an error.
    fn check_content_length(&self) -> Result<()> {
        let mut values = self.headers.get_all(CONTENT_LENGTH).iter();
        let Some(first) = values.next() else {
            return Ok(());
        };
        let parse = |v: &http::HeaderValue| {
            let t = v.as_bytes();
            (!t.is_empty() && t.len() <= 19 && t.iter().all(u8::is_ascii_digit))
                .then(|| std::str::from_utf8(t).ok()?.parse::<u64>().ok())
                .flatten()
        };
        let bad = |why: String| Err(Error::new(ErrorKind::InvalidHeader, why));
        let Some(declared) = parse(first) else {
            return bad(format!(
                "invalid Content-Length header {first:?}: not a length"
            ));
        };
        if values.any(|v| parse(v) != Some(declared)) {
            return bad("several Content-Length headers that differ".into());
        }
        let actual = match &self.upload {
            None => Some(self.body.len() as u64),
            Some(up) => up.length(),
        };
        match actual {
            Some(n) if n != declared => bad(format!(
                "the Content-Length header says {declared} bytes, but the body has {n}"
            )),
            _ => Ok(()),
        }
    }
}

/// The URL a client parsed last. A caller that sends to one URL again and again (an API
/// endpoint, a poller, a load test) skips the parse, which costs about as much as the rest
/// of building the request; a different URL costs one comparison more.
#[derive(Default)]
pub struct UrlCache(Mutex<Option<ParsedUrl>>);

impl UrlCache {
    fn parse(&self, url: &[u8]) -> Result<ParsedUrl> {
        // try_lock: submitting threads never wait on each other for a cache.
        if let Ok(last) = self.0.try_lock() {
            if let Some(hit) = last.as_ref().filter(|(_, t, _)| t[..] == *url) {
                return Ok(hit.clone());
            }
        }
        let parsed = parse_url_keeping_fragment(url)?;
        // Not a URL with a fragment: its text (the key) is without the fragment, so the same
        // URL without one would hit it, and its response would get the fragment.
        if parsed.2.is_none() {
            if let Ok(mut last) = self.0.try_lock() {
                *last = Some(parsed.clone());
            }
        }
        Ok(parsed)
    }
}

/// A parsed URL: what is sent, its text (sharing memory with it), and its fragment.
#[allow(clippy::box_collection)]
pub(crate) type ParsedUrl = (Uri, Bytes, Option<Box<String>>);

/// A method and URL as a caller that sends requests itself gives them (to the engine's
/// redirect and auth rules): the method checked, the URL parsed without its fragment.
pub(crate) fn parse_method_url(method: &str, url: &str) -> Result<(Method, Uri)> {
    let m = Method::from_bytes(method.as_bytes()).map_err(|_| {
        Error::new(
            ErrorKind::InvalidMethod,
            format!("invalid method {method:?}: must be an HTTP token"),
        )
    })?;
    let (uri, _) = parse_url(url.split('#').next().unwrap_or("").as_bytes())?;
    Ok((m, uri))
}

/// The URL to send (and its text), without a fragment.
pub(crate) fn parse_url(url: &[u8]) -> Result<(Uri, Bytes)> {
    parse_url_keeping_fragment(url).map(|(uri, text, _)| (uri, text))
}

/// [`parse_url`], and the fragment: never sent, it goes back on the response's URL.
pub(crate) fn parse_url_keeping_fragment(url: &[u8]) -> Result<ParsedUrl> {
    let text = std::str::from_utf8(url)
        .map_err(|_| Error::new(ErrorKind::InvalidUrl, "URL is not valid UTF-8"))?;
    if text.bytes().any(|b| b.is_ascii_control()) {
        return Err(Error::new(
            ErrorKind::InvalidUrl,
            format!("URL {text:?} contains control characters"),
        ));
    }
    let shared = Bytes::copy_from_slice(url);
    // A fragment (which the strict parse would just cut off) takes the standard parser's
    // way too: it is kept apart, encoded as the URL standard encodes it.
    let (uri, shared, fragment) = match Uri::from_maybe_shared(shared.clone()) {
        Ok(uri) if !has_dot_segment(uri.path()) && !url.contains(&b'#') => (uri, shared, None),
        // What the strict parse refuses (a space, `<`, `"`, non-ASCII...) or would send
        // as it is (`/a/../b`), a URL standard parser encodes and resolves, as browsers,
        // curl, reqwest and httpx do.
        strict => normalized(text, strict.err())?,
    };
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        Some(other) => return Err(unsupported_scheme(other)),
        // No scheme as a request target reads it (`mailto:a@b` is an authority there).
        None => {
            return Err(match scheme_of(text) {
                Some(other) if !is_http(other) => unsupported_scheme(other),
                _ => Error::new(
                    ErrorKind::InvalidUrl,
                    format!("URL {text:?} has no scheme (expected http://host/...)"),
                ),
            })
        }
    }
    if let Some(a) = uri.authority() {
        // After the user info (`user:password@host` has a `:` that is not the port's).
        let host_port = a.as_str().rsplit_once('@').map_or(a.as_str(), |(_, h)| h);
        let port_text = host_port
            .rsplit_once(':')
            .map(|(_, p)| p)
            .filter(|p| !p.contains(']'));
        if port_text.is_some_and(|p| !p.is_empty() && a.port_u16().is_none()) {
            return Err(Error::new(
                ErrorKind::InvalidUrl,
                format!("URL {text:?} has an invalid port"),
            ));
        }
    }
    match uri.host() {
        Some(h) if !h.is_empty() => {}
        _ => {
            return Err(Error::new(
                ErrorKind::InvalidUrl,
                format!("URL {text:?} has no host"),
            ))
        }
    }
    Ok((uri, shared, fragment))
}

/// The scheme `text` starts with (`mailto` in `mailto:a@b`), if any. `host:port...` is not
/// one (`localhost:8080/` lacks its scheme), except for `http` and `https` themselves.
fn scheme_of(text: &str) -> Option<&str> {
    let (s, rest) = text.split_once(':')?;
    let mut chars = s.bytes();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
    let port_like = rest.bytes().next().is_some_and(|c| c.is_ascii_digit());
    (valid && (!port_like || is_http(s))).then_some(s)
}

fn unsupported_scheme(scheme: &str) -> Error {
    Error::new(
        ErrorKind::UnsupportedScheme,
        format!("unsupported URL scheme {scheme:?} (expected http or https)"),
    )
}

fn is_http(scheme: &str) -> bool {
    scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
}

/// Whether `path` has a `.` or `..` segment (`/a/./b`, `/a/..`, also written `%2e`).
fn has_dot_segment(path: &str) -> bool {
    const DOTS: [&str; 6] = [".", "..", "%2e", ".%2e", "%2e.", "%2e%2e"];
    // Nearly every path has neither `/.` nor `/%2`: two substring scans.
    (path.contains("/.") || path.contains("/%2"))
        && path
            .split('/')
            .any(|seg| DOTS.iter().any(|d| seg.eq_ignore_ascii_case(d)))
}

/// `text` parsed by the WHATWG URL rules (the `url` crate): characters a request target
/// cannot hold percent-encoded, dot segments resolved, a Unicode host in its ASCII form, the
/// fragment taken off (it is never sent) and returned apart. `strict` is why the strict
/// parse refused it.
fn normalized(text: &str, strict: Option<http::uri::InvalidUri>) -> Result<ParsedUrl> {
    use url::ParseError as P;
    let invalid = |why: String| Error::new(ErrorKind::InvalidUrl, why);
    let scheme = scheme_of(text);
    if let Some(other) = scheme.filter(|s| !is_http(s)) {
        return Err(unsupported_scheme(other));
    }
    // The URL standard would also read `http:/x` and `http:///x` as host `x`: not guessed.
    match text.split_once("://") {
        None if scheme.is_some() => {
            return Err(invalid(format!(
                "URL {text:?} has no \"//\" after its scheme (expected http://host/...)"
            )))
        }
        None => {
            return Err(invalid(format!(
                "URL {text:?} has no scheme (expected http://host/...)"
            )))
        }
        Some((_, rest)) if rest.is_empty() || rest.starts_with(['/', '?', '#']) => {
            return Err(invalid(format!("URL {text:?} has no host")))
        }
        _ => {}
    }
    let mut parsed = url::Url::parse(text).map_err(|e| match e {
        P::RelativeUrlWithoutBase => invalid(format!(
            "URL {text:?} has no scheme (expected http://host/...)"
        )),
        P::InvalidPort => invalid(format!("URL {text:?} has an invalid port")),
        P::EmptyHost => invalid(format!("URL {text:?} has no host")),
        e => match &strict {
            Some(s) => invalid(format!("invalid URL {text:?}: {e} ({s})")),
            None => invalid(format!("invalid URL {text:?}: {e}")),
        },
    })?;
    let fragment = parsed.fragment().map(|f| Box::new(f.to_string()));
    parsed.set_fragment(None);
    let shared = Bytes::from(String::from(parsed));
    let uri = Uri::from_maybe_shared(shared.clone())
        .map_err(|e| invalid(format!("invalid URL {text:?}: {e}")))?;
    Ok((uri, shared, fragment))
}

/// The URL a response reports: `url` (as sent) with the request's fragment, if it had one.
pub(crate) fn with_fragment(url: &Bytes, fragment: Option<&String>) -> Bytes {
    match fragment {
        None => url.clone(),
        Some(f) => {
            let mut text = Vec::with_capacity(url.len() + 1 + f.len());
            text.extend_from_slice(url);
            text.push(b'#');
            text.extend_from_slice(f.as_bytes());
            Bytes::from(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A URL with a fragment is not cached: the cache's key is the text sent (without the
    /// fragment), so the same URL without one would have been given that fragment back.
    #[test]
    fn a_fragment_does_not_stick_to_the_next_url() {
        let cache = UrlCache::default();
        let a = Request::new_cached(b"GET", b"http://h/x#a", &cache);
        assert_eq!(a.fragment.as_deref().map(String::as_str), Some("a"));
        let b = Request::new_cached(b"GET", b"http://h/x", &cache);
        assert_eq!(b.fragment, None);
        assert_eq!(&b.url[..], b"http://h/x");
        // A URL without one is cached, and a hit gives it back as it was.
        let c = Request::new_cached(b"GET", b"http://h/x", &cache);
        assert_eq!((c.fragment, &c.url[..]), (None, &b"http://h/x"[..]));
        let d = Request::new_cached(b"GET", b"http://h/x#d", &cache);
        assert_eq!(d.fragment.as_deref().map(String::as_str), Some("d"));
    }

    fn parsed(url: &str) -> (String, String) {
        let (uri, text) = parse_url(url.as_bytes()).unwrap();
        (uri.to_string(), String::from_utf8(text.to_vec()).unwrap())
    }

    fn refused(url: &[u8]) -> Error {
        parse_url(url).unwrap_err()
    }

    #[test]
    fn a_plain_url_is_taken_as_it_is() {
        let url = "http://127.0.0.1:8080/a/b.c/..d/x?q=1&r=%20";
        assert_eq!(parsed(url), (url.to_string(), url.to_string()));
    }

    #[test]
    fn what_a_request_target_cannot_hold_is_encoded_as_browsers_do() {
        let (uri, text) = parsed("http://h/a b/\"<c>`?q=a b&s=\"x\"#frag");
        assert_eq!(uri, "http://h/a%20b/%22%3Cc%3E%60?q=a%20b&s=%22x%22");
        assert_eq!(
            text, uri,
            "the URL reported back is the one sent, without the fragment"
        );
        let (uri, _) = parsed("http://h\u{e9}llo.example/\u{fc}");
        assert_eq!(uri, "http://xn--hllo-bpa.example/%C3%BC");
    }

    #[test]
    fn the_fragment_is_kept_apart() {
        let fragment = |url: &str| parse_url_keeping_fragment(url.as_bytes()).unwrap().2;
        assert_eq!(
            fragment("http://h/a?q#f g").as_deref().map(|f| f.as_str()),
            Some("f%20g")
        );
        assert_eq!(
            fragment("http://h/a#").as_deref().map(|f| f.as_str()),
            Some("")
        );
        assert_eq!(fragment("http://h/a?q"), None);
        // What is sent (and reported as the URL sent) has none.
        let (uri, text, f) = parse_url_keeping_fragment(b"http://h/a?q#x").unwrap();
        assert_eq!(
            (uri.to_string().as_str(), &text[..]),
            ("http://h/a?q", &b"http://h/a?q"[..])
        );
        assert_eq!(f.as_deref().map(|f| f.as_str()), Some("x"));
        let url = Bytes::from_static(b"http://h/a");
        assert_eq!(
            &with_fragment(&url, Some(&"f".to_string()))[..],
            b"http://h/a#f"
        );
        assert_eq!(with_fragment(&url, None), url);
    }

    #[test]
    fn user_info_is_not_taken_for_a_port() {
        for url in [
            "http://u:p@a.test/x",
            "http://u:p@a.test:8080/x",
            "http://u@a.test/",
            "http://u:@[::1]/",
        ] {
            assert!(parse_url(url.as_bytes()).is_ok(), "{url}");
        }
        let e = parse_url(b"http://u:p@a.test:99999/").unwrap_err();
        assert!(e.message().contains("invalid port"), "{}", e.message());
    }

    #[test]
    fn dot_segments_are_resolved() {
        assert_eq!(parsed("http://h/a/./b/../c").0, "http://h/a/c");
        assert_eq!(parsed("http://h/a/%2e%2E/c?x=/../").0, "http://h/c?x=/../");
        assert_eq!(parsed("http://h/../../x").0, "http://h/x");
        assert_eq!(
            parsed("http://h/a/.hidden/..b/").0,
            "http://h/a/.hidden/..b/"
        );
    }

    #[test]
    fn what_cannot_be_a_url_says_why() {
        let cases: [(&[u8], &str); 10] = [
            (b"http://h/a\x01", "control characters"),
            (b"http://h/a\r\nX: y", "control characters"),
            (b"example.com/x", "no scheme"),
            (b"/relative", "no scheme"),
            (b"localhost:8080/x", "no scheme"),
            (b"http:127.0.0.1/", "no \"//\" after its scheme"),
            (b"HTTPS:h/", "no \"//\" after its scheme"),
            (b"http://h:99999/", "invalid port"),
            (b"http:///x", "no host"),
            (b"http://h st/", "invalid"),
        ];
        for (url, why) in cases {
            let e = refused(url);
            assert_eq!(e.kind(), ErrorKind::InvalidUrl, "{url:?}");
            assert!(e.message().contains(why), "{url:?}: {}", e.message());
        }
        // A scheme of another kind is named, with or without `//` and a host.
        for url in [
            &b"ftp://h/x"[..],
            b"ftp://h/a b",
            b"ftp:/x",
            b"file:///etc/passwd",
            b"mailto:a@b",
            b"data:text/plain,hi",
            b"javascript:alert(1)",
        ] {
            let e = refused(url);
            assert_eq!(e.kind(), ErrorKind::UnsupportedScheme, "{url:?}");
            assert!(e.message().contains("unsupported URL scheme"), "{url:?}");
        }
    }

    fn with_length(value: &str, body: &'static [u8]) -> Result<Request> {
        let mut req = Request::new(b"POST", b"http://h/");
        req.add_header(b"content-length", value.as_bytes()).unwrap();
        req.set_body(body);
        req.validated()
    }

    #[test]
    fn a_content_length_of_the_callers_must_be_the_bodys() {
        assert!(with_length("3", b"abc").is_ok());
        assert!(with_length("0", b"").is_ok());
        for (value, body, why) in [
            ("10", &b"abc"[..], "says 10 bytes, but the body has 3"),
            ("2", b"abcdef", "says 2 bytes, but the body has 6"),
            ("40", b"", "says 40 bytes, but the body has 0"),
            ("3x", b"abc", "not a length"),
            ("-3", b"abc", "not a length"),
            ("", b"abc", "not a length"),
        ] {
            let e = with_length(value, body).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidHeader, "{value}");
            assert!(e.message().contains(why), "{value}: {}", e.message());
        }
        let mut req = Request::new(b"POST", b"http://h/");
        req.add_header(b"Content-Length", b"3").unwrap();
        req.add_header(b"content-length", b"4").unwrap();
        req.set_body(&b"abc"[..]);
        assert!(req.validated().unwrap_err().message().contains("differ"));
        let mut req = Request::new(b"POST", b"http://h/");
        req.add_header(b"content-length", b"5").unwrap();
        req.set_upload(super::super::Upload::push(Some(5)));
        assert!(req.validated().is_ok());
        let mut req = Request::new(b"POST", b"http://h/");
        req.add_header(b"content-length", b"6").unwrap();
        req.set_upload(super::super::Upload::push(Some(5)));
        assert!(req.validated().is_err());
    }
}
