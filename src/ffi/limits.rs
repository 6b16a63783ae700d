//! Resource limits: caps on connections and on requests in flight, the pool and write
//! timeouts.

use super::code::httpring_code;
use super::config::{httpring_config, set};
use super::request::httpring_request;
use crate::millis;

/// A count where 0 means "no cap".
fn cap(n: usize) -> Option<usize> {
    (n > 0).then_some(n)
}

/// Most connections open (or opening) to one origin (scheme, host, port); 0 (default) means
/// no cap. Requests beyond it wait in one queue, in submit order across origins, for a
/// connection to the origin to finish its request (it is reused) or to close; an HTTP/2
/// connection counts once whatever it carries. Waiting counts toward the request's total
/// timeout and is limited by the pool timeout.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_max_connections_per_host(
    cfg: *mut httpring_config,
    n: usize,
) -> httpring_code {
    set(cfg, |c| c.max_connections_per_host = cap(n))
}

/// Most connections open across all origins; 0 (default) means no cap. Queued like the
/// per-host cap; a request held back only by this cap closes the longest-idle connection to
/// another origin, if there is one, to make room.
///
/// # Safety
/// As for `httpring_config_set_max_connections_per_host`.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_max_connections(
    cfg: *mut httpring_config,
    n: usize,
) -> httpring_code {
    set(cfg, |c| c.max_connections = cap(n))
}

/// Most idle keep-alive connections kept across all origins (besides the per-host
/// `httpring_config_set_pool_max_idle_per_host`); 0 (default) means no cap beyond that one.
/// A connection over the cap is closed when its request finishes.
///
/// # Safety
/// As for `httpring_config_set_max_connections_per_host`.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_pool_max_idle(
    cfg: *mut httpring_config,
    n: usize,
) -> httpring_code {
    set(cfg, |c| c.pool_max_idle = cap(n))
}

/// Longest a request waits in the connection caps' queue, in ms; then it fails with
/// `HTTPRING_ERR_POOL_TIMEOUT`. 0 (default) means no limit (the total timeout still applies).
///
/// # Safety
/// As for `httpring_config_set_max_connections_per_host`.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_pool_timeout_ms(
    cfg: *mut httpring_config,
    ms: u64,
) -> httpring_code {
    set(cfg, |c| c.pool_timeout = millis(ms))
}

/// Longest a write to the socket may stay blocked (the server not reading what is sent), in
/// ms; then the request fails with `HTTPRING_ERR_WRITE_TIMEOUT` and its connection closes.
/// Over HTTP/2 it also limits how long a request body waits for flow-control window the
/// server stops granting, with nothing else from the server (noticed within one to two
/// limits); then that request fails with the same code and the connection stays.
/// 0 (default) means no limit. Applies to TCP connections (not Unix sockets).
///
/// # Safety
/// As for `httpring_config_set_max_connections_per_host`.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_write_timeout_ms(
    cfg: *mut httpring_config,
    ms: u64,
) -> httpring_code {
    set(cfg, |c| c.write_timeout = millis(ms))
}

/// Most requests submitted and not yet completed; a submit beyond it fails at once with
/// `HTTPRING_ERR_TOO_MANY_IN_FLIGHT` and no handle (nothing is queued or sent). A request
/// counts until it completes, whether or not its handle was freed. 0 (default): no cap.
///
/// # Safety
/// As for `httpring_config_set_max_connections_per_host`.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_max_in_flight(
    cfg: *mut httpring_config,
    n: usize,
) -> httpring_code {
    set(cfg, |c| c.max_in_flight = cap(n))
}

/// Overrides the client's pool timeout for this request, in ms; 0 disables it.
///
/// # Safety
/// `req` is NULL or a live, unsubmitted request from `httpring_request_new`, not used by
/// another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_pool_timeout_ms(
    req: *mut httpring_request,
    ms: u64,
) -> httpring_code {
    super::request::set(req, |r| r.timeouts_mut().pool = Some(millis(ms)))
}

/// Overrides the client's write timeout (`httpring_config_set_write_timeout_ms`) for this
/// request, in ms; 0 disables it. Over HTTP/1.1 it limits how long a write to the socket may
/// stay blocked while this request has the connection; over HTTP/2, how long its body may
/// wait for flow-control window the server does not grant (the socket's own writes, shared
/// by every stream, keep the client's limit). Either way the request fails with
/// `HTTPRING_ERR_WRITE_TIMEOUT`. Applies to TCP connections (not Unix sockets).
///
/// # Safety
/// `req` is NULL or a live, unsubmitted request from `httpring_request_new`, not used by
/// another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_write_timeout_ms(
    req: *mut httpring_request,
    ms: u64,
) -> httpring_code {
    super::request::set(req, |r| r.timeouts_mut().write = Some(millis(ms)))
}
