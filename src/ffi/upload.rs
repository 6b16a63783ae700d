//! Streamed request bodies: bytes from a callback the library calls when it can send more
//! (pull), or written by the caller through the handle after submit (push), with bounded
//! buffering and backpressure either way.

use std::ffi::c_void;
use std::os::fd::{BorrowedFd, RawFd};

use super::client::{handle, httpring_client};
use super::code::httpring_code::{self, *};
use super::handle::{httpring_handle, timeout, with_client};
use super::ptr::{bytes, need, put};
use super::request::{self, httpring_request};
use crate::{Error, ErrorKind, Pull, Upload};

/// A request body's source (`httpring_request_set_body_callback`): writes up to `cap` bytes
/// into `buf` and returns
/// - `HTTPRING_OK` with `*written` > 0: that many bytes are the body's next ones;
/// - `HTTPRING_OK` with `*written` == 0: the body is complete;
/// - `HTTPRING_PENDING`: nothing yet; call `httpring_handle_resume_body` when there is;
/// - anything else: the source failed, and the request fails with
///   `HTTPRING_ERR_BODY_SOURCE`.
pub type httpring_body_cb = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        buf: *mut u8,
        cap: usize,
        written: *mut usize,
    ) -> httpring_code,
>;

/// The callback and its argument, called from the runtime's thread.
struct Source {
    cb: unsafe extern "C" fn(*mut c_void, *mut u8, usize, *mut usize) -> httpring_code,
    user_data: *mut c_void,
}

// SAFETY: the caller of `httpring_request_set_body_callback` vouches that the callback may
// be called with `user_data` from another thread (the runtime's), as documented there.
unsafe impl Send for Source {}

impl Source {
    fn call(&mut self, buf: &mut [u8]) -> Pull {
        let mut written = 0usize;
        // SAFETY: `buf` is valid for `buf.len()` bytes and `written` for a write; the rest
        // is the caller's contract.
        let code = unsafe { (self.cb)(self.user_data, buf.as_mut_ptr(), buf.len(), &mut written) };
        match code {
            HTTPRING_OK if written == 0 => Pull::End,
            HTTPRING_OK => Pull::Data(written),
            HTTPRING_PENDING => Pull::Pending,
            other => Pull::Failed(Error::new(
                ErrorKind::BodySource,
                format!("the body callback failed with {other:?}"),
            )),
        }
    }
}

/// The body length argument: -1 unknown, else the exact length.
fn length(len: i64) -> Result<Option<u64>, httpring_code> {
    match len {
        -1 => Ok(None),
        n => u64::try_from(n)
            .map(Some)
            .map_err(|_| HTTPRING_ERR_INVALID_ARGUMENT),
    }
}

/// Streams the request body from `cb`, which the library calls whenever it can send more
/// (on the thread running the client's runtime: keep it short, never block in it). With
/// `length` >= 0 the body is sent with that `Content-Length` and must be exactly that long
/// (else the request fails with `HTTPRING_ERR_BODY_SOURCE`); with -1 it is sent chunked
/// (HTTP/1.1) or as DATA frames until the callback ends it (HTTP/2). Memory stays flat: the
/// callback is asked for more only as the connection takes it (at most 64 KiB a call).
///
/// The body can be sent only once: such a request is not retried, a Digest challenge is
/// not answered, and a 307 or 308 redirect is not followed (its response is the answer);
/// 301, 302 and 303 redirects that turn the request into a GET are followed. Once the
/// request has completed, or `httpring_handle_cancel` / `httpring_handle_free` returned,
/// `cb` is never called again, so `user_data` may be freed then (a streamed response's
/// request completes with its head; the callback may run on until the handle is freed or
/// cancelled). The callback may call `httpring_handle_cancel` on its own request, but must
/// not free the client.
///
/// # Safety
/// `req` is NULL or a live, unsubmitted request; `cb` may be called from another thread
/// with `user_data` until the request ends as above.
#[no_mangle]
pub unsafe extern "C" fn httpring_request_set_body_callback(
    req: *mut httpring_request,
    cb: httpring_body_cb,
    user_data: *mut c_void,
    length_or_minus_one: i64,
) -> httpring_code {
    request::with(req, |r| {
        let cb = cb.ok_or(HTTPRING_ERR_INVALID_ARGUMENT)?;
        let len = length(length_or_minus_one)?;
        let mut source = Source { cb, user_data };
        r.set_upload(Upload::pull(len, Box::new(move |buf| source.call(buf))));
        Ok(())
    })
}

/// Streams the request body from an open file descriptor, read from its current offset to
/// its end (or to `length` bytes when `length` >= 0). Meant for regular files: the reads
/// run on the client's runtime thread. The descriptor is not closed; keep it open until the
/// request completes.
#[no_mangle]
pub extern "C" fn httpring_request_set_body_fd(
    req: *mut httpring_request,
    fd: RawFd,
    length_or_minus_one: i64,
) -> httpring_code {
    request::with(req, |r| {
        if fd < 0 {
            return Err(HTTPRING_ERR_INVALID_ARGUMENT);
        }
        let len = length(length_or_minus_one)?;
        r.set_upload(Upload::pull(
            len,
            Box::new(move |buf| {
                // SAFETY: the caller keeps `fd` open until the request completes, and the
                // function is dropped (never called again) by then.
                let fd = unsafe { BorrowedFd::borrow_raw(fd) };
                loop {
                    match rustix::io::read(fd, &mut *buf) {
                        Ok(0) => return Pull::End,
                        Ok(n) => return Pull::Data(n),
                        Err(rustix::io::Errno::INTR) => continue,
                        Err(e) => {
                            return Pull::Failed(Error::new(
                                ErrorKind::BodySource,
                                format!("reading the request body from fd {}: {e}", fd_num(&fd)),
                            ))
                        }
                    }
                }
            }),
        ));
        Ok(())
    })
}

fn fd_num(fd: &BorrowedFd<'_>) -> RawFd {
    use std::os::fd::AsRawFd;
    fd.as_raw_fd()
}

/// The request body will be written after submit with `httpring_handle_write` and ended
/// with `httpring_handle_finish_body`. `length` >= 0 sends that `Content-Length` (writes
/// past it are refused; finishing short fails the request); -1 sends it chunked (HTTP/1.1)
/// or as DATA frames (HTTP/2). At most `httpring_config_set_stream_buffer` bytes wait
/// unsent. Sent once, as for `httpring_request_set_body_callback`.
#[no_mangle]
pub extern "C" fn httpring_request_set_body_writer(
    req: *mut httpring_request,
    length_or_minus_one: i64,
) -> httpring_code {
    request::with(req, |r| {
        let len = length(length_or_minus_one)?;
        r.set_upload(Upload::push(len));
        Ok(())
    })
}

fn upload_do(
    client: *const httpring_client,
    h: httpring_handle,
    f: impl FnOnce(&Upload) -> Result<httpring_code, httpring_code>,
) -> httpring_code {
    with_client(client, |c| f(&*c.upload(handle(h))?))
}

/// Writes up to `len` bytes of the request body (never blocks): `*written` says how many
/// were taken, maybe fewer than `len`. When none fit, returns `HTTPRING_PENDING`: one
/// `HTTPRING_EVENT_WRITABLE` completion will announce room (or wait for it with
/// `httpring_handle_wait_writable`). Errors: `HTTPRING_ERR_INVALID_ARGUMENT` for a request
/// without a body writer, for writes after the finish or past the length; the request's
/// own error (`_CANCELLED`, `_IO`, ...) once it has ended.
///
/// # Safety
/// `data` is valid for `len` bytes (or NULL with `len` 0); `written` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn httpring_handle_write(
    client: *const httpring_client,
    h: httpring_handle,
    data: *const u8,
    len: usize,
    written: *mut usize,
) -> httpring_code {
    upload_do(client, h, |up| {
        let written = need(written)?;
        unsafe { put(written, 0) };
        let data = unsafe { bytes(data, len)? };
        let n = up.write(data)?;
        unsafe { put(written, n) };
        Ok(if n == 0 && len > 0 {
            HTTPRING_PENDING
        } else {
            HTTPRING_OK
        })
    })
}

/// Ends a body written with `httpring_handle_write`. With a declared length, finishing
/// before it was reached fails the request (and returns `HTTPRING_ERR_BODY_SOURCE`);
/// once it was reached, finishing returns `HTTPRING_OK` even if the server has answered
/// since. Otherwise, after the request has ended: its own error, as for writes.
#[no_mangle]
pub extern "C" fn httpring_handle_finish_body(
    client: *const httpring_client,
    h: httpring_handle,
) -> httpring_code {
    upload_do(client, h, |up| {
        up.finish()?;
        Ok(HTTPRING_OK)
    })
}

/// Blocks up to `timeout_ms` (negative: forever; 0: just check) until
/// `httpring_handle_write` would take at least one byte, or the request has ended.
/// `HTTPRING_OK` then, `HTTPRING_PENDING` if the time ran out. Once a writer has blocked
/// here, room is no longer announced with completions.
#[no_mangle]
pub extern "C" fn httpring_handle_wait_writable(
    client: *const httpring_client,
    h: httpring_handle,
    timeout_ms: i64,
) -> httpring_code {
    upload_do(client, h, |up| {
        let deadline = timeout(timeout_ms).map(|t| std::time::Instant::now() + t);
        Ok(if up.wait_writable(deadline) {
            HTTPRING_OK
        } else {
            HTTPRING_PENDING
        })
    })
}

/// Tells the library that a body callback which returned `HTTPRING_PENDING` has more (or
/// its end): it is called again soon. May be called from any thread, also from the
/// callback itself; extra calls do no harm.
#[no_mangle]
pub extern "C" fn httpring_handle_resume_body(
    client: *const httpring_client,
    h: httpring_handle,
) -> httpring_code {
    upload_do(client, h, |up| {
        up.resume()?;
        Ok(HTTPRING_OK)
    })
}
