//! `httpring_config`: a builder for client settings.

use std::ffi::c_char;

use super::code::httpring_code::{self, *};
use super::ptr::{c_str, guard, guard_code};
use crate::{millis, Config};

/// Client settings. Create with `httpring_config_new`, adjust with the setters, pass to
/// `httpring_client_new` (which copies it), then free with `httpring_config_free`.
pub struct httpring_config {
    pub(crate) inner: Config,
}

/// A config with the defaults: connect timeout 10 s, read timeout 30 s, no total timeout,
/// pool idle timeout 90 s, 256 idle connections per host, 1 GiB body limit, one worker
/// thread, a `User-Agent: httpring/VERSION` header. Free with `httpring_config_free`.
#[no_mangle]
pub extern "C" fn httpring_config_new() -> *mut httpring_config {
    guard(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(httpring_config {
            inner: Config::default(),
        }))
    })
}

/// Frees a config. NULL is ignored.
///
/// # Safety
/// `cfg` is NULL or came from `httpring_config_new` and was not freed before.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_free(cfg: *mut httpring_config) {
    if !cfg.is_null() {
        guard((), || drop(unsafe { Box::from_raw(cfg) }));
    }
}

fn with(
    cfg: *mut httpring_config,
    f: impl FnOnce(&mut Config) -> Result<(), httpring_code>,
) -> httpring_code {
    guard_code(|| {
        // SAFETY: the caller passes NULL or a live config it does not share across threads.
        let cfg = unsafe { cfg.as_mut() }.ok_or(HTTPRING_ERR_INVALID_ARGUMENT)?;
        f(&mut cfg.inner).map(|()| HTTPRING_OK)
    })
}

/// Time allowed to resolve and connect, in milliseconds; 0 means no limit.
#[no_mangle]
pub extern "C" fn httpring_config_set_connect_timeout_ms(
    cfg: *mut httpring_config,
    ms: u64,
) -> httpring_code {
    with(cfg, |c| Ok(c.connect_timeout = millis(ms)))
}

/// Time allowed for a whole request, submit to last byte, in ms; 0 (default) means no limit.
#[no_mangle]
pub extern "C" fn httpring_config_set_timeout_ms(
    cfg: *mut httpring_config,
    ms: u64,
) -> httpring_code {
    with(cfg, |c| Ok(c.timeout = millis(ms)))
}

/// Longest silence from the server while a response is awaited or read, in ms; 0: no limit.
#[no_mangle]
pub extern "C" fn httpring_config_set_read_timeout_ms(
    cfg: *mut httpring_config,
    ms: u64,
) -> httpring_code {
    with(cfg, |c| Ok(c.read_timeout = millis(ms)))
}

/// How long an idle keep-alive connection is kept, in ms; 0 means forever.
#[no_mangle]
pub extern "C" fn httpring_config_set_pool_idle_timeout_ms(
    cfg: *mut httpring_config,
    ms: u64,
) -> httpring_code {
    with(cfg, |c| Ok(c.pool_idle_timeout = millis(ms)))
}

/// Most idle connections kept per origin; 0 disables keep-alive reuse.
#[no_mangle]
pub extern "C" fn httpring_config_set_pool_max_idle_per_host(
    cfg: *mut httpring_config,
    n: usize,
) -> httpring_code {
    with(cfg, |c| Ok(c.pool_max_idle_per_host = n))
}

/// Largest response body accepted, in bytes; larger ones fail with
/// `HTTPRING_ERR_BODY_TOO_LARGE`. 0 is rejected.
#[no_mangle]
pub extern "C" fn httpring_config_set_max_body_size(
    cfg: *mut httpring_config,
    bytes: u64,
) -> httpring_code {
    with(cfg, |c| {
        if bytes == 0 {
            return Err(HTTPRING_ERR_INVALID_ARGUMENT);
        }
        c.max_body_size = bytes;
        Ok(())
    })
}

/// Runtime threads: 1 (default) runs all I/O on one background thread; more use a
/// work-stealing pool. Must be 1..=256.
#[no_mangle]
pub extern "C" fn httpring_config_set_worker_threads(
    cfg: *mut httpring_config,
    n: u32,
) -> httpring_code {
    with(cfg, |c| {
        if n == 0 || n > 256 {
            return Err(HTTPRING_ERR_INVALID_ARGUMENT);
        }
        c.worker_threads = n as usize;
        Ok(())
    })
}

/// Replaces the User-Agent sent by default.
///
/// # Safety
/// `value` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_user_agent(
    cfg: *mut httpring_config,
    value: *const c_char,
) -> httpring_code {
    with(cfg, |c| {
        let v = unsafe { c_str(value) }?;
        c.set_user_agent(v).map_err(Into::into)
    })
}

/// Adds a header sent with every request (a request's own header of the same name wins).
/// Fails with `HTTPRING_ERR_INVALID_HEADER` for CR, LF, NUL or a non-token name.
///
/// # Safety
/// `name` and `value` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_add_default_header(
    cfg: *mut httpring_config,
    name: *const c_char,
    value: *const c_char,
) -> httpring_code {
    with(cfg, |c| {
        let (n, v) = unsafe { (c_str(name)?, c_str(value)?) };
        c.add_default_header(n, v).map_err(Into::into)
    })
}
