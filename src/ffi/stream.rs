//! Streamed response bodies: a request marked streaming completes with its head, and its
//! body is read as it arrives, with bounded buffering and backpressure on the server.

use std::ffi::c_char;

use super::client::{handle, httpring_client};
use super::code::httpring_code::{self, *};
use super::config::{self, httpring_config};
use super::handle::{httpring_handle, timeout, with_client};
use super::ptr::{need, put};
use super::request::{self, httpring_request};
use super::response::{lookup, with_response};
use super::sized::{struct_size, write_at};
use crate::{Chunk, Read};

/// Streams the response body of this request. The request then completes (poll, wait,
/// drain, callback) as soon as the response head arrives, with event `HTTPRING_EVENT_HEAD`:
/// status, version and headers are readable as usual, `httpring_response_body` is empty, and
/// the body is read with `httpring_handle_read`. After the head, and after each
/// `HTTPRING_EVENT_BODY` event, read until `httpring_handle_read` returns `HTTPRING_PENDING`:
/// the next data, the end or an error is then announced by one `HTTPRING_EVENT_BODY`
/// completion (edge-triggered, like `EPOLLET`), or wait for it with
/// `httpring_handle_wait_body`.
///
/// At most `httpring_config_set_stream_buffer` bytes wait unread; then the library stops
/// reading the body (HTTP/1.1: the socket; HTTP/2: no more flow-control window), so a
/// caller that does not read holds the server back and memory stays flat. The total timeout
/// covers the request until its head; the read timeout applies between pieces of the body
/// while the buffer has room. The body-size limit does not apply (the body is not held
/// whole). Content codings are decoded as the body arrives. `httpring_handle_cancel` or
/// `httpring_handle_free` before the end stops the body and closes its connection (never
/// reused half-read); a body read to the end returns its connection to the pool.
///
/// # Safety
/// `req` is NULL or a live, unsubmitted request from `httpring_request_new`, not used by
/// another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_stream(
    req: *mut httpring_request,
    stream: bool,
) -> httpring_code {
    request::set(req, |r| r.set_stream(stream))
}

/// Bytes of a streamed body buffered before the library stops reading it from the server
/// (default 262144, 256 KiB); at least 1. One piece from the server may take it past this
/// by up to the piece's size (for a compressed body: 32 KiB of decoded bytes, however much
/// the body inflates). Also the most bytes of a request body written with
/// `httpring_handle_write` that wait unsent.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_stream_buffer(
    cfg: *mut httpring_config,
    bytes: usize,
) -> httpring_code {
    config::with(cfg, |c| {
        if bytes == 0 {
            return Err(HTTPRING_ERR_INVALID_ARGUMENT);
        }
        c.stream_buffer = bytes;
        Ok(())
    })
}

/// Reads up to `cap` bytes of a streamed response's body into `buf` (never blocks):
/// - `HTTPRING_OK`, `*n` > 0: that many bytes were copied;
/// - `HTTPRING_OK`, `*n` == 0: the body ended and every byte was read (trailers, if any,
///   are readable with `httpring_handle_trailer`);
/// - `HTTPRING_PENDING`: nothing to read yet (or the head has not arrived); an
///   `HTTPRING_EVENT_BODY` completion will announce the next data, end or error;
/// - an error code: the body failed after the bytes before the failure were read
///   (`HTTPRING_ERR_READ_TIMEOUT`, `_IO`, `_PROTOCOL`, `_DECODING`, `_CANCELLED`, ...;
///   `httpring_handle_error_message` says more), or the request failed before its head,
///   or it was not marked streaming (`HTTPRING_ERR_INVALID_ARGUMENT`).
///
/// May be called from any thread, one reader per handle at a time.
///
/// # Safety
/// `buf` is valid for writes of `cap` bytes (`cap` > 0); `n` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_handle_read(
    client: *const httpring_client,
    h: httpring_handle,
    buf: *mut u8,
    cap: usize,
    n: *mut usize,
) -> httpring_code {
    with_client(client, |c| {
        let n = need(n)?;
        unsafe { put(n, 0) };
        if buf.is_null() || cap == 0 || cap > isize::MAX as usize {
            return Err(HTTPRING_ERR_INVALID_ARGUMENT);
        }
        let stream = c.body_stream(handle(h)).map_err(|e| match e.kind() {
            crate::ErrorKind::Pending => HTTPRING_PENDING,
            _ => httpring_code::from(&e),
        })?;
        // SAFETY: the caller vouches for `cap` writable bytes at `buf`.
        let out = unsafe { std::slice::from_raw_parts_mut(buf, cap) };
        unsafe { read_result(stream.read(out), n) }
    })
}

/// A piece of a streamed body lent by `httpring_handle_read_chunk`. Set `struct_size` to
/// `sizeof(httpring_chunk)` (see docs/ABI.md): fields may be added.
#[repr(C)]
#[derive(Copy, Clone)]
pub struct httpring_chunk {
    pub struct_size: u32,
    /// `HTTPRING_CHUNK_LAST`: the body ended with these bytes; nothing is left to read.
    pub flags: u32,
    /// The bytes (NULL when `len` is 0), valid until the next `httpring_handle_read_chunk`
    /// or `httpring_handle_read` of this handle, or its `httpring_handle_free` (or the
    /// client's `httpring_client_free`).
    pub data: *const u8,
    pub len: usize,
    /// The body's bytes received so far as the server sent them (before content decoding:
    /// `httpring_info.bytes_received`).
    pub received: u64,
}

super::sized::caller_sized_v1!(httpring_chunk);

/// `httpring_chunk.flags`: the body ended; these are its last bytes (or, with `len` 0, it
/// had ended before).
pub const HTTPRING_CHUNK_LAST: u32 = 1;

/// Reads a streamed response's body without a copy (never blocks): the bytes buffered now,
/// up to 256 KiB, are lent to the caller, as the server sent them or, when several smaller
/// pieces wait, joined into one. Outcomes, as for `httpring_handle_read`:
/// - `HTTPRING_OK`, `out->len` > 0: `out->data` holds the next `out->len` bytes, valid
///   until the next read of this handle or its free (a cancel does not release them);
///   `HTTPRING_CHUNK_LAST` in `out->flags` when the body ended with them, so a caller
///   needs no further read to learn of the end;
/// - `HTTPRING_OK`, `out->len` == 0: the body ended and every byte was read
///   (`HTTPRING_CHUNK_LAST` set);
/// - `HTTPRING_PENDING`: nothing to read yet; an `HTTPRING_EVENT_BODY` completion will
///   announce the next data, end or error;
/// - an error code: the body failed after the bytes before the failure were read.
///
/// `*out` is written when the call returns `HTTPRING_OK` or `HTTPRING_PENDING`. One reader
/// per handle at a time, from any thread; a caller that frees the handle (or the client,
/// which frees every handle) from another thread while it uses the bytes must make the two
/// wait for each other.
///
/// # Safety
/// `out` is valid for a write of `out->struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn httpring_handle_read_chunk(
    client: *const httpring_client,
    h: httpring_handle,
    out: *mut httpring_chunk,
) -> httpring_code {
    with_client(client, |c| {
        let size = unsafe { struct_size(out, 1)? };
        let mut chunk = httpring_chunk {
            struct_size: size as u32,
            flags: 0,
            data: std::ptr::null(),
            len: 0,
            received: 0,
        };
        let got = match c.lend(handle(h)) {
            Ok((got, received)) => {
                chunk.received = received;
                got
            }
            Err(e) if e.kind() == crate::ErrorKind::Pending => Chunk::Pending, // no head yet
            Err(e) => return Err(httpring_code::from(&e)),
        };
        let code = match got {
            Chunk::Data { bytes, last } => {
                chunk.data = bytes.as_ptr(); // the stream keeps these bytes (lend)
                chunk.len = bytes.len();
                chunk.flags = if last { HTTPRING_CHUNK_LAST } else { 0 };
                HTTPRING_OK
            }
            Chunk::End => {
                chunk.flags = HTTPRING_CHUNK_LAST;
                HTTPRING_OK
            }
            Chunk::Pending => HTTPRING_PENDING,
            Chunk::Failed(e) => return Err(e.into()),
        };
        unsafe { write_at(out, 0, size, chunk) };
        Ok(code)
    })
}

/// A read's outcome as a read call returns it: the count in `*n` (0 at the end) with
/// `HTTPRING_OK`, `HTTPRING_PENDING`, or the failure.
///
/// # Safety
/// `n` is valid for a write.
pub(super) unsafe fn read_result(
    read: Read,
    n: *mut usize,
) -> Result<httpring_code, httpring_code> {
    match read {
        Read::Data(k) => {
            unsafe { put(n, k) };
            Ok(HTTPRING_OK)
        }
        Read::End => Ok(HTTPRING_OK),
        Read::Pending => Ok(HTTPRING_PENDING),
        Read::Failed(e) => Err(e.into()),
    }
}

/// Blocks up to `timeout_ms` (negative: forever; 0: just check) until `httpring_handle_read`
/// would not return `HTTPRING_PENDING`: data, the end or an error is there (waiting for the
/// head first if it has not arrived). Returns `HTTPRING_OK` then, `HTTPRING_PENDING` if the
/// time ran out. For callers that block on one stream; an event loop drains
/// `HTTPRING_EVENT_BODY` completions instead. Once a reader has blocked here, the stream's
/// changes are no longer announced as completions (nobody would drain them).
#[no_mangle]
pub extern "C" fn httpring_handle_wait_body(
    client: *const httpring_client,
    h: httpring_handle,
    timeout_ms: i64,
) -> httpring_code {
    with_client(client, |c| {
        let ready = c.wait_body(handle(h), timeout(timeout_ms))?;
        Ok(if ready { HTTPRING_OK } else { HTTPRING_PENDING })
    })
}

/// The `nth` (0-based) value of trailer field `name` (case-insensitive) of a streamed body
/// that ended with trailers. `HTTPRING_ERR_NOT_FOUND` when there is no such field (or no
/// trailers, or the body has not ended). The value stays valid until the handle is freed.
///
/// # Safety
/// `name` is NUL-terminated; `value` and `value_len` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn httpring_handle_trailer(
    client: *const httpring_client,
    h: httpring_handle,
    name: *const c_char,
    nth: usize,
    value: *mut *const u8,
    value_len: *mut usize,
) -> httpring_code {
    with_response(client, h, |r| unsafe {
        lookup(name, value, value_len, |name| {
            let name = http::HeaderName::from_bytes(name).ok()?;
            let t = r.stream()?.trailers()?;
            t.get_all(name).iter().nth(nth).map(|v| v.as_bytes())
        })
    })
}
