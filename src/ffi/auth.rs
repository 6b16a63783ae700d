//! Credentials for a client's requests or one request: Basic, Bearer, Digest; and their
//! values for a caller that sends requests itself.
//!
//! Whatever their source, credentials go to the request's origin only: when a redirect
//! leaves it, `Authorization` is not sent (see `httpring_config_set_follow_redirects`).

use std::ffi::c_char;

use super::client::httpring_client;
use super::code::httpring_code::{self, *};
use super::config::{self, httpring_config};
use super::handle::with_client;
use super::ptr::{bytes, c_str, copy_out, guard_code};
use super::request::{self, httpring_request};
use crate::Auth;

/// Builds an `Auth` from C strings; a NULL `first` means "none".
///
/// # Safety
/// Each pointer is NULL or a NUL-terminated string.
unsafe fn auth_of(
    build: fn(&[u8], &[u8]) -> crate::Result<Auth>,
    first: *const c_char,
    second: *const c_char,
) -> Result<Option<Auth>, crate::Error> {
    if first.is_null() {
        return Ok(None);
    }
    let invalid = |_| crate::Error::new(crate::ErrorKind::InvalidArgument, "NULL credential");
    let a = unsafe { c_str(first) }.map_err(invalid)?;
    let b = if second.is_null() {
        &[][..]
    } else {
        unsafe { c_str(second) }.map_err(invalid)?
    };
    build(a, b).map(Some)
}

fn bearer(token: &[u8], _: &[u8]) -> crate::Result<Auth> {
    Auth::bearer(token)
}

/// # Safety
/// As the callers'.
unsafe fn set_config(
    cfg: *mut httpring_config,
    build: fn(&[u8], &[u8]) -> crate::Result<Auth>,
    first: *const c_char,
    second: *const c_char,
) -> httpring_code {
    config::with(cfg, |c| {
        c.auth = unsafe { auth_of(build, first, second) }.map_err(httpring_code::from)?;
        Ok(())
    })
}

/// # Safety
/// As the callers'.
unsafe fn set_request(
    req: *mut httpring_request,
    build: fn(&[u8], &[u8]) -> crate::Result<Auth>,
    first: *const c_char,
    second: *const c_char,
) -> httpring_code {
    request::with(req, |r| match unsafe { auth_of(build, first, second) } {
        Ok(Some(a)) => {
            r.set_auth(a);
            Ok(())
        }
        // NULL: nothing to override with.
        Ok(None) => Err(HTTPRING_ERR_INVALID_ARGUMENT),
        Err(e) => {
            let code = httpring_code::from(&e);
            r.poison(e);
            Err(code)
        }
    })
}

/// HTTP Basic auth (RFC 7617) on every request of the client: `Authorization: Basic
/// base64(user:password)`. A request's own `Authorization` header, its auth or user info in
/// its URL wins. `user` NULL removes the client's credentials; `password` NULL is empty. A
/// `user` with `:` is `HTTPRING_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `cfg` is NULL or a live config not used by another thread during the call; `user` and
/// `password` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_basic_auth(
    cfg: *mut httpring_config,
    user: *const c_char,
    password: *const c_char,
) -> httpring_code {
    unsafe { set_config(cfg, Auth::basic, user, password) }
}

/// `Authorization: Bearer TOKEN` (RFC 6750) on every request of the client. NULL removes the
/// client's credentials; a token with CR, LF or another control byte is
/// `HTTPRING_ERR_INVALID_HEADER`.
///
/// # Safety
/// `cfg` is NULL or a live config not used by another thread during the call; `token` is
/// NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_bearer_auth(
    cfg: *mut httpring_config,
    token: *const c_char,
) -> httpring_code {
    unsafe { set_config(cfg, bearer, token, std::ptr::null()) }
}

/// HTTP Digest auth (RFC 7616: MD5 or SHA-256, with `qop=auth` or without): requests go out
/// without credentials; a `401` carrying a Digest challenge is answered once, on the same
/// connection when it stays open, and the second answer is the result (unless it calls the
/// nonce stale: then it is answered once more, as curl does). `user` NULL removes
/// the client's credentials. Credentials must be UTF-8.
///
/// # Safety
/// `cfg` is NULL or a live config not used by another thread during the call; `user` and
/// `password` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_digest_auth(
    cfg: *mut httpring_config,
    user: *const c_char,
    password: *const c_char,
) -> httpring_code {
    unsafe { set_config(cfg, Auth::digest, user, password) }
}

/// Reads a `.netrc` file (curl's `--netrc-optional` / `CURLOPT_NETRC_FILE`): a request with
/// no credentials of its own (no `Authorization`, auth, or URL user info) and none from the
/// client gets Basic auth from the entry for its host, else from the file's `default`. Each
/// redirect hop to another host gets that host's entry, never the last one's.
/// `httpring_request_set_no_client_auth` leaves it out, as the client's credentials. `path`
/// NULL reads the file the `NETRC` environment variable names, else `~/.netrc` (neither:
/// no entries); `""` turns it off (the default). Read now: a file that cannot be read or
/// parsed fails with `HTTPRING_ERR_INVALID_ARGUMENT` saying why.
///
/// # Safety
/// `cfg` is NULL or a live config not used by another thread during the call; `path` is
/// NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_netrc(
    cfg: *mut httpring_config,
    path: *const c_char,
) -> httpring_code {
    config::with(cfg, |c| {
        let path = if path.is_null() {
            None
        } else {
            use std::os::unix::ffi::OsStrExt;
            let bytes = unsafe { c_str(path)? };
            if bytes.is_empty() {
                c.netrc = None;
                return Ok(());
            }
            Some(std::path::PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
        };
        c.netrc = Some(std::sync::Arc::new(crate::Netrc::load(path.as_deref())?));
        Ok(())
    })
}

/// The `Authorization` value the client's `.netrc` (`httpring_config_set_netrc`) gives a
/// request to `url` (its host's entry, else the file's `default`), as the engine sends it:
/// for a caller that sends requests itself. Copied into `buf` as `httpring_auth_basic_value`
/// copies; `*len` 0 (`buf` an empty string) when the client has no `.netrc` or no entry
/// applies. A bad URL is `HTTPRING_ERR_INVALID_URL`.
///
/// # Safety
/// `url` is NULL or a NUL-terminated string; `buf` is valid for `cap` bytes; `len` is NULL
/// or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_client_netrc_value(
    client: *const httpring_client,
    url: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> httpring_code {
    with_client(client, |c| {
        unsafe { copy_out(b"", buf, cap, len)? };
        let url =
            std::str::from_utf8(unsafe { c_str(url)? }).map_err(|_| HTTPRING_ERR_INVALID_URL)?;
        let value = c.netrc_value(url)?;
        let bytes = value.as_ref().map_or(&b""[..], |v| v.as_bytes());
        unsafe { copy_out(bytes, buf, cap, len)? };
        Ok(HTTPRING_OK)
    })
}

/// Basic auth for this request, over the client's credentials and URL user info.
///
/// # Safety
/// `req` is NULL or a live, unsubmitted request not used by another thread during the call;
/// `user` and `password` are NULL or NUL-terminated strings (`user` NULL is
/// `HTTPRING_ERR_INVALID_ARGUMENT`).
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_basic_auth(
    req: *mut httpring_request,
    user: *const c_char,
    password: *const c_char,
) -> httpring_code {
    unsafe { set_request(req, Auth::basic, user, password) }
}

/// Bearer auth for this request, over the client's credentials and URL user info.
///
/// # Safety
/// `req` is NULL or a live, unsubmitted request not used by another thread during the call;
/// `token` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_bearer_auth(
    req: *mut httpring_request,
    token: *const c_char,
) -> httpring_code {
    unsafe { set_request(req, bearer, token, std::ptr::null()) }
}

/// Sends none of the client's credentials (`httpring_config_set_*_auth`) with this request;
/// credentials set on the request itself, its own `Authorization` header and user info in its
/// URL still go. (httpx's `auth=None` on a client with auth.)
#[no_mangle]
pub extern "C" fn httpring_request_set_no_auth(req: *mut httpring_request) -> httpring_code {
    request::set(req, |r| r.set_no_client_auth())
}

/// Digest auth for this request, over the client's credentials and URL user info.
///
/// # Safety
/// `req` is NULL or a live, unsubmitted request not used by another thread during the call;
/// `user` and `password` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_digest_auth(
    req: *mut httpring_request,
    user: *const c_char,
    password: *const c_char,
) -> httpring_code {
    unsafe { set_request(req, Auth::digest, user, password) }
}

/// The `Authorization` value HTTP Basic sends with `user` and `password` (a user name with
/// `:` is `HTTPRING_ERR_INVALID_ARGUMENT`), as the engine sends it: for a caller that sends
/// requests itself (around a transport of its own). Copied into `buf` (`cap` bytes,
/// NUL-terminated, truncated to fit; call with cap 0 to size it), its full length in `*len`.
///
/// # Safety
/// `user` and `password` are NUL-terminated; `buf` is valid for `cap` bytes; `len` is NULL
/// or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_auth_basic_value(
    user: *const c_char,
    password: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> httpring_code {
    guard_code(|| {
        unsafe { copy_out(b"", buf, cap, len)? };
        let auth = Auth::basic(unsafe { c_str(user)? }, unsafe { c_str(password)? })?;
        let value = auth.header_value().unwrap_or_default();
        unsafe { copy_out(value, buf, cap, len)? };
        Ok(HTTPRING_OK)
    })
}

/// The `Authorization` value answering a Digest challenge (`challenge`: one
/// `WWW-Authenticate` value of a `401`) for a `method` request to `url` with `body`, as the
/// engine answers it (RFC 7616: MD5 or SHA-256, `qop=auth` or `auth-int`), for a caller that
/// sends requests itself. Copied into `buf` as `httpring_auth_basic_value` copies, with
/// `HTTPRING_OK`; `*len` 0 (`buf` an empty string) when the challenge is no Digest challenge these credentials can
/// answer, or, with `stale_only`, one that does not call the last nonce stale (answer a
/// second `401` only then, as the engine does).
///
/// # Safety
/// `user`, `password`, `method`, `url` and `challenge` are NUL-terminated; `body` is valid
/// for `body_len` bytes (NULL when 0); `buf` is valid for `cap` bytes; `len` is NULL or
/// valid for a write.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn httpring_auth_digest_answer(
    user: *const c_char,
    password: *const c_char,
    method: *const c_char,
    url: *const c_char,
    body: *const u8,
    body_len: usize,
    challenge: *const c_char,
    stale_only: bool,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> httpring_code {
    guard_code(|| {
        unsafe { copy_out(b"", buf, cap, len)? }; // an empty string unless there is an answer
        let auth = Auth::digest(unsafe { c_str(user)? }, unsafe { c_str(password)? })?;
        let text = |p| -> Result<&str, httpring_code> {
            std::str::from_utf8(unsafe { c_str(p)? }).map_err(|_| HTTPRING_ERR_INVALID_ARGUMENT)
        };
        let body = unsafe { bytes(body, body_len)? };
        let challenge = unsafe { c_str(challenge)? };
        if let Some(v) = auth.answer(text(method)?, text(url)?, body, challenge, stale_only)? {
            unsafe { copy_out(&v, buf, cap, len)? };
        }
        Ok(HTTPRING_OK)
    })
}
