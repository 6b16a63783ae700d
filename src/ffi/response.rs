//! Reading a completed response. Every pointer handed out here borrows from the handle
//! and stays valid until `httpring_handle_free` (or `httpring_client_free`).

use std::ffi::c_char;

use http::Version;

use super::client::{handle, httpring_client};
use super::code::httpring_code::{self, *};
use super::handle::{httpring_handle, with_client};
use super::ptr::{c_str, need, put, slice};
use super::sized::{struct_size, write_at};
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
/// the handle and are valid until it is freed; `body` is not NUL-terminated. Set
/// `struct_size` first (`HTTPRING_STRUCT_INIT`).
#[repr(C)]
#[derive(Copy, Clone)]
pub struct httpring_response {
    /// `sizeof(httpring_response)` as the caller was compiled (see docs/ABI.md).
    pub struct_size: u32,
    pub status: u16,
    pub version: httpring_http_version,
    pub body: *const u8,
    pub body_len: usize,
    /// Header lines (a name with two values counts twice).
    pub header_count: usize,
    /// The URL that produced the response (after redirects), not NUL-terminated; with the
    /// fragment the request had (never sent), or the one a redirect's Location gave.
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

/// One handle's outcome, filled by `httpring_handles_read` (or `_read_pieces`): `httpring_response`'s fields
/// side by side with the code and the raw header block (not an embedded
/// `httpring_response`, so each of the two structs can grow on its own). Set element 0's
/// `struct_size` (it is the array's stride).
#[repr(C)]
#[derive(Copy, Clone)]
pub struct httpring_result {
    /// `sizeof(httpring_result)` as the caller was compiled (see docs/ABI.md).
    pub struct_size: u32,
    /// `HTTPRING_OK` (a response arrived: the fields below are set), `HTTPRING_PENDING`, the
    /// request's error code, or a handle error (`HTTPRING_ERR_INVALID_HANDLE`, ...). The
    /// fields below are zero unless it is `HTTPRING_OK`.
    pub code: httpring_code,
    /// As in `httpring_response`.
    pub status: u16,
    pub version: httpring_http_version,
    pub body: *const u8,
    pub body_len: usize,
    pub header_count: usize,
    pub url: *const u8,
    pub url_len: usize,
    pub elapsed_us: u64,
    /// The header block of `httpring_response_headers_raw`.
    pub headers: *const u8,
    pub headers_len: usize,
    /// Version 2 (0.2): the body's bytes as received, before any content decoding (what
    /// `httpring_info.bytes_received` reports: httpx's `num_bytes_downloaded`).
    pub bytes_received: u64,
    /// Version 3 (0.3): the reason phrase the server sent (HTTP/1.x), only when it is not
    /// the standard one for `status`: NULL and 0 otherwise (`httpring_response_reason`
    /// gives either).
    pub reason: *const u8,
    pub reason_len: usize,
    /// Version 6 (0.6): set by `httpring_handles_read_pieces` only, for a body that is
    /// held in more than one piece: its `body_piece_count` pieces, in order, in the
    /// caller's array (`body` is NULL then; `body_len` is their total). NULL and 0 otherwise.
    pub body_pieces: *const httpring_piece,
    pub body_piece_count: usize,
}

/// One piece of a body (`httpring_handles_read_pieces`): `len` bytes at `data`, borrowed
/// from the handle until it is freed. Frozen: never grows.
#[repr(C)]
#[derive(Copy, Clone)]
pub struct httpring_piece {
    pub data: *const u8,
    pub len: usize,
}

super::sized::caller_sized_v1!(httpring_response);

/// `sizeof(httpring_result)` of version 6, which added `body_pieces` and
/// `body_piece_count`: what `httpring_handles_read_pieces` needs to say where pieces are.
const RESULT_V6: usize =
    std::mem::offset_of!(httpring_result, body_piece_count) + std::mem::size_of::<usize>();

// SAFETY: repr(C), `struct_size: u32` first; version 1 ended after `headers_len`, version
// 2 after `bytes_received`, version 3 after `reason_len`, version 6 after `body_piece_count`.
unsafe impl super::sized::CallerSized for httpring_result {
    const SIZES: &'static [usize] = &[80, 88, 104, RESULT_V6];
}

/// For Rust callers: zeroed, with `struct_size` set.
impl Default for httpring_response {
    fn default() -> Self {
        httpring_response {
            struct_size: std::mem::size_of::<httpring_response>() as u32,
            status: 0,
            version: httpring_http_version::HTTPRING_HTTP_UNKNOWN,
            body: std::ptr::null(),
            body_len: 0,
            header_count: 0,
            url: std::ptr::null(),
            url_len: 0,
            elapsed_us: 0,
        }
    }
}

/// For Rust callers: zeroed, with `struct_size` set.
impl Default for httpring_result {
    fn default() -> Self {
        httpring_result {
            struct_size: std::mem::size_of::<httpring_result>() as u32,
            code: HTTPRING_OK,
            status: 0,
            version: httpring_http_version::HTTPRING_HTTP_UNKNOWN,
            body: std::ptr::null(),
            body_len: 0,
            header_count: 0,
            url: std::ptr::null(),
            url_len: 0,
            elapsed_us: 0,
            headers: std::ptr::null(),
            headers_len: 0,
            bytes_received: 0,
            reason: std::ptr::null(),
            reason_len: 0,
            body_pieces: std::ptr::null(),
            body_piece_count: 0,
        }
    }
}

fn version_to_c(v: Version) -> httpring_http_version {
    match v {
        Version::HTTP_10 => httpring_http_version::HTTPRING_HTTP_1_0,
        Version::HTTP_11 => httpring_http_version::HTTPRING_HTTP_1_1,
        Version::HTTP_2 => httpring_http_version::HTTPRING_HTTP_2,
        Version::HTTP_3 => httpring_http_version::HTTPRING_HTTP_3,
        _ => httpring_http_version::HTTPRING_HTTP_UNKNOWN,
    }
}

fn summary(r: &Response) -> httpring_response {
    httpring_response {
        struct_size: 0,
        status: r.status(),
        version: version_to_c(r.version()),
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
/// freed. Returns `HTTPRING_OK` unless the arguments themselves are bad (among them
/// `out[0].struct_size`, the stride of `out`, when missing or too small: then nothing is
/// written).
///
/// # Safety
/// `handles` is valid for `n` items and `out` for `n` writes of `out[0].struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn httpring_handles_read(
    client: *const httpring_client,
    handles: *const httpring_handle,
    n: usize,
    out: *mut httpring_result,
) -> httpring_code {
    unsafe { httpring_handles_read_pieces(client, handles, n, out, std::ptr::null_mut(), 0) }
}

/// `httpring_handles_read`, giving a body held in several pieces (as it was read, kept so
/// by `httpring_config_set_body_pieces`) as those pieces instead of joining them into one
/// buffer: for a caller that copies each body out anyway (a binding building its own string
/// object), which then copies it once instead of twice. Such a body's pieces go to the
/// caller's array `pieces` (room for `cap`), one body after another; its `out[i].body` is
/// NULL and `out[i].body_pieces` points at them (see `httpring_result`). A body whose
/// pieces no longer fit in `pieces` is joined and given in `body` as by
/// `httpring_handles_read`. With `cap` > 0, `out[0].struct_size` must include version 6's
/// fields (`HTTPRING_ERR_INVALID_ARGUMENT` otherwise).
///
/// # Safety
/// As `httpring_handles_read`, and `pieces` is valid for `cap` writes (NULL when `cap` is 0)
/// and overlaps neither `handles` nor `out`.
#[no_mangle]
pub unsafe extern "C" fn httpring_handles_read_pieces(
    client: *const httpring_client,
    handles: *const httpring_handle,
    n: usize,
    out: *mut httpring_result,
    pieces: *mut httpring_piece,
    cap: usize,
) -> httpring_code {
    with_client(client, |c: &Client| {
        let handles = unsafe { slice(handles, n)? };
        let size = if n > 0 {
            unsafe { struct_size(out, n)? }
        } else {
            0
        };
        // Written one piece at a time through the pointer (the caller's array may be
        // uninitialized, so no slice of it is made): `used` of `cap` so far.
        let most = isize::MAX as usize / std::mem::size_of::<httpring_piece>();
        if cap > 0 && (pieces.is_null() || cap > most) {
            return Err(HTTPRING_ERR_INVALID_ARGUMENT);
        }
        let mut used = 0;
        if cap > 0 && n > 0 && size < RESULT_V6 {
            return Err(HTTPRING_ERR_INVALID_ARGUMENT);
        }
        for (i, &h) in handles.iter().enumerate() {
            let mut item = httpring_result::default();
            match c.exchange(handle(h)) {
                // The item's code only: this call succeeds, so the thread's last error
                // message stays as it was.
                Err(e) => item.code = (&e).into(),
                Ok(ex) => match ex.outcome() {
                    None => item.code = HTTPRING_PENDING,
                    Some(Err(e)) => item.code = e.into(),
                    Some(Ok(r)) => {
                        let block = r.header_block();
                        item.status = r.status();
                        item.version = version_to_c(r.version());
                        let count = r.body_piece_count();
                        if count > 1 && count <= cap - used {
                            // SAFETY: used + count <= cap, and the caller gave room for cap.
                            let mine = unsafe { pieces.add(used) };
                            for (k, p) in r.body_pieces().enumerate() {
                                let piece = httpring_piece {
                                    data: p.as_ptr(),
                                    len: p.len(),
                                };
                                unsafe { mine.add(k).write(piece) };
                                item.body_len += p.len();
                            }
                            item.body_pieces = mine.cast_const();
                            item.body_piece_count = count;
                            used += count;
                        } else {
                            item.body = r.body().as_ptr();
                            item.body_len = r.body().len();
                        }
                        item.header_count = r.header_count();
                        item.url = r.url().as_ptr();
                        item.url_len = r.url().len();
                        item.elapsed_us = r.elapsed().as_micros() as u64;
                        item.headers = block.as_ptr();
                        item.headers_len = block.len();
                        item.bytes_received = ex.progress().0;
                        if let Some(reason) = r.custom_reason() {
                            item.reason = reason.as_ptr();
                            item.reason_len = reason.len();
                        }
                    }
                },
            }
            // SAFETY: i < n and the caller gave room for n structs of `size` bytes.
            unsafe { write_at(out, i, size, item) };
        }
        Ok(HTTPRING_OK)
    })
}

/// Fills `*out` for a completed request. Returns `HTTPRING_PENDING` if it is still running
/// and the request's error code if it failed (then `*out` is untouched).
/// `out->struct_size` must be set: a missing or too small one is
/// `HTTPRING_ERR_INVALID_ARGUMENT` (checked first; nothing written).
///
/// # Safety
/// `out` is valid for a write of `out->struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn httpring_handle_response(
    client: *const httpring_client,
    h: httpring_handle,
    out: *mut httpring_response,
) -> httpring_code {
    with_client(client, |c: &Client| {
        let size = unsafe { struct_size(out, 1)? };
        let ex = c.exchange(handle(h))?;
        match ex.outcome() {
            None => Err(HTTPRING_PENDING),
            Some(Err(e)) => Err(e.into()),
            Some(Ok(r)) => {
                unsafe { write_at(out, 0, size, summary(r)) };
                Ok(HTTPRING_OK)
            }
        }
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

/// The reason phrase: the server's own (HTTP/1.x) when it sent another than the standard
/// one for the status, else the standard one (empty for a code with none; HTTP/2 sends
/// none). `*reason` (not NUL-terminated) and `*len`, borrowed until the handle is freed.
///
/// # Safety
/// `reason` and `len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn httpring_response_reason(
    client: *const httpring_client,
    h: httpring_handle,
    reason: *mut *const u8,
    len: *mut usize,
) -> httpring_code {
    with_response(client, h, |r| {
        let (reason, len) = (need(reason)?, need(len)?);
        unsafe {
            put(reason, r.reason().as_ptr());
            put(len, r.reason().len());
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
    with_response(client, h, |r| unsafe {
        lookup(name, value, value_len, |name| r.header(name, nth))
    })
}

/// Looks a field up by the NUL-terminated `name` and hands out a borrowed pointer to its
/// value; `HTTPRING_ERR_NOT_FOUND` when `find` finds none.
///
/// # Safety
/// `name` is NUL-terminated; `value` and `value_len` are NULL or valid for writes.
pub(super) unsafe fn lookup<'a>(
    name: *const c_char,
    value: *mut *const u8,
    value_len: *mut usize,
    find: impl FnOnce(&[u8]) -> Option<&'a [u8]>,
) -> Result<httpring_code, httpring_code> {
    let name = unsafe { c_str(name)? };
    let (value, value_len) = (need(value)?, need(value_len)?);
    let v = find(name).ok_or(HTTPRING_ERR_NOT_FOUND)?;
    unsafe {
        put(value, v.as_ptr());
        put(value_len, v.len());
    }
    Ok(HTTPRING_OK)
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
