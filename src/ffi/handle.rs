//! Request handles: poll, wait, cancel, free.

use std::ffi::c_char;
use std::time::Duration;

use super::client::{handle, httpring_client};
use super::code::httpring_code::{self, *};
use super::ptr::{copy_out, guard_code, need, put, slice};
use super::registry;
use crate::{Client, Completion, Event, State};

/// An opaque request handle. 0 is never a valid handle. A handle is checked on every use:
/// a freed, stale or foreign handle yields an error code, never a crash.
pub type httpring_handle = u64;

/// Where a request stands.
#[repr(u32)]
#[allow(non_camel_case_types)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum httpring_state {
    /// Still running.
    HTTPRING_STATE_PENDING = 0,
    /// A response arrived (any HTTP status).
    HTTPRING_STATE_DONE = 1,
    /// The request failed; see `httpring_handle_error`.
    HTTPRING_STATE_FAILED = 2,
}

/// What a completion announces (`httpring_completion.event`).
#[repr(u32)]
#[allow(non_camel_case_types)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum httpring_event {
    /// The request completed: its whole response, or why it failed. Exactly once per
    /// request, unless `HTTPRING_EVENT_HEAD` comes instead.
    HTTPRING_EVENT_DONE = 0,
    /// A streamed request (`httpring_request_set_stream`) completed with its response head;
    /// read its body with `httpring_handle_read`. Exactly once, instead of DONE. (A streamed
    /// request that fails before its head completes with DONE and an error code.)
    HTTPRING_EVENT_HEAD = 1,
    /// A streamed body has something for a reader whose last read returned
    /// `HTTPRING_PENDING`: data, its end, or an error. Any number of times after HEAD.
    HTTPRING_EVENT_BODY = 2,
    /// A request body written with `httpring_handle_write` has room again after a write
    /// took less than it was given. Any number of times before the request completes.
    HTTPRING_EVENT_WRITABLE = 3,
}

/// One finished request, as reported by `httpring_client_drain`, `_wait_drain` and the
/// callback. Before draining, set element 0's `struct_size` to `sizeof(httpring_completion)`
/// (`HTTPRING_STRUCT_INIT`); the library uses it as the array's stride and writes it into
/// every element it fills. In the callback, `struct_size` is the library's own size: check
/// it before reading a field newer than your header's version 1.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct httpring_completion {
    /// `sizeof(httpring_completion)` as the caller was compiled (see docs/ABI.md).
    pub struct_size: u32,
    pub handle: httpring_handle,
    /// The token given at submit.
    pub user_data: u64,
    /// `HTTPRING_OK` for a response (whatever its status), else why the request failed.
    pub code: httpring_code,
    /// The HTTP status, or 0 when the request failed.
    pub status: u16,
    /// Version 2 (0.2): what this announces; always `HTTPRING_EVENT_DONE` for requests that
    /// are not streamed.
    pub event: httpring_event,
}

// SAFETY: repr(C), `struct_size: u32` first; version 1 ended after `status`.
unsafe impl super::sized::CallerSized for httpring_completion {
    const SIZES: &'static [usize] = &[32, std::mem::size_of::<httpring_completion>()];
}

/// For Rust callers: zeroed, with `struct_size` set.
impl Default for httpring_completion {
    fn default() -> Self {
        httpring_completion {
            struct_size: std::mem::size_of::<httpring_completion>() as u32,
            handle: 0,
            user_data: 0,
            code: HTTPRING_OK,
            status: 0,
            event: httpring_event::HTTPRING_EVENT_DONE,
        }
    }
}

pub(crate) fn completion_to_c(c: &Completion) -> httpring_completion {
    httpring_completion {
        struct_size: std::mem::size_of::<httpring_completion>() as u32,
        handle: c.handle.0,
        user_data: c.user_data,
        code: c.error.map_or(HTTPRING_OK, Into::into),
        status: c.status,
        event: match c.event {
            Event::Done => httpring_event::HTTPRING_EVENT_DONE,
            Event::Head => httpring_event::HTTPRING_EVENT_HEAD,
            Event::Body => httpring_event::HTTPRING_EVENT_BODY,
            Event::Writable => httpring_event::HTTPRING_EVENT_WRITABLE,
        },
    }
}

fn state_to_c(s: State) -> httpring_state {
    match s {
        State::Pending => httpring_state::HTTPRING_STATE_PENDING,
        State::Done => httpring_state::HTTPRING_STATE_DONE,
        State::Failed => httpring_state::HTTPRING_STATE_FAILED,
    }
}

pub(crate) fn timeout(ms: i64) -> Option<Duration> {
    (ms >= 0).then(|| Duration::from_millis(ms as u64))
}

pub(crate) fn with_client(
    client: *const httpring_client,
    f: impl FnOnce(&Client) -> Result<httpring_code, httpring_code>,
) -> httpring_code {
    guard_code(|| {
        let c = registry::lookup(client)?;
        f(&c)
    })
}

/// Non-blocking check. Returns `HTTPRING_OK` and the state in `*state` (may be NULL), or an
/// error for a bad client or handle.
///
/// # Safety
/// `state` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_handle_poll(
    client: *const httpring_client,
    h: httpring_handle,
    state: *mut httpring_state,
) -> httpring_code {
    with_client(client, |c| {
        let s = c.poll(handle(h))?;
        unsafe { put(state, state_to_c(s)) };
        Ok(HTTPRING_OK)
    })
}

/// Blocks up to `timeout_ms` (negative: forever; 0: just check) until the request completes.
/// Returns `HTTPRING_OK` once it completed (state DONE or FAILED in `*state`), or
/// `HTTPRING_PENDING` if the time ran out first.
///
/// # Safety
/// `state` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_handle_wait(
    client: *const httpring_client,
    h: httpring_handle,
    timeout_ms: i64,
    state: *mut httpring_state,
) -> httpring_code {
    with_client(client, |c| {
        let s = c.wait(handle(h), timeout(timeout_ms))?;
        unsafe { put(state, state_to_c(s)) };
        Ok(if s == State::Pending {
            HTTPRING_PENDING
        } else {
            HTTPRING_OK
        })
    })
}

/// Blocks until any of the `n` handles completes (race). `*index` receives the position of
/// a completed one (the lowest, if several). Returns `HTTPRING_PENDING` on timeout.
///
/// # Safety
/// `handles` is valid for `n` items; `index` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_handle_wait_any(
    client: *const httpring_client,
    handles: *const httpring_handle,
    n: usize,
    timeout_ms: i64,
    index: *mut usize,
) -> httpring_code {
    with_client(client, |c| {
        let hs: Vec<_> = unsafe { slice(handles, n)? }
            .iter()
            .map(|&h| handle(h))
            .collect();
        match c.wait_any(&hs, timeout(timeout_ms))? {
            Some(i) => {
                unsafe { put(index, i) };
                Ok(HTTPRING_OK)
            }
            None => Ok(HTTPRING_PENDING),
        }
    })
}

/// Blocks until all `n` handles complete (join). Returns `HTTPRING_PENDING` on timeout.
///
/// # Safety
/// `handles` is valid for `n` items.
#[no_mangle]
pub unsafe extern "C" fn httpring_handle_wait_all(
    client: *const httpring_client,
    handles: *const httpring_handle,
    n: usize,
    timeout_ms: i64,
) -> httpring_code {
    with_client(client, |c| {
        let hs: Vec<_> = unsafe { slice(handles, n)? }
            .iter()
            .map(|&h| handle(h))
            .collect();
        Ok(if c.wait_all(&hs, timeout(timeout_ms))? {
            HTTPRING_OK
        } else {
            HTTPRING_PENDING
        })
    })
}

/// Aborts a pending request: it completes at once with `HTTPRING_ERR_CANCELLED` and its
/// connection is closed, not reused. A completed request is left as it is. The handle stays
/// valid until freed.
#[no_mangle]
pub extern "C" fn httpring_handle_cancel(
    client: *const httpring_client,
    h: httpring_handle,
) -> httpring_code {
    with_client(client, |c| {
        c.cancel(handle(h))
            .map(|()| HTTPRING_OK)
            .map_err(Into::into)
    })
}

/// Releases a handle and its response; borrowed pointers into it become invalid. A pending
/// request is cancelled first. A second free returns `HTTPRING_ERR_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn httpring_handle_free(
    client: *const httpring_client,
    h: httpring_handle,
) -> httpring_code {
    with_client(client, |c| {
        c.free(handle(h)).map(|()| HTTPRING_OK).map_err(Into::into)
    })
}

/// Frees `n` handles in one call. Every handle is attempted; returns the first error seen.
///
/// # Safety
/// `handles` is valid for `n` items.
#[no_mangle]
pub unsafe extern "C" fn httpring_handles_free(
    client: *const httpring_client,
    handles: *const httpring_handle,
    n: usize,
) -> httpring_code {
    with_client(client, |c| {
        let mut first = HTTPRING_OK;
        for &h in unsafe { slice(handles, n)? } {
            if let Err(e) = c.free(handle(h)) {
                if first == HTTPRING_OK {
                    first = e.into();
                }
            }
        }
        super::code::failed_unless_ok(first)
    })
}

/// How the request ended: `HTTPRING_OK` (a response arrived), `HTTPRING_PENDING`, or the
/// error code of the failure. Also returns handle/client errors.
#[no_mangle]
pub extern "C" fn httpring_handle_error(
    client: *const httpring_client,
    h: httpring_handle,
) -> httpring_code {
    with_client(client, |c| {
        let ex = c.exchange(handle(h))?;
        Ok(match ex.outcome() {
            None => HTTPRING_PENDING,
            Some(Ok(_)) => HTTPRING_OK,
            Some(Err(e)) => e.into(),
        })
    })
}

/// Copies the failure's message, NUL-terminated and truncated to fit, into `buf` (`cap`
/// bytes; may be NULL with cap 0), and stores the full length (without NUL) in `*len`.
/// An empty message for a successful or pending request.
///
/// # Safety
/// `buf` is valid for `cap` bytes; `len` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_handle_error_message(
    client: *const httpring_client,
    h: httpring_handle,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> httpring_code {
    with_client(client, |c| {
        let ex = c.exchange(handle(h))?;
        // A streamed body that failed after its head has its own error.
        let body_failure = ex.stream().and_then(|s| s.failure());
        let msg = match (ex.outcome(), &body_failure) {
            (Some(Err(e)), _) | (_, Some(e)) => e.message(),
            _ => "",
        };
        unsafe { copy_out(msg.as_bytes(), buf, cap, len)? };
        Ok(HTTPRING_OK)
    })
}

/// The `user_data` given at submit.
///
/// # Safety
/// `out` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_handle_user_data(
    client: *const httpring_client,
    h: httpring_handle,
    out: *mut u64,
) -> httpring_code {
    with_client(client, |c| {
        let out = need(out)?;
        let ex = c.exchange(handle(h))?;
        unsafe { put(out, ex.user_data()) };
        Ok(HTTPRING_OK)
    })
}
