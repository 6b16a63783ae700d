//! Content codings: whether responses are asked for compressed and decoded, and a
//! decoder for bodies that did not come through a request.

use std::ffi::c_char;

use super::code::httpring_code::{self, *};
use super::config::{self, httpring_config};
use super::objects::Objects;
use super::ptr::{bytes, c_str, guard, guard_code, need, put};
use super::request::{self, httpring_request};
use super::stream::read_result;
use crate::ContentDecoder;

/// Decode compressed responses (on by default). When on, requests carry
/// `Accept-Encoding: gzip, deflate, br, zstd` (unless a default header sets another) and a
/// response in one of those codings, or a stack of them, is decoded on the runtime before it
/// completes: `httpring_response.body` is the decoded body and the headers stay as received
/// (`Content-Encoding` and `Content-Length` describe the wire). The body-size limit
/// (`httpring_config_set_max_body_size`) applies to the decoded size too, so a small body
/// that would inflate past it fails with `HTTPRING_ERR_BODY_TOO_LARGE` after decoding at most
/// the limit; corrupt or truncated data fails with `HTTPRING_ERR_DECODING`. A coding it does
/// not know is delivered as received. Off: nothing is added and the body is as received.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_decompress(
    cfg: *mut httpring_config,
    decompress: bool,
) -> httpring_code {
    config::set(cfg, |c| c.decompress = decompress)
}

/// Overrides the client's `httpring_config_set_decompress` for this request. Off on a
/// client where it is on also leaves out the default `Accept-Encoding`.
///
/// # Safety
/// `req` is NULL or a live, unsubmitted request from `httpring_request_new`, not used by
/// another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_decompress(
    req: *mut httpring_request,
    decompress: bool,
) -> httpring_code {
    request::set(req, |r| r.set_decompress(decompress))
}

/// A decoder for a body in a content coding that did not come through a request (a test's
/// or a mock transport's response, a cached body): the engine's decoders and rules, as
/// responses get them. Made by `httpring_decoder_new`, freed by `httpring_decoder_free`.
/// Not thread-safe: use it from one thread at a time.
pub struct httpring_decoder {
    inner: ContentDecoder,
}

/// Live decoders (see `objects`).
pub(super) static DECODERS: Objects<httpring_decoder> = Objects::new();

/// A decoder for the `Content-Encoding` value `content_encoding` (`"gzip"`, `"deflate, br"`:
/// the codings in the order they were applied) into `*out`. `*out` is NULL, with
/// `HTTPRING_OK`, when there is nothing to decode: the value is empty or `identity`, or names
/// a coding this build does not decode (the body is then used as it is, as a response's
/// is). More than three codings is `HTTPRING_ERR_DECODING`; a control byte in the value is
/// `HTTPRING_ERR_INVALID_HEADER`.
///
/// # Safety
/// `content_encoding` is NULL or NUL-terminated; `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_decoder_new(
    content_encoding: *const c_char,
    out: *mut *mut httpring_decoder,
) -> httpring_code {
    guard_code(|| {
        let out = need(out)?;
        unsafe { put(out, std::ptr::null_mut()) };
        let value = unsafe { c_str(content_encoding)? };
        if let Some(inner) = ContentDecoder::new(value)? {
            let d = DECODERS.insert(httpring_decoder { inner });
            unsafe { put(out, d) };
        }
        Ok(HTTPRING_OK)
    })
}

/// Gives the decoder the next `len` bytes of the encoded body (copied).
///
/// # Safety
/// `data` is valid for reads of `len` bytes (may be NULL when `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn httpring_decoder_write(
    d: *mut httpring_decoder,
    data: *const u8,
    len: usize,
) -> httpring_code {
    guard_code(|| {
        let data = unsafe { bytes(data, len)? };
        DECODERS.with(d, |d| d.inner.write(data))?;
        Ok(HTTPRING_OK)
    })
}

/// Says the encoded body is over: reads then decode the rest, and fail if the body was cut
/// short or has bytes after its end.
#[no_mangle]
pub extern "C" fn httpring_decoder_end(d: *mut httpring_decoder) -> httpring_code {
    guard_code(|| {
        DECODERS.with(d, |d| d.inner.end())?;
        Ok(HTTPRING_OK)
    })
}

/// Reads up to `cap` decoded bytes into `buf`, as `httpring_handle_read` reads a body:
/// - `HTTPRING_OK`, `*n` > 0: that many bytes were decoded;
/// - `HTTPRING_OK`, `*n` == 0: after `httpring_decoder_end`, the body is over and read;
/// - `HTTPRING_PENDING`: the bytes written so far yield no more: write more (or end);
/// - `HTTPRING_ERR_DECODING`: corrupt data, a body cut short, or bytes after its end
///   (`httpring_last_error_message` says which), on this read and any later one.
///
/// # Safety
/// `buf` is valid for writes of `cap` bytes (`cap` > 0); `n` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_decoder_read(
    d: *mut httpring_decoder,
    buf: *mut u8,
    cap: usize,
    n: *mut usize,
) -> httpring_code {
    guard_code(|| {
        let n = need(n)?;
        unsafe { put(n, 0) };
        if buf.is_null() || cap == 0 || cap > isize::MAX as usize {
            return Err(HTTPRING_ERR_INVALID_ARGUMENT);
        }
        // SAFETY: the caller vouches for `cap` writable bytes at `buf`.
        let out = unsafe { std::slice::from_raw_parts_mut(buf, cap) };
        let read = DECODERS.with(d, |d| d.inner.read(out))?;
        unsafe { read_result(read, n) }
    })
}

/// Frees a decoder. NULL, and a decoder already freed, are ignored.
#[no_mangle]
pub extern "C" fn httpring_decoder_free(d: *mut httpring_decoder) {
    guard((), || drop(DECODERS.take(d)));
}
