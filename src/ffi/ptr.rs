//! The one place raw caller pointers become Rust references.

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::code::httpring_code;

/// Runs an exported function's body; a panic yields `fallback` instead of unwinding into C.
pub(crate) fn guard<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// Like `guard` for functions returning a code; also flattens `Result`.
/// A failure that noted no message of its own leaves its code's name as the thread's last
/// error message (`httpring_last_error_message`).
pub(crate) fn guard_code(
    body: impl FnOnce() -> Result<httpring_code, httpring_code>,
) -> httpring_code {
    guard(httpring_code::HTTPRING_ERR_INTERNAL, || {
        body().unwrap_or_else(|c| {
            if !super::code::take_fresh() && c != httpring_code::HTTPRING_PENDING {
                super::code::note_code(c);
            }
            c
        })
    })
}

/// The bytes of a NUL-terminated string, or `InvalidArgument` for NULL.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn c_str<'a>(p: *const c_char) -> Result<&'a [u8], httpring_code> {
    if p.is_null() {
        return Err(httpring_code::HTTPRING_ERR_INVALID_ARGUMENT);
    }
    Ok(unsafe { CStr::from_ptr(p) }.to_bytes())
}

/// A caller's (pointer, length) buffer. NULL is accepted only with length 0.
///
/// # Safety
/// `p` is NULL or valid for reads of `len` bytes for `'a`.
pub(crate) unsafe fn bytes<'a>(p: *const u8, len: usize) -> Result<&'a [u8], httpring_code> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() || len > isize::MAX as usize {
        return Err(httpring_code::HTTPRING_ERR_INVALID_ARGUMENT);
    }
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A caller's array of `len` items. NULL is accepted only with length 0.
///
/// # Safety
/// `p` is NULL or valid for reads of `len` items for `'a`.
pub(crate) unsafe fn slice<'a, T>(p: *const T, len: usize) -> Result<&'a [T], httpring_code> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() || len > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return Err(httpring_code::HTTPRING_ERR_INVALID_ARGUMENT);
    }
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Copies `text` into a caller's buffer of `cap` bytes, NUL-terminated and truncated to fit
/// (nothing written when `cap` is 0), and stores its full length in `*len`.
///
/// # Safety
/// `buf` is valid for `cap` bytes; `len` is NULL or valid for a write.
pub(crate) unsafe fn copy_out(
    text: &[u8],
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> Result<(), httpring_code> {
    if cap > 0 {
        let buf = need(buf)?;
        let n = text.len().min(cap - 1);
        // SAFETY: n + 1 <= cap bytes are written.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
            buf.add(n).write(0);
        }
    }
    unsafe { put(len, text.len()) };
    Ok(())
}

/// Writes through an optional out-pointer (NULL means the caller does not want it).
///
/// # Safety
/// `p` is NULL or valid for a write of `T`.
pub(crate) unsafe fn put<T>(p: *mut T, value: T) {
    if !p.is_null() {
        unsafe { p.write(value) }
    }
}

/// Requires an out-pointer to be non-NULL.
pub(crate) fn need<T>(p: *mut T) -> Result<*mut T, httpring_code> {
    if p.is_null() {
        Err(httpring_code::HTTPRING_ERR_INVALID_ARGUMENT)
    } else {
        Ok(p)
    }
}
