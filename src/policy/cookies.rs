//! A client's cookie jar: RFC 6265 rules (domain and path matching, Secure, HttpOnly,
//! expiry, public suffixes) through the `cookie_store` crate, and the Netscape cookie-file
//! format curl reads and writes.
//!
//! Public suffixes come from the system's list (Debian's `publicsuffix` package, as libpsl
//! uses it), read once per process; without it every top-level label counts as a public
//! suffix (the list's implicit `*` rule), so `Domain=com` is still refused.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use http::header::{HeaderMap, HeaderValue, SET_COOKIE};
use http::Uri;

use crate::error::{Error, ErrorKind, Result};

/// Where distributions install the Public Suffix List.
const PSL_PATHS: &[&str] = &[
    "/usr/share/publicsuffix/public_suffix_list.dat",
    "/usr/share/publicsuffix/effective_tld_names.dat",
];

/// A cookie's name and value together may not be longer (RFC 6265bis §5.6, as browsers).
const MAX_NAME_VALUE: usize = 4096;
/// At most this many cookies a response sets are kept (curl's cap): the rest are ignored.
const MAX_SET_PER_RESPONSE: usize = 50;
/// At most this many cookies per domain, and in all; a new one beyond is ignored (browsers
/// keep about 180 a domain and 3000 in all, curl has no cap), so servers cannot grow the jar
/// without bound (subdomains by the thousand reach the total).
const MAX_PER_DOMAIN: usize = 180;
const MAX_COOKIES: usize = 3000;
/// A request's `Cookie` header stops before this length, and after this many cookies
/// (curl's caps): a site that set too many still gets an answer, not 431 forever.
const MAX_HEADER_LEN: usize = 8190;
const MAX_SENT: usize = 150;

/// The system's list, or None when it has none.
fn suffix_list() -> Option<publicsuffix::List> {
    static LIST: OnceLock<Option<publicsuffix::List>> = OnceLock::new();
    LIST.get_or_init(|| {
        PSL_PATHS
            .iter()
            .filter_map(|p| std::fs::read(p).ok())
            .find_map(|bytes| publicsuffix::List::from_bytes(&bytes).ok())
    })
    .clone()
}

/// The jar: shared by a client's requests, locked briefly per request and per response.
pub(crate) struct Jar {
    store: Mutex<cookie_store::CookieStore>,
    /// No list: `cookie_store` only refuses suffixes a list names, so a `Domain` of one
    /// label (`com`, `localhost`) other than the request's own host is refused here.
    no_list: bool,
    /// Set once anything was stored (cleared by `clear`): an empty jar, the usual case for
    /// clients that turn it on by default (Python), costs a request one load.
    used: AtomicBool,
}

impl Default for Jar {
    fn default() -> Self {
        Jar::new()
    }
}

impl Jar {
    pub(crate) fn new() -> Jar {
        Jar::with_list(suffix_list())
    }

    fn with_list(list: Option<publicsuffix::List>) -> Jar {
        let no_list = list.is_none();
        let store = match list {
            Some(l) => cookie_store::CookieStore::new().with_suffix_list(l),
            None => cookie_store::CookieStore::new(),
        };
        Jar {
            store: Mutex::new(store),
            no_list,
            used: AtomicBool::new(false),
        }
    }

    /// Whether a cookie's `Domain` may be kept for `url` beyond what `cookie_store` checks.
    fn domain_allowed(&self, cookie: &cookie_store::RawCookie<'_>, url: &url::Url) -> bool {
        let Some(domain) = cookie.domain() else {
            return true;
        };
        let domain = domain.trim_start_matches('.');
        !self.no_list || domain.contains('.') || url.host_str() == Some(domain)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, cookie_store::CookieStore> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The `Cookie` value for a request to `uri`, or None when no cookie matches.
    pub(crate) fn header_for(&self, uri: &Uri) -> Option<HeaderValue> {
        if !self.used.load(Ordering::Relaxed) {
            return None;
        }
        let url = url_of(uri)?;
        let store = self.lock();
        let mut matches = store.matches(&url);
        // RFC 6265 §5.4: longer paths first (a stable sort keeps the store's order otherwise).
        matches.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        let mut out = String::new();
        for (name, value) in matches.iter().take(MAX_SENT).map(|c| c.name_value()) {
            if out.len() + 2 + name.len() + 1 + value.len() > MAX_HEADER_LEN {
                break;
            }
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(name);
            out.push('=');
            out.push_str(value);
        }
        drop(store);
        if out.is_empty() {
            return None;
        }
        let mut v = HeaderValue::from_str(&out).ok()?;
        v.set_sensitive(true);
        Some(v)
    }

    /// Keeps the cookies a response from `uri` sets (those the rules refuse are dropped).
    pub(crate) fn store_from(&self, uri: &Uri, headers: &HeaderMap) {
        let mut values = headers.get_all(SET_COOKIE).iter().peekable();
        if values.peek().is_none() {
            return;
        }
        let Some(url) = url_of(uri) else { return };
        let cookies: Vec<_> = values
            .take(MAX_SET_PER_RESPONSE)
            .filter_map(|v| std::str::from_utf8(v.as_bytes()).ok())
            .filter_map(|s| cookie_store::RawCookie::parse(s.to_string()).ok())
            .collect();
        if cookies.is_empty() {
            return;
        }
        let mut store = self.lock();
        self.used.store(true, Ordering::Relaxed);
        for raw in &cookies {
            // Refused cookies are ignored, as RFC 6265 asks of a user agent.
            let _ = self.insert(&mut store, raw, &url);
        }
    }

    /// Stores `raw` as sent by `url` if the rules allow it; otherwise says why not. On top
    /// of `cookie_store`'s RFC 6265 checks: RFC 6265bis's size limit, Secure only from a
    /// secure origin, "leave Secure cookies alone" (§5.7 step 16), the `__Secure-` and
    /// `__Host-` name prefixes (§4.1.3), and a cap per domain.
    fn insert(
        &self,
        store: &mut cookie_store::CookieStore,
        raw: &cookie_store::RawCookie<'_>,
        url: &url::Url,
    ) -> std::result::Result<(), String> {
        if raw.name().len() + raw.value().len() > MAX_NAME_VALUE {
            return Err("its name and value are longer than 4096 bytes".into());
        }
        if !self.domain_allowed(raw, url) {
            return Err("its Domain is a public suffix".into());
        }
        let secure_origin = is_secure(url);
        let secure = raw.secure() == Some(true);
        if secure && !secure_origin {
            return Err("a Secure cookie may only be set over https".into());
        }
        let name = raw.name().as_bytes();
        let prefixed =
            |p: &str| name.len() >= p.len() && name[..p.len()].eq_ignore_ascii_case(p.as_bytes());
        if prefixed("__Secure-") && !secure {
            return Err("a __Secure- cookie must be Secure, over https".into());
        }
        if prefixed("__Host-") && !(secure && raw.domain().is_none() && raw.path() == Some("/")) {
            return Err(
                "a __Host- cookie must be Secure, over https, with Path=/ and no Domain".into(),
            );
        }
        let c = cookie_store::Cookie::try_from_raw_cookie(raw, url).map_err(|e| e.to_string())?;
        let domain = c.domain.as_cow().unwrap_or_default();
        if !secure && !secure_origin {
            // An insecure origin may not shadow a Secure cookie of the same name.
            let shadows = store.iter_unexpired().any(|old| {
                old.secure() == Some(true)
                    && old.name() == raw.name()
                    && old
                        .domain
                        .as_cow()
                        .is_some_and(|d| domain_matches(&d, &domain) || domain_matches(&domain, &d))
                    && path_matches(&c.path, &old.path)
            });
            if shadows {
                return Err("it would replace a Secure cookie, and the URL is not https".into());
            }
        }
        if !c.is_expired() {
            let (mut all, mut same_domain, mut replaces) = (0, 0, false);
            for old in store.iter_unexpired() {
                all += 1;
                if old.domain.as_cow().as_deref() == Some(&*domain) {
                    same_domain += 1;
                    replaces |= old.name() == raw.name() && *old.path == *c.path;
                }
            }
            if !replaces && same_domain >= MAX_PER_DOMAIN {
                return Err("its domain already has 180 cookies".into());
            }
            if !replaces && all >= MAX_COOKIES {
                return Err("the jar already has 3000 cookies".into());
            }
        }
        store
            .insert(c.into_owned(), url)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Adds one cookie as if `url` had sent `set_cookie` (a `Set-Cookie` value).
    pub(crate) fn add(&self, url: &str, set_cookie: &str) -> Result<()> {
        let url = parse_url(url)?;
        let cookie = cookie_store::RawCookie::parse(set_cookie.to_string())
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("invalid cookie: {e}")))?;
        let mut store = self.lock();
        self.used.store(true, Ordering::Relaxed);
        self.insert(&mut store, &cookie, &url)
            .map_err(|why| Error::new(ErrorKind::InvalidArgument, format!("cookie refused: {why}")))
    }

    pub(crate) fn clear(&self) {
        let mut store = self.lock();
        store.clear();
        self.used.store(false, Ordering::Relaxed);
    }

    /// The unexpired cookies in the Netscape cookie-file format (curl's `-c`), session
    /// cookies included with expiry 0.
    pub(crate) fn to_netscape(&self) -> String {
        let store = self.lock();
        let mut lines = Vec::new();
        for c in store.iter_unexpired() {
            // A TAB (allowed in a value) would split the line: such a cookie cannot be
            // written, and one bad line would lose the lines after it on load.
            if [c.name(), c.value(), &*c.path]
                .iter()
                .any(|f| f.contains(['\t', '\r', '\n']))
            {
                continue;
            }
            let (domain, subdomains) = match &c.domain {
                cookie_store::CookieDomain::HostOnly(d) => (d.clone(), false),
                cookie_store::CookieDomain::Suffix(d) => (format!(".{d}"), true),
                _ => continue,
            };
            let expires = match &c.expires {
                cookie_store::CookieExpiration::AtUtc(t) => t.unix_timestamp().max(0),
                cookie_store::CookieExpiration::SessionEnd => 0,
            };
            let flag = |b: bool| if b { "TRUE" } else { "FALSE" };
            lines.push(format!(
                "{}{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                if c.http_only() == Some(true) {
                    "#HttpOnly_"
                } else {
                    ""
                },
                domain,
                flag(subdomains),
                &*c.path,
                flag(c.secure() == Some(true)),
                expires,
                c.name(),
                c.value()
            ));
        }
        drop(store);
        // Sorted (by domain, then path, name): the same jar always writes the same file.
        lines.sort_by(|a, b| {
            a.trim_start_matches("#HttpOnly_")
                .cmp(b.trim_start_matches("#HttpOnly_"))
        });
        let mut out = String::from("# Netscape HTTP Cookie File\n# Written by httpring.\n\n");
        out.extend(lines);
        out
    }

    /// Adds the cookies of a Netscape cookie file; returns how many were taken. Comments,
    /// blank lines and expired cookies are skipped; a malformed line is an error.
    pub(crate) fn load_netscape(&self, text: &str) -> Result<usize> {
        let now = time_now();
        let mut taken = 0;
        let mut store = self.lock();
        self.used.store(true, Ordering::Relaxed);
        for (i, line) in text.lines().enumerate() {
            let (line, http_only) = match line.strip_prefix("#HttpOnly_") {
                Some(rest) => (rest, true),
                None => (line, false),
            };
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |what: &str| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!("cookie file line {}: {what}", i + 1),
                )
            };
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() != 7 {
                return Err(bad("expected 7 tab-separated fields"));
            }
            let (domain, subdomains, path, secure, expires, name, value) =
                (f[0], f[1] == "TRUE", f[2], f[3] == "TRUE", f[4], f[5], f[6]);
            let expires: i64 = expires.parse().map_err(|_| bad("expiry is not a number"))?;
            if expires != 0 && expires <= now {
                continue;
            }
            let written = domain.trim_start_matches('.');
            if written.is_empty() || name.is_empty() {
                return Err(bad("empty domain or name"));
            }
            // Both go into a URL below: a domain with URL syntax in it, or a path that
            // does not start with "/" (checked below), would make it name another host.
            let bracketed = written.starts_with('[') && written.ends_with(']');
            if written.contains(['/', '\\', '@', '?', '#', ' '])
                || (written.contains(':') && !bracketed)
            {
                return Err(bad("the domain is not a host name"));
            }
            let scheme = if secure { "https" } else { "http" };
            let url = parse_url(&format!("{scheme}://{written}{path}"))
                .map_err(|_| bad("domain or path does not form a URL"))?;
            // The host as a URL reads it (percent-decoded, IDNA): what the jar keeps and
            // writes back, so it must still be a host ("%2E" is ".", which is none).
            let host = url.host_str().unwrap_or("").trim_start_matches('.');
            if host.is_empty() {
                return Err(bad("the domain is not a host name"));
            }
            if !path.starts_with('/') {
                return Err(bad("the path does not start with /"));
            }
            let mut c = cookie_store::RawCookie::new(name.to_string(), value.to_string());
            c.set_path(path.to_string());
            c.set_secure(secure);
            c.set_http_only(http_only);
            if subdomains {
                c.set_domain(host.to_string());
            }
            if expires != 0 {
                let at = time::OffsetDateTime::from_unix_timestamp(expires)
                    .map_err(|_| bad("expiry out of range"))?;
                c.set_expires(at);
            }
            store
                .insert_raw(&c, &url)
                .map_err(|e| bad(&format!("cookie refused: {e}")))?;
            taken += 1;
        }
        Ok(taken)
    }
}

/// A secure origin: https, or a loopback host (as `cookie_store` sends Secure cookies to
/// them, and browsers treat them).
fn is_secure(url: &url::Url) -> bool {
    url.scheme() == "https"
        || match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
}

/// RFC 6265 §5.1.3, on canonical (lower-case) names.
fn domain_matches(s: &str, domain: &str) -> bool {
    s == domain
        || (s.len() > domain.len()
            && s.ends_with(domain)
            && s.as_bytes()[s.len() - domain.len() - 1] == b'.'
            && s.parse::<std::net::IpAddr>().is_err())
}

/// RFC 6265 §5.1.4: `path` path-matches `cookie_path`.
fn path_matches(path: &str, cookie_path: &str) -> bool {
    path == cookie_path
        || (path.starts_with(cookie_path)
            && (cookie_path.ends_with('/')
                || path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

fn time_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn parse_url(url: &str) -> Result<url::Url> {
    url::Url::parse(url)
        .map_err(|e| Error::new(ErrorKind::InvalidUrl, format!("invalid URL {url:?}: {e}")))
}

/// The URL a request's `Uri` stands for, without user info.
fn url_of(uri: &Uri) -> Option<url::Url> {
    let mut url = url::Url::parse(&uri.to_string()).ok()?;
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jar() -> Jar {
        Jar::with_list(Some(
            "// ===BEGIN ICANN DOMAINS===\ncom\nco.uk\n*.ck\n!www.ck\n"
                .parse()
                .unwrap(),
        ))
    }

    fn set(jar: &Jar, url: &str, set_cookie: &str) {
        let mut h = HeaderMap::new();
        h.append(SET_COOKIE, HeaderValue::from_str(set_cookie).unwrap());
        jar.store_from(&url.parse().unwrap(), &h);
    }

    fn sent(jar: &Jar, url: &str) -> String {
        jar.header_for(&url.parse().unwrap())
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    #[test]
    fn domain_and_path_matching() {
        let j = jar();
        set(&j, "http://a.example.com/x/y", "host=1");
        set(&j, "http://a.example.com/", "wide=2; Domain=example.com");
        set(&j, "http://a.example.com/", "deep=3; Path=/x");
        let all = sent(&j, "http://a.example.com/x/z");
        let mut names: Vec<&str> = all.split("; ").collect();
        // The two with path /x before the one with path /.
        assert_eq!(names.pop(), Some("wide=2"), "{all}");
        names.sort();
        assert_eq!(names, ["deep=3", "host=1"]);
        // Host-only stays on its host; Domain reaches siblings; Path limits.
        assert_eq!(sent(&j, "http://b.example.com/"), "wide=2");
        assert_eq!(sent(&j, "http://a.example.com/"), "wide=2");
        assert_eq!(sent(&j, "http://other.com/x"), "");
    }

    #[test]
    fn public_suffixes_and_foreign_domains_are_refused() {
        let j = jar();
        set(&j, "http://a.example.co.uk/", "s=1; Domain=co.uk");
        set(&j, "http://a.example.com/", "s=2; Domain=com");
        set(&j, "http://a.example.com/", "s=3; Domain=evil.com");
        assert_eq!(sent(&j, "http://b.example.co.uk/"), "");
        assert_eq!(sent(&j, "http://b.example.com/"), "");
        assert_eq!(sent(&j, "http://evil.com/"), "");
        // Without a list file, every top-level label is a public suffix.
        let fallback = Jar::with_list(None);
        set(&fallback, "http://a.example/", "s=4; Domain=example");
        assert_eq!(sent(&fallback, "http://b.example/"), "");
    }

    #[test]
    fn secure_and_expiry() {
        let j = jar();
        set(&j, "https://a.example.com/", "sec=1; Secure");
        set(&j, "http://a.example.com/", "gone=1; Max-Age=0");
        set(
            &j,
            "http://a.example.com/",
            "old=1; Expires=Thu, 01 Jan 1970 00:00:01 GMT",
        );
        assert_eq!(sent(&j, "https://a.example.com/"), "sec=1");
        assert_eq!(sent(&j, "http://a.example.com/"), "");
        // A later Max-Age=0 deletes.
        set(&j, "https://a.example.com/", "sec=1; Max-Age=0; Secure");
        assert_eq!(sent(&j, "https://a.example.com/"), "");
    }

    #[test]
    fn netscape_round_trip() {
        let j = jar();
        set(&j, "http://a.example.com/", "s=1");
        set(
            &j,
            "https://a.example.com/",
            "p=2; Domain=example.com; Path=/api; Secure; HttpOnly; Max-Age=3600",
        );
        let text = j.to_netscape();
        assert!(
            text.contains("a.example.com\tFALSE\t/\tFALSE\t0\ts\t1\n"),
            "{text}"
        );
        assert!(
            text.contains("#HttpOnly_.example.com\tTRUE\t/api\tTRUE\t"),
            "{text}"
        );
        let k = jar();
        assert_eq!(k.load_netscape(&text).unwrap(), 2);
        assert_eq!(sent(&k, "https://b.example.com/api/v1"), "p=2");
        assert_eq!(sent(&k, "http://a.example.com/"), "s=1");
        assert_eq!(k.to_netscape(), text);
        // Expired lines are skipped, malformed ones refused with their line number.
        assert_eq!(
            k.load_netscape("x.com\tFALSE\t/\tFALSE\t1\told\t1\n")
                .unwrap(),
            0
        );
        let err = k.load_netscape("# c\n\nx.com\tFALSE\t/\n").unwrap_err();
        assert!(err.message().contains("line 3"), "{}", err.message());
        k.clear();
        assert_eq!(sent(&k, "http://a.example.com/"), "");
    }

    /// Found by the config_strings fuzz target (fuzz/regressions/config_strings): a domain
    /// that is a host only before percent-decoding was taken, then written back as ".",
    /// which no longer loaded.
    #[test]
    fn a_domain_that_decodes_to_no_host_is_refused_and_what_loads_loads_again() {
        let j = jar();
        let err = j.load_netscape("%2E\t\t\t\t0\ta\t\n").unwrap_err();
        assert!(
            err.message().contains("not a host name"),
            "{}",
            err.message()
        );
        assert!(!j.to_netscape().contains("\ta\t"));
        // A percent-encoded letter is a host: kept as the URL reads it, and the export loads.
        assert_eq!(
            j.load_netscape("%61.com\tFALSE\t/\tFALSE\t0\tn\tv\n")
                .unwrap(),
            1
        );
        let text = j.to_netscape();
        assert!(text.contains("a.com\tFALSE\t/\tFALSE\t0\tn\tv"), "{text}");
        assert_eq!(jar().load_netscape(&text).unwrap(), 1);
    }

    /// RFC 6265bis §5.7: a plain-http response may neither set a Secure cookie nor replace
    /// one (an attacker on the network could otherwise fix an https site's session).
    #[test]
    fn secure_cookies_are_left_alone_by_plain_http() {
        let j = jar();
        set(&j, "https://a.example.com/", "sid=GOOD; Secure; HttpOnly");
        set(&j, "http://a.example.com/", "sid=ATTACKER");
        set(&j, "http://a.example.com/", "sid=ATTACKER; Path=/deeper");
        set(
            &j,
            "http://b.example.com/",
            "sid=ATTACKER; Domain=example.com",
        );
        set(&j, "http://a.example.com/", "fix=ATTACKER; Secure");
        assert_eq!(sent(&j, "https://a.example.com/"), "sid=GOOD");
        assert_eq!(sent(&j, "https://a.example.com/deeper"), "sid=GOOD");
        assert_eq!(sent(&j, "http://a.example.com/"), "");
        // Another name, or over https, is fine; loopback counts as secure (as browsers).
        set(&j, "http://a.example.com/", "other=1");
        set(&j, "https://a.example.com/", "sid=NEW; Secure");
        assert_eq!(sent(&j, "https://a.example.com/"), "sid=NEW; other=1");
        set(&j, "http://127.0.0.1/", "local=1; Secure");
        assert_eq!(sent(&j, "http://127.0.0.1/"), "local=1");
        let err = j.add("http://a.example.com/", "fix=1; Secure").unwrap_err();
        assert!(
            err.message().contains("only be set over https"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn name_prefixes_are_enforced() {
        let j = jar();
        for bad in [
            "__Host-a=1; Secure; Path=/; Domain=example.com",
            "__Host-b=1; Path=/",
            "__Host-c=1; Secure; Path=/x",
            "__Host-d=1; Secure",
            "__HOST-e=1; Path=/",
            "__Secure-f=1",
            "__secure-g=1",
        ] {
            set(&j, "https://a.example.com/x/", bad);
        }
        assert_eq!(sent(&j, "https://a.example.com/x/"), "");
        set(&j, "https://a.example.com/", "__Host-ok=1; Secure; Path=/");
        set(
            &j,
            "https://a.example.com/",
            "__Secure-ok=2; Secure; Domain=example.com",
        );
        assert_eq!(
            sent(&j, "https://a.example.com/"),
            "__Host-ok=1; __Secure-ok=2"
        );
        assert_eq!(sent(&j, "https://b.example.com/"), "__Secure-ok=2");
    }

    #[test]
    fn sizes_and_counts_are_capped() {
        let j = jar();
        set(
            &j,
            "http://a.example.com/",
            &format!("big={}", "x".repeat(MAX_NAME_VALUE)),
        );
        assert_eq!(sent(&j, "http://a.example.com/"), "");
        let err = j
            .add(
                "http://a.example.com/",
                &format!("big={}", "x".repeat(MAX_NAME_VALUE)),
            )
            .unwrap_err();
        assert!(err.message().contains("4096"), "{}", err.message());
        // One response keeps its first 50.
        let mut h = HeaderMap::new();
        for i in 0..60 {
            h.append(
                SET_COOKIE,
                HeaderValue::from_str(&format!("c{i}=1")).unwrap(),
            );
        }
        j.store_from(&"http://a.example.com/".parse().unwrap(), &h);
        let all = sent(&j, "http://a.example.com/");
        assert_eq!(all.split("; ").count(), MAX_SET_PER_RESPONSE, "{all}");
        assert!(all.contains("c49=1") && !all.contains("c50=1"), "{all}");
        // A domain keeps 180; at the cap a cookie it has can still be replaced.
        for r in 1..5 {
            let mut h = HeaderMap::new();
            for i in 0..50 {
                h.append(
                    SET_COOKIE,
                    HeaderValue::from_str(&format!("r{r}c{i}=1")).unwrap(),
                );
            }
            j.store_from(&"http://a.example.com/".parse().unwrap(), &h);
        }
        let count = |j: &Jar| j.lock().iter_unexpired().count();
        assert_eq!(count(&j), MAX_PER_DOMAIN);
        set(&j, "http://a.example.com/", "c0=2");
        assert!(sent(&j, "http://a.example.com/").contains("c0=2"));
        assert_eq!(count(&j), MAX_PER_DOMAIN);
        // The header stops before 8190 bytes.
        let k = jar();
        for i in 0..40 {
            set(
                &k,
                "http://a.example.com/",
                &format!("k{i}={}", "v".repeat(300)),
            );
        }
        let header = sent(&k, "http://a.example.com/");
        assert!(
            header.len() <= MAX_HEADER_LEN && header.len() > 7000,
            "{}",
            header.len()
        );
    }

    /// A TAB is allowed in a value but splits a cookie-file line: such a cookie is not
    /// written, so the file still loads whole. A hand-made file cannot move a cookie to
    /// another host through its path or domain field.
    #[test]
    fn the_cookie_file_holds_only_what_it_can_load() {
        let j = jar();
        set(&j, "http://a.example.com/", "t=a\tb");
        set(&j, "http://b.example.com/", "ok=1");
        assert_eq!(sent(&j, "http://a.example.com/"), "t=a\tb");
        let text = j.to_netscape();
        assert!(!text.contains("\tt\t"), "{text}");
        assert_eq!(jar().load_netscape(&text).unwrap(), 1);
        for (line, why) in [
            ("example.com\tFALSE\t@other.com/\tFALSE\t0\tn\tv\n", "path"),
            ("example.com\tFALSE\tfoo\tFALSE\t0\tn\tv\n", "path"),
            ("a@other.com\tFALSE\t/\tFALSE\t0\tn\tv\n", "host name"),
            ("example.com:81\tFALSE\t/\tFALSE\t0\tn\tv\n", "host name"),
        ] {
            let err = jar().load_netscape(line).unwrap_err();
            assert!(err.message().contains(why), "{line:?}: {}", err.message());
        }
        let v6 = jar();
        assert_eq!(
            v6.load_netscape("[::1]\tFALSE\t/\tFALSE\t0\tn\tv\n")
                .unwrap(),
            1
        );
    }
}
