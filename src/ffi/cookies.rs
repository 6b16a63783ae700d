//! The cookie jar: on per client, and calls to add, list, clear, load and save cookies in
//! the Netscape cookie-file format curl uses.

use std::ffi::c_char;

use super::client::httpring_client;
use super::code::httpring_code::{self, *};
use super::config::{self, httpring_config};
use super::handle::with_client;
use super::ptr::{c_str, copy_out, put};

/// Keep a cookie jar (off by default, as in libcurl). Cookies responses set are stored by
/// RFC 6265's rules, done by the `cookie_store` crate: domain and path matching, `Secure`,
/// `HttpOnly`, expiry, and public suffixes (from the system's list,
/// /usr/share/publicsuffix; without it a one-label `Domain` such as `com` is refused), and
/// RFC 6265bis's: `Secure` only from https (which a plain-http response cannot replace either),
/// the `__Secure-` and `__Host-` prefixes, 4096 bytes of name and value, 50 cookies a response
/// and 180 a domain. They are sent back on every request they match, redirect hops included,
/// after the request's own `Cookie` header if it has one, up to 150 cookies in 8190 bytes.
///
/// # Safety
/// `cfg` is NULL or a live config not used by another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_cookie_jar(
    cfg: *mut httpring_config,
    on: bool,
) -> httpring_code {
    config::set(cfg, |c| c.cookies = on)
}

fn text<'a>(p: *const c_char) -> Result<&'a str, httpring_code> {
    // SAFETY: the callers' contracts: NULL or a NUL-terminated string.
    let bytes = unsafe { c_str(p)? };
    std::str::from_utf8(bytes).map_err(|_| HTTPRING_ERR_INVALID_ARGUMENT)
}

/// Adds a cookie as if `url` had answered with `Set-Cookie: set_cookie` (e.g.
/// `"sid=abc; Path=/; Secure"` with an https URL). `HTTPRING_ERR_INVALID_ARGUMENT` for a
/// client without a jar, or a cookie the rules refuse (the URL's host cannot set that
/// `Domain`, `Secure` from a URL that is not https, a name prefix's terms unmet, a size or
/// count cap; `httpring_last_error_message` says which); `HTTPRING_ERR_INVALID_URL` for a bad URL.
///
/// # Safety
/// `url` and `set_cookie` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn httpring_client_cookie_add(
    client: *const httpring_client,
    url: *const c_char,
    set_cookie: *const c_char,
) -> httpring_code {
    with_client(client, |c| {
        c.cookie_add(text(url)?, text(set_cookie)?)?;
        Ok(HTTPRING_OK)
    })
}

/// Empties the jar.
#[no_mangle]
pub extern "C" fn httpring_client_cookies_clear(client: *const httpring_client) -> httpring_code {
    with_client(client, |c| {
        c.cookies_clear()?;
        Ok(HTTPRING_OK)
    })
}

/// Copies the jar's unexpired cookies as a Netscape cookie file (the text curl's `-c`
/// writes: one line per cookie, tab-separated domain, subdomains, path, secure, expiry (0 for
/// a session cookie), name, value; `#HttpOnly_` before the domain of HttpOnly cookies),
/// NUL-terminated and truncated to fit, into `buf` (`cap` bytes; may be NULL with cap 0), and
/// stores the full length (without NUL) in `*len`: call with cap 0 to size the buffer.
///
/// # Safety
/// `buf` is valid for `cap` bytes; `len` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_client_cookies_export(
    client: *const httpring_client,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> httpring_code {
    with_client(client, |c| {
        let out = c.cookies_netscape()?;
        unsafe { copy_out(out.as_bytes(), buf, cap, len)? };
        Ok(HTTPRING_OK)
    })
}

/// Adds the cookies of a Netscape cookie file's text (curl's `-b` format; comments, blank
/// lines and expired cookies skipped) and stores how many were added in `*count`. A
/// malformed line is `HTTPRING_ERR_INVALID_ARGUMENT` (the cookies before it are kept).
///
/// # Safety
/// `text` is NULL or a NUL-terminated string; `count` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_client_cookies_import(
    client: *const httpring_client,
    text_: *const c_char,
    count: *mut usize,
) -> httpring_code {
    with_client(client, |c| {
        let n = c.cookies_load_netscape(text(text_)?)?;
        unsafe { put(count, n) };
        Ok(HTTPRING_OK)
    })
}

/// `httpring_client_cookies_import` from a file (curl's `--cookie FILE`).
/// `HTTPRING_ERR_NOT_FOUND` when the file cannot be read.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `count` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_client_cookies_load(
    client: *const httpring_client,
    path: *const c_char,
    count: *mut usize,
) -> httpring_code {
    with_client(client, |c| {
        let body = std::fs::read_to_string(text(path)?).map_err(|_| HTTPRING_ERR_NOT_FOUND)?;
        let n = c.cookies_load_netscape(&body)?;
        unsafe { put(count, n) };
        Ok(HTTPRING_OK)
    })
}

/// Writes the jar to a file in the Netscape format (curl's `--cookie-jar FILE`), replacing
/// it. `HTTPRING_ERR_IO` when the file cannot be written.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn httpring_client_cookies_save(
    client: *const httpring_client,
    path: *const c_char,
) -> httpring_code {
    with_client(client, |c| {
        let out = c.cookies_netscape()?;
        std::fs::write(text(path)?, out).map_err(|_| HTTPRING_ERR_IO)?;
        Ok(HTTPRING_OK)
    })
}
