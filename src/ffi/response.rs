//! Reading a completed response. Every pointer handed out here borrows from the handle
//! and stays valid until `httpring_handle_free` (or `httpring_client_free`).

use std::ffi::c_char;

use http::Version;

use super::client::{handle, httpring_client};
use super::code::httpring_code::{self, *};
use super::handle::{httpring_handle, with_client};
use super::ptr::{c_str, need, put, slice};
use crate::{Client, Response};

/// The HTTP version a response came with.
#[repr(u32)]
#[allow(non_camel_case_types)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum httpring_http_version {
    HTTPRING_HTTP_UNKNOWN = 0,
    HTTPRING_HTTP_1_0 = 10,
    HTTPRING_HTTP_1_1 = 11,
    HTTPRING_HTTP_2 = 20,
    HTTPRING_HTTP_3 = 30,
}

/// A summary of a response, filled by `httpring_handle_response`. The pointers borrow from
/// the handle and are valid until it is freed; `body` is not NUL-terminated.
#[repr(C)]
pub struct httpring_response {
    pub status: u16,
    pub version: httpring_http_version,
    pub body: *const u8,
    pub body_len: usize,
    /// Header lines (a name with two values counts twice).
    pub header_count: usize,
    /// The URL that produced the response, not NUL-terminated.
    pub url: *const u8,
    pub url_len: usize,
    /// From submit to the last body byte, in microseconds.
    pub elapsed_us: u64,
}

/// Runs `f` on a handle's response; maps pending and failed requests to their codes.
pub(super) fn with_response(
    client: *const httpring_client,
    h: httpring_handle,
    f: impl FnOnce(&Response) -> Result<httpring_code, httpring_code>,
) -> httpring_code {
    with_client(client, |c: &Client| {
        let ex = c.exchange(handle(h))?;
        match ex.outcome() {
            None => Err(HTTPRING_PENDING),
            Some(Err(e)) => Err(e.into()),
            Some(Ok(r)) => f(r),
        }
    })
}

/// One handle's outcome, filled by `httpring_handles_read`.
#[repr(C)]
pub struct httpring_result {
    /// `HTTPRING_OK` (a response arrived: the fields below are set), `HTTPRING_PENDING`, the
    /// request's error code, or a handle error (`HTTPRING_ERR_INVALID_HANDLE`, ...).
    pub code: httpring_code,
    /// As `httpring_handle_response` fills it; zeroed unless `code` is `HTTPRING_OK`.
    pub response: httpring_response,
    /// The header block of `httpring_response_headers_raw`; NULL/0 unless `code` is OK.
    pub headers: *const u8,
    pub headers_len: usize,
}

fn summary(r: &Response) -> httpring_response {
    let version = match r.version() {
        Version::HTTP_10 => httpring_http_version::HTTPRING_HTTP_1_0,
        Version::HTTP_11 => httpring_http_version::HTTPRING_HTTP_1_1,
        Version::HTTP_2 => httpring_http_version::HTTPRING_HTTP_2,
        Version::HTTP_3 => httpring_http_version::HTTPRING_HTTP_3,
        _ => httpring_http_version::HTTPRING_HTTP_UNKNOWN,
    };
    httpring_response {
        status: r.status(),
        version,
        body: r.body().as_ptr(),
        body_len: r.body().len(),
        header_count: r.header_count(),
        url: r.url().as_ptr(),
        url_len: r.url().len(),
        elapsed_us: r.elapsed().as_micros() as u64,
    }
}

/// Reads `n` handles' outcomes in one call (what `httpring_handle_response` plus
/// `httpring_response_headers_raw` give for each), for bindings that pay per call. Every
/// handle gets its own `code` in `out[i]`; the pointers borrow from that handle until it is
/// freed. Returns `HTTPRING_OK` unless the arguments themselves are bad.
///
/// # Safety
/// `handles` is valid for `n` items and `out` for `n` writes.
#[no_mangle]
pub unsafe extern "C" fn httpring_handles_read(
    client: *const httpring_client,
    handles: *const httpring_handle,
    n: usize,
    out: *mut httpring_result,
) -> httpring_code {
    with_client(client, |c: &Client| {
        let handles = unsafe { slice(handles, n)? };
        if n > 0 {
            need(out)?;
        }
        for (i, &h) in handles.iter().enumerate() {
            let mut item = httpring_result {
                code: HTTPRING_OK,
                response: httpring_response {
                    status: 0,
                    version: httpring_http_version::HTTPRING_HTTP_UNKNOWN,
                    body: std::ptr::null(),
                    body_len: 0,
                    header_count: 0,
                    url: std::ptr::null(),
                    url_len: 0,
                    elapsed_us: 0,
                },
                headers: std::ptr::null(),
                headers_len: 0,
            };
            match c.exchange(handle(h)) {
                Err(e) => item.code = e.into(),
                Ok(ex) => match ex.outcome() {
                    None => item.code = HTTPRING_PENDING,
                    Some(Err(e)) => item.code = e.into(),
                    Some(Ok(r)) => {
                        item.response = summary(r);
                        let block = r.header_block();
                        item.headers = block.as_ptr();
                        item.headers_len = block.len();
                    }
                },
            }
            // SAFETY: i < n and the caller gave room for n items.
            unsafe { out.add(i).write(item) };
        }
        Ok(HTTPRING_OK)
    })
}

/// Fills `*out` for a completed request. Returns `HTTPRING_PENDING` if it is still running
/// and the request's error code if it failed (then `*out` is untouched).
///
/// # Safety
/// `out` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_handle_response(
    client: *const httpring_client,
    h: httpring_handle,
    out: *mut httpring_response,
) -> httpring_code {
    with_response(client, h, |r| {
        let out = need(out)?;
        unsafe { put(out, summary(r)) };
        Ok(HTTPRING_OK)
    })
}

/// The body: `*data` (not NUL-terminated) and `*len`, borrowed until the handle is freed.
///
/// # Safety
/// `data` and `len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn httpring_response_body(
    client: *const httpring_client,
    h: httpring_handle,
    data: *mut *const u8,
    len: *mut usize,
) -> httpring_code {
    with_response(client, h, |r| {
        let (data, len) = (need(data)?, need(len)?);
        unsafe {
            put(data, r.body().as_ptr());
            put(len, r.body().len());
        }
        Ok(HTTPRING_OK)
    })
}

/// The `nth` (0-based) value of header `name`, matched case-insensitively. Returns
/// `HTTPRING_ERR_NOT_FOUND` when there is no such value.
///
/// # Safety
/// `name` is NUL-terminated; `value` and `value_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn httpring_response_header(
    client: *const httpring_client,
    h: httpring_handle,
    name: *const c_char,
    nth: usize,
    value: *mut *const u8,
    value_len: *mut usize,
) -> httpring_code {
    with_response(client, h, |r| {
        let name = unsafe { c_str(name)? };
        let (value, value_len) = (need(value)?, need(value_len)?);
        let v = r.header(name, nth).ok_or(HTTPRING_ERR_NOT_FOUND)?;
        unsafe {
            put(value, v.as_ptr());
            put(value_len, v.len());
        }
        Ok(HTTPRING_OK)
    })
}

/// The header line at `index` (0 ..< header_count): names are lower-case; values of a
/// repeated name are adjacent, in the order received. `HTTPRING_ERR_NOT_FOUND` past the end.
///
/// # Safety
/// All out-pointers are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn httpring_response_header_at(
    client: *const httpring_client,
    h: httpring_handle,
    index: usize,
    name: *mut *const u8,
    name_len: *mut usize,
    value: *mut *const u8,
    value_len: *mut usize,
) -> httpring_code {
    with_response(client, h, |r| {
        let (name, name_len, value, value_len) =
            (need(name)?, need(name_len)?, need(value)?, need(value_len)?);
        let (n, v) = r.header_at(index).ok_or(HTTPRING_ERR_NOT_FOUND)?;
        unsafe {
            put(name, n.as_ptr());
            put(name_len, n.len());
            put(value, v.as_ptr());
            put(value_len, v.len());
        }
        Ok(HTTPRING_OK)
    })
}

/// All headers as one block of "name: value\r\n" lines (names lower-case), for bindings
/// that parse headers in one call.
///
/// # Safety
/// `data` and `len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn httpring_response_headers_raw(
    client: *const httpring_client,
    h: httpring_handle,
    data: *mut *const u8,
    len: *mut usize,
) -> httpring_code {
    with_response(client, h, |r| {
        let (data, len) = (need(data)?, need(len)?);
        let block = r.header_block();
        unsafe {
            put(data, block.as_ptr());
            put(len, block.len());
        }
        Ok(HTTPRING_OK)
    })
}
