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
        for (name, value) in matches.iter().map(|c| c.name_value()) {
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
            .filter_map(|v| std::str::from_utf8(v.as_bytes()).ok())
            .filter_map(|s| cookie_store::RawCookie::parse(s.to_string()).ok())
            .filter(|c| self.domain_allowed(c, &url))
            .collect();
        if cookies.is_empty() {
            return;
        }
        let mut store = self.lock();
        self.used.store(true, Ordering::Relaxed);
        store.store_response_cookies(cookies.into_iter(), &url);
    }

    /// Adds one cookie as if `url` had sent `set_cookie` (a `Set-Cookie` value).
    pub(crate) fn add(&self, url: &str, set_cookie: &str) -> Result<()> {
        let url = parse_url(url)?;
        let cookie = cookie_store::RawCookie::parse(set_cookie.to_string())
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("invalid cookie: {e}")))?;
        if !self.domain_allowed(&cookie, &url) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "cookie refused: its Domain is a public suffix",
            ));
        }
        let mut store = self.lock();
        self.used.store(true, Ordering::Relaxed);
        store
            .insert_raw(&cookie, &url)
            .map(|_| ())
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("cookie refused: {e}")))
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
            let scheme = if secure { "https" } else { "http" };
            let url = parse_url(&format!("{scheme}://{written}{path}"))
                .map_err(|_| bad("domain or path does not form a URL"))?;
            // The host as a URL reads it (percent-decoded, IDNA): what the jar keeps and
            // writes back, so it must still be a host ("%2E" is ".", which is none).
            let host = url.host_str().unwrap_or("").trim_start_matches('.');
            if host.is_empty() {
                return Err(bad("the domain is not a host name"));
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
}
