//! `httpring_request`: a request builder for callers that set more than the one-call
//! `httpring_client_send` offers.

use std::ffi::c_char;

use super::code::code_name;
use super::code::httpring_code::{self, *};
use super::objects::Objects;
use super::ptr::{bytes, c_str, guard, guard_code};
use crate::{millis, Error, ErrorKind, Request};

/// A request being built. Setters validate at once and return the error; a request with a
/// failed setter also fails at submit, so an ignored error cannot send a wrong request.
/// Consumed by `httpring_client_submit`; otherwise free it with `httpring_request_free`.
/// Not thread-safe: build it on one thread.
pub struct httpring_request {
    pub(crate) inner: Request,
}

/// Live (unsubmitted) requests (see `objects`).
pub(super) static REQUESTS: Objects<httpring_request> = Objects::new();

/// Starts a request. Returns NULL only when `method` or `url` is NULL. An invalid method or
/// URL (not UTF-8, no host, unsupported scheme) is reported by `httpring_client_submit`.
///
/// # Safety
/// `method` and `url` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_new(
    method: *const c_char,
    url: *const c_char,
) -> *mut httpring_request {
    guard(std::ptr::null_mut(), || {
        match unsafe { (c_str(method), c_str(url)) } {
            (Ok(m), Ok(u)) => REQUESTS.insert(httpring_request {
                inner: Request::new(m, u),
            }),
            _ => std::ptr::null_mut(),
        }
    })
}

/// Frees a request that was not submitted. NULL, and a request already freed or
/// submitted, are ignored.
#[no_mangle]
pub extern "C" fn httpring_request_free(req: *mut httpring_request) {
    guard((), || drop(REQUESTS.take(req)));
}

/// Runs a setter on a live request. A setter that fails, whatever for (a NULL argument, a
/// value out of range, a value that does not validate), leaves the request failed: its
/// submit returns the first such error rather than sending a request without that setting.
pub(super) fn with(
    req: *mut httpring_request,
    f: impl FnOnce(&mut Request) -> Result<(), httpring_code>,
) -> httpring_code {
    guard_code(|| {
        REQUESTS
            .with(req, |r| {
                let done = f(&mut r.inner);
                if let Err(code) = done {
                    if r.inner.error().is_none() {
                        r.inner.poison(Error::new(
                            setter_kind(code),
                            format!(
                                "an earlier setter on this request failed ({}), so it is not sent",
                                code_name(code)
                            ),
                        ));
                    }
                }
                done
            })?
            .map(|()| HTTPRING_OK)
    })
}

/// The kind a failed setter's code stands for (most are a bad argument).
fn setter_kind(code: httpring_code) -> ErrorKind {
    match code {
        HTTPRING_ERR_INVALID_HEADER => ErrorKind::InvalidHeader,
        HTTPRING_ERR_INVALID_URL => ErrorKind::InvalidUrl,
        HTTPRING_ERR_INVALID_METHOD => ErrorKind::InvalidMethod,
        HTTPRING_ERR_BODY_SOURCE => ErrorKind::BodySource,
        _ => ErrorKind::InvalidArgument,
    }
}

/// `with` for setters that cannot fail.
pub(super) fn set(req: *mut httpring_request, f: impl FnOnce(&mut Request)) -> httpring_code {
    with(req, |x| {
        f(x);
        Ok(())
    })
}

/// Appends a header (repeat a name to send several values). Returns
/// `HTTPRING_ERR_INVALID_HEADER` for a name that is not a token or a value with CR, LF or NUL.
///
/// # Safety
/// `name` and `value` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_add_header(
    req: *mut httpring_request,
    name: *const c_char,
    value: *const c_char,
) -> httpring_code {
    with(req, |r| {
        let (n, v) = unsafe { (c_str(name)?, c_str(value)?) };
        r.add_header(n, v).map_err(Into::into)
    })
}

/// Like `httpring_request_add_header` with explicit lengths (so an embedded NUL is seen,
/// and rejected, rather than silently truncating).
///
/// # Safety
/// `name`/`value` are valid for `name_len`/`value_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_add_header_bytes(
    req: *mut httpring_request,
    name: *const u8,
    name_len: usize,
    value: *const u8,
    value_len: usize,
) -> httpring_code {
    with(req, |r| {
        let (n, v) = unsafe { (bytes(name, name_len)?, bytes(value, value_len)?) };
        r.add_header(n, v).map_err(Into::into)
    })
}

/// Leaves the client's default header `name` (case-insensitive; all its values) out of this
/// request. `HTTPRING_ERR_INVALID_HEADER` for a name that is not a token. (A header the
/// request sets itself replaces a default of that name anyway.)
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_remove_default_header(
    req: *mut httpring_request,
    name: *const c_char,
) -> httpring_code {
    with(req, |r| {
        let name = unsafe { c_str(name) }?;
        r.withhold_default_header(name).map_err(|e| e.into())
    })
}

/// Sets the body (copied). `data` may be NULL when `len` is 0.
///
/// # Safety
/// `data` is valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_body(
    req: *mut httpring_request,
    data: *const u8,
    len: usize,
) -> httpring_code {
    with(req, |r| {
        r.set_body(unsafe { bytes(data, len)? }.to_vec());
        Ok(())
    })
}

/// A caller-chosen token reported back with the completion.
///
/// # Safety
/// `req` is NULL or a live, unsubmitted request from `httpring_request_new`, not used by
/// another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_user_data(
    req: *mut httpring_request,
    user_data: u64,
) -> httpring_code {
    set(req, |r| r.set_user_data(user_data))
}

/// Overrides the client's total timeout for this request, in ms; 0 disables it.
///
/// # Safety
/// `req` is NULL or a live, unsubmitted request from `httpring_request_new`, not used by
/// another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_timeout_ms(
    req: *mut httpring_request,
    ms: u64,
) -> httpring_code {
    set(req, |r| r.timeouts_mut().total = Some(millis(ms)))
}

/// Overrides the client's connect timeout for this request, in ms; 0 disables it.
///
/// # Safety
/// `req` is NULL or a live, unsubmitted request from `httpring_request_new`, not used by
/// another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_connect_timeout_ms(
    req: *mut httpring_request,
    ms: u64,
) -> httpring_code {
    set(req, |r| r.timeouts_mut().connect = Some(millis(ms)))
}

/// Overrides the client's read (idle) timeout for this request, in ms; 0 disables it.
///
/// # Safety
/// `req` is NULL or a live, unsubmitted request from `httpring_request_new`, not used by
/// another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_read_timeout_ms(
    req: *mut httpring_request,
    ms: u64,
) -> httpring_code {
    set(req, |r| r.timeouts_mut().read = Some(millis(ms)))
}

/// Overrides the client's low-speed limit (`httpring_config_set_low_speed`) for this
/// request: it fails with `HTTPRING_ERR_READ_TIMEOUT` when its response body's bytes arrive
/// at under `bytes_per_sec` on average over `time_ms` of waiting, or the server is silent
/// for `time_ms` while its head is awaited; with `HTTPRING_ERR_WRITE_TIMEOUT` when the
/// server takes its body slower. 0 for either turns the limit off for this request,
/// whatever the client's.
///
/// # Safety
/// `req` is NULL or a live, unsubmitted request from `httpring_request_new`, not used by
/// another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_low_speed(
    req: *mut httpring_request,
    bytes_per_sec: u64,
    time_ms: u64,
) -> httpring_code {
    set(req, |r| {
        r.speeds_mut().low_speed = Some(crate::LowSpeed::from_ms(bytes_per_sec, time_ms))
    })
}

/// Overrides the client's receive-rate cap (`httpring_config_set_max_recv_speed`) for this
/// request, as curl's `CURLOPT_MAX_RECV_SPEED_LARGE` is set per transfer: its response body
/// is read at no more than `bytes_per_sec` on average. 0 lifts the client's cap for this
/// request.
///
/// # Safety
/// `req` is NULL or a live, unsubmitted request from `httpring_request_new`, not used by
/// another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_max_recv_speed(
    req: *mut httpring_request,
    bytes_per_sec: u64,
) -> httpring_code {
    set(req, |r| {
        r.speeds_mut().max_recv = Some((bytes_per_sec > 0).then_some(bytes_per_sec))
    })
}

/// Overrides the client's send-rate cap (`httpring_config_set_max_send_speed`) for this
/// request, as curl's `CURLOPT_MAX_SEND_SPEED_LARGE` is set per transfer: its body is sent
/// at no more than `bytes_per_sec` on average. 0 lifts the client's cap for this request.
///
/// # Safety
/// `req` is NULL or a live, unsubmitted request from `httpring_request_new`, not used by
/// another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_max_send_speed(
    req: *mut httpring_request,
    bytes_per_sec: u64,
) -> httpring_code {
    set(req, |r| {
        r.speeds_mut().max_send = Some((bytes_per_sec > 0).then_some(bytes_per_sec))
    })
}
