//! Retries (the client's policy, a request's count) and `httpring_info`: what a handle can
//! tell while it runs and after (attempts, progress, timing, the connection).

use std::ffi::c_char;

use super::client::{handle, httpring_client};
use super::code::httpring_code::{self, *};
use super::config::{self, httpring_config};
use super::handle::{httpring_handle, with_client};
use super::ptr::slice;
use super::request::{self, httpring_request};
use super::sized::{struct_size, write_at};
use crate::Client;

/// Retry failed attempts up to `max_retries` times (0, the default: never). Retried:
/// failures to connect (nothing was sent: any method); for idempotent methods (GET, HEAD,
/// PUT, DELETE, OPTIONS, TRACE) also a connection that failed or timed out before any byte
/// of a response, and the statuses of `httpring_config_set_retry_statuses` (429, 502, 503,
/// 504 by default). The wait is exponential backoff with jitter
/// (`httpring_config_set_retry_backoff_ms`), or what the response's `Retry-After` asks
/// (seconds or an HTTP date) when that is not beyond the backoff cap; past it the response is
/// the result. Every attempt and wait is inside the request's total timeout: a wait that
/// would pass it ends the retries with the last outcome. A retried request repeats its
/// redirects. `httpring_handle_info` reports the attempts.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_retries(
    cfg: *mut httpring_config,
    max_retries: u32,
) -> httpring_code {
    config::set(cfg, |c| c.retry.max_retries = max_retries)
}

/// The first backoff wait and the cap, in ms (defaults 100 and 10000): retry n waits between
/// half and all of `first_ms * 2^(n-1)`, at most `max_ms`. `first_ms` must be at least 1 and
/// `max_ms` at least `first_ms`, else `HTTPRING_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// As for `httpring_config_set_retries`.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_retry_backoff_ms(
    cfg: *mut httpring_config,
    first_ms: u64,
    max_ms: u64,
) -> httpring_code {
    config::with(cfg, |c| {
        if first_ms == 0 || max_ms < first_ms {
            return Err(HTTPRING_ERR_INVALID_ARGUMENT);
        }
        c.retry.backoff = std::time::Duration::from_millis(first_ms);
        c.retry.backoff_max = std::time::Duration::from_millis(max_ms);
        Ok(())
    })
}

/// The response statuses that are retried (replacing the default 429, 502, 503, 504); `n`
/// = 0 retries no status. Each must be 100..=599, else `HTTPRING_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `statuses` is valid for reads of `n` values (or NULL with `n` = 0); `cfg` as for
/// `httpring_config_set_retries`.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_retry_statuses(
    cfg: *mut httpring_config,
    statuses: *const u16,
    n: usize,
) -> httpring_code {
    config::with(cfg, |c| {
        let list = unsafe { slice(statuses, n)? };
        if list.iter().any(|s| !(100..=599).contains(s)) {
            return Err(HTTPRING_ERR_INVALID_ARGUMENT);
        }
        c.retry.statuses = list.to_vec();
        Ok(())
    })
}

/// Also retry methods that are not idempotent (POST, PATCH, ...) after a failure that may
/// have reached the server, or a retryable status. Off by default: such a request may
/// have been processed, and sending it again could do it twice.
///
/// # Safety
/// As for `httpring_config_set_retries`.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_retry_non_idempotent(
    cfg: *mut httpring_config,
    allow: bool,
) -> httpring_code {
    config::set(cfg, |c| c.retry.non_idempotent = allow)
}

/// Overrides the client's retry count for this request (0: no retries); the rest of the
/// policy is the client's.
///
/// # Safety
/// `req` is NULL or a live, unsubmitted request from `httpring_request_new`, not used by
/// another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_retries(
    req: *mut httpring_request,
    max_retries: u32,
) -> httpring_code {
    request::set(req, |r| r.set_retries(max_retries))
}

/// What `httpring_handle_info` reports about a request, running or complete. Set
/// `struct_size` to `sizeof(httpring_info)` (see docs/ABI.md): fields may be added.
#[repr(C)]
#[derive(Copy, Clone)]
pub struct httpring_info {
    /// `sizeof(httpring_info)` as the caller was compiled.
    pub struct_size: u32,
    /// Attempts made so far: 1, or more when the request was retried.
    pub attempts: u32,
    /// Response body bytes received so far, as sent (before any decoding); counting starts
    /// again for each attempt and redirect hop.
    pub bytes_received: u64,
    /// The response body's announced length, or -1 while unknown (no response head yet, or
    /// none announced).
    pub content_length: i64,
    /// Where the time went, in microseconds, once the response was read to the end (zero
    /// before, and for a request that failed). The phases add up to `total_us`; for a
    /// retried or redirected request they describe the last exchange and `queued_us` holds
    /// the time before it. Submit until a connection was looked for:
    pub queued_us: u64,
    /// Waiting for a connection (the connection caps' queue, another request opening the
    /// HTTP/2 connection, a kept connection becoming ready).
    pub pool_us: u64,
    /// A new connection's name resolution, TCP connect (with any proxy handshake) and TLS
    /// handshake; zero on a reused connection.
    pub dns_us: u64,
    pub connect_us: u64,
    pub tls_us: u64,
    /// Writing the request (until the socket took its last byte; zero for Unix sockets),
    /// waiting for the response's first byte, reading the rest.
    pub send_us: u64,
    pub wait_us: u64,
    pub receive_us: u64,
    /// Submit to the last byte.
    pub total_us: u64,
    /// The TLS version as on the wire (0x0303: TLS 1.2, 0x0304: TLS 1.3); 0 without TLS.
    pub tls_version: u16,
    /// The connection had carried a request before this one.
    pub reused: bool,
    /// The peer's address, "ip:port" or "[ipv6]:port", NUL-terminated (the proxy's when
    /// going through one; empty for Unix sockets or before a response).
    pub remote_addr: [c_char; 48],
    /// The protocol ALPN selected ("h2", "http/1.1"), NUL-terminated; empty without ALPN.
    pub alpn: [c_char; 16],
}

super::sized::caller_sized_v1!(httpring_info);

/// For Rust callers: zeroed, with `struct_size` set.
impl Default for httpring_info {
    fn default() -> Self {
        httpring_info {
            struct_size: std::mem::size_of::<httpring_info>() as u32,
            attempts: 0,
            bytes_received: 0,
            content_length: -1,
            queued_us: 0,
            pool_us: 0,
            dns_us: 0,
            connect_us: 0,
            tls_us: 0,
            send_us: 0,
            wait_us: 0,
            receive_us: 0,
            total_us: 0,
            tls_version: 0,
            reused: false,
            remote_addr: [0; 48],
            alpn: [0; 16],
        }
    }
}

/// Copies `text` into a fixed C string buffer, cut to fit, NUL-terminated.
fn fill(buf: &mut [c_char], text: &str) {
    let n = text.len().min(buf.len() - 1);
    for (dst, src) in buf.iter_mut().zip(&text.as_bytes()[..n]) {
        *dst = *src as c_char;
    }
    buf[n] = 0;
}

/// Fills `*out` for a live handle, whatever its state: progress while it runs (safe to call
/// from any thread, as often as wanted), the final figures once it completed.
///
/// # Safety
/// `out` is valid for a write of `out->struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn httpring_handle_info(
    client: *const httpring_client,
    h: httpring_handle,
    out: *mut httpring_info,
) -> httpring_code {
    with_client(client, |c: &Client| {
        let size = unsafe { struct_size(out, 1)? };
        let ex = c.exchange(handle(h))?;
        let (received, length) = ex.progress();
        let t = ex.timing();
        let us = |d: std::time::Duration| d.as_micros().min(u64::MAX as u128) as u64;
        let mut info = httpring_info {
            struct_size: size as u32,
            attempts: ex.attempts(),
            bytes_received: received,
            content_length: length.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX)),
            queued_us: us(t.queued),
            pool_us: us(t.pool),
            dns_us: us(t.dns),
            connect_us: us(t.connect),
            tls_us: us(t.tls),
            send_us: us(t.send),
            wait_us: us(t.wait),
            receive_us: us(t.receive),
            total_us: us(t.total),
            tls_version: t.tls_version,
            reused: t.reused,
            ..httpring_info::default()
        };
        if let Some(addr) = t.remote {
            fill(&mut info.remote_addr, &addr.to_string());
        }
        if let Some(alpn) = t.alpn {
            fill(&mut info.alpn, alpn);
        }
        unsafe { write_at(out, 0, size, info) };
        Ok(HTTPRING_OK)
    })
}
