//! Content codings: whether responses are asked for compressed and decoded.

use super::code::httpring_code;
use super::config::{self, httpring_config};
use super::request::{self, httpring_request};

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
