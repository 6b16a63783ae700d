//! `httpring_client`: creating, freeing, submitting, and collecting completions.

use std::ffi::{c_char, c_int, c_void};
use std::os::fd::AsRawFd;
use std::sync::Arc;

use super::code::httpring_code::{self, *};
use super::config::{httpring_config, CONFIGS};
use super::handle::{completion_to_c, httpring_completion, httpring_handle};
use super::ptr::{bytes, c_str, copy_out, guard, guard_code, need, put, slice};
use super::registry;
use super::request::{httpring_request, REQUESTS};
use super::sized::{read_at, struct_size, write_at};
use crate::{millis, Client, Completion, Config, Handle, Request, UrlCache};

/// A client: a connection pool and a background runtime. Safe to use from any number of
/// threads at once. The pointer is an opaque id: using it after `httpring_client_free`
/// returns `HTTPRING_ERR_CLIENT_CLOSED` rather than touching freed memory.
pub struct httpring_client {
    _private: [u8; 0],
}

/// Called once for every completed request, with a completion that is valid only during
/// the call. It runs on a runtime thread (or on the thread that cancelled/freed the request
/// or the client): keep it short and do not block in it. It runs before the request is
/// reported complete anywhere else (poll, wait, drain), and the response can already be
/// read in it. It also runs for requests freed while pending (their handle is then gone).
pub type httpring_completion_cb =
    Option<unsafe extern "C" fn(ctx: *mut c_void, completion: *const httpring_completion)>;

/// One request header for `httpring_client_send` and `httpring_request_spec`: bytes with
/// explicit lengths. Frozen: this pair will never grow (it has no `struct_size`).
#[repr(C)]
pub struct httpring_header {
    pub name: *const u8,
    pub name_len: usize,
    pub value: *const u8,
    pub value_len: usize,
}

/// Creates a client from `cfg` (copied; NULL means defaults). The runtime starts with the
/// first request. Returns NULL only if the system is out of resources (eventfd, memory).
// Safe to call like every function here (as in rustls-ffi and hyper's C API): pointer
// arguments are NULL-checked, and their validity is the caller's documented contract.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`.
#[no_mangle]
pub unsafe extern "C" fn httpring_client_new(cfg: *const httpring_config) -> *mut httpring_client {
    guard(std::ptr::null_mut(), || {
        let config = if cfg.is_null() {
            Config::default()
        } else {
            match CONFIGS.with(cfg, |c| c.inner.clone()) {
                Ok(c) => c,
                // A freed or made-up config: no client rather than a guess.
                Err(_) => return std::ptr::null_mut(),
            }
        };
        match Client::new(config) {
            Ok(c) => registry::register(c),
            Err(_) => std::ptr::null_mut(),
        }
    })
}

/// Frees a client: every pending request completes as `HTTPRING_ERR_CANCELLED`, the runtime
/// stops, its threads are joined and every connection is closed. Afterwards every call with
/// this client (and its handles) returns `HTTPRING_ERR_CLIENT_CLOSED`; handle memory is
/// released too. May be called from a completion callback. In a child process after
/// fork(), a client made before the fork only gives `HTTPRING_ERR_CLIENT_CLOSED`; freeing it
/// there releases its id without touching the parent's runtime.
#[no_mangle]
pub extern "C" fn httpring_client_free(client: *mut httpring_client) -> httpring_code {
    guard_code(|| {
        if let Some(c) = registry::unregister(client)? {
            c.close();
        }
        Ok(HTTPRING_OK)
    })
}

fn client_do(
    client: *const httpring_client,
    f: impl FnOnce(&Arc<Client>) -> Result<httpring_code, httpring_code>,
) -> httpring_code {
    guard_code(|| f(&registry::lookup(client)?))
}

/// A file descriptor that is readable while completed requests wait in the client's
/// queue; `httpring_client_drain` empties the queue and clears readiness. Watch it for
/// reading (epoll/poll/select, asyncio `add_reader`), level-triggered; never read or close
/// it yourself. Completions are announced at most once per runtime tick, so one wake-up
/// usually carries many (and rarely one finds nothing left: drain then returns 0). Returns
/// -1 for an invalid client.
#[no_mangle]
pub extern "C" fn httpring_client_fd(client: *const httpring_client) -> c_int {
    guard(-1, || match registry::lookup(client) {
        Ok(c) => c.fd().as_raw_fd(),
        Err(_) => -1,
    })
}

/// Moves up to `cap` completions into `out` and stores how many in `*count`. Each completed
/// request appears once (handles freed before being drained are skipped). Works with or
/// without the fd; call it until it returns fewer than `cap`. When `cap` > 0, `out[0].struct_size`
/// must be `sizeof(httpring_completion)` (it is the stride of `out`); a missing or too small
/// one is `HTTPRING_ERR_INVALID_ARGUMENT`, and then nothing is drained or written.
///
/// # Safety
/// `out` is valid for writes of `cap` structs of `out[0].struct_size` bytes; `count` is valid
/// for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_client_drain(
    client: *const httpring_client,
    out: *mut httpring_completion,
    cap: usize,
    count: *mut usize,
) -> httpring_code {
    client_do(client, |c| unsafe { drain_into(c, out, cap, count, None) })
}

/// Like `httpring_client_drain`, but first blocks up to `timeout_ms` (negative: forever;
/// 0: just check) until at least `min` completions (1..=`cap`; 0 counts as 1) are in
/// `out`. On timeout `*count` may be anything below `min`, 0 included. Like
/// `httpring_handle_wait`, the blocked thread runs the client's I/O itself meanwhile
/// (unless turned off with `httpring_config_set_wait_drives_io`), so a loop of wait_drain
/// and resubmit keeps a whole workload on one thread. A larger `min` (as io_uring's
/// `min_complete`) lets one wake-up carry more completions.
///
/// # Safety
/// `out` is valid for writes of `cap` structs of `out[0].struct_size` bytes (`cap` > 0);
/// `count` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_client_wait_drain(
    client: *const httpring_client,
    out: *mut httpring_completion,
    cap: usize,
    min: usize,
    timeout_ms: i64,
    count: *mut usize,
) -> httpring_code {
    client_do(client, |c| {
        if cap == 0 || min > cap {
            return Err(HTTPRING_ERR_INVALID_ARGUMENT);
        }
        let wait = Some((min, super::handle::timeout(timeout_ms)));
        unsafe { drain_into(c, out, cap, count, wait) }
    })
}

/// Drains (after waiting, if `wait` is given) into the caller's array.
///
/// # Safety
/// As for `httpring_client_drain`.
unsafe fn drain_into(
    c: &Client,
    out: *mut httpring_completion,
    cap: usize,
    count: *mut usize,
    wait: Option<(usize, Option<std::time::Duration>)>,
) -> Result<httpring_code, httpring_code> {
    let count = need(count)?;
    // Checked before anything is taken from the queue: a refused call loses no completion.
    let size = if cap > 0 {
        unsafe { struct_size(out, cap)? }
    } else {
        0
    };
    let mut got: Vec<Completion> = Vec::with_capacity(cap.min(1024));
    match wait {
        None => c.drain(&mut got, cap),
        Some((min, limit)) => c.wait_drain(&mut got, cap, min, limit),
    }
    for (i, item) in got.iter().enumerate() {
        // SAFETY: i < cap and the caller gave room for cap structs of `size` bytes.
        unsafe { write_at(out, i, size, completion_to_c(item)) };
    }
    unsafe { put(count, got.len()) };
    Ok(HTTPRING_OK)
}

struct CCallback {
    f: unsafe extern "C" fn(*mut c_void, *const httpring_completion),
    ctx: *mut c_void,
}
// SAFETY: the caller promises (see httpring_client_set_callback) that the callback and
// its context may be used from the runtime's threads.
unsafe impl Send for CCallback {}
unsafe impl Sync for CCallback {}

impl CCallback {
    fn call(&self, c: &httpring_completion) {
        // SAFETY: the caller installed f and ctx for exactly this use.
        unsafe { (self.f)(self.ctx, c) }
    }
}

/// Copies the headers the client sends with every request: those added with
/// `httpring_config_add_default_header`, the `User-Agent`, and `Accept-Encoding` while
/// decompression is on. One `name: value\r\n` line each (names lower-case), in the order
/// they are sent, NUL-terminated and truncated to fit, into `buf` (`cap` bytes; may be NULL
/// with cap 0); the full length (without NUL) goes to `*len`: call with cap 0 to size the
/// buffer. A request's own header of a name replaces these values;
/// `httpring_request_remove_default_header` leaves one out.
///
/// # Safety
/// `buf` is valid for `cap` bytes; `len` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_client_default_headers(
    client: *const httpring_client,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> httpring_code {
    client_do(client, |c| {
        unsafe { copy_out(&c.default_header_block(), buf, cap, len)? };
        Ok(HTTPRING_OK)
    })
}

/// Installs (or with NULL `cb`, removes) a completion callback. It is called for every
/// completion, on a runtime thread, in addition to the queue; `ctx` is passed through and
/// must be usable from that thread. (While a callback is installed, threads blocked in
/// `httpring_handle_wait*` do not drive the I/O themselves, so callbacks stay off them.)
///
/// # Safety
/// `ctx` must stay valid for every call of `callback` until the callback is replaced or the
/// client is freed, and `callback` must be safe to call from the client's I/O thread.
#[no_mangle]
pub unsafe extern "C" fn httpring_client_set_callback(
    client: *const httpring_client,
    cb: httpring_completion_cb,
    ctx: *mut c_void,
) -> httpring_code {
    client_do(client, |c| {
        let hook = cb.map(|f| {
            let cc = CCallback { f, ctx };
            Arc::new(move |done: &Completion| cc.call(&completion_to_c(done))) as crate::Callback
        });
        c.set_callback(hook);
        Ok(HTTPRING_OK)
    })
}

/// A client's counters, filled by `httpring_client_stats`. Set `struct_size` first.
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct httpring_stats {
    /// `sizeof(httpring_stats)` as the caller was compiled (see docs/ABI.md).
    pub struct_size: u32,
    /// Handles not yet freed.
    pub live_handles: usize,
    /// Idle HTTP/1.1 connections plus shared HTTP/2 connections in the pool.
    pub pooled_connections: usize,
    /// Connections opened since the client was created.
    pub connections_opened: usize,
    /// Calls to the system resolver (DNS cache misses).
    pub dns_lookups: usize,
}

super::sized::caller_sized_v1!(httpring_stats);

// SAFETY: repr(C), `struct_size: u32` first; version 1 ended after `read_timeout_ms`,
// version 4 after `low_speed_time_ms`.
unsafe impl super::sized::CallerSized for httpring_request_spec {
    const SIZES: &'static [usize] = &[
        std::mem::offset_of!(httpring_request_spec, pool_timeout_ms),
        std::mem::offset_of!(httpring_request_spec, flags),
        std::mem::size_of::<httpring_request_spec>(),
    ];
}

/// For Rust callers: zeroed, with `struct_size` set.
impl Default for httpring_stats {
    fn default() -> Self {
        httpring_stats {
            struct_size: std::mem::size_of::<httpring_stats>() as u32,
            live_handles: 0,
            pooled_connections: 0,
            connections_opened: 0,
            dns_lookups: 0,
        }
    }
}

/// Fills `*out` with the client's counters. `out->struct_size` must be set (else
/// `HTTPRING_ERR_INVALID_ARGUMENT`, nothing written).
///
/// # Safety
/// `out` is valid for a write of `out->struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn httpring_client_stats(
    client: *const httpring_client,
    out: *mut httpring_stats,
) -> httpring_code {
    client_do(client, |c| {
        let size = unsafe { struct_size(out, 1)? };
        let s = c.stats();
        let stats = httpring_stats {
            struct_size: 0,
            live_handles: s.live_handles,
            pooled_connections: s.idle_connections,
            connections_opened: s.connections_opened,
            dns_lookups: s.dns_lookups,
        };
        unsafe { write_at(out, 0, size, stats) };
        Ok(HTTPRING_OK)
    })
}

/// Stores the number of live (not yet freed) handles in `*count`.
///
/// # Safety
/// `count` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_client_live_handles(
    client: *const httpring_client,
    count: *mut usize,
) -> httpring_code {
    client_do(client, |c| {
        let count = need(count)?;
        unsafe { put(count, c.live_handles()) };
        Ok(HTTPRING_OK)
    })
}

fn submit(
    client: *const httpring_client,
    req: Request,
    out: *mut httpring_handle,
) -> httpring_code {
    client_do(client, |c| submit_to(c, req, out))
}

fn submit_to(
    c: &Client,
    req: Request,
    out: *mut httpring_handle,
) -> Result<httpring_code, httpring_code> {
    let out = need(out)?;
    let h = c.submit(req)?;
    unsafe { put(out, h.0) };
    Ok(HTTPRING_OK)
}

/// Submits a built request. The request is consumed (freed) whatever the result. On
/// success `*out` receives the handle; free it with `httpring_handle_free`. Invalid
/// input (method, URL, header) fails here with its code and no handle is created.
///
/// # Safety
/// `req` is NULL or an unsubmitted request from `httpring_request_new`; `out` is valid
/// for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_client_submit(
    client: *const httpring_client,
    req: *mut httpring_request,
    out: *mut httpring_handle,
) -> httpring_code {
    guard_code(|| {
        let req = REQUESTS
            .take(req)
            .ok_or(HTTPRING_ERR_INVALID_ARGUMENT)?
            .inner;
        Ok(submit(client, req, out))
    })
}

/// Builds and submits a request in one call: the fast path for bindings. `headers` is an
/// array of `nheaders` entries (may be NULL when 0); `body` may be NULL when `body_len` is 0.
/// Everything is copied before the call returns.
///
/// # Safety
/// Pointers are NULL or valid for the given lengths; strings are NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn httpring_client_send(
    client: *const httpring_client,
    method: *const c_char,
    url: *const c_char,
    headers: *const httpring_header,
    nheaders: usize,
    body: *const u8,
    body_len: usize,
    user_data: u64,
    out: *mut httpring_handle,
) -> httpring_code {
    client_do(client, |c| {
        let mut req = unsafe { Request::new_cached(c_str(method)?, c_str(url)?, c.url_cache()) };
        for h in unsafe { slice(headers, nheaders)? } {
            let (n, v) = unsafe { (bytes(h.name, h.name_len)?, bytes(h.value, h.value_len)?) };
            req.add_header(n, v)?;
        }
        req.set_body(unsafe { bytes(body, body_len)? }.to_vec());
        req.set_user_data(user_data);
        submit_to(c, req, out)
    })
}

/// One request for `httpring_client_send_many`. Everything it points to is copied before
/// the call returns. Set element 0's `struct_size` (it is the array's stride).
#[repr(C)]
#[derive(Copy, Clone)]
pub struct httpring_request_spec {
    /// `sizeof(httpring_request_spec)` as the caller was compiled (see docs/ABI.md).
    pub struct_size: u32,
    /// NULL means GET.
    pub method: *const c_char,
    pub url: *const c_char,
    /// May be NULL when `nheaders` is 0.
    pub headers: *const httpring_header,
    pub nheaders: usize,
    /// May be NULL when `body_len` is 0.
    pub body: *const u8,
    pub body_len: usize,
    pub user_data: u64,
    /// Total timeout in ms: negative keeps the client's setting, 0 means no limit.
    pub timeout_ms: i64,
    /// Connect timeout, same convention.
    pub connect_timeout_ms: i64,
    /// Read (idle) timeout, same convention.
    pub read_timeout_ms: i64,
    // Version 4: the rest of what the request builder sets per request, so that a batch
    // carries it. Negative keeps the client's setting, as above.
    /// Pool timeout (the wait in the connection caps' queue); 0 means no limit.
    pub pool_timeout_ms: i64,
    /// Write timeout (`httpring_request_set_write_timeout_ms`); 0 means no limit.
    pub write_timeout_ms: i64,
    /// Retry count (`httpring_request_set_retries`); 0 means no retries.
    pub retries: i64,
    /// Receive- and send-rate caps in bytes/s (`httpring_request_set_max_recv_speed`,
    /// `_max_send_speed`); 0 lifts the client's.
    pub max_recv_speed: i64,
    pub max_send_speed: i64,
    /// The low-speed limit (`httpring_request_set_low_speed`): negative `bytes_per_sec`
    /// keeps the client's; 0 for either (or a negative time) turns it off for this request.
    pub low_speed_bytes_per_sec: i64,
    pub low_speed_time_ms: i64,
    // Version 5.
    /// `HTTPRING_SPEC_*` bits; 0 for none. A bit this library does not know refuses the
    /// request (`HTTPRING_ERR_INVALID_ARGUMENT`): it is never ignored.
    pub flags: u64,
}

/// `httpring_request_spec.flags`: stream the response, as `httpring_request_set_stream`
/// (the handle completes at the head, `HTTPRING_EVENT_HEAD`; read the body with
/// `httpring_handle_read`).
pub const HTTPRING_SPEC_STREAM: u64 = 1;

/// The spec this library reads has `flags` (`HTTPRING_FEATURE_SPEC_FLAGS`).
pub(crate) const SPEC_HAS_FLAGS: bool = std::mem::offset_of!(httpring_request_spec, flags)
    < std::mem::size_of::<httpring_request_spec>();

impl httpring_request_spec {
    /// What a field the caller's version does not have means: its documented default.
    const DEFAULT: httpring_request_spec = httpring_request_spec {
        struct_size: 0,
        method: std::ptr::null(),
        url: std::ptr::null(),
        headers: std::ptr::null(),
        nheaders: 0,
        body: std::ptr::null(),
        body_len: 0,
        user_data: 0,
        timeout_ms: -1,
        connect_timeout_ms: -1,
        read_timeout_ms: -1,
        pool_timeout_ms: -1,
        write_timeout_ms: -1,
        retries: -1,
        max_recv_speed: -1,
        max_send_speed: -1,
        low_speed_bytes_per_sec: -1,
        low_speed_time_ms: -1,
        flags: 0,
    };
}

/// For Rust callers: a GET of no URL yet with the client's timeouts, `struct_size` set.
impl Default for httpring_request_spec {
    fn default() -> Self {
        httpring_request_spec {
            struct_size: std::mem::size_of::<httpring_request_spec>() as u32,
            ..Self::DEFAULT
        }
    }
}

/// Builds an engine request from a spec; the first invalid field is reported by submit.
unsafe fn request_from_spec(
    spec: &httpring_request_spec,
    cache: &UrlCache,
) -> Result<Request, httpring_code> {
    let method = if spec.method.is_null() {
        &b"GET"[..]
    } else {
        unsafe { c_str(spec.method)? }
    };
    let mut req = Request::new_cached(method, unsafe { c_str(spec.url)? }, cache);
    for h in unsafe { slice(spec.headers, spec.nheaders)? } {
        let (n, v) = unsafe { (bytes(h.name, h.name_len)?, bytes(h.value, h.value_len)?) };
        // An invalid header poisons the request; submit reports it.
        let _ = req.add_header(n, v);
    }
    req.set_body(unsafe { bytes(spec.body, spec.body_len)? }.to_vec());
    req.set_user_data(spec.user_data);
    if spec.flags != 0 {
        if spec.flags & !HTTPRING_SPEC_STREAM != 0 {
            req.poison(crate::Error::new(
                crate::ErrorKind::InvalidArgument,
                format!(
                    "unknown httpring_request_spec flags {:#x}",
                    spec.flags & !HTTPRING_SPEC_STREAM
                ),
            ));
        }
        req.set_stream(spec.flags & HTTPRING_SPEC_STREAM != 0);
    }
    let limit = |ms: i64| (ms >= 0).then(|| millis(ms as u64));
    let t = req.timeouts_mut();
    t.total = limit(spec.timeout_ms);
    t.connect = limit(spec.connect_timeout_ms);
    t.read = limit(spec.read_timeout_ms);
    t.pool = limit(spec.pool_timeout_ms);
    t.write = limit(spec.write_timeout_ms);
    if spec.retries >= 0 {
        req.set_retries(u32::try_from(spec.retries).unwrap_or(u32::MAX));
    }
    // Only a spec that sets one makes the request carry speed overrides (`speeds_mut`
    // allocates them).
    if spec.max_recv_speed >= 0 || spec.max_send_speed >= 0 || spec.low_speed_bytes_per_sec >= 0 {
        let cap = |v: i64| (v >= 0).then(|| (v > 0).then_some(v as u64));
        let s = req.speeds_mut();
        s.max_recv = cap(spec.max_recv_speed);
        s.max_send = cap(spec.max_send_speed);
        if spec.low_speed_bytes_per_sec >= 0 {
            let time = spec.low_speed_time_ms.max(0) as u64;
            s.low_speed = Some(crate::LowSpeed::from_ms(
                spec.low_speed_bytes_per_sec as u64,
                time,
            ));
        }
    }
    Ok(req)
}

/// Submits `n` requests with one wake-up of the I/O thread: the cheapest way to start many.
/// `handles[i]` receives request i's handle, or 0 if it was refused; `codes` (may be NULL)
/// receives each request's submit code. Returns `HTTPRING_OK` if every request was
/// accepted, else the first refusal's code. Accepted requests run either way.
/// `reqs[0].struct_size` is the stride of `reqs`: a missing or too small one is
/// `HTTPRING_ERR_INVALID_ARGUMENT`, with nothing submitted or written.
///
/// # Safety
/// `reqs` is valid for `n` specs of `reqs[0].struct_size` bytes whose pointers are valid
/// as documented; `handles` (and `codes`, unless NULL) are valid for `n` writes.
#[no_mangle]
pub unsafe extern "C" fn httpring_client_send_many(
    client: *const httpring_client,
    reqs: *const httpring_request_spec,
    n: usize,
    handles: *mut httpring_handle,
    codes: *mut httpring_code,
) -> httpring_code {
    client_do(client, |c| {
        let size = if n > 0 {
            need(handles)?;
            unsafe { struct_size(reqs, n)? }
        } else {
            0
        };
        // Each spec goes to the client as it is built; one that does not build is answered
        // at once. `first`: the first failure in the caller's order.
        let first = std::cell::Cell::new((n, HTTPRING_OK));
        // A refusal so far: the last error message is then the last refusal's, and a spec
        // starts by clearing the mark of an earlier one's.
        let refused = std::cell::Cell::new(false);
        let put = |i: usize, h: u64, code: httpring_code| {
            if code != HTTPRING_OK && i < first.get().0 {
                first.set((i, code));
            }
            // SAFETY: i < n, and the caller gave room for n items.
            unsafe {
                handles.add(i).write(h);
                if !codes.is_null() {
                    codes.add(i).write(code);
                }
            }
        };
        let reqs = (0..n).filter_map(|i| {
            // SAFETY: i < n specs of `size` bytes.
            let spec = unsafe { read_at(reqs, i, size, httpring_request_spec::DEFAULT) };
            if refused.get() {
                super::code::take_fresh();
            }
            match unsafe { request_from_spec(&spec, c.url_cache()) } {
                Ok(r) => Some((i, r)),
                Err(code) => {
                    super::code::note_unless_fresh(code);
                    refused.set(true);
                    put(i, 0, code);
                    None
                }
            }
        });
        c.submit_each(reqs, |i, r| match r {
            Ok(h) => put(i, h.0, HTTPRING_OK),
            Err(e) => {
                refused.set(true);
                put(i, 0, e.into())
            }
        });
        if refused.get() {
            // A spec built after the last refusal cleared the mark: the message is still
            // the last refusal's.
            super::code::keep_fresh();
        }
        super::code::failed_unless_ok(first.get().1)
    })
}

/// Submits `GET url`.
///
/// # Safety
/// `url` is a NUL-terminated string; `out` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_client_get(
    client: *const httpring_client,
    url: *const c_char,
    user_data: u64,
    out: *mut httpring_handle,
) -> httpring_code {
    client_do(client, |c| {
        let mut req = Request::new_cached(b"GET", unsafe { c_str(url)? }, c.url_cache());
        req.set_user_data(user_data);
        submit_to(c, req, out)
    })
}

/// Submits `POST url` with a body (copied). `content_type` may be NULL to send none.
///
/// # Safety
/// Strings are NULL or NUL-terminated; `body` is valid for `body_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn httpring_client_post(
    client: *const httpring_client,
    url: *const c_char,
    content_type: *const c_char,
    body: *const u8,
    body_len: usize,
    user_data: u64,
    out: *mut httpring_handle,
) -> httpring_code {
    client_do(client, |c| {
        let mut req = Request::new_cached(b"POST", unsafe { c_str(url)? }, c.url_cache());
        if !content_type.is_null() {
            req.add_header(b"content-type", unsafe { c_str(content_type)? })?;
        }
        req.set_body(unsafe { bytes(body, body_len)? }.to_vec());
        req.set_user_data(user_data);
        submit_to(c, req, out)
    })
}

/// Submits `POST url` with `Content-Type: application/json` and the given JSON text.
///
/// # Safety
/// `url` is NUL-terminated; `json` is valid for `json_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn httpring_client_post_json(
    client: *const httpring_client,
    url: *const c_char,
    json: *const u8,
    json_len: usize,
    user_data: u64,
    out: *mut httpring_handle,
) -> httpring_code {
    unsafe {
        httpring_client_post(
            client,
            url,
            c"application/json".as_ptr(),
            json,
            json_len,
            user_data,
            out,
        )
    }
}

pub(crate) fn handle(h: httpring_handle) -> Handle {
    Handle(h)
}
