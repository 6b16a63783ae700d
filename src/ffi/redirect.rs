//! Redirects: the client's policy, a request's override, the chain a response came through,
//! and the next hop for a caller that follows redirects itself.

use std::ffi::c_char;

use super::client::httpring_client;
use super::code::httpring_code::{self, *};
use super::config::{self, httpring_config};
use super::handle::httpring_handle;
use super::ptr::{c_str, copy_out, guard_code, need, put};
use super::request::{self, httpring_request};
use super::response::with_response;
use crate::Redirect;

/// Follow redirects (301, 302, 303, 307, 308 with a `Location`) inside the engine. Off by
/// default: the redirect response itself is the result. When on, up to
/// `httpring_config_set_max_redirects` are followed within the request's total timeout;
/// 301/302 turn a POST into a GET and 303 any method but HEAD (the body and its headers
/// dropped), 307/308 keep method and body. When the origin (scheme, host, port) changes,
/// `Authorization`, `Cookie` and `Proxy-Authorization` (and a caller-set `Host`, when the
/// host name changes) are not sent, whether they came
/// from the request or from the client's default headers. A chain may come back to a URL it
/// requested (a login page that sets a cookie); one past the limit fails with
/// `HTTPRING_ERR_TOO_MANY_REDIRECTS`.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_follow_redirects(
    cfg: *mut httpring_config,
    follow: bool,
) -> httpring_code {
    config::set(cfg, |c| c.redirects.follow = follow)
}

/// The most redirects followed for one request (default 10); 0 makes any redirect fail
/// with `HTTPRING_ERR_TOO_MANY_REDIRECTS` when following is on.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_max_redirects(
    cfg: *mut httpring_config,
    max: u32,
) -> httpring_code {
    config::set(cfg, |c| c.redirects.max = max)
}

/// Allow a redirect from `https://` to `http://`. Refused by default with
/// `HTTPRING_ERR_INSECURE_REDIRECT`: it would send the next request in clear text.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_redirect_allow_insecure(
    cfg: *mut httpring_config,
    allow: bool,
) -> httpring_code {
    config::set(cfg, |c| c.redirects.allow_insecure = allow)
}

/// Adds an origin where a followed redirect chain stops: when the next URL of a chain
/// matches `pattern`, the redirect response is the request's result (for a caller that
/// sends such hops elsewhere itself). The redirect is checked first as any other: one past
/// `httpring_config_set_max_redirects`, https to http or a bad `Location` fails the request
/// all the same. Patterns are
/// written as httpx's `mounts=` keys: `all://` (any origin), `https://`,
/// `all://example.com`, `http://example.com:8080`; a host `*.example.com` means its
/// subdomains, `*example.com` the domain and its subdomains; a port that is the scheme's
/// default, or none, matches any port. Rules are checked in the order added and
/// the first match decides: `stop` false follows (an exception inside a broader rule
/// added after it). No match: followed. A malformed pattern is
/// `HTTPRING_ERR_INVALID_ARGUMENT` with a message, and nothing is added.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call; `pattern` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_add_redirect_stop(
    cfg: *mut httpring_config,
    pattern: *const c_char,
    stop: bool,
) -> httpring_code {
    config::with(cfg, |c| {
        let pattern = std::str::from_utf8(unsafe { c_str(pattern)? })
            .map_err(|_| HTTPRING_ERR_INVALID_ARGUMENT)?;
        let pattern = crate::OriginPattern::parse(pattern)?;
        c.redirect_stops.push(crate::RedirectStop { pattern, stop });
        Ok(())
    })
}

/// Overrides the client's `httpring_config_set_follow_redirects` for this request.
///
/// # Safety
/// `req` is NULL or a live, unsubmitted request from `httpring_request_new`, not used by
/// another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_follow_redirects(
    req: *mut httpring_request,
    follow: bool,
) -> httpring_code {
    request::set(req, |r| r.set_follow_redirects(follow))
}

/// Overrides the client's `httpring_config_set_max_redirects` for this request.
///
/// # Safety
/// `req` is NULL or a live, unsubmitted request from `httpring_request_new`, not used by
/// another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_max_redirects(
    req: *mut httpring_request,
    max: u32,
) -> httpring_code {
    request::set(req, |r| r.set_max_redirects(max))
}

/// How many redirects were followed to get the handle's response (0 when none were).
/// The response's URL (`httpring_response.url`) is the final one.
///
/// # Safety
/// `count` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_response_redirect_count(
    client: *const httpring_client,
    h: httpring_handle,
    count: *mut usize,
) -> httpring_code {
    with_response(client, h, |r| {
        let count = need(count)?;
        unsafe { put(count, r.redirects().len()) };
        Ok(HTTPRING_OK)
    })
}

/// Redirect `index` (0 = the first) of the handle's response: the status it answered
/// with and the URL that was requested (not NUL-terminated; valid until the handle is
/// freed). `HTTPRING_ERR_NOT_FOUND` past the last one. `status`, `url` and `url_len` may
/// each be NULL.
///
/// # Safety
/// Each of `status`, `url`, `url_len` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_response_redirect(
    client: *const httpring_client,
    h: httpring_handle,
    index: usize,
    status: *mut u16,
    url: *mut *const u8,
    url_len: *mut usize,
) -> httpring_code {
    with_response(client, h, |r| {
        let hop = r.redirects().get(index).ok_or(HTTPRING_ERR_NOT_FOUND)?;
        unsafe {
            put(status, hop.status);
            put(url, hop.url.as_ptr());
            put(url_len, hop.url.len());
        }
        Ok(HTTPRING_OK)
    })
}

/// `httpring_redirect_next`: the method becomes GET (the body goes, with `Content-Type`,
/// `Content-Length`, `Content-Encoding` and `Transfer-Encoding`).
pub const HTTPRING_REDIRECT_TO_GET: u32 = 1;
/// `httpring_redirect_next`: another origin (scheme, host or port): `Authorization`,
/// `Cookie` and `Proxy-Authorization` stay behind, and so do the client's credentials.
pub const HTTPRING_REDIRECT_CROSS_ORIGIN: u32 = 2;
/// `httpring_redirect_next`: another host name: a `Host` header the caller set stays behind.
pub const HTTPRING_REDIRECT_OTHER_HOST: u32 = 4;

/// The request a redirect leads to, by the rules the engine follows redirects with, for a
/// caller that follows them itself (around a transport of its own, or hop by hop): a
/// `status` response with `location` (NULL: none) to a `method` request for `url`.
/// - Not a redirect (not 301, 302, 303, 307 or 308, or no `Location`): `HTTPRING_OK`,
///   `*len` 0 (`buf` an empty string), `*flags` 0.
/// - A redirect: `HTTPRING_OK`, the next URL copied into `buf` (`cap` bytes, NUL-terminated,
///   truncated to fit; call with cap 0 to size it) and its full length in `*len`, with
///   the `Location`'s fragment if it has one (with none, keep the current one); `*flags`
///   are `HTTPRING_REDIRECT_*`: what of the request goes along.
/// - A `Location` in a scheme the engine does not send (an app's `myapp://callback`) is
///   given all the same (`HTTPRING_REDIRECT_CROSS_ORIGIN`): the caller uses or refuses it.
/// - `HTTPRING_ERR_PROTOCOL` for a `Location` that is no URL,
///   `HTTPRING_ERR_INSECURE_REDIRECT` for https to plain http unless `allow_insecure`,
///   `HTTPRING_ERR_INVALID_URL` / `_INVALID_METHOD` for bad arguments
///   (`httpring_last_error_message` says more).
///
/// # Safety
/// `method` and `url` are NUL-terminated; `location` is NULL or NUL-terminated; `buf` is
/// valid for `cap` bytes; `len` and `flags` are NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_redirect_next(
    method: *const c_char,
    url: *const c_char,
    status: u16,
    location: *const c_char,
    allow_insecure: bool,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
    flags: *mut u32,
) -> httpring_code {
    guard_code(|| {
        unsafe {
            copy_out(b"", buf, cap, len)?; // an empty string until there is a URL
            put(flags, 0);
        }
        let text = |p| -> Result<&str, httpring_code> {
            std::str::from_utf8(unsafe { c_str(p)? }).map_err(|_| HTTPRING_ERR_INVALID_ARGUMENT)
        };
        let (method, url) = (text(method)?, text(url)?);
        let location = match location.is_null() {
            true => None,
            false => Some(unsafe { c_str(location)? }),
        };
        let Some(next) = Redirect::next(method, url, status, location, allow_insecure)? else {
            return Ok(HTTPRING_OK);
        };
        unsafe { copy_out(next.url.as_bytes(), buf, cap, len)? };
        let bits = [
            (next.to_get, HTTPRING_REDIRECT_TO_GET),
            (next.cross_origin, HTTPRING_REDIRECT_CROSS_ORIGIN),
            (next.other_host, HTTPRING_REDIRECT_OTHER_HOST),
        ];
        let f = bits.iter().filter(|(on, _)| *on).fold(0, |f, (_, b)| f | b);
        unsafe { put(flags, f) };
        Ok(HTTPRING_OK)
    })
}
